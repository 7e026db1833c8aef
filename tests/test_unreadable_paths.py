"""Paths that are not files to read: a symlink loop or a FIFO named like a prompt file gives one
clear line in ``validate`` and a warning under pytest, never a traceback, a hang or silence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from promptcheck.cli import main

PROMPT = """\
name: Greeter
messages: [{role: user, content: "hello {{who}}"}]
testData: [{who: world}]
evaluators: [{name: greets, string: {contains: hello}}]
"""
LOOP = "symlink loop (following the link leads back to it); not read"
FIFO = "not a regular file but a FIFO (named pipe); not read"


def make_tree(root: Path) -> None:
    (root / "pyproject.toml").write_text('[tool.promptcheck]\nmodels = ["echo"]\n')
    prompts = root / "prompts"
    (prompts / "sub").mkdir(parents=True)
    (prompts / "good.prompt.yml").write_text(PROMPT)
    os.symlink("self", prompts / "self")  # a link to itself
    os.symlink("../sub/b", prompts / "sub" / "a")  # two links to each other
    os.symlink("../sub/a", prompts / "sub" / "b")
    os.mkfifo(prompts / "pipe.prompt.yml")  # opening it to read would block for good


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validate_reports_loops_and_fifos_one_line_each(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "prompts"])

    out, err = capsys.readouterr()
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"prompts/pipe.prompt.yml:1:1: {FIFO}",
        f"prompts/self:1:1: {LOOP}",
        f"prompts/sub/a:1:1: {LOOP}",
        f"prompts/sub/b:1:1: {LOOP}",
        "5 files checked: 4 with problems (4 errors)",
    ]


def test_validate_given_a_loop_or_a_fifo_by_name(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "prompts/self", "prompts/pipe.prompt.yml", "prompts/good.prompt.yml"])

    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        f"prompts/self:1:1: {LOOP}",
        f"prompts/pipe.prompt.yml:1:1: {FIFO}",
        "3 files checked: 2 with problems (2 errors)",
    ]


def test_a_looping_prompt_file_link_is_a_problem_not_a_runtime_error(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.symlink("loop.prompt.yml", tree / "prompts" / "loop.prompt.yml")

    code = main(["validate", "prompts/loop.prompt.yml"])

    out, err = capsys.readouterr()
    assert (code, out.splitlines()[0], err) == (1, f"prompts/loop.prompt.yml:1:1: {LOOP}", "")


def test_pytest_warns_about_loops_and_fifos_and_runs_the_rest(pytester: pytest.Pytester) -> None:
    make_tree(pytester.path)

    result = pytester.runpytest("-p", "no:cacheprovider", "-rA")

    result.assert_outcomes(passed=1, warnings=4)
    result.stdout.fnmatch_lines_random(
        [
            f"*PytestCollectionWarning: promptcheck: prompts/self: {LOOP}",
            f"*PytestCollectionWarning: promptcheck: prompts/sub/a: {LOOP}",
            f"*PytestCollectionWarning: promptcheck: prompts/sub/b: {LOOP}",
            f"*PytestCollectionWarning: promptcheck: prompts/pipe.prompt.yml: {FIFO}",
        ]
    )
    assert "Traceback" not in result.stdout.str()
