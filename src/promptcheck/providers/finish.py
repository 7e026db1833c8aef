"""Finish / stop reasons in promptfoo's normalised vocabulary (its ``normalizeFinishReason``):
OpenAI's ``finish_reason`` and Anthropic's ``stop_reason`` both become stop, length,
content_filter or tool_calls; any other value is kept, lowercased."""

from __future__ import annotations

from typing import Any

FINISH_REASONS = {
    "stop": "stop", "length": "length", "content_filter": "content_filter", "tool_calls": "tool_calls",
    "function_call": "tool_calls",  # OpenAI's older name
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",  # Anthropic
}


def normalize_finish_reason(raw: Any) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    key = raw.strip().lower()
    return FINISH_REASONS.get(key, key)
