"""The typed run record: one header and one ``ItemResult`` per item, as stored and compared.

Every type here is a frozen ``msgspec.Struct``: the run store encodes and decodes them with
msgspec's typed JSON codec (a 20,000-item run is tens of MB, read for every report and diff),
and compare, report, history and merge read attributes, never string keys.

Schema history (``schema_version``):

* 1: the first layout, with ``"schema": 1`` in the header. Its items have the same fields as
  version 2, so version-1 files load as they are.
* 2: ``schema_version`` instead of ``schema``; item fields at their default value are left out.
  Later additions that old readers ignore, so the version stayed 2: ``answer_hash`` on items
  and ``answer_hashes`` in the header (true when the writer gave every answer its hash, so a
  diff may compare answers without decoding them; older files are compared by their text).

On disk a run is ``runs/<run_id>.json``: line 1 is the header (every field but ``items``), so
listings read one line per run; then one item per line, its texts (messages, answer) last.
"""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import msgspec

import promptcheck

SCHEMA_VERSION = 2
Status = Literal["pass", "fail", "error", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "error", "skip")
DECISIVE: tuple[Status, ...] = ("pass", "fail")  # outcomes that say something about the answer

# Struct options of every record type: frozen (immutable), omit_defaults (no defaults on disk)
# and gc=False (kept out of the cyclic garbage collector: records hold no reference cycles, and
# 20,000 of them walked by each of pytest's exit-time collections cost seconds). A header is
# written once per file and read by people too, so header types keep their defaults on disk.
# The options are spelled out on each class, not splatted from a dict, so type checkers see
# that the types are frozen (a frozen subclass needs a frozen base).


class CheckResult(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One check's result on one answer. ``span`` is a (start, end) code-point range in the answer."""

    name: str
    type: str
    passed: bool
    score: float
    reason: str = ""
    span: tuple[int, int] | None = None
    skipped: bool = False
    weight: float = 1.0
    negate: bool = False


class RecordedToolCall(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One tool call of an answer: the tool's name and its arguments' JSON text."""

    name: str
    arguments: str = ""
    id: str = ""


class Sample(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One answer of a repeated item (``--repeat``)."""

    repeat: int
    answer: str
    passed: bool
    score: float
    checks: tuple[CheckResult, ...] = ()
    latency_s: float | None = None
    cost: float | None = None
    tool_calls: tuple[RecordedToolCall, ...] = ()  # added later; absent in older records


class TurnResult(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One turn of a conversation item: the user's message, the answer, and its checks.
    ``fixed``: the answer is the turn's own ``reply``, not the model's, and was not checked."""

    index: int  # 0-based; shown 1-based
    user: str
    answer: str
    passed: bool = True
    score: float | None = None
    checks: tuple[CheckResult, ...] = ()
    replayed: bool = False
    fixed: bool = False
    tool_calls: tuple[RecordedToolCall, ...] = ()  # every call of the turn's agent loop, in order


def turn_title(index: int, user: str, limit: int = 60) -> str:
    """``turn 2 (user: "It arrived broken.")``: how failures, errors and diffs name a turn."""
    text = " ".join(user.split())
    if not text:
        return f"turn {index + 1}"
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return f'turn {index + 1} (user: "{shown}")'


class ItemHead(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """Everything about one item but its texts (rendered prompt and answer): what comparisons,
    counts and listings read. ``runs.heads`` decodes a stored run into these, so a 100,000-item
    diff never builds the answers it does not print. ``answer_hash`` stands in for the answer
    when two runs are compared (see ``same_answer``)."""

    key: str
    status: Status
    prompt_path: str = ""
    prompt_name: str = ""
    case_id: str = ""
    model: str = ""
    repeat: int = 0
    nodeid: str = ""
    messages_hash: str = ""
    answer_hash: str | None = None  # answer_digest(answer); set by the store when it writes the item
    score: float | None = None
    checks: tuple[CheckResult, ...] = ()
    latency_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    judge_cost: float | None = None
    # Where the answers' prices came from: "config", "genai-prices", "built-in table" (joined if several).
    price_source: str | None = None
    replayed: bool = False
    error: str | None = None
    skip_reason: str | None = None
    expected_failure: str | None = None
    tags: tuple[str, ...] = ()
    passed_samples: int | None = None
    pass_rate_required: float | None = None
    samples: tuple[Sample, ...] = ()

    @property
    def decisive(self) -> bool:
        """Whether the item reached a verdict on its answer (an error or a skip did not)."""
        return self.status in DECISIVE

    @property
    def counts(self) -> tuple[int, int] | None:
        """(passed samples, samples); None when there is no answer to count (error, skip)."""
        if self.samples:
            return sum(1 for s in self.samples if s.passed), len(self.samples)
        if self.status == "pass":
            return 1, 1
        if self.status == "fail":
            return 0, 1
        return None


class ItemResult(ItemHead, frozen=True, omit_defaults=True, gc=False):
    """What one item (prompt file × case × model) came to in one run.

    ``key`` is stable across runs (prompt path, case id, model label): what comparisons key on.
    The first sample's answer, score and checks are the item's own; ``samples`` holds every
    sample when the item was repeated. The texts come last in a stored line."""

    messages: tuple[tuple[str, str], ...] | None = None
    answer: str | None = None
    # A conversation's turns (its first sample's), in order; empty for a single-answer item.
    turns: tuple[TurnResult, ...] = ()
    # The first answer's tool calls (added later, so absent in older records and left out when none).
    tool_calls: tuple[RecordedToolCall, ...] = ()


class GitInfo(msgspec.Struct, frozen=True, gc=False):
    commit: str | None = None
    branch: str | None = None  # None when detached
    dirty: bool | None = None


class Versions(msgspec.Struct, frozen=True, gc=False):
    python: str = ""
    pytest: str | None = None
    promptcheck: str = ""


class ShardInfo(msgspec.Struct, frozen=True, gc=False):
    """``--shard index/count`` of a run, so ``merge`` can tell a full set of shards."""

    index: int
    count: int
    only_narrowing: bool = True  # nothing but the shard narrowed the run
    models: tuple[str, ...] = ()  # the --models selection the shard belongs to


class Summary(msgspec.Struct, frozen=True, gc=False):
    """Counts by status, overall and per model: what listings and trend charts read."""

    counts: dict[str, int] = msgspec.field(default_factory=dict)
    models: dict[str, dict[str, int]] = msgspec.field(default_factory=dict)


class RunHeader(msgspec.Struct, frozen=True, gc=False):
    """Everything about a run but its items."""

    run_id: str
    started_at: str = ""
    finished_at: str | None = None
    complete: bool = False  # false until the session seals it; a crash leaves it false
    git: GitInfo = GitInfo()
    versions: Versions = Versions()
    models: tuple[str, ...] = ()
    record_mode: str = ""
    args: tuple[str, ...] = ()
    selected_only: bool = False  # -k, -m, --lf, -x, node ids or a shard narrowed the run
    shard: ShardInfo | None = None
    merged_from: tuple[str, ...] = ()  # set by `promptcheck merge`
    cassettes_unused: int | None = None
    # Cassette entries this run used, per cassette file (relative paths): what `promptcheck
    # cassettes prune` keeps. Large; listings read headers without it (see runs.reading).
    cassettes_used: dict[str, tuple[str, ...]] | None = None
    summary: Summary = Summary()
    answer_hashes: bool = False  # every item with an answer has its answer_hash (see the schema notes)
    # A factory, not a plain default: omit_defaults leaves plain defaults out of the file, and every
    # file must say which schema it has (readers refuse one that doesn't).
    schema_version: int = SCHEMA_VERSION

    @property
    def sort_key(self) -> tuple[str, str]:
        return self.started_at, self.run_id


class RunRecord(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    header: RunHeader
    items: tuple[ItemResult, ...] = ()

    @property
    def run_id(self) -> str:
        return self.header.run_id


class RunHeads(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """A stored run without its texts (``runs.heads.load_heads``): what a diff compares."""

    header: RunHeader
    items: tuple[ItemHead, ...] = ()
    path: str = ""  # the file, to read the texts of the items a diff prints (``runs.heads.load_texts``)

    @property
    def run_id(self) -> str:
        return self.header.run_id


AnyRun = RunRecord | RunHeads


# --- answers -------------------------------------------------------------------------------------


def answer_digest(answer: str | None) -> str | None:
    """A short fingerprint of an answer: equal answers, equal digests (64 bits: a chance
    collision among 100,000 changed answers is about 1 in 10^9)."""
    if answer is None:
        return None
    return hashlib.blake2b(answer.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def with_answer_hash(item: ItemResult) -> ItemResult:
    """``item`` with its ``answer_hash``, as the store writes it."""
    if not isinstance(item.answer, str) or item.answer_hash is not None:
        return item  # no answer; or not text, which encoding the item reports
    return msgspec.structs.replace(item, answer_hash=answer_digest(thread_text(item)))


def thread_text(item: ItemResult) -> str | None:
    """What "the answer" of an item is when two runs are compared: a conversation's every turn
    (a changed earlier answer is a changed conversation), else the answer with its tool calls when
    it made any (an answer without calls keeps the digest it always had)."""
    if item.turns:
        return "\x1e".join(f"{t.user}\x1f{t.answer}" + _calls_text(t.tool_calls) for t in item.turns)
    if not item.tool_calls or item.answer is None:
        return item.answer
    return item.answer + _calls_text(item.tool_calls)


def _calls_text(calls: tuple[RecordedToolCall, ...]) -> str:
    # Empty without calls, so an answer that made none keeps the digest it always had.
    return "\x00" + msgspec.json.encode(calls).decode("utf-8") if calls else ""


def same_answer(a: ItemHead, b: ItemHead) -> bool:
    """Whether two items have the same answer: by hash when both have one (a diff of two stored
    runs never decodes answers), else by text (an item built in memory, or from an old file)."""
    if a.answer_hash is not None and b.answer_hash is not None:
        return a.answer_hash == b.answer_hash
    if isinstance(a, ItemResult) and isinstance(b, ItemResult):
        return thread_text(a) == thread_text(b)  # both texts at hand: cheaper than hashing them
    return _digest_of(a) == _digest_of(b)


def _digest_of(item: ItemHead) -> str | None:
    if item.answer_hash is not None:
        return item.answer_hash
    return answer_digest(thread_text(item)) if isinstance(item, ItemResult) else None


# --- ids, times and summaries ---------------------------------------------------------------------


def new_run_id(now: datetime | None = None) -> str:
    """UTC start time + 6 random hex digits: ids sort by time and never collide."""
    now = now or datetime.now(timezone.utc)
    return f"{now.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def utc_now() -> str:
    # Microseconds: two runs started in the same second must still order by start time.
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def summarize(items: Iterable[ItemHead]) -> Summary:
    overall: dict[str, int] = dict.fromkeys(STATUSES, 0)
    models: dict[str, dict[str, int]] = {}
    for item in items:
        overall[item.status] += 1
        by_model = models.get(item.model)
        if by_model is None:
            by_model = models[item.model] = dict.fromkeys(STATUSES, 0)
        by_model[item.status] += 1
    return Summary(overall, models)


def pass_rate(counts: dict[str, int]) -> float | None:
    """Passed over decided (pass + fail); None when nothing was decided. Errors and skips had no
    answer to judge: counting an outage as failures would hide what the answers did."""
    decided = counts.get("pass", 0) + counts.get("fail", 0)
    return counts.get("pass", 0) / decided if decided else None


# --- run metadata ----------------------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None  # no git binary, or a hung repository: metadata is nice to have, never fatal
    return done.stdout.strip() if done.returncode == 0 else None


def collect_git(cwd: Path | None = None) -> GitInfo:
    cwd = cwd or Path.cwd()
    commit = _git(cwd, "rev-parse", "HEAD")
    if commit is None:
        return GitInfo()
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(cwd, "status", "--porcelain")
    return GitInfo(commit, None if branch in (None, "HEAD") else branch, None if status is None else bool(status))


def collect_versions() -> Versions:
    try:
        import pytest

        pytest_version: str | None = pytest.__version__
    except ImportError:
        pytest_version = None
    return Versions(sys.version.split()[0], pytest_version, promptcheck.__version__)


def new_header(
    run_id: str | None = None,
    *,
    models: Iterable[str] = (),
    record_mode: str = "",
    args: Iterable[str] = (),
    git: GitInfo | None = None,
    versions: Versions | None = None,
    started_at: str | None = None,
) -> RunHeader:
    """A header for a run starting now; collects the git and version metadata it is not given."""
    return RunHeader(
        run_id=run_id or new_run_id(),
        started_at=started_at or utc_now(),
        git=git if git is not None else collect_git(),
        versions=versions if versions is not None else collect_versions(),
        models=tuple(models),
        record_mode=record_mode,
        args=tuple(args),
    )
