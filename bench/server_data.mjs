// Shared data for bench/server.sh (issue 9): the points, the queries and the
// exact ground truth that semcode and the peer are measured on.
//
//   node bench/server_data.mjs OUTDIR N DIM [NQ] [clustered|uniform]
//
// writes OUTDIR/points.f32 (N x DIM little-endian float32), queries.f32
// (NQ x DIM), queries.txt (one JSON array of floats per line, for wrk) and
// truth.json (exact cosine top-10 point ids per query, ties by smaller id;
// also as truth.u32, NQ x 10 little-endian uint32, for bench/server_inproc.c).
// All draws come from a 64-bit LCG (seed 12345 for the points, 7 for the
// queries). `clustered` (default) follows the model of bench/synth.h: 1,000
// centroids ~ N(0, I) normalised, a point = a uniformly chosen centroid +
// N(0, 0.6^2/DIM I) noise, normalised (cosine to its centroid about 0.85),
// queries fresh draws from the same mixture; `uniform` is every component
// uniform in [-1, 1), the data of the first runs, on which the top-10 of a
// query are barely closer than the rest and no graph index finds them.
// Values are rounded to 5 decimals, so the JSON the HTTP loader sends and
// the float32 the in-process runs receive denote the same numbers.
import { readFileSync, writeFileSync } from 'node:fs';

// 64-bit LCG x = x * A + C (mod 2^64) on two uint32 halves.
const A_HI = 0x5851f42d, A_LO = 0x4c957f2d, C_HI = 0x14057b7e, C_LO = 0xf767814f;
export function lcg(seed) {
  let hi = Math.floor(seed / 4294967296) >>> 0, lo = seed >>> 0;
  return function next() { // uniform in [-1, 1) from the top 24 bits
    const a0 = lo & 0xffff, a1 = lo >>> 16, b0 = A_LO & 0xffff, b1 = A_LO >>> 16;
    const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    const plo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    const phi = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
    const nlo = plo + C_LO;
    const carry = nlo > 0xffffffff ? 1 : 0;
    hi = (phi + Math.imul(hi, A_LO) + Math.imul(lo, A_HI) + C_HI + carry) >>> 0;
    lo = nlo >>> 0;
    return (hi >>> 8) / 8388608 - 1;
  };
}

export function vectors(seed, n, dim, decimals) {
  const next = lcg(seed), out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) out[i] = Number(next().toFixed(decimals));
  return out;
}

function normalise(v) {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let j = 0; j < v.length; j++) v[j] *= inv;
}

// Gaussian mixture (see the header): points with seed 12345 (centroids
// first), then queries from the same centroids with their own seed.
export function clustered(n, nq, dim, nCent = 1000) {
  const gauss = (next) => { // Box-Muller on two uniforms in (0, 1]
    const u1 = 1 - (next() + 1) / 2, u2 = 1 - (next() + 1) / 2;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
  const sigma = 0.6 / Math.sqrt(dim);
  const cent = new Float64Array(nCent * dim);
  const draw = (next, count) => {
    const out = new Float32Array(count * dim), v = new Float64Array(dim);
    for (let i = 0; i < count; i++) {
      const c = Math.floor(((next() + 1) / 2) * nCent) * dim;
      for (let j = 0; j < dim; j++) v[j] = cent[c + j] + sigma * gauss(next);
      normalise(v);
      for (let j = 0; j < dim; j++) out[i * dim + j] = Number(v[j].toFixed(5));
    }
    return out;
  };
  const next = lcg(12345);
  for (let c = 0; c < nCent; c++) {
    const v = cent.subarray(c * dim, (c + 1) * dim);
    for (let j = 0; j < dim; j++) v[j] = gauss(next);
    normalise(v);
  }
  return { points: draw(next, n), queries: draw(lcg(7), nq) };
}

// A float32 file as an array (copied when the buffer is not 4-aligned).
export function readF32(file) {
  const b = readFileSync(file);
  if (b.byteOffset % 4) return new Float32Array(new Uint8Array(b).buffer);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

// Latency percentile (p in [0, 100]) of a sorted array, nearest rank.
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// Exact cosine top-k of each query (ids = row numbers).
export function exactTopK(points, queries, dim, k) {
  const n = points.length / dim, nq = queries.length / dim;
  const inv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0, o = i * dim; j < dim; j++) s += points[o + j] * points[o + j];
    inv[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
  }
  const out = [];
  for (let q = 0; q < nq; q++) {
    const qv = queries.subarray(q * dim, (q + 1) * dim);
    const best = []; // [score, id], sorted best first
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0, o = i * dim; j < dim; j++) s += points[o + j] * qv[j];
      s *= inv[i];
      if (best.length < k || s > best[best.length - 1][0]) {
        best.push([s, i]);
        best.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
        if (best.length > k) best.pop();
      }
    }
    out.push(best.map((b) => b[1]));
  }
  return out;
}

// recall@k of answers (arrays of ids) against the truth.
export function recall(answers, truth) {
  let hit = 0, total = 0;
  for (let q = 0; q < truth.length; q++) {
    const t = new Set(truth[q]);
    for (const id of answers[q] || []) if (t.has(Number(id))) hit++;
    total += truth[q].length;
  }
  return hit / total;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, nStr, dimStr, nqStr, kind = 'clustered'] = process.argv.slice(2);
  const N = Number(nStr), DIM = Number(dimStr), NQ = Number(nqStr || 64);
  if (kind !== 'clustered' && kind !== 'uniform') throw new Error(`unknown data kind ${kind}`);
  const { points, queries } = kind === 'uniform' ? { points: vectors(12345, N, DIM, 5), queries: vectors(7, NQ, DIM, 5) }
                                                 : clustered(N, NQ, DIM);
  writeFileSync(`${dir}/points.f32`, new Uint8Array(points.buffer));
  writeFileSync(`${dir}/queries.f32`, new Uint8Array(queries.buffer));
  const lines = [];
  for (let q = 0; q < NQ; q++)
    lines.push('[' + Array.from(queries.subarray(q * DIM, (q + 1) * DIM), (x) => Number(x.toFixed(5))).join(',') + ']');
  writeFileSync(`${dir}/queries.txt`, lines.join('\n') + '\n');
  const truth = exactTopK(points, queries, DIM, 10);
  writeFileSync(`${dir}/truth.json`, JSON.stringify(truth));
  writeFileSync(`${dir}/truth.u32`, new Uint8Array(Uint32Array.from(truth.flat()).buffer));
}
