"""Shared fixtures. pytester runs promptcheck in throwaway projects; nothing here reads ../shared.

Projects, each a pytester project:

* ``echo_project``: models default to ``echo``, so nothing calls a provider.
* ``pf``: a project for promptfoo configs, whose models come from the config's providers.
* ``live_project``: a ``liveproject.Project`` whose model ``local`` is served by ``fake_llm``.

The fake API (tests/fakellm.py), never a real one:

* ``clean_api_env``: no API key or endpoint from the developer's shell in the environment.
* ``fake_api_keys``: test keys for OpenAI and Anthropic instead, for providers that need a key.
* ``fake_llm``: a fresh loopback ``FakeLLM`` (answers echo the last user message) in a clean
  environment; it stops when the test ends.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import jsonpath_ng.ext  # noqa: F401  (imported before pytester snapshots sys.modules; see below)
import pytest
from fakellm import FakeLLM
from liveproject import Project, warm_up_sdks

import promptcheck.checks.registry  # noqa: F401  (imports every check module; see below)

pytest_plugins = ["pytester"]

# In-process pytester runs restore sys.modules afterwards: a module first imported inside such a
# run is imported again by the next one, and its classes are new ones. Import the check modules
# (through the registry, which imports them all) before any run.


def pytest_collection_finish(session: pytest.Session) -> None:
    """The same for what the SDKs import on their first call (see warm_up_sdks): once collection
    is over no test has run yet. Only in runs with a test that talks to FakeLLM: it takes seconds."""
    if any("fake_llm" in getattr(item, "fixturenames", ()) for item in session.items):
        warm_up_sdks()


DATA = Path(__file__).parent / "data"

GH_PROMPT = """\
name: Greeter
description: says hello
model: openai/gpt-4o-mini
modelParameters:
  temperature: 0.2
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
    expected: hei
evaluators:
  - name: mentions the name
    string:
      contains: "{{name}}"
  - name: starts politely
    string:
      startsWith: "say"
"""


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def echo_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project whose models default to echo, so no test needs a network provider."""
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["echo"]\n')
    return pytester


@pytest.fixture
def pf(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project for promptfoo configs: the models come from the config's own providers."""
    pytester.makepyprojecttoml("[tool.promptcheck]\n")
    return pytester


# The credentials and endpoints providers read from the environment.
API_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "GITHUB_TOKEN", "LOCAL_KEY")
# The clouds' own (Azure, Bedrock, Vertex, Gemini, Ollama): see tests/test_providers_platforms.py.
API_ENV += (
    "AZURE_OPENAI_API_KEY", "AZURE_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_API_BASE_URL", "AZURE_API_HOST", "OPENAI_API_VERSION",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_BEDROCK_REGION", "AWS_BEARER_TOKEN_BEDROCK", "ANTHROPIC_BEDROCK_BASE_URL", "ANTHROPIC_VERTEX_BASE_URL",
    "ANTHROPIC_VERTEX_PROJECT_ID", "VERTEX_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "CLOUD_ML_REGION", "VERTEX_REGION", "VERTEX_API_KEY",
    "GEMINI_API_KEY", "GOOGLE_API_KEY", "GEMINI_BASE_URL", "OLLAMA_BASE_URL", "OLLAMA_API_KEY",
)


@pytest.fixture
def clean_api_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real key or endpoint from the shell: a test sets what it needs, or sees it missing."""
    for name in API_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_api_keys(clean_api_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """OPENAI_API_KEY and ANTHROPIC_API_KEY set to test values, for projects whose providers need keys."""
    monkeypatch.setenv("OPENAI_API_KEY", "test-openai-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic-key")


@pytest.fixture
def fake_llm(clean_api_env: None) -> Iterator[FakeLLM]:
    """A fresh loopback FakeLLM for this test, in an environment without the shell's keys."""
    with FakeLLM() as server:
        yield server


@pytest.fixture
def live_project(pytester: pytest.Pytester, fake_llm: FakeLLM) -> Project:
    """Model ``local`` (OpenAI-compatible, no key) at ``fake_llm``; one prompt with three cases."""
    made = Project(pytester, fake_llm)
    made.configure()
    made.prompt(["Ada", "Linus", "Grace"])
    return made


def write(pytester: pytest.Pytester, name: str, text: str) -> None:
    path = pytester.path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def eventually(condition: Callable[[], object], within_s: float, unless: Callable[[], object] = lambda: False) -> bool:
    """Whether ``condition()`` comes true within ``within_s`` seconds, polling; a wait instead of
    a fixed sleep. Stops early, false, once ``unless()`` is true (e.g. the process has ended)."""
    deadline = time.monotonic() + within_s
    while not condition():
        if unless() or time.monotonic() > deadline:
            return bool(condition())
        time.sleep(0.02)
    return True
