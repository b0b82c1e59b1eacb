// Snapshots end to end (issue 20): a real `semcode serve` on its own store
// takes a collection snapshot while writers are in flight; the snapshot,
// uploaded back (multipart) and recovered from its file:// location, must
// hold every batch acknowledged before the snapshot request was sent, no
// batch sent after it answered, and never part of a batch. Then: checksum,
// corrupt and truncated uploads (clear 400, target unchanged), path checks,
// and `semcode snapshot create|list|restore` on a store that is not served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve as serveIn, stop } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');
const DIM = 8;
const BATCH = 40;
let tmp, srv, store;

async function api(method, p, body, headers = {}) {
  const isForm = body instanceof FormData;
  const res = await fetch(srv.url + p, { method, headers: isForm ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : isForm || typeof body === 'string' ? body : JSON.stringify(body) });
  const buf = Buffer.from(await res.arrayBuffer());
  let json = null;
  try { json = JSON.parse(buf.toString('utf8')); } catch { /* a download */ }
  return { status: res.status, json, buf, result: json && json.result, error: json && json.status && json.status.error };
}

const vec = (id) => Array.from({ length: DIM }, (_, k) => Math.sin(id * 0.37 + k) + 1.5);

// Upsert one batch of BATCH new points (ids from first), tagged with writer and batch number.
async function batch(coll, first, w, b) {
  const points = [];
  for (let i = 0; i < BATCH; i++) points.push({ id: first + i, vector: vec(first + i), payload: { w, b } });
  const r = await api('PUT', `/collections/${coll}/points?wait=true`, { points });
  assert.equal(r.status, 200, JSON.stringify(r.json));
}

async function allPoints(coll) {
  const out = [];
  let offset = null;
  do {
    const r = await api('POST', `/collections/${coll}/points/scroll`, { limit: 5000, offset, with_payload: true, with_vector: true });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    out.push(...r.result.points);
    offset = r.result.next_page_offset;
  } while (offset !== null && offset !== undefined);
  return out;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-snap-'));
  store = path.join(tmp, 'store');
  srv = await serveIn(bin, tmp, 'snap', store, null);
});

after(async () => {
  if (srv) assert.equal(await stop(srv), 0);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a snapshot under concurrent writes restores every acknowledged batch and no partial one', async () => {
  let r = await api('PUT', '/collections/load', { vectors: { size: DIM, distance: 'Cosine' },
    hnsw_config: { full_scan_threshold: 10 }, optimizers_config: { indexing_threshold: 100 } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  for (let b = 0; b < 10; b++) await batch('load', 1_000_000 + b * BATCH, 9, b); // before any snapshot
  const log = []; // {w, b, sent, acked}
  let stopAt = Infinity;
  const writer = async (w) => {
    for (let b = 0; performance.now() < stopAt; b++) {
      const e = { w, b, sent: performance.now(), acked: null };
      log.push(e);
      await batch('load', w * 100_000 + b * BATCH, w, b);
      e.acked = performance.now();
    }
  };
  stopAt = performance.now() + 60_000;
  const writers = [0, 1, 2, 3].map(writer);
  await new Promise((ok) => setTimeout(ok, 300));
  const snapSent = performance.now();
  const snap = await api('POST', '/collections/load/snapshots?wait=true');
  const snapDone = performance.now();
  stopAt = performance.now() + 200; // a little more traffic after the snapshot, then stop
  await Promise.all(writers);
  assert.equal(snap.status, 200, JSON.stringify(snap.json));
  const { name, checksum, size } = snap.result;
  assert.match(name, /\.snapshot$/);
  assert.ok(log.some((e) => e.acked < snapSent), 'some batches were acknowledged before the snapshot');
  assert.ok(log.some((e) => e.sent > snapDone), 'some batches were sent after the snapshot');

  // listed, downloadable, its checksum is the SHA-256 of the bytes
  r = await api('GET', '/collections/load/snapshots');
  assert.deepEqual(r.result.map((s) => s.name), [name]);
  const dl = await api('GET', `/collections/load/snapshots/${name}`);
  assert.equal(dl.status, 200);
  assert.equal(dl.buf.length, size);
  assert.equal(crypto.createHash('sha256').update(dl.buf).digest('hex'), checksum);

  // restored through an upload (multipart, as Qdrant's clients send it)
  const form = new FormData();
  form.append('snapshot', new Blob([dl.buf]), name);
  r = await api('POST', `/collections/restored/snapshots/upload?checksum=${checksum}`, form);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const pts = await allPoints('restored');
  const byBatch = new Map();
  for (const p of pts) {
    const k = `${p.payload.w}/${p.payload.b}`;
    byBatch.set(k, (byBatch.get(k) || 0) + 1);
    const v = vec(p.id), n = Math.hypot(...v);
    assert.ok(v.every((x, k) => Math.abs(x / n - p.vector[k]) < 1e-5), `vector of point ${p.id}`);
  }
  for (const [k, n] of byBatch) assert.equal(n, BATCH, `batch ${k} is partial in the snapshot (${n} of ${BATCH})`);
  for (let b = 0; b < 10; b++) assert.ok(byBatch.has(`9/${b}`), `preloaded batch ${b} is missing`);
  for (const e of log) {
    if (e.acked !== null && e.acked < snapSent) assert.ok(byBatch.has(`${e.w}/${e.b}`), `acknowledged batch ${e.w}/${e.b} missing`);
    if (e.sent > snapDone) assert.ok(!byBatch.has(`${e.w}/${e.b}`), `batch ${e.w}/${e.b} sent after the snapshot is in it`);
  }
  // searchable, with the same results as the snapshot's own data searched exactly
  const q = vec(1_000_003);
  const a = await api('POST', '/collections/restored/points/search', { vector: q, limit: 5, params: { exact: true } });
  const g = await api('POST', '/collections/restored/points/search', { vector: q, limit: 5 });
  assert.deepEqual(g.result.map((x) => x.id), a.result.map((x) => x.id));

  // recovered again from its file:// location in the snapshots folder
  const loc = path.join(store, 'snapshots', 'load', name);
  r = await api('PUT', '/collections/again/snapshots/recover', { location: `file://${loc}`, checksum });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  r = await api('POST', '/collections/again/points/count', { exact: true });
  assert.equal(r.result.count, pts.length);

  // deleted
  r = await api('DELETE', `/collections/load/snapshots/${name}`);
  assert.equal(r.status, 200);
  assert.deepEqual((await api('GET', '/collections/load/snapshots')).result, []);
});

test('damaged, truncated or mismatched snapshots are refused and change nothing', async () => {
  let r = await api('POST', '/collections/again/snapshots');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const dl = await api('GET', `/collections/again/snapshots/${r.result.name}`);
  const before = (await api('POST', '/collections/again/points/count', { exact: true })).result.count;
  const upload = async (bytes, q = '') => {
    const form = new FormData();
    form.append('snapshot', new Blob([bytes]), 'x.snapshot');
    return api('POST', `/collections/again/snapshots/upload${q}`, form);
  };
  const bad = Buffer.from(dl.buf);
  bad[Math.floor(bad.length / 2)] ^= 0x40;
  r = await upload(bad);
  assert.equal(r.status, 400);
  assert.match(r.error, /corrupt at byte \d+: record checksum mismatch/);
  r = await upload(dl.buf.subarray(0, dl.buf.length - 100));
  assert.equal(r.status, 400);
  assert.match(r.error, /truncated/);
  r = await upload(Buffer.from('not a snapshot at all'));
  assert.equal(r.status, 400);
  assert.match(r.error, /not a semcode snapshot/);
  r = await upload(dl.buf, `?checksum=${'3'.repeat(64)}`);
  assert.equal(r.status, 400);
  assert.match(r.error, /checksum mismatch/);
  assert.equal((await api('POST', '/collections/again/points/count', { exact: true })).result.count, before);
});

test('snapshot names and recover locations cannot leave the snapshots folder', async () => {
  for (const n of ['..%2F..%2Fstore.db', '.upload-x', 'x.snapshot'])
    assert.equal((await api('GET', `/collections/again/snapshots/${n}`)).status, 404, n);
  let r = await api('PUT', '/collections/x/snapshots/recover', { location: 'file:///etc/passwd' });
  assert.equal(r.status, 403);
  r = await api('PUT', '/collections/x/snapshots/recover', { location: `file://${path.join(store, 'store.db')}` });
  assert.equal(r.status, 403);
  r = await api('PUT', '/collections/x/snapshots/recover', { location: 'file://relative.snapshot' });
  assert.equal(r.status, 400);
  r = await api('PUT', '/collections/x/snapshots/recover', { location: 'ftp://host/a.snapshot' });
  assert.equal(r.status, 400);
  r = await api('PUT', '/collections/x/snapshots/recover', { location: `http://127.0.0.1:1/none.snapshot` });
  assert.equal(r.status, 400);
  assert.match(r.error, /cannot download/);
  assert.equal((await api('GET', '/collections/x')).status, 404);
});

test('semcode snapshot create, list and restore on a store that is not served', () => {
  const run = (...args) => spawnSync(bin, args, { cwd: tmp, encoding: 'utf8' });
  const st = path.join(tmp, 'cli-store');
  let r = run('store-demo', '--store', st, '--points', '3000', '--dim', '16');
  assert.equal(r.status, 0, r.stderr);
  r = run('snapshot', 'create', 'demo', '--store', st);
  assert.equal(r.status, 0, r.stderr);
  r = run('snapshot', 'list', 'demo', '--store', st, '--json');
  assert.equal(r.status, 0, r.stderr);
  const [entry] = JSON.parse(r.stdout);
  assert.match(entry.checksum, /^[0-9a-f]{64}$/);
  const file = path.join(st, 'snapshots', 'demo', entry.name);
  assert.equal(crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'), entry.checksum);
  r = run('snapshot', 'restore', file, '--store', path.join(tmp, 'cli-other'), '--collection', 'copy');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /restored 3000 points/);
  const bad = fs.readFileSync(file);
  bad[bad.length - 30] ^= 1;
  fs.writeFileSync(path.join(tmp, 'bad.snapshot'), bad);
  r = run('snapshot', 'restore', path.join(tmp, 'bad.snapshot'), '--store', path.join(tmp, 'cli-other'), '--collection', 'copy');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /corrupt at byte \d+/);
  r = run('snapshot', 'frobnicate', 'x', '--store', st);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown action 'frobnicate'/);
});

test('semcode export / import: the same results elsewhere without the source tree; a damaged file is refused', () => {
  const run = (...args) => spawnSync(bin, args, { cwd: tmp, encoding: 'utf8' });
  const src = path.join(tmp, 'tree');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'retry.py'), 'def retry_with_backoff(fn, attempts=5):\n    """Call fn again after a failure, waiting longer each time."""\n    for i in range(attempts):\n        try:\n            return fn()\n        except IOError:\n            time.sleep(2 ** i)\n');
  fs.writeFileSync(path.join(src, 'parse.c'), 'int parse_header(const char *line, struct header *h) {\n    /* split "Name: value" into its two parts */\n    const char *colon = strchr(line, \':\');\n    if (!colon) return -1;\n    h->name = strndup(line, colon - line);\n    return 0;\n}\n');
  const git = (...a) => spawnSync('git', ['-C', src, '-c', 'user.email=t@e', '-c', 'user.name=t', ...a], { encoding: 'utf8' });
  git('init', '-q'); git('add', '-A'); git('commit', '-qm', 'tree');
  const head = git('rev-parse', 'HEAD').stdout.trim();
  let r = run('index', src);
  assert.equal(r.status, 0, r.stderr);
  const file = path.join(tmp, 'tree.semcode');
  r = run('export', file, src);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /exported \d+ points/);
  const search = (store) => {
    const s = run('search', '--store', store, '--json', '--limit', '5', 'wait longer after a failure');
    assert.equal(s.status, 0, s.stderr);
    return JSON.parse(s.stdout).results.map(({ snippet, ...rest }) => rest);
  };
  const want = search(path.join(src, '.semcode'));
  fs.renameSync(src, path.join(tmp, 'tree-gone')); // the source tree is no longer there
  const dest = path.join(tmp, 'imported');
  r = run('import', file, '--store', dest);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(search(dest), want);
  // the manifest names the model and the source commit
  const bytes = fs.readFileSync(file);
  const mlen = Number(bytes.readBigUInt64LE(24));
  const manifest = JSON.parse(bytes.subarray(32, 32 + mlen).toString('utf8'));
  assert.equal(manifest.kind, 'export');
  assert.equal(manifest.extra.source_commit, head);
  assert.match(manifest.extra.model_id, /^builtin:/);
  // one byte changed, or the file cut short: refused with the offset, nothing left behind
  const bad = Buffer.from(bytes);
  bad[Math.floor(bad.length * 0.6)] ^= 0x20;
  fs.writeFileSync(path.join(tmp, 'bad.semcode'), bad);
  r = run('import', path.join(tmp, 'bad.semcode'), '--store', path.join(tmp, 'imp-bad'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /corrupt at byte \d+/);
  assert.ok(!fs.existsSync(path.join(tmp, 'imp-bad')));
  fs.writeFileSync(path.join(tmp, 'cut.semcode'), bytes.subarray(0, bytes.length - 9));
  r = run('import', path.join(tmp, 'cut.semcode'), '--store', path.join(tmp, 'imp-cut'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /truncated|corrupt/);
  assert.ok(!fs.existsSync(path.join(tmp, 'imp-cut')));
  r = run('import', file, '--store', dest); // not empty: refused, left alone
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not empty/);
  assert.deepEqual(search(dest), want);
});

test('snapshot uploads and recovers need an admin key (server with keys, from run.sh)', { skip: !process.env.SEMCODE_AUTH_URL }, async () => {
  const url = process.env.SEMCODE_AUTH_URL;
  const up = async (key) => {
    const form = new FormData();
    form.append('snapshot', new Blob([Buffer.alloc(4096, 1)]), 'x.snapshot');
    const headers = key ? { 'api-key': key } : {};
    return (await fetch(`${url}/collections/snapx/snapshots/upload`, { method: 'POST', headers, body: form })).status;
  };
  assert.equal(await up(null), 401);
  assert.equal(await up('read-key-0123456789abcdef'), 403);
  assert.equal(await up('write-key-0123456789abcdef'), 403);
  assert.equal(await up('admin-key-0123456789abcdef'), 400); // spooled, then refused: not a snapshot
  const r = await fetch(`${url}/collections/snapx/snapshots/recover`, { method: 'PUT',
    headers: { 'api-key': 'read-key-0123456789abcdef', 'content-type': 'application/json' }, body: '{"location":"file:///x"}' });
  assert.equal(r.status, 403);
});
