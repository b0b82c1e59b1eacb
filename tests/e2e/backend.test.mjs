// The Qdrant store backend end to end (issue 20): `semcode index --store
// qdrant://...` against a real `semcode serve` (Qdrant-compatible) on
// loopback, then search, similar, duplicates and stats through it, compared
// with the same tree indexed into the embedded store; `semcode config
// check` on good and bad configurations. A few seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, stop, gitIn, spawnRun, runSync, runJson } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');
const fixture = path.join(top, 'tests/fixtures/repo');

let tmp, srv, port, treeQ, treeE;

const run = (args, opts) => runSync(bin, args, opts);
// run() without blocking the event loop (for a proxy served by this process).
const runAsync = (args, opts = {}) => spawnRun(bin, args, opts);
const json = (args, opts) => runJson(bin, args, opts);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-backend-'));
  srv = await serve(bin, tmp, 'qdrant', path.join(tmp, 'server-store'), null);
  port = new URL(srv.url).port;
  treeQ = path.join(tmp, 'q');
  treeE = path.join(tmp, 'e');
  fs.cpSync(fixture, treeQ, { recursive: true });
  fs.cpSync(fixture, treeE, { recursive: true });
});

after(async () => {
  if (srv) await stop(srv);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const store = () => `qdrant://127.0.0.1:${port}/code_e2e?batch=7`;

test('index through the Qdrant backend: collection, sparse BM25, payload indexes, idempotent re-runs', async () => {
  const s = json(['index', '--quiet', '--store', store(), treeQ]);
  assert.ok(s.entities.added > 10, JSON.stringify(s));
  const info = await (await fetch(`${srv.url}/collections/code_e2e`)).json();
  assert.equal(info.result.points_count, s.entities.added);
  assert.equal(info.result.config.params.vectors.code.distance, 'Cosine');
  assert.equal(info.result.config.params.sparse_vectors.bm25.modifier, 'idf');
  for (const f of ['path', 'language', 'kind', 'start_line', 'end_line'])
    assert.ok(info.result.payload_schema[f], `payload index on ${f}`);
  // nothing changed: nothing sent again
  const s2 = json(['index', '--quiet', treeQ]);
  assert.equal(s2.files.parsed, 0);
  assert.match(info.result.config.metadata.semcode_model, /^builtin:/); // what made the vectors
  // the state lost: everything re-sent into the same collection (not re-created: the marker point
  // another client put there stays), same ids, no duplicates
  const put = await fetch(`${srv.url}/collections/code_e2e/points?wait=true`, { method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ points: [{ id: 1, vector: { code: new Array(info.result.config.params.vectors.code.size).fill(0.1) }, payload: { marker: true } }] }) });
  assert.equal(put.status, 200);
  fs.rmSync(path.join(treeQ, '.semcode', 'state.db'));
  const s3 = json(['index', '--quiet', '--store', store(), treeQ]);
  assert.equal(s3.files.parsed, s.files.parsed);
  const again = await (await fetch(`${srv.url}/collections/code_e2e`)).json();
  assert.equal(again.result.points_count, s.entities.added + 1);
  const del = await fetch(`${srv.url}/collections/code_e2e/points/delete?wait=true`, { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ points: [1] }) });
  assert.equal(del.status, 200);
  // an edit updates in place; a deleted file's points go
  fs.rmSync(path.join(treeQ, 'tools', 'lib.rs'));
  const s4 = json(['index', '--quiet', treeQ]);
  assert.equal(s4.files.deleted, 1);
  const after4 = await (await fetch(`${srv.url}/collections/code_e2e/points/count`, { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ exact: true }) })).json();
  assert.equal(after4.result.count, s.entities.added - s4.entities.removed);
  assert.ok(s4.entities.removed > 0);
  fs.cpSync(path.join(fixture, 'tools', 'lib.rs'), path.join(treeQ, 'tools', 'lib.rs'));
  json(['index', '--quiet', treeQ]);
});

test('dense results are the embedded store\'s; keyword and hybrid find the same entities', () => {
  json(['index', '--quiet', treeE]);
  for (const q of ['count words in a text', 'greatest common divisor']) {
    const a = json(['search', q, '--mode', 'dense', '--limit', '5'], { cwd: treeQ });
    const b = json(['search', q, '--mode', 'dense', '--limit', '5'], { cwd: treeE });
    assert.deepEqual(a.results.map((r) => `${r.path}:${r.qualified_name}`), b.results.map((r) => `${r.path}:${r.qualified_name}`), q);
    a.results.forEach((r, i) => assert.ok(Math.abs(r.score - b.results[i].score) < 1e-4, `${q}: score ${r.score} vs ${b.results[i].score}`));
  }
  const kq = json(['search', 'tally_terms', '--mode', 'keyword', '--limit', '3'], { cwd: treeQ });
  const ke = json(['search', 'tally_terms', '--mode', 'keyword', '--limit', '3'], { cwd: treeE });
  assert.equal(kq.results[0].name, 'tally_terms');
  assert.equal(kq.results[0].name, ke.results[0].name);
  const h = run(['search', 'parse a url query string', '--limit', '3', '--json'], { cwd: treeQ });
  assert.equal(h.code, 0, h.err);
  assert.match(h.err, /fused by the qdrant backend/); // the caller says how it adapted
  assert.equal(JSON.parse(h.out).results[0].name, 'parse_query_string');
  const rust = json(['search', 'number', '--lang', 'rust', '--limit', '5'], { cwd: treeQ });
  assert.ok(rust.results.length > 0);
  for (const r of rust.results) assert.equal(r.language, 'rust');
});

test('similar, duplicates and stats through the Qdrant backend', () => {
  const simQ = json(['similar', 'pkg/text_utils.py:2', '--limit', '3'], { cwd: treeQ });
  const simE = json(['similar', 'pkg/text_utils.py:2', '--limit', '3'], { cwd: treeE });
  assert.deepEqual(simQ.results.map((r) => r.qualified_name), simE.results.map((r) => r.qualified_name));
  const dq = json(['duplicates'], { cwd: treeQ });
  const names = dq.clusters.flatMap((c) => c.members.map((m) => m.name)).sort();
  assert.deepEqual(names, ['count_words', 'tally_terms']);
  const st = json(['stats'], { cwd: treeQ });
  assert.equal(st.backend.kind, 'qdrant');
  assert.equal(st.backend.ranking_stage, false);
  assert.equal(st.entities, json(['stats'], { cwd: treeE }).entities);
});

test('a store that does not answer fails at start-up with the reason; config check', () => {
  const r = run(['search', 'x', '--store', 'qdrant://127.0.0.1:1/code'], { cwd: treeQ });
  assert.equal(r.code, 1);
  assert.match(r.err, /unreachable: http:\/\/127\.0\.0\.1:1\/healthz/);
  const ok = run(['config', 'check', '--store', `qdrant://127.0.0.1:${port}/c?timeout_ms=1000`]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /warning: timeout_ms: timeout_ms 1000 is under 5 s/);
  const bad = JSON.parse(run(['config', 'check', '--json', '--dim', '70000', '--store',
    `qdrants://127.0.0.1:${port}/c?ca=${tmp}/none.pem&replicas=1&write_consistency=2&connections=1000`]).out);
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.diagnostics.filter((d) => d.level === 'error').map((d) => d.field).sort(),
    ['ca', 'dim', 'max_connections', 'write_consistency_factor']);
  const cfg = path.join(tmp, 'semcode.json');
  fs.writeFileSync(cfg, JSON.stringify({ store: { url: `qdrant://127.0.0.1:${port}/c`, timeot_ms: 5 } }));
  const typo = run(['config', 'check', '--config', cfg]);
  assert.equal(typo.code, 1);
  assert.match(typo.err, /unknown store setting 'timeot_ms'/);
  const url = run(['config', 'check', '--store', 'qdrant://h:99999/c']);
  assert.match(url.err, /port '99999' is not a number within 1\.\.65535/);
});

test('serve --repo on a tree whose index is in Qdrant answers /code/search as the CLI does', async () => {
  // first: the server holds the tree's folder (state.db, records) while it runs
  const cli = json(['search', 'count words in a text', '--mode', 'dense', '--limit', '4'], { cwd: treeQ });
  const cfg = path.join(tmp, 'repo-server.json');
  fs.writeFileSync(cfg, JSON.stringify({ repo: treeQ }));
  const s2 = await serve(bin, tmp, 'repo-server', path.join(tmp, 'repo-server-store'), cfg);
  try {
    const r = await fetch(`${s2.url}/code/search`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'count words in a text', mode: 'dense', limit: 4 }) });
    assert.equal(r.status, 200, await r.clone().text());
    const got = (await r.json()).result.results.map((x) => x.qualified_name);
    assert.deepEqual(got, cli.results.map((x) => x.qualified_name));
  } finally {
    await stop(s2);
  }
});

test('the API key from the environment, never in a message; transient failures retried with backoff', async () => {
  const key = 'backend-admin-key-0123456789';
  const cfg = path.join(tmp, 'keys.json');
  fs.writeFileSync(cfg, JSON.stringify({ api_keys: [{ key, role: 'admin' }] }));
  const sk = await serve(bin, tmp, 'keyed', path.join(tmp, 'keyed-store'), cfg);
  const http = await import('node:http');
  // a proxy in front of it that answers 503 (Retry-After: 0) to every third request on points
  let n = 0, failed = 0;
  const target = new URL(sk.url);
  const proxy = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url.includes('/points') && ++n % 3 === 0) {
        failed++;
        res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' });
        res.end('{"status":{"error":"busy"}}');
        return;
      }
      const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (ur) => { res.writeHead(ur.statusCode, ur.headers); ur.pipe(res); });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise((ok) => proxy.listen(0, '127.0.0.1', ok));
  const tree = path.join(tmp, 'k');
  fs.cpSync(fixture, tree, { recursive: true });
  try {
    const url = `qdrant://127.0.0.1:${proxy.address().port}/keyed?batch=5&retries=4`;
    // without the key: refused, the message says what the server said
    const bare = await runAsync(['index', '--quiet', '--store', url, tree], { env: { ...process.env, QDRANT_API_KEY: '' } });
    assert.equal(bare.code, 1);
    assert.match(bare.err, /HTTP 401|HTTP 403/);
    // a wrong key does not appear in the message
    const wrong = await runAsync(['index', '--quiet', '--store', url, tree], { env: { ...process.env, QDRANT_API_KEY: 'wrong-key-abcdefghij' } });
    assert.equal(wrong.code, 1);
    assert.ok(!wrong.err.includes('wrong-key-abcdefghij'), wrong.err);
    const before503 = failed;
    const ran = await runAsync(['index', '--quiet', '--json', '--store', url, tree], { env: { ...process.env, QDRANT_API_KEY: key } });
    assert.equal(ran.code, 0, ran.err);
    const s = JSON.parse(ran.out);
    assert.ok(failed > before503, 'the proxy failed some requests');
    const count = await (await fetch(`${sk.url}/collections/keyed/points/count`, { method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': key }, body: '{"exact": true}' })).json();
    assert.equal(count.result.count, s.entities.added); // every batch landed once, retries included
  } finally {
    proxy.close();
    await stop(sk);
  }
});

test('ingest git on a tree indexed into Qdrant: commits linked to the entities there; history and search --in commits', () => {
  const tree = path.join(tmp, 'g');
  fs.cpSync(fixture, tree, { recursive: true });
  const git = gitIn(tree);
  git('init', '-q', '-b', 'main');
  git('-c', 'user.name=Ann', '-c', 'user.email=ann@example.com', 'add', '-A');
  git('-c', 'user.name=Ann', '-c', 'user.email=ann@example.com', 'commit', '-q', '-m', 'text utils: count the words of a text');
  fs.appendFileSync(path.join(tree, 'pkg', 'text_utils.py'), '\n\ndef shout(s):\n    """Upper-case s."""\n    return s.upper()\n');
  git('-c', 'user.name=Bob', '-c', 'user.email=bob@example.com', 'commit', '-q', '-am', 'text utils: shout');
  json(['index', '--quiet', '--store', `qdrant://127.0.0.1:${port}/code_git`, tree]);
  const ing = json(['ingest', 'git', tree, '--quiet']);
  assert.equal(ing.commits_written, 2);
  assert.equal(ing.linked, true, 'the entities are found in Qdrant'); // they are not in the embedded store
  assert.ok(ing.links > 0);
  const h = json(['history', 'shout'], { cwd: tree });
  assert.deepEqual(h.results.map((r) => r.title), ['text utils: shout']);
  const w = json(['history', 'pkg/text_utils.py:2'], { cwd: tree });
  assert.ok(w.results.map((r) => r.title).includes('text utils: count the words of a text'), JSON.stringify(w.results));
  const c = json(['search', 'count the words', '--in', 'commits', '--limit', '1'], { cwd: tree });
  assert.equal(c.results[0].title, 'text utils: count the words of a text');
});
