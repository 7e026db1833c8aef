"""OpenAI Batch API: JSONL upload, ``batches.create`` (24h window), poll, output and error files."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from promptcheck.providers.base import ProviderRequest
from promptcheck.providers.openai_provider import OpenAIProvider, chat_params
from promptcheck.providers.parts import wire_messages
from promptcheck.providers.tools import openai_round_messages, openai_tool_args

from .common import BATCH_PRICE_FACTOR, Answers, BatchStatus, Limits

ENDPOINT = "/v1/chat/completions"
LIMITS = Limits(max_requests=50_000, max_bytes=200 * 1024 * 1024)
_ENDED = ("completed", "failed", "expired", "cancelled")


class OpenAIBatch:
    def __init__(self, provider: OpenAIProvider, limits: Limits = LIMITS) -> None:
        self.provider = provider
        self.client = provider.client
        self.label = provider.label
        self.limits = limits

    def line(self, custom_id: str, request: ProviderRequest) -> dict[str, Any]:
        # The same arguments OpenAIProvider sends to chat.completions.create.
        body: dict[str, Any] = {
            "model": self.provider.model_name(request),
            "messages": wire_messages(request.messages, request.parts, "openai") + openai_round_messages(request.tool_rounds),
            **chat_params(request.params),
        }
        if request.response_format is not None:
            body["response_format"] = dict(request.response_format)
        body.update(openai_tool_args(request))
        return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}

    def submit(self, lines: Sequence[dict[str, Any]]) -> str:
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")
        uploaded = self.client.files.create(file=("promptcheck-batch.jsonl", data, "application/jsonl"), purpose="batch")
        batch = self.client.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h")
        return batch.id

    def status(self, batch_id: str) -> BatchStatus:
        batch = self.client.batches.retrieve(batch_id)
        counts = batch.request_counts.model_dump() if batch.request_counts else {}
        return BatchStatus(batch_id, batch.status, batch.status in _ENDED, counts)

    def answers(self, batch_id: str, requests: Mapping[str, ProviderRequest]) -> Answers:
        batch = self.client.batches.retrieve(batch_id)
        answers: Answers = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            for raw in self.client.files.content(file_id).text.splitlines():
                if not raw.strip():
                    continue
                line = json.loads(raw)
                custom_id = line.get("custom_id")
                if custom_id not in requests:
                    continue
                response = line.get("response") or {}
                if response.get("status_code") == 200 and not line.get("error"):
                    completion = response.get("body") or {}
                    answers[custom_id] = self.provider.respond(requests[custom_id], completion, 0.0, BATCH_PRICE_FACTOR)
                else:
                    answers[custom_id] = self._reason(line, batch_id)
        if batch.status != "completed":
            # A failed batch has no files, only batch-level errors; say why for every request.
            errors = "; ".join(e.message or e.code or "" for e in (batch.errors.data if batch.errors and batch.errors.data else []))
            reason = f"{self.label}: batch {batch_id} {batch.status}" + (f": {errors}" if errors else "")
            for custom_id in requests:
                answers.setdefault(custom_id, reason)
        return answers

    def _reason(self, line: Mapping[str, Any], batch_id: str) -> str:
        error = line.get("error") or ((line.get("response") or {}).get("body") or {}).get("error") or {}
        status = (line.get("response") or {}).get("status_code")
        message = error.get("message") or error.get("code") or "no answer"
        code = f" ({error['code']})" if error.get("code") and error.get("message") else ""
        http = f"HTTP {status}: " if status else ""
        return f"{self.label}: batch {batch_id}: {http}{message}{code}"
