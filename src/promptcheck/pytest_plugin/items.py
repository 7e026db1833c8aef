"""pytest nodes: a prompt file collects one item per case × model (pytest's non-Python collector
pattern: File.collect → Item with runtest, repr_failure and reportinfo)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import pytest

from promptcheck.engine.plan import ItemPlan
from promptcheck.pytest_plugin.failure import ItemFailure, describe_error, failure_repr
from promptcheck.runs.record import ItemResult
from promptcheck.spec import SpecError, SpecErrors


class ItemRunner(Protocol):
    """What prompt files and items need from the session."""

    def plans_for(self, path: Path) -> tuple[list[ItemPlan], list[SpecError]]:
        """Every item plan of a prompt file, and its warnings; raises SpecErrors."""
        ...

    def run(self, plan: ItemPlan) -> ItemResult: ...


class SpecCollectError(Exception):
    """Raised from PromptFile.collect; shown as the plain list of problems, no traceback."""


class PromptFile(pytest.File):
    def __init__(self, *, runner: ItemRunner, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runner = runner

    def collect(self) -> Iterable[PromptItem]:
        try:
            plans, warnings = self.runner.plans_for(self.path)
        except SpecErrors as exc:
            raise SpecCollectError("\n".join(str(e) for e in exc.errors)) from None
        for warning in warnings:
            self.warn(pytest.PytestConfigWarning(f"promptcheck: {warning}"))
        for plan in plans:
            yield PromptItem.from_parent(self, name=plan.name, nodeid=item_nodeid(self, plan.name), plan=plan, runner=self.runner)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SpecCollectError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class PromptItem(pytest.Item):
    def __init__(self, *, plan: ItemPlan, runner: ItemRunner, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.runner = runner
        # What the engine made of the item; dropped once the run record has it.
        self.result: ItemResult | None = None
        # -k matches the case id and model label on their own, not only the whole item name.
        self.extra_keyword_matches.update({plan.case_id, plan.target.label, plan.spec.name})
        for marker in plan.markers:
            self.add_marker(register_marker(self.config, marker_name(marker)))
        if plan.xfail_reason:
            self.add_marker(pytest.mark.xfail(reason=plan.xfail_reason, strict=True))
        if plan.skip_reason:
            self.add_marker(pytest.mark.skip(reason=plan.skip_reason))

    def setup(self) -> None:
        # Waiting for the answers and their grades is setup: a provider or judge failure is an
        # ERROR, not a FAIL; runtest only states the verdict.
        self.result = self.runner.run(self.plan)
        if self.result.status == "error":
            # pytest.fail without a traceback: the setup ERROR shows only the message.
            pytest.fail(describe_error(self.plan, self.result), pytrace=False)
        if self.result.status == "skip":
            # At the case's location (reportinfo), as pytest places a skip marker's, not at this line.
            raise pytest.skip.Exception(self.result.skip_reason or "skipped", _use_item_location=True)

    def runtest(self) -> None:
        if self.result is not None and self.result.status == "fail":
            raise ItemFailure(self.result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ItemFailure):
            return failure_repr(self.plan, excinfo.value.result, one_line=self.config.getoption("tbstyle") == "line")
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # A case from a cases/ file is declared there, not in the prompt file that collects it.
        where = self.plan.case.location
        path = self.config.rootpath / where.path if where else self.path
        line = where.line if where else None
        return path, (line - 1 if line else None), f"{self.plan.case_id} [{self.plan.target.label}]"


def item_nodeid(parent: pytest.Collector, name: str) -> str:
    """The item's node id as text: ``<file>::<case>[<model>]``, what pytest builds itself from ``name``.

    Why pass it at all: pytest 9.2 keeps a structured id per node and, left to itself, makes ours
    one name segment ``bob[echo]``, while every id it reads back as text (the --lf/--ff/--nf/--sw
    cache, node ids on the command line, xdist reports) parses to name ``bob``, params ``echo``; the
    two never compare equal, so --lf found none of its failures (pytest-dev/pytest#15045). Text is
    parsed by the same rule as everything it is compared with, whatever a case id contains (``[``,
    ``::``); older pytest stores it as it is. pytest's own Function builds
    ``child(name).with_params(id)`` instead, but Node.id is private API, and that id would still
    differ from the parsed text for a case id with a ``[`` in it."""
    return f"{parent.nodeid}::{name}"


def register_marker(config: pytest.Config, name: str) -> str:
    # Tags are declared in prompt files, so --strict-markers must learn them from there.
    if name not in config.getini("markers") and not any(line.split(":")[0] == name for line in config.getini("markers")):
        config.addinivalue_line("markers", f"{name}: promptcheck tag from a prompt file")
    return name


def marker_name(tag: str) -> str:
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in tag)
    return name.lstrip("_") or "tag"  # pytest refuses marker names that start with '_'
