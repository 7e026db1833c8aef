"""The session's side of run history: open a record, add items, seal it, compare, write reports.

Only the process that sees every report writes (the xdist controller, or a plain session)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from promptcheck.config import Settings
from promptcheck.redaction import env_secrets
from promptcheck.pytest_plugin.shard import Shard
from promptcheck.report import terminal_lines, write_reports
from promptcheck.runs.baseline import Baseline, BaselineError, resolve
from promptcheck.runs.git_baseline import replay_at
from promptcheck.runs.reading import resolve_run_path
from promptcheck.runs.record import GitInfo, ItemResult, RunHeader, RunRecord, ShardInfo, Versions, new_header, new_run_id
from promptcheck.runs.retention import prune_runs
from promptcheck.runs.store import RunFileError, RunRecorder


@dataclass
class RunLog:
    settings: Settings
    run_id: str = field(default_factory=new_run_id)
    recorder: RunRecorder | None = None
    header: RunHeader | None = None  # set when this process stores runs
    report_lines: list[str] = field(default_factory=list)  # the report's terminal summary
    # Baseline, report and pruning failures: each shown in the summary, never raised.
    problems: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)  # run ids removed by keep_runs
    price_sources: dict[str, set[str]] = field(default_factory=dict)  # model label -> where its prices came from
    # Values of secret-looking environment variables: scrubbed from every item result.
    secrets: list[str] = field(default_factory=env_secrets, repr=False)
    _replays: dict[str, RunRecord] = field(default_factory=dict, repr=False)  # git:REF baselines

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
        if result.price_source:
            self.price_sources.setdefault(result.model, set()).update(result.price_source.split(", "))
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
        baseline = self.baseline(current.header, [item.key for item in current.items])
        if baseline is not None:
            baseline.without_messages(item.key for item in current.items)
        try:
            written = write_reports(self.settings.report_path, current, baseline, alpha=self.settings.alpha)
            # Only the lines are kept: the comparison holds both runs (millions of objects at
            # 20,000 items) that pytest's exit-time garbage collections would walk five times.
            self.report_lines = terminal_lines(written.comparison, _relative(written.latest))
        except Exception as exc:  # the record is sealed already; a report bug must not end the session badly
            self._problem(f"report not written ({type(exc).__name__}: {exc}); the run record is intact")
        self._prune(current.run_id)

    def _prune(self, current: str) -> None:
        """Old runs beyond ``keep_runs`` go once this one is stored and reported."""
        report_dir, spec = self.settings.report_path, self.settings.baseline
        named = []
        if spec and spec not in ("auto", "none") and not spec.startswith("git:"):
            # `baseline = "<run id>"` in pyproject.toml is a pin too: the next session needs that run.
            with contextlib.suppress(RunFileError):
                named.append(resolve_run_path(spec, report_dir, exclude=current).stem)
        try:
            self.pruned = prune_runs(report_dir, self.settings.keep_runs, current=current, named=named)
        except OSError as exc:
            where = f"{_relative(Path(exc.filename))}: " if exc.filename else ""
            self._problem(f"old runs not pruned (keep_runs = {self.settings.keep_runs}): {where}{exc.strerror or exc}")

    def _problem(self, text: str) -> None:
        if text not in self.problems:  # the baseline is asked for twice under --repeat auto
            self.problems.append(text)

    def baseline(self, current: RunHeader, keys: list[str]) -> Baseline | None:
        """The baseline of ``keys`` as the settings name it; a problem with it is reported once, at
        the end, and the run is then compared with nothing."""
        try:
            return resolve(self.settings.baseline, self.settings.report_path, current, keys, git=self._replay)
        except (RunFileError, BaselineError) as exc:
            self._problem(f"baseline not used: {exc}")
            return None

    def _replay(self, ref: str) -> RunRecord:
        if ref not in self._replays:  # --repeat auto asked already: replay once per session
            self._replays[ref] = replay_at(ref, self.settings.rootdir, models=self.settings.models)
        return self._replays[ref]

    def summary_lines(self) -> list[str]:
        lines = list(self.report_lines)
        if self.recorder is not None:
            lines.append(f"run record: {_relative(self.recorder.path)}")
        if self.price_sources:
            lines.append("prices: " + "; ".join(f"{model} from {', '.join(sorted(found))}" for model, found in sorted(self.price_sources.items())))
        if self.pruned:
            count = f"{len(self.pruned)} old run{'s' if len(self.pruned) != 1 else ''}"
            lines.append(f"removed {count} (keep_runs = {self.settings.keep_runs})")
        lines += [f"promptcheck: {problem}" for problem in self.problems]
        return lines


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
