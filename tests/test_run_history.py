"""Every pytest session stores a run record and a report; interrupted runs keep finished items."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

PROMPT = """\
name: Hist
messages: [{role: user, content: "{{ answer }}"}]
testData:
  - {id: alpha, inputs: {answer: "pub/sub"}, expected: pub/sub}
  - {id: beta, inputs: {answer: "pub/sub"}, expected: pub/sub}
  - {id: gamma, inputs: {answer: "polling"}, expected: pub/sub}
"""


def runs(project: pytest.Pytester) -> list[dict]:
    records = [json.loads(p.read_text()) for p in (project.path / "reports" / "runs").glob("*.json")]
    return sorted(records, key=lambda run: run["started_at"])  # fast runs share their id's second


def items_by_case(record: dict) -> dict[str, dict]:
    return {item["case_id"]: item for item in record["items"]}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_each_session_writes_one_complete_record(echo_project: pytest.Pytester, workers: list[str]) -> None:
    echo_project.makefile(".prompt.yaml", hist=PROMPT)
    result = echo_project.runpytest(*workers)
    result.assert_outcomes(passed=2, failed=1)
    [record] = runs(echo_project)
    assert record["complete"] is True and record["selected_only"] is False
    assert record["models"] == ["echo"]
    items = items_by_case(record)
    assert {k: v["status"] for k, v in items.items()} == {"alpha": "pass", "beta": "pass", "gamma": "fail"}
    gamma = items["gamma"]
    assert gamma["key"] == "hist.prompt.yaml::gamma[echo]"
    assert gamma["answer"] == "polling"
    assert [c["passed"] for c in gamma["checks"]] == [False]
    assert gamma["messages"] == [["user", "polling"]] and len(gamma["messages_hash"]) == 16
    assert (echo_project.path / "reports" / "index.html").is_file()
    result.stdout.fnmatch_lines(["*- promptcheck -*", "promptcheck: 3 items, 3 new (no baseline)", "*run record: reports/runs/*.json"])


def test_second_run_reports_regressions_against_the_first(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yaml", hist=PROMPT)
    echo_project.runpytest()
    echo_project.makefile(".prompt.yaml", hist=PROMPT.replace('{id: alpha, inputs: {answer: "pub/sub"}', '{id: alpha, inputs: {answer: "nope"}'))
    result = echo_project.runpytest()
    result.stdout.fnmatch_lines(["promptcheck: *1 regression*", "*hist.prompt.yaml::alpha[[]echo[]]*"])


def test_k_run_is_partial_and_unselected_items_are_not_removed(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yaml", hist=PROMPT)
    echo_project.runpytest()
    result = echo_project.runpytest("-k", "alpha")
    result.assert_outcomes(passed=1)
    latest = runs(echo_project)[-1]
    assert latest["selected_only"] is True and len(latest["items"]) == 1
    [headline] = [line for line in result.stdout.lines if line.startswith("promptcheck: ")]
    assert "2 not run" in headline and "removed" not in headline


def test_no_report_option_writes_nothing(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yaml", hist=PROMPT)
    echo_project.runpytest("--no-promptcheck-report")
    assert not (echo_project.path / "reports").exists()


def test_report_dir_option(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yaml", hist=PROMPT)
    echo_project.runpytest("--report-dir", "out/pc")
    assert len(list((echo_project.path / "out" / "pc" / "runs").glob("*.json"))) == 1


def test_ctrl_c_keeps_finished_items_and_marks_the_run_incomplete(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["python:slow:answer"]\nconcurrency = 1\n')
    pytester.makepyfile(
        slow="""
import pathlib, time

def answer(request):
    text = request.messages[-1][1]
    if text == "block":
        pathlib.Path("blocked").write_text("yes")
        time.sleep(3)  # the interrupt arrives while this call is in flight
    return text
"""
    )
    pytester.makefile(
        ".prompt.yaml",
        hist="""\
name: Hist
messages: [{role: user, content: "{{ answer }}"}]
testData:
  - {id: one, inputs: {answer: ok}, expected: ok}
  - {id: two, inputs: {answer: ok}, expected: ok}
  - {id: three, inputs: {answer: block}, expected: ok}
  - {id: four, inputs: {answer: ok}, expected: ok}
""",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not (pytester.path / "blocked").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the blocking call never started"
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=60)[0].decode()
    assert "KeyboardInterrupt" in output
    [record] = [json.loads(p.read_text()) for p in (pytester.path / "reports" / "runs").glob("*.json")]
    assert record["complete"] is False
    assert {i["case_id"]: i["status"] for i in record["items"]} == {"one": "pass", "two": "pass"}
    assert not list((pytester.path / "reports" / "runs").glob("*.journal.jsonl"))
