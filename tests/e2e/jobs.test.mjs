// End-to-end tests of the backfill jobs of `semcode serve` (POST /jobs,
// GET /jobs, GET /jobs/{id}, DELETE /jobs/{id}; semcode jobs; semcode
// ingest ... --server). Starts its own servers on loopback ports: a helper
// whose /v1/embeddings (the built-in model) plays the remote
// OpenAI-compatible model, and the server under test with API keys of two
// tenants and a jobs config whose remote model is a dead port with the
// helper as its fallback endpoint (same model and dimension). Covers:
// submit and progress to done with tokens and estimated cost, tenant
// isolation of every job endpoint, bad requests (4xx naming the field),
// priority order with one worker, cancelling queued and running jobs,
// provider routing (quality through the compatible fallback; a collection
// filled by another model refused, and `balanced` keeping it on its model),
// /metrics, kill -9 in the middle of a job and the resume after a restart
// (nothing lost or duplicated), the CLI. Run: node --test tests/e2e/jobs.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedPort } from './net_util.mjs';
import { serve as serveIn, sleep, stop } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');

const ADMIN = 'jobs-admin-key-0123456789';
const KEY_A = 'jobs-tenant-a-key-0123456';
const KEY_B = 'jobs-tenant-b-key-0123456';
const READ_A = 'jobs-tenant-a-read-012345';
let tmp, helper, main, deadPort, dim;

// Start `semcode serve` on store (config file cfg or none): {proc, url}.
const serve = (name, store, cfg) => serveIn(bin, tmp, name, store, cfg);

async function api(key, method, p, body) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers['api-key'] = key;
  const res = await fetch(main.url + p, { method, headers, body: body === undefined ? undefined
    : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* metrics */ }
  return { status: res.status, json, text, result: json && json.result, error: json && json.status && json.status.error };
}

// n JSON Lines issue records (ids prefix-0 ..), each with a little text.
function lines(n, prefix = 'i') {
  const words = ['retry', 'timeout', 'cache', 'login', 'crash', 'upload', 'export', 'search', 'billing', 'queue'];
  let s = '';
  for (let i = 0; i < n; i++)
    s += JSON.stringify({ id: `${prefix}-${i}`, title: `${words[i % 10]} fails in module ${i % 37} (${prefix} ${i})`,
      body: `Steps: open ${words[(i * 7) % 10]} page ${i}; expected it to work, it ${words[(i * 3) % 10]}s instead.`,
      state: i % 3 ? 'open' : 'closed', labels: [words[i % 4]], date: '2024-05-01T12:00:00Z' }) + '\n';
  return s;
}

function job(data, opts = {}, extra = {}) {
  return { source: { type: 'jsonl', data, kind: 'issue', ...(extra.source || {}) }, options: { provider: 'fast', ...opts },
    ...(extra.body || {}) };
}

async function waitJob(key, id, states = ['done', 'failed', 'cancelled'], ms = 600000) {
  const t0 = Date.now();
  for (;;) {
    const r = await api(key, 'GET', `/jobs/${id}`);
    assert.equal(r.status, 200, r.text);
    if (states.includes(r.result.state)) return r.result;
    assert.ok(Date.now() - t0 < ms, `job ${id} still ${r.result.state}`);
    await sleep(30);
  }
}

async function countRecords(key, source) {
  const r = await api(key, 'POST', '/collections/records/points/count', {
    exact: true, filter: { must: [{ key: 'source', match: { value: source } }, { key: 'kind', match: { value: 'issue' } }] },
  });
  assert.equal(r.status, 200, r.text);
  return r.result.count;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-jobs-'));
  helper = await serve('helper', path.join(tmp, 'helper-store'));
  const res = await fetch(`${helper.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'semcode-builtin', input: ['probe'] }) });
  dim = (await res.json()).data[0].embedding.length;
  deadPort = await closedPort();
  fs.writeFileSync(path.join(tmp, 'main.json'), JSON.stringify({
    api_keys: [{ key: ADMIN, role: 'admin' }, { key: KEY_A, role: 'write', tenant: 'a' },
      { key: KEY_B, role: 'write', tenant: 'b' }, { key: READ_A, role: 'read', tenant: 'a' }],
    jobs: { workers: 1, retries: 1, balanced_threshold: 100, price_per_1k_tokens: { builtin: 0.5, remote: 2 },
      remote: { base_url: `http://127.0.0.1:${deadPort}/v1`, model: 'semcode-builtin', dim,
        fallback_base_url: `${helper.url}/v1` } },
  }));
  main = await serve('main', path.join(tmp, 'main-store'), path.join(tmp, 'main.json'));
});

after(async () => {
  for (const s of [main, helper]) if (s) await stop(s);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a job runs to done with progress, tokens and estimated cost; its tenant sees it, the other does not', async () => {
  const sub = await api(KEY_A, 'POST', '/jobs', job(lines(2500), { batch_size: 100 }, { source: { source_name: 'jsonl:first' } }));
  assert.equal(sub.status, 200, sub.text);
  const id = sub.result.id;
  assert.equal(sub.result.tenant, 'a');
  assert.equal(sub.result.priority, 30); // issues by default
  assert.equal(sub.result.source.data, undefined, 'the uploaded data is not echoed');
  let seenRunning = null;
  for (;;) {
    const j = (await api(KEY_A, 'GET', `/jobs/${id}`)).result;
    if (j.state === 'running' && j.processed > 0 && j.processed < 2500 && !seenRunning) seenRunning = j;
    if (['done', 'failed', 'cancelled'].includes(j.state)) break;
    await sleep(20);
  }
  const j = await waitJob(KEY_A, id);
  assert.equal(j.state, 'done', JSON.stringify(j));
  assert.equal(j.total, 2500);
  assert.equal(j.processed, 2500);
  assert.equal(j.succeeded, 2500);
  assert.equal(j.failed, 0);
  assert.equal(j.batches, 25);
  assert.equal(j.batch, 25);
  assert.match(j.provider.in_use, /^builtin:/);
  assert.equal(j.provider.preference, 'fast');
  assert.ok(j.tokens.total > 2500, JSON.stringify(j.tokens));
  assert.ok(Math.abs(j.estimated_cost.total - j.tokens.total / 1000 * 0.5) < 1e-6, JSON.stringify(j.estimated_cost));
  assert.ok(j.records_per_second > 0);
  assert.match(j.finished, /^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\d\dZ$/);
  if (seenRunning) { // progress while it ran (the machine may be too fast to catch one)
    assert.equal(seenRunning.total, 2500);
    assert.equal(seenRunning.batches, 25);
    assert.ok(seenRunning.eta_seconds === null || seenRunning.eta_seconds >= 0);
  }
  assert.equal(await countRecords(KEY_A, 'jsonl:first'), 2500);

  // tenant isolation: b sees nothing of it, a's read key and the global key do
  const listB = await api(KEY_B, 'GET', '/jobs');
  assert.equal(listB.status, 200);
  assert.ok(!listB.result.jobs.some((x) => x.id === id));
  assert.equal((await api(KEY_B, 'GET', `/jobs/${id}`)).status, 404);
  assert.equal((await api(KEY_B, 'DELETE', `/jobs/${id}`)).status, 404);
  assert.equal((await api(READ_A, 'GET', `/jobs/${id}`)).status, 200);
  assert.equal((await api(READ_A, 'DELETE', `/jobs/${id}`)).status, 403);
  assert.ok((await api(ADMIN, 'GET', '/jobs')).result.jobs.some((x) => x.id === id));
  const other = await api(KEY_B, 'POST', '/jobs', job(lines(3), {}, { body: { tenant: 'a' } }));
  assert.equal(other.status, 403);
  assert.match(other.error, /tenant `b` and may not start jobs of tenant `a`/);
  assert.equal((await api(null, 'GET', '/jobs')).status, 401);

  // /metrics: tokens and cost per provider, tenant and job
  const m = await api(ADMIN, 'GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.text, new RegExp(`semcode_job_tokens_total\\{provider="builtin:[0-9a-f]+",tenant="a",job="${id}"\\} ${j.tokens.total}`));
  assert.match(m.text, new RegExp(`semcode_job_estimated_cost_total\\{provider="builtin:[0-9a-f]+",tenant="a",job="${id}"\\} `));
  assert.match(m.text, /semcode_jobs\{state="done"\} [1-9]/);
});

test('bad requests get a 4xx naming the field', async () => {
  const d = lines(2);
  const cases = [
    [KEY_A, {}, 400, /`source` is required/],
    [KEY_A, { source: { type: 'svn' } }, 422, /`source.type` must be git, github, jira or jsonl, got `svn`/],
    [KEY_A, { source: { data: d } }, 400, /`source.type` is required/],
    [KEY_A, { source: { type: 'jsonl' } }, 400, /`source.data` .* or `source.path`/],
    [KEY_A, { source: { type: 'jsonl', data: d, path: '/x' } }, 400, /not both/],
    [KEY_A, { source: { type: 'jsonl', data: 5 } }, 400, /`source.data` must be a string/],
    [KEY_A, { source: { type: 'jsonl', data: d, kind: 'ticket' } }, 422, /`source.kind` must be issue, pr/],
    [KEY_A, { source: { type: 'jsonl', data: d, mapping: { id: 3 } } }, 400, /`source.mapping.id` must be a string/],
    [KEY_A, { source: { type: 'jsonl', data: d, colour: 1 } }, 400, /unknown field `source.colour`/],
    [KEY_A, { source: { type: 'jsonl', path: '/etc/passwd' } }, 403, /`source.path` needs an admin key/],
    [KEY_A, { source: { type: 'git', repo: '/tmp' } }, 403, /`source.repo` needs an admin key/],
    [KEY_A, { source: { type: 'github', repo: 'x/y', token_env: 'HOME' } }, 403, /`source.token_env` needs an admin key/],
    [KEY_A, { source: { type: 'github', repo: 'nodash' } }, 422, /`source.repo` must be OWNER\/REPO/],
    [KEY_A, { source: { type: 'github', repo: 'o/r', sweep: 'no' } }, 400, /`source.sweep` must be true or false/],
    [KEY_A, { source: { type: 'github', repo: 'o/r', api_url: 'ftp://x' } }, 422, /`source.api_url` must start with http/],
    [KEY_A, { source: { type: 'jira', jql: '' } }, 400, /`source.url` .* or `source.from_dir` is required/],
    [KEY_A, { source: { type: 'jira', url: 'http://x' } }, 400, /`source.jql` is required/],
    [KEY_A, { source: { type: 'jsonl', data: d }, options: { provider: 'turbo' } }, 422, /`options.provider` must be fast, balanced or quality/],
    [KEY_A, { source: { type: 'jsonl', data: d }, options: { batch_size: 0 } }, 422, /`options.batch_size` must be from 1 to 65536, got 0/],
    [KEY_A, { source: { type: 'jsonl', data: d }, options: { batch_size: 'x' } }, 400, /`options.batch_size` must be an integer/],
    [KEY_A, { source: { type: 'jsonl', data: d }, options: { concurrency: 65 } }, 422, /`options.concurrency` must be from 1 to 64/],
    [KEY_A, { source: { type: 'jsonl', data: d }, options: { priority: '1' } }, 400, /`options.priority` must be an integer/],
    [KEY_A, { source: { type: 'jsonl', data: d }, options: { priority: 5000 } }, 422, /`options.priority` must be from -1000 to 1000/],
    [KEY_A, { source: { type: 'jsonl', data: d }, options: { full: 'yes' } }, 400, /`options.full` must be true or false/],
    [KEY_A, { source: { type: 'jsonl', data: d }, options: { speed: 1 } }, 400, /unknown field `options.speed`/],
    [ADMIN, { source: { type: 'jsonl', data: d }, tenant: 'bad tenant!' }, 422, /`tenant` must be 1 to 64/],
    [KEY_A, { source: { type: 'jsonl', data: d }, extra: 1 }, 400, /unknown field `extra`/],
  ];
  for (const [key, body, status, re] of cases) {
    const r = await api(key, 'POST', '/jobs', body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.match(r.error, re, JSON.stringify(body));
  }
  const notJson = await api(KEY_A, 'POST', '/jobs', '{"source": ');
  assert.equal(notJson.status, 400);
  assert.equal((await api(KEY_A, 'GET', '/jobs/abc')).status, 400);
  assert.match((await api(KEY_A, 'GET', '/jobs/abc')).error, /job id must be a positive integer/);
  assert.equal((await api(KEY_A, 'GET', '/jobs/99999')).status, 404);
  assert.equal((await api(KEY_A, 'GET', '/jobs?state=sleeping')).status, 400);
  assert.equal((await api(KEY_A, 'PUT', '/jobs')).status, 405);
});

test('queued jobs run by priority (issues before other records by default); queued and running jobs cancel', async () => {
  const long = await api(KEY_A, 'POST', '/jobs', job(lines(20000, 'long'), { priority: -5, batch_size: 64 },
    { source: { source_name: 'jsonl:long' } }));
  assert.equal(long.status, 200, long.text);
  await waitJob(KEY_A, long.result.id, ['running']);
  const sub = async (name, opts, kind) => {
    const source = { source_name: `jsonl:${name}`, ...(kind ? { kind } : {}) };
    const r = await api(KEY_A, 'POST', '/jobs', job(lines(300, name), opts, { source }));
    assert.equal(r.status, 200, r.text);
    return r.result;
  };
  const docs = await sub('docs', {}, 'doc');           // default priority of other records: 10
  const low = await sub('low', { priority: 1 });
  const issues = await sub('issues', {});             // default priority of issues: 30
  const high = await sub('high', { priority: 50 });
  const gone = await sub('gone', { priority: 60 });
  assert.equal(docs.priority, 10);
  assert.equal(issues.priority, 30);
  const q = (await api(KEY_A, 'GET', '/jobs?state=queued')).result.jobs.map((x) => x.id);
  for (const x of [docs, low, issues, high, gone]) assert.ok(q.includes(x.id));

  // a queued job cancels at once and never starts
  const c1 = await api(KEY_A, 'DELETE', `/jobs/${gone.id}`);
  assert.equal(c1.status, 200);
  assert.equal(c1.result.state, 'cancelled');
  assert.equal(c1.result.started, null);
  // a running one stops after its current batch, keeping what it stored
  const c2 = await api(KEY_A, 'DELETE', `/jobs/${long.result.id}`);
  assert.equal(c2.status, 200);
  const l = await waitJob(KEY_A, long.result.id);
  assert.equal(l.state, 'cancelled');
  assert.ok(l.succeeded < 20000, `${l.succeeded}`);
  assert.equal(await countRecords(KEY_A, 'jsonl:long'), l.succeeded);

  // one worker: the order in which they start is high, issues, docs, low
  const ids = [high.id, issues.id, docs.id, low.id];
  const ended = [];
  for (const id of ids) ended.push(await waitJob(KEY_A, id));
  const order = [...ended].sort((x, y) => (x.started < y.started ? -1 : 1)).map((x) => x.id);
  assert.deepEqual(order, ids, JSON.stringify(ended.map((x) => [x.id, x.started])));
  for (const id of ids) assert.equal((await waitJob(KEY_A, id)).state, 'done');
  assert.equal((await waitJob(KEY_A, gone.id)).started, null);
});

test('provider routing: quality through the compatible fallback; one collection, one model', async () => {
  // quality: the remote model (a dead endpoint) falls back to its second endpoint of the same model
  const q = await api(ADMIN, 'POST', '/jobs', job(lines(50, 'q'), { provider: 'quality' }, { body: { tenant: 'q' } }));
  assert.equal(q.status, 200, q.text);
  const jq = await waitJob(ADMIN, q.result.id);
  assert.equal(jq.state, 'done', JSON.stringify(jq));
  assert.equal(jq.provider.in_use, `remote:http://127.0.0.1:${deadPort}/v1#semcode-builtin`);
  assert.match(jq.provider.why, /quality: the configured remote model/);
  assert.ok(jq.tokens.by_provider[`remote:${helper.url}/v1#semcode-builtin`] > 0, JSON.stringify(jq.tokens));
  assert.ok(Math.abs(jq.estimated_cost.total - jq.tokens.total / 1000 * 2) < 1e-6);

  // tenant a's records came from the built-in model: quality is refused with the reason ...
  const mix = await api(KEY_A, 'POST', '/jobs', job(lines(20, 'mix'), { provider: 'quality' }));
  const jm = await waitJob(KEY_A, mix.result.id);
  assert.equal(jm.state, 'failed');
  assert.match(jm.error, /were embedded with builtin:[0-9a-f]+, not remote:.*one collection's vectors come from one model.*preference `quality` chose the remote model/);
  // ... and balanced (a small job would go remote) keeps the collection on its model
  const bal = await api(KEY_A, 'POST', '/jobs', job(lines(20, 'bal'), { provider: 'balanced' }));
  const jb = await waitJob(KEY_A, bal.result.id);
  assert.equal(jb.state, 'done', JSON.stringify(jb));
  assert.match(jb.provider.in_use, /^builtin:/);
  assert.match(jb.provider.why, /one collection, one model/);
  // balanced on a big job picks the built-in model (over balanced_threshold 100)
  const big = await api(ADMIN, 'POST', '/jobs', job(lines(150, 'big'), { provider: 'balanced' }, { body: { tenant: 'big' } }));
  const jbig = await waitJob(ADMIN, big.result.id);
  assert.equal(jbig.state, 'done');
  assert.match(jbig.provider.why, /more records than balanced_threshold/);
});

test('a failing provider without a compatible fallback: retried, then each batch is counted failed', async () => {
  const cfg = path.join(tmp, 'dead.json');
  fs.writeFileSync(cfg, JSON.stringify({ jobs: { retries: 1, remote: { base_url: `http://127.0.0.1:${deadPort}/v1`,
    model: 'm', dim: 8 } } }));
  const s = await serve('dead', path.join(tmp, 'dead-store'), cfg);
  try {
    const res = await fetch(`${s.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(job(lines(30, 'd'), { provider: 'quality', batch_size: 10 })) });
    const id = (await res.json()).result.id;
    let j;
    for (;;) {
      j = (await (await fetch(`${s.url}/jobs/${id}`)).json()).result;
      if (!['queued', 'running'].includes(j.state)) break;
      await sleep(50);
    }
    // each batch is skipped and the job goes on; none could be stored, so it ends failed
    assert.equal(j.state, 'failed', JSON.stringify(j));
    assert.equal(j.failed, 30);
    assert.equal(j.succeeded, 0);
    assert.match(j.error, /^every batch failed; the last: embedding with remote:.*failed.*records not stored: issue:d-20 /);
    assert.ok(j.last_errors.some((e) => /^batch skipped: .*records not stored: issue:d-0 issue:d-1 .* and 2 more$/.test(e)),
      JSON.stringify(j.last_errors));
    assert.ok(j.last_errors.some((e) => /retry 1 of 1/.test(e)), JSON.stringify(j.last_errors));
    assert.ok(j.last_errors.some((e) => /no compatible fallback/.test(e)), JSON.stringify(j.last_errors));
  } finally {
    await stop(s);
  }
});

test('kill -9 in the middle of a job: it resumes after the restart, nothing lost or duplicated', async () => {
  const sub = await api(KEY_A, 'POST', '/jobs', job(lines(5000, 'crash'), { batch_size: 64 },
    { source: { source_name: 'jsonl:crash' } }));
  const id = sub.result.id;
  for (;;) {
    const j = (await api(KEY_A, 'GET', `/jobs/${id}`)).result;
    if (j.state === 'running' && j.succeeded >= 320) break;
    assert.ok(['queued', 'running'].includes(j.state), `finished before the kill: ${JSON.stringify(j)}`);
    await sleep(20);
  }
  assert.equal(await stop(main, 'SIGKILL'), null);
  main = await serve('main', path.join(tmp, 'main-store'), path.join(tmp, 'main.json'));
  const j = await waitJob(KEY_A, id);
  assert.equal(j.state, 'done', JSON.stringify(j));
  assert.equal(j.attempts, 2);
  assert.equal(j.succeeded, 5000);
  assert.ok(j.unchanged >= 320, `the resumed run passed over what was stored: ${j.unchanged}`);
  assert.ok(j.last_errors.some((e) => /resumes from its last stored batch/.test(e)));
  assert.equal(await countRecords(KEY_A, 'jsonl:crash'), 5000);
  // every id once
  const ids = new Set();
  let offset = null, n = 0;
  do {
    const r = await api(KEY_A, 'POST', '/collections/records/points/scroll', { limit: 5000, with_payload: ['id'],
      filter: { must: [{ key: 'source', match: { value: 'jsonl:crash' } }] }, ...(offset !== null ? { offset } : {}) });
    for (const p of r.result.points) { ids.add(p.payload.id); n++; }
    offset = r.result.next_page_offset;
  } while (offset !== null && offset !== undefined);
  assert.equal(n, 5000);
  assert.equal(ids.size, 5000);
});

test('CLI: ingest jsonl --server --follow, semcode jobs, cancel, bad usage', async () => {
  const file = path.join(tmp, 'cli.jsonl');
  fs.writeFileSync(file, lines(200, 'cli'));
  const env = { ...process.env, SEMCODE_API_KEY: KEY_A, JOBS_E2E_KEY_B: KEY_B };
  const run = (args, extra = {}) => new Promise((ok) => {
    const c = spawn(bin, args, { env: { ...env, ...extra } });
    let out = '', err = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { err += d; });
    c.on('exit', (code) => ok({ code, out, err }));
  });
  const r = await run(['ingest', 'jsonl', file, '--kind', 'issue', '--server', main.url, '--prefer', 'fast', '--priority', '7',
    '--follow']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /#\d+ +done +jsonl cli.jsonl +200\/200 records batch 1\/1/);
  assert.equal(await countRecords(KEY_A, 'jsonl:cli.jsonl'), 200);
  const list = await run(['jobs', '--server', main.url, '--json']);
  assert.equal(list.code, 0, list.err);
  const jobs = JSON.parse(list.out);
  assert.ok(jobs.length >= 1 && jobs.every((x) => x.tenant === 'a'));
  assert.equal(jobs[0].priority, 7);
  const one = await run(['jobs', String(jobs[0].id), '--server', main.url]);
  assert.match(one.out, /^#\d+ +done +jsonl cli.jsonl +200\/200 records batch 1\/1 /); // plain: not a terminal
  const other = await run(['jobs', String(jobs[0].id), '--server', main.url, '--api-key-env', 'JOBS_E2E_KEY_B']);
  assert.equal(other.code, 1);
  assert.match(other.err, /404: Not found: job \d+ does not exist/);
  const sub = await run(['ingest', 'jsonl', file, '--server', main.url, '--json']);
  assert.equal(sub.code, 0, sub.err);
  assert.equal(JSON.parse(sub.out).priority, 10);
  const bad = [
    [['jobs', '--state', 'sleeping'], 2, /--state must be queued, running, done, failed or cancelled/],
    [['jobs', 'x1'], 2, /a job id is a positive integer, got 'x1'/],
    [['jobs', 'cancel'], 2, /usage: semcode jobs cancel ID/],
    [['ingest', 'jsonl', file, '--prefer', 'fast'], 2, /--prefer applies to a job: give --server URL too/],
    [['ingest', 'jsonl', file, '--server', main.url, '--prefer', 'slow'], 2, /--prefer must be fast, balanced or quality/],
    [['ingest', 'jsonl', file, '--server', main.url, '--batch-size', '0'], 2, /--batch-size must be an integer from 1 to 65536/],
    [['ingest', 'jsonl', file, '--server', main.url, '--store', tmp], 2, /apply to a local run, not to --server/],
    [['ingest', 'git', '.', '--server', main.url], 1, /403: Forbidden: `source.repo` needs an admin key/],
  ];
  for (const [args, code, re] of bad) {
    const b = await run(args);
    assert.equal(b.code, code, `${args.join(' ')}: ${b.err}`);
    assert.match(b.err, re, args.join(' '));
  }
  const help = await run(['jobs', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /semcode jobs cancel ID/);
});
