"""YAML loading that remembers where every mapping key and list item came from.

PyYAML does the parsing; this module adds position marks (so errors can say file:line:col),
strict UTF-8 decoding, and the bounds of yamllimits (alias expansion, nesting) so a "billion
laughs" file fails fast. ``loads`` is how promptcheck reads every YAML file: prompt files, case
files, promptfoo configs and the YAML they reference, cassettes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from promptcheck.safefiles.kinds import not_readable_reason
from promptcheck.safefiles.yamllimits import (
    MAX_DEPTH, YamlTooCostly, check_nesting_before_compose, check_node, too_deep_message,
)
from promptcheck.spec import Location, SpecError

_BaseLoader: type[yaml.CSafeLoader] | type[yaml.SafeLoader]
try:  # the C loader is several times faster on large case files
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _BaseLoader = yaml.SafeLoader


class MarkedDict(dict):  # type: ignore[type-arg]
    """A dict that knows the (line, col) of itself and of each of its keys."""

    line: int | None = None
    col: int | None = None
    key_marks: dict[Any, tuple[int, int]]


class MarkedList(list):  # type: ignore[type-arg]
    line: int | None = None
    col: int | None = None
    item_marks: list[tuple[int, int]]


# mypy takes no base class chosen at run time (C loader or not); both bases have the same API.
class _MarkingLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    depth = 0  # collections under construction: nesting is bounded here, where it is cheap


def _enter(loader: _MarkingLoader, node: yaml.Node) -> None:
    loader.depth += 1
    if loader.depth > MAX_DEPTH:
        raise yaml.constructor.ConstructorError(None, None, too_deep_message(), node.start_mark)


def _reject_duplicate_keys(node: yaml.MappingNode) -> None:
    """PyYAML keeps the last of two equal keys without a word, which silently drops e.g. a whole
    ``messages:`` block. Keys brought in by a ``<<:`` merge may be overridden; written ones may not."""
    seen: dict[tuple[str, str], yaml.Mark] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        first = seen.setdefault((key_node.tag, key_node.value), key_node.start_mark)
        if first is not key_node.start_mark:
            raise yaml.constructor.ConstructorError(
                None, None,
                f"duplicate key {key_node.value!r} (first at line {first.line + 1}); YAML would keep only the last one",
                key_node.start_mark,
            )


def _construct_mapping(loader: _MarkingLoader, node: yaml.MappingNode) -> MarkedDict:
    _enter(loader, node)
    try:
        return _marked_mapping(loader, node)
    finally:
        loader.depth -= 1


def _marked_mapping(loader: _MarkingLoader, node: yaml.MappingNode) -> MarkedDict:
    _reject_duplicate_keys(node)
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.line, result.col = node.start_mark.line + 1, node.start_mark.column + 1
    result.key_marks = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable mapping key", key_node.start_mark
            ) from None
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_marks[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    return result


def _construct_sequence(loader: _MarkingLoader, node: yaml.SequenceNode) -> MarkedList:
    _enter(loader, node)
    try:
        result = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    finally:
        loader.depth -= 1
    result.line, result.col = node.start_mark.line + 1, node.start_mark.column + 1
    result.item_marks = [(c.start_mark.line + 1, c.start_mark.column + 1) for c in node.value]
    return result


_MarkingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_MarkingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Timestamps stay strings: a date in a prompt is text, and datetime objects are not JSON-safe.
_MarkingLoader.add_constructor("tag:yaml.org,2002:timestamp", _MarkingLoader.construct_yaml_str)


def decode_text(raw: bytes, display_path: str) -> str:
    """Strict UTF-8 (a BOM is allowed) with the position of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise SpecError(
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8",
            Location(display_path, line, col),
        ) from None


def loads(text: str, display_path: str, *, allow_empty: bool = False) -> Any:
    """Parse one YAML document into MarkedDict/MarkedList/scalars, or raise SpecError.
    ``allow_empty``: a file with no document is None instead of an error."""
    if not text.strip():
        if allow_empty:
            return None
        raise SpecError("file is empty", Location(display_path, 1, 1))
    loader = _MarkingLoader(text)
    try:
        check_nesting_before_compose(text, _BaseLoader)
        node = loader.get_single_node()
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null") and not node.value):
            if allow_empty:
                return None
            raise SpecError("file is empty (only comments or document markers)", Location(display_path, 1, 1))
        if "&" in text:  # no anchor, no alias: construction itself bounds the nesting
            check_node(node)
        return loader.construct_document(node)
    except YamlTooCostly as exc:
        raise SpecError(exc.message, Location(display_path, exc.line, exc.col)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        at_tab = mark is not None and mark.index < len(text) and text[mark.index] == "\t"
        if at_tab:  # PyYAML's context for a tab points at an unrelated scalar; the tab is the news
            problem = f"{exc.problem or 'found a tab'}; YAML indentation must use spaces, not tabs"
        elif exc.context and exc.problem:
            # The context often starts lines earlier (an unclosed quote): say where.
            start, end = exc.context_mark, exc.problem_mark
            if start is not None and end is not None and start.line != end.line and exc.context.startswith("while "):
                problem = f"{exc.problem} ({exc.context} that starts at line {start.line + 1}, column {start.column + 1})"
            else:
                problem = f"{exc.context}, {exc.problem}"
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        if problem != too_deep_message():  # a limit of ours, met while constructing: not a syntax error
            problem = f"invalid YAML: {problem}"
        raise SpecError(problem, Location(display_path, line, col)) from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, only a position
        before = text[: exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        problem = f"unacceptable character #x{exc.character:04x}" if isinstance(exc.character, int) else "unacceptable character"
        raise SpecError(f"invalid YAML: {problem}: {exc.reason}", Location(display_path, line, col)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {str(exc).splitlines()[0]}", Location(display_path)) from None
    except RecursionError:
        raise SpecError("YAML nesting is too deep", Location(display_path)) from None
    finally:
        loader.dispose()


def bounded_yaml(text: str) -> Any:
    """Plain values from YAML text that is not a file of ours (e.g. a model's answer), under the
    same limits as files: ValueError (with the line) when aliases or nesting go past them."""
    loader = _BaseLoader(text)
    try:
        check_nesting_before_compose(text, _BaseLoader)
        node = loader.get_single_node()
        if node is None:
            return None
        check_node(node)
        return loader.construct_document(node)
    except YamlTooCostly as exc:
        raise ValueError(f"line {exc.line}: {exc.message}") from None
    finally:
        loader.dispose()


def load_file(path: Path, display_path: str, *, allow_empty: bool = False) -> Any:
    reason = not_readable_reason(path)
    if reason is not None:  # reading a FIFO would block for good
        raise SpecError(reason, Location(display_path))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read file: {exc.strerror}", Location(display_path)) from None
    return loads(decode_text(raw, display_path), display_path, allow_empty=allow_empty)


def key_location(mapping: Any, key: str, path: str) -> Location:
    """Where ``key`` sits in ``mapping`` (falling back to the mapping itself)."""
    marks = getattr(mapping, "key_marks", None) or {}
    if key in marks:
        line, col = marks[key]
        return Location(path, line, col)
    return node_location(mapping, path)


def item_location(seq: Any, index: int, path: str) -> Location:
    marks = getattr(seq, "item_marks", None) or []
    if index < len(marks):
        line, col = marks[index]
        return Location(path, line, col)
    return node_location(seq, path)


def node_location(node: Any, path: str) -> Location:
    return Location(path, getattr(node, "line", None), getattr(node, "col", None))
