"""The worker process's side of ``pyworker`` (which has the wire format):

    python -m promptcheck.usercode.pyserver

Each call runs on its own thread, so a provider's calls overlap as they did in-process; the
parent kills this whole process when one overruns, which is the only way to stop Python code."""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
import threading
from typing import IO, Any

from promptcheck.usercode.pyfunctions import FileFunction, ScriptError, Target, resolve

_PR_SET_PDEATHSIG = 1


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it kills us
    if sys.platform == "linux":
        # Stuck in user code, we would never read the end of our inbox: die with the parent.
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    outbox = sys.stdout.buffer
    sys.stdout = sys.stderr  # the user's print() must not corrupt the answer stream
    serve(sys.stdin.buffer, outbox)


def serve(inbox: IO[bytes], outbox: IO[bytes]) -> None:
    lock = threading.Lock()

    def reply(call_id: int, kind: str, payload: Any) -> None:
        data = pickle.dumps((call_id, kind, payload), pickle.HIGHEST_PROTOCOL)
        with lock:
            outbox.write(data)
            outbox.flush()

    while True:
        try:
            op, call_id, target, args, path = pickle.load(inbox)
        except EOFError:
            break
        threading.Thread(target=_run, args=(reply, op, call_id, target, args, path), daemon=True).start()
    os._exit(0)  # don't wait for calls nobody will read


def _run(reply: Any, op: str, call_id: int, target: Target, args: tuple[Any, ...], path: list[str]) -> None:
    reply(call_id, "began", None)  # the caller's time limit starts now
    if sys.path != path:  # the parent's, so the user's imports resolve as they would there
        sys.path[:] = path
    if isinstance(target, FileFunction):
        # As promptfoo runs a script: modules next to it import, wherever the project root is.
        folder = os.path.dirname(target.path)
        if folder not in sys.path:
            sys.path.append(folder)
    try:
        function = resolve(target)
        result = function(*args) if op == "call" else None
    except ScriptError as exc:
        reply(call_id, "script", str(exc))
        return
    except BaseException as exc:  # the user's code raised: the caller reports it as such
        reply(call_id, "raised", (type(exc).__name__, str(exc)))
        return
    try:
        # Pickled here, so a result that cannot travel is this call's error, not a broken stream.
        reply(call_id, "ok", pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
    except Exception as exc:
        reply(call_id, "script", f"returned a {type(result).__name__}, which cannot be passed back ({exc}); return plain data")


if __name__ == "__main__":
    main()
