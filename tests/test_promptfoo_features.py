"""promptfoo features beyond plain prompts x providers x tests: output transforms, per-test
providers, assertScoringFunction, templated chat prompts, prompt functions, script vars,
scenarios, nunjucksFilters and _conversation threads. The echo provider answers with the
last user message, so each verdict below follows from the rendered prompt alone."""

from __future__ import annotations


import pytest

from conftest import write

from promptcheck.checks import jsengine

needs_js = pytest.mark.skipif(not jsengine.available(), reason="needs the JS extra (mini-racer)")




def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "-rs", *args)


def collected(pytester: pytest.Pytester) -> list[str]:
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    return sorted(line for line in result.outlines if "::" in line)


@needs_js
def test_test_and_assertion_transforms(pf: pytest.Pytester) -> None:
    # As in promptfoo's json-output example: options.transform parses once, an assertion's own
    # transform picks a field; javascript sees the parsed object, string checks its JSON text.
    write(pf, "t.py", """\
        def shout(output, context):
            return output["color"].upper() + "!" + context["vars"]["tail"]
    """)
    write(pf, "promptfooconfig.yaml", """\
        prompts:
          - '{"color": "{{color}}", "countries": ["Brazil", "Peru"]}'
        providers: [echo]
        defaultTest:
          vars: {tail: "?"}
        tests:
          - description: parsed
            vars: {color: purple}
            options:
              transform: JSON.parse(output)
            assert:
              - type: javascript
                value: output.color === 'purple' && output.countries.includes('Brazil')
              - type: contains-any
                transform: output.countries
                value: [Guatemala, Peru]
              - type: equals
                transform: file://t.py:shout
                value: PURPLE!?
              - type: is-json
          - description: wrong color
            vars: {color: red}
            options:
              transform: JSON.parse(output)
            assert:
              - type: javascript
                value: output.color === 'purple'
          - description: transform fails
            vars: {color: blue}
            assert:
              - type: not-contains
                transform: output.nope.deeper
                value: x
    """)
    result = run(pf)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "*case wrong-color*", "*javascript: output.color === 'purple'*after transform: {\"color\": \"red\"*",
    ])
    # A transform that throws fails the check even when negated, and says why.
    result.stdout.fnmatch_lines(["*not-contains: x*transform output.nope.deeper failed: TypeError*"])


@needs_js
def test_default_test_transform_applies_to_every_test(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", """\
        prompts: ['{{word}}']
        providers: [echo]
        defaultTest:
          options:
            transform: output.toUpperCase()
        tests:
          - vars: {word: quiet}
            assert: [{type: equals, value: QUIET}]
          - vars: {word: calm}
            assert: [{type: equals, value: calm}]
    """)
    run(pf).assert_outcomes(passed=1, failed=1)


def test_per_test_provider_override(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", """\
        prompts: ['Say {{word}}']
        providers:
          - echo
          - id: echo
            label: loud-echo
        tests:
          - description: everywhere
            vars: {word: hi}
          - description: own provider
            vars: {word: yo}
            provider: {id: echo, label: solo-echo}
          - description: named provider
            vars: {word: hey}
            provider: loud-echo
    """)
    assert collected(pf) == [
        "promptfooconfig.yaml::everywhere[echo]",
        "promptfooconfig.yaml::everywhere[loud-echo]",
        "promptfooconfig.yaml::named-provider[loud-echo]",
        "promptfooconfig.yaml::own-provider[solo-echo]",
    ]


def test_promptfoo_internal_provider_is_skipped_with_reason(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", """\
        prompts: ['Write about {{topic}}']
        providers: [echo]
        defaultTest:
          provider:
            id: promptfoo:anthropic:prompt-improver
            config: {maxTurns: 3}
        tests:
          - vars: {topic: dragons}
            assert: [{type: contains, value: dragons}]
    """)
    result = run(pf)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([
        "*promptfoo's internal provider 'promptfoo:anthropic:prompt-improver' are collected but skipped*",
        "SKIPPED*promptfoo's internal provider 'promptfoo:anthropic:prompt-improver', which promptcheck does not have*",
    ])


@needs_js
def test_assert_scoring_function_python_and_javascript(pf: pytest.Pytester) -> None:
    # promptfoo's assertion-scoring-override example: the function sees the named scores
    # (weighted mean per metric) and its {pass, score, reason} replaces the weighted mean.
    write(pf, "score.py", """\
        def accuracy_only(named_scores, context):
            score = named_scores.get("accuracy", 0)
            return {"pass": score >= context["threshold"], "score": score, "reason": f"accuracy {score}"}
    """)
    write(pf, "score.js", """\
        module.exports = (namedScores, context) => {
          const values = Object.values(namedScores);
          const min = Math.min(...values);
          return { pass: min > 0.5, score: min, reason: 'minimum ' + min };
        };
    """)
    write(pf, "promptfooconfig.yaml", """\
        prompts: ['Bonjour {{name}}']
        providers: [echo]
        defaultTest:
          threshold: 0.5
          assert:
            - {type: contains, value: Bonjour, metric: accuracy}
            - {type: contains, value: Hola, metric: fluency}
        tests:
          - description: accuracy decides
            vars: {name: Ana}
            assertScoringFunction: file://score.py:accuracy_only
          - description: minimum decides
            vars: {name: Ben}
            assertScoringFunction: file://score.js
          - description: missing function file
            vars: {name: Cy}
            assertScoringFunction: file://gone.py:score
    """)
    result = run(pf)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "*assertScoringFunction: file not found: 'gone.py'*the tests that use it will fail*",
    ])
    result.stdout.fnmatch_lines(["*case minimum-decides*", "*assertScoringFunction (score.js)*minimum 0*"])
    result.stdout.fnmatch_lines(["*Scoring function error: file not found:*gone.py*"])


def test_chat_prompt_built_by_template_tags(pf: pytest.Pytester) -> None:
    # As promptfoo's multi-turn examples: the JSON is only valid once the loop has run.
    write(pf, "chat.json", """\
        [
          {% for m in turns %}
          {"role": "{{ m.role }}", "content": "{{ m.content }}"},
          {% endfor %}
          {"role": "user", "content": "{{ question }}"}
        ]
    """)
    write(pf, "promptfooconfig.yaml", """\
        prompts: [file://chat.json]
        providers: [echo]
        tests:
          - vars:
              turns:
                - {role: user, content: Hi}
                - {role: assistant, content: Hello!}
              question: Capital of France?
            assert:
              - {type: equals, value: Capital of France?}
    """)
    run(pf).assert_outcomes(passed=1)


def test_broken_chat_template_is_one_line_error(pf: pytest.Pytester) -> None:
    write(pf, "chat.json", '[ {% for m in turns %\n} {"role": "user", "content": "x"} {% endfor %} ]')
    write(pf, "promptfooconfig.yaml", "prompts: [file://chat.json]\nproviders: [echo]\ntests:\n  - vars: {turns: []}\n")
    result = run(pf)
    result.stdout.fnmatch_lines(["*promptfooconfig.yaml:1:1: message 1 (user): template syntax error on template line 2: unexpected '}'*"])
    assert "Traceback" not in result.stdout.str()


@needs_js
def test_prompt_functions_python_and_javascript(pf: pytest.Pytester) -> None:
    write(pf, "prompt.py", """\
        def chat(context):
            return [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Tell me about " + context["vars"]["topic"]},
            ]
    """)
    write(pf, "prompt.js", """\
        module.exports = async function ({ vars }) {
          return 'JS says ' + vars.topic.toUpperCase();
        };
    """)
    write(pf, "promptfooconfig.yaml", """\
        prompts:
          - file://prompt.py:chat
          - id: file://prompt.js
            label: js
        providers: [echo]
        tests:
          - vars: {topic: owls}
            assert:
              - {type: icontains, value: owls}
              - {type: not-contains, value: Be brief}
    """)
    run(pf).assert_outcomes(passed=2)


def test_prompt_function_file_missing_names_it(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", "prompts: [file://nothere.py:fn]\nproviders: [echo]\ntests:\n  - vars: {a: 1}\n")
    run(pf).stdout.fnmatch_lines(["*prompt: file not found: 'nothere.py'*"])


@needs_js
def test_vars_computed_by_python_and_javascript(pf: pytest.Pytester) -> None:
    # promptfoo's config-dynamic-var example: get_var(var_name, prompt, other_vars) -> {output}.
    write(pf, "load.py", """\
        def get_var(var_name, prompt, other_vars):
            return {"output": f"[{var_name} for {other_vars['role']}]"}
    """)
    write(pf, "load.js", """\
        module.exports = (varName, prompt, otherVars) => ({ output: otherVars.role.length });
    """)
    write(pf, "bad.py", """\
        def get_var(var_name, prompt, other_vars):
            return {"error": "no such role"}
    """)
    write(pf, "promptfooconfig.yaml", """\
        prompts: ['{{system}} / {{size}}']
        providers: [echo]
        tests:
          - vars: {role: sales, system: file://load.py, size: file://load.js}
            assert:
              - {type: equals, value: '[system for sales] / 5'}
    """)
    run(pf).assert_outcomes(passed=1)
    write(pf, "promptfooconfig.yaml", """\
        prompts: ['{{system}}']
        providers: [echo]
        tests:
          - vars: {role: x, system: file://bad.py}
    """)
    run(pf).stdout.fnmatch_lines(["*var 'system' (bad.py) returned an error: no such role*"])


def test_scenarios_combine_data_and_tests(pf: pytest.Pytester) -> None:
    # promptfoo's scenarios doc: every test runs once per config entry, the entry's vars under the test's.
    write(pf, "promptfooconfig.yaml", """\
        prompts: ['In {{language}}: {{input}}']
        providers: [echo]
        scenarios:
          - description: Translations
            config:
              - vars: {language: Spanish, expected: Hola}
              - vars: {language: French, expected: Bonjour}
            tests:
              - description: greeting
                vars: {input: Hello}
                assert:
                  - {type: contains, value: '{{language}}'}
              - description: override
                vars: {input: Hi, language: German}
                assert:
                  - {type: contains, value: German}
    """)
    assert collected(pf) == [
        "promptfooconfig.yaml::translations-1-greeting[echo]",
        "promptfooconfig.yaml::translations-1-override[echo]",
        "promptfooconfig.yaml::translations-2-greeting[echo]",
        "promptfooconfig.yaml::translations-2-override[echo]",
    ]
    run(pf).assert_outcomes(passed=4)


@needs_js
def test_nunjucks_filters_from_javascript_stay_in_their_config(pf: pytest.Pytester) -> None:
    write(pf, "allcaps.js", "module.exports = function (str) { return str.toUpperCase(); };\n")
    write(pf, "a/promptfooconfig.yaml", """\
        prompts: ['Say {{ body | allcaps }}']
        providers: [echo]
        nunjucksFilters:
          allcaps: ../allcaps.js
        tests:
          - vars: {body: hello}
            assert: [{type: equals, value: Say HELLO}]
    """)
    write(pf, "b/promptfooconfig.yaml", """\
        prompts: ['Say {{ body | allcaps }}']
        providers: [echo]
        tests:
          - vars: {body: hello}
    """)
    result = run(pf, "a")
    result.assert_outcomes(passed=1)
    run(pf, "b").stdout.fnmatch_lines(["*No filter named 'allcaps'*"])


def test_conversation_threads_run_as_one_item_each(pf: pytest.Pytester) -> None:
    # More in test_conversations.py: _conversation's contents, order, -n 2.
    write(pf, "promptfooconfig.yaml", """\
        prompts:
          - '{% for c in _conversation %}{{ c.output }} {% endfor %}{{ question }}'
        providers: [echo]
        tests:
          - vars: {question: Who founded it?}
            metadata: {conversationId: one}
            assert: [{type: equals, value: Who founded it?}]
          - vars: {question: Where does he live?}
            metadata: {conversationId: one}
          - vars: {question: Weather?}
            metadata: {conversationId: two}
            assert: [{type: equals, value: Weather?}]
    """)
    result = run(pf, "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*::who-founded-it[[]echo[]] PASSED*", "*::weather[[]echo[]] PASSED*"])


def test_tool_calls_are_checked_against_each_providers_own_tools(pf: pytest.Pytester) -> None:
    # As in promptfoo: is-valid-openai-tools-call validates against the provider's config.tools,
    # and with no tools configured no call is valid. Echo answers with the rendered tool call.
    write(pf, "promptfooconfig.yaml", """\
        prompts:
          - '[{"type": "function", "function": {"name": "{{fn}}", "arguments": "{}"}}]'
        providers:
          - id: echo
            label: with-tools
            config:
              tools:
                - type: function
                  function: {name: get_weather, parameters: {type: object, properties: {city: {type: string}}}}
          - id: echo
            label: no-tools
        tests:
          - description: known tool
            vars: {fn: get_weather}
            assert: [{type: is-valid-openai-tools-call}]
          - description: unknown tool
            vars: {fn: get_time}
            assert: [{type: is-valid-openai-tools-call}]
    """)

    result = run(pf, "-v")

    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines_random([
        "*known-tool?with-tools? PASSED*",
        "*unknown-tool?with-tools? FAILED*",
        "*::known-tool?no-tools? FAILED*",
        "*no tool named 'get_time' (known: get_weather)*",
        "*no tools are configured for this provider*",
    ])


RESPONSES_TOOLS = """\
                - type: function
                  name: get_weather
                  parameters: {type: object, properties: {city: {type: string}}, required: [city]}"""
GEMINI_TOOLS = """\
                function_declarations:
                  - name: get_weather
                    parameters: {type: object, properties: {city: {type: string}}, required: [city]}"""


@pytest.mark.parametrize(("provider", "tools"), [
    ("openai:responses:o3", RESPONSES_TOOLS), ("google:gemini-2.5-flash", GEMINI_TOOLS),
], ids=["responses-api", "gemini"])
def test_tools_in_each_apis_own_form_reach_a_python_model_that_model_map_puts_in_its_place(
    pf: pytest.Pytester, provider: str, tools: str
) -> None:
    # openai:responses: providers declare tools flat ({type, name, parameters}), google: ones as
    # {function_declarations: [...]}; model_map sends the config's own model to a local python:
    # function, which keeps the config's tools.
    write(pf, "bot.py", """\
        def answer(request):
            tool = request.tools[0]["function"]
            return {"text": "", "tool_calls": [{"name": tool["name"], "arguments": {"city": request.messages[-1][1]}}]}
    """)
    pf.makepyprojecttoml(f'[tool.promptcheck.model_map]\n"{provider}" = "python:bot:answer"\n')
    write(pf, "promptfooconfig.yaml", f"""\
        prompts: ['{{{{city}}}}']
        providers:
          - id: {provider}
            label: model
            config:
              tools:
{tools}
        tests:
          - vars: {{city: Paris}}
            assert: [{{type: is-valid-openai-tools-call}}, {{type: tool-call-f1, value: [get_weather]}}]
    """)
    result = run(pf, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*::paris[[]model[]] PASSED*"])


def test_a_bad_gemini_function_declaration_is_an_error_at_its_line(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", """\
        prompts: ['hi']
        providers:
          - id: google:gemini-2.5-flash
            config:
              tools:
                function_declarations:
                  - name: get weather
        tests:
          - vars: {}
    """)
    result = run(pf)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["promptfooconfig.yaml:*: provider 'google:gemini-2.5-flash' config 'tools': tool 1: "
                                 "'function.name' must be 1 to 64 letters, digits, '_' or '-', got 'get weather'"])
