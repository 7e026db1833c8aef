"""Stash keys shared by the plugin modules (kept apart to avoid import cycles)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from promptcheck.pytest_plugin.session import PromptcheckSession

SESSION_KEY: pytest.StashKey["PromptcheckSession"] = pytest.StashKey()
RECORD_KEY: pytest.StashKey[dict[str, Any]] = pytest.StashKey()
SHARD_DESELECTED: pytest.StashKey[int] = pytest.StashKey()  # items --shard deselected
