"""What a run is compared with: for each key, its latest *decisive* outcome (pass or fail).

A run's errors (no key, provider down), skips and the keys it did not select say nothing about
the answers, so they never serve as a baseline: a key that errored in the last run is compared
with the run before, where it had an answer. A partial run (``-k``, ``--lf``, a shard) serves for
the keys it ran and leaves the others to earlier runs, so it never turns them into ``new``.

``as of`` a run R means: R's decisive outcomes, and for keys R did not decide, the latest decisive
outcome before R. The automatic baseline is as of the run just before the current one; a pinned
or named run is a baseline as of that run; a ``git:REF`` baseline is one replayed run of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from promptcheck.runs.history import earlier_runs, key_statuses
from promptcheck.runs.reading import RunInfo, load_run, resolve_run_path
from promptcheck.runs.record import DECISIVE, AnyRun, ItemHead, ItemResult, RunHeader, RunRecord, Status
from promptcheck.runs.store import RunFileError

PIN_FILE = "baseline"  # <report dir>/baseline: the run id `promptcheck baseline set` pinned
DEFAULT_DEPTH = 50  # earlier runs searched for a key's outcome (the retention default)
RunLoader = Callable[[Path], AnyRun]  # load_run, or runs.heads.load_heads where texts are not needed


@dataclass(frozen=True)
class Baseline:
    """The outcome each key is compared with, and where it comes from."""

    label: str  # what the report calls it: "latest outcomes", "run <id> (pinned)", "git:main"
    items: Mapping[str, ItemHead]  # decisive outcomes only (ItemResults unless loaded as heads)
    sources: Mapping[str, str]  # key -> the run its outcome comes from
    # Keys the baseline tried and could not decide (errored or skipped at a git REF), and why.
    not_evaluated: Mapping[str, str] = field(default_factory=dict)
    # The keys of the newest full run in the baseline: what a full current run may call "removed".
    full_keys: frozenset[str] = frozenset()
    # Every key some earlier run had, decided or not: a key none had is "new".
    seen: frozenset[str] = frozenset()
    # The files the outcomes were read from, by run id: where the texts of a printed item are.
    paths: Mapping[str, Path] = field(default_factory=dict)
    # Each scanned run's (key, status) pairs, by run id: the flaky history need not read them again.
    statuses: Mapping[str, list[tuple[str, Status]]] = field(default_factory=dict)

    @property
    def run_ids(self) -> list[str]:
        """The runs the outcomes come from, most used first."""
        counts: dict[str, int] = {}
        for run_id in self.sources.values():
            counts[run_id] = counts.get(run_id, 0) + 1
        return sorted(counts, key=lambda run_id: (-counts[run_id], run_id))

    def without_messages(self, keys: Iterable[str]) -> None:
        """Drop the rendered prompts of ``keys``: the report shows the current run's prompt and
        compares prompts by hash, and 20,000 prompts are tens of MB held through the report."""
        for key in keys:
            item = self.items.get(key)
            if isinstance(item, ItemResult) and item.messages is not None:
                msgspec.structs.force_setattr(item, "messages", None)


def as_of(
    runs: list[RunInfo],
    wanted: Iterable[str],
    *,
    label: str,
    loaded: Iterable[AnyRun] = (),
    depth: int = DEFAULT_DEPTH,
    load: RunLoader = load_run,
) -> Baseline:
    """The latest decisive outcome of each ``wanted`` key in ``runs`` (newest first)."""
    in_memory = {r.run_id: r for r in loaded}
    pending = set(wanted)
    chosen: dict[str, str] = {}  # key -> run id
    full_keys: frozenset[str] | None = None
    seen: set[str] = set()
    scanned: list[tuple[str, list[tuple[str, Status]]]] = []
    statuses: dict[str, list[tuple[str, Status]]] = {}
    for info in runs[:depth]:
        assert info.header is not None
        record = in_memory.get(info.run_id)
        try:
            pairs = [(i.key, i.status) for i in record.items] if record is not None else key_statuses(info)
        except (OSError, msgspec.MsgspecError, RunFileError):
            continue  # an unreadable old run only shortens the search
        statuses[info.run_id] = pairs
        if full_keys is None:
            scanned.append((info.run_id, pairs))
        keys = {key for key, _ in pairs}
        seen |= keys
        if full_keys is None and not info.header.selected_only:
            full_keys = frozenset(keys)
            pending |= {key for key in full_keys if key not in chosen}  # what a full run may call removed
            for run_id, newer_pairs in scanned:  # newer partial runs may hold their outcomes
                _choose(newer_pairs, run_id, pending, chosen)
            scanned.clear()
        _choose(pairs, info.run_id, pending, chosen)
        if not pending and full_keys is not None:
            break
    items, paths = _items(runs, chosen, in_memory, load)
    return Baseline(
        label, items, chosen, full_keys=full_keys or frozenset(), seen=frozenset(seen), paths=paths, statuses=statuses
    )


def _choose(pairs: list[tuple[str, Status]], run_id: str, pending: set[str], chosen: dict[str, str]) -> None:
    for key, status in pairs:
        if key in pending and status in DECISIVE:
            pending.discard(key)
            chosen[key] = run_id


def _items(
    runs: list[RunInfo], chosen: Mapping[str, str], loaded: Mapping[str, AnyRun], load: RunLoader
) -> tuple[dict[str, ItemHead], dict[str, Path]]:
    by_run: dict[str, set[str]] = {}
    for key, run_id in chosen.items():
        by_run.setdefault(run_id, set()).add(key)
    paths = {info.run_id: info.path for info in runs}
    items: dict[str, ItemHead] = {}
    for run_id, keys in by_run.items():
        record = loaded.get(run_id) or load(paths[run_id])
        items.update((item.key, item) for item in record.items if item.key in keys)
    return items, {run_id: paths[run_id] for run_id in by_run}


def of_run(record: RunRecord, label: str) -> Baseline:
    """One run on its own: its decisive outcomes; the keys it could not decide, and why."""
    items = {i.key: i for i in record.items if i.decisive}
    not_evaluated = {i.key: f"not evaluated at {label}: {_why_not(i)}" for i in record.items if not i.decisive}
    keys = frozenset(i.key for i in record.items)
    return Baseline(
        label, items, dict.fromkeys(items, record.run_id), not_evaluated,
        full_keys=frozenset() if record.header.selected_only else keys, seen=keys,
    )


def _why_not(item: ItemResult) -> str:
    if item.status == "error":
        return item.error or "errored"
    return f"skipped: {item.skip_reason}" if item.skip_reason else "skipped"


def read_pin(report_dir: Path | str) -> str | None:
    try:
        text = (Path(report_dir) / PIN_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


class BaselineError(Exception):
    """The baseline asked for cannot be had; the message says why and what to do."""


GitReplay = Callable[[str], RunRecord]  # a git REF -> the run replayed from REF's files


def resolve(
    spec: str | None,
    report_dir: Path | str,
    current: RunHeader,
    wanted: Iterable[str],
    *,
    git: GitReplay | None = None,
    loaded: Iterable[AnyRun] = (),
    depth: int = DEFAULT_DEPTH,
    load: RunLoader = load_run,
) -> Baseline | None:
    """The baseline ``spec`` names for a run ``current`` with keys ``wanted``.

    ``None``: the run pinned with `promptcheck baseline set`, else ``auto``. ``auto``: each key's
    latest decisive outcome before this run. ``none``: no baseline. ``git:REF``: REF's files
    replayed. Anything else names a run (id, unique prefix or suffix, ``latest``, ``previous``,
    a path): the baseline as of that run. Raises RunFileError or BaselineError."""
    pinned = False
    if spec is None:
        spec, pinned = read_pin(report_dir), True
    if spec == "none":
        return None
    if spec is not None and spec.startswith("git:"):
        if git is None:
            raise BaselineError(f"baseline {spec!r} needs a git checkout to replay; not available here")
        return of_run(git(spec[len("git:") :]), label=spec)
    if spec in (None, "auto"):
        runs = earlier_runs(report_dir, current)
        return as_of(runs, wanted, label="each key's latest outcome", loaded=loaded, depth=depth, load=load) if runs else None
    path = resolve_run_path(spec, report_dir, exclude=current.run_id)
    record = next((r for r in loaded if r.run_id == path.stem), None) or load(path)
    older = earlier_runs(report_dir, record.header)
    this = RunInfo(path, record.header)
    label = f"run {record.run_id}" + (" (pinned)" if pinned else "")
    return as_of([this, *older], wanted, label=label, loaded=[record, *loaded], depth=depth, load=load)
