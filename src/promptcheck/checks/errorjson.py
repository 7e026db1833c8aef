"""The error-JSON rule.

Many prompts tell the model to answer with a fixed error object (``{"error": "..."}``)
when it cannot do the job. That gives two failure modes worth catching:

* a case that expects the error gets something else (prose, a different object, the
  object wrapped in an explanation);
* a normal case gets the error object anyway: a false refusal.

The JSON reading itself (fences, JSON equality, objects inside prose) is ``jsontext``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptcheck.checks.base import CheckContext, CheckSet, Verdict, quote
from promptcheck.checks.jsontext import dumps, iter_json_objects, json_equal, parse_json_answer
from promptcheck.spec import CheckSpec

CHECKS = CheckSet()


def detect_error_json(system_text: str) -> dict[str, Any] | None:
    """The first JSON object with an ``"error"`` key inside a system prompt, or None."""
    # Prompts pasted from code or JSON strings often carry the object as {\"error\": ...}.
    candidates = [system_text]
    if '\\"' in system_text:
        candidates.append(system_text.replace('\\"', '"'))
    for text in candidates:
        for obj, _, _ in iter_json_objects(text):
            if "error" in obj:
                return obj
    return None


@CHECKS.register("error-json")
def error_json(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    # An explicit object on the check wins over the one detected in the prompt.
    declared = spec.value if isinstance(spec.value, Mapping) else ctx.error_json
    if ctx.expects_error:
        return _expect_error(output, declared)
    if declared is None:
        return Verdict(True, 1.0, "the prompt declares no error object; nothing to check", skipped=True)
    return _reject_false_refusal(output, declared)


def _expect_error(output: str, declared: Mapping[str, Any] | None) -> Verdict:
    parsed = parse_json_answer(output)
    if declared is None:
        if parsed is not None and isinstance(parsed.value, dict) and "error" in parsed.value:
            return Verdict(
                True,
                1.0,
                'answer is a JSON object with an "error" key '
                "(the prompt declares no error object, so any such object is accepted)",
                parsed.span,
            )
        return Verdict(False, 0.0, f'expected a JSON object with an "error" key, got {quote(output)}')
    if parsed is None:
        return Verdict(False, 0.0, f"expected only the error object {dumps(declared)}, got {quote(output)}")
    if not json_equal(parsed.value, declared):
        return Verdict(
            False, 0.0, f"expected the error object {dumps(declared)}, got {dumps(parsed.value)}"
        )
    return Verdict(True, 1.0, f"answer is exactly the error object {dumps(declared)}", parsed.span)


def _reject_false_refusal(output: str, declared: Mapping[str, Any]) -> Verdict:
    for obj, start, end in iter_json_objects(output):
        if json_equal(obj, declared):
            return Verdict(
                False,
                0.0,
                f"answer contains the error object {dumps(declared)} "
                "but this case expects a real answer (false refusal)",
                (start, end),
            )
    return Verdict(True, 1.0, f"answer does not contain the error object {dumps(declared)}")
