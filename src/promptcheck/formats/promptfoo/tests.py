"""promptfoo ``tests`` -> Cases: inline tests, ``file://`` YAML/JSON/JSONL/CSV files and
globs, CSV ``__expected``/``__description`` columns, ``defaultTest`` merging and
array-valued vars expanded into one case per combination (as promptfoo expands them)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from promptcheck.formats.cases import derive_id, slugify
from promptcheck.formats.fields import Problems, type_name
from promptcheck.formats.promptfoo.asserts import assertion_from_string, parse_asserts
from promptcheck.checks import scriptcall
from promptcheck.checks.promptfoo_transform import with_transform
from promptcheck.formats.parts import IMAGE_SUFFIXES, PartsError, image_var
from promptcheck.formats.promptfoo.refs import RefError, expand, is_ref, mapping_or_ref, read_data, read_text, strip_ref
from promptcheck.formats.promptfoo.varscripts import ScriptVar, script_vars
from promptcheck.safefiles.yamlio import MarkedList
from promptcheck.ranges import SCORE_THRESHOLD
from promptcheck.spec import Case, Location, PromptfooTestOptions, ReferenceAnswer, Turn

_TEST_KEYS = {
    "description", "vars", "assert", "options", "threshold", "metadata", "providerOutput", "prompts", "providers",
}
_UNSUPPORTED_TEST_KEYS = {
    "dataset": "'dataset' test sources",
    "scenarios": "'scenarios' inside a test (they belong at the top level)",
}
_UNSUPPORTED_OPTIONS = {"transformVars", "prefix", "suffix", "runSerially", "storeOutputAs"}


def raw_tests(node: Any, problems: Problems, where: Location, base: Path) -> list[tuple[dict[str, Any], Location]]:
    """Every test mapping with where it was declared, files and globs followed."""
    if node is None:
        return []
    items = node if isinstance(node, list) else [node]
    found: list[tuple[dict[str, Any], Location]] = []
    for index, item in enumerate(items):
        at = problems.at_item(node, index) if isinstance(node, list) else where
        if isinstance(item, dict):
            found.append((item, at))
        elif isinstance(item, str) and "://" in item and not is_ref(item):
            problems.error(f"unsupported feature: test source '{item.split('://')[0]}://' ({item})", at)
        elif isinstance(item, str):
            found += [(t, at) for t in _tests_from_files(item, problems, at, base)]
        else:
            problems.error(f"each test must be a mapping or a file:// reference, got {type_name(item)}", at)
    return found


def _tests_from_files(ref: str, problems: Problems, at: Location, base: Path) -> list[dict[str, Any]]:
    try:
        paths = expand(ref, base)
        loaded = [(p, read_data(p)) for p in paths]
    except RefError as exc:
        problems.error(f"tests: {exc}", at)
        return []
    tests: list[dict[str, Any]] = []
    for path, data in loaded:
        rows = data if isinstance(data, list) else [data]
        for row in rows:
            if not isinstance(row, dict):
                problems.error(f"tests in '{path.name}' must be mappings, got {type_name(row)}", at)
            elif path.suffix.lower() == ".csv":
                tests.append(csv_test(row))
            else:
                tests.append(row)
    return tests


def csv_test(row: dict[str, str]) -> dict[str, Any]:
    """One CSV row: plain columns are vars; ``__expected``/``__expected2``... hold shorthand
    assertions, ``__description`` the description, ``__metadata:*`` metadata."""
    test: dict[str, Any] = {"vars": {}, "assert": [], "metadata": {}}
    for column, value in row.items():
        if column.startswith("__expected"):
            if value.strip():
                test["assert"].append(assertion_from_string(value))
        elif column == "__description":
            test["description"] = value
        elif column.startswith("__metadata:"):
            test["metadata"][column.split(":", 1)[1]] = value
        elif column == "__threshold" and value.strip():
            test["threshold"] = _number(value)
        elif not column.startswith("__"):
            test["vars"][column] = value
    return test


def _number(text: str) -> float | str:
    """A CSV cell as a number, or the text itself for the range check to report."""
    try:
        return float(text)
    except ValueError:
        return text


def merge_default(default: dict[str, Any], test: dict[str, Any]) -> dict[str, Any]:
    """promptfoo's merge: vars, options and metadata are shallow-merged (the test wins),
    assertions are the default's followed by the test's, a test threshold wins."""
    merged = {**default, **test}
    for key in ("vars", "options", "metadata"):
        if isinstance(default.get(key), dict) and isinstance(test.get(key), dict):
            merged[key] = {**default[key], **test[key]}
    asserts = [default.get("assert"), test.get("assert")]
    if all(a is None or isinstance(a, list) for a in asserts):
        merged["assert"] = _joined([a for a in asserts if a])
    return merged  # else the test's own 'assert', for parse_asserts to report


def _joined(lists: list[list[Any]]) -> list[Any]:
    """The items of ``lists`` in one list that keeps each item's file:line mark."""
    joined = MarkedList(item for part in lists for item in part)
    joined.item_marks = [mark for part in lists for mark in _item_marks(part)]
    return joined


def _item_marks(seq: list[Any]) -> list[tuple[int, int]]:
    marks = getattr(seq, "item_marks", None)
    if marks:
        return list(marks)
    own = (getattr(seq, "line", None), getattr(seq, "col", None))
    return [own] * len(seq)  # type: ignore[list-item]


def expand_vars(variables: dict[str, Any]) -> list[dict[str, Any]]:
    """One vars dict per combination of array-of-string values; arrays of anything else
    (message lists, objects) are kept whole, as promptfoo does."""
    names = list(variables)
    choices = [v if isinstance(v, list) and v and isinstance(v[0], str) else [v] for v in variables.values()]
    return [dict(zip(names, combo)) for combo in itertools.product(*choices)]


def build_cases(
    tests: list[tuple[dict[str, Any], Location]], default: dict[str, Any], problems: Problems, base: Path,
    prompt_label: str | None, prompt_text: str = "", conversation: bool = False,
) -> list[Case]:
    """``conversation``: the prompt reads ``_conversation`` (see conversation_turns)."""
    cases: list[Case] = []
    threads: list[str] = []
    for index, (raw, at) in enumerate(tests):
        if not _applies(raw, prompt_label):
            continue
        test = merge_default(default, raw)
        if not _supported(test, problems, at):
            continue
        variables = _vars(test.get("vars"), problems, at, base)
        checks = parse_asserts(test.get("assert"), problems, at, base)
        options: dict[str, Any] = test["options"] if isinstance(test.get("options"), dict) else {}
        transform = options.get("transform", options.get("postprocess"))  # postprocess: its old name
        if isinstance(transform, str) and transform.strip():
            checks = [with_transform(c, transform, str(base)) for c in checks]
        scoring = _scoring(test.get("assertScoringFunction"), problems, at, base)
        description = test.get("description") if isinstance(test.get("description"), str) else None
        threshold = test.get("threshold")
        problem = None if threshold is None else SCORE_THRESHOLD.problem(threshold)
        if problem:
            problems.error(f"test 'threshold' {problem}", at)
            threshold = None
        metadata: dict[str, Any] = test["metadata"] if isinstance(test.get("metadata"), dict) else {}
        for combo in expand_vars(variables):
            combo = script_vars(combo, prompt_text, problems, at)
            fallback = f"test-{index + 1}"
            case_id = (slugify(description, 8, 64) or fallback) if description else derive_id(combo, fallback)
            cases.append(Case(
                id=case_id, vars=combo, checks=list(checks), description=description, location=at,
                threshold=float(threshold) if isinstance(threshold, (int, float)) else None,
                scoring=scoring, extension=PromptfooTestOptions(test["provider"]) if "provider" in test else None,
                reference_output=ReferenceAnswer(raw["providerOutput"]) if isinstance(raw.get("providerOutput"), str) else None,
            ))
            threads.append(str(metadata.get("conversationId") or ""))
    return conversation_turns(cases, threads) if conversation else cases


def _scoring(node: Any, problems: Problems, at: Location, base: Path) -> str | None:
    """``assertScoringFunction``: a file reference made absolute. A missing file is a warning:
    promptfoo fails only the tests that use it, at run time, and so does promptcheck."""
    if node is None:
        return None
    if not is_ref(node):
        problems.error("'assertScoringFunction' must be a file:// reference to a .py or .js function", at)
        return None
    try:
        scriptcall.language_of(node)
    except scriptcall.ScriptError as exc:
        problems.error(f"assertScoringFunction: {exc}", at)
        return None
    path, name = scriptcall.split_ref(node, base)
    if not path.is_file():
        problems.warn(f"assertScoringFunction: file not found: '{strip_ref(node).split(':')[0]}' (looked in {base}); "
                      "the tests that use it will fail", at)
    return f"file://{path}" + (f":{name}" if name else "")


def _applies(test: dict[str, Any], prompt_label: str | None) -> bool:
    wanted = test.get("prompts")
    return not isinstance(wanted, list) or prompt_label is None or prompt_label in wanted


def _supported(test: dict[str, Any], problems: Problems, at: Location) -> bool:
    unknown = [k for k in test if k in _UNSUPPORTED_TEST_KEYS]
    options: dict[str, Any] = test["options"] if isinstance(test.get("options"), dict) else {}
    bad_options = sorted(set(options) & _UNSUPPORTED_OPTIONS)
    if unknown:
        problems.error(f"unsupported feature: {_UNSUPPORTED_TEST_KEYS[unknown[0]]} in a test", at)
    elif bad_options:
        problems.error(f"unsupported feature: test option '{bad_options[0]}'", at)
    else:
        return True
    return False


def _vars(node: Any, problems: Problems, at: Location, base: Path) -> dict[str, Any]:
    node = mapping_or_ref(node, "vars", problems, at, base)
    return {str(k): _var_value(k, v, problems, at, base) for k, v in node.items()}


def _var_value(name: Any, value: Any, problems: Problems, at: Location, base: Path) -> Any:
    """A ``file://`` var is the file's text (a glob gives one value per file, which then
    expands like an array); script files would be run by promptfoo, which is unsupported."""
    if not is_ref(value):
        return value
    try:
        paths = expand(value, base)
    except RefError as exc:
        problems.error(f"var '{name}': {exc}", at)
        return ""
    if any(p.suffix == ".ts" for p in paths):
        problems.error(f"unsupported feature: var '{name}' computed by a TypeScript file ({value})", at)
        return ""
    if len(paths) == 1 and paths[0].suffix in (".py", ".js", ".cjs", ".mjs"):
        return ScriptVar(str(name), f"file://{paths[0]}", base)  # computed per case, from the other vars
    if len(paths) == 1 and paths[0].suffix.lower() in IMAGE_SUFFIXES:  # promptfoo sends images as base64
        try:
            return image_var(paths[0], strip_ref(value))
        except PartsError as exc:
            problems.error(f"var '{name}': {exc}", at)
            return ""
    try:
        texts = [read_text(p) for p in paths]
    except RefError as exc:
        problems.error(f"var '{name}': {exc}", at)
        return ""
    return texts if len(texts) > 1 else texts[0]


def conversation_turns(cases: list[Case], threads: list[str]) -> list[Case]:
    """``threads[i]`` is case i's conversation; each thread becomes one case whose turns are its
    tests, in order.

    As in promptfoo, a prompt that reads ``_conversation`` runs the tests of a thread one after
    another, and ``_conversation`` holds the earlier turns' ``{prompt, input, output}``. A thread
    is the tests of one ``metadata.conversationId`` (all the prompt's tests without one share a
    thread) and one test-level ``provider``. One item per thread × model runs the whole thread,
    so its turns stay in order under xdist too; its id is its first test's."""
    merged: dict[str, Case] = {}
    for case, thread in zip(cases, threads):
        case.vars.setdefault("_conversation", [])
        provider = case.extension.provider if isinstance(case.extension, PromptfooTestOptions) else None
        key = json.dumps([thread, provider], sort_keys=True, default=str)
        turn = Turn(user=None, checks=list(case.checks), vars=case.vars, location=case.location, reference_output=case.reference_output)
        if key in merged:
            merged[key].turns.append(turn)
            continue
        merged[key] = case
        case.turns = [turn]
        case.checks = []  # each test's asserts judge its own turn
        case.reference_output = None  # and its providerOutput answers it
    return list(merged.values())
