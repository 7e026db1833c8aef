"""Why a cassette file cannot be replayed, worded for the user: the file (as they would type
it), what is wrong, and what to do. Every item the file serves gets this error."""

from __future__ import annotations

from pathlib import Path

from .base import ProviderError

__all__ = ["CassetteError", "not_a_cassette", "unreadable"]


class CassetteError(ProviderError):
    """A cassette file that cannot be read; the message names it and says what to do."""


_FIX = "fix or delete the file, then record again (pytest --record-mode=new)"


def unreadable(path: Path, why: str) -> CassetteError:
    return CassetteError(f"cassette {_shown(path)} cannot be read: {why}; {_FIX}")


def not_a_cassette(path: Path, why: str) -> CassetteError:
    return CassetteError(f"cassette {_shown(path)} does not look like a promptcheck cassette ({why}); {_FIX}")


def _shown(path: Path) -> str:
    try:  # relative to where pytest runs, as the user would type it
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return str(path)
