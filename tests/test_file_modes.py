"""Files promptcheck writes atomically get the mode a plain ``open(path, "w")`` would give them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptcheck.report import write_reports
from promptcheck.runs.record import new_header
from promptcheck.runs.store import RunRecorder, runs_dir, write_chunks_atomic
from runfactory import make_item, make_run, store

PROMPT = """\
name: Hist
messages: [{role: user, content: "{{ answer }}"}]
testData: [{id: alpha, inputs: {answer: "pub/sub"}, expected: pub/sub}]
"""

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes and umask are POSIX")


@pytest.fixture
def umask() -> Iterator[object]:
    """Sets the process umask for one test, and puts the old one back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def plain_write_mode(path: Path) -> int:
    path.write_text("x", encoding="utf-8")
    return mode(path)


def write_everything(report_dir: Path) -> list[Path]:
    """A session's files: its record (through the recorder), a merged record, the reports, a pin."""
    recorder = RunRecorder(report_dir, new_header("20261201T000000Z-aaaaaa", models=["echo"]))
    recorder.add(make_item("a"))
    recorder.finish(complete=True)
    merged = store(report_dir, make_run([make_item("a")], "20261201T000001Z-bbbbbb"))
    written = write_reports(report_dir, make_run([make_item("a")], "20261201T000002Z-cccccc"), None, [])
    write_chunks_atomic(report_dir / "baseline", ["20261201T000000Z-aaaaaa\n"])
    return [recorder.path, merged, *written.paths, report_dir / "baseline"]


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_0666_less_the_umask(tmp_path: Path, umask, mask: int, expected: int) -> None:
    umask(mask)
    assert plain_write_mode(tmp_path / "plain.txt") == expected, "what open(..., 'w') does here"
    files = write_everything(tmp_path / "reports")
    assert [p.name for p in files] == [
        "20261201T000000Z-aaaaaa.json", "20261201T000001Z-bbbbbb.json", "20261201T000002Z-cccccc.html", "index.html", "baseline",
    ]
    assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(expected) for p in files}
    leftovers = [p.name for p in (tmp_path / "reports").rglob(".*.tmp")]
    assert leftovers == [], "no temp file is left behind"


def test_a_rewritten_file_keeps_its_mode_like_a_plain_write(tmp_path: Path, umask) -> None:
    umask(0o077)
    report_dir = tmp_path / "reports"
    write_reports(report_dir, make_run([make_item("a")], "20261201T000000Z-aaaaaa"), None, [])
    index = report_dir / "index.html"
    index.chmod(0o644)  # e.g. served by a web server
    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")
    plain.chmod(0o644)
    assert plain_write_mode(plain) == 0o644, "open(..., 'w') keeps an existing file's mode"

    write_reports(report_dir, make_run([make_item("a")], "20261201T000001Z-bbbbbb"), None, [])
    assert "20261201T000001Z-bbbbbb" in index.read_text(encoding="utf-8"), "index.html was replaced"
    assert oct(mode(index)) == oct(0o644)
    assert oct(mode(report_dir / "20261201T000001Z-bbbbbb.html")) == oct(0o600), "a new file follows the umask"


def test_a_session_leaves_its_report_readable_as_the_umask_allows(echo_project: pytest.Pytester, umask) -> None:
    umask(0o022)
    echo_project.makefile(".prompt.yaml", hist=PROMPT)
    echo_project.runpytest().assert_outcomes(passed=1)
    report_dir = echo_project.path / "reports"
    written = [*report_dir.glob("*.html"), *runs_dir(report_dir).glob("*.json")]
    assert len(written) == 3
    assert {p.name: oct(mode(p)) for p in written} == {p.name: "0o644" for p in written}
