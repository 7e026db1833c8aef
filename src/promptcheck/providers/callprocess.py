"""SDK calls in a child process, so they run on another core than pytest's item loop.

Each call costs about 2 ms of CPU inside the SDK (building the request, httpx, parsing the
answer). Under one GIL, 2,000 calls plus importing the SDK took as much CPU as pytest's own
protocol for the items, and a 64-wide pool could not keep the server busy. The child has its
own GIL: it imports the SDK, builds the clients and runs up to ``concurrency`` calls at once,
while the parent's pool threads only wait on a pipe. Everything else stays in the parent:
cassettes, rate limits, ``--max-cost``, and the order and outcome of items.

Wire format: pickles over each child's pipes, written under a lock (callserver.py is the child).

* parent → child: ``("import", sdk_module)`` to import an SDK before the first call needs it,
  ``("provider", provider_id, provider)``, then ``("call", call_id, provider_id, request)``;
  ``("cancel", call_id)`` drops the calls up to ``call_id`` that have not started;
  ``("fork", concurrency, in_fd, out_fd)`` asks the first child to start a sibling on those pipes
* child → parent: ``(0, "pid", pid)`` first, then ``(call_id, "ok", ProviderResponse)`` or
  ``(call_id, "error", message)``

Closing the child's stdin ends it at once; calls still in flight are abandoned, as the
in-process pool abandons them after ``-x`` or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .base import Provider, ProviderError, ProviderRequest, ProviderResponse

SDK_MODULES = {
    "openai": "openai", "github": "openai", "compatible": "openai", "anthropic": "anthropic",
    "azure": "openai", "gemini": "openai", "google": "openai", "ollama": "openai", "bedrock": "anthropic", "vertex": "anthropic",
}
# Calls in flight per child. At 2-3 ms of SDK CPU per call, one child answering a fast server
# (200 ms, 64 in flight: 320 calls/s) is busy all the time and its calls queue for its GIL; two
# children of 32 made the 2,000-call benchmark ~0.7 s faster on two cores (docs/benchmarks.md).
CALLS_PER_PROCESS = 32


def process_count(concurrency: int, cpus: int | None = None) -> int:
    """Children for ``concurrency`` calls in flight: one per CALLS_PER_PROCESS, at most one per core."""
    return max(1, min(cpus or os.cpu_count() or 1, math.ceil(concurrency / CALLS_PER_PROCESS)))


def split_concurrency(concurrency: int, count: int) -> list[int]:
    """Calls in flight per child; the shares add up to exactly ``concurrency``."""
    return [concurrency // count + (1 if i < concurrency % count else 0) for i in range(count)]


def wanted(setting: str, *, is_worker: bool, cpus: int | None = None) -> bool:
    """Whether network calls go through a call process (``call_process`` = auto, on or off).

    ``auto`` means yes when there is a core to spare: the child imports the SDK while pytest is
    still collecting, so even a run of three calls gets its first answer no later. An xdist
    worker shares the machine's cores with its siblings already."""
    if setting != "auto":
        return setting == "on"
    return not is_worker and (cpus or os.cpu_count() or 1) > 1


class _Stopped(ProviderError):
    """The child is gone; the waiter adds its provider's label."""


# Siblings are forked from the first child on Linux only: elsewhere a fork after importing the
# SDK's TLS stack is not safe (macOS), or there is no fork (Windows).
FORK_SIBLINGS = sys.platform == "linux"


class CallProcess:
    """The parent's end of one child: sends calls and hands each answer to its waiter."""

    def __init__(self, inbox: IO[bytes], outbox: IO[bytes], stderr: IO[bytes], process: subprocess.Popen[bytes] | None = None) -> None:
        self._inbox = inbox
        self._stderr = stderr  # shared by all the children, closed by CallProcesses
        self._process = process  # None for a sibling forked by the first child
        self.pid: int | None = process.pid if process else None
        self._lock = threading.Lock()
        self._pending: dict[int, Future[ProviderResponse]] = {}
        self._provider_ids: dict[int, int] = {}  # id(provider) -> number the child knows it by
        self._next_call = 0
        self._warmed: set[str] = set()
        self._stopped: str | None = None
        self._reader = threading.Thread(target=self._read, args=(outbox,), name="promptcheck-call-process", daemon=True)
        self._reader.start()

    @classmethod
    def spawn(cls, concurrency: int, stderr: IO[bytes], sibling_fds: list[int] | None = None) -> CallProcess:
        # The child must import this very promptcheck even when pytest found it through
        # `pythonpath = src` or a conftest, not through site-packages.
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        fds = sibling_fds or []
        process = subprocess.Popen(
            [sys.executable, "-m", "promptcheck.providers.callserver", str(concurrency), ",".join(map(str, fds))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            pass_fds=fds,
        )
        assert process.stdin is not None and process.stdout is not None
        return cls(process.stdin, process.stdout, stderr, process)

    def warm(self, sdk_module: str) -> None:
        """Have the child import ``sdk_module`` now, while the parent still collects."""
        with self._lock:
            if sdk_module in self._warmed or self._stopped:
                return
            self._warmed.add(sdk_module)
            self._send(("import", sdk_module))

    def call(self, provider: Provider, request: ProviderRequest) -> ProviderResponse:
        future: Future[ProviderResponse] = Future()
        with self._lock:
            if self._stopped:
                raise ProviderError(f"{provider.label}: {self._stopped}")
            self._next_call += 1
            call_id = self._next_call
            self._pending[call_id] = future
            provider_id = self._provider_ids.get(id(provider))
            if provider_id is None:
                provider_id = self._provider_ids[id(provider)] = len(self._provider_ids) + 1
                self._send(("provider", provider_id, provider))
            self._send(("call", call_id, provider_id, request))
        try:
            return future.result()
        except _Stopped as exc:
            raise ProviderError(f"{provider.label}: {exc}") from None

    def pending(self) -> int:
        return len(self._pending)

    def cancel_queued(self) -> None:
        """Drop the calls sent so far that the child has not started (after ``-x``)."""
        self.send(("cancel", self._next_call))

    def send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            if not self._stopped:
                self._send(message)

    @property
    def stopped(self) -> bool:
        return self._stopped is not None

    def close_inbox(self) -> None:
        """The child ends when it reads the end of its inbox."""
        with self._lock:
            if self._stopped is None:
                self._stopped = "the call process was closed"
            with contextlib.suppress(OSError):
                self._inbox.close()

    def close(self) -> None:
        self.close_inbox()
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._reader.join(timeout=5)
        if self._reader.is_alive() and self.pid is not None:  # a sibling that did not end with its pipe
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            self._reader.join(timeout=5)

    def _send(self, message: tuple[Any, ...]) -> None:
        # Under self._lock. A dead child shows up as a broken pipe here and as end-of-file in
        # the reader, which fails every pending call with the reason.
        with contextlib.suppress(OSError, ValueError):
            pickle.dump(message, self._inbox, pickle.HIGHEST_PROTOCOL)
            self._inbox.flush()

    def _read(self, outbox: IO[bytes]) -> None:
        while True:
            try:
                call_id, kind, payload = pickle.load(outbox)
            except Exception:  # end of file, or a child killed mid-message
                break
            if kind == "pid":
                self.pid = payload
                continue
            with self._lock:
                future = self._pending.pop(call_id, None)
            if future is not None:
                if kind == "ok":
                    future.set_result(payload)
                else:
                    future.set_exception(ProviderError(payload))
        # A forked sibling is not our child: its exit code is its parent's to know.
        code = f" (exit code {self._process.wait()})" if self._process is not None else ""
        with self._lock:
            if self._stopped is None:
                self._stopped = f"the call process stopped unexpectedly{code}{self._last_words()}"
            waiting, self._pending = self._pending, {}
        for future in waiting.values():
            future.set_exception(_Stopped(self._stopped))

    def _last_words(self) -> str:
        size = self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, size - 4096))
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return f": {lines[-1]}" if lines else ""


class CallProcesses:
    """One or more call processes used as one: a call goes to the child with the fewest pending."""

    def __init__(self, concurrency: int, count: int = 1) -> None:
        # Shares add up to exactly ``concurrency``: the children's own limits are what bounds
        # the calls in flight once the pool hands over more (see CallPool).
        shares = [share for share in split_concurrency(concurrency, count) if share]
        # A file, not a pipe: nobody reads the children's stderr until one fails, and a full
        # pipe would stall it. Its last lines explain an unexpected exit.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        self._forks: list[tuple[Any, ...]] = []  # what the first child is asked, once it has the SDK
        self._forks_lock = threading.Lock()
        if not FORK_SIBLINGS or len(shares) == 1:
            self.children = [CallProcess.spawn(share, self._stderr) for share in shares]
            return
        # Per sibling, a pipe each way; the first child holds the sibling's ends until it forks.
        pipes = [(os.pipe(), os.pipe()) for _ in shares[1:]]
        sibling_ends = [fd for (to_read, _), (_, from_write) in pipes for fd in (to_read, from_write)]
        first = CallProcess.spawn(shares[0], self._stderr, sibling_ends)
        for fd in sibling_ends:
            os.close(fd)
        siblings = [CallProcess(os.fdopen(to_write, "wb"), os.fdopen(from_read, "rb"), self._stderr) for (_, to_write), (from_read, _) in pipes]
        self._forks = [("fork", share, to_read, from_write) for share, ((to_read, _), (_, from_write)) in zip(shares[1:], pipes)]
        self.children = [first, *siblings]

    def warm(self, sdk_module: str) -> None:
        for child in self.children:
            child.warm(sdk_module)
        self._start_siblings()  # after the first child's import, so the forks share it

    def call(self, provider: Provider, request: ProviderRequest) -> ProviderResponse:
        self._start_siblings()  # no-op once done; a call without a warm-up must not wait forever
        # A child that died fails only the calls it held; the others take the rest.
        alive = [child for child in self.children if not child.stopped] or self.children
        return min(alive, key=CallProcess.pending).call(provider, request)

    def cancel_queued(self) -> None:
        for child in self.children:
            child.cancel_queued()

    def close(self) -> None:
        for child in self.children:  # all at once: the first child waits for the siblings it forked
            child.close_inbox()
        for child in self.children:
            child.close()
        self._stderr.close()

    def _start_siblings(self) -> None:
        if self._forks:
            with self._forks_lock:
                forks, self._forks = self._forks, []
            for message in forks:
                self.children[0].send(message)


@dataclass
class RemoteProvider:
    """``provider`` (an SDK provider, configured and checked here) with its calls made in ``process``."""

    provider: Provider
    process: CallProcesses

    @property
    def label(self) -> str:
        return self.provider.label

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        return self.process.call(self.provider, request)
