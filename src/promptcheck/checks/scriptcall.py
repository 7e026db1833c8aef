"""Calling the user's own code the way promptfoo does, for every place a config can name
code: assertions, output transforms, scoring functions, prompt functions, var loaders and
Nunjucks filters.

A reference is ``file://x.py[:fn]`` or ``file://x.js[:fn]`` (also .cjs/.mjs); anything else
is inline code. Python runs in-process (it is the user's code, like a conftest); JavaScript
runs in V8 through ``jsengine`` with a CommonJS ``module.exports`` shim and no ``require``.
Values cross into JS as JSON, so arguments and results are plain data."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

from promptcheck.checks import jsengine

JS_SUFFIXES = (".js", ".cjs", ".mjs")
PY_SUFFIXES = (".py",)


class ScriptError(Exception):
    """The code cannot be called or its result has a shape promptfoo would reject too."""


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
    (missing file or function), jsengine.JSError/JSUnavailable, or whatever Python code raises."""
    if is_file_ref(code):
        path, name = split_ref(code, base_dir)
        if not path.is_file():
            raise ScriptError(f"file not found: {path}")
        if language_of(code) == "python":
            if not (name or python_default):
                raise ScriptError(f"name the function to call, e.g. file://{path.name}:my_function")
            return python_function(path, name or python_default)(*args)
        return run_javascript(None, args, params, source=path.read_text(encoding="utf-8"), name=name)
    if inline_language == "python":
        return inline_python(code, params)(*args)
    return run_javascript(code, args, params)


# -- python --------------------------------------------------------------------------------------

_MODULES: dict[tuple[str, float], ModuleType] = {}


def python_function(path: Path, name: str) -> Callable[..., Any]:
    """A function (or ``Class.method``) of a Python file, loaded once per file version."""
    key = (str(path.resolve()), path.stat().st_mtime)
    module = _MODULES.get(key)
    if module is None:
        loader_spec = importlib.util.spec_from_file_location(f"promptcheck_user_{len(_MODULES)}", path)
        if loader_spec is None or loader_spec.loader is None:
            raise ScriptError(f"cannot load {path.name}")
        module = importlib.util.module_from_spec(loader_spec)
        loader_spec.loader.exec_module(module)
        _MODULES[key] = module
    target: Any = module
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ScriptError(f"{path.name} has no function '{name}'")
    if isinstance(target, type):
        raise ScriptError(f"{path.name}: '{name}' is a class, not a function")
    return target  # type: ignore[no-any-return]


def inline_python(code: str, params: Sequence[str]) -> Callable[..., Any]:
    # promptfoo: one line is an expression, several lines are a function body.
    body = code if "\n" in code.strip() else f"return {code.strip()}"
    source = f"def __promptcheck_inline({', '.join(params)}):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    namespace: dict[str, Any] = {}
    exec(compile(source, "<inline python>", "exec"), namespace)  # the user's own code
    return namespace["__promptcheck_inline"]  # type: ignore[no-any-return]


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
    code: str | None, args: Sequence[Any], params: Sequence[str], *, source: str | None = None, name: str | None = None
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
    return jsengine.run(program)
