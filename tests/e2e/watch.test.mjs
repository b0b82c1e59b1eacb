// End-to-end tests of issue 19's "fresh by itself" and "several
// repositories" with the real binary: two small trees indexed by the CLI;
// `search --repo` and `--workspace` across them; `serve --repo A --repo B
// --watch` answering /code/search across, per and without repositories
// while its watchers follow edits, new folders, moves and deletes (each
// seen within a few seconds); `semcode watch --json` updating the index on
// its own. Quick: a few files, keyword searches, debounce 250 ms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, gitIn } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');

let tmp, alpha, beta;

function write(dir, rel, text) {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), text);
}

function run(args, opts = {}) {
  return spawnSync(bin, args, { encoding: 'utf8', timeout: 120000, cwd: tmp, ...opts });
}

function searchJson(args) {
  const r = run(['search', ...args, '--json']);
  assert.equal(r.status, 0, `semcode search ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-watch-'));
  alpha = path.join(tmp, 'alpha');
  beta = path.join(tmp, 'beta');
  write(alpha, 'conf.py', 'def parse_config_file(path):\n    """Read the configuration file."""\n    return open(path).read()\n');
  write(alpha, '.gitignore', 'build/\n');
  write(beta, 'net.py', 'def send_http_request(url):\n    """Send an HTTP request."""\n    return url\n\n' +
    'def parse_json_config(text):\n    """Parse a JSON configuration."""\n    return text\n');
  for (const d of [alpha, beta]) {
    const r = run(['index', d, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
  }
  fs.writeFileSync(path.join(tmp, 'ws.txt'), '# both trees\nA = alpha\nbeta\n');
});

after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

test('search --repo merges several repositories and names each result', () => {
  const o = searchJson(['parse config', '--repo', alpha, '--repo', beta, '--mode', 'keyword']);
  const repos = new Set(o.results.map((x) => x.repo));
  assert.deepEqual([...repos].sort(), ['alpha', 'beta']);
  for (let i = 1; i < o.results.length; i++) assert.ok(o.results[i - 1].score >= o.results[i].score, 'merged by score');
  o.results.forEach((x, i) => assert.equal(x.rank, i + 1));
  const named = searchJson(['http request', '--repo', `net=${beta}`, '--repo', alpha, '-n', '1']);
  assert.equal(named.results[0].repo, 'net');
  assert.equal(named.results[0].name, 'send_http_request');
  // a workspace file, filtered by name; "all"; an unknown name
  const ws = path.join(tmp, 'ws.txt');
  const bad = run(['search', 'config', '--workspace', ws, '--repo', 'nope']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no repository named 'nope' in .*ws\.txt \(it has: A, beta\)/);
  const text = run(['search', 'http request', '--workspace', ws, '--repo', 'beta', '--mode', 'keyword']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^\[beta\] net\.py:1-3/);
  assert.ok(!/^\[A\]/m.test(text.stdout), 'a repository left out by --repo answered');
  fs.mkdirSync(path.join(tmp, 'plain'), { recursive: true });
  const noIndex = run(['search', 'x', '--repo', alpha, '--repo', path.join(tmp, 'plain')]);
  assert.equal(noIndex.status, 1);
  assert.match(noIndex.stderr, /repository plain: no index in .*plain\/\.semcode; run 'semcode index/);
  assert.ok(!fs.existsSync(path.join(tmp, 'plain', '.semcode')), 'a search created an index');
  const records = run(['search', 'x', '--repo', alpha, '--in', 'commits']);
  assert.equal(records.status, 2);
});

// POST a JSON body; {status, json}.
async function post(url, body) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

// Poll /code/search (keyword) until pred(results) holds; seconds it took.
async function until(base, body, pred, what) {
  const t0 = Date.now();
  for (let i = 0; i < 200; i++) {
    const r = await post(`${base}/code/search`, { mode: 'keyword', limit: 20, ...body });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    if (pred(r.json.result.results)) return (Date.now() - t0) / 1000;
    await sleep(50);
  }
  assert.fail(`not seen within 10 s: ${what}`);
}

test('serve --repo A --repo B --watch: /code/search across repositories, fresh by itself', async () => {
  const portFile = path.join(tmp, 'serve.port');
  const proc = spawn(bin, ['serve', '--port', '0', '--port-file', portFile, '--store', path.join(tmp, 'store'),
    '--repo', `A=${alpha}`, '--repo', beta, '--watch', '--log', path.join(tmp, 'serve.log')],
  { stdio: ['ignore', 'ignore', fs.openSync(path.join(tmp, 'serve.err'), 'a')] });
  const exited = new Promise((ok) => proc.on('exit', (code) => ok(code)));
  try {
    // (slow under the sanitizers on a loaded machine: up to 60 s)
    for (let i = 0; i < 1200 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()); i++) await sleep(50);
    const base = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;
    for (let i = 0; i < 200; i++) {
      try { if ((await fetch(`${base}/readyz`)).status === 200) break; } catch { /* not yet */ }
      await sleep(50);
    }
    // all repositories, one, several, and the errors
    let r = await post(`${base}/code/search`, { query: 'parse config', mode: 'keyword' });
    assert.equal(r.status, 200);
    assert.deepEqual([...new Set(r.json.result.results.map((x) => x.repo))].sort(), ['A', 'beta']);
    r = await post(`${base}/code/search`, { query: 'parse config', mode: 'keyword', repo: 'beta' });
    assert.ok(r.json.result.results.length >= 1);
    for (const x of r.json.result.results) assert.equal(x.repo, 'beta');
    r = await post(`${base}/code/search`, { query: 'parse config', repo: ['A', 'beta'], limit: 2 });
    assert.equal(r.json.result.results.length, 2);
    r = await post(`${base}/code/search`, { query: 'parse config', repo: 'nope' });
    assert.equal(r.status, 404);
    assert.match(r.json.status.error, /no repository named 'nope'/);
    r = await post(`${base}/code/search`, { query: 'x', repo: ['A', 'beta'], in: 'commits' });
    assert.equal(r.status, 400);
    r = await post(`${base}/code/search`, { query: 'x', repo: 7 });
    assert.equal(r.status, 400);

    // an edit (save -> searchable is measured), then new folders, a move, a delete, an ignored path
    const has = (name, repo) => (res) => res.some((x) => x.name === name && (!repo || x.repo === repo));
    const lacks = (name) => (res) => !res.some((x) => x.name === name);
    await sleep(300); // let the initial updates finish
    write(alpha, 'conf.py', 'def load_settings_quickly(path):\n    return path\n');
    const secs = await until(base, { query: 'load settings quickly', repo: 'A' }, has('load_settings_quickly', 'A'), 'edit');
    console.log(`# watch: save -> searchable in ${secs.toFixed(2)} s`);
    assert.ok(secs < 5, `an edit took ${secs} s`);
    await until(base, { query: 'parse config file', repo: 'A' }, lacks('parse_config_file'), 'old entity gone');
    write(beta, 'deep/new/pkg/tool.py', 'def brand_new_utility():\n    pass\n');
    await until(base, { query: 'brand new utility' }, has('brand_new_utility', 'beta'), 'new folders');
    fs.renameSync(path.join(beta, 'deep'), path.join(beta, 'moved'));
    await until(base, { query: 'brand new utility' },
      (res) => res.some((x) => x.name === 'brand_new_utility' && x.path === 'moved/new/pkg/tool.py'), 'moved folder');
    fs.renameSync(path.join(beta, 'moved/new/pkg/tool.py'), path.join(beta, 'moved/new/pkg/renamed.py')); // a file renamed
    await until(base, { query: 'brand new utility' },
      (res) => res.some((x) => x.name === 'brand_new_utility' && x.path === 'moved/new/pkg/renamed.py') &&
        !res.some((x) => x.path === 'moved/new/pkg/tool.py'), 'renamed file');
    write(beta, 'moved/new/pkg/later.py', 'def written_after_move():\n    pass\n');
    await until(base, { query: 'written after move' }, has('written_after_move', 'beta'), 'file in moved folder');
    fs.rmSync(path.join(beta, 'net.py'));
    await until(base, { query: 'send http request' }, lacks('send_http_request'), 'delete');
    write(alpha, 'build/gen.py', 'def generated_output_fn():\n    pass\n');
    await sleep(800);
    r = await post(`${base}/code/search`, { query: 'generated output fn', mode: 'keyword' });
    assert.ok(lacks('generated_output_fn')(r.json.result.results), 'ignored path indexed');
  } finally {
    proc.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
  const log = fs.readFileSync(path.join(tmp, 'serve.err'), 'utf8');
  assert.match(log, /watched/);
});

test('semcode watch --json keeps an index fresh and stops on SIGINT', async () => {
  const proc = spawn(bin, ['watch', alpha, '--json', '--debounce', '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((ok) => proc.on('exit', (code) => ok(code)));
  const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const waitLines = async (n) => {
    for (let i = 0; i < 200 && lines().length < n; i++) await sleep(50);
    assert.ok(lines().length >= n, `expected ${n} updates, got: ${out} ${err}`);
  };
  await waitLines(1);
  assert.equal(lines()[0].initial, true);
  write(alpha, 'extra.py', 'def watched_cli_addition():\n    pass\n');
  await waitLines(2);
  const u = lines()[1];
  assert.equal(u.ok, true);
  assert.equal(u.initial, false);
  assert.equal(u.entities_added, 1);
  proc.kill('SIGINT');
  assert.equal(await exited, 0, err);
  const o = searchJson(['watched cli addition', '--repo', alpha, '--mode', 'keyword', '-n', '1']);
  assert.equal(o.results[0].name, 'watched_cli_addition');
  // bad options are usage errors naming the option
  const bad = run(['watch', alpha, '--cpu', '0']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--cpu must be/);
});

test('semcode watch follows a git branch switch that touches hundreds of files', async () => {
  const repo = path.join(tmp, 'branchy');
  write(repo, 'main.py', 'def main_entry_point():\n    pass\n');
  const git = gitIn(repo);
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'main');
  git('checkout', '-qb', 'feature');
  // 200 files with the plain build; 60 under the sanitizers (build-san/, build-tsan/: ten times slower)
  const N = /^build-t?san$/.test(path.basename(path.dirname(bin))) ? 60 : 200;
  for (let i = 0; i < N; i++) write(repo, `feat/m${i % 10}/f${i}.py`, `def feature_fn_${i}():\n    return ${i}\n`);
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'feature');
  git('checkout', '-q', 'main');
  const ix = run(['index', repo, '--quiet']);
  assert.equal(ix.status, 0, ix.stderr);
  const proc = spawn(bin, ['watch', repo, '--json', '--debounce', '200', '--cpu', '100', '--nice', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((ok) => proc.on('exit', (code) => ok(code)));
  const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  // updates after the initial one, summed until pred holds (a switch may take more than one batch)
  const waitSum = async (from, pred, what) => {
    for (let i = 0; i < 1200; i++) {
      const us = lines().slice(from);
      const sum = (k) => us.reduce((a, u) => a + u[k], 0);
      if (pred(sum)) return lines().length;
      await sleep(50);
    }
    assert.fail(`${what}: ${out} ${err}`);
  };
  let seen = await waitSum(0, () => lines().length >= 1, 'initial update');
  git('checkout', '-q', 'feature'); // N files and 10 folders appear
  seen = await waitSum(seen, (sum) => sum('entities_added') >= N, 'switch to feature');
  git('checkout', '-q', 'main'); // and go
  await waitSum(seen, (sum) => sum('deleted') >= N, 'switch back to main');
  proc.kill('SIGINT');
  assert.equal(await exited, 0, err);
  for (const u of lines()) assert.equal(u.ok, true);
  const gone = searchJson(['feature fn 7', '--repo', repo, '--mode', 'keyword']);
  assert.ok(!gone.results.some((x) => x.name.startsWith('feature_fn_')), 'feature files still indexed');
  const kept = searchJson(['main entry point', '--repo', repo, '--mode', 'keyword', '-n', '1']);
  assert.equal(kept.results[0].name, 'main_entry_point');
});

