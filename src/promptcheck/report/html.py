"""The self-contained HTML report: one file, inline CSS and JS, no network, works from file://.

Everything from a run (prompts, answers, check reasons, even model labels) is untrusted text. Jinja2
autoescapes it in markup; item data reaches the page only as one JSON block that the script reads
with ``textContent`` semantics. A Content-Security-Policy allows exactly our one script (by hash),
so even a future escaping bug could not run injected code or reach the network.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from functools import cache
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from promptcheck.report.payload import build_matrix, build_trend, filter_counts, payload_parts
from promptcheck.report.text import against, count_label, usd
from promptcheck.report.verdicts import RATE_SECTIONS, rate_text, repeated
from promptcheck.runs.compare import CATEGORIES, Comparison
from promptcheck.runs.record import RunHeader, RunRecord

if TYPE_CHECKING:
    from jinja2 import BytecodeCache, Environment
    from jinja2.bccache import Bucket

# Inside <script> only "</script" (and "<!--") can end the block early; escaping every <, > and &
# rules out all of them. U+2028/9 are valid JSON but were line breaks to older JS parsers.
# Where the data block goes; no template text or escaped value can contain it (autoescape turns "<").
_DATA_SLOT = "<promptcheck-data-slot>"

_SCRIPT_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def script_json(value: Any) -> Markup:
    return Markup(_script_json_text(value))


def _script_json_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in _SCRIPT_ESCAPES:
        text = text.replace(raw, escaped)
    return text


def _payload_json(comparison: Comparison) -> Iterator[str]:
    """The page's data block, ``script_json(build_payload(...))`` in pieces: one row at a time,
    escaped like the whole (each escape is one character, so no escape straddles two pieces)."""
    yield '{"items":['
    separator, in_items = "", True
    for name, value in payload_parts(comparison):
        if name == "item":
            yield separator + _script_json_text(value)
            separator = ","
            continue
        if in_items:
            yield "]"
            in_items = False
        yield f',"{name}":' + _script_json_text(value)
    yield "}"


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
) -> Iterator[str]:
    """The page in pieces, so a 20 MB report is written out without first being joined in memory,
    and its data block without first being built as one object."""
    script = _static("report.js")
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    models = [m.model for m in comparison.models]
    page = _environment().get_template("report.html.j2").generate(
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
    for chunk in page:
        before, slot, after = chunk.partition(_DATA_SLOT)
        yield before
        if slot:
            yield from _payload_json(comparison)
            yield after


def render_html(
    comparison: Comparison,
    current: RunRecord,
    history: Sequence[RunHeader] = (),
) -> str:
    return "".join(render_html_chunks(comparison, current, history))
