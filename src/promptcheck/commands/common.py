"""What the run-store commands share: where the runs are, and errors as one line, not a traceback."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Callable

from promptcheck.runs.baseline import BaselineError
from promptcheck.runs.merge import MergeError
from promptcheck.runs.store import RunFileError

EXIT_OK, EXIT_REGRESSIONS, EXIT_USAGE = 0, 1, 2
Handler = Callable[[argparse.Namespace], int]


def default_report_dir() -> str:
    """``report_dir`` from ``[tool.promptcheck]`` in ./pyproject.toml, as the pytest plugin uses it."""
    from promptcheck.config import ConfigError, load_file_settings

    try:
        return load_file_settings(Path.cwd()).report_dir
    except ConfigError:
        return "reports"  # a broken config is `pytest`'s to report; listing runs should still work


def report_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report-dir", metavar="DIR", default=None,
        help="where runs are stored (default: report_dir from [tool.promptcheck], else ./reports)",
    )


def usage_errors(handler: Handler) -> Handler:
    """Problems with the user's files become one plain line and exit code 2, never a traceback."""

    @functools.wraps(handler)
    def wrapper(args: argparse.Namespace) -> int:
        if args.report_dir is None:
            args.report_dir = default_report_dir()
        try:
            return handler(args)
        except (RunFileError, MergeError, BaselineError) as e:
            print(f"promptcheck {args.command}: error: {e}", file=sys.stderr)
        except OSError as e:
            where = f"{e.filename}: " if e.filename else ""
            print(f"promptcheck {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE

    return wrapper
