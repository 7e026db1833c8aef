"""Case × model → one ItemPlan: the rendered request and the full list of checks for one item.

Rendering happens here, once per case, so items carry their rendered messages (cassettes key on
them) and a template error surfaces at collection, not halfway through a run."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from collections.abc import Iterator
from typing import Any, Mapping

from promptcheck.checks.base import CheckContext
from promptcheck.checks.schemas import DIALECT, schema_error
from promptcheck.checks.registry import CheckRegistry
from promptcheck.config import Settings
from promptcheck.formats.catalog import Catalog
from promptcheck.formats.parts import built_parts, render_parts
from promptcheck.providers.base import ProviderRequest, response_schema
from promptcheck.providers.parts import Parts, joined_text
from promptcheck.providers.registry import ModelTarget, resolve_target
from promptcheck.formats.templating import TemplateError, render
from promptcheck.spec import (
    Case, CheckGroup, CheckSpec, FormatExtension, PromptSpec, ReferenceAnswer, SpecError, SpecErrors, TemplateSyntax, Turn,
)


@dataclass(frozen=True)
class TurnPlan:
    """One turn of a conversation item, rendered: what the model is told and how its answer is judged."""

    user: str | None  # None: the prompt renders the whole thread from ``variables`` and ``_conversation``
    reply: str | None  # a fixed assistant reply: the model is not asked this turn
    checks: list[CheckSpec | CheckGroup]  # every check on this turn's answer (the case's included)
    context: CheckContext
    variables: Mapping[str, Any]
    reference_output: ReferenceAnswer | None = None  # the ``reference`` model's answer to this turn


@dataclass
class ItemPlan:
    spec: PromptSpec
    case: Case
    target: ModelTarget
    messages: tuple[tuple[str, str], ...]
    checks: list[CheckSpec | CheckGroup]
    context: CheckContext
    repeat: int = 1
    repeat_max: int | None = None  # --repeat auto: grow up to this many samples (None: fixed repeat)
    pass_rate: float = 1.0
    xfail_reason: str | None = None
    skip_reason: str | None = None  # collected, never called: the item is skipped with this reason
    # The request could not be built, and the format renders at run time (promptfoo errors such a
    # row, not the config): the item is an ERROR with this message, and nothing is called.
    unrenderable: str | None = None
    markers: list[str] = field(default_factory=list)
    response_format: Mapping[str, Any] | None = None
    # A conversation: ``messages`` are the prompt's own, each turn adds to them (engine/conversation.py).
    turns: tuple[TurnPlan, ...] = ()
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: Any = None
    parts: Parts = ()  # messages written as parts (text and images), rendered, images loaded

    @property
    def case_id(self) -> str:
        return f"{self.spec.variant}-{self.case.id}" if self.spec.variant else self.case.id

    @property
    def name(self) -> str:
        return f"{self.case_id}[{self.target.label}]"

    @cached_property
    def key(self) -> str:
        """Stable across runs: what run comparisons key on. Made once: the item's result, the
        session's list of keys and every request's item id then share one string, not one
        each (~100 bytes per item, held to the end of the session)."""
        return f"{self.spec.path}::{self.name}"

    def requests(self) -> list[ProviderRequest]:
        """One call per repeat: every call the item makes unless ``--repeat auto`` asks for more.
        A conversation's calls depend on its earlier answers, so none is known ahead."""
        return [] if self.turns else [self.request(i) for i in range(self.repeat)]

    def request(
        self, repeat_index: int = 0, messages: tuple[tuple[str, str], ...] | None = None, turn: TurnPlan | None = None
    ) -> ProviderRequest:
        """The call of one repeat; of one conversation ``turn`` when given, with the thread so far."""
        params = {**self.target.options.get("params", {}), **self.spec.params}
        return ProviderRequest(
            provider=self.target.provider,
            model=self.target.model,
            label=self.target.label,
            messages=self.messages if messages is None else messages,
            params=params,
            response_format=self.response_format,
            repeat_index=repeat_index,
            reference_output=self.case.reference_output if turn is None else turn.reference_output,
            item_id=self.key,
            tools=self.tools,
            tool_choice=self.tool_choice,
            parts=self.parts,
        )


def model_labels(spec: PromptSpec, settings: Settings, case: Case | None = None) -> list[str]:
    """--models wins over the file; a case may name its own models."""
    if settings.models:
        return list(settings.models)
    return list(case.models) if case is not None and case.models else list(spec.models)


def plan_items(
    spec: PromptSpec, settings: Settings, project_constraints: list[CheckSpec], checks: CheckRegistry | None = None
) -> list[ItemPlan]:
    """Every item of one prompt spec, its checks run with ``checks`` (default: the built-in
    types); raises SpecErrors naming each case that cannot render."""
    errors: list[SpecError] = []
    plans: list[ItemPlan] = []
    # Made once per model and prompt, not per case: the items of a model share one target (and
    # the phrases their contexts), which every item held a copy of to the end of the session.
    targets_by_label: dict[str, ModelTarget] = {}
    phrases = {k: tuple(v) for k, v in settings.phrases.items()}
    for case in spec.cases:
        targets = [
            targets_by_label.get(raw) or targets_by_label.setdefault(raw, spec_target(spec, raw, settings))
            for raw in model_labels(spec, settings, case)
        ]
        unrenderable = None
        turns: tuple[TurnPlan, ...] = ()
        try:
            messages, case_checks, context = _render_case(spec, case, project_constraints, settings, checks, phrases)
            messages, parts = _render_parts(spec, messages, context)
            turns = tuple(_render_turn(spec, case, turn, case_checks, context, project_constraints) for turn in case.turns)
            if case.turns and case.turns[0].answers_prompt:
                messages, turns = _answering_the_prompt(messages, turns)
        except TemplateError as exc:
            if not spec.renders_at_run_time:
                errors.append(SpecError(f"case '{case.id}': {exc}", case.location or spec.location))  # type: ignore[arg-type]
                continue
            unrenderable = f"cannot render this case: {exc}"
            messages, case_checks, context, parts = (), [], CheckContext(case_vars=case.vars), ()
        for target in dict.fromkeys(targets):
            tools, tool_choice = _tools(spec, target)
            plans.append(
                ItemPlan(
                    spec=spec,
                    case=case,
                    target=target,
                    messages=messages,
                    parts=parts,
                    checks=case_checks,
                    context=_for_model(context, _ref_extension(spec, target), tools),
                    unrenderable=unrenderable,
                    response_format=_response_format(spec, target),
                    tools=tools,
                    tool_choice=tool_choice,
                    repeat=case.repeat or spec.repeat or settings.repeat,
                    # A repeat written in the file is a fixed choice; auto grows only the default.
                    repeat_max=settings.repeat_max if settings.repeat_auto and not (case.repeat or spec.repeat) else None,
                    pass_rate=_first(case.pass_rate, spec.pass_rate, settings.pass_rate),
                    xfail_reason=case.xfail.get(target.label, case.xfail.get("*")),
                    skip_reason=case.skip_reason,
                    markers=_markers([*spec.tags, *case.tags]),
                    turns=turns,
                )
            )
    plans = _with_response_schemas(plans, errors)
    if errors:
        raise SpecErrors(errors)
    return plans


def plan_file(
    catalog: Catalog, path: Path, project_constraints: list[CheckSpec]
) -> tuple[list[ItemPlan], list[SpecError]]:
    """Every item of one prompt file (a file may hold several prompts, one spec each; their variants
    keep item names unique), and the file's warnings. Raises SpecErrors with every problem."""
    specs, warnings = catalog.load_all(path)
    plans: list[ItemPlan] = []
    errors: list[SpecError] = []
    for spec in specs:
        try:
            plans += plan_items(spec, catalog.settings, project_constraints, catalog.checks)
        except SpecErrors as exc:
            errors += exc.errors
    if errors:
        raise SpecErrors(errors)
    return plans, warnings


def spec_target(spec: PromptSpec, raw: str, settings: Settings) -> ModelTarget:
    """A model as the spec names it: a label of the file's own may stand for another model (two
    of a file's models may share one), with settings over the project's."""
    ref = spec.model_refs.get(raw)
    if ref is None:
        return resolve_target(raw, settings)
    target = resolve_target(ref.provider_id, settings)
    options = dict(target.options)
    options["params"] = {**options.get("params", {}), **ref.params}
    connection = (("base_url", ref.base_url), ("api_key_env", ref.api_key_env), ("api_key", ref.api_key))
    options.update((name, value) for name, value in connection if value)
    options.update(ref.options)
    if ref.headers:
        options["headers"] = {**options.get("headers", {}), **ref.headers}
    return replace(target, label=raw, options=options)


def _ref_extension(spec: PromptSpec, target: ModelTarget) -> FormatExtension | None:
    ref = spec.model_refs.get(target.label)
    return ref.extension if ref is not None else None


def _response_format(spec: PromptSpec, target: ModelTarget) -> Mapping[str, Any] | None:
    ref = spec.model_refs.get(target.label)
    return ref.response_format if ref is not None and ref.response_format is not None else spec.response_format


def _with_response_schemas(plans: list[ItemPlan], errors: list[SpecError]) -> list[ItemPlan]:
    """Each item's context gets the response schema its model is asked for (matches-response-schema
    reads it); an item whose check has none to read is dropped, and ``errors`` says why, once."""
    kept: list[ItemPlan] = []
    seen = {str(error) for error in errors}
    for plan in plans:
        problem = _response_schema_problem(plan.checks, plan.response_format, plan.target, plan.spec)
        if problem is None:
            schema = response_schema(plan.response_format)
            if schema is not plan.context.response_schema:  # else the case's context stays shared
                plan.context = replace(plan.context, response_schema=schema)
            kept.append(plan)
        elif str(problem) not in seen:  # one error per check and model, not per case
            seen.add(str(problem))
            errors.append(problem)
    return kept


def _response_schema_problem(
    checks: list[CheckSpec | CheckGroup], response_format: Mapping[str, Any] | None, target: ModelTarget, spec: PromptSpec
) -> SpecError | None:
    """Why ``matches-response-schema`` cannot run for this model: the prompt gives it no response
    schema, or one that is not a schema (found here, where every format's response_format ends up)."""
    check = next(_flat(checks, "matches-response-schema"), None)
    if check is None:
        return None
    schema = response_schema(response_format)
    if schema is None:
        return SpecError(
            f"matches-response-schema: the prompt declares no response schema for model '{target.label}' "
            "(declare responseFormat: json_schema with jsonSchema)",
            check.location or spec.location,  # type: ignore[arg-type]
        )
    if (problem := schema_error(schema)) is not None:
        return SpecError(f"the response schema is not valid {DIALECT}: {problem}", check.location or spec.location)  # type: ignore[arg-type]
    return None


def _flat(checks: list[CheckSpec | CheckGroup], kind: str) -> Iterator[CheckSpec]:
    for check in checks:
        if isinstance(check, CheckGroup):
            yield from _flat(check.checks, kind)
        elif check.type == kind:
            yield check


def _tools(spec: PromptSpec, target: ModelTarget) -> tuple[tuple[Mapping[str, Any], ...], Any]:
    """A model's own tools (a promptfoo provider's config) win over the prompt's."""
    ref = spec.model_refs.get(target.label)
    if ref is not None and ref.tools is not None:
        return ref.tools, ref.tool_choice
    return tuple(spec.tools), spec.tool_choice


def _render_parts(
    spec: PromptSpec, messages: tuple[tuple[str, str], ...], context: CheckContext
) -> tuple[tuple[tuple[str, str], ...], Parts]:
    """The parts of messages written as parts, rendered with the case's variables, or (promptfoo
    chats built per case) read back from the built messages; images loaded (raises TemplateError
    naming one that cannot be used). Their text replaces the message's."""
    written = [(i, m.parts) for i, m in enumerate(spec.messages) if m.parts]
    base = Path(context.base_dir or ".")
    if written and len(spec.messages) == len(messages):
        parts: Parts = tuple((i, render_parts(p, dict(context.case_vars), base)) for i, p in written)
    elif spec.message_builder is not None:  # promptfoo's chats rendered as a whole: parts arrive as JSON
        found = ((i, built_parts(text, base)) for i, (_, text) in enumerate(messages))
        parts = tuple((i, p) for i, p in found if p is not None)
    else:
        return messages, ()
    texts = dict((i, joined_text(p)) for i, p in parts)
    return tuple((role, texts.get(i, text)) for i, (role, text) in enumerate(messages)), parts


def _first(*values: float | None) -> float:
    return next(v for v in values if v is not None)  # type: ignore[return-value]


def _for_model(context: CheckContext, extension: FormatExtension | None, tools: tuple[Mapping[str, Any], ...]) -> CheckContext:
    """The case's context as one model's item sees it; the case's own when nothing differs (one
    context per item was ~200 bytes held to the end of the session)."""
    if extension is context.model_extension and tools == context.tools:
        return context
    return replace(context, model_extension=extension, tools=tools)


_NO_MARKERS: list[str] = []


def _markers(tags: list[str]) -> list[str]:
    # Most items have no tags: they share one empty list (nothing appends to an item's markers).
    return list(dict.fromkeys(tags)) if tags else _NO_MARKERS


def _render_case(
    spec: PromptSpec, case: Case, project_constraints: list[CheckSpec], settings: Settings, registry: CheckRegistry | None,
    phrases: Mapping[str, tuple[str, ...]],
) -> tuple[tuple[tuple[str, str], ...], list[CheckSpec | CheckGroup], CheckContext]:
    # The case's own variables unless `expected` joins them: a copy per item was held to the end
    # of the session by its context. Nothing writes to them (render and the checks only read).
    variables: dict[str, Any] = case.vars
    if case.expected is not None and "expected" not in variables:
        variables = {**case.vars, "expected": case.expected}
    messages = thread_messages(spec, variables)  # raises TemplateError
    checks: list[CheckSpec | CheckGroup] = [_render_check(c, variables, spec.template_syntax) for c in [*spec.checks, *case.checks]]
    if not case.expects_error:
        # Constraints describe a real answer; an expected error object is judged by the error rule alone.
        checks += [_render_check(c, variables, spec.template_syntax) for c in project_constraints + spec.constraints]
        if case.expected is not None:
            checks.append(CheckSpec(type="expected", value=case.expected, name=f"expected: {_short(case.expected)}"))
    if case.expects_error or spec.error_json is not None:
        checks.append(CheckSpec(type="error-json", name="error-json rule"))
    context = CheckContext(
        case_vars=variables,
        expected=case.expected,
        error_json=spec.error_json,
        expects_error=case.expects_error,
        messages=messages,
        phrases=phrases,
        base_dir=str(settings.rootdir / spec.path.rsplit("/", 1)[0]) if "/" in spec.path else str(settings.rootdir),
        registry=registry,
    )
    return messages, checks, context


def _render_turn(
    spec: PromptSpec, case: Case, turn: Turn, case_checks: list[CheckSpec | CheckGroup], context: CheckContext,
    project_constraints: list[CheckSpec],
) -> TurnPlan:
    """The checks outside ``turns:`` (the prompt's, the case's, constraints) judge every answer;
    a turn's own checks judge its answer alone."""
    if turn.user is not None or turn.answers_prompt:
        variables = dict(context.case_vars)
        user = render(turn.user, variables) if turn.user is not None else ""
        checks = case_checks + [_render_check(c, variables, spec.template_syntax) for c in turn.checks]
        return TurnPlan(user, turn.reply, checks, context, variables, turn.reference_output)
    # A promptfoo test of a thread: its own vars, its own asserts, the whole prompt rendered per turn.
    variables = {**case.vars, **turn.vars}
    shared = spec.checks + project_constraints + spec.constraints
    checks = [_render_check(c, variables, spec.template_syntax) for c in shared + turn.checks]
    return TurnPlan(None, None, checks, replace(context, case_vars=variables), variables, turn.reference_output)


def _answering_the_prompt(
    messages: tuple[tuple[str, str], ...], turns: tuple[TurnPlan, ...]
) -> tuple[tuple[tuple[str, str], ...], tuple[TurnPlan, ...]]:
    """A first turn without ``user`` asks the prompt's own last message, the user's: it becomes
    that turn's, so the first call sends the prompt's messages as they are."""
    if not messages or messages[-1][0] != "user":
        raise TemplateError("turn 1 has no 'user', so the model answers the prompt's own messages, but they do not end with a user message")
    return messages[:-1], (replace(turns[0], user=messages[-1][1]), *turns[1:])


def thread_messages(spec: PromptSpec, variables: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The prompt's messages rendered with ``variables`` (raises TemplateError)."""
    if spec.message_builder is not None:
        return tuple(spec.message_builder(variables))
    return tuple((m.role, render(m.content, variables, syntax=spec.template_syntax)) for m in spec.messages)


def _render_check(check: CheckSpec | CheckGroup, variables: dict[str, Any], syntax: TemplateSyntax) -> CheckSpec | CheckGroup:
    if isinstance(check, CheckGroup):
        return replace(check, checks=[_render_check(c, variables, syntax) for c in check.checks])
    return replace(check, value=_render_value(check.value, variables, syntax))


def _render_value(value: Any, variables: dict[str, Any], syntax: TemplateSyntax) -> Any:
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return render(value, variables, syntax=syntax)
    if isinstance(value, list):
        return [_render_value(v, variables, syntax) for v in value]
    return value


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
