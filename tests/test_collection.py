"""Prompt files become items: which files, which ids, which models, and selection with -k/-m."""

from __future__ import annotations

import pytest

from conftest import GH_PROMPT

SEED_STYLE = """\
name: Architect
metadata:
  tags: [realtime, pub-sub]
variables:
  - name: scale
    required: true
model: gpt-4o
messages:
  - role: system
    content: 'If impossible answer only {"error": "insufficient"}'
  - role: user
    content: "Design for {{ scale }}."
testData:
  - inputs:
      scale: ten million users
    expected: design
  - id: tiny
    inputs:
      scale: one user
    expected: one
evaluators:
  - name: Terminology
    type: regex
    pattern: "(?i)design"
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_items_per_case_and_model(echo_project: pytest.Pytester, workers: list[str]) -> None:
    echo_project.makefile(".prompt.yml", greeter=GH_PROMPT)
    result = echo_project.runpytest("--models", "echo,reference", "-rA", *workers)
    # echo answers with the rendered user message, so every string evaluator passes;
    # the reference model has no `output:` in flat testData, so it is skipped with a reason.
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines(["PASSED greeter.prompt.yml::ada[[]echo[]]", "SKIPPED * no reference answer*"])


def test_collect_only_shows_stable_ids(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yaml", arch=SEED_STYLE)
    result = echo_project.runpytest("--collect-only", "-q", "--models", "openai:gpt-4o,echo")
    result.stdout.fnmatch_lines(
        [
            "arch.prompt.yaml::ten-million-users[[]openai:gpt-4o[]]",
            "arch.prompt.yaml::ten-million-users[[]echo[]]",
            "arch.prompt.yaml::tiny[[]openai:gpt-4o[]]",
            "arch.prompt.yaml::tiny[[]echo[]]",
        ]
    )


def test_models_come_from_the_file_unless_overridden(pytester: pytest.Pytester) -> None:
    pytester.makefile(".prompt.yaml", arch=SEED_STYLE)
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["arch.prompt.yaml::tiny[[]openai:gpt-4o[]]"])
    pytester.makefile(".prompt.yml", gh=GH_PROMPT)
    result = pytester.runpytest("--collect-only", "-q", "gh.prompt.yml")
    result.stdout.fnmatch_lines(["gh.prompt.yml::ada[[]github:openai/gpt-4o-mini[]]"])


def test_pyproject_models_and_globs(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["echo"]\nprompt_globs = ["*.llm.yaml"]\nprompt_dirs = []\n')
    pytester.makefile(".llm.yaml", custom=SEED_STYLE)
    pytester.makefile(".prompt.yaml", ignored=SEED_STYLE)
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["custom.llm.yaml::tiny[[]echo[]]", "*2 tests collected*"])


def test_every_yaml_under_prompts_dir_is_collected(echo_project: pytest.Pytester) -> None:
    echo_project.mkdir("prompts")
    (echo_project.path / "prompts" / "plain.yaml").write_text(SEED_STYLE)
    (echo_project.path / "notes.yaml").write_text("just: data\n")
    result = echo_project.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["prompts/plain.yaml::tiny[[]echo[]]", "*2 tests collected*"])


def test_k_selects_by_case_or_model(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yaml", arch=SEED_STYLE)
    by_case = echo_project.runpytest("--models", "echo,reference", "-k", "tiny", "--collect-only", "-q")
    by_case.stdout.fnmatch_lines(["*tiny[[]echo[]]", "*tiny[[]reference[]]", "*2/4 tests collected (2 deselected)*"])
    by_model = echo_project.runpytest("--models", "echo,reference", "-k", "reference", "--collect-only", "-q")
    by_model.stdout.fnmatch_lines(["*2/4 tests collected (2 deselected)*"])
    assert "[echo]" not in by_model.stdout.str()


def test_tags_become_markers(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yaml", arch=SEED_STYLE)
    echo_project.makefile(".prompt.yml", greeter=GH_PROMPT)
    result = echo_project.runpytest("-m", "pub-sub", "--strict-markers", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*2/4 tests collected (2 deselected)*"])
    assert "greeter" not in result.stdout.str()


def test_case_file_adds_cases_and_checks(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yaml", arch=SEED_STYLE)
    echo_project.mkdir("cases")
    (echo_project.path / "cases" / "extra.yaml").write_text(
        """\
prompt: Architect
checks:
  - {not-icontains: polling}
cases:
  - id: from-case-file
    inputs: {scale: a billion users}
    expected: billion
"""
    )
    (echo_project.path / "cases" / "arch.yaml").write_text("- id: by-stem\n  inputs: {scale: polling fans}\n")
    result = echo_project.runpytest("-v")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*by-stem[[]echo[]] FAILED*", "*from-case-file[[]echo[]] PASSED*"])
    result.stdout.fnmatch_lines(["*not-icontains: polling — found 'polling'*(forbidden by not-icontains)*"])


def test_derived_ids_that_collide_get_a_stable_suffix(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(
        ".prompt.yml",
        twins="""\
name: Twins
messages: [{role: user, content: "{{a}} {{b}}"}]
testData:
  - {a: same start, b: one}
  - {a: same start, b: two}
""",
    )
    first = echo_project.runpytest("--collect-only", "-q").stdout.lines
    ids = sorted(line for line in first if "::" in line)
    assert len(ids) == 2 and ids[0] != ids[1]
    assert all(line.split("::")[1].startswith("same-start-") for line in ids)
    assert sorted(line for line in echo_project.runpytest("--collect-only", "-q").stdout.lines if "::" in line) == ids
