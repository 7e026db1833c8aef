"""Each key's status in earlier stored runs: for flakiness, and to find each key's baseline.

A run file is tens of MB at 20,000 items, and several earlier ones are read for every report.
Only each item's key and status are wanted, so the file is decoded into a Struct with just
those: msgspec skips every other field (answers, messages, checks) without building it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec

from promptcheck.runs.reading import RunInfo, list_runs, load_run
from promptcheck.runs.record import AnyRun, RunHeader, Status
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


def key_statuses(info: RunInfo) -> list[tuple[str, Status]]:
    """A stored run's (key, status) pairs without building its answers and checks."""
    assert info.header is not None
    if not info.header.complete and journal_for(info.path).exists():
        # A killed run: its journal holds items the JSON lacks; load_run folds them in.
        return [(i.key, i.status) for i in load_run(info.path).items]
    return [(i.key, i.status) for i in _decoder.decode(info.path.read_bytes()).items]


def earlier_runs(report_dir: Path | str, current: RunHeader) -> list[RunInfo]:
    """Readable stored runs that started before ``current``, newest first."""
    runs = list_runs(report_dir)
    return [i for i in reversed(runs) if i.header is not None and i.run_id != current.run_id and i.sort_key < current.sort_key]


def recent_statuses(
    report_dir: Path | str,
    current: AnyRun,
    window: int = FLAKY_WINDOW,
    loaded: Iterable[AnyRun | None] = (),
    known: Mapping[str, list[tuple[str, Status]]] | None = None,
) -> dict[str, list[str]]:
    """Statuses of the current run's keys in up to ``window - 1`` runs stored before it, oldest first.
    Runs in ``loaded`` (e.g. the baseline's, already decoded by the caller) are not read again, nor
    are those whose pairs are ``known`` (``Baseline.statuses``)."""
    in_memory = {r.run_id: r for r in loaded if r is not None}
    wanted = {item.key for item in current.items}
    recent = earlier_runs(report_dir, current.header)[: max(window - 1, 0)]
    history: dict[str, list[str]] = {}
    for info in reversed(recent):
        record = in_memory.get(info.run_id)
        pairs = (known or {}).get(info.run_id)
        try:
            if pairs is None:
                pairs = [(i.key, i.status) for i in record.items] if record else key_statuses(info)
        except (OSError, msgspec.MsgspecError, RunFileError):
            continue  # an unreadable old run only shortens the history
        for key, status in pairs:
            if key in wanted:
                history.setdefault(key, []).append(status)
    return history
