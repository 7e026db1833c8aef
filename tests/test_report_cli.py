"""Reports (HTML, Markdown, terminal) and the runs/report/diff/merge commands."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from promptcheck.cli import main
from promptcheck.report import render_html, render_markdown, terminal_lines, write_reports
from promptcheck.report.html import script_json
from promptcheck.report import datafiles
from promptcheck.report.text import usd
from promptcheck.runs.compare import compare
from promptcheck.runs.reading import load_run
from promptcheck.runs.record import RunRecord
from promptcheck.runs.store import runs_dir
from reportdata import chunk_files, page_data, report_items
from runfactory import baseline_of, check, make_item, make_run, store

Pair = tuple[RunRecord, RunRecord]

SRC = Path(__file__).resolve().parents[1] / "src"
TEMPLATES = SRC / "promptcheck" / "report" / "templates"
BASE_ID, CUR_ID = "20261127T010000Z-aaaaaa", "20261128T010000Z-bbbbbb"
HOSTILE = "</script><script>alert(1)</script> <!-- \u2028 & {{ 7*7 }}"


@pytest.fixture
def pair() -> Pair:
    baseline = make_run([make_item("ok"), make_item("breaks"), make_item("mends", "fail"), make_item("gone")], BASE_ID)
    current = make_run(
        [
            make_item("ok"),
            make_item("breaks", "fail", answer=HOSTILE,
                      checks=[check("not-contains", False, "found <script> | here", span=[0, 9])]),
            make_item("mends"),
            make_item("fresh", "error", answer=None),
        ],
        CUR_ID,
    )
    return baseline, current


@pytest.fixture
def report_dir(tmp_path: Path, pair: Pair) -> Path:
    directory = tmp_path / "reports"
    for record in pair:
        store(directory, record)
    return directory


# --- HTML ----------------------------------------------------------------------------------------


def test_script_json_cannot_close_its_script_element() -> None:
    text = str(script_json({"a": HOSTILE}))
    assert not re.search(r"[<>&\u2028\u2029]", text)
    assert json.loads(text) == {"a": HOSTILE}


def test_html_embeds_the_list_once_and_the_details_in_data_files(pair: Pair, tmp_path: Path) -> None:
    baseline, current = pair
    page = write_reports(tmp_path, current, baseline_of(baseline), []).path
    html = page.read_text(encoding="utf-8")
    assert html.count('id="pc-data"') == 1 and html.count("<script") == 2
    assert "alert(1)" not in html and HOSTILE[:10] not in html, "no answer in the page"
    data = page_data(html)
    assert data["run"] == CUR_ID and data["dir"] == f"{CUR_ID}-data" and data["chunks"] == [0]
    [chunk] = chunk_files(page)
    assert chunk == tmp_path / f"{CUR_ID}-data" / "chunk-0001.js"
    text = chunk.read_text(encoding="utf-8")
    assert not re.search(r"[<>&\u2028\u2029]", text), "no answer can end a script, inline or in a file"
    items = report_items(page)
    regression = next(i for i in items if i["c"] == "regression")
    assert regression["a"] == HOSTILE and regression["b"] == "The answer.", "both sides, for the page to diff"
    assert regression["ac"] == 1 and regression["why"] == "not-contains: found <script> | here"
    assert "b" not in next(i for i in items if i["c"] == "unchanged"), "no baseline copy of an equal answer"
    assert regression["strings"][regression["ck"][0][4]] == "found <script> | here"
    assert [i["c"] for i in items] == ["regression", "fix", "not_evaluated", "removed", "unchanged"]
    assert page_data(render_html(compare(baseline_of(baseline), current), current, []))["rows"] == data["rows"]


def test_details_are_split_into_chunks_of_about_chunk_bytes(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline, current = pair
    monkeypatch.setattr(datafiles, "CHUNK_BYTES", 1)  # every item its own file
    page = write_reports(tmp_path, current, baseline_of(baseline), []).path
    assert page_data(page.read_text(encoding="utf-8"))["chunks"] == [0, 1, 2, 3, 4]
    assert [p.name for p in chunk_files(page)] == [f"chunk-000{n}.js" for n in range(1, 6)]
    assert [i["c"] for i in report_items(page)] == ["regression", "fix", "not_evaluated", "removed", "unchanged"]

    monkeypatch.setattr(datafiles, "CHUNK_BYTES", 1_000_000)  # written again: the old files go
    write_reports(tmp_path, current, baseline_of(baseline), [])
    assert [p.name for p in chunk_files(page)] == ["chunk-0001.js"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{CUR_ID}-data", f"{CUR_ID}.html", "index.html"]


def test_a_page_written_elsewhere_gets_its_own_data_files(pair: Pair, tmp_path: Path) -> None:
    baseline, current = pair
    elsewhere = tmp_path / "elsewhere" / "report.html"
    elsewhere.parent.mkdir()
    write_reports(tmp_path / "reports", current, baseline_of(baseline), [], outputs=[tmp_path / "a.html", elsewhere])
    assert [i["c"] for i in report_items(elsewhere)][0] == "regression"
    assert (tmp_path / "elsewhere" / f"{CUR_ID}-data" / "chunk-0001.js").is_file()


def test_html_is_offline_and_allows_only_its_own_scripts(pair: Pair) -> None:
    baseline, current = pair
    html = render_html(compare(baseline_of(baseline), current), current, [])
    script = re.findall(r"<script>(.*?)</script>", html, re.S)[-1]
    outside = html.replace(script, "")
    assert not re.search(r"""(src|href)\s*=|@import|url\(|https?://""", outside), "nothing to fetch"
    # The script fetches only its own data files: one place sets a src, to the data folder.
    assert re.findall(r"\w+\.src = [^;]*;", script) == [
        'script.src = encodeURIComponent(data.dir) + "/chunk-" + String(n + 1).padStart(4, "0") + ".js";'
    ]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}' 'self'\"" in html and "default-src 'none'" in html


def test_report_script_never_parses_data_as_markup() -> None:
    source = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute(\"on"):
        assert sink not in source


def test_html_header_counts_models_trend_and_matrix(pair: Pair) -> None:
    baseline, current = pair
    older = [make_run([make_item("ok", "fail")], f"2026112{n}T010000Z-00000{n}") for n in range(3, 7)]
    history = [r.header for r in [*older, baseline]]
    html = render_html(compare(baseline_of(baseline), current), current, history)
    assert re.search(r"<b>1</b> regression</li>", html) and re.search(r"<b>1</b> fix</li>", html)
    # Like with like: the keys this run decided (the error is not evaluated), against their baseline.
    assert html.count("66.7%") >= 2 and "+0.0 pts" in html, "pass rate, baseline, delta"
    assert html.count("<circle") == 6, "one point per run: 4 older, the baseline and this run"
    assert 'data-prompt="prompts/greet.prompt.yaml" data-model="openai:gpt-4o">2/3 <b>▼1</b>' in html
    assert "Regressions <span class=\"n\">1</span>" in html and "Failing <span class=\"n\">2</span>" in html


def test_incomplete_and_narrowed_runs_say_so(pair: Pair) -> None:
    baseline, current = pair
    current = RunRecord(msgspec.structs.replace(current.header, complete=False, selected_only=True), current.items)
    html = render_html(compare(baseline_of(baseline), current), current, [])
    assert "This run did not finish" in html and "listed as “not run”" in html
    assert "No baseline run" in render_html(compare(baseline_of(None), current), current, [])


def test_cost_is_in_dollars_with_four_decimals(pair: Pair) -> None:
    assert [usd(x) for x in (0.0123, 1.5, 0.0, 0.00003, None)] == ["$0.0123", "$1.5000", "$0.0000", "<$0.0001", "–"]
    assert [usd(x, signed=True) for x in (0.0027, -0.0027, 0.0)] == ["+$0.0027", "-$0.0027", "+$0.0000"]
    baseline, current = pair
    html = render_html(compare(baseline_of(baseline), current), current, [])
    assert re.search(r"Cost \$0\.00\d\d \(baseline \$0\.00\d\d\)", html)


def test_write_reports_writes_run_and_index_atomically(report_dir: Path, pair: Pair) -> None:
    baseline, current = pair
    written = write_reports(report_dir, current, baseline_of(baseline))
    assert written.paths == (report_dir / f"{CUR_ID}.html", report_dir / "index.html")
    assert written.path.read_text(encoding="utf-8") == (report_dir / "index.html").read_text(encoding="utf-8")
    assert not list(report_dir.glob(".*.tmp")), "no temp files left behind"
    assert written.comparison.counts["regression"] == 1


# --- Markdown and terminal -----------------------------------------------------------------------


def test_markdown_escapes_untrusted_text(pair: Pair) -> None:
    baseline, current = pair
    text = render_markdown(compare(baseline_of(baseline), current), "reports/index.html")
    assert text.startswith("### promptcheck: 1 regression\n")
    assert "| openai:gpt\\-4o |" not in text and "| openai:gpt-4o | 66.7% | +0.0 pts | 2 | 1 | 1 | 0 |" in text
    assert "found \\<script\\> \\| here" in text and "<script>" not in text
    assert "#### Regressions (1)" in text and "#### Fixes (1)" in text and "#### Not evaluated (no answer to judge) (1)" in text
    assert text.rstrip().endswith("Full report: `reports/index.html`")


def test_terminal_diff_lines_elide_unchanged_text_and_show_json_changes() -> None:
    filler = "word " * 30
    baseline = make_run([make_item("t", answer=f"{filler}old {filler}"), make_item("j", answer='{"a": 1}')], BASE_ID)
    current = make_run([make_item("t", "fail", answer=f"{filler}new {filler}"), make_item("j", "fail", answer='{"a": 2, "b": null}')], CUR_ID)
    lines = terminal_lines(compare(baseline_of(baseline), current), None, diffs=True)
    assert "    answer: …" + "word " * 8 + "[-old-]{+new+}" + " word" * 8 + "…" in lines
    assert "    json: root['a'] changed: 1 → 2" in lines and "    json: root['b'] added: None → None" in lines


def test_terminal_lines_cap_and_sanitise() -> None:
    baseline = make_run([make_item(f"c{n:02}") for n in range(15)], BASE_ID)
    current = make_run(
        [make_item(f"c{n:02}", "fail", checks=[check("regex", False, "no match\x1b[31m\nred")]) for n in range(15)], CUR_ID
    )
    lines = terminal_lines(compare(baseline_of(baseline), current), Path("reports/index.html"), limit=3)
    assert lines[0] == f"promptcheck: 15 items, 15 regressions (vs run {BASE_ID})"
    assert lines[1] == "  pass rate: openai:gpt-4o 0.0% (-100.0 pts)"
    assert lines[2] == f"REGRESSION prompts/greet.prompt.yaml::c00[openai:gpt-4o] (baseline: {BASE_ID}) — regex: no match [31m red"
    assert lines[5:] == ["… and 12 more regressions", "report: reports/index.html"]
    assert not any("\x1b" in line for line in lines)


# --- commands ------------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_lists_stored_runs(report_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store(report_dir, make_run([make_item("a", "skip")], "20261129T010000Z-cccccc", complete=False))
    (runs_dir(report_dir) / "broken.json").write_text("{", encoding="utf-8")
    code, out, _ = run_cli(capsys, "runs", "--report-dir", str(report_dir))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 4
    assert lines[0].startswith("broken.json") and "unreadable: corrupt run file: not valid JSON" in lines[0]
    assert re.match(rf"{BASE_ID} +2026-11-27 01:00:00 +complete +3 pass 1 fail 0 error 0 skip +\(75%\) +openai:gpt-4o", lines[1])
    assert "incomplete" in lines[3] and "(–)" in lines[3]
    code, out, _ = run_cli(capsys, "runs", "--report-dir", str(report_dir / "none"))
    assert code == 0 and out.startswith("no runs stored in")


def test_report_command(report_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "report", "--report-dir", str(report_dir))
    assert code == 0 and (report_dir / "index.html").exists() and (report_dir / f"{CUR_ID}.html").exists()
    assert out.splitlines()[0] == (
        f"promptcheck: 5 items, 1 regression, 1 fix, 1 not evaluated, 1 removed (vs each key's latest outcome, from {BASE_ID})"
    )
    assert out.splitlines()[-1] == f"report: {report_dir / 'index.html'}", "the file that always has the latest run's report"

    (report_dir / "index.html").write_text("latest", encoding="utf-8")
    code, out, _ = run_cli(capsys, "report", "--run", BASE_ID, "--report-dir", str(report_dir))
    assert code == 0 and "no baseline" in out and (report_dir / f"{BASE_ID}.html").exists()
    assert (report_dir / "index.html").read_text(encoding="utf-8") == "latest", "index.html stays the latest run's"
    assert out.splitlines()[-1] == f"report: {report_dir / (BASE_ID + '.html')}", "an older run's report is its own file"

    code, _, err = run_cli(capsys, "report", "--report-dir", str(tmp_path / "empty"))
    assert code == 2 and err == f"promptcheck report: error: {tmp_path / 'empty' / 'runs'}: no runs stored yet\n"

    out_file = tmp_path / "elsewhere" / "r.html"
    code, _, _ = run_cli(capsys, "report", "--baseline", "none", "-o", str(out_file), "--report-dir", str(report_dir))
    assert code == 0 and "No baseline run" in out_file.read_text(encoding="utf-8")


def test_diff_command_exit_codes_and_formats(report_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--report-dir", str(report_dir))
    code, out, _ = run_cli(capsys, "diff", BASE_ID, CUR_ID, *args)
    assert code == 1 and "REGRESSION prompts/greet.prompt.yaml::breaks[openai:gpt-4o]" in out
    code, out, _ = run_cli(capsys, "diff", CUR_ID, CUR_ID, *args)
    assert code == 0 and out.startswith(f"promptcheck: 4 items, 1 still failing, 1 not evaluated (vs run {CUR_ID})")
    code, out, _ = run_cli(capsys, "diff", BASE_ID, CUR_ID, "--format", "json", *args)
    summary = json.loads(out)
    assert code == 1 and summary["counts"]["regression"] == 1
    assert {i["category"] for i in summary["items"]} == {"regression", "fix", "not_evaluated", "removed"}
    code, out, _ = run_cli(capsys, "diff", BASE_ID, CUR_ID, "--diffs", *args)
    assert code == 1 and "\n    answer: [-The answer.-]{+</script><script>alert(1)</script> <!-- & {{ 7*7 }}+}\n" in out
    code, out, _ = run_cli(capsys, "diff", BASE_ID, CUR_ID, "--format", "markdown", *args)
    assert code == 1 and out.startswith("### promptcheck: 1 regression")


def test_merge_command(report_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shard = store(tmp_path / "shard", make_run([make_item("other", model="anthropic:claude")], "20261128T020000Z-dddddd"))
    code, out, _ = run_cli(capsys, "merge", CUR_ID, str(shard), "-o", str(runs_dir(report_dir)) + "/", "--report-dir", str(report_dir))
    assert code == 0 and out.startswith("merged 2 runs (5 items) into ")
    merged = load_run(out.split(" as run ")[1].strip(), report_dir)
    assert merged.header.merged_from == (CUR_ID, "20261128T020000Z-dddddd")
    assert len(merged.items) == 5 and merged.header.summary.counts == {"pass": 3, "fail": 1, "error": 1, "skip": 0}

    code, _, err = run_cli(capsys, "merge", CUR_ID, CUR_ID, "-o", str(tmp_path / "m.json"), "--report-dir", str(report_dir))
    assert code == 2 and err.startswith("promptcheck merge: error: 4 item(s) appear in more than one run:")
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("command", ["report --run {ref}", "diff {ref} " + CUR_ID, "merge {ref} -o out.json"])
@pytest.mark.parametrize("problem", ["missing", "corrupt"])
def test_bad_run_files_give_one_line_and_exit_2(
    report_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, problem: str
) -> None:
    bad = tmp_path / "bad.json"
    if problem == "corrupt":
        bad.write_text('{"schema": 1, "run_id": "x", "items": [', encoding="utf-8")
    argv = command.format(ref=bad).split() + ["--report-dir", str(report_dir)]
    code, out, err = run_cli(capsys, *argv)
    expected = "no such run file" if problem == "missing" else "corrupt run file: not valid JSON"
    assert code == 2 and out == ""
    assert err.startswith(f"promptcheck {argv[0]}: error: {bad}: {expected}") and err.count("\n") == 1


def test_unwritable_output_is_a_usage_error(report_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, "report", "-o", str(blocker / "r.html"), "--report-dir", str(report_dir))
    assert code == 2 and err.startswith("promptcheck report: error: ") and "Traceback" not in err


def test_report_dir_defaults_to_the_pyproject_setting(report_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    project = report_dir.parent
    (project / "pyproject.toml").write_text('[tool.promptcheck]\nreport_dir = "reports"\n', encoding="utf-8")
    monkeypatch.chdir(project)
    code, out, _ = run_cli(capsys, "runs")
    assert code == 0 and BASE_ID in out


def test_cli_as_a_subprocess(report_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The console script ends the process without freeing what diff built (cli.run): its whole
    # output must still arrive, through a pipe, as main() prints it in-process.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", "promptcheck.cli", "diff", BASE_ID, CUR_ID, "--report-dir", str(report_dir), "--diffs"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert done.returncode == 1 and "REGRESSION" in done.stdout and done.stderr == ""
    assert done.stdout == run_cli(capsys, "diff", BASE_ID, CUR_ID, "--report-dir", str(report_dir), "--diffs")[1]
    done = subprocess.run(
        [sys.executable, "-m", "promptcheck.cli", "diff", "nope", CUR_ID, "--report-dir", str(report_dir)],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert done.returncode == 2 and done.stderr == f"promptcheck diff: error: {runs_dir(report_dir) / 'nope.json'}: no such run file\n"


def test_the_compiled_template_is_cached_and_a_cache_that_cannot_be_written_is_no_error(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import tempfile

    from promptcheck.report import html

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    environment = html._environment.__wrapped__()
    monkeypatch.setattr(html, "_environment", lambda: environment)
    baseline, current = pair
    comparison = compare(baseline_of(baseline), current)

    first = render_html(comparison, current)
    [cache_dir] = tmp_path.glob("_jinja2-cache-*")
    assert [p.name.startswith("__promptcheck_") for p in cache_dir.iterdir()] == [True]

    shutil.rmtree(cache_dir)  # gone before the next write
    environment.cache.clear()  # compile again, as the next session would
    assert render_html(comparison, current) == first


@pytest.mark.parametrize("count", [0, 1, 4096, 4097, 9000])
def test_the_page_data_written_in_pieces_is_the_data_encoded_at_once(count: int) -> None:
    """The list rows reach the page a few thousand at a time; the text is exactly the one encoding
    of the whole listing, escapes included, whatever the number of rows."""
    rows: list[list[object]] = [[f"k{n}{HOSTILE}\u2029é", n, None, 1.5] for n in range(count)]
    listing = datafiles.ListData("run<1>", "run<1>-data", rows=rows, strings=[HOSTILE, "b"], chunks=[0, 7])
    whole = {"run": "run<1>", "dir": "run<1>-data", "chunks": [0, 7], "categories": list(datafiles.CATEGORIES),
             "strings": [HOSTILE, "b"], "rows": rows}
    expected = datafiles.script_json_bytes(whole).decode("utf-8")
    pieces = list(listing.script_json_pieces())
    assert "".join(pieces) == expected
    assert listing.script_json() == expected
    assert json.loads(expected)["rows"][-1:] == rows[-1:]
    assert len(pieces) == 2 + -(-count // 4096)
