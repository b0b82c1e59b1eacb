/*
** Unit tests of background indexing (sc_db_options.background_index): an
** acknowledged write is searchable at once through the flat tail, merged
** with the graph's hits under the same filter; the indexer catches up and
** the collection reports it; a store killed (SIGKILL) while the indexer
** runs reopens at once with every acknowledged point and resumes.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "semcode/semcode.h"
#include "store_fixture.h"
#include "testutil.h"

#define BG_DIM 24

/* Vector of point id: a few clusters plus noise, deterministic. */
static const tu_clusters bg_clusters = {.dim = BG_DIM, .n_clusters = 13, .cluster_seed = 1000, .salt = 17,
                                        .noise = 0.3f};
static void bg_vector(uint64_t id, float *out) { tu_cluster_vector(&bg_clusters, id, out); }

/* Upsert ids [first, first+n), payload {"bucket": id % 10}. */
static sc_status bg_put(sc_db *db, uint64_t first, size_t n) { return tu_cluster_put(db, "c", &bg_clusters, first, n); }

static sc_db *bg_open(const char *dir) {
    sc_db_options o = sc_db_options_default();
    o.background_index = true;
    return tu_db_open_ok(dir, &o);
}

static void bg_create(sc_db *db) {
    sc_vector_params vp = {.name = "", .dim = BG_DIM, .distance = SC_DISTANCE_EUCLID};
    vp.hnsw.kind = SC_INDEX_KIND_HNSW; /* a graph from the first point, as the server's default */
    vp.hnsw.ef_construct = 64;
    vp.hnsw.full_scan_threshold = 1; /* searches go through the graph (and the tail) at once */
    assert_int_equal(sc_collection_create(db, "c", &vp, 1), SC_OK);
}

static sc_vector_index_info bg_info(sc_db *db) { return tu_index_info(db, "c"); }

/* Wait (at most 60 s) until nothing is pending. */
static void bg_wait_indexed(sc_db *db) {
    for (int i = 0; i < 6000; i++) {
        if (bg_info(db).n_pending == 0) return;
        usleep(10000);
    }
    fail_msg("the background indexer did not catch up in 60 s");
}

/* Top hit of point id's own vector, with filter (NULL = none): must be id. */
static void bg_expect_self(sc_db *db, uint64_t id, const char *filter) {
    float q[BG_DIM];
    bg_vector(id, q);
    tu_expect_top(db, "c", q, BG_DIM, 5, id, filter);
}

/* Mean recall@10 of the default search against exact search, filter optional. */
static double bg_recall(sc_db *db, const char *filter) {
    double sum = 0;
    for (uint64_t i = 0; i < 20; i++) {
        float q[BG_DIM];
        bg_vector(1000000 + i, q);
        sc_search_request req = {.query = q, .dim = BG_DIM, .limit = 10, .filter_json = filter};
        sc_record_list *a = NULL, *e = NULL;
        sum += tu_search_vs_exact(db, "c", &req, &a, &e);
        sc_record_list_free(a);
        sc_record_list_free(e);
    }
    return sum / 20;
}

/* ==== Tests ==== */

/* Every write is found right after it is acknowledged, whether its rows are
** in the graph or still in the tail, with and without a filter; updates and
** deletes are seen at once too; the indexer then catches up. */
static void test_tail_merge_with_filter(void **state) {
    (void)state;
    char *dir = tu_tmpdir("bgt");
    sc_db *db = bg_open(dir);
    bg_create(db);
    const char *f7 = "{\"must\": [{\"key\": \"bucket\", \"match\": {\"value\": 7}}]}";
    for (uint64_t b = 0; b < 4000; b += 500) {
        assert_int_equal(bg_put(db, b, 500), SC_OK);
        /* right after the acknowledgement: the last batch (mostly tail) and an older point */
        for (uint64_t id = b; id < b + 500; id += 37) bg_expect_self(db, id, NULL);
        bg_expect_self(db, b + 497, f7);
        bg_expect_self(db, b / 2 + 7, f7);
    }
    sc_vector_index_info vx = bg_info(db);
    assert_true(vx.hnsw_built);
    assert_int_equal(vx.n_indexed + vx.n_pending, 4000);
    assert_true(bg_recall(db, NULL) >= 0.95);
    assert_true(bg_recall(db, f7) >= 0.95);
    /* An update moves point 5 onto point 3005's vector; a delete removes 3006. */
    float v[BG_DIM];
    bg_vector(3005, v);
    sc_vector_in vin = {"", v, BG_DIM};
    sc_point_in pt = {.id = sc_point_id_num(5), .vectors = &vin, .n_vectors = 1, .payload_json = "{\"bucket\": 5}"};
    assert_int_equal(sc_points_upsert(db, "c", &pt, 1), SC_OK);
    sc_point_id gone = sc_point_id_num(3006);
    assert_int_equal(sc_points_delete(db, "c", &gone, 1, NULL), SC_OK);
    bg_vector(3006, v);
    sc_search_request req = {.query = v, .dim = BG_DIM, .limit = 50};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(db, "c", &req, &l), SC_OK);
    for (size_t j = 0; j < l->n; j++) assert_true(l->items[j].id.num != 3006);
    sc_record_list_free(l);
    bg_wait_indexed(db);
    vx = bg_info(db);
    assert_int_equal(vx.n_indexed, 3999);
    assert_int_equal(vx.n_pending, 0);
    bg_expect_self(db, 1234, NULL);
    bg_expect_self(db, 3997, f7);
    assert_true(bg_recall(db, NULL) >= 0.95);
    assert_true(bg_recall(db, f7) >= 0.95);
    sc_db_close(db);
    tu_rmdir(dir);
}

/* Child of test_resume_after_kill: acknowledges 6,000 points and a delete
** in the store at dir (arg), then leaves its indexer working until killed. */
static void bg_writer_child(void *arg, int ack_fd) {
    sc_db *cdb = bg_open(arg);
    for (uint64_t b = 1000; b < 7000; b += 1000)
        if (bg_put(cdb, b, 1000) != SC_OK) _exit(4);
    sc_point_id del = sc_point_id_num(10);
    if (sc_points_delete(cdb, "c", &del, 1, NULL) != SC_OK) _exit(5);
    tu_child_ack(ack_fd);
    pause(); /* the indexer works until the kill */
    _exit(0);
}

/* A child acknowledges 6,000 points and is killed while its indexer links
** them; the reopened store has them all at once, finds each acknowledged
** point, resumes from the graph it saved, and catches up. A clean reopen
** after that loads the saved graph with nothing pending. */
static void test_resume_after_kill(void **state) {
    (void)state;
    char *dir = tu_tmpdir("bgk");
    sc_db *db = bg_open(dir);
    bg_create(db);
    assert_int_equal(bg_put(db, 0, 1000), SC_OK);
    bg_wait_indexed(db); /* saved with its watermark: the reopen must load, not rebuild */
    sc_db_close(db);
    tu_run_killed_child(bg_writer_child, dir, 120000); /* the indexer waits 50 ms after the last write, then links */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    db = bg_open(dir);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double open_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(open_s < 5.0); /* no re-link at open */
    uint64_t n = 0;
    assert_int_equal(sc_points_count(db, "c", NULL, &n), SC_OK);
    assert_int_equal(n, 6999);
    sc_vector_index_info vx = bg_info(db);
    assert_true(vx.hnsw_built);
    assert_int_equal(vx.n_indexed + vx.n_pending, 6999);
    for (uint64_t id = 0; id < 7000; id += 97)
        if (id != 10) bg_expect_self(db, id, NULL);
    bg_wait_indexed(db);
    assert_true(bg_recall(db, NULL) >= 0.95);
    sc_db_close(db);
    db = bg_open(dir);
    vx = bg_info(db);
    assert_int_equal(vx.n_pending, 0);
    assert_int_equal(vx.n_indexed, 6999);
    sc_db_close(db);
    /* The same store opened without background indexing is caught up too. */
    sc_db *sdb = NULL;
    char err[512];
    assert_int_equal(tu_db_open(dir, NULL, &sdb, err, sizeof err), SC_OK);
    assert_int_equal(bg_info(sdb).n_pending, 0);
    bg_expect_self(sdb, 6543, NULL);
    sc_db_close(sdb);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_merge_with_filter),
        cmocka_unit_test(test_resume_after_kill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
