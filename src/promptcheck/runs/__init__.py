"""The run store: one JSON record per pytest session under ``<report dir>/runs/``.

Record schema (``schema: 1``), file ``runs/<run_id>.json`` with ``run_id`` = ``20261128T013000Z-ab12cd``
(UTC start time + 6 random hex digits, so ids sort by time and never collide)::

    {"schema": 1, "run_id": str, "started_at": ISO8601, "finished_at": ISO8601 | null,
     "complete": bool,                     # false until finish(complete=True); a crash leaves false
     "git": {"commit": str|null, "branch": str|null, "dirty": bool|null},
     "versions": {"python": str, "pytest": str|null, "promptcheck": str},
     "models": [model label, ...], "record_mode": str, "args": [cli arg, ...],
     "selected_only": bool,                # -k/-m/--lf/-x/node ids narrowed the run
     "merged_from": [run_id, ...],         # optional: set by ``promptcheck merge``
     "summary": {"counts": {status: n}, "models": {label: {status: n}}},  # derived, rewritten on every write
     "items": [ItemRecord, ...]}

ItemRecord (plain JSON builtins only, because it travels through xdist reports)::

    {"key": "prompts/x.prompt.yaml::case-id[openai:gpt-4o]",   # stable across runs: what compare keys on
     "prompt_path": str, "prompt_name": str, "case_id": str, "model": str, "repeat": int,
     "nodeid": str, "status": "pass"|"fail"|"error"|"skip", "messages_hash": str,
     "messages": [[role, content], ...], "answer": str|null, "score": float|null,
     "checks": [{"name", "type", "passed", "score", "reason", "span": [start, end]|null, "skipped"}],
                                           # span: code-point offsets into answer
     "latency_s": float|null, "input_tokens": int|null, "output_tokens": int|null, "cost": float|null,
     "replayed": bool, "error": str|null, "skip_reason": str|null,
     "samples": [{"repeat", "answer", "passed", "score", "checks"}]}   # optional
    # Further keys (e.g. "tags") are kept as they are; only key and status are required to load.

File layout: line 1 is the whole header (every key but ``items``; ``json.dumps`` never emits a raw
newline), then one item per line. ``list_runs`` reads only line 1, so listing a directory of
50 MB runs stays instant; any other valid JSON with the same content loads too.

Durability: every ``add`` appends the item to ``runs/<run_id>.journal.jsonl`` (cheap, O(item)), while
the JSON itself is rewritten atomically at most every ``flush_interval`` seconds (backing off when a
rewrite gets slow), on ``finish`` and from ``atexit``. A process killed outright (SIGKILL, OOM) leaves
the journal behind; ``load_run`` folds it back in, so every finished item survives with
``complete: false``.
"""

from promptcheck.runs.record import (
    SCHEMA,
    STATUSES,
    collect_git,
    collect_versions,
    new_header,
    new_run_id,
    pass_rate,
    summarize,
    utc_now,
    validate_item,
)
from promptcheck.runs.reading import RunInfo, list_runs, load_run, read_header, resolve_baseline, resolve_run_path
from promptcheck.runs.store import JOURNAL_SUFFIX, RunFileError, RunRecorder, runs_dir, write_run

__all__ = [
    "JOURNAL_SUFFIX", "SCHEMA", "STATUSES", "RunFileError", "RunInfo", "RunRecorder", "collect_git",
    "collect_versions", "list_runs", "load_run", "new_header", "read_header", "new_run_id",
    "pass_rate", "resolve_baseline", "resolve_run_path", "runs_dir", "summarize", "utc_now", "validate_item",
    "write_run",
]
