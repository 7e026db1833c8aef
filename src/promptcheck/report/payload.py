"""The view model behind the HTML report: plain data, no markup.

Each item is two rows: ``list_row`` (what the item list shows and filters on, in the page) and
``detail_row`` (answers, checks, prompt: in the data files the page loads when an item is opened,
see ``report.datafiles``). Field names are short because a report repeats them 100,000 times;
``report.js`` documents each one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from promptcheck.runs.compare import Comparison, ItemComparison
from promptcheck.runs.record import CheckResult, ItemHead, ItemResult, RunHeader, RunRecord, pass_rate, summarize
from promptcheck.runs.stats import wilson_interval

_FAILED = ("fail", "error")
CHANGED_CATEGORIES = ("regression", "fix", "new", "removed", "changed")
TREND_RUNS = 20
_PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f")


class Strings:
    """Interns long strings (system prompts repeat across every case and model)."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        # Check rows built from this table, by check: most checks pass with the same reason on
        # thousands of answers, and a row only depends on the answer through a failure's span.
        self.check_rows: dict[CheckResult, list[Any]] = {}
        # Prompt rows, by messages: a run shares one tuple between the models of a case.
        self.message_rows: dict[tuple[tuple[str, str], ...], list[list[Any]]] = {}

    def ref(self, text: str) -> int:
        # One dict call per string: a 100,000-item report interns over a million.
        index = self._index
        return index.setdefault(text, len(index))

    @property
    def table(self) -> list[str]:
        return list(self._index)  # in order of first use, which is the order of the indexes


class Detail(msgspec.Struct, omit_defaults=True, gc=False):
    """One item's details in a data file, as ``report.js`` names them. A field left at its default
    is absent from the file, and absent means empty: ``None``, ``""`` and ``False`` are never
    written, 0 and 0.0 are values. Encoded straight from the Struct, with no dict per item."""

    br: str | None = None
    bn: str | None = None
    a: str | None = None
    b: str | None = None
    lat: float | None = None
    cost: float | None = None
    dsc: float | None = None
    dlat: float | None = None
    dcost: float | None = None
    tok: list[int | None] | None = None
    err: str | None = None
    skip: str | None = None
    ck: list[list[Any]] | None = None
    cc: list[list[str | None]] | None = None
    msg: list[list[Any]] | None = None
    rp: bool = False
    pc: bool = False
    smp: list[int] | None = None
    ci: list[float] | None = None
    st: str | None = None
    bkn: list[int] | None = None
    pv: float | None = None
    th: list[list[Any]] | None = None  # a conversation's turns: thread_rows
    tc: list[list[str]] | None = None  # the answer's tool calls: [name, arguments JSON text]


def _utf16_span(text: str, span: tuple[int, int] | None) -> list[int] | None:
    """Python counts code points, JavaScript UTF-16 units; convert so highlights land right."""
    if span is None:
        return None
    start, end = max(0, span[0]), max(0, span[1])
    if text.isascii():
        return [start, end]
    return [len(text[:n].encode("utf-16-le")) // 2 for n in (start, end)]


def _check_row(check: CheckResult, answer: str, strings: Strings) -> list[Any]:
    state = 2 if check.skipped else int(check.passed)
    span = _utf16_span(answer, check.span) if state == 0 else None
    ref = strings.ref
    row = [ref(check.name), ref(check.type), state, check.score, ref(check.reason), span]
    if span is None:
        strings.check_rows[check] = row
    return row


def _message_rows(messages: tuple[tuple[str, str], ...], strings: Strings) -> list[list[Any]]:
    rows = strings.message_rows.get(messages)
    if rows is None:
        rows = strings.message_rows[messages] = [[role, strings.ref(content)] for role, content in messages]
    return rows


def _whole(item: ItemHead | None) -> ItemResult | None:
    # The page shows answers and prompts: it is built from whole runs (load_run), never from heads.
    assert item is None or isinstance(item, ItemResult), f"{item.key}: the report needs whole items"
    return item


def _first_reason(ic: ItemComparison, current: ItemResult | None) -> str | None:
    """The list's "Why" column: the error, the skip, the first failed check, or the changed answer."""
    if current is not None and current.error:
        return current.error[:300]
    if current is not None and current.skip_reason:
        return "skipped: " + current.skip_reason[:300]
    for check in current.checks if current is not None else ():
        if not check.passed and not check.skipped:
            return f"{check.name}: {check.reason}"[:300]
    return "answer changed" if ic.category == "changed" else None


def list_row(ic: ItemComparison, strings: Strings, categories: dict[str, int], answer_changed: bool) -> list[Any]:
    """What the item list needs of one item, as a positional row (``report.js`` names the columns):
    100,000 of these are parsed before the list shows, so no field names and no answers.
    ``answer_changed`` is ``ic.answer_changed``, which the caller asks once for both rows."""
    current, baseline, item = ic.current, ic.baseline, ic.item
    ref = strings.ref
    samples = current.samples if current is not None else ()
    reason = _first_reason(ic, _whole(current))
    return [
        ic.key, categories[ic.category],
        ref(current.status) if current is not None else None,
        ref(baseline.status) if baseline is not None else None,
        ref(item.prompt_path), ref(item.prompt_name) if item.prompt_name else None,
        item.case_id or None, ref(item.model), item.score,
        ref(reason) if reason else None,
        int(baseline is not None and (current is None or answer_changed)),
        "".join("1" if x.passed else "0" for x in samples) if samples else None,
        ic.flaky or None,
    ]


def detail_row(ic: ItemComparison, strings: Strings, answer_changed: bool) -> Detail:
    """The rest of one item, which the page loads from a data file when the item is opened.
    ``answer_changed`` is ``ic.answer_changed``, as for ``list_row``."""
    current, baseline = _whole(ic.current), _whole(ic.baseline)
    item = current if current is not None else baseline
    assert item is not None, f"{ic.key}: a comparison has at least one side"
    answer = current.answer if current is not None else None
    both = current is not None and baseline is not None
    detail = Detail(
        br=ic.baseline_run or None, bn=ic.baseline_note or None, a=answer or None,
        # The page diffs the answers when the item is opened: diffing 5,000 changed answers here
        # would cost seconds for items nobody may look at (see docs/benchmarks.md).
        b=(baseline.answer or None) if baseline is not None and (current is None or answer_changed) else None,
        lat=item.latency_s, cost=item.cost,
        tok=[item.input_tokens, item.output_tokens] if item.input_tokens is not None or item.output_tokens is not None else None,
        err=item.error or None, skip=item.skip_reason or None,
        rp=item.replayed, pc=both and ic.prompt_changed,
    )
    if both:
        detail.dsc, detail.dlat, detail.dcost = ic.score_delta, ic.latency_delta, ic.cost_delta
        changes = ic.check_changes
        if changes:
            detail.cc = [[c.name, c.before, c.after] for c in changes]
    if current is not None and current.checks:
        known = strings.check_rows
        detail.ck = [known.get(c) or _check_row(c, answer or "", strings) for c in current.checks]
    if item.messages:
        detail.msg = _message_rows(item.messages, strings)
    if current is not None and current.tool_calls:  # [name, arguments JSON text] per call
        detail.tc = [[c.name, c.arguments] for c in current.tool_calls]
    samples = current.samples if current is not None else ()
    if samples:
        passed = sum(1 for x in samples if x.passed)
        detail.smp = [passed, len(samples)]
        detail.ci = [round(v, 3) for v in wilson_interval(passed, len(samples))]
    if current is not None and current.turns:
        detail.th = thread_rows(current, baseline, strings)
    if ic.stat is not None and not ic.stat.single_sample:
        # The Fisher verdict against the baseline (the sample strip and flakiness are in the list row).
        detail.st, detail.bkn, detail.pv = ic.stat.shift, list(ic.stat.before), float(f"{ic.stat.p_value:.3g}")
    return detail


def thread_rows(current: ItemResult, baseline: ItemResult | None, strings: Strings) -> list[list[Any]]:
    """A conversation, turn by turn: [user, answer, baseline's answer when it differs (else None),
    fixed reply 0/1, passed 0/1, check rows, and the turn's tool calls as [name, arguments] when it
    made any]. Turns pair up by position."""
    before = {t.index: t for t in baseline.turns} if baseline is not None else {}
    rows = []
    for turn in current.turns:
        old = before.get(turn.index)
        changed = old is not None and old.answer != turn.answer
        rows.append([
            strings.ref(turn.user), turn.answer, old.answer if changed and old is not None else None,
            int(turn.fixed), int(turn.passed), [_check_row(c, turn.answer, strings) for c in turn.checks],
            *([[[c.name, c.arguments] for c in turn.tool_calls]] if turn.tool_calls else []),
        ])
    return rows


def filter_counts(comparison: Comparison) -> dict[str, int]:
    failing = changed = 0
    for i in comparison.items:  # one pass: 100,000 items
        failing += i.current is not None and i.current.status in _FAILED
        changed += i.category in CHANGED_CATEGORIES or i.answer_changed
    return {"regressions": comparison.counts["regression"], "failing": failing, "changed": changed, "all": len(comparison.items)}


@dataclass(frozen=True)
class MatrixCell:
    passed: int
    ran: int
    regressions: int

    @property
    def css(self) -> str:
        if self.regressions:
            return "regress"
        if not self.ran:
            return "none"
        return "ok" if self.passed == self.ran else "bad"


@dataclass(frozen=True)
class MatrixRow:
    prompt_path: str
    prompt_name: str
    cells: list[MatrixCell | None]  # one per model; None: the prompt isn't run on that model


def build_matrix(comparison: Comparison, models: Sequence[str]) -> list[MatrixRow]:
    """Prompts × models, rows with regressions, then failures, first."""
    tallies: dict[str, dict[str, list[int]]] = {}
    names: dict[str, str] = {}
    for ic in comparison.items:
        if ic.current is None:
            continue
        path = ic.current.prompt_path or ic.key.split("::")[0]
        names.setdefault(path, ic.current.prompt_name or path)
        tally = tallies.setdefault(path, {}).setdefault(ic.current.model, [0, 0, 0])
        status = ic.current.status
        tally[0] += status == "pass"
        tally[1] += status in ("pass", "fail")  # errors and skips were not evaluated
        tally[2] += ic.category == "regression"
    rows = [
        MatrixRow(path, names[path], [MatrixCell(*by_model[m]) if m in by_model else None for m in models])
        for path, by_model in tallies.items()
    ]

    def urgency(row: MatrixRow) -> tuple[int, int, str]:
        cells = [c for c in row.cells if c]
        return (-sum(c.regressions for c in cells), -sum(c.ran - c.passed for c in cells), row.prompt_path)

    return sorted(rows, key=urgency)


@dataclass(frozen=True)
class TrendPoint:
    run_id: str
    rate: float
    x: float
    y: float
    tip: str
    partial: bool = False  # the current run, narrowed or unfinished: drawn hollow, off the line


@dataclass(frozen=True)
class TrendLine:
    model: str
    color: str
    points: list[TrendPoint]

    @property
    def polyline(self) -> str:
        """The line through the whole runs; a partial run's rate is not comparable with theirs."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points if not p.partial)


@dataclass(frozen=True)
class Trend:
    width: int
    height: int
    runs: list[str]
    lines: list[TrendLine]
    left: float  # plot area's x range, for the grid lines
    right: float
    grid: list[tuple[float, str]]  # y, label: 0%, 50%, 100%
    partial: str | None = None  # why the current run's points are hollow


def build_trend(history: Iterable[RunHeader], current: RunRecord, width: int = 640, height: int = 160) -> Trend:
    """Pass rate per model over the last whole runs up to ``current``, and ``current`` itself.

    Only complete runs of every item are plotted from the history: a ``-k`` run or a crashed one
    has the pass rate of whatever subset it reached, and a chart of those zigzags with selection
    instead of quality. The current run is always there, hollow and off the line when partial.
    A model that decided nothing in a run (only errors or skips) has no point for it, as pass
    rates leave errors out."""
    # From the items: a record built in memory may carry no summary yet.
    this = msgspec.structs.replace(current.header, summary=summarize(current.items))
    whole = [h for h in history if h.complete and not h.selected_only and h.run_id != this.run_id and h.sort_key < this.sort_key]
    ordered = [*sorted(whole, key=lambda h: h.sort_key)[-(TREND_RUNS - 1) :], this]
    partial = None
    if not this.complete:
        partial = "this run did not finish"
    elif this.selected_only:
        partial = "only some items ran in this run"
    left, right, top, plot_h = 36.0, width - 12.0, 12.0, height - 36.0

    def y_of(rate: float) -> float:
        return top + (1 - rate) * plot_h

    step = (right - left) / max(1, len(ordered) - 1)
    lines: list[TrendLine] = []
    models = list(dict.fromkeys(m for h in ordered for m in h.summary.models))
    for model in models:
        points = []
        for n, header in enumerate(ordered):
            rate = pass_rate(header.summary.models.get(model, {}))
            if rate is None:
                continue
            hollow = header is this and partial is not None
            tip = f"{header.run_id} {model}: {rate:.1%}" + (f" ({partial})" if hollow else "")
            points.append(TrendPoint(header.run_id, rate, left + n * step, y_of(rate), tip, hollow))
        if points:
            lines.append(TrendLine(model, _PALETTE[len(lines) % len(_PALETTE)], points))
    grid = [(y_of(rate), f"{rate:.0%}") for rate in (0.0, 0.5, 1.0)]
    return Trend(width, height, [h.run_id for h in ordered], lines, left, right, grid, partial)
