"""The limits the user's code runs under, and the error for running past one.

The settings are per session (``[tool.promptcheck] script_timeout_s``, ``script_memory_mb``);
they live here rather than being passed down because the code they limit is called from many
layers (readers at collection, checks while grading, Jinja filters mid-render) that have no
settings object. The pytest session sets them at its start."""

from __future__ import annotations

from dataclasses import dataclass

# 5 s is what promptfoo-style assertions always had here for JavaScript: one answer's worth of
# work, short enough that a loop costs one item a few seconds, not the run.
DEFAULT_TIMEOUT_S = 5.0
# JavaScript's heap per evaluation. An assertion over one answer needs a few MB; 256 MB leaves
# room for big JSON answers and stops a runaway loop long before the machine notices.
DEFAULT_MEMORY_MB = 256


@dataclass(frozen=True)
class ScriptLimits:
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 1024 * 1024


class LimitExceeded(Exception):
    """The user's code ran past a limit and was stopped. Not the answer's fault: the item
    becomes an ERROR (no verdict) whose message names the code, the limit and the setting."""


_current = ScriptLimits()


def current() -> ScriptLimits:
    return _current


def configure(limits: ScriptLimits) -> None:
    global _current
    _current = limits


def too_slow(what: str, timeout_s: float, setting: str = "script_timeout_s") -> LimitExceeded:
    return LimitExceeded(
        f"{what} took longer than {timeout_s:g} s and was stopped; make it faster, "
        f"or raise [tool.promptcheck] {setting}"
    )
