// End-to-end tests of argument parsing, the same for every command (one
// getopt_long layer, src/cli/options.c): `--opt=value` works as `--opt value`
// (serve --port=0 binds a free port), positional arguments may come before
// or after the options, numeric values are checked whole and within range,
// and an unknown option, a missing value, a value given to a flag or an
// ambiguous abbreviation name the option and point to --help.
// Run: node --test tests/e2e/ (needs no server of run.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSync, runOk } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');
const fixture = path.join(top, 'tests/fixtures/repo');
const bert = path.join(top, 'tests/fixtures/transformer/bert');

const run = (args, opts) => runSync(bin, args, opts);
const ok = (args, opts) => runOk(bin, args, opts);

const tmpdir = (name) => fs.mkdtempSync(path.join(os.tmpdir(), `semcode-e2e-args-${name}-`));

test('serve --port=0 (and every other --opt=value) binds a free port and serves', async () => {
  const dir = tmpdir('serve');
  const portFile = path.join(dir, 'port');
  const srv = spawn(bin, ['serve', '--host=127.0.0.1', '--port=0', `--port-file=${portFile}`,
    `--store=${path.join(dir, 'store')}`, `--log=${path.join(dir, 'log')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  srv.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((done) => srv.on('exit', done));
  try {
    for (let i = 0; i < 100 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()); i++)
      await new Promise((done) => setTimeout(done, 100));
    const port = Number(fs.readFileSync(portFile, 'utf8').trim());
    assert.ok(port > 0 && port < 65536, `port file holds '${port}': ${err}`);
    const res = await fetch(`http://127.0.0.1:${port}/collections`);
    assert.equal(res.status, 200);
    assert.ok(fs.existsSync(path.join(dir, 'store')), 'the --store=DIR folder is used');
  } finally {
    srv.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--opt=value equals --opt value, and positional arguments go before or after the options', () => {
  const dir = tmpdir('forms');
  // parse: PATH first or last, = or space
  const a = ok(['parse', fixture, '--json', '--lang', 'python', '--max-size', '100000', '--threads', '1']).out;
  const b = ok(['parse', '--json', '--lang=python', '--max-size=100000', '--threads=1', fixture]).out;
  const strip = (s) => s.replace(/"seconds":[0-9.]+/, '');
  assert.equal(strip(a), strip(b));
  assert.match(a, /"language":"python"/);
  assert.doesNotMatch(a, /"language":"go"/);
  // pairs --output=FILE, train and eval with = forms only
  const pairs = path.join(dir, 'pairs.jsonl');
  ok(['pairs', `--output=${pairs}`, fixture]);
  assert.ok(fs.readFileSync(pairs, 'utf8').trim().split('\n').length >= 8);
  const model = path.join(dir, 'm.scm');
  ok(['train', `--pairs=${pairs}`, `--out=${model}`, '--dim=16', '--epochs=1', '--batch=4', '--vocab=500',
    '--min-count=1', '--buckets=100', '--threads=1', '--pooling=idf', '--loss=doc-to-code', '--seed=7']);
  const ev = ok(['eval', `--model=${model}`, `--pairs=${pairs}`, '--pool=4', '--json']).out.trim().split('\n');
  assert.ok(JSON.parse(ev[ev.length - 1]).queries >= 8);
  // embed: the built-in model by = and by space
  const e1 = ok(['embed', '--model=builtin', '--code'], { input: 'read a file\n' }).out;
  const e2 = ok(['embed', '--code', '--model', 'builtin'], { input: 'read a file\n' }).out;
  assert.equal(e1, e2);
  // embed with a model directory: options end at the first TEXT (or --)
  const t1 = ok(['embed', `--model=${bert}`, '--tokens', '--threads=1', 'hello', '--info']).out;
  const t2 = ok(['embed', '--model', bert, '--tokens', '--threads', '1', '--', 'hello', '--info']).out;
  assert.equal(t1, t2);
  assert.equal(t1.trim().split('\n').length, 2); // 'hello' and '--info' are both texts
  // store-demo and doctor
  const store = path.join(dir, 'store');
  ok(['store-demo', `--store=${store}`, '--points=300', '--dim=8']);
  const d = JSON.parse(ok(['doctor', `--store=${store}`, '--collection=demo', '--sample=20', '--json']).out);
  assert.equal(d.points, 300);
  assert.equal(d.nn.sampled, 20);
  // index, then search with the query before, between and after the options
  const repo = path.join(dir, 'repo');
  fs.cpSync(fixture, repo, { recursive: true });
  ok(['index', '--quiet', `--store=${path.join(dir, 'ix')}`, repo]);
  const ix = `--store=${path.join(dir, 'ix')}`;
  const s1 = JSON.parse(ok(['search', 'reverse', 'string', ix, '--mode=keyword', '--limit=2', '--json']).out);
  const s2 = JSON.parse(ok(['search', '--json', ix, 'reverse', '--mode', 'keyword', 'string', '-n', '2']).out);
  assert.equal(s1.query, 'reverse string');
  assert.equal(s2.query, 'reverse string');
  assert.deepEqual(s1.results.map((h) => h.qualified_name), s2.results.map((h) => h.qualified_name));
  assert.equal(s1.results.length, 2);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('bad numbers, unknown options, missing values: the option is named, with a pointer to --help', () => {
  const dir = tmpdir('bad');
  const cases = [
    // values out of range or not numbers
    [['serve', '--port=70000'], /semcode serve: --port must be an integer from 0 to 65535, got '70000'/],
    [['serve', '--port', 'x'], /--port must be an integer from 0 to 65535, got 'x'/],
    [['serve', '--port=-1'], /--port must be an integer from 0 to 65535, got '-1'/],
    [['serve', '--port=8080x'], /--port must be an integer from 0 to 65535, got '8080x'/],
    [['doctor', '--store=s', '--collection=c', '--sample=lots'], /--sample must be an integer from 0 to 1000000, got 'lots'/],
    [['parse', fixture, '--threads=many'], /semcode parse: --threads must be an integer from 0 to 1024, got 'many'/],
    [['pairs', fixture, '--max-size=0'], /semcode pairs: --max-size must be an integer from 1 to \d+, got '0'/],
    [['train', '--pairs=p', '--out=o', '--dim=abc'], /--dim must be an integer from 1 to 4096, got 'abc'/],
    [['train', '--pairs=p', '--out=o', '--lr=nan'], /--lr must be a number from .* got 'nan'/],
    [['train', '--pairs=p', '--out=o', '--pooling=mean'], /--pooling must be idf, learned or sides, got 'mean'/],
    [['eval', '--pairs=p', '--pool=1'], /--pool must be an integer from 2 to 10000000, got '1'/],
    [['embed', `--model=${bert}`, '--batch=big', 'x'], /--batch must be an integer from 0 to 65536, got 'big'/],
    [['embed', '--dimensions=0'], /--dimensions must be an integer from 1 to 65536, got '0'/],
    [['store-demo', `--store=${dir}/s`, '--points=0'], /--points must be an integer from 1 to 10000000, got '0'/],
    [['search', 'x', '--limit=0'], /--limit must be an integer from 1 to 10000, got '0'/],
    [['search', 'x', '--alpha=nan'], /--alpha must be a number within \[0, 1\]/],
    // unknown options, missing values, flags given a value, ambiguous prefixes
    [['serve', '--bogus'], /semcode serve: unknown option '--bogus'/],
    [['serve', '--bogus=1'], /unknown option '--bogus'/],
    [['serve', '-x'], /unknown option '-x'/],
    [['serve', '--port'], /option '--port' needs a value/],
    [['serve', '--insecure=yes'], /option '--insecure' takes no value/],
    [['serve', '--po=1'], /option '--po' is ambiguous \(--port, --port-file\)/],
    [['serve', 'stray'], /unexpected argument 'stray'/],
    [['doctor', '--store'], /semcode doctor: option '--store' needs a value/],
    [['doctor', '--json=yes'], /option '--json' takes no value/],
    [['embed', '--bogus'], /semcode embed: unknown option '--bogus'/],
    [['embed', `--model=${bert}`, '--code', 'x'], /semcode embed: unknown option '--code'/],
    [['embed', '--threads=2'], /--threads applies to a Hugging Face model directory \(--model DIR\) only/],
    [['parse', fixture, '--undocumented'], /semcode parse: unknown option '--undocumented'/],
    [['parse', fixture, '-o'], /option '-o' needs a value/],
    [['parse', fixture, 'other'], /expected one PATH, got also 'other'/],
    [['pairs', fixture, '--bogus'], /semcode pairs: unknown option '--bogus'/],
    [['train', '--bogus'], /semcode train: unknown option '--bogus'/],
    [['train', '--pairs'], /option '--pairs' needs a value/],
    [['eval', '--bogus'], /semcode eval: unknown option '--bogus'/],
    [['eval', '--queries=q', '--pairs=p'], /--pairs does not apply to eval --queries/],
    [['eval', '--repos=r'], /--repos applies to eval --queries only/],
    [['eval', '--pairs=p', 'stray'], /unexpected argument 'stray'/],
    [['store-demo', '--bogus'], /semcode store-demo: unknown option '--bogus'/],
    [['index', '--bogus'], /semcode index: unknown option '--bogus'/],
    [['search', 'x', '--mode'], /option '--mode' needs a value/],
    [['stats', '--json=1'], /option '--json' takes no value/],
  ];
  for (const [args, msg] of cases) {
    const r = run(args, { cwd: dir, input: '' });
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, ${r.err}`);
    assert.match(r.err, msg, args.join(' '));
    assert.match(r.err, new RegExp(`Run 'semcode ${args[0]} --help' for usage`), args.join(' '));
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('-h and --help print the same help and exit 0 for every command', () => {
  for (const cmd of ['index', 'search', 'similar', 'duplicates', 'stats', 'store-demo', 'parse', 'pairs', 'serve',
    'train', 'eval', 'embed', 'doctor', 'jobs']) {
    const a = ok([cmd, '--help']).out;
    const b = ok([cmd, '-h']).out;
    assert.match(a, new RegExp(`usage: semcode ${cmd}`));
    assert.equal(a, b, cmd);
  }
  assert.match(ok(['--help']).out, /joined to it \(--port=0\)/);
  assert.match(ok(['embed', '--model', bert, '--help']).out, /usage: semcode embed --model DIR/);
  assert.match(ok(['embed', '--help', `--model=${bert}`]).out, /usage: semcode embed --model DIR/);
});
