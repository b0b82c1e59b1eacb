/*
** Unit tests of fusion and the code-aware ranking stage
** (src/store/rank.c): RRF, DBSF and min-max recomputed by hand from their
** formulas; the ranking features of known candidates (identifier matches,
** per-field coverage with the collection's IDF, test / vendored paths,
** file coherence); scores equal to the weights' dot product; bad calls.
*/
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "semcode/rank.h"
#include "semcode/store.h"
#include "store_fixture.h"
#include "testutil.h"

static sc_point_id tr__id(uint64_t n) { return (sc_point_id){.kind = SC_ID_KIND_NUM, .num = n}; }

static double tr__score_of(const sc_fused *f, size_t n, uint64_t id) {
    for (size_t i = 0; i < n; i++)
        if (f[i].id.num == id) return f[i].score;
    return NAN;
}

static void test_fuse_rrf(void **state) {
    (void)state;
    sc_point_id a[3] = {tr__id(1), tr__id(2), tr__id(3)}, b[2] = {tr__id(3), tr__id(4)};
    sc_fuse_list l[2] = {{.ids = a, .n = 3, .weight = 1.0}, {.ids = b, .n = 2, .weight = 0.5}};
    sc_fused *f = NULL;
    size_t n = 0;
    assert_int_equal(sc_fuse(SC_FUSION_RRF, l, 2, 10, 1, &f, &n), SC_OK);
    assert_int_equal(n, 4);
    /* id 3: 1/(10+3) + 0.5/(10+1); id 1: 1/11; id 2: 1/12; id 4: 0.5/12 */
    assert_true(fabs(tr__score_of(f, n, 3) - (1.0 / 13 + 0.5 / 11)) < 1e-12);
    assert_true(fabs(tr__score_of(f, n, 1) - 1.0 / 11) < 1e-12);
    assert_true(fabs(tr__score_of(f, n, 4) - 0.5 / 12) < 1e-12);
    assert_int_equal(f[0].id.num, 3); /* best first */
    assert_int_equal(f[1].id.num, 1);
    assert_int_equal(f[3].id.num, 4);
    sc_free(f);
    /* ranks from 0 (Qdrant's API), k 2 */
    assert_int_equal(sc_fuse(SC_FUSION_RRF, l, 1, 2, 0, &f, &n), SC_OK);
    assert_true(fabs(tr__score_of(f, n, 1) - 0.5) < 1e-12);
    assert_true(fabs(tr__score_of(f, n, 3) - 0.25) < 1e-12);
    sc_free(f);
    /* Qdrant's weighted RRF: the weight divides the position: 1 / ((rank + 1) / w + k - 1) */
    sc_fuse_list w3 = l[0];
    w3.weight = 3;
    assert_int_equal(sc_fuse(SC_FUSION_RRF_POSITION, &w3, 1, 2, 0, &f, &n), SC_OK);
    assert_true(fabs(tr__score_of(f, n, 1) - 1.0 / (1.0 / 3 + 1)) < 1e-12);
    assert_true(fabs(tr__score_of(f, n, 2) - 1.0 / (2.0 / 3 + 1)) < 1e-12);
    sc_free(f);
    w3.weight = 1; /* weight 1: plain RRF */
    assert_int_equal(sc_fuse(SC_FUSION_RRF_POSITION, &w3, 1, 2, 0, &f, &n), SC_OK);
    assert_true(fabs(tr__score_of(f, n, 1) - 0.5) < 1e-12);
    sc_free(f);
    w3.weight = 0; /* nothing */
    assert_int_equal(sc_fuse(SC_FUSION_RRF_POSITION, &w3, 1, 2, 0, &f, &n), SC_OK);
    assert_true(fabs(tr__score_of(f, n, 1)) < 1e-12);
    sc_free(f);
}

static void test_fuse_dbsf_minmax(void **state) {
    (void)state;
    sc_point_id a[3] = {tr__id(1), tr__id(2), tr__id(3)}, b[2] = {tr__id(2), tr__id(9)};
    float sa[3] = {0.9f, 0.5f, 0.1f}, sb[2] = {10.0f, 4.0f};
    sc_fuse_list l[2] = {{.ids = a, .scores = sa, .n = 3, .weight = 1}, {.ids = b, .scores = sb, .n = 2, .weight = 1}};
    sc_fused *f = NULL;
    size_t n = 0;
    assert_int_equal(sc_fuse(SC_FUSION_DBSF, l, 2, 0, 0, &f, &n), SC_OK);
    /* Qdrant's DBSF: list a: mean 0.5, sample sd sqrt(((0.4)^2 + 0 + (0.4)^2)/2); (s - (mean - 3sd)) / 6sd */
    double ma = 0.5, sda = sqrt((0.16 + 0.16) / 2.0);
    double mb = 7, sdb = sqrt(18.0);
    double want2 = ((double)0.5f - (ma - 3 * sda)) / (6 * sda) + (10 - (mb - 3 * sdb)) / (6 * sdb);
    assert_true(fabs(tr__score_of(f, n, 2) - want2) < 1e-6);
    double want1 = ((double)0.9f - (ma - 3 * sda)) / (6 * sda);
    assert_true(fabs(tr__score_of(f, n, 1) - want1) < 1e-6);
    sc_free(f);
    l[0].weight = 0.25;
    l[1].weight = 0.75;
    assert_int_equal(sc_fuse(SC_FUSION_MINMAX, l, 2, 0, 0, &f, &n), SC_OK);
    assert_true(fabs(tr__score_of(f, n, 2) - (0.25 * 0.5 + 0.75 * 1.0)) < 1e-6);
    assert_true(fabs(tr__score_of(f, n, 3) - 0.0) < 1e-9);
    assert_true(fabs(tr__score_of(f, n, 9) - 0.0) < 1e-9);
    sc_free(f);
    /* a list of one point: 0.5 */
    l[1].n = 1;
    assert_int_equal(sc_fuse(SC_FUSION_DBSF, &l[1], 1, 0, 0, &f, &n), SC_OK);
    assert_true(n == 1 && fabs(f[0].score - 0.5) < 1e-9);
    sc_free(f);
    l[1].n = 2;
    /* scores are required by DBSF and min-max */
    l[0].scores = NULL;
    assert_int_equal(sc_fuse(SC_FUSION_DBSF, l, 2, 0, 0, &f, &n), SC_MISUSE);
}

/* A small collection with BM25 texts, so IDF is real. */
static sc_db *tr__db(char **dir) {
    *dir = tu_tmpdir("rank");
    sc_db *db = tu_db_open_normal(*dir);
    sc_vector_params v = {.name = "", .dim = 2, .distance = SC_DISTANCE_DOT};
    assert_int_equal(sc_collection_create(db, "c", &v, 1), SC_OK);
    const char *texts[] = {"parse config file", "read file lines", "write file", "config loader", "http request retry"};
    sc_point_in p[5];
    float vec[2] = {1, 0};
    sc_vector_in vi = {.name = "", .data = vec, .dim = 2};
    for (int i = 0; i < 5; i++) p[i] = (sc_point_in){.id = tr__id((uint64_t)i + 1), .vectors = &vi, .n_vectors = 1, .text = texts[i]};
    assert_int_equal(sc_points_upsert(db, "c", p, 5), SC_OK);
    return db;
}

static void test_rank_features(void **state) {
    (void)state;
    char *dir;
    sc_db *db = tr__db(&dir);
    const char *pay[4] = {
        "{\"path\":\"src/config.py\",\"kind\":\"function\",\"name\":\"parse_config\",\"qualified_name\":\"parse_config\","
        "\"signature\":\"def parse_config(path)\",\"doc\":\"Read the settings file.\",\"lines\":12}",
        "{\"path\":\"tests/test_config.py\",\"kind\":\"function\",\"name\":\"test_parse\",\"qualified_name\":\"test_parse\","
        "\"lines\":5}",
        "{\"path\":\"src/config.py\",\"kind\":\"class\",\"name\":\"Loader\",\"qualified_name\":\"Loader\",\"lines\":40}",
        "{\"path\":\"vendor/x/node_modules/y.js\",\"kind\":\"chunk\",\"name\":\"\",\"qualified_name\":\"\",\"lines\":3}",
    };
    sc_rank_cand c[4] = {
        {.payload_json = pay[0], .dense = 0.8f, .dense_rank = 1, .keyword = 4.0f, .keyword_rank = 2},
        {.payload_json = pay[1], .dense = 0.6f, .dense_rank = 2, .keyword = 5.0f, .keyword_rank = 1},
        {.payload_json = pay[2], .keyword = 1.0f, .keyword_rank = 3},
        {.payload_json = pay[3], .dense = 0.2f, .dense_rank = 3},
    };
    uint32_t nf = sc_rank_n_features();
    double sc[4];
    float *f = malloc(sizeof *f * nf * 4);
    assert_int_equal(sc_rank_code(db, "c", "parse config", c, 4, sc, f), SC_OK);
    uint32_t ix[SC_RANK_MAX_FEATURES];
    const char *want[] = {"dense", "dense_gap", "dense_rrf", "dense_missing", "kw_norm", "kw_rrf", "cov_name",
                          "cov_doc", "name_exact", "name_prec", "kind_type", "kind_chunk", "file_others",
                          "path_test", "path_vendor", "has_doc", "short_query", "mention_only", "cov_path"};
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        ix[k] = UINT32_MAX;
        for (uint32_t j = 0; j < nf; j++)
            if (!strcmp(sc_rank_feature_name(j), want[k])) ix[k] = j;
        assert_int_not_equal(ix[k], UINT32_MAX);
    }
#define F(i, k) f[(size_t)(i) * nf + ix[k]]
    assert_true(fabsf(F(0, 0) - 0.8f) < 1e-6f);
    assert_true(fabsf(F(1, 1) - (-0.2f)) < 1e-6f);           /* gap to the best cosine */
    assert_true(fabsf(F(0, 2) - 10.0f / 11.0f) < 1e-6f);     /* 10 / (10 + 1) */
    assert_true(F(2, 3) == 1.0f && F(0, 3) == 0.0f);         /* dense missing */
    assert_true(fabsf(F(0, 4) - 0.8f) < 1e-6f);              /* 4 / 5 */
    assert_true(fabsf(F(0, 5) - 10.0f / 12.0f) < 1e-6f);
    assert_true(fabsf(F(0, 6) - 1.0f) < 1e-6f);              /* both terms in the name */
    assert_true(F(0, 7) == 0.0f);                            /* doc says "settings", not config */
    assert_true(F(0, 8) == 1.0f && F(2, 8) == 0.0f);         /* "parse config" spells parse_config */
    assert_true(fabsf(F(0, 9) - 1.0f) < 1e-6f);
    assert_true(fabsf(F(1, 9) - 0.5f) < 1e-6f);              /* test_parse: one of two parts */
    assert_true(F(2, 10) == 1.0f && F(0, 10) == 0.0f);       /* class */
    assert_true(F(3, 11) == 1.0f);                           /* chunk */
    assert_true(fabsf(F(0, 12) - logf(2.0f)) < 1e-6f);       /* one other candidate in src/config.py */
    assert_true(F(1, 13) == 1.0f && F(0, 13) == 0.0f);       /* tests/ */
    assert_true(F(3, 14) == 1.0f && F(0, 14) == 0.0f);       /* vendored */
    assert_true(F(0, 15) == 1.0f && F(1, 15) == 0.0f);
    assert_true(F(0, 16) == 1.0f);                           /* two terms */
    assert_true(F(2, 17) == 0.0f);                           /* config in its path: not a mere mention */
    assert_true(F(0, 18) > 0.0f);                            /* config in the path */
    /* the score is the model's score of the features, and --explain's contributions add up to it */
    for (int i = 0; i < 4; i++) {
        assert_true(fabs(sc_rank_score(f + (size_t)i * nf) - sc[i]) < 1e-9);
        double contrib[SC_RANK_MAX_FEATURES], s = sc_rank_explain(f + (size_t)i * nf, contrib);
        for (uint32_t j = 0; j < nf; j++) s += contrib[j];
        assert_true(fabs(s - sc[i]) < 1e-9);
    }
    /* asking for tests turns the test-path penalty off */
    assert_int_equal(sc_rank_code(db, "c", "parse config tests", c, 4, sc, f), SC_OK);
    assert_true(F(1, 13) == 0.0f);
    assert_true(F(0, 16) == 0.0f); /* three terms */
#undef F
    /* candidates named by id read the payload stored with the point: the same features */
    float *g = malloc(sizeof *g * nf);
    sc_point_id id1 = tr__id(1);
    assert_int_equal(sc_payload_overwrite(db, "c", &(sc_selector){.ids = &id1, .n_ids = 1}, pay[0], NULL), SC_OK);
    sc_rank_cand byid = {.id = id1, .dense = 0.8f, .dense_rank = 1, .keyword = 4.0f, .keyword_rank = 2};
    double s1;
    assert_int_equal(sc_rank_code(db, "c", "parse config tests", c, 1, sc, f), SC_OK);
    assert_int_equal(sc_rank_code(db, "c", "parse config tests", &byid, 1, &s1, g), SC_OK);
    assert_memory_equal(f, g, sizeof *g * nf);
    assert_true(fabs(s1 - sc[0]) < 1e-12);
    free(g);
    /* usage features from the call graph: names it calls, names of its callers, fan-in */
    uint32_t ic = UINT32_MAX, ir = UINT32_MAX, ifan = UINT32_MAX, icc = UINT32_MAX;
    for (uint32_t j = 0; j < nf; j++) {
        if (!strcmp(sc_rank_feature_name(j), "cand_callers")) icc = j;
        if (!strcmp(sc_rank_feature_name(j), "cov_callees")) ic = j;
        if (!strcmp(sc_rank_feature_name(j), "cov_callers")) ir = j;
        if (!strcmp(sc_rank_feature_name(j), "log_fanin")) ifan = j;
    }
    assert_true(ic != UINT32_MAX && ir != UINT32_MAX && ifan != UINT32_MAX && icc != UINT32_MAX);
    sc_rank_cand u[2] = {
        {.payload_json = pay[2], .keyword = 1.0f, .keyword_rank = 1, .callees = "readFile parse_json",
         .callers = "loadConfig", .fanin = 3.0f},
        {.payload_json = pay[0], .keyword = 1.0f, .keyword_rank = 1, .callees = "open Loader"},
    };
    assert_int_equal(sc_rank_code(db, "c", "parse config", u, 2, sc, f), SC_OK);
    assert_true(f[ic] > 0.0f && f[ic] < 1.0f);              /* "parse" among the callees, "config" not */
    assert_true(f[ir] > 0.0f && f[ir] < 1.0f);              /* "config" in loadConfig */
    assert_true(fabsf(f[ic] + f[ir] - 1.0f) < 1e-6f);       /* the two terms' IDF shares */
    assert_true(fabsf(f[ifan] - logf(4.0f) / 4.0f) < 1e-6f);
    assert_true(f[nf + ic] == 0.0f && f[nf + ir] == 0.0f && f[nf + ifan] == 0.0f); /* no query term, no fan-in */
    assert_true(fabsf(f[icc] - logf(2.0f) / 2.0f) < 1e-6f); /* Loader is called by the other candidate */
    assert_true(f[nf + icc] == 0.0f);                      /* nobody calls parse_config */
    if (!sc_rank_uses_call_graph()) /* then searches may skip the graph: the weights must agree */
        assert_true(sc_rank_weight(ic) == 0 && sc_rank_weight(ir) == 0 && sc_rank_weight(ifan) == 0 &&
                    sc_rank_weight(icc) == 0);
    /* bad calls */
    assert_int_equal(sc_rank_code(db, "nope", "x", c, 4, sc, NULL), SC_NOTFOUND);
    assert_int_equal(sc_rank_code(db, "c", NULL, c, 4, sc, NULL), SC_MISUSE);
    assert_int_equal(sc_rank_code(db, "c", "anything", NULL, 0, sc, NULL), SC_OK);
    free(f);
    sc_db_close(db);
    tu_rmdir(dir);
}

static void test_rank_confidence(void **state) {
    (void)state;
    double t = sc_rank_confidence_threshold();
    assert_true(t >= 0 && t <= 1);
    /* a higher top score with the same lead over the runner-up is never less confident */
    assert_true(sc_rank_confidence(2.0, 1.0) >= sc_rank_confidence(1.0, 0.0));
    assert_false(isnan(sc_rank_confidence(1.0, NAN)));
    assert_null(sc_rank_feature_name(sc_rank_n_features()));
    assert_true(sc_rank_weight(sc_rank_n_features()) == 0.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuse_rrf),
        cmocka_unit_test(test_fuse_dbsf_minmax),
        cmocka_unit_test(test_rank_features),
        cmocka_unit_test(test_rank_confidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
