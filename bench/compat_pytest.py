"""pytest in-process over corpus files, for bench/compat.py and its corpus modules: outcomes and
collection errors per file, with a throwaway config so the repo's pyproject and cache never come into it."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections import Counter
from pathlib import Path

import pytest


class OutcomeRecorder:
    """A pytest plugin object: item outcomes and collection errors per file."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Counter[str]] = {}
        self.collect_errors: dict[str, str] = {}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors[report.nodeid] = str(report.longrepr)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # One outcome per item: the call, or the setup when the item never got that far.
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome: str = "error" if report.when == "setup" and report.failed else report.outcome
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            self.outcomes.setdefault(report.nodeid.split("::")[0], Counter())[outcome] += 1


def run_pytest(
    corpus: Path, files: list[str], settings_toml: str, extra_args: list[str], report_dir: Path | None = None
) -> tuple[int, OutcomeRecorder, str]:
    """pytest in-process over corpus files, with a throwaway config so the repo's pyproject and
    cache never come into it; returns (exit code, outcomes, captured terminal output). The run
    is stored in ``report_dir`` when one is given (never inside the corpus), else not at all."""
    recorder = OutcomeRecorder()
    with tempfile.TemporaryDirectory(prefix="promptcheck-compat-") as tmp:
        ini = Path(tmp) / "pyproject.toml"
        ini.write_text(
            "[tool.pytest.ini_options]\n\n"
            f'[tool.promptcheck]\nreport_dir = "{(report_dir or Path(tmp, "reports")).as_posix()}"\n{settings_toml}',
            encoding="utf-8",
        )
        args = [
            *(str(corpus / f) for f in files), "-c", str(ini), "--rootdir", str(corpus), "-p", "no:cacheprovider", "--noconftest",
            "--continue-on-collection-errors", *([] if report_dir else ["--no-promptcheck-report"]), "-q", *extra_args,
        ]
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = pytest.main(args, plugins=[recorder])
    return int(code), recorder, out.getvalue()


def md_cell(text: str) -> str:
    # Messages quote user text: keep it from turning into markdown or HTML.
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'").replace("<", "&lt;")
    return text.replace("\n", " ") or "—"
