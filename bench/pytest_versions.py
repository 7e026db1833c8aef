"""Which pytest versions promptcheck works with: one throwaway venv per version.

    python bench/pytest_versions.py [VERSION ...] [--doc docs/compatibility.md | --print]

VERSION is a release (``8.0.0``) or ``newest``, what ``pip install`` picks within the range
``pyproject.toml`` declares. The default is the range's lower bound and ``newest``. Each venv
gets the project (a regular install of this checkout with its ``test`` extra, so the plugin comes
from site-packages through its entry point, as a user's does) and that pytest, then runs

* ``tests/test_pytest_options.py``: --lf, --ff, --sw, --nf, -k, -x and xdist on prompt items;
* ``pytest prompts``: the bundled example suite, whose outcome the README states.

It prints a Markdown table and rewrites the ``pytest-versions`` section of the doc (between
``<!-- pytest-versions:start -->`` and ``<!-- pytest-versions:end -->``); ``--print`` only prints.
Needs the package index (pip), nothing else. Exit status 1 if any version fails either run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_DOC = ROOT / "docs" / "compatibility.md"
SECTION = "pytest-versions"
OPTIONS_TESTS = "tests/test_pytest_options.py"
# The README's "What the example shows": the same outcome on every supported pytest.
EXAMPLE_EXPECTED = "20 failed, 7 passed, 2 skipped, 11 xfailed"
# The outer runs need no cache (the option tests' inner runs use their own), and plugins that
# happen to be installed must not change what is measured.
QUIET = ("-p", "no:cacheprovider")
# pytest's last line: `== 15 passed in 3.21s ==`, or without the rules under -q.
SUMMARY = re.compile(r"^=*\s*(.+?) in [\d.]+s(?: \([^)]*\))?\s*=*$")
# Why a run went wrong, when it did: the last exception line pytest printed.
PROBLEM = re.compile(r"^(?:INTERNALERROR>|E)?\s*((?:\w+\.)*\w+(?:Error|Exception): .+)$")


@dataclass(frozen=True)
class Run:
    summary: str  # pytest's last line without the timing, e.g. "15 passed"
    returncode: int
    seconds: float
    problem: str = ""  # the last exception line, for a run that did not pass


@dataclass(frozen=True)
class Result:
    requested: str
    pytest: str  # the version installed
    xdist: str
    outside_range: bool  # below (or above) what pyproject.toml declares
    options: Run
    example: Run

    @property
    def options_ok(self) -> bool:
        return self.options.returncode == 0

    @property
    def example_ok(self) -> bool:
        return self.example.summary == EXAMPLE_EXPECTED

    @property
    def ok(self) -> bool:
        return self.options_ok and self.example_ok

    def verdict(self) -> str:
        if self.ok:
            return "ok"
        problems = [run.problem for run, good in ((self.options, self.options_ok), (self.example, self.example_ok)) if not good]
        reason = next((p for p in problems if p), "")
        return "**fails**" + (f": `{reason[:120]}`" if reason else "")


def lower_bound() -> str:
    """X of ``pytest>=X`` in pyproject.toml: the oldest version the project says it supports."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"pytest\s*>=\s*([\w.]+)(?:\s*,.*)?", requirement.strip())
        if match:
            return match[1]
    raise SystemExit("pyproject.toml declares no pytest>=X")


def sh(*command: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def install(venv: Path, version: str) -> tuple[str, str, bool]:
    """A venv with this checkout and ``pytest==version`` (or the newest the range allows);
    returns the pytest and pytest-xdist versions it ended up with, and whether that pytest is
    outside the declared range (forced in afterwards, to show why the range ends where it does)."""
    built = sh(sys.executable, "-m", "venv", venv)
    if built.returncode:
        raise SystemExit(f"venv failed: {built.stderr}")
    pip = (venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    pin = [] if version == "newest" else [f"pytest=={version}"]
    # A copy, not -e: the build writes nothing into this checkout beyond setuptools' egg-info.
    done = sh(*pip, f"{ROOT}[test]", *pin)
    outside = done.returncode != 0 and "ResolutionImpossible" in done.stderr and bool(pin)
    if outside:
        done = sh(*pip, f"{ROOT}[test]")
        if not done.returncode:
            done = sh(*pip, *pin)  # pip warns that promptcheck requires another pytest; it is the point
    if done.returncode:
        raise SystemExit(f"pip install for pytest {version} failed:\n{done.stderr[-3000:]}")
    query = "from importlib.metadata import version; print(version('pytest'), version('pytest-xdist'))"
    pytest_version, xdist_version = sh(venv / "bin" / "python", "-c", query).stdout.split()
    return pytest_version, xdist_version, outside


def run_pytest(venv: Path, *args: str, env: dict[str, str]) -> Run:
    start = time.perf_counter()
    done = sh(venv / "bin" / "python", "-m", "pytest", *QUIET, *args, env=env)
    seconds = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    match = SUMMARY.match(lines[-1]) if lines else None
    summary = match[1] if match else (lines[-1] if lines else done.stderr.strip()[-200:])
    problems = [m[1] for m in map(PROBLEM.match, (done.stdout + done.stderr).splitlines()) if m]
    return Run(summary, done.returncode, seconds, problems[-1] if problems else "")


def measure(version: str) -> Result:
    with tempfile.TemporaryDirectory(prefix=f"promptcheck-pytest-{version}-") as tmp:
        venv = Path(tmp) / "venv"
        pytest_version, xdist_version, outside = install(venv, version)
        # The venv's own promptcheck, not a checkout on PYTHONPATH; reports go to the temp dir,
        # not into this checkout's reports/.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
        options = run_pytest(venv, OPTIONS_TESTS, "-q", env=env)
        example = run_pytest(venv, "prompts", "-q", "--report-dir", str(Path(tmp) / "reports"), env=env)
    return Result(version, pytest_version, xdist_version, outside, options, example)


def table(results: list[Result]) -> str:
    rows = [
        "| pytest | pytest-xdist | `tests/test_pytest_options.py` | time | `pytest prompts` | time | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        name = r.pytest + (" (newest)" if r.requested == "newest" else "") + (" (outside the range)" if r.outside_range else "")
        rows.append(
            f"| {name} | {r.xdist} | {r.options.summary} | {r.options.seconds:.1f} s "
            f"| {r.example.summary} | {r.example.seconds:.1f} s | {r.verdict()} |"
        )
    return "\n".join(rows)


def write_section(doc: Path, body: str) -> None:
    """Rewrite this script's section of the doc, between its markers (bench/compat.py's
    convention), and leave every other section as it was."""
    start, end = f"<!-- {SECTION}:start -->", f"<!-- {SECTION}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    text = doc.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    text = pattern.sub(lambda _: block, text, count=1) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block
    doc.write_text(text, encoding="utf-8")


def section(results: list[Result], command: str) -> str:
    python = ".".join(map(str, sys.version_info[:3]))
    return "\n".join(
        [
            "## pytest versions",
            "",
            f"Produced by `{command}` on Python {python}. Each pytest version gets a fresh venv",
            "with this checkout installed (not editable: the plugin is found through its entry point), then",
            "runs `tests/test_pytest_options.py` (--lf, --ff, --sw, --nf, -k, -x and xdist on prompt items)",
            f"and the example suite, `pytest prompts`, which should end `{EXAMPLE_EXPECTED}`.",
            "Times are wall-clock and include the tests' own pytest subprocesses.",
            "",
            table(results),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/pytest_versions.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("versions", nargs="*", help="pytest releases or 'newest' (default: the declared lower bound and newest)")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC, help="markdown file whose pytest-versions section is rewritten")
    parser.add_argument("--print", action="store_true", help="print the table only; leave the doc alone")
    args = parser.parse_args(argv)
    versions = args.versions or [lower_bound(), "newest"]
    results = []
    for version in versions:
        print(f"pytest {version}: installing and running ...", file=sys.stderr, flush=True)
        results.append(measure(version))
    print(table(results))
    if not args.print:
        command = " ".join(["python bench/pytest_versions.py", *args.versions])
        write_section(args.doc, section(results, command))
        print(f"wrote the {SECTION} section of {args.doc}", file=sys.stderr)
    # Versions outside the declared range are expected to fail; they only explain the range.
    return 0 if all(r.ok for r in results if not r.outside_range) else 1


if __name__ == "__main__":
    raise SystemExit(main())
