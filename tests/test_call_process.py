"""SDK calls in a child process (providers/callprocess.py): where the calls run, what a user sees
when the child dies, and the setting that picks it."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import pytest
from conftest import eventually
from fakellm import FakeLLM, echo_last_user_message
from liveproject import Project

from promptcheck.providers.base import ProviderError, ProviderRequest
from promptcheck.providers.callprocess import CallProcesses, RemoteProvider, process_count, split_concurrency, wanted
from promptcheck.providers.openai_provider import OpenAIProvider

# Written into the project: says at the end of the session whether pytest's own process
# imported the SDK, and where the call process is.
REPORTER = """
import sys
from pathlib import Path

def pytest_sessionfinish(session):
    Path("sdk-in-pytest.txt").write_text(str("openai" in sys.modules))
"""


@pytest.mark.parametrize(
    ("setting", "workers", "sdk_in_pytest"),
    [("on", [], False), ("auto", [], False), ("off", [], True), ("on", ["-n", "2"], False)],
    ids=["on", "auto", "off", "on-xdist"],
)
def test_the_setting_decides_which_process_imports_the_sdk_and_answers_agree(
    live_project: Project, setting: str, workers: list[str], sdk_in_pytest: bool
) -> None:
    live_project.pytester.makeconftest(REPORTER)

    # A fresh interpreter: in-process runs share this test process's already imported SDK.
    result = live_project.pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--record-mode=new", f"--call-process={setting}", *workers
    )

    result.assert_outcomes(passed=3)
    assert sorted(live_project.asked()) == ["Say hello to Ada.", "Say hello to Grace.", "Say hello to Linus."]
    assert len(live_project.entries()) == 3
    if not workers:  # under xdist the file is the controller's, which calls nothing
        assert (live_project.pytester.path / "sdk-in-pytest.txt").read_text() == str(sdk_in_pytest)


def test_a_replay_only_run_starts_no_call_process(live_project: Project) -> None:
    live_project.run("--record-mode=new").assert_outcomes(passed=3)
    live_project.pytester.makeconftest(
        "def pytest_sessionfinish(session):\n"
        "    from promptcheck.pytest_plugin.session import SESSION_KEY\n"
        "    assert session.config.stash[SESSION_KEY].providers.call_process is None\n"
    )

    live_project.run("--record-mode=none", "--call-process=on").assert_outcomes(passed=3)


def test_a_child_that_dies_turns_the_calls_it_held_into_errors_that_say_so(live_project: Project) -> None:
    live_project.fake.delay_s = 0.3
    live_project.prompt(["Ada", "Linus", "Grace", "Barbara"])
    # One call at a time; kill the child once the first answer is in, with the second in flight.
    live_project.pytester.makeconftest(
        "from promptcheck.pytest_plugin.session import SESSION_KEY\n"
        "CONFIG = []\n"
        "def pytest_configure(config):\n"
        "    CONFIG.append(config)\n"
        "def pytest_runtest_logreport(report):\n"
        "    if report.when == 'call' and 'ada' in report.nodeid:\n"
        "        process = CONFIG[0].stash[SESSION_KEY].providers.call_process.children[0]._process\n"
        "        process.kill()\n"
        "        process.wait()\n"
    )

    result = live_project.run("--record-mode=new", "--call-process=on", "--concurrency", "1")

    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines(["*provider error: local: the call process stopped unexpectedly (exit code -9)*"])
    assert result.duration < 30


def test_a_child_that_crashes_says_its_last_words(live_project: Project) -> None:
    # Before any call, a message naming a provider the child never got: its loop dies with a
    # KeyError, and every item shows the last line the child wrote.
    live_project.pytester.makeconftest(
        "from promptcheck.pytest_plugin.session import SESSION_KEY\n"
        "def pytest_collection_finish(session):\n"
        "    child = session.config.stash[SESSION_KEY].providers.call_process.children[0]\n"
        "    with child._lock:\n"
        "        child._send(('call', 0, 12345, None))\n"
    )

    result = live_project.run("--record-mode=new", "--call-process=on")

    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*provider error: local: the call process stopped unexpectedly (exit code 1): KeyError: 12345*"])


def test_an_unknown_setting_is_a_usage_error_naming_the_choices(live_project: Project) -> None:
    live_project.configure(settings='call_process = "sometimes"\n')

    result = live_project.run("--record-mode=new")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*call_process must be one of auto, on, off, got 'sometimes'*"])


@pytest.mark.parametrize(
    ("setting", "is_worker", "cpus", "expected"),
    [
        ("auto", False, 2, True),
        ("auto", False, 1, False),  # no spare core: the child would only add a second SDK import
        ("auto", True, 8, False),  # xdist workers already spread the calls over the cores
        ("on", True, 1, True),
        ("off", False, 8, False),
    ],
)
def test_auto_uses_a_child_only_with_a_spare_core_and_no_xdist(setting: str, is_worker: bool, cpus: int, expected: bool) -> None:
    assert wanted(setting, is_worker=is_worker, cpus=cpus) is expected


def children_of(pid: int) -> list[str]:
    """Process ids whose parent is ``pid`` (Linux /proc; field 4 of stat, after the command)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            found.append(stat.parent.name)
    return found


def ends_within(pid: int | str, seconds: float) -> bool:
    """Whether the process ``pid`` is gone within ``seconds``."""
    return eventually(lambda: not Path(f"/proc/{pid}").exists(), seconds)


def test_ctrl_c_with_a_call_in_flight_keeps_what_finished_and_leaves_no_process(live_project: Project) -> None:
    live_project.fake.script(["ok", "hang"])  # the second call never gets an answer
    # Nor does it time out and get retried (FAST's 5 s) while a loaded machine reaches the interrupt.
    live_project.configure(settings="max_retries = 0\ntimeout_s = 300\n")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--record-mode=new", "--call-process=on", "--concurrency", "1"]
    proc = subprocess.Popen(command, cwd=live_project.pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    runs = live_project.pytester.path / "reports" / "runs"
    # Wait until the second call is at the server and the first item is in the run's journal.
    started = eventually(
        lambda: len(live_project.fake.requests) >= 2 and any(j.read_text() for j in runs.glob("*.journal.jsonl")), 60, lambda: proc.poll() is not None
    )
    if not started:
        proc.kill()
        pytest.fail(f"the second call never started with the first item journaled; pytest printed:\n{proc.communicate()[0].decode()}")
    children = children_of(proc.pid)

    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=60)[0].decode()

    assert "KeyboardInterrupt" in output
    [record] = [json.loads(p.read_text()) for p in runs.glob("*.json")]
    assert record["complete"] is False
    assert {i["case_id"]: i["status"] for i in record["items"]} == {"ada": "pass"}
    assert [e["item"] for e in live_project.entries().values()] == ["prompts/greet.prompt.yaml::ada[local]"]
    assert len(children) == 1, "one call process while running"
    assert ends_within(children[0], 10), "the call process ended with the session"


@pytest.mark.parametrize(("concurrency", "cpus", "expected"), [(8, 2, 1), (32, 8, 1), (33, 8, 2), (64, 2, 2), (64, 1, 1), (256, 4, 4)])
def test_one_call_process_per_32_calls_in_flight_and_per_core(concurrency: int, cpus: int, expected: int) -> None:
    assert process_count(concurrency, cpus) == expected


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: one call process")
def test_calls_spread_over_two_call_processes_and_all_are_recorded(live_project: Project) -> None:
    live_project.fake.delay_s = 0.2
    live_project.prompt([f"Person{i:02d}" for i in range(40)])
    live_project.pytester.makeconftest(
        "from pathlib import Path\n"
        "from promptcheck.pytest_plugin.session import SESSION_KEY\n"
        "def pytest_sessionfinish(session):\n"
        "    children = session.config.stash[SESSION_KEY].providers.call_process.children\n"
        "    Path('calls-per-child.txt').write_text(' '.join(str(c._next_call) for c in children))\n"
    )

    # 64 in flight: two children on a machine with two cores or more.
    live_project.run("--record-mode=new", "--call-process=on", "--concurrency", "64").assert_outcomes(passed=40)

    calls = [int(n) for n in (live_project.pytester.path / "calls-per-child.txt").read_text().split()]
    assert len(calls) == 2 and sum(calls) == 40 and min(calls) > 0, calls
    assert len(live_project.entries()) == 40


@pytest.mark.parametrize(("concurrency", "count", "shares"), [(64, 2, [32, 32]), (65, 3, [22, 22, 21]), (5, 4, [2, 1, 1, 1])])
def test_the_children_limits_add_up_to_the_concurrency(concurrency: int, count: int, shares: list[int]) -> None:
    assert split_concurrency(concurrency, count) == shares


def unread_bytes(pipe: IO[bytes]) -> int:
    """Bytes written into ``pipe`` that its reader has not read yet (FIONREAD, POSIX)."""
    import fcntl
    import termios

    return int(struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0])


def test_cancel_drops_the_calls_a_child_has_not_started(fake_llm: FakeLLM) -> None:
    # One call in flight at a time: the other two wait in the child's queue until cancelled. The
    # server holds the first answer until the child has read the cancel, which comes after them.
    release = threading.Event()

    def held(kind: str, body: dict[str, Any]) -> str:
        release.wait(30)
        return echo_last_user_message(kind, body)

    fake_llm.responder = held
    processes = CallProcesses(concurrency=1)
    child = processes.children[0]
    remote = RemoteProvider(OpenAIProvider(base_url=fake_llm.openai_base_url, api_key="test-key", max_retries=0), processes)
    requests = [ProviderRequest("openai", "gpt-4o", "openai:gpt-4o", (("user", f"Say hello to Person{i}."),)) for i in range(3)]

    def outcome(request: ProviderRequest) -> str:
        try:
            return remote.complete(request).text
        except ProviderError as exc:
            return str(exc)

    try:
        with ThreadPoolExecutor(3) as threads:
            try:
                answers = [threads.submit(outcome, request) for request in requests]
                assert eventually(lambda: fake_llm.requests and child.pending() == 3, 30), "the first call at the server, all three sent"
                processes.cancel_queued()
                assert eventually(lambda: unread_bytes(child._inbox) == 0, 30), "the child read every message, the cancel last"
            finally:
                release.set()
        results = sorted((a.result() for a in answers), key=lambda text: "cancelled" not in text)
    finally:
        processes.close()

    assert len(fake_llm.requests) == 1
    assert results[:2] == [f"{remote.label}: call cancelled before it started"] * 2
    assert "Person" in results[2]


TWO_CHILDREN = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: one call process")


@TWO_CHILDREN
@pytest.mark.skipif(sys.platform != "linux", reason="siblings are forked on Linux only")
def test_the_second_call_process_is_forked_from_the_first_and_ends_with_the_session(live_project: Project) -> None:
    live_project.prompt([f"Person{i:02d}" for i in range(6)])
    live_project.pytester.makeconftest(
        "from pathlib import Path\n"
        "from promptcheck.pytest_plugin.session import SESSION_KEY\n"
        "import time\n"
        "def pytest_runtest_call(item):\n"
        "    first, second = item.config.stash[SESSION_KEY].providers.call_process.children\n"
        "    deadline = time.monotonic() + 10\n"
        "    while second.pid is None and time.monotonic() < deadline:  # its first message says it\n"
        "        time.sleep(0.01)\n"
        "    parent_of_second = Path(f'/proc/{second.pid}/stat').read_text().rsplit(')', 1)[1].split()[1]\n"
        "    Path('pids.txt').write_text(f'{first.pid} {second.pid} {parent_of_second}')\n"
    )

    live_project.run("--record-mode=new", "--call-process=on", "--concurrency", "64").assert_outcomes(passed=6)

    first, second, parent_of_second = map(int, (live_project.pytester.path / "pids.txt").read_text().split())
    assert parent_of_second == first
    assert ends_within(second, 5), "the forked call process ended with the session"


@TWO_CHILDREN
def test_a_call_process_that_dies_fails_only_the_calls_it_held(live_project: Project) -> None:
    def answer(kind: str, body: dict[str, Any]) -> str:
        text = echo_last_user_message(kind, body)
        if "Person00" not in text:
            live_project.fake._stopping.wait(1.0)  # still in flight when the first item has its answer
        return text

    live_project.fake.responder = answer
    live_project.prompt([f"Person{i:02d}" for i in range(40)])
    # Every call is handed over at once, half to each child; the second dies with the first answer.
    live_project.pytester.makeconftest(
        "import os, signal, time\n"
        "from promptcheck.pytest_plugin.session import SESSION_KEY\n"
        "CONFIG = []\n"
        "def pytest_configure(config):\n"
        "    CONFIG.append(config)\n"
        "def pytest_runtest_logreport(report):\n"
        "    if report.when == 'call' and 'person00' in report.nodeid:\n"
        "        second = CONFIG[0].stash[SESSION_KEY].providers.call_process.children[1]\n"
        "        deadline = time.monotonic() + 10\n"
        "        while second.pid is None and time.monotonic() < deadline:\n"
        "            time.sleep(0.01)\n"
        "        os.kill(second.pid, signal.SIGKILL)\n"
    )

    result = live_project.run("--record-mode=new", "--call-process=on", "--concurrency", "64")

    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 10 and outcomes.get("errors", 0) >= 10, outcomes
    assert outcomes["passed"] + outcomes["errors"] == 40
    result.stdout.fnmatch_lines(["*provider error: local: the call process stopped unexpectedly*"])


@pytest.mark.skipif(sys.platform != "linux", reason="siblings are forked on Linux only")
def test_a_sibling_asked_for_once_calls_run_is_started_afresh_rather_than_forked(fake_llm: FakeLLM) -> None:
    # A fork copies the threads' locks mid-use; the parent asks for siblings before any call,
    # and the first child falls back to a fresh process if it is ever asked later.
    processes = CallProcesses(concurrency=2, count=2)
    provider = OpenAIProvider(base_url=fake_llm.openai_base_url, api_key="test-key", max_retries=0)
    first, second = processes.children
    try:
        assert "Ada" in first.call(provider, ProviderRequest("openai", "gpt-4o", "openai:gpt-4o", (("user", "Say hello to Ada."),))).text
        processes.warm("openai")  # sends the fork request now, after the first child's call
        assert "Linus" in second.call(provider, ProviderRequest("openai", "gpt-4o", "openai:gpt-4o", (("user", "Say hello to Linus."),))).text
        assert second.pid is not None
        command = Path(f"/proc/{second.pid}/cmdline").read_bytes().split(b"\0")
        parent = int(Path(f"/proc/{second.pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    finally:
        processes.close()
    assert parent == first.pid
    assert command[-3:] == [b"promptcheck.providers.callserver", b"1", b""], "its own command, not the first child's"
