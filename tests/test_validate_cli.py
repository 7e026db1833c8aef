"""``promptcheck validate``: the exact lines a user sees for each kind of bad input, the summary,
and the exit status. Plain pytest: ``cli.main`` runs in-process in a throwaway project."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from promptcheck.checks.registry import CheckRegistry
from promptcheck.cli import main

CLEAN = """\
name: Greeter
model: openai/gpt-4o-mini
modelParameters:
  temperature: 0.2
messages:
  - role: system
    content: You greet people.
  - role: user
    content: "Say hello to {{name}}."
testData:
  - name: Ada
  - name: Linus
evaluators:
  - name: mentions the name
    string:
      contains: "{{name}}"
"""

ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}' if prev else 'x'] * 10)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e"], ["a", "b", "c", "d", "e", "f"])
)


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    (tmp_path / "prompts").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(project_dir: Path, relpath: str, text: str | bytes) -> Path:
    path = project_dir / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def validate(capsys: pytest.CaptureFixture[str], *paths: str) -> tuple[int, list[str], str]:
    code = main(["validate", *paths])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_clean_file_exits_zero(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project_dir, "prompts/greeter.prompt.yml", CLEAN)
    assert validate(capsys, "prompts/greeter.prompt.yml") == (0, ["1 file checked: no problems"], "")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "name: x\nmessages:\n  - role: user\n   content: [unclosed\n",
            "p.prompt.yml:4:4: invalid YAML: did not find expected '-' indicator "
            "(while parsing a block collection that starts at line 3, column 3)",
            id="invalid-yaml",
        ),
        pytest.param(
            'name: x\nmessages:\n  - role: user\n    content: "never closed\n',
            "p.prompt.yml:5:1: invalid YAML: found unexpected end of stream "
            "(while scanning a quoted scalar that starts at line 4, column 14)",
            id="unclosed-quote-says-where-it-started",
        ),
        pytest.param(
            "name: x\nmessages:\n  - role: user\n\tcontent: hi\n",
            "p.prompt.yml:4:1: invalid YAML: found a tab character that violates indentation; "
            "YAML indentation must use spaces, not tabs",
            id="tab-indentation",
        ),
        pytest.param(
            CLEAN + "messages: [{role: user, content: hi}]\n",
            "p.prompt.yml:17:1: invalid YAML: duplicate key 'messages' (first at line 5); "
            "YAML would keep only the last one",
            id="duplicate-key",
        ),
        pytest.param("", "p.prompt.yml:1:1: file is empty", id="empty-file"),
        pytest.param(
            "# nothing here\n---\n", "p.prompt.yml:1:1: file is empty (only comments or document markers)", id="comments-only"
        ),
        pytest.param(
            ALIAS_BOMB,
            "p.prompt.yml:5:4: YAML aliases expand this document from 23 nodes to 1,234,573 (the anchor that expands most is here); "
            "refusing to load (is this an alias bomb?)",
            id="alias-bomb",
        ),
        pytest.param(
            "- role: user\n  content: hi\n",
            "p.prompt.yml:1:1: a prompt file must be a mapping of fields, got a list",
            id="not-a-mapping",
        ),
        pytest.param(
            CLEAN.replace("    string:\n      contains: \"{{name}}\"\n", "    type: regex\n    pattern: '(ab'\n"),
            "p.prompt.yml:14:5: invalid regex '(ab': missing ), unterminated subpattern at position 0",
            id="invalid-regex",
        ),
        pytest.param(
            CLEAN.replace("testData:\n  - name: Ada\n", "testData:\n  - name: Ada\n    id: same\n  - id: same\n    name: Bob\n"),
            "p.prompt.yml:13:5: duplicate case id 'same' (declared at p.prompt.yml:11:5, p.prompt.yml:13:5); "
            "case ids must be unique",
            id="duplicate-case-id",
        ),
        pytest.param(
            CLEAN.replace("  - name: Linus\n", "  - nme: Linus\n"),
            "p.prompt.yml:12:5: case 'linus' does not define template variable 'name' (used in message 2, user)",
            id="undefined-template-variable",
        ),
        pytest.param(
            CLEAN.replace("messages:", "variables:\n  - {name: name, required: true}\n  - {name: tone, required: true}\nmessages:"),
            "p.prompt.yml:14:5: case 'ada' is missing required variable 'tone'\n"
            "p.prompt.yml:15:5: case 'linus' is missing required variable 'tone'",
            id="missing-required-variable",
        ),
        pytest.param(
            CLEAN.replace("Say hello to {{name}}.", "Say hello to {{.name}}."),
            "p.prompt.yml:1:1: message 2 (user): template syntax error on template line 1: unexpected '.'; "
            "'{{.name}}' is Go template syntax, promptcheck templates use Jinja2: write '{{name}}'",
            id="go-template-syntax",
        ),
        pytest.param(
            CLEAN.replace("Say hello to {{name}}.", "Say hello to {{ name.first }}."),
            "p.prompt.yml:11:5: case 'ada': undefined template variable: 'str object' has no attribute 'first'\n"
            "p.prompt.yml:12:5: case 'linus': undefined template variable: 'str object' has no attribute 'first'",
            id="render-error-from-plan",
        ),
        pytest.param(
            "model: openai/gpt-4o\nsystem: You triage issues.\nuser: '{{input}}'\n",
            "p.prompt.yml:1:1: missing 'messages': a prompt needs at least one {role, content} message "
            "(found top-level 'system', 'user'; put them under 'messages:' as {role, content} entries)\n"
            "p.prompt.yml:1:1: warning: ignoring unknown field(s): system, user",
            id="messages-spelled-as-top-level-keys",
        ),
        pytest.param(
            CLEAN.replace("      contains:", "      matches:"),
            "p.prompt.yml:14:5: evaluator 'mentions the name': 'string' takes exactly one of "
            "equals, contains, startsWith, endsWith, got keys matches",
            id="github-string-evaluator",
        ),
    ],
)
def test_one_clear_line_per_problem(
    project_dir: Path, capsys: pytest.CaptureFixture[str], body: str, expected: str
) -> None:
    write(project_dir, "p.prompt.yml", body)
    code, lines, err = validate(capsys, "p.prompt.yml")
    assert (code, err) == (1, "")
    *problems, summary = lines
    assert problems == expected.split("\n")
    count = sum(": warning: " not in line for line in problems)
    assert summary.startswith(f"1 file checked: 1 with problems ({count} error")


def test_unknown_check_type_lists_the_known_types(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project_dir, "p.prompt.yml", CLEAN.replace("    string:\n      contains: \"{{name}}\"\n", "    type: regx\n    value: x\n"))
    code, lines, _ = validate(capsys, "p.prompt.yml")
    known = ", ".join(CheckRegistry.builtin().names())
    assert code == 1
    assert lines[0] == f"p.prompt.yml:14:5: unknown check type 'regx'; known types: {known}; did you mean 'regex'?"
    assert "regex" in known.split(", ") and "contains" in known.split(", ")


def test_wrong_field_types_are_all_reported(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        project_dir,
        "p.prompt.yml",
        "name: 5\nmodel: [a, b]\nmodelParameters: {temperature: hot, topP: high}\n"
        "messages:\n  - role: user\n    content: 12\ntestData: {a: 1}\n",
    )
    code, lines, _ = validate(capsys, "p.prompt.yml")
    assert code == 1
    assert lines == [
        "p.prompt.yml:1:1: 'name' must be a string, got a whole number",
        "p.prompt.yml:2:1: 'model' must be a string, got a list",
        "p.prompt.yml:3:1: modelParameters.temperature must be a number, got a string",
        "p.prompt.yml:3:1: modelParameters.topP must be a number, got a string",
        "p.prompt.yml:5:5: message 1: 'content' must be a string or a list of parts, got a whole number",
        "p.prompt.yml:7:1: 'testData' must be a list of test cases, got a mapping",
        "1 file checked: 1 with problems (6 errors)",
    ]


def test_non_utf8_bytes_point_at_the_byte(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project_dir, "p.prompt.yml", CLEAN.replace("You greet", "Vous saluez les gens, caf\xe9.").encode("latin-1"))
    code, lines, _ = validate(capsys, "p.prompt.yml")
    assert (code, lines[0]) == (1, "p.prompt.yml:7:39: file is not valid UTF-8 (byte 0xe9 at offset 141); save it as UTF-8")


def test_warnings_are_shown_next_to_errors(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project_dir, "p.prompt.yml", CLEAN.replace("model:", "colour: blue\nmodel:").replace("role: system", "role: robot"))
    code, lines, _ = validate(capsys, "p.prompt.yml")
    assert code == 1
    assert lines == [
        "p.prompt.yml:1:1: warning: ignoring unknown field(s): colour",
        "p.prompt.yml:7:5: message 1: role must be one of system, user, assistant, developer, got 'robot'",
        "1 file checked: 1 with problems (1 error, 1 warning)",
    ]


def test_warnings_alone_exit_zero(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project_dir, "p.prompt.yml", "colour: blue\n" + CLEAN)
    assert validate(capsys, "p.prompt.yml") == (
        0,
        ["p.prompt.yml:1:1: warning: ignoring unknown field(s): colour", "1 file checked: 1 with problems (1 warning)"],
        "",
    )


def test_several_files_all_reported(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project_dir, "prompts/a.prompt.yml", "")
    write(project_dir, "prompts/b.prompt.yml", CLEAN)
    write(project_dir, "prompts/c.yaml", CLEAN.replace("role: system", "role: robot").replace("{{name}}.", "{{nam}}."))
    write(project_dir, "prompts/sub/d.yml", "name: d\nmessages: []\n")
    code, lines, _ = validate(capsys, "prompts")
    assert code == 1
    assert lines == [
        "prompts/a.prompt.yml:1:1: file is empty",
        "prompts/c.yaml:6:5: message 1: role must be one of system, user, assistant, developer, got 'robot'",
        "prompts/c.yaml:11:5: case 'ada' does not define template variable 'nam' (used in message 2, user)",
        "prompts/c.yaml:12:5: case 'linus' does not define template variable 'nam' (used in message 2, user)",
        "prompts/sub/d.yml:2:1: 'messages' must be a non-empty list of {role, content} mappings, got an empty list",
        "4 files checked: 3 with problems (5 errors)",
    ]


def test_project_root_checks_only_prompt_and_case_files(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project_dir, "prompts/greeter.prompt.yml", CLEAN)
    write(project_dir, ".github/prompts/triage.prompt.yml", CLEAN)
    write(project_dir, ".github/workflows/ci.yml", "on: push\njobs: {}\n")  # not a prompt: skipped
    write(project_dir, "docker-compose.yaml", "services: {}\n")
    write(project_dir, "cases/greeter.yaml", "cases:\n  - id: grace\n    inputs: {name: Grace}\n")
    write(project_dir, ".venv/lib/x.prompt.yml", "")  # never walked
    assert validate(capsys, ".") == (0, ["3 files checked: no problems"], "")


def test_case_file_problems_are_reported_once(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project_dir, "prompts/greeter.prompt.yml", CLEAN)
    write(project_dir, "cases/greeter.yaml", "cases:\n  - id: grace\n    inputs: {nom: Grace}\n    checks: [{type: nope}]\n")
    code, lines, _ = validate(capsys, "prompts", "cases")
    known = ", ".join(CheckRegistry.builtin().names())
    assert code == 1
    assert lines == [
        "cases/greeter.yaml:2:5: case 'grace' does not define template variable 'name' (used in message 2, user)",
        f"cases/greeter.yaml:4:14: unknown check type 'nope'; known types: {known}",
        "2 files checked: 1 with problems (2 errors)",
    ]


def test_case_file_matching_no_prompt_is_a_warning(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project_dir, "prompts/greeter.prompt.yml", CLEAN)
    write(project_dir, "cases/greeter.yaml", "cases:\n  - {id: grace, inputs: {name: Grace}}\n")
    write(project_dir, "cases/greter.yaml", "cases:\n  - {id: hopper, inputs: {name: Grace}}\n")
    write(project_dir, "cases/named.yaml", "prompt: Greeter Two\ncases:\n  - {id: x, inputs: {name: X}}\n")
    code, lines, _ = validate(capsys, "prompts")
    assert code == 0
    assert lines == [
        "cases/greter.yaml:1:1: warning: case file matches no prompt: no prompt file is named greter.prompt.yaml "
        "(or .yml); add 'prompt: <prompt name or path>' to target another prompt",
        "cases/named.yaml:1:1: warning: case file matches no prompt: no prompt is named or located at 'Greeter Two'",
        "4 files checked: 2 with problems (2 warnings)",
    ]


def test_unmatched_case_files_need_their_prompts_validated(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Only one of two prompts is checked: a case file naming a prompt may be for the other one.
    write(project_dir, "prompts/greeter.prompt.yml", CLEAN)
    write(project_dir, "prompts/other.prompt.yml", CLEAN.replace("Greeter", "Other"))
    write(project_dir, "cases/named.yaml", "prompt: Other\ncases:\n  - {id: x, inputs: {name: X}}\n")
    write(project_dir, "cases/stray.yaml", "cases:\n  - {id: y, inputs: {name: Y}}\n")
    assert validate(capsys, "prompts/greeter.prompt.yml") == (0, ["1 file checked: no problems"], "")


def test_case_file_given_on_its_own(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project_dir, "prompts/greeter.prompt.yml", CLEAN)
    write(project_dir, "cases/greeter.yaml", "prompt: Greeter\ncases:\n  - id: a\n    inputs: [1]\n  - id: b\n    colour: red\n")
    code, lines, _ = validate(capsys, "cases/greeter.yaml")
    assert code == 1
    assert lines == [
        "cases/greeter.yaml:3:5: 'inputs' must be a mapping of variable names to values",
        "cases/greeter.yaml:5:5: unknown key(s) in test case: colour (put variables under 'inputs:'; known keys: "
        "assert, checks, description, evaluators, expected, id, inputs, max_tool_rounds, name, output, pass_rate, repeat, tags, "
        "threshold, tool_results, turns, vars, xfail)",
        "1 file checked: 1 with problems (2 errors)",
    ]


def test_nonexistent_path_is_a_usage_error(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project_dir, "prompts/greeter.prompt.yml", CLEAN)
    code, lines, err = validate(capsys, "prompts", "promts", "missing.prompt.yml")
    assert (code, lines) == (2, [])
    assert err.splitlines() == [
        "promptcheck validate: no such file or directory: 'promts'",
        "promptcheck validate: no such file or directory: 'missing.prompt.yml'",
    ]


def test_non_yaml_file_is_a_usage_error(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(capsys, "pyproject.toml") == (
        2, [], "promptcheck validate: not a YAML file (expected .yml or .yaml): 'pyproject.toml'\n"
    )


def test_directory_without_yaml_is_a_usage_error(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(capsys, "prompts") == (
        2, [], "promptcheck validate: no prompt or case files (*.yml, *.yaml) found in the given paths\n"
    )


def test_bad_settings_are_one_line_and_exit_two(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project_dir / "pyproject.toml").write_text("[tool.promptcheck]\ncases_dirs = 'cases'\n")
    write(project_dir, "prompts/greeter.prompt.yml", CLEAN)
    code, lines, err = validate(capsys, "prompts")
    assert (code, lines) == (2, [])
    assert err == "promptcheck: pyproject.toml [tool.promptcheck]: 'cases_dirs' must be list, got str 'cases'\n"


def test_project_constraints_are_checked_too(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project_dir / "pyproject.toml").write_text('[tool.promptcheck]\nconstraints = ["no-intro-txt"]\n')
    write(project_dir, "prompts/greeter.prompt.yml", CLEAN)
    code, lines, _ = validate(capsys, "prompts")
    known = ", ".join(CheckRegistry.builtin().names())
    assert code == 1
    assert lines == [
        f"pyproject.toml:1:1: [tool.promptcheck] constraints: unknown check type 'no-intro-txt'; known types: {known}; "
        "did you mean 'no-intro-text'?",
        "2 files checked: 1 with problems (1 error)",
    ]


def test_settings_come_from_the_nearest_pyproject(
    project_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project_dir / "pyproject.toml").write_text('[tool.promptcheck]\ncases_dirs = ["more_cases"]\n')
    write(project_dir, "prompts/greeter.prompt.yml", CLEAN)
    write(project_dir, "more_cases/greeter.yaml", "cases:\n  - {id: x, inputs: {nom: X}}\n")
    monkeypatch.chdir(project_dir / "prompts")
    code, lines, _ = validate(capsys, "greeter.prompt.yml")
    assert code == 1
    # Paths are shown relative to the project root, as pytest shows them.
    assert lines[0] == "more_cases/greeter.yaml:2:5: case 'x' does not define template variable 'name' (used in message 2, user)"


def test_console_script(project_dir: Path) -> None:
    script = Path(sys.executable).with_name("promptcheck")
    command = str(script) if script.exists() else shutil.which("promptcheck")
    if command is None:
        pytest.skip("the promptcheck console script is not installed")
    write(project_dir, "prompts/good.prompt.yml", CLEAN)
    write(project_dir, "prompts/bad.prompt.yml", "name: [x\n")
    done = subprocess.run([command, "validate", "prompts"], capture_output=True, text=True, cwd=project_dir, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == [
        "prompts/bad.prompt.yml:2:1: invalid YAML: did not find expected ',' or ']' "
        "(while parsing a flow sequence that starts at line 1, column 7)",
        "2 files checked: 1 with problems (1 error)",
    ]
