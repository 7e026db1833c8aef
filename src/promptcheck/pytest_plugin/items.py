"""pytest nodes: a prompt file collects one item per case × model (pytest's non-Python
collector pattern: File.collect → Item with runtest, repr_failure and reportinfo)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import pytest

from promptcheck.pytest_plugin.extensions import bind_checks
from promptcheck.pytest_plugin.keys import SESSION_KEY
from promptcheck.engine.outcome import ItemFailure, ProviderFailure, format_failure
from promptcheck.engine.plan import ItemPlan, plan_items
from promptcheck.spec import SpecErrors

if TYPE_CHECKING:
    from promptcheck.pytest_plugin.session import PromptcheckSession


class SpecCollectError(Exception):
    """Raised from PromptFile.collect; shown as the plain list of problems, no traceback."""


class PromptFile(pytest.File):
    def collect(self) -> Iterable[PromptItem]:
        state = self.config.stash[SESSION_KEY]
        try:
            specs, warnings = state.catalog.load_all(self.path)
        except SpecErrors as exc:
            raise SpecCollectError("\n".join(str(e) for e in exc.errors)) from None
        plans: list[ItemPlan] = []
        errors: list[str] = []
        for spec in specs:  # a promptfoo config holds one spec per prompt; variants keep names unique
            try:
                plans += plan_items(spec, state.settings, state.project_constraints)
            except SpecErrors as exc:
                errors += [str(e) for e in exc.errors]
        if errors:
            raise SpecCollectError("\n".join(errors))
        bind_checks(plans, state.catalog.checks)
        for warning in warnings:
            self.warn(pytest.PytestConfigWarning(f"promptcheck: {warning}"))
        for plan in plans:
            yield PromptItem.from_parent(self, name=plan.name, plan=plan)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SpecCollectError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class PromptItem(pytest.Item):
    def __init__(self, *, plan: ItemPlan, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        # -k matches the case id and model label on their own, not only the whole item name.
        self.extra_keyword_matches.update({plan.case_id, plan.target.label, plan.spec.name})
        for marker in plan.markers:
            self.add_marker(register_marker(self.config, marker_name(marker)))
        if plan.xfail_reason:
            self.add_marker(pytest.mark.xfail(reason=plan.xfail_reason, strict=True))
        if plan.skip_reason:
            self.add_marker(pytest.mark.skip(reason=plan.skip_reason))

    @property
    def state(self) -> PromptcheckSession:
        return self.config.stash[SESSION_KEY]

    def setup(self) -> None:
        # Waiting for the answers and their grades is setup: a provider or judge failure is an
        # ERROR, not a FAIL; runtest only states the verdict.
        self.samples = self.state.answers_for(self)
        self.state.evaluate(self)

    def runtest(self) -> None:
        self.state.judge(self)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (ItemFailure, ProviderFailure)):
            return format_failure(self.plan, excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.plan.case.location.line if self.plan.case.location else None
        return self.path, (line - 1 if line else None), f"{self.plan.case_id} [{self.plan.target.label}]"


def register_marker(config: pytest.Config, name: str) -> str:
    # Tags are declared in prompt files, so --strict-markers must learn them from there.
    if name not in config.getini("markers") and not any(line.split(":")[0] == name for line in config.getini("markers")):
        config.addinivalue_line("markers", f"{name}: promptcheck tag from a prompt file")
    return name


def marker_name(tag: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in tag)

