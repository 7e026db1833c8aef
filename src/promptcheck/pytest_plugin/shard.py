"""``--shard i/n``: run one of n disjoint slices of the items, e.g. one per CI machine.

An item's shard is a hash of its key (prompt path, case, model), never its position: positions
shift when prompts are added or when -k/-m deselect, and each pytest-xdist worker collects on its
own. A key hash puts every item in exactly one shard on every machine, whatever the worker count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
import pytest


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as users write it
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/4"`` -> Shard(2, 4); a plain-words ValueError for anything else."""
        index, sep, count = text.strip().partition("/")
        try:
            shard = cls(int(index), int(count))
        except ValueError:
            shard = None
        if not sep or shard is None or shard.count < 1 or not 1 <= shard.index <= shard.count:
            raise ValueError(f"--shard wants i/n with 1 <= i <= n, e.g. --shard 1/4; got '{text}'")
        return shard

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, key: str) -> bool:
        return shard_of(key, self.count) == self.index


def shard_of(key: str, count: int) -> int:
    """The 1-based shard of an item key; sha256 so it is the same on every machine and Python."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def item_key(item: pytest.Item) -> str:
    # Prompt items key on the stable run-record key; other tests (a project's own unit tests
    # collected in the same session) are split by node id.
    plan = getattr(item, "plan", None)
    return str(plan.key) if plan is not None else item.nodeid


def deselect(config: pytest.Config, items: list[pytest.Item], shard: Shard | None) -> int:
    """Keep only this shard's items, reporting the others through pytest_deselected like -k does;
    returns how many it deselected."""
    if shard is None or shard.count == 1:
        return 0
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (kept if shard.owns(item_key(item)) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    return len(dropped)
