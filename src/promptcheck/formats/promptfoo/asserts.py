"""promptfoo assertions -> CheckSpec / CheckGroup.

promptfoo type names map onto registry checks; where promptfoo's meaning differs from a
built-in of the same name (``regex`` is a JavaScript RegExp, ``equals`` parses JSON strictly)
a promptfoo check with the same behaviour is used and the promptfoo name is kept as the
label, so reports show what the user wrote. Numeric limits (latency ms, cost, edit distance)
are options of their check, not score thresholds: promptfoo reads ``threshold`` that way."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from promptcheck.checks.promptfoo_transform import with_transform
from promptcheck.formats.checkdecl import split_negation
from promptcheck.formats.fields import Problems, type_name
from promptcheck.formats.promptfoo.refs import RefError, is_ref, load_value
from promptcheck.safefiles.yamlio import bounded_yaml
from promptcheck.spec import CheckGroup, CheckSpec, Location

# promptfoo name -> registry name, for types whose semantics match a registered check.
SAME_AS: dict[str, str] = {
    "contains": "contains",
    "icontains": "icontains",
    "contains-any": "contains-any",
    "contains-all": "contains-all",
    "icontains-any": "icontains-any",
    "icontains-all": "icontains-all",
    "starts-with": "starts-with",
    "ends-with": "ends-with",
    "is-json": "is-json",
    "equals": "promptfoo-equals",
    "regex": "js-regex",
    "contains-json": "contains-json",
    "is-valid-openai-tools-call": "is-valid-openai-tools-call",
    "is-valid-openai-function-call": "is-valid-openai-function-call",
    "is-valid-function-call": "is-valid-function-call",
    "tool-call-f1": "tool-call-f1",
    "levenshtein": "levenshtein",
    "word-count": "word-count",
    "latency": "latency",
    "cost": "cost",
    "perplexity": "perplexity",
    "perplexity-score": "perplexity",
    "python": "python",
    "javascript": "javascript",
    "rouge-n": "rouge-n",
    "bleu": "bleu",
    "gleu": "gleu",
    "meteor": "meteor",
    "is-sql": "is-sql",
    "contains-sql": "contains-sql",
    "is-xml": "is-xml",
    "contains-xml": "contains-xml",
    "is-html": "is-html",
    "contains-html": "contains-html",
    "is-refusal": "is-refusal",
    "finish-reason": "finish-reason",
    "webhook": "webhook",
    "ruby": "ruby",
}
# Types whose ``threshold`` is a limit the check itself compares against.
LIMIT_TYPES = {"latency": "max_ms", "cost": "max_cost", "levenshtein": "max_distance", "perplexity": "max_perplexity"}
MODEL_GRADED = {
    "llm-rubric", "model-graded-closedqa", "model-graded-factuality", "factuality", "similar", "g-eval",
    "answer-relevance", "context-faithfulness", "context-recall", "context-relevance", "select-best",
    "max-score", "search-rubric", "conversation-relevance", "pi",
    "similar:cosine", "similar:dot", "similar:euclidean", "agent-rubric", "trajectory:goal-success",
}
# Model-graded types promptcheck runs itself (promptfoo name -> registry name).
GRADED_TYPES = {
    "llm-rubric": "llm-rubric", "factuality": "factuality", "model-graded-factuality": "factuality",
    "g-eval": "g-eval", "answer-relevance": "answer-relevance", "similar": "similar", "similar:cosine": "similar",
}
# Types promptcheck skips, each saying what it would need.
SKIPPED_TYPES = {
    "classifier": "classifier needs a HuggingFace text-classification model (promptfoo calls the HuggingFace Inference API); promptcheck has no such provider",
    "moderation": "moderation needs a moderation API (OpenAI's, or Llama Guard); promptcheck does not call one yet",
    "select-best": "select-best needs a judge comparing the answers of several prompts at once; promptcheck grades each answer alone",
    "f-score": "f-score is a derived metric in promptfoo (derivedMetrics over named assertions), which promptcheck does not compute",
}
# Options promptfoo reads from the assertion itself rather than from its value or config.
_TOP_LEVEL_OPTIONS = {"meteor": ("alpha", "beta", "gamma")}
_KNOWN_KEYS = {"alpha", "beta", "gamma", "type", "value", "threshold", "weight", "metric", "config", "provider", "rubricPrompt", "assert", "transform"}
_SHORTHAND = re.compile(r"^(not-)?([a-z][a-z-]*)(?:\((\d+(?:\.\d+)?)\))?(?::([\s\S]*))?$", re.IGNORECASE)


def parse_asserts(raw: Any, problems: Problems, where: Location, base: Path) -> list[CheckSpec | CheckGroup]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.error(f"'assert' must be a list of assertions, got {type_name(raw)}", where)
        return []
    parsed = [parse_assert(item, problems, problems.at_item(raw, i), base) for i, item in enumerate(raw)]
    return [p for p in parsed if p is not None]


def parse_assert(node: Any, problems: Problems, at: Location, base: Path) -> CheckSpec | CheckGroup | None:
    check = _parse_assert(node, problems, at, base)
    transform = node.get("transform") if isinstance(node, dict) else None
    if check is None or transform is None:
        return check
    if not isinstance(transform, str) or not transform.strip():
        problems.error("an assertion's 'transform' must be JavaScript code or a file:// reference", at)
        return None
    return with_transform(check, transform, str(base))


def _parse_assert(node: Any, problems: Problems, at: Location, base: Path) -> CheckSpec | CheckGroup | None:
    if not isinstance(node, dict):
        problems.error(f"an assertion must be a mapping with a 'type', got {type_name(node)}", at)
        return None
    if "$ref" in node:
        problems.error(f"unsupported feature: assertion reference '$ref: {node['$ref']}'", at)
        return None
    kind = node.get("type")
    if not isinstance(kind, str) or not kind:
        problems.error("an assertion needs a 'type', e.g. 'type: contains'", at)
        return None
    weight = node.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
        problems.error(f"assertion 'weight' must be a number >= 0, got {weight!r}", at)
        return None
    threshold = node.get("threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))):
        problems.error(f"assertion 'threshold' must be a number, got {threshold!r}", at)
        return None
    metric = node.get("metric") if isinstance(node.get("metric"), str) else None
    if kind == "assert-set":
        members = parse_asserts(node.get("assert"), problems, problems.at_key(node, "assert"), base)
        group = CheckGroup(members, threshold=_num(threshold), weight=float(weight), metric=metric, name=metric)
        return _validated(group, kind, problems, at)
    base_type, negate = split_negation(kind)
    options: dict[str, Any] = {}
    if isinstance(node.get("config"), dict):
        options["config"] = dict(node["config"])
    value = node.get("value")
    if base_type in GRADED_TYPES:
        # Run by the judge (checks/graded.py), or skipped naming --judge-model when there is none.
        if isinstance(node.get("rubricPrompt"), (str, list)):
            options["rubricPrompt"] = node["rubricPrompt"]
        graded = CheckSpec(GRADED_TYPES[base_type], value, negate, float(weight), _num(threshold), None, options, at, metric)
        return _validated(graded, kind, problems, at)
    if base_type in SKIPPED_TYPES:
        return CheckSpec("skip-unsupported", value, negate, float(weight), None, f"{kind}", {"why": SKIPPED_TYPES[base_type]}, at, metric)
    if base_type in MODEL_GRADED:
        why = f"{base_type} is model-graded; model-graded assertions are not supported yet"
        return CheckSpec("skip-unsupported", value, negate, float(weight), None, f"{kind}", {"why": why}, at, metric)
    registry = SAME_AS.get(base_type)
    if registry is None:
        problems.error(f"unsupported feature: assertion type '{kind}'", at)
        return None
    try:
        value = _load_value(base_type, value, base)
    except RefError as exc:
        problems.error(f"{kind}: {exc}", at)
        return None
    if base_type in LIMIT_TYPES and threshold is not None:
        options[LIMIT_TYPES[base_type]] = float(threshold)
        threshold = None
    for option in _TOP_LEVEL_OPTIONS.get(base_type, ()):
        if isinstance(node.get(option), (int, float)) and not isinstance(node.get(option), bool):
            options[option] = float(node[option])
    if base_type in ("javascript", "python", "js-regex"):
        options["base_dir"] = str(base)
    spec = CheckSpec(
        type=registry, value=value, negate=negate, weight=float(weight), threshold=_num(threshold),
        name=_label(kind, value) if registry != base_type else None, options=options, location=at, metric=metric,
    )
    return _validated(spec, kind, problems, at)


def _validated(spec: CheckSpec | CheckGroup, kind: str, problems: Problems, at: Location) -> CheckSpec | CheckGroup | None:
    try:
        problems.validate_check(spec)
    except ValueError as exc:
        problems.error(f"{kind}: {exc}", at)
        return None
    return spec


def _load_value(kind: str, value: Any, base: Path) -> Any:
    """Schemas may live in files or be YAML text; script references stay as written (they
    run, with their base dir, at check time)."""
    if kind in ("is-json", "contains-json"):
        if is_ref(value):
            return load_value(value, base)
        if isinstance(value, str) and value.strip():
            import yaml

            try:
                return bounded_yaml(value)
            except (ValueError, yaml.YAMLError) as exc:
                raise RefError(f"the schema is not valid YAML: {str(exc).splitlines()[0]}") from None
    return value


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _label(kind: str, value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return kind
    shown = str(value).strip().replace("\n", " ")
    return f"{kind}: {shown[:37] + '...' if len(shown) > 40 else shown}"


def assertion_from_string(text: str) -> dict[str, Any]:
    """promptfoo's CSV shorthand (``__expected``): ``contains: x``, ``not-regex: y``,
    ``similar(0.8): z``, ``fn:``/``javascript:``/``python:`` code, ``grade:`` rubric, and
    anything else is an exact ``equals``."""
    stripped = text.strip()
    for prefixes, kind in ((("javascript:", "fn:", "eval:"), "javascript"), (("python:",), "python"),
                           (("grade:", "llm-rubric:"), "llm-rubric")):
        for prefix in prefixes:
            if stripped.startswith(prefix):
                return {"type": kind, "value": stripped[len(prefix) :].strip()}
    if is_ref(stripped):
        kind = "python" if stripped.split(":")[1].endswith(".py") or ".py:" in stripped else "javascript"
        return {"type": kind, "value": stripped}
    found = _SHORTHAND.match(stripped)
    if found:
        negation, kind, threshold, value = found.groups()
        if kind in SAME_AS or kind in MODEL_GRADED or kind in SKIPPED_TYPES:
            result: dict[str, Any] = {"type": f"{negation or ''}{kind}"}
            if value is not None:
                value = value.strip()
                result["value"] = [v.strip() for v in value.split(",")] if kind.endswith(("-any", "-all")) else value
            if threshold is not None:
                result["threshold"] = float(threshold)
            return result
    return {"type": "equals", "value": text}
