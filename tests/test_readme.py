"""The README's walkthrough of the regression loop runs as written, and says what it claims."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- walkthrough:start -->\n```bash\n(.*?)```\n<!-- walkthrough:end -->", text, re.S)
    assert block, "the README's walkthrough block is missing its markers"
    return block.group(1)


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", walkthrough()], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout
    runs = re.findall(r"^=+ (.*) in [\d.]+s", out, re.M)
    assert runs == ["3 passed", "1 passed, 2 deselected", "2 failed, 1 passed", "3 passed"], done.stdout + done.stderr
    headlines = [line for line in out.splitlines() if line.startswith("promptcheck: ")]
    assert headlines[2].startswith("promptcheck: 3 items, 2 regressions (vs each key's latest outcome"), headlines
    regressions = [line.split(" ")[1] for line in out.splitlines() if line.startswith("REGRESSION")]
    # Twice: the pytest summary of step 4, then `promptcheck diff` in step 5.
    assert regressions == ["prompts/greet.prompt.yaml::grace[echo]", "prompts/greet.prompt.yaml::linus[echo]"] * 2
    assert "baseline pinned: run " in out
    assert headlines[-1].startswith("promptcheck: 3 items, 2 fixes (vs run ") and "(pinned)" in headlines[-1]
    assert not any(" new" in line for line in headlines[1:]), "nothing is new after the first run"
    assert "report: reports/" in out
