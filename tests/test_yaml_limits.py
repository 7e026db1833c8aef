"""Every YAML file promptcheck reads has the same limits: aliases may not expand a document much
past what is written, and nesting is bounded. Honest data is never limited by its size.

The bombs run in a child process under an address-space cap (RLIMIT_AS) and a timeout, so a
regression fails the test instead of taking the machine down."""

from __future__ import annotations

import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest

CAP_BYTES = 1536 * 1024 * 1024  # far above what these runs need, far below the machine

# 9 levels of 9: about 400 million nodes once the aliases are followed, from 30 written.
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}' if prev else 'lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi")
)
BOMB_PROBLEM = (  # the counts depend on what else the file holds
    "YAML aliases expand this document from * nodes to 490,329,0* "
    "(the anchor that expands most is here); refusing to load (is this an alias bomb?)"
)
PROMPT = """\
name: Greeter
messages: [{role: user, content: "hello {{who}}"}]
testData: [{who: world}]
"""
PROMPTFOO = """\
prompts: ["hello {{who}}"]
providers: [echo]
"""


def validate_capped(project: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    """``promptcheck validate`` in a child whose address space is capped."""
    code = (
        f"import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({CAP_BYTES}, {CAP_BYTES}))\n"
        f"from promptcheck.cli import main; sys.exit(main(['validate', *{list(paths)!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=project, timeout=120)
    assert "Traceback" not in done.stdout + done.stderr
    assert "MemoryError" not in done.stdout + done.stderr
    return done


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.promptcheck]\nmodels = ["echo"]\n')
    return tmp_path


def write(project: Path, files: dict[str, str]) -> None:
    for relpath, text in files.items():
        path = project / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_plain_file_of_40000_cases_loads(project: Path) -> None:
    cases = "".join(f"  - who: person {i}\n    expected: hello person {i}\n" for i in range(40_000))
    write(project, {"big.prompt.yml": PROMPT.replace("testData: [{who: world}]\n", "testData:\n") + cases})

    done = validate_capped(project, "big.prompt.yml")

    assert (done.returncode, done.stdout.splitlines()) == (0, ["1 file checked: no problems"])


def test_aliases_that_honest_files_use_still_load(project: Path) -> None:
    """A `<<: *first` in each of 30,000 cases adds 330,000 nodes: more than a fixed cap on
    expansion would allow, yet a small part of what the file holds."""
    first = "  - &first {who: nobody, mood: calm, tone: dry, lang: en, style: terse}\n"
    cases = "".join(f"  - <<: *first\n    who: person {i}\n" for i in range(30_000))
    write(project, {"anchored.prompt.yml": PROMPT.replace("testData: [{who: world}]\n", "testData:\n") + first + cases})

    done = validate_capped(project, "anchored.prompt.yml")

    assert (done.returncode, done.stdout.splitlines()) == (0, ["1 file checked: no problems"])


@pytest.mark.parametrize(
    ("files", "target", "expected"),
    [
        pytest.param({"p.prompt.yml": BOMB + PROMPT}, "p.prompt.yml", f"p.prompt.yml:8:4: {BOMB_PROBLEM}", id="prompt-file"),
        pytest.param(
            {"p.prompt.yml": PROMPT, "cases/p.yaml": BOMB + "cases: [{who: x}]\n"},
            "p.prompt.yml",
            f"cases/p.yaml:8:4: {BOMB_PROBLEM}",
            id="case-file",
        ),
        pytest.param(
            {"promptfooconfig.yaml": BOMB + PROMPTFOO + "tests: [{vars: {who: x}}]\n"},
            "promptfooconfig.yaml",
            f"promptfooconfig.yaml:8:4: {BOMB_PROBLEM}",
            id="promptfoo-config",
        ),
        pytest.param(
            {"promptfooconfig.yaml": PROMPTFOO + "tests: file://tests.yaml\n", "tests.yaml": BOMB},
            "promptfooconfig.yaml",
            f"promptfooconfig.yaml:3:1: tests: 'tests.yaml' is not valid YAML: *tests.yaml:8:4: {BOMB_PROBLEM}",
            id="promptfoo-file-tests",
        ),
        pytest.param(
            {"promptfooconfig.yaml": PROMPTFOO + "tests:\n  - vars: file://vars.yaml\n", "vars.yaml": BOMB},
            "promptfooconfig.yaml",
            f"promptfooconfig.yaml:4:5: vars: 'vars.yaml' is not valid YAML: *vars.yaml:8:4: {BOMB_PROBLEM}",
            id="promptfoo-file-vars",
        ),
        pytest.param(
            {"p.prompt.yml": PROMPT.replace("[{who: world}]", "[{who: " + "[" * 100_000 + "]" * 100_000 + "}]")},
            "p.prompt.yml",
            "p.prompt.yml:3:*: YAML nests deeper than 200 levels; refusing to load",
            id="deep-nesting",
        ),
    ],
)
def test_every_yaml_file_is_read_with_the_alias_limit(project: Path, files: dict[str, str], target: str, expected: str) -> None:
    write(project, files)

    done = validate_capped(project, target)

    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(fnmatch(line, expected) for line in lines), lines


def test_a_binary_file_as_a_promptfoo_var_is_a_clear_collection_error(echo_project: pytest.Pytester) -> None:
    (echo_project.path / "cat.bin").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    echo_project.makefile(".yaml", promptfooconfig=PROMPTFOO + "tests:\n  - vars: {who: file://cat.bin}\n")
    echo_project.makefile(".prompt.yml", good=PROMPT + "evaluators: [{name: hi, string: {contains: hello}}]\n")

    result = echo_project.runpytest("-p", "no:cacheprovider", "-rA")

    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting promptfooconfig.yaml*",
            "promptfooconfig.yaml:4:5: var 'who': 'cat.bin' is not UTF-8 text (byte 0x89 at offset 0); "
            "promptcheck reads file:// references as text, and images (.png, .jpg, .gif, .webp) as base64, "
            "so this binary file cannot be used",
        ]
    )
    result.stdout.fnmatch_lines(["PASSED good.prompt.yml::world*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED or result.ret == pytest.ExitCode.TESTS_FAILED
    assert "Traceback" not in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str()
