"""promptfoo ``scenarios``.

A scenario pairs data (``config``: a list of partial tests, usually vars) with ``tests``;
promptfoo runs every test once per data entry, the data merged under the test (the test's
vars win, assertions are the data's followed by the test's). Each combination becomes an
ordinary test here, described as "<scenario> · <test>" so item ids stay readable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptcheck.formats.fields import Problems, type_name
from promptcheck.formats.promptfoo.tests import merge_default, raw_tests
from promptcheck.spec import Location


def scenario_tests(node: Any, problems: Problems, where: Location, base: Path) -> list[tuple[dict[str, Any], Location]]:
    if node is None:
        return []
    if not isinstance(node, list):
        problems.error(f"'scenarios' must be a list, got {type_name(node)}", where)
        return []
    found: list[tuple[dict[str, Any], Location]] = []
    for index, scenario in enumerate(node):
        at = problems.at_item(node, index)
        if not isinstance(scenario, dict) or not isinstance(scenario.get("config"), list):
            problems.error("each scenario needs a 'config' list (data such as vars) and 'tests'", at)
            continue
        name = scenario.get("description") if isinstance(scenario.get("description"), str) else f"scenario {index + 1}"
        tests = raw_tests(scenario.get("tests"), problems, problems.at_key(scenario, "tests"), base) or [({}, at)]
        data_entries = scenario["config"]
        for data_index, data in enumerate(data_entries):
            if not isinstance(data, dict):
                problems.error(f"scenario '{name}': each config entry must be a mapping, got {type_name(data)}", at)
                continue
            label = name if len(data_entries) == 1 else f"{name} [{data_index + 1}]"
            for test, test_at in tests:
                merged = merge_default(data, test)
                shown = test.get("description") if isinstance(test.get("description"), str) else None
                merged["description"] = f"{label} · {shown}" if shown else label
                found.append((merged, test_at))
    return found
