// Helpers shared by the end-to-end tests: running the semcode binary
// (runSync, runOk, runJson, spawnRun), starting their own `semcode serve`
// processes (serve, stop) and git repositories (gitIn). Not a test file
// itself.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// Start `bin serve` on store with config file cfg (or none), its port, log
// and stderr files in tmp under name, extra environment env and extra
// arguments args (e.g. ['--repo', DIR]): {proc, url} once /readyz answers.
export async function serve(bin, tmp, name, store, cfg, env = {}, args = []) {
  const portFile = path.join(tmp, `${name}.port`);
  fs.rmSync(portFile, { force: true });
  const argv = ['serve', '--host', '127.0.0.1', '--port', '0', '--port-file', portFile, '--store', store,
    '--log', path.join(tmp, `${name}.log`), ...args];
  if (cfg) argv.push('--config', cfg);
  const proc = spawn(bin, argv, { stdio: ['ignore', 'ignore', fs.openSync(path.join(tmp, `${name}.err`), 'a')],
    env: { ...process.env, ...env } });
  for (let i = 0; i < 200 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()); i++) await sleep(50);
  const url = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${url}/readyz`)).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  return { proc, url };
}

// Send signal to a server from serve(); resolves to its exit code (null when killed).
export async function stop(s, signal = 'SIGTERM') {
  const exited = new Promise((ok) => s.proc.on('exit', (code) => ok(code)));
  s.proc.kill(signal);
  return exited;
}

// Run bin with args and wait (spawnSync options opts; a two-minute timeout
// unless opts gives one): {code, out, err}.
export function runSync(bin, args, opts = {}) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 120000, ...opts });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// runSync that fails the test unless bin exits 0: {code, out, err}.
export function runOk(bin, args, opts) {
  const r = runSync(bin, args, opts);
  assert.equal(r.code, 0, `semcode ${args.join(' ')} failed: ${r.err}`);
  return r;
}

// runOk of args with --json added: the parsed stdout.
export function runJson(bin, args, opts) {
  return JSON.parse(runOk(bin, [...args, '--json'], opts).out);
}

// Run bin with args without blocking the event loop (for tests whose fake
// servers run in this process): resolves to {code, out, err}.
export function spawnRun(bin, args, opts = {}) {
  return new Promise((ok) => {
    const p = spawn(bin, args, opts);
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => ok({ code, out, err }));
  });
}

// A function running git in dir (fails the test on a non-zero exit, returns
// stdout trimmed), each call a minute after the last from clock (author and
// committer dates), so commit ids are reproducible.
export function gitIn(dir, clock = 1705000000) {
  return (...args) => {
    clock += 60;
    const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_DATE: `${clock} +0000`, GIT_COMMITTER_DATE: `${clock} +0000`, GIT_CONFIG_NOSYSTEM: '1' } });
    assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
}

// Expect promise p (a gRPC call) to fail with status code and a message matching re.
export async function rejectsWith(p, code, re) {
  await assert.rejects(p, (e) => {
    assert.equal(e.code, code, `code of ${e.message}`);
    if (re) assert.match(e.rawMessage, re);
    return true;
  });
}
