// Bad input over raw HTTP against `semcode serve` (SEMCODE_URL, body limit
// 1 MiB, idle timeout 2 s, set by tests/e2e/run.sh): every request gets a
// clear error, the server stays up and the store is unchanged.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

const url = process.env.SEMCODE_URL;
const { hostname, port } = new URL(url);
const C = 'bad';

async function call(method, path, body, headers = {}) {
  const init = { method, headers: { 'content-type': 'application/json', ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  let r;
  try {
    r = await fetch(url + path, init);
  } catch (e) {
    // The server closes idle keep-alive connections after its 2 s timeout;
    // fetch may pick such a socket just as it closes. Retry once on a new one.
    r = await fetch(url + path, init);
  }
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* plain text */ }
  return { status: r.status, json, text };
}

async function expectError(method, path, body, status, re) {
  const r = await call(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  assert.equal(typeof r.json?.status?.error, 'string', r.text);
  assert.equal(typeof r.json.time, 'number');
  if (re) assert.match(r.json.status.error, re);
  return r;
}

async function snapshot() {
  const count = (await call('POST', `/collections/${C}/points/count`, {})).json.result.count;
  const scroll = (await call('POST', `/collections/${C}/points/scroll`, { limit: 100, with_vector: true })).json.result;
  return JSON.stringify({ count, scroll });
}

let before_state;
before(async () => {
  await call('DELETE', `/collections/${C}`);
  const r = await call('PUT', `/collections/${C}`, { vectors: { size: 3, distance: 'Dot' } });
  assert.equal(r.status, 200, r.text);
  const u = await call('PUT', `/collections/${C}/points?wait=true`, { points: [
    { id: 1, vector: [1, 2, 3], payload: { a: 1 } }, { id: 2, vector: [3, 2, 1], payload: { a: 2 } }] });
  assert.equal(u.status, 200, u.text);
  before_state = await snapshot();
});

test('malformed JSON bodies answer 400 naming the position', async () => {
  await expectError('PUT', `/collections/${C}/points`, '{"points": [', 400, /Json deserialize error/);
  await expectError('PUT', `/collections/${C}/points`, '{"points": [{"id": 1, "vector": [1,2,3]}]} trailing', 400, /Json/);
  await expectError('POST', `/collections/${C}/points/query`, '[1,2,3]', 400, /must be a JSON object/);
  await expectError('POST', `/collections/${C}/points/query`, '{"query": [1,2,3], "query": [1,2,3]}', 400, /duplicate/);
  await expectError('POST', `/collections/${C}/points/query`, '\xff\xfe', 400, /Json/);
});

test('wrong types and values name the field', async () => {
  await expectError('PUT', `/collections/${C}/points`, { points: [{ id: 'not-a-uuid', vector: [1, 2, 3] }] }, 400, /points\[0\]\.id/);
  await expectError('PUT', `/collections/${C}/points`, { points: [{ id: -5, vector: [1, 2, 3] }] }, 400, /negative/);
  await expectError('PUT', `/collections/${C}/points`, { points: [{ id: 7, vector: [1, 'x', 3] }] }, 400, /points\[0\]\.vector\[1\]/);
  await expectError('PUT', `/collections/${C}/points`, { points: [{ id: 7, vector: [1, 2, 3], payload: [1] }] }, 400, /payload/);
  await expectError('POST', `/collections/${C}/points/scroll`, { limit: 'ten' }, 400, /limit/);
  await expectError('POST', `/collections/${C}/points/scroll`, { limit: 0 }, 422, /limit/);
  await expectError('POST', `/collections/${C}/points/query`, { query: [1, 2, 3], with_payload: 7 }, 400, /with_payload/);
  await expectError('POST', `/collections/${C}/points/query`, { query: [1, 2, 3], filter: 'x' }, 400, /filter/);
  await expectError('POST', `/collections/${C}/points/query`, { query: [1, 2, 3], filter: { must: [{ key: 'a', bogus: 1 }] } }, 400, /filter/);
  await expectError('PUT', '/collections/x1', { vectors: { size: 4, distance: 'Cosinus' } }, 400, /distance/);
  await expectError('PUT', '/collections/x1', { vectors: { size: -4, distance: 'Cosine' } }, 400, /size/);
  await expectError('PUT', '/collections/x1', { vectors: { size: 4, distance: 'Cosine' }, quantization_config: { scalar: { type: 'int8', quantile: 2 } } }, 422, /quantile/);
  await expectError('PUT', '/collections/bad%3Aname', { vectors: { size: 4, distance: 'Cosine' } }, 422, /name.*cannot contain ":"/);
  assert.equal((await call('GET', '/collections/x1/exists')).json.result.exists, false);
});

test('huge numbers: ids above 2^63-1 and out-of-range floats', async () => {
  await expectError('PUT', `/collections/${C}/points`, '{"points":[{"id":18446744073709551615,"vector":[1,2,3]}]}', 400, /2\^63-1/);
  await expectError('PUT', `/collections/${C}/points`, '{"points":[{"id":1e30,"vector":[1,2,3]}]}', 400, /id/);
  await expectError('PUT', `/collections/${C}/points`, '{"points":[{"id":9,"vector":[1e39,2,3]}]}', 400, /finite 32-bit/);
  await expectError('POST', `/collections/${C}/points/query`, '{"query":[1,2,3],"limit":1e400}', 400, /Json/);
  await expectError('GET', `/collections/${C}/points/99999999999999999999999`, undefined, 400, /out of range/);
});

test('NaN and Infinity are not JSON', async () => {
  await expectError('PUT', `/collections/${C}/points`, '{"points":[{"id":9,"vector":[NaN,2,3]}]}', 400, /Json/);
  await expectError('PUT', `/collections/${C}/points`, '{"points":[{"id":9,"vector":[Infinity,2,3]}]}', 400, /Json/);
});

test('wrong dimensions are refused and the batch is not partially applied', async () => {
  await expectError('PUT', `/collections/${C}/points`, { points: [{ id: 20, vector: [1, 2, 3] }, { id: 21, vector: [1, 2] }] }, 400, /dimension/);
  await expectError('PUT', `/collections/${C}/points`, { batch: { ids: [22, 23], vectors: [[1, 2, 3]] } }, 422, /batch\.vectors/);
  await expectError('POST', `/collections/${C}/points/search`, { vector: [1, 2, 3, 4], limit: 3 }, 400, /dimension/);
  await expectError('PUT', `/collections/${C}/points`, { points: [{ id: 24, vector: { nope: [1, 2, 3] } }] }, 400, /nope/);
});

test('deep nesting is refused before parsing', async () => {
  const deep = '{"filter":' + '{"must":['.repeat(5000) + ']}'.repeat(5000) + '}';
  await expectError('POST', `/collections/${C}/points/count`, deep, 400, /nesting/);
  const payload = '{"points":[{"id":30,"vector":[1,2,3],"payload":{"x":' + '['.repeat(100) + ']'.repeat(100) + '}}]}';
  await expectError('PUT', `/collections/${C}/points`, payload, 400, /nesting/);
});

test('oversized bodies answer 413', async () => {
  // Declared too large: answered from the headers, before any body is sent
  // (a raw socket, so no client races the early answer with its upload).
  const sock = net.connect(Number(port), hostname);
  await new Promise((res) => sock.on('connect', res));
  let data = '';
  sock.on('data', (d) => { data += d; });
  sock.write(`PUT /collections/${C}/points HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${2 * 1024 * 1024}\r\n\r\n`);
  await new Promise((res) => { sock.on('close', res); sock.on('end', res); });
  sock.destroy();
  assert.match(data, /^HTTP\/1\.1 413/);
  assert.match(data, /too large/);
  // Chunked (no Content-Length): the body is drained and then refused.
  const sock2 = net.connect(Number(port), hostname);
  await new Promise((res) => sock2.on('connect', res));
  let data2 = '';
  sock2.on('data', (d) => { data2 += d; if (/\r\n\r\n[\s\S]*\}/.test(data2)) sock2.end(); });
  sock2.write(`PUT /collections/${C}/points HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
  const chunk = 'x'.repeat(256 * 1024);
  for (let i = 0; i < 6; i++) sock2.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
  sock2.write('0\r\n\r\n');
  await new Promise((res) => { sock2.on('close', res); });
  assert.match(data2, /^HTTP\/1\.1 413/);
});

test('unknown paths and methods', async () => {
  await expectError('GET', '/nope', undefined, 404, /no endpoint/);
  await expectError('GET', `/collections/${C}/points/scroll/extra`, undefined, 404);
  await expectError('DELETE', `/collections/${C}/points/query`, undefined, 405, /not allowed/);
  await expectError('PATCH', '/collections', undefined, 405);
  await expectError('BREW', '/', undefined, 405);
  await expectError('POST', '/collections/missing/points/scroll', {}, 404, /Collection `missing` doesn't exist!/);
});

test('a slow client is cut off by the idle timeout while others are served', { timeout: 60000 }, async () => {
  const sock = net.connect(Number(port), hostname);
  await new Promise((res) => sock.on('connect', res));
  sock.write('POST /collections/bad/points/count HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"fil');
  // while the slow client stalls, other requests are answered
  const ok = await call('POST', `/collections/${C}/points/count`, {});
  assert.equal(ok.status, 200);
  // the server closes the stalled connection on its own (idle timeout)
  await new Promise((res) => { sock.on('close', res); sock.on('error', res); sock.resume(); });
  assert.ok(sock.destroyed);
});

test('the server is still up and the store unchanged', async () => {
  const h = await call('GET', '/healthz');
  assert.equal(h.status, 200);
  assert.equal(await snapshot(), before_state);
});
