// End-to-end tests of the semcode CLI on a fixture repository in several
// languages: index, search in each mode and with filters, the JSON schema,
// incremental re-index after edit / move / delete, recovery of an
// interrupted run, similar, duplicates with planted near-duplicates, stats,
// and bad arguments (clear message, non-zero exit). Run: node --test tests/e2e/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode'); // absolute: commands run in other folders
const fixture = path.join(top, 'tests/fixtures/repo');

function run(args, opts = {}) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 120000, ...opts });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function json(args, opts) {
  const r = run([...args, '--json'], opts);
  assert.equal(r.code, 0, `semcode ${args.join(' ')} failed: ${r.err}`);
  return JSON.parse(r.out);
}

function freshRepo() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-'));
  fs.cpSync(fixture, dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'ignored_build'));
  fs.writeFileSync(path.join(dir, 'ignored_build/gen.py'), 'def should_not_be_indexed():\n    pass\n');
  fs.writeFileSync(path.join(dir, '.gitignore'), 'ignored_build/\n');
  return dir;
}

const RESULT_KEYS = ['rank', 'score', 'path', 'start_line', 'end_line', 'kind', 'name', 'qualified_name',
  'language', 'signature', 'snippet'];

function checkSchema(o, mode) {
  assert.deepEqual(Object.keys(o).sort(), ['mode', 'query', 'results', 'took_ms'].sort());
  assert.equal(o.mode, mode);
  assert.equal(typeof o.took_ms, 'number');
  o.results.forEach((r, i) => {
    assert.deepEqual(Object.keys(r).sort(), [...RESULT_KEYS].sort());
    assert.equal(r.rank, i + 1);
    for (const k of ['path', 'kind', 'name', 'qualified_name', 'language', 'signature', 'snippet'])
      assert.equal(typeof r[k], 'string', k);
    assert.ok(Number.isInteger(r.start_line) && r.end_line >= r.start_line);
    assert.ok(!path.isAbsolute(r.path));
  });
}

test('index, search in every mode, filters and the JSON schema', () => {
  const repo = freshRepo();
  const s = json(['index', repo, '--quiet']);
  assert.equal(s.ok, true);
  assert.ok(s.files.parsed >= 7, JSON.stringify(s.files));
  assert.ok(s.entities.added >= 12);
  assert.equal(s.embeddings.new, s.entities.added);
  assert.ok(!fs.existsSync(path.join(repo, '.semcode', '.semcode')));

  for (const mode of ['hybrid', 'dense', 'keyword']) {
    const o = json(['search', 'send an http request', '--mode', mode], { cwd: repo });
    checkSchema(o, mode);
    assert.ok(o.results.length > 0, mode);
    // keyword must rank the method first (most query words); dense and hybrid may put its class (whose text
    // holds the method) first, but the method must be in the top two and both must come from its file
    const top = o.results.slice(0, 2).map((h) => h.qualified_name);
    if (mode === 'keyword') assert.equal(top[0], 'Session.request', JSON.stringify(o.results.slice(0, 3)));
    else assert.ok(top.includes('Session.request') && top.every((q) => q.startsWith('Session')), `${mode}: ${JSON.stringify(o.results.slice(0, 3))}`);
  }
  // works from a sub-folder, like git
  const sub = json(['search', 'crc32 checksum of a buffer'], { cwd: path.join(repo, 'native') });
  assert.equal(sub.results[0].name, 'crc32_buffer');
  assert.equal(sub.results[0].path, 'native/checksum.c');
  // filters
  const go = json(['search', 'retry with backoff', '--lang', 'go'], { cwd: repo });
  assert.ok(go.results.every((r) => r.language === 'go') && go.results.length > 0);
  const fns = json(['search', 'http', '--kind', 'class'], { cwd: repo });
  assert.ok(fns.results.every((r) => r.kind === 'class'));
  const pathOnly = json(['search', 'total price', '--path', 'web/**'], { cwd: repo });
  assert.ok(pathOnly.results.length > 0 && pathOnly.results.every((r) => r.path.startsWith('web/')));
  const excl = json(['search', 'count words', '--exclude', 'pkg/**', '-n', '50'], { cwd: repo });
  assert.ok(excl.results.every((r) => !r.path.startsWith('pkg/')));
  const lim = json(['search', 'function', '--limit', '2'], { cwd: repo });
  assert.ok(lim.results.length <= 2);
  const minScore = json(['search', 'http request', '--min-score', '0.5', '--mode', 'dense'], { cwd: repo });
  assert.ok(minScore.results.every((r) => r.score >= 0.5));
  // the ignored folder is not indexed
  const ign = json(['search', 'should_not_be_indexed', '--mode', 'keyword'], { cwd: repo });
  assert.ok(ign.results.every((r) => !r.path.startsWith('ignored_build')));
  // human output names path:lines kind name score
  const human = run(['search', 'greatest common divisor'], { cwd: repo });
  assert.equal(human.code, 0);
  assert.match(human.out, /tools\/lib\.rs:\d+-\d+ {2}function {2}gcd {2}[0-9.]+/);
  fs.rmSync(repo, { recursive: true, force: true });
});

test('incremental re-index after edit, move and delete', () => {
  const repo = freshRepo();
  json(['index', repo, '--quiet']);
  const again = json(['index', repo]);
  assert.equal(again.files.parsed, 0);
  assert.equal(again.entities.added + again.entities.updated + again.entities.removed, 0);

  // edit: change one function's body, add one
  const f = path.join(repo, 'pkg/text_utils.py');
  let src = fs.readFileSync(f, 'utf8').replace('return s[::-1]', 'return "".join(reversed(s))');
  src += '\n\ndef shout(text):\n    """Upper-case a message and add an exclamation mark."""\n    return text.upper() + "!"\n';
  fs.writeFileSync(f, src);
  const e = json(['index', repo]);
  assert.equal(e.files.parsed, 1);
  assert.ok(e.entities.added >= 1 && e.entities.updated >= 1, JSON.stringify(e.entities));
  assert.ok(e.embeddings.cached >= 2, 'unchanged entities reuse their vectors');
  const shout = json(['search', 'upper-case a message', '--mode', 'keyword'], { cwd: repo });
  assert.equal(shout.results[0].name, 'shout');

  // move: the Go file to another folder
  fs.mkdirSync(path.join(repo, 'util'));
  fs.renameSync(path.join(repo, 'tools/retry.go'), path.join(repo, 'util/retry.go'));
  const m = json(['index', repo]);
  assert.equal(m.files.deleted, 1);
  const moved = json(['search', 'Retry', '--mode', 'keyword'], { cwd: repo });
  assert.equal(moved.results[0].path, 'util/retry.go');
  assert.ok(moved.results.every((r) => r.path !== 'tools/retry.go'));

  // delete
  fs.rmSync(path.join(repo, 'web/cart.js'));
  const d = json(['index', repo]);
  assert.equal(d.files.deleted, 1);
  assert.ok(d.entities.removed >= 2);
  const gone = json(['search', 'cartTotal', '--mode', 'keyword'], { cwd: repo });
  assert.ok(gone.results.every((r) => r.path !== 'web/cart.js'));
  fs.rmSync(repo, { recursive: true, force: true });
});

test('an interrupted run leaves a consistent index that the next run completes', async () => {
  const repo = freshRepo();
  // Many files so that the run takes a while (about a second here).
  for (let i = 0; i < 4000; i++)
    fs.writeFileSync(path.join(repo, `pkg/gen_${i}.py`),
      `def generated_${i}(x):\n    """Generated function number ${i}."""\n    return x + ${i}\n`);
  const child = spawn(bin, ['index', repo, '--quiet']);
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  // Kill it once it has stored something: the state database exists.
  const state = path.join(repo, '.semcode', 'state.db');
  for (let i = 0; i < 200 && !fs.existsSync(state); i++) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 60));
  child.kill('SIGKILL');
  const how = await exited;
  if (how.signal !== 'SIGKILL') console.log('# note: the index finished before it could be killed');
  const s = json(['index', repo]);
  assert.equal(s.ok, true);
  const total = json(['stats'], { cwd: repo });
  const again = json(['index', repo]);
  assert.equal(again.files.parsed, 0, 'the second run found nothing left to do');
  const t2 = json(['stats'], { cwd: repo });
  assert.equal(t2.entities, total.entities);
  const g = json(['search', 'generated_3999', '--mode', 'keyword', '-n', '1'], { cwd: repo });
  assert.equal(g.results[0].name, 'generated_3999');
  // no entity is stored twice
  const g2 = json(['search', 'Generated function number 7', '--mode', 'keyword', '-n', '50'], { cwd: repo });
  const ids = g2.results.map((r) => `${r.path}:${r.start_line}`);
  assert.equal(new Set(ids).size, ids.length);
  fs.rmSync(repo, { recursive: true, force: true });
});

test('similar, duplicates and stats', () => {
  const repo = freshRepo();
  json(['index', repo, '--quiet']);
  const sim = json(['similar', 'pkg/text_utils.py:3'], { cwd: repo });
  assert.equal(sim.target, 'pkg/text_utils.py:3');
  assert.ok(sim.results.every((r) => r.name !== 'count_words'), 'itself excluded');
  // by meaning: the renamed copy is among the closest (the built-in model is a bag of words)
  assert.ok(sim.results.slice(0, 3).some((r) => r.name === 'tally_terms'), JSON.stringify(sim.results.slice(0, 3)));
  const byName = json(['similar', 'tally_terms'], { cwd: repo });
  assert.ok(byName.results.slice(0, 3).some((r) => r.name === 'count_words'));

  const d = json(['duplicates', '--threshold', '0.8', '--min-lines', '3'], { cwd: repo });
  assert.equal(d.clusters.length, 1, JSON.stringify(d.clusters.map((c) => c.members.map((m) => m.name))));
  const names = d.clusters[0].members.map((m) => m.name).sort();
  assert.deepEqual(names, ['count_words', 'tally_terms']);
  assert.ok(d.clusters[0].similarity >= 0.8);

  const st = json(['stats'], { cwd: repo });
  assert.ok(st.entities >= 12);
  assert.ok(st.by_language.python >= 5 && st.by_language.go >= 1);
  assert.equal(st.model.dim > 0, true);
  assert.ok(st.bytes_per_entity > 0);
  assert.equal(st.embeddings.zero_vectors, 0);
  fs.rmSync(repo, { recursive: true, force: true });
});

test('bad arguments get a clear message and a non-zero exit', () => {
  const repo = freshRepo();
  const cases = [
    [['search'], 2, /QUERY is required/],
    [['search', 'x', '--mode', 'fuzzy'], 2, /--mode must be dense, keyword or hybrid, got 'fuzzy'/],
    [['search', 'x', '--limit', '0'], 2, /--limit must be an integer from 1 to 10000, got '0'/],
    [['search', 'x', '--alpha', '2'], 2, /--alpha must be a number within \[0, 1\]/],
    [['search', 'x', '--bogus'], 2, /unknown or incomplete option '--bogus'/],
    [['duplicates', '--threshold', 'abc'], 2, /--threshold must be a number/],
    [['similar'], 2, /exactly one TARGET/],
    [['frobnicate'], 2, /unknown command 'frobnicate'/],
    [['index', '/nonexistent/folder'], 1, /is not a directory/],
  ];
  for (const [args, code, msg] of cases) {
    const r = run(args, { cwd: repo });
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, msg);
  }
  // search outside any index
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-none-'));
  const r = run(['search', 'x'], { cwd: outside, env: { ...process.env, SEMCODE_STORE: '' } });
  assert.equal(r.code, 1);
  assert.match(r.err, /no index found/);
  // similar on nothing
  json(['index', repo, '--quiet']);
  const s = run(['similar', 'pkg/nothing.py:3'], { cwd: repo });
  assert.equal(s.code, 1);
  assert.match(s.err, /no indexed entity at pkg\/nothing.py:3/);
  fs.rmSync(repo, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

test('pairs: documented entities only, or all of them with --undocumented', () => {
  const doc = run(['pairs', fixture, '--threads', '1']);
  assert.equal(doc.code, 0, doc.err);
  const all = run(['pairs', fixture, '--threads', '1', '--undocumented']);
  assert.equal(all.code, 0, all.err);
  const a = doc.out.trim().split('\n').map((l) => JSON.parse(l));
  const b = all.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(a.length > 0 && a.every((p) => p.doc.length > 0), 'pairs without the flag all have a doc');
  assert.ok(b.length > a.length, 'the flag adds undocumented entities');
  const extra = b.filter((p) => p.doc === '');
  assert.equal(extra.length, b.length - a.length);
  assert.ok(extra.every((p) => p.name && p.code && p.kind), 'undocumented entities keep name, code and kind');
});
