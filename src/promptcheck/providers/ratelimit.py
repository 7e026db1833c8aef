"""Requests-per-minute limits per provider, shared by every pool thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from promptcheck.providers.base import Provider, ProviderRequest, ProviderResponse


@dataclass
class RateLimited:
    """Spaces calls evenly at ``per_minute``; a slot is taken before the call, so bursts never exceed it."""

    inner: Provider
    per_minute: float
    _next_slot: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def label(self) -> str:
        return self.inner.label

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        interval = 60.0 / self.per_minute
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + interval
        if slot > now:
            time.sleep(slot - now)
        return self.inner.complete(request)
