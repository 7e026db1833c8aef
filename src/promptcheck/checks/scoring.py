"""A case's own scoring function (promptfoo's ``assertScoringFunction``): after the checks
ran, the user's function receives the named scores (the weighted mean score per ``metric``)
and promptfoo's context (``threshold``, ``componentResults``) and returns
``{pass, score, reason}``, which replaces the case's weighted-mean verdict.

The function is ``file://x.py:fn`` or ``file://x.js[:fn]``; it runs through the same
machinery as script assertions. If it is missing, fails or returns something else, the
case fails with promptfoo's "Scoring function error: ..." and the reason, as promptfoo does;
if it runs past its time limit the item is an ERROR, as for a check."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from promptcheck.checks import jsengine, scriptcall
from promptcheck.checks.evaluate import GROUP_TYPE, CheckResult, Evaluation
from promptcheck.checks.base import CheckContext, CheckError
from promptcheck.spec import CheckGroup, CheckSpec
from promptcheck.usercode.limits import LimitExceeded

SCORING_TYPE = "assertScoringFunction"


def rescore(
    scoring: str | None, checks: Sequence[CheckSpec | CheckGroup], evaluation: Evaluation, ctx: CheckContext,
    threshold: float | None,
) -> Evaluation:
    """``evaluation`` with its verdict replaced by the scoring function's; unchanged without one."""
    if not scoring or all(r.skipped for r in evaluation.results):
        return evaluation  # nothing ran (e.g. graded checks without a judge): "nothing to check" stays
    pairs = _pairs(checks, evaluation.results)
    context: dict[str, Any] = {
        "threshold": threshold,
        "componentResults": [_component(check, result) for check, result in pairs if not result.skipped],
        "tokensUsed": {},
    }
    try:
        result = scriptcall.call(scoring, [named_scores(pairs), context], base_dir=ctx.base_dir, python_default="")
        passed, score, reason = _grading_result(result)
    except LimitExceeded as exc:  # no verdict: the item becomes an ERROR, like a check that overran
        raise CheckError(f"{SCORING_TYPE}: {exc}") from None
    except jsengine.JSUnavailable:
        passed, score, reason = False, 0.0, f"Scoring function error: {jsengine.JS_MISSING}"
    except Exception as exc:  # the user's code failing fails the case, with its message
        message = scriptcall.failure_message(exc)
        passed, score, reason = False, 0.0, f"Scoring function error: {message}"
    summary = CheckResult(f"{SCORING_TYPE} ({_short(scoring)})", SCORING_TYPE, False, passed, score, reason, weight=0.0)
    return replace(evaluation, passed=passed, score=score, results=[*evaluation.results, summary])


def named_scores(pairs: list[tuple[CheckSpec | CheckGroup, CheckResult]]) -> dict[str, float]:
    """Weighted mean score per metric name, skipped checks left out (promptfoo's namedScores)."""
    totals: dict[str, float] = {}
    weights: dict[str, float] = {}
    for check, result in pairs:
        if check.metric and not result.skipped:
            totals[check.metric] = totals.get(check.metric, 0.0) + result.score * check.weight
            weights[check.metric] = weights.get(check.metric, 0.0) + check.weight
    return {name: (totals[name] / weights[name] if weights[name] > 0 else 0.0) for name in totals}


def _pairs(checks: Sequence[CheckSpec | CheckGroup], results: list[CheckResult]) -> list[tuple[CheckSpec | CheckGroup, CheckResult]]:
    """Each declared check (groups and their members too) with its result. ``evaluate`` lists a
    group as its summary followed by its members' results, in declaration order."""
    pairs: list[tuple[CheckSpec | CheckGroup, CheckResult]] = []
    position = 0

    def walk(items: Sequence[CheckSpec | CheckGroup]) -> None:
        nonlocal position
        for item in items:
            if position >= len(results):
                return
            pairs.append((item, results[position]))
            position += 1
            if isinstance(item, CheckGroup) and results[position - 1].type == GROUP_TYPE:
                walk(item.checks)

    walk(checks)
    return pairs


def _component(check: CheckSpec | CheckGroup, result: CheckResult) -> dict[str, Any]:
    kind = GROUP_TYPE if isinstance(check, CheckGroup) else check.type
    return {
        "pass": result.passed, "score": result.score, "reason": result.reason,
        "assertion": {"type": kind, "metric": check.metric, "weight": check.weight},
    }


def _grading_result(value: Any) -> tuple[bool, float, str]:
    if not isinstance(value, dict) or not isinstance(value.get("pass"), bool):
        raise scriptcall.ScriptError("it must return {pass, score, reason}")
    score = value.get("score")
    score = float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else (1.0 if value["pass"] else 0.0)
    return value["pass"], score, str(value.get("reason") or f"scoring function returned pass={str(value['pass']).lower()}")


def _short(text: str) -> str:
    return text.strip().removeprefix("file://").rsplit("/", 1)[-1]
