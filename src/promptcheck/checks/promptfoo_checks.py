"""Check types promptfoo has and the built-ins lack, with promptfoo's semantics.

Where a built-in already means the same thing (contains, icontains, the -any/-all sets,
starts-with, is-json) the promptfoo reader maps onto it instead; these cover the rest.
Each returns the positive verdict: ``not-``, weights and score thresholds are generic."""

from __future__ import annotations

import json
from typing import Any

from promptcheck.checks import jsengine
from promptcheck.checks.base import CheckContext, CheckSet, Verdict, quote
from promptcheck.checks.builtin import as_text, equals, show_regex, validate_schema
from promptcheck.checks.jsontext import dumps, json_equal
from promptcheck.checks.jsregex import PatternError, to_python
from promptcheck.checks.pfjson import json_objects_in
from promptcheck.checks.schemas import schema_problem
from promptcheck.spec import CheckSpec, PromptfooProviderConfig

CHECKS = CheckSet()


@CHECKS.register("promptfoo-equals")
def promptfoo_equals(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    """Exact string equality; an object or list value is compared with ``JSON.parse(output)``,
    which (unlike the built-in) accepts no code fence around the JSON."""
    if not isinstance(spec.value, (dict, list)):
        return equals(output, spec, ctx)
    try:
        parsed = json.loads(output)
    except ValueError:
        return Verdict(False, 0.0, f"answer is not JSON, expected {dumps(spec.value)}")
    if json_equal(parsed, spec.value):
        return Verdict(True, 1.0, f"answer equals {dumps(spec.value)}")
    return Verdict(False, 0.0, f"answer is {dumps(parsed)}, not {dumps(spec.value)}")


def _validate_js_regex(spec: CheckSpec) -> None:
    if not isinstance(spec.value, str) or not spec.value:
        raise ValueError("regex needs a pattern")
    if "{{" in spec.value or "{%" in spec.value:
        return  # rendered per case; checked when it runs
    if not jsengine.available():
        try:
            to_python(spec.value)
        except PatternError as exc:
            raise ValueError(str(exc)) from None


@CHECKS.register("js-regex", validate=_validate_js_regex)
def js_regex(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    pattern = as_text(spec.value)
    try:
        if jsengine.available():
            found = jsengine.regex_search(pattern, output)
        else:
            hit = to_python(pattern).search(output)
            found = (hit.start(), hit.end(), hit.group()) if hit else None
    except (jsengine.JSError, PatternError) as exc:
        return Verdict(False, 0.0, f"invalid regex {show_regex(pattern)}: {exc}")
    if found is None:
        return Verdict(False, 0.0, f"no match for {show_regex(pattern)}")
    return Verdict(True, 1.0, f"{show_regex(pattern)} matched {quote(found[2])}", (found[0], found[1]))


@CHECKS.register("contains-json", validate=validate_schema)
def contains_json(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    values = json_objects_in(output)
    if not values:
        return Verdict(False, 0.0, "answer contains no JSON object")
    if spec.value is None:
        return Verdict(True, 1.0, f"answer contains JSON {quote(dumps(values[0][0]))}", values[0][1:])
    problem = ""
    for value, start, end in values:
        problem = schema_problem(value, spec.value) or ""
        if not problem:
            return Verdict(True, 1.0, "answer contains JSON matching the schema", (start, end))
    return Verdict(False, 0.0, f"no JSON in the answer matches the schema: {problem}")


def _tool_call_problem(call: Any, functions: dict[str, Any] | None) -> str | None:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        return f"not a tool call: {dumps(call)}"
    arguments = function.get("arguments", "{}")
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        return f"{function['name']}: arguments are not JSON"
    if functions is None:
        return None
    if function["name"] not in functions:
        return f"no tool named {function['name']!r} (known: {', '.join(functions)})"
    schema = functions[function["name"]]
    return schema_problem(parsed, schema) if isinstance(schema, dict) else None


def _functions(spec: CheckSpec, ctx: CheckContext) -> dict[str, Any] | None:
    """Tool name -> parameters schema from the provider's ``tools``/``functions`` config."""
    provider = ctx.model_extension
    config = spec.options.get("tools", provider.tools if isinstance(provider, PromptfooProviderConfig) else None)
    if config is None and ctx.tools:  # a prompt file's own `tools:`
        config = list(ctx.tools)
    if not isinstance(config, list):
        return None
    table = {}
    for tool in config:
        body = tool.get("function", tool) if isinstance(tool, dict) else {}
        if isinstance(body, dict) and isinstance(body.get("name"), str):
            table[body["name"]] = body.get("parameters")
    return table


def _wire_calls(ctx: CheckContext) -> list[dict[str, Any]]:
    """The answer's tool calls as OpenAI's ``message.tool_calls`` holds them."""
    return [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in ctx.tool_calls]


def _parsed(output: str) -> Any:
    try:
        return json.loads(output)
    except ValueError:
        return None


@CHECKS.register("is-valid-openai-tools-call")
def valid_tools_call(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    # The answer's structured tool calls; a JSON list of them written as the answer otherwise.
    calls = _wire_calls(ctx) or _parsed(output)
    if isinstance(calls, dict):
        calls = calls.get("tool_calls", [calls])
    if not isinstance(calls, list) or not calls:
        return Verdict(False, 0.0, "answer is not a JSON list of tool calls")
    functions = _functions(spec, ctx)
    if functions is None:  # promptfoo: nothing to be valid against
        return Verdict(False, 0.0, "no tools are configured for this provider (its config 'tools'), so no tool call can be valid")
    for call in calls:
        if problem := _tool_call_problem(call, functions):
            return Verdict(False, 0.0, problem)
    return Verdict(True, 1.0, f"{len(calls)} valid tool call(s)")


@CHECKS.register("is-valid-openai-function-call")
def valid_function_call(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    wire = _wire_calls(ctx)
    call = wire[0]["function"] if wire else _parsed(output)
    problem = _tool_call_problem({"function": call}, _functions(spec, ctx)) if isinstance(call, dict) else "answer is not a JSON function call"
    return Verdict(problem is None, 1.0 if problem is None else 0.0, problem or "valid function call")


def levenshtein_distance(a: str, b: str) -> int:
    """Edit distance as promptfoo's fastest-levenshtein counts it: in UTF-16 code units, so an
    emoji is two characters there and here."""
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(_utf16(a), _utf16(b)))


def _utf16(text: str) -> str | list[int]:
    if text.isascii() or max(map(ord, text)) < 0x10000:
        return text
    return list(memoryview(text.encode("utf-16-le")).cast("H"))


@CHECKS.register("levenshtein")
def levenshtein(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    limit = spec.options.get("max_distance", 5.0)  # promptfoo's default threshold
    distance = levenshtein_distance(output, as_text(spec.value))
    passed = distance <= limit
    return Verdict(passed, 1.0 if passed else 0.0, f"edit distance {distance} {'<=' if passed else '>'} {limit:g}")


def _validate_word_count(spec: CheckSpec) -> None:
    value = spec.value
    bounds = value if isinstance(value, dict) else {"exact": value}
    if not bounds or not all(isinstance(v, int) and not isinstance(v, bool) for v in bounds.values()):
        raise ValueError("word-count needs a whole number, or {min: n, max: m}")


@CHECKS.register("word-count", validate=_validate_word_count)
def word_count(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    count = len(output.split())
    if isinstance(spec.value, dict):
        low, high = spec.value.get("min"), spec.value.get("max")
        passed = (low is None or count >= low) and (high is None or count <= high)
        wanted = f"between {low if low is not None else 0} and {high if high is not None else 'any'}"
    else:
        passed, wanted = count == spec.value, f"exactly {spec.value}"
    return Verdict(passed, 1.0 if passed else 0.0, f"{count} words, expected {wanted}")


def _limit_check(option: str, measured: str, unit: str, read: Any) -> Any:
    def check(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
        limit = spec.options.get(option)
        if limit is None:
            return Verdict(False, 0.0, f"{spec.type} needs a threshold")
        value = read(ctx)
        if value is None:
            return Verdict(True, 1.0, f"the provider reported no {measured}", skipped=True)
        passed = value <= limit
        return Verdict(passed, 1.0 if passed else 0.0, f"{measured} {value:g}{unit} {'<=' if passed else '>'} {limit:g}{unit}")

    return check


CHECKS.register("latency")(_limit_check("max_ms", "latency", " ms", lambda ctx: None if ctx.latency_s is None else round(ctx.latency_s * 1000, 3)))
CHECKS.register("cost")(_limit_check("max_cost", "cost", "", lambda ctx: ctx.cost))
CHECKS.register("perplexity")(_limit_check("max_perplexity", "perplexity", "", lambda ctx: getattr(ctx, "perplexity", None)))
