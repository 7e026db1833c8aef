"""The child's side of a call process; callprocess.py is the parent's side and has the wire format.

    python -m promptcheck.providers.callserver <concurrency> [<sibling pipe fds, comma-separated>]

The first child may be asked to fork its siblings once it has imported the SDK: a fork shares
the import (~0.5 s of CPU each) instead of repeating it while pytest still collects. A sibling
gets the pipe ends the parent made for it, passed to the first child at its start.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from .base import Provider, ProviderError, ProviderRequest
from .sdk_common import prepare_sdk


def main(argv: list[str]) -> None:
    concurrency = int(argv[1])
    sibling_fds = {int(fd) for fd in argv[2].split(",")} if len(argv) > 2 and argv[2] else set()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it closes our stdin
    outbox = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answer stream
    serve(sys.stdin.buffer, outbox, concurrency, sibling_fds)


def serve(inbox: IO[bytes], outbox: IO[bytes], concurrency: int, sibling_fds: set[int]) -> None:
    """Answer calls until the parent closes ``inbox``; never returns."""
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

    reply((0, "pid", os.getpid()))
    siblings: list[int] = []  # the pids of the siblings this child started
    providers: dict[int, Provider] = {}
    executor: ThreadPoolExecutor | None = None  # threads start with the first call; forks come first
    while True:
        try:
            message = pickle.load(inbox)
        except EOFError:
            break
        kind = message[0]
        if kind == "import":
            prepare_sdk(message[1])
        elif kind == "fork":
            _, share, in_fd, out_fd = message
            sibling_fds -= {in_fd, out_fd}
            forking = executor is None and threading.active_count() == 1  # no thread's lock to copy mid-use
            siblings.append(_start_sibling(share, in_fd, out_fd, sibling_fds, forking=forking))
        elif kind == "provider":
            providers[message[1]] = message[2]
        elif kind == "cancel":
            cancelled_up_to = message[1]
        else:
            _, call_id, provider_id, request = message
            executor = executor or ThreadPoolExecutor(concurrency, thread_name_prefix="promptcheck-call")
            executor.submit(run, call_id, providers[provider_id], request)
    outbox.flush()
    _reap(siblings)
    os._exit(0)  # don't wait for calls nobody will read


def _reap(pids: list[int], within_s: float = 5.0) -> None:
    """Wait for our siblings, which the parent closes together with us: reaped, their CPU time
    counts in ours, and so in the parent's (what the benchmarks read)."""
    deadline = time.monotonic() + within_s
    waiting = set(pids)
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            try:
                ended = os.waitpid(pid, os.WNOHANG)[0] != 0
            except ChildProcessError:  # reaped already
                ended = True
            if ended:
                waiting.discard(pid)
        if waiting:
            time.sleep(0.01)


def _start_sibling(share: int, in_fd: int, out_fd: int, other_fds: set[int], *, forking: bool) -> int:
    if not forking:  # threads run already, and a fork copies their locks mid-use: start afresh
        pid = subprocess.Popen([sys.executable, "-m", "promptcheck.providers.callserver", str(share)], stdin=in_fd, stdout=out_fd).pid
    elif (pid := os.fork()) == 0:
        # Hold no pipe but our own: the parent learns a child ended when its pipe's last writer
        # is gone. 0 and 1 are the first child's pipes.
        for fd in other_fds:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        serve(os.fdopen(in_fd, "rb"), os.fdopen(out_fd, "wb"), share, set())
    os.close(in_fd)
    os.close(out_fd)
    return pid


if __name__ == "__main__":
    main(sys.argv)
