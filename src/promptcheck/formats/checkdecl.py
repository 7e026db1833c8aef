"""Check declarations shared by every native format (prompt files, case files, config).

Accepted forms::

    - no-intro-text                     # a bare type name
    - {contains: pub/sub}               # one-key shorthand, value inline
    - {not-regex: "(?i)^sure"}          # any type may be negated
    - {type: regex, pattern: "...", name: ..., weight: 2, threshold: 0.5}

Which check types exist is the session's business (plugins add some): declarations are
validated through ``Problems.validate_check``, which the Catalog binds to the session's registry.
"""

from __future__ import annotations

from typing import Any

from promptcheck.formats.fields import Problems, type_name
from promptcheck.spec import CheckSpec, Location

# Keys with a meaning of their own; everything else on a check mapping becomes an option.
_RESERVED = {"type", "value", "pattern", "name", "weight", "threshold", "metric"}


def split_negation(type_name_: str) -> tuple[str, bool]:
    if type_name_.startswith("not-"):
        return type_name_[4:], True
    return type_name_, False


def parse_check(node: Any, problems: Problems, location: Location) -> CheckSpec | None:
    if isinstance(node, str):
        kind, negate = split_negation(node.strip())
        return _validated(CheckSpec(type=kind, negate=negate, location=location), problems)
    if not isinstance(node, dict):
        problems.error(f"a check must be a type name or a mapping, got {type_name(node)}", location)
        return None
    if "type" in node:
        raw_type = node["type"]
        if not isinstance(raw_type, str):
            problems.error(f"check 'type' must be a string, got {type_name(raw_type)}", location)
            return None
        kind, negate = split_negation(raw_type.strip())
        value = node.get("value", node.get("pattern"))
        options = {k: v for k, v in node.items() if k not in _RESERVED}
    elif len(node) == 1:
        (raw_type, value), = node.items()
        kind, negate = split_negation(str(raw_type).strip())
        options = {}
    else:
        problems.error(
            "a check mapping needs a 'type' key, or exactly one key like '{contains: text}'; "
            f"got keys {', '.join(map(str, node))}",
            location,
        )
        return None
    weight = node.get("weight", 1.0) if "type" in node else 1.0
    threshold = node.get("threshold") if "type" in node else None
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
        problems.error(f"check 'weight' must be a number >= 0, got {weight!r}", location)
        weight = 1.0
    if threshold is not None and (not isinstance(threshold, (int, float)) or isinstance(threshold, bool)):
        problems.error(f"check 'threshold' must be a number, got {threshold!r}", location)
        threshold = None
    spec = CheckSpec(
        type=kind,
        value=value,
        negate=negate,
        weight=float(weight),
        threshold=None if threshold is None else float(threshold),
        name=node.get("name") if isinstance(node.get("name"), str) else None,
        options=options,
        location=location,
        metric=node.get("metric") if isinstance(node.get("metric"), str) else None,
    )
    return _validated(spec, problems)


def _validated(spec: CheckSpec, problems: Problems) -> CheckSpec | None:
    try:
        problems.validate_check(spec)
    except ValueError as exc:
        problems.error(str(exc), spec.location)
        return None
    return spec


def parse_checks(seq: Any, problems: Problems, key_location: Location, what: str) -> list[CheckSpec]:
    if seq is None:
        return []
    if not isinstance(seq, list):
        problems.error(f"'{what}' must be a list of checks, got {type_name(seq)}", key_location)
        return []
    parsed = (parse_check(item, problems, problems.at_item(seq, i)) for i, item in enumerate(seq))
    return [spec for spec in parsed if spec is not None]
