"""promptfoo configs collected by pytest: prompts x providers x tests, defaultTest, file://
references, CSV tests, array vars, ids, Nunjucks differences and clear unsupported messages."""

from __future__ import annotations


import pytest

from conftest import write

from promptcheck.checks import jsengine

BASIC = """\
description: Translate
prompts:
  - 'Translate to {{language}}: {{input}}'
  - 'Say in {{language}}: {{input}}'
providers:
  - echo
  - id: echo
    label: second-echo
    config:
      temperature: 0.2
defaultTest:
  vars:
    language: French
  assert:
    - type: icontains
      value: '{{language}}'
tests:
  - description: Hello world
    vars:
      input: Hello world
    assert:
      - type: contains
        value: Hello
  - vars:
      input: Good morning
      language: German
"""




def test_prompts_times_providers_times_tests(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", BASIC)
    result = pf.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    ids = sorted(line for line in result.outlines if "::" in line)
    assert len(ids) == 2 * 2 * 2
    assert "promptfooconfig.yaml::translate-to-language-input-hello-world[echo]" in ids
    assert "promptfooconfig.yaml::say-in-language-input-hello-world[second-echo]" in ids
    assert any(i.endswith("-german[echo]") for i in ids)  # no description: derived from the vars


def test_default_test_merges_and_echo_passes(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", BASIC)
    result = pf.runpytest("-q", "-p", "no:cacheprovider")
    # echo repeats the prompt, so the default icontains(language) and contains(Hello) pass.
    result.assert_outcomes(passed=8)


def test_file_refs_csv_expected_and_description(pf: pytest.Pytester) -> None:
    write(pf, "prompts.txt", "Rephrase as a pirate: {{body}}\n---\nSpeak like a pirate: {{body}}\n")
    write(pf, "tests.csv", 'body,__expected,__description\n"Hello","contains: pirate","pirate hello"\n'
          '"Bye","not-contains: Bye","bye fails"\n')
    write(pf, "promptfooconfig.yaml", "prompts: [file://prompts.txt]\nproviders: [echo]\ntests: file://tests.csv\n")
    result = pf.runpytest("-q", "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*pirate-hello[[]echo[]]*"])


def test_chat_prompt_json_file_and_dump(pf: pytest.Pytester) -> None:
    write(pf, "chat.json", '[{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Data: {{ item | dump }}"}]')
    write(pf, "promptfooconfig.yaml", """\
        prompts: [file://chat.json]
        providers: [echo]
        tests:
          - vars: {item: {a: 1, b: [x, "<y>"]}}
            assert:
              - type: contains
                value: 'Data: {"a":1,"b":["x","<y>"]}'
        """)
    pf.runpytest("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_array_vars_expand(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", """\
        prompts: ['{{greeting}} in {{language}}']
        providers: [echo]
        tests:
          - description: greet
            vars:
              greeting: [Hi, Hello]
              language: [French, German, Spanish]
            assert: [{type: contains, value: '{{greeting}}'}]
        """)
    result = pf.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


def test_threshold_weights_and_assert_set(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", """\
        prompts: ['alpha beta']
        providers: [echo]
        tests:
          - description: weighted pass
            threshold: 0.7
            assert:
              - {type: contains, value: alpha, weight: 3}
              - {type: contains, value: gamma, weight: 1}
          - description: set fails
            assert:
              - type: assert-set
                threshold: 0.6
                assert:
                  - {type: contains, value: alpha}
                  - {type: contains, value: gamma}
        """)
    pf.runpytest("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1, failed=1)


def test_listed_config_and_unsupported_key_message(pf: pytest.Pytester) -> None:
    pf.makepyprojecttoml('[tool.promptcheck]\npromptfoo_configs = ["evals/custom.yaml"]\n')
    write(pf, "evals/custom.yaml", "prompts: [hi]\nproviders: [echo]\nredteam: {purpose: x}\ntests: [{vars: {}}]\n")
    result = pf.runpytest("-q", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*evals/custom.yaml:3:1: unsupported feature: red-team generation ('redteam')*"])
    assert "Traceback" not in result.stdout.str()


def test_javascript_without_extra_fails_with_install_hint(pf: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    write(pf, "promptfooconfig.yaml", "prompts: [hi]\nproviders: [echo]\ntests:\n  - assert: [{type: javascript, value: 'true'}]\n")
    # In-process run: hide mini-racer for this session only, restoring it afterwards.
    write(pf, "conftest.py", """\
        from promptcheck.checks import jsengine
        real = jsengine.available
        def pytest_configure(config):
            jsengine.available = lambda: False
        def pytest_unconfigure(config):
            jsengine.available = real
        """)
    result = pf.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*install promptcheck[[]js[]] to run javascript assertions*"])


@pytest.mark.skipif(not jsengine.available(), reason="needs promptcheck[js]")
def test_javascript_file_and_python_assertions(pf: pytest.Pytester) -> None:
    write(pf, "check.cjs", "module.exports.hasWord = (output, context) => ({pass: output.includes(context.vars.word), score: 1, reason: 'ok'});\n")
    write(pf, "check.py", "def get_assert(output, context):\n    return context['vars']['word'] in output\n")
    write(pf, "promptfooconfig.yaml", """\
        prompts: ['say {{word}}']
        providers: [echo]
        tests:
          - vars: {word: apple}
            assert:
              - {type: javascript, value: 'file://check.cjs:hasWord'}
              - {type: python, value: file://check.py}
              - {type: javascript, value: "const n = output.length; n > 3"}
              - {type: python, value: "output.startswith('say')"}
        """)
    pf.runpytest("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_runs_under_xdist(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", BASIC)
    pf.runpytest("-q", "-n", "2", "-p", "no:cacheprovider").assert_outcomes(passed=8)
