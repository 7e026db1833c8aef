"""Benchmark: CPU time of the HTML report's build alone, for comparing two trees on a busy machine.

    python bench/bench_build.py --items 100000 --runs /tmp/runs-100k [--src OTHER/src] [--repeat 2] [--profile]

The build is what ``bench_report.py`` times: ``compare`` against the baseline run, then
``write_html`` (list page and data files), with the cyclic GC paused as the plugin does. Its
process CPU time (``time.process_time``) is printed per build: wall time on a shared machine
says more about the neighbours than about the code. ``--runs`` keeps the two synthetic runs
(``bench_report.synthesize``) between invocations, so old and new trees, run in turn with
``--src``, read the very same records; they are written there on the first call.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=Path, required=True, help="report dir holding the two runs (written if empty)")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the tree to measure (its src folder)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="one more build under cProfile, by own time")
    args = parser.parse_args()
    sys.path[:0] = [str(args.src.resolve()), str(ROOT / "bench")]

    from promptcheck.gcpause import gc_paused
    from promptcheck.report.html import write_html
    from promptcheck.runs.baseline import of_run
    from promptcheck.runs.compare import compare
    from promptcheck.runs.reading import load_run

    if not list(args.runs.glob("runs/*.json")):
        from bench_report import record, synthesize

        base_items, cur_items = synthesize(args.items)
        record(args.runs, base_items, "2026-11-27T01:00:00+00:00")
        record(args.runs, cur_items, "2026-11-28T01:00:00+00:00")
    first, second = sorted(p.stem for p in (args.runs / "runs").glob("*.json"))[:2]
    baseline, current = load_run(first, args.runs), load_run(second, args.runs)
    page = Path(tempfile.mkdtemp(prefix="pc-build-")) / "index.html"

    def build() -> None:
        with gc_paused():
            comparison = compare(of_run(baseline, f"run {baseline.run_id}"), current)
            write_html([page], comparison, current, [])

    for _ in range(args.repeat):
        started, started_wall = time.process_time(), time.perf_counter()
        build()
        print(f"{len(current.items):,} items, {args.src}: build CPU {time.process_time() - started:.3f} s, "
              f"wall {time.perf_counter() - started_wall:.3f} s", flush=True)
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(build)
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
