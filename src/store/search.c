/*
** store/search.c: exact top-k search over a collection's vectors, with
** filters, thresholds and result selection.
**
** The scan itself is index_flat_search over the slot-indexed vector array;
** this file decides which slots it may return (live, has the vector,
** passes the filter: through the payload-index plan first, then the full
** filter on the candidates) and turns hits into records.
*/
#include "store/store_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/index.h"

/* What the scan's accept / tie callbacks need. */
typedef struct store__scan_state {
    const store_coll *c;          /* collection */
    const store_vec *sv;          /* vector column scanned */
    const store_filter *f;        /* filter, NULL = none */
    const roaring_bitmap_t *cand; /* planned candidates, NULL = all */
    bool exact;                   /* cand is exactly the filter's match set */
} store__scan_state;

static bool store__accept(void *p, uint32_t row) {
    const store__scan_state *s = p;
    if (!store_bit_get(s->sv->present, row)) return false;
    if (s->cand && !roaring_bitmap_contains(s->cand, row)) return false;
    if (s->f && !s->exact) return filter_match(s->f, &s->c->ids[row], s->c->payloads[row]);
    return true;
}

static int store__tie(void *p, uint32_t a, uint32_t b) {
    const store__scan_state *s = p;
    return sc_point_id_cmp(&s->c->ids[a], &s->c->ids[b]);
}

static index_metric store__metric(sc_distance d) {
    switch (d) {
    case SC_DISTANCE_EUCLID: return INDEX_METRIC_L2;
    case SC_DISTANCE_MANHATTAN: return INDEX_METRIC_L1;
    default: return INDEX_METRIC_DOT;
    }
}

/* Validate a query vector; normalised copy for cosine into q. */
static sc_status store__check_query(const store_vec *sv, const float *in, uint32_t dim, size_t qi, float *q) {
    const char *vname = *sv->name ? sv->name : "(default)";
    if (!in) return store_fail(SC_INVALID, "query vector is missing");
    if (dim != sv->dim)
        return store_fail(SC_INVALID, "query vector `%s` has dimension %u, collection expects %u", vname, dim, sv->dim);
    for (uint32_t d = 0; d < dim; d++)
        if (!isfinite(in[d]))
            return store_fail(SC_INVALID, "query %zu: component %u of vector `%s` is %s", qi, d, vname,
                              isnan(in[d]) ? "NaN" : "infinite");
    memcpy(q, in, sizeof(float) * dim);
    if (sv->distance == SC_DISTANCE_COSINE) index_normalize(q, dim);
    return SC_OK;
}

static sc_status store__search(sc_db *db, const char *coll, const sc_search_request *req, const float *queries,
                               size_t n_queries, sc_record_list **out) {
    if (!db || !req || !out || (n_queries && !queries)) return SC_MISUSE;
    uint32_t limit = req->limit ? req->limit : 10;
    if ((uint64_t)limit + req->offset > 1000000)
        return store_fail(SC_INVALID, "limit + offset = %llu is too large (at most 1000000)",
                          (unsigned long long)limit + req->offset);
    uint32_t k = limit + req->offset;
    store_filter *f = NULL;
    sc_err err = {0};
    if (filter_compile_text(req->filter_json, &f, &err) != SC_OK) return store_fail_err(&err);
    pthread_rwlock_rdlock(&db->lock);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, coll, &c);
    float *q = NULL;
    index_hit *hits = NULL;
    uint32_t *n_hits = NULL, *slots = NULL;
    float *scores = NULL;
    roaring_bitmap_t *cand = NULL, *live = NULL;
    bool exact = false;
    size_t done_lists = 0;
    if (rc != SC_OK) goto done;
    int vi = store_coll_vec_index(c, req->vector_name);
    if (vi < 0) {
        rc = store_fail(SC_NOTFOUND, "vector name `%s` is not configured in collection `%s`",
                        req->vector_name && *req->vector_name ? req->vector_name : "(default)", c->name);
        goto done;
    }
    const store_vec *sv = &c->vecs[vi];
    q = malloc(sizeof(float) * sv->dim * (n_queries ? n_queries : 1));
    hits = malloc(sizeof *hits * (size_t)k * (n_queries ? n_queries : 1));
    n_hits = calloc(n_queries ? n_queries : 1, sizeof *n_hits);
    slots = malloc(sizeof *slots * k);
    scores = malloc(sizeof *scores * k);
    if (!q || !hits || !n_hits || !slots || !scores) {
        rc = store_fail(SC_NOMEM, "out of memory for %zu queries with limit %u", n_queries, k);
        goto done;
    }
    uint32_t dim_in = req->dim;
    for (size_t i = 0; i < n_queries; i++)
        if ((rc = store__check_query(sv, queries + i * dim_in, dim_in, i, q + i * sv->dim)) != SC_OK) goto done;
    if (f) {
        if (!(live = store_coll_live_bitmap(c))) {
            rc = store_fail(SC_NOMEM, "out of memory");
            goto done;
        }
        if ((rc = filter_plan(f, c->indexes, c->n_indexes, live, &cand, &exact)) != SC_OK) {
            rc = store_fail(rc, "planning the filter failed");
            goto done;
        }
    }
    store__scan_state state = {c, sv, f, cand, exact};
    /* Without deletions, absent vectors or filters, every row qualifies. */
    bool all = !f && sv->n_present == c->n_slots;
    index_scan_filter sf = {all ? NULL : store__accept, store__tie, &state};
    index_flat_params p = {
        .metric = store__metric(sv->distance),
        .k = k,
        .has_threshold = req->has_threshold,
        .threshold = req->score_threshold,
        .n_threads = req->n_threads ? req->n_threads : db->opt.n_threads,
    };
    if (c->n_slots < 20000) p.n_threads = 1; /* threads cost more than they save on small scans */
    if (!index_flat_search(index_kernels_best(), &p, q, n_queries, sv->data, c->n_slots, sv->dim, &sf, hits,
                           n_hits)) {
        rc = store_fail(SC_NOMEM, "out of memory for the search scratch space");
        goto done;
    }
    for (size_t i = 0; i < n_queries; i++) {
        size_t m = 0;
        for (uint32_t h = req->offset; h < n_hits[i]; h++) {
            slots[m] = hits[i * k + h].row;
            scores[m] = hits[i * k + h].score;
            m++;
        }
        sc_record_list *l = NULL;
        if ((rc = store_records_build(c, slots, scores, m, &req->with, &l)) != SC_OK) goto done;
        out[i] = l;
        done_lists++;
    }
done:
    pthread_rwlock_unlock(&db->lock);
    if (rc != SC_OK)
        for (size_t i = 0; i < done_lists; i++) {
            sc_record_list_free(out[i]);
            out[i] = NULL;
        }
    filter_free(f);
    if (cand) roaring_bitmap_free(cand);
    if (live) roaring_bitmap_free(live);
    free(q);
    free(hits);
    free(n_hits);
    free(slots);
    free(scores);
    return rc;
}

sc_status sc_points_search(sc_db *db, const char *coll, const sc_search_request *req, sc_record_list **out) {
    if (!req) return SC_MISUSE;
    return store__search(db, coll, req, req->query, 1, out);
}

sc_status sc_points_search_batch(sc_db *db, const char *coll, const sc_search_request *req, const float *queries,
                                 size_t n_queries, sc_record_list **out) {
    return store__search(db, coll, req, queries, n_queries, out);
}
