"""Model-graded checks: reply parsing (odd replies included), each check type, the readers'
mapping, and judges through pytest (python judge provider; FakeLLM for cassettes and embeddings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakellm import FakeLLM, hashed_embedding
from promptcheck.checks.evaluate import run_check
from promptcheck.checks.graded import choice_score, cosine, fill
from promptcheck.checks.judge_prompts import BUILTIN_PROMPTS, RATING_CHOICES
from promptcheck.checks.base import CheckContext, CheckError
from promptcheck.providers.base import ProviderResponse
from promptcheck.spec import CheckSpec

RATING = RATING_CHOICES


def judged_by(reply: str, calls: list | None = None, embed: bool = True) -> CheckContext:
    def judge(messages: list[tuple[str, str]]) -> ProviderResponse:
        if calls is not None:
            calls.append(messages)
        return ProviderResponse(text=reply)

    embed_fn = (lambda texts: [hashed_embedding(t) for t in texts]) if embed else None
    return CheckContext(case_vars={"topic": "tides"}, expected="The moon pulls the sea.",
                        messages=(("user", "Why are there tides?"),), judge=judge, embed=embed_fn)


# --- parsing odd replies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "score"),
    [("Rating: 4/5", 0.75), ("**3**", 0.5), ("5", 1.0), ("I would say 2.", 0.25), ("  1\n", 0.0)],
)
def test_ratings_use_the_first_listed_choice_found(reply: str, score: float) -> None:
    assert choice_score(reply, RATING)[1] == score


@pytest.mark.parametrize("reply", ["", "   ", "I'm sorry, but I can't help with grading that.", "Excellent!"])
def test_empty_and_refusing_replies_are_errors_that_show_the_reply(reply: str) -> None:
    with pytest.raises(CheckError, match="judge reply unparseable: expected one of '1', '2'") as info:
        choice_score(reply, RATING)
    assert (reply.strip()[:20] or "(an empty reply)") in str(info.value)


def test_unparseable_reply_is_not_a_failed_check() -> None:
    spec = CheckSpec("gh-builtin", value="fluency")
    with pytest.raises(CheckError):
        run_check(spec, "answer", judged_by("I cannot rate this."))


def test_fill_substitutes_known_names_only() -> None:
    assert fill("{{ input }} / {{completion}} / {{nope}}", {"input": "q", "completion": "a"}) == "q / a / {{nope}}"


# --- each check type ----------------------------------------------------------------------------


def test_gh_llm_prompt_vars_and_choice_rule() -> None:
    calls: list = []
    spec = CheckSpec("gh-llm", options={
        "systemPrompt": "You judge.", "prompt": "Q: {{input}} T: {{topic}} E: {{expected}} A: {{completion}}",
        "choices": [{"choice": "bad", "score": 0}, {"choice": "good", "score": 1}],
    })
    result = run_check(spec, "Gravity of the moon.", judged_by("Good, not bad", calls))
    # "bad" is listed first and appears in the reply: gh models eval's rule makes it win.
    assert (result.passed, result.score) == (False, 0.0)
    assert calls == [[("system", "You judge."), ("user", "Q: Why are there tides? T: tides E: The moon pulls the sea. A: Gravity of the moon.")]]


@pytest.mark.parametrize("name", sorted(BUILTIN_PROMPTS))
def test_builtins_state_a_scale_and_fill_the_answer(name: str) -> None:
    calls: list = []
    result = run_check(CheckSpec("gh-builtin", value=name), "Moon pulls water.", judged_by("4", calls))
    assert (result.passed, result.score) == (True, 0.75)
    prompt = calls[0][-1][1]
    assert "Moon pulls water." in prompt and "5 = " in prompt and "1 = " in prompt


def test_llm_rubric_json_threshold_and_custom_prompt() -> None:
    reply = 'Sure: ```json\n{"reason": "mentions the moon", "pass": true, "score": 0.6}\n```'
    assert run_check(CheckSpec("llm-rubric", value="mentions the moon"), "x", judged_by(reply)).passed
    strict = CheckSpec("llm-rubric", value="mentions the moon", threshold=0.8)
    assert not run_check(strict, "x", judged_by(reply)).passed
    calls: list = []
    custom = CheckSpec("llm-rubric", value="R", options={"rubricPrompt": "Grade {{output}} by {{rubric}}"})
    run_check(custom, "ANSWER", judged_by('{"pass": false}', calls))
    assert calls[0][-1][1] == "Grade ANSWER by R"
    with pytest.raises(CheckError, match="unparseable"):
        run_check(CheckSpec("llm-rubric", value="R"), "x", judged_by('{"verdict": "fine"}'))


@pytest.mark.parametrize(("reply", "passed"), [('{"category": "D", "reason": "wrong"}', False), ("(B) it adds detail", True)])
def test_factuality_categories(reply: str, passed: bool) -> None:
    assert run_check(CheckSpec("factuality", value="The moon."), "x", judged_by(reply)).passed is passed


def test_g_eval_scores_out_of_ten() -> None:
    result = run_check(CheckSpec("g-eval", value="clear"), "x", judged_by('{"score": 8, "reason": "ok"}'))
    assert (result.passed, result.score) == (True, 0.8)
    assert not run_check(CheckSpec("g-eval", value="clear"), "x", judged_by("6/10")).passed
    with pytest.raises(CheckError):
        run_check(CheckSpec("g-eval", value="clear"), "x", judged_by("fine"))


def test_similar_uses_embeddings_and_threshold() -> None:
    close = run_check(CheckSpec("similar", value="the moon pulls the sea"), "The moon pulls the sea!", judged_by(""))
    far = run_check(CheckSpec("similar", value="the moon pulls the sea"), "stock prices fell sharply", judged_by(""))
    assert close.passed and close.score > 0.99 and not far.passed
    assert cosine([1, 0], [0, 1]) == 0.0 and cosine([0, 0], [1, 1]) == 0.0


def test_answer_relevance_compares_generated_questions_with_the_input() -> None:
    reply = "Why are there tides?\nWhy are there tides at sea?\nWhy are there tides daily?"
    assert run_check(CheckSpec("answer-relevance"), "The moon.", judged_by(reply)).passed


def test_without_a_judge_every_graded_check_skips_naming_the_option() -> None:
    for spec in (CheckSpec("gh-builtin", value="fluency"), CheckSpec("llm-rubric", value="x"), CheckSpec("similar", value="x"),
                 CheckSpec("gh-llm", options={"prompt": "p", "choices": [{"choice": "a", "score": 1}]})):
        result = run_check(spec, "answer", CheckContext())
        assert result.skipped and "--judge-model" in result.reason


# --- through pytest -----------------------------------------------------------------------------

JUDGE = '''
import json
REPLIES = {"polite": "good", "rude": "bad", "odd": "I'd rather not say."}

def grade(request):
    prompt = request.messages[-1][1]
    if request.params.get("endpoint") == "embeddings":
        return json.dumps([float(len(prompt)), 1.0])
    if "digit only" in prompt:
        return {"text": "Rating: 4/5", "cost": 0.25}
    for word, reply in REPLIES.items():
        if word in prompt:
            return {"text": reply, "cost": 0.25}
    return {"text": "Rating: 4/5", "cost": 0.25}
'''

GH_PROMPT = """\
name: Greeter
messages:
  - role: user
    content: "Be {{tone}}"
testData:
  - {tone: polite}
  - {tone: rude}
  - {tone: odd}
evaluators:
  - name: tone
    llm:
      modelId: openai/gpt-4o-mini
      prompt: "Answer: {{completion}}. Reply good or bad."
      choices: [{choice: good, score: 1.0}, {choice: bad, score: 0.0}]
  - name: fluent
    uses: github/fluency
"""


@pytest.fixture
def graded(echo_project: pytest.Pytester) -> pytest.Pytester:
    echo_project.makepyfile(judge_model=JUDGE)
    echo_project.makefile(".prompt.yml", greeter=GH_PROMPT)
    return echo_project


def test_judged_items_pass_fail_and_error(graded: pytest.Pytester) -> None:
    result = graded.runpytest("--judge-model", "python:judge_model:grade", "-rA")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*judge reply unparseable: expected one of 'good', 'bad'*rather not say*"])
    result.stdout.fnmatch_lines(["*tone — judge chose 'bad' (score 0)*"])
    assert "Traceback" not in result.stdout.str()
    record = json.loads(next((graded.path / "reports" / "runs").glob("*.json")).read_text())
    polite = next(i for i in record["items"] if i["case_id"] == "polite")
    assert polite["judge_cost"] == 0.5 and polite["cost"] == 0.5  # echo is free; two judge calls
    errored = next(i for i in record["items"] if i["case_id"] == "odd")
    assert errored["status"] == "error" and "rather not say" in errored["error"]


def test_without_a_judge_graded_evaluators_skip_clearly(graded: pytest.Pytester) -> None:
    result = graded.runpytest("-rs")
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["*no judge model; set --judge-model or [[]tool.promptcheck[]] judge*"])


def test_judge_calls_record_and_replay_through_cassettes(echo_project: pytest.Pytester) -> None:
    prompt = """\
name: Tides
messages: [{role: user, content: "Why are there tides?"}]
testData: [{id: tides}]
evaluators:
  - {name: fluent, uses: github/fluency}
"""
    echo_project.makefile(".prompt.yml", tides=prompt)
    with FakeLLM(responder=lambda kind, body: "3") as fake:
        echo_project.makepyprojecttoml(
            '[tool.promptcheck]\nmodels = ["echo"]\njudge = "fakejudge"\n'
            f'[tool.promptcheck.providers.fakejudge]\ntype = "compatible"\nmodel = "judge-1"\nbase_url = "{fake.openai_base_url}"\n'
        )
        echo_project.runpytest("--record-mode=new").assert_outcomes(passed=1)
        assert [r.body["temperature"] for r in fake.requests] == [0]
        echo_project.runpytest().assert_outcomes(passed=1)  # replayed: the judge is not asked again
        assert len(fake.requests) == 1


def test_similar_through_the_openai_embeddings_api(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yml", sim="""\
name: Sim
messages: [{role: user, content: "the moon pulls the sea"}]
testData: [{id: echoed, inputs: {}, checks: [{type: similar, value: "The moon pulls the sea.", threshold: 0.9}]}]
""")
    with FakeLLM() as fake:
        echo_project.makepyprojecttoml(
            '[tool.promptcheck]\nmodels = ["echo"]\njudge = "fakejudge"\nembedding_model = "fakejudge"\n'
            f'[tool.promptcheck.providers.fakejudge]\ntype = "compatible"\nmodel = "embed-1"\nbase_url = "{fake.openai_base_url}"\n'
        )
        echo_project.runpytest("--record-mode=new").assert_outcomes(passed=1)
        assert {r.path for r in fake.requests} == {"/v1/embeddings"}


def test_promptfoo_model_graded_asserts_map_to_judged_checks(tmp_path: Path) -> None:
    from promptcheck.formats.fields import Problems
    from promptcheck.formats.promptfoo.asserts import parse_asserts
    from promptcheck.spec import Location

    raw = [
        {"type": "llm-rubric", "value": "is kind", "threshold": 0.5, "rubricPrompt": "Grade {{output}}"},
        {"type": "model-graded-factuality", "value": "fact"},
        {"type": "similar", "value": "x", "threshold": 0.8},
        {"type": "g-eval", "value": "clear"},
        {"type": "answer-relevance"},
    ]
    problems = Problems("promptfooconfig.yaml")
    specs = parse_asserts(raw, problems, Location("promptfooconfig.yaml"), tmp_path)
    problems.raise_if_any()
    assert [s.type for s in specs] == ["llm-rubric", "factuality", "similar", "g-eval", "answer-relevance"]
    assert specs[0].threshold == 0.5 and specs[0].options["rubricPrompt"] == "Grade {{output}}"
