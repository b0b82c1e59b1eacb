// End-to-end tests of sparse vectors (issue 17) against the server started by
// run.sh (SEMCODE_URL), through the official client @qdrant/js-client-rest
// 1.18.0: a collection with a dense vector and a BM25-style sparse vector with
// the `idf` modifier, points upserted in the list and the batch forms, and the
// hybrid search Qdrant users write (a dense and a sparse prefetch fused by
// RRF), each result checked against the same computation done here by brute
// force: cosine for the dense leg, Qdrant's idf formula and the dot product
// for the sparse leg, 1 / (k + rank) with k = 2 and ranks from 0 for RRF.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient } from '@qdrant/js-client-rest';

const url = process.env.SEMCODE_URL;
const client = new QdrantClient({ url, checkCompatibility: false });
const C = 'sparse_hybrid';
const N = 300, DIM = 8, VOCAB = 400;

// A deterministic generator (xorshift), so failures reproduce.
let seed = 0x9e3779b9;
function rnd() {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
}

// BM25 term weights of a document as FastEmbed's Qdrant/bm25 gives them
// (tf saturation only; the idf comes from the collection's modifier).
function bm25Doc(words) {
  const tf = new Map();
  for (const w of words) tf.set(w, (tf.get(w) || 0) + 1);
  const k1 = 1.2, b = 0.75, avg = 12, len = words.length;
  const indices = [], values = [];
  for (const [w, f] of tf) {
    indices.push(w * 7919 % 1000003); // word ids spread over the index space
    values.push(f * (k1 + 1) / (f + k1 * (1 - b + b * len / avg)));
  }
  return { indices, values };
}

// Zipf-like word draws: a few common words, a long tail of rare ones.
const word = () => Math.floor(VOCAB * Math.pow(rnd(), 3));

const points = [];
for (let i = 1; i <= N; i++) {
  const v = Array.from({ length: DIM }, () => rnd() * 2 - 1);
  const words = Array.from({ length: 4 + Math.floor(rnd() * 16) }, word);
  points.push({ id: i, vector: { code: v, bm25: bm25Doc(words) }, payload: { group: i % 3 } });
}

const norm = (v) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

function denseRef(q, limit, group) {
  const qn = norm(q);
  return points.filter((p) => group === undefined || p.payload.group === group)
    .map((p) => ({ id: p.id, score: dot(qn, norm(p.vector.code)) }))
    .sort((a, b) => b.score - a.score || a.id - b.id).slice(0, limit);
}

// Qdrant's idf modifier: idf = ln((N - df + 0.5) / (df + 0.5) + 1) over the
// points whose vector has the index (deleted points excluded).
function sparseRef(q, limit, group, live = points) {
  const withVec = live.filter((p) => p.vector.bm25.indices.length > 0);
  const w = q.indices.map((ix, j) => {
    const df = withVec.filter((p) => p.vector.bm25.indices.includes(ix)).length;
    return q.values[j] * Math.log((withVec.length - df + 0.5) / (df + 0.5) + 1);
  });
  const out = [];
  for (const p of live) {
    if (group !== undefined && p.payload.group !== group) continue;
    const s = p.vector.bm25;
    let score = 0, overlap = false;
    q.indices.forEach((ix, j) => {
      const at = s.indices.indexOf(ix);
      if (at >= 0) { overlap = true; score += w[j] * s.values[at]; }
    });
    if (overlap && score !== 0) out.push({ id: p.id, score });
  }
  return out.sort((a, b) => b.score - a.score || a.id - b.id).slice(0, limit);
}

function rrfRef(lists, limit) {
  const acc = new Map();
  for (const l of lists) l.forEach((h, rank) => acc.set(h.id, (acc.get(h.id) || 0) + 1 / (2 + rank)));
  return [...acc].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score || a.id - b.id).slice(0, limit);
}

// Same ids in the same order, scores equal up to f32 rounding.
function assertSame(got, want, what) {
  assert.deepEqual(got.map((h) => h.id), want.map((h) => h.id), `${what}: ids`);
  got.forEach((h, i) => assert.ok(Math.abs(h.score - want[i].score) <= 1e-5 * Math.max(1, Math.abs(want[i].score)),
    `${what}: score of ${h.id} is ${h.score}, reference ${want[i].score}`));
}

function query(k) { // a query of k distinct words, as a BM25 query vector (weights 1)
  const ids = new Set();
  while (ids.size < k) ids.add(word());
  const indices = [...ids].map((w) => w * 7919 % 1000003);
  return { indices, values: indices.map(() => 1) };
}

before(async () => {
  await client.deleteCollection(C);
  await client.createCollection(C, {
    vectors: { code: { size: DIM, distance: 'Cosine' } },
    sparse_vectors: { bm25: { modifier: 'idf' } },
  });
  // half in the list form, half in the batch form
  const half = N / 2;
  await client.upsert(C, { wait: true, points: points.slice(0, half) });
  const rest = points.slice(half);
  await client.upsert(C, {
    wait: true,
    batch: {
      ids: rest.map((p) => p.id),
      vectors: { code: rest.map((p) => p.vector.code), bm25: rest.map((p) => p.vector.bm25) },
      payloads: rest.map((p) => p.payload),
    },
  });
});

test('collection info reports the sparse vector and its modifier', async () => {
  const info = await client.getCollection(C);
  assert.equal(info.points_count, N);
  assert.deepEqual(info.config.params.sparse_vectors, { bm25: { index: { on_disk: false }, modifier: 'idf' } });
  assert.equal(info.config.params.vectors.code.size, DIM);
});

test('retrieve returns the sparse vector sorted by index', async () => {
  const [r] = await client.retrieve(C, { ids: [7], with_vector: true });
  const p = points[6].vector.bm25;
  const order = p.indices.map((ix, j) => [ix, p.values[j]]).sort((a, b) => a[0] - b[0]);
  assert.deepEqual(r.vector.bm25.indices, order.map((e) => e[0]));
  r.vector.bm25.values.forEach((v, j) => assert.ok(Math.abs(v - order[j][1]) < 1e-6));
  assert.equal(r.vector.code.length, DIM);
});

test('sparse query with idf equals the brute force, with filter, offset and threshold', async () => {
  let thresholds = 0;
  for (let t = 0; t < 15; t++) {
    const q = query(1 + (t % 5));
    const group = t % 2 ? t % 3 : undefined;
    const filter = group === undefined ? undefined : { must: [{ key: 'group', match: { value: group } }] };
    const r = await client.query(C, { query: q, using: 'bm25', limit: 10, filter });
    assertSame(r.points, sparseRef(q, 10, group), `sparse query ${t}`);
    const all = sparseRef(q, 1000, group);
    if (all.length > 4 && all[3].score - all[4].score > 1e-4) { // a threshold f32 rounding cannot move across
      const th = (all[3].score + all[4].score) / 2;
      const r2 = await client.query(C, { query: { nearest: q }, using: 'bm25', limit: 3, offset: 1, score_threshold: th, filter });
      assertSame(r2.points, all.filter((h) => h.score >= th).slice(1, 4), `threshold ${t}`);
      thresholds++;
    }
  }
  assert.ok(thresholds >= 3, `only ${thresholds} queries checked a threshold`);
});

test('legacy search takes a named sparse vector', async () => {
  const q = query(3);
  const r = await client.search(C, { vector: { name: 'bm25', vector: q }, limit: 5 });
  assertSame(r, sparseRef(q, 5), 'search');
});

test('hybrid query: dense and sparse prefetches fused by RRF', async () => {
  for (let t = 0; t < 10; t++) {
    const dq = Array.from({ length: DIM }, () => rnd() * 2 - 1);
    const sq = query(2 + (t % 4));
    const group = t % 3 === 2 ? 1 : undefined;
    const filter = group === undefined ? undefined : { must: [{ key: 'group', match: { value: group } }] };
    const r = await client.query(C, {
      prefetch: [
        { query: dq, using: 'code', limit: 20, filter },
        { query: sq, using: 'bm25', limit: 20, filter },
      ],
      query: { fusion: 'rrf' },
      limit: 10,
      with_payload: true,
    });
    const want = rrfRef([denseRef(dq, 20, group), sparseRef(sq, 20, group)], 10);
    assertSame(r.points, want, `hybrid ${t}`);
    if (group !== undefined) r.points.forEach((p) => assert.equal(p.payload.group, group));
  }
});

test('bad sparse input is refused with Qdrant status and a precise message', async () => {
  await assert.rejects(client.upsert(C, { wait: true, points: [{ id: 9999, vector: { bm25: { indices: [1, 2], values: [1] } } }] }),
    (e) => e.status === 422 && /must be the same length as indices/.test(JSON.stringify(e.data)));
  await assert.rejects(client.upsert(C, { wait: true, points: [{ id: 9999, vector: { bm25: { indices: [1, 1], values: [1, 2] } } }] }),
    (e) => e.status === 422 && /must be unique/.test(JSON.stringify(e.data)) && /index 1 is given twice/.test(JSON.stringify(e.data)));
  await assert.rejects(client.upsert(C, { wait: true, points: [{ id: 9999, vector: { sparse: { indices: [1], values: [1] } } }] }),
    (e) => e.status === 400 && /sparse vector name `sparse` is not configured/.test(JSON.stringify(e.data)));
  await assert.rejects(client.query(C, { query: { indices: [1], values: [1] }, using: 'code' }),
    (e) => e.status === 400 && /is dense/.test(JSON.stringify(e.data)));
  const [r] = await client.retrieve(C, { ids: [9999] }).then((x) => [x.length]);
  assert.equal(r, 0); // nothing stored
});

test('a deleted point leaves the sparse index and the idf statistics', async () => {
  const q = { indices: points[0].vector.bm25.indices.slice(0, 2), values: [1, 1] };
  await client.delete(C, { wait: true, points: [1, 2, 3] });
  const live = points.filter((p) => p.id > 3);
  const r = await client.query(C, { query: q, using: 'bm25', limit: 10 });
  assertSame(r.points, sparseRef(q, 10, undefined, live), 'after delete');
  await client.upsert(C, { wait: true, points: points.slice(0, 3) });
});
