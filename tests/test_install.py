"""The README's two commands, ``.ci/run`` and the ``test`` extra agree: a newcomer who runs the
README's commands gets the suite CI runs, with nothing skipped for want of a pip package."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# Programs the tests look for that pip does not install: Debian's chromium, actionlint (its PyPI
# package fetches the binary from GitHub at build time), git, and our own console script.
NOT_FROM_PIP = {"chromium", "chromium-browser", "actionlint", "git", "promptcheck"}


def readme_commands() -> list[str]:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Two commands", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def extras() -> dict[str, set[str]]:
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    return {name: {re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower() for req in reqs} for name, reqs in table.items()}


def test_the_readme_installs_the_test_extra_and_ci_runs_its_test_command() -> None:
    install, test = readme_commands()
    assert install == "pip install -e '.[test]' && pytest prompts"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet -e '.[test]'" in ci, "CI installs what the README installs"
    assert re.search(rf"^{re.escape(test)}$", ci, re.M), f"CI runs the README's test command verbatim: {test}"


def test_the_test_extra_has_every_package_the_suite_skips_without() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("*.py"))
    imported = {name.split(".")[0] for name in re.findall(r'importorskip\("([\w.]+)"', text)}
    programs = set(re.findall(r'shutil\.which\("([\w.-]+)"\)', text)) - NOT_FROM_PIP
    assert imported and programs, "this test still finds the suite's optional needs"
    test = extras()["test"]
    assert imported | programs <= test, f"missing from [project.optional-dependencies] test: {sorted((imported | programs) - test)}"
    assert extras()["js"] <= test, "the JS engine tests (jsengine.available()) need the js extra"
