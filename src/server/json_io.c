/*
** server/json_io.c: decoding Qdrant's JSON request shapes (point ids,
** vectors, with_payload / with_vector selectors, filters, typed optional
** fields) and encoding records. Every decoding error names the field:
** wrong JSON types answer 400 ("Json deserialize error"), values of the
** right type outside their range 422 ("Validation error").
*/
#include "server/server_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== Scalars ==== */

bool server_json_uint(server_call *call, const json_t *obj, const char *key, uint64_t def, uint64_t min,
                      uint64_t max, uint64_t *out) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v || json_is_null(v)) {
        *out = def;
        return true;
    }
    if (!json_is_integer(v)) {
        server_fail(call, 400, "Json deserialize error: `%s` must be an unsigned integer", key);
        return false;
    }
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x < min || (uint64_t)x > max) {
        if (max == (uint64_t)INT64_MAX)
            server_fail(call, 422, "Validation error in JSON body: [%s: value %lld invalid, must be %llu or larger]", key,
                        (long long)x, (unsigned long long)min);
        else
            server_fail(call, 422, "Validation error in JSON body: [%s: value %lld invalid, must be in %llu..%llu]", key,
                        (long long)x, (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    *out = (uint64_t)x;
    return true;
}

bool server_json_limit(server_call *call, const json_t *obj, const char *key, uint32_t def, uint32_t min,
                       uint32_t *out) {
    uint64_t x;
    if (!server_json_uint(call, obj, key, def, min, (uint64_t)INT64_MAX, &x)) return false;
    *out = (uint32_t)(x < UINT32_MAX ? x : UINT32_MAX);
    return true;
}

void server_clamp_to_points(server_call *call, const char *coll, uint32_t *limit, uint32_t *offset) {
    uint64_t n = 0;
    if (sc_points_count(call->ctx->db, coll, NULL, &n) != SC_OK) return; /* the call that follows reports it */
    uint32_t off = offset ? *offset : 0;
    if (off > n) off = (uint32_t)n;
    uint64_t room = n - off > 0 ? n - off : 1;
    if (room > 1000000u - (off < 1000000u ? off : 999999u)) room = 1000000u - (off < 1000000u ? off : 999999u);
    if (*limit > room) *limit = (uint32_t)room;
    if (offset) *offset = off;
}

bool server_json_number(server_call *call, const json_t *obj, const char *key, const char *parent, double def,
                        double min, double max, double *out) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v || json_is_null(v)) {
        *out = def;
        return true;
    }
    if (!json_is_number(v)) {
        if (parent) server_fail(call, 400, "Json deserialize error: in `%s`, `%s` must be a number", parent, key);
        else server_fail(call, 400, "Json deserialize error: `%s` must be a number", key);
        return false;
    }
    double x = json_number_value(v);
    if (!(x >= min && x <= max)) {
        server_fail(call, 422, "Validation error in JSON body: [%s%s%s: value %g invalid, must be from %g to %g]",
                    parent ? parent : "", parent ? "." : "", key, x, min, max);
        return false;
    }
    *out = x;
    return true;
}

bool server_json_bool(server_call *call, const json_t *obj, const char *key, bool def, bool *out) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v || json_is_null(v)) {
        *out = def;
        return true;
    }
    if (!json_is_boolean(v)) {
        server_fail(call, 400, "Json deserialize error: `%s` must be true or false", key);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

bool server_json_str(server_call *call, const json_t *obj, const char *key, const char **out) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    *out = NULL;
    if (!v || json_is_null(v)) return true;
    if (!json_is_string(v)) {
        server_fail(call, 400, "Json deserialize error: `%s` must be a string", key);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

char *server_json_text(const json_t *v) {
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
}

bool server_json_filter(server_call *call, const json_t *obj, const char *key, char **out) {
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    *out = NULL;
    if (!v || json_is_null(v)) return true;
    if (!json_is_object(v)) {
        server_fail(call, 400, "Json deserialize error: `%s` must be a filter object", key);
        return false;
    }
    *out = server_json_text(v);
    if (!*out) {
        server_fail(call, 500, "out of memory");
        return false;
    }
    return true;
}

json_t *server_json_update_result(void) {
    static uint64_t op; /* operation counter, as Qdrant's operation_id (not durable) */
    uint64_t id = __atomic_add_fetch(&op, 1, __ATOMIC_RELAXED);
    return json_pack("{s:I,s:s}", "operation_id", (json_int_t)id, "status", "completed");
}

/* ==== Ids ==== */

bool server_json_id(server_call *call, const json_t *v, const char *what, sc_point_id *out) {
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0) {
            server_fail(call, 400, "Json deserialize error: %s: point id %lld is negative; ids are unsigned integers or UUIDs",
                        what, (long long)x);
            return false;
        }
        *out = sc_point_id_num((uint64_t)x);
        return true;
    }
    if (json_is_string(v)) {
        if (sc_point_id_parse_uuid(json_string_value(v), out) != SC_OK) {
            server_fail(call, 400, "Json deserialize error: %s: `%.64s` is not a valid UUID (point ids are unsigned integers or UUIDs)",
                        what, json_string_value(v));
            return false;
        }
        return true;
    }
    server_fail(call, 400, "Json deserialize error: %s: a point id must be an unsigned integer or a UUID string", what);
    return false;
}

bool server_json_ids(server_call *call, const json_t *v, const char *what, sc_point_id **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!json_is_array(v)) {
        server_fail(call, 400, "Json deserialize error: `%s` must be an array of point ids", what);
        return false;
    }
    size_t cnt = json_array_size(v);
    sc_point_id *ids = calloc(cnt ? cnt : 1, sizeof *ids);
    if (!ids) {
        server_fail(call, 500, "out of memory");
        return false;
    }
    for (size_t i = 0; i < cnt; i++) {
        char where[96];
        snprintf(where, sizeof where, "%s[%zu]", what, i);
        if (!server_json_id(call, json_array_get(v, i), where, &ids[i])) {
            free(ids);
            return false;
        }
    }
    *out = ids;
    *n = cnt;
    return true;
}

json_t *server_json_id_encode(const sc_point_id *id) {
    if (id->kind == SC_ID_KIND_NUM) {
        if (id->num > (uint64_t)INT64_MAX) return json_real((double)id->num); /* never stored through HTTP */
        return json_integer((json_int_t)id->num);
    }
    char buf[48];
    return json_string(sc_point_id_format(id, buf, sizeof buf));
}

/* ==== Documents (inference objects) ==== */

bool server_json_document(server_call *call, const json_t *doc, const char *where, const char **text,
                          const char **model) {
    const json_t *t = json_object_get(doc, "text"), *m = json_object_get(doc, "model");
    if (!json_is_string(t) || !*json_string_value(t))
        return server_fail(call, 400, "Json deserialize error: `%s.text` must be a non-empty string", where), false;
    if (m && !json_is_null(m) && !json_is_string(m))
        return server_fail(call, 400, "Json deserialize error: `%s.model` must be a string", where), false;
    *text = json_string_value(t);
    *model = json_string_value(m);
    return true;
}

/* ==== Vectors ==== */

bool server_json_floats(server_call *call, const json_t *v, const char *what, float **out, uint32_t *n) {
    *out = NULL;
    *n = 0;
    if (!json_is_array(v)) {
        server_fail(call, 400, "Json deserialize error: `%s` must be an array of numbers", what);
        return false;
    }
    size_t cnt = json_array_size(v);
    if (cnt == 0) { /* Qdrant's words */
        server_fail(call, 422, "Validation error in JSON body: [%s: dense vector must not be empty]", what);
        return false;
    }
    if (cnt > SC_MAX_DIM) {
        server_fail(call, 422, "Validation error in JSON body: [%s: vector of %zu numbers, must have 1..%u]", what,
                    cnt, SC_MAX_DIM);
        return false;
    }
    float *f = malloc(cnt * sizeof *f);
    if (!f) {
        server_fail(call, 500, "out of memory");
        return false;
    }
    for (size_t i = 0; i < cnt; i++) {
        const json_t *x = json_array_get(v, i);
        if (!json_is_number(x)) {
            free(f);
            server_fail(call, 400, "Json deserialize error: %s[%zu] must be a number", what, i);
            return false;
        }
        double d = json_number_value(x);
        if (!isfinite(d) || fabs(d) > 3.4e38) {
            free(f);
            server_fail(call, 400, "Json deserialize error: %s[%zu] is not a finite 32-bit float", what, i);
            return false;
        }
        f[i] = (float)d;
    }
    *out = f;
    *n = (uint32_t)cnt;
    return true;
}

/* ==== Sparse vectors ==== */

bool server_json_is_sparse(const json_t *v) {
    return json_is_object(v) && (json_object_get(v, "indices") || json_object_get(v, "values"));
}

static int server__u32_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

bool server_json_sparse(server_call *call, const json_t *v, const char *where, const char *qwhere,
                        server_sparse *out) {
    memset(out, 0, sizeof *out);
    const json_t *ix = json_object_get(v, "indices"), *vals = json_object_get(v, "values");
    const char *key;
    const json_t *x;
    json_object_foreach((json_t *)v, key, x) {
        if (strcmp(key, "indices") && strcmp(key, "values"))
            return server_fail(call, 400, "Json deserialize error: %s: unknown field `%.64s`, expected `indices` and "
                               "`values`", where, key), false;
    }
    if (!json_is_array(ix) || !json_is_array(vals))
        return server_fail(call, 400, "Json deserialize error: %s: a sparse vector needs `indices` (an array of "
                           "unsigned 32-bit integers) and `values` (an array of numbers)", where), false;
    size_t ni = json_array_size(ix), nv = json_array_size(vals);
    if (ni != nv)
        return server_fail(call, 422, "Validation error in JSON body: [%s.values: Validation error: must be the same "
                           "length as indices [{}]] (%s: %zu values for %zu indices)", qwhere, where, nv, ni), false;
    if (ni > SC_MAX_SPARSE_NNZ)
        return server_fail(call, 422, "Validation error in JSON body: [%s.indices: at most %u entries] (%s has %zu)",
                           qwhere, SC_MAX_SPARSE_NNZ, where, ni), false;
    out->indices = malloc(sizeof *out->indices * (ni ? ni : 1));
    out->values = malloc(sizeof *out->values * (ni ? ni : 1));
    uint32_t *sorted = malloc(sizeof *sorted * (ni ? ni : 1));
    if (!out->indices || !out->values || !sorted) {
        free(sorted);
        server_sparse_free(out);
        return server_fail(call, 500, "out of memory"), false;
    }
    for (size_t i = 0; i < ni; i++) {
        const json_t *a = json_array_get(ix, i), *b = json_array_get(vals, i);
        if (!json_is_integer(a) || json_integer_value(a) < 0 || json_integer_value(a) > (json_int_t)UINT32_MAX) {
            free(sorted);
            server_sparse_free(out);
            return server_fail(call, 400, "Json deserialize error: %s.indices[%zu] must be an unsigned 32-bit integer "
                               "(0 to 4294967295)", where, i), false;
        }
        double d = json_is_number(b) ? json_number_value(b) : (double)NAN;
        if (!isfinite(d) || fabs(d) > 3.4e38) {
            free(sorted);
            server_sparse_free(out);
            return server_fail(call, 400, "Json deserialize error: %s.values[%zu] is not a finite 32-bit float",
                               where, i), false;
        }
        out->indices[i] = sorted[i] = (uint32_t)json_integer_value(a);
        out->values[i] = (float)d;
    }
    qsort(sorted, ni, sizeof *sorted, server__u32_cmp);
    for (size_t i = 1; i < ni; i++)
        if (sorted[i] == sorted[i - 1]) {
            uint32_t dup = sorted[i];
            free(sorted);
            server_sparse_free(out);
            return server_fail(call, 422, "Validation error in JSON body: [%s.indices: Validation error: must be "
                               "unique [{}]] (%s: index %u is given twice)", qwhere, where, dup), false;
        }
    free(sorted);
    out->n = (uint32_t)ni;
    return true;
}

void server_sparse_free(server_sparse *s) {
    if (!s) return;
    free(s->indices);
    free(s->values);
    memset(s, 0, sizeof *s);
}

/* ==== with_payload / with_vector ==== */

/* Borrowed strings of a JSON array of strings into an owned array. */
static bool server__strings(server_call *call, const json_t *arr, const char *what, const char ***out, size_t *n) {
    size_t cnt = json_array_size(arr);
    const char **s = calloc(cnt ? cnt : 1, sizeof *s);
    if (!s) {
        server_fail(call, 500, "out of memory");
        return false;
    }
    for (size_t i = 0; i < cnt; i++) {
        const json_t *x = json_array_get(arr, i);
        if (!json_is_string(x)) {
            free(s);
            server_fail(call, 400, "Json deserialize error: %s[%zu] must be a string", what, i);
            return false;
        }
        s[i] = json_string_value(x);
    }
    *out = s;
    *n = cnt;
    return true;
}

bool server_json_with(server_call *call, const json_t *obj, bool payload_default, server_with *out) {
    memset(out, 0, sizeof *out);
    out->with.payload = payload_default;
    const json_t *wp = obj ? json_object_get(obj, "with_payload") : NULL;
    if (wp && !json_is_null(wp)) {
        size_t n = 0;
        if (json_is_boolean(wp)) {
            out->with.payload = json_is_true(wp);
        } else if (json_is_array(wp)) {
            if (!server__strings(call, wp, "with_payload", &out->keys, &n)) return false;
            out->with.payload = true;
            out->with.payload_include = out->keys;
            out->with.n_payload_include = n;
        } else if (json_is_object(wp) && json_is_array(json_object_get(wp, "include"))) {
            if (!server__strings(call, json_object_get(wp, "include"), "with_payload.include", &out->keys, &n))
                return false;
            out->with.payload = true;
            out->with.payload_include = out->keys;
            out->with.n_payload_include = n;
        } else if (json_is_object(wp) && json_is_array(json_object_get(wp, "exclude"))) {
            if (!server__strings(call, json_object_get(wp, "exclude"), "with_payload.exclude", &out->keys, &n))
                return false;
            out->with.payload = true;
            out->with.payload_exclude = out->keys;
            out->with.n_payload_exclude = n;
        } else {
            server_fail(call, 400,
                        "Json deserialize error: `with_payload` must be a bool, a list of keys, {\"include\": [...]} "
                        "or {\"exclude\": [...]}");
            return false;
        }
    }
    const json_t *wv = obj ? json_object_get(obj, "with_vector") : NULL;
    if (!wv && obj) wv = json_object_get(obj, "with_vectors");
    if (wv && !json_is_null(wv)) {
        if (json_is_boolean(wv)) {
            out->with.vectors = json_is_true(wv);
        } else if (json_is_array(wv)) {
            size_t n = 0;
            if (!server__strings(call, wv, "with_vector", &out->names, &n)) {
                server_with_free(out);
                return false;
            }
            out->with.vectors = true;
            out->with.vector_names = out->names;
            out->with.n_vector_names = n;
        } else {
            server_with_free(out);
            server_fail(call, 400, "Json deserialize error: `with_vector` must be a bool or a list of vector names");
            return false;
        }
    }
    return true;
}

void server_with_free(server_with *w) {
    if (!w) return;
    free(w->keys);
    free(w->names);
    memset(w, 0, sizeof *w);
}

/* ==== Selectors ==== */

bool server_json_selector(server_call *call, const json_t *obj, sc_selector *sel, sc_point_id **ids_owned,
                          char **filter_owned) {
    memset(sel, 0, sizeof *sel);
    *ids_owned = NULL;
    *filter_owned = NULL;
    const json_t *pts = obj ? json_object_get(obj, "points") : NULL;
    const json_t *flt = obj ? json_object_get(obj, "filter") : NULL;
    if (pts && !json_is_null(pts)) {
        size_t n = 0;
        if (!server_json_ids(call, pts, "points", ids_owned, &n)) return false;
        sel->ids = *ids_owned;
        sel->n_ids = n;
        if (n == 0) {
            /* an empty id list selects nothing: a filter matching no point */
            *filter_owned = strdup("{\"must\":[{\"has_id\":[]}]}");
            sel->filter_json = *filter_owned;
        }
        return true;
    }
    if (flt && !json_is_null(flt)) {
        if (!server_json_filter(call, obj, "filter", filter_owned)) return false;
        sel->filter_json = *filter_owned;
        return true;
    }
    server_fail(call, 400, "Json deserialize error: expected `points` (a list of ids) or `filter`");
    return false;
}

/* ==== Records ==== */

json_t *server_json_f32(float f) {
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if (strtof(buf, NULL) == f) return json_real(strtod(buf, NULL));
    }
    return json_real((double)f); /* NaN and infinities never reach here (validated on upsert) */
}

bool server_json_is_multi(const json_t *v) {
    return json_is_array(v) && json_array_size(v) > 0 && json_is_array(json_array_get(v, 0));
}

bool server_json_multi(server_call *call, const json_t *v, const char *where, const char *qwhere, float **out,
                       uint32_t *dim, uint32_t *rows) {
    *out = NULL;
    size_t n = json_array_size(v);
    if (n > SC_MAX_MULTIVEC_ROWS)
        return server_fail(call, 422, "Validation error in JSON body: [%s: a multivector of %zu vectors, at most %u]",
                           qwhere, n, SC_MAX_MULTIVEC_ROWS), false;
    size_t d = 0;
    for (size_t i = 0; i < n; i++) { /* shape first, in Qdrant's words */
        const json_t *row = json_array_get(v, i);
        if (!json_is_array(row))
            return server_fail(call, 400, "Json deserialize error: %s[%zu] must be an array of numbers", where, i), false;
        if (json_array_size(row) == 0)
            return server_fail(call, 422, "Validation error in JSON body: [%s.data: all vectors must be non-empty]",
                               qwhere), false;
        if (i == 0) d = json_array_size(row);
        else if (json_array_size(row) != d)
            return server_fail(call, 422, "Validation error in JSON body: [%s.data: all vectors must have the same "
                               "dimension, found vector with dimension %zu]", qwhere, json_array_size(row)), false;
    }
    float *f = d <= SC_MAX_DIM ? malloc(sizeof *f * d * (n ? n : 1)) : NULL;
    if (!f) return server_fail(call, d > SC_MAX_DIM ? 422 : 500, d > SC_MAX_DIM ? "Validation error in JSON body: "
                               "[%s: vectors of %zu numbers, at most %u]" : "out of memory", qwhere, d, SC_MAX_DIM), false;
    for (size_t i = 0; i < n; i++) {
        char w[160];
        float *row = NULL;
        uint32_t got = 0;
        snprintf(w, sizeof w, "%s[%zu]", where, i);
        if (!server_json_floats(call, json_array_get(v, i), w, &row, &got)) {
            free(f);
            return false;
        }
        memcpy(f + i * d, row, sizeof *f * d);
        free(row);
    }
    *out = f;
    *dim = (uint32_t)d;
    *rows = (uint32_t)n;
    return true;
}

/* The JSON of vector i of r: a list of numbers, or of lists for a multivector. */
static json_t *server__vector_value(const sc_record *r, size_t i) {
    uint32_t d = r->vector_dims[i], rows = r->vector_rows ? r->vector_rows[i] : 0;
    json_t *a = json_array();
    for (uint32_t k = 0; k < (rows ? rows : 1); k++) {
        json_t *row = rows ? json_array() : a;
        for (uint32_t j = 0; j < d; j++) json_array_append_new(row, server_json_f32(r->vectors[i][(size_t)k * d + j]));
        if (rows) json_array_append_new(a, row);
    }
    return a;
}

json_t *server_json_record(const sc_record *r, bool with_score) {
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "id", server_json_id_encode(&r->id));
    if (with_score) json_object_set_new(o, "version", json_integer(0)); /* a ScoredPoint's; a Record has none */
    if (with_score) json_object_set_new(o, "score", server_json_f32(r->score));
    if (r->payload_json) {
        json_t *p = json_loads(r->payload_json, 0, NULL);
        json_object_set_new(o, "payload", p ? p : json_object());
    } else {
        json_object_set_new(o, "payload", json_null());
    }
    if (r->n_vectors == 0 && r->n_sparse == 0) {
        /* vectors asked (the store allocates the name arrays then) but none: {} as Qdrant; not asked: null */
        json_object_set_new(o, "vector", r->vector_names ? json_object() : json_null());
    } else if (r->n_vectors == 1 && r->n_sparse == 0 && r->vector_names[0][0] == 0) {
        json_object_set_new(o, "vector", server__vector_value(r, 0));
    } else {
        json_t *vo = json_object();
        for (size_t i = 0; i < r->n_vectors; i++)
            json_object_set_new(vo, r->vector_names[i][0] ? r->vector_names[i] : "", server__vector_value(r, i));
        for (size_t k = 0; k < r->n_sparse; k++) {
            const sc_sparse_vector *sv = &r->sparse[k];
            json_t *ix = json_array(), *vals = json_array();
            for (uint32_t j = 0; j < sv->n; j++) {
                json_array_append_new(ix, json_integer((json_int_t)sv->indices[j]));
                json_array_append_new(vals, server_json_f32(sv->values[j]));
            }
            json_object_set_new(vo, sv->name, json_pack("{s:o,s:o}", "indices", ix, "values", vals));
        }
        json_object_set_new(o, "vector", vo);
    }
    /* shard_key and order_value: absent when not set, as Qdrant serialises them */
    return o;
}

json_t *server_json_records(const sc_record_list *l, bool with_score) {
    json_t *a = json_array();
    if (!a) return NULL;
    for (size_t i = 0; l && i < l->n; i++) json_array_append_new(a, server_json_record(&l->items[i], with_score));
    return a;
}
