"""Case files (``cases/*.yaml``): more cases, and optionally checks, for an existing prompt.

::

    prompt: High-Scale WebSocket Push Architect   # prompt name or path; default: same file stem
    checks: [...]                                 # added to every case of the prompt
    constraints: [no-intro-text, no-conclusion]
    cases:
      - id: ten-million-users
        inputs: {connection_scale: ...}
        expected: pub/sub
        output: |                                 # reference answer for the `reference` provider
          ...

A bare list of cases is accepted too."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from promptcheck.formats.cases import parse_case
from promptcheck.formats.checkdecl import parse_checks
from promptcheck.formats.fields import Problems, get, mappings, type_name
from promptcheck.spec import Case, CheckSpec

KNOWN_KEYS = {"prompt", "checks", "constraints", "cases", "description"}


@dataclass
class CaseFile:
    path: str
    target: str | None  # prompt name or path; None means "the prompt with my file stem"
    cases: list[Case] = field(default_factory=list)
    checks: list[CheckSpec] = field(default_factory=list)
    constraints: list[CheckSpec] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.path.rsplit("/", 1)[-1].split(".")[0]

    def targets(self, prompt_name: str, prompt_path: str) -> bool:
        if self.target is None:
            return prompt_path.rsplit("/", 1)[-1].split(".")[0] == self.stem
        wanted = self.target.strip().lstrip("./")
        return wanted in (prompt_name, prompt_path) or prompt_path.endswith("/" + wanted)


def read_case_file(data: Any, path: str, problems: Problems) -> CaseFile:
    if isinstance(data, list):
        data = {"cases": data}
    if not isinstance(data, dict):
        problems.error(f"a case file must be a mapping or a list of cases, got {type_name(data)}", problems.at_root(data))
        problems.raise_if_any()
    unknown = sorted(set(map(str, data)) - KNOWN_KEYS)
    if unknown:
        problems.error(f"unknown key(s) in case file: {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})", problems.at(data))
    case_file = CaseFile(path=path, target=get(data, "prompt", str, problems))
    case_file.checks = parse_checks(data.get("checks"), problems, problems.at_key(data, "checks"), "checks")
    case_file.constraints = parse_checks(data.get("constraints"), problems, problems.at_key(data, "constraints"), "constraints")
    raw = data.get("cases")
    if not isinstance(raw, list):
        problems.error(f"'cases' must be a list of test cases, got {type_name(raw)}", problems.at_key(data, "cases"))
        return case_file
    for index, entry in mappings(raw, problems, "cases"):
        if not isinstance(entry.get("inputs", entry.get("vars", {})), dict):
            problems.error("'inputs' must be a mapping of variable names to values", problems.at_item(raw, index))
            continue
        case = parse_case(entry, index, problems, problems.at_item(raw, index), structured=True)
        if case is not None:
            case_file.cases.append(case)
    return case_file
