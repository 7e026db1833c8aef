"""Run-to-run verdicts: Fisher's exact test, significant vs within-noise changes, flakiness,
`promptcheck diff --fail-on`, and the `--repeat auto` rule. Pure functions on synthetic records."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import msgspec
import pytest

from promptcheck.cli import main
from promptcheck.report import render_html, render_markdown, terminal_lines, write_reports
from promptcheck.runs.compare import compare
from promptcheck.runs.history import recent_statuses
from promptcheck.runs.reading import load_run
from promptcheck.runs.record import ItemResult, RunRecord
from promptcheck.runs.stats import counts_against, fisher_exact, flaky_reason, flips, next_sample_size, shift
from promptcheck.runs.store import journal_for, runs_dir
from reportdata import report_items
from runfactory import baseline_of, make_item, make_run, store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from bench_noise import false_significant_rate, sampled_item  # noqa: E402

BASE_ID, CUR_ID = "20261127T010000Z-aaaaaa", "20261128T010000Z-bbbbbb"


def run_id(n: int) -> str:
    return f"202611{10 + n:02d}T010000Z-{n:06x}"


def with_samples(case_id: str, passes: list[bool], **fields: object) -> ItemResult:
    return sampled_item(make_item(case_id), passes, **fields)


# --- the test itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ((27, 30, 18, 30), 0.01533),  # 90% → 60% with 30 samples each
        ((3, 3, 2, 3), 1.0),
        ((1, 1, 0, 1), 1.0),  # one sample each side: no test can tell
        ((10, 10, 0, 10), 1.083e-5),
        ((0, 0, 3, 5), 1.0),
    ],
)
def test_fisher_exact_known_values(table: tuple[int, int, int, int], expected: float) -> None:
    assert fisher_exact(*table) == pytest.approx(expected, rel=1e-3)


def test_fisher_exact_agrees_with_scipy() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = random.Random(7)
    for _ in range(300):
        n1, n2 = rng.randint(1, 40), rng.randint(1, 40)
        k1, k2 = rng.randint(0, n1), rng.randint(0, n2)
        expected = scipy_stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
        assert fisher_exact(k1, n1, k2, n2) == pytest.approx(expected, abs=1e-12)


def test_fisher_exact_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="out of range"):
        fisher_exact(4, 3, 0, 1)


def test_shift_names_direction_and_significance() -> None:
    assert shift((27, 30), (18, 30)).shift == "significant_regression"
    assert shift((3, 3), (2, 3)).shift == "noise_regression"
    assert shift((18, 30), (27, 30)).shift == "significant_fix"
    assert shift((2, 3), (3, 3)).shift == "noise_fix"
    assert shift((2, 4), (5, 10)).shift == "same"  # equal rates, exactly
    assert "27/30 → 18/30" in shift((27, 30), (18, 30)).describe()


def test_item_counts_single_and_repeated() -> None:
    assert make_item("a").counts == (1, 1)
    assert make_item("a", "fail").counts == (0, 1)
    assert make_item("a", "error").counts is None
    assert make_item("a", "skip").counts is None
    assert with_samples("a", [True, False, True]).counts == (2, 3)


# --- seeded distributions: the figures the issue asks for ---------------------------------------


def seeded_runs(n: int, seed: int = 1, p_before: float = 0.9, p_after: float = 0.6) -> tuple[RunRecord, RunRecord]:
    rng = random.Random(seed)
    before = with_samples("q", [rng.random() < p_before for _ in range(n)])
    after = with_samples("q", [rng.random() < p_after for _ in range(n)])
    return make_run([before], BASE_ID), make_run([after], CUR_ID)


def test_thirty_samples_flag_a_real_drop_as_significant() -> None:
    baseline, current = seeded_runs(30)
    (item,) = compare(baseline_of(baseline), current).items
    assert item.stat is not None and item.stat.shift == "significant_regression", item.stat


def test_three_samples_call_the_same_drop_noise() -> None:
    baseline, current = seeded_runs(3, seed=3)
    (item,) = compare(baseline_of(baseline), current).items
    assert item.stat is not None
    assert item.stat.after[0] < item.stat.before[0]  # the sample did drop…
    assert item.stat.shift == "noise_regression"  # …but three samples cannot tell


def test_identical_distributions_rarely_look_significant() -> None:
    rate = false_significant_rate(simulations=200, n=30, p=0.8, alpha=0.05, seed=11)
    assert rate <= 0.05 + 0.02


# --- flakiness ----------------------------------------------------------------------------------


def test_flips_ignore_skips_and_count_errors_as_failures() -> None:
    assert flips(["pass", "skip", "pass", "fail", "error", "pass"]) == 2


def test_flaky_from_history_or_from_a_split_sample() -> None:
    assert flaky_reason(["pass", "fail", "pass"], make_item("a")) == "outcome flipped 2 times in the last 3 runs"
    assert flaky_reason(["pass", "fail"], make_item("a", "fail")) is None
    assert flaky_reason(["pass"], with_samples("a", [True, False])) == "1/2 samples passed in this run"
    # Only the last ten runs count: old flips age out.
    assert flaky_reason(["pass", "fail", "pass"] + ["pass"] * 9, make_item("a")) is None


def test_recent_statuses_reads_only_earlier_runs_for_current_keys(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    for n, status in enumerate(["pass", "fail", "pass", "fail"]):
        store(reports, make_run([make_item("x", status), make_item("other", "fail")], run_id(n)))
    later = make_run([make_item("x", "fail")], run_id(9))
    store(reports, later)
    current = make_run([make_item("x", "pass", answer='tricky "status":"fail" text')], run_id(5))
    history = recent_statuses(reports, current)
    assert history == {"prompts/greet.prompt.yaml::x[openai:gpt-4o]": ["pass", "fail", "pass", "fail"]}
    assert recent_statuses(reports, current, window=3)[current.items[0].key] == ["pass", "fail"]


def test_recent_statuses_folds_journals_reuses_loaded_runs_and_skips_unreadable_ones(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    key = make_item("x").key
    for n, status in enumerate(["pass", "fail", "pass", "fail"]):
        store(reports, make_run([make_item("x", status)], run_id(n)))
    current = make_run([make_item("x")], run_id(5))

    # Run 1 was killed: its JSON predates its last item, which only the journal holds.
    killed = make_run([make_item("x", "fail")], run_id(1), complete=False)
    path = store(reports, make_run([], run_id(1), complete=False))
    journal_for(path).write_bytes(msgspec.json.encode(killed.items[0]) + b"\n")
    # Run 2 is corrupt on disk: it only shortens the history.
    (runs_dir(reports) / f"{run_id(2)}.json").write_text(
        (runs_dir(reports) / f"{run_id(2)}.json").read_text().replace('"status":"pass"', '"status":"passed"')
    )
    assert recent_statuses(reports, current) == {key: ["pass", "fail", "fail"]}

    # A run the caller holds already is not read again: what it holds wins over the file.
    in_memory = make_run([make_item("x", "skip")], run_id(3))
    assert recent_statuses(reports, current, loaded=[in_memory, None]) == {key: ["pass", "fail", "skip"]}


# --- what fails `promptcheck diff` --------------------------------------------------------------


def test_fail_on_modes() -> None:
    significant, noise, single = shift((27, 30), (18, 30)), shift((3, 3), (2, 3)), shift((1, 1), (0, 1))
    assert counts_against(single, True, "auto")  # single-sample pass→fail keeps failing the diff
    assert counts_against(None, True, "auto")  # pass→error: nothing to test, the status decides
    assert not counts_against(noise, True, "auto")
    assert counts_against(significant, False, "auto")
    assert not counts_against(single, True, "significant")
    assert counts_against(noise, False, "any")
    assert not counts_against(shift((2, 3), (3, 3)), False, "any")


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    reports = tmp_path / "reports"
    rng = random.Random(5)
    before = [with_samples("drop", [rng.random() < 0.95 for _ in range(30)]), with_samples("wobble", [True] * 3), make_item("single")]
    after = [with_samples("drop", [rng.random() < 0.5 for _ in range(30)]), with_samples("wobble", [True, False, True]), make_item("single")]
    store(reports, make_run(before, BASE_ID))
    store(reports, make_run(after, CUR_ID))
    return reports


def diff(reports: Path, *extra: str) -> int:
    return main(["diff", BASE_ID, CUR_ID, "--report-dir", str(reports), *extra])


def test_diff_lists_verdicts_and_flaky_keys(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert diff(stored) == 1
    out = capsys.readouterr().out
    assert "SIGNIFICANT REGRESSION prompts/greet.prompt.yaml::drop[openai:gpt-4o]" in out
    assert "within noise (drop) prompts/greet.prompt.yaml::wobble[openai:gpt-4o] — 3/3 → 2/3 passed" in out
    assert "FLAKY prompts/greet.prompt.yaml::wobble[openai:gpt-4o] — 2/3 samples passed in this run" in out
    assert "single" not in out


def test_diff_fail_on_only_counts_what_was_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports"
    store(reports, make_run([with_samples("w", [True] * 3)], BASE_ID))
    store(reports, make_run([with_samples("w", [True, True, False], status="fail")], CUR_ID))
    assert diff(reports) == 0  # 3/3 → 2/3 is within noise
    assert diff(reports, "--fail-on", "significant") == 0
    assert diff(reports, "--fail-on", "any") == 1
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        diff(reports, "--alpha", "2")
    assert exit_info.value.code == 2
    assert "--alpha: must be a number between 0 and 1" in capsys.readouterr().err


def test_single_sample_runs_keep_the_old_rule(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    store(reports, make_run([make_item("a")], BASE_ID))
    store(reports, make_run([make_item("a", "fail")], CUR_ID))
    assert diff(reports) == 1
    assert diff(reports, "--fail-on", "significant") == 0


def test_diff_json_carries_counts_and_p_values(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    diff(stored, "--format", "json")
    items = {i["key"].split("::")[1]: i for i in json.loads(capsys.readouterr().out)["items"]}
    assert items["drop[openai:gpt-4o]"]["shift"] == "significant_regression"
    assert items["wobble[openai:gpt-4o]"]["baseline_counts"] == [3, 3]
    assert items["wobble[openai:gpt-4o]"]["flaky"] == "2/3 samples passed in this run"


def test_reports_show_strip_interval_and_verdicts(stored: Path, tmp_path: Path) -> None:
    baseline, current = load_run(BASE_ID, stored), load_run(CUR_ID, stored)
    comparison = compare(baseline_of(baseline), current)
    html = render_html(comparison, current)
    assert "Pass-rate verdicts and flaky keys (4)" in html
    items = report_items(write_reports(tmp_path, current, baseline_of(baseline), []).path)
    assert "101" in {i.get("sp") for i in items}, "the sample strip is in the list row"
    assert any("ci" in i for i in items) and "significant_regression" in {i.get("st") for i in items}
    markdown = render_markdown(comparison)
    assert "#### Significant regressions (1)" in markdown and "#### Flaky (2)" in markdown
    assert any(line.startswith("SIGNIFICANT REGRESSION") for line in terminal_lines(comparison, None))


# --- the --repeat auto rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "passed", "n", "expected"),
    [
        (None, 2, 3, 3),  # nothing to compare with: stop at the start
        ((1, 1), 0, 3, 3),  # a one-sample baseline can never be beaten significantly
        ((10, 10), 3, 3, 3),  # same rate: more samples would only confirm it
        ((10, 10), 2, 3, 6),  # looks like a drop, not yet significant: double
        ((10, 10), 4, 6, 10),  # still open: grow to the cap
        ((10, 10), 0, 6, 6),  # already significant: stop
        ((10, 10), 6, 10, 10),  # at the cap
    ],
)
def test_next_sample_size(baseline: tuple[int, int] | None, passed: int, n: int, expected: int) -> None:
    assert next_sample_size(baseline, passed, n, limit=10) == expected
