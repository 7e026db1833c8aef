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
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from .base import ProviderError

# libyaml is ~10x faster; replaying thousands of entries depends on it when available.
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

HEADER = (
    "# promptcheck cassette: recorded model answers, replayed instead of calling the API.\n"
    "# Keys are hashes of the rendered request; a changed prompt gets a new key.\n"
    "# Re-record with: pytest --record-mode=all <prompt file>\n"
)

REDACTED = "[REDACTED]"

# Shapes of credentials that must never reach a file, even when a prompt or an answer echoes
# one. Header-like "name: value" pairs keep the name so the diff still reads sensibly.
_SECRET_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_\-]{12,}"),  # OpenAI, Anthropic (sk-ant-...), most proxies
    re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}"),
)
# Token-shaped only (long, with a digit) so prose such as "a bearer token" survives.
_BEARER = re.compile(r"(?i)\b(bearer)\s+(?=[A-Za-z._~+/\-]*\d)[A-Za-z0-9._~+/\-]{12,}=*")
_HEADER_VALUE = re.compile(
    r"(?i)\b(authorization|x-api-key)(\s*:\s*)(?:(?:bearer|basic|token)\s+)?[A-Za-z0-9._~+/\-=]{8,}"
)
_SECRET_ENV = re.compile(r"(API_KEY|TOKEN|SECRET|PASSWORD)$")


class _Literal(str):
    """A string to write as a ``|`` block."""


def _represent_literal(dumper: yaml.SafeDumper, data: _Literal) -> yaml.ScalarNode:
    text = str(data)  # libyaml's emitter rejects str subclasses
    # Line/paragraph separators break block scalars in the pure-Python emitter.
    style = '"' if any(ch in text for ch in "\x85\u2028\u2029") else "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    pass


_Dumper.add_representer(_Literal, _represent_literal)


def env_secrets() -> list[str]:
    """Values of secret-looking environment variables, longest first, to scrub literally."""
    values = {v for k, v in os.environ.items() if _SECRET_ENV.search(k.upper()) and len(v) >= 8}
    return sorted(values, key=len, reverse=True)


def scrub(value: Any, literals: list[str]) -> Any:
    """Return ``value`` with every credential-looking substring replaced by [REDACTED]."""
    if isinstance(value, str):
        for secret in literals:
            if secret in value:
                value = value.replace(secret, REDACTED)
        for pattern in _SECRET_PATTERNS:
            value = pattern.sub(REDACTED, value)
        value = _BEARER.sub(rf"\1 {REDACTED}", value)
        return _HEADER_VALUE.sub(rf"\1\2{REDACTED}", value)
    if isinstance(value, dict):
        return {scrub(k, literals): scrub(v, literals) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, literals) for v in value]
    return value


def load(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None when it does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        doc = yaml.load(data, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ProviderError(f"cassette {path} is not valid YAML ({exc}); fix or delete it and record again") from exc
    if doc is None:
        return {"entries": {}}
    if not isinstance(doc, dict) or not isinstance(doc.get("entries") or {}, dict):
        raise ProviderError(f"cassette {path} does not look like a promptcheck cassette; fix or delete it")
    doc["entries"] = doc.get("entries") or {}
    return doc


def _literal_fields(entry: dict[str, Any]) -> dict[str, Any]:
    # Files re-read from disk hold plain strings; mark the long-text fields again on every write.
    response = entry.get("response")
    if isinstance(response, dict) and isinstance(response.get("text"), str):
        response["text"] = _Literal(response["text"])
    request = entry.get("request")
    if isinstance(request, dict):
        for message in request.get("messages") or []:
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                message["content"] = _Literal(message["content"])
    return entry


def dump(doc: dict[str, Any]) -> str:
    entries = doc.get("entries") or {}
    # Sorted by item so neighbouring cases stay neighbours in diffs, whatever the record order.
    ordered = sorted(entries.items(), key=lambda kv: (str((kv[1] or {}).get("item", "")), kv[0]))
    body = {k: v for k, v in doc.items() if k != "entries"}
    body["entries"] = {key: _literal_fields(entry) for key, entry in ordered}
    text = yaml.dump(body, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=False)
    return HEADER + text


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
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
