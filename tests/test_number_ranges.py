"""Out-of-range numbers (pass_rate, threshold, weight, repeat, timeout_s, concurrency) are errors
with their file:line wherever they can be written, instead of items that fail without a reason."""

from __future__ import annotations

import pytest

from promptcheck.cli import main

PROMPT = """\
name: Greeter
messages: [{role: user, content: "hello {{who}}"}]
testData: [{who: world}]
evaluators: [{name: greets, string: {contains: hello}}]
"""
PROMPTFOO = """\
prompts: ["hello {{who}}"]
providers: [echo]
"""


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param("p.prompt.yml", "pass_rate: 7\n" + PROMPT, "p.prompt.yml:1:1: 'pass_rate' must be a number from 0 to 1, got 7", id="prompt-pass-rate"),
        pytest.param("p.prompt.yml", "pass_rate: .nan\n" + PROMPT, "p.prompt.yml:1:1: 'pass_rate' must be a number from 0 to 1, got nan", id="prompt-pass-rate-nan"),
        pytest.param("p.prompt.yml", "repeat: 0\n" + PROMPT, "p.prompt.yml:1:1: 'repeat' must be a whole number of at least 1, got 0", id="prompt-repeat"),
        pytest.param("p.prompt.yml", "repeat: 2.5\n" + PROMPT, "p.prompt.yml:1:1: 'repeat' must be a whole number of at least 1, got 2.5", id="prompt-repeat-fraction"),
        pytest.param(
            "p.prompt.yml",
            PROMPT + "constraints: [{type: contains, value: hello, weight: -2}]\n",
            "p.prompt.yml:5:15: check 'weight' must be a number >= 0, got -2",
            id="check-weight",
        ),
        pytest.param(
            "p.prompt.yml",
            PROMPT + "constraints: [{type: contains, value: hello, threshold: 1.5}]\n",
            "p.prompt.yml:5:15: threshold must be a number from 0 to 1, got 1.5",
            id="check-threshold",
        ),
        pytest.param(
            "promptfooconfig.yaml",
            PROMPTFOO + "evaluateOptions: {repeat: 0, maxConcurrency: 0}\ntests: [{vars: {who: x}}]\n",
            "promptfooconfig.yaml:3:19: evaluateOptions.repeat must be a whole number of at least 1, got 0",
            id="promptfoo-repeat",
        ),
        pytest.param(
            "promptfooconfig.yaml",
            PROMPTFOO + "evaluateOptions: {maxConcurrency: 0}\ntests: [{vars: {who: x}}]\n",
            "promptfooconfig.yaml:3:19: evaluateOptions.maxConcurrency must be a whole number of at least 1, got 0",
            id="promptfoo-concurrency",
        ),
        pytest.param(
            "promptfooconfig.yaml",
            PROMPTFOO + "tests:\n  - vars: {who: x}\n    threshold: 7\n",
            "promptfooconfig.yaml:4:5: test 'threshold' must be a number from 0 to 1, got 7",
            id="promptfoo-test-threshold",
        ),
        pytest.param(
            "promptfooconfig.yaml",
            PROMPTFOO + "tests:\n  - vars: {who: x}\n    assert:\n      - {type: contains, value: hello}\n      - {type: similar, value: hi, threshold: 2}\n",
            "promptfooconfig.yaml:7:9: similar: threshold must be a number from 0 to 1, got 2.0",
            id="promptfoo-assert-threshold",
        ),
        pytest.param(
            "promptfooconfig.yaml",
            PROMPTFOO + "defaultTest:\n  assert: [{type: contains, value: hello}]\ntests:\n  - vars: {who: x}\n"
            "    assert:\n      - {type: assert-set, threshold: -1, assert: [{type: contains, value: a}]}\n",
            "promptfooconfig.yaml:8:9: assert-set: threshold must be a number from 0 to 1, got -1.0",
            id="promptfoo-assert-set-threshold-after-defaults",
        ),
    ],
)
def test_out_of_range_numbers_in_files(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, text: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    (tmp_path / "pyproject.toml").write_text('[tool.promptcheck]\nmodels = ["echo"]\n')  # type: ignore[operator]
    (tmp_path / name).write_text(text)  # type: ignore[operator]

    code = main(["validate", name])

    assert code == 1
    assert expected in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(
    "body",
    [
        "cases:\n  - {who: a, pass_rate: 7}\n",
        "cases:\n  - {who: a, threshold: 1.1}\n",
        "cases:\n  - {who: a, repeat: -1}\n",
    ],
)
def test_out_of_range_numbers_in_case_files_fail_collection_with_their_line(echo_project: pytest.Pytester, body: str) -> None:
    echo_project.makefile(".prompt.yml", greet=PROMPT)
    (echo_project.path / "cases").mkdir()
    (echo_project.path / "cases" / "greet.yaml").write_text(body)

    result = echo_project.runpytest("-p", "no:cacheprovider")

    key = body.split(", ")[1].split(":")[0]
    result.stdout.fnmatch_lines([f"cases/greet.yaml:2:*: '{key}' must be * got *"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("pass_rate = 7", "'pass_rate' must be a number from 0 to 1, got 7.0"),
        ("pass_rate = nan", "'pass_rate' must be a number from 0 to 1, got nan"),
        ("concurrency = 0", "'concurrency' must be a whole number of at least 1, got 0"),
        ("repeat = 0", "'repeat' must be a whole number of at least 1, got 0"),
        ("timeout_s = 0", "'timeout_s' must be a number more than 0, got 0.0"),
        ("timeout_s = nan", "'timeout_s' must be a number more than 0, got nan"),
    ],
)
def test_out_of_range_settings_in_pyproject_name_the_file_and_key(pytester: pytest.Pytester, setting: str, expected: str) -> None:
    pytester.makepyprojecttoml(f'[tool.promptcheck]\nmodels = ["echo"]\n{setting}\n')
    pytester.makefile(".prompt.yml", greet=PROMPT)

    result = pytester.runpytest("-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: promptcheck: pyproject.toml [[]tool.promptcheck[]]: {expected}"])
