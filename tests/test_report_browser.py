"""The HTML report in a real headless Chromium: untrusted text stays text, and the filters work."""

from __future__ import annotations

import html
import re
from pathlib import Path

from chromium import dump_dom, needs_chromium
from promptcheck.report import write_reports
from runfactory import check, make_item, make_run

pytestmark = needs_chromium

BASE_ID, CUR_ID = "20261127T010000Z-aaaaaa", "20261128T010000Z-bbbbbb"
SCRIPT = "<script>window.__pwned=1;document.title='PWNED'</script>"
IMG = "<img src=x onerror=\"document.title='PWNED'\">"
JSON_BEFORE = '{"summary": "Short and sweet.", "n": 1, "tags": ["a"]}'
JSON_AFTER = '```json\n{"summary": "Short and still sweet.", "n": "1", "tags": ["a", "b"]}\n```'
HOSTILE = [SCRIPT, IMG, "</textarea>", "</script>", '<a href="javascript:alert(1)">click</a>', "{{ 7*7 }}"]


def rows(dom: str) -> list[tuple[str, str]]:
    """(category, key) of every rendered item row, in page order."""
    return [(c, html.unescape(k)) for k, c in re.findall(r'<div class="row [^"]*" data-key="([^"]*)" data-category="([^"]*)">', dom)]


@needs_chromium
def test_untrusted_text_never_runs_in_the_browser(tmp_path: Path) -> None:
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
    report = write_reports(tmp_path, current, baseline, []).path
    dom = dump_dom(report, "expand=all")

    assert "Showing 3 of 3 items." in dom and dom.count("<summary>Rendered prompt") == 3, "the page script did run"
    assert "PWNED" not in re.search(r"<title>(.*?)</title>", dom).group(1)
    assert len(re.findall(r"<script[\s>]", dom)) == 2, "only the data block and the report's own script"
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
    report = write_reports(tmp_path, current, baseline, []).paths[-1]
    assert report.name == "index.html"

    shot = tmp_path / "report.png"
    dom = dump_dom(report, "filter=regressions&expand=all", screenshot=shot)
    assert rows(dom) == [
        ("regression", f"prompts/greet.prompt.yaml::greets[{claude}]"),
        ("regression", f"prompts/greet.prompt.yaml::refuses[{gpt}]"),
    ]
    assert "Showing 2 of 2 items." in dom
    assert f'title="prompts/greet.prompt.yaml::greets[{claude}]"' in dom, "a cut-off name has its whole key as tooltip"
    assert '<mark>pick a lock</mark>' in dom, "the failed check's span is highlighted"
    assert "provider said no" in dom, "an error shows the provider's message"

    dom = dump_dom(report, "expand=all")
    assert [c for c, _ in rows(dom)] == ["regression", "regression", "fix", "changed", "unchanged", "unchanged", "unchanged"]
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
