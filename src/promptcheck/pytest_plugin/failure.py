"""What a failed or errored item shows in pytest's output: which checks failed and why, the line
of the answer that broke each one, and the answer itself."""

from __future__ import annotations

from collections.abc import Sequence

from promptcheck.engine.plan import ItemPlan
from promptcheck.runs.record import CheckResult, ItemResult
from promptcheck.runs.stats import wilson_interval

EXCERPT_LINES = 12


class ItemFailure(Exception):
    """The item's answers did not pass its checks (a FAIL)."""

    def __init__(self, result: ItemResult) -> None:
        super().__init__(f"{result.key} failed")
        self.result = result


def heading(plan: ItemPlan) -> str:
    return f"{plan.spec.path} · case {plan.case_id} · model {plan.target.label}"


def describe_error(plan: ItemPlan, result: ItemResult) -> str:
    """An ERROR: the provider's or the judge's own message, under the item's heading."""
    return f"{heading(plan)}\n{result.error}"


def describe_failure(plan: ItemPlan, result: ItemResult) -> str:
    lines = [heading(plan)]
    answers = [(s.repeat, s.passed, s.score, s.answer, s.checks) for s in result.samples] or [
        (0, False, result.score or 0.0, result.answer or "", result.checks)
    ]
    if result.samples:
        passed, n = result.counts or (0, 0)
        low, high = wilson_interval(passed, n)
        lines.append(
            f"{passed}/{n} samples passed (95% Wilson interval {low:.2f}–{high:.2f}); "
            f"needs a pass rate of at least {plan.pass_rate:.2f}"
        )
    for index, passed, score, answer, checks in answers:
        if passed:
            continue
        failed = [c for c in checks if not c.passed and not c.skipped]
        counted = [c for c in checks if not c.skipped]
        prefix = f"sample {index + 1}: " if result.samples else ""
        score_note = ""
        if plan.case.threshold is not None:
            score_note = f" (score {score:.2f} < threshold {plan.case.threshold:.2f})"
        lines.append(f"{prefix}{len(failed)} of {len(counted)} checks failed{score_note}:")
        for check in failed:
            lines.append(f"  ✗ {check.name} — {check.reason}")
            lines += ["      " + line for line in excerpt(answer, check.span)]
        lines.append(answer_summary(answer, result.replayed))
    lines += [f"  (not run) {c.name} — {c.reason}" for c in _skipped(result.checks)]
    return "\n".join(lines)


def _skipped(checks: Sequence[CheckResult]) -> list[CheckResult]:
    return [c for c in checks if c.skipped]


def excerpt(text: str, span: tuple[int, int] | None, width: int = 100) -> list[str]:
    """The line holding the offending span, with carets under it."""
    if span is None or not text:
        return []
    start, end = max(0, span[0]), max(span[0], span[1])
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line_end = len(text) if line_end == -1 else line_end
    line_no = text.count("\n", 0, start) + 1
    line = text[line_start:line_end]
    col = start - line_start
    if len(line) > width:  # keep the span in view
        offset = max(0, min(col - width // 3, len(line) - width))
        line, col = ("…" if offset else "") + line[offset : offset + width], col - offset + (1 if offset else 0)
    marker_len = max(1, min(end, line_end) - start)
    prefix = f"line {line_no}: "
    return [prefix + line, " " * (len(prefix) + col) + "^" * min(marker_len, max(1, len(line) - col))]


def answer_summary(text: str, replayed: bool) -> str:
    source = "replayed from cassette" if replayed else "live"
    shown = text.splitlines()[:EXCERPT_LINES]
    more = len(text.splitlines()) - len(shown)
    body = "\n".join("  | " + line for line in shown) if text.strip() else "  | (empty answer)"
    tail = f"\n  | … {more} more lines" if more > 0 else ""
    return f"answer ({len(text)} chars, {source}):\n{body}{tail}"
