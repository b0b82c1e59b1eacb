// Tenant isolation across every endpoint of a real `semcode serve`: two
// tenants (a and b) and the global namespace, each with its own
// collections, points, alias and development records (ingested with
// `semcode ingest jsonl --tenant` into the index of a fixture repository the
// server serves with --repo). Every key then tries every endpoint on the
// other namespaces' data — by the names the owner uses, by store names
// (".a.docs"), through aliases, lookup_from, a `tenant` field, record
// searches, metrics and telemetry — and each such request must be refused
// (401/403/404/422) or answer nothing of the other's: no marker of the
// other's data, no name of the other's collections. Writes across the
// boundary must leave the owner's data as it was. The number of
// cross-tenant requests tried is printed (and written to
// $SEMCODE_TENANT_COUNT_FILE when set: bench/tenant_isolation.sh).
// Also: /code/search with "in" answers what `semcode search --in ... --json`
// prints for the same tenant, with its filters.
// Run: node --test tests/e2e/tenants.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');
const fixture = path.join(top, 'tests/fixtures/repo');

// keys: per namespace an admin and a read key ('g' = the global namespace)
const KEY = {
  a: { admin: 'tenant-a-admin-key-0123456789', read: 'tenant-a-read-key-01234567890' },
  b: { admin: 'tenant-b-admin-key-0123456789', read: 'tenant-b-read-key-01234567890' },
  g: { admin: 'global-admin-key-0123456789ab', read: 'global-read-key-0123456789abc' },
};
const NS = ['a', 'b', 'g'];
const MARK = { a: 'SECRETAAA', b: 'SECRETBBB', g: 'SECRETGGG' }; // in every payload and record of the namespace
const ONLY = { a: 'aonly', b: 'bonly', g: 'gonly' };             // a collection name only that namespace has

let tmp, repo, server, base;
const cli = {};
let tried = 0; // cross-tenant requests tried

function runCli(args, input) {
  const r = spawnSync(bin, args, { cwd: repo, encoding: 'utf8', timeout: 180000, input });
  assert.equal(r.status, 0, `semcode ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function call(method, p, body, key) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers['api-key'] = key;
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* text answers: metrics */ }
  return { status: r.status, json, text };
}

function records(ns) {
  const m = MARK[ns];
  const day = { a: '01', b: '02', g: '03' }[ns];
  return [
    { id: `${ns}-1`, kind: 'issue', title: `Payment webhook retried twice ${m}`, body: `The payment provider resends the webhook ${m}`,
      date: `2024-05-${day}T08:00:00Z`, labels: ['payments'], state: 'open', author: `alice-${ns}`, url: `https://tracker.example/${ns}/1`, number: 1 },
    { id: `${ns}-2`, kind: 'issue', title: `Payment refunds fail for old cards ${m}`, body: `Refunds of payments made with expired cards error out ${m}`,
      date: `2024-06-${day}T08:00:00Z`, labels: ['payments', 'bug'], state: 'closed', author: `bob-${ns}`, url: `https://tracker.example/${ns}/2`, number: 2 },
    { id: `${ns}-pr-3`, kind: 'pr', title: `Retry payment webhooks with backoff ${m}`, body: `Adds exponential backoff to webhook delivery ${m}`,
      date: `2024-07-${day}T08:00:00Z`, labels: ['payments'], state: 'merged', author: `alice-${ns}`, url: `https://tracker.example/${ns}/pull/3`, number: 3 },
    { id: `${ns}-doc`, kind: 'doc', title: `Payments runbook ${m}`, body: `Restart the payment consumers ${m}`, date: `2024-04-${day}T00:00:00Z` },
  ].map((x) => JSON.stringify(x)).join('\n') + '\n';
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-tenants-'));
  repo = path.join(tmp, 'repo');
  fs.cpSync(fixture, repo, { recursive: true });
  runCli(['index', repo, '--quiet']);
  for (const ns of NS)
    runCli(['ingest', 'jsonl', '-', '--source', 'tickets', '--quiet', ...(ns === 'g' ? [] : ['--tenant', ns])], records(ns));
  // the CLI's answers, before the server holds the index
  cli.issuesA = JSON.parse(runCli(['search', 'payment webhook', '--in', 'issues', '--tenant', 'a', '--json']));
  cli.prsB = JSON.parse(runCli(['search', 'webhook backoff', '--in', 'prs', '--tenant', 'b', '--json']));
  cli.filteredA = JSON.parse(runCli(['search', 'payment', '--in', 'issues', '--tenant', 'a', '--state', 'closed',
    '--label', 'bug', '--author', 'bob', '--since', '2024-06-01', '--until', '2024-06-30', '--json']));
  cli.allG = JSON.parse(runCli(['search', 'payment', '--in', 'all', '--json', '-n', '3']));
  cli.allA = JSON.parse(runCli(['search', 'payment', '--in', 'all', '--tenant', 'a', '--json', '-n', '3']));
  const keys = [];
  for (const ns of NS) for (const role of ['admin', 'read'])
    keys.push({ key: KEY[ns][role], role, ...(ns === 'g' ? {} : { tenant: ns }) });
  fs.writeFileSync(path.join(tmp, 'keys.json'), JSON.stringify({ api_keys: keys }));
  server = spawn(bin, ['serve', '--port', '0', '--port-file', path.join(tmp, 'port'), '--store', path.join(tmp, 'store'),
    '--repo', repo, '--config', path.join(tmp, 'keys.json'), '--log', path.join(tmp, 'access.log')],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  server.stderr.on('data', (d) => { err += d; });
  for (let i = 0; i < 200 && !fs.existsSync(path.join(tmp, 'port')); i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 50));
  const port = fs.readFileSync(path.join(tmp, 'port'), 'utf8').trim();
  assert.ok(port, `server did not start: ${err}`);
  base = `http://127.0.0.1:${port}`;
  // per namespace: collections docs (shared name) and <ns>only, two points, an alias, a payload index
  for (const ns of NS) {
    const k = KEY[ns].admin;
    for (const c of ['docs', ONLY[ns]]) {
      let r = await call('PUT', `/collections/${c}`, { vectors: { size: 2, distance: 'Dot' } }, k);
      assert.equal(r.status, 200, r.text);
      r = await call('PUT', `/collections/${c}/points?wait=true`, { points: [
        { id: 1, vector: [1, 0], payload: { secret: MARK[ns], n: 1 } },
        { id: 2, vector: [0, 1], payload: { secret: MARK[ns], n: 2 } }] }, k);
      assert.equal(r.status, 200, r.text);
    }
    let r = await call('POST', '/collections/aliases', { actions: [{ create_alias: { collection_name: ONLY[ns], alias_name: `${ns}alias` } }] }, k);
    assert.equal(r.status, 200, r.text);
    r = await call('PUT', `/collections/${ONLY[ns]}/index`, { field_name: 'n', field_schema: 'integer' }, k);
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => {
  if (server) {
    const done = new Promise((r) => server.on('exit', (code) => r(code)));
    server.kill('SIGTERM');
    assert.equal(await done, 0);
  }
  if (process.env.SEMCODE_TENANT_COUNT_FILE) fs.writeFileSync(process.env.SEMCODE_TENANT_COUNT_FILE, `${tried}\n`);
  console.log(`tenant isolation: ${tried} cross-tenant requests tried, all refused or empty`);
  fs.rmSync(tmp, { recursive: true, force: true });
});

// Every request a key of namespace `me` can make on the data of namespace
// `other` (c: other's collection name only it has; its alias; its store names).
function probes(me, role, other) {
  const c = ONLY[other], al = `${other}alias`;
  const store = other === 'g' ? [] : [`.${other}.docs`, `.${other}.${c}`, `.${other}.records`, `%2E${other}%2Edocs`];
  const q = { query: [1, 0], limit: 5, with_payload: true };
  const list = [];
  for (const n of [c, al, ...store]) {
    const P = `/collections/${n}`;
    list.push(
      ['GET', P], ['GET', `${P}/exists`], ['GET', `${P}/aliases`], ['PATCH', P, {}], ['DELETE', P],
      ['PUT', `${P}/index`, { field_name: 'secret', field_schema: 'keyword' }], ['DELETE', `${P}/index/n`],
      ['GET', `${P}/points/1`], ['POST', `${P}/points`, { ids: [1, 2], with_payload: true }],
      ['POST', `${P}/points/scroll`, { with_payload: true }], ['POST', `${P}/points/count`, {}],
      ['POST', `${P}/points/count`, { filter: { must: [{ key: 'secret', match: { value: MARK[other] } }] } }],
      ['POST', `${P}/points/query`, q], ['POST', `${P}/points/query`, { query: 1, limit: 5, with_payload: true }],
      ['POST', `${P}/points/query`, { query: { order_by: 'n' }, with_payload: true }],
      ['POST', `${P}/points/query/batch`, { searches: [q] }],
      ['POST', `${P}/points/search`, { vector: [1, 0], limit: 5, with_payload: true }],
      ['POST', `${P}/points/search/batch`, { searches: [{ vector: [1, 0], limit: 5, with_payload: true }] }],
      ['POST', `${P}/points/recommend`, { positive: [1], limit: 5, with_payload: true }],
      ['POST', `${P}/points/search/matrix/pairs`, { sample: 2, limit: 1 }],
      ['POST', `${P}/points/search/matrix/offsets`, { sample: 2, limit: 1 }],
      ['PUT', `${P}/points?wait=true`, { points: [{ id: 9, vector: [1, 1], payload: { secret: 'intruder' } }] }],
      ['POST', `${P}/points/delete?wait=true`, { points: [1] }],
      ['POST', `${P}/points/payload`, { payload: { x: 'intruder' }, points: [1] }],
      ['PUT', `${P}/points/payload`, { payload: { x: 'intruder' }, points: [1] }],
      ['POST', `${P}/points/payload/delete`, { keys: ['secret'], points: [1] }],
      ['POST', `${P}/points/payload/clear`, { points: [1] }],
      ['PUT', `${P}/points/vectors`, { points: [{ id: 1, vector: [0, 0] }] }],
      ['POST', `${P}/points/vectors/delete`, { points: [1], vector: [''] }],
      ['POST', `${P}/points/batch`, { operations: [{ delete: { points: [1] } }] }],
    );
  }
  // names of the other's data inside bodies of the caller's own collection
  list.push(
    ['POST', '/collections/docs/points/query', { query: 1, lookup_from: { collection: c }, limit: 5, with_payload: true }],
    ['POST', '/collections/docs/points/query', { query: 1, lookup_from: { collection: al }, limit: 5, with_payload: true }],
    ['POST', '/collections/docs/points/recommend', { positive: [1], lookup_from: { collection: c }, limit: 5 }],
    ['POST', '/collections/aliases', { actions: [{ create_alias: { collection_name: c, alias_name: 'stolen' } }] }],
    ['POST', '/collections/aliases', { actions: [{ delete_alias: { alias_name: al } }] }],
    ['POST', '/collections/aliases', { actions: [{ rename_alias: { old_alias_name: al, new_alias_name: 'stolen2' } }] }],
  );
  if (other !== 'g' && store.length)
    list.push(['POST', '/collections/docs/points/query', { query: 1, lookup_from: { collection: store[0] }, limit: 5 }]);
  // lists and server-wide views: must answer only the caller's own
  list.push(['GET', '/collections'], ['GET', '/aliases'], ['GET', '/telemetry?details_level=2'], ['GET', '/issues']);
  // the operator (a global admin key) sees every tenant in /metrics by design: probed for the others only
  if (!(me === 'g' && role === 'admin')) list.push(['GET', '/metrics'], ['GET', '/metrics?per_collection=true']);
  // records and code: the other's tenant named, or the caller's own searched
  const t = other === 'g' ? undefined : other;
  for (const inn of ['issues', 'prs', 'docs', 'commits', 'all']) {
    list.push(['POST', '/code/search', { query: `payment webhook ${MARK[other]}`, in: inn, mode: 'keyword' }]);
    if (t) list.push(['POST', '/code/search', { query: 'payment webhook', in: inn, tenant: t }]);
  }
  if (me !== 'g') {
    list.push(['POST', '/code/search', { query: 'send an http request' }],
      ['POST', '/code/similar', { target: 'pkg/text_utils.py:3' }], ['POST', '/code/duplicates', {}]);
  }
  return list;
}

// The strings a request itself carries (decoded path segments, every string
// in its body): an answer may echo them (an error naming the collection
// asked for, a search's "query") without leaking anything.
function sent(p, body) {
  const out = p.split(/[/?]/).filter(Boolean).map((x) => decodeURIComponent(x));
  const walk = (v) => {
    if (typeof v === 'string') out.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(body);
  return out.sort((x, y) => y.length - x.length); // longest first: a value containing another goes whole
}

// The names that tell the other namespace's data apart in an answer, once
// the request's own strings are taken out of it.
function leaks(answer, me, other, echo) {
  let text = answer;
  for (const s of echo) if (s.length > 2) text = text.split(JSON.stringify(s).slice(1, -1)).join('');
  const bad = [MARK[other], ONLY[other], `${other}alias`];
  if (other !== 'g') bad.push(`.${other}.`, `tenant="${other}"`, `alice-${other}`, `tracker.example/${other}/`);
  return bad.filter((s) => text.includes(s));
}

test('every cross-tenant request is refused or answers nothing of the other namespace', async () => {
  const before = {};
  for (const ns of NS) before[ns] = (await call('POST', `/collections/${ONLY[ns]}/points/scroll`, { with_payload: true, with_vector: true }, KEY[ns].read)).text;
  const failures = [];
  for (const me of NS) for (const other of NS) {
    if (me === other) continue;
    for (const role of ['admin', 'read']) {
      for (const [m, p, body] of probes(me, role, other)) {
        const r = await call(m, p, body, KEY[me][role]);
        tried++;
        const leaked = leaks(r.text, me, other, sent(p, body));
        const refused = [401, 403, 404, 422].includes(r.status);
        // a 200 must carry nothing of the other's; a 400 must name the caller's mistake, not the other's data
        if (leaked.length || !(refused || r.status === 200 || r.status === 400))
          failures.push(`${me}/${role} -> ${other}: ${m} ${p} ${JSON.stringify(body ?? '')}: ${r.status} ${leaked} ${r.text.slice(0, 200)}`);
      }
    }
  }
  assert.deepEqual(failures, []);
  // nothing the others wrote reached the owner's data
  for (const ns of NS) {
    const now = (await call('POST', `/collections/${ONLY[ns]}/points/scroll`, { with_payload: true, with_vector: true }, KEY[ns].read)).text;
    assert.equal(JSON.parse(now).result.points.length, 2);
    assert.deepEqual(JSON.parse(now).result.points, JSON.parse(before[ns]).result.points, ns);
    const al = await call('GET', '/aliases', undefined, KEY[ns].read);
    assert.deepEqual(al.json.result.aliases, [{ alias_name: `${ns}alias`, collection_name: ONLY[ns] }]);
    const cs = await call('GET', '/collections', undefined, KEY[ns].read);
    assert.deepEqual(cs.json.result.collections.map((x) => x.name).sort(), ['docs', ONLY[ns]].sort());
  }
  assert.ok(tried >= 500, `only ${tried} requests`);
});

test('refusals: a tenant key naming another tenant, the global namespace naming a tenant, code for tenants', async () => {
  let r = await call('POST', '/code/search', { query: 'payment', in: 'issues', tenant: 'b' }, KEY.a.read);
  assert.equal(r.status, 403, r.text);
  assert.match(r.json.status.error, /scoped to its own tenant/);
  r = await call('POST', '/code/search', { query: 'payment', in: 'issues', tenant: 'a' }, KEY.g.admin);
  assert.equal(r.status, 403, r.text);
  r = await call('POST', '/code/search', { query: 'send an http request' }, KEY.a.admin);
  assert.equal(r.status, 403, r.text);
  assert.equal((await call('GET', '/collections/.a.docs', undefined, KEY.b.admin)).status, 404);
  assert.equal((await call('GET', '/collections/.a.docs', undefined, KEY.g.admin)).status, 404);
  // naming its own tenant is the same as naming none
  r = await call('POST', '/code/search', { query: 'payment webhook', in: 'issues', tenant: 'a' }, KEY.a.read);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.result.results.length > 0);
});

test('metrics and telemetry: a tenant sees its own rows and collections, the operator all', async () => {
  const a = await call('GET', '/metrics', undefined, KEY.a.admin);
  assert.equal(a.status, 200);
  assert.match(a.text, /semcode_points\{collection="aonly"\} 2/);
  assert.match(a.text, /semcode_http_requests_total\{endpoint="points_upsert",status="200",tenant="a"\} \d+/);
  assert.doesNotMatch(a.text, /tenant="b"|bonly|gonly|\.a\.|semcode_embeddings_total/);
  assert.match(a.text, /semcode_collections 2\n/);
  // per collection (Qdrant's): the tenant's own requests, under its names; the other names it tried
  // above (bonly, gonly: 404 in its namespace) are not shown as if they were its collections
  const apc = await call('GET', '/metrics?per_collection=true', undefined, KEY.a.admin);
  assert.equal(apc.status, 200);
  assert.match(apc.text, /^rest_responses_total\{method="PUT",endpoint="\/collections\/\{collection_name\}\/points",status="200",collection="aonly",tenant="a"\} \d+$/m);
  assert.doesNotMatch(apc.text, /tenant="b"|bonly|gonly|\.a\.|semcode_embeddings_total|tenant=""/);
  assert.ok(apc.text.split('\n').filter((l) => l.startsWith('rest_responses_total{')).every((l) => l.includes('tenant="a"')));
  assert.equal((await call('GET', '/metrics', undefined, KEY.a.read)).status, 403);
  const g = await call('GET', '/metrics', undefined, KEY.g.admin);
  assert.match(g.text, /semcode_points\{collection="\.a\.aonly"\} 2/);
  assert.match(g.text, /semcode_http_requests_total\{endpoint="points_upsert",status="200",tenant="b"\} \d+/);
  assert.match(g.text, /semcode_http_requests_total\{endpoint="points_upsert",status="200"\} \d+/);
  const gpc = await call('GET', '/metrics?per_collection=true', undefined, KEY.g.admin);
  assert.match(gpc.text, /^rest_responses_total\{method="PUT",endpoint="\/collections\/\{collection_name\}\/points",status="200",collection="bonly",tenant="b"\} \d+$/m);
  assert.match(gpc.text, /^rest_responses_total\{method="PUT",endpoint="\/collections\/\{collection_name\}\/points",status="200",collection="gonly"\} \d+$/m);
  const t = await call('GET', '/telemetry?details_level=2', undefined, KEY.b.admin);
  assert.equal(t.json.result.collections.number_of_collections, 2);
  assert.deepEqual(t.json.result.collections.collections.map((x) => x.id).sort(), ['bonly', 'docs']);
});

// took_ms differs between two runs; drop it at every level.
function untimed(o) {
  if (Array.isArray(o)) return o.map(untimed);
  if (o && typeof o === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(o)) if (k !== 'took_ms') out[k] = untimed(v);
    return out;
  }
  return o;
}

test('/code/search with "in" answers what `semcode search --in --json` prints, per tenant, with filters', async () => {
  let r = await call('POST', '/code/search', { query: 'payment webhook', in: 'issues' }, KEY.a.read);
  assert.equal(r.status, 200, r.text);
  assert.ok(cli.issuesA.results.length > 0);
  assert.deepEqual(untimed(r.json.result), untimed(cli.issuesA));
  const hit = r.json.result.results.find((x) => x.id === 'a-1');
  assert.ok(hit, JSON.stringify(r.json.result.results));
  for (const f of ['number', 'title', 'state', 'author', 'date', 'url']) assert.ok(hit[f] !== undefined, `${f} missing`);
  assert.equal(hit.url, 'https://tracker.example/a/1');
  r = await call('POST', '/code/search', { query: 'webhook backoff', in: 'prs' }, KEY.b.read);
  assert.deepEqual(untimed(r.json.result), untimed(cli.prsB));
  assert.ok(r.json.result.results.every((x) => x.record.tenant === 'b'));
  r = await call('POST', '/code/search', { query: 'payment', in: 'issues', state: 'closed', label: 'bug', author: 'bob',
    since: '2024-06-01', until: '2024-06-30' }, KEY.a.read);
  assert.deepEqual(untimed(r.json.result), untimed(cli.filteredA));
  assert.deepEqual(r.json.result.results.map((x) => x.id), ['a-2']);
  // all: the global key gets code and every section, as the CLI; a tenant its sections without code
  r = await call('POST', '/code/search', { query: 'payment', in: 'all', limit: 3 }, KEY.g.read);
  assert.deepEqual(untimed(r.json.result), untimed(cli.allG));
  assert.ok(r.json.result.code.results.length > 0);
  r = await call('POST', '/code/search', { query: 'payment', in: 'all', limit: 3 }, KEY.a.read);
  const { code, ...rest } = untimed(cli.allA);
  assert.ok(code);
  assert.deepEqual(untimed(r.json.result), rest);
  // bad combinations, as the CLI refuses them
  r = await call('POST', '/code/search', { query: 'x', in: 'tickets' }, KEY.a.read);
  assert.equal(r.status, 400);
  assert.match(r.json.status.error, /`in`: unknown variant `tickets`/);
  r = await call('POST', '/code/search', { query: 'x', author: 'bob' }, KEY.g.read);
  assert.equal(r.status, 400);
  assert.match(r.json.status.error, /apply to records/);
  r = await call('POST', '/code/search', { query: 'x', in: 'issues', lang: 'go' }, KEY.g.read);
  assert.equal(r.status, 400);
  assert.match(r.json.status.error, /apply to code/);
  r = await call('POST', '/code/search', { query: 'x', in: 'issues', since: 'last week' }, KEY.a.read);
  assert.equal(r.status, 400);
  assert.match(r.json.status.error, /since: 'last week' is not a date/);
});
