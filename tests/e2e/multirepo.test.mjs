// End-to-end test of issue 19's "several repositories" on the /code
// endpoints other than /code/search: `serve --repo A=PATH --repo beta=PATH`
// answers /code/similar, /code/duplicates, /code/history, /code/callers,
// /code/callees and /code/search's records ("in") from the repository named
// by `repo` (the first by default); an unknown name is a 404 naming the
// served ones. The MCP tools at /mcp: search_code searches every
// repository by default (one ranking, each hit naming its repository) or
// those `repo` names (a name or a list), find_duplicates reports every
// repository's clusters, find_similar finds its target in whichever has it,
// index_status reports each repository and reindex takes one. The CLI's
// --repo on similar, duplicates, history, callers and callees (on copies of
// the trees: the server holds its stores). Quick: two trees of a few
// functions each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sleep } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');

let tmp, proc, exited, base, cliA, cliB;

function write(dir, rel, text) {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), text);
}

async function post(p, body) {
  const r = await fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, text, json: JSON.parse(text) };
}

const dupBody = '    total = 0\n    for item in items:\n        if item > 0:\n            total += item * 2\n' +
  '        else:\n            total -= item\n    return total\n';

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-multirepo-'));
  const alpha = path.join(tmp, 'alpha'), beta = path.join(tmp, 'beta');
  write(alpha, 'conf.py', 'def parse_config_file(path):\n    """Read the configuration file."""\n    return open(path).read()\n');
  write(beta, 'net.py', 'def send_http_request(url):\n    """Send an HTTP request."""\n    return encode_url(url)\n\n' +
    'def encode_url(url):\n    """Encode a URL."""\n    return url\n');
  write(beta, 'dup.py', `def sum_weighted_a(items):\n${dupBody}\n\ndef sum_weighted_b(items):\n${dupBody}`);
  // copies for the CLI tests (a served store is locked by the server)
  cliA = path.join(tmp, 'cli', 'alpha');
  cliB = path.join(tmp, 'cli', 'beta');
  fs.cpSync(alpha, cliA, { recursive: true });
  fs.cpSync(beta, cliB, { recursive: true });
  for (const d of [alpha, beta, cliA, cliB]) {
    const r = spawnSync(bin, ['index', d, '--quiet'], { encoding: 'utf8', timeout: 120000, cwd: tmp });
    assert.equal(r.status, 0, r.stderr);
  }
  const portFile = path.join(tmp, 'serve.port');
  proc = spawn(bin, ['serve', '--port', '0', '--port-file', portFile, '--store', path.join(tmp, 'store'),
    '--repo', `A=${alpha}`, '--repo', beta], { stdio: ['ignore', 'ignore', fs.openSync(path.join(tmp, 'serve.err'), 'a')] });
  exited = new Promise((ok) => proc.on('exit', (code) => ok(code)));
  // (slow under the sanitizers on a loaded machine: up to 60 s)
  for (let i = 0; i < 1200 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()); i++) await sleep(50);
  base = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${base}/readyz`)).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
});

after(async () => {
  if (proc) {
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('similar, duplicates, history, callers and callees use the repository named by repo', async () => {
  // the default is the first repository: beta's entities are not there
  let r = await post('/code/similar', { target: 'send_http_request' });
  assert.equal(r.status, 404, r.text);
  r = await post('/code/similar', { target: 'send_http_request', repo: 'beta' });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.result.results.some((x) => x.path === 'dup.py' || x.path === 'net.py'), r.text);

  r = await post('/code/duplicates', { min_lines: 3 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.result.clusters.length, 0, r.text);
  r = await post('/code/duplicates', { min_lines: 3, repo: 'beta' });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.result.clusters.length >= 1, r.text);
  assert.match(JSON.stringify(r.json.result.clusters), /sum_weighted_a/);

  r = await post('/code/history', { target: 'encode_url', repo: 'beta' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.result.entity.path, 'net.py');
  r = await post('/code/history', { target: 'parse_config_file', repo: 'A' });
  assert.equal(r.json.result.entity.path, 'conf.py');
  r = await post('/code/history', { target: 'parse_config_file', repo: 'beta' });
  assert.equal(r.status, 404, r.text);

  r = await post('/code/callers', { target: 'encode_url', repo: 'beta' });
  assert.equal(r.status, 200, r.text);
  assert.match(JSON.stringify(r.json.result.callers), /send_http_request/);
  r = await post('/code/callees', { target: 'send_http_request', repo: 'beta' });
  assert.equal(r.status, 200, r.text);
  assert.match(JSON.stringify(r.json.result.callees), /encode_url/);
  r = await post('/code/callers', { target: 'encode_url' });
  assert.equal(r.status, 404, r.text);

  // records ("in") of a named repository; one name only
  r = await post('/code/search', { query: 'x', in: 'commits', repo: 'beta', mode: 'keyword' });
  assert.equal(r.status, 200, r.text);
  r = await post('/code/search', { query: 'x', in: 'commits', repo: ['A', 'beta'] });
  assert.equal(r.status, 400, r.text);
});

test('an unknown repository is a 404 naming the served ones', async () => {
  for (const [p, body] of [['/code/similar', { target: 'x' }], ['/code/duplicates', {}], ['/code/history', { target: 'x' }],
    ['/code/callers', { target: 'x' }], ['/code/callees', { target: 'x' }],
    ['/code/search', { query: 'x', in: 'commits' }]]) {
    const r = await post(p, { ...body, repo: 'nope' });
    assert.equal(r.status, 404, `${p}: ${r.text}`);
    assert.match(r.json.status.error, /no repository `nope` is served \(repo must be one of: A, beta\)/, p);
  }
  const r = await post('/code/similar', { target: 'x', repo: 7 });
  assert.equal(r.status, 400, r.text);
});

test('mcp tools at /mcp take repo', async () => {
  const client = new Client({ name: 'semcode-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  try {
    const call = async (name, args) => {
      const r = await client.callTool({ name, arguments: args });
      assert.ok(!r.isError, r.content[0].text);
      return JSON.parse(r.content[0].text);
    };
    // no repo: every repository, one ranking, each hit naming its repository
    let o = await call('search_code', { query: 'parse config http request', mode: 'keyword', limit: 20 });
    assert.deepEqual([...new Set(o.results.map((x) => x.repo))].sort(), ['A', 'beta'], JSON.stringify(o));
    assert.equal(o.partial, false);
    for (let i = 1; i < o.results.length; i++) assert.ok(o.results[i - 1].score >= o.results[i].score, JSON.stringify(o));
    o = await call('search_code', { query: 'parse config http request', limit: 20 });
    assert.deepEqual([...new Set(o.results.map((x) => x.repo))].sort(), ['A', 'beta'], JSON.stringify(o));
    o = await call('search_code', { query: 'parse config http request', mode: 'keyword', repo: ['beta', 'A'], limit: 20 });
    assert.deepEqual([...new Set(o.results.map((x) => x.repo))].sort(), ['A', 'beta'], JSON.stringify(o));
    o = await call('search_code', { query: 'parse config', mode: 'keyword', repo: 'A' });
    assert.ok(o.results.length >= 1 && o.results.every((x) => x.path === 'conf.py' && x.repo === 'A'), JSON.stringify(o));
    o = await call('search_code', { query: 'send http request', mode: 'keyword', repo: 'beta' });
    assert.ok(o.results.length >= 1 && o.results.every((x) => x.repo === 'beta'), JSON.stringify(o));
    o = await call('search_code', { query: 'parse config http request', mode: 'keyword', repo: 'all', limit: 20 });
    assert.deepEqual([...new Set(o.results.map((x) => x.repo))].sort(), ['A', 'beta']);
    o = await call('search_code', { query: 'url', mode: 'keyword', repo: ['beta'] });
    assert.ok(o.results.every((x) => x.repo === 'beta'));
    o = await call('get_entity', { target: 'encode_url', repo: 'beta' });
    assert.equal(o.path, 'net.py');
    assert.match(o.source, /def encode_url/);
    assert.match(JSON.stringify(o.callers), /send_http_request/);
    o = await call('find_duplicates', { min_lines: 3, repo: 'beta' });
    assert.ok(o.results.length >= 1, JSON.stringify(o));
    o = await call('find_duplicates', { min_lines: 3 }); // every repository: beta's cluster, named
    assert.ok(o.results.some((x) => x.repo === 'beta' && /sum_weighted_a/.test(JSON.stringify(x.members))), JSON.stringify(o));
    o = await call('find_similar', { target: 'send_http_request', repo: 'beta' });
    assert.ok(o.results.length >= 1);
    o = await call('find_similar', { target: 'send_http_request' }); // only beta has it
    assert.equal(o.repo, 'beta');
    assert.ok(o.results.length >= 1 && o.results.every((x) => x.repo === 'beta'), JSON.stringify(o));
    // index_status: each repository, or the one named
    o = await call('index_status', {});
    assert.deepEqual(o.repos.map((x) => x.repo), ['A', 'beta']);
    assert.ok(o.repos.every((x) => x.files && x.files.indexed >= 1), JSON.stringify(o));
    o = await call('index_status', { repo: 'beta' });
    assert.equal(o.repo, 'beta');
    assert.equal(o.files.indexed, 2);
    // reindex one repository; it returns at once and only beta runs
    o = await call('reindex', { repo: 'beta' });
    assert.equal(o.started, true);
    assert.deepEqual(o.repos, ['beta']);
    for (let i = 0; i < 400; i++) {
      o = await call('index_status', {});
      if (o.state === 'idle') break;
      await sleep(50);
    }
    assert.equal(o.state, 'idle', JSON.stringify(o));
    assert.equal(o.repos[1].last_run.status, 'ok', JSON.stringify(o));
    assert.equal(o.repos[0].last_run, null, JSON.stringify(o));
    o = await call('search_history', { query: 'x', repo: 'beta' });
    assert.ok(Array.isArray(o.results));
    for (const [name, args, field] of [['find_similar', { target: 'x', repo: 'nope' }], ['search_code', { query: 'x', repo: 'nope' }],
      ['get_entity', { target: 'x', repo: 'nope' }], ['search_code', { query: 'x', repo: ['A', 'nope'] }, 'repo[1]'],
      ['find_duplicates', { repo: 'nope' }], ['index_status', { repo: 'nope' }], ['reindex', { repo: 'nope' }]]) {
      await assert.rejects(client.callTool({ name, arguments: args }), (e) => {
        assert.equal(e.code, -32602, e.message);
        assert.match(e.message, /no repository `nope` is served \(repo must be one of: A, beta\)/);
        assert.equal(e.data?.field, field || 'repo');
        return true;
      }, name);
    }
  } finally {
    await client.close();
  }
});

// The CLI on several repositories: each result names its repository.
function cli(args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 120000, cwd: tmp });
  return r;
}

test('cli --repo: similar, duplicates, history, callers and callees over several repositories', () => {
  const repos = ['--repo', `A=${cliA}`, '--repo', cliB];
  let r = cli(['similar', 'send_http_request', ...repos, '--json']);
  assert.equal(r.status, 0, r.stderr);
  let o = JSON.parse(r.stdout);
  assert.ok(o.results.length >= 1 && o.results.every((x) => x.repo === 'beta'), r.stdout);
  r = cli(['similar', 'send_http_request', ...repos]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\[beta\] /m);
  r = cli(['similar', 'no_such_function', ...repos]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /in no repository/);

  r = cli(['duplicates', '--min-lines', '3', ...repos, '--json']);
  assert.equal(r.status, 0, r.stderr);
  o = JSON.parse(r.stdout);
  assert.ok(o.clusters.length >= 1 && o.clusters.every((x) => x.repo === 'beta'), r.stdout);
  r = cli(['duplicates', '--min-lines', '3', ...repos]);
  assert.match(r.stdout, /\[beta\] dup\.py:/);

  r = cli(['callers', 'encode_url', ...repos, '--json']);
  assert.equal(r.status, 0, r.stderr);
  o = JSON.parse(r.stdout);
  assert.ok(o.callers.length >= 1 && o.callers.every((x) => x.repo === 'beta'), r.stdout);
  assert.equal(o.targets[0].repo, 'beta');
  r = cli(['callees', 'send_http_request', ...repos]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\[beta\] .*encode_url/m);

  r = cli(['history', 'parse_config_file', ...repos, '--json']);
  assert.equal(r.status, 0, r.stderr);
  o = JSON.parse(r.stdout);
  assert.deepEqual(o.entities.map((x) => [x.repo, x.path]), [['A', 'conf.py']], r.stdout);
  assert.deepEqual(o.results, []);

  // a workspace file: --repo NAME chooses among its repositories; an unknown name is named
  const wsFile = path.join(tmp, 'cli', 'ws.txt');
  fs.writeFileSync(wsFile, `A = ${cliA}\nbeta = ${cliB}\n`);
  r = cli(['callees', 'send_http_request', '--workspace', wsFile, '--repo', 'A']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /in no repository/);
  r = cli(['duplicates', '--workspace', wsFile, '--repo', 'nope']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no repository named 'nope'.*it has: A, beta/);
  r = cli(['stats', '--repo', cliA]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /'--repo' is not an option of this command/);
});
