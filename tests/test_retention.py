"""``keep_runs``: a session removes the oldest stored runs and their pages, never the pinned
baseline, the run it just wrote, or a run another session is still writing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from promptcheck.cli import main
from promptcheck.runs.reading import list_runs
from promptcheck.runs.retention import ACTIVE_WINDOW_S, being_written, prune_runs, runs_to_prune
from promptcheck.runs.store import journal_for, runs_dir
from runfactory import make_item, make_run, store

PROMPT = """\
name: Hist
messages: [{role: user, content: "{{ answer }}"}]
testData: [{id: alpha, inputs: {answer: "pub/sub"}, expected: pub/sub}]
"""
OLD = ["20261120T010000Z-aaaaaa", "20261121T010000Z-bbbbbb", "20261122T010000Z-cccccc"]


def project(pytester: pytest.Pytester, keep_runs: str) -> pytest.Pytester:
    pytester.makepyprojecttoml(f'[tool.promptcheck]\nmodels = ["echo"]\n{keep_runs}\n')
    pytester.makefile(".prompt.yaml", hist=PROMPT)
    return pytester


def stored(report_dir: Path) -> list[str]:
    return sorted(p.stem for p in runs_dir(report_dir).glob("*.json"))


def pages(report_dir: Path) -> list[str]:
    return sorted(p.stem for p in report_dir.glob("*.html") if p.name != "index.html")


def data_dirs(report_dir: Path) -> list[str]:
    """The runs whose page's data folder (``<run id>-data/``) is there."""
    return sorted(p.name.removesuffix("-data") for p in report_dir.glob("*-data") if p.is_dir())


def old_runs(report_dir: Path, *, complete: bool = True) -> list[Path]:
    """Three runs a week older than any session of this test."""
    paths = []
    for run_id in OLD:
        paths.append(store(report_dir, make_run([make_item("alpha", model="echo", prompt="hist.prompt.yaml")], run_id, complete=complete)))
        (report_dir / f"{run_id}.html").write_text("<p>old report</p>", encoding="utf-8")
    return paths


def test_five_sessions_with_keep_runs_3_leave_the_newest_three(pytester: pytest.Pytester) -> None:
    project(pytester, "keep_runs = 3")
    report_dir = pytester.path / "reports"
    outputs = []
    for _ in range(5):
        result = pytester.runpytest()
        result.assert_outcomes(passed=1)
        outputs.append(result.stdout.lines)
        time.sleep(0.01)  # distinct start times order the runs
    kept = stored(report_dir)
    assert len(kept) == 3 and pages(report_dir) == kept, "each kept run keeps its page, and only those"
    assert data_dirs(report_dir) == kept, "a pruned run's page goes with its data folder"
    [latest] = [line.split("/")[-1][: -len(".json")] for line in outputs[-1] if line.startswith("run record: ")]
    # By start time: ids order only to the second, and these sessions may share one.
    assert latest == list_runs(report_dir)[-1].run_id
    assert (report_dir / "index.html").is_file() and latest in (report_dir / "index.html").read_text(encoding="utf-8")
    assert "removed 1 old run (keep_runs = 3)" in outputs[-1]
    assert not any(line.startswith("removed ") for output in outputs[:3] for line in output), "nothing to remove yet"


def test_keep_runs_0_keeps_every_run(pytester: pytest.Pytester) -> None:
    project(pytester, "keep_runs = 0")
    report_dir = pytester.path / "reports"
    old_runs(report_dir)
    result = pytester.runpytest()
    assert len(stored(report_dir)) == 4
    assert not [line for line in result.stdout.lines if line.startswith("removed ")]


def test_the_default_keeps_50(pytester: pytest.Pytester) -> None:
    project(pytester, "")
    report_dir = pytester.path / "reports"
    for day in range(1, 51):
        store(report_dir, make_run([make_item("alpha", model="echo", prompt="hist.prompt.yaml")], f"202611{day // 24 + 1:02d}T{day % 24:02d}0000Z-{day:06d}"))
    result = pytester.runpytest()
    assert len(stored(report_dir)) == 50 and "20261101T010000Z-000001" not in stored(report_dir)
    result.stdout.fnmatch_lines(["removed 1 old run (keep_runs = 50)"])


def test_the_pinned_baseline_survives_however_old(pytester: pytest.Pytester) -> None:
    project(pytester, "keep_runs = 1")
    report_dir = pytester.path / "reports"
    old_runs(report_dir)
    assert main(["baseline", "set", OLD[0], "--report-dir", str(report_dir)]) == 0
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([f"promptcheck: 1 items*(vs run {OLD[0]} (pinned))", "removed 2 old runs (keep_runs = 1)"])
    [current] = [run for run in stored(report_dir) if run not in OLD]
    assert stored(report_dir) == [OLD[0], current]
    assert pages(report_dir) == [OLD[0], current]


def test_a_run_named_as_baseline_in_the_settings_survives_like_a_pin(pytester: pytest.Pytester) -> None:
    project(pytester, f'keep_runs = 1\nbaseline = "{OLD[0][-6:]}"')  # an id suffix, as the terminal shows it
    report_dir = pytester.path / "reports"
    old_runs(report_dir)
    pytester.runpytest().stdout.fnmatch_lines([f"promptcheck: 1 items*(vs run {OLD[0]})", "removed 2 old runs (keep_runs = 1)"])
    assert stored(report_dir)[0] == OLD[0]
    pytester.runpytest("--baseline", OLD[0]).stdout.fnmatch_lines(["removed 1 old run (keep_runs = 1)"])
    assert len(stored(report_dir)) == 2 and stored(report_dir)[0] == OLD[0]


def test_a_run_still_being_written_survives_and_a_crashed_one_goes(pytester: pytest.Pytester) -> None:
    project(pytester, "keep_runs = 1")
    report_dir = pytester.path / "reports"
    # All three incomplete. `crashed` left its journal two hours ago; `stale` has none (it was
    # interrupted and sealed as incomplete); `running` and its journal were written just now, so
    # another session may still be adding items to it.
    crashed, stale, running = old_runs(report_dir, complete=False)
    for path in (crashed, running):
        journal_for(path).write_text("", encoding="utf-8")
    hours_ago = time.time() - 2 * ACTIVE_WINDOW_S
    for path in (crashed, journal_for(crashed), stale):
        os.utime(path, (hours_ago, hours_ago))

    pytester.runpytest().assert_outcomes(passed=1)
    [current] = [run for run in stored(report_dir) if run not in OLD]
    assert stored(report_dir) == [OLD[2], current]
    assert journal_for(running).exists() and not journal_for(crashed).exists()
    assert pages(report_dir) == [OLD[2], current]


def test_a_file_that_cannot_be_removed_is_reported_and_the_session_ends_normally(pytester: pytest.Pytester) -> None:
    project(pytester, "keep_runs = 1")
    report_dir = pytester.path / "reports"
    old_runs(report_dir)
    page = report_dir / f"{OLD[0]}.html"
    page.unlink()
    page.mkdir()  # unlink() fails on a directory, even for root
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"promptcheck: old runs not pruned (keep_runs = 1): reports/{OLD[0]}.html: Is a directory"])
    assert OLD[0] in stored(report_dir), "a run whose page could not be removed keeps its record"


def test_promptcheck_report_never_prunes(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    project(pytester, "keep_runs = 1")
    report_dir = pytester.path / "reports"
    old_runs(report_dir)
    assert main(["report", "--report-dir", str(report_dir)]) == 0
    assert stored(report_dir) == OLD and pages(report_dir) == OLD
    assert "removed" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("keep_runs = -1", "keep_runs must be 0 (keep every run) or a number of runs to keep, got -1"),
        ('keep_runs = "all"', "'keep_runs' must be int, got str 'all'"),
        ("keep_runs = true", "'keep_runs' must be int, got bool True"),
    ],
)
def test_a_bad_keep_runs_is_a_clear_error(pytester: pytest.Pytester, setting: str, message: str) -> None:
    project(pytester, setting)
    result = pytester.runpytest()
    assert result.ret != 0
    result.stderr.fnmatch_lines([f"*promptcheck: pyproject.toml [[]tool.promptcheck[]]: {message}"])
    assert not (pytester.path / "reports").exists()


# --- the decision alone ---------------------------------------------------------------------------


def test_runs_to_prune_takes_the_oldest_beyond_keep_and_skips_what_must_stay(tmp_path: Path) -> None:
    for run_id in OLD + ["20261123T010000Z-dddddd", "20261124T010000Z-eeeeee"]:
        store(tmp_path, make_run([make_item("a")], run_id))
    (runs_dir(tmp_path) / "20261101T000000Z-ffffff.json").write_text("{not json", encoding="utf-8")
    runs = list_runs(tmp_path)
    assert [i.run_id for i in runs_to_prune(runs, 3, set())] == OLD[:2], "an unreadable file is neither counted nor removed"
    assert [i.run_id for i in runs_to_prune(runs, 3, {OLD[0]})] == [OLD[1]]
    assert runs_to_prune(runs, 0, set()) == [] and runs_to_prune(runs, 5, set()) == []
    assert prune_runs(tmp_path, 3, current="20261124T010000Z-eeeeee") == OLD[:2]
    assert "20261101T000000Z-ffffff" in stored(tmp_path)


def test_being_written_looks_at_the_newest_of_record_and_journal(tmp_path: Path) -> None:
    [path] = [store(tmp_path, make_run([make_item("a")], OLD[0], complete=False))]
    [info] = list_runs(tmp_path)
    now = path.stat().st_mtime
    assert being_written(info, now + 60), "a record just written, before its journal exists"
    assert not being_written(info, now + ACTIVE_WINDOW_S + 1)
    journal_for(path).write_text("", encoding="utf-8")
    os.utime(journal_for(path), (now + ACTIVE_WINDOW_S, now + ACTIVE_WINDOW_S))
    [info] = list_runs(tmp_path)
    assert being_written(info, now + ACTIVE_WINDOW_S + 1), "the journal was touched a second ago"
    finished = store(tmp_path, make_run([make_item("a")], OLD[1]))
    assert not being_written(next(i for i in list_runs(tmp_path) if i.path == finished), now), "a complete run is done"
