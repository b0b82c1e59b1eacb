// End-to-end test of the index format upgrade (issue 15): an index written by
// semcode before xxHash (tests/fixtures/index-v1.tar.gz, index format 1 with
// an embedding cache; tools/gen_index_v1_fixture.sh) is unpacked into a copy
// of the fixture repository. Search works on it at once (the open upgrades
// it), `semcode index` re-reads the files and embeds nothing, the run after
// does nothing, `stats` reports format 2; with --cache the old cache answers
// for every entity. An index of a newer format is refused with a clear
// message. Run: node --test tests/e2e/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSync, runOk } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');
const ENTITIES = 19; // of tests/fixtures/repo, as the format 1 index holds them

const run = (args, cwd) => runSync(bin, args, { cwd });

// The parsed --json output of a run that must succeed, and its stderr.
function json(args, cwd) {
  const r = runOk(bin, [...args, '--json'], { cwd });
  return { o: JSON.parse(r.out), err: r.err };
}

// A copy of the fixture repository holding the format 1 index in .semcode/.
function oldIndex() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-v1-'));
  fs.cpSync(path.join(top, 'tests/fixtures/repo'), dir, { recursive: true });
  const t = spawnSync('tar', ['-xzf', path.join(top, 'tests/fixtures/index-v1.tar.gz'), '-C', dir]);
  assert.equal(t.status, 0, String(t.stderr));
  return dir;
}

test('an index of format 1 is searched at once, then re-indexed without embedding anything', () => {
  const repo = oldIndex();
  const s = json(['search', 'greatest common divisor'], repo);
  assert.equal(s.o.results[0].name, 'gcd', JSON.stringify(s.o.results.slice(0, 3)));
  assert.match(s.err, /upgraded from format 1 to 2/);

  const first = json(['index', '--quiet'], repo).o;
  assert.equal(first.ok, true);
  assert.equal(first.embeddings.new, 0, JSON.stringify(first));
  assert.equal(first.embeddings.cached, ENTITIES);
  assert.equal(first.entities.unchanged, ENTITIES);
  assert.deepEqual([first.entities.added, first.entities.updated, first.entities.removed], [0, 0, 0]);

  const second = json(['index', '--quiet'], repo).o;
  assert.equal(second.files.parsed, 0);
  assert.equal(second.files.unchanged, second.files.seen);
  assert.deepEqual(second.embeddings, { cached: 0, new: 0, failed: 0 });

  const st = json(['stats'], repo).o;
  assert.equal(st.index_format, 2);
  assert.equal(st.entities, ENTITIES);
  for (const mode of ['dense', 'keyword', 'hybrid'])
    assert.equal(json(['search', 'greatest common divisor', '--mode', mode], repo).o.results[0].name, 'gcd', mode);
  fs.rmSync(repo, { recursive: true, force: true });
});

test('the embedding cache of format 1 answers for every entity', () => {
  const repo = oldIndex();
  // without the store, every entity must be embedded again, unless the cache answers
  fs.rmSync(path.join(repo, '.semcode/store'), { recursive: true });
  const s = json(['index', '--cache', '--quiet'], repo).o;
  assert.equal(s.entities.added, ENTITIES);
  assert.equal(s.embeddings.new, 0, JSON.stringify(s));
  assert.equal(s.embeddings.cached, ENTITIES);
  fs.rmSync(repo, { recursive: true, force: true });
});

test('an index of a newer format is refused with a clear message', () => {
  const repo = oldIndex();
  json(['index', '--quiet'], repo);
  // what a newer semcode would record: the format number in state.db meta (3 marks a switched model, issue 19)
  const py = spawnSync('python3', ['-c',
    'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE meta SET value=\'4\' WHERE key=\'index_format\'"); c.commit()',
    path.join(repo, '.semcode/state.db')], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  for (const args of [['search', 'gcd'], ['index', '--quiet']]) {
    const r = run(args, repo);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.err, /has format 4, written by a newer semcode/, r.err);
  }
  fs.rmSync(repo, { recursive: true, force: true });
});
