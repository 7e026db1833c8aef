"""Grading an item's answers: every check on every answer, then the item's verdict.

A repeated item passes when at least ``pass_rate`` of its answers pass; an item whose checks were
all skipped (model-graded checks with no judge, say) has nothing to decide and is skipped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from promptcheck.checks.evaluate import CheckResult, Evaluation, evaluate
from promptcheck.checks.base import EmbedFn, JudgeFn, WebhookFn
from promptcheck.checks.scoring import rescore
from promptcheck.engine.plan import ItemPlan
from promptcheck.providers.base import ProviderResponse

_RATE_SLACK = 1e-12  # 2/3 of the answers must meet a 2/3 pass rate despite float rounding


@dataclass(frozen=True)
class GradedTurn:
    """One turn of a conversation, graded (engine/conversation.py runs them)."""

    index: int  # 0-based
    user: str  # the user's message of this turn (for a promptfoo thread: the rendered prompt's last message)
    answer: str
    response: ProviderResponse | None  # None: the turn's fixed reply, not the model's
    evaluation: Evaluation | None  # None for a fixed reply

    @property
    def passed(self) -> bool:
        return self.evaluation is None or self.evaluation.passed


@dataclass(frozen=True)
class GradedAnswer:
    index: int  # the repeat index of the answer
    response: ProviderResponse
    evaluation: Evaluation
    # A conversation's turns; ``response`` and ``evaluation`` then sum them up (engine/conversation.py).
    turns: tuple[GradedTurn, ...] = ()


@dataclass(frozen=True)
class Grades:
    """Every graded answer of one item, in repeat order, and what they add up to."""

    answers: tuple[GradedAnswer, ...]
    required_rate: float

    @property
    def n(self) -> int:
        return len(self.answers)

    @property
    def passed_count(self) -> int:
        return sum(1 for a in self.answers if a.evaluation.passed)

    @property
    def passed(self) -> bool:
        return self.n > 0 and self.passed_count / self.n >= self.required_rate - _RATE_SLACK

    @property
    def skipped_checks(self) -> list[CheckResult]:
        """Checks that could not run (they are skipped alike on every answer)."""
        return [r for r in self.answers[0].evaluation.results if r.skipped] if self.answers else []

    @property
    def has_real_checks(self) -> bool:
        return any(not r.skipped for a in self.answers for r in a.evaluation.results)


def grade_answers(
    plan: ItemPlan,
    responses: Sequence[ProviderResponse],
    *,
    judge: JudgeFn | None = None,
    embed: EmbedFn | None = None,
    webhook: WebhookFn | None = None,
    previous: Grades | None = None,
) -> Grades:
    """Grade each answer; ``previous`` answers (graded already) come first, so ``--repeat auto``
    can add answers without grading the earlier ones again."""
    answers = list(previous.answers) if previous else []
    for response in responses:
        context = replace(plan.context, latency_s=response.latency_s, cost=response.cost,
                          finish_reason=response.finish_reason, replayed=response.replayed, judge=judge, embed=embed,
                          webhook=webhook, tool_calls=response.tool_calls)
        evaluation = evaluate(plan.checks, response.text, context, plan.case.threshold)
        # A case may replace the weighted-mean verdict with its own scoring function.
        evaluation = rescore(plan.case.scoring, plan.checks, evaluation, context, plan.case.threshold)
        answers.append(GradedAnswer(len(answers), response, evaluation))
    return Grades(tuple(answers), plan.pass_rate)
