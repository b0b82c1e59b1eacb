// End-to-end tests of the semcode CLI on a fixture repository in several
// languages: index, search in each mode and with filters, the JSON schema,
// incremental re-index after edit / move / delete, recovery of index
// runs interrupted mid-run (SIGKILL, SIGINT; an embedding endpoint in the
// test holds a request so the signal certainly lands mid-run) and completed
// by the next run, similar, duplicates with planted near-duplicates, stats,
// bad arguments (clear message, non-zero exit), and the ignore rules of the
// walk (git's, .semcodeignore, --no-ignore). Run: node --test tests/e2e/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSync, runJson } from './serve_util.mjs';
import { heldEndpoint } from './net_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode'); // absolute: commands run in other folders
const fixture = path.join(top, 'tests/fixtures/repo');

const run = (args, opts) => runSync(bin, args, opts);
const json = (args, opts) => runJson(bin, args, opts);

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
  // hybrid searches add the ranking stage's confidence
  const keys = ['mode', 'query', 'results', 'took_ms', ...(mode === 'hybrid' ? ['confidence', 'low_confidence'] : [])];
  assert.deepEqual(Object.keys(o).sort(), keys.sort());
  assert.equal(o.mode, mode);
  if (mode === 'hybrid') {
    assert.ok(o.confidence >= 0 && o.confidence <= 1);
    assert.equal(o.low_confidence, o.confidence < 0.5);
  }
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
  // a question the tree cannot answer is reported as such, a real one is not
  const noise = json(['search', 'zqxv wuffle glorp'], { cwd: repo });
  assert.equal(noise.low_confidence, true, JSON.stringify(noise));
  assert.ok(noise.results.length > 0); // the closest entities are still listed
  const real = json(['search', 'greatest common divisor'], { cwd: repo });
  assert.equal(real.low_confidence, false, JSON.stringify(real));
  assert.equal(real.results[0].name, 'gcd');
  assert.ok(real.confidence > noise.confidence);
  const noiseText = run(['search', 'zqxv wuffle glorp'], { cwd: repo });
  assert.match(noiseText.out, /^no confident match \(confidence 0\.\d\d\)/);
  assert.doesNotMatch(run(['search', 'greatest common divisor'], { cwd: repo }).out, /no confident match/);
  // --explain lists the features that moved the score
  assert.match(run(['search', 'greatest common divisor', '--explain', '-n', '1'], { cwd: repo }).out,
    /explain: .*dense.*=/);
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

// semcode without blocking this process's event loop (the endpoint above lives in it).
function runAsync(args, opts = {}) {
  return new Promise((ok) => {
    const child = spawn(bin, args, { ...opts, env: { ...process.env, HELD_KEY: 'k' } });
    let out = '', err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    child.on('close', (code, signal) => ok({ code, signal, out, err }));
    if (opts.onSpawn) opts.onSpawn(child);
  });
}

const heldArgs = (url) => ['--provider', 'openai', '--base-url', url, '--remote-model', 'held', '--dimensions', '16',
  '--api-key-env', 'HELD_KEY', '--batch-size', '32', '--concurrency', '1', '--retries', '0', '--timeout', '60'];

// Interrupt an index run of 1000 generated files with signal once it waits for
// its 12th embedding request (several groups of files are stored by then, most
// are not: 11 requests of 32 entities are about a third), check that it was
// stopped mid-run, then that the next run completes the job: the same entities
// as an uninterrupted run, none twice. (3000 files before the held request
// made the interruption certain; they only made the four index runs longer.)
async function interruptedRun(signal) {
  const repo = freshRepo();
  const N = 1000;
  for (let i = 0; i < N; i++)
    fs.writeFileSync(path.join(repo, `pkg/gen_${i}.py`),
      `def generated_${i}(x):\n    """Generated function number ${i}."""\n    return x + ${i}\n`);
  const ep = await heldEndpoint(12);
  try {
    let child;
    const first = runAsync(['index', repo, ...heldArgs(ep.url), '--quiet'], { onSpawn: (c) => { child = c; } });
    let timer;
    const timeout = new Promise((_, no) => { timer = setTimeout(() => no(new Error('request 12 never came')), 60000); });
    await Promise.race([ep.held, timeout]);
    clearTimeout(timer);
    child.kill(signal);
    // SIGINT asks for a stop before the next group: let the held request finish
    if (signal === 'SIGINT') setTimeout(() => ep.release(), 200);
    const how = await first;
    if (signal === 'SIGKILL') assert.equal(how.signal, 'SIGKILL');
    else {
      assert.equal(how.code, 1, how.err);
      assert.match(how.err, /interrupted; the next run finishes the job/);
    }
    ep.release();
    // stopped mid-run: some entities are stored, far from all
    const part = json(['stats'], { cwd: repo });
    assert.ok(part.entities > 0 && part.entities < N, `after ${signal}: ${part.entities} entities`);

    const s = await runAsync(['index', repo, ...heldArgs(ep.url), '--json']);
    assert.equal(s.code, 0, s.err);
    assert.equal(JSON.parse(s.out).ok, true);
    const again = await runAsync(['index', repo, ...heldArgs(ep.url), '--json']);
    assert.equal(again.code, 0, again.err);
    assert.equal(JSON.parse(again.out).files.parsed, 0, 'the second run found nothing left to do');
  } finally {
    await ep.close();
  }
  // the same entities as an index of the same tree that was never interrupted
  const total = json(['stats'], { cwd: repo });
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-whole-'));
  json(['index', repo, '--store', store, '--quiet']);
  const whole = json(['stats', '--store', store]);
  assert.equal(total.entities, whole.entities);
  const g = json(['search', `generated_${N - 1}`, '--mode', 'keyword', '-n', '1'], { cwd: repo });
  assert.equal(g.results[0].name, `generated_${N - 1}`);
  // no entity is stored twice
  const g2 = json(['search', 'Generated function number 7', '--mode', 'keyword', '-n', '50'], { cwd: repo });
  const ids = g2.results.map((r) => `${r.path}:${r.start_line}`);
  assert.equal(new Set(ids).size, ids.length);
  fs.rmSync(repo, { recursive: true, force: true });
  fs.rmSync(store, { recursive: true, force: true });
}

test('an index run killed (SIGKILL) mid-run leaves a consistent index that the next run completes', () =>
  interruptedRun('SIGKILL'));

test('an index run interrupted (SIGINT) mid-run stops cleanly and the next run completes', () =>
  interruptedRun('SIGINT'));

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
    [['search', 'x', '--bogus'], 2, /unknown option '--bogus'/],
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

test('eval --queries: written queries through the product path, per-query ranks, bad files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-evalq-'));
  const repos = path.join(dir, 'repos');
  fs.mkdirSync(repos);
  fs.cpSync(fixture, path.join(repos, 'fx'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'repos.tsv'), 'repo\tsplit\tlanguage\tsource\tsubdir\nfx\tdev\tpython\t-\t.\n' +
    'gone\ttest\tgo\t-\t.\n');
  const q = path.join(dir, 'q.jsonl');
  fs.writeFileSync(q, [
    { query: 'reverse string', repo: 'fx', category: 'symbol', targets: [{ path: 'pkg/text_utils.py', name: 'reverse_string' }] },
    { query: 'parse query string', repo: 'fx', category: 'behaviour', targets: [{ path: 'pkg/http_client.py', line: 25 }] },
    { query: 'not asked', repo: 'gone', category: 'concept', targets: [{ path: 'x.go', name: 'X' }] },
  ].map((o) => JSON.stringify(o)).join('\n') + '\n');
  const base = ['eval', '--queries', q, '--repos', repos, '--repos-tsv', path.join(dir, 'repos.tsv'),
    '--work', path.join(dir, 'work')];
  const pq = path.join(dir, 'pq.jsonl');
  const r = json([...base, '--split', 'dev', '--mode', 'keyword,hybrid', '--per-query', pq]);
  assert.equal(r.queries, 2);
  assert.equal(r.queries_skipped, 1);
  assert.deepEqual(r.modes, ['hybrid', 'keyword']);
  const all = r.groups[0];
  assert.equal(all.kind, 'all');
  assert.equal(all.keyword.entity.hit_10, 1);  // each query's words are its target's name
  assert.equal(all.keyword.file.hit_10, 1);
  assert.ok(!('dense' in all));
  assert.deepEqual(r.groups.map((g) => `${g.kind} ${g.name}`),
    ['all all', 'category behaviour', 'category symbol', 'language python', 'repo fx']);
  const lines = fs.readFileSync(pq, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 4);
  const p = lines.find((l) => l.query === 'parse query string' && l.mode === 'keyword');
  assert.equal(p.targets[0].resolved, 'parse_query_string');
  assert.equal(p.entity.ranks.length, 1);
  assert.ok(p.entity.ranks[0] >= 1 && p.entity.ranks[0] <= 10);
  assert.equal(p.entity.ranks_100[0], p.entity.ranks[0]);
  // the index lives in the work folder, not in the tree
  assert.ok(fs.existsSync(path.join(dir, 'work/fx/store')));
  assert.ok(!fs.existsSync(path.join(repos, 'fx/.semcode')));
  // the text report (a second run reuses the index)
  const t = run([...base, '--split', 'dev', '--mode', 'keyword']);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /entity level/);
  assert.match(t.out, /category symbol/);
  assert.match(t.err, /index fx: \d+ files \(0 parsed\)/);
  // --check: targets checked, nothing searched
  const c = run([...base, '--check', '--split', 'dev']);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /^checked 2 queries \(1 of other splits skipped\): 2 targets found in the indexes of 1 repositories/);
  // errors: bad usage, a bad line, a repository the tsv does not list
  let e = run(['eval', '--queries', q]);
  assert.equal(e.code, 2);
  assert.match(e.err, /--queries needs --repos DIR/);
  e = run([...base, '--split', 'train']);
  assert.equal(e.code, 2);
  assert.match(e.err, /--split must be dev, test or all, got 'train'/);
  e = run(['eval', '--half', 'train', '--pairs', q]);
  assert.equal(e.code, 2);
  assert.match(e.err, /--half must be all, dev or test, got 'train'/);
  fs.writeFileSync(q, '{"query": "x", "repo": "fx", "category": "feature", "targets": [{"path": "a.py", "name": "a"}]}\n');
  e = run(base);
  assert.equal(e.code, 1);
  assert.match(e.err, /q\.jsonl:1: field 'category' must be behaviour, concept or symbol, not 'feature'/);
  fs.writeFileSync(q, '{"query": "x", "repo": "nope", "category": "symbol", "targets": [{"path": "a.py", "name": "a"}]}\n');
  e = run(base);
  assert.equal(e.code, 1);
  assert.match(e.err, /q\.jsonl:1: repository 'nope' is not in the repos tsv/);
  fs.rmSync(dir, { recursive: true, force: true });
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

test('git\'s ignore rules in a git repository and outside one, .semcodeignore on top, --no-ignore', (t) => {
  if (spawnSync('git', ['--version']).status !== 0) { t.skip('git is not installed'); return; }
  const env = { ...process.env, HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-home-')) }; // no user config
  const files = (args) => {
    const r = run(['parse', '--json', '--threads', '1', ...args], { env });
    assert.equal(r.code, 0, r.err);
    return r.out.trim().split('\n').map((l) => JSON.parse(l)).filter((o) => o.type === 'file').map((o) => o.path).sort();
  };
  for (const inGit of [true, false]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-ignore-'));
    const put = (rel, text) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    };
    if (inGit) assert.equal(spawnSync('git', ['init', '-q', dir], { env }).status, 0);
    put('.gitignore', '*.log\nbuild/\n');
    put('sub/.gitignore', '!keep.log\n');
    put('.semcodeignore', 'docs/\n!wanted.log\n');
    for (const f of ['main.py', 'a.log', 'wanted.log', 'build/gen.py', 'sub/keep.log', 'sub/b.log', 'docs/d.py'])
      put(f, 'x = 1\n');
    if (inGit) put('.git/info/exclude', 'secret.py\n');
    put('secret.py', 'x = 1\n');
    const want = ['.gitignore', '.semcodeignore', 'main.py', 'sub/.gitignore', 'sub/keep.log', 'wanted.log'];
    assert.deepEqual(files([dir]), inGit ? want : [...want, 'secret.py'].sort(), inGit ? 'git repository' : 'plain directory');
    const every = files([dir, '--no-ignore']);
    for (const f of ['a.log', 'build/gen.py', 'sub/b.log', 'docs/d.py', 'secret.py']) assert.ok(every.includes(f), f);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.rmSync(env.HOME, { recursive: true, force: true });
});
