"""``--max-cost``: reserve each call's worst case before it is sent, settle to its real cost
when it is answered. Spend plus what calls in flight hold never passes the cap, whatever the
concurrency: a call whose reservation would pass it is not sent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from promptcheck.providers.base import ProviderRequest


_ROUNDING = 1e-12  # USD: a call that exactly fills the cap fits, whatever float sums make of it


class CostLimitReached(Exception):
    """--max-cost does not allow this call; the item is skipped with this reason."""


@dataclass
class Budget:
    limit: float | None
    # The most a call may cost, or None when unknown (then it reserves nothing).
    worst_case: Callable[[ProviderRequest], float | None] = lambda request: None
    # How the cap is named in messages (under xdist each worker holds a share of it).
    name: str = ""
    spent: float = 0.0
    held: float = 0.0  # reserved by calls in flight
    holding: int = 0  # how many calls hold a reservation (float sums never quite return to 0)
    not_sent: int = 0
    _settled: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def __post_init__(self) -> None:
        if not self.name and self.limit is not None:
            self.name = f"--max-cost ${self.limit:.4f}"

    def reserve(self, request: ProviderRequest) -> float:
        """Hold the call's worst case; raises CostLimitReached when it cannot fit. A call that
        does not fit while others are in flight waits for them to settle (they mostly cost far
        less than their worst case), so a wide pool spends as far as a serial run would."""
        if self.limit is None:
            return 0.0
        worst = self.worst_case(request) or 0.0
        with self._settled:
            while True:
                if self.spent >= self.limit:
                    self.not_sent += 1
                    raise CostLimitReached(f"{self.name} reached (spent ${self.spent:.4f}); no new calls issued")
                left = self.limit - self.spent - self.held
                if worst <= left + _ROUNDING:
                    self.held += worst
                    self.holding += 1
                    return worst
                if not self.holding:
                    self.not_sent += 1
                    raise CostLimitReached(
                        f"{self.name} would be passed: this call may cost up to ${worst:.4f} and ${max(left, 0.0):.4f} "
                        f"is left (spent ${self.spent:.4f}); not sent"
                    )
                self._settled.wait(timeout=1.0)

    def settle(self, reserved: float, cost: float | None) -> None:
        """The call is over: release its reservation and count what it really cost."""
        with self._settled:
            if self.limit is None:  # nothing was reserved
                self.spent += cost or 0.0
                return
            self.holding -= 1
            self.held = max(self.held - reserved, 0.0) if self.holding else 0.0
            self.spent += cost or 0.0
            self._settled.notify_all()


@dataclass
class Spend:
    """What ``--max-cost`` saw in a session, summed over xdist workers for the summary."""

    spent: float = 0.0
    not_sent: int = 0

    def add(self, spent: float, not_sent: int) -> None:
        self.spent += spent
        self.not_sent += not_sent

    def summary_line(self, limit: float) -> str:
        calls = f"{self.not_sent} call{'s' if self.not_sent != 1 else ''}"
        kept = f"{calls} not sent because their worst case would have passed the cap" if self.not_sent else "no call held back"
        return f"--max-cost ${limit:.4f}: spent ${self.spent:.4f}; {kept}"


def session_budget(limit: float | None, worst_case: Callable[[ProviderRequest], float | None], workers: int = 1) -> Budget:
    """The budget of one process: under xdist each of ``workers`` holds an equal share of the cap,
    so together they cannot pass it."""
    if limit is None or workers <= 1:
        return Budget(limit, worst_case)
    share = limit / workers
    return Budget(share, worst_case, name=f"--max-cost ${limit:.4f} (${share:.4f} for each of {workers} workers)")
