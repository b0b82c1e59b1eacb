// End-to-end tests of what a new user meets first: `semcode serve` without
// --model, started outside the source tree, embeds with the shipped model;
// `index --store a/b/c` creates the folders; every command that reads an
// index takes --store; `stats` prints a summary on a terminal-less stdout
// only with --json as JSON, and its numbers carry no float noise; a folder
// reached through a symbolic link is indexed once, under its real path.
// Run: node --test tests/e2e/
import { test } from 'node:test';
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

function run(args, opts = {}) {
  const env = { ...process.env, ...(opts.env || {}) };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 120000, ...opts, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function json(args, opts) {
  const r = run([...args, '--json'], opts);
  assert.equal(r.code, 0, `semcode ${args.join(' ')} failed: ${r.err}`);
  return JSON.parse(r.out);
}

const tmpdir = (name) => fs.mkdtempSync(path.join(os.tmpdir(), `semcode-e2e-${name}-`));

test('serve without --model, outside the source tree, embeds with the shipped model', async () => {
  const dir = tmpdir('serve');
  const portFile = path.join(dir, 'port');
  const env = { ...process.env };
  delete env.SEMCODE_MODEL;
  const srv = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', '0', '--port-file', portFile,
    '--store', path.join(dir, 'store'), '--log', path.join(dir, 'log')], { cwd: dir, env, stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()); i++)
      await new Promise((ok) => setTimeout(ok, 100));
    const url = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;
    const res = await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'builtin', input: ['send an http request'] }) });
    assert.equal(res.status, 200, await res.clone().text());
    const v = (await res.json()).data[0].embedding;
    // the same vector as the CLI's built-in model
    const cli = run(['embed'], { input: 'send an http request\n', cwd: dir, env: { SEMCODE_MODEL: undefined } });
    assert.equal(cli.code, 0, cli.err);
    const w = cli.out.trim().split(/\s+/).map(Number);
    assert.equal(v.length, w.length);
    v.forEach((x, i) => assert.ok(Math.abs(x - w[i]) < 1e-4, `component ${i}: ${x} vs ${w[i]}`));
  } finally {
    const exited = new Promise((ok) => srv.on('exit', ok));
    srv.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('index --store a/b/c creates the folders; every command reading an index takes --store', () => {
  const repo = tmpdir('store-repo');
  fs.cpSync(fixture, repo, { recursive: true });
  const base = tmpdir('store');
  const store = path.join(base, 'a', 'b', 'c');
  const idx = json(['index', repo, '--store', store, '--quiet']);
  assert.equal(idx.ok, true);
  assert.ok(fs.statSync(store).isDirectory());
  assert.ok(!fs.existsSync(path.join(repo, '.semcode')), 'nothing written into the tree');
  // from a folder that is not inside the tree, with SEMCODE_STORE unset
  const cwd = tmpdir('store-cwd');
  const opts = { cwd, env: { SEMCODE_STORE: undefined } };
  const st = json(['stats', '--store', store], opts);
  assert.equal(st.store, fs.realpathSync(store));
  assert.ok(st.entities >= 12);
  const s = json(['search', 'greatest common divisor', '--store', store], opts);
  assert.equal(s.results[0].name, 'gcd');
  const sim = json(['similar', 'tally_terms', '--store', store], opts);
  assert.ok(sim.results.slice(0, 3).some((r) => r.name === 'count_words'));
  const d = json(['duplicates', '--threshold', '0.8', '--min-lines', '3', '--store', store], opts);
  assert.equal(d.clusters.length, 1);
  // without --store nothing is found there
  const none = run(['stats'], opts);
  assert.equal(none.code, 1);
  assert.match(none.err, /no index found/);
  for (const dir of [repo, base, cwd]) fs.rmSync(dir, { recursive: true, force: true });
});

// Every number in a JSON text, as written.
const numbersIn = (text) => text.match(/-?\d+\.\d+(?:e[-+]?\d+)?/g) || [];

test('stats: a readable summary, JSON with --json, numbers without float noise', () => {
  const repo = tmpdir('stats');
  fs.cpSync(fixture, repo, { recursive: true });
  json(['index', repo, '--quiet']);
  const h = run(['stats'], { cwd: repo });
  assert.equal(h.code, 0, h.err);
  assert.throws(() => JSON.parse(h.out));
  assert.match(h.out, /^index of /);
  assert.match(h.out, /\n {2}entities +\d+: python \d+/);
  assert.match(h.out, /\n {2}model +builtin:[0-9a-f]+, \d+ dimensions, local\n/);
  assert.match(h.out, /\n {2}embeddings +\d+ checked: 0 of the wrong dimension, 0 zero, norm 1\.000/);
  const r = run(['stats', '--json'], { cwd: repo });
  assert.equal(r.code, 0, r.err);
  const st = JSON.parse(r.out);
  assert.equal(st.entities, Number(h.out.match(/entities +(\d+)/)[1]));
  // no number printed with more than 15 significant digits (5.833, not 5.8330000000000002)
  for (const n of numbersIn(r.out)) {
    const digits = n.replace(/e.*/, '').replace(/[-.]/g, '').replace(/^0+/, '');
    assert.ok(digits.length <= 15, `float noise in ${n}`);
  }
  assert.equal(st.bytes_per_entity, Math.round((st.store_bytes / st.entities) * 10) / 10);
  fs.rmSync(repo, { recursive: true, force: true });
});
