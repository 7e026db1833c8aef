"""What the OpenAI and Anthropic providers share: keys, timing, cost and error wording.

Both official SDKs are generated from the same template (Stainless), so their clients take the
same ``timeout``/``max_retries`` options, retry the same failures (connection errors, timeouts,
408/409/429/5xx, honouring ``retry-after``) and raise parallel exception hierarchies. The
subclasses only translate a ProviderRequest to SDK arguments and an SDK result back.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import typing
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from promptcheck import redaction

from .answer_shape import AnswerShapeError
from .finish import normalize_finish_reason
from .base import ProviderConfigError, ProviderError, ProviderRequest, ProviderResponse, ToolCall, Usage
from .pricing import parse_price_overrides, priced, warm_prices

if TYPE_CHECKING:  # pydantic comes with the SDKs; imported here only for its type
    from pydantic import BaseModel

_REASONS = {
    400: "bad request",
    401: "authentication failed",
    403: "permission denied",
    404: "not found",
    408: "request timeout",
    409: "conflict",
    413: "request too large",
    422: "unprocessable request",
    429: "rate limited",
    500: "server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
    529: "overloaded",
}


# The pydantic model each SDK parses an answer into (module, class), and its client class.
ANSWER_MODELS = {"openai": ("openai.types.chat", "ChatCompletion"), "anthropic": ("anthropic.types", "Message")}
CLIENT_CLASSES = {"openai": "OpenAI", "anthropic": "Anthropic"}
_prepare_lock = threading.Lock()
# The SDK modules prepare_sdk has done, in this process. Kept by identity: a host that drops an
# SDK from sys.modules (pytester restores it after each in-process run) gets a new module to prepare.
_prepared: dict[str, ModuleType] = {}


def prepare_sdk(name: str) -> ModuleType:
    """Import SDK ``name`` and build the pydantic models of its answers, once, on this thread.

    Both SDKs declare their models with ``defer_build``, so each model is built on first use.
    When 32 threads parse their first answers at once they race in that build (pydantic#11849)
    and one of them fails with "BaseModel cannot be instantiated directly".

    A first client is made and dropped too: it imports the HTTP stack (~0.1 s), which a call
    process then does while pytest still collects instead of before its first request."""
    done = _prepared.get(name)
    if done is not None and sys.modules.get(name) is done:
        return done
    with _prepare_lock:
        sdk = importlib.import_module(name)
        if _prepared.get(name) is not sdk:
            for model in answer_models(name):
                model.model_rebuild()
            # Port 9 (discard): nothing connects; building a client opens no connection.
            getattr(sdk, CLIENT_CLASSES[name])(api_key="promptcheck-prepare", base_url="http://127.0.0.1:9").close()
            warm_prices()  # answers are priced as they arrive; its data loads once, here
            _prepared[name] = sdk
    return sdk


def answer_models(name: str) -> list[type[BaseModel]]:
    """The answer model of SDK ``name`` and every model its fields can hold."""
    module, model = ANSWER_MODELS[name]
    return list(_models_reachable(getattr(importlib.import_module(module), model)))


def _models_reachable(annotation: Any, seen: set[type] | None = None) -> Iterator[type[BaseModel]]:
    """Every pydantic model in ``annotation``'s field types, recursively (unions included)."""
    seen = set() if seen is None else seen
    fields = getattr(annotation, "model_fields", None)
    if isinstance(annotation, type) and isinstance(fields, dict):
        if annotation in seen:
            return
        seen.add(annotation)
        # A class with a model_fields dict is a pydantic model: told by duck typing, so that
        # pydantic is not imported before an SDK is.
        yield cast("type[BaseModel]", annotation)
        for field in fields.values():
            yield from _models_reachable(field.annotation, seen)
        return
    for argument in typing.get_args(annotation):
        yield from _models_reachable(argument, seen)


def resolve_api_key(explicit: str | None, env_var: str | None, *, required: bool, who: str) -> str | None:
    """An explicit key wins, then the environment; a missing required key fails before any call.
    The key found is redacted from every message and file from now on (redaction.remember)."""
    if explicit:
        redaction.remember(explicit)
        return explicit
    if env_var and os.environ.get(env_var):
        redaction.remember(os.environ[env_var])
        return os.environ[env_var]
    if required:
        where = f"set the {env_var} environment variable" if env_var else "configure an API key"
        raise ProviderConfigError(f"{who} needs an API key: {where}.")
    return None


def pick(params: Mapping[str, Any], *names: str) -> Any:
    """First present spelling of a parameter (prompt files mix snake_case and camelCase)."""
    for name in names:
        if params.get(name) is not None:
            return params[name]
    return None


def _attempts(exc: BaseException) -> int | None:
    # The SDKs stamp every attempt with this header, so the last request tells how many ran.
    request = getattr(exc, "request", None)
    try:
        return int(request.headers["x-stainless-retry-count"]) + 1 if request is not None else None
    except (KeyError, ValueError, AttributeError):
        return None


def _api_message(body: object) -> str | None:
    # OpenAI's SDK hands over the inner "error" object, Anthropic's the whole body.
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return None


def describe_sdk_error(exc: BaseException, sdk: ModuleType, *, who: str, timeout_s: float) -> str | None:
    """A plain-words message for a failure raised by ``sdk``; None if it is not an API failure."""
    attempts = _attempts(exc)
    tail = f" (gave up after {attempts} attempts)" if attempts and attempts > 1 else ""
    if isinstance(exc, sdk.APITimeoutError):
        return f"{who}: request timed out after {timeout_s:g}s{tail}"
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = f"{type(cause).__name__}: {cause}" if cause else str(exc)
        return f"{who}: connection failed: {detail}{tail}"
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        reason = _REASONS.get(status, "error")
        message = _api_message(exc.body) or exc.message
        return f"{who}: HTTP {status} ({reason}): {message}{tail}"
    if isinstance(exc, sdk.APIResponseValidationError):
        return f"{who}: the API answer did not have the expected shape: {exc.message}"
    if isinstance(exc, json.JSONDecodeError):
        # The SDKs parse the body lazily and let the decoder error through unwrapped.
        return f"{who}: the API answered with malformed JSON ({exc})"
    if type(exc).__module__.split(".")[0] == sdk.__name__:
        return f"{who}: {exc}"  # any other SDK-raised failure, e.g. a refused option
    return None


class SDKProvider(ABC):
    """Call flow shared by the SDK-backed providers; subclasses map requests and results.

    The constructor only checks the configuration (the API key above all); the SDK is imported
    and its client built on first use. Importing ``openai`` costs about a second of CPU, which
    a run that replays, or that hands its calls to a call process, never needs to spend."""

    sdk_name: str  # the SDK package to import, e.g. "openai"

    def __init__(
        self,
        *,
        label: str,
        timeout_s: float,
        max_retries: int,
        price_overrides: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.label = label
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.prices = parse_price_overrides(price_overrides)
        self._client: Any = None
        self._client_lock = threading.Lock()
        # Literals redacted from this provider's messages, in a call process too, where the
        # parent's redaction.remember() did not run: its key and credential header values.
        self.secrets: tuple[str, ...] = redaction.credential_values(headers or {})
        # Sent with every call; as in promptfoo, a header given here replaces the SDK's own
        # (an Authorization header replaces the one built from the key).
        self.headers: dict[str, str] | None = dict(headers) if headers else None

    def __getstate__(self) -> dict[str, Any]:
        # Sent to a call process as its recipe: the configuration, not the live client or lock.
        state = dict(self.__dict__)
        state["_client"] = None
        del state["_client_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._client_lock = threading.Lock()

    @property
    def sdk(self) -> ModuleType:
        return prepare_sdk(self.sdk_name)

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._client_lock:  # 64 pool threads may ask for it at once
                if self._client is None:
                    self._client = self._make_client(self.sdk)
        return self._client

    @abstractmethod
    def _make_client(self, sdk: ModuleType) -> Any:
        """The SDK client (``sdk.OpenAI(...)``, ``sdk.Anthropic(...)``)."""

    @abstractmethod
    def _send(self, request: ProviderRequest) -> Any:
        """Make the SDK call; SDK exceptions propagate."""

    @abstractmethod
    def _parse(self, result: Any) -> tuple[str, Usage, dict[str, Any]]:
        """(text, usage, raw_meta) from the SDK's result object."""

    def _tool_calls(self, result: Any) -> tuple[ToolCall, ...]:
        """The tool calls in the SDK's result object, next to its text (none by default)."""
        return ()

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        started = time.perf_counter()
        try:
            result = self._send(request)
        except Exception as exc:
            message = describe_sdk_error(exc, self.sdk, who=self.label, timeout_s=self.timeout_s)
            if message is None:
                raise
            raise self.error(message) from exc
        return self.respond(request, result, time.perf_counter() - started)

    def error(self, message: str) -> ProviderError:
        """A ProviderError whose message holds no key: servers echo the credential they were sent."""
        return ProviderError(redaction.redact(message, self.secrets))

    def respond(self, request: ProviderRequest, result: Any, latency_s: float, price_factor: float = 1.0) -> ProviderResponse:
        """The response for an SDK result object; also used for Batch API results (half price)."""
        try:
            text, usage, meta = self._parse(result)
            tool_calls = self._tool_calls(result)
        except (AnswerShapeError, AttributeError, IndexError, KeyError, TypeError) as exc:
            # A server answered 200 with something else: an HTML page, a list, another API's JSON.
            raise self.error(f"{self.label}: the API answer did not have the expected shape ({exc})") from exc
        priced_at = priced(request.model, usage, self.prices, request.provider)
        if priced_at is None and meta.get("model"):
            priced_at = priced(str(meta["model"]), usage, self.prices, request.provider)
        cost = priced_at.usd * price_factor if priced_at is not None else None
        if priced_at is not None:
            meta["price_source"] = priced_at.source  # kept in cassettes and the run record
        return ProviderResponse(
            text=text, usage=usage, latency_s=latency_s, cost=cost, raw_meta=meta,
            finish_reason=normalize_finish_reason(meta.get("finish_reason")), tool_calls=tool_calls,
        )
