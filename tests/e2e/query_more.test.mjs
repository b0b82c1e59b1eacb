// The rest of Qdrant's query API and its conditional writes, end to end
// with Qdrant's official JavaScript client (@qdrant/js-client-rest) against
// `semcode serve` (SEMCODE_URL, set by tests/e2e/run.sh): grouped queries
// (query / search / recommend groups, arrays, nested keys, with_lookup),
// nearest with MMR, formula re-scoring, relevance feedback, a filter that
// holds for the prefetches below it, update_filter and update_mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient } from '@qdrant/js-client-rest';

const url = process.env.SEMCODE_URL;
const client = new QdrantClient({ url, checkCompatibility: false });

async function fresh(name, distance = 'Cosine') {
  await client.deleteCollection(name);
  await client.createCollection(name, { vectors: { size: 4, distance } });
}

async function post(path, body, method = 'POST') {
  const r = await fetch(url + path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

async function rejectsWith(p, status, re) {
  await assert.rejects(p, (e) => {
    assert.equal(e.status, status, `status of ${e.message}`);
    if (re) assert.match(JSON.stringify(e.data), re);
    return true;
  });
}

const norm = (v) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
const cos = (a, b) => norm(a).reduce((s, x, i) => s + x * norm(b)[i], 0);

test('query groups: best hits per payload value, arrays, nested keys, group_size, limit, with_lookup', async () => {
  const c = 'qm_groups', docs = 'qm_groups_docs';
  await fresh(c);
  await fresh(docs);
  const points = [];
  for (let doc = 0; doc < 6; doc++) {
    for (let chunk = 0; chunk < 4; chunk++) {
      // doc d's chunks point ever further away from [1, 0, 0, 0]
      points.push({ id: doc * 10 + chunk, vector: [1, 0.1 * doc + 0.01 * chunk, 0, 0],
        payload: { doc, meta: { repo: `r${doc % 2}` }, tags: chunk === 0 ? ['first', `d${doc}`] : [`d${doc}`] } });
    }
  }
  points.push({ id: 99, vector: [1, 0, 0, 0], payload: { other: true } }); // no doc: in no group
  await client.upsert(c, { wait: true, points });
  await client.upsert(docs, { wait: true, points: [0, 1, 2, 3, 4, 5].map((d) => (
    { id: d, vector: [0, 0, 1, 0], payload: { title: `doc ${d}` } })) });

  let r = await client.queryGroups(c, { query: [1, 0, 0, 0], group_by: 'doc', group_size: 2, limit: 3, with_payload: true });
  assert.deepEqual(r.groups.map((g) => g.id), [0, 1, 2]);
  for (const g of r.groups) {
    assert.deepEqual(g.hits.map((h) => h.id), [g.id * 10, g.id * 10 + 1]);
    for (const h of g.hits) assert.equal(h.payload.doc, g.id);
    assert.ok(g.hits[0].score >= g.hits[1].score);
  }
  // a nested key; an array gives a group per element, and a point is in each
  r = await client.queryGroups(c, { query: [1, 0, 0, 0], group_by: 'meta.repo', group_size: 3, limit: 5 });
  assert.deepEqual(r.groups.map((g) => g.id), ['r0', 'r1']);
  assert.deepEqual(r.groups[0].hits.map((h) => h.id), [0, 1, 2]);
  r = await client.queryGroups(c, { query: [1, 0, 0, 0], group_by: 'tags[]', group_size: 10, limit: 2 });
  assert.deepEqual(r.groups.map((g) => g.id), ['first', 'd0']);
  assert.deepEqual(r.groups[0].hits.map((h) => h.id), [0, 10, 20, 30, 40, 50]);
  assert.deepEqual(r.groups[1].hits.map((h) => h.id), [0, 1, 2, 3]);
  // with_lookup joins each group with the point of the same id elsewhere
  r = await client.queryGroups(c, { query: [1, 0, 0, 0], group_by: 'doc', group_size: 1, limit: 2, with_lookup: docs });
  assert.deepEqual(r.groups.map((g) => [g.id, g.lookup.id, g.lookup.payload.title]), [[0, 0, 'doc 0'], [1, 1, 'doc 1']]);
  r = await client.queryGroups(c, { query: [1, 0, 0, 0], group_by: 'doc', group_size: 1, limit: 1,
    with_lookup: { collection: docs, with_payload: false, with_vectors: true } });
  assert.ok(!r.groups[0].lookup.payload);
  assert.equal(r.groups[0].lookup.vector.length, 4);
  // filters and thresholds apply to the hits
  r = await client.queryGroups(c, { query: [1, 0, 0, 0], group_by: 'doc', group_size: 4, limit: 10,
    filter: { must: [{ key: 'meta.repo', match: { value: 'r1' } }] } });
  assert.deepEqual(r.groups.map((g) => g.id), [1, 3, 5]);
  // the legacy forms
  r = await client.searchPointGroups(c, { vector: [1, 0, 0, 0], group_by: 'doc', group_size: 1, limit: 2 });
  assert.deepEqual(r.groups.map((g) => g.hits[0].id), [0, 10]);
  r = await client.recommendPointGroups(c, { positive: [0], group_by: 'doc', group_size: 1, limit: 2 });
  assert.deepEqual(r.groups.map((g) => g.id), [0, 1]);
  assert.equal(r.groups[0].hits[0].id, 1, 'the example itself is not a result');
  // errors
  await rejectsWith(client.queryGroups(c, { query: [1, 0, 0, 0], group_by: 'doc', group_size: 0 }), 422,
    /\[search_group_request\.group_size: value 0 invalid, must be 1 or larger\]/);
  await rejectsWith(client.queryGroups(c, { query: [1, 0, 0, 0], group_by: 'doc', with_lookup: 'nope' }), 404,
    /Collection nope not found/);
  assert.equal((await client.queryGroups(c, { query: [1, 0, 0, 0], group_by: 'missing' })).groups.length, 0);
});

test('nearest with MMR: near duplicates give way to diverse points; scores stay the query scores', async () => {
  const c = 'qm_mmr';
  await fresh(c);
  await client.upsert(c, { wait: true, points: [
    { id: 1, vector: [1, 0, 0, 0] },
    { id: 2, vector: [0.98, 0.05, 0, 0] },
    { id: 3, vector: [0.6, 0.8, 0, 0] },
    { id: 4, vector: [0, 0, 0, 1] },
  ] });
  const q = [1, 0, 0, 0];
  const plain = (await client.query(c, { query: q, limit: 3 })).points;
  assert.deepEqual(plain.map((p) => p.id), [1, 2, 3]);
  const diverse = (await client.query(c, { query: { nearest: q, mmr: { diversity: 0.9, candidates_limit: 3 } }, limit: 3 })).points;
  assert.deepEqual(diverse.map((p) => p.id), [1, 3, 2]);
  for (const p of diverse) assert.equal(p.score, plain.find((x) => x.id === p.id).score);
  const relevant = (await client.query(c, { query: { nearest: q, mmr: { diversity: 0 } }, limit: 3 })).points;
  assert.deepEqual(relevant.map((p) => p.id), [1, 2, 3]);
  // over every point, the orthogonal one (similarity 0 to all picks) comes second
  const all = (await client.query(c, { query: { nearest: q, mmr: { diversity: 0.9, candidates_limit: 4 } }, limit: 4 })).points;
  assert.deepEqual(all.map((p) => p.id), [1, 4, 3, 2]);
  await rejectsWith(client.query(c, { query: { nearest: q, mmr: { diversity: 2 } } }), 422,
    /\[internal\.query\.mmr\.diversity: value 2\.0 invalid, must be from 0\.0 to 1\.0\]/);
  await rejectsWith(client.query(c, { query: { nearest: q, mmr: { candidates_limit: 20000 } } }), 422,
    /candidates_limit: value 20000 invalid, must be 16384 or smaller/);
});

test('formula re-scoring of prefetch results: $score, payload numbers, conditions, decays, defaults', async () => {
  const c = 'qm_formula';
  await fresh(c);
  await client.upsert(c, { wait: true, points: [
    { id: 1, vector: [1, 0, 0, 0], payload: { price: 10, tag: 'sale', day: '2026-01-10T00:00:00Z' } },
    { id: 2, vector: [0.8, 0.6, 0, 0], payload: { price: 2, day: '2026-01-01T00:00:00Z' } },
    { id: 3, vector: [0, 1, 0, 0], payload: { tag: 'sale', day: '2026-01-05T00:00:00Z' } },
  ] });
  const q = [1, 0, 0, 0];
  const base = Object.fromEntries((await client.query(c, { query: q })).points.map((p) => [p.id, p.score]));
  const formula = { sum: ['$score', { mult: [0.1, 'price'] }, { mult: [2, { key: 'tag', match: { value: 'sale' } }] },
    { exp_decay: { x: { datetime_key: 'day' }, target: { datetime: '2026-01-10T00:00:00Z' }, scale: 86400 * 5 } }] };
  const r = (await client.query(c, { prefetch: { query: q, limit: 10 }, query: { formula, defaults: { price: 1 } } })).points;
  const days = { 1: 0, 2: 9, 3: 5 }, price = { 1: 10, 2: 2, 3: 1 }, sale = { 1: 1, 2: 0, 3: 1 };
  const want = (id) => base[id] + 0.1 * price[id] + 2 * sale[id] + Math.exp(Math.log(0.5) / 5 * days[id]);
  assert.deepEqual(r.map((p) => p.id), [1, 3, 2]);
  for (const p of r) assert.ok(Math.abs(p.score - want(p.id)) < 1e-5, `${p.id}: ${p.score} vs ${want(p.id)}`);
  // a threshold applies to the formula's result
  const top = (await client.query(c, { prefetch: { query: q }, query: { formula: 'price', defaults: { price: 0 } }, score_threshold: 5 })).points;
  assert.deepEqual(top.map((p) => p.id), [1]);
  // a variable with neither a value nor a default is an error, as are formulas without prefetches
  await rejectsWith(client.query(c, { prefetch: { query: q }, query: { formula: 'price' } }), 400,
    /No value found in a payload nor defaults/);
  await rejectsWith(client.query(c, { query: { formula: '$score' } }), 400, /without prefetches/);
  await rejectsWith(client.query(c, { prefetch: { query: q }, query: { formula: '$nope' } }), 400, /Invalid reserved word/);
});

test('relevance feedback (naive): a · sim(target) + c · Δscore^b · (sim(better) − sim(worse))', async () => {
  const c = 'qm_feedback';
  await fresh(c);
  const vecs = { 1: [1, 0, 0, 0], 2: [0.7, 0.7, 0, 0], 3: [0, 1, 0, 0], 4: [0.5, 0.5, 0.5, 0.5] };
  await client.upsert(c, { wait: true, points: Object.entries(vecs).map(([id, vector]) => ({ id: Number(id), vector })) });
  const target = [1, 0.5, 0, 0], good = [0, 1, 0, 0.2], bad = [1, 0, 0, 0.2];
  const naive = { a: 0.5, b: 2, c: 3 };
  const r = (await client.query(c, { query: { relevance_feedback: { target,
    feedback: [{ example: good, score: 0.9 }, { example: bad, score: 0.4 }], strategy: { naive } } } })).points;
  const want = (v) => naive.a * cos(target, v) + naive.c * 0.5 ** naive.b * (cos(good, v) - cos(bad, v));
  const expected = Object.keys(vecs).map(Number).sort((x, y) => want(vecs[y]) - want(vecs[x]));
  assert.deepEqual(r.map((p) => p.id), expected);
  for (const p of r) assert.ok(Math.abs(p.score - want(vecs[p.id])) < 1e-5, `${p.id}: ${p.score} vs ${want(vecs[p.id])}`);
  await rejectsWith(client.query(c, { query: { relevance_feedback: { target, feedback: [], strategy: { naive } } } }), 422,
    /feedback elements must be non-empty/);
});

test('validation messages name fields as Qdrant does: internal.*, searches[i].internal.*', async () => {
  const c = 'qm_names';
  await fresh(c);
  let r = await post(`/collections/${c}/points/query`, { query: [1, 0, 0, 0], limit: 0 });
  assert.equal(r.status, 422);
  assert.equal(r.json.status.error, 'Validation error in JSON body: [internal.limit: value 0 invalid, must be 1 or larger]');
  r = await post(`/collections/${c}/points/query/batch`, { searches: [{ query: [1, 0, 0, 0] }, { query: [1, 0, 0, 0], limit: 0 }] });
  assert.equal(r.status, 422);
  assert.match(r.json.status.error, /\[searches\[1\]\.internal\.limit: value 0 invalid/);
  r = await post(`/collections/${c}/points/query`, { prefetch: [{ query: [1, 0, 0, 0] }], query: { fusion: 'rrf' }, using: '' });
  assert.equal(r.status, 400);
  assert.equal(r.json.status.error, "Bad request: Fusion queries cannot be combined with the 'using' field.");
  r = await post(`/collections/${c}/points/query`, { query: { recommend: { positive: [1] } }, lookup_from: { collection: 'nowhere' } });
  assert.equal(r.status, 404);
  assert.equal(r.json.status.error, 'Not found: Collection nowhere not found');
});

test('a filter holds for the prefetches below it: fusion of filtered prefetches', async () => {
  const c = 'qm_propagate';
  await fresh(c);
  await client.upsert(c, { wait: true, points: [1, 2, 3, 4, 5, 6].map((id) => (
    { id, vector: [1, id / 10, 0, 0], payload: { even: id % 2 === 0 } })) });
  const r = (await client.query(c, { prefetch: [{ query: [1, 0, 0, 0], limit: 2 }, { query: [1, 1, 0, 0], limit: 2 }],
    query: { fusion: 'rrf' }, filter: { must: [{ key: 'even', match: { value: true } }] } })).points;
  assert.deepEqual(r.map((p) => p.id).sort(), [2, 4, 6]);
});

test('conditional writes: update_filter on upsert and vectors update, update_mode insert_only / update_only', async () => {
  const c = 'qm_cond';
  await fresh(c, 'Dot');
  await client.upsert(c, { wait: true, points: [{ id: 1, vector: [1, 0, 0, 0], payload: { version: 5 } }] });
  const version = async (id) => (await client.retrieve(c, { ids: [id], with_payload: true }))[0]?.payload.version;
  await client.upsert(c, { wait: true, points: [{ id: 1, vector: [2, 0, 0, 0], payload: { version: 4 } },
    { id: 2, vector: [2, 0, 0, 0], payload: { version: 4 } }],
    update_filter: { must: [{ key: 'version', range: { lt: 4 } }] } });
  assert.equal(await version(1), 5, 'an existing point that fails the filter is kept');
  assert.equal(await version(2), 4, 'a new point is inserted whatever the filter');
  await client.upsert(c, { wait: true, points: [{ id: 1, vector: [3, 0, 0, 0], payload: { version: 6 } }],
    update_filter: { must: [{ key: 'version', range: { lt: 6 } }] } });
  assert.equal(await version(1), 6);
  let r = await post(`/collections/${c}/points/vectors?wait=true`, { points: [{ id: 1, vector: [9, 0, 0, 0] }],
    update_filter: { must: [{ key: 'version', match: { value: 0 } }] } }, 'PUT');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal((await client.retrieve(c, { ids: [1], with_vector: true }))[0].vector[0], 3);
  await client.upsert(c, { wait: true, update_mode: 'insert_only', points: [
    { id: 1, vector: [1, 0, 0, 0], payload: { version: 7 } }, { id: 3, vector: [1, 0, 0, 0], payload: { version: 7 } }] });
  assert.deepEqual([await version(1), await version(3)], [6, 7]);
  await client.upsert(c, { wait: true, update_mode: 'update_only', points: [
    { id: 1, vector: [1, 0, 0, 0], payload: { version: 8 } }, { id: 4, vector: [1, 0, 0, 0], payload: { version: 8 } }] });
  assert.deepEqual([await version(1), await version(4)], [8, undefined]);
  // the same in a batch of operations
  r = await post(`/collections/${c}/points/batch?wait=true`, { operations: [{ upsert: { update_mode: 'update_only',
    points: [{ id: 5, vector: [1, 0, 0, 0], payload: { version: 9 } }] } }] });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(await version(5), undefined);
  r = await post(`/collections/${c}/points?wait=true`, { points: [], update_mode: 'sometimes' }, 'PUT');
  assert.equal(r.status, 400);
  assert.match(r.json.status.error, /unknown variant `sometimes`/);
});

test('order_by scroll: a point with several numbers comes once per number, past the number of points', async () => {
  const c = 'qm_order_multi';
  await fresh(c, 'Dot');
  await client.upsert(c, { wait: true, points: [1, 2, 3].map((id) => ({ id, vector: [1, 0, 0, 0], payload: { n: [id, 10 + id] } })) });
  await client.createPayloadIndex(c, { field_name: 'n', field_schema: 'integer', wait: true });
  const r = await client.scroll(c, { order_by: 'n', limit: 10 });
  assert.deepEqual(r.points.map((p) => [p.id, p.order_value]), [[1, 1], [2, 2], [3, 3], [1, 11], [2, 12], [3, 13]]);
});
