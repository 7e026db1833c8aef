"""--shard i/n: disjoint hash slices whose merge is the unsharded run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from fakellm import FakeLLM, two_provider_pyproject

from promptcheck.cli import main as cli_main
from promptcheck.pytest_plugin.shard import Shard, shard_of
from promptcheck.runs.merge import merged_selected_only
from promptcheck.runs.reading import load_run
from promptcheck.runs.record import RunHeader, RunRecord, ShardInfo

PROMPT = """\
name: {name}
messages: [{{role: user, content: "{{{{ answer }}}}"}}]
testData:
{cases}
"""


def prompt(name: str, n: int) -> str:
    # Every third case fails, so the comparison covers statuses, not only answers.
    cases = "\n".join(
        f'  - {{id: c{i}, inputs: {{answer: "{"ok" if i % 3 else "nope"} {i}"}}, expected: ok}}' for i in range(n)
    )
    return PROMPT.format(name=name, cases=cases)


def project_with_cassettes(pytester: pytest.Pytester, fake_llm: FakeLLM) -> pytest.Pytester:
    pytester.makepyprojecttoml(two_provider_pyproject(fake_llm))
    pytester.makefile(".prompt.yaml", alpha=prompt("Alpha", 9), beta=prompt("Beta", 7))
    pytester.runpytest("--record-mode", "all", "--no-promptcheck-report").assert_outcomes(passed=20, failed=12)
    return pytester


def latest_record(project: pytest.Pytester) -> Path:
    return max((project.path / "reports" / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)


def by_key(record: RunRecord) -> dict[str, tuple[str, str | None]]:
    return {item.key: (item.status, item.answer) for item in record.items}


@pytest.mark.usefixtures("fake_api_keys")
def test_merged_shards_equal_the_unsharded_run(pytester: pytest.Pytester, fake_llm: FakeLLM) -> None:
    project = project_with_cassettes(pytester, fake_llm)
    calls = len(fake_llm.requests)
    project.runpytest("--record-mode", "none")
    full = load_run(latest_record(project))

    shard_paths = []
    for i in range(1, 5):
        workers = ["-n", "2"] if i == 2 else []  # the split does not depend on the worker count
        project.runpytest("--record-mode", "none", "--shard", f"{i}/4", *workers)
        shard_paths.append(latest_record(project))
    shards = [load_run(p) for p in shard_paths]
    assert len(fake_llm.requests) == calls, "replay must not call the API"
    assert all(s.items for s in shards), "32 items should give every one of 4 shards something"
    assert all(s.header.selected_only and s.header.shard and s.header.shard.only_narrowing for s in shards)

    merged_path = project.path / "merged.json"
    assert cli_main(["merge", *map(str, shard_paths), "-o", str(merged_path), "--report-dir", "reports"]) == 0
    merged = load_run(merged_path)

    assert len(merged.items) == len(full.items) == 32
    assert by_key(merged) == by_key(full)
    assert merged.header.selected_only is False and merged.header.shard is None
    assert merged.header.summary.counts == full.header.summary.counts


def test_shard_option_deselects_and_rejects_bad_values(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yaml", alpha=prompt("Alpha", 8))
    result = echo_project.runpytest("--shard", "1/2", "--no-promptcheck-report")
    ran = sum(result.parseoutcomes().get(k, 0) for k in ("passed", "failed"))
    assert ran + result.parseoutcomes()["deselected"] == 8
    bad = echo_project.runpytest("--shard", "3/2")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--shard wants i/n with 1 <= i <= n*got '3/2'*"])


def test_shard_of_is_stable_and_spreads_keys() -> None:
    # Pinned: a change here would silently reshuffle every user's CI shards.
    assert shard_of("prompts/a.prompt.yaml::c1[openai:gpt-4o]", 4) == shard_of("prompts/a.prompt.yaml::c1[openai:gpt-4o]", 4)
    assert [shard_of(f"k{i}", 4) for i in range(6)] == [shard_of(f"k{i}", 4) for i in range(6)]
    sizes = Counter(shard_of(f"p.prompt.yaml::case-{i}[m]", 4) for i in range(4000))
    assert set(sizes) == {1, 2, 3, 4} and min(sizes.values()) > 900
    assert Shard.parse(" 2/4 ") == Shard(2, 4) and str(Shard(2, 4)) == "2/4"
    for bad in ("0/4", "5/4", "1", "a/b", "1/0"):
        with pytest.raises(ValueError, match="--shard wants"):
            Shard.parse(bad)


def _shard_header(index: int, count: int, models: list[str], only: bool = True) -> RunHeader:
    # The models a shard met vary; the --models selection it ran under does not.
    met = models[:1] if index % 2 else models
    return RunHeader(f"run-{index}", selected_only=True, models=tuple(met), shard=ShardInfo(index, count, only, tuple(models)))


def test_merge_is_whole_only_for_a_complete_set_of_shards() -> None:
    whole = [_shard_header(i, 3, ["a", "c"]) for i in (1, 2, 3)]
    assert merged_selected_only(whole) is False
    assert merged_selected_only(whole[:2]) is True
    assert merged_selected_only([*whole[:2], _shard_header(3, 3, ["a", "c"], only=False)]) is True
    # A model matrix where each model ran in its own shards.
    assert merged_selected_only(whole + [_shard_header(i, 2, ["b"]) for i in (1, 2)]) is False
    assert merged_selected_only([RunHeader("x", models=("x",)), RunHeader("y", models=("y",))]) is False
    assert merged_selected_only([RunHeader("x", selected_only=True, models=("x",))]) is True
