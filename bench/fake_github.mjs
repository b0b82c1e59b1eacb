// A local GitHub for bench/job_resume.sh SOURCE=github: the fake of the
// end-to-end tests (tests/e2e/fake_trackers.mjs, answers in the REST API's
// documented shapes, Link paging, a token required) holding N generated
// issues, every fifth with two comments. Writes its URL to PORT_FILE and
// serves until SIGTERM.
// Usage: node bench/fake_github.mjs N URL_FILE TOKEN
import fs from 'node:fs';
import { FakeGitHub, startFakeApi } from '../tests/e2e/fake_trackers.mjs';

const [n, urlFile, token] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const areas = ['checkout', 'login', 'search', 'cart', 'invoice', 'shipping', 'coupon', 'export', 'upload', 'billing'];
const faults = ['times out', 'returns a 500', 'shows a blank page', 'loses the session', 'double-charges',
  'hangs on retry', 'ignores the locale', 'crashes on empty input'];
const gh = new FakeGitHub({ owner: 'bench', repo: 'issues', token });
for (let i = 1; i <= n; i++) {
  const area = areas[i % areas.length], fault = faults[(i * 7) % faults.length];
  const at = new Date(Date.UTC(2023, 0, 1) + i * 600e3).toISOString().replace('.000', '');
  gh.addIssue({ number: i, title: `${area} ${fault} (#${i})`, labels: [area, i % 3 ? 'bug' : 'regression'],
    body: `Steps: open the ${area} page with account ${i % 97}, wait; it ${fault}. Seen since build ${1000 + (i % 53)}.`,
    state: i % 4 ? 'open' : 'closed', user: ['alice', 'bob', 'carol', 'dave'][i % 4], created: at,
    comments: i % 5 ? [] : [{ user: 'bob', body: `Also on ${area} for me`, at },
      { user: 'carol', body: `Probably the ${areas[(i + 3) % areas.length]} change`, at }] });
}
const api = await startFakeApi(gh);
fs.writeFileSync(urlFile, api.url);
process.on('SIGTERM', async () => {
  await api.close();
  process.exit(0);
});
