"""Cross-check tests/test_promptfoo_conformance.py against the real promptfoo (issue #5).

The conformance table's expectations were written from promptfoo's docs; this asks promptfoo's
own assertion engine (``assertions.runAssertions`` of the npm package, offline: the answer is
given as the provider output, no grading provider) for its verdict on every row and lists where
they differ. Run by hand, never by the test suite:

    npm install --prefix /tmp/pfnode promptfoo@0.123.1
    python bench/promptfoo_crosscheck.py [--promptfoo /tmp/pfnode]

"ours" in the output is promptcheck's current verdict (the test module's ``verdict``), so a
disagreement shows whether the row's expectation or the check function is what differs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

# Both need the sys.path above: the table lives in tests/, promptcheck in src/.
import test_promptfoo_conformance as conformance

from promptcheck.checks.base import CheckContext

VERSION = "0.123.1"
HELPER = Path(__file__).with_name("promptfoo_crosscheck.mjs")
# These need a grading LLM in promptfoo; promptcheck skips them without a judge, so a verdict
# comparison would compare two different things.
MODEL_GRADED = {
    "llm-rubric", "model-graded-closedqa", "model-graded-factuality", "factuality", "answer-relevance",
    "context-faithfulness", "context-recall", "context-relevance", "similar", "classifier", "moderation",
    "select-best", "g-eval", "pi", "conversation-relevance", "search-rubric", "max-score",
}


@dataclass
class Row:
    id: str
    table: str
    shown: str  # the assertion as written in the table
    answer: str
    expected: bool
    payload: dict[str, Any]  # what the Node helper gets
    ours: bool | None = None
    not_comparable: str = ""
    score: float | None = None  # the table's expected score, where it gives one (scoring rows)


def _param_rows(test: Any) -> list[tuple[Any, ...]]:
    """The argvalues of a test's @pytest.mark.parametrize: latency/cost and scoring rows are
    written inline there, not in a module-level table."""
    for mark in getattr(test, "pytestmark", []):
        if mark.name == "parametrize":
            return [tuple(v) for v in mark.args[1]]
    return []


def _ours(run: Callable[[], object]) -> bool | None:
    # promptcheck's verdict is informational; a crash there must not hide promptfoo's verdict.
    try:
        return bool(run())
    except Exception:  # noqa: BLE001
        return None


def collect_rows() -> list[Row]:
    rows: list[Row] = []
    vars_ = {"topic": "fruit"}  # the context verdict() gives every deterministic row
    for table in ("ROWS", "JS_ROWS", "REGEX_ROWS"):
        for i, (assertion, answer, expected) in enumerate(getattr(conformance, table, [])):
            row = Row(f"{table}[{i}]", table, json.dumps(assertion, ensure_ascii=False), answer, expected,
                      {"kind": "assert", "asserts": [assertion], "answer": answer, "vars": vars_})
            row.ours = _ours(lambda a=assertion, t=answer: conformance.verdict(a, t))
            rows.append(row)
    for i, (assertion, answer, expected, score) in enumerate(getattr(conformance, "SCORED_ROWS", [])):
        row = Row(f"SCORED_ROWS[{i}]", "SCORED_ROWS", json.dumps(assertion, ensure_ascii=False), answer, expected,
                  {"kind": "assert", "asserts": [assertion], "answer": answer, "vars": vars_}, score=score)
        row.ours = _ours(lambda a=assertion, t=answer: conformance.verdict(a, t))
        rows.append(row)
    for i, (text, answer, expected) in enumerate(getattr(conformance, "SHORTHAND_ROWS", [])):
        row = Row(f"SHORTHAND_ROWS[{i}]", "SHORTHAND_ROWS", f"CSV __expected: {text!r}", answer, expected,
                  {"kind": "shorthand", "text": text, "answer": answer})
        row.ours = _ours(lambda t=text, a=answer: conformance.verdict(conformance.assertion_from_string(t), a))
        rows.append(row)
    for i, (assertion, latency_s, cost, expected) in enumerate(_param_rows(conformance.test_latency_and_cost)):
        row = Row(f"latency_and_cost[{i}]", "latency_and_cost",
                  f"{json.dumps(assertion)} latency={latency_s}s cost={cost}", "x", expected,
                  {"kind": "assert", "asserts": [assertion], "answer": "x", "vars": {},
                   "latencyMs": round(latency_s * 1000), "cost": cost})
        ctx = CheckContext(latency_s=latency_s, cost=cost)
        row.ours = _ours(lambda a=assertion, c=ctx: conformance.verdict(a, "x", c))
        rows.append(row)
    for i, (asserts, threshold, answer, passed, score) in enumerate(_param_rows(conformance.test_scoring)):
        row = Row(f"scoring[{i}]", "scoring", f"{json.dumps(asserts)} threshold={threshold}", answer, passed,
                  {"kind": "assert", "asserts": asserts, "answer": answer, "vars": {}, "threshold": threshold},
                  score=score)
        row.ours = _ours(lambda a=asserts, t=threshold, x=answer: conformance.evaluate(
            [conformance.build(b) for b in a], x, CheckContext(), t).passed)
        graded = sorted({a["type"] for a in asserts} & MODEL_GRADED)
        if graded:
            row.not_comparable = f"model-graded {', '.join(graded)}: promptfoo would call a grading LLM"
        rows.append(row)
    for row in rows:
        types = {a["type"] for a in row.payload.get("asserts", [])}
        if types & MODEL_GRADED and not row.not_comparable:
            row.not_comparable = f"model-graded {', '.join(sorted(types & MODEL_GRADED))}"
        row.payload["id"] = row.id
    return rows


def run_promptfoo(install: Path, rows: list[Row]) -> dict[str, dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        sys.exit("node is not on PATH; promptfoo needs Node.js >= 20")
    with tempfile.TemporaryDirectory(prefix="pf-crosscheck-") as tmp:
        rows_json, out_json = Path(tmp, "rows.json"), Path(tmp, "out.json")
        rows_json.write_text(json.dumps([r.payload for r in rows if not r.not_comparable], ensure_ascii=False))
        env = {
            **os.environ,
            # Offline and side-effect free: no telemetry, no update check, promptfoo's
            # config dir / database in the throwaway directory instead of ~/.promptfoo.
            "PROMPTFOO_DISABLE_TELEMETRY": "1",
            "PROMPTFOO_DISABLE_UPDATE": "1",
            "PROMPTFOO_CONFIG_DIR": str(Path(tmp, "promptfoo-home")),
            "PROMPTFOO_PYTHON": sys.executable,  # python rows run in promptfoo's python wrapper
        }
        proc = subprocess.run([node, str(HELPER), str(install), str(rows_json), str(out_json)],
                              check=False, cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not out_json.exists():
            sys.exit(f"the promptfoo helper failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        result: dict[str, dict[str, Any]] = json.loads(out_json.read_text())
        return result


def _score(score: float | None) -> str:
    return "" if score is None else f" (score {score})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promptfoo", type=Path, default=Path("/tmp/pfnode"),
                        help="the --prefix promptfoo was installed into (default /tmp/pfnode)")
    args = parser.parse_args()
    install: Path = args.promptfoo.resolve()
    package = install / "node_modules" / "promptfoo" / "package.json"
    if not package.exists():
        sys.exit(f"promptfoo not found under {install}; install it with:\n"
                 f"    npm install --prefix {install} promptfoo@{VERSION}")
    found = json.loads(package.read_text())["version"]
    if found != VERSION:
        print(f"note: promptfoo {found} found, the table was checked against {VERSION}", file=sys.stderr)

    rows = collect_rows()
    verdicts = run_promptfoo(install, rows)
    agree, disagree, skipped = [], [], []
    for row in rows:
        got = verdicts.get(row.id)
        if row.not_comparable:
            skipped.append((row, row.not_comparable))
        elif got is None or "error" in got:
            skipped.append((row, "promptfoo raised: " + (got or {}).get("error", "no result")))
        elif bool(got["pass"]) == row.expected and (row.score is None or round(got["score"], 4) == row.score):
            agree.append(row)
        else:
            disagree.append((row, got))

    print(f"promptfoo {found} at {install}")
    print(f"rows: {len(rows)}; compared: {len(agree) + len(disagree)}; agreements: {len(agree)}; "
          f"disagreements: {len(disagree)}; not comparable: {len(skipped)}")
    ours_off = [r for r in rows if r.ours is not None and r.ours != r.expected]
    if ours_off:
        print(f"(promptcheck's current verdict differs from the table's expectation on {len(ours_off)} row(s): "
              + ", ".join(r.id for r in ours_off) + ")")
    for row, got in disagree:
        parsed = f"\n    promptfoo parsed it as: {json.dumps(got['parsed'], ensure_ascii=False)}" if "parsed" in got else ""
        print(f"\nDISAGREE {row.id}\n    assertion: {row.shown}\n    answer:    {row.answer!r}\n"
              f"    expected:  {'pass' if row.expected else 'fail'}{_score(row.score)} (table); ours now: "
              f"{'?' if row.ours is None else 'pass' if row.ours else 'fail'}\n"
              f"    promptfoo: {'pass' if got['pass'] else 'fail'} (score {got.get('score')}): "
              f"{str(got.get('reason', '')).strip()[:400]!r}{parsed}")
    for row, why in skipped:
        print(f"\nNOT COMPARABLE {row.id}: {row.shown} answer={row.answer!r}: {why[:400]}")


if __name__ == "__main__":
    main()
