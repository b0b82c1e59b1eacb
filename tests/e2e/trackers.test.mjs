// End-to-end tests of the tracker and file sources through the CLI:
// `semcode ingest github` and `ingest jira` against a local server that
// answers in the shapes of GitHub's and Jira's REST documentation
// (fake_trackers.mjs: the real services cannot be reached from here), with
// paging over several pages, rate-limit answers (403 with
// X-RateLimit-Remaining 0 and a near reset; 429 with Retry-After), 5xx then
// success, cut (non-JSON) answers and malformed items; the same data saved
// to a folder (--from-dir); `ingest jsonl` from standard input; idempotent
// and incremental re-runs, full syncs that remove what vanished, tenants
// kept apart, search --in issues|prs with filters, and `history` showing a
// pull request through the commits it links.
// Run: node --test tests/e2e/trackers.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeGitHub, FakeJira, startFakeApi } from './fake_trackers.mjs';
import { gitIn } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');

// The CLI runs as a child process while this process serves the fake API:
// spawn (asynchronous), never spawnSync, so the server keeps answering.
function run(args, { cwd, env = {}, input } = {}) {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { cwd, env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(input ?? '');
  });
}

async function json(args, opts) {
  const r = await run([...args, '--json'], opts);
  assert.equal(r.code, 0, `semcode ${args.join(' ')} failed (${r.code}): ${r.err}`);
  try {
    return { ...JSON.parse(r.out), stderr: r.err };
  } catch (e) {
    throw new Error(`not JSON from semcode ${args.join(' ')}: ${r.out}\n${r.err}`);
  }
}

function tmpdir(tag) { return fs.mkdtempSync(path.join(os.tmpdir(), `semcode-e2e-${tag}-`)); }

// ==== GitHub data ====

function gitRepo() {
  const dir = tmpdir('trk-git');
  const git = gitIn(dir);
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Alice');
  git('config', 'user.email', 'alice@example.org');
  fs.writeFileSync(path.join(dir, 'retry.py'), 'def fetch(url):\n    while True:\n        return get(url)\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'Fetch with a retry loop');
  fs.writeFileSync(path.join(dir, 'retry.py'),
    'def fetch(url):\n    for attempt in range(5):\n        sleep(backoff(attempt))\n        return get(url)\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'Back off between retries');
  return { dir, shas: git('log', '--format=%H').split('\n').reverse() };
}

function githubData(shas) {
  const gh = new FakeGitHub({ token: 'ghp_SECRET_token_0123456789' });
  gh.addIssue({ number: 1, title: 'Retry logic loops forever on 503', body: 'The HTTP client retries without any backoff.',
    labels: ['bug', 'network'], created: '2024-01-01T10:00:00Z', updated: '2024-01-05T10:00:00Z',
    comments: [{ user: 'bob', body: 'Seen in production: the worker spins at full CPU', at: '2024-01-02T10:00:00Z' },
      { user: 'alice', body: 'Add exponential backoff with jitter', at: '2024-01-03T10:00:00Z' }] });
  gh.addIssue({ number: 2, title: 'Move off the old auth flow', body: 'Sessions should use the identity service.',
    state: 'closed', closed: '2024-02-10T00:00:00Z', labels: ['auth'], user: 'carol', created: '2024-01-10T10:00:00Z',
    updated: '2024-02-10T00:00:00Z', comments: [{ user: 'carol', body: 'The legacy cookie flow goes in Q2', at: '2024-01-11T09:00:00Z' }] });
  gh.addIssue({ number: 3, title: 'Add backoff to the retry loop', body: 'Fixes #1 with exponential backoff.', pr: true,
    state: 'closed', merged: '2024-01-20T00:00:00Z', closed: '2024-01-20T00:00:00Z', created: '2024-01-15T10:00:00Z',
    updated: '2024-01-20T00:00:00Z', labels: ['network'] });
  gh.addPullParts(3, { merged: '2024-01-20T00:00:00Z', head: 'backoff', commits: shas,
    reviews: [{ user: 'bob', state: 'APPROVED', body: 'Looks good, the jitter keeps clients apart', at: '2024-01-19T00:00:00Z' },
      { user: 'dan', state: 'COMMENTED', body: '', at: '2024-01-18T00:00:00Z' }],
    reviewComments: [{ user: 'bob', path: 'retry.py', line: 3, body: 'Cap the wait at thirty seconds', at: '2024-01-18T12:00:00Z' }] });
  gh.addIssue({ number: 4, title: 'Dark mode for the settings page', body: 'Users ask for a dark theme.', labels: ['ui'],
    created: '2024-01-20T10:00:00Z', comments: [{ user: 'erin', body: 'Please also the login page', at: '2024-01-21T10:00:00Z' }] });
  gh.addIssue({ number: 5, title: 'Crash when the config file is empty', body: 'Segfault in parse_config on an empty file.',
    labels: ['bug'], created: '2024-01-25T10:00:00Z' });
  gh.addIssue({ number: 6, title: 'Document the plugin API', body: 'Write a guide for plugin authors.', labels: ['docs'],
    created: '2024-01-28T10:00:00Z' });
  // malformed items: no number; a title that is not a string
  gh.items.push({ id: 90, title: 'an item without its number', created_at: '2024-01-26T10:00:00Z', updated_at: '2024-01-26T10:00:00Z' });
  gh.items.push({ id: 91, number: 7, title: 42, created_at: '2024-01-27T10:00:00Z', updated_at: '2024-01-27T10:00:00Z' });
  return gh;
}

// Save the fake's answers to dir as the API's paths (the --from-dir layout).
function saveGitHub(gh, dir) {
  const w = (rel, data) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), JSON.stringify(data, null, 1));
  };
  const items = [...gh.items].sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
  for (let p = 0; p * 3 < items.length; p++) w(`issues.${p + 1}.json`, items.slice(p * 3, p * 3 + 3));
  for (const [n, cs] of Object.entries(gh.comments)) if (cs.length) w(`issues/${n}/comments.json`, cs);
  for (const [n, pr] of Object.entries(gh.pulls)) {
    w(`pulls/${n}.json`, pr);
    w(`pulls/${n}/reviews.json`, gh.reviews[n]);
    w(`pulls/${n}/comments.json`, gh.reviewComments[n]);
    w(`pulls/${n}/commits.json`, gh.commits[n]);
  }
}

test('ingest github: pages, rate limits, retries, malformed items, incremental, full sync, history, search', async () => {
  const repo = gitRepo();
  const gh = githubData(repo.shas);
  const api = await startFakeApi(gh);
  const env = { GH_TOKEN: 'ghp_SECRET_token_0123456789' };
  const base = ['ingest', 'github', 'acme/shop', '--api-url', api.url, '--token-env', 'GH_TOKEN', '--per-page', '2'];
  try {
    // the tree indexed and its commits ingested first: the PR links to them
    assert.equal((await run(['index', '.', '-q'], { cwd: repo.dir })).code, 0);
    assert.equal((await run(['ingest', 'git', '-q'], { cwd: repo.dir })).code, 0);

    const now = () => String(Math.floor(Date.now() / 1000) + 1);
    const f429 = api.fault({ path: /^\/repos\/acme\/shop\/issues\?state=all(?!.*&page=)/, status: 429, headers: { 'Retry-After': '1' },
      body: { message: 'You have exceeded a secondary rate limit.' } });
    const f503 = api.fault({ path: /\/issues\?.*page=2/, status: 503, body: { message: 'Service Unavailable' } });
    const f403 = api.fault({ path: /\/issues\/1\/comments/, status: 403, body: { message: 'API rate limit exceeded for user ID 1.' },
      headers: () => ({ 'X-RateLimit-Limit': '5000', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': now() }) });
    const fcut = api.fault({ path: /\/pulls\/3\/reviews/, raw: '[{"id": 5, "user": {"login": "bo' });

    let s = await json(base, { cwd: repo.dir, env });
    assert.equal(s.ok, true);
    assert.equal(s.full, true, 'the first run is a full sync');
    assert.equal(s.source, 'github:acme/shop');
    for (const f of [f429, f503, f403, fcut]) assert.equal(f.hits, 1, `fault ${f.path} was not hit`);
    assert.ok(s.rate_waits >= 2, `rate-limit waits: ${JSON.stringify(s)}`);
    assert.ok(s.retries >= 2, `retries: ${JSON.stringify(s)}`);
    assert.ok(s.pages >= 4, 'issues over several pages');
    // 6 issues and PRs, 4 comments, 2 reviews, 1 review comment
    assert.equal(s.items, 13, JSON.stringify(s));
    assert.equal(s.malformed, 2);
    assert.equal(s.removal_skipped, true);
    assert.match(s.stderr, /skipped http:\/\/127\.0\.0\.1:\d+\/repos\/acme\/shop\/issues\?\S+ item \d: an issue needs a positive integer 'number'/);
    assert.match(s.stderr, /item \d: issue #7 has no string 'title'/);
    assert.ok(!s.stderr.includes('SECRET') && !JSON.stringify(s).includes('SECRET'), 'the token appears in the output');
    assert.ok(api.log.every((r) => r.authorization === `Bearer ${env.GH_TOKEN}`), 'every request carries the token');

    // search: kind-specific output and filters
    let q = await json(['search', 'exponential backoff jitter', '--in', 'prs'], { cwd: repo.dir });
    const pr = q.results.find((x) => x.kind === 'pr');
    assert.ok(pr, JSON.stringify(q));
    assert.equal(pr.number, 3);
    assert.equal(pr.state, 'merged');
    assert.equal(pr.url, 'https://github.com/acme/shop/pull/3');
    assert.deepEqual(pr.record.links.commit, repo.shas);
    assert.deepEqual(pr.record.reviewers, ['bob', 'dan']);
    assert.ok(q.results.some((x) => x.kind === 'review' && x.number === 3), 'reviews are searched with PRs');
    q = await json(['search', 'identity service sessions', '--in', 'issues', '--state', 'closed', '--label', 'auth'], { cwd: repo.dir });
    assert.deepEqual(q.results.map((x) => x.id), ['2']);
    assert.equal(q.results[0].author, 'carol');
    q = await json(['search', 'worker spins at full CPU', '--in', 'issues', '--author', 'bob'], { cwd: repo.dir });
    assert.equal(q.results[0].kind, 'comment');
    assert.equal(q.results[0].number, 1);
    const text = await run(['search', 'dark theme', '--in', 'issues'], { cwd: repo.dir });
    assert.match(text.out, /^#4 {2}2024-01-20 {2}alice {2}Dark mode for the settings page {2}\[issue open\] {2}https:\/\/github\.com\/acme\/shop\/issues\/4/m);

    // history: the function's commits, and the PR that holds them
    const h = await json(['history', 'retry.py:2'], { cwd: repo.dir });
    assert.deepEqual(h.results.map((x) => x.kind), ['pr', 'commit', 'commit'], JSON.stringify(h.results.map((x) => [x.kind, x.date])));
    assert.equal(h.results[0].number, 3);
    const ht = await run(['history', 'retry.py:2'], { cwd: repo.dir });
    assert.match(ht.out, /2 commits, 1 pull request/);

    // an incremental run with nothing new: since sent, nothing written
    api.log.length = 0;
    s = await json(base, { cwd: repo.dir, env });
    assert.equal(s.full, false);
    assert.equal(s.written, 0, JSON.stringify(s));
    assert.match(api.log[0].query, /since=2024-02-10T00%3A00%3A00Z|since=2024-02-10T00:00:00Z/);
    // then the id sweep: every item, 100 a page, no comment or review requests
    assert.equal(s.sweep, true);
    const sweepAt = api.log.findIndex((r) => r.query === '?state=all&sort=created&direction=asc&per_page=100');
    assert.ok(sweepAt > 0, JSON.stringify(api.log.map((r) => r.path + r.query)));
    assert.ok(api.log.slice(sweepAt).every((r) => r.path === '/repos/acme/shop/issues'), 'the sweep lists ids only');
    assert.equal(s.removal_skipped, true, 'the sweep saw the malformed items: it removes nothing');
    assert.equal(s.removed, 0);

    // the malformed items fixed, issue 4 deleted, issue 6 transferred to another repository, issue 1 commented on
    gh.items = gh.items.filter((x) => x.number && x.number !== 4 && x.number !== 6 && typeof x.title === 'string');
    const one = gh.items.find((x) => x.number === 1);
    one.updated_at = '2024-03-01T10:00:00Z';
    one.comments = 3;
    gh.comments[1].push({ id: 777, html_url: `${one.html_url}#issuecomment-777`, body: 'Fixed by the backoff PR',
      user: gh.user('alice'), created_at: '2024-03-01T10:00:00Z', updated_at: '2024-03-01T10:00:00Z' });
    // first with the sweep's page cut: the pass is kept, nothing is removed
    const cutSweep = api.fault({ path: /\/issues\?state=all&sort=created&direction=asc&per_page=100/, raw: '[{"number": 1, "ti', times: 100 });
    s = await json([...base, '--retries', '0'], { cwd: repo.dir, env });
    assert.equal(cutSweep.hits, 1);
    api.clearFaults();
    assert.equal(s.full, false);
    // issue 1 and its 3 comments, and issue 2 and its comment again (since is inclusive: 2024-02-10 was the last)
    assert.equal(s.items, 6, 'only what changed since the cursor was read');
    assert.equal(s.written, 2, 'issue 1 and its new comment');
    assert.equal(s.malformed, 1, 'the cut sweep page');
    assert.equal(s.removal_skipped, true);
    assert.equal(s.removed, 0, 'a malformed sweep page removes nothing');
    assert.equal(s.since, '2024-03-01T10:00:00Z', 'the pass was whole: the cursor moves');
    q = await json(['search', 'dark theme settings page', '--in', 'issues'], { cwd: repo.dir });
    assert.ok(q.results.some((x) => x.id === '4'));
    // --no-sweep: nothing listed past the pass, nothing removed
    api.log.length = 0;
    s = await json([...base, '--no-sweep'], { cwd: repo.dir, env });
    assert.equal(s.sweep, false);
    assert.equal(s.removed, 0);
    assert.ok(api.log.every((r) => /since=/.test(r.query) || r.path !== '/repos/acme/shop/issues'), 'no sweep request');
    // the next incremental run sweeps: the deleted issue with its comment and the transferred one are removed
    s = await json(base, { cwd: repo.dir, env });
    assert.equal(s.full, false);
    assert.equal(s.removal_skipped, false, JSON.stringify(s));
    assert.equal(s.removed, 3, JSON.stringify(s));
    assert.equal(s.swept, 3);
    assert.equal(s.written, 0, 'nothing written for the swept items');
    q = await json(['search', 'dark theme settings page', '--in', 'issues'], { cwd: repo.dir });
    assert.ok(!q.results.some((x) => x.number === 4), JSON.stringify(q.results.map((x) => x.id)));
    q = await json(['search', 'document the plugin API guide', '--in', 'issues'], { cwd: repo.dir });
    assert.ok(!q.results.some((x) => x.number === 6), JSON.stringify(q.results.map((x) => x.id)));
    const text2 = await run(['ingest', 'github', 'acme/shop', '--api-url', api.url, '--token-env', 'GH_TOKEN'], { cwd: repo.dir, env });
    assert.match(text2.out, /0 removed \(0 by the id sweep\)/);

    // a full sync finds nothing more to remove
    s = await json([...base, '--full'], { cwd: repo.dir, env });
    assert.equal(s.full, true);
    assert.equal(s.removal_skipped, false);
    assert.equal(s.removed, 0, JSON.stringify(s));

    // a rate limit longer than --max-wait stops the run, naming when to come back
    api.fault({ path: /\/issues\?/, status: 403, body: { message: 'API rate limit exceeded' },
      headers: () => ({ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(Math.floor(Date.now() / 1000) + 3600) }) });
    let r = await run([...base, '--max-wait', '5'], { cwd: repo.dir, env });
    assert.equal(r.code, 1);
    assert.match(r.err, /rate limited for \d+ s, longer than the 5 s this run may wait \(--max-wait\); try again after \d{4}-/);

    // a token variable that is not set; a bad name
    r = await run(['ingest', 'github', 'acme/shop', '--api-url', api.url, '--token-env', 'NO_SUCH_TOKEN_VAR'], { cwd: repo.dir });
    assert.equal(r.code, 1);
    assert.match(r.err, /the token variable NO_SUCH_TOKEN_VAR is not set/);
    r = await run(['ingest', 'github', 'acme', '--api-url', api.url], { cwd: repo.dir });
    assert.equal(r.code, 1);
    assert.match(r.err, /'acme' is not OWNER\/REPO/);
    r = await run(['ingest', 'github', 'acme/shop', '--jql', 'x'], { cwd: repo.dir });
    assert.equal(r.code, 2);
    assert.match(r.err, /--jql does not apply to ingest github/);
  } finally {
    await api.close();
  }
});

test('ingest github: incremental runs ask with the ETag of the last listing; 304 reads nothing, a change reads again', async () => {
  const gh = new FakeGitHub();
  gh.addIssue({ number: 1, title: 'Retry logic loops forever', body: 'No backoff.', created: '2024-01-01T10:00:00Z', updated: '2024-01-05T10:00:00Z' });
  gh.addIssue({ number: 2, title: 'Dark mode', body: 'A dark theme.', created: '2024-01-02T10:00:00Z', updated: '2024-01-06T10:00:00Z' });
  const api = await startFakeApi(gh);
  const work = tmpdir('trk-etag');
  // --no-sweep: the id sweep (tested above) lists every item after an incremental run, unconditionally
  const base = ['ingest', 'github', 'acme/shop', '--api-url', api.url, '--store', path.join(work, 'st'), '--no-sweep'];
  const listing = () => api.log.filter((r) => r.path === '/repos/acme/shop/issues');
  try {
    let s = await json(base);
    assert.equal(s.full, true);
    assert.equal(s.written, 2);
    assert.equal(listing()[0].ifNoneMatch, null, 'a full sync asks unconditionally');
    // incremental: a new URL (since), unconditional; it reads the newest item again
    s = await json(base);
    assert.equal(s.full, false);
    assert.equal(listing().at(-1).ifNoneMatch, null);
    assert.match(listing().at(-1).query, /since=2024-01-06T10:00:00Z/);
    const n = api.log.length;
    // the same URL again: conditional, answered 304, nothing read
    s = await json(base);
    assert.equal(s.full, false);
    assert.match(listing().at(-1).ifNoneMatch, /^W\/"[0-9a-f]{40}"$/);
    assert.equal(api.log.length, n + 1, 'one request, the listing, answered 304');
    assert.equal(s.requests, 1);
    assert.equal(s.pages, 0);
    assert.equal(s.items, 0);
    assert.equal(s.since, '2024-01-06T10:00:00Z', 'a 304 keeps the cursor');
    // a change: the ETag no longer matches, the item is read and written
    const it = gh.items.find((x) => x.number === 2);
    it.title = 'Dark mode for every page';
    it.updated_at = '2024-01-07T10:00:00Z';
    s = await json(base);
    assert.ok(listing().at(-1).ifNoneMatch, 'asked conditionally');
    assert.equal(s.items, 1);
    assert.equal(s.written, 1);
    const q = await json(['search', 'dark mode every page', '--in', 'issues', '--store', path.join(work, 'st')]);
    assert.equal(q.results[0].title, 'Dark mode for every page');
    // --full never asks conditionally
    s = await json([...base, '--full']);
    assert.equal(listing().at(-1).ifNoneMatch, null);
    assert.equal(s.items, 2);
  } finally {
    await api.close();
  }
});

test('ingest github: a page that stays cut is skipped, the run goes on, and the next run is full', async () => {
  const gh = githubData(['c'.repeat(40)]);
  gh.token = null; // anonymous
  const api = await startFakeApi(gh);
  const store = path.join(tmpdir('trk-cut'), 'st');
  const base = ['ingest', 'github', 'acme/shop', '--api-url', api.url, '--per-page', '2', '--retries', '1', '--store', store];
  try {
    // page 2 (PR #3 and issue #4) answers 200 with a cut body every time; its Link header still names page 3
    const cut = api.fault({ path: /\/issues\?.*&page=2/, raw: '[{"number": 3, "title": "Add', times: 100,
      headers: () => ({ Link: `<${api.url}/repos/acme/shop/issues?state=all&sort=created&direction=asc&per_page=2&page=3>; rel="next"` }) });
    let s = await json(base);
    assert.equal(cut.hits, 2, 'one try and one retry');
    assert.match(s.stderr, /skipped http:\/\/127\.0\.0\.1:\d+\/repos\/acme\/shop\/issues\?\S*&page=2: GET \S+ answered HTTP 200 with a body that is not JSON .*, 2 times; its items are skipped/);
    assert.ok(api.log.some((r) => /&page=4/.test(r.query)), 'the pages after it were read');
    assert.equal(s.items, 7, JSON.stringify(s)); // issues 1, 2, 5, 6 and the 3 comments of 1 and 2
    assert.equal(s.malformed, 3);
    assert.equal(s.removal_skipped, true);
    api.clearFaults();
    s = await json(base);
    assert.equal(s.full, true, 'a run after a skipped page lists everything again');
    assert.equal(s.items, 13);
    assert.equal(s.written, 5, 'PR #3, its review and review comment, issue #4 and its comment');
  } finally {
    await api.close();
  }
});

test('ingest github --from-dir: saved answers give the same records; a page that is not JSON is skipped', async () => {
  const gh = githubData(['a'.repeat(40), 'b'.repeat(40)]);
  const dir = tmpdir('trk-ghdir');
  saveGitHub(gh, dir);
  const store = path.join(tmpdir('trk-ghdir-store'), 'st');
  let s = await json(['ingest', 'github', 'acme/shop', '--from-dir', dir, '--store', store]);
  assert.equal(s.items, 13);
  assert.equal(s.malformed, 2);
  assert.equal(s.requests, 0);
  const q = await json(['search', 'retry backoff', '--in', 'prs', '--store', store]);
  assert.equal(q.results.find((x) => x.kind === 'pr').number, 3);
  s = await json(['ingest', 'github', 'acme/shop', '--from-dir', dir, '--store', store]);
  assert.equal(s.written, 0, 'idempotent');
  // a page file cut short: reported with its file and line, the others read
  fs.writeFileSync(path.join(dir, 'issues.2.json'), '[{"number": 4, "title": ');
  s = await json(['ingest', 'github', 'acme/shop', '--from-dir', dir, '--store', store, '--full']);
  assert.match(s.stderr, /skipped .*issues\.2\.json:1: the page is not JSON/);
  assert.equal(s.removal_skipped, true);
  assert.ok(s.items > 0 && s.items < 13);
});

// ==== Jira ====

const adf = (...paras) => ({ type: 'doc', version: 1, content: paras });
const p = (...inline) => ({ type: 'paragraph', content: inline });
const t = (text) => ({ type: 'text', text });

function jiraData() {
  const jira = new FakeJira({ user: 'dana@example.org', token: 'jira-SECRET-456' });
  jira.addIssue({ key: 'PROJ-1', summary: 'Login page times out', description: adf(p(t('The login request hangs for 30 seconds.')),
    { type: 'bulletList', content: [{ type: 'listItem', content: [p(t('flaky login on Safari'))] },
      { type: 'listItem', content: [p(t('only behind the proxy'))] }] }),
  status: 'In Progress', category: 'indeterminate', priority: 'High', labels: ['login'], components: ['web'],
  created: '2024-01-02T09:00:00.000+0000', updated: '2024-01-04T09:00:00.000+0000',
  comments: [{ who: 'Eve', body: adf(p(t('Reproduced with '), { type: 'mention', attrs: { id: 'x', text: '@Frank' } })), at: '2024-01-03T09:00:00.000+0000' }],
  custom: { customfield_10020: adf(p(t('Login completes within two seconds'))), customfield_10030: { value: 'Identity' } } });
  jira.addIssue({ key: 'PROJ-2', summary: 'Export to CSV drops unicode', description: adf(p(t('Names with accents become question marks.'))),
    status: 'Done', category: 'done', type: 'Bug', labels: ['export'], created: '2024-01-05T09:00:00.000+0000',
    updated: '2024-01-09T09:00:00.000+0000', resolved: '2024-01-09T09:00:00.000+0000',
    comments: [1, 2, 3, 4].map((i) => ({ who: i % 2 ? 'Eve' : 'Frank', body: adf(p(t(`comment ${i} about the encoding of the csv writer`))), at: `2024-01-0${5 + i}T10:00:00.000+0000` })) });
  jira.addIssue({ key: 'PROJ-3', summary: 'Nightly backup job fails', description: adf(p(t('The cron job cannot reach the bucket.'))),
    type: 'Incident', priority: 'Highest', created: '2024-01-06T09:00:00.000+0000' });
  jira.addIssue({ key: 'PROJ-4', summary: 'Upgrade the logging library', description: adf(p(t('Move to the structured logger.'))),
    type: 'Task', created: '2024-01-07T09:00:00.000+0000' });
  jira.issues.push({ id: '99', self: 'x', fields: { summary: 'an issue without a key', updated: '2024-01-07T09:00:00.000+0000' }, all: [] });
  return jira;
}

test('ingest jira: basic auth, startAt paging, ADF, more comments, 5xx, 429, malformed, incremental, JQL change, full sync', async () => {
  const jira = jiraData();
  const api = await startFakeApi(jira);
  const work = tmpdir('trk-jira');
  const env = { JIRA_TOKEN: 'jira-SECRET-456' };
  const base = ['ingest', 'jira', '--url', api.url, '--jql', 'project = PROJ ORDER BY priority DESC', '--user', 'dana@example.org',
    '--token-env', 'JIRA_TOKEN', '--api-version', '3', '--per-page', '2', '--store', path.join(work, 'st')];
  try {
    const f500 = api.fault({ path: /\/rest\/api\/3\/search\?.*startAt=2&/, status: 500, body: { errorMessages: ['Internal server error'] } });
    const f429 = api.fault({ path: /\/issue\/PROJ-2\/comment/, status: 429, headers: { 'Retry-After': '1' }, body: { errorMessages: ['Rate limit exceeded.'] } });
    let s = await json(base, { env });
    assert.equal(f500.hits, 1);
    assert.equal(f429.hits, 1);
    assert.equal(s.ok, true);
    assert.equal(s.source, 'jira:127.0.0.1');
    assert.equal(s.items, 4 + 5, JSON.stringify(s)); // issues and their comments (2 of PROJ-2's paged after the search)
    assert.equal(s.malformed, 1);
    assert.match(s.stderr, /skipped http:\/\/127\.0\.0\.1:\d+\/rest\/api\/3\/search\?\S*startAt=4\S* item 0: an issue needs a string 'key'/);
    assert.ok(s.retries >= 1 && s.rate_waits >= 1);
    assert.ok(!s.stderr.includes('SECRET'));
    assert.match(jira.jqls[0], /^\(project = PROJ\) ORDER BY created ASC, key ASC$/);
    // a site without the enhanced search (404): startAt paging after one probe
    assert.equal(api.log[0].path, '/rest/api/3/search/jql');
    assert.equal(api.log.filter((r) => r.path === '/rest/api/3/search/jql').length, 1);
    const auth = `Basic ${Buffer.from('dana@example.org:jira-SECRET-456').toString('base64')}`;
    assert.ok(api.log.every((r) => r.authorization === auth));

    const store = ['--store', path.join(work, 'st')];
    let q = await json(['search', 'flaky login safari', '--in', 'issues', ...store]);
    const one = q.results.find((x) => x.id === 'PROJ-1');
    assert.ok(one, JSON.stringify(q.results.map((x) => x.id)));
    assert.equal(one.key, 'PROJ-1');
    assert.equal(one.state, 'in progress');
    assert.equal(one.url, `${api.url}/browse/PROJ-1`);
    assert.match(one.record.body, /The login request hangs for 30 seconds\.\n- flaky login on Safari\n- only behind the proxy/);
    assert.deepEqual(one.record.custom, ['Acceptance criteria: Login completes within two seconds', 'Team: Identity']);
    assert.equal(one.record.priority, 'High');
    assert.deepEqual(one.record.components, ['web']);
    q = await json(['search', 'csv writer encoding', '--in', 'issues', '--state', 'done', ...store]);
    assert.equal(q.results[0].id, 'PROJ-2');
    assert.equal(q.results[0].record.n_comments, 4);
    assert.equal(q.results[0].record.comments.length, 4);
    q = await json(['search', 'reproduced', '--in', 'issues', '--author', 'Eve', ...store]);
    assert.ok(q.results.some((x) => x.kind === 'comment' && /Reproduced with @Frank/.test(x.record.body)));

    // incremental: the JQL asks for what changed (a day of overlap), nothing new is written
    s = await json(base, { env });
    assert.equal(s.full, false);
    assert.equal(s.written, 0);
    assert.match(jira.jqls.at(-1), /^\(project = PROJ\) AND updated >= "2024\/01\/0[89] \d\d:\d\d" ORDER BY created ASC, key ASC$/);
    // the keyless issue was read again: no id sweep, nothing removed
    assert.equal(s.sweep, false);
    assert.equal(s.removal_skipped, true);
    assert.equal(s.removed, 0);

    // the keyless issue fixed, PROJ-3 deleted, PROJ-2 moved to another project (the JQL no longer matches it)
    jira.issues = jira.issues.filter((x) => x.key && x.key !== 'PROJ-3' && x.key !== 'PROJ-2');
    // a sweep page that is cut removes nothing
    const cutSweep = api.fault({ path: /\/search\?.*fields=key/, raw: '{"issues": [{"key": "PRO', times: 100 });
    s = await json([...base, '--retries', '0'], { env });
    assert.equal(cutSweep.hits, 1);
    api.clearFaults();
    assert.equal(s.full, false);
    assert.equal(s.sweep, true);
    // the sweep: the JQL without the date, keys only, 100 a page
    assert.match(api.log.at(-1).query, /^\?jql=%28project%20%3D%20PROJ%29%20ORDER%20BY%20created%20ASC%2C%20key%20ASC&startAt=0&maxResults=100&fields=key$/);
    assert.equal(s.malformed, 1);
    assert.equal(s.removal_skipped, true);
    assert.equal(s.removed, 0);
    q = await json(['search', 'csv writer encoding', '--in', 'issues', ...store]);
    assert.ok(q.results.some((x) => x.key === 'PROJ-2'));
    // the next run sweeps: both issues and PROJ-2's 4 comments are removed, from search too
    s = await json(base, { env });
    assert.equal(s.full, false);
    assert.equal(s.removal_skipped, false, JSON.stringify(s));
    assert.equal(s.removed, 6, JSON.stringify(s));
    assert.equal(s.swept, 6);
    assert.equal(jira.jqls.at(-1), '(project = PROJ) ORDER BY created ASC, key ASC');
    q = await json(['search', 'csv writer encoding', '--in', 'issues', ...store]);
    assert.ok(!q.results.some((x) => x.key === 'PROJ-2' || x.id === 'PROJ-2'), JSON.stringify(q.results.map((x) => x.id)));
    q = await json(['search', 'nightly backup job fails', '--in', 'issues', ...store]);
    assert.ok(!q.results.some((x) => x.id === 'PROJ-3'), JSON.stringify(q.results.map((x) => x.id)));

    // another JQL is another result: a full sync, which removes what it no longer matches
    jira.issues = jira.issues.filter((x) => x.key && x.key !== 'PROJ-4');
    s = await json([...base.slice(0, 5), 'project = PROJ AND type != Epic', ...base.slice(6)], { env });
    assert.equal(s.full, true);
    assert.equal(s.removed, 1);
    assert.equal(s.malformed, 0);

    // bad usage
    let r = await run(['ingest', 'jira', '--url', api.url, ...store]);
    assert.equal(r.code, 2);
    assert.match(r.err, /needs --jql/);
    r = await run(['ingest', 'jira', '--url', api.url, '--jql', '', '--user', 'x', ...store]);
    assert.equal(r.code, 1);
    assert.match(r.err, /user x needs a token/);
  } finally {
    await api.close();
  }
});

test('ingest jira, API 3 on Jira Cloud: nextPageToken paging of /search/jql, 5xx retried, a cut token page ends the listing', async () => {
  const jira = jiraData();
  jira.tokenPaging = true; // /rest/api/3/search answers 410 Gone, as on Jira Cloud now
  const api = await startFakeApi(jira);
  const work = tmpdir('trk-jira-token');
  const env = { JIRA_TOKEN: 'jira-SECRET-456' };
  const base = ['ingest', 'jira', '--url', api.url, '--jql', 'project = PROJ', '--user', 'dana@example.org',
    '--token-env', 'JIRA_TOKEN', '--api-version', '3', '--per-page', '2', '--retries', '2', '--store', path.join(work, 'st')];
  try {
    const f500 = api.fault({ path: /\/rest\/api\/3\/search\/jql\?.*nextPageToken=/, status: 500, body: { errorMessages: ['Internal server error'] } });
    let s = await json(base, { env });
    assert.equal(f500.hits, 1);
    assert.equal(s.full, true);
    assert.equal(s.items, 4 + 5, JSON.stringify(s)); // the same issues and comments as startAt paging reads
    assert.equal(s.malformed, 1);                     // the issue without a key
    assert.ok(s.retries >= 1);
    // three pages of two: the first without a token, then the tokens the answers gave, in order
    assert.equal(jira.tokens[0], null, JSON.stringify(jira.tokens));
    assert.deepEqual(jira.tokens.slice(1).map((t) => Buffer.from(t, 'base64url').toString()), ['at:2', 'at:4']);
    assert.equal(api.log.filter((r) => r.path === '/rest/api/3/search/jql').length, 4, 'the page that failed once is asked twice');
    assert.ok(api.log.every((r) => r.path !== '/rest/api/3/search'), 'the removed search is never asked');
    assert.ok(api.log.some((r) => /maxResults=2&fields=\*all&expand=names/.test(r.query)));
    let q = await json(['search', 'csv writer encoding', '--in', 'issues', '--state', 'done', '--store', path.join(work, 'st')]);
    assert.equal(q.results[0].id, 'PROJ-2');
    assert.equal(q.results[0].record.comments.length, 4);

    // incremental: the same paging with the JQL of what changed; nothing new; then the id sweep
    jira.issues = jira.issues.filter((x) => x.key);
    s = await json(base, { env });
    assert.equal(s.sweep, true);
    assert.equal(s.removed, 0);
    assert.equal(s.full, false);
    assert.equal(s.written, 0);
    assert.match(jira.jqls.at(-2), /^\(project = PROJ\) AND updated >= "/);
    assert.equal(jira.jqls.at(-1), '(project = PROJ) ORDER BY created ASC, key ASC', 'the id sweep');
    assert.match(api.log.at(-1).query, /^\?jql=\S+&maxResults=100&fields=key$/);
    assert.equal(api.log.at(-1).path, '/rest/api/3/search/jql');

    // a token page that stays cut: the listing ends there, reported; the next run is a full sync
    jira.tokens = [];
    const cut = api.fault({ path: /\/search\/jql\?.*nextPageToken=/, raw: '{"issues": [{"key": "PRO', times: 3 });
    s = await json(base, { env });
    assert.equal(cut.hits, 3);
    assert.equal(jira.tokens.length, 1, 'no page after the cut one');
    assert.match(s.stderr, /skipped http:\/\/127\.0\.0\.1:\d+\/rest\/api\/3\/search\/jql\?\S*nextPageToken=\S*: .*not JSON/);
    s = await json(base, { env });
    assert.equal(s.full, true, 'after a skipped page the next run is full');
    assert.equal(s.removed, 0);
  } finally {
    await api.close();
  }
});

test('ingest jira --from-dir: search pages and the comments beyond them', async () => {
  const jira = jiraData();
  const dir = tmpdir('trk-jiradir');
  const issues = jira.issues.map((x) => ({ id: x.id, key: x.key, self: x.self,
    fields: { ...x.fields, comment: { comments: x.all.slice(0, 2), total: x.all.length, maxResults: 2, startAt: 0 } } }));
  fs.writeFileSync(path.join(dir, 'search.1.json'), JSON.stringify({ startAt: 0, maxResults: 3, total: 5, issues: issues.slice(0, 3), names: jira.names }));
  fs.writeFileSync(path.join(dir, 'search.2.json'), JSON.stringify({ startAt: 3, maxResults: 3, total: 5, issues: issues.slice(3), names: jira.names }));
  fs.mkdirSync(path.join(dir, 'issue', 'PROJ-2'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'issue', 'PROJ-2', 'comment.json'), JSON.stringify({ startAt: 2, maxResults: 50, total: 4, comments: jira.issues[1].all.slice(2) }));
  const store = path.join(tmpdir('trk-jiradir-st'), 'st');
  const s = await json(['ingest', 'jira', '--from-dir', dir, '--jql', '', '--url', 'https://example.atlassian.net', '--store', store]);
  assert.equal(s.items, 9);
  assert.equal(s.malformed, 1);
  assert.equal(s.source, 'jira:example.atlassian.net');
  const q = await json(['search', 'backup bucket cron', '--in', 'issues', '--store', store]);
  assert.equal(q.results[0].url, 'https://example.atlassian.net/browse/PROJ-3');
});

// ==== JSON Lines and tenants ====

test('ingest jsonl from stdin: mapping, malformed lines by line number, idempotent, --full, tenants apart', async () => {
  const work = tmpdir('trk-jsonl');
  const store = ['--store', path.join(work, 'st')];
  const lines = [
    { key: 'T-1', summary: 'Payment webhook retried twice', text: 'Stripe sends the webhook again when we answer slowly',
      created: '2024-05-01T08:00:00Z', tags: ['payments'], state: 'open', comments: [{ body: 'idempotency keys would fix it' }] },
    { key: 'T-2', summary: 'Search results miss accented names', text: 'Unicode normalisation is missing in the indexer',
      created: 1714464000, tags: ['search'], state: 'closed' },
    'not json at all',
    { summary: 'no key here' },
    { key: 'T-3', summary: 'bad date', created: 'last tuesday' },
    { key: 'T-4', summary: 'Upgrade the build image', text: 'Move CI to the new base image', created: '2024-05-03', tags: [] },
  ].map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('\n') + '\n';
  const map = ['--map', 'id=key,title=summary,body=text,date=created,labels=tags,state=state', '--map', 'comments=comments[].body'];
  let s = await json(['ingest', 'jsonl', '-', ...map, '--kind', 'issue', '--source', 'tickets', '--tenant', 'a', ...store], { input: lines });
  assert.equal(s.items, 3);
  assert.equal(s.malformed, 3);
  assert.equal(s.source, 'tickets');
  assert.match(s.stderr, /skipped <stdin>:3: not JSON/);
  assert.match(s.stderr, /skipped <stdin>:4: no id/);
  assert.match(s.stderr, /skipped <stdin>:5: field 'date': 'last tuesday' is not a date/);
  s = await json(['ingest', 'jsonl', '-', ...map, '--kind', 'issue', '--source', 'tickets', '--tenant', 'a', ...store], { input: lines });
  assert.equal(s.written, 0);
  assert.equal(s.unchanged, 3);

  // tenant b gets other records; neither sees the other's, the global namespace neither
  const other = JSON.stringify({ key: 'B-1', summary: 'Payment page layout broken', text: 'The pay button overlaps', created: '2024-05-02' }) + '\n';
  s = await json(['ingest', 'jsonl', '-', ...map, '--kind', 'issue', '--tenant', 'b', ...store], { input: other });
  assert.equal(s.items, 1);
  let q = await json(['search', 'payment', '--in', 'issues', '--tenant', 'a', ...store]);
  assert.ok(q.results.length >= 1 && q.results.every((x) => x.id.startsWith('T-') && x.record.tenant === 'a'));
  q = await json(['search', 'payment', '--in', 'issues', '--tenant', 'b', ...store]);
  assert.deepEqual(q.results.map((x) => x.id), ['B-1']);
  q = await json(['search', 'payment', '--in', 'all', ...store]);
  assert.equal(q.issues.results.length, 0);
  q = await json(['search', 'webhook', '--in', 'issues', '--tenant', 'a', '--since', '2024-05-01', '--until', '2024-05-01', ...store]);
  assert.deepEqual(q.results.map((x) => x.id), ['T-1']);
  assert.deepEqual(q.results[0].record.comments, ['idempotency keys would fix it']);
  assert.equal(q.results[0].record.date, '2024-05-01T08:00:00Z');

  // --full with the file fixed and T-4 gone: T-4 removed
  const fixed = lines.split('\n').filter((l) => l.startsWith('{"key":"T-1') || l.startsWith('{"key":"T-2')).join('\n');
  s = await json(['ingest', 'jsonl', '-', ...map, '--kind', 'issue', '--source', 'tickets', '--tenant', 'a', '--full', ...store], { input: fixed });
  assert.equal(s.removed, 1, JSON.stringify(s)); // T-4 (T-3 was never stored)
});

test('ingest jsonl: a mapping file, identity mapping, bad mappings refused', async () => {
  const work = tmpdir('trk-jsonl2');
  const store = ['--store', path.join(work, 'st')];
  const file = path.join(work, 'docs.jsonl');
  fs.writeFileSync(file, `${JSON.stringify({ id: 7, kind: 'doc', title: 'Runbook: restart the queue', text: 'Drain, then restart the consumers', updated_at: '2024-02-01T00:00:00Z', Extra: 1 })}\n`);
  let s = await json(['ingest', 'jsonl', file, ...store]);
  assert.equal(s.items, 1);
  assert.equal(s.source, 'jsonl:docs.jsonl');
  const q = await json(['search', 'restart the queue consumers', '--in', 'docs', ...store]);
  assert.equal(q.results[0].id, '7');
  assert.equal(q.results[0].record.updated_at, '2024-02-01T00:00:00Z');
  assert.equal(q.results[0].record.Extra, undefined);
  const mapFile = path.join(work, 'map.json');
  fs.writeFileSync(mapFile, JSON.stringify({ id: 'id', title: 'title', 'links.commit': 'shas' }));
  s = await json(['ingest', 'jsonl', file, '--map-file', mapFile, '--source', 'm', ...store]);
  assert.equal(s.items, 1);
  let r = await run(['ingest', 'jsonl', file, '--map', 'title=summary', ...store]);
  assert.equal(r.code, 1);
  assert.match(r.err, /the mapping has no id/);
  r = await run(['ingest', 'jsonl', file, '--map', 'id=key,Title=summary', ...store]);
  assert.equal(r.code, 1);
  assert.match(r.err, /mapping Title=summary: field name 'Title' must be/);
  r = await run(['ingest', 'jsonl', file, '--map', 'id=key,tenant=x', ...store]);
  assert.match(r.err, /field name 'tenant' is reserved/);
  r = await run(['ingest', 'jsonl', file, '--map', 'id', ...store]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--map entries are FIELD=PATH, got 'id'/);
});
