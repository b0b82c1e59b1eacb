/*
** Unit tests of store/filter: every condition of Qdrant's filter language
** with true and false cases, key paths, malformed filters and their
** messages, the depth guard, payload indexes, and a property test that
** filter_plan's candidates contain every match of filter_match (and equal
** them when it claims exactness) under add / remove churn.
*/
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/filter.h"

/* ==== Helpers ==== */

/* Does the payload (JSON text) with numeric id 7 match the filter (JSON text)? */
static bool t_match_id(const char *filter, const char *payload, const sc_point_id *id) {
    store_filter *f = NULL;
    sc_err err;
    sc_err_clear(&err);
    sc_status rc = filter_compile_text(filter, &f, &err);
    if (rc != SC_OK) fail_msg("compile of %s failed: %s", filter, err.msg);
    json_t *p = NULL;
    if (payload) {
        json_error_t je;
        p = json_loads(payload, JSON_ALLOW_NUL, &je);
        if (!p) fail_msg("bad test payload %s: %s", payload, je.text);
    }
    bool r = filter_match(f, id, p);
    json_decref(p);
    filter_free(f);
    return r;
}

static bool t_match(const char *filter, const char *payload) {
    sc_point_id id = sc_point_id_num(7);
    return t_match_id(filter, payload, &id);
}

#define MATCHES(f, p) assert_true(t_match(f, p))
#define REJECTS(f, p) assert_false(t_match(f, p))

/* Compile must fail with code and a message containing every substring. */
static void t_bad(const char *filter, sc_status code, const char *sub1, const char *sub2) {
    store_filter *f = NULL;
    sc_err err;
    sc_err_clear(&err);
    sc_status rc = filter_compile_text(filter, &f, &err);
    if (rc != code) fail_msg("%s: expected status %d, got %d (%s)", filter, code, rc, err.msg);
    assert_null(f);
    if (sub1 && !strstr(err.msg, sub1)) fail_msg("%s: message \"%s\" lacks \"%s\"", filter, err.msg, sub1);
    if (sub2 && !strstr(err.msg, sub2)) fail_msg("%s: message \"%s\" lacks \"%s\"", filter, err.msg, sub2);
}

/* ==== Match ==== */

static void test_match_value(void **state) {
    (void)state;
    const char *red = "{\"must\":[{\"key\":\"color\",\"match\":{\"value\":\"red\"}}]}";
    MATCHES(red, "{\"color\":\"red\"}");
    REJECTS(red, "{\"color\":\"Red\"}");
    REJECTS(red, "{\"color\":\"red \"}");
    MATCHES(red, "{\"color\":[\"blue\",\"red\"]}");
    REJECTS(red, "{\"color\":[\"blue\"]}");
    REJECTS(red, "{}");
    REJECTS(red, NULL);
    REJECTS(red, "{\"color\":null}");
    const char *n = "{\"must\":{\"key\":\"n\",\"match\":{\"value\":5}}}";
    MATCHES(n, "{\"n\":5}");
    MATCHES(n, "{\"n\":[1,5]}");
    REJECTS(n, "{\"n\":5.0}"); /* a float is not an integer */
    REJECTS(n, "{\"n\":\"5\"}");
    REJECTS(n, "{\"n\":6}");
    const char *b = "{\"must\":{\"key\":\"ok\",\"match\":{\"value\":false}}}";
    MATCHES(b, "{\"ok\":false}");
    REJECTS(b, "{\"ok\":true}");
    REJECTS(b, "{\"ok\":0}");
    MATCHES(b, "{\"ok\":[true,false]}");
    /* Strings with escapes and NUL bytes compare as bytes. */
    MATCHES("{\"must\":{\"key\":\"s\",\"match\":{\"value\":\"a\\u0000b\"}}}", "{\"s\":\"a\\u0000b\"}");
    REJECTS("{\"must\":{\"key\":\"s\",\"match\":{\"value\":\"a\\u0000b\"}}}", "{\"s\":\"a\"}");
}

static void test_match_any_except(void **state) {
    (void)state;
    const char *any = "{\"must\":{\"key\":\"c\",\"match\":{\"any\":[\"black\",\"yellow\"]}}}";
    MATCHES(any, "{\"c\":\"black\"}");
    MATCHES(any, "{\"c\":[\"green\",\"yellow\"]}");
    REJECTS(any, "{\"c\":\"green\"}");
    REJECTS(any, "{}");
    const char *anyi = "{\"must\":{\"key\":\"c\",\"match\":{\"any\":[3,1,2]}}}";
    MATCHES(anyi, "{\"c\":2}");
    REJECTS(anyi, "{\"c\":4}");
    REJECTS(anyi, "{\"c\":\"2\"}");
    REJECTS("{\"must\":{\"key\":\"c\",\"match\":{\"any\":[]}}}", "{\"c\":\"x\"}");

    const char *ex = "{\"must\":{\"key\":\"c\",\"match\":{\"except\":[\"black\",\"yellow\"]}}}";
    MATCHES(ex, "{\"c\":\"green\"}");
    REJECTS(ex, "{\"c\":\"black\"}");
    MATCHES(ex, "{\"c\":[\"black\",\"green\"]}"); /* one value outside the list */
    REJECTS(ex, "{\"c\":[\"black\",\"yellow\"]}");
    REJECTS(ex, "{}");              /* missing key: no value outside the list */
    REJECTS(ex, "{\"c\":null}");    /* null is no value */
    REJECTS(ex, "{\"c\":[]}");
    MATCHES(ex, "{\"c\":5}");       /* another type is not in the list */
    MATCHES(ex, "{\"c\":true}");
    const char *exi = "{\"must\":{\"key\":\"c\",\"match\":{\"except\":[1,2]}}}";
    MATCHES(exi, "{\"c\":3}");
    REJECTS(exi, "{\"c\":2}");
    MATCHES(exi, "{\"c\":2.5}");
    MATCHES(exi, "{\"c\":\"1\"}");
    MATCHES("{\"must\":{\"key\":\"c\",\"match\":{\"except\":[]}}}", "{\"c\":\"x\"}");
}

static void test_match_text(void **state) {
    (void)state;
    const char *t = "{\"must\":{\"key\":\"d\",\"match\":{\"text\":\"good cheap\"}}}";
    MATCHES(t, "{\"d\":\"very good cheap thing\"}");
    REJECTS(t, "{\"d\":\"cheap and good\"}");
    REJECTS(t, "{\"d\":5}");
    MATCHES(t, "{\"d\":[\"x\",\"a good cheap y\"]}");
    const char *p = "{\"must\":{\"key\":\"d\",\"match\":{\"phrase\":\"b c\"}}}";
    MATCHES(p, "{\"d\":\"a b c d\"}");
    REJECTS(p, "{\"d\":\"a c b d\"}");
    const char *a = "{\"must\":{\"key\":\"d\",\"match\":{\"text_any\":\"  zebra   cheap \"}}}";
    MATCHES(a, "{\"d\":\"cheap and good\"}");
    MATCHES(a, "{\"d\":\"a zebra\"}");
    REJECTS(a, "{\"d\":\"nothing here\"}");
    REJECTS("{\"must\":{\"key\":\"d\",\"match\":{\"text_any\":\"   \"}}}", "{\"d\":\"x\"}");
    MATCHES("{\"must\":{\"key\":\"d\",\"match\":{\"text\":\"\"}}}", "{\"d\":\"x\"}");
}

/* ==== Range, values_count ==== */

static void test_range(void **state) {
    (void)state;
    const char *r = "{\"must\":{\"key\":\"p\",\"range\":{\"gte\":100,\"lt\":450.5,\"gt\":null}}}";
    MATCHES(r, "{\"p\":100}");
    MATCHES(r, "{\"p\":450.4}");
    REJECTS(r, "{\"p\":450.5}");
    REJECTS(r, "{\"p\":99.99}");
    REJECTS(r, "{\"p\":\"200\"}");
    MATCHES(r, "{\"p\":[1,200]}");
    REJECTS(r, "{\"p\":[1,2000]}");
    REJECTS(r, "{}");
    const char *g = "{\"must\":{\"key\":\"p\",\"range\":{\"gt\":1,\"lte\":2}}}";
    REJECTS(g, "{\"p\":1}");
    MATCHES(g, "{\"p\":1.0001}");
    MATCHES(g, "{\"p\":2}");
    REJECTS(g, "{\"p\":2.0001}");
    MATCHES("{\"must\":{\"key\":\"p\",\"range\":{}}}", "{\"p\":-3}");
    REJECTS("{\"must\":{\"key\":\"p\",\"range\":{}}}", "{\"p\":true}");
    /* Date-times compare as instants. */
    const char *d = "{\"must\":{\"key\":\"t\",\"range\":{\"gte\":\"2023-02-08T10:49:00Z\","
                    "\"lt\":\"2023-02-08T12:00:00+01:00\"}}}";
    MATCHES(d, "{\"t\":\"2023-02-08T10:49:00Z\"}");
    MATCHES(d, "{\"t\":\"2023-02-08T10:59:59.999Z\"}");
    REJECTS(d, "{\"t\":\"2023-02-08T11:00:00Z\"}");
    MATCHES(d, "{\"t\":\"2023-02-08T12:50:00+02:00\"}");
    REJECTS(d, "{\"t\":\"2023-02-08T12:30:00+02:00\"}");
    REJECTS(d, "{\"t\":\"2023-02-08T10:48:59.999999Z\"}");
    REJECTS(d, "{\"t\":\"not a date\"}");
    REJECTS(d, "{\"t\":1675853340}");
    const char *day = "{\"must\":{\"key\":\"t\",\"range\":{\"gt\":\"2020-02-28\"}}}";
    MATCHES(day, "{\"t\":\"2020-02-29 00:00:01\"}");
    REJECTS(day, "{\"t\":\"2020-02-28\"}");
    REJECTS(day, "{\"t\":\"2019-12-31T23:59:59Z\"}");
    REJECTS(day, "{\"t\":\"2019-02-29\"}"); /* no such day */
    MATCHES("{\"must\":{\"key\":\"t\",\"range\":{\"lt\":\"2020-01-01T05:00+05\"}}}", "{\"t\":\"2019-12-31T23:59:59z\"}");
    REJECTS("{\"must\":{\"key\":\"t\",\"range\":{\"lt\":\"2020-01-01T05:00+0500\"}}}", "{\"t\":\"2020-01-01T00:00:00Z\"}");
}

static void test_values_count(void **state) {
    (void)state;
    const char *gt = "{\"must\":{\"key\":\"c\",\"values_count\":{\"gt\":2}}}";
    MATCHES(gt, "{\"c\":[\"a\",\"b\",\"c\"]}");
    REJECTS(gt, "{\"c\":[\"a\",\"b\"]}");
    REJECTS(gt, "{\"c\":\"abc\"}");
    const char *lt = "{\"must\":{\"key\":\"c\",\"values_count\":{\"lt\":1}}}";
    MATCHES(lt, "{}"); /* missing = 0 values */
    MATCHES(lt, "{\"c\":null}");
    MATCHES(lt, "{\"c\":[]}");
    REJECTS(lt, "{\"c\":7}");
    const char *eq = "{\"must\":{\"key\":\"c\",\"values_count\":{\"gte\":1,\"lte\":1}}}";
    MATCHES(eq, "{\"c\":{\"x\":1}}");
    MATCHES(eq, "{\"c\":[[1,2,3]]}");
    REJECTS(eq, "{\"c\":[1,2]}");
    /* a[].b: the values of every element are counted together. */
    MATCHES("{\"must\":{\"key\":\"a[].b\",\"values_count\":{\"gte\":3}}}", "{\"a\":[{\"b\":[1,2]},{\"b\":3}]}");
}

/* ==== is_empty, is_null, has_id ==== */

static void test_is_empty_is_null(void **state) {
    (void)state;
    const char *e = "{\"must\":[{\"is_empty\":{\"key\":\"r\"}}]}";
    MATCHES(e, "{}");
    MATCHES(e, NULL);
    MATCHES(e, "{\"r\":null}");
    MATCHES(e, "{\"r\":[]}");
    REJECTS(e, "{\"r\":[null]}");
    REJECTS(e, "{\"r\":0}");
    REJECTS(e, "{\"r\":\"\"}");
    REJECTS(e, "{\"r\":{}}");
    REJECTS(e, "{\"r\":[1]}");
    const char *n = "{\"must\":[{\"is_null\":{\"key\":\"r\"}}]}";
    MATCHES(n, "{\"r\":null}");
    REJECTS(n, "{}");
    REJECTS(n, "{\"r\":[]}");
    REJECTS(n, "{\"r\":[null]}");
    REJECTS(n, "{\"r\":0}");
    MATCHES("{\"must\":{\"is_null\":{\"key\":\"a[].b\"}}}", "{\"a\":[{\"b\":1},{\"b\":null}]}");
    /* Alternative syntax inside a field condition. */
    MATCHES("{\"must\":{\"key\":\"r\",\"is_empty\":true}}", "{}");
    REJECTS("{\"must\":{\"key\":\"r\",\"is_empty\":true}}", "{\"r\":1}");
    MATCHES("{\"must\":{\"key\":\"r\",\"is_empty\":false}}", "{\"r\":1}");
    REJECTS("{\"must\":{\"key\":\"r\",\"is_empty\":false}}", "{\"r\":[]}");
    MATCHES("{\"must\":{\"key\":\"r\",\"is_null\":true}}", "{\"r\":null}");
    MATCHES("{\"must\":{\"key\":\"r\",\"is_null\":false}}", "{\"r\":2}");
    REJECTS("{\"must\":{\"key\":\"r\",\"is_null\":false}}", "{\"r\":null}");
    /* must_not is_empty selects the non-empty ones. */
    MATCHES("{\"must_not\":{\"is_empty\":{\"key\":\"r\"}}}", "{\"r\":[1]}");
    REJECTS("{\"must_not\":{\"is_empty\":{\"key\":\"r\"}}}", "{\"r\":[]}");
}

static void test_has_id(void **state) {
    (void)state;
    const char *h = "{\"must\":[{\"has_id\":[1,3,7,\"550e8400-e29b-41d4-a716-446655440000\",3]}]}";
    sc_point_id n7 = sc_point_id_num(7), n8 = sc_point_id_num(8), u, u2;
    assert_int_equal(sc_point_id_parse_uuid("550E8400E29B41D4A716446655440000", &u), SC_OK);
    assert_int_equal(sc_point_id_parse_uuid("550e8400-e29b-41d4-a716-446655440001", &u2), SC_OK);
    assert_true(t_match_id(h, "{}", &n7));
    assert_false(t_match_id(h, "{}", &n8));
    assert_true(t_match_id(h, "{}", &u));
    assert_false(t_match_id(h, "{}", &u2));
    assert_false(t_match_id(h, "{}", NULL));
    assert_false(t_match_id("{\"must\":{\"has_id\":[]}}", "{}", &n7));
    assert_true(t_match_id("{\"must_not\":{\"has_id\":[8]}}", "{}", &n7));
}

/* ==== Keys and nesting ==== */

static void test_key_paths(void **state) {
    (void)state;
    const char *country = "{\"country\":{\"name\":\"Japan\",\"cities\":[{\"name\":\"Tokyo\",\"population\":9.3,"
                          "\"sightseeing\":[\"Tokyo Tower\",\"Tokyo Skytree\"]},{\"name\":\"Osaka\","
                          "\"population\":2.7,\"sightseeing\":[\"Osaka Castle\"]}]}}";
    MATCHES("{\"should\":[{\"key\":\"country.name\",\"match\":{\"value\":\"Japan\"}}]}", country);
    REJECTS("{\"should\":[{\"key\":\"country.name\",\"match\":{\"value\":\"Germany\"}}]}", country);
    MATCHES("{\"must\":{\"key\":\"country.cities[].population\",\"range\":{\"gte\":9.0}}}", country);
    REJECTS("{\"must\":{\"key\":\"country.cities[].population\",\"range\":{\"gte\":10}}}", country);
    MATCHES("{\"must\":{\"key\":\"country.cities[].sightseeing\",\"match\":{\"value\":\"Osaka Castle\"}}}", country);
    /* An array on the way is not entered without [] (Qdrant's JsonPath). */
    REJECTS("{\"must\":{\"key\":\"country.cities.name\",\"match\":{\"value\":\"Osaka\"}}}", country);
    REJECTS("{\"must\":{\"key\":\"country.cities.population\",\"range\":{\"gte\":9.0}}}", country);
    MATCHES("{\"must\":{\"key\":\"country.cities[1].name\",\"match\":{\"value\":\"Osaka\"}}}", country);
    REJECTS("{\"must\":{\"key\":\"country.cities[0].name\",\"match\":{\"value\":\"Osaka\"}}}", country);
    REJECTS("{\"must\":{\"key\":\"country.cities[5].name\",\"match\":{\"value\":\"Osaka\"}}}", country);
    MATCHES("{\"must\":{\"key\":\"tags[]\",\"match\":{\"value\":\"b\"}}}", "{\"tags\":[\"a\",\"b\"]}");
    REJECTS("{\"must\":{\"key\":\"tags[]\",\"match\":{\"value\":\"b\"}}}", "{\"tags\":\"b\"}");
    MATCHES("{\"must\":{\"key\":\"m[][]\",\"match\":{\"value\":2}}}", "{\"m\":[[1],[2,3]]}");
    REJECTS("{\"must\":{\"key\":\"m\",\"match\":{\"value\":2}}}", "{\"m\":[[1],[2,3]]}"); /* one level only */
    MATCHES("{\"must\":{\"key\":\"\\\"a.b\\\".c\",\"match\":{\"value\":1}}}", "{\"a.b\":{\"c\":1}}");
    REJECTS("{\"must\":{\"key\":\"a.b.c\",\"match\":{\"value\":1}}}", "{\"a.b\":{\"c\":1}}");
    REJECTS("{\"must\":{\"key\":\"a.b\",\"match\":{\"value\":1}}}", "{\"a\":5}");

    /* filter_path_values / filter_path_check. */
    json_t *p = json_loads("{\"a\":[{\"b\":[1,2]},{\"b\":3},{\"c\":4}]}", 0, NULL);
    assert_non_null(p);
    assert_int_equal(filter_path_values(p, "a[].b", NULL, NULL), 3);
    assert_int_equal(filter_path_values(p, "a.b", NULL, NULL), 0);
    assert_int_equal(filter_path_values(p, "a[0].b", NULL, NULL), 2);
    assert_int_equal(filter_path_values(p, "a", NULL, NULL), 3);
    assert_int_equal(filter_path_values(p, "zz", NULL, NULL), 0);
    assert_int_equal(filter_path_values(p, "a..b", NULL, NULL), 0);
    json_decref(p);
    sc_err err;
    assert_int_equal(filter_path_check("a.b[].c[3]", &err), SC_OK);
    const char *bad[] = {"", ".a", "a.", "a..b", "a[", "a[x]", "a]", "a[]b", "\"a", "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sc_err_clear(&err);
        if (filter_path_check(bad[i], &err) != SC_INVALID) fail_msg("path \"%s\" accepted", bad[i]);
        assert_non_null(strstr(err.msg, "invalid key path"));
    }
}

static void test_nested_condition(void **state) {
    (void)state;
    const char *trex = "{\"dinosaur\":\"t-rex\",\"diet\":[{\"food\":\"leaves\",\"likes\":false},"
                       "{\"food\":\"meat\",\"likes\":true}]}";
    const char *diplo = "{\"dinosaur\":\"diplodocus\",\"diet\":[{\"food\":\"leaves\",\"likes\":true},"
                        "{\"food\":\"meat\",\"likes\":false}]}";
    const char *flat = "{\"must\":[{\"key\":\"diet[].food\",\"match\":{\"value\":\"meat\"}},"
                       "{\"key\":\"diet[].likes\",\"match\":{\"value\":true}}]}";
    MATCHES(flat, trex);
    MATCHES(flat, diplo);
    const char *nested = "{\"must\":[{\"nested\":{\"key\":\"diet\",\"filter\":{\"must\":["
                         "{\"key\":\"food\",\"match\":{\"value\":\"meat\"}},"
                         "{\"key\":\"likes\",\"match\":{\"value\":true}}]}}}]}";
    MATCHES(nested, trex);
    REJECTS(nested, diplo);
    const char *nested2 = "{\"must\":[{\"nested\":{\"key\":\"diet[]\",\"filter\":{\"must\":["
                          "{\"key\":\"food\",\"match\":{\"value\":\"meat\"}},"
                          "{\"key\":\"likes\",\"match\":{\"value\":true}}]}}}]}";
    MATCHES(nested2, trex);
    REJECTS(nested2, diplo);
    REJECTS(nested, "{}");
    REJECTS(nested, "{\"diet\":5}");
    MATCHES("{\"must\":{\"nested\":{\"key\":\"o\",\"filter\":{\"must\":{\"key\":\"x\",\"match\":{\"value\":1}}}}}}",
            "{\"o\":{\"x\":1}}");
    /* must_not inside nested applies per element. */
    const char *nn = "{\"must\":{\"nested\":{\"key\":\"diet\",\"filter\":{\"must_not\":"
                     "{\"key\":\"likes\",\"match\":{\"value\":true}}}}}}";
    MATCHES(nn, trex);
    REJECTS(nn, "{\"diet\":[{\"likes\":true}]}");
}

static void test_clauses(void **state) {
    (void)state;
    const char *p[] = {"{\"city\":\"London\",\"color\":\"green\"}", "{\"city\":\"London\",\"color\":\"red\"}",
                       "{\"city\":\"Berlin\",\"color\":\"red\"}", "{\"city\":\"Moscow\",\"color\":\"blue\"}"};
    const char *london = "{\"key\":\"city\",\"match\":{\"value\":\"London\"}}";
    const char *red = "{\"key\":\"color\",\"match\":{\"value\":\"red\"}}";
    char f[512];
    snprintf(f, sizeof f, "{\"must\":[%s,%s]}", london, red);
    REJECTS(f, p[0]); MATCHES(f, p[1]); REJECTS(f, p[2]); REJECTS(f, p[3]);
    snprintf(f, sizeof f, "{\"should\":[%s,%s]}", london, red);
    MATCHES(f, p[0]); MATCHES(f, p[1]); MATCHES(f, p[2]); REJECTS(f, p[3]);
    snprintf(f, sizeof f, "{\"must_not\":[%s,%s]}", london, red);
    REJECTS(f, p[0]); REJECTS(f, p[1]); REJECTS(f, p[2]); MATCHES(f, p[3]);
    snprintf(f, sizeof f, "{\"must\":%s,\"must_not\":%s}", london, red);
    MATCHES(f, p[0]); REJECTS(f, p[1]); REJECTS(f, p[2]); REJECTS(f, p[3]);
    /* A Filter used as a condition. */
    snprintf(f, sizeof f, "{\"must_not\":[{\"must\":[%s,%s]}]}", london, red);
    MATCHES(f, p[0]); REJECTS(f, p[1]); MATCHES(f, p[2]); MATCHES(f, p[3]);
    /* Empty clauses are no constraint; null clauses are absent. */
    MATCHES("{}", p[0]);
    MATCHES("{\"should\":[],\"must\":[],\"must_not\":[]}", p[0]);
    MATCHES("{\"should\":null,\"must\":null,\"min_should\":null}", p[0]);
    MATCHES("{\"must\":[{}]}", p[0]);
    REJECTS("{\"must_not\":[{}]}", p[0]);
    /* min_should */
    const char *green = "{\"key\":\"color\",\"match\":{\"value\":\"green\"}}";
    snprintf(f, sizeof f, "{\"min_should\":{\"conditions\":[%s,%s,%s],\"min_count\":2}}", london, red, green);
    MATCHES(f, p[0]); MATCHES(f, p[1]); REJECTS(f, p[2]); REJECTS(f, p[3]);
    snprintf(f, sizeof f, "{\"min_should\":{\"conditions\":[%s,%s],\"min_count\":3}}", london, red);
    REJECTS(f, p[1]);
    snprintf(f, sizeof f, "{\"min_should\":{\"conditions\":[%s],\"min_count\":0}}", red);
    MATCHES(f, p[3]);
    snprintf(f, sizeof f, "{\"should\":%s,\"min_should\":{\"conditions\":[%s,%s],\"min_count\":1}}", london, red,
             green);
    MATCHES(f, p[0]); MATCHES(f, p[1]); REJECTS(f, p[2]); REJECTS(f, p[3]);
    /* Several tests in one field condition: any may hold. */
    const char *both = "{\"must\":{\"key\":\"v\",\"match\":{\"value\":3},\"range\":{\"gt\":10}}}";
    MATCHES(both, "{\"v\":3}");
    MATCHES(both, "{\"v\":11}");
    REJECTS(both, "{\"v\":5}");
    /* No filter at all. */
    store_filter *nf = (store_filter *)1;
    const char *none[] = {NULL, "", "  \n", "null"};
    for (size_t i = 0; i < 4; i++) {
        nf = (store_filter *)1;
        assert_int_equal(filter_compile_text(none[i], &nf, NULL), SC_OK);
        assert_null(nf);
    }
    assert_true(filter_match(NULL, NULL, NULL));
}

/* ==== Errors ==== */

static void test_invalid(void **state) {
    (void)state;
    t_bad("{\"must\":[{\"key\":\"a\",\"match\":{\"value\":1}},{\"key\":\"p\",\"range\":{\"gt\":\"x\"}}]}", SC_INVALID,
          "filter.must[1].range.gt: expected a number, got \"x\"", NULL);
    t_bad("3", SC_INVALID, "filter: expected a filter object, got 3", NULL);
    t_bad("{\"must\":", SC_INVALID, "invalid JSON", NULL);
    t_bad("{\"must\":[],\"must\":[]}", SC_INVALID, "invalid JSON", NULL);
    t_bad("{\"mustt\":[]}", SC_INVALID, "filter: unknown member \"mustt\"", NULL);
    t_bad("{\"must\":3}", SC_INVALID, "filter.must: expected a condition object or an array", "got 3");
    t_bad("{\"must\":[1]}", SC_INVALID, "filter.must[0]: expected a condition object, got 1", NULL);
    t_bad("{\"should\":[{\"foo\":1}]}", SC_INVALID, "filter.should[0]: unknown condition member \"foo\"", NULL);
    t_bad("{\"must\":[{\"key\":5,\"match\":{\"value\":1}}]}", SC_INVALID, "filter.must[0].key: expected a string",
          NULL);
    t_bad("{\"must\":[{\"key\":\"a..b\",\"match\":{\"value\":1}}]}", SC_INVALID,
          "filter.must[0].key: invalid key path \"a..b\"", "offset 2");
    t_bad("{\"must\":[{\"key\":\"a\"}]}", SC_INVALID, "[filter.must[0]: At least one field condition must be specified: the condition on \"a\" has no test", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"matc\":{}}]}", SC_INVALID, "filter.must[0]: unknown member \"matc\"", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"match\":{\"value\":1.5}}]}", SC_INVALID,
          "filter.must[0].match.value: expected a string, an integer or a boolean, got 1.5", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"match\":{\"value\":1,\"any\":[1]}}]}", SC_INVALID,
          "filter.must[0].match: expected an object with exactly one of", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"match\":{\"valu\":1}}]}", SC_INVALID,
          "filter.must[0].match: unknown member \"valu\"", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"match\":{\"any\":[\"x\",2]}}]}", SC_INVALID,
          "filter.must[0].match.any[1]: expected a string like the first element, got 2", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"match\":{\"except\":[1,\"x\"]}}]}", SC_INVALID,
          "filter.must[0].match.except[1]: expected an integer", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"match\":{\"any\":\"x\"}}]}", SC_INVALID,
          "filter.must[0].match.any: expected an array", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"match\":{\"text\":1}}]}", SC_INVALID,
          "filter.must[0].match.text: expected a string, got 1", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"range\":{\"gt\":1,\"lt\":\"2020-01-01\"}}]}", SC_INVALID,
          "filter.must[0].range.lt", "mixed");
    t_bad("{\"must\":[{\"key\":\"a\",\"range\":{\"gtt\":1}}]}", SC_INVALID,
          "filter.must[0].range: unknown member \"gtt\"", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"range\":{\"gt\":true}}]}", SC_INVALID, "filter.must[0].range.gt: expected a number",
          "got true");
    t_bad("{\"must\":[{\"key\":\"a\",\"range\":[1]}]}", SC_INVALID, "filter.must[0].range: expected an object", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"values_count\":{\"gt\":-1}}]}", SC_INVALID,
          "filter.must[0].values_count.gt: expected a non-negative integer, got -1", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"values_count\":{\"gt\":1.5}}]}", SC_INVALID,
          "filter.must[0].values_count.gt: expected a non-negative integer", NULL);
    t_bad("{\"must\":[{\"key\":\"a\",\"is_empty\":1}]}", SC_INVALID, "filter.must[0].is_empty: expected a boolean", NULL);
    t_bad("{\"must\":{\"is_empty\":{\"key\":1}}}", SC_INVALID, "filter.must.is_empty.key: expected a string", NULL);
    t_bad("{\"must\":{\"is_empty\":\"a\"}}", SC_INVALID, "filter.must.is_empty: expected an object", NULL);
    t_bad("{\"must\":{\"is_null\":{\"key\":\"a\",\"x\":1}}}", SC_INVALID,
          "filter.must.is_null: expected an object with only a key member", NULL);
    t_bad("{\"must\":{\"has_id\":[1,-2]}}", SC_INVALID,
          "filter.must.has_id[1]: expected an unsigned integer or a UUID string, got -2", NULL);
    t_bad("{\"must\":{\"has_id\":[\"not-a-uuid\"]}}", SC_INVALID, "filter.must.has_id[0]", "\"not-a-uuid\"");
    t_bad("{\"must\":{\"has_id\":5}}", SC_INVALID, "filter.must.has_id: expected an array", NULL);
    t_bad("{\"must\":{\"nested\":{\"key\":\"d\"}}}", SC_INVALID, "filter.must.nested.filter: expected a filter object",
          NULL);
    t_bad("{\"must\":{\"nested\":{\"key\":\"d\",\"filter\":{},\"x\":1}}}", SC_INVALID,
          "filter.must.nested: unknown member \"x\"", NULL);
    t_bad("{\"must\":{\"nested\":{\"key\":\"d\",\"filter\":{\"must\":[{\"key\":\"x\",\"range\":{\"lt\":\"?\"}}]}}}}",
          SC_INVALID, "filter.must.nested.filter.must[0].range.lt: expected a number, got \"?\"", NULL);
    t_bad("{\"should\":[{\"must\":[{},{\"must_not\":{\"key\":\"a\"}}]}]}", SC_INVALID,
          "filter.should[0].must[1].must_not: At least one field condition must be specified: the condition on \"a\" has no test", NULL);
    t_bad("{\"min_should\":{\"conditions\":[],\"min_count\":-1}}", SC_INVALID,
          "filter.min_should.min_count: expected a non-negative integer", NULL);
    t_bad("{\"min_should\":{\"conditions\":{},\"min_count\":1}}", SC_INVALID,
          "filter.min_should.conditions: expected an array", NULL);
    t_bad("{\"min_should\":{\"conditions\":[3],\"min_count\":1}}", SC_INVALID,
          "filter.min_should.conditions[0]: expected a condition object", NULL);
    t_bad("{\"must\":[{},{\"has_id\":[1],\"must\":[]}]}", SC_INVALID,
          "filter.must[1]: a \"has_id\" condition must be the only member", NULL);
    t_bad("{\"must\":{\"key\":\"t\",\"range\":{\"gt\":\"2020-01-01T00:00+05:\"}}}", SC_INVALID,
          "filter.must.range.gt: expected a number, got \"2020-01-01T00:00+05:\"", "RFC 3339");
    t_bad("{\"min_should\":{\"conditions\":[],\"min_count\":1,\"x\":2}}", SC_INVALID,
          "filter.min_should: unknown member \"x\"", NULL);
}

static void test_unsupported(void **state) {
    (void)state;
    /* Geo shapes are checked as Qdrant does (filter_geo.c). */
    t_bad("{\"must\":[{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lon\":190,\"lat\":2},\"radius\":5}}]}",
          SC_INVALID, "filter.must[0].geo_radius.center.lon", "out of range");
    t_bad("{\"must\":{\"key\":\"loc\",\"geo_polygon\":{\"exterior\":{\"points\":[{\"lon\":0,\"lat\":0},"
          "{\"lon\":1,\"lat\":0},{\"lon\":0,\"lat\":0}]}}}}",
          SC_INVALID, "filter.must.geo_polygon.exterior", "at least 4, got 3");
    t_bad("{\"must\":{\"key\":\"loc\",\"geo_polygon\":{\"exterior\":{\"points\":[{\"lon\":0,\"lat\":0},"
          "{\"lon\":1,\"lat\":0},{\"lon\":1,\"lat\":1},{\"lon\":0,\"lat\":1}]}}}}",
          SC_INVALID, "geo_polygon.exterior", "closed line");
    t_bad("{\"must\":{\"nested\":{\"key\":\"d\",\"filter\":{\"must\":{\"has_vector\":\"code\"}}}}}", SC_UNSUPPORTED,
          "has_vector", "nested");
    t_bad("{\"must\":{\"nested\":{\"key\":\"d\",\"filter\":{\"must\":{\"has_id\":[1]}}}}}", SC_UNSUPPORTED,
          "filter.must.nested.filter.must.has_id", "nested");
}

/* has_vector asks the point (filter_match_point): true for the names it
** has; false without a way to ask; the name must be a string. */
static bool tf__has_code(const void *ctx, const char *name) {
    (void)ctx;
    return !strcmp(name, "code");
}

static void test_has_vector(void **state) {
    (void)state;
    store_filter *f = NULL;
    sc_err err = {0};
    sc_point_id id = sc_point_id_num(1);
    filter_point with = {.id = &id, .has_vector = tf__has_code}, without = {.id = &id};
    assert_int_equal(filter_compile_text("{\"must\":[{\"has_vector\":\"code\"}]}", &f, &err), SC_OK);
    assert_true(filter_match_point(f, &with, NULL));
    assert_false(filter_match_point(f, &without, NULL));
    filter_free(f);
    assert_int_equal(filter_compile_text("{\"must_not\":[{\"has_vector\":\"text\"}]}", &f, &err), SC_OK);
    assert_true(filter_match_point(f, &with, NULL));
    filter_free(f);
    t_bad("{\"must\":[{\"has_vector\":3}]}", SC_INVALID, "filter.must[0]", "vector name");
}

static void test_depth(void **state) {
    (void)state;
    char *buf = malloc(64 * 1024);
    assert_non_null(buf);
    /* FILTER_MAX_DEPTH (64) levels pass, one more fails. */
    for (int levels = 63; levels <= 66; levels++) {
        size_t n = 0;
        for (int i = 0; i < levels; i++) n += (size_t)sprintf(buf + n, "{\"must\":[");
        n += (size_t)sprintf(buf + n, "{\"key\":\"a\",\"match\":{\"value\":1}}");
        for (int i = 0; i < levels; i++) n += (size_t)sprintf(buf + n, "]}");
        store_filter *f = NULL;
        sc_err err;
        sc_err_clear(&err);
        sc_status rc = filter_compile_text(buf, &f, &err);
        if (levels <= 64) {
            assert_int_equal(rc, SC_OK);
            json_t *p = json_loads("{\"a\":1}", 0, NULL);
            assert_true(filter_match(f, NULL, p));
            json_decref(p);
            filter_free(f);
        } else {
            assert_int_equal(rc, SC_INVALID);
            assert_non_null(strstr(err.msg, "deeper than 64"));
            assert_non_null(strstr(err.msg, "filter.must[0].must[0]"));
        }
    }
    /* Nested conditions count as levels too; jansson's own limit stops worse. */
    size_t n = 0;
    for (int i = 0; i < 100; i++) n += (size_t)sprintf(buf + n, "{\"must\":{\"nested\":{\"key\":\"a\",\"filter\":");
    n += (size_t)sprintf(buf + n, "{}");
    for (int i = 0; i < 100; i++) n += (size_t)sprintf(buf + n, "}}}");
    t_bad(buf, SC_INVALID, "deeper than 64", NULL);
    n = 0;
    for (int i = 0; i < 5000; i++) buf[n++] = '[';
    buf[n] = '\0';
    t_bad(buf, SC_INVALID, "invalid JSON", NULL);
    /* Key paths are bounded too. */
    n = (size_t)sprintf(buf, "{\"must\":{\"key\":\"");
    for (int i = 0; i < 200; i++) n += (size_t)sprintf(buf + n, "a.");
    sprintf(buf + n, "a\",\"match\":{\"value\":1}}}");
    t_bad(buf, SC_INVALID, "filter.must.key: invalid key path", "more than 128 steps");
    free(buf);
}

/* ==== Payload indexes ==== */

static json_t *t_json(const char *text) {
    json_t *j = json_loads(text, 0, NULL);
    if (!j) fail_msg("bad test JSON %s", text);
    return j;
}

/* Plan filter over indexes; returns the owned bitmap (NULL = not narrowed). */
static roaring_bitmap_t *t_plan(const char *filter, store_pindex *const *ixs, size_t n, const roaring_bitmap_t *all,
                                bool *exact) {
    store_filter *f = NULL;
    sc_err err;
    if (filter_compile_text(filter, &f, &err) != SC_OK) fail_msg("%s: %s", filter, err.msg);
    roaring_bitmap_t *bm = NULL;
    assert_int_equal(filter_plan(f, ixs, n, all, &bm, exact), SC_OK);
    filter_free(f);
    return bm;
}

static void t_expect_bm(roaring_bitmap_t *bm, const uint32_t *want, size_t n_want) {
    assert_non_null(bm);
    roaring_bitmap_t *w = roaring_bitmap_of_ptr(n_want, want);
    if (!roaring_bitmap_equals(bm, w)) {
        roaring_bitmap_printf(bm);
        fail_msg("bitmap differs");
    }
    roaring_bitmap_free(w);
    roaring_bitmap_free(bm);
}

static void test_pindex_basic(void **state) {
    (void)state;
    const char *payloads[] = {
        "{\"kw\":\"red\",\"n\":1,\"f\":0.5,\"b\":true}",
        "{\"kw\":[\"red\",\"blue\"],\"n\":[2,3],\"f\":-1,\"b\":false}",
        "{\"kw\":5,\"n\":2.5,\"f\":\"x\",\"b\":[true,false]}",
        "{\"kw\":null,\"n\":null}",
        "{}",
    };
    store_pindex *ix[4] = {pindex_new("kw", SC_FIELD_TYPE_KEYWORD), pindex_new("n", SC_FIELD_TYPE_INTEGER),
                           pindex_new("f", SC_FIELD_TYPE_FLOAT), pindex_new("b", SC_FIELD_TYPE_BOOL)};
    for (int i = 0; i < 4; i++) assert_non_null(ix[i]);
    assert_null(pindex_new("a..b", SC_FIELD_TYPE_KEYWORD));
    assert_string_equal(pindex_key(ix[1]), "n");
    assert_int_equal(pindex_type(ix[2]), SC_FIELD_TYPE_FLOAT);
    roaring_bitmap_t *all = roaring_bitmap_create();
    json_t *pj[5];
    for (uint32_t s = 0; s < 5; s++) {
        pj[s] = t_json(payloads[s]);
        for (int i = 0; i < 4; i++) assert_int_equal(pindex_add(ix[i], s, pj[s]), SC_OK);
        roaring_bitmap_add(all, s);
    }
    assert_int_equal(pindex_n_points(ix[0]), 2);
    assert_int_equal(pindex_n_points(ix[1]), 2);
    assert_int_equal(pindex_n_points(ix[2]), 2);
    assert_int_equal(pindex_n_points(ix[3]), 3);
    assert_true(pindex_mem_bytes(ix[0]) > 0);
    bool exact;
    t_expect_bm(t_plan("{\"must\":{\"key\":\"kw\",\"match\":{\"value\":\"red\"}}}", ix, 4, all, &exact),
                (uint32_t[]){0, 1}, 2);
    assert_true(exact);
    t_expect_bm(t_plan("{\"must\":{\"key\":\"kw\",\"match\":{\"except\":[\"red\"]}}}", ix, 4, all, &exact),
                (uint32_t[]){1, 2}, 2);
    assert_true(exact);
    t_expect_bm(t_plan("{\"must\":{\"key\":\"kw\",\"match\":{\"text\":\"lu\"}}}", ix, 4, all, &exact),
                (uint32_t[]){1}, 1);
    assert_true(exact);
    t_expect_bm(t_plan("{\"must\":{\"key\":\"n\",\"match\":{\"any\":[3,1]}}}", ix, 4, all, &exact),
                (uint32_t[]){0, 1}, 2);
    assert_true(exact);
    /* The real 2.5 is not in the integer index: kept as a candidate. */
    t_expect_bm(t_plan("{\"must\":{\"key\":\"n\",\"range\":{\"gte\":2}}}", ix, 4, all, &exact), (uint32_t[]){1, 2}, 2);
    assert_false(exact);
    t_expect_bm(t_plan("{\"must\":{\"key\":\"f\",\"range\":{\"lt\":0.5}}}", ix, 4, all, &exact), (uint32_t[]){1}, 1);
    assert_true(exact);
    t_expect_bm(t_plan("{\"must\":{\"key\":\"b\",\"match\":{\"value\":false}}}", ix, 4, all, &exact),
                (uint32_t[]){1, 2}, 2);
    assert_true(exact);
    /* must_not of an exact set is exact; a should with an unindexed key is not narrowed. */
    t_expect_bm(t_plan("{\"must_not\":{\"key\":\"b\",\"match\":{\"value\":true}}}", ix, 4, all, &exact),
                (uint32_t[]){1, 3, 4}, 3);
    assert_true(exact);
    assert_null(t_plan("{\"should\":[{\"key\":\"b\",\"match\":{\"value\":true}},{\"key\":\"zz\",\"match\":"
                       "{\"value\":1}}]}",
                       ix, 4, all, &exact));
    assert_false(exact);
    t_expect_bm(t_plan("{}", ix, 4, all, &exact), (uint32_t[]){0, 1, 2, 3, 4}, 5);
    assert_true(exact);
    t_expect_bm(t_plan("{\"must\":{\"is_empty\":{\"key\":\"kw\"}}}", ix, 4, all, &exact), (uint32_t[]){3, 4}, 2);
    assert_false(exact);
    /* Removal drops the values again. */
    for (uint32_t s = 0; s < 5; s++) {
        for (int i = 0; i < 4; i++) pindex_remove(ix[i], s, pj[s]);
        json_decref(pj[s]);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pindex_n_points(ix[i]), 0);
    }
    t_expect_bm(t_plan("{\"must\":{\"key\":\"n\",\"range\":{\"gte\":-100}}}", ix, 4, all, &exact), NULL, 0);
    assert_true(exact);
    for (int i = 0; i < 4; i++) pindex_free(ix[i]);
    pindex_free(NULL);
    roaring_bitmap_free(all);
}

/* Readers plan concurrently while the sorted range array is stale. */
typedef struct t_plan_arg {
    store_pindex *ix;        /* shared index */
    const store_filter *f;   /* shared filter */
    const roaring_bitmap_t *all; /* live slots */
    uint64_t card;           /* cardinality of the last plan */
    bool ok;                 /* every plan succeeded with the same answer */
} t_plan_arg;

static void *t_plan_thread(void *arg) {
    t_plan_arg *a = arg;
    a->ok = true;
    for (int i = 0; i < 50; i++) {
        roaring_bitmap_t *bm = NULL;
        bool exact = false;
        if (filter_plan(a->f, &a->ix, 1, a->all, &bm, &exact) != SC_OK || !bm || !exact) a->ok = false;
        if (bm) {
            uint64_t c = roaring_bitmap_get_cardinality(bm);
            if (i && c != a->card) a->ok = false;
            a->card = c;
            roaring_bitmap_free(bm);
        }
    }
    return NULL;
}

static void test_plan_threads(void **state) {
    (void)state;
    store_pindex *ix = pindex_new("v", SC_FIELD_TYPE_INTEGER);
    roaring_bitmap_t *all = roaring_bitmap_create();
    for (uint32_t s = 0; s < 5000; s++) {
        json_t *p = json_pack("{s:I}", "v", (json_int_t)(s % 100));
        assert_int_equal(pindex_add(ix, s, p), SC_OK);
        json_decref(p);
        roaring_bitmap_add(all, s);
    }
    store_filter *f = NULL;
    assert_int_equal(filter_compile_text("{\"must\":{\"key\":\"v\",\"range\":{\"gte\":10,\"lt\":20}}}", &f, NULL),
                     SC_OK);
    t_plan_arg a[2] = {{ix, f, all, 0, false}, {ix, f, all, 0, false}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, t_plan_thread, &a[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_true(a[i].ok);
        assert_int_equal(a[i].card, 500);
    }
    filter_free(f);
    /* API misuse and odd roots. */
    sc_err err;
    sc_err_clear(&err);
    assert_int_equal(filter_compile(NULL, &f, &err), SC_INVALID);
    assert_null(f);
    assert_non_null(strstr(err.msg, "filter: expected a filter object, got nothing"));
    assert_int_equal(filter_compile(NULL, NULL, NULL), SC_MISUSE);
    assert_int_equal(filter_plan(NULL, NULL, 0, all, NULL, NULL), SC_MISUSE);
    pindex_free(ix);
    roaring_bitmap_free(all);
}

/* ==== Property test: plan ⊇ match ==== */

static uint64_t t_rng = 0x9e3779b97f4a7c15ULL;

static uint32_t t_rand(uint32_t n) {
    t_rng ^= t_rng << 13;
    t_rng ^= t_rng >> 7;
    t_rng ^= t_rng << 17;
    return (uint32_t)((t_rng >> 11) % n);
}

static const char *const t_words[] = {"red", "green", "blue", "black", "dark red", "light blue", "", "Red"};
#define T_N_WORDS (sizeof t_words / sizeof *t_words)

static json_t *t_rand_word(void) {
    return json_string(t_words[t_rand(T_N_WORDS)]);
}

/* A value for a keyword-ish key: mostly strings, sometimes other things. */
static json_t *t_rand_kw_value(void) {
    switch (t_rand(8)) {
    case 0: return json_null();
    case 1: return json_integer(t_rand(3));
    case 2: {
        json_t *a = json_array();
        for (uint32_t i = t_rand(4); i > 0; i--) json_array_append_new(a, t_rand(6) ? t_rand_word() : json_integer(1));
        return a;
    }
    default: return t_rand_word();
    }
}

static json_t *t_rand_num_value(bool reals) {
    switch (t_rand(10)) {
    case 0: return json_null();
    case 1: return json_string("3");
    case 2: return reals ? json_real((double)t_rand(21) / 2 - 5) : json_integer((json_int_t)t_rand(11) - 5);
    case 3: {
        json_t *a = json_array();
        for (uint32_t i = t_rand(4); i > 0; i--) json_array_append_new(a, json_integer((json_int_t)t_rand(11) - 5));
        return a;
    }
    case 4: return json_real((double)t_rand(2001) / 100.0 - 10);
    default: return json_integer((json_int_t)t_rand(11) - 5);
    }
}

static json_t *t_rand_payload(void) {
    json_t *p = json_object();
    if (t_rand(10)) json_object_set_new(p, "kw", t_rand_kw_value());
    if (t_rand(10)) json_object_set_new(p, "num", t_rand_num_value(t_rand(4) == 0));
    if (t_rand(10)) json_object_set_new(p, "score", t_rand_num_value(true));
    if (t_rand(10)) {
        json_t *b;
        switch (t_rand(6)) {
        case 0: b = json_null(); break;
        case 1: b = json_string("true"); break;
        case 2: b = json_pack("[bb]", t_rand(2), t_rand(2)); break;
        default: b = json_boolean(t_rand(2));
        }
        json_object_set_new(p, "flag", b);
    }
    if (t_rand(3)) {
        json_t *o = json_object();
        if (t_rand(5)) json_object_set_new(o, "k", t_rand_kw_value());
        if (t_rand(4) == 0) {
            json_t *a = json_array();
            json_array_append_new(a, o);
            json_array_append_new(a, json_pack("{s:o}", "k", t_rand_kw_value()));
            o = a;
        }
        json_object_set_new(p, "obj", o);
    }
    if (t_rand(3)) {
        json_t *a = json_array();
        for (uint32_t i = t_rand(4); i > 0; i--)
            json_array_append_new(a, json_pack("{s:o,s:o}", "k", t_rand_word(), "n", t_rand_num_value(false)));
        json_object_set_new(p, "items", a);
    }
    return p;
}

static const char *const t_kw_keys[] = {"kw", "obj.k", "items[].k", "nokey"};
static const char *const t_num_keys[] = {"num", "score", "items[].n", "kw"};

static json_t *t_rand_filter(int depth, bool nested);

static json_t *t_rand_cond(int depth, bool nested) {
    const char *kk = t_kw_keys[t_rand(4)], *nk = t_num_keys[t_rand(4)];
    switch (t_rand(nested ? 12 : 14)) {
    case 0: return json_pack("{s:s,s:{s:o}}", "key", kk, "match", "value", t_rand_word());
    case 1: return json_pack("{s:s,s:{s:i}}", "key", t_rand(2) ? nk : kk, "match", "value", (int)t_rand(11) - 5);
    case 2: return json_pack("{s:s,s:{s:b}}", "key", t_rand(2) ? "flag" : kk, "match", "value", t_rand(2));
    case 3:
    case 4: {
        json_t *list = json_array();
        bool ints = t_rand(3) == 0;
        for (uint32_t i = t_rand(4); i > 0; i--)
            json_array_append_new(list, ints ? json_integer((json_int_t)t_rand(11) - 5) : t_rand_word());
        return json_pack("{s:s,s:{s:o}}", "key", ints && t_rand(2) ? nk : kk, "match", t_rand(2) ? "any" : "except",
                         list);
    }
    case 5: {
        static const char *const tm[] = {"text", "text_any", "phrase"};
        static const char *const tq[] = {"re", "dark", "blue red", "e", "x"};
        return json_pack("{s:s,s:{s:s}}", "key", kk, "match", tm[t_rand(3)], tq[t_rand(5)]);
    }
    case 6:
    case 7: {
        json_t *r = json_object();
        static const char *const ops[] = {"gt", "gte", "lt", "lte"};
        for (int i = 0; i < 4; i++)
            if (t_rand(2))
                json_object_set_new(r, ops[i], t_rand(2) ? json_integer((json_int_t)t_rand(11) - 5)
                                                         : json_real((double)t_rand(21) / 2 - 5));
        return json_pack("{s:s,s:o}", "key", nk, "range", r);
    }
    case 8: return json_pack("{s:{s:s}}", t_rand(2) ? "is_empty" : "is_null", "key", t_rand(2) ? kk : nk);
    case 9: return json_pack("{s:s,s:{s:i}}", "key", t_rand(2) ? kk : nk, "values_count", t_rand(2) ? "gt" : "lte",
                             (int)t_rand(3));
    case 10:
    case 11:
        if (depth < 3) return t_rand_filter(depth + 1, nested);
        return json_pack("{s:s,s:{s:o}}", "key", kk, "match", "value", t_rand_word());
    case 12: return json_pack("{s:[i,i,i]}", "has_id", (int)t_rand(2000), (int)t_rand(2000), (int)t_rand(2000));
    default:
        if (depth < 3)
            return json_pack("{s:{s:s,s:o}}", "nested", "key", t_rand(2) ? "items" : "obj", "filter",
                             t_rand_filter(depth + 1, true));
        return json_pack("{s:{s:s}}", "is_empty", "key", kk);
    }
}

static json_t *t_rand_clause(int depth, bool nested) {
    if (t_rand(4) == 0) return t_rand_cond(depth, nested);
    json_t *a = json_array();
    for (uint32_t i = t_rand(4); i > 0; i--) json_array_append_new(a, t_rand_cond(depth, nested));
    return a;
}

static json_t *t_rand_filter(int depth, bool nested) {
    json_t *f = json_object();
    if (t_rand(3)) json_object_set_new(f, "must", t_rand_clause(depth, nested));
    if (t_rand(3) == 0) json_object_set_new(f, "should", t_rand_clause(depth, nested));
    if (t_rand(4) == 0) json_object_set_new(f, "must_not", t_rand_clause(depth, nested));
    if (t_rand(6) == 0) {
        json_t *c = json_array();
        for (uint32_t i = t_rand(4); i > 0; i--) json_array_append_new(c, t_rand_cond(depth, nested));
        json_object_set_new(f, "min_should", json_pack("{s:o,s:i}", "conditions", c, "min_count", (int)t_rand(3)));
    }
    return f;
}

#define T_N_SLOTS 2000
#define T_N_FILTERS 200

/* Check every filter against the indexes; counts narrowed / exact plans. */
static void t_check_filters(store_filter **fs, char **texts, store_pindex *const *ixs, size_t n_ixs,
                            json_t **payloads, const roaring_bitmap_t *all, size_t *n_narrowed, size_t *n_exact) {
    for (size_t k = 0; k < T_N_FILTERS; k++) {
        roaring_bitmap_t *bm = NULL;
        bool exact = false;
        assert_int_equal(filter_plan(fs[k], ixs, n_ixs, all, &bm, &exact), SC_OK);
        if (bm) {
            (*n_narrowed)++;
            assert_true(roaring_bitmap_is_subset(bm, all));
        }
        if (exact) (*n_exact)++;
        for (uint32_t s = 0; s < T_N_SLOTS; s++) {
            if (!roaring_bitmap_contains(all, s)) continue;
            sc_point_id id = sc_point_id_num(s);
            bool m = filter_match(fs[k], &id, payloads[s]);
            bool in = !bm || roaring_bitmap_contains(bm, s);
            if (m && !in) {
                char *p = json_dumps(payloads[s], JSON_COMPACT);
                fail_msg("plan misses slot %u\nfilter %s\npayload %s", s, texts[k], p);
            }
            if (exact && in != m) {
                char *p = json_dumps(payloads[s], JSON_COMPACT);
                fail_msg("exact plan wrong at slot %u (in=%d match=%d)\nfilter %s\npayload %s", s, in, m, texts[k], p);
            }
        }
        if (bm) roaring_bitmap_free(bm);
    }
}

static void test_plan_property(void **state) {
    (void)state;
    store_pindex *ixs[] = {
        pindex_new("kw", SC_FIELD_TYPE_KEYWORD),     pindex_new("num", SC_FIELD_TYPE_INTEGER),
        pindex_new("score", SC_FIELD_TYPE_FLOAT),    pindex_new("flag", SC_FIELD_TYPE_BOOL),
        pindex_new("obj.k", SC_FIELD_TYPE_KEYWORD),  pindex_new("items[].k", SC_FIELD_TYPE_KEYWORD),
        pindex_new("items[].n", SC_FIELD_TYPE_INTEGER),
    };
    const size_t n_ixs = sizeof ixs / sizeof *ixs;
    for (size_t i = 0; i < n_ixs; i++) assert_non_null(ixs[i]);
    json_t **payloads = calloc(T_N_SLOTS, sizeof *payloads);
    roaring_bitmap_t *all = roaring_bitmap_create();
    for (uint32_t s = 0; s < T_N_SLOTS; s++) {
        payloads[s] = t_rand_payload();
        for (size_t i = 0; i < n_ixs; i++) assert_int_equal(pindex_add(ixs[i], s, payloads[s]), SC_OK);
        roaring_bitmap_add(all, s);
    }
    store_filter *fs[T_N_FILTERS];
    char *texts[T_N_FILTERS];
    for (size_t k = 0; k < T_N_FILTERS; k++) {
        json_t *j = t_rand_filter(0, false);
        texts[k] = json_dumps(j, JSON_COMPACT);
        sc_err err;
        sc_err_clear(&err);
        if (filter_compile(j, &fs[k], &err) != SC_OK) fail_msg("%s: %s", texts[k], err.msg);
        json_decref(j);
    }
    size_t n_narrowed = 0, n_exact = 0;
    t_check_filters(fs, texts, ixs, n_ixs, payloads, all, &n_narrowed, &n_exact);
    /* Churn: replace or delete a quarter of the points, then check again. */
    for (int round = 0; round < 2; round++) {
        for (int c = 0; c < T_N_SLOTS / 4; c++) {
            uint32_t s = t_rand(T_N_SLOTS);
            if (payloads[s]) {
                for (size_t i = 0; i < n_ixs; i++) pindex_remove(ixs[i], s, payloads[s]);
                json_decref(payloads[s]);
                payloads[s] = NULL;
                roaring_bitmap_remove(all, s);
            }
            if (t_rand(4)) {
                payloads[s] = t_rand_payload();
                for (size_t i = 0; i < n_ixs; i++) assert_int_equal(pindex_add(ixs[i], s, payloads[s]), SC_OK);
                roaring_bitmap_add(all, s);
            }
        }
        t_check_filters(fs, texts, ixs, n_ixs, payloads, all, &n_narrowed, &n_exact);
    }
    /* The test is only meaningful when the indexes did work. */
    print_message("plans: %zu narrowed, %zu exact of %d\n", n_narrowed, n_exact, 3 * T_N_FILTERS);
    assert_true(n_narrowed > 3 * T_N_FILTERS / 5);
    assert_true(n_exact > 3 * T_N_FILTERS / 10);
    /* Removing everything empties the indexes. */
    for (uint32_t s = 0; s < T_N_SLOTS; s++) {
        if (!payloads[s]) continue;
        for (size_t i = 0; i < n_ixs; i++) pindex_remove(ixs[i], s, payloads[s]);
        json_decref(payloads[s]);
    }
    for (size_t i = 0; i < n_ixs; i++) {
        assert_int_equal(pindex_n_points(ixs[i]), 0);
        pindex_free(ixs[i]);
    }
    for (size_t k = 0; k < T_N_FILTERS; k++) {
        filter_free(fs[k]);
        free(texts[k]);
    }
    free(payloads);
    roaring_bitmap_free(all);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_value),      cmocka_unit_test(test_match_any_except),
        cmocka_unit_test(test_match_text),       cmocka_unit_test(test_range),
        cmocka_unit_test(test_values_count),     cmocka_unit_test(test_is_empty_is_null),
        cmocka_unit_test(test_has_id),           cmocka_unit_test(test_key_paths),
        cmocka_unit_test(test_nested_condition), cmocka_unit_test(test_clauses),
        cmocka_unit_test(test_invalid),          cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_has_vector),
        cmocka_unit_test(test_depth),            cmocka_unit_test(test_pindex_basic),
        cmocka_unit_test(test_plan_threads),     cmocka_unit_test(test_plan_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
