// semcode's search page: plain JavaScript, no framework, no build step.
// Views are chosen by the URL's hash (#search?q=…, #duplicates, #index,
// #settings), so every search is a link and the back button works. All data
// comes from the server's JSON API (/code/search, /code/similar,
// /code/history, /code/duplicates, /code/stats, /jobs) with the API key the
// user entered, kept in sessionStorage (this tab only).
'use strict';

const $ = (sel, root = document) => root.querySelector(sel);
const KEY_STORE = 'semcode.key';
const EDITOR_STORE = 'semcode.editor';
const EDITOR_DEFAULT = 'vscode://file/{path}:{line}';
// semcode's language names -> highlight.js's (files built in by tools/embed_web.sh)
const HL_LANG = { python: 'python', javascript: 'javascript', typescript: 'typescript', tsx: 'typescript', go: 'go',
  java: 'java', c: 'c', cpp: 'cpp', rust: 'rust', ruby: 'ruby', php: 'php', csharp: 'csharp', bash: 'bash',
  markdown: 'markdown', yaml: 'yaml', json: 'json', toml: 'ini' };

const state = {
  root: null,          // absolute root of the served repository (from /code/stats), for editor links
  stats: null,         // promise of /code/stats
  graph: null,         // promise: true when the server has /code/callers and /code/callees
  explain: new Map(),  // search key -> promise of its explained results
  last: null,          // the last search's request body
  prev: null,          // the hash to return to after Settings
};

// ==== HTTP ====

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// POST (body given) or GET path with the session's key; the `result` of
// the envelope, or an ApiError with the server's message.
async function api(path, body) {
  const headers = {};
  const key = sessionStorage.getItem(KEY_STORE);
  if (key) headers['api-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  let j = null;
  try { j = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) {
    const msg = j && j.status && j.status.error ? j.status.error : `HTTP ${r.status}`;
    throw new ApiError(r.status, msg);
  }
  return j.result;
}

function say(msg, error = false) {
  const s = $('#status');
  s.textContent = msg || '';
  s.className = error ? 'error' : '';
}

// Report a failed call; a refused key sends the user to the key field.
function fail(err) {
  if (err.status === 401) {
    say(`${err.message}. Enter an API key in Settings.`, true);
    if (!location.hash.startsWith('#settings')) history.pushState(null, '', '#settings');
    show('settings');
    $('#key').focus();
  } else {
    say(err.message, true);
  }
}

// ==== Small DOM helpers ====

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

// After the browser has painted what was just added (two animation frames).
const painted = () => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));

// ==== Syntax highlighting (highlight.js, loaded when a snippet needs it) ====

const scripts = new Map();
function loadScript(src) {
  if (!scripts.has(src)) {
    scripts.set(src, new Promise((ok, no) => {
      const s = el('script', { src });
      s.onload = ok;
      s.onerror = () => no(new Error(`cannot load ${src}`));
      document.head.append(s);
    }));
  }
  return scripts.get(src);
}

// Highlight code element c (plain text of language lang) in place, once
// highlight.js and the language are loaded; plain text stays otherwise.
async function highlight(c, lang) {
  const name = HL_LANG[lang];
  if (!name) return;
  try {
    await painted(); // plain text first: highlighting never delays the results
    await loadScript('/ui/hljs-core.js');
    await loadScript(`/ui/hljs-${name}.js`);
    c.innerHTML = window.hljs.highlight(c.textContent, { language: name, ignoreIllegals: true }).value;
    c.classList.add('hljs');
  } catch { /* stays plain */ }
}

// A snippet with its line numbers from `first`.
function codeBlock(text, first, lang) {
  const lines = text.replace(/\n$/, '').split('\n');
  const ln = el('pre', { class: 'ln', 'aria-hidden': 'true', text: lines.map((_, i) => first + i).join('\n') });
  const code = el('code', { text: lines.join('\n') });
  highlight(code, lang);
  return el('div', { class: 'code' }, ln, el('pre', {}, code));
}

// ==== Editor links ====

function editorHref(rel, line) {
  const tpl = localStorage.getItem(EDITOR_STORE) ?? EDITOR_DEFAULT;
  if (!tpl) return null;
  const abs = state.root && !rel.startsWith('/') ? `${state.root.replace(/\/$/, '')}/${rel}` : rel;
  return tpl.replaceAll('{path}', encodeURI(abs)).replaceAll('{line}', String(line));
}

function fixEditorLinks() {
  for (const a of document.querySelectorAll('a.editor')) {
    const href = editorHref(a.dataset.path, a.dataset.line);
    if (href) a.href = href; else a.hidden = true;
  }
}

function loadStats() {
  if (!state.stats) {
    state.stats = api('/code/stats').then((s) => { state.root = s.root; fixEditorLinks(); fillLists(s); return s; });
    state.stats.catch(() => { state.stats = null; });
  }
  return state.stats;
}

function fillLists(s) {
  const fill = (id, obj) => $(id).replaceChildren(...Object.keys(obj || {}).sort().map((k) => el('option', { value: k })));
  fill('#langs', s.by_language);
  fill('#kinds', s.by_kind);
}

// ==== Views ====

function show(view) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `view-${view}`;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

async function route() {
  const [view, qs] = (location.hash.slice(1) || 'search').split('?');
  say('');
  if (view !== 'settings') state.prev = location.hash || '#search';
  if (view === 'duplicates') { show('duplicates'); return; }
  if (view === 'index') { show('index'); return renderIndex(); }
  if (view === 'settings') { show('settings'); return; }
  show('search');
  const p = new URLSearchParams(qs || '');
  const defaults = { q: '', mode: 'hybrid', in: 'code', lang: '', kind: '', path: '', limit: '10' };
  for (const [id, v] of Object.entries(defaults)) $(`#${id}`).value = p.get(id) ?? v;
  $('#files').checked = p.get('files') === '1';
  syncSource();
  if (p.get('q')) return runSearch();
  $('#q').focus();
}

// ==== Search ====

function syncSource() {
  const code = $('#in').value === 'code';
  for (const l of document.querySelectorAll('.code-only')) l.hidden = !code;
}

function searchBody(explain = false) {
  const body = { query: $('#q').value.trim(), mode: $('#mode').value,
    limit: Math.max(1, Math.min(100, Number($('#limit').value) || 10)) };
  const src = $('#in').value;
  if (src !== 'code') body.in = src;
  else {
    for (const f of ['lang', 'kind', 'path']) if ($(`#${f}`).value.trim()) body[f] = $(`#${f}`).value.trim();
    if ($('#files').checked) body.files = true;
    if (explain) body.explain = true;
  }
  return body;
}

function submitSearch(ev) {
  ev.preventDefault();
  const p = new URLSearchParams();
  for (const id of ['q', 'mode', 'in', 'lang', 'kind', 'path', 'limit']) if ($(`#${id}`).value.trim()) p.set(id, $(`#${id}`).value.trim());
  if ($('#files').checked) p.set('files', '1');
  const hash = `#search?${p}`;
  if (location.hash === hash) runSearch(); else location.hash = hash;
}

async function runSearch() {
  const body = searchBody();
  if (!body.query) return;
  state.last = body;
  delete document.body.dataset.results;
  const list = $('#results');
  $('#summary').textContent = 'searching…';
  let res;
  try {
    res = await api('/code/search', body);
  } catch (e) {
    $('#summary').textContent = '';
    list.replaceChildren();
    return fail(e);
  }
  const items = res.results || [];
  list.replaceChildren(...items.map((r) => (body.in ? recordItem(r) : codeItem(r))));
  $('#summary').textContent = `${items.length} result${items.length === 1 ? '' : 's'} for “${body.query}” ` +
    `(${body.in || 'code'}, ${res.mode || body.mode}, ${Number(res.took_ms).toFixed(1)} ms on the server)`;
  await painted();
  if (!window.semcodeFirstResult) window.semcodeFirstResult = performance.now(); // bench/web_latency.mjs reads it
  document.body.dataset.results = String(items.length);
  // after the results: the repository's root (editor links) and the filter lists; it waits for
  // the server's repository lock, so asking earlier would delay the search
  loadStats().catch(() => {});
}

function locText(r) { return `${r.path}:${r.start_line}-${r.end_line}`; }

// One code result: head, snippet, and buttons opening its panels.
function codeItem(r, withActions = true) {
  const href = editorHref(r.path, r.start_line);
  const head = el('div', { class: 'head' },
    el('span', { class: 'loc' }, locText(r)),
    el('span', { class: 'kind', text: r.kind }),
    el('span', { class: 'name', text: r.qualified_name || r.name }),
    el('span', { class: 'score', title: 'score', text: `score ${Number(r.score).toFixed(3)}` }));
  const li = el('li', { class: 'result', tabindex: '0', 'data-target': `${r.path}:${r.start_line}` }, head);
  if (r.signature) li.append(el('div', { class: 'muted sig', text: r.signature }));
  if (r.snippet) li.append(codeBlock(r.snippet, r.start_line, r.language));
  if (!withActions) return li;
  const actions = el('div', { class: 'actions' });
  const editor = el('a', { class: 'editor', href: href || '#', hidden: !href, 'data-path': r.path, 'data-line': r.start_line,
    text: 'open in editor' });
  actions.append(editor);
  const panels = el('div');
  const add = (label, load) => {
    const b = el('button', { type: 'button', 'aria-expanded': 'false', text: label, 'data-panel': label });
    let panel = null;
    b.addEventListener('click', async () => {
      if (panel) { panel.remove(); panel = null; b.setAttribute('aria-expanded', 'false'); return; }
      b.setAttribute('aria-expanded', 'true');
      panel = el('div', { class: 'panel', 'data-panel': label }, el('h3', { text: label }), el('p', { class: 'muted', text: 'loading…' }));
      panels.append(panel);
      const mine = panel;
      try {
        const content = await load();
        mine.replaceChildren(el('h3', { text: label }), content);
      } catch (e) {
        mine.replaceChildren(el('h3', { text: label }), el('p', { class: 'muted', text: `failed: ${e.message}` }));
        if (e.status === 401) fail(e);
      }
    });
    actions.append(b);
    return b;
  };
  const target = `${r.path}:${r.start_line}`;
  // the ranking stage's contributions exist for hybrid code searches only
  if (state.last && !state.last.files && state.last.mode === 'hybrid') add('explain', () => explainPanel(r));
  add('similar', () => similarPanel(target));
  add('history', () => historyPanel(target));
  hasGraph().then((yes) => {
    if (!yes) return;
    add('callers', () => graphPanel('callers', target));
    add('callees', () => graphPanel('callees', target));
  });
  li.append(actions, panels);
  return li;
}

// One commit, issue or PR.
// A record's link, only when it is http(s): records come from any JSON Lines file.
const webUrl = (u) => (typeof u === 'string' && /^https?:\/\//i.test(u) ? u : null);

function recordItem(r) {
  const title = webUrl(r.url) ? el('a', { href: webUrl(r.url), text: r.title || r.id }) : el('span', { text: r.title || r.id });
  const id = r.sha ? r.sha.slice(0, 10) : r.number || r.key || r.id;
  return el('li', { class: 'result', tabindex: '0' },
    el('div', { class: 'head' },
      el('span', { class: 'kind', text: r.kind }),
      el('span', { class: 'loc', text: String(id) }),
      el('span', { class: 'name' }, title),
      el('span', { class: 'score', text: `score ${Number(r.score).toFixed(3)}` })),
    el('div', { class: 'muted', text: [r.date && r.date.slice(0, 10), r.author, r.state].filter(Boolean).join(' · ') }));
}

// The contributions of each feature to r's score (the search run again with explain).
async function explainPanel(r) {
  const body = { ...state.last, explain: true };
  const key = JSON.stringify(body);
  if (!state.explain.has(key)) state.explain.set(key, api('/code/search', body));
  const res = await state.explain.get(key);
  const hit = (res.results || []).find((x) => x.path === r.path && x.start_line === r.start_line);
  if (!hit || !hit.features) return el('p', { class: 'muted', text: 'no explanation for this result' });
  const rows = Object.entries(hit.features).sort((a, b) => Math.abs(b[1].contribution) - Math.abs(a[1].contribution));
  if (hit.score_base) rows.unshift(['(base of the trees)', { value: 1, contribution: hit.score_base }]);
  return el('table', {},
    el('thead', {}, el('tr', {}, el('th', { text: 'feature' }), el('th', { text: 'value' }), el('th', { text: 'contribution' }))),
    el('tbody', {}, ...rows.map(([k, f]) => el('tr', {}, el('td', { text: k }),
      el('td', { class: 'num', text: Number(f.value).toFixed(4) }),
      el('td', { class: 'num', text: `${f.contribution >= 0 ? '+' : '−'}${Math.abs(f.contribution).toFixed(4)}` })))));
}

function hitList(items) {
  if (!items.length) return el('p', { class: 'muted', text: 'none' });
  return el('ol', {}, ...items.map((x) => {
    const href = editorHref(x.path, x.start_line);
    return el('li', {}, el(href ? 'a' : 'span', { class: 'loc', href: href || undefined }, locText(x)), ' ',
      el('span', { class: 'kind', text: x.kind }), ' ', el('span', { class: 'name', text: x.qualified_name || x.name }),
      x.score !== undefined ? el('span', { class: 'muted', text: `  ${Number(x.score).toFixed(3)}` }) : null);
  }));
}

async function similarPanel(target) {
  const res = await api('/code/similar', { target, limit: 5 });
  return hitList(res.results || []);
}

async function historyPanel(target) {
  const res = await api('/code/history', { target, limit: 20 });
  const items = res.results || [];
  if (!items.length) return el('p', { class: 'muted', text: 'no commits linked to this entity (run semcode ingest git)' });
  return el('ul', {}, ...items.map((x) => el('li', {},
    el('span', { class: 'kind', text: x.kind }), ' ',
    el('span', { class: 'loc', text: x.sha ? x.sha.slice(0, 10) : String(x.number || x.key || x.id) }), ' ',
    webUrl(x.url) ? el('a', { href: webUrl(x.url), text: x.title }) : el('span', { text: x.title }),
    el('span', { class: 'muted', text: `  ${(x.date || '').slice(0, 10)} ${x.author || ''}` }))));
}

// Callers and callees are shown only when the server has them (a 404
// "no endpoint" means it has not): nothing is made up.
function hasGraph() {
  if (!state.graph) {
    state.graph = fetch('/code/callers', { method: 'POST', headers: { 'content-type': 'application/json',
      ...(sessionStorage.getItem(KEY_STORE) ? { 'api-key': sessionStorage.getItem(KEY_STORE) } : {}) }, body: '{}' })
      .then(async (r) => !(r.status === 404 && /no endpoint/.test(await r.text())))
      .catch(() => false);
  }
  return state.graph;
}

// /code/callers and /code/callees answer `semcode callers|callees --json`:
// one row per call site, with the calling (or called) entity when resolved.
async function graphPanel(dir, target) {
  const res = await api(`/code/${dir}`, { target, limit: 20 });
  const rows = (res[dir] || []).map((x) => {
    const e = dir === 'callers' ? x.caller : x.callee;
    return e || { path: x.path, start_line: x.line, end_line: x.line, kind: 'unresolved', name: x.name };
  });
  const list = hitList(rows);
  return res.unresolved ? el('div', {}, list, el('p', { class: 'muted', text: `${res.unresolved} call(s) not resolved to this repository` })) : list;
}

// ==== Duplicates ====

async function runDuplicates(ev) {
  if (ev) ev.preventDefault();
  const body = { threshold: Number($('#threshold').value) || 0.95, min_lines: Number($('#min-lines').value) || 5 };
  $('#dup-summary').textContent = 'looking for duplicates…';
  let res;
  try {
    res = await api('/code/duplicates', body);
  } catch (e) {
    $('#dup-summary').textContent = '';
    return fail(e);
  }
  loadStats().catch(() => {});
  const clusters = res.clusters || [];
  $('#dup-summary').textContent = `${clusters.length} cluster${clusters.length === 1 ? '' : 's'} at similarity ≥ ${Number(res.threshold).toFixed(2)}, ` +
    `${res.min_lines}+ lines. Words that differ from the first member (the first: from the second) are highlighted, their lines marked ±.`;
  $('#clusters').replaceChildren(...clusters.map((c, i) => clusterView(c, i)));
}

// Tokens of a snippet: words, runs of spaces, single other characters.
const tokens = (text) => text.replace(/\n$/, '').match(/\w+|[^\S\n]+|\n|[^\w\s]/g) || [];

// Which tokens of a are not in a longest common subsequence with b (a
// word-level diff); past 3,000 tokens on a side, every token that is not in
// b at all.
function diffTokens(a, b) {
  if (a.length > 3000 || b.length > 3000) { const s = new Set(b); return a.map((t) => !s.has(t)); }
  const w = b.length + 1, L = new Uint16Array((a.length + 1) * w);
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      L[i * w + j] = a[i] === b[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
  const out = new Array(a.length).fill(true);
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    if (a[i] === b[j]) { out[i] = false; i++; j++; } else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) i++; else j++;
  }
  return a.map((t, i) => out[i] && /\S/.test(t));
}

// Members side by side. Each member is compared word by word with the
// first one (the first with the second): the words that differ are
// highlighted, and their lines marked ± (readable without colour).
function clusterView(c, i) {
  const members = c.members || [];
  const toks = members.map((m) => tokens(m.snippet || ''));
  const views = members.map((m, k) => {
    const other = toks[k === 0 ? 1 : 0] || [];
    const differs = diffTokens(toks[k], other);
    const code = el('pre');
    const marks = [false];
    toks[k].forEach((t, n) => {
      if (t === '\n') { code.append('\n'); marks.push(false); return; }
      if (differs[n]) { code.append(el('span', { class: 'diff', text: t })); marks[marks.length - 1] = true; } else code.append(t);
    });
    const ln = el('pre', { class: 'ln', 'aria-hidden': 'true', text: marks.map((_, n) => m.start_line + n).join('\n') });
    const mk = el('pre', { class: 'mk', title: '± marks lines that differ', text: marks.map((d) => (d ? '±' : ' ')).join('\n') });
    const href = editorHref(m.path, m.start_line);
    return el('div', { class: 'member' },
      el('div', { class: 'head' }, el(href ? 'a' : 'span', { class: 'loc', href: href || undefined }, locText(m)),
        el('span', { class: 'kind', text: m.kind }), el('span', { class: 'name', text: m.qualified_name || m.name })),
      el('div', { class: 'code' }, ln, mk, code));
  });
  return el('section', { class: 'cluster', 'aria-label': `cluster ${i + 1}` },
    el('h3', { text: `Cluster ${i + 1}: ${members.length} members, similarity ${Number(c.similarity).toFixed(3)}` }),
    el('div', { class: 'members' }, ...views));
}

// ==== Index ====

function kv(rows) {
  return el('table', {}, el('tbody', {}, ...rows.map(([k, v]) => el('tr', {}, el('th', { scope: 'row', text: k }),
    el('td', {}, v === null || v === undefined ? '—' : v)))));
}

function counts(title, obj) {
  const rows = Object.entries(obj || {}).sort((a, b) => b[1] - a[1]);
  return el('table', {}, el('caption', { text: title }),
    el('thead', {}, el('tr', {}, el('th', { text: title.replace(/^by /, '') }), el('th', { text: 'entities' }))),
    el('tbody', {}, ...rows.map(([k, n]) => el('tr', {}, el('td', { text: k }), el('td', { class: 'num', text: String(n) })))));
}

function progress(j) {
  const total = j.total || 0;
  const pct = total ? Math.min(100, Math.round((100 * j.processed) / total)) : null;
  const text = total ? `${j.processed} / ${total} (${pct}%)` : `${j.processed} processed`;
  return el('span', {}, total ? el('span', { class: 'bar', 'aria-hidden': 'true' }, el('span', { style: `width:${pct}%` })) : null,
    ` ${text}`);
}

// One repository of the index page: where it is, what it holds, its model and health.
function repoSection(s, named) {
  const emb = s.embeddings || {};
  const problems = [];
  if (emb.wrong_dimension) problems.push(`${emb.wrong_dimension} with the wrong dimension`);
  if (emb.zero_vectors) problems.push(`${emb.zero_vectors} zero vectors`);
  if (emb.exact_duplicate_rate > 0.2) problems.push(`${(100 * emb.exact_duplicate_rate).toFixed(0)}% exact duplicates`);
  const health = emb.sampled === undefined ? 'not checked'
    : problems.length ? `PROBLEMS: ${problems.join(', ')}` : `healthy (${emb.sampled} vectors sampled)`;
  const run = s.last_run || {};
  return [
    el('h2', { class: 'repo', text: named ? `Repository ${s.repo}` : 'Repository' }),
    kv([['root', s.root], ['store', s.store], ['files', String(s.files)], ['entities', String(s.entities)],
      ['store size', s.store_bytes !== undefined ? `${(s.store_bytes / 1048576).toFixed(1)} MB` : null],
      ['last index', s.last_index],
      ['last run', run.seconds !== undefined ? `${run.files_seen} files seen, ${run.files_parsed} parsed, +${run.entities_added} ` +
        `~${run.entities_updated} −${run.entities_removed} entities in ${run.seconds} s` : null],
      ['model', s.model ? `${s.model.id} (${s.model.dim} dimensions, ${s.model.provider})` : null],
      ['embedding health', health]]),
    el('div', { class: 'row tables' }, counts('by language', s.by_language), counts('by kind', s.by_kind)),
  ];
}

async function renderIndex() {
  const body = $('#index-body');
  body.replaceChildren(el('p', { class: 'muted', text: 'loading…' }));
  state.stats = null;
  let s;
  let jobs = null;
  try {
    [s, jobs] = await Promise.all([loadStats(), api('/jobs').catch((e) => ({ error: e.message }))]);
  } catch (e) {
    body.replaceChildren();
    return fail(e);
  }
  // several repositories served (serve --repo A --repo B): one section each
  const names = Array.isArray(s.repositories) ? s.repositories : [];
  let others = [];
  try {
    others = await Promise.all(names.filter((n) => n !== s.repo).map((n) => api(`/code/stats?repo=${encodeURIComponent(n)}`)));
  } catch (e) {
    body.replaceChildren();
    return fail(e);
  }
  const jobRows = jobs && jobs.jobs ? jobs.jobs : [];
  body.replaceChildren(
    ...[s, ...others].flatMap((x) => repoSection(x, names.length > 1)),
    el('h2', { text: 'Jobs' }),
    jobs && jobs.error ? el('p', { class: 'muted', text: `jobs unavailable: ${jobs.error}` })
      : !jobRows.length ? el('p', { class: 'muted', text: 'no jobs' })
        : el('table', { class: 'jobs' },
          el('thead', {}, el('tr', {}, ...['id', 'state', 'source', 'progress', 'failed', 'created'].map((h) => el('th', { text: h })))),
          el('tbody', {}, ...jobRows.map((j) => el('tr', {}, el('td', { class: 'num', text: String(j.id) }),
            el('td', { text: j.state }), el('td', { text: j.source && j.source.type ? j.source.type : JSON.stringify(j.source) }),
            el('td', {}, progress(j)), el('td', { class: 'num', text: String(j.failed) }), el('td', { text: j.created || '' }))))));
  document.body.dataset.index = 'ready';
}

// ==== Settings ====

function saveSettings(ev) {
  ev.preventDefault();
  const key = $('#key').value.trim();
  if (key) sessionStorage.setItem(KEY_STORE, key); else sessionStorage.removeItem(KEY_STORE);
  localStorage.setItem(EDITOR_STORE, $('#editor').value.trim());
  state.stats = null;
  state.graph = null;
  state.explain.clear();
  say('Saved.');
  if (location.hash === state.prev || !state.prev) route(); else location.hash = state.prev;
}

// ==== Keyboard ====

function onKey(ev) {
  const t = ev.target;
  const typing = t.matches && t.matches('input, select, textarea');
  if (ev.key === '/' && !typing) {
    ev.preventDefault();
    if (!location.hash.startsWith('#search') && location.hash) location.hash = '#search';
    $('#q').focus();
    $('#q').select();
    return;
  }
  if (ev.key === 'Escape') { $('#q').focus(); return; }
  const items = [...document.querySelectorAll('#results > .result')];
  if (t.id === 'q' && ev.key === 'ArrowDown' && items.length) { ev.preventDefault(); items[0].focus(); return; }
  if (!t.classList || !t.classList.contains('result')) return;
  const i = items.indexOf(t);
  if (ev.key === 'ArrowDown' && i + 1 < items.length) { ev.preventDefault(); items[i + 1].focus(); }
  else if (ev.key === 'ArrowUp') { ev.preventDefault(); (i > 0 ? items[i - 1] : $('#q')).focus(); }
  else if (ev.key === 'Enter') {
    ev.preventDefault();
    const open = !t.classList.contains('open');
    t.classList.toggle('open', open);
    for (const b of t.querySelectorAll('button[data-panel="similar"], button[data-panel="history"]'))
      if ((b.getAttribute('aria-expanded') === 'true') !== open) b.click();
  } else if (ev.key === 'o') {
    const a = t.querySelector('a.editor');
    if (a && !a.hidden) a.click();
  }
}

// ==== Start ====

document.addEventListener('DOMContentLoaded', () => {
  $('#search-form').addEventListener('submit', submitSearch);
  $('#in').addEventListener('change', syncSource);
  $('#dup-form').addEventListener('submit', runDuplicates);
  $('#settings-form').addEventListener('submit', saveSettings);
  $('#forget').addEventListener('click', () => { sessionStorage.removeItem(KEY_STORE); $('#key').value = ''; say('Key forgotten.'); });
  $('#key').value = sessionStorage.getItem(KEY_STORE) || '';
  $('#editor').value = localStorage.getItem(EDITOR_STORE) ?? EDITOR_DEFAULT;
  document.addEventListener('keydown', onKey);
  window.addEventListener('hashchange', route);
  route();
});
