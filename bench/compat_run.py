"""The promptfoo-run section of bench/compat.py: the corpus's conversation and tool-use configs,
run through pytest offline instead of only collected.

Which configs: those whose text (or a file beside them, such as a ``prompt.json``) sets
``_conversation``, ``conversationId``, ``tools``, ``tool_choice`` or ``functions``, and those
named after a conversation. Every model a config declares is sent by ``model_map`` to one local
``python:`` function (``BOT`` below), so each model keeps the config's own settings and tools:
when the request declares tools it calls the first one with arguments built from its parameters
schema, otherwise it answers with the last user message, as ``echo`` does. The tool assertions
therefore judge a real tool call, and a conversation's turns are really asked one after another.
Nothing is sent over the network; the run record (in a temp dir) gives the turns and calls."""

from __future__ import annotations

import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from compat_pytest import md_cell, run_pytest

from promptcheck.config import Settings
from promptcheck.engine.plan import plan_items
from promptcheck.formats.catalog import Catalog
from promptcheck.runs.reading import load_run
from promptcheck.runs.record import ItemResult
from promptcheck.spec import SpecErrors

COMMAND = "python bench/compat.py promptfoo"
BOT_MODULE = "compat_bot"
BOT = f"python:{BOT_MODULE}:answer"
_KEYS = re.compile(r"_conversation|conversationId|^\s*-?\s*(?:tools|tool_choice|functions)\s*:", re.M)
_SIDE_FILES = (".json", ".txt", ".j2", ".md", ".yaml", ".yml")
# Configs that error in promptfoo too, and why: not ours to fix.
NOT_OURS = {
    "promptfoo/anthropic/promptfooconfig.conversation.yaml": "its prompt file chat-prompt.json splits every tag "
    "across lines ({% ... % then } below: a formatter broke them); promptfoo 0.120.8 errors on every test with the same "
    "line-3 error",
    "promptfoo/conversation-replay/promptfooconfig-simple.yaml": "it has no prompts; promptfoo makes up a {{prompt}} "
    "prompt, promptcheck says so instead (see \"Checked against the real promptfoo\" below)",
}

BOT_SOURCE = '''\
"""compat bench's offline model: a tool call built from the first declared tool, else echo."""


def _value(schema, text):
    if not isinstance(schema, dict):
        return text
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _value(sub, text) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [_value(schema.get("items") or {}, text)]
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return True
    return text


def answer(request):
    users = [content for role, content in request.messages if role == "user"]
    text = users[-1] if users else ""
    if not request.tools:
        return text
    function = request.tools[0].get("function", {})
    arguments = _value(function.get("parameters") or {"type": "object"}, text)
    return {"text": "", "tool_calls": [{"name": function.get("name", ""), "arguments": arguments}]}
'''


@dataclass
class RunRow:
    path: str  # relative to the corpus root, as pytest's node ids spell it
    models: set[str] = field(default_factory=set)  # every name a model of the config resolves through
    threads: int = 0  # items that are conversations
    turns_planned: int = 0
    collect_error: str = ""
    outcomes: Counter[str] = field(default_factory=Counter)
    items: list[ItemResult] = field(default_factory=list)

    @property
    def turns_answered(self) -> int:
        return sum(len(item.turns) for item in self.items)

    @property
    def with_tool_calls(self) -> int:
        return sum(1 for item in self.items if item.tool_calls)

    @property
    def errored(self) -> bool:
        return bool(self.collect_error or self.outcomes.get("error"))


def selected(corpus: Path) -> list[Path]:
    root = corpus / "promptfoo"
    configs = [p for p in sorted(root.rglob("*.y*ml")) if p.name.startswith("promptfooconfig")]
    return [p for p in configs if "conversation" in p.relative_to(root).as_posix().lower() or _declares(p)]


def _declares(config: Path) -> bool:
    sides = [p for p in config.parent.iterdir() if p.suffix in _SIDE_FILES and not p.name.startswith("promptfooconfig")]
    return any(_KEYS.search(p.read_text(encoding="utf-8", errors="replace")) for p in [config, *sides] if p.is_file())


def plan_rows(corpus: Path, configs: list[Path]) -> list[RunRow]:
    """The models to send to the bot, and the turns each config's threads will ask."""
    catalog = Catalog(Settings(rootdir=corpus, prompt_dirs=[], cases_dirs=[], model_map={}))
    rows = []
    for config in configs:
        row = RunRow(catalog.display_path(config))
        try:
            specs, _ = catalog.load_all(config)
            for spec in specs:
                row.models |= {ref.provider_id for ref in spec.model_refs.values()}
                row.models |= {m for m in spec.models if m not in spec.model_refs}
                row.models |= {m for case in spec.cases for m in case.models or ()}
                plans = plan_items(spec, catalog.settings, [])
                row.threads += sum(1 for p in plans if p.turns)
                row.turns_planned += sum(len(p.turns) for p in plans)
        except SpecErrors:
            pass  # pytest reports it as the config's collection error
        rows.append(row)
    return rows


def run(corpus: Path) -> list[RunRow]:
    rows = plan_rows(corpus, selected(corpus))
    models = sorted({m for row in rows for m in row.models})
    settings = (
        f"promptfoo_configs = [{', '.join(_toml(r.path) for r in rows)}]\nprompt_dirs = []\ncases_dirs = []\n"
        "[tool.promptcheck.model_map]\n" + "".join(f"{_toml(m)} = {_toml(BOT)}\n" for m in models)
    )
    with tempfile.TemporaryDirectory(prefix="promptcheck-compat-bot-") as tmp:
        Path(tmp, f"{BOT_MODULE}.py").write_text(BOT_SOURCE, encoding="utf-8")
        sys.path.insert(0, tmp)  # the python: provider's worker process imports with our sys.path
        reports = Path(tmp, "reports")
        try:
            code, recorder, output = run_pytest(corpus, [r.path for r in rows], settings, [], report_dir=reports)
        finally:
            sys.path.remove(tmp)
        if code not in (0, 1):
            raise SystemExit(f"compat: pytest exited with {code}:\n{output}")
        record = load_run(next((reports / "runs").glob("*.json")))
    for row in rows:
        row.outcomes = recorder.outcomes.get(row.path, Counter())
        error = recorder.collect_errors.get(row.path, "").strip()
        row.collect_error = error.splitlines()[0].removeprefix(row.path + ":") if error else ""
        row.items = [item for item in record.items if item.prompt_path == row.path]
    return rows


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def why(row: RunRow) -> str:
    """One line: what went wrong first, or what the failures are about."""
    if row.collect_error:
        return row.collect_error
    for status in ("error", "fail"):
        item = next((i for i in row.items if i.status == status), None)
        if item is None:
            continue
        if status == "error":
            return f"ERROR: {item.error or ''}".splitlines()[0]
        check = next((c for c in [*item.checks, *(c for t in item.turns for c in t.checks)] if not c.passed), None)
        return f"first failure: {check.name} — {check.reason}" if check else "failed"
    skipped = next((i for i in row.items if i.status == "skip"), None)
    return skipped.skip_reason or "" if skipped else ""


def render(rows: list[RunRow]) -> str:
    items: Counter[str] = sum((r.outcomes for r in rows), Counter())
    ours = [r for r in rows if r.errored and r.path not in NOT_OURS]
    lines = [
        "### Conversation and tool-use configs, run",
        "",
        f"Also produced by `{COMMAND}` (no network): every corpus config whose text, or a prompt file beside "
        "it, sets `_conversation`, `conversationId`, `tools`, `tool_choice` or `functions`, or that is named "
        "after a conversation, is **run** by pytest in-process, not only collected. Each model a config "
        "declares keeps its settings and tools but is answered by a local `python:` function (`model_map` → "
        f"`{BOT}`, written to a temp dir): when the request declares tools it calls the first one, its "
        "arguments built from the tool's parameters schema (a string gets the user message, an enum its first "
        "value); otherwise it repeats the last user message, as `echo` does. So the tool assertions judge a "
        "real tool call, in the shape promptfoo's provider would hand it over (`output[0].function.name` for "
        "OpenAI, `output.name` for `functions`, JSON text for Anthropic and the Responses API), and each "
        "thread's tests are asked as turns, in order. Assertions on content fail: these answers are not real "
        "ones. Turns come from the run record. An item with no assertion is *skipped* (nothing to check) "
        "after its turns ran; promptfoo counts such a test as passed.",
        "",
        f"- Configs run: {len(rows)}; items: {sum(items.values())} ("
        + ", ".join(f"{n} {k}" for k, n in sorted(items.items())) + ")",
        f"- Conversation threads: {sum(r.threads for r in rows)}; turns answered: "
        f"**{sum(r.turns_answered for r in rows)}/{sum(r.turns_planned for r in rows)}**",
        f"- Items answered with a tool call: {sum(r.with_tool_calls for r in rows)}",
        f"- Configs with an ERROR from promptcheck's side: **{len(ours)}**"
        + (" (" + ", ".join(f"`{r.path}`" for r in ours) + ")" if ours else ""),
        "",
        "| config | items | passed | failed | error | skipped | threads: turns answered | tool calls | why / first failure |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        turns = f"{r.threads}: {r.turns_answered}/{r.turns_planned}" if r.threads else "—"
        note = why(r)
        if r.path in NOT_OURS:
            note = f"not ours: {NOT_OURS[r.path]} ({note})"
        counts = " | ".join(str(r.outcomes.get(k, 0)) for k in ("passed", "failed", "error", "skipped"))
        lines.append(f"| `{r.path.removeprefix('promptfoo/')}` | {sum(r.outcomes.values())} | {counts} | {turns} | "
                     f"{r.with_tool_calls or '—'} | {md_cell(note)} |")
    return "\n".join(lines) + "\n"


def run_section(corpus: Path) -> tuple[str, bool]:
    rows = run(corpus)
    return render(rows), not any(r.errored and r.path not in NOT_OURS for r in rows)
