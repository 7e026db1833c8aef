"""The user's Python functions, called in a long-lived worker process that can be stopped.

Python code cannot be interrupted from outside its thread, so a check or provider that loops
used to hang the run. Here each call waits at most its time limit; a call that overruns gets
``LimitExceeded`` and its worker is killed and replaced (the user's modules load again there on
next use). Calls that were running next to it in the dead worker are sent again to the new one,
within their own original time limits.

A worker lives for the session, so a call costs a pickle each way over a pipe (well under a
millisecond) rather than a process start.

Wire format: pickles over the worker's stdin and stdout (``pyserver`` is the worker).

* parent → worker: ``(op, call_id, target, args, sys_path)``, op ``"call"`` or ``"resolve"``
  (import and find the function only)
* worker → parent: ``(call_id, kind, payload)``: ``"began"`` when the call starts (its time
  limit counts from then, not from the worker's own start-up), then ``"ok"`` with the pickled
  result, ``"raised"`` with ``(exception type name, message)``, or ``"script"`` with a message (no
  such function, or a result that cannot be passed back)
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from promptcheck.usercode import limits
from promptcheck.usercode.pyfunctions import ScriptError, Target

Reply = tuple[str, Any]

# How long a worker may take to start (a Python interpreter and promptcheck's small pyserver);
# only a machine that is badly overloaded or broken comes near it.
WORKER_START_S = 60.0


class UserCodeError(Exception):
    """The user's function raised. Subclasses are named after the original exception type, so
    messages built from ``type(exc).__name__`` read as they did when the code ran in-process."""


_ERROR_TYPES: dict[str, type[UserCodeError]] = {}


def _user_error(type_name: str, message: str) -> UserCodeError:
    kind = _ERROR_TYPES.get(type_name)
    if kind is None:
        kind = _ERROR_TYPES[type_name] = type(type_name, (UserCodeError,), {})
    return kind(message)


@dataclass(eq=False)
class _Call:
    message: bytes  # kept to send again if the worker is replaced mid-call
    future: Future[Reply] = field(default_factory=Future)
    process: subprocess.Popen[bytes] | None = None
    began: threading.Event = field(default_factory=threading.Event)  # the worker started running it


class PythonWorker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._pending: dict[int, _Call] = {}
        self._ids = itertools.count(1)
        # A file, not a pipe: nobody reads it unless the worker dies, and then its last line says why.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()

    def call(self, target: Target, args: tuple[Any, ...], *, timeout_s: float, what: str, setting: str = "script_timeout_s") -> Any:
        """``target(*args)`` in the worker. Raises ``LimitExceeded`` after ``timeout_s``,
        ``ScriptError`` when the function cannot be found or its result cannot come back, and a
        ``UserCodeError`` named like the exception the function raised."""
        kind, payload = self._request("call", target, args, timeout_s, what, setting)
        if kind == "ok":
            try:
                return pickle.loads(payload)
            except Exception as exc:
                raise ScriptError(f"returned a value that cannot be read outside its worker ({exc}); return plain data") from None
        raise self._error(kind, payload)

    def resolve(self, target: Target, *, timeout_s: float, what: str, setting: str = "script_timeout_s") -> None:
        """Import the code and find the function, so a wrong name is reported before any call."""
        kind, payload = self._request("resolve", target, (), timeout_s, what, setting)
        if kind != "ok":
            raise self._error(kind, payload)

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            _stop(process)
        self._stderr.close()

    # -- the calls ---------------------------------------------------------------------------------

    def _request(self, op: str, target: Target, args: tuple[Any, ...], timeout_s: float, what: str, setting: str) -> Reply:
        call_id = next(self._ids)
        try:
            message = pickle.dumps((op, call_id, target, args, list(sys.path)), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise ScriptError(f"cannot pass the arguments of {what} to its worker process: {exc}") from None
        call = _Call(message)
        with self._lock:
            self._pending[call_id] = call
            self._send(call)
        if not call.began.wait(WORKER_START_S):
            with self._lock:
                if self._pending.pop(call_id, None) is not None:
                    self._replace(call.process)
            raise ScriptError(f"the Python worker process did not start {what} within {WORKER_START_S:g} s")
        try:
            return call.future.result(timeout=timeout_s)
        except FutureTimeout:
            with self._lock:
                overran = not call.future.done() and self._pending.pop(call_id, None) is not None
                if overran:
                    self._replace(call.process)
            if overran:
                raise limits.too_slow(what, timeout_s, setting) from None
            return call.future.result()

    def _error(self, kind: str, payload: Any) -> Exception:
        if kind == "raised":
            return _user_error(*payload)
        return ScriptError(str(payload))

    # -- the process (under self._lock) ------------------------------------------------------------

    def _send(self, call: _Call) -> None:
        if self._process is None:
            self._process = self._start()
        call.process = self._process
        assert self._process.stdin is not None
        # A dead worker shows up as a broken pipe here and as end-of-file in its reader, which
        # fails its calls with the reason.
        with contextlib.suppress(OSError, ValueError):
            self._process.stdin.write(call.message)
            self._process.stdin.flush()

    def _start(self) -> subprocess.Popen[bytes]:
        # The worker must import this very promptcheck, found through sys.path or site-packages.
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        process = subprocess.Popen(
            [sys.executable, "-m", "promptcheck.usercode.pyserver"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
        )
        threading.Thread(target=self._read, args=(process,), name=f"promptcheck-{self.name}", daemon=True).start()
        return process

    def _replace(self, process: subprocess.Popen[bytes] | None) -> None:
        """Kill ``process`` (if it is still the worker) and send its other calls to a new one."""
        if process is None or process is not self._process:
            return  # replaced already, by another call that overran
        self._process = None
        _stop(process, at_once=True)
        for call in self._pending.values():
            if call.process is process:
                self._send(call)

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        while True:
            try:
                call_id, kind, payload = pickle.load(process.stdout)
            except Exception:  # end of file: the worker ended or was killed
                break
            with self._lock:
                call = self._pending.get(call_id) if kind == "began" else self._pending.pop(call_id, None)
            if call is None:
                continue
            call.began.set()
            if kind != "began":
                call.future.set_result((kind, payload))
        code = process.wait()
        with self._lock:
            if process is not self._process:
                return  # killed on purpose; its calls went to the next worker
            self._process = None
            lost = [call_id for call_id, call in self._pending.items() if call.process is process]
            calls = [self._pending.pop(call_id) for call_id in lost]
        reason = f"the Python worker process stopped unexpectedly (exit code {code}){self._last_words()}"
        for call in calls:
            call.future.set_result(("script", reason))
            call.began.set()

    def _last_words(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - 4096))
            lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
            return f": {lines[-1]}" if lines else ""
        return ""


def _stop(process: subprocess.Popen[bytes], at_once: bool = False) -> None:
    with contextlib.suppress(OSError, ValueError):
        assert process.stdin is not None
        process.stdin.close()  # the worker ends when it reads the end of its inbox
    if at_once:
        process.kill()
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:  # stuck in the user's code
        process.kill()
        process.wait()


_WORKERS: dict[str, PythonWorker] = {}
_WORKERS_LOCK = threading.Lock()


def shared(name: str) -> PythonWorker:
    """The session's worker called ``name`` (``scripts``, or one per ``python:`` provider)."""
    with _WORKERS_LOCK:
        worker = _WORKERS.get(name)
        if worker is None:
            worker = _WORKERS[name] = PythonWorker(name)
        return worker


def close_all() -> None:
    """End every worker (at the end of a session, and at exit)."""
    with _WORKERS_LOCK:
        workers = list(_WORKERS.values())
        _WORKERS.clear()
    for worker in workers:
        worker.close()


atexit.register(close_all)
