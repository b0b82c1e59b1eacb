/*
** Unit tests of the logger (common.h): the library's messages reach the
** logger of the handle they concern (sc_db_options.logger,
** sc_db_set_logger, sc_embed_cache_set_logger) or else the global one
** (sc_log_set_global), never both, with the level and the text the
** library wrote; restoring the default stops the capture.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "semcode/semcode.h"
#include "testutil.h"

#define LG_DIM 8

/* Messages one logger received. */
typedef struct lg_capture {
    int n;               /* messages */
    sc_log_level level;  /* level of the last one */
    char last[1024];     /* text of the last one */
} lg_capture;

static void lg_log(void *payload, sc_log_level level, const char *msg) {
    lg_capture *c = payload;
    c->n++;
    c->level = level;
    snprintf(c->last, sizeof c->last, "%s", msg);
}

/* A store with collection "c" whose graph is built at once (threshold 1)
** and saved on close; returns the path of the graph file. */
static void lg_make_store(const char *dir, char *graph, size_t graph_size) {
    sc_db *db = NULL;
    assert_int_equal(sc_db_open(dir, NULL, &db, NULL), SC_OK);
    sc_vector_params vp = {.name = "", .dim = LG_DIM, .distance = SC_DISTANCE_COSINE};
    vp.hnsw.full_scan_threshold = 1;
    assert_int_equal(sc_collection_create(db, "c", &vp, 1), SC_OK);
    tu_rng r = {42};
    for (uint64_t i = 0; i < 64; i++) {
        float v[LG_DIM];
        tu_fill(&r, v, LG_DIM);
        sc_vector_in vin = {"", v, LG_DIM};
        sc_point_in p = {.id = sc_point_id_num(i), .vectors = &vin, .n_vectors = 1};
        assert_int_equal(sc_points_upsert(db, "c", &p, 1), SC_OK);
    }
    sc_db_close(db);
    snprintf(graph, graph_size, "%s/hnsw/c1-v0.hnsw", dir);
    FILE *f = fopen(graph, "rb");
    assert_non_null(f); /* the graph was saved where the store keeps it */
    fclose(f);
}

/* Overwrite a file with bytes that are no graph. */
static void lg_garbage(const char *path) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 512; i++) fputc(i * 13 & 0xff, f);
    fclose(f);
}

/* A damaged graph is reported to the handle's logger given at open, and
** not to the global one. */
static void test_store_message_goes_to_handle_logger(void **state) {
    (void)state;
    char *dir = tu_tmpdir("log");
    char graph[1024];
    lg_make_store(dir, graph, sizeof graph);
    lg_garbage(graph);
    lg_capture global = {0}, own = {0};
    sc_log_set_global(&(sc_logger){.payload = &global, .log = lg_log});
    sc_db_options o = sc_db_options_default();
    o.logger = (sc_logger){.payload = &own, .log = lg_log};
    sc_db *db = NULL;
    assert_int_equal(sc_db_open(dir, &o, &db, NULL), SC_OK);
    assert_int_equal(own.n, 1);
    assert_int_equal(own.level, SC_LOG_LEVEL_WARN);
    assert_non_null(strstr(own.last, "is unusable"));
    assert_non_null(strstr(own.last, "c1-v0.hnsw"));
    assert_null(strchr(own.last, '\n')); /* one line, no newline, no program prefix */
    assert_int_not_equal(strncmp(own.last, "semcode", 7), 0);
    assert_int_equal(global.n, 0);
    sc_db_close(db);
    sc_log_set_global(NULL);
    tu_rmdir(dir);
}

/* Without a logger of its own the store's message goes to the global
** logger; after sc_log_set_global(NULL) nothing more is captured. */
static void test_store_message_falls_back_to_global(void **state) {
    (void)state;
    char *dir = tu_tmpdir("log");
    char graph[1024];
    lg_make_store(dir, graph, sizeof graph);
    lg_garbage(graph);
    lg_capture global = {0};
    sc_log_set_global(&(sc_logger){.payload = &global, .log = lg_log});
    sc_db *db = NULL;
    assert_int_equal(sc_db_open(dir, NULL, &db, NULL), SC_OK);
    assert_int_equal(global.n, 1);
    assert_non_null(strstr(global.last, "is unusable"));
    sc_db_close(db); /* the rebuilt graph is saved: nothing to report */
    assert_int_equal(global.n, 1);
    sc_log_set_global(NULL);
    lg_garbage(graph);
    /* the default logger writes this one to stderr */
    assert_int_equal(sc_db_open(dir, NULL, &db, NULL), SC_OK);
    assert_int_equal(global.n, 1); /* restored default: not captured */
    sc_db_close(db);
    tu_rmdir(dir);
}

/* A damaged embedding cache found while opening is reported to the global
** logger (there is no handle to hold a logger yet). */
static void test_cache_message_goes_to_cache_logger(void **state) {
    (void)state;
    char *dir = tu_tmpdir("log");
    char path[1024];
    snprintf(path, sizeof path, "%s/cache.db", dir);
    lg_garbage(path);
    lg_capture global = {0};
    sc_log_set_global(&(sc_logger){.payload = &global, .log = lg_log});
    sc_embed_cache *c = NULL;
    /* found while opening: no handle yet, so the global logger hears it */
    assert_int_equal(sc_embed_cache_open(path, 0, &c, NULL), SC_OK);
    assert_int_equal(global.n, 1);
    assert_int_equal(global.level, SC_LOG_LEVEL_WARN);
    assert_non_null(strstr(global.last, "was unusable"));
    sc_embed_cache_close(c);
    sc_log_set_global(NULL);
    tu_rmdir(dir);
}

static void test_level_names(void **state) {
    (void)state;
    assert_string_equal(sc_log_level_name(SC_LOG_LEVEL_DEBUG), "debug");
    assert_string_equal(sc_log_level_name(SC_LOG_LEVEL_INFO), "info");
    assert_string_equal(sc_log_level_name(SC_LOG_LEVEL_WARN), "warn");
    assert_string_equal(sc_log_level_name(SC_LOG_LEVEL_ERROR), "error");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_message_goes_to_handle_logger),
        cmocka_unit_test(test_store_message_falls_back_to_global),
        cmocka_unit_test(test_cache_message_goes_to_cache_logger),
        cmocka_unit_test(test_level_names),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
