"""Benchmark: N live calls through the pool against a loopback server that answers after L seconds.

    python bench/bench_live.py [--items 2000] [--delay 0.2] [--concurrency 64] [--repeat 3]

Target (issue 3): wall ≤ 1.3 × N·L/C plus pytest start-up, where start-up is the same project
run with ``--collect-only``. The fake server runs in this process (threads), pytest in a child,
so the numbers include a real SDK, real sockets, cassette writes, the run record and the report.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pytest_runs import Measured, machine, median_of, run_pytest, spread, write_prompt, write_pyproject  # isort: skip  (puts tests/ on sys.path)

from fakellm import FakeLLM  # noqa: I001
from liveproject import peak_in_flight


def raw_load(port: int, n: int, concurrency: int) -> float:
    """Seconds for ``n`` requests from ``concurrency`` keep-alive clients without any SDK."""
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})

    def client(count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(count):
            connection.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
            connection.getresponse().read()
        connection.close()

    share = [n // concurrency + (1 if i < n % concurrency else 0) for i in range(concurrency)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client, share))
    return time.perf_counter() - started


def server_alone(fake: FakeLLM, n: int, concurrency: int) -> float:
    """The fake on its own, loaded from another process (clients in this one would share its
    GIL): shows whether the server could be what limits the pytest run."""
    code = f"import bench_live; print(bench_live.raw_load({fake.port}, {n}, {concurrency}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.2, help="server answer delay L in seconds")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each command")
    parser.add_argument("--record-mode", default="new", choices=("all", "new"), help="new: each run records into an empty cassette")
    parser.add_argument("--call-process", default="auto", choices=("auto", "on", "off"), help="promptcheck's --call-process")
    parser.add_argument("--keep", type=Path, help="project directory to keep (default: a temp dir)")
    args = parser.parse_args()

    n, delay, c = args.items, args.delay, args.concurrency
    ideal = n * delay / c
    with tempfile.TemporaryDirectory(prefix="promptcheck-live-") as tmp, FakeLLM(delay_s=delay) as fake:
        project = args.keep or Path(tmp)
        project.mkdir(parents=True, exist_ok=True)
        write_pyproject(project, fake.openai_base_url)
        write_prompt(project, "greet", n, "local")

        server_s = server_alone(fake, n, c)
        fake.clear()
        run_pytest(project, "--collect-only", "-q")  # warm-up: bytecode caches
        startup = [run_pytest(project, "--collect-only", "-q") for _ in range(args.repeat)]
        live: list[Measured] = []
        overlaps: list[int] = []
        for _ in range(args.repeat):
            fake.clear()
            # A fresh cassette each time under "new"; "all" re-records over the previous one.
            if args.record_mode == "new":
                for old in (project / "cassettes").rglob("*.yaml"):
                    old.unlink()
            run = run_pytest(project, f"--record-mode={args.record_mode}", f"--call-process={args.call_process}", "--concurrency", str(c), "-q")
            if run.returncode != 0 or len(fake.requests) != n:
                print(run.output[-3000:])
                raise SystemExit(f"live run failed: exit {run.returncode}, {len(fake.requests)} requests for {n} items")
            live.append(run)
            overlaps.append(peak_in_flight(fake.requests, delay))

    start_s = median_of(startup).wall_s
    live_s = [m.wall_s for m in live]
    wall = median_of(live).wall_s
    budget = 1.3 * ideal + start_s
    rows = [
        ("items N / delay L / concurrency C", f"{n} / {delay * 1000:.0f} ms / {c}"),
        ("ideal N·L/C", f"{ideal:.2f} s"),
        ("fake server alone (raw HTTP, C keep-alive clients)", f"{server_s:.2f} s ({server_s / ideal:.2f} × ideal)"),
        ("pytest start-up (`--collect-only`)", spread([m.wall_s for m in startup])),
        (f"live run (`--record-mode={args.record_mode}`), wall", f"**{spread(live_s)}**"),
        ("target: 1.3 × ideal + start-up", f"{budget:.2f} s"),
        ("wall − start-up, ÷ ideal", f"**{(wall - start_s) / ideal:.2f} ×**"),
        ("wall ÷ ideal (start-up included)", f"{wall / ideal:.2f} ×"),
        ("CPU time of the live run (user + system)", spread([m.cpu_s for m in live])),
        ("peak RSS, live run", f"{median_of(live).max_rss_mb:.0f} MB"),
        ("requests in flight at the server, peak", " / ".join(str(o) for o in overlaps)),
    ]
    print(f"machine: {machine()}")
    print(f"pytest said: {median_of(live).last_line()}\n")
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(f"\n{'PASS' if wall <= budget else 'MISS'}: {wall:.2f} s against a budget of {budget:.2f} s")
    return 0 if wall <= budget else 1


if __name__ == "__main__":
    raise SystemExit(main())
