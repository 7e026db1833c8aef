"""Cassettes: record modes, file format, concurrent writers, pruning and secret scrubbing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakellm import FakeLLM

from promptcheck.providers.base import ProviderError, ProviderRequest, ProviderResponse, Usage
from promptcheck.providers.cassette import CassetteStore, cassette_relpath
from promptcheck.providers.recording import CassetteProvider
from promptcheck.providers.openai_provider import OpenAIProvider

SRC = Path(__file__).resolve().parents[1] / "src"
PROMPT = "prompts/support.prompt.yaml"
LABEL = "openai:gpt-4o"


def make_request(
    case: str = "refund",
    question: str = "Can I get a refund?",
    repeat: int = 0,
    label: str = LABEL,
    prompt: str = PROMPT,
) -> ProviderRequest:
    return ProviderRequest(
        provider="openai",
        model="gpt-4o",
        label=label,
        messages=(("system", "You are a support agent.\nBe brief."), ("user", question)),
        params={"temperature": 0},
        repeat_index=repeat,
        item_id=f"{prompt}::{case}[{label}]",
    )


class FakeInner:
    """A network provider stand-in: counts calls, answers with a numbered, multi-line text."""

    label = "fake"

    def __init__(self, answer: str = "answer") -> None:
        self.calls: list[ProviderRequest] = []
        self.answer = answer

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        self.calls.append(request)
        text = f"{self.answer} {len(self.calls)}\nto: {request.messages[-1][1]}\n"
        return ProviderResponse(text, Usage(10, 5), latency_s=0.25, cost=0.001, raw_meta={"model": "gpt-4o-x"})


def no_network() -> Any:
    raise AssertionError("replay must not create the inner provider")


@pytest.fixture
def cassettes(tmp_path: Path) -> Path:
    return tmp_path / "cassettes"


def run(directory: Path, mode: str, inner: FakeInner | None = None, run_id: str | None = None) -> CassetteProvider:
    """A fresh store per call stands for a fresh pytest run."""
    store = CassetteStore(directory, run_id=run_id, flush_interval_s=0)
    factory = (lambda: inner) if inner is not None else no_network
    return CassetteProvider(factory, store, mode)


# -- layout and format -----------------------------------------------------------------------


def test_one_readable_file_per_prompt_and_model(cassettes: Path) -> None:
    provider = run(cassettes, "new", FakeInner())
    provider.complete(make_request("refund"))
    provider.complete(make_request("shipping", "Where is my parcel?"))
    provider.complete(make_request("refund", label="anthropic:claude-3-5-haiku"))

    files = sorted(p.relative_to(cassettes).as_posix() for p in cassettes.rglob("*.yaml"))
    assert files == ["prompts/support/anthropic_claude-3-5-haiku.yaml", "prompts/support/openai_gpt-4o.yaml"]
    text = (cassettes / files[1]).read_text()
    assert "text: |\n        answer 1\n        to: Can I get a refund?\n" in text  # a block, so diffs go by line
    assert "content: |-\n          You are a support agent.\n          Be brief.\n" in text
    doc = yaml.safe_load(text)
    assert doc["prompt"] == PROMPT and doc["model"] == LABEL
    entry = doc["entries"][make_request("refund").key()]
    assert entry["item"] == f"{PROMPT}::refund[{LABEL}]"
    assert entry["request"]["messages"][1] == {"role": "user", "content": "Can I get a refund?"}
    assert entry["response"]["usage"] == {"input_tokens": 10, "output_tokens": 5}
    assert entry["response"]["cost"] == 0.001 and entry["recorded_at"].endswith("Z")


def test_paths_stay_inside_the_cassette_directory() -> None:
    sneaky = make_request(prompt="../../etc/passwd.prompt.yml", label="a/../../b:c")
    assert cassette_relpath(sneaky).as_posix() == "etc/passwd/a_.._.._b_c.yaml"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "one line",
        "trailing newline\n",
        "\n\nleading blank",
        "tab\there",
        "  indented\n    more\n",
        "unicode ✓ ünï",
        "a\n\n\n",
        "--- not a document",
    ],
)
def test_answers_replay_exactly(cassettes: Path, text: str) -> None:
    class Fixed(FakeInner):
        def complete(self, request: ProviderRequest) -> ProviderResponse:
            return ProviderResponse(text, Usage(1, 2), latency_s=0.5)

    run(cassettes, "new", Fixed()).complete(make_request())
    replayed = run(cassettes, "none").complete(make_request())
    assert (replayed.text, replayed.usage, replayed.replayed) == (text, Usage(1, 2), True)


TRICKY_ANSWERS = ["", "one line", "trailing\n", "a\n\n\n", "  indented\n", "u\u2028v", "x\x85y", "tab\there", "...", "a\n...\n", "--- no doc", "key: value", "'quoted'", "✓ ünï\n"]


def test_a_flush_of_many_answers_writes_what_one_at_a_time_writes(cassettes: Path) -> None:
    # Entries are dumped one by one and cached between flushes; a file must not depend on how
    # the answers were grouped into flushes (diffs stay stable).
    requests = [make_request(case=f"c{i:02d}", question=f"q{i}") for i in range(len(TRICKY_ANSWERS))]

    def record(directory: Path, interval: float) -> str:
        store = CassetteStore(directory, run_id="fixed", flush_interval_s=interval)
        for request, text in zip(requests, TRICKY_ANSWERS):
            store.record(request, ProviderResponse(text, Usage(1, 2), latency_s=0.5))
        store.close()
        (path,) = directory.rglob("*.yaml")
        return path.read_text(encoding="utf-8")

    one_flush = record(cassettes / "batched", interval=3600)  # the first answer is written at once, the rest together
    one_each = record(cassettes / "single", interval=0)

    strip_times = lambda text: "\n".join(l for l in text.splitlines() if "recorded_at" not in l)  # noqa: E731
    assert strip_times(one_flush) == strip_times(one_each)
    replayed = [run(cassettes / "batched", "none").complete(r).text for r in requests]
    assert replayed == TRICKY_ANSWERS


# -- record modes ----------------------------------------------------------------------------


def test_mode_none_never_calls_and_names_the_missing_item(cassettes: Path) -> None:
    with pytest.raises(ProviderError) as caught:
        run(cassettes, "none").complete(make_request("refund"))

    message = str(caught.value)
    assert f"{PROMPT}::refund[{LABEL}]" in message
    assert f"pytest {PROMPT} --record-mode=new -k 'refund'" in message
    assert not cassettes.exists()


def test_mode_new_records_missing_then_replays_without_network(cassettes: Path) -> None:
    inner = FakeInner()
    first = run(cassettes, "new", inner).complete(make_request())
    assert len(inner.calls) == 1 and first.replayed is False

    replayed = run(cassettes, "new").complete(make_request())  # would fail if it called out
    assert replayed.replayed is True
    assert (replayed.text, replayed.usage, replayed.cost) == (first.text, first.usage, first.cost)
    assert replayed.latency_s == pytest.approx(0.25)
    assert replayed.raw_meta == {"model": "gpt-4o-x"}

    later = FakeInner()
    run(cassettes, "new", later).complete(make_request("shipping", "Where is my parcel?"))
    assert len(later.calls) == 1  # only the missing one was recorded
    assert len(yaml.safe_load(next(cassettes.rglob("*.yaml")).read_text())["entries"]) == 2


def test_mode_once_records_only_into_new_files(cassettes: Path) -> None:
    inner = FakeInner()
    provider = run(cassettes, "once", inner, run_id="run-1")
    provider.complete(make_request("refund"))
    provider.complete(make_request("shipping", "Where is my parcel?"))  # same run: the file is still "new"
    assert len(inner.calls) == 2

    # A sibling xdist worker of the same run may keep adding to the file it created.
    run(cassettes, "once", FakeInner(), run_id="run-1").complete(make_request("tracking", "Track it"))

    next_run = run(cassettes, "once", run_id="run-2")
    assert next_run.complete(make_request("refund")).replayed is True
    with pytest.raises(ProviderError, match="'once' only records into new cassette files"):
        next_run.complete(make_request("brand-new", "A new question"))


def test_mode_all_rerecords_everything(cassettes: Path) -> None:
    run(cassettes, "new", FakeInner("old")).complete(make_request())
    inner = FakeInner("new")
    provider = run(cassettes, "all", inner)

    assert provider.complete(make_request()).text.startswith("new 1")
    again = provider.complete(make_request())
    assert again.text.startswith("new 1") and len(inner.calls) == 1  # recorded once per run, not per call
    assert again.replayed is False  # yet obtained live in this run, not from an earlier one
    assert run(cassettes, "none").complete(make_request()).text.startswith("new 1")


def test_changed_prompt_is_a_miss(cassettes: Path) -> None:
    run(cassettes, "new", FakeInner()).complete(make_request(question="Can I get a refund?"))
    replay = run(cassettes, "none")
    assert replay.complete(make_request(question="Can I get a refund?")).replayed is True
    with pytest.raises(ProviderError, match="no recorded answer"):
        replay.complete(make_request(question="Can I get a refund, please?"))
    with pytest.raises(ProviderError, match="no recorded answer"):
        replay.complete(make_request(repeat=1))  # each repeat is its own recording


def test_recording_errors_are_not_recorded(cassettes: Path) -> None:
    class Failing(FakeInner):
        def complete(self, request: ProviderRequest) -> ProviderResponse:
            raise ProviderError("openai: HTTP 500 (server error): boom")

    with pytest.raises(ProviderError, match="boom"):
        run(cassettes, "new", Failing()).complete(make_request())
    assert not list(cassettes.rglob("*.yaml"))


def test_batched_writes_land_on_close(cassettes: Path) -> None:
    store = CassetteStore(cassettes, flush_interval_s=3600)
    provider = CassetteProvider(lambda: FakeInner(), store, "new")
    provider.complete(make_request("a", "first"))  # the first write is due at once
    provider.complete(make_request("b", "second"))
    path = store.path_for(make_request())
    assert len(yaml.safe_load(path.read_text())["entries"]) == 1
    store.close()
    assert len(yaml.safe_load(path.read_text())["entries"]) == 2


# -- writing safely --------------------------------------------------------------------------


def test_write_is_atomic(cassettes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run(cassettes, "new", FakeInner()).complete(make_request("refund"))
    path = next(cassettes.rglob("*.yaml"))
    before = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        run(cassettes, "new", FakeInner()).complete(make_request("shipping", "Where?"))

    assert path.read_bytes() == before
    # No temp file left behind; the answer the failed write would have added waits in its journal.
    journal, = (p for p in path.parent.iterdir() if p.name != path.name)
    assert journal.name.startswith(f".{path.name}.") and journal.name.endswith(".journal")
    assert "Where?" in journal.read_text(encoding="utf-8")


WRITER = textwrap.dedent(
    """
    import sys
    from promptcheck.providers.base import ProviderRequest, ProviderResponse, Usage
    from promptcheck.providers.cassette import CassetteStore

    directory, worker = sys.argv[1], int(sys.argv[2])
    store = CassetteStore(directory, run_id="shared", flush_interval_s=3600)
    for i in range(50):
        request = ProviderRequest("openai", "gpt-4o", "openai:gpt-4o", (("user", f"w{worker} q{i}"),),
                                  item_id=f"prompts/p.prompt.yaml::w{worker}-{i}[openai:gpt-4o]")
        store.record(request, ProviderResponse(f"answer {worker}/{i}", Usage(1, 1)))
        if i % 5 == 4:
            store.flush()  # ten merges per process, interleaving with the other writers
    store.close()
    """
)


def test_concurrent_writers_in_several_processes_lose_nothing(cassettes: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    workers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(cassettes), str(w)], env=env, stderr=subprocess.PIPE)
        for w in range(4)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err.decode()

    files = list(cassettes.rglob("*"))
    assert [p.name for p in files if p.is_file()] == ["openai_gpt-4o.yaml"]
    entries = yaml.safe_load(files[-1].read_text())["entries"]
    assert len(entries) == 200
    assert {e["response"]["text"] for e in entries.values()} == {f"answer {w}/{i}" for w in range(4) for i in range(50)}


def test_a_journal_is_locked_before_another_process_can_see_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A scan by another process lands between creating the journal and locking it. It used to take
    # the new journal for a dead writer's (and the writer's lock then failed: BlockingIOError).
    from promptcheck.providers import cassette_journal

    cassette = tmp_path / "openai_gpt-4o.yaml"
    claimed: list[list[cassette_journal.Orphan]] = []
    real_flock = cassette_journal.fcntl.flock

    def flock_after_a_scan(fd: int, operation: int) -> None:
        if not claimed:
            claimed.append([])  # the scan's own flock calls go straight through
            claimed[0] = cassette_journal.claim_orphans(cassette)  # flock is per open file: it competes
        real_flock(fd, operation)

    monkeypatch.setattr(cassette_journal.fcntl, "flock", flock_after_a_scan)
    journal = cassette_journal.Journal(cassette)
    os.fsync(journal.append("k", {"response": {"text": "kept"}}))
    assert claimed == [[]]
    written, = tmp_path.glob(cassette_journal.journal_glob(cassette))
    assert "kept" in written.read_text(encoding="utf-8")


def test_an_unnamed_journal_of_a_killed_writer_is_removed(tmp_path: Path) -> None:
    from promptcheck.providers import cassette_journal

    cassette = tmp_path / "openai_gpt-4o.yaml"
    left = tmp_path / ".openai_gpt-4o.yaml.1-dead.journal.new"
    fresh = tmp_path / ".openai_gpt-4o.yaml.2-live.journal.new"  # a writer about to lock and name it
    left.touch()
    fresh.touch()
    an_hour_ago = time.time() - 3600
    os.utime(left, (an_hour_ago, an_hour_ago))
    assert cassette_journal.claim_orphans(cassette) == []
    assert not left.exists() and fresh.exists()


# -- used, unused, prune ---------------------------------------------------------------------


def test_unused_entries_and_prune(cassettes: Path) -> None:
    recorder = run(cassettes, "new", FakeInner())
    for case in ("a", "b", "c"):
        recorder.complete(make_request(case, f"question {case}"))

    replay = run(cassettes, "none")
    replay.complete(make_request("a", "question a"))
    replay.complete(make_request("c", "question c"))
    unused = replay.store.unused_entries()
    assert [u.item for u in unused] == [f"{PROMPT}::b[{LABEL}]"]

    removed = replay.store.prune()
    assert [u.key for u in removed] == [make_request("b", "question b").key()]
    assert replay.store.unused_entries() == []
    after = run(cassettes, "none")
    assert after.complete(make_request("a", "question a")).replayed
    with pytest.raises(ProviderError):
        after.complete(make_request("b", "question b"))


def test_a_used_entry_replays_again_and_an_entry_without_meta_gets_its_own_empty_dict(cassettes: Path) -> None:
    """Replay keeps less per entry (no item id once used, no dict for an empty meta); what a
    lookup returns and what counts as unused stay as they were."""
    class NoMeta(FakeInner):
        def complete(self, request: ProviderRequest) -> ProviderResponse:
            answer = super().complete(request)
            return ProviderResponse(answer.text, answer.usage, latency_s=answer.latency_s, cost=answer.cost)

    recorder = run(cassettes, "new", NoMeta())
    for case in ("a", "b"):
        recorder.complete(make_request(case, f"question {case}"))

    replay = run(cassettes, "none")
    first = replay.complete(make_request("a", "question a"))
    again = replay.complete(make_request("a", "question a"))  # a rerun of the same item
    assert again.replayed and again.text == first.text
    assert first.raw_meta == again.raw_meta == {}
    first.raw_meta["note"] = "changed by a caller"
    assert again.raw_meta == {}  # not one shared dict
    assert [u.item for u in replay.store.unused_entries()] == [f"{PROMPT}::b[{LABEL}]"]


def test_scan_finds_cassettes_of_prompts_this_run_never_opened(cassettes: Path) -> None:
    recorder = run(cassettes, "new", FakeInner())
    recorder.complete(make_request("a", "question a"))
    recorder.complete(make_request("x", "question x", prompt="prompts/deleted.prompt.yaml"))

    replay = run(cassettes, "none")
    replay.complete(make_request("a", "question a"))
    assert replay.store.unused_entries() == []
    assert [u.item for u in replay.store.unused_entries(scan=True)] == [f"prompts/deleted.prompt.yaml::x[{LABEL}]"]
    replay.store.prune(scan=True)
    assert not (cassettes / "prompts" / "deleted").joinpath("openai_gpt-4o.yaml").exists()


def test_used_keys_from_workers_can_be_merged_before_pruning(cassettes: Path) -> None:
    recorder = run(cassettes, "new", FakeInner())
    for case in ("a", "b"):
        recorder.complete(make_request(case, f"question {case}"))
    worker_a, worker_b, controller = run(cassettes, "none"), run(cassettes, "none"), run(cassettes, "none")
    worker_a.complete(make_request("a", "question a"))
    worker_b.complete(make_request("b", "question b"))

    controller.store.mark_used(worker_a.store.used_keys())
    controller.store.mark_used(worker_b.store.used_keys())
    assert controller.store.prune() == []


# -- secrets ---------------------------------------------------------------------------------


SECRETS = {
    "OPENAI_API_KEY": "sk-proj-FAKEopenaiKEY0123456789abcdef",
    "GITHUB_TOKEN": "ghp_FAKEgithubTOKEN0123456789abcdefABCD",
    "MY_SERVICE_TOKEN": "plain-looking-secret-9f8e7d",
}


def test_cassettes_never_contain_keys_or_auth_headers(
    cassettes: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    pat = "github_pat_11FAKE0123456789abcdefghijklmnop"
    bearer = "Bearer eyJfake.token123456789"
    # The prompt leaks keys too, and the fake model echoes them back in its answer.
    leaky = (
        f"my keys: {SECRETS['OPENAI_API_KEY']} {SECRETS['GITHUB_TOKEN']} {pat} "
        f"{SECRETS['MY_SERVICE_TOKEN']} header {bearer}"
    )
    request = ProviderRequest(
        provider="openai",
        model="gpt-4o",
        label=LABEL,
        messages=(("user", leaky),),
        params={"temperature": 0, "user": SECRETS["OPENAI_API_KEY"]},
        item_id=f"{PROMPT}::leaky[{LABEL}]",
    )
    store = CassetteStore(cassettes, flush_interval_s=0)
    provider = CassetteProvider(
        lambda: OpenAIProvider.openai(base_url=fake_llm.openai_base_url, max_retries=0), store, "new"
    )

    live = provider.complete(request)
    store.close()

    assert SECRETS["OPENAI_API_KEY"] in live.text  # the live answer is untouched...
    assert fake_llm.requests[-1].headers["authorization"] == f"Bearer {SECRETS['OPENAI_API_KEY']}"
    written = [p for p in cassettes.rglob("*") if p.is_file()]
    assert written
    for path in written:
        content = path.read_text()
        for secret in (*SECRETS.values(), pat, "eyJfake.token123456789"):
            assert secret not in content, f"{secret} leaked into {path}"
        assert "authorization" not in content.lower()
        assert "x-api-key" not in content.lower()
        assert "[REDACTED]" in content
    # ...and the scrubbed recording still replays under the original key.
    assert run(cassettes, "none").complete(request).replayed
