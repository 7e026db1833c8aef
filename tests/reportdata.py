"""Reads an HTML report back as data: the page's list rows joined with its data files' details."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

LIST_COLUMNS = ("k", "c", "s", "bs", "pp", "n", "case", "m", "sc", "why", "ac", "sp", "fl")
_STRING_COLUMNS = ("s", "bs", "pp", "n", "m", "why")
CHUNK = re.compile(r'promptcheckChunk\(("[^"]*"),(\d+),(.*)\);\n\Z', re.S)


def page_data(html: str) -> dict[str, Any]:
    """The page's own JSON block (list rows and where the details are)."""
    match = re.search(r'<script type="application/json" id="pc-data">(.*?)</script>', html, re.S)
    assert match, "one data block"
    return json.loads(match.group(1))


def list_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The list rows with field names, strings resolved, empty fields left out."""
    items = []
    for row in data["rows"]:
        item = dict(zip(LIST_COLUMNS, row, strict=True))
        item["c"] = data["categories"][item["c"]]
        for name in _STRING_COLUMNS:
            if item[name] is not None:
                item[name] = data["strings"][item[name]]
        items.append({k: v for k, v in item.items() if v is not None and not (k == "ac" and v == 0)})
    return items


def chunk_files(page: Path) -> list[Path]:
    return sorted((page.parent / page_data(page.read_text(encoding="utf-8"))["dir"]).glob("chunk-*.js"))


def report_items(page: Path) -> list[dict[str, Any]]:
    """Every item of the report at ``page`` as one dict: its list row's fields, its details'
    fields, and ``strings``, the table its details' indexes point into."""
    data = page_data(page.read_text(encoding="utf-8"))
    items = list_items(data)
    files = chunk_files(page)
    assert len(files) == len(data["chunks"]), "one data file per chunk"
    for number, path in enumerate(files):
        run, n, body = CHUNK.match(path.read_text(encoding="utf-8")).groups()
        assert (json.loads(run), int(n)) == (data["run"], number)
        chunk = json.loads(body)
        for offset, detail in enumerate(chunk["items"]):
            items[data["chunks"][number] + offset].update(detail, strings=chunk["strings"])
    return items
