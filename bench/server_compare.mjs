// Side-by-side table for bench/server.sh: semcode's results (files written
// by the script into DIR) next to the peer's (DIR/peer.json), with the
// ratio semcode / peer of every row. Usage: node server_compare.mjs DIR
import { existsSync, readFileSync } from 'node:fs';

const dir = process.argv[2];
const json = (f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
const load = json('semcode_load.json'), rec = json('semcode_recall.json');
const hwmKb = Number(readFileSync(`${dir}/semcode_hwm`, 'utf8'));
const cpuS = Number(readFileSync(`${dir}/semcode_load_cpu`, 'utf8'));
const ms = (s) => { // wrk's latency: 830.00us, 6.00ms, 1.02s, 1.50m
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s);
  return m ? Number(m[1]) * { us: 1e-3, ms: 1, s: 1e3, m: 6e4 }[m[2]] : NaN;
};
const runs = readFileSync(`${dir}/semcode_runs.txt`, 'utf8').trim().split('\n').map((l) => {
  const [kind, conns, rps, p50, p99] = l.split(/\s+/);
  return { kind, conns: Number(conns), rps: Number(rps), p50_ms: ms(p50), p99_ms: ms(p99) };
});
const peer = existsSync(`${dir}/peer.json`) ? json('peer.json') : null;

const fmt = (x, d) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');
const rows = [];
const row = (what, a, b, d) => rows.push([what, fmt(a, d), peer ? fmt(b, d) : '–',
  peer && Number.isFinite(a) && Number.isFinite(b) && b ? `${fmt(a / b, 2)}×` : '–']);
const N = load.points;
row('upsert / load, points/s (semcode: HNSW built while loading; peer: append only)', load.points_per_s, peer && N / peer.load_s, 0);
row('index build after the load, s', NaN, peer && peer.index_s, 1);
row('points/s until indexed (load + build)', load.points_per_s, peer && N / (peer.load_s + peer.index_s), 0);
row('CPU seconds until indexed (all threads)', cpuS, peer && peer.load_cpu_s + peer.index_cpu_s, 1);
row('recall@10, index', rec.hnsw, peer && peer.recall_hnsw, 4);
row('recall@10, exact', rec.exact, peer && peer.recall_exact, 4);
for (const r of runs) {
  const p = peer && peer.runs.find((x) => x.kind === r.kind && x.conns === r.conns);
  const label = `${r.kind === 'hnsw' ? 'index' : 'exact'} c=${r.conns}`;
  row(`${label}: requests/s`, r.rps, p && p.rps, 0);
  row(`${label}: p50 ms`, r.p50_ms, p && p.p50_ms, 2);
  row(`${label}: p99 ms`, r.p99_ms, p && p.p99_ms, 2);
}
row('peak RSS MB (VmHWM)', hwmKb / 1024, peer && peer.vmhwm_kb / 1024, 0);
row('peer RSS before opening the database, MB (node + source vectors)', NaN, peer && peer.baseline_rss_kb / 1024, 0);

console.log(`| measure | semcode (HTTP, wrk) | ${peer ? peer.system : 'peer (not run)'} | semcode / peer |`);
console.log('| --- | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (peer) console.log(`\npeer index: ${peer.index}`);
