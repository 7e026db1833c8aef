"""The run store: recording, durability across crashes, loading errors, listing, baselines."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from promptcheck.runs.reading import list_runs, load_run, read_header
from promptcheck.runs.record import (
    GitInfo, ItemResult, RunHeader, ShardInfo, collect_git, new_header, new_run_id, with_answer_hash,
)
from promptcheck.runs.store import RunFileError, RunRecorder, runs_dir
from runfactory import GIT, VERSIONS, make_item, make_run, store

SRC = Path(__file__).resolve().parents[1] / "src"


def fresh_header() -> RunHeader:
    """A fresh run's header, as a session opens its recorder."""
    return new_header(git=GIT, versions=VERSIONS, models=["openai:gpt-4o"], record_mode="none", args=["-q"])


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    return tmp_path / "reports"


def test_run_id_format() -> None:
    run_id = new_run_id()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run_id)
    assert new_run_id() != run_id


def test_recorder_writes_a_complete_record(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, fresh_header())
    assert recorder.path.exists(), "the file exists before the first item"
    recorder.add(make_item("a"))
    recorder.add(make_item("b", "fail"))
    recorder.add(make_item("a", "error"))  # a rerun replaces the earlier result
    path = recorder.finish(complete=True)

    record = load_run(recorder.run_id, report_dir)
    assert path == runs_dir(report_dir) / f"{recorder.run_id}.json"
    assert record.header.complete is True and record.header.finished_at
    assert [(i.case_id, i.status) for i in record.items] == [("b", "fail"), ("a", "error")]
    assert record.header.summary.counts == {"pass": 0, "fail": 1, "error": 1, "skip": 0}
    assert record.header.git == GIT and record.header.args == ("-q",) and record.header.selected_only is False
    assert not recorder.journal_path.exists(), "the journal is removed once the record is sealed"
    assert recorder.finish(complete=False) == path and load_run(path).header.complete is True, "finish is idempotent"
    with pytest.raises(RuntimeError, match="finished"):
        recorder.add(make_item("c"))


def test_release_hands_the_sealed_record_over_and_keeps_nothing(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, fresh_header())
    recorder.add(make_item("a"))
    with pytest.raises(RuntimeError, match="not finished; finish\\(\\) it first"):
        recorder.release()
    recorder.finish(complete=True)
    released = recorder.release()
    assert [i.case_id for i in released.items] == ["a"] and released.header.complete is True
    with pytest.raises(RuntimeError, match=f"handed over by release\\(\\); read it from {re.escape(str(recorder.path))}"):
        recorder.record  # noqa: B018  (the property is what is tested)
    assert load_run(recorder.path).items == released.items, "the file still has every item"


def test_record_layout_has_the_header_on_line_one(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, fresh_header())
    recorder.add(make_item("a", answer="line one\nline two </script> \u2028"))
    recorder.finish(complete=True)
    lines = recorder.path.read_text(encoding="utf-8").split("\n")  # not splitlines(): U+2028 stays raw in JSON
    assert lines[1] == '"items": ['
    header = json.loads(lines[0][:-1] + "}")
    assert header["run_id"] == recorder.run_id and "items" not in header
    assert header["schema_version"] == 2 and "schema" not in header
    assert header["summary"]["models"] == {"openai:gpt-4o": {"pass": 1, "fail": 0, "error": 0, "skip": 0}}
    assert header["selected_only"] is False and header["shard"] is None, "a header writes every field"
    item = json.loads(lines[2])
    assert list(item)[:2] == ["key", "status"] and "expected_failure" not in item and "samples" not in item


def test_list_runs_reads_only_headers(report_dir: Path) -> None:
    path = store(report_dir, make_run([make_item("a")], "20261128T010000Z-aaaaaa"))
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index('"items": [') + 30], encoding="utf-8")  # items cut off mid-way
    [info] = list_runs(report_dir)
    assert info.run_id == "20261128T010000Z-aaaaaa" and info.header and info.header.summary.counts["pass"] == 1
    with pytest.raises(RunFileError, match="not valid JSON"):
        load_run(path)


def test_listings_leave_out_the_used_cassette_keys_and_read_header_has_them(report_dir: Path) -> None:
    # Every listing holds all stored headers at once; a 20,000-item run's key list is 400 KB.
    used = {"prompts/a/gpt.yaml": tuple(f"{n:016x}" for n in range(1000))}
    path = store(report_dir, make_run([make_item("a")], "20261128T010000Z-aaaaaa", cassettes_used=used))

    [info] = list_runs(report_dir)

    assert info.header is not None and info.header.cassettes_used == {}, "recorded, but not listed"
    assert read_header(path).cassettes_used == used
    assert load_run(path).header.cassettes_used == used


def test_a_big_record_loads_item_for_item_with_repeated_text_shared(report_dir: Path) -> None:
    items = [make_item(f"case{n:04d}", "fail" if n % 7 == 0 else "pass") for n in range(1203)]  # spans parse chunks
    path = store(report_dir, make_run(items, "20261128T010000Z-aaaaaa"))

    loaded = load_run(path).items

    assert loaded == tuple(with_answer_hash(i) for i in items), "as added, with each answer's hash"
    assert loaded[0].messages[0][1] is loaded[-1].messages[0][1], "one shared system prompt, not 1,203 copies"


def test_item_validation_happens_at_add(report_dir: Path) -> None:
    # Structs don't validate when built; an item load_run would refuse must fail at add, not later.
    recorder = RunRecorder(report_dir, fresh_header())
    with pytest.raises(TypeError, match="Missing required argument 'status'"):
        ItemResult(key="k")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=r"item '.*a\[openai:gpt-4o\]' would not load back: Invalid enum value 'passed'"):
        recorder.add(msgspec.structs.replace(make_item("a"), status="passed"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"would not load back: Expected `float \| null`, got `str` - at `\$.score`"):
        recorder.add(msgspec.structs.replace(make_item("a"), score="high"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unsupported"):
        recorder.add(msgspec.structs.replace(make_item("a"), answer=object()))  # type: ignore[arg-type]
    recorder.finish(complete=True)
    assert load_run(recorder.path).items == ()


def test_flushes_are_throttled_but_the_journal_holds_every_item(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, fresh_header(), flush_interval=3600)
    for n in range(50):
        recorder.add(make_item(f"c{n}"))
    on_disk = json.loads(recorder.path.read_text(encoding="utf-8"))
    assert on_disk["items"] == [], "no rewrite of the record within the interval"
    assert len(recorder.journal_path.read_text(encoding="utf-8").splitlines()) == 50
    assert len(load_run(recorder.path).items) == 50, "readers fold the journal in"
    assert [i.header.summary.counts["pass"] for i in list_runs(report_dir) if i.header] == [50]
    recorder.flush()
    assert len(json.loads(recorder.path.read_text(encoding="utf-8"))["items"]) == 50
    recorder.finish(complete=True)


def test_flushes_every_interval_and_back_off_when_rewrites_get_slow(report_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptcheck.runs import store as store_module

    clock = [100.0]
    write_cost = [0.0]
    real_write = store_module._write_atomic

    def slow_write(*args: object, **kwargs: object) -> None:
        clock[0] += write_cost[0]  # the rewrite "takes" this long
        real_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(store_module, "_write_atomic", slow_write)

    def items_on_disk() -> int:
        return len(json.loads(recorder.path.read_text(encoding="utf-8"))["items"])

    recorder = RunRecorder(report_dir, fresh_header(), flush_interval=0.5, max_flush_share=0.1)
    recorder.add(make_item("a"))
    assert items_on_disk() == 0
    clock[0] += 0.5
    write_cost[0] = 2.0
    recorder.add(make_item("b"))
    assert items_on_disk() == 2, "a rewrite once the interval has passed"
    clock[0] += 10.0
    recorder.add(make_item("c"))
    assert items_on_disk() == 2, "a 2 s rewrite may take at most 10% of the time: the next waits 20 s"
    clock[0] += 10.0
    recorder.add(make_item("d"))
    assert items_on_disk() == 4
    recorder.finish(complete=True)


CRASHING_SESSION = """
import os, signal, sys
sys.path[:0] = [{src!r}, {tests!r}]
from promptcheck.runs.record import GitInfo, Versions, new_header
from promptcheck.runs.store import RunRecorder
from runfactory import make_item
recorder = RunRecorder({report_dir!r}, new_header(git=GitInfo(), versions=Versions(), models=["m"]), flush_interval=3600)
for n in range(3):
    recorder.add(make_item(f"c{{n}}"))
print(recorder.path, flush=True)
{how}
"""


@pytest.mark.parametrize(
    "how, code",
    [
        ("raise RuntimeError('boom')", 1),  # an exception escaping the session: atexit seals the record
        ("os.kill(os.getpid(), signal.SIGINT)", -2),  # Ctrl-C: KeyboardInterrupt, atexit still runs
        ("os.kill(os.getpid(), signal.SIGKILL)", -9),  # no atexit at all: the journal is all there is
    ],
    ids=["exception", "ctrl-c", "sigkill"],
)
def test_a_crashed_session_keeps_every_finished_item(report_dir: Path, tmp_path: Path, how: str, code: int) -> None:
    script = CRASHING_SESSION.format(src=str(SRC), tests=str(Path(__file__).parent), report_dir=str(report_dir), how=how)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == code, done.stderr
    path = Path(done.stdout.strip())
    record = load_run(path)
    assert record.header.complete is False
    assert [i.case_id for i in record.items] == ["c0", "c1", "c2"]
    [info] = list_runs(report_dir)
    assert info.header and info.header.summary.counts["pass"] == 3 and info.header.complete is False


def test_a_torn_journal_line_is_ignored(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, fresh_header(), flush_interval=3600)
    recorder.add(make_item("a"))
    recorder._journal.write(b'{"key": "half-writ')  # what a kill mid-write leaves
    recorder._journal.flush()
    assert [i.case_id for i in load_run(recorder.path).items] == ["a"]
    recorder.finish(complete=True)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such run file"),
        ("{not json", "corrupt run file: not valid JSON (line 1, column 2)"),
        ("[1, 2]", "not a promptcheck run record (expected a JSON object)"),
        ('{"schema": 7, "run_id": "x", "items": []}', "written by a newer promptcheck (schema 7)"),
        ('{"schema_version": 7, "run_id": "x", "items": []}', "written by a newer promptcheck (schema 7)"),
        ('{"schema": "1", "run_id": "x", "items": []}', "schema is '1', expected 2"),
        ('{"run_id": "x", "items": []}', "schema is None, expected 2"),
        ('{"schema_version": 2, "items": []}', "run record has no run_id"),
        ('{"schema": 1, "run_id": "x"}', "run record has no items list"),
        ('{"schema_version": 2, "run_id": "x"}', "run record has no items list"),
        ('{"schema": 1, "run_id": "x", "items": [{"key": "k"}]}', "item 0 is not a valid item record (object missing required field `status`)"),
        ('{"schema_version": 2, "run_id": "x", "items": [{"key": "k", "status": "passed"}]}', "item 0 is not a valid item record (invalid enum value 'passed')"),
    ],
)
def test_load_run_errors_name_the_file(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "some-run.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(RunFileError) as info:
        load_run(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_load_run_by_id_prefix_and_latest(report_dir: Path) -> None:
    store(report_dir, make_run([make_item("a")], "20261127T010000Z-aaaaaa"))
    store(report_dir, make_run([make_item("b")], "20261128T010000Z-bbbbbb"))
    store(report_dir, make_run([make_item("c")], "20261128T020000Z-cccccc"))
    assert load_run("20261127T010000Z-aaaaaa", report_dir).items[0].case_id == "a"
    assert load_run("20261128T01", report_dir).run_id == "20261128T010000Z-bbbbbb"
    assert load_run("latest", report_dir).run_id == "20261128T020000Z-cccccc"
    assert load_run("previous", report_dir).run_id == "20261128T010000Z-bbbbbb"
    assert load_run("cccccc", report_dir).run_id == "20261128T020000Z-cccccc", "the suffix the terminal shows"
    with pytest.raises(RunFileError, match="ambiguous"):
        load_run("20261128", report_dir)
    with pytest.raises(RunFileError, match=r"runs/20990101\.json: no such run file"):
        load_run("20990101", report_dir)
    with pytest.raises(RunFileError, match="no runs stored yet"):
        load_run("latest", report_dir / "empty")


def test_list_runs_orders_by_time_and_reports_unreadable_files(report_dir: Path) -> None:
    store(report_dir, make_run([make_item("b")], "20261128T010000Z-bbbbbb"))
    store(report_dir, make_run([make_item("a")], "20261127T010000Z-aaaaaa"))
    (runs_dir(report_dir) / "broken.json").write_text("{oops", encoding="utf-8")
    (runs_dir(report_dir) / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    infos = list_runs(report_dir)
    assert [i.run_id for i in infos] == ["binary", "broken", "20261127T010000Z-aaaaaa", "20261128T010000Z-bbbbbb"]
    assert infos[0].header is None and infos[0].error == "corrupt run file: not valid JSON (not UTF-8)"
    assert infos[1].header is None and "not valid JSON" in (infos[1].error or "")
    assert list_runs(report_dir / "nowhere") == []


def test_collect_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert collect_git(tmp_path) == GitInfo(commit=None, branch=None, dirty=None), "not a repository"
    if shutil.which("git"):
        repo = tmp_path / "repo"
        repo.mkdir()
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
        for cmd in (["init", "-q", "-b", "work"], ["commit", "-q", "--allow-empty", "-m", "x"]):
            subprocess.run(["git", *cmd], cwd=repo, check=True, env=env)
        git = collect_git(repo)
        assert re.fullmatch(r"[0-9a-f]{40}", git.commit or "") and git.branch == "work" and git.dirty is False
        (repo / "new.txt").write_text("x")
        assert collect_git(repo).dirty is True
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert collect_git(tmp_path) == GitInfo(commit=None, branch=None, dirty=None), "no git binary"


def test_recorder_collects_metadata_it_is_not_given(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, new_header(models=["m"]))
    recorder.update_header(selected_only=True, shard=ShardInfo(2, 4))
    record = recorder.record
    recorder.finish(complete=True)
    assert isinstance(record.header.git, GitInfo)
    assert record.header.versions.python == sys.version.split()[0] and record.header.versions.promptcheck
    assert record.header.selected_only is True and record.header.shard == ShardInfo(2, 4), "header changes are kept"
    assert load_run(recorder.path).header.shard == ShardInfo(2, 4)
    assert record.header.started_at.endswith("+00:00")


# A run as the schema-1 writer stored it: "schema": 1, every field present (nulls, empty lists),
# compact JSON, the header on line 1 and one item per line.
SCHEMA_1_HEADER = {
    "schema": 1, "run_id": "20261126T010000Z-111111", "started_at": "2026-11-26T01:00:00.000001+00:00",
    "finished_at": "2026-11-26T01:00:09.000001+00:00", "complete": True,
    "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "branch": None, "dirty": True},
    "versions": {"python": "3.11.7", "pytest": "8.3.3", "promptcheck": "0.1.0"},
    "models": ["openai:gpt-4o"], "record_mode": "none", "args": ["-q"], "selected_only": False,
    "shard": {"index": 1, "count": 1, "only_narrowing": True, "models": []}, "merged_from": [],
    "cassettes_unused": 0, "cassettes_used": {"prompts/greet/gpt.yaml": ["00ab", "00cd"]},
    "summary": {"counts": {"pass": 1, "fail": 1, "error": 0, "skip": 0}, "models": {"openai:gpt-4o": {"pass": 1, "fail": 1, "error": 0, "skip": 0}}},
}


def schema_1_item(case_id: str, status: str, answer: str) -> dict:
    passed = status == "pass"
    key = f"prompts/greet.prompt.yaml::{case_id}[openai:gpt-4o]"
    return {
        "key": key, "prompt_path": "prompts/greet.prompt.yaml", "prompt_name": "greet", "case_id": case_id,
        "model": "openai:gpt-4o", "repeat": 0, "nodeid": key, "status": status, "messages_hash": "abc123",
        "messages": [["system", "You are terse."], ["user", f"Question for {case_id}"]], "answer": answer,
        "score": 1.0 if passed else 0.0,
        "checks": [{"name": "contains", "type": "contains", "passed": passed, "score": 1.0 if passed else 0.0,
                    "reason": "" if passed else "expected text not found", "span": None if passed else [0, 3], "skipped": False}],
        "latency_s": 0.5, "input_tokens": 10, "output_tokens": 5, "cost": 0.001, "judge_cost": None, "replayed": True,
        "error": None, "skip_reason": None, "expected_failure": None, "tags": ["smoke"],
        "passed_samples": None, "pass_rate_required": None, "samples": [],
    }


def write_schema_1(report_dir: Path) -> Path:
    items = [schema_1_item("a", "pass", "The answer."), schema_1_item("b", "fail", "Nope.")]
    dump = lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    path = runs_dir(report_dir) / f"{SCHEMA_1_HEADER['run_id']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(SCHEMA_1_HEADER)[:-1] + ',\n"items": [\n' + ",\n".join(map(dump, items)) + "\n]}\n", encoding="utf-8")
    return path


def test_a_schema_1_run_still_loads_lists_and_diffs(report_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from promptcheck.cli import main

    path = write_schema_1(report_dir)

    record = load_run(path)
    assert record.run_id == "20261126T010000Z-111111" and record.header.complete is True
    assert record.header.git == GitInfo("0123456789abcdef0123456789abcdef01234567", None, True)
    assert record.header.shard == ShardInfo(1, 1) and record.header.args == ("-q",)
    assert record.header.cassettes_used == {"prompts/greet/gpt.yaml": ("00ab", "00cd")}
    assert record.header.summary.counts == {"pass": 1, "fail": 1, "error": 0, "skip": 0}
    a, b = record.items
    assert (a.case_id, a.status, a.answer, a.tags, a.replayed) == ("a", "pass", "The answer.", ("smoke",), True)
    assert a.messages == (("system", "You are terse."), ("user", "Question for a"))
    assert b.checks[0].span == (0, 3) and b.checks[0].reason == "expected text not found" and b.counts == (0, 1)

    [info] = list_runs(report_dir)
    assert info.error is None and info.header is not None
    assert info.header.run_id == record.run_id and info.header.summary.counts["fail"] == 1 and info.header.complete

    current = make_run([make_item("a", "fail"), make_item("b", "pass")], "20261127T010000Z-222222")
    store(report_dir, current)
    capsys.readouterr()
    code = main(["diff", record.run_id, current.run_id, "--report-dir", str(report_dir)])
    out = capsys.readouterr().out
    assert code == 1, "a regression against the schema-1 baseline"
    assert out.startswith("promptcheck: 2 items, 1 regression, 1 fix (vs run 20261126T010000Z-111111)")
    assert "REGRESSION prompts/greet.prompt.yaml::a[openai:gpt-4o]" in out
