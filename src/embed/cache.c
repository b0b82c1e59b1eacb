/*
** embed/cache.c: the persistent embedding cache. A SQLite file (WAL) of
** vectors keyed by a 128-bit hash of (model id, model hash, side, text):
** the same prepared text embedded by the same model is computed once,
** wherever the function moved to. Bounded by a number of entries with
** least-recently-used eviction.
**
** DESIGN
** - Table vec(key BLOB UNIQUE, used INTEGER, dim INTEGER, data BLOB); data
**   is dim f32 values followed by a 64-bit checksum of them, so a damaged
**   entry is detected and dropped (a miss), never returned.
** - `used` is a logical clock: every hit or store takes the next value, and
**   eviction deletes the smallest. The clock restarts from max(used) on
**   open.
** - Damage of the file itself (SQLITE_CORRUPT, SQLITE_NOTADB, an unreadable
**   file) sets the file aside as path.corrupt-<time>, starts an empty cache
**   and reports it once to the logger and in the stats. The cache never makes
**   its caller fail.
*/
#include "embed/provider_int.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sc_embed_cache {
    char *path;                 /* file name */
    sqlite3 *db;                /* open connection, NULL when unusable */
    uint64_t max_entries;       /* LRU bound */
    uint64_t clock;             /* last `used` value handed out */
    sc_embed_cache_stats stats; /* counters */
    bool reported;              /* a recovery was reported to the logger */
    sc_logger logger;           /* where its messages go (zero: the global logger) */
};

/* ==== Keys ==== */

void cache_key(const char *model_id, uint64_t model_hash, sc_embed_role side, const char *text,
               uint8_t key[EMBED_KEY_SIZE]) {
    size_t n_id = strlen(model_id), n_text = strlen(text);
    uint64_t h1 = util_hash64_v1(model_id, n_id, model_hash ^ (uint64_t)side);
    uint64_t h2 = util_hash64_v1(model_id, n_id, ~model_hash + (uint64_t)side * 0x9e3779b97f4a7c15ULL);
    h1 = util_hash64_v1(text, n_text, h1);
    h2 = util_hash64_v1(text, n_text, h2 ^ 0x5bd1e9955bd1e995ULL);
    memcpy(key, &h1, 8);
    memcpy(key + 8, &h2, 8);
}

/* ==== Opening and recovery ==== */

static const char *cache__schema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS vec(id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, used INTEGER NOT NULL,"
    " dim INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS vec_used ON vec(used);";

/* Open the file and read the counters; false when it is not usable. */
static bool cache__try_open(sc_embed_cache *c) {
    if (sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) goto fail;
    sqlite3_busy_timeout(c->db, 5000);
    if (sqlite3_exec(c->db, cache__schema, NULL, NULL, NULL) != SQLITE_OK) goto fail;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT count(*), coalesce(max(used), 0) FROM vec", -1, &st, NULL) != SQLITE_OK)
        goto fail;
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok) {
        c->stats.entries = (uint64_t)sqlite3_column_int64(st, 0);
        c->clock = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (!ok) goto fail;
    return true;
fail:
    sqlite3_close(c->db);
    c->db = NULL;
    return false;
}

/* Set the damaged file aside and start an empty cache; report once. */
static void cache__recover(sc_embed_cache *c, const char *why) {
    if (c->db) sqlite3_close(c->db);
    c->db = NULL;
    char aside[4200];
    snprintf(aside, sizeof aside, "%s.corrupt-%ld", c->path, (long)time(NULL));
    rename(c->path, aside);
    char side[4200];
    snprintf(side, sizeof side, "%s-wal", c->path);
    remove(side);
    snprintf(side, sizeof side, "%s-shm", c->path);
    remove(side);
    c->stats.recoveries++;
    c->stats.entries = 0;
    c->clock = 0;
    if (!c->reported) {
        util_log(&c->logger, SC_LOG_LEVEL_WARN,
                 "embedding cache %s was unusable (%s); moved it to %s and started a new one",
                 c->path, why, aside);
        c->reported = true;
    }
    if (!cache__try_open(c))
        util_log(&c->logger, SC_LOG_LEVEL_WARN,
                 "embedding cache %s cannot be created; running without a cache", c->path);
}

/* Recover when rc says the file is damaged; true when it did. */
static bool cache__check(sc_embed_cache *c, int rc) {
    int prim = rc & 0xff;
    if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB || prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN) {
        cache__recover(c, sqlite3_errstr(rc));
        return true;
    }
    return false;
}

sc_status sc_embed_cache_open(const char *path, uint64_t max_entries, sc_embed_cache **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!path || !out) return SC_MISUSE;
    sc_embed_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->path = util_strdup(path))) {
        free(c);
        return SC_NOMEM;
    }
    c->max_entries = max_entries ? max_entries : 1000000;
    if (!cache__try_open(c)) cache__recover(c, "not a readable SQLite database");
    *out = c;
    return SC_OK;
}

void sc_embed_cache_set_logger(sc_embed_cache *c, const sc_logger *logger) {
    if (c) c->logger = logger ? *logger : (sc_logger){0};
}

void sc_embed_cache_close(sc_embed_cache *c) {
    if (!c) return;
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

sc_embed_cache_stats sc_embed_cache_get_stats(const sc_embed_cache *c) {
    sc_embed_cache_stats s = {0};
    return c ? c->stats : s;
}

/* ==== Lookups and stores ==== */

void cache_get_many(sc_embed_cache *c, const uint8_t (*keys)[EMBED_KEY_SIZE], size_t n, uint32_t dim, float *out,
                    bool *found) {
    for (size_t i = 0; i < n; i++) found[i] = false;
    if (!c || !c->db || n == 0) {
        if (c) c->stats.misses += n;
        return;
    }
    sqlite3_stmt *get = NULL, *touch = NULL, *drop = NULL;
    int rc = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(c->db, "SELECT id, dim, data FROM vec WHERE key=?1", -1, &get, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(c->db, "UPDATE vec SET used=?1 WHERE id=?2", -1, &touch, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(c->db, "DELETE FROM vec WHERE id=?1", -1, &drop, NULL);
    size_t hits = 0;
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
        sqlite3_reset(get);
        sqlite3_bind_blob(get, 1, keys[i], EMBED_KEY_SIZE, SQLITE_STATIC);
        int step = sqlite3_step(get);
        if (step == SQLITE_DONE) continue;
        if (step != SQLITE_ROW) {
            rc = step;
            break;
        }
        sqlite3_int64 id = sqlite3_column_int64(get, 0);
        const uint8_t *data = sqlite3_column_blob(get, 2);
        size_t bytes = (size_t)sqlite3_column_bytes(get, 2);
        uint64_t sum = 0;
        bool ok = (uint32_t)sqlite3_column_int(get, 1) == dim && bytes == dim * sizeof(float) + 8 && data;
        if (ok) {
            memcpy(&sum, data + dim * sizeof(float), 8);
            ok = sum == util_hash64_v1(data, dim * sizeof(float), dim);
        }
        if (!ok) {
            /* A damaged entry (or another dimension under the same key): drop it. */
            sqlite3_reset(drop);
            sqlite3_bind_int64(drop, 1, id);
            sqlite3_step(drop);
            if (c->stats.entries) c->stats.entries--;
            continue;
        }
        memcpy(out + i * dim, data, dim * sizeof(float));
        found[i] = true;
        hits++;
        sqlite3_reset(touch);
        sqlite3_bind_int64(touch, 1, (sqlite3_int64)++c->clock);
        sqlite3_bind_int64(touch, 2, id);
        sqlite3_step(touch);
    }
    sqlite3_finalize(get);
    sqlite3_finalize(touch);
    sqlite3_finalize(drop);
    if (rc == SQLITE_OK) rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        for (size_t i = 0; i < n; i++) found[i] = false;
        hits = 0;
        cache__check(c, rc);
    }
    c->stats.hits += hits;
    c->stats.misses += n - hits;
}

void cache_put_many(sc_embed_cache *c, const uint8_t (*keys)[EMBED_KEY_SIZE], size_t n, uint32_t dim,
                    const float *vecs, const bool *want) {
    if (!c || !c->db || n == 0) return;
    size_t bytes = dim * sizeof(float) + 8;
    uint8_t *buf = malloc(bytes);
    if (!buf) return;
    sqlite3_stmt *put = NULL;
    int rc = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db,
                                "INSERT INTO vec(key, used, dim, data) VALUES(?1, ?2, ?3, ?4) "
                                "ON CONFLICT(key) DO UPDATE SET used=excluded.used, dim=excluded.dim, data=excluded.data",
                                -1, &put, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
        if (want && !want[i]) continue;
        memcpy(buf, vecs + i * dim, dim * sizeof(float));
        uint64_t sum = util_hash64_v1(buf, dim * sizeof(float), dim);
        memcpy(buf + dim * sizeof(float), &sum, 8);
        sqlite3_reset(put);
        sqlite3_bind_blob(put, 1, keys[i], EMBED_KEY_SIZE, SQLITE_STATIC);
        sqlite3_bind_int64(put, 2, (sqlite3_int64)++c->clock);
        sqlite3_bind_int(put, 3, (int)dim);
        sqlite3_bind_blob(put, 4, buf, (int)bytes, SQLITE_STATIC);
        int step = sqlite3_step(put);
        if (step != SQLITE_DONE) rc = step;
    }
    sqlite3_finalize(put);
    free(buf);
    if (rc == SQLITE_OK) rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        cache__check(c, rc);
        return;
    }
    /* Count estimate (an overwrite counts as new); recount exactly only
    ** when it passes the bound, then evict the least recently used. */
    for (size_t i = 0; i < n; i++) c->stats.entries += !want || want[i];
    sqlite3_stmt *st = NULL;
    if (c->stats.entries > c->max_entries && sqlite3_prepare_v2(c->db, "SELECT count(*) FROM vec", -1, &st, NULL) ==
                                                 SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        c->stats.entries = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (c->stats.entries > c->max_entries) {
        uint64_t over = c->stats.entries - c->max_entries;
        st = NULL;
        if (sqlite3_prepare_v2(c->db, "DELETE FROM vec WHERE id IN (SELECT id FROM vec ORDER BY used LIMIT ?1)", -1,
                               &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, (sqlite3_int64)over);
            if (sqlite3_step(st) == SQLITE_DONE) {
                c->stats.evictions += (uint64_t)sqlite3_changes(c->db);
                c->stats.entries -= (uint64_t)sqlite3_changes(c->db);
            }
        }
        sqlite3_finalize(st);
    }
}
