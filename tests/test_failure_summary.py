"""Where pytest wants one line about a failure (the short test summary, which CI and -vv print
whole; --tb=line; --junitxml's message attribute) it gets a one-line headline, and the location
of the case, in the file that declares it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

PROMPT = """\
name: Greeter
messages: [{role: user, content: "{{text}}"}]
testData:
  - {id: in-prompt, inputs: {text: "Sure! Here it is"}, checks: [no-intro-text, {contains: bye}]}
"""

CASES = """\
prompt: Greeter
cases:
  - id: ok
    inputs: {text: "- fine"}
    checks: [{contains: fine}]
  - id: from-cases
    inputs: {text: "a b c d e f"}
    checks: [{contains: x1}, {contains: x2}, {contains: x3}, {contains: x4}, {contains: x5}, {contains: a}]
"""


@pytest.fixture
def greeter(echo_project: pytest.Pytester) -> pytest.Pytester:
    echo_project.makefile(".prompt.yaml", greeter=PROMPT)
    (echo_project.path / "cases").mkdir()
    (echo_project.path / "cases" / "greeter.yaml").write_text(CASES)
    return echo_project


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_short_summary_on_ci_is_one_line_per_failure(greeter: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: list[str]) -> None:
    # pytest prints a failure's whole text in the summary on CI; it used to repeat every answer there.
    monkeypatch.setenv("CI", "true")
    result = greeter.runpytest("-p", "no:cacheprovider", *workers)
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    summary = out[out.index("short test summary info") :]
    assert "answer (" not in summary and "✗" not in summary
    result.stdout.fnmatch_lines(
        [
            "FAILED greeter.prompt.yaml::in-prompt[[]echo[]] - 2 of 2 checks failed: no-intro-text, contains: bye",
            "FAILED greeter.prompt.yaml::from-cases[[]echo[]] - 5 of 6 checks failed: contains: x1, contains: x2, contains: x3, contains: x4 and 1 more",
        ],
        consecutive=False,
    )
    # The full text is still where it was, once per failure.
    assert out.count("✗ no-intro-text") == 1


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_tb_line_is_the_case_location_and_headline(greeter: pytest.Pytester, workers: list[str]) -> None:
    result = greeter.runpytest("-p", "no:cacheprovider", "--tb=line", *workers)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "greeter.prompt.yaml:4: 2 of 2 checks failed: no-intro-text, contains: bye",
            "cases/greeter.yaml:6: 5 of 6 checks failed: contains: x1, *and 1 more",
        ],
        consecutive=False,
    )
    assert "✗" not in result.stdout.str()


def test_junitxml_message_is_the_headline(greeter: pytest.Pytester) -> None:
    result = greeter.runpytest("-p", "no:cacheprovider", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=2)
    cases = {case.get("name"): case for case in ET.parse(greeter.path / "junit.xml").iter("testcase")}
    failure = cases["in-prompt[echo]"].find("failure")
    assert failure is not None
    assert failure.get("message") == "2 of 2 checks failed: no-intro-text, contains: bye"
    assert "✗ contains: bye" in (failure.text or "")


def test_item_location_is_the_case_in_its_own_file(greeter: pytest.Pytester) -> None:
    (greeter.path / "cases" / "unchecked.yaml").write_text("prompt: Greeter\ncases:\n  - id: unchecked\n    inputs: {text: hi}\n")
    result = greeter.runpytest("-p", "no:cacheprovider", "-o", "junit_family=xunit1", "--junitxml=junit.xml", "-rs")
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    cases = {case.get("name"): case for case in ET.parse(greeter.path / "junit.xml").iter("testcase")}
    assert (cases["from-cases[echo]"].get("file"), cases["from-cases[echo]"].get("line")) == ("cases/greeter.yaml", "5")
    assert (cases["in-prompt[echo]"].get("file"), cases["in-prompt[echo]"].get("line")) == ("greeter.prompt.yaml", "3")
    # A skip the engine decides is reported there too, not at a line of promptcheck's source.
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] cases/unchecked.yaml:3: nothing to check: no checks declared for this case"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_error_summary_is_the_provider_message(greeter: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: list[str]) -> None:
    monkeypatch.setenv("CI", "true")
    result = greeter.runpytest("-p", "no:cacheprovider", "--models", "nosuch:model", *workers)
    result.assert_outcomes(errors=3)
    out = result.stdout.str()
    summary = out[out.index("short test summary info") :]
    errors = [line for line in summary.splitlines() if line.startswith("ERROR ")]
    assert len(errors) == 3, summary
    assert all("· case" not in line and "Failed:" not in line for line in errors), errors
    # The full text under ERRORS keeps the item's heading.
    result.stdout.fnmatch_lines(["greeter.prompt.yaml · case in-prompt · model nosuch:model"])
