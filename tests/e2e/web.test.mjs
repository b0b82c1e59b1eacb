// End-to-end tests of the web page (issue 21) in a real browser: Debian's
// chromium, headless, driven by playwright-core, against a real `semcode
// serve --repo` on 127.0.0.1 with API keys. The fixture repository is
// committed to git, indexed and its commits ingested (so history has
// something to show). Checks: GET / gives JSON to API clients and the page
// to browsers; a missing and a bad key; search in each mode with filters
// (the page lists what /code/search answers), files mode, commits; the
// similar and history panels, by mouse and by keyboard; callers/callees
// shown only if the server has them; the duplicates and index pages; a
// narrow screen. Each page's screenshot is checked non-blank; they go to a
// temporary folder, or to SEMCODE_SCREENSHOTS (docs/web to refresh the
// committed ones, which are checked too).
// Without /usr/bin/chromium (or SEMCODE_CHROMIUM) the tests skip, saying
// so, unless CI is set: there a missing browser fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { gitIn, sleep } from './serve_util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');
const CHROMIUM = process.env.SEMCODE_CHROMIUM || '/usr/bin/chromium';
const CI = !!process.env.CI && !['0', 'false'].includes(process.env.CI);
const KEY = 'web-read-key-0123456789ab';
const WRITE_KEY = 'web-write-key-0123456789a';
const skip = !fs.existsSync(CHROMIUM) && !CI ? `${CHROMIUM} is missing (apt-get install chromium): web page tests skipped` : false;
if (skip) console.log(`# SKIP web.test.mjs: ${skip}`);

let tmp, repo, server, base, browser, page, shots;

async function api(p, body) {
  const r = await fetch(base + p, { method: body ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json', 'api-key': KEY }, body: body ? JSON.stringify(body) : undefined });
  const j = await r.json();
  assert.equal(r.status, 200, JSON.stringify(j));
  return j.result;
}

// Pixels of a PNG (8-bit RGB or RGBA, not interlaced): {width, height, colours: Map rgb -> count}.
function pngColours(buf) {
  assert.equal(buf.subarray(1, 4).toString(), 'PNG');
  let off = 8, width = 0, height = 0, type = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off), kind = buf.subarray(off + 4, off + 8).toString();
    const data = buf.subarray(off + 8, off + 8 + len);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4); type = data[9];
      assert.equal(data[8], 8, 'bit depth 8');
      assert.equal(data[12], 0, 'not interlaced');
    } else if (kind === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const bpp = type === 6 ? 4 : type === 2 ? 3 : assert.fail(`PNG colour type ${type}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp, out = Buffer.alloc(stride * height), colours = new Map();
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)], row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[y * stride + x - bpp] : 0, b = y ? out[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y ? out[(y - 1) * stride + x - bpp] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      out[y * stride + x] = (row[x] + pred) & 255;
    }
  }
  for (let i = 0; i < out.length; i += bpp) {
    const k = (out[i] << 16) | (out[i + 1] << 8) | out[i + 2];
    colours.set(k, (colours.get(k) || 0) + 1);
  }
  return { width, height, colours };
}

// Fail unless the PNG file shows something: several colours, none covering 99 % of it.
function assertNotBlank(file) {
  const { width, height, colours } = pngColours(fs.readFileSync(file));
  const top1 = Math.max(...colours.values());
  assert.ok(colours.size >= 8, `${file}: only ${colours.size} colours`);
  assert.ok(top1 < 0.99 * width * height, `${file}: one colour covers ${((100 * top1) / (width * height)).toFixed(1)} %`);
}

async function shot(name) {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  assertNotBlank(file);
}

// Go to the page at hash h and wait until the search painted its results; their targets.
async function searchVia(h) {
  await page.goto('about:blank'); // a new document, not a hash change: no earlier results linger
  await page.goto(`${base}/ui/${h}`);
  await page.waitForSelector('body[data-results]');
  return page.$$eval('#results > .result', (els) => els.map((e) => e.dataset.target || e.querySelector('.loc').textContent));
}

before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-web-'));
  shots = process.env.SEMCODE_SCREENSHOTS ? path.resolve(top, process.env.SEMCODE_SCREENSHOTS) : path.join(tmp, 'shots');
  fs.mkdirSync(shots, { recursive: true });
  repo = path.join(tmp, 'repo');
  fs.cpSync(path.join(top, 'tests/fixtures/repo'), repo, { recursive: true });
  const git = gitIn(repo);
  git('init', '-q', '-b', 'main');
  git('-c', 'user.name=Ada', '-c', 'user.email=ada@example.org', 'add', '-A');
  git('-c', 'user.name=Ada', '-c', 'user.email=ada@example.org', 'commit', '-qm', 'first version of the shop');
  const issues = [{ id: '7', kind: 'issue', title: 'Checkout total ignores the discount', body: 'The cart sum is wrong',
    url: 'javascript:alert(1)' },
  { id: '8', kind: 'pr', title: 'Retry uploads with backoff', body: 'Adds exponential backoff', url: 'https://example.org/pr/8' }];
  for (const [args, input] of [[['index', repo, '--quiet']], [['ingest', 'git', '-q']],
    [['ingest', 'jsonl', '-', '--quiet'], issues.map((x) => JSON.stringify(x)).join('\n') + '\n']]) {
    const r = spawnSync(bin, args, { cwd: repo, encoding: 'utf8', timeout: 120000, input });
    assert.equal(r.status, 0, `semcode ${args.join(' ')}: ${r.stderr}`);
  }
  fs.writeFileSync(path.join(tmp, 'keys.json'), JSON.stringify({ api_keys: [{ key: KEY, role: 'read' },
    { key: WRITE_KEY, role: 'write' }] }));
  const portFile = path.join(tmp, 'port');
  server = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', '0', '--port-file', portFile, '--store',
    path.join(tmp, 'store'), '--repo', repo, '--config', path.join(tmp, 'keys.json'), '--log', path.join(tmp, 'access.log')],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()); i++) await sleep(50);
  base = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    const done = new Promise((ok) => server.on('exit', (code) => ok(code)));
    server.kill('SIGTERM');
    assert.equal(await done, 0, 'the server exits cleanly');
  }
  if (tmp && !process.env.SEMCODE_E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
});

test('GET / answers JSON to API clients and the page to browsers', { skip }, async () => {
  let r = await fetch(`${base}/`);
  assert.equal((await r.json()).title, 'qdrant - vector search engine');
  assert.equal(r.headers.get('vary'), 'Accept');
  r = await fetch(`${base}/`, { headers: { accept: 'application/json, text/html' } });
  assert.match(r.headers.get('content-type'), /json/, 'a tie goes to JSON');
  r = await fetch(`${base}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.match(await r.text(), /<title>semcode<\/title>/);
  r = await fetch(`${base}/ui/missing.js`);
  assert.equal(r.status, 404);
  assert.match((await r.json()).status.error, /no file `missing.js`/);
  await page.goto(`${base}/`); // the browser's own Accept header
  assert.equal(await page.title(), 'semcode');
});

test('no key, then a bad key, then the right one', { skip }, async () => {
  await page.goto(`${base}/#search?q=send%20an%20http%20request`);
  await page.waitForSelector('#status.error');
  assert.match(await page.textContent('#status'), /Must provide an API key/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'key', 'the key field has the focus');
  await page.fill('#key', 'not-the-key');
  await page.click('#settings-form button[type=submit]');
  await page.waitForFunction(() => /Invalid API key/.test(document.querySelector('#status').textContent));
  await shot('web-bad-key');
  await page.fill('#key', KEY);
  await page.click('#settings-form button[type=submit]');
  await page.waitForSelector('body[data-results]');
  assert.ok(await page.$$eval('#results > .result', (e) => e.length) > 0);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('semcode.key')), KEY, 'kept for the session');
});

test('search in each mode with filters lists what /code/search answers', { skip }, async () => {
  const cases = [
    { q: 'send an http request', mode: 'hybrid' },
    { q: 'retry with backoff', mode: 'dense', lang: 'go,python' },
    { q: 'crc32 checksum', mode: 'keyword', kind: 'function' },
    { q: 'total price', mode: 'hybrid', path: 'web/**', kind: 'function' },
    { q: 'http client session', mode: 'hybrid', files: true, limit: 3 },
  ];
  for (const c of cases) {
    const p = new URLSearchParams({ q: c.q, mode: c.mode });
    for (const f of ['lang', 'kind', 'path', 'limit']) if (c[f]) p.set(f, String(c[f]));
    if (c.files) p.set('files', '1');
    const shown = await searchVia(`#search?${p}`);
    const body = { query: c.q, mode: c.mode, limit: c.limit || 10 };
    for (const f of ['lang', 'kind', 'path', 'files']) if (c[f]) body[f] = c[f];
    const want = (await api('/code/search', body)).results.map((r) => `${r.path}:${r.start_line}`);
    assert.ok(want.length > 0, `${JSON.stringify(c)} finds something`);
    assert.deepEqual(shown, want, JSON.stringify(c));
    assert.equal(await page.inputValue('#mode'), c.mode);
  }
  // the form drives the same search; snippets carry line numbers and get highlighted
  await page.goto(`${base}/ui/#search`);
  await page.fill('#q', 'send an http request');
  await page.selectOption('#mode', 'keyword');
  await page.fill('#lang', 'python');
  await page.press('#q', 'Enter');
  await page.waitForSelector('body[data-results]');
  assert.match(page.url(), /mode=keyword/);
  assert.match(page.url(), /lang=python/);
  const first = (await api('/code/search', { query: 'send an http request', mode: 'keyword', lang: 'python' })).results[0];
  assert.equal(await page.textContent('#results > .result .loc'), `${first.path}:${first.start_line}-${first.end_line}`);
  assert.equal((await page.textContent('#results > .result .ln')).split('\n')[0], String(first.start_line));
  await page.waitForSelector('#results > .result code.hljs .hljs-keyword');
  // editor links get the repository's absolute root once /code/stats answered (after the results)
  const want = `vscode://file/${repo}/${first.path}:${first.start_line}`;
  await page.waitForFunction((w) => document.querySelector('#results > .result a.editor').href === w, want);
  // explain on demand, for hybrid searches (keyword and dense have no ranking stage to explain)
  assert.equal(await page.$$eval('button[data-panel=explain]', (e) => e.length), 0);
  await searchVia('#search?q=send%20an%20http%20request');
  await page.click('#results > .result button[data-panel=explain]');
  await page.waitForSelector('#results > .result .panel[data-panel=explain] table');
  assert.match(await page.textContent('#results > .result .panel[data-panel=explain]'), /kw_norm/);
  await shot('web-search');
  // commits: the record sections
  const commits = await searchVia('#search?q=first%20version&in=commits');
  assert.ok(commits.length >= 1);
  assert.equal(await page.textContent('#results > .result .kind'), 'commit');
  assert.equal(await page.isHidden('#lang'), true, 'code filters are hidden for commits');
  assert.deepEqual(await searchVia('#search?q=discount%20total&in=issues&mode=keyword'), ['7']);
  assert.equal(await page.$$eval('#results a', (e) => e.length), 0, 'a javascript: url is no link');
  assert.deepEqual(await searchVia('#search?q=retry%20backoff&in=prs&mode=keyword'), ['8']);
  assert.equal(await page.getAttribute('#results a', 'href'), 'https://example.org/pr/8');
  assert.equal(await page.textContent('#status'), '');
});

test('similar and history panels, by mouse and by keyboard; callers only if the server has them', { skip }, async () => {
  const targets = await searchVia('#search?q=send%20an%20http%20request&lang=python');
  await page.click('#results > .result button[data-panel=similar]');
  await page.waitForSelector('#results > .result .panel[data-panel=similar] ol');
  const similar = await page.$$eval('#results > .result:first-child .panel[data-panel=similar] li .loc', (e) => e.map((x) => x.textContent));
  const want = (await api('/code/similar', { target: targets[0], limit: 5 })).results.map((r) => `${r.path}:${r.start_line}-${r.end_line}`);
  assert.deepEqual(similar, want);
  await page.click('#results > .result button[data-panel=history]');
  await page.waitForSelector('#results > .result .panel[data-panel=history] ul');
  assert.match(await page.textContent('#results > .result .panel[data-panel=history]'), /first version of the shop/);
  const history = await api('/code/history', { target: targets[0] });
  assert.equal(history.results[0].kind, 'commit');
  assert.equal(history.entity.path, targets[0].split(':')[0]);
  // keyboard: / focuses the box, arrows move, Enter opens similar and history
  await searchVia('#search?q=retry%20with%20backoff');
  await page.evaluate(() => document.activeElement.blur());
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'q');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => [...document.querySelectorAll('#results > .result')].indexOf(document.activeElement)), 1);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#results > .result:nth-child(2) .panel[data-panel=history] :is(ul, p:not(:empty))');
  await page.waitForSelector('#results > .result:nth-child(2) .panel[data-panel=similar] :is(ol, p)');
  assert.equal(await page.$$eval('#results > .result:nth-child(2) .panel', (e) => e.length), 2);
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.evaluate(() => [...document.querySelectorAll('#results > .result')].indexOf(document.activeElement)), 0);
  // the call graph: a section only when the endpoint exists
  const graph = (await fetch(`${base}/code/callers`, { method: 'POST', body: '{}' })).status !== 404;
  await sleep(100);
  assert.equal(await page.$$eval('button[data-panel=callers]', (e) => e.length) > 0, graph);
  if (graph) { // the panels list what the endpoints answer
    for (const dir of ['callees', 'callers']) {
      await page.click(`#results > .result:first-child button[data-panel=${dir}]`);
      await page.waitForSelector(`#results > .result:first-child .panel[data-panel=${dir}] :is(ol, p)`);
      const shown = await page.$$eval(`#results > .result:first-child .panel[data-panel=${dir}] li .name`, (e) => e.map((x) => x.textContent));
      const first = (await page.$$eval('#results > .result:first-child .head .loc', (e) => e.map((x) => x.textContent)))[0];
      const res = await api(`/code/${dir}`, { target: first.replace(/-\d+$/, ''), limit: 20 });
      const want = res[dir].map((x) => { const e = dir === 'callers' ? x.caller : x.callee; return e ? (e.qualified_name || e.name) : x.name; });
      assert.deepEqual(shown, want, `${dir} panel`);
    }
  }
  await shot('web-panels');
});

test('the duplicates page puts cluster members side by side', { skip }, async () => {
  await page.goto(`${base}/ui/#duplicates`);
  await page.fill('#threshold', '0.8');
  await page.fill('#min-lines', '3');
  await page.click('#dup-form button');
  await page.waitForFunction(() => /cluster/.test(document.querySelector('#dup-summary').textContent));
  const want = await api('/code/duplicates', { threshold: 0.8, min_lines: 3 });
  assert.ok(want.clusters.length > 0, 'the fixture has near-duplicates at 0.8');
  assert.equal(await page.$$eval('.cluster', (e) => e.length), want.clusters.length);
  const members = await page.$$eval('.cluster:first-child .member .loc', (e) => e.map((x) => x.textContent));
  assert.deepEqual(members, want.clusters[0].members.map((m) => `${m.path}:${m.start_line}-${m.end_line}`));
  // side by side: the first two members share a row
  const boxes = await page.$$eval('.cluster:first-child .member', (e) => e.map((x) => x.getBoundingClientRect().top));
  assert.equal(boxes[0], boxes[1]);
  // the renamed words are highlighted, shared words are not; their lines carry a ± as well as a colour
  const diff = await page.$$eval('.cluster:first-child .member:first-child .diff', (e) => e.map((x) => x.textContent));
  assert.ok(diff.length > 0 && !diff.includes('for') && !diff.includes('return'), diff.join(' '));
  const signs = await page.$$eval('.cluster:first-child .member:first-child .mk', (e) => e[0].textContent.split('±').length - 1);
  const lines = await page.$$eval('.cluster:first-child .member:first-child pre:last-child', (e) =>
    e[0].textContent.split('\n').length);
  assert.ok(signs > 0 && signs <= lines);
  await shot('web-duplicates');
});

test('the index page: repository, languages, counts, model, health, jobs', { skip }, async () => {
  const data = ['a', 'b', 'c'].map((id) => JSON.stringify({ id, title: `issue ${id}`, body: 'text' })).join('\n') + '\n';
  const sub = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', 'api-key': WRITE_KEY },
    body: JSON.stringify({ source: { type: 'jsonl', data, kind: 'issue' }, options: { provider: 'fast' } }) });
  assert.equal(sub.status, 200, await sub.clone().text());
  const id = (await sub.json()).result.id;
  for (let i = 0; i < 400 && (await api(`/jobs/${id}`)).state !== 'done'; i++) await sleep(25);
  await page.goto('about:blank');
  await page.goto(`${base}/ui/#index`);
  await page.waitForSelector('body[data-index=ready]');
  const stats = await api('/code/stats');
  const text = await page.textContent('#index-body');
  assert.ok(text.includes(repo), 'the repository root');
  assert.ok(text.includes(stats.model.id), 'the model');
  assert.match(text, /healthy \(\d+ vectors sampled\)/);
  for (const [lang, n] of Object.entries(stats.by_language)) assert.ok(text.includes(lang) && text.includes(String(n)));
  assert.match(await page.textContent('table.jobs'), new RegExp(`${id}\\s*done\\s*jsonl.*3 / 3 \\(100%\\)`));
  await shot('web-index');
});

test('the index page lists every repository of a server that serves several', { skip }, async () => {
  // two more trees (the first server holds the main fixture's index)
  const trees = { app: path.join(tmp, 'app'), lib: path.join(tmp, 'lib') };
  fs.cpSync(path.join(top, 'tests/fixtures/repo/pkg'), trees.app, { recursive: true });
  fs.cpSync(path.join(top, 'tests/fixtures/repo'), trees.lib, { recursive: true, filter: (f) => !f.includes(`${path.sep}pkg`) });
  for (const t of Object.values(trees)) {
    const r = spawnSync(bin, ['index', t, '--quiet'], { encoding: 'utf8', timeout: 120000 });
    assert.equal(r.status, 0, r.stderr);
  }
  const portFile = path.join(tmp, 'port2');
  const two = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', '0', '--port-file', portFile, '--store', path.join(tmp, 'store2'),
    '--repo', `app=${trees.app}`, '--repo', `lib=${trees.lib}`, '--log', path.join(tmp, 'access2.log')], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let i = 0; i < 200 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()); i++) await sleep(50);
    const base2 = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;
    const stats = async (q) => { const r = await fetch(`${base2}/code/stats${q}`); return [r.status, await r.json()]; };
    const [s0, first] = await stats('');
    assert.equal(s0, 200);
    assert.deepEqual([first.result.repo, first.result.repositories], ['app', ['app', 'lib']]);
    const [s1, lib] = await stats('?repo=lib');
    assert.equal(s1, 200);
    assert.deepEqual([lib.result.repo, lib.result.root], ['lib', trees.lib]);
    const [s2, bad] = await stats('?repo=nope');
    assert.equal(s2, 404);
    assert.match(bad.status.error, /nope.*app, lib/);
    await page.goto('about:blank');
    await page.goto(`${base2}/ui/#index`);
    await page.waitForSelector('body[data-index=ready]');
    assert.deepEqual(await page.$$eval('#index-body h2.repo', (e) => e.map((x) => x.textContent)), ['Repository app', 'Repository lib']);
    const text = await page.textContent('#index-body');
    for (const t of Object.values(trees)) assert.ok(text.includes(t), `the root ${t}`);
  } finally {
    const done = new Promise((ok) => two.on('exit', (code) => ok(code)));
    two.kill('SIGTERM');
    assert.equal(await done, 0, 'the second server exits cleanly');
  }
});

test('a narrow screen keeps everything readable without sideways scrolling', { skip }, async () => {
  await page.setViewportSize({ width: 360, height: 740 });
  await searchVia('#search?q=send%20an%20http%20request');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page scrolls ${overflow}px sideways`);
  await shot('web-narrow');
  await page.setViewportSize({ width: 1100, height: 900 });
});

test('the committed screenshots under docs/web are not blank', { skip }, () => {
  const dir = path.join(top, 'docs/web');
  for (const n of ['web-search', 'web-panels', 'web-duplicates', 'web-index', 'web-narrow', 'web-bad-key'])
    assertNotBlank(path.join(dir, `${n}.png`));
});
