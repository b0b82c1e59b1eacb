// End-to-end test of background indexing (issue 18) against a server of its
// own on a temporary store: an upserted batch is acknowledged before the
// HNSW graph has it, the collection is yellow with indexed_vectors_count
// behind points_count while the graph catches up, a query right after the
// last acknowledgement finds every point it asks for (the flat tail is
// scored exactly), and a server killed with SIGKILL during the catch-up
// restarts with every acknowledged point, resumes and turns green.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, sleep, stop } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const built = path.resolve(here, '../..', process.env.SEMCODE_BIN || 'build/semcode');
let bin; // a copy in tmp: no built-in model next to it, so the servers start fast (also under sanitizers)
const C = 'bgindex_e2e';
const N = 6000, DIM = 32, BATCH = 500;
let tmp, srv;

let seed = 0x9e3779b9;
function rnd() { // xorshift, so failures reproduce
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296 * 2 - 1;
}
const vectors = Array.from({ length: N }, () => Array.from({ length: DIM }, () => Math.round(rnd() * 1e4) / 1e4));

const start = (name, store) => serve(bin, tmp, name, store, null, { SEMCODE_MODEL: '' });

async function call(method, p, body) {
  const res = await fetch(srv.url + p, { method, headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json.result;
}
const info = () => call('GET', `/collections/${C}`);

// Each sampled point's own vector must return it first.
async function expectSelf(ids) {
  for (const id of ids) {
    const r = await call('POST', `/collections/${C}/points/query`, { query: vectors[id], limit: 3 });
    assert.equal(r.points[0].id, id, `point ${id}: top hit ${r.points[0].id}`);
  }
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-bgindex-'));
  bin = path.join(tmp, 'semcode');
  fs.copyFileSync(built, bin);
  fs.chmodSync(bin, 0o755);
  srv = await start('bg', path.join(tmp, 'store'));
});

after(async () => {
  if (srv) await stop(srv);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('writes are searchable at once, the collection is yellow until the graph has them, kill -9 loses nothing', async () => {
  await call('PUT', `/collections/${C}`, { vectors: { size: DIM, distance: 'Euclid' }, hnsw_config: { full_scan_threshold: 10 },
    optimizers_config: { indexing_threshold: 100 } });
  for (let s = 0; s < N; s += BATCH) {
    const ids = [], vs = [];
    for (let i = s; i < s + BATCH; i++) { ids.push(i); vs.push(vectors[i]); }
    await call('PUT', `/collections/${C}/points?wait=true`, { batch: { ids, vectors: vs } });
  }
  let r = await info();
  assert.equal(r.points_count, N);
  assert.equal(r.optimizer_status, 'ok');
  // yellow exactly while vectors wait for the graph
  assert.equal(r.status, r.indexed_vectors_count < N ? 'yellow' : 'green');
  let seenYellow = r.status === 'yellow';
  await expectSelf([N - 1, N - 7, N - BATCH, 17, 2999]);

  // SIGKILL during the catch-up (the indexer starts 50 ms after the last write)
  await sleep(100);
  r = await info();
  const code = await stop(srv, 'SIGKILL');
  assert.equal(code, null);
  const t0 = Date.now();
  srv = await start('bg2', path.join(tmp, 'store'));
  const openMs = Date.now() - t0;
  r = await info();
  assert.equal(r.points_count, N);
  assert.ok(openMs < 30000, `restart took ${openMs} ms`); // no re-link at open (bench/bgindex.sh times it)
  await expectSelf([0, 1, N - 1, N - 2, 1234, 4321]);
  seenYellow ||= r.status === 'yellow';
  for (let i = 0; i < 1200 && r.status !== 'green'; i++) {
    await sleep(50);
    r = await info();
    seenYellow ||= r.status === 'yellow';
    assert.ok(r.status === 'yellow' || r.status === 'green', r.status);
  }
  assert.equal(r.status, 'green');
  assert.equal(r.indexed_vectors_count, N);
  await expectSelf([5, 55, 555, 5555]);
  // graph results after the catch-up agree with exact search on the top hit
  const q = vectors[42].map((x) => x + 0.001);
  const a = await call('POST', `/collections/${C}/points/query`, { query: q, limit: 5 });
  const e = await call('POST', `/collections/${C}/points/query`, { query: q, limit: 5, params: { exact: true } });
  assert.equal(a.points[0].id, e.points[0].id);
  assert.ok(seenYellow, 'the collection was never yellow');
});

test('semcode load: JSON Lines from a file or standard input, the graph caught up at the end; a bad line is named', async () => {
  const store = path.join(tmp, 'loaded');
  const n = 11000; // over the default indexing threshold (10,000): a graph is built
  const lines = [];
  for (let i = 0; i < n; i++)
    lines.push(JSON.stringify({ id: i, vector: vectors[i % N].slice(0, 8).map((x, k) => x + (k === 0 ? i / n : 0)),
      payload: { g: i % 3 } }));
  const file = path.join(tmp, 'points.jsonl');
  fs.writeFileSync(file, lines.slice(0, 6000).join('\n') + '\n\n');
  let r = spawnSync(bin, ['load', '--store', store, '--collection', 'l', '--create', '8', '--distance', 'Euclid', file],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /6000 points in/);
  r = spawnSync(bin, ['load', '--store', store, '--collection', 'l', '--batch', '1000', '-'],
    { input: lines.slice(6000).join('\n') + '\n', encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /graph caught up/);
  r = spawnSync(bin, ['load', '--store', store, '--collection', 'l', '-'],
    { input: `${lines[0]}\n{"id": 1, "vector": "x"}\n`, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /line 2: "vector" must be an array of numbers/);
  const s2 = await start('loaded', store);
  try {
    const res = await (await fetch(`${s2.url}/collections/l`)).json();
    assert.equal(res.result.points_count, n);
    assert.equal(res.result.status, 'green');
    assert.equal(res.result.indexed_vectors_count, n);
  } finally {
    await stop(s2);
  }
});
