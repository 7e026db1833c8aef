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


def dump_dom(page: Path, fragment: str = "", screenshot: Path | None = None, budget_ms: int = 5000, timeout: float = 60) -> str:
    """Load ``page#fragment`` in a fresh headless Chromium and return the DOM once the page's
    script has run (virtual time lets its timers fire); optionally save a 1400×1000 screenshot."""
    assert CHROMIUM is not None
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    shot = [f"--screenshot={screenshot}", "--window-size=1400,1000", "--hide-scrollbars"] if screenshot else []
    with tempfile.TemporaryDirectory(prefix="pc-chromium-") as profile:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}",
             f"--virtual-time-budget={budget_ms}", "--dump-dom", *shot, url],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    if done.returncode != 0:
        raise AssertionError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout
