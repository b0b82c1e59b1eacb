#!/usr/bin/python3
"""Peer of bench/sparse.c: the same sparse top-10 searches with SciPy's
sparse matrices (Debian python3-scipy), on the data and the idf-weighted
queries bench/sparse.c wrote to DIR (data.bin, queries.bin).

Two ways, both exact:
  csc  the matrix in CSC form, only the query's columns taken (an inverted
       index by another name: cost ~ the postings of the query's indices),
       scores = X[:, q] @ w;
  csr  the whole matrix times the query as a dense vector (a full scan).
Each query's top 10 (points sharing an index, sum != 0; ties by id) is
compared with the store's: the same ids, scores within 1e-5 relative (SciPy
sums the products in its own order, in float32).

Usage: bench/sparse_scipy.py DIR
"""
import sys
import time

import numpy as np
import scipy
import scipy.sparse as sp


def load(d):
    with open(f"{d}/data.bin", "rb") as f:
        n, nnz, vocab = np.frombuffer(f.read(24), dtype=np.uint64)
        n, nnz, vocab = int(n), int(nnz), int(vocab)
        off = np.frombuffer(f.read(8 * (n + 1)), dtype=np.uint64).astype(np.int64)
        idx = np.frombuffer(f.read(4 * nnz), dtype=np.uint32).astype(np.int32)
        val = np.frombuffer(f.read(4 * nnz), dtype=np.float32)
    queries = []
    with open(f"{d}/queries.bin", "rb") as f:
        while True:
            b = f.read(4)
            if not b:
                break
            qn = int(np.frombuffer(b, dtype=np.uint32)[0])
            qi = np.frombuffer(f.read(4 * qn), dtype=np.uint32).astype(np.int32)
            qw = np.frombuffer(f.read(4 * qn), dtype=np.float32)
            m = int(np.frombuffer(f.read(4), dtype=np.uint32)[0])
            hits = [(int(np.frombuffer(f.read(8), dtype=np.uint64)[0]), float(np.frombuffer(f.read(4), dtype=np.float32)[0]))
                    for _ in range(m)]
            queries.append((qi, qw, hits))
    return sp.csr_matrix((val, idx, off), shape=(n, vocab)), queries


def top10(scores, touched):
    """Ids (1-based) and scores of the best 10 touched points with a non-zero sum, ties by id."""
    cand = np.nonzero(touched & (scores != 0))[0]
    if len(cand) > 10:
        part = cand[np.argpartition(-scores[cand], 9)[:10]]
        kth = scores[part].min()
        cand = cand[scores[cand] >= kth]  # keep ties at the cut
    order = sorted(cand, key=lambda p: (-scores[p], p))[:10]
    return [(int(p) + 1, float(scores[p])) for p in order]


def main():
    x_csr, queries = load(sys.argv[1])
    x_csc = x_csr.tocsc()
    print(f"scipy {scipy.__version__}, numpy {np.__version__}: {x_csr.shape[0]} points, {x_csr.nnz} entries, "
          f"{len(queries)} queries")
    for name in ("csc", "csr"):
        times, differ = {}, 0
        for qi, qw, hits in queries:
            t0 = time.perf_counter()
            if name == "csc":
                cols = x_csc[:, qi]
                scores = np.asarray(cols @ qw).ravel()
                touched = np.asarray(cols.getnnz(axis=1)).ravel() > 0
            else:
                q = np.zeros(x_csr.shape[1], dtype=np.float32)
                q[qi] = qw
                scores = np.asarray(x_csr @ q).ravel()
                mask = np.zeros(x_csr.shape[1], dtype=np.float32)
                mask[qi] = 1
                touched = np.asarray(x_csr @ mask).ravel() > 0
            got = top10(scores, touched)
            times.setdefault(len(qi), []).append(time.perf_counter() - t0)
            same = len(got) == len(hits) and all(
                a[0] == b[0] and abs(a[1] - b[1]) <= 1e-5 * max(1.0, abs(b[1])) for a, b in zip(got, hits))
            differ += not same
        for qn, ts in sorted(times.items()):
            ts = np.array(ts)
            print(f"scipy {name}, query {qn:3d} entries: p50 {1e3 * np.median(ts):.3f} ms, "
                  f"p99 {1e3 * np.percentile(ts, 99):.3f} ms, mean {1e3 * ts.mean():.3f} ms")
        print(f"scipy {name}: {differ} of {len(queries)} top-10 lists differ from the store's")


if __name__ == "__main__":
    main()
