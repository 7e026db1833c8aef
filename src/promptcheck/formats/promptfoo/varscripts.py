"""Vars computed by code: ``system_prompt: file://load_prompt.py`` (or ``.js``).

promptfoo calls Python's ``get_var(var_name, prompt, other_vars)`` (or ``file://x.py:fn``),
or the function a JavaScript file exports with the same three arguments, and reads
``{output: value}`` (or ``{error: message}``) from it. This happens while collecting, once
per case, so the value is part of the rendered prompt that cassettes key on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptcheck.checks import jsengine, scriptcall
from promptcheck.formats.fields import Problems
from promptcheck.spec import Location


@dataclass(frozen=True)
class ScriptVar:
    """A var whose value the script at ``ref`` computes."""

    name: str
    ref: str
    base: Path


def script_vars(combo: dict[str, Any], prompt: str, problems: Problems, at: Location) -> dict[str, Any]:
    """``combo`` with every ScriptVar replaced by the value its script returns."""
    if not any(isinstance(v, ScriptVar) for v in combo.values()):
        return combo
    others = {k: v for k, v in combo.items() if not isinstance(v, ScriptVar)}
    resolved = dict(combo)
    for name, value in combo.items():
        if isinstance(value, ScriptVar):
            resolved[name] = _compute(value, prompt, others, problems, at)
    return resolved


def _compute(var: ScriptVar, prompt: str, others: dict[str, Any], problems: Problems, at: Location) -> Any:
    shown = var.ref.removeprefix("file://").rsplit("/", 1)[-1]
    try:
        result = scriptcall.call(var.ref, [var.name, prompt, others], base_dir=var.base,
                                 params=("varName", "prompt", "otherVars"), python_default="get_var")
    except jsengine.JSUnavailable:
        problems.error(f"var '{var.name}' ({shown}): {jsengine.JS_MISSING}", at)
        return ""
    except Exception as exc:  # the user's code: its message, never a traceback
        message = scriptcall.failure_message(exc)
        problems.error(f"var '{var.name}' ({shown}) failed: {message}", at)
        return ""
    if isinstance(result, dict) and result.get("error"):
        problems.error(f"var '{var.name}' ({shown}) returned an error: {result['error']}", at)
        return ""
    if isinstance(result, dict) and "output" in result:
        return result["output"]
    return result
