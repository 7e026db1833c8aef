"""Pausing Python's cyclic garbage collector around work that builds many acyclic objects.

A 100,000-item diff or report allocates millions of short-lived lists, dicts and strings; every
700 allocations the collector walks the young ones, and its full passes walk everything alive
(both runs). None of it is cyclic, so those passes free nothing: they were ~10% of a diff and
over half of a report's build (docs/benchmarks.md). Reference counting still frees it all.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block; as before after it (nested blocks are fine)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
