"""The run store: recording, durability across crashes, loading errors, listing, baselines."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from promptcheck.runs import (
    RunFileError,
    RunRecorder,
    collect_git,
    list_runs,
    load_run,
    new_run_id,
    read_header,
    resolve_baseline,
    runs_dir,
)
from runfactory import GIT, VERSIONS, make_item, make_run, store

SRC = Path(__file__).resolve().parents[1] / "src"
META = {"git": GIT, "versions": VERSIONS, "models": ["openai:gpt-4o"], "record_mode": "none", "args": ["-q"]}


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    return tmp_path / "reports"


def test_run_id_format() -> None:
    run_id = new_run_id()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run_id)
    assert new_run_id() != run_id


def test_recorder_writes_a_complete_record(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, META)
    assert recorder.path.exists(), "the file exists before the first item"
    recorder.add(make_item("a"))
    recorder.add(make_item("b", "fail"))
    recorder.add(make_item("a", "error"))  # a rerun replaces the earlier result
    path = recorder.finish(complete=True)

    record = load_run(recorder.run_id, report_dir)
    assert path == runs_dir(report_dir) / f"{recorder.run_id}.json"
    assert record["complete"] is True and record["finished_at"]
    assert [(i["case_id"], i["status"]) for i in record["items"]] == [("b", "fail"), ("a", "error")]
    assert record["summary"]["counts"] == {"pass": 0, "fail": 1, "error": 1, "skip": 0}
    assert record["git"] == GIT and record["args"] == ["-q"] and record["selected_only"] is False
    assert not recorder.journal_path.exists(), "the journal is removed once the record is sealed"
    assert recorder.finish(complete=False) == path and load_run(path)["complete"] is True, "finish is idempotent"
    with pytest.raises(RuntimeError, match="finished"):
        recorder.add(make_item("c"))


def test_release_hands_the_sealed_record_over_and_keeps_nothing(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, META)
    recorder.add(make_item("a"))
    with pytest.raises(RuntimeError, match="not finished; finish\\(\\) it first"):
        recorder.release()
    recorder.finish(complete=True)
    released = recorder.release()
    assert [i["case_id"] for i in released["items"]] == ["a"] and released["complete"] is True
    with pytest.raises(RuntimeError, match=f"handed over by release\\(\\); read it from {re.escape(str(recorder.path))}"):
        recorder.record  # noqa: B018  (the property is what is tested)
    assert load_run(recorder.path)["items"] == released["items"], "the file still has every item"


def test_record_layout_has_the_header_on_line_one(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, META)
    recorder.add(make_item("a", answer="line one\nline two </script> \u2028"))
    recorder.finish(complete=True)
    lines = recorder.path.read_text(encoding="utf-8").splitlines()
    assert lines[1] == '"items": ['
    header = json.loads(lines[0][:-1] + "}")
    assert header["run_id"] == recorder.run_id and "items" not in header
    assert header["summary"]["models"] == {"openai:gpt-4o": {"pass": 1, "fail": 0, "error": 0, "skip": 0}}


def test_list_runs_reads_only_headers(report_dir: Path) -> None:
    path = store(report_dir, make_run([make_item("a")], "20261128T010000Z-aaaaaa"))
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2 + 40], encoding="utf-8")  # items cut off mid-way
    [info] = list_runs(report_dir)
    assert info.run_id == "20261128T010000Z-aaaaaa" and info.header and info.header["summary"]["counts"]["pass"] == 1
    with pytest.raises(RunFileError, match="not valid JSON"):
        load_run(path)


def test_listings_leave_out_the_used_cassette_keys_and_read_header_has_them(report_dir: Path) -> None:
    # Every listing holds all stored headers at once; a 20,000-item run's key list is 400 KB.
    used = {"prompts/a/gpt.yaml": [f"{n:016x}" for n in range(1000)]}
    path = store(report_dir, make_run([make_item("a")], "20261128T010000Z-aaaaaa", cassettes_used=used))

    [info] = list_runs(report_dir)

    assert info.header is not None and info.header["cassettes_used"] is True
    assert read_header(path)["cassettes_used"] == used
    assert load_run(path)["cassettes_used"] == used


def test_a_big_record_loads_item_for_item_with_repeated_text_shared(report_dir: Path) -> None:
    items = [make_item(f"case{n:04d}", "fail" if n % 7 == 0 else "pass") for n in range(1203)]  # spans parse chunks
    path = store(report_dir, make_run(items, "20261128T010000Z-aaaaaa"))

    loaded = load_run(path)["items"]

    assert loaded == items
    assert loaded[0]["prompt_path"] is loaded[-1]["prompt_path"], "one shared string, not 1,203 copies"


def test_item_validation_happens_at_add(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, META)
    with pytest.raises(ValueError, match="lacks status"):
        recorder.add({"key": "k"})
    with pytest.raises(ValueError, match="status must be one of"):
        recorder.add(make_item("a", status="passed"))
    with pytest.raises(TypeError, match="not plain JSON"):
        recorder.add(make_item("a", answer=object()))
    recorder.finish(complete=True)
    assert load_run(recorder.path)["items"] == []


def test_flushes_are_throttled_but_the_journal_holds_every_item(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, META, flush_interval=3600)
    for n in range(50):
        recorder.add(make_item(f"c{n}"))
    on_disk = json.loads(recorder.path.read_text(encoding="utf-8"))
    assert on_disk["items"] == [], "no rewrite of the record within the interval"
    assert len(recorder.journal_path.read_text(encoding="utf-8").splitlines()) == 50
    assert len(load_run(recorder.path)["items"]) == 50, "readers fold the journal in"
    assert [i.header["summary"]["counts"]["pass"] for i in list_runs(report_dir)] == [50]
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

    recorder = RunRecorder(report_dir, META, flush_interval=0.5, max_flush_share=0.1)
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
from promptcheck.runs import RunRecorder
from runfactory import make_item
recorder = RunRecorder({report_dir!r}, {{"git": None, "versions": {{}}, "models": ["m"]}}, flush_interval=3600)
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
    assert record["complete"] is False
    assert [i["case_id"] for i in record["items"]] == ["c0", "c1", "c2"]
    [info] = list_runs(report_dir)
    assert info.header and info.header["summary"]["counts"]["pass"] == 3 and info.header["complete"] is False


def test_a_torn_journal_line_is_ignored(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, META, flush_interval=3600)
    recorder.add(make_item("a"))
    recorder._journal.write('{"key": "half-writ')  # what a kill mid-write leaves
    recorder._journal.flush()
    assert [i["case_id"] for i in load_run(recorder.path)["items"]] == ["a"]
    recorder.finish(complete=True)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such run file"),
        ("{not json", "corrupt run file: not valid JSON (line 1, column 2)"),
        ("[1, 2]", "not a promptcheck run record (expected a JSON object)"),
        ('{"schema": 7, "run_id": "x", "items": []}', "written by a newer promptcheck (schema 7)"),
        ('{"schema": "1", "run_id": "x", "items": []}', "schema is '1', expected 1"),
        ('{"schema": 1, "run_id": "x"}', "run record has no items list"),
        ('{"schema": 1, "run_id": "x", "items": [{"key": "k"}]}', "item 0 is not a valid item record"),
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
    assert load_run("20261127T010000Z-aaaaaa", report_dir)["items"][0]["case_id"] == "a"
    assert load_run("20261128T01", report_dir)["run_id"] == "20261128T010000Z-bbbbbb"
    assert load_run("latest", report_dir)["run_id"] == "20261128T020000Z-cccccc"
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
    assert infos[0].header is None and (infos[0].error or "").startswith("cannot read run file")
    assert infos[1].header is None and "not valid JSON" in (infos[1].error or "")
    assert list_runs(report_dir / "nowhere") == []


def test_resolve_baseline(report_dir: Path) -> None:
    gpt, claude = "openai:gpt-4o", "anthropic:claude"
    store(report_dir, make_run([make_item("a", model=gpt)], "20261125T010000Z-000001"))
    store(report_dir, make_run([make_item("a", model=claude)], "20261126T010000Z-000002"))  # no shared model
    store(report_dir, make_run([make_item("a", model=gpt)], "20261127T010000Z-000003", complete=False))
    current = make_run([make_item("a", model=gpt)], "20261128T010000Z-000004")
    store(report_dir, current)
    later = store(report_dir, make_run([make_item("a", model=gpt)], "20261129T010000Z-000005"))

    def baseline_id(spec: str | None) -> str | None:
        found = resolve_baseline(spec, report_dir, current)
        return found["run_id"] if found else None

    assert baseline_id(None) == "20261125T010000Z-000001", "previous completed run sharing a model"
    assert baseline_id("latest") == "20261129T010000Z-000005"
    assert baseline_id("20261126") == "20261126T010000Z-000002"
    assert baseline_id(str(later)) == "20261129T010000Z-000005"
    assert baseline_id("none") is None
    assert resolve_baseline(None, report_dir / "empty", current) is None
    with pytest.raises(RunFileError, match="no such run file"):
        resolve_baseline("19990101T000000Z-ffffff", report_dir, current)


def test_collect_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert collect_git(tmp_path) == {"commit": None, "branch": None, "dirty": None}, "not a repository"
    if shutil.which("git"):
        repo = tmp_path / "repo"
        repo.mkdir()
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
        for cmd in (["init", "-q", "-b", "work"], ["commit", "-q", "--allow-empty", "-m", "x"]):
            subprocess.run(["git", *cmd], cwd=repo, check=True, env=env)
        git = collect_git(repo)
        assert re.fullmatch(r"[0-9a-f]{40}", git["commit"]) and git["branch"] == "work" and git["dirty"] is False
        (repo / "new.txt").write_text("x")
        assert collect_git(repo)["dirty"] is True
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert collect_git(tmp_path) == {"commit": None, "branch": None, "dirty": None}, "no git binary"


def test_recorder_collects_metadata_it_is_not_given(report_dir: Path) -> None:
    recorder = RunRecorder(report_dir, {"models": ["m"], "selected_only": True, "shard": "2/4"})
    record = recorder.record
    recorder.finish(complete=True)
    assert set(record["git"]) == {"commit", "branch", "dirty"}
    assert record["versions"]["python"] == sys.version.split()[0] and record["versions"]["promptcheck"]
    assert record["selected_only"] is True and record["shard"] == "2/4", "extra metadata is kept"
    assert textwrap.dedent(record["started_at"]).endswith("+00:00")
