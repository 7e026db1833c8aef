"""What kind of thing a path is, asked before reading it: opening a FIFO named ``x.prompt.yml``
blocks forever, and a symlink loop makes ``Path.resolve()`` raise RuntimeError."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def is_symlink_loop(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def not_readable_reason(path: Path) -> str | None:
    """Why ``path`` must not be opened as a file ("symlink loop ...", "not a regular file ..."),
    or None when it is a regular file (or does not exist: reading then says so)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop (following the link leads back to it); not read"
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file; not read"
    kind = _KINDS.get(stat.S_IFMT(mode), "something else")
    return f"not a regular file but {kind}; not read"


def unreadable_entries(directory: Path, is_wanted: Callable[[Path], bool]) -> list[tuple[Path, str]]:
    """Entries of ``directory`` a directory walk skips without a word: symlink loops (whatever
    their name: a loop may have been a directory) and wanted files that are not regular files."""
    found = []
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink() and is_symlink_loop(path):
            found.append((path, not_readable_reason(path) or ""))
        elif not entry.is_dir() and not entry.is_file() and is_wanted(path):
            reason = not_readable_reason(path)
            if reason is not None:
                found.append((path, reason))
    return found


def resolved(path: Path) -> Path:
    """``path.resolve()``, or the path made absolute when a symlink loop stops resolving it."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # RuntimeError: Python before 3.13 on a loop
        return Path(os.path.abspath(path))
