"""The one interface every provider implements, and the request/response it speaks."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

# ToolCall is spec's (cases write them in reference answers); providers speak it too.
from promptcheck.spec import ReferenceAnswer, ToolCall as ToolCall

from .parts import Parts, canonical_parts


@dataclass(frozen=True)
class ProviderRequest:
    """A fully rendered call. ``canonical()`` is what cassettes key on."""

    provider: str  # provider type: openai, anthropic, github, compatible, echo, python, reference
    model: str  # the model name the API sees, e.g. gpt-4o
    label: str  # the user-visible model label, e.g. openai:gpt-4o (part of item ids)
    messages: tuple[tuple[str, str], ...]  # (role, rendered content)
    params: Mapping[str, Any] = field(default_factory=dict)
    response_format: Mapping[str, Any] | None = None
    repeat_index: int = 0
    # Not part of the key: the reference provider answers with the case's (or turn's) ``output``.
    reference_output: ReferenceAnswer | None = None
    item_id: str = ""
    # Declared tools in OpenAI function form, and the tool_choice as written (providers/tools.py
    # converts both for Anthropic).
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: Any = None
    # Earlier rounds of a simulated agent loop, sent after ``messages``; each round is its own call.
    tool_rounds: tuple[ToolRound, ...] = ()
    # Messages whose content is a list of parts (text and images): message index -> its parts.
    # Their text stays in ``messages`` too; keyed only when present, so older keys stay valid.
    parts: Parts = ()

    def canonical(self) -> dict[str, Any]:
        canonical: dict[str, Any] = {
            "provider": self.provider,
            "model": self.model,
            "params": dict(sorted(self.params.items())),
            "response_format": self.response_format,
            "messages": [list(m) for m in self.messages],
            "repeat_index": self.repeat_index,
        }
        # Only when present: every request without tools keeps the key it always had.
        if self.tools:
            canonical["tools"] = [dict(t) for t in self.tools]
        if self.tool_choice is not None:
            canonical["tool_choice"] = self.tool_choice
        if self.tool_rounds:
            canonical["tool_rounds"] = [
                {"text": r.text, "calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in r.calls], "results": list(r.results)}
                for r in self.tool_rounds
            ]
        if self.parts:
            canonical["parts"] = canonical_parts(self.parts)
        return canonical

    def key(self) -> str:
        # Asked for by the pool and the cassettes several times per call: hash once per request.
        cached: str | None = self.__dict__.get("_key")
        if cached is None:
            blob = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, default=str)
            cached = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
            object.__setattr__(self, "_key", cached)  # frozen dataclass; not a field, so eq/hash ignore it
        return cached


@dataclass(frozen=True)
class ToolRound:
    """One simulated exchange of an agent loop (engine/toolsim.py): the calls the model made, with
    the text it said beside them, and the results it is given back, one per call."""

    calls: tuple[ToolCall, ...]
    results: tuple[str, ...]
    text: str = ""


def response_schema(response_format: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The JSON Schema of an OpenAI-style ``response_format`` (``{"type": "json_schema",
    "json_schema": {"name": ..., "schema": {...}}}``), or None for text and bare JSON mode."""
    if not response_format or response_format.get("type") != "json_schema":
        return None
    wrapper = response_format.get("json_schema")
    schema = wrapper.get("schema") if isinstance(wrapper, Mapping) else None
    return schema if isinstance(schema, Mapping) else None


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class ProviderResponse:
    text: str
    usage: Usage = Usage()
    latency_s: float = 0.0
    cost: float | None = None
    raw_meta: Mapping[str, Any] = field(default_factory=dict)
    replayed: bool = False
    finish_reason: str | None = None  # normalised: stop, length, content_filter, tool_calls, or as given
    tool_calls: tuple[ToolCall, ...] = ()  # next to the text, in the order the model made them


class ProviderError(Exception):
    """A call failed for good (after retries). The item becomes an ERROR showing this message."""


class ProviderConfigError(Exception):
    """A provider cannot be used as configured (missing key, unknown type); raised before any call."""


class Provider(Protocol):
    # Read-only: wrappers (RateLimited, RemoteProvider) pass their inner provider's label through.
    @property
    def label(self) -> str: ...

    def complete(self, request: ProviderRequest) -> ProviderResponse: ...
