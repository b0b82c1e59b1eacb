/*
** index/hnsw_build: life cycle of the HNSW index (new, free, growth) and
** the linking of one node into the graph (shared by add, batch add and
** update). The scratch pool, heaps and graph walks it shares with search,
** insert, batch and vacuum are in hnsw_utils.c.
**
** The batch build itself (threads, determinism) is in hnsw_batch.c.
*/
#include "index/hnsw_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== Parameters and life cycle ==== */

hnsw_params hnsw_params_default(void) {
    hnsw_params p = {0};
    p.metric = INDEX_METRIC_DOT;
    p.m = 16;
    p.ef_construct = 200;
    p.ef = 64;
    p.seed = 42;
    p.n_threads = 0;
    return p;
}

static index_kernel_fn hnsw__kernel_for(const index_kernels *k, index_metric m) {
    switch (m) {
    case INDEX_METRIC_DOT: return k->dot;
    case INDEX_METRIC_L2: return k->l2sq;
    case INDEX_METRIC_L1: return k->l1;
    }
    return NULL;
}

static sc_status hnsw__check_params(const hnsw_params *p, sc_err *err) {
    if (p->metric != INDEX_METRIC_DOT && p->metric != INDEX_METRIC_L2 &&
        p->metric != INDEX_METRIC_L1)
        return sc_err_set(err, SC_INVALID, "hnsw: metric %d is not DOT, L2 or L1", (int)p->metric);
    if (p->dim < 1 || p->dim > 65535)
        return sc_err_set(err, SC_INVALID, "hnsw: dim %u is outside 1..65535", p->dim);
    if (p->m < 2 || p->m > 128)
        return sc_err_set(err, SC_INVALID, "hnsw: m %u is outside 2..128", p->m);
    if (p->ef_construct < 1 || p->ef_construct > 100000)
        return sc_err_set(err, SC_INVALID, "hnsw: ef_construct %u is outside 1..100000",
                          p->ef_construct);
    return SC_OK;
}

sc_status hnsw_index_new(const hnsw_params *p, const hnsw_source *src, hnsw_index **out,
                         sc_err *err) {
    if (!p || !src || !out) return sc_err_set(err, SC_MISUSE, "hnsw_index_new: NULL argument");
    sc_status rc = hnsw__check_params(p, err);
    if (rc != SC_OK) return rc;
    if (!src->base && !src->row)
        return sc_err_set(err, SC_INVALID, "hnsw: source has neither base nor row callback");
    if (src->base && src->stride < p->dim)
        return sc_err_set(err, SC_INVALID, "hnsw: source stride %zu < dim %u", src->stride, p->dim);
    hnsw_index *idx = calloc(1, sizeof *idx);
    if (!idx) return sc_err_set(err, SC_NOMEM, "hnsw: out of memory");
    idx->p = *p;
    if (idx->p.ef == 0) idx->p.ef = 64;
    if (idx->p.n_threads == 0) idx->p.n_threads = util_n_cores();
    if (!idx->p.kernels) idx->p.kernels = index_kernels_best();
    idx->kdist = hnsw__kernel_for(idx->p.kernels, p->metric);
    idx->src = *src;
    idx->m0 = 2 * p->m;
    idx->l0_stride = 1 + idx->m0;
    idx->up_stride = 1 + p->m;
    idx->ml = 1.0 / log((double)p->m);
    idx->entry = HNSW_NONE;
    idx->max_level = -1;
    pthread_mutex_init(&idx->pool_mu, NULL);
    *out = idx;
    return SC_OK;
}

void hnsw_index_free(hnsw_index *idx) {
    if (!idx) return;
    if (idx->upper)
        for (uint32_t r = 0; r < idx->capacity; r++) free(idx->upper[r]);
    free(idx->upper);
    free(idx->l0);
    free(idx->level);
    free(idx->flags);
    free(idx->codes);
    quant_free(idx->q);
    while (idx->pool) {
        hnsw_scratch *s = idx->pool;
        idx->pool = s->next;
        hnsw_scratch_free(s);
    }
    pthread_mutex_destroy(&idx->pool_mu);
    free(idx);
}

void hnsw_index_set_source(hnsw_index *idx, const hnsw_source *src) {
    if (idx && src) idx->src = *src;
}

const hnsw_params *hnsw_index_params(const hnsw_index *idx) {
    return &idx->p;
}

void hnsw_index_set_ef(hnsw_index *idx, uint32_t ef) {
    if (idx && ef > 0) idx->p.ef = ef;
}

hnsw_info hnsw_index_info(const hnsw_index *idx) {
    hnsw_info in = {0};
    in.n_live = idx->n_live;
    in.n_deleted = idx->n_deleted;
    in.capacity = idx->capacity;
    in.max_level = idx->max_level < 0 ? 0 : (uint32_t)idx->max_level;
    uint64_t g = (uint64_t)idx->capacity * (idx->l0_stride * 4u + sizeof(void *) + 2u);
    for (uint32_t r = 0; r < idx->capacity; r++)
        if (idx->level[r] > 0) g += (uint64_t)idx->level[r] * idx->up_stride * 4u;
    in.graph_bytes = g;
    in.code_bytes = idx->codes ? (uint64_t)idx->capacity * idx->code_size : 0;
    in.bytes_per_vector =
        idx->n_live ? (double)(in.graph_bytes + in.code_bytes) / (double)idx->n_live : 0.0;
    return in;
}

bool hnsw_index_contains(const hnsw_index *idx, uint32_t row) {
    return row < idx->capacity && idx->level[row] >= 0 && !(idx->flags[row] & HNSW_FLAG_DELETED);
}

void hnsw_index_set_user_tag(hnsw_index *idx, uint64_t tag) {
    idx->user_tag = tag;
}

uint64_t hnsw_index_user_tag(const hnsw_index *idx) {
    return idx->user_tag;
}

const quant *hnsw_index_quant(const hnsw_index *idx) {
    return idx->q;
}

/* ==== Growth ==== */

sc_status hnsw_reserve(hnsw_index *idx, uint32_t n, sc_err *err) {
    if (n <= idx->capacity) return SC_OK;
    uint64_t want = (uint64_t)idx->capacity + idx->capacity / 2;
    if (want < n) want = n;
    if (want < 64) want = 64;
    if (want > UINT32_MAX - 1) want = UINT32_MAX - 1;
    uint32_t nc = (uint32_t)want, oc = idx->capacity;
    uint32_t *l0 = realloc(idx->l0, (size_t)nc * idx->l0_stride * sizeof *l0);
    if (!l0) goto nomem;
    idx->l0 = l0;
    uint32_t **up = realloc(idx->upper, (size_t)nc * sizeof *up);
    if (!up) goto nomem;
    idx->upper = up;
    int8_t *lv = realloc(idx->level, nc);
    if (!lv) goto nomem;
    idx->level = lv;
    uint8_t *fl = realloc(idx->flags, nc);
    if (!fl) goto nomem;
    idx->flags = fl;
    if (idx->q) {
        uint8_t *c = realloc(idx->codes, (size_t)nc * idx->code_size);
        if (!c) goto nomem;
        idx->codes = c;
        memset(idx->codes + (size_t)oc * idx->code_size, 0, (size_t)(nc - oc) * idx->code_size);
    }
    for (uint32_t r = oc; r < nc; r++) {
        idx->l0[(size_t)r * idx->l0_stride] = 0;
        idx->upper[r] = NULL;
        idx->level[r] = -1;
        idx->flags[r] = 0;
    }
    idx->capacity = nc;
    return SC_OK;
nomem:
    /* Arrays that were grown keep their old contents; capacity is unchanged. */
    return sc_err_set(err, SC_NOMEM, "hnsw: out of memory growing to %u rows", nc);
}

int hnsw_level_of(const hnsw_index *idx, uint32_t row) {
    uint64_t h = util_mix64(idx->p.seed ^ util_mix64((uint64_t)row + 0x9e3779b97f4a7c15ull));
    double u = ((double)(h >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double l = -log(u) * idx->ml;
    return l >= HNSW_MAX_LEVEL ? HNSW_MAX_LEVEL : (int)l;
}

/* ==== Linking ==== */

uint32_t hnsw_select(const hnsw_index *idx, hnsw_pair *cand, uint32_t n, uint32_t max_n,
                     uint32_t *out) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < n && k < max_n; i++) {
        const float *vc = hnsw_vec(idx, cand[i].row);
        bool keep = true;
        /* Keep c only if it is closer to the base than to every kept one:
        ** the kept set then points in diverse directions. */
        for (uint32_t j = 0; j < k; j++) {
            if (hnsw_dist(idx, vc, out[j]) < cand[i].d) {
                keep = false;
                break;
            }
        }
        if (keep) out[k++] = cand[i].row;
    }
    return k;
}

void hnsw_link_back(hnsw_index *idx, uint32_t nb, uint32_t row, int lc) {
    hnsw_pair pairs[2 * 128 + 1];
    uint32_t keep[2 * 128 + 1];
    uint32_t *list = hnsw_list(idx, nb, lc);
    uint32_t cnt = list[0], maxn = hnsw_max_nb(idx, lc);
    for (uint32_t i = 0; i < cnt; i++)
        if (list[1 + i] == row) return;
    if (cnt < maxn) {
        list[1 + cnt] = row;
        list[0] = cnt + 1;
    } else {
        const float *vb = hnsw_vec(idx, nb);
        for (uint32_t i = 0; i < cnt; i++) pairs[i] = (hnsw_pair){hnsw_dist(idx, vb, list[1 + i]), list[1 + i]};
        pairs[cnt] = (hnsw_pair){hnsw_dist(idx, vb, row), row};
        hnsw_pairs_sort(pairs, cnt + 1);
        uint32_t k = hnsw_select(idx, pairs, cnt + 1, maxn, keep);
        memcpy(list + 1, keep, (size_t)k * sizeof *keep);
        list[0] = k;
    }
}

sc_status hnsw_link(hnsw_index *idx, uint32_t row, hnsw_scratch *s) {
    const float *q = hnsw_vec(idx, row);
    int L = idx->level[row];
    uint32_t ep = idx->entry;
    int maxl = idx->max_level;
    if (ep == HNSW_NONE) return SC_OK;
    sc_status rc = SC_OK;
    float dep = hnsw_dist(idx, q, ep);
    if (maxl > L) ep = hnsw_greedy(idx, q, NULL, ep, &dep, maxl, L);
    uint32_t sel[128];
    for (int lc = L < maxl ? L : maxl; lc >= 0; lc--) {
        rc = hnsw_search_layer(idx, q, ep, dep, lc, idx->p.ef_construct, row, s);
        if (rc != SC_OK) break;
        uint32_t n = s->res.n;
        if (n == 0) continue;
        if (!hnsw_scratch_tmp(s, n)) {
            rc = SC_NOMEM;
            break;
        }
        for (uint32_t i = n; i > 0; i--) s->tmp[i - 1] = hnsw_heap_pop_max(&s->res);
        ep = s->tmp[0].row;
        dep = s->tmp[0].d;
        uint32_t k = hnsw_select(idx, s->tmp, n, idx->p.m, sel);
        uint32_t *list = hnsw_list(idx, row, lc);
        memcpy(list + 1, sel, (size_t)k * sizeof *sel);
        list[0] = k;
        for (uint32_t i = 0; i < k; i++) hnsw_link_back(idx, sel[i], row, lc);
    }
    return rc;
}

/* Give row its level and (empty) upper-level block. */
sc_status hnsw_place(hnsw_index *idx, uint32_t row, sc_err *err) {
    int L = hnsw_level_of(idx, row);
    if (L > 0) {
        idx->upper[row] = calloc((size_t)L * idx->up_stride, sizeof(uint32_t));
        if (!idx->upper[row]) return sc_err_set(err, SC_NOMEM, "hnsw: out of memory at row %u", row);
    }
    idx->level[row] = (int8_t)L;
    idx->flags[row] = 0;
    idx->l0[(size_t)row * idx->l0_stride] = 0;
    hnsw_encode_row(idx, row);
    return SC_OK;
}
