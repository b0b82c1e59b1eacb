// The streaming NDJSON upsert of a real `semcode serve` (issue 18, the bulk
// path): POST /collections/{c}/points/ndjson with a body sent in chunks, one
// point per line. Checks the stored count, that a body over max_body_bytes is
// accepted on this route only, that a bad line answers 400 naming its line
// (the batches before it are kept and counted), and that keys, roles and
// tenants apply as on the normal upsert.
// Run: node --test tests/e2e/ndjson.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, stop } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');

const KEY = { admin: 'ndjson-admin-key-0123456789', write: 'ndjson-write-key-0123456789',
  read: 'ndjson-read-key-01234567890', tenant: 'ndjson-tenant-key-012345678' };
const MAX_BODY = 64 * 1024; // small, so a few thousand points are over it
const DIM = 8;

let tmp, server;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-ndjson-'));
  const cfg = path.join(tmp, 'config.json');
  fs.writeFileSync(cfg, JSON.stringify({ max_body_bytes: MAX_BODY, api_keys: [
    { key: KEY.admin, role: 'admin' }, { key: KEY.write, role: 'write' }, { key: KEY.read, role: 'read' },
    { key: KEY.tenant, role: 'admin', tenant: 't1' }] }));
  server = await serve(bin, tmp, 'ndjson', path.join(tmp, 'store'), cfg);
  for (const key of [KEY.admin, KEY.tenant]) {
    const r = await call('PUT', '/collections/bulk', JSON.stringify({ vectors: { size: DIM, distance: 'Cosine' } }), key);
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => {
  // a clean exit: under ASan a leak or an error on the way makes it non-zero
  if (server) assert.equal(await stop(server), 0, fs.readFileSync(path.join(tmp, 'ndjson.err'), 'utf8'));
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function call(method, p, body, key) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers['api-key'] = key;
  const r = await fetch(server.url + p, { method, headers, body, duplex: 'half' });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

const line = (id) => JSON.stringify({ id, vector: Array.from({ length: DIM }, (_, k) => Math.sin(id + k)),
  payload: { n: id } });

// A body streamed in chunks of about `size` bytes (not one buffer).
function chunked(text, size = 10000) {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (let i = 0; i < text.length; i += size) c.enqueue(enc.encode(text.slice(i, i + size)));
      c.close();
    },
  });
}

const count = async (key, coll = 'bulk') =>
  (await call('POST', `/collections/${coll}/points/count`, JSON.stringify({ exact: true }), key)).json.result.count;

test('a few thousand points streamed in chunks, over max_body_bytes, are all stored', async () => {
  const n = 3000;
  const text = Array.from({ length: n }, (_, i) => line(i + 1)).join('\n') + '\n\n';
  assert.ok(text.length > MAX_BODY * 4);
  const r = await call('POST', '/collections/bulk/points/ndjson', chunked(text), KEY.write);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.result.stored, n);
  assert.equal(r.json.result.status, 'completed');
  assert.equal(await count(KEY.read), n);
  const p = await call('GET', '/collections/bulk/points/1234', undefined, KEY.read);
  assert.equal(p.json.result.payload.n, 1234);
  // the same body on the normal upsert route is over the limit
  const big = await call('PUT', '/collections/bulk/points', JSON.stringify({ points: text.trim().split('\n').map((l) => JSON.parse(l)) }), KEY.write);
  assert.equal(big.status, 413);
});

test('a bad line answers 400 with its line number; earlier batches are kept', async () => {
  const lines = Array.from({ length: 600 }, (_, i) => line(10001 + i));
  lines[520] = JSON.stringify({ id: 20000, vector: [1, 2, 3] }); // line 521: wrong dimension
  let r = await call('POST', '/collections/bulk/points/ndjson', chunked(lines.join('\n')), KEY.write);
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.status.error, /line 521/);
  assert.match(r.json.status.error, /dimension|dim/i);
  assert.match(r.json.status.error, /512 points stored before it/);
  assert.equal(await count(KEY.read), 3000 + 512);
  // not JSON, and a missing field
  r = await call('POST', '/collections/bulk/points/ndjson', chunked(`${line(30001)}\n{"id": 5, oops\n`), KEY.write);
  assert.equal(r.status, 400);
  assert.match(r.json.status.error, /^Json deserialize error: line 2: .* \(0 points stored before it\)$/);
  r = await call('POST', '/collections/bulk/points/ndjson', chunked(`${line(30002)}\n\n{"vector": [1,2,3,4,5,6,7,8]}\n`), KEY.write);
  assert.equal(r.status, 400);
  assert.match(r.json.status.error, /line 3: .*missing field `point\.id`/);
  assert.equal(await count(KEY.read), 3512);
});

test('keys, roles and tenants apply as on the normal upsert', async () => {
  const body = `${line(40001)}\n${line(40002)}\n`;
  let r = await call('POST', '/collections/bulk/points/ndjson', body, undefined);
  assert.equal(r.status, 401, r.text);
  r = await call('POST', '/collections/bulk/points/ndjson', body, KEY.read);
  assert.equal(r.status, 403, r.text);
  r = await call('POST', '/collections/missing/points/ndjson', body, KEY.write);
  assert.equal(r.status, 404, r.text);
  // the tenant's "bulk" is its own collection
  r = await call('POST', '/collections/bulk/points/ndjson', chunked(body, 7), KEY.tenant);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.result.stored, 2);
  assert.equal(await count(KEY.tenant), 2);
  assert.equal(await count(KEY.read), 3512);
});
