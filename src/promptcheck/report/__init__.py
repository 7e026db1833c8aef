"""Reports of a Comparison: self-contained HTML, Markdown and terminal lines, all from one object."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from promptcheck.gcpause import gc_paused
from promptcheck.report.html import render_html, write_html
from promptcheck.report.text import render_markdown, terminal_lines
from promptcheck.runs.baseline import Baseline
from promptcheck.runs.compare import Comparison, compare
from promptcheck.runs.history import recent_statuses
from promptcheck.runs.reading import list_runs
from promptcheck.runs.record import RunHeader, RunRecord
from promptcheck.runs.stats import DEFAULT_ALPHA

__all__ = ["WrittenReports", "render_html", "render_markdown", "terminal_lines", "write_reports"]


@dataclass(frozen=True)
class WrittenReports:
    paths: tuple[Path, ...]  # <report dir>/<run id>.html, then index.html when it was updated
    comparison: Comparison

    @property
    def path(self) -> Path:
        """The report of this run, which later runs don't overwrite."""
        return self.paths[0]

    @property
    def latest(self) -> Path:
        """The file to point the user at: ``index.html``, which always holds the latest run's
        report, when it was written; else the only file written."""
        return self.paths[-1]


def history_headers(report_dir: Path | str) -> list[RunHeader]:
    """Headers of every readable stored run, oldest first."""
    return [info.header for info in list_runs(report_dir) if info.header is not None]


def write_reports(
    report_dir: Path | str,
    current: RunRecord,
    baseline: Baseline | None,
    history: Sequence[RunHeader] | None = None,
    *,
    outputs: Sequence[Path] | None = None,
    alpha: float = DEFAULT_ALPHA,
) -> WrittenReports:
    """Write the report to ``outputs``, by default ``<run id>.html`` and ``index.html`` (latest vs
    baseline) in ``report_dir``, with the run's data folder ``<run id>-data/`` beside them. ``history`` (run headers for the trend) defaults to the stored runs."""
    report_dir = Path(report_dir)
    if outputs is None:
        outputs = (report_dir / f"{current.run_id}.html", report_dir / "index.html")
    trend_runs = history_headers(report_dir) if history is None else history
    with gc_paused():  # see gcpause: compare and the page's rows build only acyclic objects
        comparison = compare(baseline, current, alpha=alpha, history=recent_statuses(report_dir, current))
        write_html(outputs, comparison, current, trend_runs)
    return WrittenReports(tuple(outputs), comparison)
