"""A conversation item: the model answers each turn in order, and its answer (or the turn's fixed
reply) joins the thread before the next turn, so later turns see what the model really said.

Each call is an ordinary request whose messages are the whole thread so far: a cassette keys on
them, so an earlier answer that changed misses the cache for every later turn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from promptcheck.checks.base import CheckError, EmbedFn, JudgeFn, WebhookFn
from promptcheck.checks.evaluate import CheckResult, Evaluation, evaluate
from promptcheck.checks.scoring import rescore
from promptcheck.engine.grading import GradedAnswer, GradedTurn
from promptcheck.engine.plan import ItemPlan, TurnPlan, thread_messages
from promptcheck.formats.templating import TemplateError
from promptcheck.providers.base import ProviderRequest, ProviderResponse, Usage
from promptcheck.runs.record import turn_title

Messages = tuple[tuple[str, str], ...]


class TurnNotAnswered(Exception):
    """Turn ``index`` got no answer (a provider error, a spent budget, a prompt that cannot render)."""

    def __init__(self, index: int, user: str, cause: Exception) -> None:
        super().__init__(f"{turn_title(index, user)}: {cause}")
        self.index = index
        self.cause = cause


def converse(
    plan: ItemPlan,
    repeat_index: int,
    ask: Callable[[ProviderRequest], ProviderResponse],
    *,
    judge: JudgeFn | None = None,
    embed: EmbedFn | None = None,
    webhook: WebhookFn | None = None,
) -> GradedAnswer:
    """Run the whole conversation once; ``ask`` answers one request or raises. Every turn is
    graded even after one fails, so a failure shows all that went wrong."""
    thread: list[tuple[str, str]] = list(plan.messages)
    history: list[dict[str, Any]] = []  # promptfoo's _conversation: earlier {prompt, input, output}
    turns: list[GradedTurn] = []
    for index, turn in enumerate(plan.turns):
        messages, user = _messages(plan, turn, thread, history, index)
        if turn.reply is not None:
            thread += [("user", user), ("assistant", turn.reply)]
            turns.append(GradedTurn(index, user, turn.reply, None, None))
            continue
        try:
            response = ask(plan.request(repeat_index, messages, turn))
        except Exception as exc:  # the engine says what it was; here it only gains the turn's name
            raise TurnNotAnswered(index, user, exc) from None
        # A turn's context is rendered once per case; what differs per model comes from the plan's.
        context = replace(turn.context, messages=messages, latency_s=response.latency_s, cost=response.cost,
                          finish_reason=response.finish_reason, replayed=response.replayed,
                          judge=judge, embed=embed, webhook=webhook, tool_calls=response.tool_calls,
                          tools=plan.context.tools, response_schema=plan.context.response_schema,
                          model_extension=plan.context.model_extension)
        try:
            evaluation = evaluate(turn.checks, response.text, context, plan.case.threshold)
            evaluation = rescore(plan.case.scoring, turn.checks, evaluation, context, plan.case.threshold)
        except CheckError as exc:  # still an ERROR (no verdict), now naming its turn
            raise CheckError(f"{turn_title(index, user)}: {exc}") from None
        thread = [*messages, ("assistant", response.text)]
        history.append({"prompt": _prompt_of(messages), "input": user, "output": response.text})
        turns.append(GradedTurn(index, user, response.text, response, evaluation))
    return GradedAnswer(repeat_index, _overall_response(turns), _overall_evaluation(turns), tuple(turns))


def _messages(
    plan: ItemPlan, turn: TurnPlan, thread: list[tuple[str, str]], history: list[dict[str, Any]], index: int
) -> tuple[Messages, str]:
    if turn.user is not None:
        return (*thread, ("user", turn.user)), turn.user
    try:  # promptfoo: the prompt renders the whole thread from _conversation
        messages = thread_messages(plan.spec, {**turn.variables, "_conversation": list(history)})
    except TemplateError as exc:
        raise TurnNotAnswered(index, "", Exception(f"cannot render this turn: {exc}")) from None
    return messages, messages[-1][1] if messages else ""


def _prompt_of(messages: Messages) -> Any:
    """promptfoo's ``prompt`` of a completed turn: the rendered text, or the chat messages."""
    if len(messages) == 1 and messages[0][0] == "user":
        return messages[0][1]
    return [{"role": role, "content": content} for role, content in messages]


def _overall_evaluation(turns: list[GradedTurn]) -> Evaluation:
    """The item's verdict: it passes when every answered turn passes. Check names say their turn."""
    graded = [t for t in turns if t.evaluation is not None]
    results: list[CheckResult] = []
    for turn in graded:
        assert turn.evaluation is not None
        results += [replace(r, name=f"turn {turn.index + 1}: {r.name}") for r in turn.evaluation.results]
    scores = [t.evaluation.score for t in graded if t.evaluation is not None]
    return Evaluation(all(t.passed for t in graded), sum(scores) / len(scores) if scores else 0.0, results)


def _overall_response(turns: list[GradedTurn]) -> ProviderResponse:
    """The answers of all turns as one: the last answer's text, the calls' tokens, time and cost summed."""
    responses = [t.response for t in turns if t.response is not None]
    last = responses[-1]

    def total(values: list[Any]) -> Any:
        present = [v for v in values if v is not None]
        return sum(present) if present else None

    usage = Usage(total([r.usage.input_tokens for r in responses]), total([r.usage.output_tokens for r in responses]))
    return replace(last, usage=usage, latency_s=sum(r.latency_s for r in responses), cost=total([r.cost for r in responses]),
                   replayed=all(r.replayed for r in responses))
