/*
** store/db.c: opening and closing a store, the process lock, the SQLite
** schema, loading collections into memory (error messages: error.c), and
** compacting store.db (a copy without unused room, swapped in).
**
** A store directory holds:
**   LOCK      flock()ed by the process that has the store open (pid inside)
**   store.db  SQLite database in WAL mode (plus store.db-wal / -shm)
**   store.db.compact, store.db.old   only during sc_db_compact (or after a
**             crash in it: deleted at open)
*/
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void sc_db_set_logger(sc_db *db, const sc_logger *logger) {
    if (db) db->opt.logger = logger ? *logger : (sc_logger){0};
}

const char *sc_db_path(const sc_db *db) { return db ? db->path : ""; }

sc_search_plans sc_db_search_plans(const sc_db *db) {
    sc_search_plans p = {0};
    if (!db) return p;
    p.graph = __atomic_load_n(&db->plans[0], __ATOMIC_RELAXED);
    p.graph_filter = __atomic_load_n(&db->plans[1], __ATOMIC_RELAXED);
    p.exact_list = __atomic_load_n(&db->plans[2], __ATOMIC_RELAXED);
    p.exact_scan = __atomic_load_n(&db->plans[3], __ATOMIC_RELAXED);
    p.sparse_index = __atomic_load_n(&db->plans[4], __ATOMIC_RELAXED);
    p.sparse_list = __atomic_load_n(&db->plans[5], __ATOMIC_RELAXED);
    return p;
}

sc_db_options sc_db_options_default(void) {
    sc_db_options o;
    memset(&o, 0, sizeof o);
    o.create = true;
    o.sync = SC_SYNC_MODE_FULL;
    return o;
}

sc_status store_exec(sc_db *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db->sql, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_free(msg);
        return store_fail_sql(db, "sql");
    }
    return SC_OK;
}

/* ==== Collections in memory ==== */

store_coll *store_coll_find(sc_db *db, const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < db->n_colls; i++)
        if (!strcmp(db->colls[i]->name, name)) return db->colls[i];
    return NULL;
}

sc_status store_coll_get(sc_db *db, const char *name, store_coll **out) {
    store_coll *c = store_coll_find(db, name);
    if (!c) return store_fail(SC_NOTFOUND, "Collection `%s` doesn't exist!", name ? name : "(null)");
    *out = c;
    return SC_OK;
}

int store_coll_vec_index(const store_coll *c, const char *name) {
    if (!name || !*name) {
        for (size_t i = 0; i < c->n_vecs; i++)
            if (!c->vecs[i].name[0]) return (int)i;
        return c->n_vecs == 1 ? 0 : -1;
    }
    for (size_t i = 0; i < c->n_vecs; i++)
        if (!strcmp(c->vecs[i].name, name)) return (int)i;
    return -1;
}

void store_coll_free(store_coll *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_vecs; i++) {
        free(c->vecs[i].name);
        free(c->vecs[i].data);
        if (c->vecs[i].mv)
            for (uint32_t s = 0; s < c->n_slots; s++) free(c->vecs[i].mv[s]);
        free(c->vecs[i].mv);
        free(c->vecs[i].present);
        free(c->vecs[i].indexed);
        store_tailq_release(&c->vecs[i]);
        hnsw_index_free(c->vecs[i].ann);
    }
    free(c->vecs);
    if (c->payloads)
        for (uint32_t s = 0; s < c->n_slots; s++) json_decref(c->payloads[s]);
    free(c->payloads);
    if (c->payload_raw)
        for (uint32_t s = 0; s < c->n_slots; s++) free(c->payload_raw[s]);
    free(c->payload_raw);
    json_decref(c->metadata);
    json_decref(c->settings);
    free(c->ids);
    free(c->live);
    free(c->free_slots);
    free(c->vers);
    free(c->map);
    for (size_t i = 0; i < c->n_indexes; i++) pindex_free(c->indexes[i]);
    free(c->indexes);
    if (c->sparse)
        for (size_t i = 0; i < c->n_sparse; i++) store_sparse_free(&c->sparse[i]);
    free(c->sparse);
    store_kw_free(c->kw);
    free(c->name);
    free(c);
}

/* ==== Schema and loading ==== */

static const char *store__schema =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS collections(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " config TEXT NOT NULL);"
    /* A rowid table: rows of a few KB fit in its leaves, while a WITHOUT ROWID
    ** (index b-tree) spills anything over ~1 KB to a whole overflow page. */
    /* slot: the point's durable slot number (ANN indexes refer to rows by
    ** slot); ver: sequence number of the write that stored its vectors. */
    /* sparse: the point's sparse vectors (sparse.c); stores made before it
    ** get the column with their first sparse collection (store_format_mark) */
    "CREATE TABLE IF NOT EXISTS points(rid INTEGER PRIMARY KEY, coll INTEGER NOT NULL, pid BLOB NOT NULL,"
    " slot INTEGER NOT NULL, ver INTEGER NOT NULL, payload TEXT, vectors BLOB, kw BLOB, sparse BLOB);"
    "CREATE TABLE IF NOT EXISTS kwterms(coll INTEGER NOT NULL, id INTEGER NOT NULL, term TEXT NOT NULL,"
    " PRIMARY KEY(coll, id));"
    "CREATE UNIQUE INDEX IF NOT EXISTS points_id ON points(coll, pid);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('format_version', '2');"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('seq', '0');";

sc_status store_format_mark(sc_db *db, int format) {
    if (db->format >= format) return SC_OK; /* formats from 3 on have the column */
    if (db->format < STORE_FORMAT_SPARSE) {
        sqlite3_stmt *st = NULL;
        bool has_column = sqlite3_prepare_v2(db->sql, "SELECT sparse FROM points LIMIT 0", -1, &st, NULL) == SQLITE_OK;
        sqlite3_finalize(st);
        if (!has_column && sqlite3_errcode(db->sql) == SQLITE_NOMEM) return store_fail(SC_NOMEM, "out of memory");
        if (!has_column && store_exec(db, "ALTER TABLE points ADD COLUMN sparse BLOB") != SC_OK)
            return store_fail_sql(db, "adding the sparse column");
    }
    char up[96];
    snprintf(up, sizeof up, "INSERT OR REPLACE INTO meta(key, value) VALUES('format_version', '%d')", format);
    return store_exec(db, up) == SC_OK ? SC_OK : store_fail_sql(db, "marking the store format");
}

/* Parse the "sparse" member of a config (absent: none) into c. */
static sc_status store__parse_sparse(store_coll *c, const json_t *arr) {
    size_t n = json_array_size(arr);
    if (arr && (!json_is_array(arr) || n == 0 || n > SC_MAX_VECTOR_NAMES))
        return store_fail(SC_CORRUPT, "collection `%s`: config has a malformed `sparse` member", c->name);
    if (!(c->sparse = calloc(n ? n : 1, sizeof *c->sparse)))
        return store_fail(SC_NOMEM, "out of memory loading collection `%s`", c->name);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *mod = json_string_value(json_object_get(e, "modifier"));
        json_t *fst = json_object_get(e, "full_scan_threshold"), *od = json_object_get(e, "on_disk");
        sc_sparse_params p = {.name = name, .modifier = SC_SPARSE_MODIFIER_NONE};
        if (mod && !strcmp(mod, "idf")) p.modifier = SC_SPARSE_MODIFIER_IDF;
        else if (!mod || strcmp(mod, "none")) name = NULL;
        if (!name || !json_is_boolean(od) || !json_is_integer(fst) || json_integer_value(fst) < 0 ||
            json_integer_value(fst) > (json_int_t)UINT32_MAX || store_sparse_params_check(&p, i) != SC_OK ||
            store_coll_sparse_index(c, name) >= 0 || store_coll_vec_index(c, name) >= 0)
            return store_fail(SC_CORRUPT, "collection `%s`: sparse vector %zu of config is malformed", c->name, i);
        c->sparse[i] = (store_sparse){.name = util_strdup(name), .modifier = p.modifier, .on_disk = json_is_true(od),
                                      .full_scan_threshold = (uint32_t)json_integer_value(fst)};
        c->n_sparse = i + 1;
        if (!c->sparse[i].name) return store_fail(SC_NOMEM, "out of memory loading collection `%s`", c->name);
    }
    return SC_OK;
}

/* Parse a collection config JSON into c (vectors, sparse vectors and payload index defs). */
static sc_status store__parse_config(store_coll *c, const char *text) {
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (!root && store_json_oom(&jerr))
        return store_fail(SC_NOMEM, "collection `%s`: out of memory parsing its config", c->name);
    if (!root) return store_fail(SC_CORRUPT, "collection `%s`: config is not JSON: %s", c->name, jerr.text);
    sc_status rc = SC_OK;
    json_t *vecs = json_object_get(root, "vectors"), *sparse = json_object_get(root, "sparse");
    size_t n = json_array_size(vecs);
    if ((n == 0 && !sparse) || n > SC_MAX_VECTOR_NAMES) {
        rc = store_fail(SC_CORRUPT, "collection `%s`: config has %zu vectors", c->name, n);
        goto done;
    }
    c->vecs = calloc(n ? n : 1, sizeof *c->vecs);
    if (!c->vecs) {
        rc = store_fail(SC_NOMEM, "out of memory loading collection `%s`", c->name);
        goto done;
    }
    c->n_vecs = n;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(vecs, i);
        const char *name = json_string_value(json_object_get(v, "name"));
        json_int_t dim = json_integer_value(json_object_get(v, "dim"));
        const char *dist = json_string_value(json_object_get(v, "distance"));
        sc_distance d;
        if (!name || dim < 1 || dim > (json_int_t)SC_MAX_DIM || !dist || sc_distance_parse(dist, &d) != SC_OK) {
            rc = store_fail(SC_CORRUPT, "collection `%s`: vector %zu of config is malformed", c->name, i);
            goto done;
        }
        c->vecs[i].name = util_strdup(name);
        c->vecs[i].dim = (uint32_t)dim;
        c->vecs[i].distance = d;
        sc_vector_params vp = {.name = name, .dim = (uint32_t)dim, .distance = d};
        json_t *h = json_object_get(v, "hnsw"), *q = json_object_get(v, "quant");
        vp.hnsw.kind = (sc_index_kind)json_integer_value(json_object_get(h, "kind"));
        vp.hnsw.m = (uint32_t)json_integer_value(json_object_get(h, "m"));
        vp.hnsw.ef_construct = (uint32_t)json_integer_value(json_object_get(h, "ef_construct"));
        vp.hnsw.ef = (uint32_t)json_integer_value(json_object_get(h, "ef"));
        vp.hnsw.full_scan_threshold = (uint32_t)json_integer_value(json_object_get(h, "full_scan_threshold"));
        vp.hnsw.seed = (uint64_t)json_integer_value(json_object_get(h, "seed"));
        vp.hnsw.index_threshold = (uint32_t)json_integer_value(json_object_get(h, "index_threshold"));
        vp.quant.kind = (sc_quant_kind)json_integer_value(json_object_get(q, "kind"));
        vp.quant.quantile = (float)json_number_value(json_object_get(q, "quantile"));
        vp.quant.oversampling = (float)json_number_value(json_object_get(q, "oversampling"));
        if (store_ann_config_check(&vp, i) != SC_OK) {
            rc = store_fail(SC_CORRUPT, "collection `%s`: index config of vector %zu is invalid", c->name, i);
            goto done;
        }
        c->vecs[i].hnsw = vp.hnsw;
        c->vecs[i].quant = vp.quant;
        if (!c->vecs[i].name) {
            rc = store_fail(SC_NOMEM, "out of memory");
            goto done;
        }
        /* format 4: "multivec" (1 = MAX_SIM) and "datatype" (1 float16, 2 uint8), absent when 0 */
        json_t *mv = json_object_get(v, "multivec"), *dt = json_object_get(v, "datatype");
        json_int_t mvi = json_integer_value(mv), dti = json_integer_value(dt);
        if ((mv && (!json_is_integer(mv) || mvi < 0 || mvi > SC_MULTIVEC_COMPARATOR_MAX_SIM)) ||
            (dt && (!json_is_integer(dt) || dti < 0 || dti > SC_VECTOR_DATATYPE_UINT8))) {
            rc = store_fail(SC_CORRUPT, "collection `%s`: multivector or datatype of vector %zu of config is malformed",
                            c->name, i);
            goto done;
        }
        c->vecs[i].multivec = (sc_multivec_comparator)mvi;
        c->vecs[i].datatype = (sc_vector_datatype)dti;
    }
    if ((rc = store__parse_sparse(c, sparse)) != SC_OK) goto done;
    json_t *meta = json_object_get(root, "metadata");
    if (json_is_object(meta) && json_object_size(meta)) c->metadata = json_incref(meta);
    json_t *settings = json_object_get(root, "settings");
    if (json_is_object(settings) && json_object_size(settings)) c->settings = json_incref(settings);
    json_t *pix = json_object_get(root, "payload_indexes");
    for (size_t i = 0; i < json_array_size(pix); i++) {
        json_t *e = json_array_get(pix, i);
        const char *key = json_string_value(json_object_get(e, "key"));
        json_t *type = json_object_get(e, "type"), *params = json_object_get(e, "params");
        pindex_schema schema;
        sc_err err = {0};
        if (!key || !json_is_string(type) || pindex_schema_parse(params ? params : type, &schema, &err) != SC_OK) {
            if (err.code == SC_NOMEM) rc = store_fail(SC_NOMEM, "out of memory");
            else rc = store_fail(SC_CORRUPT, "collection `%s`: payload index %zu of config is malformed%s%s", c->name, i,
                                 err.msg[0] ? ": " : "", err.msg);
            goto done;
        }
        store_pindex **grown = realloc(c->indexes, (c->n_indexes + 1) * sizeof *grown);
        store_pindex *ix = grown ? pindex_new_schema(key, &schema) : NULL;
        pindex_schema_clear(&schema);
        if (!grown || !ix) {
            if (grown) c->indexes = grown;
            pindex_free(ix);
            rc = store_fail(SC_NOMEM, "out of memory");
            goto done;
        }
        c->indexes = grown;
        c->indexes[c->n_indexes++] = ix;
    }
done:
    json_decref(root);
    return rc;
}

/* Load all points of c from SQLite into memory. */
static sc_status store__load_points(sc_db *db, store_coll *c) {
    sqlite3_stmt *st = NULL;
    sc_status rc = SC_OK;
    sqlite3_int64 count = 0, max_slot = -1;
    if (sqlite3_prepare_v2(db->sql, "SELECT count(*), max(slot) FROM points WHERE coll=?", -1, &st, NULL) != SQLITE_OK)
        return store_fail_sql(db, "counting points");
    sqlite3_bind_int64(st, 1, c->db_id);
    if (sqlite3_step(st) != SQLITE_ROW) { /* an aggregate always has its row */
        rc = store_fail_sql(db, "counting points");
        sqlite3_finalize(st);
        return rc;
    }
    count = sqlite3_column_int64(st, 0);
    if (sqlite3_column_type(st, 1) != SQLITE_NULL) max_slot = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    if (max_slot >= (sqlite3_int64)UINT32_MAX - 2 || max_slot < -1 || count > max_slot + 1)
        return store_fail(SC_CORRUPT, "collection `%s`: %lld points with slots up to %lld", c->name, (long long)count,
                          (long long)max_slot);
    if ((rc = store_coll_reserve(c, (uint32_t)(max_slot + 1) + 16)) != SC_OK) return rc;
    /* the sparse column exists when the collection has sparse vectors (store_format_mark) */
    const char *sql = c->n_sparse ? "SELECT pid, slot, ver, payload, vectors, kw, sparse FROM points NOT INDEXED "
                                    "WHERE coll=? ORDER BY rid"
                                  : "SELECT pid, slot, ver, payload, vectors, kw FROM points NOT INDEXED "
                                    "WHERE coll=? ORDER BY rid";
    store_svec *svs[SC_MAX_VECTOR_NAMES];
    if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) return store_fail_sql(db, "loading points");
    sqlite3_bind_int64(st, 1, c->db_id);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        sc_point_id id;
        char idbuf[40];
        if (store_id_from_key(sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0), &id) != SC_OK) {
            rc = store_fail(SC_CORRUPT, "collection `%s`: malformed point id key", c->name);
            break;
        }
        sqlite3_int64 slot = sqlite3_column_int64(st, 1);
        if (slot < 0 || slot > max_slot || store_slot_place(c, (uint32_t)slot, &id) != SC_OK) {
            rc = store_fail(SC_CORRUPT, "collection `%s`, point %s: slot %lld is invalid or taken twice", c->name,
                            sc_point_id_format(&id, idbuf, sizeof idbuf), (long long)slot);
            break;
        }
        c->vers[slot] = (uint64_t)sqlite3_column_int64(st, 2);
        const char *ptext = (const char *)sqlite3_column_text(st, 3);
        if (!ptext && sqlite3_column_type(st, 3) != SQLITE_NULL) { /* the conversion ran out of memory */
            rc = store_fail(SC_NOMEM, "out of memory loading collection `%s`", c->name);
            break;
        }
        if (ptext && strcmp(ptext, "{}")) {
            /* kept as text: parsed on first use (filters, payload selections) */
            char *copy = util_strdup(ptext);
            sc_status prc = copy ? store_slot_set_payload_text(c, (uint32_t)slot, copy) : SC_NOMEM;
            if (prc != SC_OK) {
                rc = prc == SC_NOMEM ? store_fail(SC_NOMEM, "out of memory loading collection `%s`", c->name)
                                     : store_fail(SC_CORRUPT, "collection `%s`, point %s: payload is not a JSON object",
                                                  c->name, sc_point_id_format(&id, idbuf, sizeof idbuf));
                break;
            }
        }
        char ebuf[256];
        sc_status vrc = store_vec_blob_decode(c, sqlite3_column_blob(st, 4), sqlite3_column_bytes(st, 4),
                                              (uint32_t)slot, ebuf, sizeof ebuf);
        if (vrc != SC_OK) { /* SC_NOMEM for a multivector's rows, else SC_CORRUPT */
            rc = store_fail(vrc, "collection `%s`, point %s: %s", c->name, sc_point_id_format(&id, idbuf, sizeof idbuf),
                            ebuf);
            break;
        }
        uint32_t *doc = NULL, len = 0;
        sc_status krc = store_kw_decode(c->kw, sqlite3_column_blob(st, 5), sqlite3_column_bytes(st, 5), &doc, &len);
        if (krc != SC_OK) {
            rc = store_fail(krc, "collection `%s`, point %s: keyword terms are %s", c->name,
                            sc_point_id_format(&id, idbuf, sizeof idbuf), krc == SC_NOMEM ? "too large" : "malformed");
            break;
        }
        store_kw_set(c->kw, (uint32_t)slot, doc, len);
        if (!c->n_sparse) continue;
        sc_status src = store_sparse_blob_decode(c, sqlite3_column_blob(st, 6), sqlite3_column_bytes(st, 6), svs, ebuf,
                                                 sizeof ebuf);
        for (size_t k = 0; src == SC_OK && k < c->n_sparse; k++) {
            if (svs[k] && (src = store_sparse_reserve(&c->sparse[k], &svs[k], 1)) == SC_OK) {
                store_sparse_set(&c->sparse[k], (uint32_t)slot, svs[k]);
                svs[k] = NULL;
            }
        }
        if (src != SC_OK) {
            for (size_t k = 0; k < c->n_sparse; k++) free(svs[k]);
            rc = src == SC_NOMEM ? store_fail(SC_NOMEM, "out of memory loading sparse vectors of `%s`", c->name)
                                 : store_fail(SC_CORRUPT, "collection `%s`, point %s: %s", c->name,
                                              sc_point_id_format(&id, idbuf, sizeof idbuf), ebuf);
            break;
        }
    }
    store_coll_rebuild_free(c);
    if (rc == SC_OK && step != SQLITE_DONE) rc = store_fail_sql(db, "loading points");
    sqlite3_finalize(st);
    return rc;
}

/* The store's format version into *version: 1 to STORE_FORMAT_VERSION (1
** when absent); a newer one is SC_UNSUPPORTED, anything else SC_CORRUPT. */
static sc_status store__format(sc_db *db, int *version) {
    sqlite3_stmt *st = NULL;
    sc_status rc = SC_OK;
    *version = 1;
    if (sqlite3_prepare_v2(db->sql, "SELECT value FROM meta WHERE key='format_version'", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail_sql(db, "reading format version");
    /* Every step is checked: a step that fails (out of memory, I/O) must not
    ** read as "no row", or the store would open without its collections. */
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const char *vt = (const char *)sqlite3_column_text(st, 0);
        char *end = NULL;
        long v = vt ? strtol(vt, &end, 10) : 0;
        if (!vt) rc = store_fail(SC_NOMEM, "out of memory reading the format version");
        else if (end == vt || *end || v < 1)
            rc = store_fail(SC_CORRUPT, "store %s: format_version '%.40s' in store.db meta is not a version number",
                            db->path, vt);
        else if (v > STORE_FORMAT_VERSION)
            rc = store_fail(SC_UNSUPPORTED,
                            "store %s has format version %ld, written by a newer semcode; this build reads versions "
                            "1 to %d (use the newer semcode, or a new store)",
                            db->path, v, STORE_FORMAT_VERSION);
        else *version = (int)v;
    } else if (step != SQLITE_DONE) {
        rc = store_fail_sql(db, "reading format version");
    }
    sqlite3_finalize(st);
    return rc;
}

sc_status store_coll_load(sc_db *db, int64_t db_id, const char *name, const char *config, store_coll **out) {
    sc_status rc = SC_OK;
    store_coll *c = calloc(1, sizeof *c);
    if (!c || !(c->name = util_strdup(name))) {
        store_coll_free(c);
        return store_fail(SC_NOMEM, "out of memory");
    }
    c->db_id = db_id;
    rc = store__parse_config(c, config);
    if (rc == SC_OK && !(c->kw = store_kw_new())) rc = store_fail(SC_NOMEM, "out of memory");
    if (rc == SC_OK) rc = store_kw_load_terms(db, c);
    if (rc == SC_OK) rc = store__load_points(db, c);
    if (rc == SC_OK) store_ann_open(db, c);
    if (rc != SC_OK) {
        store_coll_free(c);
        return rc;
    }
    *out = c;
    return SC_OK;
}

/* Read the sequence number and load every collection into memory. */
static sc_status store__load(sc_db *db) {
    sqlite3_stmt *st = NULL;
    sc_status rc = SC_OK;
    if (sqlite3_prepare_v2(db->sql, "SELECT value FROM meta WHERE key='seq'", -1, &st, NULL) != SQLITE_OK)
        return store_fail_sql(db, "reading sequence number");
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) db->seq = (uint64_t)sqlite3_column_int64(st, 0);
    else if (step != SQLITE_DONE) rc = store_fail_sql(db, "reading sequence number");
    sqlite3_finalize(st);
    if (rc != SC_OK) return rc;
    if (sqlite3_prepare_v2(db->sql, "SELECT id, name, config FROM collections ORDER BY name", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail_sql(db, "listing collections");
    while (rc == SC_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        store_coll **grown = realloc(db->colls, (db->n_colls + 1) * sizeof *grown);
        if (!grown) {
            rc = store_fail(SC_NOMEM, "out of memory");
            break;
        }
        db->colls = grown;
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *config = (const char *)sqlite3_column_text(st, 2);
        if ((!name && sqlite3_column_type(st, 1) != SQLITE_NULL) ||
            (!config && sqlite3_column_type(st, 2) != SQLITE_NULL)) {
            rc = store_fail(SC_NOMEM, "out of memory loading a collection");
            break;
        }
        rc = store_coll_load(db, sqlite3_column_int64(st, 0), name ? name : "", config, &db->colls[db->n_colls]);
        if (rc == SC_OK) db->n_colls++;
    }
    if (rc == SC_OK && step != SQLITE_DONE) rc = store_fail_sql(db, "listing collections");
    sqlite3_finalize(st);
    return rc;
}

/* ==== Open / close ==== */

static sc_status store__lock(sc_db *db) {
    char p[4096];
    snprintf(p, sizeof p, "%s/LOCK", db->path);
    db->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (db->lock_fd < 0) return store_fail(SC_IOERR, "cannot open %s: %s", p, strerror(errno));
    if (flock(db->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(db->lock_fd, pid, sizeof pid - 1, 0);
        if (n > 0) pid[n] = '\0';
        pid[strcspn(pid, "\r\n")] = '\0'; /* the file holds "<pid>\n" */
        if (e == EWOULDBLOCK)
            return store_fail(SC_BUSY, "store %s is open in another process (pid %s); close it first",
                              db->path, n > 0 ? pid : "?");
        return store_fail(SC_IOERR, "cannot lock %s: %s", p, strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(db->lock_fd, 0) == 0 && pwrite(db->lock_fd, pid, (size_t)n, 0) < 0) { /* informative only */
    }
    return SC_OK;
}

/* ==== The connection ==== */

/* Open db->sql on store.db and set the connection's pragmas (at open, and
** again after a compaction swapped the file). On failure db->sql is NULL
** and the message is set. */
static sc_status store__connect(sc_db *db, bool create) {
    char p[4096];
    snprintf(p, sizeof p, "%s/store.db", db->path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    sc_status rc = SC_OK;
    if (sqlite3_open_v2(p, &db->sql, flags, NULL) != SQLITE_OK) {
        rc = db->sql ? store_fail_sql(db, "opening store.db") : store_fail(SC_NOMEM, "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(db->sql, 1);
    sqlite3_busy_timeout(db->sql, 5000);
    /* 16 KiB pages: a point of a 384-d vector is ~1.6 KB, and 4 KiB pages
    ** would hold only two of them (half a kilobyte wasted per point).
    ** Takes effect only when the database is created. */
    static const char *const pragmas[] = {
        "PRAGMA page_size=16384",
        "PRAGMA journal_mode=WAL",
        "PRAGMA cache_size=-65536", /* 64 MiB page cache */
        /* reads straight from the page cache of the file, without a copy per page (opening reads every row) */
        "PRAGMA mmap_size=1073741824",
    };
    for (size_t i = 0; i < sizeof pragmas / sizeof *pragmas; i++)
        if ((rc = store_exec(db, pragmas[i])) != SC_OK) goto fail;
    rc = store_exec(db, db->opt.sync == SC_SYNC_MODE_FULL ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    if (rc == SC_OK) return SC_OK;
fail:
    sqlite3_close(db->sql);
    db->sql = NULL;
    return rc;
}

/* ==== Compaction ==== */

#define STORE_COMPACT_COPIES 3 /* copies tried while writes keep coming */

/* dir/store.db plus suffix into out. */
static void store__file(const sc_db *db, const char *suffix, char *out, size_t cap) {
    snprintf(out, cap, "%s/store.db%s", db->path, suffix);
}

/* Bytes of store.db and its WAL. */
static uint64_t store__bytes(const sc_db *db) {
    static const char *const suffixes[] = {"", "-wal"};
    uint64_t n = 0;
    for (size_t i = 0; i < 2; i++) {
        char p[4096];
        struct stat sb;
        store__file(db, suffixes[i], p, sizeof p);
        if (stat(p, &sb) == 0) n += (uint64_t)sb.st_size;
    }
    return n;
}

/* Files a compaction leaves only when it was cut short (the process lock is
** held: no compaction runs): its copy, never swapped in, and the link that
** kept the old file until the new one opened. store.db is whole either way. */
static void store__compact_leftovers(const sc_db *db) {
    char p[4096];
    store__file(db, ".compact", p, sizeof p);
    unlink(p);
    store__file(db, ".old", p, sizeof p);
    unlink(p);
}

/* fsync path (a file, or a directory so that a rename in it lasts). */
static sc_status store__fsync_path(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return store_fail(SC_IOERR, "cannot open %s: %s", path, strerror(errno));
    int e = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return e ? store_fail(SC_IOERR, "cannot sync %s: %s", path, strerror(e)) : SC_OK;
}

/* Copy the live data of store.db to tmp on a read-only connection of its
** own (a consistent snapshot; db->lock is not held), then make the copy
** durable (VACUUM INTO does not sync it). */
static sc_status store__compact_copy(sc_db *db, const char *tmp) {
    char p[4096];
    store__file(db, "", p, sizeof p);
    unlink(tmp);
    sqlite3 *aux = NULL;
    sqlite3_stmt *st = NULL;
    sc_status rc = SC_OK;
    if (sqlite3_open_v2(p, &aux, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(aux, 5000) != SQLITE_OK ||
        sqlite3_prepare_v2(aux, "VACUUM INTO ?1", -1, &st, NULL) != SQLITE_OK) {
        rc = store_fail(SC_IOERR, "compacting %s: %s", p, aux ? sqlite3_errmsg(aux) : "out of memory");
    } else {
        sqlite3_bind_text(st, 1, tmp, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = store_fail(SC_IOERR, "copying %s without its unused space to %s (it needs as much free disk as "
                            "the live data): %s", p, tmp, sqlite3_errmsg(aux));
    }
    sqlite3_finalize(st);
    sqlite3_close(aux);
    if (rc == SC_OK) rc = store__fsync_path(tmp);
    if (rc != SC_OK) unlink(tmp);
    return rc;
}

/* Put tmp in place of store.db (db->lock held exclusively, sync_mu held
** with no WAL fsync running). Closing the only connection checkpoints the
** WAL into store.db and deletes it; a WAL left with frames (another
** connection of this process still open) stops the swap. The old file
** stays linked as store.db.old until the new one opens, and comes back if it
** does not. On return db->sql is open on one of them; SC_OK means the new. */
static sc_status store__compact_swap(sc_db *db, const char *tmp) {
    char p[4096], wal[4096], shm[4096], old[4096];
    store__file(db, "", p, sizeof p);
    store__file(db, "-wal", wal, sizeof wal);
    store__file(db, "-shm", shm, sizeof shm);
    store__file(db, ".old", old, sizeof old);
    if (sqlite3_close(db->sql) != SQLITE_OK) /* a statement left unfinalized: nothing was closed */
        return store_fail(SC_BUSY, "compacting %s: the connection is in use", p);
    db->sql = NULL;
    if (db->wal_fd >= 0) { /* the WAL it names is gone or about to be */
        close(db->wal_fd);
        db->wal_fd = -1;
    }
    struct stat sb;
    sc_status rc = SC_OK;
    if (stat(wal, &sb) == 0 && sb.st_size > 0) {
        rc = store_fail(SC_BUSY, "compacting %s: its WAL was not emptied (another connection is open)", p);
    } else {
        /* the commits made before the close are in store.db now, synced by the close's checkpoint */
        db->n_synced = __atomic_load_n(&db->n_commits, __ATOMIC_ACQUIRE);
        unlink(wal);
        unlink(shm);
        unlink(old);
        if (link(p, old) != 0) rc = store_fail(SC_IOERR, "compacting: cannot link %s: %s", old, strerror(errno));
        else if (rename(tmp, p) != 0) rc = store_fail(SC_IOERR, "compacting: cannot rename %s: %s", tmp, strerror(errno));
        else rc = store__fsync_path(db->path);
    }
    if (rc == SC_OK && (rc = store__connect(db, false)) != SC_OK) {
        char keep[600];
        snprintf(keep, sizeof keep, "%s", sc_db_errmsg(db));
        if (rename(old, p) == 0) store__fsync_path(db->path);
        rc = store_fail(SC_IOERR, "compacting: the new store.db did not open (%s); the old one is back", keep);
    }
    unlink(old);
    unlink(tmp);
    if (!db->sql && store__connect(db, false) != SC_OK) {
        util_log(&db->opt.logger, SC_LOG_LEVEL_ERROR, "store %s: reopening store.db failed: %s", db->path,
                 sc_db_errmsg(db));
        return store_fail(SC_IOERR, "compacting %s: store.db could not be reopened", p);
    }
    return rc;
}

/* Close (1) or open (0) the writers' gate of store_lock_write. */
static void store__gate(sc_db *db, int closed) {
    pthread_mutex_lock(&db->gate_mu);
    __atomic_store_n(&db->gate_closed, closed, __ATOMIC_RELEASE);
    if (!closed) pthread_cond_broadcast(&db->gate_cv);
    pthread_mutex_unlock(&db->gate_mu);
}

sc_status sc_db_compact(sc_db *db, sc_db_compact_info *info) {
    sc_db_compact_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    if (!db) return store_fail(SC_MISUSE, "sc_db_compact: NULL argument");
    double t0 = util_now();
    pthread_mutex_lock(&db->compact_mu);
    info->bytes_before = info->bytes_after = store__bytes(db);
    char tmp[4096];
    store__file(db, ".compact", tmp, sizeof tmp);
    sc_status rc = SC_BUSY;
    while (rc == SC_BUSY && info->copies < STORE_COMPACT_COPIES) {
        info->copies++;
        /* the last copy holds writers back (searches go on): it is not overtaken */
        bool gate = info->copies == STORE_COMPACT_COPIES;
        if (gate) store__gate(db, 1);
        /* Every write to store.db goes through db->sql, and under db->lock no
        ** transaction is open: a count taken there that has changed by the
        ** swap means a commit the copy may have missed. */
        pthread_rwlock_wrlock(&db->lock);
        int64_t changes = sqlite3_total_changes64(db->sql);
        pthread_rwlock_unlock(&db->lock);
        if ((rc = store__compact_copy(db, tmp)) != SC_OK) {
            if (gate) store__gate(db, 0);
            break;
        }
        pthread_rwlock_wrlock(&db->lock);
        pthread_mutex_lock(&db->sync_mu);
        while (db->syncing) pthread_cond_wait(&db->sync_cv, &db->sync_mu);
        if (sqlite3_total_changes64(db->sql) != changes) {
            rc = store_fail(SC_BUSY, "compacting %s: writes kept coming during %u copies; the store is unchanged",
                            db->path, info->copies); /* the last one only by a graph save or a restore */
            unlink(tmp);
        } else {
            rc = store__compact_swap(db, tmp);
        }
        pthread_mutex_unlock(&db->sync_mu);
        pthread_rwlock_unlock(&db->lock);
        if (gate) store__gate(db, 0);
    }
    if (rc == SC_OK) info->bytes_after = store__bytes(db);
    pthread_mutex_unlock(&db->compact_mu);
    info->seconds = util_now() - t0;
    return rc;
}

sc_status sc_db_open(const char *path, const sc_db_options *opt, sc_db **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!out) return util_errmsg_out(errmsg, SC_MISUSE, "sc_db_open: NULL out");
    *out = NULL;
    sc_db_options o = opt ? *opt : sc_db_options_default();
    sc_status rc = SC_OK;
    if (!path || !*path) {
        rc = store_fail(SC_INVALID, "store path is empty");
        goto fail_early;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (!o.create) {
            rc = store_fail(SC_NOTFOUND, "store %s does not exist", path);
            goto fail_early;
        }
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            rc = store_fail(SC_IOERR, "cannot create store directory %s: %s", path, strerror(errno));
            goto fail_early;
        }
    } else if (!S_ISDIR(sb.st_mode)) {
        rc = store_fail(SC_INVALID, "store path %s is not a directory", path);
        goto fail_early;
    }
    sc_db *db = calloc(1, sizeof *db);
    if (!db || !(db->path = util_strdup(path))) {
        free(db);
        rc = store_fail(SC_NOMEM, "out of memory");
        goto fail_early;
    }
    db->opt = o;
    db->lock_fd = -1;
    pthread_rwlock_init(&db->lock, NULL);
    pthread_mutex_init(&db->sql_mu, NULL);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* the indexer's short exclusive sections must not wait behind a stream of searches */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&db->ann_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&db->bg_mu, NULL);
    pthread_cond_init(&db->bg_cv, NULL);
    pthread_mutex_init(&db->sync_mu, NULL);
    pthread_cond_init(&db->sync_cv, NULL);
    pthread_mutex_init(&db->compact_mu, NULL);
    pthread_mutex_init(&db->gate_mu, NULL);
    pthread_cond_init(&db->gate_cv, NULL);
    db->wal_fd = -1;
    if ((rc = store__lock(db)) != SC_OK) goto fail;
    store__compact_leftovers(db);
    if ((rc = store__connect(db, o.create)) != SC_OK) goto fail;
    /* Create the schema only when missing: a write at every open would cost an fsync. */
    sqlite3_stmt *chk = NULL;
    bool have_schema = false;
    if (sqlite3_prepare_v2(db->sql, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='points'", -1, &chk,
                           NULL) == SQLITE_OK)
        have_schema = sqlite3_step(chk) == SQLITE_ROW;
    sqlite3_finalize(chk);
    if (!have_schema && (rc = store_exec(db, store__schema)) != SC_OK) goto fail;
    int version = 0;
    if ((rc = store__format(db, &version)) != SC_OK) goto fail;
    db->format = version;
    if ((rc = store__load(db)) != SC_OK) goto fail;
    /* Format 1 differs only by its blobs' checksum, which is still read:
    ** marking the store 2 (one statement, atomic) before anything writes
    ** SCV2 blobs keeps builds that read only format 1 off it. (Format 3
    ** comes with the first sparse collection, 4 with the first multivector:
    ** store_format_mark.) */
    if (version < STORE_FORMAT_DENSE) {
        char up[96];
        snprintf(up, sizeof up, "INSERT OR REPLACE INTO meta(key, value) VALUES('format_version', '%d')",
                 STORE_FORMAT_DENSE);
        if (sqlite3_exec(db->sql, up, NULL, NULL, NULL) != SQLITE_OK) {
            rc = store_fail_sql(db, "upgrading the store from format 1 to 2 (it is left at format 1)");
            goto fail;
        }
        db->format = STORE_FORMAT_DENSE;
        util_log(&db->opt.logger, SC_LOG_LEVEL_INFO, "store %s: format %d upgraded to %d", db->path, version,
                 STORE_FORMAT_DENSE);
    }
    if (o.background_index && (rc = store_ann_bg_start(db)) != SC_OK) goto fail;
    *out = db;
    return SC_OK;
fail: {
        /* Closing must not lose the reason the open failed. */
        char keep[768];
        snprintf(keep, sizeof keep, "%s", sc_db_errmsg(db));
        sc_db_close(db);
        store_fail(rc, "%s", keep);
    }
fail_early:
    if (errmsg) *errmsg = util_strdup(sc_db_errmsg(NULL));
    return rc;
}

void sc_db_close(sc_db *db) {
    if (!db) return;
    store_ann_bg_stop(db); /* it finishes its chunk; what it did not link is tail at the next open */
    /* Persist the graphs so the next open needs no catch-up; a failure here
    ** only costs that catch-up. */
    for (size_t i = 0; i < db->n_colls; i++)
        if (db->sql && store_ann_save(db, db->colls[i]) != SC_OK)
            util_log(&db->opt.logger, SC_LOG_LEVEL_WARN,
                     "saving graphs of `%s` failed: %s", db->colls[i]->name, sc_db_errmsg(db));
    for (size_t i = 0; i < db->n_colls; i++) store_coll_free(db->colls[i]);
    free(db->colls);
    if (db->sql) sqlite3_close(db->sql);
    if (db->lock_fd >= 0) close(db->lock_fd); /* releases the flock */
    pthread_rwlock_destroy(&db->lock);
    pthread_mutex_destroy(&db->sql_mu);
    pthread_rwlock_destroy(&db->ann_lock);
    pthread_mutex_destroy(&db->bg_mu);
    pthread_cond_destroy(&db->bg_cv);
    if (db->wal_fd >= 0) close(db->wal_fd);
    pthread_mutex_destroy(&db->sync_mu);
    pthread_cond_destroy(&db->sync_cv);
    pthread_mutex_destroy(&db->compact_mu);
    pthread_mutex_destroy(&db->gate_mu);
    pthread_cond_destroy(&db->gate_cv);
    free(db->path);
    free(db);
}
