"""Prompt texts for the model-graded checks, written for promptcheck (not copied from any tool).

Each built-in states what it judges and a 1–5 scale in plain words, and asks for the digit alone,
because the reply is read with ``gh models eval``'s rule: the first listed choice found in it wins.
Placeholders use ``{{name}}``; see graded.fill."""

from __future__ import annotations

RATING_SYSTEM = (
    "You grade answers written by another AI assistant. Judge only the quality asked about, "
    "follow the scale exactly, and reply with a single digit from 1 to 5 and nothing else."
)

_SCALE = """Scale:
1 = {one}
2 = {two}
3 = {three}
4 = {four}
5 = {five}

Reply with the digit only."""


def _rating(task: str, material: str, **scale: str) -> str:
    return f"{task}\n\n{material}\n\n{_SCALE.format(**scale)}"


BUILTIN_PROMPTS: dict[str, str] = {
    "similarity": _rating(
        "How closely does the ANSWER convey the same meaning as the REFERENCE, given the QUESTION? "
        "Wording may differ; facts and conclusions should match.",
        "QUESTION:\n{{input}}\n\nREFERENCE:\n{{expected}}\n\nANSWER:\n{{completion}}",
        one="says something unrelated to the reference or contradicts it",
        two="shares a few points with the reference but misses or changes most of it",
        three="matches about half of the reference's meaning",
        four="matches the reference's meaning with small gaps or additions",
        five="means the same as the reference",
    ),
    "coherence": _rating(
        "How well does the ANSWER hold together as a whole: do its ideas follow one another "
        "logically and connect into one clear line of thought that addresses the QUESTION?",
        "QUESTION:\n{{input}}\n\nANSWER:\n{{completion}}",
        one="disjointed: sentences do not connect and no line of thought can be followed",
        two="mostly disconnected, with jumps that make it hard to follow",
        three="partly organised; some ideas connect, others stand alone",
        four="well organised with only minor jumps",
        five="every idea follows from the previous one; easy to follow from start to end",
    ),
    "fluency": _rating(
        "How well is the ANSWER written as language, regardless of whether it is correct: "
        "grammar, word choice, spelling and sentence flow.",
        "ANSWER:\n{{completion}}",
        one="hard to read: broken grammar and wrong words throughout",
        two="frequent errors that get in the way of reading",
        three="understandable with noticeable errors or awkward phrasing",
        four="reads well with few small slips",
        five="polished, natural and error-free",
    ),
    "relevance": _rating(
        "How well does the ANSWER address what the QUESTION actually asks, without drifting "
        "into material that was not asked for?",
        "QUESTION:\n{{input}}\n\nANSWER:\n{{completion}}",
        one="does not address the question at all",
        two="touches the topic but misses what was asked",
        three="answers part of the question or pads it with unrelated material",
        four="answers the question with small omissions or detours",
        five="answers exactly what was asked, completely",
    ),
    "groundedness": _rating(
        "Is every claim in the ANSWER supported by the CONTEXT? Claims the context does not back "
        "count against the answer even if they are true elsewhere.",
        "CONTEXT:\n{{context}}\n\nQUESTION:\n{{input}}\n\nANSWER:\n{{completion}}",
        one="contradicts the context or invents most of its claims",
        two="many claims are not backed by the context",
        three="about half of the claims are backed by the context",
        four="nearly all claims are backed; a detail goes beyond the context",
        five="every claim is backed by the context",
    ),
}
RATING_CHOICES = [{"choice": str(n), "score": (n - 1) / 4} for n in range(1, 6)]

RUBRIC_PROMPT = """Decide whether the OUTPUT meets the RUBRIC.

RUBRIC:
{{rubric}}

OUTPUT:
{{output}}

Reply with one JSON object and nothing else:
{"reason": "<one or two sentences>", "pass": true or false, "score": <number from 0.0 to 1.0>}"""

FACTUALITY_PROMPT = """Compare the factual content of a SUBMITTED answer with an EXPERT answer to the same question.
Ignore differences of style, wording and length.

QUESTION:
{{input}}

EXPERT:
{{expected}}

SUBMITTED:
{{output}}

Pick one category:
(A) the submitted answer holds a subset of the expert's facts and agrees with them
(B) the submitted answer holds all of the expert's facts and more, and agrees with them
(C) both hold the same facts
(D) the two disagree on a fact
(E) they differ, but the differences do not change the facts

Reply with one JSON object and nothing else: {"category": "<A-E>", "reason": "<one sentence>"}"""

G_EVAL_PROMPT = """Grade the OUTPUT against the CRITERIA. First think through, privately, which parts of
the criteria the output meets; then give a score from 0 (fails every criterion) to 10 (meets all of them fully).

CRITERIA:
{{criteria}}

INPUT:
{{input}}

OUTPUT:
{{output}}

Reply with one JSON object and nothing else: {"score": <integer 0-10>, "reason": "<one or two sentences>"}"""

QUESTIONS_PROMPT = """Write {{count}} different questions that the ANSWER below would be a direct reply to.
One question per line, no numbering, nothing else.

ANSWER:
{{output}}"""
