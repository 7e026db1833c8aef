"""Creates each provider once per session and routes calls to it.

Network providers are wrapped in cassettes; configuration problems (a missing API key, an
unknown model) are found before the first call and reported once per provider."""

from __future__ import annotations

import threading
from typing import Any

from promptcheck.config import Settings
from promptcheck.providers.base import Provider, ProviderConfigError, ProviderRequest, ProviderResponse
from promptcheck.providers.local import EchoProvider, PythonProvider, ReferenceProvider
from promptcheck.providers.registry import ModelTarget, resolve_target, unknown_model_message


class ProviderFactory:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._providers: dict[str, Provider] = {}
        self._errors: dict[str, str] = {}
        self._targets: dict[str, ModelTarget] = {}
        self._lock = threading.Lock()

    def config_error(self, target: ModelTarget) -> str | None:
        """The reason this target cannot be called, or None; creates the provider on first use."""
        self._get(target)
        return self._errors.get(target.label)

    def call(self, request: ProviderRequest) -> ProviderResponse:
        target = self._targets.get(request.label) or resolve_target(request.label, self.settings)
        provider = self._get(target)
        if provider is None:
            raise ProviderConfigError(self._errors[target.label])
        return provider.complete(request)

    def errors(self) -> dict[str, str]:
        return dict(self._errors)

    def _get(self, target: ModelTarget) -> Provider | None:
        with self._lock:
            if target.label in self._providers or target.label in self._errors:
                return self._providers.get(target.label)
            self._targets[target.label] = target
            try:
                self._providers[target.label] = self._create(target)
            except ProviderConfigError as exc:
                self._errors[target.label] = str(exc)
                return None
            return self._providers[target.label]

    def _create(self, target: ModelTarget) -> Provider:
        if target.provider == "echo":
            return EchoProvider(target.label)
        if target.provider == "reference":
            return ReferenceProvider(target.label)
        if target.provider == "python":
            return PythonProvider(target.label, self.settings.rootdir)
        if target.provider == "unknown":
            raise ProviderConfigError(unknown_model_message(target))
        return self._network(target)

    def _network(self, target: ModelTarget) -> Provider:
        raise ProviderConfigError(f"model '{target.label}': network providers are not wired in yet")
