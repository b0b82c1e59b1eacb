/*
** index/topk.h: the bounded heap of the best k hits that exact searches
** share (index/flat.c for dense rows, store/sparse_search.c for sparse
** vectors). Inline: it sits in the hot loops of both.
**
** Order: hits rank by score (higher is better), then by tie_cmp (< 0
** first), then by row, a strict total order, so a top-k set and its order
** do not depend on the order hits are offered in. The heap keeps the worst
** of its hits at h[0].
*/
#ifndef SC_INDEX_TOPK_H
#define SC_INDEX_TOPK_H

#include <stdbool.h>
#include <stdint.h>

#include "index/index.h"

/* How hits compare. */
typedef struct index_rank {
    int (*tie_cmp)(void *state, uint32_t a, uint32_t b); /* NULL = by row */
    void *state;                                         /* for tie_cmp */
} index_rank;

/* True when hit a ranks before hit b. */
static inline bool index_rank_better(const index_rank *rk, index_hit a, index_hit b) {
    if (a.score != b.score) return a.score > b.score;
    if (rk->tie_cmp != NULL) {
        int c = rk->tie_cmp(rk->state, a.row, b.row);
        if (c != 0) return c < 0;
    }
    return a.row < b.row;
}

/* Restore the heap h of n hits below position i. */
static inline void index_topk_sift_down(const index_rank *rk, index_hit *h, uint32_t n, uint32_t i) {
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && index_rank_better(rk, h[w], h[l])) w = l;
        if (r < n && index_rank_better(rk, h[w], h[r])) w = r;
        if (w == i) return;
        index_hit t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Restore the heap after h[i] was placed. */
static inline void index_topk_sift_up(const index_rank *rk, index_hit *h, uint32_t i) {
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!index_rank_better(rk, h[p], h[i])) return;
        index_hit t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

/* Offer hit x to the heap h of *n (at most k) hits. */
static inline void index_topk_offer(const index_rank *rk, index_hit *h, uint32_t *n, uint32_t k, index_hit x) {
    if (*n < k) {
        h[*n] = x;
        index_topk_sift_up(rk, h, (*n)++);
    } else if (k > 0 && index_rank_better(rk, x, h[0])) {
        h[0] = x;
        index_topk_sift_down(rk, h, k, 0);
    }
}

/* Sort the heap h of n hits best-first, in place (the worst goes last). */
static inline void index_topk_sort(const index_rank *rk, index_hit *h, uint32_t n) {
    while (n > 1) {
        index_hit x = h[0];
        h[0] = h[--n];
        index_topk_sift_down(rk, h, n, 0);
        h[n] = x;
    }
}

#endif /* SC_INDEX_TOPK_H */
