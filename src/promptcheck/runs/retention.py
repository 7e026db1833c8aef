"""Retention: ``[tool.promptcheck] keep_runs`` stops ``reports/`` from growing by a record and a
page with every session.

Only a session that stored a run prunes, once its report is written: the report commands read the
store and never shrink it. A pruned run loses its record (``runs/<id>.json``), any journal a
crashed session left (``runs/<id>.journal.jsonl``), its page (``<id>.html``) and the page's data
folder (``<id>-data/``); ``index.html`` is always the latest session's report and is never pruned.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Collection, Sequence
from pathlib import Path

from promptcheck.runs.baseline import read_pin
from promptcheck.runs.reading import RunInfo, list_runs
from promptcheck.runs.store import journal_for, report_data_dir

# An incomplete run whose record or journal changed this recently may belong to a session that is
# still running (in another terminal, or a CI job sharing the directory), so it is kept. A live
# session touches its journal with every item, so the window has to outlast the longest wait for
# one item: a slow call's timeout_s × (max_retries + 1) plus back-off, 10 minutes for this
# repository's own local model. An hour covers that with room; keeping a crashed run an hour
# longer costs a few files, deleting a live one would cost its crash safety.
ACTIVE_WINDOW_S = 3600.0


def runs_to_prune(runs: Sequence[RunInfo], keep: int, keep_also: Collection[str]) -> list[RunInfo]:
    """The runs beyond the ``keep`` newest of ``runs`` (oldest first), less those ``keep_also``
    names by run id or file stem. ``keep`` 0 keeps everything. Unreadable files are not counted
    and never chosen: one may be a newer promptcheck's record, or not ours at all."""
    readable = [info for info in runs if info.header is not None]
    if keep <= 0 or len(readable) <= keep:
        return []
    older = readable[:-keep]
    return [info for info in older if info.run_id not in keep_also and info.path.stem not in keep_also]


def being_written(info: RunInfo, now: float, window_s: float = ACTIVE_WINDOW_S) -> bool:
    """Whether ``info`` may be a run another session is still recording (see ACTIVE_WINDOW_S).
    Its record is looked at too: a session writes the record a moment before opening the journal."""
    if info.header is None or info.header.complete:
        return False
    touched = []
    for path in (info.path, journal_for(info.path)):
        try:
            touched.append(path.stat().st_mtime)
        except FileNotFoundError:
            continue
    return bool(touched) and now - max(touched) < window_s


def prune_runs(
    report_dir: Path | str, keep: int, *, current: str, named: Collection[str] = (), now: float | None = None
) -> list[str]:
    """Delete the stored runs beyond the ``keep`` newest, except the run ``current`` (just written),
    the pinned baseline, runs ``named`` as baseline in the settings, and runs still being written.
    Returns the removed run ids, oldest first. Raises OSError naming the file it could not
    remove; the runs removed before it stay removed."""
    report_dir = Path(report_dir)
    now = time.time() if now is None else now
    runs = list_runs(report_dir)
    keep_also = {current, read_pin(report_dir) or current, *named}
    keep_also |= {info.run_id for info in runs if being_written(info, now)}
    removed = []
    for info in runs_to_prune(runs, keep, keep_also):
        # The page first and the record last: a run whose removal fails midway is still listed.
        (report_dir / f"{info.run_id}.html").unlink(missing_ok=True)
        data = report_data_dir(report_dir, info.run_id)
        if data.is_dir():
            shutil.rmtree(data)
        for path in (journal_for(info.path), info.path):
            path.unlink(missing_ok=True)
        removed.append(info.run_id)
    return removed
