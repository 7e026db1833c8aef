"""The ``promptcheck`` console script: a thin dispatcher over one module per command group."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

# Each entry adds its subcommands to the parser; the handler it sets returns the exit code.
COMMAND_MODULES: tuple[str, ...] = (
    "promptcheck.commands.validate",
    "promptcheck.commands.runs",
    "promptcheck.commands.cassettes",
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="promptcheck", description="prompt-regression testing for pytest")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("promptcheck: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
