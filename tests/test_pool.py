"""The session's call pool (pool.py): how many calls it hands over at once, and to whom."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from promptcheck.engine.pool import CallPool
from promptcheck.providers.base import ProviderRequest, ProviderResponse


class HeldCalls:
    """A call function that holds every call until released, counting how many it holds."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.holding = 0

    def __call__(self, request: ProviderRequest) -> ProviderResponse:
        with self.lock:
            self.holding += 1
        self.release.wait(10)
        return ProviderResponse(text=request.item_id)

    def count_after_reaching(self, expected: int) -> int:
        """How many calls are held once ``expected`` have arrived (or 10 s passed) and 0.3 s more."""
        deadline = time.monotonic() + 10
        while self.holding < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # time for any call beyond the limit to arrive too
        with self.lock:
            return self.holding


def request(i: int) -> ProviderRequest:
    return ProviderRequest("openai", "gpt-4o", "openai:gpt-4o", (("user", f"case {i}"),), item_id=f"p.prompt.yaml::c{i}[openai:gpt-4o]")


@pytest.mark.parametrize(
    ("queues_elsewhere", "max_cost", "handed_over"),
    [
        (lambda r: True, None, 12),  # a call process keeps 8 in flight; 4 more wait in its queue
        (lambda r: False, None, 8),  # e.g. a rate-limited model: the pool decides when calls start
        (None, None, 8),
        (lambda r: True, 5.0, 8),  # --max-cost is checked when a call is handed over
    ],
    ids=["call-process", "rate-limited", "in-process", "max-cost"],
)
def test_calls_a_call_process_queues_are_handed_over_half_again_beyond_the_limit(
    queues_elsewhere: Callable[[ProviderRequest], bool] | None, max_cost: float | None, handed_over: int
) -> None:
    calls = HeldCalls()
    pool = CallPool(calls, concurrency=8, max_cost=max_cost, queues_elsewhere=queues_elsewhere)
    futures = [pool.submit(request(i)) for i in range(30)]
    try:
        assert calls.count_after_reaching(handed_over) == handed_over
    finally:
        calls.release.set()
    assert [f.result(10).text for f in futures] == [request(i).item_id for i in range(30)]  # type: ignore[union-attr]
    pool.shutdown()
