"""Where each answer came from, through real pytest runs against the loopback FakeLLM: an API key
is asked for only when a call is really due, and every item's record says whether its answer
was replayed from a cassette or obtained live in this run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakellm import echo_last_user_message
from liveproject import PROMPT, Project, run_record

from promptcheck.providers.base import ProviderConfigError, ProviderError, ProviderRequest, ProviderResponse
from promptcheck.providers.cassette import CassetteStore
from promptcheck.providers.recording import CassetteProvider


MODEL = "openai:gpt-4o-mini"
NO_KEY = f"{MODEL} needs an API key: set the OPENAI_API_KEY environment variable."
WORKERS = pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])


def sources(project: Project, result: pytest.RunResult) -> dict[str, tuple[str, bool]]:
    """The run's items: case id -> (status, replayed)."""
    return {item.case_id: (item.status, item.replayed) for item in run_record(project.pytester.path, result).items}


def labels(project: Project, result: pytest.RunResult) -> dict[str, bool]:
    """The run's items: case id -> replayed."""
    return {case: replayed for case, (_, replayed) in sources(project, result).items()}


def summary(result: pytest.RunResult) -> list[str]:
    return result.stdout.str().split("promptcheck ---", 1)[1].splitlines()


@pytest.fixture
def keyed(live_project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """One model that needs a key (OPENAI_API_KEY, set only while recording), served by the fake."""
    monkeypatch.setenv("OPENAI_BASE_URL", live_project.fake.openai_base_url)
    live_project.configure(providers="", models=f'["{MODEL}"]')
    return live_project


def record_with_a_key(project: Project, monkeypatch: pytest.MonkeyPatch, names: list[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-openai-key")
    project.prompt(names)
    project.run("--record-mode=new").assert_outcomes(passed=len(names))
    monkeypatch.delenv("OPENAI_API_KEY")
    project.fake.clear()


# -- the cassette layer -----------------------------------------------------------------------------


def request(case: str) -> ProviderRequest:
    return ProviderRequest("openai", "gpt-4o-mini", MODEL, (("user", f"Say hello to {case}."),), item_id=f"{PROMPT}::{case}[{MODEL}]")


class Answers:
    label = MODEL

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        return ProviderResponse(f"answer to {request.messages[-1][1]}")


def test_an_answer_read_back_in_the_run_that_recorded_it_is_live(tmp_path: Path) -> None:
    store = CassetteStore(tmp_path, flush_interval_s=0)
    provider = CassetteProvider(Answers, store, "new")
    recorded = provider.complete(request("ada"))

    # The pool records an answer before its item asks; the item reads it back from the store.
    read_back = provider.replay(request("ada"))
    assert read_back is not None and read_back.text == recorded.text
    assert (recorded.replayed, read_back.replayed) == (False, False)
    next_run = CassetteProvider(Answers, CassetteStore(tmp_path), "none").complete(request("ada"))
    assert (next_run.text, next_run.replayed) == (recorded.text, True)


def test_a_missing_key_fails_only_the_calls_that_are_due(tmp_path: Path) -> None:
    CassetteProvider(Answers, CassetteStore(tmp_path, flush_interval_s=0), "new").complete(request("ada"))
    attempts: list[str] = []

    def no_key() -> Answers:
        attempts.append("built")
        raise ProviderConfigError(NO_KEY)

    provider = CassetteProvider(no_key, CassetteStore(tmp_path), "new")
    assert provider.complete(request("ada")).replayed is True and attempts == []
    with pytest.raises(ProviderError) as missing:
        provider.complete(request("linus"))
    assert attempts == ["built"]
    assert str(missing.value) == (
        f"{NO_KEY} This answer is not recorded yet; once that is fixed, "
        f"record the missing answers with: pytest {PROMPT} --record-mode=new"
    )


# -- an API key only for a call that is due --------------------------------------------------------


@WORKERS
def test_new_replays_every_recorded_answer_without_a_key(keyed: Project, monkeypatch: pytest.MonkeyPatch, workers: list[str]) -> None:
    record_with_a_key(keyed, monkeypatch, ["Ada", "Linus", "Grace"])

    result = keyed.run("--record-mode=new", *workers)

    result.assert_outcomes(passed=3)
    assert keyed.fake.requests == []
    assert "needs an API key" not in result.stdout.str()
    assert sources(keyed, result) == {"ada": ("pass", True), "linus": ("pass", True), "grace": ("pass", True)}


@WORKERS
def test_new_without_a_key_errors_only_the_item_whose_answer_is_missing(
    keyed: Project, monkeypatch: pytest.MonkeyPatch, workers: list[str]
) -> None:
    record_with_a_key(keyed, monkeypatch, ["Ada", "Linus", "Grace"])
    keyed.prompt(["Ada", "Linus", "Grace", "Barbara"])

    result = keyed.run("--record-mode=new", *workers)

    result.assert_outcomes(passed=3, errors=1)
    assert keyed.fake.requests == []
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of barbara*",
            f"provider error: {NO_KEY} This answer is not recorded yet; once that is fixed, "
            f"record the missing answers with: pytest {PROMPT} --record-mode=new",
        ]
    )
    assert summary(result).count(NO_KEY) == 1  # the provider's line, once, whatever the workers
    not_evaluated = [line for line in summary(result) if line.startswith("NOT EVALUATED")]
    assert len(not_evaluated) == 1 and NO_KEY in not_evaluated[0]
    assert sources(keyed, result) == {
        "ada": ("pass", True), "linus": ("pass", True), "grace": ("pass", True), "barbara": ("error", False)
    }


def test_all_still_needs_the_key_before_any_call(keyed: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    record_with_a_key(keyed, monkeypatch, ["Ada", "Linus", "Grace"])

    result = keyed.run("--record-mode=all")

    # Every answer is to be recorded again: the model as a whole cannot run.
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines([f"provider error: {NO_KEY}"])
    assert summary(result).count(NO_KEY) == 1
    assert keyed.fake.requests == []


def test_once_without_a_key_replays_old_files_and_errors_on_a_new_one(keyed: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    record_with_a_key(keyed, monkeypatch, ["Ada", "Linus"])
    other = keyed.pytester.path / "prompts" / "other.prompt.yaml"
    other.write_text((keyed.pytester.path / PROMPT).read_text(encoding="utf-8"), encoding="utf-8")

    result = keyed.run("--record-mode=once")

    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines([f"provider error: {NO_KEY}*pytest prompts/other.prompt.yaml --record-mode=new"])
    assert summary(result).count(NO_KEY) == 1
    assert keyed.fake.requests == []


# -- replayed or live ------------------------------------------------------------------------------


def leave_out_linus(kind: str, body: dict[str, Any]) -> str:
    """Echo the question, except Linus's, so exactly one item fails and shows its answer."""
    text = echo_last_user_message(kind, body)
    return "Hello." if "Linus" in text else text


NAMES = ["Ada", "Linus", "Grace", "Barbara", "Edsger", "Alan", "Donald", "Frances"]


@pytest.mark.parametrize(
    "options",
    [[], ["-n", "2"], ["--call-process=on"], ["--call-process=off"]],
    ids=["serial", "xdist", "call-process", "in-process"],
)
def test_a_fresh_all_run_is_live_and_the_next_none_run_replayed(live_project: Project, options: list[str]) -> None:
    live_project.fake.responder = leave_out_linus
    live_project.prompt(NAMES)

    recorded = live_project.run("--record-mode=all", "--concurrency", "8", *options)

    recorded.assert_outcomes(passed=7, failed=1)
    assert len(live_project.fake.requests) == 8
    assert labels(live_project, recorded) == {n.lower(): False for n in NAMES}
    recorded.stdout.fnmatch_lines(["answer (6 chars, live):"])

    replayed = live_project.run("--record-mode=none", *options)

    replayed.assert_outcomes(passed=7, failed=1)
    assert len(live_project.fake.requests) == 8
    assert labels(live_project, replayed) == {n.lower(): True for n in NAMES}
    replayed.stdout.fnmatch_lines(["answer (6 chars, replayed from cassette):"])


@WORKERS
def test_a_mixed_new_run_labels_each_item_by_where_its_answer_came_from(live_project: Project, workers: list[str]) -> None:
    live_project.prompt(["Ada", "Linus", "Grace"])
    live_project.run("--record-mode=new").assert_outcomes(passed=3)
    live_project.prompt(NAMES)

    result = live_project.run("--record-mode=new", "--concurrency", "8", *workers)

    result.assert_outcomes(passed=8)
    assert len(live_project.fake.requests) == 8
    old = {"ada", "linus", "grace"}
    assert labels(live_project, result) == {n.lower(): n.lower() in old for n in NAMES}


def test_once_labels_the_new_files_answers_live_and_the_old_ones_replayed(live_project: Project) -> None:
    live_project.prompt(["Ada", "Linus"])
    live_project.run("--record-mode=once").assert_outcomes(passed=2)
    other = live_project.pytester.path / "prompts" / "other.prompt.yaml"
    other.write_text((live_project.pytester.path / PROMPT).read_text(encoding="utf-8"), encoding="utf-8")

    result = live_project.run("--record-mode=once")

    result.assert_outcomes(passed=4)
    assert len(live_project.fake.requests) == 4
    record = run_record(live_project.pytester.path, result)
    assert sorted((item.prompt_path, item.replayed) for item in record.items) == [
        ("prompts/greet.prompt.yaml", True),
        ("prompts/greet.prompt.yaml", True),
        ("prompts/other.prompt.yaml", False),
        ("prompts/other.prompt.yaml", False),
    ]
