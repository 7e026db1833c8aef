"""Writing runs: ``RunRecorder`` (the session's record, journaled), ``write_run`` and atomic files.
Reading them back is ``runstore.reading``."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from promptcheck.runs.record import new_header, summarize, utc_now, validate_item

RUNS_DIR = "runs"
JOURNAL_SUFFIX = ".journal.jsonl"


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


# --- writing -------------------------------------------------------------------------------------


def _dump(value: Any) -> str:
    # Compact separators: a 20,000-item run is tens of MB, and readers parse every byte.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _write_atomic(path: Path, chunks: Iterable[str], durable: bool = False) -> None:
    """Temp file in the same directory + os.replace: readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(chunks)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    _write_atomic(path, (text,))


def write_chunks_atomic(path: Path, chunks: Iterable[str]) -> None:
    _write_atomic(path, chunks)


def copy_atomic(source: Path, path: Path) -> None:
    """``source``'s bytes at ``path``, replaced atomically like every other write here."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _record_chunks(
    header: Mapping[str, Any], items: Iterable[Mapping[str, Any]], item_lines: Iterable[str]
) -> Iterable[str]:
    """The store's layout: the header (with a fresh summary) on line 1, then one item per line."""
    header = {k: v for k, v in header.items() if k != "items"} | {"summary": summarize(items)}
    yield _dump(header)[:-1] + ',\n"items": [\n'
    yield ",\n".join(item_lines)
    yield "\n]}\n"


def write_run(path: Path, record: Mapping[str, Any]) -> None:
    """Write a whole record (e.g. a merged one) in the store's layout."""
    _write_atomic(path, _record_chunks(record, record["items"], map(_dump, record["items"])), durable=True)


class RunRecorder:
    """Accumulates one session's items and keeps ``runs/<run_id>.json`` current on disk.

    Not for xdist workers: only the controller (or a non-distributed session) records.
    Items must not be mutated after ``add``; the file holds them as they were then. ``header`` may
    be updated (e.g. ``selected_only``, known only at the end) until ``finish``.
    """

    def __init__(
        self,
        report_dir: Path | str,
        meta: Mapping[str, Any],
        *,
        flush_interval: float = 0.5,
        max_flush_share: float = 0.1,
    ) -> None:
        self.header = new_header(meta)
        self.path = runs_dir(report_dir) / f"{self.header['run_id']}.json"
        self.journal_path = journal_for(self.path)
        self._items: dict[str, dict[str, Any]] = {}
        self._lines: dict[str, str] = {}  # serialized once at add(), so a flush is pure I/O
        self._lock = threading.RLock()
        self._flush_interval = flush_interval
        # A rewrite costs O(run size); spacing rewrites by duration/share bounds their total cost.
        self._backoff = 1.0 / max_flush_share
        self._next_flush = 0.0
        self._finished = False
        self._released = False
        self.flush()  # the file exists from the first moment, so a crash before any item still shows
        self._journal = self.journal_path.open("a", encoding="utf-8")
        atexit.register(self._at_exit)

    @property
    def run_id(self) -> str:
        return str(self.header["run_id"])

    @property
    def record(self) -> dict[str, Any]:
        """The run as a record dict (what ``compare`` and the reports take)."""
        with self._lock:
            if self._released:
                raise RuntimeError(f"run {self.run_id} was handed over by release(); read it from {self.path}")
            items = list(self._items.values())
            return self.header | {"summary": summarize(items), "items": items}

    def add(self, item: dict[str, Any]) -> None:
        validate_item(item)
        try:
            line = _dump(item)  # serialized once, here; also proves the item is plain JSON
        except (TypeError, ValueError) as e:
            raise TypeError(f"item {item['key']!r} is not plain JSON: {e}") from None
        with self._lock:
            if self._finished:
                raise RuntimeError(f"run {self.run_id} is finished; cannot add {item['key']!r}")
            self._items.pop(item["key"], None)  # a rerun replaces the earlier result, at the end
            self._lines.pop(item["key"], None)
            self._items[item["key"]] = item
            self._lines[item["key"]] = line
            self._journal.write(line + "\n")
            self._journal.flush()
            if time.monotonic() >= self._next_flush:
                self.flush()

    def flush(self) -> None:
        with self._lock:
            started = time.monotonic()
            chunks = _record_chunks(self.header, self._items.values(), self._lines.values())
            _write_atomic(self.path, chunks, durable=self._finished)
            took = time.monotonic() - started
            self._next_flush = time.monotonic() + max(self._flush_interval, took * self._backoff)

    def finish(self, complete: bool) -> Path:
        """Seal the record. Idempotent: a second call (e.g. from atexit) changes nothing."""
        with self._lock:
            if self._finished:
                return self.path
            self._finished = True
            self.header["finished_at"] = utc_now()
            self.header["complete"] = bool(complete)
            self.flush()
            self._lines = {}  # on disk now; a sealed record is never rewritten (~2 KB per item freed)
            self._journal.close()
            self.journal_path.unlink(missing_ok=True)
            atexit.unregister(self._at_exit)
            return self.path

    def release(self) -> dict[str, Any]:
        """The sealed run as a record dict, handed over: the recorder keeps only its header, so
        the items need not outlive the caller (pytest's exit-time garbage collections walk
        every object still alive, five times)."""
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
