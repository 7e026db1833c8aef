"""Checks through pytest: verdicts, failure messages a user reads, providers without network."""

from __future__ import annotations

import json

import pytest

ANSWERS = '''\
ANSWERS = {
    "good": "- **Gateway:** epoll workers\\n- Pub/sub backplane: Redis",
    "intro": "Sure! Here is the design:\\n- epoll workers",
    "outro": "- epoll workers\\n- I hope this helps!",
    "code": "- epoll workers\\n```python\\nprint(1)\\n```",
    "prose": "The gateway uses epoll workers.",
    "error": '```json\\n{"error": "Hardware constraints insufficient for SLA"}\\n```',
    "error-with-text": 'Here you go: {"error": "Hardware constraints insufficient for SLA"}',
}


def answer(request):
    user = [content for role, content in request.messages if role == "user"][-1]
    return ANSWERS[user.split(":", 1)[1].strip()]
'''

PROMPT = """\
name: Arch
model: python:fake_model:answer
messages:
  - role: system
    content: 'If the hardware cannot meet the SLA, output a JSON block `{"error": "Hardware constraints insufficient for SLA"}`.'
  - role: user
    content: "kind: {{ kind }}"
constraints: [no-code-blocks, no-intro-text, no-conclusion, bullets-only]
testData:
  - {id: good, inputs: {kind: good}, expected: backplane}
  - {id: intro, inputs: {kind: intro}}
  - {id: outro, inputs: {kind: outro}}
  - {id: code, inputs: {kind: code}}
  - {id: prose, inputs: {kind: prose}}
  - {id: impossible, inputs: {kind: error}, expected: error}
  - {id: impossible-chatty, inputs: {kind: error-with-text}, expected: error}
  - {id: false-refusal, inputs: {kind: error}, expected: backplane}
"""


@pytest.fixture
def arch(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml("[tool.promptcheck]\n")  # the file's own model, not echo
    pytester.makepyfile(fake_model=ANSWERS)
    pytester.makefile(".prompt.yaml", arch=PROMPT)
    return pytester


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_verdicts(arch: pytest.Pytester, workers: list[str]) -> None:
    result = arch.runpytest("-rA", *workers)
    result.assert_outcomes(passed=2, failed=6)
    for passing in ("good", "impossible"):
        result.stdout.fnmatch_lines([f"PASSED arch.prompt.yaml::{passing}[[]python:fake_model:answer[]]"])


def test_failure_messages_quote_the_offending_line(arch: pytest.Pytester) -> None:
    result = arch.runpytest()
    out = result.stdout.str()
    assert "Traceback" not in out and "def runtest" not in out
    result.stdout.fnmatch_lines(
        [
            "arch.prompt.yaml · case intro · model python:fake_model:answer",
            "2 of 5 checks failed:",
            "  ✗ no-intro-text — answer opens with a preamble: 'Sure! Here is the design:'",
            "      line 1: Sure! Here is the design:",
            "              ^^^^^*",
            "  ✗ bullets-only — line 1 is not a bullet: 'Sure! Here is the design:'",
            "*",
            "*",
            "answer (* chars, live):",
            "  | Sure! Here is the design:",
        ]
    )
    result.stdout.fnmatch_lines(["  ✗ no-conclusion — answer ends with a sign-off: '- I hope this helps!'"])
    result.stdout.fnmatch_lines(["  ✗ no-code-blocks — answer has a code block at line 2: '```python'"])
    result.stdout.fnmatch_lines(["  ✗ bullets-only — line 1 is not a bullet: 'The gateway uses epoll workers.'"])
    result.stdout.fnmatch_lines(["*case impossible-chatty*", "  ✗ error-json rule — expected only the error object*"])
    result.stdout.fnmatch_lines(["*case false-refusal*", "*✗ error-json rule — answer contains the error object*(false refusal)"])


def test_project_wide_constraints_and_phrases_from_pyproject(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        '[tool.promptcheck]\nmodels = ["reference"]\nconstraints = ["no-intro-text"]\n'
        '[tool.promptcheck.phrases]\nintro = ["Behold"]\n'
    )
    pytester.makefile(
        ".prompt.yaml",
        p="""\
name: P
messages: [{role: user, content: "{{q}}"}]
testData:
  - {id: plain, inputs: {q: x}, output: "- fine"}
  - {id: behold, inputs: {q: x}, output: "Behold, the answer"}
""",
    )
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*✗ no-intro-text — answer opens with a preamble: 'Behold, the answer'"])


def test_github_string_evaluators_trim_and_ignore_case(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(
        ".prompt.yml",
        gh="""\
name: Gh
messages: [{role: user, content: "  {{text}}  "}]
testData:
  - {text: "Hello World"}
evaluators:
  - {name: eq, string: {equals: "Hello World"}}
  - {name: starts, string: {startsWith: "hello"}}
  - {name: ends, string: {endsWith: "WORLD"}}
  - {name: has, string: {contains: "o w"}}
  - {name: wrong, string: {equals: "hello world"}}
""",
    )
    result = echo_project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["1 of 5 checks failed:", "  ✗ wrong — *"])


def test_model_graded_evaluators_load_and_skip_clearly(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(
        ".prompt.yml",
        graded="""\
name: Graded
messages: [{role: user, content: "{{q}}"}]
testData: [{q: hi}]
evaluators:
  - name: judge
    llm: {modelId: openai/gpt-4o, prompt: "is {{completion}} good?", choices: [{choice: yes, score: 1}]}
  - {name: Similarity, uses: github/similarity}
""",
    )
    result = echo_project.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*nothing to check: model-graded check skipped: no judge model; set --judge-model or [[]tool.promptcheck[]] judge*"])


def test_model_graded_evaluators_do_not_hide_real_failures(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(
        ".prompt.yml",
        graded="""\
name: Graded
messages: [{role: user, content: "{{q}}"}]
testData: [{q: hi}]
evaluators:
  - {name: Similarity, uses: github/similarity}
  - {name: says bye, string: {contains: bye}}
""",
    )
    result = echo_project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  ✗ says bye — *", "  (not run) Similarity — *model-graded*"])


def test_reference_answers_prove_checks_both_ways(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(
        ".prompt.yaml",
        ref="""\
name: Ref
model: reference
messages: [{role: user, content: "{{q}}"}]
testData:
  - {id: good, inputs: {q: x}, expected: pub/sub, output: "uses a pub/sub backplane"}
  - id: bad
    inputs: {q: x}
    expected: pub/sub
    output: "uses polling"
    xfail: {reference: "bad answer must be rejected"}
  - id: bad-but-accepted
    inputs: {q: x}
    expected: polling
    output: "uses polling"
    xfail: "wrongly marked: this answer passes"
""",
    )
    result = echo_project.runpytest("-rA", "--models", "reference")
    result.assert_outcomes(passed=1, xfailed=1, failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*wrongly marked*"])
    # In the run record a rejected bad answer is an expected failure, not a failing model.
    [record] = [json.loads(p.read_text()) for p in (echo_project.path / "reports" / "runs").glob("*.json")]
    by_case = {i["case_id"]: i for i in record["items"]}
    assert by_case["bad"]["status"] == "skip"
    assert by_case["bad"]["skip_reason"] == "expected failure: bad answer must be rejected"
    assert by_case["bad-but-accepted"]["status"] == "fail"
    assert "but passed" in by_case["bad-but-accepted"]["error"]


def test_provider_failure_is_an_error_with_the_message(echo_project: pytest.Pytester) -> None:
    echo_project.makepyfile(broken="def answer(request):\n    raise RuntimeError('quota exhausted for key ...')\n")
    echo_project.makefile(".prompt.yaml", p="name: P\nmodel: python:broken:answer\nmessages: [{role: user, content: hi}]\ntestData: [{id: one, inputs: {}}]\n")
    result = echo_project.runpytest("--models", "python:broken:answer")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["provider error: python:broken:answer raised RuntimeError: quota exhausted for key ..."])
    assert "Traceback" not in result.stdout.str()


def test_unknown_model_is_an_error_naming_the_fix(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yaml", p="name: P\nmodel: mystery-7b\nmessages: [{role: user, content: hi}]\ntestData: [{id: one, inputs: {}}]\n")
    result = echo_project.runpytest("--models", "mystery-7b")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["provider error: no provider for model 'mystery-7b': *[[]tool.promptcheck.providers.*"])
