// promptcheck report: renders the item list from the page's JSON block, lazily; each item's details
// come from a data file beside the page (<run id>-data/chunk-NNNN.js), loaded when the item opens.
// Every string in the data is untrusted model or prompt text: it only ever reaches the page through
// textContent / createTextNode, never as markup.
//
// The page's block: run id, dir (the data folder), chunks (index of the first item of each data
// file), categories, strings, and rows, one per item: [key, category (index into categories),
// status, baseline status, prompt path, prompt name (these four: indexes into strings, null when
// absent), case id, model (index), score, why (index: the error, skip or first failed check),
// 1 when the baseline answer differs or the item is not in this run else 0, sample strip ("1" pass /
// "0" fail per sample), why the key is flaky].
//
// A data file calls promptcheckChunk(run id, number, {items, strings}); its item fields (absent =
// empty): br the run the baseline outcome comes from, bn why the baseline has no outcome, a answer,
// b baseline answer (only when it differs from a, or the item is not in this run), ck checks
// [[name, type, state 0 fail|1 pass|2 skipped, score, reason, span in UTF-16 units]] (name, type
// and reason as indexes into the file's strings), cc check changes [[name, before, after]], msg
// [[role, index into strings]], dsc score delta, lat latency s, dlat, cost, dcost, tok [in, out],
// err error, skip skip reason, rp replayed, pc prompt changed, smp [passed, total], ci [low, high]
// Wilson 95% interval of the pass rate, st rate verdict vs baseline (significant_regression|
// noise_regression|significant_fix|noise_fix|same), bkn baseline [passed, total], pv Fisher p-value.
//
// Diffs are computed when an item is opened (textdiff.js, which the page runs first), so a
// 100,000-item report costs nothing up front.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("pc-data").textContent);
  var strings = data.strings;
  function str(index) { return index === null ? null : strings[index]; }
  function opt(value) { return value === null ? undefined : value; }
  var items = data.rows.map(function (r, i) {
    return { __i: i, k: r[0], c: data.categories[r[1]], s: str(r[2]), bs: opt(str(r[3])), pp: str(r[4]), n: opt(str(r[5])),
             "case": opt(r[6]), m: str(r[7]), sc: opt(r[8]), why: str(r[9]) || "", ac: r[10] === 1, sp: opt(r[11]), fl: opt(r[12]) };
  });
  data.rows = null;
  var PAGE = 200;
  var CHANGED = { regression: 1, fix: 1, "new": 1, removed: 1, changed: 1 };
  var own = Object.prototype.hasOwnProperty;
  var state = { filter: "all", q: "", prompt: "", model: "", shown: PAGE, expandAll: false };
  var haystacks = null; // built on the first search only
  var list = document.getElementById("list");
  var more = document.getElementById("more");
  var status = document.getElementById("status");
  var search = document.getElementById("q");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function section(parent, title) {
    var box = el("div");
    box.appendChild(el("h3", null, title));
    parent.appendChild(box);
    return box;
  }

  function num(value, digits) {
    return value === undefined || value === null ? "–" : Number(value).toFixed(digits);
  }

  function signed(value, digits) {
    return value === undefined ? "" : " (" + (value >= 0 ? "+" : "") + Number(value).toFixed(digits) + ")";
  }

  // US dollars as promptcheck.report.text.usd writes them: $0.0123, +$0.0010, <$0.0001.
  function usd(value, withSign) {
    if (value === undefined || value === null) return "–";
    var size = Math.abs(value);
    var sign = value < 0 ? "-" : withSign ? "+" : "";
    return sign + (size > 0 && size < 0.00005 ? "<$0.0001" : "$" + size.toFixed(4));
  }

  var wordDiff = promptcheckDiff.wordDiff, parseJson = promptcheckDiff.parseJson, jsonDiff = promptcheckDiff.jsonDiff;

  function shown(value) {
    return value === undefined ? "" : JSON.stringify(value);
  }

  function matches(it) {
    var f = state.filter;
    if (f === "regressions" && it.c !== "regression") return false;
    if (f === "failing" && it.s !== "fail" && it.s !== "error") return false;
    if (f === "changed" && !CHANGED[it.c] && !it.ac) return false;
    if (state.prompt && it.pp !== state.prompt) return false;
    if (state.model && it.m !== state.model) return false;
    if (state.q) {
      if (!haystacks) {
        haystacks = items.map(function (x) { return (x.k + " " + x.m + " " + x.why).toLowerCase(); });
      }
      if (haystacks[it.__i].indexOf(state.q) < 0) return false;
    }
    return true;
  }

  function diffSides(parent, ops) {
    var sides = el("div", "sides");
    var left = el("pre"), right = el("pre");
    ops.forEach(function (op) {
      if (op[0] <= 0) left.appendChild(op[0] < 0 ? el("del", null, op[1]) : document.createTextNode(op[1]));
      if (op[0] >= 0) right.appendChild(op[0] > 0 ? el("ins", null, op[1]) : document.createTextNode(op[1]));
    });
    var l = el("div"), r = el("div");
    l.appendChild(el("div", "meta", "baseline"));
    l.appendChild(left);
    r.appendChild(el("div", "meta", "current"));
    r.appendChild(right);
    sides.appendChild(l);
    sides.appendChild(r);
    parent.appendChild(sides);
  }

  function spanSnippet(answer, span) {
    // Enough context to recognise the place, not the whole answer again.
    var pre = el("pre");
    var start = Math.max(0, span[0] - 120), end = Math.min(answer.length, span[1] + 120);
    pre.appendChild(document.createTextNode((start > 0 ? "…" : "") + answer.slice(start, span[0])));
    pre.appendChild(el("mark", null, answer.slice(span[0], span[1])));
    pre.appendChild(document.createTextNode(answer.slice(span[1], end) + (end < answer.length ? "…" : "")));
    return pre;
  }

  function strip(samples) {
    var box = el("span", "strip");
    samples.split("").forEach(function (c, i) {
      var cell = el("span", c === "1" ? "sp-pass" : "sp-fail", c === "1" ? "✓" : "✗");
      cell.title = "sample " + (i + 1) + (c === "1" ? " passed" : " failed");
      box.appendChild(cell);
    });
    return box;
  }

  function checkList(checks, answer, st) {
    var ul = el("ul", "checks");
    checks.forEach(function (c) {
      var cls = c[2] === 0 ? "fail" : c[2] === 1 ? "pass" : "skipped";
      var reason = st[c[4]];
      var li = el("li", cls, (c[2] === 0 ? "✗ " : c[2] === 1 ? "✓ " : "– ") + st[c[0]] + " (" + st[c[1]] + ", score " + num(c[3], 2) + ")" + (reason ? ": " + reason : ""));
      if (c[2] === 0 && c[5]) li.appendChild(spanSnippet(answer, c[5]));
      ul.appendChild(li);
    });
    return ul;
  }

  function callList(calls) {  // [name, arguments JSON text] per call
    var ul = el("ul", "checks mono");
    calls.forEach(function (c) { ul.appendChild(el("li", null, "→ " + c[0] + "(" + c[1] + ")")); });
    return ul;
  }

  function thread(parent, turns, st) {
    // Each turn: the user's message, the answer (a word diff against the baseline's when it
    // changed), and that turn's checks.
    turns.forEach(function (t, i) {
      var turn = el("div", "turn " + (t[4] ? "pass" : "fail"));
      turn.appendChild(el("div", "role", "turn " + (i + 1) + " · user"));
      turn.appendChild(el("pre", null, st[t[0]]));
      turn.appendChild(el("div", "role", t[3] ? "assistant (fixed reply, not checked)" : "assistant" + (t[4] ? " ✓" : " ✗")));
      if (t[2] !== null) diffSides(turn, wordDiff(t[2], t[1]));
      else turn.appendChild(el("pre", null, t[1]));
      if (t[6]) turn.appendChild(callList(t[6]));
      if (t[5].length) turn.appendChild(checkList(t[5], t[1], st));
      parent.appendChild(turn);
    });
  }

  function details(it) {
    var st = it.__st;
    var box = el("div", "det");
    var kv = el("div", "kv");
    [
      "key " + it.k,
      "status " + (it.bs || "–") + " → " + (it.s || "not run"),
      it.br ? "baseline from run " + it.br : it.bn ? "no baseline outcome: " + it.bn : "",
      "score " + num(it.sc, 3) + signed(it.dsc, 3),
      "latency " + num(it.lat, 2) + " s" + signed(it.dlat, 2),
      "cost " + usd(it.cost) + (it.dcost === undefined ? "" : " (" + usd(it.dcost, true) + ")"),
      it.tok ? "tokens " + (it.tok[0] === null ? "–" : it.tok[0]) + " in / " + (it.tok[1] === null ? "–" : it.tok[1]) + " out" : "",
      it.smp ? "samples " + it.smp[0] + "/" + it.smp[1] + " passed" + (it.ci ? " (95% CI " + num(it.ci[0], 2) + "–" + num(it.ci[1], 2) + ")" : "") : "",
      it.st ? "vs baseline " + it.bkn[0] + "/" + it.bkn[1] + ": " + it.st.replace("_", " ") + " (p=" + it.pv + ")" : "",
      it.fl ? "flaky: " + it.fl : "",
      it.rp ? "replayed from cassette" : "",
      it.pc ? "prompt changed since baseline" : ""
    ].forEach(function (text) { if (text) kv.appendChild(el("span", null, text)); });
    box.appendChild(kv);
    if (it.sp) section(box, "Samples (✓ pass, ✗ fail, in order)").appendChild(strip(it.sp));
    if (it.err) section(box, "Error").appendChild(el("pre", null, it.err));
    if (it.skip) section(box, "Skipped").appendChild(el("pre", null, it.skip));

    var answer = it.a || "";
    if (it.ck && !it.th) section(box, "Checks").appendChild(checkList(it.ck, answer, st));
    if (it.cc) {
      var changes = el("ul", "checks");
      it.cc.forEach(function (c) { changes.appendChild(el("li", null, c[0] + ": " + (c[1] || "absent") + " → " + (c[2] || "absent"))); });
      section(box, "Check changes vs baseline").appendChild(changes);
    }
    if (it.th) thread(section(box, "Conversation (" + it.th.length + " turns; baseline beside any answer that changed)"), it.th, st);
    var changed = !it.th && it.b !== undefined && it.s !== null;  // a thread shows its answers itself
    if (it.th) { /* shown above */ }
    else if (changed) diffSides(section(box, "Answer: baseline → current (word diff)"), wordDiff(it.b, answer));
    else if (it.s === null) section(box, "Answer (baseline)").appendChild(el("pre", null, it.b === undefined ? "(no answer)" : it.b));
    else section(box, "Answer").appendChild(el("pre", null, it.a === undefined ? "(no answer)" : it.a));
    if (it.tc && !it.th) section(box, "Tool calls (" + it.tc.length + ")").appendChild(callList(it.tc));
    var before = changed ? parseJson(it.b) : undefined, after = changed ? parseJson(answer) : undefined;
    if (before !== undefined && after !== undefined) {
      var table = el("table", "mono");
      var head = el("tr");
      ["Path", "Change", "Baseline", "Current"].forEach(function (label) { head.appendChild(el("th", null, label)); });
      table.appendChild(head);
      jsonDiff(before, after, "root", []).forEach(function (j) {
        var tr = el("tr");
        [j[0], j[1], shown(j[2]), shown(j[3])].forEach(function (cell) { tr.appendChild(el("td", null, cell)); });
        table.appendChild(tr);
      });
      section(box, "JSON changes").appendChild(table);
    }
    if (it.msg) {
      var prompt = el("details");
      prompt.appendChild(el("summary", null, "Rendered prompt (" + it.msg.length + " message" + (it.msg.length === 1 ? "" : "s") + ")"));
      it.msg.forEach(function (m) {
        prompt.appendChild(el("div", "role", m[0]));
        prompt.appendChild(el("pre", null, st[m[1]]));
      });
      box.appendChild(prompt);
    }
    return box;
  }

  // Data files: loading[n] is the list of callbacks waiting for file n, or true once it has run.
  var loading = {};

  function chunkOf(index) {
    var lo = 0, hi = data.chunks.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (data.chunks[mid] <= index) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  function chunkFile(n) {
    return data.dir + "/chunk-" + String(n + 1).padStart(4, "0") + ".js";
  }

  window.promptcheckChunk = function (run, n, chunk) {
    // A stale file from another run of the same name would put the wrong answers under these keys.
    if (run !== data.run || !own.call(loading, n) || loading[n] === true) return;
    var start = data.chunks[n];
    chunk.items.forEach(function (detail, j) {
      var it = items[start + j];
      if (!it) return;
      Object.keys(detail).forEach(function (name) { if (name.charAt(0) !== "_") it[name] = detail[name]; });
      it.__st = chunk.strings;
    });
    var waiting = loading[n];
    loading[n] = true;
    waiting.forEach(function (done) { done(null); });
  };

  // Calls done(null) once the item's details are in, or done(file) when its data file failed to load.
  function withDetails(it, done) {
    if (it.__st) return done(null);
    var n = chunkOf(it.__i);
    if (loading[n] === true) return done(chunkFile(n));
    if (loading[n]) return void loading[n].push(done);
    loading[n] = [done];
    var script = document.createElement("script");
    script.src = encodeURIComponent(data.dir) + "/chunk-" + String(n + 1).padStart(4, "0") + ".js";
    var fail = function () {
      var waiting = loading[n];
      if (waiting === true) return;
      loading[n] = true; // not asked for again: a missing file stays missing until the page reloads
      waiting.forEach(function (cb) { cb(chunkFile(n)); });
    };
    script.onerror = fail;
    script.onload = fail; // after promptcheckChunk ran, a no-op; else the file held nothing for this run
    document.head.appendChild(script);
  }

  function toggle(row, it, open) {
    var sum = row.firstChild;
    var det = row.__det;
    if (open === undefined) open = !det || det.hidden;
    if (open && !det) {
      var waiting = det = row.__det = el("div", "det", "Loading…");
      row.appendChild(det);
      withDetails(it, function (failed) {
        var full = failed === null ? details(it)
          : el("div", "det warn", "This item's details are in " + failed + ", which could not be loaded: keep the folder " + data.dir + " beside this page.");
        full.hidden = waiting.hidden;
        row.replaceChild(full, waiting);
        row.__det = full;
      });
    }
    if (det) det.hidden = !open;
    sum.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function rowFor(it) {
    var row = el("div", "row cat-row-" + it.c);
    row.setAttribute("data-key", it.k);
    row.setAttribute("data-category", it.c);
    var sum = el("button", "sum");
    sum.type = "button";
    sum.setAttribute("aria-expanded", "false");
    sum.appendChild(el("span", "badge cat-" + it.c, it.c.replace("_", " ")));
    sum.appendChild(el("span", "badge st-" + (it.s || "none"), it.s || "—"));
    // Long names are cut to fit the row; the tooltip (and the details' "key" line) has them whole.
    var name = sum.appendChild(el("span", "name mono", (it.n || it.pp || "") + " › " + (it.case || it.k)));
    name.title = it.k;
    sum.appendChild(el("span", "model", it.m || "")).title = it.m || "";
    var why = el("span", "why", it.why);
    if (it.sp) why.insertBefore(strip(it.sp.length > 20 ? it.sp.slice(0, 20) : it.sp), why.firstChild);
    if (it.fl) why.insertBefore(el("span", "badge flaky", "flaky"), why.firstChild);
    sum.appendChild(why);
    sum.appendChild(el("span", "num", num(it.sc, 2)));
    sum.addEventListener("click", function () { toggle(row, it); });
    row.appendChild(sum);
    if (state.expandAll) toggle(row, it, true);
    return row;
  }

  function render() {
    var shown = [];
    var total = 0;
    for (var i = 0; i < items.length; i++) {
      if (!matches(items[i])) continue;
      total++;
      if (shown.length < state.shown) shown.push(items[i]);
    }
    var frag = document.createDocumentFragment();
    shown.forEach(function (it) { frag.appendChild(rowFor(it)); });
    list.textContent = "";
    list.appendChild(frag);
    document.getElementById("list-head").hidden = total === 0;
    status.textContent = total === 0 ? "No items match." : "Showing " + shown.length + " of " + total + " item" + (total === 1 ? "" : "s") + ".";
    more.hidden = shown.length >= total;
    more.textContent = "Show " + Math.min(PAGE, total - shown.length) + " more";
    document.querySelectorAll("button.filter").forEach(function (b) {
      b.classList.toggle("active", b.getAttribute("data-filter") === state.filter);
    });
    var scope = document.getElementById("scope");
    scope.hidden = !(state.prompt || state.model);
    document.getElementById("scope-text").textContent = [state.prompt, state.model].filter(Boolean).join(" · ");
  }

  function readHash() {
    var params = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      if (!part) return;
      var at = part.indexOf("=");
      var name = at < 0 ? part : part.slice(0, at);
      try { params[name] = at < 0 ? "" : decodeURIComponent(part.slice(at + 1)); } catch (e) { params[name] = ""; }
    });
    return params;
  }

  function applyHash() {
    var p = readHash();
    state.filter = { regressions: 1, failing: 1, changed: 1, all: 1 }[p.filter] ? p.filter : "all";
    state.q = (p.q || "").toLowerCase();
    state.prompt = p.prompt || "";
    state.model = p.model || "";
    state.expandAll = p.expand === "all";
    state.shown = PAGE;
    search.value = p.q || "";
    render();
    return p;
  }

  function writeHash() {
    var parts = [];
    if (state.filter !== "all") parts.push("filter=" + state.filter);
    if (state.q) parts.push("q=" + encodeURIComponent(state.q));
    if (state.prompt) parts.push("prompt=" + encodeURIComponent(state.prompt));
    if (state.model) parts.push("model=" + encodeURIComponent(state.model));
    if (state.expandAll) parts.push("expand=all");
    try { history.replaceState(null, "", "#" + parts.join("&")); } catch (e) { /* some file:// setups forbid it */ }
  }

  function update(change) {
    for (var name in change) state[name] = change[name];
    state.shown = PAGE;
    writeHash();
    render();
  }

  document.querySelectorAll("button.filter").forEach(function (b) {
    b.addEventListener("click", function () { update({ filter: b.getAttribute("data-filter") }); });
  });
  var timer = null;
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { update({ q: search.value.trim().toLowerCase() }); }, 150);
  });
  document.querySelectorAll("td.cell[data-prompt]").forEach(function (td) {
    td.addEventListener("click", function () {
      update({ filter: "all", prompt: td.getAttribute("data-prompt"), model: td.getAttribute("data-model") });
      list.scrollIntoView();
    });
  });
  document.getElementById("scope-clear").addEventListener("click", function () { update({ prompt: "", model: "" }); });
  document.getElementById("expand-all").addEventListener("click", function () { update({ expandAll: !state.expandAll }); });
  more.addEventListener("click", function () { state.shown += PAGE; render(); });
  window.addEventListener("hashchange", applyHash);

  var params = applyHash();
  if ("bench" in params) {
    // For bench/bench_report.py: timings land in the DOM, where --dump-dom can read them. The paint
    // entries may only exist after this script, so the result is rewritten whenever one arrives.
    // Filter and search are timed as a click and a typed query run them (less the typing pause),
    // then opening the first item of the last data file, which has to be loaded first.
    var rendered = performance.now();
    var out = { rendered_ms: rendered, items: items.length };
    var timed = function (name, change) {
      var started = performance.now();
      update(change);
      out[name] = performance.now() - started;
    };
    timed("filter_ms", { filter: "regressions" });
    timed("search_ms", { filter: "all", q: "as an ai" });
    timed("search_again_ms", { q: "case-1[" });
    timed("clear_ms", { filter: "all", q: "" });
    var report = function () {
      performance.getEntriesByType("paint").forEach(function (e) { out[e.name] = e.startTime; });
      var nav = performance.getEntriesByType("navigation")[0];
      if (nav) out.dom_content_loaded_ms = nav.domContentLoadedEventEnd;
      var pre = document.getElementById("bench-result");
      pre.textContent = JSON.stringify(out);
      pre.hidden = false;
    };
    if (data.chunks.length) {
      var last = items[data.chunks[data.chunks.length - 1]], opening = performance.now();
      withDetails(last, function (failed) {
        details(last);
        out.expand_last_chunk_ms = failed === null ? performance.now() - opening : "failed";
        report();
      });
    }
    if (window.PerformanceObserver) new PerformanceObserver(report).observe({ type: "paint", buffered: true });
    report();
  }
})();
