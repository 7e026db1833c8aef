"""Progress for long waits, written through pytest's terminal reporter so it never interleaves
with pytest's own output: batch states while batches run (before any test result is shown),
and answers done / in flight when an item has waited a while for its answer. ``-q`` is quiet."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from promptcheck.engine.pool import Budget, CallPool, Outcome
from promptcheck.providers.base import ProviderRequest, ProviderResponse
from promptcheck.redaction import redact

WAIT_BEFORE_S = 3.0  # short waits are normal; say something only when one drags on
LINE_EVERY_S = {True: 1.0, False: 5.0}  # a tty line is rewritten in place; a log gets fewer lines


class Progress:
    def __init__(self, config: pytest.Config, *, lines_only: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        self._reporter: Any = None if config.get_verbosity() < 0 else reporter
        self._tty = bool(reporter is not None and reporter.isatty and not lines_only)
        self._clock = clock
        self._last = float("-inf")
        self._rewriting = False

    @property
    def active(self) -> bool:
        return self._reporter is not None

    def status(self, line: str, *, force: bool = False) -> None:
        """A status line; on a tty it replaces the previous one in place."""
        if self._reporter is None:
            return
        now = self._clock()
        if not force and now - self._last < LINE_EVERY_S[self._tty]:
            return
        self._last = now
        line = redact(line)  # batch states carry the API's words
        if self._tty:
            self._reporter.rewrite(line, erase=True)
            self._rewriting = True
        else:
            self._reporter.write_line(line)

    def done(self, line: str | None = None) -> None:
        """End a series of status lines, leaving ``line`` (or nothing) behind."""
        if self._reporter is None:
            return
        line = redact(line) if line else line
        if self._rewriting:
            self._reporter.rewrite(line or "", erase=True)
            if line:
                self._reporter.write_line("")
            else:
                self._reporter.rewrite("")
            self._rewriting = False
        elif line:
            self._reporter.write_line(line)


class ProgressPool(CallPool):
    """A CallPool that reports its counts while an item has waited long for an answer.

    Test results are on screen by then, so these are whole lines (never an in-place rewrite that
    could clobber pytest's current line), spaced out well apart."""

    def __init__(
        self,
        progress: Progress,
        call: Callable[[ProviderRequest], ProviderResponse],
        concurrency: int,
        max_cost: float | Budget | None,
        queues_elsewhere: Callable[[ProviderRequest], bool] | None = None,
    ) -> None:
        super().__init__(call, concurrency, max_cost, queues_elsewhere)
        self._progress = progress
        self._every = 10.0

    def result(self, request: ProviderRequest, while_waiting: Callable[[], None] | None = None) -> Outcome:
        if not self._progress.active:
            return super().result(request, while_waiting)
        started, last = time.monotonic(), float("-inf")  # the first line as soon as the wait drags on

        def tick() -> None:
            nonlocal last
            if while_waiting is not None:
                while_waiting()
            now = time.monotonic()
            if now - started >= WAIT_BEFORE_S and now - last >= self._every:
                last = now
                with self._lock:
                    # Calls handed over beyond the limit wait in a call process's queue.
                    in_flight = min(self.in_flight, self.concurrency)
                    queued = sum(not f.done() for f in self._futures.values()) - in_flight
                line = f"promptcheck: waiting for answers: {self.done} done, {in_flight} in flight, {max(queued, 0)} queued"
                self._progress.status(line, force=True)

        return super().result(request, tick)


def make_pool(
    config: pytest.Config,
    call: Callable[[ProviderRequest], ProviderResponse],
    concurrency: int,
    max_cost: float | Budget | None,
    queues_elsewhere: Callable[[ProviderRequest], bool] | None = None,
) -> CallPool:
    progress = Progress(config, lines_only=True)  # see ProgressPool
    if not progress.active:
        return CallPool(call, concurrency, max_cost, queues_elsewhere)
    return ProgressPool(progress, call, concurrency, max_cost, queues_elsewhere)
