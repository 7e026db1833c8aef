"""Reports of a Comparison: self-contained HTML, Markdown and terminal lines, all from one object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from promptcheck.compare import Comparison, compare
from promptcheck.report.html import render_html
from promptcheck.report.text import render_markdown, terminal_lines
from promptcheck.runstore import list_runs
from promptcheck.runstore.store import write_text_atomic

__all__ = ["WrittenReports", "render_html", "render_markdown", "terminal_lines", "write_reports"]


@dataclass(frozen=True)
class WrittenReports:
    index: Path  # <report dir>/index.html: the latest run vs its baseline
    run: Path  # <report dir>/<run id>.html: the same report, kept per run
    comparison: Comparison


def history_headers(report_dir: Path | str) -> list[dict[str, Any]]:
    """Headers (records without items) of every readable stored run, oldest first."""
    return [info.header for info in list_runs(report_dir) if info.header is not None]


def write_reports(
    report_dir: Path | str,
    current: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    history: Sequence[Mapping[str, Any]] | None = None,
) -> WrittenReports:
    """Write ``index.html`` and ``<run id>.html``; ``history`` defaults to the runs stored in ``report_dir``."""
    report_dir = Path(report_dir)
    comparison = compare(baseline, current)
    html = render_html(comparison, current, baseline, history_headers(report_dir) if history is None else history)
    run_path = report_dir / f"{current['run_id']}.html"
    index_path = report_dir / "index.html"
    for path in (run_path, index_path):
        write_text_atomic(path, html)
    return WrittenReports(index_path, run_path, comparison)
