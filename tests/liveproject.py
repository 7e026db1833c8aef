"""A throwaway pytest project whose model talks to the loopback FakeLLM, for pytester tests of
live providers and cassettes (conftest.py's ``live_project`` fixture) and bench_live.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fakellm import FakeLLM, RecordedRequest, echo_last_user_message

from promptcheck.runs.reading import load_run
from promptcheck.runs.record import RunRecord


def warm_up_sdks() -> None:
    """Load what the SDKs import lazily on a first call; call it before any pytester fixture
    snapshots sys.modules (conftest.py does, once collection is over).

    pytester drops modules first imported inside an in-process run; the next run imports them
    again (httpcore2, h11, ...) with new exception classes that the SDKs' ``except`` clauses,
    bound to the first ones, no longer catch: a timeout would surface as a bare ReadTimeout."""
    import anthropic  # here, not at the top: importing the SDKs takes seconds a run without them can skip
    import openai

    with FakeLLM() as server:
        message = [{"role": "user", "content": "warm up"}]
        openai.OpenAI(api_key="warm-up", base_url=server.openai_base_url).chat.completions.create(model="m", messages=message)  # type: ignore[arg-type]
        anthropic.Anthropic(api_key="warm-up", base_url=server.anthropic_base_url).messages.create(model="m", max_tokens=8, messages=message)  # type: ignore[arg-type]


PROMPT = "prompts/greet.prompt.yaml"
FAST = "max_retries = 1\ntimeout_s = 5\n"  # retries stay short; nothing here waits a minute


def prompt_file(names: list[str], *, greeting: str = "Say hello to") -> str:
    cases = "".join(f"  - name: {name}\n" for name in names)
    return (
        "name: Greeter\nmodel: local\nmessages:\n  - role: user\n"
        f'    content: "{greeting} {{{{name}}}}."\ntestData:\n{cases}'
        'evaluators:\n  - name: mentions the name\n    string:\n      contains: "{{name}}"\n'
    )


class Project:
    """A pytester project whose model ``local`` is an OpenAI-compatible provider at the fake."""

    def __init__(self, pytester: pytest.Pytester, fake: FakeLLM) -> None:
        self.pytester = pytester
        self.fake = fake

    def configure(self, settings: str = FAST, providers: str | None = None, models: str = '["local"]') -> None:
        if providers is None:
            providers = f'[tool.promptcheck.providers.local]\ntype = "compatible"\nmodel = "tiny"\nbase_url = "{self.fake.openai_base_url}"\n'
        self.pytester.makepyprojecttoml(f"[tool.promptcheck]\nmodels = {models}\n{settings}\n{providers}")

    def prompt(self, names: list[str], **kwargs: Any) -> None:
        path = self.pytester.path / PROMPT
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(prompt_file(names, **kwargs), encoding="utf-8")

    def run(self, *args: str) -> pytest.RunResult:
        # Plugins of this environment that the project does not use: their imports, dropped by
        # pytester after every in-process run, made each run a second slower.
        quiet = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")
        return self.pytester.runpytest(*quiet, "-rs", *args)

    def cassette(self, label: str = "local") -> Path:
        return self.pytester.path / "cassettes" / "prompts" / "greet" / f"{label}.yaml"

    def entries(self, label: str = "local") -> dict[str, Any]:
        doc = yaml.safe_load(self.cassette(label).read_text(encoding="utf-8"))
        return dict(doc["entries"])

    def asked(self) -> list[str]:
        """The user messages the server received, in arrival order."""
        return [echo_last_user_message(r.kind, r.body) for r in self.fake.requests]


def run_record(root: Path, result: pytest.RunResult) -> RunRecord:
    """The record of the run that printed ``result``, in the project at ``root``. Named by the
    run's own output: "latest" cannot tell apart two runs that started in the same second."""
    line = next(line for line in result.outlines if line.startswith("run record: "))
    return load_run(root / line.removeprefix("run record: "))


def peak_in_flight(requests: list[RecordedRequest], duration_s: float) -> int:
    """Most requests the server was holding at once (each is held ``duration_s`` after arrival)."""
    events = sorted([(r.received_at, 1) for r in requests] + [(r.received_at + duration_s, -1) for r in requests])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak
