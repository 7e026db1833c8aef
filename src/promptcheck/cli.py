"""The ``promptcheck`` console script: a thin dispatcher over one module per command group."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, NoReturn, Sequence

# Each module adds its subcommands to the parser; the handler it sets returns the exit code.
# Keyed by command, so a run of one command imports only its module: `validate` alone pulls in
# every reader and check type, a third of a second that `promptcheck diff` has no use for.
COMMANDS: dict[str, str] = {
    "validate": "promptcheck.commands.validate",
    "runs": "promptcheck.commands.runs",
    "report": "promptcheck.commands.runs",
    "diff": "promptcheck.commands.runs",
    "merge": "promptcheck.commands.runs",
    "cassettes": "promptcheck.commands.cassettes",
    "baseline": "promptcheck.commands.baseline",
}

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


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command, or only those of ``command``'s module when it is one (help and a mistyped
    command still see them all)."""
    import importlib

    parser = _Parser(prog="promptcheck", description="prompt-regression testing for pytest")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for module_name in modules:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return _dispatch(_parse(argv))


def run() -> NoReturn:
    """The console script (and ``python -m promptcheck.cli``). A command may leave what it built
    on ``args.keep_alive``: the process then ends without freeing it, as the OS takes the memory
    back at once. Freeing a 100,000-item diff's two runs and comparison took ~0.4 s of its ~3 s."""
    args = _parse(None)
    code = _dispatch(args)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a closed pipe (`| head`): nothing more can be said on it
            pass
    os._exit(code)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    arguments = sys.argv[1:] if argv is None else list(argv)
    # The top-level parser has no option of its own besides --help: the first word is the command.
    parser = build_parser(next((a for a in arguments if not a.startswith("-")), None))
    return parser.parse_args(arguments)


def _dispatch(args: argparse.Namespace) -> int:
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("promptcheck: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    run()
