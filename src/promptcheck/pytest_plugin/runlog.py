"""The session's side of run history: open a record, add items, seal it, compare, write reports.

Only the process that sees every report writes (the xdist controller, or a plain session)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from promptcheck.pytest_plugin import shard
from promptcheck.config import Settings
from promptcheck.pytest_plugin.keys import SHARD_DESELECTED
from promptcheck.providers.cassette_format import env_secrets
from promptcheck.report import terminal_lines, write_reports
from promptcheck.runs import RunFileError, RunRecorder, new_run_id, resolve_baseline


@dataclass
class RunLog:
    settings: Settings
    run_id: str = field(default_factory=new_run_id)
    recorder: RunRecorder | None = None
    deselected: int = 0
    report_lines: list[str] = field(default_factory=list)  # the report's terminal summary
    problem: str | None = None  # a baseline or report failure, shown in the summary, never raised
    meta: dict[str, Any] | None = None  # set when this process stores runs
    # A model may repeat a key it was shown: records get the cassettes' scrubbing at the source,
    # before they reach test reports (xdist, --junitxml), run records or HTML.
    secrets: list[str] = field(default_factory=env_secrets, repr=False)

    def enable(self, config: pytest.Config) -> None:
        self.meta = {
            "run_id": self.run_id,
            "models": list(self.settings.models or []),
            "record_mode": self.settings.record_mode,
            "args": [str(a) for a in config.invocation_params.args],
        }

    def add(self, record: dict[str, Any]) -> None:
        if self.meta is None:
            return
        if self.recorder is None:
            # Opened with the first prompt item, so sessions without prompts leave no empty runs.
            self.recorder = RunRecorder(self.settings.report_path, self.meta)
        self.recorder.add(record)  # scrubbed where it was built (see PromptcheckSession._record)

    def finish(self, session: pytest.Session, exitstatus: int, extra: dict[str, Any]) -> None:
        if self.recorder is None:
            return
        narrowed = self._narrowed(session)
        current_shard = session.config.getoption("shard")
        self.recorder.header["selected_only"] = narrowed or current_shard is not None
        self.recorder.header.update(shard.header_fields(current_shard, narrowed, self.settings.models))
        self.recorder.header.update(extra)
        interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
        self.recorder.finish(complete=not interrupted)
        current = self.recorder.release()
        try:
            baseline = resolve_baseline(self.settings.baseline, self.settings.report_path, current)
        except RunFileError as exc:
            self.problem = f"baseline not used: {exc}"
            baseline = None
        _drop_baseline_prompts(baseline, current)
        try:
            written = write_reports(self.settings.report_path, current, baseline, alpha=self.settings.alpha)
            # Only the lines are kept: the comparison holds both runs (millions of objects at
            # 20,000 items) that pytest's exit-time garbage collections would walk five times.
            self.report_lines = terminal_lines(written.comparison, _relative(written.path))
        except Exception as exc:  # the record is sealed already; a report bug must not end the session badly
            self.problem = f"report not written ({type(exc).__name__}: {exc}); the run record is intact"

    def _narrowed(self, session: pytest.Session) -> bool:
        option = session.config.option
        explicit_nodes = any("::" in str(arg) for arg in session.config.invocation_params.args)
        return bool(
            self.deselected - session.config.stash.get(SHARD_DESELECTED, 0)
            or option.keyword
            or option.markexpr
            or getattr(option, "lf", False)
            or session.shouldstop
            or explicit_nodes
        )

    def summary_lines(self) -> list[str]:
        lines: list[str] = []
        lines += self.report_lines
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


def _drop_baseline_prompts(baseline: dict[str, Any] | None, current: dict[str, Any]) -> None:
    """The report shows the current run's rendered prompt and compares prompts by hash, so a
    baseline item that is still present needs no messages of its own: at 20,000 items they are
    tens of MB held through the report step. Removed items keep theirs, which the report shows."""
    if not baseline:
        return
    present = {item["key"] for item in current.get("items", ())}
    for item in baseline.get("items", ()):
        if item.get("key") in present:
            item.pop("messages", None)
