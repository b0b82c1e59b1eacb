// End-to-end tests of indexing and searching with a remote OpenAI-compatible
// embedding provider from the CLI. Starts its own `semcode serve` on a
// loopback port (its POST /v1/embeddings answers with the built-in model),
// indexes the fixture repository through it with an API key read from an
// environment variable, searches, and checks that the key appears in no
// output and in no file of the index or of the server. Then the bad cases:
// missing base URL, model, dimension or key variable, an unreachable
// endpoint (clear message, non-zero exit, nothing stored), a provider
// mismatch, the built-in fallback and --retries 0 (one try). Last, `semcode
// embed` through the same endpoint: the vectors equal the in-process
// built-in model's, and its bad arguments. Run: node --test tests/e2e/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedPort } from './net_util.mjs';
import { serve, stop } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = process.env.SEMCODE_BIN || path.join(top, 'build/semcode');
const fixture = path.join(top, 'tests/fixtures/repo');
const KEY = 'sk-e2e-remote-7f3a9c1d5b2e8f40';
const KEY_ENV = 'SEMCODE_E2E_REMOTE_KEY';

let tmp, server, baseUrl, dim;

function run(args, opts = {}) {
  const env = { ...process.env, [KEY_ENV]: KEY, ...(opts.env || {}) };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 120000, ...opts, env });
  for (const s of [r.stdout, r.stderr]) assert.ok(!(s || '').includes(KEY), `the API key was printed by semcode ${args.join(' ')}`);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function freshRepo() {
  const dir = fs.mkdtempSync(path.join(tmp, 'repo-'));
  fs.cpSync(fixture, dir, { recursive: true });
  return dir;
}

// Every file under dir whose bytes contain s.
function filesContaining(dir, s) {
  const hits = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath ?? e.path, e.name);
    if (e.isFile() && fs.readFileSync(p).includes(Buffer.from(s))) hits.push(p);
  }
  return hits;
}

// The "model" payload of every point of an index's store, read through a semcode server on it.
async function storedModels(store) {
  const dir = fs.mkdtempSync(path.join(tmp, 'peek-'));
  const srv = await serve(bin, dir, 'peek', store, null);
  try {
    const url = `${srv.url}/collections/code/points/scroll`;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ limit: 10000, with_payload: ['model'], with_vector: false }) });
    assert.equal(res.status, 200);
    return (await res.json()).result.points.map((p) => p.payload.model);
  } finally {
    await stop(srv);
  }
}

function remoteArgs(url = baseUrl) {
  return ['--provider', 'openai', '--base-url', url, '--remote-model', 'semcode-builtin', '--api-key-env', KEY_ENV,
    '--dimensions', String(dim), '--batch-size', '8', '--concurrency', '4', '--timeout', '10'];
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-remote-'));
  server = await serve(bin, tmp, 'server', path.join(tmp, 'server-store'), null);
  baseUrl = `${server.url}/v1`;
  // The dimension the server's built-in model produces.
  const res = await fetch(`${baseUrl}/embeddings`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'semcode-builtin', input: ['probe'] }),
  });
  assert.equal(res.status, 200);
  dim = (await res.json()).data[0].embedding.length;
  assert.ok(dim > 0);
});

after(async () => {
  if (server) await stop(server);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('index and search through a remote OpenAI-compatible endpoint; the key is stored nowhere', () => {
  const repo = freshRepo();
  const idx = run(['index', repo, ...remoteArgs(), '--json', '--cache']);
  assert.equal(idx.code, 0, idx.err);
  const s = JSON.parse(idx.out);
  assert.equal(s.ok, true);
  assert.ok(s.entities.added >= 12, JSON.stringify(s.entities));
  assert.equal(s.embeddings.new, s.entities.added);
  assert.equal(s.embeddings.failed, 0);

  // The index records the provider: stats shows it, search uses it with no provider option.
  const st = JSON.parse(run(['stats', '--json'], { cwd: repo }).out);
  assert.equal(st.model.id, `openai:semcode-builtin/${dim}`);
  assert.equal(st.model.dim, dim);
  assert.equal(st.model.provider, 'openai');
  assert.equal(st.model.base_url, baseUrl);
  for (const mode of ['dense', 'hybrid']) {
    const r = run(['search', 'send an http request', '--mode', mode, '--json'], { cwd: repo });
    assert.equal(r.code, 0, r.err);
    const o = JSON.parse(r.out);
    assert.ok(o.results.length > 0, mode);
    assert.ok(o.results.slice(0, 3).some((x) => x.qualified_name === 'Session.request'),
      `${mode}: ${JSON.stringify(o.results.slice(0, 3).map((x) => x.qualified_name))}`);
  }
  // Searches embed the query remotely: with the key variable unset the dense search fails clearly ...
  const nokey = run(['search', 'send an http request', '--mode', 'dense'], { cwd: repo, env: { [KEY_ENV]: undefined } });
  assert.equal(nokey.code, 1);
  assert.match(nokey.err, new RegExp(`environment variable ${KEY_ENV} is not set`));
  // ... while a keyword search needs no embedding at all.
  const kw = run(['search', 'http request', '--mode', 'keyword', '--json'], { cwd: repo, env: { [KEY_ENV]: undefined } });
  assert.equal(kw.code, 0, kw.err);
  assert.ok(JSON.parse(kw.out).results.length > 0);
  // A re-run with no options keeps using the recorded endpoint (nothing to do).
  const again = JSON.parse(run(['index', repo, '--json']).out);
  assert.equal(again.ok, true);
  assert.equal(again.files.unchanged, s.files.parsed);
  // An edit is embedded through the endpoint again.
  fs.appendFileSync(path.join(repo, 'pkg/text_utils.py'), '\n\ndef shout(text):\n    """Upper-case a text."""\n    return text.upper()\n');
  const edit = JSON.parse(run(['index', repo, '--json']).out);
  assert.equal(edit.ok, true);
  assert.ok(edit.embeddings.new >= 1, JSON.stringify(edit.embeddings));

  // The key is in no file of the index (state, store, cache) nor of the server (store, logs).
  assert.deepEqual(filesContaining(repo, KEY), []);
  assert.deepEqual(filesContaining(tmp, KEY), []);
  // But the variable's name is recorded, so later runs know where to read the key.
  assert.ok(filesContaining(path.join(repo, '.semcode'), KEY_ENV).length > 0);
});

test('an index built remotely refuses another provider and model; index switches to it on request', () => {
  const repo = freshRepo();
  assert.equal(run(['index', repo, ...remoteArgs(), '--quiet']).code, 0);
  const local = run(['search', 'send an http request', '--provider', 'builtin'], { cwd: repo });
  assert.equal(local.code, 1);
  assert.match(local.err, /built with openai:semcode-builtin\/\d+.*not builtin:/);
  const other = run(['search', 'send an http request', '--remote-model', 'builtin'], { cwd: repo });
  assert.equal(other.code, 1);
  assert.match(other.err, /built with openai:semcode-builtin\/\d+.*not openai:builtin\//);
  // Back to the built-in model: index switches the index to it (every entity embedded again as a new
  // generation, the remote one serving until the swap), then searches work without a server.
  const rebuilt = run(['index', repo, '--provider', 'builtin', '--json']);
  assert.equal(rebuilt.code, 0, rebuilt.err);
  const rs = JSON.parse(rebuilt.out);
  assert.equal(rs.switch.switched, true);
  assert.ok(rs.switch.embedded > 0);
  assert.equal(rs.switch.pending, 0);
  assert.equal(rs.entities.added, 0);
  const st = JSON.parse(run(['stats', '--json'], { cwd: repo }).out);
  assert.match(st.model.id, /^builtin:/);
  assert.equal(st.model.provider, 'local');
});

test('an unreachable endpoint: clear message, non-zero exit, nothing stored; the built-in fallback takes over', async () => {
  const dead = `http://127.0.0.1:${await closedPort()}/v1`;
  const repo = freshRepo();
  const t0 = Date.now();
  const r = run(['index', repo, ...remoteArgs(dead), '--retries', '1', '--json']);
  assert.equal(r.code, 1);
  assert.match(r.err, /embedding with .* failed: request to http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings failed: .*connect/i);
  assert.match(r.err, /run 'semcode index' again/);
  assert.ok(Date.now() - t0 < 30000, 'an unreachable endpoint must not hang the run');
  const s = JSON.parse(r.out);
  assert.equal(s.ok, false);
  // nothing of the failed batch was stored: a keyword search finds nothing yet
  const kw = run(['search', 'http request', '--mode', 'keyword', '--json'], { cwd: repo });
  assert.equal(kw.code, 0, kw.err);
  assert.equal(JSON.parse(kw.out).results.length, 0);

  // A search whose endpoint is unreachable says so.
  const good = freshRepo();
  assert.equal(run(['index', good, ...remoteArgs(), '--quiet']).code, 0);
  const q = run(['search', 'send an http request', '--base-url', dead, '--retries', '1'], { cwd: good });
  assert.equal(q.code, 1);
  assert.match(q.err, /cannot embed the query: request to http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings failed: .*connect.*after 2 tries/i);

  // --retries 0: one try per request, no retry (and no backoff wait).
  const t1 = Date.now();
  const once = run(['index', freshRepo(), ...remoteArgs(dead), '--retries', '0', '--json']);
  assert.equal(once.code, 1);
  assert.match(once.err, /failed: .*connect.*\(after 1 try\)/i);
  assert.ok(Date.now() - t1 < 10000, 'no retries means no backoff');
  const q0 = run(['search', 'send an http request', '--base-url', dead, '--retries', '0'], { cwd: good });
  assert.equal(q0.code, 1);
  assert.match(q0.err, /cannot embed the query: .*connect.*\(after 1 try\)/i);
  // An index built with --retries 0 records it: later runs without --retries make one try, --retries N overrides.
  const zero = freshRepo();
  const z = run(['index', zero, ...remoteArgs(), '--retries', '0', '--json']);
  assert.equal(z.code, 0, z.err);
  assert.equal(JSON.parse(z.out).embeddings.failed, 0);
  const zq = run(['search', 'send an http request', '--base-url', dead], { cwd: zero });
  assert.equal(zq.code, 1);
  assert.match(zq.err, /\(after 1 try\)/);
  const zq2 = run(['search', 'send an http request', '--base-url', dead, '--retries', '2'], { cwd: zero });
  assert.equal(zq2.code, 1);
  assert.match(zq2.err, /\(after 3 tries\)/);
  assert.equal(run(['search', 'send an http request', '--json'], { cwd: zero }).code, 0);

  // --fallback builtin: the local model (same dimension and family) embeds what the endpoint could not.
  const fb = run(['index', repo, ...remoteArgs(dead), '--retries', '1', '--fallback', 'builtin', '--json']);
  assert.equal(fb.code, 0, fb.err);
  const fs2 = JSON.parse(fb.out);
  assert.equal(fs2.ok, true);
  assert.equal(fs2.embeddings.new, fs2.entities.added);
  // Each stored vector records the model that produced it: here the built-in fallback's.
  const models = await storedModels(path.join(repo, '.semcode', 'store'));
  assert.equal(models.length, fs2.entities.added);
  assert.ok(models.every((m) => /^builtin:[0-9a-f]{16}$/.test(m)), JSON.stringify([...new Set(models)]));
  // ... and after a good run, the remote model's id.
  assert.deepEqual([...new Set(await storedModels(path.join(good, '.semcode', 'store')))], [`openai:semcode-builtin/${dim}`]);
  // A fallback whose family differs is refused before anything runs.
  const bad = run(['index', freshRepo(), ...remoteArgs(dead), '--remote-family', 'text-embedding-3', '--fallback', 'builtin']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /fallback .* declares model family 'semcode-builtin'.*'text-embedding-3'/);
});

test('bad provider arguments get a clear message and a non-zero exit', () => {
  const repo = freshRepo();
  const cases = [
    [['--provider', 'openai', '--remote-model', 'm', '--dimensions', '8'], /needs a base URL \(--base-url URL\)/, 1],
    [['--provider', 'openai', '--base-url', baseUrl, '--dimensions', '8'], /needs a model name \(--remote-model NAME\)/, 1],
    [['--provider', 'openai', '--base-url', baseUrl, '--remote-model', 'm'], /needs the vector dimension \(--dimensions N\)/, 1],
    [['--provider', 'openai', '--base-url', baseUrl, '--remote-model', 'm', '--dimensions', '8', '--api-key-env', 'SEMCODE_E2E_UNSET_VAR'],
      /environment variable SEMCODE_E2E_UNSET_VAR is not set/, 1],
    [['--provider', 'openai', '--base-url', 'ftp://host/v1'], /--base-url must start with http:\/\/ or https:\/\//, 2],
    [['--provider', 'cohere'], /--provider must be builtin or openai, got 'cohere'/, 2],
    [['--dimensions', '0'], /--dimensions must be an integer from 1 to 65536, got '0'/, 2],
    [['--concurrency', '1000'], /--concurrency must be an integer from 1 to 64/, 2],
    [['--retries', '-1'], /--retries must be an integer from 0 to 100, got '-1'/, 2],
    [['--retries', 'x'], /--retries must be an integer from 0 to 100, got 'x'/, 2],
    [['--retries', '101'], /--retries must be an integer from 0 to 100, got '101'/, 2],
    [['--retries', ''], /--retries must be an integer from 0 to 100, got ''/, 2],
    [['--timeout', 'soon'], /--timeout must be a number of seconds/, 2],
    [['--fallback', 'openai'], /--fallback must be builtin/, 2],
    [['--api-key-env', 'KEY=value'], /--api-key-env takes the NAME of an environment variable/, 2],
    [['--provider', 'builtin', '--fallback', 'builtin'], /a fallback takes over from a remote provider/, 1],
  ];
  for (const [args, re, code] of cases) {
    const r = run(['index', repo, '--quiet', ...args], { env: { SEMCODE_E2E_UNSET_VAR: undefined } });
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re, args.join(' '));
  }
  // none of them indexed anything
  const st = run(['stats', '--json'], { cwd: repo });
  if (st.code === 0) assert.equal(JSON.parse(st.out).entities, 0);
  // --help explains the options
  for (const cmd of ['index', 'search']) {
    const h = run([cmd, '--help']);
    assert.equal(h.code, 0);
    for (const o of ['--provider', '--base-url', '--remote-model', '--api-key-env', '--dimensions', '--batch-size',
      '--concurrency', '--timeout', '--retries', 'no retries', '--fallback', 'never printed, logged or stored'])
      assert.ok(h.out.includes(o), `${cmd} --help lacks ${o}`);
  }
});

test('environment variables stand in for the provider options', () => {
  const repo = freshRepo();
  const r = run(['index', repo, '--dimensions', String(dim), '--json'], {
    env: { SEMCODE_PROVIDER: 'openai', SEMCODE_BASE_URL: baseUrl, SEMCODE_REMOTE_MODEL: 'semcode-builtin', SEMCODE_API_KEY_ENV: KEY_ENV },
  });
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(run(['stats', '--json'], { cwd: repo }).out).model.id, `openai:semcode-builtin/${dim}`);
  const bad = run(['search', 'x'], { cwd: repo, env: { SEMCODE_PROVIDER: 'nope' } });
  assert.equal(bad.code, 2);
  assert.match(bad.err, /SEMCODE_PROVIDER must be builtin or openai, got 'nope'/);
});

// `semcode embed` output: one vector per line, components separated by spaces.
function vectors(out) {
  return out.trim().split('\n').map((l) => l.split(' ').map(Number));
}

function embedArgs(url = baseUrl) {
  return ['embed', '--provider', 'openai', '--base-url', url, '--remote-model', 'semcode-builtin',
    '--api-key-env', KEY_ENV, '--dimensions', String(dim)];
}

test('semcode embed through a remote endpoint prints the vectors of the in-process built-in model', async () => {
  const input = 'read a file into a string\nsend an http request\\nand retry it\ndef add(a, b): return a + b\n';
  const local = run(['embed'], { input, cwd: top });
  assert.equal(local.code, 0, local.err);
  const want = vectors(local.out);
  assert.equal(want.length, 3);
  // --batch-size 2: the three texts go in two requests; the answer keeps the input order.
  const remote = run([...embedArgs(), '--batch-size', '2', '--concurrency', '2', '--timeout', '10', '--retries', '0'],
    { input, cwd: top });
  assert.equal(remote.code, 0, remote.err);
  const got = vectors(remote.out);
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i].length, dim);
    for (let d = 0; d < dim; d++)
      assert.ok(Math.abs(got[i][d] - want[i][d]) <= 2e-5, `text ${i} component ${d}: ${got[i][d]} vs ${want[i][d]}`);
  }
  // The environment stands in for the options, as for index.
  const env = run(['embed', '--dimensions', String(dim)], {
    input, cwd: top,
    env: { SEMCODE_PROVIDER: 'openai', SEMCODE_BASE_URL: baseUrl, SEMCODE_REMOTE_MODEL: 'semcode-builtin', SEMCODE_API_KEY_ENV: KEY_ENV },
  });
  assert.equal(env.code, 0, env.err);
  assert.equal(env.out, remote.out);

  // An unreachable endpoint with --retries 0: one try, a clear message, no vector printed, exit 1 ...
  const dead = `http://127.0.0.1:${await closedPort()}/v1`;
  const t0 = Date.now();
  const failed = run([...embedArgs(dead), '--retries', '0'], { input, cwd: top });
  assert.equal(failed.code, 1);
  assert.equal(failed.out, '');
  assert.match(failed.err, /text 1: request to http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings failed: .*connect.*\(after 1 try\)/i);
  assert.match(failed.err, /3 of 3 texts got no vector/);
  assert.ok(Date.now() - t0 < 10000, 'no retries means no backoff');
  // ... unless the built-in model takes over.
  const fb = run([...embedArgs(dead), '--retries', '0', '--fallback', 'builtin'], { input, cwd: top });
  assert.equal(fb.code, 0, fb.err);
  assert.equal(fb.out, local.out);
});

test('semcode embed: bad provider arguments get a clear message and a non-zero exit', () => {
  const unset = { SEMCODE_BASE_URL: undefined, SEMCODE_REMOTE_MODEL: undefined, SEMCODE_PROVIDER: undefined, SEMCODE_UNSET_VAR: undefined };
  const cases = [
    [['--provider', 'openai', '--remote-model', 'm', '--dimensions', '8'], /embed: the remote embedding provider needs a base URL \(--base-url URL/, 2],
    [['--provider', 'openai', '--base-url', baseUrl, '--dimensions', '8'], /needs a model name \(--remote-model NAME/, 2],
    [['--provider', 'openai', '--base-url', baseUrl, '--remote-model', 'm'], /needs the vector dimension \(--dimensions N\)/, 2],
    [['--base-url', baseUrl, '--remote-model', 'm', '--dimensions', '8', '--api-key-env', 'SEMCODE_UNSET_VAR'],
      /environment variable SEMCODE_UNSET_VAR is not set/, 1],
    [['--provider', 'openai', '--base-url', 'ftp://host/v1'], /--base-url must start with http:\/\/ or https:\/\//, 2],
    [['--provider', 'cohere'], /--provider must be builtin or openai, got 'cohere'/, 2],
    [['--retries', '-1'], /embed: --retries must be an integer from 0 to 100, got '-1'/, 2],
    [['--retries', 'x'], /--retries must be an integer from 0 to 100, got 'x'/, 2],
    [['--provider', 'builtin', '--fallback', 'builtin'], /a fallback takes over from a remote provider/, 2],
    [[...embedArgs().slice(1), '--bench'], /--bench measures the built-in model/, 2],
    [['some text'], /texts are read from standard input/, 2],
  ];
  for (const [args, re, code] of cases) {
    const r = run(['embed', ...args], { input: 'x\n', cwd: top, env: unset });
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re, args.join(' '));
    assert.equal(r.out, '', args.join(' '));
  }
  const h = run(['embed', '--help']);
  assert.equal(h.code, 0);
  for (const o of ['--provider', '--base-url', '--remote-model', '--api-key-env', '--dimensions', '--batch-size',
    '--concurrency', '--timeout', '--retries', 'no retries', '--fallback', 'never printed, logged or stored', '--code', '--bench'])
    assert.ok(h.out.includes(o), `embed --help lacks ${o}`);
});
