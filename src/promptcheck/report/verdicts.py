"""The statistical side of a comparison in words: significant vs within-noise changes, flaky keys.

Only repeated keys get a rate verdict line: for a key sampled once on both sides no test can tell
a regression from noise (p is always 1), so the plain REGRESSION/FIXED lines speak for it."""

from __future__ import annotations

from typing import Any

from promptcheck.runs.compare import Comparison, ItemComparison
from promptcheck.runs.stats import SHIFT_LABELS, Shift, wilson_interval

# Display order and the terminal's label for each rate verdict worth listing.
RATE_SECTIONS: tuple[tuple[Shift, str, str], ...] = (
    ("significant_regression", "SIGNIFICANT REGRESSION", "Significant regressions"),
    ("noise_regression", "within noise (drop)", "Drops within noise"),
    ("significant_fix", "SIGNIFICANT FIX", "Significant fixes"),
    ("noise_fix", "within noise (rise)", "Rises within noise"),
)


def repeated(comparison: Comparison, shift: Shift) -> list[ItemComparison]:
    return [i for i in comparison.with_shift(shift) if i.stat is not None and not i.stat.single_sample]


def rate_text(ic: ItemComparison) -> str:
    """``27/30 → 18/30 passed (95% CI 0.42–0.77), p=0.015``"""
    assert ic.stat is not None
    (k1, n1), (k2, n2) = ic.stat.before, ic.stat.after
    low, high = wilson_interval(k2, n2)
    return f"{k1}/{n1} → {k2}/{n2} passed (now 95% CI {low:.2f}–{high:.2f}), p={ic.stat.p_value:.3g}"


def stat_terminal_lines(comparison: Comparison, one_line: Any, limit: int) -> list[str]:
    lines: list[str] = []
    for shift, label, _ in RATE_SECTIONS:
        selected = repeated(comparison, shift)
        lines += [f"{label} {one_line(ic.key, 160)} — {rate_text(ic)}" for ic in selected[:limit]]
        if len(selected) > limit:
            lines.append(f"… and {len(selected) - limit} more {SHIFT_LABELS[shift]}s")
    flaky = comparison.flaky
    lines += [f"FLAKY {one_line(ic.key, 160)} — {ic.flaky}" for ic in flaky[:limit]]
    if len(flaky) > limit:
        lines.append(f"… and {len(flaky) - limit} more flaky keys")
    return lines


def stat_markdown(comparison: Comparison, md: Any, table: Any, limit: int) -> list[str]:
    sections = [(title, [[md(ic.key, 160), md(rate_text(ic), 200)] for ic in repeated(comparison, shift)])
                for shift, _, title in RATE_SECTIONS]
    sections.append(("Flaky", [[md(ic.key, 160), md(ic.flaky, 200)] for ic in comparison.flaky]))
    out: list[str] = []
    for title, rows in sections:
        if not rows:
            continue
        out += [f"#### {title} ({len(rows)})", ""]
        out += table(["Item", "Pass counts" if title != "Flaky" else "Why"], rows[:limit])
        if len(rows) > limit:
            out.append(f"\n… and {len(rows) - limit} more")
        out.append("")
    return out


def stat_fields(ic: ItemComparison) -> dict[str, Any]:
    """For ``diff --format json``."""
    fields: dict[str, Any] = {"flaky": ic.flaky}
    if ic.stat is not None:
        fields |= {
            "counts": list(ic.stat.after), "baseline_counts": list(ic.stat.before),
            "p_value": ic.stat.p_value, "shift": ic.stat.shift,
        }
    return fields
