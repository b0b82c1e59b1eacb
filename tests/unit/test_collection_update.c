/*
** Unit tests of sc_collection_update through the public API: ef applies at
** once, m / ef_construct / quantization rebuild the graph (memory changes,
** recall holds against exact search), kind FLAT drops the graph and a lower
** full_scan_threshold builds one, every change survives a reopen, and a
** request with any bad part (unknown vector, value out of range, a vector
** named twice) changes nothing, on disk or in memory.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "semcode/semcode.h"
#include "store_fixture.h"
#include "testutil.h"

#define CU_DIM 24
#define CU_N 2000

/* Upsert CU_N random points into vectors "a" (and "b" when two). */
static void cu_fill(sc_db *db, const char *coll, bool two) {
    float *v = malloc(sizeof(float) * CU_DIM * CU_N * 2);
    sc_vector_in *vin = calloc(CU_N * 2, sizeof *vin);
    sc_point_in *pts = calloc(CU_N, sizeof *pts);
    tu_rng r = {42};
    tu_fill(&r, v, CU_DIM * CU_N * 2);
    for (size_t i = 0; i < CU_N; i++) {
        vin[2 * i] = (sc_vector_in){.name = "a", .data = v + 2 * i * CU_DIM, .dim = CU_DIM};
        vin[2 * i + 1] = (sc_vector_in){.name = "b", .data = v + (2 * i + 1) * CU_DIM, .dim = CU_DIM};
        pts[i] = (sc_point_in){.id = sc_point_id_num(i + 1), .vectors = &vin[2 * i], .n_vectors = two ? 2 : 1};
    }
    assert_int_equal(sc_points_upsert(db, coll, pts, CU_N), SC_OK);
    free(v);
    free(vin);
    free(pts);
}

static void cu_create(sc_db *db, const char *coll, bool two, sc_index_kind kind, uint32_t m, uint32_t threshold) {
    sc_vector_params vp[2] = {
        {.name = "a", .dim = CU_DIM, .distance = SC_DISTANCE_COSINE,
         .hnsw = {.kind = kind, .m = m, .ef_construct = 32, .full_scan_threshold = threshold}},
        {.name = "b", .dim = CU_DIM, .distance = SC_DISTANCE_DOT, .hnsw = {.kind = kind, .m = m}},
    };
    assert_int_equal(sc_collection_create(db, coll, vp, two ? 2 : 1), SC_OK);
    cu_fill(db, coll, two);
}

/* Parameters and index state of vector v. */
static void cu_info(sc_db *db, const char *coll, size_t v, sc_vector_params *p, sc_vector_index_info *x) {
    sc_collection_info info;
    assert_int_equal(sc_collection_info_get(db, coll, &info), SC_OK);
    assert_true(v < info.n_vector_params);
    if (p) {
        *p = info.vectors[v];
        p->name = NULL; /* owned by info */
    }
    if (x) *x = info.vector_index[v];
    sc_collection_info_free(&info);
}

/* Recall@10 of the default search against exact search on vector "a". */
static double cu_recall(sc_db *db, const char *coll) {
    tu_rng r = {7};
    double sum = 0;
    for (int q = 0; q < 30; q++) {
        float v[CU_DIM];
        tu_fill(&r, v, CU_DIM);
        sc_search_request req = {.vector_name = "a", .query = v, .dim = CU_DIM, .limit = 10};
        sc_record_list *a = NULL, *e = NULL;
        sum += tu_search_vs_exact(db, coll, &req, &a, &e);
        assert_true(e->n > 0); /* an empty answer (recall 1.0 to the helper) is a failure here */
        sc_record_list_free(a);
        sc_record_list_free(e);
    }
    return sum / 30;
}

static void test_update_rebuilds_and_persists(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cupd");
    sc_db *db = tu_db_open_ok(dir, NULL);
    cu_create(db, "c", false, SC_INDEX_KIND_HNSW, 4, 0);
    sc_vector_params p;
    sc_vector_index_info x0, x1;
    cu_info(db, "c", 0, &p, &x0);
    assert_true(x0.hnsw_built);
    assert_int_equal(p.hnsw.m, 4);

    sc_vector_update u = {.name = "a", .fields = SC_VECTOR_UPDATE_M | SC_VECTOR_UPDATE_EF_CONSTRUCT | SC_VECTOR_UPDATE_EF,
                          .hnsw = {.m = 32, .ef_construct = 200, .ef = 150}};
    assert_int_equal(sc_collection_update(db, "c", &u, 1), SC_OK);
    cu_info(db, "c", 0, &p, &x1);
    assert_int_equal(p.hnsw.m, 32);
    assert_int_equal(p.hnsw.ef_construct, 200);
    assert_int_equal(p.hnsw.ef, 150);
    assert_true(x1.hnsw_built);
    assert_int_equal(x1.n_indexed, CU_N);
    assert_true(x1.index_bytes > x0.index_bytes); /* a graph with 8x the links: it was rebuilt */
    assert_true(cu_recall(db, "c") >= 0.95);
    char graph[512];
    snprintf(graph, sizeof graph, "%s/hnsw", dir);
    struct stat sb;
    assert_int_equal(stat(graph, &sb), 0); /* the rebuilt graph was saved */

    /* ef alone: no rebuild, same graph */
    u = (sc_vector_update){.name = "a", .fields = SC_VECTOR_UPDATE_EF, .hnsw = {.ef = 300}};
    assert_int_equal(sc_collection_update(db, "c", &u, 1), SC_OK);
    sc_vector_index_info x2;
    cu_info(db, "c", 0, &p, &x2);
    assert_int_equal(p.hnsw.ef, 300);
    assert_int_equal(p.hnsw.m, 32);
    assert_int_equal(x2.index_bytes, x1.index_bytes);

    /* everything survives a reopen, and the saved graph is the new one */
    sc_db_close(db);
    db = tu_db_open_ok(dir, NULL);
    sc_vector_index_info x3;
    cu_info(db, "c", 0, &p, &x3);
    assert_int_equal(p.hnsw.m, 32);
    assert_int_equal(p.hnsw.ef_construct, 200);
    assert_int_equal(p.hnsw.ef, 300);
    assert_true(x3.hnsw_built);
    assert_int_equal(x3.index_bytes, x1.index_bytes);
    assert_true(cu_recall(db, "c") >= 0.95);
    sc_db_close(db);
    tu_rmdir(dir);
}

static void test_update_quantization_and_kind(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cupd");
    sc_db *db = tu_db_open_ok(dir, NULL);
    cu_create(db, "c", false, SC_INDEX_KIND_AUTO, 16, 100000);
    sc_vector_params p;
    sc_vector_index_info x;
    cu_info(db, "c", 0, &p, &x);
    assert_false(x.hnsw_built); /* 2,000 vectors, threshold 100,000: exact */

    /* a lower threshold builds the graph */
    sc_vector_update u = {.name = "a", .fields = SC_VECTOR_UPDATE_FULL_SCAN_THRESHOLD, .hnsw = {.full_scan_threshold = 500}};
    assert_int_equal(sc_collection_update(db, "c", &u, 1), SC_OK);
    cu_info(db, "c", 0, &p, &x);
    assert_int_equal(p.hnsw.full_scan_threshold, 500);
    assert_true(x.hnsw_built);
    assert_true(x.code_bytes_per_vector == 0.0);

    /* int8 quantization: the graph is rebuilt with codes */
    u = (sc_vector_update){.name = "a", .fields = SC_VECTOR_UPDATE_QUANT, .quant = {.kind = SC_QUANT_KIND_INT8}};
    assert_int_equal(sc_collection_update(db, "c", &u, 1), SC_OK);
    cu_info(db, "c", 0, &p, &x);
    assert_int_equal(p.quant.kind, SC_QUANT_KIND_INT8);
    assert_true(x.hnsw_built);
    assert_true(x.code_bytes_per_vector > 0.0);
    assert_true(cu_recall(db, "c") >= 0.9);
    sc_db_close(db);
    db = tu_db_open_ok(dir, NULL);
    cu_info(db, "c", 0, &p, &x);
    assert_int_equal(p.quant.kind, SC_QUANT_KIND_INT8);
    assert_true(x.code_bytes_per_vector > 0.0);

    /* kind FLAT drops the graph; searches stay exact and right */
    u = (sc_vector_update){.name = "a", .fields = SC_VECTOR_UPDATE_KIND | SC_VECTOR_UPDATE_QUANT,
                           .hnsw = {.kind = SC_INDEX_KIND_FLAT}, .quant = {.kind = SC_QUANT_KIND_NONE}};
    assert_int_equal(sc_collection_update(db, "c", &u, 1), SC_OK);
    cu_info(db, "c", 0, &p, &x);
    assert_int_equal(p.hnsw.kind, SC_INDEX_KIND_FLAT);
    assert_int_equal(p.quant.kind, SC_QUANT_KIND_NONE);
    assert_false(x.hnsw_built);
    assert_true(cu_recall(db, "c") == 1.0);
    sc_db_close(db);
    db = tu_db_open_ok(dir, NULL);
    cu_info(db, "c", 0, &p, &x);
    assert_int_equal(p.hnsw.kind, SC_INDEX_KIND_FLAT);
    assert_false(x.hnsw_built);

    /* and back */
    u = (sc_vector_update){.name = "a", .fields = SC_VECTOR_UPDATE_KIND, .hnsw = {.kind = SC_INDEX_KIND_AUTO}};
    assert_int_equal(sc_collection_update(db, "c", &u, 1), SC_OK);
    cu_info(db, "c", 0, &p, &x);
    assert_true(x.hnsw_built);
    assert_int_equal(x.n_indexed, CU_N);
    sc_db_close(db);
    tu_rmdir(dir);
}

static void test_update_all_or_nothing(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cupd");
    sc_db *db = tu_db_open_ok(dir, NULL);
    cu_create(db, "c", true, SC_INDEX_KIND_HNSW, 8, 0);
    sc_vector_index_info before;
    cu_info(db, "c", 0, NULL, &before);

    sc_vector_update two[2] = {
        {.name = "a", .fields = SC_VECTOR_UPDATE_M | SC_VECTOR_UPDATE_EF, .hnsw = {.m = 24, .ef = 99}},
        {.name = "nope", .fields = SC_VECTOR_UPDATE_EF, .hnsw = {.ef = 10}},
    };
    assert_int_equal(sc_collection_update(db, "c", two, 2), SC_NOTFOUND);
    assert_non_null(strstr(sc_db_errmsg(db), "no vector named `nope`"));
    two[1] = (sc_vector_update){.name = "b", .fields = SC_VECTOR_UPDATE_M, .hnsw = {.m = 1}};
    assert_int_equal(sc_collection_update(db, "c", two, 2), SC_INVALID);
    assert_non_null(strstr(sc_db_errmsg(db), "hnsw_config.m"));
    two[1] = (sc_vector_update){.name = "b", .fields = SC_VECTOR_UPDATE_QUANT, .quant = {.kind = SC_QUANT_KIND_INT8, .quantile = 0.2f}};
    assert_int_equal(sc_collection_update(db, "c", two, 2), SC_INVALID);
    assert_non_null(strstr(sc_db_errmsg(db), "quantile"));
    two[1] = two[0];
    assert_int_equal(sc_collection_update(db, "c", two, 2), SC_INVALID);
    assert_non_null(strstr(sc_db_errmsg(db), "updated twice"));
    assert_int_equal(sc_collection_update(db, "missing", two, 1), SC_NOTFOUND);

    for (int round = 0; round < 2; round++) { /* unchanged in memory, then on disk */
        sc_vector_params p;
        sc_vector_index_info x;
        cu_info(db, "c", 0, &p, &x);
        assert_int_equal(p.hnsw.m, 8);
        assert_int_equal(p.hnsw.ef, 64);
        assert_true(x.hnsw_built);
        assert_int_equal(x.index_bytes, before.index_bytes);
        cu_info(db, "c", 1, &p, NULL);
        assert_int_equal(p.hnsw.m, 8);
        assert_int_equal(p.quant.kind, SC_QUANT_KIND_NONE);
        sc_db_close(db);
        db = tu_db_open_ok(dir, NULL);
    }

    /* both vectors in one call: both change */
    two[1] = (sc_vector_update){.name = "b", .fields = SC_VECTOR_UPDATE_M, .hnsw = {.m = 12}};
    assert_int_equal(sc_collection_update(db, "c", two, 2), SC_OK);
    sc_vector_params pa, pb;
    cu_info(db, "c", 0, &pa, NULL);
    cu_info(db, "c", 1, &pb, NULL);
    assert_int_equal(pa.hnsw.m, 24);
    assert_int_equal(pa.hnsw.ef, 99);
    assert_int_equal(pb.hnsw.m, 12);
    sc_db_close(db);
    tu_rmdir(dir);
}

/* Named vectors added and deleted on a collection with points and graphs:
** the other vectors keep their values and graphs (searches still match
** exact search), the new one starts empty and takes values, a deleted one
** is gone from every point; all of it survives a reopen. */
static void test_vector_create_delete(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cu_names");
    sc_db *db = tu_db_open_ok(dir, NULL);
    cu_create(db, "c", true, SC_INDEX_KIND_HNSW, 12, 0);
    sc_vector_params nv = {.name = "new", .dim = 3, .distance = SC_DISTANCE_EUCLID};
    assert_int_equal(sc_collection_vector_create(db, "c", &nv), SC_OK);
    assert_int_equal(sc_collection_vector_create(db, "c", &nv), SC_EXISTS);
    nv.name = "a";
    assert_int_equal(sc_collection_vector_create(db, "c", &nv), SC_EXISTS);
    nv.name = "zero";
    nv.dim = 0;
    assert_int_equal(sc_collection_vector_create(db, "c", &nv), SC_INVALID);
    /* "a" goes: "b" moves to position 0 with its graph */
    assert_int_equal(sc_collection_vector_delete(db, "c", "a"), SC_OK);
    assert_int_equal(sc_collection_vector_delete(db, "c", "a"), SC_NOTFOUND);
    for (int round = 0; round < 2; round++) {
        sc_collection_info info;
        assert_int_equal(sc_collection_info_get(db, "c", &info), SC_OK);
        assert_int_equal(info.n_vector_params, 2);
        assert_string_equal(info.vectors[0].name, "b");
        assert_string_equal(info.vectors[1].name, "new");
        assert_true(info.vector_index[0].hnsw_built);
        assert_int_equal(info.vector_index[0].n_vectors, CU_N);
        assert_int_equal(info.vector_index[1].n_vectors, round); /* point 1 got one before the reopen */
        sc_collection_info_free(&info);
        sc_point_id id = sc_point_id_num(1);
        sc_with w = {.vectors = true};
        sc_record_list *l = NULL;
        assert_int_equal(sc_points_get(db, "c", &id, 1, &w, &l), SC_OK);
        assert_int_equal(l->items[0].n_vectors, 1 + (size_t)round);
        assert_string_equal(l->items[0].vector_names[0], "b");
        sc_record_list_free(l);
        float q[CU_DIM] = {1, 0.5f, -0.25f};
        sc_search_request req = {.vector_name = "b", .query = q, .dim = CU_DIM, .limit = 5};
        sc_record_list *a = NULL, *e = NULL;
        (void)tu_search_vs_exact(db, "c", &req, &a, &e);
        assert_int_equal(sc_point_id_cmp(&a->items[0].id, &e->items[0].id), 0);
        sc_record_list_free(a);
        sc_record_list_free(e);
        if (round == 0) {
            float v3[3] = {1, 2, 3};
            sc_vector_in vin = {.name = "new", .data = v3, .dim = 3};
            sc_point_in p = {.id = sc_point_id_num(1), .vectors = &vin, .n_vectors = 1};
            assert_int_equal(sc_points_update_vectors(db, "c", &p, 1), SC_OK);
            sc_db_close(db);
            db = tu_db_open_ok(dir, NULL);
        }
    }
    assert_int_equal(sc_collection_vector_delete(db, "c", "new"), SC_OK);
    assert_int_equal(sc_collection_vector_delete(db, "c", "b"), SC_INVALID); /* the only one left */
    sc_db_close(db);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_rebuilds_and_persists),
        cmocka_unit_test(test_update_quantization_and_kind),
        cmocka_unit_test(test_update_all_or_nothing),
        cmocka_unit_test(test_vector_create_delete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
