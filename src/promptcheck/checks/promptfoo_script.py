"""promptfoo's ``python`` and ``javascript`` assertions: the user's own code, given
``output`` and ``context`` (vars, prompt, config), returning a bool, a number or a
``{pass, score, reason}`` mapping (promptfoo's GradingResult).

Python runs in-process (it is the user's code, like a conftest). JavaScript runs in V8 via
``jsengine``; without the JS extra the check fails and says which extra to install."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from promptcheck.checks import jsengine
from promptcheck.checks.registry import CheckContext, Verdict, quote, register
from promptcheck.spec import CheckSpec


class ScriptError(Exception):
    """The script's result has a shape promptfoo would reject too."""


def normalize(result: Any, language: str) -> Verdict:
    """promptfoo's reading of a script result (scriptResultNormalization.ts): booleans pass
    as they are, a number passes when > 0 (a ``threshold`` is applied later, generically),
    "true"/"false" strings and JSON-object strings are read, an object needs ``pass``."""
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


def _reference(spec: CheckSpec, ctx: CheckContext) -> tuple[Path, str | None] | None:
    value = str(spec.value).strip()
    if not value.startswith("file://"):
        return None
    target, _, name = value[len("file://") :].partition(":")
    base = Path(spec.options.get("base_dir") or ctx.base_dir)
    return (base / target if not Path(target).is_absolute() else Path(target)), (name or None)


def _need_code(spec: CheckSpec) -> None:
    if not isinstance(spec.value, str) or not spec.value.strip():
        raise ValueError(f"{spec.type} needs code or a file:// reference as its value")


# -- python --------------------------------------------------------------------------------------


_MODULES: dict[tuple[str, float], ModuleType] = {}


def _python_function(path: Path, name: str | None) -> Callable[..., Any]:
    key = (str(path.resolve()), path.stat().st_mtime)
    module = _MODULES.get(key)
    if module is None:
        loader_spec = importlib.util.spec_from_file_location(f"promptfoo_assert_{len(_MODULES)}", path)
        if loader_spec is None or loader_spec.loader is None:
            raise ScriptError(f"cannot load {path.name}")
        module = importlib.util.module_from_spec(loader_spec)
        loader_spec.loader.exec_module(module)
        _MODULES[key] = module
    target: Any = module
    for part in (name or "get_assert").split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ScriptError(f"{path.name} has no function '{name or 'get_assert'}'")
    return target  # type: ignore[no-any-return]


def _inline_python(code: str) -> Callable[[str, dict[str, Any]], Any]:
    # promptfoo: one line is an expression, several lines are a function body.
    body = code if "\n" in code.strip() else f"return {code.strip()}"
    source = "def __promptfoo_assert(output, context):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    namespace: dict[str, Any] = {}
    exec(compile(source, "<python assertion>", "exec"), namespace)  # the user's own assertion code
    return namespace["__promptfoo_assert"]  # type: ignore[no-any-return]


@register("python", validate=_need_code)
def python_assertion(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    context = script_context(spec, ctx)
    ref = _reference(spec, ctx)
    try:
        fn = _python_function(*ref) if ref else _inline_python(str(spec.value))
        return normalize(fn(output, context), "Python")
    except FileNotFoundError:
        return Verdict(False, 0.0, f"python assertion file not found: {ref[0] if ref else spec.value}")
    except ScriptError as exc:
        return Verdict(False, 0.0, str(exc))
    except Exception as exc:  # the user's code failing is this assertion failing
        return Verdict(False, 0.0, f"python assertion raised {type(exc).__name__}: {exc}")


# -- javascript ----------------------------------------------------------------------------------

# CommonJS without Node: module.exports works, require() explains why it cannot.
_SHIM = (
    "const module = {exports: {}}; const exports = module.exports;"
    "const require = (name) => { throw new Error('require(' + JSON.stringify(name) + ') is not available: "
    "promptcheck runs JavaScript assertions in a sandbox without Node modules'); };"
)


def function_body(code: str) -> str:
    """promptfoo's rule: a multi-line value is a function body as written; one line is an
    expression (after any leading ``const``/``let``/``var`` statements)."""
    code = code.strip()
    if "\n" in code:
        return code
    code = code.rstrip(";").strip()
    if code.startswith(("const ", "let ", "var ")) and ";" in code:
        head, _, tail = code.rpartition(";")
        return f"{head}; return {tail.strip()}"
    return f"return {code}"


def js_program(output: str, context: dict[str, Any], spec: CheckSpec, source: str | None, name: str | None) -> str:
    if source is None:
        fn = "function(output, context) {\n" + function_body(str(spec.value)) + "\n}"
    else:
        pick = f"module.exports[{jsengine.literal(name)}]" if name else "(module.exports.default || module.exports)"
        fn = f"(function(){{ {_SHIM}\n{source}\n; return {pick}; }})()"
    return (
        "(function(){ const __fn = " + fn + ";"
        "if (typeof __fn !== 'function') throw new Error('the assertion file does not export that function');"
        f"const __r = __fn({jsengine.literal(output)}, {jsengine.literal(context)});"
        "if (__r && typeof __r.then === 'function') throw new Error('async assertions are not supported');"
        "return JSON.stringify(__r === undefined ? null : __r); })()"
    )


@register("javascript", validate=_need_code)
def javascript_assertion(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    if not jsengine.available():
        return Verdict(False, 0.0, jsengine.JS_MISSING)
    ref = _reference(spec, ctx)
    try:
        source = ref[0].read_text(encoding="utf-8") if ref else None
        result = jsengine.run(js_program(output, script_context(spec, ctx), spec, source, ref[1] if ref else None))
        return normalize(result, "JavaScript")
    except OSError:
        return Verdict(False, 0.0, f"javascript assertion file not found: {ref[0] if ref else ''}")
    except (jsengine.JSError, ScriptError, ValueError) as exc:
        return Verdict(False, 0.0, f"JavaScript assertion failed: {exc}")
