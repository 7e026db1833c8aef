"""Keeps Python's cyclic garbage collector off what a prompt session builds and keeps anyway.

From collection on, a session holds its items, plans and specs (~100,000 objects at 2,000
items), and pytest keeps every report to the end. Each full collection walks all of them:
a few during the run, five in pytest's unconfigure (it looks for unraisable exceptions) and
one at interpreter exit. That was ~0.5 s of a 2,000-call run (docs/benchmarks.md).
``gc.freeze()`` moves what is alive into a generation no collection visits; objects are still
freed when their last reference goes, only cycles among them wait.

A process may live on after a session: ``pytest.main()`` called twice, or pytester's in-process
runs, which nest sessions. So a nested session unfreezes when it ends, and the first session
of a process unfreezes what an earlier one froze; their cycles are then collected again.
"""

from __future__ import annotations

import gc

import pytest

_running = 0  # promptcheck sessions alive in this process
_frozen = False  # whether objects are frozen because of us


def session_started(config: pytest.Config) -> None:
    global _running
    if _running == 0:
        _unfreeze()  # left by an earlier session of this process
    _running += 1
    config.add_cleanup(_session_ended)


def freeze() -> None:
    """Call when what is alive now stays alive to the end of the session."""
    global _frozen
    gc.freeze()
    _frozen = True


def _session_ended() -> None:
    global _running
    _running -= 1
    if _running > 0:  # an outer session goes on: it must be able to collect our cycles
        _unfreeze()


def _unfreeze() -> None:
    global _frozen
    if _frozen:
        gc.unfreeze()
        _frozen = False
