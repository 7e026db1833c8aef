"""SDK calls in a child process, so they run on another core than pytest's item loop.

Each call costs about 2 ms of CPU inside the SDK (building the request, httpx, parsing the
answer). Under one GIL, 2,000 calls plus importing the SDK took as much CPU as pytest's own
protocol for the items, and a 64-wide pool could not keep the server busy. The child has its
own GIL: it imports the SDK, builds the clients and runs up to ``concurrency`` calls at once,
while the parent's pool threads only wait on a pipe. Everything else stays in the parent:
cassettes, rate limits, ``--max-cost``, and the order and outcome of items.

Wire format: pickles over the child's stdin/stdout, written under a lock.

* parent → child: ``("import", sdk_module)`` to import an SDK before the first call needs it,
  ``("provider", provider_id, provider)``, then ``("call", call_id, provider_id, request)``;
  ``("cancel", call_id)`` drops the calls up to ``call_id`` that have not started
* child → parent: ``(call_id, "ok", ProviderResponse)`` or ``(call_id, "error", message)``

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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .base import Provider, ProviderError, ProviderRequest, ProviderResponse
from .sdk_common import prepare_sdk

SDK_MODULES = {"openai": "openai", "github": "openai", "compatible": "openai", "anthropic": "anthropic"}
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


class CallProcess:
    """The parent's end: starts the child, sends calls and hands each answer to its waiter."""

    def __init__(self, concurrency: int) -> None:
        # The child must import this very promptcheck even when pytest found it through
        # `pythonpath = src` or a conftest, not through site-packages.
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        # A file, not a pipe: nobody reads the child's stderr until it fails, and a full pipe
        # would stall it. Its last lines explain an unexpected exit.
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "promptcheck.providers.callprocess", str(concurrency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._inbox: IO[bytes] = self._process.stdin
        self._lock = threading.Lock()
        self._pending: dict[int, Future[ProviderResponse]] = {}
        self._provider_ids: dict[int, int] = {}  # id(provider) -> number the child knows it by
        self._next_call = 0
        self._warmed: set[str] = set()
        self._stopped: str | None = None
        self._reader = threading.Thread(target=self._read, args=(self._process.stdout,), name="promptcheck-call-process", daemon=True)
        self._reader.start()

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
        with self._lock:
            if not self._stopped:
                self._send(("cancel", self._next_call))

    def close(self) -> None:
        with self._lock:
            if self._stopped is None:
                self._stopped = "the call process was closed"
            with contextlib.suppress(OSError):
                self._inbox.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=5)
        self._stderr.close()

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
            with self._lock:
                future = self._pending.pop(call_id, None)
            if future is not None:
                if kind == "ok":
                    future.set_result(payload)
                else:
                    future.set_exception(ProviderError(payload))
        code = self._process.wait()
        with self._lock:
            if self._stopped is None:
                self._stopped = f"the call process stopped unexpectedly (exit code {code}){self._last_words()}"
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
        self.children = [CallProcess(share) for share in split_concurrency(concurrency, count) if share]

    def warm(self, sdk_module: str) -> None:
        for child in self.children:
            child.warm(sdk_module)

    def call(self, provider: Provider, request: ProviderRequest) -> ProviderResponse:
        return min(self.children, key=CallProcess.pending).call(provider, request)

    def cancel_queued(self) -> None:
        for child in self.children:
            child.cancel_queued()

    def close(self) -> None:
        for child in self.children:
            child.close()


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


def _serve(concurrency: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it closes our stdin
    inbox, outbox = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answer stream
    lock = threading.Lock()

    def reply(message: tuple[int, str, Any]) -> None:
        with lock:
            pickle.dump(message, outbox, pickle.HIGHEST_PROTOCOL)
            outbox.flush()

    cancelled_up_to = 0  # calls up to this number that have not started are dropped

    def run(call_id: int, provider: Provider, request: ProviderRequest) -> None:
        if call_id <= cancelled_up_to:
            reply((call_id, "error", f"{provider.label}: call cancelled before it started"))
            return
        try:
            reply((call_id, "ok", provider.complete(request)))
        except ProviderError as exc:
            reply((call_id, "error", str(exc)))
        except BaseException as exc:  # a provider bug must reach the item, not kill the child
            reply((call_id, "error", f"{type(exc).__name__}: {exc}"))

    providers: dict[int, Provider] = {}
    executor = ThreadPoolExecutor(concurrency, thread_name_prefix="promptcheck-call")
    while True:
        try:
            message = pickle.load(inbox)
        except EOFError:
            break
        if message[0] == "import":
            prepare_sdk(message[1])
        elif message[0] == "provider":
            providers[message[1]] = message[2]
        elif message[0] == "cancel":
            cancelled_up_to = message[1]
        else:
            _, call_id, provider_id, request = message
            executor.submit(run, call_id, providers[provider_id], request)
    outbox.flush()
    os._exit(0)  # don't wait for calls nobody will read


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
