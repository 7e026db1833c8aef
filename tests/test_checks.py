"""Unit tests for the built-in checks and the generic runner (plain pytest, no pytester)."""

from __future__ import annotations

from typing import Any

import pytest

from promptcheck.checks.base import CheckContext, Verdict, quote
from promptcheck.checks.errorjson import detect_error_json
from promptcheck.checks.evaluate import CheckResult, evaluate, run_check, validate_check
from promptcheck.checks.jsontext import iter_json_objects, json_equal, parse_json_answer
from promptcheck.checks.registry import CheckRegistry
from promptcheck.spec import CheckGroup, CheckSpec

ERROR = {"error": "Hardware constraints insufficient for SLA"}
ERROR_TEXT = '{"error": "Hardware constraints insufficient for SLA"}'


def spec(type_: str, value: Any = None, **kwargs: Any) -> CheckSpec:
    return CheckSpec(type=type_, value=value, **kwargs)


def run(type_: str, value: Any, output: str, ctx: CheckContext | None = None, **kwargs: Any) -> CheckResult:
    check = spec(type_, value, **kwargs)
    validate_check(check)  # every case below is also a valid declaration
    return run_check(check, output, ctx)


# (type, value, good answer, bad answer, reason on pass, reason on fail)
STRING_CASES = [
    ("equals", "Paris", "Paris", "Paris.", "answer equals 'Paris'", "answer is 'Paris.', not 'Paris'"),
    ("contains", "pub/sub", "Use pub/sub here", "Use Pub/Sub here", "found 'pub/sub'", "'pub/sub' not found in the answer"),
    ("icontains", "pub/sub", "Use PUB/SUB", "Use queues", "found 'pub/sub' (ignoring case)", "'pub/sub' not found in the answer (ignoring case)"),
    ("starts-with", "Yes", "Yes, it is", "yes, it is", "answer starts with 'Yes'", "answer does not start with 'Yes'; it starts with 'yes, it is'"),
    ("istarts-with", "yes", "YES!", "No", "answer starts with 'yes' (ignoring case)", "answer does not start with 'yes'; it starts with 'No' (ignoring case)"),
    ("ends-with", "done.", "all done.", "all DONE.", "answer ends with 'done.'", "answer does not end with 'done.'; it ends with 'all DONE.'"),
    ("iends-with", "done.", "all DONE.", "all done", "answer ends with 'done.' (ignoring case)", "answer does not end with 'done.'; it ends with 'all done' (ignoring case)"),
    ("contains-any", ["cat", "dog"], "a dog", "a bird", "found 'dog'", "none of 'cat', 'dog' found in the answer"),
    ("contains-any", "cat, dog", "a cat", "a bird", "found 'cat'", "none of 'cat', 'dog' found in the answer"),
    ("contains-all", ["cat", "dog"], "dog and cat", "just a cat", "found all of 'cat', 'dog'", "missing 'dog'"),
    ("icontains-any", ["cat", "dog"], "A DOG", "a bird", "found 'dog' (ignoring case)", "none of 'cat', 'dog' found in the answer (ignoring case)"),
    ("icontains-all", "cat,dog", "CAT and Dog", "Cat", "found all of 'cat', 'dog' (ignoring case)", "missing 'dog' (ignoring case)"),
    ("regex", "(?i)pub/sub", "use PUB/SUB", "use queues", "/(?i)pub\\/sub/ matched 'PUB/SUB'", "no match for /(?i)pub\\/sub/"),
    ("gh-equals", "Paris", "  Paris\n", "paris", "answer equals 'Paris'", "answer is 'paris', not 'Paris'"),
    ("gh-contains", "PARIS", " it is paris ", "it is Rome", "found 'PARIS' (ignoring case)", "'PARIS' not found in the answer (ignoring case)"),
    ("gh-starts-with", "the", "\n  The answer", "An answer", "answer starts with 'the' (ignoring case)", "answer does not start with 'the'; it starts with 'An answer' (ignoring case)"),
    ("gh-ends-with", "END", "the end \n", "the end.", "answer ends with 'END' (ignoring case)", "answer does not end with 'END'; it ends with 'the end.' (ignoring case)"),
    ("expected", "Paris", "It is PARIS.", "It is Rome.", "found 'Paris' (ignoring case)", "'Paris' not found in the answer (ignoring case)"),
]


@pytest.mark.parametrize(("type_", "value", "good", "bad", "pass_reason", "fail_reason"), STRING_CASES)
def test_string_checks_both_ways(type_: str, value: Any, good: str, bad: str, pass_reason: str, fail_reason: str) -> None:
    passed = run(type_, value, good)
    assert (passed.passed, passed.score, passed.reason) == (True, 1.0, pass_reason)
    failed = run(type_, value, bad)
    assert (failed.passed, failed.score, failed.reason) == (False, 0.0, fail_reason)
    assert failed.span is None


@pytest.mark.parametrize(("type_", "value", "good", "bad", "pass_reason", "fail_reason"), STRING_CASES)
def test_every_string_check_negates(type_: str, value: Any, good: str, bad: str, pass_reason: str, fail_reason: str) -> None:
    forbidden = run(type_, value, good, negate=True)
    assert (forbidden.passed, forbidden.score) == (False, 0.0)
    assert forbidden.reason == f"{pass_reason} (forbidden by not-{type_})"
    assert forbidden.span is not None  # the offending text, for highlighting
    allowed = run(type_, value, bad, negate=True)
    assert (allowed.passed, allowed.score, allowed.reason) == (True, 1.0, fail_reason)
    assert allowed.name.startswith(f"not-{type_}")


def test_match_spans_point_at_the_matched_text() -> None:
    answer = "  Use PUB/SUB here "
    for type_, value in [("icontains", "pub/sub"), ("regex", "(?i)pub/sub"), ("gh-contains", "pub/sub"), ("expected", "pub/sub")]:
        start, end = run(type_, value, answer).span or (0, 0)
        assert answer[start:end] == "PUB/SUB", type_
    start, end = run("gh-equals", "Paris", "\n Paris  ").span or (0, 0)
    assert (start, end) == (2, 7)
    assert run("contains-any", ["z", "b", "a"], "abc").span == (0, 1)  # earliest hit, not first listed


def test_equals_with_a_structured_value_compares_json() -> None:
    assert run("equals", {"a": 1}, '```json\n{"a": 1}\n```').passed
    assert run("equals", {"a": 1}, '{"a": true}').reason == 'answer is {"a": true}, not {"a": 1}'
    assert run("equals", [1, 2], "nope").reason == "answer is not JSON, expected [1, 2]"


def test_scalar_values_are_compared_as_text() -> None:
    assert run("contains", 42, "the answer is 42").passed


# ---- is-json and jsonpath -------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "required": ["name", "tags"],
    "properties": {
        "name": {"type": "string"},
        "size": {"enum": ["S", "M"]},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}


def test_is_json_without_schema() -> None:
    good = run("is-json", None, '  {"a": [1, 2]}\n')
    assert (good.passed, good.reason, good.span) == (True, "answer is valid JSON", (2, 15))
    bad = run("is-json", None, "Sure: {}")
    assert (bad.passed, bad.reason) == (False, "answer is not JSON: 'Sure: {}'")
    # Strict like promptfoo: a fenced answer is not JSON.
    assert not run("is-json", None, '```json\n{"a": 1}\n```').passed
    assert run("is-json", None, "{}", negate=True).reason == "answer is valid JSON (forbidden by not-is-json)"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ('{"name": 3, "tags": []}', "$.name: expected string, got integer"),
        ('{"tags": []}', "$: missing required key 'name'"),
        ('{"name": "x", "tags": ["a", 1]}', "$.tags[1]: expected string, got integer"),
        ('{"name": "x", "tags": [], "size": "XL"}', '$.size: "XL" is not one of ["S", "M"]'),
        ('{"name": "x", "tags": [], "extra": 1}', "$: unexpected key 'extra'"),
        ("[]", "$: expected object, got array"),
    ],
)
def test_is_json_schema_failures(answer: str, reason: str) -> None:
    result = run("is-json", SCHEMA, answer)
    assert (result.passed, result.reason) == (False, f"answer JSON does not match the schema: {reason}")


def test_is_json_schema_pass_and_number_types() -> None:
    assert run("is-json", SCHEMA, '{"name": "x", "tags": ["a"], "size": "M"}').reason == "answer is JSON matching the schema"
    assert run("is-json", {"type": "number"}, "3").passed  # an integer is a number
    assert not run("is-json", {"type": "integer"}, "3.5").passed
    assert not run("is-json", {"type": "integer"}, "true").passed
    assert run("is-json", {"const": True}, "true").passed
    assert not run("is-json", {"const": 1}, "true").passed  # true is not 1 in JSON


@pytest.mark.parametrize(
    ("check", "answer", "passed", "reason"),
    [
        (spec("jsonpath", options={"path": "$.error", "value": "x"}), '{"error": "x"}', True, '$.error is "x"'),
        (spec("jsonpath", options={"path": "$.error", "value": "x"}), '{"error": "y"}', False, '$.error is "y", expected "x"'),
        (spec("jsonpath", 2, options={"path": "$.a[*].b"}), '{"a": [{"b": 1}, {"b": 2}]}', True, "$.a[*].b is 2"),
        (spec("jsonpath", 5, options={"path": "$.a[*].b"}), '{"a": [{"b": 1}, {"b": 2}]}', False, "$.a[*].b is [1, 2], expected 5"),
        (spec("jsonpath", "$.error"), '```json\n{"error": null}\n```', True, "$.error matched null"),
        (spec("jsonpath", "$.error"), '{"ok": 1}', False, "$.error matched nothing"),
        (spec("jsonpath", options={"path": "$.n", "value": 1}), "{}", False, "$.n matched nothing (expected 1)"),
        (spec("jsonpath", options={"path": "$.n", "value": 1}), '{"n": true}', False, "$.n is true, expected 1"),
        (spec("jsonpath", options={"path": "$.error"}), "Sorry, no.", False, "answer is not JSON"),
    ],
)
def test_jsonpath(check: CheckSpec, answer: str, passed: bool, reason: str) -> None:
    validate_check(check)
    result = run_check(check, answer)
    assert (result.passed, result.reason) == (passed, reason)


def test_not_jsonpath() -> None:
    check = spec("jsonpath", options={"path": "$.error"}, negate=True)
    assert run_check(check, '{"answer": 1}').passed
    assert run_check(check, '{"error": 1}').reason == "$.error matched 1 (forbidden by not-jsonpath)"


# ---- error-json -----------------------------------------------------------------------


def error_ctx(expects_error: bool, declared: dict[str, Any] | None = ERROR) -> CheckContext:
    return CheckContext(error_json=declared, expects_error=expects_error, expected="error" if expects_error else None)


@pytest.mark.parametrize("answer", [ERROR_TEXT, f"\n  {ERROR_TEXT}\n", f"```json\n{ERROR_TEXT}\n```", f"```\n{ERROR_TEXT}```"])
def test_error_case_accepts_exactly_the_declared_object(answer: str) -> None:
    result = run_check(spec("error-json"), answer, error_ctx(True))
    assert (result.passed, result.reason) == (True, f"answer is exactly the error object {ERROR_TEXT}")
    start, end = result.span or (0, 0)
    assert answer[start:end] == ERROR_TEXT


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (f"Sorry! {ERROR_TEXT}", f"expected only the error object {ERROR_TEXT}, got 'Sorry! {{"),
        ('{"error": "other"}', f'expected the error object {ERROR_TEXT}, got {{"error": "other"}}'),
        # Only one fence is unwrapped.
        (f"```json\n```json\n{ERROR_TEXT}\n```\n```", f"expected only the error object {ERROR_TEXT}, got '```json\\n```json\\n"),
    ],
)
def test_error_case_rejects_anything_else(answer: str, reason: str) -> None:
    result = run_check(spec("error-json"), answer, error_ctx(True))
    assert not result.passed
    assert result.reason.startswith(reason)


def test_normal_case_fails_on_a_false_refusal_and_reports_the_span() -> None:
    answer = f"I cannot help.\n{ERROR_TEXT}\nBye"
    result = run_check(spec("error-json"), answer, error_ctx(False))
    assert not result.passed
    assert result.reason == f"answer contains the error object {ERROR_TEXT} but this case expects a real answer (false refusal)"
    start, end = result.span or (0, 0)
    assert answer[start:end] == ERROR_TEXT
    nested = run_check(spec("error-json"), f'{{"result": {ERROR_TEXT}}}', error_ctx(False))
    assert not nested.passed
    fine = run_check(spec("error-json"), '{"error": "other"} and {broken', error_ctx(False))
    assert (fine.passed, fine.reason) == (True, f"answer does not contain the error object {ERROR_TEXT}")


def test_error_json_without_a_declared_object() -> None:
    ok = run_check(spec("error-json"), '{"error": "anything", "code": 3}', error_ctx(True, None))
    assert ok.passed and 'JSON object with an "error" key' in ok.reason and "declares no error object" in ok.reason
    bad = run_check(spec("error-json"), '{"message": "x"}', error_ctx(True, None))
    assert (bad.passed, bad.reason) == (False, 'expected a JSON object with an "error" key, got \'{"message": "x"}\'')
    idle = run_check(spec("error-json"), "whatever", error_ctx(False, None))
    assert (idle.passed, idle.skipped) == (True, True)


def test_error_json_value_on_the_check_overrides_the_prompt() -> None:
    result = run_check(spec("error-json", {"error": "x"}), '{"error": "x"}', error_ctx(True))
    assert result.passed


def test_expected_error_delegates_to_the_error_rule() -> None:
    assert run_check(spec("expected", " Error\n"), ERROR_TEXT, error_ctx(False)).passed
    assert run_check(spec("expected"), ERROR_TEXT, error_ctx(True)).passed  # value from the context
    assert run_check(spec("expected"), "The word error appears", error_ctx(True)).reason.startswith("expected only the error object")
    missing = run_check(spec("expected"), "x", CheckContext())
    assert (missing.passed, missing.reason) == (False, "the case declares no expected answer to compare with")


def test_detect_error_json() -> None:
    assert detect_error_json(f"If the hardware is too small, output a JSON block `{ERROR_TEXT}`.") == ERROR
    escaped = 'output a JSON block `{\\"error\\": \\"Hardware constraints insufficient for SLA\\"}`'
    assert detect_error_json(escaped) == ERROR
    assert detect_error_json('Reply {"status": "ok"}; on failure {"error": "E1", "code": 2}') == {"error": "E1", "code": 2}
    assert detect_error_json("No JSON here {at all}") is None


def test_json_helpers() -> None:
    assert json_equal({"a": [1, 2.0]}, {"a": [1, 2]})
    assert not json_equal(True, 1) and not json_equal({"a": 0}, {"a": False}) and not json_equal("1", 1)
    assert parse_json_answer("null") is not None and parse_json_answer("nope") is None
    assert [start for _, start, _ in iter_json_objects('{"a": {"b": 1}} {x}')] == [0, 6]


# ---- negative constraints -------------------------------------------------------------


def constraint(type_: str, answer: str, ctx: CheckContext | None = None, **options: Any) -> CheckResult:
    check = spec(type_, options=options)
    validate_check(check)
    return run_check(check, answer, ctx)


def assert_line_reported(result: CheckResult, answer: str, line: str) -> None:
    assert not result.passed
    start, end = result.span or (0, 0)
    assert answer[start:end] == line
    assert quote(line) in result.reason


@pytest.mark.parametrize(
    ("answer", "line"),
    [
        ("Intro\n```python\nx = 1\n```", "```python"),
        ("Intro\n    ~~~\n    x\n    ~~~", "    ~~~"),
    ],
)
def test_no_code_blocks_fails(answer: str, line: str) -> None:
    result = constraint("no-code-blocks", answer)
    assert_line_reported(result, answer, line)
    assert result.reason == f"answer has a code block at line 2: {quote(line)}"


def test_no_code_blocks_passes_and_negates() -> None:
    answer = "Use `inline` code, or say ``` mid-line."
    assert constraint("no-code-blocks", answer).reason == "answer has no code blocks"
    negated = run_check(spec("no-code-blocks", negate=True), "```\nx\n```")
    assert negated.passed
    assert not run_check(spec("no-code-blocks", negate=True), answer).passed


@pytest.mark.parametrize(
    "first_line",
    [
        "Sure! Here it is.",
        "sure, here it is",
        "Certainly.",
        "## Here's the plan",
        "Here\u2019s the plan",
        "> **Of course** - the answer",
        "_Great question!_",
        "Ok, let's go",
        "OKAY then",
        "Hi there",
        "I'd be happy to help",
        "As an AI model, I",
        "Thank you for asking",
    ],
)
def test_no_intro_text_fails_on_preambles(first_line: str) -> None:
    answer = f"\n\n{first_line}\nThe actual answer."
    result = constraint("no-intro-text", answer)
    assert_line_reported(result, answer, first_line)
    assert result.reason == f"answer opens with a preamble: {quote(first_line)}"


@pytest.mark.parametrize("first_line", ["Surely-not a preamble", "Okayama is a city", "Hierarchy first", "Hereford cattle", "Overall design"])
def test_no_intro_text_respects_word_boundaries(first_line: str) -> None:
    result = constraint("no-intro-text", f"{first_line}\nSure, later lines do not count.")
    assert result.passed, result.reason


def test_no_intro_text_extra_phrases_and_negation() -> None:
    assert not constraint("no-intro-text", "Voila: the answer", phrases=["Voila"]).passed
    ctx = CheckContext(phrases={"intro": ("Behold",)})
    assert not constraint("no-intro-text", "Behold, the answer", ctx).passed
    assert constraint("no-intro-text", "Behold, the answer").passed
    negated = run_check(spec("no-intro-text", negate=True), "The answer")
    assert (negated.passed, negated.reason) == (False, "answer opens without a preamble: 'The answer' (forbidden by not-no-intro-text)")


@pytest.mark.parametrize(
    ("answer", "line", "reason"),
    [
        ("Point one.\nIn conclusion, it works.\nMore.", "In conclusion, it works.", "line 2 opens a conclusion"),
        ("Point.\n\n## To summarize\n- a", "## To summarize", "line 3 opens a conclusion"),
        ("Point.\nOverall, fine.", "Overall, fine.", "line 2 opens a conclusion"),
        ("Point.\nHope this helps!\n\n", "Hope this helps!", "answer ends with a sign-off"),
        ("Point.\nAnd if you have any other questions, ask.", "And if you have any other questions, ask.", "answer ends with a sign-off"),
        ("Point.\nDon\u2019t hesitate to ask.", "Don\u2019t hesitate to ask.", "answer ends with a sign-off"),
    ],
)
def test_no_conclusion_fails(answer: str, line: str, reason: str) -> None:
    result = constraint("no-conclusion", answer)
    assert_line_reported(result, answer, line)
    assert result.reason == f"{reason}: {quote(line)}"


def test_no_conclusion_passes() -> None:
    answer = "Overall design matters.\nLet me know is only a sign-off on the last line.\nThe end."
    assert constraint("no-conclusion", answer).reason == "answer has no conclusion or sign-off"
    assert constraint("no-conclusion", "").passed


def test_no_conclusion_extra_phrases() -> None:
    assert not constraint("no-conclusion", "a\nIn a nutshell, yes.\nb", phrases=["In a nutshell"]).passed
    assert not constraint("no-conclusion", "a\nCheers!", sign_off=["Cheers"]).passed
    ctx = CheckContext(phrases={"conclusion": ("Bottom line",), "sign_off": ("Ciao",)})
    assert not constraint("no-conclusion", "Bottom line: yes", ctx).passed
    assert not constraint("no-conclusion", "yes\nCiao", ctx).passed
    assert run_check(spec("no-conclusion", negate=True), "a\nGood luck!").passed


def test_bullets_only_passes_on_lists_with_headings() -> None:
    answer = "# Plan\n**Steps:**\n- one\n  * nested\n+ plus\n• dot\n1. first\n2) second\n\n### Notes\n- last"
    assert constraint("bullets-only", answer).reason == "every non-empty line is a bullet or a heading"
    assert constraint("bullets-only", "- a\n- b", allow_headings=False).reason == "every non-empty line is a bullet"


@pytest.mark.parametrize(
    ("answer", "line", "options"),
    [
        ("- a\nSome prose\n- b", "Some prose", {}),
        ("- a\n-no space", "-no space", {}),
        ("**Bold** then text\n- a", "**Bold** then text", {}),
        ("# Title\n- a", "# Title", {"allow_headings": False}),
        ("**Steps:**\n- a", "**Steps:**", {"allow_headings": False}),
    ],
)
def test_bullets_only_reports_the_first_offending_line(answer: str, line: str, options: dict[str, Any]) -> None:
    result = constraint("bullets-only", answer, **options)
    assert_line_reported(result, answer, line)
    assert result.reason.endswith(f"is not a bullet: {quote(line)}")


def test_bullets_only_needs_at_least_one_bullet() -> None:
    assert constraint("bullets-only", "# Only a heading").reason == "answer has no bullet points"
    assert run_check(spec("bullets-only", negate=True), "Prose.").passed


# ---- runner: skip, crash, threshold, weights, assert-sets ---------------------------


def _fixed_score(output: str, check: CheckSpec, ctx: CheckContext) -> Verdict:
    return Verdict(check.value >= 0.5, float(check.value), f"score is {check.value}")


def _crash(output: str, check: CheckSpec, ctx: CheckContext) -> Verdict:
    raise RuntimeError("boom")


# Check types added the way a plugin adds them: the generic rules must treat them as built-ins.
_TEST_CHECKS = CheckRegistry.builtin().copy()
_TEST_CHECKS.add("test-score", _fixed_score)
_TEST_CHECKS.add("test-crash", _crash)
ADDED = CheckContext(registry=_TEST_CHECKS)


def test_skip_unsupported_is_skipped_and_never_negated() -> None:
    check = spec("skip-unsupported", options={"why": "llm-rubric runs in a later issue"}, negate=True)
    result = run_check(check, "x")
    assert (result.passed, result.skipped, result.reason) == (True, True, "llm-rubric runs in a later issue")


def test_a_crashing_check_fails_even_when_negated() -> None:
    for negate in (False, True):
        result = run_check(spec("test-crash", negate=negate), "x", ADDED)
        assert (result.passed, result.score, result.reason) == (False, 0.0, "check crashed: RuntimeError: boom")


def test_an_unknown_type_at_run_time_fails() -> None:
    assert run_check(spec("nope"), "x").reason == "unknown check type 'nope'"


def test_check_threshold_applies_before_negation() -> None:
    assert run_check(spec("test-score", 0.3, threshold=0.25), "x", ADDED).reason == "score is 0.3 (score 0.30 >= threshold 0.25)"
    assert not run_check(spec("test-score", 0.7, threshold=0.8), "x", ADDED).passed
    negated = run_check(spec("test-score", 0.3, threshold=0.25, negate=True), "x", ADDED)
    assert (negated.passed, negated.score) == (False, 0.7)
    assert run_check(spec("test-score", 0.7, threshold=0.8, negate=True), "x", ADDED).passed


def test_scores_are_clamped() -> None:
    assert run_check(spec("test-score", 3.0), "x", ADDED).score == 1.0


def test_evaluate_weighted_mean_and_all_must_pass() -> None:
    checks = [spec("contains", "a", weight=3), spec("contains", "z", weight=1), spec("contains", "q", weight=0)]
    result = evaluate(checks, "abc")
    assert result.score == pytest.approx(0.75)  # weight 0 counts for nothing in the score ...
    assert not result.passed  # ... and without a threshold every check must pass
    assert [r.passed for r in result.results] == [True, False, False]
    assert evaluate(checks, "abc", threshold=0.75).passed
    assert not evaluate(checks, "abc", threshold=0.8).passed
    assert evaluate([spec("test-score", 0.1), spec("test-score", 0.2)], "x", ADDED, threshold=0.15).passed  # float slack


def test_evaluate_excludes_skipped_results() -> None:
    skip = spec("skip-unsupported", options={"why": "later"})
    result = evaluate([skip, spec("contains", "a")], "a")
    assert (result.passed, result.score, len(result.results)) == (True, 1.0, 2)
    assert evaluate([skip], "x").passed and evaluate([], "x").passed
    assert not evaluate([skip, spec("contains", "z")], "a").passed


def test_evaluate_assert_set() -> None:
    group = CheckGroup([spec("contains", "a"), spec("contains", "z")], threshold=0.5, weight=2, name="tone")
    result = evaluate([group, spec("contains", "q")], "abc")
    assert [r.name for r in result.results] == ["tone", "tone > contains: a", "tone > contains: z", "contains: q"]
    summary = result.results[0]
    assert (summary.type, summary.passed, summary.score, summary.weight) == ("assert-set", True, 0.5, 2)
    assert summary.reason == "1/2 checks passed, score 0.50 (>= threshold 0.5)"
    assert result.score == pytest.approx((0.5 * 2 + 0) / 3)  # the group counts once, with its weight
    assert not result.passed  # 'q' is missing
    strict = evaluate([CheckGroup([spec("contains", "a"), spec("contains", "z")])], "abc")
    assert not strict.passed and strict.results[0].name == "assert-set #1"
    nested = CheckGroup([CheckGroup([spec("contains", "a")], name="inner")], name="outer")
    assert [r.name for r in evaluate([nested], "a").results] == ["outer", "outer > inner", "outer > inner > contains: a"]


# ---- validators -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (spec("regx", "x"), "unknown check type 'regx'; known types: answer-relevance, bleu, bullets-only, contains, "),
        (spec("regex", "(ab"), "invalid regex '(ab': missing ), unterminated subpattern at position 0"),
        (spec("regex", None), "regex needs a pattern, e.g. `regex: (?i)pub/sub`"),
        (spec("contains", None), "contains needs a text value, e.g. `contains: some text`"),
        (spec("gh-starts-with", ""), "gh-starts-with needs a text value"),
        (spec("contains", ["a"]), "contains needs a text value"),
        (spec("contains-any", None), "contains-any needs a list of strings or a comma-separated string"),
        (spec("icontains-all", " , "), "icontains-all needs a list of strings"),
        (spec("equals", None), "equals needs a value"),
        (spec("jsonpath"), "jsonpath needs a path, e.g. `path: $.error`"),
        (spec("jsonpath", options={"path": "$.["}), "invalid JSONPath '$.[': "),
        (spec("is-json", "not a schema"), "is-json schema must be a JSON Schema object, got string"),
        (
            spec("is-json", {"properties": {"a": {"type": "str"}}}),
            'is-json schema is not valid JSON Schema Draft 2020-12: schema.properties.a.type: unknown type "str"; '
            "use one of object, array, string, number, integer, boolean, null",
        ),
        (spec("is-json", {"required": "a"}), "is-json schema is not valid JSON Schema Draft 2020-12: schema.required: expected array, got string"),
        (spec("is-json", {"minItems": -1}), "is-json schema is not valid JSON Schema Draft 2020-12: schema.minItems: -1 is less than the minimum of 0"),
        (spec("is-json", {"pattern": "(a"}), "is-json schema is not valid JSON Schema Draft 2020-12: schema.pattern: \"(a\" is not a 'regex'"),
        (spec("is-json", {"$ref": "#/$defs/item"}), "is-json schema is not valid JSON Schema Draft 2020-12: $ref '#/$defs/item' points to nothing in the schema"),
        (
            spec("contains-json", {"$ref": "https://example.com/order.json"}),
            "contains-json schema is not valid JSON Schema Draft 2020-12: $ref 'https://example.com/order.json' cannot be resolved: "
            "promptcheck resolves references inside the schema only and fetches nothing",
        ),
        (
            spec("matches-response-schema", {"type": "object"}),
            "matches-response-schema takes no value: it validates against the prompt's own response schema "
            "(responseFormat: json_schema with jsonSchema)",
        ),
        (spec("no-intro-text", options={"phrases": [""]}), "no-intro-text option `phrases` must be a list of non-empty strings"),
        (spec("no-conclusion", options={"sign_off": {"a": 1}}), "no-conclusion option `sign_off` must be a list"),
        (spec("bullets-only", options={"allow_headings": "no"}), "bullets-only option `allow_headings` must be true or false"),
        (spec("contains", "a", weight=-1), "weight must be a number of at least 0, got -1"),
        (spec("contains", "a", threshold="high"), "threshold must be a number from 0 to 1, got 'high'"),
        (CheckGroup([spec("regex", "(")]), "invalid regex '(': missing ), unterminated subpattern at position 0"),
    ],
)
def test_validator_messages(check: CheckSpec | CheckGroup, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        validate_check(check)
    assert str(raised.value).startswith(message)


def test_unknown_type_suggests_the_closest_name() -> None:
    with pytest.raises(ValueError, match=r"did you mean 'regex'\?$"):
        validate_check(spec("regx", "x"))


def test_valid_declarations_pass_validation() -> None:
    for check in [
        spec("is-json", {"$schema": "x", "title": "t", "type": ["object", "null"], "additionalProperties": {"type": "string"}}),
        spec("no-intro-text", options={"phrases": "Voila"}),
        spec("error-json"),
        spec("expected"),
        spec("skip-unsupported", options={"why": "later"}),
    ]:
        validate_check(check)


def test_registry_loads_every_builtin_module() -> None:
    known = set(CheckRegistry.builtin().names())
    assert {"contains", "gh-equals", "no-intro-text", "bullets-only", "error-json", "skip-unsupported"} <= known


@pytest.mark.parametrize("where", ["contains", "starts", "ends", "equals"])
@pytest.mark.parametrize(
    ("output", "needle"),
    [
        ("Hello, Person00042! Nice.", "person00042"),
        ("HELLO", "hello"),
        ("hello", "HELLO"),
        ("say [a.b]* here", "[A.B]*"),  # regex metacharacters in the needle are text
        ("ends with K", "k"),
        ("nothing here", "absent"),
        ("", ""),
        ("Straße", "STRASSE"),  # not ASCII: re's folding, as before
        ("Kelvin \u212a sign", "k sign"),
    ],
)
def test_locate_ignoring_case_matches_re_ignorecase(output: str, needle: str, where: Any) -> None:
    """ASCII texts skip the regex; every span must be the one re.IGNORECASE finds."""
    import re

    from promptcheck.checks.builtin import _ANCHORS, locate

    before, after = _ANCHORS[where]
    found = re.search(before + re.escape(needle) + after, output, re.IGNORECASE)
    assert locate(output, needle, where, True) == (found.span() if found else None)
