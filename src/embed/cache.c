/*
** embed/cache.c: the persistent embedding cache. A SQLite file (WAL) of
** vectors keyed by a 128-bit hash of (model id, model hash, side, text):
** the same prepared text embedded by the same model is computed once,
** wherever the function moved to. Bounded by a number of entries with
** least-recently-used eviction.
**
** DESIGN
** - Table vec(key BLOB UNIQUE, used INTEGER, dim INTEGER, data BLOB, v
**   INTEGER); data is dim f32 values followed by a 64-bit checksum of them,
**   so a damaged entry is detected and dropped (a miss), never returned.
** - Format 2 (meta format = 2): key = XXH3-128 of the text seeded by the
**   model (cache_key), checksum XXH3-64; rows have v = 2. Format 1 (no meta
**   table) used util_hash64_v1 for both. Opening a format 1 file adds the
**   column v (its rows read v = 1) in one transaction; a lookup that misses
**   tries the entry's format 1 key (cache_key_v1) and, on a hit, rekeys the
**   row to format 2 (new key and checksum), so vectors cached before the
**   change are found, not computed again. A partial index lists the v = 1
**   rows: once none is left, no format 1 key is computed. A file of a newer
**   format, or one whose upgrade fails, is left as it is and not used.
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
    bool has_v1;                /* rows of format 1 may be left (lookups try their keys) */
    uint64_t max_entries;       /* LRU bound */
    uint64_t clock;             /* last `used` value handed out */
    sc_embed_cache_stats stats; /* counters */
    bool reported;              /* a recovery was reported to the logger */
    sc_logger logger;           /* where its messages go (zero: the global logger) */
};

/* ==== Keys ==== */

void cache_key(const char *model_id, uint64_t model_hash, sc_embed_role side, const char *text,
               uint8_t key[EMBED_KEY_SIZE]) {
    uint8_t mh[9];
    for (int i = 0; i < 8; i++) mh[i] = (uint8_t)(model_hash >> (8 * i));
    mh[8] = (uint8_t)side;
    uint64_t seed = util_hash64(mh, sizeof mh, util_hash64(model_id, strlen(model_id), 0));
    util_h128_bytes(util_hash128(text, strlen(text), seed), key);
}

void cache_key_v1(const char *model_id, uint64_t model_hash, sc_embed_role side, const char *text,
                  uint8_t key[EMBED_KEY_SIZE]) {
    size_t n_id = strlen(model_id), n_text = strlen(text);
    uint64_t h1 = util_hash64_v1(model_id, n_id, model_hash ^ (uint64_t)side);
    uint64_t h2 = util_hash64_v1(model_id, n_id, ~model_hash + (uint64_t)side * 0x9e3779b97f4a7c15ULL);
    h1 = util_hash64_v1(text, n_text, h1);
    h2 = util_hash64_v1(text, n_text, h2 ^ 0x5bd1e9955bd1e995ULL);
    memcpy(key, &h1, 8);
    memcpy(key + 8, &h2, 8);
}

/* ==== Opening, upgrade and recovery ==== */

#define CACHE__FORMAT 2 /* meta format of the file (DESIGN above) */

/* The tables of format 2 and the upgrade from format 1 (whose vec lacks v). */
static const char *cache__schema_new =
    "CREATE TABLE vec(id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, used INTEGER NOT NULL,"
    " dim INTEGER NOT NULL, data BLOB NOT NULL, v INTEGER NOT NULL DEFAULT 1);";
static const char *cache__schema_v1_to_2 = "ALTER TABLE vec ADD COLUMN v INTEGER NOT NULL DEFAULT 1;";
static const char *cache__schema_common =
    "CREATE INDEX IF NOT EXISTS vec_used ON vec(used);"
    "CREATE INDEX IF NOT EXISTS vec_v1 ON vec(id) WHERE v = 1;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO meta(key, value) VALUES('format', '2');";

/* How opening the file went. */
typedef enum cache__open_result {
    CACHE__OPEN_OK = 0, /* usable */
    CACHE__DAMAGED,     /* not a usable SQLite file: set aside and start over */
    CACHE__LEAVE        /* newer format, or its upgrade failed: keep the file, run without a cache */
} cache__open_result;

/* First column of the first row of sql as an integer: 0 / 1 for a missing / present row
** when it has no column, -1 when the statement fails. */
static int64_t cache__int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    int step = sqlite3_step(st);
    int64_t v = step == SQLITE_ROW ? (sqlite3_column_count(st) ? sqlite3_column_int64(st, 0) : 1) : step == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return v;
}

/* Create the tables of a new file or upgrade a format 1 file, in one
** transaction; CACHE__LEAVE (logged) for a newer format or a failed upgrade. */
static cache__open_result cache__schema(sc_embed_cache *c) {
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return CACHE__DAMAGED;
    int64_t has_vec = cache__int(c->db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='vec'");
    int64_t has_meta = cache__int(c->db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'");
    int64_t format = has_meta == 1 ? cache__int(c->db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key='format'") : 1;
    int rc = SQLITE_OK;
    if (has_vec < 0 || has_meta < 0 || format < 0) {
        rc = SQLITE_CORRUPT;
    } else if (format > CACHE__FORMAT) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        util_log(&c->logger, SC_LOG_LEVEL_WARN,
                 "embedding cache %s has format %lld, written by a newer semcode; running without a cache (the "
                 "file is left as it is)",
                 c->path, (long long)format);
        return CACHE__LEAVE;
    } else if (!has_meta) {
        rc = sqlite3_exec(c->db, has_vec ? cache__schema_v1_to_2 : cache__schema_new, NULL, NULL, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_exec(c->db, cache__schema_common, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) return CACHE__OPEN_OK;
    int prim = rc & 0xff;
    const char *why = sqlite3_errmsg(c->db);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", why ? why : sqlite3_errstr(rc));
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB) return CACHE__DAMAGED;
    util_log(&c->logger, SC_LOG_LEVEL_WARN,
             "embedding cache %s: upgrading it to format %d failed (%s); running without a cache, the file is left "
             "as it was",
             c->path, CACHE__FORMAT, msg);
    return CACHE__LEAVE;
}

/* Open the file, create or upgrade its tables and read the counters. */
static cache__open_result cache__try_open(sc_embed_cache *c) {
    cache__open_result res = CACHE__DAMAGED;
    if (sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) goto fail;
    sqlite3_busy_timeout(c->db, 5000);
    if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    if ((res = cache__schema(c)) != CACHE__OPEN_OK) goto fail;
    res = CACHE__DAMAGED;
    int64_t v1 = cache__int(c->db, "SELECT 1 FROM vec WHERE v = 1 LIMIT 1");
    if (v1 < 0) goto fail;
    c->has_v1 = v1 == 1;
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
    return CACHE__OPEN_OK;
fail:
    sqlite3_close(c->db);
    c->db = NULL;
    return res;
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
    if (cache__try_open(c) == CACHE__DAMAGED)
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
    if (!path || !out) return util_errmsg_out(errmsg, SC_MISUSE, "sc_embed_cache_open: NULL argument");
    sc_embed_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->path = util_strdup(path))) {
        free(c);
        return util_errmsg_out(errmsg, SC_NOMEM, "out of memory opening the embedding cache");
    }
    c->max_entries = max_entries ? max_entries : 1000000;
    if (cache__try_open(c) == CACHE__DAMAGED) cache__recover(c, "not a readable SQLite database");
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

bool cache_has_v1(const sc_embed_cache *c) { return c && c->db && c->has_v1; }

/* Checksum of an entry's dim floats: XXH3-64 (v = 2) or util_hash64_v1 (v = 1), seeded by dim. */
static uint64_t cache__sum(const void *data, uint32_t dim, int v) {
    return v == 1 ? util_hash64_v1(data, dim * sizeof(float), dim) : util_hash64(data, dim * sizeof(float), dim);
}

/* Statements of one lookup batch. */
typedef struct cache__stmts {
    sqlite3_stmt *get;   /* id, dim, data, v of a key */
    sqlite3_stmt *touch; /* mark an entry used */
    sqlite3_stmt *drop;  /* delete an entry */
    sqlite3_stmt *rekey; /* a format 1 entry becomes format 2 */
    uint8_t *buf;        /* dim floats + checksum: the rekeyed entry's data (NULL: none is rekeyed) */
} cache__stmts;

/* Look key up: SQLITE_ROW with the vector in out (marked used; a format 1
** entry found by key_v1 is rekeyed to key), SQLITE_DONE for a miss (a
** damaged entry is dropped), or the SQLite error. want_v says which format
** the key is of. */
static int cache__get_one(sc_embed_cache *c, cache__stmts *s, const uint8_t *key, const uint8_t *new_key, int want_v,
                          uint32_t dim, float *out) {
    sqlite3_reset(s->get);
    sqlite3_bind_blob(s->get, 1, key, EMBED_KEY_SIZE, SQLITE_STATIC);
    int step = sqlite3_step(s->get);
    if (step != SQLITE_ROW) return step;
    sqlite3_int64 id = sqlite3_column_int64(s->get, 0);
    const uint8_t *data = sqlite3_column_blob(s->get, 2);
    size_t bytes = (size_t)sqlite3_column_bytes(s->get, 2);
    int v = sqlite3_column_int(s->get, 3);
    uint64_t sum = 0;
    bool ok = v == want_v && (uint32_t)sqlite3_column_int(s->get, 1) == dim && bytes == dim * sizeof(float) + 8 && data;
    if (ok) {
        memcpy(&sum, data + dim * sizeof(float), 8);
        ok = sum == cache__sum(data, dim, v);
    }
    if (!ok) {
        /* A damaged entry (or another dimension under the same key): drop it. */
        sqlite3_reset(s->drop);
        sqlite3_bind_int64(s->drop, 1, id);
        sqlite3_step(s->drop);
        if (c->stats.entries) c->stats.entries--;
        return SQLITE_DONE;
    }
    memcpy(out, data, dim * sizeof(float));
    if (v == 1 && s->buf) {
        /* rekey: the format 2 key and checksum, marked used */
        uint64_t nsum = cache__sum(out, dim, 2);
        memcpy(s->buf, out, dim * sizeof(float));
        memcpy(s->buf + dim * sizeof(float), &nsum, 8);
        sqlite3_reset(s->rekey);
        sqlite3_bind_blob(s->rekey, 1, new_key, EMBED_KEY_SIZE, SQLITE_STATIC);
        sqlite3_bind_blob(s->rekey, 2, s->buf, (int)(dim * sizeof(float) + 8), SQLITE_STATIC);
        sqlite3_bind_int64(s->rekey, 3, (sqlite3_int64)++c->clock);
        sqlite3_bind_int64(s->rekey, 4, id);
        step = sqlite3_step(s->rekey);
        /* a format 2 entry under the new key already (a race): the old one stays, unused */
        return step == SQLITE_DONE || (step & 0xff) == SQLITE_CONSTRAINT ? SQLITE_ROW : step;
    }
    sqlite3_reset(s->touch);
    sqlite3_bind_int64(s->touch, 1, (sqlite3_int64)++c->clock);
    sqlite3_bind_int64(s->touch, 2, id);
    sqlite3_step(s->touch);
    return SQLITE_ROW;
}

void cache_get_many(sc_embed_cache *c, const uint8_t (*keys)[EMBED_KEY_SIZE], const uint8_t (*keys_v1)[EMBED_KEY_SIZE],
                    size_t n, uint32_t dim, float *out, bool *found) {
    for (size_t i = 0; i < n; i++) found[i] = false;
    if (!c || !c->db || n == 0) {
        if (c) c->stats.misses += n;
        return;
    }
    cache__stmts s = {0};
    int rc = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(c->db, "SELECT id, dim, data, v FROM vec WHERE key=?1", -1, &s.get, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(c->db, "UPDATE vec SET used=?1 WHERE id=?2", -1, &s.touch, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(c->db, "DELETE FROM vec WHERE id=?1", -1, &s.drop, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db, "UPDATE vec SET key=?1, v=2, data=?2, used=?3 WHERE id=?4", -1, &s.rekey, NULL);
    bool try_v1 = keys_v1 && c->has_v1 && (s.buf = malloc(dim * sizeof(float) + 8)); /* no memory: no format 1 hits */
    size_t hits = 0;
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
        int step = cache__get_one(c, &s, keys[i], keys[i], 2, dim, out + i * dim);
        if (step == SQLITE_DONE && try_v1) step = cache__get_one(c, &s, keys_v1[i], keys[i], 1, dim, out + i * dim);
        if (step == SQLITE_ROW) {
            found[i] = true;
            hits++;
        } else if (step != SQLITE_DONE) {
            rc = step;
        }
    }
    sqlite3_finalize(s.get);
    sqlite3_finalize(s.touch);
    sqlite3_finalize(s.drop);
    sqlite3_finalize(s.rekey);
    free(s.buf);
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
                                "INSERT INTO vec(key, used, dim, data, v) VALUES(?1, ?2, ?3, ?4, 2) "
                                "ON CONFLICT(key) DO UPDATE SET used=excluded.used, dim=excluded.dim, data=excluded.data, v=2",
                                -1, &put, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
        if (want && !want[i]) continue;
        memcpy(buf, vecs + i * dim, dim * sizeof(float));
        uint64_t sum = cache__sum(buf, dim, 2);
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
