"""Calls to the judge (the model that grades model-graded checks) and to the embedding model.

They are ProviderRequests through the engine's one CallPool, so they share its concurrency,
``--max-cost`` budget, cassettes (filed beside the item's own answers, keyed by the judge's
messages) and retries. A ``JudgeCalls`` lives for one item and adds up what its calls cost."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from promptcheck.checks.base import CheckError
from promptcheck.config import Settings
from promptcheck.engine.pool import CallPool, CostLimitReached
from promptcheck.providers.base import ProviderError, ProviderRequest, ProviderResponse
from promptcheck.providers.factory import ProviderFactory
from promptcheck.providers.registry import ModelTarget, resolve_target

DEFAULT_EMBEDDING_MODEL = "openai:text-embedding-3-small"
EMBEDDINGS = "embeddings"  # ProviderRequest.params["endpoint"] for an embeddings call
_EMBEDDING_PROVIDERS = ("openai", "github", "compatible", "python")


@dataclass(frozen=True)
class JudgeTargets:
    judge: ModelTarget
    embedding: ModelTarget

    @classmethod
    def from_settings(cls, settings: Settings) -> JudgeTargets | None:
        if not settings.judge:
            return None
        embedding = settings.embedding_model or DEFAULT_EMBEDDING_MODEL
        return cls(resolve_target(settings.judge, settings), resolve_target(embedding, settings))


@dataclass
class JudgeCalls:
    """Judge and embedding calls for one item; ``cost`` is what they spent."""

    targets: JudgeTargets
    providers: ProviderFactory
    pool: CallPool
    item_id: str
    while_waiting: Callable[[], None] | None = None
    responses: list[ProviderResponse] = field(default_factory=list)

    @property
    def cost(self) -> float | None:
        costs = [r.cost for r in self.responses if r.cost is not None]
        return sum(costs) if costs else None

    def chat(self, messages: list[tuple[str, str]]) -> ProviderResponse:
        target = self.targets.judge
        # temperature 0: a grade should depend on the answer, not on the judge's dice.
        return self._call(target, tuple(messages), {"temperature": 0}, "judge")

    def embed(self, texts: list[str]) -> list[list[float]]:
        target = self.targets.embedding
        if target.provider not in _EMBEDDING_PROVIDERS:
            raise CheckError(f"embedding model '{target.label}' must be an OpenAI-compatible provider (openai:, github:, a compatible server)")
        # One request per text, so a text embedded before (the same expected answer) replays from the cassette.
        return [self._vector(self._call(target, (("user", text),), {"endpoint": EMBEDDINGS}, "embedding model")) for text in texts]

    def _call(self, target: ModelTarget, messages: tuple[tuple[str, str], ...], params: dict[str, object], role: str) -> ProviderResponse:
        problem = self.providers.config_error(target)
        if problem:
            raise CheckError(f"{role} '{target.label}' cannot be used: {problem}")
        request = ProviderRequest(
            provider=target.provider, model=target.model, label=target.label, messages=messages,
            params=params, item_id=self.item_id,
        )
        outcome = self.pool.result(request, while_waiting=self.while_waiting)
        self.pool.forget(request)
        if isinstance(outcome, (ProviderError, CostLimitReached)):
            raise CheckError(f"{role} call failed: {outcome}")
        self.responses.append(outcome)
        return outcome

    @staticmethod
    def _vector(response: ProviderResponse) -> list[float]:
        try:
            vector = json.loads(response.text)
        except ValueError:
            vector = None
        if not isinstance(vector, list) or not vector or not all(isinstance(x, (int, float)) for x in vector):
            raise CheckError(f"embedding reply is not a vector of numbers: {response.text[:200]!r}")
        return [float(x) for x in vector]
