"""Session state and the hooks that need it, registered as one plugin object per pytest
process (the way pytest-xdist hands off to DSession and syrupy keeps a session object)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generator, Iterable, NoReturn

import pytest

from promptcheck.pytest_plugin import gcfreeze
from promptcheck.config import Settings
from promptcheck.formats.checkdecl import parse_checks
from promptcheck.pytest_plugin.keys import SESSION_KEY
from promptcheck.formats.catalog import Catalog
from promptcheck.checks.base import CheckError
from promptcheck.engine.grading import Grader, JudgeTargets
from promptcheck.engine.outcome import GradingFailure, ItemFailure, ProviderFailure, Verdict, format_failure, judge
from promptcheck.engine.plan import ItemPlan
from promptcheck.engine.pool import CallPool, CostLimitReached
from promptcheck.providers import callprocess
from promptcheck.providers.base import ProviderError, ProviderResponse
from promptcheck.providers.cassette import CassetteStore
from promptcheck.providers.cassette_format import scrubbed
from promptcheck.providers.factory import ProviderFactory
from promptcheck.providers.registry import ModelTarget, resolve_target
from promptcheck.engine.records import build_record
from promptcheck.pytest_plugin.runlog import RunLog
from promptcheck.runs import RunFileError, resolve_baseline, utc_now
from promptcheck.runs.stats import Counts, next_sample_size, record_counts
from promptcheck.spec import CheckSpec, Location, SpecErrors
from promptcheck.pytest_plugin.xdist import pending_worker_items
from promptcheck.pytest_plugin.batch import run_for_session
from promptcheck.providers.batch.runner import BatchResults
from promptcheck.pytest_plugin.progress import make_pool
from promptcheck.pytest_plugin.extensions import Registries

if TYPE_CHECKING:
    from promptcheck.pytest_plugin.items import PromptItem


@dataclass(eq=False)  # pluggy keys plugins by identity
class PromptcheckSession:
    config: pytest.Config
    settings: Settings
    catalog: Catalog
    project_constraints: list[CheckSpec]
    providers: ProviderFactory
    runlog: RunLog
    pool: CallPool | None = None
    batches: BatchResults | None = None  # --batch: requests the batches could not answer
    has_prompt_items: bool = False
    models_seen: dict[str, None] = field(default_factory=dict)
    cassettes_used: dict[str, set[str]] = field(default_factory=dict)  # from xdist workers
    _baseline_counts: dict[str, Counts] | None = None  # for --repeat auto, loaded on first use

    @classmethod
    def start(cls, config: pytest.Config, settings: Settings, registries: Registries) -> PromptcheckSession:
        catalog = Catalog(settings, registries.checks)
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
        return cls(config, settings, catalog, constraints, ProviderFactory(settings, cassettes, registries.providers), runlog)

    @property
    def stores_runs(self) -> bool:
        return not self.is_worker and not self.config.getoption("no_promptcheck_report") and not self.config.option.collectonly

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    @property
    def is_xdist_controller(self) -> bool:
        return self.config.pluginmanager.has_plugin("dsession")

    # -- running -------------------------------------------------------------------------------

    def _pool(self) -> CallPool:
        if self.pool is None:
            call = self.batches.wrap(self.providers.call) if self.batches else self.providers.call
            queues_elsewhere = None if self.batches else self.providers.queues_in_call_process
            self.pool = make_pool(self.config, call, self.settings.concurrency, self.settings.max_cost, queues_elsewhere)
        return self.pool

    def prefetch(self, items: list[pytest.Item]) -> None:
        from promptcheck.pytest_plugin.items import PromptItem

        pool = self._pool()
        for item in items:
            if isinstance(item, PromptItem) and not item.plan.skip_reason and not self.providers.config_error(item.plan.target):
                for index in range(item.plan.repeat):
                    request = item.plan.request(index)
                    if not self.providers.replays(request):  # a recorded answer needs no pool thread
                        pool.submit(request)

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
        self.prefetch(pending_worker_items(self.config))

    def answers_for(self, item: PromptItem) -> list[ProviderResponse]:
        plan = item.plan
        if plan.target.provider == "reference" and plan.case.reference_output is None:
            pytest.skip("no reference answer: add `output:` to this case to use the `reference` model")
        problem = self.providers.config_error(plan.target)
        if problem:
            self._provider_failed(plan, problem)
        return self._fetch(plan, range(plan.repeat))

    def _fetch(self, plan: ItemPlan, indices: range) -> list[ProviderResponse]:
        pool = self._pool()
        requests = [plan.request(i) for i in indices]
        # Replayed right here: handing 20,000 replays to pool threads only made them fight the
        # item loop for the GIL.
        replayed = [self.providers.replay(r) for r in requests]
        for request, answer in zip(requests, replayed):  # the rest in flight at once; the pool may have them already
            if answer is None:
                pool.submit(request)
        outcomes = [a if a is not None else pool.result(r, while_waiting=self._waiting) for r, a in zip(requests, replayed)]
        for request in requests:
            pool.forget(request)
        for outcome in outcomes:
            if isinstance(outcome, CostLimitReached):
                pytest.skip(str(outcome))
            if isinstance(outcome, ProviderError):
                self._provider_failed(plan, str(outcome))
        return [o for o in outcomes if isinstance(o, ProviderResponse)]

    @property
    def _waiting(self) -> Any:
        return self._feed_worker_queue if self.is_worker else None

    def evaluate(self, item: PromptItem) -> None:
        """Judge the answers during setup, so a judge that fails is an ERROR like a model that fails;
        under ``--repeat auto`` draw more samples while the verdict against the baseline is open."""
        plan = item.plan
        targets = JudgeTargets.from_settings(self.settings)
        grader = Grader(targets, self.providers, self._pool(), plan.key, self._waiting) if targets else None
        graders = {"judge_fn": grader.chat, "embed_fn": grader.embed} if grader else {}
        try:
            verdict = judge(plan, item.samples, **graders)
            while plan.repeat_max and verdict.n:
                target = next_sample_size(self._baseline_for(plan.key), verdict.passed_count, verdict.n, plan.repeat_max, self.settings.alpha)
                if target <= verdict.n:
                    break
                verdict = judge(plan, self._fetch(plan, range(verdict.n, target)), previous=verdict.samples, **graders)
        except CheckError as exc:
            problem = str(exc)
        else:
            problem = None
        if problem is not None:  # outside the except block: no chained traceback in the report
            pytest.fail(format_failure(plan, GradingFailure(problem)), pytrace=False)
        verdict.judge_cost = grader.cost if grader else None
        item.verdict = verdict  # type: ignore[attr-defined]

    def _baseline_for(self, key: str) -> Counts | None:
        if self._baseline_counts is None:
            # The run this one will be compared with, as the report will pick it (see RunLog.finish).
            probe = {"run_id": self.runlog.run_id, "started_at": utc_now(), "models": list(self.settings.models or [])}
            try:
                baseline = resolve_baseline(self.settings.baseline, self.settings.report_path, probe)
            except RunFileError:
                baseline = None  # RunLog reports an unusable baseline once, at the end
            counts = ((i["key"], record_counts(i)) for i in (baseline or {}).get("items", ()))
            self._baseline_counts = {key: c for key, c in counts if c is not None}
        return self._baseline_counts.get(key)

    @staticmethod
    def _provider_failed(plan: ItemPlan, message: str) -> NoReturn:
        # pytest.fail without a traceback: the setup ERROR shows only the provider's message.
        pytest.fail(format_failure(plan, ProviderFailure(message)), pytrace=False)

    def judge(self, item: PromptItem) -> None:
        verdict: Verdict = item.verdict  # type: ignore[attr-defined]
        if not verdict.passed:
            raise ItemFailure(verdict)
        if not verdict.has_real_checks:
            reasons = "; ".join(r.reason for r in verdict.skipped_checks) or "no checks declared for this case"
            pytest.skip(f"nothing to check: {reasons}")

    # -- hooks ---------------------------------------------------------------------------------

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A broken prompt file is one error among many prompts, not a reason to run nothing:
        # the other prompts still run, and the session still exits non-zero.
        if report.failed and self.catalog.is_prompt_file(self.config.rootpath / report.nodeid.split("::")[0]):
            self.config.option.continue_on_collection_errors = True

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        plan = getattr(item, "plan", None)
        if isinstance(plan, ItemPlan) and not plan.skip_reason:
            self.warm_call_process([plan.target])

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        if session.config.option.collectonly or self.is_xdist_controller:
            return
        if self.config.getoption("batch"):
            self.batches = run_for_session(self, session.items)
        if self.is_worker:
            self._feed_worker_queue()
        else:
            self.prefetch(session.items)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        outcome = yield
        from promptcheck.pytest_plugin.items import PromptItem

        report: pytest.TestReport = outcome.get_result()
        if not isinstance(item, PromptItem):
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            record = scrubbed(self._record(item, report, call), self.runlog.secrets)
            report.user_properties.append(("promptcheck", record))
            # The record holds what is kept; answers and verdicts of 20,000 items need not stay.
            item.__dict__.pop("samples", None)
            item.__dict__.pop("verdict", None)

    def _record(self, item: PromptItem, report: pytest.TestReport, call: pytest.CallInfo[None]) -> dict[str, Any]:
        verdict = getattr(item, "verdict", None)
        error = skip_reason = None
        if report.when == "setup" and report.failed:
            status = "error"
            error = str(getattr(call.excinfo.value, "msg", call.excinfo.value)) if call.excinfo else "setup failed"
        elif verdict is not None:
            status = "pass" if verdict.passed and verdict.has_real_checks else ("skip" if verdict.passed else "fail")
        elif report.skipped:
            status = "skip"
        else:
            status = "error"
            error = str(call.excinfo.value) if call.excinfo else None
        if status == "skip" and call.excinfo is not None:
            skip_reason = str(getattr(call.excinfo.value, "msg", call.excinfo.value))
        if getattr(report, "wasxfail", None) is not None and report.skipped:
            # A deliberately bad answer that was rejected: not a failure of the model under test.
            status, skip_reason = "skip", f"expected failure: {item.plan.xfail_reason}"
        elif report.failed and status == "pass":  # strict xfail that passed: the check stopped rejecting
            status, error = "fail", f"expected to fail ({item.plan.xfail_reason}) but passed"
        return build_record(item.plan, item.nodeid, status, verdict, error, skip_reason)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        for name, value in report.user_properties:
            if name == "promptcheck":
                self.models_seen.setdefault(value["model"])
                self.runlog.add(value)
        # Delivered (it only rides on the report to reach the process that records, under
        # xdist). pytest keeps every report until it exits; the run record has the item now.
        report.user_properties = [prop for prop in report.user_properties if prop[0] != "promptcheck"]
        if report.failed and self.pool is not None and self.config.getoption("maxfail", 0) == 1:
            self.pool.cancel_pending()  # -x: stop paying for answers nobody will look at
            self.providers.cancel_queued_calls()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.stores_runs:
            self.runlog.enable(self.config)
        self.warm_call_process(resolve_target(label, self.settings) for label in self.settings.models or ())

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from promptcheck.pytest_plugin.items import PromptItem

        self.has_prompt_items = any(isinstance(item, PromptItem) for item in session.items)
        if self.has_prompt_items:
            gcfreeze.freeze()  # the items and their plans live to the end

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.runlog.deselected += len(items)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.pool is not None:
            self.pool.shutdown()
        store = self.providers.cassettes
        if self.is_worker:
            self.config.workeroutput["promptcheck_cassettes_used"] = store.used_keys()  # type: ignore[attr-defined]
        else:
            store.mark_used({path: sorted(keys) for path, keys in self.cassettes_used.items()})
        self.providers.close()
        if self.stores_runs:
            extra = {
                "models": list(self.models_seen),
                "cassettes_unused": len(store.unused_entries()),
                # What `promptcheck cassettes prune` keeps; paths relative to the cassette directory.
                "cassettes_used": store.used_keys(relative=True),
            }
            store.unload()
            self.runlog.finish(session, exitstatus, extra)
        if self.has_prompt_items or self.runlog.recorder is not None:
            gcfreeze.freeze()  # pytest's reports live to the end; its unconfigure walks them five times

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        lines = list(self.providers.errors().values())  # each message names its model already
        header = self.runlog.recorder.header if self.runlog.recorder else {}
        unused = header.get("cassettes_unused")
        # After -k/-m/-x the other items' entries look unused too, and prune refuses such a run.
        if unused and not header.get("selected_only"):
            lines.append(f"{unused} cassette entries were not used by this run; `promptcheck cassettes prune` removes them")
        lines += self.runlog.summary_lines()
        if lines:
            terminalreporter.write_sep("-", "promptcheck")
            for line in lines:
                terminalreporter.write_line(line)


class XdistHooks:
    """Registered only when pytest-xdist is active (the syrupy pattern): hooks xdist defines."""

    def __init__(self, state: PromptcheckSession) -> None:
        self.state = state

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["promptcheck_run_id"] = self.state.runlog.run_id

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        used = getattr(node, "workeroutput", {}).get("promptcheck_cassettes_used", {})
        for path, keys in used.items():
            self.state.cassettes_used.setdefault(path, set()).update(keys)


def get_session(config: pytest.Config) -> PromptcheckSession:
    return config.stash[SESSION_KEY]
