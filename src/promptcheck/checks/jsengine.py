"""JavaScript for promptfoo assertions, in an embedded V8 isolate (the ``mini-racer``
package, extra ``promptcheck[js]``). Each evaluation gets a fresh context that is closed
afterwards: nothing leaks between assertions, and JS has no file, network or ``require``.

Values cross the boundary as JSON text, so results are plain Python data."""

from __future__ import annotations

import json
from typing import Any

JS_MISSING = "install promptcheck[js] to run javascript assertions (pip install 'promptcheck[js]')"
TIMEOUT_S = 5.0


class JSUnavailable(Exception):
    pass


class JSError(Exception):
    """The script threw, timed out or returned something JSON cannot carry."""


def available() -> bool:
    try:
        import py_mini_racer  # noqa: F401
    except ImportError:
        return False
    return True


def run(program: str) -> Any:
    """Evaluate ``program`` (an expression whose value is a JSON string) and decode it."""
    try:
        from py_mini_racer import MiniRacer
    except ImportError:
        raise JSUnavailable(JS_MISSING) from None
    context = MiniRacer()
    try:
        raw = context.eval(program, timeout_sec=TIMEOUT_S)
        if hasattr(raw, "get") and not isinstance(raw, (str, dict)):  # a Promise: user code may be async
            raw = raw.get(timeout=TIMEOUT_S)
    except Exception as exc:  # mini-racer's exceptions carry V8's message and a JS stack
        raise JSError(_message(str(exc))) from None
    finally:
        context.close()  # an unclosed context can keep the interpreter from exiting
    return json.loads(raw) if isinstance(raw, str) else raw


def _message(text: str) -> str:
    """V8's error without its stack: the last line that is not a stack frame."""
    if "timeout" in text.lower() or "timed out" in text.lower():
        return f"timed out after {TIMEOUT_S:g}s"
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
    found = run(program)
    if found is None:
        return None
    utf16_index, match = found
    prefix = text.encode("utf-16-le")[: utf16_index * 2].decode("utf-16-le", errors="ignore")
    return len(prefix), len(prefix) + len(match), match
