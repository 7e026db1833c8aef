"""Reading an API answer that may not be one: what both SDK providers say when a server answers
200 with an HTML page (a proxy's login page), a list, or JSON that is not a chat answer.

The SDKs hand such a body over unchecked (as text when it is not labelled JSON, or as a model
built without validation, whose missing fields read as None), so each parser asks for the
fields it needs here and a failure names what was wrong instead of a Python TypeError."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

EXCERPT_CHARS = 200


class AnswerShapeError(Exception):
    """A 200 answer that is not the API's answer; the message says how (``not JSON: '<html>…'``)."""


def json_answer(result: Any) -> Mapping[str, Any]:
    """The answer as a JSON object, from the SDK's result: a parsed model, a dict or body text."""
    if isinstance(result, (str, bytes)):
        text = result.decode("utf-8", "replace") if isinstance(result, bytes) else result
        try:
            result = json.loads(text)
        except ValueError:
            raise AnswerShapeError(f"not JSON: {text[:EXCERPT_CHARS]!r}") from None
    if hasattr(result, "model_dump"):
        result = result.model_dump()
    if not isinstance(result, Mapping):
        raise AnswerShapeError(f"not a JSON object: {_excerpt(result)}")
    return result


def field(answer: Mapping[str, Any], name: str, kind: type | tuple[type, ...], *, where: str = "the answer") -> Any:
    """``answer[name]``, which must be a ``kind``; lists must not be empty."""
    value = answer.get(name) if isinstance(answer, Mapping) else None
    if value is None:
        raise AnswerShapeError(f"no '{name}' in {where}: {_excerpt(answer)}")
    if not isinstance(value, kind):
        raise AnswerShapeError(f"'{name}' in {where} is {type(value).__name__}, not {_kind_name(kind)}: {_excerpt(answer)}")
    if isinstance(value, list) and not value:
        raise AnswerShapeError(f"'{name}' in {where} is empty: {_excerpt(answer)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {"dict": "an object", "Mapping": "an object", "list": "a list", "str": "a string"}
    return " or ".join(names.get(k.__name__, k.__name__) for k in kinds)


def _excerpt(value: Any) -> str:
    if isinstance(value, Mapping):  # a model built without validation has every field, most None
        value = {k: v for k, v in value.items() if v is not None}
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"
