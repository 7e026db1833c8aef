"""Tool calls end to end: declared in prompt files and promptfoo configs, sent through the real
openai and anthropic SDKs to the loopback fake, recorded, replayed offline and checked."""

from __future__ import annotations

import pytest
from fakellm import FakeLLM, two_provider_pyproject
from liveproject import run_record


TOOLS = """\
tools:
  - type: function
    function:
      name: lookup_order
      description: Find an order by its id
      parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
  - type: function
    function:
      name: issue_refund
      parameters:
        type: object
        properties: {order_id: {type: string}, amount: {type: number}}
        required: [order_id, amount]
"""

AGENT = """\
name: Support agent
messages:
  - role: system
    content: You help with orders.
  - role: user
    content: "{{ ask }}"
""" + TOOLS + """\
tool_choice: auto
testData:
  - id: refund
    inputs: {ask: 'Please call lookup_order with {"order_id": "A1"} and then call issue_refund with {"order_id": "A1", "amount": 5}'}
    checks:
      - {tool-called: lookup_order}
      - {tool-called: {name: issue_refund, arguments: {amount: 5}}}
      - {tool-call-order: [lookup_order, issue_refund]}
      - tool-args-valid
      - {not-tool-called: cancel_order}
      - {tool-call-f1: [lookup_order, issue_refund]}
  - id: wrong-tool
    inputs: {ask: 'call issue_refund with {"order_id": 7}'}
    checks:
      - {tool-called: lookup_order}
      - tool-args-valid
  - id: chat
    inputs: {ask: Hello there}
    checks:
      - tool-not-called
      - {contains: Hello}
"""

WRONG_TOOL_FAILURE = [
    "prompts/agent.prompt.yaml · case wrong-tool · model {model}",
    "2 of 2 checks failed:",
    '  ✗ tool-called: lookup_order — lookup_order was not called; calls: issue_refund({"order_id": 7})',
    "  ✗ tool-args-valid — issue_refund({\"order_id\": 7}): 'amount' is a required property",
    "answer (0 chars, {source}):",
    "  | (empty answer)",
    "tool calls (1):",
    '  → issue_refund({"order_id": 7})',
]


def agent_project(pytester: pytest.Pytester, fake: FakeLLM) -> pytest.Pytester:
    pytester.makepyprojecttoml(two_provider_pyproject(fake))
    path = pytester.path / "prompts" / "agent.prompt.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(AGENT, encoding="utf-8")
    return pytester



@pytest.mark.usefixtures("fake_api_keys")
def test_tools_reach_both_sdks_and_their_calls_are_checked_recorded_and_replayed(pytester: pytest.Pytester, fake_llm: FakeLLM) -> None:
    project = agent_project(pytester, fake_llm)
    result = project.runpytest("--record-mode=all")
    result.assert_outcomes(passed=4, failed=2)
    for model in ("gpt", "claude"):
        result.stdout.fnmatch_lines([line.replace("{model}", model).replace("{source}", "live") for line in WRONG_TOOL_FAILURE])

    sent = {r.kind: r.body for r in fake_llm.requests if "refund" in str(r.body.get("messages"))}
    assert [t["function"]["name"] for t in sent["openai"]["tools"]] == ["lookup_order", "issue_refund"]
    assert sent["openai"]["tools"][0]["function"]["description"] == "Find an order by its id"
    assert sent["openai"]["tool_choice"] == "auto"
    assert sent["anthropic"]["tools"][0] == {
        "name": "lookup_order", "description": "Find an order by its id",
        "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    }
    assert sent["anthropic"]["tools"][1]["name"] == "issue_refund" and "description" not in sent["anthropic"]["tools"][1]
    assert sent["anthropic"]["tool_choice"] == {"type": "auto"}

    record = run_record(project.path, result)
    refund = {i.model: i for i in record.items if i.case_id == "refund"}
    assert [(c.name, c.arguments) for c in refund["claude"].tool_calls] == [
        ("lookup_order", '{"order_id": "A1"}'), ("issue_refund", '{"order_id": "A1", "amount": 5}')]
    assert refund["gpt"].tool_calls[0].id.startswith("call_")
    assert not [i for i in record.items if i.case_id == "chat"][0].tool_calls

    cassette = (project.path / "cassettes" / "prompts" / "agent" / "claude.yaml").read_text(encoding="utf-8")
    assert "      tool_calls:\n      - {id: call_" in cassette
    assert "name: issue_refund, arguments: '{\"order_id\": 7}'}" in cassette
    assert "      tools:\n      - {type: function, function: {name: lookup_order, description: Find an order by its id," in cassette
    assert "      tool_choice: auto\n" in cassette

    # Offline: the fake is gone, every answer (calls included) comes from the cassettes.
    calls = len(fake_llm.requests)
    fake_llm.stop()
    replayed = project.runpytest("--record-mode=none", "-n", "2")
    replayed.assert_outcomes(passed=4, failed=2)
    for model in ("gpt", "claude"):
        replayed.stdout.fnmatch_lines([line.replace("{model}", model).replace("{source}", "replayed from cassette") for line in WRONG_TOOL_FAILURE])
    assert len(fake_llm.requests) == calls
    again = run_record(project.path, replayed)
    assert {i.key: i.tool_calls for i in again.items} == {i.key: i.tool_calls for i in record.items}


@pytest.mark.usefixtures("fake_api_keys")
def test_the_report_shows_each_answers_tool_calls(pytester: pytest.Pytester, fake_llm: FakeLLM) -> None:
    project = agent_project(pytester, fake_llm)
    project.runpytest("--record-mode=all", "-k", "wrong-tool").assert_outcomes(failed=2)
    data = "".join(p.read_text(encoding="utf-8") for p in (project.path / "reports").glob("*-data/*.js"))
    assert '"tc":[["issue_refund","{\\"order_id\\": 7}"]]' in data
    page = (project.path / "reports" / "index.html").read_text(encoding="utf-8")
    assert '"Tool calls ("' in page


@pytest.mark.usefixtures("fake_api_keys")
def test_tool_choice_forms_on_both_wires(pytester: pytest.Pytester, fake_llm: FakeLLM) -> None:
    pytester.makepyprojecttoml(two_provider_pyproject(fake_llm))
    for choice, expected_anthropic in (("required", {"type": "any"}), ("{type: function, function: {name: lookup_order}}", {"type": "tool", "name": "lookup_order"})):
        fake_llm.clear()
        pytester.makefile(".prompt.yaml", agent=f"messages:\n  - {{role: user, content: call lookup_order}}\n{TOOLS}tool_choice: {choice}\n"
                          "testData:\n  - {id: one, inputs: {}, checks: [{tool-called: lookup_order}]}\n")
        pytester.runpytest("--record-mode=all").assert_outcomes(passed=2)
        sent = {r.kind: r.body for r in fake_llm.requests}
        assert sent["openai"]["tool_choice"] == ("required" if choice == "required" else {"type": "function", "function": {"name": "lookup_order"}})
        assert sent["anthropic"]["tool_choice"] == expected_anthropic


def test_prompts_without_tools_send_none(pytester: pytest.Pytester, fake_llm: FakeLLM, fake_api_keys: None) -> None:
    pytester.makepyprojecttoml(two_provider_pyproject(fake_llm))
    pytester.makefile(".prompt.yaml", plain="messages:\n  - {role: user, content: call lookup_order}\ntestData:\n  - {id: one, inputs: {}, checks: [tool-not-called]}\n")
    pytester.runpytest("--record-mode=all").assert_outcomes(passed=2)
    assert all("tools" not in r.body and "tool_choice" not in r.body for r in fake_llm.requests)


@pytest.mark.parametrize(("declaration", "message"), [
    ("tools: {name: x}", "'tools' must be a list of tools ({type: function, function: {name, parameters}}), got a mapping"),
    ("tools: [lookup]", "'tools': tool 1 must be a mapping {type: function, function: {name, parameters}}, got a string"),
    ("tools: [{type: retrieval}]", "'tools': tool 1: 'type' must be function, got 'retrieval'"),
    ("tools: [{type: function}]", "'tools': tool 1 needs a 'function' mapping with a name (got nothing (null))"),
    ("tools: [{type: function, function: {name: look up}}]", "'tools': tool 1: 'function.name' must be 1 to 64 letters, digits, '_' or '-', got 'look up'"),
    ("tools: [{type: function, function: {name: a, description: 3}}]", "'tools': tool 1 (a): 'function.description' must be a string, got a whole number"),
    ("tools: [{type: function, function: {name: a, parameters: [1]}}]", "'tools': tool 1 (a): 'function.parameters' must be a JSON Schema mapping, got a list"),
    ("tools: [{type: function, function: {name: a, parameters: {type: objekt}}}]",
     "'tools': tool 1 (a): 'function.parameters' is not a valid JSON Schema: 'objekt' is not valid under any of the given schemas (at type)"),
    ("tools: [{type: function, function: {name: a}}, {type: function, function: {name: a}}]", "'tools': tool 2: the name 'a' is declared twice"),
    ("tool_choice: auto", "'tool_choice' is set, but no tools are declared"),
    ("tools: [{type: function, function: {name: a}}]\ntool_choice: always",
     "'tool_choice' must be one of auto, none, required or {type: function, function: {name}}, got 'always'"),
    ("tools: [{type: function, function: {name: a}}]\ntool_choice: {type: function, function: {name: b}}",
     "'tool_choice' names the tool 'b', which is not declared (declared: a)"),
])
def test_bad_tool_declarations_are_collection_errors_naming_the_file(echo_project: pytest.Pytester, declaration: str, message: str) -> None:
    echo_project.makefile(".prompt.yaml", bad=f"messages:\n  - {{role: user, content: hi}}\n{declaration}\ntestData:\n  - {{id: one}}\n")
    result = echo_project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"bad.prompt.yaml:*: {message}"])


def test_a_check_declared_wrong_is_a_collection_error(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yaml", bad="messages:\n  - {role: user, content: hi}\ntestData:\n  - {id: one, inputs: {}, checks: [{tool-call-order: lookup}]}\n")
    result = echo_project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["bad.prompt.yaml:*tool-call-order needs a list of tool names, in the order they must be called*"])


PROMPTFOO = """\
prompts: ["{{ask}}"]
providers:
  - id: openai:chat:gpt-4o
    label: gpt
    config:
      apiBaseUrl: %(openai)s
      tool_choice: required
      tools:
        - type: function
          function:
            name: get_weather
            parameters: {type: object, properties: {city: {type: string}}, required: [city]}
  - id: anthropic:messages:claude-3-5-haiku-20241022
    label: claude
    config:
      tools:
        - name: get_weather
          description: The weather in a city
          input_schema: {type: object, properties: {city: {type: string}}, required: [city]}
      tool_choice: {type: tool, name: get_weather}
tests:
  - vars: {ask: 'call get_weather with {"city": "Oslo"}'}
    assert:
      - type: is-valid-openai-tools-call
      - type: tool-call-f1
        value: [get_weather]
      - type: is-valid-function-call
  - vars: {ask: 'call get_weather with {"town": "Oslo"}'}
    assert:
      - type: tool-call-f1
        value: get_weather, get_time
        threshold: 0.5
      - type: is-valid-function-call
"""


def test_promptfoo_provider_tools_are_sent_and_checked(pf: pytest.Pytester, fake_llm: FakeLLM, fake_api_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm.anthropic_base_url)
    pf.makefile(".yaml", promptfooconfig=PROMPTFOO % {"openai": fake_llm.openai_base_url})
    result = pf.runpytest("--record-mode=all", "-n", "2")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*✗ is-valid-function-call — Call to \"get_weather\" does not match schema: 'city' is a required property"])
    sent = {r.kind: r.body for r in fake_llm.requests if "Oslo" in str(r.body) and "town" not in str(r.body)}
    assert sent["openai"]["tool_choice"] == "required"
    assert sent["openai"]["tools"][0]["function"]["name"] == "get_weather"
    assert sent["anthropic"]["tools"] == [{"name": "get_weather", "description": "The weather in a city",
                                           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
    assert sent["anthropic"]["tool_choice"] == {"type": "tool", "name": "get_weather"}


def test_promptfoo_tool_declarations_are_checked(pf: pytest.Pytester) -> None:
    pf.makefile(".yaml", promptfooconfig="prompts: [hi]\nproviders:\n  - id: echo\n    config:\n      tools: [{type: function, function: {name: 'a b'}}]\n"
                "  - id: openai:gpt-4o\n    config: {tool_choice: auto}\ntests:\n  - vars: {}\n")
    result = pf.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "promptfooconfig.yaml:*: provider 'echo' config 'tools': tool 1: 'function.name' must be 1 to 64 letters, digits, '_' or '-', got 'a b'",
        "promptfooconfig.yaml:*: provider 'openai:gpt-4o' config 'tool_choice' is set, but no tools are declared",
    ])


SCRIPTED = '''\
def answer(request):
    names = [t["function"]["name"] for t in request.tools]
    if "bad" in request.messages[-1][1]:
        return {"text": "", "tool_calls": [{"arguments": "{}"}]}
    return {"text": "Looking it up.", "tool_calls": [{"name": names[0], "arguments": {"order_id": "A1"}}]}
'''


def test_a_python_provider_answers_with_tool_calls(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["python:agentfake:answer"]\n')
    pytester.makepyfile(agentfake=SCRIPTED)
    pytester.makefile(".prompt.yaml", agent="messages:\n  - {role: user, content: '{{ ask }}'}\n" + TOOLS +
                      "testData:\n  - {id: good, inputs: {ask: refund}, checks: [{tool-called: {name: lookup_order, arguments: {order_id: A1}}}, tool-args-valid, {contains: Looking}]}\n"
                      "  - {id: bad, inputs: {ask: bad}, checks: [tool-args-valid]}\n")
    result = pytester.runpytest("-n", "2")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*python:agentfake:answer returned a bad 'tool_calls': each of 'tool_calls' must be a mapping with a 'name'*"])


def test_declared_tools_count_toward_the_cost_bound() -> None:
    from promptcheck.providers.base import ProviderRequest
    from promptcheck.providers.costcap import input_tokens_at_most

    plain = ProviderRequest("openai", "gpt-4o", "gpt", (("user", "hi"),))
    tool = {"type": "function", "function": {"name": "lookup_order", "description": "x" * 400}}
    assert input_tokens_at_most(ProviderRequest("openai", "gpt-4o", "gpt", (("user", "hi"),), tools=(tool,))) >= input_tokens_at_most(plain) + 200


TURN_AGENT = '''\
def answer(request):
    last = request.messages[-1][1]
    if "refund" in last:
        return {"text": "Checking.", "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}]}
    return {"text": "Anything else?"}
'''


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_tool_checks_judge_each_turn_of_a_conversation(pytester: pytest.Pytester, workers: list[str]) -> None:
    # A turn's checks see that turn's calls and the prompt's declared tools, as a single answer's do.
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["python:turnagent:answer"]\n')
    pytester.makepyfile(turnagent=TURN_AGENT)
    pytester.makefile(".prompt.yaml", agent="messages:\n  - {role: system, content: Support agent}\n" + TOOLS + """\
testData:
  - id: thread
    turns:
      - user: I want a refund
        checks: [{tool-called: {name: lookup_order, arguments: {order_id: A1}}}, tool-args-valid]
      - user: Thanks
        checks: [{tool-called: issue_refund}]
""")
    result = pytester.runpytest("-p", "no:cacheprovider", *workers)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['*turn 2 (user: "Thanks")*', "*✗ tool-called: issue_refund*"])
    assert "turn 1 (user:" not in result.stdout.str()
