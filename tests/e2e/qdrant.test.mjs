// Qdrant behaviours over raw HTTP against `semcode serve` (SEMCODE_URL, set
// by tests/e2e/run.sh): what Qdrant's own test suite (make qdrant-suite)
// checks, written here as semcode's tests: URL decoding, the root and probe
// answers, validation codes, payload paths, query shapes, number printing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

const url = process.env.SEMCODE_URL;
const { hostname, port } = new URL(url);

// A request with the path sent exactly as written (fetch would normalise it).
function raw(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ host: hostname, port, method, path,
      headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} },
    (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* plain text */ }
        resolve({ status: res.statusCode, json, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

const call = raw;

async function collection(name, extra = {}) {
  await call('DELETE', `/collections/${name}`);
  const r = await call('PUT', `/collections/${name}`, { vectors: { size: 4, distance: 'Dot' }, ...extra });
  assert.equal(r.status, 200, r.text);
}

test('a path segment is percent-decoded once: a%2541 names `a%41`', async () => {
  for (const n of ['a%41', 'aA']) await call('DELETE', `/collections/${encodeURIComponent(n)}`);
  const r = await raw('PUT', '/collections/a%2541', { vectors: { size: 2, distance: 'Dot' } });
  assert.equal(r.status, 200, r.text);
  const names = (await raw('GET', '/collections')).json.result.collections.map((c) => c.name);
  assert.ok(names.includes('a%41'), JSON.stringify(names));
  assert.ok(!names.includes('aA'), JSON.stringify(names));
  assert.equal((await raw('GET', '/collections/a%2541/exists')).json.result.exists, true);
  assert.equal((await raw('GET', '/collections/aA/exists')).json.result.exists, false);
  // an escaped '/' stays inside its segment, and is refused as Qdrant refuses it
  const slash = await raw('PUT', '/collections/a%2Fb', { vectors: { size: 2, distance: 'Dot' } });
  assert.equal(slash.status, 422, slash.text);
  assert.match(slash.json.status.error, /cannot contain "\/"/);
  assert.equal((await raw('DELETE', '/collections/a%2541')).json.result, true);
});

test('GET / reports the Qdrant API version 1.19 and a 40-character commit; probes answer as Qdrant', async () => {
  const r = await raw('GET', '/');
  assert.deepEqual(Object.keys(r.json).sort(), ['commit', 'title', 'version']);
  assert.equal(r.json.title, 'qdrant - vector search engine'); // Qdrant's words, which clients check
  assert.match(r.headers.server, /^semcode\/\d+\.\d+\.\d+$/); // what answers: every response names it
  assert.match(r.json.version, /^1\.19\.\d+$/);
  assert.match(r.json.commit, /^([0-9a-f]{40}|unknown)$/);
  assert.equal((await raw('GET', '/healthz')).text, 'healthz check passed');
  assert.equal((await raw('GET', '/livez')).text, 'healthz check passed');
  assert.equal((await raw('GET', '/readyz')).text, 'all shards are ready');
});

test('sparse vectors: declared, stored sorted by index, returned, searched', async () => {
  const c = 'q_sparse';
  await collection(c, { sparse_vectors: { 'sparse-text': {}, idf: { modifier: 'idf' } } });
  const info = (await call('GET', `/collections/${c}`)).json.result;
  assert.deepEqual(info.config.params.sparse_vectors, { 'sparse-text': { index: { on_disk: false }, modifier: 'none' },
    idf: { index: { on_disk: false }, modifier: 'idf' } });
  let r = await call('PUT', `/collections/${c}/points?wait=true`, { points: [
    { id: 1, vector: [0.05, 0.61, 0.76, 0.74], payload: { city: 'Berlin' } },
    { id: 9, vector: { 'sparse-text': { indices: [66, 12], values: [0.5, 0.25] } } },
    { id: 10, vector: { '': [1, 2, 3, 4], 'sparse-text': { indices: [3, 1, 2], values: [0.3, 0.1, 0.2] } } },
  ] });
  assert.equal(r.status, 200, r.text);
  r = await call('POST', `/collections/${c}/points`, { ids: [1, 9, 10], with_vector: true });
  const [p1, p9, p10] = r.json.result;
  assert.ok(Array.isArray(p1.vector));
  assert.deepEqual(p9.vector, { 'sparse-text': { indices: [12, 66], values: [0.25, 0.5] } });
  assert.deepEqual(Object.keys(p10.vector).sort(), ['', 'sparse-text']);
  assert.deepEqual(p10.vector['sparse-text'].indices, [1, 2, 3]);
  assert.equal((await call('POST', `/collections/${c}/points/count`, {})).json.result.count, 3);
  // the batch form too, and only the named vectors asked for
  r = await call('PUT', `/collections/${c}/points?wait=true`, { batch: { ids: [20],
    vectors: { 'sparse-text': [{ indices: [7], values: [1] }] } } });
  assert.equal(r.status, 200, r.text);
  r = await call('POST', `/collections/${c}/points`, { ids: [20, 10], with_vector: ['sparse-text'] });
  assert.deepEqual(r.json.result[0].vector, { 'sparse-text': { indices: [7], values: [1] } });
  assert.deepEqual(Object.keys(r.json.result[1].vector), ['sparse-text']);
  // bad sparse vectors: clear errors, nothing stored
  const bad = [
    [{ 'sparse-text': { indices: [1, 1], values: [1, 2] } }, 422, /unique/],
    [{ 'sparse-text': { indices: [1, 2], values: [1] } }, 422, /same length/],
    [{ nope: { indices: [1], values: [1] } }, 400, /nope/],
    [{ 'sparse-text': { indices: [-1], values: [1] } }, 400, /unsigned 32-bit/],
  ];
  for (const [vector, status, re] of bad) {
    r = await call('PUT', `/collections/${c}/points`, { points: [{ id: 30, vector }] });
    assert.equal(r.status, status, r.text);
    assert.match(r.json.status.error, re);
  }
  assert.equal((await call('POST', `/collections/${c}/points/count`, {})).json.result.count, 4);
  r = await call('POST', `/collections/${c}/points/query`, { query: { indices: [1], values: [1] }, using: 'sparse-text' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.result.points.map((p) => [p.id, p.score]), [[10, 0.1]]);
});

test('a collection cannot take the name of an alias (400, as Qdrant)', async () => {
  await collection('q_alias_target');
  await call('DELETE', '/collections/q_alias_name');
  let r = await call('POST', '/collections/aliases', { actions: [{ create_alias: { alias_name: 'q_alias_name', collection_name: 'q_alias_target' } }] });
  assert.equal(r.status, 200, r.text);
  r = await call('PUT', '/collections/q_alias_name', { vectors: { size: 4, distance: 'Dot' } });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.status.error, /alias/);
  assert.equal((await call('GET', '/collections/q_alias_name')).json.result.config.params.vectors.size, 4); // still the alias
  await call('POST', '/collections/aliases', { actions: [{ delete_alias: { alias_name: 'q_alias_name' } }] });
});

test('numbers: float32 values print as their shortest decimal, payload doubles exactly, 10.0 stays a real', async () => {
  const c = 'q_numbers';
  await collection(c);
  // sent as text: JSON.stringify would write 10.0 as 10
  let r = await fetch(`${url}/collections/${c}/points?wait=true`, { method: 'PUT', headers: { 'content-type': 'application/json' },
    body: '{"points": [{"id": 1, "vector": [0.15, 0.31, 0.76, 0.74], "payload": {"a": 0.1, "b": 10.0, "c": 0.123456789012345, "d": 1e300}}]}' });
  assert.equal(r.status, 200);
  r = await call('POST', `/collections/${c}/points/scroll`, { with_vector: true });
  assert.match(r.text, /"vector":\[0\.15,0\.31,0\.76,0\.74\]/);
  assert.match(r.text, /"a":0\.1,"b":10\.0,"c":0\.123456789012345,"d":1e\+300/);
  r = await call('POST', `/collections/${c}/points/query`, { query: [1, 0, 0, 0] });
  assert.match(r.text, /"score":0\.15,/);
});

test('query without `query`: a scroll (id order, offset, limit, filter, score 0); prefetch or score_threshold without it: 400', async () => {
  const c = 'q_scroll';
  await collection(c);
  const points = [5, 3, 9, 1, 7].map((id) => ({ id, vector: [id, 1, 0, 0], payload: { odd: id % 3 === 0 } }));
  assert.equal((await call('PUT', `/collections/${c}/points?wait=true`, { points })).status, 200);
  let r = await call('POST', `/collections/${c}/points/query`, { limit: 3, offset: 1, with_payload: true });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.result.points.map((p) => [p.id, p.score]), [[3, 0], [5, 0], [7, 0]]);
  assert.deepEqual(r.json.result.points[0].payload, { odd: true });
  r = await call('POST', `/collections/${c}/points/query`, { filter: { must: [{ key: 'odd', match: { value: true } }] } });
  assert.deepEqual(r.json.result.points.map((p) => p.id), [3, 9]);
  // a prefetch without a query is a scroll too, re-scored by the query above it
  r = await call('POST', `/collections/${c}/points/query`, { prefetch: { limit: 2 }, query: [1, 0, 0, 0] });
  assert.deepEqual(r.json.result.points.map((p) => p.id), [3, 1]);
  r = await call('POST', `/collections/${c}/points/query`, { prefetch: [{ query: [1, 0, 0, 0] }] });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.status.error, /A query is needed to merge the prefetches/);
  r = await call('POST', `/collections/${c}/points/query`, { score_threshold: 10 });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.status.error, /A query is needed to use the score_threshold/);
});

test('limits: any u64 accepted (u64::MAX, over 2^32, scroll over 100,000); 0 is a 422', async () => {
  const c = 'q_limits';
  await collection(c);
  await call('PUT', `/collections/${c}/points?wait=true`, { points: [1, 2, 3].map((id) => ({ id, vector: [id, 0, 0, 1] })) });
  const send = (path, text) => fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
  let r = await send(`/collections/${c}/points/query`, '{"query": [1, 0, 0, 0], "limit": 18446744073709551615}');
  const body = await r.text();
  assert.equal(r.status, 200, body);
  assert.equal(JSON.parse(body).result.points.length, 3);
  r = await call('POST', `/collections/${c}/points/query`, { query: [1, 0, 0, 0], limit: 2 ** 32 + 5, offset: 1 });
  assert.equal(r.json.result.points.length, 2);
  r = await call('POST', `/collections/${c}/points/scroll`, { limit: 1000000000 });
  assert.equal(r.json.result.points.length, 3);
  assert.equal(r.json.result.next_page_offset, null);
  r = await call('POST', `/collections/${c}/points/query`, { query: [1, 0, 0, 0], limit: 0 });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.status.error, /limit: value 0 invalid/);
  // a big number elsewhere (an id) is still refused clearly
  r = await send(`/collections/${c}/points`, '{"ids": [18446744073709551615]}');
  assert.equal(r.status, 400);
});

test('filters: a key without a test is a 422 validation error; slice splits the ids into parts', async () => {
  const c = 'q_filters';
  await collection(c);
  const ids = Array.from({ length: 40 }, (_, i) => i + 1);
  await call('PUT', `/collections/${c}/points?wait=true`, { points: ids.map((id) => ({ id, vector: [1, 0, 0, id] })) });
  let r = await call('POST', `/collections/${c}/points/scroll`, { filter: { must: [{ key: 'city' }] } });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.status.error, /^Validation error in JSON body: .*At least one field condition must be specified/);
  const seen = [];
  for (let index = 0; index < 3; index++) {
    r = await call('POST', `/collections/${c}/points/scroll`, { limit: 100, filter: { must: [{ slice: { total: 3, index } }] } });
    assert.equal(r.status, 200, r.text);
    const part = r.json.result.points.map((p) => p.id);
    assert.ok(part.length > 0 && part.length < 40, `slice ${index}: ${part.length}`);
    const not = await call('POST', `/collections/${c}/points/count`, { filter: { must_not: [{ slice: { total: 3, index } }] } });
    assert.equal(not.json.result.count, 40 - part.length);
    seen.push(...part);
  }
  assert.deepEqual(seen.sort((a, b) => a - b), ids);
  r = await call('POST', `/collections/${c}/points/scroll`, { filter: { must: [{ slice: { total: 4, index: 4 } }] } });
  assert.equal(r.status, 422, r.text);
  r = await call('POST', `/collections/${c}/points/scroll`, { filter: { must: [{ slice: { total: 0, index: 0 } }] } });
  assert.equal(r.status, 400, r.text);
});

test('vectors of existing points: PUT /points/vectors and /points/vectors/delete, also as batch operations', async () => {
  const c = 'q_vectors';
  await call('DELETE', `/collections/${c}`);
  let r = await call('PUT', `/collections/${c}`, { vectors: { a: { size: 2, distance: 'Dot' }, b: { size: 2, distance: 'Dot' } },
    sparse_vectors: { s: {} } });
  assert.equal(r.status, 200, r.text);
  await call('PUT', `/collections/${c}/points?wait=true`, { points: [
    { id: 1, vector: { a: [1, 2], b: [3, 4], s: { indices: [1], values: [1] } }, payload: { k: 'v' } },
    { id: 2, vector: { a: [5, 6] } }] });
  r = await call('PUT', `/collections/${c}/points/vectors?wait=true`, { points: [{ id: 1, vector: { a: [9, 9] } }] });
  assert.equal(r.status, 200, r.text);
  const get = async (id) => (await call('POST', `/collections/${c}/points`, { ids: [id], with_vector: true, with_payload: true })).json.result[0];
  let p = await get(1);
  assert.deepEqual(p.vector, { a: [9, 9], b: [3, 4], s: { indices: [1], values: [1] } });
  assert.deepEqual(p.payload, { k: 'v' });
  r = await call('POST', `/collections/${c}/points/vectors/delete?wait=true`, { points: [1], vector: ['b', 's'] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual((await get(1)).vector, { a: [9, 9] });
  r = await call('POST', `/collections/${c}/points/batch?wait=true`, { operations: [
    { update_vectors: { points: [{ id: 2, vector: { b: [1, 0] } }] } },
    { delete_vectors: { filter: { must: [{ has_id: [2] }] }, vector: ['a'] } }] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual((await get(2)).vector, { b: [1, 0] });
  // a point without vectors shows {} when vectors are asked, null when not
  await call('POST', `/collections/${c}/points/vectors/delete?wait=true`, { points: [2], vector: ['b'] });
  assert.deepEqual((await get(2)).vector, {});
  assert.equal((await call('POST', `/collections/${c}/points`, { ids: [2] })).json.result[0].vector, null);
  // has_vector filters by the vectors a point has, dense or sparse
  await call('PUT', `/collections/${c}/points/vectors?wait=true`, { points: [{ id: 1, vector: { s: { indices: [3], values: [1] } } }] });
  r = await call('POST', `/collections/${c}/points/count`, { filter: { must: [{ has_vector: 's' }] } });
  assert.equal(r.json.result.count, 1);
  r = await call('POST', `/collections/${c}/points/count`, { filter: { must_not: [{ has_vector: 'a' }] } });
  assert.equal(r.json.result.count, 1);
  // one point twice in a request: applied in order
  r = await call('PUT', `/collections/${c}/points/vectors?wait=true`, { points: [
    { id: 2, vector: { a: [1, 1] } }, { id: 2, vector: { b: [2, 2] } }, { id: 2, vector: { a: [3, 3] } }] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual((await get(2)).vector, { a: [3, 3], b: [2, 2] });
  // errors in Qdrant's words: a missing point (404), an unknown name (400), nothing to update (422)
  r = await call('PUT', `/collections/${c}/points/vectors`, { points: [{ id: 77, vector: { a: [1, 1] } }] });
  assert.equal(r.status, 404, r.text);
  assert.equal(r.json.status.error, 'Not found: No point with id 77 found');
  r = await call('POST', `/collections/${c}/points/vectors/delete`, { points: [1], vector: ['zz'] });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.status.error, /^Wrong input: Not existing vector name error: zz/);
  r = await call('PUT', `/collections/${c}/points/vectors`, { points: [{ id: 1, vector: {} }] });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.status.error, /must specify vectors to update/);
});

test('payload paths: set_payload under a nested key, include and exclude of nested paths', async () => {
  const c = 'q_paths';
  await collection(c);
  await call('PUT', `/collections/${c}/points?wait=true`, { points: [{ id: 1, vector: [1, 0, 0, 0], payload: {
    country: { name: 'Germany', capital: 'Berlin', cities: [{ name: 'Berlin', pop: 3.7 }, { name: 'Munich', pop: 1.5 }] },
    other: 1 } }] });
  const payload = async (wp) => (await call('POST', `/collections/${c}/points`, { ids: [1], with_payload: wp })).json.result[0].payload;
  assert.deepEqual(await payload({ include: ['country.name', 'country.capital'] }), { country: { name: 'Germany', capital: 'Berlin' } });
  assert.deepEqual(await payload({ include: ['country.cities[].name'] }), { country: { cities: [{ name: 'Berlin' }, { name: 'Munich' }] } });
  assert.deepEqual(await payload({ exclude: ['country.cities', 'other'] }), { country: { name: 'Germany', capital: 'Berlin' } });
  assert.deepEqual(await payload(['other']), { other: 1 });
  let r = await call('POST', `/collections/${c}/points/payload?wait=true`, { points: [1], key: 'country.cities[0]', payload: { best: true } });
  assert.equal(r.status, 200, r.text);
  r = await call('POST', `/collections/${c}/points/payload?wait=true`, { points: [1], key: 'new.deep', payload: { x: 'y' } });
  assert.equal(r.status, 200, r.text);
  const p = await payload(true);
  assert.deepEqual(p.country.cities[0], { name: 'Berlin', pop: 3.7, best: true });
  assert.equal(p.country.cities[1].best, undefined);
  assert.deepEqual(p.new, { deep: { x: 'y' } });
  r = await call('POST', `/collections/${c}/points/payload?wait=true`, { points: [1], key: 'country.cities[].seen', payload: { n: 1 } });
  assert.deepEqual((await payload(true)).country.cities.map((x) => x.seen), [{ n: 1 }, { n: 1 }]);
});

test('collection metadata: set at creation, merged by PATCH, a null removes a key', async () => {
  const c = 'q_meta';
  await collection(c, { metadata: { team: 'search' } });
  let r = await call('PATCH', `/collections/${c}`, { metadata: { owner: 'me', team: null } });
  assert.equal(r.status, 200, r.text);
  r = await call('PATCH', `/collections/${c}`, { metadata: { n: 1 }, optimizers_config: { indexing_threshold: 10000 } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual((await call('GET', `/collections/${c}`)).json.result.config.metadata, { owner: 'me', n: 1 });
});

test('validation codes: hnsw_ef 0, shard_number 0 (422) or -1 (400), an over-long collection name (422)', async () => {
  const c = 'q_valid';
  await collection(c);
  let r = await call('POST', `/collections/${c}/points/query`, { query: [1, 0, 0, 0], params: { hnsw_ef: 0 } });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.status.error, /Validation error.*hnsw_ef/);
  for (const f of ['shard_number', 'replication_factor', 'write_consistency_factor']) {
    r = await call('PUT', '/collections/q_valid_zero', { vectors: { size: 4, distance: 'Dot' }, [f]: 0 });
    assert.equal(r.status, 422, r.text);
    assert.match(r.json.status.error, new RegExp(f));
    r = await call('PUT', '/collections/q_valid_zero', { vectors: { size: 4, distance: 'Dot' }, [f]: -1 });
    assert.equal(r.status, 400, r.text);
  }
  r = await call('GET', `/collections/${'x'.repeat(300)}/points/1`);
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.status.error, /Validation error/);
});

test('recommend: best_score and sum_scores as Qdrant defines them, negatives only, lookup_from another collection', async () => {
  const c = 'q_reco', other = 'q_reco_other';
  await collection(c);
  const vecs = { 1: [1, 0, 0, 0], 2: [0.9, 0.1, 0, 0], 3: [0, 1, 0, 0], 4: [0, 0.9, 0.1, 0], 5: [0, 0, 1, 0], 6: [0.5, 0.5, 0, 0] };
  await call('PUT', `/collections/${c}/points?wait=true`, { points: Object.entries(vecs).map(([id, vector]) => ({ id: +id, vector })) });
  const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
  const sig = (x) => 0.5 * (x / (1 + Math.abs(x)) + 1);
  const check = async (recommend, score) => {
    const r = await call('POST', `/collections/${c}/points/query`, { query: { recommend }, limit: 10 });
    assert.equal(r.status, 200, r.text);
    const used = [...(recommend.positive || []), ...(recommend.negative || [])];
    const want = Object.keys(vecs).map(Number).filter((id) => !used.includes(id))
      .map((id) => ({ id, score: score(vecs[id]) })).sort((a, b) => (b.score - a.score) || (a.id - b.id));
    assert.deepEqual(r.json.result.points.map((p) => p.id), want.map((p) => p.id), JSON.stringify(recommend));
    r.json.result.points.forEach((p, i) => assert.ok(Math.abs(p.score - want[i].score) < 1e-5, `${p.id}: ${p.score} vs ${want[i].score}`));
    return r.json.result.points;
  };
  const best = (pos, neg) => (v) => {
    const p = Math.max(...pos.map((id) => dot(v, vecs[id]))), n = Math.max(...neg.map((id) => dot(v, vecs[id])));
    return p > n ? sig(p) : -sig(n);
  };
  await check({ positive: [1], negative: [3], strategy: 'best_score' }, best([1], [3]));
  const onlyNeg = await check({ negative: [1, 2], strategy: 'best_score' }, best([], [1, 2]));
  assert.ok(onlyNeg.every((p) => p.score < 0));
  await check({ positive: [1, 5], negative: [3], strategy: 'sum_scores' },
    (v) => dot(v, vecs[1]) + dot(v, vecs[5]) - dot(v, vecs[3]));
  // the legacy endpoint too
  let r = await call('POST', `/collections/${c}/points/recommend`, { positive: [1], negative: [3], strategy: 'best_score', limit: 2 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.result.length, 2);
  // no example at all: 422; average_vector needs a positive: 400
  r = await call('POST', `/collections/${c}/points/query`, { query: { recommend: { positive: [] } } });
  assert.equal(r.status, 422, r.text);
  r = await call('POST', `/collections/${c}/points/query`, { query: { recommend: { negative: [1] } } });
  assert.equal(r.status, 400, r.text);
  // lookup_from: the example ids are points of another collection (and not excluded here)
  await call('DELETE', `/collections/${other}`);
  await call('PUT', `/collections/${other}`, { vectors: { o: { size: 4, distance: 'Dot' } } });
  await call('PUT', `/collections/${other}/points?wait=true`, { points: [{ id: 1, vector: { o: [0, 0, 1, 0] } }] });
  r = await call('POST', `/collections/${c}/points/query`, { query: { recommend: { positive: [1] } }, limit: 2,
    lookup_from: { collection: other, vector: 'o' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.result.points[0].id, 5);
  r = await call('POST', `/collections/${c}/points/query`, { query: [1, 0, 0, 0], lookup_from: { collection: 'q_missing' } });
  assert.equal(r.status, 404, r.text);
  assert.match(r.json.status.error, /q_missing/);
  r = await call('POST', `/collections/${c}/points/query`, { query: { recommend: { positive: [1] } }, lookup_from: { collection: other, vector: 'nope' } });
  assert.equal(r.status, 400, r.text);
  r = await call('POST', `/collections/${c}/points/query`, { query: { recommend: { positive: [9] } }, lookup_from: { collection: other, vector: 'nope' } });
  assert.equal(r.status, 404, r.text);
});

test('discover and context queries as Qdrant defines them', async () => {
  const c = 'q_discover';
  await collection(c);
  const vecs = { 1: [1, 0, 0, 0], 2: [0.9, 0.1, 0, 0], 3: [0, 1, 0, 0], 4: [0, 0.9, 0.1, 0], 5: [0, 0, 1, 0], 6: [0.5, 0.5, 0, 0] };
  await call('PUT', `/collections/${c}/points?wait=true`, { points: Object.entries(vecs).map(([id, vector]) => ({ id: +id, vector })) });
  const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
  const fs = (x) => x / (1 + Math.abs(x));
  const run = async (query, used, score) => {
    const r = await call('POST', `/collections/${c}/points/query`, { query, limit: 10 });
    assert.equal(r.status, 200, r.text);
    const want = Object.keys(vecs).map(Number).filter((id) => !used.includes(id))
      .map((id) => ({ id, score: score(vecs[id]) })).sort((a, b) => (b.score - a.score) || (a.id - b.id));
    assert.deepEqual(r.json.result.points.map((p) => p.id), want.map((p) => p.id), JSON.stringify(query));
    r.json.result.points.forEach((p, i) => assert.ok(Math.abs(p.score - want[i].score) < 1e-5, `${p.id}: ${p.score} vs ${want[i].score}`));
  };
  const target = [0, 0, 0.5, 0.5];
  // discover: pairs whose positive is closer count +1, else -1, plus 0.5 (fs(target) + 1)
  await run({ discover: { target, context: [{ positive: 1, negative: 3 }] } }, [1, 3], (v) =>
    Math.sign(dot(v, vecs[1]) - dot(v, vecs[3])) + 0.5 * (fs(dot(v, target)) + 1));
  // context: sum of fs(min(pos - neg - eps, 0)), at most 0
  await run({ context: [{ positive: 2, negative: 5 }, { positive: 1, negative: 4 }] }, [2, 5, 1, 4], (v) =>
    fs(Math.min(dot(v, vecs[2]) - dot(v, vecs[5]), 0)) + fs(Math.min(dot(v, vecs[1]) - dot(v, vecs[4]), 0)));
  const r = await call('POST', `/collections/${c}/points/query`, { query: { context: [] } });
  assert.equal(r.status, 422, r.text);
});

test('telemetry (levels 0 to 2), issues, Qdrant metric names, query-string timeout and wait', async () => {
  const c = 'q_telemetry';
  await collection(c);
  await call('PUT', `/collections/${c}/points?wait=true`, { points: [{ id: 1, vector: [1, 0, 0, 0] }] });
  let r = await call('GET', '/telemetry');
  assert.equal(r.status, 200, r.text);
  let t = r.json.result;
  assert.deepEqual(Object.keys(t).sort(), ['app', 'cluster', 'collections', 'id', 'quota', 'requests']);
  assert.deepEqual(Object.keys(t.collections), ['number_of_collections']);
  const put = t.requests.rest.responses['PUT /collections/{collection_name}/points'];
  assert.ok(put['200'].count > 0 && put['200'].avg_duration_micros >= 0);
  assert.equal(new Date(put['200'].last_responded).toDateString(), new Date().toDateString());
  r = await call('GET', '/telemetry?details_level=1');
  t = r.json.result;
  assert.ok(['memory', 'hardware', 'search_pool'].every((k) => k in t));
  const one = t.collections.collections.find((x) => x.params);
  assert.deepEqual(Object.keys(one).sort(), ['optimizers_status', 'params', 'vectors']);
  r = await call('GET', '/telemetry?details_level=2');
  const two = r.json.result.collections.collections.find((x) => x.id === c);
  assert.deepEqual(Object.keys(two).sort(), ['config', 'id', 'init_time_ms']);
  assert.equal(two.config.params.vectors.size, 4);
  assert.equal((await call('GET', '/telemetry?details_level=x')).status, 400);
  assert.deepEqual((await call('GET', '/issues')).json.result, { issues: [] });
  assert.equal((await call('DELETE', '/issues')).json.result, true);
  const m = await call('GET', '/metrics');
  assert.match(m.text, /^# HELP app_info information about qdrant server$/m);
  assert.match(m.text, /^app_info\{name="qdrant",version="1\.19\.\d+"\} 1$/m);
  assert.match(m.text, /^semcode_build_info\{version="\d+\.\d+\.\d+"\} 1$/m);
  assert.ok(!/collection=/.test(m.text.split('\n').filter((l) => l.startsWith('rest_responses_total')).join('\n')));
  const pc = await call('GET', '/metrics?per_collection=true');
  assert.match(pc.text, new RegExp(`^rest_responses_total\\{method="PUT",endpoint="/collections/\\{collection_name\\}/points",status="200",collection="${c}"\\} 1$`, 'm'));
  for (const level of [3, 4]) { // one local shard; from level 4 its one segment
    const t3 = (await call('GET', `/telemetry?details_level=${level}`)).json.result.collections.collections.find((x) => x.id === c);
    assert.deepEqual(Object.keys(t3).sort(), ['config', 'id', 'init_time_ms', 'resharding', 'shards', 'transfers']);
    const local = t3.shards[0].local;
    assert.equal(local.num_points, 1);
    assert.deepEqual(local.num_vectors_by_name, { '': 1 });
    assert.equal('segments' in local, level >= 4);
    if (level >= 4) assert.equal(local.segments[0].info.num_points, 1);
  }
  assert.match(m.text, /^collections_total \d+$/m);
  assert.match(m.text, new RegExp(`^collection_points\\{id="${c}"\\} 1$`, 'm'));
  assert.match(m.text, /^rest_responses_total\{method="PUT",endpoint="\/collections\/\{collection_name\}\/points",status="200"\} \d+$/m);
  r = await call('PUT', `/collections/${c}/points?timeout=0`, { points: [] });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.status.error, /timeout: value 0 invalid/);
  r = await call('PUT', `/collections/${c}/points?wait=maybe`, { points: [] });
  assert.equal(r.status, 400, r.text);
  r = await call('PUT', `/collections/${c}/points?wait=false&timeout=5`, { points: [] });
  assert.equal(r.status, 200, r.text);
});

test('sample random: every point of the filter once, in a changing order; among prefetch results too', async () => {
  const c = 'q_sample';
  await collection(c);
  await call('PUT', `/collections/${c}/points?wait=true`, { points: Array.from({ length: 12 }, (_, i) => ({ id: i + 1, vector: [i, 1, 0, 0], payload: { even: i % 2 === 1 } })) });
  const orders = new Set();
  for (let k = 0; k < 6; k++) {
    const r = await call('POST', `/collections/${c}/points/query`, { query: { sample: 'random' }, limit: 12 });
    assert.equal(r.status, 200, r.text);
    const ids = r.json.result.points.map((p) => p.id);
    assert.deepEqual([...ids].sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.ok(r.json.result.points.every((p) => p.score === 0));
    orders.add(ids.join());
  }
  assert.ok(orders.size > 1, 'the order changes');
  let r = await call('POST', `/collections/${c}/points/query`, { query: { sample: 'random' }, filter: { must: [{ key: 'even', match: { value: true } }] }, limit: 3 });
  assert.equal(r.json.result.points.length, 3);
  assert.ok(r.json.result.points.every((p) => p.id % 2 === 0));
  r = await call('POST', `/collections/${c}/points/query`, { prefetch: { query: [1, 0, 0, 0], limit: 4 }, query: { sample: 'random' } });
  assert.deepEqual(r.json.result.points.map((p) => p.id).sort((a, b) => a - b), [9, 10, 11, 12]);
  r = await call('POST', `/collections/${c}/points/query`, { query: { sample: 'first' } });
  assert.equal(r.status, 400, r.text);
});

test('distance matrix: pairs and offsets of a sample, nearest others by exact search', async () => {
  const c = 'q_matrix';
  await collection(c);
  const vecs = { 1: [1, 0, 0, 0], 2: [0.9, 0.1, 0, 0], 3: [0, 1, 0, 0], 4: [0, 0.8, 0.2, 0], 5: [0, 0, 1, 0] };
  await call('PUT', `/collections/${c}/points?wait=true`, { points: Object.entries(vecs).map(([id, vector]) => ({ id: +id, vector })) });
  const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
  const ids = Object.keys(vecs).map(Number);
  const want = ids.flatMap((a) => ids.filter((b) => b !== a).map((b) => ({ a, b, score: dot(vecs[a], vecs[b]) }))
    .sort((x, y) => (y.score - x.score) || (x.b - y.b)).slice(0, 2));
  let r = await call('POST', `/collections/${c}/points/search/matrix/pairs`, { sample: 10, limit: 2 });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.result.pairs.map((p) => [p.a, p.b]), want.map((p) => [p.a, p.b]));
  r.json.result.pairs.forEach((p, i) => assert.ok(Math.abs(p.score - want[i].score) < 1e-6));
  r = await call('POST', `/collections/${c}/points/search/matrix/offsets`, { sample: 10, limit: 2 });
  const o = r.json.result;
  assert.deepEqual(o.ids, ids);
  assert.deepEqual(o.offsets_row.map((i, k) => [o.ids[i], o.ids[o.offsets_col[k]]]), want.map((p) => [p.a, p.b]));
  r = await call('POST', `/collections/${c}/points/search/matrix/pairs`, { sample: 3, limit: 1, filter: { must: [{ has_id: [1, 2, 3, 4] }] } });
  assert.equal(r.json.result.pairs.length, 3);
  assert.ok(r.json.result.pairs.every((p) => p.a !== 5 && p.b !== 5));
  r = await call('POST', `/collections/${c}/points/search/matrix/pairs`, { using: 'nope' });
  assert.equal(r.status, 400, r.text);
});

test('order_by in scroll and query: by a payload number with a range index, asc or desc, start_from', async () => {
  const c = 'q_order';
  await collection(c);
  const prices = { 1: 30, 2: 10, 3: [20, 40], 4: 10, 5: 'n/a' };
  await call('PUT', `/collections/${c}/points?wait=true`, { points: Object.entries(prices).map(([id, price]) => ({ id: +id, vector: [1, 0, 0, +id], payload: { price } })) });
  let r = await call('POST', `/collections/${c}/points/scroll`, { order_by: 'price' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.status.error, /range index/);
  await call('PUT', `/collections/${c}/index?wait=true`, { field_name: 'price', field_schema: 'float' });
  r = await call('POST', `/collections/${c}/points/scroll`, { order_by: 'price', limit: 10 });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.result.points.map((p) => [p.id, p.order_value]), [[2, 10], [4, 10], [3, 20], [1, 30], [3, 40]]);
  assert.equal(r.json.result.next_page_offset, null);
  r = await call('POST', `/collections/${c}/points/scroll`, { order_by: { key: 'price', direction: 'desc', start_from: 30 }, limit: 2 });
  assert.deepEqual(r.json.result.points.map((p) => p.id), [1, 3]);
  r = await call('POST', `/collections/${c}/points/query`, { query: { order_by: 'price' }, limit: 3 });
  assert.deepEqual(r.json.result.points.map((p) => p.id), [2, 4, 3]);
  r = await call('POST', `/collections/${c}/points/query`, { query: { order_by: 'price' }, score_threshold: 1 });
  assert.equal(r.status, 400, r.text);
});

test('a collection of sparse vectors only; dense and sparse names must differ; sparse index datatypes', async () => {
  const c = 'q_sparse_only';
  await call('DELETE', `/collections/${c}`);
  let r = await call('PUT', `/collections/${c}`, { sparse_vectors: { text: { index: { datatype: 'float16' } } } });
  assert.equal(r.status, 400, r.text); // weights are kept as float32 only
  r = await call('PUT', `/collections/${c}`, { sparse_vectors: { text: { index: { datatype: 'float32' } } } });
  assert.equal(r.status, 200, r.text);
  const info = (await call('GET', `/collections/${c}`)).json.result;
  assert.deepEqual(info.config.params.sparse_vectors, { text: { index: { on_disk: false }, modifier: 'none' } });
  r = await call('PUT', `/collections/${c}/points?wait=true`, { points: [{ id: 1, vector: { text: { indices: [3, 1], values: [0.3, 0.1] } } }] });
  assert.equal(r.status, 200, r.text);
  r = await call('GET', `/collections/${c}/points/1`);
  assert.deepEqual(r.json.result.vector, { text: { indices: [1, 3], values: [0.1, 0.3] } });
  r = await call('PUT', `/collections/${c}/points`, { points: [{ id: 2, vector: [1, 2] }] });
  assert.equal(r.status, 400, r.text);
  r = await call('PUT', '/collections/q_sparse_clash', { vectors: { image: { size: 2, distance: 'Dot' } }, sparse_vectors: { image: {} } });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.status.error, /Dense and sparse vector names must be unique - duplicate found with 'image'/);
  r = await call('PUT', '/collections/q_sparse_turbo', { sparse_vectors: { text: { index: { datatype: 'turbo4' } } } });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.status.error, /sparse vectors do not support/);
  r = await call('PUT', '/collections/q_nothing', {});
  assert.equal(r.status, 400, r.text);
});

test('collection info: configuration as given, indexing_threshold drives the graph, optimizations, strict mode', async () => {
  const c = 'q_config';
  await call('DELETE', `/collections/${c}`);
  let r = await call('PUT', `/collections/${c}`, {
    vectors: { size: 256, distance: 'Dot', memory: 'cold', hnsw_config: { m: 12 } },
    quantization_config: { product: { compression: 'x32' } },
    optimizers_config: { indexing_threshold: 10 }, payload: { memory: 'cached' },
  });
  assert.equal(r.status, 200, r.text);
  const vecs = Array.from({ length: 20 }, (_, i) => Array.from({ length: 256 }, (_, k) => ((i * 7 + k) % 13) / 13));
  r = await call('PUT', `/collections/${c}/points?wait=true`, { batch: { ids: vecs.map((_, i) => i + 1), vectors: vecs } });
  assert.equal(r.status, 200, r.text);
  let info = (await call('GET', `/collections/${c}`)).json.result;
  // the graph is built in the background: yellow until it has every vector (as Qdrant's optimizer)
  for (let i = 0; i < 600 && info.status === 'yellow'; i++) {
    await new Promise((ok) => setTimeout(ok, 50));
    info = (await call('GET', `/collections/${c}`)).json.result;
  }
  assert.equal(info.status, 'green');
  assert.equal(info.indexed_vectors_count, 20); // 10 KiB = 10 vectors of 256 floats: indexed
  assert.deepEqual(info.config.params.vectors, { size: 256, distance: 'Dot', memory: 'cold', hnsw_config: { m: 12 } });
  assert.equal(info.config.hnsw_config.m, 16);
  assert.deepEqual(info.config.params.payload, { memory: 'cached' });
  assert.equal(info.config.optimizer_config.indexing_threshold, 10);
  assert.equal(info.config.optimizer_config.deleted_threshold, 0.2);
  assert.match(info.warnings[0].message, /product quantization is not implemented/);
  r = await call('PATCH', `/collections/${c}`, { vectors: { '': { memory: 'pinned' } } });
  assert.equal(r.status, 422, r.text);
  r = await call('GET', `/collections/${c}/optimizations?with=queued,%20completed,idle_segments`);
  assert.deepEqual(r.json.result.running, []);
  assert.deepEqual(r.json.result.queued, []);
  assert.equal(r.json.result.idle_segments[0].points_count, 20);
  r = await call('PATCH', `/collections/${c}`, { strict_mode_config: { enabled: true, max_query_limit: 5 } });
  assert.equal(r.status, 200, r.text);
  r = await call('POST', `/collections/${c}/points/query`, { query: vecs[0], limit: 6 });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.status.error, /Limit exceeded 6 > 5 for "limit"/);
  r = await call('POST', `/collections/${c}/points/query`, { query: vecs[0], limit: 5 });
  assert.equal(r.status, 200, r.text);
  await call('DELETE', `/collections/${c}`);
});
