"""From files on disk to validated PromptSpecs: picks the reader, attaches case files, and
checks what only the combined spec can tell (required and undefined variables, duplicate ids)."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Iterable

from promptcheck.checks.evaluate import validate_check
from promptcheck.checks.registry import CheckRegistry
from promptcheck.safefiles import yamlio
from promptcheck.config import Settings
from promptcheck.formats.casefile import CaseFile, read_case_file
from promptcheck.safefiles.kinds import resolved
from promptcheck.formats.cases import assign_unique_ids
from promptcheck.formats.fields import Problems
from promptcheck.formats.ghmodels import read_prompt
from promptcheck.formats.promptfoo import is_promptfoo_name, looks_like_config, read_config
from promptcheck.formats.templating import TemplateError, referenced_variables
from promptcheck.spec import Location, PromptSpec, SpecError, SpecErrors

YAML_SUFFIXES = (".yml", ".yaml")


@dataclass
class LoadedCaseFile:
    path: Path
    display: str
    case_file: CaseFile | None
    errors: list[SpecError] = field(default_factory=list)


class Catalog:
    """Finds and reads prompt files and case files under one rootdir; case files are read once.
    Check declarations are validated against ``checks``, the check types of the session."""

    def __init__(self, settings: Settings, checks: CheckRegistry | None = None, named: Iterable[Path] = ()) -> None:
        self.settings = settings
        self.rootdir = settings.rootdir
        self.checks = checks if checks is not None else CheckRegistry.builtin()
        # Files the user named (on pytest's command line): read as prompts whatever their name,
        # as `promptfoo eval -c any-name.yaml` does.
        self.named = frozenset(resolved(path) for path in named)
        self._case_files: list[LoadedCaseFile] | None = None

    def problems(self, path: str) -> Problems:
        """A problem collector for one file that validates check declarations with ``checks``."""
        return Problems(path, validate_check=partial(validate_check, registry=self.checks))

    def display_path(self, path: Path) -> str:
        try:
            return resolved(path).relative_to(self.rootdir.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def is_promptfoo_config(self, path: Path) -> bool:
        """By name: promptfoo's own names, or a ``promptfoo_configs`` glob (relative to the rootdir)."""
        if is_promptfoo_name(path.name):
            return True
        display = self.display_path(path)
        return any(fnmatch.fnmatch(display, pattern.removeprefix("./")) for pattern in self.settings.promptfoo_configs)

    def is_prompt_file(self, path: Path) -> bool:
        if self.is_promptfoo_config(path):
            return True
        if path.suffix in YAML_SUFFIXES and resolved(path) in self.named:
            return True
        if any(fnmatch.fnmatch(path.name, pattern) for pattern in self.settings.prompt_globs):
            return True
        if path.suffix not in YAML_SUFFIXES:
            return False
        display = self.display_path(path)
        return any(display.startswith(d.rstrip("/") + "/") for d in self.settings.prompt_dirs)

    def case_files(self) -> list[LoadedCaseFile]:
        if self._case_files is None:
            self._case_files = [self._read_case_file(p) for p in self._case_file_paths()]
        return self._case_files

    def _case_file_paths(self) -> list[Path]:
        paths: list[Path] = []
        for directory in self.settings.cases_dirs:
            base = self.rootdir / directory
            if base.is_dir():
                paths += sorted(p for p in base.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
        return paths

    def _read_case_file(self, path: Path) -> LoadedCaseFile:
        display = self.display_path(path)
        problems = self.problems(display)
        try:
            case_file = read_case_file(yamlio.load_file(path, display), display, problems)
        except SpecError as exc:
            return LoadedCaseFile(path, display, None, [exc])
        except SpecErrors as exc:
            return LoadedCaseFile(path, display, None, exc.errors)
        return LoadedCaseFile(path, display, case_file, problems.errors)

    def load(self, path: Path) -> tuple[PromptSpec, list[SpecError]]:
        """The prompt with its case files attached, plus warnings. Raises SpecErrors."""
        spec, problems = self.inspect(path)
        problems.raise_if_any()
        assert spec is not None  # no errors means the reader got as far as a spec
        return spec, problems.warnings

    def load_all(self, path: Path) -> tuple[list[PromptSpec], list[SpecError]]:
        """Every spec in one file (a promptfoo config holds one per prompt), plus the file's
        warnings. Raises SpecErrors."""
        specs, problems = self.inspect_all(path)
        problems.raise_if_any()
        return specs, problems.warnings

    def inspect(self, path: Path) -> tuple[PromptSpec | None, Problems]:
        """Like ``load`` but never raises: errors and warnings together, so ``validate`` can
        show the warnings of a file that also has errors. The spec is None when the file
        could not be read as a prompt at all, and may be incomplete when there are errors."""
        specs, problems = self.inspect_all(path)
        return (specs[0] if specs else None), problems

    def inspect_all(self, path: Path) -> tuple[list[PromptSpec], Problems]:
        """``inspect`` for files that may hold several specs."""
        display = self.display_path(path)
        problems = self.problems(display)
        try:
            data = yamlio.load_file(path, display)
            if self.is_promptfoo_config(path) or looks_like_config(data):
                specs = read_config(data, display, path.parent, problems)
            else:
                specs = [read_prompt(data, display, problems)]
                self._attach_case_files(specs[0], problems)
        except SpecError as exc:
            problems.errors.append(exc)
            return [], problems
        except SpecErrors:  # a reader stops early only after recording why in problems
            return [], problems
        for spec in specs:
            assign_unique_ids(spec.cases, problems)
            check_variables(spec, problems)
        return specs, problems

    def read_case_file(self, path: Path) -> LoadedCaseFile:
        """One case file on its own (cached when it lives in a configured cases dir)."""
        target = resolved(path)
        for loaded in self.case_files():
            if resolved(loaded.path) == target:
                return loaded
        return self._read_case_file(path)

    def _attach_case_files(self, spec: PromptSpec, problems: Problems) -> None:
        stem = spec.path.rsplit("/", 1)[-1].split(".")[0]
        for loaded in self.case_files():
            if loaded.case_file is None:
                # Unreadable: we cannot see its `prompt:` key, so claim it by file stem.
                if loaded.path.name.split(".")[0] == stem:
                    problems.errors.extend(loaded.errors)
                continue
            if not loaded.case_file.targets(spec.name, spec.path):
                continue
            problems.errors.extend(loaded.errors)
            spec.cases.extend(loaded.case_file.cases)
            spec.checks.extend(loaded.case_file.checks)
            spec.constraints.extend(loaded.case_file.constraints)


def check_variables(spec: PromptSpec, problems: Problems) -> None:
    used: dict[str, int] = {}
    for index, message in enumerate(spec.messages):
        try:
            for source in (message.content, *(p.value for p in message.parts if p.type != "text")):  # image urls too
                for name in referenced_variables(source):
                    used.setdefault(name, index)
        except TemplateError as exc:
            hint = ""
            if re.search(r"\{\{-?\s*\.", message.content):
                # Go's text/template spelling; gh-models would send it to the model verbatim.
                hint = "; '{{.name}}' is Go template syntax, promptcheck templates use Jinja2: write '{{name}}'"
            if spec.renders_at_run_time:
                problems.warn(f"message {index + 1} ({message.role}): {exc}{hint}; its rows will error when they run, as in promptfoo", spec.location)
            else:
                problems.error(f"message {index + 1} ({message.role}): {exc}{hint}", spec.location)
    for case in spec.cases:
        available = set(case.vars) | ({"expected"} if case.expected is not None else set())
        for name in spec.required_variables:
            if name not in case.vars:
                problems.error(f"case '{case.id}' is missing required variable '{name}'", case.location)
        for name, index in used.items():
            if name not in available and name not in spec.required_variables:
                role = spec.messages[index].role
                problems.error(
                    f"case '{case.id}' does not define template variable '{name}' "
                    f"(used in message {index + 1}, {role})",
                    case.location,
                )


def unmatched_case_files(catalog: Catalog, specs: list[PromptSpec]) -> list[SpecError]:
    found = []
    for loaded in catalog.case_files():
        if loaded.case_file and not any(loaded.case_file.targets(s.name, s.path) for s in specs):
            if loaded.case_file.target is not None:
                why = f"no prompt is named or located at {loaded.case_file.target!r}"
            else:  # matched by file stem, so say which file name would have matched
                why = (
                    f"no prompt file is named {loaded.case_file.stem}.prompt.yaml (or .yml); "
                    "add 'prompt: <prompt name or path>' to target another prompt"
                )
            found.append(SpecError(f"case file matches no prompt: {why}", Location(loaded.display)))
    return found
