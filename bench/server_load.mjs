// Loader for bench/server.sh: upserts N deterministic pseudo-random
// vectors of DIM floats into COLLECTION through the HTTP API in batches
// (the Qdrant `batch` form), CONC requests at a time, and prints the
// points per second. Usage: node server_load.mjs URL COLLECTION N DIM BATCH CONC
const [url, coll, nStr, dimStr, batchStr, concStr] = process.argv.slice(2);
const N = Number(nStr), DIM = Number(dimStr), BATCH = Number(batchStr), CONC = Number(concStr);

let seed = 12345n;
function rnd() { // 64-bit LCG, top bits as a float in [-1, 1)
  seed = (seed * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
  return Number(seed >> 40n) / 8388608 - 1;
}

function body(start) {
  const ids = [], vectors = [], payloads = [];
  for (let i = start; i < Math.min(start + BATCH, N); i++) {
    ids.push(i);
    const v = new Array(DIM);
    for (let j = 0; j < DIM; j++) v[j] = Number(rnd().toFixed(5));
    vectors.push(v);
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
const t0 = process.hrtime.bigint();
await Promise.all(Array.from({ length: CONC }, worker));
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ points: N, seconds: Number(secs.toFixed(3)), points_per_s: Math.round(N / secs), failed }));
process.exit(failed ? 1 : 0);
