"""What a failed or errored item shows in pytest's output: which checks failed and why, the line
of the answer that broke each one, and the answer itself."""

from __future__ import annotations

from collections.abc import Sequence

# Private to pytest, but the one shape of a failure it both prints in full and sums up in one line:
# with a plain string, pytest's short summary on CI (CI=true) or under -vv repeats the whole text.
# pytest-xdist carries exactly this shape (reprtraceback + reprcrash) from workers.
from _pytest._code.code import ReprExceptionInfo, ReprFileLocation, ReprTracebackNative

from promptcheck.engine.plan import ItemPlan
from promptcheck.runs.record import CheckResult, ItemResult, RecordedToolCall, turn_title
from promptcheck.runs.stats import wilson_interval

EXCERPT_LINES = 12
HEADLINE_CHECKS = 4  # failed check names in a failure's one-line summary


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


def error_repr(plan: ItemPlan, result: ItemResult) -> ReprExceptionInfo:
    return as_repr(plan, describe_error(plan, result), first_line(result.error or "error"))


def failure_repr(plan: ItemPlan, result: ItemResult, *, one_line: bool = False) -> ReprExceptionInfo:
    """``one_line``: --tb=line, where pytest prints the text and then the headline's line."""
    return as_repr(plan, "" if one_line else describe_failure(plan, result), failure_headline(plan, result))


def as_repr(plan: ItemPlan, text: str, headline: str) -> ReprExceptionInfo:
    """The whole text where pytest shows a failure; the headline where it wants one line (the
    short test summary, --tb=line, --junitxml's message attribute)."""
    where = plan.case.location
    return ReprExceptionInfo(
        reprtraceback=ReprTracebackNative([text + "\n" if text else ""]),
        reprcrash=ReprFileLocation(where.path if where else str(plan.spec.path), (where.line or 0) if where else 0, headline),
    )


def failure_headline(plan: ItemPlan, result: ItemResult) -> str:
    if result.samples:
        passed, n = result.counts or (0, 0)
        return f"{passed}/{n} samples passed; needs a pass rate of at least {plan.pass_rate:.2f}"
    failing = [t for t in result.turns if not t.passed]
    if failing:  # a conversation: the first turn that failed, by number and user message
        turn = failing[0]
        more = f" (and {len(failing) - 1} more turns)" if len(failing) > 1 else ""
        named = ", ".join(first_line(check.name) for check in failed_checks(turn.checks)[:HEADLINE_CHECKS])
        return f"{turn_title(turn.index, turn.user)}{more}: {checks_failed(plan, turn.checks, turn.score or 0.0)} {named}"
    failed = failed_checks(result.checks)
    named = ", ".join(first_line(check.name) for check in failed[:HEADLINE_CHECKS])
    more = f" and {len(failed) - HEADLINE_CHECKS} more" if len(failed) > HEADLINE_CHECKS else ""
    head = checks_failed(plan, result.checks, result.score or 0.0)
    return f"{head} {named}{more}" if failed else head.rstrip(":")


def failed_checks(checks: Sequence[CheckResult]) -> list[CheckResult]:
    return [c for c in checks if not c.passed and not c.skipped]


def checks_failed(plan: ItemPlan, checks: Sequence[CheckResult], score: float) -> str:
    counted = sum(1 for c in checks if not c.skipped)
    score_note = ""
    if plan.case.threshold is not None:
        score_note = f" (score {score:.2f} < threshold {plan.case.threshold:.2f})"
    return f"{len(failed_checks(checks))} of {counted} checks failed{score_note}:"


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else text


def describe_failure(plan: ItemPlan, result: ItemResult) -> str:
    if result.turns and not result.samples:
        return describe_conversation(plan, result)
    lines = [heading(plan)]
    answers = [(s.repeat, s.passed, s.score, s.answer, s.checks, s.tool_calls) for s in result.samples] or [
        (0, False, result.score or 0.0, result.answer or "", result.checks, result.tool_calls)
    ]
    if result.samples:
        passed, n = result.counts or (0, 0)
        low, high = wilson_interval(passed, n)
        lines.append(
            f"{passed}/{n} samples passed (95% Wilson interval {low:.2f}–{high:.2f}); "
            f"needs a pass rate of at least {plan.pass_rate:.2f}"
        )
    for index, passed, score, answer, checks, calls in answers:
        if passed:
            continue
        prefix = f"sample {index + 1}: " if result.samples else ""
        lines.append(prefix + checks_failed(plan, checks, score))
        for check in failed_checks(checks):
            lines.append(f"  ✗ {check.name} — {check.reason}")
            lines += ["      " + line for line in excerpt(answer, check.span)]
        lines.append(answer_summary(answer, result.replayed))
        lines += tool_call_lines(calls)
    lines += [f"  (not run) {c.name} — {c.reason}" for c in _skipped(result.checks)]
    return "\n".join(lines)


def describe_conversation(plan: ItemPlan, result: ItemResult) -> str:
    """Each turn that failed: its number and user message, its failed checks, its answer."""
    failing = [t for t in result.turns if not t.passed]
    lines = [heading(plan), f"{len(failing)} of {sum(1 for t in result.turns if not t.fixed)} answered turns failed"]
    for turn in failing:
        lines.append(f"{turn_title(turn.index, turn.user)}: {checks_failed(plan, turn.checks, turn.score or 0.0)}")
        for check in failed_checks(turn.checks):
            lines.append(f"  ✗ {check.name} — {check.reason}")
            lines += ["      " + line for line in excerpt(turn.answer, check.span)]
        lines.append(answer_summary(turn.answer, turn.replayed))
        lines += tool_call_lines(turn.tool_calls)
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


def tool_call_lines(calls: Sequence[RecordedToolCall], width: int = 200) -> list[str]:
    """The answer's tool calls, one ``name(arguments)`` line each (arguments cut to ``width``)."""
    if not calls:
        return []
    lines = [f"tool calls ({len(calls)}):"]
    for call in calls:
        arguments = " ".join(call.arguments.split())
        lines.append(f"  → {call.name}({arguments if len(arguments) <= width else arguments[: width - 1] + '…'})")
    return lines


def answer_summary(text: str, replayed: bool) -> str:
    source = "replayed from cassette" if replayed else "live"
    shown = text.splitlines()[:EXCERPT_LINES]
    more = len(text.splitlines()) - len(shown)
    body = "\n".join("  | " + line for line in shown) if text.strip() else "  | (empty answer)"
    tail = f"\n  | … {more} more lines" if more > 0 else ""
    return f"answer ({len(text)} chars, {source}):\n{body}{tail}"
