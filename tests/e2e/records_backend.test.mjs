// Development records in the Qdrant store backend (issue 20): `semcode
// ingest` with `--store qdrant://...` writes the records to the companion
// collection <collection>_records of a real `semcode serve` (Qdrant-
// compatible) on loopback, and a second, empty folder pointing at the same
// store ("machine B") reads them back with `history` and `search --in`:
// the same answers as the same commits ingested into the embedded store,
// tenant isolation, idempotent re-runs and bad input. A few seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, stop, gitIn, runSync, runJson } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');
const fixture = path.join(top, 'tests/fixtures/repo');

let tmp, srv, port, treeA, treeE, machineB;

const run = (args, cwd) => runSync(bin, args, { cwd });
const json = (args, cwd) => runJson(bin, args, { cwd });
async function api(method, p, body) {
  const r = await fetch(`${srv.url}${p}`, { method, headers: { 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, body: await r.json() };
}
const store = () => `qdrant://127.0.0.1:${port}/rq_code?batch=5`;
// what a result list says, without the scores
const ids = (rs) => rs.map((r) => `${r.kind}:${r.id}:${r.title}:${r.author}:${r.date}`);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-records-backend-'));
  srv = await serve(bin, tmp, 'qdrant', path.join(tmp, 'server-store'), null);
  port = new URL(srv.url).port;
  // one history, three authors over three days
  treeA = path.join(tmp, 'a');
  fs.cpSync(fixture, treeA, { recursive: true });
  const git = gitIn(treeA);
  git('init', '-q', '-b', 'main');
  const as = (who, ...args) => git('-c', `user.name=${who}`, '-c', `user.email=${who.toLowerCase()}@example.org`, ...args);
  as('Ann', 'add', '-A');
  as('Ann', 'commit', '-q', '-m', 'text utils: count the words of a text');
  fs.appendFileSync(path.join(treeA, 'pkg', 'text_utils.py'), '\n\ndef shout(s):\n    """Upper-case s."""\n    return s.upper()\n');
  as('Bob', 'commit', '-q', '-am', 'text utils: shout a text in upper case');
  fs.appendFileSync(path.join(treeA, 'pkg', 'text_utils.py'), '\n\ndef whisper(s):\n    """Lower-case s."""\n    return s.lower()\n');
  as('Cyd', 'commit', '-q', '-am', 'text utils: whisper, the quiet twin of shout');
  fs.appendFileSync(path.join(treeA, 'pkg', 'text_utils.py'), '\n\ndef shout_twice(s):\n    return shout(s) + shout(s)\n');
  as('Bob', 'commit', '-q', '-am', 'text utils: shout twice for emphasis');
  // the same commits (same ids) into the embedded store
  treeE = path.join(tmp, 'e');
  fs.cpSync(treeA, treeE, { recursive: true });
  machineB = path.join(tmp, 'b');
  fs.mkdirSync(machineB);
});

after(async () => {
  if (srv) await stop(srv);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('ingest git --store qdrant://: records in <collection>_records with vectors, BM25 and payload indexes; idempotent', async () => {
  json(['index', '--quiet', '--store', store(), treeA]);
  const ing = json(['ingest', 'git', treeA, '--quiet']);
  assert.equal(ing.commits_written, 4);
  assert.equal(ing.linked, true);
  assert.ok(ing.links > 0);
  assert.ok(ing.store.requests > 0 && ing.store.bytes_sent > 0, JSON.stringify(ing)); // they went over the wire
  const info = (await api('GET', '/collections/rq_code_records')).body.result;
  assert.equal(info.points_count, 4 + 2); // the commits, the meta point and the git cursor
  for (const v of ['content', 'summary', 'metadata']) assert.equal(info.config.params.vectors[v].distance, 'Cosine');
  assert.equal(info.config.params.vectors.summary.hnsw_config.m, 0); // scanned exactly, as in the embedded store
  assert.equal(info.config.params.sparse_vectors.bm25.modifier, 'idf');
  assert.equal(info.payload_schema.tenant.params.is_tenant, true);
  assert.equal(info.payload_schema.date.data_type, 'datetime');
  for (const f of ['kind', 'source', 'id', 'author', 'paths', 'labels', 'state', 'links.entity', 'links.commit', 'on'])
    assert.equal(info.payload_schema[f]?.data_type, 'keyword', `payload index on ${f}`);
  // a re-run, and a full one: nothing written, the same points
  assert.equal(json(['ingest', 'git', treeA, '--quiet']).commits_written, 0);
  const full = json(['ingest', 'git', treeA, '--quiet', '--full']);
  assert.equal(full.commits_written, 0);
  assert.equal(full.unchanged, 4);
  const again = (await api('POST', '/collections/rq_code_records/points/count', { exact: true })).body.result;
  assert.equal(again.count, 6);
  // not in the tree's own folder: only the code collection's state is there
  json(['index', '--quiet', treeE]);
  json(['ingest', 'git', treeE, '--quiet']);
});

test('machine B (an empty folder) reads the history from Qdrant as the embedded store answers it', () => {
  const q = ['--store', store()];
  for (const target of ['shout', 'pkg/text_utils.py:2']) {
    const b = json(['history', target, ...q], machineB);
    const e = json(['history', target], treeE);
    assert.ok(b.results.length > 0, target);
    assert.deepEqual(ids(b.results), ids(e.results), target);
    assert.deepEqual(b.results.map((r) => r.record.links), e.results.map((r) => r.record.links), target); // entity links kept
    assert.deepEqual(b.entity, e.entity);
  }
  // filters: author (substring of name or email), dates
  // (the commits are a minute apart from 2024-01-11T19:09:40Z)
  for (const f of [['--author', 'cyd@'], ['--since', '2024-01-11T19:10:00Z'], ['--until', '2024-01-11T19:11:00Z']]) {
    const b = json(['history', 'shout', ...q, ...f], machineB);
    const e = json(['history', 'shout', ...f], treeE);
    assert.deepEqual(ids(b.results), ids(e.results), f.join(' '));
  }
  assert.ok(json(['history', 'shout', ...q, '--author', 'Bob'], machineB).results.every((r) => r.author === 'Bob'));
  // search --in commits: dense the same records and scores; keyword and hybrid the same best record
  for (const query of ['shout a text in upper case']) {
    const b = json(['search', query, '--in', 'commits', '--mode', 'dense', '--limit', '4', ...q], machineB);
    const e = json(['search', query, '--in', 'commits', '--mode', 'dense', '--limit', '4'], treeE);
    assert.deepEqual(ids(b.results), ids(e.results), query);
    b.results.forEach((r, i) => assert.ok(Math.abs(r.score - e.results[i].score) < 1e-4, `${query}: ${r.score} vs ${e.results[i].score}`));
    for (const mode of ['keyword', 'hybrid']) {
      const bk = json(['search', query, '--in', 'commits', '--mode', mode, '--limit', '4', ...q], machineB);
      const ek = json(['search', query, '--in', 'commits', '--mode', mode, '--limit', '4'], treeE);
      assert.equal(bk.results[0].id, ek.results[0].id, `${mode}: ${query}`);
      assert.deepEqual(ids(bk.results).sort(), ids(ek.results).sort(), `${mode}: ${query}`);
    }
  }
  const since = json(['search', 'shout', '--in', 'commits', '--mode', 'keyword', '--since', '2024-01-11T19:11:00Z', ...q], machineB);
  assert.ok(since.results.length > 0 && since.results.every((r) => r.date >= '2024-01-11T19:11:00Z'), JSON.stringify(since.results));
});

test('serve --repo on machine B answers /code/history and /code/search "in" from Qdrant', async () => {
  const cfg = path.join(tmp, 'b-server.json');
  fs.writeFileSync(cfg, JSON.stringify({ repo: machineB }));
  const s2 = await serve(bin, tmp, 'b-server', path.join(tmp, 'b-server-store'), cfg, {}, ['--repo-store', store()]);
  try {
    const post = async (p, body) => {
      const r = await fetch(`${s2.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(r.status, 200, await r.clone().text());
      return (await r.json()).result;
    };
    const h = await post('/code/history', { target: 'shout' });
    assert.deepEqual(ids(h.results), ids(json(['history', 'shout'], treeE).results));
    const s = await post('/code/search', { query: 'whisper quiet twin', in: 'commits', mode: 'keyword', limit: 1 });
    assert.equal(s.results[0].title, 'text utils: whisper, the quiet twin of shout');
  } finally {
    await stop(s2);
  }
});

test('tenants share the collection and never see each other\'s records', async () => {
  const t = json(['ingest', 'git', treeA, '--quiet', '--tenant', 'team-a']);
  assert.equal(t.commits_written, 4); // the same commits are new records of another tenant
  const q = ['--store', store()];
  assert.deepEqual(ids(json(['history', 'shout', ...q, '--tenant', 'team-a'], machineB).results),
    ids(json(['history', 'shout', ...q], machineB).results));
  const none = run(['history', 'shout', ...q, '--tenant', 'team-b'], machineB);
  assert.equal(none.code, 0, none.err);
  assert.match(none.err, /no commits are ingested for this index and tenant/);
  assert.equal(json(['search', 'shout', '--in', 'commits', '--mode', 'keyword', '--tenant', 'team-b', ...q], machineB).results.length, 0);
  // the global namespace did not gain team-a's records; team-a's points carry their tenant
  const g = json(['search', 'shout', '--in', 'commits', '--mode', 'keyword', '--limit', '20', ...q], machineB);
  assert.ok(g.results.every((r) => r.record.tenant === ''), JSON.stringify(g.results.map((r) => r.record.tenant)));
  const ta = json(['search', 'shout', '--in', 'commits', '--mode', 'hybrid', '--limit', '20', '--tenant', 'team-a', ...q], machineB);
  assert.ok(ta.results.length > 0 && ta.results.every((r) => r.record.tenant === 'team-a'));
  const count = (await api('POST', '/collections/rq_code_records/points/count',
    { exact: true, filter: { must: [{ key: 'tenant', match: { value: 'team-a' } }] } })).body.result.count;
  assert.equal(count, 4 + 2);
});

test('bad input: a bad tenant, a bad date, a collection that does not hold records', async () => {
  const q = ['--store', store()];
  const bad = run(['history', 'shout', ...q, '--tenant', 'no spaces!'], machineB);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /tenant 'no spaces!' must be 1\.\.64 characters/);
  const date = run(['history', 'shout', ...q, '--since', 'yesterday'], machineB);
  assert.equal(date.code, 1);
  assert.match(date.err, /since: 'yesterday' is not a date/);
  // a collection named like the records' that is something else: refused with the reason
  const treeO = path.join(tmp, 'o');
  fs.cpSync(treeA, treeO, { recursive: true, filter: (p) => !p.includes('.semcode') });
  json(['index', '--quiet', '--store', `qdrant://127.0.0.1:${port}/other`, treeO]);
  const made = await api('PUT', '/collections/other_records', { vectors: { text: { size: 4, distance: 'Dot' } } });
  assert.equal(made.status, 200);
  const wrong = run(['ingest', 'git', treeO, '--quiet']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /collection other_records has no vector 'content': it does not hold records/);
  // a store that does not answer: the reason, no records written anywhere
  const down = run(['history', 'shout', '--store', 'qdrant://127.0.0.1:1/rq_code'], machineB);
  assert.equal(down.code, 1);
  assert.match(down.err, /unreachable/);
});
