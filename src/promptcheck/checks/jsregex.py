"""promptfoo's ``regex`` is a JavaScript RegExp. With the JS extra it runs in V8; without it
the pattern is translated to Python ``re``. Differences the translation handles:

- ``$`` ends the input in JS, while Python's ``$`` also matches before a final newline:
  an unescaped ``$`` outside a class becomes ``(?!\\n)\\Z``-equivalent ``\\Z``.
- ``\\d``, ``\\w`` and ``\\b`` are ASCII in JS: the pattern compiles with ``re.ASCII``.
- ``(?<name>...)`` named groups become Python's ``(?P<name>...)``.
- inline flags such as ``(?i)`` are a syntax error in JS, so they are rejected here too.

Known remaining difference without V8: ``\\s`` is ASCII whitespace only (JS also matches
Unicode spaces such as U+00A0)."""

from __future__ import annotations

import re
from functools import lru_cache

_INLINE_FLAGS = re.compile(r"(?<!\\)\(\?[aiLmsux]+[):]")


class PatternError(ValueError):
    pass


@lru_cache(maxsize=512)
def to_python(pattern: str) -> re.Pattern[str]:
    if _INLINE_FLAGS.search(pattern):
        raise PatternError("JavaScript RegExp has no inline flags such as (?i); use [Aa] or icontains")
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif char == "$" and not in_class:
            char = r"\Z"
        elif pattern.startswith("(?<", index) and not pattern.startswith(("(?<=", "(?<!"), index) and not in_class:
            char, index = "(?P<", index + 2
        out.append(char)
        index += 1
    try:
        return re.compile("".join(out), re.ASCII)
    except re.error as exc:
        raise PatternError(f"invalid regex: {exc}") from None
