"""Benchmark: run store, HTML report and `promptcheck diff` on a synthetic 20,000-item run.

    PYTHONPATH=src python bench/bench_report.py [--items 20000] [--repeat 3] [--keep DIR]

The current run differs from its baseline in 5% regressions (pass → fail, with a failing check
span), 20% changed answers and a few fixes. Prints a Markdown table for docs/benchmarks.md.
Targets at 20k: HTML build ≤ 3 s, first paint in headless Chromium ≤ 2 s, `promptcheck diff` ≤ 2 s.
At 100k (issue 17): `promptcheck diff` ≤ 3 s and ≤ 600 MB peak RSS in a new process; HTML build
≤ 4 s, first paint ≤ 0.5 s, list rendered ≤ 1.5 s, filter and search ≤ 300 ms (timed inside the page
by its #bench mode). CPU times are printed too: on a shared machine they move much less than wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from promptcheck.report import render_html  # noqa: E402
from promptcheck.runs.baseline import of_run  # noqa: E402
from promptcheck.runs.compare import compare  # noqa: E402
from promptcheck.runs.reading import load_run  # noqa: E402
from promptcheck.runs.record import CheckResult, GitInfo, ItemResult, RunRecord, new_header  # noqa: E402
from promptcheck.runs.store import RunRecorder, write_chunks_atomic  # noqa: E402

try:  # the split page (issue 17); older trees, measured beside it, write one self-contained page
    from promptcheck.gcpause import gc_paused  # noqa: E402
    from promptcheck.report.html import write_html  # noqa: E402
except ImportError:
    gc_paused, write_html = contextlib.nullcontext, None

MODELS = ["openai:gpt-4o", "openai:gpt-4o-mini", "anthropic:claude-sonnet", "github:phi-4"]
CASES_PER_PROMPT = 10
WORDS = ("the a system message queue client server push event retry backoff latency socket stream token "
         "cache shard replica leader follower commit offset partition window budget cost model prompt answer "
         "JSON schema field value error timeout connection heartbeat reconnect scale region zone").split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def answer(rng: random.Random) -> str:
    return " ".join(sentence(rng, rng.randint(8, 18)) for _ in range(rng.randint(4, 8)))


def mutate(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    for _ in range(rng.randint(2, 6)):
        words[rng.randrange(len(words))] = rng.choice(WORDS)
    return " ".join(words)


def item(prompt: int, case: int, model: str, status: str, text: str, system: str) -> ItemResult:
    path = f"prompts/p{prompt:04d}.prompt.yaml"
    passed = status == "pass"
    span = (0, min(12, len(text))) if not passed else None
    checks = (
        CheckResult("contains: socket", "contains", True, 1.0, "found"),
        CheckResult("max-length: 2000", "max-length", True, 1.0),
        CheckResult("not-contains: As an AI", "contains", passed, float(passed),
                    "" if passed else "answer contains 'As an AI'", span),
    )
    return ItemResult(
        key=f"{path}::case-{case}[{model}]", prompt_path=path, prompt_name=f"p{prompt:04d}",
        case_id=f"case-{case}", model=model, repeat=0, nodeid=f"{path}::case-{case}[{model}]",
        status="pass" if passed else "fail", messages_hash=f"{prompt:016x}",
        messages=(("system", system), ("user", f"Case {case}: explain the design of component {prompt}-{case}.")),
        answer=text, score=float(passed), checks=checks, latency_s=0.8, input_tokens=420,
        output_tokens=160, cost=0.0021, replayed=True,
    )


def synthesize(n_items: int, seed: int = 7) -> tuple[list[ItemResult], list[ItemResult]]:
    rng = random.Random(seed)
    baseline, current = [], []
    n_prompts = n_items // (CASES_PER_PROMPT * len(MODELS))
    for prompt in range(n_prompts):
        system = " ".join(sentence(rng, 14) for _ in range(5))  # ~500 chars, shared by the prompt's cases
        for case in range(CASES_PER_PROMPT):
            for model in MODELS:
                before = answer(rng)
                roll = rng.random()
                if roll < 0.05:  # regression
                    b, c = ("pass", before), ("fail", "As an AI, " + mutate(rng, before))
                elif roll < 0.25:  # changed answer, still passing
                    b, c = ("pass", before), ("pass", mutate(rng, before))
                elif roll < 0.27:  # still failing
                    b, c = ("fail", before), ("fail", before)
                elif roll < 0.28:  # fixed
                    b, c = ("fail", before), ("pass", mutate(rng, before))
                else:
                    b, c = ("pass", before), ("pass", before)
                baseline.append(item(prompt, case, model, *b, system))
                current.append(item(prompt, case, model, *c, system))
    return baseline, current


def run_measured(command: list[str], env: dict[str, str]) -> tuple[int, float, float, float]:
    """Exit code, wall seconds, CPU seconds (user + sys) and peak RSS in MB of one new process,
    as `/usr/bin/time` reports them. Not os.wait4 on our own child: Linux carries the peak RSS of
    the process that forked (this one, holding two runs and a page) into the child's figure."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        timed_command = ["/usr/bin/time", "-f", "%e %M %U %S", "-o", report.name, *command]
        done = subprocess.run(timed_command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode not in (0, 1):
            raise SystemExit(done.stderr)
        wall, rss_kb, user, system = report.read().split()[-4:]
    return done.returncode, float(wall), float(user) + float(system), int(rss_kb) / 1024


def timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def record(report_dir: Path, items: list[ItemResult], started_at: str) -> tuple[RunRecord, float]:
    recorder = RunRecorder(report_dir, new_header(started_at=started_at, models=MODELS, record_mode="none", git=GitInfo()))
    started = time.perf_counter()
    for entry in items:
        recorder.add(entry)
    recorder.finish(complete=True)
    return recorder.record, time.perf_counter() - started


def first_paint(page: Path, timeout: float) -> dict[str, Any] | None:
    """The page's paint timings; None when Chromium does not finish within ``timeout`` seconds
    (a 100 MB page on a loaded machine), so the other figures still print."""
    from chromium import dump_dom

    try:
        dom = dump_dom(page, "bench", budget_ms=10_000, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    found = re.search(r'<pre id="bench-result">(.*?)</pre>', dom, re.S)
    if not found or "first-paint" not in found.group(1):
        raise SystemExit("the page recorded no paint timings")
    return json.loads(html.unescape(found.group(1)))


def data_files(report_dir: Path) -> str:
    files = [p for d in report_dir.glob("*-data") for p in d.iterdir()]
    if not files:
        return "none (one self-contained page)"
    return f"{len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB"


def spread(samples: list[float], unit: str = "s") -> str:
    """Median, with the range: the machine may be shared, so one sample says little."""
    if not samples:
        return "not measured"
    ordered = sorted(samples)
    return f"{statistics.median(ordered):.2f} {unit} (range {ordered[0]:.2f}–{ordered[-1]:.2f}, n={len(ordered)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="measure build, paint and diff this many times")
    parser.add_argument("--keep", type=Path, help="report dir to keep (default: a temp dir)")
    parser.add_argument("--paint-timeout", type=float, default=120, help="seconds to wait for Chromium (0: skip it)")
    args = parser.parse_args()
    report_dir = args.keep or Path(tempfile.mkdtemp(prefix="pc-bench-")) / "reports"

    base_items, cur_items = synthesize(args.items)
    record(report_dir, base_items, "2026-11-27T01:00:00+00:00")
    _, t_record = record(report_dir, cur_items, "2026-11-28T01:00:00+00:00")
    run_ids = sorted(p.stem for p in (report_dir / "runs").glob("*.json"))
    run_size = (report_dir / "runs" / f"{run_ids[-1]}.json").stat().st_size
    (baseline, current), t_load = timed(lambda: (load_run(run_ids[0], report_dir), load_run(run_ids[1], report_dir)))

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    diff_cmd = [sys.executable, "-m", "promptcheck.cli", "diff", run_ids[0], run_ids[1], "--report-dir", str(report_dir)]
    page = report_dir / "index.html"
    builds, build_cpu, paints, fcps, rendered, diffs, diff_cpu, diff_rss = [], [], [], [], [], [], [], []
    in_page: dict[str, list[float]] = {"filter_ms": [], "search_ms": [], "search_again_ms": [], "expand_last_chunk_ms": []}
    for _ in range(args.repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        with gc_paused():  # as write_reports does
            comparison = compare(of_run(baseline, f"run {baseline.run_id}"), current)
            if write_html is not None:
                write_html([page], comparison, current, [])
            else:
                write_chunks_atomic(page, [render_html(comparison, current, [])])
        builds.append(time.perf_counter() - started)
        build_cpu.append(time.process_time() - started_cpu)
        paint = first_paint(page, args.paint_timeout) if args.paint_timeout else None
        if paint is not None:
            paints.append(paint["first-paint"] / 1000)
            fcps.append(paint["first-contentful-paint"] / 1000)
            rendered.append(paint["rendered_ms"] / 1000)
            for name, samples in in_page.items():
                if isinstance(paint.get(name), (int, float)):
                    samples.append(paint[name])
        code, took, cpu, rss = run_measured(diff_cmd, env)
        assert code == 1  # the synthetic run has regressions
        diffs.append(took)
        diff_cpu.append(cpu)
        diff_rss.append(rss)

    rows = [
        ("items (baseline / current)", f"{len(base_items):,} / {len(cur_items):,}"),
        ("categories", ", ".join(f"{v} {k}" for k, v in comparison.counts.items() if v)),
        (f"record {args.items:,} items with `RunRecorder` (add + throttled flushes + finish)", f"{t_record:.2f} s"),
        ("run record size", f"{run_size / 1e6:.1f} MB"),
        ("load both runs (`load_run` ×2)", f"{t_load:.2f} s"),
        ("HTML build: compare + render + atomic write (target ≤ 3 s)", f"**{spread(builds)}**"),
        ("HTML build CPU time (this process)", spread(build_cpu)),
        ("HTML page size", f"{page.stat().st_size / 1e6:.1f} MB"),
        ("its data files", data_files(report_dir)),
        ("first paint in headless Chromium (target ≤ 2 s)", f"**{spread(paints)}**"),
        ("first contentful paint", spread(fcps)),
        ("item list rendered (page script done)", spread(rendered)),
        ("filter to regressions, in the page (target ≤ 300 ms)", spread(in_page["filter_ms"], "ms")),
        ("search 'as an ai', then 'case-1[' (target ≤ 300 ms)",
         f"{spread(in_page['search_ms'], 'ms')}; {spread(in_page['search_again_ms'], 'ms')}"),
        ("open an item of the last data file (load + render)", spread(in_page["expand_last_chunk_ms"], "ms")),
        ("`promptcheck diff` wall time, new process (target ≤ 2 s at 20k, ≤ 3 s at 100k)", f"**{spread(diffs)}**"),
        ("`promptcheck diff` CPU time (user + sys)", spread(diff_cpu)),
        ("`promptcheck diff` peak RSS (target ≤ 600 MB at 100k)", f"**{max(diff_rss):.0f} MB**"),
        ("machine load (1-minute average) at the end", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"),
    ]
    print(f"report dir: {report_dir}\n")
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
