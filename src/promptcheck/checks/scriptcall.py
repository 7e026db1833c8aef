"""Calling the user's own code the way promptfoo does, for every place a config can name
code: assertions, output transforms, scoring functions, prompt functions, var loaders and
Nunjucks filters.

A reference is ``file://x.py[:fn]`` or ``file://x.js[:fn]`` (also .cjs/.mjs); anything else
is inline code. Python runs in the session's worker process (``usercode.pyworker``), where a
call that overruns ``script_timeout_s`` can be stopped; JavaScript runs in V8 through
``jsengine`` with a CommonJS ``module.exports`` shim and no ``require``. Arguments and results
cross either boundary as plain data (pickled for Python, JSON for JS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from promptcheck.checks import jsengine
from promptcheck.usercode import limits, pyworker
from promptcheck.usercode.pyfunctions import FileFunction, InlineCode, ScriptError, Target

JS_SUFFIXES = (".js", ".cjs", ".mjs")
PY_SUFFIXES = (".py",)
SCRIPTS_WORKER = "scripts"


def is_file_ref(code: Any) -> bool:
    return isinstance(code, str) and code.strip().startswith("file://")


def split_ref(ref: str, base_dir: str | Path) -> tuple[Path, str | None]:
    """``file://x.py:fn`` -> (absolute path, "fn"); ``file://x.js`` -> (path, None)."""
    target, _, name = ref.strip()[len("file://") :].partition(":")
    path = Path(target)
    return (path if path.is_absolute() else Path(base_dir) / path), (name or None)


def language_of(ref: str) -> str:
    path = ref.strip()[len("file://") :].partition(":")[0].lower()
    if path.endswith(PY_SUFFIXES):
        return "python"
    if path.endswith(JS_SUFFIXES):
        return "javascript"
    raise ScriptError(f"cannot run '{path}': only Python (.py) and JavaScript (.js, .cjs, .mjs) files are supported")


def call(
    code: str,
    args: Sequence[Any],
    *,
    base_dir: str | Path,
    params: Sequence[str] = ("output", "context"),
    python_default: str = "get_assert",
    inline_language: str = "javascript",
) -> Any:
    """Call ``code`` with ``args`` and return its result as plain data. Raises ScriptError
    (missing file or function), jsengine.JSError/JSUnavailable, limits.LimitExceeded (the code
    ran too long or, in JS, built too much), or, for Python, a ``pyworker.UserCodeError`` named
    like the exception the code raised."""
    what = describe(code, inline_language)
    if is_file_ref(code):
        path, name = split_ref(code, base_dir)
        if not path.is_file():
            raise ScriptError(f"file not found: {path}")
        if language_of(code) == "python":
            if not (name or python_default):
                raise ScriptError(f"name the function to call, e.g. file://{path.name}:my_function")
            return run_python(FileFunction(str(path), name or python_default), args, what)
        return run_javascript(None, args, params, source=path.read_text(encoding="utf-8"), name=name, what=what)
    if inline_language == "python":
        return run_python(InlineCode(code, tuple(params)), args, what)
    return run_javascript(code, args, params, what=what)


def failure_message(exc: BaseException) -> str:
    """The user's code failing, in one line: promptcheck's own messages as they are, the
    exceptions the code raised with their type."""
    if isinstance(exc, (ScriptError, jsengine.JSError, limits.LimitExceeded)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def describe(code: str, inline_language: str = "javascript") -> str:
    """How a message names the code: its reference, or the start of the inline code."""
    if is_file_ref(code):
        return code.strip()
    text = " ".join(code.split())
    return f"{inline_language} code `{text if len(text) <= 60 else text[:57] + '...'}`"


# -- python --------------------------------------------------------------------------------------


def run_python(target: Target, args: Sequence[Any], what: str) -> Any:
    """In the worker process, so that code that never returns can be stopped."""
    return pyworker.shared(SCRIPTS_WORKER).call(target, tuple(args), timeout_s=limits.current().timeout_s, what=what)


# -- javascript ----------------------------------------------------------------------------------

# CommonJS without Node: module.exports works, require() explains why it cannot.
_SHIM = (
    "const module = {exports: {}}; const exports = module.exports;"
    "const require = (name) => { throw new Error('require(' + JSON.stringify(name) + ') is not available: "
    "promptcheck runs JavaScript in a sandbox without Node modules'); };"
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


def js_source_function(source: str, name: str | None) -> str:
    """A JS expression evaluating to the function a CommonJS module exports (``name`` or default).
    ``export default`` (ESM) is read as ``module.exports =`` so simple .mjs files work too."""
    source = source.replace("export default ", "module.exports = ")
    pick = f"module.exports[{jsengine.literal(name)}]" if name else "(module.exports.default || module.exports)"
    return f"(function(){{ {_SHIM}\n{source}\n; return {pick}; }})()"


def run_javascript(
    code: str | None,
    args: Sequence[Any],
    params: Sequence[str],
    *,
    source: str | None = None,
    name: str | None = None,
    what: str = "JavaScript",
) -> Any:
    if not jsengine.available():
        raise jsengine.JSUnavailable(jsengine.JS_MISSING)
    fn = js_source_function(source, name) if source is not None else (
        f"async function({', '.join(params)}) {{\n{function_body(code or '')}\n}}"
    )
    call_args = ", ".join(jsengine.literal(a) for a in args)
    # async so that functions returning promises (promptfoo allows async code) are awaited
    program = (
        "(async function(){ const __fn = " + fn + ";"
        "if (typeof __fn !== 'function') throw new Error('the file does not export that function');"
        f"const __r = await __fn({call_args});"
        "return JSON.stringify(__r === undefined ? null : __r); })()"
    )
    return jsengine.run(program, what=what)
