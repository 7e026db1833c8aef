"""Headless Chromium driven by its command-line flags only (no selenium/playwright needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PROMPTCHECK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not found (install the 'chromium' package, or set PROMPTCHECK_CHROMIUM)"
)


def run_chromium(url: str, *extra: str, timeout: float = 60) -> str:
    """Run one headless Chromium with a fresh profile; returns stdout (the DOM with --dump-dom)."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="pc-chromium-") as profile:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", *extra, url],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    if done.returncode != 0:
        raise AssertionError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def dump_dom(path: Path, fragment: str = "", budget_ms: int = 5000) -> str:
    url = path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    return run_chromium(url, f"--virtual-time-budget={budget_ms}", "--dump-dom")


def screenshot(path: Path, out: Path, fragment: str = "", size: str = "1400,1000") -> Path:
    url = path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    run_chromium(url, "--virtual-time-budget=5000", f"--screenshot={out}", f"--window-size={size}", "--hide-scrollbars")
    return out
