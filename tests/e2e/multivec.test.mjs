// End-to-end tests of multivectors (issue 17; late interaction, ColBERT-style)
// against the server started by run.sh (SEMCODE_URL), through the official
// client @qdrant/js-client-rest: a collection with a single dense vector and a
// Cosine multivector, points in the list and batch forms, queries whose
// results are checked against MAX_SIM computed here by brute force (sum over
// the query's rows of the best cosine to the point's rows), with a filter, a
// prefetch rescored by the multivector, a recommendation, vectors updated and
// deleted, and an unnamed Euclid multivector with Qdrant's own example.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient } from '@qdrant/js-client-rest';

const url = process.env.SEMCODE_URL;
const client = new QdrantClient({ url, checkCompatibility: false });
const C = 'multivec_e2e';
const N = 120, DIM = 6;

let seed = 0x2545f491;
function rnd() { // xorshift, so failures reproduce
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296 * 2 - 1;
}
const vec = () => Array.from({ length: DIM }, () => Math.round(rnd() * 100) / 100);
const multi = (n) => Array.from({ length: n }, vec);

const norm = (v) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
function maxSim(q, p) {
  return q.reduce((s, qr) => s + Math.max(...p.map((pr) => dot(norm(qr), norm(pr)))), 0);
}

const points = [];
before(async () => {
  await client.deleteCollection(C).catch(() => {});
  await client.createCollection(C, {
    vectors: {
      dense: { size: DIM, distance: 'Dot' },
      colbert: { size: DIM, distance: 'Cosine', multivector_config: { comparator: 'max_sim' } },
    },
  });
  for (let i = 0; i < N; i++) points.push({ id: i + 1, rows: multi(1 + (i % 5)), dense: vec(), group: i % 3 });
  const half = N / 2;
  await client.upsert(C, {
    wait: true,
    points: points.slice(0, half).map((p) => ({
      id: p.id, vector: { dense: p.dense, colbert: p.rows }, payload: { group: p.group },
    })),
  });
  await client.upsert(C, {
    wait: true,
    batch: {
      ids: points.slice(half).map((p) => p.id),
      vectors: { dense: points.slice(half).map((p) => p.dense), colbert: points.slice(half).map((p) => p.rows) },
      payloads: points.slice(half).map((p) => ({ group: p.group })),
    },
  });
});

test('collection info echoes the multivector config', async () => {
  const info = await client.getCollection(C);
  assert.deepEqual(info.config.params.vectors.colbert.multivector_config, { comparator: 'max_sim' });
  assert.equal(info.config.params.vectors.dense.multivector_config, undefined);
  assert.equal(info.points_count, N);
});

// Rows of a Cosine multivector are stored normalised, as Qdrant does.
const assertRows = (got, rows) => {
  assert.equal(got.length, rows.length);
  got.forEach((r, i) => norm(rows[i]).forEach((x, j) => assert.ok(Math.abs(r[j] - x) < 1e-6)));
};

test('retrieve returns the rows as stored (normalised for Cosine), the dense vector as given', async () => {
  const [p] = await client.retrieve(C, { ids: [7], with_vector: true });
  assertRows(p.vector.colbert, points[6].rows);
  assert.deepEqual(p.vector.dense, points[6].dense);
});

test('multivector queries rank by MAX_SIM, with and without a filter', async () => {
  for (let k = 0; k < 4; k++) {
    const q = multi(1 + k);
    const want = points.map((p) => ({ id: p.id, score: maxSim(q, p.rows), group: p.group }))
      .sort((a, b) => b.score - a.score || a.id - b.id);
    const r = await client.query(C, { query: q, using: 'colbert', limit: 10 });
    assert.equal(r.points.length, 10);
    r.points.forEach((p, i) => assert.ok(Math.abs(p.score - want[i].score) < 1e-4, `rank ${i}: ${p.score} vs ${want[i].score}`));
    const f = await client.query(C, {
      query: q, using: 'colbert', limit: 5, filter: { must: [{ key: 'group', match: { value: 1 } }] },
    });
    const wf = want.filter((p) => p.group === 1);
    f.points.forEach((p, i) => assert.ok(Math.abs(p.score - wf[i].score) < 1e-4));
  }
});

test('a dense prefetch rescored by the multivector, and a recommendation', async () => {
  const q = multi(3), dq = vec();
  const r = await client.query(C, {
    prefetch: { query: dq, using: 'dense', limit: 30 }, query: q, using: 'colbert', limit: 5,
  });
  const cands = points.map((p) => ({ id: p.id, d: dot(dq, p.dense), s: maxSim(q, p.rows) }))
    .sort((a, b) => b.d - a.d || a.id - b.id).slice(0, 30).sort((a, b) => b.s - a.s || a.id - b.id);
  r.points.forEach((p, i) => assert.ok(Math.abs(p.score - cands[i].s) < 1e-4));
  const rec = await client.query(C, {
    query: { recommend: { positive: [1, 2], negative: [3], strategy: 'best_score' } }, using: 'colbert', limit: 3,
  });
  assert.equal(rec.points.length, 3);
  assert.ok(!rec.points.some((p) => [1, 2, 3].includes(p.id)));
});

test('a level\'s filter holds for its prefetch; MMR over a multivector is refused', async () => {
  // the root's filter narrows the dense prefetch too (Qdrant), so its 30 candidates are all of group 1
  const q = multi(2), dq = vec();
  const r = await client.query(C, {
    prefetch: { query: dq, using: 'dense', limit: 30 }, query: q, using: 'colbert', limit: 5,
    filter: { must: [{ key: 'group', match: { value: 1 } }] }, with_payload: true,
  });
  const cands = points.filter((p) => p.group === 1).map((p) => ({ id: p.id, d: dot(dq, p.dense), s: maxSim(q, p.rows) }))
    .sort((a, b) => b.d - a.d || a.id - b.id).slice(0, 30).sort((a, b) => b.s - a.s || a.id - b.id);
  assert.equal(r.points.length, 5);
  r.points.forEach((p, i) => {
    assert.equal(p.payload.group, 1);
    assert.ok(Math.abs(p.score - cands[i].s) < 1e-4, `rank ${i}: ${p.score} vs ${cands[i].s}`);
  });
  const query = async (body) => {
    const res = await fetch(`${url}/collections/${C}/points/query`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    return [res.status, (await res.json()).status.error];
  };
  for (const nearest of [multi(2), vec()]) { // a multivector query, or one row against multivector points
    const [status, err] = await query({ query: { nearest, mmr: { diversity: 0.5 } }, using: 'colbert', limit: 3 });
    assert.equal(status, 400);
    assert.match(err, /mmr.*multivector/);
  }
});

test('update and delete of the multivector keep the other vector', async () => {
  const rows = multi(2);
  await client.updateVectors(C, { wait: true, points: [{ id: 5, vector: { colbert: rows } }] });
  let [p] = await client.retrieve(C, { ids: [5], with_vector: true });
  assertRows(p.vector.colbert, rows);
  assert.deepEqual(p.vector.dense, points[4].dense);
  await client.deleteVectors(C, { wait: true, points: [5], vector: ['colbert'] });
  [p] = await client.retrieve(C, { ids: [5], with_vector: true });
  assert.equal(p.vector.colbert, undefined);
  const r = await client.query(C, { query: rows, using: 'colbert', limit: N });
  assert.ok(!r.points.some((x) => x.id === 5));
});

test('ragged or empty rows are refused with Qdrant\'s validation messages', async () => {
  const bad = async (v) => {
    const res = await fetch(`${url}/collections/${C}/points`, {
      method: 'PUT', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ points: [{ id: 999, vector: { colbert: v } }] }),
    });
    return [res.status, (await res.json()).status.error];
  };
  let [status, err] = await bad([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.1]]);
  assert.equal(status, 422);
  assert.match(err, /all vectors must have the same dimension, found vector with dimension 1/);
  [status, err] = await bad([[]]);
  assert.equal(status, 422);
  assert.match(err, /all vectors must be non-empty/);
  [status, err] = await bad([[0.1, 0.2]]);
  assert.equal(status, 400);
  assert.match(err, /Vector dimension error: expected dim: 6, got 2/);
});

test('an unnamed Euclid multivector: Qdrant\'s example scores 0 and sqrt(19)', async () => {
  const E = 'multivec_e2e_euclid';
  await client.deleteCollection(E).catch(() => {});
  await client.createCollection(E, { vectors: { size: 3, distance: 'Euclid', multivector_config: { comparator: 'max_sim' } } });
  await client.upsert(E, {
    wait: true,
    points: [{ id: 1, vector: [[1, 2, 3], [3, 3, 3], [4, 5, 6]] }, { id: 2, vector: [[3, 3, 3], [4, 2, 1]] }],
  });
  const r = await client.query(E, { query: [[1, 2, 3], [3, 3, 3], [4, 5, 6]], limit: 10 });
  assert.deepEqual(r.points.map((p) => p.id), [1, 2]);
  assert.equal(r.points[0].score, 0);
  assert.ok(Math.abs(r.points[1].score - Math.sqrt(19)) < 1e-5);
  const [p] = await client.retrieve(E, { ids: [2], with_vector: true });
  assert.deepEqual(p.vector, [[3, 3, 3], [4, 2, 1]]);
  await client.deleteCollection(E);
});
