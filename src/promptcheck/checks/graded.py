"""Model-graded checks: a judge model (and, for similarity, an embedding model) grades the answer.

The session hands the judge in through ``CheckContext.judge``/``embed``; without a judge every
check here is skipped with a reason naming ``--judge-model``. A judge reply we cannot read raises
``CheckError`` (the item becomes an ERROR showing the reply), never a silent score of 0.

* ``gh-llm``       GitHub Models ``llm:`` evaluators: prompt + choices, ``gh models eval``'s rule
* ``gh-builtin``   ``uses: github/<name>``: our own 1–5 rating prompts, scored 0, .25, .5, .75, 1
* ``llm-rubric``, ``factuality``, ``g-eval``, ``answer-relevance``, ``similar``: promptfoo's
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Mapping, Sequence

from promptcheck.checks import judge_prompts as prompts
from promptcheck.checks.base import CheckContext, CheckError, CheckSet, Verdict, quote
from promptcheck.spec import CheckSpec

CHECKS = CheckSet()

NO_JUDGE = "model-graded check skipped: no judge model; set --judge-model or [tool.promptcheck] judge"
_PLACEHOLDER = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")
_OBJECT = re.compile(r"\{.*\}", re.S)
FACTUALITY_SCORES = {"A": "subset", "B": "superset", "C": "agree", "D": "disagree", "E": "differButFactual"}
_FACTUALITY_DEFAULTS = {"subset": 1.0, "superset": 1.0, "agree": 1.0, "disagree": 0.0, "differButFactual": 1.0}


# --- shared plumbing ------------------------------------------------------------------------------


def fill(template: str, variables: Mapping[str, Any]) -> str:
    """``{{name}}`` substitution as ``gh models eval`` does it; unknown names stay as written."""

    def value(match: re.Match[str]) -> str:
        found = variables.get(match.group(1))
        return match.group(0) if found is None else found if isinstance(found, str) else json.dumps(found)

    return _PLACEHOLDER.sub(value, template)


def grading_vars(output: str, ctx: CheckContext) -> dict[str, Any]:
    """Case variables plus what judges refer to: input (the last user message unless the case
    names one), expected, and the answer as both ``completion`` (GitHub) and ``output`` (promptfoo)."""
    last_user = next((content for role, content in reversed(ctx.messages) if role == "user"), "")
    return {"input": last_user, "expected": ctx.expected or "", **ctx.case_vars, "completion": output, "output": output}


def ask(ctx: CheckContext, user: str, system: str | None = None) -> str:
    assert ctx.judge is not None
    messages = ([("system", system)] if system else []) + [("user", user)]
    return ctx.judge(messages).text


def unparseable(reply: str, wanted: str) -> CheckError:
    said = quote(reply, 300) if reply.strip() else "(an empty reply)"
    return CheckError(f"judge reply unparseable: expected {wanted}; the judge said {said}")


def choice_score(reply: str, choices: Sequence[Mapping[str, Any]]) -> tuple[str, float]:
    """``gh models eval``: the first choice, in declared order, found in the lowercased reply."""
    lowered = reply.strip().lower()
    for choice in choices:
        if str(choice["choice"]).lower() in lowered:
            return str(choice["choice"]), float(choice["score"])
    raise unparseable(reply, "one of " + ", ".join(repr(str(c["choice"])) for c in choices))


def json_reply(reply: str, wanted: str) -> dict[str, Any]:
    found = _OBJECT.search(reply)
    try:
        data = json.loads(found.group(0)) if found else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise unparseable(reply, wanted)
    return data


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b)) / norm if norm else 0.0


def _scored(score: float, passed: bool, reason: str) -> Verdict:
    return Verdict(passed, max(0.0, min(1.0, score)), reason)


# --- GitHub Models ----------------------------------------------------------------------------


def _validate_gh_llm(spec: CheckSpec) -> None:
    prompt, choices = spec.options.get("prompt"), spec.options.get("choices")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("an llm evaluator needs a 'prompt' string")
    if not isinstance(choices, list) or not choices:
        raise ValueError("an llm evaluator needs 'choices': a list of {choice, score}")
    for choice in choices:
        if not isinstance(choice, dict) or not str(choice.get("choice", "")).strip() or not isinstance(choice.get("score"), (int, float)):
            raise ValueError(f"each llm evaluator choice needs a non-empty 'choice' and a numeric 'score', got {choice!r}")


@CHECKS.register("gh-llm", validate=_validate_gh_llm)
def gh_llm(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    if ctx.judge is None:
        return Verdict(True, 1.0, NO_JUDGE, skipped=True)
    variables = grading_vars(output, ctx)
    system = spec.options.get("systemPrompt")
    reply = ask(ctx, fill(spec.options["prompt"], variables), fill(system, variables) if isinstance(system, str) else None)
    choice, score = choice_score(reply, spec.options["choices"])
    return Verdict(score > 0, score, f"judge chose {choice!r} (score {score:g})")


def _validate_builtin(spec: CheckSpec) -> None:
    if spec.value not in prompts.BUILTIN_PROMPTS:
        raise ValueError(f"unknown built-in evaluator github/{spec.value}; known: {', '.join('github/' + n for n in prompts.BUILTIN_PROMPTS)}")


@CHECKS.register("gh-builtin", validate=_validate_builtin)
def gh_builtin(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    if ctx.judge is None:
        return Verdict(True, 1.0, NO_JUDGE, skipped=True)
    reply = ask(ctx, fill(prompts.BUILTIN_PROMPTS[spec.value], grading_vars(output, ctx)), prompts.RATING_SYSTEM)
    choice, score = choice_score(reply, prompts.RATING_CHOICES)
    return Verdict(score > 0, score, f"github/{spec.value}: rated {choice}/5 (score {score:g})")


# --- promptfoo --------------------------------------------------------------------------------


@CHECKS.register("llm-rubric")
def llm_rubric(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    if ctx.judge is None:
        return Verdict(True, 1.0, NO_JUDGE, skipped=True)
    template = spec.options.get("rubricPrompt") or prompts.RUBRIC_PROMPT
    if not isinstance(template, str):
        template = json.dumps(template)  # promptfoo also takes a list of chat messages here
    rubric = spec.value if isinstance(spec.value, str) else json.dumps(spec.value)
    reply = ask(ctx, fill(template, {**grading_vars(output, ctx), "rubric": rubric}))
    data = json_reply(reply, 'a JSON object with "pass" and/or "score"')
    raw_pass, raw_score = data.get("pass"), data.get("score")
    if not isinstance(raw_pass, bool) and not isinstance(raw_score, (int, float)):
        raise unparseable(reply, 'a JSON object with "pass" (true/false) and/or a numeric "score"')
    score = float(raw_score) if isinstance(raw_score, (int, float)) and not isinstance(raw_score, bool) else float(bool(raw_pass))
    passed = raw_pass if isinstance(raw_pass, bool) else score >= 0.5
    return _scored(score, passed, f"judge: {data.get('reason') or ('pass' if passed else 'fail')}")


_LETTER = re.compile(r"^\W*\(?([A-E])\)?(?:\W|$)")


@CHECKS.register("factuality")
def factuality(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    if ctx.judge is None:
        return Verdict(True, 1.0, NO_JUDGE, skipped=True)
    reference = spec.value if spec.value is not None else ctx.expected
    variables = {**grading_vars(output, ctx), "expected": reference if isinstance(reference, str) else json.dumps(reference)}
    reply = ask(ctx, fill(spec.options.get("rubricPrompt") or prompts.FACTUALITY_PROMPT, variables))
    try:
        data = json_reply(reply, "")
        letter = str(data.get("category", "")).strip("() ").upper()[:1]
        reason = str(data.get("reason") or "")
    except CheckError:
        found = _LETTER.match(reply.strip())
        letter, reason = (found.group(1), "") if found else ("", "")
    if letter not in FACTUALITY_SCORES:
        raise unparseable(reply, 'a category A–E, e.g. {"category": "C", "reason": "..."}')
    config = spec.options.get("config") or {}
    score = float(config.get(FACTUALITY_SCORES[letter], _FACTUALITY_DEFAULTS[FACTUALITY_SCORES[letter]]))
    label = FACTUALITY_SCORES[letter]
    return _scored(score, score > 0, f"factuality ({letter}: {label})" + (f": {reason}" if reason else ""))


_OUT_OF_TEN = re.compile(r"(\d+(?:\.\d+)?)\s*/\s*10\b")


@CHECKS.register("g-eval")
def g_eval(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    if ctx.judge is None:
        return Verdict(True, 1.0, NO_JUDGE, skipped=True)
    criteria = "\n".join(spec.value) if isinstance(spec.value, list) else str(spec.value)
    reply = ask(ctx, fill(prompts.G_EVAL_PROMPT, {**grading_vars(output, ctx), "criteria": criteria}))
    try:
        data = json_reply(reply, "")
        raw, reason = data.get("score"), str(data.get("reason") or "")
    except CheckError:
        found = _OUT_OF_TEN.search(reply)
        raw, reason = (float(found.group(1)) if found else None), ""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 <= raw <= 10:
        raise unparseable(reply, 'a score from 0 to 10, e.g. {"score": 7, "reason": "..."}')
    score = float(raw) / 10
    threshold = spec.threshold if spec.threshold is not None else 0.7
    return _scored(score, score >= threshold, f"g-eval {raw:g}/10" + (f": {reason}" if reason else ""))


def _embed(ctx: CheckContext, texts: list[str]) -> list[list[float]]:
    assert ctx.embed is not None
    vectors = ctx.embed(texts)
    if len(vectors) != len(texts) or any(not v for v in vectors):
        raise CheckError("embedding model returned no vectors")
    return vectors


@CHECKS.register("similar")
def similar(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    if ctx.embed is None:
        return Verdict(True, 1.0, NO_JUDGE, skipped=True)
    wanted = [str(v) for v in spec.value] if isinstance(spec.value, list) else [str(spec.value if spec.value is not None else ctx.expected)]
    vectors = _embed(ctx, [output, *wanted])
    best, closest = max((cosine(vectors[0], v), text) for v, text in zip(vectors[1:], wanted))
    threshold = spec.threshold if spec.threshold is not None else 0.75
    sign = ">=" if best >= threshold else "<"
    return _scored(best, best >= threshold, f"cosine similarity {best:.3f} {sign} {threshold:g} to {quote(closest)}")


@CHECKS.register("answer-relevance")
def answer_relevance(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    if ctx.judge is None or ctx.embed is None:
        return Verdict(True, 1.0, NO_JUDGE, skipped=True)
    variables = grading_vars(output, ctx)
    reply = ask(ctx, fill(prompts.QUESTIONS_PROMPT, {**variables, "count": "3"}))
    questions = [line.strip(" -*0123456789.)\t") for line in reply.splitlines() if line.strip()][:3]
    if not questions:
        raise unparseable(reply, "three questions, one per line")
    vectors = _embed(ctx, [str(variables["input"]), *questions])
    score = sum(cosine(vectors[0], v) for v in vectors[1:]) / len(questions)
    threshold = spec.threshold if spec.threshold is not None else 0.7
    return _scored(score, score >= threshold, f"answer relevance {score:.3f} (mean similarity of {len(questions)} questions the answer fits to the input)")
