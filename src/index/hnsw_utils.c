/*
** index/hnsw_utils: helpers every operation of the HNSW index shares, so
** that build, insert, search, batch and vacuum depend on this file rather
** than on each other: the scratch pool, pair sorting and heap growth, the
** quantized encoding of a row, and the two walks used while linking (greedy
** descent through the upper levels, beam search of one level).
*/
#include "index/hnsw_int.h"

#include <stdlib.h>
#include <string.h>

void hnsw_scratch_free(hnsw_scratch *s) {
    if (!s) return;
    free(s->visited);
    free(s->cand.a);
    free(s->res.a);
    free(s->tmp);
    free(s->qbuf);
    free(s);
}

/* ==== Scratch pool ==== */

hnsw_scratch *hnsw_scratch_get(const hnsw_index *idx) {
    hnsw_index *mi = (hnsw_index *)idx; /* the pool is interior-mutable */
    pthread_mutex_lock(&mi->pool_mu);
    hnsw_scratch *s = mi->pool;
    if (s) mi->pool = s->next;
    pthread_mutex_unlock(&mi->pool_mu);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
    }
    if (s->n_visited < idx->capacity) {
        free(s->visited);
        s->visited = calloc(idx->capacity, sizeof *s->visited);
        s->n_visited = s->visited ? idx->capacity : 0;
        s->tag = 0;
        if (!s->visited) {
            hnsw_scratch_free(s);
            return NULL;
        }
    }
    size_t qs = idx->q ? quant_query_size(idx->q) : 0;
    if (qs > s->qbuf_size) {
        free(s->qbuf);
        s->qbuf = aligned_alloc(64, (qs + 63) & ~(size_t)63);
        s->qbuf_size = s->qbuf ? qs : 0;
        if (!s->qbuf) {
            hnsw_scratch_free(s);
            return NULL;
        }
    }
    s->next = NULL;
    return s;
}

void hnsw_scratch_put(const hnsw_index *idx, hnsw_scratch *s) {
    if (!s) return;
    hnsw_index *mi = (hnsw_index *)idx;
    pthread_mutex_lock(&mi->pool_mu);
    s->next = mi->pool;
    mi->pool = s;
    pthread_mutex_unlock(&mi->pool_mu);
}

void hnsw_scratch_new_walk(hnsw_scratch *s) {
    s->tag++;
    if (s->tag == 0) { /* wrapped: forget every old tag */
        memset(s->visited, 0, (size_t)s->n_visited * sizeof *s->visited);
        s->tag = 1;
    }
    s->cand.n = 0;
    s->res.n = 0;
}

bool hnsw_scratch_tmp(hnsw_scratch *s, uint32_t n) {
    if (n <= s->n_tmp) return true;
    uint32_t nc = n < 256 ? 256 : n + n / 2;
    hnsw_pair *t = realloc(s->tmp, (size_t)nc * sizeof *t);
    if (!t) return false;
    s->tmp = t;
    s->n_tmp = nc;
    return true;
}

/* ==== Heaps ==== */

bool hnsw_heap_grow(hnsw_heap *h) {
    return util_grow_u32(&h->a, &h->cap, (size_t)h->n + 1, sizeof *h->a, 256);
}

static int hnsw__pair_cmp(const void *pa, const void *pb) {
    const hnsw_pair *a = pa, *b = pb;
    if (a->d < b->d) return -1;
    if (a->d > b->d) return 1;
    return (a->row > b->row) - (a->row < b->row);
}

void hnsw_pairs_sort(hnsw_pair *a, uint32_t n) {
    /* Insertion sort for the short lists of linking, qsort beyond. */
    if (n > 32) {
        qsort(a, n, sizeof *a, hnsw__pair_cmp);
        return;
    }
    for (uint32_t i = 1; i < n; i++) {
        hnsw_pair x = a[i];
        uint32_t j = i;
        while (j > 0 && hnsw__pair_cmp(&a[j - 1], &x) > 0) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

/* ==== Rows ==== */

void hnsw_encode_row(hnsw_index *idx, uint32_t row) {
    if (!idx->q) return;
    quant_encode(idx->q, hnsw_vec(idx, row), idx->codes + (size_t)row * idx->code_size);
}

/* ==== Walks used while linking ==== */

uint32_t hnsw_greedy(const hnsw_index *idx, const float *q, const void *qb, uint32_t ep, float *dep, int top,
                     int bottom) {
    float d = *dep;
    for (int lc = top; lc > bottom; lc--) {
        bool changed = true;
        while (changed) {
            changed = false;
            const uint32_t *list = hnsw_list(idx, ep, lc);
            uint32_t cnt = list[0];
            for (uint32_t i = 0; i < cnt; i++) {
                float dn = hnsw_qdist(idx, q, qb, list[1 + i]);
                if (dn < d) {
                    d = dn;
                    ep = list[1 + i];
                    changed = true;
                }
            }
        }
    }
    *dep = d;
    return ep;
}

sc_status hnsw_search_layer(const hnsw_index *idx, const float *q, uint32_t ep, float dep, int lc,
                            uint32_t ef, uint32_t exclude, hnsw_scratch *s) {
    hnsw_scratch_new_walk(s);
    uint32_t tag = s->tag;
    s->visited[ep] = tag;
    if (!hnsw_heap_push_min(&s->cand, dep, ep)) return SC_NOMEM;
    if (ep != exclude && !hnsw_heap_push_max(&s->res, dep, ep)) return SC_NOMEM;
    while (s->cand.n) {
        hnsw_pair c = hnsw_heap_pop_min(&s->cand);
        if (s->res.n >= ef && c.d > s->res.a[0].d) break;
        const uint32_t *list = hnsw_list(idx, c.row, lc);
        uint32_t cnt = list[0];
        for (uint32_t i = 0; i < cnt; i++) __builtin_prefetch(hnsw_vec(idx, list[1 + i]));
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t nb = list[1 + i];
            if (s->visited[nb] == tag) continue;
            s->visited[nb] = tag;
            float d = hnsw_dist(idx, q, nb);
            if (s->res.n < ef || d < s->res.a[0].d) {
                if (!hnsw_heap_push_min(&s->cand, d, nb)) return SC_NOMEM;
                if (nb == exclude) continue;
                if (!hnsw_heap_push_max(&s->res, d, nb)) return SC_NOMEM;
                if (s->res.n > ef) (void)hnsw_heap_pop_max(&s->res);
            }
        }
    }
    return SC_OK;
}

/* ==== Query search ==== */

/* Distance of the query to row: f32 or quantized code. */
