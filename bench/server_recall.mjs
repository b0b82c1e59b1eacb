// recall@10 of semcode's HTTP answers for bench/server.sh: posts each query
// of DATADIR/queries.txt to /points/query (limit 10) once through the index
// and once with params.exact, and compares the ids with DATADIR/truth.json.
// Usage: node server_recall.mjs URL COLLECTION DATADIR OUT.json
import { readFileSync, writeFileSync } from 'node:fs';
import { recall } from './server_data.mjs';

const [url, coll, dir, outFile] = process.argv.slice(2);
const queries = readFileSync(`${dir}/queries.txt`, 'utf8').trim().split('\n');
const truth = JSON.parse(readFileSync(`${dir}/truth.json`, 'utf8'));
const out = {};
for (const [kind, extra] of [['hnsw', ''], ['exact', ',"params":{"exact":true}']]) {
  const answers = [];
  for (const q of queries) {
    const r = await fetch(`${url}/collections/${coll}/points/query`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: `{"query":${q},"limit":10${extra}}` });
    if (r.status !== 200) throw new Error(`query: HTTP ${r.status} ${await r.text()}`);
    answers.push((await r.json()).result.points.map((p) => p.id));
  }
  out[kind] = recall(answers, truth);
}
console.log(`   recall@10: HNSW ${out.hnsw.toFixed(4)}, exact ${out.exact.toFixed(4)}`);
writeFileSync(outFile, JSON.stringify(out));
