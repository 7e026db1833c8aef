"""Providers that never touch the network: echo, reference and python:module:function."""

from __future__ import annotations

import importlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from promptcheck.providers.base import (
    ProviderConfigError,
    ProviderError,
    ProviderRequest,
    ProviderResponse,
    Usage,
)


@dataclass
class EchoProvider:
    """Answers with the rendered last user message: shows exactly what a model would receive."""

    label: str = "echo"

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        user = [content for role, content in request.messages if role == "user"]
        return ProviderResponse(text=user[-1] if user else "", usage=Usage(0, 0), cost=0.0)


@dataclass
class ReferenceProvider:
    """Answers with the case's own ``output:``, so checks can be proven against known answers."""

    label: str = "reference"

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        if request.reference_output is None:
            raise ProviderError(
                f"{request.item_id or 'this case'} has no reference answer: add `output:` to the case "
                "to use the `reference` model"
            )
        return ProviderResponse(text=request.reference_output, usage=Usage(0, 0), cost=0.0)


class PythonProvider:
    """``python:package.module:function`` — the function gets the ProviderRequest and returns
    a string, or a dict with ``text`` (and optionally ``input_tokens``, ``output_tokens``, ``cost``)."""

    def __init__(self, label: str, rootdir: Path) -> None:
        self.label = label
        target = label.split(":", 1)[1] if ":" in label else ""
        module_name, _, function_name = target.partition(":")
        if not module_name or not function_name:
            raise ProviderConfigError(f"python provider '{label}' must look like python:package.module:function")
        if str(rootdir) not in sys.path:
            sys.path.insert(0, str(rootdir))  # user modules live next to their prompts
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise ProviderConfigError(f"python provider '{label}': cannot import {module_name}: {type(exc).__name__}: {exc}") from None
        function = getattr(module, function_name, None)
        if not callable(function):
            raise ProviderConfigError(f"python provider '{label}': {module_name} has no function {function_name}")
        self._function: Callable[[ProviderRequest], Any] = function

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        started = time.perf_counter()
        try:
            result = self._function(request)
        except Exception as exc:
            raise ProviderError(f"{self.label} raised {type(exc).__name__}: {exc}") from None
        latency = time.perf_counter() - started
        if isinstance(result, str):
            return ProviderResponse(text=result, latency_s=latency)
        if isinstance(result, dict) and isinstance(result.get("text"), str):
            return ProviderResponse(
                text=result["text"],
                usage=Usage(result.get("input_tokens"), result.get("output_tokens")),
                latency_s=latency,
                cost=result.get("cost"),
            )
        raise ProviderError(f"{self.label} must return a string or a dict with 'text', got {type(result).__name__}")
