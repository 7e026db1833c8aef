"""How two answers differ: a word diff of the text, and a structural diff when both are JSON.

Computed on demand (see ``ItemComparison.text_diff`` / ``json_diff``): most of a 20,000-item
comparison is never looked at.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from promptcheck.checks.jsontext import parse_json_answer

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
_MAX_DIFF_TOKENS = 20_000  # difflib is quadratic in the worst case; beyond this, diff whole lines

DiffOp = tuple[int, str]  # (-1 deleted | 0 equal | 1 inserted, text)


def word_diff(before: str, after: str) -> list[DiffOp]:
    """Word-level diff; adjacent ops of the same kind are merged so the result stays small.
    (The HTML report's script computes the same diff in the browser, on expand.)"""
    a, b = _TOKEN.findall(before), _TOKEN.findall(after)
    if len(a) + len(b) > _MAX_DIFF_TOKENS:
        a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    # Edits are usually local: matching only the differing middle is much cheaper.
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    ops: list[DiffOp] = []

    def emit(op: int, tokens: Sequence[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if ops and ops[-1][0] == op:
            ops[-1] = (op, ops[-1][1] + text)
        else:
            ops.append((op, text))

    emit(0, a[:prefix])
    mid_a, mid_b = a[prefix : len(a) - suffix], b[prefix : len(b) - suffix]
    # Whitespace may extend a match but not anchor one: a space is everywhere, so anchoring on it
    # costs time and yields diffs that interleave unrelated words.
    matcher = difflib.SequenceMatcher(str.isspace, mid_a, mid_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            emit(0, mid_a[i1:i2])
        else:
            emit(-1, mid_a[i1:i2])
            emit(1, mid_b[j1:j2])
    emit(0, a[len(a) - suffix :])
    return ops


def json_document(answer: str | None) -> Any | None:
    """The answer's JSON object or array, as the checks read JSON (one optional ```json fence);
    None for prose, and for a bare scalar, whose text diff already says all there is."""
    if not answer:
        return None
    parsed = parse_json_answer(answer)
    if parsed is None or not isinstance(parsed.value, (dict, list)):
        return None
    return parsed.value


@dataclass(frozen=True)
class JsonChange:
    path: str  # deepdiff's path, e.g. root['items'][0]
    kind: Literal["added", "removed", "changed", "type_changed"]
    before: Any = None
    after: Any = None


_DEEPDIFF_KINDS: dict[str, str] = {
    "values_changed": "changed",
    "type_changes": "type_changed",
    "dictionary_item_added": "added",
    "iterable_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_removed": "removed",
}


def json_diff(before: Any, after: Any) -> list[JsonChange]:
    from deepdiff import DeepDiff  # imported on first use: most runs never diff JSON

    diff = DeepDiff(before, after, verbose_level=2)
    changes: list[JsonChange] = []
    for report_type, kind in _DEEPDIFF_KINDS.items():
        for path, detail in (diff.get(report_type) or {}).items():
            if kind in ("changed", "type_changed"):
                changes.append(JsonChange(path, kind, detail.get("old_value"), detail.get("new_value")))  # type: ignore[arg-type]
            elif kind == "added":
                changes.append(JsonChange(path, "added", None, detail))
            else:
                changes.append(JsonChange(path, "removed", detail, None))
    return sorted(changes, key=lambda c: c.path)


def answer_json_diff(before: str | None, after: str | None) -> list[JsonChange] | None:
    """Structural changes when both answers are JSON documents; None otherwise."""
    a, b = json_document(before), json_document(after)
    return json_diff(a, b) if a is not None and b is not None else None
