"""Builders for run records and item results, shared by the run-store, compare and report tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import msgspec

from promptcheck.runs.baseline import Baseline, of_run
from promptcheck.runs.record import CheckResult, GitInfo, ItemResult, RunHeader, RunRecord, Versions, new_header, summarize
from promptcheck.runs.store import runs_dir, write_run

GIT = GitInfo(commit="0123456789abcdef0123456789abcdef01234567", branch="main", dirty=False)
VERSIONS = Versions(python="3.11", pytest="9", promptcheck="0.1.0")


def make_item(
    case_id: str = "case-1",
    status: str = "pass",
    answer: str | None = "The answer.",
    *,
    model: str = "openai:gpt-4o",
    prompt: str = "prompts/greet.prompt.yaml",
    checks: list[CheckResult] | None = None,
    **fields: Any,
) -> ItemResult:
    """An item as a session records it; ``fields`` override any field (lists become tuples)."""
    messages = fields.pop("messages", [["system", "You are terse."], ["user", f"Question for {case_id}"]])
    if checks is None:
        checks = [check("contains", passed=status == "pass", reason="" if status == "pass" else "expected text not found")]
    item: dict[str, Any] = {
        "key": f"{prompt}::{case_id}[{model}]",
        "prompt_path": prompt,
        "prompt_name": Path(prompt).name.split(".")[0],
        "case_id": case_id,
        "model": model,
        "repeat": 0,
        "nodeid": f"{prompt}::{case_id}[{model}]",
        "status": status,
        "messages_hash": hashlib.sha256(json.dumps(messages).encode()).hexdigest()[:16],
        "messages": messages,
        "answer": answer,
        "score": 1.0 if status == "pass" else 0.0,
        "checks": checks,
        "latency_s": 0.5,
        "input_tokens": 10,
        "output_tokens": 5,
        "cost": 0.001,
        "replayed": False,
        "error": "provider said no" if status == "error" else None,
        "skip_reason": "no key" if status == "skip" else None,
    }
    item.update(fields)
    return msgspec.convert(item, ItemResult)


def check(name: str, passed: bool = True, reason: str = "", span: list[int] | None = None, **fields: Any) -> CheckResult:
    return CheckResult(
        name=name,
        type=fields.pop("type", name),
        passed=passed,
        score=1.0 if passed else 0.0,
        reason=reason,
        span=(span[0], span[1]) if span is not None else None,
        **fields,
    )


def make_header(run_id: str, *, complete: bool = True, **fields: Any) -> RunHeader:
    """A header started at the time ``run_id`` names; ``fields`` override any field."""
    started = f"{run_id[0:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:{run_id[11:13]}:{run_id[13:15]}+00:00"
    header = new_header(run_id, started_at=started, git=GIT, versions=VERSIONS, record_mode="replay")
    changes = {"complete": complete, "finished_at": started if complete else None, **fields}
    # Through convert, so plain lists and dicts become the record's tuples and Structs.
    return msgspec.convert({**msgspec.structs.asdict(header), **changes}, RunHeader)


def make_run(items: list[ItemResult], run_id: str, *, complete: bool = True, **fields: Any) -> RunRecord:
    models = fields.pop("models", None) or list(dict.fromkeys(i.model for i in items)) or ["openai:gpt-4o"]
    header = make_header(run_id, complete=complete, models=models, summary=summarize(items), **fields)
    return RunRecord(header, tuple(items))


def store(report_dir: Path, record: RunRecord) -> Path:
    path = runs_dir(report_dir) / f"{record.run_id}.json"
    write_run(path, record)
    return path


def baseline_of(record: RunRecord | None) -> Baseline | None:
    """A whole run as the baseline, the way `--baseline RUN` takes one."""
    return of_run(record, f"run {record.run_id}") if record is not None else None
