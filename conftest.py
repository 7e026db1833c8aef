"""The example's own check type, added through promptcheck's hook (see README, "Custom checks
and providers"). ``promptcheck validate`` reads this file too, so it knows the type as well.

The system prompt of prompts/websocket_push_architect.prompt.yaml asks for **bold text** on
critical architectural decisions; ``bold-decisions`` counts the ``**bold**`` spans an answer has.
It cannot tell a decision from any other bold phrase: it catches an answer that bolds too little."""

from __future__ import annotations

import re

from promptcheck.checks.base import CheckContext, Verdict, quote
from promptcheck.checks.registry import CheckRegistry
from promptcheck.spec import CheckSpec

# **text** on one line, not opened or closed by a space (Markdown's own rule). The prompt asks for
# this spelling; __text__ is left out, as it also matches identifiers like __init__.
BOLD = re.compile(r"\*\*(?=\S)(?:[^*\n]|\*(?!\*))+?(?<=\S)\*\*")


def validate_bold_decisions(spec: CheckSpec) -> None:
    if spec.value is not None and (isinstance(spec.value, bool) or not isinstance(spec.value, int) or spec.value < 1):
        raise ValueError(f"bold-decisions takes the least number of bold spans, a whole number >= 1; got {spec.value!r}")


def bold_decisions(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    """Passes with at least N (the value, default 1) bold spans; the score is the share of N
    found, so ``threshold`` can accept fewer. The span is the first bold phrase."""
    wanted = 1 if spec.value is None else spec.value
    found = list(BOLD.finditer(output))
    score = min(1.0, len(found) / wanted)
    counted = f"{len(found)} bold span{'' if len(found) == 1 else 's'} (at least {wanted} wanted)"
    shown = ", ".join(quote(match.group(), 40) for match in found[:3]) + (", ..." if len(found) > 3 else "")
    if len(found) >= wanted:
        return Verdict(True, score, f"{counted}: {shown}", found[0].span())
    if not found:
        return Verdict(False, 0.0, f"no **bold** text in the answer (at least {wanted} wanted); the prompt asks for critical decisions in bold")
    return Verdict(False, score, f"only {counted}: {shown}")


def pytest_promptcheck_add_checks(registry: CheckRegistry) -> None:
    registry.add("bold-decisions", bold_decisions, validate=validate_bold_decisions)
