"""--max-cost never lets spend pass the cap, at any concurrency and under xdist (issue 14, item 9),
against the loopback FakeLLM; its answers report token usage and stop at max_tokens."""

from __future__ import annotations

import re

import pytest
from liveproject import FAST, PROMPT, Project, run_record

from promptcheck.providers.base import ProviderRequest
from promptcheck.providers.costcap import COST_CAP_MAX_TOKENS, input_tokens_at_most, text_tokens_at_most, worst_case_cost

CAP = 0.02
# $100 per 1M tokens: $0.0001 a token. A call's worst case here is 28 tokens ($0.0028: a 20-token
# prompt estimate plus max_tokens 8), its real cost 8 tokens ($0.0008: 4 words in, 4 words out).
PRICED = FAST + "[tool.promptcheck.prices]\ntiny = { input = 100, output = 100 }\n"
NAMES = [f"Person{i:02d}" for i in range(40)]


def capped_prompt(names: list[str], max_tokens: int | None = 8) -> str:
    params = f"modelParameters:\n  maxTokens: {max_tokens}\n" if max_tokens is not None else ""
    cases = "".join(f"  - name: {name}\n" for name in names)
    return (
        f"name: Greeter\nmodel: local\n{params}messages:\n  - role: user\n"
        f'    content: "Say hello to {{{{name}}}}."\ntestData:\n{cases}'
        'evaluators:\n  - name: mentions the name\n    string:\n      contains: "{{name}}"\n'
    )


@pytest.fixture
def priced(live_project: Project) -> Project:
    live_project.configure(settings=PRICED)
    (live_project.pytester.path / PROMPT).write_text(capped_prompt(NAMES), encoding="utf-8")
    return live_project


def summary_numbers(outlines: list[str]) -> tuple[float, int]:
    line = next(line for line in outlines if line.startswith(f"--max-cost ${CAP:.4f}: spent"))
    found = re.fullmatch(r"--max-cost \$[\d.]+: spent \$([\d.]+); (\d+) calls? not sent because their worst case would have passed the cap", line)
    assert found, line
    return float(found[1]), int(found[2])


@pytest.mark.parametrize("concurrency", ["1", "16", "64"])
def test_spend_never_passes_the_cap_and_the_summary_counts_the_calls_not_sent(priced: Project, concurrency: str) -> None:
    result = priced.run("--record-mode=new", "--concurrency", concurrency, "--max-cost", str(CAP))

    record = run_record(priced.pytester.path, result)
    spent = sum(item.cost or 0.0 for item in record.items)
    sent = len(priced.fake.requests)
    assert 0 < spent <= CAP
    # Waiting calls fit in as answers settle: a wide pool gets as far as a serial run.
    assert sent == 22
    result.assert_outcomes(passed=sent, skipped=len(NAMES) - sent)
    assert summary_numbers(result.outlines) == (round(spent, 4), len(NAMES) - sent)
    skipped = [item for item in record.items if item.status == "skip"]
    assert {item.skip_reason for item in skipped} == {
        f"--max-cost ${CAP:.4f} would be passed: this call may cost up to $0.0028 and $0.0024 is left (spent $0.0176); not sent"
    }


def test_under_xdist_each_worker_holds_a_share_of_the_cap(priced: Project) -> None:
    result = priced.run("-n", "2", "--record-mode=new", "--concurrency", "8", "--max-cost", str(CAP))

    record = run_record(priced.pytester.path, result)
    spent = sum(item.cost or 0.0 for item in record.items)
    sent = len(priced.fake.requests)
    assert 0 < spent <= CAP
    result.assert_outcomes(passed=sent, skipped=len(NAMES) - sent)
    assert summary_numbers(result.outlines) == (round(spent, 4), len(NAMES) - sent)
    reasons = {item.skip_reason or "" for item in record.items if item.status == "skip"}
    assert reasons and all(r.startswith(f"--max-cost ${CAP:.4f} ($0.0100 for each of 2 workers) would be passed: ") for r in reasons)


def test_a_call_whose_worst_case_alone_passes_the_cap_is_never_sent(priced: Project) -> None:
    result = priced.run("--record-mode=new", "--max-cost", "0.001")

    result.assert_outcomes(skipped=len(NAMES))
    result.stdout.fnmatch_lines(
        ["*--max-cost $0.0010 would be passed: this call may cost up to $0.0028 and $0.0010 is left (spent $0.0000); not sent*"]
    )
    assert priced.fake.requests == []
    assert f"--max-cost $0.0010: spent $0.0000; {len(NAMES)} calls not sent because their worst case would have passed the cap" in result.outlines


def test_a_prompt_without_an_output_limit_is_sent_with_one_under_max_cost(priced: Project) -> None:
    (priced.pytester.path / PROMPT).write_text(capped_prompt(["Ada"], max_tokens=None), encoding="utf-8")

    priced.run("--record-mode=new", "--max-cost", "1").assert_outcomes(passed=1)
    priced.run("--record-mode=all").assert_outcomes(passed=1)

    with_cap, without = (request.body for request in priced.fake.requests)
    assert with_cap["max_tokens"] == COST_CAP_MAX_TOKENS  # a compatible server: the classic name
    assert "max_tokens" not in without and "max_completion_tokens" not in without


def test_the_summary_says_when_no_call_was_held_back(priced: Project) -> None:
    result = priced.run("--record-mode=new", "--max-cost", "5")

    result.assert_outcomes(passed=len(NAMES))
    spent = sum(item.cost or 0.0 for item in run_record(priced.pytester.path, result).items)
    assert f"--max-cost $5.0000: spent ${spent:.4f}; no call held back" in result.outlines


# -- the estimate --------------------------------------------------------------------------------


def test_the_token_bound_counts_two_ascii_characters_a_token_and_every_other_byte_as_one() -> None:
    assert text_tokens_at_most("Say hello to Ada.") == 9  # 17 characters
    assert text_tokens_at_most("日本") == 6  # 3 UTF-8 bytes each
    request = ProviderRequest("openai", "gpt-4o", "openai:gpt-4o", (("system", "Be brief."), ("user", "Hi")))
    # 3 for the request, per message 4 + role + content
    assert input_tokens_at_most(request) == 3 + (4 + 3 + 5) + (4 + 2 + 1)


def test_the_worst_case_prices_the_output_limit_sent() -> None:
    messages = (("user", "Hi"),)
    plain = ProviderRequest("anthropic", "claude-3-5-haiku-20241022", "claude", messages)
    capped = ProviderRequest("openai", "gpt-4o", "openai:gpt-4o", messages, params={"max_tokens": 100})
    embed = ProviderRequest("openai", "text-embedding-3-small", "e", messages, params={"endpoint": "embeddings"})
    tokens_in = input_tokens_at_most(plain)
    assert worst_case_cost(plain, "anthropic", None) == pytest.approx((tokens_in * 0.80 + 1024 * 4.00) / 1e6)
    assert worst_case_cost(capped, "openai", None) == pytest.approx((tokens_in * 2.50 + 100 * 10.00) / 1e6)
    assert worst_case_cost(embed, "openai", {"text-embedding-3-small": {"input": 0.02, "output": 0}}) == pytest.approx(tokens_in * 0.02 / 1e6)
    # Unknown price, or no output limit: the call reserves nothing.
    assert worst_case_cost(ProviderRequest("compatible", "tiny", "local", messages), "compatible", None) is None
    assert worst_case_cost(ProviderRequest("myplugin", "gpt-4o", "x", messages), "myplugin", None) is None
