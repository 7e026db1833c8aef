"""What a call cost, and where its price came from.

Three sources, the first that knows the model wins:

* ``config``: ``[tool.promptcheck.prices]`` (USD per 1M tokens), for exact numbers::

      [tool.promptcheck.prices]
      "gpt-4o" = { input = 2.5, output = 10.0 }

* ``genai-prices``: the maintained price data of the ``genai-prices`` package, when installed
  (``pip install 'promptcheck[prices]'``); it knows many more models and their price tiers.
* ``built-in table``: the hand-written table below, as published at the time of writing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import ProviderConfigError, Usage


@dataclass(frozen=True)
class Price:
    input: float  # USD per 1M input (prompt) tokens
    output: float  # USD per 1M output (completion) tokens


# As published at the time of writing. Keys are model-name prefixes: dated snapshots such
# as "gpt-4o-2024-08-06" or "claude-3-5-sonnet-20241022" resolve to their family entry.
PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "o1": Price(15.00, 60.00),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    # Anthropic
    "claude-opus-4-5": Price(5.00, 25.00),
    "claude-opus-4-1": Price(15.00, 75.00),
    "claude-opus-4": Price(15.00, 75.00),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-3-opus": Price(15.00, 75.00),
    "claude-3-haiku": Price(0.25, 1.25),
}


def parse_price_overrides(raw: Mapping[str, Any] | None) -> dict[str, Price]:
    """Validate ``{model: {input: x, output: y}}`` from config, with a plain-words error."""
    prices: dict[str, Price] = {}
    for model, entry in (raw or {}).items():
        if isinstance(entry, Price):
            prices[str(model)] = entry
            continue
        if not isinstance(entry, Mapping) or not {"input", "output"} <= set(entry):
            raise ProviderConfigError(
                f"price for {model!r} must look like {{input: <USD per 1M tokens>, output: <USD per 1M tokens>}}"
            )
        try:
            prices[str(model)] = Price(float(entry["input"]), float(entry["output"]))
        except (TypeError, ValueError):
            raise ProviderConfigError(f"price for {model!r}: input and output must be numbers") from None
    return prices


def _lookup(model: str, table: Mapping[str, Price]) -> Price | None:
    if model in table:
        return table[model]
    # Longest prefix wins so "gpt-4o-mini-2024-07-18" is not priced as "gpt-4o".
    best: str | None = None
    for name in table:
        if model.startswith(name + "-") and (best is None or len(name) > len(best)):
            best = name
    return table[best] if best is not None else None


def _candidates(model: str) -> list[str]:
    candidates = [model]
    if "/" in model:
        # GitHub Models names are "<publisher>/<model>"; the model part carries the price.
        candidates.append(model.rsplit("/", 1)[1])
    # Bedrock spells "[us.]anthropic.claude-3-5-sonnet-20241022-v2:0", Vertex "claude-sonnet-4@20250514".
    base = candidates[-1].rsplit("anthropic.", 1)[-1].replace("@", "-")
    if base != candidates[-1]:
        candidates.append(base)
    return candidates


def _in_table(model: str, table: Mapping[str, Price]) -> Price | None:
    for name in _candidates(model):
        found = _lookup(name, table)
        if found is not None:
            return found
    return None


def price_for(model: str, overrides: Mapping[str, Price] | None = None) -> Price | None:
    """The configured or built-in price of ``model`` (genai-prices prices usage, see ``priced``)."""
    return _in_table(model, overrides or {}) or _in_table(model, PRICES)


@dataclass(frozen=True)
class Cost:
    usd: float
    source: str  # "config", "genai-prices" or "built-in table"


# promptcheck provider types -> genai-prices provider ids (others let genai-prices guess).
_GENAI_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "azure": "azure", "bedrock": "aws",
                    "vertex": "google", "gemini": "google", "google": "google"}
_genai_lock = threading.Lock()


def _genai_cost(model: str, usage: Usage, provider: str | None) -> float | None:
    try:
        import genai_prices
    except ImportError:
        return None
    wanted = genai_prices.Usage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)
    for provider_id in dict.fromkeys((_GENAI_PROVIDERS.get(provider or ""), None)):
        for name in _candidates(model):
            try:
                with _genai_lock:  # its data snapshot loads on first use; not from 32 threads at once
                    return float(genai_prices.calc_price(wanted, model_ref=name, provider_id=provider_id).total_price)
            except LookupError:
                continue
    return None


def warm_prices() -> None:
    """Import genai-prices and load its data (about 0.5 s) before answers arrive: paid on the
    first answer instead, it delays that item's verdict while further calls start (``-x``)."""
    _genai_cost("gpt-4o", Usage(1, 1), "openai")


def priced(model: str, usage: Usage, overrides: Mapping[str, Any] | None = None, provider: str | None = None) -> Cost | None:
    """USD for one call and where the price came from, or None when the model's price or the
    token counts are unknown. ``provider`` (a provider type) helps genai-prices pick the vendor."""
    if usage.input_tokens is None or usage.output_tokens is None:
        return None
    configured = _in_table(model, parse_price_overrides(overrides)) if overrides else None
    if configured is not None:
        return Cost(_usd(configured, usage), "config")
    found = _genai_cost(model, usage, provider)
    if found is not None:
        return Cost(found, "genai-prices")
    built_in = _in_table(model, PRICES)
    return Cost(_usd(built_in, usage), "built-in table") if built_in is not None else None


def _usd(price: Price, usage: Usage) -> float:
    return ((usage.input_tokens or 0) * price.input + (usage.output_tokens or 0) * price.output) / 1_000_000


def cost_for(model: str, usage: Usage, overrides: Mapping[str, Any] | None = None, provider: str | None = None) -> float | None:
    """USD for one call, or None when the model's price or the token counts are unknown."""
    cost = priced(model, usage, overrides, provider)
    return cost.usd if cost is not None else None
