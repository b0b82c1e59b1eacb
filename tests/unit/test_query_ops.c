/*
** Unit tests of the query API's scoring pieces and conditional writes:
** formula evaluation (server/formula.c) against hand-computed values and
** Qdrant's documented definitions (decays reach their midpoint at
** |x − target| = scale, haversine metres, datetimes as epoch seconds,
** defaults, errors for missing values and non-finite results), maximal
** marginal relevance (server/mmr.c) on vectors whose
** answer is known, and the store's conditional upserts (update_mode,
** update_filter) through the public API.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "semcode/semcode.h"
#include "server/query_int.h"
#include "testutil.h"

/* ==== Formula ==== */

/* Parse formula text (a FormulaQuery object) or fail the test. */
static server_formula *parse_ok(const char *text) {
    json_t *q = json_loads(text, 0, NULL);
    assert_non_null(q);
    server_call call = {0};
    server_formula *f = NULL;
    if (!server_formula_parse(&call, q, &f)) fail_msg("parse of %s failed: %d %s", text, call.status, call.msg);
    json_decref(q);
    return f;
}

/* Evaluate a formula for a point with payload text (NULL = none), the
** given prefetch scores and condition results; *out or the call's error. */
static bool eval_text(const char *formula, const char *payload, const float *scores, size_t n_scores,
                      const bool *conds, float *out, server_call *call) {
    server_formula *f = parse_ok(formula);
    json_t *p = payload ? json_loads(payload, 0, NULL) : NULL;
    server_formula_input in = {.scores = scores, .n_scores = n_scores, .payload = p, .conds = conds};
    memset(call, 0, sizeof *call);
    bool ok = server_formula_eval(call, f, &in, out);
    json_decref(p);
    server_formula_free(f);
    return ok;
}

/* The value of formula for one point, which must evaluate. */
static float eval_ok(const char *formula, const char *payload, const float *scores, size_t n_scores) {
    server_call call;
    float v = 0;
    if (!eval_text(formula, payload, scores, n_scores, NULL, &v, &call))
        fail_msg("%s failed: %d %s", formula, call.status, call.msg);
    return v;
}

/* formula must fail with status and a message containing want. */
static void eval_fails(const char *formula, const char *payload, int status, const char *want) {
    server_call call;
    float v;
    float score = 0.5f;
    if (eval_text(formula, payload, &score, 1, NULL, &v, &call)) fail_msg("%s gave %g, expected an error", formula, (double)v);
    assert_int_equal(call.status, status);
    if (!strstr(call.msg, want)) fail_msg("message '%s' lacks '%s'", call.msg, want);
}

static void test_formula_arithmetic(void **state) {
    (void)state;
    float s[2] = {0.8f, NAN};
    const char *pay = "{\"price\": 10, \"one\": [1.25], \"n\": {\"x\": [3, 4]}, \"arr\": [{\"v\": 7}]}";
    assert_float_equal(eval_ok("{\"formula\": {\"sum\": [{\"mult\": [\"$score\", 0.4]}, {\"mult\": [\"price\", 0.6]}]}}",
                               pay, s, 1),
                       (0.8 * 0.4 + 10 * 0.6), 1e-5);
    /* Qdrant's "fast sigmoid" example: score + price / (1 + |price|) */
    assert_float_equal(eval_ok("{\"formula\": {\"sum\": [\"$score\", {\"div\": {\"left\": \"price\", \"right\": "
                               "{\"sum\": [1.0, {\"abs\": \"price\"}]}}}]}}", pay, s, 1),
                       (0.8 + 10.0 / 11.0), 1e-5);
    assert_float_equal(eval_ok("{\"formula\": {\"neg\": {\"sqrt\": 16}}}", NULL, s, 1), -4, 0);
    assert_float_equal(eval_ok("{\"formula\": {\"pow\": {\"base\": 2, \"exponent\": 10}}}", NULL, s, 1), 1024, 0);
    assert_float_equal(eval_ok("{\"formula\": {\"log10\": 1000}}", NULL, s, 1), 3, 1e-6);
    assert_float_equal(eval_ok("{\"formula\": {\"ln\": {\"exp\": 2}}}", NULL, s, 1), 2, 1e-6);
    /* a zero numerator is 0 whatever the denominator; by_zero_default answers x / 0 */
    assert_float_equal(eval_ok("{\"formula\": {\"div\": {\"left\": 0, \"right\": 0}}}", NULL, s, 1), 0, 0);
    assert_float_equal(eval_ok("{\"formula\": {\"div\": {\"left\": 3, \"right\": 0, \"by_zero_default\": 7}}}", NULL, s, 1),
                       7, 0);
    /* payload paths: an array of one number is that number; nested keys and indexes */
    assert_float_equal(eval_ok("{\"formula\": \"one\"}", pay, s, 1), 1.25, 0);
    assert_float_equal(eval_ok("{\"formula\": \"n.x[1]\"}", pay, s, 1), 4, 0);
    assert_float_equal(eval_ok("{\"formula\": \"arr[].v\"}", pay, s, 1), 7, 0);
    /* $score[i]: the prefetch's score, else the default, else 0 */
    assert_float_equal(eval_ok("{\"formula\": \"$score[1]\", \"defaults\": {\"$score[1]\": 1.5}}", NULL, s, 2), 1.5, 0);
    assert_float_equal(eval_ok("{\"formula\": \"$score[3]\"}", NULL, s, 2), 0, 0);
    assert_float_equal(eval_ok("{\"formula\": \"$score[0]\"}", NULL, s, 2), 0.8, 1e-7);
    /* payload defaults: missing, null and [] take them */
    assert_float_equal(eval_ok("{\"formula\": \"gone\", \"defaults\": {\"gone\": 85}}", pay, s, 1), 85, 0);
    assert_float_equal(eval_ok("{\"formula\": \"z\", \"defaults\": {\"z\": 2}}", "{\"z\": null}", s, 1), 2, 0);
    assert_float_equal(eval_ok("{\"formula\": \"z\", \"defaults\": {\"z\": 3}}", "{\"z\": []}", s, 1), 3, 0);
}

static void test_formula_conditions_geo_datetime(void **state) {
    (void)state;
    server_formula *f = parse_ok("{\"formula\": {\"sum\": [{\"key\": \"color\", \"match\": {\"value\": \"red\"}}, "
                                 "{\"mult\": [10, {\"has_id\": [1, 2]}]}]}}");
    assert_int_equal(server_formula_n_conditions(f), 2);
    char *c0 = json_dumps(server_formula_condition(f, 0), JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(c0, "{\"must\":[{\"key\":\"color\",\"match\":{\"value\":\"red\"}}]}");
    free(c0);
    bool conds[2] = {true, true};
    server_formula_input in = {.conds = conds};
    server_call call = {0};
    float v;
    assert_true(server_formula_eval(&call, f, &in, &v));
    assert_float_equal(v, 11, 0);
    conds[0] = false;
    assert_true(server_formula_eval(&call, f, &in, &v));
    assert_float_equal(v, 10, 0);
    server_formula_free(f);
    /* haversine metres; the pair and the distance are from Qdrant's own formula tests */
    float s = 0;
    assert_float_equal(eval_ok("{\"formula\": {\"geo_distance\": {\"origin\": {\"lon\": -100.43383200156751, \"lat\": "
                               "25.717877679163667}, \"to\": \"loc\"}}}",
                               "{\"loc\": {\"lat\": 25.628482424190565, \"lon\": -100.23881855976}}", &s, 1),
                       21926.494151786308, 0.01);
    /* datetimes are seconds since the epoch */
    assert_float_equal(eval_ok("{\"formula\": {\"datetime\": \"2025-03-18\"}}", NULL, &s, 1), 1742256000.0, 1);
    assert_float_equal(eval_ok("{\"formula\": {\"sum\": [{\"datetime_key\": \"t\"}, {\"neg\": {\"datetime\": "
                               "\"2025-03-18T00:00:00Z\"}}]}}", "{\"t\": \"2025-03-18T01:00:30Z\"}", &s, 1),
                       3630, 0);
}

static void test_formula_decays(void **state) {
    (void)state;
    float s = 0;
    static const char *const kinds[] = {"lin_decay", "exp_decay", "gauss_decay"};
    for (int k = 0; k < 3; k++) {
        char f[256];
        /* at |x − target| = scale every decay gives its midpoint; at x = target, 1 */
        snprintf(f, sizeof f, "{\"formula\": {\"%s\": {\"x\": 9, \"target\": 5, \"scale\": 4, \"midpoint\": 0.3}}}", kinds[k]);
        assert_float_equal(eval_ok(f, NULL, &s, 1), 0.3, 1e-6);
        snprintf(f, sizeof f, "{\"formula\": {\"%s\": {\"x\": 1, \"target\": 9, \"scale\": 8, \"midpoint\": 0.3}}}", kinds[k]);
        assert_float_equal(eval_ok(f, NULL, &s, 1), 0.3, 1e-6);
        snprintf(f, sizeof f, "{\"formula\": {\"%s\": {\"x\": 5, \"target\": 5}}}", kinds[k]);
        assert_float_equal(eval_ok(f, NULL, &s, 1), 1, 0);
    }
    /* defaults: target 0, scale 1, midpoint 0.5; linear reaches 0 and stays there */
    assert_float_equal(eval_ok("{\"formula\": {\"lin_decay\": {\"x\": 0.5}}}", NULL, &s, 1), 0.75, 1e-6);
    assert_float_equal(eval_ok("{\"formula\": {\"lin_decay\": {\"x\": 5}}}", NULL, &s, 1), 0, 0);
    assert_float_equal(eval_ok("{\"formula\": {\"exp_decay\": {\"x\": 2}}}", NULL, &s, 1), 0.25, 1e-6);
    assert_float_equal(eval_ok("{\"formula\": {\"gauss_decay\": {\"x\": 2}}}", NULL, &s, 1), 0.0625, 1e-6);
}

static void test_formula_errors(void **state) {
    (void)state;
    eval_fails("{\"formula\": \"price\"}", "{}", 400, "No value found in a payload nor defaults");
    eval_fails("{\"formula\": \"price\"}", "{\"price\": [1, 2]}", 400, "Value is not a number");
    eval_fails("{\"formula\": \"price\"}", "{\"price\": \"cheap\"}", 400, "Expected number value for price");
    /* Qdrant's words, e.g. "The expression 1/0 = inf produced a non-finite number" */
    eval_fails("{\"formula\": {\"div\": {\"left\": 1, \"right\": 0}}}", NULL, 400, "expression 1/0 = inf produced");
    eval_fails("{\"formula\": {\"sqrt\": -3}}", NULL, 400, "expression √-3 = NaN produced");
    eval_fails("{\"formula\": {\"ln\": 0}}", NULL, 400, "expression ln(0) = -inf produced");
    eval_fails("{\"formula\": {\"pow\": {\"base\": -1, \"exponent\": 0.4}}}", NULL, 400, "expression -1^0.4 = NaN");
    eval_fails("{\"formula\": {\"geo_distance\": {\"origin\": {\"lon\": 0, \"lat\": 0}, \"to\": \"p\"}}}", "{\"p\": 3}",
               400, "Expected geo point value for p");
    static const struct {
        const char *text; /* FormulaQuery */
        int status;       /* expected */
        const char *want; /* in the message */
    } bad[] = {
        {"{\"formula\": \"$foo\"}", 400, "Invalid reserved word: $foo"},
        {"{\"formula\": \"$score[x]\"}", 400, "Invalid reserved variable"},
        {"{\"formula\": []}", 400, "query.formula"},
        {"{\"formula\": {\"sum\": 3}}", 400, "query.formula.sum must be a list"},
        {"{\"formula\": {\"div\": {\"left\": 1}}}", 400, "needs `left` and `right`"},
        {"{\"formula\": {\"lin_decay\": {\"x\": 1, \"midpoint\": 2}}}", 400, "Linear decay midpoint"},
        {"{\"formula\": {\"exp_decay\": {\"x\": 1, \"midpoint\": 1}}}", 400, "Decay midpoint"},
        {"{\"formula\": {\"gauss_decay\": {\"x\": 1, \"scale\": 0}}}", 400, "Decay scale"},
        {"{\"formula\": 1, \"defaults\": {\"$score\": \"high\"}}", 422, "Score default must be a number"},
        {"{\"formula\": {\"datetime\": \"yesterday\"}}", 400, "datetime"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *q = json_loads(bad[i].text, 0, NULL);
        server_call call = {0};
        server_formula *f = NULL;
        if (server_formula_parse(&call, q, &f)) fail_msg("%s parsed", bad[i].text);
        assert_null(f);
        assert_int_equal(call.status, bad[i].status);
        if (!strstr(call.msg, bad[i].want)) fail_msg("%s: message '%s' lacks '%s'", bad[i].text, call.msg, bad[i].want);
        json_decref(q);
    }
}

/* ==== MMR ==== */

static void test_mmr_select(void **state) {
    (void)state;
    /* unit vectors: a and a2 are near duplicates, b points elsewhere */
    float vecs[3 * 2] = {1.0f, 0.0f, 0.995f, 0.0998749f, 0.0f, 1.0f};
    float rel[3] = {0.9f, 0.89f, 0.5f};
    size_t order[3], n = 0;
    assert_true(server_mmr_select(SC_DISTANCE_COSINE, vecs, 2, rel, 3, 0.5f, 3, order, &n));
    assert_int_equal(n, 3);
    /* diversity: after a, b (similarity 0) beats a2 (similarity 0.995) */
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 1);
    /* lambda 1: relevance alone */
    assert_true(server_mmr_select(SC_DISTANCE_COSINE, vecs, 2, rel, 3, 1.0f, 3, order, &n));
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 2);
    /* limit, and nothing to pick */
    assert_true(server_mmr_select(SC_DISTANCE_DOT, vecs, 2, rel, 3, 0.5f, 1, order, &n));
    assert_int_equal(n, 1);
    assert_int_equal(order[0], 0);
    assert_true(server_mmr_select(SC_DISTANCE_DOT, vecs, 2, rel, 0, 0.5f, 5, order, &n));
    assert_int_equal(n, 0);
    /* similarities: bigger is more similar whatever the distance */
    float x[2] = {0, 0}, y[2] = {3, 4};
    assert_float_equal(server_mmr_similarity(SC_DISTANCE_EUCLID, x, y, 2), -5, 1e-6);
    assert_float_equal(server_mmr_similarity(SC_DISTANCE_MANHATTAN, x, y, 2), -7, 1e-6);
    assert_float_equal(server_mmr_similarity(SC_DISTANCE_DOT, y, y, 2), 25, 1e-6);
}

/* ==== Conditional writes ==== */

static char *payload_of(sc_db *db, uint64_t id) {
    sc_point_id pid = sc_point_id_num(id);
    sc_with w = {.payload = true};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_get(db, "c", &pid, 1, &w, &l), SC_OK);
    char *out = l->n ? strdup(l->items[0].payload_json) : NULL;
    sc_record_list_free(l);
    return out;
}

static void assert_payload(sc_db *db, uint64_t id, const char *want) {
    char *got = payload_of(db, id);
    if (!want) assert_null(got);
    else if (!got || strcmp(got, want)) fail_msg("point %llu: payload %s, expected %s", (unsigned long long)id, got ? got : "(none)", want);
    free(got);
}

static void test_conditional_upsert(void **state) {
    tu_store *f = *state;
    sc_vector_params vp = {.name = "", .dim = 2, .distance = SC_DISTANCE_DOT};
    assert_int_equal(sc_collection_create(f->db, "c", &vp, 1), SC_OK);
    float v[2] = {1, 0};
    sc_vector_in vi = {"", v, 2};
    sc_point_in pts[2] = {{.id = sc_point_id_num(1), .vectors = &vi, .n_vectors = 1, .payload_json = "{\"version\":5}"},
                          {.id = sc_point_id_num(2), .vectors = &vi, .n_vectors = 1, .payload_json = "{\"version\":1}"}};
    assert_int_equal(sc_points_upsert(f->db, "c", pts, 2), SC_OK);
    /* update_filter: only existing points that match are replaced; new ones go in */
    sc_point_in upd[3] = {{.id = sc_point_id_num(1), .vectors = &vi, .n_vectors = 1, .payload_json = "{\"version\":6}"},
                          {.id = sc_point_id_num(2), .vectors = &vi, .n_vectors = 1, .payload_json = "{\"version\":6}"},
                          {.id = sc_point_id_num(3), .vectors = &vi, .n_vectors = 1, .payload_json = "{\"version\":6}"}};
    sc_upsert_options opt = {.update_filter_json = "{\"must\": [{\"key\": \"version\", \"range\": {\"lt\": 4}}]}"};
    uint64_t n = 99;
    assert_int_equal(sc_points_upsert_ex(f->db, "c", upd, 3, &opt, &n), SC_OK);
    assert_int_equal(n, 2);
    assert_payload(f->db, 1, "{\"version\":5}");
    assert_payload(f->db, 2, "{\"version\":6}");
    assert_payload(f->db, 3, "{\"version\":6}");
    /* insert_only leaves existing points alone; update_only inserts nothing */
    sc_point_in more[2] = {{.id = sc_point_id_num(1), .vectors = &vi, .n_vectors = 1, .payload_json = "{\"version\":7}"},
                           {.id = sc_point_id_num(4), .vectors = &vi, .n_vectors = 1, .payload_json = "{\"version\":7}"}};
    opt = (sc_upsert_options){.mode = SC_UPSERT_MODE_INSERT_ONLY};
    assert_int_equal(sc_points_upsert_ex(f->db, "c", more, 2, &opt, &n), SC_OK);
    assert_int_equal(n, 1);
    assert_payload(f->db, 1, "{\"version\":5}");
    assert_payload(f->db, 4, "{\"version\":7}");
    more[1].id = sc_point_id_num(5);
    opt.mode = SC_UPSERT_MODE_UPDATE_ONLY;
    assert_int_equal(sc_points_upsert_ex(f->db, "c", more, 2, &opt, &n), SC_OK);
    assert_int_equal(n, 1);
    assert_payload(f->db, 1, "{\"version\":7}");
    assert_payload(f->db, 5, NULL);
    /* a malformed filter changes nothing */
    opt = (sc_upsert_options){.update_filter_json = "{\"must\": 3}"};
    assert_int_equal(sc_points_upsert_ex(f->db, "c", more, 2, &opt, NULL), SC_INVALID);
    assert_payload(f->db, 5, NULL);
    /* update_vectors with a filter: only matching points change; a missing one is an error */
    float w[2] = {0, 1};
    sc_vector_in wi = {"", w, 2};
    sc_point_in vecs[2] = {{.id = sc_point_id_num(1), .vectors = &wi, .n_vectors = 1},
                           {.id = sc_point_id_num(2), .vectors = &wi, .n_vectors = 1}};
    assert_int_equal(sc_points_update_vectors_ex(f->db, "c", vecs, 2, "{\"must\": [{\"key\": \"version\", \"match\": "
                                                 "{\"value\": 7}}]}", &n), SC_OK);
    assert_int_equal(n, 1);
    sc_point_id ids[2] = {sc_point_id_num(1), sc_point_id_num(2)};
    sc_with with = {.vectors = true};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_get(f->db, "c", ids, 2, &with, &l), SC_OK);
    assert_float_equal(l->items[0].vectors[0][1], 1, 0);
    assert_float_equal(l->items[1].vectors[0][1], 0, 0);
    sc_record_list_free(l);
    vecs[1].id = sc_point_id_num(42);
    assert_int_equal(sc_points_update_vectors_ex(f->db, "c", vecs, 2, "{}", NULL), SC_NOTFOUND);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formula_arithmetic),
        cmocka_unit_test(test_formula_conditions_geo_datetime),
        cmocka_unit_test(test_formula_decays),
        cmocka_unit_test(test_formula_errors),
        cmocka_unit_test(test_mmr_select),
        cmocka_unit_test_setup_teardown(test_conditional_upsert, tu_store_setup, tu_store_teardown),
    };
    return cmocka_run_group_tests_name("query_ops", tests, NULL, NULL);
}
