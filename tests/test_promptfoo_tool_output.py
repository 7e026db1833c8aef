"""What promptfoo's assertions see as ``output`` when the model answered with tool calls
(checks/promptfoo_output.py): each provider's own shape, as promptfoo's providers return it.
A local python: model, put in the config's model's place by model_map, makes the call."""

from __future__ import annotations

import pytest
from conftest import write

BOT = """\
def answer(request):
    tool = request.tools[0]["function"]
    text = "Let me look." if "talk" in request.messages[-1][1] else ""
    return {"text": text, "tool_calls": [{"name": tool["name"], "arguments": {"city": "Paris"}, "id": "call_1"}]}
"""
TOOLS = """\
              tools:
                - type: function
                  function: {name: get_weather, parameters: {type: object, properties: {city: {type: string}}}}"""
FUNCTIONS = """\
              functions:
                - {name: get_weather, parameters: {type: object, properties: {city: {type: string}}}}"""
ANTHROPIC_TOOLS = """\
              tools:
                - {name: get_weather, input_schema: {type: object, properties: {city: {type: string}}}}"""
RESPONSES_TOOLS = """\
              tools:
                - {type: function, name: get_weather, parameters: {type: object, properties: {city: {type: string}}}}"""

CASES = {
    # OpenAI chat: the tool_calls list; JSON text for the other checks.
    "openai": ("openai:chat:gpt-4o-mini", TOOLS, "weather", [
        "{type: is-json}",
        "{type: python, value: \"output[0]['function']['name'] == 'get_weather' and output[0]['id'] == 'call_1'\"}",
        "{type: contains, value: '\"arguments\":\"{'}",
    ]),
    # With text as well: the whole message.
    "openai-with-text": ("openai:gpt-4o-mini", TOOLS, "talk weather", [
        "{type: python, value: \"output['content'] == 'Let me look.' and output['tool_calls'][0]['function']['name'] == 'get_weather'\"}",
    ]),
    # The older functions config: offered as tools, read back as message.function_call.
    "functions": ("openai:chat:gpt-4o-mini", FUNCTIONS, "weather", [
        "{type: python, value: \"output['name'] == 'get_weather' and 'Paris' in output['arguments']\"}",
        "{type: is-valid-openai-function-call}",
    ]),
    # Anthropic: the content blocks as text, a tool_use block as its JSON.
    "anthropic": ("anthropic:messages:claude-sonnet-4-5", ANTHROPIC_TOOLS, "talk weather", [
        "{type: python, value: \"output.split(chr(10) * 2)[0] == 'Let me look.' and __import__('json').loads(output.split(chr(10) * 2)[1])"
        " == {'type': 'tool_use', 'id': 'call_1', 'name': 'get_weather', 'input': {'city': 'Paris'}}\"}",
        "{type: contains, value: '\"input\":{\"city\":\"Paris\"}}'}",
    ]),
    # The Responses API: each function_call item as JSON text.
    "responses": ("openai:responses:o4-mini", RESPONSES_TOOLS, "weather", [
        "{type: contains, value: '\"type\":\"function_call\"'}",
        "{type: contains, value: get_weather}",
    ]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_tool_calling_answer_is_judged_as_promptfoo_hands_it_over(pf: pytest.Pytester, case: str) -> None:
    provider, tools, question, asserts = CASES[case]
    write(pf, "bot.py", BOT)
    pf.makepyprojecttoml(f'[tool.promptcheck.model_map]\n"{provider}" = "python:bot:answer"\n')
    pf.makefile(".yaml", promptfooconfig=f"""\
prompts: ['{{{{q}}}}']
providers:
  - id: {provider}
    label: model
    config:
{tools.replace("              ", "      ")}
tests:
  - vars: {{q: {question}}}
    assert:
""" + "".join(f"      - {a}\n" for a in asserts))
    result = pf.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_transform_gets_the_calls_and_the_check_after_it_its_result(pf: pytest.Pytester) -> None:
    write(pf, "bot.py", BOT)
    write(pf, "pick.py", """\
        def get_transform(output, context):
            return output[0]["function"]["name"]
    """)
    pf.makepyprojecttoml('[tool.promptcheck.model_map]\n"openai:chat:gpt-4o-mini" = "python:bot:answer"\n')
    pf.makefile(".yaml", promptfooconfig=f"""\
prompts: ['{{{{q}}}}']
providers:
  - id: openai:chat:gpt-4o-mini
    config:
{TOOLS.replace("              ", "      ")}
tests:
  - vars: {{q: weather}}
    options: {{transform: file://pick.py}}
    assert:
      - {{type: equals, value: get_weather}}
      - {{type: python, value: "output == 'get_weather'"}}
""")
    pf.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_other_formats_are_judged_on_the_answers_text(pytester: pytest.Pytester) -> None:
    write(pytester, "bot.py", BOT)
    pytester.makepyprojecttoml("[tool.promptcheck]\n")
    pytester.makefile(".prompt.yaml", agent="""\
messages:
  - {role: user, content: weather}
tools:
  - type: function
    function: {name: get_weather}
testData:
  - {id: one, inputs: {}, checks: [{tool-called: get_weather}, {type: equals, value: ""}]}
""")
    pytester.runpytest("-p", "no:cacheprovider", "--models", "python:bot:answer").assert_outcomes(passed=1)


def test_a_bad_function_in_functions_is_an_error_naming_it(pf: pytest.Pytester) -> None:
    pf.makefile(".yaml", promptfooconfig="""\
prompts: ['hi']
providers:
  - id: openai:chat:gpt-4o-mini
    config:
      functions:
        - {name: get weather}
tests:
  - vars: {}
""")
    result = pf.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["promptfooconfig.yaml:*: provider 'openai:chat:gpt-4o-mini' config 'functions': tool 1: "
                                 "'function.name' must be 1 to 64 letters, digits, '_' or '-', got 'get weather'"])
