"""How often does the run-to-run verdict cry wolf, and how often does it catch a real drop?

Pure simulation: each simulated key draws Bernoulli samples for a baseline and a current run,
builds the same item records a session writes, and runs ``promptcheck.runs.compare.compare`` on them.

    python bench/bench_noise.py                 # prints the Markdown table
    python bench/bench_noise.py --write         # and replaces the stats section of docs/benchmarks.md

Identical distributions measure the false "significant regression" rate (should be <= alpha; Fisher's
test is conservative, so usually well below). Different distributions measure power. ``--repeat auto``
is simulated too: it looks at the data several times, so its false-positive rate is reported on its own.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from promptcheck.runs.baseline import of_run  # noqa: E402
from promptcheck.runs.compare import compare  # noqa: E402
from promptcheck.runs.record import ItemResult, RunHeader, RunRecord, Sample  # noqa: E402
from promptcheck.runs.stats import fisher_exact, next_sample_size  # noqa: E402

START, END = "<!-- stats:start -->", "<!-- stats:end -->"
BASE_ID, CUR_ID = "20261127T010000Z-aaaaaa", "20261128T010000Z-bbbbbb"


def sampled_item(item: ItemResult, passes: list[bool], *, status: str | None = None, pass_rate: float = 0.5) -> ItemResult:
    """``item`` turned into a repeated item with these sample outcomes (the session's record shape)."""
    passed = sum(passes)
    return msgspec.structs.replace(
        item,
        status=status or ("pass" if passes and passed / len(passes) >= pass_rate else "fail"),
        passed_samples=passed,
        pass_rate_required=pass_rate,
        samples=tuple(
            Sample(repeat=i, answer=item.answer or "", passed=ok, score=float(ok), latency_s=0.1)
            for i, ok in enumerate(passes)
        ),
    )


def _item(key: str, passes: list[bool]) -> ItemResult:
    return sampled_item(ItemResult(key, "pass", model="sim", answer="a"), passes)


def _run(run_id: str, items: list[ItemResult]) -> RunRecord:
    return RunRecord(RunHeader(run_id, models=("sim",)), tuple(items))


def significant_rate(
    simulations: int, n: int, p_before: float, p_after: float, alpha: float, seed: int,
    shifts: tuple[str, ...] = ("significant_regression",),
) -> float:
    """Share of simulated keys whose ``compare`` verdict is one of ``shifts``."""
    rng = random.Random(seed)
    before, after = [], []
    for i in range(simulations):
        before.append(_item(f"k{i}", [rng.random() < p_before for _ in range(n)]))
        after.append(_item(f"k{i}", [rng.random() < p_after for _ in range(n)]))
    comparison = compare(of_run(_run(BASE_ID, before), "baseline"), _run(CUR_ID, after), alpha=alpha)
    return len(comparison.with_shift(*shifts)) / simulations


def false_significant_rate(simulations: int = 200, n: int = 30, p: float = 0.8, alpha: float = 0.05, seed: int = 1) -> float:
    """Identical distributions: the share called significant either way (regression or fix)."""
    return significant_rate(simulations, n, p, p, alpha, seed, ("significant_regression", "significant_fix"))


def auto_significant_rate(
    simulations: int, baseline_n: int, p_before: float, p_after: float, limit: int, alpha: float, seed: int, start: int = 3
) -> tuple[float, float]:
    """(share flagged significant, mean samples drawn) under the ``--repeat auto`` rule."""
    rng = random.Random(seed)
    flagged, drawn = 0, 0
    for _ in range(simulations):
        k1 = sum(rng.random() < p_before for _ in range(baseline_n))
        samples = [rng.random() < p_after for _ in range(start)]
        while (target := next_sample_size((k1, baseline_n), sum(samples), len(samples), limit, alpha)) > len(samples):
            samples += [rng.random() < p_after for _ in range(target - len(samples))]
        drawn += len(samples)
        k2 = sum(samples)
        flagged += k2 * baseline_n < k1 * len(samples) and fisher_exact(k1, baseline_n, k2, len(samples)) < alpha
    return flagged / simulations, drawn / simulations


def table(simulations: int, alpha: float) -> str:
    rows = ["| Scenario | Samples per run | Flagged significant |", "|---|---|---|"]
    for p in (0.9, 0.8, 0.5):
        for n in (3, 10, 30):
            rate = false_significant_rate(simulations, n, p, alpha, seed=int(p * 100) + n)
            rows.append(f"| same rate {p:.0%} → {p:.0%} (false positives, either direction) | {n} | {rate:.1%} |")
    for n in (3, 10, 30, 60):
        rate = significant_rate(simulations, n, 0.9, 0.6, alpha, seed=1000 + n)
        rows.append(f"| real drop 90% → 60% (power) | {n} | {rate:.1%} |")
    for p_after, what in ((0.9, "same rate 90% → 90% (false positives)"), (0.6, "real drop 90% → 60% (power)")):
        rate, mean_n = auto_significant_rate(simulations, 30, 0.9, p_after, limit=30, alpha=alpha, seed=77)
        rows.append(f"| {what}, `--repeat auto` (3 → max 30) vs a 30-sample baseline | {mean_n:.1f} on average | {rate:.1%} |")
    return "\n".join(rows)


def section(simulations: int, alpha: float) -> str:
    return (
        f"{START}\n## Run-to-run verdicts: false positives and power\n\n"
        f"`python bench/bench_noise.py --simulations {simulations} --write` — {simulations} seeded simulated keys per row, "
        f"two-sided Fisher exact test, α = {alpha}. A key is a \"significant regression\" when p < α and its pass rate dropped "
        "(\"significant fix\" when it rose); power rows count significant regressions only.\n\n"
        f"{table(simulations, alpha)}\n\n"
        "Fisher's test is conservative on small samples, so the false-positive rate stays under α; with 3 samples "
        "a drop can never be significant, which is why such drops are reported as \"within noise\".\n"
        f"{END}\n"
    )


def write_section(doc: Path, text: str) -> None:
    current = doc.read_text(encoding="utf-8") if doc.exists() else ""
    if START in current and END in current:
        head, rest = current.split(START, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        updated = head + text + tail
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    doc.write_text(updated, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=200)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--write", action="store_true", help="update the stats section of docs/benchmarks.md")
    args = parser.parse_args()
    text = section(args.simulations, args.alpha)
    print(text)
    if args.write:
        write_section(ROOT / "docs" / "benchmarks.md", text)


if __name__ == "__main__":
    main()
