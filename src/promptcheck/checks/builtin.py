"""String and JSON checks.

Each check reports the positive outcome only; ``evaluate.run_check`` applies ``not-``,
thresholds and weights. A check that passes on a match reports the match span, because
under negation that span is the offending text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any, Literal

from jsonpath_ng.ext import parse as parse_jsonpath

from promptcheck.checks.base import CheckContext, CheckError, CheckFn, CheckSet, Verdict, quote
from promptcheck.checks.errorjson import error_json
from promptcheck.checks.jsontext import dumps, json_equal, parse_json_answer
from promptcheck.checks.schemas import DIALECT, json_type, schema_error, schema_problem
from promptcheck.spec import CheckSpec

CHECKS = CheckSet()

Where = Literal["equals", "contains", "starts", "ends"]

# Regex anchors that turn "find the needle" into each positional test, so case-sensitive
# and case-insensitive variants share one code path and report real spans.
_ANCHORS: dict[Where, tuple[str, str]] = {
    "equals": (r"\A", r"\Z"),
    "contains": ("", ""),
    "starts": (r"\A", ""),
    "ends": ("", r"\Z"),
}


def as_text(value: Any) -> str:
    """A scalar check value as text (YAML turns ``contains: 42`` into an int)."""
    return value if isinstance(value, str) else str(value)


def as_list(value: Any) -> list[str]:
    """A list value, or a comma-separated string (promptfoo accepts both)."""
    if isinstance(value, (list, tuple)):
        return [as_text(v) for v in value]
    return [part.strip() for part in as_text(value).split(",") if part.strip()]


def locate(output: str, needle: str, where: Where, ignore_case: bool) -> tuple[int, int] | None:
    if ignore_case and output.isascii() and needle.isascii():
        # ASCII folds one character to one, and no ASCII letter has a non-ASCII case partner in
        # an ASCII text: the lowered copies give re.IGNORECASE's spans without compiling a regex.
        output, needle, ignore_case = output.lower(), needle.lower(), False
    if not ignore_case:
        # String methods, same spans: a regex per needle misses re's cache when every case has
        # its own needle, and compiling it was most of a 20,000-item replay's check time.
        if where == "contains":
            start = output.find(needle)
            return (start, start + len(needle)) if start >= 0 else None
        if where == "starts":
            return (0, len(needle)) if output.startswith(needle) else None
        if where == "ends":
            return (len(output) - len(needle), len(output)) if output.endswith(needle) else None
        return (0, len(output)) if output == needle else None
    before, after = _ANCHORS[where]
    found = re.search(before + re.escape(needle) + after, output, re.IGNORECASE if ignore_case else 0)
    return found.span() if found else None


def _text_reason(output: str, needle: str, where: Where, hit: bool) -> str:
    shown = quote(needle)
    if where == "contains":
        return f"found {shown}" if hit else f"{shown} not found in the answer"
    if where == "equals":
        return f"answer equals {shown}" if hit else f"answer is {quote(output)}, not {shown}"
    verb = "start" if where == "starts" else "end"
    if hit:
        return f"answer {verb}s with {shown}"
    edge = output[: len(needle) + 10] if where == "starts" else output[-(len(needle) + 10) :]
    return f"answer does not {verb} with {shown}; it {verb}s with {quote(edge)}"


def text_verdict(output: str, needle: str, where: Where, ignore_case: bool, offset: int = 0) -> Verdict:
    """The one string comparison behind every text check; ``offset`` shifts the span back
    into the untrimmed answer for checks that compare a trimmed copy."""
    span = locate(output, needle, where, ignore_case)
    reason = _text_reason(output, needle, where, span is not None)
    if ignore_case:
        reason += " (ignoring case)"
    if span is None:
        return Verdict(False, 0.0, reason)
    return Verdict(True, 1.0, reason, (span[0] + offset, span[1] + offset))


def _text_check(where: Where, ignore_case: bool, trim: bool = False) -> CheckFn:
    def check(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
        if not trim:
            return text_verdict(output, as_text(spec.value), where, ignore_case)
        lead = len(output) - len(output.lstrip())
        return text_verdict(output.strip(), as_text(spec.value), where, ignore_case, lead)

    return check


def _need_text(spec: CheckSpec) -> None:
    if spec.value is None or isinstance(spec.value, (dict, list)) or as_text(spec.value) == "":
        raise ValueError(f"{spec.type} needs a text value, e.g. `{spec.type}: some text`")


_TEXT_CHECKS: tuple[tuple[str, Where, bool], ...] = (
    ("contains", "contains", False),
    ("icontains", "contains", True),
    ("starts-with", "starts", False),
    ("istarts-with", "starts", True),
    ("ends-with", "ends", False),
    ("iends-with", "ends", True),
)
# `gh models eval` string evaluators: the answer is trimmed first, equals is exact and the
# others ignore case (matching the gh-models implementation).
_GH_CHECKS: tuple[tuple[str, Where, bool], ...] = (
    ("gh-equals", "equals", False),
    ("gh-contains", "contains", True),
    ("gh-starts-with", "starts", True),
    ("gh-ends-with", "ends", True),
)
for _name, _where, _icase in _TEXT_CHECKS:
    CHECKS.register(_name, validate=_need_text)(_text_check(_where, _icase))
for _name, _where, _icase in _GH_CHECKS:
    CHECKS.register(_name, validate=_need_text)(_text_check(_where, _icase, trim=True))


def _need_value(spec: CheckSpec) -> None:
    if spec.value is None:
        raise ValueError(f"{spec.type} needs a value")


@CHECKS.register("equals", validate=_need_value)
def equals(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    if not isinstance(spec.value, (dict, list)):
        return text_verdict(output, as_text(spec.value), "equals", False)
    # promptfoo: an object or list value compares the answer as JSON.
    parsed = parse_json_answer(output)
    if parsed is None:
        return Verdict(False, 0.0, f"answer is not JSON, expected {dumps(spec.value)}")
    if json_equal(parsed.value, spec.value):
        return Verdict(True, 1.0, f"answer equals {dumps(spec.value)}", parsed.span)
    return Verdict(False, 0.0, f"answer is {dumps(parsed.value)}, not {dumps(spec.value)}")


def _set_check(need_all: bool, ignore_case: bool) -> CheckFn:
    def check(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
        needles = as_list(spec.value)
        spans = {n: locate(output, n, "contains", ignore_case) for n in needles}
        found = [n for n in needles if spans[n]]
        missing = [n for n in needles if not spans[n]]
        first = min((span for n in found if (span := spans[n]) is not None), default=None)
        case = " (ignoring case)" if ignore_case else ""
        if need_all and missing:
            return Verdict(False, 0.0, f"missing {_listed(missing)}{case}")
        if not found:
            return Verdict(False, 0.0, f"none of {_listed(needles)} found in the answer{case}")
        verb = "found all of" if need_all else "found"
        return Verdict(True, 1.0, f"{verb} {_listed(found)}{case}", first)

    return check


def _listed(items: list[str]) -> str:
    return ", ".join(quote(i) for i in items)


def _need_list(spec: CheckSpec) -> None:
    if spec.value is None or isinstance(spec.value, dict) or not as_list(spec.value):
        raise ValueError(f"{spec.type} needs a list of strings or a comma-separated string")


for _name, _all, _icase in (
    ("contains-any", False, False),
    ("contains-all", True, False),
    ("icontains-any", False, True),
    ("icontains-all", True, True),
):
    CHECKS.register(_name, validate=_need_list)(_set_check(_all, _icase))


def show_regex(pattern: str) -> str:
    """A pattern the way users write it in prose: /.../ with bare slashes escaped."""
    return "/" + re.sub(r"(?<!\\)/", r"\/", pattern) + "/"


def _validate_regex(spec: CheckSpec) -> None:
    if not isinstance(spec.value, str) or not spec.value:
        raise ValueError("regex needs a pattern, e.g. `regex: (?i)pub/sub`")
    try:
        re.compile(spec.value)
    except re.error as exc:
        raise ValueError(f"invalid regex '{spec.value}': {exc}") from None


@CHECKS.register("regex", validate=_validate_regex)
def regex(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    pattern = as_text(spec.value)
    found = re.search(pattern, output)
    if found is None:
        return Verdict(False, 0.0, f"no match for {show_regex(pattern)}")
    return Verdict(True, 1.0, f"{show_regex(pattern)} matched {quote(found.group())}", found.span())


def validate_schema(spec: CheckSpec) -> None:
    """The validator of checks whose optional value is a JSON Schema (is-json, promptfoo's
    contains-json): a schema that is not one is a collection error, never a check that passes."""
    if spec.value is None:
        return
    if not isinstance(spec.value, Mapping):
        raise ValueError(f"{spec.type} schema must be a JSON Schema object, got {json_type(spec.value)}")
    if (problem := schema_error(spec.value)) is not None:
        raise ValueError(f"{spec.type} schema is not valid {DIALECT}: {problem}")


@CHECKS.register("is-json", validate=validate_schema)
def is_json(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    # Strict like promptfoo: only surrounding whitespace is tolerated, not a code fence.
    parsed = parse_json_answer(output, allow_fence=False)
    if parsed is None:
        return Verdict(False, 0.0, f"answer is not JSON: {quote(output)}")
    if spec.value is not None and (problem := schema_problem(parsed.value, spec.value)):
        return Verdict(False, 0.0, f"answer JSON does not match the schema: {problem}")
    described = "JSON matching the schema" if spec.value is not None else "valid JSON"
    return Verdict(True, 1.0, f"answer is {described}", parsed.span)


def _validate_response_schema_check(spec: CheckSpec) -> None:
    if spec.value is not None:
        raise ValueError(
            "matches-response-schema takes no value: it validates against the prompt's own response schema "
            "(responseFormat: json_schema with jsonSchema)"
        )


@CHECKS.register("matches-response-schema", validate=_validate_response_schema_check)
def matches_response_schema(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    # The schema is the one sent to the model (plan.py fills it in, and rejects the check at
    # collection where the item has none), so it is written once, in the prompt.
    if ctx.response_schema is None:
        raise CheckError("matches-response-schema: this prompt declares no response schema (responseFormat: json_schema with jsonSchema)")
    parsed = parse_json_answer(output, allow_fence=False)
    if parsed is None:
        return Verdict(False, 0.0, f"answer is not JSON: {quote(output)}")
    if problem := schema_problem(parsed.value, ctx.response_schema):
        return Verdict(False, 0.0, f"answer does not match the response schema: {problem}")
    return Verdict(True, 1.0, "answer matches the response schema", parsed.span)


def _jsonpath_parts(spec: CheckSpec) -> tuple[Any, Any]:
    """(path, expected value or None). The path is ``options.path`` (then ``value`` is the
    expected value) or, in the short form, ``value`` itself with ``options.value`` expected."""
    if "path" in spec.options:
        return spec.options["path"], spec.options.get("value", spec.value)
    return spec.value, spec.options.get("value")


@lru_cache(maxsize=256)
def _compiled_path(path: str) -> Any:
    return parse_jsonpath(path)


def _validate_jsonpath(spec: CheckSpec) -> None:
    path, _ = _jsonpath_parts(spec)
    if not isinstance(path, str) or not path.strip():
        raise ValueError("jsonpath needs a path, e.g. `path: $.error`")
    try:
        _compiled_path(path)
    except Exception as exc:  # jsonpath-ng raises several unrelated exception types
        raise ValueError(f"invalid JSONPath '{path}': {exc}") from None


@CHECKS.register("jsonpath", validate=_validate_jsonpath)
def jsonpath(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    path, expected = _jsonpath_parts(spec)
    parsed = parse_json_answer(output)
    if parsed is None:
        return Verdict(False, 0.0, "answer is not JSON")
    values = [match.value for match in _compiled_path(path).find(parsed.value)]
    if expected is None:
        if values:
            return Verdict(True, 1.0, f"{path} matched {dumps(values[0])}")
        return Verdict(False, 0.0, f"{path} matched nothing")
    if any(json_equal(value, expected) for value in values):
        return Verdict(True, 1.0, f"{path} is {dumps(expected)}")
    if not values:
        return Verdict(False, 0.0, f"{path} matched nothing (expected {dumps(expected)})")
    shown = dumps(values[0]) if len(values) == 1 else dumps(values)
    return Verdict(False, 0.0, f"{path} is {shown}, expected {dumps(expected)}")


@CHECKS.register("expected")
def expected(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    wanted = spec.value if spec.value is not None else ctx.expected
    if wanted is None:
        return Verdict(False, 0.0, "the case declares no expected answer to compare with")
    wanted = as_text(wanted).strip()  # YAML block scalars add a trailing newline
    if wanted.lower() == "error":
        return error_json(output, spec, replace(ctx, expects_error=True))
    return text_verdict(output, wanted, "contains", ignore_case=True)


@CHECKS.register("skip-unsupported")
def skip_unsupported(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    why = spec.options.get("why", f"{spec.type} is not supported yet")
    return Verdict(True, 1.0, str(why), skipped=True)
