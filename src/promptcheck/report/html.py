"""The HTML report: a page with inline CSS and JS plus its data folder, no network, works from file://.

Everything from a run (prompts, answers, check reasons, even model labels) is untrusted text. Jinja2
autoescapes it in markup; item data reaches the page only as JSON (the list rows inline, the details
in ``<run id>-data/`` files, see ``report.datafiles``) that the script renders with ``textContent``.
A Content-Security-Policy allows our one inline script (by hash) and scripts from the page's own
origin (the data files), so even a future escaping bug could not run injected code or reach the
network.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from promptcheck.gcpause import gc_paused
from promptcheck.report.datafiles import ListData, build_list, copy_data, script_json_bytes, write_data
from promptcheck.report.payload import build_matrix, build_trend, filter_counts
from promptcheck.report.text import against, count_label, usd
from promptcheck.report.verdicts import RATE_SECTIONS, rate_text, repeated
from promptcheck.runs.compare import CATEGORIES, Comparison
from promptcheck.runs.record import RunHeader, RunRecord
from promptcheck.runs.store import copy_atomic, write_chunks_atomic

if TYPE_CHECKING:
    from jinja2 import BytecodeCache, Environment
    from jinja2.bccache import Bucket

# Where the data block goes; no template text or escaped value can contain it (autoescape turns "<").
_DATA_SLOT = "<promptcheck-data-slot>"


def script_json(value: Any) -> Markup:
    """``value`` as JSON to put inside a <script> element (see ``datafiles.script_json_bytes``)."""
    return Markup(script_json_bytes(value).decode("utf-8"))


def _bytecode_cache() -> BytecodeCache | None:
    """Jinja2's own cache of compiled templates, in a private per-user temp directory: compiling
    the report template took ~0.13 s of every session's end. Keyed by the template's source, so
    an edited template is compiled again."""
    from jinja2 import FileSystemBytecodeCache

    class QuietCache(FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: Bucket) -> None:
            with contextlib.suppress(OSError):  # unwritable: the next report compiles again
                super().dump_bytecode(bucket)

    try:
        return QuietCache(pattern="__promptcheck_%s.cache")
    except (OSError, RuntimeError):  # no safe temp directory
        return None


@cache
def _environment() -> Environment:
    # Imported here: `promptcheck diff` and the pytest plugin's terminal summary never render HTML.
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("promptcheck.report", "templates"),
        bytecode_cache=_bytecode_cache(),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    env.filters["signed_pts"] = _signed_pts
    env.filters["usd"] = usd
    env.globals["count_label"] = count_label
    env.globals["rate_text"] = rate_text
    env.globals["repeated"] = repeated
    env.globals["rate_sections"] = RATE_SECTIONS
    return env


@cache
def _static(name: str) -> str:
    loader = _environment().loader
    assert loader is not None
    source, _, _ = loader.get_source(_environment(), name)
    return source


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _signed_pts(delta: float | None) -> str:
    """A pass-rate delta in percentage points, e.g. +2.5 pts."""
    if delta is None:
        return ""
    return f"{delta * 100:+.1f} pts"


def render_html_chunks(
    comparison: Comparison,
    current: RunRecord,
    history: Sequence[RunHeader] = (),
    listing: ListData | None = None,
) -> Iterator[str]:
    """The page in pieces, so its list rows are written out without first being joined with the
    rest. ``listing`` comes from ``write_data``; without it the page's details are not written."""
    if listing is None:
        listing = build_list(comparison, current.run_id)
    script = _static("textdiff.js") + "\n" + _static("report.js")  # one inline script, one CSP hash
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    models = [m.model for m in comparison.models]
    page = _environment().get_template("report.html.j2").render(
        comparison=comparison,
        current=current,
        against=against(comparison),
        categories=CATEGORIES,
        filters=filter_counts(comparison),
        matrix=build_matrix(comparison, models),
        models=models,
        trend=build_trend(history, current),
        data=Markup(_DATA_SLOT),
        css=Markup(_static("report.css")),
        script=Markup(script),
        script_hash=script_hash,
    )
    # Rendered whole, then cut once: the page without its rows is small (the matrix is the most
    # of it), while generating it came in ~140,000 pieces at 100,000 items, each looked through.
    before, slot, after = page.partition(_DATA_SLOT)
    assert slot, "the template has a slot for the data"
    yield before
    yield from listing.script_json_pieces()
    yield after


def render_html(
    comparison: Comparison,
    current: RunRecord,
    history: Sequence[RunHeader] = (),
) -> str:
    """The page alone (its data folder is not written: see ``write_html``)."""
    return "".join(render_html_chunks(comparison, current, history))


def write_html(
    outputs: Sequence[Path],
    comparison: Comparison,
    current: RunRecord,
    history: Sequence[RunHeader] = (),
) -> None:
    """The page at each of ``outputs`` (written once, then copied), with its data folder beside it."""
    first, *others = outputs
    with gc_paused():  # a row or two per item, none cyclic: half the build was collector passes
        listing = write_data(first.parent, comparison, current.run_id)
    write_chunks_atomic(first, render_html_chunks(comparison, current, history, listing))
    for path in others:
        copy_data(first, current.run_id, path)
        copy_atomic(first, path)
