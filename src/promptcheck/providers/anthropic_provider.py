"""Anthropic Messages through the official SDK."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from .answer_shape import field, json_answer
from .base import ProviderRequest, ToolCall, Usage, response_schema
from .parts import wire_messages
from .sdk_common import SDKProvider, pick, resolve_api_key
from .tools import anthropic_round_messages, anthropic_tool_args, anthropic_tool_calls

ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 1024  # the Messages API has no default and rejects calls without one


def messages_params(request: ProviderRequest, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
    """Messages API arguments for a rendered request (everything but the model)."""
    params = request.params
    system = [content for role, content in request.messages if role == "system"]
    kwargs: dict[str, Any] = {
        "max_tokens": int(
            pick(params, "max_tokens", "maxTokens", "max_completion_tokens", "maxCompletionTokens")
            or default_max_tokens
        ),
        "messages": wire_messages(request.messages, request.parts, "anthropic", skip_roles=("system",)),
    }
    if system:
        # The Messages API takes one top-level system prompt, not system-role messages.
        kwargs["system"] = "\n\n".join(system)
    stop = pick(params, "stop", "stop_sequences", "stopSequences")
    if stop is not None:
        kwargs["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    # This SDK generation dropped sampling knobs from create()'s signature (newer models refuse
    # them), yet older models still honour them, so a prompt that sets them sends them as-is.
    sampling = {
        "temperature": pick(params, "temperature"),
        "top_p": pick(params, "top_p", "topP"),
        "top_k": pick(params, "top_k", "topK"),
    }
    extra = {name: value for name, value in sampling.items() if value is not None}
    if extra:
        kwargs["extra_body"] = extra
    # Only a full schema has a Messages API equivalent (structured outputs); a bare
    # {"type": "json_object"} request is left to the prompt and the json checks.
    schema = response_schema(request.response_format)
    if schema is not None:
        kwargs["output_config"] = {"format": {"type": "json_schema", "schema": dict(schema)}}
    kwargs.update(anthropic_tool_args(request))
    kwargs["messages"] += anthropic_round_messages(request.tool_rounds)
    return kwargs


class AnthropicProvider(SDKProvider):
    """``complete()`` via ``anthropic.Anthropic(...).messages.create``."""

    sdk_name = "anthropic"

    def __init__(
        self,
        *,
        label: str = "anthropic",
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = "ANTHROPIC_API_KEY",
        timeout_s: float = 60.0,
        max_retries: int = 2,
        price_overrides: Mapping[str, Any] | None = None,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(label=label, timeout_s=timeout_s, max_retries=max_retries, price_overrides=price_overrides, headers=headers)
        self._key = resolve_api_key(api_key, api_key_env, required=True, who=label)
        self.secrets += (self._key,) if self._key else ()
        # Config wins, then ANTHROPIC_BASE_URL (a gateway or proxy), as the SDK itself reads it.
        self.base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or ANTHROPIC_DEFAULT_BASE_URL
        self.default_max_tokens = default_max_tokens

    def _make_client(self, sdk: ModuleType) -> Any:
        # An explicit key keeps the SDK from consulting profiles and federation settings.
        return sdk.Anthropic(
            api_key=self._key, base_url=self.base_url, timeout=self.timeout_s, max_retries=self.max_retries, default_headers=self.headers
        )

    def _send(self, request: ProviderRequest) -> Any:
        return self.client.messages.create(model=request.model, **messages_params(request, self.default_max_tokens))

    def _parse(self, result: Any) -> tuple[str, Usage, dict[str, Any]]:
        # Text may arrive split across several blocks (e.g. around citations); tool-use blocks
        # become the answer's tool calls (_tool_calls), thinking blocks are not part of it.
        answer = json_answer(result)
        blocks = answer.get("content")
        if not isinstance(blocks, list):  # (an empty list is a valid answer: nothing said)
            blocks = field(answer, "content", list)  # raises, saying what came instead
        text = "".join(str(b.get("text") or "") for b in blocks if isinstance(b, Mapping) and b.get("type") == "text")
        usage = answer.get("usage") if isinstance(answer.get("usage"), Mapping) else None
        meta = {"model": answer.get("model"), "finish_reason": answer.get("stop_reason"), "id": answer.get("id")}
        return text, Usage(usage.get("input_tokens"), usage.get("output_tokens")) if usage else Usage(), meta

    def _tool_calls(self, result: Any) -> tuple[ToolCall, ...]:
        blocks = json_answer(result).get("content")
        return anthropic_tool_calls(blocks) if isinstance(blocks, list) else ()
