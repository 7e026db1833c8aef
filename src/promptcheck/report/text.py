"""Markdown (for $GITHUB_STEP_SUMMARY and PR comments) and terminal summaries of a Comparison.

Untrusted text is flattened to one line and escaped for its medium: Markdown punctuation is
backslash-escaped so answers can't inject HTML or links; control characters are dropped from
terminal lines so an answer can't send escape sequences to the user's terminal.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from promptcheck.runs.compare import Category, Comparison, ItemComparison, ModelStats
from promptcheck.runs.diffs import word_diff
from promptcheck.runs.record import ItemResult, turn_title
from promptcheck.report.verdicts import stat_fields, stat_markdown, stat_terminal_lines

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~&!])")  # what could start markup, a link or HTML
_LABELS = {"regression": "REGRESSION", "fix": "FIXED"}
_MARKDOWN_SECTIONS: tuple[tuple[Category, str], ...] = (
    ("regression", "Regressions"), ("fix", "Fixes"), ("still_failing", "Still failing"),
    ("not_evaluated", "Not evaluated (no answer to judge)"), ("new", "New"),
)


def one_line(text: object, width: int = 120) -> str:
    flat = " ".join(_CONTROL.sub(" ", str(text)).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def md(text: object, width: int = 120) -> str:
    return _MD_SPECIAL.sub(r"\\\1", one_line(text, width))


def why(ic: ItemComparison) -> str:
    """The shortest useful explanation of an item's state."""
    if ic.current is not None and ic.current.error:
        return ic.current.error if ic.current.status == "error" else f"error: {ic.current.error}"
    if ic.category == "not_evaluated" and ic.baseline_note:
        return f"no baseline outcome: {ic.baseline_note}"
    turned = [c.name for c in ic.check_changes if c.after == "fail"]
    failed = ic.failed_checks()
    if failed:
        first = next((c for c in failed if c.name in turned), failed[0])
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        return f"{first.name}: {first.reason or 'failed'}{more}"
    if ic.category == "changed":
        return "answer changed"
    return ""


def usd(amount: float | None, *, signed: bool = False) -> str:
    """Cost in US dollars as every report shows it: ``$0.0123``; ``+$0.0010`` with ``signed``. A
    cost too small for four decimals is ``<$0.0001``, never a misleading ``$0.0000``."""
    if amount is None:
        return "–"
    sign = "-" if amount < 0 else "+" if signed else ""
    size = abs(amount)
    return f"{sign}<$0.0001" if 0 < size < 0.00005 else f"{sign}${size:.4f}"


def _rate(stats: ModelStats) -> str:
    rate = "–" if stats.pass_rate is None else f"{stats.pass_rate:.1%}"
    return rate if stats.delta is None else f"{rate} ({stats.delta * 100:+.1f} pts)"


_PLURALS = {"regression": "regressions", "fix": "fixes"}


def count_label(category: str, n: int) -> str:
    """``2 regressions``, ``1 fix``, ``3 still failing``."""
    name = _PLURALS.get(category, category) if n != 1 else category
    return f"{n} {name.replace('_', ' ')}"


def headline(comparison: Comparison) -> str:
    parts = [f"{len(comparison.items)} items"]
    parts += [count_label(cat, n) for cat, n in comparison.counts.items() if n and cat != "unchanged"]
    return f"{', '.join(parts)} ({f'vs {against(comparison)}' if comparison.baseline_label else 'no baseline'})"


def against(comparison: Comparison) -> str:
    """``run X (pinned)``, or for per-key outcomes the runs they come from, most used first."""
    runs = comparison.baseline_runs
    label = comparison.baseline_label or ""
    if not label.startswith("each") or not runs:  # a run or a git REF: its own label says it
        return label
    shown = ", ".join(runs[:2]) + (f" and {len(runs) - 2} more" if len(runs) > 2 else "")
    return f"{label}, from {shown}"


def baseline_source(ic: ItemComparison) -> str:
    return f" (baseline: {ic.baseline_run})" if ic.baseline_run else ""


def _elide(text: str, keep: int, first: bool, last: bool) -> str:
    """Shorten unchanged text between changes, keeping ``keep`` chars of context on each side."""
    if len(text) <= 2 * keep:
        return text
    head = "" if first else text[:keep]
    tail = "" if last else text[-keep:]
    return f"{head}…{tail}"


def diff_lines(ic: ItemComparison, width: int = 400) -> list[str]:
    """The answer's word diff git-style ([-old-]{+new+}) and its JSON changes, for a terminal;
    a conversation's turn by turn."""
    thread = thread_diff_lines(ic, width)
    if thread:
        return thread
    lines = []
    ops = ic.text_diff()
    if ops:
        lines.append("    answer: " + one_line(_git_style(ops), width))
    for change in ic.json_diff() or []:
        lines.append(f"    json: {one_line(change.path, 80)} {change.kind}: {one_line(repr(change.before), 60)} → {one_line(repr(change.after), 60)}")
    return lines


def thread_diff_lines(ic: ItemComparison, width: int = 400) -> list[str]:
    """A conversation turn by turn: each turn's verdict, and its answer's diff against the
    baseline's turn at the same position (the texts must be loaded: ``runs.heads.with_texts``)."""
    current, baseline = ic.current, ic.baseline
    if not isinstance(current, ItemResult) or not current.turns:
        return []
    before = {t.index: t for t in baseline.turns} if isinstance(baseline, ItemResult) else {}
    lines = []
    for turn in current.turns:
        failed = [c.name for c in turn.checks if not c.passed and not c.skipped]
        verdict = "fixed reply" if turn.fixed else ("✓" if turn.passed else "✗ " + ", ".join(failed))
        lines.append(f"    {one_line(turn_title(turn.index, turn.user), 100)}: {one_line(verdict, 160)}")
        old = before.get(turn.index)
        if old is None or old.answer == turn.answer:
            lines.append(f"      answer{' (unchanged)' if old is not None else ''}: " + one_line(_CONTROL.sub("⏎", turn.answer), 200))
        else:
            lines.append("      answer: " + one_line(_git_style(word_diff(old.answer, turn.answer)), width))
    return lines


def _git_style(ops: list[tuple[int, str]]) -> str:
    parts = []
    for n, (op, text) in enumerate(ops):
        flat = _CONTROL.sub("⏎", text)
        if op == 0:
            parts.append(_elide(flat, 40, n == 0, n == len(ops) - 1))
        else:
            parts.append(f"[-{flat}-]" if op < 0 else f"{{+{flat}+}}")
    return "".join(parts)


def terminal_lines(
    comparison: Comparison, report_path: Path | str | None, limit: int = 10, diffs: bool = False
) -> list[str]:
    """A short summary: regressions and fixes one line each (with ``diffs``, their answer diffs)."""
    lines = [f"promptcheck: {headline(comparison)}"]
    if comparison.models:
        lines.append("  pass rate: " + ", ".join(f"{one_line(m.model, 60)} {_rate(m)}" for m in comparison.models))
    for category in ("regression", "fix"):
        selected = comparison.of(category)
        for ic in selected[:limit]:
            reason = why(ic)
            lines.append(f"{_LABELS[category]} {one_line(ic.key, 160)}{baseline_source(ic)}" + (f" — {one_line(reason)}" if reason else ""))
            if diffs:
                lines.extend(diff_lines(ic))
        if len(selected) > limit:
            lines.append(f"… and {count_label(category, len(selected) - limit).replace(' ', ' more ', 1)}")
    lines += _not_evaluated_lines(comparison, limit)
    lines += stat_terminal_lines(comparison, one_line, limit)
    if report_path is not None:
        lines.append(f"report: {report_path}")
    return lines


def _not_evaluated_lines(comparison: Comparison, limit: int) -> list[str]:
    """Items with no answer to judge, one line per reason: an outage is one line, not 2,000."""
    by_reason: dict[str, list[ItemComparison]] = {}
    for ic in comparison.of("not_evaluated"):
        by_reason.setdefault(why(ic), []).append(ic)
    lines = []
    for reason, items in list(by_reason.items())[:limit]:
        if len(items) == 1:
            lines.append(f"NOT EVALUATED {one_line(items[0].key, 160)} — {one_line(reason)}")
        else:
            shown = ", ".join(one_line(ic.key, 80) for ic in items[:2]) + (", …" if len(items) > 2 else "")
            lines.append(f"NOT EVALUATED {len(items)} items — {one_line(reason)} ({shown})")
    if len(by_reason) > limit:
        lines.append(f"… and {len(by_reason) - limit} more reasons items were not evaluated")
    return lines


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(row) + " |" for row in rows]


def render_markdown(comparison: Comparison, report_path: Path | str | None = None, limit: int = 50) -> str:
    regressions = comparison.counts["regression"]
    title = count_label("regression", regressions) if regressions else "no regressions"
    out = [f"### promptcheck: {title}", "", md(headline(comparison), 400), ""]
    if comparison.models:
        out += _md_table(
            ["Model", "Pass rate", "Δ vs baseline", "pass", "fail", "error", "skip"],
            [
                [md(m.model, 60), "–" if m.pass_rate is None else f"{m.pass_rate:.1%}",
                 "" if m.delta is None else f"{m.delta * 100:+.1f} pts",
                 *(str(m.counts.get(s, 0)) for s in ("pass", "fail", "error", "skip"))]
                for m in comparison.models
            ],
        )
        out.append("")
    for category, title in _MARKDOWN_SECTIONS:
        selected = comparison.of(category)
        if not selected:
            continue
        out += [f"#### {title} ({len(selected)})", ""]
        rows = [[md(ic.key, 160), ic.item.status, md(why(ic)), md(ic.baseline_run or "–", 60)] for ic in selected[:limit]]
        out += _md_table(["Item", "Status", "Why", "Baseline run"], rows)
        if len(selected) > limit:
            out.append(f"\n… and {len(selected) - limit} more")
        out.append("")
    out += stat_markdown(comparison, md, _md_table, limit)
    if report_path is not None:
        out.append(f"Full report: `{one_line(report_path, 300).replace('`', '')}`")
    return "\n".join(out).rstrip() + "\n"


def comparison_summary(comparison: Comparison) -> dict[str, Any]:
    """The comparison as plain JSON for machines: every item that is not unchanged."""
    return {
        "baseline": comparison.baseline_label,
        "baseline_runs": comparison.baseline_runs,
        "current": comparison.current_id,
        "counts": comparison.counts,
        "models": [
            {"model": m.model, "pass_rate": m.pass_rate, "baseline_pass_rate": m.baseline_pass_rate, "delta": m.delta, "counts": m.counts}
            for m in comparison.models
        ],
        "items": [
            {
                "key": ic.key,
                "category": ic.category,
                "status": ic.current.status if ic.current is not None else None,
                "baseline_status": ic.baseline.status if ic.baseline is not None else None,
                "baseline_run": ic.baseline_run,
                "baseline_note": ic.baseline_note,
                "why": why(ic),
                "check_changes": [[c.name, c.before, c.after] for c in ic.check_changes],
                "score_delta": ic.score_delta,
                "latency_delta": ic.latency_delta,
                "cost_delta": ic.cost_delta,
                **stat_fields(ic),
            }
            for ic in comparison.items
            if ic.category != "unchanged" or ic.flaky or (ic.stat and ic.stat.shift != "same")
        ],
    }
