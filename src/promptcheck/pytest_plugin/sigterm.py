"""SIGTERM ends a run the way Ctrl-C does: the item in progress stops, the run is marked
incomplete, finished items stay in the run record, the report is written, and pytest exits
with its interrupted code (2). CI runners and ``timeout`` send SIGTERM before SIGKILL; by
default Python would die on it at once, with no record and no report.

Only the process that writes the run (not an xdist worker) takes it, only from the main thread
(where Python runs signal handlers), and only when nobody else handles SIGTERM already. A second
SIGTERM kills as usual: the answers are safe in the cassettes' journals either way."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import pytest

_PREVIOUS: pytest.StashKey[object] = pytest.StashKey()


def install(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return
    config.stash[_PREVIOUS] = signal.signal(signal.SIGTERM, _interrupt)


def uninstall(config: pytest.Config) -> None:
    previous = config.stash.get(_PREVIOUS, None)
    if previous is not None and signal.getsignal(signal.SIGTERM) in (_interrupt, signal.SIG_DFL):
        signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]
        del config.stash[_PREVIOUS]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise KeyboardInterrupt("SIGTERM")
