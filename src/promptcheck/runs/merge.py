"""``promptcheck merge``: the runs of parallel shards (e.g. one per CI job) as one run.

Pure data, no I/O: the command loads the shards and writes the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from promptcheck.runs.record import RunHeader, RunRecord, ShardInfo, new_run_id, summarize


class MergeError(ValueError):
    """Shards that cannot be combined; the message names the conflicting keys."""


def merge_runs(records: Sequence[RunRecord]) -> RunRecord:
    """One run with a fresh id made of ``records``, which must not share an item key.

    The header is the earliest shard's, with the models of all, ``merged_from`` naming the
    shards, and ``selected_only`` true unless the shards make a whole run again."""
    if not records:
        raise MergeError("nothing to merge")
    owner: dict[str, str] = {}
    conflicts: list[str] = []
    for record in records:
        for item in record.items:
            if item.key in owner:
                conflicts.append(f"{item.key} (in {owner[item.key]} and {record.run_id})")
            else:
                owner[item.key] = record.run_id
    if conflicts:
        shown = "; ".join(conflicts[:5]) + (f"; and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
        raise MergeError(f"{len(conflicts)} item(s) appear in more than one run: {shown}")

    headers = [r.header for r in records]
    first = min(headers, key=lambda h: h.started_at)
    finished = [h.finished_at for h in headers]
    items = tuple(item for r in records for item in r.items)
    header = msgspec.structs.replace(
        first,
        run_id=new_run_id(_parse_time(first.started_at)),
        finished_at=None if None in finished else max(f for f in finished if f is not None),
        complete=all(h.complete for h in headers),
        models=tuple(dict.fromkeys(m for h in headers for m in h.models)),
        selected_only=merged_selected_only(headers),
        shard=None,
        merged_from=tuple(h.run_id for h in headers),
        # Per-shard counts don't add up (an entry one shard left unused another may have used).
        cassettes_unused=None,
        cassettes_used=_merged_cassettes_used(headers),
        summary=summarize(items),
    )
    return RunRecord(header, items)


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _merged_cassettes_used(headers: Sequence[RunHeader]) -> dict[str, tuple[str, ...]] | None:
    """Every entry any shard used: `promptcheck cassettes prune` on the merged run must keep the
    entries of all shards, not only the first's. None when a shard did not record its use, so
    prune refuses the merged run rather than guess."""
    if any(h.cassettes_used is None for h in headers):
        return None
    used: dict[str, dict[str, None]] = {}
    for header in headers:
        for path, keys in (header.cassettes_used or {}).items():
            used.setdefault(path, {}).update(dict.fromkeys(keys))
    return {path: tuple(sorted(keys)) for path, keys in used.items()}


def merged_selected_only(headers: Iterable[RunHeader]) -> bool:
    """Whether a merge of runs with these headers is still a partial run.

    Shards are partial one by one, but all n shards of one model set, narrowed by nothing else,
    make a whole run again: then items missing against a baseline really were removed."""
    groups: dict[tuple[str, ...], list[ShardInfo]] = {}
    for header in headers:
        info = header.shard
        if info is None:
            if header.selected_only:
                return True
            continue
        if not info.only_narrowing:
            return True
        groups.setdefault(info.models, []).append(info)
    return any(not _complete_set(infos) for infos in groups.values())


def _complete_set(infos: Sequence[ShardInfo]) -> bool:
    counts = {info.count for info in infos}
    indices = sorted(info.index for info in infos)
    return len(counts) == 1 and indices == list(range(1, counts.pop() + 1))
