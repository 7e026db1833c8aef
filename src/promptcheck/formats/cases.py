"""Test cases as written in prompt files and case files, and their stable ids."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from promptcheck.formats.checkdecl import parse_checks
from promptcheck.formats.tooldecl import parse_tool_results
from promptcheck.formats.fields import Problems, get, tag_list
from promptcheck.formats.reference import parse_output
from promptcheck.formats.turns import parse_turns
from promptcheck.ranges import PASS_RATE, REPEAT, SCORE_THRESHOLD
from promptcheck.spec import Case

_SLUG_DROP = re.compile(r"[^a-z0-9]+")
_BAD_ID = re.compile(r"[\[\]\s]|::")
# Keys of a structured case (the seed's `inputs:` style); a flat GitHub Models entry is all vars.
STRUCTURED_KEYS = {
    "id", "name", "description", "inputs", "vars", "expected", "output", "checks", "evaluators",
    "assert", "xfail", "repeat", "pass_rate", "tags", "threshold", "turns", "tool_results", "max_tool_rounds",
}


def slugify(text: str, max_words: int = 4, max_len: int = 48) -> str:
    words = [w for w in _SLUG_DROP.split(text.lower()) if w]
    return "-".join(words[:max_words])[:max_len].strip("-")


def vars_digest(variables: dict[str, Any]) -> str:
    blob = json.dumps(variables, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()[:6]


def derive_id(variables: dict[str, Any], fallback: str) -> str:
    for value in variables.values():
        if isinstance(value, (str, int, float)) and slugify(str(value)):
            return slugify(str(value))
    return fallback


def is_structured(entry: dict[str, Any]) -> bool:
    # ``turns`` as a list makes a conversation even without variables; a flat GitHub Models row
    # has no list-valued ``turns`` variable in practice.
    return isinstance(entry.get("inputs"), dict) or isinstance(entry.get("vars"), dict) or isinstance(entry.get("turns"), list)


def parse_case(
    entry: dict[str, Any], index: int, problems: Problems, location: Any, structured: bool = False
) -> Case | None:
    """One case. Flat GitHub Models entries keep every key as a variable, ``expected`` included,
    and get no automatic checks (``gh models eval`` semantics); structured entries may declare
    ``expected``, checks, a reference ``output`` and more."""
    if not structured and not is_structured(entry):
        variables = dict(entry)
        explicit = entry.get("id") if isinstance(entry.get("id"), str) else None
        case = Case(id=explicit or derive_id(variables, f"case-{index + 1}"), vars=variables,
                    explicit_id=explicit is not None, location=location)
        return case
    unknown = sorted(set(map(str, entry)) - STRUCTURED_KEYS)
    if unknown:
        problems.error(
            f"unknown key(s) in test case: {', '.join(unknown)} "
            f"(put variables under 'inputs:'; known keys: {', '.join(sorted(STRUCTURED_KEYS))})",
            location,
        )
    variables = dict(get(entry, "inputs", dict, problems, {}) or get(entry, "vars", dict, problems, {}))
    expected = entry.get("expected")
    if expected is not None and not isinstance(expected, (str, int, float)):
        problems.error(f"'expected' must be a string, got {type(expected).__name__}", problems.at_key(entry, "expected"))
        expected = None
    explicit = get(entry, "id", (str, int), problems)
    named = get(entry, "name", str, problems)
    case_id = str(explicit) if explicit is not None else (slugify(named, 8, 64) if named else None)
    checks_key = next((k for k in ("checks", "evaluators", "assert") if k in entry), "checks")
    case = Case(
        id=case_id or derive_id(variables, f"case-{index + 1}"),
        vars=variables,
        expected=None if expected is None else str(expected),
        checks=list(parse_checks(entry.get(checks_key), problems, problems.at_key(entry, checks_key), checks_key)),
        repeat=get(entry, "repeat", int, problems, allowed=REPEAT),
        pass_rate=get(entry, "pass_rate", float, problems, allowed=PASS_RATE),
        threshold=get(entry, "threshold", float, problems, allowed=SCORE_THRESHOLD),
        reference_output=parse_output(entry, problems),
        xfail=_xfail(entry, problems),
        description=get(entry, "description", str, problems) or named,
        tags=tag_list(entry.get("tags"), problems, problems.at_key(entry, "tags"), "tags"),
        explicit_id=case_id is not None,
        location=location,
        turns=parse_turns(entry, problems, location),
    )
    case.tool_results, case.max_tool_rounds = parse_tool_results(entry, problems)
    return case


def _xfail(entry: dict[str, Any], problems: Problems) -> dict[str, str]:
    """``xfail: reason`` (every model) or ``xfail: {model-label: reason}``."""
    value = entry.get("xfail")
    if value is None:
        return {}
    if isinstance(value, str):
        return {"*": value}
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    problems.error("'xfail' must be a reason, or a mapping of model label to reason", problems.at_key(entry, "xfail"))
    return {}


def assign_unique_ids(cases: list[Case], problems: Problems) -> None:
    """Derived ids that collide get a digest of their vars (stable under reordering);
    an explicit id used twice is the user's to fix."""
    by_id: dict[str, list[Case]] = {}
    for case in cases:
        if _BAD_ID.search(case.id) or not case.id:
            problems.error(
                f"case id {case.id!r} may not be empty or contain spaces, '[', ']' or '::'", case.location
            )
        by_id.setdefault(case.id, []).append(case)
    for case_id, group in by_id.items():
        if len(group) < 2:
            continue
        explicit = [c for c in group if c.explicit_id]
        if len(explicit) > 1:
            where = ", ".join(str(c.location) for c in explicit)
            problems.error(f"duplicate case id '{case_id}' (declared at {where}); case ids must be unique", explicit[-1].location)
            continue
        for case in group:
            if not case.explicit_id:
                case.id = f"{case_id}-{vars_digest(case.vars)}"
    seen: dict[str, Case] = {}
    for case in cases:
        if case.id in seen and not (case.explicit_id and seen[case.id].explicit_id):
            problems.error(
                f"duplicate case '{case.id}': same variables as the case at {seen[case.id].location}; "
                "give one of them an 'id'",
                case.location,
            )
        seen.setdefault(case.id, case)
