"""Nunjucks (promptfoo's template language) on top of Jinja2.

Jinja2 reads nearly all of the Nunjucks that prompts use. The differences handled here:

- ``| dump`` (JSON.stringify) is added as a filter; ``dump(2)`` indents like JSON.stringify.
  Jinja's own ``tojson`` escapes ``<``, ``>``, ``&`` and ``'`` for HTML, so it is not the same.
- ``| load`` (promptfoo's own filter: JSON.parse of a string) is added.
- ``{% elseif %}`` is Nunjucks' spelling of ``{% elif %}``.
- ``| safe`` exists in both; prompts are not HTML-escaped, so it changes nothing.
- Members are looked up as JavaScript does (``templating._NunjucksMembers``): ``.length`` of a
  string or list, and a member a value lacks renders empty.

Custom ``nunjucksFilters`` are per-config filters (see ``dynamic.py``). Not handled:
JavaScript method calls inside
``{{ }}`` such as ``name.toUpperCase()``, and Nunjucks' empty rendering of undefined
variables (promptcheck reports a name no variable defines as an error, which catches typos)."""

from __future__ import annotations

import json
import re
from typing import Any

from promptcheck.formats import templating as render

_ELSEIF = re.compile(r"(\{%-?\s*)elseif\b")


def dump(value: Any, indent: int | str | None = None) -> str:
    if isinstance(indent, int) and indent > 0:
        return json.dumps(value, ensure_ascii=False, indent=indent, default=str)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def to_jinja(template: str) -> str:
    """Nunjucks source as Jinja2 source."""
    return _ELSEIF.sub(r"\1elif", template) if "elseif" in template else template


def install_filters() -> None:
    """Make ``dump`` available to every template (filters are resolved at compile time, and
    templates compile lazily at render, so installing at import is early enough)."""
    render._ENV.filters.setdefault("dump", dump)
    render._ENV.filters.setdefault("load", load)


install_filters()
