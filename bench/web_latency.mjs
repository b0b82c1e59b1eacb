// Time to first result of the web page (issue 21): for each query, a fresh
// navigation to /ui/#search?q=… in Debian's headless chromium
// (playwright-core); the page records performance.now() (milliseconds since
// navigation start) two animation frames after it inserted the results,
// i.e. once they are painted (window.semcodeFirstResult, web/app.js). Also
// the page weight: bytes of every response until then (HTML, CSS, JS and the
// search's JSON), and the highlighter files that load after it.
// Usage: node bench/web_latency.mjs URL QUERIES.txt [N=50]   (bench/web_latency.sh starts the server)
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const [url, file, nArg] = process.argv.slice(2);
const N = Number(nArg || 50);
const queries = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, N);
const browser = await chromium.launch({ executablePath: process.env.SEMCODE_CHROMIUM || '/usr/bin/chromium',
  headless: true, args: ['--no-sandbox'] });
const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
const page = await ctx.newPage();
const times = [], server = [], early = [], late = [];
for (const q of queries) {
  await page.goto('about:blank');
  await page.goto(`${url}/ui/#search?q=${encodeURIComponent(q)}`);
  await page.waitForFunction(() => window.semcodeFirstResult, null, { timeout: 60000 });
  await page.waitForLoadState('networkidle');
  const m = await page.evaluate(() => {
    const t = window.semcodeFirstResult;
    const size = (e) => e.encodedBodySize || e.transferSize || 0;
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    return { t, took: Number(/([\d.]+) ms on the server/.exec(document.querySelector('#summary').textContent)?.[1] || NaN),
      early: size(nav) + res.filter((e) => e.responseEnd <= t).reduce((a, e) => a + size(e), 0),
      late: res.filter((e) => e.responseEnd > t).reduce((a, e) => a + size(e), 0) };
  });
  times.push(m.t); server.push(m.took); early.push(m.early); late.push(m.late);
}
await browser.close();
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.max(0, Math.round(p * s.length) - 1))]; };
console.log(`web page, ${times.length} queries: time to first result p50 ${pct(times, 0.5).toFixed(0)} ms, ` +
  `p90 ${pct(times, 0.9).toFixed(0)} ms (server search p50 ${pct(server, 0.5).toFixed(1)} ms); ` +
  `page weight to first result p50 ${(pct(early, 0.5) / 1024).toFixed(1)} KiB, ` +
  `then highlighting p50 ${(pct(late, 0.5) / 1024).toFixed(1)} KiB`);
