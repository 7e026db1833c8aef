"""pytest entry point. Hooks only delegate; the work lives in the session object and the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptcheck.pytest_plugin import gcfreeze, newhooks, options, sigterm
from promptcheck.pytest_plugin.extensions import build_registries
from promptcheck.pytest_plugin.items import PromptFile
from promptcheck.pytest_plugin.session import SESSION_KEY, PromptcheckSession
from promptcheck.pytest_plugin.xdist import XdistHooks


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(newhooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    gcfreeze.session_started(config)
    sigterm.install(config)
    state = config.stash[SESSION_KEY] = PromptcheckSession.start(config, options.settings_from_config(config), build_registries(config))
    config.pluginmanager.register(state, "promptcheck-session")
    # Not "dsession": xdist registers that in its own trylast pytest_configure, after this one ran.
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(state.runlog.run_id, state.cassettes_used, state.provider_errors, state.spend), "promptcheck-xdist")


def pytest_unconfigure(config: pytest.Config) -> None:
    sigterm.uninstall(config)


def pytest_collect_directory(path: Path, parent: pytest.Collector) -> None:
    parent.config.stash[SESSION_KEY].warn_unreadable(path, parent)  # pytest collects it as ever


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> PromptFile | None:
    return parent.config.stash[SESSION_KEY].collect_file(file_path, parent)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[SESSION_KEY].deselect_shard(items)
