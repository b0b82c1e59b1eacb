/*
** records/store.c: where the records of a handle are kept, one set of
** calls for writer.c and query.c over either store: the embedded store
** (sc_db: collection "records" or ".<tenant>.records") or a store backend
** (src/backend/, Qdrant: collection "<code collection>_records").
**
** DESIGN
** - On a backend the records of every tenant share one collection, as
**   Qdrant advises for many small tenants: the payload field "tenant" has
**   a keyword index marked is_tenant (the server keeps each tenant's points
**   together), and every search, scroll and count is ANDed here with
**   tenant = the handle's, so no caller can forget it. Gets and deletes go
**   by point id, and a record's point id hashes its tenant in.
** - The same vectors (content with a graph, summary and metadata scanned
**   exactly), BM25 terms (the backend's sparse vector with the IDF
**   modifier) and payload indexes (plus a datetime index on "date") on
**   both, so a filter means the same on either.
*/
#include "records/records.h"
#include "records/records_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Collection ==== */

/* The payload indexes of a records collection; "date" is a datetime, the others keywords. */
static const char *const st__keyword_fields[] = {"kind",   "source", "id",           "author",      "paths",
                                                 "labels", "state",  "links.entity", "links.commit", "on"};
static const char *const st__datetime_fields[] = {"date"};
#define ST_TENANT_FIELD "tenant"

/* The message of the store's last failure. */
static const char *st__errmsg(const sc_records *rs) { return rs->be ? backend_errmsg(rs->be) : sc_db_errmsg(rs->db); }

bool records_store_exists(sc_records *rs) {
    return rs->be ? backend_collection_exists(rs->be, rs->coll) : sc_collection_exists(rs->db, rs->coll);
}

/* Create the embedded store's payload indexes that info (NULL = a new collection) lacks. */
static sc_status st__index_embedded(sc_records *rs, const sc_collection_info *info) {
    size_t nk = sizeof st__keyword_fields / sizeof *st__keyword_fields;
    for (size_t i = 0; i < nk + 1; i++) {
        const char *key = i < nk ? st__keyword_fields[i] : st__datetime_fields[0];
        bool have = false;
        for (size_t j = 0; info && !have && j < info->n_field_indexes; j++) have = !strcmp(info->field_indexes[j].key, key);
        if (!have && sc_field_index_create(rs->db, rs->coll, key, i < nk ? SC_FIELD_TYPE_KEYWORD : SC_FIELD_TYPE_DATETIME) != SC_OK)
            return records_fail(rs, SC_IOERR, "indexing %s of %s: %s", key, rs->coll, sc_db_errmsg(rs->db));
    }
    return SC_OK;
}

sc_status records_store_create(sc_records *rs) {
    if (rs->be) {
        backend_collection_params p = {
            .vector_name = records_vec_names[RECORDS_VEC_CONTENT], .dim = rs->dim, .distance = SC_DISTANCE_COSINE,
            .keyword = true, .keyword_fields = st__keyword_fields,
            .n_keyword_fields = sizeof st__keyword_fields / sizeof *st__keyword_fields,
            .model_tag = rs->emb ? sc_embedder_id(rs->emb) : NULL, .more_vectors = records_vec_names + 1,
            .n_more_vectors = RECORDS_VEC_COUNT - 1, .more_vectors_flat = true, .datetime_fields = st__datetime_fields,
            .n_datetime_fields = 1, .tenant_field = ST_TENANT_FIELD};
        sc_status rc = backend_collection_create(rs->be, rs->coll, &p);
        if (rc == SC_EXISTS) rc = SC_OK; /* another client made it meanwhile: checked as any existing one */
        if (rc != SC_OK) return records_fail(rs, SC_IOERR, "creating %s: %s", rs->coll, backend_errmsg(rs->be));
        rs->exists = true;
        return SC_OK;
    }
    sc_vector_params vp[RECORDS_VEC_COUNT];
    memset(vp, 0, sizeof vp);
    /* An HNSW graph (from 10,000 vectors on) for content, which searches
    ** use; summary and metadata are scanned exactly: their graphs doubled
    ** the time of a large ingestion (docs/BENCHMARKS.md), and
    ** sc_collection_update (PATCH /collections/{c}) gives them one. */
    for (int v = 0; v < RECORDS_VEC_COUNT; v++)
        vp[v] = (sc_vector_params){.name = records_vec_names[v], .dim = rs->dim, .distance = SC_DISTANCE_COSINE,
                                   .hnsw = {.kind = v == RECORDS_VEC_CONTENT ? SC_INDEX_KIND_AUTO : SC_INDEX_KIND_FLAT}};
    if (sc_collection_create(rs->db, rs->coll, vp, RECORDS_VEC_COUNT) != SC_OK)
        return records_fail(rs, SC_IOERR, "creating %s: %s", rs->coll, sc_db_errmsg(rs->db));
    rs->exists = true;
    return st__index_embedded(rs, NULL);
}

/* Check that vector `name` is among the n (names, dims) of the collection
** and of rs->dim (set rs->dim from it when 0 and reading). */
static sc_status st__check_vector(sc_records *rs, const char *name, const char *const *names, const uint32_t *dims,
                                  size_t n) {
    size_t i = 0;
    while (i < n && strcmp(names[i], name)) i++;
    if (i == n)
        return records_fail(rs, SC_INVALID, "collection %s has no vector '%s': it does not hold records", rs->coll, name);
    if (rs->emb && dims[i] != rs->dim)
        return records_fail(rs, SC_INVALID, "collection %s holds vectors of dimension %u, the embedding model %s gives %u",
                            rs->coll, dims[i], sc_embedder_id(rs->emb), rs->dim);
    if (!rs->emb) rs->dim = dims[i];
    return SC_OK;
}

sc_status records_store_check(sc_records *rs, bool index_missing) {
    const char *names[BACKEND_INFO_VECTORS];
    uint32_t dims[BACKEND_INFO_VECTORS];
    size_t n = 0;
    sc_status rc = SC_OK;
    if (rs->be) {
        backend_collection_info info;
        if (backend_collection_info_get(rs->be, rs->coll, &info) != SC_OK)
            return records_fail(rs, SC_IOERR, "%s", backend_errmsg(rs->be));
        for (n = 0; n < info.n_vectors; n++) {
            names[n] = info.vectors[n].name;
            dims[n] = info.vectors[n].dim;
        }
        for (int v = 0; v < RECORDS_VEC_COUNT && rc == SC_OK; v++) rc = st__check_vector(rs, records_vec_names[v], names, dims, n);
        return rc;
    }
    sc_collection_info info;
    if (sc_collection_info_get(rs->db, rs->coll, &info) != SC_OK) return records_fail(rs, SC_IOERR, "%s", sc_db_errmsg(rs->db));
    for (n = 0; n < info.n_vector_params && n < BACKEND_INFO_VECTORS; n++) {
        names[n] = info.vectors[n].name;
        dims[n] = info.vectors[n].dim;
    }
    for (int v = 0; v < RECORDS_VEC_COUNT && rc == SC_OK; v++) rc = st__check_vector(rs, records_vec_names[v], names, dims, n);
    if (rc == SC_OK && index_missing) rc = st__index_embedded(rs, &info); /* indexes added since the collection was made */
    sc_collection_info_free(&info);
    return rc;
}

/* ==== Points ==== */

/* filter (NULL = all) within rs's tenant: an owned filter text, or NULL
** when out of memory or filter is not JSON (recorded on rs). */
static char *st__scoped(sc_records *rs, const char *filter) {
    json_error_t je;
    json_t *f = filter ? json_loads(filter, 0, &je) : NULL;
    if (filter && !f) {
        records_fail(rs, SC_INVALID, "filter is not JSON: %s", je.text);
        return NULL;
    }
    json_t *must = json_pack("[{s:s, s:{s:s}}]", "key", ST_TENANT_FIELD, "match", "value", rs->tenant);
    if (f && must) json_array_append(must, f); /* a nested filter: ANDed */
    json_decref(f);
    json_t *root = must ? json_pack("{s:o}", "must", must) : NULL;
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!s) records_fail(rs, SC_NOMEM, "out of memory");
    return s;
}

sc_status records_store_get(sc_records *rs, const sc_point_id *ids, size_t n, const sc_with *with, sc_record_list **out) {
    sc_status rc = rs->be ? backend_points_get(rs->be, rs->coll, ids, n, with, out)
                          : sc_points_get(rs->db, rs->coll, ids, n, with, out);
    return rc == SC_OK ? SC_OK : records_fail(rs, SC_IOERR, "reading %s: %s", rs->coll, st__errmsg(rs));
}

sc_status records_store_upsert(sc_records *rs, const sc_point_in *pts, size_t n) {
    sc_status rc = rs->be ? backend_points_upsert(rs->be, rs->coll, pts, n) : sc_points_upsert(rs->db, rs->coll, pts, n);
    return rc == SC_OK ? SC_OK : records_fail(rs, SC_IOERR, "writing %zu records to %s: %s", n, rs->coll, st__errmsg(rs));
}

sc_status records_store_delete(sc_records *rs, const sc_point_id *ids, size_t n, uint64_t *n_deleted) {
    *n_deleted = 0;
    if (!rs->be) {
        if (sc_points_delete(rs->db, rs->coll, ids, n, n_deleted) == SC_OK) return SC_OK;
        return records_fail(rs, SC_IOERR, "deleting %zu records from %s: %s", n, rs->coll, sc_db_errmsg(rs->db));
    }
    /* Qdrant does not say how many went: those found first are counted */
    sc_with none = {.payload = false};
    sc_record_list *l = NULL;
    if (backend_points_get(rs->be, rs->coll, ids, n, &none, &l) != SC_OK ||
        backend_points_delete(rs->be, rs->coll, ids, n) != SC_OK) {
        sc_record_list_free(l);
        return records_fail(rs, SC_IOERR, "deleting %zu records from %s: %s", n, rs->coll, backend_errmsg(rs->be));
    }
    *n_deleted = l->n;
    sc_record_list_free(l);
    return SC_OK;
}

sc_status records_store_search(sc_records *rs, const sc_search_request *req, sc_record_list **out) {
    if (!rs->be) {
        if (sc_points_search(rs->db, rs->coll, req, out) == SC_OK) return SC_OK;
        return records_fail(rs, SC_INVALID, "searching %s: %s", rs->coll, sc_db_errmsg(rs->db));
    }
    char *f = st__scoped(rs, req->filter_json);
    if (!f) return SC_INVALID;
    sc_search_request r = *req;
    r.filter_json = f;
    sc_status rc = backend_search(rs->be, rs->coll, &r, out);
    free(f);
    if (rc == SC_OK) return SC_OK;
    return records_fail(rs, rc == SC_INVALID ? SC_INVALID : SC_IOERR, "searching %s: %s", rs->coll, backend_errmsg(rs->be));
}

sc_status records_store_scroll(sc_records *rs, const sc_scroll_request *req, sc_record_list **out, sc_point_id *next,
                               bool *has_next) {
    if (!rs->be) {
        if (sc_points_scroll(rs->db, rs->coll, req, out, next, has_next) == SC_OK) return SC_OK;
        return records_fail(rs, SC_IOERR, "reading %s: %s", rs->coll, sc_db_errmsg(rs->db));
    }
    char *f = st__scoped(rs, req->filter_json);
    if (!f) return SC_INVALID;
    sc_scroll_request r = *req;
    r.filter_json = f;
    sc_status rc = backend_points_scroll(rs->be, rs->coll, &r, out, next, has_next);
    free(f);
    return rc == SC_OK ? SC_OK : records_fail(rs, SC_IOERR, "reading %s: %s", rs->coll, backend_errmsg(rs->be));
}

sc_status records_store_count(sc_records *rs, const char *filter_json, uint64_t *out) {
    if (!rs->be) {
        if (sc_points_count(rs->db, rs->coll, filter_json, out) == SC_OK) return SC_OK;
        return records_fail(rs, SC_IOERR, "counting in %s: %s", rs->coll, sc_db_errmsg(rs->db));
    }
    char *f = st__scoped(rs, filter_json);
    if (!f) return SC_INVALID;
    sc_status rc = backend_points_count(rs->be, rs->coll, f, out);
    free(f);
    return rc == SC_OK ? SC_OK : records_fail(rs, SC_IOERR, "counting in %s: %s", rs->coll, backend_errmsg(rs->be));
}
