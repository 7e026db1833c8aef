"""The run record's schema helpers: keys, ids, validation, summaries and run metadata.

The schema itself is documented in ``promptcheck.runs``.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import promptcheck

SCHEMA = 1
STATUSES = ("pass", "fail", "error", "skip")
_ITEM_REQUIRED = ("key", "status")


# --- record helpers ----------------------------------------------------------------------------


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def utc_now() -> str:
    # Microseconds: two runs started in the same second must still order by start time.
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def validate_item(item: Mapping[str, Any]) -> None:
    """Fail at ``add`` time, in the caller's frame, instead of in a reader weeks later."""
    missing = [k for k in _ITEM_REQUIRED if k not in item]
    if missing:
        raise ValueError(f"item record lacks {', '.join(missing)}: {dict(item)!r:.200}")
    if item["status"] not in STATUSES:
        raise ValueError(f"item {item['key']!r}: status must be one of {STATUSES}, not {item['status']!r}")


def summarize(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts by status, overall and per model: what listings and trend charts need."""
    overall = dict.fromkeys(STATUSES, 0)
    models: dict[str, dict[str, int]] = {}
    for item in items:
        status = item["status"]
        overall[status] += 1
        models.setdefault(item.get("model", ""), dict.fromkeys(STATUSES, 0))[status] += 1
    return {"counts": overall, "models": models}


def pass_rate(counts: Mapping[str, int]) -> float | None:
    """Passed over executed; skips are neither. None when nothing ran."""
    ran = counts.get("pass", 0) + counts.get("fail", 0) + counts.get("error", 0)
    return counts.get("pass", 0) / ran if ran else None


# --- metadata ------------------------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no git binary, or a hung repository: metadata is nice to have, never fatal
    return done.stdout.strip() if done.returncode == 0 else None


def collect_git(cwd: Path | None = None) -> dict[str, Any]:
    cwd = cwd or Path.cwd()
    commit = _git(cwd, "rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "branch": None, "dirty": None}
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(cwd, "status", "--porcelain")
    return {
        "commit": commit,
        "branch": None if branch in (None, "HEAD") else branch,  # "HEAD" means detached
        "dirty": None if status is None else bool(status),
    }


def collect_versions() -> dict[str, str | None]:
    try:
        import pytest

        pytest_version: str | None = pytest.__version__
    except ImportError:
        pytest_version = None
    return {"python": sys.version.split()[0], "pytest": pytest_version, "promptcheck": promptcheck.__version__}


def new_header(meta: Mapping[str, Any]) -> dict[str, Any]:
    """A complete header from whatever the caller knows; collects what it leaves out."""
    header: dict[str, Any] = {"schema": SCHEMA, "run_id": meta.get("run_id") or new_run_id()}
    header["started_at"] = meta.get("started_at") or utc_now()
    header["finished_at"] = None
    header["complete"] = False
    header["git"] = meta["git"] if "git" in meta else collect_git()
    header["versions"] = meta["versions"] if "versions" in meta else collect_versions()
    header["models"] = list(meta.get("models", []))
    header["record_mode"] = meta.get("record_mode", "")
    header["args"] = list(meta.get("args", []))
    header["selected_only"] = bool(meta.get("selected_only", False))
    extra = {k: v for k, v in meta.items() if k not in header and k not in ("items", "summary")}
    return header | extra
