/*
** server/qconfig.c: Qdrant's collection configuration as the caller gave
** it, kept in the store's per-collection settings object, and the engine
** parameters derived from it.
**
** DESIGN
** - Qdrant's configuration is layered: collection-wide hnsw_config and
**   quantization_config, per-vector overrides (a partial hnsw_config, a
**   whole quantization_config), optimizers_config; PATCH merges into each
**   layer. The settings object keeps exactly those layers as given
**   ({"v":1, "hnsw_config", "quantization_config", "optimizers_config",
**   "wal_config", "on_disk_payload", "payload", "vectors": {name: {hnsw_config,
**   quantization_config, on_disk, memory, datatype}}, "sparse_vectors":
**   {name: {memory, datatype}}, "strict_mode_config"}), so GET
**   /collections/{c} echoes what was configured where it was configured.
** - The engine's parameters of a dense vector are a function of the
**   settings (server_qconfig_engine): m (0 = no graph), ef_construct, the
**   HNSW full_scan_threshold and optimizers_config.indexing_threshold, both
**   in KiB of vectors as in Qdrant (1 KiB = one 256-dimension float32
**   vector) and turned into numbers of vectors of that dimension;
**   indexing_threshold 0 disables the graph. Quantization: scalar int8 and
**   binary as configured; product quantization is recorded but searched
**   with the float32 vectors (the collection info says so in `warnings`).
** - A PATCH derives the engine parameters from the settings before and
**   after the change and sends the store only the fields that differ, so a
**   collection whose engine was configured otherwise (through the library,
**   or before settings existed) keeps what the PATCH does not touch.
*/
#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>

#define SERVER_QCONFIG_DEFAULT_KB 10000u /* Qdrant's default full_scan_threshold and indexing_threshold, KiB */

/* ==== Validation ==== */

/* Memory placement `v` at `where`: cold, cached or pinned; pinned refused
** (422) when !pinned_ok (dense vector and payload storage, as Qdrant). */
bool server_qconfig_memory(server_call *call, const json_t *v, const char *where, bool pinned_ok) {
    if (!v || json_is_null(v)) return true;
    const char *m = json_string_value(v);
    if (!m || (strcmp(m, "cold") && strcmp(m, "cached") && strcmp(m, "pinned")))
        return server_fail(call, 400, "Json deserialize error: `%s`: unknown variant, expected one of `cold`, "
                           "`cached`, `pinned`", where), false;
    if (!pinned_ok && !strcmp(m, "pinned"))
        return server_fail(call, 422, "Validation error in JSON body: [%s: `pinned` is not supported for this storage, "
                           "use `cached` or `cold`]", where), false;
    return true;
}

/* A copy of object o without its null members (NULL when o is not an object). */
static json_t *server__given(const json_t *o) {
    if (!json_is_object(o)) return NULL;
    json_t *c = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (!json_is_null(v)) json_object_set(c, k, v);
    }
    return c;
}

/* Merge the non-null members of diff into dst[key] (created when missing). */
static void server__merge_into(json_t *dst, const char *key, const json_t *diff) {
    json_t *cur = json_object_get(dst, key);
    if (!json_is_object(cur)) json_object_set_new(dst, key, cur = json_object());
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)diff, k, v) {
        if (!json_is_null(v)) json_object_set(cur, k, v);
    }
}

/* Set dst[key] to a quantization config as given: "Disabled" removes it. */
static void server__set_quant(json_t *dst, const char *key, const json_t *q) {
    if (!q || json_is_null(q)) return;
    if (json_is_string(q)) json_object_del(dst, key); /* "Disabled" (checked by server_check_quant) */
    else json_object_set_new(dst, key, json_deep_copy(q));
}

/* optimizers_config at `where`: its known fields with their types. */
static bool server__check_optimizers(server_call *call, const json_t *o, const char *where) {
    if (!o || json_is_null(o)) return true;
    if (!json_is_object(o)) return server_fail(call, 400, "Json deserialize error: `%s` must be an object", where), false;
    static const char *const uints[] = {"vacuum_min_vector_number", "default_segment_number", "max_segment_size",
                                        "memmap_threshold", "indexing_threshold", "flush_interval_sec",
                                        "max_optimization_threads"};
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (json_is_null(v)) continue;
        bool known = false;
        for (size_t i = 0; i < sizeof uints / sizeof *uints && !known; i++) {
            if (strcmp(k, uints[i])) continue;
            known = true;
            bool autothreads = i == 6 && json_is_string(v) && !strcmp(json_string_value(v), "auto");
            if (!autothreads && (!json_is_integer(v) || json_integer_value(v) < 0))
                return server_fail(call, 400, "Json deserialize error: `%s.%s` must be an unsigned integer", where, k),
                       false;
            if (i == 0 && json_integer_value(v) < 100)
                return server_fail(call, 422, "Validation error in JSON body: [%s.%s: value %lld invalid, must be 100 "
                                   "or larger]", where, k, (long long)json_integer_value(v)), false;
        }
        if (!strcmp(k, "deleted_threshold")) {
            known = true;
            if (!json_is_number(v))
                return server_fail(call, 400, "Json deserialize error: `%s.deleted_threshold` must be a number", where),
                       false;
            if (json_number_value(v) < 0.0 || json_number_value(v) > 1.0)
                return server_fail(call, 422, "Validation error in JSON body: [%s.deleted_threshold: value %g invalid, "
                                   "must be from 0 to 1]", where, json_number_value(v)), false;
        } else if (!strcmp(k, "prevent_unoptimized")) {
            known = true;
            if (!json_is_boolean(v))
                return server_fail(call, 400, "Json deserialize error: `%s.prevent_unoptimized` must be a bool", where),
                       false;
        }
        if (!known) return server_fail(call, 400, "Json deserialize error: unknown field `%s.%.64s`", where, k), false;
    }
    return true;
}

/* The as-given parts of one VectorParams (or VectorParamsDiff) v of vector
** `name` into settings.vectors[name], merging hnsw_config and replacing the
** rest. */
static bool server__vector_settings(server_call *call, json_t *settings, const char *name, const json_t *v,
                                    const char *where) {
    char sub[400];
    snprintf(sub, sizeof sub, "%s.memory", where);
    if (!server_qconfig_memory(call, json_object_get(v, "memory"), sub, false)) return false;
    const json_t *h = json_object_get(v, "hnsw_config");
    snprintf(sub, sizeof sub, "%s.hnsw_config.memory", where);
    if (json_is_object(h) && !server_qconfig_memory(call, json_object_get(h, "memory"), sub, true)) return false;
    const json_t *od = json_object_get(v, "on_disk");
    if (od && !json_is_null(od) && !json_is_boolean(od))
        return server_fail(call, 400, "Json deserialize error: `%s.on_disk` must be a bool", where), false;
    const json_t *dt = json_object_get(v, "datatype");
    if (dt && !json_is_null(dt)) {
        const char *d = json_string_value(dt);
        if (!d || (strcmp(d, "float32") && strcmp(d, "float16") && strcmp(d, "uint8") && strcmp(d, "turbo4")))
            return server_fail(call, 400, "Json deserialize error: `%s.datatype`: unknown variant, expected one of "
                               "`float32`, `uint8`, `float16`, `turbo4`", where), false;
    }
    json_t *vecs = json_object_get(settings, "vectors");
    if (!vecs) json_object_set_new(settings, "vectors", vecs = json_object());
    json_t *mine = json_object_get(vecs, name);
    if (!mine) json_object_set_new(vecs, name, mine = json_object());
    if (json_is_object(h)) {
        if (!json_object_size(h)) json_object_del(mine, "hnsw_config"); /* an empty diff unsets it (Qdrant) */
        else server__merge_into(mine, "hnsw_config", h);
    }
    server__set_quant(mine, "quantization_config", json_object_get(v, "quantization_config"));
    /* multivector_config is kept for the warnings only: the vector's own parameters report it */
    static const char *const plain[] = {"on_disk", "memory", "datatype", "multivector_config"};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        const json_t *x = json_object_get(v, plain[i]);
        if (x && !json_is_null(x)) json_object_set(mine, plain[i], (json_t *)x);
    }
    return true;
}

/* The memory placement of sparse vector indexes into settings.sparse_vectors. */
static bool server__sparse_settings(server_call *call, json_t *settings, const json_t *sv) {
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)sv, name, v) {
        const json_t *ix = json_object_get(v, "index");
        char where[320];
        snprintf(where, sizeof where, "sparse_vectors.%.255s.index.memory", name);
        if (!json_is_object(ix)) continue;
        const json_t *mem = json_object_get(ix, "memory");
        if (!server_qconfig_memory(call, mem, where, true)) return false;
        if (!mem || json_is_null(mem)) continue;
        json_t *all = json_object_get(settings, "sparse_vectors");
        if (!all) json_object_set_new(settings, "sparse_vectors", all = json_object());
        json_t *given = json_pack("{s:O}", "memory", mem);
        server__merge_into(all, name, given);
        json_decref(given);
    }
    return true;
}

/* Collection-wide parts common to create and PATCH (params of PATCH are
** passed as `params`, the body itself on create). */
static bool server__common_settings(server_call *call, json_t *settings, const json_t *body, const json_t *params) {
    const json_t *h = json_object_get(body, "hnsw_config");
    if (json_is_object(h)) {
        if (!server_qconfig_memory(call, json_object_get(h, "memory"), "hnsw_config.memory", true)) return false;
        server__merge_into(settings, "hnsw_config", h);
    }
    const json_t *q = json_object_get(body, "quantization_config");
    if (!q || json_is_null(q)) q = json_object_get(body, "quantization"); /* Qdrant's alias */
    server__set_quant(settings, "quantization_config", q);
    const json_t *o = json_object_get(body, "optimizers_config");
    if (!server__check_optimizers(call, o, "optimizers_config")) return false;
    if (json_is_object(o)) {
        server__merge_into(settings, "optimizers_config", o);
        json_t *mot = json_object_get(json_object_get(settings, "optimizers_config"), "max_optimization_threads");
        if (json_is_string(mot)) /* "auto" is Qdrant's null: no limit */
            json_object_del(json_object_get(settings, "optimizers_config"), "max_optimization_threads");
    }
    const json_t *w = json_object_get(body, "wal_config");
    if (json_is_object(w)) server__merge_into(settings, "wal_config", w);
    const json_t *odp = json_object_get(params, "on_disk_payload");
    if (odp && !json_is_null(odp) && !json_is_boolean(odp))
        return server_fail(call, 400, "Json deserialize error: `on_disk_payload` must be a bool"), false;
    if (json_is_boolean(odp)) json_object_set(settings, "on_disk_payload", (json_t *)odp);
    const json_t *pl = json_object_get(params, "payload");
    if (pl && !json_is_null(pl)) {
        if (!json_is_object(pl)) return server_fail(call, 400, "Json deserialize error: `payload` must be an object"), false;
        if (!server_qconfig_memory(call, json_object_get(pl, "memory"), "payload.memory", false)) return false;
        server__merge_into(settings, "payload", pl);
    }
    const json_t *sv = json_object_get(body, "sparse_vectors");
    if (json_is_object(sv) && !server__sparse_settings(call, settings, sv)) return false;
    return server_strict_settings(call, settings, json_object_get(body, "strict_mode_config"));
}

json_t *server_qconfig_create(server_call *call, const json_t *body) {
    json_t *s = json_pack("{s:i}", "v", 1);
    const json_t *vectors = json_object_get(body, "vectors");
    bool ok = s && server__common_settings(call, s, body, body);
    if (ok && (json_object_get(vectors, "size") || json_object_get(vectors, "distance"))) {
        ok = server__vector_settings(call, s, "", vectors, "vectors");
    } else if (ok && json_is_object(vectors)) {
        const char *name;
        const json_t *v;
        json_object_foreach((json_t *)vectors, name, v) {
            char where[300];
            snprintf(where, sizeof where, "vectors.%.255s", name);
            if (json_is_object(v) && !(ok = server__vector_settings(call, s, name, v, where))) break;
        }
    }
    if (!ok) {
        json_decref(s);
        return NULL;
    }
    return s;
}

json_t *server_qconfig_patch(server_call *call, const json_t *old, const json_t *body) {
    json_t *s = json_is_object(old) ? json_deep_copy(old) : json_object();
    if (s) json_object_set_new(s, "v", json_integer(1)); /* kept from now on, also for a collection made without */
    bool ok = s && server__common_settings(call, s, body, json_object_get(body, "params"));
    const json_t *vectors = json_object_get(body, "vectors");
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)vectors, name, v) {
        char where[300];
        snprintf(where, sizeof where, "vectors.%.255s", name);
        if (ok && json_is_object(v)) ok = server__vector_settings(call, s, name, v, where);
    }
    if (!ok) {
        json_decref(s);
        return NULL;
    }
    return s;
}

/* ==== Engine parameters ==== */

/* Integer `key` of the vector's hnsw_config, else the collection's, else def. */
static json_int_t server__hnsw_value(const json_t *settings, const char *name, const char *key, json_int_t def) {
    const json_t *v = json_object_get(json_object_get(json_object_get(json_object_get(settings, "vectors"), name),
                                                      "hnsw_config"), key);
    if (!json_is_integer(v)) v = json_object_get(json_object_get(settings, "hnsw_config"), key);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

/* A size in KiB of float32 vectors of dimension dim as a number of vectors (at least 1). */
static uint32_t server__kb_vectors(json_int_t kb, uint32_t dim) {
    uint64_t n = ((uint64_t)kb * 1024u + (uint64_t)dim * 4u - 1u) / ((uint64_t)dim * 4u);
    return n < 1 ? 1 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The quantization config in force for vector `name` (borrowed, NULL = none). */
static const json_t *server__quant_of(const json_t *settings, const char *name) {
    const json_t *q = json_object_get(json_object_get(json_object_get(settings, "vectors"), name),
                                      "quantization_config");
    return q ? q : json_object_get(settings, "quantization_config");
}

void server_qconfig_engine(const json_t *settings, const char *name, uint32_t dim, sc_hnsw_config *h,
                           sc_quant_config *q) {
    memset(h, 0, sizeof *h);
    memset(q, 0, sizeof *q);
    json_int_t m = server__hnsw_value(settings, name, "m", 16);
    json_int_t fst = server__hnsw_value(settings, name, "full_scan_threshold", SERVER_QCONFIG_DEFAULT_KB);
    const json_t *it = json_object_get(json_object_get(settings, "optimizers_config"), "indexing_threshold");
    json_int_t index_kb = json_is_integer(it) ? json_integer_value(it) : SERVER_QCONFIG_DEFAULT_KB;
    h->kind = m == 0 || index_kb == 0 ? SC_INDEX_KIND_FLAT : fst == 0 ? SC_INDEX_KIND_HNSW : SC_INDEX_KIND_AUTO;
    h->m = m ? (uint32_t)m : 16;
    h->ef_construct = (uint32_t)server__hnsw_value(settings, name, "ef_construct", 100);
    h->ef = (uint32_t)server__hnsw_value(settings, name, "ef", 0);
    h->full_scan_threshold = server__kb_vectors(fst ? fst : 1, dim);
    h->index_threshold = server__kb_vectors(index_kb ? index_kb : 1, dim);
    const json_t *qc = server__quant_of(settings, name);
    const json_t *s = json_object_get(qc, "scalar");
    if (json_is_object(s)) {
        q->kind = SC_QUANT_KIND_INT8;
        const json_t *qu = json_object_get(s, "quantile");
        q->quantile = json_is_number(qu) ? (float)json_number_value(qu) : 0.0f;
        if (q->quantile != 0.0f && q->quantile <= 0.5f) q->quantile = 0.5001f; /* the engine's range is (0.5, 1] */
    } else if (json_is_object(json_object_get(qc, "binary"))) {
        q->kind = SC_QUANT_KIND_BINARY;
    }
}

/* The fields in which b differs from a, as an sc_vector_update of vector `name`. */
static sc_vector_update server__engine_diff(const char *name, const sc_hnsw_config *ha, const sc_quant_config *qa,
                                            const sc_hnsw_config *hb, const sc_quant_config *qb) {
    sc_vector_update u = {.name = name, .hnsw = *hb, .quant = *qb};
    if (ha->kind != hb->kind) u.fields |= SC_VECTOR_UPDATE_KIND;
    if (ha->m != hb->m) u.fields |= SC_VECTOR_UPDATE_M;
    if (ha->ef_construct != hb->ef_construct) u.fields |= SC_VECTOR_UPDATE_EF_CONSTRUCT;
    if (ha->ef != hb->ef) u.fields |= SC_VECTOR_UPDATE_EF;
    if (ha->full_scan_threshold != hb->full_scan_threshold) u.fields |= SC_VECTOR_UPDATE_FULL_SCAN_THRESHOLD;
    if (ha->index_threshold != hb->index_threshold) u.fields |= SC_VECTOR_UPDATE_INDEX_THRESHOLD;
    if (qa->kind != qb->kind || qa->quantile != qb->quantile) u.fields |= SC_VECTOR_UPDATE_QUANT;
    return u;
}

sc_vector_update server_qconfig_update(const json_t *before, const json_t *after, const sc_vector_params *v) {
    sc_hnsw_config ha, hb;
    sc_quant_config qa, qb;
    server_qconfig_engine(before, v->name, v->dim, &ha, &qa);
    server_qconfig_engine(after, v->name, v->dim, &hb, &qb);
    return server__engine_diff(v->name, &ha, &qa, &hb, &qb);
}

/* ==== Collection info ==== */

void server_qconfig_vector_json(const json_t *settings, const char *name, json_t *out) {
    const json_t *mine = json_object_get(json_object_get(settings, "vectors"), name);
    static const char *const keys[] = {"hnsw_config", "quantization_config", "on_disk", "memory", "datatype"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const json_t *x = json_object_get(mine, keys[i]);
        if (x) json_object_set_new(out, keys[i], json_deep_copy(x));
    }
}

json_t *server_qconfig_hnsw_json(const json_t *settings) {
    json_t *h = json_pack("{s:i,s:i,s:i,s:i,s:b}", "m", 16, "ef_construct", 100, "full_scan_threshold",
                          (int)SERVER_QCONFIG_DEFAULT_KB, "max_indexing_threads", 0, "on_disk", 0);
    const json_t *given = json_object_get(settings, "hnsw_config");
    if (given) json_object_update(h, (json_t *)given);
    return h;
}

json_t *server_qconfig_optimizer_json(const json_t *settings) {
    /* deleted_threshold and vacuum_min_vector_number are the engine's vacuum
    ** rule (store/ann.c: a graph is repaired once its tombstones number over
    ** 1000 and over a quarter of its live vectors, i.e. over 20 % of all);
    ** it is fixed, so given values are not echoed as if they applied */
    json_t *o = json_pack("{s:i,s:n,s:n,s:i,s:i,s:n}", "default_segment_number", 0, "max_segment_size",
                          "memmap_threshold", "indexing_threshold", (int)SERVER_QCONFIG_DEFAULT_KB,
                          "flush_interval_sec", 5, "max_optimization_threads");
    json_t *given = server__given(json_object_get(settings, "optimizers_config"));
    if (given) json_object_update(o, given);
    json_decref(given);
    json_object_set_new(o, "deleted_threshold", json_real(0.2));
    json_object_set_new(o, "vacuum_min_vector_number", json_integer(1000));
    return o;
}

json_t *server_qconfig_warnings(const json_t *settings, const sc_collection_info *info) {
    json_t *w = json_array();
    for (size_t i = 0; i < info->n_vector_params; i++) {
        const char *name = info->vectors[i].name;
        const json_t *q = server__quant_of(settings, name);
        char msg[512];
        if (json_object_get(q, "product")) {
            snprintf(msg, sizeof msg, "product quantization is not implemented: vector `%s` is searched with its "
                     "float32 vectors", name);
            json_array_append_new(w, json_pack("{s:s}", "message", msg));
        }
        const json_t *mine = json_object_get(json_object_get(settings, "vectors"), name);
        const char *dt = json_string_value(json_object_get(mine, "datatype"));
        if (dt && strcmp(dt, "float32")) {
            snprintf(msg, sizeof msg, "datatype `%s` of vector `%s` is stored as float32", dt, name);
            json_array_append_new(w, json_pack("{s:s}", "message", msg));
        }
        const json_t *inl = json_object_get(json_object_get(mine, "hnsw_config"), "inline_storage");
        if (!inl) inl = json_object_get(json_object_get(settings, "hnsw_config"), "inline_storage");
        if (json_is_true(inl) && json_object_get(mine, "multivector_config")) {
            snprintf(msg, sizeof msg, "inline_storage of vector `%s` is not supported for multivectors", name);
            json_array_append_new(w, json_pack("{s:s}", "message", msg));
        } else if (json_is_true(inl) && !q) {
            snprintf(msg, sizeof msg, "inline_storage of vector `%s` requires quantization; it has none", name);
            json_array_append_new(w, json_pack("{s:s}", "message", msg));
        }
    }
    return w;
}
