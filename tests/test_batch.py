"""--batch through the real SDKs against FakeBatchLLM: both APIs, failures, resume, splitting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakebatch import FakeBatchLLM
from fakellm import two_provider_pyproject
from liveproject import run_record

from promptcheck.providers.batch.common import Limits, split
from promptcheck.providers.batch.runner import BatchResults, run_batches
from promptcheck.config import Settings
from promptcheck.providers.base import ProviderError, ProviderRequest
from promptcheck.providers.cassette import CassetteStore
from promptcheck.providers.factory import ProviderFactory

MODELS = {"gpt": ("openai", "gpt-4o"), "claude": ("anthropic", "claude-3-5-haiku-20241022")}


@pytest.fixture
def fake_batch_llm(fake_api_keys: None) -> Iterator[FakeBatchLLM]:
    """conftest.py's ``fake_llm`` with the batch APIs, and test keys in the environment."""
    with FakeBatchLLM() as server:
        yield server


def factory(tmp_path: Path, fake_batch_llm: FakeBatchLLM, mode: str = "new", run_id: str = "run-1") -> ProviderFactory:
    providers = {
        "gpt": {"type": "openai", "model": "gpt-4o", "base_url": fake_batch_llm.openai_base_url},
        "claude": {"type": "anthropic", "model": MODELS["claude"][1], "base_url": fake_batch_llm.anthropic_base_url},
    }
    settings = Settings(rootdir=tmp_path, providers=providers, record_mode=mode, max_retries=0, timeout_s=5)
    return ProviderFactory(settings, CassetteStore(tmp_path / "cassettes", run_id=run_id, flush_interval_s=0))


def requests(label: str, n: int, word: str = "answer") -> list[ProviderRequest]:
    provider, model = MODELS[label]
    return [
        ProviderRequest(provider, model, label, (("system", "be brief"), ("user", f"{word} {i}")), item_id=f"p.prompt.yaml::c{i}[{label}]")
        for i in range(n)
    ]


def run(tmp_path: Path, fake_batch_llm: FakeBatchLLM, reqs: list[ProviderRequest], **kwargs: Any) -> BatchResults:
    kwargs.setdefault("run_id", "run-1")
    made = kwargs.pop("made", None) or factory(tmp_path, fake_batch_llm, run_id=kwargs["run_id"])
    return run_batches(reqs, made, tmp_path / "reports" / "batches", poll_s=0.001, **kwargs)


def replay(tmp_path: Path, fake_batch_llm: FakeBatchLLM, request: ProviderRequest) -> str:
    return factory(tmp_path, fake_batch_llm, mode="none").call(request).text


def test_one_batch_per_model_answers_land_in_cassettes(tmp_path: Path, fake_batch_llm: FakeBatchLLM) -> None:
    fake_batch_llm.in_progress_polls = 2
    lines: list[str] = []
    reqs = requests("gpt", 5) + requests("claude", 4)
    results = run(tmp_path, fake_batch_llm, reqs, progress=lines.append)

    assert results.failures == {} and results.answered == 9
    assert fake_batch_llm.creates == {"openai": 1, "anthropic": 1} and sorted(fake_batch_llm.batch_sizes) == [4, 5]
    assert fake_batch_llm.requests == [], "nothing may go through the one-by-one endpoints"
    assert [replay(tmp_path, fake_batch_llm, r) for r in reqs] == [f"answer {i}" for i in range(5)] + [f"answer {i}" for i in range(4)]
    assert any("in_progress" in line for line in lines) and "ended" in lines[-1] and "completed" in lines[-1]
    # A second run has nothing left to send.
    assert run(tmp_path, fake_batch_llm, reqs).answered == 0 and sum(fake_batch_llm.creates.values()) == 2


def test_failed_requests_become_errors_with_the_reason(tmp_path: Path, fake_batch_llm: FakeBatchLLM) -> None:
    outcomes = {"bad": "errored", "late": "expired", "stop": "canceled"}

    def outcome(body: dict[str, Any]) -> str:
        return outcomes.get(body["messages"][-1]["content"].split()[0], "ok")

    fake_batch_llm.outcome = outcome
    reqs = [r for word in ("ok", "bad", "late") for r in requests("gpt", 1, word)]
    reqs += [r for word in ("ok", "bad", "late", "stop") for r in requests("claude", 1, word)]
    results = run(tmp_path, fake_batch_llm, reqs)

    reasons = {(label, r.messages[-1][1].split()[0]): results.failures.get((label, r.key())) for r in reqs for label in [r.label]}
    assert reasons[("gpt", "ok")] is None and reasons[("claude", "ok")] is None
    assert "HTTP 404: The model does not exist." in reasons[("gpt", "bad")]
    assert "batch_expired" in reasons[("gpt", "late")]
    assert "errored: max_tokens: too large" in reasons[("claude", "bad")]
    assert reasons[("claude", "late")].endswith("request expired")
    assert reasons[("claude", "stop")].endswith("request canceled")
    call = results.wrap(lambda r: pytest.fail("a failed batch request must not be retried live"))
    with pytest.raises(ProviderError, match="request expired"):
        call(reqs[-2])


def test_interrupted_run_resumes_the_same_batch(tmp_path: Path, fake_batch_llm: FakeBatchLLM) -> None:
    fake_batch_llm.in_progress_polls = 3
    reqs = requests("gpt", 3) + requests("claude", 3)

    def interrupt(line: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, fake_batch_llm, reqs, progress=interrupt)
    assert fake_batch_llm.creates == {"openai": 1, "anthropic": 1}
    assert list((tmp_path / "reports" / "batches").glob("*.json")), "batch ids are persisted in the report dir"

    # A new process, a new run: it polls the batches it finds instead of paying again.
    results = run(tmp_path, fake_batch_llm, reqs, run_id="run-2")
    assert results.answered == 6 and fake_batch_llm.creates == {"openai": 1, "anthropic": 1}
    assert replay(tmp_path, fake_batch_llm, reqs[0]) == "answer 0"


def test_finished_batches_are_reused_only_within_their_run(tmp_path: Path, fake_batch_llm: FakeBatchLLM) -> None:
    reqs = requests("gpt", 2)
    run(tmp_path, fake_batch_llm, reqs, made=factory(tmp_path, fake_batch_llm, "all"))
    # An xdist sibling of the same run: same answers, no new batch.
    assert run(tmp_path, fake_batch_llm, reqs, made=factory(tmp_path, fake_batch_llm, "all")).answered == 2
    assert fake_batch_llm.creates["openai"] == 1
    # The next night (--record-mode all, a new run) wants fresh answers.
    run(tmp_path, fake_batch_llm, reqs, made=factory(tmp_path, fake_batch_llm, "all", run_id="run-2"), run_id="run-2")
    assert fake_batch_llm.creates["openai"] == 2


def test_sets_over_the_limits_are_split(tmp_path: Path, fake_batch_llm: FakeBatchLLM) -> None:
    limits = {"openai": Limits(max_requests=3, max_bytes=10**9), "anthropic": Limits(max_requests=2, max_bytes=10**9)}
    results = run(tmp_path, fake_batch_llm, requests("gpt", 7) + requests("claude", 5), limits=limits)
    assert results.answered == 12 and results.failures == {}
    assert fake_batch_llm.creates == {"openai": 3, "anthropic": 3}
    assert sorted(fake_batch_llm.batch_sizes) == [1, 1, 2, 2, 3, 3]


def test_split_respects_the_byte_limit() -> None:
    lines = [{"custom_id": str(i), "body": "x" * 100} for i in range(10)]
    chunks = list(split(lines, Limits(max_requests=100, max_bytes=400)))
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    assert [line for chunk in chunks for line in chunk] == lines


def test_a_rejected_key_fails_that_models_items_only(tmp_path: Path, fake_batch_llm: FakeBatchLLM) -> None:
    fake_batch_llm.reject = "openai"
    results = run(tmp_path, fake_batch_llm, requests("gpt", 2) + requests("claude", 2))
    assert results.answered == 2 and len(results.failures) == 2
    assert all(
        reason == "batch not run: gpt: HTTP 401 (authentication failed): Incorrect API key provided."
        for reason in results.failures.values()
    ), results.failures


def test_new_without_a_key_batches_only_the_missing_answers_and_fails_them(
    tmp_path: Path, fake_batch_llm: FakeBatchLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    reqs = requests("gpt", 3)
    run(tmp_path, fake_batch_llm, reqs[:2])
    monkeypatch.delenv("OPENAI_API_KEY")
    made = factory(tmp_path, fake_batch_llm, run_id="run-2")

    results = run(tmp_path, fake_batch_llm, reqs, made=made, run_id="run-2")

    no_key = "gpt needs an API key: set the OPENAI_API_KEY environment variable."
    assert results.answered == 0 and results.failures == {("gpt", reqs[2].key()): f"batch not run: {no_key}"}
    assert fake_batch_llm.creates["openai"] == 1, "no batch without a key"
    assert made.errors() == {"gpt": no_key}, "the summary's one line for the model"
    assert [made.call(r).text for r in reqs[:2]] == ["answer 0", "answer 1"], "recorded answers replay without a key"


# -- through pytest -------------------------------------------------------------------------------

PROMPT = """\
name: Batch
messages: [{role: user, content: "{{ answer }}"}]
testData:
  - {id: one, inputs: {answer: "ok one"}, expected: ok}
  - {id: two, inputs: {answer: "ok two"}, expected: ok}
  - {id: three, inputs: {answer: "late three"}, expected: ok}
"""


def test_batch_option_end_to_end(pytester: pytest.Pytester, fake_batch_llm: FakeBatchLLM) -> None:
    fake_batch_llm.outcome = lambda body: "expired" if "late" in body["messages"][-1]["content"] else "ok"
    pytester.makepyprojecttoml(two_provider_pyproject(fake_batch_llm))
    pytester.makefile(".prompt.yaml", batch=PROMPT)
    result = pytester.runpytest("--batch", "--record-mode", "all")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines([
        "promptcheck batch: gpt: 1 batch 1 expired*; claude: 1 batch 1 ended (expired 1 succeeded 2)",
        "promptcheck batch: 4 answers recorded, 2 failed",
        "*ERROR at setup of three [[]gpt[]]*",
        "provider error: gpt: batch batch_*: This request was expired. (batch_expired)",
    ])
    assert fake_batch_llm.creates == {"openai": 1, "anthropic": 1} and fake_batch_llm.requests == []
    assert {item.replayed for item in run_record(pytester.path, result).items} == {False}, "batch answers are this run's"
    quiet = pytester.runpytest("--record-mode", "none", "-q")
    quiet.assert_outcomes(passed=4, errors=2)
    assert "promptcheck batch" not in quiet.stdout.str()
    assert {item.replayed for item in run_record(pytester.path, quiet).items if item.status == "pass"} == {True}
