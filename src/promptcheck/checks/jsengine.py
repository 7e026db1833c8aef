"""JavaScript for promptfoo assertions, in an embedded V8 isolate (the ``mini-racer``
package, extra ``promptcheck[js]``). Each evaluation gets a fresh context that is closed
afterwards: nothing leaks between assertions, and JS has no file, network or ``require``.

Each evaluation runs under ``usercode.limits``: a time limit, and a hard limit on the V8 heap.
Without the heap limit a loop that allocates grows until V8 aborts the whole process (a
fatal OOM is a crash in V8, not an exception). Running past either raises ``LimitExceeded``.

Values cross the boundary as JSON text, so results are plain Python data."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from promptcheck.usercode import limits

JS_MISSING = "install promptcheck[js] to run javascript assertions (pip install 'promptcheck[js]')"


class JSUnavailable(Exception):
    pass


class JSError(Exception):
    """The script threw or returned something JSON cannot carry."""


def available() -> bool:
    try:
        import py_mini_racer  # noqa: F401
    except ImportError:
        return False
    return True


def run(program: str, what: str = "JavaScript") -> Any:
    """Evaluate ``program`` (an expression whose value is a JSON string) and decode it.
    ``what`` names the code in a ``LimitExceeded`` message."""
    try:
        from py_mini_racer import JSOOMException, JSPromise, JSTimeoutException, MiniRacer
    except ImportError:
        raise JSUnavailable(JS_MISSING) from None
    allowed = limits.current()
    deadline = time.monotonic() + allowed.timeout_s  # one budget for the code and its promise
    context = MiniRacer()
    try:
        context.set_hard_memory_limit(allowed.memory_bytes)
        raw = context.eval(program, timeout_sec=allowed.timeout_s)
        if isinstance(raw, JSPromise):  # user code may be async
            raw = raw.get(timeout=max(0.001, deadline - time.monotonic()))
    except JSTimeoutException:
        # The isolate reports the stopped task after the timeout: let that report arrive while
        # the context is open, or mini-racer calls back into a closed event loop and warns.
        with contextlib.suppress(Exception):
            context.eval("0", timeout_sec=1)
        raise limits.too_slow(what, allowed.timeout_s) from None
    except JSOOMException:
        raise limits.LimitExceeded(
            f"{what} used more than {allowed.memory_mb} MB of JavaScript memory and was stopped; "
            "make it build less, or raise [tool.promptcheck] script_memory_mb"
        ) from None
    except Exception as exc:  # mini-racer's exceptions carry V8's message and a JS stack
        raise JSError(_message(str(exc))) from None
    finally:
        context.close()  # an unclosed context can keep the interpreter from exiting
    return json.loads(raw) if isinstance(raw, str) else raw


def _message(text: str) -> str:
    """V8's error without its stack: the last line that is not a stack frame."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip() and not line.strip().startswith("at ")]
    return (lines[-1] if lines else text.strip()).removeprefix("JavaScript rejected promise with reason: ")


def literal(value: Any) -> str:
    """A Python value as a JS literal (JSON is valid JS)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def regex_search(pattern: str, text: str, flags: str = "") -> tuple[int, int, str] | None:
    """JS ``new RegExp(pattern, flags).exec(text)``: (start, end, match) or None. Raises JSError
    for a pattern V8 rejects. Offsets are UTF-16 units in JS; they are mapped back to Python
    string indices so spans point at the right characters."""
    program = (
        "(function(){const m = new RegExp(" + literal(pattern) + "," + literal(flags) + ").exec(" + literal(text) + ");"
        "return JSON.stringify(m === null ? null : [m.index, m[0]]);})()"
    )
    found = run(program, what=f"the regex {literal(pattern)}")
    if found is None:
        return None
    utf16_index, match = found
    prefix = text.encode("utf-16-le")[: utf16_index * 2].decode("utf-16-le", errors="ignore")
    return len(prefix), len(prefix) + len(match), match
