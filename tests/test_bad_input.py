"""Bad prompt files: one clear collection error each, no traceback, and the other files still run."""

from __future__ import annotations

import pytest

GOOD = """\
name: Good
messages: [{role: user, content: "hello {{who}}"}]
testData: [{who: world}]
evaluators: [{name: greets, string: {contains: hello}}]
"""


def run_with_good_file(project: pytest.Pytester) -> pytest.RunResult:
    project.makefile(".prompt.yml", good=GOOD)
    result = project.runpytest("-rA")
    # The good file still runs next to the broken one.
    result.stdout.fnmatch_lines(["PASSED good.prompt.yml::world[[]echo[]]"])
    assert "Traceback" not in result.stdout.str()
    return result


def test_invalid_yaml_from_the_seed(echo_project: pytest.Pytester, data_dir: object) -> None:
    seed = (data_dir / "websocket_push_architect.seed.txt").read_text()  # type: ignore[operator]
    (echo_project.path / "seed.prompt.yaml").write_text(seed)
    result = run_with_good_file(echo_project)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["seed.prompt.yaml:3:1: invalid YAML: expected a single document in the stream, but found another document"]
    )


def test_invalid_yaml_reports_line_and_column(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yml", broken="name: x\nmessages:\n  - role: user\n   content: [unclosed\n")
    result = run_with_good_file(echo_project)
    result.stdout.fnmatch_lines(["broken.prompt.yml:4:*: invalid YAML: *"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            GOOD.replace("string: {contains: hello}", "type: regx, value: x"),
            "bad.prompt.yml:4:*: unknown check type 'regx'; known types: *regex*",
            id="unknown-check-type",
        ),
        pytest.param(
            GOOD.replace("evaluators:", "modelParameters: {temperature: hot}\nevaluators:"),
            "bad.prompt.yml:4:1: modelParameters.temperature must be a number, got a string",
            id="wrong-field-type",
        ),
        pytest.param(
            GOOD.replace('messages: [{role: user, content: "hello {{who}}"}]', "messages: hello"),
            "bad.prompt.yml:2:1: 'messages' must be a non-empty list of {role, content} mappings, got a string",
            id="messages-not-a-list",
        ),
        pytest.param(
            GOOD.replace("role: user", "role: robot"),
            "bad.prompt.yml:2:12: message 1: role must be one of system, user, assistant, developer, got 'robot'",
            id="invalid-role",
        ),
        pytest.param(
            GOOD.replace("testData: [{who: world}]", "testData: [{id: a, who: x}, {id: a, who: y}]"),
            "bad.prompt.yml:*: duplicate case id 'a' (declared at *); case ids must be unique",
            id="duplicate-case-id",
        ),
        pytest.param(
            GOOD.replace("testData: [{who: world}]", "testData: [{whom: world}]"),
            "bad.prompt.yml:3:12: case 'world' does not define template variable 'who' (used in message 1, user)",
            id="undefined-template-variable",
        ),
        pytest.param(
            GOOD.replace("{name: greets, string: {contains: hello}}", "{name: r, type: regex, pattern: '(ab'}"),
            "bad.prompt.yml:4:*: invalid regex '(ab': missing ), unterminated subpattern at position 0",
            id="invalid-regex",
        ),
        pytest.param("", "bad.prompt.yml:1:1: file is empty", id="empty-file"),
        pytest.param("# only a comment\n", "bad.prompt.yml:1:1: file is empty*", id="comment-only"),
        pytest.param(
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
            "bad.prompt.yml:5:4: YAML aliases expand this document from 23 nodes to 1,234,573 (the anchor that expands most is here); refusing to load (is this an alias bomb?)",
            id="alias-bomb",
        ),
    ],
)
def test_clear_error_per_problem(echo_project: pytest.Pytester, body: str, message: str) -> None:
    echo_project.makefile(".prompt.yml", bad=body)
    result = run_with_good_file(echo_project)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([message])


def test_non_utf8_bytes(echo_project: pytest.Pytester) -> None:
    (echo_project.path / "latin.prompt.yml").write_bytes(GOOD.replace("hello", "h\xe9llo").encode("latin-1"))
    result = run_with_good_file(echo_project)
    result.stdout.fnmatch_lines(["latin.prompt.yml:2:*: file is not valid UTF-8 (byte 0xe9 at offset *); save it as UTF-8"])


def test_missing_required_variable_names_file_case_and_variable(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(
        ".prompt.yaml",
        arch="""\
name: Arch
variables:
  - {name: scale, required: true}
  - {name: budget, required: true}
messages: [{role: user, content: "{{scale}}"}]
testData:
  - id: no-budget
    inputs: {scale: big}
""",
    )
    result = run_with_good_file(echo_project)
    result.stdout.fnmatch_lines(["arch.prompt.yaml:7:5: case 'no-budget' is missing required variable 'budget'"])


def test_every_problem_in_a_file_is_listed(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(
        ".prompt.yml",
        many="""\
name: Many
modelParameters: {temperature: hot}
messages: [{role: wizard, content: hi}]
responseFormat: xml
""",
    )
    result = run_with_good_file(echo_project)
    result.stdout.fnmatch_lines(
        [
            "many.prompt.yml:3:*: message 1: role must be one of *",
            "many.prompt.yml:2:1: modelParameters.temperature must be a number, got a string",
            "many.prompt.yml:4:1: responseFormat must be one of text, json_object, json_schema, got 'xml'",
        ],
        consecutive=False,
    )


def test_broken_case_file_is_reported_with_its_prompt(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yml", good=GOOD)
    echo_project.mkdir("cases")
    (echo_project.path / "cases" / "good.yaml").write_text("cases:\n  - id: x\n    inputs: {who: y}\n    checks: [{type: nope}]\n")
    result = echo_project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["cases/good.yaml:4:14: unknown check type 'nope'; known types: *"])


def test_unknown_setting_in_pyproject_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.promptcheck]\nmodel = 'echo'\n")
    result = pytester.runpytest()
    result.stderr.fnmatch_lines(["*promptcheck: pyproject.toml [[]tool.promptcheck[]]: unknown setting 'model'; known settings: *models*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
