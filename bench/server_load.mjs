// Loader for bench/server.sh and bench/bgindex.sh: upserts N pseudo-random
// vectors of DIM floats into COLLECTION through the HTTP API in batches (the
// Qdrant `batch` form), CONC requests at a time, and prints the points per
// second. The vectors are read from POINTS (points.f32 written by
// bench/server_data.mjs) or, without it, generated with the same LCG.
// Every request body is serialized to JSON before the clock starts, so the
// timed phase measures the server (parse, validation, durable write, the
// answer after the fsync with wait=true) and not node's JSON.stringify; the
// client's own CPU seconds during the timed phase are printed too
// (client_cpu_s: sending the bodies, reading the answers), since on a small
// machine the client shares the cores with the server.
// Usage: node server_load.mjs URL COLLECTION N DIM BATCH CONC [POINTS]
import { readF32, vectors } from './server_data.mjs';
const [url, coll, nStr, dimStr, batchStr, concStr, pointsFile] = process.argv.slice(2);
const N = Number(nStr), DIM = Number(dimStr), BATCH = Number(batchStr), CONC = Number(concStr);
const data = pointsFile ? readF32(pointsFile).subarray(0, N * DIM) : vectors(12345, N, DIM, 5);

function body(start) {
  const ids = [], vectors = [], payloads = [];
  for (let i = start; i < Math.min(start + BATCH, N); i++) {
    ids.push(i);
    vectors.push(Array.from(data.subarray(i * DIM, (i + 1) * DIM), (x) => Number(x.toFixed(5))));
    payloads.push({ group: i % 10, name: `p${i}` });
  }
  return JSON.stringify({ batch: { ids, vectors, payloads } });
}

const bodies = [];
for (let s = 0; s < N; s += BATCH) bodies.push(body(s)); // generated before timing
let next = 0, failed = 0;
async function worker() {
  while (next < bodies.length) {
    const b = bodies[next++];
    const r = await fetch(`${url}/collections/${coll}/points?wait=true`, {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: b });
    if (r.status !== 200) { failed++; console.error(await r.text()); }
    else await r.arrayBuffer();
  }
}
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await Promise.all(Array.from({ length: CONC }, worker));
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ points: N, seconds: Number(secs.toFixed(3)), points_per_s: Math.round(N / secs), failed,
  client_cpu_s: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)) }));
process.exit(failed ? 1 : 0);
