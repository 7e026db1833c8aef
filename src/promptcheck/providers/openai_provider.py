"""OpenAI Chat Completions through the official SDK: OpenAI, GitHub Models and compatible servers.

One class covers three setups because they share the wire format:

* ``openai:<model>``       -> ``OpenAIProvider.openai()``  (OPENAI_API_KEY, OPENAI_BASE_URL)
* ``github:<pub>/<model>`` -> ``OpenAIProvider.github()``  (GITHUB_TOKEN, models.github.ai)
* named local servers      -> ``OpenAIProvider.compatible(name, base_url, api_key_env)``
  (vLLM, Ollama, llama.cpp, LM Studio; the key is optional)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from .answer_shape import field, json_answer
from .base import ProviderRequest, ToolCall, Usage
from .parts import wire_messages
from .sdk_common import SDKProvider, pick, resolve_api_key
from .tools import openai_round_messages, openai_tool_args, openai_tool_calls

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
GITHUB_MODELS_BASE_URL = "https://models.github.ai/inference"

# Local servers ignore the key, but the SDK refuses to build a client without one.
_NO_KEY = "not-needed"

# (API name, spellings accepted in prompt files)
_PARAMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("temperature", ("temperature",)),
    ("max_tokens", ("max_tokens", "maxTokens")),
    ("max_completion_tokens", ("max_completion_tokens", "maxCompletionTokens")),
    ("top_p", ("top_p", "topP")),
    ("stop", ("stop",)),
    ("seed", ("seed",)),
    ("presence_penalty", ("presence_penalty", "presencePenalty")),
    ("frequency_penalty", ("frequency_penalty", "frequencyPenalty")),
)


def chat_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The Chat Completions arguments for a prompt's params; unknown params are not sent."""
    out: dict[str, Any] = {}
    for api_name, spellings in _PARAMS:
        value = pick(params, *spellings)
        if value is not None:
            out[api_name] = value
    return out


class OpenAIProvider(SDKProvider):
    """``complete()`` via ``openai.OpenAI(...).chat.completions.create``."""

    sdk_name = "openai"

    def __init__(
        self,
        *,
        label: str = "openai",
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        key_required: bool = True,
        timeout_s: float = 60.0,
        max_retries: int = 2,
        price_overrides: Mapping[str, Any] | None = None,
        model_prefix: str = "",
        headers: Mapping[str, str] | None = None,
        default_max_tokens: int | None = None,
        max_tokens_param: str = "max_completion_tokens",
    ) -> None:
        super().__init__(label=label, timeout_s=timeout_s, max_retries=max_retries, price_overrides=price_overrides, headers=headers)
        key = resolve_api_key(api_key, api_key_env, required=key_required, who=label)
        self._key = key or _NO_KEY
        self.secrets += (key,) if key else ()
        self.base_url = base_url or OPENAI_DEFAULT_BASE_URL
        self._model_prefix = model_prefix
        # Sent when a prompt names no output limit (under --max-cost). OpenAI's reasoning models
        # refuse `max_tokens`; self-hosted servers know `max_tokens` best.
        self.default_max_tokens = default_max_tokens
        self.max_tokens_param = max_tokens_param

    def _make_client(self, sdk: ModuleType) -> Any:
        # Always pass key and base_url explicitly so the SDK never falls back to OPENAI_* env
        # values meant for a different server (a local server must not receive the OpenAI key).
        return sdk.OpenAI(
            api_key=self._key, base_url=self.base_url, timeout=self.timeout_s, max_retries=self.max_retries, default_headers=self.headers
        )

    @classmethod
    def openai(cls, **kwargs: Any) -> OpenAIProvider:
        kwargs.setdefault("base_url", os.environ.get("OPENAI_BASE_URL") or None)
        return cls(**kwargs)

    @classmethod
    def github(cls, **kwargs: Any) -> OpenAIProvider:
        kwargs.setdefault("label", "github")
        kwargs.setdefault("base_url", GITHUB_MODELS_BASE_URL)
        kwargs.setdefault("api_key_env", "GITHUB_TOKEN")
        kwargs.setdefault("model_prefix", "github:")
        return cls(**kwargs)

    @classmethod
    def compatible(cls, name: str, base_url: str, api_key_env: str | None = None, **kwargs: Any) -> OpenAIProvider:
        kwargs.setdefault("key_required", False)
        return cls(label=name, base_url=base_url, api_key_env=api_key_env, **kwargs)

    def model_name(self, request: ProviderRequest) -> str:
        # GitHub Models wants "<publisher>/<model>"; tolerate a full "github:..." label too.
        model = request.model
        if self._model_prefix and model.startswith(self._model_prefix):
            model = model[len(self._model_prefix) :]
        return model

    def _send(self, request: ProviderRequest) -> Any:
        if request.params.get("endpoint") == "embeddings":  # model-graded `similar` checks
            texts = [content for _, content in request.messages]
            return self.client.embeddings.create(model=self.model_name(request), input=texts)
        kwargs = chat_params(request.params)
        if self.default_max_tokens is not None and "max_tokens" not in kwargs and "max_completion_tokens" not in kwargs:
            kwargs[self.max_tokens_param] = self.default_max_tokens
        if request.response_format is not None:
            kwargs["response_format"] = dict(request.response_format)
        messages = wire_messages(request.messages, request.parts, "openai")
        messages += openai_round_messages(request.tool_rounds)
        body = {"model": self.model_name(request), "messages": messages, **kwargs, **openai_tool_args(request)}
        # client.post is the SDK's own request path (retries, retry-after, timeouts, auth, error
        # types) minus create()'s walk of its TypedDicts over the arguments and the building of
        # a ChatCompletion object from the answer: both change nothing for plain JSON like this,
        # and they were over half of each call's CPU, which bounds how many calls a 64-wide pool
        # keeps in flight. The answer stays the JSON object the API sent.
        return self.client.post("/chat/completions", body=body, cast_to=object)

    def _parse(self, result: Any) -> tuple[str, Usage, dict[str, Any]]:
        # A chat answer arrives as the API's JSON object, or as its text when a server labels it
        # other than JSON (the SDK then hands the body over as it is); embeddings.create gives
        # an SDK model.
        answer = json_answer(result)
        usage = answer.get("usage") or {}
        if answer.get("object") == "list":  # an embeddings answer: the vector as JSON text
            first = field(answer, "data", list)[0]
            text = json.dumps(field(first, "embedding", list, where="the answer's data"))
            return text, Usage(usage.get("prompt_tokens"), 0) if usage else Usage(), {"model": answer.get("model")}
        choice = field(answer, "choices", list)[0]
        message = field(choice, "message", Mapping, where="the answer's first choice")
        meta: dict[str, Any] = {"model": answer.get("model"), "finish_reason": choice.get("finish_reason"), "id": answer.get("id")}
        if message.get("refusal"):
            meta["refusal"] = message["refusal"]
        tokens = Usage(usage.get("prompt_tokens"), usage.get("completion_tokens")) if usage else Usage()
        return message.get("content") or "", tokens, meta

    def _tool_calls(self, result: Any) -> tuple[ToolCall, ...]:
        answer = json_answer(result)
        choices = answer.get("choices")
        message = choices[0].get("message") if isinstance(choices, list) and choices and isinstance(choices[0], Mapping) else None
        return openai_tool_calls(message) if isinstance(message, Mapping) else ()
