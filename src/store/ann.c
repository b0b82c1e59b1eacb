/*
** store/ann.c: the store's side of the HNSW indexes. Decides when a named
** vector gets a graph, keeps the graph in line with every write, persists
** it next to the store and catches it up after a crash.
**
** DESIGN
** - Rows of a graph are the collection's slots; the graph reads vectors
**   straight from the slot-indexed column (hnsw_source), so f32 data is
**   never duplicated. Slots are durable (points.slot), so a saved graph
**   still refers to the right points after reopening.
** - Every upsert stamps its points with a write sequence number
**   (points.ver). When a graph is saved to DIR/hnsw/c<coll>-v<i>.hnsw, the
**   store's current sequence number is recorded in meta under
**   'hnsw:<coll>:<i>' (after the file is durable). On open, a loaded graph
**   is caught up: rows whose ver is newer are re-linked (added, updated or
**   revived), rows that are in the graph but no longer have the vector are
**   tombstoned. The catch-up is idempotent, so a crash between writing the
**   file and recording its watermark only costs a little redundant work.
** - A graph is never silently stale. Without background indexing, every
**   write is applied to it under the writer lock before the lock is
**   released; if that fails (memory), the graph is dropped and searches are
**   exact until it is rebuilt. With it (sc_db_options.background_index),
**   a write only takes its rows out of the graph (tombstones) and out of
**   the `indexed` bitset; searches score present rows that are not indexed
**   exactly (the flat tail) and merge them with the graph's hits, and the
**   indexer of ann_bg.c links the tail with the parallel batch build.
** - Invariant: indexed(s) => s is present and its current vector is linked
**   and reachable in the graph. A graph row that is not indexed is either
**   tombstoned or being linked by the indexer.
*/
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_ANN_DEFAULT_M 16
#define STORE_ANN_DEFAULT_EFC 100
#define STORE_ANN_DEFAULT_EF 64
#define STORE_ANN_DEFAULT_THRESHOLD 10000
#define STORE_ANN_DEFAULT_SEED 42

/* ==== Configuration ==== */

sc_status store_ann_config_check(sc_vector_params *vp, size_t i) {
    sc_hnsw_config *h = &vp->hnsw;
    sc_quant_config *q = &vp->quant;
    if ((unsigned)h->kind > SC_INDEX_KIND_HNSW)
        return store_fail(SC_INVALID, "vectors[%zu].hnsw_config: unknown index kind %d", i, (int)h->kind);
    if (!h->m) h->m = STORE_ANN_DEFAULT_M;
    if (!h->ef_construct) h->ef_construct = STORE_ANN_DEFAULT_EFC;
    if (!h->ef) h->ef = STORE_ANN_DEFAULT_EF;
    if (!h->full_scan_threshold) h->full_scan_threshold = STORE_ANN_DEFAULT_THRESHOLD;
    if (!h->seed) h->seed = STORE_ANN_DEFAULT_SEED;
    if (h->m < 2 || h->m > 128)
        return store_fail(SC_INVALID, "vectors[%zu].hnsw_config.m: %u is out of range, expected 2..128", i, h->m);
    if (h->ef_construct < 4 || h->ef_construct > 4096)
        return store_fail(SC_INVALID, "vectors[%zu].hnsw_config.ef_construct: %u is out of range, expected 4..4096", i,
                          h->ef_construct);
    if (h->ef > 65536)
        return store_fail(SC_INVALID, "vectors[%zu].hnsw_config.ef: %u is out of range, expected 1..65536", i, h->ef);
    if ((unsigned)q->kind > SC_QUANT_KIND_BINARY)
        return store_fail(SC_INVALID, "vectors[%zu].quantization_config: unknown kind %d", i, (int)q->kind);
    if (q->kind == SC_QUANT_KIND_INT8 && !q->quantile) q->quantile = 0.999f;
    if (q->kind != SC_QUANT_KIND_NONE && !q->oversampling) q->oversampling = q->kind == SC_QUANT_KIND_BINARY ? 4.0f : 2.0f;
    if (q->kind == SC_QUANT_KIND_INT8 && !(q->quantile > 0.5f && q->quantile <= 1.0f))
        return store_fail(SC_INVALID, "vectors[%zu].quantization_config.quantile: %g is out of range, expected (0.5, 1]",
                          i, (double)q->quantile);
    if (q->kind != SC_QUANT_KIND_NONE && !(q->oversampling >= 1.0f && q->oversampling <= 100.0f))
        return store_fail(SC_INVALID,
                          "vectors[%zu].quantization_config.oversampling: %g is out of range, expected 1..100", i,
                          (double)q->oversampling);
    if (q->kind == SC_QUANT_KIND_BINARY && vp->distance != SC_DISTANCE_COSINE && vp->distance != SC_DISTANCE_DOT)
        return store_fail(SC_INVALID, "vectors[%zu].quantization_config: binary quantization needs Cosine or Dot distance",
                          i);
    return SC_OK;
}

/* ==== Graph life cycle ==== */

static index_metric store__ann_metric(sc_distance d) {
    return d == SC_DISTANCE_EUCLID ? INDEX_METRIC_L2 : d == SC_DISTANCE_MANHATTAN ? INDEX_METRIC_L1 : INDEX_METRIC_DOT;
}

static hnsw_source store__ann_source(const store_vec *sv) {
    hnsw_source src = {sv->data, sv->dim, NULL, NULL};
    return src;
}

static void store__ann_path(const sc_db *db, const store_coll *c, size_t v, char *buf, size_t size) {
    snprintf(buf, size, "%s/hnsw/c%lld-v%zu.hnsw", db->path, (long long)c->db_id, v);
}

void store_ann_mark(store_vec *sv, uint32_t s, bool on) {
    if (on) store_tailq_forget(sv, s); /* linked: the int8 copy of the tail row goes */
    if (store_bit_get(sv->indexed, s) == on) return;
    if (on) {
        store_bit_set(sv->indexed, s);
        sv->n_indexed++;
    } else {
        store_bit_clear(sv->indexed, s);
        sv->n_indexed--;
    }
}

void store_ann_drop(store_vec *sv, uint32_t cap) {
    hnsw_index_free(sv->ann);
    sv->ann = NULL;
    sv->ann_dirty = false;
    if (sv->indexed) memset(sv->indexed, 0, (size_t)(cap / 64) * sizeof(uint64_t));
    sv->n_indexed = 0;
    store_tailq_free(sv); /* searches are exact from now on */
}

/* Every present row of sv is linked (after a synchronous build or catch-up). */
static void store__ann_mark_all(const store_coll *c, store_vec *sv) {
    for (uint32_t s = 0; s < c->n_slots; s++) store_ann_mark(sv, s, store_bit_get(sv->present, s));
}

sc_status store_ann_quantize(store_vec *sv, sc_err *err) {
    if (sv->quant.kind == SC_QUANT_KIND_NONE) return SC_OK;
    quant_params qp = quant_params_default(sv->quant.kind == SC_QUANT_KIND_INT8 ? QUANT_MODE_INT8 : QUANT_MODE_BINARY);
    if (sv->quant.kind == SC_QUANT_KIND_INT8) qp.quantile = sv->quant.quantile;
    return hnsw_index_quantize(sv->ann, &qp, err);
}

sc_status store_ann_new_graph(sc_db *db, store_vec *sv, sc_err *err) {
    hnsw_params p = hnsw_params_default();
    p.metric = store__ann_metric(sv->distance);
    p.dim = sv->dim;
    p.m = sv->hnsw.m;
    p.ef_construct = sv->hnsw.ef_construct;
    p.ef = sv->hnsw.ef;
    p.seed = sv->hnsw.seed;
    p.n_threads = db->opt.n_threads;
    hnsw_source src = store__ann_source(sv);
    return hnsw_index_new(&p, &src, &sv->ann, err);
}

/* Build a fresh graph over every row that has this vector. */
static sc_status store__ann_build(sc_db *db, store_coll *c, store_vec *sv, sc_err *err) {
    sc_status rc = store_ann_new_graph(db, sv, err);
    if (rc != SC_OK) return rc;
    uint32_t *rows = calloc(sv->n_present ? sv->n_present : 1, sizeof *rows); /* zeroed: gcc cannot see n == 0 */
    if (!rows) {
        store_ann_drop(sv, c->cap);
        return sc_err_set(err, SC_NOMEM, "out of memory building the graph of `%s`", sv->name);
    }
    size_t n = 0;
    for (uint32_t s = 0; s < c->n_slots; s++)
        if (store_bit_get(sv->present, s)) rows[n++] = s;
    /* Train the quantizer on a first part, so later rows are encoded as they come. */
    size_t first = n < 20000 ? n : 20000;
    rc = hnsw_index_add_batch(sv->ann, rows, first, err);
    if (rc == SC_OK && first) rc = store_ann_quantize(sv, err);
    if (rc == SC_OK && n > first) rc = hnsw_index_add_batch(sv->ann, rows + first, n - first, err);
    free(rows);
    if (rc != SC_OK) {
        store_ann_drop(sv, c->cap);
    } else {
        sv->ann_dirty = true;
        store__ann_mark_all(c, sv);
    }
    return rc;
}

bool store_ann_wanted(const store_vec *sv) {
    if (sv->hnsw.kind == SC_INDEX_KIND_FLAT || sv->multivec) return false; /* multivectors: always exact */
    if (sv->hnsw.kind == SC_INDEX_KIND_HNSW) return sv->n_present > 0;
    return sv->n_present >= (sv->hnsw.index_threshold ? sv->hnsw.index_threshold : sv->hnsw.full_scan_threshold);
}

/* Apply the current state of one slot to the graph. */
static sc_status store__ann_sync_row(store_vec *sv, uint32_t s, sc_err *err) {
    bool present = store_bit_get(sv->present, s);
    if (hnsw_index_contains(sv->ann, s))
        return present ? hnsw_index_update(sv->ann, s, err) : hnsw_index_delete(sv->ann, s, err);
    if (!present) return SC_OK;
    if (hnsw_index_is_tombstoned(sv->ann, s)) return hnsw_index_revive(sv->ann, s, err);
    return hnsw_index_add(sv->ann, s, err);
}

static int store__u32_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}


/* Code every present row of sv (a new graph: all are tail, including
** those written before the graph was wanted); without memory for the list,
** only the written rows slots[0..n). */
static void store__ann_code_all(const store_coll *c, store_vec *sv, const uint32_t *slots, size_t n) {
    uint32_t *all = malloc(sizeof *all * (sv->n_present ? sv->n_present : 1));
    if (!all) {
        store_tailq_put(sv, slots, n);
        return;
    }
    size_t m = 0;
    for (uint32_t s = 0; s < c->n_slots && m < sv->n_present; s++)
        if (store_bit_get(sv->present, s)) all[m++] = s;
    store_tailq_put(sv, all, m);
    free(all);
}

/* store_ann_sync of background mode: the written rows leave the graph
** (a tombstone, cheap) and join the flat tail; the indexer links them. */
static void store__ann_sync_later(sc_db *db, store_coll *c, const uint32_t *slots, size_t n) {
    bool kick = false;
    for (size_t v = 0; v < c->n_vecs; v++) {
        store_vec *sv = &c->vecs[v];
        sc_err err = {0};
        if (!sv->ann) {
            if (!store_ann_wanted(sv)) continue;
            if (store_ann_new_graph(db, sv, &err) != SC_OK) {
                util_log(&db->opt.logger, SC_LOG_LEVEL_WARN, "creating the graph of `%s`.`%s` failed (%s); searching "
                         "exactly", c->name, sv->name, err.msg);
                continue;
            }
            kick = true;
            store__ann_code_all(c, sv, slots, n); /* every present row is tail */
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t s = slots[i];
            store_ann_mark(sv, s, false);
            if (hnsw_index_contains(sv->ann, s) && hnsw_index_delete(sv->ann, s, &err) != SC_OK) {
                util_log(&db->opt.logger, SC_LOG_LEVEL_WARN, "updating the graph of `%s`.`%s` failed (%s); searching "
                         "exactly", c->name, sv->name, err.msg);
                store_ann_drop(sv, c->cap);
                break;
            }
            sv->ann_dirty = true;
            if (store_bit_get(sv->present, s)) kick = true;
        }
        if (sv->ann) store_tailq_put(sv, slots, n);
    }
    if (kick) store_ann_bg_kick(db);
}

void store_ann_sync(sc_db *db, store_coll *c, const uint32_t *slots, size_t n) {
    if (db->opt.background_index) {
        store__ann_sync_later(db, c, slots, n);
        return;
    }
    uint32_t *sorted = NULL;
    for (size_t v = 0; v < c->n_vecs; v++) {
        store_vec *sv = &c->vecs[v];
        sc_err err = {0};
        sc_status rc = SC_OK;
        if (!sv->ann) {
            if (store_ann_wanted(sv) && (rc = store__ann_build(db, c, sv, &err)) != SC_OK)
                util_log(&db->opt.logger, SC_LOG_LEVEL_WARN,
                         "building the graph of `%s`.`%s` failed (%s); searching exactly", c->name,
                         sv->name, err.msg);
            continue;
        }
        if (!sorted) {
            /* Unique slots, new rows batched for a parallel add. */
            if (!(sorted = malloc(sizeof *sorted * (n ? n : 1)))) {
                store_ann_drop(sv, c->cap);
                continue;
            }
            memcpy(sorted, slots, sizeof *sorted * n);
            qsort(sorted, n, sizeof *sorted, store__u32_cmp);
        }
        uint32_t *fresh = malloc(sizeof *fresh * (n ? n : 1));
        size_t n_fresh = 0;
        if (!fresh) rc = sc_err_set(&err, SC_NOMEM, "out of memory");
        for (size_t i = 0; rc == SC_OK && i < n; i++) {
            if (i && sorted[i] == sorted[i - 1]) continue;
            uint32_t s = sorted[i];
            if (store_bit_get(sv->present, s) && !hnsw_index_contains(sv->ann, s) &&
                !hnsw_index_is_tombstoned(sv->ann, s))
                fresh[n_fresh++] = s;
            else
                rc = store__ann_sync_row(sv, s, &err);
        }
        if (rc == SC_OK && n_fresh) rc = hnsw_index_add_batch(sv->ann, fresh, n_fresh, &err);
        free(fresh);
        if (rc != SC_OK) {
            util_log(&db->opt.logger, SC_LOG_LEVEL_WARN,
                     "updating the graph of `%s`.`%s` failed (%s); searching exactly", c->name,
                     sv->name, err.msg);
            store_ann_drop(sv, c->cap);
            continue;
        }
        sv->ann_dirty = true;
        for (size_t i = 0; i < n; i++) store_ann_mark(sv, sorted[i], store_bit_get(sv->present, sorted[i]));
        /* Too many tombstones slow every search: repair the graph. */
        hnsw_info hi = hnsw_index_info(sv->ann);
        if (hi.n_deleted > 1000 && hi.n_deleted > hi.n_live / 4 && hnsw_index_vacuum(sv->ann, NULL, &err) != SC_OK)
            store_ann_drop(sv, c->cap);
    }
    free(sorted);
}

void store_ann_rebind(store_coll *c) {
    for (size_t v = 0; v < c->n_vecs; v++)
        if (c->vecs[v].ann) {
            hnsw_source src = store__ann_source(&c->vecs[v]);
            hnsw_index_set_source(c->vecs[v].ann, &src);
        }
}

/* ==== Persistence ==== */

static sc_status store__ann_meta_set(sc_db *db, const store_coll *c, size_t v, uint64_t wm) {
    char key[64];
    snprintf(key, sizeof key, "hnsw:%lld:%zu", (long long)c->db_id, v);
    sqlite3_stmt *st = NULL;
    sc_status rc = SC_OK;
    if (sqlite3_prepare_v2(db->sql, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail_sql(db, "recording graph watermark");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)wm);
    if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail_sql(db, "recording graph watermark");
    sqlite3_finalize(st);
    return rc;
}

static bool store__ann_meta_get(sc_db *db, const store_coll *c, size_t v, uint64_t *wm) {
    char key[64];
    snprintf(key, sizeof key, "hnsw:%lld:%zu", (long long)c->db_id, v);
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(db->sql, "SELECT value FROM meta WHERE key=?1", -1, &st, NULL) != SQLITE_OK) return false;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *wm = (uint64_t)sqlite3_column_int64(st, 0);
        found = true;
    }
    sqlite3_finalize(st);
    return found;
}

sc_status store_ann_save(sc_db *db, store_coll *c) {
    char dir[4096], path[4096];
    snprintf(dir, sizeof dir, "%s/hnsw", db->path);
    for (size_t v = 0; v < c->n_vecs; v++) {
        store_vec *sv = &c->vecs[v];
        if (!sv->ann || !sv->ann_dirty) continue;
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return store_fail(SC_IOERR, "cannot create %s: %s", dir, strerror(errno));
        store__ann_path(db, c, v, path, sizeof path);
        sc_err err = {0};
        if (hnsw_index_save(sv->ann, path, &err) != SC_OK) return store_fail_err(&err);
        sc_status rc = store__ann_meta_set(db, c, v, db->seq);
        if (rc != SC_OK) return rc;
        sv->ann_dirty = false;
    }
    return SC_OK;
}

sc_status store_ann_forget(sc_db *db, store_coll *c, size_t v) {
    char key[64];
    snprintf(key, sizeof key, "hnsw:%lld:%zu", (long long)c->db_id, v);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, "DELETE FROM meta WHERE key=?1", -1, &st, NULL) != SQLITE_OK)
        return store_fail_sql(db, "forgetting a saved graph");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? SC_OK : store_fail_sql(db, "forgetting a saved graph");
}

void store_ann_unlink(sc_db *db, store_coll *c, size_t v) {
    char path[4096];
    store__ann_path(db, c, v, path, sizeof path);
    unlink(path);
}

void store_ann_drop_files(sc_db *db, store_coll *c) {
    char path[4096];
    for (size_t v = 0; v < c->n_vecs; v++) {
        store__ann_path(db, c, v, path, sizeof path);
        unlink(path);
        store_ann_forget(db, c, v); /* best effort: a stale key only makes a reopen rebuild */
    }
}

sc_status store_ann_reconfigure(sc_db *db, store_coll *c, size_t v, bool rebuild) {
    store_vec *sv = &c->vecs[v];
    if (!rebuild) {
        if (sv->ann) hnsw_index_set_ef(sv->ann, sv->hnsw.ef);
        /* a lower full_scan_threshold or kind HNSW may now want a graph */
        if (sv->ann || !store_ann_wanted(sv)) return SC_OK;
    }
    char path[4096];
    store_ann_drop(sv, c->cap);
    store__ann_path(db, c, v, path, sizeof path);
    unlink(path); /* its watermark was deleted with the configuration change */
    if (!store_ann_wanted(sv)) return SC_OK;
    sc_err err = {0};
    if (store__ann_build(db, c, sv, &err) != SC_OK) {
        util_log(&db->opt.logger, SC_LOG_LEVEL_WARN,
                 "rebuilding the graph of `%s`.`%s` failed (%s); searching exactly", c->name,
                 sv->name, err.msg);
        return SC_OK;
    }
    return store_ann_save(db, c);
}

/* Background mode's catch-up of a loaded graph, without linking anything:
** rows the graph holds with the vector they still have are indexed; rows
** written since the graph was saved (watermark wm) or deleted since leave
** it (tombstones); every other present row is tail for the indexer. So
** open costs a scan of the slots, not a re-link. false: rebuild. */
static bool store__ann_resume(sc_db *db, store_coll *c, store_vec *sv, uint64_t wm, uint32_t end, const char *path) {
    sc_err err = {0};
    size_t n_gone = 0;
    for (uint32_t s = 0; s < end; s++) {
        bool present = s < c->n_slots && store_bit_get(sv->present, s);
        if (!hnsw_index_contains(sv->ann, s)) continue;
        if (present && c->vers[s] <= wm) {
            store_ann_mark(sv, s, true);
            continue;
        }
        if (hnsw_index_delete(sv->ann, s, &err) != SC_OK) {
            util_log(&db->opt.logger, SC_LOG_LEVEL_WARN, "resuming graph %s failed (%s); rebuilding it", path, err.msg);
            store_ann_drop(sv, c->cap);
            return false;
        }
        n_gone++;
    }
    sv->ann_dirty = n_gone > 0;
    return true;
}

/* Load a saved graph and catch it up; false when it must be rebuilt. */
static bool store__ann_load(sc_db *db, store_coll *c, size_t v) {
    store_vec *sv = &c->vecs[v];
    uint64_t wm = 0;
    char path[4096];
    store__ann_path(db, c, v, path, sizeof path);
    if (access(path, F_OK) != 0) return false;
    if (!store__ann_meta_get(db, c, v, &wm)) return false;
    hnsw_source src = store__ann_source(sv);
    sc_err err = {0};
    if (hnsw_index_load(path, &src, &sv->ann, &err) != SC_OK) {
        util_log(&db->opt.logger, SC_LOG_LEVEL_WARN, "graph %s is unusable (%s); rebuilding it", path, err.msg);
        return false;
    }
    const hnsw_params *p = hnsw_index_params(sv->ann);
    if (p->dim != sv->dim || p->m != sv->hnsw.m || p->metric != store__ann_metric(sv->distance)) {
        util_log(&db->opt.logger, SC_LOG_LEVEL_WARN,
                 "graph %s does not match the collection's configuration; rebuilding it", path);
        store_ann_drop(sv, c->cap);
        return false;
    }
    hnsw_index_set_ef(sv->ann, sv->hnsw.ef);
    hnsw_info hi = hnsw_index_info(sv->ann);
    uint32_t end = c->n_slots > hi.capacity ? c->n_slots : hi.capacity;
    if (db->opt.background_index) return store__ann_resume(db, c, sv, wm, end, path);
    uint32_t *fresh = malloc(sizeof *fresh * (end ? end : 1));
    size_t n_fresh = 0, n_caught = 0;
    sc_status rc = fresh ? SC_OK : SC_NOMEM;
    for (uint32_t s = 0; rc == SC_OK && s < end; s++) {
        bool present = s < c->n_slots && store_bit_get(sv->present, s);
        bool in = hnsw_index_contains(sv->ann, s);
        if (present && c->vers[s] <= wm && in) continue;
        if (!present && !in) continue;
        n_caught++;
        if (present && !in && !hnsw_index_is_tombstoned(sv->ann, s)) fresh[n_fresh++] = s;
        else rc = store__ann_sync_row(sv, s, &err);
    }
    if (rc == SC_OK && n_fresh) rc = hnsw_index_add_batch(sv->ann, fresh, n_fresh, &err);
    free(fresh);
    if (rc != SC_OK) {
        util_log(&db->opt.logger, SC_LOG_LEVEL_WARN, "catching up graph %s failed (%s); rebuilding it", path, err.msg);
        store_ann_drop(sv, c->cap);
        return false;
    }
    sv->ann_dirty = n_caught > 0;
    store__ann_mark_all(c, sv);
    return true;
}

void store_ann_open(sc_db *db, store_coll *c) {
    for (size_t v = 0; v < c->n_vecs; v++) {
        store_vec *sv = &c->vecs[v];
        if (sv->hnsw.kind == SC_INDEX_KIND_FLAT || sv->multivec) continue;
        if (store__ann_load(db, c, v)) continue;
        sc_err err = {0};
        if (db->opt.background_index) { /* an empty graph: the indexer links every row */
            if (store_ann_wanted(sv) && store_ann_new_graph(db, sv, &err) != SC_OK)
                util_log(&db->opt.logger, SC_LOG_LEVEL_WARN, "creating the graph of `%s`.`%s` failed (%s); searching "
                         "exactly", c->name, sv->name, err.msg);
            continue;
        }
        if (store_ann_wanted(sv) && store__ann_build(db, c, sv, &err) != SC_OK)
            util_log(&db->opt.logger, SC_LOG_LEVEL_WARN,
                     "building the graph of `%s`.`%s` failed (%s); searching exactly", c->name,
                     sv->name, err.msg);
    }
}

/* ==== Optimize ==== */

sc_status sc_collection_optimize(sc_db *db, const char *name) {
    if (!db) return store_fail(SC_MISUSE, "sc_collection_optimize: NULL argument");
    store_lock_write(db);
    store_coll *c = NULL;
    sc_status rc = store_coll_get(db, name, &c);
    for (size_t v = 0; rc == SC_OK && v < c->n_vecs; v++) {
        store_vec *sv = &c->vecs[v];
        sc_err err = {0};
        if (!sv->ann) {
            if (store_ann_wanted(sv) && (rc = store__ann_build(db, c, sv, &err)) != SC_OK) rc = store_fail_err(&err);
            continue;
        }
        uint32_t reclaimed = 0;
        if ((rc = hnsw_index_vacuum(sv->ann, &reclaimed, &err)) != SC_OK) {
            rc = store_fail_err(&err);
            store_ann_drop(sv, c->cap);
        } else if (reclaimed) {
            sv->ann_dirty = true;
        }
    }
    if (rc == SC_OK) rc = store_ann_save(db, c);
    pthread_rwlock_unlock(&db->lock);
    return rc;
}
