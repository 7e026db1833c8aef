"""Simulated tools: a case gives each tool's result, and the agent loop runs offline.

When an answer calls tools and its case has ``tool_results``, each call gets its tool's result
(a fixed value, or what ``python:module:function`` returns for ``(name, arguments)``), and the
model is asked again with the rounds so far (``ProviderRequest.tool_rounds``), until it answers
without calling a tool or ``max_tool_rounds`` extra calls were made. Each call is its own
cassette entry, keyed by the conversation so far. The item is graded on the last answer's text
and on every call of every round, in order; usage, cost and latency add up."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from promptcheck.engine.plan import ItemPlan
from promptcheck.formats.tooldecl import DEFAULT_TOOL_ROUNDS
from promptcheck.providers.base import ProviderError, ProviderRequest, ProviderResponse, ToolCall, ToolRound, Usage
from promptcheck.usercode import pyworker
from promptcheck.usercode.limits import LimitExceeded
from promptcheck.usercode.pyfunctions import ModuleFunction, ScriptError

Answer = Callable[[ProviderRequest], ProviderResponse]


def simulated(plan: ItemPlan) -> bool:
    return bool(plan.case.tool_results)


def run_rounds(plan: ItemPlan, request: ProviderRequest, response: ProviderResponse, answer: Answer, rootdir: Path, timeout_s: float) -> ProviderResponse:
    """The answer at the end of the loop that ``response`` (to ``request``) starts."""
    limit = plan.case.max_tool_rounds or DEFAULT_TOOL_ROUNDS
    calls = list(response.tool_calls)
    responses = [response]
    while response.tool_calls and len(responses) <= limit:
        results = tuple(result_for(plan, call, rootdir, timeout_s) for call in response.tool_calls)
        request = replace(request, tool_rounds=request.tool_rounds + (ToolRound(response.tool_calls, results, response.text),))
        response = answer(request)
        responses.append(response)
        calls += response.tool_calls
    return replace(
        response,
        tool_calls=tuple(calls),
        usage=Usage(_total(r.usage.input_tokens for r in responses), _total(r.usage.output_tokens for r in responses)),
        latency_s=sum(r.latency_s for r in responses),
        cost=_total(r.cost for r in responses),
        replayed=all(r.replayed for r in responses),
    )


def result_for(plan: ItemPlan, call: ToolCall, rootdir: Path, timeout_s: float) -> str:
    """The text the model gets back for ``call``. A tool the case gives no result for answers
    with an error object, as a real tool runner would, so the loop goes on."""
    given = plan.case.tool_results
    if call.name not in given:
        return json.dumps({"error": f"no simulated result for tool {call.name!r} (tool_results gives: {', '.join(given)})"})
    value = given[call.name]
    if isinstance(value, str) and value.startswith("python:"):
        value = _call_function(value, call, rootdir, timeout_s)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _call_function(target: str, call: ToolCall, rootdir: Path, timeout_s: float) -> Any:
    module_name, function_name = target.removeprefix("python:").split(":", 1)
    if str(rootdir) not in sys.path:
        sys.path.insert(0, str(rootdir))  # the user's modules live next to their prompts
    try:
        arguments: Any = json.loads(call.arguments or "{}")
    except ValueError:
        arguments = call.arguments
    what = f"tool {call.name} ({target})"
    try:
        return pyworker.shared(f"tool {target}").call(
            ModuleFunction(module_name, function_name), (call.name, arguments), timeout_s=timeout_s, what=what, setting="timeout_s"
        )
    except (ScriptError, LimitExceeded) as exc:
        raise ProviderError(str(exc) if isinstance(exc, LimitExceeded) else f"{what}: {exc}") from None
    except pyworker.UserCodeError as exc:
        raise ProviderError(f"{what} raised {type(exc).__name__}: {exc}") from None


def _total(values: Any) -> Any:
    present = [v for v in values if v is not None]
    return sum(present) if present else None
