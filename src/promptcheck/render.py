"""Template rendering: Jinja2 in a sandbox with StrictUndefined, so a typo in a variable
name is an error instead of an empty string in the prompt."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # prompts are plain text; HTML escaping happens in the report only
    keep_trailing_newline=True,
)


class TemplateError(Exception):
    """A template cannot be compiled or rendered; the message is user-facing."""


@lru_cache(maxsize=4096)
def _compile(source: str) -> jinja2.Template:
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on template line {exc.lineno}: {exc.message}") from None


@lru_cache(maxsize=4096)
def referenced_variables(source: str) -> frozenset[str]:
    """Top-level names a template reads (loop variables and ``set`` targets excluded)."""
    try:
        return frozenset(meta.find_undeclared_variables(_ENV.parse(source)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on template line {exc.lineno}: {exc.message}") from None


def render(source: str, variables: Mapping[str, Any]) -> str:
    if "{" not in source:  # the common case for system prompts: nothing to render
        return source
    try:
        return _compile(source).render(**variables)
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"undefined template variable: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"template tried an unsafe operation: {exc}") from None
    except TemplateError:
        raise
    except Exception as exc:  # a filter or expression failing on user data
        raise TemplateError(f"template failed: {type(exc).__name__}: {exc}") from None


def syntax_error(source: str) -> str | None:
    try:
        _compile(source)
    except TemplateError as exc:
        return str(exc)
    return None
