"""Reading stored runs back: ``load_run``, ``read_header``, ``list_runs`` and ``resolve_run_path``.

Every file is decoded by msgspec straight into the typed record. Files of schema 1 (the first
layout) load as they are: their fields are the same, under ``"schema": 1``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from promptcheck.runs.record import SCHEMA_VERSION, ItemResult, RunHeader, RunRecord, summarize
from promptcheck.runs.store import ITEMS_OPENING, RunFileError, journal_for, runs_dir

LEGACY_SCHEMA = 1


class _Version(msgspec.Struct):
    """Just enough of a file to tell whether it is ours and which schema it has."""

    schema: Any = None  # schema 1's name for the version
    schema_version: Any = None
    run_id: Any = None


class _StoredRun(RunHeader, frozen=True, gc=False):
    """A whole file as stored: the header's fields with ``items`` among them."""

    items: tuple[ItemResult, ...] | None = None
    schema: int | None = None


_HEADER_FIELDS = tuple(f for f in RunHeader.__struct_fields__)
_run_decoder = msgspec.json.Decoder(_StoredRun)
_item_decoder = msgspec.json.Decoder(ItemResult)
_header_decoder = msgspec.json.Decoder(RunHeader)


def _json_position(data: bytes) -> str:
    """Where plain ``json`` says a file stops being JSON (its line and column read best)."""
    try:
        # Decoded here: json.loads(bytes) would take a non-UTF-8 file for UTF-16 or -32.
        json.loads(data.decode("utf-8"))
    except json.JSONDecodeError as e:
        return f" (line {e.lineno}, column {e.colno})"
    except UnicodeDecodeError:
        return " (not UTF-8)"
    return ""


def _check_version(path: Path, data: bytes) -> None:
    try:
        version = msgspec.json.decode(data, type=_Version)
    except msgspec.ValidationError:
        raise RunFileError(path, "not a promptcheck run record (expected a JSON object)") from None
    except msgspec.DecodeError:
        raise RunFileError(path, f"corrupt run file: not valid JSON{_json_position(data)}") from None
    schema = version.schema_version if version.schema_version is not None else version.schema
    if schema not in (LEGACY_SCHEMA, SCHEMA_VERSION) or isinstance(schema, bool):
        if isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA_VERSION:
            raise RunFileError(path, f"written by a newer promptcheck (schema {schema}); upgrade to read it")
        raise RunFileError(path, f"not a promptcheck run record (schema is {schema!r}, expected {SCHEMA_VERSION})")
    if not isinstance(version.run_id, str):
        raise RunFileError(path, "run record has no run_id")


def _header_line(data: bytes) -> bytes | None:
    """Line 1 of a file in the store's layout, as a JSON object of its own; None otherwise."""
    end = data.find(ITEMS_OPENING)
    if end == -1 or data.find(b"\n", 0, end) != -1:
        return None
    return data[:end] + b"}"


def _decode(path: Path, data: bytes) -> RunRecord:
    header_line = _header_line(data)
    _check_version(path, header_line if header_line is not None else data)
    try:
        stored = _run_decoder.decode(data)
    except msgspec.ValidationError as e:
        raise RunFileError(path, _validation_problem(str(e))) from None
    except msgspec.DecodeError:
        raise RunFileError(path, f"corrupt run file: not valid JSON{_json_position(data)}") from None
    if stored.items is None:
        raise RunFileError(path, "run record has no items list")
    header = RunHeader(**{name: getattr(stored, name) for name in _HEADER_FIELDS})
    return RunRecord(header, stored.items)


def _validation_problem(message: str) -> str:
    """msgspec's ``... - at `$.items[3].status``` in the store's own words."""
    what, _, where = message.partition(" - at `$.")
    if where.startswith("items["):
        index = where[len("items[") : where.index("]")]
        return f"item {index} is not a valid item record ({what[0].lower()}{what[1:]})"
    return f"not a promptcheck run record ({what[0].lower()}{what[1:]}{f' at {where.rstrip(chr(96))}' if where else ''})"


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RunFileError(path, "no such run file") from None
    except IsADirectoryError:
        raise RunFileError(path, "is a directory, not a run file") from None
    except OSError as e:
        raise RunFileError(path, f"cannot read run file: {e.strerror or e}") from None


def _fold_journal(path: Path, record: RunRecord) -> RunRecord:
    """Recover items a killed process journaled after its last rewrite of the JSON."""
    journal = journal_for(path)
    if record.header.complete or not journal.exists():
        return record
    by_key = {item.key: item for item in record.items}
    with journal.open("rb") as lines:
        for line in lines:
            try:
                item = _item_decoder.decode(line)
            except msgspec.MsgspecError:
                continue  # the line being written when the process died
            by_key.pop(item.key, None)
            by_key[item.key] = item
    return RunRecord(record.header, tuple(by_key.values()))


def _share_messages(record: RunRecord) -> None:
    """One string per distinct message instead of one per item: a system prompt repeats in
    every item of a prompt file (20,000 copies of a 2 KB prompt is 40 MB)."""
    shared: dict[Any, Any] = {}
    share = shared.setdefault
    for item in record.items:
        if item.messages:
            messages = tuple(share(m, (share(m[0], m[0]), share(m[1], m[1]))) for m in item.messages)
            msgspec.structs.force_setattr(item, "messages", share(messages, messages))


RUN_ALIASES = ("latest", "previous")


def resolve_run_path(ref: str | Path, report_dir: Path | str, *, exclude: str | None = None) -> Path:
    """A run as a user names it: a record path; ``latest`` or ``previous`` (the newest stored run
    and the one before it); a run id; or any unique prefix or suffix of one (the six hex digits
    at its end are what the terminal shows). ``exclude``: a run that is never meant (the current)."""
    text = str(ref).strip()
    candidate = Path(text)
    if candidate.suffix == ".json" or os.sep in text or (os.altsep and os.altsep in text) or candidate.exists():
        return candidate
    directory = runs_dir(report_dir)
    if text in RUN_ALIASES:
        runs = [info for info in list_runs(report_dir) if info.run_id != exclude]
        position = RUN_ALIASES.index(text) + 1
        if len(runs) < position:
            raise RunFileError(directory, "no runs stored yet" if not runs else f"no run before {runs[-1].run_id}")
        return runs[-position].path
    exact = directory / f"{text}.json"
    if exact.exists():
        return exact
    stems = sorted(p.stem for p in directory.glob("*.json")) if directory.is_dir() and text else []
    matches = [s for s in stems if (s.startswith(text) or s.endswith(text)) and s != exclude]
    if len(matches) == 1:
        return directory / f"{matches[0]}.json"
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
        raise RunFileError(exact, f"run id {text!r} is ambiguous ({len(matches)} runs match: {shown})")
    return exact  # let the loader report it missing, naming the path we looked at


def load_run(path_or_id: str | Path, report_dir: Path | str = "reports") -> RunRecord:
    path = resolve_run_path(path_or_id, report_dir)
    record = _fold_journal(path, _decode(path, _read_bytes(path)))
    _share_messages(record)
    # The summary is derived: never trust a stale copy.
    return RunRecord(msgspec.structs.replace(record.header, summary=summarize(record.items)), record.items)


def read_header(path: Path, *, whole: bool = True) -> RunHeader:
    """A stored run's header. Listings (``whole=False``) drop ``cassettes_used``: only
    ``promptcheck cassettes`` reads it, and 20,000 used keys are 400 KB per stored run."""
    header = _read_header_line(path)
    if header is None:
        # Not our layout, or items the header's summary doesn't know yet: read it all.
        header = load_run(path).header
    if not whole and header.cassettes_used is not None:
        header = msgspec.structs.replace(header, cassettes_used={})
    return header


def _read_header_line(path: Path) -> RunHeader | None:
    try:
        with path.open("rb") as f:
            # The header ends on line 1; ITEMS_OPENING, which _header_line looks for, spans two lines.
            first = f.readline() + f.readline()
    except FileNotFoundError:
        raise RunFileError(path, "no such run file") from None
    header = header_of_line(path, first)
    if header is None or (not header.complete and journal_for(path).exists()):
        return None
    return header


def header_of_line(path: Path, first: bytes) -> RunHeader | None:
    """The header of a file in the store's layout from its first two lines; None for another
    layout or a header that does not decode (``load_run`` says what is wrong). Raises
    RunFileError for a schema this version cannot read."""
    line = _header_line(first)
    if line is None:
        return None
    _check_version(path, line)
    try:
        return _header_decoder.decode(line)
    except msgspec.MsgspecError:
        return None


@dataclass(frozen=True)
class RunInfo:
    """One stored run as listed: its header, or why it can't be read."""

    path: Path
    header: RunHeader | None
    error: str | None = None

    @property
    def run_id(self) -> str:
        return self.header.run_id if self.header else self.path.stem

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.header.started_at if self.header else "", self.run_id)


def list_runs(report_dir: Path | str) -> list[RunInfo]:
    """Every run in the store, oldest first. Unreadable files are listed with their error, not
    raised, so one bad file doesn't hide the rest."""
    directory = runs_dir(report_dir)
    if not directory.is_dir():
        return []
    infos = []
    for path in directory.glob("*.json"):
        try:
            infos.append(RunInfo(path, read_header(path, whole=False)))
        except RunFileError as e:
            infos.append(RunInfo(path, None, e.problem))
        except OSError as e:
            infos.append(RunInfo(path, None, f"cannot read run file: {e}"))
    return sorted(infos, key=lambda info: info.sort_key)
