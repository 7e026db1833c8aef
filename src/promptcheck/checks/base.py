"""What a check function needs, and nothing else: the verdict it returns, the context it may read,
and ``CheckSet``, with which a module declares the check types it defines.

Every check module imports this one and nothing imports a check module except the registry,
so there is no import circle. A check reports only its positive outcome; ``evaluate`` applies
``not-``, weights and thresholds to every check type alike, built-in or added by a plugin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

from promptcheck.spec import CheckSpec, FormatExtension

if TYPE_CHECKING:
    from promptcheck.providers.base import ProviderResponse, ToolCall

# Model-graded checks reach the judge through these; the session supplies them (same pool,
# cassettes, retries and cost accounting as model calls). None: no judge configured.
JudgeFn = Callable[[list[tuple[str, str]]], "ProviderResponse"]
EmbedFn = Callable[[list[str]], list[list[float]]]
# The webhook check's POST, recorded like a judge call: (url, output, context) -> the webhook's
# JSON reply. Raises WebhookFailed when the webhook gave no verdict, CheckError when a verdict
# is neither recorded nor may be asked for (--record-mode=none).
WebhookFn = Callable[[str, str, Mapping[str, Any]], Mapping[str, Any]]

# Check type names appear in YAML (`- name`, `{name: value}`, `not-name`): one word, no spaces.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


class CheckError(Exception):
    """The check could not reach a verdict (the judge failed, or its reply cannot be parsed).
    Unlike a crash, this makes the item an ERROR showing the message, never a silent fail."""


class WebhookFailed(Exception):
    """The webhook could not be reached or gave no verdict: the check fails with this reason, as in promptfoo."""


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
    finish_reason: str | None = None  # normalised as promptfoo does (providers/finish.py)
    replayed: bool = False  # the answer came from a cassette
    phrases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # extra constraint phrases
    base_dir: str = "."  # for file:// references in check values
    # What the prompt file says of this item's model that only its format knows (see spec.FormatExtension).
    model_extension: FormatExtension | None = None
    # The JSON Schema the prompt asks this item's model to answer in (its response_format), if any.
    response_schema: Mapping[str, Any] | None = None
    judge: JudgeFn | None = None
    embed: EmbedFn | None = None
    webhook: WebhookFn | None = None
    # The check types of this session. None stands for the built-in registry: this module cannot
    # name it without importing every check module. ``evaluate`` fills it in before any check
    # runs, so a check that looks up another one (a promptfoo transform) always finds it set.
    registry: CheckLookup | None = None
    # The answer's tool calls, and the tools the prompt declared for this model (OpenAI function
    # form): what the tool-call checks (checks/toolcalls.py) read.
    tool_calls: tuple[ToolCall, ...] = ()
    tools: tuple[Mapping[str, Any], ...] = ()
    # The answer as the prompt's format hands it to its own scripts, when that is not its text
    # (promptfoo: a tool-calling answer's calls, as its provider returns them; see
    # checks/promptfoo_output.py). Set by ``evaluate``; None: the text.
    answer_value: Any = None


class CheckLookup(Protocol):
    """How a check finds another check type by name (``checks.registry.CheckRegistry`` is one)."""

    def get(self, name: str) -> CheckType | None: ...


CheckFn = Callable[[str, CheckSpec, CheckContext], Verdict]
Validator = Callable[[CheckSpec], None]  # raises ValueError with a user-facing message


@dataclass(frozen=True)
class CheckType:
    name: str
    run: CheckFn
    validate: Validator | None = None


def check_type(name: str, fn: CheckFn, validate: Validator | None = None) -> CheckType:
    """A CheckType, after making sure ``name`` can be written in a prompt file."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"check type name {name!r} must be one word of letters, digits, '-', '_' or '.'")
    if name.startswith("not-"):
        raise ValueError(f"check type name {name!r} must not start with 'not-': every check type can be negated with it")
    if not callable(fn):
        raise ValueError(f"check type {name!r}: the check must be a function (output, spec, ctx) -> Verdict")
    if validate is not None and not callable(validate):
        raise ValueError(f"check type {name!r}: validate must be a function (spec) -> None")
    return CheckType(name, fn, validate)


class CheckSet:
    """The check types one module defines; the registry collects the built-in modules' sets.

    ::

        CHECKS = CheckSet()

        @CHECKS.register("regex", validate=_validate_regex)
        def regex(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict: ...
    """

    def __init__(self) -> None:
        self.types: dict[str, CheckType] = {}

    def register(self, name: str, validate: Validator | None = None) -> Callable[[CheckFn], CheckFn]:
        def decorator(fn: CheckFn) -> CheckFn:
            if name in self.types:
                raise ValueError(f"check type {name!r} is declared twice")
            self.types[name] = check_type(name, fn, validate)
            return fn

        return decorator


def quote(text: str, limit: int = 60) -> str:
    """Show answer text inside a reason: single-quoted, one line, cut to ``limit`` chars."""
    shown = text.replace("\r", "").replace("\n", "\\n")
    if len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return f"'{shown}'"
