"""Azure OpenAI through the openai SDK's ``AzureOpenAI`` client: deployments stand for models.

``azure:<deployment>`` (and promptfoo's ``azure:chat:<deployment>``) calls
``<endpoint>/openai/deployments/<deployment>/chat/completions?api-version=<version>`` with the
key in an ``api-key`` header. The wire format is OpenAI's, so everything but the client is
OpenAIProvider's.

* key:      ``AZURE_OPENAI_API_KEY``, or promptfoo's ``AZURE_API_KEY``
* endpoint: ``base_url`` in config (promptfoo's ``apiHost`` lands there), else
            ``AZURE_OPENAI_ENDPOINT``, else promptfoo's ``AZURE_API_BASE_URL`` / ``AZURE_API_HOST``
* version:  ``api_version`` in config, else ``OPENAI_API_VERSION``, else DEFAULT_API_VERSION
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from .base import ProviderConfigError
from .openai_provider import OpenAIProvider

KEY_ENVS = ("AZURE_OPENAI_API_KEY", "AZURE_API_KEY")
ENDPOINT_ENVS = ("AZURE_OPENAI_ENDPOINT", "AZURE_API_BASE_URL", "AZURE_API_HOST")
DEFAULT_API_VERSION = "2024-10-21"  # the latest GA data-plane version at the time of writing


def first_env(names: tuple[str, ...]) -> str | None:
    return next((os.environ[name] for name in names if os.environ.get(name)), None)


def endpoint_url(value: str) -> str:
    """promptfoo's ``apiHost`` is a bare host name; the SDK wants a URL."""
    value = value.strip().rstrip("/")
    return value if "://" in value else f"https://{value}"


class AzureProvider(OpenAIProvider):
    """``complete()`` via ``openai.AzureOpenAI(...)``; the request's model is the deployment."""

    def __init__(
        self,
        *,
        label: str = "azure",
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        api_version: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 2,
        price_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        names = (api_key_env,) if api_key_env else KEY_ENVS
        key = api_key or first_env(names)
        if not key:
            raise ProviderConfigError(f"{label} needs an API key: set the {' or '.join(names)} environment variable.")
        endpoint = base_url or first_env(ENDPOINT_ENVS)
        if not endpoint:
            raise ProviderConfigError(
                f"{label} needs the Azure OpenAI endpoint: set AZURE_OPENAI_ENDPOINT "
                f"(https://<resource>.openai.azure.com) or base_url in [tool.promptcheck.providers.\"{label}\"]."
            )
        super().__init__(
            label=label, base_url=endpoint_url(endpoint), api_key=key, api_key_env=None,
            timeout_s=timeout_s, max_retries=max_retries, price_overrides=price_overrides,
        )
        self.api_version = api_version or os.environ.get("OPENAI_API_VERSION") or DEFAULT_API_VERSION

    def _make_client(self, sdk: ModuleType) -> Any:
        # AzureOpenAI routes /chat/completions to /deployments/<body's model>/chat/completions.
        return sdk.AzureOpenAI(
            api_key=self._key, azure_endpoint=self.base_url, api_version=self.api_version,
            timeout=self.timeout_s, max_retries=self.max_retries,
        )
