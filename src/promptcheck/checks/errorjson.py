"""The error-JSON rule.

Many prompts tell the model to answer with a fixed error object (``{"error": "..."}``)
when it cannot do the job. That gives two failure modes worth catching:

* a case that expects the error gets something else (prose, a different object, the
  object wrapped in an explanation);
* a normal case gets the error object anyway: a false refusal.

This module also holds the JSON helpers the other checks share (fence stripping, strict
JSON equality, scanning text for embedded objects), so JSON is read one way everywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from promptcheck.checks.registry import CheckContext, Verdict, quote, register
from promptcheck.spec import CheckSpec

_DECODER = json.JSONDecoder()
# One optional fence around the whole (already trimmed) answer; ```JSON is common too.
_FENCED = re.compile(r"\A```(?:json)?[ \t]*\n?(?P<body>.*?)\s*```\Z", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class ParsedJson:
    value: Any
    span: tuple[int, int]  # where the JSON text sits in the original answer


def parse_json_answer(output: str, allow_fence: bool = True) -> ParsedJson | None:
    """The whole answer as JSON, after trimming whitespace and (if allowed) at most one ```
    or ```json fence; None when it is not JSON. (A wrapper, not a bare value, because
    ``null`` is JSON.)"""
    body = output.strip()
    start = len(output) - len(output.lstrip())
    fenced = _FENCED.match(body) if allow_fence else None
    if fenced:
        start += fenced.start("body")
        body = fenced.group("body")
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return ParsedJson(value, (start, start + len(body)))


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: unlike Python's ``==``, ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def iter_json_objects(text: str) -> Iterator[tuple[dict[str, Any], int, int]]:
    """Every JSON object embedded in free text, with its span, outer objects first.

    Decoding is tried from each ``{`` so nested objects are found too."""
    start = text.find("{")
    while start != -1:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            pass
        else:
            if isinstance(value, dict):
                yield value, start, end
        start = text.find("{", start + 1)


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


def dumps(value: Any) -> str:
    """Compact JSON for reasons; falls back to repr for values JSON cannot show."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # circular structures
        return repr(value)


@register("error-json")
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
