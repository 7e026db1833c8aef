"""Hooks promptcheck adds to pytest, registered by ``pytest_addhooks`` (as pytest-xdist's are).

Implement them in the rootdir's ``conftest.py`` or in a plugin: they are called once, when
pytest configures the session (``promptcheck validate`` calls them too), so a conftest that
pytest only finds later, while collecting a subdirectory, is too late."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from promptcheck.checks.registry import CheckRegistry
    from promptcheck.providers.registry import ProviderRegistry


@pytest.hookspec()
def pytest_promptcheck_add_checks(registry: CheckRegistry) -> None:
    """Add check types for prompt files to use, with ``registry.add(name, fn, validate=None)``.

    ``fn(output, spec, ctx)`` returns a ``Verdict`` for the positive outcome; ``not-<name>``,
    ``weight`` and ``threshold`` apply as to every built-in check. ``validate(spec)`` raises
    ValueError for a declaration that cannot work, shown at collection with the file and line.
    A name that is already taken is an error::

        from promptcheck.checks.base import Verdict

        def no_emoji(output, spec, ctx):
            found = next((i for i, ch in enumerate(output) if ord(ch) >= 0x1F300), None)
            if found is None:
                return Verdict(True, 1.0, "no emoji")
            return Verdict(False, 0.0, f"emoji {output[found]!r} at {found}", (found, found + 1))

        def pytest_promptcheck_add_checks(registry):
            registry.add("no-emoji", no_emoji)
    """


@pytest.hookspec()
def pytest_promptcheck_add_providers(registry: ProviderRegistry) -> None:
    """Add provider types, with ``registry.add(type_name, factory, local=False)``.

    ``factory(target, settings)`` returns an object with ``label`` and
    ``complete(request) -> ProviderResponse``. Models use the type as ``<type_name>:<model>`` or
    through ``type = "<type_name>"`` in ``[tool.promptcheck.providers.<label>]``. Answers are
    recorded in cassettes like a network model's unless ``local=True``::

        from promptcheck.providers.base import ProviderResponse

        class Shouter:
            def __init__(self, target, settings):
                self.label = target.label

            def complete(self, request):
                return ProviderResponse(text=request.messages[-1][1].upper())

        def pytest_promptcheck_add_providers(registry):
            registry.add("shout", Shouter, local=True)
    """
