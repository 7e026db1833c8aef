"""Which promptfoo configs are read, as promptfoo reads them: a file named on the command line
whatever its name, configs found by the ``promptfoo_configs`` globs, a config with no tests, and
a prompt template that cannot be parsed (promptfoo errors its rows when it runs them, the rest of
the config still runs)."""

from __future__ import annotations

import pytest

from conftest import write

from promptcheck.cli import main

CONFIG = """\
    description: greet
    prompts: ['Say hello to {{name}}']
    providers: [echo]
    tests:
      - vars: {name: Ada}
        assert: [{type: icontains, value: ada}]
      - vars: {name: Linus}
        assert: [{type: icontains, value: grace}]
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", *args)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
@pytest.mark.parametrize("name", ["promptfooconfig-scenarios.yaml", "evals/greeting.yaml"])
def test_a_config_named_on_the_command_line_runs_whatever_its_name(pf: pytest.Pytester, name: str, workers: list[str]) -> None:
    write(pf, name, CONFIG)
    result = run(pf, name, *workers)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*'grace' not found in the answer*"])


def test_an_unnamed_config_with_another_name_is_not_collected(pf: pytest.Pytester) -> None:
    # A plain `pytest` reads only promptfoo's own names: any YAML in a repository is not a config.
    write(pf, "evals/greeting.yaml", CONFIG)
    result = run(pf)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_promptfoo_configs_globs_find_configs_when_discovering(pf: pytest.Pytester) -> None:
    pf.makepyprojecttoml('[tool.promptcheck]\npromptfoo_configs = ["evals/*.yaml", "./one/exact.yml"]\n')
    write(pf, "evals/greeting.yaml", CONFIG)
    write(pf, "one/exact.yml", CONFIG)
    write(pf, "other/skipped.yaml", CONFIG)
    result = run(pf)
    result.assert_outcomes(passed=2, failed=2)
    assert "skipped.yaml" not in result.stdout.str()


def test_a_named_yaml_that_is_no_prompt_file_says_what_it_lacks(pf: pytest.Pytester) -> None:
    write(pf, "compose.yaml", "services: {web: {image: nginx}}\n")
    result = run(pf, "compose.yaml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # a broken prompt file is an error among others
    result.stdout.fnmatch_lines(["compose.yaml:1:1: missing 'messages': a prompt needs at least one {role, content} message"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_config_without_tests_says_so_in_one_line(pf: pytest.Pytester) -> None:
    write(pf, "promptfooconfig.yaml", "prompts: ['Say hi']\nproviders: [echo]\n")
    result = run(pf)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines([
        "*promptfooconfig.yaml:1:1: has no tests: nothing to run (promptfoo runs nothing for it either); add a 'tests' list",
    ])


CHAT_TEMPLATE = """\
[
  {% for message in messages %
  }
  {"role": "{{ message.role }}", "content": "{{ message.content }}"}{% if not loop.last %},{% endif %}
{% endfor %}
]
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_an_unparseable_prompt_errors_its_rows_and_the_rest_still_runs(pf: pytest.Pytester, workers: list[str]) -> None:
    # Like the chat-prompt.json of promptfoo's anthropic conversation example: a tag split over
    # two lines, which nunjucks cannot parse either.
    write(pf, "chat-prompt.json", CHAT_TEMPLATE)
    write(pf, "promptfooconfig.yaml", """\
        prompts: [file://chat-prompt.json, 'Say hello to {{name}}']
        providers: [echo]
        tests:
          - vars: {name: Ada, messages: [{role: user, content: hi}]}
            assert: [{type: icontains, value: ada}]
    """)
    result = run(pf, "-rE", *workers)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*cannot render this case: prompt 'chat-prompt.json': template syntax error on template line 3: unexpected '}'*",
    ])


def test_validate_warns_of_an_unparseable_promptfoo_prompt(pf: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    write(pf, "chat-prompt.json", CHAT_TEMPLATE)
    write(pf, "promptfooconfig.yaml", "prompts: [file://chat-prompt.json]\nproviders: [echo]\ntests: [{vars: {messages: []}}]\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(pf.path)
        status = main(["validate", "promptfooconfig.yaml"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "template syntax error on template line 3: unexpected '}'; its rows will error when they run, as in promptfoo" in out
