"""Which check types exist: the built-in ones, plus what plugins add for one session.

The built-in registry is shared and cannot change; a session extends a copy of it (see
``pytest_plugin/extensions.py``), so a conftest's check type never reaches another session
running in the same process (pytester runs several)."""

from __future__ import annotations

from collections.abc import Iterable

from promptcheck.checks import (
    builtin, constraints, errorjson, graded, promptfoo_checks, promptfoo_misc, promptfoo_script, promptfoo_transform,
    structure, textmetrics, toolcalls,
)
from promptcheck.checks.base import CheckFn, CheckSet, CheckType, Validator, check_type

BUILTIN_SETS: tuple[CheckSet, ...] = (
    builtin.CHECKS,
    constraints.CHECKS,
    errorjson.CHECKS,
    graded.CHECKS,
    promptfoo_checks.CHECKS,
    promptfoo_misc.CHECKS,
    promptfoo_script.CHECKS,
    promptfoo_transform.CHECKS,
    structure.CHECKS,
    textmetrics.CHECKS,
    toolcalls.CHECKS,
)
_BUILTIN_NAMES = frozenset(name for checks in BUILTIN_SETS for name in checks.types)


class CheckRegistry:
    """Check type name -> CheckType. ``add`` extends it; a name is never replaced."""

    def __init__(self, types: Iterable[CheckType] = (), *, frozen: bool = False) -> None:
        self._types: dict[str, CheckType] = {}
        for kind in types:
            self._put(kind)
        self._frozen = frozen

    @staticmethod
    def builtin() -> CheckRegistry:
        """The shared registry of built-in check types (read-only; ``copy()`` it to add types)."""
        return _BUILTIN

    def copy(self) -> CheckRegistry:
        """An extensible registry with the same types."""
        return CheckRegistry(self._types.values())

    def add(self, name: str, fn: CheckFn, validate: Validator | None = None) -> None:
        """Make ``name`` usable in prompt files: ``fn(output, spec, ctx) -> Verdict`` judges an
        answer, ``validate(spec)`` (optional) rejects a bad declaration at collection by raising
        ValueError. ``not-<name>``, ``weight`` and ``threshold`` work as for every check type."""
        if self._frozen:
            raise RuntimeError("the built-in check registry is shared; add check types to a copy of it")
        self._put(check_type(name, fn, validate))

    def get(self, name: str) -> CheckType | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def _put(self, kind: CheckType) -> None:
        if kind.name in self._types:
            origin = "a built-in check type" if kind.name in _BUILTIN_NAMES else "already registered"
            raise ValueError(f"check type {kind.name!r} is {origin}; give yours another name")
        self._types[kind.name] = kind


_BUILTIN = CheckRegistry((kind for checks in BUILTIN_SETS for kind in checks.types.values()), frozen=True)
