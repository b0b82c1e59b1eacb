/*
** index/hnsw_int: private structures of the HNSW index, shared by
** hnsw_build.c (life cycle, linking, batch build), hnsw_insert.c (single
** add/update/delete), hnsw_search.c (queries), hnsw_vacuum.c (repair and
** reclaim) and hnsw_io.c (file format). Only src/index/hnsw*.c include it.
**
** DESIGN
**   Layout. Level-0 neighbour lists of all rows live in one flat array l0 of
**   capacity * (1 + m0) uint32: [count, n_1 .. n_m0] per row, so a row's
**   list is found by multiplication and two rows' lists never share a cache
**   line pair needlessly. Upper levels (rare: 1/m of rows) are one malloc'd
**   block per row holding level * (1 + m) uint32, level 1 first. level[r] is
**   -1 for an absent row. Distances inside the index are "lower is closer":
**   -dot for DOT, squared L2 for L2, L1 for L1; converted on output.
**   Threads. add_batch (hnsw_batch.c) runs its threads in phases that never
**   write what another thread reads: searches against the graph as it was
**   at the start of a sub-batch, each thread writing only the lists of the
**   rows it links; then back links, each thread owning a disjoint set of
**   target rows. So no node locks exist. Outside add_batch the index is
**   either searched concurrently (nothing written except per-thread
**   scratch) or mutated by one thread (the caller's contract).
**   Scratch. Each search takes a scratch (visited tags + heaps) from a pool
**   under pool_mu and returns it, so no allocation happens per query.
*/
#ifndef SC_INDEX_HNSW_INT_H
#define SC_INDEX_HNSW_INT_H

#include <pthread.h>

#include "index/hnsw.h"

#define HNSW_MAX_LEVEL 30         /* levels are capped (int8 storage) */
#define HNSW_NONE UINT32_MAX      /* "no row" */
#define HNSW_FLAG_DELETED 0x01u   /* tombstone bit of flags[] */

/* One (distance, row) pair of a heap or candidate list. */
typedef struct hnsw_pair {
    float d;      /* internal distance, lower = closer */
    uint32_t row; /* row number */
} hnsw_pair;

/* Binary heap of pairs; max-heap or min-heap decided by the caller's calls. */
typedef struct hnsw_heap {
    hnsw_pair *a; /* elements, a[0] is the top */
    uint32_t n;   /* elements in use */
    uint32_t cap; /* elements allocated */
} hnsw_heap;

/* Per-search (or per-inserting-thread) scratch memory. */
typedef struct hnsw_scratch {
    uint16_t *visited;         /* visited[r] == tag means r was seen in this walk (16 bits: half
                               ** the cache footprint of 32 at 1M rows; reset every 65,535 walks) */
    uint32_t n_visited;        /* entries of visited allocated */
    uint16_t tag;              /* current walk's tag; 0 never used */
    hnsw_heap cand;            /* min-heap of rows to expand */
    hnsw_heap res;             /* max-heap of the best rows found */
    hnsw_pair *tmp;            /* selection / sorting buffer */
    uint32_t n_tmp;            /* pairs allocated in tmp */
    void *qbuf;                /* prepared quantized query */
    size_t qbuf_size;          /* bytes allocated at qbuf */
    struct hnsw_scratch *next; /* pool link */
} hnsw_scratch;

struct hnsw_index {
    hnsw_params p;               /* parameters in force */
    hnsw_source src;             /* where f32 vectors are read */
    index_kernel_fn kdist;       /* raw kernel for p.metric (dot, l2sq or l1) */
    uint32_t m0;                 /* max neighbours on level 0 (2m) */
    uint32_t l0_stride;          /* uint32 per row in l0: 1 + m0 */
    uint32_t up_stride;          /* uint32 per upper level of a row: 1 + m */
    double ml;                   /* level multiplier 1 / ln(m) */
    uint32_t capacity;           /* rows the arrays hold */
    uint32_t *l0;                /* capacity * l0_stride, level-0 lists */
    uint32_t **upper;            /* capacity pointers; NULL when level <= 0 */
    int8_t *level;               /* capacity levels; -1 = absent */
    uint8_t *flags;              /* capacity flag bytes (HNSW_FLAG_*) */
    uint32_t entry;              /* entry point row, HNSW_NONE when empty */
    int32_t max_level;           /* level of the entry point, -1 when empty */
    uint32_t n_live;             /* present, not tombstoned */
    uint32_t n_deleted;          /* present, tombstoned */
    quant *q;                    /* quantizer or NULL */
    uint8_t *codes;              /* capacity * code_size bytes, or NULL */
    size_t code_size;            /* bytes per code */
    pthread_mutex_t pool_mu;     /* guards pool */
    hnsw_scratch *pool;          /* free scratch objects */
    uint64_t user_tag;           /* the store's tag, saved in the file */
};

/* ==== Helpers (hnsw_utils.c unless named) ==== */

/* f32 vector of a row through the source. */
static inline const float *hnsw_vec(const hnsw_index *idx, uint32_t row) {
    if (idx->src.base) return idx->src.base + (size_t)row * idx->src.stride;
    return idx->src.row(idx->src.state, row);
}

/* Internal distance between a query and a row (lower = closer). */
static inline float hnsw_dist(const hnsw_index *idx, const float *q, uint32_t row) {
    float v = idx->kdist(q, hnsw_vec(idx, row), idx->p.dim);
    return idx->p.metric == INDEX_METRIC_DOT ? -v : v;
}

/* Distance between a query and a row: through the quantized codes when the
** query's codes qb are given, else the f32 vectors (hnsw_dist). */
static inline float hnsw_qdist(const hnsw_index *idx, const float *q, const void *qb, uint32_t row) {
    if (qb) return quant_distance(idx->q, qb, idx->codes + (size_t)row * idx->code_size);
    return hnsw_dist(idx, q, row);
}

/* Neighbour list of row at level lc: list[0] = count, list[1..] = rows. */
static inline uint32_t *hnsw_list(const hnsw_index *idx, uint32_t row, int lc) {
    if (lc == 0) return idx->l0 + (size_t)row * idx->l0_stride;
    return idx->upper[row] + (size_t)(lc - 1) * idx->up_stride;
}

/* Max neighbours at level lc. */
static inline uint32_t hnsw_max_nb(const hnsw_index *idx, int lc) {
    return lc == 0 ? idx->m0 : idx->p.m;
}

/* Level of a row: geometric with ratio 1/m, from hash(seed, row) (hnsw_build.c). */
int hnsw_level_of(const hnsw_index *idx, uint32_t row);
/* Grow every per-row array to hold at least n rows (exclusive access; hnsw_build.c). */
sc_status hnsw_reserve(hnsw_index *idx, uint32_t n, sc_err *err);
/* Free a scratch object (not in the pool). NULL is a no-op. */
void hnsw_scratch_free(hnsw_scratch *s);
/* Take a scratch sized for the current capacity (NULL on allocation failure). */
hnsw_scratch *hnsw_scratch_get(const hnsw_index *idx);
/* Return a scratch to the pool. */
void hnsw_scratch_put(const hnsw_index *idx, hnsw_scratch *s);
/* Start a new walk: fresh visited tag. */
void hnsw_scratch_new_walk(hnsw_scratch *s);
/* Ensure tmp holds n pairs. false on allocation failure. */
bool hnsw_scratch_tmp(hnsw_scratch *s, uint32_t n);
/* Heap operations (false on allocation failure). Inline: the query walk
** calls them for every neighbour that makes the cut. */
bool hnsw_heap_grow(hnsw_heap *h);
static inline bool hnsw_heap_push_min(hnsw_heap *h, float d, uint32_t row) {
    if (h->n == h->cap && !hnsw_heap_grow(h)) return false;
    uint32_t i = h->n++;
    while (i > 0) {
        uint32_t pa = (i - 1) / 2;
        if (h->a[pa].d <= d) break;
        h->a[i] = h->a[pa];
        i = pa;
    }
    h->a[i] = (hnsw_pair){d, row};
    return true;
}

static inline hnsw_pair hnsw_heap_pop_min(hnsw_heap *h) {
    hnsw_pair top = h->a[0], last = h->a[--h->n];
    uint32_t i = 0, n = h->n;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && h->a[c + 1].d < h->a[c].d) c++;
        if (last.d <= h->a[c].d) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (n) h->a[i] = last;
    return top;
}

/* Max-heap order: larger d first; among equal d, larger row first, so the
** pair evicted on a tie is deterministic. */
static inline bool hnsw_heap_above(hnsw_pair a, hnsw_pair b) {
    return a.d > b.d || (a.d == b.d && a.row > b.row);
}

static inline bool hnsw_heap_push_max(hnsw_heap *h, float d, uint32_t row) {
    if (h->n == h->cap && !hnsw_heap_grow(h)) return false;
    hnsw_pair x = {d, row};
    uint32_t i = h->n++;
    while (i > 0) {
        uint32_t pa = (i - 1) / 2;
        if (!hnsw_heap_above(x, h->a[pa])) break;
        h->a[i] = h->a[pa];
        i = pa;
    }
    h->a[i] = x;
    return true;
}

static inline hnsw_pair hnsw_heap_pop_max(hnsw_heap *h) {
    hnsw_pair top = h->a[0], last = h->a[--h->n];
    uint32_t i = 0, n = h->n;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && hnsw_heap_above(h->a[c + 1], h->a[c])) c++;
        if (!hnsw_heap_above(h->a[c], last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (n) h->a[i] = last;
    return top;
}

/* ==== Linking (hnsw_build.c) ==== */

/* Relink a live row's own lists by a fresh search (update, revive): its
** level and the links into it stay. */
sc_status hnsw_link(hnsw_index *idx, uint32_t row, hnsw_scratch *s);
/* Add `row` to nb's list at level lc, pruning with the heuristic when full. */
void hnsw_link_back(hnsw_index *idx, uint32_t nb, uint32_t row, int lc);
/* Give a new row its level, empty lists and code (exclusive access). */
sc_status hnsw_place(hnsw_index *idx, uint32_t row, sc_err *err);
/* Keep at most max_n of the cand pairs (sorted ascending by d = distance to
** the base point) with the diversity heuristic; writes them to out (rows)
** and returns how many. */
uint32_t hnsw_select(const hnsw_index *idx, hnsw_pair *cand, uint32_t n, uint32_t max_n,
                     uint32_t *out);
/* ==== Walks, rows (hnsw_utils.c) ==== */

/* Beam search of width ef on level lc from ep (at distance dep) for q over
** every present row (tombstones included) except `exclude`; leaves the ef
** closest in s->res (max-heap). Reads the graph only. */
sc_status hnsw_search_layer(const hnsw_index *idx, const float *q, uint32_t ep, float dep, int lc,
                            uint32_t ef, uint32_t exclude, hnsw_scratch *s);
/* Greedy descent from ep (distance *dep) through levels top .. bottom+1,
** scoring with the f32 query q, or with its codes qb when not NULL (see
** hnsw_qdist); returns the closest row found and updates *dep. Reads the
** graph only. */
uint32_t hnsw_greedy(const hnsw_index *idx, const float *q, const void *qb, uint32_t ep, float *dep, int top,
                     int bottom);
/* Sort pairs ascending by (d, row). */
void hnsw_pairs_sort(hnsw_pair *a, uint32_t n);
/* Encode row's code if a quantizer is attached. */
void hnsw_encode_row(hnsw_index *idx, uint32_t row);

#endif /* SC_INDEX_HNSW_INT_H */
