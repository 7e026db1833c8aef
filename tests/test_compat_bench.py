"""bench/compat.py promptfoo on a small corpus of its own (tests never read ../shared): the
conversation and tool-use configs are run, offline, and their section says what ran."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_conversation_and_tool_configs_are_run_and_reported(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "MANIFEST.tsv").parent.mkdir(parents=True)
    (corpus / "MANIFEST.tsv").write_text("set\tsaved_path\tnotes\n", encoding="utf-8")
    write(corpus, "promptfoo/thread/prompt.json", """\
        [{% for c in _conversation %}{"role": "user", "content": "{{ c.input[c.input.length - 1].content }}"},
          {"role": "assistant", "content": "{{ c.output }}"},{% endfor %}
         {"role": "user", "content": "{{ question }}"}]
        """)
    write(corpus, "promptfoo/thread/promptfooconfig.yaml", """\
        prompts: [file://prompt.json]
        providers: [openai:gpt-4o-mini]
        tests:
          - vars: {question: one}
            metadata: {conversationId: a}
          - vars: {question: two}
            metadata: {conversationId: a}
            assert: [{type: equals, value: two}]
        """)
    write(corpus, "promptfoo/tools/promptfooconfig.yaml", """\
        prompts: ['Weather in {{city}}?']
        providers:
          - id: openai:chat:gpt-4o-mini
            config:
              tools:
                - type: function
                  function: {name: get_weather, parameters: {type: object, properties: {unit: {enum: [c, f]}}}}
        tests:
          - vars: {city: Paris}
            assert:
              - {type: is-valid-openai-tools-call}
              - {type: python, value: "output[0]['function']['name'] == 'get_weather'"}
        """)
    write(corpus, "promptfoo/plain/promptfooconfig.yaml", "prompts: ['hi']\nproviders: [echo]\ntests: [{vars: {}}]\n")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "compat.py"), "promptfoo", "--corpus", str(corpus), "--print"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    section = done.stdout.split("### Conversation and tool-use configs, run", 1)[1].split("## promptfoo configs", 1)[0]
    assert "- Configs run: 2; items: 2 (2 passed)" in section
    assert "- Conversation threads: 1; turns answered: **2/2**" in section
    assert "- Configs with an ERROR from promptcheck's side: **0**" in section
    assert "| `thread/promptfooconfig.yaml` | 1 | 1 | 0 | 0 | 0 | 1: 2/2 | — | — |" in section
    assert "| `tools/promptfooconfig.yaml` | 1 | 1 | 0 | 0 | 0 | — | 1 | — |" in section
    assert "plain/" not in section
    assert sorted(p.name for p in (corpus / "promptfoo").rglob("*")) == sorted(
        ["thread", "tools", "plain", "prompt.json", "promptfooconfig.yaml", "promptfooconfig.yaml", "promptfooconfig.yaml"]
    )  # nothing written into the corpus
