// End-to-end tests of the code-search endpoints (/code/search, /code/similar,
// /code/callers, /code/callees,
// /code/duplicates). Indexes a copy of the fixture repository, records the
// CLI's --json answers, then starts its own `semcode serve --repo` (with API
// keys, one of them a tenant's) and checks that the server answers the same
// objects inside Qdrant's envelope, the errors of bad bodies, the tenant
// refusal, and that the CLI cannot open the index while the server holds it.
// The server started by run.sh (SEMCODE_URL, no repository) must answer 404.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode'); // absolute: the CLI runs in the repo
const fixture = path.join(top, 'tests/fixtures/repo');
const KEY = { read: 'code-read-key-0123456789', tenant: 'code-tenant-key-012345678' };

let tmp, repo, server, base;
const cli = {}; // CLI answers by name

function runCli(args) {
  const r = spawnSync(bin, [...args, '--json'], { cwd: repo, encoding: 'utf8', timeout: 120000 });
  assert.equal(r.status, 0, `semcode ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function post(p, body, key = KEY.read, url = base) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers['api-key'] = key;
  const r = await fetch(url + p, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: JSON.parse(text), text };
}

// took_ms is the only field that may differ between two runs.
function withoutTime(o) {
  const { took_ms: t, ...rest } = o;
  assert.equal(typeof t, 'number');
  return rest;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-code-'));
  repo = path.join(tmp, 'repo');
  fs.cpSync(fixture, repo, { recursive: true });
  const ix = spawnSync(bin, ['index', repo, '--quiet'], { encoding: 'utf8', timeout: 120000 });
  assert.equal(ix.status, 0, ix.stderr);
  cli.hybrid = runCli(['search', 'send an http request']);
  cli.dense = runCli(['search', 'send an http request', '--mode', 'dense', '-n', '3']);
  cli.keyword = runCli(['search', 'crc32 checksum', '--mode', 'keyword']);
  cli.alpha = runCli(['search', 'retry with backoff', '--alpha', '0.3', '--lang', 'go,python', '--min-score', '0.1']);
  cli.paths = runCli(['search', 'total price', '--path', 'web/**', '--exclude', '**/*.ts', '--kind', 'function']);
  cli.files = runCli(['search', 'http client session', '--files', '-n', '3']);
  cli.explain = runCli(['search', 'send an http request', '--explain', '-n', '3']);
  cli.similar = runCli(['similar', 'pkg/text_utils.py:3', '-n', '4']);
  cli.similarName = runCli(['similar', 'tally_terms', '--lang', 'python']);
  cli.dups = runCli(['duplicates', '--threshold', '0.8', '--min-lines', '3']);
  cli.dupsDefault = runCli(['duplicates']);
  cli.callees = runCli(['callees', 'Session.request']);
  cli.callers = runCli(['callers', 'pkg/text_utils.py:3', '--limit', '5']);
  fs.writeFileSync(path.join(tmp, 'keys.json'), JSON.stringify({ api_keys: [
    { key: KEY.read, role: 'read' }, { key: KEY.tenant, role: 'admin', tenant: 't1' }] }));
  server = spawn(bin, ['serve', '--port', '0', '--port-file', path.join(tmp, 'port'), '--store', path.join(tmp, 'store'),
    '--repo', repo, '--config', path.join(tmp, 'keys.json'), '--log', path.join(tmp, 'access.log')],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  server.stderr.on('data', (d) => { err += d; });
  for (let i = 0; i < 100 && !fs.existsSync(path.join(tmp, 'port')); i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 50));
  const port = fs.readFileSync(path.join(tmp, 'port'), 'utf8').trim();
  assert.ok(port, `server did not start: ${err}`);
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  if (server) {
    const done = new Promise((r) => server.on('exit', (code) => r(code)));
    server.kill('SIGTERM');
    assert.equal(await done, 0);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('/code/search answers what `semcode search --json` prints, in every mode and with filters', async () => {
  const cases = [
    ['hybrid', { query: 'send an http request' }],
    ['dense', { query: 'send an http request', mode: 'dense', limit: 3 }],
    ['keyword', { query: 'crc32 checksum', mode: 'keyword' }],
    ['alpha', { query: 'retry with backoff', alpha: 0.3, lang: ['go', 'python'], min_score: 0.1 }],
    ['paths', { query: 'total price', path: 'web/**', exclude: ['**/*.ts'], kind: 'function' }],
    ['files', { query: 'http client session', files: true, limit: 3 }],
    ['explain', { query: 'send an http request', explain: true, limit: 3 }],
  ];
  for (const [name, body] of cases) {
    const r = await post('/code/search', body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'ok');
    assert.equal(typeof r.json.time, 'number');
    assert.ok(cli[name].results.length > 0, `${name}: the CLI found nothing, the comparison would be empty`);
    assert.deepEqual(withoutTime(r.json.result), withoutTime(cli[name]), name);
    // the ranking stage (hybrid without alpha) adds its confidence
    const ranked = (body.mode || 'hybrid') === 'hybrid' && !body.alpha;
    assert.deepEqual(Object.keys(r.json.result).sort(),
      ['mode', 'query', 'results', 'took_ms', ...(ranked ? ['confidence', 'low_confidence'] : [])].sort(), name);
  }
  // files mode: one result per file, distinct paths
  const paths = cli.files.results.map((h) => h.path);
  assert.equal(new Set(paths).size, paths.length, JSON.stringify(paths));
  assert.equal(paths[0], 'pkg/http_client.py', JSON.stringify(cli.files.results));
  // explain: every feature with its value and contribution; the base plus the contributions add up to the score
  for (const h of cli.explain.results) {
    const f = Object.values(h.features);
    assert.ok(f.length >= 20, JSON.stringify(h.features));
    const sum = f.reduce((a, x) => a + x.contribution, h.score_base);
    assert.ok(Math.abs(sum - h.score) < 1e-3 * Math.max(1, Math.abs(h.score)), `${sum} vs ${h.score}`);
  }
  // the method and its class (whose text holds the method) are both right answers; the model may order them either way
  assert.ok(cli.hybrid.results.slice(0, 2).some((h) => h.qualified_name === 'Session.request'), JSON.stringify(cli.hybrid.results.slice(0, 3)));
});

test('/code/callers and /code/callees answer what the CLI prints', async () => {
  let r = await post('/code/callees', { target: 'Session.request' });
  assert.equal(r.status, 200, r.text);
  assert.ok(cli.callees.callees.length > 0);
  assert.deepEqual(withoutTime(r.json.result), withoutTime(cli.callees));
  r = await post('/code/callers', { target: 'pkg/text_utils.py:3', limit: 5 });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(withoutTime(r.json.result), withoutTime(cli.callers));
  r = await post('/code/callers', { target: 'no_such_entity' });
  assert.equal(r.status, 404, r.text);
  assert.match(r.json.status.error, /no indexed entity at no_such_entity/);
  r = await post('/code/callees', { limit: 3 });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.status.error, /missing field `target`/);
  r = await post('/code/callees', { target: 'gcd', depth: 2 });
  assert.equal(r.status, 400, r.text);
});

test('/code/similar and /code/duplicates answer what the CLI prints', async () => {
  let r = await post('/code/similar', { target: 'pkg/text_utils.py:3', limit: 4 });
  assert.equal(r.status, 200, r.text);
  assert.ok(cli.similar.results.length > 0);
  assert.deepEqual(withoutTime(r.json.result), withoutTime(cli.similar));
  r = await post('/code/similar', { target: 'tally_terms', lang: 'python' });
  assert.deepEqual(withoutTime(r.json.result), withoutTime(cli.similarName));
  r = await post('/code/duplicates', { threshold: 0.8, min_lines: 3 });
  assert.equal(r.status, 200, r.text);
  assert.ok(cli.dups.clusters.length > 0);
  assert.deepEqual(withoutTime(r.json.result), withoutTime(cli.dups));
  r = await post('/code/duplicates');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(withoutTime(r.json.result), withoutTime(cli.dupsDefault));
});

test('bad bodies get a 4xx naming the field or value', async () => {
  const cases = [
    ['/code/search', {}, 400, /missing field `query`/],
    ['/code/search', { query: '' }, 422, /query: must not be empty/],
    ['/code/search', { query: 42 }, 400, /`query` must be a string/],
    ['/code/search', { query: 'x', mode: 'fast' }, 400, /`mode`: unknown variant `fast`/],
    ['/code/search', { query: 'x', limit: 0 }, 422, /limit: value 0 invalid/],
    ['/code/search', { query: 'x', limit: 10001 }, 422, /limit: value 10001 invalid/],
    ['/code/search', { query: 'x', limit: 'ten' }, 400, /`limit` must be an unsigned integer/],
    ['/code/search', { query: 'x', alpha: 2 }, 422, /alpha: value 2 invalid/],
    ['/code/search', { query: 'x', lang: 3 }, 400, /`lang` must be a string or an array of strings/],
    ['/code/search', { query: 'x', kind: ['function', 7] }, 400, /`kind\[1\]` must be a string/],
    ['/code/search', { query: 'x', limt: 3 }, 400, /unknown field `limt`/],
    ['/code/similar', {}, 400, /missing field `target`/],
    ['/code/similar', { target: 'pkg/none.py:3' }, 404, /no indexed entity at pkg\/none.py:3/],
    ['/code/similar', { target: 'x', mode: 'dense' }, 400, /unknown field `mode`/],
    ['/code/duplicates', { threshold: 0 }, 422, /threshold: value 0 invalid/],
    ['/code/duplicates', { min_lines: -1 }, 422, /min_lines: value -1 invalid/],
  ];
  for (const [p, body, status, re] of cases) {
    const r = await post(p, body);
    assert.equal(r.status, status, `${p} ${JSON.stringify(body)}: ${r.text}`);
    assert.match(r.json.status.error, re);
  }
  const r = await fetch(base + '/code/search', { method: 'POST', headers: { 'api-key': KEY.read }, body: '{"query":' });
  assert.equal(r.status, 400);
});

test('auth: a key is required, tenant keys are refused, no repository answers 404', async () => {
  assert.equal((await post('/code/search', { query: 'x' }, null)).status, 401);
  const t = await post('/code/search', { query: 'send an http request' }, KEY.tenant);
  assert.equal(t.status, 403);
  assert.doesNotMatch(t.text, /Session|http_client/);
  assert.equal((await post('/code/duplicates', {}, KEY.tenant)).status, 403);
  if (process.env.SEMCODE_URL) {
    const r = await post('/code/search', { query: 'x' }, null, process.env.SEMCODE_URL);
    assert.equal(r.status, 404);
    assert.match(r.json.status.error, /no repository is configured.*--repo/);
  }
});

test('the CLI cannot open the index while the server holds it', () => {
  const r = spawnSync(bin, ['search', 'x'], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /open in another process/);
});
