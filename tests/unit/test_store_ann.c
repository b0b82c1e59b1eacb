/*
** Unit tests of the store's ANN layer through the public API: the HNSW
** graph is built once a vector passes full_scan_threshold, follows
** inserts, updates and deletes, is persisted and reloaded, is caught up
** after a SIGKILL, holds recall under a restrictive filter, and works with
** int8 and binary quantization. Recall is always measured against the
** store's own exact search (req.exact).
*/
#include <math.h>
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

#define AT_DIM 32
#define AT_CLUSTERS 40

/* Clustered data: AT_CLUSTERS gaussian-ish centres with noise. */
static void at_vectors(uint64_t seed, size_t first, size_t n, float *out) {
    tu_rng crng = {777};
    static float centres[AT_CLUSTERS][AT_DIM];
    static bool init = false;
    if (!init) {
        for (int c = 0; c < AT_CLUSTERS; c++) tu_fill(&crng, centres[c], AT_DIM);
        init = true;
    }
    for (size_t i = 0; i < n; i++) {
        tu_rng r = {seed * 1000003 + first + i};
        int c = (int)(tu_next(&r) % AT_CLUSTERS);
        for (int d = 0; d < AT_DIM; d++) out[i * AT_DIM + d] = centres[c][d] + 0.35f * tu_uniform(&r);
    }
}

/* Upsert points [first, first+n) with vectors from seed, payload {"bucket": id % 100}. */
static sc_status at_put(sc_db *db, const char *coll, uint64_t seed, size_t first, size_t n) {
    float *v = malloc(sizeof(float) * AT_DIM * n);
    assert_non_null(v);
    at_vectors(seed, first, n, v);
    sc_status rc = tu_vectors_put(db, coll, v, AT_DIM, first, n, 100);
    free(v);
    return rc;
}

static void at_create(sc_db *db, const char *coll, sc_distance d, uint32_t threshold, sc_quant_kind q) {
    sc_vector_params vp = {.name = "", .dim = AT_DIM, .distance = d};
    vp.hnsw.full_scan_threshold = threshold;
    vp.hnsw.ef_construct = 64;
    vp.quant.kind = q;
    assert_int_equal(sc_collection_create(db, coll, &vp, 1), SC_OK);
}

static float at_oversampling; /* per-query oversampling override (0 = configured) */

/* Mean recall@10 of ANN search against exact search over nq queries. */
static double at_recall(sc_db *db, const char *coll, int nq, uint32_t ef, const char *filter) {
    double sum = 0;
    float q[AT_DIM];
    for (int i = 0; i < nq; i++) {
        at_vectors(99, (size_t)i, 1, q);
        sc_search_request req = {.query = q, .dim = AT_DIM, .limit = 10, .hnsw_ef = ef, .filter_json = filter,
                                 .oversampling = at_oversampling};
        sc_record_list *a = NULL, *e = NULL;
        sum += tu_search_vs_exact(db, coll, &req, &a, &e);
        sc_record_list_free(a);
        sc_record_list_free(e);
    }
    return sum / nq;
}

/* ==== Tests ==== */

static void test_graph_follows_writes(void **state) {
    (void)state;
    char *dir = tu_tmpdir("ann");
    sc_db *db = tu_db_open_ok(dir, NULL);
    at_create(db, "c", SC_DISTANCE_COSINE, 1000, SC_QUANT_KIND_NONE);
    assert_int_equal(at_put(db, "c", 1, 0, 800), SC_OK);
    assert_false(tu_index_info(db, "c").hnsw_built); /* below the threshold: exact */
    for (size_t b = 800; b < 4000; b += 800) assert_int_equal(at_put(db, "c", 1, b, 800), SC_OK);
    sc_vector_index_info vx = tu_index_info(db, "c");
    assert_true(vx.hnsw_built);
    assert_int_equal(vx.n_indexed, 4000);
    assert_true(vx.bytes_per_vector > AT_DIM * 4);
    double r = at_recall(db, "c", 40, 64, NULL);
    assert_true(r >= 0.95);

    /* Delete a third: deleted points never come back, recall holds. */
    /* (900 deletes stay below the automatic vacuum, which starts at 1000.) */
    sc_point_id *del = malloc(sizeof *del * 900);
    for (size_t i = 0; i < 900; i++) del[i] = sc_point_id_num(i * 4);
    assert_int_equal(sc_points_delete(db, "c", del, 900, NULL), SC_OK);
    float q[AT_DIM];
    at_vectors(1, 0, 1, q); /* the vector of point 0, now deleted */
    sc_search_request req = {.query = q, .dim = AT_DIM, .limit = 50};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(db, "c", &req, &l), SC_OK);
    for (size_t i = 0; i < l->n; i++) assert_true(l->items[i].id.num % 4 != 0 || l->items[i].id.num >= 3600);
    sc_record_list_free(l);
    assert_true(at_recall(db, "c", 40, 64, NULL) >= 0.95);

    /* Update: point 1 moves to the place of a query; reuse of deleted slots. */
    float target[AT_DIM];
    at_vectors(555, 0, 1, target);
    sc_vector_in vin = {"", target, AT_DIM};
    sc_point_in moved[2] = {{.id = sc_point_id_num(1), .vectors = &vin, .n_vectors = 1, .payload_json = NULL}, {.id = sc_point_id_num(100000), .vectors = &vin, .n_vectors = 1, .payload_json = NULL}};
    assert_int_equal(sc_points_upsert(db, "c", moved, 2), SC_OK);
    req.query = target;
    req.limit = 2;
    assert_int_equal(sc_points_search(db, "c", &req, &l), SC_OK);
    assert_int_equal(l->n, 2);
    assert_int_equal(l->items[0].id.num, 1);
    assert_int_equal(l->items[1].id.num, 100000);
    sc_record_list_free(l);

    /* Optimize reclaims the tombstones. */
    assert_true(tu_index_info(db, "c").n_deleted > 0);
    assert_int_equal(sc_collection_optimize(db, "c"), SC_OK);
    vx = tu_index_info(db, "c");
    assert_int_equal(vx.n_deleted, 0);
    assert_int_equal(vx.n_indexed, 4000 - 900 + 1);
    assert_true(at_recall(db, "c", 40, 64, NULL) >= 0.95);
    free(del);
    sc_db_close(db);
    tu_rmdir(dir);
}

/* Child of test_graph_persists_and_catches_up: deletes, updates and adds
** points in the store at dir (arg), acknowledges, then writes until killed. */
static void at_writer_child(void *arg, int ack_fd) {
    sc_db *cdb = NULL;
    if (sc_db_open(arg, NULL, &cdb, NULL) != SC_OK) _exit(3);
    sc_point_id del[200];
    for (int i = 0; i < 200; i++) del[i] = sc_point_id_num((uint64_t)i * 5);
    if (sc_points_delete(cdb, "c", del, 200, NULL) != SC_OK) _exit(4);
    if (at_put(cdb, "c", 3, 2500, 1000) != SC_OK) _exit(5); /* updates 2500..2999, adds 3000..3499 */
    tu_child_ack(ack_fd);
    for (uint64_t b = 3500;; b += 100) at_put(cdb, "c", 4, b, 100); /* until killed */
}

static void test_graph_persists_and_catches_up(void **state) {
    (void)state;
    char *dir = tu_tmpdir("annp");
    sc_db *db = tu_db_open_ok(dir, NULL);
    at_create(db, "c", SC_DISTANCE_EUCLID, 500, SC_QUANT_KIND_NONE);
    for (size_t b = 0; b < 3000; b += 1000) assert_int_equal(at_put(db, "c", 2, b, 1000), SC_OK);
    /* Results before and after a clean reopen are identical: the graph is loaded, not rebuilt. */
    float q[AT_DIM];
    sc_record_list *before[5], *after[5];
    for (int i = 0; i < 5; i++) {
        at_vectors(7, (size_t)i, 1, q);
        sc_search_request req = {.query = q, .dim = AT_DIM, .limit = 10, .hnsw_ef = 16};
        assert_int_equal(sc_points_search(db, "c", &req, &before[i]), SC_OK);
    }
    sc_db_close(db);
    char p[512];
    snprintf(p, sizeof p, "%s/hnsw", dir);
    assert_int_equal(access(p, F_OK), 0);
    db = tu_db_open_ok(dir, NULL);
    assert_true(tu_index_info(db, "c").hnsw_built);
    for (int i = 0; i < 5; i++) {
        at_vectors(7, (size_t)i, 1, q);
        sc_search_request req = {.query = q, .dim = AT_DIM, .limit = 10, .hnsw_ef = 16};
        assert_int_equal(sc_points_search(db, "c", &req, &after[i]), SC_OK);
        assert_int_equal(before[i]->n, after[i]->n);
        for (size_t j = 0; j < before[i]->n; j++)
            assert_int_equal(before[i]->items[j].id.num, after[i]->items[j].id.num);
        sc_record_list_free(before[i]);
        sc_record_list_free(after[i]);
    }
    sc_db_close(db);

    /* A child writes more (inserts, updates, deletes) and is killed before it
    ** can save the graph: the next open must catch the graph up. */
    tu_run_killed_child(at_writer_child, dir, 20000);
    db = tu_db_open_ok(dir, NULL);
    uint64_t n = 0;
    assert_int_equal(sc_points_count(db, "c", NULL, &n), SC_OK);
    assert_true(n >= 3300);
    sc_vector_index_info vx = tu_index_info(db, "c");
    assert_true(vx.hnsw_built);
    assert_int_equal(vx.n_indexed, n);
    /* At a high ef, the caught-up graph returns what exact search returns. */
    assert_true(at_recall(db, "c", 30, 400, NULL) >= 0.99);
    for (int i = 0; i < 200; i++) {
        sc_point_id id = sc_point_id_num((uint64_t)i * 5);
        sc_record_list *l = NULL;
        assert_int_equal(sc_points_get(db, "c", &id, 1, NULL, &l), SC_OK);
        assert_int_equal(l->n, 0);
        sc_record_list_free(l);
    }
    sc_db_close(db);
    tu_rmdir(dir);
}

static void test_filtered_recall_one_percent(void **state) {
    (void)state;
    sc_distance metrics[2] = {SC_DISTANCE_COSINE, SC_DISTANCE_EUCLID};
    for (int mi = 0; mi < 2; mi++) {
        char *dir = tu_tmpdir("annf");
        sc_db *db = tu_db_open_ok(dir, NULL);
        /* Threshold 100: a filter admitting 1 % (200 of 20,000) on a field
        ** without a payload index (no estimate) goes through the graph. */
        at_create(db, "c", metrics[mi], 100, SC_QUANT_KIND_NONE);
        for (size_t b = 0; b < 20000; b += 5000) assert_int_equal(at_put(db, "c", 5, b, 5000), SC_OK);
        const char *f = "{\"must\": [{\"key\": \"bucket\", \"match\": {\"value\": 42}}]}";
        double r = at_recall(db, "c", 30, 64, f);
        if (r < 0.95) fail_msg("recall@10 with a 1%% filter is %.3f (metric %d)", r, (int)metrics[mi]);
        /* With the index the planner knows 200 rows pass and scores them
        ** exactly (cheaper than the walk): every query equals exact search. */
        sc_search_plans p0 = sc_db_search_plans(db);
        assert_int_equal(p0.graph_filter, 30); /* the walks above */
        assert_int_equal(sc_field_index_create(db, "c", "bucket", SC_FIELD_TYPE_INTEGER), SC_OK);
        r = at_recall(db, "c", 30, 16, f);
        if (r != 1.0) fail_msg("planned 1%% filter recall@10 is %.3f, not exact (metric %d)", r, (int)metrics[mi]);
        sc_search_plans p1 = sc_db_search_plans(db);
        assert_int_equal(p1.graph_filter, p0.graph_filter);
        assert_int_equal(p1.exact_list, p0.exact_list + 60); /* 30 planned + 30 reference exact searches */
        /* A broad indexed filter (50 %) is walked in the graph, recall holds. */
        const char *half = "{\"must\": [{\"key\": \"bucket\", \"range\": {\"lt\": 50}}]}";
        r = at_recall(db, "c", 30, 64, half);
        if (r < 0.95) fail_msg("recall@10 with a 50%% filter is %.3f (metric %d)", r, (int)metrics[mi]);
        assert_int_equal(sc_db_search_plans(db).graph_filter, p1.graph_filter + 30);
        /* Every result satisfies the filter. */
        float q[AT_DIM];
        at_vectors(99, 0, 1, q);
        sc_search_request req = {.query = q, .dim = AT_DIM, .limit = 10, .filter_json = f};
        sc_record_list *l = NULL;
        assert_int_equal(sc_points_search(db, "c", &req, &l), SC_OK);
        assert_int_equal(l->n, 10);
        for (size_t i = 0; i < l->n; i++) assert_int_equal(l->items[i].id.num % 100, 42);
        sc_record_list_free(l);
        sc_db_close(db);
        tu_rmdir(dir);
    }
}

static void test_quantized_search(void **state) {
    (void)state;
    sc_quant_kind kinds[2] = {SC_QUANT_KIND_INT8, SC_QUANT_KIND_BINARY};
    for (int k = 0; k < 2; k++) {
        char *dir = tu_tmpdir("annq");
        sc_db *db = tu_db_open_ok(dir, NULL);
        sc_vector_params vp = {.name = "", .dim = AT_DIM, .distance = SC_DISTANCE_COSINE};
        vp.hnsw.full_scan_threshold = 500;
        vp.quant.kind = kinds[k];
        /* 32 dimensions give binary codes of only 32 bits: rescore many. */
        vp.quant.oversampling = k == 1 ? 16.0f : 0.0f;
        assert_int_equal(sc_collection_create(db, "c", &vp, 1), SC_OK);
        for (size_t b = 0; b < 4000; b += 1000) assert_int_equal(at_put(db, "c", 6, b, 1000), SC_OK);
        sc_vector_index_info vx = tu_index_info(db, "c");
        assert_true(vx.hnsw_built);
        assert_true(vx.code_bytes_per_vector > 0);
        if (vx.code_bytes_per_vector > (k == 0 ? AT_DIM + 16 : AT_DIM / 8 + 16))
            fail_msg("code of %.1f bytes per vector (kind %d)", vx.code_bytes_per_vector, k);
        double r = at_recall(db, "c", 30, 64, NULL);
        if (r < 0.93) fail_msg("quantized recall %.3f too low (kind %d)", r, k);
        /* Less oversampling (a per-query override) costs recall with 32-bit binary codes. */
        at_oversampling = 2;
        double r2 = at_recall(db, "c", 30, 64, NULL);
        at_oversampling = 0;
        if (k == 1 && r2 >= r) fail_msg("oversampling 2 gave recall %.3f, configured 16 gave %.3f", r2, r);
        /* The configuration survives a reopen. */
        sc_db_close(db);
        db = tu_db_open_ok(dir, NULL);
        sc_collection_info info;
        assert_int_equal(sc_collection_info_get(db, "c", &info), SC_OK);
        assert_int_equal(info.vectors[0].quant.kind, kinds[k]);
        assert_int_equal(info.vectors[0].hnsw.full_scan_threshold, 500);
        sc_collection_info_free(&info);
        sc_db_close(db);
        tu_rmdir(dir);
    }
}

static void test_bad_index_config(void **state) {
    (void)state;
    char *dir = tu_tmpdir("annb");
    sc_db *db = tu_db_open_ok(dir, NULL);
    sc_vector_params vp = {.name = "", .dim = 8, .distance = SC_DISTANCE_EUCLID};
    vp.hnsw.m = 500;
    assert_int_equal(sc_collection_create(db, "c", &vp, 1), SC_INVALID);
    assert_non_null(strstr(sc_db_errmsg(db), "hnsw_config.m: 500"));
    vp.hnsw.m = 0;
    vp.quant.kind = SC_QUANT_KIND_BINARY;
    assert_int_equal(sc_collection_create(db, "c", &vp, 1), SC_INVALID);
    assert_non_null(strstr(sc_db_errmsg(db), "binary quantization needs Cosine or Dot"));
    vp.quant.kind = SC_QUANT_KIND_INT8;
    vp.quant.quantile = 0.2f;
    assert_int_equal(sc_collection_create(db, "c", &vp, 1), SC_INVALID);
    assert_non_null(strstr(sc_db_errmsg(db), "quantile"));
    assert_false(sc_collection_exists(db, "c"));
    sc_db_close(db);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_follows_writes),
        cmocka_unit_test(test_graph_persists_and_catches_up),
        cmocka_unit_test(test_filtered_recall_one_percent),
        cmocka_unit_test(test_quantized_search),
        cmocka_unit_test(test_bad_index_config),
    };
    return cmocka_run_group_tests_name("store_ann", tests, NULL, NULL);
}
