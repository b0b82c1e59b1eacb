#!/usr/bin/python3
"""Trains the linear ranking stage of semcode (issue 14; src/store/rank.c).

Input: feature dumps written by `semcode eval --queries ... --dump-features F`
(one JSON line per query: {"repo", "category", "split", "language", "labels":
[0/1 per candidate], "features": [[...] per candidate]} with the candidates of
the hybrid search: the union of the dense and keyword legs).

The model: score = w . x, trained with a listwise softmax loss (the
log-probability of the right candidates among all candidates of the query,
the ranking loss of ListNet / softmax cross-entropy) plus an L2 penalty, by
full-batch Adam on standardised features. Pseudo-queries from the model's
training corpora are the training data (--train); the development split of
the realistic queries (--dev) chooses the L2 strength and the weight given
to the development queries themselves (--dev-weight, measured by
leave-one-repository-out so a repository never scores a model trained on its
own queries). The test split is never read.

Then a calibration of the confidence: a logistic fit of "a right answer is in
the first 10" on the top score and its gap to the runner-up over the
development queries (leave-one-repository-out scores), threshold 0.5.

usage: train_ranker.py --train A.jsonl [..] --dev D.jsonl [..] [--out src/store/rank_weights.h]
       [--l2 0.01,0.1,1] [--dev-weight 0,1,3] [--iters 600]
"""
import argparse
import json
import sys

import numpy as np

MAX_CANDS = 200  # candidates kept per query (set by --max-cands)


def load(paths):
    qs = []
    names = None
    for p in paths:
        with open(p) as f:
            for line in f:
                o = json.loads(line)
                if "feature_names" in o:
                    names = o["feature_names"]
                    continue
                X = np.asarray(o["features"], dtype=np.float64)[:MAX_CANDS]
                y = np.asarray(o["labels"], dtype=np.float64)[:MAX_CANDS]
                if X.ndim != 2 or len(y) != len(X):
                    continue
                qs.append({"X": X, "y": y, "repo": o.get("repo", "?"), "category": o.get("category", "?"), "set": p})
    return qs, names


def pack(qs):
    """Stack queries into one matrix with segment offsets."""
    X = np.concatenate([q["X"] for q in qs])
    y = np.concatenate([q["y"] for q in qs])
    off = np.cumsum([0] + [len(q["X"]) for q in qs])
    return X, y, off


def fit(train, weights, l2, iters, dim, mu, sd):
    """Listwise softmax loss, queries weighted by `weights`; returns w in raw feature units."""
    usable = [i for i, q in enumerate(train) if q["y"].sum() > 0]
    qs = [train[i] for i in usable]
    qw = np.asarray([weights[i] for i in usable])
    X, y, off = pack(qs)
    Z = (X - mu) / sd
    seg = np.repeat(np.arange(len(qs)), np.diff(off))
    w = np.zeros(dim)
    m, v = np.zeros(dim), np.zeros(dim)
    lr, b1, b2 = 0.05, 0.9, 0.999
    total = qw.sum()
    for t in range(1, iters + 1):
        s = Z @ w
        smax = np.maximum.reduceat(s, off[:-1])
        e = np.exp(s - smax[seg])
        den = np.add.reduceat(e, off[:-1])
        p = e / den[seg]
        pos = y / np.add.reduceat(y, off[:-1])[seg]  # target distribution over the right answers
        g_s = (p - pos) * qw[seg] / total
        g = Z.T @ g_s + l2 * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + 1e-8)
    return w / sd


N_BINS = 32  # candidate split points per feature for the trees


def tree_thresholds(X):
    """Candidate split points per feature: midpoints between adjacent distinct
    values around the quantiles of X, so a value that differs only by
    rounding (the dumps print 6 digits, the C stage computes in float) falls
    on the same side as in training."""
    out = []
    for j in range(X.shape[1]):
        u = np.unique(X[:, j])
        e = np.unique(np.quantile(X[:, j], np.linspace(0, 1, N_BINS + 1)[1:-1]))
        i = np.searchsorted(u, e, side="left")
        i = i[(i > 0) & (i < len(u))]
        out.append(np.unique((u[i - 1] + u[i]) / 2))
    return out


def bin_rows(X, thr):
    """Bin index per value: the number of thresholds at or below it (x < thr[k] <=> bin <= k)."""
    return np.stack([np.searchsorted(t, X[:, j], side="right") for j, t in enumerate(thr)], 1).astype(np.int32)


def tree_predict(tree, X):
    """Leaf value of each row of X for one tree (nodes: feature, threshold, left, right, value)."""
    f, t, left, right, val = tree
    cur = np.zeros(len(X), dtype=np.int64)
    while True:
        inner = f[cur] >= 0
        if not inner.any():
            return val[cur]
        ci = cur[inner]
        go_left = X[np.nonzero(inner)[0], f[ci]] < t[ci]
        cur[inner] = np.where(go_left, left[ci], right[ci])


def fit_trees(qs, weights, base, n_trees, depth, eta, lam, min_hess, thr):
    """Gradient-boosted regression trees on the listwise softmax loss, starting
    from the scores `base` (the linear stage's, one array per query): each tree
    is fitted to the loss's gradient and (diagonal) Hessian by greedy
    histogram splits (gain G_L^2/(H_L+lam) + G_R^2/(H_R+lam) - G^2/(H+lam),
    each side at least min_hess of Hessian), leaves get the Newton step
    -G/(H+lam) times the learning rate eta. Inner nodes keep their own Newton
    value too, for the per-feature contributions of --explain. Returns the
    list of trees (feature, threshold, left, right, value arrays)."""
    usable = [i for i, q in enumerate(qs) if q["y"].sum() > 0]
    qs = [qs[i] for i in usable]
    qw = np.asarray([weights[i] for i in usable])
    X, y, off = pack(qs)
    B = bin_rows(X, thr)
    seg = np.repeat(np.arange(len(qs)), np.diff(off))
    rw = qw[seg] / qw.mean()
    pos = y / np.add.reduceat(y, off[:-1])[seg]
    s = np.concatenate([base[i] for i in usable]).astype(np.float64)
    trees = []
    for _ in range(n_trees):
        smax = np.maximum.reduceat(s, off[:-1])
        e = np.exp(s - smax[seg])
        p = e / np.add.reduceat(e, off[:-1])[seg]
        g = (p - pos) * rw
        h = np.maximum(p * (1 - p), 1e-6) * rw
        f, t, left, right, val = [-1], [0.0], [-1], [-1], [0.0]
        rows = {0: np.arange(len(s))}
        frontier = [0]
        for _d in range(depth):
            nxt = []
            for nd in frontier:
                idx = rows[nd]
                G, H = g[idx].sum(), h[idx].sum()
                val[nd] = -G / (H + lam) * eta
                best, arg = 1e-12, None
                if H >= 2 * min_hess:
                    for j in range(X.shape[1]):
                        nb = len(thr[j]) + 1
                        if nb < 2:
                            continue
                        gb = np.bincount(B[idx, j], weights=g[idx], minlength=nb)
                        hb = np.bincount(B[idx, j], weights=h[idx], minlength=nb)
                        gl, hl = np.cumsum(gb)[:-1], np.cumsum(hb)[:-1]
                        gr, hr = G - gl, H - hl
                        gain = np.where((hl >= min_hess) & (hr >= min_hess),
                                        gl * gl / (hl + lam) + gr * gr / (hr + lam) - G * G / (H + lam), -1.0)
                        k = int(np.argmax(gain))
                        if gain[k] > best:
                            best, arg = gain[k], (j, k)
                if arg is None:
                    continue
                j, k = arg
                f[nd], t[nd] = j, float(thr[j][k])
                for side in (B[idx, j] <= k, B[idx, j] > k):
                    c = len(f)
                    f.append(-1), t.append(0.0), left.append(-1), right.append(-1), val.append(0.0)
                    rows[c] = idx[side]
                    nxt.append(c)
                left[nd], right[nd] = nxt[-2], nxt[-1]
            frontier = nxt
        for nd in frontier:
            idx = rows[nd]
            val[nd] = -g[idx].sum() / (h[idx].sum() + lam) * eta
        tree = (np.asarray(f), np.asarray(t), np.asarray(left), np.asarray(right), np.asarray(val))
        trees.append(tree)
        s += tree_predict(tree, X)
    return trees


def score(q, w, trees=()):
    s = q["X"] @ w
    for tr in trees:
        s = s + tree_predict(tr, q["X"])
    return s


def mrr10(qs, w, trees=()):
    """MRR@10 and hit@10 of the re-ranked candidates (queries without a right candidate count 0)."""
    rr, hit = [], []
    for q in qs:
        s = score(q, w, trees)
        order = np.argsort(-s, kind="stable")
        ranks = np.nonzero(q["y"][order] > 0)[0]
        r = ranks[0] + 1 if len(ranks) else 10**9
        rr.append(1.0 / r if r <= 10 else 0.0)
        hit.append(1.0 if r <= 10 else 0.0)
    return float(np.mean(rr)) if rr else 0.0, float(np.mean(hit)) if hit else 0.0


def top_scores(q, w, trees=()):
    s = np.sort(score(q, w, trees))[::-1]
    return s[0], (s[1] if len(s) > 1 else s[0] - 1.0)


def logistic_fit(F, t):
    """Logistic regression of labels t on the rows of F (last column 1) by
    Newton's method (IRLS) with a small ridge on all but the intercept."""
    ridge = np.r_[np.full(F.shape[1] - 1, 1e-3), 0.0]
    th = np.zeros(F.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-F @ th))
        g = F.T @ (p - t) + ridge * th
        H = (F * (p * (1 - p))[:, None]).T @ F + np.diag(ridge)
        step = np.linalg.solve(H, g)
        th -= step
        if np.abs(step).max() < 1e-9:
            break
    return th


def calibrate(pairs):
    """hit@10 on (s1, gap): returns (a, b, c)."""
    F = np.asarray([[s1, s1 - s2, 1.0] for s1, s2, _ in pairs])
    return logistic_fit(F, np.asarray([h for _, _, h in pairs], dtype=np.float64))


def write_trees(f, trees, names):
    """The boosted trees as C: nodes of all trees in one array, each tree's
    first node in rank_tree_start; an inner node sends a candidate left when
    features[feature] < threshold; value is the node's Newton step (a leaf's
    is added to the score; an inner node's serves --explain's attribution)."""
    f.write(f"/* {len(trees)} boosted regression trees added to the linear score (see store/rank.c) */\n")
    f.write(f"#define RANK_N_TREES {len(trees)}\n\n")
    f.write("typedef struct rank_node {\n    int16_t feature;      /* -1 for a leaf */\n"
            "    uint16_t left, right; /* children, relative to the tree's first node */\n"
            "    double threshold;     /* left when feature value < threshold */\n"
            "    double value;         /* leaf: added to the score; inner: the node's own step */\n} rank_node;\n\n")
    starts, nodes = [], []
    for tr in trees:
        starts.append(len(nodes))
        fe, t, left, right, val = tr
        for i in range(len(fe)):
            nodes.append((int(fe[i]), int(max(left[i], 0)), int(max(right[i], 0)), float(t[i]), float(val[i])))
    starts.append(len(nodes))
    f.write("static const uint32_t rank_tree_start[] = {" + ", ".join(str(x) for x in starts) + "};\n\n")
    f.write("static const rank_node rank_nodes[] = {\n")
    for fe, le, ri, t, v in nodes or [(-1, 0, 0, 0.0, 0.0)]:
        comment = f" /* {names[fe]} */" if fe >= 0 and names else ""
        f.write(f"    {{{fe}, {le}, {ri}, {t:.9g}, {v:.9g}}},{comment}\n")
    f.write("};\n\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--dev", nargs="+", required=True)
    ap.add_argument("--out", default="src/store/rank_weights.h")
    ap.add_argument("--l2", default="0.001,0.01,0.1")
    ap.add_argument("--dev-weight", default="0,1,4")
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--max-cands", type=int, default=60)
    ap.add_argument("--trees", default="0", help="numbers of boosted trees to score (comma list; 0 = linear only)")
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--eta", type=float, default=0.1)
    ap.add_argument("--lam", type=float, default=1.0)
    ap.add_argument("--min-hess", type=float, default=5.0)
    ap.add_argument("--drop", default="", help="features to zero (comma list of names; ablations)")
    a = ap.parse_args()
    global MAX_CANDS
    MAX_CANDS = a.max_cands
    train, names = load(a.train)
    dev, names2 = load(a.dev)
    names = names or names2
    for name in filter(None, a.drop.split(",")):
        j = names.index(name)
        for q in train + dev:
            q["X"][:, j] = 0.0
    dim = train[0]["X"].shape[1]
    Xall = np.concatenate([q["X"] for q in train + dev])
    mu, sd = Xall.mean(0), Xall.std(0)
    sd[sd < 1e-9] = 1.0
    repos = sorted({q["repo"] for q in dev})
    print(f"train_ranker: {len(train)} pseudo-queries, {len(dev)} dev queries over {len(repos)} repositories, "
          f"{dim} features", file=sys.stderr)
    thr = tree_thresholds(np.concatenate([q["X"] for q in train + dev]))
    counts = sorted({int(x) for x in a.trees.split(",")}) if a.trees else [0]
    best = None
    for l2 in [float(x) for x in a.l2.split(",")]:
        for dw in [float(x) for x in a.dev_weight.split(",")]:
            # dev weight 0: one fit on the pseudo-queries scores every dev query; otherwise leave one dev
            # repository out: train on pseudo + the other dev repositories (weighted dw). The trees are
            # fitted once per fold to the largest count; each count of --trees is scored on its prefix.
            rr_all = {k: [] for k in counts}
            hit_all = {k: [] for k in counts}
            pairs = {k: [] for k in counts}
            folds = repos if dw > 0 else [None]
            for r in folds:
                held = [q for q in dev if q["repo"] == r] if r else dev
                rest = [q for q in dev if q["repo"] != r] if dw > 0 else []
                qs = train + rest
                wts = [1.0] * len(train) + [dw * len(train) / max(1, len(rest)) / 4] * len(rest)
                w = fit(qs, wts, l2, a.iters, dim, mu, sd)
                trees = fit_trees(qs, wts, [q["X"] @ w for q in qs], counts[-1], a.depth, a.eta, a.lam,
                                  a.min_hess, thr) if counts[-1] else []
                for k in counts:
                    for q in held:
                        m, h = mrr10([q], w, trees[:k])
                        rr_all[k].append(m)
                        hit_all[k].append(h)
                        s1, s2 = top_scores(q, w, trees[:k])
                        pairs[k].append((s1, s2, h))
            # the criterion: the mean over development sets (files) of their mean MRR@10, so a large set
            # (CoSQA dev, 500 queries) does not outweigh the written queries
            sets = sorted({q["set"] for q in dev})
            order = [q for r in folds for q in ([q for q in dev if q["repo"] == r] if r else dev)]
            for k in counts:
                per_set = {st: float(np.mean([m_ for q, m_ in zip(order, rr_all[k]) if q["set"] == st]))
                           for st in sets}
                m = float(np.mean(list(per_set.values())))
                print(f"  l2 {l2:g} dev-weight {dw:g} trees {k}: dev MRR@10 {m:.4f} ("
                      + ", ".join(f"{st.split('/')[-1]} {v:.4f}" for st, v in per_set.items()) + ")"
                      + (" (leave-one-repo-out)" if dw > 0 else ""), file=sys.stderr, flush=True)
                if best is None or m > best[0]:
                    best = (m, l2, dw, pairs[k], k)
    m, l2, dw, pairs, n_trees = best
    rest = dev if dw > 0 else []
    wts = [1.0] * len(train) + [dw * len(train) / max(1, len(rest)) / 4] * len(rest)
    w = fit(train + rest, wts, l2, a.iters, dim, mu, sd)
    trees = fit_trees(train + rest, wts, [q["X"] @ w for q in train + rest], n_trees, a.depth, a.eta, a.lam,
                      a.min_hess, thr) if n_trees else []
    conf = calibrate(pairs)
    flag = [1 / (1 + np.exp(-(conf[0] * s1 + conf[1] * (s1 - s2) + conf[2]))) < 0.5 for s1, s2, _ in pairs]
    low = [h for (_, _, h), f in zip(pairs, flag) if f]
    high = [h for (_, _, h), f in zip(pairs, flag) if not f]
    print(f"train_ranker: confidence {conf[0]:.3f} * s + {conf[1]:.3f} * gap + {conf[2]:.3f}: flags {len(low)} of "
          f"{len(pairs)} dev queries (hit@10 {np.mean(low) if low else 0:.3f} among them, "
          f"{np.mean(high) if high else 0:.3f} among the others)", file=sys.stderr)
    base = np.zeros(dim)
    if names:
        base[names.index("dense_rrf")] = 1.0
        base[names.index("kw_rrf")] = 0.5
        print(f"train_ranker: previous fusion on dev MRR@10 {mrr10(dev, base)[0]:.4f}; chosen l2 {l2:g} "
              f"dev-weight {dw:g}: {m:.4f} (leave-one-repo-out)", file=sys.stderr)
    with open(a.out, "w") as f:
        f.write("/*\n** store/rank_weights.h: the learned weights of the ranking stage\n"
                "** (store/rank.c). Generated by tools/train_ranker.py; do not edit by hand.\n"
                f"** {len(train)} pseudo-queries from the model's training corpora, {len(dev)} development\n"
                f"** queries (weight {dw:g}); L2 {l2:g}; development MRR@10 {m:.4f} (leave one\n"
                "** repository out). docs/QUALITY.md tells how it was chosen.\n*/\n"
                "#ifndef SC_STORE_RANK_WEIGHTS_H\n#define SC_STORE_RANK_WEIGHTS_H\n\n"
                "#define RANK_FEATURES_VERSION 2\n\nstatic const double rank_weights[] = {\n")
        for j in range(dim):
            f.write(f"    {w[j]:.6g}, /* {names[j] if names else j} */\n")
        f.write("};\n\n")
        write_trees(f, trees, names)
        f.write("/* confidence = sigmoid(a * score + b * (score - runner-up) + c) */\n")
        f.write(f"static const double rank_conf[3] = {{{conf[0]:.6g}, {conf[1]:.6g}, {conf[2]:.6g}}};\n")
        f.write("static const double rank_conf_threshold = 0.5;\n\n#endif /* SC_STORE_RANK_WEIGHTS_H */\n")
    print(f"train_ranker: wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
