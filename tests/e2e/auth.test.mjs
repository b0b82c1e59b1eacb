// API keys, roles and tenants against the server started by run.sh with
// keys (SEMCODE_AUTH_URL): missing / wrong key → 401, too weak a role →
// 403, and two tenants that try every endpoint across the boundary.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient } from '@qdrant/js-client-rest';

const url = process.env.SEMCODE_AUTH_URL;
const K = {
  admin: 'admin-key-0123456789abcdef', read: 'read-key-0123456789abcdef', write: 'write-key-0123456789abcdef',
  aAdmin: 'tenant-a-admin-0123456789', aRead: 'tenant-a-read-01234567890', bAdmin: 'tenant-b-admin-0123456789',
};
const mk = (apiKey) => new QdrantClient({ url, apiKey, checkCompatibility: false });

async function raw(method, path, body, headers = {}) {
  const init = { method, headers: { 'content-type': 'application/json', ...headers } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const r = await fetch(url + path, init);
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* text */ }
  return { status: r.status, json, text };
}

before(async () => {
  const admin = mk(K.admin);
  await admin.createCollection('shared', { vectors: { size: 2, distance: 'Dot' } });
  await admin.upsert('shared', { points: [{ id: 1, vector: [1, 0], payload: { who: 'global' } }] });
  const a = mk(K.aAdmin);
  await a.createCollection('docs', { vectors: { size: 2, distance: 'Dot' } });
  await a.upsert('docs', { points: [{ id: 1, vector: [1, 0], payload: { secret: 'tenant-a' } },
    { id: 2, vector: [0, 1], payload: { secret: 'tenant-a' } }] });
  await a.updateCollectionAliases({ actions: [{ create_alias: { collection_name: 'docs', alias_name: 'adocs' } }] });
});

test('missing or wrong keys answer 401; probes stay open', async () => {
  assert.equal((await raw('GET', '/collections')).status, 401);
  assert.equal((await raw('GET', '/collections', undefined, { 'api-key': 'wrong-key-0123456789abcdef' })).status, 401);
  assert.equal((await raw('GET', '/collections', undefined, { authorization: 'Bearer nope' })).status, 401);
  assert.equal((await raw('GET', '/collections', undefined, { authorization: `Bearer ${K.read}` })).status, 200);
  assert.equal((await raw('GET', '/collections', undefined, { 'api-key': K.read })).status, 200);
  assert.equal((await raw('GET', '/healthz')).status, 200);
  assert.equal((await raw('GET', '/')).status, 200);
  const r = await raw('GET', '/collections/shared', undefined, { 'api-key': K.admin.slice(0, -1) });
  assert.equal(r.status, 401);
  assert.ok(!r.text.includes(K.admin.slice(0, -1)), 'the key is not echoed');
});

test('roles: read cannot write, write cannot manage collections', async () => {
  const read = mk(K.read), write = mk(K.write);
  assert.equal((await read.count('shared', {})).count, 1);
  await assert.rejects(read.upsert('shared', { points: [{ id: 2, vector: [0, 1] }] }), (e) => e.status === 403);
  await assert.rejects(read.createCollection('x', { vectors: { size: 2, distance: 'Dot' } }), (e) => e.status === 403);
  await write.upsert('shared', { points: [{ id: 2, vector: [0, 1] }] });
  await write.delete('shared', { points: [2] });
  await assert.rejects(write.deleteCollection('shared'), (e) => e.status === 403);
  await assert.rejects(write.updateCollectionAliases({ actions: [] }), (e) => e.status === 403);
  await read.search('shared', { vector: [1, 0], limit: 1 }); // one point: an exact scan
  assert.equal((await raw('GET', '/metrics', undefined, { 'api-key': K.read })).status, 403);
  const m = await raw('GET', '/metrics', undefined, { 'api-key': K.admin });
  assert.equal(m.status, 200);
  assert.match(m.text, /semcode_http_requests_total\{endpoint="points_upsert",status="200"\} \d+/);
  assert.match(m.text, /semcode_http_request_duration_seconds_bucket\{endpoint="collection_create",status="200",le="\+Inf"\} \d+/);
  assert.match(m.text, /semcode_points_total \d+/);
  assert.match(m.text, /semcode_search_plans_total\{plan="exact_scan"\} [1-9]\d*/);
  assert.match(m.text, /semcode_search_plans_total\{plan="graph_filter"\} \d+/);
  const am = await raw('GET', '/metrics', undefined, { 'api-key': K.aAdmin });
  assert.equal(am.status, 200, 'a tenant admin sees its own metrics');
  assert.doesNotMatch(am.text, /collection="shared"|tenant="b"|semcode_search_plans_total/);
  assert.equal((await raw('GET', '/metrics', undefined, { 'api-key': K.aRead })).status, 403);
});

test('tenants: names are namespaced, lists are filtered', async () => {
  const a = mk(K.aAdmin), b = mk(K.bAdmin), admin = mk(K.admin);
  assert.deepEqual((await a.getCollections()).collections.map((c) => c.name), ['docs']);
  assert.deepEqual((await b.getCollections()).collections, []);
  assert.deepEqual((await admin.getCollections()).collections.map((c) => c.name), ['shared']);
  // b may create its own `docs`: a different collection
  await b.createCollection('docs', { vectors: { size: 2, distance: 'Dot' } });
  assert.equal((await b.count('docs', {})).count, 0);
  assert.equal((await a.count('docs', {})).count, 2);
  await b.deleteCollection('docs');
  assert.equal((await a.count('docs', {})).count, 2, "b deleting its docs leaves a's");
  // the global namespace cannot address tenant collections by their store names
  const r = await raw('GET', '/collections/.a.docs', undefined, { 'api-key': K.admin });
  assert.equal(r.status, 404);
});

test("tenant b can never read, count, list, write or infer tenant a's data", async () => {
  const b = mk(K.bAdmin);
  const h = { 'api-key': K.bAdmin };
  const probes = [
    ['GET', '/collections/docs'], ['GET', '/collections/adocs'], ['GET', '/collections/docs/points/1'],
    ['POST', '/collections/docs/points', { ids: [1] }], ['POST', '/collections/docs/points/scroll', {}],
    ['POST', '/collections/docs/points/count', {}], ['POST', '/collections/docs/points/query', { query: [1, 0] }],
    ['POST', '/collections/adocs/points/query', { query: [1, 0] }],
    ['POST', '/collections/docs/points/query/batch', { searches: [{ query: [1, 0] }] }],
    ['POST', '/collections/docs/points/search', { vector: [1, 0], limit: 1 }],
    ['POST', '/collections/docs/points/search/batch', { searches: [{ vector: [1, 0], limit: 1 }] }],
    ['POST', '/collections/docs/points/recommend', { positive: [1], limit: 1 }],
    ['PUT', '/collections/docs/points', { points: [{ id: 9, vector: [1, 1] }] }],
    ['POST', '/collections/docs/points/delete', { points: [1] }],
    ['POST', '/collections/docs/points/payload', { payload: { x: 1 }, points: [1] }],
    ['PUT', '/collections/docs/points/payload', { payload: { x: 1 }, points: [1] }],
    ['POST', '/collections/docs/points/payload/delete', { keys: ['secret'], points: [1] }],
    ['POST', '/collections/docs/points/payload/clear', { points: [1] }],
    ['POST', '/collections/docs/points/batch', { operations: [{ delete: { points: [1] } }] }],
    ['PUT', '/collections/docs/index', { field_name: 'secret', field_schema: 'keyword' }],
    ['DELETE', '/collections/docs/index/secret'], ['GET', '/collections/docs/aliases'],
    ['PATCH', '/collections/docs', {}],
  ];
  for (const [m, p, body] of probes) {
    const r = await raw(m, p, body, h);
    assert.equal(r.status, 404, `${m} ${p}: ${r.text}`);
    assert.ok(!r.text.includes('tenant-a') && !r.text.includes('.a.'), `${m} ${p} leaks: ${r.text}`);
  }
  assert.equal((await b.collectionExists('docs')).exists, false);
  assert.equal((await b.collectionExists('adocs')).exists, false);
  assert.deepEqual((await b.getAliases()).aliases, []);
  assert.equal(await b.deleteCollection('docs'), false);
  await assert.rejects(b.updateCollectionAliases({ actions: [{ create_alias: { collection_name: 'docs', alias_name: 'steal' } }] }),
    (e) => e.status === 404);
  // b's alias of the same name points at b's own collection only
  await b.createCollection('mine', { vectors: { size: 2, distance: 'Dot' } });
  await b.updateCollectionAliases({ actions: [{ create_alias: { collection_name: 'mine', alias_name: 'adocs' } }] });
  assert.equal((await b.count('adocs', {})).count, 0);
  assert.equal((await mk(K.aAdmin).count('adocs', {})).count, 2);
  // a's data is untouched
  const a = mk(K.aRead);
  const pts = await a.scroll('docs', {});
  assert.deepEqual(pts.points.map((p) => [p.id, p.payload.secret]), [[1, 'tenant-a'], [2, 'tenant-a']]);
  await assert.rejects(a.upsert('docs', { points: [{ id: 3, vector: [1, 1] }] }), (e) => e.status === 403);
});
