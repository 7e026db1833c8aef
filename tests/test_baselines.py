"""Per-key baselines: each key is compared with its latest decisive (pass/fail) outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptcheck.runs.baseline import PIN_FILE, BaselineError, resolve
from promptcheck.runs.compare import compare
from promptcheck.runs.history import recent_statuses
from promptcheck.runs.record import RunRecord
from promptcheck.runs.stats import flaky_reason
from promptcheck.runs.store import RunFileError
from runfactory import make_item, make_run, store

RUN1, RUN2, RUN3, NOW = (f"2026112{n}T010000Z-00000{n}" for n in (1, 2, 3, 4))


def categories(baseline_spec: str | None, report_dir: Path, current: RunRecord) -> dict[str, tuple[str, str | None]]:
    baseline = resolve(baseline_spec, report_dir, current.header, [i.key for i in current.items])
    comparison = compare(baseline, current)
    return {ic.item.case_id: (ic.category, ic.baseline_run) for ic in comparison.items}


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    return tmp_path / "reports"


def test_an_error_is_never_a_baseline_the_last_answer_is(report_dir: Path) -> None:
    store(report_dir, make_run([make_item("a"), make_item("b", "fail")], RUN1))
    store(report_dir, make_run([make_item("a", "error", None), make_item("b", "error", None)], RUN2))  # provider down
    current = make_run([make_item("a", "fail"), make_item("b")], NOW)
    assert categories(None, report_dir, current) == {"a": ("regression", RUN1), "b": ("fix", RUN1)}


def test_a_partial_run_serves_for_its_keys_and_never_makes_others_new_or_removed(report_dir: Path) -> None:
    store(report_dir, make_run([make_item("a"), make_item("b"), make_item("c")], RUN1))
    store(report_dir, make_run([make_item("a", "fail")], RUN2, selected_only=True))  # pytest -k a
    full = make_run([make_item("a"), make_item("b", "fail"), make_item("c")], NOW)
    assert categories(None, report_dir, full) == {"a": ("fix", RUN2), "b": ("regression", RUN1), "c": ("unchanged", RUN1)}
    partial = make_run([make_item("b")], NOW, selected_only=True)
    assert categories(None, report_dir, partial) == {
        "b": ("unchanged", RUN1), "a": ("not_run", RUN2), "c": ("not_run", RUN1),
    }


def test_removed_means_gone_since_the_last_full_run(report_dir: Path) -> None:
    store(report_dir, make_run([make_item("old")], RUN1))
    store(report_dir, make_run([make_item("a"), make_item("gone")], RUN2))
    current = make_run([make_item("a")], NOW)
    assert categories(None, report_dir, current) == {"a": ("unchanged", RUN2), "gone": ("removed", RUN2)}


def test_an_error_now_is_not_evaluated_and_says_why(report_dir: Path) -> None:
    store(report_dir, make_run([make_item("a")], RUN1))
    current = make_run([make_item("a", "error", None, error="provider error: local: HTTP 503")], NOW)
    baseline = resolve(None, report_dir, current.header, ["prompts/greet.prompt.yaml::a[openai:gpt-4o]"])
    comparison = compare(baseline, current)
    [item] = comparison.items
    assert item.category == "not_evaluated" and not comparison.failing("any")
    assert comparison.models[0].pass_rate is None, "an outage is no pass rate of 0%"


def test_a_pinned_run_is_the_baseline_as_of_that_run(report_dir: Path) -> None:
    store(report_dir, make_run([make_item("a"), make_item("b")], RUN1))
    store(report_dir, make_run([make_item("a", "fail"), make_item("b", "error", None)], RUN2))
    store(report_dir, make_run([make_item("a"), make_item("b")], RUN3))
    (report_dir / PIN_FILE).write_text(RUN2 + "\n", encoding="utf-8")
    current = make_run([make_item("a"), make_item("b", "fail")], NOW)
    # a: RUN2 failed it; b errored in RUN2, so its outcome comes from before RUN2 (RUN1), not from RUN3.
    assert categories(None, report_dir, current) == {"a": ("fix", RUN2), "b": ("regression", RUN1)}
    baseline = resolve(None, report_dir, current.header, [])
    assert baseline is not None and baseline.label == f"run {RUN2} (pinned)"
    assert categories("auto", report_dir, current)["a"] == ("unchanged", RUN3), "auto ignores the pin"
    assert resolve("none", report_dir, current.header, []) is None


def test_baseline_by_suffix_previous_and_errors(report_dir: Path) -> None:
    store(report_dir, make_run([make_item("a", "fail")], RUN1))
    store(report_dir, make_run([make_item("a")], RUN2))
    current = make_run([make_item("a")], NOW)
    store(report_dir, current)
    assert categories("000001", report_dir, current)["a"] == ("fix", RUN1)
    assert categories("latest", report_dir, current)["a"] == ("unchanged", RUN2), "latest other than this run"
    assert categories("previous", report_dir, current)["a"] == ("fix", RUN1)
    with pytest.raises(RunFileError, match="no such run file"):
        resolve("19990101T000000Z-ffffff", report_dir, current.header, [])
    with pytest.raises(BaselineError, match="needs a git checkout"):
        resolve("git:main", report_dir, current.header, [])
    assert resolve(None, report_dir / "empty", current.header, []) is None


def test_errors_never_count_as_flips(report_dir: Path) -> None:
    statuses = ["pass", "error", "pass", "error", "pass"]
    current = make_item("a")
    assert flaky_reason([*statuses, "pass"], current) is None
    assert flaky_reason(["pass", "fail", "pass", "fail"], current) is not None
    for n, status in enumerate(statuses, start=1):
        store(report_dir, make_run([make_item("a", status, None if status == "error" else "x")], f"2026110{n}T010000Z-00000{n}"))
    run = make_run([make_item("a")], NOW)
    history = recent_statuses(report_dir, run)
    assert history == {"prompts/greet.prompt.yaml::a[openai:gpt-4o]": statuses}
    assert not compare(resolve(None, report_dir, run.header, [run.items[0].key]), run, history=history).flaky


def test_runs_lists_partial_runs_and_the_pin_and_baseline_commands_explain_themselves(
    report_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from promptcheck.cli import main

    store(report_dir, make_run([make_item("a")], RUN1))
    store(report_dir, make_run([make_item("a")], RUN2, selected_only=True))
    args = ["--report-dir", str(report_dir)]
    assert main(["baseline", "show", *args]) == 0
    assert capsys.readouterr().out == "baseline: each key's latest pass/fail outcome (nothing pinned)\n"
    assert main(["baseline", "set", "000001", *args]) == 0
    assert capsys.readouterr().out.startswith(f"baseline pinned: run {RUN1} (2026-11-21 01:00:00)")
    assert main(["runs", *args]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert "complete" in first and first.endswith("(baseline)") and "partial" in second
    assert main(["baseline", "set", "nope", *args]) == 2
    assert capsys.readouterr().err == f"promptcheck baseline: error: {report_dir / 'runs' / 'nope.json'}: no such run file\n"
    elsewhere = store(tmp_path / "other", make_run([make_item("a")], RUN3))
    assert main(["baseline", "set", str(elsewhere), *args]) == 2
    assert "only a run stored in" in capsys.readouterr().err
    assert main(["baseline", "clear", *args]) == 0 and main(["baseline", "clear", *args]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "baseline pin removed: each key is compared with its latest outcome", "no baseline was pinned",
    ]
    assert main(["diff", "a", "b", "c", *args]) == 2
    assert "give at most two runs" in capsys.readouterr().err
