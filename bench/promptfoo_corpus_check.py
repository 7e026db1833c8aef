"""Can the real promptfoo load the corpus configs promptcheck fails on? (issue #5)

Runs ``promptfoo eval -c <config> -r echo`` on every ``promptfooconfig*.yaml``/``.yml`` under
``<corpus>/promptfoo/`` and prints a Markdown table next to promptcheck's own verdict (read and
planned as ``bench/compat_promptfoo.py`` does). Run by hand, never by the test suite:

    npm install --prefix /tmp/pfnode promptfoo@0.120.8
    python bench/promptfoo_corpus_check.py [--promptfoo /tmp/pfnode] [--corpus ../shared/corpus]

No network and no writes into the corpus: each config runs in its own throwaway copy of the
corpus directory, providers are replaced by promptfoo's ``echo`` provider, API keys are removed
from the environment (a model-graded assertion then errors at once instead of calling out), and
promptfoo's home (database, cache) is a temp directory. A config that needs the network fails
fast on DNS; network retries are shortened. ``-r echo`` replaces the config's providers only: a
provider set on ``defaultTest`` or a test is still loaded, so a missing one still fails the load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

VERSION = "0.120.8"
KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY",
                 "HF_TOKEN", "HF_API_TOKEN", "MISTRAL_API_KEY", "GROQ_API_KEY", "OPENROUTER_API_KEY")


@dataclass
class Outcome:
    config: str  # relative to <corpus>/promptfoo
    loads: bool  # promptfoo finished the eval and wrote results (every test may still have errored)
    aborted: bool = False  # not loaded, but the eval had started: it failed on a var file, a hook...
    passed: int = 0
    failed: int = 0
    errors: int = 0
    message: str = ""  # promptfoo's error line: why it did not load, or the first test error


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(text: str) -> str:
    return next((line.strip() for line in ANSI.sub("", text).splitlines() if line.strip()), "")


def _load_error(output: str) -> str:
    """The line that says why promptfoo stopped: its 'Error: ...' line, else the last line."""
    lines = [line.strip() for line in ANSI.sub("", output).splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("Error:", "Error ", "TypeError", "SyntaxError", "ENOENT")) or " Error: " in line:
            return line
    return lines[-1] if lines else "(no output)"


def run_one(install: Path, corpus: Path, config: Path, timeout: float) -> Outcome:
    relative = config.relative_to(corpus)
    with tempfile.TemporaryDirectory(prefix="pf-corpus-") as tmp:
        # A copy of the whole corpus directory (under 1 MB), so `../` references resolve as in
        # the corpus and whatever promptfoo writes next to a config lands in the copy.
        copy = Path(tmp, "promptfoo")
        shutil.copytree(corpus, copy)
        out = Path(tmp, "out.json")
        env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
        env.update({
            "PROMPTFOO_DISABLE_TELEMETRY": "1",
            "PROMPTFOO_DISABLE_UPDATE": "1",
            "PROMPTFOO_CONFIG_DIR": str(Path(tmp, "home")),  # database and cache in the throwaway dir
            "PROMPTFOO_REQUEST_BACKOFF_MS": "50",  # a fetch that cannot succeed offline fails in ~1 s, not ~80 s
            "PROMPTFOO_PYTHON": sys.executable,
        })
        # Not --no-write: with it, promptfoo 0.120.8 leaves `results` empty in the -o JSON, and the
        # per-test errors are what tells "loads" from "runs"; the database goes to the temp home.
        command = [str(install / "node_modules" / ".bin" / "promptfoo"), "eval", "-c", config.name, "-r", "echo",
                   "--no-cache", "--no-table", "--no-progress-bar", "--no-share", "-j", "1", "-o", str(out)]
        try:
            proc = subprocess.run(command, check=False, cwd=copy / relative.parent, env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return Outcome(str(relative), loads=False, message=f"timed out after {timeout:g} s")
        if not out.exists():
            # Paths in the message point into the throwaway copy; show them as corpus paths.
            message = _load_error(proc.stderr + "\n" + proc.stdout).replace(str(copy), str(corpus))
            # promptfoo prints this once the config, prompts and tests are all resolved.
            started = "Starting evaluation" in proc.stdout
            return Outcome(str(relative), loads=False, aborted=started, message=message)
        results = json.loads(out.read_text())["results"]
        stats = results["stats"]
        outcome = Outcome(str(relative), loads=True, passed=stats["successes"], failed=stats["failures"],
                          errors=stats["errors"])
        errors = [r.get("error") or "" for r in results["results"] if r.get("error") and r.get("failureReason") == 2]
        if errors:
            outcome.message = _first_line(errors[0]).replace(str(copy), str(corpus))
        return outcome


def ours(corpus: Path, configs: list[Path]) -> dict[str, str]:
    """promptcheck's verdict per config, read and planned as bench/compat_promptfoo.py does
    ('' when it collects, else its first error). Every config is listed explicitly, so the
    ones whose names promptcheck does not collect by itself (promptfooconfig-x.yaml) count too."""
    # Imported here, after the sys.path change, so --help works without promptcheck installed.
    from promptcheck.config import Settings
    from promptcheck.formats.catalog import Catalog
    from promptcheck.engine.plan import plan_items
    from promptcheck.spec import SpecErrors

    listed = [str(c.relative_to(corpus)) for c in configs]
    settings = Settings(rootdir=corpus, models=["echo"], prompt_dirs=[], cases_dirs=[], promptfoo_configs=listed)
    catalog = Catalog(settings)
    verdicts = {}
    for config, name in zip(configs, listed):
        try:
            specs, _warnings = catalog.load_all(config)
            for spec in specs:
                plan_items(spec, settings, [])  # planning raises SpecErrors too (e.g. a bad model map)
            verdicts[name] = ""
        except SpecErrors as exc:
            verdicts[name] = str(exc.errors[0]).removeprefix(catalog.display_path(config) + ":")
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promptfoo", type=Path, default=Path("/tmp/pfnode"),
                        help="the --prefix promptfoo was installed into (default /tmp/pfnode)")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus",
                        help="the corpus root; configs are read from its promptfoo/ directory")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per config (default 180)")
    parser.add_argument("--jobs", type=int, default=4, help="configs run at once (default 4)")
    args = parser.parse_args()
    install: Path = args.promptfoo.resolve()
    if not (install / "node_modules" / ".bin" / "promptfoo").exists():
        sys.exit(f"promptfoo not found under {install}; install it with:\n"
                 f"    npm install --prefix {install} promptfoo@{VERSION}")
    corpus = (args.corpus / "promptfoo").resolve()
    configs = sorted(p for p in corpus.rglob("promptfooconfig*") if p.suffix in (".yaml", ".yml"))
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(lambda c: run_one(install, corpus, c, args.timeout), configs))
    mine = ours(corpus, configs)

    version = json.loads((install / "node_modules" / "promptfoo" / "package.json").read_text())["version"]
    print(f"promptfoo {version}, `promptfoo eval -c <config> -r echo` in a throwaway copy, no network\n")
    print("| config | promptfoo loads? | echo run (pass/fail/error) | promptfoo's error line | promptcheck |")
    print("|---|---|---|---|---|")
    for o in outcomes:
        run = f"{o.passed}/{o.failed}/{o.errors}" if o.loads else "—"
        loads = "yes" if o.loads else "**no** (eval aborted)" if o.aborted else "**no** (config)"
        ours_cell = "collected" if not mine[o.config] else "**fails**: " + mine[o.config]
        cells = [f"`{o.config}`", loads, run, o.message or "—", ours_cell]
        print("| " + " | ".join(c.replace("|", "\\|")[:300] for c in cells) + " |")
    loaded = sum(o.loads for o in outcomes)
    runs = [o for o in outcomes if o.loads and (o.errors == 0 or o.errors < o.passed + o.failed + o.errors)]
    print(f"\nconfigs: {len(outcomes)}; promptfoo loads {loaded} (runs at least one test without error: {len(runs)}); "
          f"promptcheck collects {sum(1 for m in mine.values() if not m)}")
    for label, group in (
        ("promptfoo runs some tests, promptcheck fails", [o.config for o in runs if mine[o.config]]),
        ("promptfoo loads but every test errors, promptcheck fails",
         [o.config for o in outcomes if o.loads and o not in runs and mine[o.config]]),
        ("promptfoo does not load, promptcheck collects", [o.config for o in outcomes if not o.loads and not mine[o.config]]),
    ):
        print(f"{label}: {', '.join(group) or 'none'}")


if __name__ == "__main__":
    main()
