"""Reading JSON out of model answers, one way everywhere: the checks, the error-JSON rule and run
comparisons all use these (fence handling, JSON's own equality, objects embedded in prose)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_DECODER = json.JSONDecoder()
# One optional fence around the whole (already trimmed) answer, with any language tag or none:
# models write ```json, ```JSON and ```jsonc alike.
_FENCED = re.compile(r"\A```[\w+-]*[ \t]*\n?(?P<body>.*?)\s*```\Z", re.DOTALL)
# What a JSON text can start with (Python's json also reads NaN and Infinity); anything else is
# prose, rejected without trying to decode it.
_JSON_START = frozenset('{["-0123456789tfnNI')


@dataclass(frozen=True)
class ParsedJson:
    value: Any
    span: tuple[int, int]  # where the JSON text sits in the original answer


def parse_json_answer(output: str, allow_fence: bool = True) -> ParsedJson | None:
    """The whole answer as JSON, after trimming whitespace and (if allowed) at most one ```
    fence; None when it is not JSON. (A wrapper, not a bare value, because ``null`` is JSON.)"""
    body = output.strip()
    start = len(output) - len(output.lstrip())
    fenced = _FENCED.match(body) if allow_fence and body.startswith("```") else None
    if fenced:
        start += fenced.start("body")
        body = fenced.group("body")
    if body.lstrip()[:1] not in _JSON_START:  # "" is not in it either
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return ParsedJson(value, (start, start + len(body)))


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: unlike Python's ``==``, ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def iter_json_objects(text: str) -> Iterator[tuple[dict[str, Any], int, int]]:
    """Every JSON object embedded in free text, with its span, outer objects first.

    Decoding is tried from each ``{`` so nested objects are found too."""
    start = text.find("{")
    while start != -1:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            pass
        else:
            if isinstance(value, dict):
                yield value, start, end
        start = text.find("{", start + 1)


def dumps(value: Any) -> str:
    """Compact JSON for reasons; falls back to repr for values JSON cannot show."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # circular structures
        return repr(value)
