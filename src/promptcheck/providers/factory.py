"""Creates each provider once per session and routes calls to it.

Network providers are wrapped in cassettes; configuration problems (a missing API key, an
unknown model) are found before the first call and reported once per provider."""

from __future__ import annotations

import threading
from typing import Any

from promptcheck.config import Settings
from promptcheck.providers.base import Provider, ProviderConfigError, ProviderRequest, ProviderResponse
from promptcheck.providers.local import EchoProvider, PythonProvider, ReferenceProvider
from promptcheck.providers.anthropic_provider import AnthropicProvider
from promptcheck.providers.callprocess import SDK_MODULES, CallProcesses, RemoteProvider, process_count
from promptcheck.providers.cassette import CassetteStore
from promptcheck.providers.recording import CassetteProvider
from promptcheck.providers.openai_provider import OpenAIProvider
from promptcheck.providers.ratelimit import RateLimited
from promptcheck.providers.registry import NETWORK_TYPES, ModelTarget, resolve_target, unknown_model_message


class ProviderFactory:
    def __init__(self, settings: Settings, cassettes: CassetteStore | None = None) -> None:
        self.settings = settings
        self.cassettes = cassettes or CassetteStore(settings.rootdir / (settings.cassette_dir or "cassettes"))
        self._providers: dict[str, Provider] = {}
        self._errors: dict[str, str] = {}
        self._targets: dict[str, ModelTarget] = {}
        self._lock = threading.Lock()
        self.call_process: CallProcesses | None = None

    def warm_call_process(self, target: ModelTarget) -> None:
        """Start the call process if need be, and have it import ``target``'s SDK (see callprocess)."""
        if target.provider not in SDK_MODULES:
            return
        if self.call_process is None:
            concurrency = self.settings.concurrency
            self.call_process = CallProcesses(concurrency, process_count(concurrency))
        self.call_process.warm(SDK_MODULES[target.provider])

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

    def cassette_provider(self, request: ProviderRequest) -> CassetteProvider | None:
        """The cassette wrapper of a network model, for --batch; None for local or broken models."""
        provider = self._get(self._targets.get(request.label) or resolve_target(request.label, self.settings))
        return provider if isinstance(provider, CassetteProvider) else None

    def replay(self, request: ProviderRequest) -> ProviderResponse | None:
        """The recorded answer when the record mode replays this call, else None (a call is due)."""
        cassette = self.cassette_provider(request)
        return cassette.replay(request) if cassette is not None else None

    def replays(self, request: ProviderRequest) -> bool:
        """Whether ``replay`` answers this call; nothing is marked used or built."""
        cassette = self.cassette_provider(request)
        return cassette is not None and cassette.replays(request)

    def sdk_provider(self, request: ProviderRequest) -> Provider:
        """A fresh SDK provider for a network model, without its rate limit (a batch is one call)."""
        provider = self._sdk_provider(self._targets.get(request.label) or resolve_target(request.label, self.settings))
        return provider.inner if isinstance(provider, RateLimited) else provider

    def queues_in_call_process(self, request: ProviderRequest) -> bool:
        """Whether this call waits in a call process's queue, which bounds calls in flight by
        itself; not when a rate limit here decides when it starts (see CallPool)."""
        provider = self._providers.get(request.label)
        return isinstance(provider, CassetteProvider) and isinstance(provider.inner, RemoteProvider)

    def cancel_queued_calls(self) -> None:
        """Calls handed to a call process and not started yet are dropped (after ``-x``)."""
        if self.call_process is not None:
            self.call_process.cancel_queued()

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
        if target.provider not in NETWORK_TYPES:
            raise ProviderConfigError(
                f"model '{target.label}': unknown provider type '{target.provider}'; "
                f"use one of {', '.join(NETWORK_TYPES)}"
            )
        mode = self.settings.record_mode
        if mode != "none":
            # Recording may call the API: a missing key must show up now, once, before any call.
            self._sdk_provider(target)
        return CassetteProvider(lambda: self._sdk_provider(target, self.call_process), self.cassettes, mode, label=target.label)

    def _sdk_provider(self, target: ModelTarget, call_process: CallProcesses | None = None) -> Provider:
        options = target.options
        common: dict[str, Any] = {
            "label": target.label,
            "timeout_s": float(options.get("timeout_s", self.settings.timeout_s)),
            "max_retries": int(options.get("max_retries", self.settings.max_retries)),
            "price_overrides": self.settings.prices or None,
        }
        if options.get("api_key_env"):
            common["api_key_env"] = str(options["api_key_env"])
        base_url = options.get("base_url")
        provider: Provider
        if target.provider == "anthropic":
            provider = AnthropicProvider(base_url=base_url, **common)
        elif target.provider == "github":
            provider = OpenAIProvider.github(**({"base_url": base_url} if base_url else {}), **common)
        elif target.provider == "compatible":
            if not base_url:
                raise ProviderConfigError(
                    f"provider '{target.label}' needs base_url in [tool.promptcheck.providers.\"{target.label}\"]"
                )
            name = common.pop("label")
            provider = OpenAIProvider.compatible(name, str(base_url), **common)
        else:
            provider = OpenAIProvider.openai(**({"base_url": base_url} if base_url else {}), **common)
        if call_process is not None:
            provider = RemoteProvider(provider, call_process)
        rpm = self.settings.rate_limits.get(target.label) or options.get("requests_per_minute")
        return RateLimited(provider, float(rpm)) if rpm else provider

    def close(self) -> None:
        if self.call_process is not None:
            self.call_process.close()
        self.cassettes.close()
