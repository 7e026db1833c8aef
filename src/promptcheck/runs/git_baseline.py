"""``--baseline git:REF``: the run that REF's own prompt files, cases and cassettes give, replayed.

REF's tree is unpacked into a temporary directory (``git archive``: nothing in the working tree or
the index is touched), and pytest replays it there in a child process, offline: record mode
``none``, every credential taken out of its environment. Its run record is the baseline. So a
pull request is compared with its base branch with nothing stored anywhere beforehand. Keys whose
answers REF's cassettes lack come back as errors, which the comparison shows as "not evaluated
at REF"."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from promptcheck.runs.baseline import BaselineError
from promptcheck.runs.reading import list_runs, load_run
from promptcheck.runs.record import RunRecord

# What a credential's variable is called, as the cassettes' scrubbing knows it.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|AUTH", re.I)
REPLAY_TIMEOUT_S = 1800.0


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120, check=False)
    except FileNotFoundError:
        raise BaselineError("a git:REF baseline needs git, which is not installed") from None


def _unpack(top: Path, ref: str, into: Path) -> None:
    with subprocess.Popen(["git", "archive", "--format=tar", ref], cwd=top, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as archive:
        assert archive.stdout is not None
        with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
            # No links out of the directory, no devices (Pythons without the filter trust git's own tree).
            if hasattr(tarfile, "data_filter"):
                tar.extractall(into, filter="data")
            else:
                tar.extractall(into)
        error = archive.stderr.read().decode("utf-8", "replace") if archive.stderr else ""
    if archive.returncode:
        raise BaselineError(f"git:{ref}: git archive failed: {error.strip()}")


def _offline_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not _SECRET_NAME.search(name)}


def replay_at(ref: str, rootdir: Path, *, models: Sequence[str] | None = None, args: Sequence[str] = ()) -> RunRecord:
    """REF's run, replayed from its own files. ``rootdir`` is the project (pytest's rootdir),
    ``models`` the current ``--models`` selection, ``args`` what to collect (default: all)."""
    found = _git(rootdir, "rev-parse", "--show-toplevel")
    if found.returncode:
        raise BaselineError(f"--baseline git:{ref} needs a git repository, and {rootdir} is not inside one")
    top = Path(found.stdout.decode().strip())
    if _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode:
        raise BaselineError(f"--baseline git:{ref}: no commit, branch or tag named {ref!r} in {top}")
    scratch = Path(tempfile.mkdtemp(prefix="promptcheck-baseline-"))
    try:
        _unpack(top, ref, scratch / "tree")
        project = scratch / "tree" / rootdir.resolve().relative_to(top.resolve())
        reports = scratch / "reports"
        command = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--ignore-glob=*.py",
            "--record-mode=none", "--call-process=off", "--baseline=none", f"--report-dir={reports}",
            *(["--models", ",".join(models)] if models else []), *args,
        ]
        try:
            done = subprocess.run(command, cwd=project, env=_offline_env(), capture_output=True, timeout=REPLAY_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise BaselineError(f"git:{ref}: replaying its cassettes took over {REPLAY_TIMEOUT_S:.0f} s") from None
        runs = [info for info in list_runs(reports) if info.header is not None]
        if not runs:
            tail = " / ".join(done.stdout.decode("utf-8", "replace").strip().splitlines()[-3:])
            raise BaselineError(f"git:{ref}: replaying it stored no run (pytest exit {done.returncode}: {tail})")
        return load_run(runs[-1].path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
