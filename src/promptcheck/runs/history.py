"""Each key's status in recent stored runs, for flakiness: read fast, only what is needed.

A run file is tens of MB at 20,000 items, and up to nine earlier ones are read for every report.
Only each item's key and status are wanted, so the file is decoded into a Struct with just
those: msgspec skips every other field (answers, messages, checks) without building it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec

from promptcheck.runs.reading import list_runs, load_run
from promptcheck.runs.record import RunHeader, RunRecord, Status
from promptcheck.runs.stats import FLAKY_WINDOW
from promptcheck.runs.store import RunFileError, journal_for


class _KeyStatus(msgspec.Struct, frozen=True, gc=False):
    key: str
    # A Literal decodes to the one shared string per status: at 20,000 keys × 9 earlier runs,
    # a new string per status read made the report's peak grow with the number of stored runs.
    status: Status


class _KeyStatuses(msgspec.Struct, gc=False):
    items: list[_KeyStatus]


_decoder = msgspec.json.Decoder(_KeyStatuses)


def _statuses(path: Path, header: RunHeader) -> Iterator[tuple[str, str]]:
    if not header.complete and journal_for(path).exists():
        # A killed run: its journal holds items the JSON lacks; load_run folds them in.
        yield from ((i.key, i.status) for i in load_run(path).items)
        return
    yield from ((i.key, i.status) for i in _decoder.decode(path.read_bytes()).items)


def recent_statuses(
    report_dir: Path | str,
    current: RunRecord,
    window: int = FLAKY_WINDOW,
    loaded: Iterable[RunRecord | None] = (),
) -> dict[str, list[str]]:
    """Statuses of the current run's keys in up to ``window - 1`` runs stored before it, oldest first.
    Runs in ``loaded`` (e.g. the baseline, already decoded by the caller) are not read again."""
    in_memory = {r.run_id: r for r in loaded if r is not None}
    wanted = {item.key for item in current.items}
    earlier = [
        (info.run_id, info.path, info.header)
        for info in list_runs(report_dir)
        if info.header is not None and info.run_id != current.run_id and info.sort_key < current.header.sort_key
    ]
    history: dict[str, list[str]] = {}
    for run_id, path, header in earlier[-(window - 1) :] if window > 1 else []:
        record = in_memory.get(run_id)
        try:
            pairs = ((i.key, i.status) for i in record.items) if record else _statuses(path, header)
            for key, status in pairs:
                if key in wanted:
                    history.setdefault(key, []).append(status)
        except (OSError, msgspec.MsgspecError, RunFileError):
            continue  # an unreadable old run only shortens the history
    return history
