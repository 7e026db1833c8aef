"""``promptcheck --help`` and every subcommand's ``--help``, as a user reads them: each command and
action they name exists."""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import re
import subprocess
import sys
from unittest import mock

import pytest

from promptcheck.cli import build_parser, main

# 80 columns, as in a plain terminal: argparse wraps to $COLUMNS.
ENV = {**os.environ, "COLUMNS": "80"}


@functools.cache
def help_of(*words: str) -> str:
    """``promptcheck WORDS --help`` through the console script's own ``main`` (one process each
    would cost a second apiece; ``test_the_console_script_prints_the_same_help`` covers that)."""
    out = io.StringIO()
    with mock.patch.dict(os.environ, {"COLUMNS": "80"}), contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        main([*words, "--help"])
    assert exited.value.code == 0, f"promptcheck {' '.join(words)} --help exited {exited.value.code}"
    return out.getvalue()


def listed(help_text: str) -> dict[str, str]:
    """The subcommands a help screen lists under its COMMAND/ACTION heading, with their help line."""
    entries: dict[str, str] = {}
    block = help_text.split("positional arguments:", 1)[1].split("\n\n", 1)[0]
    for line in block.splitlines()[2:]:  # after the heading and the COMMAND/ACTION line
        match = re.match(r"^    (\S+)(?:\s+(.*))?$", line)
        if match:
            entries[match.group(1)] = match.group(2) or ""
    return entries


def command_tree() -> dict[str, set[str]]:
    """Every command the parser accepts, with its actions (empty for commands without)."""
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    tree = {}
    for name, sub in commands.items():
        actions = [a for a in sub._actions if a.dest == "action"]
        tree[name] = set(actions[0].choices) if actions else set()
    return tree


def test_every_listed_command_and_action_exists_and_has_help() -> None:
    tree = command_tree()
    top = listed(help_of())
    assert set(top) == set(tree), "the top-level help lists exactly the commands there are"
    for command, line in top.items():
        assert line, f"{command}'s help is on its own line, so a reader joins the next line to the command name"
        actions = listed(help_of(command)) if tree[command] else {}
        assert set(actions) == tree[command]
        for action in actions:
            help_of(command, action)
        if tree[command]:
            # A group's one-line help starts with its actions, "unused | prune: ...", and names no others.
            advertised = line.split(":", 1)[0].split(" | ")
            assert advertised == [a for a in actions], f"{command}: {line!r}"


def test_commands_quoted_in_help_exist() -> None:
    tree = command_tree()
    screens = [help_of()] + [help_of(c) for c in tree] + [help_of(c, a) for c in tree for a in tree[c]]
    quoted = [m for text in screens for m in re.findall(r"`promptcheck ([a-z]+)(?: ([a-z]+))?", " ".join(text.split()))]
    assert ("baseline", "set") in quoted, "the help quotes commands (this test reads them)"
    for command, action in quoted:
        assert command in tree, f"`promptcheck {command}` is quoted in a help text but is no command"
        if tree[command]:
            assert action in tree[command], f"`promptcheck {command} {action}` is quoted but {command} has {sorted(tree[command])}"


def promptcheck(*words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promptcheck.cli", *words], capture_output=True, text=True, env=ENV, timeout=60,
    )


def test_the_console_script_prints_the_same_help() -> None:
    done = promptcheck("--help")
    assert done.returncode == 0
    assert done.stdout == help_of()
    assert "    cassettes  unused | prune: cassette entries the last full run did not use\n" in done.stdout


def test_a_command_that_does_not_exist_names_the_real_ones() -> None:
    done = promptcheck("cassettes", "list")
    assert done.returncode == 2
    # Python versions quote the choices differently; each names them.
    assert "invalid choice: 'list'" in done.stderr and "unused" in done.stderr and "prune" in done.stderr


def test_each_command_is_known_by_the_module_that_registers_it() -> None:
    # The console script imports only the module of the command it runs (cli.COMMANDS).
    from promptcheck.cli import COMMANDS

    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(subparsers.choices) == sorted(COMMANDS)
    for command, module in COMMANDS.items():
        alone = next(a for a in build_parser(command)._actions if isinstance(a, argparse._SubParsersAction))
        assert command in alone.choices, f"{command} is not registered by {module}"


def test_diff_does_not_import_what_validate_needs() -> None:
    probe = (
        "import sys\nfrom promptcheck.cli import main\n"
        "try:\n    main(['diff', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('validate' if 'promptcheck.commands.validate' in sys.modules else 'alone')"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, check=True).stdout
    assert out.strip().splitlines()[-1] == "alone"
