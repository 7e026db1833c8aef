"""JSON Schema (Draft 2020-12) for every schema check, through the ``jsonschema`` library.

Two questions, asked at two times: ``schema_error`` at collection (is this a schema at all?),
``schema_problem`` when an answer is graded (how does this value break it?). Both answer with one
readable line that names where: a path into the schema, or a JSON path (``$.items[0]``) into the
value. ``format`` is an annotation in Draft 2020-12, as jsonschema applies it by default: a
``format: email`` is not asserted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from promptcheck.checks.base import CheckError
from promptcheck.checks.jsontext import dumps

if TYPE_CHECKING:  # imported when a schema is first used: a session without one never pays for it
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing.exceptions import Unresolvable

DIALECT = "JSON Schema Draft 2020-12"
_JSON_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
_JSON_TYPE_OF: dict[type, str] = {str: "string", dict: "object", list: "array"}
# Keywords whose jsonschema message omits the bound ("[1] is too short"): the reason adds it.
_BOUNDS = frozenset({"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties", "minContains", "maxContains"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value (an integral float is an integer, as in JSON Schema)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    return _JSON_TYPE_OF.get(type(value), type(value).__name__)


def json_path(parts: Sequence[str | int], root: str = "$") -> str:
    """``$.items[0].name``; keys that are not plain names are bracketed (``$["a b"]``)."""
    shown = root
    for part in parts:
        if isinstance(part, int):
            shown += f"[{part}]"
        elif _NAME.fullmatch(part):
            shown += f".{part}"
        else:
            shown += f"[{json.dumps(part, ensure_ascii=False)}]"
    return shown


def schema_error(schema: Any) -> str | None:
    """Why ``schema`` is not a usable Draft 2020-12 schema, or None. A reference that points
    nowhere counts: promptcheck resolves ``$ref`` inside the schema and fetches nothing."""
    if not isinstance(schema, Mapping):
        return f"must be a JSON Schema object, got {json_type(schema)}"
    from jsonschema.exceptions import best_match

    # What Draft202012Validator.check_schema does, but with best_match, which looks inside
    # anyOf and friends for the branch the schema meant.
    error = best_match(_metaschema().iter_errors(schema))
    if error is not None:
        return f"{json_path(list(error.absolute_path), 'schema')}: {_message(error, in_schema=True)}"
    return _dangling_ref(schema)


def schema_problem(data: Any, schema: Mapping[str, Any]) -> str | None:
    """The most relevant way ``data`` breaks ``schema`` (jsonschema's ``best_match``), as
    ``$.path: why``, or None when it matches. Raises CheckError when the schema cannot be applied
    (a schema from a provider's tool list is only met here, never at collection)."""
    from jsonschema.exceptions import SchemaError, best_match
    from referencing.exceptions import Unresolvable

    try:
        error = best_match(_validator(_canonical(schema)).iter_errors(data))
    except Unresolvable as exc:
        raise CheckError(f"the schema cannot be applied: {_unresolvable(exc)}") from None
    except (_NotASchema, SchemaError, ValueError, TypeError) as exc:  # a schema nobody validated, e.g. a tool's parameters
        raise CheckError(f"the schema is not valid {DIALECT}: {schema_error(schema) or exc}") from None
    if error is None:
        return None
    return f"{json_path(list(error.absolute_path))}: {_message(error)}"


class _NotASchema(Exception):
    pass


@lru_cache(maxsize=1)
def _metaschema() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _canonical(schema: Mapping[str, Any]) -> str:
    # default=str: a YAML date in a schema (const: 2026-12-03) means the date as JSON text.
    return json.dumps(schema, sort_keys=True, ensure_ascii=False, default=str)


@lru_cache(maxsize=256)
def _validator(canonical: str) -> Draft202012Validator:
    # Keyed by the schema's text: every case of a prompt shares one compiled validator.
    from jsonschema import Draft202012Validator

    schema = json.loads(canonical)
    if (problem := schema_error(schema)) is not None:
        raise _NotASchema(problem)
    return Draft202012Validator(schema)


def _message(error: ValidationError, in_schema: bool = False) -> str:
    """The reason in JSON's words for the common keywords, jsonschema's own message otherwise.
    ``in_schema``: the error is the metaschema's, about the schema itself."""
    keyword, wanted, value = error.validator, cast(Any, error.validator_value), cast(Any, error.instance)
    if keyword == "type":
        types = [wanted] if isinstance(wanted, str) else list(wanted)
        return f"expected {' or '.join(str(t) for t in types)}, got {json_type(value)}"
    if keyword == "required" and isinstance(value, Mapping):
        missing = next((key for key in wanted if key not in value), None)
        return f"missing required key {missing!r}"
    if keyword == "additionalProperties" and wanted is False and isinstance(value, Mapping):
        extra = [key for key in value if not _declared(key, error.schema)]
        return f"unexpected key {extra[0]!r}" if extra else error.message
    if keyword == "enum":
        return f"{dumps(value)} is not one of {dumps(wanted)}"
    if keyword == "const":
        return f"expected {dumps(wanted)}, got {dumps(value)}"
    if in_schema and keyword == "anyOf" and list(error.absolute_path)[-1:] == ["type"] and not isinstance(value, list):
        # The metaschema's own type rule, met while checking a schema: say what would do.
        return f"unknown type {dumps(value)}; use one of {', '.join(_JSON_TYPES)}"
    message = error.message
    if message.startswith(repr(value)):  # jsonschema shows the value as Python: show JSON, kept short
        message = _short(dumps(value)) + message[len(repr(value)) :]
    return f"{message} ({keyword} {wanted})" if keyword in _BOUNDS else message


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _declared(key: str, schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    if key in (schema.get("properties") or {}):
        return True
    return any(re.search(pattern, key) for pattern in (schema.get("patternProperties") or {}))


def _dangling_ref(schema: Mapping[str, Any]) -> str | None:
    refs = list(_refs(schema))
    if not refs or any(_nested_ids(schema)):
        return None  # a nested $id moves the base of its refs; those are resolved when used
    from referencing import Registry, Resource
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    resolver = Registry().with_resource("", Resource.from_contents(dict(schema), default_specification=DRAFT202012)).resolver("")
    for ref in refs:
        try:
            resolver.lookup(ref)
        except Unresolvable as exc:
            return _unresolvable(exc, ref)
    return None


def _unresolvable(exc: Unresolvable, ref: str | None = None) -> str:
    from referencing.exceptions import PointerToNowhere

    ref = ref if ref is not None else str(getattr(exc, "ref", exc))
    if isinstance(exc, PointerToNowhere):
        return f"$ref {ref!r} points to nothing in the schema"
    return f"$ref {ref!r} cannot be resolved: promptcheck resolves references inside the schema only and fetches nothing"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _nested_ids(node: Any, top: bool = True) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$id" and isinstance(value, str) and not top:
                yield value
            else:
                yield from _nested_ids(value, False)
    elif isinstance(node, list):
        for value in node:
            yield from _nested_ids(value, False)
