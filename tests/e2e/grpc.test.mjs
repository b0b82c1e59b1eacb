// End-to-end tests of Qdrant's gRPC API of `semcode serve` with Qdrant's
// official gRPC client (@qdrant/js-client-grpc). Starts its own two servers
// on free loopback ports (--grpc-port-file says where gRPC listens): one
// open, one with API keys of two tenants. Covers collections (create, list,
// info, exists, delete), upsert, search, query, scroll, count, get,
// payload set / delete / clear, point delete, field indexes, filters,
// snapshots, batch / group / recommend / facet / matrix searches, vector
// updates, update batches, collection updates and aliases (each compared
// with the REST answer on the same data), the gRPC rows of /metrics, and
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
import { serve, stop, rejectsWith } from './serve_util.mjs';

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
// [id, score] of gRPC and REST scored points, comparable (ids as numbers, scores to 5 digits)
const hitsOf = (ps) => ps.map((p) => [Number(idOf(p)), Number(p.score.toFixed(5))]);
const restHits = (ps) => ps.map((p) => [p.id, Number(p.score.toFixed(5))]);
const groupsOf = (gs) => gs.map((g) => [g.id.kind.value, hitsOf(g.hits)]);
const restGroups = (gs) => gs.map((g) => [g.id, restHits(g.hits)]);

// The `result` of a REST call on server s (fails the test unless 200).
async function rest(s, method, p, body) {
  const r = await fetch(`${s.url}${p}`, { method, headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const j = await r.json();
  assert.equal(r.status, 200, `${method} ${p}: ${JSON.stringify(j)}`);
  return j.result;
}
const plain = (payload) => Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, v.kind.value]));

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
  // (Discover, DiscoverBatch, RecommendBatch, CollectionClusterInfo: tests/e2e/discover.test.mjs)
  await rejectsWith(cols.listShardKeys({ collectionName: 'b1' }), Code.Unimplemented,
    /does not serve \/qdrant.Collections\/ListShardKeys over gRPC: .*shard keys/);
  await rejectsWith(cols.updateCollectionClusterSetup({ collectionName: 'b1' }), Code.Unimplemented, /single node/);
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

test('snapshots: create, list, delete, full snapshots, as REST lists them', async () => {
  const snaps = grpcOpen.api('snapshots');
  await grpcOpen.api('collections').create({ collectionName: 's1', vectorsConfig: vectorsConfig(2) });
  await grpcOpen.api('points').upsert({ collectionName: 's1', wait: true, points: [{ id: num(1), vectors: dense([1, 0]) }] });
  const made = (await snaps.create({ collectionName: 's1' })).snapshotDescription;
  assert.match(made.name, /\.snapshot$/);
  assert.ok(made.size > 0n);
  assert.ok(Math.abs(Number(made.creationTime.seconds) - Date.now() / 1000) < 120);
  const listed = (await snaps.list({ collectionName: 's1' })).snapshotDescriptions;
  const viaRest = await rest(open, 'GET', '/collections/s1/snapshots');
  const shape = (d) => [d.name, Number(d.size), d.checksum ?? null];
  assert.deepEqual(listed.map(shape), viaRest.map(shape));
  assert.deepEqual(listed.map((d) => Number(d.creationTime.seconds)),
    viaRest.map((d) => Date.parse(`${d.creation_time}Z`) / 1000));
  assert.ok(listed.some((d) => d.name === made.name));
  await snaps.delete({ collectionName: 's1', snapshotName: made.name });
  assert.equal((await snaps.list({ collectionName: 's1' })).snapshotDescriptions.length, 0);
  // full snapshots
  const full = (await snaps.createFull({})).snapshotDescription;
  const fl = (await snaps.listFull({})).snapshotDescriptions;
  assert.deepEqual(fl.map(shape), (await rest(open, 'GET', '/snapshots')).map(shape));
  assert.ok(fl.some((d) => d.name === full.name));
  await snaps.deleteFull({ snapshotName: full.name });
  assert.ok(!(await snaps.listFull({})).snapshotDescriptions.some((d) => d.name === full.name));
  // bad requests
  await rejectsWith(snaps.create({ collectionName: 'nope' }), Code.NotFound, /nope/);
  await rejectsWith(snaps.list({ collectionName: 'nope' }), Code.NotFound, /nope/);
  await rejectsWith(snaps.delete({ collectionName: 's1', snapshotName: '' }), Code.InvalidArgument, /`snapshot_name` is empty/);
  await rejectsWith(snaps.delete({ collectionName: 's1', snapshotName: 'gone.snapshot' }), Code.NotFound, /gone.snapshot/);
  await rejectsWith(snaps.deleteFull({ snapshotName: 'gone.snapshot' }), Code.NotFound, /gone.snapshot/);
  await rejectsWith(snaps.create({ collectionName: '' }), Code.InvalidArgument, /`collection_name` is empty/);
  await rejectsWith(grpcAuth(READ).api('snapshots').create({ collectionName: 'k1' }), Code.PermissionDenied);
});

test('points: batches, groups, recommend, facet, matrix answer as REST does', async () => {
  const pts = grpcOpen.api('points');
  await grpcOpen.api('collections').create({ collectionName: 'm1', vectorsConfig: vectorsConfig(4) });
  const vecs = [[1, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 1, 0, 0], [0, 0.9, 0.1, 0], [0, 0, 1, 0], [0.5, 0.5, 0.5, 0]];
  const colors = ['red', 'red', 'blue', 'blue', 'green', 'red'];
  await pts.upsert({ collectionName: 'm1', wait: true, points: vecs.map((v, i) =>
    ({ id: num(i + 1), vectors: dense(v), payload: { color: str(colors[i]), n: int(i + 1) } })) });
  await pts.createFieldIndex({ collectionName: 'm1', wait: true, fieldName: 'color', fieldType: 0 });
  const C = '/collections/m1';

  const sb = (await pts.searchBatch({ collectionName: 'm1', searchPoints: [
    { collectionName: 'm1', vector: [1, 0, 0, 0], limit: 3n },
    { collectionName: 'm1', vector: [0, 1, 0, 0], limit: 2n, filter: { must: [keyword('color', 'blue')] } }] })).result;
  const sbRest = await rest(open, 'POST', `${C}/points/search/batch`, { searches: [
    { vector: [1, 0, 0, 0], limit: 3 }, { vector: [0, 1, 0, 0], limit: 2, filter: { must: [{ key: 'color', match: { value: 'blue' } }] } }] });
  assert.deepEqual(sb.map((b) => hitsOf(b.result)), sbRest.map(restHits));
  assert.deepEqual(sb[1].result.map(idOf), [3n, 4n]);

  const nearest = (data) => ({ variant: { case: 'nearest', value: { variant: { case: 'dense', value: { data } } } } });
  const qb = (await pts.queryBatch({ collectionName: 'm1', queryPoints: [
    { collectionName: 'm1', query: nearest([0, 0, 1, 0]), limit: 2n }, { collectionName: 'm1', query: nearest([1, 0, 0, 0]), limit: 1n }] })).result;
  const qbRest = await rest(open, 'POST', `${C}/points/query/batch`, { searches: [
    { query: [0, 0, 1, 0], limit: 2 }, { query: [1, 0, 0, 0], limit: 1 }] });
  assert.deepEqual(qb.map((b) => hitsOf(b.result)), qbRest.map((r) => restHits(r.points)));

  const sg = (await pts.searchGroups({ collectionName: 'm1', vector: [1, 0, 0, 0], groupBy: 'color', groupSize: 2, limit: 2 })).result.groups;
  const sgRest = await rest(open, 'POST', `${C}/points/search/groups`, { vector: [1, 0, 0, 0], group_by: 'color', group_size: 2, limit: 2 });
  assert.deepEqual(groupsOf(sg), restGroups(sgRest.groups));
  assert.equal(sg[0].id.kind.case, 'stringValue');
  const qg = (await pts.queryGroups({ collectionName: 'm1', query: nearest([0, 1, 0, 0]), groupBy: 'color', groupSize: 1, limit: 3 })).result.groups;
  const qgRest = await rest(open, 'POST', `${C}/points/query/groups`, { query: [0, 1, 0, 0], group_by: 'color', group_size: 1, limit: 3 });
  assert.deepEqual(groupsOf(qg), restGroups(qgRest.groups));
  const ng = (await pts.searchGroups({ collectionName: 'm1', vector: [1, 0, 0, 0], groupBy: 'n', groupSize: 1, limit: 1 })).result.groups;
  assert.equal(ng[0].id.kind.case, 'unsignedValue');

  const rec = (await pts.recommend({ collectionName: 'm1', positive: [num(1)], negative: [num(3)], limit: 3n, withPayload })).result;
  const recRest = await rest(open, 'POST', `${C}/points/recommend`, { positive: [1], negative: [3], limit: 3 });
  assert.deepEqual(hitsOf(rec), restHits(recRest));
  assert.ok(!rec.some((p) => idOf(p) === 1n), 'the examples are not answers');
  const recBest = (await pts.recommend({ collectionName: 'm1', positive: [num(5)], positiveVectors: [{ data: [0, 1, 0, 0] }],
    strategy: 1 /* BestScore */, limit: 2n })).result;
  const recBestRest = await rest(open, 'POST', `${C}/points/recommend`, { positive: [5, [0, 1, 0, 0]], strategy: 'best_score', limit: 2 });
  assert.deepEqual(hitsOf(recBest), restHits(recBestRest));
  const rg = (await pts.recommendGroups({ collectionName: 'm1', positive: [num(2)], groupBy: 'color', groupSize: 1, limit: 2 })).result.groups;
  const rgRest = await rest(open, 'POST', `${C}/points/recommend/groups`, { positive: [2], group_by: 'color', group_size: 1, limit: 2 });
  assert.deepEqual(groupsOf(rg), restGroups(rgRest.groups));

  const facet = (await pts.facet({ collectionName: 'm1', key: 'color', exact: true })).hits;
  const facetRest = await rest(open, 'POST', `${C}/facet`, { key: 'color', exact: true });
  assert.deepEqual(facet.map((h) => [h.value.variant.value, Number(h.count)]), facetRest.hits.map((h) => [h.value, h.count]));
  assert.deepEqual(facet[0].value.variant, { case: 'stringValue', value: 'red' });

  const pairs = (await pts.searchMatrixPairs({ collectionName: 'm1', sample: 6n, limit: 2n })).result.pairs;
  const pairsRest = await rest(open, 'POST', `${C}/points/search/matrix/pairs`, { sample: 6, limit: 2 });
  const pairShape = (a, b, sc) => [a, b, Number(sc.toFixed(5))];
  assert.deepEqual(pairs.map((p) => pairShape(Number(idOf({ id: p.a })), Number(idOf({ id: p.b })), p.score)),
    pairsRest.pairs.map((p) => pairShape(p.a, p.b, p.score)));
  const offs = (await pts.searchMatrixOffsets({ collectionName: 'm1', sample: 6n, limit: 2n })).result;
  const offsRest = await rest(open, 'POST', `${C}/points/search/matrix/offsets`, { sample: 6, limit: 2 });
  assert.deepEqual(offs.offsetsRow.map(Number), offsRest.offsets_row);
  assert.deepEqual(offs.offsetsCol.map(Number), offsRest.offsets_col);
  assert.deepEqual(offs.ids.map((id) => Number(id.pointIdOptions.value)), offsRest.ids);
  assert.deepEqual(offs.scores.map((x) => Number(x.toFixed(5))), offsRest.scores.map((x) => Number(x.toFixed(5))));

  // bad requests
  await rejectsWith(pts.searchBatch({ collectionName: 'nope', searchPoints: [{ collectionName: 'nope', vector: [1, 0, 0, 0], limit: 1n }] }),
    Code.NotFound, /nope/);
  await rejectsWith(pts.searchBatch({ collectionName: 'm1', searchPoints: [{ collectionName: 'm1', vector: [1, 0], limit: 1n }] }),
    Code.InvalidArgument, /dimension/);
  await rejectsWith(pts.recommend({ collectionName: 'm1', positive: [num(99)], limit: 1n }), Code.NotFound, /99/);
  await rejectsWith(pts.searchGroups({ collectionName: 'm1', vector: [1, 0, 0, 0], groupSize: 1, limit: 1 }), Code.InvalidArgument, /group_by/);
  await rejectsWith(pts.facet({ collectionName: 'm1', key: '' }), Code.InvalidArgument, /key/);
  await rejectsWith(pts.queryGroups({ collectionName: 'nope', groupBy: 'color', groupSize: 1, limit: 1 }), Code.NotFound, /nope/);
  await rejectsWith(pts.searchMatrixPairs({ collectionName: 'nope' }), Code.NotFound, /nope/);
});

test('points: update / delete vectors and update batches, as REST sees them', async () => {
  const pts = grpcOpen.api('points');
  const named = { config: { case: 'paramsMap', value: { map: { a: { size: 2n, distance: 1 }, b: { size: 2n, distance: 1 } } } } };
  await grpcOpen.api('collections').create({ collectionName: 'u1', vectorsConfig: named });
  const namedVecs = (m) => ({ vectorsOptions: { case: 'vectors', value: { vectors: Object.fromEntries(Object.entries(m).map(
    ([k, v]) => [k, { vector: { case: 'dense', value: { data: v } } }])) } } });
  await pts.upsert({ collectionName: 'u1', wait: true, points: [
    { id: num(1), vectors: namedVecs({ a: [1, 0], b: [0, 1] }) }, { id: num(2), vectors: namedVecs({ a: [0, 1], b: [1, 0] }) }] });
  const up = await pts.updateVectors({ collectionName: 'u1', wait: true, points: [{ id: num(1), vectors: namedVecs({ b: [1, 1] }) }] });
  assert.equal(up.result.status, 2);
  let p1 = await rest(open, 'GET', '/collections/u1/points/1');
  assert.deepEqual(p1.vector.a, [1, 0]);
  assert.ok(Math.abs(p1.vector.b[0] - Math.SQRT1_2) < 1e-5); // cosine: normalised
  await pts.deleteVectors({ collectionName: 'u1', wait: true, pointsSelector: ids(num(1)), vectors: { names: ['b'] } });
  p1 = await rest(open, 'GET', '/collections/u1/points/1');
  assert.deepEqual(Object.keys(p1.vector), ['a']);
  const got = (await pts.get({ collectionName: 'u1', ids: [num(1)], withVectors })).result[0];
  assert.deepEqual(Object.keys(got.vectors.vectorsOptions.value.vectors), ['a']);

  const ub = await pts.updateBatch({ collectionName: 'u1', wait: true, operations: [
    { operation: { case: 'upsert', value: { points: [{ id: num(3), vectors: namedVecs({ a: [1, 1], b: [1, -1] }), payload: { k: str('x') } }] } } },
    { operation: { case: 'setPayload', value: { payload: { k: str('y') }, pointsSelector: ids(num(1), num(2)) } } },
    { operation: { case: 'overwritePayload', value: { payload: { o: int(1) }, pointsSelector: ids(num(2)) } } },
    { operation: { case: 'deletePayload', value: { keys: ['k'], pointsSelector: ids(num(1)) } } },
    { operation: { case: 'deleteVectors', value: { pointsSelector: ids(num(3)), vectors: { names: ['b'] } } } },
    { operation: { case: 'updateVectors', value: { points: [{ id: num(2), vectors: namedVecs({ a: [3, 4] }) }] } } },
    { operation: { case: 'clearPayload', value: { points: ids(num(3)) } } },
    { operation: { case: 'deletePoints', value: { points: { pointsSelectorOneOf: { case: 'filter', value: { must: [keyword('k', 'nothing')] } } } } } },
  ] });
  assert.equal(ub.result.length, 8);
  assert.ok(ub.result.every((r) => r.status === 2));
  const all = await rest(open, 'POST', '/collections/u1/points/scroll', { with_payload: true, with_vector: true, limit: 10 });
  const state = Object.fromEntries(all.points.map((p) => [p.id, [p.payload, Object.keys(p.vector).sort()]]));
  assert.deepEqual(state, { 1: [{}, ['a']], 2: [{ o: 1 }, ['a', 'b']], 3: [{}, ['a']] });
  assert.ok(Math.abs(all.points.find((p) => p.id === 2).vector.a[0] - 0.6) < 1e-5);
  await pts.updateBatch({ collectionName: 'u1', wait: true, operations: [
    { operation: { case: 'deletePoints', value: { points: ids(num(3)) } } }] });
  assert.equal((await pts.count({ collectionName: 'u1', exact: true })).result.count, 2n);

  // a vector name added and removed
  assert.equal((await pts.createVectorName({ collectionName: 'u1', wait: true, vectorName: 'c',
    vectorConfig: { case: 'denseConfig', value: { size: 3n, distance: 3 /* Dot */ } } })).result.status, 2);
  assert.deepEqual((await rest(open, 'GET', '/collections/u1')).config.params.vectors.c, { size: 3, distance: 'Dot' });
  await pts.upsert({ collectionName: 'u1', wait: true, points: [{ id: num(4), vectors: namedVecs({ a: [1, 0], c: [1, 2, 3] }) }] });
  await rejectsWith(pts.createVectorName({ collectionName: 'u1', vectorName: 'c',
    vectorConfig: { case: 'denseConfig', value: { size: 3n, distance: 3 } } }), Code.AlreadyExists, /c/);
  await rejectsWith(pts.createVectorName({ collectionName: 'u1', vectorName: 's',
    vectorConfig: { case: 'sparseConfig', value: {} } }), Code.InvalidArgument, /sparse/);
  await rejectsWith(pts.createVectorName({ collectionName: 'u1', vectorName: '',
    vectorConfig: { case: 'denseConfig', value: { size: 3n, distance: 3 } } }), Code.InvalidArgument, /`vector_name` is empty/);
  await pts.deleteVectorName({ collectionName: 'u1', wait: true, vectorName: 'c' });
  assert.equal((await rest(open, 'GET', '/collections/u1')).config.params.vectors.c, undefined);
  await pts.delete({ collectionName: 'u1', wait: true, points: ids(num(4)) });

  // bad requests
  await rejectsWith(pts.updateVectors({ collectionName: 'u1', points: [{ id: num(1), vectors: namedVecs({ a: [1, 2, 3] }) }] }),
    Code.InvalidArgument, /dimension/);
  await rejectsWith(pts.updateVectors({ collectionName: 'u1', points: [{ id: num(1), vectors: namedVecs({ zz: [1, 2] }) }] }),
    Code.InvalidArgument, /zz/);
  await rejectsWith(pts.deleteVectors({ collectionName: 'nope', pointsSelector: ids(num(1)), vectors: { names: ['a'] } }),
    Code.NotFound, /nope/);
  await rejectsWith(pts.updateBatch({ collectionName: 'u1', operations: [
    { operation: { case: 'upsert', value: { points: [{ id: num(9), vectors: namedVecs({ a: [1] }) }] } } }] }),
  Code.InvalidArgument, /dimension/);
});

test('collections: update, aliases, as REST sees them', async () => {
  const cols = grpcOpen.api('collections');
  await cols.create({ collectionName: 'c1', vectorsConfig: vectorsConfig(2) });
  const upd = await cols.update({ collectionName: 'c1', hnswConfig: { m: 32n }, optimizersConfig: { indexingThreshold: 5000n } });
  assert.equal(upd.result, true);
  const cfg = (await rest(open, 'GET', '/collections/c1')).config;
  assert.equal(cfg.hnsw_config.m, 32);
  assert.equal(cfg.optimizer_config.indexing_threshold, 5000);
  assert.equal((await cols.get({ collectionName: 'c1' })).result.config.hnswConfig.m, 32n);

  const alias = (op, value) => ({ action: { case: op, value } });
  assert.equal((await cols.updateAliases({ actions: [alias('createAlias', { collectionName: 'c1', aliasName: 'al1' }),
    alias('createAlias', { collectionName: 'c1', aliasName: 'al2' })] })).result, true);
  const shape = (as) => as.map((a) => [a.aliasName ?? a.alias_name, a.collectionName ?? a.collection_name]).sort();
  const mine = (await cols.listCollectionAliases({ collectionName: 'c1' })).aliases;
  assert.deepEqual(shape(mine), [['al1', 'c1'], ['al2', 'c1']]);
  assert.deepEqual(shape(mine), shape((await rest(open, 'GET', '/collections/c1/aliases')).aliases));
  await cols.updateAliases({ actions: [alias('renameAlias', { oldAliasName: 'al2', newAliasName: 'al3' }),
    alias('deleteAlias', { aliasName: 'al1' })] });
  const every = (await cols.listAliases({})).aliases;
  assert.deepEqual(shape(every), shape((await rest(open, 'GET', '/aliases')).aliases));
  assert.deepEqual(shape(every).filter(([, c]) => c === 'c1'), [['al3', 'c1']]);
  assert.equal((await grpcOpen.api('points').count({ collectionName: 'al3' })).result.count, 0n);

  await rejectsWith(cols.update({ collectionName: 'nope', hnswConfig: { m: 8n } }), Code.NotFound, /nope/);
  await rejectsWith(cols.update({ collectionName: 'c1', vectorsConfig: { config: { case: 'paramsMap', value: { map: { zz: { onDisk: true } } } } } }),
    Code.InvalidArgument, /zz/);
  await rejectsWith(cols.updateAliases({ actions: [alias('createAlias', { collectionName: 'nope', aliasName: 'x' })] }),
    Code.NotFound, /nope/);
  await rejectsWith(cols.updateAliases({ actions: [alias('deleteAlias', { aliasName: 'never' })] }), Code.NotFound, /never/);
  await rejectsWith(cols.listCollectionAliases({ collectionName: 'nope' }), Code.NotFound, /nope/);
});

test('/metrics counts gRPC calls under their method, not REST routes', async () => {
  await grpcOpen.api('points').count({ collectionName: 'm1' });
  await rejectsWith(grpcOpen.api('points').count({ collectionName: 'nope' }), Code.NotFound);
  const m = await (await fetch(`${open.url}/metrics`)).text();
  assert.match(m, /^semcode_grpc_requests_total\{protocol="grpc",method="\/qdrant.Points\/Count",code="OK",status="200"\} \d+$/m);
  assert.match(m, /^semcode_grpc_requests_total\{protocol="grpc",method="\/qdrant.Points\/Count",code="NOT_FOUND",status="404"\} \d+$/m);
  assert.match(m, /^semcode_grpc_request_duration_seconds_count\{protocol="grpc",method="\/qdrant.Snapshots\/Create",code="OK",status="200"\} \d+$/m);
  assert.doesNotMatch(m, /semcode_http_requests_total\{endpoint="points_count"/); // this server's counts came over gRPC only
  assert.doesNotMatch(m, /semcode_http_requests_total\{[^}]*qdrant/);
  assert.match(m, /^semcode_http_requests_total\{endpoint="search_batch",status="200"\} \d+$/m); // REST still under its routes
});
