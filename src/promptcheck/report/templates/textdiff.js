// promptcheck report: the answer diffs, computed in the browser when an item is opened, so a
// 100,000-item report costs nothing up front. They mirror promptcheck.compare: word diff over
// word/whitespace/punctuation tokens, structural JSON diff when both answers are JSON (also inside
// one Markdown code fence). report.js uses wordDiff, parseJson and jsonDiff.
var promptcheckDiff = (function () {
  "use strict";
  var MAX_EDITS = 1000; // beyond this many token edits a word diff is noise: show both sides whole
  var TOKEN = /\s+|[\p{L}\p{M}\p{N}_]+|[^\s\p{L}\p{M}\p{N}_]/gu;
  var FENCE = /^```[\w-]*\s*\n([\s\S]*)\n```\s*$/;
  var own = Object.prototype.hasOwnProperty;

  // Myers' O(ND) diff over tokens; returns merged [op, text] runs (-1 baseline, 0 both, 1 current).
  function wordDiff(before, after) {
    var a = before.match(TOKEN) || [], b = after.match(TOKEN) || [];
    var pre = 0, suf = 0;
    while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
    while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
    var middle = merge(myers(a.slice(pre, a.length - suf), b.slice(pre, b.length - suf)));
    var ops = [[0, a.slice(0, pre).join("")]];
    middle.forEach(function (op, i) {
      // A bare space between two changes reads better as part of them (as difflib's diff does).
      if (op[0] === 0 && i > 0 && i < middle.length - 1 && /^\s+$/.test(op[1])) ops.push([-1, op[1]], [1, op[1]]);
      else ops.push(op);
    });
    ops.push([0, a.slice(a.length - suf).join("")]);
    return merge(ops);
  }

  function merge(ops) {
    var out = [];
    ops.forEach(function (op) {
      if (!op[1]) return;
      var last = out[out.length - 1];
      if (last && last[0] === op[0]) last[1] += op[1]; else out.push([op[0], op[1]]);
    });
    return out;
  }

  function myers(a, b) {
    var n = a.length, m = b.length, max = Math.min(n + m, MAX_EDITS), off = max + 1;
    var v = new Int32Array(2 * max + 3), trace = [];
    for (var d = 0; d <= max; d++) {
      trace.push(v.slice());
      for (var k = -d; k <= d; k += 2) {
        var x = (k === -d || (k !== d && v[off + k - 1] < v[off + k + 1])) ? v[off + k + 1] : v[off + k - 1] + 1;
        var y = x - k;
        while (x < n && y < m && a[x] === b[y]) { x++; y++; }
        v[off + k] = x;
        if (x >= n && y >= m) return backtrack(trace, a, b, off);
      }
    }
    return [[-1, a.join("")], [1, b.join("")]];
  }

  function backtrack(trace, a, b, off) {
    var x = a.length, y = b.length, out = [];
    for (var d = trace.length - 1; d > 0; d--) {
      var v = trace[d], k = x - y;
      var prevK = (k === -d || (k !== d && v[off + k - 1] < v[off + k + 1])) ? k + 1 : k - 1;
      var prevX = v[off + prevK], prevY = prevX - prevK;
      while (x > prevX && y > prevY) out.push([0, a[--x]]), y--;
      if (x === prevX) out.push([1, b[--y]]); else out.push([-1, a[--x]]);
    }
    while (x > 0) out.push([0, a[--x]]);
    return out.reverse();
  }

  function parseJson(text) {
    var t = (text || "").trim(), fenced = FENCE.exec(t);
    if (fenced) t = fenced[1].trim();
    if (t[0] !== "{" && t[0] !== "[") return undefined;
    try { return JSON.parse(t); } catch (e) { return undefined; }
  }

  function jsonKind(value) {
    return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  }

  // Paths are written like deepdiff's (root['key'][0]) so page and CLI read alike.
  function jsonDiff(a, b, path, out) {
    var ka = jsonKind(a), kb = jsonKind(b);
    if (ka !== kb) out.push([path, "type_changed", a, b]);
    else if (ka === "object") {
      Object.keys(a).forEach(function (key) {
        var p = path + "[" + JSON.stringify(key).replace(/^"|"$/g, "'") + "]";
        if (own.call(b, key)) jsonDiff(a[key], b[key], p, out); else out.push([p, "removed", a[key], undefined]);
      });
      Object.keys(b).forEach(function (key) {
        if (!own.call(a, key)) out.push([path + "[" + JSON.stringify(key).replace(/^"|"$/g, "'") + "]", "added", undefined, b[key]]);
      });
    } else if (ka === "array") {
      for (var i = 0; i < Math.max(a.length, b.length); i++) {
        if (i >= b.length) out.push([path + "[" + i + "]", "removed", a[i], undefined]);
        else if (i >= a.length) out.push([path + "[" + i + "]", "added", undefined, b[i]]);
        else jsonDiff(a[i], b[i], path + "[" + i + "]", out);
      }
    } else if (a !== b) out.push([path, "changed", a, b]);
    return out;
  }

  return { wordDiff: wordDiff, parseJson: parseJson, jsonDiff: jsonDiff };
})();
