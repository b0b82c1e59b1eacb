// A local stand-in for the GitHub and Jira REST APIs, for the end-to-end
// tests of `semcode ingest github|jira` (the real services cannot be
// reached from the test machines). It serves, on 127.0.0.1, answers in the
// shapes of the public REST documentation:
//   GitHub: GET /repos/O/R/issues (state, sort, direction, since, per_page,
//     page; Link header), /issues/N/comments, /pulls/N, /pulls/N/reviews,
//     /pulls/N/comments, /pulls/N/commits; X-RateLimit-* headers; every
//     listing page carries a weak ETag of its body, and a request whose
//     If-None-Match names it answers 304 Not Modified without a body
//     ("Conditional requests" of GitHub's REST documentation).
//   Jira: GET /rest/api/{2,3}/search (jql, startAt, maxResults, fields,
//     expand=names) and /rest/api/{2,3}/issue/KEY/comment; with
//     tokenPaging, Jira Cloud's enhanced search GET /rest/api/3/search/jql
//     (jql, maxResults, fields, expand, nextPageToken; answers issues,
//     nextPageToken while more remain, isLast) and the old
//     /rest/api/3/search answering 410 Gone as Atlassian's removal notice.
// Faults are queued by the tests: an answer (status, headers, body) given
// instead of the real one to the next `times` requests whose path and query
// match. Every request is logged (method, path, query, authorization,
// ifNoneMatch).
// Not a test file itself (node --test runs *.test.mjs only).
import crypto from 'node:crypto';
import http from 'node:http';

// ==== GitHub-shaped data ====

export class FakeGitHub {
  constructor({ owner = 'acme', repo = 'shop', token = null } = {}) {
    this.owner = owner;
    this.repo = repo;
    this.token = token;      // when set, requests need "Authorization: Bearer <token>"
    this.items = [];         // issues and PRs, as the issues listing returns them
    this.comments = {};      // number -> issue comments
    this.pulls = {};         // number -> PR details
    this.reviews = {};       // number -> reviews
    this.reviewComments = {};// number -> review comments
    this.commits = {};       // number -> PR commits
    this.nextId = 1000;
  }

  user(login) { return { login, id: login.length, type: 'User', html_url: `https://github.com/${login}` }; }

  issueUrl(n, pr) { return `https://github.com/${this.owner}/${this.repo}/${pr ? 'pull' : 'issues'}/${n}`; }

  // Add an issue (pr: true for a pull request) with fields of the API's issue object.
  addIssue({ number, title, body = '', state = 'open', user = 'alice', labels = [], created, updated, closed = null,
    pr = false, merged = null, comments = [] }) {
    const it = {
      id: this.nextId++, node_id: `I_${number}`, number, title, body, state,
      state_reason: state === 'closed' ? 'completed' : null,
      url: `https://api.github.com/repos/${this.owner}/${this.repo}/issues/${number}`,
      html_url: this.issueUrl(number, pr), user: this.user(user),
      labels: labels.map((name, i) => ({ id: i + 1, name, color: 'ededed', description: null })),
      assignee: null, assignees: [{ login: 'carol' }], milestone: number % 2 ? { title: 'v1.0', number: 1 } : null,
      locked: false, comments: comments.length, created_at: created, updated_at: updated || created, closed_at: closed,
      author_association: 'MEMBER',
    };
    if (pr) it.pull_request = { url: `${it.url.replace('/issues/', '/pulls/')}`, html_url: it.html_url, merged_at: merged };
    this.items.push(it);
    this.comments[number] = comments.map((c) => ({
      id: this.nextId++, html_url: `${it.html_url}#issuecomment-${this.nextId}`, body: c.body, user: this.user(c.user),
      created_at: c.at, updated_at: c.at, author_association: 'MEMBER',
    }));
    return it;
  }

  // PR details, reviews, review comments and commits of an added PR.
  addPullParts(number, { head = 'feature', base = 'main', merged = null, draft = false, reviews = [], reviewComments = [],
    commits = [] }) {
    const it = this.items.find((x) => x.number === number);
    this.pulls[number] = {
      number, title: it.title, body: it.body, state: it.state, user: it.user, labels: it.labels, html_url: it.html_url,
      created_at: it.created_at, updated_at: it.updated_at, closed_at: it.closed_at, merged_at: merged,
      merged: merged !== null, draft, merge_commit_sha: merged ? commits[commits.length - 1] : null,
      head: { ref: head, sha: commits[commits.length - 1] || '0'.repeat(40), label: `${this.owner}:${head}` },
      base: { ref: base, sha: '1'.repeat(40), label: `${this.owner}:${base}` },
      additions: 12, deletions: 3, changed_files: 2, commits: commits.length, review_comments: reviewComments.length,
    };
    this.reviews[number] = reviews.map((r) => ({
      id: this.nextId++, node_id: 'R', user: this.user(r.user), body: r.body, state: r.state,
      html_url: `${it.html_url}#pullrequestreview-${this.nextId}`, submitted_at: r.at, commit_id: commits[0] || null,
      author_association: 'MEMBER',
    }));
    this.reviewComments[number] = reviewComments.map((c) => ({
      id: this.nextId++, pull_request_review_id: this.reviews[number][0]?.id ?? null, diff_hunk: '@@ -1,3 +1,4 @@',
      path: c.path, position: 4, original_position: 4, line: c.line, original_line: c.line, side: 'RIGHT',
      commit_id: commits[0] || null, original_commit_id: commits[0] || null, user: this.user(c.user), body: c.body,
      created_at: c.at, updated_at: c.at, html_url: `${it.html_url}#discussion_r${this.nextId}`,
      pull_request_url: it.pull_request.url,
    }));
    this.commits[number] = commits.map((sha) => ({
      sha, node_id: 'C', html_url: `https://github.com/${this.owner}/${this.repo}/commit/${sha}`,
      commit: { message: 'a commit', author: { name: 'Alice', email: 'alice@example.org', date: it.created_at } },
      author: this.user('alice'), parents: [],
    }));
  }

  // Answer a request under /repos/O/R/...; false when the path is not one.
  handle(url, req, res) {
    const base = `/repos/${this.owner}/${this.repo}`;
    if (!url.pathname.startsWith(`${base}/`)) return false;
    if (this.token && req.headers.authorization !== `Bearer ${this.token}`) {
      send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      return true;
    }
    const rest = url.pathname.slice(base.length + 1).split('/');
    const q = url.searchParams;
    let list = null;
    let one = null;
    if (rest.length === 1 && rest[0] === 'issues') {
      const since = q.get('since');
      list = this.items.filter((x) => !since || x.updated_at >= since);
      const key = q.get('sort') === 'updated' ? 'updated_at' : 'created_at';
      list = [...list].sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : a.number - b.number));
      if (q.get('direction') === 'desc') list.reverse();
    } else if (rest.length === 3 && rest[0] === 'issues' && rest[2] === 'comments') {
      list = this.comments[+rest[1]] || [];
    } else if (rest.length === 2 && rest[0] === 'pulls') {
      one = this.pulls[+rest[1]];
    } else if (rest.length === 3 && rest[0] === 'pulls') {
      const n = +rest[1];
      list = { reviews: this.reviews, comments: this.reviewComments, commits: this.commits }[rest[2]]?.[n] ?? null;
    }
    if (one) send(res, 200, one, rateHeaders());
    else if (list) sendPage(res, url, list, rateHeaders(), req);
    else send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    return true;
  }
}

// ==== Jira-shaped data ====

export class FakeJira {
  constructor({ user = null, token = null, perIssueComments = 2, tokenPaging = false } = {}) {
    this.user = user;                 // with token: basic authentication required
    this.token = token;
    this.tokenPaging = tokenPaging;   // API 3: /search/jql with nextPageToken; the old /search is gone (410)
    this.tokens = [];                 // nextPageToken of each /search/jql request (null for the first)
    this.issues = [];                 // issue objects (key, fields)
    this.perIssueComments = perIssueComments; // comments the search returns per issue (the rest: /comment)
    this.names = { customfield_10020: 'Acceptance criteria', customfield_10030: 'Team' };
    this.jqls = [];                   // JQL of each search request
  }

  // Add an issue; description and comment bodies as given (strings, or ADF objects for API 3).
  addIssue({ key, summary, description = null, status = 'To Do', category = 'new', priority = 'Medium', type = 'Bug',
    labels = [], components = [], reporter = 'Dana', created, updated, resolved = null, comments = [], custom = {} }) {
    const fields = {
      summary, description, status: { name: status, statusCategory: { key: category, name: category } },
      priority: { name: priority }, issuetype: { name: type }, labels,
      components: components.map((name, i) => ({ id: String(i + 1), name })),
      reporter: { displayName: reporter, emailAddress: `${reporter.toLowerCase()}@example.org`, accountId: reporter },
      assignee: { displayName: 'Eve', accountId: 'eve' }, created, updated: updated || created,
      resolutiondate: resolved, resolution: resolved ? { name: 'Done' } : null,
      project: { key: key.split('-')[0], name: 'Project' }, fixVersions: [],
      comment: { comments: [], maxResults: 0, total: 0, startAt: 0 },
      ...custom,
    };
    const all = comments.map((c, i) => ({
      id: String(10000 + this.issues.length * 100 + i), author: { displayName: c.who, emailAddress: `${c.who}@x.org` },
      body: c.body, created: c.at, updated: c.at,
    }));
    const issue = { id: String(20000 + this.issues.length), key, self: `http://jira/rest/api/2/issue/${key}`, fields, all };
    this.issues.push(issue);
    return issue;
  }

  // The issues of a search page with the comments a search returns (fields=key: the keys only).
  searchPage(startAt, max, fields = null) {
    if (fields === 'key') return this.issues.slice(startAt, startAt + max).map((x) => ({ id: x.id, key: x.key, self: x.self }));
    return this.issues.slice(startAt, startAt + max).map((x) => ({
      id: x.id, key: x.key, self: x.self,
      fields: { ...x.fields, comment: { comments: x.all.slice(0, this.perIssueComments), maxResults: this.perIssueComments, total: x.all.length, startAt: 0 } },
    }));
  }

  handle(url, req, res) {
    const m = url.pathname.match(/^\/rest\/api\/([23])\/(search\/jql|search|issue\/([^/]+)\/comment)$/);
    if (!m) return false;
    if (m[2] === 'search/jql' && !(this.tokenPaging && m[1] === '3')) return false;
    if (this.token) {
      const want = `Basic ${Buffer.from(`${this.user}:${this.token}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        send(res, 401, { errorMessages: ['You are not authenticated.'], errors: {} });
        return true;
      }
    }
    const q = url.searchParams;
    const startAt = +(q.get('startAt') || 0);
    const max = +(q.get('maxResults') || 50);
    const names = { summary: 'Summary', description: 'Description', ...this.names };
    if (m[2] === 'search/jql') {
      // the token is opaque to clients; here it encodes where the next page starts
      const token = q.get('nextPageToken');
      this.tokens.push(token);
      this.jqls.push(q.get('jql'));
      const from = token ? +Buffer.from(token, 'base64url').toString().replace(/^at:/, '') : 0;
      const page = this.searchPage(from, max, q.get('fields'));
      const more = from + page.length < this.issues.length;
      send(res, 200, { issues: page, names, isLast: !more, ...(more ? { nextPageToken: Buffer.from(`at:${from + page.length}`).toString('base64url') } : {}) });
    } else if (m[2] === 'search' && this.tokenPaging && m[1] === '3') {
      send(res, 410, { errorMessages: ['The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.'], errors: {} });
    } else if (m[2] === 'search') {
      this.jqls.push(q.get('jql'));
      send(res, 200, { expand: 'names,schema', startAt, maxResults: max, total: this.issues.length, issues: this.searchPage(startAt, max, q.get('fields')), names });
    } else {
      const issue = this.issues.find((x) => x.key === decodeURIComponent(m[3]));
      if (!issue) send(res, 404, { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} });
      else send(res, 200, { startAt, maxResults: max, total: issue.all.length, comments: issue.all.slice(startAt, startAt + max) });
    }
    return true;
  }
}

// ==== The server ====

function rateHeaders() {
  return { 'X-RateLimit-Limit': '5000', 'X-RateLimit-Remaining': '4990', 'X-RateLimit-Used': '10',
    'X-RateLimit-Reset': String(Math.floor(Date.now() / 1000) + 3600), 'X-RateLimit-Resource': 'core' };
}

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

// One page of list by per_page / page, with GitHub's Link header.
function sendPage(res, url, list, headers, req = null) {
  const per = Math.min(+(url.searchParams.get('per_page') || 30), 100);
  const page = +(url.searchParams.get('page') || 1);
  const last = Math.max(1, Math.ceil(list.length / per));
  const link = (p) => {
    const u = new URL(url.href);
    u.searchParams.set('page', String(p));
    return u.href;
  };
  const rels = [];
  if (page < last) rels.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
  if (page > 1) rels.push(`<${link(1)}>; rel="first"`, `<${link(page - 1)}>; rel="prev"`);
  if (rels.length) headers = { ...headers, Link: rels.join(', ') };
  const body = JSON.stringify(list.slice((page - 1) * per, page * per));
  const etag = `W/"${crypto.createHash('sha1').update(body).digest('hex')}"`;
  if (req && req.headers['if-none-match'] === etag) {
    res.writeHead(304, { ETag: etag, ...headers });
    res.end();
    return;
  }
  send(res, 200, body, { ...headers, ETag: etag });
}

// Start a server on 127.0.0.1 answering for the given fakes. Returns
// { url, log, fault(spec), close() }. fault spec: { path: RegExp (matched
// against path + query), times (default 1), status, headers, body (object or
// raw text) }.
export async function startFakeApi(...fakes) {
  const log = [];
  const faults = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    log.push({ method: req.method, path: url.pathname, query: url.search, authorization: req.headers.authorization || null,
      ifNoneMatch: req.headers['if-none-match'] || null });
    const f = faults.find((x) => x.times > 0 && x.path.test(url.pathname + url.search));
    if (f) {
      f.times--;
      f.hits = (f.hits || 0) + 1;
      const headers = typeof f.headers === 'function' ? f.headers() : f.headers || {};
      if (f.raw !== undefined) {
        res.writeHead(f.status || 200, { 'Content-Type': 'application/json', ...headers });
        res.end(f.raw);
      } else {
        send(res, f.status, f.body ?? { message: 'fault' }, headers);
      }
      return;
    }
    for (const fake of fakes) if (fake.handle(url, req, res)) return;
    send(res, 404, { message: 'Not Found' });
  });
  server.keepAliveTimeout = 2000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    log,
    fault(spec) {
      const f = { times: 1, ...spec };
      faults.push(f);
      return f;
    },
    clearFaults() { faults.length = 0; },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
