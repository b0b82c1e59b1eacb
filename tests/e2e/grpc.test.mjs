// End-to-end tests of Qdrant's gRPC API of `semcode serve` with Qdrant's
// official gRPC client (@qdrant/js-client-grpc). Starts its own two servers
// on free loopback ports (--grpc-port-file says where gRPC listens): one
// open, one with API keys of two tenants. Covers collections (create, list,
// info, exists, delete), upsert, search, query, scroll, count, get,
// payload set / delete / clear, point delete, field indexes, filters, and
// bad requests answered with the right gRPC status codes (INVALID_ARGUMENT,
// NOT_FOUND, ALREADY_EXISTS, UNAUTHENTICATED, PERMISSION_DENIED,
// UNIMPLEMENTED). Run: node --test tests/e2e/grpc.test.mjs
// (SEMCODE_BIN=build-san/semcode for the sanitizer build).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QdrantClient, ConnectErrorCode as Code } from '@qdrant/js-client-grpc';
import { serve, stop } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');
const ADMIN = 'grpc-admin-key-0123456789';
const READ = 'grpc-read-key-01234567890';
const TENANT_A = 'grpc-tenant-a-key-0123456';
const TENANT_B = 'grpc-tenant-b-key-0123456';

let tmp, open, auth, grpcOpen, grpcAuth;

// Start a server whose gRPC port is written to NAME.grpc: {proc, url, grpc}.
async function start(name, cfg) {
  const gp = path.join(tmp, `${name}.grpc`);
  const s = await serve(bin, tmp, name, path.join(tmp, `${name}.store`), cfg, {}, ['--grpc-port-file', gp]);
  s.grpc = Number(fs.readFileSync(gp, 'utf8').trim());
  return s;
}

const client = (port, apiKey) =>
  new QdrantClient({ host: '127.0.0.1', port, apiKey, https: false, checkCompatibility: false });

// The messages of the gRPC API, written as the client takes them.
const num = (n) => ({ pointIdOptions: { case: 'num', value: BigInt(n) } });
const uuid = (u) => ({ pointIdOptions: { case: 'uuid', value: u } });
const dense = (data) => ({ vectorsOptions: { case: 'vector', value: { vector: { case: 'dense', value: { data } } } } });
const str = (s) => ({ kind: { case: 'stringValue', value: s } });
const int = (n) => ({ kind: { case: 'integerValue', value: BigInt(n) } });
const withPayload = { selectorOptions: { case: 'enable', value: true } };
const withVectors = { selectorOptions: { case: 'enable', value: true } };
const ids = (...xs) => ({ pointsSelectorOneOf: { case: 'points', value: { ids: xs } } });
const keyword = (key, value) => ({ conditionOneOf: { case: 'field', value: { key, match: { matchValue: { case: 'keyword', value } } } } });
const vectorsConfig = (size, distance = 1 /* Cosine */) => ({ config: { case: 'params', value: { size: BigInt(size), distance } } });
const idOf = (p) => p.id.pointIdOptions.value;
const plain = (payload) => Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, v.kind.value]));

// Expect promise p to fail with gRPC status code and a message matching re.
async function rejectsWith(p, code, re) {
  await assert.rejects(p, (e) => {
    assert.equal(e.code, code, `code of ${e.message}`);
    if (re) assert.match(e.rawMessage, re);
    return true;
  });
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-grpc-'));
  const cfg = path.join(tmp, 'auth.json');
  fs.writeFileSync(cfg, JSON.stringify({ api_keys: [
    { key: ADMIN, role: 'admin' }, { key: READ, role: 'read' },
    { key: TENANT_A, role: 'admin', tenant: 'a' }, { key: TENANT_B, role: 'admin', tenant: 'b' }] }));
  [open, auth] = await Promise.all([start('open'), start('auth', cfg)]);
  grpcOpen = client(open.grpc);
  grpcAuth = (key) => client(auth.grpc, key);
});

after(async () => {
  const codes = await Promise.all([open, auth].filter(Boolean).map((s) => stop(s)));
  assert.deepEqual(codes, codes.map(() => 0), 'servers exit 0 on SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('health check answers the Qdrant version', async () => {
  const h = await grpcOpen.api('service').healthCheck({});
  assert.equal(h.title, 'qdrant - vector search engine');
  assert.equal(h.version, '1.19.0');
});

test('collections: create, list, info, exists, delete', async () => {
  const cols = grpcOpen.api('collections');
  assert.equal((await cols.create({ collectionName: 'g1', vectorsConfig: vectorsConfig(4) })).result, true);
  assert.ok((await cols.list({})).collections.map((c) => c.name).includes('g1'));
  const info = (await cols.get({ collectionName: 'g1' })).result;
  assert.equal(info.status, 1); // Green
  assert.equal(info.pointsCount, 0n);
  assert.equal(info.config.params.vectorsConfig.config.case, 'params');
  assert.equal(info.config.params.vectorsConfig.config.value.size, 4n);
  assert.equal(info.config.params.vectorsConfig.config.value.distance, 1);
  assert.equal((await cols.collectionExists({ collectionName: 'g1' })).result.exists, true);
  assert.equal((await cols.collectionExists({ collectionName: 'nope' })).result.exists, false);
  // named vectors
  const named = { config: { case: 'paramsMap', value: { map: { a: { size: 2n, distance: 3 }, b: { size: 3n, distance: 2 } } } } };
  assert.equal((await cols.create({ collectionName: 'g2', vectorsConfig: named })).result, true);
  const m = (await cols.get({ collectionName: 'g2' })).result.config.params.vectorsConfig.config;
  assert.equal(m.case, 'paramsMap');
  assert.deepEqual(Object.keys(m.value.map).sort(), ['a', 'b']);
  assert.equal(m.value.map.b.size, 3n);
  assert.equal((await cols.delete({ collectionName: 'g2' })).result, true);
  assert.equal((await cols.collectionExists({ collectionName: 'g2' })).result.exists, false);
});

test('points: upsert, get, search, query, scroll, count, payload, delete', async () => {
  const pts = grpcOpen.api('points');
  await grpcOpen.api('collections').create({ collectionName: 'p1', vectorsConfig: vectorsConfig(4) });
  const up = await pts.upsert({ collectionName: 'p1', wait: true, points: [
    { id: num(1), vectors: dense([1, 0, 0, 0]), payload: { color: str('red'), n: int(1) } },
    { id: num(2), vectors: dense([0.9, 0.1, 0, 0]), payload: { color: str('red'), n: int(2) } },
    { id: num(3), vectors: dense([0, 1, 0, 0]), payload: { color: str('blue'), n: int(3) } },
    // the deprecated layout (Vector.data) of older clients
    { id: uuid('5f8a9c1e-1111-4222-8333-444455556666'), vectors: { vectorsOptions: { case: 'vector', value: { data: [0, 0, 0, 1] } } },
      payload: { color: str('blue'), tags: { kind: { case: 'listValue', value: { values: [str('x'), str('y')] } } } } },
  ] });
  assert.equal(up.result.status, 2); // Completed

  const got = (await pts.get({ collectionName: 'p1', ids: [num(3), uuid('5f8a9c1e-1111-4222-8333-444455556666')],
    withPayload, withVectors })).result;
  assert.equal(got.length, 2);
  const three = got.find((p) => idOf(p) === 3n);
  assert.deepEqual(plain(three.payload), { color: 'blue', n: 3n });
  assert.deepEqual(three.vectors.vectorsOptions.value.vector.value.data, [0, 1, 0, 0]);
  const u = got.find((p) => idOf(p) === '5f8a9c1e-1111-4222-8333-444455556666');
  assert.deepEqual(u.payload.tags.kind.value.values.map((v) => v.kind.value), ['x', 'y']);

  const found = (await pts.search({ collectionName: 'p1', vector: [1, 0, 0, 0], limit: 2n, withPayload })).result;
  assert.deepEqual(found.map(idOf), [1n, 2n]);
  assert.ok(Math.abs(found[0].score - 1) < 1e-6);
  assert.equal(found[0].payload.color.kind.value, 'red');
  const filtered = (await pts.search({ collectionName: 'p1', vector: [1, 0, 0, 0], limit: 5n,
    filter: { must: [keyword('color', 'blue')] } })).result;
  assert.deepEqual(filtered.map(idOf).sort(), [3n, '5f8a9c1e-1111-4222-8333-444455556666'].sort());

  const q = (await pts.query({ collectionName: 'p1', limit: 1n,
    query: { variant: { case: 'nearest', value: { variant: { case: 'dense', value: { data: [0, 1, 0, 0] } } } } } })).result;
  assert.deepEqual(q.map(idOf), [3n]);

  const page = await pts.scroll({ collectionName: 'p1', limit: 2, filter: { must: [keyword('color', 'red')] }, withPayload });
  assert.deepEqual(page.result.map(idOf), [1n, 2n]);
  assert.equal(page.nextPageOffset, undefined);
  const first = await pts.scroll({ collectionName: 'p1', limit: 1 });
  assert.equal(first.nextPageOffset.pointIdOptions.value, 2n);

  assert.equal((await pts.count({ collectionName: 'p1', exact: true })).result.count, 4n);
  const hasId = { must: [{ conditionOneOf: { case: 'hasId', value: { hasId: [num(1), num(3)] } } }] };
  assert.equal((await pts.count({ collectionName: 'p1', exact: true, filter: hasId })).result.count, 2n);
  const range = { must: [{ conditionOneOf: { case: 'field', value: { key: 'n', range: { gte: 2 } } } }] };
  assert.equal((await pts.count({ collectionName: 'p1', exact: true, filter: range })).result.count, 2n);
  await pts.setPayload({ collectionName: 'p1', wait: true, payload: { at: str('2024-05-01T10:00:00Z') }, pointsSelector: ids(num(2)) });
  const since = { must: [{ conditionOneOf: { case: 'field', value: { key: 'at',
    datetimeRange: { gte: { seconds: BigInt(Date.parse('2024-04-30T00:00:00Z') / 1000), nanos: 0 } } } } }] };
  assert.equal((await pts.count({ collectionName: 'p1', exact: true, filter: since })).result.count, 1n);

  await pts.setPayload({ collectionName: 'p1', wait: true, payload: { seen: { kind: { case: 'boolValue', value: true } } },
    pointsSelector: ids(num(1)) });
  await pts.setPayload({ collectionName: 'p1', wait: true, payload: { color: str('green') },
    pointsSelector: { pointsSelectorOneOf: { case: 'filter', value: { must: [keyword('color', 'blue')] } } } });
  await pts.deletePayload({ collectionName: 'p1', wait: true, keys: ['n'], pointsSelector: ids(num(2)) });
  await pts.clearPayload({ collectionName: 'p1', wait: true, points: ids(num(3)) });
  const after = (await pts.get({ collectionName: 'p1', ids: [num(1), num(2), num(3)], withPayload })).result;
  const byId = Object.fromEntries(after.map((p) => [String(idOf(p)), plain(p.payload)]));
  assert.deepEqual(byId, { 1: { color: 'red', n: 1n, seen: true }, 2: { color: 'red', at: '2024-05-01T10:00:00Z' }, 3: {} });
  assert.equal((await pts.count({ collectionName: 'p1', exact: true, filter: { must: [keyword('color', 'green')] } })).result.count, 1n);

  const idx = await pts.createFieldIndex({ collectionName: 'p1', wait: true, fieldName: 'color', fieldType: 0 /* Keyword */ });
  assert.equal(idx.result.status, 2);
  const schema = (await grpcOpen.api('collections').get({ collectionName: 'p1' })).result.payloadSchema;
  assert.equal(schema.color.dataType, 1); // Keyword
  await pts.deleteFieldIndex({ collectionName: 'p1', wait: true, fieldName: 'color' });

  await pts.delete({ collectionName: 'p1', wait: true, points: ids(num(1), num(2)) });
  assert.equal((await pts.count({ collectionName: 'p1', exact: true })).result.count, 2n);
  await pts.delete({ collectionName: 'p1', wait: true,
    points: { pointsSelectorOneOf: { case: 'filter', value: { must: [keyword('color', 'green')] } } } });
  assert.equal((await pts.count({ collectionName: 'p1', exact: true })).result.count, 1n);
  assert.equal((await grpcOpen.api('collections').get({ collectionName: 'p1' })).result.pointsCount, 1n);
});

test('bad requests get the gRPC status codes and REST messages', async () => {
  const cols = grpcOpen.api('collections');
  const pts = grpcOpen.api('points');
  await cols.create({ collectionName: 'b1', vectorsConfig: vectorsConfig(4) });
  await rejectsWith(cols.get({ collectionName: 'nope' }), Code.NotFound, /Collection `nope` doesn't exist!/);
  await rejectsWith(pts.count({ collectionName: 'nope' }), Code.NotFound, /nope/);
  await rejectsWith(cols.create({ collectionName: 'b1', vectorsConfig: vectorsConfig(4) }), Code.AlreadyExists, /already exists/);
  await rejectsWith(cols.create({ collectionName: 'b2', vectorsConfig: vectorsConfig(0) }), Code.InvalidArgument, /size/);
  await rejectsWith(pts.upsert({ collectionName: 'b1', points: [{ id: num(1), vectors: dense([1, 2]) }] }),
    Code.InvalidArgument, /dimension 2, collection `b1` expects 4/);
  await rejectsWith(pts.upsert({ collectionName: 'b1', points: [{ id: uuid('not-a-uuid'), vectors: dense([1, 2, 3, 4]) }] }),
    Code.InvalidArgument, /not-a-uuid/);
  await rejectsWith(pts.search({ collectionName: 'b1', vector: [1, 0, 0], limit: 1n }), Code.InvalidArgument, /dimension/);
  let deep = { must: [keyword('color', 'red')] }; // 100 nested filters: refused before unpacking
  for (let i = 0; i < 100; i++) deep = { must: [{ conditionOneOf: { case: 'filter', value: deep } }] };
  await rejectsWith(pts.count({ collectionName: 'b1', filter: deep }), Code.InvalidArgument, /deeper than 64/);
  let ok = { must: [keyword('color', 'red')] };
  for (let i = 0; i < 10; i++) ok = { must: [{ conditionOneOf: { case: 'filter', value: ok } }] };
  assert.equal((await pts.count({ collectionName: 'b1', filter: ok })).result.count, 0n);
  await rejectsWith(grpcOpen.api('snapshots').list({ collectionName: 'b1' }), Code.Unimplemented,
    /does not serve \/qdrant.Snapshots\/List/);
  await rejectsWith(pts.recommend({ collectionName: 'b1', positive: [num(1)], limit: 1n }), Code.Unimplemented, /Recommend/);
});

test('API keys, roles and tenants are those of REST', async () => {
  await rejectsWith(grpcAuth().api('collections').list({}), Code.Unauthenticated, /api key/i);
  await rejectsWith(grpcAuth('wrong-key-000000000000000').api('collections').list({}), Code.Unauthenticated);
  await rejectsWith(grpcAuth(READ).api('collections').create({ collectionName: 'k1', vectorsConfig: vectorsConfig(2) }),
    Code.PermissionDenied);
  const admin = grpcAuth(ADMIN);
  await admin.api('collections').create({ collectionName: 'k1', vectorsConfig: vectorsConfig(2) });
  await admin.api('points').upsert({ collectionName: 'k1', wait: true, points: [{ id: num(7), vectors: dense([1, 0]) }] });
  assert.equal((await grpcAuth(READ).api('points').count({ collectionName: 'k1' })).result.count, 1n);
  await rejectsWith(grpcAuth(READ).api('points').upsert({ collectionName: 'k1', points: [{ id: num(8), vectors: dense([1, 0]) }] }),
    Code.PermissionDenied);
  // tenants: the same name in two tenants is two collections
  const a = grpcAuth(TENANT_A), b = grpcAuth(TENANT_B);
  await a.api('collections').create({ collectionName: 'mine', vectorsConfig: vectorsConfig(2) });
  await a.api('points').upsert({ collectionName: 'mine', wait: true, points: [{ id: num(1), vectors: dense([0, 1]) }] });
  await rejectsWith(b.api('points').count({ collectionName: 'mine' }), Code.NotFound);
  assert.deepEqual((await b.api('collections').list({})).collections, []);
  assert.deepEqual((await a.api('collections').list({})).collections.map((c) => c.name), ['mine']);
  // a REST client with the same key sees what gRPC wrote
  const r = await fetch(`${auth.url}/collections/mine/points/count`, { method: 'POST',
    headers: { 'api-key': TENANT_A, 'content-type': 'application/json' }, body: '{}' });
  assert.equal((await r.json()).result.count, 1);
});

test('serve --grpc-port: bad values, a taken port, off', async () => {
  const run = (...args) => spawnSync(bin, ['serve', '--port', '0', '--store', path.join(tmp, 'x.store'), ...args],
    { encoding: 'utf8', timeout: 20000 });
  let r = run('--grpc-port', 'x');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--grpc-port must be an integer from 0 to 65535, got 'x'/);
  r = run('--grpc-port', String(open.grpc)); // taken by the open server
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`cannot listen for gRPC on 127.0.0.1:${open.grpc}`));
  const off = await serve(bin, tmp, 'off', path.join(tmp, 'off.store'), null, {}, ['--grpc-port', 'off']);
  try {
    assert.equal((await fetch(`${off.url}/collections`)).status, 200);
    assert.match(fs.readFileSync(path.join(tmp, 'off.err'), 'utf8'), /gRPC off/);
  } finally {
    assert.equal(await stop(off), 0);
  }
});
