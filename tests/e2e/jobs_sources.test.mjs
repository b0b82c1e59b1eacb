// End-to-end tests of backfill jobs (POST /jobs) from every source kind and
// of a batch whose provider fails. Starts its own processes on loopback
// ports: a helper `semcode serve` whose /v1/embeddings (the built-in
// model) answers for a fake OpenAI-compatible endpoint (a node server that
// relays to it, and answers 500 to any request with the marker text while
// poisoned), a fake GitHub and Jira (fake_trackers.mjs, tokens required),
// and the server under test, whose jobs config takes the fake endpoint as
// its remote model. Covers: a job whose one batch fails goes on and ends
// done with that batch counted failed and named, a re-run stores it (JSON
// Lines; GitHub, whose cursor stays before the skipped batch); git,
// GitHub and Jira jobs land in the tenant's collection and `semcode search
// --in commits|issues|prs --tenant` finds them; the trackers' tokens (read
// from the environment variable the job names) are in no job row, status,
// log or store file; kill -9 during a GitHub job, several times, then the
// resume: nothing lost or duplicated. Run: node --test tests/e2e/jobs_sources.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeGitHub, FakeJira, startFakeApi } from './fake_trackers.mjs';
import { gitIn, serve as serveIn, sleep, stop } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');

const ADMIN = 'srcjobs-admin-key-0123456789';
const KEY_A = 'srcjobs-tenant-a-key-012345';
const KEY_P = 'srcjobs-tenant-p-key-012345';
const KEY_K = 'srcjobs-tenant-k-key-012345';
const GH_TOKEN = 'ghp_e2eSecretToken0123456789abcdef';
const JIRA_TOKEN = 'jira-e2e-secret-token-9876543210';
const MARKER = 'POISONED-TEXT';
let tmp, helper, main, fakeEmb, trackers, gh, jira, dim;
let poisoned = true;

// Start `semcode serve` on store (config file cfg or none) with the trackers' tokens in its environment.
const serve = (name, store, cfg) => serveIn(bin, tmp, name, store, cfg,
  { SRCJOBS_GH_TOKEN: GH_TOKEN, SRCJOBS_JIRA_TOKEN: JIRA_TOKEN });

const startMain = () => serve('main', path.join(tmp, 'main-store'), path.join(tmp, 'main.json'));

async function api(key, method, p, body) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers['api-key'] = key;
  const res = await fetch(main.url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text, result: json && json.result };
}

async function submit(key, body) {
  const r = await api(key, 'POST', '/jobs', body);
  assert.equal(r.status, 200, r.text);
  return r.result.id;
}

async function waitJob(key, id, ms = 600000) {
  const t0 = Date.now();
  for (;;) {
    const r = await api(key, 'GET', `/jobs/${id}`);
    assert.equal(r.status, 200, r.text);
    if (['done', 'failed', 'cancelled'].includes(r.result.state)) return r.result;
    assert.ok(Date.now() - t0 < ms, `job ${id} still ${r.result.state}`);
    await sleep(30);
  }
}

// Every id of the records of source (and kind) in the key's tenant: [ids, points scrolled]
// (none when the tenant has no records collection).
async function recordIds(key, source, kind) {
  const must = [{ key: 'source', match: { value: source } }];
  if (kind) must.push({ key: 'kind', match: { value: kind } });
  const ids = new Set();
  let offset = null, n = 0;
  do {
    const r = await api(key, 'POST', '/collections/records/points/scroll', { limit: 1000, with_payload: ['id'],
      filter: { must }, ...(offset !== null ? { offset } : {}) });
    if (r.status === 404 && /Collection `records` doesn't exist/.test(r.text)) break;
    assert.equal(r.status, 200, r.text);
    for (const p of r.result.points) { ids.add(p.payload.id); n++; }
    offset = r.result.next_page_offset;
  } while (offset !== null && offset !== undefined);
  return [ids, n];
}

// `semcode ARGS --json` (exit 0 expected): the parsed output.
function cli(args) {
  const r = spawnSync(bin, [...args, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `semcode ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// A small git repository with a few commits of known subjects.
function gitRepo() {
  const dir = fs.mkdtempSync(path.join(tmp, 'repo-'));
  const git = gitIn(dir);
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Alice');
  git('config', 'user.email', 'alice@example.org');
  const steps = [
    ['retry.py', 'def fetch(url):\n    return get(url)\n', 'Fetch pages over HTTP'],
    ['retry.py', 'def fetch(url):\n    for attempt in range(5):\n        sleep(backoff(attempt))\n        return get(url)\n',
      'Exponential backoff between fetch retries'],
    ['cache.py', 'CACHE = {}\ndef cached(k):\n    return CACHE.get(k)\n', 'Add an in-memory cache for parsed pages'],
    ['README.md', '# shop\nA web shop.\n', 'Document the project'],
  ];
  for (const [file, text, msg] of steps) {
    fs.writeFileSync(path.join(dir, file), text);
    git('add', '-A');
    git('commit', '-q', '-m', msg);
  }
  return { dir, shas: git('log', '--format=%H').split('\n') };
}

// The fake OpenAI-compatible endpoint: relays to the helper's built-in
// model; while `poisoned`, any request with MARKER in an input answers 500.
function startFakeEmbeddings() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', async () => {
      let input = [];
      try { input = [].concat(JSON.parse(body).input); } catch { /* relayed as is */ }
      if (poisoned && input.some((t) => typeof t === 'string' && t.includes(MARKER))) {
        fakeEmb.refused++;
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'the model crashed on this input', type: 'server_error' } }));
        return;
      }
      const up = await fetch(`${helper.url}${req.url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      res.writeHead(up.status, { 'content-type': 'application/json' });
      res.end(await up.text());
    });
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, refused: 0,
    url: `http://127.0.0.1:${server.address().port}` })));
}

// n GitHub issues (every fifth with a comment), numbered from first.
function addGitHubIssues(fake, n, first = 1) {
  const words = ['checkout', 'login', 'search', 'cart', 'invoice', 'shipping', 'coupon', 'wishlist'];
  for (let i = 0; i < n; i++) {
    const num = first + i, w = words[i % words.length];
    const at = new Date(Date.UTC(2024, 0, 1) + num * 3600e3).toISOString().replace('.000', '');
    fake.addIssue({ number: num, title: `The ${w} page fails (${num})`, body: `Opening ${w} gives an error ${num}.`,
      labels: [w], created: at, comments: i % 5 ? [] : [{ user: 'bob', body: `Seen again on ${w}`, at }] });
  }
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-srcjobs-'));
  helper = await serve('helper', path.join(tmp, 'helper-store'));
  const res = await fetch(`${helper.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'semcode-builtin', input: ['probe'] }) });
  dim = (await res.json()).data[0].embedding.length;
  fakeEmb = await startFakeEmbeddings();
  gh = new FakeGitHub({ token: GH_TOKEN });
  addGitHubIssues(gh, 6);
  gh.addIssue({ number: 7, title: 'Retry the payment call with backoff', body: 'Payments fail on a flaky network.',
    created: '2024-02-01T10:00:00Z', pr: true, merged: '2024-02-02T10:00:00Z', state: 'closed' });
  gh.addPullParts(7, { merged: '2024-02-02T10:00:00Z', commits: ['a'.repeat(40)],
    reviews: [{ user: 'carol', body: 'Cap the backoff', state: 'APPROVED', at: '2024-02-01T12:00:00Z' }] });
  jira = new FakeJira({ user: 'dana@example.org', token: JIRA_TOKEN });
  jira.addIssue({ key: 'SHOP-1', summary: 'Refunds are booked twice', description: 'A refund posts two ledger lines.',
    created: '2024-03-01T09:00:00.000+0000', comments: [{ who: 'eve', body: 'Duplicate ledger rows', at: '2024-03-02T09:00:00.000+0000' }] });
  jira.addIssue({ key: 'SHOP-2', summary: 'Dark mode for the admin pages', status: 'Done', category: 'done',
    created: '2024-03-03T09:00:00.000+0000' });
  trackers = await startFakeApi(gh, jira);
  fs.writeFileSync(path.join(tmp, 'main.json'), JSON.stringify({
    api_keys: [{ key: ADMIN, role: 'admin' }, { key: KEY_A, role: 'write', tenant: 'a' },
      { key: KEY_P, role: 'write', tenant: 'p' }, { key: KEY_K, role: 'write', tenant: 'k' }],
    jobs: { workers: 1, retries: 1, remote: { base_url: `${fakeEmb.url}/v1`, model: 'semcode-builtin', dim } },
  }));
  main = await startMain();
});

after(async () => {
  for (const s of [main, helper]) if (s) await stop(s);
  if (fakeEmb) await new Promise((ok) => fakeEmb.server.close(ok));
  if (trackers) await trackers.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a batch whose provider fails is skipped: the job goes on, ends done with it counted, a re-run stores it', async () => {
  let data = '';
  for (let i = 0; i < 50; i++)
    data += JSON.stringify({ id: `p-${i}`, title: `Checkout error number ${i}${i === 23 ? ` ${MARKER}` : ''}`,
      body: `The checkout page fails for order ${i}.` }) + '\n';
  const body = { source: { type: 'jsonl', data, kind: 'issue', source_name: 'jsonl:poison' },
    options: { provider: 'quality', batch_size: 10 } };
  const j = await waitJob(KEY_P, await submit(KEY_P, body));
  assert.equal(j.state, 'done', JSON.stringify(j));
  assert.equal(j.failed, 10, JSON.stringify(j));
  assert.equal(j.succeeded, 40);
  assert.equal(j.processed, 50);
  assert.ok(fakeEmb.refused >= 2, 'the batch was retried');
  const skipped = j.last_errors.find((e) => /^batch skipped: /.test(e));
  assert.ok(skipped, JSON.stringify(j.last_errors));
  assert.match(skipped, /embedding with remote:.*failed: .*500.*records not stored: issue:p-20 issue:p-21 .* and 2 more$/);
  assert.ok(j.last_errors.some((e) => /retry 1 of 1/.test(e)), JSON.stringify(j.last_errors));
  // the later batches ran: p-30 .. p-49 are stored, p-20 .. p-29 are not
  let [ids] = await recordIds(KEY_P, 'jsonl:poison');
  assert.equal(ids.size, 40);
  for (let i = 20; i < 30; i++) assert.ok(!ids.has(`p-${i}`), `p-${i} is not stored`);
  assert.ok(ids.has('p-49'));
  // the provider answers again: a re-run stores the skipped batch and passes over the rest
  poisoned = false;
  const again = await waitJob(KEY_P, await submit(KEY_P, body));
  assert.equal(again.state, 'done', JSON.stringify(again));
  assert.equal(again.failed, 0);
  assert.equal(again.written, 10);
  assert.equal(again.unchanged, 40);
  [ids] = await recordIds(KEY_P, 'jsonl:poison');
  assert.equal(ids.size, 50);
  poisoned = true;
});

test('a GitHub job with a batch skipped writes no cursor: the next run of the source retries that batch', async () => {
  const fake = new FakeGitHub({ owner: 'acme', repo: 'poison', token: GH_TOKEN });
  addGitHubIssues(fake, 12);
  fake.items[7].title += ` ${MARKER}`;
  const api2 = await startFakeApi(fake);
  try {
    const body = { tenant: 'q', source: { type: 'github', repo: 'acme/poison', api_url: api2.url,
      token_env: 'SRCJOBS_GH_TOKEN', per_page: 5 }, options: { provider: 'quality', batch_size: 4 } };
    poisoned = true;
    const j = await waitJob(ADMIN, await submit(ADMIN, body));
    assert.equal(j.state, 'done', JSON.stringify(j));
    assert.ok(j.failed >= 1 && j.failed <= 4, JSON.stringify(j));
    assert.ok(j.last_errors.some((e) => /^batch skipped: .*records not stored: .*issue:8\b/.test(e)), JSON.stringify(j.last_errors));
    const stored = j.succeeded;
    poisoned = false;
    const again = await waitJob(ADMIN, await submit(ADMIN, body));
    assert.equal(again.state, 'done', JSON.stringify(again));
    assert.equal(again.failed, 0);
    assert.equal(again.written, j.failed, 'the skipped records, and only they, are written now');
    assert.equal(again.unchanged, stored);
    // now the cursor moved: a third run reads only what changed since (nothing)
    const third = await waitJob(ADMIN, await submit(ADMIN, body));
    assert.equal(third.state, 'done', JSON.stringify(third));
    assert.equal(third.written, 0);
    assert.ok(third.processed < again.processed, `incremental: ${third.processed} < ${again.processed}`);
  } finally {
    poisoned = true;
    await api2.close();
  }
});

test('git, GitHub and Jira jobs: records in the tenant, found by search --in; tokens never stored or logged', async () => {
  const repo = gitRepo();
  const jg = await waitJob(ADMIN, await submit(ADMIN, { tenant: 'a', source: { type: 'git', repo: repo.dir,
    source_name: 'git:shop' }, options: { provider: 'fast', batch_size: 2 } }));
  assert.equal(jg.state, 'done', JSON.stringify(jg));
  assert.equal(jg.succeeded, 4);
  const [commits] = await recordIds(KEY_A, 'git:shop', 'commit');
  assert.deepEqual([...commits].sort(), [...repo.shas].sort());

  const ghBody = { tenant: 'a', source: { type: 'github', repo: 'acme/shop', api_url: trackers.url,
    token_env: 'SRCJOBS_GH_TOKEN', per_page: 2 }, options: { provider: 'fast', batch_size: 3 } };
  const jh = await waitJob(ADMIN, await submit(ADMIN, ghBody));
  assert.equal(jh.state, 'done', JSON.stringify(jh));
  assert.equal(jh.failed, 0);
  const [issues] = await recordIds(KEY_A, 'github:acme/shop', 'issue');
  assert.equal(issues.size, 6);
  const [prs] = await recordIds(KEY_A, 'github:acme/shop', 'pr');
  assert.equal(prs.size, 1);
  assert.ok(trackers.log.some((r) => r.path.startsWith('/repos/acme/shop/') && r.authorization === `Bearer ${GH_TOKEN}`));

  const jiraBody = { tenant: 'a', source: { type: 'jira', url: trackers.url, jql: 'project = SHOP', user: 'dana@example.org',
    token_env: 'SRCJOBS_JIRA_TOKEN', per_page: 1, source_name: 'jira:shop' }, options: { provider: 'fast' } };
  const jj = await waitJob(ADMIN, await submit(ADMIN, jiraBody));
  assert.equal(jj.state, 'done', JSON.stringify(jj));
  const [keys] = await recordIds(KEY_A, 'jira:shop', 'issue');
  assert.deepEqual([...keys].sort(), ['SHOP-1', 'SHOP-2']);

  // another tenant's key sees none of it
  const [none] = await recordIds(KEY_P, 'git:shop');
  assert.equal(none.size, 0);
  // the tokens: in no status, log, job row or store file
  const status = await api(ADMIN, 'GET', '/jobs');
  for (const t of [GH_TOKEN, JIRA_TOKEN]) assert.ok(!status.text.includes(t), 'a token in GET /jobs');
  await stop(main);
  main = null;
  const files = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p); else files.push(p);
  } };
  walk(path.join(tmp, 'main-store'));
  files.push(path.join(tmp, 'main.log'), path.join(tmp, 'main.err'));
  assert.ok(files.some((f) => f.endsWith('jobs.db')), `jobs.db among ${files.join(' ')}`);
  for (const f of files) {
    if (!fs.existsSync(f)) continue;
    const bytes = fs.readFileSync(f);
    for (const t of [GH_TOKEN, JIRA_TOKEN])
      assert.equal(bytes.indexOf(Buffer.from(t)), -1, `the token is in ${f}`);
  }
  // semcode search --in finds them in the tenant: a CLI store (state.db + store/) made by a local
  // ingest, its store/ replaced by a copy of the server's store
  const store = path.join(tmp, 'cli');
  const init = spawnSync(bin, ['ingest', 'jsonl', '-', '--kind', 'doc', '--store', store], { input: '{"id":"x","title":"x"}\n' });
  assert.equal(init.status, 0, String(init.stderr));
  fs.rmSync(path.join(store, 'store'), { recursive: true });
  fs.cpSync(path.join(tmp, 'main-store'), path.join(store, 'store'), { recursive: true });
  let q = cli(['search', 'exponential backoff between retries', '--in', 'commits', '--tenant', 'a', '--store', store]);
  assert.equal(q.results[0].subject, 'Exponential backoff between fetch retries', JSON.stringify(q.results));
  q = cli(['search', 'the login page fails', '--in', 'issues', '--tenant', 'a', '--store', store]);
  assert.ok(q.results.slice(0, 3).some((r) => /login page fails/.test(r.title)), JSON.stringify(q.results));
  q = cli(['search', 'refund booked twice ledger', '--in', 'issues', '--tenant', 'a', '--store', store]);
  assert.equal(q.results[0].key || q.results[0].id, 'SHOP-1', JSON.stringify(q.results));
  q = cli(['search', 'payment retry backoff', '--in', 'prs', '--tenant', 'a', '--store', store]);
  assert.match(q.results[0].title, /Retry the payment call/, JSON.stringify(q.results));
  q = cli(['search', 'refund booked twice ledger', '--in', 'issues', '--tenant', 'b', '--store', store]);
  assert.equal(q.results.length, 0, 'tenant b has no records');
  main = await startMain();
});

test('kill -9 during a GitHub job, three times: it resumes each time, nothing lost or duplicated', async () => {
  const big = new FakeGitHub({ owner: 'acme', repo: 'big', token: GH_TOKEN });
  addGitHubIssues(big, 600, 1);
  const answer = big.handle.bind(big);
  big.handle = (url, req, res) => { // 20 ms an answer, so that the kills land in the middle of a run
    if (!url.pathname.startsWith('/repos/acme/big/')) return false;
    setTimeout(() => answer(url, req, res), 20);
    return true;
  };
  const api2 = await startFakeApi(big);
  try {
    const id = await submit(ADMIN, { tenant: 'k', source: { type: 'github', repo: 'acme/big', api_url: api2.url,
      token_env: 'SRCJOBS_GH_TOKEN', per_page: 50 }, options: { provider: 'fast', batch_size: 16 } });
    let stored = 0;
    for (let round = 1; round <= 3; round++) {
      // let this attempt store something new, then kill the server
      for (;;) {
        const j = (await api(ADMIN, 'GET', `/jobs/${id}`)).result;
        assert.ok(['queued', 'running'].includes(j.state), `finished before kill ${round}: ${JSON.stringify(j)}`);
        if (j.state === 'running' && j.attempts === round && j.written >= 32) {
          stored += j.written;
          break;
        }
        await sleep(20);
      }
      assert.equal(await stop(main, 'SIGKILL'), null);
      main = await startMain();
    }
    const j = await waitJob(ADMIN, id);
    assert.equal(j.state, 'done', JSON.stringify(j));
    assert.equal(j.attempts, 4);
    assert.equal(j.failed, 0);
    assert.ok(j.unchanged >= 32, `the last attempt passed over what was stored: ${JSON.stringify(j)}`);
    const [ids, n] = await recordIds(KEY_K, 'github:acme/big', 'issue');
    assert.equal(ids.size, 600, 'none lost');
    assert.equal(n, 600, 'none duplicated');
    const [comments, nc] = await recordIds(KEY_K, 'github:acme/big', 'comment');
    assert.equal(comments.size, 120);
    assert.equal(nc, 120);
    assert.ok(stored >= 96);
  } finally {
    await api2.close();
  }
});
