"""What a pytest-xdist worker is about to run, so its calls can be issued ahead of time.

xdist has no public API for a worker's queue: we read WorkerInteractor.torun under its lock and
degrade to "nothing known ahead" if that ever changes (items then fetch one by one)."""

from __future__ import annotations

from typing import Any

import pytest


def _interactor(config: pytest.Config) -> Any:
    for plugin in config.pluginmanager.get_plugins():
        if type(plugin).__name__ == "WorkerInteractor" and hasattr(plugin, "torun"):
            return plugin
    return None


def pending_worker_items(config: pytest.Config) -> list[pytest.Item]:
    interactor = _interactor(config)
    session = getattr(interactor, "session", None)
    if interactor is None or session is None:
        return []
    try:
        with interactor.torun.lock() as queue:
            indices = [i for i in queue if isinstance(i, int)]
        upcoming = [interactor.nextitem_index] if isinstance(interactor.nextitem_index, int) else []
        return [session.items[i] for i in upcoming + indices]
    except (AttributeError, IndexError, TypeError):
        return []
