// End-to-end tests with Qdrant's official JavaScript client
// (@qdrant/js-client-rest 1.18.0) against a running `semcode serve`
// (started by tests/e2e/run.sh; SEMCODE_URL points at it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient } from '@qdrant/js-client-rest';

const url = process.env.SEMCODE_URL;
const client = new QdrantClient({ url, checkCompatibility: false });

// 4-d vectors, easy to reason about with cosine similarity.
const pts = [
  { id: 1, vector: [1, 0, 0, 0], payload: { color: 'red', n: 1, tags: ['a', 'b'] } },
  { id: 2, vector: [0.9, 0.1, 0, 0], payload: { color: 'red', n: 2 } },
  { id: 3, vector: [0, 1, 0, 0], payload: { color: 'blue', n: 3 } },
  { id: 4, vector: [0, 0, 1, 0], payload: { color: 'green', n: 4 } },
  { id: '5f8a9c1e-1111-4222-8333-444455556666', vector: [0, 0, 0, 1], payload: { color: 'blue', n: 5 } },
];

async function rejectsWith(p, status, re) {
  await assert.rejects(p, (e) => {
    assert.equal(e.status, status, `status of ${e.message}`);
    if (re) assert.match(JSON.stringify(e.data), re);
    return true;
  });
}

test('root answers title and the Qdrant API version; version check passes', async () => {
  const r = await (await fetch(url + '/')).json();
  assert.equal(r.title, 'qdrant - vector search engine');
  assert.equal(r.version, '1.19.0');
  assert.ok(r.commit);
  const warnings = [];
  const orig = console.warn;
  console.warn = (m) => warnings.push(m);
  try {
    const c = new QdrantClient({ url }); // checkCompatibility on
    await c.getCollections();
    await new Promise((r2) => setTimeout(r2, 200));
  } finally {
    console.warn = orig;
  }
  assert.deepEqual(warnings.filter((w) => /incompatible|Failed to obtain/.test(String(w))), []);
});

test('collections: create, exists, info, list, update, delete', async () => {
  assert.equal(await client.createCollection('c1', { vectors: { size: 4, distance: 'Cosine' } }), true);
  assert.deepEqual(await client.collectionExists('c1'), { exists: true });
  assert.deepEqual(await client.collectionExists('nope'), { exists: false });
  const info = await client.getCollection('c1');
  assert.equal(info.status, 'green');
  assert.equal(info.points_count, 0);
  assert.deepEqual({ size: info.config.params.vectors.size, distance: info.config.params.vectors.distance },
    { size: 4, distance: 'Cosine' });
  const list = await client.getCollections();
  assert.ok(list.collections.some((c) => c.name === 'c1'));
  assert.equal(await client.updateCollection('c1', { hnsw_config: { m: 32, ef_construct: 200 } }), true);
  await rejectsWith(client.createCollection('c1', { vectors: { size: 4, distance: 'Cosine' } }), 409, /already exists/);
  assert.equal(await client.deleteCollection('c1'), true);
  assert.equal(await client.deleteCollection('c1'), false);
  await rejectsWith(client.getCollection('c1'), 404, /Collection `c1` doesn't exist!/);
});

test('create with named vectors, hnsw_config and quantization_config', async () => {
  await client.createCollection('named', {
    vectors: { code: { size: 4, distance: 'Dot' }, doc: { size: 2, distance: 'Euclid' } },
    hnsw_config: { m: 24, ef_construct: 120 },
    quantization_config: { scalar: { type: 'int8', quantile: 0.99, always_ram: true } },
  });
  const info = await client.getCollection('named');
  assert.equal(info.config.hnsw_config.m, 24);
  assert.equal(info.config.hnsw_config.ef_construct, 120);
  assert.equal(info.config.quantization_config.scalar.type, 'int8');
  assert.ok(Math.abs(info.config.quantization_config.scalar.quantile - 0.99) < 1e-6);
  assert.equal(info.config.params.vectors.code.size, 4);
  assert.equal(info.config.params.vectors.doc.distance, 'Euclid');
  await client.upsert('named', { wait: true, points: [
    { id: 1, vector: { code: [1, 0, 0, 0], doc: [0, 0] } },
    { id: 2, vector: { code: [0, 1, 0, 0], doc: [3, 4] } },
  ] });
  const mem = (await client.getCollection('named')).semcode_index; // extension: memory per vector, per named vector
  assert.ok(mem.code.bytes_per_vector >= 16 && mem.doc.bytes_per_vector >= 8, JSON.stringify(mem));
  assert.ok(mem.code.code_bytes_per_vector > 0 || !mem.code.hnsw_built, JSON.stringify(mem)); // int8 codes once indexed
  const r = await client.query('named', { query: [0, 0], using: 'doc', limit: 2, params: { hnsw_ef: 128, exact: true } });
  assert.deepEqual(r.points.map((p) => p.id), [1, 2]);
  assert.ok(Math.abs(r.points[1].score - 5) < 1e-5); // euclid scores are distances
  const thr = await client.query('named', { query: [0, 0], using: 'doc', score_threshold: 1 });
  assert.deepEqual(thr.points.map((p) => p.id), [1]); // upper bound for distances
  const got = await client.retrieve('named', { ids: [2], with_vector: ['doc'] });
  assert.deepEqual(got[0].vector, { doc: [3, 4] });
  await rejectsWith(client.createCollection('bad', { vectors: { size: 0, distance: 'Cosine' } }), 422, /size/);
  await rejectsWith(client.createCollection('bad', { vectors: { size: 4, distance: 'Cosine' },
    hnsw_config: { ef_construct: 1 } }), 422, /ef_construct/);
  await client.deleteCollection('named');
  await client.createCollection('flat', { vectors: { size: 2, distance: 'Dot', hnsw_config: { m: 0 } },
    quantization_config: { binary: {} } });
  const fi = await client.getCollection('flat');
  assert.equal(fi.config.params.vectors.hnsw_config.m, 0); // per vector, where it was given (Qdrant)
  assert.equal(fi.config.hnsw_config.m, 16);
  assert.ok(fi.config.quantization_config.binary);
  await client.deleteCollection('flat');
});

test('PATCH /collections/{name} changes the index configuration, all or nothing', async () => {
  await client.createCollection('patched', {
    vectors: { code: { size: 4, distance: 'Cosine' }, doc: { size: 2, distance: 'Dot' } },
    hnsw_config: { m: 8, ef_construct: 32, full_scan_threshold: 0 }, // graph from the first point
  });
  await client.upsert('patched', { wait: true, points: Array.from({ length: 60 }, (_, i) => ({
    id: i + 1, vector: { code: [Math.cos(i), Math.sin(i), i % 3, 1], doc: [i % 5, 1] } })) });
  const before = await client.query('patched', { query: [1, 0, 0, 1], using: 'code', limit: 5 });
  assert.equal(await client.updateCollection('patched', {
    hnsw_config: { m: 32, ef_construct: 200 },
    vectors: { doc: { quantization_config: { binary: { always_ram: true } } } },
    optimizers_config: { indexing_threshold: 10000 }, params: { replication_factor: 1 },
  }), true);
  let info = await client.getCollection('patched');
  assert.equal(info.config.hnsw_config.m, 32);
  assert.equal(info.config.hnsw_config.ef_construct, 200);
  assert.equal(info.indexed_vectors_count, 120, 'both graphs rebuilt with every vector');
  const after = await client.query('patched', { query: [1, 0, 0, 1], using: 'code', limit: 5 });
  assert.deepEqual(after.points.map((p) => p.id), before.points.map((p) => p.id));
  // collection-wide quantization, then "Disabled"
  assert.equal(await client.updateCollection('patched', { quantization_config: { scalar: { type: 'int8', quantile: 0.99 } } }), true);
  info = await client.getCollection('patched');
  assert.equal(info.config.quantization_config.scalar.type, 'int8');
  assert.equal(await client.updateCollection('patched', { quantization_config: 'Disabled' }), true);
  assert.equal((await client.getCollection('patched')).config.quantization_config, null);
  // m = 0: exact search only; m again: a graph again
  assert.equal(await client.updateCollection('patched', { vectors: { code: { hnsw_config: { m: 0 } } } }), true);
  assert.equal((await client.getCollection('patched')).config.params.vectors.code.hnsw_config.m, 0);
  assert.equal((await client.getCollection('patched')).semcode_index.code.hnsw_built, false);
  assert.deepEqual((await client.query('patched', { query: [1, 0, 0, 1], using: 'code', limit: 5 })).points.map((p) => p.id),
    before.points.map((p) => p.id));
  assert.equal(await client.updateCollection('patched', { vectors: { code: { hnsw_config: { m: 16 } } } }), true);
  assert.equal((await client.getCollection('patched')).config.params.vectors.code.hnsw_config.m, 16);
  assert.equal((await client.getCollection('patched')).semcode_index.code.hnsw_built, true);
  // a bad part rejects the whole request: nothing changes
  const bad = [
    [{ hnsw_config: { m: 20 }, vectors: { nope: { hnsw_config: { m: 8 } } } }, 400, /Not existing vector name error: nope/],
    [{ hnsw_config: { m: 20 }, vectors: { doc: { hnsw_config: { m: 1 } } } }, 422, /vectors\.doc\.hnsw_config\.m: value 1 invalid/],
    [{ hnsw_config: { ef_construct: 2 } }, 422, /hnsw_config\.ef_construct: value 2 invalid/],
    [{ hnsw_config: { m: 'big' } }, 400, /`hnsw_config\.m` must be an unsigned integer/],
    [{ quantization_config: { scalar: { type: 'int8', quantile: 0.1 } } }, 422, /quantization_config\.scalar\.quantile/],
    [{ quantization_config: { product: {} } }, 400, /product.compression.: unknown variant/],
    [{ hnsw_config: { m: 20 }, vectors: { doc: { on_disk: true, size: 3 } } }, 400, /unknown field `vectors\.doc\.size`/],
    [{ hnsw_config: { m: 20 }, optimizers_config: 5 }, 400, /`optimizers_config` must be an object/],
    [{ hnsw_confg: { m: 20 } }, 400, /unknown field `hnsw_confg`/],
  ];
  for (const [body, status, re] of bad) await rejectsWith(client.updateCollection('patched', body), status, re);
  info = await client.getCollection('patched');
  assert.equal(info.config.hnsw_config.m, 32); // collection-wide, as last set (the per-vector m is the vector's)
  assert.equal(info.config.params.vectors.code.hnsw_config.m, 16);
  assert.equal(info.config.hnsw_config.ef_construct, 200);
  await rejectsWith(client.updateCollection('no_such', { hnsw_config: { m: 20 } }), 404, /doesn't exist/);
  assert.equal(await client.deleteCollection('patched'), true);
});

test('points: upsert list and batch forms, retrieve, scroll, count', async () => {
  await client.createCollection('p', { vectors: { size: 4, distance: 'Cosine' } });
  const r = await client.upsert('p', { wait: true, points: pts.slice(0, 3) });
  assert.equal(r.status, 'completed');
  await client.upsert('p', { wait: true, batch: {
    ids: pts.slice(3).map((p) => p.id), vectors: pts.slice(3).map((p) => p.vector),
    payloads: pts.slice(3).map((p) => p.payload) } });
  assert.equal((await client.count('p', { exact: true })).count, 5);
  const got = await client.retrieve('p', { ids: [3, '5f8a9c1e-1111-4222-8333-444455556666', 99], with_vector: true });
  assert.deepEqual(got.map((g) => g.id), [3, '5f8a9c1e-1111-4222-8333-444455556666']);
  assert.deepEqual(got[0].payload, { color: 'blue', n: 3 });
  assert.deepEqual(got[0].vector, [0, 1, 0, 0]);
  const sel = await client.retrieve('p', { ids: [1], with_payload: { include: ['color'] } });
  assert.deepEqual(sel[0].payload, { color: 'red' });
  const ex = await client.retrieve('p', { ids: [1], with_payload: { exclude: ['color', 'tags'] } });
  assert.deepEqual(ex[0].payload, { n: 1 });
  const one = await (await fetch(`${url}/collections/p/points/4`)).json();
  assert.equal(one.result.id, 4);
  // cosine vectors are normalised on upsert
  await client.upsert('p', { points: [{ id: 6, vector: [3, 4, 0, 0], payload: { color: 'x' } }] });
  const six = await client.retrieve('p', { ids: [6], with_vector: true });
  assert.ok(Math.abs(six[0].vector[0] - 0.6) < 1e-6 && Math.abs(six[0].vector[1] - 0.8) < 1e-6);
  await client.delete('p', { points: [6] });
  // scroll in pages
  const page1 = await client.scroll('p', { limit: 2 });
  assert.deepEqual(page1.points.map((p) => p.id), [1, 2]);
  assert.equal(page1.next_page_offset, 3);
  const page2 = await client.scroll('p', { limit: 10, offset: page1.next_page_offset });
  assert.deepEqual(page2.points.map((p) => p.id), [3, 4, '5f8a9c1e-1111-4222-8333-444455556666']);
  assert.equal(page2.next_page_offset ?? null, null);
  const blue = await client.scroll('p', { filter: { must: [{ key: 'color', match: { value: 'blue' } }] } });
  assert.deepEqual(blue.points.map((p) => p.id), [3, '5f8a9c1e-1111-4222-8333-444455556666']);
  const cnt = await client.count('p', { filter: { must: [{ key: 'n', range: { gte: 2 } }] }, exact: true });
  assert.equal(cnt.count, 4);
});

test('query: vector, point id (excluded), filter, threshold, offset, prefetch + RRF and DBSF', async () => {
  const q = await client.query('p', { query: [1, 0, 0, 0], limit: 3, with_payload: true });
  assert.deepEqual(q.points.map((p) => p.id), [1, 2, 3]); // ties (score 0) ordered by id
  assert.deepEqual(q.points[0].payload.color, 'red');
  const byId = await client.query('p', { query: 1, limit: 2 });
  assert.ok(!byId.points.some((p) => p.id === 1), 'the query point is excluded');
  assert.equal(byId.points[0].id, 2);
  const nearest = await client.query('p', { query: { nearest: 1 }, limit: 1 });
  assert.equal(nearest.points[0].id, 2);
  const filt = await client.query('p', { query: [1, 0, 0, 0], filter: { must: [{ key: 'color', match: { value: 'blue' } }] } });
  assert.deepEqual(filt.points.map((p) => p.id).sort(), [3, '5f8a9c1e-1111-4222-8333-444455556666'].sort());
  const thr = await client.query('p', { query: [1, 0, 0, 0], score_threshold: 0.9 });
  assert.deepEqual(thr.points.map((p) => p.id), [1, 2]);
  const off = await client.query('p', { query: [1, 0, 0, 0], limit: 1, offset: 1 });
  assert.deepEqual(off.points.map((p) => p.id), [2]);
  const rrf = await client.query('p', {
    prefetch: [{ query: [1, 0, 0, 0], limit: 2 }, { query: [0, 1, 0, 0], limit: 2 }],
    query: { fusion: 'rrf' }, limit: 5, with_payload: ['color'],
  });
  // 1 and 3 each top one list; 2 is second in both, so it wins the fusion
  assert.equal(rrf.points[0].id, 2);
  assert.ok(rrf.points.every((p) => Object.keys(p.payload).join() === 'color'));
  const dbsf = await client.query('p', {
    prefetch: [{ query: [1, 0, 0, 0], limit: 3, filter: { must: [{ key: 'color', match: { value: 'red' } }] } },
      { query: [0, 0, 1, 0], limit: 2 }],
    query: { fusion: 'dbsf' }, limit: 10,
  });
  const ids = dbsf.points.map((p) => p.id);
  assert.ok(ids.includes(1) && ids.includes(2) && ids.includes(4), JSON.stringify(ids));
  // DBSF recomputed from the two prefetches run alone, as Qdrant defines it
  // (lib/segment/src/common/score_fusion.rs): each source's scores mapped
  // from [mean - 3 sd, mean + 3 sd] (sample sd, n - 1) onto [0, 1], not
  // clipped (0.5 for a source of one point), then summed per point
  const sources = await Promise.all([
    client.query('p', { query: [1, 0, 0, 0], limit: 3, filter: { must: [{ key: 'color', match: { value: 'red' } }] } }),
    client.query('p', { query: [0, 0, 1, 0], limit: 2 }),
  ]);
  const want = new Map();
  for (const src of sources) {
    const sc = src.points.map((p) => p.score);
    const mean = sc.reduce((a, x) => a + x, 0) / sc.length;
    const sd = sc.length > 1 ? Math.sqrt(sc.reduce((a, x) => a + (x - mean) ** 2, 0) / (sc.length - 1)) : 0;
    const lo = mean - 3 * sd, hi = mean + 3 * sd;
    for (const p of src.points) {
      const v = hi > lo ? (p.score - lo) / (hi - lo) : 0.5;
      want.set(p.id, (want.get(p.id) || 0) + v);
    }
  }
  assert.equal(dbsf.points.length, want.size);
  for (const p of dbsf.points) assert.ok(Math.abs(p.score - want.get(p.id)) < 1e-5, `${p.id}: ${p.score} vs ${want.get(p.id)}`);
  for (let i = 1; i < dbsf.points.length; i++) assert.ok(dbsf.points[i - 1].score >= dbsf.points[i].score);
  // re-score prefetch candidates with another vector
  const rescore = await client.query('p', { prefetch: { query: [1, 0, 0, 0], limit: 2 }, query: [0, 1, 0, 0], limit: 5 });
  assert.deepEqual(rescore.points.map((p) => p.id), [2, 1]);
  const batch = await client.queryBatch('p', { searches: [{ query: [0, 0, 1, 0], limit: 1 }, { query: [0, 1, 0, 0], limit: 1 }] });
  assert.deepEqual(batch.map((b) => b.points[0].id), [4, 3]);
  const rec = await client.query('p', { query: { recommend: { positive: [1], negative: [3] } }, limit: 1 });
  assert.equal(rec.points[0].id, 2);
});

test('legacy search, search batch and recommend', async () => {
  const s = await client.search('p', { vector: [0, 1, 0, 0], limit: 1 });
  assert.equal(s[0].id, 3);
  const sb = await client.searchBatch('p', { searches: [{ vector: [1, 0, 0, 0], limit: 1 }, { vector: [0, 0, 1, 0], limit: 1 }] });
  assert.deepEqual(sb.map((r) => r[0].id), [1, 4]);
  const rec = await client.recommend('p', { positive: [1], limit: 2 });
  assert.deepEqual(rec.map((r) => r.id)[0], 2);
  assert.ok(!rec.some((r) => r.id === 1));
});

test('payload: set, overwrite, delete keys, clear; payload index', async () => {
  await client.setPayload('p', { payload: { extra: true }, points: [1, 2] });
  let g = await client.retrieve('p', { ids: [1] });
  assert.deepEqual(g[0].payload, { color: 'red', n: 1, tags: ['a', 'b'], extra: true });
  await client.setPayload('p', { payload: { seen: 1 }, filter: { must: [{ key: 'color', match: { value: 'blue' } }] } });
  assert.equal((await client.count('p', { filter: { must: [{ key: 'seen', match: { value: 1 } }] } })).count, 2);
  await client.overwritePayload('p', { payload: { only: 'this' }, points: [2] });
  g = await client.retrieve('p', { ids: [2] });
  assert.deepEqual(g[0].payload, { only: 'this' });
  await client.deletePayload('p', { keys: ['tags', 'extra'], points: [1] });
  g = await client.retrieve('p', { ids: [1] });
  assert.deepEqual(g[0].payload, { color: 'red', n: 1 });
  await client.clearPayload('p', { points: [2] });
  g = await client.retrieve('p', { ids: [2] });
  assert.deepEqual(g[0].payload, {});
  const idx = await client.createPayloadIndex('p', { field_name: 'color', field_schema: 'keyword', wait: true });
  assert.equal(idx.status, 'completed');
  const info = await client.getCollection('p');
  assert.equal(info.payload_schema.color.data_type, 'keyword');
  assert.equal((await client.count('p', { filter: { must: [{ key: 'color', match: { value: 'red' } }] } })).count, 1);
  await client.deletePayloadIndex('p', 'color');
  assert.deepEqual((await client.getCollection('p')).payload_schema, {});
});

test('batch update and delete by ids and by filter', async () => {
  const r = await client.batchUpdate('p', { operations: [
    { upsert: { points: [{ id: 10, vector: [1, 1, 0, 0], payload: { k: 'v' } }] } },
    { set_payload: { payload: { k2: 1 }, points: [10] } },
    { delete: { points: [4] } },
  ] });
  assert.equal(r.length, 3);
  assert.deepEqual((await client.retrieve('p', { ids: [10] }))[0].payload, { k: 'v', k2: 1 });
  assert.equal((await client.retrieve('p', { ids: [4] })).length, 0);
  await client.delete('p', { filter: { must: [{ key: 'k', match: { value: 'v' } }] } });
  assert.equal((await client.retrieve('p', { ids: [10] })).length, 0);
  await client.delete('p', { points: [1234567] }); // missing ids are fine
});

test('aliases: create, use, list, rename, delete; deleted with the collection', async () => {
  await client.updateCollectionAliases({ actions: [{ create_alias: { collection_name: 'p', alias_name: 'pa' } }] });
  assert.equal((await client.count('pa', {})).count, (await client.count('p', {})).count);
  const q = await client.query('pa', { query: [0, 1, 0, 0], limit: 1 });
  assert.equal(q.points[0].id, 3);
  assert.deepEqual((await client.getCollectionAliases('p')).aliases, [{ alias_name: 'pa', collection_name: 'p' }]);
  await client.updateCollectionAliases({ actions: [{ rename_alias: { old_alias_name: 'pa', new_alias_name: 'pb' } }] });
  assert.ok((await client.getAliases()).aliases.some((a) => a.alias_name === 'pb'));
  await rejectsWith(client.count('pa', {}), 404, /doesn't exist/);
  await rejectsWith(client.updateCollectionAliases({ actions: [{ create_alias: { collection_name: 'nope', alias_name: 'x' } }] }), 404);
  await client.updateCollectionAliases({ actions: [{ delete_alias: { alias_name: 'pb' } }] });
  assert.deepEqual((await client.getCollectionAliases('p')).aliases, []);
  await client.createCollection('tmp', { vectors: { size: 2, distance: 'Dot' } });
  await client.updateCollectionAliases({ actions: [{ create_alias: { collection_name: 'tmp', alias_name: 'tmpa' } }] });
  await client.deleteCollection('tmp');
  assert.ok(!(await client.getAliases()).aliases.some((a) => a.alias_name === 'tmpa'));
});

test('alias actions apply all or none: a failing action leaves the aliases as before', async () => {
  await client.createCollection('ab1', { vectors: { size: 2, distance: 'Dot' } });
  await client.createCollection('ab2', { vectors: { size: 2, distance: 'Dot' } });
  await client.updateCollectionAliases({ actions: [{ create_alias: { collection_name: 'ab1', alias_name: 'ab_keep' } }] });
  const mine = async () => (await client.getAliases()).aliases.filter((a) => a.alias_name.startsWith('ab_'))
    .sort((x, y) => x.alias_name.localeCompare(y.alias_name));
  const before = await mine();
  assert.deepEqual(before, [{ alias_name: 'ab_keep', collection_name: 'ab1' }]);
  const bad = [
    [[{ create_alias: { collection_name: 'ab2', alias_name: 'ab_new' } }, { delete_alias: { alias_name: 'ab_keep' } },
      { delete_alias: { alias_name: 'ab_missing' } }], 404, /actions\[2\]\.delete_alias: Alias `ab_missing` doesn't exist!/],
    [[{ rename_alias: { old_alias_name: 'ab_keep', new_alias_name: 'ab_renamed' } },
      { create_alias: { collection_name: 'ab2', alias_name: 'ab_renamed' } }], 409, /actions\[1\]\.create_alias: .*Alias `ab_renamed` already exists!/],
    [[{ delete_alias: { alias_name: 'ab_keep' } }, { create_alias: { collection_name: 'ab2', alias_name: 'ab2' } }], 409,
      /actions\[1\]\.create_alias: .*`ab2` is already the name of a collection/],
    [[{ delete_alias: { alias_name: 'ab_keep' } }, { create_alias: { collection_name: 'ab_nope', alias_name: 'ab_x' } }], 404,
      /actions\[1\]\.create_alias: Collection `ab_nope` doesn't exist!/],
    [[{ delete_alias: { alias_name: 'ab_keep' } }, { create_alias: { alias_name: 'ab_x' } }], 400,
      /missing field `actions\[1\]\.create_alias\.collection_name`/],
    [[{ delete_alias: { alias_name: 'ab_keep' } }, { drop_alias: { alias_name: 'ab_keep' } }], 400, /actions\[1\] must be create_alias/],
  ];
  for (const [actions, status, re] of bad) {
    await rejectsWith(client.updateCollectionAliases({ actions }), status, re);
    assert.deepEqual(await mine(), before, JSON.stringify(actions));
  }
  // a good batch: later actions see earlier ones
  assert.equal(await client.updateCollectionAliases({ actions: [
    { create_alias: { collection_name: 'ab2', alias_name: 'ab_tmp' } },
    { rename_alias: { old_alias_name: 'ab_tmp', new_alias_name: 'ab_prod' } },
    { delete_alias: { alias_name: 'ab_keep' } },
    { create_alias: { collection_name: 'ab2', alias_name: 'ab_keep' } }] }), true);
  assert.deepEqual(await mine(), [{ alias_name: 'ab_keep', collection_name: 'ab2' }, { alias_name: 'ab_prod', collection_name: 'ab2' }]);
  await client.deleteCollection('ab1');
  await client.deleteCollection('ab2');
});

test('errors through the client: 404, 400 on wrong dimension, wrong types', async () => {
  await rejectsWith(client.query('missing', { query: [1, 0, 0, 0] }), 404, /Collection `missing` doesn't exist!/);
  await rejectsWith(client.upsert('p', { points: [{ id: 50, vector: [1, 0, 0] }] }), 400, /dimension/);
  await rejectsWith(client.query('p', { query: [1, 0, 0] }), 400, /dimension/);
  await rejectsWith(client.query('p', { query: 777 }), 404, /777/);
  await rejectsWith(client.scroll('p', { limit: 0 }), 422, /limit/);
  await rejectsWith(client.query('p', { query: [1, 0, 0, 0], filter: { must: [{ key: 'n', range: { gt: 'x' } }] } }), 400, /range/);
  assert.equal((await client.retrieve('p', { ids: [50] })).length, 0, 'nothing stored by the failed upsert');
});

test('named vectors added and deleted, configuration echoed, strict mode and optimizations through the client', async () => {
  const c = 'client_cfg';
  await client.deleteCollection(c);
  await client.createCollection(c, {
    vectors: { code: { size: 4, distance: 'Cosine', hnsw_config: { m: 8 }, on_disk: true } },
    optimizers_config: { indexing_threshold: 0 },
    strict_mode_config: { enabled: true, upsert_max_batchsize: 3, max_query_limit: 10 },
  });
  await client.upsert(c, { wait: true, points: pts.slice(0, 3).map((p) => ({ ...p, vector: { code: p.vector } })) });
  await rejectsWith(client.upsert(c, { wait: true, points: pts.map((p) => ({ ...p, vector: { code: p.vector } })) }),
    400, /Limit exceeded 5 > 3 for \\"upsert limit\\"/);
  await rejectsWith(client.query(c, { query: [1, 0, 0, 0], using: 'code', limit: 11 }), 400, /for \\"limit\\"/);
  let info = await client.getCollection(c);
  assert.deepEqual(info.config.params.vectors.code, { size: 4, distance: 'Cosine', hnsw_config: { m: 8 }, on_disk: true });
  assert.equal(info.config.optimizer_config.indexing_threshold, 0);
  assert.equal(info.indexed_vectors_count, 0); // indexing disabled
  assert.equal(info.config.strict_mode_config.upsert_max_batchsize, 3);
  // a second named vector: the points do not have it until given one
  assert.equal((await client.createVectorName(c, 'doc', { dense: { size: 2, distance: 'Dot' } })).status, 'completed');
  await client.updateVectors(c, { wait: true, points: [{ id: 1, vector: { doc: [1, 2] } }] });
  let got = await client.retrieve(c, { ids: [1, 2], with_vector: true });
  assert.deepEqual(Object.keys(got[0].vector).sort(), ['code', 'doc']);
  assert.deepEqual(Object.keys(got[1].vector), ['code']);
  assert.equal((await client.deleteVectorName(c, 'code')).status, 'completed');
  info = await client.getCollection(c);
  assert.deepEqual(Object.keys(info.config.params.vectors), ['doc']);
  got = await client.retrieve(c, { ids: [1], with_vector: true });
  assert.deepEqual(got[0].vector, { doc: [1, 2] });
  const opt = await client.getOptimizations(c, { with: 'idle_segments' });
  assert.deepEqual(opt.running, []);
  assert.equal(opt.idle_segments[0].points_count, 3);
  assert.equal(await client.deleteCollection(c), true);
});
