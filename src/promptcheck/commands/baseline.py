"""``promptcheck baseline``: pin the run later runs are compared with, or go back to automatic.

Pinning is how a reviewer accepts a run's answers for local history ("these are right now");
in git, accepting them is committing the re-recorded cassettes. The pin is one line in
``<report dir>/baseline``; `--baseline` and ``[tool.promptcheck] baseline`` still win over it."""

from __future__ import annotations

import argparse
from pathlib import Path

from promptcheck.commands.common import EXIT_OK, report_dir_option, usage_errors
from promptcheck.runs.baseline import PIN_FILE, read_pin
from promptcheck.runs.reading import read_header, resolve_run_path
from promptcheck.runs.store import RunFileError, runs_dir, write_chunks_atomic


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    baseline = subparsers.add_parser(
        "baseline", help="set | clear | show: the run later runs are compared with",
        description="Show, pin (set RUN) or unpin (clear) the run that later runs are compared with. "
        "Without a pin each key is compared with its latest pass/fail outcome.",
    )
    actions = baseline.add_subparsers(dest="action", metavar="ACTION")
    pin = actions.add_parser("set", help="pin a run: its pass/fail outcomes become the baseline")
    pin.add_argument("run", metavar="RUN", help="a run id, a unique prefix or suffix of one, latest, previous, or a record path")
    actions.add_parser("clear", help="remove the pin: compare each key with its latest outcome again")
    actions.add_parser("show", help="say which baseline is in use (the default)")
    for parser in (baseline, *actions.choices.values()):
        report_dir_option(parser)
    baseline.set_defaults(handler=usage_errors(cmd_baseline))


def cmd_baseline(args: argparse.Namespace) -> int:
    pin_path = Path(args.report_dir) / PIN_FILE
    if args.action == "set":
        path = resolve_run_path(args.run, args.report_dir)
        header = read_header(path)
        if not (runs_dir(args.report_dir) / f"{header.run_id}.json").exists():
            raise RunFileError(path, f"only a run stored in {runs_dir(args.report_dir)} can be pinned")
        write_chunks_atomic(pin_path, [header.run_id + "\n"])
        print(f"baseline pinned: run {header.run_id} ({header.started_at[:19].replace('T', ' ')}); "
              "later runs are compared with its outcomes")
    elif args.action == "clear":
        existed = pin_path.exists()
        pin_path.unlink(missing_ok=True)
        print("baseline pin removed: each key is compared with its latest outcome" if existed else "no baseline was pinned")
    else:
        pinned = read_pin(args.report_dir)
        print(f"baseline: run {pinned} (pinned)" if pinned else "baseline: each key's latest pass/fail outcome (nothing pinned)")
    return EXIT_OK
