/*
** Tests of the index format upgrade (issue 15, docs/FILE_FORMATS.md): a
** real index of format 1, written by semcode before xxHash
** (tests/fixtures/index-v1.tar.gz, see tools/gen_index_v1_fixture.sh), is
** unpacked into a copy of tests/fixtures/repo. Opening it upgrades it (state
** and store), search works at once, the next update re-reads every file and
** rewrites its points with XXH3-128 hashes while embedding nothing again,
** and the run after that does nothing; its embedding cache answers under the
** old keys. An upgrade that fails leaves the index as it was; a newer format
** is refused.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "semcode/repo.h"
#include "testutil.h"
#include "util/util.h"

/* Entities of tests/fixtures/repo as the format 1 index holds them. */
#define FIXTURE_ENTITIES 19
#define FIXTURE_FILES 8

/* A temporary folder holding repo/ (the fixture tree) with its format 1
** index in repo/.semcode; *root receives the tree's path (owned). */
static char *unpack_v1(char **root) {
    char *dir = tu_tmpdir("idxfmt");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp -r tests/fixtures/repo '%s/repo' && tar -xzf tests/fixtures/index-v1.tar.gz -C '%s/repo'",
             dir, dir);
    assert_int_equal(system(cmd), 0);
    size_t n = strlen(dir) + 8;
    *root = malloc(n);
    snprintf(*root, n, "%s/repo", dir);
    return dir;
}

/* Open the index of root: for_index as `semcode index` does, use_cache as with --cache. */
static sc_repo *open_repo(const char *root, bool for_index, bool use_cache) {
    sc_repo_options ro = sc_repo_options_default();
    ro.model_path = "models/builtin.scm"; /* tests run from the source tree */
    ro.allow_rebuild = for_index;
    ro.use_cache = use_cache;
    sc_repo *r = NULL;
    char *msg = NULL;
    if (sc_repo_open(root, &ro, &r, &msg) != SC_OK) fail_msg("sc_repo_open: %s", msg ? msg : "?");
    return r;
}

/* sc_repo_open's status, its message in msg[msg_size]. */
static sc_status open_status(const char *root, char *msg, size_t msg_size) {
    sc_repo_options ro = sc_repo_options_default();
    ro.model_path = "models/builtin.scm";
    sc_repo *r = NULL;
    char *m = NULL;
    sc_status rc = sc_repo_open(root, &ro, &r, &m);
    snprintf(msg, msg_size, "%s", m ? m : "");
    sc_free(m);
    sc_repo_close(r);
    return rc;
}

/* First column of the first row of sql on ROOT/.semcode/<file>, as text (owned; "" for no row). */
static char *index_query(const char *root, const char *file, const char *sql) {
    char p[1024];
    snprintf(p, sizeof p, "%s/.semcode/%s", root, file);
    char *v = tu_sql_text(p, sql);
    if (!v) fail_msg("%s on %s failed", sql, p);
    return v;
}

static void index_exec(const char *root, const char *file, const char *sql) {
    char p[1024];
    snprintf(p, sizeof p, "%s/.semcode/%s", root, file);
    assert_int_equal(tu_sql_exec(p, sql), 0);
}

#define assert_query(root, file, sql, want)                                                                     \
    do {                                                                                                       \
        char *got_ = index_query((root), (file), (sql));                                                       \
        if (strcmp(got_, (want))) fail_msg("%s on %s: '%s', expected '%s'", (sql), (file), got_, (want));      \
        free(got_);                                                                                            \
    } while (0)

/* The files table as the pre-xxHash build declared it, with every row's hash still the format 1 integer. */
static void assert_state_format1(const char *root) {
    assert_query(root, "state.db", "SELECT count(*) FROM meta WHERE key='index_format'", "0");
    char *sql = index_query(root, "state.db", "SELECT sql FROM sqlite_master WHERE name='files'");
    assert_non_null(strstr(sql, "hash INTEGER"));
    free(sql);
    assert_query(root, "state.db", "SELECT count(*) FROM files WHERE typeof(hash)='integer'", "8");
}

/* Keyword search of the fixture finds gcd first. */
static void assert_search_finds_gcd(sc_repo *r, sc_search_mode mode) {
    sc_code_query q = {.text = "greatest common divisor", .mode = mode, .limit = 3};
    sc_code_hits *h = NULL;
    assert_int_equal(sc_repo_search(r, &q, &h), SC_OK);
    assert_true(h->n > 0);
    assert_string_equal(h->items[0].name, "gcd");
    sc_code_hits_free(h);
}

/* Open upgrades; search works before any re-index; the first update
** re-reads every file and embeds nothing; the next one does nothing. */
static void test_format1_index_upgrade(void **state) {
    (void)state;
    char *root = NULL;
    char *dir = unpack_v1(&root);
    assert_state_format1(root);
    assert_query(root, "store/store.db", "SELECT value FROM meta WHERE key='format_version'", "1");

    sc_repo *r = open_repo(root, false, false); /* as `semcode search` opens it */
    assert_query(root, "state.db", "SELECT value FROM meta WHERE key='index_format'", "2");
    assert_query(root, "store/store.db", "SELECT value FROM meta WHERE key='format_version'", "2");
    char *sql = index_query(root, "state.db", "SELECT sql FROM sqlite_master WHERE name='files'");
    assert_non_null(strstr(sql, "hash BLOB"));
    free(sql);
    /* the rows and their format 1 hashes are kept: they mark the files to re-read */
    assert_query(root, "state.db", "SELECT count(*) FROM files WHERE typeof(hash)='integer'", "8");
    assert_search_finds_gcd(r, SC_SEARCH_MODE_KEYWORD);
    assert_search_finds_gcd(r, SC_SEARCH_MODE_HYBRID);
    sc_repo_close(r);

    r = open_repo(root, true, false);
    sc_repo_summary sum;
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_int_equal(sum.files_parsed, FIXTURE_FILES);
    assert_int_equal(sum.entities_unchanged, FIXTURE_ENTITIES);
    assert_int_equal(sum.entities_added + sum.entities_updated + sum.entities_removed, 0);
    assert_int_equal(sum.embeddings_new, 0);
    assert_int_equal(sum.embeddings_cached, FIXTURE_ENTITIES);
    /* every file now has its XXH3-128, every point 32-digit hashes and a format 2 id */
    assert_query(root, "state.db", "SELECT count(*) FROM files WHERE typeof(hash)='blob' AND length(hash)=16", "8");
    assert_query(root, "store/store.db", "SELECT count(*) FROM points", "19");
    assert_query(root, "store/store.db",
                 "SELECT count(*) FROM points WHERE length(json_extract(payload, '$.text_hash'))=32"
                 " AND length(json_extract(payload, '$.content_hash'))=32",
                 "19");
    char p[1024];
    snprintf(p, sizeof p, "%s/tools/lib.rs", root);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char hex[33];
    util_h128_hex(util_hash128(buf, n, 0), hex); /* what `xxh128sum tools/lib.rs` prints */
    assert_query(root, "state.db", "SELECT lower(hex(hash)) FROM files WHERE path='tools/lib.rs'", hex);
    assert_search_finds_gcd(r, SC_SEARCH_MODE_HYBRID);
    /* the same run filled the call graph the format 1 index lacked (issue 19) */
    assert_query(root, "state.db", "SELECT value FROM meta WHERE key='call_graph'", "1");
    assert_query(root, "state.db", "SELECT count(*) > 0 FROM graph_calls WHERE path='pkg/http_client.py'", "1");

    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_int_equal(sum.files_unchanged, FIXTURE_FILES);
    assert_int_equal(sum.files_parsed + sum.embeddings_new + sum.embeddings_cached, 0);

    /* a new function in an upgraded file: only it is embedded */
    f = fopen(p, "ab");
    fputs("\npub fn lcm(a: u64, b: u64) -> u64 {\n    a / gcd(a, b) * b\n}\n", f);
    fclose(f);
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_int_equal(sum.files_parsed, 1);
    assert_int_equal(sum.entities_added, 1);
    assert_int_equal(sum.entities_removed, 0);
    assert_int_equal(sum.embeddings_new, 1);
    sc_repo_close(r);
    free(root);
    tu_rmdir(dir);
}

/* The fixture's embedding cache (format 1, keyed by the old hash) answers
** for every entity once the store is gone: indexing again with the cache
** computes no vector, and the cache is rekeyed to format 2. */
static void test_format1_cache_answers(void **state) {
    (void)state;
    char *root = NULL;
    char *dir = unpack_v1(&root);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/.semcode/store'", root);
    assert_int_equal(system(cmd), 0);
    assert_query(root, "cache.db", "SELECT count(*) FROM vec", "19");
    sc_repo *r = open_repo(root, true, true);
    sc_repo_summary sum;
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_int_equal(sum.entities_added, FIXTURE_ENTITIES);
    assert_int_equal(sum.embeddings_new, 0);
    assert_int_equal(sum.embeddings_cached, FIXTURE_ENTITIES);
    assert_query(root, "cache.db", "SELECT count(*) FROM vec WHERE v = 2", "19");
    assert_query(root, "cache.db", "SELECT count(*) FROM vec WHERE v = 1", "0");
    assert_search_finds_gcd(r, SC_SEARCH_MODE_DENSE);
    sc_repo_close(r);
    free(root);
    tu_rmdir(dir);
}

/* An upgrade that fails at its last step rolls back: the state is still
** format 1, rows and all, and the open says what happened. Once the cause
** is gone the upgrade goes through. */
static void test_failed_upgrade_leaves_index(void **state) {
    (void)state;
    char *root = NULL;
    char *dir = unpack_v1(&root);
    char *before = index_query(root, "state.db", "SELECT group_concat(path || ':' || hash, ',') FROM files");
    index_exec(root, "state.db",
               "CREATE TRIGGER fail_upgrade BEFORE INSERT ON meta WHEN NEW.key='index_format'"
               " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
    char msg[1024];
    assert_int_not_equal(open_status(root, msg, sizeof msg), SC_OK);
    if (!strstr(msg, "from format 1 to 2 failed, it is left as it was") || !strstr(msg, "injected failure"))
        fail_msg("message: %s", msg);
    assert_state_format1(root);
    char *after = index_query(root, "state.db", "SELECT group_concat(path || ':' || hash, ',') FROM files");
    assert_string_equal(before, after);
    free(after);
    index_exec(root, "state.db", "DROP TRIGGER fail_upgrade");
    assert_int_equal(open_status(root, msg, sizeof msg), SC_OK);
    assert_query(root, "state.db", "SELECT value FROM meta WHERE key='index_format'", "2");
    after = index_query(root, "state.db", "SELECT group_concat(path || ':' || hash, ',') FROM files");
    assert_string_equal(before, after); /* the same rows, format 1 hashes kept for the next update */
    free(after);
    free(before);
    free(root);
    tu_rmdir(dir);
}

/* A newer index format is refused, naming it, and left alone; so is a
** malformed one. A new index is written at format 2. */
static void test_newer_index_format_is_refused(void **state) {
    (void)state;
    char *root = NULL;
    char *dir = unpack_v1(&root);
    char msg[1024];
    assert_int_equal(open_status(root, msg, sizeof msg), SC_OK);
    index_exec(root, "state.db", "UPDATE meta SET value='4' WHERE key='index_format'");
    assert_int_equal(open_status(root, msg, sizeof msg), SC_UNSUPPORTED);
    if (!strstr(msg, "has format 4") || !strstr(msg, "newer semcode")) fail_msg("message: %s", msg);
    assert_query(root, "state.db", "SELECT value FROM meta WHERE key='index_format'", "4");
    index_exec(root, "state.db", "UPDATE meta SET value='x2' WHERE key='index_format'");
    assert_int_equal(open_status(root, msg, sizeof msg), SC_CORRUPT);
    if (!strstr(msg, "index_format 'x2'")) fail_msg("message: %s", msg);
    free(root);
    tu_rmdir(dir);

    dir = tu_tmpdir("idxnew");
    assert_int_equal(tu_write_file(dir, "a.py", "def f(x):\n    return x + 1\n"), 0);
    sc_repo *r = open_repo(dir, true, false);
    sc_repo_summary sum;
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    sc_repo_close(r);
    assert_query(dir, "state.db", "SELECT value FROM meta WHERE key='index_format'", "2");
    assert_query(dir, "state.db", "SELECT count(*) FROM files WHERE typeof(hash)='blob' AND length(hash)=16", "1");
    assert_query(dir, "store/store.db", "SELECT value FROM meta WHERE key='format_version'", "2");
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format1_index_upgrade),
        cmocka_unit_test(test_format1_cache_answers),
        cmocka_unit_test(test_failed_upgrade_leaves_index),
        cmocka_unit_test(test_newer_index_format_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
