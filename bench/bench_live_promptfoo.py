"""The issue's promptfoo comparison, measured here: promptfoo's own eval of the same N calls
against the same loopback FakeLLM (200 ms per answer) with ``-j C``, next to bench_live.py.

    npm install --prefix /tmp/pfnode promptfoo@0.120.8
    python bench/bench_live_promptfoo.py [--promptfoo /tmp/pfnode] [--items 2000] [--delay 0.2] [--concurrency 64] [--repeat 3]

The issue quotes 18.3 s wall and 405 MB for promptfoo 0.120 on "these machines"; the machines are
shared and their speed varies from hour to hour, so the fair comparison is both tools measured in
the same session. No network: the provider's apiBaseUrl is the FakeLLM, telemetry and update
checks are off, promptfoo's home is a temp directory, and nothing is cached or shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_runs import spread  # isort: skip  (puts tests/ on sys.path)

from fakellm import FakeLLM  # noqa: I001


def write_config(directory: Path, base_url: str, items: int) -> Path:
    rows = "\n".join(f"person{i:05d}" for i in range(items))
    (directory / "tests.csv").write_text(f"name\n{rows}\n", encoding="utf-8")
    config = directory / "promptfooconfig.yaml"
    config.write_text(
        "prompts:\n  - 'Say hello to {{name}}.'\n"
        "providers:\n  - id: openai:chat:bench-model\n"
        f"    config: {{apiBaseUrl: '{base_url}', apiKey: not-needed}}\n"
        "defaultTest:\n  assert:\n    - type: icontains\n      value: '{{name}}'\n"
        "tests: file://tests.csv\n",
        encoding="utf-8",
    )
    return config


def run_promptfoo(binary: Path, config: Path, concurrency: int, home: Path) -> tuple[float, float, int, str]:
    """(wall s, peak RSS MB, exit code, output tail) of one ``promptfoo eval``."""
    env = {**os.environ, "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1",
           "PROMPTFOO_CONFIG_DIR": str(home), "PROMPTFOO_CACHE_ENABLED": "false", "OPENAI_API_KEY": "not-needed"}
    command = [str(binary), "eval", "-c", str(config), "-j", str(concurrency), "--no-cache", "--no-progress-bar", "--no-table"]
    log = config.parent / "promptfoo-output.txt"
    with log.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=config.parent, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped already
    return wall, usage.ru_maxrss / 1024, process.returncode, log.read_text()[-1500:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--promptfoo", type=Path, default=Path("/tmp/pfnode"), help="npm prefix promptfoo is installed in")
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    binary = args.promptfoo / "node_modules" / ".bin" / "promptfoo"
    if not binary.exists():
        raise SystemExit(f"promptfoo is not installed under {args.promptfoo}: npm install --prefix {args.promptfoo} promptfoo@0.120.8")

    ideal = args.items * args.delay / args.concurrency
    walls: list[float] = []
    peaks: list[float] = []
    with tempfile.TemporaryDirectory(prefix="promptfoo-live-") as tmp, FakeLLM(delay_s=args.delay) as fake:
        config = write_config(Path(tmp), fake.openai_base_url, args.items)
        for _ in range(args.repeat):
            fake.clear()
            wall, peak, code, tail = run_promptfoo(binary, config, args.concurrency, Path(tmp) / "home")
            if len(fake.requests) != args.items:
                print(tail)
                raise SystemExit(f"promptfoo made {len(fake.requests)} requests for {args.items} tests (exit {code})")
            walls.append(wall)
            peaks.append(peak)
    version = json.loads((args.promptfoo / "node_modules" / "promptfoo" / "package.json").read_text())["version"]
    print(f"promptfoo {version}, {args.items} tests, {args.delay * 1000:.0f} ms, -j {args.concurrency}")
    print(f"| promptfoo eval, wall | {spread(walls)} ({min(walls) / ideal:.2f}–{max(walls) / ideal:.2f} × ideal {ideal:.2f} s) |")
    print(f"| promptfoo eval, peak RSS | {max(peaks):.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
