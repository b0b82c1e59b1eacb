// The peer side of bench/server.sh (issue 9): the same points, queries and
// ground truth (bench/server_data.mjs) through LanceDB's Node package, run
// IN-PROCESS (native calls from node, no HTTP), so its path is not the
// same as semcode's HTTP path: no request parsing, no sockets.
//
//   node bench/peer/lancedb.mjs DATADIR N DIM SECONDS DBDIR OUT.json
//
// 1. load: N points (id, vector, payload group/name as columns) appended in
//    batches of 1,000 as Arrow tables built before timing, 2 adds in flight;
// 2. index: IVF_HNSW_SQ with one partition (a single HNSW graph over 8-bit
//    scalar-quantised vectors), cosine, m 16, ef_construction 100;
// 3. recall@10 of the 64 queries against the exact top-10, once through the
//    index (ef 64) and once with bypassVectorIndex (flat scan);
// 4. queries: limit 10, only `id` returned, the 64 queries in rotation, C
//    calls in flight (C = 1, 8, 32) for SECONDS each, through the index and
//    then exact; requests/s and p50/p99 latency of each call;
// 5. peak RSS (VmHWM) of this node process, and its RSS before LanceDB was
//    opened (node plus the source vectors it holds).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as lancedb from '@lancedb/lancedb';
import { percentile, readF32, recall } from '../server_data.mjs';

// LanceDB's dist is CommonJS and checks `instanceof arrow.Table`: take the
// same (CommonJS) instance of apache-arrow, not the ESM build.
const arrow = createRequire(import.meta.url)('apache-arrow');

const [dir, nStr, dimStr, secsStr, dbDir, outFile] = process.argv.slice(2);
const N = Number(nStr), DIM = Number(dimStr), SECS = Number(secsStr), BATCH = 1000, LOAD_CONC = 2;
const EF = 64, M = 16, EF_CONSTRUCTION = 100;

function statusKb(field) {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const points = readF32(`${dir}/points.f32`).subarray(0, N * DIM);
const queries = readF32(`${dir}/queries.f32`);
const NQ = queries.length / DIM;
const qvecs = Array.from({ length: NQ }, (_, q) => queries.slice(q * DIM, (q + 1) * DIM));
const truth = JSON.parse(readFileSync(`${dir}/truth.json`, 'utf8'));

const vecType = new arrow.FixedSizeList(DIM, new arrow.Field('item', new arrow.Float32(), true));
const schema = new arrow.Schema([
  new arrow.Field('id', new arrow.Int32(), false),
  new arrow.Field('vector', vecType, true),
  new arrow.Field('group', new arrow.Int32(), true),
  new arrow.Field('name', new arrow.Utf8(), true),
]);

function batchTable(start, end) {
  const n = end - start;
  const ids = Int32Array.from({ length: n }, (_, k) => start + k);
  const groups = ids.map((i) => i % 10);
  const f32 = arrow.makeData({ type: new arrow.Float32(), length: n * DIM, nullCount: 0,
                               data: points.slice(start * DIM, end * DIM) });
  const cols = [
    arrow.makeData({ type: new arrow.Int32(), length: n, nullCount: 0, data: ids }),
    arrow.makeData({ type: vecType, length: n, nullCount: 0, child: f32 }),
    arrow.makeData({ type: new arrow.Int32(), length: n, nullCount: 0, data: groups }),
    arrow.vectorFromArray(Array.from(ids, (i) => `p${i}`), new arrow.Utf8()).data[0],
  ];
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, nullCount: 0, children: cols });
  return new arrow.Table(schema, new arrow.RecordBatch(schema, struct));
}

const batches = [];
for (let s = 0; s < N; s += BATCH) batches.push(batchTable(s, Math.min(N, s + BATCH))); // before timing
const baselineKb = statusKb('VmRSS');

const db = await lancedb.connect(dbDir);
const table = await db.createEmptyTable('bench', schema, { mode: 'overwrite' });

// 1. load
let next = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(Array.from({ length: LOAD_CONC }, async () => {
  while (next < batches.length) await table.add(batches[next++]);
}));
const loadS = (performance.now() - t0) / 1000;
const cpuS = (c) => (c.user + c.system) / 1e6;
const loadCpuS = cpuS(process.cpuUsage(cpu0));
const rows = await table.countRows();
console.log(`   loaded ${rows} rows in ${loadS.toFixed(2)} s = ${Math.round(N / loadS)} points/s (append, no index; ${loadCpuS.toFixed(1)} CPU s)`);

// 2. index
const cpu1 = process.cpuUsage();
const t1 = performance.now();
await table.createIndex('vector', {
  config: lancedb.Index.hnswSq({ distanceType: 'cosine', numPartitions: 1, m: M, efConstruction: EF_CONSTRUCTION }),
});
const indexS = (performance.now() - t1) / 1000;
const indexCpuS = cpuS(process.cpuUsage(cpu1));
console.log(`   IVF_HNSW_SQ (1 partition, m ${M}, ef_construction ${EF_CONSTRUCTION}) built in ${indexS.toFixed(2)} s (${indexCpuS.toFixed(1)} CPU s)`);

const search = {
  hnsw: (q) => table.vectorSearch(qvecs[q]).distanceType('cosine').ef(EF).limit(10).select(['id']).toArray(),
  exact: (q) => table.vectorSearch(qvecs[q]).distanceType('cosine').bypassVectorIndex().limit(10).select(['id']).toArray(),
};

// 3. recall (also warms the caches before the timed runs)
const rec = {};
for (const kind of ['hnsw', 'exact']) {
  const answers = [];
  for (let q = 0; q < NQ; q++) answers.push((await search[kind](q)).map((r) => r.id));
  rec[kind] = recall(answers, truth);
}
console.log(`   recall@10: index ${rec.hnsw.toFixed(4)}, exact ${rec.exact.toFixed(4)}`);

// 4. queries
async function drive(fn, conc) {
  const lat = [];
  let n = 0;
  const start = performance.now(), end = start + SECS * 1000;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      await fn(n++ % NQ);
      lat.push(performance.now() - s);
    }
  }));
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { rps: lat.length / secs, p50_ms: percentile(lat, 50), p99_ms: percentile(lat, 99) };
}
const runs = [];
for (const kind of ['hnsw', 'exact'])
  for (const conc of [1, 8, 32]) {
    const r = { kind, conns: conc, ...(await drive(search[kind], conc)) };
    runs.push(r);
    console.log(`${kind.padEnd(6)} c=${String(conc).padEnd(3)} ${r.rps.toFixed(2).padStart(10)} req/s   ` +
                `p50 ${r.p50_ms.toFixed(2)}ms  p99 ${r.p99_ms.toFixed(2)}ms`);
  }

// 5. memory
const hwmKb = statusKb('VmHWM');
console.log(`== peer peak RSS: ${hwmKb} kB (before opening LanceDB: ${baselineKb} kB)`);
writeFileSync(outFile, JSON.stringify({
  system: `LanceDB ${JSON.parse(readFileSync(new URL('./node_modules/@lancedb/lancedb/package.json', import.meta.url))).version} (in-process, node ${process.version})`,
  index: `IVF_HNSW_SQ, 1 partition, m ${M}, ef_construction ${EF_CONSTRUCTION}, ef ${EF}`,
  points: rows, load_s: loadS, load_cpu_s: loadCpuS, index_s: indexS, index_cpu_s: indexCpuS, recall_hnsw: rec.hnsw, recall_exact: rec.exact, runs,
  vmhwm_kb: hwmKb, baseline_rss_kb: baselineKb,
}));
process.exit(0);
