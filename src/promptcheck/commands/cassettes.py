"""``promptcheck cassettes unused | prune``: recorded answers that the last full run did not use.

A run record knows which cassette entries the run used (``cassettes_used`` in its header). Only a
complete run of every item can tell what is unused: after ``-k``/``-m``/``-x`` or node ids the
entries of the items not run would look unused, so both commands refuse such a run. Entries
recorded after the chosen run started are kept too: that run could not have used them.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from promptcheck.config import ConfigError, load_file_settings
from promptcheck.providers import cassette_format as fmt
from promptcheck.providers.base import ProviderError
from promptcheck.providers.cassette import CassetteStore, UnusedEntry
from promptcheck.runs.reading import list_runs, read_header, resolve_run_path
from promptcheck.runs.record import RunHeader
from promptcheck.runs.store import RunFileError

EXIT_OK, EXIT_USAGE = 0, 2


class PruneRefused(Exception):
    """The chosen run cannot tell which entries are unused; the message says why and what to do."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = subparsers.add_parser(
        "cassettes", help="unused | prune: cassette entries the last full run did not use",
        description="Cassette entries that a complete run of every item did not use.",
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    unused = actions.add_parser("unused", help="list unused entries", description="List the unused cassette entries.")
    prune = actions.add_parser("prune", help="remove unused entries", description="Remove the unused cassette entries.")
    prune.add_argument("--dry-run", action="store_true", help="show what would be removed, change nothing")
    for parser in (unused, prune):
        parser.add_argument("--run", default="latest", metavar="ID", help="run id, id prefix or record path (default: latest)")
        parser.add_argument("--report-dir", metavar="DIR", help="where runs are stored (default: report_dir from [tool.promptcheck])")
        parser.add_argument("--cassette-dir", metavar="DIR", help="default: cassette_dir from [tool.promptcheck], else ./cassettes")
    unused.set_defaults(handler=_handled(cmd_unused))
    prune.set_defaults(handler=_handled(cmd_prune))


def _handled(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(handler(args))
        except (PruneRefused, RunFileError, ConfigError, ProviderError) as exc:
            print(f"promptcheck cassettes {args.action}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE

    return run


@dataclass
class Plan:
    run_id: str
    directory: Path
    unused: list[UnusedEntry]
    kept_newer: list[UnusedEntry]  # recorded after the run started
    store: CassetteStore


def plan(args: argparse.Namespace) -> Plan:
    settings = load_file_settings(Path.cwd())
    report_dir = Path(args.report_dir) if args.report_dir else settings.report_path
    directory = Path(args.cassette_dir) if args.cassette_dir else settings.rootdir / (settings.cassette_dir or "cassettes")
    header, used = _run_header(args.run, report_dir)
    store = CassetteStore(directory)
    store.mark_used({str(directory / path): list(keys) for path, keys in used.items()})
    candidates = store.unused_entries(scan=True)
    newer = _recorded_after(candidates, header.started_at)
    store.mark_used(_by_file(newer))
    return Plan(header.run_id, directory, [e for e in candidates if e not in newer], newer, store)


def cmd_unused(args: argparse.Namespace) -> int:
    found = plan(args)
    found.store.close()
    _list(found, "unused")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    found = plan(args)
    if args.dry_run or not found.unused:
        found.store.close()
        _list(found, "would remove")
        if found.unused:
            print("dry run: nothing was changed")
        return EXIT_OK
    removed = found.store.prune(scan=True)
    found.store.close()
    files = sorted({e.path for e in removed})
    gone = [p for p in files if not p.exists()]
    print(f"removed {len(removed)} unused {_entries(len(removed))} from {len(files)} cassette {_files(len(files))} (run {found.run_id})")
    for path in gone:
        print(f"  deleted {_shown(path)} (no entries left)")
    if found.kept_newer:
        print(_kept_line(found))
    return EXIT_OK


def _run_header(ref: str, report_dir: Path) -> tuple[RunHeader, dict[str, tuple[str, ...]]]:
    """The chosen run's header and the cassette entries it used, if it can tell unused ones."""
    path = resolve_run_path(ref, report_dir).resolve()
    header = read_header(path)  # with its cassettes_used, which listings leave out
    run_id = header.run_id
    if not header.complete:
        raise PruneRefused(
            f"run {run_id} did not finish (interrupted or crashed), so it cannot tell which entries are "
            "unused. Run the whole suite with `pytest`, then try again."
        )
    if header.selected_only:
        raise PruneRefused(
            f"run {run_id} ran only some items (-k, -m, --lf, -x or node ids), so the entries of the "
            "others would look unused. Run the whole suite with `pytest`, then try again"
            f"{_full_run_hint(report_dir, run_id)}."
        )
    if header.cassettes_used is None:
        raise PruneRefused(
            f"run {run_id} does not record which cassette entries it used (it predates this promptcheck "
            "version). Run the whole suite with `pytest`, then try again."
        )
    return header, header.cassettes_used


def _list(found: Plan, verb: str) -> None:
    print(_headline(found, verb))
    for entry in found.unused:
        print(f"  {_shown(entry.path)}  {entry.key}  {entry.item or '(item unknown)'}")


def _full_run_hint(report_dir: Path, skipped: str) -> str:
    full = [
        i.run_id for i in list_runs(report_dir)
        if i.header and i.header.complete and not i.header.selected_only and i.header.cassettes_used is not None
    ]
    older = [run_id for run_id in full if run_id != skipped]
    return f", or choose an earlier full run with --run {older[-1]}" if older else ""


def _recorded_after(entries: list[UnusedEntry], started_at: str) -> list[UnusedEntry]:
    start = _when(started_at)
    if start is None or not entries:
        return []
    # recorded_at has whole seconds: an entry from the run's first second is kept too.
    start = start.replace(microsecond=0)
    docs: dict[Path, dict[str, Any]] = {}
    newer = []
    for entry in entries:
        doc = docs.get(entry.path)
        if doc is None:
            doc = docs[entry.path] = (fmt.load(entry.path) or {}).get("entries") or {}
        recorded = _when(str((doc.get(entry.key) or {}).get("recorded_at") or ""))
        if recorded is not None and recorded >= start:
            newer.append(entry)
    return newer


def _when(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _by_file(entries: list[UnusedEntry]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        grouped[str(entry.path)].append(entry.key)
    return grouped


def _headline(found: Plan, verb: str) -> str:
    where = _shown(found.directory)
    if not found.unused:
        line = f"no unused cassette entries in {where} (run {found.run_id})"
    else:
        count = len(found.unused)
        files = len({e.path for e in found.unused})
        line = f"{verb} {count} {_entries(count)} in {files} cassette {_files(files)} under {where} (run {found.run_id} did not use them)"
    return line + ("\n" + _kept_line(found) if found.kept_newer else "")


def _kept_line(found: Plan) -> str:
    count = len(found.kept_newer)
    return f"kept {count} {_entries(count)} recorded after run {found.run_id} started"


def _entries(count: int) -> str:
    return "entry" if count == 1 else "entries"


def _files(count: int) -> str:
    return "file" if count == 1 else "files"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
