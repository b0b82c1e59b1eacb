// Soak test of `semcode serve` under mixed concurrent load (issue 18).
//
// Starts the real server on 127.0.0.1 (a free port) with a temporary store
// and, for SOAK_SECONDS (default 60), runs at once:
//   - writers: each owns a fixed range of ids and upserts batches into it
//     (wait=true), deletes some of its acknowledged points and bumps the
//     payload of others; the id space is bounded so the live data reaches
//     a steady size after warm-up (the memory check needs that);
//   - readers: query, search, scroll and exact count;
//   - collection info calls; snapshot create / list / delete calls when the
//     server answers them (a 404 on the first one prints a note and skips
//     them).
// Each writer works on its own ids one request at a time, so the client
// knows the acknowledged state of every id: present with payload version v,
// or deleted. Then it checks, and exits 1 naming what failed:
//   1. every request answered 2xx (and no more than SOAK_MAX_ERRORS not);
//   2. every acknowledged write is there and every acknowledged delete is
//      not (full scroll, payload versions compared; exact count equal);
//   3. RSS (VmRSS of /proc/PID/status, sampled every second) is flat after
//      warm-up: the mean of the last quarter of the run is at most
//      SOAK_RSS_GROWTH (default 0.25 = 25 %) above the mean of the second
//      quarter (the first quarter is warm-up);
//   4. no request took longer than SOAK_MAX_LATENCY_MS (default 5000);
//      p50 / p99 / max and counts are printed per operation;
//   5. SIGTERM sent while the load runs again makes the server exit 0, and a
//      server restarted on the same store still holds every acknowledged
//      write (the ones in flight at the signal may go either way).
// Prints "# pass N" / "# fail N" lines (the counters of .ci/run).
//
// Usage: node bench/soak.mjs   (env: SEMCODE_BIN, SOAK_SECONDS, SOAK_WRITERS,
//   SOAK_READERS, SOAK_IDS_PER_WRITER, SOAK_DIM, SOAK_MAX_LATENCY_MS,
//   SOAK_RSS_GROWTH, SOAK_KEEP=1 keeps the temporary directory,
//   SOAK_RSS_CSV=FILE writes the RSS samples).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = process.env;
const num = (name, dflt) => {
  const v = env[name] === undefined || env[name] === '' ? dflt : Number(env[name]);
  if (!Number.isFinite(v) || v < 0) { console.error(`soak: ${name}='${env[name]}' is not a non-negative number`); process.exit(2); }
  return v;
};
const BIN = env.SEMCODE_BIN || path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'build', 'semcode');
const SECONDS = num('SOAK_SECONDS', 60);
const WRITERS = num('SOAK_WRITERS', 3);
const READERS = num('SOAK_READERS', 3);
const IDS_PER_WRITER = num('SOAK_IDS_PER_WRITER', 3000);
const DIM = num('SOAK_DIM', 64);
const BATCH = 50;
const MAX_LATENCY_MS = num('SOAK_MAX_LATENCY_MS', 5000);
const RSS_GROWTH = num('SOAK_RSS_GROWTH', 0.25);
const MAX_ERRORS = num('SOAK_MAX_ERRORS', 0);
const COLL = 'soak';

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
const t0 = Date.now();
const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1);
const results = [];  // {name, ok, detail}
const check = (name, ok, detail = '') => {
  results.push({ name, ok, detail });
  console.log(`${ok ? 'ok' : 'not ok'} ${results.length} - ${name}${detail ? ` (${detail})` : ''}`);
};

// A deterministic pseudo-random generator (xorshift32), so runs are comparable.
let seed = 0x9e3779b9;
const rand = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 4294967296; };
const randVec = () => Array.from({ length: DIM }, () => rand() * 2 - 1);
const randInt = (n) => Math.floor(rand() * n);

/* ==== Server process ==== */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-soak-'));
const store = path.join(tmp, 'store');

// Start `semcode serve` on the soak store; resolves to {proc, url, exited}
// once /readyz answers (throws after 20 s).
async function serveStart(tag) {
  const portFile = path.join(tmp, `${tag}.port`);
  const proc = spawn(BIN, ['serve', '--host', '127.0.0.1', '--port', '0', '--port-file', portFile,
    '--store', store, '--log', path.join(tmp, `${tag}.log`)],
  { stdio: ['ignore', 'ignore', fs.openSync(path.join(tmp, `${tag}.err`), 'a')] });
  const exited = new Promise((ok) => proc.on('exit', (code, sig) => ok({ code, sig })));
  for (let i = 0; i < 400; i++) {
    if (proc.exitCode !== null) throw new Error(`server ${tag} exited with ${proc.exitCode} at start`);
    const port = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8').trim() : '';
    if (port) {
      const url = `http://127.0.0.1:${port}`;
      try { if ((await fetch(`${url}/readyz`)).status === 200) return { proc, url, exited }; } catch { /* not yet */ }
    }
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error(`server ${tag} did not become ready in 20 s`);
}

// VmRSS and RssAnon of pid in KiB from /proc (null when gone).
function rssOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1]);
    return { rss: kb('VmRSS'), anon: kb('RssAnon') };
  } catch { return null; }
}

/* ==== Requests with latency records ==== */

const lat = new Map();  // op -> array of ms
const errors = [];      // {op, status, body}
let base = '';
let terminating = false; // after SIGTERM: failures are expected, not counted

// One request: method, path, JSON body; records its latency under op;
// resolves to {status, json}; a network error has status 0.
async function call(op, method, p, body) {
  const start = performance.now();
  let status = 0; let json = null; let text = '';
  try {
    const r = await fetch(base + p, { method, headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined });
    status = r.status;
    text = await r.text();
    try { json = JSON.parse(text); } catch { json = null; }
  } catch (e) { text = String(e && e.cause ? e.cause : e); }
  const ms = performance.now() - start;
  if (!lat.has(op)) lat.set(op, []);
  lat.get(op).push(ms);
  return { status, json, text };
}

// Like call(), but a non-2xx answer is counted as an error (expected: also
// accepted statuses).
async function req(op, method, p, body, expected = []) {
  const r = await call(op, method, p, body);
  if ((r.status < 200 || r.status > 299) && !expected.includes(r.status) && !terminating) {
    errors.push({ op, status: r.status, body: r.text.slice(0, 200) });
    if (errors.length <= 5) console.log(`# ${elapsed()} s: ${op} answered ${r.status}: ${r.text.slice(0, 200)}`);
  }
  return r;
}
const ok2xx = (r) => r.status >= 200 && r.status <= 299;

/* ==== Client-side model of acknowledged state ==== */

// id -> payload version v (present, acknowledged) ; deleted ids in `gone`;
// ids whose last write was not acknowledged (error, or in flight at
// SIGTERM) in `unsure`: not checked.
const present = new Map();
const gone = new Set();
const unsure = new Set();
const counts = { upserted: 0, deleted: 0, payload_set: 0 };

// One writer: owns ids [w*IDS_PER_WRITER+1, (w+1)*IDS_PER_WRITER]; loops
// until stop() says so: upsert a batch (70 %), delete a few (15 %), bump
// payload versions (15 %), each wait=true and recorded only on a 2xx.
async function writer(w, stop) {
  const lo = w * IDS_PER_WRITER + 1;
  const mine = [];  // ids of this writer currently present
  let next = 0;     // upserts walk the id space in rounds, then overwrite
  while (!stop()) {
    const dice = rand();
    if (dice < 0.7 || mine.length < BATCH) {
      const ids = [];
      for (let i = 0; i < BATCH; i++) { ids.push(lo + next); next = (next + 1) % IDS_PER_WRITER; }
      const points = ids.map((id) => ({ id, vector: randVec(), payload: { w, v: 0, tag: `t${id % 7}` } }));
      ids.forEach((id) => unsure.add(id));
      const r = await req('upsert', 'PUT', `/collections/${COLL}/points?wait=true`, { points });
      if (!ok2xx(r)) continue;
      for (const id of ids) {
        unsure.delete(id); gone.delete(id);
        if (!present.has(id)) mine.push(id);
        present.set(id, 0);
      }
      counts.upserted += ids.length;
    } else if (dice < 0.85) {
      const ids = [...new Set(Array.from({ length: 5 }, () => mine[randInt(mine.length)]))];
      ids.forEach((id) => unsure.add(id));
      const r = await req('delete', 'POST', `/collections/${COLL}/points/delete?wait=true`, { points: ids });
      if (!ok2xx(r)) continue;
      for (const id of ids) { unsure.delete(id); present.delete(id); gone.add(id); mine.splice(mine.indexOf(id), 1); }
      counts.deleted += ids.length;
    } else {
      const ids = [...new Set(Array.from({ length: 10 }, () => mine[randInt(mine.length)]))];
      // One version for the whole call: the largest acknowledged one + 1.
      const v = Math.max(...ids.map((id) => present.get(id))) + 1;
      ids.forEach((id) => unsure.add(id));
      const r = await req('set_payload', 'POST', `/collections/${COLL}/points/payload?wait=true`, { payload: { v }, points: ids });
      if (!ok2xx(r)) continue;
      for (const id of ids) { unsure.delete(id); present.set(id, v); }
      counts.payload_set += ids.length;
    }
  }
}

// One reader: cycles through query, search, scroll and exact count.
async function reader(r, stop) {
  let i = r;
  while (!stop()) {
    switch (i++ % 4) {
      case 0: await req('query', 'POST', `/collections/${COLL}/points/query`, { query: randVec(), limit: 10, with_payload: true }); break;
      case 1: await req('search', 'POST', `/collections/${COLL}/points/search`,
        { vector: randVec(), limit: 10, filter: { must: [{ key: 'tag', match: { value: `t${randInt(7)}` } }] } }); break;
      case 2: await req('scroll', 'POST', `/collections/${COLL}/points/scroll`,
        { limit: 100, offset: randInt(WRITERS * IDS_PER_WRITER) + 1, with_payload: true }); break;
      default: await req('count', 'POST', `/collections/${COLL}/points/count`, { exact: true });
    }
  }
}

// Collection info every 200 ms; snapshots every 5 s when the server has them.
let snapshots = 'untried';
async function admin(stop) {
  let last = 0;
  while (!stop()) {
    await req('info', 'GET', `/collections/${COLL}`);
    if (snapshots !== 'absent' && Date.now() - last > 5000) {
      last = Date.now();
      const r = await req('snapshot_create', 'POST', `/collections/${COLL}/snapshots?wait=true`, undefined, [404]);
      if (r.status === 404) {
        snapshots = 'absent';
        console.log(`# ${elapsed()} s: POST /collections/${COLL}/snapshots answered 404: snapshot calls skipped`);
      } else if (ok2xx(r)) {
        snapshots = 'answered';
        await req('snapshot_list', 'GET', `/collections/${COLL}/snapshots`);
        const name = r.json && r.json.result && r.json.result.name;
        if (name) await req('snapshot_delete', 'DELETE', `/collections/${COLL}/snapshots/${encodeURIComponent(name)}?wait=true`);
      }
    }
    await sleep(200);
  }
}

// Run all workers until stopAt() is true; resolves when each has finished
// its current request.
function runLoad(stopAt) {
  const ws = [];
  for (let w = 0; w < WRITERS; w++) ws.push(writer(w, stopAt));
  for (let r = 0; r < READERS; r++) ws.push(reader(r, stopAt));
  ws.push(admin(stopAt));
  return Promise.all(ws);
}

// Scroll the whole collection; compare with the model. Returns a list of
// problems (empty when all acknowledged state is there).
async function verify(op) {
  const seen = new Map();
  let offset = null;
  for (;;) {
    const r = await req(op, 'POST', `/collections/${COLL}/points/scroll`, { limit: 1000, offset, with_payload: true, with_vector: false });
    if (!ok2xx(r)) return [`scroll answered ${r.status}`];
    for (const p of r.json.result.points) seen.set(Number(p.id), p.payload);
    offset = r.json.result.next_page_offset;
    if (offset === null || offset === undefined) break;
  }
  const problems = [];
  let missing = 0; let stale = 0; let resurrected = 0;
  for (const [id, v] of present) {
    if (unsure.has(id)) continue;
    const p = seen.get(id);
    if (!p) { if (missing++ < 5) problems.push(`acknowledged point ${id} is missing`); } else if (p.v !== v) { if (stale++ < 5) problems.push(`point ${id} has payload v=${p.v}, acknowledged v=${v}`); }
  }
  for (const id of gone) {
    if (!unsure.has(id) && seen.has(id) && resurrected++ < 5) problems.push(`acknowledged-deleted point ${id} is there`);
  }
  if (missing + stale + resurrected > 0) problems.push(`${missing} missing, ${stale} stale, ${resurrected} deleted-but-present`);
  if (unsure.size === 0) {
    const c = await req(op, 'POST', `/collections/${COLL}/points/count`, { exact: true });
    const n = c.json && c.json.result ? c.json.result.count : -1;
    if (n !== present.size) problems.push(`exact count ${n}, expected ${present.size}`);
  }
  console.log(`# ${op}: ${seen.size} points scrolled, ${present.size} acknowledged present, ${gone.size} acknowledged deleted, ${unsure.size} unsure`);
  return problems;
}

const pct = (a, q) => a[Math.min(a.length - 1, Math.floor(q * a.length))];
const mean = (a) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);

/* ==== Main ==== */

async function main() {
  console.log(`# soak: ${SECONDS} s, ${WRITERS} writers, ${READERS} readers, ${WRITERS * IDS_PER_WRITER} ids, dim ${DIM}, batch ${BATCH}; bin ${BIN}`);
  console.log(`# load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${os.cpus().length} cpus`);
  let srv = await serveStart('soak');
  base = srv.url;
  const cr = await req('create', 'PUT', `/collections/${COLL}`, { vectors: { size: DIM, distance: 'Cosine' } });
  if (!ok2xx(cr)) throw new Error(`creating the collection answered ${cr.status}: ${cr.text}`);

  // Load phase, with RSS sampled every second.
  const samples = [];  // {t, rss, anon} (KiB)
  const sampler = setInterval(() => {
    const s = rssOf(srv.proc.pid);
    if (s) samples.push({ t: (Date.now() - loadStart) / 1000, ...s });
  }, 1000);
  const loadStart = Date.now();
  const loadEnd = loadStart + SECONDS * 1000;
  let lastReport = loadStart;
  const progress = setInterval(() => {
    if (Date.now() - lastReport < Math.max(10, SECONDS / 10) * 1000) return;
    lastReport = Date.now();
    const s = samples[samples.length - 1] || { rss: 0, anon: 0 };
    console.log(`# ${((Date.now() - loadStart) / 1000).toFixed(0)} s: ${present.size} points live, ${counts.upserted} upserted, ${counts.deleted} deleted, ${counts.payload_set} payload sets, RSS ${(s.rss / 1024).toFixed(1)} MiB (anon ${(s.anon / 1024).toFixed(1)}), ${errors.length} errors, load ${os.loadavg()[0].toFixed(2)}`);
  }, 1000);
  await runLoad(() => Date.now() >= loadEnd);
  clearInterval(sampler); clearInterval(progress);
  const loadSeconds = (Date.now() - loadStart) / 1000;

  // 1. Errors.
  check('every request answered 2xx', errors.length <= MAX_ERRORS,
    errors.length ? `${errors.length} errors, first: ${errors[0].op} ${errors[0].status} ${errors[0].body}` : '');

  // 2. Acknowledged writes.
  const problems = await verify('verify');
  check('every acknowledged write is there, no acknowledged delete is', problems.length === 0, problems.join('; '));

  // 3. RSS flat after warm-up.
  if (env.SOAK_RSS_CSV) fs.writeFileSync(env.SOAK_RSS_CSV, 't_s,vmrss_kib,rssanon_kib\n' + samples.map((s) => `${s.t.toFixed(1)},${s.rss},${s.anon}`).join('\n') + '\n');
  const q = Math.floor(samples.length / 4);
  const q2 = samples.slice(q, 2 * q); const q4 = samples.slice(samples.length - q);
  const m2 = mean(q2.map((s) => s.rss)); const m4 = mean(q4.map((s) => s.rss));
  const a2 = mean(q2.map((s) => s.anon)); const a4 = mean(q4.map((s) => s.anon));
  const growth = m2 > 0 ? m4 / m2 - 1 : Infinity;
  const step = Math.max(1, Math.floor(samples.length / 10));
  console.log('# RSS over time (s: VmRSS MiB / RssAnon MiB): ' +
    samples.filter((_, i) => i % step === 0 || i === samples.length - 1).map((s) => `${s.t.toFixed(0)}: ${(s.rss / 1024).toFixed(1)}/${(s.anon / 1024).toFixed(1)}`).join(', '));
  console.log(`# RSS criterion: mean VmRSS of the last quarter <= (1 + ${RSS_GROWTH}) x mean of the second quarter (first quarter = warm-up)`);
  check('RSS flat after warm-up', q >= 2 && growth <= RSS_GROWTH,
    `${samples.length} samples; 2nd quarter ${(m2 / 1024).toFixed(1)} MiB, last quarter ${(m4 / 1024).toFixed(1)} MiB, ${(growth * 100).toFixed(1)} %; RssAnon ${(a2 / 1024).toFixed(1)} -> ${(a4 / 1024).toFixed(1)} MiB`);

  // 4. Latency.
  let worst = { op: '', ms: 0 };
  console.log('# op                 count      p50 ms     p99 ms     max ms');
  for (const [op, a] of [...lat.entries()].sort()) {
    a.sort((x, y) => x - y);
    const max = a[a.length - 1];
    if (max > worst.ms) worst = { op, ms: max };
    console.log(`# ${op.padEnd(16)} ${String(a.length).padStart(7)} ${pct(a, 0.5).toFixed(2).padStart(10)} ${pct(a, 0.99).toFixed(2).padStart(10)} ${max.toFixed(2).padStart(10)}`);
  }
  const nreq = [...lat.values()].reduce((s, a) => s + a.length, 0);
  console.log(`# ${nreq} requests in ${loadSeconds.toFixed(1)} s (${(nreq / loadSeconds).toFixed(0)}/s); ${counts.upserted} points upserted, ${counts.deleted} deleted, ${counts.payload_set} payload sets; snapshots: ${snapshots === 'absent' ? 'skipped (404)' : snapshots}`);
  check(`no request over ${MAX_LATENCY_MS} ms`, worst.ms <= MAX_LATENCY_MS, `slowest: ${worst.op} ${worst.ms.toFixed(0)} ms`);

  // 5. SIGTERM mid-load, then a restart holds every acknowledged write.
  let stopNow = false;
  const load2 = runLoad(() => stopNow);
  await sleep(1500);
  const nBefore = counts.upserted + counts.deleted + counts.payload_set;
  // No new requests after the signal; the ones in flight finish either way.
  terminating = true; stopNow = true;
  srv.proc.kill('SIGTERM');
  const termAt = Date.now();
  const ex = await Promise.race([srv.exited, sleep(30000).then(() => null)]);
  if (ex === null) srv.proc.kill('SIGKILL');
  await load2;
  check('SIGTERM mid-load: exit 0', ex !== null && ex.code === 0,
    ex === null ? 'still running 30 s after SIGTERM (killed)' : `exit code ${ex.code}, signal ${ex.sig}, ${Date.now() - termAt} ms, ${nBefore} point writes acknowledged before it`);
  terminating = false;
  srv = await serveStart('restart');
  base = srv.url;
  const problems2 = await verify('verify_restart');
  check('after restart every acknowledged write is there', problems2.length === 0, problems2.join('; '));
  srv.proc.kill('SIGTERM');
  const ex2 = await Promise.race([srv.exited, sleep(30000).then(() => null)]);
  if (ex2 === null) srv.proc.kill('SIGKILL');
  check('SIGTERM idle after restart: exit 0', ex2 !== null && ex2.code === 0, ex2 ? `exit code ${ex2.code}` : 'timeout');
}

let crashed = null;
try { await main(); } catch (e) { crashed = e; check('soak ran to the end', false, String(e && e.stack ? e.stack : e)); }
const failed = results.filter((r) => !r.ok);
console.log(`# pass ${results.length - failed.length}`);
console.log(`# fail ${failed.length}`);
if (failed.length) {
  console.log('soak: FAILED: ' + failed.map((r) => r.name).join('; '));
  for (const f of fs.readdirSync(tmp).filter((x) => x.endsWith('.err'))) {
    const t = fs.readFileSync(path.join(tmp, f), 'utf8').split('\n').slice(-20).join('\n');
    if (t.trim()) console.log(`== ${f}\n${t}`);
  }
}
if (env.SOAK_KEEP === '1') console.log(`# kept ${tmp}`); else fs.rmSync(tmp, { recursive: true, force: true });
process.exit(failed.length || crashed ? 1 : 0);
