"""One pool for every model call of a session (or of an xdist worker).

Calls are issued ahead of pytest's sequential item loop, up to ``concurrency`` in flight; each
item then waits only for its own answers. pytest's ordering, -x and reporting stay untouched."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable

from promptcheck.engine.budget import Budget, CostLimitReached
from promptcheck.providers.base import ProviderError, ProviderRequest, ProviderResponse

__all__ = ["Budget", "CallPool", "CostLimitReached", "Outcome"]


Outcome = ProviderResponse | ProviderError | CostLimitReached


class CallPool:
    """Up to ``concurrency`` calls at once, each on its own thread.

    A call for which ``queues_elsewhere(request)`` is true waits in a call process's queue, and
    that process keeps ``concurrency`` in flight itself; such calls take no slot here, and half
    as many again are handed over. A call process then starts its next call the moment one
    ends, instead of after the answer's round trip through this process and the pool's next
    hand-over. Not under ``--max-cost``: a call reserves its worst case when it is handed over,
    so a queue elsewhere would hold reservations for calls that have not started."""

    def __init__(
        self,
        call: Callable[[ProviderRequest], ProviderResponse],
        concurrency: int,
        max_cost: float | Budget | None,
        queues_elsewhere: Callable[[ProviderRequest], bool] | None = None,
    ) -> None:
        self._call = call
        self.concurrency = concurrency
        self.budget = max_cost if isinstance(max_cost, Budget) else Budget(max_cost)
        self._queues_elsewhere = queues_elsewhere if self.budget.limit is None else None
        readahead = concurrency // 2 if self._queues_elsewhere is not None else 0
        self._executor = ThreadPoolExecutor(max_workers=concurrency + readahead, thread_name_prefix="promptcheck-call")
        self._slots = threading.BoundedSemaphore(concurrency)
        self._futures: dict[str, Future[Outcome]] = {}
        self._lock = threading.Lock()
        self.in_flight = 0
        self.done = 0

    def submit(self, request: ProviderRequest) -> Future[Outcome]:
        key = self._future_key(request)
        with self._lock:
            future = self._futures.get(key)
            if future is None:
                future = self._executor.submit(self._run, request)
                self._futures[key] = future
            return future

    def result(self, request: ProviderRequest, while_waiting: Callable[[], None] | None = None) -> Outcome:
        future = self.submit(request)
        while True:
            try:
                return future.result(timeout=0.05 if while_waiting else None)
            except FutureTimeout:
                if while_waiting is not None:
                    while_waiting()

    def submitted(self, request: ProviderRequest) -> bool:
        """Whether a call for ``request`` was handed to the pool and not forgotten yet."""
        with self._lock:
            return self._future_key(request) in self._futures

    def forget(self, request: ProviderRequest) -> None:
        """Drop a finished future so a 20,000-item session does not keep every answer alive."""
        with self._lock:
            self._futures.pop(self._future_key(request), None)

    def cancel_pending(self) -> None:
        with self._lock:
            for future in self._futures.values():
                future.cancel()

    def shutdown(self) -> None:
        # Calls still in flight (after -x or Ctrl-C) are nobody's business any more: don't wait.
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, request: ProviderRequest) -> Outcome:
        takes_slot = self._queues_elsewhere is None or not self._queues_elsewhere(request)
        with self._slots if takes_slot else contextlib.nullcontext():
            return self._run_call(request)

    def _run_call(self, request: ProviderRequest) -> Outcome:
        try:
            reserved = self.budget.reserve(request)
        except CostLimitReached as exc:
            return exc
        cost: float | None = None
        with self._lock:
            self.in_flight += 1
        try:
            response = self._call(request)
            # A recorded answer (a sibling worker's, met here) was paid for by its own run.
            cost = None if response.replayed else response.cost
            return response
        except ProviderError as exc:
            return exc
        except Exception as exc:  # a provider bug must not hang or kill the session
            return ProviderError(f"{type(exc).__name__}: {exc}")
        finally:
            self.budget.settle(reserved, cost)
            with self._lock:
                self.in_flight -= 1
                self.done += 1

    @staticmethod
    def _future_key(request: ProviderRequest) -> str:
        return f"{request.item_id}#{request.repeat_index}#{request.key()}"
