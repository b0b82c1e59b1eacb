// End-to-end tests of the legacy discovery endpoints, recommend batch and
// collection cluster info of `semcode serve`, over REST with Qdrant's
// official REST client (@qdrant/js-client-rest) and over gRPC with its
// official gRPC client (@qdrant/js-client-grpc), against one real server:
// POST /points/discover (target + context pairs, context alone),
// /points/discover/batch, /points/recommend/batch, GET /collections/{c}/cluster
// and the gRPC methods Discover, DiscoverBatch, RecommendBatch and
// CollectionClusterInfo. Discover results are checked against a brute-force
// computation of Qdrant's scores here; gRPC answers against REST's; bad
// requests get REST 400/404 naming the field and gRPC INVALID_ARGUMENT /
// NOT_FOUND. Run: node --test tests/e2e/discover.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QdrantClient as RestClient } from '@qdrant/js-client-rest';
import { QdrantClient as GrpcClient, ConnectErrorCode as Code } from '@qdrant/js-client-grpc';
import { serve, stop, rejectsWith } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../..', process.env.SEMCODE_BIN || 'build/semcode');
const DIM = 8;
const N = 240;

let tmp, srv, rest, grpc, vecs;

// Deterministic pseudo-random numbers in [-1, 1).
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

const cos = (a, b) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
};
// Qdrant's scores (lib/segment/src/vector_storage/query/): discover and context.
const scaledSigmoid = (x) => 0.5 * (x / (1 + Math.abs(x)) + 1);
const EPS = 1.1920929e-7; // f32::EPSILON
function discoverScore(v, target, pairs) {
  let rank = 0;
  for (const [p, n] of pairs) { const a = cos(v, p), b = cos(v, n); rank += a > b ? 1 : a < b ? -1 : 0; }
  return rank + scaledSigmoid(cos(v, target));
}
function contextScore(v, pairs) {
  let s = 0;
  for (const [p, n] of pairs) { const x = Math.min(cos(v, p) - cos(v, n) - EPS, 0); s += x / (1 + Math.abs(x)); }
  return s;
}

// The brute-force top of ids (all points but `exclude`, those that pass keep) by score.
function bruteTop(score, { exclude = [], keep = () => true, offset = 0, limit }) {
  const all = [];
  for (let id = 0; id < N; id++) if (!exclude.includes(id) && keep(id)) all.push([id, score(vecs[id])]);
  all.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
  return all.slice(offset, offset + limit);
}

// The answer matches the brute force: the same scores rank by rank, and each
// returned point's own score is its brute-force score (ties may swap ids).
function assertMatches(hits, expect, what) {
  assert.equal(hits.length, expect.length, `${what}: number of hits`);
  for (let i = 0; i < hits.length; i++) {
    assert.ok(Math.abs(hits[i].score - expect[i][1]) < 1e-4, `${what}: rank ${i} score ${hits[i].score} vs ${expect[i][1]}`);
  }
}
function assertOwnScores(hits, score, what) {
  for (const h of hits) assert.ok(Math.abs(h.score - score(vecs[h.id])) < 1e-4, `${what}: score of ${h.id}`);
}

// gRPC messages as the client takes them.
const num = (n) => ({ pointIdOptions: { case: 'num', value: BigInt(n) } });
const exId = (n) => ({ example: { case: 'id', value: num(n) } });
const exVec = (data) => ({ example: { case: 'vector', value: { vector: { case: 'dense', value: { data } } } } });
const target = (ex) => ({ target: { case: 'single', value: ex } });
const withPayload = { selectorOptions: { case: 'enable', value: true } };
const hitsOf = (ps) => ps.map((p) => [Number(p.id.pointIdOptions.value), Number(p.score.toFixed(5))]);
const restHits = (ps) => ps.map((p) => [p.id, Number(p.score.toFixed(5))]);

// A REST call with fetch: {status, json}.
async function call(method, p, body) {
  const r = await fetch(`${srv.url}${p}`, { method, headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

// POST /points/discover as body is (the official client's discoverPoints leaves `filter` out).
async function restDiscover(coll, body) {
  const r = await call('POST', `/collections/${coll}/points/discover`, body);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.result;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-discover-'));
  const gp = path.join(tmp, 'grpc.port');
  srv = await serve(bin, tmp, 'srv', path.join(tmp, 'store'), null, {}, ['--grpc-port-file', gp]);
  const port = Number(fs.readFileSync(gp, 'utf8').trim());
  rest = new RestClient({ url: srv.url, checkCompatibility: false });
  grpc = new GrpcClient({ host: '127.0.0.1', port, https: false, checkCompatibility: false });
  const r = rng(18);
  vecs = Array.from({ length: N }, () => Array.from({ length: DIM }, r));
  await rest.createCollection('d', { vectors: { size: DIM, distance: 'Cosine' } });
  await rest.createCollection('dn', { vectors: { a: { size: DIM, distance: 'Cosine' } } });
  const points = vecs.map((v, id) => ({ id, vector: v, payload: { g: id % 3, name: `p${id}` } }));
  await rest.upsert('d', { wait: true, points });
  await rest.upsert('dn', { wait: true, points: points.map((p) => ({ ...p, vector: { a: p.vector } })) });
});

after(async () => {
  if (srv) assert.equal(await stop(srv), 0, 'the server exits 0 on SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('discover with a target and context pairs ranks as the brute force, REST and gRPC alike', async () => {
  const q = [0.3, -0.2, 0.5, 0.1, 0, -0.4, 0.2, 0.6];
  const pairs = [[vecs[3], vecs[7]], [vecs[11], q]];
  const res = await rest.discoverPoints('d', { target: 5, context: [{ positive: 3, negative: 7 }, { positive: 11, negative: q }],
    limit: 10, with_payload: true });
  const score = (v) => discoverScore(v, vecs[5], pairs);
  assertMatches(res, bruteTop(score, { exclude: [3, 5, 7, 11], limit: 10 }), 'discover');
  assertOwnScores(res, score, 'discover');
  assert.ok(res.every((p) => ![3, 5, 7, 11].includes(p.id)), 'the examples are not answers');
  assert.equal(res[0].payload.name, `p${res[0].id}`);
  assert.equal(res[0].vector, null);

  const g = (await grpc.api('points').discover({ collectionName: 'd', target: target(exId(5)),
    context: [{ positive: exId(3), negative: exId(7) }, { positive: exId(11), negative: exVec(q) }],
    limit: 10n, withPayload })).result;
  assert.deepEqual(hitsOf(g), restHits(res));
  assert.equal(g[0].payload.name.kind.value, `p${res[0].id}`);

  // the same scores as /points/query's discover query
  const viaQuery = await rest.query('d', { query: { discover: { target: 5, context: [{ positive: 3, negative: 7 },
    { positive: 11, negative: q }] } }, limit: 10 });
  assert.deepEqual(restHits(viaQuery.points), restHits(res));
});

test('context search alone, filter, offset, with_vector and a vector target', async () => {
  const pairs = [[vecs[1], vecs[2]], [vecs[20], vecs[30]]];
  const keep = (id) => id % 3 === 1;
  const filter = { must: [{ key: 'g', match: { value: 1 } }] };
  const body = { context: [{ positive: 1, negative: 2 }, { positive: 20, negative: 30 }], filter, limit: 5, offset: 3,
    with_vector: true };
  // (the REST client's discoverPoints drops `filter`: sent as it is here)
  const res = await restDiscover('d', body);
  const score = (v) => contextScore(v, pairs);
  assertMatches(res, bruteTop(score, { exclude: [1, 2, 20, 30], keep, offset: 3, limit: 5 }), 'context');
  assertOwnScores(res, score, 'context');
  assert.ok(res.every((p) => p.id % 3 === 1 && p.score <= 0), 'filtered; a context score is at most 0');
  assert.equal(res[0].vector.length, DIM);

  const keyG = { conditionOneOf: { case: 'field', value: { key: 'g', match: { matchValue: { case: 'integer', value: 1n } } } } };
  const g = (await grpc.api('points').discover({ collectionName: 'd',
    context: [{ positive: exId(1), negative: exId(2) }, { positive: exId(20), negative: exId(30) }],
    filter: { must: [keyG] }, limit: 5n, offset: 3n,
    withVectors: { selectorOptions: { case: 'enable', value: true } } })).result;
  assert.deepEqual(hitsOf(g), restHits(res));
  assert.equal(g[0].vectors.vectorsOptions.value.vector.value.data.length, DIM);

  // a target given as numbers, no context: ranked by similarity to it
  const t = vecs[9].map((x) => x + 0.01);
  const byVec = await rest.discoverPoints('d', { target: t, limit: 4 });
  assertMatches(byVec, bruteTop((v) => discoverScore(v, t, []), { limit: 4 }), 'target only');
  assert.equal(byVec[0].id, 9);
  const gv = (await grpc.api('points').discover({ collectionName: 'd', target: target(exVec(t)), limit: 4n })).result;
  assert.deepEqual(hitsOf(gv), restHits(byVec));
});

test('using a named vector and lookup_from another collection', async () => {
  const pairs = [[vecs[4], vecs[8]]];
  const res = await rest.discoverPoints('dn', { target: 6, context: [{ positive: 4, negative: 8 }], using: 'a', limit: 6 });
  assertMatches(res, bruteTop((v) => discoverScore(v, vecs[6], pairs), { exclude: [4, 6, 8], limit: 6 }), 'using');
  // the examples are points of `d`: nothing is excluded in `dn`
  const look = await rest.discoverPoints('dn', { target: 6, context: [{ positive: 4, negative: 8 }], using: 'a', limit: 6,
    lookup_from: { collection: 'd', vector: '' } });
  assertMatches(look, bruteTop((v) => discoverScore(v, vecs[6], pairs), { limit: 6 }), 'lookup_from');
  const g = (await grpc.api('points').discover({ collectionName: 'dn', target: target(exId(6)),
    context: [{ positive: exId(4), negative: exId(8) }], using: 'a', limit: 6n,
    lookupFrom: { collectionName: 'd', vectorName: '' } })).result;
  assert.deepEqual(hitsOf(g), restHits(look));
});

test('discover batch and recommend batch answer as their single requests', async () => {
  const searches = [
    { target: 10, context: [{ positive: 12, negative: 13 }], limit: 3 },
    { context: [{ positive: 14, negative: 15 }], limit: 4, filter: { must: [{ key: 'g', match: { value: 2 } }] } },
  ];
  const batch = await rest.discoverBatchPoints('d', { searches });
  assert.equal(batch.length, 2);
  for (let i = 0; i < 2; i++) assert.deepEqual(restHits(batch[i]), restHits(await restDiscover('d', searches[i])));
  const gb = (await grpc.api('points').discoverBatch({ collectionName: 'd', discoverPoints: [
    { collectionName: 'd', target: target(exId(10)), context: [{ positive: exId(12), negative: exId(13) }], limit: 3n },
    { collectionName: 'd', context: [{ positive: exId(14), negative: exId(15) }], limit: 4n, filter: { must: [
      { conditionOneOf: { case: 'field', value: { key: 'g', match: { matchValue: { case: 'integer', value: 2n } } } } }] } },
  ] })).result;
  assert.deepEqual(gb.map((b) => hitsOf(b.result)), batch.map(restHits));

  const recs = [{ positive: [1, 2], negative: [3], limit: 5 }, { positive: [40], strategy: 'best_score', limit: 3, offset: 1 }];
  const rb = await rest.recommendBatch('d', { searches: recs });
  for (let i = 0; i < 2; i++) assert.deepEqual(restHits(rb[i]), restHits(await rest.recommend('d', recs[i])));
  const grb = (await grpc.api('points').recommendBatch({ collectionName: 'd', recommendPoints: [
    { collectionName: 'd', positive: [num(1), num(2)], negative: [num(3)], limit: 5n },
    { collectionName: 'd', positive: [num(40)], strategy: 1 /* BestScore */, limit: 3n, offset: 1n },
  ] })).result;
  assert.deepEqual(grb.map((b) => hitsOf(b.result)), rb.map(restHits));
});

test('collection cluster info of a single node, REST and gRPC', async () => {
  const info = await rest.collectionClusterInfo('d');
  assert.equal(info.shard_count, 1);
  assert.ok(Number.isInteger(info.peer_id) && info.peer_id >= 1 && info.peer_id <= 2 ** 53);
  assert.deepEqual(info.local_shards, [{ shard_id: 0, points_count: N, state: 'Active' }]);
  assert.deepEqual(info.remote_shards, []);
  assert.deepEqual(info.shard_transfers, []);
  assert.equal((await rest.collectionClusterInfo('dn')).peer_id, info.peer_id, 'one peer id per node');
  const g = await grpc.api('collections').collectionClusterInfo({ collectionName: 'd' });
  assert.equal(g.peerId, BigInt(info.peer_id));
  assert.equal(g.shardCount, 1n);
  assert.equal(g.localShards.length, 1);
  assert.equal(g.localShards[0].pointsCount, BigInt(N));
  assert.equal(g.localShards[0].state, 0); // ReplicaState.Active
  assert.equal(g.remoteShards.length, 0);
  assert.equal(g.shardTransfers.length, 0);
  assert.equal((await call('GET', '/collections/nope/cluster')).status, 404);
  await rejectsWith(grpc.api('collections').collectionClusterInfo({ collectionName: 'nope' }), Code.NotFound, /nope/);
  await rejectsWith(grpc.api('collections').collectionClusterInfo({ collectionName: '' }), Code.InvalidArgument,
    /collection_name/);
});

test('bad discover and recommend batch requests: REST 400/404 naming the field, gRPC INVALID_ARGUMENT/NOT_FOUND', async () => {
  const D = '/collections/d/points/discover';
  const bad = [
    [{ target: 1 }, 400, /missing field `limit`/],
    [{ limit: 3 }, 400, /`target` or at least one `context` pair/],
    [{ context: [], limit: 3 }, 400, /`target` or at least one `context` pair/],
    [{ target: 1, context: { positive: 2, negative: 3 }, limit: 3 }, 400, /`context` must be a list/],
    [{ context: [{ positive: 2 }], limit: 3 }, 400, /context\[0\]/],
    [{ target: [1, 2], limit: 3 }, 400, /dimension|Wrong input/],
    [{ target: 9999, limit: 3 }, 404, /9999/],
    [{ context: [{ positive: 2, negative: 9998 }], limit: 3 }, 404, /9998/],
    [{ target: 1, limit: 0 }, 422, /limit/],
    [{ target: 1, limit: 3, using: 'nope' }, 400, /nope/],
  ];
  for (const [body, status, re] of bad) {
    const r = await call('POST', D, body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
    assert.match(r.json.status.error, re, JSON.stringify(body));
  }
  assert.equal((await call('POST', '/collections/nope/points/discover', { target: 1, limit: 3 })).status, 404);
  const rb = await call('POST', '/collections/d/points/recommend/batch', { searches: [{ positive: [1], limit: 2 }, { positive: [9997], limit: 2 }] });
  assert.equal(rb.status, 404);
  assert.match(rb.json.status.error, /9997/);
  assert.equal((await call('POST', '/collections/d/points/discover/batch', { searches: {} })).status, 400);
  const v = await call('POST', '/collections/d/points/discover/batch', { searches: [{ target: 1, limit: 2 }, { target: 1, limit: 0 }] });
  assert.equal(v.status, 422);
  assert.match(v.json.status.error, /searches\[1\]\.limit/);

  const pts = grpc.api('points');
  await rejectsWith(pts.discover({ collectionName: 'd', target: target(exId(1)) }), Code.InvalidArgument, /limit/);
  await rejectsWith(pts.discover({ collectionName: 'd', limit: 2n }), Code.InvalidArgument, /target/);
  await rejectsWith(pts.discover({ collectionName: 'd', target: target(exId(9999)), limit: 2n }), Code.NotFound, /9999/);
  await rejectsWith(pts.discover({ collectionName: 'nope', target: target(exId(1)), limit: 2n }), Code.NotFound, /nope/);
  await rejectsWith(pts.discover({ collectionName: 'd', target: target(exVec([1, 2])), limit: 2n }), Code.InvalidArgument);
  await rejectsWith(pts.discoverBatch({ collectionName: 'd', discoverPoints: [{ collectionName: 'd', limit: 1n }] }),
    Code.InvalidArgument, /target/);
  await rejectsWith(pts.recommendBatch({ collectionName: 'd', recommendPoints: [{ collectionName: 'd', positive: [num(9999)], limit: 1n }] }),
    Code.NotFound, /9999/);
});
