"""Typed field access over marked YAML, collecting every problem instead of stopping at the first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from promptcheck.checks.evaluate import validate_check
from promptcheck.ranges import Range
from promptcheck.spec import CheckGroup, CheckSpec, Location, SpecError, SpecErrors
from promptcheck.safefiles.yamlio import item_location, key_location, node_location

_TYPE_NAMES = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
}


def type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    for kind in (dict, list, str, int, float):  # subclasses (marked YAML nodes) count as their base
        if isinstance(value, kind):
            return _TYPE_NAMES[kind]
    return type(value).__name__


@dataclass
class Problems:
    """Collects SpecErrors for one file; ``raise_if_any`` ends the read with all of them."""

    path: str
    errors: list[SpecError] = field(default_factory=list)
    warnings: list[SpecError] = field(default_factory=list)
    # Raises ValueError for a check declaration that cannot run. The Catalog binds it to the
    # session's check types (plugins add some), so readers need not know which exist.
    validate_check: Callable[[CheckSpec | CheckGroup], None] = validate_check

    def error(self, message: str, location: Location | None = None) -> None:
        self.errors.append(SpecError(message, location or Location(self.path)))

    def warn(self, message: str, location: Location | None = None) -> None:
        self.warnings.append(SpecError(message, location or Location(self.path)))

    def raise_if_any(self) -> None:
        if self.errors:
            raise SpecErrors(self.errors)

    def at_key(self, mapping: Any, key: str) -> Location:
        return key_location(mapping, key, self.path)

    def at_item(self, seq: Any, index: int) -> Location:
        return item_location(seq, index, self.path)

    def at(self, node: Any) -> Location:
        return node_location(node, self.path)

    def at_root(self, document: Any) -> Location:
        """Where a whole document starts: a scalar one carries no mark, but it starts the file."""
        found = node_location(document, self.path)
        return found if found.line is not None else Location(self.path, 1, 1)


def get(
    mapping: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    problems: Problems,
    default: Any = None,
    where: str = "",
    allowed: Range | None = None,
) -> Any:
    """``mapping[key]`` if it has the expected type (and is in the ``allowed`` range); otherwise
    record a problem and return default."""
    if key not in mapping or mapping[key] is None:
        return default
    value = mapping[key]
    label = f"{where}{key}" if where else key
    if allowed is not None:
        problem = allowed.problem(value)
        if problem is not None:
            problems.error(f"'{label}' {problem}", problems.at_key(mapping, key))
            return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
        return value
    expected = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
    problems.error(f"'{label}' must be {expected}, got {type_name(value)}", problems.at_key(mapping, key))
    return default


def mappings(seq: Any, problems: Problems, what: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (index, mapping) for each list item, recording non-mapping items as problems."""
    for index, item in enumerate(seq):
        if isinstance(item, dict):
            yield index, item
        else:
            problems.error(
                f"each entry of '{what}' must be a mapping, got {type_name(item)}", problems.at_item(seq, index)
            )


def tag_list(value: Any, problems: Problems, location: Location, what: str) -> list[str]:
    """Tags, which become pytest markers: a marker name may not be empty or start with '_'."""
    tags = string_list(value, problems, location, what)
    for tag in tags:
        if not tag.strip() or tag.lstrip().startswith("_"):
            problems.error(f"'{what}': a tag must be a word that does not start with '_', got {tag!r}", location)
    return [t for t in tags if t.strip() and not t.lstrip().startswith("_")]


def string_list(value: Any, problems: Problems, location: Location, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    problems.error(f"'{what}' must be a string or a list of strings, got {type_name(value)}", location)
    return []
