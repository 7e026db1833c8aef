"""The tool-call checks, the wire conversions and the backward-compatible keys (plain pytest)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import msgspec
import pytest

from promptcheck.checks.base import CheckContext
from promptcheck.checks.evaluate import CheckResult, evaluate, run_check, validate_check
from promptcheck.providers.base import ProviderRequest, ToolCall
from promptcheck.providers.cassette_file import replay_data
from promptcheck.providers.tools import (
    anthropic_tool_args, anthropic_tool_calls, calls_from_data, calls_to_data, from_anthropic_tool,
    from_anthropic_tool_choice, openai_tool_args, openai_tool_calls,
)
from promptcheck.runs.record import ItemResult, RecordedToolCall
from promptcheck.spec import CheckSpec

LOOKUP = {"type": "function", "function": {"name": "lookup_order", "description": "Find an order",
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}
REFUND = {"type": "function", "function": {"name": "issue_refund",
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}, "amount": {"type": "number", "minimum": 0}},
                         "required": ["order_id", "amount"]}}}
TOOLS = (LOOKUP, REFUND)
LOOK = ToolCall("lookup_order", '{"order_id": "A1"}', "call_1")
PAY = ToolCall("issue_refund", '{"order_id": "A1", "amount": 5}', "call_2")
BAD_PAY = ToolCall("issue_refund", '{"order_id": "A1", "amount": -3}', "call_3")


def ctx(*calls: ToolCall, tools: tuple[Any, ...] = TOOLS) -> CheckContext:
    return CheckContext(tool_calls=calls, tools=tools)


def run(kind: str, value: Any, context: CheckContext, **kwargs: Any) -> CheckResult:
    check = CheckSpec(type=kind, value=value, **kwargs)
    validate_check(check)
    return run_check(check, "", context)


CASES = [
    # (type, value, calls that pass, reason, calls that fail, reason)
    ("tool-called", "lookup_order", (LOOK, PAY), 'called lookup_order({"order_id": "A1"})',
     (PAY,), 'lookup_order was not called; calls: issue_refund({"order_id": "A1", "amount": 5})'),
    ("tool-called", {"name": "issue_refund", "arguments": {"amount": 5}}, (LOOK, PAY), 'called issue_refund({"order_id": "A1", "amount": 5})',
     (BAD_PAY,), 'issue_refund was called, but not with matching arguments: issue_refund({"order_id": "A1", "amount": -3}): the arguments do not include {"amount": 5}'),
    ("tool-called", {"name": "issue_refund", "arguments": {"type": "object", "properties": {"amount": {"maximum": 10}}}}, (PAY,),
     'called issue_refund({"order_id": "A1", "amount": 5})',
     (ToolCall("issue_refund", '{"amount": 50}'),), 'issue_refund was called, but not with matching arguments: issue_refund({"amount": 50}): 50 is greater than the maximum of 10 (at amount)'),
    ("tool-not-called", "issue_refund", (LOOK,), 'issue_refund was not called; calls: lookup_order({"order_id": "A1"})',
     (LOOK, PAY), 'issue_refund was called: issue_refund({"order_id": "A1", "amount": 5})'),
    ("tool-not-called", None, (), "no tool was called", (LOOK,), 'tools were called: lookup_order({"order_id": "A1"})'),
    ("tool-call-order", ["lookup_order", "issue_refund"], (LOOK, ToolCall("other", "{}"), PAY),
     "called lookup_order → issue_refund in that order (calls: lookup_order → other → issue_refund)",
     (PAY, LOOK), "expected calls lookup_order → issue_refund in that order, missing from issue_refund on; calls: issue_refund → lookup_order"),
    ("tool-args-valid", None, (LOOK, PAY), "2 call(s) valid against the declared tools",
     (LOOK, BAD_PAY, ToolCall("cancel", "{}")),
     'issue_refund({"order_id": "A1", "amount": -3}): -3 is less than the minimum of 0 (at amount); cancel is not a declared tool (declared: lookup_order, issue_refund)'),
    ("tool-call-f1", ["lookup_order", "issue_refund"], (PAY, LOOK),
     "Tool Call F1: 1.000 (precision=1.000, recall=1.000). Expected: [issue_refund, lookup_order], Called: [issue_refund, lookup_order]",
     (LOOK,), "Tool Call F1 score 0.667 is below threshold 1. Expected: [issue_refund, lookup_order], Called: [lookup_order]. Precision=1.000, Recall=0.500"),
    ("is-valid-function-call", None, (LOOK,), "1 valid function call(s)",
     (ToolCall("lookup_order", '{"order_id": 7}'),), "Call to \"lookup_order\" does not match schema: 7 is not of type 'string' (at order_id)"),
    ("is-valid-openai-tools-call", None, (LOOK, PAY), "2 valid tool call(s)",
     (ToolCall("cancel", "{}"),), "no tool named 'cancel' (known: lookup_order, issue_refund)"),
]


@pytest.mark.parametrize(("kind", "value", "good", "good_reason", "bad", "bad_reason"), CASES)
def test_each_check_passes_and_fails_with_its_reason(kind: str, value: Any, good: tuple[ToolCall, ...], good_reason: str,
                                                       bad: tuple[ToolCall, ...], bad_reason: str) -> None:
    passed = run(kind, value, ctx(*good))
    assert (passed.passed, passed.reason) == (True, good_reason)
    failed = run(kind, value, ctx(*bad))
    assert (failed.passed, failed.reason) == (False, bad_reason)


def test_negation_weight_and_threshold_are_generic() -> None:
    negated = run("tool-called", "issue_refund", ctx(LOOK), negate=True)
    assert (negated.passed, negated.score) == (True, 1.0)
    partial = run("tool-call-order", ["lookup_order", "issue_refund", "close"], ctx(LOOK, PAY), threshold=0.6)
    assert (partial.passed, round(partial.score, 2)) == (True, 0.67)
    f1 = run("tool-call-f1", "lookup_order, issue_refund", ctx(LOOK), threshold=0.6)
    assert f1.passed and f1.reason.startswith("Tool Call F1: 0.667 (precision=1.000, recall=0.500).")
    checks: list[Any] = [CheckSpec("tool-called", "lookup_order", weight=3.0), CheckSpec("tool-not-called", "lookup_order")]
    result = evaluate(checks, "", ctx(LOOK), 0.7)
    assert (result.passed, result.score) == (True, 0.75)


def test_tool_args_valid_without_calls_or_tools() -> None:
    assert run("tool-args-valid", None, ctx()).reason == "no tool calls to check"
    unknown = run("tool-args-valid", None, ctx(LOOK, tools=()))
    assert (unknown.passed, unknown.reason) == (False, "no tools are declared for this prompt, so no call can be checked")
    not_json = run("tool-args-valid", None, ctx(ToolCall("lookup_order", "{order")))
    assert not_json.reason == "the arguments of lookup_order are not JSON: '{order'"


def test_promptfoo_checks_read_an_answer_written_as_json_without_structured_calls() -> None:
    written = '{"tool_calls": [{"function": {"name": "lookup_order", "arguments": "{}"}}]}'
    f1 = run_check(CheckSpec("tool-call-f1", ["lookup_order"]), written, ctx())
    assert f1.passed
    anthropic = '[{"type": "tool_use", "name": "a"}, {"functionCall": {"name": "b"}}]'
    assert run_check(CheckSpec("tool-call-f1", "a, b"), anthropic, ctx()).passed
    call = run_check(CheckSpec("is-valid-function-call"), '{"name": "lookup_order", "arguments": "{\\"order_id\\": \\"1\\"}"}', ctx())
    assert call.passed
    prose = run_check(CheckSpec("is-valid-function-call"), "no call here", ctx())
    assert prose.reason == 'the answer is not a valid-looking function call: "no call here"'
    unknown = run_check(CheckSpec("is-valid-function-call"), "", ctx(ToolCall("cancel", "{}")))
    assert unknown.reason == 'Called "cancel", but there is no function with that name'


@pytest.mark.parametrize(("kind", "value", "message"), [
    ("tool-called", None, "tool-called needs a tool name, or {name, arguments}"),
    ("tool-called", {"name": "x", "args": {}}, "tool-called takes {name, arguments}, not args"),
    ("tool-called", {"name": "x", "arguments": [1]}, "tool-called: 'arguments' must be a mapping (a subset of the arguments, or a JSON Schema)"),
    ("tool-called", {"name": "x", "arguments": {"type": "object", "required": "a"}}, "tool-called: 'arguments' is not a valid JSON Schema: 'a' is not of type 'array'"),
    ("tool-not-called", 3, "tool-not-called takes a tool name, or no value for no tool call at all"),
    ("tool-call-order", "a", "tool-call-order needs a list of tool names, in the order they must be called"),
    ("tool-call-f1", None, '"tool-call-f1" assertion requires a value: array of tool names or comma-separated string'),
    ("tool-call-f1", " , ", '"tool-call-f1" assertion requires at least one expected tool name'),
])
def test_bad_declarations_are_refused(kind: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        validate_check(CheckSpec(type=kind, value=value))
    assert str(caught.value) == message


def old_key(request: ProviderRequest) -> str:
    # The key as it was computed before requests could carry tools.
    canonical = {"provider": request.provider, "model": request.model, "params": dict(sorted(request.params.items())),
                 "response_format": request.response_format, "messages": [list(m) for m in request.messages],
                 "repeat_index": request.repeat_index}
    blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def test_requests_without_tools_keep_their_cassette_keys() -> None:
    plain = ProviderRequest("openai", "gpt-4o", "gpt", (("user", "hi"),), {"temperature": 0})
    assert "tools" not in plain.canonical() and "tool_choice" not in plain.canonical()
    assert plain.key() == old_key(plain)
    with_tools = ProviderRequest("openai", "gpt-4o", "gpt", (("user", "hi"),), {"temperature": 0}, tools=(LOOKUP,))
    choice = ProviderRequest("openai", "gpt-4o", "gpt", (("user", "hi"),), {"temperature": 0}, tools=(LOOKUP,), tool_choice="required")
    assert len({plain.key(), with_tools.key(), choice.key()}) == 3
    assert with_tools.canonical()["tools"] == [LOOKUP]


def test_tools_on_each_wire() -> None:
    request = ProviderRequest("anthropic", "m", "m", (("user", "hi"),), tools=TOOLS,
                              tool_choice={"type": "function", "function": {"name": "lookup_order"}})
    assert openai_tool_args(request) == {"tools": [LOOKUP, REFUND], "tool_choice": {"type": "function", "function": {"name": "lookup_order"}}}
    converted = anthropic_tool_args(request)
    assert converted["tools"][0] == {"name": "lookup_order", "description": "Find an order", "input_schema": LOOKUP["function"]["parameters"]}
    assert converted["tool_choice"] == {"type": "tool", "name": "lookup_order"}
    for written, sent in (("auto", "auto"), ("none", "none"), ("required", "any")):
        assert anthropic_tool_args(ProviderRequest("anthropic", "m", "m", (), tools=TOOLS, tool_choice=written))["tool_choice"] == {"type": sent}
    bare = ProviderRequest("anthropic", "m", "m", (), tools=({"type": "function", "function": {"name": "ping"}},))
    assert anthropic_tool_args(bare) == {"tools": [{"name": "ping", "input_schema": {"type": "object", "properties": {}}}]}
    assert openai_tool_args(ProviderRequest("openai", "m", "m", ())) == {} == anthropic_tool_args(ProviderRequest("anthropic", "m", "m", ()))
    assert from_anthropic_tool({"name": "a", "input_schema": {"type": "object"}}) == {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}}
    assert from_anthropic_tool_choice({"type": "any"}) == "required"
    assert from_anthropic_tool_choice({"type": "tool", "name": "a"}) == {"type": "function", "function": {"name": "a"}}


def test_calls_from_each_wire_and_back() -> None:
    message = {"content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "a", "arguments": '{"x": 1}'}},
                                                 {"id": "c2", "function": {"name": "b", "arguments": {"y": 2}}}]}
    assert openai_tool_calls(message) == (ToolCall("a", '{"x": 1}', "c1"), ToolCall("b", '{"y": 2}', "c2"))
    assert openai_tool_calls({"function_call": {"name": "f", "arguments": "{}"}}) == (ToolCall("f", "{}"),)
    blocks = [{"type": "text", "text": "Looking it up."}, {"type": "tool_use", "id": "t1", "name": "a", "input": {"x": 1}}]
    assert anthropic_tool_calls(blocks) == (ToolCall("a", '{"x": 1}', "t1"),)
    calls = (ToolCall("a", '{"x": 1}', "c1"), ToolCall("b", "{}"))
    assert calls_to_data(calls) == [{"id": "c1", "name": "a", "arguments": '{"x": 1}'}, {"name": "b", "arguments": "{}"}]
    assert calls_from_data(calls_to_data(calls)) == calls
    for broken, message_ in (({"a": 1}, "'tool_calls' must be a list of {name, arguments} mappings"),
                             ([{"arguments": "{}"}], "each of 'tool_calls' must be a mapping with a 'name'")):
        with pytest.raises(ValueError, match=message_.replace("{", r"\{").replace("}", r"\}")):
            calls_from_data(broken)


def test_older_cassette_entries_and_run_records_still_load() -> None:
    old_entry = {"text": "hi", "usage": {"input_tokens": 1, "output_tokens": 1}, "latency_s": 0.1, "cost": None, "meta": {}}
    assert replay_data(old_entry)[-1] == ()
    new_entry = {**old_entry, "tool_calls": [{"id": "c1", "name": "a", "arguments": "{}"}]}
    assert replay_data(new_entry)[-1] == (ToolCall("a", "{}", "c1"),)
    old_item = b'{"key": "p::c[m]", "status": "pass", "answer": "hi"}'
    assert msgspec.json.decode(old_item, type=ItemResult).tool_calls == ()
    item = ItemResult(key="p::c[m]", status="pass", tool_calls=(RecordedToolCall("a", "{}", "c1"),))
    assert msgspec.json.decode(msgspec.json.encode(item), type=ItemResult) == item
    assert b"tool_calls" not in msgspec.json.encode(ItemResult(key="k", status="pass"))


def test_a_changed_tool_call_is_a_changed_answer_and_answers_without_calls_keep_their_digest() -> None:
    from promptcheck.runs.record import answer_digest, same_answer, with_answer_hash

    plain = ItemResult(key="k", status="pass", answer="ok")
    assert with_answer_hash(plain).answer_hash == answer_digest("ok")
    look = ItemResult(key="k", status="pass", answer="", tool_calls=(RecordedToolCall("lookup_order", '{"order_id": "A1"}'),))
    pay = ItemResult(key="k", status="pass", answer="", tool_calls=(RecordedToolCall("issue_refund", '{"order_id": "A1"}'),))
    assert not same_answer(look, pay) and same_answer(look, look)
    assert not same_answer(with_answer_hash(look), with_answer_hash(pay))
    assert same_answer(with_answer_hash(look), with_answer_hash(look))
