"""One JSON-safe record per item: what the run store keeps and xdist carries to the controller."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from promptcheck.engine.outcome import Verdict, check_records
from promptcheck.engine.plan import ItemPlan


def messages_hash(messages: tuple[tuple[str, str], ...]) -> str:
    blob = json.dumps([list(m) for m in messages], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def build_record(
    plan: ItemPlan,
    nodeid: str,
    status: str,
    verdict: Verdict | None = None,
    error: str | None = None,
    skip_reason: str | None = None,
) -> dict[str, Any]:
    first = verdict.samples[0] if verdict and verdict.samples else None
    responses = [s.response for s in verdict.samples] if verdict else []
    record: dict[str, Any] = {
        "key": plan.key,
        "prompt_path": plan.spec.path,
        "prompt_name": plan.spec.name,
        "case_id": plan.case_id,
        "model": plan.target.label,
        "repeat": 0,
        "nodeid": nodeid,
        "status": status,
        "messages_hash": messages_hash(plan.messages),
        "messages": [list(m) for m in plan.messages],
        "answer": first.response.text if first else None,
        "score": first.evaluation.score if first else None,
        "checks": check_records(first.evaluation.results) if first else [],
        "latency_s": _total(r.latency_s for r in responses) if responses else None,
        "input_tokens": _total(r.usage.input_tokens for r in responses),
        "output_tokens": _total(r.usage.output_tokens for r in responses),
        "cost": _total([*(r.cost for r in responses), verdict.judge_cost if verdict else None]),
        "judge_cost": verdict.judge_cost if verdict else None,
        "replayed": bool(responses) and all(r.replayed for r in responses),
        "error": error,
        "skip_reason": skip_reason,
        "expected_failure": plan.xfail_reason,
        "tags": plan.markers,
    }
    if verdict and verdict.n > 1:
        record["passed_samples"] = verdict.passed_count
        record["pass_rate_required"] = verdict.required_rate
        record["samples"] = [
            {
                "repeat": s.index,
                "answer": s.response.text,
                "passed": s.evaluation.passed,
                "score": s.evaluation.score,
                "checks": check_records(s.evaluation.results),
                "latency_s": s.response.latency_s,
                "cost": s.response.cost,
            }
            for s in verdict.samples
        ]
    return record


def _total(values: Any) -> Any:
    present = [v for v in values if v is not None]
    return sum(present) if present else None
