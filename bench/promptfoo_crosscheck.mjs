// Node half of bench/promptfoo_crosscheck.py: asks the real promptfoo for its verdict on
// each row. Usage: node promptfoo_crosscheck.mjs <promptfoo install dir> <rows.json> <out.json>
//
// Rows are {id, kind, ...}:
//   kind "assert":    {asserts, answer, vars, threshold?, latencyMs?, cost?} -> runAssertions()
//   kind "shorthand": {text, answer} -> a CSV `__expected` cell read by promptfoo's own
//                     evaluate(), since its CSV parser (assertionFromString) is not exported.
// Output: {id: {pass, score, reason, parsed?} | {error}}, written to a file because promptfoo
// logs to stdout.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [installDir, rowsPath, outPath] = process.argv.slice(2);
const entry = path.join(installDir, 'node_modules', 'promptfoo', 'dist', 'src', 'index.js');
const pf = await import(pathToFileURL(entry).href);

// Any grading request means a row needs an LLM: fail it loudly instead of reaching a network.
const noGrader = {
  id: () => 'crosscheck-no-grader',
  callApi: async () => { throw new Error('crosscheck: a grading provider was requested (model-graded type)'); },
};

const rows = JSON.parse(fs.readFileSync(rowsPath, 'utf8'));
const out = {};

for (const row of rows.filter((r) => r.kind === 'assert')) {
  try {
    const test = { vars: row.vars, assert: row.asserts, options: { provider: noGrader } };
    if (row.threshold !== null && row.threshold !== undefined) test.threshold = row.threshold;
    const result = await pf.assertions.runAssertions({
      prompt: 'crosscheck',
      latencyMs: row.latencyMs ?? undefined,
      providerResponse: { output: row.answer, ...(row.cost != null ? { cost: row.cost } : {}) },
      test,
    });
    // The test-level reason is often just "All assertions passed"; the component's is the useful one.
    const reasons = (result.componentResults || []).map((c) => c.reason).filter(Boolean);
    out[row.id] = { pass: result.pass, score: result.score, reason: reasons.join(' | ') || result.reason };
  } catch (err) {
    out[row.id] = { error: String(err && err.message ? err.message : err) };
  }
}

const shorthand = rows.filter((r) => r.kind === 'shorthand');
if (shorthand.length) {
  // One CSV, one evaluate(): the echo provider is never called because every row carries
  // __providerOutput, and writeLatestResults:false keeps the eval out of the database.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-shorthand-'));
  const csvCell = (s) => `"${String(s).replaceAll('"', '""')}"`;
  const csv = ['__expected,__providerOutput,__description']
    .concat(shorthand.map((r) => [r.text, r.answer, r.id].map(csvCell).join(',')))
    .join('\n');
  const csvPath = path.join(dir, 'tests.csv');
  fs.writeFileSync(csvPath, csv + '\n');
  try {
    const record = await pf.evaluate(
      { prompts: ['crosscheck'], providers: ['echo'], tests: `file://${csvPath}`, writeLatestResults: false },
      { maxConcurrency: 1, showProgressBar: false },
    );
    const summary = await record.toEvaluateSummary();
    for (const r of summary.results) {
      const g = r.gradingResult || {};
      const reasons = (g.componentResults || []).map((c) => c.reason).filter(Boolean);
      out[r.testCase.description] = {
        pass: r.success, score: r.score, reason: reasons.join(' | ') || g.reason || r.error || '',
        parsed: r.testCase.assert,
      };
    }
  } catch (err) {
    for (const r of shorthand) out[r.id] = { error: String(err && err.message ? err.message : err) };
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

fs.writeFileSync(outPath, JSON.stringify(out));
