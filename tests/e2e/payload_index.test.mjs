// End-to-end tests of payload index types and facets (issue 17) against the
// server started by run.sh (SEMCODE_URL), through the official client
// @qdrant/js-client-rest: full-text indexes with the word, prefix and code
// tokenizers (match text / text_any / phrase, stop words), keyword prefix
// match, geo, datetime and uuid indexes, payload_schema in collection info,
// the facet endpoint, and the errors a client meets (bad schemas, facet
// without an index). Expected answers are computed here from the data.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient } from '@qdrant/js-client-rest';

const url = process.env.SEMCODE_URL;
const client = new QdrantClient({ url, checkCompatibility: false });
const C = 'payload_index_e2e';

const docs = [
  { title: 'The quick brown fox jumps over the lazy dog', fn: 'parseHttpResponse', city: 'Berlin',
    loc: { lon: 13.4, lat: 52.52 }, at: '2024-01-15T10:00:00Z', owner: 'a64a8051-3ee7-4881-8bc6-691d25c70d54' },
  { title: 'A quick brown cat runs through the garden', fn: 'parse_http_request', city: ['Berlin', 'London'],
    loc: { lon: -0.13, lat: 51.51 }, at: '2024-02-01T08:00:00+02:00', owner: '7cb46fb3-e348-4762-93ad-7fb983d2b85e' },
  { title: 'Robots dream of electric sheep', fn: 'HTTPServer', city: 'Moscow',
    loc: { lon: 37.62, lat: 55.75 }, at: '2024-03-01T12:30', owner: 'a64a8051-3ee7-4881-8bc6-691d25c70d54' },
  { title: 'The Robot of the Star', fn: 'getUserName', city: 'London',
    loc: [{ lon: 2.35, lat: 48.86 }, { lon: 139.69, lat: 35.69 }], at: '2023-12-31T23:59:59Z' },
  { title: 'lazy dogs sleep all day long', fn: 'user_name_get', city: 'Berlin' },
];

const ids = async (filter) => {
  const r = await client.scroll(C, { filter, limit: 100, with_payload: false });
  return r.points.map((p) => p.id).sort((a, b) => a - b);
};
const count = async (filter) => (await client.count(C, { filter, exact: true })).count;
const match = (key, m) => ({ must: [{ key, match: m }] });

before(async () => {
  await client.deleteCollection(C);
  await client.createCollection(C, { vectors: { size: 2, distance: 'Dot' } });
  await client.upsert(C, {
    wait: true,
    points: docs.map((payload, i) => ({ id: i + 1, vector: [1, i / 10], payload })),
  });
});

test('match.text is a substring test without a text index, a token test with one', async () => {
  assert.deepEqual(await ids(match('title', { text: 'Robot' })), [3, 4]);
  assert.deepEqual(await ids(match('title', { text: 'robot' })), []);
  await client.createPayloadIndex(C, {
    wait: true, field_name: 'title',
    field_schema: { type: 'text', tokenizer: 'word', lowercase: true, stopwords: 'english', phrase_matching: true },
  });
  assert.deepEqual(await ids(match('title', { text: 'robot' })), [4]); // "Robots" is another token
  assert.deepEqual(await ids(match('title', { text: 'LAZY dog' })), [1]);
  assert.deepEqual(await ids(match('title', { text_any: 'robot of the star' })), [4]);
  assert.deepEqual(await ids(match('title', { text: 'the' })), []); // a stop word leaves no token
  assert.deepEqual(await ids(match('title', { phrase: 'quick brown' })), [1, 2]);
  assert.deepEqual(await ids(match('title', { phrase: 'brown quick' })), []);
  assert.equal(await count(match('title', { phrase: 'lazy dog' })), 1);
  // the same answer from a query with a vector
  const q = await client.query(C, { query: [1, 0], filter: match('title', { text: 'quick' }), limit: 10 });
  assert.deepEqual(q.points.map((p) => p.id).sort(), [1, 2]);
});

test('prefix and code tokenizers', async () => {
  await client.createPayloadIndex(C, {
    wait: true, field_name: 'title', field_schema: { type: 'text', tokenizer: 'prefix', min_token_len: 2 },
  });
  assert.deepEqual(await ids(match('title', { text: 'ROB' })), [3, 4]);
  assert.deepEqual(await ids(match('title', { text: 'r' })), []); // shorter than min_token_len
  await client.createPayloadIndex(C, { wait: true, field_name: 'fn', field_schema: { type: 'text', tokenizer: 'code' } });
  assert.deepEqual(await ids(match('fn', { text: 'http parse' })), [1, 2]);
  assert.deepEqual(await ids(match('fn', { text: 'user_name' })), [4, 5]);
  assert.deepEqual(await ids(match('fn', { phrase: 'user name' })), []); // no positions kept
});

test('keyword prefix match, with and without the index', async () => {
  for (let pass = 0; pass < 2; pass++) {
    assert.deepEqual(await ids(match('city', { prefix: 'Lo' })), [2, 4]);
    assert.deepEqual(await ids(match('city', { prefix: 'B' })), [1, 2, 5]);
    await client.createPayloadIndex(C, { wait: true, field_name: 'city', field_schema: { type: 'keyword', prefix: true } });
  }
});

test('geo, datetime and uuid indexes answer as the plain filter does', async () => {
  const near = { must: [{ key: 'loc', geo_radius: { center: { lon: 13.41, lat: 52.52 }, radius: 2000 } }] };
  const europe = { must: [{ key: 'loc', geo_bounding_box: { top_left: { lon: -10, lat: 60 }, bottom_right: { lon: 30, lat: 40 } } }] };
  const poly = {
    must: [{ key: 'loc', geo_polygon: { exterior: { points: [
      { lon: 0, lat: 30 }, { lon: 150, lat: 30 }, { lon: 150, lat: 40 }, { lon: 0, lat: 40 }, { lon: 0, lat: 30 }] } } }],
  };
  const winter = { must: [{ key: 'at', range: { gte: '2024-01-01', lt: '2024-02-01T07:00:00Z' } }] };
  const owner = match('owner', { value: 'a64a8051-3ee7-4881-8bc6-691d25c70d54' });
  for (let pass = 0; pass < 2; pass++) {
    assert.deepEqual(await ids(near), [1]);
    assert.deepEqual(await ids(europe), [1, 2, 4]);
    assert.deepEqual(await ids(poly), [4]);
    assert.deepEqual(await ids(winter), [1, 2]);
    assert.deepEqual(await ids(owner), [1, 3]);
    if (pass === 0) {
      await client.createPayloadIndex(C, { wait: true, field_name: 'loc', field_schema: 'geo' });
      await client.createPayloadIndex(C, { wait: true, field_name: 'at', field_schema: { type: 'datetime', is_principal: true } });
      await client.createPayloadIndex(C, { wait: true, field_name: 'owner', field_schema: 'uuid' });
    }
  }
  // an open polygon is refused
  await assert.rejects(client.scroll(C, { filter: { must: [{ key: 'loc', geo_polygon: { exterior: { points: [
    { lon: 0, lat: 0 }, { lon: 1, lat: 0 }, { lon: 1, lat: 1 }, { lon: 0, lat: 1 }] } } }] } }),
  (e) => /closed line/.test(JSON.stringify(e.data ?? e.message)));
});

test('payload_schema reports each index with its options and points', async () => {
  const info = await client.getCollection(C);
  const s = info.payload_schema;
  assert.equal(s.loc.data_type, 'geo');
  assert.equal(s.loc.points, 4);
  assert.equal(s.loc.params, undefined);
  assert.deepEqual(s.at.params, { type: 'datetime', is_principal: true });
  assert.equal(s.at.points, 4);
  assert.deepEqual(s.fn.params, { type: 'text', tokenizer: 'code' });
  assert.deepEqual(s.city.params, { type: 'keyword', prefix: true });
  assert.equal(s.owner.data_type, 'uuid');
  assert.equal(s.owner.points, 3);
});

test('facets count points per value, largest first', async () => {
  await assert.rejects(client.facet(C, { key: 'title' }), (e) => /No appropriate index for faceting/.test(JSON.stringify(e.data ?? e.message)));
  const all = await client.facet(C, { key: 'city' });
  assert.deepEqual(all.hits, [{ value: 'Berlin', count: 3 }, { value: 'London', count: 2 }, { value: 'Moscow', count: 1 }]);
  const some = await client.facet(C, { key: 'city', limit: 1, exact: true, filter: match('title', { text: 'qu' }) });
  assert.deepEqual(some.hits, [{ value: 'Berlin', count: 2 }]);
  const owners = await client.facet(C, { key: 'owner' });
  assert.deepEqual(owners.hits, [
    { value: 'a64a8051-3ee7-4881-8bc6-691d25c70d54', count: 2 }, { value: '7cb46fb3-e348-4762-93ad-7fb983d2b85e', count: 1 }]);
});

test('bad schemas are refused with the field named', async () => {
  await assert.rejects(
    client.createPayloadIndex(C, { field_name: 'n', field_schema: { type: 'integer', lookup: false, range: false } }),
    (e) => e.status === 422 && /'lookup' and 'range' capabilities can't be both disabled/.test(JSON.stringify(e.data)));
  await assert.rejects(
    client.createPayloadIndex(C, { field_name: 'n', field_schema: { type: 'text', tokenizer: 'ngram' } }),
    (e) => e.status === 400 && /unknown tokenizer ngram/.test(JSON.stringify(e.data)));
  await client.deletePayloadIndex(C, 'loc', { wait: true });
  const info = await client.getCollection(C);
  assert.equal(info.payload_schema.loc, undefined);
});
