"""compare(): classification, check changes, deltas, pass rates, lazy diffs; merge_runs()."""

from __future__ import annotations


import msgspec
import pytest

from promptcheck.runs import diffs as diffs_module
from promptcheck.runs.compare import classify, compare
from promptcheck.runs.diffs import json_document, word_diff
from promptcheck.runs.merge import MergeError, merge_runs
from promptcheck.runs.record import ItemResult, RunRecord, ShardInfo
from runfactory import baseline_of, check, make_item, make_run

BASE_ID, CUR_ID = "20261127T010000Z-aaaaaa", "20261128T010000Z-bbbbbb"


def side(items: list[ItemResult], run_id: str, **meta: object) -> RunRecord:
    return make_run(items, run_id, **meta)


@pytest.mark.parametrize(
    "before, after, context, expected",
    [
        (("pass", "x"), ("fail", "x"), {}, "regression"),
        (("fail", "x"), ("pass", "x"), {}, "fix"),
        (("fail", "x"), ("fail", "y"), {}, "still_failing"),
        (("pass", "x"), ("pass", "y"), {}, "changed"),
        (("pass", "x"), ("pass", "x"), {}, "unchanged"),
        # no answer now: not evaluated, whatever the baseline was
        (("pass", "x"), ("error", None), {}, "not_evaluated"),
        (("fail", "x"), ("error", None), {}, "not_evaluated"),
        (None, ("error", None), {}, "not_evaluated"),
        (None, ("fail", "x"), {}, "new"),
        (None, ("pass", "x"), {"baseline_note": "not evaluated at git:main: no recorded answer"}, "not_evaluated"),
        (("pass", "x"), None, {"gone": True}, "removed"),
        (("pass", "x"), None, {}, "not_run"),  # a narrowed run says nothing of the keys it did not select
        (("pass", "x"), ("skip", None), {}, "not_run"),
        (None, ("skip", None), {"seen": True}, "unchanged"),
        (None, ("skip", None), {}, "new"),
    ],
)
def test_classify(before: tuple | None, after: tuple | None, context: dict, expected: str) -> None:
    b = make_item("c", before[0], before[1]) if before else None
    a = make_item("c", after[0], after[1]) if after else None
    assert classify(b, a, **{"seen": False, "gone": False, **context}) == expected


def test_compare_classifies_every_key_and_orders_regressions_first() -> None:
    baseline = side([make_item("same"), make_item("gone"), make_item("breaks"), make_item("mends", "fail")], BASE_ID)
    current = side([make_item("mends"), make_item("same"), make_item("fresh"), make_item("breaks", "fail")], CUR_ID)
    result = compare(baseline_of(baseline), current)
    assert [(i.key.split("::")[1].split("[")[0], i.category) for i in result.items] == [
        ("breaks", "regression"), ("mends", "fix"), ("fresh", "new"), ("gone", "removed"), ("same", "unchanged"),
    ]
    assert result.counts["regression"] == 1 and result.counts["unchanged"] == 1 and result.has_regressions
    assert [i.key for i in result.regressions] == [baseline.items[2].key]
    assert result.baseline_label == f"run {BASE_ID}" and result.baseline_runs == [BASE_ID] and result.current_id == CUR_ID


def test_without_baseline_everything_is_new() -> None:
    result = compare(baseline_of(None), side([make_item("a"), make_item("b", "fail")], CUR_ID))
    assert result.counts["new"] == 2 and result.baseline_label is None and not result.has_regressions
    assert result.models[0].baseline_pass_rate is None and result.models[0].delta is None


def test_check_changes_and_deltas() -> None:
    before = make_item("c", checks=[check("contains"), check("regex"), check("regex", passed=False), check("gone")],
                       score=0.9, latency_s=1.0, cost=0.002)
    after = make_item("c", "fail", checks=[check("contains", passed=False), check("regex"), check("regex"), check("added")],
                      score=0.4, latency_s=1.5, cost=None)
    [ic] = compare(baseline_of(side([before], BASE_ID)), side([after], CUR_ID)).items
    assert [(c.name, c.before, c.after) for c in ic.check_changes] == [
        ("contains", "pass", "fail"), ("regex #2", "fail", "pass"), ("added", None, "pass"), ("gone", "pass", None),
    ]
    assert ic.score_delta == pytest.approx(-0.5) and ic.latency_delta == pytest.approx(0.5)
    assert ic.cost_delta is None, "no delta when one side is unknown"
    assert [c.name for c in ic.failed_checks()] == ["contains"]


def test_pass_rate_per_model_and_delta() -> None:
    gpt, claude = "openai:gpt-4o", "anthropic:claude"
    baseline = side([make_item(f"c{n}", "pass", model=gpt) for n in range(4)]
                    + [make_item("c0", "fail", model=claude), make_item("c1", "pass", model=claude)], BASE_ID)
    current = side([make_item("c0", "fail", model=gpt)] + [make_item(f"c{n}", "pass", model=gpt) for n in range(1, 4)]
                   + [make_item("c0", "pass", model=claude), make_item("c1", "pass", model=claude), make_item("c2", "skip", model=claude)],
                   CUR_ID, models=[gpt, claude])
    stats = {m.model: m for m in compare(baseline_of(baseline), current).models}
    assert list(stats) == [gpt, claude]
    assert stats[gpt].pass_rate == 0.75 and stats[gpt].baseline_pass_rate == 1.0 and stats[gpt].delta == pytest.approx(-0.25)
    assert stats[claude].pass_rate == 1.0 and stats[claude].delta == pytest.approx(0.5), "skips are not in the rate"
    assert stats[claude].counts == {"pass": 2, "fail": 0, "error": 0, "skip": 1}


def test_a_narrowed_run_is_judged_against_the_same_slice() -> None:
    baseline = side([make_item("a"), make_item("b", "fail"), make_item("c", "fail")], BASE_ID)
    current = side([make_item("a")], CUR_ID, selected_only=True)
    result = compare(baseline_of(baseline), current)
    assert result.counts["not_run"] == 2 and result.counts["removed"] == 0
    assert result.models[0].baseline_pass_rate == 1.0 and result.models[0].delta == 0.0


def test_diffs_are_computed_only_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object) -> None:
        raise AssertionError("diffed eagerly")

    monkeypatch.setattr(diffs_module, "word_diff", forbidden)
    result = compare(baseline_of(side([make_item("a", answer="one two")], BASE_ID)), side([make_item("a", answer="one three")], CUR_ID))
    monkeypatch.undo()
    [ic] = result.items
    assert ic.category == "changed" and ic.text_diff() == [(0, "one "), (-1, "two"), (1, "three")]


def test_word_diff_round_trips_and_merges_runs_of_ops() -> None:
    before, after = "The quick brown fox, jumps.\nEnd", "The slow brown cat jumps!\nEnd now"
    ops = word_diff(before, after)
    assert "".join(t for op, t in ops if op <= 0) == before
    assert "".join(t for op, t in ops if op >= 0) == after
    assert all(a[0] != b[0] for a, b in zip(ops, ops[1:])), "adjacent ops of one kind are merged"
    assert word_diff("a fox, jumps", "a fox jumps") == [(0, "a fox"), (-1, ","), (0, " jumps")], "punctuation is its own token"
    assert word_diff("same", "same") == [(0, "same")]
    huge = "word " * 15_000
    assert "".join(t for op, t in word_diff(huge, huge + "tail") if op >= 0) == huge + "tail", "falls back to lines"


def test_json_answers_get_a_structural_diff() -> None:
    b = make_item("j", answer='{"name": "Ada", "tags": ["a"], "age": 36}')
    a = make_item("j", answer='```json\n{"name": "Ada L.", "tags": ["a", "b"], "age": "36"}\n```')
    [ic] = compare(baseline_of(side([b], BASE_ID)), side([a], CUR_ID)).items
    changes = {(c.path, c.kind): (c.before, c.after) for c in ic.json_diff() or []}
    assert changes == {
        ("root['name']", "changed"): ("Ada", "Ada L."),
        ("root['tags'][1]", "added"): (None, "b"),
        ("root['age']", "type_changed"): (36, "36"),
    }
    prose = compare(baseline_of(side([make_item("p", answer="{not json")], BASE_ID)), side([make_item("p", answer="{}")], CUR_ID))
    assert prose.items[0].json_diff() is None


@pytest.mark.parametrize(
    "answer, document",
    [
        ("  [1, 2] ", [1, 2]),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('```JSON\n{"a": 1}\n```', {"a": 1}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('\n```json\n[{"a": 1}]\n```\n', [{"a": 1}]),
        ("hello", None),
        ('Here you go: {"a": 1}', None),  # prose around JSON is prose
        ('```python\n{"a": 1}\n```', {"a": 1}),  # any fence language: the checks read JSON the same way
        ('```json\n{"a": 1}\n```\n```json\n{"b": 2}\n```', None),  # two fences
        ("42", None),  # a bare scalar is JSON, but its text diff says all there is
        ("null", None),
        ("", None),
        (None, None),
    ],
)
def test_json_document_reads_answers_as_the_checks_read_json(answer: str | None, document: object) -> None:
    assert json_document(answer) == document


def test_scalar_answers_get_no_structural_diff() -> None:
    [ic] = compare(baseline_of(side([make_item("n", answer="41")], BASE_ID)), side([make_item("n", answer="42")], CUR_ID)).items
    assert ic.category == "changed" and ic.json_diff() is None and ic.text_diff() == [(-1, "41"), (1, "42")]


def test_compare_of_20000_items_counts_every_change() -> None:
    # Its speed is measured in bench/bench_report.py, not asserted here.
    items = [make_item(f"c{n}", answer=f"answer {n}") for n in range(20_000)]
    changed = [msgspec.structs.replace(i, answer=f"{i.answer}!") if n % 5 == 0 else i for n, i in enumerate(items)]
    result = compare(baseline_of(side(items, BASE_ID)), side(changed, CUR_ID))
    assert result.counts["changed"] == 4000


def test_merge_runs_combines_shards() -> None:
    one = side([make_item("a"), make_item("b", "fail")], "20261128T010000Z-000001", models=["openai:gpt-4o"])
    two = side([make_item("a", model="anthropic:claude")], "20261128T010500Z-000002", complete=False)
    merged = merge_runs([two, one])
    assert merged.header.merged_from == ("20261128T010500Z-000002", "20261128T010000Z-000001")
    assert merged.run_id.startswith("20261128T010000Z-"), "named after the earliest shard's start"
    assert merged.header.started_at == one.header.started_at and merged.header.complete is False
    assert merged.header.finished_at is None, "one shard never finished"
    assert merged.header.models == ("anthropic:claude", "openai:gpt-4o")
    assert len(merged.items) == 3 and merged.run_id not in (one.run_id, two.run_id)
    assert merged.header.summary.counts == {"pass": 2, "fail": 1, "error": 0, "skip": 0}
    assert merged.header.selected_only is False and merged.header.shard is None


def test_merged_shards_keep_every_shard_s_cassette_use() -> None:
    shards = [
        side([make_item(f"c{i}")], f"20261128T01000{i}Z-00000{i}", selected_only=True, shard=ShardInfo(i, 2),
             cassettes_used={"a.yaml": [f"k{i}", "shared"], f"only{i}.yaml": ["x"]}, cassettes_unused=3)
        for i in (1, 2)
    ]
    merged = merge_runs(shards)
    assert merged.header.selected_only is False, "both shards of the set: a whole run again"
    assert merged.header.finished_at == shards[1].header.finished_at, "the last shard's end"
    assert merged.header.cassettes_used == {"a.yaml": ("k1", "k2", "shared"), "only1.yaml": ("x",), "only2.yaml": ("x",)}
    assert merged.header.cassettes_unused is None
    without = msgspec.structs.replace(shards[1].header, cassettes_used=None)
    assert merge_runs([shards[0], RunRecord(without, shards[1].items)]).header.cassettes_used is None, "prune must refuse it"


def test_merge_runs_refuses_conflicting_keys() -> None:
    one = side([make_item(f"c{n}") for n in range(7)], "20261128T010000Z-000001")
    two = side([make_item(f"c{n}") for n in range(7)], "20261128T010500Z-000002")
    with pytest.raises(MergeError) as info:
        merge_runs([one, two])
    message = str(info.value)
    assert message.startswith("7 item(s) appear in more than one run: prompts/greet.prompt.yaml::c0[openai:gpt-4o] "
                              "(in 20261128T010000Z-000001 and 20261128T010500Z-000002)")
    assert message.endswith("and 2 more")
    with pytest.raises(MergeError, match="nothing to merge"):
        merge_runs([])
