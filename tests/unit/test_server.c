/*
** Unit tests of the server's request handling (src/server/), driven
** through server_handle without sockets: envelope and error shapes,
** routing (404 / 405), body checks, config parsing, API keys and roles,
** tenant namespaces, metrics text.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/server.h"
#include "testutil.h"

typedef struct ts_env {
    char *dir;       /* store directory */
    sc_db *db;       /* open store */
    server_ctx *ctx; /* server over it */
} ts_env;

static void ts__open(ts_env *e, const char *config_json) {
    e->dir = tu_tmpdir("server");
    sc_db_options o = sc_db_options_default();
    o.sync = SC_SYNC_MODE_NORMAL;
    char err[256];
    assert_int_equal(sc_db_open(e->dir, &o, &e->db, err, sizeof err), SC_OK);
    server_config cfg = server_config_default();
    if (config_json) {
        sc_err se = {0};
        assert_int_equal(server_config_parse(config_json, &cfg, &se), SC_OK);
    }
    e->ctx = server_ctx_new(e->db, &cfg);
    assert_non_null(e->ctx);
}

static void ts__close(ts_env *e) {
    server_ctx_free(e->ctx);
    sc_db_close(e->db);
    tu_rmdir(e->dir);
}

/* Run one request; returns the status and leaves the body in *body (owned). */
static int ts__call(ts_env *e, const char *method, const char *path, const char *body, const char *key, char **out) {
    server_request req = {.method = method, .path = path, .body = body, .body_size = body ? strlen(body) : 0,
                          .api_key = key};
    server_response resp;
    server_handle(e->ctx, &req, &resp);
    int status = resp.status;
    if (out) *out = strdup(resp.body.data ? resp.body.data : "");
    server_response_free(&resp);
    return status;
}

/* Status of a request whose body must contain `needle` (NULL = any). */
static int ts__expect(ts_env *e, const char *method, const char *path, const char *body, const char *key,
                      const char *needle) {
    char *out = NULL;
    int st = ts__call(e, method, path, body, key, &out);
    if (needle && !strstr(out, needle)) {
        fprintf(stderr, "%s %s -> %d %s (wanted '%s')\n", method, path, st, out, needle);
        fail();
    }
    free(out);
    return st;
}

static void test_envelope_and_routes(void **state) {
    (void)state;
    ts_env e;
    ts__open(&e, NULL);
    assert_int_equal(ts__expect(&e, "GET", "/", NULL, NULL, "\"version\":\"1.18.0\""), 200);
    assert_int_equal(ts__expect(&e, "GET", "/healthz", NULL, NULL, "passed"), 200);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/c", "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}", NULL,
                                "{\"result\":true,\"status\":\"ok\",\"time\":"),
                     200);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/c", "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}", NULL,
                                "{\"status\":{\"error\":\"Wrong input: Collection `c` already exists!\"}"),
                     409);
    assert_int_equal(ts__expect(&e, "GET", "/collections/zz", NULL, NULL, "Collection `zz` doesn't exist!"), 404);
    assert_int_equal(ts__expect(&e, "GET", "/nope/x", NULL, NULL, "no endpoint"), 404);
    assert_int_equal(ts__expect(&e, "DELETE", "/collections/c/points/scroll", NULL, NULL, "not allowed"), 405);
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/scroll", "{\"limit\":", NULL, "Json deserialize"), 400);
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/scroll", "{\"limit\":0}", NULL, "limit"), 422);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/c/points",
                                "{\"points\":[{\"id\":9223372036854775808,\"vector\":[1,2]}]}", NULL, "2^63-1"),
                     400);
    /* percent-encoded names are decoded; NUL is refused */
    assert_int_equal(ts__expect(&e, "GET", "/collections/%63", NULL, NULL, "\"points_count\":0"), 200);
    assert_int_equal(ts__expect(&e, "GET", "/collections/%00", NULL, NULL, NULL), 404);
    /* deep nesting is refused before parsing */
    char deep[4096] = "{\"filter\":";
    for (int i = 0; i < 100; i++) strcat(deep, "[");
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/count", deep, NULL, "nesting"), 400);
    /* metrics saw those requests */
    char *m = NULL;
    assert_int_equal(ts__call(&e, "GET", "/metrics", NULL, NULL, &m), 200);
    assert_non_null(strstr(m, "semcode_http_requests_total{endpoint=\"collection_create\",status=\"409\"} 1"));
    assert_non_null(strstr(m, "semcode_collections 1"));
    free(m);
    /* not ready: data calls answer 503, probes report it */
    e.ctx->ready = 0;
    assert_int_equal(ts__expect(&e, "GET", "/collections", NULL, NULL, "unavailable"), 503);
    assert_int_equal(ts__expect(&e, "GET", "/readyz", NULL, NULL, NULL), 503);
    ts__close(&e);
}

static void test_config_errors(void **state) {
    (void)state;
    server_config c;
    sc_err err = {0};
    assert_int_equal(server_config_parse("{\"api_keys\":[{\"key\":\"short\",\"role\":\"read\"}]}", &c, &err), SC_INVALID);
    assert_non_null(strstr(err.msg, "api_keys[0].key"));
    assert_int_equal(server_config_parse("{\"api_keys\":[{\"key\":\"0123456789abcdefg\",\"role\":\"root\"}]}", &c, &err),
                     SC_INVALID);
    assert_non_null(strstr(err.msg, "role"));
    assert_int_equal(server_config_parse("{\"api_keys\":[{\"key\":\"0123456789abcdefg\",\"role\":\"read\",\"tenant\":\"a.b\"}]}",
                                         &c, &err),
                     SC_INVALID);
    assert_int_equal(server_config_parse("{\"timeout\":3}", &c, &err), SC_INVALID);
    assert_non_null(strstr(err.msg, "unknown field `timeout`"));
    assert_int_equal(server_config_parse("{\"max_body_bytes\":10}", &c, &err), SC_INVALID);
    assert_int_equal(server_config_parse("{\"max_body_bytes\":4096,\"timeout_s\":5}", &c, &err), SC_OK);
    assert_int_equal(c.max_body_bytes, 4096);
    assert_int_equal(c.timeout_s, 5);
    server_config_free(&c);
}

#define TS_ADMIN "admin-0123456789abcdef"
#define TS_READ "read-0123456789abcdefg"
#define TS_A "tenant-a-0123456789abc"
#define TS_B "tenant-b-0123456789abc"

static void test_keys_roles_tenants(void **state) {
    (void)state;
    ts_env e;
    ts__open(&e, "{\"api_keys\":[{\"key\":\"" TS_ADMIN "\",\"role\":\"admin\"},{\"key\":\"" TS_READ
                 "\",\"role\":\"read\"},{\"key\":\"" TS_A "\",\"role\":\"admin\",\"tenant\":\"a\"},{\"key\":\"" TS_B
                 "\",\"role\":\"admin\",\"tenant\":\"b\"}]}");
    const char *mk = "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}";
    assert_int_equal(ts__expect(&e, "GET", "/collections", NULL, NULL, "API key"), 401);
    assert_int_equal(ts__expect(&e, "GET", "/collections", NULL, "admin-0123456789abcdeX", "Invalid"), 401);
    assert_int_equal(ts__expect(&e, "GET", "/collections", NULL, TS_ADMIN "x", "Invalid"), 401); /* longer */
    assert_int_equal(ts__expect(&e, "GET", "/collections", NULL, "admin", "Invalid"), 401);         /* prefix */
    assert_int_equal(ts__expect(&e, "PUT", "/collections/g", mk, TS_READ, "Forbidden"), 403);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/g", mk, TS_ADMIN, NULL), 200);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/docs", mk, TS_A, NULL), 200);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/docs/points",
                                "{\"points\":[{\"id\":1,\"vector\":[1,0],\"payload\":{\"s\":\"only-a\"}}]}", TS_A, NULL),
                     200);
    /* lists are per namespace */
    assert_int_equal(ts__expect(&e, "GET", "/collections", NULL, TS_A, "{\"collections\":[{\"name\":\"docs\"}]}"), 200);
    assert_int_equal(ts__expect(&e, "GET", "/collections", NULL, TS_B, "{\"collections\":[]}"), 200);
    assert_int_equal(ts__expect(&e, "GET", "/collections", NULL, TS_ADMIN, "{\"collections\":[{\"name\":\"g\"}]}"), 200);
    /* b cannot reach a's collection under any name */
    assert_int_equal(ts__expect(&e, "POST", "/collections/docs/points/scroll", "{}", TS_B, "doesn't exist"), 404);
    assert_int_equal(ts__expect(&e, "POST", "/collections/.a.docs/points/scroll", "{}", TS_B, NULL), 404);
    assert_int_equal(ts__expect(&e, "POST", "/collections/.a.docs/points/scroll", "{}", TS_ADMIN, NULL), 404);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/.a.x", mk, TS_ADMIN, "may not start"), 422);
    assert_int_equal(ts__expect(&e, "DELETE", "/collections/docs", NULL, TS_B, "\"result\":false"), 200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/docs/points/scroll", "{}", TS_A, "only-a"), 200);
    /* tenants get no metrics (they would name other tenants' collections) */
    assert_int_equal(ts__expect(&e, "GET", "/metrics", NULL, TS_A, NULL), 403);
    assert_int_equal(ts__expect(&e, "GET", "/metrics", NULL, TS_ADMIN, "semcode_points{collection=\".a.docs\"} 1"), 200);
    ts__close(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_and_routes),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_keys_roles_tenants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
