"""Tools on the wire: declared tools and tool_choice out, tool calls back, for both wire formats.

A prompt declares its tools once, in OpenAI's function form
(``{type: function, function: {name, description, parameters}}``). OpenAI-compatible APIs get
them as they are; Anthropic's Messages API gets ``{name, description, input_schema}`` and its own
``tool_choice`` shapes. The answer's calls come back as ``ToolCall``s whichever API made them,
and cassettes store them as ``{id, name, arguments}`` mappings."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .base import ProviderRequest, ToolCall, ToolRound

# A function without parameters still needs an input schema on Anthropic's side.
_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def openai_tool_args(request: ProviderRequest) -> dict[str, Any]:
    """The ``tools``/``tool_choice`` arguments of a Chat Completions call (none without tools)."""
    out: dict[str, Any] = {}
    if request.tools:
        out["tools"] = [dict(tool) for tool in request.tools]
    if request.tool_choice is not None:
        out["tool_choice"] = request.tool_choice
    return out


def anthropic_tool_args(request: ProviderRequest) -> dict[str, Any]:
    """The ``tools``/``tool_choice`` arguments of a Messages API call (none without tools)."""
    out: dict[str, Any] = {}
    if request.tools:
        out["tools"] = [anthropic_tool(tool) for tool in request.tools]
    choice = anthropic_tool_choice(request.tool_choice)
    if choice is not None:
        out["tool_choice"] = choice
    return out


def _call_id(call: ToolCall, round_index: int, index: int, prefix: str) -> str:
    # Both APIs pair a result with its call by id; a call recorded without one gets a stable id.
    return call.id or f"{prefix}{round_index}_{index}"


def openai_round_messages(rounds: Sequence[ToolRound]) -> list[dict[str, Any]]:
    """Earlier simulated rounds as Chat Completions messages: the assistant's calls, then one
    ``tool`` message per result."""
    messages: list[dict[str, Any]] = []
    for r, exchange in enumerate(rounds):
        ids = [_call_id(c, r, i, "call_") for i, c in enumerate(exchange.calls)]
        messages.append({"role": "assistant", "content": exchange.text or None, "tool_calls": [
            {"id": ids[i], "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for i, c in enumerate(exchange.calls)
        ]})
        messages += [{"role": "tool", "tool_call_id": ids[i], "content": result} for i, result in enumerate(exchange.results)]
    return messages


def anthropic_round_messages(rounds: Sequence[ToolRound]) -> list[dict[str, Any]]:
    """Earlier simulated rounds as Messages API turns: ``tool_use`` blocks, then a user turn of
    ``tool_result`` blocks."""
    messages: list[dict[str, Any]] = []
    for r, exchange in enumerate(rounds):
        ids = [_call_id(c, r, i, "toolu_") for i, c in enumerate(exchange.calls)]
        said = [{"type": "text", "text": exchange.text}] if exchange.text else []
        uses = []
        for i, call in enumerate(exchange.calls):
            arguments, _ = parsed_arguments(call)
            uses.append({"type": "tool_use", "id": ids[i], "name": call.name, "input": arguments if isinstance(arguments, dict) else {}})
        messages.append({"role": "assistant", "content": said + uses})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": ids[i], "content": result} for i, result in enumerate(exchange.results)
        ]})
    return messages


def anthropic_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function") or {}
    converted: dict[str, Any] = {"name": function.get("name")}
    if function.get("description"):
        converted["description"] = function["description"]
    converted["input_schema"] = dict(function.get("parameters") or _NO_PARAMETERS)
    return converted


def anthropic_tool_choice(choice: Any) -> dict[str, Any] | None:
    """OpenAI's ``auto``/``none``/``required``/``{type: function, function: {name}}`` as Anthropic's
    ``{type: auto|none|any|tool}``."""
    if choice is None:
        return None
    if isinstance(choice, str):
        return {"type": {"required": "any"}.get(choice, choice)}
    function = choice.get("function") if isinstance(choice, Mapping) else None
    if isinstance(function, Mapping):
        return {"type": "tool", "name": function.get("name")}
    return dict(choice) if isinstance(choice, Mapping) else None


def from_anthropic_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tool written in Anthropic's form (promptfoo configs of ``anthropic:`` providers) in the
    OpenAI form every other part of promptcheck reads."""
    function: dict[str, Any] = {"name": tool.get("name")}
    if tool.get("description") is not None:
        function["description"] = tool["description"]
    if tool.get("input_schema") is not None:
        function["parameters"] = tool["input_schema"]
    return {"type": "function", "function": function}


def from_anthropic_tool_choice(choice: Any) -> Any:
    """Anthropic's ``{type: auto|none|any|tool}`` in OpenAI's form; other values as they are."""
    if not isinstance(choice, Mapping) or "function" in choice:
        return choice
    kind = choice.get("type")
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name")}}
    return {"any": "required"}.get(str(kind), kind)


def _arguments_text(arguments: Any) -> str:
    # OpenAI sends the arguments as JSON text; some compatible servers send the object itself.
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)


def openai_tool_calls(message: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    """The calls of a Chat Completions answer message (``tool_calls``, or the older ``function_call``)."""
    calls = message.get("tool_calls")
    found: list[ToolCall] = []
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping) and isinstance(function.get("name"), str):
                found.append(ToolCall(function["name"], _arguments_text(function.get("arguments")), str(call.get("id") or "")))
    legacy = message.get("function_call")
    if not found and isinstance(legacy, Mapping) and isinstance(legacy.get("name"), str):
        found.append(ToolCall(legacy["name"], _arguments_text(legacy.get("arguments"))))
    return tuple(found)


def anthropic_tool_calls(blocks: Sequence[Any]) -> tuple[ToolCall, ...]:
    """The ``tool_use`` blocks of a Messages API answer."""
    return tuple(
        ToolCall(str(block["name"]), _arguments_text(block.get("input")), str(block.get("id") or ""))
        for block in blocks
        if isinstance(block, Mapping) and block.get("type") == "tool_use" and isinstance(block.get("name"), str)
    )


def calls_to_data(calls: Sequence[ToolCall]) -> list[dict[str, str]]:
    """Calls as cassettes write them: ``{id, name, arguments}`` (``id`` left out when empty)."""
    return [{**({"id": c.id} if c.id else {}), "name": c.name, "arguments": c.arguments} for c in calls]


def calls_from_data(data: Any) -> tuple[ToolCall, ...]:
    """``calls_to_data`` read back; ValueError naming what a hand edit broke."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ValueError("'tool_calls' must be a list of {name, arguments} mappings")
    calls = []
    for entry in data:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise ValueError("each of 'tool_calls' must be a mapping with a 'name'")
        calls.append(ToolCall(entry["name"], _arguments_text(entry.get("arguments")), str(entry.get("id") or "")))
    return tuple(calls)


def parsed_arguments(call: ToolCall) -> tuple[Any, str | None]:
    """(the arguments as a JSON value, None) or (None, why they are not JSON)."""
    try:
        return json.loads(call.arguments or "{}"), None
    except ValueError as exc:
        return None, f"arguments of {call.name} are not JSON ({exc})"


def describe(call: ToolCall, limit: int = 200) -> str:
    """``name({...})`` on one line, for failure text and reasons."""
    arguments = " ".join(call.arguments.split())
    if len(arguments) > limit:
        arguments = arguments[: limit - 3] + "..."
    return f"{call.name}({arguments})"
