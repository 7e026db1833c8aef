"""promptfoo configs: prompts x providers x tests -> one PromptSpec per prompt.

Prompts become spec ``messages`` (a chat prompt is a JSON list of {role, content}),
providers become the spec's models (with label and mapped config), ``defaultTest`` is merged
into every test, ``evaluateOptions`` sets repeats and notes concurrency."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from promptcheck.formats.cases import slugify
from promptcheck.formats.fields import Problems, type_name
from promptcheck.formats.parts import PartsError, is_openai_parts, parse_parts, parts_message
from promptcheck.formats.promptfoo.nunjucks import to_jinja
from promptcheck.formats.promptfoo.providers import PARAM_KEYS, add_provider, apply_test_provider, read_providers
from promptcheck.formats.promptfoo.refs import (
    SCRIPT_SUFFIXES, RefError, expand, is_ref, load_value, mapping_or_ref, read_data, read_text, split_function,
    strip_ref,
)
from promptcheck.formats.promptfoo.dynamic import Builder, filtered_builder, function_builder, read_filters, template_builder
from promptcheck.formats.promptfoo.scenarios import scenario_tests
from promptcheck.formats.promptfoo.tests import build_cases, raw_tests
from promptcheck.formats.templating import Filters, TemplateError
from promptcheck.ranges import CONCURRENCY, REPEAT
from promptcheck.spec import Location, Message, PromptSpec

KNOWN_KEYS = {
    "description", "prompts", "providers", "targets", "tests", "defaultTest", "evaluateOptions", "outputPath",
    "sharing", "metadata", "env", "tags", "writeLatestResults", "commandLineOptions", "$schema", "version",
    "assertionTemplates", "scenarios", "nunjucksFilters",
}
# Ignored with a warning: they change reporting or side effects, not what is asked or judged.
IGNORED_KEYS = (
    "outputPath", "sharing", "env", "writeLatestResults", "commandLineOptions", "extensions", "tracing", "derivedMetrics",
)
# An error: without them the config would test something else than the user wrote.
UNSUPPORTED_KEYS = {
    "redteam": "red-team generation ('redteam')",
}

@dataclass
class Prompt:
    label: str
    messages: list[Message]
    config: dict[str, Any] = field(default_factory=dict)
    template: str | None = None  # a chat whose message list is templated: rendered whole per case
    function: str | None = None  # a prompt function (file://x.py:fn), called per case


def read_config(data: Any, path: str, base: Path, problems: Problems) -> list[PromptSpec]:
    if not isinstance(data, dict):
        problems.error(f"a promptfoo config must be a mapping, got {type_name(data)}", problems.at_root(data))
        problems.raise_if_any()
    for key, feature in UNSUPPORTED_KEYS.items():
        if key in data:
            problems.error(f"unsupported feature: {feature}", problems.at_key(data, key))
    ignored = [k for k in data if k in IGNORED_KEYS]
    unknown = sorted(str(k) for k in data if k not in KNOWN_KEYS and k not in IGNORED_KEYS and k not in UNSUPPORTED_KEYS)
    if ignored or unknown:
        problems.warn(f"ignoring promptfoo key(s): {', '.join(ignored + unknown)}", problems.at(data))
    prompts = read_prompts(data.get("prompts"), problems, problems.at_key(data, "prompts"), base)
    providers = read_providers(data.get("providers", data.get("targets")), problems, data, base)
    data = resolve_refs(data, data, problems)
    default = mapping_or_ref(data.get("defaultTest"), "defaultTest", problems, problems.at_key(data, "defaultTest"), base)
    tests = raw_tests(data.get("tests"), problems, problems.at_key(data, "tests"), base)
    tests += scenario_tests(data.get("scenarios"), problems, problems.at_key(data, "scenarios"), base)
    if not tests and "tests" not in data and "scenarios" not in data:
        problems.warn("has no tests: nothing to run (promptfoo runs nothing for it either); add a 'tests' list", problems.at(data))
    filters = _filters(data, problems, base)
    warned: set[str] = set()
    description = data.get("description") if isinstance(data.get("description"), str) else ""
    options = _evaluate_options(data, problems)
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    variants = _variants([p.label for p in prompts]) if len(prompts) > 1 else [None] * len(prompts)
    specs = []
    for prompt, variant in zip(prompts, variants):
        chosen = [p for p in providers if p.prompts is None or prompt.label in p.prompts]
        spec = PromptSpec(
            name=prompt.label if variant else (description or stem), path=path, messages=prompt.messages,
            description=description, format="promptfoo", location=Location(path, 1, 1), variant=variant,
            renders_at_run_time=True, template_syntax="nunjucks",
            cases=build_cases(tests, default, problems, base, prompt.label, _text(prompt), _uses_conversation(prompt)),
            repeat=options.get("repeat") if isinstance(options.get("repeat"), int) else None,
            message_builder=_builder(prompt, base, filters),
        )
        for case in spec.cases:
            apply_test_provider(spec, case, providers, problems, base, warned)
        if "maxConcurrency" in options:
            spec.metadata["maxConcurrency"] = options["maxConcurrency"]
        _apply_prompt_config(spec, prompt.config, base, problems)
        for provider in chosen:
            add_provider(spec, provider)
        specs.append(spec)
    if not prompts and "prompts" not in data:
        problems.error("the config has no 'prompts'", Location(path, 1, 1))
    return specs


def _evaluate_options(data: dict[str, Any], problems: Problems) -> dict[str, Any]:
    """``evaluateOptions`` with its counts checked: an out-of-range one is an error at its line."""
    options = data.get("evaluateOptions")
    if not isinstance(options, dict):
        return {}
    checked = dict(options)
    for key, allowed in (("repeat", REPEAT), ("maxConcurrency", CONCURRENCY)):
        problem = None if options.get(key) is None else allowed.problem(options[key])
        if problem:
            problems.error(f"evaluateOptions.{key} {problem}", problems.at_key(options, key))
            checked.pop(key)
    return checked


def _filters(data: dict[str, Any], problems: Problems, base: Path) -> Filters:
    if "nunjucksFilters" not in data:
        return ()
    filters, errors = read_filters(data["nunjucksFilters"], base)
    for error in errors:
        problems.error(error, problems.at_key(data, "nunjucksFilters"))
    return filters


def _builder(prompt: Prompt, base: Path, filters: Filters) -> Builder | None:
    """How a case's messages are made when rendering each message on its own is not enough."""
    if prompt.function:
        return function_builder(prompt.function, base)
    if prompt.template:
        return _naming(prompt.label, template_builder(prompt.template, filters))
    return filtered_builder(prompt.messages, filters) if filters else None


def _naming(label: str, builder: Builder) -> Builder:
    """The builder, its errors naming the prompt: a config may have several."""

    def build(variables: dict[str, Any]) -> list[tuple[str, str]]:
        try:
            return builder(variables)
        except TemplateError as exc:
            raise TemplateError(f"prompt {label!r}: {exc}") from None

    return build


def _text(prompt: Prompt) -> str:
    """The prompt as promptfoo hands it to var scripts: its raw template text."""
    return prompt.template or prompt.function or "\n".join(m.content for m in prompt.messages)


def _uses_conversation(prompt: Prompt) -> bool:
    return any("_conversation" in m.content for m in prompt.messages)


def resolve_refs(node: Any, root: dict[str, Any], problems: Problems) -> Any:
    """Local JSON references (``$ref: '#/assertionTemplates/x'``) replaced by their target."""
    if isinstance(node, list):
        node[:] = [resolve_refs(v, root, problems) for v in node]  # in place: YAML marks stay attached
        return node
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        if target is None:
            problems.error(f"'$ref: {ref}' points at nothing in this config", problems.at(node))
            return node
        return resolve_refs(target, root, problems)
    for key, value in node.items():
        node[key] = resolve_refs(value, root, problems)
    return node


def _variants(labels: list[str]) -> list[str]:
    """Unique, id-safe prompt variant names: the slug of each label, numbered on collision."""
    seen: dict[str, int] = {}
    out = []
    for index, label in enumerate(labels):
        slug = slugify(label, 4, 32) or f"prompt-{index + 1}"
        seen[slug] = seen.get(slug, 0) + 1
        out.append(slug if seen[slug] == 1 else f"{slug}-{seen[slug]}")
    return out


# -- prompts -------------------------------------------------------------------------------------


def read_prompts(node: Any, problems: Problems, where: Location, base: Path) -> list[Prompt]:
    if node is None:
        return []
    items = node if isinstance(node, list) else [node]
    prompts: list[Prompt] = []
    for index, item in enumerate(items):
        at = problems.at_item(node, index) if isinstance(node, list) else where
        try:
            prompts += _prompt(item, problems, at, base)
        except RefError as exc:
            problems.error(f"prompt: {exc}", at)
    return prompts


def _prompt(item: Any, problems: Problems, at: Location, base: Path) -> list[Prompt]:
    if isinstance(item, str):
        if _names_file(item, base):
            return _prompts_from_files(item, None, base, problems, at)
        return [_from_text(item, item.strip(), problems, at)]
    if not isinstance(item, dict):
        problems.error(f"a prompt must be a string or a mapping, got {type_name(item)}", at)
        return []
    label = item.get("label") if isinstance(item.get("label"), str) else None
    config = dict(item["config"]) if isinstance(item.get("config"), dict) else {}
    if isinstance(item.get("messages"), list):
        messages = [_message(m, base, problems, at) for m in item["messages"]]
        return [Prompt(label or "chat", [m for m in messages if m], config)]
    source = item.get("raw", item.get("id"))
    if not isinstance(source, str):
        problems.error("a prompt mapping needs 'raw' or 'id' (text or file://)", at)
        return []
    if "raw" not in item and _names_file(source, base):
        found = _prompts_from_files(source, label, base, problems, at)
        return [replace(p, config={**p.config, **config}) for p in found]
    prompt = _from_text(source, label or source.strip(), problems, at)
    return [replace(prompt, config=config)]


def _names_file(text: str, base: Path) -> bool:
    if is_ref(text):
        return True
    # promptfoo also reads a bare existing path or glob such as `prompts.txt` or `*.txt`.
    return "\n" not in text and "{{" not in text and text.rsplit(".", 1)[-1] in ("txt", "md", "json", "yaml", "yml", "j2", "csv", "jsonl") and bool(list(base.glob(text)))


def _prompts_from_files(ref: str, label: str | None, base: Path, problems: Problems, at: Location) -> list[Prompt]:
    prompts = []
    path_part = ref.removeprefix("file://")
    if path_part.rsplit(":", 1)[0].endswith(SCRIPT_SUFFIXES) or path_part.endswith(SCRIPT_SUFFIXES):
        return [_prompt_function(ref, label, base)]
    for path in expand(ref, base):
        name = label or path.name
        suffix = path.suffix.lower()
        if suffix == ".txt":
            # promptfoo splits a .txt file into several prompts on lines of ---
            parts = [p.strip() for p in read_text(path).split("\n---\n") if p.strip()]
            prompts += [_from_text(p, name if len(parts) == 1 else f"{name}: {p}", problems, at) for p in parts]
        elif suffix == ".csv":
            for row in read_data(path):
                text = row.get("prompt") or next(iter(row.values()), "")
                prompts.append(_from_text(text, row.get("label") or text, problems, at))
        elif suffix == ".jsonl":
            lines = [line for line in read_text(path).splitlines() if line.strip()]
            prompts += [_from_text(line, name if len(lines) == 1 else f"{name}:{i + 1}", problems, at) for i, line in enumerate(lines)]
        elif suffix in (".yaml", ".yml"):
            data = read_data(path)
            prompts.append(_from_text(json.dumps(data) if isinstance(data, list) else str(data), name, problems, at))
        else:  # .json, .md, .j2 and other text: the whole file is one prompt
            prompts.append(_from_text(read_text(path), name, problems, at))
    return prompts


def _from_text(text: str, label: str, problems: Problems, at: Location) -> Prompt:
    """A prompt's text: a JSON list of {role, content} is a chat; anything else is one user message."""
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            data = json.loads(stripped)
        except ValueError:
            if "{%" in stripped or "{{" in stripped:
                # Only valid JSON once rendered: promptfoo renders the whole text per test first.
                template = to_jinja(text)
                return Prompt(label, [Message("user", template)], template=template)
            data = None
        if isinstance(data, list) and data and all(isinstance(m, dict) and "role" in m for m in data):
            messages = [_chat_message(str(m["role"]), m.get("content", m.get("parts", ""))) for m in data]
            return Prompt(label, messages)
    return Prompt(label, [Message("user", to_jinja(text))])


def _prompt_function(ref: str, label: str | None, base: Path) -> Prompt:
    """``file://prompt.py:fn`` / ``file://prompt.js``: checked now, called per case."""
    path_part, name = split_function(ref)
    if not path_part.endswith((".py", ".js", ".cjs", ".mjs")):
        raise RefError(f"unsupported feature: prompt functions in {Path(path_part).suffix} files ({path_part}); "
                       "use Python or JavaScript")
    path = expand(path_part, base)[0]  # raises RefError naming a missing file
    absolute = f"file://{path}" + (f":{name}" if name else "")
    return Prompt(label or strip_ref(ref), [], function=absolute)


def _content(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _message(node: Any, base: Path, problems: Problems, at: Location) -> Message | None:
    if not isinstance(node, dict) or "role" not in node:
        problems.error("each prompt message must be a {role, content} mapping", at)
        return None
    content = node.get("content", "")
    if is_ref(content):
        try:
            content = read_text(expand(content, base)[0])
        except RefError as exc:
            problems.error(f"prompt message: {exc}", at)
            return None
    return _chat_message(str(node["role"]), content)


def _chat_message(role: str, content: Any) -> Message:
    """OpenAI-form parts (text, image_url) become parts; other content lists (Gemini's
    ``parts``, other APIs' blocks) are sent as their JSON text, as before."""
    if is_openai_parts(content):
        try:
            return parts_message(role, parse_parts(content), to_jinja)
        except PartsError:
            pass  # a malformed part: sent as written, as promptfoo would
    return Message(role, to_jinja(_content(content)))


def _apply_prompt_config(spec: PromptSpec, config: dict[str, Any], base: Path, problems: Problems) -> None:
    spec.params.update({PARAM_KEYS[k]: v for k, v in config.items() if k in PARAM_KEYS})
    if "response_format" in config:
        try:
            value = load_value(config["response_format"], base)
        except RefError as exc:
            problems.error(f"prompt config 'response_format': {exc}", spec.location)
            return
        if isinstance(value, dict):
            spec.response_format = value


