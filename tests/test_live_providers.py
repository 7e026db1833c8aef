"""Live providers through real pytest runs: record modes, keys, faults, cost limits, xdist, the
prefetching pool and secret scrubbing, against the loopback FakeLLM (never a real API)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fakellm import echo_last_user_message
from liveproject import PROMPT, Project, peak_in_flight


def glob_escape(text: str) -> str:
    """fnmatch_lines patterns treat [ and ] as character classes."""
    return re.sub(r"([\[\]])", r"[\1]", text)


# -- record modes ------------------------------------------------------------------------------


def test_none_without_cassette_errors_with_the_record_command_and_never_calls(live_project: Project) -> None:
    result = live_project.run("--record-mode=none")

    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of ada [[]local[]]*",
            glob_escape(f"*no recorded answer for {PROMPT}::ada[local] in *")
            + "*record mode 'none' never calls the API*"
            + glob_escape(f"Record it with: pytest {PROMPT} --record-mode=new -k 'ada'"),
        ]
    )
    assert live_project.fake.requests == []


def test_new_records_then_none_replays_with_the_server_stopped(live_project: Project) -> None:
    live_project.run("--record-mode=new").assert_outcomes(passed=3)
    assert sorted(live_project.asked()) == ["Say hello to Ada.", "Say hello to Grace.", "Say hello to Linus."]
    assert len(live_project.entries()) == 3

    live_project.fake.stop()  # any call now fails: a pass proves the answers were replayed
    live_project.run("--record-mode=none").assert_outcomes(passed=3)
    assert len(live_project.fake.requests) == 3


def test_once_records_only_into_a_new_cassette_file(live_project: Project) -> None:
    live_project.run("--record-mode=once").assert_outcomes(passed=3)
    assert len(live_project.fake.requests) == 3

    live_project.prompt(["Ada", "Linus", "Grace", "Barbara"])
    result = live_project.run("--record-mode=once")

    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*barbara*record mode 'once' only records into new cassette files*"])
    assert len(live_project.fake.requests) == 3


def test_all_records_again(live_project: Project) -> None:
    live_project.run("--record-mode=new").assert_outcomes(passed=3)
    first = {key: entry["response"]["meta"]["id"] for key, entry in live_project.entries().items()}

    live_project.run("--record-mode=all").assert_outcomes(passed=3)

    assert len(live_project.fake.requests) == 6
    again = {key: entry["response"]["meta"]["id"] for key, entry in live_project.entries().items()}
    assert again.keys() == first.keys()
    assert all(again[key] != first[key] for key in first)  # fresh answers, same keys


def test_a_changed_prompt_misses_its_stale_recording(live_project: Project) -> None:
    live_project.run("--record-mode=new").assert_outcomes(passed=3)
    live_project.prompt(["Ada", "Linus", "Grace"], greeting="Greet")

    result = live_project.run("--record-mode=none")

    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*no recorded answer for*ada*"])
    assert len(live_project.fake.requests) == 3


def test_unused_entries_are_reported_after_a_case_is_removed(live_project: Project) -> None:
    live_project.run("--record-mode=new").assert_outcomes(passed=3)
    live_project.prompt(["Ada", "Grace"])

    result = live_project.run()

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*1 cassette entries were not used by this run; `promptcheck cassettes prune` removes them"])


# -- API keys ------------------------------------------------------------------------------------


@pytest.fixture
def keyed(live_project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """Two providers that need keys: openai: via OPENAI_BASE_URL, anthropic as a named provider."""
    monkeypatch.setenv("OPENAI_BASE_URL", live_project.fake.openai_base_url)
    claude = f'[tool.promptcheck.providers.claude]\ntype = "anthropic"\nmodel = "claude-3-5-haiku-20241022"\nbase_url = "{live_project.fake.anthropic_base_url}"\n'
    live_project.configure(providers=claude, models='["openai:gpt-4o-mini", "claude"]')
    return live_project


def test_a_missing_key_is_one_error_per_provider_before_any_call(keyed: Project) -> None:
    result = keyed.run("--record-mode=new")

    result.assert_outcomes(errors=6)
    summary = result.stdout.str().split("promptcheck ---", 1)[1]
    # Once per provider, and once more for the items it left not evaluated (one line per reason).
    assert summary.count("needs an API key") == 4
    assert [line.split(" — ")[0] for line in summary.splitlines() if line.startswith("NOT EVALUATED")] == ["NOT EVALUATED 3 items"] * 2
    result.stdout.fnmatch_lines(
        [
            "*promptcheck ---*",
            "openai:gpt-4o-mini needs an API key: set the OPENAI_API_KEY environment variable.",
            "claude needs an API key: set the ANTHROPIC_API_KEY environment variable.",
        ]
    )
    assert keyed.fake.requests == []


def test_replay_needs_no_key(keyed: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-record-only-0000000000")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-record-only-000000")
    keyed.run("--record-mode=new").assert_outcomes(passed=6)
    assert {r.kind for r in keyed.fake.requests} == {"openai", "anthropic"}

    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    keyed.run("--record-mode=none").assert_outcomes(passed=6)
    assert len(keyed.fake.requests) == 6


# -- faults ------------------------------------------------------------------------------------


def test_server_errors_until_retries_run_out_are_an_error_with_the_providers_message(live_project: Project) -> None:
    live_project.prompt(["Ada"])
    live_project.fake.script(["500", "500"])  # max_retries = 1: two attempts

    result = live_project.run("--record-mode=new")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*provider error: local: HTTP 500 (server error): The server had an error processing your request.*"]
    )
    assert len(live_project.fake.requests) == 2
    assert not live_project.cassette().exists()  # a failure is never recorded


@pytest.mark.parametrize(
    ("fault", "detail"),
    [
        ("html", "not JSON: '<html><body>Please log in to the proxy</body></html>'"),
        ("wrongshape", 'no \'content\' in the answer: {"id": "odd", "object": "something.else"}'),
    ],
    ids=["html-page", "wrong-shape"],
)
def test_an_anthropic_answer_that_is_no_answer_reads_as_the_openai_path_does(
    live_project: Project, monkeypatch: pytest.MonkeyPatch, fault: str, detail: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic-key")
    claude = f'[tool.promptcheck.providers.claude]\ntype = "anthropic"\nmodel = "claude-3-5-haiku-20241022"\nbase_url = "{live_project.fake.anthropic_base_url}"\n'
    live_project.configure(providers=claude, models='["claude"]')
    live_project.prompt(["Ada", "Linus"])
    live_project.fake.script([fault])

    result = live_project.run("--record-mode=new", "--concurrency", "1")

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([glob_escape(f"provider error: claude: the API answer did not have the expected shape ({detail})")])
    assert "object has no attribute" not in result.stdout.str() and "not iterable" not in result.stdout.str()


def test_a_hang_past_the_timeout_is_an_error_and_the_session_ends(live_project: Project) -> None:
    live_project.configure(settings="max_retries = 0\ntimeout_s = 0.5\n")
    live_project.prompt(["Ada", "Linus"])
    live_project.fake.script(["hang"])

    result = live_project.run("--record-mode=new", "--concurrency", "1")

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*provider error: local: request timed out after 0.5s*"])
    assert result.duration < 15


def test_rate_limited_then_answered_passes(live_project: Project) -> None:
    live_project.prompt(["Ada"])
    live_project.fake.script(["429:0.1"])

    live_project.run("--record-mode=new").assert_outcomes(passed=1)

    assert len(live_project.fake.requests) == 2


# -- xdist -----------------------------------------------------------------------------------------


def test_four_workers_record_one_cassette_and_replay_agrees_serial_and_under_two(live_project: Project) -> None:
    def answer(kind: str, body: dict[str, Any]) -> str:
        text = echo_last_user_message(kind, body)  # "Say hello to PersonNN."
        return "" if int(text[-3:-1]) % 3 == 0 else text  # a third leave the name out: failures to agree on

    live_project.fake.responder = answer
    names = [f"Person{i:02d}" for i in range(24)]
    live_project.prompt(names)

    live_project.run("-n", "4", "--record-mode=new").assert_outcomes(passed=16, failed=8)

    entries = live_project.entries()  # the file loads, with every entry
    assert len(entries) == 24
    assert sorted(e["item"] for e in entries.values()) == sorted(f"{PROMPT}::{n.lower()}[local]" for n in names)
    live_project.fake.stop()
    serial = live_project.run("--record-mode=none").parseoutcomes()
    parallel = live_project.run("-n", "2", "--record-mode=none").parseoutcomes()
    assert serial == parallel == {"passed": 16, "failed": 8}
    assert len(live_project.fake.requests) == 24


# -- the prefetching pool --------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_calls_overlap_at_the_server(live_project: Project, workers: list[str]) -> None:
    live_project.fake.delay_s = 0.3
    live_project.prompt([f"Person{i:02d}" for i in range(16)])

    live_project.run("--record-mode=new", "--concurrency", "8", *workers).assert_outcomes(passed=16)

    assert len(live_project.fake.requests) == 16
    assert peak_in_flight(live_project.fake.requests, 0.3) >= 4


def test_exitfirst_stops_issuing_calls_after_the_first_failure(live_project: Project) -> None:
    def answer(kind: str, body: dict[str, Any]) -> str:
        text = echo_last_user_message(kind, body)
        if "Person00" in text:
            return "no name here"  # fails at once
        # The others are slow, so they are still in flight when -x stops the run: long enough that
        # a loaded machine's item loop reaches the failure first (0.2 s once let 4 more calls start).
        live_project.fake._stopping.wait(2.0)
        return text

    live_project.fake.responder = answer
    live_project.prompt([f"Person{i:02d}" for i in range(30)])

    live_project.run("--record-mode=new", "--concurrency", "4", "-x").assert_outcomes(failed=1)

    assert len(live_project.fake.requests) <= 1 + 4


def test_k_calls_only_the_selected_items(live_project: Project) -> None:
    live_project.run("--record-mode=new", "-k", "linus").assert_outcomes(passed=1, deselected=2)

    assert live_project.asked() == ["Say hello to Linus."]


# -- secrets -------------------------------------------------------------------------------------

OPENAI_KEY = "sk-test-SECRET1234567890abcdefABCDEF"
GITHUB_TOKEN = "ghp_TESTTOKEN1234567890abcdefABCDEFghij"


def test_no_written_file_contains_a_key_or_an_auth_header(live_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", live_project.fake.openai_base_url)
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    gh = f'[tool.promptcheck.providers.gh]\ntype = "github"\nmodel = "openai/gpt-4o-mini"\nbase_url = "{live_project.fake.github_base_url}"\n'
    live_project.configure(providers=gh, models='["openai:gpt-4o-mini", "gh"]')

    live_project.run("--record-mode=new").assert_outcomes(passed=6)

    sent = {r.headers.get("authorization") for r in live_project.fake.requests}
    assert sent == {f"Bearer {OPENAI_KEY}", f"Bearer {GITHUB_TOKEN}"}  # the keys really were used
    written = [p for p in live_project.pytester.path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".yaml" and "cassettes" in p.parts for p in written)
    assert any(p.suffix == ".json" and "runs" in p.parts for p in written)
    assert any(p.suffix == ".html" for p in written)
    needles = (OPENAI_KEY, GITHUB_TOKEN, "SECRET123", "authorization", "x-api-key")
    leaks = [(p.name, n) for p in written for n in needles if n.lower() in p.read_text("utf-8", "replace").lower()]
    assert leaks == []


def test_an_answer_that_repeats_a_key_is_scrubbed_everywhere(live_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", live_project.fake.openai_base_url)
    live_project.configure(providers="", models='["openai:gpt-4o-mini"]')
    live_project.fake.responder = lambda kind, body: f"{echo_last_user_message(kind, body)} Authorization: Bearer {OPENAI_KEY}"

    live_project.run("--record-mode=new", "--junitxml=junit.xml").assert_outcomes(passed=3)

    written = [p for p in live_project.pytester.path.rglob("*") if p.is_file()]
    assert "junit.xml" in [p.name for p in written]
    leaks = [p.name for p in written if OPENAI_KEY in p.read_text("utf-8", "replace")]
    assert leaks == []


@pytest.mark.parametrize("call_process", ["off", "on"])  # on: a call process queues one more itself
def test_an_item_that_waits_long_says_how_many_answers_are_done_in_flight_and_queued(
    live_project: Project, monkeypatch: pytest.MonkeyPatch, call_process: str
) -> None:
    monkeypatch.setattr("promptcheck.pytest_plugin.progress.WAIT_BEFORE_S", 0.3)  # 3 s in real use
    live_project.fake.delay_s = 1.0
    live_project.prompt(["Ada", "Linus", "Grace", "Barbara"])

    result = live_project.run("--record-mode=new", f"--call-process={call_process}", "--concurrency", "2")

    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["promptcheck: waiting for answers: 0 done, 2 in flight, 2 queued"])
