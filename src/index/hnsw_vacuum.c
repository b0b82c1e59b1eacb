/*
** index/hnsw_vacuum: removal of tombstoned rows. Every live row whose list
** (at any level) names a tombstoned row gets that list rebuilt from its live
** neighbours plus the live neighbours of the tombstoned ones, pruned with
** the same diversity heuristic as linking; then the tombstoned rows are
** cleared and their slots can be added again.
**
** DESIGN (threads)
**   Repair runs on n_threads threads, each owning a contiguous slice of
**   rows. A thread writes only the lists of rows in its slice and reads the
**   lists of tombstoned rows, which no thread writes, so no locks are
**   needed. Clearing the tombstoned rows and moving the entry point happen
**   afterwards on the calling thread. The result does not depend on the
**   number of threads.
*/
#include "index/hnsw_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Shared state of the repair workers. */
typedef struct hnsw__vac {
    hnsw_index *idx;  /* index being vacuumed */
    atomic_int rc;    /* first failure */
} hnsw__vac;

static inline bool hnsw__dead(const hnsw_index *idx, uint32_t r) {
    return (idx->flags[r] & HNSW_FLAG_DELETED) != 0;
}

/* Rebuild u's list at level lc if it names a tombstoned row. */
static sc_status hnsw__repair(hnsw_index *idx, uint32_t u, int lc, hnsw_scratch *s) {
    uint32_t *list = hnsw_list(idx, u, lc);
    uint32_t cnt = list[0];
    bool any = false;
    for (uint32_t i = 0; i < cnt && !any; i++) any = hnsw__dead(idx, list[1 + i]);
    if (!any) return SC_OK;
    uint32_t maxn = hnsw_max_nb(idx, lc);
    if (!hnsw_scratch_tmp(s, cnt * (maxn + 1) + 1)) return SC_NOMEM;
    hnsw_scratch_new_walk(s);
    uint32_t tag = s->tag, n = 0;
    s->visited[u] = tag;
    const float *vu = hnsw_vec(idx, u);
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t v = list[1 + i];
        if (!hnsw__dead(idx, v)) {
            if (s->visited[v] != tag) {
                s->visited[v] = tag;
                s->tmp[n++] = (hnsw_pair){hnsw_dist(idx, vu, v), v};
            }
            continue;
        }
        const uint32_t *dl = hnsw_list(idx, v, lc);
        for (uint32_t j = 0; j < dl[0]; j++) {
            uint32_t w = dl[1 + j];
            if (hnsw__dead(idx, w) || s->visited[w] == tag) continue;
            s->visited[w] = tag;
            s->tmp[n++] = (hnsw_pair){hnsw_dist(idx, vu, w), w};
        }
    }
    hnsw_pairs_sort(s->tmp, n);
    uint32_t keep[256];
    uint32_t k = hnsw_select(idx, s->tmp, n, maxn, keep);
    memcpy(list + 1, keep, (size_t)k * sizeof *keep);
    list[0] = k;
    return SC_OK;
}

static void hnsw__vac_worker(void *arg, uint32_t ith, uint32_t nth) {
    hnsw__vac *v = arg;
    hnsw_index *idx = v->idx;
    uint64_t cap = idx->capacity;
    uint32_t lo = (uint32_t)(cap * ith / nth), hi = (uint32_t)(cap * (ith + 1) / nth);
    hnsw_scratch *s = hnsw_scratch_get(idx);
    if (!s) {
        atomic_store(&v->rc, SC_NOMEM);
        return;
    }
    for (uint32_t u = lo; u < hi; u++) {
        if (idx->level[u] < 0 || hnsw__dead(idx, u)) continue;
        for (int lc = 0; lc <= idx->level[u]; lc++) {
            sc_status rc = hnsw__repair(idx, u, lc, s);
            if (rc != SC_OK) atomic_store(&v->rc, rc);
        }
    }
    hnsw_scratch_put(idx, s);
}

sc_status hnsw_index_vacuum(hnsw_index *idx, uint32_t *n_reclaimed, sc_err *err) {
    if (n_reclaimed) *n_reclaimed = 0;
    if (idx->n_deleted == 0) return SC_OK;
    hnsw__vac v = {.idx = idx};
    atomic_init(&v.rc, SC_OK);
    uint32_t nth = idx->capacity < 4096 ? 1 : idx->p.n_threads;
    util_parallel_run(hnsw__vac_worker, &v, nth);
    sc_status rc = (sc_status)atomic_load(&v.rc);
    if (rc != SC_OK)
        /* Lists not repaired still name tombstones, which remain in place:
        ** the graph is valid and the vacuum can be retried. */
        return sc_err_set(err, rc, "hnsw: vacuum ran out of memory; tombstones kept");
    uint32_t freed = 0;
    for (uint32_t r = 0; r < idx->capacity; r++) {
        if (idx->level[r] < 0 || !hnsw__dead(idx, r)) continue;
        free(idx->upper[r]);
        idx->upper[r] = NULL;
        idx->level[r] = -1;
        idx->flags[r] = 0;
        idx->l0[(size_t)r * idx->l0_stride] = 0;
        freed++;
    }
    idx->n_deleted = 0;
    if (idx->entry != HNSW_NONE && idx->level[idx->entry] < 0) {
        /* New entry point: the live row of highest level (lowest row on ties). */
        uint32_t best = HNSW_NONE;
        int bl = -1;
        for (uint32_t r = 0; r < idx->capacity; r++)
            if (idx->level[r] > bl) {
                bl = idx->level[r];
                best = r;
            }
        idx->entry = best;
        idx->max_level = bl;
    }
    if (n_reclaimed) *n_reclaimed = freed;
    return SC_OK;
}
