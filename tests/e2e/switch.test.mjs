// End-to-end test of switching an index to another model (issue 19,
// src/repo/switch.c) through the real binary: an index of the built-in
// model is switched by `semcode index --model` to a tiny model of another
// dimension trained here; the summary says it switched, stats report the
// new model and no pending switch, store.db gave the old vectors' room back
// (the compaction after the reclaim), dense search works with it, a search
// given the old model is refused with what to do, and `--model builtin`
// switches back to the shipped model.
// Run: node --test tests/e2e/switch.test.mjs (needs no server of run.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSync, runOk } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');
const fixture = path.join(top, 'tests/fixtures/repo');
const builtin = path.join(top, 'models/builtin.scm');

const run = (args, opts) => runSync(bin, args, opts);
const ok = (args, opts) => runOk(bin, args, opts);

test('index --model switches an index to a model of another dimension', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-switch-'));
  const repo = path.join(dir, 'repo');
  fs.cpSync(fixture, repo, { recursive: true });
  const pairs = path.join(dir, 'pairs.jsonl');
  const tiny = path.join(dir, 'tiny.scm');
  ok(['pairs', `--output=${pairs}`, fixture]);
  ok(['train', `--pairs=${pairs}`, `--out=${tiny}`, '--dim=16', '--epochs=1', '--batch=4', '--vocab=500',
    '--min-count=1', '--buckets=100', '--threads=1', '--seed=7']);

  ok(['index', repo, '--model', builtin, '--json']);
  const before = JSON.parse(ok(['stats', '--json'], { cwd: repo }).out);
  const storeDb = path.join(repo, '.semcode/store/store.db');
  const bytesBefore = fs.statSync(storeDb).size;
  assert.equal(before.switch, undefined);

  const sum = JSON.parse(ok(['index', repo, '--model', tiny, '--json']).out);
  assert.equal(sum.ok, true);
  assert.equal(sum.switch.switched, true);
  assert.equal(sum.switch.embedded, before.entities);
  assert.equal(sum.switch.pending, 0);
  assert.equal(sum.entities.added + sum.entities.updated + sum.entities.removed, 0);

  const after = JSON.parse(ok(['stats', '--json'], { cwd: repo }).out);
  assert.equal(after.model.dim, 16);
  // 256 floats a point became 16: without the compaction the file would have grown (both generations)
  const bytesAfter = fs.statSync(storeDb).size;
  assert.ok(bytesAfter < bytesBefore, `store.db: ${bytesBefore} bytes before, ${bytesAfter} after`);
  assert.ok(!fs.existsSync(storeDb + '.compact') && !fs.existsSync(storeDb + '.old'));
  assert.notEqual(after.model.id, before.model.id);
  assert.equal(after.switch, undefined);
  assert.equal(after.index_format, 3);
  assert.equal(after.entities, before.entities);
  assert.equal(after.embeddings.wrong_dimension, 0);
  const text = ok(['stats'], { cwd: repo }).out;
  assert.doesNotMatch(text, /switching/);

  const res = JSON.parse(ok(['search', 'parse a config file', '--mode', 'dense', '--json'], { cwd: repo }).out);
  assert.ok(res.results.length > 0);
  const refused = run(['search', 'parse a config file', '--model', builtin], { cwd: repo });
  assert.equal(refused.code, 1);
  assert.match(refused.err, /was built with builtin:[0-9a-f]+ .*run 'semcode index' with the new one to switch/);

  // a second run has nothing to switch and embeds nothing
  const again = JSON.parse(ok(['index', repo, '--json']).out);
  assert.equal(again.switch, undefined);
  assert.equal(again.embeddings.new, 0);

  // `--model builtin` names the shipped model: back to it, and the file back to its size
  const back = JSON.parse(ok(['index', repo, '--model', 'builtin', '--json']).out);
  assert.equal(back.switch.switched, true);
  const last = JSON.parse(ok(['stats', '--json'], { cwd: repo }).out);
  assert.equal(last.model.id, before.model.id);
  assert.ok(fs.statSync(storeDb).size <= bytesBefore + 16384);
  fs.rmSync(dir, { recursive: true, force: true });
});
