/*
** backend/backend.c: dispatch of the backend interface (backend.h) to a
** backend's operations, the failure message on the handle, and the
** client-side reciprocal-rank fusion used when a backend cannot fuse a
** hybrid query itself.
*/
#include "backend/backend_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sc_status backend_fail(backend *b, sc_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->errmsg, sizeof b->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

sc_record_list *backend_records_new(size_t n) {
    sc_record_list *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    if (n && !(l->items = calloc(n, sizeof *l->items))) {
        free(l);
        return NULL;
    }
    return l;
}

sc_status backend_clone(const backend *b, backend **out, sc_err *err) { return b->ops->clone(b, out, err); }

void backend_free(backend *b) {
    if (!b) return;
    b->ops->destroy(b);
    free(b);
}

const backend_caps *backend_get_caps(const backend *b) { return b->caps; }
const char *backend_errmsg(const backend *b) { return b->errmsg[0] ? b->errmsg : "not an error"; }
const char *backend_location(const backend *b) { return b->location; }
const char *backend_collection(const backend *b, const char *dflt) { return b->collection ? b->collection : dflt; }
backend_stats backend_get_stats(const backend *b) { return b->stats; }

sc_status backend_health(backend *b, char **info) {
    if (info) *info = NULL;
    return b->ops->health(b, info);
}

sc_status backend_collection_create(backend *b, const char *name, const backend_collection_params *p) {
    if (p->dim == 0 || p->dim > b->caps->max_dim)
        return backend_fail(b, SC_INVALID, "dimension %u of vector '%s' is over the %s backend's largest (%u)",
                            p->dim, p->vector_name, b->caps->name, b->caps->max_dim);
    if (!(b->caps->distances & (1u << p->distance)))
        return backend_fail(b, SC_UNSUPPORTED, "the %s backend has no %s distance", b->caps->name,
                            sc_distance_name(p->distance));
    return b->ops->coll_create(b, name, p);
}

bool backend_collection_exists(backend *b, const char *name) { return b->ops->coll_exists(b, name); }
sc_status backend_collection_delete(backend *b, const char *name) { return b->ops->coll_delete(b, name); }
sc_status backend_collection_list(backend *b, char ***out, size_t *n_out) { return b->ops->coll_list(b, out, n_out); }
sc_status backend_collection_info_get(backend *b, const char *name, backend_collection_info *out) {
    memset(out, 0, sizeof *out);
    return b->ops->coll_info(b, name, out);
}
sc_status backend_collection_optimize(backend *b, const char *name) { return b->ops->coll_optimize(b, name); }

sc_status backend_points_upsert(backend *b, const char *coll, const sc_point_in *pts, size_t n) {
    return n ? b->ops->upsert(b, coll, pts, n) : SC_OK;
}
sc_status backend_points_delete(backend *b, const char *coll, const sc_point_id *ids, size_t n) {
    return n ? b->ops->del(b, coll, ids, n) : SC_OK;
}
sc_status backend_points_delete_by_filter(backend *b, const char *coll, const char *filter_json) {
    return b->ops->del_filter(b, coll, filter_json);
}
sc_status backend_points_get(backend *b, const char *coll, const sc_point_id *ids, size_t n, const sc_with *with,
                             sc_record_list **out) {
    return b->ops->get(b, coll, ids, n, with, out);
}
sc_status backend_points_scroll(backend *b, const char *coll, const sc_scroll_request *req, sc_record_list **out,
                                sc_point_id *next, bool *has_next) {
    return b->ops->scroll(b, coll, req, out, next, has_next);
}
sc_status backend_points_count(backend *b, const char *coll, const char *filter_json, uint64_t *out) {
    return b->ops->count(b, coll, filter_json, out);
}
sc_status backend_search(backend *b, const char *coll, const sc_search_request *req, sc_record_list **out) {
    return b->ops->search(b, coll, req, out);
}

/* ==== Hybrid fused on the client ==== */

#define BACKEND_RRF_K 60.0

/* Position of id in l (n = not there). */
static size_t backend__find(const sc_record_list *l, sc_point_id id) {
    for (size_t i = 0; i < l->n; i++)
        if (sc_point_id_cmp(&l->items[i].id, &id) == 0) return i;
    return l->n;
}

static int backend__by_score(const void *x, const void *y) {
    const sc_record *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return sc_point_id_cmp(&a->id, &b->id);
}

/* Move record src into dst (src left empty). */
static void backend__take(sc_record *dst, sc_record *src) {
    *dst = *src;
    memset(src, 0, sizeof *src);
}

sc_status backend_search_hybrid(backend *b, const char *coll, const sc_search_request *dense, const char *text,
                                uint32_t prefetch, sc_record_list **out) {
    if (b->ops->hybrid) return b->ops->hybrid(b, coll, dense, text, prefetch, out);
    sc_search_request leg = *dense;
    leg.limit = prefetch;
    leg.has_threshold = false;
    sc_record_list *l[2] = {NULL, NULL};
    sc_status rc = b->ops->search(b, coll, &leg, &l[0]);
    leg.query = NULL;
    leg.text = text;
    if (rc == SC_OK) rc = b->ops->search(b, coll, &leg, &l[1]);
    sc_record_list *f = rc == SC_OK ? backend_records_new(l[0]->n + l[1]->n) : NULL;
    if (rc == SC_OK && !f) rc = backend_fail(b, SC_NOMEM, "out of memory fusing a hybrid search");
    for (int k = 0; rc == SC_OK && k < 2; k++)
        for (size_t i = 0; i < l[k]->n; i++) {
            size_t j = backend__find(f, l[k]->items[i].id);
            if (j == f->n) {
                backend__take(&f->items[f->n++], &l[k]->items[i]);
                f->items[j].score = 0;
            }
            f->items[j].score += (float)(1.0 / (BACKEND_RRF_K + (double)i + 1.0));
        }
    sc_record_list_free(l[0]);
    sc_record_list_free(l[1]);
    if (rc != SC_OK) {
        sc_record_list_free(f);
        return rc;
    }
    if (f->n) qsort(f->items, f->n, sizeof *f->items, backend__by_score);
    uint32_t limit = dense->limit ? dense->limit : 10;
    size_t keep = 0;
    while (keep < f->n && keep < limit && !(dense->has_threshold && f->items[keep].score < dense->score_threshold))
        keep++;
    /* the first `keep` records move to the answer; the rest go with f */
    sc_record_list *res = backend_records_new(keep);
    if (!res) {
        sc_record_list_free(f);
        return backend_fail(b, SC_NOMEM, "out of memory fusing a hybrid search");
    }
    for (size_t i = 0; i < keep; i++) backend__take(&res->items[i], &f->items[i]);
    res->n = keep;
    sc_record_list_free(f);
    *out = res;
    return SC_OK;
}
