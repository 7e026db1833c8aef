"""The report's item data: the list rows its page embeds, and the detail files it loads on demand.

A 100,000-item report with every answer inline was a 113 MB page that Chromium could not paint
within two minutes. The page now holds one short row per item; answers, checks and prompts go to
``<run id>-data/chunk-NNNN.js`` beside it, about ``CHUNK_BYTES`` of answers each, which the page loads when
an item in them is opened. A chunk is a script that hands its JSON to the page's
``promptcheckChunk``: a ``<script src>`` works from file://, where fetch and XHR do not.

All of it is untrusted text, written as JSON with ``<``, ``>``, ``&`` and U+2028/9 escaped, so
no ``</script>`` or ``<!--`` inside an answer can end a script block, whether inline or in a file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from promptcheck.report.payload import Detail, Strings, detail_row, list_row
from promptcheck.runs.compare import CATEGORIES, Comparison
from promptcheck.runs.store import report_data_dir

# About a second of work for the page to load and parse on a slow machine, and small enough that
# opening one item does not pull in much else; 100,000 items make ~100 such files.
CHUNK_BYTES = 1_000_000
CHUNK_FUNCTION = "promptcheckChunk"
_ROWS_PER_PIECE = 4096  # list rows encoded at once when the page is written

_ESCAPES = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"))
_SEPARATORS = (("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))
_SEPARATOR_LEAD = "\u2028".encode()[:1]  # b"\xe2", the first byte of both in UTF-8
_encoder = msgspec.json.Encoder()


def script_json_bytes(value: object) -> bytes:
    """``value`` as JSON that is safe inside any script: no byte of it can end the script."""
    raw = _encoder.encode(value)
    # A search for one byte is memchr; one for three bytes took ten times as long on 100 MB of
    # answers, so the separators are looked for only where their lead byte is.
    escapes = _ESCAPES + _SEPARATORS if _SEPARATOR_LEAD in raw else _ESCAPES
    for char, escaped in escapes:
        if char in raw:
            raw = raw.replace(char, escaped)
    return raw


def data_dir_name(run_id: str) -> str:
    """The folder beside a run's page (and index.html) that holds its detail files."""
    return report_data_dir(Path(), run_id).name


def chunk_name(number: int) -> str:
    return f"chunk-{number + 1:04d}.js"


@dataclass
class ListData:
    """What the page embeds: one list row per item, and where each item's details are."""

    run: str
    directory: str  # the data folder, relative to the page
    rows: list[list[object]] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    chunks: list[int] = field(default_factory=list)  # index of the first item of each chunk

    def script_json(self) -> str:
        return "".join(self.script_json_pieces())

    def script_json_pieces(self) -> Iterator[str]:
        """``script_json`` in pieces of a few thousand rows: the same text, but the rows of a
        100,000-item page are never encoded, escaped and decoded all at once (each a copy of
        ~10 MB, alive together with every row at the report's peak). Escaping piece by piece
        gives the same bytes: each piece is whole JSON values, so no character is split."""
        head = {"run": self.run, "dir": self.directory, "chunks": self.chunks, "categories": list(CATEGORIES),
                "strings": self.strings, "rows": []}
        opening = script_json_bytes(head)
        assert opening.endswith(b"[]}"), "the rows come last"
        yield opening[:-2].decode("utf-8")
        rows = self.rows
        for start in range(0, len(rows), _ROWS_PER_PIECE):
            piece = script_json_bytes(rows[start : start + _ROWS_PER_PIECE])[1:-1]  # without its brackets
            yield ("," if start else "") + piece.decode("utf-8")
        yield "]}"


ChunkSink = Callable[[int, bytes], object]  # what it returns is not used


def build_list(comparison: Comparison, run_id: str, sink: ChunkSink | None = None) -> ListData:
    """The list rows; with ``sink``, also every detail chunk as (number, file bytes), in order."""
    listing = ListData(run_id, data_dir_name(run_id))
    list_strings = Strings()
    categories: dict[str, int] = {name: n for n, name in enumerate(CATEGORIES)}
    pending: list[Detail] = []
    pending_size = 0
    chunk_strings = Strings()

    def flush() -> None:
        nonlocal pending, pending_size, chunk_strings
        assert sink is not None
        number = len(listing.chunks) - 1
        head = b"%s(%s,%d," % (CHUNK_FUNCTION.encode(), script_json_bytes(run_id), number)
        sink(number, head + script_json_bytes({"items": pending, "strings": chunk_strings.table}) + b");\n")
        pending, pending_size, chunk_strings = [], 0, Strings()

    rows = listing.rows
    for n, ic in enumerate(comparison.items):
        answer_changed = ic.answer_changed
        rows.append(list_row(ic, list_strings, categories, answer_changed))
        if sink is None:
            continue
        if not pending:
            listing.chunks.append(n)
        detail = detail_row(ic, chunk_strings, answer_changed)
        pending.append(detail)
        # The answers are nearly all of a chunk's size; the rest is a few hundred bytes an item.
        pending_size += len(detail.a or "") + len(detail.b or "") + 300
        if pending_size >= CHUNK_BYTES:
            flush()
    if pending:
        flush()
    listing.strings = list_strings.table
    return listing


def write_data(report_dir: Path, comparison: Comparison, run_id: str) -> ListData:
    """Write ``<run id>-data/`` in ``report_dir`` whole, replacing an older one only once the new
    one is complete, so a page never finds half of its files."""
    final = report_dir / data_dir_name(run_id)
    staging = report_dir / f".{final.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        listing = build_list(comparison, run_id, lambda number, data: (staging / chunk_name(number)).write_bytes(data))
        old = report_dir / f".{final.name}.{os.getpid()}.old"
        if final.exists():
            final.rename(old)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return listing


def copy_data(source_page: Path, run_id: str, page: Path) -> None:
    """Give a copy of the page in another folder its own copy of the data files."""
    source = source_page.parent / data_dir_name(run_id)
    target = page.parent / data_dir_name(run_id)
    if source.resolve() != target.resolve():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
