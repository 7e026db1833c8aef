"""Every pytest session stores a run record and a report; interrupted runs keep finished items."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import eventually

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
    result.stdout.fnmatch_lines([
        "*- promptcheck -*", "promptcheck: 3 items, 3 new (no baseline)", "report: reports/index.html", "run record: reports/runs/*.json",
    ])
    [run_id] = [p.stem for p in (echo_project.path / "reports" / "runs").glob("*.json")]
    assert (echo_project.path / "reports" / f"{run_id}.html").is_file(), "each run's report is kept under its id too"


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


def journaled_cases(runs_dir: Path) -> set[str]:
    """The case ids in the run's journal so far (its last line may be half written)."""
    found = set()
    for journal in runs_dir.glob("*.journal.jsonl"):
        with contextlib.suppress(FileNotFoundError):  # removed when the session ends
            for line in journal.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError):
                    found.add(json.loads(line)["case_id"])
    return found


def sealed_records(runs_dir: Path) -> list[dict]:
    """The run records of sessions that have ended: ``finished_at`` is set when a record is sealed."""
    records = [json.loads(path.read_text(encoding="utf-8")) for path in runs_dir.glob("*.json")]
    return [record for record in records if record["finished_at"]]


def test_ctrl_c_keeps_finished_items_and_marks_the_run_incomplete(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["python:slow:answer"]\nconcurrency = 1\n')
    pytester.makepyfile(
        slow="""
import pathlib, time

def answer(request):
    text = request.messages[-1][1]
    if text == "block":
        pathlib.Path("blocked").write_text("yes")
        deadline = time.monotonic() + 60
        while not pathlib.Path("release").exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # in flight until the test has interrupted the run
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
    runs_dir = pytester.path / "reports" / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    def ended() -> bool:
        return proc.poll() is not None

    try:
        # Calls run ahead of the items: "three" blocks as soon as it starts, maybe before "one"
        # and "two" are reported. Interrupt once both are journaled, with "three" in flight.
        waited = "for 'one' and 'two' journaled while 'three' is in flight"
        if eventually(lambda: (pytester.path / "blocked").exists() and journaled_cases(runs_dir) >= {"one", "two"}, 60, ended):
            proc.send_signal(signal.SIGINT)
            waited = "for the interrupted session to seal its run record"
            if eventually(lambda: sealed_records(runs_dir), 60, ended):
                waited = ""
    finally:
        (pytester.path / "release").write_text("yes")  # the blocked call returns; the process can end
        try:
            output = proc.communicate(timeout=60)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0].decode() + "\n[killed: still running 60 s after the release]"
    assert not waited, f"gave up waiting {waited} (60 s at most); pytest's exit code {proc.returncode}, output:\n{output}"
    assert "KeyboardInterrupt" in output
    [record] = [json.loads(p.read_text()) for p in runs_dir.glob("*.json")]
    assert record["complete"] is False
    assert {i["case_id"]: i["status"] for i in record["items"]} == {"one": "pass", "two": "pass"}
    assert not list(runs_dir.glob("*.journal.jsonl"))
