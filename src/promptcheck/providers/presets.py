"""Named presets of the OpenAI-compatible provider, and promptfoo's spellings of provider ids.

* ``gemini:<model>`` / promptfoo's ``google:<model>``: the Gemini API's OpenAI-compatible
  endpoint, key ``GEMINI_API_KEY`` (or promptfoo's ``GOOGLE_API_KEY``).
* ``ollama:<model>`` / ``ollama:chat:<model>``: a local Ollama server's ``/v1`` endpoint at
  ``OLLAMA_BASE_URL`` (as promptfoo reads it, without ``/v1``), default localhost:11434; no key
  unless ``OLLAMA_API_KEY`` is set (a server behind a proxy).
"""

from __future__ import annotations

import os
from typing import Any

from .azure_provider import first_env
from .base import ProviderConfigError
from .openai_provider import OpenAIProvider

GEMINI_OPENAI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"
GEMINI_KEY_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
OLLAMA_DEFAULT_BASE_URL = "http://localhost:11434"

# promptfoo writes an API flavour between the provider and the model (``azure:chat:<deployment>``,
# ``ollama:completion:<model>``); the model is what follows it. Ollama's completion flavour is
# sent as a chat call too: its /v1 endpoint answers both the same way for a rendered prompt.
_FLAVOURS = {
    "openai": ("chat", "messages"),
    "github": ("chat", "messages"),
    "anthropic": ("chat", "messages"),
    "azure": ("chat",),
    "ollama": ("chat", "completion"),
    "google": ("chat",),
    "gemini": ("chat",),
}


def model_of(prefix: str, rest: str) -> str:
    """The API model name in ``<prefix>:<rest>``, without promptfoo's flavour word."""
    flavour, sep, model = rest.partition(":")
    return model if sep and model and flavour in _FLAVOURS.get(prefix, ()) else rest


def known(prefix: str) -> bool:
    return prefix in _FLAVOURS or prefix in ("bedrock", "vertex")


def gemini(*, label: str, base_url: str | None = None, api_key_env: str | None = None, **kwargs: Any) -> OpenAIProvider:
    names = (api_key_env,) if api_key_env else GEMINI_KEY_ENVS
    key = first_env(names)
    if not key:
        raise ProviderConfigError(f"{label} needs an API key: set the {' or '.join(names)} environment variable.")
    url = base_url or os.environ.get("GEMINI_BASE_URL") or GEMINI_OPENAI_BASE_URL
    return OpenAIProvider(label=label, base_url=url, api_key=key, api_key_env=None, **kwargs)


def ollama(*, label: str, base_url: str | None = None, api_key_env: str | None = None, **kwargs: Any) -> OpenAIProvider:
    url = base_url or _v1(os.environ.get("OLLAMA_BASE_URL") or OLLAMA_DEFAULT_BASE_URL)
    return OpenAIProvider.compatible(label, url, api_key_env or "OLLAMA_API_KEY", **kwargs)


def _v1(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def platform_model_error(label: str, platform: str, model: str) -> str | None:
    """Why ``model`` cannot run on Bedrock or Vertex here (only Claude does), or None."""
    if platform == "bedrock" and "anthropic." not in model:
        return (
            f"model '{label}': only Anthropic models run on Bedrock here (ids like "
            "bedrock:anthropic.claude-3-5-sonnet-20241022-v2:0 or bedrock:us.anthropic.…)"
        )
    if platform == "vertex" and not model.startswith("claude"):
        hint = f"; use google:{model} for the Gemini API" if model.startswith("gemini") else ""
        return f"model '{label}': only Claude models run on Vertex here (ids like vertex:claude-sonnet-4@20250514){hint}"
    return None
