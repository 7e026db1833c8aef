"""Checks on the answer's tool calls (``CheckContext.tool_calls``), against the declared tools
(``CheckContext.tools``, OpenAI function form).

* ``tool-called``: a call to the named tool; ``{name, arguments}`` also wants its arguments to
  match. ``arguments`` is a JSON Schema when it says so (``$schema``, or ``type: object`` with
  ``properties`` or ``required``), else a subset: every key given must be in the call with an
  equal value (mappings compared the same way, recursively; lists and scalars equal).
* ``tool-not-called``: no call to the named tool; without a value, no tool call at all.
* ``tool-call-order``: the named tools were called in this order. Other calls may come before,
  between and after them, and a name may be listed twice to require two calls.
* ``tool-args-valid``: every call names a declared tool and its arguments are valid against that
  tool's ``parameters`` (JSON Schema, Draft 2020-12). An answer without calls passes.
* ``tool-call-f1``: promptfoo's, with its semantics (src/assertions/toolCallF1.ts): the F1 of the
  set of called tool names against the expected names; passes at ``threshold`` (default 1).

Each returns the positive verdict; ``not-``, weights and thresholds are generic (evaluate.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from promptcheck.checks.base import CheckContext, CheckSet, Verdict
from promptcheck.checks.jsontext import dumps, json_equal
from promptcheck.checks.pfjson import json_objects_in
from promptcheck.spec import CheckSpec, PromptfooProviderConfig

if TYPE_CHECKING:
    from promptcheck.providers.base import ToolCall

CHECKS = CheckSet()


def shown(call: ToolCall, limit: int = 120) -> str:
    """``name({...})`` on one line, for reasons."""
    arguments = " ".join(call.arguments.split())
    return f"{call.name}({arguments if len(arguments) <= limit else arguments[: limit - 3] + '...'})"


def _calls_text(calls: Sequence[ToolCall]) -> str:
    return ", ".join(shown(c) for c in calls) if calls else "none"


def arguments_of(call: ToolCall) -> tuple[Any, str | None]:
    """(the arguments as a JSON value, None), or (None, why they are not JSON)."""
    try:
        return json.loads(call.arguments or "{}"), None
    except ValueError:
        return None, f"the arguments of {call.name} are not JSON: {call.arguments[:80]!r}"


def schema_error(value: Any, schema: Mapping[str, Any]) -> str | None:
    """Why ``value`` breaks the JSON Schema ``schema`` (Draft 2020-12), or None."""
    try:
        error = best_match(Draft202012Validator(schema).iter_errors(value))
    except SchemaError as exc:
        return f"the schema is not valid: {exc.message}"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message}{f' (at {where})' if where else ''}"


def declared_tools(spec: CheckSpec, ctx: CheckContext) -> dict[str, Any] | None:
    """Tool name -> its parameters schema (None: none given); None when no tools are declared.
    A check's own ``tools`` option wins, then the prompt's (or its model's) tools, then a promptfoo
    provider's older ``functions``."""
    given = spec.options.get("tools")
    if not isinstance(given, list):
        given = list(ctx.tools) or None
    if given is None and isinstance(ctx.model_extension, PromptfooProviderConfig):
        given = ctx.model_extension.tools
    if not isinstance(given, list):
        return None
    table: dict[str, Any] = {}
    for tool in given:
        body = tool.get("function", tool) if isinstance(tool, Mapping) else {}
        if isinstance(body, Mapping) and isinstance(body.get("name"), str):
            table[body["name"]] = body.get("parameters", body.get("input_schema"))
    return table


def is_schema(value: Mapping[str, Any]) -> bool:
    return "$schema" in value or (value.get("type") == "object" and ("properties" in value or "required" in value))


def is_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(k in actual and is_subset(v, actual[k]) for k, v in expected.items())
    return json_equal(expected, actual)


def _validate_called(spec: CheckSpec) -> None:
    value = spec.value
    if isinstance(value, str) and value.strip():
        return
    if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"].strip():
        unknown = sorted(set(map(str, value)) - {"name", "arguments"})
        if unknown:
            raise ValueError(f"{spec.type} takes {{name, arguments}}, not {', '.join(unknown)}")
        arguments = value.get("arguments")
        if arguments is not None and not isinstance(arguments, dict):
            raise ValueError(f"{spec.type}: 'arguments' must be a mapping (a subset of the arguments, or a JSON Schema)")
        if isinstance(arguments, dict) and is_schema(arguments):
            try:
                Draft202012Validator.check_schema(arguments)
            except SchemaError as exc:
                raise ValueError(f"{spec.type}: 'arguments' is not a valid JSON Schema: {exc.message}") from None
        return
    raise ValueError(f"{spec.type} needs a tool name, or {{name, arguments}}")


@CHECKS.register("tool-called", validate=_validate_called)
def tool_called(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    value = spec.value
    name = value if isinstance(value, str) else str(value["name"])
    wanted = value.get("arguments") if isinstance(value, dict) else None
    named = [c for c in ctx.tool_calls if c.name == name]
    if not named:
        return Verdict(False, 0.0, f"{name} was not called; calls: {_calls_text(ctx.tool_calls)}")
    if wanted is None:
        return Verdict(True, 1.0, f"called {shown(named[0])}")
    problems = []
    for call in named:
        arguments, problem = arguments_of(call)
        if problem is None:
            if is_schema(wanted):
                problem = schema_error(arguments, wanted)
            elif not is_subset(wanted, arguments):
                problem = f"the arguments do not include {dumps(wanted)}"
        if problem is None:
            return Verdict(True, 1.0, f"called {shown(call)}")
        problems.append(f"{shown(call)}: {problem}")
    return Verdict(False, 0.0, f"{name} was called, but not with matching arguments: {'; '.join(problems)}")


def _validate_not_called(spec: CheckSpec) -> None:
    if spec.value is not None and not (isinstance(spec.value, str) and spec.value.strip()):
        raise ValueError("tool-not-called takes a tool name, or no value for no tool call at all")


@CHECKS.register("tool-not-called", validate=_validate_not_called)
def tool_not_called(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    if spec.value is None:
        if ctx.tool_calls:
            return Verdict(False, 0.0, f"tools were called: {_calls_text(ctx.tool_calls)}")
        return Verdict(True, 1.0, "no tool was called")
    named = [c for c in ctx.tool_calls if c.name == spec.value]
    if named:
        return Verdict(False, 0.0, f"{spec.value} was called: {_calls_text(named)}")
    return Verdict(True, 1.0, f"{spec.value} was not called; calls: {_calls_text(ctx.tool_calls)}")


def _validate_order(spec: CheckSpec) -> None:
    if not isinstance(spec.value, list) or not spec.value or not all(isinstance(n, str) and n for n in spec.value):
        raise ValueError("tool-call-order needs a list of tool names, in the order they must be called")


@CHECKS.register("tool-call-order", validate=_validate_order)
def tool_call_order(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    wanted = [str(n) for n in spec.value]
    found = 0
    for call in ctx.tool_calls:  # the listed names as a subsequence of the calls
        if found < len(wanted) and call.name == wanted[found]:
            found += 1
    order = " → ".join(wanted)
    called = " → ".join(c.name for c in ctx.tool_calls) or "none"
    if found == len(wanted):
        return Verdict(True, 1.0, f"called {order} in that order (calls: {called})")
    return Verdict(False, found / len(wanted), f"expected calls {order} in that order, missing from {wanted[found]} on; calls: {called}")


@CHECKS.register("tool-args-valid")
def tool_args_valid(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    declared = declared_tools(spec, ctx)
    if declared is None:
        return Verdict(False, 0.0, "no tools are declared for this prompt, so no call can be checked")
    if not ctx.tool_calls:
        return Verdict(True, 1.0, "no tool calls to check")
    problems = [p for p in (_call_problem(c, declared) for c in ctx.tool_calls) if p]
    if problems:
        return Verdict(False, 0.0, "; ".join(problems))
    return Verdict(True, 1.0, f"{len(ctx.tool_calls)} call(s) valid against the declared tools")


def _call_problem(call: ToolCall, declared: Mapping[str, Any]) -> str | None:
    if call.name not in declared:
        return f"{call.name} is not a declared tool (declared: {', '.join(declared) or 'none'})"
    arguments, problem = arguments_of(call)
    if problem is not None:
        return problem
    schema = declared[call.name]
    if isinstance(schema, Mapping) and (error := schema_error(arguments, schema)):
        return f"{shown(call)}: {error}"
    return None


# -- promptfoo's tool-call-f1 --------------------------------------------------------------------


def _expected_names(value: Any) -> list[str]:
    if isinstance(value, list):
        return [n for n in (str(v).strip() for v in value) if n]
    if isinstance(value, str):
        return [n for n in (v.strip() for v in value.split(",")) if n]
    return []


def _validate_f1(spec: CheckSpec) -> None:
    if not isinstance(spec.value, (list, str)):
        raise ValueError('"tool-call-f1" assertion requires a value: array of tool names or comma-separated string')
    if "{{" not in str(spec.value) and not _expected_names(spec.value):
        raise ValueError('"tool-call-f1" assertion requires at least one expected tool name')


def names_in_output(value: Any) -> set[str]:
    """Tool names in an answer written out as JSON, in the shapes promptfoo's extractToolNames
    reads: OpenAI ``{tool_calls: [...]}`` and ``[{function: {name}}]``, Responses API
    ``{type: function_call, name}``, Anthropic ``tool_use`` blocks, Google ``functionCall`` and
    ``{toolCall: {functionCalls}}``, and ``[{name}]``."""
    names: set[str] = set()
    if isinstance(value, Mapping):
        if isinstance(value.get("tool_calls"), list):
            for call in value["tool_calls"]:
                if isinstance(call, Mapping):
                    function = call.get("function")
                    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
                        names.add(function["name"])
                    if isinstance(call.get("name"), str):
                        names.add(call["name"])
        elif value.get("type") in ("tool_use", "function_call") and isinstance(value.get("name"), str):
            names.add(value["name"])
        elif isinstance(value.get("functionCall"), Mapping):
            if isinstance(value["functionCall"].get("name"), str):
                names.add(value["functionCall"]["name"])
        elif isinstance(value.get("toolCall"), Mapping) and isinstance(value["toolCall"].get("functionCalls"), list):
            names |= {c["name"] for c in value["toolCall"]["functionCalls"] if isinstance(c, Mapping) and isinstance(c.get("name"), str)}
    elif isinstance(value, list):
        for block in value:
            if not isinstance(block, Mapping):
                continue
            function = block.get("function") if isinstance(block.get("function"), Mapping) else block.get("functionCall")
            if block.get("type") == "tool_use" and isinstance(block.get("name"), str):
                names.add(block["name"])
            elif isinstance(function, Mapping):
                if isinstance(function.get("name"), str):
                    names.add(function["name"])
            elif isinstance(block.get("name"), str):
                names.add(block["name"])
    return names


def _names_in_text(output: str) -> set[str]:
    try:
        return names_in_output(json.loads(output))
    except ValueError:
        # promptfoo scans prose for JSON blocks that start a line; here every JSON object in it
        # counts (a simplification: an object inside a sentence is found too).
        names: set[str] = set()
        for value, _, _ in json_objects_in(output):
            names |= names_in_output(value)
        return names


@CHECKS.register("tool-call-f1", validate=_validate_f1)
def tool_call_f1(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    expected = set(_expected_names(spec.value))
    if not expected:
        return Verdict(False, 0.0, '"tool-call-f1" assertion requires at least one expected tool name')
    actual = {c.name for c in ctx.tool_calls} if ctx.tool_calls else _names_in_text(output)
    hits = len(expected & actual)
    precision = hits / len(actual) if actual else 0.0
    recall = hits / len(expected)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    threshold = spec.threshold if spec.threshold is not None else 1.0
    names = f"Expected: [{', '.join(sorted(expected))}], Called: [{', '.join(sorted(actual)) or '(none)'}]"
    if f1 >= threshold:
        return Verdict(True, f1, f"Tool Call F1: {f1:.3f} (precision={precision:.3f}, recall={recall:.3f}). {names}")
    return Verdict(False, f1, f"Tool Call F1 score {f1:.3f} is below threshold {threshold:g}. {names}. Precision={precision:.3f}, Recall={recall:.3f}")


# -- promptfoo's is-valid-function-call ------------------------------------------------------------


@CHECKS.register("is-valid-function-call")
def valid_function_call(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    """As promptfoo's provider.validateFunctionToolCall (src/assertions/functionToolCall.ts with
    src/providers/openai/util.ts validateFunctionCall): every call names a declared function and
    its arguments match that function's parameters schema. The calls are the answer's tool calls,
    or, when it made none, a JSON function call written as the answer."""
    calls: list[Any] = list(ctx.tool_calls) or _function_calls_in(output)
    if not calls:
        return Verdict(False, 0.0, f"the answer is not a valid-looking function call: {json.dumps(output)[:200]}")
    declared = declared_tools(spec, ctx) or {}
    for call in calls:
        if call.name not in declared:
            return Verdict(False, 0.0, f'Called "{call.name}", but there is no function with that name')
        arguments, problem = arguments_of(call)
        schema = declared[call.name]
        if problem is None and isinstance(schema, Mapping):
            problem = schema_error(arguments, schema)
        if problem is not None:
            return Verdict(False, 0.0, f'Call to "{call.name}" does not match schema: {problem}')
    return Verdict(True, 1.0, f"{len(calls)} valid function call(s)")


class _WrittenCall(NamedTuple):
    """A function call written out as the answer's JSON text (name and arguments, as ToolCall)."""

    name: str
    arguments: str


def _function_calls_in(output: str) -> list[Any]:
    try:
        value = json.loads(output)
    except ValueError:
        return []
    if isinstance(value, Mapping) and isinstance(value.get("function_call"), Mapping):
        value = value["function_call"]
    items = value if isinstance(value, list) else [value]
    calls = []
    for item in items:
        body = item.get("functionCall", item.get("function", item)) if isinstance(item, Mapping) else None
        if isinstance(body, Mapping) and isinstance(body.get("name"), str):
            arguments = body.get("arguments", body.get("args", {}))
            calls.append(_WrittenCall(body["name"], arguments if isinstance(arguments, str) else json.dumps(arguments)))
    return calls
