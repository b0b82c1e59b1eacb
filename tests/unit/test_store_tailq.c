/*
** Unit tests of the two-pass scan of a large flat tail (issue 18,
** store/tailq.c): with the background indexer held (SEMCODE_BG_HOLD=1) a
** collection of 20,000 clustered 64-d points stays entirely in the tail;
** its coded rows are ranked by int8 codes and the best rescored exactly.
** Every point's own vector must come first, recall@10 against exact search
** must be at least 0.95, filters must hold; a tail below 4,096 rows is
** scored exactly as before; with the indexer running (it links rows and
** drops their codes while searches run) new points are found first.
** The sign pass (more than 4,096 rows accepted) is checked against exact
** search on clustered data that shares a common offset (the centring),
** with a filter that admits half the tail, after deletes and updates of
** tail rows, after tiny first writes, and with later rows far larger than
** the first ones (each row's own int8 unit: nothing is clipped).
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

/* Point id's own vector (filter optional: bucket 7, id's) must come back first. */
static void tq_expect_self(sc_db *db, uint64_t id, const char *filter) {
    float q[TQ_DIM];
    tq_vector(id, q);
    tu_expect_top(db, "c", q, TQ_DIM, 10, id, filter);
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
        sum += tu_search_vs_exact(db, "c", &req, &a, &e);
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

/* ==== The sign pass ==== */

/* Vectors of the sign-pass tests: 64 clusters in TQ_DIM2 dimensions, all
** shifted by 1.5 in every component (all positive: signs taken against 0
** instead of the centre would all be 1), the whole vector times tq_scale. */
#define TQ_DIM2 64
static const tu_clusters tq_off_clusters = {.dim = TQ_DIM2, .n_clusters = 64, .cluster_seed = 9100, .salt = 11,
                                            .noise = 0.3f};
static float tq_scale = 1.0f;
static void tq_off_vector(uint64_t id, float *out) {
    tu_cluster_vector(&tq_off_clusters, id, out);
    for (int d = 0; d < TQ_DIM2; d++) out[d] = (out[d] + 1.5f) * tq_scale;
}

/* Upsert ids [first, first + n) with tq_off_vector, payload {"bucket": id % 10}. */
static void tq_off_put(sc_db *db, uint64_t first, size_t n) {
    float *v = malloc(sizeof(float) * TQ_DIM2 * n);
    sc_vector_in *vin = calloc(n, sizeof *vin);
    sc_point_in *pts = calloc(n, sizeof *pts);
    char (*pl)[32] = calloc(n, sizeof *pl);
    assert_true(v && vin && pts && pl);
    for (size_t i = 0; i < n; i++) {
        tq_off_vector(first + i, v + i * TQ_DIM2);
        snprintf(pl[i], sizeof pl[i], "{\"bucket\": %llu}", (unsigned long long)((first + i) % 10));
        vin[i] = (sc_vector_in){"", v + i * TQ_DIM2, TQ_DIM2};
        pts[i] = (sc_point_in){.id = sc_point_id_num(first + i), .vectors = &vin[i], .n_vectors = 1,
                               .payload_json = pl[i]};
    }
    assert_int_equal(sc_points_upsert(db, "c", pts, n), SC_OK);
    free(v);
    free(vin);
    free(pts);
    free(pl);
}

/* A store with the indexer held and an empty collection "c" of TQ_DIM2 under dist. */
static sc_db *tq_off_open(const char *dir, sc_distance dist) {
    setenv("SEMCODE_BG_HOLD", "1", 1);
    sc_db_options o = sc_db_options_default();
    o.background_index = true;
    sc_db *db = tu_db_open_ok(dir, &o);
    sc_vector_params vp = {.name = "", .dim = TQ_DIM2, .distance = dist};
    vp.hnsw.kind = SC_INDEX_KIND_HNSW;
    vp.hnsw.full_scan_threshold = 1;
    assert_int_equal(sc_collection_create(db, "c", &vp, 1), SC_OK);
    return db;
}

/* Search vector q (limit 10, filter optional) through the plan and exactly:
** the plan's hits must satisfy the filter and never be `gone`; returns
** the share of the exact top-10 found. */
static double tq_off_recall1(sc_db *db, const float *q, const char *filter, uint64_t gone_lo, uint64_t gone_hi) {
    sc_search_request req = {.query = q, .dim = TQ_DIM2, .limit = 10, .filter_json = filter};
    sc_record_list *a = NULL, *e = NULL;
    double r = tu_search_vs_exact(db, "c", &req, &a, &e);
    for (size_t y = 0; y < a->n; y++) {
        uint64_t id = a->items[y].id.num;
        if (id >= gone_lo && id < gone_hi) fail_msg("deleted point %llu was returned", (unsigned long long)id);
        if (filter) assert_true(id % 10 < 5);
    }
    sc_record_list_free(a);
    sc_record_list_free(e);
    return r;
}

/* Mean recall@10 of 40 queries near points of [0, n) (a point's vector
** moved by noise), with filter and deleted range [gone_lo, gone_hi). */
static double tq_off_recall(sc_db *db, uint64_t n, const char *filter, uint64_t gone_lo, uint64_t gone_hi) {
    double sum = 0;
    for (uint64_t i = 0; i < 40; i++) {
        float q[TQ_DIM2];
        tq_off_vector(i * 7717 % n, q);
        tu_rng r = {i + 4242};
        for (int d = 0; d < TQ_DIM2; d++) q[d] += 0.15f * tq_scale * tu_uniform(&r);
        sum += tq_off_recall1(db, q, filter, gone_lo, gone_hi);
    }
    return sum / 40;
}

/* Point id's own vector must come first with the exact score of the plan. */
static void tq_off_self(sc_db *db, uint64_t id) {
    float q[TQ_DIM2];
    tq_off_vector(id, q);
    sc_search_request req = {.query = q, .dim = TQ_DIM2, .limit = 1};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(db, "c", &req, &l), SC_OK);
    assert_true(l->n == 1);
    if (l->items[0].id.num != id)
        fail_msg("point %llu: top hit is %llu", (unsigned long long)id, (unsigned long long)l->items[0].id.num);
    sc_record_list_free(l);
}

static const char *tq_half = "{\"must\": [{\"key\": \"bucket\", \"range\": {\"lte\": 4}}]}";

/* 24,000 offset-clustered points in the tail (first written 1, 2 and 5 at
** a time, so the centre moves while codes exist): self-queries first,
** recall@10 >= 0.95 without and with a filter admitting half the rows
** (12,000 > 4,096: both go through the sign pass). */
static void tq_sign_pass(sc_distance dist) {
    char *dir = tu_tmpdir("tailqb");
    sc_db *db = tq_off_open(dir, dist);
    tq_off_put(db, 0, 1);
    tq_off_put(db, 1, 2);
    tq_off_put(db, 3, 5);
    for (uint64_t first = 8; first < 24000; first += 2000) tq_off_put(db, first, first + 2000 > 24000 ? 24000 - first : 2000);
    assert_int_equal(tu_index_info(db, "c").n_pending, 24000);
    for (uint64_t id = 0; id < 8; id++) tq_off_self(db, id);
    for (uint64_t id = 11; id < 24000; id += 613) tq_off_self(db, id);
    double r = tq_off_recall(db, 24000, NULL, 0, 0), rf = tq_off_recall(db, 24000, tq_half, 0, 0);
    print_message("sign pass: recall@10 %.3f, half admitted %.3f\n", r, rf);
    assert_true(r >= 0.95);
    assert_true(rf >= 0.95);
    tq_teardown(db, dir);
}

static void test_sign_pass_cosine(void **state) {
    (void)state;
    tq_sign_pass(SC_DISTANCE_COSINE);
}

static void test_sign_pass_euclid(void **state) {
    (void)state;
    tq_sign_pass(SC_DISTANCE_EUCLID);
}

/* Deletes and updates of tail rows under the sign pass: deleted points
** never come back; an updated point is found by its new vector, first,
** with the exact score (to the last bits of the kernels' summation order); recall against exact search stays >= 0.95. */
static void test_sign_pass_deletes_updates(void **state) {
    (void)state;
    char *dir = tu_tmpdir("tailqd");
    sc_db *db = tq_off_open(dir, SC_DISTANCE_COSINE);
    for (uint64_t first = 0; first < 20000; first += 4000) tq_off_put(db, first, 4000);
    sc_point_id *ids = calloc(3000, sizeof *ids);
    for (uint64_t i = 0; i < 3000; i++) ids[i] = sc_point_id_num(5000 + i);
    uint64_t n_del = 0;
    assert_int_equal(sc_points_delete(db, "c", ids, 3000, &n_del), SC_OK);
    assert_int_equal(n_del, 3000);
    free(ids);
    for (uint64_t id = 5000; id < 8000; id += 97) { /* its own vector: another point, never itself */
        float q[TQ_DIM2];
        tq_off_vector(id, q);
        assert_true(tq_off_recall1(db, q, NULL, 5000, 8000) >= 0.0);
    }
    /* updates: points 12,000..12,999 take the vectors of ids 900,000 + i */
    uint64_t saved = 12000;
    for (uint64_t i = 0; i < 1000; i += 250) {
        float v[250 * TQ_DIM2];
        sc_vector_in vin[250];
        sc_point_in pts[250];
        for (uint64_t j = 0; j < 250; j++) {
            tq_off_vector(900000 + i + j, v + j * TQ_DIM2);
            vin[j] = (sc_vector_in){"", v + j * TQ_DIM2, TQ_DIM2};
            pts[j] = (sc_point_in){.id = sc_point_id_num(saved + i + j), .vectors = &vin[j], .n_vectors = 1,
                                   .payload_json = "{\"bucket\": 1}"};
        }
        assert_int_equal(sc_points_upsert(db, "c", pts, 250), SC_OK);
    }
    for (uint64_t i = 0; i < 1000; i += 37) {
        float q[TQ_DIM2];
        tq_off_vector(900000 + i, q);
        sc_search_request req = {.query = q, .dim = TQ_DIM2, .limit = 3};
        sc_record_list *a = NULL, *e = NULL;
        (void)tu_search_vs_exact(db, "c", &req, &a, &e);
        assert_true(a->n >= 1 && e->n >= 1);
        assert_int_equal(a->items[0].id.num, saved + i);
        if (fabsf(a->items[0].score - e->items[0].score) > 1e-6f) /* kernels may sum in another order */
            fail_msg("update %llu: %llu %.9g vs exact %llu %.9g", (unsigned long long)i, (unsigned long long)a->items[0].id.num,
                     (double)a->items[0].score, (unsigned long long)e->items[0].id.num, (double)e->items[0].score);
        sc_record_list_free(a);
        sc_record_list_free(e);
    }
    double r = tq_off_recall(db, 5000, NULL, 5000, 8000);
    print_message("after deletes and updates: recall@10 %.3f\n", r);
    assert_true(r >= 0.95);
    tq_teardown(db, dir);
}

/* Rows written after tiny first rows are 10,000 times larger: with one
** scale from the first write they would all clip to +-127; with each row's
** own int8 unit recall@10 against exact search stays >= 0.95 (Euclid). */
static void test_int8_no_clipping(void **state) {
    (void)state;
    char *dir = tu_tmpdir("tailqk");
    sc_db *db = tq_off_open(dir, SC_DISTANCE_EUCLID);
    tq_scale = 0.01f;
    tq_off_put(db, 100000, 500);
    tq_scale = 100.0f;
    for (uint64_t first = 0; first < 16000; first += 4000) tq_off_put(db, first, 4000);
    for (uint64_t id = 5; id < 16000; id += 531) tq_off_self(db, id);
    double r = tq_off_recall(db, 16000, NULL, 0, 0);
    tq_scale = 1.0f;
    print_message("large rows after tiny ones: recall@10 %.3f\n", r);
    assert_true(r >= 0.95);
    tq_teardown(db, dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_tail_cosine),
        cmocka_unit_test(test_large_tail_euclid),
        cmocka_unit_test(test_small_tail_exact),
        cmocka_unit_test(test_catch_up),
        cmocka_unit_test(test_sign_pass_cosine),
        cmocka_unit_test(test_sign_pass_euclid),
        cmocka_unit_test(test_sign_pass_deletes_updates),
        cmocka_unit_test(test_int8_no_clipping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
