"""What a pytest-xdist worker is about to run, so its calls can be issued ahead of time, and the
hooks only xdist defines.

xdist has no public API for a worker's queue: we read WorkerInteractor.torun under its lock and
degrade to "nothing known ahead" if that ever changes (items then fetch one by one)."""

from __future__ import annotations

from typing import Any

import pytest

from promptcheck.engine.budget import Spend


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


class XdistHooks:
    """Registered only when pytest-xdist is enabled (the syrupy pattern): hooks xdist defines,
    which it calls in the controller only."""

    def __init__(self, run_id: str, cassettes_used: dict[str, set[str]], provider_errors: dict[str, str], spend: Spend) -> None:
        self.run_id = run_id
        self.cassettes_used = cassettes_used
        self.provider_errors = provider_errors
        self.spend = spend

    def pytest_configure_node(self, node: Any) -> None:
        # Workers share the controller's run id, so "record once" sees their files as one run's.
        node.workerinput["promptcheck_run_id"] = self.run_id

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {})
        for path, keys in output.get("promptcheck_cassettes_used", {}).items():
            self.cassettes_used.setdefault(path, set()).update(keys)
        # Only workers meet providers; the controller's summary lists each model once.
        for label, message in output.get("promptcheck_provider_errors", {}).items():
            self.provider_errors.setdefault(label, message)
        spent, not_sent = output.get("promptcheck_spend", (0.0, 0))
        self.spend.add(spent, not_sent)
