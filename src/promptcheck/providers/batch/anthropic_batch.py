"""Anthropic Message Batches: ``messages.batches.create``, poll ``processing_status``, ``results()``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptcheck.providers.anthropic_provider import AnthropicProvider, messages_params
from promptcheck.providers.base import ProviderRequest

from .common import BATCH_PRICE_FACTOR, Answers, BatchStatus, Limits

LIMITS = Limits(max_requests=100_000, max_bytes=256 * 1024 * 1024)


class AnthropicBatch:
    def __init__(self, provider: AnthropicProvider, limits: Limits = LIMITS) -> None:
        self.provider = provider
        self.client = provider.client
        self.label = provider.label
        self.limits = limits

    def line(self, custom_id: str, request: ProviderRequest) -> dict[str, Any]:
        params = {"model": request.model, **messages_params(request, self.provider.default_max_tokens)}
        # create() takes sampling knobs through extra_body; in a batch they are plain params.
        params.update(params.pop("extra_body", {}))
        return {"custom_id": custom_id, "params": params}

    def submit(self, lines: Sequence[dict[str, Any]]) -> str:
        return self.client.messages.batches.create(requests=list(lines)).id  # type: ignore[arg-type]

    def status(self, batch_id: str) -> BatchStatus:
        batch = self.client.messages.batches.retrieve(batch_id)
        counts = batch.request_counts.model_dump() if batch.request_counts else {}
        return BatchStatus(batch_id, batch.processing_status, batch.processing_status == "ended", counts)

    def answers(self, batch_id: str, requests: Mapping[str, ProviderRequest]) -> Answers:
        answers: Answers = {}
        for entry in self.client.messages.batches.results(batch_id):
            if entry.custom_id not in requests:
                continue
            result = entry.result
            if result.type == "succeeded":
                answers[entry.custom_id] = self.provider.respond(
                    requests[entry.custom_id], result.message, 0.0, BATCH_PRICE_FACTOR
                )
            elif result.type == "errored":
                inner = getattr(result.error, "error", None)
                message = getattr(inner, "message", None) or str(result.error)
                answers[entry.custom_id] = f"{self.label}: batch {batch_id}: errored: {message}"
            else:  # canceled or expired
                answers[entry.custom_id] = f"{self.label}: batch {batch_id}: request {result.type}"
        return answers
