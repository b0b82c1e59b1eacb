/*
** server/collections.c: the collection endpoints (create, info, list,
** exists, update, delete), aliases and payload indexes, translated to the
** store API. hnsw_config and quantization_config (collection-wide, then
** per vector) go to the store's sc_hnsw_config / sc_quant_config;
** sparse_vectors to sc_sparse_params; PATCH changes them through
** sc_collection_update_ex (all or nothing).
*/
#include "server/server_int.h"

#include <xxhash.h>
#include <stdlib.h>
#include <string.h>

/* ==== Config validation ==== */

/* Parse an hnsw_config object at `where` (types 400, ranges 422) into *out;
** only the fields present are written, and *present gets their
** SC_VECTOR_UPDATE_* bits. Qdrant's full_scan_threshold is in KiB of
** vectors: it is kept in KiB here and turned into a number of vectors by
** server__hnsw_finish. m = 0 turns the graph off (exact search only).
** `ef` (the default search beam width) is a semcode extension. */
static bool server__check_hnsw(server_call *call, const json_t *h, const char *where, sc_hnsw_config *out,
                               uint32_t *present) {
    *present = 0;
    if (!h || json_is_null(h)) return true;
    if (!json_is_object(h)) {
        server_fail(call, 400, "Json deserialize error: `%s` must be an object", where);
        return false;
    }
    static const struct {
        const char *key; /* field */
        uint64_t min;    /* smallest value accepted */
        uint64_t max;    /* largest value accepted */
    } fields[] = {{"m", 0, 128}, {"ef_construct", 4, 4096}, {"full_scan_threshold", 0, 1ull << 32},
                  {"max_indexing_threads", 0, 1024}, {"payload_m", 0, 128}, {"ef", 1, 65536}};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)h, key, v) {
        bool known = false;
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
            if (strcmp(key, fields[i].key)) continue;
            known = true;
            char name[128];
            snprintf(name, sizeof name, "%s.%s", where, key);
            if (json_is_null(v)) break;
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                server_fail(call, 400, "Json deserialize error: `%s` must be an unsigned integer", name);
                return false;
            }
            uint64_t x = (uint64_t)json_integer_value(v);
            if (x < fields[i].min || x > fields[i].max || (i == 0 && x == 1)) {
                server_fail(call, 422, "Validation error in JSON body: [%s: value %llu invalid, must be from %llu to %llu%s]",
                            name, (unsigned long long)x, (unsigned long long)(i == 0 ? 2 : fields[i].min),
                            (unsigned long long)fields[i].max, i == 0 ? ", or 0 for no graph" : "");
                return false;
            }
            if (i == 0) {
                if (x == 0) out->kind = SC_INDEX_KIND_FLAT;
                else out->m = (uint32_t)x;
                *present |= SC_VECTOR_UPDATE_M;
            } else if (i == 1) {
                out->ef_construct = (uint32_t)x;
                *present |= SC_VECTOR_UPDATE_EF_CONSTRUCT;
            } else if (i == 2) {
                out->full_scan_threshold = (uint32_t)(x > UINT32_MAX ? UINT32_MAX : x);
                if (x == 0 && out->kind != SC_INDEX_KIND_FLAT) out->kind = SC_INDEX_KIND_HNSW;
                *present |= SC_VECTOR_UPDATE_FULL_SCAN_THRESHOLD;
            } else if (i == 5) {
                out->ef = (uint32_t)x;
                *present |= SC_VECTOR_UPDATE_EF;
            }
        }
        if (!known && !strcmp(key, "on_disk") && !json_is_boolean(v) && !json_is_null(v)) {
            server_fail(call, 400, "Json deserialize error: `%s.on_disk` must be a bool", where);
            return false;
        }
        if (!known && strcmp(key, "on_disk") && strcmp(key, "inline_storage") && strcmp(key, "memory")) {
            server_fail(call, 400, "Json deserialize error: unknown field `%s.%s`", where, key);
            return false;
        }
    }
    return true;
}

/* Turn full_scan_threshold from KiB (Qdrant) into vectors (the store). */
static void server__hnsw_finish(sc_vector_params *p) {
    if (p->hnsw.full_scan_threshold) {
        uint64_t n = (uint64_t)p->hnsw.full_scan_threshold * 1024u / ((uint64_t)p->dim * 4u);
        p->hnsw.full_scan_threshold = (uint32_t)(n ? (n > UINT32_MAX ? UINT32_MAX : n) : 1);
    }
}

/* The `memory` and `always_ram` of a quantization method object m at `where`. */
static bool server__check_quant_memory(server_call *call, const json_t *m, const char *where) {
    char sub[200];
    snprintf(sub, sizeof sub, "%s.memory", where);
    const json_t *ar = json_object_get(m, "always_ram");
    if (ar && !json_is_null(ar) && !json_is_boolean(ar))
        return server_fail(call, 400, "Json deserialize error: `%s.always_ram` must be a bool", where), false;
    return server_qconfig_memory(call, json_object_get(m, "memory"), sub, true);
}

/* Validate a quantization_config: {"scalar": {...}}, {"binary": {...}} or
** {"product": {...}} (recorded; searched in float32, see qconfig.c). */
static bool server__check_quant(server_call *call, const json_t *q, const char *where, sc_quant_config *out) {
    if (!q || json_is_null(q)) return true;
    if (json_is_string(q) && !strcmp(json_string_value(q), "Disabled")) {
        if (out) out->kind = SC_QUANT_KIND_NONE;
        return true;
    }
    if (!json_is_object(q) || json_object_size(q) != 1) {
        server_fail(call, 400, "Json deserialize error: `%s` must be {\"scalar\": {...}} or {\"binary\": {...}}", where);
        return false;
    }
    const json_t *s = json_object_get(q, "scalar"), *b = json_object_get(q, "binary"), *p = json_object_get(q, "product");
    char sub[200];
    if (p) {
        snprintf(sub, sizeof sub, "%s.product", where);
        if (!json_is_object(p)) return server_fail(call, 400, "Json deserialize error: `%s` must be an object", sub), false;
        const char *c = json_string_value(json_object_get(p, "compression"));
        if (!c || (strcmp(c, "x4") && strcmp(c, "x8") && strcmp(c, "x16") && strcmp(c, "x32") && strcmp(c, "x64")))
            return server_fail(call, 400, "Json deserialize error: `%s.compression`: unknown variant, expected one of "
                               "`x4`, `x8`, `x16`, `x32`, `x64`", sub), false;
        if (out) out->kind = SC_QUANT_KIND_NONE;
        return server__check_quant_memory(call, p, sub);
    }
    if (s) {
        if (!json_is_object(s)) return server_fail(call, 400, "Json deserialize error: `%s.scalar` must be an object", where), false;
        const json_t *t = json_object_get(s, "type");
        if (!json_is_string(t) || strcmp(json_string_value(t), "int8")) {
            server_fail(call, 400, "Json deserialize error: `%s.scalar.type` must be \"int8\"", where);
            return false;
        }
        const json_t *qu = json_object_get(s, "quantile");
        if (qu && !json_is_null(qu)) {
            if (!json_is_number(qu)) return server_fail(call, 400, "Json deserialize error: `%s.scalar.quantile` must be a number", where), false;
            double x = json_number_value(qu);
            if (x < 0.5 || x > 1.0) {
                server_fail(call, 422, "Validation error in JSON body: [%s.scalar.quantile: value %g invalid, must be from 0.5 to 1.0]",
                            where, x);
                return false;
            }
        }
        snprintf(sub, sizeof sub, "%s.scalar", where);
        if (!server__check_quant_memory(call, s, sub)) return false;
        if (out) {
            out->kind = SC_QUANT_KIND_INT8;
            out->quantile = qu && json_is_number(qu) ? (float)json_number_value(qu) : 0.0f;
            if (out->quantile <= 0.5f) out->quantile = out->quantile == 0.0f ? 0.0f : 0.5001f;
        }
        return true;
    }
    if (b) {
        if (!json_is_object(b)) return server_fail(call, 400, "Json deserialize error: `%s.binary` must be an object", where), false;
        if (out) out->kind = SC_QUANT_KIND_BINARY;
        snprintf(sub, sizeof sub, "%s.binary", where);
        return server__check_quant_memory(call, b, sub);
    }
    server_fail(call, 400, "Json deserialize error: `%s` must be {\"scalar\": {...}} or {\"binary\": {...}}", where);
    return false;
}

/* Parse one VectorParams object into p (name, and the collection-wide
** hnsw / quantization defaults, set by the caller). */
static bool server__vector_params(server_call *call, const json_t *v, const char *where, sc_vector_params *p) {
    if (!json_is_object(v)) {
        server_fail(call, 400, "Json deserialize error: `%s` must be an object with size and distance", where);
        return false;
    }
    const json_t *size = json_object_get(v, "size"), *dist = json_object_get(v, "distance");
    if (!size) return server_fail(call, 400, "Json deserialize error: missing field `%s.size`", where), false;
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return server_fail(call, 400, "Json deserialize error: `%s.size` must be an unsigned integer", where), false;
    if (json_integer_value(size) < 1 || json_integer_value(size) > SC_MAX_DIM) {
        server_fail(call, 422, "Validation error in JSON body: [%s.size: value %lld invalid, must be from 1 to %u]", where,
                    (long long)json_integer_value(size), SC_MAX_DIM);
        return false;
    }
    if (!dist) return server_fail(call, 400, "Json deserialize error: missing field `%s.distance`", where), false;
    static const char *const names[] = {"Cosine", "Dot", "Euclid", "Manhattan"};
    bool ok = false;
    for (int i = 0; i < 4 && json_is_string(dist); i++)
        if (!strcmp(json_string_value(dist), names[i])) {
            p->distance = (sc_distance)i;
            ok = true;
        }
    if (!ok) {
        server_fail(call, 400,
                    "Json deserialize error: `%s.distance`: unknown variant, expected one of `Cosine`, `Euclid`, `Dot`, "
                    "`Manhattan`",
                    where);
        return false;
    }
    p->dim = (uint32_t)json_integer_value(size);
    char sub[160];
    snprintf(sub, sizeof sub, "%s.hnsw_config", where);
    uint32_t present;
    if (!server__check_hnsw(call, json_object_get(v, "hnsw_config"), sub, &p->hnsw, &present)) return false;
    snprintf(sub, sizeof sub, "%s.quantization_config", where);
    const json_t *q = json_object_get(v, "quantization_config");
    if (q && !json_is_null(q)) memset(&p->quant, 0, sizeof p->quant);
    if (!server__check_quant(call, q, sub, &p->quant)) return false;
    server__hnsw_finish(p);
    const json_t *mv = json_object_get(v, "multivector_config");
    if (mv && !json_is_null(mv)) {
        const json_t *cmp = json_is_object(mv) ? json_object_get(mv, "comparator") : NULL;
        if (!json_is_string(cmp) || strcmp(json_string_value(cmp), "max_sim"))
            return server_fail(call, 400, "Json deserialize error: `%s.multivector_config.comparator`: unknown variant, "
                               "expected `max_sim`", where), false;
        p->multivec = SC_MULTIVEC_COMPARATOR_MAX_SIM;
    }
    const json_t *dt = json_object_get(v, "datatype");
    if (dt && !json_is_null(dt)) {
        const char *t = json_string_value(dt);
        if (t && !strcmp(t, "float32")) p->datatype = SC_VECTOR_DATATYPE_FLOAT32;
        else if (t && !strcmp(t, "float16")) p->datatype = SC_VECTOR_DATATYPE_FLOAT16;
        else if (t && !strcmp(t, "uint8")) p->datatype = SC_VECTOR_DATATYPE_UINT8;
        else if (t && !strcmp(t, "turbo4")) p->datatype = SC_VECTOR_DATATYPE_FLOAT32; /* kept exact (docs/API.md) */
        else
            return server_fail(call, 400, "Json deserialize error: `%s.datatype`: unknown variant, expected one of "
                               "`float32`, `uint8`, `float16`, `turbo4`", where), false;
    }
    return true;
}

/* ==== Sparse vectors ==== */

/* The `index` of a SparseVectorParams at `where`: on_disk, full_scan_threshold
** (a number of vectors, as Qdrant), datatype (float32 only), memory
** (accepted: the index is in memory either way). *fields gets the
** SC_SPARSE_UPDATE_* bits of what was given. */
static bool server__sparse_index(server_call *call, const json_t *ix, const char *where, sc_sparse_params *p,
                                 uint32_t *fields) {
    if (!ix || json_is_null(ix)) return true;
    if (!json_is_object(ix)) return server_fail(call, 400, "Json deserialize error: `%s` must be an object", where), false;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)ix, key, v) {
        if (json_is_null(v)) continue;
        if (!strcmp(key, "on_disk")) {
            if (!json_is_boolean(v)) return server_fail(call, 400, "Json deserialize error: `%s.on_disk` must be a bool", where), false;
            p->on_disk = json_is_true(v);
            *fields |= SC_SPARSE_UPDATE_ON_DISK;
        } else if (!strcmp(key, "full_scan_threshold")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return server_fail(call, 400, "Json deserialize error: `%s.full_scan_threshold` must be an unsigned "
                                   "integer", where), false;
            json_int_t x = json_integer_value(v);
            p->full_scan_threshold = x > (json_int_t)UINT32_MAX ? UINT32_MAX : (uint32_t)x;
            *fields |= SC_SPARSE_UPDATE_FULL_SCAN_THRESHOLD;
        } else if (!strcmp(key, "datatype")) {
            const char *d = json_string_value(v);
            if (d && !strcmp(d, "turbo4"))
                return server_fail(call, 422, "Validation error in JSON body: [%s.datatype: sparse vectors do not "
                                   "support the `turbo4` datatype]", where), false;
            if (!d || (strcmp(d, "float32") && strcmp(d, "float16") && strcmp(d, "uint8")))
                return server_fail(call, 400, "Json deserialize error: `%s.datatype`: unknown variant, expected one of "
                                   "`float32`, `float16`, `uint8`", where), false;
            if (strcmp(d, "float32"))
                return server_fail(call, 400, "Wrong input: `%s.datatype` `%s` is not supported: sparse weights are "
                                   "kept as float32", where, d), false;
        } else if (!strcmp(key, "memory")) {
            const char *m = json_string_value(v);
            if (!m || (strcmp(m, "pinned") && strcmp(m, "cold") && strcmp(m, "cached")))
                return server_fail(call, 400, "Json deserialize error: `%s.memory`: unknown variant, expected one of "
                                   "`pinned`, `cold`, `cached`", where), false;
        } else {
            return server_fail(call, 400, "Json deserialize error: unknown field `%s.%.64s`", where, key), false;
        }
    }
    return true;
}

/* One SparseVectorParams {index?, modifier?} at `where` into p; *fields gets
** the SC_SPARSE_UPDATE_* bits of what was given. */
static bool server__sparse_params(server_call *call, const json_t *v, const char *where, sc_sparse_params *p,
                                  uint32_t *fields) {
    *fields = 0;
    if (!json_is_object(v)) return server_fail(call, 400, "Json deserialize error: `%s` must be an object", where), false;
    const char *key;
    const json_t *x;
    json_object_foreach((json_t *)v, key, x) {
        if (strcmp(key, "index") && strcmp(key, "modifier"))
            return server_fail(call, 400, "Json deserialize error: unknown field `%s.%.64s`, expected `index` or "
                               "`modifier`", where, key), false;
    }
    const json_t *mod = json_object_get(v, "modifier");
    if (mod && !json_is_null(mod)) {
        const char *m = json_string_value(mod);
        if (m && !strcmp(m, "idf")) p->modifier = SC_SPARSE_MODIFIER_IDF;
        else if (m && !strcmp(m, "none")) p->modifier = SC_SPARSE_MODIFIER_NONE;
        else
            return server_fail(call, 400, "Json deserialize error: `%s.modifier`: unknown variant, expected `none` or "
                               "`idf`", where), false;
        *fields |= SC_SPARSE_UPDATE_MODIFIER;
    }
    char sub[320];
    snprintf(sub, sizeof sub, "%s.index", where);
    return server__sparse_index(call, json_object_get(v, "index"), sub, p, fields);
}

/* Decode `sparse_vectors` of a create request into params (at most
** SC_MAX_VECTOR_NAMES; names borrowed from the body). */
static bool server__sparse_create(server_call *call, const json_t *sv, sc_sparse_params *params, size_t *n) {
    *n = 0;
    if (!sv || json_is_null(sv)) return true;
    if (!json_is_object(sv)) return server_fail(call, 400, "Json deserialize error: `sparse_vectors` must be an object"), false;
    if (json_object_size(sv) > SC_MAX_VECTOR_NAMES)
        return server_fail(call, 422, "Validation error in JSON body: [sparse_vectors: at most %u sparse vectors]",
                           SC_MAX_VECTOR_NAMES), false;
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)sv, name, v) {
        char where[300];
        snprintf(where, sizeof where, "sparse_vectors.%.255s", name);
        uint32_t fields;
        params[*n] = (sc_sparse_params){.name = name};
        if (!server__sparse_params(call, v, where, &params[*n], &fields)) return false;
        (*n)++;
    }
    return true;
}

/* ==== Collections ==== */

/* Apply a PATCH's `metadata` (NULL or null: nothing). */
static sc_status server__metadata_patch(server_call *call, const char *name, const json_t *meta) {
    if (!meta || json_is_null(meta)) return SC_OK;
    char *text = server_json_text(meta);
    if (!text) return SC_NOMEM;
    sc_status rc = sc_collection_metadata_update(call->ctx->db, name, text);
    free(text);
    return rc;
}


json_t *server_api_collection_create(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_name(call, call->args[0], name)) return NULL;
    const json_t *vectors = call->body ? json_object_get(call->body, "vectors") : NULL;
    sc_sparse_params sparse[SC_MAX_VECTOR_NAMES];
    size_t n_sparse = 0;
    if (!server__sparse_create(call, call->body ? json_object_get(call->body, "sparse_vectors") : NULL, sparse,
                               &n_sparse))
        return NULL;
    if ((!vectors || json_is_null(vectors)) && !n_sparse)
        return server_fail(call, 400, "Wrong input: `vectors` or `sparse_vectors` is required");
    if (vectors && !json_is_null(vectors) && !json_is_object(vectors))
        return server_fail(call, 400, "Json deserialize error: `vectors` must be an object");
    /* accepted (one shard, one replica here), but checked as Qdrant checks them */
    static const char *const factors[] = {"shard_number", "replication_factor", "write_consistency_factor"};
    for (size_t i = 0; i < sizeof factors / sizeof *factors; i++) {
        const json_t *f = json_object_get(call->body, factors[i]);
        if (!f || json_is_null(f)) continue;
        if (!json_is_integer(f) || json_integer_value(f) < 0 || json_integer_value(f) > UINT32_MAX)
            return server_fail(call, 400, "Json deserialize error: `%s` must be an unsigned 32-bit integer", factors[i]);
        if (json_integer_value(f) == 0)
            return server_fail(call, 422, "Validation error in JSON body: [%s: value 0 invalid, must be 1 or larger]",
                               factors[i]);
    }
    sc_vector_params base;
    memset(&base, 0, sizeof base);
    uint32_t present;
    if (!server__check_hnsw(call, json_object_get(call->body, "hnsw_config"), "hnsw_config", &base.hnsw, &present))
        return NULL;
    if (!server__check_quant(call, json_object_get(call->body, "quantization_config"), "quantization_config",
                             &base.quant) ||
        !server__check_quant(call, json_object_get(call->body, "quantization"), "quantization", NULL))
        return NULL;
    sc_vector_params params[SC_MAX_VECTOR_NAMES];
    for (size_t i = 0; i < SC_MAX_VECTOR_NAMES; i++) params[i] = base;
    size_t n = 0;
    if (json_object_get(vectors, "size") || json_object_get(vectors, "distance")) {
        params[0].name = "";
        if (!server__vector_params(call, vectors, "vectors", &params[0])) return NULL;
        n = 1;
    } else {
        const char *key;
        const json_t *v;
        if (json_object_size(vectors) == 0 && !n_sparse)
            return server_fail(call, 422, "Validation error in JSON body: [vectors: at least one vector is required]");
        if (json_object_size(vectors) > SC_MAX_VECTOR_NAMES)
            return server_fail(call, 422, "Validation error in JSON body: [vectors: at most %u named vectors]", SC_MAX_VECTOR_NAMES);
        json_object_foreach((json_t *)vectors, key, v) {
            char where[300];
            snprintf(where, sizeof where, "vectors.%.255s", key);
            params[n].name = key;
            if (!server__vector_params(call, v, where, &params[n])) return NULL;
            n++;
        }
    }
    const json_t *meta = json_object_get(call->body, "metadata");
    if (meta && !json_is_null(meta) && !json_is_object(meta))
        return server_fail(call, 400, "Json deserialize error: `metadata` must be an object");
    /* Qdrant's configuration as given; the engine's parameters follow from it */
    json_t *settings = server_qconfig_create(call, call->body);
    if (!settings) return NULL;
    for (size_t i = 0; i < n; i++)
        server_qconfig_engine(settings, params[i].name, params[i].dim, &params[i].hnsw, &params[i].quant);
    char *settings_text = server_json_text(settings);
    json_decref(settings);
    if (!settings_text) return server_fail(call, 500, "out of memory");
    sc_collection_params cp = {.vectors = params, .n_vectors = n, .sparse = sparse, .n_sparse = n_sparse,
                               .settings_json = settings_text};
    sc_status rc = sc_collection_create_ex(call->ctx->db, name, &cp);
    free(settings_text);
    if (rc == SC_OK && (rc = server__metadata_patch(call, name, meta)) != SC_OK) {
        sc_collection_delete(call->ctx->db, name); /* all or nothing */
        return server_fail(call, 500, "saving the metadata failed");
    }
    if (rc == SC_EXISTS && strstr(sc_db_errmsg(call->ctx->db), "alias"))
        return server_fail(call, 400, "Wrong input: Can't create collection with name `%s`: an alias with the same name "
                                      "already exists", call->args[0]);
    if (rc == SC_EXISTS) return server_fail(call, 409, "Wrong input: Collection `%s` already exists!", call->args[0]);
    if (rc == SC_INVALID && !strncmp(sc_db_errmsg(call->ctx->db), "collection name", 15))
        return server_fail(call, 422, "Validation error in path parameters: [name: %s]", sc_db_errmsg(call->ctx->db));
    if (rc != SC_OK) return server_fail_store(call, rc);
    return json_true();
}

/* An optional field that must be an object when given (accepted, nothing to change here). */
static bool server__optional_object(server_call *call, const json_t *b, const char *key) {
    const json_t *v = json_object_get(b, key);
    if (v && !json_is_null(v) && !json_is_object(v))
        return server_fail(call, 400, "Json deserialize error: `%s` must be an object", key), false;
    return true;
}

/* Check one entry of a PATCH's `vectors` (`where` = "vectors.<name>"): its
** fields and their values (recorded by server_qconfig_patch). */
static bool server__vector_diff_check(server_call *call, const json_t *v, const char *where) {
    if (!json_is_object(v)) return server_fail(call, 400, "Json deserialize error: `%s` must be an object", where), false;
    const char *sub;
    const json_t *sv;
    json_object_foreach((json_t *)v, sub, sv) {
        if (strcmp(sub, "hnsw_config") && strcmp(sub, "quantization_config") && strcmp(sub, "on_disk") &&
            strcmp(sub, "memory"))
            return server_fail(call, 400, "Json deserialize error: unknown field `%s.%.64s`", where, sub), false;
    }
    char f1[360], f2[360];
    snprintf(f1, sizeof f1, "%s.hnsw_config", where);
    snprintf(f2, sizeof f2, "%s.quantization_config", where);
    sc_hnsw_config h = {0};
    uint32_t present;
    return server__check_hnsw(call, json_object_get(v, "hnsw_config"), f1, &h, &present) &&
           server__check_quant(call, json_object_get(v, "quantization_config"), f2, NULL);
}

/* The collection's settings object (owned). A collection made without
** them (by the library, or before the server kept them) gets the engine's
** index parameters as if they had been given per vector, so that its info
** tells what its engine does. */
static json_t *server__settings(const sc_collection_info *info) {
    json_t *s = info->settings_json ? json_loads(info->settings_json, 0, NULL) : NULL;
    if (json_is_object(s) && json_object_get(s, "v")) return s;
    json_decref(s);
    s = json_object();
    json_t *vecs = json_object();
    for (size_t i = 0; i < info->n_vector_params; i++) {
        const sc_vector_params *p = &info->vectors[i];
        json_t *h = json_pack("{s:I,s:I}", "m", (json_int_t)(p->hnsw.kind == SC_INDEX_KIND_FLAT ? 0 : p->hnsw.m),
                              "ef_construct", (json_int_t)p->hnsw.ef_construct);
        json_t *v = json_pack("{s:o}", "hnsw_config", h);
        if (p->quant.kind == SC_QUANT_KIND_INT8)
            json_object_set_new(v, "quantization_config",
                                json_pack("{s:{s:s,s:o}}", "scalar", "type", "int8", "quantile",
                                          server_json_f32(p->quant.quantile)));
        else if (p->quant.kind == SC_QUANT_KIND_BINARY)
            json_object_set_new(v, "quantization_config", json_pack("{s:{}}", "binary"));
        json_object_set_new(vecs, p->name, v);
    }
    json_object_set_new(s, "vectors", vecs);
    return s;
}

/* PATCH /collections/{name}: the parts Qdrant's configuration is made of
** (hnsw_config and quantization_config collection-wide and per vector,
** optimizers_config, params, strict_mode_config, memory placements) are
** merged into the collection's settings as Qdrant merges them; the engine
** fields that the change moves (qconfig.c) and the sparse vector options
** are applied with the new settings in one store transaction (all or
** nothing); then `metadata` is merged (a null value removes a key). */
json_t *server_api_collection_update(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    const json_t *b = call->body;
    if (!b) return json_true();
    static const char *const known[] = {"vectors", "optimizers_config", "params", "hnsw_config", "quantization_config",
                                        "sparse_vectors", "strict_mode_config", "metadata", NULL};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)b, key, v) {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++) ok = !strcmp(known[i], key);
        if (!ok) return server_fail(call, 400, "Json deserialize error: unknown field `%.64s`", key);
    }
    const json_t *sparse = json_object_get(b, "sparse_vectors");
    if (!server__optional_object(call, b, "optimizers_config") || !server__optional_object(call, b, "params") ||
        !server__optional_object(call, b, "sparse_vectors") || !server__optional_object(call, b, "metadata"))
        return NULL;
    sc_hnsw_config hcheck = {0};
    uint32_t present;
    if (!server__check_hnsw(call, json_object_get(b, "hnsw_config"), "hnsw_config", &hcheck, &present) ||
        !server__check_quant(call, json_object_get(b, "quantization_config"), "quantization_config", NULL))
        return NULL;
    sc_collection_info info;
    sc_status rc = sc_collection_info_get(call->ctx->db, name, &info);
    if (rc != SC_OK) return server_fail_store(call, rc);
    sc_vector_update *ups = calloc(info.n_vector_params ? info.n_vector_params : 1, sizeof *ups);
    sc_sparse_update *sups = calloc(json_object_size(sparse) ? json_object_size(sparse) : 1, sizeof *sups);
    size_t n_sups = 0;
    json_t *out = NULL, *before = server__settings(&info), *after = NULL;
    char *after_text = NULL;
    if (!ups || !sups) {
        server_fail(call, 500, "out of memory");
        goto done;
    }
    const json_t *vectors = json_object_get(b, "vectors");
    if (vectors && !json_is_null(vectors) && !json_is_object(vectors)) {
        server_fail(call, 400, "Json deserialize error: `vectors` must be an object of vector names");
        goto done;
    }
    json_object_foreach((json_t *)vectors, key, v) {
        size_t i = 0;
        while (i < info.n_vector_params && strcmp(info.vectors[i].name, key)) i++;
        if (i == info.n_vector_params) {
            server_fail(call, 400, "Wrong input: Not existing vector name error: %.255s", key);
            goto done;
        }
        char where[320];
        snprintf(where, sizeof where, "vectors.%.255s", key);
        if (!server__vector_diff_check(call, v, where)) goto done;
    }
    json_object_foreach((json_t *)sparse, key, v) {
        size_t i = 0;
        while (i < info.n_sparse && strcmp(info.sparse[i].name, key)) i++;
        if (i == info.n_sparse) {
            server_fail(call, 400, "Wrong input: Not existing vector name error: %.255s", key);
            goto done;
        }
        char where[320];
        snprintf(where, sizeof where, "sparse_vectors.%.255s", key);
        sc_sparse_params sp = info.sparse[i];
        uint32_t fields = 0;
        if (!server__sparse_params(call, v, where, &sp, &fields)) goto done;
        sups[n_sups++] = (sc_sparse_update){.name = info.sparse[i].name, .fields = fields, .modifier = sp.modifier,
                                            .on_disk = sp.on_disk, .full_scan_threshold = sp.full_scan_threshold};
    }
    if (!(after = server_qconfig_patch(call, before, b))) goto done;
    size_t n = 0;
    for (size_t i = 0; i < info.n_vector_params; i++) {
        sc_vector_update u = server_qconfig_update(before, after, &info.vectors[i]);
        if (u.fields) ups[n++] = u;
    }
    if (!(after_text = server_json_text(after))) {
        server_fail(call, 500, "out of memory");
        goto done;
    }
    sc_collection_change ch = {.updates = ups, .n_updates = n, .sparse = sups, .n_sparse = n_sups,
                               .settings_json = after_text};
    rc = sc_collection_reconfigure(call->ctx->db, name, &ch);
    if (rc == SC_OK && json_object_get(b, "strict_mode_config")) server_strict_forget(call->ctx, name);
    if (rc == SC_OK) rc = server__metadata_patch(call, name, json_object_get(b, "metadata"));
    if (rc != SC_OK) server_fail_store(call, rc);
    else out = json_true();
done:
    free(ups);
    free(sups);
    free(after_text);
    json_decref(before);
    json_decref(after);
    sc_collection_info_free(&info);
    return out;
}

json_t *server_api_collection_delete(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_name(call, call->args[0], name)) {
        call->status = 0;
        return json_false();
    }
    sc_status rc = sc_collection_delete(call->ctx->db, name);
    server_strict_forget(call->ctx, name);
    if (rc == SC_NOTFOUND) return json_false();
    if (rc != SC_OK) return server_fail_store(call, rc);
    sc_alias_delete_for_collection(call->ctx->db, name, NULL);
    return json_true();
}

json_t *server_api_collection_exists(server_call *call) {
    char name[SERVER_NAME_SIZE];
    bool exists = server_coll_resolve(call, call->args[0], name);
    call->status = 0;
    return json_pack("{s:b}", "exists", exists);
}

json_t *server_api_collections_list(server_call *call) {
    char **names = NULL;
    size_t n = 0;
    sc_status rc = sc_collection_list(call->ctx->db, &names, &n);
    if (rc != SC_OK) return server_fail_store(call, rc);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *user = server_coll_user_name(call, names[i]);
        if (user) json_array_append_new(arr, json_pack("{s:s}", "name", user));
    }
    sc_strv_free(names);
    return json_pack("{s:o}", "collections", arr);
}

/* Qdrant's sparse_vectors of a collection: {name: {index: {on_disk,
** full_scan_threshold?}, modifier}} (the threshold only when set). */
static json_t *server__sparse_json(const sc_collection_info *info) {
    json_t *o = json_object();
    for (size_t i = 0; i < info->n_sparse; i++) {
        const sc_sparse_params *sp = &info->sparse[i];
        json_t *ix = json_pack("{s:b}", "on_disk", sp->on_disk);
        if (sp->full_scan_threshold)
            json_object_set_new(ix, "full_scan_threshold", json_integer((json_int_t)sp->full_scan_threshold));
        json_object_set_new(o, sp->name,
                            json_pack("{s:o,s:s}", "index", ix, "modifier", sc_sparse_modifier_name(sp->modifier)));
    }
    return o;
}

/* Qdrant VectorParams of one store vector (multivector_config and datatype
** when set), with what was configured for it. */
static json_t *server__vector_json(const sc_vector_params *p, const json_t *settings) {
    json_t *o = json_pack("{s:I,s:s}", "size", (json_int_t)p->dim, "distance", sc_distance_name(p->distance));
    if (p->multivec == SC_MULTIVEC_COMPARATOR_MAX_SIM)
        json_object_set_new(o, "multivector_config", json_pack("{s:s}", "comparator", "max_sim"));
    if (p->datatype != SC_VECTOR_DATATYPE_FLOAT32)
        json_object_set_new(o, "datatype", json_string(sc_vector_datatype_name(p->datatype)));
    server_qconfig_vector_json(settings, p->name, o); /* as given, over the engine's view */
    return o;
}

/* The collection's status from the engine's indexing state: grey when a
** vector's configuration wants a graph that is not built (its build
** failed; the next write or POST optimize builds it), yellow while the
** background indexer has rows to link (they are searched exactly
** meanwhile), else green. */
static const char *server__status(const sc_collection_info *info) {
    bool pending = false;
    for (size_t i = 0; info->vector_index && i < info->n_vector_params; i++) {
        if (info->vector_index[i].graph_pending) return "grey";
        pending |= info->vector_index[i].n_pending > 0;
    }
    return pending ? "yellow" : "green";
}

json_t *server_collection_info_json(server_call *call, const char *name) {
    sc_collection_info info;
    sc_status rc = sc_collection_info_get(call->ctx->db, name, &info);
    if (rc != SC_OK) return server_fail_store(call, rc);
    json_t *settings = server__settings(&info);
    json_t *vectors;
    if (info.n_vector_params == 1 && info.vectors[0].name[0] == 0) {
        vectors = server__vector_json(&info.vectors[0], settings);
    } else { /* named vectors (none: {}, a collection of sparse vectors only) */
        vectors = json_object();
        for (size_t i = 0; i < info.n_vector_params; i++)
            json_object_set_new(vectors, info.vectors[i].name, server__vector_json(&info.vectors[i], settings));
    }
    json_t *schema = json_object();
    for (size_t i = 0; i < info.n_field_indexes; i++) {
        const sc_field_index_info *fi = &info.field_indexes[i];
        json_t *e = json_pack("{s:s,s:I}", "data_type", sc_field_type_name(fi->type), "points", (json_int_t)fi->n_points);
        json_t *fp = fi->params_json ? json_loads(fi->params_json, 0, NULL) : NULL;
        if (e && fp) json_object_set_new(e, "params", fp);
        else json_decref(fp);
        json_object_set_new(schema, fi->key, e);
    }
    const json_t *odp = json_object_get(settings, "on_disk_payload");
    json_t *params = json_pack("{s:o,s:i,s:i,s:i,s:b}", "vectors", vectors, "shard_number", 1, "replication_factor", 1,
                               "write_consistency_factor", 1, "on_disk_payload", odp ? json_is_true(odp) : 1);
    if (json_object_get(settings, "payload"))
        json_object_set(params, "payload", json_object_get(settings, "payload"));
    if (info.n_sparse) {
        json_t *sj = server__sparse_json(&info);
        const char *sname;
        json_t *sv;
        json_object_foreach(json_object_get(settings, "sparse_vectors"), sname, sv) {
            json_t *ix = json_object_get(json_object_get(sj, sname), "index");
            if (ix) json_object_update(ix, sv);
        }
        json_object_set_new(params, "sparse_vectors", sj);
    }
    json_t *quant = json_object_get(settings, "quantization_config");
    uint64_t n_indexed = 0;
    json_t *memory = json_object(); /* semcode extension: index state and memory per named vector */
    for (size_t i = 0; info.vector_index && i < info.n_vector_params; i++) {
        const sc_vector_index_info *vx = &info.vector_index[i];
        n_indexed += vx->n_indexed;
        json_object_set_new(memory, info.vectors[i].name,
                            json_pack("{s:b,s:I,s:I,s:I,s:I,s:f,s:f}", "hnsw_built", vx->hnsw_built, "indexed",
                                      (json_int_t)vx->n_indexed, "pending", (json_int_t)vx->n_pending, "deleted", (json_int_t)vx->n_deleted, "index_bytes",
                                      (json_int_t)vx->index_bytes, "bytes_per_vector", vx->bytes_per_vector,
                                      "code_bytes_per_vector", vx->code_bytes_per_vector));
    }
    for (size_t i = 0; info.sparse_index && i < info.n_sparse; i++) {
        const sc_sparse_index_info *sx = &info.sparse_index[i];
        n_indexed += sx->n_indexed;
        json_object_set_new(memory, info.sparse[i].name,
                            json_pack("{s:b,s:I,s:I,s:I,s:I,s:I}", "sparse", 1, "vectors", (json_int_t)sx->n_vectors,
                                      "indexed", (json_int_t)sx->n_indexed, "entries", (json_int_t)sx->n_entries,
                                      "dims", (json_int_t)sx->n_dims, "index_bytes", (json_int_t)sx->index_bytes));
    }
    json_t *wal = json_pack("{s:i,s:i}", "wal_capacity_mb", 32, "wal_segments_ahead", 0);
    json_t *wal_given = json_object_get(settings, "wal_config");
    const char *wk;
    json_t *wv;
    json_object_foreach(wal_given, wk, wv) {
        if (!json_is_null(wv)) json_object_set(wal, wk, wv);
    }
    json_t *config = json_pack("{s:o,s:o,s:o,s:o,s:O}", "params", params, "hnsw_config",
                               server_qconfig_hnsw_json(settings), "optimizer_config",
                               server_qconfig_optimizer_json(settings), "wal_config", wal, "quantization_config",
                               quant ? quant : json_null());
    json_t *strict = json_object_get(settings, "strict_mode_config");
    if (strict) json_object_set(config, "strict_mode_config", strict);
    json_t *meta = info.metadata_json ? json_loads(info.metadata_json, 0, NULL) : NULL;
    if (json_object_size(meta)) json_object_set(config, "metadata", meta);
    json_decref(meta);
    json_t *out = json_pack("{s:s,s:s,s:I,s:I,s:i,s:o,s:o,s:o}", "status", server__status(&info), "optimizer_status",
                            "ok", "indexed_vectors_count", (json_int_t)n_indexed, "points_count",
                            (json_int_t)info.n_points, "segments_count", 1, "config", config, "payload_schema", schema,
                            "semcode_index", memory);
    /* writes are applied before they answer: nothing waits in a queue */
    if (out) json_object_set_new(out, "update_queue", json_pack("{s:i}", "length", 0));
    json_t *warnings = server_qconfig_warnings(settings, &info);
    if (out && json_array_size(warnings)) json_object_set(out, "warnings", warnings);
    json_decref(warnings);
    json_decref(settings);
    sc_collection_info_free(&info);
    return out ? out : server_fail(call, 500, "out of memory");
}

/* Resolve the collection named by call->args[0] into name and read its
** info (the caller frees it with sc_collection_info_free): false, with the
** answer set on call, when either fails. */
static bool server__coll_info(server_call *call, char name[SERVER_NAME_SIZE], sc_collection_info *info) {
    if (!server_coll_resolve(call, call->args[0], name)) return false;
    sc_status rc = sc_collection_info_get(call->ctx->db, name, info);
    if (rc != SC_OK) return server_fail_store(call, rc), false;
    return true;
}

json_t *server_api_collection_get(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    return server_collection_info_json(call, name);
}

/* Qdrant's answer on a node without distributed mode: this peer, one local
** shard 0 (Active, with the collection's points), no remote shards and no
** transfers. The peer id is stable for a store: a hash of its path, in
** Qdrant's range of peer ids (1 to 2^53). */
json_t *server_api_collection_cluster(server_call *call) {
    char name[SERVER_NAME_SIZE];
    sc_collection_info info;
    if (!server__coll_info(call, name, &info)) return NULL;
    json_int_t points = (json_int_t)info.n_points;
    sc_collection_info_free(&info);
    const char *path = sc_db_path(call->ctx->db);
    uint64_t peer = XXH64(path ? path : "", path ? strlen(path) : 0, 0) % (UINT64_C(1) << 53) + 1;
    json_t *out = json_pack("{s:I,s:i,s:[{s:i,s:I,s:s}],s:[],s:[]}", "peer_id", (json_int_t)peer, "shard_count", 1,
                            "local_shards", "shard_id", 0, "points_count", points, "state", "Active",
                            "remote_shards", "shard_transfers");
    return out ? out : server_fail(call, 500, "out of memory");
}

/* ==== Aliases ==== */

/* A decoded alias action with the store names it refers to. */
typedef struct server_alias_act {
    const char *kind;              /* "create_alias", "delete_alias", "rename_alias" (for messages) */
    const char *user[2];           /* the names as the caller wrote them: alias (or old), collection (or new) */
    char name[2][SERVER_NAME_SIZE];/* the same in the store's namespace */
} server_alias_act;

/* Decode actions[i] into *act and *a (names point into act). */
static bool server__alias_decode(server_call *call, const json_t *obj, size_t i, server_alias_act *act,
                                 sc_alias_action *a) {
    static const struct {
        const char *kind;    /* action key */
        sc_alias_op op;      /* store operation */
        const char *f[2];    /* its two fields (second NULL for delete) */
    } ops[] = {{"create_alias", SC_ALIAS_OP_CREATE, {"alias_name", "collection_name"}},
               {"delete_alias", SC_ALIAS_OP_DELETE, {"alias_name", NULL}},
               {"rename_alias", SC_ALIAS_OP_RENAME, {"old_alias_name", "new_alias_name"}}};
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
        const json_t *o = json_object_get(obj, ops[k].kind);
        if (!json_is_object(o)) continue;
        act->kind = ops[k].kind;
        for (int f = 0; f < 2 && ops[k].f[f]; f++) {
            act->user[f] = json_string_value(json_object_get(o, ops[k].f[f]));
            if (!act->user[f])
                return server_fail(call, 400, "Json deserialize error: missing field `actions[%zu].%s.%s`", i,
                                   ops[k].kind, ops[k].f[f]), false;
        }
        *a = (sc_alias_action){.op = ops[k].op, .alias = act->name[0]};
        bool ok;
        if (ops[k].op == SC_ALIAS_OP_CREATE) {
            ok = server_coll_name(call, act->user[0], act->name[0]) && server_coll_resolve(call, act->user[1], act->name[1]);
            a->collection = act->name[1];
        } else {
            ok = server_coll_name(call, act->user[0], act->name[0]) &&
                 (!act->user[1] || server_coll_name(call, act->user[1], act->name[1]));
            a->new_alias = act->user[1] ? act->name[1] : NULL;
        }
        if (!ok) { /* name the action in front of the message, keep the status */
            char msg[sizeof call->msg];
            snprintf(msg, sizeof msg, "%s", call->msg);
            int status = call->status;
            call->status = 0;
            server_fail(call, status, "actions[%zu].%s: %s", i, ops[k].kind, msg);
        }
        return ok;
    }
    return server_fail(call, 400, "Json deserialize error: actions[%zu] must be create_alias, delete_alias or rename_alias",
                       i), false;
}

/* POST /collections/aliases: every action is decoded and checked first, then
** all are applied in one store transaction (sc_alias_apply): a failing
** action leaves the aliases as they were. Messages use the caller's names. */
json_t *server_api_aliases_update(server_call *call) {
    const json_t *actions = call->body ? json_object_get(call->body, "actions") : NULL;
    if (!json_is_array(actions)) return server_fail(call, 400, "Json deserialize error: `actions` must be an array");
    size_t n = json_array_size(actions);
    server_alias_act *acts = calloc(n ? n : 1, sizeof *acts);
    sc_alias_action *as = calloc(n ? n : 1, sizeof *as);
    json_t *out = NULL;
    if (!acts || !as) {
        server_fail(call, 500, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (!server__alias_decode(call, json_array_get(actions, i), i, &acts[i], &as[i])) goto done;
    size_t bad = 0;
    sc_status rc = sc_alias_apply(call->ctx->db, as, n, &bad);
    if (rc == SC_OK) {
        out = json_true();
    } else if (bad < n) {
        const server_alias_act *x = &acts[bad];
        bool create = as[bad].op == SC_ALIAS_OP_CREATE, rename = as[bad].op == SC_ALIAS_OP_RENAME;
        if (rc == SC_NOTFOUND && create)
            server_fail(call, 404, "actions[%zu].%s: Collection `%s` doesn't exist!", bad, x->kind, x->user[1]);
        else if (rc == SC_NOTFOUND)
            server_fail(call, 404, "actions[%zu].%s: Alias `%s` doesn't exist!", bad, x->kind, x->user[0]);
        else if (rc == SC_EXISTS && sc_collection_exists(call->ctx->db, x->name[rename ? 1 : 0]))
            server_fail(call, 409, "actions[%zu].%s: Wrong input: alias name `%s` is already the name of a collection",
                        bad, x->kind, x->user[rename ? 1 : 0]);
        else if (rc == SC_EXISTS)
            server_fail(call, 409, "actions[%zu].%s: Wrong input: Alias `%s` already exists!", bad, x->kind,
                        x->user[rename ? 1 : 0]);
        else
            server_fail_store(call, rc);
    } else {
        server_fail_store(call, rc);
    }
done:
    free(acts);
    free(as);
    return out;
}

/* Aliases visible to the caller, optionally only those of store collection `only`. */
static json_t *server__aliases(server_call *call, const char *only) {
    sc_alias *list = NULL;
    size_t n = 0;
    sc_status rc = sc_alias_list(call->ctx->db, &list, &n);
    if (rc != SC_OK) return server_fail_store(call, rc);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (only && strcmp(list[i].collection, only)) continue;
        const char *a = server_coll_user_name(call, list[i].alias), *c = server_coll_user_name(call, list[i].collection);
        if (a && c) json_array_append_new(arr, json_pack("{s:s,s:s}", "alias_name", a, "collection_name", c));
    }
    sc_alias_list_free(list, n);
    return json_pack("{s:o}", "aliases", arr);
}

json_t *server_api_aliases_list(server_call *call) { return server__aliases(call, NULL); }

json_t *server_api_collection_aliases(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    return server__aliases(call, name);
}

/* ==== Payload indexes ==== */

json_t *server_api_index_create(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    const char *field = NULL;
    if (!server_json_str(call, call->body, "field_name", &field)) return NULL;
    if (!field || !*field) return server_fail(call, 400, "Json deserialize error: missing field `field_name`");
    const json_t *schema = call->body ? json_object_get(call->body, "field_schema") : NULL;
    if (!json_is_string(schema) && !json_is_object(schema))
        return server_fail(call, 400, "Json deserialize error: `field_schema` must be a type name or {\"type\": …}");
    char *text = json_dumps(schema, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text) return server_fail(call, 500, "out of memory");
    sc_status rc = sc_field_index_create_ex(call->ctx->db, name, field, text);
    free(text);
    if (rc != SC_OK) return server_fail_store(call, rc);
    return server_json_update_result();
}

json_t *server_api_facet(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    const char *key = NULL;
    uint64_t limit = 10;
    bool exact = false;
    char *filter = NULL;
    if (!server_json_str(call, call->body, "key", &key)) return NULL;
    if (!key) return server_fail(call, 400, "Json deserialize error: missing field `key`");
    if (!server_json_uint(call, call->body, "limit", 10, 1, UINT64_MAX, &limit)) return NULL;
    if (!server_json_bool(call, call->body, "exact", false, &exact)) return NULL; /* counts are always exact */
    if (!server_json_filter(call, call->body, "filter", &filter)) return NULL;
    sc_facet_hit *hits = NULL;
    size_t n = 0;
    sc_status rc = sc_points_facet(call->ctx->db, name, key, filter, limit, &hits, &n);
    free(filter);
    if (rc != SC_OK) return server_fail_store(call, rc);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *v = json_loads(hits[i].value_json, JSON_DECODE_ANY, NULL);
        if (!v || json_array_append_new(arr, json_pack("{s:o,s:I}", "value", v, "count", (json_int_t)hits[i].count))) {
            json_decref(arr);
            arr = NULL;
        }
    }
    sc_facet_hits_free(hits, n);
    return arr ? json_pack("{s:o}", "hits", arr) : server_fail(call, 500, "out of memory");
}

json_t *server_api_index_delete(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    sc_status rc = sc_field_index_delete(call->ctx->db, name, call->args[1]);
    if (rc != SC_OK && rc != SC_NOTFOUND) return server_fail_store(call, rc);
    return server_json_update_result();
}

/* ==== Named vectors ==== */

/* Replace the collection's settings with `settings` (the engine unchanged). */
static sc_status server__settings_save(server_call *call, const char *name, const json_t *settings) {
    char *text = server_json_text(settings);
    if (!text) return SC_NOMEM;
    sc_collection_change ch = {.settings_json = text};
    sc_status rc = sc_collection_reconfigure(call->ctx->db, name, &ch);
    free(text);
    return rc;
}

/* PUT /collections/{c}/vectors/{name} {"dense": {size, distance, datatype?}}:
** a new dense vector, indexed as the collection's configuration says
** (qconfig.c); existing points do not have it. Sparse vectors cannot be
** added to an existing collection here (400). */
json_t *server_api_vector_create(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    const json_t *b = call->body;
    const json_t *dense = json_object_get(b, "dense");
    if (json_object_get(b, "sparse"))
        return server_fail(call, 400, "Wrong input: adding a sparse vector to an existing collection is not supported; "
                                      "declare it in `sparse_vectors` when creating the collection");
    if (!json_is_object(dense)) return server_fail(call, 400, "Json deserialize error: missing field `dense`");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)dense, key, v) {
        if (strcmp(key, "size") && strcmp(key, "distance") && strcmp(key, "datatype") &&
            !(!strcmp(key, "multivector_config") && json_is_null(v)))
            return server_fail(call, 400, "Json deserialize error: unknown field `dense.%.64s`", key);
    }
    sc_vector_params p = {.name = call->args[1]};
    if (!server__vector_params(call, dense, "dense", &p)) return NULL;
    sc_collection_info info;
    sc_status rc = sc_collection_info_get(call->ctx->db, name, &info);
    if (rc != SC_OK) return server_fail_store(call, rc);
    json_t *settings = server__settings(&info);
    sc_collection_info_free(&info);
    json_t *vecs = json_object_get(settings, "vectors");
    if (vecs) json_object_del(vecs, call->args[1]); /* a vector of that name deleted before */
    if (!vecs) json_object_set_new(settings, "vectors", vecs = json_object());
    json_t *mine = json_object();
    if (json_is_string(json_object_get(dense, "datatype")))
        json_object_set(mine, "datatype", json_object_get(dense, "datatype"));
    json_object_set_new(vecs, call->args[1], mine);
    server_qconfig_engine(settings, p.name, p.dim, &p.hnsw, &p.quant);
    rc = sc_collection_vector_create(call->ctx->db, name, &p);
    if (rc == SC_OK) rc = server__settings_save(call, name, settings);
    json_decref(settings);
    if (rc == SC_EXISTS) return server_fail(call, 409, "Wrong input: %s", sc_db_errmsg(call->ctx->db));
    if (rc != SC_OK) return server_fail_store(call, rc);
    return server_json_update_result();
}

/* DELETE /collections/{c}/vectors/{name}: the dense vector, with every
** point's value of it and its configuration. */
json_t *server_api_vector_delete(server_call *call) {
    char name[SERVER_NAME_SIZE];
    sc_collection_info info;
    if (!server__coll_info(call, name, &info)) return NULL;
    bool sparse = false;
    for (size_t i = 0; i < info.n_sparse; i++) sparse |= !strcmp(info.sparse[i].name, call->args[1]);
    json_t *settings = server__settings(&info);
    sc_collection_info_free(&info);
    if (sparse) {
        json_decref(settings);
        return server_fail(call, 400, "Wrong input: deleting a sparse vector of an existing collection is not supported");
    }
    sc_status rc = sc_collection_vector_delete(call->ctx->db, name, call->args[1]);
    json_object_del(json_object_get(settings, "vectors"), call->args[1]);
    if (rc == SC_OK) rc = server__settings_save(call, name, settings);
    json_decref(settings);
    if (rc != SC_OK) return server_fail_store(call, rc);
    return server_json_update_result();
}
