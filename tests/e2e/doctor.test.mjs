// End-to-end test of `semcode doctor`: a store built through the HTTP API with
// vectors chosen so that every number of the report is known in advance (a
// zero vector, an exact duplicate, norms of 0 to 3, dot-product neighbours),
// then the JSON report checked number by number, the human report's warnings,
// and the bad arguments. Starts its own `semcode serve` to write the store and
// stops it before the doctor opens the store. Run: node --test tests/e2e/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSync, serve, stop } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');

const run = (args, opts) => runSync(bin, args, opts);

// Create collection `c` (dimension 3, dot product) in a new store and upsert the points.
async function makeStore(points) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-doctor-'));
  const store = path.join(dir, 'store');
  const srv = await serve(bin, dir, 'serve', store, null);
  try {
    const url = `${srv.url}/collections/c`;
    const call = async (method, u, body) => {
      const res = await fetch(u, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 200, `${method} ${u}: ${await res.text()}`);
    };
    await call('PUT', url, { vectors: { size: 3, distance: 'Dot' } });
    await call('PUT', `${url}/points?wait=true`, { points });
  } finally {
    await stop(srv);
  }
  return { dir, store };
}

const close = (a, b, what) => assert.ok(Math.abs(a - b) < 1e-4, `${what}: ${a}, expected ${b}`);

test('doctor reports exactly what the store holds', async () => {
  // norms 1, 1, 2, 0, 3; ids 1 and 2 are the same vector; id 4 is zero
  const vecs = [[1, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 0], [0, 0, 3]];
  const { dir, store } = await makeStore(vecs.map((v, i) => ({ id: i + 1, vector: v })));
  const r = run(['doctor', '--store', store, '--collection', 'c', '--json']);
  assert.equal(r.code, 0, r.err);
  const d = JSON.parse(r.out);
  assert.equal(d.collection, 'c');
  assert.equal(d.dim, 3);
  assert.equal(d.points, 5);
  assert.equal(d.with_vector, 5);
  assert.equal(d.bad_dim, 0);
  assert.equal(d.non_finite, 0);
  assert.equal(d.zero, 1);
  // norms: mean 7/5, population std sqrt(15/5 - (7/5)^2), min 0, max 3
  close(d.norm.mean, 1.4, 'norm mean');
  close(d.norm.std, Math.sqrt(3 - 1.96), 'norm std');
  close(d.norm.min, 0, 'norm min');
  close(d.norm.max, 3, 'norm max');
  assert.equal(d.exact_duplicates, 1);
  close(d.duplicate_rate, 1 / 5, 'duplicate rate');
  // neighbours of the 4 non-zero vectors by dot product, itself excluded:
  // ids 1 and 2 find each other (1), ids 3 and 5 find only orthogonal ones (0)
  assert.equal(d.nn.sampled, 4);
  close(d.nn.mean, 0.5, 'nn mean');
  close(d.nn.min, 0, 'nn min');
  close(d.nn.p50, 1, 'nn p50');
  close(d.nn.max, 1, 'nn max');
  assert.equal(d.nn.ge_0_99, 2);

  const h = run(['doctor', '--store', store, '--collection', 'c']);
  assert.equal(h.code, 0, h.err);
  assert.match(h.out, /points +5 \(5 with this vector\)/);
  assert.match(h.out, /zero vectors +1/);
  assert.match(h.out, /exact duplicates +1 \(20\.00%\)/);
  assert.match(h.out, /warning: zero vectors/);
  assert.match(h.out, /warning: over 5% exact duplicates/);
  assert.match(h.out, /warning: norms vary though the metric is dot/);
  assert.doesNotMatch(h.out, /wrong dimension \(mixed models/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('doctor on a healthy collection warns about nothing', async () => {
  const vecs = [[1, 0, 0], [0.6, 0.8, 0], [0, 1, 0], [0, 0.8, 0.6], [0, 0, 1]];
  const { dir, store } = await makeStore(vecs.map((v, i) => ({ id: i + 1, vector: v })));
  const h = run(['doctor', '--store', store, '--collection', 'c']);
  assert.equal(h.code, 0, h.err);
  assert.doesNotMatch(h.out, /warning/);
  const d = JSON.parse(run(['doctor', '--store', store, '--collection', 'c', '--json']).out);
  assert.equal(d.zero, 0);
  assert.equal(d.exact_duplicates, 0);
  close(d.norm.std, 0, 'norm std');
  close(d.nn.max, 0.8, 'nn max'); // the closest pairs are at 0.6 / 0.8 mixes: dot 0.8
  fs.rmSync(dir, { recursive: true, force: true });
});

test('doctor: bad arguments and missing things get a message and a non-zero exit', async () => {
  const { dir, store } = await makeStore([{ id: 1, vector: [1, 0, 0] }]);
  let r = run(['doctor', '--collection', 'c'], { cwd: dir, env: { ...process.env, SEMCODE_STORE: '' } });
  assert.equal(r.code, 2);
  assert.match(r.err, /no --store given and no index found from the working folder/);
  r = run(['doctor', '--store', store, '--vector', 'v']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--vector needs --collection/);
  r = run(['doctor', '--store', store, '--collection', 'nope']);
  assert.equal(r.code, 1);
  assert.match(r.err, /semcode doctor: .*nope/);
  r = run(['doctor', '--store', store, '--collection', 'c', '--vector', 'other']);
  assert.equal(r.code, 1);
  assert.match(r.err, /collection 'c' has no vector 'other'/);
  r = run(['doctor', '--store', path.join(dir, 'missing'), '--collection', 'c']);
  assert.equal(r.code, 1);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('doctor without --collection: every named vector of the index, code and each tenant\'s records', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-doctor-idx-'));
  const repo = path.join(dir, 'repo');
  fs.cpSync(path.join(top, 'tests/fixtures/repo'), repo, { recursive: true });
  const env = { ...process.env, SEMCODE_STORE: '' };
  let r = run(['index', repo, '--quiet'], { env });
  assert.equal(r.code, 0, r.err);
  const lines = [
    { id: '1', kind: 'issue', title: 'Payment webhook retried', body: 'The provider resends it' },
    { id: '2', kind: 'issue', title: 'Login broken', body: 'OAuth callback fails' },
    { id: '3', kind: 'doc', body: 'a record without a title has no summary vector' },
  ].map((x) => JSON.stringify(x)).join('\n') + '\n';
  r = run(['ingest', 'jsonl', '-', '--tenant', 'acme', '--quiet'], { cwd: repo, env, input: lines });
  assert.equal(r.code, 0, r.err);
  r = run(['ingest', 'jsonl', '-', '--quiet'], { cwd: repo, env, input: `${JSON.stringify({ id: 'g', title: 'Global doc', body: 'x' })}\n` });
  assert.equal(r.code, 0, r.err);
  r = run(['doctor', '--json', '--sample', '10'], { cwd: repo, env });
  assert.equal(r.code, 0, r.err);
  const d = JSON.parse(r.out);
  assert.equal(d.store, path.join(fs.realpathSync(repo), '.semcode', 'store'));
  const by = Object.fromEntries(d.collections.map((c) => [c.collection, c]));
  assert.deepEqual(Object.keys(by).sort(), ['.acme.records', 'code', 'records']);
  const acme = Object.fromEntries(by['.acme.records'].vectors.map((v) => [v.vector, v]));
  assert.deepEqual(Object.keys(acme), ['content', 'summary', 'metadata']);
  for (const v of Object.values(acme)) {
    assert.equal(v.points, 3, 'the state points (cursor, meta) are not counted');
    assert.equal(v.dim, 256);
    assert.equal(v.non_finite, 0);
    assert.equal(v.zero, 0);
    close(v.norm.mean, 1, `${v.vector} norm`);
    assert.equal(v.models.length, 1);
    assert.match(v.models[0].id, /^builtin:/);
    assert.equal(v.models[0].points, 3);
  }
  assert.equal(acme.content.missing, 0);
  assert.equal(acme.summary.missing, 1);
  assert.equal(acme.summary.with_vector, 2);
  const code = by.code.vectors[0];
  assert.ok(code.points > 10 && code.missing === 0 && code.with_vector === code.points, JSON.stringify(code));
  assert.equal(code.models[0].points, code.points);
  assert.equal(by.records.vectors.length, 3);
  // text: the same, with the warning about the missing summary
  r = run(['doctor', '--sample', '10'], { cwd: repo, env });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /collection \.acme\.records, vector 'summary': dimension 256, Cosine\n {2}points +3 \(2 with this vector\)\n {2}missing vector +1\n {2}models +builtin:\S+ \(3\)/);
  assert.match(r.out, /warning: points without this vector/);
  assert.match(r.out, /collection code, vector 'code'/);
  fs.rmSync(dir, { recursive: true, force: true });
});
