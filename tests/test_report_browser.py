"""The HTML report in a real headless Chromium: untrusted text stays text, and the filters work."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from chromium import dump_dom, needs_chromium

from promptcheck.report import datafiles, write_reports
from runfactory import baseline_of, check, make_item, make_run

pytestmark = needs_chromium

BASE_ID, CUR_ID = "20261127T010000Z-aaaaaa", "20261128T010000Z-bbbbbb"
SCRIPT = "<script>window.__pwned=1;document.title='PWNED'</script>"
BREAKOUT = "</script><script>window.pwned=1;document.body.setAttribute('data-pwned','1')</script><!--"
IMG = "<img src=x onerror=\"document.title='PWNED'\">"
JSON_BEFORE = '{"summary": "Short and sweet.", "n": 1, "tags": ["a"]}'
JSON_AFTER = '```json\n{"summary": "Short and still sweet.", "n": "1", "tags": ["a", "b"]}\n```'
HOSTILE = [SCRIPT, IMG, BREAKOUT, "</textarea>", "</script>", '<a href="javascript:alert(1)">click</a>', "{{ 7*7 }}"]


def rows(dom: str) -> list[tuple[str, str]]:
    """(category, key) of every rendered item row, in page order."""
    return [(c, html.unescape(k)) for k, c in re.findall(r'<div class="row [^"]*" data-key="([^"]*)" data-category="([^"]*)">', dom)]


def loaded_data_files(dom: str) -> list[str]:
    """The data files the page added as scripts, in the order it asked for them."""
    return [html.unescape(src) for src in re.findall(r'<script src="([^"]*)"></script>', dom)]


@needs_chromium
def test_untrusted_text_never_runs_in_the_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datafiles, "CHUNK_BYTES", 1)  # each item's answer in a data file of its own
    evil = " ".join(HOSTILE)
    hostile_model = f"evil{IMG}"
    baseline = make_run([make_item("a", answer="fine"), make_item("b", answer="fine")], BASE_ID)
    current = make_run(
        [
            make_item("a", "fail", answer=f"Sure: {evil}", checks=[check("not-contains", False, f"found {SCRIPT}", span=[6, 20])]),
            make_item("b", answer=evil, messages=[["system", evil], ["user", "{{ 7*7 }}"]]),
            make_item(f"c{SCRIPT}", answer=evil, model=hostile_model, prompt=f"prompts/{IMG}.prompt.yaml"),
        ],
        CUR_ID,
    )
    report = write_reports(tmp_path, current, baseline_of(baseline), []).path
    dom = dump_dom(report, "expand=all")

    assert "Showing 3 of 3 items." in dom and dom.count("<summary>Rendered prompt") == 3, "the page script did run"
    assert "PWNED" not in re.search(r"<title>(.*?)</title>", dom).group(1)
    assert len(re.findall(r"<script[\s>]", dom)) == 5, "the data block, the report's own script, three data files"
    assert loaded_data_files(dom) == [f"{CUR_ID}-data/chunk-000{n}.js" for n in (1, 2, 3)]
    assert not re.search(r"<body[^>]*data-pwned", dom)
    assert not re.search(r"<(img|textarea|a)[\s>]", dom), "no element came out of the data"
    shown = html.unescape(dom)
    for text in HOSTILE:
        assert text in shown, f"{text!r} is shown literally"
    assert "{{ 7*7 }}" in dom and ">49<" not in dom
    assert dom.count("evil&lt;img src=x") >= 2, "a hostile model label is escaped in the server-side markup too"


@needs_chromium
def test_regressions_view_lists_exactly_the_regressions(tmp_path: Path) -> None:
    gpt, claude = "openai:gpt-4o", "anthropic:claude"
    baseline = make_run(
        [make_item(case, model=m, answer=JSON_BEFORE if case == "summarises" else "The answer.")
         for m in (gpt, claude) for case in ("greets", "refuses", "summarises")]
        + [make_item("legacy", "fail")],
        BASE_ID,
    )
    current = make_run(
        [
            make_item("greets", model=gpt),
            # The span counts code points; the emoji is two UTF-16 units in the page.
            make_item("refuses", "fail", model=gpt, answer="🔓 Here is how to pick a lock: ...",
                      checks=[check("not-contains", False, "answer contains 'pick a lock'", span=[17, 28])]),
            make_item("summarises", model=gpt, answer=JSON_AFTER),
            make_item("greets", "error", model=claude, answer=None),
            make_item("refuses", model=claude),
            make_item("summarises", model=claude, answer=JSON_BEFORE),
            make_item("legacy"),
        ],
        CUR_ID,
        models=[gpt, claude],
    )
    report = write_reports(tmp_path, current, baseline_of(baseline), []).paths[-1]
    assert report.name == "index.html"

    shot = tmp_path / "report.png"
    dom = dump_dom(report, "filter=regressions&expand=all", screenshot=shot)
    # The errored item had no answer to judge: not evaluated, not a regression.
    assert rows(dom) == [("regression", f"prompts/greet.prompt.yaml::refuses[{gpt}]")]
    assert "Showing 1 of 1 item." in dom
    assert f'title="prompts/greet.prompt.yaml::refuses[{gpt}]"' in dom, "a cut-off name has its whole key as tooltip"
    assert '<mark>pick a lock</mark>' in dom, "the failed check's span is highlighted"
    assert f"baseline from run {BASE_ID}" in dom, "each item names the run its baseline comes from"

    dom = dump_dom(report, "expand=all")
    assert [c for c, _ in rows(dom)] == ["regression", "fix", "not_evaluated", "changed", "unchanged", "unchanged", "unchanged"]
    assert "provider said no" in dom, "an error shows the provider's message"
    changed = dom[dom.index('data-category="changed"'):]
    left, right = re.findall(r'<div class="meta">(?:baseline|current)</div><pre>(.*?)</pre>', changed, re.S)[:2]
    assert html.unescape(re.sub(r"</?(del|ins)>", "", left)) == JSON_BEFORE, "the word diff keeps every baseline token"
    assert html.unescape(re.sub(r"</?(del|ins)>", "", right)) == JSON_AFTER
    assert "<ins>still </ins>" in right and "<del>" not in right and "<ins>" not in left
    json_rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", changed.split("Rendered prompt")[0])
    assert [tuple(html.unescape(c) for c in r) for r in json_rows] == [
        ("root['summary']", "changed", '"Short and sweet."', '"Short and still sweet."'),
        ("root['n']", "type_changed", "1", '"1"'),
        ("root['tags'][1]", "added", "", '"b"'),
    ]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def header_and_row_widths(table: str) -> tuple[int, set[int]]:
    """A table's number of column labels, and the numbers of cells its other rows have."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    labelled = [r for r in rows if "<th" in r and "<td" not in r]
    assert len(labelled) == 1, "one row of column labels"
    return len(re.findall(r"<th[\s>]", labelled[0])), {len(re.findall(r"<t[dh][\s>]", r)) for r in rows if r not in labelled}


@needs_chromium
def test_every_column_is_labelled_and_cost_is_in_dollars(tmp_path: Path) -> None:
    before, after = '{"summary": "Short.", "n": 1}', '{"summary": "Short!", "n": 2}'
    baseline = make_run([make_item("summarises", answer=before, cost=0.0123), make_item("cheap", cost=0.00002)], BASE_ID)
    current = make_run(
        [make_item("summarises", answer=after, cost=0.015), make_item("cheap", "fail", cost=0.00003), make_item("local", cost=None)],
        CUR_ID,
    )
    report = write_reports(tmp_path, current, baseline_of(baseline), []).latest
    shot = tmp_path / "report.png"
    dom = dump_dom(report, "expand=all", screenshot=shot)

    tables = re.findall(r"<table.*?</table>", dom, re.S)
    assert len(tables) == 3, "per model, prompts × models, and the JSON changes of the changed answer"
    for table in tables:
        labels, widths = header_and_row_widths(table)
        assert widths == {labels}, f"every column has a label: {html.unescape(table)[:300]}"
    assert re.findall(r"<th>(.*?)</th>", tables[2]) == ["Path", "Change", "Baseline", "Current"]

    # The item list is a grid of rows, with one row of labels over its columns.
    head = re.search(r'<div class="list-head" id="list-head">(.*?)</div>', dom).group(1)
    assert re.findall(r"<span[^>]*>(.*?)</span>", head) == ["Change", "Status", "Prompt › case", "Model", "Why", "Score"]
    sums = re.findall(r'<button class="sum"[^>]*>(.*?)</button>', dom, re.S)
    assert len(sums) == 3
    for row in sums:
        columns = re.findall(r'<span class="(badge[^"]*|name[^"]*|model|why|num)"', row)
        assert len(columns) == 6, row
    assert re.search(r'<span class="num">1\.00</span>', dom), "the last column is the score"

    assert "Cost $0.0150 (baseline $0.0123)" in dom
    costs = re.findall(r"<span>cost ([^<]*)</span>", dom)
    assert sorted(html.unescape(c) for c in costs) == ["$0.0150 (+$0.0027)", "<$0.0001 (+<$0.0001)", "–"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def many_items_run() -> tuple[list, list]:
    """Twelve keys: one regression, one still failing, one fix, one changed answer, eight unchanged."""
    cases = [f"case-{n:02d}" for n in range(12)]
    baseline = [make_item(c, "fail" if c in ("case-03", "case-05") else "pass", answer=f"answer {c}") for c in cases]
    current = []
    for c in cases:
        if c == "case-02":
            current.append(make_item(c, "fail", answer="Sure, here is how to pick a lock.",
                                     checks=[check("not-contains", False, "answer contains 'pick a lock'", span=[21, 32])]))
        elif c == "case-03":
            current.append(make_item(c, "fail", answer=f"answer {c}", checks=[check("max-length", False, "too long")]))
        elif c == "case-09":
            current.append(make_item(c, answer=f"answer {c}, reworded"))
        else:
            current.append(make_item(c, answer=f"answer {c}"))
    return baseline, current


@needs_chromium
def test_split_page_filters_searches_and_opens_an_item_from_a_later_data_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datafiles, "CHUNK_BYTES", 400)  # a few items per data file
    baseline, current = many_items_run()
    report = write_reports(tmp_path, make_run(current, CUR_ID), baseline_of(make_run(baseline, BASE_ID)), []).latest
    data_files = sorted(p.name for p in (tmp_path / f"{CUR_ID}-data").iterdir())
    assert len(data_files) >= 4

    dom = dump_dom(report)
    assert "Showing 12 of 12 items." in dom and loaded_data_files(dom) == [], "nothing loaded before an item opens"

    assert rows(dump_dom(report, "filter=regressions")) == [("regression", "prompts/greet.prompt.yaml::case-02[openai:gpt-4o]")]
    assert [c for c, _ in rows(dump_dom(report, "filter=failing"))] == ["regression", "still_failing"]
    assert [k.split("::")[1] for _, k in rows(dump_dom(report, "filter=changed"))] == [
        "case-02[openai:gpt-4o]", "case-05[openai:gpt-4o]", "case-09[openai:gpt-4o]",
    ]
    assert rows(dump_dom(report, "q=pick%20a%20lock")) == [("regression", "prompts/greet.prompt.yaml::case-02[openai:gpt-4o]")]
    assert rows(dump_dom(report, "q=TOO%20LONG")) == [("still_failing", "prompts/greet.prompt.yaml::case-03[openai:gpt-4o]")]
    assert "No items match." in dump_dom(report, "q=nothing-like-this")

    # The changed answer sorts after the failures and fixes: its details are in a later file.
    dom = dump_dom(report, "filter=changed&q=case-09&expand=all")
    assert [k.split("::")[1] for _, k in rows(dom)] == ["case-09[openai:gpt-4o]"]
    [loaded] = loaded_data_files(dom)
    assert loaded != f"{CUR_ID}-data/chunk-0001.js" and loaded.startswith(f"{CUR_ID}-data/chunk-")
    assert "<ins>, reworded</ins>" in dom and 'class="det">Loading…' not in dom, "the item opened with its word diff"
    assert "status pass → pass" in dom


@needs_chromium
def test_an_item_whose_data_file_is_gone_says_so(tmp_path: Path) -> None:
    baseline, current = many_items_run()
    report = write_reports(tmp_path, make_run(current, CUR_ID), baseline_of(make_run(baseline, BASE_ID)), []).latest
    shutil.rmtree(tmp_path / f"{CUR_ID}-data")
    dom = dump_dom(report, "filter=regressions&expand=all")
    assert "Showing 1 of 1 item." in dom
    assert (
        f"This item's details are in {CUR_ID}-data/chunk-0001.js, which could not be loaded: "
        f"keep the folder {CUR_ID}-data beside this page."
    ) in dom
