/*
** Unit tests of the two-pass scan of a large flat tail (issue 18,
** store/tailq.c): with the background indexer held (SEMCODE_BG_HOLD=1) a
** collection of 20,000 clustered 64-d points stays entirely in the tail;
** its coded rows are ranked by int8 codes and the best rescored exactly.
** Every point's own vector must come first, recall@10 against exact search
** must be at least 0.95, filters must hold; a tail below 4,096 rows is
** scored exactly as before; with the indexer running (it links rows and
** drops their codes while searches run) new points are found first.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "semcode/semcode.h"
#include "store_fixture.h"
#include "testutil.h"

#define TQ_DIM 64
#define TQ_CLUSTERS 40

static const char *tq_f7 = "{\"must\": [{\"key\": \"bucket\", \"match\": {\"value\": 7}}]}";

/* Vector of point id: one of TQ_CLUSTERS centres plus noise, deterministic. */
static const tu_clusters tq_clusters = {.dim = TQ_DIM, .n_clusters = TQ_CLUSTERS, .cluster_seed = 7000, .salt = 5,
                                        .noise = 0.25f};
static void tq_vector(uint64_t id, float *out) { tu_cluster_vector(&tq_clusters, id, out); }

/* Upsert ids [first, first + m) with payload {"bucket": id % 10}. */
static void tq_put(sc_db *db, uint64_t first, size_t m) {
    assert_int_equal(tu_cluster_put(db, "c", &tq_clusters, first, m), SC_OK);
}

/* A store (indexer held when hold) and collection "c" under distance dist. */
static sc_db *tq_open(const char *dir, sc_distance dist, bool hold) {
    if (hold) setenv("SEMCODE_BG_HOLD", "1", 1);
    else unsetenv("SEMCODE_BG_HOLD");
    sc_db_options o = sc_db_options_default();
    o.background_index = true;
    sc_db *db = tu_db_open_ok(dir, &o);
    sc_vector_params vp = {.name = "", .dim = TQ_DIM, .distance = dist};
    vp.hnsw.kind = SC_INDEX_KIND_HNSW;
    vp.hnsw.full_scan_threshold = 1;
    assert_int_equal(sc_collection_create(db, "c", &vp, 1), SC_OK);
    return db;
}

/* A store with its indexer held and collection "c" of n points under
** distance dist, all in the flat tail. */
static sc_db *tq_setup(const char *dir, sc_distance dist, uint64_t n) {
    sc_db *db = tq_open(dir, dist, true);
    for (uint64_t first = 0; first < n; first += 1000) tq_put(db, first, n - first < 1000 ? (size_t)(n - first) : 1000);
    sc_vector_index_info vx = tu_index_info(db, "c");
    assert_int_equal(vx.n_indexed, 0);
    assert_int_equal(vx.n_pending, n);
    return db;
}

static void tq_teardown(sc_db *db, char *dir) {
    sc_db_close(db);
    unsetenv("SEMCODE_BG_HOLD");
    tu_rmdir(dir);
}

/* Point id's own vector (filter optional) must come back first. */
static void tq_expect_self(sc_db *db, uint64_t id, const char *filter) {
    float q[TQ_DIM];
    tq_vector(id, q);
    sc_search_request req = {.query = q, .dim = TQ_DIM, .limit = 10, .filter_json = filter};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(db, "c", &req, &l), SC_OK);
    assert_true(l->n >= 1);
    if (l->items[0].id.num != id)
        fail_msg("point %llu: top hit is %llu", (unsigned long long)id, (unsigned long long)l->items[0].id.num);
    if (filter)
        for (size_t j = 0; j < l->n; j++) assert_int_equal(l->items[j].id.num % 10, 7);
    sc_record_list_free(l);
}

/* Query i: a point's vector moved by noise (not a point itself). */
static void tq_query(uint64_t i, float *q) {
    tq_vector(500000 + i, q);
    tu_rng r = {i + 99};
    for (int d = 0; d < TQ_DIM; d++) q[d] += 0.1f * tu_uniform(&r);
}

/* Mean recall@10 over 50 queries against exact search; with same, the
** answers must equal exact search's (ids and scores). */
static double tq_recall(sc_db *db, const char *filter, bool same) {
    double sum = 0;
    for (uint64_t i = 0; i < 50; i++) {
        float q[TQ_DIM];
        tq_query(i, q);
        sc_search_request req = {.query = q, .dim = TQ_DIM, .limit = 10, .filter_json = filter};
        sc_record_list *a = NULL, *e = NULL;
        assert_int_equal(sc_points_search(db, "c", &req, &a), SC_OK);
        req.exact = true;
        assert_int_equal(sc_points_search(db, "c", &req, &e), SC_OK);
        size_t hit = 0;
        for (size_t x = 0; x < e->n; x++)
            for (size_t y = 0; y < a->n; y++) hit += sc_point_id_cmp(&e->items[x].id, &a->items[y].id) == 0;
        sum += e->n ? (double)hit / (double)e->n : 1.0;
        for (size_t y = 0; filter && y < a->n; y++) assert_int_equal(a->items[y].id.num % 10, 7);
        if (same) {
            assert_int_equal(a->n, e->n);
            for (size_t x = 0; x < e->n; x++) {
                assert_int_equal(a->items[x].id.num, e->items[x].id.num);
                assert_true(a->items[x].score == e->items[x].score);
            }
        }
        sc_record_list_free(a);
        sc_record_list_free(e);
    }
    return sum / 50;
}

/* 20,000 points in the tail under dist: self-queries 100 % top-1,
** recall@10 >= 0.95, filters respected, through the graph + tail plan. */
static void tq_large(sc_distance dist) {
    char *dir = tu_tmpdir("tailq");
    sc_db *db = tq_setup(dir, dist, 20000);
    sc_search_plans p0 = sc_db_search_plans(db);
    for (uint64_t i = 0; i < 200; i++) tq_expect_self(db, i * 97 % 20000, NULL);
    sc_search_plans p1 = sc_db_search_plans(db);
    assert_int_equal(p1.graph - p0.graph, 200); /* graph + two-pass tail, not the full scan */
    for (uint64_t id = 7; id < 20000; id += 410) tq_expect_self(db, id, tq_f7);
    double r = tq_recall(db, NULL, false), rf = tq_recall(db, tq_f7, false);
    print_message("recall@10 %.3f, with a filter %.3f\n", r, rf);
    assert_true(r >= 0.95);
    assert_true(rf >= 0.95);
    tq_teardown(db, dir);
}

static void test_large_tail_cosine(void **state) {
    (void)state;
    tq_large(SC_DISTANCE_COSINE);
}

static void test_large_tail_euclid(void **state) {
    (void)state;
    tq_large(SC_DISTANCE_EUCLID);
}

/* A tail below STORE_TAILQ_MIN (4,096) rows is scored exactly: the
** answers equal exact search's, ids and scores. */
static void test_small_tail_exact(void **state) {
    (void)state;
    char *dir = tu_tmpdir("tailqs");
    sc_db *db = tq_setup(dir, SC_DISTANCE_COSINE, 3000);
    assert_true(tq_recall(db, NULL, true) == 1.0);
    assert_true(tq_recall(db, tq_f7, true) == 1.0);
    tq_teardown(db, dir);
}

/* With the indexer running: batches of 5,000 (a large, coded tail that
** the indexer links, and whose codes it drops, while searches run) find
** their newest points first right after each acknowledgement and after
** the catch-up. */
static void test_catch_up(void **state) {
    (void)state;
    char *dir = tu_tmpdir("tailqc");
    sc_db *db = tq_open(dir, SC_DISTANCE_COSINE, false);
    for (uint64_t b = 0; b < 20000; b += 5000) {
        tq_put(db, b, 5000);
        for (uint64_t id = b; id < b + 5000; id += 251) tq_expect_self(db, id, NULL);
        tq_expect_self(db, b + 4997, tq_f7);
    }
    for (int i = 0; i < 12000 && tu_index_info(db, "c").n_pending; i++) usleep(10000);
    assert_int_equal(tu_index_info(db, "c").n_pending, 0);
    for (uint64_t id = 3; id < 20000; id += 997) tq_expect_self(db, id, NULL);
    sc_db_close(db);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_tail_cosine),
        cmocka_unit_test(test_large_tail_euclid),
        cmocka_unit_test(test_small_tail_exact),
        cmocka_unit_test(test_catch_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
