"""``promptcheck runs | report | diff | merge``: the run store and its reports from the command line."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Callable

from promptcheck.report import history_headers, render_markdown, terminal_lines, write_reports
from promptcheck.report.text import comparison_summary
from promptcheck.runs.compare import compare
from promptcheck.runs.history import recent_statuses
from promptcheck.runs.merge import MergeError, merge_runs
from promptcheck.runs.reading import list_runs, load_run, resolve_baseline
from promptcheck.runs.record import RunHeader, pass_rate
from promptcheck.runs.stats import DEFAULT_ALPHA, FAIL_ON
from promptcheck.runs.store import RunFileError, write_run

EXIT_OK, EXIT_REGRESSIONS, EXIT_USAGE = 0, 1, 2
Handler = Callable[[argparse.Namespace], int]


def _default_report_dir() -> str:
    """``report_dir`` from ``[tool.promptcheck]`` in ./pyproject.toml, as the pytest plugin uses it."""
    from promptcheck.config import ConfigError, load_file_settings

    try:
        return load_file_settings(Path.cwd()).report_dir
    except ConfigError:
        return "reports"  # a broken config is `pytest`'s to report; listing runs should still work


def _report_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report-dir", metavar="DIR", default=None,
        help="where runs are stored (default: report_dir from [tool.promptcheck], else ./reports)",
    )


def _usage_errors(handler: Handler) -> Handler:
    """Problems with the user's files become one plain line and exit code 2, never a traceback."""

    @functools.wraps(handler)
    def wrapper(args: argparse.Namespace) -> int:
        if args.report_dir is None:
            args.report_dir = _default_report_dir()
        try:
            return handler(args)
        except (RunFileError, MergeError) as e:
            print(f"promptcheck {args.command}: error: {e}", file=sys.stderr)
        except OSError as e:
            where = f"{e.filename}: " if e.filename else ""
            print(f"promptcheck {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE

    return wrapper


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    runs = subparsers.add_parser("runs", help="list the stored runs", description="List the stored runs, oldest first.")
    _report_dir_option(runs)
    runs.set_defaults(handler=_usage_errors(cmd_runs))

    report = subparsers.add_parser(
        "report", help="write the HTML report of a run",
        description="Write the HTML report of a run compared with a baseline run.",
    )
    report.add_argument("--run", default="latest", metavar="ID", help="run id, id prefix or record path (default: latest)")
    report.add_argument(
        "--baseline", default=None, metavar="ID",
        help="run id, id prefix, record path, 'latest' or 'none' (default: the previous completed run with a shared model)",
    )
    report.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of the report dir")
    _report_dir_option(report)
    report.set_defaults(handler=_usage_errors(cmd_report))

    diff = subparsers.add_parser(
        "diff", help="compare two runs (exit 1 on regressions)",
        description=(
            "Compare run B with baseline run A. Exit status 1 when B has regressions: with the default "
            "--fail-on auto, a pass→fail of a key sampled once on both sides, or a significant drop in a "
            "repeated key's pass rate (two-sided Fisher exact test, p < --alpha)."
        ),
    )
    diff.add_argument("baseline_run", metavar="A", help="baseline: run id, id prefix or record path")
    diff.add_argument("current_run", metavar="B", help="current: run id, id prefix or record path")
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    diff.add_argument("--limit", type=int, default=50, metavar="N", help="items listed per category (default: 50)")
    diff.add_argument("--diffs", action="store_true", help="text format: show each listed item's answer diff")
    diff.add_argument(
        "--fail-on", choices=FAIL_ON, default="auto",
        help="what sets exit status 1: any = any drop; significant = only significant drops; "
        "auto (default) = significant drops, and every pass→fail of a key sampled once on both sides",
    )
    diff.add_argument("--alpha", type=_alpha, default=DEFAULT_ALPHA, help="significance level of the Fisher test (default: 0.05)")
    _report_dir_option(diff)
    diff.set_defaults(handler=_usage_errors(cmd_diff))

    merge = subparsers.add_parser(
        "merge", help="combine shard runs into one",
        description="Combine the runs of parallel shards (e.g. CI jobs) into one run record.",
    )
    merge.add_argument("runs", nargs="+", metavar="RUN", help="run ids, id prefixes or record paths")
    merge.add_argument("-o", "--output", required=True, metavar="OUT", help="record file, or a directory to write <run id>.json in")
    _report_dir_option(merge)
    merge.set_defaults(handler=_usage_errors(cmd_merge))


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
    for info in infos:
        if info.header is None:
            print(f"{info.path.name:<26} unreadable: {info.error}")
            continue
        header = info.header
        started = header.started_at[:19].replace("T", " ")
        state = "complete" if header.complete else "incomplete"
        models = ", ".join(header.models)
        print(f"{info.run_id:<26} {started:<19}  {state:<10}  {_counts_text(header)}  {models}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    current = load_run(args.run, args.report_dir)
    baseline = resolve_baseline(args.baseline, args.report_dir, current.header)
    history = history_headers(args.report_dir)
    if args.output:
        outputs = [Path(args.output)]
    else:
        outputs = [Path(args.report_dir) / f"{current.run_id}.html"]
        if not history or history[-1].run_id == current.run_id:
            outputs.append(Path(args.report_dir) / "index.html")  # index.html always shows the latest run
    written = write_reports(args.report_dir, current, baseline, history, outputs=outputs)
    print("\n".join(terminal_lines(written.comparison, written.path)))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    baseline = load_run(args.baseline_run, args.report_dir)
    current = load_run(args.current_run, args.report_dir)
    comparison = compare(baseline, current, alpha=args.alpha, history=recent_statuses(args.report_dir, current, loaded=[baseline]))
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
