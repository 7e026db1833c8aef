"""The on-disk cassette format: readable YAML, secrets scrubbed, written atomically.

One file per (prompt file x model label). Answers and message contents are YAML literal
blocks so that a pull request diff shows, line by line, how a model's answers changed::

    # promptcheck cassette: recorded model answers, replayed instead of calling the API.
    prompt: prompts/support.prompt.yaml
    model: openai:gpt-4o
    created_by_run: 3f0c...
    entries:
      9b1e2f0c4d5a6b7c:
        item: prompts/support.prompt.yaml::refund[openai:gpt-4o]
        recorded_at: '2025-01-31T12:00:00Z'
        request:
          provider: openai
          model: gpt-4o
          params: {temperature: 0}
          response_format: null
          repeat_index: 0
          messages:
          - role: user
            content: |-
              Can I get a refund?
        response:
          text: |-
            Yes, within 30 days.
          usage: {input_tokens: 12, output_tokens: 7}
          latency_s: 0.84
          cost: 0.0001
          meta: {model: gpt-4o-2024-08-06, finish_reason: stop, id: chatcmpl-1}
          finish_reason: stop   # normalised (Anthropic's end_turn is stop too); absent in older files
          tool_calls:           # only when the model called tools (and request: tools, tool_choice
          - {id: call_1, name: lookup_order, arguments: '{"order_id": "A1"}'}   # when declared)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from promptcheck.safefiles import yamlio
from promptcheck.spec import SpecError

from .cassette_errors import not_a_cassette, unreadable

# libyaml is ~10x faster; replaying thousands of entries depends on it when available.
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

HEADER = (
    "# promptcheck cassette: recorded model answers, replayed instead of calling the API.\n"
    "# Keys are hashes of the rendered request; a changed prompt gets a new key.\n"
    "# Re-record with: pytest --record-mode=all <prompt file>\n"
)

class _Literal(str):
    """A string to write as a ``|`` block."""


def _represent_literal(dumper: yaml.SafeDumper, data: _Literal) -> yaml.ScalarNode:
    text = str(data)  # libyaml's emitter rejects str subclasses
    # Line/paragraph separators break block scalars in the pure-Python emitter.
    style = '"' if any(ch in text for ch in "\x85\u2028\u2029") else "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


class _Dumper(_BaseDumper):  # type: ignore[misc]
    pass


class _Flow(dict):  # type: ignore[type-arg]
    """A small mapping to write on one line (usage, meta, params): shorter files, tidier diffs."""


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


_Dumper.add_representer(_Literal, _represent_literal)
_Dumper.add_representer(_Flow, _represent_flow)
# A file re-read for a merge comes back as yamlio's marked containers: written as plain ones.
_Dumper.add_representer(yamlio.MarkedDict, yaml.representer.SafeRepresenter.represent_dict)
_Dumper.add_representer(yamlio.MarkedList, yaml.representer.SafeRepresenter.represent_list)


def load(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None when it does not exist. Read like every YAML file promptcheck
    reads (yamlio: alias and nesting limits), so a hand-edited or corrupt file fails fast."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise unreadable(path, exc.strerror or str(exc)) from None
    try:
        doc = yamlio.loads(yamlio.decode_text(data, str(path)), str(path), allow_empty=True)
    except SpecError as exc:
        at = f"line {exc.location.line}: " if exc.location.line else ""
        raise unreadable(path, f"{at}{exc.message}") from None
    if doc is None:
        return {"entries": {}}
    if not isinstance(doc, dict):
        raise not_a_cassette(path, f"the file is a {type(doc).__name__}, not a mapping")
    if not isinstance(doc.get("entries") or {}, dict):
        raise not_a_cassette(path, "'entries' is not a mapping")
    doc["entries"] = doc.get("entries") or {}
    for key, entry in doc["entries"].items():
        if entry is not None and not isinstance(entry, dict):
            raise not_a_cassette(path, f"entry {key!r} is not a mapping")
        response = (entry or {}).get("response")
        if response is not None and not isinstance(response, dict):
            raise not_a_cassette(path, f"the response of entry {key!r} is not a mapping")
    return doc


class _Unsupported(Exception):
    """A hand-edited file uses YAML features the streaming reader skips (anchors, aliases)."""


_STR = "tag:yaml.org,2002:str"


class _IndexReader:
    """Reads a cassette from parser events, building only headers, items and responses.

    ``yaml.load`` first builds a node graph of the whole document (hundreds of MB for a file of
    20,000 entries) and then every object, requests included, that replay never looks at.
    Streaming the events keeps memory to what replay needs and roughly halves the time.
    """

    def __init__(self, events: Iterator[yaml.Event]) -> None:
        self._next = events.__next__
        self._resolver = yaml.resolver.Resolver()
        self._constructor = yaml.constructor.SafeConstructor()
        self._first_chars = self._resolver.yaml_implicit_resolvers

    def read(self) -> tuple[dict[str, Any], dict[str, tuple[str, dict[str, Any]]]]:
        header: dict[str, Any] = {}
        entries: dict[str, tuple[str, dict[str, Any]]] = {}
        self._next()  # stream start
        event = self._next()
        if isinstance(event, yaml.StreamEndEvent):
            return header, entries
        root = self._next()
        if isinstance(root, yaml.ScalarEvent) and self._scalar(root) is None:
            return header, entries
        if not isinstance(root, yaml.MappingStartEvent):
            raise _NotACassette
        while not isinstance(event := self._next(), yaml.MappingEndEvent):
            name = self._value(event)
            if name == "entries":
                self._entries(entries)
            else:
                header[str(name)] = self._value(self._next())
        return header, entries

    def _entries(self, out: dict[str, tuple[str, dict[str, Any]]]) -> None:
        event = self._next()
        if isinstance(event, yaml.ScalarEvent) and self._scalar(event) is None:
            return
        if not isinstance(event, yaml.MappingStartEvent):
            raise _NotACassette
        while not isinstance(event := self._next(), yaml.MappingEndEvent):
            if not isinstance(event, yaml.ScalarEvent):
                raise _NotACassette
            key = event.value  # keys are hex digests: always strings, whatever they look like
            if not isinstance(self._next(), yaml.MappingStartEvent):
                raise _NotACassette
            item, response = "", {}
            while not isinstance(event := self._next(), yaml.MappingEndEvent):
                name = self._value(event)
                if name == "item":
                    item = str(self._value(self._next()))
                elif name == "response":
                    response = self._value(self._next())
                else:
                    self._skip(self._next())
            out[key] = (item, response if isinstance(response, dict) else {})

    def _value(self, event: yaml.Event) -> Any:
        if getattr(event, "anchor", None) is not None or isinstance(event, yaml.AliasEvent):
            raise _Unsupported
        if isinstance(event, yaml.ScalarEvent):
            return self._scalar(event)
        if isinstance(event, yaml.MappingStartEvent):
            mapping: dict[Any, Any] = {}
            while not isinstance(key := self._next(), yaml.MappingEndEvent):
                mapping[self._value(key)] = self._value(self._next())
            return mapping
        if isinstance(event, yaml.SequenceStartEvent):
            items: list[Any] = []
            while not isinstance(item := self._next(), yaml.SequenceEndEvent):
                items.append(self._value(item))
            return items
        raise _NotACassette

    def _scalar(self, event: yaml.ScalarEvent) -> Any:
        plain = event.implicit[0]
        if event.tag in (None, "!") and (not plain or event.value[:1] not in self._first_chars):
            return event.value  # quoted, block or cannot resolve to anything but a string
        tag = (
            event.tag
            if event.tag not in (None, "!")
            else self._resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        )
        if tag == _STR:
            return event.value
        construct = self._constructor.yaml_constructors.get(tag)
        if construct is None:
            raise _Unsupported
        # Called directly: construct_object() would memoise every node for the whole file.
        return construct(self._constructor, yaml.ScalarNode(tag, event.value, style=event.style))

    def _skip(self, event: yaml.Event) -> None:
        depth = int(isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)))
        while depth:
            event = self._next()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1


class _NotACassette(Exception):
    pass


def load_index(path: Path) -> tuple[dict[str, Any], dict[str, tuple[str, dict[str, Any]]]] | None:
    """(header, {key: (item, response)}) for replay, or None when the file does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise unreadable(path, exc.strerror or str(exc)) from None
    try:
        return _IndexReader(yaml.parse(data, Loader=_Loader)).read()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"line {mark.line + 1}: " if mark else ""
        raise unreadable(path, f"{at}invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise unreadable(path, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except (_NotACassette, StopIteration, RecursionError, TypeError):
        raise not_a_cassette(path, "its layout is not prompt, model, entries") from None
    except _Unsupported:
        doc = load(path) or {"entries": {}}
        entries = {
            str(k): (str((e or {}).get("item", "")), (e or {}).get("response") or {}) for k, e in doc["entries"].items()
        }
        return {k: v for k, v in doc.items() if k != "entries"}, entries


def _styled(entry: dict[str, Any]) -> dict[str, Any]:
    # Files re-read from disk hold plain values; mark the styled fields again on every write.
    response = entry.get("response")
    if isinstance(response, dict):
        if isinstance(response.get("text"), str):
            response["text"] = _Literal(response["text"])
        for name in ("usage", "meta"):
            if isinstance(response.get(name), dict):
                response[name] = _Flow(response[name])
        if isinstance(response.get("tool_calls"), list):  # one line per call: {id, name, arguments}
            response["tool_calls"] = [_Flow(c) if isinstance(c, dict) else c for c in response["tool_calls"]]
    request = entry.get("request")
    if isinstance(request, dict):
        if isinstance(request.get("params"), dict):
            request["params"] = _Flow(request["params"])
        if isinstance(request.get("tools"), list):  # one line per declared tool
            request["tools"] = [_Flow(t) if isinstance(t, dict) else t for t in request["tools"]]
        for exchange in request.get("tool_rounds") or []:  # a simulated round's calls, one line each
            if isinstance(exchange, dict) and isinstance(exchange.get("calls"), list):
                exchange["calls"] = [_Flow(c) if isinstance(c, dict) else c for c in exchange["calls"]]
        for message in request.get("messages") or []:
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                message["content"] = _Literal(message["content"])
            if isinstance(message, dict) and isinstance(message.get("parts"), list):  # one line per image
                message["parts"] = [_Flow(p) if isinstance(p, dict) and p.get("type") == "image" else p for p in message["parts"]]
    return entry


# key -> (the entry as last dumped, its YAML text under ``entries:``)
Fragments = dict[str, tuple[Any, str]]


def _yaml(value: Any) -> str:
    text: str = yaml.dump(
        value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=False
    )
    return text


def _entry_text(key: str, entry: Any) -> str:
    # Dumped on its own and shifted under "entries:". Every non-empty line moves by the same
    # two spaces, so block scalars keep their content (blank lines inside them stay blank).
    text = _yaml({key: _styled(entry) if isinstance(entry, dict) else entry})
    # libyaml closes a document that ends in a "|+" block with "..."; inside the file the
    # next key (or the end of the file) ends the block instead.
    text = text.removesuffix("\n...\n") + "\n" if text.endswith("\n...\n") else text
    return "".join(line if line == "\n" else "  " + line for line in text.splitlines(keepends=True))


def entry_fragment(key: str, entry: Any) -> tuple[Any, str]:
    """``entry``'s YAML under ``entries:``, made ahead of a write, as ``dump`` caches it."""
    return entry, _entry_text(key, entry)


def dump(doc: dict[str, Any], fragments: Fragments | None = None) -> str:
    """The file's text. ``fragments`` caches each entry's text between writes of the same file:
    representing YAML is pure Python, and re-dumping every entry on each batched write made
    recording N answers cost O(N²)."""
    entries = doc.get("entries") or {}
    # Sorted by item so neighbouring cases stay neighbours in diffs, whatever the record order.
    ordered = sorted(entries.items(), key=lambda kv: (str((kv[1] or {}).get("item", "")), kv[0]))
    cache = fragments if fragments is not None else {}
    current: Fragments = {}
    for key, entry in ordered:
        cached = cache.get(key)
        current[key] = cached if cached is not None and cached[0] == entry else (entry, _entry_text(key, entry))
    cache.clear()
    cache.update(current)
    body = {k: v for k, v in doc.items() if k != "entries"}
    if not current:
        return HEADER + _yaml({**body, "entries": {}})
    return HEADER + _yaml(body) + "entries:\n" + "".join(text for _, text in current.values())


def write_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never a torn write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
