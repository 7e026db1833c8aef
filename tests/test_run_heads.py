"""Reading runs without their texts (runs.heads): what `promptcheck diff` does at 100,000 items.

The heads must say exactly what the whole items say about everything but the texts, whatever the
read-buffer boundaries; files the fast path cannot read (written before answer hashes, a killed
run's journal, a truncated file) must load as before or fail with load_run's own message."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from promptcheck.cli import main
from promptcheck.runs import heads
from promptcheck.runs.baseline import resolve
from promptcheck.runs.compare import compare
from promptcheck.runs.heads import load_heads, with_texts
from promptcheck.runs.reading import load_run
from promptcheck.runs.record import ItemHead, ItemResult, RunHeads, RunRecord, answer_digest, same_answer
from promptcheck.runs.store import ITEMS_CLOSING, ITEMS_OPENING, RunFileError, RunRecorder, encode, journal_for, runs_dir
from runfactory import baseline_of, make_header, make_item, make_run, store

BASE_ID, CUR_ID = "20261127T010000Z-aaaaaa", "20261128T010000Z-bbbbbb"


def many(n: int, *, changed: int = 0) -> list[ItemResult]:
    """n items with answers of different lengths (some longer than a small read buffer)."""
    return [
        make_item(f"case{i:04d}", "fail" if i % 7 == 0 else "pass", answer=("word " * (i % 50)) + ("x" if i < changed else ""))
        for i in range(n)
    ]


def write_old_layout(report_dir: Path, record: RunRecord) -> Path:
    """A run as the store wrote it before answer hashes: no ``answer_hashes`` in the header, no
    ``answer_hash`` on items."""
    header = encode(record.header).replace(b',"answer_hashes":false', b"").replace(b',"answer_hashes":true', b"")
    assert b"answer_hash" not in header
    lines = [encode(item) for item in record.items]
    assert all(b"answer_hash" not in line for line in lines)
    path = runs_dir(report_dir) / f"{record.run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header[:-1] + ITEMS_OPENING + b",\n".join(lines) + ITEMS_CLOSING)
    return path


def without_texts(item: ItemResult) -> dict:
    fields = msgspec.structs.asdict(item)
    del fields["messages"], fields["answer"], fields["turns"], fields["tool_calls"]  # the texts: an ItemHead has none of them
    return fields


@pytest.mark.parametrize("chunk", [16, 200, 1000, 8 << 20])
def test_heads_are_the_items_without_their_texts_whatever_the_buffer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(heads, "_CHUNK", chunk)  # lines longer than the buffer, and split anywhere
    path = store(tmp_path, make_run(many(300), CUR_ID))
    whole = load_run(path)

    run = load_heads(path)

    assert isinstance(run, RunHeads) and run.path == str(path) and run.header == whole.header
    assert all(type(item) is ItemHead for item in run.items), "no answers or prompts built"
    assert [msgspec.structs.asdict(h) for h in run.items] == [without_texts(i) for i in whole.items]
    assert all(h.answer_hash == answer_digest(i.answer) for h, i in zip(run.items, whole.items))


def test_a_run_with_no_items_reads_as_heads(tmp_path: Path) -> None:
    run = load_heads(store(tmp_path, make_run([], CUR_ID)))
    assert isinstance(run, RunHeads) and run.items == ()


def test_files_the_fast_path_cannot_read_load_whole(tmp_path: Path) -> None:
    old = write_old_layout(tmp_path, make_run(many(5), BASE_ID))
    assert isinstance(load_heads(old), RunRecord), "no answer hashes: compared by text"

    recorder = RunRecorder(tmp_path, make_header("20261129T010000Z-cccccc", complete=False))
    recorder.add(make_item("a"))
    recorder.flush()
    recorder.add(make_item("b"))  # journaled only, as when the process is killed now
    killed = load_heads(recorder.path)
    assert journal_for(recorder.path).exists()
    assert isinstance(killed, RunRecord) and [i.case_id for i in killed.items] == ["a", "b"]
    recorder.finish(complete=True)


@pytest.mark.parametrize(
    ("cut", "problem"),
    [
        (lambda data: data[: len(data) // 2], "corrupt run file: not valid JSON"),
        (lambda data: data + b"{}\n", "corrupt run file: not valid JSON"),
        (lambda data: data.replace(b'"status":"pass"', b'"status":"passed"', 1), "item 1 is not a valid item record (invalid enum value 'passed')"),
    ],
)
def test_a_bad_file_fails_with_load_runs_message(tmp_path: Path, cut, problem: str) -> None:  # type: ignore[no-untyped-def]
    path = store(tmp_path, make_run(many(20), CUR_ID))
    path.write_bytes(cut(path.read_bytes()))
    with pytest.raises(RunFileError) as heads_error:
        load_heads(path)
    with pytest.raises(RunFileError) as whole_error:
        load_run(path)
    assert str(heads_error.value) == str(whole_error.value) and problem in str(heads_error.value)


def test_same_answer_by_hash_by_text_and_mixed() -> None:
    a, b = make_item("k", answer="one"), make_item("k", answer="two")
    head = lambda item: msgspec.convert(without_texts(item) | {"answer_hash": answer_digest(item.answer)}, ItemHead)  # noqa: E731
    assert same_answer(a, a) and not same_answer(a, b), "texts, no hashes"
    assert same_answer(head(a), head(a)) and not same_answer(head(a), head(b)), "hashes only"
    assert same_answer(head(a), a) and not same_answer(b, head(a)), "a hash against a text"
    no_answer = make_item("k", "error", answer=None)
    assert same_answer(no_answer, head(no_answer)) and not same_answer(no_answer, head(a))


def test_a_comparison_of_heads_matches_one_of_whole_runs_and_texts_load_for_the_shown(tmp_path: Path) -> None:
    base_path = store(tmp_path, make_run(many(60), BASE_ID))
    cur_path = store(tmp_path, make_run(many(60, changed=30), CUR_ID))
    base_whole, cur_whole = load_run(base_path), load_run(cur_path)
    whole = compare(baseline_of(base_whole), cur_whole)
    cur_heads = load_heads(cur_path)
    assert isinstance(cur_heads, RunHeads)
    keys = [i.key for i in cur_heads.items]
    baseline = resolve(BASE_ID, tmp_path, cur_heads.header, keys, loaded=[cur_heads], load=load_heads)
    assert baseline is not None and baseline.paths == {BASE_ID: base_path}
    assert all(type(i) is ItemHead for i in baseline.items.values())
    light = compare(baseline, cur_heads)

    assert [(i.key, i.category) for i in light.items] == [(i.key, i.category) for i in whole.items]
    assert light.counts["changed"] == 25 and light.counts["unchanged"] == 26
    shown = light.of("changed")[:2]
    with pytest.raises(RuntimeError, match="the answers were not loaded; call runs.heads.with_texts first"):
        shown[0].text_diff()
    with_texts(shown, cur_heads, baseline)
    assert [ic.text_diff() for ic in shown] == [w.text_diff() for w in whole.of("changed")[:2]]
    assert isinstance(light.of("changed")[2].current, ItemHead) and not isinstance(light.of("changed")[2].current, ItemResult)


def test_diff_of_an_old_baseline_and_a_new_run_compares_answers_by_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_dir = tmp_path / "reports"
    write_old_layout(report_dir, make_run([make_item("same"), make_item("moved"), make_item("breaks")], BASE_ID))
    store(report_dir, make_run(
        [make_item("same"), make_item("moved", answer="Another answer."), make_item("breaks", "fail", answer="Oops.")], CUR_ID,
    ))

    code = main(["diff", BASE_ID, CUR_ID, "--diffs", "--format", "text", "--report-dir", str(report_dir)])
    out = capsys.readouterr().out

    assert code == 1
    assert out.splitlines()[0] == f"promptcheck: 3 items, 1 regression, 1 changed (vs run {BASE_ID})"
    assert "REGRESSION prompts/greet.prompt.yaml::breaks[openai:gpt-4o]" in out
    assert "\n    answer: [-The answer-]{+Oops+}.\n" in out


def test_diff_with_diffs_reads_the_texts_of_the_shown_items_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    report_dir = tmp_path / "reports"
    store(report_dir, make_run([make_item(f"c{i}") for i in range(5)], BASE_ID))
    store(report_dir, make_run([make_item(f"c{i}", "fail", answer=f"Bad {i}.") for i in range(5)], CUR_ID))
    decoded: list[bytes] = []
    decode = heads._item_decoder.decode
    monkeypatch.setattr(heads, "_item_decoder", type("Spy", (), {"decode": lambda self, line: decoded.append(line) or decode(line)})())

    code = main(["diff", BASE_ID, CUR_ID, "--diffs", "--limit", "2", "--report-dir", str(report_dir)])
    out = capsys.readouterr().out

    assert code == 1 and out.count("    answer: [-The answer-]{+Bad ") == 2 and "… and 3 more regressions" in out
    assert len(decoded) == 4, "two shown regressions, each side's whole item decoded once"


def test_runs_lists_old_and_new_records_and_names_what_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_dir = tmp_path / "reports"
    write_old_layout(report_dir, make_run([make_item("a")], BASE_ID))
    store(report_dir, make_run([make_item("a", "fail")], CUR_ID))
    newer = runs_dir(report_dir) / "20261129T010000Z-cccccc.json"
    newer.write_text('{"schema_version": 3, "run_id": "20261129T010000Z-cccccc"}', encoding="utf-8")

    code = main(["runs", "--report-dir", str(report_dir)])
    lines = capsys.readouterr().out.splitlines()

    assert code == 0 and len(lines) == 3
    assert lines[0].startswith("20261129T010000Z-cccccc.json") and lines[0].endswith(
        "unreadable: written by a newer promptcheck (schema 3); upgrade to read it"
    )
    assert lines[1].startswith(BASE_ID) and "1 pass 0 fail 0 error 0 skip" in lines[1]
    assert lines[2].startswith(CUR_ID) and "0 pass 1 fail 0 error 0 skip" in lines[2]
