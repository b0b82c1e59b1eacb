// End-to-end tests of text Documents in upserts and /points/query against the
// server started by run.sh (SEMCODE_URL, built-in model loaded), through the
// official client @qdrant/js-client-rest 1.18.0:
//   - {"text", "model": "builtin"} as a vector value is embedded server-side;
//   - {"text", "model": "qdrant/bm25"} as a vector value is the point's BM25 text;
//   - a query Document with model "qdrant/bm25" is a BM25 search;
//   - options {"mode": "hybrid"} fuses dense and BM25 as `semcode search`
//     does (weighted RRF over 1-based ranks, SC_HYBRID_* in repo.h; or alpha-weighted min-max),
//     checked against the fusion computed here from the two single legs and
//     against Qdrant's own prefetch + rrf form.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient } from '@qdrant/js-client-rest';

const url = process.env.SEMCODE_URL;
const client = new QdrantClient({ url, checkCompatibility: false });
const C = 'hybrid_code';

const SOURCES = [
  ['go', 'func Retry(fn func() error, attempts int) error { for i := 0; i < attempts; i++ { if err := fn(); err == nil { return nil }; time.Sleep(backoff(i)) }; return ErrExhausted }'],
  ['go', 'func backoff(attempt int) time.Duration { return time.Duration(1<<attempt) * 100 * time.Millisecond }'],
  ['python', 'def send_request(session, url, body=None):\n    """Send an HTTP request and return the response."""\n    return session.post(url, data=body)'],
  ['python', 'def parse_config(path):\n    with open(path) as f:\n        return json.load(f)'],
  ['python', 'def retry_request(url, attempts=3):\n    for i in range(attempts):\n        try:\n            return http_get(url)\n        except IOError:\n            time.sleep(2 ** i)'],
  ['c', 'uint32_t crc32_buffer(const uint8_t *buf, size_t n) { uint32_t c = 0xffffffff; for (size_t i = 0; i < n; i++) c = table[(c ^ buf[i]) & 0xff] ^ (c >> 8); return c ^ 0xffffffff; }'],
  ['c', 'int read_file(const char *path, char **out) { FILE *f = fopen(path, "rb"); if (!f) return -1; /* read all */ return 0; }'],
  ['javascript', 'function totalPrice(items) { return items.reduce((sum, it) => sum + it.price * it.qty, 0); }'],
  ['javascript', 'async function fetchJson(url) { const r = await fetch(url); if (!r.ok) throw new Error(r.status); return r.json(); }'],
  ['rust', 'fn http_get(client: &Client, url: &str) -> Result<String> { let resp = client.get(url).send()?; Ok(resp.text()?) }'],
  ['rust', 'fn checksum(data: &[u8]) -> u32 { data.iter().fold(0u32, |a, b| a.rotate_left(5) ^ *b as u32) }'],
  ['python', 'class Session:\n    def request(self, method, path):\n        """Send an HTTP request with retries and exponential backoff."""\n        return self._send(method, path)'],
];

const dense = (text, extra = {}) => client.query(C, { query: { text, model: 'builtin' }, using: 'code', limit: 50, ...extra });
const bm25 = (text, extra = {}) => client.query(C, { query: { text, model: 'qdrant/bm25' }, using: 'bm25', limit: 50, ...extra });

// The CLI's fusion (src/repo/query.c; SC_HYBRID_RRF_K and
// SC_HYBRID_KEYWORD_WEIGHT in include/semcode/repo.h) recomputed from the two legs.
const RRF_K = 10, KW_WEIGHT = 0.5;
function fuse(d, k, alpha) {
  const m = new Map();
  const add = (list, leg) => {
    const lo = Math.min(...list.map((p) => p.score)), hi = Math.max(...list.map((p) => p.score));
    list.forEach((p, i) => {
      const e = m.get(p.id) || { id: p.id, score: 0 };
      if (alpha > 0) e.score += (leg === 0 ? alpha : 1 - alpha) * (hi > lo ? (p.score - lo) / (hi - lo) : 1);
      else e.score += (leg === 0 ? 1 : KW_WEIGHT) / (RRF_K + i + 1);
      m.set(p.id, e);
    });
  };
  add(d, 0);
  add(k, 1);
  return [...m.values()].sort((a, b) => (b.score - a.score) || (a.id - b.id));
}

function sameRanking(got, want, limit) {
  const w = want.slice(0, limit);
  assert.deepEqual(got.map((p) => p.id), w.map((p) => p.id));
  got.forEach((p, i) => assert.ok(Math.abs(p.score - w[i].score) < 1e-5, `score of ${p.id}: ${p.score} vs ${w[i].score}`));
}

before(async () => {
  await client.deleteCollection(C);
  await client.createCollection(C, { vectors: { code: { size: 256, distance: 'Cosine' } } });
  await client.createPayloadIndex(C, { field_name: 'lang', field_schema: 'keyword' });
  const r = await client.upsert(C, {
    wait: true,
    points: SOURCES.map(([lang, src], i) => ({
      id: i + 1, payload: { lang },
      vector: { code: { text: src, model: 'builtin' }, bm25: { text: src, model: 'qdrant/bm25' } },
    })),
  });
  assert.equal(r.status, 'completed');
});

test('Documents in upserts: builtin is embedded (code side), qdrant/bm25 is the BM25 text', async () => {
  const p = await client.retrieve(C, { ids: [3], with_vector: true });
  assert.equal(p[0].vector.code.length, 256);
  assert.equal(p[0].vector.bm25, undefined);
  const norm = Math.hypot(...p[0].vector.code);
  assert.ok(Math.abs(norm - 1) < 1e-4);
  const k = await bm25('crc32 checksum buffer');
  assert.equal(k.points[0].id, 6);
  assert.ok(k.points.every((x) => x.score > 0));
  assert.ok(k.points.length < SOURCES.length, 'BM25 returns only points that share a term');
});

test('hybrid text query equals the CLI fusion of the dense and BM25 legs (weighted RRF)', async () => {
  for (const q of ['send an http request', 'retry with exponential backoff', 'checksum of a buffer', 'total price of items']) {
    const d = (await dense(q)).points, k = (await bm25(q)).points;
    assert.ok(d.length > 0 && k.length > 0, q);
    const h = await client.query(C, { query: { text: q, model: 'builtin', options: { mode: 'hybrid' } }, using: 'code', limit: 5 });
    sameRanking(h.points, fuse(d, k, 0), 5);
    // Qdrant's own shape: two prefetches fused by weighted rrf, with Qdrant's
    // formula (lib/segment/src/common/reciprocal_rank_fusion.rs): the weight
    // divides the position, 1 / ((rank + 1) / w + k - 1), ranks from 0
    const p = await client.query(C, {
      prefetch: [{ query: { text: q, model: 'builtin' }, using: 'code', limit: 50 },
        { query: { text: q, model: 'qdrant/bm25' }, using: 'bm25', limit: 50 }],
      query: { rrf: { k: RRF_K + 1, weights: [1, KW_WEIGHT] } }, limit: 5,
    });
    const m = new Map();
    [[d, 1], [k, KW_WEIGHT]].forEach(([list, w]) => list.forEach((x, i) => {
      m.set(x.id, (m.get(x.id) || 0) + 1 / ((i + 1) / w + RRF_K + 1 - 1));
    }));
    const want = [...m.entries()].map(([id, score]) => ({ id, score })).sort((a, b) => (b.score - a.score) || (a.id - b.id));
    sameRanking(p.points, want, 5);
  }
});

test('hybrid with alpha, filter, offset and payloads', async () => {
  const q = 'retry the request with backoff';
  const d = (await dense(q)).points, k = (await bm25(q)).points;
  const h = await client.query(C, { query: { text: q, model: 'builtin', options: { mode: 'hybrid', alpha: 0.3 } },
    using: 'code', limit: 4 });
  sameRanking(h.points, fuse(d, k, 0.3), 4);
  const f = { must: [{ key: 'lang', match: { value: 'python' } }] };
  const fd = (await dense(q, { filter: f })).points, fk = (await bm25(q, { filter: f })).points;
  const hf = await client.query(C, { query: { text: q, model: 'builtin', options: { mode: 'hybrid' } }, using: 'code',
    filter: f, limit: 3, offset: 1, with_payload: true });
  sameRanking(hf.points, fuse(fd, fk, 0).slice(1), 3);
  assert.ok(hf.points.every((x) => x.payload.lang === 'python'));
  // keyword mode of the builtin Document = a BM25 query
  const kw = await client.query(C, { query: { text: q, model: 'builtin', options: { mode: 'keyword' } }, limit: 50 });
  assert.deepEqual(kw.points, k);
});

async function rejects(body, re, path = `/collections/${C}/points/query`, method = 'POST') {
  const r = await fetch(url + path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 400, JSON.stringify(body));
  assert.match((await r.json()).status.error, re);
}

test('bad text queries and documents name the field', async () => {
  await rejects({ query: { text: 'x', model: 'builtin', options: { mode: 'fast' } } }, /query\.options\.mode.*`fast`/);
  await rejects({ query: { text: 'x', model: 'builtin', options: { alpha: 0.5 } } }, /options\.alpha` needs/);
  await rejects({ query: { text: 'x', model: 'builtin', options: { mode: 'hybrid', alpha: 'a' } } }, /`alpha` must be a number/);
  await rejects({ query: { text: 'x', model: 'builtin', options: { mdoe: 'hybrid' } } }, /unknown field `query\.options\.mdoe`/);
  await rejects({ query: { text: 'x', model: 'qdrant/bm25', options: { k: 1 } } }, /options` are not supported with model `qdrant\/bm25`/);
  await rejects({ query: { text: '', model: 'builtin' } }, /query\.text` must be a non-empty string/);
  await rejects({ query: { text: 'x', model: 'builtin', options: { mode: 'hybrid' } }, using: 'code',
    prefetch: [{ query: [1, 2], using: 'code' }] }, /hybrid text query cannot have `prefetch`/);
  await rejects({ batch: { ids: [50], vectors: { bm25: [{ text: 'x', model: 'qdrant/bm25' }] } } },
    /batch\.vectors\.bm25\[0\]: BM25 documents are accepted in the `points` list form only/, `/collections/${C}/points`, 'PUT');
  await rejects({ points: [{ id: 51, vector: { a: { text: 'x', model: 'bm25' }, b: { text: 'y', model: 'bm25' } } }] },
    /points\[0\]\.vector\.b: a point has at most one BM25 document/, `/collections/${C}/points`, 'PUT');
  await rejects({ points: [{ id: 52, vector: { code: { text: 'x', model: 'gpt' } } }] }, /unknown model `gpt`/,
    `/collections/${C}/points`, 'PUT');
  assert.equal((await client.count(C, { exact: true })).count, SOURCES.length, 'rejected upserts stored nothing');
});

// /metrics of the run.sh server (which has an embedding cache): texts computed,
// cache hits and misses, and the ratio. Other test files run at the same time,
// so only increases and the ratio's consistency are checked.
async function metrics() {
  const text = await (await fetch(url + '/metrics')).text();
  const get = (name) => {
    const m = text.match(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm'));
    assert.ok(m, `${name} missing from /metrics`);
    return Number(m[1]);
  };
  return { computed: get('semcode_embeddings_total'), hits: get('semcode_embedding_cache_hits_total'),
    misses: get('semcode_embedding_cache_misses_total'), ratio: get('semcode_embedding_cache_hit_ratio'),
    entries: get('semcode_embedding_cache_entries') };
}

test('metrics: embeddings computed, cache hits and misses, hit ratio', async () => {
  const text = `a text nobody else embeds ${process.pid} ${Date.now()}`;
  const embed = async () => {
    const r = await fetch(url + '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: text, model: 'builtin' }) });
    assert.equal(r.status, 200);
    return (await r.json()).data[0].embedding;
  };
  const m0 = await metrics();
  const v1 = await embed();
  const m1 = await metrics();
  assert.ok(m1.computed >= m0.computed + 1 && m1.misses >= m0.misses + 1, JSON.stringify([m0, m1]));
  const v2 = await embed();
  const m2 = await metrics();
  assert.deepEqual(v2, v1);
  assert.ok(m2.hits >= m1.hits + 1, JSON.stringify([m1, m2]));
  assert.ok(m2.entries >= 1);
  assert.ok(Math.abs(m2.ratio - m2.hits / (m2.hits + m2.misses)) < 1e-5, JSON.stringify(m2));
});
