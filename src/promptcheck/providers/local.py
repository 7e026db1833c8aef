"""Providers that never touch the network: echo, reference and python:module:function."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from promptcheck.providers.base import (
    ProviderConfigError,
    ProviderError,
    ProviderRequest,
    ProviderResponse,
    Usage,
)
from promptcheck.providers.tools import calls_from_data
from promptcheck.usercode import pyworker
from promptcheck.usercode.limits import LimitExceeded
from promptcheck.usercode.pyfunctions import ModuleFunction, ScriptError


@dataclass
class EchoProvider:
    """Answers with the rendered last user message: shows exactly what a model would receive."""

    label: str = "echo"

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        user = [content for role, content in request.messages if role == "user"]
        return ProviderResponse(text=user[-1] if user else "", usage=Usage(0, 0), cost=0.0)


@dataclass
class ReferenceProvider:
    """Answers with the case's own ``output:``, so checks can be proven against known answers.
    An output that calls tools makes its calls once; given their results it answers its text."""

    label: str = "reference"

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        answer = request.reference_output
        if answer is None:
            raise ProviderError(
                f"{request.item_id or 'this case'} has no reference answer: add `output:` to the case "
                "to use the `reference` model"
            )
        calls = () if request.tool_rounds else answer.tool_calls
        return ProviderResponse(text=answer.text, tool_calls=calls, usage=Usage(0, 0), cost=0.0)


# The least time a python: provider's module gets to import, whatever timeout_s a call has.
IMPORT_TIMEOUT_S = 30.0


class PythonProvider:
    """``python:package.module:function`` — the function gets the ProviderRequest and returns
    a string, or a dict with ``text`` (and optionally ``input_tokens``, ``output_tokens``, ``cost``,
    and ``tool_calls``: a list of ``{name, arguments}``, the arguments an object or its JSON text).

    It runs in a worker process of its own (usercode.pyworker), on a thread per call as the pool
    calls it, so a function that never returns costs one item ``timeout_s`` instead of the run."""

    def __init__(self, label: str, rootdir: Path, timeout_s: float, function_ref: str | None = None) -> None:
        """``function_ref``: ``module:function``, when the label is not ``python:module:function``
        itself (a file's own model label that ``model_map`` sends to a python: provider)."""
        self.label = label
        self.timeout_s = timeout_s
        target = function_ref if function_ref is not None else label.split(":", 1)[1] if ":" in label else ""
        module_name, _, function_name = target.partition(":")
        if not module_name or not function_name:
            raise ProviderConfigError(f"python provider '{label}' must look like python:package.module:function")
        if str(rootdir) not in sys.path:
            sys.path.insert(0, str(rootdir))  # user modules live next to their prompts; the worker gets our sys.path
        self._function = ModuleFunction(module_name, function_name)
        self._worker = pyworker.shared(f"provider {label}")
        # Imported now, so a wrong name is this model's config error before any call. The import
        # (a new worker process, the user's SDKs) may take longer than one call is allowed.
        import_budget_s = max(timeout_s, IMPORT_TIMEOUT_S)
        try:
            self._worker.resolve(self._function, timeout_s=import_budget_s, what=f"importing {module_name} for {label}", setting="timeout_s")
        except (ScriptError, LimitExceeded, pyworker.UserCodeError) as exc:
            raise ProviderConfigError(f"python provider '{label}': {exc}") from None

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        started = time.perf_counter()
        try:
            result = self._worker.call(self._function, (request,), timeout_s=self.timeout_s, what=self.label, setting="timeout_s")
        except (ScriptError, LimitExceeded) as exc:
            raise ProviderError(str(exc) if isinstance(exc, LimitExceeded) else f"{self.label}: {exc}") from None
        except pyworker.UserCodeError as exc:
            raise ProviderError(f"{self.label} raised {type(exc).__name__}: {exc}") from None
        latency = time.perf_counter() - started
        if isinstance(result, str):
            return ProviderResponse(text=result, latency_s=latency)
        if isinstance(result, dict) and isinstance(result.get("text"), str):
            try:
                tool_calls = calls_from_data(result.get("tool_calls"))
            except ValueError as exc:
                raise ProviderError(f"{self.label} returned a bad 'tool_calls': {exc}") from None
            return ProviderResponse(
                tool_calls=tool_calls,
                text=result["text"],
                usage=Usage(result.get("input_tokens"), result.get("output_tokens")),
                latency_s=latency,
                cost=result.get("cost"),
            )
        raise ProviderError(f"{self.label} must return a string or a dict with 'text', got {type(result).__name__}")
