/*
** Unit tests of the store backend module (src/backend/): store locations
** (qdrant:// URLs and folders), the configuration file, the checks made
** before use (errors and warnings), BM25 terms as sparse vectors, and the
** embedded backend through the interface, with the client-side hybrid
** fusion a backend without its own gets. The Qdrant backend itself is
** tested end to end against a real server (tests/e2e/backend.test.mjs).
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "backend/backend.h"
#include "testutil.h"

/* ==== Locations ==== */

static void test_url_full(void **state) {
    (void)state;
    backend_config c = backend_config_default();
    sc_err err = {0};
    assert_int_equal(backend_url_parse("qdrants://db.example.org:7443/my_code?timeout_ms=12000&retries=5&"
                                       "connections=8&batch=64&shards=6&replicas=2&write_consistency=2&"
                                       "api_key_env=MY_KEY&ca=/etc/ca.pem",
                                       &c, &err),
                     SC_OK);
    assert_int_equal(c.kind, BACKEND_KIND_QDRANT);
    assert_true(c.tls);
    assert_string_equal(c.host, "db.example.org");
    assert_int_equal(c.port, 7443);
    assert_string_equal(c.collection, "my_code");
    assert_int_equal(c.timeout_ms, 12000);
    assert_int_equal(c.max_retries, 5);
    assert_int_equal(c.max_connections, 8);
    assert_int_equal(c.batch_size, 64);
    assert_int_equal(c.shard_number, 6);
    assert_int_equal(c.replication_factor, 2);
    assert_int_equal(c.write_consistency_factor, 2);
    assert_string_equal(c.api_key_env, "MY_KEY");
    assert_string_equal(c.ca_file, "/etc/ca.pem");
    backend_config_free(&c);
}

static void test_url_defaults_and_forms(void **state) {
    (void)state;
    backend_config c = backend_config_default();
    sc_err err = {0};
    assert_int_equal(backend_url_parse("qdrant://localhost", &c, &err), SC_OK);
    assert_false(c.tls);
    assert_int_equal(c.port, 6333);
    assert_string_equal(c.collection, "code");
    assert_int_equal(c.timeout_ms, BACKEND_DEFAULT_TIMEOUT_MS);
    assert_int_equal(backend_url_parse("qdrant://[::1]:6334/c?tls=true", &c, &err), SC_OK);
    assert_string_equal(c.host, "::1");
    assert_int_equal(c.port, 6334);
    assert_true(c.tls);
    backend_config_free(&c);
    /* a folder */
    c = backend_config_default();
    assert_int_equal(backend_url_parse("/var/lib/semcode", &c, &err), SC_OK);
    assert_int_equal(c.kind, BACKEND_KIND_EMBEDDED);
    assert_string_equal(c.dir, "/var/lib/semcode");
    assert_true(backend_is_url("qdrant://h"));
    assert_false(backend_is_url("./qdrant"));
    backend_config_free(&c);
}

/* Parse s into a fresh configuration: the status, err's message in err. */
static sc_status tb__parse(const char *s, sc_err *err) {
    backend_config c = backend_config_default();
    sc_status rc = backend_url_parse(s, &c, err);
    backend_config_free(&c);
    return rc;
}

static void test_url_errors_name_the_part(void **state) {
    (void)state;
    static const struct {
        const char *url, *msg;
    } bad[] = {
        {"http://host:6333/c", "unknown scheme"},
        {"qdrant://:6333/c", "no host"},
        {"qdrant://h:0/c", "port '0' is not a number within 1..65535"},
        {"qdrant://h:65536/c", "port '65536'"},
        {"qdrant://h:12ab/c", "port '12ab'"},
        {"qdrant://h/c?timeout_ms=abc", "timeout_ms: 'abc' is not a whole number"},
        {"qdrant://h/c?timeout_ms=-5", "timeout_ms: '-5'"},
        {"qdrant://h/c?tls=maybe", "tls: 'maybe' is not true or false"},
        {"qdrant://h/c?colour=blue", "unknown store setting 'colour'"},
        {"qdrant://h/c?batch", "parameter 'batch' has no value"},
        {"qdrant://h/a:b", "collection name 'a:b'"},
        {"qdrant://[::1/c", "without ']'"},
        {"qdrant://user@h/c", "bad character in the host"},
        {"", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sc_err err = {0};
        assert_int_equal(tb__parse(bad[i].url, &err), SC_INVALID);
        if (!strstr(err.msg, bad[i].msg)) fail_msg("%s: got '%s', want '%s'", bad[i].url, err.msg, bad[i].msg);
    }
}

/* ==== Configuration file ==== */

static char *tb__write(const char *dir, const char *name, const char *text) {
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static void test_config_file(void **state) {
    (void)state;
    char *dir = tu_tmpdir("backend-cfg");
    char *good = tb__write(dir, "good.json",
                           "{\"store\": {\"url\": \"qdrant://q1:6333/code\", \"timeout_ms\": 20000, "
                           "\"shard_number\": 3, \"replication_factor\": 2, \"tls\": true}}");
    backend_config c = backend_config_default();
    sc_err err = {0};
    assert_int_equal(backend_config_load(good, &c, &err), SC_OK);
    assert_string_equal(c.host, "q1");
    assert_int_equal(c.timeout_ms, 20000);
    assert_int_equal(c.shard_number, 3);
    assert_int_equal(c.replication_factor, 2);
    assert_true(c.tls);
    /* a URL given later wins over the file's */
    assert_int_equal(backend_url_parse("qdrant://q2/other", &c, &err), SC_OK);
    assert_string_equal(c.host, "q2");
    assert_int_equal(c.shard_number, 3);
    backend_config_free(&c);
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"{\"store\": {\"timeot_ms\": 5}}", "unknown store setting 'timeot_ms'"},
        {"{\"store\": {\"timeout_ms\": \"fast\"}}", "store.timeout_ms must be a number"},
        {"{\"store\": {\"timeout_ms\": -1}}", "store.timeout_ms must be a string, a number >= 0 or a boolean"},
        {"{\"store\": []}", "\"store\" must be an object"},
        {"{\"stores\": {}}", "unknown section 'stores'"},
        {"{\"store\": {\"url\": 5}}", "store.url must be a string"},
        {"{\"store\": {\"port\": 1, \"port\": 2}}", "duplicate object key"},
        {"{\"store\": {\n  \"url\": \"qdrant://h\",\n}", ":3:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *p = tb__write(dir, "bad.json", bad[i].text);
        backend_config b = backend_config_default();
        sc_err e = {0};
        assert_int_equal(backend_config_load(p, &b, &e), SC_INVALID);
        if (!strstr(e.msg, bad[i].msg)) fail_msg("%s: got '%s', want '%s'", bad[i].text, e.msg, bad[i].msg);
        backend_config_free(&b);
        free(p);
    }
    free(good);
    tu_rmdir(dir);
}

/* ==== Checks ==== */

/* The check's finding on field, or NULL. */
static const backend_diag *tb__diag(const backend_check *k, const char *field) {
    for (uint32_t i = 0; i < k->n; i++)
        if (!strcmp(k->diags[i].field, field)) return &k->diags[i];
    return NULL;
}

static void test_checks(void **state) {
    (void)state;
    backend_config c = backend_config_default();
    sc_err err = {0};
    backend_check k;
    assert_int_equal(backend_url_parse("qdrant://127.0.0.1:6333/code", &c, &err), SC_OK);
    backend_config_check(&c, 384, false, &k);
    assert_int_equal(k.n, 0);
    /* warnings: a short timeout, many connections, TLS without a CA */
    c.timeout_ms = 4999;
    c.max_connections = BACKEND_WARN_CONNECTIONS + 1;
    c.tls = true;
    backend_config_check(&c, 384, false, &k);
    assert_int_equal(k.n_errors, 0);
    assert_non_null(tb__diag(&k, "timeout_ms"));
    assert_false(tb__diag(&k, "timeout_ms")->error);
    assert_non_null(tb__diag(&k, "max_connections"));
    assert_non_null(tb__diag(&k, "ca"));
    assert_non_null(strstr(tb__diag(&k, "ca")->msg, "TLS without a CA file"));
    /* errors: each names its field */
    c.timeout_ms = 0;
    c.max_connections = BACKEND_MAX_CONNECTIONS + 1;
    c.batch_size = 0;
    c.ca_file = strdup("/nonexistent/ca.pem");
    c.replication_factor = 2;
    c.write_consistency_factor = 3;
    backend_config_check(&c, BACKEND_QDRANT_MAX_DIM + 1, false, &k);
    static const char *const errs[] = {"timeout_ms", "max_connections", "batch_size", "ca", "write_consistency_factor", "dim"};
    assert_int_equal(k.n_errors, sizeof errs / sizeof *errs);
    for (size_t i = 0; i < sizeof errs / sizeof *errs; i++) {
        const backend_diag *d = tb__diag(&k, errs[i]);
        if (!d || !d->error) fail_msg("no error on %s", errs[i]);
    }
    /* a named API key variable that is not set */
    backend_config_free(&c);
    c = backend_config_default();
    assert_int_equal(backend_url_parse("qdrant://127.0.0.1/code?api_key_env=SEMCODE_TEST_UNSET_KEY", &c, &err), SC_OK);
    unsetenv("SEMCODE_TEST_UNSET_KEY");
    backend_config_check(&c, 0, false, &k);
    assert_true(tb__diag(&k, "api_key_env") && tb__diag(&k, "api_key_env")->error);
    /* a key over plain http to another host: a warning */
    setenv("SEMCODE_TEST_UNSET_KEY", "secret", 1);
    free(c.host);
    c.host = strdup("db.example.org");
    backend_config_check(&c, 0, false, &k);
    assert_true(tb__diag(&k, "tls") && !tb__diag(&k, "tls")->error);
    unsetenv("SEMCODE_TEST_UNSET_KEY");
    /* an unreachable host, probed */
    free(c.host);
    c.host = strdup("127.0.0.1");
    c.port = 1;
    free(c.api_key_env);
    c.api_key_env = NULL;
    backend_config_check(&c, 0, true, &k);
    assert_true(tb__diag(&k, "host") && tb__diag(&k, "host")->error);
    assert_non_null(strstr(tb__diag(&k, "host")->msg, "unreachable"));
    backend_config_free(&c);
    /* embedded: only the dimension */
    c = backend_config_default();
    backend_config_check(&c, SC_MAX_DIM + 1, true, &k);
    assert_int_equal(k.n_errors, 1);
    assert_non_null(tb__diag(&k, "dim"));
}

/* TLS failures name the CA the server was checked against and what to do; others keep curl's words. */
static void test_curl_reasons(void **state) {
    (void)state;
    backend_config c = backend_config_default();
    char out[700];
    backend_curl_reason(CURLE_PEER_FAILED_VERIFICATION, "unable to get local issuer certificate", &c, out, sizeof out);
    assert_non_null(strstr(out, "not trusted by the system's CAs (unable to get local issuer certificate)"));
    assert_non_null(strstr(out, "ca=/path/to/ca.pem"));
    c.ca_file = strdup("/etc/semcode/ca.pem");
    backend_curl_reason(CURLE_PEER_FAILED_VERIFICATION, "", &c, out, sizeof out);
    assert_non_null(strstr(out, "not trusted by /etc/semcode/ca.pem ("));
    assert_non_null(strstr(out, "the CA that signed"));
    backend_curl_reason(CURLE_SSL_CACERT_BADFILE, "error setting certificate file", &c, out, sizeof out);
    assert_non_null(strstr(out, "the CA file /etc/semcode/ca.pem cannot be used"));
    backend_curl_reason(CURLE_SSL_CONNECT_ERROR, "wrong version number", &c, out, sizeof out);
    assert_non_null(strstr(out, "is the server speaking TLS"));
    backend_curl_reason(CURLE_COULDNT_CONNECT, "Failed to connect to 127.0.0.1 port 1", &c, out, sizeof out);
    assert_string_equal(out, "Failed to connect to 127.0.0.1 port 1");
    backend_curl_reason(CURLE_COULDNT_CONNECT, NULL, &c, out, sizeof out);
    assert_string_equal(out, curl_easy_strerror(CURLE_COULDNT_CONNECT));
    backend_config_free(&c);
}

/* ==== BM25 sparse vectors ==== */

static void test_bm25_sparse(void **state) {
    (void)state;
    uint32_t *idx = NULL, n = 0, *qidx = NULL, qn = 0;
    float *val = NULL, *qval = NULL;
    assert_int_equal(backend_bm25_sparse(NULL, "parse parse parse config_file", false, &idx, &val, &n), SC_OK);
    assert_true(n >= 2);
    for (uint32_t i = 1; i < n; i++) assert_true(idx[i - 1] < idx[i]);
    assert_int_equal(backend_bm25_sparse(NULL, "parse", true, &qidx, &qval, &qn), SC_OK);
    assert_int_equal(qn, 1);
    assert_true(qval[0] == 1.0f);
    /* the repeated term weighs more than a single one, and less than tf (saturation) */
    float w_parse = 0, w_min = 100;
    for (uint32_t i = 0; i < n; i++) {
        if (idx[i] == qidx[0]) w_parse = val[i];
        if (val[i] < w_min) w_min = val[i];
    }
    assert_true(w_parse > w_min);
    assert_true(w_parse < 3.0f);
    free(idx);
    free(val);
    free(qidx);
    free(qval);
    assert_int_equal(backend_bm25_sparse(NULL, "", false, &idx, &val, &n), SC_OK);
    assert_int_equal(n, 0);
    free(idx);
    free(val);
}

/* ==== The embedded backend ==== */

static void test_embedded_backend(void **state) {
    tu_store *f = *state;
    backend *b = NULL;
    sc_err err = {0};
    assert_int_equal(backend_embedded_new(f->db, &b, &err), SC_OK);
    const backend_caps *caps = backend_get_caps(b);
    assert_string_equal(caps->name, "embedded");
    assert_true(caps->ranking_stage);
    assert_false(caps->hybrid);
    assert_string_equal(backend_collection(b, "code"), "code");
    const char *kw[] = {"lang"};
    backend_collection_params p = {.vector_name = "v", .dim = 2, .distance = SC_DISTANCE_COSINE, .keyword = true,
                                   .keyword_fields = kw, .n_keyword_fields = 1};
    backend_collection_params huge = p;
    huge.dim = SC_MAX_DIM + 1;
    assert_int_equal(backend_collection_create(b, "c", &huge), SC_INVALID);
    assert_non_null(strstr(backend_errmsg(b), "over the embedded backend's largest"));
    assert_int_equal(backend_collection_create(b, "c", &p), SC_OK);
    assert_true(backend_collection_exists(b, "c"));
    float v[4][2] = {{1, 0}, {0.9f, 0.1f}, {0, 1}, {0.5f, 0.5f}};
    const char *texts[4] = {"alpha beta", "gamma", "delta parse", "parse parse"};
    sc_vector_in vi[4];
    sc_point_in pts[4];
    for (int i = 0; i < 4; i++) {
        vi[i] = (sc_vector_in){.name = "v", .data = v[i], .dim = 2};
        pts[i] = (sc_point_in){.id = sc_point_id_num((uint64_t)i + 1), .vectors = &vi[i], .n_vectors = 1,
                               .payload_json = i % 2 ? "{\"lang\": \"c\"}" : "{\"lang\": \"go\"}", .text = texts[i]};
    }
    assert_int_equal(backend_points_upsert(b, "c", pts, 4), SC_OK);
    uint64_t n = 0;
    assert_int_equal(backend_points_count(b, "c", NULL, &n), SC_OK);
    assert_int_equal(n, 4);
    backend_collection_info info;
    assert_int_equal(backend_collection_info_get(b, "c", &info), SC_OK);
    assert_int_equal(info.n_points, 4);
    assert_int_equal(info.dim, 2);
    /* hybrid fused here (reciprocal rank): point 1 is first by vector, 4 first by words */
    float q[2] = {1, 0};
    sc_search_request req = {.vector_name = "v", .query = q, .dim = 2, .limit = 3, .with = {.payload = true}};
    sc_record_list *l = NULL;
    assert_int_equal(backend_search_hybrid(b, "c", &req, "parse", 10, &l), SC_OK);
    assert_int_equal(l->n, 3);
    for (size_t i = 1; i < l->n; i++) assert_true(l->items[i - 1].score >= l->items[i].score);
    bool has4 = false;
    for (size_t i = 0; i < l->n; i++) has4 |= l->items[i].id.num == 4;
    assert_true(has4);
    sc_record_list_free(l);
    /* a filter and a threshold */
    req.filter_json = "{\"must\": [{\"key\": \"lang\", \"match\": {\"value\": \"c\"}}]}";
    req.has_threshold = true;
    req.score_threshold = 0.02f;
    assert_int_equal(backend_search_hybrid(b, "c", &req, "parse", 10, &l), SC_OK);
    for (size_t i = 0; i < l->n; i++) assert_true(l->items[i].id.num == 2 || l->items[i].id.num == 4);
    sc_record_list_free(l);
    sc_point_id del = sc_point_id_num(1);
    assert_int_equal(backend_points_delete(b, "c", &del, 1), SC_OK);
    assert_int_equal(backend_points_delete_by_filter(b, "c", req.filter_json), SC_OK);
    assert_int_equal(backend_points_count(b, "c", NULL, &n), SC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(backend_collection_delete(b, "c"), SC_OK);
    assert_int_equal(backend_collection_delete(b, "c"), SC_NOTFOUND);
    backend_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_full),
        cmocka_unit_test(test_url_defaults_and_forms),
        cmocka_unit_test(test_url_errors_name_the_part),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_curl_reasons),
        cmocka_unit_test(test_bm25_sparse),
        cmocka_unit_test_setup_teardown(test_embedded_backend, tu_store_setup, tu_store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
