/*
** store/vector_names.c: adding a dense named vector to an existing
** collection and deleting one (Qdrant's PUT / DELETE
** /collections/{c}/vectors/{name}).
**
** DESIGN
** - A point's vector blob names how many vectors its collection has
**   (docs/FILE_FORMATS.md), so both operations rewrite the blob of every
**   point of the collection, with the new configuration, in one
**   transaction: a failure leaves the store and memory as they were.
** - Graphs are files named by the vector's position (ann.c). Deleting
**   vector k forgets the saved graphs of positions k.. inside the
**   transaction; after the commit their files are removed and the graphs of
**   the vectors that moved down are saved under their new position. A new
**   vector starts without points, so without a graph.
*/
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

/* Inside a transaction: write every live point's vector blob as c's
** current configuration encodes it. */
static sc_status store__rewrite_blobs(sc_db *db, store_coll *c) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, "UPDATE points SET vectors=?1 WHERE coll=?2 AND pid=?3", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail_sql(db, "rewriting vectors");
    const float **vecs = calloc(c->n_vecs ? c->n_vecs : 1, sizeof *vecs);
    uint32_t *rows = calloc(c->n_vecs ? c->n_vecs : 1, sizeof *rows);
    bool has_mv = store_coll_has_multivec(c);
    util_buf blob = {0};
    sc_status rc = vecs && rows ? SC_OK : store_fail(SC_NOMEM, "out of memory");
    for (uint32_t s = 0; rc == SC_OK && s < c->n_slots; s++) {
        if (!store_bit_get(c->live, s)) continue;
        for (size_t v = 0; v < c->n_vecs; v++) {
            const store_vec *sv = &c->vecs[v];
            rows[v] = 0;
            if (sv->multivec) { /* its rows live in sv->mv, one allocation per slot */
                const store_mvec *m = sv->mv[s];
                vecs[v] = m ? m->data : NULL;
                rows[v] = m ? m->n : 0;
            } else {
                vecs[v] = store_bit_get(sv->present, s) ? sv->data + (size_t)s * sv->dim : NULL;
            }
        }
        blob.len = 0;
        if ((rc = store_vec_blob_encode(c, vecs, has_mv ? rows : NULL, &blob)) != SC_OK) break;
        uint8_t key[STORE_ID_KEY_SIZE];
        store_id_key(&c->ids[s], key);
        sqlite3_reset(st);
        sqlite3_bind_blob(st, 1, blob.data, (int)blob.len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, c->db_id);
        sqlite3_bind_blob(st, 3, key, sizeof key, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail_sql(db, "rewriting vectors");
    }
    sqlite3_finalize(st);
    util_buf_free(&blob);
    free(vecs);
    free(rows);
    return rc;
}

/* Inside a transaction: save c's configuration and every point's blob. */
static sc_status store__save_all(sc_db *db, store_coll *c) {
    char *config = store_coll_config_json(c);
    if (!config) return store_fail(SC_NOMEM, "out of memory");
    sqlite3_stmt *st = NULL;
    sc_status rc = SC_OK;
    if (sqlite3_prepare_v2(db->sql, "UPDATE collections SET config=?1 WHERE id=?2", -1, &st, NULL) != SQLITE_OK) {
        rc = store_fail_sql(db, "saving collection config");
    } else {
        sqlite3_bind_text(st, 1, config, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, c->db_id);
        if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail_sql(db, "saving collection config");
    }
    sqlite3_finalize(st);
    free(config);
    return rc == SC_OK ? store__rewrite_blobs(db, c) : rc;
}

sc_status sc_collection_vector_create(sc_db *db, const char *coll, const sc_vector_params *params) {
    if (!db || !params) return store_fail(SC_MISUSE, "sc_collection_vector_create: NULL argument");
    sc_vector_params vp = *params;
    const char *vname = vp.name ? vp.name : "";
    if (!*vname || strlen(vname) > SC_MAX_NAME_LEN)
        return store_fail(SC_INVALID, "vector name must be 1 to %u bytes", SC_MAX_NAME_LEN);
    for (const char *p = vname; *p; p++)
        if ((unsigned char)*p < 32) return store_fail(SC_INVALID, "vector name contains a control character");
    if (vp.multivec != SC_MULTIVEC_COMPARATOR_NONE)
        return store_fail(SC_UNSUPPORTED, "vectors.%s: adding a multivector to an existing collection is not "
                          "supported; create the collection with it", vname);
    if (vp.dim < 1 || vp.dim > SC_MAX_DIM)
        return store_fail(SC_INVALID, "vectors.%s.size: %u is out of range, expected 1..%u", vname, vp.dim, SC_MAX_DIM);
    if ((unsigned)vp.distance > SC_DISTANCE_MANHATTAN)
        return store_fail(SC_INVALID, "vectors.%s.distance: unknown value %d", vname, (int)vp.distance);
    store_lock_write(db);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, coll, &c);
    if (rc != SC_OK) goto done;
    if ((rc = store_ann_config_check(&vp, c->n_vecs)) != SC_OK) goto done;
    if (store_coll_vec_index(c, vname) >= 0 || store_coll_sparse_index(c, vname) >= 0) {
        rc = store_fail(SC_EXISTS, "Vector with name `%s` already exists in collection `%s`", vname, coll);
        goto done;
    }
    if (c->n_vecs >= SC_MAX_VECTOR_NAMES) {
        rc = store_fail(SC_INVALID, "collection `%s` has %u named vectors, the most allowed", coll, SC_MAX_VECTOR_NAMES);
        goto done;
    }
    store_vec *grown = realloc(c->vecs, (c->n_vecs + 1) * sizeof *grown);
    if (!grown) {
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    c->vecs = grown;
    store_vec nv = {.name = util_strdup(vname), .dim = vp.dim, .distance = vp.distance, .hnsw = vp.hnsw,
                    .quant = vp.quant};
    nv.data = calloc(c->cap ? c->cap : 1, sizeof(float) * vp.dim);
    nv.present = calloc(c->cap / 64 + 1, sizeof(uint64_t));
    nv.indexed = calloc(c->cap / 64 + 1, sizeof(uint64_t));
    if (!nv.name || !nv.data || !nv.present || !nv.indexed) {
        free(nv.name);
        free(nv.data);
        free(nv.present);
        free(nv.indexed);
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    c->vecs[c->n_vecs++] = nv; /* what the saved configuration holds; taken back on failure */
    if ((rc = store_exec(db, "BEGIN IMMEDIATE")) == SC_OK) {
        rc = store_ann_forget(db, c, c->n_vecs - 1); /* a stale key of a vector deleted from this position */
        if (rc == SC_OK) rc = store__save_all(db, c);
        if (rc == SC_OK) rc = store_exec(db, "COMMIT");
        if (rc != SC_OK) sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc != SC_OK) {
        c->n_vecs--;
        free(nv.name);
        free(nv.data);
        free(nv.present);
        free(nv.indexed);
    }
done:
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

sc_status sc_collection_vector_delete(sc_db *db, const char *coll, const char *vname) {
    if (!db || !vname) return store_fail(SC_MISUSE, "sc_collection_vector_delete: NULL argument");
    store_lock_write(db);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, coll, &c);
    if (rc != SC_OK) goto done;
    int k = store_coll_vec_index(c, vname);
    if (k < 0) {
        rc = store_fail(SC_NOTFOUND, "Vector with name `%s` does not exist in collection `%s`", vname, coll);
        goto done;
    }
    if (c->n_vecs + c->n_sparse == 1) {
        rc = store_fail(SC_INVALID, "vector `%s` is the only vector of collection `%s`", vname, coll);
        goto done;
    }
    size_t old_n = c->n_vecs;
    store_vec gone = c->vecs[k];
    memmove(&c->vecs[k], &c->vecs[k + 1], (old_n - (size_t)k - 1) * sizeof *c->vecs);
    c->n_vecs--;
    if ((rc = store_exec(db, "BEGIN IMMEDIATE")) == SC_OK) {
        for (size_t v = (size_t)k; rc == SC_OK && v < old_n; v++) rc = store_ann_forget(db, c, v);
        if (rc == SC_OK) rc = store__save_all(db, c);
        if (rc == SC_OK) rc = store_exec(db, "COMMIT");
        if (rc != SC_OK) sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc != SC_OK) { /* put it back where it was */
        memmove(&c->vecs[k + 1], &c->vecs[k], (old_n - (size_t)k - 1) * sizeof *c->vecs);
        c->vecs[k] = gone;
        c->n_vecs++;
        goto done;
    }
    for (size_t v = (size_t)k; v < old_n; v++) store_ann_unlink(db, c, v);
    for (size_t v = (size_t)k; v < c->n_vecs; v++)
        if (c->vecs[v].ann) c->vecs[v].ann_dirty = true; /* saved again under its new position */
    free(gone.name);
    free(gone.data);
    free(gone.present);
    free(gone.indexed);
    store_tailq_release(&gone);
    hnsw_index_free(gone.ann);
    if (store_ann_save(db, c) != SC_OK) /* committed: a graph not saved is rebuilt at the next open */
        util_log(&db->opt.logger, SC_LOG_LEVEL_WARN, "saving the graphs of `%s` failed (%s); they are rebuilt at "
                 "the next open", c->name, sc_db_errmsg(db));
done:
    pthread_rwlock_unlock(&db->lock);
    return rc;
}
