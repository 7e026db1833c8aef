"""The check registry. Each check type is one small function; negation, weights and
thresholds are applied here, generically, so no check implements them itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from promptcheck.spec import CheckSpec

if TYPE_CHECKING:
    from promptcheck.providers.base import ProviderResponse

# Model-graded checks reach the judge through these; the session supplies them (same pool,
# cassettes, retries and cost accounting as model calls). None: no judge configured.
JudgeFn = Callable[[list[tuple[str, str]]], "ProviderResponse"]
EmbedFn = Callable[[list[str]], list[list[float]]]


class CheckError(Exception):
    """The check could not reach a verdict (the judge failed, or its reply cannot be parsed).
    Unlike a crash, this makes the item an ERROR showing the message, never a silent fail."""


@dataclass(frozen=True)
class Verdict:
    passed: bool
    score: float
    reason: str
    span: tuple[int, int] | None = None  # offending (or, for a positive match, matched) chars
    skipped: bool = False  # the check could not run (e.g. model-graded checks before a judge exists)


@dataclass
class CheckContext:
    """What a check may look at besides the answer text."""

    case_vars: Mapping[str, Any] = field(default_factory=dict)
    expected: str | None = None
    error_json: Mapping[str, Any] | None = None
    expects_error: bool = False
    messages: tuple[tuple[str, str], ...] = ()  # rendered (role, content)
    latency_s: float | None = None
    cost: float | None = None
    phrases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # extra constraint phrases
    base_dir: str = "."  # for file:// references in check values
    tools: Sequence[Any] | None = None  # the item's provider's ``tools`` config (promptfoo's tool-call checks)
    judge: JudgeFn | None = None
    embed: EmbedFn | None = None


CheckFn = Callable[[str, CheckSpec, CheckContext], Verdict]
Validator = Callable[[CheckSpec], None]  # raises ValueError with a user-facing message


@dataclass(frozen=True)
class CheckType:
    name: str
    run: CheckFn
    validate: Validator | None = None


CHECKS: dict[str, CheckType] = {}


def register(name: str, validate: Validator | None = None) -> Callable[[CheckFn], CheckFn]:
    def decorator(fn: CheckFn) -> CheckFn:
        CHECKS[name] = CheckType(name, fn, validate)
        return fn

    return decorator


def known_check_types() -> list[str]:
    _load_builtin_checks()
    return sorted(CHECKS)


def _load_builtin_checks() -> None:
    # Importing registers the built-ins; done lazily so registry.py has no import cycle.
    from promptcheck.checks import builtin, constraints, errorjson, graded, promptfoo_checks  # noqa: F401


def quote(text: str, limit: int = 60) -> str:
    """Show answer text inside a reason: single-quoted, one line, cut to ``limit`` chars."""
    shown = text.replace("\r", "").replace("\n", "\\n")
    if len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return f"'{shown}'"


def lookup(name: str) -> CheckType:
    _load_builtin_checks()
    return CHECKS[name]
