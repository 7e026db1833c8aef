"""The ``promptcheck`` console script: a thin dispatcher over one module per command group."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Sequence

# Each entry adds its subcommands to the parser; the handler it sets returns the exit code.
COMMAND_MODULES: tuple[str, ...] = (
    "promptcheck.commands.validate",
    "promptcheck.commands.runs",
    "promptcheck.commands.cassettes",
    "promptcheck.commands.baseline",
)

Handler = Callable[[argparse.Namespace], int]


class _HelpFormatter(argparse.HelpFormatter):
    """argparse sizes the command column without the extra indent it prints subcommands with, so
    the longest name ("cassettes") pushed its help to the next line, where the help's first word
    read as part of the command."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:
            for subaction in self._iter_indented_subactions(action):
                width = len(self._format_action_invocation(subaction)) + self._current_indent
                self._action_max_length = max(self._action_max_length, width)


class _Parser(argparse.ArgumentParser):
    """Every parser and subparser of the command formats its help the same way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = _Parser(prog="promptcheck", description="prompt-regression testing for pytest")
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
