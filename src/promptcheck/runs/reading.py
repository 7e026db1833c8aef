"""Reading stored runs back: ``load_run``, ``read_header``, ``list_runs`` and ``resolve_baseline``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from promptcheck.runs.record import SCHEMA, STATUSES, summarize, validate_item
from promptcheck.runs.store import RunFileError, journal_for, runs_dir


def _check_header(path: Path, data: Any) -> None:
    if not isinstance(data, dict):
        raise RunFileError(path, "not a promptcheck run record (expected a JSON object)")
    schema = data.get("schema")
    if schema != SCHEMA:
        if isinstance(schema, int) and schema > SCHEMA:
            raise RunFileError(path, f"written by a newer promptcheck (schema {schema}); upgrade to read it")
        raise RunFileError(path, f"not a promptcheck run record (schema is {schema!r}, expected {SCHEMA})")
    if not isinstance(data.get("run_id"), str):
        raise RunFileError(path, "run record has no run_id")


def _check_items(path: Path, items: Any) -> None:
    if not isinstance(items, list):
        raise RunFileError(path, "run record has no items list")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or item.get("status") not in STATUSES:
            raise RunFileError(path, f"item {index} is not a valid item record (needs key and status)")


def _read_store_layout(path: Path) -> dict[str, Any] | None:
    """A record in the store's own layout, parsed a few hundred lines at a time: ``json.load``
    would hold the whole file's text next to its objects (tens of MB at 20,000 items), while one
    ``json.loads`` per line gives every item its own copy of every key."""
    with path.open(encoding="utf-8") as f:
        first, second = f.readline(), f.readline()
        if not first.endswith(",\n") or second != '"items": [\n':
            return None
        header = json.loads(first[:-2] + "}")
        items: list[dict[str, Any]] = []
        shared: dict[str, str] = {}
        chunk: list[str] = []
        for line in f:
            if line.startswith("]}"):
                _parse_items(chunk, items, shared)
                return header | {"items": items}
            chunk.append(line.rstrip("\n").removesuffix(","))
            if len(chunk) == _ITEMS_PER_PARSE:
                _parse_items(chunk, items, shared)
                chunk = []
    return None  # truncated: let json.load say where


_ITEMS_PER_PARSE = 500
# Item fields whose values repeat from item to item (one prompt, model and check list for many
# cases): one shared string each instead of 20,000 equal copies.
_REPEATED_FIELDS = ("prompt_path", "prompt_name", "model", "status")
_REPEATED_CHECK_FIELDS = ("name", "type")


def _parse_items(lines: list[str], items: list[dict[str, Any]], shared: dict[str, str]) -> None:
    share = shared.setdefault
    for item in json.loads("[" + ",".join(lines) + "]"):
        for name in _REPEATED_FIELDS:
            value = item.get(name)
            if isinstance(value, str):
                item[name] = share(value, value)
        for message in item.get("messages") or ():
            if isinstance(message, list) and len(message) == 2 and all(isinstance(part, str) for part in message):
                message[0], message[1] = share(message[0], message[0]), share(message[1], message[1])
        for check in item.get("checks") or ():
            for name in _REPEATED_CHECK_FIELDS:
                value = check.get(name) if isinstance(check, dict) else None
                if isinstance(value, str):
                    check[name] = share(value, value)
        items.append(item)


def _read_json(path: Path) -> Any:
    try:
        try:
            record = _read_store_layout(path)
        except ValueError:
            record = None  # json.load below reports the exact position
        if record is not None:
            return record
        with path.open(encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise RunFileError(path, "no such run file") from None
    except json.JSONDecodeError as e:
        raise RunFileError(path, f"corrupt run file: not valid JSON (line {e.lineno}, column {e.colno})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunFileError(path, f"cannot read run file: {e}") from None


def _fold_journal(path: Path, record: dict[str, Any]) -> None:
    """Recover items a killed process journaled after its last rewrite of the JSON."""
    journal = journal_for(path)
    if record.get("complete") or not journal.exists():
        return
    by_key = {item["key"]: item for item in record["items"]}
    with journal.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                item = json.loads(line)
                validate_item(item)
            except (ValueError, TypeError):
                continue  # the line being written when the process died
            by_key.pop(item["key"], None)
            by_key[item["key"]] = item
    record["items"] = list(by_key.values())


def resolve_run_path(ref: str | Path, report_dir: Path | str) -> Path:
    """A path, a run id, a unique run-id prefix, or ``latest``."""
    text = str(ref)
    candidate = Path(text)
    if candidate.suffix == ".json" or os.sep in text or (os.altsep and os.altsep in text) or candidate.exists():
        return candidate
    directory = runs_dir(report_dir)
    if text == "latest":
        runs = list_runs(report_dir)
        if not runs:
            raise RunFileError(directory, "no runs stored yet")
        return runs[-1].path
    exact = directory / f"{text}.json"
    if exact.exists():
        return exact
    matches = sorted(directory.glob(f"{text}*.json")) if directory.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise RunFileError(exact, f"run id {text!r} is ambiguous ({len(matches)} runs match)")
    return exact  # let the loader report it missing, naming the path we looked at


def load_run(path_or_id: str | Path, report_dir: Path | str = "reports") -> dict[str, Any]:
    path = resolve_run_path(path_or_id, report_dir)
    record = _read_json(path)
    _check_header(path, record)
    _check_items(path, record.get("items"))
    _fold_journal(path, record)
    record["summary"] = summarize(record["items"])  # derived: never trust a stale copy
    return record


# Header fields that only `promptcheck cassettes` reads and that grow with the run (20,000 used
# cassette keys are 400 KB): listings (baseline search, trend, flaky history) hold every stored
# header at once, so there they only say that the field exists.
BULKY_HEADER_FIELDS = ("cassettes_used",)


def read_header(path: Path) -> dict[str, Any]:
    """A stored run's header with every field, for the one run a command works on."""
    return _read_header(path, whole=True)


def _read_header(path: Path, *, whole: bool = False) -> dict[str, Any]:
    header = _parse_header(path)
    if not whole:
        for name in BULKY_HEADER_FIELDS:
            if name in header:
                header[name] = True
    return header


def _parse_header(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as f:
            first = f.readline().rstrip("\n")
        header = json.loads(first[:-1] + "}") if first.endswith(",") else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        header = None  # load_run below says what is wrong with the file
    if not isinstance(header, dict) or "summary" not in header or _journal_exists(path, header):
        # Not our layout, or items the header's summary doesn't know yet: read it all.
        return {k: v for k, v in load_run(path).items() if k != "items"}
    _check_header(path, header)
    return header


def _journal_exists(path: Path, header: Mapping[str, Any]) -> bool:
    return not header.get("complete") and journal_for(path).exists()


@dataclass(frozen=True)
class RunInfo:
    """One stored run as listed: its header (record without items), or why it can't be read."""

    path: Path
    header: dict[str, Any] | None
    error: str | None = None

    @property
    def run_id(self) -> str:
        return str(self.header["run_id"]) if self.header else self.path.stem

    @property
    def sort_key(self) -> tuple[str, str]:
        return (str(self.header.get("started_at") or "") if self.header else "", self.run_id)


def list_runs(report_dir: Path | str) -> list[RunInfo]:
    """Every run in the store, oldest first. Unreadable files are listed with their error,
    not raised, so one bad file doesn't hide the rest."""
    directory = runs_dir(report_dir)
    if not directory.is_dir():
        return []
    infos = []
    for path in directory.glob("*.json"):
        try:
            infos.append(RunInfo(path, _read_header(path)))
        except RunFileError as e:
            infos.append(RunInfo(path, None, e.problem))
        except OSError as e:
            infos.append(RunInfo(path, None, f"cannot read run file: {e}"))
    return sorted(infos, key=lambda info: info.sort_key)


def resolve_baseline(
    spec: str | None, report_dir: Path | str, current_run: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The run to compare ``current_run`` with.

    ``None``/``"auto"``: the newest completed run that started before the current one and shares a
    model with it. ``"latest"``: the newest completed run other than the current one. ``"none"``: no
    baseline. Anything else is a run id, id prefix or path, loaded as given (errors raise).
    """
    if spec == "none":
        return None
    if spec not in (None, "auto", "latest"):
        return load_run(spec, report_dir)
    current = current_run or {}
    current_id = current.get("run_id")
    models = set(current.get("models") or [])
    candidates = [
        info
        for info in list_runs(report_dir)
        if info.header and info.header.get("complete") and info.run_id != current_id
    ]
    if spec != "latest" and current:
        started = (str(current.get("started_at") or ""), str(current_id or ""))
        candidates = [
            info
            for info in candidates
            if info.sort_key < started and (not models or models & set(info.header.get("models") or []))  # type: ignore[union-attr]
        ]
    return load_run(candidates[-1].path) if candidates else None
