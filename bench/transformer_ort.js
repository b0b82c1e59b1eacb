// bench/transformer_ort: ONNX Runtime's side of bench/transformer.sh.
// Reads token ids (one JSON array per line, as `semcode embed --tokens`
// prints them, so both engines see the same ids), sorts them by length,
// runs batches of BATCH padded to the longest sequence of the batch with an
// attention mask, on THREADS intra-op threads, after one warm-up batch.
// Prints one JSON line like transformer_bench.
//
//   node bench/transformer_ort.js MODEL.onnx IDS_FILE BATCH THREADS [ROUNDS]
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, idsFile, batchS, threadsS, roundsS] = process.argv.slice(2);
  const batch = parseInt(batchS, 10), threads = parseInt(threadsS, 10), rounds = parseInt(roundsS || '1', 10);
  const seqs = fs.readFileSync(idsFile, 'utf8').split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
  const order = seqs.map((_, i) => i).sort((a, b) => seqs[b].length - seqs[a].length || a - b);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const batches = [];
  for (let b = 0; b < order.length; b += batch) {
    const idx = order.slice(b, b + batch);
    const L = Math.max(...idx.map((i) => seqs[i].length));
    const ids = new BigInt64Array(idx.length * L), mask = new BigInt64Array(idx.length * L);
    idx.forEach((i, r) => seqs[i].forEach((t, c) => { ids[r * L + c] = BigInt(t); mask[r * L + c] = 1n; }));
    batches.push({
      input_ids: new ort.Tensor('int64', ids, [idx.length, L]),
      attention_mask: new ort.Tensor('int64', mask, [idx.length, L]),
    });
  }
  await session.run(batches[0]);
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < rounds; k++) for (const feeds of batches) await session.run(feeds);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const tokens = seqs.reduce((s, q) => s + q.length, 0) * rounds;
  console.log(JSON.stringify({ engine: 'onnxruntime-node ' + require('onnxruntime-node/package.json').version,
    sentences: seqs.length * rounds, tokens, seconds: +dt.toFixed(3), per_s: +(seqs.length * rounds / dt).toFixed(1) }));
}
main().catch((e) => { console.error(e); process.exit(1); });
