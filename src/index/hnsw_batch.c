/*
** index/hnsw_batch: hnsw_index_add and hnsw_index_add_batch, the linking
** of new rows with n_threads threads and a result that does not depend on
** them.
**
** DESIGN
**   Rows are linked in rounds: consecutive runs of the caller's rows whose
**   length depends only on how many rows the graph held when the round
**   started (schedule below), never on the thread count. A round has two
**   parallel phases, joined in between:
**   1. Search. Each row of the round, on its own, searches the graph as it
**      was at the start of the round (no list it can reach is written
**      during the phase), adds the exact distances to the other rows of the
**      round (so rows of one round can link to each other although none of
**      them is reachable yet), keeps the ef_construct closest candidates per
**      level and selects its m neighbours with the heuristic. It writes its
**      own lists (unreachable until phase 2) and a copy of its selection to
**      the round's buffer. Threads take rows from an atomic cursor; which
**      thread links a row does not change what the row gets.
**   2. Back links. Each selected edge row -> nb at level lc asks nb to link
**      back (with the heuristic prune when nb's list is full). Thread t owns
**      the targets nb with nb % nth == t and applies their requests in round
**      order (row position, then level), so every list sees the same
**      sequence of additions and prunes whatever nth is; a prune reads
**      vectors only.
**   The entry point then moves, in round order, to each row whose level
**   exceeds the current maximum; levels are a hash of (seed, row).
**   So the graph is a function of the seed, the parameters and the rows in
**   the order (and calls) they were added: bit-identical for one thread or
**   any number of threads.
**
**   Schedule: round length = present / 8, clamped to 1 .. 512, where present
**   is the number of rows in the graph. A tiny graph grows one row at a
**   time; later a round adds at most 1/8 of the graph, and the rows a round
**   cannot see through the graph (its own) it sees exactly.
*/
#include "index/hnsw_int.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HNSW_ROUND_MAX 512u /* longest round */
#define HNSW_ROUND_DIV 8u   /* a round adds at most present / 8 rows */

/* One round: shared state of its workers. */
typedef struct hnsw__round {
    hnsw_index *idx;       /* index being built */
    const uint32_t *rows;  /* rows of the round, in order */
    uint32_t n;            /* rows in the round */
    uint32_t entry;        /* entry point at the start of the round, or HNSW_NONE */
    int maxl;              /* its level (-1 when empty) */
    uint32_t *sel;         /* selections: row i's block at off[i], level 0 first,
                              (1 + m) uint32 per level: [count, rows ..] */
    const size_t *off;     /* n offsets into sel */
    atomic_uint next;      /* phase 1 cursor */
    atomic_int rc;         /* a failure (SC_OK if none) */
} hnsw__round;

/* Phase 1 for row i of the round; pd holds n floats of scratch. */
static sc_status hnsw__search_one(hnsw__round *b, uint32_t i, hnsw_scratch *s, float *pd) {
    hnsw_index *idx = b->idx;
    const uint32_t row = b->rows[i], efc = idx->p.ef_construct, up = 1 + idx->p.m;
    const float *q = hnsw_vec(idx, row);
    const int L = idx->level[row];
    for (uint32_t j = 0; j < b->n; j++) pd[j] = j == i ? 0.0f : hnsw_dist(idx, q, b->rows[j]);
    uint32_t ep = b->entry;
    float dep = 0.0f;
    if (ep != HNSW_NONE) {
        dep = hnsw_dist(idx, q, ep);
        if (b->maxl > L) ep = hnsw_greedy(idx, q, NULL, ep, &dep, b->maxl, L);
    }
    uint32_t *blk = b->sel + b->off[i];
    for (int lc = L; lc >= 0; lc--) {
        uint32_t n = 0;
        if (ep != HNSW_NONE && lc <= b->maxl) {
            sc_status rc = hnsw_search_layer(idx, q, ep, dep, lc, efc, row, s);
            if (rc != SC_OK) return rc;
            n = s->res.n;
            if (!hnsw_scratch_tmp(s, n + b->n)) return SC_NOMEM;
            for (uint32_t k = n; k > 0; k--) s->tmp[k - 1] = hnsw_heap_pop_max(&s->res);
            if (n) { /* the next level's walk starts at the closest graph row */
                ep = s->tmp[0].row;
                dep = s->tmp[0].d;
            }
        } else if (!hnsw_scratch_tmp(s, b->n)) {
            return SC_NOMEM;
        }
        /* Rows of the round at this level, when they can still make the cut. */
        float worst = n >= efc ? s->tmp[n - 1].d : INFINITY;
        for (uint32_t j = 0; j < b->n; j++)
            if (j != i && idx->level[b->rows[j]] >= lc && pd[j] <= worst)
                s->tmp[n++] = (hnsw_pair){pd[j], b->rows[j]};
        hnsw_pairs_sort(s->tmp, n);
        if (n > efc) n = efc;
        uint32_t *out = blk + (size_t)lc * up;
        out[0] = hnsw_select(idx, s->tmp, n, idx->p.m, out + 1);
        memcpy(hnsw_list(idx, row, lc), out, (size_t)(1 + out[0]) * sizeof *out);
    }
    return SC_OK;
}

static void hnsw__round_search(void *arg, uint32_t ith, uint32_t nth) {
    (void)ith;
    (void)nth;
    hnsw__round *b = arg;
    hnsw_scratch *s = hnsw_scratch_get(b->idx);
    float *pd = malloc((size_t)b->n * sizeof *pd);
    if (!s || !pd) {
        atomic_store(&b->rc, SC_NOMEM);
    } else {
        for (;;) {
            uint32_t i = atomic_fetch_add(&b->next, 1);
            if (i >= b->n) break;
            sc_status rc = hnsw__search_one(b, i, s, pd);
            if (rc != SC_OK) atomic_store(&b->rc, rc);
        }
    }
    free(pd);
    hnsw_scratch_put(b->idx, s);
}

/* Phase 2: back links to the targets this thread owns, in round order. */
static void hnsw__round_link(void *arg, uint32_t ith, uint32_t nth) {
    hnsw__round *b = arg;
    hnsw_index *idx = b->idx;
    const uint32_t up = 1 + idx->p.m;
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t row = b->rows[i];
        const uint32_t *blk = b->sel + b->off[i];
        for (int lc = 0; lc <= idx->level[row]; lc++) {
            const uint32_t *out = blk + (size_t)lc * up;
            for (uint32_t k = 0; k < out[0]; k++)
                if (out[1 + k] % nth == ith) hnsw_link_back(idx, out[1 + k], row, lc);
        }
    }
}

sc_status hnsw_index_add(hnsw_index *idx, uint32_t row, sc_err *err) {
    return hnsw_index_add_batch(idx, &row, 1, err);
}

/* Enter / leave an exclusive section (no-ops without a hook). */
static void hnsw__excl_begin(const hnsw_excl *x) {
    if (x) x->begin(x->state);
}
static void hnsw__excl_end(const hnsw_excl *x) {
    if (x) x->end(x->state);
}

/* Rows of the next round when the graph holds `present` rows and `left`
** rows of the call remain. */
static uint32_t hnsw__round_len(uint64_t present, size_t left) {
    uint64_t r = present / HNSW_ROUND_DIV;
    if (r < 1) r = 1;
    if (r > HNSW_ROUND_MAX) r = HNSW_ROUND_MAX;
    return r < left ? (uint32_t)r : (uint32_t)left;
}

sc_status hnsw_index_add_batch(hnsw_index *idx, const uint32_t *rows, size_t n, sc_err *err) {
    return hnsw_index_add_batch_shared(idx, rows, n, NULL, err);
}

/* The validation and placement of add_batch (exclusive). */
static sc_status hnsw__batch_place(hnsw_index *idx, const uint32_t *rows, size_t n, sc_err *err) {
    uint32_t maxr = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i] == HNSW_NONE) return sc_err_set(err, SC_INVALID, "hnsw: row %u is reserved", rows[i]);
        if (rows[i] > maxr) maxr = rows[i];
    }
    for (size_t i = 0; i < n; i++)
        if (rows[i] < idx->capacity && idx->level[rows[i]] >= 0)
            return sc_err_set(err, SC_EXISTS, "hnsw: row %u is already in the index%s", rows[i],
                              (idx->flags[rows[i]] & HNSW_FLAG_DELETED) ? " (tombstoned; vacuum first)" : "");
    sc_status rc = hnsw_reserve(idx, maxr + 1, err);
    if (rc != SC_OK) return rc;
    size_t placed = 0;
    for (; placed < n; placed++) {
        if (idx->level[rows[placed]] >= 0) {
            rc = sc_err_set(err, SC_INVALID, "hnsw: row %u appears twice in the batch", rows[placed]);
            break;
        }
        rc = hnsw_place(idx, rows[placed], err);
        if (rc != SC_OK) break;
    }
    if (rc != SC_OK) /* undo the placement of rows not linked */
        for (size_t i = 0; i < placed; i++) {
            free(idx->upper[rows[i]]);
            idx->upper[rows[i]] = NULL;
            idx->level[rows[i]] = -1;
        }
    return rc;
}

sc_status hnsw_index_add_batch_shared(hnsw_index *idx, const uint32_t *rows, size_t n, const hnsw_excl *excl,
                                      sc_err *err) {
    if (n == 0) return SC_OK;
    hnsw__excl_begin(excl);
    sc_status rc = hnsw__batch_place(idx, rows, n, err);
    hnsw__excl_end(excl);
    if (rc != SC_OK) return rc;
    size_t *off = malloc(HNSW_ROUND_MAX * sizeof *off);
    if (!off) rc = SC_NOMEM;
    const uint32_t up = 1 + idx->p.m;
    uint32_t *sel = NULL;
    size_t sel_cap = 0;
    uint64_t present = (uint64_t)idx->n_live + idx->n_deleted;
    size_t linked = 0;
    for (size_t done = 0; done < n && rc == SC_OK;) {
        uint32_t len = hnsw__round_len(present, n - done);
        const uint32_t *rr = rows + done;
        size_t tot = 0;
        for (uint32_t i = 0; i < len; i++) {
            off[i] = tot;
            tot += (size_t)(idx->level[rr[i]] + 1) * up;
        }
        if (tot > sel_cap) {
            uint32_t *ns = realloc(sel, tot * sizeof *ns);
            if (!ns) {
                rc = SC_NOMEM;
                break;
            }
            sel = ns;
            sel_cap = tot;
        }
        hnsw__round b = {.idx = idx, .rows = rr, .n = len, .entry = idx->entry, .maxl = idx->max_level,
                         .sel = sel, .off = off};
        atomic_init(&b.next, 0);
        atomic_init(&b.rc, SC_OK);
        /* At least 8 rows per thread (the thread count never changes the result). */
        uint32_t nth = idx->p.n_threads;
        if (nth > len / 8) nth = len / 8 ? len / 8 : 1;
        util_parallel_run(hnsw__round_search, &b, nth);
        rc = (sc_status)atomic_load(&b.rc);
        /* Back links and the entry point make the round's rows reachable:
        ** searches must not run meanwhile. */
        hnsw__excl_begin(excl);
        if (rc == SC_OK) util_parallel_run(hnsw__round_link, &b, nth);
        for (uint32_t i = 0; i < len; i++)
            if (idx->level[rr[i]] > idx->max_level) {
                idx->entry = rr[i];
                idx->max_level = idx->level[rr[i]];
            }
        idx->n_live += len;
        hnsw__excl_end(excl);
        done += len;
        present += len;
        linked += len;
    }
    free(sel);
    free(off);
    hnsw__excl_begin(excl);
    idx->n_live += (uint32_t)(n - linked); /* rows placed but not linked (a failure) are present */
    hnsw__excl_end(excl);
    if (rc != SC_OK)
        return sc_err_set(err, rc, "hnsw: linking failed (%s); rows are present, graph may be sparser",
                          sc_status_str(rc));
    return SC_OK;
}
