"""``promptcheck cassettes unused | prune``: what a user sees, and the exit codes, after real runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from liveproject import PROMPT, Project

from promptcheck.cli import main


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what in-process pytest runs printed before
    code = main(["cassettes", *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_id(result: pytest.RunResult) -> str:
    line = next(line for line in result.outlines if line.startswith("run record: "))
    return Path(line.removeprefix("run record: ")).stem


def run_path(project: Project, result: pytest.RunResult) -> Path:
    return project.pytester.path / "reports" / "runs" / f"{run_id(result)}.json"


def next_second() -> None:
    """Run ids order by their start second; "latest" needs the next run to start in a later one."""
    time.sleep(1.01 - time.time() % 1)


@pytest.fixture
def recorded(live_project: Project) -> Project:
    """Three answers recorded; then the case 'linus' is removed and the suite replayed in full."""
    live_project.run("--record-mode=new").assert_outcomes(passed=3)
    live_project.prompt(["Ada", "Grace"])
    next_second()
    live_project.full = live_project.run()  # type: ignore[attr-defined]
    live_project.full.assert_outcomes(passed=2)  # type: ignore[attr-defined]
    return live_project


def test_unused_lists_what_the_last_full_run_did_not_use(recorded: Project, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "unused")

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("unused 1 entry in 1 cassette file under cassettes (run ")
    assert lines[1].startswith("  cassettes/prompts/greet/local.yaml  ")
    assert lines[1].endswith(f"  {PROMPT}::linus[local]")


def test_a_run_under_xdist_knows_what_its_workers_used(recorded: Project, capsys: pytest.CaptureFixture[str]) -> None:
    next_second()
    recorded.run("-n", "2").assert_outcomes(passed=2)

    code, out, err = cli(capsys, "unused")

    # Only the workers read cassettes: without their report the controller's record says that
    # nothing was used, and prune would delete every entry.
    assert (code, err) == (0, "")
    assert out.splitlines()[0].startswith("unused 1 entry in 1 cassette file under cassettes (run ")
    assert out.splitlines()[1].endswith(f"  {PROMPT}::linus[local]")


def test_dry_run_changes_nothing(recorded: Project, capsys: pytest.CaptureFixture[str]) -> None:
    before = recorded.cassette().read_bytes()

    code, out, _ = cli(capsys, "prune", "--dry-run")

    assert code == 0
    assert out.startswith("would remove 1 entry in 1 cassette file")
    assert out.rstrip().endswith("dry run: nothing was changed")
    assert recorded.cassette().read_bytes() == before


def test_prune_removes_unused_entries_and_replay_still_passes(recorded: Project, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "prune")

    assert (code, err) == (0, "")
    assert out.startswith("removed 1 unused entry from 1 cassette file (run ")
    assert sorted(e["item"] for e in recorded.entries().values()) == [f"{PROMPT}::ada[local]", f"{PROMPT}::grace[local]"]
    recorded.fake.stop()
    recorded.run().assert_outcomes(passed=2)
    assert cli(capsys, "unused")[1].startswith("no unused cassette entries in cassettes (run ")


def test_prune_deletes_the_cassette_of_a_deleted_prompt(recorded: Project, capsys: pytest.CaptureFixture[str]) -> None:
    other = recorded.pytester.path / "prompts" / "other.prompt.yaml"
    other.write_text((recorded.pytester.path / PROMPT).read_text())
    recorded.run("--record-mode=new").assert_outcomes(passed=4)
    (recorded.pytester.path / PROMPT).unlink()
    next_second()
    recorded.run().assert_outcomes(passed=2)

    code, out, _ = cli(capsys, "prune")

    assert code == 0
    assert out.splitlines() == [
        out.splitlines()[0],
        "  deleted cassettes/prompts/greet/local.yaml (no entries left)",
    ]
    assert out.startswith("removed 3 unused entries from 1 cassette file")  # linus went before
    assert not recorded.cassette().exists()


def test_a_run_of_selected_items_is_refused(recorded: Project, capsys: pytest.CaptureFixture[str]) -> None:
    full = run_id(recorded.full)  # type: ignore[attr-defined]
    next_second()
    recorded.run("-k", "ada").assert_outcomes(passed=1, deselected=1)
    before = recorded.cassette().read_bytes()

    code, out, err = cli(capsys, "prune")

    assert (code, out) == (2, "")
    assert err.startswith("promptcheck cassettes prune: error: run ")
    assert "ran only some items (-k, -m, --lf, -x or node ids)" in err
    assert err.rstrip().endswith(f"Run the whole suite with `pytest`, then try again, or choose an earlier full run with --run {full}.")
    assert recorded.cassette().read_bytes() == before
    assert cli(capsys, "prune", "--run", full)[0] == 0  # the full run it suggested works


def test_the_terminal_summary_of_a_selected_run_does_not_suggest_pruning(recorded: Project) -> None:
    result = recorded.run("-k", "ada")

    assert "promptcheck cassettes prune" not in result.stdout.str()


def test_an_unfinished_run_is_refused(recorded: Project, capsys: pytest.CaptureFixture[str]) -> None:
    path = run_path(recorded, recorded.full)  # type: ignore[attr-defined]
    header, _, items = path.read_text().partition("\n")
    assert '"complete":true' in header
    path.write_text(header.replace('"complete":true', '"complete":false') + "\n" + items)  # as a crash leaves it

    code, _, err = cli(capsys, "unused")

    assert code == 2
    assert "did not finish (interrupted or crashed)" in err


def test_a_run_without_cassette_use_is_refused(recorded: Project, capsys: pytest.CaptureFixture[str]) -> None:
    path = run_path(recorded, recorded.full)  # type: ignore[attr-defined]
    header, _, items = path.read_text().partition("\n")
    assert '"cassettes_used":' in header
    path.write_text(header.replace('"cassettes_used":', '"older_name":') + "\n" + items)  # as an older version wrote it

    code, _, err = cli(capsys, "prune")

    assert code == 2
    assert "does not record which cassette entries it used" in err


def test_entries_recorded_after_the_run_started_are_kept(recorded: Project, capsys: pytest.CaptureFixture[str]) -> None:
    full = run_id(recorded.full)  # type: ignore[attr-defined]
    recorded.prompt(["Ada", "Grace", "Barbara"])
    recorded.run("--record-mode=new", "-k", "barbara").assert_outcomes(passed=1, deselected=2)

    code, out, _ = cli(capsys, "prune", "--run", full)

    assert code == 0
    assert f"kept 1 entry recorded after run {full} started" in out
    assert f"{PROMPT}::barbara[local]" in {e["item"] for e in recorded.entries().values()}
    assert f"{PROMPT}::linus[local]" not in {e["item"] for e in recorded.entries().values()}


def test_no_runs_yet(live_project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "unused")

    assert (code, out) == (2, "")
    assert err.startswith("promptcheck cassettes unused: error: ")
    assert "no runs stored yet" in err


def test_an_action_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["cassettes"])

    assert exited.value.code == 2
    assert "ACTION" in capsys.readouterr().err
