"""Which Python function of the user's a call means, and finding it. The targets are sent to
the worker process (``pyserver``), which imports the code and keeps it loaded; this module
imports nothing of promptcheck, so the worker starts quickly and loads no more than it needs."""

from __future__ import annotations

import importlib
import importlib.util
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Union


class ScriptError(Exception):
    """The code cannot be called (no such file or function), or its result cannot be used."""


@dataclass(frozen=True)
class FileFunction:
    """``file://checks.py:fn``: a function (or ``Class.method``) of a Python file."""

    path: str
    name: str


@dataclass(frozen=True)
class InlineCode:
    """Inline ``python`` in a config: one line is an expression, several are a function body."""

    code: str
    params: tuple[str, ...]


@dataclass(frozen=True)
class ModuleFunction:
    """``python:package.module:function``: a function of an importable module (a provider)."""

    module: str
    name: str


Target = Union[FileFunction, InlineCode, ModuleFunction]

_FILES: dict[tuple[str, float], ModuleType] = {}
_INLINE: dict[InlineCode, Callable[..., Any]] = {}


def resolve(target: Target) -> Callable[..., Any]:
    if isinstance(target, FileFunction):
        return file_function(Path(target.path), target.name)
    if isinstance(target, InlineCode):
        function = _INLINE.get(target)
        if function is None:
            function = _INLINE[target] = inline_function(target.code, target.params)
        return function
    return module_function(target.module, target.name)


def file_function(path: Path, name: str) -> Callable[..., Any]:
    """Loaded once per file version: an edited file is read again."""
    if not path.is_file():
        raise ScriptError(f"file not found: {path}")
    key = (str(path.resolve()), path.stat().st_mtime)
    module = _FILES.get(key)
    if module is None:
        loader_spec = importlib.util.spec_from_file_location(f"promptcheck_user_{len(_FILES)}", path)
        if loader_spec is None or loader_spec.loader is None:
            raise ScriptError(f"cannot load {path.name}")
        module = importlib.util.module_from_spec(loader_spec)
        loader_spec.loader.exec_module(module)
        _FILES[key] = module
    target: Any = module
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ScriptError(f"{path.name} has no function '{name}'")
    if isinstance(target, type):
        raise ScriptError(f"{path.name}: '{name}' is a class, not a function")
    return target  # type: ignore[no-any-return]


def inline_function(code: str, params: tuple[str, ...]) -> Callable[..., Any]:
    # promptfoo: one line is an expression, several lines are a function body.
    body = code if "\n" in code.strip() else f"return {code.strip()}"
    source = f"def __promptcheck_inline({', '.join(params)}):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    namespace: dict[str, Any] = {}
    exec(compile(source, "<inline python>", "exec"), namespace)  # the user's own code
    return namespace["__promptcheck_inline"]  # type: ignore[no-any-return]


def module_function(module_name: str, function_name: str) -> Callable[..., Any]:
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ScriptError(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ScriptError(f"{module_name} has no function {function_name}")
    return function  # type: ignore[no-any-return]
