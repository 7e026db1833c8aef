"""A cassette that cannot be read (truncated, hand-edited into the wrong shape, an alias bomb)
is an ERROR on the items it serves, naming the file and saying to fix or delete it; every other
file still runs, the run record and report are written and pytest exits 1 (tests failed).

The alias bomb runs in a child process under an address-space cap (RLIMIT_AS), so a regression
fails the test instead of taking the machine down."""

from __future__ import annotations

import sys

import pytest
from liveproject import Project, prompt_file, run_record

OTHER = "prompts/other.prompt.yaml"
CASSETTE = "cassettes/prompts/greet/local.yaml"
FIX = "fix or delete the file, then record again (pytest --record-mode=new)"
CAP_BYTES = 1536 * 1024 * 1024  # far above what these runs need, far below the machine

BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}' if prev else 'lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi")
)


@pytest.fixture
def recorded(live_project: Project) -> Project:
    """Two prompt files with recorded answers: greet (the one to corrupt) and other."""
    (live_project.pytester.path / OTHER).write_text(prompt_file(["Edsger"]), encoding="utf-8")
    live_project.run("--record-mode=new").assert_outcomes(passed=4)
    live_project.fake.clear()
    return live_project


def replay(project: Project, *args: str) -> pytest.RunResult:
    result = project.run("--record-mode=none", "-rA", *args)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert "Traceback" not in result.stdout.str()
    return result


def assert_only_greet_fails(project: Project, result: pytest.RunResult, problem: str) -> None:
    result.assert_outcomes(passed=1, errors=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*ERROR at setup of ada*", f"provider error: cassette {CASSETTE} {problem}; {FIX}"], consecutive=False
    )
    result.stdout.fnmatch_lines(["PASSED prompts/other.prompt.yaml::edsger*"])
    assert project.fake.requests == []  # record mode none: nothing was called, nothing paid
    root = project.pytester.path
    statuses = {item.case_id: item.status for item in run_record(root, result).items}
    assert statuses == {"ada": "error", "linus": "error", "grace": "error", "edsger": "pass"}
    assert (root / "reports" / "index.html").is_file()


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        pytest.param(
            lambda text: text[: len(text) // 2] + '\n    text: "never closed\n',
            "cannot be read: line *: invalid YAML: *",
            id="truncated",
        ),
        pytest.param(lambda text: "- just\n- a list\n", "does not look like a promptcheck cassette (*)", id="a-list"),
        pytest.param(
            lambda text: "prompt: x\nentries: [1, 2]\n", "does not look like a promptcheck cassette (*)", id="entries-a-list"
        ),
        pytest.param(
            lambda text: text.replace("usage: {", "usage: lots\n      was: {", 1),
            "does not look like a promptcheck cassette (entry '*': 'text' must be text, 'usage' and 'meta' mappings)",
            id="usage-not-a-mapping",
        ),
        pytest.param(
            lambda text: text.replace("latency_s: ", "latency_s: slow #", 1),
            "does not look like a promptcheck cassette (entry '*': 'usage' token counts, 'cost' and 'latency_s' must be numbers)",
            id="latency-not-a-number",
        ),
        pytest.param(
            lambda text: text.replace("entries:", "extra: &x {a: 1}\nentries:", 1) + "    copy: *x\n",
            None,  # anchors take the full loader; a harmless one still replays
            id="harmless-anchor",
        ),
        pytest.param(
            lambda text: "\x00\x01 not text",
            "cannot be read: *",
            id="binary",
        ),
    ],
)
def test_a_corrupt_cassette_is_an_error_on_its_items_only(recorded: Project, damage: object, problem: str | None) -> None:
    path = recorded.pytester.path / CASSETTE
    path.write_text(damage(path.read_text(encoding="utf-8")), encoding="utf-8")  # type: ignore[operator]

    result = replay(recorded)

    if problem is None:
        result.assert_outcomes(passed=4)
        return
    assert_only_greet_fails(recorded, result, problem)


def test_a_corrupt_cassette_under_xdist(recorded: Project) -> None:
    """Each worker reads the cassette on its own; each reports it the same way."""
    path = recorded.pytester.path / CASSETTE
    path.write_text(path.read_text(encoding="utf-8")[:200] + '\n  x: "never closed\n', encoding="utf-8")

    result = replay(recorded, "-n", "2")

    assert_only_greet_fails(recorded, result, "cannot be read: line *: invalid YAML: *")


def test_a_corrupt_cassette_is_kept_under_record_mode_all(recorded: Project) -> None:
    """Re-recording does not write over a file it could not read: the user decides."""
    path = recorded.pytester.path / CASSETTE
    path.write_text("entries:\n  abc: [unclosed\n", encoding="utf-8")

    result = replay(recorded, "--record-mode=all")

    result.assert_outcomes(passed=1, errors=3)
    assert path.read_text(encoding="utf-8") == "entries:\n  abc: [unclosed\n"
    assert [r for r in recorded.fake.requests if "Edsger" in str(r.body)]  # the other file re-recorded
    assert not [r for r in recorded.fake.requests if "Ada" in str(r.body)]  # nothing paid for ada


def test_an_alias_bomb_in_a_cassette_fails_fast_under_a_memory_cap(recorded: Project) -> None:
    path = recorded.pytester.path / CASSETTE
    path.write_text(BOMB + "entries: {}\n", encoding="utf-8")
    limit = f"import resource, sys, pytest; resource.setrlimit(resource.RLIMIT_AS, ({CAP_BYTES}, {CAP_BYTES}))"
    args = ["-p", "no:cacheprovider", "--record-mode=none", "-rA"]
    result = recorded.pytester.run(sys.executable, "-c", f"{limit}; sys.exit(pytest.main({args!r}))", timeout=120)

    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert "MemoryError" not in result.stdout.str() + result.stderr.str()
    assert_only_greet_fails(
        recorded,
        result,
        "cannot be read: line 8: YAML aliases expand this document from 30 nodes to 490,329,066 "
        "(the anchor that expands most is here); refusing to load (is this an alias bomb?)",
    )

