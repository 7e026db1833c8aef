"""What a ``[tool.promptcheck.providers.<label>]`` table may hold, and environment references in
provider settings (``${VAR}`` in pyproject.toml, ``{{ env.VAR }}`` in promptfoo configs).

A misspelt key must not be ignored: with ``base_ulr`` the calls went to the default host with the
real key. And a key never belongs in pyproject.toml, which is committed: it is named by
``api_key_env`` and read from the environment."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from typing import Any

from promptcheck.redaction import CREDENTIAL_HEADER

# The keys the built-in provider types read (providers/registry.py, providers/factory.py).
PROVIDER_KEYS = ("type", "model", "base_url", "api_key_env", "headers", "params", "timeout_s", "max_retries", "requests_per_minute")
# What only some built-in types read (providers/azure_provider.py, providers/anthropic_platforms.py).
TYPE_KEYS = {"azure": ("api_version",), "bedrock": ("region",), "vertex": ("region", "project_id")}
BUILTIN_TYPES = (
    "openai", "anthropic", "github", "compatible", "echo", "reference", "python",
    "azure", "bedrock", "vertex", "gemini", "google", "ollama",
)
# Spellings of a literal key; refused for every provider type, plugin types' included.
LITERAL_KEY_NAMES = frozenset({"apikey", "key", "token", "secret", "password"})  # as _bare() spells them

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class MissingEnvironmentVariable(Exception):
    """A setting refers to an environment variable that is not set."""


def provider_table_problem(label: str, table: Any) -> str | None:
    """Why ``table`` is not a usable providers table, or None. Never quotes a value: it may be a key."""
    where = f"providers.{label}" if re.fullmatch(r"[A-Za-z0-9_-]+", label) else f'providers."{label}"'
    if not isinstance(table, dict):
        return f"{where} must be a table (type, model, base_url, ...), got {type(table).__name__}"
    for key in table:
        if _bare(key) in LITERAL_KEY_NAMES:
            return (
                f"{where}: '{key}' would put a key in pyproject.toml, which is refused; keys belong in the "
                f"environment: set it in a variable and name that with api_key_env = \"MY_API_KEY\""
            )
    kind = table.get("type", "compatible")
    if kind in BUILTIN_TYPES:  # a plugin's provider type reads keys of its own
        known = PROVIDER_KEYS + TYPE_KEYS.get(str(kind), ())
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                return f"{where}: unknown key '{key}'{hint} (known keys: {', '.join(known)})"
    return _headers_problem(where, table.get("headers"))


def _bare(key: str) -> str:
    """api_key, apiKey and api-key alike."""
    return key.lower().replace("_", "").replace("-", "")


def _headers_problem(where: str, headers: Any) -> str | None:
    if headers is None:
        return None
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return f"{where}: headers must be a table of strings, e.g. headers = {{ \"X-Team\" = \"search\" }}"
    for name, value in headers.items():
        if CREDENTIAL_HEADER.search(name) and not _ENV_REFERENCE.search(value):
            return (
                f"{where}: header '{name}' holds a credential written into pyproject.toml, which is refused; "
                f"refer to an environment variable instead, e.g. \"Bearer ${{GATEWAY_TOKEN}}\""
            )
    return None


def expand_env(value: str, what: str) -> str:
    """``value`` with ``${VAR}`` and ``{{ env.VAR }}`` replaced by the environment's values."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if not os.environ.get(name):
            raise MissingEnvironmentVariable(f"{what} uses the environment variable {name}, which is not set")
        return os.environ[name]

    return _ENV_REFERENCE.sub(value_of, value)


def expand_headers(headers: Mapping[str, Any], what: str) -> dict[str, str]:
    return {str(name): expand_env(str(value), f"{what}: header '{name}'") for name, value in headers.items()}
