// Probe of background indexing for bench/bgindex.sh (issue 18): right after
// the last acknowledged upsert, (1) the own vector of SELF sampled points
// must come back first (they are mostly in the flat tail: exact), then
// (2) until the collection turns green, rounds of the 64 queries of DATADIR
// (limit 10) one at a time, each round's recall@10 against the exact
// top-10 of DATADIR/truth.json and its latencies, with the status and
// indexed_vectors_count; prints one JSON summary.
// Usage: node bgindex_probe.mjs URL COLLECTION DATADIR N DIM SELF
import { readFileSync } from 'node:fs';
import { readF32, recall, percentile } from './server_data.mjs';

const [url, coll, dir, nStr, dimStr, selfStr] = process.argv.slice(2);
const N = Number(nStr), DIM = Number(dimStr), SELF = Number(selfStr);
const queries = readFileSync(`${dir}/queries.txt`, 'utf8').trim().split('\n');
const truth = JSON.parse(readFileSync(`${dir}/truth.json`, 'utf8'));
const points = readF32(`${dir}/points.f32`);

async function post(body) {
  const r = await fetch(`${url}/collections/${coll}/points/query`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (r.status !== 200) throw new Error(`query: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()).result.points.map((p) => p.id);
}
async function info() {
  return (await (await fetch(`${url}/collections/${coll}`)).json()).result;
}

const t0 = performance.now();
let found = 0;
for (let i = 0; i < SELF; i++) {
  const id = N - 1 - Math.floor((i * 7919) % Math.min(N, 20000)); // the last 20,000: the newest rows
  const v = Array.from(points.subarray(id * DIM, (id + 1) * DIM), (x) => Number(x.toFixed(5)));
  const ids = await post(JSON.stringify({ query: v, limit: 1 }));
  if (ids[0] === id) found++;
}
const rounds = [];
let st = await info();
const first = { status: st.status, indexed: st.indexed_vectors_count, points: st.points_count };
for (;;) {
  const lat = [], answers = [];
  for (const q of queries) {
    const a = performance.now();
    answers.push(await post(`{"query":${q},"limit":10}`));
    lat.push(performance.now() - a);
  }
  lat.sort((a, b) => a - b);
  st = await info();
  rounds.push({ t_s: Number(((performance.now() - t0) / 1000).toFixed(1)), status: st.status,
    indexed: st.indexed_vectors_count, recall: Number(recall(answers, truth).toFixed(4)),
    p50_ms: Number(percentile(lat, 50).toFixed(2)), p99_ms: Number(percentile(lat, 99).toFixed(2)) });
  if (st.status === 'green') break;
}
const during = rounds.slice(0, -1);
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : null; };
console.log(JSON.stringify({
  self_found: `${found}/${SELF}`, after_load: first, green_after_s: rounds[rounds.length - 1].t_s,
  during: { rounds: during.length, min_recall: during.length ? Math.min(...during.map((r) => r.recall)) : null,
    median_p50_ms: med(during.map((r) => r.p50_ms)) },
  green: rounds[rounds.length - 1], rounds }));
