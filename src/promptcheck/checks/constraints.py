"""Negative constraints: formatting habits a prompt told the model to drop.

Every failure points at one line: the span covers the line (without its newline) and the
reason quotes it, so a report can highlight exactly what the model should not have said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from promptcheck.checks.phrases import CONCLUSION_OPENERS, INTRO_PHRASES, SIGN_OFF_PHRASES
from promptcheck.checks.base import CheckContext, CheckSet, Validator, Verdict, quote
from promptcheck.spec import CheckSpec

CHECKS = CheckSet()

_LETTER = r"[^\W\d_]"
_MARKDOWN_LEAD = " \t#*_>"  # heading, emphasis and quote markers before the first word
_FENCE = re.compile(r"[ \t]*(```|~~~)")
_BULLET = re.compile(r"[ \t]*(?:[-*+•]|\d+[.)])[ \t]+\S")
_HEADING = re.compile(r"[ \t]*#{1,6}(?:[ \t]|$)")
_BOLD_TITLE = re.compile(r"[ \t]*\*\*[^*].*?\*\*:?[ \t]*$")


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, as an editor shows it
    start: int
    end: int
    text: str

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)


def non_empty_lines(output: str) -> list[Line]:
    lines: list[Line] = []
    pos = 0
    # Split on "\n" only: str.splitlines also breaks on characters models emit inside text.
    for number, raw in enumerate(output.split("\n"), start=1):
        text = raw.rstrip("\r")
        if text.strip():
            lines.append(Line(number, pos, pos + len(text), text))
        pos += len(raw) + 1
    return lines


def _normalise(text: str) -> str:
    # Models write typographic apostrophes; the phrase lists use plain ones. Same length,
    # so match positions stay valid.
    return text.replace("\u2019", "'")


def _bounded(phrase: str) -> str:
    """A phrase that only matches as whole words: "Sure" must not fire on "Surely"."""
    phrase = _normalise(phrase)
    head = f"(?<!{_LETTER})" if phrase[:1].isalpha() else ""
    tail = f"(?!{_LETTER})" if phrase[-1:].isalpha() else ""
    return head + re.escape(phrase) + tail


@lru_cache(maxsize=64)
def phrase_regex(phrases: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so the reported match is the most specific phrase.
    ordered = sorted({p for p in phrases if p}, key=lambda p: (-len(p), p))
    return re.compile("|".join(_bounded(p) for p in ordered) or r"(?!)", re.IGNORECASE)


def _extra(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def phrases_for(kind: str, base: tuple[str, ...], ctx: CheckContext, option: Any) -> re.Pattern[str]:
    """The built-in list plus run-time extras from the context and from the check."""
    return phrase_regex(base + _extra(ctx.phrases.get(kind)) + _extra(option))


def _opening(line: Line) -> str:
    return _normalise(line.text.lstrip(_MARKDOWN_LEAD))


def _validate_phrases(*keys: str) -> Validator:
    def validate(spec: CheckSpec) -> None:
        for key in keys:
            extra = spec.options.get(key)
            if extra is None:
                continue
            items = [extra] if isinstance(extra, str) else extra
            if not isinstance(items, (list, tuple)) or not all(isinstance(p, str) and p.strip() for p in items):
                raise ValueError(f"{spec.type} option `{key}` must be a list of non-empty strings")

    return validate


@CHECKS.register("no-code-blocks")
def no_code_blocks(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    for line in non_empty_lines(output):
        if _FENCE.match(line.text):
            return Verdict(False, 0.0, f"answer has a code block at line {line.number}: {quote(line.text)}", line.span)
    return Verdict(True, 1.0, "answer has no code blocks")


@CHECKS.register("no-intro-text", validate=_validate_phrases("phrases"))
def no_intro_text(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    lines = non_empty_lines(output)
    if not lines:
        return Verdict(True, 1.0, "answer is empty, so it has no preamble")
    first = lines[0]
    if phrases_for("intro", INTRO_PHRASES, ctx, spec.options.get("phrases")).match(_opening(first)):
        return Verdict(False, 0.0, f"answer opens with a preamble: {quote(first.text)}", first.span)
    return Verdict(True, 1.0, f"answer opens without a preamble: {quote(first.text)}")


@CHECKS.register("no-conclusion", validate=_validate_phrases("phrases", "sign_off"))
def no_conclusion(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    lines = non_empty_lines(output)
    openers = phrases_for("conclusion", CONCLUSION_OPENERS, ctx, spec.options.get("phrases"))
    for line in lines:
        if openers.match(_opening(line)):
            return Verdict(False, 0.0, f"line {line.number} opens a conclusion: {quote(line.text)}", line.span)
    sign_offs = phrases_for("sign_off", SIGN_OFF_PHRASES, ctx, spec.options.get("sign_off"))
    if lines and sign_offs.search(_normalise(lines[-1].text)):
        last = lines[-1]
        return Verdict(False, 0.0, f"answer ends with a sign-off: {quote(last.text)}", last.span)
    return Verdict(True, 1.0, "answer has no conclusion or sign-off")


def _validate_bullets(spec: CheckSpec) -> None:
    if not isinstance(spec.options.get("allow_headings", True), bool):
        raise ValueError("bullets-only option `allow_headings` must be true or false")


@CHECKS.register("bullets-only", validate=_validate_bullets)
def bullets_only(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    allow_headings = spec.options.get("allow_headings", True)
    bullets = 0
    for line in non_empty_lines(output):
        if _BULLET.match(line.text):
            bullets += 1
        elif not (allow_headings and (_HEADING.match(line.text) or _BOLD_TITLE.match(line.text))):
            return Verdict(False, 0.0, f"line {line.number} is not a bullet: {quote(line.text)}", line.span)
    # A bullet list with no bullets (an empty answer, or only headings) is not what was asked.
    if bullets == 0:
        return Verdict(False, 0.0, "answer has no bullet points")
    kind = "a bullet or a heading" if allow_headings else "a bullet"
    return Verdict(True, 1.0, f"every non-empty line is {kind}")
