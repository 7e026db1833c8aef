"""A conversation item in `promptcheck diff --diffs` and in the HTML report: the thread turn by
turn, the baseline's answer beside each answer that changed, each turn's checks."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from chromium import dump_dom, needs_chromium

from promptcheck.cli import main
from promptcheck.report import write_reports
from promptcheck.runs.reading import load_run
from promptcheck.runs.record import RecordedToolCall
from promptcheck.runs.store import runs_dir
from runfactory import baseline_of, check, make_item, make_run, store

BASE_ID, CUR_ID = "20261127T010000Z-aaaaaa", "20261128T010000Z-bbbbbb"


def turn(index: int, user: str, answer: str, passed: bool = True, fixed: bool = False, checks: Any = ()) -> dict[str, Any]:
    return {"index": index, "user": user, "answer": answer, "passed": passed, "fixed": fixed,
            "checks": [check(*c) if isinstance(c, tuple) else c for c in checks]}


def conversation_runs() -> tuple[Any, Any]:
    baseline = make_item("refund", answer="We will refund it.", turns=[
        turn(0, "Refund order 42", "Order 42: refund started.", checks=[("contains: 42", True)]),
        turn(1, "It arrived broken", "Sorry! A photo?", fixed=True),
        turn(2, "Here is the photo", "We will refund it.", checks=[("contains: refund", True)]),
    ])
    current = make_item("refund", "fail", answer="Please wait.", turns=[
        turn(0, "Refund order 42", "Order 42: refund started.", checks=[("contains: 42", True)]),
        turn(1, "It arrived broken", "Sorry! A photo?", fixed=True),
        turn(2, "Here is the photo", "Please wait.", passed=False,
             checks=[("contains: refund", False, "'refund' not found in the answer")]),
    ], checks=[check("turn 3: contains: refund", False, "'refund' not found in the answer")])
    return make_run([baseline], BASE_ID), make_run([current], CUR_ID)


def test_turns_round_trip_through_the_store(tmp_path: Path) -> None:
    _, current = conversation_runs()
    path = store(tmp_path, current)
    loaded = load_run(path).items[0]
    assert [(t.index, t.user, t.fixed, t.passed) for t in loaded.turns] == [
        (0, "Refund order 42", False, True), (1, "It arrived broken", True, True), (2, "Here is the photo", False, False)]


def test_diff_shows_the_thread_turn_by_turn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline, current = conversation_runs()
    store(tmp_path, baseline)
    store(tmp_path, current)
    assert runs_dir(tmp_path).is_dir()
    code = main(["diff", BASE_ID, CUR_ID, "--diffs", "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("REGRESSION"))
    assert lines[start + 1:start + 7] == [
        '    turn 1 (user: "Refund order 42"): ✓',
        "      answer (unchanged): Order 42: refund started.",
        '    turn 2 (user: "It arrived broken"): fixed reply',
        "      answer (unchanged): Sorry! A photo?",
        '    turn 3 (user: "Here is the photo"): ✗ contains: refund',
        "      answer: [-We will refund it-]{+Please wait+}.",
    ]


def test_a_changed_earlier_answer_is_a_changed_conversation() -> None:
    from promptcheck.runs.record import same_answer, with_answer_hash

    a = make_item("c", answer="same last", turns=[turn(0, "u1", "first"), turn(1, "u2", "same last")])
    b = make_item("c", answer="same last", turns=[turn(0, "u1", "FIRST"), turn(1, "u2", "same last")])
    assert not same_answer(a, b)
    assert not same_answer(with_answer_hash(a), with_answer_hash(b))
    assert same_answer(with_answer_hash(a), with_answer_hash(a))


@needs_chromium
def test_the_report_shows_the_conversation_as_a_thread(tmp_path: Path) -> None:
    baseline, current = conversation_runs()
    report = write_reports(tmp_path, current, baseline_of(baseline), []).latest
    dom = dump_dom(report, "expand=all")
    assert "Conversation (3 turns; baseline beside any answer that changed)" in dom
    turns = re.findall(r'<div class="turn (pass|fail)">(.*?)(?=<div class="turn |<details|</section>|$)', dom, re.S)
    assert [state for state, _ in turns] == ["pass", "pass", "fail"]
    first, fixed, failed = (html.unescape(body) for _, body in turns)
    assert "turn 1 · user" in first and "Refund order 42" in first and "✓ contains: 42" in first
    assert "assistant (fixed reply, not checked)" in fixed and "Sorry! A photo?" in fixed
    assert "turn 3 · user" in failed and "✗ contains: refund" in failed and "'refund' not found in the answer" in failed
    sides = re.findall(r'<div class="meta">(baseline|current)</div><pre>(.*?)</pre>', turns[2][1], re.S)
    assert [(side, re.sub(r"</?(del|ins)>", "", text)) for side, text in sides[:2]] == [
        ("baseline", "We will refund it."), ("current", "Please wait.")]
    assert "<del>" in sides[0][1] and "<ins>" in sides[1][1], "the baseline's answer beside the current one, as a word diff"


def test_a_turns_tool_calls_are_kept_and_change_the_conversation(tmp_path: Path) -> None:
    from promptcheck.runs.record import same_answer

    calls = [{"name": "lookup_order", "arguments": '{"order_id": "42"}'}]
    plain = make_item("c", answer="done", turns=[turn(0, "u1", "done")])
    calling = make_item("c", answer="done", turns=[{**turn(0, "u1", "done"), "tool_calls": calls}])
    assert not same_answer(plain, calling), "the same text after other tool calls is another answer"
    loaded = load_run(store(tmp_path, make_run([calling], CUR_ID))).items[0]
    assert [(c.name, c.arguments) for c in loaded.turns[0].tool_calls] == [("lookup_order", '{"order_id": "42"}')]


@needs_chromium
def test_the_report_shows_each_turns_tool_calls_in_the_thread(tmp_path: Path) -> None:
    baseline, current = conversation_runs()
    call = RecordedToolCall("lookup_order", '{"order_id": "42"}')
    first = msgspec.structs.replace(current.items[0].turns[0], tool_calls=(call,))
    # An item's own calls are its last answer's; here as if the last turn had made the same call.
    item = msgspec.structs.replace(current.items[0], turns=(first, *current.items[0].turns[1:]), tool_calls=(call,))
    current = msgspec.structs.replace(current, items=(item,))
    report = write_reports(tmp_path, current, baseline_of(baseline), []).latest
    dom = html.unescape(dump_dom(report, "expand=all"))
    turns = re.findall(r'<div class="turn (?:pass|fail)">(.*?)(?=<div class="turn |<details|</section>|$)', dom, re.S)
    assert '→ lookup_order({"order_id": "42"})' in turns[0]
    assert "→ " not in turns[1] + turns[2]
    assert "Tool calls (1)" not in dom, "a conversation shows its calls in its turns, not again below"
