"""The session's side of run history: open a record, add items, seal it, compare, write reports.

Only the process that sees every report writes (the xdist controller, or a plain session)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pytest

from promptcheck.config import Settings
from promptcheck.providers.cassette_format import env_secrets
from promptcheck.pytest_plugin.shard import Shard
from promptcheck.report import terminal_lines, write_reports
from promptcheck.runs.reading import resolve_baseline
from promptcheck.runs.record import GitInfo, ItemResult, RunHeader, RunRecord, ShardInfo, Versions, new_header, new_run_id
from promptcheck.runs.store import RunFileError, RunRecorder


@dataclass
class RunLog:
    settings: Settings
    run_id: str = field(default_factory=new_run_id)
    recorder: RunRecorder | None = None
    header: RunHeader | None = None  # set when this process stores runs
    report_lines: list[str] = field(default_factory=list)  # the report's terminal summary
    problem: str | None = None  # a baseline or report failure, shown in the summary, never raised
    # Values of secret-looking environment variables: scrubbed from every item result.
    secrets: list[str] = field(default_factory=env_secrets, repr=False)

    def enable(self, config: pytest.Config) -> None:
        self.header = new_header(
            self.run_id,
            models=self.settings.models or (),
            record_mode=self.settings.record_mode,
            args=[str(a) for a in config.invocation_params.args],
        )

    def probe_header(self) -> RunHeader:
        """This run as the baseline search sees it before it is stored."""
        return self.header or new_header(self.run_id, models=self.settings.models or (), git=GitInfo(), versions=Versions())

    def add(self, result: ItemResult) -> None:
        if self.header is None:
            return
        if self.recorder is None:
            # Opened with the first prompt item, so sessions without prompts leave no empty runs.
            self.recorder = RunRecorder(self.settings.report_path, self.header)
        self.recorder.add(result)

    def finish(self, *, interrupted: bool, narrowed: bool, shard: Shard | None, **header: object) -> None:
        if self.recorder is None:
            return
        shard_info = None
        if shard is not None:
            shard_info = ShardInfo(shard.index, shard.count, not narrowed, tuple(self.settings.models or ()))
        self.recorder.update_header(selected_only=narrowed or shard is not None, shard=shard_info, **header)
        self.recorder.finish(complete=not interrupted)
        current = self.recorder.release()
        try:
            baseline = resolve_baseline(self.settings.baseline, self.settings.report_path, current.header)
        except RunFileError as exc:
            self.problem = f"baseline not used: {exc}"
            baseline = None
        try:
            written = write_reports(self.settings.report_path, current, _without_present_prompts(baseline, current), alpha=self.settings.alpha)
            # Only the lines are kept: the comparison holds both runs (millions of objects at
            # 20,000 items) that pytest's exit-time garbage collections would walk five times.
            self.report_lines = terminal_lines(written.comparison, _relative(written.path))
        except Exception as exc:  # the record is sealed already; a report bug must not end the session badly
            self.problem = f"report not written ({type(exc).__name__}: {exc}); the run record is intact"

    def summary_lines(self) -> list[str]:
        lines = list(self.report_lines)
        if self.recorder is not None:
            lines.append(f"run record: {_relative(self.recorder.path)}")
        if self.problem:
            lines.append(f"promptcheck: {self.problem}")
        return lines


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _without_present_prompts(baseline: RunRecord | None, current: RunRecord) -> RunRecord | None:
    """The report shows the current run's rendered prompt and compares prompts by hash, so a
    baseline item that is still present needs no messages of its own: at 20,000 items they are
    tens of MB held through the report step. Removed items keep theirs, which the report shows."""
    if baseline is None:
        return None
    present = {item.key for item in current.items}
    for item in baseline.items:
        if item.key in present and item.messages is not None:
            msgspec.structs.force_setattr(item, "messages", None)
    return baseline
