"""Reading a stored run without its texts: ``load_heads``, and ``with_texts`` for the few items
a diff prints.

A 100,000-item run is ~175 MB, most of it rendered prompts and answers. A diff compares answers
by ``answer_hash`` and prints a handful, so it decodes each item into an ``ItemHead``: msgspec
skips the texts without building them. The file is read in chunks of whole item lines, so the
raw bytes held at once stay a few MB whatever the run's size.

Only files in the store's layout whose writer hashed every answer (``answer_hashes``) are read
this way. Anything else (older files, a killed run's journal, a file that is not well formed)
goes through ``load_run``, which reads it whole and says what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from io import BufferedReader

import msgspec

from promptcheck.runs.baseline import Baseline
from promptcheck.runs.compare import ItemComparison
from promptcheck.runs.reading import header_of_line, load_run, resolve_run_path
from promptcheck.runs.record import AnyRun, ItemHead, ItemResult, RunHeads
from promptcheck.runs.store import RunFileError, journal_for

_CHUNK = 8 << 20  # bytes of item lines decoded at once
_CLOSING_LINE = b"]}\n"  # the store's last line (ITEMS_CLOSING without the newline that ends the last item)
_heads_decoder = msgspec.json.Decoder(list[ItemHead])
_item_decoder = msgspec.json.Decoder(ItemResult)


class _Key(msgspec.Struct, gc=False):
    key: str


_key_decoder = msgspec.json.Decoder(_Key)


def load_heads(path_or_id: str | Path, report_dir: Path | str = "reports") -> AnyRun:
    """A stored run for comparing: its ``ItemHead``s when the file allows, else the whole record
    (an ``ItemResult`` is an ``ItemHead`` too, so callers need not care which)."""
    path = resolve_run_path(path_or_id, report_dir)
    heads = _read_heads(path)
    return heads if heads is not None else load_run(path)


def _read_heads(path: Path) -> RunHeads | None:
    try:
        with path.open("rb") as f:
            header = header_of_line(path, f.readline() + f.readline())
            if header is None or not header.answer_hashes:
                return None
            if not header.complete and journal_for(path).exists():
                return None  # a killed run: load_run folds its journal in
            items = _read_items(f)
    except (OSError, RunFileError, msgspec.MsgspecError):
        return None  # load_run reports it, in its own words
    return None if items is None else RunHeads(header, tuple(items), str(path))


def _read_items(f: BufferedReader) -> list[ItemHead] | None:
    """The item lines after the header, to the closing line; None unless the file ends right there.

    Lines are read into one reused buffer that starts with ``[``; the comma ending the last whole
    line becomes ``]``, so each batch decodes as one JSON array without copying it (at 175 MB,
    allocating and copying fresh chunks cost as much as decoding them)."""
    items: list[ItemHead] = []
    buf = bytearray(_CHUNK)
    buf[0] = ord("[")
    filled = 1  # buf[1:filled]: lines not decoded yet, the last one perhaps incomplete
    while True:
        if filled == len(buf):
            buf.extend(bytes(len(buf)))  # a line longer than the buffer
        with memoryview(buf) as view:
            read = f.readinto(view[filled:])
        end = filled + read
        # A JSON line holds no raw newline, so "\n]}\n" is the closing line and ",\n" a line's end.
        closing = buf.find(b"\n" + _CLOSING_LINE, 1, end)
        if closing != -1:
            buf[closing] = ord("]")  # the last item line ends in "\n", without a comma
            _decode_into(items, buf, closing + 1)
            return items if closing + 1 + len(_CLOSING_LINE) == end and not f.read(1) else None
        if not read:
            return None  # the file stops before its closing line
        last = buf.rfind(b",\n", 1, end)
        if last == -1:
            filled = end
            continue
        buf[last] = ord("]")
        _decode_into(items, buf, last + 1)
        rest = end - last - 2
        buf[1 : 1 + rest] = buf[last + 2 : end]
        filled = 1 + rest


def _decode_into(items: list[ItemHead], buf: bytearray, end: int) -> None:
    with memoryview(buf) as view:
        items.extend(_heads_decoder.decode(view[:end]))


def _texts_in(path: Path, wanted: set[str]) -> dict[str, ItemResult]:
    """The whole items (answers and prompts included) of the ``wanted`` keys in a stored run."""
    found: dict[str, ItemResult] = {}
    with path.open("rb") as f:
        f.readline()
        f.readline()
        for line in f:
            if line == _CLOSING_LINE:
                break
            line = line.rstrip(b",\n")
            if _key_decoder.decode(line).key in wanted:
                item = _item_decoder.decode(line)
                found[item.key] = item
                if len(found) == len(wanted):
                    break
    return found


def with_texts(items: Sequence[ItemComparison], current: AnyRun, baseline: Baseline | None) -> None:
    """Give ``items`` (the few a diff prints) their whole current and baseline items, read from
    the files they came from, so their answers can be diffed."""
    wanted: dict[str, set[str]] = {}  # path -> keys
    for ic in items:
        if ic.current is not None and not isinstance(ic.current, ItemResult) and isinstance(current, RunHeads):
            wanted.setdefault(current.path, set()).add(ic.key)
        if ic.baseline is not None and not isinstance(ic.baseline, ItemResult) and baseline is not None:
            path = baseline.paths.get(ic.baseline_run or "")
            if path is not None:
                wanted.setdefault(str(path), set()).add(ic.key)
    found = {path: _texts_in(Path(path), keys) for path, keys in wanted.items()}
    for ic in items:
        if ic.current is not None and isinstance(current, RunHeads):
            ic.current = found.get(current.path, {}).get(ic.key, ic.current)
        if ic.baseline is not None and baseline is not None:
            path = baseline.paths.get(ic.baseline_run or "")
            if path is not None:
                ic.baseline = found.get(str(path), {}).get(ic.key, ic.baseline)
