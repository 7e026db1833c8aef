"""An item's final ItemResult from what pytest made of it: the engine's result, adjusted for what
only pytest decides (a skip marker, a strict xfail), or built from the report when the engine
never ran (a skip before setup, a crash)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from promptcheck.engine.results import item_result, with_changes
from promptcheck.redaction import may_hold_secret, remembered, scrub
from promptcheck.pytest_plugin.items import PromptItem
from promptcheck.runs.record import ItemResult


def final_result(item: PromptItem, report: pytest.TestReport, call: pytest.CallInfo[None]) -> ItemResult:
    result = item.result
    if result is None or (report.when == "setup" and report.failed and result.status != "error"):
        result = _without_engine(item, report, call)
    if getattr(report, "wasxfail", None) is not None and report.skipped:
        # A deliberately bad answer that was rejected: not a failure of the model under test.
        result = with_changes(result, status="skip", skip_reason=f"expected failure: {item.plan.xfail_reason}")
    elif report.failed and result.status == "pass":  # strict xfail that passed: the check stopped rejecting
        result = with_changes(result, status="fail", error=f"expected to fail ({item.plan.xfail_reason}) but passed")
    return with_changes(result, nodeid=item.nodeid)


def _without_engine(item: PromptItem, report: pytest.TestReport, call: pytest.CallInfo[None]) -> ItemResult:
    message = _message(call)
    if report.skipped:
        return item_result(item.plan, "skip", skip_reason=message)
    return item_result(item.plan, "error", error=message or f"{report.when} failed")


def _message(call: pytest.CallInfo[None]) -> str | None:
    if call.excinfo is None:
        return None
    value: Any = call.excinfo.value
    return str(getattr(value, "msg", value))


def redacted(result: ItemResult, env_secrets: list[str]) -> ItemResult:
    """A model may repeat a key it was shown, a server the key it was sent: results get the
    cassettes' scrubbing at the source, before they reach pytest's failure text, test reports
    (xdist, --junitxml), run records or HTML. ``env_secrets``: the session's scan of the
    environment; the keys providers were configured with are added here (redaction.remember)."""
    secrets = sorted({*env_secrets, *remembered()}, key=len, reverse=True)
    if not may_hold_secret(msgspec.json.encode(result).decode(), secrets):
        return result
    return msgspec.convert(scrub(msgspec.to_builtins(result), secrets), ItemResult)
