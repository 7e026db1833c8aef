"""``promptcheck runs | report | diff | merge``: the run store and its reports from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from promptcheck.commands.common import EXIT_OK, EXIT_REGRESSIONS, EXIT_USAGE, report_dir_option, usage_errors
from promptcheck.gcpause import gc_paused
from promptcheck.report import history_headers, render_markdown, terminal_lines, write_reports
from promptcheck.report.text import comparison_summary
from promptcheck.runs.baseline import Baseline, RunLoader, read_pin, resolve
from promptcheck.runs.compare import compare
from promptcheck.runs.git_baseline import replay_at
from promptcheck.runs.heads import load_heads, with_texts
from promptcheck.runs.history import recent_statuses
from promptcheck.runs.merge import merge_runs
from promptcheck.runs.reading import list_runs, load_run
from promptcheck.runs.record import AnyRun, RunHeader, RunRecord, pass_rate
from promptcheck.runs.stats import DEFAULT_ALPHA, FAIL_ON
from promptcheck.runs.store import write_run

RUN_HELP = "a run id, a unique prefix or suffix of one (e.g. the 6 hex digits at its end), latest, previous, or a record path"
BASELINE_HELP = (
    "auto (each key's latest pass/fail outcome before the run), none, git:REF (REF's cassettes replayed), "
    "or a run (" + RUN_HELP + "); default: the run pinned with `promptcheck baseline set`, else auto"
)

def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    runs = subparsers.add_parser("runs", help="list the stored runs", description="List the stored runs, oldest first.")
    report_dir_option(runs)
    runs.set_defaults(handler=usage_errors(cmd_runs))

    report = subparsers.add_parser(
        "report", help="write the HTML report of a run",
        description="Write the HTML report of a run compared with a baseline run.",
    )
    report.add_argument("--run", default="latest", metavar="RUN", help=RUN_HELP + " (default: latest)")
    report.add_argument("--baseline", default=None, metavar="BASELINE", help=BASELINE_HELP)
    report.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of the report dir")
    report_dir_option(report)
    report.set_defaults(handler=usage_errors(cmd_report))

    diff = subparsers.add_parser(
        "diff", help="compare a run with its baseline (exit 1 on regressions)",
        description=(
            "`diff` compares the latest run with its baseline, `diff B` run B, `diff A B` run B with the "
            "baseline as of A (A's pass/fail outcomes, and for keys A did not decide the latest before it). "
            "Exit status 1 when B has regressions: with the default --fail-on auto, a pass→fail of a key "
            "sampled once on both sides, or a significant drop in a repeated key's pass rate (two-sided "
            "Fisher exact test, p < --alpha). Errors are not evaluated and never count."
        ),
    )
    diff.add_argument("runs", nargs="*", metavar="RUN", help="[A] [B]: " + BASELINE_HELP.split(";")[0] + "; B: " + RUN_HELP)
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    diff.add_argument("--limit", type=int, default=50, metavar="N", help="items listed per category (default: 50)")
    diff.add_argument("--diffs", action="store_true", help="text format: show each listed item's answer diff")
    diff.add_argument(
        "--fail-on", choices=FAIL_ON, default="auto",
        help="what sets exit status 1: any = any drop; significant = only significant drops; "
        "auto (default) = significant drops, and every pass→fail of a key sampled once on both sides",
    )
    diff.add_argument("--alpha", type=_alpha, default=DEFAULT_ALPHA, help="significance level of the Fisher test (default: 0.05)")
    report_dir_option(diff)
    diff.set_defaults(handler=usage_errors(cmd_diff))

    merge = subparsers.add_parser(
        "merge", help="combine shard runs into one",
        description="Combine the runs of parallel shards (e.g. CI jobs) into one run record.",
    )
    merge.add_argument("runs", nargs="+", metavar="RUN", help="run ids, id prefixes or record paths")
    merge.add_argument("-o", "--output", required=True, metavar="OUT", help="record file, or a directory to write <run id>.json in")
    report_dir_option(merge)
    merge.set_defaults(handler=usage_errors(cmd_merge))


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text!r}")
    return value


def _counts_text(header: RunHeader) -> str:
    counts = header.summary.counts
    rate = pass_rate(counts)
    shown = " ".join(f"{counts.get(s, 0)} {s}" for s in ("pass", "fail", "error", "skip"))
    return f"{shown}  ({'–' if rate is None else f'{rate:.0%}'})"


def cmd_runs(args: argparse.Namespace) -> int:
    infos = list_runs(args.report_dir)
    if not infos:
        print(f"no runs stored in {Path(args.report_dir) / 'runs'}")
        return EXIT_OK
    pinned = read_pin(args.report_dir)
    for info in infos:
        if info.header is None:
            print(f"{info.path.name:<26} unreadable: {info.error}")
            continue
        header = info.header
        started = header.started_at[:19].replace("T", " ")
        models = ", ".join(header.models)
        pin = "  (baseline)" if info.run_id == pinned else ""
        print(f"{info.run_id:<26} {started:<19}  {_state(header):<10}  {_counts_text(header)}  {models}{pin}")
    return EXIT_OK


def _state(header: RunHeader) -> str:
    if not header.complete:
        return "incomplete"  # it stopped before the end (Ctrl-C, a crash)
    return "partial" if header.selected_only else "complete"


def _baseline(spec: str | None, args: argparse.Namespace, current: AnyRun, load: RunLoader = load_run) -> Baseline | None:
    def replay(ref: str) -> RunRecord:
        return replay_at(ref, Path.cwd(), models=list(current.header.models) or None)

    keys = [i.key for i in current.items]
    return resolve(spec, args.report_dir, current.header, keys, git=replay, loaded=[current], load=load)


def cmd_report(args: argparse.Namespace) -> int:
    current = load_run(args.run, args.report_dir)
    baseline = _baseline(args.baseline, args, current)
    history = history_headers(args.report_dir)
    if args.output:
        outputs = [Path(args.output)]
    else:
        outputs = [Path(args.report_dir) / f"{current.run_id}.html"]
        if not history or history[-1].run_id == current.run_id:
            outputs.append(Path(args.report_dir) / "index.html")  # index.html always shows the latest run
    written = write_reports(args.report_dir, current, baseline, history, outputs=outputs, alpha=DEFAULT_ALPHA)
    print("\n".join(terminal_lines(written.comparison, written.latest)))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    if len(args.runs) > 2:
        print(f"promptcheck diff: error: give at most two runs (baseline A, current B), got {len(args.runs)}", file=sys.stderr)
        return EXIT_USAGE
    *spec, current_ref = args.runs or ["latest"]
    with gc_paused():  # hundreds of thousands of short-lived acyclic objects (see gcpause)
        return _diff(args, spec, current_ref)


def _diff(args: argparse.Namespace, spec: list[str], current_ref: str) -> int:
    # Without texts: answers compare by hash, and only the diffs printed read theirs (runs.heads).
    current = load_heads(current_ref, args.report_dir)
    baseline = _baseline(spec[0] if spec else None, args, current, load=load_heads)
    history = recent_statuses(args.report_dir, current, known=baseline.statuses if baseline else None)
    comparison = compare(baseline, current, alpha=args.alpha, history=history)
    args.keep_alive = (current, baseline, comparison)  # the console script exits without freeing them (cli.run)
    if args.diffs and args.format == "text":
        with_texts(comparison.of("regression")[: args.limit] + comparison.of("fix")[: args.limit], current, baseline)
    if args.format == "json":
        print(json.dumps(comparison_summary(comparison), indent=2, ensure_ascii=False))
    elif args.format == "markdown":
        print(render_markdown(comparison, limit=args.limit), end="")
    else:
        print("\n".join(terminal_lines(comparison, None, limit=args.limit, diffs=args.diffs)))
    return EXIT_REGRESSIONS if comparison.failing(args.fail_on) else EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    records = [load_run(ref, args.report_dir) for ref in args.runs]
    merged = merge_runs(records)
    out = Path(args.output)
    if out.is_dir() or args.output.endswith(("/", "\\")):
        out = out / f"{merged.run_id}.json"
    write_run(out, merged)
    print(f"merged {len(records)} runs ({len(merged.items)} items) into {out} as run {merged.run_id}")
    return EXIT_OK
