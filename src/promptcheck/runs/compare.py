"""Comparison of two run records: pure functions, no I/O.

Every item key lands in exactly one category. Skipped results count as "did not run": a key skipped
in the baseline is compared as if the baseline lacked it, one skipped now as if it was not run.
Text and JSON diffs are methods on ``ItemComparison`` and computed on demand, because most of a
20,000-item comparison is never looked at.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Iterable, Literal, Mapping, Sequence

from promptcheck.runs import new_header, new_run_id, pass_rate, summarize
from promptcheck.pytest_plugin.shard import merged_selected_only
from promptcheck.runs.stats import DEFAULT_ALPHA, FailOn, KeyStat, counts_against, flaky_reason, key_stat

Category = Literal["regression", "fix", "still_failing", "new", "removed", "not_run", "changed", "unchanged"]
# Display order: what needs a human first.
CATEGORIES: tuple[Category, ...] = (
    "regression", "still_failing", "fix", "new", "changed", "removed", "not_run", "unchanged",
)
_RANK = {c: i for i, c in enumerate(CATEGORIES)}
_FAILED = ("fail", "error")

Record = Mapping[str, Any]


class MergeError(ValueError):
    """Shards that cannot be combined; the message names the conflicting keys."""


# --- diffs ---------------------------------------------------------------------------------------

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


_FENCE = re.compile(r"^```[\w-]*\s*\n(.*)\n```\s*$", re.S)


def parse_json_answer(text: str | None) -> tuple[bool, Any]:
    """(True, value) when the answer is JSON, also inside one Markdown code fence, as models like to send it."""
    if not text:
        return False, None
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    if not stripped or stripped[0] not in "{[":
        return False, None  # cheap pre-check: most answers are prose
    try:
        return True, json.loads(stripped)
    except ValueError:
        return False, None


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


# --- per item ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckChange:
    name: str
    before: str | None  # "pass" | "fail" | "skipped" | None (check absent)
    after: str | None


def _check_state(check: Mapping[str, Any]) -> str:
    if check.get("skipped"):
        return "skipped"
    return "pass" if check.get("passed") else "fail"


def _checks_by_name(item: Record | None) -> dict[str, str]:
    states: dict[str, str] = {}
    for check in (item or {}).get("checks") or []:
        name = str(check.get("name", ""))
        # The same check may be declared twice; number repeats so each pairs with its twin.
        unique, n = name, 1
        while unique in states:
            n += 1
            unique = f"{name} #{n}"
        states[unique] = _check_state(check)
    return states


def _delta(before: Record | None, after: Record | None, field_name: str) -> float | None:
    a = (before or {}).get(field_name)
    b = (after or {}).get(field_name)
    return b - a if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None


@dataclass
class ItemComparison:
    key: str
    category: Category
    current: Record | None
    baseline: Record | None
    stat: KeyStat | None = None  # pass counts on both sides and the Fisher test's verdict
    flaky: str | None = None  # why the key counts as flaky, see stats.flaky_reason

    @property
    def item(self) -> Record:
        """Whichever side exists, current first: for display fields such as prompt and model."""
        return self.current or self.baseline or {}

    @property
    def answer_changed(self) -> bool:
        return bool(self.current and self.baseline and self.current.get("answer") != self.baseline.get("answer"))

    @property
    def prompt_changed(self) -> bool:
        return bool(
            self.current and self.baseline and self.current.get("messages_hash") != self.baseline.get("messages_hash")
        )

    @cached_property
    def check_changes(self) -> list[CheckChange]:
        if self.baseline and self.current and self.baseline.get("checks") == self.current.get("checks"):
            return []  # the common case, and a C-speed comparison
        before, after = _checks_by_name(self.baseline), _checks_by_name(self.current)
        names = list(after) + [n for n in before if n not in after]
        return [CheckChange(n, before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)]

    @property
    def score_delta(self) -> float | None:
        return _delta(self.baseline, self.current, "score")

    @property
    def latency_delta(self) -> float | None:
        return _delta(self.baseline, self.current, "latency_s")

    @property
    def cost_delta(self) -> float | None:
        return _delta(self.baseline, self.current, "cost")

    def text_diff(self) -> list[DiffOp] | None:
        """Baseline answer → current answer, or None when there is nothing to diff."""
        if not self.answer_changed:
            return None
        return word_diff(self.baseline.get("answer") or "", self.current.get("answer") or "")  # type: ignore[union-attr]

    def json_diff(self) -> list[JsonChange] | None:
        """Structural changes when both answers are JSON; None otherwise."""
        if not self.answer_changed:
            return None
        ok_a, before = parse_json_answer(self.baseline.get("answer"))  # type: ignore[union-attr]
        ok_b, after = parse_json_answer(self.current.get("answer"))  # type: ignore[union-attr]
        return json_diff(before, after) if ok_a and ok_b else None

    def failed_checks(self) -> list[Mapping[str, Any]]:
        return [c for c in (self.current or {}).get("checks") or [] if _check_state(c) == "fail"]


def classify(baseline: Record | None, current: Record | None, selected_only: bool) -> Category:
    if current is None:
        # A narrowed run (-k, --lf, node ids) says nothing about the keys it didn't select.
        return "not_run" if selected_only else "removed"
    if current["status"] == "skip":
        if baseline is None:
            return "new"
        return "unchanged" if baseline["status"] == "skip" else "not_run"
    if baseline is None or baseline["status"] == "skip":
        return "new"
    now_failed, was_failed = current["status"] in _FAILED, baseline["status"] in _FAILED
    if now_failed:
        return "still_failing" if was_failed else "regression"
    if was_failed:
        return "fix"
    return "changed" if current.get("answer") != baseline.get("answer") else "unchanged"


# --- whole runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelStats:
    model: str
    counts: dict[str, int]
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
    baseline_id: str | None
    items: list[ItemComparison]  # regressions first, see CATEGORIES
    models: list[ModelStats]
    cost: float | None
    baseline_cost: float | None
    latency_s: float | None
    baseline_latency_s: float | None
    alpha: float = DEFAULT_ALPHA
    counts: dict[str, int] = field(init=False)

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


def _total(items: Iterable[Record], field_name: str) -> float | None:
    values = [i[field_name] for i in items if isinstance(i.get(field_name), (int, float))]
    return sum(values) if values else None


def compare(
    baseline: Record | None,
    current: Record,
    *,
    alpha: float = DEFAULT_ALPHA,
    history: Mapping[str, Sequence[str]] | None = None,
) -> Comparison:
    """``history`` maps keys to their statuses in earlier runs, oldest first (for flakiness)."""
    selected_only = bool(current.get("selected_only"))
    now = {item["key"]: item for item in current["items"]}
    before = {item["key"]: item for item in (baseline or {}).get("items", [])}
    keys = list(now) + [k for k in before if k not in now]
    history = history or {}
    items = [
        ItemComparison(
            k,
            classify(before.get(k), now.get(k), selected_only),
            now.get(k),
            before.get(k),
            key_stat(before.get(k), now.get(k), alpha),
            flaky_reason([*history.get(k, ()), now[k]["status"]], now[k]) if k in now else None,
        )
        for k in keys
    ]
    items.sort(key=lambda i: (_RANK[i.category], i.key))

    # A narrowed run is judged against the same slice of the baseline, not the whole of it.
    comparable = [before[k] for k in now if k in before] if selected_only else list(before.values())
    now_models = summarize(current["items"])["models"]
    base_models = summarize(comparable)["models"] if baseline else {}
    labels = list(current.get("models") or []) + sorted(set(now_models) - set(current.get("models") or []))
    models = [
        ModelStats(
            m,
            now_models.get(m, dict.fromkeys(("pass", "fail", "error", "skip"), 0)),
            pass_rate(now_models.get(m, {})),
            pass_rate(base_models[m]) if m in base_models else None,
        )
        for m in labels
    ]
    return Comparison(
        current_id=str(current.get("run_id")),
        baseline_id=str(baseline["run_id"]) if baseline else None,
        items=items,
        models=models,
        cost=_total(now.values(), "cost"),
        baseline_cost=_total(comparable, "cost") if baseline else None,
        latency_s=_total(now.values(), "latency_s"),
        baseline_latency_s=_total(comparable, "latency_s") if baseline else None,
        alpha=alpha,
    )


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def merge_runs(records: Sequence[Record]) -> dict[str, Any]:
    """Combine shard records (e.g. one per CI job) into one run with a fresh id."""
    if not records:
        raise MergeError("nothing to merge")
    owner: dict[str, str] = {}
    conflicts: list[str] = []
    for record in records:
        for item in record["items"]:
            if item["key"] in owner:
                conflicts.append(f"{item['key']} (in {owner[item['key']]} and {record['run_id']})")
            else:
                owner[item["key"]] = str(record["run_id"])
    if conflicts:
        shown = "; ".join(conflicts[:5]) + (f"; and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
        raise MergeError(f"{len(conflicts)} item(s) appear in more than one run: {shown}")

    first = min(records, key=lambda r: str(r.get("started_at") or ""))
    finished = [r.get("finished_at") for r in records]
    models = list(dict.fromkeys(m for r in records for m in r.get("models") or []))
    merged = new_header(
        {
            **{k: v for k, v in first.items() if k not in ("run_id", "items", "summary", "shard")},
            "run_id": new_run_id(_parse_time(first.get("started_at"))),
            "models": models,
            "selected_only": merged_selected_only(records),
            "merged_from": [str(r["run_id"]) for r in records],
        }
    )
    merged["finished_at"] = None if None in finished else max(finished)  # type: ignore[type-var]
    merged["complete"] = all(r.get("complete") for r in records)
    merged["items"] = [item for r in records for item in r["items"]]
    return merged
