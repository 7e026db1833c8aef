"""Secrets out of everything promptcheck writes or shows: cassettes, run records, failure text,
the terminal summary, junit.xml, reports, progress lines and batch errors.

Two kinds of things are replaced by [REDACTED]:

* literal values: every key a provider was configured with (``remember`` is called wherever a
  key or a credential header is resolved), and the values of secret-looking environment
  variables (``*API_KEY``, ``*TOKEN``, ``*SECRET``, ``*PASSWORD``);
* credential shapes, whatever their origin: ``sk-…``, GitHub and AWS tokens, ``Bearer <token>``,
  and ``Authorization:`` / ``x-api-key:`` header values.

Servers that echo the credential they were sent in an error body are the usual way a key would
otherwise reach a message (docs/security.md)."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"
# Shorter values would redact ordinary words; the environment scan uses the same floor.
MIN_SECRET_LENGTH = 8

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
# Request headers whose values are credentials (Authorization, x-api-key, api-key, Cookie, ...).
CREDENTIAL_HEADER = re.compile(r"(?i)auth|key|token|secret|password|cookie|credential")



def env_secrets() -> list[str]:
    """Values of secret-looking environment variables, longest first, to scrub literally."""
    values = {v for k, v in os.environ.items() if _SECRET_ENV.search(k.upper()) and len(v) >= MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)


# A substring every pattern above needs (lower case): a text with none of them has nothing to
# scrub, and plain substring tests are ~50x cheaper than running the patterns. Keep in step.
_MARKERS = ("sk-", "github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "akia", "xox", "bearer", "authorization", "x-api-key")


def scrubbed(value: Any, literals: list[str]) -> Any:
    """``scrub(value)``, but ``value`` itself when it cannot hold anything to scrub (the common
    case, decided on its JSON text), so run records of 20,000 clean items stay cheap."""
    return scrub(value, literals) if may_hold_secret(json.dumps(value, ensure_ascii=False, default=str), literals) else value


def may_hold_secret(json_text: str, literals: list[str]) -> bool:
    """Whether a value's JSON text has anything ``scrub`` would replace (cheap substring tests)."""
    lowered = json_text.lower()
    # Literals are looked for as JSON writes them, so quotes or backslashes in one cannot hide it.
    return any(json.dumps(secret, ensure_ascii=False)[1:-1] in json_text for secret in literals) or any(
        marker in lowered for marker in _MARKERS
    )


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

_lock = threading.Lock()
_remembered: tuple[str, ...] = ()  # this process's configured keys, longest first


def remember(*values: str | None) -> None:
    """Treat ``values`` (a resolved API key, a credential header's value) as secrets from now on,
    in this process. Keys from pyproject.toml's ``api_key_env``, a promptfoo ``apiKey`` or
    ``apiKeyEnvar`` need this: their names or places say nothing an environment scan would see."""
    global _remembered
    fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH} - set(_remembered)
    if fresh:
        with _lock:
            _remembered = tuple(sorted({*_remembered, *fresh}, key=len, reverse=True))


def credential_values(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The values of ``headers`` that are credentials, remembered as secrets (see ``remember``)."""
    values = [str(v) for k, v in headers.items() if CREDENTIAL_HEADER.search(k)]
    # "Bearer <token>": a server may echo the token alone.
    values += [v.split(None, 1)[1] for v in values if len(v.split(None, 1)) == 2]
    remember(*values)
    return tuple(values)


def remembered() -> tuple[str, ...]:
    return _remembered


def known_secrets(extra: Iterable[str] = ()) -> list[str]:
    """Every literal to redact now: ``extra``, the remembered keys and secret-looking env values."""
    values = {*extra, *_remembered, *env_secrets()}
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every known secret and credential shape replaced by [REDACTED]."""
    secrets = known_secrets(extra)
    return scrub(text, secrets) if may_hold_secret(json.dumps(text, ensure_ascii=False), secrets) else text
