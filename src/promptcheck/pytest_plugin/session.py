"""The session object: promptcheck's state for one pytest process and the hooks that need it,
registered as one plugin (the way pytest-xdist hands off to DSession and syrupy keeps a session
object). Items run through the engine; this maps what the engine says to pytest and back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generator, Iterable

import msgspec
import pytest

from promptcheck.config import Settings
from promptcheck.engine.budget import Spend, session_budget
from promptcheck.engine.engine import Engine
from promptcheck.engine.plan import ItemPlan, plan_file
from promptcheck.safefiles.kinds import unreadable_entries
from promptcheck.formats.catalog import Catalog
from promptcheck.formats.checkdecl import parse_checks
from promptcheck.providers import callprocess
from promptcheck.redaction import redact
from promptcheck.providers.cassette import CassetteStore
from promptcheck.providers.factory import ProviderFactory
from promptcheck.providers.registry import ModelTarget, resolve_target
from promptcheck.pytest_plugin import gcfreeze, shard
from promptcheck.pytest_plugin.batch import send_batches
from promptcheck.pytest_plugin.failure import error_repr
from promptcheck.pytest_plugin.items import PromptFile, PromptItem
from promptcheck.pytest_plugin.outcomes import final_result, redacted
from promptcheck.pytest_plugin.progress import make_pool
from promptcheck.pytest_plugin.extensions import Registries
from promptcheck.pytest_plugin.runlog import RunLog
from promptcheck.pytest_plugin.xdist import pending_worker_items
from promptcheck.runs.record import ItemResult
from promptcheck.runs.stats import Counts
from promptcheck.spec import CheckSpec, Location, SpecError, SpecErrors
from promptcheck.usercode import limits, pyworker

RESULT_PROPERTY = "promptcheck"  # how an xdist worker's item result rides to the controller
_result_decoder = msgspec.json.Decoder(ItemResult)


@dataclass(eq=False)  # pluggy keys plugins by identity
class PromptcheckSession:
    config: pytest.Config
    settings: Settings
    catalog: Catalog
    project_constraints: list[CheckSpec]
    providers: ProviderFactory
    engine: Engine
    runlog: RunLog
    has_prompt_items: bool = False
    collected_keys: list[str] = field(default_factory=list)  # prompt items' keys, after deselection
    deselected: int = 0
    shard_deselected: int = 0
    models_seen: dict[str, None] = field(default_factory=dict)
    cassettes_used: dict[str, set[str]] = field(default_factory=dict)  # from xdist workers
    provider_errors: dict[str, str] = field(default_factory=dict)  # from xdist workers, by model label
    spend: Spend = field(default_factory=Spend)  # --max-cost, from xdist workers
    _baseline: dict[str, Counts] | None = None  # for --repeat auto, loaded on first use

    @classmethod
    def start(cls, config: pytest.Config, settings: Settings, registries: Registries) -> PromptcheckSession:
        limits.configure(settings.script_limits)  # before the catalog: readers run prompt functions
        catalog = Catalog(settings, registries.checks, named=named_files(config))
        problems = catalog.problems(settings.source)
        constraints = parse_checks(settings.constraints, problems, Location(settings.source), "constraints")
        try:
            problems.raise_if_any()
        except SpecErrors as exc:
            raise pytest.UsageError(f"promptcheck: {exc}") from None
        worker_input = getattr(config, "workerinput", {})
        # Workers share the controller's run id, so "record once" sees their files as one run's.
        runlog = RunLog(settings, **({"run_id": worker_input["promptcheck_run_id"]} if "promptcheck_run_id" in worker_input else {}))
        cassettes = CassetteStore(settings.rootdir / (settings.cassette_dir or "cassettes"), run_id=runlog.run_id)
        providers = ProviderFactory(settings, cassettes, registries.providers)

        def pool(call: Any, queues_elsewhere: Any) -> Any:
            budget = session_budget(settings.max_cost, providers.worst_case_cost, int(worker_input.get("workercount", 1)))
            return make_pool(config, call, settings.concurrency, budget, queues_elsewhere)

        engine = Engine(settings, providers, pool)
        state = cls(config, settings, catalog, constraints, providers, engine, runlog)
        engine.baseline_counts = state._baseline_counts
        if state.is_worker:
            engine.while_waiting = state._feed_worker_queue
        return state

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    @property
    def is_xdist_controller(self) -> bool:
        return self.config.pluginmanager.has_plugin("dsession")

    @property
    def stores_runs(self) -> bool:
        return not self.is_worker and not self.config.getoption("no_promptcheck_report") and not self.config.option.collectonly

    # -- what items need (items.ItemRunner) ---------------------------------------------------------

    def plans_for(self, path: Path) -> tuple[list[ItemPlan], list[SpecError]]:
        return plan_file(self.catalog, path, self.project_constraints)

    def run(self, plan: ItemPlan) -> ItemResult:
        # Redacted before anything shows it: the ERROR or FAIL text pytest prints and junit.xml
        # keeps is made from this result, as are the run record and the report.
        return redacted(self.engine.run(plan), self.runlog.secrets)

    # -- delegated from plugin.py ---------------------------------------------------------------------

    def collect_file(self, path: Path, parent: pytest.Collector) -> PromptFile | None:
        if self.catalog.is_prompt_file(path):
            return PromptFile.from_parent(parent, path=path, runner=self)
        return None

    def warn_unreadable(self, directory: Path, parent: pytest.Collector) -> None:
        """pytest passes over symlink loops and FIFOs without a word; say so, naming the path."""
        for path, reason in unreadable_entries(directory, self.catalog.is_prompt_file):
            parent.warn(pytest.PytestCollectionWarning(f"promptcheck: {self.catalog.display_path(path)}: {reason}"))

    def deselect_shard(self, items: list[pytest.Item]) -> None:
        self.shard_deselected = shard.deselect(self.config, items, self.config.getoption("shard"))

    # -- running ------------------------------------------------------------------------------------

    def warm_call_process(self, targets: Iterable[ModelTarget]) -> None:
        """Start the call process as soon as a model that may be called is known (from the
        settings at session start, else from the first collected item), so its SDK imports there
        while pytest still collects."""
        if (
            self.settings.record_mode != "none"  # a replay-only run never calls
            and not self.config.option.collectonly
            and not self.config.getoption("batch")
            and not self.is_xdist_controller
            and callprocess.wanted(self.settings.call_process, is_worker=self.is_worker)
        ):
            for target in targets:
                self.providers.warm_call_process(target)

    def _feed_worker_queue(self) -> None:
        self.engine.prefetch(_plans(pending_worker_items(self.config)))

    def _baseline_counts(self, key: str) -> Counts | None:
        if self._baseline is None:
            # The baseline this run will be compared with, as the report will pick it (RunLog.finish).
            baseline = self.runlog.baseline(self.runlog.probe_header(), self.collected_keys)
            counts = ((k, item.counts) for k, item in (baseline.items.items() if baseline else ()))
            self._baseline = {k: c for k, c in counts if c is not None}
        return self._baseline.get(key)

    # -- hooks ------------------------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.stores_runs:
            self.runlog.enable(self.config)
        self.warm_call_process(resolve_target(label, self.settings) for label in self.settings.models or ())

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A broken prompt file is one error among many prompts, not a reason to run nothing:
        # the other prompts still run, and the session still exits non-zero.
        if report.failed and self.catalog.is_prompt_file(self.config.rootpath / report.nodeid.split("::")[0]):
            self.config.option.continue_on_collection_errors = True

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        if isinstance(item, PromptItem) and not item.plan.skip_reason:
            self.warm_call_process([item.plan.target])

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected_keys = [plan.key for plan in _plans(session.items)]
        self.has_prompt_items = bool(self.collected_keys)
        if self.has_prompt_items:
            gcfreeze.freeze()  # the items and their plans live to the end

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        if session.config.option.collectonly or self.is_xdist_controller:
            return
        if self.config.getoption("batch"):
            send_batches(self.config, self.engine, _plans(session.items), self.settings.report_path / "batches", self.runlog.run_id)
        if self.is_worker:
            self._feed_worker_queue()
        else:
            self.engine.prefetch(_plans(session.items))

    # A new-style wrapper: an old-style one re-raises the hook's exception from its teardown, and a
    # Ctrl-C that lands while the report is made (or while this writes the run journal) then
    # printed a PluggyTeardownRaisedWarning on top of the interrupt.
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report: pytest.TestReport = yield
        if not isinstance(item, PromptItem) or not (report.when == "call" or (report.when == "setup" and not report.passed)):
            return report
        engine_error = item.result is not None and item.result.status == "error"
        result = redacted(final_result(item, report, call), self.runlog.secrets)
        if engine_error and report.when == "setup":
            report.longrepr = error_repr(item.plan, result)
        item.result = None  # the run record holds what is kept; 20,000 answers need not stay
        if self.is_worker:
            report.user_properties.append((RESULT_PROPERTY, msgspec.json.encode(result).decode()))
        else:
            self._record(result)
        return report

    @pytest.hookimpl(tryfirst=True)  # before --junitxml writes the report's properties
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        for name, value in report.user_properties:
            if name == RESULT_PROPERTY:
                assert isinstance(value, str), "a worker sends the result as JSON text"
                self._record(_result_decoder.decode(value))
        # Delivered: it only rode on the report to reach the process that records.
        report.user_properties = [prop for prop in report.user_properties if prop[0] != RESULT_PROPERTY]
        if report.failed and self.config.getoption("maxfail", 0) == 1:
            self.engine.cancel_pending()

    def _record(self, result: ItemResult) -> None:
        self.models_seen.setdefault(result.model)
        self.runlog.add(result)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.engine.close()
        store = self.providers.cassettes
        if self.is_worker:
            self.config.workeroutput["promptcheck_cassettes_used"] = store.used_keys()  # type: ignore[attr-defined]
            self.config.workeroutput["promptcheck_provider_errors"] = self.providers.errors()  # type: ignore[attr-defined]
            self.config.workeroutput["promptcheck_spend"] = self._own_spend()  # type: ignore[attr-defined]
        else:
            store.mark_used({path: sorted(keys) for path, keys in self.cassettes_used.items()})
        self.providers.close()
        pyworker.close_all()  # the user's Python ran there; nothing is left to call
        if self.stores_runs:
            unused = len(store.unused_entries())
            used = {path: tuple(keys) for path, keys in store.used_keys(relative=True).items()}
            store.unload()
            interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
            self.runlog.finish(
                interrupted=interrupted,
                narrowed=self._narrowed(session) or interrupted,
                shard=self.config.getoption("shard"),
                models=tuple(self.models_seen),
                cassettes_unused=unused,
                cassettes_used=used,  # what `promptcheck cassettes prune` keeps
            )
        if self.has_prompt_items or self.runlog.recorder is not None:
            gcfreeze.freeze()  # pytest's reports live to the end; its unconfigure walks them five times

    def _own_spend(self) -> tuple[float, int]:
        pool = self.engine.pool
        return (pool.budget.spent, pool.budget.not_sent) if pool is not None else (0.0, 0)

    def _narrowed(self, session: pytest.Session) -> bool:
        """Whether something besides --shard ran fewer items than were collected (an interrupted
        run did too; the caller adds that)."""
        option = session.config.option
        explicit_nodes = any("::" in str(arg) for arg in session.config.invocation_params.args)
        return bool(
            self.deselected - self.shard_deselected
            or option.keyword
            or option.markexpr
            or getattr(option, "lf", False)
            or session.shouldstop  # --sw stopped at a failure
            # -x / --maxfail: pytest says so in shouldfail, not shouldstop. Under xdist the
            # controller only sees the run end INTERRUPTED, which the caller counts.
            or session.shouldfail
            or explicit_nodes
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        errors = {**self.provider_errors, **self.providers.errors()}  # one per model label
        # Each message names its model already. In the order of the models, then by label: not
        # in the order pool threads happened to fail.
        order = {label: index for index, label in enumerate(self.settings.models or ())}
        lines = [errors[label] for label in sorted(errors, key=lambda label: (order.get(label, len(order)), label))]
        header = self.runlog.recorder.header if self.runlog.recorder else None
        # After -k/-m/-x the other items' entries look unused too, and prune refuses such a run.
        if header is not None and header.cassettes_unused and not header.selected_only:
            lines.append(
                f"{header.cassettes_unused} cassette entries were not used by this run; "
                "`promptcheck cassettes prune` removes them"
            )
        if self.settings.max_cost is not None and (self.has_prompt_items or self.runlog.recorder is not None):
            spend = Spend(self.spend.spent, self.spend.not_sent)
            spend.add(*self._own_spend())
            lines.append(spend.summary_line(self.settings.max_cost))
        lines += self.runlog.summary_lines()
        if lines:
            terminalreporter.write_sep("-", "promptcheck")
            for line in lines:
                terminalreporter.write_line(redact(line, self.runlog.secrets))


SESSION_KEY: pytest.StashKey[PromptcheckSession] = pytest.StashKey()


def _plans(items: Iterable[pytest.Item]) -> Iterable[ItemPlan]:
    return (item.plan for item in items if isinstance(item, PromptItem))


def named_files(config: pytest.Config) -> list[Path]:
    """The paths on the command line (node ids without their ``::`` part)."""
    return [config.invocation_params.dir / arg.split("::")[0] for arg in config.args]
