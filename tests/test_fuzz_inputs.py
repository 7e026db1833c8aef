"""Fuzzing every kind of file promptcheck reads: hundreds of broken prompt files, case files,
promptfoo configs and cassettes (truncated, bit-flipped, deeply nested, aliased, wrong types).

Each batch runs in a child process under an address-space cap (RLIMIT_AS) and a timeout, so a
file that makes promptcheck hang or grow without bound fails the test, not the machine. The
child (this file run as a script) reports what it saw as JSON; the test asserts that nothing
escaped as a traceback or INTERNALERROR and that every problem names its file (and its line,
unless the file could not be parsed at all). A fixed seed makes every run generate the same files."""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import yaml

SEED = 14
PER_KIND = 130  # x 4 kinds = 520 files
CAP_BYTES = 1536 * 1024 * 1024  # far above what a batch needs, far below the machine

PROMPT = """\
name: Greeter
description: says hello
model: echo
modelParameters:
  temperature: 0.2
  max_tokens: 50
repeat: 2
pass_rate: 0.5
messages:
  - role: system
    content: You greet people.
  - role: user
    content: "Say hello to {{name}} in {{language}}."
testData:
  - name: Ada
    language: French
    expected: bonjour
  - name: Linus
    language: Finnish
evaluators:
  - name: mentions the name
    string:
      contains: "{{name}}"
  - name: polite
    string:
      startsWith: "Say"
constraints:
  - {type: regex, value: "^Say", weight: 2, threshold: 0.5}
"""
CASES = """\
prompt: greet
cases:
  - id: ada
    inputs: {name: Ada, language: French}
    expected: bonjour
    checks: [{contains: Ada}, {type: icontains, value: say, weight: 0.5}]
    repeat: 2
    pass_rate: 0.5
    threshold: 0.5
    tags: [smoke]
  - inputs: {name: Grace, language: English}
    xfail: not yet
"""
PROMPTFOO = """\
description: greeting
prompts:
  - "Say hello to {{name}}"
  - label: chat
    raw: '[{"role": "user", "content": "Hi {{name}}"}]'
providers: [echo]
evaluateOptions: {repeat: 1, maxConcurrency: 2}
defaultTest:
  vars: {tone: dry}
  assert: [{type: icontains, value: hello}]
tests:
  - description: ada
    vars: {name: [Ada, Linus]}
    threshold: 0.5
    assert:
      - {type: contains, value: Ada, weight: 2}
      - {type: similar, value: hello Ada, threshold: 0.8}
      - type: assert-set
        threshold: 0.5
        assert: [{type: contains, value: a}, {type: not-contains, value: zzz}]
  - vars: {name: Grace}
    options: {transform: output.trim()}
"""
CASSETTE = """\
# promptcheck cassette: recorded model answers, replayed instead of calling the API.
prompt: prompts/c0.prompt.yml
model: local
created_by_run: 3f0c
entries:
  9b1e2f0c4d5a6b7c:
    item: prompts/c0.prompt.yml::ada[local]
    recorded_at: '2025-01-31T12:00:00Z'
    request:
      provider: openai
      model: tiny
      params: {temperature: 0}
      response_format: null
      repeat_index: 0
      messages:
      - role: user
        content: |-
          Say hello to Ada.
    response:
      text: |-
        Hello Ada.
      usage: {input_tokens: 12, output_tokens: 7}
      latency_s: 0.84
      cost: 0.0001
      meta: {model: tiny-1, finish_reason: stop, id: chatcmpl-1}
"""
CASSETTE_PROMPT = """\
name: C
model: local
messages: [{role: user, content: "Say hello to {{name}}."}]
testData: [{name: Ada}]
evaluators: [{name: hi, string: {contains: Ada}}]
"""
PYPROJECT = """\
[tool.promptcheck]
models = ["local"]
timeout_s = 5
max_retries = 0

[tool.promptcheck.providers.local]
type = "compatible"
model = "tiny"
base_url = "http://127.0.0.1:9/v1"
"""

# -- generating broken files -----------------------------------------------------------------------

WRONG_VALUES: list[Any] = [
    None, True, 0, -1, 7, 1e308, float("nan"), "", "text", [], [1, "a"], {}, {"x": {"y": [None]}}, 10**40, "{{ oops",
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def wrong_types(rng: random.Random, text: str) -> str:
    doc = yaml.safe_load(text)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(doc)[1:])
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if rng.random() < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]  # a missing field
        else:
            parent[path[-1]] = rng.choice(WRONG_VALUES)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def truncated(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(1, len(text))]


def bit_flipped(rng: random.Random, text: str) -> bytes:
    data = bytearray(text.encode())
    for _ in range(rng.randint(1, 6)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def deeply_nested(rng: random.Random, text: str) -> str:
    depth = rng.choice([50, 199, 201, 1_000, 30_000, 200_000])
    lines = text.splitlines(keepends=True)
    at = rng.randrange(len(lines))
    if rng.random() < 0.5:
        deep = "x: " + "[" * depth + "]" * depth + "\n"
    else:
        deep = "x: " + "{a: " * depth + "1" + "}" * depth + "\n"
    return "".join(lines[:at] + [deep] + lines[at:])


def aliased(rng: random.Random, text: str) -> str:
    levels, width = rng.choice([(3, 3), (9, 9), (12, 6), (30, 2)])
    names = [f"l{i}" for i in range(levels)]
    bomb = "".join(
        f"{name}: &{name} [{', '.join([f'*{names[i - 1]}' if i else 'lol'] * width)}]\n" for i, name in enumerate(names)
    )
    # Referenced from a real field too, so a reader that ignored unknown keys would still see it.
    return bomb + text.replace("Ada", f"*{names[-1]}", 1) if rng.random() < 0.5 else bomb + text


def garbled(rng: random.Random, text: str) -> str:
    junk = rng.choice(["\t", ": :", "- - -", "&a", "*nope", "!!python/object:os.system", "? [", "'", '"', "---\n", "%YAML 9\n", "_", "@"])
    at = rng.randrange(len(text))
    return text[:at] + junk + text[at:]


MUTATIONS: list[Callable[[random.Random, str], str | bytes]] = [
    truncated, bit_flipped, deeply_nested, aliased, wrong_types, garbled,
]


def broken(rng: random.Random, text: str) -> str | bytes:
    mutated = rng.choice(MUTATIONS)(rng, text)
    if isinstance(mutated, str) and rng.random() < 0.25:  # two faults at once
        mutated = rng.choice([truncated, garbled, bit_flipped])(rng, mutated)
    return mutated


def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)


def generate(root: Path, seed: int = SEED, per_kind: int = PER_KIND) -> dict[str, list[str]]:
    """The broken files, by kind, as paths relative to ``root``."""
    rng = random.Random(seed)
    write(root / "pyproject.toml", PYPROJECT)
    made: dict[str, list[str]] = {"prompt": [], "cases": [], "promptfoo": [], "cassette": []}
    for i in range(per_kind):
        prompt = f"fuzz/p{i}.prompt.yml"
        write(root / prompt, broken(rng, PROMPT))
        made["prompt"].append(prompt)
        # A case file named after a good prompt, so the prompt picks it up.
        write(root / f"fuzz/g{i}.prompt.yml", PROMPT.replace("name: Greeter", f"name: greet{i}"))
        cases = f"cases/g{i}.yaml"
        write(root / cases, broken(rng, CASES.replace("prompt: greet", f"prompt: greet{i}")))
        made["cases"].append(cases)
        config = f"fuzz/promptfooconfig.{i}.yaml"
        write(root / config, broken(rng, PROMPTFOO))
        made["promptfoo"].append(config)
        write(root / f"prompts/c{i}.prompt.yml", CASSETTE_PROMPT)
        cassette = f"cassettes/prompts/c{i}/local.yaml"
        write(root / cassette, broken(rng, CASSETTE.replace("c0", f"c{i}")))
        made["cassette"].append(cassette)
    return made


# -- the child: promptcheck on the files, reporting what it saw ------------------------------------------


def _pytest_output(args: list[str]) -> tuple[int, str]:
    import pytest

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = pytest.main(["-p", "no:cacheprovider", "-p", "no:randomly", *args])
    return int(code), out.getvalue()


def child(root: Path, made: dict[str, list[str]]) -> dict[str, Any]:
    """Runs inside the capped process, with ``root`` as the working directory."""
    from promptcheck.cli import main
    from promptcheck.config import load_file_settings
    from promptcheck.formats.catalog import Catalog

    seen: dict[str, Any] = {}
    # 1. validate, on every prompt, case and promptfoo file at once
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        seen["validate_code"] = main(["validate", "fuzz", "cases"])
    seen["validate"] = out.getvalue()
    # 2. the same files read one by one, to see each problem's location
    catalog = Catalog(load_file_settings(root))
    problems = []
    for relpath in made["prompt"] + made["promptfoo"] + [p.replace("cases/", "fuzz/").replace(".yaml", ".prompt.yml") for p in made["cases"]]:
        _, found = catalog.inspect_all(root / relpath)
        problems += [(relpath, str(e.location.path), e.location.line, e.message) for e in found.errors + found.warnings]
    seen["problems"] = problems
    # 3. pytest collection of the same files
    seen["collect_code"], seen["collect"] = _pytest_output(["--collect-only", "-q", "fuzz"])
    # 4. a replay-only run over the broken cassettes: nothing may be called
    seen["replay_code"], seen["replay"] = _pytest_output(["--record-mode=none", "-q", "-rE", "prompts"])
    seen["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return seen


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))


def run_child(root: Path, made: dict[str, list[str]]) -> dict[str, Any]:
    (root / "made.json").write_text(json.dumps(made))
    done = subprocess.run(
        [sys.executable, __file__, str(root)], capture_output=True, text=True, cwd=root, timeout=300, preexec_fn=_capped
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# -- the test ----------------------------------------------------------------------------------------------

# Problems about a file as a whole, which have no line to point at.
WHOLE_FILE = re.compile(r"case file matches no prompt|cannot read file|not a regular file|symlink loop")


def test_broken_files_of_every_kind_give_clear_problems(tmp_path: Path) -> None:
    made = generate(tmp_path)
    assert sum(map(len, made.values())) >= 500

    seen = run_child(tmp_path, made)

    for name in ("validate", "collect", "replay"):
        assert "Traceback" not in seen[name], seen[name][-5000:]
        assert "INTERNALERROR" not in seen[name], seen[name][-5000:]
    assert seen["validate_code"] == 1
    assert seen["collect_code"] in (0, 1, 2)  # 2: collection errors, as pytest reports them
    assert seen["replay_code"] == 1  # tests failed: every replay is an error, the run goes on

    # validate: one "path:line:col: message" per problem, for a file that was given
    given = set(made["prompt"] + made["promptfoo"] + made["cases"]) | {
        p.replace("cases/", "fuzz/").replace(".yaml", ".prompt.yml") for p in made["cases"]
    }
    lines = seen["validate"].splitlines()
    assert re.fullmatch(r"\d+ files checked: \d+ with problems \(.*\)", lines[-1])
    for line in lines[:-1]:
        found = re.match(r"(\S+?):(\d+):(\d+): ", line)
        assert found and found.group(1) in given, line
    # every prompt file and promptfoo config is broken somehow, or still valid after the mutation
    assert len({re.match(r"(\S+?):", line).group(1) for line in lines[:-1]}) > 300  # type: ignore[union-attr]

    # in-process: a line for every problem, but for whole-file ones
    for relpath, path, line, message in seen["problems"]:
        assert path.endswith(Path(relpath).name) or path.startswith("cases/"), (relpath, path, message)
        assert line is not None or WHOLE_FILE.search(message), (path, message)

    # collection: each collection error starts with the file it is about
    for header, body in re.findall(r"_+ ERROR collecting (\S+) _+\n(.*?)(?=\n_+ ERROR|\n=+ )", seen["collect"], re.S):
        assert body.startswith(header + ":") or body.startswith("cases/"), (header, body[:300])
        assert not re.search(r"^E +\w+(Error|Exception)\b", body, re.M), (header, body[:2000])

    # replay: a cassette's problem names the cassette and says what to do
    cassette_errors = re.findall(r"^provider error: (cassette .*)$", seen["replay"], re.M)
    assert len(cassette_errors) > PER_KIND // 2  # most broken cassettes cannot be read at all
    for message in cassette_errors:
        assert re.match(r"cassette cassettes/prompts/c\d+/local\.yaml (cannot be read|does not look like)", message), message
        assert message.endswith("fix or delete the file, then record again (pytest --record-mode=new)"), message
    assert seen["max_rss_kb"] * 1024 < CAP_BYTES


if __name__ == "__main__":  # the capped child
    project = Path(sys.argv[1])
    result = child(project, json.loads((project / "made.json").read_text()))
    print(json.dumps(result))
