"""Record/replay of provider calls, after pytest-recording / vcrpy.

Record modes (``--record-mode``):

* ``none`` replay only; never touches the network, a missing recording is an error.
* ``once`` record into cassette files that did not exist when this run started; replay the rest.
* ``new``  replay what exists, record what is missing.
* ``all``  re-record everything.

Layout: ``<directory>/<prompt path without suffix>/<model label>.yaml`` (see cassette_format),
entries keyed by ``ProviderRequest.key()``. Every answer is in a journal beside its file before
it is returned (cassette_journal), so a killed run loses none it reported. Several processes (pytest-xdist workers) may write
the same file: each write takes an exclusive ``flock`` on the file's directory, re-reads the
file, merges its own entries in and replaces the file atomically.

xdist notes: pass the same ``run_id`` to every worker's store so ``once`` treats files created
by sibling workers as this run's; "used" sets are per process, so merge ``used_keys()`` from
workers into one store with ``mark_used()`` before calling ``prune()``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from promptcheck.redaction import known_secrets, scrub, scrubbed

from . import cassette_format as fmt
from .base import ProviderRequest, ProviderResponse, Usage
from .cassette_errors import CassetteError
from .cassette_file import CassetteFile, fold_orphans, read_cassette, replay_data, signature, split_item_id
from .cassette_journal import Journal
from .parts import cassette_messages
from .tools import calls_to_data

try:
    import fcntl
except ImportError:  # Windows: no cross-process lock; single-process runs are still safe.
    fcntl = None  # type: ignore[assignment]

_PROMPT_SUFFIXES = (".prompt.yaml", ".prompt.yml", ".yaml", ".yml", ".json", ".csv")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_part(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "_"


def cassette_relpath(request: ProviderRequest) -> PurePosixPath:
    prompt, _ = split_item_id(request.item_id)
    for suffix in _PROMPT_SUFFIXES:
        if prompt.endswith(suffix):
            prompt = prompt[: -len(suffix)]
            break
    # Keeping the prompt's directories avoids collisions between same-named prompts; ".."
    # and absolute parts are dropped so a cassette can never land outside its directory.
    parts = [_safe_part(p) for p in PurePosixPath(prompt).parts if p not in ("/", "..", ".")] or ["_unnamed"]
    label = request.label or f"{request.provider}:{request.model}"
    return PurePosixPath(*parts, _safe_part(label) + ".yaml")


@dataclass(frozen=True)
class UnusedEntry:
    path: Path
    key: str
    item: str


def _entry(request: ProviderRequest, response: ProviderResponse) -> dict[str, Any]:
    canonical = request.canonical()
    return {
        "item": request.item_id,
        "recorded_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "request": {
            "provider": canonical["provider"],
            "model": canonical["model"],
            "params": canonical["params"],
            "response_format": canonical["response_format"],
            "repeat_index": canonical["repeat_index"],
            "messages": cassette_messages(request.messages, request.parts),
            # Written only when declared, as canonical() keys on them only then.
            **{name: canonical[name] for name in ("tools", "tool_choice", "tool_rounds") if name in canonical},
        },
        "response": {
            "text": response.text,
            "usage": {"input_tokens": response.usage.input_tokens, "output_tokens": response.usage.output_tokens},
            "latency_s": round(response.latency_s, 4),
            "cost": response.cost,
            "meta": dict(response.raw_meta),
            **({"finish_reason": response.finish_reason} if response.finish_reason else {}),
            **({"tool_calls": calls_to_data(response.tool_calls)} if response.tool_calls else {}),
        },
    }


class CassetteStore:
    """All cassette files under one directory, loaded lazily, one parse per file per process."""

    def __init__(self, directory: str | Path, *, run_id: str | None = None, flush_interval_s: float = 0.5) -> None:
        self.directory = Path(directory)
        self.run_id = run_id or uuid.uuid4().hex
        # Rewriting a file per recorded answer is quadratic for big prompts; batch writes a
        # little. 0 writes every answer through immediately.
        self.flush_interval_s = flush_interval_s
        self._files: dict[Path, CassetteFile] = {}
        self._paths: dict[tuple[str, str, str, str], Path] = {}
        self._lock = threading.RLock()  # in-memory state
        self._write_lock = threading.Lock()  # one writer per process; flock covers the rest
        self._last_flush = float("-inf")  # the first answer is written at once
        self._flush_cost = 0.0
        atexit.register(self._flush_at_exit)

    # -- reading -------------------------------------------------------------------------------

    def path_for(self, request: ProviderRequest) -> Path:
        # One path per prompt file × model, asked for on every lookup: build it once.
        which = (request.item_id.partition("::")[0], request.label, request.provider, request.model)
        path = self._paths.get(which)
        if path is None:
            path = self._paths[which] = self.directory.joinpath(*cassette_relpath(request).parts)
        return path

    def _file(self, path: Path) -> CassetteFile:
        with self._lock:
            loaded = self._files.get(path)
            if loaded is None:
                loaded = read_cassette(path)
                if loaded.broken is None:  # a broken file is never written: its journals wait for the fix
                    fold_orphans(loaded)
                self._files[path] = loaded
            return loaded

    def broken(self, request: ProviderRequest) -> CassetteError | None:
        """Why the cassette file of ``request`` cannot be read, or None when it can (or is new)."""
        return self._file(self.path_for(request)).broken

    def lookup(self, request: ProviderRequest) -> ProviderResponse | None:
        """The recorded answer for ``request`` (marking it used), or None. An answer this process
        recorded in this run is not labelled replayed: the pool records an answer before its item
        asks for it, and the item then reads it back from here, yet it was obtained live.
        Raises CassetteError when the file cannot be read."""
        key = request.key()
        with self._lock:
            cassette = self._file(self.path_for(request))
            if cassette.broken is not None:
                raise cassette.broken
            found = cassette.recordings.get(key)
            if found is None:
                return None
            cassette.used.add(key)
            # Its item id is only ever shown for an entry no item used (unused_entries).
            cassette.items.pop(key, None)
            live = key in cassette.recorded
        text, input_tokens, output_tokens, latency, cost, meta, finish_reason, tool_calls = found
        return ProviderResponse(
            text=text,
            usage=Usage(input_tokens, output_tokens),
            latency_s=latency,
            cost=cost,
            raw_meta=meta if meta is not None else {},
            replayed=not live,
            finish_reason=finish_reason,
            tool_calls=tool_calls,
        )

    def has(self, request: ProviderRequest) -> bool:
        """Whether ``lookup`` would find an answer; marks nothing used."""
        return request.key() in self._file(self.path_for(request)).recordings

    def may_record_once(self, request: ProviderRequest) -> bool:
        """``once`` semantics: the file is new in this run (possibly created by a sibling worker)."""
        cassette = self._file(self.path_for(request))
        return not cassette.existed or cassette.created_by_run == self.run_id

    def recorded_this_run(self, request: ProviderRequest) -> bool:
        return request.key() in self._file(self.path_for(request)).recorded

    # -- writing -------------------------------------------------------------------------------

    def record(self, request: ProviderRequest, response: ProviderResponse) -> None:
        key = request.key()
        # Scrubbed and turned into YAML here, by the pool thread that waited for this answer,
        # so a write only joins texts. Dumping every entry since the last write at write time
        # held up the answers that came with it: 0.27 s at the end of a 2,000-call run.
        entry = scrubbed(_entry(request, response), known_secrets())
        fragment = fmt.entry_fragment(key, entry)
        with self._lock:
            cassette = self._file(self.path_for(request))
            if cassette.broken is not None:  # never written over: the user fixes or deletes it
                raise cassette.broken
            cassette.recordings[key] = replay_data(entry["response"])
            cassette.items[key] = request.item_id
            cassette.used.add(key)
            cassette.recorded.add(key)
            cassette.pending[key] = entry
            cassette.prepared[key] = fragment
            cassette.prompt = cassette.prompt or split_item_id(request.item_id)[0]
            cassette.model_label = cassette.model_label or request.label
            journal_fd = cassette.journal.append(key, entry)
            # Rewriting a big cassette takes a while; spacing writes by 9x their cost keeps
            # writing under ~10% of a recording run whatever the file size.
            wait = self.flush_interval_s and max(self.flush_interval_s, 9 * self._flush_cost)
            due = time.monotonic() - self._last_flush >= wait
        Journal.sync(journal_fd)  # on disk before the item gets the answer
        # Never wait for a flush another thread is doing: every pool thread would queue behind
        # the write lock and rewrite the file back to back (a convoy that stalls all calls).
        # That flush, a later one or close() writes these entries.
        if due and self._write_lock.acquire(blocking=False):
            try:
                self._flush_locked()
            finally:
                self._write_lock.release()

    def flush(self) -> None:
        """Merge every pending entry into its file on disk."""
        with self._write_lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        started = time.monotonic()
        with self._lock:
            batches = []
            for f in self._files.values():
                current = f.journal.rotate()
                if f.pending or f.retired or current:
                    batches.append((f, f.pending, f.prepared, [*f.retired, *([current] if current else [])]))
                    f.pending, f.prepared, f.retired = {}, {}, []
        for cassette, pending, prepared, journals in batches:
            cassette.fragments.update(prepared)  # only writers, under the write lock, touch these
            try:
                if pending:
                    self._merge_into(cassette, pending)
            except BaseException:
                with self._lock:  # keep them for the next attempt rather than lose answers
                    cassette.pending = {**pending, **cassette.pending}
                    cassette.retired += journals
                raise
            for journal in journals:  # the file holds their answers now
                journal.discard()
        self._last_flush = time.monotonic()
        self._flush_cost = self._last_flush - started

    def _merge_into(self, cassette: CassetteFile, pending: dict[str, dict[str, Any]], drop: Collection[str] = ()) -> None:
        secrets = known_secrets()
        with locked_dir(cassette.path.parent):
            path = cassette.path
            doc = cassette.disk_doc if cassette.disk_sig == signature(path) else None
            if doc is None:
                doc = fmt.load(path) or {}
            # A copy, so a failed write leaves the cached view of the disk as it was.
            entries: dict[str, Any] = dict(doc.get("entries") or {})
            for key in drop:
                entries.pop(key, None)
            for key, entry in pending.items():
                entries[key] = scrubbed(entry, secrets)
            if not entries:
                path.unlink(missing_ok=True)
                cassette.disk_doc = cassette.disk_sig = None
                return
            header = {
                "prompt": doc.get("prompt") or cassette.prompt,
                "model": doc.get("model") or cassette.model_label,
                # Kept from the first writer: "once" asks whether the file is this run's own.
                "created_by_run": doc.get("created_by_run") or self.run_id,
            }
            doc = {**doc, **scrub(header, secrets), "entries": entries}
            fmt.write_atomic(path, fmt.dump(doc, cassette.fragments))
            cassette.disk_doc, cassette.disk_sig = doc, signature(path)
        cassette.created_by_run = header["created_by_run"]

    def close(self) -> None:
        self.flush()
        atexit.unregister(self._flush_at_exit)

    def unload(self) -> None:
        """Forget what was read (every recorded answer: ~15 MB at 20,000 items) once the session
        is done with it, so the report step has that memory. Files on disk are untouched."""
        self.flush()
        with self._lock:
            self._files.clear()

    def _flush_at_exit(self) -> None:
        try:
            self.flush()
        except Exception as exc:  # at exit there is nobody left to raise to
            print(f"promptcheck: could not save cassettes: {exc}", file=sys.stderr)

    # -- bookkeeping ---------------------------------------------------------------------------

    def used_keys(self, *, relative: bool = False) -> dict[str, list[str]]:
        """Keys used by this process, by file (JSON-friendly, for xdist workeroutput). ``relative``
        names files by their POSIX path under the directory, for records read on other machines."""
        with self._lock:
            used = {p: sorted(f.used) for p, f in self._files.items() if f.used}
        if not relative:
            return {str(p): keys for p, keys in used.items()}
        return {_relative_to(p, self.directory): keys for p, keys in used.items()}

    def mark_used(self, used: Mapping[str, list[str]]) -> None:
        for path, keys in used.items():
            cassette = self._file(Path(path))
            with self._lock:
                cassette.used.update(keys)

    def unused_entries(self, *, scan: bool = False) -> list[UnusedEntry]:
        """Entries of the cassettes this run opened that no item used.

        ``scan=True`` also opens every other cassette under the directory, so cassettes of
        deleted prompts show up too; only meaningful after a run that selected every item.
        """
        if scan:
            for path in sorted(self.directory.rglob("*.yaml")):
                self._file(path)
        with self._lock:
            return [
                UnusedEntry(f.path, key, f.items.get(key, ""))
                for f in self._files.values()
                for key in sorted(f.recordings)
                if key not in f.used
            ]

    def prune(self, *, scan: bool = False) -> list[UnusedEntry]:
        """Delete unused entries (and files left empty); returns what was removed."""
        self.flush()
        unused = self.unused_entries(scan=scan)
        by_file: dict[Path, set[str]] = {}
        for entry in unused:
            by_file.setdefault(entry.path, set()).add(entry.key)
        with self._write_lock:
            for path, keys in by_file.items():
                cassette = self._files[path]
                self._merge_into(cassette, {}, drop=keys)
                with self._lock:
                    for key in keys:
                        cassette.recordings.pop(key, None)
                        cassette.items.pop(key, None)
        return unused


def _relative_to(path: Path, directory: Path) -> str:
    try:
        return path.relative_to(directory).as_posix()
    except ValueError:
        return str(path)  # outside the directory (an absolute path from a worker): keep it whole


@contextlib.contextmanager
def locked_dir(directory: Path) -> Iterator[None]:
    # Locking the directory rather than a side file leaves no stray *.lock files to commit.
    directory.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
