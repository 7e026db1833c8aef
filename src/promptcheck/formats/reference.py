"""``output:``, the answer the ``reference`` model gives for a case or a turn.

Text, or any YAML value (sent as its JSON text, for prompts that answer JSON), or an answer that
calls tools, in the shape a ``python:`` provider returns::

    output:
      text: Let me check that order.          # optional
      tool_calls:
        - {name: lookup_order, arguments: {order_id: A1}}

A mapping is read as such an answer only when it has ``tool_calls`` and no key but ``text`` beside
it, so a JSON answer that happens to have a ``text`` field stays a JSON answer."""

from __future__ import annotations

import json
from typing import Any, Mapping

from promptcheck.formats.fields import Problems, type_name
from promptcheck.providers.tools import calls_from_data
from promptcheck.spec import ReferenceAnswer

ANSWER_KEYS = {"text", "tool_calls"}


def parse_output(entry: Mapping[str, Any], problems: Problems) -> ReferenceAnswer | None:
    value = entry.get("output")
    if value is None:
        return None
    if isinstance(value, str):
        return ReferenceAnswer(value)
    if isinstance(value, Mapping) and "tool_calls" in value and set(map(str, value)) <= ANSWER_KEYS:
        return _calling(value, problems, problems.at_key(entry, "output"))
    if isinstance(value, (dict, list)):  # a structured answer is compared as JSON text
        return ReferenceAnswer(json.dumps(value, ensure_ascii=False))
    return ReferenceAnswer(str(value))


def _calling(value: Mapping[str, Any], problems: Problems, where: Any) -> ReferenceAnswer | None:
    text = value.get("text", "")
    if not isinstance(text, str):
        problems.error(f"'output.text' must be the answer's text, got {type_name(text)}", where)
        return None
    try:
        calls = calls_from_data(value["tool_calls"])
    except ValueError as exc:
        problems.error(f"'output.tool_calls': {exc}", where)
        return None
    return ReferenceAnswer(text, calls)
