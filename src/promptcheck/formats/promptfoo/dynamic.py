"""Prompts whose messages are only known per test case, built through ``PromptSpec.message_builder``:

- a chat prompt whose message list is itself templated (``[{% for m in messages %} ... ]``,
  or JSON made invalid by an unquoted ``{{ amount }}``): promptfoo renders the whole text
  first, then reads it as a chat (JSON list, or YAML starting ``- role:``), and sends the
  text as one user message when that fails. The same happens here, per case.
- prompt functions (``file://prompt.py:fn``, ``file://prompt.js[:fn]``): called per case with
  promptfoo's context ``{vars, provider}``; a string result is a prompt (it may be a chat in
  JSON), a list is the messages, ``{prompt, ...}`` gives the prompt. promptcheck calls them
  once per case, so ``provider`` holds no per-model details.
- custom Nunjucks filters (``nunjucksFilters``): JavaScript (or Python) functions used as
  Jinja filters by every template of that config, and by no other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import yaml

from promptcheck.checks import jsengine, scriptcall
from promptcheck.formats.templating import Filters, TemplateError, render
from promptcheck.safefiles.yamlio import bounded_yaml
from promptcheck.spec import Message

Builder = Callable[[dict[str, Any]], list[tuple[str, str]]]


def chat_messages(data: Any) -> list[tuple[str, str]] | None:
    """A parsed chat prompt as (role, content) pairs, or None when ``data`` is not one.
    Content that is not text (image parts, Gemini ``parts``) is kept as its JSON."""
    if not isinstance(data, list) or not data or not all(isinstance(m, dict) and "role" in m for m in data):
        return None
    return [(str(m["role"]), _content(m.get("content", m.get("parts", "")))) for m in data]


def _content(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse_chat(text: str) -> list[tuple[str, str]]:
    """promptfoo's reading of a rendered prompt: a chat when it parses as one, else one user message."""
    stripped = text.strip()
    data: Any = None
    try:
        if stripped.startswith("- role:"):
            data = bounded_yaml(stripped)
        elif stripped.startswith("["):
            data = json.loads(stripped)
    except (ValueError, RecursionError, yaml.YAMLError):
        data = None
    return chat_messages(data) or [("user", text)]


def template_builder(template: str, filters: Filters = ()) -> Builder:
    def build(variables: dict[str, Any]) -> list[tuple[str, str]]:
        return parse_chat(render(template, variables, filters, "nunjucks"))

    return build


def function_builder(ref: str, base: Path, filters: Filters = ()) -> Builder:
    """A prompt function as a builder; its failures become TemplateErrors naming the file."""
    shown = ref.removeprefix("file://")

    def build(variables: dict[str, Any]) -> list[tuple[str, str]]:
        context = {"vars": variables, "provider": {"id": "", "label": ""}, "config": {}}
        try:
            result = scriptcall.call(ref, [context], base_dir=base, params=("context",))
        except jsengine.JSUnavailable:
            raise TemplateError(f"prompt function {shown}: {jsengine.JS_MISSING}") from None
        except Exception as exc:  # the user's code: shown, never a traceback
            message = scriptcall.failure_message(exc)
            raise TemplateError(f"prompt function {shown} failed: {message}") from None
        if isinstance(result, dict) and "prompt" in result:
            result = result["prompt"]
        if isinstance(result, str):
            return parse_chat(result)
        messages = chat_messages(result)
        if messages is None:
            raise TemplateError(f"prompt function {shown} must return a string or a list of {{role, content}} messages")
        return messages

    return build


def filtered_builder(messages: list[Message], filters: Filters) -> Builder:
    """Ordinary messages rendered with a config's own filters."""
    return lambda variables: [(m.role, render(m.content, variables, filters, "nunjucks")) for m in messages]


# -- nunjucksFilters -----------------------------------------------------------------------------


class ScriptFilter:
    """One user filter. Hashable by identity, so rendered templates cache per config."""

    def __init__(self, name: str, ref: str, base: Path) -> None:
        self.name, self.ref, self.base = name, ref, base

    def __call__(self, *args: Any) -> Any:
        try:
            return scriptcall.call(self.ref, list(args), base_dir=self.base, params=("value",), python_default=self.name)
        except jsengine.JSUnavailable:
            raise TemplateError(f"filter '{self.name}': {jsengine.JS_MISSING}") from None
        except Exception as exc:
            message = scriptcall.failure_message(exc)
            raise TemplateError(f"filter '{self.name}' ({self.ref.removeprefix('file://')}) failed: {message}") from None


def read_filters(node: Any, base: Path) -> tuple[Filters, list[str]]:
    """``nunjucksFilters: {name: path}`` as Jinja filters, plus a problem per unusable entry."""
    if not isinstance(node, dict):
        return (), ["'nunjucksFilters' must map filter names to JavaScript or Python files"]
    filters: list[tuple[str, ScriptFilter]] = []
    problems: list[str] = []
    for name, path in node.items():
        ref = str(path) if str(path).startswith("file://") else f"file://{path}"
        try:
            scriptcall.language_of(ref)
        except scriptcall.ScriptError as exc:
            problems.append(f"nunjucksFilters '{name}': {exc}")
            continue
        target, _ = scriptcall.split_ref(ref, base)
        if not target.is_file():
            problems.append(f"nunjucksFilters '{name}': file not found: '{ref.removeprefix('file://')}' (looked in {base})")
            continue
        filters.append((str(name), ScriptFilter(str(name), ref, base)))
    return tuple(filters), problems
