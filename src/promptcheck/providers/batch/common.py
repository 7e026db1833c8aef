"""What the OpenAI and Anthropic batch adapters share: limits, splitting, status and the answer type."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from promptcheck.providers.base import ProviderRequest, ProviderResponse

# Batch API answers cost half of the same calls made one by one (OpenAI and Anthropic alike).
BATCH_PRICE_FACTOR = 0.5


@dataclass(frozen=True)
class Limits:
    max_requests: int
    max_bytes: int


@dataclass(frozen=True)
class BatchStatus:
    batch_id: str
    state: str  # the API's own word: in_progress, finalizing, completed, ended, ...
    ended: bool
    counts: Mapping[str, int] = field(default_factory=dict)


# custom_id -> the answer, or the plain-words reason there is none
Answers = dict[str, "ProviderResponse | str"]


class BatchAPI(Protocol):
    """One provider's Batch API, through its official SDK."""

    label: str
    limits: Limits

    def line(self, custom_id: str, request: ProviderRequest) -> dict[str, Any]: ...

    def submit(self, lines: Sequence[dict[str, Any]]) -> str: ...

    def status(self, batch_id: str) -> BatchStatus: ...

    def answers(self, batch_id: str, requests: Mapping[str, ProviderRequest]) -> Answers: ...


def line_size(line: Mapping[str, Any]) -> int:
    return len(json.dumps(line, ensure_ascii=False).encode("utf-8")) + 1  # + newline


def split(lines: Sequence[dict[str, Any]], limits: Limits) -> Iterator[list[dict[str, Any]]]:
    """Consecutive chunks within both limits; a single line over the byte limit goes alone
    (the API then rejects that one batch with its own message, the others still run)."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for line in lines:
        n = line_size(line)
        if chunk and (len(chunk) >= limits.max_requests or size + n > limits.max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(line)
        size += n
    if chunk:
        yield chunk
