"""The engine without pytest: a prompt file's ItemPlans and local providers in, ItemResults out."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import pytest

from promptcheck.config import Settings
from promptcheck.engine.engine import Engine
from promptcheck.engine.plan import ItemPlan, plan_file
from promptcheck.engine.pool import CallPool
from promptcheck.formats.catalog import Catalog
from promptcheck.providers.factory import ProviderFactory
from promptcheck.runs.record import ItemResult

PROMPT = """\
name: Greeter
model: {model}
{extra}
messages:
  - role: user
    content: "Say hello to {{{{name}}}}."
testData:
  - name: Ada
evaluators:
  - name: mentions the name
    string:
      contains: "{{{{name}}}}"
"""

_modules = itertools.count()


def plans(tmp_path: Path, model: str, extra: str = "", **settings: object) -> tuple[Settings, list[ItemPlan]]:
    path = tmp_path / "prompts" / "greet.prompt.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(PROMPT.format(model=model, extra=extra), encoding="utf-8")
    config = Settings(rootdir=tmp_path, **settings)  # type: ignore[arg-type]
    found, warnings = plan_file(Catalog(config), path, [])
    assert warnings == []
    return config, found


def python_model(tmp_path: Path, body: str) -> str:
    """A ``python:`` model whose function has ``body`` (gets ``request``); a fresh module each time."""
    name = f"engine_answers_{next(_modules)}"
    (tmp_path / f"{name}.py").write_text(f"def answer(request):\n{textwrap.indent(textwrap.dedent(body), '    ')}\n", encoding="utf-8")
    return f"python:{name}:answer"


def engine(settings: Settings, **kwargs: object) -> Engine:
    def pool(call: object, queues_elsewhere: object) -> CallPool:
        return CallPool(call, settings.concurrency, settings.max_cost)  # type: ignore[arg-type]

    return Engine(settings, ProviderFactory(settings), pool, **kwargs)  # type: ignore[arg-type]


def run_one(settings: Settings, plan: ItemPlan, **kwargs: object) -> ItemResult:
    runner = engine(settings, **kwargs)
    try:
        return runner.run(plan)
    finally:
        runner.close()


def test_a_passing_answer_becomes_a_pass_with_its_answer_and_checks(tmp_path: Path) -> None:
    settings, [plan] = plans(tmp_path, "echo")
    result = run_one(settings, plan)
    assert result.status == "pass"
    assert result.key == "prompts/greet.prompt.yaml::ada[echo]" and result.model == "echo"
    assert result.answer == "Say hello to Ada." and result.messages == (("user", "Say hello to Ada."),)
    [check] = result.checks
    assert (check.name, check.passed, check.span) == ("mentions the name", True, (13, 16))
    assert result.error is None and result.skip_reason is None and result.samples == ()


def test_a_failing_answer_becomes_a_fail_naming_the_check(tmp_path: Path) -> None:
    model = python_model(tmp_path, "return 'Hi there.'")
    settings, [plan] = plans(tmp_path, model)
    result = run_one(settings, plan)
    assert result.status == "fail" and result.answer == "Hi there."
    assert [(c.name, c.passed, c.reason) for c in result.checks] == [("mentions the name", False, "'Ada' not found in the answer (ignoring case)")]


def test_repeats_keep_every_sample_and_the_pass_rate_decides(tmp_path: Path) -> None:
    model = python_model(tmp_path, "return 'Hello Ada' if request.repeat_index % 2 == 0 else 'Hello you'")
    settings, [plan] = plans(tmp_path, model, "repeat: 3\npass_rate: 0.6\n")
    result = run_one(settings, plan)
    assert result.status == "pass" and result.counts == (2, 3)
    assert [s.passed for s in result.samples] == [True, False, True] and result.pass_rate_required == 0.6
    settings, [plan] = plans(tmp_path, model, "repeat: 3\npass_rate: 0.7\n")
    assert run_one(settings, plan).status == "fail"


def test_a_provider_that_raises_is_an_error_with_its_message(tmp_path: Path) -> None:
    model = python_model(tmp_path, "raise RuntimeError('quota exhausted')")
    settings, [plan] = plans(tmp_path, model)
    result = run_one(settings, plan)
    assert result.status == "error" and result.answer is None
    assert result.error == f"provider error: {model} raised RuntimeError: quota exhausted"


def test_a_model_nobody_provides_is_an_error_before_any_call(tmp_path: Path) -> None:
    settings, [plan] = plans(tmp_path, "mystery-7b")
    result = run_one(settings, plan)
    assert result.status == "error"
    assert result.error is not None and result.error.startswith("provider error: no provider for model 'mystery-7b'")


def test_reference_model_without_a_reference_answer_is_skipped(tmp_path: Path) -> None:
    settings, [plan] = plans(tmp_path, "reference")
    result = run_one(settings, plan)
    assert result.status == "skip" and result.skip_reason is not None and "no reference answer" in result.skip_reason


def test_an_answer_with_nothing_to_check_is_skipped_and_says_so(tmp_path: Path) -> None:
    settings, [plan] = plans(tmp_path, "echo")
    plan.checks.clear()
    result = run_one(settings, plan)
    assert (result.status, result.skip_reason) == ("skip", "nothing to check: no checks declared for this case")
    assert result.answer == "Say hello to Ada."  # it was answered, just not judged


def test_calls_past_max_cost_are_skipped(tmp_path: Path) -> None:
    model = python_model(tmp_path, "return {'text': 'Hello Ada', 'cost': 0.01}")
    settings, [plan] = plans(tmp_path, model, "repeat: 2\n", max_cost=0.005, concurrency=1)
    result = run_one(settings, plan)
    assert result.status == "skip"
    assert result.skip_reason == "--max-cost $0.0050 reached (spent $0.0100); no new calls issued"


def test_repeat_auto_draws_more_answers_while_the_verdict_against_the_baseline_is_open(tmp_path: Path) -> None:
    model = python_model(tmp_path, "return 'Hello Ada' if request.repeat_index % 3 else 'Hello you'")
    settings, [plan] = plans(tmp_path, model, repeat_auto=True, repeat=3, repeat_max=12)
    asked: list[str] = []

    def baseline(key: str) -> tuple[int, int]:
        asked.append(key)
        return (12, 12)  # the baseline always passed; 2/3 now is worth a closer look

    result = run_one(settings, plan, baseline_counts=baseline)
    assert asked and asked[0] == plan.key
    assert len(result.samples) > 3 and result.counts is not None and result.counts[1] == len(result.samples)
    without_baseline = run_one(settings, plan)
    assert len(without_baseline.samples) == 3  # nothing to decide against: the first three stay


def test_prefetch_issues_each_call_once_and_items_then_find_their_answers(tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    model = python_model(tmp_path, f"open({str(calls)!r}, 'a').write(request.item_id + '\\n')\nreturn 'Hello Ada'")
    settings, [plan] = plans(tmp_path, model, "repeat: 2\n")
    runner = engine(settings)
    try:
        assert len(list(runner.requests([plan]))) == 2
        runner.prefetch([plan])
        result = runner.run(plan)
    finally:
        runner.close()
    assert result.status == "pass" and len(result.samples) == 2
    assert calls.read_text().splitlines() == [plan.key, plan.key]


@pytest.mark.parametrize("skip_reason", ["not for this model"])
def test_items_the_plan_skips_make_no_calls(tmp_path: Path, skip_reason: str) -> None:
    settings, [plan] = plans(tmp_path, "echo")
    plan.skip_reason = skip_reason
    runner = engine(settings)
    assert list(runner.requests([plan])) == []


def test_the_items_of_a_prompt_share_its_model_target_and_their_case_context(tmp_path: Path) -> None:
    # Every item used to hold its own copy of these, ~830 bytes each kept to the end of the
    # session: 80 MB of a 100,000-item replay's peak (docs/benchmarks.md, rss3).
    path = tmp_path / "prompts" / "greet.prompt.yaml"
    path.parent.mkdir()
    path.write_text(PROMPT.format(model="echo", extra="").replace("  - name: Ada\n", "  - name: Ada\n  - name: Bob\n"), encoding="utf-8")
    settings = Settings(rootdir=tmp_path)
    (ada, bob), _ = plan_file(Catalog(settings), path, [])
    assert ada.target is bob.target
    assert ada.context.phrases is bob.context.phrases
    assert ada.context.case_vars is ada.case.vars and dict(bob.context.case_vars) == {"name": "Bob"}
    assert ada.markers == bob.markers == []
    # Cases without checks, tags, expected failures or simulated tools share one empty of each.
    assert ada.case.xfail is bob.case.xfail and ada.case.tool_results is bob.case.tool_results
    assert ada.case.checks == ada.case.tags == () and not ada.case.xfail
    assert [plan.messages for plan in (ada, bob)] == [(("user", "Say hello to Ada."),), (("user", "Say hello to Bob."),)]
    assert [run_one(settings, plan).status for plan in (ada, bob)] == ["pass", "pass"]
