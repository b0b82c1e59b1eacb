/*
** Tests of the persistent embedding cache through an embedder: a text seen
** before is answered from the cache wherever it moved, a model change
** misses, the LRU bound holds, a damaged entry is dropped rather than
** returned, a damaged cache file is set aside and rebuilt without failing
** the caller, a cache of format 1 (before xxHash) answers under its old keys
** and is rekeyed, and one of a newer format is left alone.
*/
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include <cmocka.h>

#include "semcode/provider.h"
#include "embed/provider_int.h"
#include "testutil.h"

#define EC_DIM 16

typedef struct ec_model {
    int calls;      /* provider calls */
    size_t texts;   /* texts embedded */
    float salt;     /* changes the vectors (a "different model") */
} ec_model;

static sc_status ec_embed(void *st, sc_embed_role side, const char *const *texts, size_t n, float *out,
                          sc_embed_item *items) {
    (void)items;
    ec_model *m = st;
    m->calls++;
    m->texts += n;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = 1469598103934665603ULL + (uint64_t)side;
        for (const char *p = texts[i]; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        for (int d = 0; d < EC_DIM; d++) {
            h = h * 6364136223846793005ULL + 1;
            out[i * EC_DIM + d] = (float)((h >> 41) % 1000) / 1000.0f + m->salt;
        }
    }
    return SC_OK;
}

static const sc_provider_vtable ec_vt = {ec_embed, NULL};

static sc_embedder *ec_embedder(ec_model *m, const char *id, uint64_t hash, sc_embed_cache *c) {
    sc_embedder *e = NULL;
    assert_int_equal(sc_embedder_new_custom(&ec_vt, m, id, hash, "ec", EC_DIM, &e, NULL), SC_OK);
    sc_embedder_set_cache(e, c);
    return e;
}

static void test_hit_after_move_miss_after_model_change(void **state) {
    (void)state;
    char *dir = tu_tmpdir("ec");
    char path[256];
    snprintf(path, sizeof path, "%s/cache.db", dir);
    sc_embed_cache *c = NULL;
    assert_int_equal(sc_embed_cache_open(path, 0, &c, NULL), SC_OK);
    ec_model m = {0};
    sc_embedder *e = ec_embedder(&m, "builtin", 111, c);
    const char *a[3] = {"def parse(x): ...", "int main(void)", "fn run() {}"};
    float v1[3 * EC_DIM], v2[3 * EC_DIM];
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, a, 3, v1, NULL, &s), SC_OK);
    assert_int_equal(s.newly_embedded, 3);
    /* The same functions in another order (moved within or across files), plus one new. */
    const char *b[4] = {"fn run() {}", "new function", "def parse(x): ...", "int main(void)"};
    float vb[4 * EC_DIM];
    sc_embed_item items[4];
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, b, 4, vb, items, &s), SC_OK);
    assert_int_equal(s.cached, 3);
    assert_int_equal(s.newly_embedded, 1);
    assert_true(items[0].cached && !items[1].cached && items[2].cached);
    assert_memory_equal(vb, v1 + 2 * EC_DIM, EC_DIM * sizeof(float));
    assert_memory_equal(vb + 2 * EC_DIM, v1, EC_DIM * sizeof(float));
    assert_int_equal(m.texts, 4);
    /* The query side is another key. */
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_QUERY, a, 1, v2, NULL, &s), SC_OK);
    assert_int_equal(s.cached, 0);
    sc_embedder_free(e);
    /* It persists across reopening. */
    sc_embed_cache_close(c);
    assert_int_equal(sc_embed_cache_open(path, 0, &c, NULL), SC_OK);
    e = ec_embedder(&m, "builtin", 111, c);
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, a, 3, v2, NULL, &s), SC_OK);
    assert_int_equal(s.cached, 3);
    assert_memory_equal(v1, v2, sizeof v1);
    sc_embedder_free(e);
    /* A new model file (other hash) or another model id misses. */
    ec_model m2 = {.salt = 1.0f};
    e = ec_embedder(&m2, "builtin", 222, c);
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, a, 3, v2, NULL, &s), SC_OK);
    assert_int_equal(s.cached, 0);
    assert_int_equal(s.newly_embedded, 3);
    assert_true(v2[0] >= 1.0f);
    sc_embedder_free(e);
    e = ec_embedder(&m2, "other", 111, c);
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, a, 3, v2, NULL, &s), SC_OK);
    assert_int_equal(s.cached, 0);
    sc_embedder_free(e);
    sc_embed_cache_stats st = sc_embed_cache_get_stats(c); /* counted since this open */
    assert_int_equal(st.hits, 3);
    assert_int_equal(st.misses, 6);
    sc_embed_cache_close(c);
    tu_rmdir(dir);
}

static void test_lru_bound(void **state) {
    (void)state;
    char *dir = tu_tmpdir("ec");
    char path[256];
    snprintf(path, sizeof path, "%s/cache.db", dir);
    sc_embed_cache *c = NULL;
    assert_int_equal(sc_embed_cache_open(path, 10, &c, NULL), SC_OK);
    ec_model m = {0};
    sc_embedder *e = ec_embedder(&m, "builtin", 1, c);
    char texts[25][24];
    const char *p[25];
    for (int i = 0; i < 25; i++) {
        snprintf(texts[i], sizeof texts[i], "text %d", i);
        p[i] = texts[i];
    }
    float v[25 * EC_DIM];
    sc_embed_summary s;
    for (int i = 0; i < 25; i++) {
        assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, &p[i], 1, v, NULL, &s), SC_OK);
        /* keep "text 0" hot */
        assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, &p[0], 1, v, NULL, &s), SC_OK);
    }
    sc_embed_cache_stats st = sc_embed_cache_get_stats(c);
    assert_true(st.entries <= 10);
    assert_true(st.evictions >= 15);
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, &p[0], 1, v, NULL, &s), SC_OK);
    assert_int_equal(s.cached, 1); /* the most recently used survived */
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, &p[1], 1, v, NULL, &s), SC_OK);
    assert_int_equal(s.cached, 0); /* an old one was evicted */
    sc_embedder_free(e);
    sc_embed_cache_close(c);
    tu_rmdir(dir);
}

static const char *ab[2] = {"alpha", "beta"};

/* A new cache at path holding the vectors of ab (model "builtin", hash 1) embedded by m into v. */
static void cache_alpha_beta(const char *path, ec_model *m, float *v) {
    sc_embed_cache *c = NULL;
    assert_int_equal(sc_embed_cache_open(path, 0, &c, NULL), SC_OK);
    sc_embedder *e = ec_embedder(m, "builtin", 1, c);
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, ab, 2, v, NULL, &s), SC_OK);
    assert_int_equal(s.newly_embedded, 2);
    sc_embedder_free(e);
    sc_embed_cache_close(c);
}

static void test_damaged_entry_and_file(void **state) {
    (void)state;
    char *dir = tu_tmpdir("ec");
    char path[256];
    snprintf(path, sizeof path, "%s/cache.db", dir);
    ec_model m = {0};
    const char *const *a = ab;
    float v[2 * EC_DIM], w[2 * EC_DIM];
    cache_alpha_beta(path, &m, v);
    sc_embed_cache *c = NULL;
    sc_embedder *e = NULL;
    sc_embed_summary s;
    /* Flip bytes inside one stored vector: its checksum no longer matches. */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE vec SET data = zeroblob(length(data)) WHERE id = (SELECT min(id) FROM vec)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(sc_embed_cache_open(path, 0, &c, NULL), SC_OK);
    e = ec_embedder(&m, "builtin", 1, c);
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, a, 2, w, NULL, &s), SC_OK);
    assert_int_equal(s.cached, 1);
    assert_int_equal(s.newly_embedded, 1);
    assert_memory_equal(v, w, sizeof v); /* recomputed, not the zeros */
    sc_embedder_free(e);
    sc_embed_cache_close(c);
    /* Overwrite the whole file with garbage: set aside, rebuilt, reported. */
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 4096; i++) fputc(i * 7 & 0xff, f);
    fclose(f);
    char side[300];
    snprintf(side, sizeof side, "%s-wal", path);
    remove(side);
    assert_int_equal(sc_embed_cache_open(path, 0, &c, NULL), SC_OK);
    assert_int_equal(sc_embed_cache_get_stats(c).recoveries, 1);
    e = ec_embedder(&m, "builtin", 1, c);
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, a, 2, w, NULL, &s), SC_OK);
    assert_int_equal(s.success, 2);
    assert_int_equal(s.cached, 0);
    assert_memory_equal(v, w, sizeof v);
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, a, 2, w, NULL, &s), SC_OK);
    assert_int_equal(s.cached, 2);
    sc_embedder_free(e);
    sc_embed_cache_close(c);
    DIR *d = opendir(dir);
    int aside = 0;
    for (struct dirent *de; (de = readdir(d));) aside += strstr(de->d_name, "cache.db.corrupt-") != NULL;
    closedir(d);
    assert_int_equal(aside, 1);
    tu_rmdir(dir);
}

/* ==== Cache format 1 (before xxHash) ==== */

/* Write a cache file of format 1, as a build before xxHash did: the old
** table (no column v, no meta), keys cache_key_v1, util_hash64_v1 checksums.
** Entry i holds text texts[i] with vector vecs[i*EC_DIM..]. */
static void write_format1(const char *path, const char *model_id, uint64_t model_hash, const char *const *texts,
                          size_t n, const float *vecs) {
    FILE *f = fopen(path, "wb"); /* tu_sql_exec opens existing files only */
    assert_non_null(f);
    fclose(f);
    assert_int_equal(tu_sql_exec(path, "PRAGMA journal_mode=WAL;"
                                       "CREATE TABLE vec(id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE,"
                                       " used INTEGER NOT NULL, dim INTEGER NOT NULL, data BLOB NOT NULL);"
                                       "CREATE INDEX vec_used ON vec(used);"),
                     0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO vec(key, used, dim, data) VALUES(?1, ?2, ?3, ?4)", -1, &st, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        uint8_t key[EMBED_KEY_SIZE], data[EC_DIM * sizeof(float) + 8];
        cache_key_v1(model_id, model_hash, SC_EMBED_ROLE_CODE, texts[i], key);
        memcpy(data, vecs + i * EC_DIM, EC_DIM * sizeof(float));
        uint64_t sum = util_hash64_v1(data, EC_DIM * sizeof(float), EC_DIM);
        memcpy(data + EC_DIM * sizeof(float), &sum, 8);
        sqlite3_reset(st);
        sqlite3_bind_blob(st, 1, key, sizeof key, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i + 1);
        sqlite3_bind_int(st, 3, EC_DIM);
        sqlite3_bind_blob(st, 4, data, sizeof data, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* First column of the first row of sql on the file at path, as an integer (0: no row). */
static long long file_int(const char *path, const char *sql) {
    char *t = tu_sql_text(path, sql);
    if (!t) fail_msg("%s failed", sql);
    long long v = atoll(t);
    free(t);
    return v;
}

/* Vectors cached before xxHash are found under their old keys, returned as
** they were (not recomputed), and rekeyed: afterwards every row is of
** format 2 under its new key. A damaged old entry is dropped. */
static void test_format1_cache_is_found_and_rekeyed(void **state) {
    (void)state;
    char *dir = tu_tmpdir("ec");
    char path[256];
    snprintf(path, sizeof path, "%s/cache.db", dir);
    const char *a[4] = {"def parse(x): ...", "int main(void)", "fn run() {}", "class A: pass"};
    float old[4 * EC_DIM];
    for (size_t i = 0; i < 4 * EC_DIM; i++) old[i] = 100.0f + (float)i; /* no model computes these */
    write_format1(path, "builtin", 7, a, 4, old);
    /* damage entry 3's vector (one float changed, checksum kept): its format 1 checksum must catch it */
    uint8_t bad[EC_DIM * sizeof(float) + 8];
    memcpy(bad, old + 3 * EC_DIM, EC_DIM * sizeof(float));
    uint64_t sum = util_hash64_v1(bad, EC_DIM * sizeof(float), EC_DIM);
    memcpy(bad + EC_DIM * sizeof(float), &sum, 8);
    bad[5] ^= 0x40;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE vec SET data = ?1 WHERE used = 4", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, bad, sizeof bad, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);

    sc_embed_cache *c = NULL;
    assert_int_equal(sc_embed_cache_open(path, 0, &c, NULL), SC_OK);
    assert_int_equal(file_int(path, "SELECT value FROM meta WHERE key='format'"), 2);
    assert_int_equal(file_int(path, "SELECT count(*) FROM vec WHERE v = 1"), 4);
    ec_model m = {0};
    sc_embedder *e = ec_embedder(&m, "builtin", 7, c);
    float v[4 * EC_DIM];
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, a, 4, v, NULL, &s), SC_OK);
    assert_int_equal(s.cached, 3);
    assert_int_equal(s.newly_embedded, 1);
    assert_memory_equal(v, old, 3 * EC_DIM * sizeof(float));
    assert_true(v[3 * EC_DIM] < 100.0f); /* recomputed, not the damaged entry */
    assert_int_equal(file_int(path, "SELECT count(*) FROM vec WHERE v = 1"), 0);
    assert_int_equal(file_int(path, "SELECT count(*) FROM vec WHERE v = 2"), 4);
    for (int i = 0; i < 4; i++) {
        uint8_t key[EMBED_KEY_SIZE];
        cache_key("builtin", 7, SC_EMBED_ROLE_CODE, a[i], key);
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM vec WHERE key = x'");
        for (int k = 0; k < EMBED_KEY_SIZE; k++) snprintf(sql + strlen(sql), sizeof sql - strlen(sql), "%02x", key[k]);
        snprintf(sql + strlen(sql), sizeof sql - strlen(sql), "'");
        assert_int_equal(file_int(path, sql), 1);
    }
    sc_embedder_free(e);
    sc_embed_cache_close(c);
    /* reopened: nothing of format 1 left, the rekeyed entries answer */
    assert_int_equal(sc_embed_cache_open(path, 0, &c, NULL), SC_OK);
    e = ec_embedder(&m, "builtin", 7, c);
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, a, 4, v, NULL, &s), SC_OK);
    assert_int_equal(s.cached, 4);
    assert_memory_equal(v, old, 3 * EC_DIM * sizeof(float));
    sc_embedder_free(e);
    sc_embed_cache_close(c);
    tu_rmdir(dir);
}

/* A cache file of a newer format is left as it is and not used; the
** embedder still answers. */
static void test_newer_cache_format_is_left_alone(void **state) {
    (void)state;
    char *dir = tu_tmpdir("ec");
    char path[256];
    snprintf(path, sizeof path, "%s/cache.db", dir);
    ec_model m = {0};
    float v[2 * EC_DIM];
    cache_alpha_beta(path, &m, v);
    assert_int_equal(tu_sql_exec(path, "UPDATE meta SET value='3' WHERE key='format'"), 0);
    sc_embed_cache *c = NULL;
    assert_int_equal(sc_embed_cache_open(path, 0, &c, NULL), SC_OK);
    sc_embedder *e = ec_embedder(&m, "builtin", 1, c);
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, ab, 2, v, NULL, &s), SC_OK);
    assert_int_equal(s.cached, 0);
    assert_int_equal(s.newly_embedded, 2);
    assert_int_equal(sc_embed_cache_get_stats(c).recoveries, 0);
    sc_embedder_free(e);
    sc_embed_cache_close(c);
    assert_int_equal(file_int(path, "SELECT value FROM meta WHERE key='format'"), 3);
    assert_int_equal(file_int(path, "SELECT count(*) FROM vec"), 2);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format1_cache_is_found_and_rekeyed),
        cmocka_unit_test(test_newer_cache_format_is_left_alone),
        cmocka_unit_test(test_hit_after_move_miss_after_model_change),
        cmocka_unit_test(test_lru_bound),
        cmocka_unit_test(test_damaged_entry_and_file),
    };
    return cmocka_run_group_tests_name("embed_cache", tests, NULL, NULL);
}
