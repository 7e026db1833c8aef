"""The shipped GitHub Actions workflows: schema-valid, and their shell steps work on real records."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).parent.parent / ".github" / "workflows"
PR = WORKFLOWS / "promptcheck-pr.yml"
NIGHTLY = WORKFLOWS / "promptcheck-nightly.yml"
# Installed with the test extra; next to this Python too, for a venv that is used without activating it.
CHECK_JSONSCHEMA = shutil.which("check-jsonschema") or shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def step(workflow: dict[str, Any], job: str, name: str) -> dict[str, Any]:
    [found] = [s for s in workflow["jobs"][job]["steps"] if s.get("name") == name]
    return found


@pytest.mark.skipif(CHECK_JSONSCHEMA is None, reason="check-jsonschema not installed (pip install -e '.[test]')")
def test_workflows_match_the_github_workflow_schema() -> None:
    assert CHECK_JSONSCHEMA is not None
    done = subprocess.run(
        [CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows", str(PR), str(NIGHTLY)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint not on PATH")
def test_workflows_pass_actionlint() -> None:
    done = subprocess.run(["actionlint", str(PR), str(NIGHTLY)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_pr_workflow_replays_strictly_without_secrets() -> None:
    text = PR.read_text(encoding="utf-8")
    assert "secrets." not in text
    run = step(load(PR), "prompts", "Replay prompts")["run"]
    assert "--record-mode none" in run and "-n auto" in run and '--baseline "$BASELINE"' in run
    # A pull request is compared with its base branch, replayed from the base branch's own cassettes.
    assert "git:origin/{0}" in step(load(PR), "prompts", "Replay prompts")["env"]["BASELINE"]
    summary = step(load(PR), "prompts", "Summary against the base branch")["run"]
    assert 'promptcheck diff "git:origin/$BASE_REF" latest --format markdown' in summary


def test_nightly_runs_one_live_job_per_model_and_gates_on_significance() -> None:
    workflow = load(NIGHTLY)
    on = workflow.get("on") or workflow[True]  # YAML 1.1 reads a bare `on` key as true
    assert "schedule" in on and "workflow_dispatch" in on
    models = workflow["jobs"]["models"]
    assert len(models["strategy"]["matrix"]["model"]) >= 2
    assert models["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    live = step(workflow, "models", "Live run")["run"]
    assert '--models "$MODEL"' in live and "--record-mode all" in live
    assert workflow["jobs"]["report"]["needs"] == "models"
    assert "--fail-on significant" in step(workflow, "report", "Fail on significant regressions")["run"]


# -- the report job's shell steps, run for real on records of two "nights" ------------------------

PROMPT = """\
name: Night
messages: [{role: user, content: "{{ answer }}"}]
testData:
  - {id: one, inputs: {answer: "%s"}, expected: ok}
  - {id: two, inputs: {answer: ok}, expected: ok}
"""


def night_records(pytester: pytest.Pytester, answer: str) -> list[Path]:
    """One run record per model, as the matrix jobs upload them."""
    pytester.makefile(".prompt.yaml", night=PROMPT % answer)
    shutil.rmtree(pytester.path / "reports", ignore_errors=True)
    for model in ("echo", "python:answers:first_word"):
        pytester.runpytest("--models", model)
    return sorted((pytester.path / "reports" / "runs").glob("*.json"))


def run_steps(workdir: Path, workflow: dict[str, Any], names: list[str]) -> tuple[int, str]:
    summary = workdir / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    for name in names:
        script = step(workflow, "report", name)["run"]
        # GitHub runs `run:` blocks with `bash -e {0}`.
        done = subprocess.run(["bash", "-e", "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
        if done.returncode:
            return done.returncode, f"{name}: {done.stdout}{done.stderr}"
    return 0, summary.read_text(encoding="utf-8") if summary.exists() else ""


def test_report_job_steps_merge_compare_and_keep_the_baseline(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["echo"]\n')
    pytester.makepyfile(answers="def first_word(request):\n    return request.messages[-1][1].split()[0]\n")
    workflow = load(NIGHTLY)
    job = pytester.path / "job"
    steps = ["Merge", "Report and summary", "Save as the next baseline", "Fail on significant regressions"]

    for night, answer in enumerate(["ok fine", "ok still"]):
        shutil.rmtree(job / "shards", ignore_errors=True)
        (job / "shards").mkdir(parents=True)
        for record in night_records(pytester, answer):
            shutil.copy(record, job / "shards")
        status, summary = run_steps(job, workflow, steps)
        assert status == 0, summary
        merged = json.loads((job / "current" / "nightly.json").read_text())
        assert {i["model"] for i in merged["items"]} == {"echo", "python:answers:first_word"}
        assert (job / "site" / "index.html").is_file()
        assert (job / "site" / f"{merged['run_id']}-data" / "chunk-0001.js").is_file(), "the page's data folder"
        assert (job / "previous" / "nightly.json").read_text() == (job / "current" / "nightly.json").read_text()
        if night == 0:
            assert "First nightly" in summary
        else:
            assert "|" in summary or "#" in summary, summary  # markdown from `promptcheck diff`
