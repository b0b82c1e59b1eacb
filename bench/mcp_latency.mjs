// Latency of MCP tool calls (issue 19): search_code through the official
// MCP TypeScript SDK client, over stdio (`semcode mcp`) and Streamable HTTP
// (`semcode serve --repo` at /mcp), on an existing index (the CPython
// standard library in docs/BENCHMARKS.md). Reports, per transport, the time
// from spawning the server to the first search_code answer (partial or
// not) and of that first call alone, then p50 / p90 / p99 / max of N calls once the start-up update has
// ended (client-side wall time of callTool: JSON-RPC, search, output cut to
// the default budget). Query texts: the written queries of
// bench/queries/*.jsonl, in order, repeated as needed. No peer: the issue's
// goals are absolute (answer within 1 s).
// Usage: node bench/mcp_latency.mjs TREE STORE [N=200] [MODE=hybrid]
//   (index first: semcode index TREE --store STORE)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.SEMCODE_BIN || path.join(here, '../build/semcode');
const [tree, store, nArg, modeArg] = process.argv.slice(2);
if (!tree || !store) {
  console.error('usage: node bench/mcp_latency.mjs TREE STORE [N=200] [MODE=hybrid]');
  process.exit(2);
}
const N = Number(nArg || 200);
const mode = modeArg || 'hybrid';
const qdir = path.join(here, 'queries');
const queries = fs.readdirSync(qdir).filter((f) => f.endsWith('.jsonl')).sort()
  .flatMap((f) => fs.readFileSync(path.join(qdir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).query));
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

async function measure(name, client, t0) {
  const t1 = performance.now();
  const first = await client.callTool({ name: 'search_code', arguments: { query: queries[0], mode } });
  const firstMs = performance.now() - t0, firstCallMs = performance.now() - t1;
  const firstPartial = JSON.parse(first.content[0].text).partial;
  for (;;) { // wait for the start-up update to end
    const s = JSON.parse((await client.callTool({ name: 'index_status', arguments: {} })).content[0].text);
    if (s.state === 'idle') break;
    await sleep(200);
  }
  for (let i = 0; i < 5; i++) await client.callTool({ name: 'search_code', arguments: { query: queries[i], mode } });
  const ms = [];
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    const r = await client.callTool({ name: 'search_code', arguments: { query: queries[i % queries.length], mode } });
    ms.push(performance.now() - t);
    bytes += r.content[0].text.length;
  }
  ms.sort((a, b) => a - b);
  console.log(`${name}: first answer ${firstMs.toFixed(0)} ms after spawn, the call itself ${firstCallMs.toFixed(0)} ms ` +
    `(partial ${firstPartial}); ` +
    `search_code ${mode}, ${N} calls: p50 ${pct(ms, 0.5).toFixed(1)} ms, p90 ${pct(ms, 0.9).toFixed(1)} ms, ` +
    `p99 ${pct(ms, 0.99).toFixed(1)} ms, max ${ms[ms.length - 1].toFixed(1)} ms; mean output ${(bytes / N).toFixed(0)} bytes`);
}

async function stdio() {
  const t0 = performance.now();
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StdioClientTransport({ command: bin, args: ['mcp', '--repo', tree, '--store', store] }));
  await measure('stdio', client, t0);
  await client.close();
}

async function http() {
  const t0 = performance.now();
  const dir = fs.mkdtempSync('/tmp/semcode-mcp-bench-');
  const portFile = path.join(dir, 'port');
  const proc = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', '0', '--port-file', portFile, '--store',
    path.join(dir, 'store'), '--repo', tree, '--repo-store', store, '--log', path.join(dir, 'log')], { stdio: 'ignore' });
  try {
    while (!(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim())) await sleep(20);
    const url = new URL(`http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}/mcp`);
    const client = new Client({ name: 'bench', version: '1' });
    for (;;) { // connect once the server is ready
      try {
        await client.connect(new StreamableHTTPClientTransport(url));
        break;
      } catch { await sleep(20); }
    }
    await measure('http', client, t0);
    await client.close();
  } finally {
    proc.kill('SIGTERM');
    await new Promise((ok) => proc.on('exit', ok));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await stdio();
await http();
