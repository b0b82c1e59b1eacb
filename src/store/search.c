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
    int oom;                      /* a payload could not be parsed (atomic: scans may run on threads) */
    int plan;                     /* sc_search_plans counter the search counts in (index of db->plans), -1 none */
} store__scan_state;

/* The filter on a row's payload; a payload that cannot be parsed for lack
** of memory fails the search (oom) instead of reading as "no payload". */
static bool store__match(store__scan_state *s, uint32_t row) {
    const json_t *payload = NULL;
    if (store_slot_payload_get(s->c, row, &payload) != SC_OK) {
        __atomic_store_n(&s->oom, 1, __ATOMIC_RELAXED);
        return false;
    }
    store_slot_ref at;
    filter_point pt = store_slot_point(s->c, row, &at);
    return filter_match_point(s->f, &pt, payload);
}

/* Rows a planned search may return: a planned candidate that passes the
** filter (the filter is skipped when the plan is exact). Presence and
** liveness are the callers' checks; the sparse and multivector scorers do
** their own. */
static bool store__accept_planned(void *p, uint32_t row) {
    store__scan_state *s = p;
    if (s->cand && !roaring_bitmap_contains(s->cand, row)) return false;
    if (s->f && !s->exact) return store__match(s, row);
    return true;
}

/* Dense rows: has the vector scanned, then store__accept_planned. */
static bool store__accept(void *p, uint32_t row) {
    store__scan_state *s = p;
    return store_bit_get(s->sv->present, row) && store__accept_planned(s, row);
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
    if (dim != sv->dim) /* Qdrant's words first */
        return store_fail(SC_INVALID, "Vector dimension error: expected dim: %u, got %u (query vector `%s`)", sv->dim,
                          dim, vname);
    for (uint32_t d = 0; d < dim; d++)
        if (!isfinite(in[d]))
            return store_fail(SC_INVALID, "query %zu: component %u of vector `%s` is %s", qi, d, vname,
                              isnan(in[d]) ? "NaN" : "infinite");
    memcpy(q, in, sizeof(float) * dim);
    if (sv->distance == SC_DISTANCE_COSINE) index_normalize(q, dim);
    return SC_OK;
}

/* Is hit a better than hit b (score by the metric's direction, then id)? */
static int store__hit_cmp(const store__scan_state *st, bool higher, const index_hit *a, const index_hit *b) {
    if (a->score != b->score) return (higher ? a->score > b->score : a->score < b->score) ? -1 : 1;
    return sc_point_id_cmp(&st->c->ids[a->row], &st->c->ids[b->row]);
}

/* Sort hits best-first with ties by id (insertion sort: lists are short). */
static void store__hits_sort(const store__scan_state *st, bool higher, index_hit *h, uint32_t n) {
    for (uint32_t i = 1; i < n; i++) {
        index_hit x = h[i];
        uint32_t j = i;
        while (j > 0 && store__hit_cmp(st, higher, &x, &h[j - 1]) < 0) {
            h[j] = h[j - 1];
            j--;
        }
        h[j] = x;
    }
}

/* Drop hits beyond the threshold (hits are sorted best-first). */
static uint32_t store__hits_threshold(const sc_search_request *req, bool higher, const index_hit *h, uint32_t n) {
    if (!req->has_threshold) return n;
    uint32_t m = 0;
    while (m < n && (higher ? h[m].score >= req->score_threshold : h[m].score <= req->score_threshold)) m++;
    return m;
}

/* Exact top-k over n explicit rows (ascending or not): those the scan
** state accepts are scored and the best k kept in out, best first. */
static void store__search_rows(const store__scan_state *st, index_metric metric, const float *q, uint32_t k,
                               const uint32_t *rows, size_t n, index_hit *out, uint32_t *n_out) {
    const index_kernels *kern = index_kernels_best();
    bool higher = metric == INDEX_METRIC_DOT;
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t row = rows[i];
        if (row >= st->c->n_slots || !store__accept((void *)st, row)) continue;
        const float *v = st->sv->data + (size_t)row * st->sv->dim;
        float sc = metric == INDEX_METRIC_DOT ? kern->dot(q, v, st->sv->dim)
                   : metric == INDEX_METRIC_L2 ? sqrtf(kern->l2sq(q, v, st->sv->dim))
                                              : kern->l1(q, v, st->sv->dim);
        index_hit h = {sc, row};
        /* Partial selection: keep the best k by insertion into out. */
        if (m == k && store__hit_cmp(st, higher, &h, &out[m - 1]) >= 0) continue;
        uint32_t j = m < k ? m++ : k - 1;
        while (j > 0 && store__hit_cmp(st, higher, &h, &out[j - 1]) < 0) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = h;
    }
    *n_out = m;
}

/* Exact top-k over an explicit candidate set (a selective filter): only the
** candidates' distances are computed. Returns false for memory. */
static bool store__search_candidates(const store__scan_state *st, index_metric metric, const float *q, uint32_t k,
                                     index_hit *out, uint32_t *n_out) {
    uint64_t card = roaring_bitmap_get_cardinality(st->cand);
    uint32_t *rows = malloc(sizeof *rows * (card ? card : 1));
    if (!rows) return false;
    roaring_bitmap_to_uint32_array(st->cand, rows);
    store__search_rows(st, metric, q, k, rows, (size_t)card, out, n_out);
    free(rows);
    return true;
}

/* The exact top-k of a large tail (store/tailq.c): the accepted coded rows
** ranked by their sign bits and int8 codes, the best max(64, 8k) of them
** and every row without a code scored exactly. False when it does not
** apply (small tail, metric, memory): the caller scores all exactly. */
static bool store__tail_two_pass(const store__scan_state *st, index_metric metric, const float *q, uint32_t k,
                                 const uint32_t *tail, size_t n_tail, index_hit *out, uint32_t *n_out) {
    uint32_t m = k < 8 ? 64 : k * 8, *rows = NULL;
    /* tail rows are present: without a filter every one is accepted */
    index_scan_filter acc = {st->f || st->cand ? store__accept : NULL, NULL, (void *)st};
    size_t nr = 0;
    bool ok = store_tailq_select(st->sv, metric, q, m, tail, n_tail, &acc, &rows, &nr);
    if (ok) store__search_rows(st, metric, q, k, rows, nr, out, n_out);
    free(rows);
    return ok;
}

/* Add the flat tail's exact top-k to the graph's hits h[0..*n) (room for
** 2k): the merged best k, sorted, in h. */
static void store__merge_tail(const store__scan_state *st, index_metric metric, const float *q, uint32_t k,
                              const uint32_t *tail, size_t n_tail, index_hit *h, uint32_t *n) {
    uint32_t nt = 0;
    if (!store__tail_two_pass(st, metric, q, k, tail, n_tail, h + *n, &nt))
        store__search_rows(st, metric, q, k, tail, n_tail, h + *n, &nt);
    uint32_t all = *n + nt;
    store__hits_sort(st, metric == INDEX_METRIC_DOT, h, all);
    *n = all < k ? all : k;
}

/* k = limit + offset of a request; SC_INVALID when too large. */
static sc_status store__request_k(const sc_search_request *req, uint32_t *k) {
    uint32_t limit = req->limit ? req->limit : 10;
    if ((uint64_t)limit + req->offset > 1000000)
        return store_fail(SC_INVALID, "limit + offset = %llu is too large (at most 1000000)",
                          (unsigned long long)limit + req->offset);
    *k = limit + req->offset;
    return SC_OK;
}

/* The payload-index plan of filter f on c: the candidate bitmap (NULL =
** no narrowing) and whether it is exact; *live is the live-slot bitmap it
** was made from (both owned by the caller). No filter: nothing to do. */
static sc_status store__plan(const store_coll *c, const store_filter *f, roaring_bitmap_t **live,
                             roaring_bitmap_t **cand, bool *exact) {
    if (!f) return SC_OK;
    if (!(*live = store_coll_live_bitmap(c))) return store_fail(SC_NOMEM, "out of memory");
    sc_status rc = filter_plan(f, c->indexes, store_coll_plan_indexes(c), *live, cand, exact);
    return rc == SC_OK ? SC_OK : store_fail(rc, "planning the filter failed");
}

/* The opening of every search: req's k, its filter compiled (*f, owned:
** filter_free), db's read lock taken (and the ANN lock after it when ann),
** collection coll looked up (*c) and the filter bound to it. On SC_OK the
** caller holds the lock(s) and *f; on an error nothing is held. */
static sc_status store__search_open(sc_db *db, const char *coll, const sc_search_request *req, bool ann, uint32_t *k,
                                    store_filter **f, store_coll **c) {
    if (store__request_k(req, k) != SC_OK) return SC_INVALID;
    sc_err err = {0};
    *f = NULL;
    if (filter_compile_text(req->filter_json, f, &err) != SC_OK) return store_fail_err(&err);
    pthread_rwlock_rdlock(&db->lock);
    if (ann) pthread_rwlock_rdlock(&db->ann_lock); /* graphs and the flat tail stay consistent (ann_bg.c) */
    sc_status rc = store_coll_get(db, coll, c);
    if (rc == SC_OK) rc = store_filter_bind(*c, *f);
    if (rc != SC_OK) {
        if (ann) pthread_rwlock_unlock(&db->ann_lock);
        pthread_rwlock_unlock(&db->lock);
        filter_free(*f);
        *f = NULL;
    }
    return rc;
}

static sc_status store__search(sc_db *db, const char *coll, const sc_search_request *req, const float *queries,
                               size_t n_queries, sc_record_list **out) {
    if (!db || !req || !out || (n_queries && !queries)) return store_fail(SC_MISUSE, "search: NULL argument");
    uint32_t k = 0;
    store_filter *f = NULL;
    store_coll *c = NULL;
    sc_status rc = store__search_open(db, coll, req, true, &k, &f, &c);
    if (rc != SC_OK) return rc;
    float *q = NULL;
    uint32_t *tail = NULL;
    index_hit *hits = NULL;
    uint32_t *n_hits = NULL, *slots = NULL;
    float *scores = NULL;
    roaring_bitmap_t *cand = NULL, *live = NULL;
    bool exact = false;
    size_t done_lists = 0;
    int vi = store_coll_vec_index(c, req->vector_name);
    if (vi < 0 && store_coll_sparse_index(c, req->vector_name) >= 0) {
        rc = store_fail(SC_INVALID, "vector `%s` of collection `%s` is sparse: query it with indices and values",
                        req->vector_name, c->name);
        goto done;
    }
    if (vi < 0) {
        rc = store_fail(SC_NOTFOUND, "vector name `%s` is not configured in collection `%s`",
                        req->vector_name && *req->vector_name ? req->vector_name : "(default)", c->name);
        goto done;
    }
    const store_vec *sv = &c->vecs[vi];
    if (sv->multivec || req->n_rows) { /* sc_points_search sends single multivector queries elsewhere */
        rc = store_fail(SC_INVALID, sv->multivec ? "vector `%s` of collection `%s` is a multivector: search it with "
                                                   "one query at a time"
                                                 : "vector `%s` of collection `%s` is not a multivector: a query of "
                                                   "several rows needs one",
                        *sv->name ? sv->name : "(default)", c->name);
        goto done;
    }
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
    if ((rc = store__plan(c, f, &live, &cand, &exact)) != SC_OK) goto done;
    store__scan_state state = {c, sv, f, cand, exact, 0, -1};
    index_metric metric = store__metric(sv->distance);
    bool higher = metric == INDEX_METRIC_DOT;
    /* Plan: how many points can the filter admit? */
    uint64_t admitted = cand ? roaring_bitmap_get_cardinality(cand) : sv->n_present;
    /* Exact below full_scan_threshold; with an index-estimated filter, also
    ** when scoring the admitted rows is cheaper than a filtered walk. */
    uint32_t ef_eff = req->hnsw_ef ? req->hnsw_ef : sv->hnsw.ef;
    if (ef_eff < k) ef_eff = k;
    /* A graph that holds less than half the rows (background indexing just
    ** started) would leave most of the work to the single-threaded tail scan,
    ** unless most of the tail has codes for the ranked tail scan (tailq.c). */
    uint64_t n_coded = sv->tailq.n_coded, n_plain = sv->n_present - sv->n_indexed;
    n_plain = n_plain > n_coded ? n_plain - n_coded : 0;
    bool tail_fast = n_coded >= STORE_TAILQ_MIN && n_plain * 2 <= sv->n_present;
    bool use_ann = sv->ann && (sv->n_indexed * 2 >= sv->n_present || tail_fast) && !req->exact &&
                   admitted >= sv->hnsw.full_scan_threshold &&
                   !(cand && hnsw_prefer_exact(admitted, sv->n_present, ef_eff, sv->hnsw.m));
    bool use_list = !use_ann && cand && admitted < c->n_slots / 8;
    int plan = use_ann ? (f ? 1 : 0) : use_list ? 2 : 3;
    __atomic_fetch_add(&db->plans[plan], (uint64_t)n_queries, __ATOMIC_RELAXED);
    if (use_ann) {
        /* Rows not linked yet (background indexing): scored exactly, merged. */
        size_t n_tail = 0;
        if (sv->n_indexed < sv->n_present) {
            uint64_t want = sv->n_present - sv->n_indexed;
            index_hit *wide = realloc(hits, sizeof *hits * (size_t)k * 2 * (n_queries ? n_queries : 1));
            if (wide) hits = wide;
            if (!wide || !(tail = malloc(sizeof *tail * want))) {
                rc = store_fail(SC_NOMEM, "out of memory for the unindexed tail of %llu rows",
                                (unsigned long long)want);
                goto done;
            }
            n_tail = store_ann_tail(c, sv, tail, want);
        }
        index_scan_filter af = {store__accept, store__tie, &state};
        hnsw_search_opts o = {
            .ef = req->hnsw_ef,
            .filter = f ? &af : NULL,
            .use_codes = sv->quant.kind != SC_QUANT_KIND_NONE && !req->quant_ignore && hnsw_index_quant(sv->ann),
            .oversample = req->oversampling >= 1.0f ? req->oversampling : sv->quant.oversampling,
        };
        if (o.oversample < 1.0f) o.oversample = 1.0f;
        size_t stride = n_tail ? 2 * (size_t)k : k; /* hits of query i start at i * k after compaction */
        for (size_t i = 0; i < n_queries; i++) {
            sc_err herr = {0};
            index_hit *h = hits + i * stride;
            if ((rc = hnsw_index_search(sv->ann, q + i * sv->dim, k, &o, h, &n_hits[i], &herr)) != SC_OK) {
                rc = store_fail_err(&herr);
                goto done;
            }
            if (n_tail) store__merge_tail(&state, metric, q + i * sv->dim, k, tail, n_tail, h, &n_hits[i]);
            else store__hits_sort(&state, higher, h, n_hits[i]);
            n_hits[i] = store__hits_threshold(req, higher, h, n_hits[i]);
        }
        if (stride != k) /* compact to the k-per-query layout the records below read */
            for (size_t i = 1; i < n_queries; i++) memmove(hits + i * k, hits + i * stride, sizeof *hits * k);
    } else if (use_list) {
        for (size_t i = 0; i < n_queries; i++) {
            if (!store__search_candidates(&state, metric, q + i * sv->dim, k, hits + i * k, &n_hits[i])) {
                rc = store_fail(SC_NOMEM, "out of memory for the search scratch space");
                goto done;
            }
            n_hits[i] = store__hits_threshold(req, higher, hits + i * k, n_hits[i]);
        }
    } else {
        /* Without deletions, absent vectors or filters, every row qualifies. */
        bool all = !f && sv->n_present == c->n_slots;
        index_scan_filter sf = {all ? NULL : store__accept, store__tie, &state};
        index_flat_params p = {
            .metric = metric,
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
    }
    if (__atomic_load_n(&state.oom, __ATOMIC_RELAXED)) {
        rc = store_fail(SC_NOMEM, "out of memory reading payloads");
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
    pthread_rwlock_unlock(&db->ann_lock);
    pthread_rwlock_unlock(&db->lock);
    free(tail);
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

/* Keyword rows: live, planned candidate, passes the filter. */
static bool store__accept_kw(void *p, uint32_t row) {
    store__scan_state *s = p;
    return store_bit_get(s->c->live, row) && store__accept_planned(s, row);
}

/* The hits of one kind of search (keyword, sparse) once the filter is
** planned: at most k, best first, within req's threshold, admitted by st;
** st->plan names the sc_search_plans counter to count it in (-1: none). */
typedef sc_status (*store__hits_fn)(store_coll *c, const sc_search_request *req, store__scan_state *st, uint32_t k,
                                    index_hit *hits, uint32_t *n);

/* A search answered by fn: the filter compiled and planned under the read
** lock, fn's hits past the offset turned into records. */
static sc_status store__search_by(sc_db *db, const char *coll, const sc_search_request *req, store__hits_fn fn,
                                  sc_record_list **out) {
    uint32_t k = 0;
    store_filter *f = NULL;
    store_coll *c = NULL;
    sc_status rc = store__search_open(db, coll, req, false, &k, &f, &c);
    if (rc != SC_OK) return rc;
    roaring_bitmap_t *cand = NULL, *live = NULL;
    index_hit *hits = NULL;
    uint32_t *slots = NULL;
    float *scores = NULL;
    bool exact = false;
    if ((rc = store__plan(c, f, &live, &cand, &exact)) != SC_OK) goto done;
    hits = malloc(sizeof *hits * k);
    slots = malloc(sizeof *slots * k);
    scores = malloc(sizeof *scores * k);
    if (!hits || !slots || !scores) {
        rc = store_fail(SC_NOMEM, "out of memory for a search with limit %u", k);
        goto done;
    }
    store__scan_state state = {c, NULL, f, cand, exact, 0, -1};
    uint32_t n = 0;
    if ((rc = fn(c, req, &state, k, hits, &n)) != SC_OK) goto done;
    if (state.plan >= 0) __atomic_fetch_add(&db->plans[state.plan], 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&state.oom, __ATOMIC_RELAXED)) {
        rc = store_fail(SC_NOMEM, "out of memory reading payloads");
        goto done;
    }
    size_t m = 0;
    for (uint32_t h = req->offset; h < n; h++) {
        slots[m] = hits[h].row;
        scores[m++] = hits[h].score;
    }
    rc = store_records_build(c, slots, scores, m, &req->with, out);
done:
    pthread_rwlock_unlock(&db->lock);
    filter_free(f);
    if (cand) roaring_bitmap_free(cand);
    if (live) roaring_bitmap_free(live);
    free(hits);
    free(slots);
    free(scores);
    return rc;
}

/* BM25 hits over the points' texts. */
static sc_status store__hits_text(store_coll *c, const sc_search_request *req, store__scan_state *st, uint32_t k,
                                  index_hit *hits, uint32_t *n) {
    sc_status rc = store_kw_search(c, req->text, store__accept_kw, st, store__tie, k, hits, n);
    if (rc == SC_OK && req->has_threshold) { /* best first: cut at the first below the threshold */
        uint32_t m = 0;
        while (m < *n && hits[m].score >= req->score_threshold) m++;
        *n = m;
    }
    return rc;
}

/* ==== Sparse search ==== */

/* The sparse vector named by req (set error when missing or dense). */
static sc_status store__sparse_named(const store_coll *c, const sc_search_request *req, const store_sparse **out) {
    const char *name = req->vector_name ? req->vector_name : "";
    int k = store_coll_sparse_index(c, name);
    if (k >= 0) {
        *out = &c->sparse[k];
        return SC_OK;
    }
    if (!*name && c->n_sparse) /* sparse vectors always have a name */
        return store_fail(SC_INVALID, "a sparse query must name its sparse vector (collection `%s` has `%s`%s)",
                          c->name, c->sparse[0].name, c->n_sparse > 1 ? " and others" : "");
    if (store_coll_vec_index(c, name) >= 0)
        return store_fail(SC_INVALID, "vector `%s` of collection `%s` is dense: a sparse query needs a sparse vector",
                          *name ? name : "(default)", c->name);
    return store_fail(SC_NOTFOUND, "sparse vector name `%s` is not configured in collection `%s`%s",
                      *name ? name : "(default)", c->name,
                      c->n_sparse ? "" : " (it has no sparse vectors)");
}

/* Exact sparse hits (sparse_search.c): a filter that the payload indexes
** narrow below the vector's full_scan_threshold has its points scored one
** by one, anything else walks the posting lists (same hits either way). */
static sc_status store__hits_sparse(store_coll *c, const sc_search_request *req, store__scan_state *st, uint32_t k,
                                    index_hit *hits, uint32_t *n) {
    const store_sparse *sp = NULL;
    store_sparse_query q = {0};
    sc_status rc = store__sparse_named(c, req, &sp);
    if (rc == SC_OK) rc = store_sparse_query_prepare(c, sp, req->sparse, &q);
    if (rc != SC_OK) return rc;
    /* a sparse query reaches only points with the vector (so live ones) */
    index_scan_filter sf = {st->f ? store__accept_planned : NULL, store__tie, st};
    uint32_t fst = sp->full_scan_threshold ? sp->full_scan_threshold : SC_SPARSE_FULL_SCAN_THRESHOLD;
    bool one_by_one = st->cand && roaring_bitmap_get_cardinality(st->cand) < fst;
    st->plan = one_by_one ? 5 : 4; /* sparse_list, sparse_index */
    if (!store_sparse_topk(c, sp, &q, &sf, one_by_one ? st->cand : NULL, k, req->has_threshold,
                           req->score_threshold, hits, n))
        rc = store_fail(SC_NOMEM, "out of memory for the sparse search scratch space");
    store_sparse_query_free(&q);
    return rc;
}

/* ==== Multivector search ==== */

/* Exact MAX_SIM hits of a multivector query (multivec.c): the query's rows
** checked and prepared as stored rows are (normalised for Cosine). */
static sc_status store__hits_multi(store_coll *c, const sc_search_request *req, store__scan_state *st, uint32_t k,
                                   index_hit *hits, uint32_t *n) {
    int vi = store_coll_vec_index(c, req->vector_name);
    if (vi < 0 || !c->vecs[vi].multivec) /* the collection changed since sc_points_search looked */
        return store_fail(SC_NOTFOUND, "multivector `%s` is not configured in collection `%s`",
                          req->vector_name && *req->vector_name ? req->vector_name : "(default)", c->name);
    const store_vec *sv = &c->vecs[vi];
    uint32_t rows = req->n_rows ? req->n_rows : 1;
    if (rows > SC_MAX_MULTIVEC_ROWS)
        return store_fail(SC_INVALID, "query has %u rows, at most %u allowed", rows, SC_MAX_MULTIVEC_ROWS);
    float *q = malloc(sizeof(float) * sv->dim * rows);
    if (!q) return store_fail(SC_NOMEM, "out of memory for a query of %u rows", rows);
    sc_status rc = SC_OK;
    for (uint32_t r = 0; r < rows && rc == SC_OK; r++)
        rc = store__check_query(sv, req->query + (size_t)r * req->dim, req->dim, r, q + (size_t)r * sv->dim);
    /* presence is checked by the scorer */
    index_scan_filter sf = {st->f ? store__accept_planned : NULL, store__tie, st};
    st->plan = st->cand && roaring_bitmap_get_cardinality(st->cand) < sv->n_present ? 2 : 3; /* exact_list, exact_scan */
    if (rc == SC_OK && !store_mvec_topk(c, sv, q, rows, &sf, st->cand, k, req->has_threshold, req->score_threshold,
                                        hits, n))
        rc = store_fail(SC_NOMEM, "out of memory for the multivector search scratch space");
    free(q);
    return rc;
}

/* Whether the vector a request names is a multivector (a lock of its own:
** store__hits_multi checks again under the search's). */
static bool store__names_multivec(sc_db *db, const char *coll, const char *name) {
    pthread_rwlock_rdlock(&db->lock);
    store_coll *c = store_coll_find(db, coll);
    int vi = c ? store_coll_vec_index(c, name) : -1;
    bool multi = vi >= 0 && c->vecs[vi].multivec;
    pthread_rwlock_unlock(&db->lock);
    return multi;
}

sc_status sc_points_search(sc_db *db, const char *coll, const sc_search_request *req, sc_record_list **out) {
    if (!req || !db || !out) return store_fail(SC_MISUSE, "sc_points_search: NULL argument");
    if (req->sparse) return store__search_by(db, coll, req, store__hits_sparse, out);
    if (!req->query && req->text) return store__search_by(db, coll, req, store__hits_text, out);
    if (req->query && store__names_multivec(db, coll, req->vector_name))
        return store__search_by(db, coll, req, store__hits_multi, out);
    return store__search(db, coll, req, req->query, 1, out);
}

sc_status sc_points_search_batch(sc_db *db, const char *coll, const sc_search_request *req, const float *queries,
                                 size_t n_queries, sc_record_list **out) {
    if (req && req->sparse)
        return store_fail(SC_INVALID, "sc_points_search_batch takes dense queries; search sparse ones one by one");
    return store__search(db, coll, req, queries, n_queries, out);
}
