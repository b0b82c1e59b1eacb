// End-to-end test of `semcode doctor`: a store built through the HTTP API with
// vectors chosen so that every number of the report is known in advance (a
// zero vector, an exact duplicate, norms of 0 to 3, dot-product neighbours),
// then the JSON report checked number by number, the human report's warnings,
// and the bad arguments. Starts its own `semcode serve` to write the store and
// stops it before the doctor opens the store. Run: node --test tests/e2e/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');

function run(args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 60000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// Create collection `c` (dimension 3, dot product) in a new store and upsert the points.
async function makeStore(points) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-doctor-'));
  const store = path.join(dir, 'store');
  const portFile = path.join(dir, 'port');
  const srv = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', '0', '--port-file', portFile, '--store', store,
    '--log', path.join(dir, 'log')], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()); i++)
      await new Promise((ok) => setTimeout(ok, 100));
    const url = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}/collections/c`;
    const call = async (method, u, body) => {
      const res = await fetch(u, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 200, `${method} ${u}: ${await res.text()}`);
    };
    await call('PUT', url, { vectors: { size: 3, distance: 'Dot' } });
    await call('PUT', `${url}/points?wait=true`, { points });
  } finally {
    const exited = new Promise((ok) => srv.on('exit', ok));
    srv.kill('SIGTERM');
    await exited;
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
  let r = run(['doctor', '--collection', 'c']);
  assert.equal(r.code, 2);
  assert.match(r.err, /usage: semcode doctor/);
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
