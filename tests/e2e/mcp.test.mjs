// End-to-end tests of the MCP server (issue 19) with the official MCP
// TypeScript SDK client (@modelcontextprotocol/sdk), over both transports:
// `semcode mcp` on stdio and `semcode serve --repo` at /mcp (Streamable
// HTTP). Each lists the tools (their definitions counted under 1,500
// tokens), calls every tool, and checks that bad arguments get JSON-RPC
// errors naming the field. Then: API keys and tenants on /mcp, sessions,
// and a first index held in the middle of its run by a slow embedding
// endpoint, during which the first search still answers within 1 s with
// partial keyword results. Run: node --test tests/e2e/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { heldEndpoint } from './net_util.mjs';
import { serve, sleep, stop } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = process.env.SEMCODE_BIN || path.join(top, 'build/semcode');
const fixture = path.join(top, 'tests/fixtures/repo');
const TOOLS = ['search_code', 'find_similar', 'find_duplicates', 'get_entity', 'search_history', 'index_status', 'reindex'];
const ADMIN = 'mcp-admin-key-0123456789abcdef';
const READ = 'mcp-read-key-0123456789abcdef';
const TENANT = 'mcp-tenant-key-0123456789abcd';

let tmp, repo;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-mcp-'));
  repo = path.join(tmp, 'repo');
  fs.cpSync(fixture, repo, { recursive: true });
  const r = spawnSync(bin, ['index', repo, '-q'], { encoding: 'utf8', timeout: 120000 });
  assert.equal(r.status, 0, r.stderr);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Tokens of a text, counted as an upper bound of what BPE vocabularies
// (cl100k, o200k, Claude's) give: the larger of bytes / 3 and the number of
// pieces when every run of letters, every run of digits and every other
// non-space character counts as one token (BPE merges many of them).
export function countTokens(s) {
  const pieces = (s.match(/[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]/g) || []).length;
  return Math.max(Math.ceil(Buffer.byteLength(s) / 3), pieces);
}

// The JSON object in a tool result's text content.
function body(res) {
  assert.equal(res.content[0].type, 'text');
  return JSON.parse(res.content[0].text);
}

async function callOk(client, name, args = {}) {
  const res = await client.callTool({ name, arguments: args });
  assert.ok(!res.isError, `${name} failed: ${res.content?.[0]?.text}`);
  return body(res);
}

// A JSON-RPC error of the call: its code, and the field its message and data name.
async function callErr(client, name, args, field) {
  let message;
  await assert.rejects(client.callTool({ name, arguments: args }), (e) => {
    assert.equal(e.code, -32602, e.message);
    assert.match(e.message, new RegExp('`' + field.replace(/[[\]]/g, '\\$&') + '`'));
    assert.equal(e.data?.field, field);
    message = e.message;
    return true;
  });
  return message;
}

async function waitIdle(client, ms = 20000) {
  const t0 = Date.now();
  for (;;) {
    const s = await callOk(client, 'index_status');
    if (s.state === 'idle') return s;
    assert.ok(Date.now() - t0 < ms, `the index run did not end: ${JSON.stringify(s)}`);
    await sleep(100);
  }
}

// Every tool, each argument error, pagination and the budget, on a connected client.
async function exerciseAll(client) {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOLS].sort());
  const tokens = countTokens(JSON.stringify(tools));
  assert.ok(tokens < 1500, `tool definitions take ${tokens} tokens`);
  for (const t of tools) assert.equal(t.inputSchema.type, 'object');

  const st = await waitIdle(client);
  assert.equal(st.files.indexed, 8);
  assert.equal(st.files.stale, 0);
  assert.match(st.model.id, /^builtin:/);
  assert.deepEqual(st.errors, []);

  const s = await callOk(client, 'search_code', { query: 'parse a url query string', limit: 3 });
  assert.equal(s.partial, false);
  assert.equal(s.mode, 'hybrid');
  assert.ok(s.results.length >= 1 && s.results.length <= 3);
  assert.equal(s.results[0].name, 'parse_query_string');
  assert.equal(s.results[0].path, 'pkg/http_client.py');
  // pages: the cursor continues where the first page ended, without repeats
  const p1 = await callOk(client, 'search_code', { query: 'read data', limit: 2 });
  assert.equal(p1.results.length, 2);
  assert.ok(p1.next_cursor);
  const p2 = await callOk(client, 'search_code', { query: 'read data', limit: 2, cursor: p1.next_cursor });
  const key = (r) => `${r.path}:${r.lines[0]}`;
  for (const r of p2.results) assert.ok(!p1.results.map(key).includes(key(r)));
  // the budget: the whole text of the result fits max_tokens
  const small = await client.callTool({ name: 'search_code', arguments: { query: 'parse', max_tokens: 200, limit: 50 } });
  assert.ok(countTokens(small.content[0].text) <= 200 * 1.05, small.content[0].text);
  assert.ok(body(small).next_cursor, 'a cut page has a cursor');
  const f = await callOk(client, 'search_code', { query: 'http client', files: true, language: ['python'], limit: 5 });
  for (const r of f.results) assert.match(r.path, /\.py$/);

  const target = `${s.results[0].path}:${s.results[0].lines[0]}`;
  const sim = await callOk(client, 'find_similar', { target, limit: 3 });
  assert.ok(sim.results.length >= 1);
  assert.ok(!sim.results.some((r) => key(r) === key(s.results[0])), 'the target itself is left out');

  const e = await callOk(client, 'get_entity', { target: 'parse_query_string', context: 2 });
  assert.equal(e.path, 'pkg/http_client.py');
  assert.equal(e.kind, 'function');
  assert.match(e.signature, /def parse_query_string\(query\)/);
  assert.match(e.doc, /query string/);
  assert.match(e.source, /def parse_query_string/);
  assert.equal(e.source_first_line, e.lines[0] - 2);
  // the call graph: its two calls go outside the repository; nothing calls it
  assert.deepEqual(e.callees.map((x) => [x.name, x.line, x.resolved]), [['split', 27, false], ['partition', 30, false]]);
  assert.deepEqual(e.callers, []);

  const d = await callOk(client, 'find_duplicates', { threshold: 0.9, min_lines: 1 });
  assert.ok(Array.isArray(d.results));
  const h = await callOk(client, 'search_history', { query: 'fix', in: 'commits' });
  assert.deepEqual(h.results, []); // nothing ingested in this tree

  // bad arguments: JSON-RPC -32602 naming the field
  await callErr(client, 'search_code', {}, 'query');
  await callErr(client, 'search_code', { query: '' }, 'query');
  await callErr(client, 'search_code', { query: 'x', limit: 0 }, 'limit');
  await callErr(client, 'search_code', { query: 'x', limit: 'ten' }, 'limit');
  await callErr(client, 'search_code', { query: 'x', mode: 'fuzzy' }, 'mode');
  await callErr(client, 'search_code', { query: 'x', limt: 3 }, 'limt');
  await callErr(client, 'search_code', { query: 'x', language: [3] }, 'language[0]');
  await callErr(client, 'search_code', { query: 'x', cursor: 'abc' }, 'cursor');
  await callErr(client, 'search_code', { query: 'x', max_tokens: 10 }, 'max_tokens');
  await callErr(client, 'find_similar', { target: 'no/such/file.py:1' }, 'target');
  await callErr(client, 'get_entity', { target: 'parse_query_string', context: -1 }, 'context');
  await callErr(client, 'find_duplicates', { threshold: 2 }, 'threshold');
  await callErr(client, 'search_history', { query: 'x', in: 'mail' }, 'in');
  await callErr(client, 'index_status', { verbose: true }, 'verbose');
  // one repository served: a repo argument names none of them (the error names it); "all" is that one
  for (const [name, args] of [['search_code', { query: 'x', repo: 'other' }], ['index_status', { repo: 'other' }],
    ['reindex', { repo: 'other' }], ['find_duplicates', { repo: 'other' }]]) {
    const m = await callErr(client, name, args, 'repo');
    assert.match(m, /`other`/, name);
  }
  await callErr(client, 'search_code', { query: 'x', repo: ['all', 'other'] }, 'repo[1]');
  const allOne = await callOk(client, 'search_code', { query: 'parse a url query string', repo: 'all', limit: 3 });
  assert.equal(allOne.results[0].name, 'parse_query_string');
  await callErr(client, 'no_such_tool', {}, 'name');

  // reindex returns at once and the run ends by itself
  const t0 = Date.now();
  const ri = await callOk(client, 'reindex');
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(typeof ri.started, 'boolean');
  const after = await waitIdle(client);
  assert.equal(after.last_run.status, 'ok');
  assert.equal(after.files.stale, 0);
  await client.ping();
}

test('mcp over stdio: tools, calls, bad arguments', async () => {
  const transport = new StdioClientTransport({ command: bin, args: ['mcp', '--repo', repo], stderr: 'pipe' });
  const client = new Client({ name: 'semcode-e2e', version: '1.0.0' });
  await client.connect(transport);
  try {
    assert.equal(client.getServerVersion().name, 'semcode');
    await exerciseAll(client);
  } finally {
    await client.close();
  }
});

test('mcp --help and bad options', () => {
  const h = spawnSync(bin, ['mcp', '--help'], { encoding: 'utf8' });
  assert.equal(h.status, 0);
  assert.match(h.stdout, /search_code/);
  const top = spawnSync(bin, ['--help'], { encoding: 'utf8' });
  assert.match(top.stdout, /\n {2}mcp +/);
  const bad = spawnSync(bin, ['mcp', '--repo', repo, 'extra'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unexpected argument 'extra'/);
});

// `semcode serve --repo repo` with API keys: {proc, url}.
async function serveRepo(name) {
  const cfg = path.join(tmp, `${name}.json`);
  fs.writeFileSync(cfg, JSON.stringify({ api_keys: [{ key: ADMIN, role: 'admin' }, { key: READ, role: 'read' },
    { key: TENANT, role: 'admin', tenant: 't1' }] }));
  return serve(bin, tmp, name, path.join(tmp, `${name}.store`), cfg, {}, ['--repo', repo]);
}

function httpClient(url, key) {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { 'api-key': key } } });
  return { client: new Client({ name: 'semcode-e2e', version: '1.0.0' }), transport };
}

test('mcp over Streamable HTTP: tools, calls, bad arguments, keys, tenants, sessions', async () => {
  const srv = await serveRepo('http');
  try {
    const { client, transport } = httpClient(srv.url, ADMIN);
    await client.connect(transport);
    assert.match(transport.sessionId, /^[0-9a-f]{32}$/);
    await exerciseAll(client);

    // a read key may search but not reindex; a tenant key may not read the server's code
    const rd = httpClient(srv.url, READ);
    await rd.client.connect(rd.transport);
    assert.ok((await rd.client.callTool({ name: 'search_code', arguments: { query: 'parse' } })).isError !== true);
    const denied = await rd.client.callTool({ name: 'reindex', arguments: {} });
    assert.equal(denied.isError, true);
    assert.match(denied.content[0].text, /write role/);
    const tn = httpClient(srv.url, TENANT);
    await tn.client.connect(tn.transport);
    const tcode = await tn.client.callTool({ name: 'search_code', arguments: { query: 'parse' } });
    assert.equal(tcode.isError, true);
    assert.match(tcode.content[0].text, /tenant/);
    assert.deepEqual(body(await tn.client.callTool({ name: 'search_history', arguments: { query: 'x' } })).results, []);

    // sessions are the key's: another tenant's key cannot use it; no key is 401
    const post = (headers, msg) => fetch(`${srv.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json',
      accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(msg) });
    const ping = { jsonrpc: '2.0', id: 9, method: 'ping' };
    assert.equal((await post({ 'api-key': ADMIN }, ping)).status, 400); // no session
    assert.equal((await post({ 'api-key': ADMIN, 'mcp-session-id': tn.transport.sessionId }, ping)).status, 404);
    assert.equal((await post({ 'api-key': ADMIN, 'mcp-session-id': transport.sessionId }, ping)).status, 200);
    assert.equal((await post({ 'mcp-session-id': transport.sessionId }, ping)).status, 401);
    assert.equal((await post({ 'api-key': ADMIN, 'mcp-session-id': transport.sessionId, origin: 'http://evil.example' },
      ping)).status, 403);
    const bad = await fetch(`${srv.url}/mcp`, { method: 'POST', headers: { 'api-key': ADMIN }, body: '{nope' });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, -32700);
    assert.equal((await fetch(`${srv.url}/mcp`, { headers: { 'api-key': ADMIN } })).status, 405); // no stream
    await rd.client.close();
    await tn.client.close();
    await transport.terminateSession();
    assert.equal((await post({ 'api-key': ADMIN, 'mcp-session-id': transport.sessionId }, ping)).status, 404);
    await client.close();
  } finally {
    assert.equal(await stop(srv), 0);
  }
});

test('mcp: a first index held by a slow embedding endpoint does not block the first call', async () => {
  // 200 files: the first group of 128 is embedded by request 1 and stored;
  // request 2 (the rest) is held until the test releases it.
  const ep = await heldEndpoint(2);
  const tree = path.join(tmp, 'slow');
  fs.mkdirSync(tree);
  for (let i = 0; i < 200; i++)
    fs.writeFileSync(path.join(tree, `w${String(i).padStart(3, '0')}.py`),
      `def widget_${i}(x):\n    """Compute the zorblax widget number ${i}."""\n    return x + ${i}\n`);
  const transport = new StdioClientTransport({ command: bin, stderr: 'pipe',
    args: ['mcp', '--repo', tree, '--provider', 'openai', '--base-url', ep.url, '--remote-model', 'held',
      '--api-key-env', 'SEMCODE_E2E_MCP_KEY', '--dimensions', '16', '--batch-size', '1000'],
    env: { ...process.env, SEMCODE_E2E_MCP_KEY: 'k' } });
  const client = new Client({ name: 'semcode-e2e', version: '1.0.0' });
  try {
    await client.connect(transport);
    await ep.held; // the run is in the middle of its work
    const t0 = Date.now();
    const s = await callOk(client, 'search_code', { query: 'zorblax widget', limit: 5 });
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `the first call took ${ms} ms`);
    assert.equal(s.partial, true);
    assert.equal(s.mode, 'keyword');
    assert.equal(s.results.length, 5, 'keyword results over the group already stored');
    for (const r of s.results) assert.match(r.path, /^w(0\d\d|1[01]\d|12[0-7])\.py$/);
    const st = await callOk(client, 'index_status');
    assert.equal(st.state, 'indexing');
    assert.equal(st.partial, true);
    assert.equal(st.progress.files_total, 200);
    const busy = await client.callTool({ name: 'get_entity', arguments: { target: 'widget_1' } });
    assert.equal(busy.isError, true);
    assert.match(busy.content[0].text, /a run is updating/);
    ep.release();
    const done = await waitIdle(client);
    assert.equal(done.files.indexed, 200);
    assert.equal(done.last_run.status, 'ok');
    const full = await callOk(client, 'search_code', { query: 'zorblax widget', limit: 5 });
    assert.equal(full.partial, false);
    assert.equal(full.mode, 'hybrid');
  } finally {
    ep.release();
    await client.close();
    await ep.close();
  }
});
