"""From a plan and its graded answers (or the reason it has none) to the run record's ItemResult."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from promptcheck.checks import evaluate
from promptcheck.engine.grading import GradedAnswer, Grades, GradedTurn
from promptcheck.engine.plan import ItemPlan
from promptcheck.providers.base import ProviderResponse
from promptcheck.providers.parts import Parts, canonical_parts, shown_messages
from promptcheck.runs.record import CheckResult, ItemResult, RecordedToolCall, Sample, Status, TurnResult


def messages_hash(messages: tuple[tuple[str, str], ...], parts: Parts = ()) -> str:
    # Images count (by content hash), so a changed image shows as a changed prompt in a diff;
    # text-only prompts hash as before.
    shown: list[Any] = [list(m) for m in messages] + ([canonical_parts(parts)] if parts else [])
    blob = json.dumps(shown, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def check_results(results: Sequence[evaluate.CheckResult]) -> tuple[CheckResult, ...]:
    return tuple(
        CheckResult(
            r.name, r.type, bool(r.passed), float(r.score), r.reason,
            (int(r.span[0]), int(r.span[1])) if r.span else None, bool(r.skipped), float(r.weight), bool(r.negate),
        )
        for r in results
    )


def _total(values: Iterable[float | int | None]) -> float | None:
    present = [v for v in values if v is not None]
    if len(present) == 1:  # the usual one answer: its own number, not a new float per item held to the end
        return present[0]
    return sum(present) if present else None


def item_result(
    plan: ItemPlan,
    status: Status,
    grades: Grades | None = None,
    *,
    error: str | None = None,
    skip_reason: str | None = None,
    judge_cost: float | None = None,
) -> ItemResult:
    answers: tuple[GradedAnswer, ...] = grades.answers if grades else ()
    first = answers[0] if answers else None
    responses = [a.response for a in answers]
    repeated = grades is not None and grades.n > 1
    return ItemResult(
        key=plan.key,
        status=status,
        prompt_path=plan.spec.path,
        prompt_name=plan.spec.name,
        case_id=plan.case_id,
        model=plan.target.label,
        messages_hash=messages_hash(plan.messages, plan.parts),
        messages=shown_messages(plan.messages, plan.parts),
        answer=first.response.text if first else None,
        tool_calls=recorded_calls(first.response) if first else (),
        score=first.evaluation.score if first else None,
        checks=check_results(first.evaluation.results) if first else (),
        latency_s=_total(r.latency_s for r in responses) if responses else None,
        input_tokens=_total(r.usage.input_tokens for r in responses),  # type: ignore[arg-type]
        output_tokens=_total(r.usage.output_tokens for r in responses),  # type: ignore[arg-type]
        cost=_total([*(r.cost for r in responses), judge_cost]),
        judge_cost=judge_cost,
        price_source=price_sources(responses),
        replayed=bool(responses) and all(r.replayed for r in responses),
        error=error,
        skip_reason=skip_reason,
        expected_failure=plan.xfail_reason,
        tags=tuple(plan.markers),
        passed_samples=grades.passed_count if repeated else None,  # type: ignore[union-attr]
        pass_rate_required=grades.required_rate if repeated else None,  # type: ignore[union-attr]
        samples=tuple(_sample(a) for a in answers) if repeated else (),
        turns=tuple(_turn(t) for t in first.turns) if first else (),
    )


def _turn(turn: GradedTurn) -> TurnResult:
    evaluation = turn.evaluation
    return TurnResult(
        index=turn.index, user=turn.user, answer=turn.answer, passed=turn.passed,
        score=evaluation.score if evaluation else None,
        checks=check_results(evaluation.results) if evaluation else (),
        replayed=bool(turn.response and turn.response.replayed), fixed=turn.response is None,
        tool_calls=recorded_calls(turn.response) if turn.response else (),
    )


def _sample(answer: GradedAnswer) -> Sample:
    return Sample(
        repeat=answer.index,
        answer=answer.response.text,
        passed=answer.evaluation.passed,
        score=answer.evaluation.score,
        checks=check_results(answer.evaluation.results),
        latency_s=answer.response.latency_s,
        cost=answer.response.cost,
        tool_calls=recorded_calls(answer.response),
    )


def recorded_calls(response: ProviderResponse) -> tuple[RecordedToolCall, ...]:
    return tuple(RecordedToolCall(c.name, c.arguments, c.id) for c in response.tool_calls)


def with_changes(result: ItemResult, **changes: object) -> ItemResult:
    return msgspec.structs.replace(result, **changes)


def price_sources(responses: Iterable[ProviderResponse]) -> str | None:
    """Where the answers' prices came from (providers put it in their meta), or None."""
    sources = sorted({str(r.raw_meta["price_source"]) for r in responses if r.raw_meta.get("price_source")})
    return ", ".join(sources) or None
