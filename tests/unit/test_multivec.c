/*
** Unit tests of multivectors in the store (issue 17) through the public
** API: MAX_SIM searches against a brute-force reference written from the
** definition (every distance, filters, thresholds, offsets, single-row
** queries), Qdrant's Euclid example worked by hand, records as given, the
** uint8 / float16 conversions, updates and deletes of vectors, bad input
** (rejected whole, nothing changed), persistence across reopen, the store
** format mark (4) and a damaged blob.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "semcode/semcode.h"
#include "testutil.h"

/* The fixture is testutil's tu_store (tu_store_setup / tu_store_teardown). */

#define MV_DIM 4

/* A collection with single vector "d" (dim 2, Dot) and multivector "m"
** (MV_DIM, distance d, datatype t). */
static void make_coll(sc_db *db, const char *name, sc_distance d, sc_vector_datatype t) {
    sc_vector_params vp[2] = {
        {.name = "d", .dim = 2, .distance = SC_DISTANCE_DOT},
        {.name = "m", .dim = MV_DIM, .distance = d, .multivec = SC_MULTIVEC_COMPARATOR_MAX_SIM, .datatype = t},
    };
    assert_int_equal(sc_collection_create(db, name, vp, 2), SC_OK);
}

/* Upsert point id with multivector "m" of rows × MV_DIM floats and a payload. */
static sc_status put_multi(sc_db *db, const char *coll, uint64_t id, const float *data, uint32_t rows,
                           const char *payload) {
    sc_multivec_in mi = {.name = "m", .data = data, .dim = MV_DIM, .n_rows = rows};
    sc_point_in p = {.id = sc_point_id_num(id), .payload_json = payload, .multivecs = &mi, .n_multivecs = 1};
    return sc_points_upsert(db, coll, &p, 1);
}

/* ==== Reference ==== */

/* Normalise n rows of MV_DIM floats in place (Cosine). */
static void ref_normalize(float *v, uint32_t n) {
    for (uint32_t r = 0; r < n; r++, v += MV_DIM) {
        double s = 0;
        for (int k = 0; k < MV_DIM; k++) s += (double)v[k] * (double)v[k];
        for (int k = 0; k < MV_DIM; k++) v[k] = (float)((double)v[k] / sqrt(s));
    }
}

/* MAX_SIM from its definition, in double, as the reported score. */
static double ref_score(sc_distance d, const float *q, uint32_t nq, const float *p, uint32_t np) {
    double sum = 0.0;
    static float qn[512 * MV_DIM], pn[512 * MV_DIM];
    memcpy(qn, q, sizeof(float) * nq * MV_DIM);
    memcpy(pn, p, sizeof(float) * np * MV_DIM);
    if (d == SC_DISTANCE_COSINE) {
        ref_normalize(qn, nq);
        ref_normalize(pn, np);
    }
    for (uint32_t i = 0; i < nq; i++) {
        double best = -INFINITY;
        for (uint32_t j = 0; j < np; j++) {
            double s = 0;
            for (int k = 0; k < MV_DIM; k++) {
                double a = (double)qn[i * MV_DIM + k], b = (double)pn[j * MV_DIM + k];
                s += d == SC_DISTANCE_EUCLID ? -(a - b) * (a - b) : d == SC_DISTANCE_MANHATTAN ? -fabs(a - b) : a * b;
            }
            if (s > best) best = s;
        }
        sum += best;
    }
    return d == SC_DISTANCE_EUCLID ? sqrt(fabs(sum)) : d == SC_DISTANCE_MANHATTAN ? fabs(sum) : sum;
}

/* ==== Tests ==== */

/* Random multivectors (1..6 rows) of 60 points, every distance: the
** store's hits are the reference's best ones, in order, with its scores;
** a filter, a threshold and an offset cut the same list. */
static void test_brute_force(void **state) {
    tu_store *f = *state;
    static const sc_distance dists[] = {SC_DISTANCE_DOT, SC_DISTANCE_COSINE, SC_DISTANCE_EUCLID, SC_DISTANCE_MANHATTAN};
    tu_rng r = {0x6d76};
    enum { N = 60 };
    for (size_t di = 0; di < 4; di++) {
        sc_distance d = dists[di];
        char name[16];
        snprintf(name, sizeof name, "c%zu", di);
        make_coll(f->db, name, d, SC_VECTOR_DATATYPE_FLOAT32);
        static float data[N][6 * MV_DIM];
        uint32_t rows[N];
        for (uint64_t i = 0; i < N; i++) {
            rows[i] = 1 + (uint32_t)(tu_next(&r) % 6);
            tu_fill(&r, data[i], rows[i] * MV_DIM);
            char payload[32];
            snprintf(payload, sizeof payload, "{\"even\": %s}", i % 2 ? "false" : "true");
            assert_int_equal(put_multi(f->db, name, i, data[i], rows[i], payload), SC_OK);
        }
        bool lower = d == SC_DISTANCE_EUCLID || d == SC_DISTANCE_MANHATTAN;
        for (int qi = 0; qi < 5; qi++) {
            float q[3 * MV_DIM];
            uint32_t nq = 1 + (uint32_t)qi % 3;
            tu_fill(&r, q, nq * MV_DIM);
            double ref[N];
            for (size_t i = 0; i < N; i++) ref[i] = ref_score(d, q, nq, data[i], rows[i]);
            /* the reference order: best first, ties by id */
            size_t order[N];
            for (size_t i = 0; i < N; i++) order[i] = i;
            for (size_t i = 1; i < N; i++)
                for (size_t j = i; j > 0 && (lower ? ref[order[j]] < ref[order[j - 1]] : ref[order[j]] > ref[order[j - 1]]);
                     j--) {
                    size_t t = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = t;
                }
            for (int variant = 0; variant < 3; variant++) {
                sc_search_request req = {.vector_name = "m", .query = q, .dim = MV_DIM, .n_rows = nq, .limit = 7};
                if (variant == 1) req.filter_json = "{\"must\": [{\"key\": \"even\", \"match\": {\"value\": true}}]}";
                if (variant == 2) req.offset = 3;
                sc_record_list *l = NULL;
                assert_int_equal(sc_points_search(f->db, name, &req, &l), SC_OK);
                size_t k = 0, skip = req.offset;
                for (size_t o = 0; o < N && k < l->n; o++) {
                    size_t i = order[o];
                    if (variant == 1 && i % 2) continue;
                    if (skip) {
                        skip--;
                        continue;
                    }
                    /* near-ties may swap: compare scores, ids only when clearly apart */
                    double got = l->items[k].score;
                    if (fabs(got - ref[i]) > 1e-4 * (1.0 + fabs(ref[i])))
                        fail_msg("%s query %d variant %d hit %zu: score %g, reference %g (id %zu)", name, qi, variant,
                                 k, got, ref[i], i);
                    k++;
                }
                assert_int_equal(k, l->n);
                assert_int_equal(l->n, 7);
                /* a threshold at the 4th score keeps 4 */
                if (variant == 0) {
                    req.has_threshold = true;
                    req.score_threshold = l->items[3].score;
                    sc_record_list *t = NULL;
                    assert_int_equal(sc_points_search(f->db, name, &req, &t), SC_OK);
                    assert_true(t->n >= 4 && t->n < 7);
                    sc_record_list_free(t);
                }
                sc_record_list_free(l);
            }
        }
    }
}

/* Rows beyond one scoring block (64 query rows, 256 point rows): the
** blocks add up to the reference, for a dot and a distance. */
static void test_many_rows(void **state) {
    tu_store *f = *state;
    static float p[300 * MV_DIM], q[70 * MV_DIM];
    tu_rng r = {77};
    tu_fill(&r, p, 300 * MV_DIM);
    tu_fill(&r, q, 70 * MV_DIM);
    static const sc_distance dists[] = {SC_DISTANCE_DOT, SC_DISTANCE_MANHATTAN};
    for (int di = 0; di < 2; di++) {
        const char *name = di ? "l1" : "dot";
        make_coll(f->db, name, dists[di], SC_VECTOR_DATATYPE_FLOAT32);
        assert_int_equal(put_multi(f->db, name, 1, p, 300, NULL), SC_OK);
        assert_int_equal(put_multi(f->db, name, 2, p + 10 * MV_DIM, 257, NULL), SC_OK);
        sc_search_request req = {.vector_name = "m", .query = q, .dim = MV_DIM, .n_rows = 70, .limit = 2};
        sc_record_list *l = NULL;
        assert_int_equal(sc_points_search(f->db, name, &req, &l), SC_OK);
        assert_int_equal(l->n, 2);
        for (size_t i = 0; i < 2; i++) {
            uint64_t id = l->items[i].id.num;
            double want = ref_score(dists[di], q, 70, id == 1 ? p : p + 10 * MV_DIM, id == 1 ? 300 : 257);
            if (fabs((double)l->items[i].score - want) > 1e-4 * (1.0 + fabs(want)))
                fail_msg("%s point %llu: %g, reference %g", name, (unsigned long long)id, (double)l->items[i].score, want);
        }
        sc_record_list_free(l);
    }
}

/* Qdrant's test_multi_with_euclidean, by hand: scores 0 and sqrt(19). */
static void test_euclid_by_hand(void **state) {
    tu_store *f = *state;
    sc_vector_params vp = {.name = "m", .dim = 3, .distance = SC_DISTANCE_EUCLID,
                           .multivec = SC_MULTIVEC_COMPARATOR_MAX_SIM};
    assert_int_equal(sc_collection_create(f->db, "e", &vp, 1), SC_OK);
    float p1[] = {1, 2, 3, 3, 3, 3, 4, 5, 6}, p2[] = {3, 3, 3, 4, 2, 1};
    sc_multivec_in m1 = {"m", p1, 3, 3}, m2 = {"m", p2, 3, 2};
    sc_point_in pts[2] = {{.id = sc_point_id_num(1), .multivecs = &m1, .n_multivecs = 1},
                          {.id = sc_point_id_num(2), .multivecs = &m2, .n_multivecs = 1}};
    assert_int_equal(sc_points_upsert(f->db, "e", pts, 2), SC_OK);
    sc_search_request req = {.vector_name = "m", .query = p1, .dim = 3, .n_rows = 3, .limit = 10};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(f->db, "e", &req, &l), SC_OK);
    assert_int_equal(l->n, 2);
    assert_int_equal(l->items[0].id.num, 1);
    assert_true(l->items[0].score == 0.0f);
    assert_int_equal(l->items[1].id.num, 2);
    assert_true(l->items[1].score == sqrtf(19.0f));
    sc_record_list_free(l);
    /* a single vector queries as one row: [3,3,3] is in both */
    sc_search_request one = {.vector_name = "m", .query = p2, .dim = 3, .limit = 10};
    assert_int_equal(sc_points_search(f->db, "e", &one, &l), SC_OK);
    assert_int_equal(l->n, 2);
    assert_true(l->items[0].score == 0.0f && l->items[1].score == 0.0f);
    sc_record_list_free(l);
}

/* Records give the rows as stored; datatypes convert on upsert. */
static void test_records_and_datatypes(void **state) {
    tu_store *f = *state;
    make_coll(f->db, "u8", SC_DISTANCE_DOT, SC_VECTOR_DATATYPE_UINT8);
    make_coll(f->db, "f16", SC_DISTANCE_DOT, SC_VECTOR_DATATYPE_FLOAT16);
    float v[] = {256.19f, 1.81f, 2.75f, -3.11f, 0.1f, 65519.0f, 1e-8f, 1.0f / 3.0f};
    assert_int_equal(put_multi(f->db, "u8", 1, v, 2, NULL), SC_OK);
    assert_int_equal(put_multi(f->db, "f16", 1, v + 4, 1, NULL), SC_OK);
    sc_with with = {.vectors = true};
    sc_point_id id = sc_point_id_num(1);
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_get(f->db, "u8", &id, 1, &with, &l), SC_OK);
    assert_int_equal(l->items[0].n_vectors, 1);
    assert_string_equal(l->items[0].vector_names[0], "m");
    assert_int_equal(l->items[0].vector_rows[0], 2);
    static const float want_u8[] = {255, 1, 2, 0, 0, 255, 0, 0};
    for (int k = 0; k < 8; k++) assert_true(l->items[0].vectors[0][k] == want_u8[k]);
    sc_record_list_free(l);
    assert_int_equal(sc_points_get(f->db, "f16", &id, 1, &with, &l), SC_OK);
    assert_int_equal(l->items[0].vector_rows[0], 1);
    const float *g = l->items[0].vectors[0];
    assert_true(g[0] == 0.0999755859375f); /* the nearest half of 0.1 */
    assert_true(g[1] == 65504.0f);          /* 65519 rounds down to the largest half */
    assert_true(g[2] == 0.0f);              /* below half the smallest subnormal half */
    assert_true(g[3] == 0.333251953125f);
    sc_record_list_free(l);
    float big[MV_DIM] = {70000.0f, 0, 0, 0};
    assert_int_equal(put_multi(f->db, "f16", 2, big, 1, NULL), SC_INVALID);
    tu_assert_msg_has(f->db, "float16 range");
    /* a single vector keeps rows 0 */
    float dv[2] = {1, 2};
    sc_vector_in vi = {"d", dv, 2};
    sc_point_in p = {.id = sc_point_id_num(3), .vectors = &vi, .n_vectors = 1};
    assert_int_equal(sc_points_upsert(f->db, "u8", &p, 1), SC_OK);
    id = sc_point_id_num(3);
    assert_int_equal(sc_points_get(f->db, "u8", &id, 1, &with, &l), SC_OK);
    assert_int_equal(l->items[0].vector_rows[0], 0);
    sc_record_list_free(l);
}

/* Update and delete of vectors keep the other vectors; deletes free rows. */
static void test_update_delete_vectors(void **state) {
    tu_store *f = *state;
    make_coll(f->db, "c", SC_DISTANCE_DOT, SC_VECTOR_DATATYPE_FLOAT32);
    float a[2 * MV_DIM] = {1, 0, 0, 0, 0, 1, 0, 0}, b[MV_DIM] = {0, 0, 1, 0}, dv[2] = {5, 6};
    sc_multivec_in mi = {"m", a, MV_DIM, 2};
    sc_vector_in vi = {"d", dv, 2};
    sc_point_in p = {.id = sc_point_id_num(1), .vectors = &vi, .n_vectors = 1, .multivecs = &mi, .n_multivecs = 1};
    assert_int_equal(sc_points_upsert(f->db, "c", &p, 1), SC_OK);
    /* update m only: d stays */
    sc_multivec_in mb = {"m", b, MV_DIM, 1};
    sc_point_in u = {.id = sc_point_id_num(1), .multivecs = &mb, .n_multivecs = 1};
    assert_int_equal(sc_points_update_vectors(f->db, "c", &u, 1), SC_OK);
    sc_with with = {.vectors = true};
    sc_point_id id = sc_point_id_num(1);
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_get(f->db, "c", &id, 1, &with, &l), SC_OK);
    assert_int_equal(l->items[0].n_vectors, 2);
    assert_int_equal(l->items[0].vector_rows[1], 1);
    assert_true(l->items[0].vectors[1][2] == 1.0f);
    assert_true(l->items[0].vectors[0][0] == 5.0f);
    sc_record_list_free(l);
    /* update d only: m stays (and survives a reopen) */
    float dv2[2] = {7, 8};
    sc_vector_in vi2 = {"d", dv2, 2};
    sc_point_in u2 = {.id = sc_point_id_num(1), .vectors = &vi2, .n_vectors = 1};
    assert_int_equal(sc_points_update_vectors(f->db, "c", &u2, 1), SC_OK);
    assert_int_equal(tu_store_reopen(f), SC_OK);
    assert_int_equal(sc_points_get(f->db, "c", &id, 1, &with, &l), SC_OK);
    assert_int_equal(l->items[0].n_vectors, 2);
    assert_true(l->items[0].vectors[0][0] == 7.0f && l->items[0].vectors[1][2] == 1.0f);
    sc_record_list_free(l);
    /* delete m */
    const char *names[] = {"m"};
    sc_selector sel = {.ids = &id, .n_ids = 1};
    uint64_t n = 0;
    assert_int_equal(sc_points_delete_vectors(f->db, "c", &sel, names, 1, &n), SC_OK);
    assert_int_equal(n, 1);
    uint64_t cnt = 0;
    assert_int_equal(sc_points_count(f->db, "c", "{\"must\": [{\"has_vector\": \"m\"}]}", &cnt), SC_OK);
    assert_int_equal(cnt, 0);
    sc_search_request req = {.vector_name = "m", .query = b, .dim = MV_DIM, .limit = 5};
    assert_int_equal(sc_points_search(f->db, "c", &req, &l), SC_OK);
    assert_int_equal(l->n, 0);
    sc_record_list_free(l);
}

/* Bad input is refused whole and names what was wrong. */
static void test_bad_input(void **state) {
    tu_store *f = *state;
    make_coll(f->db, "c", SC_DISTANCE_COSINE, SC_VECTOR_DATATYPE_FLOAT32);
    float ok[MV_DIM] = {1, 2, 3, 4}, nan_row[2 * MV_DIM] = {1, 2, 3, 4, 1, NAN, 3, 4};
    assert_int_equal(put_multi(f->db, "c", 1, nan_row, 2, NULL), SC_INVALID);
    tu_assert_msg_has(f->db, "row 1 component 1 is NaN");
    sc_multivec_in wrong = {"m", ok, 3, 1};
    sc_point_in p = {.id = sc_point_id_num(2), .multivecs = &wrong, .n_multivecs = 1};
    assert_int_equal(sc_points_upsert(f->db, "c", &p, 1), SC_INVALID);
    tu_assert_msg_has(f->db, "Vector dimension error: expected dim: 4, got 3");
    sc_multivec_in on_single = {"d", ok, 2, 2};
    p.multivecs = &on_single;
    assert_int_equal(sc_points_upsert(f->db, "c", &p, 1), SC_INVALID);
    tu_assert_msg_has(f->db, "not a multivector");
    sc_multivec_in none = {"m", ok, MV_DIM, 0};
    p.multivecs = &none;
    assert_int_equal(sc_points_upsert(f->db, "c", &p, 1), SC_INVALID);
    uint64_t cnt = 1;
    assert_int_equal(sc_points_count(f->db, "c", NULL, &cnt), SC_OK);
    assert_int_equal(cnt, 0);
    /* queries: rows of the wrong dimension, several rows for a single vector, a batch */
    assert_int_equal(put_multi(f->db, "c", 1, ok, 1, NULL), SC_OK);
    sc_search_request req = {.vector_name = "m", .query = ok, .dim = 3, .limit = 5};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(f->db, "c", &req, &l), SC_INVALID);
    tu_assert_msg_has(f->db, "expected dim: 4, got 3");
    sc_search_request multi_on_single = {.vector_name = "d", .query = ok, .dim = 2, .n_rows = 2, .limit = 5};
    assert_int_equal(sc_points_search(f->db, "c", &multi_on_single, &l), SC_INVALID);
    tu_assert_msg_has(f->db, "not a multivector");
    sc_search_request batch = {.vector_name = "m", .dim = MV_DIM, .limit = 5};
    sc_record_list *out[1] = {NULL};
    assert_int_equal(sc_points_search_batch(f->db, "c", &batch, ok, 1, out), SC_INVALID);
    /* a datatype or comparator out of range */
    sc_vector_params bad = {.name = "x", .dim = 2, .multivec = (sc_multivec_comparator)7};
    assert_int_equal(sc_collection_create(f->db, "bad", &bad, 1), SC_INVALID);
    tu_assert_msg_has(f->db, "multivector_config");
}

/* The first multivector collection marks the store format 4; everything
** survives a reopen; a damaged blob is SC_CORRUPT naming the point. */
static void test_persistence_and_format(void **state) {
    tu_store *f = *state;
    sc_vector_params plain = {.name = "", .dim = 2, .distance = SC_DISTANCE_DOT};
    assert_int_equal(sc_collection_create(f->db, "plain", &plain, 1), SC_OK);
    char *v = tu_store_format(f->dir);
    assert_string_equal(v, "2");
    free(v);
    make_coll(f->db, "c", SC_DISTANCE_MANHATTAN, SC_VECTOR_DATATYPE_UINT8);
    v = tu_store_format(f->dir);
    assert_string_equal(v, "4");
    free(v);
    float a[3 * MV_DIM] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    assert_int_equal(put_multi(f->db, "c", 9, a, 3, "{\"k\": 1}"), SC_OK);
    assert_int_equal(tu_store_reopen(f), SC_OK);
    sc_collection_info info;
    assert_int_equal(sc_collection_info_get(f->db, "c", &info), SC_OK);
    assert_int_equal(info.vectors[1].multivec, SC_MULTIVEC_COMPARATOR_MAX_SIM);
    assert_int_equal(info.vectors[1].datatype, SC_VECTOR_DATATYPE_UINT8);
    assert_int_equal(info.vectors[0].multivec, SC_MULTIVEC_COMPARATOR_NONE);
    assert_int_equal(info.n_points, 1);
    sc_collection_info_free(&info);
    sc_search_request req = {.vector_name = "m", .query = a + 4, .dim = MV_DIM, .limit = 5};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(f->db, "c", &req, &l), SC_OK);
    assert_int_equal(l->n, 1);
    assert_true(l->items[0].score == 0.0f);
    sc_record_list_free(l);
    /* the sparse column came with format 4: a sparse collection works too */
    sc_sparse_params sp = {.name = "s"};
    sc_collection_params cp = {.sparse = &sp, .n_sparse = 1};
    assert_int_equal(sc_collection_create_ex(f->db, "sp", &cp), SC_OK);
    v = tu_store_format(f->dir);
    assert_string_equal(v, "4");
    free(v);
    /* damage the row count of the blob */
    sc_db_close(f->db);
    f->db = NULL;
    assert_int_equal(tu_store_sql(f->dir, "UPDATE points SET vectors = substr(vectors, 1, 16) || x'ff' || "
                                          "substr(vectors, 18) WHERE length(vectors) > 40"),
                     0);
    char err[512];
    assert_int_equal(tu_db_open(f->dir, NULL, &f->db, err, sizeof err), SC_CORRUPT);
    assert_non_null(strstr(err, "point 9"));
    assert_int_equal(tu_store_fresh(f), SC_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_brute_force, tu_store_setup, tu_store_teardown),
        cmocka_unit_test_setup_teardown(test_many_rows, tu_store_setup, tu_store_teardown),
        cmocka_unit_test_setup_teardown(test_euclid_by_hand, tu_store_setup, tu_store_teardown),
        cmocka_unit_test_setup_teardown(test_records_and_datatypes, tu_store_setup, tu_store_teardown),
        cmocka_unit_test_setup_teardown(test_update_delete_vectors, tu_store_setup, tu_store_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_store_setup, tu_store_teardown),
        cmocka_unit_test_setup_teardown(test_persistence_and_format, tu_store_setup, tu_store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
