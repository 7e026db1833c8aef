"""A case's ``turns:``: a conversation the model answers turn by turn.

::

    cases:
      - id: refund-thread
        inputs: {order: "42"}
        turns:
          - user: I want a refund for order {{ order }}.
            checks: [{type: contains, value: "{{ order }}"}]
          - user: It arrived broken.
            reply: Sorry to hear that. Do you have a photo?   # fixed: the model does not answer it
          - user: Yes, here it is.
            checks: [{type: icontains, value: refund}]
"""

from __future__ import annotations

from typing import Any

from promptcheck.formats.checkdecl import parse_checks
from promptcheck.formats.fields import Problems, mappings, type_name
from promptcheck.formats.reference import parse_output
from promptcheck.spec import Location, Turn

TURN_KEYS = {"user", "checks", "reply", "output"}
# Case keys that describe one answer, which a conversation does not have, and what to write instead.
NOT_WITH_TURNS = {"expected": "give the turn it is about its own checks", "output": "give each answered turn its own output"}


def parse_turns(entry: dict[str, Any], problems: Problems, location: Location) -> list[Turn]:
    """The case's turns, or [] when it has none; every problem is reported."""
    raw = entry.get("turns")
    if raw is None:
        return []
    where = problems.at_key(entry, "turns")
    if not isinstance(raw, list) or not raw:
        problems.error(f"'turns' must be a non-empty list of turns ({{user: ..., checks: [...]}}), got {type_name(raw)}", where)
        return []
    for key, instead in NOT_WITH_TURNS.items():
        if key in entry:
            problems.error(
                f"'{key}' describes a single answer and cannot be used with 'turns': {instead}",
                problems.at_key(entry, key),
            )
    turns = [_turn(item, problems, problems.at_item(raw, index), index) for index, item in mappings(raw, problems, "turns")]
    parsed = [t for t in turns if t is not None]
    if parsed and len(parsed) == len(raw) and parsed[-1].reply is not None:
        problems.error(
            f"turn {len(parsed)} is the last turn and has a fixed 'reply': the model must answer the last turn",
            parsed[-1].location,
        )
    return parsed


def _turn(item: dict[str, Any], problems: Problems, at: Location, index: int) -> Turn | None:
    unknown = sorted(set(map(str, item)) - TURN_KEYS)
    if unknown:
        problems.error(f"unknown key(s) in turn: {', '.join(unknown)} (known: {', '.join(sorted(TURN_KEYS))})", at)
    user = item.get("user")
    # The first turn may leave it out: the model answers the prompt's own messages (whether they
    # end with the user's is checked when the case is planned).
    answers_prompt = user is None and index == 0 and item.get("reply") is None
    if not isinstance(user, str) and not answers_prompt:
        problems.error(f"a turn needs 'user': the user's message as text, got {type_name(user)}", at)
        return None
    reply = item.get("reply")
    if reply is not None and not isinstance(reply, str):
        problems.error(f"'reply' must be the assistant's message as text, got {type_name(reply)}", problems.at_key(item, "reply"))
        reply = None
    checks = parse_checks(item.get("checks"), problems, problems.at_key(item, "checks"), "checks")
    for key in ("checks", "output"):
        if reply is not None and item.get(key):
            problems.error(f"a turn with a fixed 'reply' is not answered by the model, so it takes no '{key}'", problems.at_key(item, key))
    return Turn(user=user, checks=list(checks), reply=reply, location=at, reference_output=parse_output(item, problems),
                answers_prompt=answers_prompt)
