/*
** backend/embedded.c: the embedded store (include/semcode/store.h) as a
** backend. A thin layer: the interface's types are the store's own. The
** store keeps BM25 terms of each point's text itself and runs the
** code-aware ranking stage, so it reports ranking_stage; a hybrid query
** through the interface is fused here by backend.c (the repository uses the
** ranking stage instead).
*/
#include "backend/backend_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const backend_caps emb__caps = {
    .name = "embedded", .filtering = true, .hybrid = false, .server_keyword = true, .ranking_stage = true,
    .streaming = false, .transactions = true, .snapshots = false, .max_dim = SC_MAX_DIM,
    .distances = BACKEND_DISTANCES_ALL};

#define EMB_DB(b) ((sc_db *)(b)->impl)

/* The store's message of its last failure, recorded on b. */
static sc_status emb__fail(backend *b, sc_status rc) { return backend_fail(b, rc, "%s", sc_db_errmsg(EMB_DB(b))); }

static void emb__destroy(backend *b) { (void)b; /* the db is the caller's */ }

static sc_status emb__clone(const backend *b, backend **out, sc_err *err) {
    return backend_embedded_new(EMB_DB(b), out, err);
}

static sc_status emb__health(backend *b, char **info) {
    if (info) {
        char buf[600];
        snprintf(buf, sizeof buf, "embedded store in %s", sc_db_path(EMB_DB(b)));
        *info = util_strdup(buf);
    }
    return SC_OK;
}

static sc_status emb__coll_create(backend *b, const char *name, const backend_collection_params *p) {
    size_t nv = 1 + p->n_more_vectors;
    sc_vector_params *vp = calloc(nv, sizeof *vp);
    if (!vp) return backend_fail(b, SC_NOMEM, "out of memory");
    for (size_t i = 0; i < nv; i++)
        vp[i] = (sc_vector_params){.name = i ? p->more_vectors[i - 1] : p->vector_name, .dim = p->dim,
                                   .distance = p->distance,
                                   .hnsw = {.kind = i && p->more_vectors_flat ? SC_INDEX_KIND_FLAT : SC_INDEX_KIND_AUTO}};
    sc_status rc = sc_collection_create(EMB_DB(b), name, vp, nv);
    free(vp);
    if (rc == SC_OK && p->tenant_field) rc = sc_field_index_create(EMB_DB(b), name, p->tenant_field, SC_FIELD_TYPE_KEYWORD);
    for (size_t i = 0; rc == SC_OK && i < p->n_keyword_fields; i++)
        rc = sc_field_index_create(EMB_DB(b), name, p->keyword_fields[i], SC_FIELD_TYPE_KEYWORD);
    for (size_t i = 0; rc == SC_OK && i < p->n_integer_fields; i++)
        rc = sc_field_index_create(EMB_DB(b), name, p->integer_fields[i], SC_FIELD_TYPE_INTEGER);
    for (size_t i = 0; rc == SC_OK && i < p->n_datetime_fields; i++)
        rc = sc_field_index_create(EMB_DB(b), name, p->datetime_fields[i], SC_FIELD_TYPE_DATETIME);
    return rc == SC_OK ? SC_OK : emb__fail(b, rc);
}

static bool emb__coll_exists(backend *b, const char *name) { return sc_collection_exists(EMB_DB(b), name); }

static sc_status emb__coll_delete(backend *b, const char *name) {
    sc_status rc = sc_collection_delete(EMB_DB(b), name);
    return rc == SC_OK ? SC_OK : emb__fail(b, rc);
}

static sc_status emb__coll_list(backend *b, char ***out, size_t *n_out) {
    sc_status rc = sc_collection_list(EMB_DB(b), out, n_out);
    return rc == SC_OK ? SC_OK : emb__fail(b, rc);
}

static sc_status emb__coll_info(backend *b, const char *name, backend_collection_info *out) {
    sc_collection_info ci;
    sc_status rc = sc_collection_info_get(EMB_DB(b), name, &ci);
    if (rc != SC_OK) return emb__fail(b, rc);
    out->n_points = ci.n_points;
    if (ci.n_vector_params) {
        out->dim = ci.vectors[0].dim;
        out->distance = ci.vectors[0].distance;
    }
    for (size_t i = 0; i < ci.n_vector_params && out->n_vectors < BACKEND_INFO_VECTORS; i++) {
        snprintf(out->vectors[out->n_vectors].name, sizeof out->vectors[0].name, "%s", ci.vectors[i].name);
        out->vectors[out->n_vectors++].dim = ci.vectors[i].dim;
    }
    out->keyword = true;
    snprintf(out->status, sizeof out->status, "green");
    sc_collection_info_free(&ci);
    return SC_OK;
}

static sc_status emb__coll_optimize(backend *b, const char *name) {
    sc_status rc = sc_collection_optimize(EMB_DB(b), name);
    return rc == SC_OK ? SC_OK : emb__fail(b, rc);
}

static sc_status emb__upsert(backend *b, const char *coll, const sc_point_in *pts, size_t n) {
    sc_status rc = sc_points_upsert(EMB_DB(b), coll, pts, n);
    return rc == SC_OK ? SC_OK : emb__fail(b, rc);
}

static sc_status emb__del(backend *b, const char *coll, const sc_point_id *ids, size_t n) {
    sc_status rc = sc_points_delete(EMB_DB(b), coll, ids, n, NULL);
    return rc == SC_OK ? SC_OK : emb__fail(b, rc);
}

static sc_status emb__del_filter(backend *b, const char *coll, const char *filter_json) {
    uint64_t nd = 0;
    sc_status rc = sc_points_delete_by_filter(EMB_DB(b), coll, filter_json, &nd);
    return rc == SC_OK ? SC_OK : emb__fail(b, rc);
}

static sc_status emb__get(backend *b, const char *coll, const sc_point_id *ids, size_t n, const sc_with *with,
                          sc_record_list **out) {
    sc_status rc = sc_points_get(EMB_DB(b), coll, ids, n, with, out);
    return rc == SC_OK ? SC_OK : emb__fail(b, rc);
}

static sc_status emb__scroll(backend *b, const char *coll, const sc_scroll_request *req, sc_record_list **out,
                             sc_point_id *next, bool *has_next) {
    sc_status rc = sc_points_scroll(EMB_DB(b), coll, req, out, next, has_next);
    return rc == SC_OK ? SC_OK : emb__fail(b, rc);
}

static sc_status emb__count(backend *b, const char *coll, const char *filter_json, uint64_t *out) {
    sc_status rc = sc_points_count(EMB_DB(b), coll, filter_json, out);
    return rc == SC_OK ? SC_OK : emb__fail(b, rc);
}

static sc_status emb__search(backend *b, const char *coll, const sc_search_request *req, sc_record_list **out) {
    sc_status rc = sc_points_search(EMB_DB(b), coll, req, out);
    return rc == SC_OK ? SC_OK : emb__fail(b, rc);
}

static const backend_ops emb__ops = {
    .destroy = emb__destroy, .clone = emb__clone, .health = emb__health, .coll_create = emb__coll_create,
    .coll_exists = emb__coll_exists, .coll_delete = emb__coll_delete, .coll_list = emb__coll_list,
    .coll_info = emb__coll_info, .coll_optimize = emb__coll_optimize, .upsert = emb__upsert, .del = emb__del,
    .del_filter = emb__del_filter, .get = emb__get, .scroll = emb__scroll, .count = emb__count,
    .search = emb__search, .hybrid = NULL};

sc_status backend_embedded_new(sc_db *db, backend **out, sc_err *err) {
    backend *b = calloc(1, sizeof *b);
    if (!b) return sc_err_set(err, SC_NOMEM, "out of memory making the embedded backend");
    b->ops = &emb__ops;
    b->caps = &emb__caps;
    b->impl = db;
    snprintf(b->location, sizeof b->location, "%s", sc_db_path(db));
    *out = b;
    return SC_OK;
}
