"""The typed model every format reader produces; nothing downstream knows the source format."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Literal, Mapping

TemplateSyntax = Literal["jinja", "nunjucks"]


@dataclass(frozen=True)
class Location:
    """Where something was declared; line/col are 1-based and optional."""

    path: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        if self.col is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.col}"


class SpecError(Exception):
    """One problem in a spec file, rendered as ``path:line:col: message``."""

    def __init__(self, message: str, location: Location) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class SpecErrors(Exception):
    """Every problem found in one file, so a user fixes them in one pass."""

    def __init__(self, errors: list[SpecError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class MessagePart:
    """One part of a message written as a list of parts: ``text`` or ``image_url`` (whose
    ``value`` is the URL). Both are Jinja2 templates until rendered."""

    type: str
    value: str


@dataclass(frozen=True)
class Message:
    role: str
    content: str  # a Jinja2 template until rendered; with parts, their text parts joined
    parts: tuple[MessagePart, ...] = ()


@dataclass(frozen=True)
class Variable:
    name: str
    description: str = ""
    required: bool = False


@dataclass
class CheckSpec:
    """One declared check. ``type`` is a registry name without the ``not-`` prefix."""

    type: str
    value: Any = None
    negate: bool = False
    weight: float = 1.0
    threshold: float | None = None
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    location: Location | None = None
    metric: str | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        prefix = "not-" if self.negate else ""
        if self.value is None or isinstance(self.value, (dict, list)):
            return f"{prefix}{self.type}"
        shown = str(self.value)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        return f"{prefix}{self.type}: {shown}"


@dataclass
class CheckGroup:
    """promptfoo's ``assert-set``: nested checks scored together with their own threshold."""

    checks: list[CheckSpec | CheckGroup]
    threshold: float | None = None
    weight: float = 1.0
    name: str | None = None
    metric: str | None = None


class FormatExtension:
    """Data only one file format has. A reader puts it on a spec's case or model, everything in
    between carries it untouched, and only that format's reader and the checks that need it read it."""


@dataclass(frozen=True)
class PromptfooTestOptions(FormatExtension):
    """A promptfoo test's own ``provider``, as written: the reader resolves it once the config's
    providers are known."""

    provider: Any = None


@dataclass(frozen=True)
class PromptfooProviderConfig(FormatExtension):
    """A promptfoo provider's ``config`` as written. promptfoo's tool-call checks validate calls
    against its ``tools`` (or the older ``functions``)."""

    config: Mapping[str, Any]
    provider_id: str = ""  # the provider as the config names it (``openai:chat:gpt-4o``): its answers' shape

    @property
    def tools(self) -> list[Any] | None:
        tools = self.config.get("tools", self.config.get("functions"))
        return tools if isinstance(tools, list) else None


@dataclass(frozen=True)
class ModelRef:
    """What a prompt file says about one of its models beyond its label: the model it resolves to
    (like a ``--models`` name) and settings that override the project's provider settings."""

    provider_id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    base_url: str | None = None
    api_key_env: str | None = None
    api_key: str | None = None  # promptfoo's config.apiKey, as written (it may be "{{ env.X }}")
    headers: Mapping[str, str] | None = None
    response_format: Mapping[str, Any] | None = None
    extension: FormatExtension | None = None
    # Provider options under their providers-table names (api_version, region, project_id): a
    # provider type reads those it knows, as from [tool.promptcheck.providers.<label>].
    options: Mapping[str, str] = field(default_factory=dict)
    # Its own declared tools (promptfoo's config.tools) in OpenAI function form, and tool_choice;
    # None: the prompt's own.
    tools: tuple[Mapping[str, Any], ...] | None = None
    tool_choice: Any = None


@dataclass(frozen=True)
class ToolCall:
    """One tool call in an answer, in every provider's wire format alike."""

    name: str
    arguments: str  # the JSON text of the arguments, as the model wrote it
    id: str = ""


@dataclass(frozen=True)
class ReferenceAnswer:
    """What the ``reference`` model answers: a case's (or a turn's) ``output:``. With tool calls,
    its first answer makes them; asked again with their results (a simulated agent loop), it
    answers ``text`` alone, as a model that got what it asked for."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass
class Turn:
    """One turn of a conversation case: a user message the model answers, unless the turn gives
    the assistant's ``reply`` itself. ``user`` is None when the prompt renders the whole thread
    from ``_conversation`` (promptfoo), with this turn's own ``vars`` over the case's."""

    user: str | None  # a Jinja2 template until rendered
    checks: list[CheckSpec | CheckGroup] = field(default_factory=list)
    reply: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    location: Location | None = None
    reference_output: ReferenceAnswer | None = None  # the ``reference`` model's answer to this turn
    # The first turn of a case may leave out ``user``: the model answers the prompt's own
    # messages, whose last is the user's (rendered from the case's inputs), and the thread goes on.
    answers_prompt: bool = False


# A case's empty checks, tags, expected failures and simulated tools: most cases (a GitHub
# Models row, a promptfoo test) have none, and an empty list or dict of their own per case was
# ~240 bytes held to the end of a session (docs/benchmarks.md, rss3). Read-only, so shareable.
NOTHING: Mapping[str, Any] = MappingProxyType({})


def _nothing() -> Mapping[str, Any]:
    return NOTHING  # a factory only because dataclasses refuse an unhashable default


@dataclass
class Case:
    id: str
    vars: dict[str, Any] = field(default_factory=dict)
    expected: str | None = None
    checks: Sequence[CheckSpec | CheckGroup] = ()
    repeat: int | None = None
    pass_rate: float | None = None
    threshold: float | None = None  # promptfoo test-level threshold over the weighted score
    reference_output: ReferenceAnswer | None = None  # the answer the ``reference`` provider returns
    xfail: Mapping[str, str] = field(default_factory=_nothing)  # model label (or "*") -> reason
    description: str | None = None
    tags: Sequence[str] = ()
    explicit_id: bool = False  # derived ids may be disambiguated, explicit ones may not
    location: Location | None = None
    models: list[str] | None = None  # this case's own models (raw names, as in PromptSpec.models)
    skip_reason: str | None = None  # collected but not run: shown as the skip reason
    # A function (file://x.py:fn or x.js:fn) that replaces the weighted mean of the checks' scores
    # with its own verdict (promptfoo's assertScoringFunction).
    scoring: str | None = None
    extension: FormatExtension | None = None
    # A conversation: the model answers each turn in order, seeing the answers before it.
    turns: list[Turn] = field(default_factory=list)
    # Simulated tools (engine/toolsim.py): tool name -> the result the model gets back (a fixed
    # value, or "python:module:function"); the loop runs up to max_tool_rounds extra calls.
    tool_results: Mapping[str, Any] = field(default_factory=_nothing)
    max_tool_rounds: int | None = None

    @property
    def expects_error(self) -> bool:
        return self.expected is not None and self.expected.strip().lower() == "error"


@dataclass
class PromptSpec:
    name: str
    path: str  # posix path relative to the rootdir; part of every item key
    messages: list[Message]
    models: list[str] = field(default_factory=list)  # raw model names as written in the file
    params: dict[str, Any] = field(default_factory=dict)  # normalised: temperature, max_tokens, top_p, stop, ...
    response_format: dict[str, Any] | None = None  # OpenAI-style response_format
    variables: list[Variable] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    checks: list[CheckSpec | CheckGroup] = field(default_factory=list)  # applied to every case
    constraints: list[CheckSpec] = field(default_factory=list)  # negative constraints, every case
    error_json: dict[str, Any] | None = None
    description: str = ""
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    repeat: int | None = None
    pass_rate: float | None = None
    format: str = "ghmodels"  # which reader produced it; informative only
    location: Location | None = None
    # A file that holds several prompts (a promptfoo config) makes one spec per prompt, a
    # "variant" whose label is added to the case id. None for single-prompt files.
    variant: str | None = None
    # Models the file declares with settings of their own, by the label in ``models``.
    model_refs: dict[str, ModelRef] = field(default_factory=dict)
    # When set, a case's messages come from this call on its vars instead of rendering each of
    # ``messages``: for prompts whose message list is itself templated or computed by code.
    # It raises render.TemplateError with a plain message when it cannot build them.
    message_builder: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None
    # promptfoo renders a prompt when it runs a row, so a template it cannot parse errors those
    # rows and the rest of the config still runs; other formats report it when collecting.
    renders_at_run_time: bool = False
    # How templates look up members: "nunjucks" (promptfoo) as JavaScript does, where a string's
    # or list's ``.length`` is its length and a member a value lacks renders empty.
    template_syntax: TemplateSyntax = "jinja"
    # Declared tools in OpenAI function form ({type: function, function: {name, description,
    # parameters}}), validated by formats/tooldecl.py, and the tool_choice as written.
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None

    @property
    def required_variables(self) -> list[str]:
        return [v.name for v in self.variables if v.required]
