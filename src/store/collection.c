/*
** store/collection.c: creating, listing, describing and deleting
** collections, and their payload indexes.
*/
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ==== Validation ==== */

/* Qdrant's rule for collection and alias names (store_int.h). */
sc_status store_check_name(const char *what, const char *name) {
    if (!name || !*name) return store_fail(SC_INVALID, "%s is empty", what);
    size_t n = strlen(name);
    if (n > SC_MAX_NAME_LEN) return store_fail(SC_INVALID, "%s is %zu bytes long, at most %u allowed", what, n, SC_MAX_NAME_LEN);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 32 || ch == 127)
            return store_fail(SC_INVALID, "%s has a control character (code %u) at byte %zu", what, ch, i);
        if (strchr("<>:\"/\\|?*", ch))
            return store_fail(SC_INVALID, "%s `%s` cannot contain \"%c\" char", what, name, ch);
    }
    return SC_OK;
}

static sc_status store__check_vectors(const sc_vector_params *v, size_t n, size_t n_sparse) {
    if (n == 0 && n_sparse == 0) return store_fail(SC_INVALID, "vectors: at least one vector (dense or sparse) must be configured");
    if (n && !v) return store_fail(SC_MISUSE, "vectors: %zu announced but none given", n);
    if (n > SC_MAX_VECTOR_NAMES)
        return store_fail(SC_INVALID, "vectors: %zu named vectors, at most %u allowed", n, SC_MAX_VECTOR_NAMES);
    for (size_t i = 0; i < n; i++) {
        const char *name = v[i].name ? v[i].name : "";
        if (strlen(name) > SC_MAX_NAME_LEN)
            return store_fail(SC_INVALID, "vectors[%zu].name is longer than %u bytes", i, SC_MAX_NAME_LEN);
        for (const char *p = name; *p; p++)
            if ((unsigned char)*p < 32)
                return store_fail(SC_INVALID, "vectors[%zu].name contains a control character", i);
        if (v[i].dim < 1 || v[i].dim > SC_MAX_DIM)
            return store_fail(SC_INVALID, "vectors.%s.size: %u is out of range, expected 1..%u",
                              *name ? name : "(default)", v[i].dim, SC_MAX_DIM);
        if ((unsigned)v[i].distance > SC_DISTANCE_MANHATTAN)
            return store_fail(SC_INVALID, "vectors.%s.distance: unknown value %d", *name ? name : "(default)",
                              (int)v[i].distance);
        if ((unsigned)v[i].multivec > SC_MULTIVEC_COMPARATOR_MAX_SIM)
            return store_fail(SC_INVALID, "vectors.%s.multivector_config.comparator: unknown value %d",
                              *name ? name : "(default)", (int)v[i].multivec);
        if ((unsigned)v[i].datatype > SC_VECTOR_DATATYPE_UINT8)
            return store_fail(SC_INVALID, "vectors.%s.datatype: unknown value %d", *name ? name : "(default)",
                              (int)v[i].datatype);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(name, v[j].name ? v[j].name : ""))
                return store_fail(SC_INVALID, "vectors: name `%s` is given twice", name);
    }
    return SC_OK;
}

/* Sparse vectors: each named, unique among sparse and dense names. */
static sc_status store__check_sparse(const sc_sparse_params *sp, size_t n, const sc_vector_params *v, size_t n_vecs) {
    if (n > SC_MAX_VECTOR_NAMES)
        return store_fail(SC_INVALID, "sparse_vectors: %zu sparse vectors, at most %u allowed", n, SC_MAX_VECTOR_NAMES);
    if (n && !sp) return store_fail(SC_MISUSE, "sparse_vectors: %zu announced but none given", n);
    for (size_t i = 0; i < n; i++) {
        sc_status rc = store_sparse_params_check(&sp[i], i);
        if (rc != SC_OK) return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sp[i].name, sp[j].name))
                return store_fail(SC_INVALID, "sparse_vectors: name `%s` is given twice", sp[i].name);
        for (size_t j = 0; j < n_vecs; j++)
            if (!strcmp(sp[i].name, v[j].name ? v[j].name : ""))
                return store_fail(SC_INVALID, "Dense and sparse vector names must be unique - duplicate found with "
                                  "'%s'", sp[i].name); /* Qdrant's words */
    }
    return SC_OK;
}

/* The "sparse" member of a collection config: an array (NULL for memory). */
static json_t *store__sparse_config(const store_coll *c) {
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < c->n_sparse; i++) {
        const store_sparse *sp = &c->sparse[i];
        ok = json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:I}", "name", sp->name, "modifier",
                                                  sc_sparse_modifier_name(sp->modifier), "on_disk", sp->on_disk,
                                                  "full_scan_threshold", (json_int_t)sp->full_scan_threshold)) == 0;
    }
    if (!ok) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

char *store_coll_config_json(const store_coll *c) {
    /* Every allocation is checked: a config missing a part would be stored
    ** and read back as a corrupt collection. NULL when memory runs out. */
    json_t *root = json_object(), *vecs = json_array(), *pix = json_array();
    json_t *sparse = c->n_sparse ? store__sparse_config(c) : NULL; /* absent in a config without sparse vectors */
    bool ok = root && vecs && pix && (sparse || !c->n_sparse);
    for (size_t i = 0; ok && i < c->n_vecs; i++) {
        const store_vec *sv = &c->vecs[i];
        json_t *e = json_pack("{s:s, s:I, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:f, s:f}}", "name", sv->name,
                              "dim", (json_int_t)sv->dim, "distance", sc_distance_name(sv->distance), "hnsw", "kind",
                              (json_int_t)sv->hnsw.kind, "m", (json_int_t)sv->hnsw.m, "ef_construct",
                              (json_int_t)sv->hnsw.ef_construct, "ef", (json_int_t)sv->hnsw.ef, "full_scan_threshold",
                              (json_int_t)sv->hnsw.full_scan_threshold, "seed", (json_int_t)sv->hnsw.seed, "index_threshold",
                              (json_int_t)sv->hnsw.index_threshold, "quant",
                              "kind", (json_int_t)sv->quant.kind, "quantile", (double)sv->quant.quantile,
                              "oversampling", (double)sv->quant.oversampling);
        /* format 4 members, only when set: a config without them reads as before */
        /* json_array_append keeps its own reference, so e is released once on every path */
        ok = e && (!sv->multivec || json_object_set_new(e, "multivec", json_integer(sv->multivec)) == 0) &&
             (!sv->datatype || json_object_set_new(e, "datatype", json_integer(sv->datatype)) == 0) &&
             json_array_append(vecs, e) == 0;
        json_decref(e);
    }
    for (size_t i = 0; ok && i < c->n_indexes; i++) {
        const json_t *params = pindex_params(c->indexes[i]);
        json_t *e = json_pack("{s:s, s:s}", "key", pindex_key(c->indexes[i]), "type",
                              sc_field_type_name(pindex_type(c->indexes[i])));
        ok = e && (!params || json_object_set(e, "params", (json_t *)params) == 0) && json_array_append(pix, e) == 0;
        json_decref(e);
    }
    char *s = NULL;
    if (ok && json_object_set(root, "vectors", vecs) == 0 && json_object_set(root, "payload_indexes", pix) == 0 &&
        (!sparse || json_object_set(root, "sparse", sparse) == 0) &&
        (!c->metadata || json_object_set(root, "metadata", c->metadata) == 0) &&
        (!c->settings || json_object_set(root, "settings", c->settings) == 0))
        s = store_json_dumps(root, JSON_COMPACT);
    json_decref(vecs);
    json_decref(pix);
    json_decref(sparse);
    json_decref(root);
    return s;
}

/* ==== Create / delete / list ==== */

/* Parse a settings object (NULL *out for an empty one). SC_INVALID when not an object. */
static sc_status store__settings_parse(const char *text, json_t **out) {
    json_error_t jerr;
    json_t *s = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!s && store_json_oom(&jerr)) return store_fail(SC_NOMEM, "out of memory parsing the settings");
    if (!json_is_object(s)) {
        json_decref(s);
        return store_fail(SC_INVALID, "settings must be a JSON object");
    }
    if (!json_object_size(s)) {
        json_decref(s);
        s = NULL;
    }
    *out = s;
    return SC_OK;
}

sc_status sc_collection_create(sc_db *db, const char *name, const sc_vector_params *vectors, size_t n_vectors) {
    sc_collection_params p = {.vectors = vectors, .n_vectors = n_vectors};
    if (!db) return store_fail(SC_MISUSE, "sc_collection_create: NULL argument");
    return sc_collection_create_ex(db, name, &p);
}

/* Insert the row of the new collection c (config text given), inside a
** transaction that also marks the store with the format c needs: 3 for
** sparse vectors, 4 for a multivector or a datatype (store_format_mark). */
/* The store format collection c needs (STORE_FORMAT_DENSE when any will do). */
static int store__coll_format(const store_coll *c) {
    for (size_t v = 0; v < c->n_vecs; v++)
        if (c->vecs[v].multivec || c->vecs[v].datatype) return STORE_FORMAT_VERSION;
    return c->n_sparse ? STORE_FORMAT_SPARSE : STORE_FORMAT_DENSE;
}

static sc_status store__insert_collection(sc_db *db, store_coll *c, const char *config) {
    sc_status rc = store_exec(db, "BEGIN IMMEDIATE");
    if (rc != SC_OK) return rc;
    int need = store__coll_format(c);
    if (need > STORE_FORMAT_DENSE && (rc = store_format_mark(db, need)) != SC_OK) goto fail;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, "INSERT INTO collections(name, config) VALUES(?, ?)", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = store_fail_sql(db, "creating collection");
        goto fail;
    }
    sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, config, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store_fail_sql(db, "creating collection");
        sqlite3_finalize(st);
        goto fail;
    }
    sqlite3_finalize(st);
    c->db_id = sqlite3_last_insert_rowid(db->sql);
    if (sqlite3_exec(db->sql, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = store_fail_sql(db, "creating collection");
        goto fail;
    }
    if (need > db->format) db->format = need;
    return SC_OK;
fail:
    sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

sc_status sc_collection_create_ex(sc_db *db, const char *name, const sc_collection_params *params) {
    if (!db || !params) return store_fail(SC_MISUSE, "sc_collection_create_ex: NULL argument");
    sc_status rc;
    const sc_vector_params *vectors = params->vectors;
    size_t n_vectors = params->n_vectors;
    if ((rc = store_check_name("collection name", name)) != SC_OK) return rc;
    if ((rc = store__check_vectors(vectors, n_vectors, params->n_sparse)) != SC_OK) return rc;
    if ((rc = store__check_sparse(params->sparse, params->n_sparse, vectors, n_vectors)) != SC_OK) return rc;
    store_coll *c = calloc(1, sizeof *c);
    if (!c || !(c->name = util_strdup(name)) || !(c->vecs = calloc(n_vectors ? n_vectors : 1, sizeof *c->vecs)) ||
        !(c->sparse = calloc(params->n_sparse ? params->n_sparse : 1, sizeof *c->sparse))) {
        store_coll_free(c);
        return store_fail(SC_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < params->n_sparse; i++) {
        const sc_sparse_params *sp = &params->sparse[i];
        c->sparse[i] = (store_sparse){.name = util_strdup(sp->name), .modifier = sp->modifier, .on_disk = sp->on_disk,
                                      .full_scan_threshold = sp->full_scan_threshold};
        c->n_sparse = i + 1;
        if (!c->sparse[i].name) {
            store_coll_free(c);
            return store_fail(SC_NOMEM, "out of memory");
        }
    }
    c->n_vecs = n_vectors;
    for (size_t i = 0; i < n_vectors; i++) {
        sc_vector_params vp = vectors[i];
        if ((rc = store_ann_config_check(&vp, i)) != SC_OK) {
            store_coll_free(c);
            return rc;
        }
        c->vecs[i].hnsw = vp.hnsw;
        c->vecs[i].quant = vp.quant;
        c->vecs[i].name = util_strdup(vectors[i].name ? vectors[i].name : "");
        c->vecs[i].dim = vectors[i].dim;
        c->vecs[i].distance = vectors[i].distance;
        c->vecs[i].multivec = vectors[i].multivec;
        c->vecs[i].datatype = vectors[i].datatype;
        if (!c->vecs[i].name) {
            store_coll_free(c);
            return store_fail(SC_NOMEM, "out of memory");
        }
    }
    if (!(c->kw = store_kw_new())) {
        store_coll_free(c);
        return store_fail(SC_NOMEM, "out of memory");
    }
    if (params->settings_json && (rc = store__settings_parse(params->settings_json, &c->settings)) != SC_OK) {
        store_coll_free(c);
        return rc;
    }
    char *config = store_coll_config_json(c);
    store_coll **grown = NULL;
    store_lock_write(db);
    if (store_coll_find(db, name)) {
        rc = store_fail(SC_EXISTS, "Collection `%s` already exists!", name);
        goto done;
    }
    if (store_alias_taken(db, name)) {
        rc = store_fail(SC_EXISTS, "Collection name `%s` is already used by an alias", name);
        goto done;
    }
    if (!config || store_coll_reserve(c, 0) != SC_OK ||
        !(grown = realloc(db->colls, (db->n_colls + 1) * sizeof *grown))) {
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    db->colls = grown;
    if ((rc = store__insert_collection(db, c, config)) != SC_OK) goto done;
    db->colls[db->n_colls++] = c;
    c = NULL;
    rc = SC_OK;
done:
    pthread_rwlock_unlock(&db->lock);
    free(config);
    store_coll_free(c);
    return rc;
}

sc_status sc_collection_delete(sc_db *db, const char *name) {
    if (!db) return store_fail(SC_MISUSE, "sc_collection_delete: NULL argument");
    store_lock_write(db);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, name, &c);
    if (rc != SC_OK) goto done;
    if ((rc = store_exec(db, "BEGIN IMMEDIATE")) != SC_OK) goto done;
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(db->sql, "DELETE FROM points WHERE coll=?1", -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_int64(st, 1, c->db_id);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (ok) ok = sqlite3_prepare_v2(db->sql, "DELETE FROM kwterms WHERE coll=?1", -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_int64(st, 1, c->db_id);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (ok) ok = sqlite3_prepare_v2(db->sql, "DELETE FROM collections WHERE id=?1", -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_int64(st, 1, c->db_id);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (!ok || sqlite3_exec(db->sql, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = store_fail_sql(db, "deleting collection");
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
        goto done;
    }
    store_ann_drop_files(db, c);
    for (size_t i = 0; i < db->n_colls; i++)
        if (db->colls[i] == c) {
            memmove(&db->colls[i], &db->colls[i + 1], (db->n_colls - i - 1) * sizeof *db->colls);
            db->n_colls--;
            break;
        }
    store_coll_free(c);
done:
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

bool sc_collection_exists(sc_db *db, const char *name) {
    if (!db) return false;
    pthread_rwlock_rdlock(&db->lock);
    bool found = store_coll_find(db, name) != NULL;
    pthread_rwlock_unlock(&db->lock);
    return found;
}

static int store__strcmp_p(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

sc_status sc_collection_list(sc_db *db, char ***out, size_t *n_out) {
    if (!db || !out) return store_fail(SC_MISUSE, "sc_collection_list: NULL argument");
    pthread_rwlock_rdlock(&db->lock);
    size_t n = db->n_colls;
    char **v = calloc(n + 1, sizeof *v);
    bool ok = v != NULL;
    for (size_t i = 0; ok && i < n; i++) ok = (v[i] = util_strdup(db->colls[i]->name)) != NULL;
    pthread_rwlock_unlock(&db->lock);
    if (!ok) {
        sc_strv_free(v);
        return store_fail(SC_NOMEM, "out of memory");
    }
    qsort(v, n, sizeof *v, store__strcmp_p);
    *out = v;
    if (n_out) *n_out = n;
    return SC_OK;
}

void sc_strv_free(char **v) {
    if (!v) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}

/* ==== Info ==== */

static uint64_t store__file_size(const char *dir, const char *name) {
    char p[4096];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

sc_status sc_collection_info_get(sc_db *db, const char *name, sc_collection_info *out) {
    if (!db || !out) return store_fail(SC_MISUSE, "sc_collection_info_get: NULL argument");
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&db->lock);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, name, &c);
    if (rc != SC_OK) goto done;
    out->name = util_strdup(c->name);
    out->n_points = c->n_live;
    out->vectors = calloc(c->n_vecs ? c->n_vecs : 1, sizeof *out->vectors);
    out->vector_index = calloc(c->n_vecs ? c->n_vecs : 1, sizeof *out->vector_index);
    out->field_indexes = calloc(c->n_indexes ? c->n_indexes : 1, sizeof *out->field_indexes);
    out->sparse = calloc(c->n_sparse ? c->n_sparse : 1, sizeof *out->sparse);
    out->sparse_index = calloc(c->n_sparse ? c->n_sparse : 1, sizeof *out->sparse_index);
    if (!out->name || !out->vectors || !out->vector_index || !out->field_indexes || !out->sparse || !out->sparse_index)
        goto oom;
    out->n_vector_params = c->n_vecs;
    if (!(out->metadata_json = c->metadata ? store_json_dumps(c->metadata, JSON_COMPACT) : util_strdup("{}"))) goto oom;
    if (!(out->settings_json = c->settings ? store_json_dumps(c->settings, JSON_COMPACT) : util_strdup("{}"))) goto oom;
    uint64_t ram = (uint64_t)c->cap * (sizeof(sc_point_id) + sizeof(json_t *) + sizeof(uint32_t)) +
                   (uint64_t)c->map_cap * sizeof(uint32_t);
    for (size_t i = 0; i < c->n_vecs; i++) {
        out->vectors[i].name = util_strdup(c->vecs[i].name);
        if (!out->vectors[i].name) goto oom;
        out->vectors[i].dim = c->vecs[i].dim;
        out->vectors[i].distance = c->vecs[i].distance;
        out->vectors[i].hnsw = c->vecs[i].hnsw;
        out->vectors[i].quant = c->vecs[i].quant;
        out->vectors[i].multivec = c->vecs[i].multivec;
        out->vectors[i].datatype = c->vecs[i].datatype;
        out->n_vectors += c->vecs[i].n_present;
        ram += c->vecs[i].multivec ? store_mvec_bytes(&c->vecs[i], c->n_slots) + (uint64_t)c->cap * sizeof(void *)
                                   : (uint64_t)c->cap * c->vecs[i].dim * sizeof(float);
        sc_vector_index_info *vx = &out->vector_index[i];
        vx->bytes_per_vector = (double)c->vecs[i].dim * sizeof(float);
        vx->n_vectors = c->vecs[i].n_present;
        pthread_rwlock_rdlock(&db->ann_lock); /* the background indexer may be publishing rows */
        vx->graph_pending = !c->vecs[i].ann && store_ann_wanted(&c->vecs[i]);
        if (c->vecs[i].ann) {
            hnsw_info hi = hnsw_index_info(c->vecs[i].ann);
            vx->hnsw_built = true;
            vx->n_indexed = c->vecs[i].n_indexed;
            vx->n_pending = c->vecs[i].n_present - c->vecs[i].n_indexed;
            vx->n_deleted = hi.n_deleted;
            vx->index_bytes = hi.graph_bytes + hi.code_bytes;
            vx->bytes_per_vector += hi.bytes_per_vector;
            vx->code_bytes_per_vector = hi.n_live ? (double)hi.code_bytes / hi.n_live : 0.0;
            ram += vx->index_bytes;
        }
        pthread_rwlock_unlock(&db->ann_lock);
    }
    for (size_t i = 0; i < c->n_sparse; i++) {
        const store_sparse *sp = &c->sparse[i];
        out->sparse[i] = (sc_sparse_params){.name = util_strdup(sp->name), .modifier = sp->modifier,
                                            .on_disk = sp->on_disk, .full_scan_threshold = sp->full_scan_threshold};
        if (!out->sparse[i].name) goto oom;
        out->n_sparse++;
        uint64_t bytes = store_sparse_bytes(sp);
        out->sparse_index[i] = (sc_sparse_index_info){.n_vectors = sp->n_present, .n_indexed = sp->n_nonempty,
                                                      .n_entries = sp->n_entries, .n_dims = sp->n_lists,
                                                      .index_bytes = bytes};
        out->n_vectors += sp->n_present;
        ram += bytes;
    }
    for (size_t i = 0; i < c->n_indexes; i++) {
        out->field_indexes[i].key = util_strdup(pindex_key(c->indexes[i]));
        if (!out->field_indexes[i].key) goto oom;
        out->field_indexes[i].type = pindex_type(c->indexes[i]);
        out->field_indexes[i].n_points = pindex_n_points(c->indexes[i]);
        const json_t *params = pindex_params(c->indexes[i]);
        out->n_field_indexes++;
        if (params && !(out->field_indexes[i].params_json = store_json_dumps(params, JSON_COMPACT))) goto oom;
        ram += pindex_mem_bytes(c->indexes[i]);
    }
    out->ram_bytes = ram;
    /* Share of the database files in proportion to this collection's points. */
    uint64_t total_points = 0;
    for (size_t i = 0; i < db->n_colls; i++) total_points += db->colls[i]->n_live;
    uint64_t files = store__file_size(db->path, "store.db") + store__file_size(db->path, "store.db-wal");
    out->disk_bytes = total_points ? (uint64_t)((double)files * (double)c->n_live / (double)total_points) : 0;
    goto done;
oom:
    rc = store_fail(SC_NOMEM, "out of memory");
done:
    pthread_rwlock_unlock(&db->lock);
    if (rc != SC_OK) sc_collection_info_free(out);
    return rc;
}

sc_status sc_collection_settings_get(sc_db *db, const char *name, char **out) {
    if (!db || !out) return store_fail(SC_MISUSE, "sc_collection_settings_get: NULL argument");
    pthread_rwlock_rdlock(&db->lock);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, name, &c);
    char *s = NULL;
    if (rc == SC_OK && !(s = c->settings ? store_json_dumps(c->settings, JSON_COMPACT) : util_strdup("{}")))
        rc = store_fail(SC_NOMEM, "out of memory");
    pthread_rwlock_unlock(&db->lock);
    if (rc == SC_OK) *out = s;
    return rc;
}

void sc_collection_info_free(sc_collection_info *info) {
    if (!info) return;
    free(info->name);
    if (info->vectors)
        for (size_t i = 0; i < info->n_vector_params; i++) free((char *)info->vectors[i].name);
    free(info->vectors);
    free(info->vector_index);
    if (info->field_indexes)
        for (size_t i = 0; i < info->n_field_indexes; i++) {
            free(info->field_indexes[i].key);
            free(info->field_indexes[i].params_json);
        }
    free(info->field_indexes);
    if (info->sparse)
        for (size_t i = 0; i < info->n_sparse; i++) free((char *)info->sparse[i].name);
    free(info->sparse);
    free(info->sparse_index);
    free(info->metadata_json);
    free(info->settings_json);
    memset(info, 0, sizeof *info);
}

/* ==== Payload indexes ==== */

/* Persist c's config (after a change of its payload indexes). */
static sc_status store__save_config(sc_db *db, store_coll *c) {
    char *config = store_coll_config_json(c);
    if (!config) return store_fail(SC_NOMEM, "out of memory");
    sqlite3_stmt *st = NULL;
    sc_status rc = SC_OK;
    if (sqlite3_prepare_v2(db->sql, "UPDATE collections SET config=?1 WHERE id=?2", -1, &st, NULL) != SQLITE_OK)
        rc = store_fail_sql(db, "saving collection config");
    else {
        sqlite3_bind_text(st, 1, config, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, c->db_id);
        if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail_sql(db, "saving collection config");
    }
    sqlite3_finalize(st);
    free(config);
    return rc;
}

sc_status sc_collection_metadata_update(sc_db *db, const char *name, const char *patch_json) {
    if (!db || !patch_json) return store_fail(SC_MISUSE, "sc_collection_metadata_update: NULL argument");
    json_error_t jerr;
    json_t *patch = json_loads(patch_json, JSON_REJECT_DUPLICATES, &jerr);
    if (!patch && store_json_oom(&jerr)) return store_fail(SC_NOMEM, "out of memory parsing the metadata");
    if (!json_is_object(patch)) {
        json_decref(patch);
        return store_fail(SC_INVALID, "metadata must be a JSON object");
    }
    store_lock_write(db);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, name, &c);
    json_t *next = NULL;
    if (rc != SC_OK) goto done;
    if (!(next = c->metadata ? json_deep_copy(c->metadata) : json_object())) goto oom;
    const char *key;
    json_t *v;
    json_object_foreach(patch, key, v) {
        if (json_is_null(v)) json_object_del(next, key);
        else if (json_object_set(next, key, v) != 0) goto oom;
    }
    json_t *old = c->metadata;
    c->metadata = next; /* what the saved config holds; put back if saving fails */
    if ((rc = store__save_config(db, c)) != SC_OK) {
        c->metadata = old;
        goto done;
    }
    json_decref(old);
    next = NULL;
    goto done;
oom:
    rc = store_fail(SC_NOMEM, "out of memory updating the metadata");
done:
    pthread_rwlock_unlock(&db->lock);
    json_decref(next);
    json_decref(patch);
    return rc;
}

/* Create (replace: an index of another schema on the key is replaced,
** true) the index on key described by s, which is taken over. */
static sc_status store__field_index_create(sc_db *db, const char *coll, const char *key, pindex_schema *s,
                                           bool replace) {
    sc_err err = {0};
    if (filter_path_check(key, &err) != SC_OK) {
        pindex_schema_clear(s);
        return store_fail(err.code == SC_NOMEM ? SC_NOMEM : SC_INVALID, "field_name: %s", err.msg);
    }
    store_lock_write(db);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, coll, &c);
    store_pindex *ix = NULL, *old = NULL;
    size_t at = 0;
    if (rc != SC_OK) goto done;
    at = c->n_indexes;
    for (size_t i = 0; i < c->n_indexes; i++)
        if (!strcmp(pindex_key(c->indexes[i]), key)) {
            const json_t *had = pindex_params(c->indexes[i]);
            bool same = pindex_type(c->indexes[i]) == s->type && (had && s->params ? json_equal((json_t *)had, s->params)
                                                                                      : !had && !s->params);
            if (same || (!replace && pindex_type(c->indexes[i]) == s->type)) goto done;
            if (!replace) {
                rc = store_fail(SC_INVALID, "field `%s` already has a %s index; delete it before creating a %s index",
                                key, sc_field_type_name(pindex_type(c->indexes[i])), sc_field_type_name(s->type));
                goto done;
            }
            at = i;
            old = c->indexes[i];
        }
    store_pindex **grown = old ? c->indexes : realloc(c->indexes, (c->n_indexes + 1) * sizeof *grown);
    if (!grown || !(ix = pindex_new_schema(key, s))) {
        if (grown) c->indexes = grown;
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    c->indexes = grown;
    for (uint32_t slot = 0; slot < c->n_slots; slot++) {
        const json_t *p = NULL;
        if (store_bit_get(c->live, slot) && store_slot_payload_get(c, slot, &p) != SC_OK) {
            rc = store_fail(SC_NOMEM, "building the index on `%s` failed: out of memory", key);
            goto done;
        }
        if (p && (rc = pindex_add(ix, slot, p)) != SC_OK) {
            rc = store_fail(rc, "building the index on `%s` failed", key);
            goto done;
        }
    }
    c->indexes[at] = ix;
    if (!old) c->n_indexes++;
    if ((rc = store__save_config(db, c)) != SC_OK) {
        if (old) c->indexes[at] = old;
        else c->n_indexes--;
        goto done;
    }
    ix = old; /* freed below: the replaced index */
done:
    pindex_schema_clear(s);
    pindex_free(ix);
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

sc_status sc_field_index_create(sc_db *db, const char *coll, const char *key, sc_field_type type) {
    if (!db || !key) return store_fail(SC_MISUSE, "sc_field_index_create: NULL argument");
    if ((unsigned)type > SC_FIELD_TYPE_GEO) return store_fail(SC_INVALID, "field_schema: unknown type %d", (int)type);
    json_t *name = json_string(sc_field_type_name(type));
    pindex_schema s;
    sc_err err = {0};
    sc_status rc = name ? pindex_schema_parse(name, &s, &err) : sc_err_set(&err, SC_NOMEM, "out of memory");
    json_decref(name);
    if (rc != SC_OK) return store_fail_err(&err);
    return store__field_index_create(db, coll, key, &s, false);
}

sc_status sc_field_index_create_ex(sc_db *db, const char *coll, const char *key, const char *schema_json) {
    if (!db || !key || !schema_json) return store_fail(SC_MISUSE, "sc_field_index_create_ex: NULL argument");
    json_error_t jerr;
    json_t *j = json_loads(schema_json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!j && store_json_oom(&jerr)) return store_fail(SC_NOMEM, "out of memory reading field_schema");
    if (!j) return store_fail(SC_INVALID, "field_schema: invalid JSON: %s", jerr.text);
    pindex_schema s;
    sc_err err = {0};
    sc_status rc = pindex_schema_parse(j, &s, &err);
    json_decref(j);
    if (rc != SC_OK) return store_fail_err(&err);
    return store__field_index_create(db, coll, key, &s, true);
}

sc_status sc_field_index_delete(sc_db *db, const char *coll, const char *key) {
    if (!db || !key) return store_fail(SC_MISUSE, "sc_field_index_delete: NULL argument");
    store_lock_write(db);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, coll, &c);
    if (rc != SC_OK) goto done;
    size_t i = 0;
    while (i < c->n_indexes && strcmp(pindex_key(c->indexes[i]), key)) i++;
    if (i == c->n_indexes) {
        rc = store_fail(SC_NOTFOUND, "collection `%s` has no payload index on `%s`", coll, key);
        goto done;
    }
    store_pindex *ix = c->indexes[i];
    memmove(&c->indexes[i], &c->indexes[i + 1], (c->n_indexes - i - 1) * sizeof *c->indexes);
    c->n_indexes--;
    if ((rc = store__save_config(db, c)) != SC_OK) {
        memmove(&c->indexes[i + 1], &c->indexes[i], (c->n_indexes - i) * sizeof *c->indexes);
        c->indexes[i] = ix;
        c->n_indexes++;
        goto done;
    }
    pindex_free(ix);
done:
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

/* ==== Update ==== */

/* Copy of vector i's configuration cur with the fields of u applied, checked. */
static sc_status store__update_params(const sc_vector_params *cur, size_t i, const sc_vector_update *u,
                                      sc_vector_params *out) {
    sc_vector_params vp = *cur;
    uint32_t f = u->fields;
    if (f & SC_VECTOR_UPDATE_KIND) vp.hnsw.kind = u->hnsw.kind;
    if (f & SC_VECTOR_UPDATE_M) vp.hnsw.m = u->hnsw.m;
    if (f & SC_VECTOR_UPDATE_EF_CONSTRUCT) vp.hnsw.ef_construct = u->hnsw.ef_construct;
    if (f & SC_VECTOR_UPDATE_EF) vp.hnsw.ef = u->hnsw.ef;
    if (f & SC_VECTOR_UPDATE_FULL_SCAN_THRESHOLD) vp.hnsw.full_scan_threshold = u->hnsw.full_scan_threshold;
    if (f & SC_VECTOR_UPDATE_INDEX_THRESHOLD) vp.hnsw.index_threshold = u->hnsw.index_threshold;
    if (f & SC_VECTOR_UPDATE_QUANT) vp.quant = u->quant;
    sc_status rc = store_ann_config_check(&vp, i);
    if (rc != SC_OK) return rc;
    *out = vp;
    return SC_OK;
}

/* Does the change from old to new need a new graph? */
static bool store__update_rebuilds(const sc_vector_params *old, const sc_vector_params *new_p) {
    return old->hnsw.kind != new_p->hnsw.kind || old->hnsw.m != new_p->hnsw.m ||
           old->hnsw.ef_construct != new_p->hnsw.ef_construct || old->quant.kind != new_p->quant.kind ||
           old->quant.quantile != new_p->quant.quantile || old->quant.oversampling != new_p->quant.oversampling;
}

sc_status sc_collection_update(sc_db *db, const char *name, const sc_vector_update *updates, size_t n) {
    return sc_collection_update_ex(db, name, updates, n, NULL, 0);
}

/* The configuration of sparse vectors of c after the n updates u (checked:
** names exist and appear once), into next[0..c->n_sparse). */
static sc_status store__sparse_updates(const store_coll *c, const sc_sparse_update *u, size_t n, store_sparse *next) {
    for (size_t k = 0; k < c->n_sparse; k++) next[k] = c->sparse[k];
    for (size_t i = 0; i < n; i++) {
        const char *vname = u[i].name ? u[i].name : "";
        int k = store_coll_sparse_index(c, vname);
        if (k < 0) return store_fail(SC_NOTFOUND, "sparse_updates[%zu]: collection `%s` has no sparse vector named `%s`",
                                     i, c->name, vname);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(vname, u[j].name ? u[j].name : ""))
                return store_fail(SC_INVALID, "sparse_updates[%zu]: sparse vector `%s` is updated twice", i, vname);
        if ((u[i].fields & SC_SPARSE_UPDATE_MODIFIER) && (unsigned)u[i].modifier > SC_SPARSE_MODIFIER_IDF)
            return store_fail(SC_INVALID, "sparse_vectors.%s.modifier: unknown value %d", vname, (int)u[i].modifier);
        if (u[i].fields & SC_SPARSE_UPDATE_MODIFIER) next[k].modifier = u[i].modifier;
        if (u[i].fields & SC_SPARSE_UPDATE_ON_DISK) next[k].on_disk = u[i].on_disk;
        if (u[i].fields & SC_SPARSE_UPDATE_FULL_SCAN_THRESHOLD) next[k].full_scan_threshold = u[i].full_scan_threshold;
    }
    return SC_OK;
}

sc_status sc_collection_update_ex(sc_db *db, const char *name, const sc_vector_update *updates, size_t n,
                                  const sc_sparse_update *sparse, size_t n_sparse) {
    sc_collection_change ch = {.updates = updates, .n_updates = n, .sparse = sparse, .n_sparse = n_sparse};
    return sc_collection_reconfigure(db, name, &ch);
}

sc_status sc_collection_reconfigure(sc_db *db, const char *name, const sc_collection_change *change) {
    if (!db || !change || (change->n_updates && !change->updates) || (change->n_sparse && !change->sparse))
        return store_fail(SC_MISUSE, "sc_collection_update: NULL argument");
    const sc_vector_update *updates = change->updates;
    const sc_sparse_update *sparse = change->sparse;
    size_t n = change->n_updates, n_sparse = change->n_sparse;
    json_t *settings = NULL, *settings_old = NULL;
    sc_status src = change->settings_json ? store__settings_parse(change->settings_json, &settings) : SC_OK;
    if (src != SC_OK) return src;
    store_lock_write(db);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, name, &c);
    sc_vector_params *old = NULL, *next = NULL;
    bool *rebuild = NULL, *seen = NULL;
    store_sparse *sp_old = NULL, *sp_next = NULL;
    char *config = NULL;
    if (rc != SC_OK) goto done;
    old = calloc(c->n_vecs ? c->n_vecs : 1, sizeof *old);
    next = calloc(c->n_vecs ? c->n_vecs : 1, sizeof *next);
    rebuild = calloc(c->n_vecs ? c->n_vecs : 1, sizeof *rebuild);
    seen = calloc(c->n_vecs ? c->n_vecs : 1, sizeof *seen);
    sp_old = calloc(c->n_sparse ? c->n_sparse : 1, sizeof *sp_old);
    sp_next = calloc(c->n_sparse ? c->n_sparse : 1, sizeof *sp_next);
    if (!old || !next || !rebuild || !seen || !sp_old || !sp_next) {
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    for (size_t v = 0; v < c->n_vecs; v++) {
        const store_vec *sv = &c->vecs[v];
        old[v] = next[v] = (sc_vector_params){.name = sv->name, .dim = sv->dim, .distance = sv->distance,
                                              .hnsw = sv->hnsw, .quant = sv->quant};
    }
    /* 1. validate everything and compute the new parameters */
    for (size_t i = 0; i < n; i++) {
        const char *vname = updates[i].name ? updates[i].name : "";
        int v = store_coll_vec_index(c, vname);
        if (v < 0) {
            rc = store_fail(SC_NOTFOUND, "updates[%zu]: collection `%s` has no vector named `%s`", i, name, vname);
            goto done;
        }
        if (seen[v]) {
            rc = store_fail(SC_INVALID, "updates[%zu]: vector `%s` is updated twice", i, c->vecs[v].name);
            goto done;
        }
        seen[v] = true;
        if ((rc = store__update_params(&old[v], (size_t)v, &updates[i], &next[v])) != SC_OK) goto done;
    }
    if ((rc = store__sparse_updates(c, sparse, n_sparse, sp_next)) != SC_OK) goto done;
    for (size_t v = 0; v < c->n_vecs; v++) rebuild[v] = store__update_rebuilds(&old[v], &next[v]);
    /* 2. commit the configuration (and forget the graphs to rebuild) in one transaction */
    for (size_t v = 0; v < c->n_vecs; v++) {
        c->vecs[v].hnsw = next[v].hnsw;
        c->vecs[v].quant = next[v].quant;
    }
    for (size_t k = 0; k < c->n_sparse; k++) { /* the sparse settings are plain values: swap them in and out */
        sp_old[k] = c->sparse[k];
        c->sparse[k] = sp_next[k];
    }
    settings_old = c->settings;
    if (change->settings_json) c->settings = settings;
    config = store_coll_config_json(c);
    c->settings = settings_old;
    for (size_t v = 0; v < c->n_vecs; v++) { /* memory changes only after the commit */
        c->vecs[v].hnsw = old[v].hnsw;
        c->vecs[v].quant = old[v].quant;
    }
    for (size_t k = 0; k < c->n_sparse; k++) c->sparse[k] = sp_old[k];
    if (!config) {
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = store_exec(db, "BEGIN IMMEDIATE")) != SC_OK) goto done;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, "UPDATE collections SET config=?1 WHERE id=?2", -1, &st, NULL) != SQLITE_OK) {
        rc = store_fail_sql(db, "updating collection config");
    } else {
        sqlite3_bind_text(st, 1, config, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, c->db_id);
        if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail_sql(db, "updating collection config");
    }
    sqlite3_finalize(st);
    for (size_t v = 0; rc == SC_OK && v < c->n_vecs; v++)
        if (rebuild[v]) rc = store_ann_forget(db, c, v);
    if (rc == SC_OK) rc = store_exec(db, "COMMIT");
    if (rc != SC_OK) {
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
        goto done;
    }
    /* 3. apply to memory and bring the graphs in line */
    if (change->settings_json) {
        c->settings = settings;
        settings = settings_old;
    } else {
        settings = NULL;
    }
    for (size_t v = 0; v < c->n_vecs; v++) {
        c->vecs[v].hnsw = next[v].hnsw;
        c->vecs[v].quant = next[v].quant;
    }
    for (size_t k = 0; k < c->n_sparse; k++) {
        c->sparse[k].modifier = sp_next[k].modifier;
        c->sparse[k].on_disk = sp_next[k].on_disk;
        c->sparse[k].full_scan_threshold = sp_next[k].full_scan_threshold;
    }
    for (size_t v = 0; v < c->n_vecs; v++)
        if (store_ann_reconfigure(db, c, v, rebuild[v]) != SC_OK) /* committed: a lost graph is rebuilt on open */
            util_log(&db->opt.logger, SC_LOG_LEVEL_WARN,
                     "saving the graph of `%s`.`%s` failed (%s); it is rebuilt at the next open",
                     c->name, c->vecs[v].name, sc_db_errmsg(db));
done:
    pthread_rwlock_unlock(&db->lock);
    free(config);
    free(old);
    free(next);
    free(rebuild);
    free(seen);
    free(sp_old);
    free(sp_next);
    json_decref(settings); /* the old object after a commit, the unused new one otherwise */
    return rc;
}
