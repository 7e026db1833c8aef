"""promptfoo configs (``promptfooconfig.yaml``) read into the common spec model."""

from __future__ import annotations

import fnmatch
from typing import Any

from promptcheck.formats.promptfoo.config import read_config

CONFIG_GLOBS = ("promptfooconfig.yaml", "promptfooconfig.yml", "promptfooconfig.*.yaml", "promptfooconfig.*.yml")


def is_promptfoo_name(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in CONFIG_GLOBS)


def looks_like_config(data: Any) -> bool:
    """A YAML mapping shaped like a promptfoo config, whatever the file is called: it has prompts
    or providers, and no ``messages`` (which a GitHub Models prompt file has)."""
    return isinstance(data, dict) and "messages" not in data and ("prompts" in data or "providers" in data)


__all__ = ["CONFIG_GLOBS", "is_promptfoo_name", "looks_like_config", "read_config"]
