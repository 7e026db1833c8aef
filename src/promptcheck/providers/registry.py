"""Model names as users write them → a provider type, an API model name and a stable label;
and the provider types themselves: which constructor builds a provider for a type name.

Resolving a name needs no registry: ``<type>:<model>`` names its type by its prefix whether or not
a plugin registered that type, and the ProviderFactory (which holds the registry) says when nobody
did. So a label resolves the same everywhere, and a cassette's key never depends on a conftest."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable

from promptcheck.config import Settings
from promptcheck.provider_settings import MissingEnvironmentVariable, expand_env, expand_headers
from promptcheck.providers.anthropic_provider import AnthropicProvider
from promptcheck.providers.base import Provider, ProviderConfigError
from promptcheck.providers.costcap import COST_CAP_MAX_TOKENS
from promptcheck.providers.local import EchoProvider, PythonProvider, ReferenceProvider
from promptcheck.providers.openai_provider import OpenAIProvider
from promptcheck.providers.presets import gemini, known, model_of, ollama, platform_model_error

_OPENAI_BARE = re.compile(r"^(gpt-|o\d|chatgpt-|text-|davinci|babbage)")
_ANTHROPIC_BARE = re.compile(r"^claude-")
# A provider type name, as written before the colon of a label or in `type = "..."`.
_TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
NO_TYPE = ""  # ModelTarget.provider of a name that names no provider type at all


@dataclass(frozen=True)
class ModelTarget:
    label: str  # what item ids and run records show
    provider: str  # a provider type name (registered or not), or NO_TYPE
    model: str  # what the API is asked for
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def resolve_target(raw: str, settings: Settings) -> ModelTarget:
    name = settings.model_map.get(raw, raw).strip()
    if name in settings.providers:
        return _named(name, settings.providers[name])
    if name in ("echo", "reference"):
        return ModelTarget(name, name, name)
    prefix, _, rest = name.partition(":")
    if prefix == "python" and rest:
        return ModelTarget(name, "python", rest)
    if known(prefix) and rest:
        # promptfoo spells openai:chat:<m>, azure:chat:<d>, ollama:chat:<m>; the API only wants <m>.
        return ModelTarget(name, prefix, model_of(prefix, rest))
    if "/" in name and ":" not in name:  # GitHub Models spells models publisher/model
        return ModelTarget(f"github:{name}", "github", name)
    if _OPENAI_BARE.match(name):
        return ModelTarget(f"openai:{name}", "openai", name)
    if _ANTHROPIC_BARE.match(name):
        return ModelTarget(f"anthropic:{name}", "anthropic", name)
    if rest and _TYPE_NAME.fullmatch(prefix):  # <type>:<model> for a type a plugin may add
        return ModelTarget(name, prefix, rest)
    return ModelTarget(name, NO_TYPE, name)


def _named(label: str, table: dict[str, Any]) -> ModelTarget:
    kind = str(table.get("type", "compatible"))
    model = str(table.get("model", label))
    return ModelTarget(label, kind, model, dict(table))


def unknown_model_message(target: ModelTarget) -> str:
    return (
        f"no provider for model '{target.label}': write it as openai:<model>, anthropic:<model>, "
        f"github:<publisher>/<model>, azure:<deployment>, bedrock:<model id>, vertex:<model>, "
        f"gemini:<model>, ollama:<model>, echo, reference or python:module:function, or configure "
        f"[tool.promptcheck.providers.\"{target.label}\"] with type, model and base_url"
    )


# -- provider types ------------------------------------------------------------------------------

ProviderConstructor = Callable[[ModelTarget, Settings], Provider]


@dataclass(frozen=True)
class ProviderType:
    name: str
    create: ProviderConstructor
    # Recorded: answers go through cassettes (replayed by default, recorded on request), as for
    # network APIs. Not recorded: called on every run, as echo, reference and python are.
    recorded: bool = True


class ProviderRegistry:
    """Provider type name -> ProviderType. ``add`` extends it; a name is never replaced."""

    def __init__(self, types: Iterable[ProviderType] = (), *, frozen: bool = False) -> None:
        self._types: dict[str, ProviderType] = {}
        for kind in types:
            self._put(kind)
        self._frozen = frozen

    @staticmethod
    def builtin() -> ProviderRegistry:
        """The shared registry of built-in provider types (read-only; ``copy()`` it to add types)."""
        return _BUILTIN

    def copy(self) -> ProviderRegistry:
        """An extensible registry with the same types."""
        return ProviderRegistry(self._types.values())

    def add(self, type_name: str, factory: ProviderConstructor, *, local: bool = False) -> None:
        """Make ``type_name`` usable as ``type = "<type_name>"`` in a providers table and as the
        ``<type_name>:<model>`` model label. ``factory(target, settings)`` returns an object with
        ``label`` and ``complete(request) -> ProviderResponse``. Its answers are recorded in
        cassettes like a network model's, unless ``local=True`` (called on every run)."""
        if self._frozen:
            raise RuntimeError("the built-in provider registry is shared; add provider types to a copy of it")
        if not isinstance(type_name, str) or not _TYPE_NAME.fullmatch(type_name):
            raise ValueError(f"provider type name {type_name!r} must be one word of letters, digits, '-', '_' or '.'")
        if not callable(factory):
            raise ValueError(f"provider type {type_name!r}: the factory must be a function (target, settings) -> provider")
        self._put(ProviderType(type_name, factory, recorded=not local))

    def get(self, type_name: str) -> ProviderType | None:
        return self._types.get(type_name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._types

    def _put(self, kind: ProviderType) -> None:
        if kind.name in self._types:
            origin = "a built-in provider type" if kind.name in _BUILTIN_NAMES else "already registered"
            raise ValueError(f"provider type {kind.name!r} is {origin}; give yours another name")
        self._types[kind.name] = kind


# -- the built-in types --------------------------------------------------------------------------


def _sdk_options(target: ModelTarget, settings: Settings) -> dict[str, Any]:
    options = target.options
    common: dict[str, Any] = {
        "label": target.label,
        "timeout_s": float(options.get("timeout_s", settings.timeout_s)),
        "max_retries": int(options.get("max_retries", settings.max_retries)),
        "price_overrides": settings.prices or None,
    }
    if options.get("api_key_env"):
        common["api_key_env"] = str(options["api_key_env"])
    try:
        # Only a prompt file's own provider config has a key (promptfoo's apiKey); pyproject.toml refuses one.
        if options.get("api_key"):
            common["api_key"] = expand_env(str(options["api_key"]), f"model '{target.label}': apiKey")
        if options.get("headers"):
            common["headers"] = expand_headers(options["headers"], f"model '{target.label}'")
    except MissingEnvironmentVariable as exc:
        raise ProviderConfigError(str(exc)) from None
    return common


def _openai_options(target: ModelTarget, settings: Settings) -> dict[str, Any]:
    """_sdk_options, plus the output limit sent under --max-cost when a prompt names none (the
    reservation of each call counts on it; see costcap)."""
    return {**_sdk_options(target, settings), "default_max_tokens": COST_CAP_MAX_TOKENS if settings.max_cost is not None else None}


def _base_url(target: ModelTarget) -> dict[str, Any]:
    base_url = target.options.get("base_url")
    return {"base_url": base_url} if base_url else {}


def _openai(target: ModelTarget, settings: Settings) -> Provider:
    return OpenAIProvider.openai(**_base_url(target), **_openai_options(target, settings))


def _anthropic(target: ModelTarget, settings: Settings) -> Provider:
    return AnthropicProvider(base_url=target.options.get("base_url"), **_sdk_options(target, settings))


def _github(target: ModelTarget, settings: Settings) -> Provider:
    return OpenAIProvider.github(**_base_url(target), **_openai_options(target, settings))


def _compatible(target: ModelTarget, settings: Settings) -> Provider:
    base_url = target.options.get("base_url")
    if not base_url:
        raise ProviderConfigError(f"provider '{target.label}' needs base_url in [tool.promptcheck.providers.\"{target.label}\"]")
    common = _openai_options(target, settings)
    return OpenAIProvider.compatible(common.pop("label"), str(base_url), max_tokens_param="max_tokens", **common)


def _option(target: ModelTarget, *names: str) -> str | None:
    value = next((target.options[name] for name in names if target.options.get(name)), None)
    return str(value) if value is not None else None


def _azure(target: ModelTarget, settings: Settings) -> Provider:
    from promptcheck.providers.azure_provider import AzureProvider

    version = _option(target, "api_version", "apiVersion")
    return AzureProvider(**_base_url(target), api_version=version, **_sdk_options(target, settings))


def _platform(name: str) -> ProviderConstructor:
    def create(target: ModelTarget, settings: Settings) -> Provider:
        from promptcheck.providers.anthropic_platforms import BedrockProvider, VertexProvider

        problem = platform_model_error(target.label, name, target.model)
        if problem:
            raise ProviderConfigError(problem)
        common = {**_base_url(target), **_sdk_options(target, settings), "region": _option(target, "region")}
        common.pop("api_key_env", None)  # credentials come from the cloud's own setup
        if name == "bedrock":
            return BedrockProvider(**common)
        return VertexProvider(project_id=_option(target, "project_id", "projectId"), **common)

    return create


_BUILTIN_TYPES = (
    ProviderType("echo", lambda target, settings: EchoProvider(target.label), recorded=False),
    ProviderType("reference", lambda target, settings: ReferenceProvider(target.label), recorded=False),
    ProviderType(
        "python",
        lambda target, settings: PythonProvider(
            target.label, settings.rootdir, float(target.options.get("timeout_s", settings.timeout_s)), target.model
        ),
        recorded=False,
    ),
    ProviderType("openai", _openai),
    ProviderType("anthropic", _anthropic),
    ProviderType("github", _github),
    ProviderType("compatible", _compatible),
    ProviderType("azure", _azure),
    ProviderType("bedrock", _platform("bedrock")),
    ProviderType("vertex", _platform("vertex")),
    ProviderType("gemini", lambda target, settings: gemini(**_base_url(target), **_sdk_options(target, settings))),
    ProviderType("google", lambda target, settings: gemini(**_base_url(target), **_sdk_options(target, settings))),
    ProviderType("ollama", lambda target, settings: ollama(**_base_url(target), **_sdk_options(target, settings))),
)
_BUILTIN_NAMES = frozenset(kind.name for kind in _BUILTIN_TYPES)
_BUILTIN = ProviderRegistry(_BUILTIN_TYPES, frozen=True)
