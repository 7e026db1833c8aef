"""promptfoo configs (``promptfooconfig.yaml``) read into the common spec model."""

from __future__ import annotations

import fnmatch

from promptcheck.formats.promptfoo.config import read_config

CONFIG_GLOBS = ("promptfooconfig.yaml", "promptfooconfig.yml", "promptfooconfig.*.yaml", "promptfooconfig.*.yml")


def is_promptfoo_name(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in CONFIG_GLOBS)


__all__ = ["CONFIG_GLOBS", "is_promptfoo_name", "read_config"]
