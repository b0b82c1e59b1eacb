/*
** backend/qdrant.c: the Qdrant backend over Qdrant's REST API
** (docs/ARCHITECTURE.md "Store backends"). Requests are the embedded
** store's types translated to Qdrant's JSON:
** - a collection has the named dense vector and, with keyword, a sparse
**   vector BACKEND_SPARSE_NAME with the IDF modifier; a payload index per
**   filtered field; shard_number, replication_factor and
**   write_consistency_factor from the configuration;
** - a point's keyword text becomes its BM25 sparse vector (bm25.c), a
**   keyword query a sparse query on it;
** - hybrid is one query: two `prefetch` legs fused by the server ("rrf");
** - writes go in batches with wait=true, so an acknowledged batch is
**   durable on the server, and by stable ids, so a re-run converges.
** The HTTP side (retries, keys, TLS, connection reuse) is qdrant_http.c.
*/
#include "backend/qdrant_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

static const backend_caps qd__caps = {
    .name = "qdrant", .filtering = true, .hybrid = true, .server_keyword = true, .ranking_stage = false,
    .streaming = false, .transactions = false, .snapshots = true, .max_dim = BACKEND_QDRANT_MAX_DIM,
    .distances = BACKEND_DISTANCES_ALL};

#define QD(b) ((qdrant_state *)(b)->impl)

/* "/collections/<name><rest>" with the name escaped. */
static void qd__path(char *out, size_t size, const char *coll, const char *rest) {
    char *e = net_escape(coll);
    snprintf(out, size, "/collections/%s%s", e ? e : coll, rest);
    free(e);
}

/* qdrant_call on /collections/<coll><rest> with body (stolen, may be NULL). */
static sc_status qd__call(backend *b, const char *method, const char *coll, const char *rest, json_t *body,
                          json_t **out) {
    char path[700];
    qd__path(path, sizeof path, coll, rest);
    sc_status rc = qdrant_call(b, method, path, body, out);
    json_decref(body);
    return rc;
}

/* ==== JSON of ids, selections, filters ==== */

static json_t *qd__id_json(const sc_point_id *id) {
    if (id->kind == SC_ID_KIND_NUM) return json_integer((json_int_t)id->num);
    char buf[40];
    return json_string(sc_point_id_format(id, buf, sizeof buf));
}

static bool qd__id_parse(const json_t *j, sc_point_id *out) {
    if (json_is_integer(j) && json_integer_value(j) >= 0) {
        *out = sc_point_id_num((uint64_t)json_integer_value(j));
        return true;
    }
    return json_is_string(j) && sc_point_id_parse_uuid(json_string_value(j), out) == SC_OK;
}

/* Qdrant's with_payload for w. */
static json_t *qd__with_payload(const sc_with *w) {
    if (!w->payload) return json_false();
    const char *const *keys = w->payload_include ? w->payload_include : w->payload_exclude;
    size_t n = w->payload_include ? w->n_payload_include : w->n_payload_exclude;
    if (!keys) return json_true();
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(keys[i]));
    return json_pack("{s:o}", w->payload_include ? "include" : "exclude", a);
}

/* Qdrant's with_vector for w. */
static json_t *qd__with_vector(const sc_with *w) {
    if (!w->vectors) return json_false();
    if (!w->vector_names) return json_true();
    json_t *a = json_array();
    for (size_t i = 0; i < w->n_vector_names; i++) json_array_append_new(a, json_string(w->vector_names[i]));
    return a;
}

/* Add "filter" parsed from filter_json to body; false (recorded) when it is not JSON. */
static bool qd__add_filter(backend *b, json_t *body, const char *filter_json) {
    if (!filter_json) return true;
    json_error_t je;
    json_t *f = json_loads(filter_json, 0, &je);
    if (!f) {
        backend_fail(b, SC_INVALID, "filter is not JSON: %s", je.text);
        return false;
    }
    json_object_set_new(body, "filter", f);
    return true;
}

/* One returned point as a record (fields owned by the record). */
static sc_status qd__record(backend *b, const json_t *p, sc_record *r) {
    if (!qd__id_parse(json_object_get(p, "id"), &r->id))
        return backend_fail(b, SC_CORRUPT, "qdrant: a point without a valid id in the answer");
    r->score = (float)json_number_value(json_object_get(p, "score"));
    json_t *pl = json_object_get(p, "payload");
    if (json_is_object(pl) && !(r->payload_json = json_dumps(pl, JSON_COMPACT)))
        return backend_fail(b, SC_NOMEM, "out of memory");
    json_t *v = json_object_get(p, "vector");
    size_t nv = json_is_object(v) ? json_object_size(v) : json_is_array(v) ? 1 : 0;
    if (!json_is_null(v) && v) {
        r->vector_names = calloc(nv ? nv : 1, sizeof *r->vector_names);
        r->vectors = calloc(nv ? nv : 1, sizeof *r->vectors);
        r->vector_dims = calloc(nv ? nv : 1, sizeof *r->vector_dims);
        r->vector_rows = calloc(nv ? nv : 1, sizeof *r->vector_rows);
        if (!r->vector_names || !r->vectors || !r->vector_dims || !r->vector_rows)
            return backend_fail(b, SC_NOMEM, "out of memory");
    }
    const char *name;
    json_t *val;
    json_t *single = json_is_array(v) ? json_pack("{s:O}", "", v) : NULL;
    json_object_foreach(single ? single : v, name, val) {
        if (!json_is_array(val)) continue; /* sparse vectors are the backend's own BM25 terms */
        size_t dim = json_array_size(val), k = r->n_vectors;
        float *f = malloc(sizeof *f * (dim ? dim : 1));
        r->vector_names[k] = util_strdup(name);
        if (!f || !r->vector_names[k]) {
            free(f);
            free(r->vector_names[k]);
            json_decref(single);
            return backend_fail(b, SC_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < dim; i++) f[i] = (float)json_number_value(json_array_get(val, i));
        r->vectors[k] = f;
        r->vector_dims[k] = (uint32_t)dim;
        r->n_vectors++;
    }
    json_decref(single);
    return SC_OK;
}

/* The records of a JSON array of points. */
static sc_status qd__records(backend *b, const json_t *pts, sc_record_list **out) {
    size_t n = json_array_size(pts);
    sc_record_list *l = backend_records_new(n);
    if (!l) return backend_fail(b, SC_NOMEM, "out of memory");
    sc_status rc = SC_OK;
    for (size_t i = 0; rc == SC_OK && i < n; i++) {
        rc = qd__record(b, json_array_get(pts, i), &l->items[i]);
        l->n = i + 1; /* a half-filled record is freed with the list */
    }
    if (rc != SC_OK) {
        sc_record_list_free(l);
        return rc;
    }
    *out = l;
    return SC_OK;
}

/* The sparse vector JSON of a text (document or query side). */
static json_t *qd__sparse(backend *b, const char *text, bool query) {
    uint32_t *idx = NULL, n = 0;
    float *val = NULL;
    if (backend_bm25_sparse(QD(b)->tk, text, query, &idx, &val, &n) != SC_OK) return NULL;
    json_t *ji = json_array(), *jv = json_array();
    for (uint32_t i = 0; i < n; i++) {
        json_array_append_new(ji, json_integer(idx[i]));
        json_array_append_new(jv, json_real((double)val[i]));
    }
    free(idx);
    free(val);
    return json_pack("{s:o, s:o}", "indices", ji, "values", jv);
}

static json_t *qd__floats(const float *v, uint32_t n) {
    json_t *a = json_array();
    for (uint32_t i = 0; i < n; i++) json_array_append_new(a, json_real((double)v[i]));
    return a;
}

/* ==== Operations ==== */

static void qd__destroy(backend *b) {
    qdrant_state *q = QD(b);
    if (!q) return;
    qdrant_http_free(q);
    text_tokenizer_free(q->tk);
    backend_config_free(&q->cfg);
    free(q);
}

static sc_status qd__clone(const backend *b, backend **out, sc_err *err) {
    return backend_qdrant_new(&QD(b)->cfg, out, err);
}

static sc_status qd__health(backend *b, char **info) {
    json_t *r = NULL;
    sc_status rc = qdrant_call(b, "GET", "/", NULL, &r);
    if (rc != SC_OK) return rc;
    if (info) {
        const char *title = json_string_value(json_object_get(r, "title"));
        const char *ver = json_string_value(json_object_get(r, "version"));
        char buf[1024];
        snprintf(buf, sizeof buf, "%.100s %.40s at %.600s", title ? title : "qdrant", ver ? ver : "?", QD(b)->base);
        *info = util_strdup(buf);
    }
    json_decref(r);
    return SC_OK;
}

/* PUT a payload index on field: schema a type name or {"type": ..., options} (stolen). */
static sc_status qd__index_schema(backend *b, const char *name, const char *field, json_t *schema) {
    json_t *r = NULL;
    sc_status rc = qd__call(b, "PUT", name, "/index?wait=true",
                            json_pack("{s:s, s:o}", "field_name", field, "field_schema", schema), &r);
    json_decref(r);
    return rc;
}

static sc_status qd__index(backend *b, const char *name, const char *field, const char *type) {
    return qd__index_schema(b, name, field, json_string(type));
}

static sc_status qd__coll_create(backend *b, const char *name, const backend_collection_params *p) {
    qdrant_state *q = QD(b);
    json_t *body = json_pack("{s:{s:{s:i, s:s}}}", "vectors", p->vector_name, "size", (json_int_t)p->dim, "distance",
                             sc_distance_name(p->distance));
    for (size_t i = 0; i < p->n_more_vectors; i++) {
        json_t *v = json_pack("{s:i, s:s}", "size", (json_int_t)p->dim, "distance", sc_distance_name(p->distance));
        if (p->more_vectors_flat) json_object_set_new(v, "hnsw_config", json_pack("{s:i}", "m", 0)); /* no graph */
        json_object_set_new(json_object_get(body, "vectors"), p->more_vectors[i], v);
    }
    if (p->keyword)
        json_object_set_new(body, "sparse_vectors", json_pack("{s:{s:s}}", BACKEND_SPARSE_NAME, "modifier", "idf"));
    if (p->model_tag) json_object_set_new(body, "metadata", json_pack("{s:s}", "semcode_model", p->model_tag));
    if (q->cfg.shard_number) json_object_set_new(body, "shard_number", json_integer(q->cfg.shard_number));
    if (q->cfg.replication_factor)
        json_object_set_new(body, "replication_factor", json_integer(q->cfg.replication_factor));
    if (q->cfg.write_consistency_factor)
        json_object_set_new(body, "write_consistency_factor", json_integer(q->cfg.write_consistency_factor));
    json_t *r = NULL;
    sc_status rc = qd__call(b, "PUT", name, "", body, &r);
    json_decref(r);
    if (rc == SC_INVALID && strstr(b->errmsg, "already exists")) rc = SC_EXISTS;
    if (rc == SC_OK && p->tenant_field)
        rc = qd__index_schema(b, name, p->tenant_field, json_pack("{s:s, s:b}", "type", "keyword", "is_tenant", 1));
    for (size_t i = 0; rc == SC_OK && i < p->n_keyword_fields; i++) rc = qd__index(b, name, p->keyword_fields[i], "keyword");
    for (size_t i = 0; rc == SC_OK && i < p->n_integer_fields; i++) rc = qd__index(b, name, p->integer_fields[i], "integer");
    for (size_t i = 0; rc == SC_OK && i < p->n_datetime_fields; i++)
        rc = qd__index(b, name, p->datetime_fields[i], "datetime");
    return rc;
}

static bool qd__coll_exists(backend *b, const char *name) {
    json_t *r = NULL;
    if (qd__call(b, "GET", name, "/exists", NULL, &r) != SC_OK) return false;
    bool yes = json_is_true(json_object_get(json_object_get(r, "result"), "exists"));
    json_decref(r);
    return yes;
}

static sc_status qd__coll_delete(backend *b, const char *name) {
    if (!qd__coll_exists(b, name)) return backend_fail(b, SC_NOTFOUND, "qdrant: no collection '%s'", name);
    json_t *r = NULL;
    sc_status rc = qd__call(b, "DELETE", name, "", NULL, &r);
    json_decref(r);
    return rc;
}

static sc_status qd__coll_list(backend *b, char ***out, size_t *n_out) {
    json_t *r = NULL;
    sc_status rc = qdrant_call(b, "GET", "/collections", NULL, &r);
    if (rc != SC_OK) return rc;
    json_t *a = json_object_get(json_object_get(r, "result"), "collections");
    size_t n = json_array_size(a);
    char **v = calloc(n + 1, sizeof *v);
    for (size_t i = 0; v && i < n; i++) v[i] = util_strdup(json_string_value(json_object_get(json_array_get(a, i), "name")));
    json_decref(r);
    if (!v) return backend_fail(b, SC_NOMEM, "out of memory");
    *out = v;
    if (n_out) *n_out = n;
    return SC_OK;
}

static sc_status qd__coll_info(backend *b, const char *name, backend_collection_info *out) {
    json_t *r = NULL;
    sc_status rc = qd__call(b, "GET", name, "", NULL, &r);
    if (rc != SC_OK) return rc;
    json_t *res = json_object_get(r, "result"), *params = json_object_get(json_object_get(res, "config"), "params");
    out->n_points = (uint64_t)json_integer_value(json_object_get(res, "points_count"));
    const char *st = json_string_value(json_object_get(res, "status"));
    snprintf(out->status, sizeof out->status, "%s", st ? st : "?");
    json_t *vecs = json_object_get(params, "vectors"), *first = json_object_get(vecs, "size") ? vecs : NULL;
    if (!first) {
        const char *k;
        json_t *v;
        json_object_foreach(vecs, k, v) {
            first = v;
            break;
        }
    }
    out->dim = (uint32_t)json_integer_value(json_object_get(first, "size"));
    if (first == vecs) {
        out->n_vectors = 1;
        out->vectors[0].dim = out->dim;
    } else {
        const char *k;
        json_t *v;
        json_object_foreach(vecs, k, v) {
            if (out->n_vectors == BACKEND_INFO_VECTORS) break;
            snprintf(out->vectors[out->n_vectors].name, sizeof out->vectors[0].name, "%s", k);
            out->vectors[out->n_vectors++].dim = (uint32_t)json_integer_value(json_object_get(v, "size"));
        }
    }
    const char *d = json_string_value(json_object_get(first, "distance"));
    if (d) sc_distance_parse(d, &out->distance);
    out->keyword = json_object_get(json_object_get(params, "sparse_vectors"), BACKEND_SPARSE_NAME) != NULL;
    const char *tag = json_string_value(
        json_object_get(json_object_get(json_object_get(res, "config"), "metadata"), "semcode_model"));
    snprintf(out->model_tag, sizeof out->model_tag, "%s", tag ? tag : "");
    json_decref(r);
    return SC_OK;
}

static sc_status qd__coll_optimize(backend *b, const char *name) {
    (void)b;
    (void)name;
    return SC_OK; /* Qdrant's optimizers run on the server */
}

/* One point as Qdrant's JSON. */
static json_t *qd__point_json(backend *b, const sc_point_in *p) {
    json_t *vec = json_object();
    for (size_t i = 0; i < p->n_vectors; i++)
        json_object_set_new(vec, p->vectors[i].name ? p->vectors[i].name : "", qd__floats(p->vectors[i].data, p->vectors[i].dim));
    for (size_t i = 0; i < p->n_sparse; i++) {
        json_t *ji = json_array(), *jv = json_array();
        for (uint32_t k = 0; k < p->sparse[i].n; k++) {
            json_array_append_new(ji, json_integer(p->sparse[i].indices[k]));
            json_array_append_new(jv, json_real((double)p->sparse[i].values[k]));
        }
        json_object_set_new(vec, p->sparse[i].name, json_pack("{s:o, s:o}", "indices", ji, "values", jv));
    }
    if (p->text) {
        json_t *sp = qd__sparse(b, p->text, false);
        if (!sp) {
            json_decref(vec);
            return NULL;
        }
        json_object_set_new(vec, BACKEND_SPARSE_NAME, sp);
    }
    json_t *pl = p->payload_parsed ? json_deep_copy(p->payload_parsed)
                 : p->payload_json ? json_loads(p->payload_json, 0, NULL) : json_object();
    if (!pl) {
        json_decref(vec);
        backend_fail(b, SC_INVALID, "payload of a point is not JSON");
        return NULL;
    }
    return json_pack("{s:o, s:o, s:o}", "id", qd__id_json(&p->id), "vector", vec, "payload", pl);
}

static sc_status qd__upsert(backend *b, const char *coll, const sc_point_in *pts, size_t n) {
    uint32_t batch = QD(b)->cfg.batch_size ? QD(b)->cfg.batch_size : BACKEND_DEFAULT_BATCH;
    sc_status rc = SC_OK;
    for (size_t at = 0; rc == SC_OK && at < n; at += batch) {
        json_t *a = json_array();
        for (size_t i = at; rc == SC_OK && i < n && i < at + batch; i++) {
            json_t *pj = qd__point_json(b, &pts[i]);
            if (!pj) rc = b->errmsg[0] ? SC_INVALID : backend_fail(b, SC_NOMEM, "out of memory");
            else json_array_append_new(a, pj);
        }
        json_t *body = json_pack("{s:o}", "points", a), *r = NULL;
        if (rc == SC_OK) rc = qd__call(b, "PUT", coll, "/points?wait=true", body, &r);
        else json_decref(body);
        json_decref(r);
    }
    return rc;
}

/* POST .../points/delete?wait=true with body (stolen). */
static sc_status qd__delete_body(backend *b, const char *coll, json_t *body) {
    json_t *r = NULL;
    sc_status rc = qd__call(b, "POST", coll, "/points/delete?wait=true", body, &r);
    json_decref(r);
    return rc;
}

static sc_status qd__del(backend *b, const char *coll, const sc_point_id *ids, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, qd__id_json(&ids[i]));
    return qd__delete_body(b, coll, json_pack("{s:o}", "points", a));
}

static sc_status qd__del_filter(backend *b, const char *coll, const char *filter_json) {
    json_t *body = json_object();
    if (!qd__add_filter(b, body, filter_json ? filter_json : "{}")) {
        json_decref(body);
        return SC_INVALID;
    }
    return qd__delete_body(b, coll, body);
}

static sc_status qd__get(backend *b, const char *coll, const sc_point_id *ids, size_t n, const sc_with *with,
                         sc_record_list **out) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, qd__id_json(&ids[i]));
    sc_with none = {0};
    const sc_with *w = with ? with : &none;
    json_t *body = json_pack("{s:o, s:o, s:o}", "ids", a, "with_payload", qd__with_payload(w), "with_vector",
                             qd__with_vector(w)), *r = NULL;
    sc_status rc = qd__call(b, "POST", coll, "/points", body, &r);
    sc_record_list *l = NULL;
    if (rc == SC_OK) rc = qd__records(b, json_object_get(r, "result"), &l);
    json_decref(r);
    if (rc != SC_OK) return rc;
    /* in the order asked (the server answers in its own) */
    sc_record_list *o = backend_records_new(l->n);
    if (!o) {
        sc_record_list_free(l);
        return backend_fail(b, SC_NOMEM, "out of memory");
    }
    bool *taken = calloc(l->n ? l->n : 1, sizeof *taken);
    for (size_t i = 0; taken && i < n; i++)
        for (size_t k = 0; k < l->n; k++)
            if (!taken[k] && sc_point_id_cmp(&l->items[k].id, &ids[i]) == 0) {
                o->items[o->n++] = l->items[k];
                memset(&l->items[k], 0, sizeof l->items[k]);
                taken[k] = true;
                break;
            }
    free(taken);
    sc_record_list_free(l);
    *out = o;
    return SC_OK;
}

static sc_status qd__scroll(backend *b, const char *coll, const sc_scroll_request *req, sc_record_list **out,
                            sc_point_id *next, bool *has_next) {
    json_t *body = json_pack("{s:i, s:o, s:o}", "limit", (json_int_t)(req->limit ? req->limit : 10), "with_payload",
                             qd__with_payload(&req->with), "with_vector", qd__with_vector(&req->with)), *r = NULL;
    if (req->has_offset) json_object_set_new(body, "offset", qd__id_json(&req->offset));
    if (!qd__add_filter(b, body, req->filter_json)) {
        json_decref(body);
        return SC_INVALID;
    }
    sc_status rc = qd__call(b, "POST", coll, "/points/scroll", body, &r);
    if (rc != SC_OK) return rc;
    json_t *res = json_object_get(r, "result");
    rc = qd__records(b, json_object_get(res, "points"), out);
    json_t *nx = json_object_get(res, "next_page_offset");
    *has_next = rc == SC_OK && nx && !json_is_null(nx) && qd__id_parse(nx, next);
    json_decref(r);
    return rc;
}

static sc_status qd__count(backend *b, const char *coll, const char *filter_json, uint64_t *out) {
    json_t *body = json_pack("{s:b}", "exact", 1), *r = NULL;
    if (!qd__add_filter(b, body, filter_json)) {
        json_decref(body);
        return SC_INVALID;
    }
    sc_status rc = qd__call(b, "POST", coll, "/points/count", body, &r);
    if (rc == SC_OK) *out = (uint64_t)json_integer_value(json_object_get(json_object_get(r, "result"), "count"));
    json_decref(r);
    return rc;
}

/* The "query" and "using" of one leg: dense when req->query, else keyword (sparse of req->text). */
static bool qd__leg(backend *b, json_t *obj, const sc_search_request *req, const char *text) {
    if (req->query) {
        json_object_set_new(obj, "query", qd__floats(req->query, req->dim));
        json_object_set_new(obj, "using", json_string(req->vector_name ? req->vector_name : ""));
        return true;
    }
    json_t *sp = qd__sparse(b, text ? text : req->text, true);
    if (!sp) return false;
    json_object_set_new(obj, "query", sp);
    json_object_set_new(obj, "using", json_string(BACKEND_SPARSE_NAME));
    return true;
}

/* POST .../points/query with body (stolen) into records. */
static sc_status qd__query(backend *b, const char *coll, json_t *body, const sc_search_request *req,
                           sc_record_list **out) {
    json_object_set_new(body, "limit", json_integer(req->limit ? req->limit : 10));
    if (req->offset) json_object_set_new(body, "offset", json_integer(req->offset));
    if (req->has_threshold) json_object_set_new(body, "score_threshold", json_real((double)req->score_threshold));
    json_object_set_new(body, "with_payload", qd__with_payload(&req->with));
    json_object_set_new(body, "with_vector", qd__with_vector(&req->with));
    json_t *r = NULL;
    sc_status rc = qd__call(b, "POST", coll, "/points/query", body, &r);
    if (rc == SC_OK) rc = qd__records(b, json_object_get(json_object_get(r, "result"), "points"), out);
    json_decref(r);
    return rc;
}

static sc_status qd__search(backend *b, const char *coll, const sc_search_request *req, sc_record_list **out) {
    if (req->sparse || req->n_rows) return backend_fail(b, SC_UNSUPPORTED, "qdrant backend: sparse and multivector queries are not passed through");
    if (!req->query && (!req->text || !*req->text)) return backend_fail(b, SC_INVALID, "a search needs a vector or a text");
    json_t *body = json_object();
    if (!qd__leg(b, body, req, NULL) || !qd__add_filter(b, body, req->filter_json)) {
        json_decref(body);
        return b->errmsg[0] ? SC_INVALID : backend_fail(b, SC_NOMEM, "out of memory");
    }
    return qd__query(b, coll, body, req, out);
}

static sc_status qd__hybrid(backend *b, const char *coll, const sc_search_request *dense, const char *text,
                            uint32_t prefetch, sc_record_list **out) {
    json_t *legs[2] = {json_object(), json_object()};
    sc_search_request kw = *dense;
    kw.query = NULL;
    bool ok = qd__leg(b, legs[0], dense, NULL) && qd__leg(b, legs[1], &kw, text) &&
              qd__add_filter(b, legs[0], dense->filter_json) && qd__add_filter(b, legs[1], dense->filter_json);
    json_object_set_new(legs[0], "limit", json_integer(prefetch));
    json_object_set_new(legs[1], "limit", json_integer(prefetch));
    json_t *body = json_pack("{s:[o,o], s:{s:s}}", "prefetch", legs[0], legs[1], "query", "fusion", "rrf");
    if (!ok || !body) {
        json_decref(body);
        return b->errmsg[0] ? SC_INVALID : backend_fail(b, SC_NOMEM, "out of memory");
    }
    return qd__query(b, coll, body, dense, out);
}

static const backend_ops qd__ops = {
    .destroy = qd__destroy, .clone = qd__clone, .health = qd__health, .coll_create = qd__coll_create,
    .coll_exists = qd__coll_exists, .coll_delete = qd__coll_delete, .coll_list = qd__coll_list,
    .coll_info = qd__coll_info, .coll_optimize = qd__coll_optimize, .upsert = qd__upsert, .del = qd__del,
    .del_filter = qd__del_filter, .get = qd__get, .scroll = qd__scroll, .count = qd__count, .search = qd__search,
    .hybrid = qd__hybrid};

sc_status backend_qdrant_new(const backend_config *c, backend **out, sc_err *err) {
    if (c->kind != BACKEND_KIND_QDRANT || !c->host || !*c->host)
        return sc_err_set(err, SC_INVALID, "not a Qdrant configuration (qdrant://host:port/collection)");
    backend *b = calloc(1, sizeof *b);
    qdrant_state *q = calloc(1, sizeof *q);
    if (!b || !q) {
        free(b);
        free(q);
        return sc_err_set(err, SC_NOMEM, "out of memory making the Qdrant backend");
    }
    b->ops = &qd__ops;
    b->caps = &qd__caps;
    b->impl = q;
    q->cfg = *c;
    q->cfg.dir = NULL;
    q->cfg.host = util_strdup(c->host);
    q->cfg.collection = util_strdup(c->collection ? c->collection : "code");
    q->cfg.ca_file = util_strdup(c->ca_file);
    q->cfg.api_key_env = util_strdup(c->api_key_env);
    sc_err terr = {0};
    q->tk = text_tokenizer_new(&terr);
    sc_status rc = q->cfg.host && q->cfg.collection && q->tk ? qdrant_http_init(b, q) : SC_NOMEM;
    if (rc != SC_OK) {
        sc_err_set(err, rc, "%s", b->errmsg[0] ? b->errmsg : "out of memory making the Qdrant backend");
        backend_free(b);
        return rc;
    }
    b->collection = q->cfg.collection;
    snprintf(b->location, sizeof b->location, "qdrant%s://%s:%u/%s", c->tls ? "s" : "", q->cfg.host, q->cfg.port,
             q->cfg.collection);
    *out = b;
    return SC_OK;
}
