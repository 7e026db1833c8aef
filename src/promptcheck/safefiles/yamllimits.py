"""Bounds on what a YAML document may cost once loaded, whatever its size on disk.

Two things make a small YAML file expensive: aliases (a "billion laughs" file of 1 kB names
10^9 nodes) and nesting (libyaml's composer recurses in C and crashes the process somewhere
past 20,000 levels). Honest data is neither: a 40,000-case file is big but has no aliases,
so only the *expansion that aliases cause* is limited, never the number of nodes written."""

from __future__ import annotations

import yaml

# Aliases may add this many nodes to a document, or ALIAS_RATIO times the nodes written, if
# that is more: a `<<: *defaults` in each of 40,000 cases is fine, a 10^9-node bomb is not.
MAX_ALIAS_EXPANSION = 250_000
ALIAS_RATIO = 10
# Real files nest a few levels (a JSON schema a few dozen); readers walk values recursively.
MAX_DEPTH = 200
# Below this many levels libyaml's composer is safe to run before we measure the nodes.
_COMPOSER_SAFE_DEPTH = 5_000

_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class YamlTooCostly(Exception):
    """The document is over a limit; ``line``/``col`` (1-based) say where."""

    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


def check_nesting_before_compose(text: str, loader_class: type) -> None:
    """Raise YamlTooCostly if ``text`` nests deeper than MAX_DEPTH, reading parser events
    (iterative in libyaml) only when a cheap bound says composing might not be safe."""
    if _depth_bound(text) <= _COMPOSER_SAFE_DEPTH:
        return
    depth = 0
    for event in yaml.parse(text, Loader=loader_class):
        if isinstance(event, _STARTS):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                assert mark is not None, "the parser marks every event"
                raise YamlTooCostly(too_deep_message(), mark.line + 1, mark.column + 1)
        elif isinstance(event, _ENDS):
            depth -= 1


def _depth_bound(text: str) -> int:
    # Flow nesting costs one bracket per level; block nesting costs at least a column per
    # level on some line ("- - - x"), with indentless sequences doubling it at most.
    longest = max(map(len, text.splitlines()), default=0)
    return text.count("[") + text.count("{") + 2 * longest + 2


def too_deep_message() -> str:
    return f"YAML nests deeper than {MAX_DEPTH} levels; refusing to load"


def check_node(root: yaml.Node) -> None:
    """Raise YamlTooCostly if aliases expand ``root`` past the limits or it nests too deep.
    Iterative and memoised per node, so the walk costs what the file holds, not what it expands
    to (and a 40,000-case file, mostly scalars, takes a fraction of its parse time)."""
    size: dict[int, int] = {}  # node -> nodes once aliases are expanded
    depth: dict[int, int] = {}  # node -> levels once aliases are expanded
    seen: set[int] = set()
    reached_again: dict[int, tuple[yaml.Node, int]] = {}  # node -> times reached through an alias
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    pop, push = stack.pop, stack.append
    while stack:
        node, children_done = pop()
        key = id(node)
        if children_done:
            total, deepest = 1, 0
            for child in _children(node):
                # Not measured yet: an ancestor reached again (a recursive alias); count it once.
                total += size.get(id(child), 1)
                deepest = max(deepest, depth.get(id(child), 1))
            size[key], depth[key] = total, deepest + 1
        elif key in seen:
            found = reached_again.get(key)
            reached_again[key] = (node, (found[1] if found else 0) + 1)
        elif node.__class__ is yaml.ScalarNode:
            seen.add(key)
            size[key] = depth[key] = 1
        else:
            seen.add(key)
            push((node, True))
            for child in reversed(_children(node)):
                push((child, False))
    written = len(seen)
    expanded = size[id(root)]
    if expanded - written > max(MAX_ALIAS_EXPANSION, ALIAS_RATIO * written):
        anchor = max(reached_again.values(), key=lambda hit: hit[1] * size.get(id(hit[0]), 1))[0]
        raise YamlTooCostly(
            f"YAML aliases expand this document from {written:,} nodes to {expanded:,} "
            "(the anchor that expands most is here); refusing to load (is this an alias bomb?)",
            anchor.start_mark.line + 1,
            anchor.start_mark.column + 1,
        )
    if depth[id(root)] > MAX_DEPTH:
        node = _deepest(root, depth)
        raise YamlTooCostly(too_deep_message(), node.start_mark.line + 1, node.start_mark.column + 1)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _deepest(root: yaml.Node, depth: dict[int, int]) -> yaml.Node:
    """The node where the expanded nesting passes MAX_DEPTH, for the error's line."""
    node, level = root, 1
    while level < MAX_DEPTH:
        children = _children(node)
        if not children:
            break
        node = max(children, key=lambda c: depth.get(id(c), 1))
        level += 1
    return node
