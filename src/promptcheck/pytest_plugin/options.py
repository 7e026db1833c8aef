"""Command-line options (one ``promptcheck`` group) and how they override pyproject settings."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from promptcheck.config import (
    CALL_PROCESS_SETTINGS, RECORD_MODES, ConfigError, Settings, load_file_settings, set_repeat, split_models, validate,
)
from promptcheck.pytest_plugin.shard import Shard


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("promptcheck", "prompt-regression testing")
    group.addoption("--models", default=None, help="comma-separated model labels; overrides each prompt file's model")
    group.addoption(
        "--record-mode",
        default=None,
        choices=RECORD_MODES,
        help="cassettes: none = replay only (default), once = record if no cassette, new = record missing, all = re-record",
    )
    group.addoption("--concurrency", type=int, default=None, help="model calls in flight at once (default 8)")
    group.addoption(
        "--call-process",
        default=None,
        choices=CALL_PROCESS_SETTINGS,
        help="make SDK calls in a child process, on another core: auto (default: when there is a spare core and no xdist), on, off",
    )
    group.addoption(
        "--repeat", default=None,
        help="samples per case × model (default 1), or 'auto': 3, more while the verdict vs the baseline is open (up to repeat_max)",
    )
    group.addoption("--judge-model", default=None, help="model that grades model-graded checks, e.g. openai:gpt-4o-mini")
    group.addoption("--report-dir", default=None, help="where run records and HTML reports go (default reports/)")
    group.addoption("--baseline", default=None, help="run to compare with: latest, a run id or a record path")
    group.addoption("--max-cost", type=float, default=None, help="never spend more than this many USD on model calls: each call reserves its worst case before it is sent")
    group.addoption("--shard", type=_shard, default=None, metavar="I/N", help="run only shard I of N (items split by a hash of their key)")
    group.addoption("--batch", action="store_true", default=False, help="send the calls to record through the OpenAI/Anthropic Batch APIs (half price, slower)")
    group.addoption("--no-promptcheck-report", action="store_true", default=False, help="do not store a run or write reports")


def _shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:  # argparse turns this into a one-line usage error
        raise argparse.ArgumentTypeError(str(exc)) from None


def settings_from_config(config: pytest.Config) -> Settings:
    inipath = Path(config.inipath) if config.inipath else None
    try:
        settings = load_file_settings(Path(config.rootpath), inipath)
        _apply_cli(settings, config)
    except ConfigError as exc:
        raise pytest.UsageError(f"promptcheck: {exc}") from None
    return settings


def _apply_cli(settings: Settings, config: pytest.Config) -> None:
    models = config.getoption("models")
    if models is not None:
        settings.models = split_models(models)
        if not settings.models:
            raise ConfigError("--models: give at least one model label, e.g. --models openai:gpt-4o,echo")
    repeat = config.getoption("repeat")
    if repeat is not None:
        set_repeat(settings, repeat, "--repeat")
    for option, name in (
        ("judge_model", "judge"),
        ("record_mode", "record_mode"),
        ("concurrency", "concurrency"),
        ("call_process", "call_process"),
        ("report_dir", "report_dir"),
        ("baseline", "baseline"),
        ("max_cost", "max_cost"),
    ):
        value = config.getoption(option)
        if value is not None:
            setattr(settings, name, value)
    validate(settings, "command line")
