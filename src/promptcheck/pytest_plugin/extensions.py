"""The session's check and provider types: the built-ins plus what plugins add through the hooks in
``newhooks.py``. Each session extends its own copies, so a conftest's types never reach another
session in the same process (pytester runs several).

``promptcheck validate`` runs outside pytest; it calls the same hooks of the rootdir's
``conftest.py`` and of installed pytest plugins (``pytest11`` entry points) through a small
pluggy manager, so it knows the same check types as ``pytest`` does."""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
import pytest

from promptcheck.checks.registry import CheckRegistry
from promptcheck.providers.registry import ProviderRegistry
from promptcheck.pytest_plugin import newhooks

HOOK_NAMES = ("pytest_promptcheck_add_checks", "pytest_promptcheck_add_providers")


class ExtensionError(Exception):
    """A plugin or conftest could not be loaded, or its hook raised; the message says where."""


@dataclass(frozen=True)
class Registries:
    checks: CheckRegistry
    providers: ProviderRegistry


def build_registries(config: pytest.Config) -> Registries:
    """The registries of one pytest session, from the hooks of its conftests and plugins."""
    try:
        return call_hooks(config.hook)
    except ExtensionError as exc:
        raise pytest.UsageError(f"promptcheck: {exc}") from None


def call_hooks(hook: Any) -> Registries:
    """Copies of the built-in registries, extended by every implementation of the hooks."""
    checks, providers = CheckRegistry.builtin().copy(), ProviderRegistry.builtin().copy()
    _call(hook.pytest_promptcheck_add_checks, checks)
    _call(hook.pytest_promptcheck_add_providers, providers)
    return Registries(checks, providers)


def _call(caller: Any, registry: CheckRegistry | ProviderRegistry) -> None:
    try:
        caller(registry=registry)
    except Exception as exc:
        raise ExtensionError(f"{caller.name} failed{_where(exc, caller)}: {type(exc).__name__}: {exc}") from exc


def _where(exc: BaseException, caller: Any) -> str:
    """' in <file>:<line>' of the hook implementation the exception came through, if any."""
    codes = {impl.function.__code__ for impl in caller.get_hookimpls()}
    for frame, line in traceback.walk_tb(exc.__traceback__):
        if frame.f_code in codes:
            return f" in {_shown(Path(frame.f_code.co_filename))}:{line}"
    return ""


def _shown(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


# -- promptcheck validate: the same hooks without pytest -------------------------------------------


class _HookManager(pluggy.PluginManager):
    """Takes only promptcheck's hooks from a plugin, decorated or not (as pytest does)."""

    def __init__(self) -> None:
        super().__init__("pytest")
        self.add_hookspecs(newhooks)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        if name not in HOOK_NAMES or not callable(getattr(plugin, name, None)):
            return None
        return super().parse_hookimpl_opts(plugin, name) or {
            "wrapper": False, "hookwrapper": False, "optionalhook": False, "tryfirst": False, "trylast": False, "specname": None,
        }


def project_registries(rootdir: Path) -> Registries:
    """The registries ``pytest`` would build in ``rootdir``, from its ``conftest.py`` and the
    installed plugins. Conftests below the rootdir and ``pytest_plugins`` lists are not read."""
    manager = _HookManager()
    if not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        try:
            manager.load_setuptools_entrypoints("pytest11")
        except Exception as exc:
            raise ExtensionError(f"cannot load the installed pytest plugins: {type(exc).__name__}: {exc}") from exc
    conftest = rootdir / "conftest.py"
    if conftest.is_file():
        manager.register(_import_conftest(conftest), "conftest")
    return call_hooks(manager.hook)


_CONFTEST_MODULE = "_promptcheck_project_conftest"  # not "conftest": a host process may have its own


def _import_conftest(path: Path) -> ModuleType:
    # As pytest's default import mode does: the conftest's directory first on sys.path, so it can
    # import its neighbours; and the module in sys.modules while it runs (dataclasses need that).
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(_CONFTEST_MODULE, path)
    assert spec is not None and spec.loader is not None
    module = sys.modules[_CONFTEST_MODULE] = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[_CONFTEST_MODULE]
        lines = [line for frame, line in traceback.walk_tb(exc.__traceback__) if frame.f_code.co_filename == str(path)]
        where = f"{_shown(path)}:{lines[-1]}" if lines else _shown(path)
        raise ExtensionError(f"cannot import {where}: {type(exc).__name__}: {exc}") from exc
    return module
