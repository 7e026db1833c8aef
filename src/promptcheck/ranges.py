"""The allowed range of each number a user writes (in prompt files, case files, promptfoo
configs, pyproject.toml), checked where it is read so an out-of-range value is an error with its
file:line instead of an item that fails without a reason (``pass_rate: 7`` never passes)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    low: float
    high: float = math.inf
    low_open: bool = False  # the low end itself is not allowed (a timeout of 0)
    whole: bool = False  # a whole number (a count)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed ("must be ..."), or None when it is."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (self.whole and not isinstance(value, int)):
            return f"must be {self.describe()}, got {value!r}"
        inside = value > self.low if self.low_open else value >= self.low
        if not (inside and value <= self.high and math.isfinite(value)):
            return f"must be {self.describe()}, got {value!r}"
        return None

    def describe(self) -> str:
        what = "a whole number" if self.whole else "a number"
        if self.low == -math.inf:
            return what
        if self.high != math.inf:
            return f"{what} from {self.low:g} to {self.high:g}"
        return f"{what} {'more than' if self.low_open else 'of at least'} {self.low:g}"


PASS_RATE = Range(0, 1)  # a share of runs that must pass
SCORE_THRESHOLD = Range(0, 1)  # a weighted mean of check scores, each from 0 to 1
# A check's own threshold: from 0 to 1 too, except where a script reports its own scale.
SCRIPT_SCORE_THRESHOLD = Range(-math.inf)
WEIGHT = Range(0)
REPEAT = Range(1, whole=True)
CONCURRENCY = Range(1, whole=True)
TIMEOUT_S = Range(0, low_open=True)
