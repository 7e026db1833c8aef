"""Judging an item's answers and explaining the verdict in plain words."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from promptcheck.checks.evaluate import CheckResult, Evaluation, evaluate
from promptcheck.checks.base import EmbedFn, JudgeFn
from promptcheck.checks.scoring import rescore
from promptcheck.engine.plan import ItemPlan
from promptcheck.providers.base import ProviderResponse
from promptcheck.runs.stats import wilson_interval

EXCERPT_LINES = 12


@dataclass
class Sample:
    index: int
    response: ProviderResponse
    evaluation: Evaluation


@dataclass
class Verdict:
    samples: list[Sample]
    passed_count: int
    required_rate: float
    skipped_checks: list[CheckResult]
    judge_cost: float | None = None  # what model-graded checks spent on judge and embedding calls

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def passed(self) -> bool:
        return self.n > 0 and self.passed_count / self.n >= self.required_rate - 1e-12

    @property
    def has_real_checks(self) -> bool:
        return any(not r.skipped for s in self.samples for r in s.evaluation.results)


class ItemFailure(Exception):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__(f"{verdict.passed_count}/{verdict.n} samples passed")
        self.verdict = verdict


class ProviderFailure(Exception):
    """The model call failed for good; shown with the provider's own message."""


class GradingFailure(Exception):
    """A model-graded check reached no verdict (judge error, unreadable reply); an ERROR."""


def judge(
    plan: ItemPlan,
    responses: Sequence[ProviderResponse],
    *,
    judge_fn: JudgeFn | None = None,
    embed_fn: EmbedFn | None = None,
    previous: Sequence[Sample] = (),
) -> Verdict:
    """Evaluate each answer; ``previous`` samples (already judged) come first, so ``--repeat auto``
    can add samples without judging the earlier ones again."""
    samples = list(previous)
    for response in responses:
        context = replace(plan.context, latency_s=response.latency_s, cost=response.cost, judge=judge_fn, embed=embed_fn)
        evaluation = evaluate(plan.checks, response.text, context, plan.case.threshold)
        # A case may replace the weighted-mean verdict with its own function (promptfoo).
        evaluation = rescore(plan.case.scoring, plan.checks, evaluation, context, plan.case.threshold)
        samples.append(Sample(len(samples), response, evaluation))
    skipped = [r for r in samples[0].evaluation.results if r.skipped] if samples else []
    return Verdict(samples, sum(s.evaluation.passed for s in samples), plan.pass_rate, skipped)


def format_failure(plan: ItemPlan, failure: Exception) -> str:
    head = f"{plan.spec.path} · case {plan.case_id} · model {plan.target.label}"
    if isinstance(failure, ProviderFailure):
        return f"{head}\nprovider error: {failure}"
    if isinstance(failure, GradingFailure):
        return f"{head}\n{failure}"
    assert isinstance(failure, ItemFailure)
    verdict = failure.verdict
    lines = [head]
    if verdict.n > 1:
        low, high = wilson_interval(verdict.passed_count, verdict.n)
        lines.append(
            f"{verdict.passed_count}/{verdict.n} samples passed (95% Wilson interval {low:.2f}–{high:.2f}); "
            f"needs a pass rate of at least {verdict.required_rate:.2f}"
        )
    for sample in verdict.samples:
        if sample.evaluation.passed:
            continue
        failed = [r for r in sample.evaluation.results if not r.passed and not r.skipped]
        counted = [r for r in sample.evaluation.results if not r.skipped]
        prefix = f"sample {sample.index + 1}: " if verdict.n > 1 else ""
        score_note = ""
        if plan.case.threshold is not None:
            score_note = f" (score {sample.evaluation.score:.2f} < threshold {plan.case.threshold:.2f})"
        lines.append(f"{prefix}{len(failed)} of {len(counted)} checks failed{score_note}:")
        for result in failed:
            lines.append(f"  ✗ {result.name} — {result.reason}")
            lines += ["      " + line for line in excerpt(sample.response.text, result.span)]
        lines.append(answer_summary(sample.response))
    for result in verdict.skipped_checks:
        lines.append(f"  (not run) {result.name} — {result.reason}")
    return "\n".join(lines)


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


def answer_summary(response: ProviderResponse) -> str:
    source = "replayed from cassette" if response.replayed else "live"
    text = response.text
    shown = text.splitlines()[:EXCERPT_LINES]
    more = len(text.splitlines()) - len(shown)
    body = "\n".join("  | " + line for line in shown) if text.strip() else "  | (empty answer)"
    tail = f"\n  | … {more} more lines" if more > 0 else ""
    return f"answer ({len(text)} chars, {source}):\n{body}{tail}"


def check_records(results: Sequence[CheckResult]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "type": r.type,
            "passed": bool(r.passed),
            "score": float(r.score),
            "reason": r.reason,
            "span": list(r.span) if r.span else None,
            "skipped": bool(r.skipped),
        }
        for r in results
    ]
