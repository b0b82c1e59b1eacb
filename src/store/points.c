/*
** store/points.c: writing and reading points: upsert, get, delete, payload
** operations, scroll and count.
**
** Every write follows the same three steps under the writer lock:
** (1) validate the whole request and build what it will store, touching
** nothing; (2) write it to SQLite in one transaction (rolled back on any
** error); (3) apply it to memory, which cannot fail because capacity was
** reserved before step 2.
*/
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/index.h"

/* ==== Transactions ==== */

static sc_status store__begin(sc_db *db) { return store_exec(db, "BEGIN IMMEDIATE"); }

static sc_status store__commit(sc_db *db) {
    if (sqlite3_exec(db->sql, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sc_status rc = store_fail_sql(db, "commit");
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return SC_OK;
}

/* Record the write sequence number inside the current transaction. */
static sc_status store__set_seq(sc_db *db, uint64_t seq) {
    sqlite3_stmt *st = NULL;
    sc_status rc = SC_OK;
    if (sqlite3_prepare_v2(db->sql, "INSERT OR REPLACE INTO meta(key, value) VALUES('seq', ?1)", -1, &st, NULL) !=
            SQLITE_OK ||
        (sqlite3_bind_int64(st, 1, (sqlite3_int64)seq), sqlite3_step(st)) != SQLITE_DONE)
        rc = store_fail_sql(db, "writing sequence number");
    sqlite3_finalize(st);
    return rc;
}

static void store__rollback(sc_db *db) {
    if (!sqlite3_get_autocommit(db->sql)) sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

/* ==== Group sync ====
** DESIGN: with SC_SYNC_MODE_FULL every acknowledged write is durable. An
** upsert commits with synchronous=NORMAL (its WAL frames are written, not
** fsynced) and takes a ticket, releases the writer lock, and only then waits
** in store_sync_wait for an fsync of the WAL that began after its commit.
** Concurrent upserts thus share one fsync, and none holds the writer lock
** while the disk syncs. Each upsert is still its own transaction, so a
** failed batch changes nothing and takes no other batch with it. A reader
** may see a batch before its writer is answered; a process crash (kill -9)
** loses nothing written, only an OS crash or power cut in that window of
** milliseconds can, and that batch was never acknowledged. Other writes
** keep SQLite's own fsync at COMMIT (which covers earlier upserts too). */

/* Switch the connection's synchronous setting (writer lock held): NORMAL
** around an upsert's transaction when the store is FULL. */
static void store__sync_setting(sc_db *db, bool normal) {
    if (db->opt.sync == SC_SYNC_MODE_FULL)
        sqlite3_exec(db->sql, normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", NULL, NULL, NULL);
}

/* fsync the WAL (sync_mu not held): SC_OK or SC_IOERR with the message set. */
static sc_status store__sync_wal(sc_db *db) {
    if (db->wal_fd < 0) {
        char p[4096];
        snprintf(p, sizeof p, "%s/store.db-wal", db->path);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return store_fail(SC_IOERR, "opening %s to sync it: %s", p, strerror(errno));
        db->wal_fd = fd; /* only the syncing thread (one at a time) touches it */
    }
    if (fsync(db->wal_fd) != 0)
        return store_fail(SC_IOERR, "fsync of %s/store.db-wal failed: %s", db->path, strerror(errno));
    return SC_OK;
}

sc_status store_sync_wait(sc_db *db, uint64_t ticket) {
    sc_status rc = SC_OK;
    pthread_mutex_lock(&db->sync_mu);
    while (db->n_synced < ticket && rc == SC_OK) {
        if (ticket <= db->n_sync_failed) {
            rc = store_fail(SC_IOERR, "fsync of %s/store.db-wal failed (in another thread's sync that covered "
                            "this write): it may not be durable", db->path);
        } else if (db->syncing) {
            pthread_cond_wait(&db->sync_cv, &db->sync_mu);
        } else {
            /* lead: every commit counted now wrote its frames before this fsync */
            uint64_t upto = __atomic_load_n(&db->n_commits, __ATOMIC_ACQUIRE);
            db->syncing = true;
            pthread_mutex_unlock(&db->sync_mu);
            rc = store__sync_wal(db);
            pthread_mutex_lock(&db->sync_mu);
            db->syncing = false;
            if (rc == SC_OK && upto > db->n_synced) db->n_synced = upto;
            if (rc != SC_OK && upto > db->n_sync_failed) db->n_sync_failed = upto;
            pthread_cond_broadcast(&db->sync_cv);
        }
    }
    pthread_mutex_unlock(&db->sync_mu);
    return rc;
}

/* ==== Upsert ==== */

/* One validated point of an upsert batch. */
typedef struct store__prepared {
    const float **vecs; /* per collection vector: data to store (normalised copy for cosine) or NULL */
    uint32_t *rows;     /* per collection vector: rows of a multivector in vecs (unused for single vectors) */
    store_mvec **mvecs; /* per collection vector: the owned new rows of a multivector, or NULL (kept or absent) */
    store_svec **svecs; /* per sparse vector of the collection: the owned vector to store, or NULL */
    util_buf sparse_blob; /* encoded sparse vectors for points.sparse (empty: NULL) */
    json_t *payload;    /* parsed payload (owned) or NULL for {} */
    uint32_t *kw_doc;   /* keyword terms of its text (owned) or NULL */
    uint32_t kw_len;    /* tokens in its text */
    util_buf kw_blob;   /* encoded terms for points.kw */
} store__prepared;

static const char *store__idstr(const sc_point_id *id, char *buf) { return sc_point_id_format(id, buf, 40); }

/* Whether a single vector of sv is stored as a converted copy (arena) rather than as given. */
static bool store__vec_copied(const store_vec *sv) {
    return !sv->multivec && (sv->distance == SC_DISTANCE_COSINE || sv->datatype != SC_VECTOR_DATATYPE_FLOAT32);
}

/* The rows of multivector k (sv) of point i into pp (owned copy, converted). */
static sc_status store__prepare_multi(const store_vec *sv, const float *data, uint32_t dim, uint32_t rows,
                                      const sc_point_in *pt, size_t i, int k, store__prepared *pp) {
    char what[80], idb[40];
    snprintf(what, sizeof what, "points[%zu] (id %s)", i, store__idstr(&pt->id, idb));
    sc_status rc = store_mvec_from_input(sv, data, dim, rows, what, &pp->mvecs[k]);
    if (rc != SC_OK) return rc;
    pp->vecs[k] = pp->mvecs[k]->data;
    pp->rows[k] = pp->mvecs[k]->n;
    return SC_OK;
}

/* Validate point i of a batch into *pp; float copies go to arena. */
static sc_status store__prepare_point(store_coll *c, const sc_point_in *pt, size_t i, store__prepared *pp,
                                      float *arena) {
    char idb[40];
    if (pt->id.kind != SC_ID_KIND_NUM && pt->id.kind != SC_ID_KIND_UUID)
        return store_fail(SC_INVALID, "points[%zu].id: unknown id kind %d", i, (int)pt->id.kind);
    if (pt->n_vectors && !pt->vectors)
        return store_fail(SC_INVALID, "points[%zu].vector: %zu vectors announced but none given", i, pt->n_vectors);
    size_t off = 0;
    for (size_t v = 0; v < pt->n_vectors; v++) {
        const sc_vector_in *vi = &pt->vectors[v];
        int k = store_coll_vec_index(c, vi->name);
        if (k < 0 && store_coll_sparse_index(c, vi->name) >= 0)
            return store_fail(SC_INVALID, "points[%zu] (id %s): vector `%s` is sparse in collection `%s`: give it as "
                              "indices and values", i, store__idstr(&pt->id, idb), vi->name, c->name);
        if (k < 0)
            return store_fail(SC_NOTFOUND, "points[%zu] (id %s): vector name `%s` is not configured in collection `%s`",
                              i, store__idstr(&pt->id, idb), vi->name && *vi->name ? vi->name : "(default)", c->name);
        store_vec *sv = &c->vecs[k];
        const char *vname = *sv->name ? sv->name : "(default)";
        if (pp->vecs[k])
            return store_fail(SC_INVALID, "points[%zu] (id %s): vector `%s` is given twice", i,
                              store__idstr(&pt->id, idb), vname);
        if (sv->multivec) { /* a single vector for a multivector: one row */
            sc_status rc = store__prepare_multi(sv, vi->data, vi->dim, 1, pt, i, k, pp);
            if (rc != SC_OK) return rc;
            continue;
        }
        if (vi->dim != sv->dim || !vi->data)
            return store_fail(SC_INVALID,
                              "points[%zu] (id %s): vector `%s` has dimension %u, collection `%s` expects %u", i,
                              store__idstr(&pt->id, idb), vname, vi->data ? vi->dim : 0, c->name, sv->dim);
        for (uint32_t d = 0; d < vi->dim; d++)
            if (!isfinite(vi->data[d]))
                return store_fail(SC_INVALID, "points[%zu] (id %s): vector `%s` component %u is %s", i,
                                  store__idstr(&pt->id, idb), vname, d, isnan(vi->data[d]) ? "NaN" : "infinite");
        if (store__vec_copied(sv)) {
            float *cp = arena + off;
            off += sv->dim;
            memcpy(cp, vi->data, sizeof(float) * sv->dim);
            store_vec_convert(sv->datatype, cp, sv->dim);
            for (uint32_t d = 0; d < sv->dim; d++)
                if (!isfinite(cp[d]))
                    return store_fail(SC_INVALID, "points[%zu] (id %s): vector `%s` component %u is out of the "
                                      "float16 range", i, store__idstr(&pt->id, idb), vname, d);
            if (sv->distance == SC_DISTANCE_COSINE) index_normalize(cp, sv->dim);
            pp->vecs[k] = cp;
        } else {
            pp->vecs[k] = vi->data;
        }
    }
    if (pt->n_multivecs && !pt->multivecs)
        return store_fail(SC_INVALID, "points[%zu].vector: %zu multivectors announced but none given", i,
                          pt->n_multivecs);
    for (size_t v = 0; v < pt->n_multivecs; v++) {
        const sc_multivec_in *mi = &pt->multivecs[v];
        int k = store_coll_vec_index(c, mi->name);
        if (k < 0)
            return store_fail(SC_NOTFOUND, "points[%zu] (id %s): vector name `%s` is not configured in collection `%s`",
                              i, store__idstr(&pt->id, idb), mi->name && *mi->name ? mi->name : "(default)", c->name);
        store_vec *sv = &c->vecs[k];
        const char *vname = *sv->name ? sv->name : "(default)";
        if (!sv->multivec)
            return store_fail(SC_INVALID, "points[%zu] (id %s): vector `%s` of collection `%s` is not a multivector: "
                              "give one list of numbers", i, store__idstr(&pt->id, idb), vname, c->name);
        if (pp->vecs[k])
            return store_fail(SC_INVALID, "points[%zu] (id %s): vector `%s` is given twice", i,
                              store__idstr(&pt->id, idb), vname);
        sc_status rc = store__prepare_multi(sv, mi->data, mi->dim, mi->n_rows, pt, i, k, pp);
        if (rc != SC_OK) return rc;
    }
    if (pt->n_sparse && !pt->sparse)
        return store_fail(SC_INVALID, "points[%zu].vector: %zu sparse vectors announced but none given", i, pt->n_sparse);
    for (size_t v = 0; v < pt->n_sparse; v++) {
        const sc_sparse_in *si = &pt->sparse[v];
        const char *vname = si->name ? si->name : "";
        int k = store_coll_sparse_index(c, vname);
        if (k < 0 && *vname && store_coll_vec_index(c, vname) >= 0)
            return store_fail(SC_INVALID, "points[%zu] (id %s): vector `%s` is dense in collection `%s`: give it as a "
                              "list of numbers", i, store__idstr(&pt->id, idb), vname, c->name);
        if (k < 0)
            return store_fail(SC_NOTFOUND, "points[%zu] (id %s): sparse vector name `%s` is not configured in "
                              "collection `%s`", i, store__idstr(&pt->id, idb), *vname ? vname : "(default)", c->name);
        if (pp->svecs[k])
            return store_fail(SC_INVALID, "points[%zu] (id %s): sparse vector `%s` is given twice", i,
                              store__idstr(&pt->id, idb), vname);
        char what[SC_MAX_NAME_LEN + 80];
        snprintf(what, sizeof what, "points[%zu] (id %s): sparse vector `%s`", i, store__idstr(&pt->id, idb), vname);
        sc_status rc = store_svec_from_input(si, what, &pp->svecs[k]);
        if (rc != SC_OK) return rc;
    }
    if (c->n_sparse) {
        sc_status rc = store_sparse_blob_encode(c, pp->svecs, &pp->sparse_blob);
        if (rc != SC_OK) return rc;
    }
    if (pt->payload_parsed) { /* parsed by the caller (the server's decoded request): no text round trip */
        json_t *p = (json_t *)pt->payload_parsed;
        if (!json_is_object(p))
            return store_fail(SC_INVALID, "points[%zu] (id %s): payload must be a JSON object", i,
                              store__idstr(&pt->id, idb));
        pp->payload = json_incref(p);
    } else if (pt->payload_json && *pt->payload_json) {
        json_error_t jerr;
        json_t *p = json_loads(pt->payload_json, JSON_REJECT_DUPLICATES, &jerr);
        if (!p && store_json_oom(&jerr))
            return store_fail(SC_NOMEM, "points[%zu] (id %s): out of memory parsing the payload", i,
                              store__idstr(&pt->id, idb));
        if (!p)
            return store_fail(SC_INVALID, "points[%zu] (id %s): payload is not valid JSON: %s at line %d column %d", i,
                              store__idstr(&pt->id, idb), jerr.text, jerr.line, jerr.column);
        if (!json_is_object(p)) {
            json_decref(p);
            return store_fail(SC_INVALID, "points[%zu] (id %s): payload must be a JSON object", i,
                              store__idstr(&pt->id, idb));
        }
        pp->payload = p;
    }
    if (pt->text) {
        size_t tl = strlen(pt->text);
        if (tl > ((size_t)64 << 20))
            return store_fail(SC_INVALID, "points[%zu] (id %s): text is %zu bytes, at most 64 MiB", i,
                              store__idstr(&pt->id, idb), tl);
        sc_status rc = store_kw_encode(c->kw, pt->text, &pp->kw_doc, &pp->kw_len, &pp->kw_blob);
        if (rc != SC_OK) return rc;
    }
    return SC_OK;
}

/* The prepared points of a batch with the storage they point into. */
typedef struct store__batch {
    store__prepared *pp;   /* one per point */
    const float **vec_ptrs;/* pp[i].vecs, n_vecs each */
    uint32_t *row_counts;  /* pp[i].rows, n_vecs each */
    store_mvec **mvec_ptrs;/* pp[i].mvecs, n_vecs each */
    store_svec **svec_ptrs;/* pp[i].svecs, n_sparse each */
    store_svec **column;   /* n entries: one sparse vector of each point (store__reserve_sparse) */
    float *arena;          /* normalised copies of cosine vectors */
    size_t n_sparse;       /* the collection's sparse vectors (for freeing) */
    size_t n_vecs;         /* the collection's dense vectors (for freeing) */
} store__batch;

/* Allocate the storage of b for n points (arena_n floats of cosine copies),
** each pp[i] pointing at its own vecs / svecs; SC_NOMEM. */
static sc_status store__batch_alloc(const store_coll *c, size_t n, size_t arena_n, store__batch *b) {
    b->pp = calloc(n ? n : 1, sizeof *b->pp);
    b->vec_ptrs = calloc(n * c->n_vecs + 1, sizeof *b->vec_ptrs);
    b->row_counts = calloc(n * c->n_vecs + 1, sizeof *b->row_counts);
    b->mvec_ptrs = calloc(n * c->n_vecs + 1, sizeof *b->mvec_ptrs);
    b->n_vecs = c->n_vecs;
    b->svec_ptrs = calloc(n * c->n_sparse + 1, sizeof *b->svec_ptrs);
    b->column = calloc(n ? n : 1, sizeof *b->column);
    b->arena = malloc(sizeof(float) * (arena_n ? arena_n : 1));
    b->n_sparse = c->n_sparse;
    if (!b->pp || !b->vec_ptrs || !b->row_counts || !b->mvec_ptrs || !b->svec_ptrs || !b->column || !b->arena)
        return SC_NOMEM;
    for (size_t i = 0; i < n; i++) {
        b->pp[i].vecs = b->vec_ptrs + i * c->n_vecs;
        b->pp[i].rows = b->row_counts + i * c->n_vecs;
        b->pp[i].mvecs = b->mvec_ptrs + i * c->n_vecs;
        b->pp[i].svecs = b->svec_ptrs + i * c->n_sparse;
    }
    return SC_OK;
}

/* Validate the n points of a batch into b (store__prepare_point each). */
static sc_status store__prepare_all(store_coll *c, const sc_point_in *points, size_t n, store__batch *b) {
    size_t arena_n = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t v = 0; v < points[i].n_vectors && points[i].vectors; v++) {
            int k = store_coll_vec_index(c, points[i].vectors[v].name);
            if (k >= 0 && store__vec_copied(&c->vecs[k])) arena_n += c->vecs[k].dim;
        }
    if (store__batch_alloc(c, n, arena_n, b) != SC_OK) return store_fail(SC_NOMEM, "out of memory preparing %zu points", n);
    size_t arena_off = 0;
    for (size_t i = 0; i < n; i++) {
        sc_status rc = store__prepare_point(c, &points[i], i, &b->pp[i], b->arena + arena_off);
        if (rc != SC_OK) return rc;
        for (size_t v = 0; v < c->n_vecs; v++)
            if (b->pp[i].vecs[v] && store__vec_copied(&c->vecs[v])) arena_off += c->vecs[v].dim;
    }
    return SC_OK;
}

/* Free what store__prepare_all allocated (n points; pp may be partly filled). */
static void store__batch_free(store__batch *b, size_t n) {
    for (size_t i = 0; b->pp && i < n; i++) {
        json_decref(b->pp[i].payload);
        free(b->pp[i].kw_doc);
        util_buf_free(&b->pp[i].kw_blob);
        util_buf_free(&b->pp[i].sparse_blob);
        for (size_t k = 0; b->pp[i].svecs && k < b->n_sparse; k++) free(b->pp[i].svecs[k]);
        for (size_t k = 0; b->pp[i].mvecs && k < b->n_vecs; k++) free(b->pp[i].mvecs[k]);
    }
    free(b->pp);
    free(b->vec_ptrs);
    free(b->row_counts);
    free(b->mvec_ptrs);
    free(b->svec_ptrs);
    free(b->column);
    free(b->arena);
}

/* Room in the posting lists for the sparse vectors of the first n points of
** b, so that applying them cannot fail. */
static sc_status store__reserve_sparse(store_coll *c, store__batch *b, size_t n) {
    for (size_t k = 0; k < c->n_sparse; k++) {
        for (size_t i = 0; i < n; i++) b->column[i] = b->pp[i].svecs[k];
        sc_status rc = store_sparse_reserve(&c->sparse[k], b->column, n);
        if (rc != SC_OK) return rc;
    }
    return SC_OK;
}

/* INSERT OR REPLACE one point row. */
static sc_status store__write_point(sc_db *db, sqlite3_stmt *st, store_coll *c, const sc_point_id *id, uint32_t slot,
                                    uint64_t ver, const store__prepared *pp, util_buf *blob) {
    const float *const *vecs = pp->vecs;
    const json_t *payload = pp->payload;
    const util_buf *kw_blob = &pp->kw_blob;
    uint8_t key[STORE_ID_KEY_SIZE];
    store_id_key(id, key);
    blob->len = 0;
    sc_status rc = store_vec_blob_encode(c, vecs, pp->rows, blob);
    if (rc != SC_OK) return rc;
    char *ptext = payload ? store_json_dumps(payload, JSON_COMPACT) : NULL;
    if (payload && !ptext) return store_fail(SC_NOMEM, "out of memory");
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, c->db_id);
    sqlite3_bind_blob(st, 2, key, sizeof key, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, slot);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)ver);
    /* STATIC: the texts outlive the step, and a copy could fail for lack
    ** of memory, leaving the column NULL (the point stored without payload) */
    sqlite3_bind_text(st, 5, ptext ? ptext : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, blob->data, (int)blob->len, SQLITE_STATIC);
    if (kw_blob && kw_blob->len) sqlite3_bind_blob(st, 7, kw_blob->data, (int)kw_blob->len, SQLITE_STATIC);
    else sqlite3_bind_null(st, 7);
    const util_buf *sparse_blob = &pp->sparse_blob;
    if (c->n_sparse && sparse_blob->len > (size_t)INT32_MAX) {
        free(ptext);
        return store_fail(SC_INVALID, "sparse vectors of one point take %zu bytes, more than a row holds",
                          sparse_blob->len);
    }
    if (c->n_sparse && sparse_blob->len)
        sqlite3_bind_blob(st, 8, sparse_blob->data, (int)sparse_blob->len, SQLITE_STATIC);
    else if (c->n_sparse)
        sqlite3_bind_null(st, 8);
    if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail_sql(db, "writing point");
    free(ptext);
    return rc;
}

/* Copy the vectors of a prepared point into slot and stamp it with version
** ver; its new multivectors and sparse vectors move into the collection
** (pp->mvecs[v], pp->svecs[k] become NULL), a kept multivector stays, and a
** sparse vector the point lacks is removed (its svecs[k] is NULL). */
static void store__apply_vectors(store_coll *c, uint32_t slot, store__prepared *pp, uint64_t ver) {
    const float *const *vecs = pp->vecs;
    for (size_t v = 0; v < c->n_vecs; v++) {
        store_vec *sv = &c->vecs[v];
        if (sv->multivec) {
            if (pp->mvecs[v] || !vecs[v]) store_mvec_set(sv, slot, pp->mvecs[v]);
            pp->mvecs[v] = NULL;
            continue;
        }
        bool had = store_bit_get(sv->present, slot);
        if (vecs[v]) {
            float *dst = sv->data + (size_t)slot * sv->dim;
            if (vecs[v] != dst) memcpy(dst, vecs[v], sizeof(float) * sv->dim); /* an update keeps some in place */
            if (!had) {
                store_bit_set(sv->present, slot);
                sv->n_present++;
            }
        } else if (had) {
            store_bit_clear(sv->present, slot);
            sv->n_present--;
        }
    }
    c->vers[slot] = ver;
    for (size_t k = 0; k < c->n_sparse; k++) {
        store_sparse_set(&c->sparse[k], slot, pp->svecs[k]);
        pp->svecs[k] = NULL;
    }
}

static sc_status store__compile(const char *text, store_filter **f);

/* The upsert of n points into c, writer lock held (sc_points_upsert_ex).
** With a FULL store the commit is not yet durable: *ticket is then its
** number for store_sync_wait (0: nothing to wait for). */
static sc_status store__upsert_locked(sc_db *db, store_coll *c, const sc_point_in *points, size_t n,
                                      uint64_t *ticket) {
    sc_status rc = SC_OK;
    store__batch pb = {0};
    store__prepared *pp = NULL;
    sqlite3_stmt *st = NULL;
    util_buf blob = {0};
    uint32_t *slots = NULL, *claimed = NULL;
    size_t n_claimed = 0;
    bool synced_later = false; /* the connection was switched to synchronous=NORMAL */
    *ticket = 0;
    if (rc != SC_OK || n == 0) goto done;
    if (n > UINT32_MAX / 2) {
        rc = store_fail(SC_INVALID, "batch of %zu points is too large", n);
        goto done;
    }
    /* (1) validate everything */
    if ((rc = store__prepare_all(c, points, n, &pb)) != SC_OK) goto done;
    pp = pb.pp;
    if ((rc = store_coll_reserve(c, (uint32_t)n)) != SC_OK) goto done;
    if ((rc = store__reserve_sparse(c, &pb, n)) != SC_OK) goto done;
    /* Slots: existing points keep theirs; new ids claim one (undone on failure). */
    if (!(slots = malloc(sizeof *slots * n)) || !(claimed = malloc(sizeof *claimed * n))) {
        rc = store_fail(SC_NOMEM, "out of memory preparing %zu points", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        slots[i] = store_map_find(c, &points[i].id);
        if (slots[i] == STORE_NO_SLOT) slots[i] = claimed[n_claimed++] = store_slot_claim(c, &points[i].id);
    }
    uint64_t ver = db->seq + 1;
    /* (2) write */
    store__sync_setting(db, true);
    synced_later = true;
    if ((rc = store__begin(db)) != SC_OK) goto done;
    if ((rc = store__set_seq(db, ver)) != SC_OK) goto done;
    if ((rc = store_kw_persist_terms(db, c)) != SC_OK) goto done;
    /* the sparse column exists when the collection has sparse vectors (store_format_mark) */
    const char *sql = c->n_sparse ? "INSERT OR REPLACE INTO points(coll, pid, slot, ver, payload, vectors, kw, sparse) "
                                    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"
                                  : "INSERT OR REPLACE INTO points(coll, pid, slot, ver, payload, vectors, kw) "
                                    "VALUES(?1,?2,?3,?4,?5,?6,?7)";
    if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = store_fail_sql(db, "preparing upsert");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = store__write_point(db, st, c, &points[i].id, slots[i], ver, &pp[i], &blob)) != SC_OK)
            goto done;
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = store__commit(db)) != SC_OK) goto done;
    if (db->opt.sync == SC_SYNC_MODE_FULL) *ticket = __atomic_add_fetch(&db->n_commits, 1, __ATOMIC_RELEASE);
    /* (3) apply: cannot fail */
    db->seq = ver;
    store_kw_committed(c);
    for (size_t i = 0; i < n_claimed; i++) store_slot_activate(c, claimed[i]);
    n_claimed = 0;
    for (size_t i = 0; i < n; i++) {
        store_slot_set_payload(c, slots[i], pp[i].payload);
        pp[i].payload = NULL;
        store_kw_set(c->kw, slots[i], pp[i].kw_doc, pp[i].kw_len);
        pp[i].kw_doc = NULL;
        store__apply_vectors(c, slots[i], &pp[i], ver); /* the point replaces the old one: absent ones are removed */
    }
    store_ann_sync(db, c, slots, n);
done:
    if (st) sqlite3_finalize(st);
    if (rc != SC_OK) store__rollback(db);
    if (synced_later) store__sync_setting(db, false);
    while (n_claimed > 0) store_slot_unclaim(c, claimed[--n_claimed]);
    free(slots);
    free(claimed);
    store__batch_free(&pb, n);
    util_buf_free(&blob);
    return rc;
}

sc_status sc_points_upsert(sc_db *db, const char *coll, const sc_point_in *points, size_t n) {
    return sc_points_upsert_ex(db, coll, points, n, NULL, NULL);
}

/* Whether live slot s of c matches the compiled filter f (NULL matches). */
static sc_status store__slot_matches(const store_coll *c, uint32_t s, const store_filter *f, bool *out) {
    const json_t *payload = NULL;
    *out = true;
    if (!f) return SC_OK;
    if (store_slot_payload_get(c, s, &payload) != SC_OK) return store_fail(SC_NOMEM, "out of memory reading payloads");
    store_slot_ref at;
    filter_point pt = store_slot_point(c, s, &at);
    *out = filter_match_point(f, &pt, payload);
    return SC_OK;
}

/* The points of a conditional write that go ahead, as borrowed copies in
** owned *kept (*n_kept of them): new ids unless mode is update_only,
** existing ones unless mode is insert_only or they fail filter f. With
** must_exist, a missing id is SC_NOTFOUND. Writer lock held. */
static sc_status store__select_writes(const store_coll *c, const sc_point_in *points, size_t n, sc_upsert_mode mode,
                                      const store_filter *f, bool must_exist, sc_point_in **kept, size_t *n_kept) {
    sc_point_in *out = malloc(sizeof *out * (n ? n : 1));
    if (!out) return store_fail(SC_NOMEM, "out of memory preparing %zu points", n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t slot = store_map_find(c, &points[i].id);
        bool go = slot == STORE_NO_SLOT ? mode != SC_UPSERT_MODE_UPDATE_ONLY : mode != SC_UPSERT_MODE_INSERT_ONLY;
        if (slot == STORE_NO_SLOT && must_exist) {
            char idb[40];
            free(out);
            return store_fail(SC_NOTFOUND, "No point with id %s found", store__idstr(&points[i].id, idb));
        }
        if (go && slot != STORE_NO_SLOT) {
            sc_status rc = store__slot_matches(c, slot, f, &go);
            if (rc != SC_OK) {
                free(out);
                return rc;
            }
        }
        if (go) out[m++] = points[i];
    }
    *kept = out;
    *n_kept = m;
    return SC_OK;
}

sc_status sc_points_upsert_ex(sc_db *db, const char *coll, const sc_point_in *points, size_t n,
                              const sc_upsert_options *opt, uint64_t *n_written) {
    if (!db || (n && !points)) return store_fail(SC_MISUSE, "sc_points_upsert: NULL argument");
    if (opt && (unsigned)opt->mode > SC_UPSERT_MODE_UPDATE_ONLY)
        return store_fail(SC_MISUSE, "sc_points_upsert_ex: unknown mode %d", (int)opt->mode);
    store_filter *f = NULL;
    if (opt && opt->update_filter_json) {
        sc_status frc = store__compile(opt->update_filter_json, &f);
        if (frc != SC_OK) return frc;
    }
    store_lock_write(db);
    store_coll *c = NULL;
    sc_point_in *kept = NULL;
    size_t m = n;
    sc_status rc = store_coll_get(db, coll, &c);
    if (rc == SC_OK && opt && (f || opt->mode != SC_UPSERT_MODE_UPSERT))
        rc = store__select_writes(c, points, n, opt->mode, f, false, &kept, &m);
    uint64_t ticket = 0;
    if (rc == SC_OK) rc = store__upsert_locked(db, c, kept ? kept : points, m, &ticket);
    pthread_rwlock_unlock(&db->lock);
    if (rc == SC_OK && ticket) rc = store_sync_wait(db, ticket); /* acknowledged once durable */
    if (rc == SC_OK && n_written) *n_written = m;
    free(kept);
    filter_free(f);
    return rc;
}

/* ==== Vectors of existing points ==== */

/* The vectors of n existing slots after an update: b->pp[i].vecs holds the
** new dense vectors (NULL = keep the point's own, unless drop_dense[k]) and
** b->pp[i].svecs the given sparse ones (NULL = keep the point's own, unless
** drop_sparse[k]). Written in one transaction (vectors, sparse, ver; payload
** and keyword text untouched), then applied. Writer lock held. */
static sc_status store__rewrite_vectors(sc_db *db, store_coll *c, const uint32_t *slots, store__batch *b, size_t n,
                                        const bool *drop_dense, const bool *drop_sparse) {
    store__prepared *pp = b->pp;
    sc_status rc = SC_OK;
    util_buf blob = {0};
    sqlite3_stmt *st = NULL;
    for (size_t i = 0; i < n && rc == SC_OK; i++) {
        for (size_t k = 0; k < c->n_vecs; k++) {
            const store_vec *sv = &c->vecs[k];
            if (pp[i].vecs[k] || (drop_dense && drop_dense[k]) || !store_bit_get(sv->present, slots[i])) continue;
            if (sv->multivec) { /* kept: the blob is written from the point's own rows */
                pp[i].vecs[k] = sv->mv[slots[i]]->data;
                pp[i].rows[k] = sv->mv[slots[i]]->n;
            } else {
                pp[i].vecs[k] = sv->data + (size_t)slots[i] * sv->dim;
            }
        }
        for (size_t k = 0; k < c->n_sparse && rc == SC_OK; k++) {
            const store_svec *own = c->sparse[k].vecs[slots[i]];
            if (pp[i].svecs[k] || (drop_sparse && drop_sparse[k]) || !own) continue;
            sc_sparse_in keep = {.name = c->sparse[k].name, .indices = own->idx, .values = own->val, .n = own->n};
            rc = store_svec_from_input(&keep, "kept sparse vector", &pp[i].svecs[k]);
        }
        if (rc == SC_OK && c->n_sparse) rc = store_sparse_blob_encode(c, pp[i].svecs, &pp[i].sparse_blob);
    }
    if (rc == SC_OK) rc = store__reserve_sparse(c, b, n);
    uint64_t ver = db->seq + 1;
    if (rc != SC_OK || (rc = store__begin(db)) != SC_OK) goto done;
    if ((rc = store__set_seq(db, ver)) != SC_OK) goto done;
    /* the sparse column exists when the collection has sparse vectors (store_format_mark) */
    const char *sql = c->n_sparse ? "UPDATE points SET ver=?1, vectors=?2, sparse=?3 WHERE coll=?4 AND pid=?5"
                                  : "UPDATE points SET ver=?1, vectors=?2 WHERE coll=?4 AND pid=?5";
    if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = store_fail_sql(db, "updating vectors");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t key[STORE_ID_KEY_SIZE];
        store_id_key(&c->ids[slots[i]], key);
        blob.len = 0;
        if ((rc = store_vec_blob_encode(c, pp[i].vecs, pp[i].rows, &blob)) != SC_OK) goto done;
        const util_buf *sb = &pp[i].sparse_blob;
        if (sb->len > (size_t)INT32_MAX) {
            rc = store_fail(SC_INVALID, "sparse vectors of one point take %zu bytes, more than a row holds", sb->len);
            goto done;
        }
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ver);
        sqlite3_bind_blob(st, 2, blob.data, (int)blob.len, SQLITE_STATIC);
        if (c->n_sparse && sb->len) sqlite3_bind_blob(st, 3, sb->data, (int)sb->len, SQLITE_STATIC);
        else if (c->n_sparse) sqlite3_bind_null(st, 3);
        sqlite3_bind_int64(st, 4, c->db_id);
        sqlite3_bind_blob(st, 5, key, sizeof key, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = store_fail_sql(db, "updating vectors");
            goto done;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = store__commit(db)) != SC_OK) goto done;
    db->seq = ver;
    for (size_t i = 0; i < n; i++) /* kept sparse vectors were copied, dropped ones go */
        store__apply_vectors(c, slots[i], &pp[i], ver);
    store_ann_sync(db, c, slots, n);
done:
    if (st) sqlite3_finalize(st);
    if (rc != SC_OK) store__rollback(db);
    util_buf_free(&blob);
    return rc;
}

sc_status sc_points_update_vectors(sc_db *db, const char *coll, const sc_point_in *points, size_t n) {
    return sc_points_update_vectors_ex(db, coll, points, n, NULL, NULL);
}

sc_status sc_points_update_vectors_ex(sc_db *db, const char *coll, const sc_point_in *points, size_t n,
                                      const char *update_filter_json, uint64_t *n_written) {
    if (!db || (n && !points)) return store_fail(SC_MISUSE, "sc_points_update_vectors: NULL argument");
    store_filter *f = NULL;
    if (update_filter_json) {
        sc_status frc = store__compile(update_filter_json, &f);
        if (frc != SC_OK) return frc;
    }
    store_lock_write(db);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, coll, &c);
    store__batch pb = {0};
    uint32_t *slots = NULL;
    sc_point_in *kept = NULL;
    if (rc == SC_OK && f && (rc = store__select_writes(c, points, n, SC_UPSERT_MODE_UPDATE_ONLY, f, true, &kept, &n)) == SC_OK)
        points = kept;
    size_t n_go = n;
    if (rc != SC_OK || n == 0) goto done;
    if (!(slots = malloc(sizeof *slots * n))) {
        rc = store_fail(SC_NOMEM, "out of memory preparing %zu points", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char idb[40];
        if ((slots[i] = store_map_find(c, &points[i].id)) == STORE_NO_SLOT) {
            rc = store_fail(SC_NOTFOUND, "No point with id %s found", store__idstr(&points[i].id, idb));
            goto done;
        }
        if (points[i].payload_json || points[i].payload_parsed || points[i].text) {
            rc = store_fail(SC_MISUSE, "points[%zu]: an update of vectors takes no payload or text", i);
            goto done;
        }
    }
    if ((rc = store__prepare_all(c, points, n, &pb)) != SC_OK) goto done;
    /* a point given again: its later vectors go onto the first entry (applied in order) */
    size_t m = 0;
    for (size_t i = 0; i < n && rc == SC_OK; i++) {
        size_t j = 0;
        while (j < m && slots[j] != slots[i]) j++;
        if (j == m) {
            if (m != i) {
                store__prepared moved = pb.pp[m];
                pb.pp[m] = pb.pp[i];
                pb.pp[i] = moved;
                slots[m] = slots[i];
            }
            m++;
            continue;
        }
        for (size_t k = 0; k < c->n_vecs; k++)
            if (pb.pp[i].vecs[k]) {
                pb.pp[j].vecs[k] = pb.pp[i].vecs[k];
                pb.pp[j].rows[k] = pb.pp[i].rows[k];
                free(pb.pp[j].mvecs[k]);
                pb.pp[j].mvecs[k] = pb.pp[i].mvecs[k];
                pb.pp[i].mvecs[k] = NULL;
            }
        for (size_t k = 0; k < c->n_sparse; k++)
            if (pb.pp[i].svecs[k]) {
                free(pb.pp[j].svecs[k]);
                pb.pp[j].svecs[k] = pb.pp[i].svecs[k];
                pb.pp[i].svecs[k] = NULL;
            }
    }
    if (rc == SC_OK) rc = store__rewrite_vectors(db, c, slots, &pb, m, NULL, NULL);
done:
    pthread_rwlock_unlock(&db->lock);
    if (rc == SC_OK && n_written) *n_written = n_go;
    store__batch_free(&pb, n);
    free(slots);
    free(kept);
    filter_free(f);
    return rc;
}

/* ==== Get ==== */

sc_status sc_points_get(sc_db *db, const char *coll, const sc_point_id *ids, size_t n, const sc_with *with,
                        sc_record_list **out) {
    if (!db || !out || (n && !ids)) return store_fail(SC_MISUSE, "sc_points_get: NULL argument");
    pthread_rwlock_rdlock(&db->lock);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, coll, &c);
    uint32_t *slots = NULL;
    if (rc != SC_OK) goto done;
    slots = malloc(sizeof *slots * (n ? n : 1));
    if (!slots) {
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = store_map_find(c, &ids[i]);
        if (s != STORE_NO_SLOT) slots[m++] = s;
    }
    rc = store_records_build(c, slots, NULL, m, with, out);
done:
    pthread_rwlock_unlock(&db->lock);
    free(slots);
    return rc;
}

/* ==== Filter selection ==== */

sc_status store_filter_bind(const store_coll *c, store_filter *f) {
    if (!f || filter_bind(f, c->indexes, c->n_indexes) == SC_OK) return SC_OK;
    return store_fail(SC_NOMEM, "out of memory tokenizing a text condition");
}

sc_status store_select_filter(store_coll *c, const store_filter *f, uint32_t **slots, size_t *n) {
    roaring_bitmap_t *live = store_coll_live_bitmap(c), *cand = NULL;
    bool exact = false;
    sc_err err = {0};
    if (!live) return store_fail(SC_NOMEM, "out of memory");
    sc_status rc = filter_plan(f, c->indexes, store_coll_plan_indexes(c), live, &cand, &exact);
    if (rc != SC_OK) {
        if (live) roaring_bitmap_free(live);
        return store_fail(rc, "planning the filter failed");
    }
    const roaring_bitmap_t *scan = cand ? cand : live;
    uint64_t card = roaring_bitmap_get_cardinality(scan);
    uint32_t *out = malloc(sizeof *out * (card ? card : 1));
    if (!out) {
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    size_t m = 0;
    roaring_uint32_iterator_t *it = roaring_create_iterator(scan);
    for (; it && it->has_value; roaring_advance_uint32_iterator(it)) {
        uint32_t s = it->current_value;
        if (s >= c->n_slots || !store_bit_get(c->live, s)) continue;
        const json_t *p = NULL;
        if (!exact && store_slot_payload_get(c, s, &p) != SC_OK) {
            rc = store_fail(SC_NOMEM, "out of memory reading payloads");
            break;
        }
        store_slot_ref at;
        filter_point pt = store_slot_point(c, s, &at);
        if (exact || filter_match_point(f, &pt, p)) out[m++] = s;
    }
    roaring_free_uint32_iterator(it);
    if (!it && card) rc = store_fail(SC_NOMEM, "out of memory");
    if (rc != SC_OK) {
        free(out);
        goto done;
    }
    *slots = out;
    *n = m;
done:
    (void)err;
    if (cand) roaring_bitmap_free(cand);
    if (live) roaring_bitmap_free(live);
    return rc;
}

/* Compile filter text, with the error message prefixed. */
static sc_status store__compile(const char *text, store_filter **f) {
    sc_err err = {0};
    if (filter_compile_text(text, f, &err) != SC_OK) return store_fail_err(&err);
    return SC_OK;
}

/* ==== Delete ==== */

/* Delete the given live slots from SQLite and memory. */
static sc_status store__delete_slots(sc_db *db, store_coll *c, const uint32_t *slots, size_t n) {
    if (n == 0) return SC_OK;
    sc_status rc;
    sqlite3_stmt *st = NULL;
    if ((rc = store__begin(db)) != SC_OK) return rc;
    if (sqlite3_prepare_v2(db->sql, "DELETE FROM points WHERE coll=?1 AND pid=?2", -1, &st, NULL) != SQLITE_OK) {
        rc = store_fail_sql(db, "deleting points");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t key[STORE_ID_KEY_SIZE];
        store_id_key(&c->ids[slots[i]], key);
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, c->db_id);
        sqlite3_bind_blob(st, 2, key, sizeof key, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = store_fail_sql(db, "deleting points");
            goto fail;
        }
    }
    sqlite3_finalize(st);
    if ((rc = store__commit(db)) != SC_OK) return rc;
    for (size_t i = 0; i < n; i++) store_slot_release(c, slots[i]);
    store_ann_sync(db, c, slots, n);
    return SC_OK;
fail:
    sqlite3_finalize(st);
    store__rollback(db);
    return rc;
}

sc_status sc_points_delete(sc_db *db, const char *coll, const sc_point_id *ids, size_t n, uint64_t *n_deleted) {
    if (!db || (n && !ids)) return store_fail(SC_MISUSE, "sc_points_delete: NULL argument");
    store_lock_write(db);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, coll, &c);
    uint32_t *slots = NULL;
    size_t m = 0;
    if (rc != SC_OK) goto done;
    slots = malloc(sizeof *slots * (n ? n : 1));
    if (!slots) {
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t s = store_map_find(c, &ids[i]);
        bool dup = false;
        for (size_t j = 0; s != STORE_NO_SLOT && j < m && !dup; j++) dup = slots[j] == s;
        if (s != STORE_NO_SLOT && !dup) slots[m++] = s;
    }
    rc = store__delete_slots(db, c, slots, m);
done:
    pthread_rwlock_unlock(&db->lock);
    free(slots);
    if (n_deleted) *n_deleted = rc == SC_OK ? m : 0;
    return rc;
}

sc_status sc_points_delete_by_filter(sc_db *db, const char *coll, const char *filter_json, uint64_t *n_deleted) {
    if (!db) return store_fail(SC_MISUSE, "sc_points_delete_by_filter: NULL argument");
    store_filter *f = NULL;
    sc_status rc = store__compile(filter_json, &f);
    if (rc != SC_OK) return rc;
    store_lock_write(db);
    store_coll *c = NULL;
    uint32_t *slots = NULL;
    size_t m = 0;
    if ((rc = store_coll_get(db, coll, &c)) != SC_OK || (rc = store_filter_bind(c, f)) != SC_OK) goto done;
    if ((rc = store_select_filter(c, f, &slots, &m)) != SC_OK) goto done;
    rc = store__delete_slots(db, c, slots, m);
done:
    pthread_rwlock_unlock(&db->lock);
    filter_free(f);
    free(slots);
    if (n_deleted) *n_deleted = rc == SC_OK ? m : 0;
    return rc;
}

/* ==== Selections ==== */

/* The live slots a selector names: the matches of f (compiled from
** sel->filter_json), else the existing ids of sel->ids, each once. */
static sc_status store__select(store_coll *c, const sc_selector *sel, const store_filter *f, uint32_t **slots,
                               size_t *m) {
    *m = 0;
    if (f) return store_select_filter(c, f, slots, m);
    if (!(*slots = malloc(sizeof **slots * (sel->n_ids ? sel->n_ids : 1)))) return store_fail(SC_NOMEM, "out of memory");
    for (size_t i = 0; i < sel->n_ids; i++) {
        uint32_t s = store_map_find(c, &sel->ids[i]);
        bool dup = false;
        for (size_t j = 0; s != STORE_NO_SLOT && j < *m && !dup; j++) dup = (*slots)[j] == s;
        if (s != STORE_NO_SLOT && !dup) (*slots)[(*m)++] = s;
    }
    return SC_OK;
}

sc_status sc_points_delete_vectors(sc_db *db, const char *coll, const sc_selector *sel, const char *const *names,
                                   size_t n_names, uint64_t *n_changed) {
    if (!db || !sel || (n_names && !names)) return store_fail(SC_MISUSE, "sc_points_delete_vectors: NULL argument");
    if (n_changed) *n_changed = 0;
    store_filter *f = NULL;
    sc_status rc = SC_OK;
    if (sel->n_ids == 0) {
        if (!sel->filter_json) return store_fail(SC_INVALID, "select points by `points` (ids) or `filter`");
        if ((rc = store__compile(sel->filter_json, &f)) != SC_OK) return rc;
    }
    store_lock_write(db);
    store_coll *c = NULL;
    uint32_t *slots = NULL;
    size_t m = 0;
    store__batch pb = {0};
    bool *drop = NULL;
    if ((rc = store_coll_get(db, coll, &c)) != SC_OK || (rc = store_filter_bind(c, f)) != SC_OK) goto done;
    if (!(drop = calloc(c->n_vecs + c->n_sparse + 1, sizeof *drop))) goto oom;
    for (size_t i = 0; i < n_names; i++) {
        int k = names[i] ? store_coll_vec_index(c, names[i]) : -1, ks = store_coll_sparse_index(c, names[i]);
        if (k < 0 && ks < 0) {
            rc = store_fail(SC_NOTFOUND, "vector name `%s` is not configured in collection `%s`",
                            names[i] ? names[i] : "(null)", c->name);
            goto done;
        }
        if (ks >= 0) drop[c->n_vecs + (size_t)ks] = true;
        else drop[k] = true;
    }
    if ((rc = store__select(c, sel, f, &slots, &m)) != SC_OK) goto done;
    if (store__batch_alloc(c, m, 0, &pb) != SC_OK) goto oom;
    if ((rc = store__rewrite_vectors(db, c, slots, &pb, m, drop, drop + c->n_vecs)) == SC_OK && n_changed) *n_changed = m;
    goto done;
oom:
    rc = store_fail(SC_NOMEM, "out of memory deleting vectors");
done:
    pthread_rwlock_unlock(&db->lock);
    filter_free(f);
    free(slots);
    store__batch_free(&pb, m);
    free(drop);
    return rc;
}

/* ==== Payload operations ==== */

typedef enum store__payload_op {
    STORE_PAYLOAD_SET,       /* merge keys */
    STORE_PAYLOAD_OVERWRITE, /* replace */
    STORE_PAYLOAD_DELETE,    /* remove keys */
    STORE_PAYLOAD_CLEAR,     /* remove all */
} store__payload_op;

/* Remove the value at a dotted path ("a.b.c") from obj, if present. */
static void store__delete_path(json_t *obj, const char *path) {
    const char *dot = strchr(path, '.');
    if (!dot) {
        json_object_del(obj, path);
        return;
    }
    char head[256];
    size_t n = (size_t)(dot - path);
    if (n >= sizeof head) return;
    memcpy(head, path, n);
    head[n] = '\0';
    json_t *child = json_object_get(obj, head);
    if (json_is_object(child)) store__delete_path(child, dot + 1);
}

static sc_status store__payload_apply(sc_db *db, const char *coll, const sc_selector *sel, store__payload_op op,
                                      const char *payload_json, const char *const *keys, size_t n_keys,
                                      uint64_t *n_changed) {
    const char *at = op == STORE_PAYLOAD_SET && n_keys == 1 && keys ? keys[0] : NULL; /* set at a key path */
    if (!db || !sel) return store_fail(SC_MISUSE, "payload update: NULL argument");
    if (n_changed) *n_changed = 0;
    json_t *patch = NULL;
    store_filter *f = NULL;
    sc_status rc = SC_OK;
    if (op == STORE_PAYLOAD_SET || op == STORE_PAYLOAD_OVERWRITE) {
        json_error_t jerr;
        patch = json_loads(payload_json ? payload_json : "", JSON_REJECT_DUPLICATES, &jerr);
        if (!patch && store_json_oom(&jerr))
            return store_fail(SC_NOMEM, "out of memory parsing the payload");
        if (!patch) return store_fail(SC_INVALID, "payload is not valid JSON: %s", jerr.text);
        if (!json_is_object(patch)) {
            json_decref(patch);
            return store_fail(SC_INVALID, "payload must be a JSON object");
        }
    }
    if (op == STORE_PAYLOAD_DELETE)
        for (size_t k = 0; k < n_keys; k++)
            if (!keys || !keys[k] || !*keys[k]) {
                json_decref(patch);
                return store_fail(SC_INVALID, "keys[%zu] is empty", k);
            }
    if (sel->n_ids == 0) {
        if (!sel->filter_json) {
            json_decref(patch);
            return store_fail(SC_INVALID, "select points by `points` (ids) or `filter`");
        }
        if ((rc = store__compile(sel->filter_json, &f)) != SC_OK) {
            json_decref(patch);
            return rc;
        }
    }
    store_lock_write(db);
    store_coll *c = NULL;
    uint32_t *slots = NULL;
    json_t **next = NULL;
    size_t m = 0;
    sqlite3_stmt *st = NULL;
    if ((rc = store_coll_get(db, coll, &c)) != SC_OK || (rc = store_filter_bind(c, f)) != SC_OK) goto done;
    if ((rc = store__select(c, sel, f, &slots, &m)) != SC_OK) goto done;
    if (!(next = calloc(m ? m : 1, sizeof *next))) goto oom;
    for (size_t i = 0; i < m; i++) {
        const json_t *old = NULL;
        if (store_slot_payload_get(c, slots[i], &old) != SC_OK) goto oom;
        switch (op) {
        case STORE_PAYLOAD_SET:
            next[i] = old ? json_deep_copy(old) : json_object();
            if (!next[i]) goto oom;
            if (at && (rc = store_payload_set_at(next[i], at, patch)) != SC_OK) goto done;
            if (!at && json_object_update(next[i], patch) != 0) goto oom;
            break;
        case STORE_PAYLOAD_OVERWRITE:
            if (!(next[i] = json_deep_copy(patch))) goto oom;
            break;
        case STORE_PAYLOAD_DELETE:
            if (!(next[i] = old ? json_deep_copy(old) : json_object())) goto oom;
            for (size_t k = 0; k < n_keys; k++) store__delete_path(next[i], keys[k]);
            break;
        case STORE_PAYLOAD_CLEAR:
            if (!(next[i] = json_object())) goto oom;
            break;
        }
    }
    if ((rc = store__begin(db)) != SC_OK) goto done;
    if (sqlite3_prepare_v2(db->sql, "UPDATE points SET payload=?1 WHERE coll=?2 AND pid=?3", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = store_fail_sql(db, "updating payload");
        goto done;
    }
    for (size_t i = 0; i < m; i++) {
        uint8_t key[STORE_ID_KEY_SIZE];
        store_id_key(&c->ids[slots[i]], key);
        char *text = store_json_dumps(next[i], JSON_COMPACT);
        if (!text) goto oom;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC); /* no copy that could fail: text outlives the step */
        sqlite3_bind_int64(st, 2, c->db_id);
        sqlite3_bind_blob(st, 3, key, sizeof key, SQLITE_STATIC);
        int step = sqlite3_step(st);
        free(text);
        if (step != SQLITE_DONE) {
            rc = store_fail_sql(db, "updating payload");
            goto done;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = store__commit(db)) != SC_OK) goto done;
    for (size_t i = 0; i < m; i++) {
        store_slot_set_payload(c, slots[i], next[i]);
        next[i] = NULL;
    }
    if (n_changed) *n_changed = m;
    goto done;
oom:
    rc = store_fail(SC_NOMEM, "out of memory updating payloads");
done:
    if (st) sqlite3_finalize(st);
    if (rc != SC_OK) store__rollback(db);
    pthread_rwlock_unlock(&db->lock);
    if (next)
        for (size_t i = 0; i < m; i++) json_decref(next[i]);
    free(next);
    free(slots);
    filter_free(f);
    json_decref(patch);
    return rc;
}

sc_status sc_payload_set(sc_db *db, const char *coll, const sc_selector *sel, const char *payload_json,
                         uint64_t *n_changed) {
    return store__payload_apply(db, coll, sel, STORE_PAYLOAD_SET, payload_json, NULL, 0, n_changed);
}

sc_status sc_payload_set_at(sc_db *db, const char *coll, const sc_selector *sel, const char *key,
                            const char *payload_json, uint64_t *n_changed) {
    if (!key || !*key) return sc_payload_set(db, coll, sel, payload_json, n_changed);
    sc_err err = {0};
    if (filter_path_check(key, &err) != SC_OK)
        return store_fail(err.code == SC_NOMEM ? SC_NOMEM : SC_INVALID, "key: %s", err.msg);
    return store__payload_apply(db, coll, sel, STORE_PAYLOAD_SET, payload_json, &key, 1, n_changed);
}

sc_status sc_payload_overwrite(sc_db *db, const char *coll, const sc_selector *sel, const char *payload_json,
                               uint64_t *n_changed) {
    return store__payload_apply(db, coll, sel, STORE_PAYLOAD_OVERWRITE, payload_json, NULL, 0, n_changed);
}

sc_status sc_payload_delete_keys(sc_db *db, const char *coll, const sc_selector *sel, const char *const *keys,
                                 size_t n_keys, uint64_t *n_changed) {
    return store__payload_apply(db, coll, sel, STORE_PAYLOAD_DELETE, NULL, keys, n_keys, n_changed);
}

sc_status sc_payload_clear(sc_db *db, const char *coll, const sc_selector *sel, uint64_t *n_changed) {
    return store__payload_apply(db, coll, sel, STORE_PAYLOAD_CLEAR, NULL, NULL, 0, n_changed);
}

/* ==== Scroll and count ==== */

/* Collection whose ids store__slot_id_cmp compares (qsort has no context
** argument; scroll runs it under the store's lock, and the variable is
** per thread). */
static _Thread_local const store_coll *store__sort_ctx;

static int store__slot_id_cmp(const void *a, const void *b) {
    return sc_point_id_cmp(&store__sort_ctx->ids[*(const uint32_t *)a], &store__sort_ctx->ids[*(const uint32_t *)b]);
}

sc_status sc_points_scroll(sc_db *db, const char *coll, const sc_scroll_request *req, sc_record_list **out,
                           sc_point_id *next_out, bool *has_next) {
    if (!db || !req || !out) return store_fail(SC_MISUSE, "sc_points_scroll: NULL argument");
    uint32_t limit = req->limit ? req->limit : 10;
    store_filter *f = NULL;
    sc_status rc = store__compile(req->filter_json, &f);
    if (rc != SC_OK) return rc;
    pthread_rwlock_rdlock(&db->lock);
    store_coll *c = NULL;
    uint32_t *slots = NULL;
    size_t m = 0;
    bool more = false;
    sc_point_id next_id = sc_point_id_num(0);
    if ((rc = store_coll_get(db, coll, &c)) != SC_OK || (rc = store_filter_bind(c, f)) != SC_OK) goto done;
    if (!(slots = malloc(sizeof *slots * ((size_t)limit + 1)))) {
        rc = store_fail(SC_NOMEM, "out of memory");
        goto done;
    }
    /* A selective filter: sort its matches by id and page through them. */
    if (f) {
        uint32_t *sel = NULL;
        size_t n_sel = 0;
        if ((rc = store_select_filter(c, f, &sel, &n_sel)) != SC_OK) goto done;
        if (n_sel < c->n_live / 4 + 64) {
            size_t w = 0;
            for (size_t i = 0; i < n_sel; i++)
                if (!req->has_offset || sc_point_id_cmp(&c->ids[sel[i]], &req->offset) >= 0) sel[w++] = sel[i];
            store__sort_ctx = c;
            qsort(sel, w, sizeof *sel, store__slot_id_cmp);
            m = w < limit ? w : limit;
            memcpy(slots, sel, sizeof *slots * m);
            if (w > limit) {
                more = true;
                next_id = c->ids[sel[limit]];
            }
            free(sel);
            rc = store_records_build(c, slots, NULL, m, &req->with, out);
            goto done;
        }
        free(sel);
    }
    /* Walk SQLite's primary key (id order) and check each id in memory. */
    sqlite3_stmt *st = NULL;
    uint8_t key[STORE_ID_KEY_SIZE];
    if (req->has_offset) store_id_key(&req->offset, key);
    else memset(key, 0, sizeof key);
    pthread_mutex_lock(&db->sql_mu);
    if (sqlite3_prepare_v2(db->sql, "SELECT pid FROM points WHERE coll=?1 AND pid>=?2 ORDER BY pid", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = store_fail_sql(db, "scrolling");
        pthread_mutex_unlock(&db->sql_mu);
        goto done;
    }
    sqlite3_bind_int64(st, 1, c->db_id);
    sqlite3_bind_blob(st, 2, key, sizeof key, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        sc_point_id id;
        if (store_id_from_key(sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0), &id) != SC_OK) continue;
        uint32_t s = store_map_find(c, &id);
        if (s == STORE_NO_SLOT) continue;
        const json_t *p = NULL;
        if (f && store_slot_payload_get(c, s, &p) != SC_OK) {
            rc = store_fail(SC_NOMEM, "out of memory reading payloads");
            break;
        }
        store_slot_ref at;
        filter_point pt = store_slot_point(c, s, &at);
        if (f && !filter_match_point(f, &pt, p)) continue;
        if (m == limit) {
            more = true;
            next_id = id;
            break;
        }
        slots[m++] = s;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = store_fail_sql(db, "scrolling");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->sql_mu);
    if (rc == SC_OK) rc = store_records_build(c, slots, NULL, m, &req->with, out);
done:
    pthread_rwlock_unlock(&db->lock);
    free(slots);
    filter_free(f);
    if (rc == SC_OK) {
        if (next_out) *next_out = next_id;
        if (has_next) *has_next = more;
    }
    return rc;
}

/* ==== Facets ==== */

void sc_facet_hits_free(sc_facet_hit *hits, size_t n) {
    if (!hits) return;
    for (size_t i = 0; i < n; i++) free(hits[i].value_json);
    free(hits);
}

sc_status sc_points_facet(sc_db *db, const char *coll, const char *key, const char *filter_json, uint64_t limit,
                          sc_facet_hit **out, size_t *n_out) {
    if (!db || !key || !out || !n_out) return store_fail(SC_MISUSE, "sc_points_facet: NULL argument");
    *out = NULL;
    *n_out = 0;
    store_filter *f = NULL;
    sc_status rc = store__compile(filter_json, &f);
    if (rc != SC_OK) return rc;
    pthread_rwlock_rdlock(&db->lock);
    store_coll *c = NULL;
    uint32_t *slots = NULL;
    size_t m = 0;
    roaring_bitmap_t *sel = NULL;
    pindex_facet_hit *hits = NULL;
    size_t n_hits = 0;
    const store_pindex *ix = NULL;
    if ((rc = store_coll_get(db, coll, &c)) != SC_OK || (rc = store_filter_bind(c, f)) != SC_OK) goto done;
    for (size_t i = 0; i < c->n_indexes && !ix; i++)
        if (!strcmp(pindex_key(c->indexes[i]), key)) ix = c->indexes[i];
    sc_field_type t = ix ? pindex_type(ix) : SC_FIELD_TYPE_TEXT;
    if (t != SC_FIELD_TYPE_KEYWORD && t != SC_FIELD_TYPE_INTEGER && t != SC_FIELD_TYPE_UUID && t != SC_FIELD_TYPE_BOOL) {
        rc = store_fail(SC_INVALID,
                        "No appropriate index for faceting: `%s`. Please create one to facet on this field (a keyword, "
                        "integer, uuid or bool payload index)",
                        key);
        goto done;
    }
    if (f) {
        if ((rc = store_select_filter(c, f, &slots, &m)) != SC_OK) goto done;
        if (!(sel = roaring_bitmap_of_ptr(m, slots))) goto oom;
    } else if (!(sel = store_coll_live_bitmap(c))) {
        goto oom;
    }
    if ((rc = pindex_facet(ix, sel, limit, &hits, &n_hits)) != SC_OK) {
        if (rc == SC_NOMEM) goto oom;
        goto done;
    }
    sc_facet_hit *res = calloc(n_hits ? n_hits : 1, sizeof *res);
    if (!res) goto oom;
    for (size_t i = 0; i < n_hits; i++) {
        res[i].count = hits[i].count;
        if (!(res[i].value_json = store_json_dumps(hits[i].value, JSON_ENCODE_ANY | JSON_COMPACT))) {
            sc_facet_hits_free(res, n_hits);
            goto oom;
        }
    }
    *out = res;
    *n_out = n_hits;
    goto done;
oom:
    rc = store_fail(SC_NOMEM, "out of memory counting facets");
done:
    pthread_rwlock_unlock(&db->lock);
    for (size_t i = 0; i < n_hits; i++) json_decref(hits[i].value);
    free(hits);
    if (sel) roaring_bitmap_free(sel);
    free(slots);
    filter_free(f);
    return rc;
}

sc_status sc_points_count(sc_db *db, const char *coll, const char *filter_json, uint64_t *out) {
    if (!db || !out) return store_fail(SC_MISUSE, "sc_points_count: NULL argument");
    store_filter *f = NULL;
    sc_status rc = store__compile(filter_json, &f);
    if (rc != SC_OK) return rc;
    pthread_rwlock_rdlock(&db->lock);
    store_coll *c = NULL;
    if ((rc = store_coll_get(db, coll, &c)) == SC_OK && (rc = store_filter_bind(c, f)) == SC_OK) {
        if (!f) {
            *out = c->n_live;
        } else {
            uint32_t *slots = NULL;
            size_t m = 0;
            if ((rc = store_select_filter(c, f, &slots, &m)) == SC_OK) *out = m;
            free(slots);
        }
    }
    pthread_rwlock_unlock(&db->lock);
    filter_free(f);
    return rc;
}
