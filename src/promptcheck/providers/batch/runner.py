"""Run every network call a session needs as provider batches, before the item loop replays them."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from promptcheck.providers.anthropic_provider import AnthropicProvider
from promptcheck.providers.base import ProviderConfigError, ProviderError, ProviderRequest, ProviderResponse
from promptcheck.providers.cassette import locked_dir
from promptcheck.providers.recording import CassetteProvider
from promptcheck.providers.factory import ProviderFactory
from promptcheck.providers.openai_provider import OpenAIProvider
from promptcheck.providers.sdk_common import describe_sdk_error
from promptcheck.redaction import redact

from .anthropic_batch import AnthropicBatch
from .openai_batch import OpenAIBatch
from .common import BatchAPI, BatchStatus, Limits, split

BATCH_PROVIDERS = ("openai", "anthropic")  # GitHub Models and local servers have no Batch API
Progress = Callable[[str], None]


@dataclass
class BatchResults:
    """Requests a batch could not answer, with the reason; they become ERROR items."""

    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    answered: int = 0

    def fail(self, request: ProviderRequest, custom_id: str, reason: str) -> None:
        # Batch error files and API errors hold the server's words, which may echo the key.
        self.failures[(request.label, custom_id)] = redact(reason)

    def wrap(self, call: Callable[[ProviderRequest], ProviderResponse]) -> Callable[[ProviderRequest], ProviderResponse]:
        def batched(request: ProviderRequest) -> ProviderResponse:
            reason = self.failures.get((request.label, request.key()))
            if reason is not None:
                raise ProviderError(reason)  # not retried live: --batch promised batch prices
            return call(request)

        return batched


@dataclass
class _Group:
    """One model's requests: custom_id (the cassette key) -> the requests sharing it."""

    label: str
    cassette: CassetteProvider
    requests: dict[str, list[ProviderRequest]] = field(default_factory=dict)
    api: BatchAPI | None = None
    state_path: Path | None = None
    state: dict[str, Any] = field(default_factory=dict)
    statuses: dict[str, BatchStatus] = field(default_factory=dict)


def needs_call(cassette: CassetteProvider, request: ProviderRequest) -> bool:
    """Whether CassetteProvider.complete would call the API for this request (its record modes)."""
    store, mode = cassette.store, cassette.mode
    if mode == "none":
        return False
    if mode == "all":
        return not store.recorded_this_run(request)
    if store.lookup(request) is not None:
        return False
    return mode == "new" or store.may_record_once(request)


def run_batches(
    requests: Iterable[ProviderRequest],
    factory: ProviderFactory,
    state_dir: Path,
    *,
    run_id: str,
    progress: Progress | None = None,
    poll_s: float = 10.0,
    max_poll_s: float = 60.0,
    limits: Mapping[str, Limits] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchResults:
    results = BatchResults()
    # xdist workers all reach here with the same items: the first runs the batches, the others
    # wait on the lock and then find the answers (or the finished batch of this run) ready.
    with locked_dir(state_dir):
        groups = _groups(requests, factory)
        for group in groups:
            _guard(group, results, partial(_start, group, factory, state_dir, run_id, limits or {}))
        pending = [g for g in groups if g.api is not None]
        interval = poll_s
        while pending:
            for group in pending:
                _guard(group, results, partial(_poll, group))
            if progress:
                progress(_progress_line(groups))
            pending = [g for g in pending if g.api is not None and not all(s.ended for s in g.statuses.values())]
            if pending:
                sleep(interval)
                interval = min(interval * 1.5, max_poll_s)
        for group in groups:
            if group.api is not None:
                _guard(group, results, partial(_collect, group, results, run_id))
    return results


def _groups(requests: Iterable[ProviderRequest], factory: ProviderFactory) -> list[_Group]:
    groups: dict[str, _Group] = {}
    for request in requests:
        if request.provider not in BATCH_PROVIDERS or request.params.get("endpoint"):
            continue
        cassette = factory.cassette_provider(request)
        if cassette is None or not needs_call(cassette, request):
            continue
        group = groups.setdefault(request.label, _Group(request.label, cassette))
        group.requests.setdefault(request.key(), []).append(request)
    return list(groups.values())


def _api(group: _Group, factory: ProviderFactory, limits: Mapping[str, Limits]) -> BatchAPI:
    provider = factory.sdk_provider(next(iter(group.requests.values()))[0])
    kind = "anthropic" if isinstance(provider, AnthropicProvider) else "openai"
    extra = {"limits": limits[kind]} if kind in limits else {}
    if isinstance(provider, AnthropicProvider):
        return AnthropicBatch(provider, **extra)
    if isinstance(provider, OpenAIProvider):
        return OpenAIBatch(provider, **extra)
    raise ProviderError(f"{group.label}: this provider has no Batch API")


def _start(group: _Group, factory: ProviderFactory, state_dir: Path, run_id: str, limits: Mapping[str, Limits]) -> None:
    api = group.api = _api(group, factory, limits)
    ids = sorted(group.requests)
    digest = hashlib.sha256(json.dumps([group.label, ids]).encode()).hexdigest()[:16]
    group.state_path = state_dir / f"{digest}.json"
    state = _read(group.state_path)
    # Resume a batch an interrupted run paid for; reuse a finished one only within this run
    # (sibling xdist workers), never a past run's answers: --record-mode all wants fresh ones.
    if not state or (state.get("done") and state.get("run_id") != run_id):
        state = {"label": group.label, "run_id": run_id, "done": False, "batches": []}
    group.state = state
    submitted = {cid for batch in state["batches"] for cid in batch["custom_ids"]}
    lines = [api.line(cid, group.requests[cid][0]) for cid in ids if cid not in submitted]
    for chunk in split(lines, api.limits):
        batch_id = api.submit(chunk)
        state["batches"].append({"id": batch_id, "custom_ids": [line["custom_id"] for line in chunk]})
        _write(group.state_path, state)  # at once: an interrupt from here on resumes, never re-pays


def _poll(group: _Group) -> None:
    assert group.api is not None
    for batch in group.state["batches"]:
        known = group.statuses.get(batch["id"])
        if known is None or not known.ended:
            group.statuses[batch["id"]] = group.api.status(batch["id"])


def _collect(group: _Group, results: BatchResults, run_id: str) -> None:
    assert group.api is not None and group.state_path is not None
    store = group.cassette.store
    for batch in group.state["batches"]:
        wanted = {cid: group.requests[cid][0] for cid in batch["custom_ids"] if cid in group.requests}
        answers = group.api.answers(batch["id"], wanted)
        for cid in wanted:
            answer = answers.get(cid, f"{group.label}: batch {batch['id']} returned no answer for this request")
            for request in group.requests[cid]:
                if isinstance(answer, ProviderResponse):
                    store.record(request, answer)
                    results.answered += 1
                else:
                    results.fail(request, cid, answer)
    store.flush()  # sibling xdist workers read the answers from disk
    group.state.update(done=True, run_id=run_id)
    _write(group.state_path, group.state)


def _guard(group: _Group, results: BatchResults, step: Callable[[], None]) -> None:
    """An API failure (bad key, HTTP error) fails this model's requests with its message; others go on."""
    try:
        step()
    except Exception as exc:
        api = group.api
        sdk = getattr(getattr(api, "provider", None), "sdk", None)
        message = describe_sdk_error(exc, sdk, who=group.label, timeout_s=0) if sdk else None
        if message is None and not isinstance(exc, (ProviderError, ProviderConfigError)):
            raise
        for cid, requests in group.requests.items():
            for request in requests:
                if (request.label, cid) not in results.failures:
                    results.fail(request, cid, f"batch not run: {message or exc}")
        group.api = None


def _progress_line(groups: list[_Group]) -> str:
    parts = []
    for group in groups:
        if not group.statuses:
            continue
        states = Counter(s.state for s in group.statuses.values())
        counts: Counter[str] = Counter()
        for status in group.statuses.values():
            counts.update({k: v for k, v in status.counts.items() if isinstance(v, int)})
        shown = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        numbers = " ".join(f"{k} {v}" for k, v in counts.items() if v)
        parts.append(f"{group.label}: {len(group.statuses)} batch{'es' if len(group.statuses) > 1 else ''} {shown}" + (f" ({numbers})" if numbers else ""))
    return "promptcheck batch: " + "; ".join(parts)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("batches"), list) else {}


def _write(path: Path, state: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    os.replace(tmp, path)
