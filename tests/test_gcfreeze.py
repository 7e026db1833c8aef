"""gc.freeze() around a prompt session (gcfreeze.py): frozen while items run, never left frozen
for a process that goes on, and untouched for sessions without prompt files."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest

from conftest import GH_PROMPT
from promptcheck.pytest_plugin import gcfreeze

# Written into the inner project: how many objects were frozen while its items ran.
PROBE = """
import gc
from pathlib import Path

def pytest_runtest_call(item):
    Path("frozen-while-running.txt").write_text(str(gc.get_freeze_count()))
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_prompt_session_runs_frozen_and_leaves_an_outer_session_unfrozen(echo_project: pytest.Pytester, workers: list[str]) -> None:
    echo_project.makefile(".prompt.yml", greeter=GH_PROMPT)
    echo_project.makeconftest(PROBE)
    assert gc.get_freeze_count() == 0

    echo_project.runpytest(*workers).assert_outcomes(passed=2)

    assert int((echo_project.path / "frozen-while-running.txt").read_text()) > 1000, "collection's objects were frozen"
    assert gc.get_freeze_count() == 0, "this outer session can collect the inner session's cycles again"


def test_a_session_without_prompt_files_freezes_nothing(echo_project: pytest.Pytester) -> None:
    echo_project.makepyfile(test_plain="def test_one():\n    pass\n")
    echo_project.makeconftest(PROBE)

    echo_project.runpytest().assert_outcomes(passed=1)

    assert (echo_project.path / "frozen-while-running.txt").read_text() == "0"


class FakeConfig:
    def __init__(self) -> None:
        self.cleanups: list[Callable[[], None]] = []

    def add_cleanup(self, cleanup: Callable[[], None]) -> None:
        self.cleanups.append(cleanup)

    def end(self) -> None:
        for cleanup in reversed(self.cleanups):
            cleanup()


def test_the_last_session_stays_frozen_until_the_next_one_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    # As for `pytest.main()` called twice by one process: the first session is the only one
    # running, so it leaves its objects frozen for the exit; the second unfreezes them first.
    monkeypatch.setattr(gcfreeze, "_running", 0)
    monkeypatch.setattr(gcfreeze, "_frozen", False)
    try:
        first = FakeConfig()
        gcfreeze.session_started(first)  # type: ignore[arg-type]
        gcfreeze.freeze()
        first.end()
        assert gc.get_freeze_count() > 0

        second = FakeConfig()
        gcfreeze.session_started(second)  # type: ignore[arg-type]
        assert gc.get_freeze_count() == 0
        second.end()
    finally:
        gc.unfreeze()
