"""Repeats through pytest: per-case/prompt/config sample counts and pass rates, the failure message,
the run record, seeded-distribution regressions (significant vs within noise) and --repeat auto."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import pytest

from fakellm import FakeLLM

# Answers depend on the repeat index (and on phase.txt, to change behaviour between runs).
MODEL = '''
from pathlib import Path

def answer(request):
    phase = Path("phase.txt").read_text().strip() if Path("phase.txt").exists() else "good"
    failing = {"good": set(), "some": {1, 2}, "thirds": {i for i in range(30) if i % 3 == 1}}[phase]
    return "no" if request.repeat_index in failing else "yes"
'''

PROMPT = """\
name: Affirm
model: python:model:answer
pass_rate: 0.5
messages: [{role: user, content: "Say yes ({{n}})"}]
testData:
  - {id: strict, inputs: {n: 1}, repeat: 4, pass_rate: 0.75, checks: [{contains: "yes"}]}
  - {id: lenient, inputs: {n: 2}, repeat: 4, checks: [{contains: "yes"}]}
  - {id: once, inputs: {n: 3}, checks: [{contains: "yes"}]}
"""


@pytest.fixture
def yes(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml("[tool.promptcheck]\n")
    pytester.makepyfile(model=MODEL)
    pytester.makefile(".prompt.yaml", yes=PROMPT)
    return pytester


def records(project: pytest.Pytester) -> list[dict]:
    runs = [json.loads(path.read_text()) for path in (project.path / "reports" / "runs").glob("*.json")]
    return sorted(runs, key=lambda run: run["started_at"])  # fast runs share their id's second


def test_case_repeat_and_pass_rates_flow_through(yes: pytest.Pytester) -> None:
    (yes.path / "phase.txt").write_text("some")
    result = yes.runpytest("-rA")
    # strict: 2/4 < 0.75 fails; lenient: 2/4 >= the prompt's 0.5 passes; once: one sample, passes.
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*2/4 samples passed (95% Wilson interval 0.15–0.85); needs a pass rate of at least 0.75",
        "sample 2: 1 of 1 checks failed:",
        "*✗ contains: yes — 'yes' not found in the answer",
        "  | no",
        "sample 3: 1 of 1 checks failed:",
    ])
    assert "sample 1:" not in result.stdout.str() and "sample 4:" not in result.stdout.str()
    items = {i["case_id"]: i for i in records(yes)[-1]["items"]}
    assert [s["passed"] for s in items["strict"]["samples"]] == [True, False, False, True]
    assert items["strict"]["passed_samples"] == 2 and items["strict"]["pass_rate_required"] == 0.75
    assert "samples" not in items["once"]


def test_repeat_option_and_config_pass_rate(yes: pytest.Pytester) -> None:
    yes.makepyprojecttoml("[tool.promptcheck]\npass_rate = 0.25\n")
    yes.makefile(".prompt.yaml", yes=PROMPT.replace("pass_rate: 0.5\n", "").replace("repeat: 4, ", ""))
    (yes.path / "phase.txt").write_text("some")
    result = yes.runpytest("--repeat", "3")
    result.assert_outcomes(passed=2, failed=1)  # strict (0.75) fails at 1/3; the others pass
    assert {i["case_id"]: len(i["samples"]) for i in records(yes)[-1]["items"]} == {"strict": 3, "lenient": 3, "once": 3}


def test_repeat_must_be_a_number_or_auto(yes: pytest.Pytester) -> None:
    result = yes.runpytest("--repeat", "lots")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--repeat must be a number of samples or 'auto', got 'lots'*"])


# --- a seeded distribution per run, through the real SDK ------------------------------------------

DIST_PROMPT = """\
name: Dist
messages: [{role: user, content: "Answer yes"}]
testData: [{id: q, inputs: {}, checks: [{contains: "yes"}]}]
"""


class Seeded:
    """Answers "yes" with probability ``rate``; one seeded stream, so the counts per run are fixed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rate = 0.9
        self.lock = threading.Lock()

    def __call__(self, kind: str, body: dict) -> str:
        with self.lock:
            return "yes" if self.rng.random() < self.rate else "no"


def two_runs(project: pytest.Pytester, samples: int, seed: int) -> pytest.RunResult:
    project.makefile(".prompt.yaml", dist=DIST_PROMPT)
    responder = Seeded(seed)
    with FakeLLM(responder=responder) as fake:
        project.makepyprojecttoml(
            '[tool.promptcheck]\nmodels = ["fake"]\npass_rate = 0.5\n'
            f'[tool.promptcheck.providers.fake]\ntype = "compatible"\nmodel = "m"\nbase_url = "{fake.openai_base_url}"\n'
        )
        project.runpytest("--record-mode=all", "--repeat", str(samples))
        responder.rate = 0.6
        return project.runpytest("--record-mode=all", "--repeat", str(samples), "-rs")


def test_thirty_samples_flag_the_drop_as_significant(pytester: pytest.Pytester) -> None:
    result = two_runs(pytester, 30, seed=4)
    result.stdout.fnmatch_lines(["SIGNIFICANT REGRESSION dist.prompt.yaml::q[[]fake[]] — 28/30 → 21/30 passed*p=0.04*"])


def test_three_samples_call_it_noise(pytester: pytest.Pytester) -> None:
    result = two_runs(pytester, 3, seed=6)
    result.stdout.fnmatch_lines(["within noise (drop) dist.prompt.yaml::q[[]fake[]] — 3/3 → 2/3 passed*p=1*"])
    assert "SIGNIFICANT" not in result.stdout.str()


# --- --repeat auto ----------------------------------------------------------------------------------


def test_repeat_auto_spends_samples_only_where_they_decide(yes: pytest.Pytester) -> None:
    yes.makefile(".prompt.yaml", yes=PROMPT.replace("repeat: 4, ", ""))
    yes.makepyprojecttoml("[tool.promptcheck]\nrepeat_max = 10\n")
    yes.runpytest("--repeat", "10")  # baseline: 10/10 everywhere
    (yes.path / "phase.txt").write_text("thirds")  # every third sample fails from now on
    yes.runpytest("--repeat", "auto")
    grown = {i["case_id"]: [s["passed"] for s in i["samples"]] for i in records(yes)[-1]["items"]}
    # 2/3 vs 10/10 is open, so is 4/6: grow to the cap. Nothing else to compare? Same count, stop.
    assert grown["once"] == grown["lenient"] == grown["strict"] == [i % 3 != 1 for i in range(10)]
    (yes.path / "phase.txt").write_text("good")
    yes.runpytest("--repeat", "auto")
    assert {len(i["samples"]) for i in records(yes)[-1]["items"]} == {3}  # 3/3 vs 7/10: no drop to chase


def test_repeat_auto_without_baseline_stays_at_the_start(yes: pytest.Pytester) -> None:
    (yes.path / "phase.txt").write_text("thirds")
    yes.makefile(".prompt.yaml", yes=PROMPT.replace("repeat: 4, ", ""))
    yes.runpytest("--repeat", "auto")
    assert {len(i["samples"]) for i in records(yes)[-1]["items"]} == {3}


def test_repeat_auto_in_pyproject(yes: pytest.Pytester, tmp_path: Path) -> None:
    yes.makepyprojecttoml('[tool.promptcheck]\nrepeat = "auto"\nrepeat_max = 4\n')
    yes.makefile(".prompt.yaml", yes=PROMPT.replace("repeat: 4, ", ""))
    yes.runpytest().assert_outcomes(passed=3)
    assert {len(i["samples"]) for i in records(yes)[-1]["items"]} == {3}
