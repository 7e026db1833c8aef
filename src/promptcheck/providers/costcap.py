"""The most a call can cost, known before it is sent: what ``--max-cost`` reserves for it.

Worst case = estimated prompt tokens at the input price + the output limit the call is sent with
at the output price. The estimate errs high on purpose: a reservation that is too big only holds
back the last calls under the cap, one that is too small could let spend pass it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .anthropic_provider import DEFAULT_MAX_TOKENS
from .base import ProviderRequest
from .pricing import parse_price_overrides, price_for
from .sdk_common import pick

# Under --max-cost an OpenAI-style call that names no output limit is sent with this one, so that
# its worst case is known (the Chat Completions API has no limit of its own to count on).
COST_CAP_MAX_TOKENS = 4096
MESSAGE_OVERHEAD_TOKENS = 4  # role and separators of each message, as the APIs count them
REQUEST_OVERHEAD_TOKENS = 3
OUTPUT_LIMIT_PARAMS = ("max_tokens", "maxTokens", "max_completion_tokens", "maxCompletionTokens")
_DEFAULT_OUTPUT_LIMITS = {
    "openai": COST_CAP_MAX_TOKENS,
    "github": COST_CAP_MAX_TOKENS,
    "compatible": COST_CAP_MAX_TOKENS,
    "anthropic": DEFAULT_MAX_TOKENS,
}


def text_tokens_at_most(text: str) -> int:
    """A bound on the tokens of ``text``: two ASCII characters per token (English averages about
    four), and a token for every UTF-8 byte of anything else (byte-level tokenizers never need
    more)."""
    ascii_chars = sum(1 for ch in text if ch < "\x80")
    other_bytes = len(text.encode("utf-8")) - ascii_chars
    return math.ceil(ascii_chars / 2) + other_bytes


def input_tokens_at_most(request: ProviderRequest) -> int:
    tokens = REQUEST_OVERHEAD_TOKENS
    for role, content in request.messages:
        tokens += MESSAGE_OVERHEAD_TOKENS + text_tokens_at_most(role) + text_tokens_at_most(content)
    if request.response_format is not None:  # a JSON schema is part of the prompt the model reads
        tokens += text_tokens_at_most(json.dumps(request.response_format, ensure_ascii=False))
    if request.tools:  # so are the declared tools' names, descriptions and schemas
        tokens += text_tokens_at_most(json.dumps([dict(t) for t in request.tools], ensure_ascii=False, default=str))
    return tokens


def output_limit(provider_type: str, params: Mapping[str, Any]) -> int | None:
    """The output tokens a call of ``provider_type`` is sent with; None when nothing bounds them."""
    if params.get("endpoint") == "embeddings":
        return 0
    explicit = pick(params, *OUTPUT_LIMIT_PARAMS)
    if explicit is not None:
        try:
            return int(explicit)
        except (TypeError, ValueError):
            return None
    return _DEFAULT_OUTPUT_LIMITS.get(provider_type)


def worst_case_cost(request: ProviderRequest, provider_type: str, overrides: Mapping[str, Any] | None) -> float | None:
    """USD the call may cost at most, or None when that cannot be known (no price for the model,
    or no output limit): such a call reserves nothing, and only spend already settled stops it."""
    price = price_for(request.model, parse_price_overrides(overrides) if overrides else None)
    limit = output_limit(provider_type, request.params)
    if price is None or limit is None:
        return None
    return (input_tokens_at_most(request) * price.input + limit * price.output) / 1_000_000
