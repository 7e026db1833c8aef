"""pytest entry point. Hooks only delegate; the work lives in plain classes."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptcheck.pytest_plugin import gcfreeze
from promptcheck.pytest_plugin import newhooks
from promptcheck.pytest_plugin import options
from promptcheck.pytest_plugin import shard
from promptcheck.pytest_plugin.extensions import build_registries
from promptcheck.pytest_plugin.items import PromptFile
from promptcheck.pytest_plugin.keys import SESSION_KEY
from promptcheck.pytest_plugin.session import PromptcheckSession, XdistHooks


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(newhooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    gcfreeze.session_started(config)
    state = PromptcheckSession.start(config, options.settings_from_config(config), build_registries(config))
    config.stash[SESSION_KEY] = state
    config.pluginmanager.register(state, "promptcheck-session")
    if config.pluginmanager.hasplugin("dsession"):
        config.pluginmanager.register(XdistHooks(state), "promptcheck-xdist")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> PromptFile | None:
    if parent.config.stash[SESSION_KEY].catalog.is_prompt_file(file_path):
        return PromptFile.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard.deselect(config, items, config.getoption("shard"))
