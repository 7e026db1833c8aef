"""``promptcheck validate PATH...``: every problem in prompt and case files, without calling a model.

Output is one ``path:line:col: message`` line per error (``path:line:col: warning: message`` per
warning), the format editors and CI annotators already parse, then a one-line summary.
Check types added by the project's ``conftest.py`` or by installed plugins are known here too
(see ``pytest_plugin/extensions.py``). Exit status: 1 if any error, 0 otherwise, 2 when the
command itself was used wrongly or the project's settings, conftest or plugins cannot be loaded."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from promptcheck.config import ConfigError, load_file_settings
from promptcheck.usercode import limits
from promptcheck.formats.checkdecl import parse_checks
from promptcheck.safefiles.kinds import is_symlink_loop, not_readable_reason, resolved
from promptcheck.formats.catalog import YAML_SUFFIXES, Catalog, LoadedCaseFile, unmatched_case_files
from promptcheck.engine.plan import plan_items
from promptcheck.spec import CheckSpec, Location, PromptSpec, SpecError, SpecErrors

# Never prompt files, and walking them is slow (virtualenvs, node_modules) or pointless.
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs",
})
PROMPT_SUFFIXES = (".prompt.yml", ".prompt.yaml")

Kind = Literal["prompt", "cases"]
Severity = Literal["error", "warning"]


class UsageError(Exception):
    """The command line itself is wrong (exit 2); the message is shown as is."""


@dataclass(frozen=True)
class Target:
    path: Path
    kind: Kind
    unreadable: str | None = None  # why the path is reported, not read (a FIFO, a symlink loop)


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    error: SpecError

    @property
    def sort_key(self) -> tuple[int, int]:
        return self.error.location.line or 0, self.error.location.col or 0

    def __str__(self) -> str:
        loc = self.error.location
        # Whole-file problems still get a line and column, so every line parses the same way.
        where = f"{loc.path}:{loc.line or 1}:{loc.col or 1}"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.error.message}"


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)  # display paths, in the order given
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def add(self, severity: Severity, errors: list[SpecError]) -> None:
        self.diagnostics += [Diagnostic(severity, e) for e in errors]

    def lines(self) -> list[str]:
        """Each problem once (a case file's problems reach us through every prompt it
        extends), grouped by file in the order the files were given, then by line."""
        unique = list({str(d): d for d in self.diagnostics}.values())
        order = {path: i for i, path in enumerate(dict.fromkeys(self.checked + [d.error.location.path for d in unique]))}
        unique.sort(key=lambda d: (order[d.error.location.path], *d.sort_key))
        return [str(d) for d in unique]

    def counts(self) -> tuple[int, int, int, int]:
        """(files checked, files with problems, errors, warnings)."""
        unique = {str(d): d for d in self.diagnostics}.values()
        with_problems = {d.error.location.path for d in unique}
        errors = sum(d.severity == "error" for d in unique)
        return len(set(self.checked) | with_problems), len(with_problems), errors, len(unique) - errors

    def summary(self) -> str:
        files, bad, errors, warnings = self.counts()
        head = f"{files} {_plural(files, 'file')} checked"
        if not bad:
            return f"{head}: no problems"
        parts = ([_plural_count(errors, "error")] if errors else []) + ([_plural_count(warnings, "warning")] if warnings else [])
        return f"{head}: {bad} with problems ({', '.join(parts)})"

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _plural_count(n: int, word: str) -> str:
    return f"{n} {_plural(n, word)}"


# -- command line --------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check prompt and case files for problems without calling a model",
        description=(
            "Check prompt files and case files and print every problem as path:line:col: message. "
            "Directories are searched recursively for *.yml/*.yaml: files in a cases directory "
            "(as configured, default 'cases') are case files; any other YAML file is a prompt file, "
            "except when walking the project root itself, where only prompt files (*.prompt.yml, "
            "or under a configured prompt directory) are checked. "
            "Exit status: 1 if there are errors, 0 if not, 2 for usage errors."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="prompt file, case file or directory")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: it imports pytest, which `promptcheck diff` and the others need not load.
    from promptcheck.pytest_plugin.extensions import ExtensionError, project_registries

    try:
        settings = load_file_settings(find_rootdir(Path.cwd()))
        registries = project_registries(settings.rootdir)
    except (ConfigError, ExtensionError) as exc:
        print(f"promptcheck: {exc}", file=sys.stderr)
        return 2
    limits.configure(settings.script_limits)  # reading runs prompt functions and var scripts
    catalog = Catalog(settings, registries.checks)
    try:
        targets = collect_targets([Path(p) for p in args.paths], catalog)
    except UsageError as exc:
        for line in str(exc).splitlines():
            print(f"promptcheck validate: {line}", file=sys.stderr)
        return 2
    report = validate(targets, catalog)
    for line in report.lines():
        print(line)
    print(report.summary())
    return 1 if report.has_errors else 0


def find_rootdir(start: Path) -> Path:
    """The nearest directory holding a pyproject.toml, so paths and settings match pytest's."""
    for directory in (start, *start.parents):
        if (directory / "pyproject.toml").is_file():
            return directory
    return start


# -- which files, and as what ---------------------------------------------------------------------


def collect_targets(paths: list[Path], catalog: Catalog) -> list[Target]:
    missing = [p for p in paths if not p.exists() and not is_symlink_loop(p)]
    if missing:
        raise UsageError("\n".join(f"no such file or directory: {str(p)!r}" for p in missing))
    targets: list[Target] = []
    for path in paths:
        if is_symlink_loop(path):
            targets.append(Target(path, "prompt", not_readable_reason(path)))
        elif path.is_dir():
            targets += _walk(path, catalog)
        elif path.suffix.lower() in YAML_SUFFIXES:
            kind: Kind = "cases" if _in_cases_dir(path, (resolved(path).parent.name,), catalog) else "prompt"
            targets.append(Target(path, kind, not_readable_reason(path)))
        else:
            raise UsageError(f"not a YAML file (expected .yml or .yaml): {str(path)!r}")
    if not targets:
        raise UsageError("no prompt or case files (*.yml, *.yaml) found in the given paths")
    unique: dict[Path, Target] = {}
    for target in targets:
        unique.setdefault(resolved(target.path), target)
    return list(unique.values())


def _walk(top: Path, catalog: Catalog) -> list[Target]:
    settings = catalog.settings
    # The project root holds YAML of every kind (CI, compose files...): there only files that
    # pytest would collect as prompts count. A directory the user names is all prompts.
    project_walk = top.resolve() == settings.rootdir.resolve() or top.resolve() in settings.rootdir.resolve().parents
    skip = {(settings.rootdir / d).resolve() for d in (settings.report_dir, settings.cassette_dir) if d}
    found: list[Target] = []
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and resolved(here / d) not in skip)
        for name in sorted(filenames):
            path = here / name
            if is_symlink_loop(path):  # os.walk lists a looping directory link as a file
                found.append(Target(path, "prompt", not_readable_reason(path)))
                continue
            if path.suffix.lower() not in YAML_SUFFIXES:
                continue
            parts = (top.resolve().name, *path.relative_to(top).parent.parts)
            if _in_cases_dir(path, parts, catalog):
                found.append(Target(path, "cases", not_readable_reason(path)))
            elif not project_walk or _looks_like_prompt(path, catalog):
                found.append(Target(path, "prompt", not_readable_reason(path)))
    return found


def _looks_like_prompt(path: Path, catalog: Catalog) -> bool:
    return catalog.is_prompt_file(path) or path.name.endswith(PROMPT_SUFFIXES)


def _in_cases_dir(path: Path, parts: tuple[str, ...], catalog: Catalog) -> bool:
    """A configured cases dir below the rootdir, or any directory with the same name."""
    cases_dirs = [d.strip("/") for d in catalog.settings.cases_dirs if d.strip("/")]
    display = catalog.display_path(path)
    if any(display.startswith(d + "/") for d in cases_dirs):
        return True
    names = {PurePosixPath(d).name for d in cases_dirs}
    return any(part in names for part in parts)


# -- checking ------------------------------------------------------------------------------------


def validate(targets: list[Target], catalog: Catalog) -> Report:
    report = Report()
    constraints = _project_constraints(catalog, report)
    specs: list[PromptSpec] = []
    validated: set[Path] = set()
    for target in targets:
        report.checked.append(catalog.display_path(target.path))
        validated.add(resolved(target.path))
        if target.unreadable is not None:
            report.add("error", [SpecError(target.unreadable, Location(catalog.display_path(target.path)))])
            continue
        if target.kind == "cases":
            report.add("error", catalog.read_case_file(target.path).errors)
            continue
        spec, problems = catalog.inspect(target.path)
        report.add("error", problems.errors)
        report.add("warning", problems.warnings)
        if spec is None:
            continue
        specs.append(spec)
        if not problems.errors:  # rendering a spec with known errors would only repeat them
            try:
                plan_items(spec, catalog.settings, constraints)
            except SpecErrors as exc:
                report.add("error", exc.errors)
    for loaded in catalog.case_files():
        if loaded.case_file and any(loaded.case_file.targets(s.name, s.path) for s in specs):
            report.checked.append(loaded.display)
    report.add("warning", _unmatched(catalog, specs, validated))
    return report


def _project_constraints(catalog: Catalog, report: Report) -> list[CheckSpec]:
    """``constraints`` from pyproject.toml apply to every case, so they are rendered with each."""
    settings = catalog.settings
    problems = catalog.problems(settings.source)
    constraints = parse_checks(settings.constraints, problems, Location(settings.source), "constraints")
    if problems.errors:  # TOML has no line marks here: name the table instead, and list it first
        where = Location("pyproject.toml")
        report.checked.append(where.path)
        report.add("error", [SpecError(f"[tool.promptcheck] constraints: {e.message}", where) for e in problems.errors])
    return constraints


def _unmatched(catalog: Catalog, specs: list[PromptSpec], validated: set[Path]) -> list[SpecError]:
    """Case files that extend none of the validated prompts, reported only when every prompt
    they could target was validated: otherwise the prompt may just not have been named.
    A case file that could target nothing at all is reported when it was validated itself,
    or when the whole project was, not while someone checks one unrelated prompt."""
    unmatched = {e.location.path: e for e in unmatched_case_files(catalog, specs)}
    if not unmatched:
        return []
    project = [resolved(p) for p in _project_prompts(catalog)]
    whole_project = all(p in validated for p in project)
    found = []
    for loaded in catalog.case_files():
        if loaded.display not in unmatched:
            continue
        candidates = _candidates(loaded, project, catalog)
        if candidates and all(p in validated for p in candidates):
            found.append(unmatched[loaded.display])
        elif not candidates and (whole_project or resolved(loaded.path) in validated):
            found.append(unmatched[loaded.display])
    return found


def _project_prompts(catalog: Catalog) -> list[Path]:
    return [t.path for t in _walk(catalog.rootdir, catalog) if t.kind == "prompt"]


def _candidates(loaded: LoadedCaseFile, project: list[Path], catalog: Catalog) -> list[Path]:
    """The project's prompt files this case file might be meant for."""
    assert loaded.case_file is not None
    target = loaded.case_file.target
    if target is None:
        return [p for p in project if p.name.split(".")[0] == loaded.case_file.stem]
    wanted = target.strip().lstrip("./")
    if "/" in wanted or wanted.endswith(YAML_SUFFIXES):
        return [p for p in project if (d := catalog.display_path(p)) == wanted or d.endswith("/" + wanted)]
    return project  # a prompt name: any prompt file could carry it
