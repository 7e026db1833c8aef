"""``tools:`` and ``tool_choice`` as prompt files declare them, checked at collection.

Tools are declared in OpenAI's function form, the one every OpenAI-compatible API takes::

    tools:
      - type: function
        function:
          name: lookup_order
          description: Find an order by its id
          parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
    tool_choice: auto        # or none, required, or {type: function, function: {name: lookup_order}}

promptfoo configs of ``anthropic:`` providers write Anthropic's form (``{name, description,
input_schema}``), those of ``openai:responses:`` providers the Responses API's flat form
(``{type: function, name, description, parameters}``), those of ``google:`` providers Gemini's
``{function_declarations: [{name, description, parameters}]}``; all are accepted too and turned
into the function form, so that everything after the reader sees one form. A parameters schema is checked as a JSON Schema (Draft 2020-12)."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from promptcheck.formats.fields import Problems, type_name
from promptcheck.spec import Location

# What OpenAI accepts as a function name (Anthropic's rule is the same).
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
CHOICES = ("auto", "none", "required")


def parse_tools(raw: Any, problems: Problems, where: Location, what: str = "'tools'") -> list[dict[str, Any]]:
    """The declared tools in function form; every problem is reported at its item."""
    if raw is None:
        return []
    entries = _entries(raw, problems, where)
    if entries is None:
        problems.error(f"{what} must be a list of tools ({{type: function, function: {{name, parameters}}}}), got {type_name(raw)}", where)
        return []
    tools: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, (entry, at) in enumerate(entries):
        tool = _tool(entry, index, problems, at, what)
        if tool is None:
            continue
        name = tool["function"]["name"]
        if name in seen:
            problems.error(f"{what}: tool {index + 1}: the name {name!r} is declared twice", at)
            continue
        seen.add(name)
        tools.append(tool)
    return tools


def _entries(raw: Any, problems: Problems, where: Location) -> list[tuple[Any, Location]] | None:
    """Each declared tool and where it is written; None when ``raw`` is no list of tools.
    Gemini's form (``google:`` and ``vertex:`` providers), ``{function_declarations: [...]}``
    or a list of such holding ``{name, description, parameters}``, gives those declarations."""
    groups = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
    keys = ("function_declarations", "functionDeclarations")
    if not groups or not all(isinstance(g, dict) and any(k in g for k in keys) for g in groups):
        return [(entry, problems.at_item(raw, index)) for index, entry in enumerate(raw)] if isinstance(raw, list) else None
    entries: list[tuple[Any, Location]] = []
    for group in groups:
        found = next(group[k] for k in keys if k in group)
        if isinstance(found, list):
            entries += [(entry, problems.at_item(found, index)) for index, entry in enumerate(found)]
        else:
            entries.append((found, problems.at(found) if found is not None else where))
    return entries


def _tool(entry: Any, index: int, problems: Problems, at: Location, what: str) -> dict[str, Any] | None:
    label = f"{what}: tool {index + 1}"
    if not isinstance(entry, dict):
        problems.error(f"{label} must be a mapping {{type: function, function: {{name, parameters}}}}, got {type_name(entry)}", at)
        return None
    if "function" not in entry and "input_schema" in entry:  # Anthropic's form
        entry = {"type": "function", "function": {k: entry[k] for k in ("name", "description") if k in entry} | {"parameters": entry["input_schema"]}}
    elif "function" not in entry and "name" in entry and entry.get("type", "function") == "function":
        # OpenAI's Responses API form (openai:responses: providers): the function's fields sit on the tool itself.
        entry = {"type": "function", "function": {k: v for k, v in entry.items() if k != "type"}}
    if entry.get("type", "function") != "function":
        problems.error(f"{label}: 'type' must be function, got {entry.get('type')!r}", at)
        return None
    function = entry.get("function")
    if not isinstance(function, dict):
        problems.error(f"{label} needs a 'function' mapping with a name (got {type_name(function)})", at)
        return None
    name = function.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.error(f"{label}: 'function.name' must be 1 to 64 letters, digits, '_' or '-', got {name!r}", at)
        return None
    description = function.get("description")
    if description is not None and not isinstance(description, str):
        problems.error(f"{label} ({name}): 'function.description' must be a string, got {type_name(description)}", at)
        return None
    parameters = function.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, dict):
            problems.error(f"{label} ({name}): 'function.parameters' must be a JSON Schema mapping, got {type_name(parameters)}", at)
            return None
        try:
            Draft202012Validator.check_schema(parameters)
        except SchemaError as exc:
            path = "/".join(str(p) for p in exc.path)
            problems.error(f"{label} ({name}): 'function.parameters' is not a valid JSON Schema: {exc.message}{f' (at {path})' if path else ''}", at)
            return None
    return {**entry, "type": "function", "function": dict(function)}


def parse_tool_choice(raw: Any, tools: list[dict[str, Any]], problems: Problems, where: Location, what: str = "'tool_choice'") -> Any:
    """The tool_choice as written (OpenAI's form; Anthropic's ``{type: auto|any|none|tool}`` is
    turned into it), once it is known to name a declared tool."""
    if raw is None:
        return None
    if isinstance(raw, dict) and raw.get("type") in ("auto", "any", "none", "tool") and "function" not in raw:
        raw = {"type": "function", "function": {"name": raw.get("name")}} if raw["type"] == "tool" else {"any": "required"}.get(raw["type"], raw["type"])
    if not tools:
        problems.error(f"{what} is set, but no tools are declared", where)
        return None
    if isinstance(raw, str):
        if raw not in CHOICES:
            problems.error(f"{what} must be one of {', '.join(CHOICES)} or {{type: function, function: {{name}}}}, got {raw!r}", where)
            return None
        return raw
    function = raw.get("function") if isinstance(raw, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str):
        problems.error(f"{what} must be one of {', '.join(CHOICES)} or {{type: function, function: {{name}}}}, got {type_name(raw)}", where)
        return None
    known = [t["function"]["name"] for t in tools]
    if name not in known:
        problems.error(f"{what} names the tool {name!r}, which is not declared (declared: {', '.join(known)})", where)
        return None
    return {"type": "function", "function": {"name": name}}


MAX_TOOL_ROUNDS = 20
DEFAULT_TOOL_ROUNDS = 5


def parse_tool_results(entry: dict[str, Any], problems: Problems) -> tuple[dict[str, Any], int | None]:
    """A case's simulated tools: ``tool_results`` (tool name -> a fixed result, or
    ``python:module:function``) and ``max_tool_rounds`` (1 to 20)."""
    raw = entry.get("tool_results")
    results: dict[str, Any] = {}
    if raw is not None:
        if not isinstance(raw, dict) or not raw:
            problems.error(f"'tool_results' must map tool names to their results, got {type_name(raw)}", problems.at_key(entry, "tool_results"))
        else:
            for name, value in raw.items():
                if isinstance(value, str) and value.startswith("python:") and value.count(":") != 2:
                    problems.error(f"tool_results.{name}: a function must look like python:module:function, got {value!r}", problems.at_key(raw, str(name)))
                else:
                    results[str(name)] = value
    rounds = entry.get("max_tool_rounds")
    if rounds is not None:
        where = problems.at_key(entry, "max_tool_rounds")
        if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= MAX_TOOL_ROUNDS:
            problems.error(f"'max_tool_rounds' must be a whole number from 1 to {MAX_TOOL_ROUNDS}, got {rounds!r}", where)
            rounds = None
        elif not results:
            problems.error("'max_tool_rounds' is set, but the case gives no 'tool_results'", where)
    return results, rounds
