"""Benchmark: N recorded items replayed under ``--record-mode=none``, against plain pytest running
N trivially parametrized tests on the same machine.

    python bench/bench_replay.py [--items 20000] [--prompts 20] [--repeat 3]

Targets (issue 3, at 20,000 items): replay wall ≤ 2 × plain pytest, peak RSS ≤ 300 MB, with the
normal run record and HTML report. Issue 17, at 100,000 items (``--items 100000 --prompts 100``):
wall ≤ 1.5 × plain pytest's and peak RSS ≤ 1.5 × plain pytest's. The cassettes are written with CassetteStore from the plugin's own item plans, so
their keys are exactly what the run asks for; no server is needed (the provider's base_url points
at a closed port, which a replay run never touches). Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pytest_runs import Measured, machine, median_of, run_pytest, spread, write_prompt, write_pyproject

from promptcheck.config import load_file_settings
from promptcheck.formats.catalog import Catalog
from promptcheck.engine.plan import plan_items
from promptcheck.providers.base import ProviderResponse, Usage
from promptcheck.providers.cassette import CassetteStore

PLAIN_TESTS = """\
import pytest


@pytest.mark.parametrize("i", range({n}))
def test_trivial(i):
    assert i >= 0
"""


def record_cassettes(project: Path) -> int:
    """Write one answer per item straight into the cassettes, keyed as the plugin keys them."""
    settings = load_file_settings(project)
    catalog = Catalog(settings)
    store = CassetteStore(project / "cassettes", flush_interval_s=3600)  # one write per file, at close
    recorded = 0
    for path in sorted((project / "prompts").glob("*.prompt.yaml")):
        spec, _ = catalog.load(path)
        for plan in plan_items(spec, settings, []):
            name = plan.case.vars["name"]
            answer = f"Hello, {name}! Nice to meet you."
            store.record(plan.request(0), ProviderResponse(answer, Usage(12, 7), latency_s=0.2, cost=0.0))
            recorded += 1
    store.close()
    return recorded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--prompts", type=int, default=20, help="prompt files the items are spread over")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each command")
    parser.add_argument("--keep", type=Path, help="directory to keep the projects in (default: a temp dir)")
    args = parser.parse_args()

    n = args.items
    with tempfile.TemporaryDirectory(prefix="promptcheck-replay-") as tmp:
        base = args.keep or Path(tmp)
        project, plain = base / "replay", base / "plain"
        project.mkdir(parents=True, exist_ok=True)
        plain.mkdir(parents=True, exist_ok=True)
        write_pyproject(project, "http://127.0.0.1:9/v1")  # discard port: a call would fail loudly
        for index in range(args.prompts):
            write_prompt(project, f"greet{index:03d}", n // args.prompts + (index < n % args.prompts), "local")
        started = time.perf_counter()
        recorded = record_cassettes(project)
        record_s = time.perf_counter() - started
        (plain / "test_plain.py").write_text(PLAIN_TESTS.format(n=n))

        for warm in (plain, project):  # bytecode caches, as on a machine that has run pytest before
            run_pytest(warm, "-q", "--collect-only")
        runs: dict[str, list[Measured]] = {name: [] for name in ("plain", "replay", "no-report", "collect")}
        for _ in range(args.repeat):
            # Interleaved, so a change in machine load hits every variant alike.
            runs["plain"].append(run_pytest(plain, "-q"))
            runs["replay"].append(run_pytest(project, "-q", "--record-mode=none"))
            runs["no-report"].append(run_pytest(project, "-q", "--record-mode=none", "--no-promptcheck-report"))
            runs["collect"].append(run_pytest(project, "-q", "--collect-only"))
        for name, measured in runs.items():
            bad = [m for m in measured if m.returncode != 0]
            if bad:
                print(bad[0].output[-3000:])
                raise SystemExit(f"{name} run failed with exit code {bad[0].returncode}")

    plain_s = median_of(runs["plain"]).wall_s
    replay = median_of(runs["replay"])
    walls = {name: [m.wall_s for m in measured] for name, measured in runs.items()}
    rss = max(m.max_rss_mb for m in runs["replay"])
    plain_rss = max(m.max_rss_mb for m in runs["plain"])
    rows = [
        ("items / prompt files", f"{n} / {args.prompts} ({recorded} recorded answers)"),
        ("writing the cassettes (CassetteStore, once)", f"{record_s:.2f} s"),
        (f"plain pytest, {n} parametrized tests", spread(walls["plain"])),
        ("replay (`--record-mode=none`, run record + HTML report)", f"**{spread(walls['replay'])}**"),
        ("replay ÷ plain pytest (target ≤ 2)", f"**{replay.wall_s / plain_s:.2f} ×**"),
        ("replay with `--no-promptcheck-report`", spread(walls["no-report"])),
        ("collection only (`--collect-only`)", spread(walls["collect"])),
        ("peak RSS, replay (target ≤ 300 MB)", f"**{rss:.0f} MB**"),
        ("peak RSS, replay with `--no-promptcheck-report`", f"{max(m.max_rss_mb for m in runs['no-report']):.0f} MB"),
        ("peak RSS, plain pytest", f"{plain_rss:.0f} MB"),
        ("peak RSS, replay ÷ plain pytest (target at 100k ≤ 1.5)", f"**{rss / plain_rss:.2f} ×**"),
        ("CPU time (user + sys), plain / replay", f"{median_of(runs['plain']).cpu_s:.1f} s / {replay.cpu_s:.1f} s"),
    ]
    print(f"machine: {machine()}")
    print(f"pytest said: {replay.last_line()}\n")
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    ok = replay.wall_s <= 2 * plain_s and rss <= 300
    print(f"\n{'PASS' if ok else 'MISS'} (issue 3): {replay.wall_s:.2f} s vs 2 × {plain_s:.2f} s, {rss:.0f} MB")
    at_scale = replay.wall_s <= 1.5 * plain_s and rss <= 1.5 * plain_rss
    print(f"{'PASS' if at_scale else 'MISS'} (issue 17): {replay.wall_s / plain_s:.2f} × plain's time, {rss / plain_rss:.2f} × its RSS")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
