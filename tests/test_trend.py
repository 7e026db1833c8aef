"""The report's pass-rate trend: whole runs only, the current run always, errors decide nothing."""

from __future__ import annotations

import re

import msgspec

from promptcheck.report import render_html
from promptcheck.report.payload import TREND_RUNS, Trend, build_trend
from promptcheck.runs.compare import compare
from promptcheck.runs.record import RunRecord
from runfactory import make_item, make_run

GPT, CLAUDE = "openai:gpt-4o", "anthropic:claude"


def run(day: int, statuses: dict[str, str], **fields: object) -> RunRecord:
    """A run on 2026-11-<day> with one item per model, in the given status."""
    items = [make_item("a", status, model=model) for model, status in statuses.items()]
    return make_run(items, f"202611{day:02d}T010000Z-{day:06d}", models=list(statuses), **fields)


def rates(trend: Trend) -> dict[str, list[tuple[str, float, bool]]]:
    """Per model: (run id, pass rate, hollow) of each point, left to right."""
    return {line.model: [(p.run_id, p.rate, p.partial) for p in line.points] for line in trend.lines}


def test_only_complete_whole_runs_and_the_current_one_are_plotted() -> None:
    whole = run(1, {GPT: "pass", CLAUDE: "pass"})
    narrowed = run(2, {GPT: "fail"}, selected_only=True)  # -k: one failing item
    crashed = run(3, {GPT: "fail", CLAUDE: "fail"}, complete=False)
    outage = run(4, {GPT: "error", CLAUDE: "pass"})  # gpt decided nothing
    whole_again = run(5, {GPT: "fail", CLAUDE: "pass"})
    current = run(6, {GPT: "pass", CLAUDE: "fail"})
    history = [h.header for h in (whole, narrowed, crashed, outage, whole_again, current)]

    trend = build_trend(history, current)
    assert trend.runs == [whole.run_id, outage.run_id, whole_again.run_id, current.run_id]
    assert rates(trend) == {
        GPT: [(whole.run_id, 1.0, False), (whole_again.run_id, 0.0, False), (current.run_id, 1.0, False)],
        CLAUDE: [(whole.run_id, 1.0, False), (outage.run_id, 1.0, False), (whole_again.run_id, 1.0, False), (current.run_id, 0.0, False)],
    }
    xs = [p.x for p in trend.lines[1].points]
    assert xs == sorted(xs) and xs[0] == trend.left and xs[-1] == trend.right
    assert trend.partial is None and all(line.polyline.count(",") == len(line.points) for line in trend.lines)


def test_a_partial_current_run_is_plotted_hollow_and_off_the_line() -> None:
    whole = run(1, {GPT: "pass"})
    for fields, why in (({"selected_only": True}, "only some items ran in this run"), ({"complete": False}, "this run did not finish")):
        current = run(2, {GPT: "fail"}, **fields)
        trend = build_trend([whole.header, current.header], current)
        assert trend.runs == [whole.run_id, current.run_id] and trend.partial == why
        [line] = trend.lines
        assert rates(trend)[GPT] == [(whole.run_id, 1.0, False), (current.run_id, 0.0, True)]
        assert line.points[-1].tip == f"{current.run_id} {GPT}: 0.0% ({why})"
        assert line.polyline.count(",") == 1, "the line runs through the whole runs only"

        html = render_html(compare(None, current), current, [whole.header, current.header])
        assert len(re.findall(r'<circle [^>]*class="partial" fill="#fff"', html)) == 1
        assert f"the hollow points are this run: {why}." in html


def test_a_model_that_never_decided_anything_has_no_line() -> None:
    earlier = run(1, {GPT: "pass", CLAUDE: "error"})
    current = run(2, {GPT: "pass", CLAUDE: "skip"})
    assert [line.model for line in build_trend([earlier.header], current).lines] == [GPT]


def test_the_trend_of_an_older_run_ends_at_that_run() -> None:
    runs = [run(day, {GPT: "pass"}) for day in range(1, 4)]
    assert build_trend([r.header for r in runs], runs[1]).runs == [runs[0].run_id, runs[1].run_id]


def test_the_trend_shows_the_last_runs_and_the_current_is_the_last_point() -> None:
    runs = [run(day, {GPT: "pass"}) for day in range(1, 30)]
    current = runs[-1]
    trend = build_trend([r.header for r in runs], current)
    assert trend.runs == [r.run_id for r in runs[-TREND_RUNS:]]
    # A header without a summary yet (an in-memory record) still gets its point, from its items.
    bare = RunRecord(msgspec.structs.replace(current.header, summary=msgspec.structs.replace(current.header.summary, models={})), current.items)
    assert len(build_trend([r.header for r in runs[:-1]], bare).lines[0].points) == TREND_RUNS
