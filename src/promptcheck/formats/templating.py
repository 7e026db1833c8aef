"""Template rendering: Jinja2 in a sandbox with StrictUndefined, so a typo in a variable
name is an error instead of an empty string in the prompt, and with bounds on what a template
may build (``templatelimits``), so a template cannot exhaust memory.

promptfoo's templates (``TemplateSyntax`` "nunjucks") look members up as Nunjucks does, in an
environment of their own: see ``_NunjucksMembers``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Mapping

import jinja2
from jinja2 import meta

from promptcheck.formats.templatelimits import BoundedSandbox, TemplateLimitError, bounded_filter, render_budget
from promptcheck.spec import TemplateSyntax


class _NunjucksMembers(BoundedSandbox):
    """Member lookup as JavaScript does it: ``.length`` of a string or list is its length, and
    a member or index a value lacks is undefined, which renders empty and can be looked into
    again (promptfoo's multi-turn example reads ``input[input.length - 1].content`` of a
    string: its last character's ``content``, nothing). A name no variable supplies is still an
    error, as in Jinja: that is a typo in the template, not a value without that member."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if attribute == "length" and isinstance(obj, (str, list, tuple)):
            return len(obj)
        return self._lenient(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        if argument == "length" and isinstance(obj, (str, list, tuple)):
            return len(obj)
        return self._lenient(obj, argument, super().getitem(obj, argument))

    @staticmethod
    def _lenient(obj: Any, name: Any, value: Any) -> Any:
        # Only a member that is absent: one the sandbox refuses (``__class__``) exists, and stays refused.
        if not isinstance(value, jinja2.Undefined) or (isinstance(name, str) and hasattr(obj, name)):
            return value
        return jinja2.ChainableUndefined(obj=obj, name=name)


_OPTIONS: dict[str, Any] = {
    "undefined": jinja2.StrictUndefined,
    "autoescape": False,  # prompts are plain text; HTML escaping happens in the report only
    "keep_trailing_newline": True,
}
_ENV = BoundedSandbox(**_OPTIONS)
_NUNJUCKS_ENV = _NunjucksMembers(**_OPTIONS)
_NUNJUCKS_ENV.filters = _ENV.filters  # one set of shared filters: those installed later (dump, load) reach both
_ENVS: dict[TemplateSyntax, BoundedSandbox] = {"jinja": _ENV, "nunjucks": _NUNJUCKS_ENV}


class TemplateError(Exception):
    """A template cannot be compiled or rendered; the message is user-facing."""


Filters = tuple[tuple[str, Callable[..., Any]], ...]


@lru_cache(maxsize=64)
def _env_with(filters: Filters, syntax: TemplateSyntax) -> jinja2.Environment:
    """The shared environment plus a file's own filters (promptfoo's nunjucksFilters), so one
    config's filters never leak into another's templates."""
    env = _ENVS[syntax].overlay(cache_size=0)  # compiled templates keep their environment's filters
    env.filters = {**_ENV.filters, **{name: bounded_filter(name, f) for name, f in filters}}
    return env


@lru_cache(maxsize=4096)
def _compile(source: str, filters: Filters = (), syntax: TemplateSyntax = "jinja") -> jinja2.Template:
    try:
        return (_env_with(filters, syntax) if filters else _ENVS[syntax]).from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on template line {exc.lineno}: {exc.message}") from None


class _AnyFilter(dict):  # type: ignore[type-arg]
    """Filters for finding variables only: a file may bring its own filters (promptfoo's
    nunjucksFilters), and which names a template reads does not depend on them."""

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(key, default) or (lambda value, *args, **kwargs: value)


_ANALYSIS_ENV = _ENV.overlay(cache_size=0)
_ANALYSIS_ENV.filters = _AnyFilter()


@lru_cache(maxsize=4096)
def referenced_variables(source: str) -> frozenset[str]:
    """Top-level names a template reads (loop variables and ``set`` targets excluded)."""
    try:
        _ANALYSIS_ENV.filters.update(_ENV.filters)  # the shared filters, as installed by now
        return frozenset(meta.find_undeclared_variables(_ANALYSIS_ENV.parse(source)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on template line {exc.lineno}: {exc.message}") from None


def render(source: str, variables: Mapping[str, Any], filters: Filters = (), syntax: TemplateSyntax = "jinja") -> str:
    if "{" not in source:  # the common case for system prompts: nothing to render
        return source
    try:
        with render_budget():
            return _compile(source, filters, syntax).render(**variables)
    except TemplateLimitError as exc:
        raise TemplateError(str(exc)) from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"undefined template variable: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"template tried an unsafe operation: {exc}") from None
    except TemplateError:
        raise
    except Exception as exc:  # a filter or expression failing on user data
        raise TemplateError(f"template failed: {type(exc).__name__}: {exc}") from None
