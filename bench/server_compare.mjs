// Side-by-side table for bench/server.sh: semcode over HTTP and gRPC (files
// written by the script into DIR), semcode in-process (DIR/inproc.json, from
// bench/server_inproc.c) and the in-process peer (DIR/peer.json), with the
// ratios semcode / peer of every row. The semcode HTTP column holds the
// gRPC upsert rows too (its own server and store, the same points); the
// "during indexing" query rows were run while the collection was yellow
// (a run marked ² ended green). Usage: node server_compare.mjs DIR
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
  const [kind, conns, rps, p50, p99, status, indexed] = l.split(/\s+/);
  return { kind, conns: Number(conns), rps: Number(rps), p50_ms: ms(p50), p99_ms: ms(p99), status, indexed };
});
const opt = (f, parse) => (existsSync(`${dir}/${f}`) ? parse(readFileSync(`${dir}/${f}`, 'utf8')) : null);
const grpcLoad = opt('semcode_grpc_load.json', JSON.parse);
const grpcHwmKb = opt('semcode_grpc_hwm', Number);
const recDuring = opt('semcode_recall_during.json', JSON.parse);
const greenS = opt('semcode_green_s', Number);
const peer = existsSync(`${dir}/peer.json`) ? json('peer.json') : null;
const inproc = existsSync(`${dir}/inproc.json`) ? json('inproc.json') : null;

const fmt = (x, d) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');
const rows = [];
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b ? `${fmt(a / b, 2)}×` : '–');
const row = (what, a, c, b, d) => rows.push([what, fmt(a, d), fmt(c, d), fmt(b, d), ratio(a, b), ratio(c, b)]);
const N = load.points;
const get = (o, f) => (o ? f(o) : NaN);
row('upsert / load, points/s (semcode HTTP: acknowledged = durable and searchable, graph built in the background; peer: append only)', load.points_per_s,
    get(inproc, (o) => N / o.load_s), get(peer, (o) => N / o.load_s), 0);
row('upsert over gRPC, points/s (official client, no compression)', get(grpcLoad, (o) => o.points_per_s), NaN,
    get(peer, (o) => N / o.load_s), 0);
row('server CPU seconds for the gRPC load', get(grpcLoad, (o) => o.server_cpu_s), NaN, NaN, 1);
row('index build after the load, s (semcode: background, last ack to green)', greenS ?? NaN, NaN,
    get(peer, (o) => o.index_s), 1);
row('points/s until indexed (load + build; semcode HTTP: its graph caught up while serving the queries below)',
    greenS == null ? load.points_per_s : N / (load.seconds + greenS), get(inproc, (o) => N / o.load_s),
    get(peer, (o) => N / (o.load_s + o.index_s)), 0);
row('CPU seconds of the load (semcode HTTP: the acknowledged writes, not the background graph; peer: load + build)',
    cpuS, get(inproc, (o) => o.load_cpu_s), get(peer, (o) => o.load_cpu_s + o.index_cpu_s), 1);
row('recall@10 during indexing (yellow)', get(recDuring, (o) => o.hnsw), NaN, NaN, 4);
row('recall@10, index', rec.hnsw, get(inproc, (o) => o.recall_hnsw), get(peer, (o) => o.recall_hnsw), 4);
row('recall@10, exact', rec.exact, get(inproc, (o) => o.recall_exact), get(peer, (o) => o.recall_exact), 4);
for (const r of runs) {
  const find = (o) => o && o.runs.find((x) => x.kind === r.kind && x.conns === r.conns);
  const p = find(peer), c = find(inproc);
  const during = r.kind === 'during';
  const label = during ? `during indexing c=${r.conns}${r.status === 'green' ? ' ²' : ''} (${r.indexed} indexed at its end)`
                       : `${r.kind === 'hnsw' ? 'index' : 'exact'} c=${r.conns}`;
  row(`${label}: requests/s`, r.rps, get(c, (o) => o.rps), get(p, (o) => o.rps), 0);
  row(`${label}: p50 ms`, r.p50_ms, get(c, (o) => o.p50_ms), get(p, (o) => o.p50_ms), 2);
  row(`${label}: p99 ms`, r.p99_ms, get(c, (o) => o.p99_ms), get(p, (o) => o.p99_ms), 2);
}
row('peak RSS MB (VmHWM; semcode: HTTP load and every query run)', hwmKb / 1024, get(inproc, (o) => o.vmhwm_kb / 1024), get(peer, (o) => o.vmhwm_kb / 1024), 0);
row('peak RSS MB of the gRPC load\'s server', grpcHwmKb == null ? NaN : grpcHwmKb / 1024, NaN, NaN, 0);
row('RSS before opening the database, MB (process + source vectors)', NaN,
    get(inproc, (o) => o.baseline_rss_kb / 1024), get(peer, (o) => o.baseline_rss_kb / 1024), 0);

console.log(`| measure | semcode HTTP (wrk) | semcode in-process | ${peer ? peer.system : 'peer (not run)'} | HTTP / peer | in-process / peer |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (peer) console.log(`\npeer index: ${peer.index}`);
