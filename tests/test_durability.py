"""kill -9 and SIGTERM lose no paid answer (issue 14, item 10), and an interrupted run prints no
PluggyTeardownRaisedWarning (item 14). A record run goes in a subprocess against the loopback
FakeLLM of this process, which counts every request it gets."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import eventually
from liveproject import Project, run_record

NAMES = [f"Person{i:02d}" for i in range(30)]
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")
# "<id> PASSED" serially, "[gw0] [ 10%] PASSED <id>" under xdist
REPORTED = re.compile(r"^(\S+::\S+) PASSED|PASSED (\S+::\S+)")


def reported_in(lines: list[str]) -> list[str]:
    return [m[1] or m[2] for m in map(REPORTED.search, lines) if m]


@pytest.fixture
def slow(live_project: Project) -> Project:
    live_project.fake.delay_s = 0.1  # answers keep arriving while the test stops the run
    live_project.prompt(NAMES)
    return live_project


class Run:
    """``pytest --record-mode=new`` of the project in a subprocess, its output in a file."""

    def __init__(self, project: Project, *args: str) -> None:
        self.out = project.pytester.path / "run-output.txt"
        self._file = self.out.open("wb")
        command = [sys.executable, "-m", "pytest", *QUIET, "-v", "--record-mode=new", "--concurrency", "2", *args]
        # A session of its own: a kill reaches its call process or xdist workers as a CI runner's does.
        self.process = subprocess.Popen(
            command, cwd=project.pytester.path, stdout=self._file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def text(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def reported(self) -> list[str]:
        """The node ids the run reported PASSED so far (lines -v completed)."""
        return reported_in(self.text().splitlines())

    def stop_after(self, items: int, sig: signal.Signals) -> int:
        """Send ``sig`` once ``items`` items have reported: SIGKILL to every process of the run,
        anything else to pytest alone, as a user would. Returns pytest's exit code once nothing
        of the run is left that could still call the server."""
        try:
            reached = eventually(lambda: len(self.reported()) >= items, 120, unless=lambda: self.process.poll() is not None)
            assert reached, self.text()
            if sig == signal.SIGKILL:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
            code = self.process.wait(timeout=120)
            assert eventually(lambda: not group_alive(self.process.pid), 60), "a process of the run outlived it"
            return code
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self._file.close()


def group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies do not count: they send nothing)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def journals(root: Path) -> list[Path]:
    return sorted((root / "cassettes").rglob("*.journal"))


def assert_replays_without_a_call(project: Project, reported: list[str]) -> None:
    asked = len(project.fake.requests)
    result = project.run("-v", "--record-mode=none")
    passed = reported_in(result.outlines)
    assert set(reported) <= set(passed)
    assert len(project.fake.requests) == asked  # replay never calls
    assert journals(project.pytester.path) == []  # folded into the cassette file
    assert len(project.entries()) >= len(reported)


def test_kill_9_loses_no_answer_an_item_reported(slow: Project) -> None:
    run = Run(slow)
    assert run.stop_after(8, signal.SIGKILL) == -signal.SIGKILL
    reported = run.reported()
    assert 8 <= len(reported) < len(NAMES), run.text()

    assert_replays_without_a_call(slow, reported)


def test_kill_9_of_xdist_workers_loses_no_answer_either(slow: Project) -> None:
    run = Run(slow, "-n", "2")
    assert run.stop_after(8, signal.SIGKILL) == -signal.SIGKILL  # the workers die mid-answer too
    reported = run.reported()
    assert 8 <= len(reported) < len(NAMES), run.text()

    assert_replays_without_a_call(slow, reported)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_sigterm_is_handled_like_ctrl_c(slow: Project, sig: signal.Signals) -> None:
    run = Run(slow)
    assert run.stop_after(8, sig) == pytest.ExitCode.INTERRUPTED
    output = run.text()
    reported = run.reported()

    assert "KeyboardInterrupt" in output
    assert "PluggyTeardownRaisedWarning" not in output
    assert (slow.pytester.path / "reports" / "index.html").is_file()
    record = run_record(slow.pytester.path, _result_lines(output))
    assert record.header.complete is False
    assert {item.nodeid for item in record.items} >= set(reported)
    assert_replays_without_a_call(slow, reported)


def test_an_interrupt_while_an_item_is_reported_prints_no_pluggy_warning(slow: Project) -> None:
    # The interrupt lands inside pytest_runtest_makereport, where promptcheck's wrapper records the item.
    slow.pytester.makeconftest(
        """
        calls = []

        def pytest_runtest_makereport(item, call):
            if call.when == "call":
                calls.append(item)
                if len(calls) == 3:
                    raise KeyboardInterrupt
        """
    )
    result = slow.pytester.runpytest(*QUIET, "--record-mode=new", no_reraise_ctrlc=True)

    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert "PluggyTeardownRaisedWarning" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    assert run_record(slow.pytester.path, result).header.complete is False


class _Lines:
    def __init__(self, text: str) -> None:
        self.outlines = text.splitlines()


def _result_lines(text: str) -> pytest.RunResult:
    return _Lines(text)  # type: ignore[return-value]  # run_record reads only outlines
