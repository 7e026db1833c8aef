"""Template rendering: Jinja2 in a sandbox with StrictUndefined, so a typo in a variable
name is an error instead of an empty string in the prompt, and with bounds on what a template
may build (``templatelimits``), so a template cannot exhaust memory."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Mapping

import jinja2
from jinja2 import meta

from promptcheck.formats.templatelimits import BoundedSandbox, TemplateLimitError, bounded_filter, render_budget

_ENV = BoundedSandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # prompts are plain text; HTML escaping happens in the report only
    keep_trailing_newline=True,
)


class TemplateError(Exception):
    """A template cannot be compiled or rendered; the message is user-facing."""


Filters = tuple[tuple[str, Callable[..., Any]], ...]


@lru_cache(maxsize=64)
def _env_with(filters: Filters) -> jinja2.Environment:
    """The shared environment plus a file's own filters (promptfoo's nunjucksFilters), so one
    config's filters never leak into another's templates."""
    env = _ENV.overlay(cache_size=0)  # compiled templates keep their environment's filters
    env.filters = {**_ENV.filters, **{name: bounded_filter(name, f) for name, f in filters}}
    return env


@lru_cache(maxsize=4096)
def _compile(source: str, filters: Filters = ()) -> jinja2.Template:
    try:
        return (_env_with(filters) if filters else _ENV).from_string(source)
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


def render(source: str, variables: Mapping[str, Any], filters: Filters = ()) -> str:
    if "{" not in source:  # the common case for system prompts: nothing to render
        return source
    try:
        with render_budget():
            return _compile(source, filters).render(**variables)
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
