// Time to the first answer of `semcode mcp` on a cold tree (issue 19,
// "Measured": the first call answers within 1 s while a first index is
// still being built, with keyword results over what is indexed so far,
// marked partial). Spawns `semcode mcp --repo TREE --store STORE` (STORE
// must not hold an index: the start-up run builds the first one) through
// the official MCP TypeScript SDK client over stdio, and reports: the time
// from spawn to the initialize answer, to the first search_code answer, and
// of that call alone; whether it was partial and how many results it had;
// then the same for a few more calls spaced over the next seconds (results
// grow as groups of files are committed). No peer: the goal is absolute.
// Usage: node bench/mcp_cold.mjs TREE STORE [QUERY="read the configuration file"] [CALLS=5] [GAP_MS=2000]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.SEMCODE_BIN || path.join(here, '../build/semcode');
const [tree, store, queryArg, callsArg, gapArg] = process.argv.slice(2);
if (!tree || !store) {
  console.error('usage: node bench/mcp_cold.mjs TREE STORE [QUERY] [CALLS=5] [GAP_MS=2000]');
  process.exit(2);
}
const query = queryArg || 'read the configuration file';
const calls = Number(callsArg || 5), gap = Number(gapArg || 2000);
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

const t0 = performance.now();
const client = new Client({ name: 'semcode-bench-cold', version: '1.0.0' });
const transport = new StdioClientTransport({ command: bin, args: ['mcp', '--repo', tree, '--store', store], stderr: 'ignore' });
await client.connect(transport);
const initMs = performance.now() - t0;
for (let i = 0; i < calls; i++) {
  const t1 = performance.now();
  const r = await client.callTool({ name: 'search_code', arguments: { query, mode: 'hybrid', limit: 10 } });
  const t2 = performance.now();
  const o = JSON.parse(r.content[0].text);
  const p = o.progress || {};
  console.log(`call ${i + 1}: answered ${(t2 - t0).toFixed(0)} ms after spawn (the call ${(t2 - t1).toFixed(0)} ms), ` +
    `partial ${o.partial}, mode ${o.mode}, ${o.results?.length ?? 0} results` +
    (o.partial ? `, run stage ${p.stage} files ${p.files_done}/${p.files_total} entities ${p.entities}` : '') +
    (i === 0 ? ` (initialize answered ${initMs.toFixed(0)} ms after spawn)` : ''));
  if (i + 1 < calls) await sleep(gap);
}
await client.close();
