"""Writing runs: ``RunRecorder`` (a session's record, journaled), ``write_run`` and atomic files.
Reading them back is ``runs.reading``.

Durability: every ``add`` appends the item to ``runs/<run_id>.journal.jsonl`` (cheap, O(item)),
while the JSON itself is rewritten atomically at most every ``flush_interval`` seconds (backing off
when a rewrite gets slow), on ``finish`` and from ``atexit``. A process killed outright (SIGKILL,
OOM) leaves the journal behind; ``load_run`` folds it back in, so every finished item survives with
``complete: false``.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import stat
import threading
import time
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import AnyStr

import msgspec

from promptcheck.runs.record import ItemResult, RunHeader, RunRecord, summarize, utc_now, with_answer_hash

RUNS_DIR = "runs"
JOURNAL_SUFFIX = ".journal.jsonl"
ITEMS_OPENING = b',\n"items": [\n'  # ends line 1 (the header) in the store's layout
ITEMS_CLOSING = b"\n]}\n"
_LINES_PER_CHUNK = 2048  # item lines joined per write when a record is written

_encoder = msgspec.json.Encoder()
# Structs don't check their fields when built, and load_run refuses a whole file for one bad item:
# every item is decoded back once at add(), so a bad one fails there, in the caller's frame.
_item_decoder = msgspec.json.Decoder(ItemResult)


class RunFileError(Exception):
    """A run file that is missing, unreadable or not a run record; the message names the file."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


def runs_dir(report_dir: Path | str) -> Path:
    return Path(report_dir) / RUNS_DIR


def journal_for(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".json") + JOURNAL_SUFFIX)


def report_data_dir(report_dir: Path, run_id: str) -> Path:
    """The folder of a run's HTML page's item details, beside the page (see report.datafiles);
    here because retention removes it with the run."""
    return report_dir / f"{run_id}-data"


def encode(value: msgspec.Struct) -> bytes:
    return _encoder.encode(value)


# --- atomic files --------------------------------------------------------------------------------


def _temp_beside(path: Path) -> tuple[int, Path]:
    """A new, empty temp file in ``path``'s directory, with the mode ``open(path, "w")`` would
    leave: an existing file's mode, else 0o666 less the umask. ``tempfile.mkstemp`` makes every
    file 0o600, which after the rename made reports unreadable to the group and web servers
    that a plain write would have let read them."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask, as for open(..., "w")
        except FileExistsError:
            continue  # another writer's temp file; 48 random bits make this all but impossible
        break
    try:
        existing = os.stat(path).st_mode
    except FileNotFoundError:
        return fd, tmp
    if hasattr(os, "fchmod"):
        try:
            os.fchmod(fd, stat.S_IMODE(existing))
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
    return fd, tmp


def _write_atomic(path: Path, chunks: Iterable[AnyStr], mode: str, durable: bool = False) -> None:
    """Temp file in the same directory + os.replace: readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as out:
            out.writelines(chunks)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_chunks_atomic(path: Path, chunks: Iterable[str]) -> None:
    """Text ``chunks`` (e.g. a streamed HTML page) as ``path``, atomically."""
    _write_atomic(path, chunks, "w")


def copy_atomic(source: Path, path: Path) -> None:
    """``source``'s bytes at ``path``, replaced atomically like every other write here."""
    fd, tmp = _temp_beside(path)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- run files -----------------------------------------------------------------------------------


def record_chunks(header: RunHeader, items: Iterable[ItemResult], item_lines: Iterable[bytes]) -> Iterable[bytes]:
    """The store's layout: the header (with a fresh summary) on line 1, then one item per line.
    Every item written here has its answer_hash (``add`` and ``write_run`` see to it)."""
    header = msgspec.structs.replace(header, summary=summarize(items), answer_hashes=True)
    yield encode(header)[:-1] + ITEMS_OPENING
    # In batches, not one join of every line: that join and the list of encoded lines it needs
    # were each the whole record (~90 MB at 100,000 replayed items), held at once while sealing.
    lines = iter(item_lines)
    separator = b""
    while batch := list(islice(lines, _LINES_PER_CHUNK)):
        yield separator + b",\n".join(batch)
        separator = b",\n"
    yield ITEMS_CLOSING


def write_run(path: Path, record: RunRecord) -> None:
    """Write a whole record (e.g. a merged one) in the store's layout."""
    items = [with_answer_hash(item) for item in record.items]
    _write_atomic(path, record_chunks(record.header, items, map(encode, items)), "wb", durable=True)


class RunRecorder:
    """Accumulates one session's items and keeps ``runs/<run_id>.json`` current on disk.

    Only the process that sees every item records (the xdist controller, or a plain session).
    ``update_header`` may change header fields known only at the end (``selected_only``) until
    ``finish``."""

    def __init__(
        self,
        report_dir: Path | str,
        header: RunHeader,
        *,
        flush_interval: float = 0.5,
        max_flush_share: float = 0.05,
    ) -> None:
        self.header = header
        self.path = runs_dir(report_dir) / f"{header.run_id}.json"
        self.journal_path = journal_for(self.path)
        # The items only, not their encoded lines as well (~0.9 KB more per item, held to the
        # end): a flush encodes them again, which msgspec does at several hundred MB/s, and the
        # items share their strings with the plans (decoded copies would not).
        self._items: dict[str, ItemResult] = {}
        self._lock = threading.RLock()
        self._flush_interval = flush_interval
        # A rewrite costs O(run size); spacing rewrites by duration/share bounds their total cost.
        self._backoff = 1.0 / max_flush_share
        self._next_flush = 0.0
        self._finished = False
        self._released = False
        self.flush()  # the file exists from the first moment, so a crash before any item still shows
        self._journal = self.journal_path.open("ab")
        atexit.register(self._at_exit)

    @property
    def run_id(self) -> str:
        return self.header.run_id

    @property
    def record(self) -> RunRecord:
        with self._lock:
            if self._released:
                raise RuntimeError(f"run {self.run_id} was handed over by release(); read it from {self.path}")
            items = tuple(self._items.values())
            header = msgspec.structs.replace(self.header, summary=summarize(items), answer_hashes=True)
            return RunRecord(header, items)

    def update_header(self, **changes: object) -> None:
        with self._lock:
            self.header = msgspec.structs.replace(self.header, **changes)

    def add(self, item: ItemResult) -> None:
        item = with_answer_hash(item)  # so a diff of stored runs compares answers without decoding them
        line = encode(item)
        try:
            _item_decoder.decode(line)
        except msgspec.ValidationError as e:
            raise ValueError(f"item {item.key!r} would not load back: {e}") from None
        with self._lock:
            if self._finished:
                raise RuntimeError(f"run {self.run_id} is finished; cannot add {item.key!r}")
            self._items.pop(item.key, None)  # a rerun replaces the earlier result, at the end
            self._items[item.key] = item
            self._journal.write(line + b"\n")
            self._journal.flush()
            if time.monotonic() >= self._next_flush:
                self.flush()

    def flush(self) -> None:
        with self._lock:
            started = time.monotonic()
            chunks = record_chunks(self.header, self._items.values(), map(encode, self._items.values()))
            _write_atomic(self.path, chunks, "wb", durable=self._finished)
            took = time.monotonic() - started
            self._next_flush = time.monotonic() + max(self._flush_interval, took * self._backoff)

    def finish(self, complete: bool) -> Path:
        """Seal the record. Idempotent: a second call (e.g. from atexit) changes nothing."""
        with self._lock:
            if self._finished:
                return self.path
            self._finished = True
            self.header = msgspec.structs.replace(self.header, finished_at=utc_now(), complete=bool(complete))
            self.flush()
            self._journal.close()
            self.journal_path.unlink(missing_ok=True)
            atexit.unregister(self._at_exit)
            return self.path

    def release(self) -> RunRecord:
        """The sealed run, handed over: the recorder keeps only its header, so the items need not
        outlive the caller."""
        with self._lock:
            if not self._finished:
                raise RuntimeError(f"run {self.run_id} is not finished; finish() it first")
            record = self.record
            self._items = {}
            self._released = True
            return record

    def _at_exit(self) -> None:
        # Reached only when the session never called finish(): a crash or an abrupt exit.
        self.finish(complete=False)
