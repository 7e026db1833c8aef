"""The generic runner: negation, thresholds, weights and assert-sets live here, once, so
no check implements them itself.

Which check types exist comes from ``ctx.registry`` (None: the built-in registry), so check
types added by plugins get exactly the same treatment as built-in ones.

Rules, in the order they apply to one check:

1. The check runs and returns a positive ``Verdict``; an exception becomes a failed
   result ("check crashed: ...") instead of propagating, except ``CheckError`` (a judge that
   failed or answered nonsense) and ``LimitExceeded`` (the check's code ran too long or built
   too much), which make the item an ERROR.
2. ``spec.threshold``, when set, replaces the check's own pass/fail: pass iff
   ``score >= threshold``. It applies to the positive score, before negation.
3. ``spec.negate`` flips pass/fail and turns the score into ``1 - score``. A crashed or
   unknown check fails whatever its negation: breaking must never count as success.
4. A skipped verdict stays skipped (and "passed"); negation and threshold leave it alone.

Scoring a list (a case, or an assert-set) is promptfoo's: the score is the weighted mean
of the non-skipped scores, where weight 0 means "report only": such a check is shown but
affects neither the score nor pass/fail (an assert-set of weight 0 still decides). With a
threshold the list passes iff ``score >= threshold``; without one every non-skipped check
that decides must pass. When nothing carries weight the score is 0.0, as in promptfoo; a
list where everything was skipped passes with score 1.0.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from promptcheck.checks.base import CheckContext, CheckError, Verdict
from promptcheck.checks.promptfoo_output import output_text, provider_output
from promptcheck.checks.registry import CheckRegistry
from promptcheck.ranges import SCORE_THRESHOLD, SCRIPT_SCORE_THRESHOLD, WEIGHT
from promptcheck.spec import CheckGroup, CheckSpec
from promptcheck.usercode.limits import LimitExceeded

# Scores are means of floats; without slack 0.1 + 0.2 would miss a 0.3 threshold.
_EPSILON = 1e-9
GROUP_TYPE = "assert-set"


@dataclass
class CheckResult:
    name: str  # the check's label; group members are prefixed "<group> > "
    type: str
    negate: bool
    passed: bool
    score: float
    reason: str
    span: tuple[int, int] | None = None
    weight: float = 1.0
    skipped: bool = False

    @property
    def label(self) -> str:
        return self.name


@dataclass
class Evaluation:
    passed: bool
    score: float
    results: list[CheckResult] = field(default_factory=list)


def run_check(spec: CheckSpec, output: str, ctx: CheckContext | None = None) -> CheckResult:
    ctx = _bound(ctx)
    assert ctx.registry is not None  # _bound sets it
    check = ctx.registry.get(spec.type)
    if check is None:
        return _broken(spec, f"unknown check type {spec.type!r}")
    try:
        verdict = check.run(output, spec, ctx)
    except CheckError:
        raise  # no verdict at all: the item becomes an ERROR
    except LimitExceeded as exc:  # the check's own code overran: no verdict on the answer either
        raise CheckError(f"{spec.type} check: {exc}") from None
    except Exception as exc:  # a broken check fails its own case, never the whole run
        return _broken(spec, f"check crashed: {type(exc).__name__}: {exc}")
    return _apply_rules(spec, verdict)


def _broken(spec: CheckSpec, reason: str) -> CheckResult:
    return CheckResult(spec.label, spec.type, spec.negate, False, 0.0, reason, None, spec.weight)


def _apply_rules(spec: CheckSpec, verdict: Verdict) -> CheckResult:
    result = CheckResult(
        spec.label,
        spec.type,
        spec.negate,
        verdict.passed,
        min(1.0, max(0.0, float(verdict.score))),  # a check's score must stay a fraction
        verdict.reason,
        verdict.span,
        spec.weight,
        verdict.skipped,
    )
    if verdict.skipped:
        result.passed = True
        return result
    if spec.threshold is not None:
        result.passed = result.score >= spec.threshold - _EPSILON
        sign = ">=" if result.passed else "<"
        result.reason += f" (score {result.score:.2f} {sign} threshold {spec.threshold:g})"
    if spec.negate:
        if result.passed:
            result.reason += f" (forbidden by not-{spec.type})"
        result.passed = not result.passed
        result.score = 1.0 - result.score
    return result


def evaluate(
    checks: Sequence[CheckSpec | CheckGroup],
    output: str,
    ctx: CheckContext | None = None,
    threshold: float | None = None,
) -> Evaluation:
    """Run every check (groups recursively) and combine them; see the module docstring.

    A group contributes one entry to the score and adds a summary result (type
    ``assert-set``, named after the group) followed by its members' results, whose names
    are prefixed with the group name."""
    ctx = _bound(ctx)  # once per list, not once per check
    if ctx.answer_value is None:  # a promptfoo answer with tool calls: judged as its provider returns it
        value = provider_output(output, ctx)
        if value is not output:
            ctx, output = replace(ctx, answer_value=value), output_text(value)
    results: list[CheckResult] = []
    scored: list[CheckResult] = []
    for position, item in enumerate(checks, start=1):
        if isinstance(item, CheckGroup):
            summary, members = _evaluate_group(item, position, output, ctx)
            results.append(summary)
            results.extend(members)
            scored.append(summary)
        else:
            result = run_check(item, output, ctx)
            results.append(result)
            scored.append(result)
    score, passed = _combine([r for r in scored if not r.skipped], threshold)
    return Evaluation(passed, score, results)


def _evaluate_group(
    group: CheckGroup, position: int, output: str, ctx: CheckContext
) -> tuple[CheckResult, list[CheckResult]]:
    name = group.name or f"{GROUP_TYPE} #{position}"
    inner = evaluate(group.checks, output, ctx, group.threshold)
    counted = [r for r in inner.results if not r.skipped and r.type != GROUP_TYPE]
    skipped = bool(inner.results) and not counted
    passed_count = sum(r.passed for r in counted)
    reason = f"{passed_count}/{len(counted)} checks passed, score {inner.score:.2f}"
    if group.threshold is not None:
        reason += f" ({'>=' if inner.passed else '<'} threshold {group.threshold:g})"
    summary = CheckResult(name, GROUP_TYPE, False, inner.passed, inner.score, reason, None, group.weight, skipped)
    members = [replace(r, name=f"{name} > {r.name}") for r in inner.results]
    return summary, members


def _combine(results: list[CheckResult], threshold: float | None) -> tuple[float, bool]:
    # A check of weight 0 is shown but decides nothing; an assert-set of weight 0 still does.
    all_passed = all(r.passed for r in results if r.weight > 0 or r.type == GROUP_TYPE)
    weight = sum(r.weight for r in results if r.weight > 0)
    if weight > 0:
        score = sum(r.score * r.weight for r in results if r.weight > 0) / weight
    else:
        score = 0.0 if results else 1.0
    if threshold is None:
        return score, all_passed
    return score, score >= threshold - _EPSILON


def _bound(ctx: CheckContext | None) -> CheckContext:
    """``ctx`` with its registry set, so checks that look up other checks find it."""
    if ctx is None:
        return CheckContext(registry=CheckRegistry.builtin())
    return ctx if ctx.registry is not None else replace(ctx, registry=CheckRegistry.builtin())


def validate_check(spec: CheckSpec | CheckGroup, registry: CheckRegistry | None = None) -> None:
    """Raise ValueError with a user-facing message if the declaration cannot run with the check
    types of ``registry`` (default: the built-in ones).

    Called at collection time, so a typo fails before any model is called."""
    registry = registry if registry is not None else CheckRegistry.builtin()
    if isinstance(spec, CheckGroup):
        _validate_numbers(spec.weight, spec.threshold, any(_own_scale(m) for m in spec.checks))
        for member in spec.checks:
            validate_check(member, registry)
        return
    check = registry.get(spec.type)
    if check is None:
        known = registry.names()
        message = f"unknown check type {spec.type!r}; known types: {', '.join(known)}"
        close = difflib.get_close_matches(spec.type, known, n=1)
        raise ValueError(message + (f"; did you mean {close[0]!r}?" if close else ""))
    _validate_numbers(spec.weight, spec.threshold, _own_scale(spec))
    if check.validate is None:
        return
    try:
        check.validate(spec)
    except ValueError:
        raise
    except Exception as exc:  # a plugin's validator with a bug: a collection error, not a traceback
        raise ValueError(f"the validator of check type {spec.type!r} crashed: {type(exc).__name__}: {exc}") from None


# Script checks report scores on their own scale (promptfoo's GradingResult); every other
# check scores from 0 to 1, so a threshold past 1 could never pass.
_OWN_SCALE_TYPES = frozenset({"python", "javascript", "promptfoo-transform"})


def _own_scale(spec: CheckSpec | CheckGroup) -> bool:
    if isinstance(spec, CheckGroup):
        return any(_own_scale(m) for m in spec.checks)
    return spec.type in _OWN_SCALE_TYPES


def _validate_numbers(weight: float, threshold: float | None, own_scale: bool) -> None:
    problem = WEIGHT.problem(weight)
    if problem:
        raise ValueError(f"weight {problem}")
    rule = SCRIPT_SCORE_THRESHOLD if own_scale else SCORE_THRESHOLD
    problem = None if threshold is None else rule.problem(threshold)
    if problem:
        raise ValueError(f"threshold {problem}")
