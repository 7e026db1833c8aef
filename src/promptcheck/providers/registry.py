"""Model names as users write them → a provider type, an API model name and a stable label."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from promptcheck.config import Settings

LOCAL_TYPES = ("echo", "reference", "python")
NETWORK_TYPES = ("openai", "anthropic", "github", "compatible")
_OPENAI_BARE = re.compile(r"^(gpt-|o\d|chatgpt-|text-|davinci|babbage)")
_ANTHROPIC_BARE = re.compile(r"^claude-")


@dataclass(frozen=True)
class ModelTarget:
    label: str  # what item ids and run records show
    provider: str  # one of LOCAL_TYPES + NETWORK_TYPES, or "unknown"
    model: str  # what the API is asked for
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_local(self) -> bool:
        return self.provider in LOCAL_TYPES


class UnknownModel(Exception):
    pass


def resolve_target(raw: str, settings: Settings) -> ModelTarget:
    name = settings.model_map.get(raw, raw).strip()
    if name in settings.providers:
        return _named(name, settings.providers[name])
    if name in ("echo", "reference"):
        return ModelTarget(name, name, name)
    prefix, _, rest = name.partition(":")
    if prefix == "python" and rest:
        return ModelTarget(name, "python", rest)
    if prefix in ("openai", "anthropic", "github") and rest:
        # promptfoo spells openai:chat:<m> and anthropic:messages:<m>; the API only wants <m>.
        model = rest.split(":", 1)[1] if rest.split(":", 1)[0] in ("chat", "messages") and ":" in rest else rest
        return ModelTarget(name, prefix, model)
    if "/" in name and ":" not in name:  # GitHub Models spells models publisher/model
        return ModelTarget(f"github:{name}", "github", name)
    if _OPENAI_BARE.match(name):
        return ModelTarget(f"openai:{name}", "openai", name)
    if _ANTHROPIC_BARE.match(name):
        return ModelTarget(f"anthropic:{name}", "anthropic", name)
    return ModelTarget(name, "unknown", name)


def _named(label: str, table: dict[str, Any]) -> ModelTarget:
    kind = str(table.get("type", "compatible"))
    model = str(table.get("model", label))
    return ModelTarget(label, kind, model, dict(table))


def unknown_model_message(target: ModelTarget) -> str:
    return (
        f"no provider for model '{target.label}': write it as openai:<model>, anthropic:<model>, "
        f"github:<publisher>/<model>, echo, reference or python:module:function, or configure "
        f"[tool.promptcheck.providers.\"{target.label}\"] with type, model and base_url"
    )
