"""Structured output (issue 16): JSON Schema Draft 2020-12 through ``jsonschema`` for every schema
check, a GitHub Models ``jsonSchema`` reaching both SDKs, and ``matches-response-schema``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakellm import FakeLLM, two_provider_pyproject

from promptcheck.checks.base import CheckContext, CheckError
from promptcheck.checks.evaluate import CheckResult, run_check, validate_check
from promptcheck.checks.schemas import schema_problem
from promptcheck.providers.base import response_schema
from promptcheck.cli import main
from promptcheck.spec import CheckSpec, PromptfooProviderConfig

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")

ORDER = {
    "type": "object",
    "required": ["items"],
    "additionalProperties": False,
    "properties": {
        "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/sku"}},
        "contact": {"oneOf": [{"type": "string", "format": "email"}, {"type": "null"}]},
    },
    "$defs": {"sku": {"type": "string", "pattern": "^[a-z]+-[0-9]+$"}},
}


def run(type_: str, value: Any, output: str, ctx: CheckContext | None = None, **kwargs: Any) -> CheckResult:
    check = CheckSpec(type=type_, value=value, **kwargs)
    validate_check(check)
    return run_check(check, output, ctx)


# -- the keywords the old hand-written subset rejected, now validated by jsonschema ---------------


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ('{"items": []}', "$.items: [] should be non-empty (minItems 1)"),  # minItems
        ('{"items": ["tea"]}', "$.items[0]: \"tea\" does not match '^[a-z]+-[0-9]+$'"),  # pattern, through $ref/$defs
        ('{"items": ["tea-1"], "contact": 7}', "$.contact: 7 is not valid under any of the given schemas"),  # oneOf
        ('{"items": ["tea-1"], "note": "x"}', "$: unexpected key 'note'"),
        ('{"contact": null}', "$: missing required key 'items'"),
    ],
)
def test_is_json_validates_with_a_real_json_schema_library(answer: str, reason: str) -> None:
    result = run("is-json", ORDER, answer)
    assert (result.passed, result.reason) == (False, f"answer JSON does not match the schema: {reason}")


def test_is_json_accepts_what_the_schema_allows() -> None:
    assert run("is-json", ORDER, '{"items": ["tea-1", "cup-22"], "contact": null}').passed
    assert run("is-json", ORDER, '{"items": ["tea-1"], "contact": "a@b.c"}').passed


def test_format_is_an_annotation_not_an_assertion() -> None:
    # Draft 2020-12 (and jsonschema by default) treats `format` as an annotation: not checked.
    assert run("is-json", ORDER, '{"items": ["tea-1"], "contact": "not an email"}').passed
    assert run("is-json", {"type": "string", "format": "date"}, '"next tuesday"').passed


def test_contains_json_and_tool_calls_use_the_same_validator() -> None:
    bad = run("contains-json", {"type": "object", "properties": {"n": {"minimum": 3}}}, 'Here: {"n": 1}')
    assert (bad.passed, bad.reason) == (False, "no JSON in the answer matches the schema: $.n: 1 is less than the minimum of 3")
    tools = [{"type": "function", "function": {"name": "refund", "parameters": {"type": "object", "properties": {"ids": {"type": "array", "minItems": 1}}}}}]
    ctx = CheckContext(model_extension=PromptfooProviderConfig(config={"tools": tools}))
    call = '[{"function": {"name": "refund", "arguments": "{\\"ids\\": []}"}}]'
    result = run("is-valid-openai-tools-call", None, call, ctx)
    assert (result.passed, result.reason) == (False, "$.ids: [] should be non-empty (minItems 1)")


def test_a_tool_schema_that_is_no_schema_is_a_check_error() -> None:
    with pytest.raises(CheckError) as raised:
        schema_problem({}, {"type": "objekt"})
    assert str(raised.value) == (
        'the schema is not valid JSON Schema Draft 2020-12: schema.type: unknown type "objekt"; '
        "use one of object, array, string, number, integer, boolean, null"
    )


def test_response_schema_reads_the_openai_response_format() -> None:
    assert response_schema({"type": "json_schema", "json_schema": {"name": "o", "schema": ORDER}}) == ORDER
    assert response_schema({"type": "json_object"}) is None
    assert response_schema(None) is None


# -- matches-response-schema as a check: negation, weight and threshold are generic ---------------


def test_matches_response_schema_verdicts_negation_weight_and_threshold() -> None:
    ctx = CheckContext(response_schema=ORDER)
    good = run("matches-response-schema", None, '{"items": ["tea-1"]}', ctx)
    assert (good.passed, good.reason) == (True, "answer matches the response schema")
    bad = run("matches-response-schema", None, '{"items": []}', ctx)
    assert (bad.passed, bad.reason) == (False, "answer does not match the response schema: $.items: [] should be non-empty (minItems 1)")
    assert run("matches-response-schema", None, "Sure! {}", ctx).reason == "answer is not JSON: 'Sure! {}'"
    negated = run("matches-response-schema", None, '{"items": []}', ctx, negate=True)
    assert negated.passed
    assert not run("matches-response-schema", None, '{"items": ["tea-1"]}', ctx, negate=True).passed
    assert run("matches-response-schema", None, '{"items": []}', ctx, weight=0.0).weight == 0.0
    assert run("matches-response-schema", None, '{"items": []}', ctx, threshold=0.0).passed  # score 0 >= 0
    assert not run("matches-response-schema", None, '{"items": []}', ctx, threshold=0.5).passed


# -- through pytest: GitHub Models files, both SDKs, cassettes ------------------------------------

PROMPT = """\
name: Order
responseFormat: json_schema
jsonSchema:
  name: order
  strict: true
  schema:
    type: object
    required: [items]
    additionalProperties: false
    properties:
      items: {type: array, minItems: 1, items: {type: string, pattern: "^[a-z]+-[0-9]+$"}}
messages:
  - role: user
    content: "{{answer}}"
testData:
  - id: good
    inputs: {answer: '{"items": ["tea-1"]}'}
  - id: empty
    inputs: {answer: '{"items": []}'}
checks:
  - matches-response-schema
"""

SENT_SCHEMA = {
    "type": "object",
    "required": ["items"],
    "additionalProperties": False,
    "properties": {"items": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[a-z]+-[0-9]+$"}}},
}


@pytest.fixture
def order_project(pytester: pytest.Pytester, fake_llm: FakeLLM, fake_api_keys: None) -> pytest.Pytester:
    """Models `gpt` (OpenAI SDK) and `claude` (Anthropic SDK) at the fake, which echoes the JSON."""
    pytester.makepyprojecttoml(two_provider_pyproject(fake_llm))
    pytester.makefile(".prompt.yml", order=PROMPT)
    return pytester


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_json_schema_reaches_both_sdks_and_the_check_uses_it(order_project: pytest.Pytester, fake_llm: FakeLLM, workers: list[str]) -> None:
    result = order_project.runpytest(*QUIET, "--record-mode=new", *workers)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*answer does not match the response schema: $.items: [] should be non-empty (minItems 1)*"])
    bodies = {r.kind: r.body for r in fake_llm.requests}
    assert bodies["openai"]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "order", "strict": True, "schema": SENT_SCHEMA},
    }
    assert bodies["anthropic"]["output_config"] == {"format": {"type": "json_schema", "schema": SENT_SCHEMA}}
    assert "response_format" not in bodies["anthropic"]


def test_cassettes_key_on_the_schema(order_project: pytest.Pytester, fake_llm: FakeLLM) -> None:
    order_project.runpytest(*QUIET, "--record-mode=new").assert_outcomes(passed=2, failed=2)
    recorded = len(fake_llm.requests)
    order_project.runpytest(*QUIET).assert_outcomes(passed=2, failed=2)  # replayed: the same schema
    assert len(fake_llm.requests) == recorded
    path = order_project.path / "order.prompt.yml"
    path.write_text(PROMPT.replace("minItems: 1", "minItems: 2"), encoding="utf-8")
    changed = order_project.runpytest(*QUIET)
    changed.assert_outcomes(errors=4)  # a new schema is a new request: nothing to replay
    changed.stdout.fnmatch_lines(["*no recorded answer for *"])
    assert len(fake_llm.requests) == recorded


def test_negated_weighted_and_thresholded_in_a_prompt_file(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(
        ".prompt.yml",
        order=PROMPT.replace(
            "checks:\n  - matches-response-schema\n",
            "checks:\n  - {type: not-matches-response-schema, name: rejects it}\n"
            "  - {type: matches-response-schema, weight: 0, name: shown only}\n",
        ).replace("testData:\n  - id: good\n    inputs: {answer: '{\"items\": [\"tea-1\"]}'}\n", "testData:\n"),
    )
    result = echo_project.runpytest(*QUIET, "-n", "2")
    result.assert_outcomes(passed=1)


# -- collection errors ----------------------------------------------------------------------------


def test_matches_response_schema_without_a_schema_is_a_collection_error(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(
        ".prompt.yml",
        plain="messages:\n  - {role: user, content: hi}\ntestData:\n  - {x: 1}\nchecks:\n  - matches-response-schema\n",
    )
    result = echo_project.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "plain.prompt.yml:6:5: matches-response-schema: the prompt declares no response schema for model 'echo' "
            "(declare responseFormat: json_schema with jsonSchema)"
        ]
    )


def test_an_invalid_json_schema_is_a_collection_error_naming_file_and_problem(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yml", order=PROMPT.replace("minItems: 1", "minItems: -1"))
    echo_project.makefile(
        ".prompt.yml",
        check="messages:\n  - {role: user, content: hi}\ntestData:\n  - {x: 1}\nchecks:\n"
        "  - {is-json: {type: object, properties: {id: {$ref: '#/$defs/id'}}}}\n",
    )
    result = echo_project.runpytest(*QUIET)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "order.prompt.yml:3:1: 'jsonSchema' is not valid JSON Schema Draft 2020-12: "
            "schema.properties.items.minItems: -1 is less than the minimum of 0",
        ],
    )
    result.stdout.fnmatch_lines(
        ["check.prompt.yml:6:5: is-json schema is not valid JSON Schema Draft 2020-12: $ref '#/$defs/id' points to nothing in the schema"]
    )


def test_validate_command_reports_both_schema_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.promptcheck]\nmodels = ["echo"]\n', encoding="utf-8")
    (tmp_path / "bad.prompt.yml").write_text(PROMPT.replace("minItems: 1", "minItems: -1"), encoding="utf-8")
    (tmp_path / "plain.prompt.yml").write_text(
        "messages:\n  - {role: user, content: hi}\ntestData:\n  - {x: 1}\nchecks:\n  - matches-response-schema\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    code = main(["validate", "bad.prompt.yml", "plain.prompt.yml"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert (
        "bad.prompt.yml:3:1: 'jsonSchema' is not valid JSON Schema Draft 2020-12: "
        "schema.properties.items.minItems: -1 is less than the minimum of 0"
    ) in out
    assert (
        "plain.prompt.yml:6:5: matches-response-schema: the prompt declares no response schema for model 'echo' "
        "(declare responseFormat: json_schema with jsonSchema)"
    ) in out


def test_a_property_named_type_is_reported_as_any_other() -> None:
    schema = {"type": "object", "properties": {"type": {"anyOf": [{"const": "a"}, {"const": "b"}]}}}
    assert schema_problem({"type": "c"}, schema) == '$.type: "c" is not valid under any of the given schemas'
