"""A paid answer is on disk before its item reports it, whatever kills the run.

Each process appends every answer it records to a journal beside the cassette
(``.<cassette name>.<pid>-<random>.journal``, one JSON line per answer), written and fsynced
before the answer goes back to the item. The cassette file itself is rewritten only now and
then (cassette.py batches those writes); once a rewrite holds a journal's answers, the journal
is deleted. A journal left behind by a process that was killed (kill -9, SIGKILL from a CI
timeout, a power cut) is folded into its cassette by the next process that loads the cassette.

Each writer holds an exclusive ``flock`` on its own journal for as long as it is open: a lock
that can be taken means the writer is gone, so a live xdist sibling's journal is never touched."""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no locks; a journal is then folded only by the process that wrote it
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Handle:
    """An open journal file whose answers are all in pending entries or in the cassette: it goes
    once the cassette file has been rewritten with them."""

    path: Path
    fd: int

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(self.fd)  # closing releases the lock


@dataclass
class Orphan:
    """A dead writer's journal, claimed (locked) by this process, with the answers it holds."""

    handle: Handle
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)


UNNAMED_SUFFIX = ".new"  # a journal file until it is locked; never matches journal_glob
UNNAMED_STALE_S = 60.0  # a writer names its journal microseconds after creating it


def journal_glob(cassette: Path) -> str:
    return f".{cassette.name}.*.journal"


class Journal:
    """This process's journal of one cassette file. Not thread-safe: the store calls it under its lock."""

    def __init__(self, cassette: Path) -> None:
        self.cassette = cassette
        self._current: Handle | None = None

    def append(self, key: str, entry: dict[str, Any]) -> int:
        """Write one answer; returns the file descriptor to ``sync`` (outside the store's lock)."""
        if self._current is None:
            self._current = self._open()
        line = (json.dumps({"key": key, "entry": entry}, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        view = memoryview(line)
        while view:
            view = view[os.write(self._current.fd, view) :]
        return self._current.fd

    @staticmethod
    def sync(fd: int) -> None:
        # EBADF: a flush closed the journal meanwhile, after the cassette file (fsynced) took the answer.
        with contextlib.suppress(OSError):
            os.fsync(fd)

    def rotate(self) -> Handle | None:
        """Hand over the current file (its answers are all pending now); the next answer starts a new one."""
        current, self._current = self._current, None
        return current

    def _open(self) -> Handle:
        directory = self.cassette.parent
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f".{self.cassette.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.journal"
        # Locked before it carries a journal's name: another process's claim_orphans takes any
        # unlocked journal for a dead writer's, and would take (and delete) this one meanwhile.
        unnamed = path.with_name(path.name + UNNAMED_SUFFIX)
        fd = os.open(unnamed, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(unnamed, path)
        _sync_directory(directory)  # the new name survives a crash too
        return Handle(path, fd)


def claim_orphans(cassette: Path) -> list[Orphan]:
    """The journals of ``cassette`` whose writers are gone, locked by this process, with their
    answers (a line cut short by the kill is skipped). Without flock nothing is claimed."""
    if fcntl is None or not cassette.parent.is_dir():
        return []
    _remove_unnamed(cassette)
    orphans = []
    for path in sorted(cassette.parent.glob(journal_glob(cassette))):
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue  # deleted by its writer just now
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # its writer is alive
            continue
        if not path.exists():  # folded and deleted by another process between glob and lock
            os.close(fd)
            continue
        orphans.append(Orphan(Handle(path, fd), dict(_entries(fd))))
    return orphans


def _remove_unnamed(cassette: Path) -> None:
    """Empty files a writer killed between creating and naming its journal left (no answer is in
    one). Only old ones: a live writer's is unlocked too, for the moment before it locks it."""
    for path in cassette.parent.glob(journal_glob(cassette) + UNNAMED_SUFFIX):
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > UNNAMED_STALE_S:
                path.unlink()


def _entries(fd: int) -> Iterator[tuple[str, dict[str, Any]]]:
    with os.fdopen(os.dup(fd), "rb") as handle:
        for raw in handle:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict) and isinstance(line.get("key"), str) and isinstance(line.get("entry"), dict) and isinstance(line["entry"].get("response"), dict):
                yield line["key"], line["entry"]


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
