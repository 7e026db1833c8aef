"""The promptfoo section of bench/compat.py: every promptfoo config under
``<corpus>/promptfoo/`` is read by the real Catalog and planned with ``--models echo``
(no network). A config that does not collect must say, in one line, what it is missing."""

from __future__ import annotations

import argparse
from pathlib import Path

from promptcheck.config import Settings
from promptcheck.safefiles import yamlio
from promptcheck.formats.catalog import YAML_SUFFIXES, Catalog
from promptcheck.formats.promptfoo import looks_like_config
from promptcheck.engine.plan import plan_items
from promptcheck.spec import SpecErrors

TARGET = 0.90
COMMAND = "python bench/compat.py promptfoo"


Row = tuple[str, int, int, str, str]


def check(corpus: Path) -> list[Row]:
    """(config path, specs, planned items, first problem or '', notes) per config; the notes
    name the first warning and how many items are collected but skipped at run time."""
    root = corpus / "promptfoo"
    settings = Settings(rootdir=root, models=["echo"], prompt_dirs=[], cases_dirs=[])
    catalog = Catalog(settings)
    rows = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and (catalog.is_promptfoo_config(p) or _named_config(p))):
        display = catalog.display_path(path)
        try:
            specs, warnings = catalog.load_all(path)
            plans = [plan for spec in specs for plan in plan_items(spec, settings, [])]
        except SpecErrors as exc:
            extra = f" (+{len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
            rows.append((display, 0, 0, str(exc.errors[0]).removeprefix(display + ":") + extra, ""))
            continue
        notes = []
        skipped = sum(1 for plan in plans if plan.skip_reason)
        if skipped:
            notes.append(f"{skipped} item(s) skipped at run time: {next(p.skip_reason for p in plans if p.skip_reason)}")
        if warnings:
            extra = f" (+{len(warnings) - 1} more)" if len(warnings) > 1 else ""
            notes.append("warning: " + str(warnings[0]).removeprefix(display + ":") + extra)
        rows.append((display, len(specs), len(plans), "", "; ".join(notes)))
    return rows


def _named_config(path: Path) -> bool:
    """Another YAML file shaped like a config: what `pytest <file>` reads (as `promptfoo eval -c`)."""
    if path.suffix not in YAML_SUFFIXES:
        return False
    try:
        return looks_like_config(yamlio.load_file(path, path.name))
    except Exception:  # not YAML at all: not a config either
        return False


def render(rows: list[Row], corpus_label: str) -> str:
    ok = sum(1 for r in rows if not r[3])
    lines = [
        "## promptfoo configs",
        "",
        f"Produced by `{COMMAND}` (no network): every `promptfooconfig*.yaml`/`.yml` under "
        f"`{corpus_label}/promptfoo/`, and every other YAML file shaped like a config (as `pytest <file>` "
        "reads it), is read by the real `Catalog` and planned with `--models echo` "
        "(a config's own providers are replaced, so nothing is called).",
        "",
        f"- Configs: {len(rows)}; collected without error: **{ok}/{len(rows)} = {100 * ok / max(len(rows), 1):.1f}%** "
        f"(target ≥ {TARGET:.0%}: {'met' if ok >= TARGET * len(rows) else 'not met'})",
        "- Every failure is one line naming the unsupported feature or the missing file.",
        f"- Why the rest fail: {_why(rows)}.",
        "- Collected configs may still skip some items at run time (a promptfoo-internal provider); the "
        "message column says how many and why. A `_conversation` thread is one item per model that runs "
        "its tests as turns, in order.",
        "",
        "| config | result | message |",
        "|---|---|---|",
    ]
    for path, specs, planned, message, notes in rows:
        result = f"collected ({specs} prompt(s), {planned} items)" if not message else "**failed**"
        cell = (message or notes).replace("|", "\\|") or "—"
        lines.append(f"| `{path}` | {result} | {cell} |")
    return "\n".join(lines) + "\n"


def _why(rows: list[Row]) -> str:
    """Failures grouped by cause, so what promptcheck could still fix stands out."""
    causes: dict[str, int] = {}
    for row in rows:
        message = row[3]
        if not message:
            continue
        if "file not found" in message or "no file matches" in message:
            cause = "files the config references are not in the corpus snapshot"
        elif "huggingface://" in message:
            cause = "tests downloaded from Hugging Face (needs the network)"
        elif "has no 'prompts'" in message:
            cause = "no prompts (promptfoo refuses it too: \"You must provide at least 1 prompt\")"
        elif "template syntax error" in message:
            cause = "a template that does not parse (promptfoo's Nunjucks rejects it too)"
        else:
            cause = "unsupported feature"
        causes[cause] = causes.get(cause, 0) + 1
    return "; ".join(f"{count} × {cause}" for cause, count in causes.items()) or "none"


def promptfoo(corpus: Path, label: str, args: argparse.Namespace) -> tuple[str, bool]:
    rows = check(corpus)
    return render(rows, label), sum(1 for r in rows if not r[3]) >= TARGET * len(rows)
