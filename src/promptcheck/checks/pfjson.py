"""How promptfoo finds JSON in prose for ``contains-json`` (its ``extractJsonObjects``).

promptfoo is lenient, and verdicts must match it (bench/promptfoo_crosscheck.py compares them
with the real thing): a candidate runs from a ``{`` to its matching ``}``, with missing closing
braces added when the text ends first; ``//`` comments become YAML comments; and the candidate is
parsed as YAML. So ``{'a': 1}``, ``{a: 1}`` and even ``{here}`` count, while a bare array
``[1, 2]`` never does (only objects are looked for).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from promptcheck.safefiles.yamlio import bounded_yaml

MAX_CANDIDATE = 100_000  # characters, as promptfoo
_ASCII_LETTER = re.compile(r"[a-zA-Z]")


def json_objects_in(text: str) -> list[tuple[dict[str, Any], int, int]]:
    """Every object promptfoo would find in ``text``, in order, with its span."""
    found: list[tuple[dict[str, Any], int, int]] = []
    start = 0
    while start < len(text):
        hit = _object_at(text, start) if text[start] == "{" else None
        if hit is not None:
            found.append(hit)
            start = hit[2]
        else:
            start += 1
    return found


def _object_at(text: str, start: int) -> tuple[dict[str, Any], int, int] | None:
    """The object whose ``{`` is at ``start``: tried at its matching ``}`` (or where the text or
    MAX_CANDIDATE ends); an unbalanced candidate that fails to parse keeps looking further."""
    opened, closed = 1, 0
    limit = min(start + MAX_CANDIDATE, len(text))
    end = start + 1
    while end < limit and opened > closed:
        if text[end] == "{":
            opened += 1
        elif text[end] == "}":
            closed += 1
        end += 1
        if opened == closed or end == len(text) or end == start + MAX_CANDIDATE:
            value = _parse(text[start:end] + "}" * (opened - closed))
            if isinstance(value, dict):
                return value, start, end
            if value is _INVALID and opened == closed:
                return None
    return None


_INVALID = object()


def _parse(candidate: str) -> Any:
    try:
        return bounded_yaml(_slash_comments_to_hash(candidate))
    except (yaml.YAMLError, ValueError, RecursionError):
        return _INVALID


def _slash_comments_to_hash(text: str) -> str:
    """promptfoo's ``convertSlashCommentsToHash``: ``// x`` outside quotes becomes ``# x``
    (``////`` becomes ``##``); a quote right after a letter is an apostrophe, not a string."""
    return "\n".join(_line_without_slash_comment(line) for line in text.split("\n"))


def _line_without_slash_comment(line: str) -> str:
    state = "normal"
    result: list[str] = []
    for index, char in enumerate(line):
        before = line[index - 1] if index else ""
        after = line[index + 1] if index + 1 < len(line) else ""
        if state == "normal":
            if char == "'" and not _ASCII_LETTER.match(before):
                state = "single"
            elif char == '"':
                state = "double"
            elif char == "/" and after == "/":
                slashes = len(line[index:]) - len(line[index:].lstrip("/"))
                return "".join(result) + "#" * (slashes // 2) + line[index + slashes :]
        elif state == "single":
            if char == "'" and before != "\\" and not _ASCII_LETTER.match(after):
                state = "normal"
        elif char == '"' and before != "\\":
            state = "normal"
        result.append(char)
    return "".join(result)
