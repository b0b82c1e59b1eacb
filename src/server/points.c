/*
** server/points.c: the point endpoints: upsert (list and batch forms),
** get one / many, delete, payload set / overwrite / delete keys / clear,
** scroll, count and the /points/batch list of update operations. Points
** carry dense vectors, sparse vectors ({indices, values} under their name)
** and Documents. Each
** write is one atomic store call, so a rejected request changes nothing.
** `wait` is accepted and ignored: every write is durable when it answers.
*/
#include "server/server_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== Upsert ==== */

/* Owned storage of decoded points. */
typedef struct server_points {
    sc_point_in *pts;    /* points for the store */
    sc_vector_in *vecs;  /* all dense vectors, points index into it */
    sc_sparse_in *sparse;/* all sparse vectors (n_vecs entries allocated), points index into it */
    sc_multivec_in *mvecs;/* all multivectors (n_vecs entries allocated), points index into it */
    void **floats;       /* owned arrays (n_floats): dense vectors, sparse indices and values */
    size_t n_floats;     /* entries in floats */
    size_t n;            /* points */
    size_t n_vecs;       /* entries allocated in vecs and floats */
    const char **docs;   /* texts of builtin Documents, embedded together once all is decoded (borrowed) */
    size_t *doc_vec;     /* the entry of vecs each of them fills */
    char **doc_where;    /* owned field names of them, for messages */
    size_t n_docs;       /* entries in docs, doc_vec, doc_where */
} server_points;

static void server__points_free(server_points *p) {
    for (size_t i = 0; i < p->n_docs; i++) free(p->doc_where[i]);
    free(p->docs);
    free(p->doc_vec);
    free(p->doc_where);
    for (size_t i = 0; i < p->n_floats; i++) free(p->floats[i]);
    free(p->floats);
    free(p->vecs);
    free(p->sparse);
    free(p->mvecs);
    free(p->pts);
    memset(p, 0, sizeof *p);
}

static bool server__points_alloc(server_call *call, server_points *p, size_t n, size_t n_vecs) {
    p->n = n;
    p->n_vecs = n_vecs;
    p->pts = calloc(n ? n : 1, sizeof *p->pts);
    p->vecs = calloc(n_vecs ? n_vecs : 1, sizeof *p->vecs);
    p->sparse = calloc(n_vecs ? n_vecs : 1, sizeof *p->sparse);
    p->mvecs = calloc(n_vecs ? n_vecs : 1, sizeof *p->mvecs);
    p->floats = calloc(n_vecs ? 2 * n_vecs : 1, sizeof *p->floats); /* a sparse vector owns two arrays */
    if (!p->pts || !p->vecs || !p->sparse || !p->mvecs || !p->floats) {
        server_fail(call, 500, "out of memory");
        return false;
    }
    return true;
}

/* Note a builtin Document whose vector fills vecs[k] (server__embed_docs). */
static bool server__doc_push(server_call *call, server_points *p, size_t k, const char *text, const char *where) {
    if (!p->docs) {
        p->docs = calloc(p->n_vecs, sizeof *p->docs);
        p->doc_vec = calloc(p->n_vecs, sizeof *p->doc_vec);
        p->doc_where = calloc(p->n_vecs, sizeof *p->doc_where);
        if (!p->docs || !p->doc_vec || !p->doc_where) return server_fail(call, 500, "out of memory"), false;
    }
    char *w = util_strdup(where);
    if (!w) return server_fail(call, 500, "out of memory"), false;
    p->docs[p->n_docs] = text;
    p->doc_vec[p->n_docs] = k;
    p->doc_where[p->n_docs++] = w;
    return true;
}

/* Embed every builtin Document of the request in one call (code side):
** one lock, one cache transaction and one model batch, rather than one
** per point. */
static bool server__embed_docs(server_call *call, server_points *p) {
    if (!p->n_docs) return true;
    uint32_t dim = sc_model_dim(call->ctx->model);
    float *block = malloc(sizeof(float) * dim * p->n_docs);
    if (!block) return server_fail(call, 500, "out of memory"), false;
    p->floats[p->n_floats++] = block;
    if (!server_embed_texts(call, p->docs, p->n_docs, SC_EMBED_ROLE_CODE, NULL, (const char *const *)p->doc_where,
                            block))
        return false;
    for (size_t i = 0; i < p->n_docs; i++) p->vecs[p->doc_vec[i]].data = block + i * dim;
    return true;
}

/* Decode one vector value of point i into vecs[*k] (dense), mvecs[k[1]] or sparse[*ks]:
** a dense array, a multivector (an array of arrays), a sparse {"indices", "values"} (named only; qwhere is the
** field as Qdrant names it in validation messages), or a Document {"text",
** "model"}: "builtin" is noted for server__embed_docs (the vector is filled
** in after decoding), "qdrant/bm25" becomes the point's BM25 text and adds
** no vector (only when bm25_ok: the list form). */
static bool server__vector(server_call *call, server_points *p, size_t i, size_t *k, size_t *ks, const char *name,
                           const json_t *v, const char *where, const char *qwhere, bool bm25_ok) {
    if (json_is_object(v) && json_object_get(v, "text")) {
        const char *text, *model;
        if (!server_json_document(call, v, where, &text, &model)) return false;
        if (server_model_is_bm25(model)) {
            if (!bm25_ok)
                return server_fail(call, 400, "Wrong input: %s: BM25 documents are accepted in the `points` list form only",
                                   where), false;
            if (p->pts[i].text)
                return server_fail(call, 400, "Wrong input: %s: a point has at most one BM25 document", where), false;
            p->pts[i].text = text; /* borrowed from the request body, which outlives the upsert */
            return true;
        }
        if (!server_embed_model_ok(call, model) || !server__doc_push(call, p, *k, text, where)) return false;
        p->vecs[*k] = (sc_vector_in){.name = name, .data = NULL, .dim = sc_model_dim(call->ctx->model)};
        (*k)++;
        return true;
    }
    if (server_json_is_sparse(v)) {
        if (!*name)
            return server_fail(call, 400, "Wrong input: %s: a sparse vector goes under its name: {\"vector\": "
                               "{\"NAME\": {\"indices\": [...], \"values\": [...]}}}", where), false;
        server_sparse sp;
        if (!server_json_sparse(call, v, where, qwhere, &sp)) return false;
        p->floats[p->n_floats++] = sp.indices;
        p->floats[p->n_floats++] = sp.values;
        p->sparse[*ks] = (sc_sparse_in){.name = name, .indices = sp.indices, .values = sp.values, .n = sp.n};
        (*ks)++;
        return true;
    }
    float *f;
    uint32_t dim, rows = 0;
    if (server_json_is_multi(v) ? !server_json_multi(call, v, where, qwhere, &f, &dim, &rows)
                                : !server_json_floats(call, v, where, &f, &dim))
        return false;
    p->floats[p->n_floats++] = f;
    if (rows) {
        p->mvecs[k[1]++] = (sc_multivec_in){.name = name, .data = f, .dim = dim, .n_rows = rows};
        return true;
    }
    p->vecs[*k] = (sc_vector_in){.name = name, .data = f, .dim = dim};
    (*k)++;
    return true;
}

/* The dense vector the fast path read for entry i of form (fastvec.c; its
** text is `[]` in the parsed body) into vecs[*k], borrowed from the call;
** false when it read none. */
static bool server__vector_fast(server_call *call, server_points *p, server_fastvec_form form, size_t i, size_t *k) {
    const float *f;
    uint32_t dim;
    if (!server_fastvec_get(call->fastvec, form, i, &f, &dim)) return false;
    p->vecs[*k] = (sc_vector_in){.name = "", .data = f, .dim = dim};
    (*k)++;
    return true;
}

/* Payload v of point i: none when absent or null, else the object itself,
** handed to the store parsed (borrowed from the request body); its field is
** named `points[i].payload` (batch: `batch.payloads[i]`) on error. */
static bool server__payload(server_call *call, server_points *p, size_t i, const json_t *v, bool batch) {
    if (!v || json_is_null(v)) return true;
    if (!json_is_object(v))
        return server_fail(call, 400, batch ? "Json deserialize error: batch.payloads[%zu] must be an object"
                                            : "Json deserialize error: points[%zu].payload must be an object", i), false;
    p->pts[i].payload_parsed = v;
    return true;
}

/* The id v of point i into *out, as server_json_id; its field is named
** `points[i].id` (batch: `batch.ids[i]`) on error. An unsigned integer,
** the usual id, is taken without formatting that name. */
static bool server__point_id(server_call *call, const json_t *v, size_t i, bool batch, sc_point_id *out) {
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = sc_point_id_num((uint64_t)json_integer_value(v));
        return true;
    }
    char where[64];
    if (batch) snprintf(where, sizeof where, "batch.ids[%zu]", i);
    else snprintf(where, sizeof where, "points[%zu].id", i);
    return server_json_id(call, v, where, out);
}

/* Decode `points` [{id, vector, payload}] or `batch` {ids, vectors, payloads}.
** Field names for messages are formatted only off the usual path. */
static bool server__decode_points(server_call *call, const json_t *b, server_points *p) {
    const json_t *list = b ? json_object_get(b, "points") : NULL, *batch = b ? json_object_get(b, "batch") : NULL;
    memset(p, 0, sizeof *p);
    if (json_is_array(list)) {
        size_t n = json_array_size(list), n_vecs = 0;
        for (size_t i = 0; i < n; i++) {
            const json_t *v = json_object_get(json_array_get(list, i), "vector");
            n_vecs += json_is_object(v) ? json_object_size(v) : 1;
        }
        if (!server__points_alloc(call, p, n, n_vecs)) return false;
        size_t k[2] = {0, 0}, ks = 0; /* next free entry of vecs, mvecs */
        for (size_t i = 0; i < n; i++) {
            const json_t *pt = json_array_get(list, i);
            char where[96], qwhere[64];
            if (!json_is_object(pt)) return server_fail(call, 400, "Json deserialize error: points[%zu] must be an object", i), false;
            const json_t *id = json_object_get(pt, "id");
            if (!id) return server_fail(call, 400, "Json deserialize error: missing field `points[%zu].id`", i), false;
            if (!server__point_id(call, id, i, false, &p->pts[i].id)) return false;
            const json_t *v = json_object_get(pt, "vector");
            p->pts[i].vectors = &p->vecs[k[0]];
            p->pts[i].multivecs = &p->mvecs[k[1]];
            p->pts[i].sparse = &p->sparse[ks];
            if (v && !json_is_null(v) && server__vector_fast(call, p, SERVER_FASTVEC_POINTS, i, k)) {
                /* read by the fast path: a plain array of numbers */
            } else if (json_is_object(v) && !server_json_is_sparse(v) && !json_is_string(json_object_get(v, "text"))) {
                /* an object of named vectors, unless it is one sparse vector or one Document */
                const char *name;
                const json_t *vv;
                snprintf(qwhere, sizeof qwhere, "points[%zu].vector.?", i); /* Qdrant's name of a named vector's field */
                json_object_foreach((json_t *)v, name, vv) {
                    snprintf(where, sizeof where, "points[%zu].vector.%.40s", i, name);
                    if (!server__vector(call, p, i, k, &ks, name, vv, where, qwhere, true)) return false;
                }
            } else if (v && !json_is_null(v)) {
                snprintf(where, sizeof where, "points[%zu].vector", i);
                snprintf(qwhere, sizeof qwhere, "points[%zu].vector.?", i);
                if (!server__vector(call, p, i, k, &ks, "", v, where, qwhere, true)) return false;
            } else {
                return server_fail(call, 400, "Json deserialize error: missing field `points[%zu].vector`", i), false;
            }
            p->pts[i].n_vectors = (size_t)(&p->vecs[k[0]] - p->pts[i].vectors);
            p->pts[i].n_multivecs = (size_t)(&p->mvecs[k[1]] - p->pts[i].multivecs);
            p->pts[i].n_sparse = (size_t)(&p->sparse[ks] - p->pts[i].sparse);
            if (!server__payload(call, p, i, json_object_get(pt, "payload"), false)) return false;
        }
        return true;
    }
    if (json_is_object(batch)) {
        const json_t *ids = json_object_get(batch, "ids"), *vectors = json_object_get(batch, "vectors"),
                     *payloads = json_object_get(batch, "payloads");
        if (!json_is_array(ids)) return server_fail(call, 400, "Json deserialize error: `batch.ids` must be an array"), false;
        size_t n = json_array_size(ids);
        size_t n_names = json_is_object(vectors) ? json_object_size(vectors) : 1;
        if (!json_is_object(vectors) && !json_is_array(vectors))
            return server_fail(call, 400, "Json deserialize error: `batch.vectors` must be a list of vectors or an object of named lists"), false;
        if (payloads && !json_is_null(payloads) && (!json_is_array(payloads) || json_array_size(payloads) != n))
            return server_fail(call, 422, "Validation error in JSON body: [batch.payloads: must be a list of %zu payloads]", n), false;
        if (!server__points_alloc(call, p, n, n * n_names)) return false;
        for (size_t i = 0; i < n; i++) {
            if (!server__point_id(call, json_array_get(ids, i), i, true, &p->pts[i].id)) return false;
            p->pts[i].vectors = &p->vecs[i * n_names];
            p->pts[i].multivecs = &p->mvecs[i * n_names];
            p->pts[i].sparse = &p->sparse[i * n_names];
        }
        const char *name = "";
        const json_t *lists = vectors;
        void *iter = json_is_object(vectors) ? json_object_iter((json_t *)vectors) : NULL;
        do {
            if (iter) {
                name = json_object_iter_key(iter);
                lists = json_object_iter_value(iter);
            }
            if (!json_is_array(lists) || json_array_size(lists) != n)
                return server_fail(call, 422, "Validation error in JSON body: [batch.vectors%s%.40s: must be a list of %zu vectors]",
                                   *name ? "." : "", name, n), false;
            for (size_t i = 0; i < n; i++) {
                /* a point's dense and sparse vectors each fill its row from the left */
                size_t k[2] = {i * n_names + p->pts[i].n_vectors, i * n_names + p->pts[i].n_multivecs};
                size_t ks = i * n_names + p->pts[i].n_sparse;
                if (iter || !server__vector_fast(call, p, SERVER_FASTVEC_BATCH, i, k)) {
                    char where[128], qwhere[64];
                    snprintf(where, sizeof where, "batch.vectors%s%.40s[%zu]", *name ? "." : "", name, i);
                    snprintf(qwhere, sizeof qwhere, "batch.vectors.?[%zu]", i);
                    if (!server__vector(call, p, i, k, &ks, name, json_array_get(lists, i), where, qwhere, false))
                        return false;
                }
                p->pts[i].n_vectors = k[0] - i * n_names;
                p->pts[i].n_multivecs = k[1] - i * n_names;
                p->pts[i].n_sparse = ks - i * n_names;
            }
            if (iter) iter = json_object_iter_next((json_t *)vectors, iter);
        } while (iter);
        for (size_t i = 0; payloads && json_is_array(payloads) && i < n; i++)
            if (!server__payload(call, p, i, json_array_get(payloads, i), true)) return false;
        return true;
    }
    server_fail(call, 400, "Json deserialize error: expected `points` (a list) or `batch` (ids and vectors)");
    return false;
}

/* Decode an upsert body, then embed its Documents. */
static bool server__decode_upsert(server_call *call, const json_t *b, server_points *p) {
    return server__decode_points(call, b, p) && server__embed_docs(call, p);
}

/* The store's SC_NOTFOUND of an existing collection, in Qdrant's words: a
** missing point is 404 "Not found: No point with id N found", a vector name
** it does not have 400 "Wrong input: Not existing vector name error: x". */
static void server__fail_missing(server_call *call) {
    const char *m = sc_db_errmsg(call->ctx->db);
    const char *name = strstr(m, "name `");
    if (!strncmp(m, "No point", 8)) {
        server_fail(call, 404, "Not found: %s", m);
    } else if (name) {
        name += 6;
        server_fail(call, 400, "Wrong input: Not existing vector name error: %.*s (%s)",
                    (int)strcspn(name, "`"), name, m);
    } else {
        server_fail(call, 400, "Wrong input: %s", m);
    }
}

/* The conditions of a write: `update_filter` (owned compact text in
** *filter, NULL when absent) and, with mode non-NULL, `update_mode`. */
static bool server__write_conditions(server_call *call, const json_t *obj, char **filter, sc_upsert_mode *mode) {
    *filter = NULL;
    if (!server_json_filter(call, obj, "update_filter", filter)) return false;
    const char *m = NULL;
    if (!mode) return true;
    *mode = SC_UPSERT_MODE_UPSERT;
    if (!server_json_str(call, obj, "update_mode", &m)) return false;
    if (m && !strcmp(m, "insert_only")) *mode = SC_UPSERT_MODE_INSERT_ONLY;
    else if (m && !strcmp(m, "update_only")) *mode = SC_UPSERT_MODE_UPDATE_ONLY;
    else if (m && strcmp(m, "upsert")) {
        free(*filter);
        *filter = NULL;
        return server_fail(call, 400, "Json deserialize error: update_mode: unknown variant `%.64s`, expected one of "
                                      "`upsert`, `insert_only`, `update_only`", m), false;
    }
    return true;
}

/* upsert {"points" | "batch", "update_filter"?, "update_mode"?}: new points
** are inserted and existing ones replaced, as update_mode allows; an
** existing point that does not match update_filter is left as it is. */
static json_t *server__op_upsert(server_call *call, const char *coll, const json_t *obj) {
    server_points p;
    json_t *out = NULL;
    sc_upsert_options opt = {0};
    char *filter = NULL;
    if (!server__write_conditions(call, obj, &filter, &opt.mode)) return NULL;
    opt.update_filter_json = filter;
    if (server__decode_upsert(call, obj, &p)) {
        sc_status rc = sc_points_upsert_ex(call->ctx->db, coll, p.pts, p.n, &opt, NULL);
        if (rc == SC_NOTFOUND && sc_collection_exists(call->ctx->db, coll))
            server__fail_missing(call); /* a vector name */
        else if (rc != SC_OK)
            server_fail_store(call, rc);
        else
            out = server_json_update_result();
    }
    server__points_free(&p);
    free(filter);
    return out;
}

/* update_vectors {"points": [{id, vector}], "update_filter"?}: the given
** vectors replace the points' own, the rest stays; a point that does not
** match update_filter keeps its vectors (sc_points_update_vectors_ex). */
static json_t *server__op_update_vectors(server_call *call, const char *coll, const json_t *obj) {
    server_points p;
    json_t *out = NULL;
    char *filter = NULL;
    if (!json_is_array(json_object_get(obj, "points")))
        return server_fail(call, 400, "Json deserialize error: `points` must be a list of {id, vector}");
    if (!server__write_conditions(call, obj, &filter, NULL)) return NULL;
    if (server__decode_upsert(call, obj, &p)) {
        for (size_t i = 0; i < p.n && !call->status; i++) {
            if (p.pts[i].text) server_fail(call, 400, "Wrong input: points[%zu]: a BM25 document cannot be updated alone; upsert the point", i);
            if (!p.pts[i].n_vectors && !p.pts[i].n_sparse && !p.pts[i].n_multivecs)
                server_fail(call, 422, "Validation error in JSON body: [points[%zu].vector: must specify vectors to update "
                                       "for point]", i);
            p.pts[i].payload_parsed = NULL; /* PointVectors has no payload */
        }
        sc_status rc = call->status ? SC_OK : sc_points_update_vectors_ex(call->ctx->db, coll, p.pts, p.n, filter, NULL);
        if (call->status) {
        } else if (rc == SC_NOTFOUND && sc_collection_exists(call->ctx->db, coll)) {
            server__fail_missing(call);
        } else if (rc != SC_OK) {
            server_fail_store(call, rc);
        } else {
            out = server_json_update_result();
        }
    }
    server__points_free(&p);
    free(filter);
    return out;
}

/* delete_vectors {"points" | "filter", "vector": [names]}. */
static json_t *server__op_delete_vectors(server_call *call, const char *coll, const json_t *obj) {
    const json_t *names = json_object_get(obj, "vector");
    if (!json_is_array(names) || json_array_size(names) == 0)
        return server_fail(call, 400, "Json deserialize error: `vector` must be a non-empty list of vector names");
    sc_selector sel;
    sc_point_id *ids = NULL;
    char *filter = NULL;
    if (!server_json_selector(call, obj, &sel, &ids, &filter)) return NULL;
    size_t n = json_array_size(names);
    const char **v = calloc(n, sizeof *v);
    json_t *out = NULL;
    for (size_t i = 0; v && i < n && !call->status; i++)
        if (!(v[i] = json_string_value(json_array_get(names, i))))
            server_fail(call, 400, "Json deserialize error: vector[%zu] must be a string", i);
    if (!v) server_fail(call, 500, "out of memory");
    sc_status rc = call->status ? SC_OK : sc_points_delete_vectors(call->ctx->db, coll, &sel, v, n, NULL);
    if (!call->status && rc == SC_NOTFOUND && sc_collection_exists(call->ctx->db, coll))
        server__fail_missing(call);
    else if (!call->status && rc != SC_OK)
        server_fail_store(call, rc);
    else if (!call->status)
        out = server_json_update_result();
    free(v);
    free(ids);
    free(filter);
    return out;
}

json_t *server_api_vectors_update(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    return server__op_update_vectors(call, coll, call->body);
}

json_t *server_api_vectors_delete(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    if (!call->body) return server_fail(call, 400, "Json deserialize error: a request body is required");
    return server__op_delete_vectors(call, coll, call->body);
}

json_t *server_api_points_upsert(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    return server__op_upsert(call, coll, call->body);
}

/* ==== NDJSON upsert ==== */

/* DESIGN: POST /collections/{c}/points/ndjson takes one point per line, in
** the format of `semcode load` ({"id", "vector", "payload"}). http.c spools
** the body to a file as it arrives (no max_body_bytes, only the disk), so
** the server never holds the whole body; here the file is read line by line
** and every SERVER__NDJSON_BATCH points go through the normal upsert (same
** validation, messages, strict mode as points_upsert). Each batch is one
** atomic store call: a bad line stops the request with 400 naming the line,
** and the batches before it stay stored (the message says how many points);
** nothing of the bad line's own batch is stored. */

#define SERVER__NDJSON_BATCH 256

/* Read the next line of in into line (without its newline), at most max
** bytes: 1 read, 0 at the end, -1 when the line is longer than max (the rest
** of it is skipped). */
static int server__ndjson_line(FILE *in, util_buf *line, size_t max) {
    char chunk[1 << 16];
    line->len = 0;
    bool any = false, over = false;
    while (fgets(chunk, sizeof chunk, in)) {
        any = true;
        size_t n = strlen(chunk);
        bool end = n && chunk[n - 1] == '\n';
        if (end) n--;
        if (!over && line->len + n > max) over = true;
        if (!over) util_buf_append(line, chunk, n);
        if (end) break;
    }
    return over ? -1 : any ? 1 : 0;
}

/* Rewrite the error of a failed batch to name the line it came from:
** lines[i] is the line of the batch's point i (n points); stored points were
** kept before it. A message on points[i] names that line, others the batch's. */
static void server__ndjson_blame(server_call *call, const size_t *lines, size_t n, uint64_t stored) {
    char msg[sizeof call->msg + 64];
    const char *at = strstr(call->msg, "points[");
    char *end = NULL;
    unsigned long long i = at ? strtoull(at + 7, &end, 10) : 0;
    if (at && end && *end == ']' && i < n)
        snprintf(msg, sizeof msg, "line %zu: %.*spoint%s", lines[i], (int)(at - call->msg), call->msg, end + 1);
    else
        snprintf(msg, sizeof msg, "lines %zu-%zu: %s", lines[0], lines[n - 1], call->msg);
    snprintf(call->msg, sizeof call->msg, "%.960s (%llu points stored before it)", msg, (unsigned long long)stored);
}

/* Upsert the points gathered in req as one batch, checked by strict mode as
** a points_upsert: true, or false after an error naming its line. */
static bool server__ndjson_flush(server_call *call, const char *coll, json_t *req, const size_t *lines,
                                 uint64_t *stored) {
    json_t *pts = json_object_get(req, "points");
    size_t n = json_array_size(pts);
    if (!n) return true;
    json_t *saved = call->body;
    call->body = req;
    json_t *out = server_strict_check(call, "points_upsert") ? server__op_upsert(call, coll, req) : NULL;
    call->body = saved;
    if (!out) {
        if (!call->status) server_fail(call, 500, "internal error");
        server__ndjson_blame(call, lines, n, *stored);
        return false;
    }
    json_decref(out);
    *stored += n;
    json_array_clear(pts);
    return true;
}

json_t *server_api_points_ndjson(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    if (!call->req->upload_path)
        return server_fail(call, 400, "Wrong input: points/ndjson takes its body over HTTP only");
    FILE *in = fopen(call->req->upload_path, "r");
    if (!in) return server_fail(call, 500, "Service internal error: cannot read the spooled request body");
    json_t *req = json_object(), *pts = json_array();
    json_object_set_new(req, "points", pts);
    size_t lines[SERVER__NDJSON_BATCH], lineno = 0, max = call->ctx->cfg.max_body_bytes;
    uint64_t stored = 0;
    util_buf line = {0};
    bool ok = true;
    int r;
    while (ok && (r = server__ndjson_line(in, &line, max)) != 0) {
        lineno++;
        if (r < 0) {
            server_fail(call, 400, "Wrong input: line %zu: longer than max_body_bytes (%zu bytes) (%llu points "
                        "stored before it)", lineno, max, (unsigned long long)stored);
            ok = false;
            break;
        }
        if (line.oom) {
            server_fail(call, 500, "Service internal error: out of memory reading line %zu", lineno);
            ok = false;
            break;
        }
        size_t k = 0;
        while (k < line.len && strchr(" \t\r", line.data[k])) k++;
        if (k == line.len) continue; /* blank lines are skipped, as by `semcode load` */
        json_error_t e;
        json_t *pt = json_loadb(line.data, line.len, JSON_REJECT_DUPLICATES, &e);
        if (!json_is_object(pt)) {
            if (pt)
                server_fail(call, 400, "Json deserialize error: line %zu: a point must be a JSON object (%llu "
                            "points stored before it)", lineno, (unsigned long long)stored);
            else
                server_fail(call, 400, "Json deserialize error: line %zu: %s at column %d (%llu points stored "
                            "before it)", lineno, e.text, e.column, (unsigned long long)stored);
            json_decref(pt);
            ok = false;
            break;
        }
        lines[json_array_size(pts)] = lineno;
        json_array_append_new(pts, pt);
        if (json_array_size(pts) == SERVER__NDJSON_BATCH) ok = server__ndjson_flush(call, coll, req, lines, &stored);
    }
    if (ok && ferror(in)) {
        server_fail(call, 500, "Service internal error: cannot read the spooled request body");
        ok = false;
    }
    if (ok) ok = server__ndjson_flush(call, coll, req, lines, &stored);
    fclose(in);
    util_buf_free(&line);
    json_decref(req);
    if (!ok) return NULL;
    json_t *res = server_json_update_result();
    json_object_set_new(res, "stored", json_integer((json_int_t)stored));
    json_object_set_new(res, "lines", json_integer((json_int_t)lineno));
    return res;
}

/* ==== Get ==== */

json_t *server_api_point_get(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    const char *s = call->args[1];
    sc_point_id id;
    if (s[0] >= '0' && s[0] <= '9' && strspn(s, "0123456789") == strlen(s)) {
        errno = 0;
        unsigned long long v = strtoull(s, NULL, 10);
        if (errno || v > (unsigned long long)INT64_MAX)
            return server_fail(call, 400, "Wrong input: point id %s is out of range (at most 2^63-1)", s);
        id = sc_point_id_num(v);
    } else if (sc_point_id_parse_uuid(s, &id) != SC_OK) {
        return server_fail(call, 400, "Wrong input: `%.64s` is not a valid point id (unsigned integer or UUID)", s);
    }
    sc_with with = {.payload = true, .vectors = true};
    sc_record_list *l = NULL;
    sc_status rc = sc_points_get(call->ctx->db, coll, &id, 1, &with, &l);
    if (rc != SC_OK) return server_fail_store(call, rc);
    json_t *out = l->n ? server_json_record(&l->items[0], false) : NULL;
    sc_record_list_free(l);
    if (!out) return server_fail(call, 404, "No point with id %s found", s);
    return out;
}

json_t *server_api_points_get(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    const json_t *ids_j = call->body ? json_object_get(call->body, "ids") : NULL;
    if (!ids_j) return server_fail(call, 400, "Json deserialize error: missing field `ids`");
    sc_point_id *ids = NULL;
    size_t n = 0;
    server_with w;
    if (!server_json_ids(call, ids_j, "ids", &ids, &n)) return NULL;
    if (!server_json_with(call, call->body, true, &w)) {
        free(ids);
        return NULL;
    }
    sc_record_list *l = NULL;
    sc_status rc = sc_points_get(call->ctx->db, coll, ids, n, &w.with, &l);
    json_t *out = rc == SC_OK ? server_json_records(l, false) : server_fail_store(call, rc);
    sc_record_list_free(l);
    server_with_free(&w);
    free(ids);
    return out;
}

/* ==== Delete and payload ==== */

typedef enum server_write {
    SERVER_WRITE_DELETE = 0,    /* delete points */
    SERVER_WRITE_SET,           /* merge payload */
    SERVER_WRITE_OVERWRITE,     /* replace payload */
    SERVER_WRITE_DELETE_KEYS,   /* remove payload keys */
    SERVER_WRITE_CLEAR,         /* remove all payload */
} server_write;

static json_t *server__op_write(server_call *call, const char *coll, const json_t *obj, server_write op) {
    sc_selector sel;
    sc_point_id *ids = NULL;
    char *filter = NULL, *payload = NULL;
    const char **keys = NULL, *at = NULL;
    json_t *out = NULL;
    sc_status rc = SC_OK;
    if (!obj) return server_fail(call, 400, "Json deserialize error: a request body is required");
    if (!server_json_selector(call, obj, &sel, &ids, &filter)) return NULL;
    if (op == SERVER_WRITE_SET || op == SERVER_WRITE_OVERWRITE) {
        const json_t *pl = json_object_get(obj, "payload");
        if (!json_is_object(pl)) {
            server_fail(call, 400, "Json deserialize error: `payload` must be an object");
            goto done;
        }
        const json_t *key = json_object_get(obj, "key");
        if (key && !json_is_null(key) && (op != SERVER_WRITE_SET || !json_is_string(key))) {
            server_fail(call, 400, op == SERVER_WRITE_SET ? "Json deserialize error: `key` must be a string"
                                                         : "Wrong input: `key` is supported by set_payload only");
            goto done;
        }
        at = json_string_value(key);
        payload = server_json_text(pl);
    }
    size_t n_keys = 0;
    if (op == SERVER_WRITE_DELETE_KEYS) {
        const json_t *k = json_object_get(obj, "keys");
        if (!json_is_array(k)) {
            server_fail(call, 400, "Json deserialize error: `keys` must be an array of strings");
            goto done;
        }
        n_keys = json_array_size(k);
        keys = calloc(n_keys ? n_keys : 1, sizeof *keys);
        for (size_t i = 0; keys && i < n_keys; i++) {
            keys[i] = json_string_value(json_array_get(k, i));
            if (!keys[i]) {
                server_fail(call, 400, "Json deserialize error: keys[%zu] must be a string", i);
                goto done;
            }
        }
    }
    sc_db *db = call->ctx->db;
    switch (op) {
    case SERVER_WRITE_DELETE:
        rc = sel.n_ids ? sc_points_delete(db, coll, sel.ids, sel.n_ids, NULL)
                       : sc_points_delete_by_filter(db, coll, sel.filter_json, NULL);
        break;
    case SERVER_WRITE_SET: rc = sc_payload_set_at(db, coll, &sel, at, payload, NULL); break;
    case SERVER_WRITE_OVERWRITE: rc = sc_payload_overwrite(db, coll, &sel, payload, NULL); break;
    case SERVER_WRITE_DELETE_KEYS: rc = sc_payload_delete_keys(db, coll, &sel, keys, n_keys, NULL); break;
    case SERVER_WRITE_CLEAR: rc = sc_payload_clear(db, coll, &sel, NULL); break;
    }
    if (rc != SC_OK) server_fail_store(call, rc);
    else out = server_json_update_result();
done:
    free(ids);
    free(filter);
    free(payload);
    free(keys);
    return out;
}

/* Endpoint wrapper: resolve the collection, run one write on the body. */
static json_t *server__write(server_call *call, server_write op) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    return server__op_write(call, coll, call->body, op);
}

json_t *server_api_points_delete(server_call *call) { return server__write(call, SERVER_WRITE_DELETE); }
json_t *server_api_payload_set(server_call *call) { return server__write(call, SERVER_WRITE_SET); }
json_t *server_api_payload_overwrite(server_call *call) { return server__write(call, SERVER_WRITE_OVERWRITE); }
json_t *server_api_payload_delete(server_call *call) { return server__write(call, SERVER_WRITE_DELETE_KEYS); }
json_t *server_api_payload_clear(server_call *call) { return server__write(call, SERVER_WRITE_CLEAR); }

/* ==== Scroll and count ==== */

/* One entry of an order_by list. */
typedef struct server__ordered {
    sc_point_id id; /* point */
    double value;   /* one of its numbers at the key */
} server__ordered;

static int server__ordered_asc(const void *a, const void *b) {
    const server__ordered *x = a, *y = b;
    if (x->value != y->value) return x->value < y->value ? -1 : 1;
    return sc_point_id_cmp(&x->id, &y->id);
}

static int server__ordered_desc(const void *a, const void *b) {
    const server__ordered *x = a, *y = b;
    if (x->value != y->value) return x->value > y->value ? -1 : 1;
    return sc_point_id_cmp(&x->id, &y->id);
}

/* Append the numbers of v (a number, or an array of them) for id. */
static bool server__order_values(server__ordered **list, size_t *n, size_t *cap, const sc_point_id *id,
                                 const json_t *v) {
    size_t k = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < k; i++) {
        const json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_number(x)) continue;
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            server__ordered *g = realloc(*list, nc * sizeof *g);
            if (!g) return false;
            *list = g;
            *cap = nc;
        }
        (*list)[(*n)++] = (server__ordered){*id, json_number_value(x)};
    }
    return true;
}

bool server_order_by(server_call *call, const char *coll, const char *filter_json, const json_t *spec,
                     sc_point_id **ids, double **values, size_t *n) {
    *ids = NULL;
    *values = NULL;
    *n = 0;
    const char *key = json_is_string(spec) ? json_string_value(spec) : json_string_value(json_object_get(spec, "key"));
    const char *dir = json_string_value(json_object_get(spec, "direction"));
    const json_t *from = json_object_get(spec, "start_from");
    if (!key || (json_is_object(spec) && json_object_get(spec, "direction") && !json_is_null(json_object_get(spec, "direction")) &&
                 (!dir || (strcmp(dir, "asc") && strcmp(dir, "desc")))) ||
        (from && !json_is_null(from) && !json_is_number(from)))
        return server_fail(call, 400, "Json deserialize error: `order_by` must be a key or {\"key\", \"direction\": "
                                      "\"asc\"|\"desc\", \"start_from\": number}"), false;
    bool desc = dir && !strcmp(dir, "desc");
    sc_collection_info info;
    sc_status rc = sc_collection_info_get(call->ctx->db, coll, &info);
    if (rc != SC_OK) return server_fail_store(call, rc), false;
    bool indexed = false;
    for (size_t i = 0; i < info.n_field_indexes; i++)
        indexed |= !strcmp(info.field_indexes[i].key, key) &&
                   (info.field_indexes[i].type == SC_FIELD_TYPE_INTEGER || info.field_indexes[i].type == SC_FIELD_TYPE_FLOAT);
    uint64_t n_points = info.n_points;
    sc_collection_info_free(&info);
    if (!indexed)
        return server_fail(call, 400, "Bad request: No range index for `order_by` key: `%s`. Please create one to use "
                                      "`order_by` (an integer or float payload index)", key), false;
    const char *inc[1] = {key};
    sc_scroll_request req = {.filter_json = filter_json, .limit = (uint32_t)(n_points ? n_points : 1),
                             .with = {.payload = true, .payload_include = inc, .n_payload_include = 1}};
    sc_record_list *rl = NULL;
    if ((rc = sc_points_scroll(call->ctx->db, coll, &req, &rl, NULL, NULL)) != SC_OK) return server_fail_store(call, rc), false;
    server__ordered *list = NULL;
    size_t m = 0, cap = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < rl->n; i++) {
        json_t *p = json_loads(rl->items[i].payload_json, 0, NULL);
        const json_t *v = p;
        for (const char *s = key; v && *s;) { /* a dotted path */
            size_t len = strcspn(s, ".");
            v = json_object_getn(v, s, len);
            s += len + (s[len] == '.');
        }
        ok = !v || server__order_values(&list, &m, &cap, &rl->items[i].id, v);
        json_decref(p);
    }
    sc_record_list_free(rl);
    if (ok) qsort(list, m, sizeof *list, desc ? server__ordered_desc : server__ordered_asc);
    double start = json_is_number(from) ? json_number_value(from) : 0;
    size_t first = 0;
    while (ok && json_is_number(from) && first < m && (desc ? list[first].value > start : list[first].value < start)) first++;
    *ids = ok ? malloc((m - first ? m - first : 1) * sizeof **ids) : NULL;
    *values = ok ? malloc((m - first ? m - first : 1) * sizeof **values) : NULL;
    if (!*ids || !*values) {
        free(*ids);
        free(*values);
        free(list);
        *ids = NULL;
        *values = NULL;
        return server_fail(call, 500, "out of memory"), false;
    }
    for (size_t i = first; i < m; i++) {
        (*ids)[i - first] = list[i].id;
        (*values)[i - first] = list[i].value;
    }
    *n = m - first;
    free(list);
    return true;
}

/* Scroll with order_by: the first `limit` entries of server_order_by, each
** record with its order_value; no next page (as Qdrant). */
static json_t *server__scroll_ordered(server_call *call, const char *coll, const sc_scroll_request *req,
                                      const json_t *spec) {
    sc_point_id *ids = NULL;
    double *values = NULL;
    size_t n = 0;
    if (!server_order_by(call, coll, req->filter_json, spec, &ids, &values, &n)) return NULL;
    if (n > req->limit) n = req->limit;
    json_t *points = json_array();
    for (size_t i = 0; points && i < n; i++) {
        sc_record_list *rl = NULL;
        if (sc_points_get(call->ctx->db, coll, &ids[i], 1, &req->with, &rl) == SC_OK && rl->n) {
            json_t *r = server_json_record(&rl->items[0], false);
            json_object_set_new(r, "order_value", values[i] == floor(values[i]) && fabs(values[i]) < 9e15
                                                      ? json_integer((json_int_t)values[i])
                                                      : json_real(values[i]));
            json_array_append_new(points, r);
        }
        sc_record_list_free(rl);
    }
    free(ids);
    free(values);
    return points ? json_pack("{s:o,s:n}", "points", points, "next_page_offset") : server_fail(call, 500, "out of memory");
}

json_t *server_api_points_scroll(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    const json_t *b = call->body;
    sc_scroll_request req = {0};
    if (!server_json_limit(call, b, "limit", 10, 1, &req.limit)) return NULL;
    const json_t *off = b ? json_object_get(b, "offset") : NULL;
    if (off && !json_is_null(off)) {
        if (!server_json_id(call, off, "offset", &req.offset)) return NULL;
        req.has_offset = true;
    }
    const json_t *order = b ? json_object_get(b, "order_by") : NULL;
    if (order && json_is_null(order)) order = NULL;
    if (order && req.has_offset)
        return server_fail(call, 400, "Bad request: Can't use `offset` with `order_by`; use `order_by.start_from`");
    char *filter = NULL;
    server_with w;
    if (!server_json_filter(call, b, "filter", &filter)) return NULL;
    if (!server_json_with(call, b, true, &w)) {
        free(filter);
        return NULL;
    }
    req.filter_json = filter;
    req.with = w.with;
    if (order) {
        json_t *res = server__scroll_ordered(call, coll, &req, order);
        server_with_free(&w);
        free(filter);
        return res;
    }
    /* (not before: with order_by a point with several numbers comes once for each) */
    server_clamp_to_points(call, coll, &req.limit, NULL);
    sc_record_list *l = NULL;
    sc_point_id next;
    bool has_next = false;
    sc_status rc = sc_points_scroll(call->ctx->db, coll, &req, &l, &next, &has_next);
    json_t *out = NULL;
    if (rc != SC_OK) server_fail_store(call, rc);
    else
        out = json_pack("{s:o,s:o}", "points", server_json_records(l, false), "next_page_offset",
                        has_next ? server_json_id_encode(&next) : json_null());
    sc_record_list_free(l);
    server_with_free(&w);
    free(filter);
    return out;
}

json_t *server_api_points_count(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    char *filter = NULL;
    bool exact;
    if (!server_json_bool(call, call->body, "exact", true, &exact)) return NULL;
    if (!server_json_filter(call, call->body, "filter", &filter)) return NULL;
    uint64_t n = 0;
    sc_status rc = sc_points_count(call->ctx->db, coll, filter, &n);
    free(filter);
    if (rc != SC_OK) return server_fail_store(call, rc);
    return json_pack("{s:I}", "count", (json_int_t)n);
}

/* ==== Batch of updates ==== */

json_t *server_api_points_batch(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    const json_t *ops = call->body ? json_object_get(call->body, "operations") : NULL;
    if (!json_is_array(ops)) return server_fail(call, 400, "Json deserialize error: `operations` must be an array");
    static const struct {
        const char *name; /* operation key */
        int op;           /* server_write, or -1 for upsert */
    } kinds[] = {{"upsert", -1},
                 {"update_vectors", -2},
                 {"delete_vectors", -3},
                 {"delete", SERVER_WRITE_DELETE},
                 {"set_payload", SERVER_WRITE_SET},
                 {"overwrite_payload", SERVER_WRITE_OVERWRITE},
                 {"delete_payload", SERVER_WRITE_DELETE_KEYS},
                 {"clear_payload", SERVER_WRITE_CLEAR}};
    /* Check every operation's shape before applying any. */
    size_t i;
    const json_t *op;
    json_array_foreach(ops, i, op) {
        bool known = false;
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds && json_is_object(op); k++)
            if (json_is_object(json_object_get(op, kinds[k].name))) known = true;
        if (!known)
            return server_fail(call, 400,
                               "Json deserialize error: operations[%zu] must be one of upsert, delete, set_payload, "
                               "overwrite_payload, delete_payload, clear_payload, update_vectors, delete_vectors",
                               i);
    }
    json_t *results = json_array();
    json_array_foreach(ops, i, op) {
        json_t *r = NULL;
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
            const json_t *arg = json_object_get(op, kinds[k].name);
            if (!json_is_object(arg)) continue;
            r = kinds[k].op == -1   ? server__op_upsert(call, coll, arg)
                : kinds[k].op == -2 ? server__op_update_vectors(call, coll, arg)
                : kinds[k].op == -3 ? server__op_delete_vectors(call, coll, arg)
                                    : server__op_write(call, coll, arg, (server_write)kinds[k].op);
            break;
        }
        if (!r) {
            json_decref(results);
            /* earlier operations stay applied, as in Qdrant */
            if (call->status) {
                char msg[sizeof call->msg + 64];
                snprintf(msg, sizeof msg, "operations[%zu]: %s", i, call->msg);
                snprintf(call->msg, sizeof call->msg, "%.1000s", msg);
            }
            return NULL;
        }
        json_array_append_new(results, r);
    }
    return results;
}
