"""The ``webhook`` check's calls for one item: recorded in cassettes (``<prompt>/webhook.yaml``,
beside the item's answers) and replayed under the record mode, so a replay needs no network."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promptcheck.checks.base import CheckError, WebhookFailed
from promptcheck.providers.base import Provider, ProviderError
from promptcheck.providers.webhook import WebhookUnanswered, webhook_request


@dataclass
class WebhookCalls:
    """A ``WebhookFn`` (checks.base): ``calls`` is the factory's recorded webhook provider."""

    calls: Provider
    item_id: str

    def __call__(self, url: str, output: str, context: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            response = self.calls.complete(webhook_request(url, output, context, self.item_id))
        except WebhookUnanswered as exc:
            raise WebhookFailed(str(exc)) from None
        except ProviderError as exc:  # no recorded verdict under --record-mode=none, an unreadable cassette
            raise CheckError(f"webhook {url}: {exc}") from None
        try:
            reply = json.loads(response.text)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):  # only a hand-edited cassette gets here: the provider checked the reply
            raise CheckError(f"webhook {url}: the recorded verdict is not a JSON object: {response.text[:200]!r}")
        return reply
