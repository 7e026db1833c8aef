"""The promptfoo section of bench/compat.py: every promptfoo config under
``<corpus>/promptfoo/`` is read by the real Catalog and planned with ``--models echo``
(no network). A config that does not collect must say, in one line, what it is missing."""

from __future__ import annotations

import argparse
from pathlib import Path

from promptcheck.config import Settings
from promptcheck.loader import Catalog
from promptcheck.plan import plan_items
from promptcheck.spec import SpecErrors

TARGET = 0.90
COMMAND = "python bench/compat.py promptfoo"


def check(corpus: Path) -> list[tuple[str, int, int, str]]:
    """(config path, specs, planned items, first problem or '') per config."""
    root = corpus / "promptfoo"
    settings = Settings(rootdir=root, models=["echo"], prompt_dirs=[], cases_dirs=[])
    catalog = Catalog(settings)
    rows = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and catalog.is_promptfoo_config(p)):
        display = catalog.display_path(path)
        try:
            specs, _ = catalog.load_all(path)
            planned = sum(len(plan_items(spec, settings, [])) for spec in specs)
        except SpecErrors as exc:
            extra = f" (+{len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
            rows.append((display, 0, 0, str(exc.errors[0]).removeprefix(display + ":") + extra))
            continue
        rows.append((display, len(specs), planned, ""))
    return rows


def render(rows: list[tuple[str, int, int, str]], corpus_label: str) -> str:
    ok = sum(1 for r in rows if not r[3])
    lines = [
        "## promptfoo configs",
        "",
        f"Produced by `{COMMAND}` (no network): every `promptfooconfig*.yaml`/`.yml` under "
        f"`{corpus_label}/promptfoo/` is read by the real `Catalog` and planned with `--models echo` "
        "(a config's own providers are replaced, so nothing is called).",
        "",
        f"- Configs: {len(rows)}; collected without error: **{ok}/{len(rows)} = {100 * ok / max(len(rows), 1):.1f}%** "
        f"(target ≥ {TARGET:.0%}: {'met' if ok >= TARGET * len(rows) else 'not met'})",
        "- Every failure is one line naming the unsupported feature or the missing file.",
        "",
        "| config | result | message |",
        "|---|---|---|",
    ]
    for path, specs, planned, message in rows:
        result = f"collected ({specs} prompt(s), {planned} items)" if not message else "**failed**"
        cell = message.replace("|", "\\|") or "—"
        lines.append(f"| `{path}` | {result} | {cell} |")
    return "\n".join(lines) + "\n"


def promptfoo(corpus: Path, args: argparse.Namespace) -> tuple[str, bool]:
    from compat import _label  # the shared helper; bench/ is on sys.path when run as a script

    rows = check(corpus)
    return render(rows, _label(corpus)), sum(1 for r in rows if not r[3]) >= TARGET * len(rows)
