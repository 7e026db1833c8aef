"""Each key's status in recent stored runs, for flakiness: read fast, only what is needed.

A run file is tens of MB at 20,000 items, and ten of them are read for every report. Items are
stored one per line in compact JSON with ``key`` first, so a regex picks out the key and the first
top-level ``"status":"..."`` without parsing answers and checks: inside a JSON string every quote
is escaped, so the unescaped sequence ``"status":"`` can only be the field itself. Lines that
don't match (another writer's layout) are parsed in full.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from promptcheck.runs import list_runs, load_run
from promptcheck.runs.store import JOURNAL_SUFFIX
from promptcheck.runs.stats import FLAKY_WINDOW

_ITEM = re.compile(r'^\{"key":("(?:[^"\\]|\\.)*")')
_STATUS = re.compile(r'"status":"(pass|fail|error|skip)"')
# One shared string per status: at 20,000 keys × 9 earlier runs, a new string per status read
# was ~10 MB, which made the report's peak grow with the number of stored runs.
_SHARED = {status: status for status in ("pass", "fail", "error", "skip")}


def _line_statuses(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        next(lines, None)  # the header
        for line in lines:
            key, status = _ITEM.match(line), _STATUS.search(line)
            if key and status:
                yield json.loads(key.group(1)), _SHARED[status.group(1)]
                continue
            stripped = line.strip().rstrip(",")
            if stripped.startswith("{"):
                try:
                    item = json.loads(stripped)
                except ValueError:
                    continue
                if isinstance(item, dict) and "key" in item:
                    status_text = str(item.get("status"))
                    yield str(item["key"]), _SHARED.get(status_text, status_text)


def _statuses(path: Path, header: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    journal = path.with_name(path.name.removesuffix(".json") + JOURNAL_SUFFIX)
    if not header.get("complete") and journal.exists():
        # A killed run: its journal holds items the JSON lacks; load_run folds them in.
        yield from ((i["key"], i["status"]) for i in load_run(path)["items"])
        return
    yield from _line_statuses(path)


def recent_statuses(
    report_dir: Path | str,
    current: Mapping[str, Any],
    window: int = FLAKY_WINDOW,
    loaded: Sequence[Mapping[str, Any] | None] = (),
) -> dict[str, list[str]]:
    """Statuses of the current run's keys in up to ``window - 1`` runs stored before it, oldest first.
    Runs in ``loaded`` (e.g. the baseline, already parsed by the caller) are not read again."""
    in_memory = {str(r.get("run_id")): r for r in loaded if r}
    wanted = {item["key"] for item in current.get("items", ())}
    current_id = str(current.get("run_id"))
    started = (str(current.get("started_at") or ""), current_id)
    earlier = [i for i in list_runs(report_dir) if i.header is not None and i.run_id != current_id and i.sort_key < started]
    history: dict[str, list[str]] = {}
    for info in earlier[-(window - 1) :] if window > 1 else []:
        try:
            record = in_memory.get(info.run_id)
            pairs = ((i["key"], i["status"]) for i in record["items"]) if record else _statuses(info.path, info.header or {})
            for key, status in pairs:
                if key in wanted:
                    history.setdefault(key, []).append(status)
        except (OSError, ValueError):
            continue  # an unreadable old run only shortens the history
    return history
