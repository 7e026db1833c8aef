"""One cassette file as this process holds it: its replay data (compact tuples, not the
entries), what it recorded and still has to write, and the answers a killed process journaled
for it. cassette.py decides when to read and write; this module only reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cassette_format as fmt
from .cassette_errors import CassetteError, not_a_cassette
from .cassette_journal import Handle, Journal, claim_orphans
from .finish import normalize_finish_reason
from .tools import calls_from_data


def split_item_id(item_id: str) -> tuple[str, str]:
    """``prompts/a.prompt.yaml::case-1[openai:gpt-4o]`` -> (``prompts/a.prompt.yaml``, ``case-1``)."""
    path, sep, rest = item_id.partition("::")
    if not sep:
        return "", ""
    case = rest.rsplit("[", 1)[0] if rest.endswith("]") else rest
    return path, case


@dataclass
class CassetteFile:
    path: Path
    existed: bool  # when this process first looked
    created_by_run: str | None
    # Compact replay data only; the full entries stay on disk (memory matters at 20k items).
    recordings: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    recorded: set[str] = field(default_factory=set)  # keys recorded by this process, this run
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    prompt: str = ""  # for the file header, from the first request recorded into it
    model_label: str = ""
    # What this process last wrote, so a writer need not re-parse its own file when no other
    # process touched it in between (the stat signature tells).
    disk_doc: dict[str, Any] | None = None
    disk_sig: tuple[int, ...] | None = None
    fragments: fmt.Fragments = field(default_factory=dict)  # each entry's YAML, reused by every write
    prepared: fmt.Fragments = field(default_factory=dict)  # the pending entries' YAML, for fragments
    # Why the file on disk cannot be read: every item it serves gets this error, and the file
    # is never written over, so the user can fix it or delete it.
    broken: CassetteError | None = None
    retired: list[Handle] = field(default_factory=list)  # journals to delete once the file holds their answers

    def __post_init__(self) -> None:
        self.journal = Journal(self.path)


def signature(path: Path) -> tuple[int, ...] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def replay_data(response: Mapping[str, Any]) -> tuple[Any, ...]:
    """Replay data of one response; ValueError naming the field when a hand edit broke it."""
    usage = response.get("usage") or {}
    meta = response.get("meta") or {}
    text = response.get("text") or ""
    if not isinstance(usage, Mapping) or not isinstance(meta, Mapping) or not isinstance(text, str):
        raise ValueError("'text' must be text, 'usage' and 'meta' mappings")
    tokens = usage.get("input_tokens"), usage.get("output_tokens")
    cost, latency = response.get("cost"), response.get("latency_s") or 0.0
    numbers = [n for n in (*tokens, cost) if n is not None] + [latency]
    if not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
        raise ValueError("'usage' token counts, 'cost' and 'latency_s' must be numbers")
    finish_reason = response.get("finish_reason")
    if finish_reason is not None and not isinstance(finish_reason, str):
        raise ValueError("'finish_reason' must be text")
    # Entries recorded before the field existed: the raw reason the provider kept in meta.
    finish_reason = finish_reason or normalize_finish_reason(meta.get("finish_reason"))
    tool_calls = calls_from_data(response.get("tool_calls"))  # absent in older files: none
    # str(): a _Literal once dumped. An empty meta is kept as None (lookup makes the dict): most
    # entries have none, and an empty dict per entry was 64 bytes x every recorded answer.
    return (str(text), *tokens, float(latency), cost, dict(meta) or None, finish_reason, tool_calls)


def read_cassette(path: Path) -> CassetteFile:
    """One cassette file as replay needs it; a file that cannot be read comes back ``broken``."""
    try:
        index = fmt.load_index(path)
    except CassetteError as exc:
        return CassetteFile(path, existed=True, created_by_run=None, broken=exc)
    header, entries = index if index is not None else ({}, {})
    loaded = CassetteFile(path, existed=index is not None, created_by_run=_text_or_none(header.get("created_by_run")))
    for key, (item, response) in entries.items():
        try:
            loaded.recordings[key] = replay_data(response)
        except ValueError as exc:
            return CassetteFile(path, existed=True, created_by_run=None, broken=not_a_cassette(path, f"entry {key!r}: {exc}"))
        loaded.items[key] = item
    return loaded


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def fold_orphans(cassette: CassetteFile) -> None:
    """Answers a killed process journaled for this file: replayed now, written into it at the next flush."""
    for orphan in claim_orphans(cassette.path):
        for key, entry in orphan.entries.items():
            if key in cassette.recordings:
                continue
            try:
                cassette.recordings[key] = replay_data(entry["response"])
            except (ValueError, KeyError, TypeError):  # a torn last line: that answer is lost, not the run
                continue
            cassette.items[key] = str(entry.get("item") or "")
            cassette.pending[key] = entry
            cassette.prepared[key] = fmt.entry_fragment(key, entry)
            # For the header of a file the killed process never got to write.
            cassette.prompt = cassette.prompt or split_item_id(cassette.items[key])[0]
            cassette.model_label = cassette.model_label or cassette.path.stem
        cassette.retired.append(orphan.handle)
