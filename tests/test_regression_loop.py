"""The everyday loop, end to end: record, a partial run, an edit that breaks two answers,
re-record, review. The terminal, the report and `promptcheck diff` must name exactly the two
planted regressions and nothing new; an outage in between must leave no trace."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from liveproject import PROMPT, Project, prompt_file
from reportdata import report_items as read_report

from promptcheck.cli import main as cli_main
from promptcheck.runs.reading import list_runs, load_run

NAMES = ["Ada", "Linus", "Grace"]
# Each answer repeats the prompt (the fake echoes it): cutting names to three letters breaks the
# answers for Linus and Grace, whose names no longer appear, and leaves Ada's intact.
BROKEN = prompt_file(NAMES).replace('content: "Say hello to {{name}}."', 'content: "Say hello to {{ name[:3] }}."')
REGRESSED = ["prompts/greet.prompt.yaml::grace[local]", "prompts/greet.prompt.yaml::linus[local]"]


def summary(result: pytest.RunResult) -> list[str]:
    """promptcheck's part of the terminal summary, from its headline on."""
    lines = result.stdout.str().split("promptcheck ---", 1)[1].splitlines()
    return lines[next(n for n, line in enumerate(lines) if line.startswith("promptcheck: ")) :]


def report_items(project: Project) -> list[dict]:
    return read_report(project.pytester.path / "reports" / "index.html")


def diff(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()  # drop what the in-process pytest runs printed
    code = cli_main(["diff", *args])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_loop_names_exactly_the_planted_regressions(
    live_project: Project, capsys: pytest.CaptureFixture[str], workers: list[str]
) -> None:
    p = live_project
    p.run("--record-mode=new", *workers).assert_outcomes(passed=3)
    p.run("-k", "ada", *workers).assert_outcomes(passed=1)  # a partial run in between
    (p.pytester.path / PROMPT).write_text(BROKEN, encoding="utf-8")
    result = p.run("--record-mode=all", *workers)
    result.assert_outcomes(passed=1, failed=2)

    first_run = list_runs(p.pytester.path / "reports")[0].run_id
    lines = summary(result)
    assert lines[0].startswith("promptcheck: 3 items, 2 regressions (vs each key's latest outcome, from ")
    assert [line.split(" ")[1] for line in lines if line.startswith("REGRESSION")] == REGRESSED
    assert all(f"(baseline: {first_run})" in line for line in lines if line.startswith("REGRESSION"))
    assert not any("new" in line for line in lines), "keys the partial run left out are not new"

    items = report_items(p)
    assert sorted(i["k"] for i in items if i["c"] == "regression") == REGRESSED
    assert {i["c"] for i in items} == {"regression", "unchanged"} and all(i.get("br") for i in items)

    code, out = diff(capsys, "--report-dir", str(p.pytester.path / "reports"))
    assert code == 1
    assert [line.split(" ")[1] for line in out.splitlines() if line.startswith("REGRESSION")] == REGRESSED
    assert " new" not in out.splitlines()[0]
    code, out = diff(capsys, "--format", "json", "--report-dir", str(p.pytester.path / "reports"))
    assert json.loads(out)["counts"] | {"unchanged": 0} == {
        "regression": 2, "still_failing": 0, "fix": 0, "not_evaluated": 0, "new": 0,
        "changed": 0, "removed": 0, "not_run": 0, "unchanged": 0,
    }


def test_accepting_the_new_answers_pins_them_as_the_baseline(live_project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    p = live_project
    p.run("--record-mode=new").assert_outcomes(passed=3)
    (p.pytester.path / PROMPT).write_text(BROKEN, encoding="utf-8")
    p.run("--record-mode=all").assert_outcomes(passed=1, failed=2)
    reports = str(p.pytester.path / "reports")
    capsys.readouterr()
    assert cli_main(["baseline", "set", "latest", "--report-dir", reports]) == 0
    assert "baseline pinned: run " in capsys.readouterr().out
    again = p.run()  # replayed: the same answers, compared with the accepted run
    again.assert_outcomes(passed=1, failed=2)
    assert summary(again)[0].startswith("promptcheck: 3 items, 2 still failing (vs run ")
    assert "(pinned)" in summary(again)[0]
    assert cli_main(["baseline", "clear", "--report-dir", reports]) == 0
    assert "baseline pin removed" in capsys.readouterr().out


def test_a_provider_outage_leaves_no_flaky_marks_and_no_regressions(live_project: Project) -> None:
    p = live_project
    p.run("--record-mode=new").assert_outcomes(passed=3)
    down = '[tool.promptcheck.providers.local]\ntype = "compatible"\nmodel = "tiny"\nbase_url = "http://127.0.0.1:9/v1"\n'
    p.configure(providers=down)
    outage = p.run("--record-mode=all")
    outage.assert_outcomes(errors=3)
    outage_lines = summary(outage)
    assert outage_lines[0].startswith("promptcheck: 3 items, 3 not evaluated (vs ")
    assert any(line.startswith("NOT EVALUATED 3 items — provider error: local:") for line in outage_lines)
    assert not any(line.startswith(("REGRESSION", "FLAKY")) for line in outage_lines)

    p.configure()
    for _ in range(3):  # back up: the answers are the recorded ones, as before the outage
        good = p.run()
        good.assert_outcomes(passed=3)
        lines = summary(good)
        assert lines[0].startswith("promptcheck: 3 items (vs "), lines[0]
        assert not any(line.startswith(("REGRESSION", "FIXED", "FLAKY", "NOT EVALUATED")) for line in lines)
    current = load_run("latest", p.pytester.path / "reports")
    assert current.header.summary.counts["pass"] == 3


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


def test_a_git_baseline_finds_the_regressions_between_two_commits_offline(live_project: Project) -> None:
    p = live_project
    repo = p.pytester.path
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.invalid")
    git(repo, "config", "user.name", "dev")
    (repo / ".gitignore").write_text("reports/\n", encoding="utf-8")
    p.run("--record-mode=new").assert_outcomes(passed=3)
    # A case added after recording: REF's cassettes have no answer for it.
    (repo / PROMPT).write_text(prompt_file([*NAMES, "Zed"]), encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "prompt and its recorded answers")

    (repo / PROMPT).write_text(BROKEN.replace("  - name: Grace\n", "  - name: Grace\n  - name: Zed\n"), encoding="utf-8")
    p.run("--record-mode=all").assert_outcomes(passed=2, failed=2)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "shorter names")
    served = len(p.fake.requests)

    result = p.run("--baseline", "git:HEAD~1")  # replay only: no server, no key
    result.assert_outcomes(passed=2, failed=2)
    assert len(p.fake.requests) == served, "neither this run nor the replay of HEAD~1 called the API"
    lines = summary(result)
    assert lines[0] == "promptcheck: 4 items, 2 regressions, 1 not evaluated (vs git:HEAD~1)"
    assert [line.split(" ")[1] for line in lines if line.startswith("REGRESSION")] == REGRESSED
    assert any(line.startswith("NOT EVALUATED prompts/greet.prompt.yaml::zed[local] — no baseline outcome: not evaluated at git:HEAD~1:")
               for line in lines)


def test_a_git_baseline_outside_a_repository_says_so(live_project: Project) -> None:
    p = live_project
    result = p.run("--baseline", "git:main")
    result.assert_outcomes(errors=3)  # nothing recorded yet: replay-only items error, and still no crash
    lines = summary(result)
    assert any(
        line == f"promptcheck: baseline not used: --baseline git:main needs a git repository, and {p.pytester.path} is not inside one"
        for line in lines
    ), lines
