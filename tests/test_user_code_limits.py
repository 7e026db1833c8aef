"""The user's code under limits: a check, provider or template that loops or allocates without
bound costs its own item (or file) one clear error, and the rest of the run goes on.

Memory bombs run in a child process whose data segment is capped (RLIMIT_DATA), so a regression
fails the test instead of taking the machine down. Not RLIMIT_AS: V8 reserves a large address
range at start and aborts under an address-space cap before running any JavaScript."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import write

from promptcheck.checks import jsengine
from promptcheck.usercode import limits, pyworker
from promptcheck.usercode.pyfunctions import InlineCode, ScriptError

needs_js = pytest.mark.skipif(not jsengine.available(), reason="needs the JS extra (mini-racer)")

CAP_BYTES = 1536 * 1024 * 1024  # far above what these runs need, far below the machine


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (CAP_BYTES, CAP_BYTES))


def run_capped(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in a child with capped memory. Without the limits under test it would crash
    (no summary line: the outcome assertions fail) rather than grow without bound."""
    code = f"import resource, sys, pytest; resource.setrlimit(resource.RLIMIT_DATA, ({CAP_BYTES}, {CAP_BYTES})); sys.exit(pytest.main({list(args)!r}))"
    return pytester.run(sys.executable, "-c", code, timeout=300)


def run_record(pytester: pytest.Pytester) -> dict[str, object]:
    [path] = (pytester.path / "reports" / "runs").glob("*.json")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def statuses(pytester: pytest.Pytester) -> dict[str, str]:
    items = run_record(pytester)["items"]
    assert isinstance(items, list)
    return {item["case_id"]: item["status"] for item in items}


def promptfoo_config(pytester: pytest.Pytester, settings: str, tests: str) -> None:
    pytester.makepyprojecttoml(f"[tool.promptcheck]\n{settings}\n")
    write(pytester, "promptfooconfig.yaml", 'prompts: ["hello {{who}}"]\nproviders: [echo]\ntests:\n' + textwrap.indent(textwrap.dedent(tests), "  "))


GOOD_TEST = """\
- description: fine
  vars: {who: world}
  assert:
    - type: javascript
      value: output.includes('world')
"""


# -- 1. JavaScript that allocates without bound ---------------------------------------------------


@needs_js
def test_javascript_heap_bomb_is_that_items_error(pytester: pytest.Pytester) -> None:
    promptfoo_config(pytester, "script_memory_mb = 64", GOOD_TEST + """\
- description: bomb
  vars: {who: bomb}
  assert:
    - type: javascript
      value: |
        var a = [];
        while (true) { a.push(new Array(1e6).fill(1)); }
""")
    result = run_capped(pytester, "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*javascript check: javascript code `var a = *` used more than 64 MB of JavaScript memory "
        "and was stopped; make it build less, or raise [[]tool.promptcheck[]] script_memory_mb*",
    ])
    assert statuses(pytester) == {"fine": "pass", "bomb": "error"}


# -- 2. code that never returns -------------------------------------------------------------------


@needs_js
def test_javascript_loop_is_stopped_at_script_timeout(pytester: pytest.Pytester) -> None:
    promptfoo_config(pytester, "script_timeout_s = 0.5", GOOD_TEST + """\
- description: loop
  vars: {who: loop}
  assert:
    - type: javascript
      value: |
        let n = 0;
        while (true) { n++; }
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*javascript code `let n = 0; while (true) { n++; }` took longer than 0.5 s and was stopped*script_timeout_s*"])


def test_python_check_that_loops_is_stopped_and_the_others_run(pytester: pytest.Pytester) -> None:
    write(pytester, "checks/helpers.py", "WORD = 'world'\n")
    write(pytester, "checks/slow.py", """\
        import helpers  # next to this file: it imports as it does under promptfoo

        def loops(output, context):
            while True:
                pass

        def finds(output, context):
            return helpers.WORD in output
    """)
    promptfoo_config(pytester, "script_timeout_s = 0.5", """\
- description: loops
  vars: {who: loop}
  assert:
    - type: python
      value: file://checks/slow.py:loops
- description: after the loop
  vars: {who: world}
  assert:
    - type: python
      value: file://checks/slow.py:finds
    - type: python
      value: "'world' in output"
""")
    started = time.monotonic()
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*python check: file://checks/slow.py:loops took longer than 0.5 s and was stopped; "
        "make it faster, or raise [[]tool.promptcheck[]] script_timeout_s*",
    ])
    assert statuses(pytester) == {"loops": "error", "after-the-loop": "pass"}
    assert time.monotonic() - started < 30  # stopped, not waited out


def test_python_provider_that_loops_is_stopped_after_timeout_s(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["python:answers:reply"]\ntimeout_s = 0.5\n')
    write(pytester, "answers.py", """\
        def reply(request):
            text = request.messages[-1][1]
            while "loop" in text:
                pass
            return text
    """)
    write(pytester, "hello.prompt.yml", """\
        name: Hello
        messages: [{role: user, content: "hello {{who}}"}]
        testData: [{who: loop}, {who: world}, {who: again}]
        evaluators: [{name: greets, string: {contains: hello}}]
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*provider error: python:answers:reply took longer than 0.5 s and was stopped; make it faster, "
        "or raise [[]tool.promptcheck[]] timeout_s*",
    ])
    assert statuses(pytester) == {"loop": "error", "world": "pass", "again": "pass"}


def test_python_check_that_kills_its_worker_is_that_items_error(pytester: pytest.Pytester) -> None:
    write(pytester, "exits.py", "import os\n\ndef check(output, context):\n    os._exit(3)\n")
    promptfoo_config(pytester, "", """\
- description: fine
  vars: {who: world}
  assert:
    - type: python
      value: "'world' in output"
- description: exits
  vars: {who: exit}
  assert:
    - type: python
      value: file://exits.py:check
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*python assertion: the Python worker process stopped unexpectedly (exit code 3)*"])


def test_worker_replaced_after_an_overrun_finishes_the_calls_it_had() -> None:
    worker = pyworker.PythonWorker("test")
    try:
        slow = InlineCode("__import__('time').sleep(0.6) or 'done'", ())
        hang = InlineCode("while True:\n    pass", ())
        results: list[object] = []
        neighbour = threading.Thread(target=lambda: results.append(worker.call(slow, (), timeout_s=5, what="slow")))
        neighbour.start()
        time.sleep(0.1)  # both in flight in one worker
        with pytest.raises(limits.LimitExceeded, match=r"^hang took longer than 0.2 s and was stopped"):
            worker.call(hang, (), timeout_s=0.2, what="hang")
        neighbour.join(10)
        assert results == ["done"]  # sent again to the new worker
        assert worker.call(InlineCode("x * 2", ("x",)), (21,), timeout_s=5, what="double") == 42
    finally:
        worker.close()


def test_worker_reports_what_the_code_raised_and_what_cannot_come_back() -> None:
    worker = pyworker.PythonWorker("test")
    try:
        with pytest.raises(pyworker.UserCodeError, match="boom") as raised:
            worker.call(InlineCode("int('boom')", ()), (), timeout_s=5, what="raises")
        assert type(raised.value).__name__ == "ValueError"  # messages read "raised ValueError: ..."
        with pytest.raises(ScriptError, match="returned a generator, which cannot be passed back"):
            worker.call(InlineCode("(x for x in [1])", ()), (), timeout_s=5, what="generator")
    finally:
        worker.close()



def test_a_call_time_limit_counts_from_when_the_worker_starts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A first call starts the worker process; its start-up is not the user's code's time.
    real_popen = subprocess.Popen
    slow_server = "import runpy, time; time.sleep(0.8); runpy.run_module('promptcheck.usercode.pyserver', run_name='__main__')"

    def slow_interpreter(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        assert args[1:] == ["-m", "promptcheck.usercode.pyserver"]
        return real_popen([args[0], "-c", slow_server], **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(pyworker.subprocess, "Popen", slow_interpreter)
    worker = pyworker.PythonWorker("test")
    try:
        assert worker.call(InlineCode("x + 1", ("x",)), (1,), timeout_s=0.3, what="quick") == 2
    finally:
        worker.close()


def test_a_worker_that_does_not_start_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyworker, "WORKER_START_S", 0.0)
    worker = pyworker.PythonWorker("test")
    try:
        with pytest.raises(ScriptError, match=r"^the Python worker process did not start quick within 0 s$"):
            worker.call(InlineCode("1", ()), (), timeout_s=5, what="quick")
    finally:
        worker.close()

# -- 3. templates that build without bound --------------------------------------------------------


def test_template_bomb_is_a_collection_error_of_its_file(echo_project: pytest.Pytester) -> None:
    echo_project.makefile(".prompt.yml", good="""\
name: Good
messages: [{role: user, content: "hello {{who}}"}]
testData: [{who: world}]
evaluators: [{name: greets, string: {contains: hello}}]
""", bomb="""\
name: Bomb
messages:
  - role: user
    content: "{{ x * 3000000000 }}"
testData: [{x: abc}]
evaluators: [{name: any, string: {contains: a}}]
""")
    result = run_capped(echo_project, "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "bomb.prompt.yml:*: case 'abc': template tried to build a string of 9,000,000,000 characters; the limit is 10,000,000",
    ])
    assert (echo_project.path / "reports" / "runs").is_dir()


TEMPLATE_BOMBS = {
    '{{ [1] * 3000000000 }}': "a list of 3,000,000,000 items",
    '{{ 2 ** 100000000 }}': "a number of about 200,000,000 bits",
    '{{ "%0999999999d" % 1 }}': "a string of 999,999,999 characters",
    '{{ "{:>{w}}".format(1, w=999999999) }}': "a string of 999,999,999 characters",
    '{{ "ab"|center(999999999) }}': "a string of 999,999,999 characters",
    '{{ "ab".ljust(999999999) }}': "a string of 999,999,999 characters",
    '{% set ns = namespace(s="x") %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}': "a string of 16,777,216 characters",
    '{{ (["y" * 9000000] * 1000)|join }}': "a string of 9,000,000,000 characters",
    '{{ "ab"|replace("", "x" * 9000000) }}': "a string of 27,000,002 characters",
    '{{ lipsum(1000000) }}': "a string of 2,000,000,000 characters",
    '{% for i in range(100000) %}{{ "y" * 1000 }}{% endfor %}': "output grew past 10,000,000 characters",
    '{% set s %}{% for i in range(100000) %}{{ "y" * 9000000 }}{% endfor %}{% endset %}': "built 108,000,000 characters and list items in all",
}


def test_every_way_a_template_could_build_too_much_is_refused(tmp_path: Path) -> None:
    script = textwrap.dedent("""\
        import json, sys
        from promptcheck.formats.templating import TemplateError, render
        found = {}
        for source in json.loads(sys.stdin.read()):
            try:
                found[source] = "rendered " + str(len(render(source, {})))
            except TemplateError as exc:
                found[source] = str(exc)
        print(json.dumps(found))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(list(TEMPLATE_BOMBS)), capture_output=True, text=True,
        preexec_fn=_cap_memory, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    for source, message in TEMPLATE_BOMBS.items():
        assert message in found[source], (source, found[source])


def test_ordinary_templates_render_as_before() -> None:
    from promptcheck.formats.templating import render

    source = '{{ "%s" | format(x) }} {{ "{}".format(1733000000) }} {{ 1733000000 * 1000 }} {{ "a" ~ x }} {{ [1, 2]|join(",") }} {{ "x"|center(5) }} {{ "ab" * 2 }}'
    assert render(source, {"x": "b"}) == "b 1733000000 1733000000000 ab 1,2   x   abab"



def test_promptfoo_member_lookup_keeps_the_sandbox_and_its_limits() -> None:
    # promptfoo's templates look members up as Nunjucks does (a missing one renders empty);
    # what the sandbox refuses, and what it may build, stay as for every template.
    from promptcheck.formats.templating import TemplateError, render

    assert render("{{ s.length }} {{ l.length }} {{ s[9].x.y }}|{{ d.length }}|", {"s": "abc", "l": [1], "d": {}}, syntax="nunjucks") == "3 1 ||"
    with pytest.raises(TemplateError, match="^template tried an unsafe operation: access to attribute '__class__' of 'str' object is unsafe.$"):
        render("{{ s.__class__ }}", {"s": "abc"}, syntax="nunjucks")
    with pytest.raises(TemplateError, match="^template tried to build a string of 30,000,000 characters; the limit is 10,000,000$"):
        render('{{ "abc" * 10000000 }}', {}, syntax="nunjucks")
    with pytest.raises(TemplateError, match="^undefined template variable: 'str object' has no attribute 'length'$"):
        render("{{ s.length }}", {"s": "abc"})  # our own format stays strict


# -- 4. JavaScript errors are what they say --------------------------------------------------------


@needs_js
def test_javascript_error_mentioning_timeout_is_not_a_timeout(pytester: pytest.Pytester) -> None:
    promptfoo_config(pytester, "", GOOD_TEST + """\
- description: throws
  vars: {who: throws}
  assert:
    - type: javascript
      value: |
        const config = {};
        throw new Error("config has no timeoutMs");
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*JavaScript assertion failed: Error: config has no timeoutMs*"])
    result.stdout.no_fnmatch_line("*timed out*")
    result.stdout.no_fnmatch_line("*took longer*")
