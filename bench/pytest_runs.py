"""What bench_live.py and bench_replay.py share: throwaway projects and measured pytest processes.

Every measurement is a fresh ``python -m pytest`` process, so start-up, imports and teardown
count as a user would see them. Peak RSS comes from ``os.wait4`` on that process: the kernel's
``ru_maxrss`` of the process and its waited-for descendants (the largest one, not the sum).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float  # user + system time of the process and its waited-for children
    max_rss_mb: float
    returncode: int
    output: str

    def last_line(self) -> str:
        lines = [line for line in self.output.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def run_pytest(project: Path, *args: str, env: dict[str, str] | None = None) -> Measured:
    """One pytest process in ``project``; wall time from spawn to exit."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    environment = {**os.environ, **(env or {})}
    # Keep the benchmark's own module path away from the child: it must import promptcheck
    # the way a user's pytest does (the installed package), not through bench/.
    environment.pop("PYTHONPATH", None)
    # As on a user's machine, bytecode (and pytest's rewritten plugin modules) is cached: with
    # PYTHONDONTWRITEBYTECODE=1 every start compiles all plugins again (~1 s here).
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    log = project / ".bench-output.txt"
    with log.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=project, env=environment, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped already; keep Popen from waiting
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode, log.read_text())


def median_of(runs: list[Measured]) -> Measured:
    """The run with the median wall time (its RSS and output travel with it)."""
    ordered = sorted(runs, key=lambda m: m.wall_s)
    return ordered[(len(ordered) - 1) // 2]


def spread(values: list[float], unit: str = "s", digits: int = 2) -> str:
    middle = statistics.median(values)
    if len(values) == 1:
        return f"{middle:.{digits}f} {unit}"
    return f"{middle:.{digits}f} {unit} (range {min(values):.{digits}f}–{max(values):.{digits}f}, n={len(values)})"


def write_prompt(project: Path, name: str, cases: int, model: str) -> Path:
    """A GitHub Models prompt file with ``cases`` cases, each checked for its own name."""
    lines = [
        f"name: {name}",
        f"model: {model}",
        "messages:",
        "  - role: system",
        "    content: You greet people by name, briefly.",
        "  - role: user",
        '    content: "Say hello to {{name}}."',
        "testData:",
        *(f"  - name: person{i:05d}" for i in range(cases)),
        "evaluators:",
        "  - name: mentions the name",
        "    string:",
        '      contains: "{{name}}"',
    ]
    path = project / "prompts" / f"{name}.prompt.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_pyproject(project: Path, base_url: str, *, label: str = "local", extra: str = "") -> None:
    """A project whose only model is a named OpenAI-compatible provider at ``base_url``."""
    (project / "pyproject.toml").write_text(
        f"[tool.promptcheck]\nmodels = [\"{label}\"]\n{extra}\n"
        f"[tool.promptcheck.providers.{label}]\ntype = \"compatible\"\nmodel = \"bench-model\"\n"
        f"base_url = \"{base_url}\"\n",
        encoding="utf-8",
    )


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, load average {load} at the end"
