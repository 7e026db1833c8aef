"""The ``reference`` model's answers (``output:``) that call tools, run an agent loop offline, and
answer each turn of a conversation: how the bundled support-agent example proves its checks."""

from __future__ import annotations

import pytest
from conftest import write
from liveproject import run_record

TOOLS = """\
tools:
  - type: function
    function:
      name: lookup_order
      parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
  - type: function
    function:
      name: issue_refund
      parameters: {type: object, properties: {order_id: {type: string}, amount: {type: number}}, required: [order_id, amount]}
"""

AGENT = """\
name: Agent
messages:
  - {role: system, content: You are ACME's support agent.}
  - {role: user, content: "{{ ask }}"}
""" + TOOLS + """\
testData:
  - id: refund
    inputs: {ask: Order A1 arrived broken}
    output:
      text: Checking A1.
      tool_calls:
        - {name: lookup_order, arguments: {order_id: A1}}
        - {name: issue_refund, arguments: '{"order_id": "A1", "amount": 5}'}
    checks:
      - {tool-call-order: [lookup_order, issue_refund]}
      - {tool-called: {name: issue_refund, arguments: {order_id: A1}}}
      - tool-args-valid
      - {contains: A1}
  - id: refund-without-lookup
    inputs: {ask: Order B2 arrived broken}
    output:
      tool_calls: [{name: issue_refund, arguments: {order_id: B2}}]
    checks:
      - {tool-call-order: [lookup_order, issue_refund]}
      - tool-args-valid
  - id: loop
    inputs: {ask: Order C3 arrived broken}
    output:
      tool_calls: [{name: lookup_order, arguments: {order_id: C3}}]
      text: Refund issued for C3.
    tool_results: {lookup_order: {status: delivered}}
    checks:
      - {tool-called: lookup_order}
      - {equals: Refund issued for C3.}
  - id: json-answer
    inputs: {ask: status of D4}
    output: {text: shipped, order: D4}
    checks: [is-json, {contains: '"order": "D4"'}, tool-not-called]
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_reference_answers_call_tools_and_the_tool_checks_judge_them(pytester: pytest.Pytester, workers: list[str]) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["reference"]\n')
    write(pytester, "prompts/agent.prompt.yaml", AGENT)
    result = pytester.runpytest("-p", "no:cacheprovider", *workers)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "*case refund-without-lookup · model reference*",
        "2 of 2 checks failed:",
        "*✗ tool-call-order*",
        "*✗ tool-args-valid*amount*",
    ])
    items = {item.key.split("::")[1]: item for item in run_record(pytester.path, result).items}
    assert [c.name for c in items["refund[reference]"].tool_calls] == ["lookup_order", "issue_refund"]
    assert items["refund[reference]"].tool_calls[0].arguments == '{"order_id": "A1"}'
    # In the loop the reference calls its tool once, then answers its text given the result.
    assert [c.name for c in items["loop[reference]"].tool_calls] == ["lookup_order"]
    assert items["loop[reference]"].answer == "Refund issued for C3."
    assert items["json-answer[reference]"].tool_calls == ()


CONVERSATION = """\
name: Thread
messages:
  - {role: system, content: You are ACME's support agent.}
""" + TOOLS + """\
testData:
  - id: refund-thread
    turns:
      - user: Where is order A1?
        output:
          tool_calls: [{name: lookup_order, arguments: {order_id: A1}}]
        checks: [{tool-called: lookup_order}, {not-tool-called: issue_refund}]
      - user: It arrived broken.
        reply: Sorry! Do you want a refund?
      - user: Yes please.
        output: {text: I have refunded order A1., tool_calls: [{name: issue_refund, arguments: {order_id: A1, amount: 5}}]}
        checks: [{icontains: refunded}, {icontains: order B2}]
"""


def test_each_answered_turn_gets_its_own_reference_answer(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["reference"]\n')
    write(pytester, "prompts/thread.prompt.yaml", CONVERSATION)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        'turn 3 (user: "Yes please."): 1 of 2 checks failed:', "*✗ icontains: order B2*",
        "answer (25 chars, live):", "  | I have refunded order A1.", "tool calls (1):", '  → issue_refund({"order_id": "A1", "amount": 5})',
    ])
    assert 'turn 1 (user: "Where is order A1?")' not in result.stdout.str()
    turns = run_record(pytester.path, result).items[0].turns
    assert [(t.answer, t.fixed) for t in turns] == [("", False), ("Sorry! Do you want a refund?", True), ("I have refunded order A1.", False)]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("{tool_calls: [{arguments: {}}]}", "*agent.prompt.yaml:7:*'output.tool_calls': each of 'tool_calls' must be a mapping with a 'name'*"),
        ("{tool_calls: lookup_order}", "*agent.prompt.yaml:7:*'output.tool_calls': 'tool_calls' must be a list of {name, arguments} mappings*"),
        ("{text: [a], tool_calls: []}", "*agent.prompt.yaml:7:*'output.text' must be the answer's text, got a list*"),
    ],
    ids=["unnamed-call", "not-a-list", "text-not-text"],
)
def test_a_bad_reference_answer_is_a_collection_error_naming_its_line(pytester: pytest.Pytester, output: str, message: str) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["reference"]\n')
    write(pytester, "prompts/agent.prompt.yaml", f"""\
        name: Agent
        messages:
          - {{role: user, content: hi}}
        testData:
          - id: bad
            inputs: {{x: 1}}
            output: {output}
        """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])


AGENT_FUNCTION = """\
def answer(request):
    role, last = request.messages[-1]
    if request.tool_rounds:
        return f"found: {request.tool_rounds[-1].results[0]}"
    if "order" in last:
        return {"text": "", "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}]}
    earlier = [content for role, content in request.messages if role == "assistant"]
    return f"{len(request.messages)} messages; I said: {earlier[-1]}"
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_turn_runs_its_own_agent_loop_and_the_first_turn_may_answer_the_prompt(pytester: pytest.Pytester, workers: list[str]) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["python:agent:answer"]\n')
    pytester.makepyfile(agent=AGENT_FUNCTION)
    write(pytester, "prompts/thread.prompt.yaml", """\
        name: Thread
        messages:
          - {role: system, content: You are ACME's support agent.}
          - {role: user, content: "{{ message }}"}
        """ + TOOLS.replace("\n", "\n        ") + """\
testData:
          - id: thread
            inputs: {message: Where is my order A1?}
            tool_results: {lookup_order: {status: shipped}}
            turns:
              - checks: [{tool-called: {name: lookup_order, arguments: {order_id: A1}}}, {contains: shipped}]
              - user: thanks
                checks: [tool-not-called, {contains: 'I said: found: {"status": "shipped"}'}]
        """)
    result = pytester.runpytest("-p", "no:cacheprovider", *workers)
    result.assert_outcomes(passed=1)
    turns = run_record(pytester.path, result).items[0].turns
    # Turn 1 is the prompt's own user message; the thread then holds its last answer, not its tool round.
    assert [(t.user, t.answer) for t in turns] == [
        ("Where is my order A1?", 'found: {"status": "shipped"}'),
        ("thanks", '4 messages; I said: found: {"status": "shipped"}'),
    ]


@pytest.mark.parametrize(
    ("turns", "message"),
    [
        ("[{checks: [{contains: x}]}]",
         "*thread.prompt.yaml:5:*case 'thread': turn 1 has no 'user', so the model answers the prompt's own messages, but they do not end with a user message*"),
        ("[{user: a}, {checks: [{contains: y}]}]", "*thread.prompt.yaml:7:*a turn needs 'user': the user's message as text, got nothing (null)*"),
    ],
    ids=["prompt-without-user-message", "not-the-first-turn"],
)
def test_only_a_first_turn_may_leave_out_user_and_only_after_a_users_message(pytester: pytest.Pytester, turns: str, message: str) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["echo"]\n')
    write(pytester, "prompts/thread.prompt.yaml", f"""\
        name: Thread
        messages:
          - {{role: system, content: "You are ACME's support agent, {{{{ name }}}}."}}
        testData:
          - id: thread
            inputs: {{name: Ada}}
            turns: {turns}
        """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])
