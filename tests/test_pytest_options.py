"""pytest's own selection and ordering options on prompt items: --lf, --ff, --sw, --nf, -k, -x, -n.

The cache options compare the ids of collected items with ids read back from .pytest_cache as
text; pytest 9.2 broke that for our items until they got their node id as text (items.item_nodeid).
Those runs are separate processes, as a user's are, so the cache really is written and read again.
CI runs this file on the newest pytest; bench/pytest_versions.py runs it on every supported one.
"""

from __future__ import annotations

import json
import re

import pytest

from promptcheck.pytest_plugin.items import PromptItem

# echo answers with the prompt, so alpha and delta pass, beta and gamma fail: two failures in
# the middle of the file, neither of them first.
PROMPT = """\
name: Opts
messages: [{role: user, content: "{{ answer }}"}]
testData:
  - {id: alpha, inputs: {answer: "pub/sub"}, expected: pub/sub, output: "pub/sub"}
  - {id: beta, inputs: {answer: "polling"}, expected: pub/sub, output: "pub/sub"}
  - {id: gamma, inputs: {answer: "polling"}, expected: pub/sub, output: "pub/sub"}
  - {id: delta, inputs: {answer: "pub/sub"}, expected: pub/sub, output: "pub/sub"}
"""
NEW_CASE = '  - {id: epsilon, inputs: {answer: "pub/sub"}, expected: pub/sub, output: "pub/sub"}\n'

FAILING = ["opts.prompt.yaml::beta[echo]", "opts.prompt.yaml::gamma[echo]"]
# `-p no:...`: plugins of this environment the project does not use; each costs start-up time.
QUIET = ("-p", "no:hypothesispytest", "-p", "no:benchmark")
# A serial -v line: `opts.prompt.yaml::beta[echo] FAILED   [ 25%]`.
VERBOSE_LINE = re.compile(r"^(\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b")


@pytest.fixture
def project(echo_project: pytest.Pytester) -> pytest.Pytester:
    echo_project.makefile(".prompt.yaml", opts=PROMPT)
    return echo_project


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    """A fresh pytest process, as a user's next run is: it reads the cache the last one wrote."""
    return project.runpytest_subprocess(*QUIET, *args)


def ran(result: pytest.RunResult) -> list[tuple[str, str]]:
    """(node id, outcome) of each item of a serial -v run, in the order they ran."""
    return [(m[1], m[2]) for m in map(VERBOSE_LINE.match, result.stdout.lines) if m]


def runs(project: pytest.Pytester) -> list[dict]:
    records = [json.loads(p.read_text()) for p in (project.path / "reports" / "runs").glob("*.json")]
    return sorted(records, key=lambda record: record["started_at"])


def statuses(record: dict) -> dict[str, str]:
    return {item["key"]: item["status"] for item in record["items"]}


def first_run(project: pytest.Pytester) -> None:
    run(project).assert_outcomes(passed=2, failed=2)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_lf_reruns_only_the_two_failures(project: pytest.Pytester, workers: list[str]) -> None:
    first_run(project)
    # The file as an argument keeps all four collected, so the other two show up as deselected;
    # without it pytest drops them while collecting (the next test).
    result = run(project, "--lf", "-v", "opts.prompt.yaml", *workers)
    assert "not in selected tests" not in result.stdout.str()
    if workers:
        # Workers deselect; the xdist controller only learns how many items are left to run.
        result.assert_outcomes(failed=2)
        result.stdout.fnmatch_lines(["2 workers [[]2 items[]]"])
    else:
        result.assert_outcomes(failed=2, deselected=2)
        result.stdout.fnmatch_lines(["run-last-failure: rerun previous 2 failures"])
        assert ran(result) == [(FAILING[0], "FAILED"), (FAILING[1], "FAILED")]
    latest = runs(project)[-1]
    assert latest["selected_only"] is True
    assert statuses(latest) == {FAILING[0]: "fail", FAILING[1]: "fail"}, "the run record keys the same items"


def test_lf_without_arguments_collects_only_the_failures(project: pytest.Pytester) -> None:
    first_run(project)
    result = run(project, "--lf")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["collected 2 items", "run-last-failure: rerun previous 2 failures"])


def test_lf_after_the_failures_are_fixed_runs_them_and_then_everything(project: pytest.Pytester) -> None:
    first_run(project)
    project.makefile(".prompt.yaml", opts=PROMPT.replace('"polling"', '"pub/sub"'))
    run(project, "--lf").assert_outcomes(passed=2)
    # Nothing failed last time: --lf runs everything again.
    result = run(project, "--lf")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["run-last-failure: no previously failed tests, not deselecting items."])


def test_ff_runs_the_failures_first_and_then_the_rest(project: pytest.Pytester) -> None:
    first_run(project)
    result = run(project, "--ff", "-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["run-last-failure: rerun previous 2 failures first"])
    assert ran(result) == [
        (FAILING[0], "FAILED"),
        (FAILING[1], "FAILED"),
        ("opts.prompt.yaml::alpha[echo]", "PASSED"),
        ("opts.prompt.yaml::delta[echo]", "PASSED"),
    ]


def test_sw_stops_at_the_first_failure_and_the_next_run_starts_there(project: pytest.Pytester) -> None:
    result = run(project, "--sw", "-v")
    result.assert_outcomes(passed=1, failed=1)
    assert ran(result) == [("opts.prompt.yaml::alpha[echo]", "PASSED"), (FAILING[0], "FAILED")]

    # beta is fixed: the next --sw run skips alpha, passes beta and stops at gamma.
    beta_fixed = PROMPT.replace('{id: beta, inputs: {answer: "polling"}', '{id: beta, inputs: {answer: "pub/sub"}')
    project.makefile(".prompt.yaml", opts=beta_fixed)
    result = run(project, "--sw", "-v")
    result.assert_outcomes(passed=1, failed=1, deselected=1)
    result.stdout.fnmatch_lines(["stepwise: skipping 1 already passed items*"])
    assert ran(result) == [(FAILING[0], "PASSED"), (FAILING[1], "FAILED")]


def test_nf_runs_a_new_case_first(project: pytest.Pytester) -> None:
    first_run(project)
    (project.path / "opts.prompt.yaml").write_text(PROMPT + NEW_CASE, encoding="utf-8")
    result = run(project, "--nf", "-v")
    result.assert_outcomes(passed=3, failed=2)
    assert [nodeid for nodeid, _ in ran(result)] == [
        "opts.prompt.yaml::epsilon[echo]",
        "opts.prompt.yaml::alpha[echo]",
        *FAILING,
        "opts.prompt.yaml::delta[echo]",
    ]


# -k, -x and xdist need no cache: in-process runs are enough (and faster).


def test_items_keep_their_names_and_node_ids(project: pytest.Pytester) -> None:
    # The node id is passed in (items.item_nodeid): it must be the text pytest built before, and
    # the name (-k, report titles) and the run record's key must stay what they were.
    items, _ = project.inline_genitems(*QUIET, "--models", "echo,reference")
    assert [(item.name, item.nodeid) for item in items][:2] == [
        ("alpha[echo]", "opts.prompt.yaml::alpha[echo]"),
        ("alpha[reference]", "opts.prompt.yaml::alpha[reference]"),
    ]
    assert len(items) == 8 and all(isinstance(item, PromptItem) for item in items)
    assert all(item.nodeid == f"opts.prompt.yaml::{item.name}" == item.plan.key for item in items if isinstance(item, PromptItem))


@pytest.mark.parametrize(
    ("expression", "passed", "failed", "deselected"),
    [("beta", 1, 1, 6), ("reference", 4, 0, 4), ("beta and echo", 0, 1, 7), ("not echo", 4, 0, 4)],
    ids=["case-id", "model-label", "case-and-model", "not-model"],
)
def test_k_selects_by_case_id_and_model_label(
    project: pytest.Pytester, expression: str, passed: int, failed: int, deselected: int
) -> None:
    # reference answers with each case's `output:` (pub/sub), so all four of its items pass.
    result = project.runpytest(*QUIET, "--models", "echo,reference", "-k", expression)
    result.assert_outcomes(passed=passed, failed=failed, deselected=deselected)
    assert runs(project)[-1]["selected_only"] is True


def test_x_stops_after_the_first_failure_and_records_a_partial_run(project: pytest.Pytester) -> None:
    result = project.runpytest(*QUIET, "-x", "-v")
    result.assert_outcomes(passed=1, failed=1)
    assert ran(result) == [("opts.prompt.yaml::alpha[echo]", "PASSED"), (FAILING[0], "FAILED")]
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])
    [record] = runs(project)
    assert record["selected_only"] is True
    assert statuses(record) == {"opts.prompt.yaml::alpha[echo]": "pass", FAILING[0]: "fail"}


@pytest.mark.parametrize(
    ("options", "expected"),
    [([], {"passed": 2, "failed": 2}), (["-k", "beta or delta"], {"passed": 1, "failed": 1})],
    ids=["all", "k"],
)
def test_xdist_gives_the_outcomes_of_a_serial_run(
    project: pytest.Pytester, options: list[str], expected: dict[str, int]
) -> None:
    serial = project.runpytest(*QUIET, *options)
    parallel = project.runpytest(*QUIET, "-n", "2", *options)
    # Deselected items are counted where -k ran: in the serial session, on xdist's workers.
    serial.assert_outcomes(**expected, deselected=2 if options else 0)
    parallel.assert_outcomes(**expected)
    serial_record, parallel_record = runs(project)
    assert statuses(parallel_record) == statuses(serial_record)
    assert parallel_record["selected_only"] is serial_record["selected_only"] is bool(options)


def test_x_under_xdist_records_a_partial_run(project: pytest.Pytester) -> None:
    result = project.runpytest(*QUIET, "-x", "-n", "2")
    # Two workers: how many items finish before the controller stops them varies; beta's failure
    # always stops the run.
    assert result.parseoutcomes()["failed"] >= 1
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])
    [record] = runs(project)
    assert record["selected_only"] is True and record["complete"] is False
