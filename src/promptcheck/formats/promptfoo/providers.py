"""promptfoo ``providers``/``targets`` and the per-test ``provider`` override.

A provider becomes one of a spec's models: its label is the model name items show, its
options carry the real id and the mapped ``config``. A test's own ``provider`` (often set on
``defaultTest``) replaces the config's providers for that test, as in promptfoo; a provider
only promptfoo has (``promptfoo:...``, e.g. the prompt improver) is collected with a warning
and its items are skipped, saying why."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptcheck.formats.fields import Problems, type_name
from promptcheck.formats.promptfoo.refs import RefError, load_value
from promptcheck.formats.tooldecl import parse_tool_choice, parse_tools
from promptcheck.spec import Case, Location, ModelRef, PromptfooProviderConfig, PromptfooTestOptions, PromptSpec

PARAM_KEYS = {"temperature": "temperature", "max_tokens": "max_tokens", "top_p": "top_p", "max_output_tokens": "max_tokens",
              "stop": "stop", "seed": "seed", "presence_penalty": "presence_penalty", "frequency_penalty": "frequency_penalty"}

# promptfoo's config keys for the cloud providers (azure's types.ts, google's CompletionOptions,
# bedrock's options), under the names promptcheck's provider types read.
OPTION_KEYS = {"apiVersion": "api_version", "region": "region", "projectId": "project_id"}


@dataclass
class Provider:
    id: str
    label: str
    config: dict[str, Any]
    prompts: list[str] | None = None
    # config.tools / config.tool_choice, validated and in OpenAI function form; None: not declared.
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None


def read_providers(node: Any, problems: Problems, data: dict[str, Any], base: Path) -> list[Provider]:
    where = problems.at_key(data, "providers" if "providers" in data else "targets")
    if node is None:
        problems.error("the config has no 'providers' (or 'targets')", Location(where.path, 1, 1))
        return []
    items = node if isinstance(node, list) else [node]
    providers = []
    for index, item in enumerate(items):
        at = problems.at_item(node, index) if isinstance(node, list) else where
        provider = parse_provider(item, problems, at, base)
        if provider is not None:
            providers.append(provider)
    return providers


def parse_provider(item: Any, problems: Problems, at: Location, base: Path) -> Provider | None:
    if isinstance(item, str):
        return Provider(item, item, {})
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        config: dict[str, Any] = item["config"] if isinstance(item.get("config"), dict) else {}
        resolved = {}
        for key, value in config.items():
            try:
                resolved[key] = load_value(value, base)
            except RefError as exc:
                problems.error(f"provider '{item['id']}' config '{key}': {exc}", at)
        wanted = item.get("prompts")
        provider = Provider(item["id"], str(item.get("label") or item["id"]), resolved,
                            [str(p) for p in wanted] if isinstance(wanted, list) else None)
        _read_tools(provider, problems, at)
        return provider
    if isinstance(item, dict) and len(item) == 1:  # the old {id: {config...}} spelling
        (pid, body), = item.items()
        body = body if isinstance(body, dict) else {}
        provider = Provider(str(pid), str(body.get("label") or pid), dict(body.get("config") or {}))
        _read_tools(provider, problems, at)
        return provider
    problems.error(f"a provider must be an id string or a mapping with 'id', got {type_name(item)}", at)
    return None


def _read_tools(provider: Provider, problems: Problems, at: Location) -> None:
    config = provider.config
    if config.get("tools") is None and isinstance(config.get("functions"), list):
        # OpenAI's older `functions` are offered as tools; the checks read the call back as the
        # `function_call` promptfoo hands them (checks/promptfoo_output.py).
        # Each is a bare {name, description, parameters}: the flat form parse_tools reads too.
        provider.tools = parse_tools(config["functions"], problems, at, f"provider '{provider.id}' config 'functions'")
        return
    if config.get("tools") is None:
        if config.get("tool_choice") is not None:
            problems.error(f"provider '{provider.id}' config 'tool_choice' is set, but no tools are declared", at)
        return
    what = f"provider '{provider.id}' config 'tools'"
    provider.tools = parse_tools(config["tools"], problems, at, what)
    provider.tool_choice = parse_tool_choice(config.get("tool_choice"), provider.tools, problems, at, f"provider '{provider.id}' config 'tool_choice'")


def add_provider(spec: PromptSpec, provider: Provider, *, listed: bool = True) -> None:
    """The label is the model name items show; the ref carries the real id and mapped config.
    ``listed=False``: known to the spec (a test's own provider) without running every case."""
    config = provider.config
    headers = config.get("headers")
    spec.model_refs[provider.label] = ModelRef(
        provider_id=provider.id,
        params={PARAM_KEYS[k]: v for k, v in config.items() if k in PARAM_KEYS},
        base_url=_base_url(provider.id, config),
        api_key_env=_text(config.get("apiKeyEnvar")),
        api_key=_text(config.get("apiKey")),
        headers={str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else None,
        response_format=config["response_format"] if isinstance(config.get("response_format"), dict) else None,
        extension=PromptfooProviderConfig(config, provider.id),
        options={name: str(config[key]) for key, name in OPTION_KEYS.items() if _text(config.get(key))},
        tools=tuple(provider.tools) if provider.tools is not None else None,
        tool_choice=provider.tool_choice,
    )
    if listed and provider.label not in spec.models:
        spec.models.append(provider.label)


def _base_url(provider_id: str, config: dict[str, Any]) -> str | None:
    host = _text(config.get("apiHost"))
    if provider_id.startswith("azure:"):
        # As promptfoo's Azure provider: apiBaseUrl wins, and apiHost is the resource's host, with
        # no /v1 (AzureProvider adds https:// to a bare host; a scheme written out is kept).
        return _text(config.get("apiBaseUrl")) or host
    # As promptfoo's OpenAI provider: apiHost (a host name) wins over apiBaseUrl (a whole URL).
    return f"https://{host}/v1" if host else _text(config.get("apiBaseUrl"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def apply_test_provider(
    spec: PromptSpec, case: Case, providers: list[Provider], problems: Problems, base: Path, warned: set[str]
) -> None:
    """A test's ``provider``: the case runs on it alone. A label or id of a config provider
    means that provider (with its config); anything else is a provider of its own."""
    node = case.extension.provider if isinstance(case.extension, PromptfooTestOptions) else None
    if node is None:
        return
    at = case.location or spec.location or Location(spec.path)
    provider = parse_provider(node, problems, at, base)
    if provider is None:
        return
    if provider.id.startswith("promptfoo:"):
        # promptfoo's own machinery (prompt improver, red-team agents): nothing to call here.
        case.skip_reason = f"this test runs on promptfoo's internal provider '{provider.id}', which promptcheck does not have"
        if provider.id not in warned:
            warned.add(provider.id)
            problems.warn(f"tests on promptfoo's internal provider '{provider.id}' are collected but skipped", at)
    elif isinstance(node, str):
        known = next((p for p in providers if node in (p.label, p.id)), None)
        provider = known or provider
    case.models = [provider.label]
    if provider.label not in spec.model_refs:
        add_provider(spec, provider, listed=False)
