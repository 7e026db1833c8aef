"""The package ships py.typed, so its type hints are a promise to its users: mypy must find
no error in it (configured by [tool.mypy] in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_error_in_the_package() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed: pip install -e '.[test]' brings it")
    # A subprocess, as a developer runs it: mypy reads [tool.mypy] from the project's directory.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "src/promptcheck"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"python -m mypy src/promptcheck:\n{result.stdout}{result.stderr}"
    assert "Success: no issues found" in result.stdout
