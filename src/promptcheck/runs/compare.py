"""Comparison of a run with its baseline: pure functions, no I/O.

Every item key lands in exactly one category. The baseline holds each key's latest decisive
outcome (``runs.baseline``), so a key is judged against the last time it had an answer that
passed or failed. Errors are "not evaluated": no answer, so neither a regression nor a fix. A key
skipped now did not run. Text and JSON diffs (``runs.diffs``) are methods on ``ItemComparison``
and computed on demand, because most of a 20,000-item comparison is never looked at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Literal

import msgspec

from promptcheck.runs import diffs
from promptcheck.runs.baseline import Baseline
from promptcheck.runs.diffs import DiffOp, JsonChange
from promptcheck.runs.record import STATUSES, AnyRun, CheckResult, ItemHead, ItemResult, pass_rate, same_answer, summarize
from promptcheck.runs.stats import DEFAULT_ALPHA, FailOn, KeyStat, counts_against, flaky_reason, key_stat

Category = Literal[
    "regression", "fix", "still_failing", "not_evaluated", "new", "removed", "not_run", "changed", "unchanged"
]
# Display order: what needs a human first.
CATEGORIES: tuple[Category, ...] = (
    "regression", "still_failing", "fix", "not_evaluated", "new", "changed", "removed", "not_run", "unchanged",
)

CheckState = Literal["pass", "fail", "skipped"]


# --- per item ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckChange:
    name: str
    before: CheckState | None  # None: the check is absent on that side
    after: CheckState | None


def _check_state(check: CheckResult) -> CheckState:
    if check.skipped:
        return "skipped"
    return "pass" if check.passed else "fail"


def _checks_by_name(item: ItemHead | None) -> dict[str, CheckState]:
    states: dict[str, CheckState] = {}
    for check in item.checks if item is not None else ():
        # The same check may be declared twice; number repeats so each pairs with its twin.
        unique, n = check.name, 1
        while unique in states:
            n += 1
            unique = f"{check.name} #{n}"
        states[unique] = _check_state(check)
    return states


def _delta(before: float | None, after: float | None) -> float | None:
    return after - before if before is not None and after is not None else None


class ItemComparison(msgspec.Struct, gc=False):
    """One key's outcome against its baseline. A Struct outside the cyclic collector (it holds
    items and a KeyStat, never itself): the 100,000 of a large comparison outlive the report's
    paused collection, and the first pass after it walked every one (docs/benchmarks.md)."""

    key: str
    category: Category
    # ItemHeads when the runs were read without their texts (runs.heads): ``with_texts`` loads
    # the texts of the items that are shown, before their diffs are asked for.
    current: ItemHead | None
    baseline: ItemHead | None
    stat: KeyStat | None = None  # pass counts on both sides and the Fisher test's verdict
    flaky: str | None = None  # why the key counts as flaky, see stats.flaky_reason
    baseline_run: str | None = None  # the run the baseline outcome comes from
    # Why there is no baseline outcome although the baseline ran the key (e.g. it errored at a git REF).
    baseline_note: str | None = None

    @property
    def item(self) -> ItemHead:
        """Whichever side exists, current first: for display fields such as prompt and model."""
        item = self.current if self.current is not None else self.baseline
        assert item is not None, f"{self.key}: a comparison has at least one side"
        return item

    @property
    def answer_changed(self) -> bool:
        return self.current is not None and self.baseline is not None and not same_answer(self.current, self.baseline)

    @property
    def prompt_changed(self) -> bool:
        return (
            self.current is not None
            and self.baseline is not None
            and self.current.messages_hash != self.baseline.messages_hash
        )

    @property
    def check_changes(self) -> list[CheckChange]:
        if self.baseline is not None and self.current is not None and self.baseline.checks == self.current.checks:
            return []  # the common case, and a C-speed comparison
        before, after = _checks_by_name(self.baseline), _checks_by_name(self.current)
        names = list(after) + [n for n in before if n not in after]
        return [CheckChange(n, before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)]

    @property
    def score_delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return _delta(self.baseline.score, self.current.score)

    @property
    def latency_delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return _delta(self.baseline.latency_s, self.current.latency_s)

    @property
    def cost_delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return _delta(self.baseline.cost, self.current.cost)

    def text_diff(self) -> list[DiffOp] | None:
        """Baseline answer → current answer, or None when there is nothing to diff."""
        if not self.answer_changed:
            return None
        baseline, current = self._texts()
        return diffs.word_diff(baseline.answer or "", current.answer or "")

    def json_diff(self) -> list[JsonChange] | None:
        """Structural changes when both answers are JSON objects or arrays; None otherwise."""
        if not self.answer_changed:
            return None
        baseline, current = self._texts()
        return diffs.answer_json_diff(baseline.answer, current.answer)

    def _texts(self) -> tuple[ItemResult, ItemResult]:
        if not isinstance(self.baseline, ItemResult) or not isinstance(self.current, ItemResult):
            raise RuntimeError(f"{self.key}: the answers were not loaded; call runs.heads.with_texts first")
        return self.baseline, self.current

    def failed_checks(self) -> list[CheckResult]:
        checks = self.current.checks if self.current is not None else ()
        return [c for c in checks if _check_state(c) == "fail"]


def classify(baseline: ItemHead | None, current: ItemHead | None, *, seen: bool, gone: bool, baseline_note: str | None = None) -> Category:
    """``seen``: an earlier run had the key; ``gone``: a full current run lacks a key the last full
    run had; ``baseline_note``: the baseline ran the key and could not decide it."""
    if current is None:
        return "removed" if gone else "not_run"
    if current.status == "error":
        return "not_evaluated"
    if current.status == "skip":
        if baseline is not None:
            return "not_run"
        return "unchanged" if seen else "new"
    if baseline is None:
        return "not_evaluated" if baseline_note else "new"
    if current.status == "fail":
        return "still_failing" if baseline.status == "fail" else "regression"
    if baseline.status == "fail":
        return "fix"
    return "unchanged" if same_answer(current, baseline) else "changed"


# --- whole runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelStats:
    model: str
    counts: dict[str, int]  # by status, as in ``Summary.models``
    pass_rate: float | None
    baseline_pass_rate: float | None

    @property
    def delta(self) -> float | None:
        if self.pass_rate is None or self.baseline_pass_rate is None:
            return None
        return self.pass_rate - self.baseline_pass_rate


@dataclass
class Comparison:
    current_id: str
    baseline_label: str | None  # None: nothing to compare with
    baseline_runs: list[str]  # the runs the baseline outcomes come from, most used first
    items: list[ItemComparison]  # regressions first, see CATEGORIES
    models: list[ModelStats]
    cost: float | None
    baseline_cost: float | None
    latency_s: float | None
    baseline_latency_s: float | None
    alpha: float = DEFAULT_ALPHA
    counts: dict[Category, int] = field(init=False)

    def __post_init__(self) -> None:
        self.counts = dict.fromkeys(CATEGORIES, 0)
        for item in self.items:
            self.counts[item.category] += 1

    def of(self, *categories: Category) -> list[ItemComparison]:
        return [i for i in self.items if i.category in categories]

    @property
    def regressions(self) -> list[ItemComparison]:
        return self.of("regression")

    @property
    def fixes(self) -> list[ItemComparison]:
        return self.of("fix")

    @property
    def has_regressions(self) -> bool:
        return self.counts["regression"] > 0

    def failing(self, mode: FailOn = "auto") -> list[ItemComparison]:
        """The keys that make `promptcheck diff --fail-on mode` exit 1 (see stats.counts_against)."""
        return [i for i in self.items if counts_against(i.stat, i.category == "regression", mode)]

    def with_shift(self, *shifts: str) -> list[ItemComparison]:
        return [i for i in self.items if i.stat is not None and i.stat.shift in shifts]

    @property
    def flaky(self) -> list[ItemComparison]:
        return [i for i in self.items if i.flaky]


def _total(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def compare(
    baseline: Baseline | None,
    current: AnyRun,
    *,
    alpha: float = DEFAULT_ALPHA,
    history: Mapping[str, Sequence[str]] | None = None,
) -> Comparison:
    """``history`` maps keys to their statuses in earlier runs, oldest first (for flakiness)."""
    base = baseline if baseline is not None else Baseline("", {}, {})
    full = not current.header.selected_only
    now = {item.key: item for item in current.items}
    # A narrowed run (-k, --lf, node ids, a shard) says nothing about the keys it didn't select.
    absent = [k for k in base.full_keys if k not in now and k in base.items]
    keys = list(now) + sorted(absent)
    history = history or {}
    # Bound methods and buckets instead of a sort on (rank, key): this loop runs once per key,
    # 100,000 times for a large matrix.
    base_item, now_item, note_of, source_of, seen = base.items.get, now.get, base.not_evaluated.get, base.sources.get, base.seen
    buckets: dict[Category, list[ItemComparison]] = {c: [] for c in CATEGORIES}
    for k in keys:
        b, c = base_item(k), now_item(k)
        note = note_of(k)
        category = classify(b, c, seen=k in seen, gone=full and c is None, baseline_note=note)
        flaky = flaky_reason([*history.get(k, ()), c.status], c) if c is not None else None
        buckets[category].append(ItemComparison(k, category, c, b, key_stat(b, c, alpha), flaky, source_of(k), note))
    by_key = attrgetter("key")
    items = [ic for category in CATEGORIES for ic in sorted(buckets[category], key=by_key)]

    # Pass rates compare like with like: the keys this run decided, against their baseline outcomes.
    comparable = [base.items[k] for k in now if k in base.items]
    now_models = summarize(current.items).models
    base_models = summarize(comparable).models if baseline is not None else {}
    declared = list(current.header.models)
    labels = declared + sorted(set(now_models) - set(declared))
    models = [
        ModelStats(
            m,
            now_models.get(m, dict.fromkeys(STATUSES, 0)),
            pass_rate(now_models.get(m, {})),
            pass_rate(base_models[m]) if m in base_models else None,
        )
        for m in labels
    ]
    return Comparison(
        current_id=current.run_id,
        baseline_label=baseline.label if baseline is not None else None,
        baseline_runs=base.run_ids,
        items=items,
        models=models,
        cost=_total(i.cost for i in now.values()),
        baseline_cost=_total(i.cost for i in comparable) if baseline is not None else None,
        latency_s=_total(i.latency_s for i in now.values()),
        baseline_latency_s=_total(i.latency_s for i in comparable) if baseline is not None else None,
        alpha=alpha,
    )
