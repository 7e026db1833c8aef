"""promptfoo's ``python`` and ``javascript`` assertions: the user's own code, given
``output`` and ``context`` (vars, prompt, config), returning a bool, a number or a
``{pass, score, reason}`` mapping (promptfoo's GradingResult).

Python runs in the session's worker process, JavaScript in V8 via ``jsengine``, both under
``usercode.limits``; without the JS extra the check fails and says which extra to install."""

from __future__ import annotations

import json
from typing import Any

from promptcheck.checks import jsengine, scriptcall
from promptcheck.checks.base import CheckContext, CheckSet, Verdict, quote
from promptcheck.checks.promptfoo_output import script_output
from promptcheck.spec import CheckSpec
from promptcheck.usercode.limits import LimitExceeded

CHECKS = CheckSet()


class ScriptError(Exception):
    """The script's result has a shape promptfoo would reject too."""


def normalize(result: Any, language: str) -> Verdict:
    """promptfoo's reading of a script result (scriptResultNormalization.ts): booleans pass
    as they are, a number passes when > 0 (a ``threshold`` is applied later, generically),
    "true"/"false" strings and JSON-object strings are read, an object needs ``pass``. Only
    Python's results arrive as text (its stdout); a JavaScript function that returns a string
    fails, as in promptfoo."""
    if isinstance(result, str) and language.lower() in ("javascript", "js"):
        raise ScriptError(f"{language} assertion must return a boolean, number or {{pass, score, reason}}, got the string {quote(result)}")
    if isinstance(result, str):
        lowered = result.strip().lower()
        if lowered in ("true", "false"):
            result = lowered == "true"
        elif result.strip().startswith("{"):
            result = json.loads(result)
        else:
            try:
                result = float(result)
            except ValueError:
                raise ScriptError(f"{language} assertion must return a boolean, number or {{pass, score, reason}}, got {quote(result)}") from None
    if isinstance(result, bool):
        return Verdict(result, 1.0 if result else 0.0, f"{language} code returned {'true' if result else 'false'}")
    if isinstance(result, (int, float)):
        return Verdict(result > 0, float(result), f"{language} code returned {result:g}")
    if isinstance(result, dict) and isinstance(result.get("pass", result.get("pass_")), bool):
        passed = bool(result.get("pass", result.get("pass_")))
        score = result.get("score", 1.0 if passed else 0.0)
        reason = str(result.get("reason") or f"{language} code returned pass={str(passed).lower()}")
        return Verdict(passed, float(score) if isinstance(score, (int, float)) else (1.0 if passed else 0.0), reason)
    raise ScriptError(f"{language} assertion must return a boolean, number or {{pass, score, reason}}, got {type(result).__name__}")


def script_context(spec: CheckSpec, ctx: CheckContext) -> dict[str, Any]:
    prompt = "\n".join(content for _, content in ctx.messages)
    return {"vars": dict(ctx.case_vars), "prompt": prompt, "config": spec.options.get("config", {}), "test": {"vars": dict(ctx.case_vars)}}


def _need_code(spec: CheckSpec) -> None:
    if not isinstance(spec.value, str) or not spec.value.strip():
        raise ValueError(f"{spec.type} needs code or a file:// reference as its value")


# -- python and javascript ----------------------------------------------------------------------


def _run(language: str, output: Any, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    """Both languages: the file or inline code called with (output, context), its result read
    as promptfoo reads it. The user's code failing is this assertion failing; its running past
    a limit is not, as the answer is not what went wrong."""
    name = "Python" if language == "python" else "JavaScript"
    output = script_output(output, ctx)
    code = str(spec.value)
    base_dir = spec.options.get("base_dir") or ctx.base_dir
    try:
        result = scriptcall.call(code, [output, script_context(spec, ctx)], base_dir=base_dir, inline_language=language)
        return normalize(result, name)
    except LimitExceeded:
        raise  # not a verdict on the answer: the item becomes an ERROR (see evaluate.run_check)
    except jsengine.JSUnavailable:
        return Verdict(False, 0.0, jsengine.JS_MISSING)
    except (ScriptError, scriptcall.ScriptError) as exc:
        return Verdict(False, 0.0, f"{language} assertion: {exc}")
    except jsengine.JSError as exc:
        return Verdict(False, 0.0, f"JavaScript assertion failed: {exc}")
    except Exception as exc:
        return Verdict(False, 0.0, f"{language} assertion raised {type(exc).__name__}: {exc}")


@CHECKS.register("python", validate=_need_code)
def python_assertion(output: Any, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    return _run("python", output, spec, ctx)


@CHECKS.register("javascript", validate=_need_code)
def javascript_assertion(output: Any, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    return _run("javascript", output, spec, ctx)
