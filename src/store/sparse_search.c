/*
** store/sparse_search.c: exact top-k of a sparse query over one sparse
** vector of a collection: the query's check and weighting (the IDF
** modifier, over the collection or a corpus filter), then scoring by
** walking the posting lists of its indices, or, for a selective filter,
** by scoring the admitted points one by one.
**
** DESIGN
** - Both ways add the products query weight × point weight of the shared
**   indices in ascending index order, in f32, starting from 0: the same
**   operations in the same order, so they give bit-identical scores (and
**   so does a brute-force scan written that way, which the tests compare
**   against). A point is a result when it shares an index with the query
**   and its sum is not exactly 0; ties are ordered by the caller's tie
**   callback (point id).
** - IDF as Qdrant (lib/segment/src/data_types/query_context.rs,
**   `fancy_idf`): idf = ln((N - df + 0.5) / (df + 0.5) + 1) in f32, N the
**   points whose vector has at least one entry, df those of them with the
**   index (a posting list's length: entries of weight 0 count). With an
**   IDF corpus both count only the points matching its filter.
** - Runs under the store's read lock: it reads the vectors and lists, and
**   writes only its own scratch memory.
*/
#include "store/store_int.h"

#include "index/topk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== Query ==== */

void store_sparse_query_free(store_sparse_query *q) {
    if (!q) return;
    free(q->own);
    memset(q, 0, sizeof *q);
}

/* The points of the IDF corpus (filter text) that have a non-empty vector
** of s, as a bitset over slots (owned), and their number. */
static sc_status sparse__corpus(store_coll *c, const store_sparse *s, const char *filter_json, uint64_t **bits,
                                uint64_t *n_docs) {
    store_filter *f = NULL;
    sc_err err = {0};
    if (filter_compile_text(filter_json, &f, &err) != SC_OK)
        return store_fail(err.code, "params.idf.corpus: %s", err.msg);
    uint32_t *slots = NULL;
    size_t n = 0;
    sc_status rc = f ? store_filter_bind(c, f) : SC_OK;
    if (rc == SC_OK && f) rc = store_select_filter(c, f, &slots, &n);
    filter_free(f);
    if (rc != SC_OK) return rc;
    uint64_t *b = calloc(((size_t)c->n_slots + 63) / 64 + 1, sizeof *b);
    if (!b) {
        free(slots);
        return store_fail(SC_NOMEM, "out of memory selecting the IDF corpus");
    }
    uint64_t docs = 0;
    for (size_t i = 0; i < n; i++) {
        const store_svec *v = slots[i] < s->vecs_cap ? s->vecs[slots[i]] : NULL;
        if (!v || !v->n) continue;
        store_bit_set(b, slots[i]);
        docs++;
    }
    free(slots);
    *bits = b;
    *n_docs = docs;
    return SC_OK;
}

/* Qdrant's idf of an index found in df of n documents, in f32. */
static float sparse__idf(uint64_t n, uint64_t df) {
    float nf = (float)n, dff = (float)df;
    return logf((nf - dff + 0.5f) / (dff + 0.5f) + 1.0f);
}

sc_status store_sparse_query_prepare(store_coll *c, const store_sparse *s, const sc_sparse_query *q,
                                     store_sparse_query *out) {
    memset(out, 0, sizeof *out);
    if (q->idf_corpus_json && s->modifier != SC_SPARSE_MODIFIER_IDF)
        return store_fail(SC_INVALID,
                          "params.idf: an IDF corpus needs the `idf` modifier, and sparse vector `%s` has modifier "
                          "`%s`", s->name, sc_sparse_modifier_name(s->modifier));
    sc_sparse_in in = {.name = s->name, .indices = q->indices, .values = q->values, .n = q->n};
    sc_status rc = store_svec_from_input(&in, "sparse query", &out->own);
    if (rc != SC_OK) return rc;
    out->n = out->own->n;
    out->idx = out->own->idx;
    out->w = out->own->val;
    if (s->modifier != SC_SPARSE_MODIFIER_IDF || out->n == 0) return SC_OK;
    uint64_t *corpus = NULL, n_docs = s->n_nonempty;
    if (q->idf_corpus_json && (rc = sparse__corpus(c, s, q->idf_corpus_json, &corpus, &n_docs)) != SC_OK) {
        store_sparse_query_free(out);
        return rc;
    }
    for (uint32_t j = 0; j < out->n; j++) {
        const store_posting *p = store_sparse_list(s, out->idx[j]);
        uint64_t df = 0;
        if (p && !corpus) df = p->n;
        else if (p)
            for (uint32_t e = 0; e < p->n; e++) df += store_bit_get(corpus, p->slot[e]);
        out->w[j] *= sparse__idf(n_docs, df);
    }
    free(corpus);
    return SC_OK;
}

/* ==== Top-k ==== */

/* Keep x when it is a result: shares an index (the caller knows), sum not
** 0, within the threshold, admitted by the filter. */
static void sparse__consider(const index_scan_filter *f, const index_rank *rk, bool has_threshold, float threshold,
                             index_hit *h, uint32_t *n, uint32_t k, index_hit x) {
    if (x.score == 0.0f || (has_threshold && !(x.score >= threshold))) return;
    if (*n == k && !index_rank_better(rk, x, h[0])) return; /* cannot enter: spare the filter */
    if (f->accept && !f->accept(f->state, x.row)) return;
    index_topk_offer(rk, h, n, k, x);
}

/* Score of vector v for query q (merge of two ascending index lists);
** false when they share no index. */
static bool sparse__score_one(const store_sparse_query *q, const store_svec *v, float *out) {
    float sum = 0.0f;
    bool overlap = false;
    uint32_t i = 0, j = 0;
    while (i < q->n && j < v->n) {
        if (q->idx[i] < v->idx[j]) i++;
        else if (q->idx[i] > v->idx[j]) j++;
        else {
            float prod = q->w[i] * v->val[j];
            sum += prod;
            overlap = true;
            i++;
            j++;
        }
    }
    *out = sum;
    return overlap;
}

bool store_sparse_topk(const store_coll *c, const store_sparse *s, const store_sparse_query *q,
                       const index_scan_filter *filter, const roaring_bitmap_t *cand, uint32_t k, bool has_threshold,
                       float threshold, index_hit *out, uint32_t *n_out) {
    uint32_t n = 0;
    *n_out = 0;
    if (q->n == 0 || k == 0) return true;
    index_rank rk = {filter->tie_cmp, filter->state};
    if (cand) {
        /* a selective filter: score its points one by one */
        roaring_uint32_iterator_t *it = roaring_create_iterator(cand);
        if (!it) return false;
        for (; it->has_value; roaring_advance_uint32_iterator(it)) {
            uint32_t slot = it->current_value;
            const store_svec *v = slot < c->n_slots && slot < s->vecs_cap ? s->vecs[slot] : NULL;
            float sc;
            if (v && sparse__score_one(q, v, &sc))
                sparse__consider(filter, &rk, has_threshold, threshold, out, &n, k, (index_hit){sc, slot});
        }
        roaring_free_uint32_iterator(it);
    } else {
        /* walk the posting lists of the query's indices, in ascending index order */
        uint32_t n_slots = c->n_slots ? c->n_slots : 1;
        float *score = calloc(n_slots, sizeof *score);
        uint64_t *seen = calloc((n_slots + 63) / 64, sizeof *seen);
        uint32_t *touched = malloc(sizeof *touched * n_slots);
        if (!score || !seen || !touched) {
            free(score);
            free(seen);
            free(touched);
            return false;
        }
        uint32_t n_touched = 0;
        for (uint32_t j = 0; j < q->n; j++) {
            const store_posting *p = store_sparse_list(s, q->idx[j]);
            if (!p) continue;
            float w = q->w[j];
            for (uint32_t e = 0; e < p->n; e++) {
                uint32_t slot = p->slot[e];
                if (!store_bit_get(seen, slot)) {
                    store_bit_set(seen, slot);
                    touched[n_touched++] = slot;
                }
                float prod = w * p->val[e];
                score[slot] += prod;
            }
        }
        for (uint32_t i = 0; i < n_touched; i++)
            sparse__consider(filter, &rk, has_threshold, threshold, out, &n, k, (index_hit){score[touched[i]], touched[i]});
        free(score);
        free(seen);
        free(touched);
    }
    index_topk_sort(&rk, out, n);
    *n_out = n;
    return true;
}
