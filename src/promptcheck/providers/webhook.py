"""The ``webhook`` check's POST, as a provider, so its verdicts go into cassettes like answers do.

A webhook call is a ``ProviderRequest`` keyed by (url, output, context): the URL is its model,
the answer its one message and ``{prompt, vars}`` its params. The reply (promptfoo's
``{pass, score, reason}``) is the recorded text. Only real verdicts are recorded: a webhook that
cannot be reached, or answers an HTTP error or no boolean ``pass``, raises ``WebhookUnanswered``,
which the check reports as a failed verdict, as promptfoo does, and the next run asks again."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from .base import ProviderError, ProviderRequest, ProviderResponse

WEBHOOK = "webhook"  # the provider type and model label of webhook calls (cassette <prompt>/webhook.yaml)
_OUTPUT = "output"  # the role of the answer in a webhook request's messages


class WebhookUnanswered(ProviderError):
    """The webhook gave no verdict; the message is the failed check's reason."""


def webhook_request(url: str, output: str, context: Mapping[str, Any], item_id: str) -> ProviderRequest:
    return ProviderRequest(
        provider=WEBHOOK, model=url, label=WEBHOOK, messages=((_OUTPUT, output),),
        params={"context": dict(context)}, item_id=item_id,
    )


class WebhookProvider:
    """POSTs ``{output, context}`` as JSON; ``WEBHOOK_TIMEOUT`` (ms, default 5000) as in promptfoo."""

    label = WEBHOOK

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        url = request.model
        body = json.dumps({"output": request.messages[0][1], "context": request.params["context"]}).encode()
        post = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
        timeout_s = int(os.environ.get("WEBHOOK_TIMEOUT", "5000")) / 1000
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(post, timeout=timeout_s) as response:
                text = response.read().decode()
            answer = json.loads(text or "null")
        except urllib.error.HTTPError as exc:
            raise WebhookUnanswered(f"Webhook error: {url} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise WebhookUnanswered(f"Webhook error: cannot reach {url} ({getattr(exc, 'reason', exc)})") from None
        except ValueError:
            raise WebhookUnanswered(f"Webhook error: {url} did not answer JSON") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("pass"), bool):
            raise WebhookUnanswered(f"Webhook error: {url} answered without a boolean 'pass'")
        return ProviderResponse(text=text, latency_s=time.perf_counter() - started)
