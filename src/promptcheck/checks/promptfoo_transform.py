"""promptfoo output transforms: ``options.transform`` on a test (or ``defaultTest``) and
``transform`` on one assertion. A transform is JavaScript (an expression, or a function body
over ``output`` and ``context``) or a ``file://x.js[:fn]`` / ``file://x.py[:fn]`` function
(Python's default name is ``get_transform``), as in promptfoo.

A transformed check is a wrapper check around the declared one: the wrapper runs the
transforms (the test's first, then the assertion's, as promptfoo orders them) and hands the
result to the declared check. The item's record keeps the model's original answer; only the
checks see the transformed value. A transform may return any JSON value: ``javascript`` and
``python`` assertions receive it as it is (``output.color`` works after ``JSON.parse``),
every other check sees it as text (JSON for non-strings), which is promptfoo's reading too."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from promptcheck.checks import jsengine, scriptcall
from promptcheck.checks.base import CheckContext, CheckSet, Verdict
from promptcheck.checks.promptfoo_output import script_output
from promptcheck.spec import CheckGroup, CheckSpec
from promptcheck.usercode.limits import LimitExceeded

CHECKS = CheckSet()
TRANSFORM_TYPE = "promptfoo-transform"
# Checks that receive the transformed value itself rather than its text.
_VALUE_CHECKS = {"javascript", "python"}


class TransformError(Exception):
    """The transform code failed; the check fails (never passes, even negated) with this."""


def with_transform(check: CheckSpec | CheckGroup, transform: str, base_dir: str) -> CheckSpec | CheckGroup:
    """``check`` judged on the transformed output; a transform already on it runs after this one."""
    if isinstance(check, CheckGroup):
        return replace(check, checks=[with_transform(c, transform, base_dir) for c in check.checks])
    if check.type == TRANSFORM_TYPE:
        return replace(check, options={**check.options, "transforms": [transform, *check.options["transforms"]]})
    return CheckSpec(
        type=TRANSFORM_TYPE, value=check.value, negate=check.negate, weight=check.weight, threshold=check.threshold,
        name=check.label, location=check.location, metric=check.metric,
        options={"transforms": [transform], "inner": check, "base_dir": base_dir},
    )


def transform_output(output: Any, transforms: list[str], ctx: CheckContext, base_dir: str) -> Any:
    context = {"vars": dict(ctx.case_vars), "prompt": "\n".join(content for _, content in ctx.messages)}
    for code in transforms:
        try:
            output = scriptcall.call(code, [output, context], base_dir=base_dir, python_default="get_transform")
        except LimitExceeded:
            raise  # the item becomes an ERROR (see evaluate.run_check)
        except jsengine.JSUnavailable:
            raise TransformError(jsengine.JS_MISSING) from None
        except (scriptcall.ScriptError, jsengine.JSError) as exc:
            raise TransformError(f"transform {_short(code)} failed: {exc}") from None
        except Exception as exc:  # the user's Python raised
            raise TransformError(f"transform {_short(code)} raised {type(exc).__name__}: {exc}") from None
    return output


def as_check_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _validate(spec: CheckSpec) -> None:
    # The declared check inside was validated by the reader before with_transform wrapped it.
    if not isinstance(spec.options.get("inner"), CheckSpec):
        raise ValueError(f"{TRANSFORM_TYPE} is made from a promptfoo assertion's 'transform'; it cannot be declared itself")
    transforms = spec.options.get("transforms")
    if not isinstance(transforms, list) or not all(isinstance(t, str) and t.strip() for t in transforms):
        raise ValueError("'transform' must be JavaScript code or a file:// reference")


def _inner(spec: CheckSpec) -> CheckSpec:
    # The value is rendered per case on the wrapper (plan renders check values), so it is
    # copied back onto the declared check here.
    inner: CheckSpec = spec.options["inner"]
    return replace(inner, value=spec.value)


@CHECKS.register(TRANSFORM_TYPE, validate=_validate)
def transformed(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    inner = _inner(spec)
    assert ctx.registry is not None, "evaluate binds the registry before any check runs"
    check = ctx.registry.get(inner.type)
    if check is None:
        return Verdict(False, 0.0, f"unknown check type {inner.type!r}")
    value = transform_output(script_output(output, ctx), spec.options["transforms"], ctx, spec.options.get("base_dir") or ctx.base_dir)
    # The declared check judges the transformed value, not the provider's.
    verdict = check.run(value if inner.type in _VALUE_CHECKS else as_check_text(value), inner, replace(ctx, answer_value=None))
    # Spans point into the transformed text, not the answer the report shows.
    return replace(verdict, span=None, reason=f"{verdict.reason} (after transform: {_short(as_check_text(value))})")


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
