"""promptfoo's remaining assertion types (issue 15) where a conformance row is not enough:
finish reasons through the real SDKs and cassettes, the webhook against a loopback server,
and the one-line skips of what promptcheck cannot run."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakellm import FakeLLM

from promptcheck.checks import textmetrics
from promptcheck.checks.base import CheckContext
from promptcheck.checks.evaluate import evaluate
from promptcheck.engine.webhook import WebhookCalls
from promptcheck.formats.fields import Problems
from promptcheck.formats.promptfoo.asserts import parse_assert
from promptcheck.providers.finish import normalize_finish_reason
from promptcheck.providers.webhook import WebhookProvider
from promptcheck.spec import Location

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark", "-rs")


def run(assertion: dict[str, Any], answer: str, ctx: CheckContext | None = None) -> tuple[bool, float, str, bool]:
    problems = Problems("promptfooconfig.yaml")
    check = parse_assert(assertion, problems, Location("promptfooconfig.yaml"), Path("."))
    assert not problems.errors, problems.errors
    result = evaluate([check], answer, ctx or CheckContext()).results[0]
    return result.passed, round(result.score, 4), result.reason, result.skipped


# -- finish-reason ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw, normalised", [
    ("stop", "stop"), ("length", "length"), ("content_filter", "content_filter"), ("tool_calls", "tool_calls"),
    ("function_call", "tool_calls"), ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
    ("tool_use", "tool_calls"), ("Refusal", "refusal"), ("", None), (None, None),
])
def test_finish_reasons_are_normalised_as_promptfoo_does(raw: str | None, normalised: str | None) -> None:
    assert normalize_finish_reason(raw) == normalised


def _config(pytester: pytest.Pytester, provider: str, base_url: str, expected: str) -> None:
    pytester.makepyprojecttoml("[tool.promptcheck]\n")
    pytester.makefile(".yaml", promptfooconfig=yaml.safe_dump({
        "prompts": ["Say {{word}}"],
        "providers": [{"id": provider, "config": {"apiBaseUrl": base_url}}],
        "tests": [{"vars": {"word": "hi"}, "assert": [{"type": "finish-reason", "value": expected}]}],
    }))


@pytest.mark.parametrize("provider, raw, expected", [
    ("openai:chat:gpt-4o-mini", None, "stop"),
    ("openai:chat:gpt-4o-mini", "length", "length"),
    ("anthropic:messages:claude-3-5-haiku-latest", None, "stop"),  # end_turn
    ("anthropic:messages:claude-3-5-haiku-latest", "max_tokens", "length"),
])
def test_finish_reason_from_the_sdks_is_recorded_and_replayed(
    pytester: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, provider: str, raw: str | None, expected: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    fake_llm.finish_reason = raw
    base = fake_llm.openai_base_url if provider.startswith("openai") else fake_llm.anthropic_base_url
    _config(pytester, provider, base, expected)
    pytester.runpytest(*QUIET, "--record-mode=new").assert_outcomes(passed=1)
    cassettes = list((pytester.path / "cassettes").rglob("*.yaml"))
    entry = next(iter(yaml.safe_load(cassettes[0].read_text())["entries"].values()))
    assert entry["response"]["finish_reason"] == expected
    fake_llm.stop()
    pytester.runpytest(*QUIET, "--record-mode=none").assert_outcomes(passed=1)


def test_a_wrong_finish_reason_fails_naming_both(pytester: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    fake_llm.finish_reason = "length"
    _config(pytester, "openai:chat:gpt-4o-mini", fake_llm.openai_base_url, "stop")
    result = pytester.runpytest(*QUIET, "--record-mode=new")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['*Expected finish reason "stop" but got "length"*'])


def test_an_old_cassette_entry_without_a_finish_reason_says_so() -> None:
    passed, _, reason, _ = run({"type": "finish-reason", "value": "stop"}, "x", CheckContext(replayed=True))
    assert not passed
    assert reason == "the recorded answer has no finish reason (its cassette entry predates them); re-record it"


def test_a_provider_without_a_finish_reason_fails_as_in_promptfoo() -> None:
    assert run({"type": "finish-reason", "value": "stop"}, "x") == (False, 0.0, "Provider did not supply stop/finish reason", False)


def test_not_finish_reason_passes_when_the_provider_gave_none() -> None:
    # promptfoo 0.123.1: the negation of "no finish reason" passes.
    assert run({"type": "not-finish-reason", "value": "stop"}, "x")[:2] == (True, 1.0)


def test_finish_reason_compares_case_insensitively() -> None:
    assert run({"type": "finish-reason", "value": "STOP"}, "x", CheckContext(finish_reason="stop"))[0]
    assert not run({"type": "not-finish-reason", "value": "stop"}, "x", CheckContext(finish_reason="stop"))[0]


# -- webhook ---------------------------------------------------------------------------------


@pytest.fixture
def webhook_server() -> Iterator[tuple[str, list[dict[str, Any]], list[Any]]]:
    """A loopback server answering each POST with the next queued reply (bytes as they are);
    records the bodies."""
    seen: list[dict[str, Any]] = []
    replies: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            reply = replies.pop(0)
            status, body = reply if isinstance(reply, tuple) else (200, reply)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/grade", seen, replies
    server.shutdown()
    server.server_close()


# What the engine gives a check: the webhook provider, unrecorded here (the session tests below record).
LIVE = WebhookCalls(WebhookProvider(), "")


def test_webhook_posts_output_and_context_and_reads_the_verdict(webhook_server: tuple[str, list[dict[str, Any]], list[Any]]) -> None:
    url, seen, replies = webhook_server
    replies.extend([{"pass": True, "score": 0.8, "reason": "looks good"}, {"pass": False}])
    ctx = CheckContext(case_vars={"city": "Oslo"}, messages=(("user", "Weather in Oslo?"),), webhook=LIVE)
    assert run({"type": "webhook", "value": url}, "Sunny", ctx) == (True, 0.8, "looks good", False)
    assert seen[0] == {"output": "Sunny", "context": {"prompt": "Weather in Oslo?", "vars": {"city": "Oslo"}}}
    assert run({"type": "not-webhook", "value": url}, "Rain", ctx)[:2] == (True, 1.0)


def test_webhook_http_error_fails_with_the_status(webhook_server: tuple[str, list[dict[str, Any]], list[Any]]) -> None:
    url, _, replies = webhook_server
    replies.append((500, {"error": "boom"}))
    assert run({"type": "webhook", "value": url}, "x", CheckContext(webhook=LIVE))[2] == f"Webhook error: {url} answered HTTP 500"


@pytest.mark.parametrize("reply, why", [(b"not json", "did not answer JSON"), ({"score": 1}, "answered without a boolean 'pass'")])
def test_webhook_without_a_verdict_fails_saying_so(webhook_server: tuple[str, list[dict[str, Any]], list[Any]], reply: Any, why: str) -> None:
    url, _, replies = webhook_server
    replies.append(reply)
    assert run({"type": "webhook", "value": url}, "x", CheckContext(webhook=LIVE))[:3] == (False, 0.0, f"Webhook error: {url} {why}")


def test_webhook_unreachable_fails_naming_the_url() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    passed, score, reason, _ = run({"type": "webhook", "value": f"http://127.0.0.1:{port}/x"}, "x", CheckContext(webhook=LIVE))
    assert (passed, score) == (False, 0.0)
    assert reason.startswith(f"Webhook error: cannot reach http://127.0.0.1:{port}/x (")


@pytest.fixture
def grader() -> Iterator[tuple[str, list[str], Callable[[], None]]]:
    """A loopback webhook passing answers that say "good", and a way to stop it mid-test; records
    the outputs it was asked about."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            output = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["output"]
            seen.append(output)
            data = json.dumps({"pass": "good" in output, "reason": f"graded {output!r}"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stopped = threading.Event()

    def stop() -> None:
        if not stopped.is_set():
            stopped.set()
            server.shutdown()
            server.server_close()

    yield f"http://127.0.0.1:{server.server_address[1]}/grade", seen, stop
    stop()


def _webhook_config(pytester: pytest.Pytester, url: str) -> None:
    pytester.makepyprojecttoml("[tool.promptcheck]\n")
    pytester.makefile(".yaml", promptfooconfig=yaml.safe_dump({
        "prompts": ["Say {{word}}"], "providers": ["echo"],
        "defaultTest": {"assert": [{"type": "webhook", "value": url}]},
        "tests": [{"description": "good one", "vars": {"word": "good"}}, {"description": "bad one", "vars": {"word": "bad"}}],
    }))


@pytest.mark.parametrize("workers", [(), ("-n", "2")])
def test_webhook_verdicts_are_recorded_and_replay_without_the_server(
    pytester: pytest.Pytester, grader: tuple[str, list[str], Callable[[], None]], workers: tuple[str, ...],
) -> None:
    url, seen, stop = grader
    _webhook_config(pytester, url)
    recorded = pytester.runpytest(*QUIET, *workers, "--record-mode=new")
    recorded.assert_outcomes(passed=1, failed=1)
    recorded.stdout.fnmatch_lines(["*graded 'Say bad'*"])
    assert sorted(seen) == ["Say bad", "Say good"]
    entries = yaml.safe_load((pytester.path / "cassettes" / "promptfooconfig" / "webhook.yaml").read_text())["entries"]
    assert sorted(e["request"]["messages"][0]["content"] for e in entries.values()) == ["Say bad", "Say good"]
    stop()
    replayed = pytester.runpytest(*QUIET, *workers, "--record-mode=none")
    replayed.assert_outcomes(passed=1, failed=1)
    replayed.stdout.fnmatch_lines(["*graded 'Say bad'*"])
    assert len(seen) == 2  # nothing was asked again


@pytest.mark.parametrize("workers", [(), ("-n", "2")])
def test_a_webhook_verdict_not_recorded_is_an_error_under_record_mode_none(
    pytester: pytest.Pytester, grader: tuple[str, list[str], Callable[[], None]], workers: tuple[str, ...],
) -> None:
    url, seen, _ = grader
    _webhook_config(pytester, url)
    result = pytester.runpytest(*QUIET, *workers, "--record-mode=none")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([(
        f"*webhook {url}: no recorded answer for promptfooconfig.yaml::good-one[[]echo[]] in *webhook.yaml"
        " (record mode 'none' never calls the API). Record it with: pytest promptfooconfig.yaml --record-mode=new -k 'good-one'*"
    )])
    assert seen == []


def test_a_webhook_that_fails_is_not_recorded(pytester: pytest.Pytester, grader: tuple[str, list[str], Callable[[], None]]) -> None:
    url, _, stop = grader
    stop()
    _webhook_config(pytester, url)
    result = pytester.runpytest(*QUIET, "--record-mode=new")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([f"*Webhook error: cannot reach {url} (*"])
    assert not (pytester.path / "cassettes" / "promptfooconfig" / "webhook.yaml").exists()


# -- skips -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, why", [
    ("classifier", "classifier needs a HuggingFace text-classification model (promptfoo calls the HuggingFace Inference API); promptcheck has no such provider"),
    ("moderation", "moderation needs a moderation API (OpenAI's, or Llama Guard); promptcheck does not call one yet"),
    ("select-best", "select-best needs a judge comparing the answers of several prompts at once; promptcheck grades each answer alone"),
    ("f-score", "f-score is a derived metric in promptfoo (derivedMetrics over named assertions), which promptcheck does not compute"),
])
def test_types_promptcheck_cannot_run_skip_saying_what_they_need(kind: str, why: str) -> None:
    assert run({"type": kind, "value": "x"}, "x") == (True, 1.0, why, True)


def test_ruby_skips_without_ruby_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert run({"type": "ruby", "value": "output.length > 1"}, "x")[2:] == ("ruby assertions need ruby on PATH, and there is none", True)


def test_a_skipped_type_is_reported_in_pytest(pf: pytest.Pytester) -> None:
    pf.makefile(".yaml", promptfooconfig=yaml.safe_dump({
        "prompts": ["{{q}}"], "providers": ["echo"],
        "tests": [{"vars": {"q": "hi"}, "assert": [{"type": "moderation"}]}],
    }))
    result = pf.runpytest(*QUIET)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*moderation needs a moderation API*"])


@pytest.mark.parametrize("kind", ["rouge-n", "gleu", "meteor"])
def test_metrics_without_nltk_skip_naming_the_extra(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textmetrics, "_nltk", lambda: None)
    assert run({"type": kind, "value": "a b"}, "a b")[2:] == (f"{kind} needs nltk: pip install 'promptcheck[metrics]'", True)


def test_meteor_without_wordnet_skips_and_never_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("nltk")
    monkeypatch.setattr(textmetrics, "_wordnet", lambda nltk: None)
    assert run({"type": "meteor", "value": "a b"}, "a b")[2:] == (
        "meteor needs nltk's WordNet data, which promptcheck never downloads while testing: "
        "install it once with: python -m nltk.downloader wordnet", True)


class NoSynonyms:
    """A WordNet with no synonyms: METEOR then rests on its exact and stem stages."""

    def synsets(self, word: str) -> list[Any]:
        return []


@pytest.mark.parametrize("assertion, answer, passed, score", [
    # promptfoo's formula by hand: 6 matches in one chunk: fmean 1, penalty 0.5 * (1/6)^3
    ({"type": "meteor", "value": "the cat sat on the mat"}, "the cat sat on the mat", True, 0.9977),
    # "cats" meets "cat" at the stem stage; "." is stripped from words as promptfoo does
    ({"type": "meteor", "value": "the cat sat."}, "the cats sat", True, 0.9815),
    ({"type": "meteor", "value": "completely different"}, "nothing shared", False, 0.0),
    ({"type": "not-meteor", "value": "completely different"}, "nothing shared", True, 1.0),
])
def test_meteor_with_nltk(assertion: dict[str, Any], answer: str, passed: bool, score: float, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("nltk")
    monkeypatch.setattr(textmetrics, "_wordnet", lambda nltk: NoSynonyms())
    assert run(assertion, answer)[:2] == (passed, score)


def test_levenshtein_of_two_long_answers_is_quick_and_exact() -> None:
    # The pure-Python version took seconds for two 3,600-character answers; rapidfuzz does not.
    a, b = "lorem ipsum " * 300, "lorem ipsam " * 300
    assert run({"type": "levenshtein", "value": a, "threshold": 300}, b)[:2] == (True, 1.0)
    assert run({"type": "levenshtein", "value": a, "threshold": 299}, b)[2].startswith("edit distance 300 > 299")


@pytest.mark.parametrize("keep_meta, outcome", [(True, "passed"), (False, "failed")])
def test_a_cassette_recorded_before_finish_reasons_still_replays(
    pytester: pytest.Pytester, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, keep_meta: bool, outcome: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    _config(pytester, "openai:chat:gpt-4o-mini", fake_llm.openai_base_url, "stop")
    pytester.runpytest(*QUIET, "--record-mode=new").assert_outcomes(passed=1)
    fake_llm.stop()
    cassette = next((pytester.path / "cassettes").rglob("*.yaml"))
    doc = yaml.safe_load(cassette.read_text())
    for entry in doc["entries"].values():  # as an older promptcheck wrote it
        del entry["response"]["finish_reason"]
        if not keep_meta:
            del entry["response"]["meta"]["finish_reason"]
    cassette.write_text(yaml.safe_dump(doc))
    result = pytester.runpytest(*QUIET, "--record-mode=none")
    result.assert_outcomes(**{outcome: 1})
    if outcome == "failed":
        result.stdout.fnmatch_lines(["*the recorded answer has no finish reason (its cassette entry predates them); re-record it*"])
