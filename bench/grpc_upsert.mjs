// Loader for bench/grpc_upsert.sh: upserts N vectors of DIM floats (the LCG
// of bench/server_data.mjs, 5 decimals (as JSON text too, as
// bench/server_load.mjs sends them), payload {group, name}) into a fresh
// collection over one protocol, BATCH points a request, CONC requests in
// flight, wait=true, and prints one JSON line: protocol, points/s, and the
// server's CPU seconds for the load (from /proc/PID/stat).
//   node bench/grpc_upsert.mjs http URL PID N DIM BATCH CONC M [POINTS]
//   node bench/grpc_upsert.mjs grpc|grpc-gzip PORT PID N DIM BATCH CONC M [POINTS]
// POINTS: points.f32 of bench/server_data.mjs (bench/server.sh's data)
// instead of the LCG vectors.
// M is the collection's hnsw_config.m (16 = the default graph built on
// every write; 0 = no graph, which leaves the protocol and the store's
// durable write as the cost). Requests are built before the clock starts;
// the point count is checked over REST ($SEMCODE_URL) afterwards.
import fs from 'node:fs';
import { QdrantClient } from '@qdrant/js-client-grpc';
import { readF32, vectors } from './server_data.mjs';

const [proto, where, pidStr, nStr, dimStr, batchStr, concStr, mStr, pointsFile] = process.argv.slice(2);
const N = Number(nStr), DIM = Number(dimStr), BATCH = Number(batchStr), CONC = Number(concStr), M = Number(mStr);
const data = pointsFile ? readF32(pointsFile).subarray(0, N * DIM) : vectors(12345, N, DIM, 5);
const coll = `load_${proto.replace('-', '_')}_m${M}`;
const hz = 100; // CLK_TCK on Linux
const cpu = () => { const f = fs.readFileSync(`/proc/${pidStr}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / hz; };

const batches = [];
let send; // sends one prepared batch
if (proto === 'http') {
  const url = where;
  const r = await fetch(`${url}/collections/${coll}`, { method: 'PUT', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ vectors: { size: DIM, distance: 'Cosine' }, hnsw_config: { m: M } }) });
  if (r.status !== 200) throw new Error(await r.text());
  for (let s = 0; s < N; s += BATCH) {
    const points = [];
    for (let i = s; i < Math.min(s + BATCH, N); i++)
      points.push({ id: i, vector: Array.from(data.subarray(i * DIM, (i + 1) * DIM), (x) => Number(x.toFixed(5))), payload: { group: i % 10, name: `p${i}` } });
    batches.push(JSON.stringify({ points }));
  }
  send = async (b) => {
    const r2 = await fetch(`${url}/collections/${coll}/points?wait=true`, { method: 'PUT',
      headers: { 'content-type': 'application/json' }, body: b });
    if (r2.status !== 200) throw new Error(await r2.text());
    await r2.arrayBuffer();
  };
} else {
  const client = new QdrantClient({ host: '127.0.0.1', port: Number(where), checkCompatibility: false,
    compression: proto === 'grpc-gzip' });
  await client.api('collections').create({ collectionName: coll,
    vectorsConfig: { config: { case: 'params', value: { size: BigInt(DIM), distance: 1 } } },
    hnswConfig: { m: BigInt(M) } });
  for (let s = 0; s < N; s += BATCH) {
    const points = [];
    for (let i = s; i < Math.min(s + BATCH, N); i++)
      points.push({ id: { pointIdOptions: { case: 'num', value: BigInt(i) } },
        vectors: { vectorsOptions: { case: 'vector', value: { vector: { case: 'dense',
          value: { data: Array.from(data.subarray(i * DIM, (i + 1) * DIM)) } } } } },
        payload: { group: { kind: { case: 'integerValue', value: BigInt(i % 10) } },
          name: { kind: { case: 'stringValue', value: `p${i}` } } } });
    batches.push({ collectionName: coll, wait: true, points });
  }
  const pts = client.api('points');
  send = async (b) => { await pts.upsert(b); };
}

let next = 0;
async function worker() { while (next < batches.length) await send(batches[next++]); }
const c0 = cpu(), t0 = process.hrtime.bigint();
await Promise.all(Array.from({ length: CONC }, worker));
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const c1 = cpu();
// every acknowledged point is there
const cr = await fetch(`${process.env.SEMCODE_URL}/collections/${coll}/points/count`, { method: 'POST',
  headers: { 'content-type': 'application/json' }, body: '{"exact": true}' });
const count = (await cr.json()).result.count;
if (count !== N) throw new Error(`${coll}: ${count} points after the load, expected ${N}`);
console.log(JSON.stringify({ protocol: proto, m: M, points: N, dim: DIM, batch: BATCH, conc: CONC,
  seconds: Number(secs.toFixed(3)), points_per_s: Math.round(N / secs), server_cpu_s: Number((c1 - c0).toFixed(2)), points_count: count }));
process.exit(0);
