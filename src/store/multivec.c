/*
** store/multivec.c: multivectors (late interaction, ColBERT-style): the
** rows of each point, their check and conversion on upsert, and the exact
** MAX_SIM top-k that answers every search on them.
**
** DESIGN
** - A multivector is a store_vec with multivec = MAX_SIM: its rows live
**   in one allocation per slot (store_mvec, sv->mv[slot]); sv->data stays
**   NULL and no HNSW graph is built, so the single-vector paths (flat scan
**   kernels, graphs, quantization) never see a multivector. Presence is
**   the same bitset as for single vectors, so has_vector, with_vector and
**   vector counts need nothing new.
** - MAX_SIM as Qdrant (lib/segment/src/vector_storage/query_scorer,
**   score_max_similarity): for each query row the best similarity over the
**   point's rows, summed in f32 in query-row order. Similarity is the dot
**   product (Cosine rows are normalised on upsert and in the query), minus
**   the squared L2 distance (Euclid) or minus the L1 distance (Manhattan);
**   ranking uses that sum, higher first; the reported score is the sum for
**   Cosine / Dot, sqrt(|sum|) for Euclid and |sum| for Manhattan (Qdrant's
**   post-processing), so lower is closer for those two, as for single
**   vectors.
** - Runs under the store's read lock (top-k) or after a commit with the
**   writer lock (set); writes only its own scratch memory while reading.
*/
#include "store/store_int.h"

#include "index/topk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sc_vector_datatype_name(sc_vector_datatype t) {
    switch (t) {
    case SC_VECTOR_DATATYPE_FLOAT16: return "float16";
    case SC_VECTOR_DATATYPE_UINT8: return "uint8";
    default: return "float32";
    }
}

bool store_coll_has_multivec(const store_coll *c) {
    for (size_t v = 0; v < c->n_vecs; v++)
        if (c->vecs[v].multivec != SC_MULTIVEC_COMPARATOR_NONE) return true;
    return false;
}

/* ==== Conversion ==== */

/* x rounded to the nearest binary16 value (ties to even), as f32; values
** beyond binary16's range become infinite, as a conversion to f16 does. */
static float multivec__round_f16(float x) {
    if (!isfinite(x) || x == 0.0f) return x;
    float a = fabsf(x);
    if (a >= 65520.0f) return copysignf(INFINITY, x); /* rounds past 65504, the largest half */
    int e;
    (void)frexpf(a, &e);                 /* a = m · 2^e, m in [0.5, 1) */
    int q = e - 11;                      /* 11 significant bits */
    if (q < -24) q = -24;                /* subnormal halves are multiples of 2^-24 */
    float r = ldexpf(nearbyintf(ldexpf(a, -q)), q);
    return copysignf(r, x);
}

void store_vec_convert(sc_vector_datatype t, float *v, size_t n) {
    if (t == SC_VECTOR_DATATYPE_UINT8) {
        for (size_t i = 0; i < n; i++) { /* Rust's `as u8`: truncate, saturate, NaN -> 0 */
            float x = v[i];
            v[i] = !(x > 0.0f) ? 0.0f : x >= 255.0f ? 255.0f : truncf(x);
        }
    } else if (t == SC_VECTOR_DATATYPE_FLOAT16) {
        for (size_t i = 0; i < n; i++) v[i] = multivec__round_f16(v[i]);
    }
}

/* ==== Rows of points ==== */

sc_status store_mvec_from_input(const store_vec *sv, const float *data, uint32_t dim, uint32_t rows,
                                const char *what, store_mvec **out) {
    const char *vname = *sv->name ? sv->name : "(default)";
    *out = NULL;
    if (rows < 1 || rows > SC_MAX_MULTIVEC_ROWS)
        return store_fail(SC_INVALID, "%s: multivector `%s` has %u rows, 1 to %u allowed", what, vname, rows,
                          SC_MAX_MULTIVEC_ROWS);
    if (dim != sv->dim || !data) /* Qdrant's words first */
        return store_fail(SC_INVALID, "Vector dimension error: expected dim: %u, got %u (%s: vector `%s`)", sv->dim,
                          data ? dim : 0, what, vname);
    size_t n = (size_t)rows * sv->dim;
    store_mvec *m = malloc(sizeof *m + sizeof(float) * n);
    if (!m) return store_fail(SC_NOMEM, "%s: out of memory for multivector `%s` (%u rows)", what, vname, rows);
    m->n = rows;
    memcpy(m->data, data, sizeof(float) * n);
    store_vec_convert(sv->datatype, m->data, n);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(m->data[i])) {
            bool given = isfinite(data[i]);
            free(m);
            return store_fail(SC_INVALID, "%s: vector `%s` row %zu component %zu is %s", what, vname, i / sv->dim,
                              i % sv->dim, given ? "out of the float16 range" : isnan(data[i]) ? "NaN" : "infinite");
        }
    if (sv->distance == SC_DISTANCE_COSINE)
        for (uint32_t r = 0; r < rows; r++) index_normalize(m->data + (size_t)r * sv->dim, sv->dim);
    *out = m;
    return SC_OK;
}

void store_mvec_set(store_vec *sv, uint32_t slot, store_mvec *m) {
    if (sv->mv[slot] == m) return;
    free(sv->mv[slot]);
    sv->mv[slot] = m;
    bool had = store_bit_get(sv->present, slot);
    if (m && !had) {
        store_bit_set(sv->present, slot);
        sv->n_present++;
    } else if (!m && had) {
        store_bit_clear(sv->present, slot);
        sv->n_present--;
    }
}

uint64_t store_mvec_bytes(const store_vec *sv, uint32_t n_slots) {
    uint64_t b = 0;
    for (uint32_t s = 0; sv->mv && s < n_slots; s++)
        if (sv->mv[s]) b += sizeof(store_mvec) + sizeof(float) * (uint64_t)sv->mv[s]->n * sv->dim;
    return b;
}

/* ==== MAX_SIM ==== */

#define MULTIVEC_BLOCK_Q 64     /* query rows scored per kernel call */
#define MULTIVEC_BLOCK_ROWS 256 /* point rows scored per kernel call */

/* Scratch of one top-k: the best similarity so far of each query row, and
** one block of scores (MULTIVEC_BLOCK_Q × MULTIVEC_BLOCK_ROWS). */
typedef struct multivec__scratch {
    float *best;  /* n_q entries */
    float *block; /* MULTIVEC_BLOCK_Q * MULTIVEC_BLOCK_ROWS entries */
} multivec__scratch;

/* The ranking sum of MAX_SIM of query rows q (n_q) against m (higher is
** closer): blocks of query rows against blocks of point rows through the
** block kernels (Euclid and Manhattan give distances: negated here). */
static float multivec__max_sim(const index_kernels *kern, sc_distance d, uint32_t dim, const float *q, uint32_t n_q,
                               const store_mvec *m, multivec__scratch *sc) {
    bool neg = d == SC_DISTANCE_EUCLID || d == SC_DISTANCE_MANHATTAN;
    void (*block)(const float *, size_t, const float *, size_t, size_t, float *) =
        d == SC_DISTANCE_EUCLID ? kern->l2sq_block : d == SC_DISTANCE_MANHATTAN ? kern->l1_block : kern->dot_block;
    for (uint32_t i = 0; i < n_q; i++) sc->best[i] = -INFINITY;
    for (uint32_t i0 = 0; i0 < n_q; i0 += MULTIVEC_BLOCK_Q) {
        uint32_t nq = n_q - i0 < MULTIVEC_BLOCK_Q ? n_q - i0 : MULTIVEC_BLOCK_Q;
        for (uint32_t j0 = 0; j0 < m->n; j0 += MULTIVEC_BLOCK_ROWS) {
            uint32_t nr = m->n - j0 < MULTIVEC_BLOCK_ROWS ? m->n - j0 : MULTIVEC_BLOCK_ROWS;
            block(q + (size_t)i0 * dim, nq, m->data + (size_t)j0 * dim, nr, dim, sc->block);
            for (uint32_t i = 0; i < nq; i++) {
                const float *row = sc->block + (size_t)i * nr;
                float b = sc->best[i0 + i];
                for (uint32_t j = 0; j < nr; j++) {
                    float s = neg ? -row[j] : row[j];
                    if (s > b) b = s;
                }
                sc->best[i0 + i] = b;
            }
        }
    }
    float sum = 0.0f; /* in query-row order, as Qdrant */
    for (uint32_t i = 0; i < n_q; i++) sum += sc->best[i];
    return sum;
}

/* The reported score of a ranking sum (store.h: distances for Euclid and Manhattan). */
static float multivec__reported(sc_distance d, float sum) {
    return d == SC_DISTANCE_EUCLID ? sqrtf(fabsf(sum)) : d == SC_DISTANCE_MANHATTAN ? fabsf(sum) : sum;
}

/* Score slot and offer it to the heap when within the threshold and admitted. */
static void multivec__consider(const index_kernels *kern, const store_vec *sv, const float *q, uint32_t n_q,
                               const index_scan_filter *f, const index_rank *rk, bool has_threshold, float threshold,
                               index_hit *h, uint32_t *n, uint32_t k, uint32_t slot, multivec__scratch *sc) {
    if (!store_bit_get(sv->present, slot) || !sv->mv[slot]) return;
    float sum = multivec__max_sim(kern, sv->distance, sv->dim, q, n_q, sv->mv[slot], sc);
    if (has_threshold) {
        float rep = multivec__reported(sv->distance, sum);
        bool lower = sv->distance == SC_DISTANCE_EUCLID || sv->distance == SC_DISTANCE_MANHATTAN;
        if (lower ? !(rep <= threshold) : !(rep >= threshold)) return;
    }
    index_hit x = {sum, slot};
    if (*n == k && !index_rank_better(rk, x, h[0])) return; /* cannot enter: spare the filter */
    if (f->accept && !f->accept(f->state, slot)) return;
    index_topk_offer(rk, h, n, k, x);
}

bool store_mvec_topk(const store_coll *c, const store_vec *sv, const float *q, uint32_t n_q,
                     const index_scan_filter *filter, const roaring_bitmap_t *cand, uint32_t k, bool has_threshold,
                     float threshold, index_hit *out, uint32_t *n_out) {
    const index_kernels *kern = index_kernels_best();
    index_rank rk = {filter->tie_cmp, filter->state};
    uint32_t n = 0;
    *n_out = 0;
    if (k == 0 || n_q == 0) return true;
    multivec__scratch sc = {malloc(sizeof(float) * n_q), malloc(sizeof(float) * MULTIVEC_BLOCK_Q * MULTIVEC_BLOCK_ROWS)};
    roaring_uint32_iterator_t *it = cand && sc.best && sc.block ? roaring_create_iterator(cand) : NULL;
    if (!sc.best || !sc.block || (cand && !it)) {
        free(sc.best);
        free(sc.block);
        return false;
    }
    if (cand) {
        for (; it->has_value; roaring_advance_uint32_iterator(it))
            if (it->current_value < c->n_slots)
                multivec__consider(kern, sv, q, n_q, filter, &rk, has_threshold, threshold, out, &n, k,
                                   it->current_value, &sc);
        roaring_free_uint32_iterator(it);
    } else {
        for (uint32_t s = 0; s < c->n_slots; s++)
            multivec__consider(kern, sv, q, n_q, filter, &rk, has_threshold, threshold, out, &n, k, s, &sc);
    }
    free(sc.best);
    free(sc.block);
    index_topk_sort(&rk, out, n);
    for (uint32_t i = 0; i < n; i++) out[i].score = multivec__reported(sv->distance, out[i].score);
    *n_out = n;
    return true;
}
