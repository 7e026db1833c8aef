"""GitHub Models prompt files (``*.prompt.yml``) and the seed's richer variant of them.

GitHub Models fields: name, description, model, modelParameters, responseFormat, jsonSchema,
messages, flat testData, evaluators (string / llm / uses). The seed adds variables, testData
entries with ``inputs:``/``expected:``, ``type: regex`` evaluators, metadata and tags.
promptcheck adds ``constraints``, ``error_json``, ``models``, ``repeat`` and ``pass_rate``."""

from __future__ import annotations

import json
from typing import Any

from promptcheck.checks.errorjson import detect_error_json
from promptcheck.checks.schemas import DIALECT, schema_error
from promptcheck.formats.cases import parse_case
from promptcheck.formats.checkdecl import parse_check, parse_checks
from promptcheck.formats.tooldecl import parse_tool_choice, parse_tools
from promptcheck.formats.fields import Problems, get, mappings, string_list, tag_list, type_name
from promptcheck.formats.parts import PartsError, parse_parts, parts_message
from promptcheck.ranges import PASS_RATE, REPEAT
from promptcheck.spec import Case, CheckGroup, CheckSpec, Location, Message, PromptSpec, Variable

ROLES = ("system", "user", "assistant", "developer")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
# GitHub Models spells parameters in camelCase; providers take the snake_case API names.
PARAM_NAMES = {
    "maxTokens": "max_tokens",
    "maxCompletionTokens": "max_completion_tokens",
    "topP": "top_p",
    "presencePenalty": "presence_penalty",
    "frequencyPenalty": "frequency_penalty",
    "stopSequences": "stop",
}
GH_STRING_CHECKS = {"equals": "gh-equals", "contains": "gh-contains", "startsWith": "gh-starts-with", "endsWith": "gh-ends-with"}
KNOWN_KEYS = {
    "name", "description", "model", "models", "modelParameters", "responseFormat", "jsonSchema", "messages",
    "testData", "evaluators", "variables", "metadata", "tags", "version", "authors", "requires_context",
    "constraints", "error_json", "repeat", "pass_rate", "id", "checks", "tools", "tool_choice", "toolChoice",
}


def read_prompt(data: Any, path: str, problems: Problems) -> PromptSpec:
    if not isinstance(data, dict):
        problems.error(f"a prompt file must be a mapping of fields, got {type_name(data)}", problems.at_root(data))
        problems.raise_if_any()
    unknown = sorted(set(map(str, data)) - KNOWN_KEYS)
    if unknown:
        problems.warn(f"ignoring unknown field(s): {', '.join(unknown)}", problems.at(data))
    messages = _messages(data, problems)
    spec = PromptSpec(
        name=get(data, "name", str, problems) or path.rsplit("/", 1)[-1].split(".")[0],
        path=path,
        messages=messages,
        models=_models(data, problems),
        params=_params(data, problems),
        response_format=_response_format(data, problems),
        variables=_variables(data, problems),
        description=get(data, "description", str, problems, ""),
        metadata=dict(get(data, "metadata", dict, problems, {})),
        repeat=get(data, "repeat", int, problems, allowed=REPEAT),
        pass_rate=get(data, "pass_rate", float, problems, allowed=PASS_RATE),
        location=Location(path, 1, 1),
    )
    spec.tags = _tags(data, spec.metadata, problems)
    spec.checks = _evaluators(data, problems)
    spec.constraints = parse_checks(data.get("constraints"), problems, problems.at_key(data, "constraints"), "constraints")
    spec.error_json = _error_json(data, messages, problems)
    spec.cases = _cases(data, problems)
    spec.tools = parse_tools(data.get("tools"), problems, problems.at_key(data, "tools"))
    choice_key = "toolChoice" if "toolChoice" in data else "tool_choice"
    spec.tool_choice = parse_tool_choice(data.get(choice_key), spec.tools, problems, problems.at_key(data, choice_key), f"'{choice_key}'")
    return spec


def _messages(data: dict[str, Any], problems: Problems) -> list[Message]:
    raw = data.get("messages")
    where = problems.at_key(data, "messages")
    if raw is None:
        # Some files spell the conversation as top-level `system:`/`user:` keys; say so.
        stray = [k for k in ROLES + ("prompt",) if k in data]
        found = ", ".join(repr(k) for k in stray)
        hint = f" (found top-level {found}; put them under 'messages:' as {{role, content}} entries)" if stray else ""
        problems.error(f"missing 'messages': a prompt needs at least one {{role, content}} message{hint}", where)
        return []
    if not isinstance(raw, list) or not raw:
        problems.error(f"'messages' must be a non-empty list of {{role, content}} mappings, got {type_name(raw) if raw != [] else 'an empty list'}", where)
        return []
    messages = []
    for index, entry in enumerate(raw):
        at = problems.at_item(raw, index)
        role, content = (entry.get("role"), entry.get("content")) if isinstance(entry, dict) else (None, None)
        if not isinstance(entry, dict):
            problems.error(f"message {index + 1} must be a {{role, content}} mapping, got {type_name(entry)}", at)
        elif role not in ROLES:
            problems.error(f"message {index + 1}: role must be one of {', '.join(ROLES)}, got {role!r}", at)
        elif isinstance(content, list):
            try:
                messages.append(parts_message(role, parse_parts(content)))
                continue
            except PartsError as exc:
                problems.error(f"message {index + 1}: {exc}", at)
        elif not isinstance(content, str):
            problems.error(f"message {index + 1}: 'content' must be a string or a list of parts, got {type_name(content)}", at)
        else:
            messages.append(Message(role=role, content=content))
            continue
        # A blank stand-in keeps later messages' numbers right in other errors; a spec with errors never runs.
        messages.append(Message(role=role if isinstance(role, str) else "?", content=""))
    return messages


def _models(data: dict[str, Any], problems: Problems) -> list[str]:
    models = string_list(data.get("models"), problems, problems.at_key(data, "models"), "models")
    single = get(data, "model", str, problems)
    return models or ([single] if single else [])


def _params(data: dict[str, Any], problems: Problems) -> dict[str, Any]:
    raw = get(data, "modelParameters", dict, problems, {})
    params: dict[str, Any] = {}
    for key, value in raw.items():
        name = PARAM_NAMES.get(str(key), str(key))
        if name == "stop" and isinstance(value, str):
            value = [value]
        params[name] = value
    for key, written in (("temperature", "temperature"), ("top_p", "topP")):
        if key in params and (isinstance(params[key], bool) or not isinstance(params[key], (int, float))):
            name = written if written in raw else key
            problems.error(f"modelParameters.{name} must be a number, got {type_name(params[key])}", problems.at_key(data, "modelParameters"))
    return params


def _response_format(data: dict[str, Any], problems: Problems) -> dict[str, Any] | None:
    kind = data.get("responseFormat")
    where = problems.at_key(data, "responseFormat")
    schema_raw = data.get("jsonSchema")
    if kind is None or kind == "text":
        if schema_raw is not None:
            problems.warn("'jsonSchema' is ignored unless responseFormat is json_schema", problems.at_key(data, "jsonSchema"))
        return None
    if kind == "json":  # older gh-models files; later renamed to json_object
        kind = "json_object"
    if kind not in RESPONSE_FORMATS:
        problems.error(f"responseFormat must be one of {', '.join(RESPONSE_FORMATS)}, got {kind!r}", where)
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if schema_raw is None:
        problems.error("responseFormat json_schema needs a 'jsonSchema' field", where)
        return None
    schema = schema_raw
    if isinstance(schema_raw, str):
        try:
            schema = json.loads(schema_raw)
        except json.JSONDecodeError as exc:
            problems.error(f"'jsonSchema' is not valid JSON: {exc.msg} (line {exc.lineno} col {exc.colno} of the schema)", problems.at_key(data, "jsonSchema"))
            return None
    if not isinstance(schema, dict):
        problems.error(f"'jsonSchema' must be a JSON object, got {type_name(schema)}", problems.at_key(data, "jsonSchema"))
        return None
    if "schema" not in schema:  # a bare schema: wrap it the way the API wants it
        schema = {"name": "response", "schema": schema}
    # Sent to the model and used by matches-response-schema: a broken one fails here, not at the API.
    if (problem := schema_error(schema["schema"])) is not None:
        problems.error(f"'jsonSchema' is not valid {DIALECT}: {problem}", problems.at_key(data, "jsonSchema"))
        return None
    return {"type": "json_schema", "json_schema": json.loads(json.dumps(schema))}


def _variables(data: dict[str, Any], problems: Problems) -> list[Variable]:
    raw = get(data, "variables", list, problems, [])
    variables = []
    for _, entry in mappings(raw, problems, "variables"):
        name = entry.get("name")
        if not isinstance(name, str):
            problems.error(f"each variable needs a 'name' string, got {type_name(name)}", problems.at(entry))
            continue
        required = entry.get("required", False)
        variables.append(Variable(name, str(entry.get("description") or ""), bool(required)))
    return variables


def _tags(data: dict[str, Any], metadata: dict[str, Any], problems: Problems) -> list[str]:
    tags = tag_list(data.get("tags"), problems, problems.at_key(data, "tags"), "tags")
    tags += tag_list(metadata.get("tags"), problems, problems.at_key(metadata, "tags"), "metadata.tags")
    return list(dict.fromkeys(tags))


def _evaluators(data: dict[str, Any], problems: Problems) -> list[CheckSpec | CheckGroup]:
    checks: list[CheckSpec | CheckGroup] = list(parse_checks(data.get("checks"), problems, problems.at_key(data, "checks"), "checks"))
    raw = data.get("evaluators")
    if raw is None:
        return checks
    if not isinstance(raw, list):
        problems.error(f"'evaluators' must be a list, got {type_name(raw)}", problems.at_key(data, "evaluators"))
        return checks
    for index, entry in mappings(raw, problems, "evaluators"):
        spec = _evaluator(entry, problems, problems.at_item(raw, index))
        if spec is not None:
            checks.append(spec)
    return checks


def _evaluator(entry: dict[str, Any], problems: Problems, at: Location) -> CheckSpec | None:
    name = entry.get("name") if isinstance(entry.get("name"), str) else None
    label = f"evaluator '{name}'" if name else "evaluator"
    if "string" in entry:
        rule = entry["string"]
        if not isinstance(rule, dict) or len(rule) != 1 or next(iter(rule)) not in GH_STRING_CHECKS:
            got = f"keys {', '.join(map(str, rule))}" if isinstance(rule, dict) and rule else type_name(rule)
            problems.error(f"{label}: 'string' takes exactly one of {', '.join(GH_STRING_CHECKS)}, got {got}", at)
            return None
        (op, value), = rule.items()
        return CheckSpec(type=GH_STRING_CHECKS[op], value=str(value), name=name, location=at)
    if "llm" in entry or "uses" in entry:
        return _graded_evaluator(entry, name, problems, at)
    spec_source = {k: v for k, v in entry.items() if k != "description"}
    if "type" not in spec_source and name is not None and len(spec_source) == 2:
        # `{name: ..., contains: x}`: the one-key shorthand with a name beside it.
        spec_source.pop("name")
        check = parse_check(spec_source, problems, at)
        if check is not None:
            check.name = name
        return check
    if "type" not in spec_source and not spec_source.keys() - {"name"}:
        problems.error(f"{label} has no rule: give 'string:', 'llm:', 'uses:' or a check 'type:'", at)
        return None
    return parse_check(spec_source, problems, at)


def _graded_evaluator(entry: dict[str, Any], name: str | None, problems: Problems, at: Location) -> CheckSpec | None:
    """``llm:`` and ``uses: github/<name>``: model-graded, run by the judge (skipped without one)."""
    uses = entry.get("uses")
    if "llm" in entry:
        llm = entry["llm"]
        if not isinstance(llm, dict):
            problems.error(f"evaluator '{name or 'llm'}': 'llm' must be a mapping with prompt and choices, got {type_name(llm)}", at)
            return None
        spec = CheckSpec(type="gh-llm", name=name or "llm", options=dict(llm), location=at)
    elif isinstance(uses, str) and uses.startswith("github/"):
        spec = CheckSpec(type="gh-builtin", value=uses.removeprefix("github/"), name=name or uses, location=at)
    else:
        why = f"evaluator '{name or uses}' (uses: {uses}) is not a GitHub built-in evaluator; only github/* can run"
        return CheckSpec(type="skip-unsupported", name=name or f"uses: {uses}", options={"why": why, "declaration": dict(entry)}, location=at)
    try:
        problems.validate_check(spec)
    except ValueError as exc:
        problems.error(f"evaluator '{spec.name}': {exc}", at)
        return None
    return spec


def _error_json(data: dict[str, Any], messages: list[Message], problems: Problems) -> dict[str, Any] | None:
    declared = data.get("error_json")
    if declared is not None:
        if isinstance(declared, str):
            try:
                declared = json.loads(declared)
            except json.JSONDecodeError:
                pass
        if not isinstance(declared, dict):
            problems.error("'error_json' must be a JSON object such as {\"error\": \"...\"}", problems.at_key(data, "error_json"))
            return None
        return json.loads(json.dumps(declared))
    for message in messages:
        if message.role in ("system", "developer"):
            found = detect_error_json(message.content)
            if found is not None:
                return found
    return None


def _cases(data: dict[str, Any], problems: Problems) -> list[Case]:
    raw = data.get("testData")
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.error(f"'testData' must be a list of test cases, got {type_name(raw)}", problems.at_key(data, "testData"))
        return []
    cases = []
    for index, entry in mappings(raw, problems, "testData"):
        case = parse_case(entry, index, problems, problems.at_item(raw, index))
        if case is not None:
            cases.append(case)
    return cases
