"""Settings: ``[tool.promptcheck]`` in pyproject.toml, overridden by command-line options."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from promptcheck.ranges import CONCURRENCY, PASS_RATE, REPEAT, TIMEOUT_S
from promptcheck.provider_settings import provider_table_problem
from promptcheck.usercode import limits

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RECORD_MODES = ("none", "once", "new", "all")
CALL_PROCESS_SETTINGS = ("auto", "on", "off")
REPEAT_AUTO_START = 3  # samples every key gets first under `repeat = "auto"`


class ConfigError(Exception):
    """A setting is wrong; the message names the key and where it came from."""


@dataclass
class Settings:
    rootdir: Path = field(default_factory=Path.cwd)
    prompt_globs: list[str] = field(default_factory=lambda: ["*.prompt.yml", "*.prompt.yaml", "promptfooconfig.yaml", "promptfooconfig.*.yaml"])
    prompt_dirs: list[str] = field(default_factory=lambda: ["prompts"])  # every YAML below is a prompt
    cases_dirs: list[str] = field(default_factory=lambda: ["cases"])
    promptfoo_configs: list[str] = field(default_factory=list)
    models: list[str] | None = None
    model_map: dict[str, str] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Replay only by default: a plain `pytest` never spends money or needs keys.
    record_mode: str = "none"
    cassette_dir: str | None = None
    concurrency: int = 8
    call_process: str = "auto"  # SDK calls in a child process: auto, on, off (providers/callprocess.py)
    repeat: int = 1
    pass_rate: float = 1.0
    report_dir: str = "reports"
    keep_runs: int = 50  # stored runs a session keeps (runs/retention.py); 0 keeps every run
    baseline: str | None = None
    max_cost: float | None = None
    timeout_s: float = 60.0  # per model call, and per call of a `python:` provider
    # The user's scripts: python/javascript checks, transforms, prompt functions, var loaders,
    # filters (usercode/limits.py). JavaScript's heap is capped at script_memory_mb.
    script_timeout_s: float = limits.DEFAULT_TIMEOUT_S
    script_memory_mb: int = limits.DEFAULT_MEMORY_MB
    max_retries: int = 4
    constraints: list[Any] = field(default_factory=list)
    phrases: dict[str, list[str]] = field(default_factory=dict)
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    rate_limits: dict[str, float] = field(default_factory=dict)  # provider label -> requests/minute
    judge: str | None = None
    embedding_model: str | None = None  # for `similar`/`answer-relevance`; default: openai:text-embedding-3-small
    alpha: float = 0.05  # significance level of the run-to-run Fisher test
    repeat_auto: bool = False  # `repeat = "auto"`: grow samples per key while the verdict is open
    repeat_max: int = 10
    source: str = "defaults"  # where the file settings came from, for error messages

    @property
    def report_path(self) -> Path:
        return (self.rootdir / self.report_dir).resolve()

    @property
    def script_limits(self) -> limits.ScriptLimits:
        return limits.ScriptLimits(timeout_s=self.script_timeout_s, memory_mb=self.script_memory_mb)


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "prompt_globs": (list,), "prompt_dirs": (list,), "cases_dirs": (list,), "promptfoo_configs": (list,),
    "models": (list, str), "model_map": (dict,), "providers": (dict,), "record_mode": (str,),
    "cassette_dir": (str,), "concurrency": (int,), "call_process": (str,), "repeat": (int, str), "pass_rate": (float, int),
    "report_dir": (str,), "keep_runs": (int,), "baseline": (str,), "max_cost": (float, int), "timeout_s": (float, int),
    "script_timeout_s": (float, int), "script_memory_mb": (int,),
    "max_retries": (int,), "constraints": (list,), "phrases": (dict,), "prices": (dict,),
    "rate_limits": (dict,), "judge": (str,), "embedding_model": (str,), "alpha": (float, int),
    "repeat_auto": (bool,), "repeat_max": (int,),
}


def find_pyproject(rootdir: Path, inipath: Path | None) -> Path | None:
    if inipath is not None and inipath.name == "pyproject.toml":
        return inipath
    candidate = rootdir / "pyproject.toml"
    return candidate if candidate.is_file() else None


def load_file_settings(rootdir: Path, inipath: Path | None = None) -> Settings:
    settings = Settings(rootdir=rootdir)
    pyproject = find_pyproject(rootdir, inipath)
    if pyproject is None:
        return settings
    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("promptcheck", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read [tool.promptcheck]: {exc}") from None
    settings.source = f"{pyproject.name} [tool.promptcheck]"
    apply(settings, table, settings.source)
    return settings


def apply(settings: Settings, values: dict[str, Any], source: str) -> None:
    known = {f.name for f in fields(Settings)} - {"rootdir", "source"}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"{source}: unknown setting '{key}'; known settings: {', '.join(sorted(known))}")
        if value is None:
            continue
        kinds = _FIELD_TYPES[name]
        if name == "repeat" and isinstance(value, str):
            set_repeat(settings, value, f"{source}: 'repeat'")
            continue
        if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
            wanted = " or ".join(k.__name__ for k in kinds)
            raise ConfigError(f"{source}: '{key}' must be {wanted}, got {type(value).__name__} {value!r}")
        if name == "models" and isinstance(value, str):
            value = split_models(value)
        if name == "providers":
            for label, table in value.items():
                problem = provider_table_problem(label, table)
                if problem:
                    raise ConfigError(f"{source}: {problem}")
        if float in kinds:
            value = float(value)
        setattr(settings, name, value)
    validate(settings, source)


def validate(settings: Settings, source: str) -> None:
    if settings.record_mode not in RECORD_MODES:
        raise ConfigError(f"{source}: record mode must be one of {', '.join(RECORD_MODES)}, got '{settings.record_mode}'")
    if settings.call_process not in CALL_PROCESS_SETTINGS:
        raise ConfigError(f"{source}: call_process must be one of {', '.join(CALL_PROCESS_SETTINGS)}, got '{settings.call_process}'")
    numbers = (("concurrency", CONCURRENCY), ("repeat", REPEAT), ("timeout_s", TIMEOUT_S), ("script_timeout_s", TIMEOUT_S), ("pass_rate", PASS_RATE))
    for name, allowed in numbers:
        problem = allowed.problem(getattr(settings, name))
        if problem:
            raise ConfigError(f"{source}: '{name}' {problem}")
    if settings.repeat_max < 1:
        raise ConfigError(f"{source}: repeat_max must be at least 1, got {settings.repeat_max}")
    if settings.keep_runs < 0:
        raise ConfigError(f"{source}: keep_runs must be 0 (keep every run) or a number of runs to keep, got {settings.keep_runs}")
    if settings.script_memory_mb < 16:
        raise ConfigError(f"{source}: script_memory_mb must be at least 16, got {settings.script_memory_mb}")
    if not 0.0 < settings.alpha < 1.0:
        raise ConfigError(f"{source}: alpha must be between 0 and 1, got {settings.alpha}")


def set_repeat(settings: Settings, text: str, where: str) -> None:
    """A sample count, or ``auto`` (start at REPEAT_AUTO_START, grow up to repeat_max)."""
    if text.strip().lower() == "auto":
        settings.repeat_auto = True
        settings.repeat = REPEAT_AUTO_START
        return
    try:
        settings.repeat = int(text)
    except ValueError:
        raise ConfigError(f"{where} must be a number of samples or 'auto', got {text!r}") from None
    settings.repeat_auto = False


def split_models(text: str) -> list[str]:
    return [m.strip() for m in text.split(",") if m.strip()]
