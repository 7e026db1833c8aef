"""Creates each provider once per session and routes calls to it.

Which provider types exist comes from a ProviderRegistry (the built-ins, plus what plugins add).
Recorded types (network APIs, and plugin types unless they are local) are wrapped in cassettes;
configuration problems (an unknown model, a missing API key) are reported once per provider.
A missing key stops the whole model only under ``--record-mode=all``, where every answer is a
call; otherwise recorded answers replay without one, and only calls that are really due fail."""

from __future__ import annotations

import threading

from promptcheck.config import Settings
from promptcheck.providers.base import Provider, ProviderConfigError, ProviderRequest, ProviderResponse
from promptcheck.providers.callprocess import SDK_MODULES, CallProcesses, RemoteProvider, process_count
from promptcheck.providers.cassette import CassetteStore
from promptcheck.providers.costcap import worst_case_cost
from promptcheck.providers.recording import CassetteProvider
from promptcheck.providers.ratelimit import RateLimited
from promptcheck.providers.registry import NO_TYPE, ModelTarget, ProviderRegistry, ProviderType, resolve_target, unknown_model_message
from promptcheck.providers.webhook import WebhookProvider


class ProviderFactory:
    def __init__(
        self, settings: Settings, cassettes: CassetteStore | None = None, registry: ProviderRegistry | None = None
    ) -> None:
        self.settings = settings
        self.cassettes = cassettes or CassetteStore(settings.rootdir / (settings.cassette_dir or "cassettes"))
        self.registry = registry if registry is not None else ProviderRegistry.builtin()
        self._providers: dict[str, Provider] = {}
        self._errors: dict[str, str] = {}  # the model cannot run at all
        # The model's calls cannot be made (a missing key found when one was due); its recorded
        # answers still replay. Kept apart from _errors, which would fail every item of the model.
        self._call_errors: dict[str, str] = {}
        self._targets: dict[str, ModelTarget] = {}
        self._lock = threading.Lock()
        self.call_process: CallProcesses | None = None
        self._webhook: CassetteProvider | None = None

    def warm_call_process(self, target: ModelTarget) -> None:
        """Start the call process if need be, and have it import ``target``'s SDK (see callprocess)."""
        if target.provider not in SDK_MODULES:
            return
        if self.call_process is None:
            concurrency = self.settings.concurrency
            self.call_process = CallProcesses(concurrency, process_count(concurrency))
        self.call_process.warm(SDK_MODULES[target.provider])

    def config_error(self, target: ModelTarget) -> str | None:
        """The reason this target cannot run at all (every item of it errors), or None; creates
        the provider on first use. A key that is missing outside ``--record-mode=all`` is not
        one: it fails only the calls that are due (see ``errors``)."""
        self._get(target)
        return self._errors.get(target.label)

    def call(self, request: ProviderRequest) -> ProviderResponse:
        target = self._targets.get(request.label) or resolve_target(request.label, self.settings)
        provider = self._get(target)
        if provider is None:
            raise ProviderConfigError(self._errors[target.label])
        return provider.complete(request)

    def worst_case_cost(self, request: ProviderRequest) -> float | None:
        """The most ``request`` can cost (``--max-cost`` reserves it), None when unknown: local
        and ``python:`` providers report their own cost, if any, only once they answered."""
        target = self._targets.get(request.label) or resolve_target(request.label, self.settings)
        kind = self.registry.get(target.provider)
        if kind is None or not kind.recorded:
            return None
        return worst_case_cost(request, target.provider, self.settings.prices or None)

    def webhook(self) -> CassetteProvider:
        """The ``webhook`` check's POSTs, recorded and replayed under the record mode like answers."""
        with self._lock:
            if self._webhook is None:
                self._webhook = CassetteProvider(WebhookProvider, self.cassettes, self.settings.record_mode, label="webhook")
            return self._webhook

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
        target = self._targets.get(request.label) or resolve_target(request.label, self.settings)
        provider = self._caller(self._kind(target), target)
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
        """One message per model label that could not run or could not call, for the summary, in
        the order the models were first asked for (pool threads fail in any order)."""
        found = {**self._call_errors, **self._errors}
        order = {label: index for index, label in enumerate(self._targets)}
        return dict(sorted(found.items(), key=lambda entry: order.get(entry[0], len(order))))

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
        kind = self._kind(target)
        if not kind.recorded:
            return self._construct(kind, target)
        if self.settings.record_mode == "all":
            # Every answer is recorded again, so every item needs the key: a missing one is the
            # whole model's error, found now, before any call. Other modes replay what exists
            # and ask for the key only when an answer is missing (CassetteProvider).
            self._live_provider(kind, target)
        return CassetteProvider(
            lambda: self._caller(kind, target, self.call_process), self.cassettes, self.settings.record_mode, label=target.label
        )

    def _caller(self, kind: ProviderType, target: ModelTarget, call_process: CallProcesses | None = None) -> Provider:
        """``_live_provider``, built when a call is due; a configuration error is kept for the
        summary and given again to later calls, which would only fail the same way."""
        known = self._call_errors.get(target.label)
        if known is not None:
            raise ProviderConfigError(known)
        try:
            return self._live_provider(kind, target, call_process)
        except ProviderConfigError as exc:
            # setdefault: pool threads may fail at once, and the summary has one line per model.
            self._call_errors.setdefault(target.label, str(exc))
            raise

    def _live_provider(self, kind: ProviderType, target: ModelTarget, call_process: CallProcesses | None = None) -> Provider:
        """The provider that really calls, for a recorded type: in the call process when there is
        one and the type is an SDK's (plugin providers cannot be rebuilt there), rate-limited."""
        provider = self._construct(kind, target)
        if call_process is not None and target.provider in SDK_MODULES:
            provider = RemoteProvider(provider, call_process)
        rpm = self.settings.rate_limits.get(target.label) or target.options.get("requests_per_minute")
        return RateLimited(provider, float(rpm)) if rpm else provider

    def _construct(self, kind: ProviderType, target: ModelTarget) -> Provider:
        try:
            return kind.create(target, self.settings)
        except ProviderConfigError:
            raise
        except Exception as exc:  # a plugin's constructor failing is that model's config error, reported once
            raise ProviderConfigError(
                f"model '{target.label}': provider type '{kind.name}' failed to start: {type(exc).__name__}: {exc}"
            ) from None

    def _kind(self, target: ModelTarget) -> ProviderType:
        kind = self.registry.get(target.provider)
        if kind is None:
            raise ProviderConfigError(self._unknown_type_message(target))
        return kind

    def _unknown_type_message(self, target: ModelTarget) -> str:
        if target.provider == NO_TYPE:
            return unknown_model_message(target)
        message = f"model '{target.label}': unknown provider type '{target.provider}'; use one of {', '.join(self.registry.names())}"
        if target.label not in self.settings.providers:  # a <type>:<model> label, not a providers table
            message += f", or configure [tool.promptcheck.providers.\"{target.label}\"] with type, model and base_url"
        return message

    def close(self) -> None:
        if self.call_process is not None:
            self.call_process.close()
        self.cassettes.close()
