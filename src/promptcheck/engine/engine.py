"""The engine: one ``ItemPlan`` in, one ``ItemResult`` out.

It owns the call pool, asks the providers (through cassettes) for each item's answers, grades
them, draws more answers under ``--repeat auto`` while the verdict against the baseline is open,
and says what the item came to. It knows nothing of pytest: the pytest adapter maps an
``ItemResult`` to a test outcome, and hands in what only it knows (how to wait usefully, how to
show progress, the baseline's pass counts)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from promptcheck.checks.base import CheckError
from promptcheck.config import Settings
from promptcheck.engine.conversation import TurnNotAnswered, converse
from promptcheck.engine.grading import Grades, grade_answers
from promptcheck.engine.judge import JudgeCalls, JudgeTargets
from promptcheck.engine.plan import ItemPlan
from promptcheck.engine.pool import CallPool, CostLimitReached
from promptcheck.engine import toolsim
from promptcheck.engine.results import item_result
from promptcheck.engine.webhook import WebhookCalls
from promptcheck.providers.base import ProviderError, ProviderRequest, ProviderResponse
from promptcheck.providers.batch.runner import BatchResults, run_batches
from promptcheck.providers.factory import ProviderFactory
from promptcheck.runs.record import ItemResult, Status
from promptcheck.runs.stats import Counts, next_sample_size

PoolFactory = Callable[[Callable[[ProviderRequest], ProviderResponse], Callable[[ProviderRequest], bool] | None], CallPool]
NO_REFERENCE = "no reference answer: add `output:` to this case to use the `reference` model"
NO_REFERENCE_TURN = "no reference answer for turn {number}: add `output:` to each turn the model answers to use the `reference` model"


class _NotAnswered(Exception):
    """An item gets no (more) answers: skipped (``--max-cost`` spent) or an error, and why."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status

    def result(self, plan: ItemPlan) -> ItemResult:
        if self.status == "skip":
            return item_result(plan, "skip", skip_reason=str(self))
        return item_result(plan, "error", error=str(self))


@dataclass
class Engine:
    settings: Settings
    providers: ProviderFactory
    make_pool: PoolFactory
    # The baseline's (passed, n) of a key, for --repeat auto; None when it has none.
    baseline_counts: Callable[[str], Counts | None] = lambda key: None
    # Called while an item waits for answers (an xdist worker feeds its queue of calls meanwhile).
    while_waiting: Callable[[], None] | None = None
    pool: CallPool | None = None
    batches: BatchResults | None = None  # --batch: what the batches could not answer

    # -- calls ahead of the item loop -----------------------------------------------------------------

    def requests(self, plans: Iterable[ItemPlan]) -> Iterator[ProviderRequest]:
        """Every model call the plans will make (one per repeat), of models that can be called."""
        for plan in plans:
            if not plan.skip_reason and not plan.unrenderable and not self.providers.config_error(plan.target):
                yield from plan.requests()

    def prefetch(self, plans: Iterable[ItemPlan]) -> None:
        """Issue the calls now, up to ``concurrency`` at once; items then wait only for their own."""
        pool = self._pool()
        for request in self.requests(plans):
            if not self.providers.replays(request):  # a recorded answer needs no pool thread
                pool.submit(request)

    def send_batches(self, plans: Iterable[ItemPlan], state_dir: Path, run_id: str, progress: Callable[[str], None]) -> BatchResults:
        """``--batch``: record every due call through the providers' Batch APIs first."""
        self.batches = run_batches(self.requests(plans), self.providers, state_dir, run_id=run_id, progress=progress)
        return self.batches

    def cancel_pending(self) -> None:
        """After ``-x``: stop paying for answers nobody will look at."""
        if self.pool is not None:
            self.pool.cancel_pending()
        self.providers.cancel_queued_calls()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    # -- one item -------------------------------------------------------------------------------------

    def run(self, plan: ItemPlan) -> ItemResult:
        if plan.unrenderable:
            return item_result(plan, "error", error=plan.unrenderable)
        if plan.target.provider == "reference" and (missing := _missing_reference(plan)):
            return item_result(plan, "skip", skip_reason=missing)
        problem = self.providers.config_error(plan.target)
        if problem:
            return item_result(plan, "error", error=f"provider error: {problem}")
        judge = self._judge_calls(plan)
        try:
            grades = self._grade(plan, judge)
        except _NotAnswered as why:
            return why.result(plan)
        judge_cost = judge.cost if judge else None
        if not grades.passed:
            return item_result(plan, "fail", grades, judge_cost=judge_cost)
        if not grades.has_real_checks:
            reasons = "; ".join(r.reason for r in grades.skipped_checks) or "no checks declared for this case"
            return item_result(plan, "skip", grades, skip_reason=f"nothing to check: {reasons}", judge_cost=judge_cost)
        return item_result(plan, "pass", grades, judge_cost=judge_cost)

    def _grade(self, plan: ItemPlan, judge: JudgeCalls | None) -> Grades:
        graders: dict[str, object] = {"webhook": WebhookCalls(self.providers.webhook(), plan.key)}
        if judge:
            graders.update(judge=judge.chat, embed=judge.embed)
        try:
            grades = self._sample(plan, range(plan.repeat), graders, None)
            while plan.repeat_max and grades.n:
                wanted = next_sample_size(
                    self.baseline_counts(plan.key), grades.passed_count, grades.n, plan.repeat_max, self.settings.alpha
                )
                if wanted <= grades.n:
                    break
                grades = self._sample(plan, range(grades.n, wanted), graders, grades)
        except CheckError as exc:  # a judge that failed or answered nonsense, a webhook verdict not recorded: no verdict at all
            raise _NotAnswered("error", str(exc)) from None
        return grades

    def _sample(self, plan: ItemPlan, indices: range, graders: dict[str, object], previous: Grades | None) -> Grades:
        """The answers of repeats ``indices``, graded after ``previous``; a conversation's repeat
        is the whole conversation, its turns asked one after another."""
        if not plan.turns:
            return grade_answers(plan, self._answers(plan, indices), previous=previous, **graders)  # type: ignore[arg-type]
        try:
            answers = [converse(plan, i, self._asker(plan), **graders) for i in indices]  # type: ignore[arg-type]
        except TurnNotAnswered as turn:
            status = turn.cause.status if isinstance(turn.cause, _NotAnswered) else "error"
            raise _NotAnswered(status, str(turn)) from None
        return Grades((*(previous.answers if previous else ()), *answers), plan.pass_rate)

    def _ask(self, request: ProviderRequest) -> ProviderResponse:
        return self._call([request])[0]

    def _asker(self, plan: ItemPlan) -> Callable[[ProviderRequest], ProviderResponse]:
        """How a conversation's turn is answered: with simulated tools, each turn's answer is the
        end of its own agent loop, and that last answer joins the thread."""
        if not toolsim.simulated(plan):
            return self._ask
        rootdir, timeout_s = self.settings.rootdir, self.settings.timeout_s
        return lambda request: toolsim.run_rounds(plan, request, self._ask(request), self._ask, rootdir, timeout_s)

    def _answers(self, plan: ItemPlan, indices: range) -> list[ProviderResponse]:
        requests = [plan.request(i) for i in indices]
        answers = self._call(requests)
        if toolsim.simulated(plan):  # the agent loop: each further round is one more call
            try:
                answers = [toolsim.run_rounds(plan, r, a, self._ask, self.settings.rootdir, self.settings.timeout_s)
                           for r, a in zip(requests, answers)]
            except ProviderError as exc:  # a tool function that failed
                raise _NotAnswered("error", f"provider error: {exc}") from None
        return answers

    def _call(self, requests: list[ProviderRequest]) -> list[ProviderResponse]:
        pool = self._pool()
        # Replayed right here: handing 20,000 replays to pool threads only made them fight the
        # item loop for the GIL. A call the pool has (prefetched) is waited for even once its
        # answer is in the cassette: the pool settles its cost with --max-cost just after that.
        replayed = [None if pool.submitted(r) else self._replay(r) for r in requests]
        for request, answer in zip(requests, replayed):  # the rest in flight at once; the pool may have them already
            if answer is None:
                pool.submit(request)
        outcomes = [a if a is not None else pool.result(r, while_waiting=self.while_waiting) for r, a in zip(requests, replayed)]
        for request in requests:
            pool.forget(request)
        for outcome in outcomes:
            if isinstance(outcome, CostLimitReached):
                raise _NotAnswered("skip", str(outcome))
            if isinstance(outcome, ProviderError):
                raise _NotAnswered("error", f"provider error: {outcome}")
        answers = [o for o in outcomes if isinstance(o, ProviderResponse)]
        return answers

    def _replay(self, request: ProviderRequest) -> ProviderResponse | ProviderError | None:
        try:
            return self.providers.replay(request)
        except ProviderError as exc:  # an unreadable cassette: this item's error, not the run's
            return exc

    def _judge_calls(self, plan: ItemPlan) -> JudgeCalls | None:
        targets = JudgeTargets.from_settings(self.settings)
        return JudgeCalls(targets, self.providers, self._pool(), plan.key, self.while_waiting) if targets else None

    def _pool(self) -> CallPool:
        if self.pool is None:
            call = self.batches.wrap(self.providers.call) if self.batches else self.providers.call
            queues_elsewhere = None if self.batches else self.providers.queues_in_call_process
            self.pool = self.make_pool(call, queues_elsewhere)
        return self.pool


def _missing_reference(plan: ItemPlan) -> str | None:
    """Why the ``reference`` model cannot answer ``plan``: a case, or an answered turn, without ``output:``."""
    if not plan.turns:
        return NO_REFERENCE if plan.case.reference_output is None else None
    unanswered = [i for i, turn in enumerate(plan.turns, 1) if turn.reply is None and turn.reference_output is None]
    return NO_REFERENCE_TURN.format(number=unanswered[0]) if unanswered else None
