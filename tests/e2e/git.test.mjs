// End-to-end tests of the git source through the CLI: `semcode ingest git`
// on a repository made here with the git tool, incremental and idempotent
// re-runs, a force-push (amend) handled, `semcode history` in text and JSON
// (after the index, so the commits get linked by the next ingest), `search
// --in commits|all` with --author and --since, and bad input (not a
// repository, an unknown branch, a bad date, --author without --in) with
// clear messages and non-zero exits. Run: node --test tests/e2e/git.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSync, runJson } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');

const run = (args, cwd) => runSync(bin, args, { cwd });
const json = (args, cwd) => runJson(bin, args, { cwd });

let clock = 1700000000;
function git(cwd, ...args) {
  clock += 60;
  const env = { ...process.env, GIT_AUTHOR_DATE: `${clock} +0000`, GIT_COMMITTER_DATE: `${clock} +0000`,
    GIT_CONFIG_NOSYSTEM: '1' };
  const r = spawnSync('git', args, { encoding: 'utf8', cwd, env });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function commitAs(cwd, who, msg) {
  git(cwd, 'add', '-A');
  git(cwd, '-c', `user.name=${who}`, '-c', `user.email=${who.toLowerCase()}@example.org`, 'commit', '-q', '-m', msg);
}

function newRepo() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-git-'));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Tester'); // for the amend: no global identity needed
  git(dir, 'config', 'user.email', 'tester@example.org');
  fs.writeFileSync(path.join(dir, 'shop.py'),
    'def total(items):\n    return sum(i.price for i in items)\n\n\ndef tax(amount):\n    return amount * 0.2\n');
  commitAs(dir, 'Alice', 'Add the shop totals and tax');
  fs.writeFileSync(path.join(dir, 'shop.py'),
    'def total(items):\n    return sum(i.price * i.qty for i in items)\n\n\ndef tax(amount):\n    return amount * 0.2\n');
  commitAs(dir, 'Bob', 'Count the quantity of each item in the total');
  return dir;
}

test('ingest, incremental, idempotent, force-push, history, search', () => {
  const repo = newRepo();
  let s = json(['ingest', 'git', '-q'], repo);
  assert.equal(s.ok, true);
  assert.equal(s.commits_walked, 2);
  assert.equal(s.linked, false);
  assert.equal(s.source, `git:${path.basename(repo)}`);
  // commits first, index second: the next ingest links every commit
  assert.equal(run(['index', '.', '-q'], repo).code, 0);
  s = json(['ingest', 'git', '-q'], repo);
  assert.equal(s.linked, true);
  assert.equal(s.commits_walked, 2);
  assert.ok(s.links >= 3, JSON.stringify(s));
  s = json(['ingest', 'git', '-q'], repo);
  assert.equal(s.commits_walked, 0);
  assert.equal(s.commits_written, 0);

  fs.appendFileSync(path.join(repo, 'shop.py'), '\n\ndef discount(amount, pct):\n    return amount * (1 - pct)\n');
  commitAs(repo, 'Carol', 'Add a discount');
  s = json(['ingest', 'git', '-q'], repo);
  assert.equal(s.commits_walked, 1);
  // amend = a force-push of the last commit
  git(repo, 'commit', '-q', '--amend', '-m', 'Add a percentage discount');
  s = json(['ingest', 'git', '-q'], repo);
  assert.equal(s.rewrites, 1);
  assert.equal(s.commits_removed, 1);
  assert.equal(s.commits_walked, 1);

  // history of total (text and JSON), newest first
  let r = run(['history', 'shop.py:2'], repo);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^function total \(shop\.py:1-2\): 2 commits\n/);
  const lines = r.out.trim().split('\n').slice(1);
  assert.match(lines[0], /Bob  Count the quantity/);
  assert.match(lines[1], /Alice  Add the shop totals/);
  // discount came after the index: once indexed, its history is there (the links were made from the commits)
  assert.equal(run(['index', '.', '-q'], repo).code, 0);
  const h = json(['history', 'discount'], repo);
  assert.equal(h.entity.qualified_name, 'discount');
  assert.deepEqual(h.results.map((x) => x.subject), ['Add a percentage discount']);
  assert.equal(h.results[0].sha, git(repo, 'rev-parse', 'HEAD'));
  assert.equal(h.results[0].record.author, 'Carol');

  // search in commits and in both
  let o = json(['search', 'quantity of each item', '--in', 'commits'], repo);
  assert.equal(o.results[0].subject, 'Count the quantity of each item in the total');
  assert.equal(o.results[0].kind, 'commit');
  assert.match(o.results[0].date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  o = json(['search', 'discount', '--in', 'commits', '--author', 'Bob'], repo);
  assert.equal(o.results.length, 1);
  assert.equal(o.results[0].author, 'Bob');
  o = json(['search', 'discount', '--in', 'commits', '--since', '2100-01-01'], repo);
  assert.equal(o.results.length, 0);
  o = json(['search', 'discount', '--in', 'all'], repo);
  assert.ok(o.code.results.length > 0 && o.commits.results.length > 0);
  r = run(['search', 'discount', '--in', 'all'], repo);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^code:\n/);
  assert.match(r.out, /\ncommits:\n[0-9a-f]{10}  \d{4}-\d\d-\d\d  Carol  Add a percentage discount/);
  fs.rmSync(repo, { recursive: true, force: true });
});

test('bad input gives clear errors', () => {
  const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-nogit-'));
  let r = run(['ingest', 'git', plain, '--store', path.join(plain, 'idx')], plain);
  assert.equal(r.code, 1);
  assert.match(r.err, /is not in a git repository/);
  const repo = newRepo();
  r = run(['ingest', 'git', '--branch', 'nope'], repo);
  assert.equal(r.code, 1);
  assert.match(r.err, /no branch 'nope' in the git repository at .* \(branches: main\)/);
  r = run(['ingest', 'svn'], repo);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown source 'svn'/);
  r = run(['ingest', 'git', '--tenant', 'no spaces'], repo);
  assert.equal(r.code, 1);
  assert.match(r.err, /tenant 'no spaces'/);
  assert.equal(run(['ingest', 'git', '-q'], repo).code, 0);
  r = run(['search', 'tax', '--author', 'Bob'], repo);
  assert.equal(r.code, 2);
  assert.match(r.err, /apply to records: add --in commits/);
  r = run(['search', 'tax', '--in', 'commits', '--since', 'last week'], repo);
  assert.equal(r.code, 1);
  assert.match(r.err, /since: 'last week' is not a date/);
  r = run(['search', 'tax', '--in', 'tickets'], repo);
  assert.equal(r.code, 2);
  assert.match(r.err, /--in must be code, commits, issues, prs, docs or all, got 'tickets'/);
  r = run(['history', 'shop.py:999'], repo);
  assert.equal(r.code, 1);
  assert.match(r.err, /no indexed entity at shop\.py:999/);
  fs.rmSync(repo, { recursive: true, force: true });
  fs.rmSync(plain, { recursive: true, force: true });
});
