"""promptfoo ``scenarios`` and ``_conversation`` threads.

A scenario pairs data (``config``: a list of partial tests, usually vars) with ``tests``;
promptfoo runs every test once per data entry, the data merged under the test (the test's
vars win, assertions are the data's followed by the test's). Each combination becomes an
ordinary test here, described as "<scenario> · <test>" so item ids stay readable.

``_conversation`` is promptfoo's list of earlier turns ({input, output}) of the same thread
(``metadata.conversationId``, or one thread per prompt). promptcheck runs items
independently, so only the first turn of each thread (whose ``_conversation`` is empty, as
in promptfoo) runs; later turns are collected and skipped with that reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptcheck.formats.fields import Problems, type_name
from promptcheck.spec import Case, Location


def scenario_tests(node: Any, problems: Problems, where: Location, base: Path) -> list[tuple[dict[str, Any], Location]]:
    from promptcheck.formats.promptfoo.tests import merge_default, raw_tests  # tests.py imports this module

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


def conversation_turns(cases: list[Case], threads: list[str]) -> None:
    """``threads[i]`` is case i's conversation id; all but each thread's first turn are skipped."""
    seen: set[str] = set()
    for case, thread in zip(cases, threads):
        case.vars.setdefault("_conversation", [])
        if thread in seen:
            named = f" '{thread}'" if thread else ""
            case.skip_reason = (
                f"a later turn of conversation{named}: it needs the answers of earlier turns (_conversation), "
                "and promptcheck runs each test on its own"
            )
        seen.add(thread)
