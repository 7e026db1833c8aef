"""Statistics behind the verdicts: how sure are we that a pass rate really moved?

Pure functions over pass counts and item results. Each key is reduced to (passed, n) by
``ItemHead.counts``: its samples when it was repeated, else 1/1 for a pass and 0/1 for a fail.
Errors and skips have no counts: they say nothing about the answer's quality.

* ``fisher_exact`` compares two keys' counts (baseline vs current), two-sided.
* ``shift`` names the change: a significant regression (p < alpha and the rate dropped), a
  regression within noise (it dropped, not significantly), the same two for fixes, or "same".
* ``flaky_reason`` flags keys whose outcome keeps flipping across runs or within this run.
* ``next_sample_size`` is the ``--repeat auto`` rule: draw more only where it can decide something.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Sequence

from promptcheck.runs.record import ItemHead

Counts = tuple[int, int]  # (passed samples, samples)
Shift = Literal["significant_regression", "noise_regression", "significant_fix", "noise_fix", "same"]
SHIFTS: tuple[Shift, ...] = ("significant_regression", "noise_regression", "significant_fix", "noise_fix", "same")
SHIFT_LABELS: dict[Shift, str] = {
    "significant_regression": "significant regression",
    "noise_regression": "regression within noise",
    "significant_fix": "significant fix",
    "noise_fix": "fix within noise",
    "same": "same rate",
}
FailOn = Literal["auto", "significant", "any"]
FAIL_ON: tuple[FailOn, ...] = ("auto", "significant", "any")
DEFAULT_ALPHA = 0.05
FLAKY_FLIPS = 2
FLAKY_WINDOW = 10  # runs, the current one included
_OUTCOMES = {"pass": True, "fail": False}  # errors and skips had no answer: they never flip


# Fisher's exact test is ~15 lines with math.comb and exact for the small counts we see (a few to a
# few hundred samples per key); scipy would be a 30+ MB dependency for this one function.
def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2x2 table [[k1, n1-k1], [k2, n2-k2]].

    With the margins fixed, the number of passes in the first group is hypergeometric; the p-value
    sums the probabilities of every table no more likely than the observed one (scipy's rule,
    with the same relative tolerance so ties computed in floating point still count)."""
    if not (0 <= k1 <= n1 and 0 <= k2 <= n2):
        raise ValueError(f"counts out of range: {k1}/{n1}, {k2}/{n2}")
    passes, total = k1 + k2, n1 + n2
    if total == 0 or passes in (0, total) or n1 == 0 or n2 == 0:
        return 1.0
    denominator = math.comb(total, n1)
    low, high = max(0, passes - n2), min(passes, n1)
    probabilities = [math.comb(passes, x) * math.comb(total - passes, n1 - x) / denominator for x in range(low, high + 1)]
    observed = probabilities[k1 - low]
    p = sum(q for q in probabilities if q <= observed * (1 + 1e-7))
    return min(1.0, p)


@dataclass(frozen=True)
class KeyStat:
    """One key's pass counts on both sides and what the test says about the change."""

    before: Counts
    after: Counts
    p_value: float
    shift: Shift

    @property
    def single_sample(self) -> bool:
        return self.before[1] <= 1 and self.after[1] <= 1

    @property
    def dropped(self) -> bool:
        return self.shift in ("significant_regression", "noise_regression")

    def describe(self) -> str:
        (k1, n1), (k2, n2) = self.before, self.after
        return f"{k1}/{n1} → {k2}/{n2} passed, Fisher p={self.p_value:.3g} ({SHIFT_LABELS[self.shift]})"


@lru_cache(maxsize=8192)  # 20,000 single-sample keys share four distinct tables
def shift(before: Counts, after: Counts, alpha: float = DEFAULT_ALPHA) -> KeyStat:
    (k1, n1), (k2, n2) = before, after
    p = fisher_exact(k1, n1, k2, n2)
    # Cross-multiplied so equal rates compare equal exactly (no float division).
    direction = k2 * n1 - k1 * n2
    if direction < 0:
        kind: Shift = "significant_regression" if p < alpha else "noise_regression"
    elif direction > 0:
        kind = "significant_fix" if p < alpha else "noise_fix"
    else:
        kind = "same"
    return KeyStat(before, after, p, kind)


def key_stat(baseline: ItemHead | None, current: ItemHead | None, alpha: float = DEFAULT_ALPHA) -> KeyStat | None:
    if baseline is None or current is None:
        return None
    before, after = baseline.counts, current.counts
    if before is None or after is None:
        return None
    return shift(before, after, alpha)


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% interval for a pass rate that stays sensible at 0/n and n/n, unlike the normal one."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def flips(statuses: Sequence[str]) -> int:
    """How often the outcome changed between consecutive runs that ran the key."""
    outcomes = [_OUTCOMES[s] for s in statuses if s in _OUTCOMES]
    return sum(1 for a, b in zip(outcomes, outcomes[1:]) if a != b)


def flaky_reason(statuses: Sequence[str], current: ItemHead | None) -> str | None:
    """Why a key is flaky, or None. ``statuses`` are its statuses in recent runs, oldest first,
    ending with the current run's."""
    counts = current.counts if current is not None else None
    if counts is not None and 0 < counts[0] < counts[1]:
        return f"{counts[0]}/{counts[1]} samples passed in this run"
    if len(statuses) <= FLAKY_FLIPS:
        return None  # too short a history to flip that often
    recent = list(statuses)[-FLAKY_WINDOW:]
    flipped = flips(recent)
    if flipped >= FLAKY_FLIPS:
        return f"outcome flipped {flipped} times in the last {len(recent)} runs"
    return None


def counts_against(stat: KeyStat | None, status_regressed: bool, mode: FailOn) -> bool:
    """Whether one key fails `promptcheck diff --fail-on mode`.

    ``any``: any drop in pass rate, or pass → fail/error. ``significant``: only a significant
    drop. ``auto``: a key sampled once on both sides (or one that errored), where no test can
    say more, counts on its status change, as single-sample runs always did; otherwise only a
    significant drop counts."""
    if mode == "any":
        return status_regressed or bool(stat and stat.dropped)
    significant = bool(stat and stat.shift == "significant_regression")
    if mode == "significant":
        return significant
    if stat is None or stat.single_sample:
        return status_regressed
    return significant


def next_sample_size(baseline: Counts | None, passed: int, n: int, limit: int, alpha: float = DEFAULT_ALPHA) -> int:
    """The ``--repeat auto`` rule: how many samples the key should have in total (``n`` = stop).

    Draw more only while a significant verdict is still open and reachable:

    * stop without a baseline to test against, at ``limit``, or once p < alpha;
    * stop when the rate matches the baseline's exactly (nothing to decide);
    * stop when even the remaining samples, all at the edge of the current 95% Wilson interval in the
      direction of the change, would leave p >= alpha at ``limit`` (e.g. against a one-sample baseline);
    * otherwise double the samples, capped at ``limit``."""
    if baseline is None or n == 0 or n >= limit:
        return n
    k1, n1 = baseline
    direction = passed * n1 - k1 * n
    if direction == 0 or fisher_exact(k1, n1, passed, n) < alpha:
        return n
    low, high = wilson_interval(passed, n)
    projected = passed + round((low if direction < 0 else high) * (limit - n))
    if fisher_exact(k1, n1, projected, limit) >= alpha:
        return n
    return min(limit, 2 * n)
