// Watch mode: seconds from a file save to a searchable change (issue 19).
// Copies TREE (default /usr/lib/python3.11) to a temporary folder, indexes
// it, starts `semcode serve --repo COPY --watch` (default watcher options:
// debounce 250 ms, CPU cap 50 %, nice 10, 1 parser thread), then:
//   - SAVES times: appends a function with a unique name to one .py file and
//     polls POST /code/search (keyword, every 20 ms) until it ranks first;
//   - once: appends a function to BULK files at once (a branch switch's
//     worth) and waits until the last one is searchable.
// No peer: the goal ("within a few seconds") is absolute.
// usage: node bench/watch_latency.mjs [TREE] [SAVES=10] [BULK=500]
// env SEMCODE_BIN (default build/semcode). Results: docs/BENCHMARKS.md.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '..', process.env.SEMCODE_BIN || 'build/semcode');
const tree = process.argv[2] || '/usr/lib/python3.11';
const saves = Number(process.argv[3] || 10);
const bulk = Number(process.argv[4] || 500);
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-watchbench-'));
const copy = path.join(tmp, 'tree');
fs.cpSync(tree, copy, { recursive: true, filter: (src) => !src.includes('__pycache__') });
const pyFiles = [];
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(d, e.name);
    if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
    else if (e.isFile() && e.name.endsWith('.py') && fs.statSync(p).size < 200000) pyFiles.push(p);
  }
})(copy);
let t = Date.now();
const ix = spawnSync(bin, ['index', copy, '--quiet'], { encoding: 'utf8' });
if (ix.status !== 0) throw new Error(ix.stderr);
console.log(`tree ${tree}: ${pyFiles.length} .py files, cold index ${((Date.now() - t) / 1000).toFixed(1)} s`);

const portFile = path.join(tmp, 'port');
const proc = spawn(bin, ['serve', '--port', '0', '--port-file', portFile, '--store', path.join(tmp, 'store'),
  '--repo', copy, '--watch', '--log', path.join(tmp, 'log')], { stdio: ['ignore', 'ignore', 'inherit'] });
for (let i = 0; i < 400 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()); i++) await sleep(50);
const base = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;

async function topName(query) {
  const r = await fetch(`${base}/code/search`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, mode: 'keyword', limit: 1 }) });
  const j = await r.json();
  return j.result?.results?.[0]?.name;
}
async function waitFor(name, limitS = 120) {
  const t0 = Date.now();
  while ((Date.now() - t0) / 1000 < limitS) {
    if (await topName(name) === name) return (Date.now() - t0) / 1000;
    await sleep(20);
  }
  return NaN;
}

// The initial update (a no-change walk) first.
await waitFor('__never__', 3);
const tag = Date.now().toString(36);
const times = [];
for (let i = 0; i < saves; i++) {
  const f = pyFiles[(i * 7919) % pyFiles.length];
  const name = `watch_probe_${tag}_${i}`;
  fs.appendFileSync(f, `\n\ndef ${name}():\n    return ${i}\n`);
  times.push(await waitFor(name));
  await sleep(300);
}
const sorted = [...times].sort((a, b) => a - b);
const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
console.log(`single save -> searchable (${saves} saves): min ${sorted[0].toFixed(2)} s, median ${q(0.5).toFixed(2)} s, ` +
  `max ${sorted[sorted.length - 1].toFixed(2)} s; all: ${times.map((x) => x.toFixed(2)).join(' ')}`);

const n = Math.min(bulk, pyFiles.length);
t = Date.now();
let last = '';
for (let i = 0; i < n; i++) {
  last = `bulk_probe_${tag}_${i}`;
  fs.appendFileSync(pyFiles[i], `\n\ndef ${last}():\n    return ${i}\n`);
}
const wrote = (Date.now() - t) / 1000;
const bulkS = await waitFor(last, 600);
console.log(`${n} files changed at once (written in ${wrote.toFixed(2)} s) -> last one searchable ${bulkS.toFixed(2)} s after the writes`);
proc.kill('SIGTERM');
await new Promise((ok) => proc.on('exit', ok));
const log = fs.readFileSync(path.join(tmp, 'log'), 'utf8').split('\n').filter((l) => l.includes('watch '));
console.log(`watcher log (last 3):\n${log.slice(-3).join('\n')}`);
fs.rmSync(tmp, { recursive: true, force: true });
