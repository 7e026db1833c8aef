"""``--batch`` inside a pytest session: the engine sends the due calls as provider batches before
the item loop, while this shows their progress through pytest's terminal."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from promptcheck.engine.engine import Engine
from promptcheck.engine.plan import ItemPlan
from promptcheck.pytest_plugin.progress import Progress


def send_batches(config: pytest.Config, engine: Engine, plans: Iterable[ItemPlan], state_dir: Path, run_id: str) -> None:
    progress = Progress(config)
    results = engine.send_batches(plans, state_dir, run_id, progress.status)
    answered, failed = results.answered, len(results.failures)
    progress.done(f"promptcheck batch: {answered} answers recorded, {failed} failed" if answered or failed else None)
