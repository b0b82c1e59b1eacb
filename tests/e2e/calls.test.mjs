// End-to-end tests of `semcode callers` and `semcode callees` (issue 19):
// index a copy of tests/fixtures/callgraph, then ask for callers and
// callees as text and JSON, by name, qualified name and path:line, from
// inside the tree and with --store; bad arguments get a clear message and
// exit code 2, an unknown target exit code 1. Run: node --test tests/e2e/
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');
const fixture = path.join(top, 'tests/fixtures/callgraph');

function run(args, opts = {}) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 60000, ...opts });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-calls-'));
fs.cpSync(fixture, dir, { recursive: true });
const store = path.join(dir, '.semcode');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('index builds the call graph', () => {
  const r = run(['index', dir, '-q', '--model', path.join(top, 'models/builtin.scm')]);
  assert.equal(r.code, 0, r.err);
});

test('callees as JSON: resolved edges, how, and unresolved library calls', () => {
  const r = run(['callees', 'run', '--json', '--store', store]);
  assert.equal(r.code, 0, r.err);
  const o = JSON.parse(r.out);
  assert.deepEqual(Object.keys(o).sort(), ['callees', 'direction', 'targets', 'took_ms', 'unresolved']);
  assert.equal(o.direction, 'callees');
  assert.equal(o.targets.length, 1);
  assert.equal(o.targets[0].qualified_name, 'run');
  assert.equal(o.targets[0].path, 'py/pkg/main.py');
  const byLine = Object.fromEntries(o.callees.map((e) => [`${e.line}:${e.name}`, e]));
  assert.equal(byLine['11:Box'].callee.qualified_name, 'Box');
  assert.equal(byLine['11:Box'].how, 'import');
  assert.equal(byLine['13:helper'].receiver, 'u');
  assert.equal(byLine['13:helper'].callee.path, 'py/pkg/util.py');
  assert.equal(byLine['14:local'].how, 'same_file');
  assert.equal(byLine['15:len'].callee, null);
  assert.equal(byLine['15:len'].how, 'unresolved');
  assert.equal(o.unresolved, 2); // len, os.path.join
});

test('callers as text, by qualified name, path:line and from inside the tree', () => {
  let r = run(['callers', 'Cart.sum', '--store', store]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^callers of web\/cart\.js:8 {2}method {2}Cart\.sum/);
  assert.match(r.out, /web\/cart\.js:6 {2}method {2}Cart\.total {2}\[self\]/);
  r = run(['callers', 'go/a/b.go:5'], { cwd: dir });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /go\/a\/a\.go:9 {2}method {2}a\.\(\*T\)\.Run {2}\[package\]/);
  r = run(['callers', 'twice', '--json', '--limit', '1'], { cwd: path.join(dir, 'c') });
  assert.equal(r.code, 0, r.err);
  const o = JSON.parse(r.out);
  assert.equal(o.callers.length, 1);
  assert.equal(o.callers[0].caller.qualified_name, 'main');
  assert.equal(o.callers[0].how, 'include');
});

test('help, bad arguments and unknown targets', () => {
  let r = run(['callers', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /usage: semcode callers TARGET/);
  r = run(['callees', '--store', store]);
  assert.equal(r.code, 2);
  assert.match(r.err, /exactly one TARGET/);
  r = run(['callees', 'run', '--limit', '0', '--store', store]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--limit must be an integer/);
  r = run(['callers', 'no_such_thing', '--store', store]);
  assert.equal(r.code, 1);
  assert.match(r.err, /no indexed entity at no_such_thing/);
});
