"""Record/replay as a provider: answers from the cassettes when the record mode allows, calls
the wrapped provider (and records its answer) when it must, and otherwise says how to record.

The record modes are pytest-recording's; see cassette.py for what each means and for storage."""

from __future__ import annotations

import threading
from collections.abc import Callable

from promptcheck.config import RECORD_MODES

from .base import Provider, ProviderConfigError, ProviderError, ProviderRequest, ProviderResponse
from .cassette import CassetteStore, split_item_id


def record_command(request: ProviderRequest) -> str:
    prompt, case = split_item_id(request.item_id)
    target = f" {prompt}" if prompt else ""
    select = f" -k '{case}'" if case else ""
    return f"pytest{target} --record-mode=new{select}"


def record_missing_command(request: ProviderRequest) -> str:
    """The command that records every missing answer of ``request``'s prompt file: the same for
    all of its items, so a missing key is one line of the summary per file, not one per item."""
    prompt, _ = split_item_id(request.item_id)
    return f"pytest{' ' + prompt if prompt else ''} --record-mode=new"


class CassetteProvider:
    """Wraps a provider with record/replay. The inner provider is built only when a call must
    really be made, so replayed answers need neither API keys nor SDK imports; a key that is
    missing then fails only the calls that were due."""

    def __init__(
        self,
        inner_factory: Callable[[], Provider],
        store: CassetteStore,
        mode: str = "none",
        *,
        label: str = "cassette",
        hint: Callable[[ProviderRequest], str] = record_command,
    ) -> None:
        if mode not in RECORD_MODES:
            raise ValueError(f"record mode must be one of {', '.join(RECORD_MODES)}, not {mode!r}")
        self.label = label
        self.mode = mode
        self.store = store
        self._inner_factory = inner_factory
        self._inner: Provider | None = None
        self._inner_lock = threading.Lock()
        self._hint = hint

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        broken = self.store.broken(request)
        if broken is not None:  # before any call: an answer could not be saved into that file
            raise broken
        replayed = self.replay(request)
        if replayed is not None:
            return replayed
        if self.mode == "new" or self.mode == "all":
            return self._record(request)
        if self.mode == "once" and self.store.may_record_once(request):
            return self._record(request)
        raise ProviderError(self._missing_message(request))

    def replays(self, request: ProviderRequest) -> bool:
        """Whether ``complete`` answers from the cassette, checked without marking anything used.
        A cassette that cannot be read answers too, with its error, and no call is made."""
        if self.store.broken(request) is not None:
            return True
        if self.mode == "all" and not self.store.recorded_this_run(request):
            return False  # "all" records everything once per run
        return self.store.has(request)

    def replay(self, request: ProviderRequest) -> ProviderResponse | None:
        """The recorded answer (marked used) when this mode replays it; never touches the network.
        One recorded in this run says it is live (``replayed=False``): see CassetteStore.lookup.
        Raises CassetteError (a ProviderError) when the cassette file cannot be read."""
        broken = self.store.broken(request)
        if broken is not None:
            raise broken
        if self.mode == "all" and not self.store.recorded_this_run(request):
            return None
        return self.store.lookup(request)

    def _record(self, request: ProviderRequest) -> ProviderResponse:
        try:
            inner = self._inner_provider()
        except ProviderConfigError as exc:
            raise ProviderError(
                f"{exc} This answer is not recorded yet; once that is fixed, "
                f"record the missing answers with: {record_missing_command(request)}"
            ) from None
        response = inner.complete(request)
        self.store.record(request, response)
        return response

    @property
    def inner(self) -> Provider | None:
        """The wrapped provider once a call has built it, else None."""
        return self._inner

    def _inner_provider(self) -> Provider:
        with self._inner_lock:
            if self._inner is None:
                self._inner = self._inner_factory()
            return self._inner

    def _missing_message(self, request: ProviderRequest) -> str:
        path = self.store.path_for(request)
        what = request.item_id or f"{request.label} (key {request.key()})"
        why = (
            "record mode 'once' only records into new cassette files"
            if self.mode == "once"
            else "record mode 'none' never calls the API"
        )
        return f"no recorded answer for {what} in {path} ({why}). Record it with: {self._hint(request)}"
