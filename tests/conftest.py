"""Shared fixtures. pytester runs promptcheck in throwaway projects; nothing here reads ../shared."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jsonpath_ng.ext  # noqa: F401  (imported before pytester snapshots sys.modules; see below)
import pytest

import promptcheck.checks.registry  # noqa: F401  (imports every check module; see below)

# In-process pytester runs restore sys.modules afterwards: a module first imported inside such a
# run is imported again by the next one, and its classes are new ones. Import the check modules
# (through the registry, which imports them all) before any run.

pytest_plugins = ["pytester"]

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
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project whose models default to echo, so no test needs a network provider."""
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["echo"]\n')
    return pytester


@pytest.fixture
def pf(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project for promptfoo configs: the models come from the config's own providers."""
    pytester.makepyprojecttoml("[tool.promptcheck]\n")
    return pytester


def write(pytester: pytest.Pytester, name: str, text: str) -> None:
    path = pytester.path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
