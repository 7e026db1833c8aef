"""What promptfoo's assertions see as ``output`` when the model answered with tool calls.

promptfoo's providers do not hand over the answer's text then, but the calls, each in its API's
shape, and a config's assertions are written against that shape:

- OpenAI chat (``openai:``, ``azure:`` and the other OpenAI-compatible ones): the
  ``message.tool_calls`` list (``output[0].function.name``), or the whole message when it has
  text too; with the older ``functions`` config, ``message.function_call`` (``output.name``).
- ``openai:responses:``: each ``function_call`` output item as JSON text, one per line.
- ``anthropic:``: the content blocks as text, a ``tool_use`` block as its JSON, joined by a
  blank line.

Scripts (``javascript``, ``python``, transforms) get that value itself; every other check
gets its text, which is JSON as ``JSON.stringify`` writes it. Other providers, and answers
without tool calls, are judged on the answer's text as before."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from promptcheck.checks.base import CheckContext
from promptcheck.spec import PromptfooProviderConfig

if TYPE_CHECKING:
    from promptcheck.providers.base import ToolCall


def provider_output(text: str, ctx: CheckContext) -> Any:
    """promptfoo's ``output`` for this answer; ``text`` itself when it is just the text."""
    provider = ctx.model_extension
    if not ctx.tool_calls or not isinstance(provider, PromptfooProviderConfig):
        return text
    calls = ctx.tool_calls
    if provider.provider_id.startswith("anthropic:"):
        blocks = [text] if text else []
        return "\n\n".join(blocks + [_json({"type": "tool_use", "id": c.id, "name": c.name, "input": _arguments(c)}) for c in calls])
    if provider.provider_id.startswith(("openai:responses:", "azure:responses:")):
        items = [_json({"type": "function_call", "id": c.id, "call_id": c.id, "name": c.name, "arguments": c.arguments,
                        "status": "completed"}) for c in calls]
        return "\n".join(items + ([text] if text else []))
    if provider.provider_id.startswith(("google:", "vertex:", "bedrock:", "ollama:")):
        return text  # their own shapes, not read here
    if provider.config.get("tools") is None and provider.config.get("functions") is not None:
        function_call = {"name": calls[0].name, "arguments": calls[0].arguments}
        return {"role": "assistant", "content": text, "function_call": function_call} if text else function_call
    tool_calls = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls]
    return {"role": "assistant", "content": text, "tool_calls": tool_calls} if text else tool_calls


def output_text(value: Any) -> str:
    """The text checks other than scripts read: a string as it is, anything else as JSON.stringify writes it."""
    return value if isinstance(value, str) else _json(value)


def script_output(output: Any, ctx: CheckContext) -> Any:
    """What a promptfoo script gets as ``output``: the provider's value when it is not the text."""
    return ctx.answer_value if ctx.answer_value is not None else output


def _arguments(call: ToolCall) -> Any:
    try:
        return json.loads(call.arguments)
    except ValueError:
        return call.arguments


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
