/*
** index/hnsw_search: the query search of the graph (the beam search used
** while linking is in hnsw_utils.c). The query search
** skips tombstones and rows the caller's filter rejects in its results
** while still walking through them, optionally scoring with quantized
** codes and rescoring the best with full-precision vectors.
**
** A filtered walk keeps expanding until it holds ef accepted rows whose
** worst is closer than every unexpanded candidate; for a filter admitting
** 1 % of rows it visits about ef/1 % rows, which is what gives recall on
** selective filters (the store's planner uses exact search when the
** admitted set is small enough for that to be cheaper).
*/
#include "index/hnsw_int.h"

#include <math.h>
#include <string.h>

static inline void hnsw__prefetch_row(const hnsw_index *idx, const void *qb, uint32_t row) {
    if (qb)
        __builtin_prefetch(idx->codes + (size_t)row * idx->code_size);
    else
        __builtin_prefetch(hnsw_vec(idx, row));
}

/* Every cache line of a row's f32 vector after the first (which the walk
** prefetched for all neighbours before scoring them). */
static inline void hnsw__prefetch_rest(const hnsw_index *idx, uint32_t row) {
    const char *v = (const char *)hnsw_vec(idx, row);
    size_t bytes = (size_t)idx->p.dim * sizeof(float);
    for (size_t o = 64; o < bytes; o += 64) __builtin_prefetch(v + o);
}

/* Best-first walk of level 0 keeping the ef best accepted rows in s->res. */
static sc_status hnsw__walk0(const hnsw_index *idx, const float *q, const void *qb, uint32_t ep,
                             float dep, uint32_t ef, const index_scan_filter *f, hnsw_scratch *s) {
    hnsw_scratch_new_walk(s);
    uint32_t tag = s->tag;
    const uint8_t *flags = idx->flags;
    s->visited[ep] = tag;
    if (!hnsw_heap_push_min(&s->cand, dep, ep)) return SC_NOMEM;
    bool ok = !(flags[ep] & HNSW_FLAG_DELETED) && (!f || !f->accept || f->accept(f->state, ep));
    if (ok && !hnsw_heap_push_max(&s->res, dep, ep)) return SC_NOMEM;
    while (s->cand.n) {
        hnsw_pair c = hnsw_heap_pop_min(&s->cand);
        if (s->res.n >= ef && c.d > s->res.a[0].d) break;
        const uint32_t *list = hnsw_list(idx, c.row, 0);
        uint32_t cnt = list[0];
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t nb = list[1 + i];
            if (s->visited[nb] != tag) hnsw__prefetch_row(idx, qb, nb);
        }
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t nb = list[1 + i];
            if (s->visited[nb] == tag) continue;
            s->visited[nb] = tag;
            /* The vector after this one is read next: its other lines now. */
            if (!qb && i + 1 < cnt) hnsw__prefetch_rest(idx, list[2 + i]);
            float d = hnsw_qdist(idx, q, qb, nb);
            if (s->res.n < ef || d < s->res.a[0].d) {
                if (!hnsw_heap_push_min(&s->cand, d, nb)) return SC_NOMEM;
                /* Most candidates get expanded: their list (a separate
                ** array from the vectors) is fetched meanwhile. */
                {
                    const char *l = (const char *)hnsw_list(idx, nb, 0);
                    __builtin_prefetch(l);
                    __builtin_prefetch(l + 64);
                    __builtin_prefetch(l + 128);
                }
                if (flags[nb] & HNSW_FLAG_DELETED) continue;
                if (f && f->accept && !f->accept(f->state, nb)) continue;
                if (!hnsw_heap_push_max(&s->res, d, nb)) return SC_NOMEM;
                if (s->res.n > ef) (void)hnsw_heap_pop_max(&s->res);
            }
        }
    }
    return SC_OK;
}

/* Greedy descent from the entry point through the upper levels with f32 or codes (read-only). */
static uint32_t hnsw__descend(const hnsw_index *idx, const float *q, const void *qb, float *dep) {
    *dep = hnsw_qdist(idx, q, qb, idx->entry);
    return hnsw_greedy(idx, q, qb, idx->entry, dep, idx->max_level, 0);
}

/* Internal distance -> score of index.h. */
static inline float hnsw__score(const hnsw_index *idx, float d) {
    switch (idx->p.metric) {
    case INDEX_METRIC_DOT: return -d;
    case INDEX_METRIC_L2: return sqrtf(d > 0.0f ? d : 0.0f);
    case INDEX_METRIC_L1: return d;
    }
    return d;
}

bool hnsw_prefer_exact(uint64_t admitted, uint64_t n, uint32_t ef, uint32_t m) {
    if (admitted >= n) return false;
    /* in doubles: 1e9 rows * ef 1e4 * 2m 256 overflows nothing there */
    return (double)admitted * (double)admitted <= (double)ef * 2.0 * (double)m * (double)n;
}

sc_status hnsw_index_search(const hnsw_index *idx, const float *query, uint32_t k,
                            const hnsw_search_opts *opts, index_hit *out_hits, uint32_t *out_n,
                            sc_err *err) {
    static const hnsw_search_opts none = {0};
    if (!opts) opts = &none;
    if (!idx || !query || !out_hits || !out_n)
        return sc_err_set(err, SC_MISUSE, "hnsw_index_search: NULL argument");
    if (opts->use_codes && !idx->q)
        return sc_err_set(err, SC_INVALID, "hnsw: use_codes set but the index has no quantizer");
    if (k == 0 || idx->entry == HNSW_NONE || idx->n_live == 0) {
        *out_n = 0;
        return SC_OK;
    }
    uint32_t ef = opts->ef ? opts->ef : idx->p.ef;
    uint32_t n_keep = k;
    if (opts->use_codes) {
        float os = opts->oversample < 1.0f ? 1.0f : opts->oversample;
        double nk = ceil((double)k * (double)os);
        n_keep = nk > 1e6 ? 1000000u : (uint32_t)nk;
    }
    if (ef < n_keep) ef = n_keep;
    hnsw_scratch *s = hnsw_scratch_get(idx);
    if (!s) return sc_err_set(err, SC_NOMEM, "hnsw: out of memory for search scratch");
    const void *qb = NULL;
    if (opts->use_codes) {
        quant_query_prepare(idx->q, query, s->qbuf);
        qb = s->qbuf;
    }
    float dep;
    uint32_t ep = hnsw__descend(idx, query, qb, &dep);
    sc_status rc = hnsw__walk0(idx, query, qb, ep, dep, ef, opts->filter, s);
    if (rc != SC_OK) {
        hnsw_scratch_put(idx, s);
        return sc_err_set(err, rc, "hnsw: out of memory during search");
    }
    uint32_t n = s->res.n;
    if (!hnsw_scratch_tmp(s, n)) {
        hnsw_scratch_put(idx, s);
        return sc_err_set(err, SC_NOMEM, "hnsw: out of memory during search");
    }
    for (uint32_t i = n; i > 0; i--) s->tmp[i - 1] = hnsw_heap_pop_max(&s->res);
    if (qb) { /* rescore the n_keep best by codes with the f32 vectors */
        if (n > n_keep) n = n_keep;
        for (uint32_t i = 0; i < n; i++) s->tmp[i].d = hnsw_dist(idx, query, s->tmp[i].row);
        hnsw_pairs_sort(s->tmp, n);
    }
    if (n > k) n = k;
    const index_scan_filter *f = opts->filter;
    for (uint32_t i = 0; i < n; i++) {
        out_hits[i].row = s->tmp[i].row;
        out_hits[i].score = hnsw__score(idx, s->tmp[i].d);
    }
    /* Equal scores: order by the caller's tie rule (default row number,
    ** which the heap order already gives). */
    if (f && f->tie_cmp) {
        for (uint32_t i = 1; i < n; i++) {
            index_hit x = out_hits[i];
            uint32_t j = i;
            while (j > 0 && out_hits[j - 1].score == x.score &&
                   f->tie_cmp(f->state, out_hits[j - 1].row, x.row) > 0) {
                out_hits[j] = out_hits[j - 1];
                j--;
            }
            out_hits[j] = x;
        }
    }
    *out_n = n;
    hnsw_scratch_put(idx, s);
    return SC_OK;
}
