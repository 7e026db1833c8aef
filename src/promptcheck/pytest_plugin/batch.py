"""--batch inside a pytest session: gather the items' requests and run them as batches."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from promptcheck.pytest_plugin.progress import Progress

from promptcheck.providers.batch.runner import BatchResults, run_batches

if TYPE_CHECKING:
    from promptcheck.pytest_plugin.session import PromptcheckSession


def run_for_session(state: PromptcheckSession, items: list[pytest.Item]) -> BatchResults:
    from promptcheck.pytest_plugin.items import PromptItem

    requests = [
        item.plan.request(index)
        for item in items
        if isinstance(item, PromptItem) and not item.plan.skip_reason and not state.providers.config_error(item.plan.target)
        for index in range(item.plan.repeat)
    ]
    progress = Progress(state.config)
    results = run_batches(
        requests,
        state.providers,
        state.settings.report_path / "batches",
        run_id=state.runlog.run_id,
        progress=progress.status,
    )
    answered, failed = results.answered, len(results.failures)
    progress.done(f"promptcheck batch: {answered} answers recorded, {failed} failed" if answered or failed else None)
    return results
