"""Simulated tools: a case gives tool results and the agent loop runs, through both SDKs, recorded
round by round and replayed offline."""

from __future__ import annotations

import pytest
from fakellm import FakeLLM, two_provider_pyproject
from liveproject import run_record

AGENT = """\
name: Support agent
messages:
  - role: user
    content: "{{ ask }}"
tools:
  - type: function
    function:
      name: lookup_order
      parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
  - type: function
    function:
      name: issue_refund
      parameters: {type: object, properties: {order_id: {type: string}, amount: {type: number}}, required: [order_id, amount]}
testData:
  - id: refund-loop
    inputs: {ask: 'call lookup_order with {"order_id": "A1"}'}
    tool_results:
      lookup_order: 'broken on arrival; call issue_refund with {"order_id": "A1", "amount": 5}'
      issue_refund: {refunded: 5}
    checks:
      - {tool-call-order: [lookup_order, issue_refund]}
      - {contains: 'tool results: {"refunded": 5}'}
  - id: by-function
    inputs: {ask: 'call lookup_order with {"order_id": "B2"}'}
    tool_results: {lookup_order: "python:tooly:lookup"}
    checks:
      - {contains: 'tool results: order B2 ships today'}
  - id: endless
    inputs: {ask: 'call lookup_order with {"order_id": "C3"}'}
    tool_results: {lookup_order: 'still loading, call lookup_order with {"order_id": "C3"}'}
    max_tool_rounds: 2
    checks:
      - tool-not-called
  - id: no-result
    inputs: {ask: 'call issue_refund with {"order_id": "D4", "amount": 1}'}
    tool_results: {lookup_order: found}
    checks:
      - {contains: "no simulated result for tool 'issue_refund'"}
"""

TOOLY = """\
def lookup(name, arguments):
    if arguments["order_id"] == "X":
        raise RuntimeError("the order service is down")
    return f"order {arguments['order_id']} ships today"
"""


def project(pytester: pytest.Pytester, fake: FakeLLM) -> pytest.Pytester:
    pytester.makepyprojecttoml(two_provider_pyproject(fake))
    pytester.makepyfile(tooly=TOOLY)
    path = pytester.path / "prompts" / "agent.prompt.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(AGENT, encoding="utf-8")
    return pytester



@pytest.mark.usefixtures("fake_api_keys")
def test_the_agent_loop_runs_recorded_round_by_round_and_replays_offline(pytester: pytest.Pytester, fake_llm: FakeLLM) -> None:
    agent = project(pytester, fake_llm)
    result = agent.runpytest("--record-mode=all")
    result.assert_outcomes(passed=6, failed=2)
    # max_tool_rounds: 2 means two further calls; the last answer still calls a tool.
    result.stdout.fnmatch_lines(['*✗ tool-not-called — tools were called: lookup_order({"order_id": "C3"}), lookup_order({"order_id": "C3"}), lookup_order({"order_id": "C3"})'])
    bodies = [(r.kind, r.body) for r in fake_llm.requests if "A1" in str(r.body.get("messages")[0])]
    assert [kind for kind, _ in bodies].count("openai") == 3 and [kind for kind, _ in bodies].count("anthropic") == 3
    last_openai = [b for k, b in bodies if k == "openai"][-1]["messages"]
    assert [m["role"] for m in last_openai] == ["user", "assistant", "tool", "assistant", "tool"]
    assert last_openai[1]["tool_calls"][0]["function"] == {"name": "lookup_order", "arguments": '{"order_id": "A1"}'}
    assert last_openai[2]["tool_call_id"] == last_openai[1]["tool_calls"][0]["id"]
    assert last_openai[4]["content"] == '{"refunded": 5}'
    last_anthropic = [b for k, b in bodies if k == "anthropic"][-1]["messages"]
    assert [m["role"] for m in last_anthropic] == ["user", "assistant", "user", "assistant", "user"]
    use = last_anthropic[1]["content"][0]
    assert (use["type"], use["name"], use["input"]) == ("tool_use", "lookup_order", {"order_id": "A1"})
    assert last_anthropic[2]["content"] == [{"type": "tool_result", "tool_use_id": use["id"], "content": 'broken on arrival; call issue_refund with {"order_id": "A1", "amount": 5}'}]

    record = run_record(agent.path, result)
    loop = [i for i in record.items if i.case_id == "refund-loop" and i.model == "claude"][0]
    assert [c.name for c in loop.tool_calls] == ["lookup_order", "issue_refund"]
    assert loop.answer == 'tool results: {"refunded": 5}'
    cassette = (agent.path / "cassettes" / "prompts" / "agent" / "gpt.yaml").read_text(encoding="utf-8")
    assert cassette.count("item: prompts/agent.prompt.yaml::refund-loop[gpt]") == 3
    assert "        - {id: call_" in cassette and "      tool_rounds:\n" in cassette

    calls = len(fake_llm.requests)
    fake_llm.stop()
    replayed = agent.runpytest("--record-mode=none", "-n", "2")
    replayed.assert_outcomes(passed=6, failed=2)
    assert len(fake_llm.requests) == calls
    again = {i.key: (i.status, i.answer, i.tool_calls) for i in run_record(agent.path, replayed).items}
    assert again == {i.key: (i.status, i.answer, i.tool_calls) for i in record.items}


@pytest.mark.usefixtures("fake_api_keys")
def test_a_tool_function_that_fails_errors_the_item(pytester: pytest.Pytester, fake_llm: FakeLLM) -> None:
    agent = project(pytester, fake_llm)
    (agent.path / "prompts" / "agent.prompt.yaml").write_text(AGENT.replace('"order_id": "B2"', '"order_id": "X"'), encoding="utf-8")
    result = agent.runpytest("--record-mode=all", "-k", "by-function")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*provider error: tool lookup_order (python:tooly:lookup) raised RuntimeError: the order service is down*"])


@pytest.mark.parametrize(("fields", "message"), [
    ("tool_results: [a]", "'tool_results' must map tool names to their results, got a list"),
    ("tool_results: {a: 'python:nomodule'}", "tool_results.a: a function must look like python:module:function, got 'python:nomodule'"),
    ("tool_results: {a: 1}\n    max_tool_rounds: 0", "'max_tool_rounds' must be a whole number from 1 to 20, got 0"),
    ("max_tool_rounds: 3", "'max_tool_rounds' is set, but the case gives no 'tool_results'"),
])
def test_bad_simulated_tools_are_collection_errors(echo_project: pytest.Pytester, fields: str, message: str) -> None:
    echo_project.makefile(".prompt.yaml", bad=f"messages:\n  - {{role: user, content: hi}}\ntestData:\n  - id: one\n    inputs: {{}}\n    {fields}\n")
    result = echo_project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"bad.prompt.yaml:*: {message}"])
