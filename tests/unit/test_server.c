/*
** Unit tests of the server's request handling (src/server/), driven
** through server_handle without sockets: envelope and error shapes,
** routing (404 / 405), body checks, config parsing, API keys and roles,
** tenant namespaces, metrics text, /v1/embeddings and text queries with a
** tiny model trained here.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "server/server.h"
#include "server/server_int.h"
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
    assert_int_equal(tu_db_open(e->dir, &o, &e->db, err, sizeof err), SC_OK);
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

/* The upsert fast path for vectors (fastvec.c) answers as the jansson path:
** the same stored floats as an upsert through /points/batch (not on the
** fast path), the same messages for bad values, parse errors and nesting. */
static void test_upsert_fast_path(void **state) {
    (void)state;
    ts_env e;
    ts__open(&e, NULL);
    const char *coll = "{\"vectors\":{\"size\":3,\"distance\":\"Dot\"}}";
    assert_int_equal(ts__expect(&e, "PUT", "/collections/f", coll, NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/j", coll, NULL, NULL), 200);
    const char *pts = "{\"points\":[{\"id\":1,\"vector\":[0.1, -0.0, 1e-3]},"
                      "{\"id\":2,\"vector\":[ 16777217 ,-2.5E+2,0.30000000000000004441]}]}";
    char batch[512];
    snprintf(batch, sizeof batch, "{\"operations\":[{\"upsert\":%s}]}", pts);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/f/points", pts, NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/j/points/batch", batch, NULL, NULL), 200);
    const char *bform = "{\"batch\":{\"ids\":[3,4],\"vectors\":[[1e-7,2,3],[4,5,6.000001]]}}";
    snprintf(batch, sizeof batch, "{\"operations\":[{\"upsert\":%s}]}", bform);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/f/points", bform, NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/j/points/batch", batch, NULL, NULL), 200);
    char *a = NULL, *b = NULL;
    const char *get = "{\"ids\":[1,2,3,4],\"with_vector\":true}";
    assert_int_equal(ts__call(&e, "POST", "/collections/f/points", get, NULL, &a), 200);
    assert_int_equal(ts__call(&e, "POST", "/collections/j/points", get, NULL, &b), 200);
    assert_non_null(strstr(a, "\"vector\":[0.1,-0.0,0.001]"));
    *strstr(a, ",\"status\"") = 0; /* the times differ */
    *strstr(b, ",\"status\"") = 0;
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* bad values take the jansson path and its messages */
    assert_int_equal(ts__expect(&e, "PUT", "/collections/f/points",
                                "{\"points\":[{\"id\":1,\"vector\":[1,2,3]},{\"id\":2,\"vector\":[1,\"x\",3]}]}", NULL,
                                "points[1].vector[1] must be a number"),
                     400);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/f/points", "{\"points\":[{\"id\":1,\"vector\":[1,1e39,3]}]}",
                                NULL, "points[0].vector[1] is not a finite 32-bit float"),
                     400);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/f/points", "{\"batch\":{\"ids\":[1],\"vectors\":[[1,2]]}}",
                                NULL, "dimension"),
                     400);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/f/points", "{\"points\":[{\"id\":1,\"vector\":[]}]}", NULL,
                                "dense vector must not be empty"),
                     422);
    /* a parse error after a replaced vector: jansson's position in the original body */
    const char *broken = "{\"points\":[{\"id\":1,\"vector\":[1,2,3]},{\"id\":2,\"vector\":[4,5,6]} x]}";
    json_error_t je;
    assert_null(json_loads(broken, JSON_REJECT_DUPLICATES, &je));
    char want[300];
    snprintf(want, sizeof want, "Json deserialize error: %s at line %d column %d", je.text, je.line, je.column);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/f/points", broken, NULL, want), 400);
    /* deep nesting beside replaced vectors is refused as before */
    char deep[4096] = "{\"points\":[{\"id\":1,\"vector\":[1,2,3],\"payload\":{\"a\":";
    for (int i = 0; i < 100; i++) strcat(deep, "[");
    assert_int_equal(ts__expect(&e, "PUT", "/collections/f/points", deep, NULL, "nesting deeper than 64"), 400);
    /* nothing of the refused requests was stored */
    assert_int_equal(ts__expect(&e, "POST", "/collections/f/points/count", "{}", NULL, "\"count\":4"), 200);
    ts__close(&e);
}

static void test_envelope_and_routes(void **state) {
    (void)state;
    ts_env e;
    ts__open(&e, NULL);
    assert_int_equal(ts__expect(&e, "GET", "/", NULL, NULL, "\"version\":\"1.19.0\""), 200);
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
    /* gRPC calls (CountPoints of `c`, then of `zz`) are counted under their method, not REST's route */
    uint8_t *reply = NULL;
    size_t reply_size = 0;
    char gmsg[SERVER_GRPC_MSG_SIZE];
    const uint8_t count_c[] = {0x0a, 0x01, 'c'}, count_zz[] = {0x0a, 0x02, 'z', 'z'};
    assert_int_equal(server_grpc_call(e.ctx, "/qdrant.Points/Count", 20, count_c, sizeof count_c, NULL, NULL, &reply,
                                      &reply_size, gmsg), 0);
    free(reply);
    assert_int_equal(server_grpc_call(e.ctx, "/qdrant.Points/Count", 20, count_zz, sizeof count_zz, NULL, NULL, &reply,
                                      &reply_size, gmsg), 5 /* NOT_FOUND */);
    assert_null(reply);
    assert_non_null(strstr(gmsg, "zz"));
    /* metrics saw those requests */
    char *m = NULL;
    assert_int_equal(ts__call(&e, "GET", "/metrics", NULL, NULL, &m), 200);
    assert_non_null(strstr(m, "semcode_grpc_requests_total{protocol=\"grpc\",method=\"/qdrant.Points/Count\",code=\"OK\","
                              "status=\"200\"} 1"));
    assert_non_null(strstr(m, "semcode_grpc_request_duration_seconds_count{protocol=\"grpc\",method=\"/qdrant.Points/"
                              "Count\",code=\"NOT_FOUND\",status=\"404\"} 1"));
    assert_null(strstr(m, "semcode_http_requests_total{endpoint=\"points_count\",status=\"200\"}"));
    assert_non_null(strstr(m, "semcode_http_requests_total{endpoint=\"points_count\",status=\"400\"} 1"));
    assert_non_null(strstr(m, "semcode_http_requests_total{endpoint=\"collection_create\",status=\"409\"} 1"));
    assert_non_null(strstr(m, "semcode_collections 1"));
    assert_non_null(strstr(m, "semcode_index_hnsw_built{collection=\"c\",vector=\"\"} 0"));
    assert_non_null(strstr(m, "semcode_index_vectors{collection=\"c\",vector=\"\"} 0"));
    free(m);
    /* not ready: data calls answer 503, probes report it */
    __atomic_store_n(&e.ctx->ready, 0, __ATOMIC_RELEASE);
    assert_int_equal(ts__expect(&e, "GET", "/collections", NULL, NULL, "unavailable"), 503);
    assert_int_equal(ts__expect(&e, "GET", "/readyz", NULL, NULL, NULL), 503);
    ts__close(&e);
}

/* The web page: Accept decides what GET / answers; /ui/ files need no key;
** an unknown file is a JSON 404; /code/stats and /code/history need a
** repository and a key like the other code endpoints. */
static void test_web_page(void **state) {
    (void)state;
    assert_false(server_web_prefers_html(NULL));
    assert_false(server_web_prefers_html("*/*"));
    assert_false(server_web_prefers_html("application/json"));
    assert_false(server_web_prefers_html("application/json, text/html"));
    assert_false(server_web_prefers_html("text/html;q=0.5, application/json"));
    assert_false(server_web_prefers_html("text/html;q=0"));
    assert_true(server_web_prefers_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
    assert_true(server_web_prefers_html("TEXT/HTML"));
    assert_true(server_web_prefers_html("application/json;q=0.4 , text/html ; q=0.9"));
    ts_env e;
    ts__open(&e, "{\"api_keys\":[{\"key\":\"k-read-0123456789abcdef\",\"role\":\"read\"}]}");
    server_request req = {.method = "GET", .path = "/", .accept = "text/html,*/*;q=0.8"};
    server_response resp;
    server_handle(e.ctx, &req, &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, "text/html; charset=utf-8");
    assert_true(resp.vary_accept);
    assert_non_null(strstr(resp.body.data, "<title>semcode</title>"));
    server_response_free(&resp);
    req.accept = "*/*";
    server_handle(e.ctx, &req, &resp);
    assert_non_null(strstr(resp.body.data, "qdrant - vector search engine"));
    assert_true(resp.vary_accept);
    server_response_free(&resp);
    assert_int_equal(ts__expect(&e, "GET", "/ui/", NULL, NULL, "<title>semcode</title>"), 200);
    assert_int_equal(ts__expect(&e, "GET", "/ui/app.js", NULL, NULL, "sessionStorage"), 200);
    assert_int_equal(ts__expect(&e, "GET", "/ui/hljs-core.js", NULL, NULL, "window.hljs=module.exports"), 200);
    assert_int_equal(ts__expect(&e, "GET", "/ui/hljs-python.js", NULL, NULL, "registerLanguage(\"python\""), 200);
    assert_int_equal(ts__expect(&e, "GET", "/ui/x.js", NULL, NULL, "the web page has no file `x.js`"), 404);
    assert_int_equal(ts__expect(&e, "POST", "/ui/app.js", NULL, NULL, "not allowed"), 405);
    assert_int_equal(ts__expect(&e, "GET", "/code/stats", NULL, NULL, "API key"), 401);
    assert_int_equal(ts__expect(&e, "GET", "/code/stats", NULL, "k-read-0123456789abcdef", "--repo"), 404);
    assert_int_equal(ts__expect(&e, "POST", "/code/history", "{\"target\":\"f\"}", "k-read-0123456789abcdef", "--repo"),
                     404);
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
    /* a tenant's metrics: its own rows and collections (by its names), nothing of b's or server-wide */
    assert_int_equal(ts__expect(&e, "POST", "/collections/docs/points/count", "{}", TS_B, NULL), 404);
    char *m = NULL;
    assert_int_equal(ts__call(&e, "GET", "/metrics", NULL, TS_A, &m), 200);
    assert_non_null(strstr(m, "semcode_points{collection=\"docs\"} 1"));
    assert_non_null(strstr(m, "semcode_http_requests_total{endpoint=\"points_upsert\",status=\"200\",tenant=\"a\"} 1"));
    assert_null(strstr(m, "tenant=\"b\""));
    assert_null(strstr(m, "collection=\"g\""));
    assert_null(strstr(m, ".a."));
    assert_null(strstr(m, "semcode_embeddings_total"));
    assert_null(strstr(m, "semcode_search_plans_total"));
    free(m);
    assert_int_equal(ts__call(&e, "GET", "/metrics", NULL, TS_B, &m), 200);
    assert_non_null(strstr(m, "semcode_http_requests_total{endpoint=\"points_count\",status=\"404\",tenant=\"b\"} 1"));
    assert_null(strstr(m, "tenant=\"a\""));
    assert_null(strstr(m, "docs"));
    assert_non_null(strstr(m, "semcode_collections 0"));
    free(m);
    /* the operator sees every tenant, labelled */
    assert_int_equal(ts__expect(&e, "GET", "/metrics", NULL, TS_ADMIN, "semcode_points{collection=\".a.docs\"} 1"), 200);
    assert_int_equal(ts__expect(&e, "GET", "/metrics", NULL, TS_ADMIN, "status=\"404\",tenant=\"b\"} 1"), 200);
    /* telemetry: a tenant's request counters are its own */
    assert_int_equal(ts__call(&e, "GET", "/telemetry", NULL, TS_B, &m), 200);
    assert_null(strstr(m, "PUT /collections/{collection_name}/points"));
    assert_non_null(strstr(m, "POST /collections/{collection_name}/points/count"));
    free(m);
    ts__close(&e);
}

/* A tiny model trained on synthetic pairs (tu_train_tiny_model), loaded. */
static sc_model *ts__model(const char *dir) {
    char out[512];
    snprintf(out, sizeof out, "%s/m.scm", dir);
    char *msg = NULL;
    assert_int_equal(tu_train_tiny_model(dir, out, &msg), SC_OK);
    sc_model *m = NULL;
    assert_int_equal(sc_model_load(out, &m, &msg), SC_OK);
    return m;
}

static void test_embeddings_and_text_queries(void **state) {
    (void)state;
    ts_env e;
    ts__open(&e, NULL);
    /* without a model: clear errors in each API's own shape */
    assert_int_equal(ts__expect(&e, "POST", "/v1/embeddings", "{\"input\":\"x\",\"model\":\"builtin\"}", NULL,
                                "{\"error\":{\"message\":\"no embedding model is loaded"),
                     503);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/c", "{\"vectors\":{\"size\":32,\"distance\":\"Cosine\"}}",
                                NULL, NULL),
                     200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/query", "{\"query\":{\"text\":\"parse\"}}", NULL,
                                "none loaded"),
                     400);
    assert_int_equal(server_ctx_set_model(e.ctx, ts__model(e.dir), NULL), SC_OK);
    char *out = NULL;
    assert_int_equal(ts__call(&e, "POST", "/v1/embeddings",
                              "{\"input\":[\"parse the file\",\"render a string\"],\"model\":\"builtin\"}", NULL, &out),
                     200);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    free(out);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "list");
    json_t *data = json_object_get(j, "data");
    assert_int_equal(json_array_size(data), 2);
    json_t *emb = json_object_get(json_array_get(data, 1), "embedding");
    assert_int_equal(json_array_size(emb), 32);
    double norm = 0;
    for (size_t i = 0; i < 32; i++) norm += json_real_value(json_array_get(emb, i)) * json_real_value(json_array_get(emb, i));
    assert_true(norm > 0.98 && norm < 1.02);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "usage"), "prompt_tokens")), 6);
    json_decref(j);
    assert_int_equal(ts__call(&e, "POST", "/v1/embeddings",
                              "{\"input\":\"parse\",\"model\":\"builtin\",\"encoding_format\":\"base64\"}", NULL, &out),
                     200);
    j = json_loads(out, 0, &je);
    free(out);
    assert_int_equal(strlen(json_string_value(json_object_get(json_array_get(json_object_get(j, "data"), 0), "embedding"))),
                     172); /* 128 bytes in base64 */
    json_decref(j);
    assert_int_equal(ts__expect(&e, "POST", "/v1/embeddings", "{\"input\":\"x\",\"model\":\"gpt-4\"}", NULL,
                                "does not exist"),
                     404);
    assert_int_equal(ts__expect(&e, "POST", "/v1/embeddings",
                                "{\"input\":\"x\",\"model\":\"builtin\",\"dimensions\":16}", NULL, "dimensions"),
                     400);
    assert_int_equal(ts__expect(&e, "POST", "/v1/embeddings", "{\"input\":[1,2],\"model\":\"builtin\"}", NULL,
                                "input[0]"),
                     400);
    /* a text query finds the point whose vector embeds the same words */
    const char *texts[2] = {"Returns the socket of the buffer.", "Returns the render of the cache."};
    float v[64];
    assert_int_equal(sc_model_embed(e.ctx->model, SC_EMBED_ROLE_QUERY, texts, 2, v), SC_OK);
    util_buf body = {0};
    util_buf_puts(&body, "{\"points\":[");
    for (int p = 0; p < 2; p++) {
        util_buf_printf(&body, "%s{\"id\":%d,\"vector\":[", p ? "," : "", p + 1);
        for (int i = 0; i < 32; i++) util_buf_printf(&body, "%s%.6f", i ? "," : "", (double)v[p * 32 + i]);
        util_buf_puts(&body, "]}");
    }
    util_buf_puts(&body, "]}");
    assert_int_equal(ts__expect(&e, "PUT", "/collections/c/points", body.data, NULL, NULL), 200);
    util_buf_free(&body);
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/query",
                                "{\"query\":{\"text\":\"Returns the render of the cache.\",\"model\":\"builtin\"},\"limit\":1}",
                                NULL, "\"points\":[{\"id\":2,"),
                     200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/query",
                                "{\"query\":{\"nearest\":{\"text\":\"Returns the socket of the buffer.\"}},\"limit\":1}",
                                NULL, "\"points\":[{\"id\":1,"),
                     200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/query",
                                "{\"query\":{\"text\":\"x\",\"model\":\"other\"}}", NULL, "unknown model"),
                     400);
    /* keyword mode is BM25 alone: the model name is checked, nothing is embedded */
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/query",
                                "{\"query\":{\"text\":\"render\",\"model\":\"builtin\",\"options\":{\"mode\":\"keyword\"}}}",
                                NULL, "\"points\":["),
                     200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/query",
                                "{\"query\":{\"text\":\"x\",\"model\":\"other\",\"options\":{\"mode\":\"keyword\"}}}",
                                NULL, "unknown model"),
                     400);
    /* a nested option is named by its path */
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/query",
                                "{\"query\":{\"text\":\"x\",\"options\":{\"mode\":\"hybrid\",\"alpha\":2}}}", NULL,
                                "[internal.query.options.alpha: value 2 invalid"),
                     422);
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/query",
                                "{\"query\":{\"text\":\"x\",\"options\":{\"mode\":\"hybrid\",\"alpha\":\"a\"}}}",
                                NULL, "in `query.options`, `alpha` must be a number"),
                     400);
    char *m = NULL;
    assert_int_equal(ts__call(&e, "GET", "/metrics", NULL, NULL, &m), 200);
    assert_non_null(strstr(m, "semcode_embeddings_total 5"));
    free(m);
    /* Documents of an upsert are embedded together after decoding; a text
    ** the embedder refuses is named by its field, and nothing is stored */
    assert_int_equal(ts__expect(&e, "PUT", "/collections/c/points",
                                "{\"points\":[{\"id\":5,\"vector\":{\"text\":\"close the buffer cache\","
                                "\"model\":\"builtin\"}},{\"id\":6,\"vector\":{\"text\":\"parse the file\"}}]}",
                                NULL, NULL),
                     200);
    assert_int_equal(ts__expect(&e, "GET", "/collections/c/points/5", NULL, NULL, "\"id\":5"), 200);
    assert_int_equal(ts__expect(&e, "GET", "/collections/c/points/6", NULL, NULL, "\"id\":6"), 200);
    const char *dtexts[2] = {"close the buffer cache", "parse the file"};
    float dv[2 * 32];
    assert_int_equal(sc_model_embed(e.ctx->model, SC_EMBED_ROLE_CODE, dtexts, 2, dv), SC_OK);
    for (int d = 0; d < 2; d++) { /* each Document's vector went to its own point */
        util_buf_puts(&body, "{\"vector\":[");
        for (int i = 0; i < 32; i++) util_buf_printf(&body, "%s%.6f", i ? "," : "", (double)dv[d * 32 + i]);
        util_buf_puts(&body, "],\"limit\":1}");
        char want[32];
        snprintf(want, sizeof want, "[{\"id\":%d,", 5 + d);
        assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/search", body.data, NULL, want), 200);
        util_buf_free(&body);
    }
    assert_int_equal(ts__expect(&e, "PUT", "/collections/c/points",
                                "{\"points\":[{\"id\":7,\"vector\":{\"text\":\"parse\"}},"
                                "{\"id\":8,\"vector\":{\"text\":\"   \"}}]}",
                                NULL, "points[1].vector: "),
                     400);
    assert_int_equal(ts__expect(&e, "GET", "/collections/c/points/7", NULL, NULL, NULL), 404);
    sc_model_free(e.ctx->model);
    ts__close(&e);
}

/* Metrics count what the model computed and what the embedding cache answered. */
static void test_embedding_cache_metrics(void **state) {
    (void)state;
    ts_env e;
    ts__open(&e, NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/cache.db", e.dir);
    sc_embed_cache *cache = NULL;
    assert_int_equal(sc_embed_cache_open(path, 0, &cache, NULL), SC_OK);
    sc_model *model = ts__model(e.dir);
    assert_int_equal(server_ctx_set_model(e.ctx, model, cache), SC_OK);
    const char *body = "{\"input\":[\"parse the file\",\"render a string\"],\"model\":\"builtin\"}";
    char *first = NULL, *second = NULL, *m = NULL;
    assert_int_equal(ts__call(&e, "POST", "/v1/embeddings", body, NULL, &first), 200);
    assert_int_equal(ts__call(&e, "POST", "/v1/embeddings", body, NULL, &second), 200);
    assert_string_equal(first, second); /* the cache answers the same vectors */
    assert_int_equal(ts__expect(&e, "POST", "/v1/embeddings", "{\"input\":[\"parse the file\",\"   \"],\"model\":\"builtin\"}",
                                NULL, "input[1]"),
                     400);
    assert_int_equal(ts__call(&e, "GET", "/metrics", NULL, NULL, &m), 200);
    /* 2 computed; lookups: 2 misses, then 2 hits, then 1 hit (the blank text is never looked up) */
    assert_non_null(strstr(m, "semcode_embeddings_total 2\n"));
    assert_non_null(strstr(m, "semcode_embedding_cache_hits_total 3\n"));
    assert_non_null(strstr(m, "semcode_embedding_cache_misses_total 2\n"));
    assert_non_null(strstr(m, "semcode_embedding_cache_hit_ratio 0.600000\n"));
    assert_non_null(strstr(m, "semcode_embedding_cache_entries 2\n"));
    free(first);
    free(second);
    free(m);
    server_ctx_set_model(e.ctx, NULL, NULL);
    sc_embed_cache_close(cache);
    sc_model_free(model);
    ts__close(&e);
}


/* ==== Sparse vectors (issue 17) ==== */

/* {"indices": [...], "values": [1, ...]} of the words of text (lower case,
** . , ! ; dropped, split on spaces, each word once; index = FNV-1a of the
** word mod 1e9), as Qdrant's test_sparse_idf.py builds them. */
static void ts__words_vector(const char *text, char *out, size_t size) {
    char buf[512], words[64][64];
    size_t n = 0, j = 0;
    for (const char *p = text; *p && j + 1 < sizeof buf; p++) {
        if (*p == '.' || *p == ',' || *p == '!' || *p == ';') continue;
        buf[j++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    buf[j] = 0;
    for (char *w = strtok(buf, " "); w && n < 64; w = strtok(NULL, " ")) {
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++) dup = !strcmp(words[i], w);
        if (!dup) snprintf(words[n++], sizeof words[0], "%s", w);
    }
    size_t o = (size_t)snprintf(out, size, "{\"indices\":[");
    for (size_t i = 0; i < n; i++) {
        uint32_t h = 2166136261u;
        for (const char *c = words[i]; *c; c++) h = (h ^ (uint8_t)*c) * 16777619u;
        o += (size_t)snprintf(out + o, size - o, "%s%u", i ? "," : "", h % 1000000000u);
    }
    o += (size_t)snprintf(out + o, size - o, "],\"values\":[");
    for (size_t i = 0; i < n; i++) o += (size_t)snprintf(out + o, size - o, "%s1", i ? "," : "");
    snprintf(out + o, size - o, "]}");
}

/* Qdrant's test_sparse_idf.py with our own words hash: the rare words of the
** query win with the idf modifier, not after PATCH sets it to none. */
static void ts__sparse_idf_flow(ts_env *e) {
    static const char *const texts[] = {
        "I must not fear. Fear is the mind-killer.",
        "All animals are equal, but some animals are more equal than others.",
        "It was a pleasure to burn.",
        "The sky above the port was the color of television, tuned to a dead channel.",
        "In the beginning, the universe was created. This has made a lot of people very angry and been widely "
        "regarded as a bad move.",
        "It's a truth universally acknowledged that a zombie in possession of brains must be in want of more brains.",
        "War is peace. Freedom is slavery. Ignorance is strength.",
        "We're not in Infinity; we're in the suburbs.",
        "I was a thousand times more evil than thou!",
        "History is merely a list of surprises... It can only prepare us to be surprised yet again.",
        "The a an and or but", "A an the", "I am you are he she it we they", "Is are was were", "Do does did",
        "Have has had", "Can could", "I am is not the you are", "I is not the you are",
    };
    assert_int_equal(ts__expect(e, "PUT", "/collections/idf", "{\"sparse_vectors\":{\"text\":{\"modifier\":\"idf\"}}}",
                                NULL, NULL), 200);
    char body[32768], vec[2048];
    size_t o = (size_t)snprintf(body, sizeof body, "{\"points\":[");
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        ts__words_vector(texts[i], vec, sizeof vec);
        o += (size_t)snprintf(body + o, sizeof body - o, "%s{\"id\":%zu,\"vector\":{\"text\":%s}}", i ? "," : "", i, vec);
    }
    snprintf(body + o, sizeof body - o, "]}");
    assert_int_equal(ts__expect(e, "PUT", "/collections/idf/points", body, NULL, NULL), 200);
    ts__words_vector("i is not television channel", vec, sizeof vec);
    snprintf(body, sizeof body, "{\"query\":%s,\"using\":\"text\",\"limit\":2}", vec);
    assert_int_equal(ts__expect(e, "POST", "/collections/idf/points/query", body, NULL, "{\"points\":[{\"id\":3,"), 200);
    assert_int_equal(ts__expect(e, "PATCH", "/collections/idf", "{\"sparse_vectors\":{\"text\":{\"modifier\":\"none\"}}}",
                                NULL, NULL), 200);
    assert_int_equal(ts__expect(e, "GET", "/collections/idf", NULL, NULL, "\"sparse_vectors\":{\"text\":{\"index\":{\"on_disk\":false},\"modifier\":\"none\"}}"), 200);
    char *out = NULL;
    assert_int_equal(ts__call(e, "POST", "/collections/idf/points/query", body, NULL, &out), 200);
    assert_null(strstr(out, "{\"points\":[{\"id\":3,"));
    assert_non_null(strstr(out, "{\"points\":[{\"id\":")); /* two words of the query: 17 or 18 */
    free(out);
}

static void test_sparse_vectors(void **state) {
    (void)state;
    ts_env e;
    ts__open(&e, NULL);
    /* Qdrant's shared set-up: an unnamed dense vector and a sparse one */
    assert_int_equal(ts__expect(&e, "PUT", "/collections/b",
                                "{\"vectors\":{\"size\":4,\"distance\":\"Dot\"},\"sparse_vectors\":{\"sparse-text\":{}}}",
                                NULL, "true"), 200);
    assert_int_equal(ts__expect(&e, "GET", "/collections/b", NULL, NULL,
                                "\"sparse_vectors\":{\"sparse-text\":{\"index\":{\"on_disk\":false},\"modifier\":\"none\"}}"),
                     200);
    /* a point with both: returned as an object with "" for the dense one */
    assert_int_equal(ts__expect(&e, "PUT", "/collections/b/points",
                                "{\"points\":[{\"id\":1,\"vector\":{\"\":[1,0,0,0],\"sparse-text\":{\"indices\":[7,3],"
                                "\"values\":[0.5,2]}}},{\"id\":2,\"vector\":[0,1,0,0]}]}",
                                NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "GET", "/collections/b/points/1", NULL, NULL,
                                "\"vector\":{\"\":[1.0,0.0,0.0,0.0],\"sparse-text\":{\"indices\":[3,7],\"values\":[2.0,0.5]}}"),
                     200);
    assert_int_equal(ts__expect(&e, "GET", "/collections/b/points/2", NULL, NULL, "\"vector\":[0.0,1.0,0.0,0.0]"), 200);
    /* sparse only, validations in Qdrant's words (test_sparse_vector_validations.py) */
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s", "{\"sparse_vectors\":{\"text\":{}}}", NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "GET", "/collections/s", NULL, NULL, "\"vectors\":{}"), 200);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s/points",
                                "{\"points\":[{\"id\":1,\"vector\":{\"text\":{\"indices\":[100,500],\"values\":[0.9,0.8,0.5]}}}]}",
                                NULL, "points[0].vector.?.values: Validation error: must be the same length as indices [{}]"),
                     422);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s/points",
                                "{\"points\":[{\"id\":1,\"vector\":{\"text\":{\"indices\":[100,500,500],\"values\":[0.9,0.8,0.5]}}}]}",
                                NULL, "points[0].vector.?.indices: Validation error: must be unique [{}]"),
                     422);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s/points",
                                "{\"points\":[{\"id\":1,\"vector\":{\"text\":{\"indices\":[4294967296],\"values\":[1]}}}]}",
                                NULL, "points[0].vector.text.indices[0] must be an unsigned 32-bit integer"),
                     400);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s/points",
                                "{\"points\":[{\"id\":1,\"vector\":{\"txt\":{\"indices\":[1],\"values\":[1]}}}]}",
                                NULL, "sparse vector name `txt` is not configured in collection `s`"),
                     400);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/x", "{\"sparse_vectors\":{\"text\":{\"index\":{\"datatype\":\"turbo4\"}}}}",
                                NULL, "sparse vectors do not support"), 422);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/x", "{\"sparse_vectors\":{\"text\":{\"modifier\":\"bm25\"}}}",
                                NULL, "expected `none` or `idf`"), 400);
    assert_int_equal(ts__expect(&e, "GET", "/collections/x", NULL, NULL, NULL), 404);
    /* overwrite with new indices (test_sparse_update.py) */
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s/points",
                                "{\"points\":[{\"id\":1,\"vector\":{\"text\":{\"indices\":[100,500,10],\"values\":[0.9,0.8,0.5]}}}]}",
                                NULL, NULL), 200);
    const char *q100 = "{\"limit\":10,\"query\":{\"indices\":[100],\"values\":[0.9]},\"using\":\"text\"}";
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/query", q100, NULL, "{\"points\":[{\"id\":1,"), 200);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s/points",
                                "{\"points\":[{\"id\":1,\"vector\":{\"text\":{\"indices\":[600,700,10],\"values\":[0.9,0.8,0.5]}}}]}",
                                NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/query", q100, NULL, "{\"points\":[]}"), 200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/query",
                                "{\"query\":{\"nearest\":{\"indices\":[700],\"values\":[2]}},\"using\":\"text\"}", NULL,
                                "\"score\":1.6"), 200);
    /* batch form, mixed with a dense vector (test_sparse_dense_batch_update.py), scroll sorted */
    assert_int_equal(ts__expect(&e, "PUT", "/collections/m",
                                "{\"vectors\":{\"image\":{\"size\":2,\"distance\":\"Euclid\"}},\"sparse_vectors\":{\"text\":{}}}",
                                NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/m/points",
                                "{\"batch\":{\"ids\":[1,2,3],\"vectors\":{\"text\":[{\"indices\":[100,500,10],\"values\":[0.9,0.8,0.5]},"
                                "{\"indices\":[10,100,500],\"values\":[0.1,0,0]},{\"indices\":[55,20,101],\"values\":[0.4,0.6,0.1]}],"
                                "\"image\":[[1,1],[2,2],[3,3]]}}}",
                                NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/m/points/scroll", "{\"limit\":10,\"with_vector\":true}", NULL,
                                "{\"id\":3,\"payload\":{},\"vector\":{\"image\":[3.0,3.0],\"text\":{\"indices\":[20,55,101]"),
                     200);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/m/points",
                                "{\"batch\":{\"ids\":[4],\"vectors\":{\"text\":[{\"indices\":[1,1],\"values\":[1,2]}]}}}",
                                NULL, "batch.vectors.?[0].indices: Validation error: must be unique"),
                     422);
    /* hybrid: a dense and a sparse prefetch fused by RRF (k = 2, ranks from 0): point 3 is first of
    ** the dense leg and second of the sparse one (point 2's weight 0 at index 100 sums to 0: no hit) */
    assert_int_equal(ts__expect(&e, "POST", "/collections/m/points/query",
                                "{\"prefetch\":[{\"query\":[3,3],\"using\":\"image\",\"limit\":3},"
                                "{\"query\":{\"indices\":[20,100],\"values\":[1,1]},\"using\":\"text\",\"limit\":3}],"
                                "\"query\":{\"fusion\":\"rrf\"},\"limit\":2}",
                                NULL, "{\"points\":[{\"id\":3,\"version\":0,\"score\":0.8333"), /* 1/(2+0) + 1/(2+1) */
                     200);
    /* filters and the legacy NamedSparseVector search */
    assert_int_equal(ts__expect(&e, "POST", "/collections/m/points/search",
                                "{\"vector\":{\"name\":\"text\",\"vector\":{\"indices\":[10],\"values\":[1]}},\"limit\":5,"
                                "\"filter\":{\"must_not\":[{\"has_id\":[1]}]}}",
                                NULL, "[{\"id\":2,\"version\":0,\"score\":0.1,"),
                     200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/m/points/query",
                                "{\"query\":{\"indices\":[10],\"values\":[1]},\"using\":\"image\"}", NULL,
                                "vector `image` of collection `m` is dense"), 400);
    assert_int_equal(ts__expect(&e, "POST", "/collections/m/points/query", "{\"query\":[1,2],\"using\":\"text\"}", NULL,
                                "vector `text` of collection `m` is sparse"), 400);
    assert_int_equal(ts__expect(&e, "POST", "/collections/m/points/query",
                                "{\"query\":[1,2],\"using\":\"image\",\"params\":{\"idf\":{\"corpus\":{}}}}", NULL, "idf"),
                     400);
    assert_int_equal(ts__expect(&e, "POST", "/collections/m/points/query",
                                "{\"query\":{\"indices\":[10],\"values\":[1]},\"using\":\"text\",\"params\":{\"idf\":{\"corpus\":{}}}}",
                                NULL, "an IDF corpus needs the `idf` modifier"), 400);
    /* deleting the point takes its sparse vector out of the index */
    assert_int_equal(ts__expect(&e, "POST", "/collections/m/points/delete", "{\"points\":[3]}", NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/m/points/query",
                                "{\"query\":{\"indices\":[20],\"values\":[1]},\"using\":\"text\"}", NULL, "{\"points\":[]}"),
                     200);
    ts__sparse_idf_flow(&e);
    /* the IDF corpus in Qdrant's example (test_sparse_idf_corpus.py): tenant a, N = 2, df = 2, 1, 0 */
    assert_int_equal(ts__expect(&e, "PUT", "/collections/c",
                                "{\"sparse_vectors\":{\"text\":{\"modifier\":\"idf\"}}}", NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/c/points",
                                "{\"points\":[{\"id\":0,\"vector\":{\"text\":{\"indices\":[0,1],\"values\":[1,1]}},\"payload\":{\"t\":\"a\"}},"
                                "{\"id\":1,\"vector\":{\"text\":{\"indices\":[0],\"values\":[1]}},\"payload\":{\"t\":\"a\"}},"
                                "{\"id\":2,\"vector\":{\"text\":{\"indices\":[0,1,2],\"values\":[1,1,1]}},\"payload\":{\"t\":\"b\"}},"
                                "{\"id\":3,\"vector\":{\"text\":{\"indices\":[1],\"values\":[1]}},\"payload\":{\"t\":\"b\"}}]}",
                                NULL, NULL), 200);
    /* point 2: ln(1.2) + ln(2) + ln(6) = ln(14.4) = 2.66722821 */
    assert_int_equal(ts__expect(&e, "POST", "/collections/c/points/query",
                                "{\"query\":{\"indices\":[0,1,2],\"values\":[1,1,1]},\"using\":\"text\",\"limit\":1,"
                                "\"params\":{\"idf\":{\"corpus\":{\"must\":[{\"key\":\"t\",\"match\":{\"value\":\"a\"}}]}}}}",
                                NULL, "{\"id\":2,\"version\":0,\"score\":2.66722"),
                     200);
    ts__close(&e);
}

/* GET path's "result" as parsed JSON (owned); fails the test unless 200. */
static json_t *ts__result(ts_env *e, const char *path) {
    char *out = NULL;
    assert_int_equal(ts__call(e, "GET", path, NULL, NULL, &out), 200);
    json_t *doc = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(doc);
    json_t *r = json_incref(json_object_get(doc, "result"));
    json_decref(doc);
    return r;
}

/* The collection info of `q` as configured by test_collection_config. */
static void ts__check_config(json_t *info) {
    json_t *cfg = json_object_get(info, "config"), *params = json_object_get(cfg, "params");
    json_t *a = json_object_get(json_object_get(params, "vectors"), "a");
    json_t *b = json_object_get(json_object_get(params, "vectors"), "b");
    /* per vector: what was given there, nothing inherited */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "hnsw_config"), "m")), 20);
    assert_null(json_object_get(json_object_get(a, "hnsw_config"), "ef_construct"));
    assert_true(json_is_true(json_object_get(a, "on_disk")));
    assert_string_equal(json_string_value(json_object_get(a, "memory")), "cached");
    assert_string_equal(json_string_value(json_object_get(a, "datatype")), "float32");
    assert_null(json_object_get(a, "quantization_config"));
    assert_null(json_object_get(b, "hnsw_config"));
    assert_null(json_object_get(b, "on_disk"));
    json_t *bs = json_object_get(json_object_get(b, "quantization_config"), "scalar");
    assert_true(json_number_value(json_object_get(bs, "quantile")) > 0.89);
    /* collection-wide: defaults with what was given */
    json_t *h = json_object_get(cfg, "hnsw_config");
    assert_int_equal(json_integer_value(json_object_get(h, "m")), 16);
    assert_int_equal(json_integer_value(json_object_get(h, "ef_construct")), 80);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(cfg, "quantization_config"),
                                                                          "product"), "compression")), "x16");
    assert_false(json_is_true(json_object_get(params, "on_disk_payload")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(params, "payload"), "memory")), "cold");
    json_t *o = json_object_get(cfg, "optimizer_config");
    assert_int_equal(json_integer_value(json_object_get(o, "indexing_threshold")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "default_segment_number")), 3);
    /* the engine's vacuum rule, whatever was asked */
    assert_true(json_number_value(json_object_get(o, "deleted_threshold")) == 0.2);
    assert_int_equal(json_integer_value(json_object_get(o, "vacuum_min_vector_number")), 1000);
    json_t *sm = json_object_get(cfg, "strict_mode_config");
    assert_true(json_is_true(json_object_get(sm, "enabled")));
    assert_int_equal(json_integer_value(json_object_get(sm, "max_query_limit")), 5);
    /* product quantization of `a` is recorded, and the info says it is not applied */
    json_t *w = json_object_get(info, "warnings");
    assert_int_equal(json_array_size(w), 1);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(w, 0), "message")), "`a`"));
    assert_string_equal(json_string_value(json_object_get(info, "status")), "green");
}

/* Qdrant's configuration echoed as given, per vector and collection-wide;
** indexing_threshold drives the engine's graph (0: none; in KiB of
** vectors); all of it survives a restart. */
static void test_collection_config(void **state) {
    (void)state;
    ts_env e;
    ts__open(&e, NULL);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/q",
                                "{\"vectors\":{\"a\":{\"size\":4,\"distance\":\"Dot\",\"hnsw_config\":{\"m\":20},"
                                "\"on_disk\":true,\"memory\":\"cached\",\"datatype\":\"float32\"},\"b\":{\"size\":8,"
                                "\"distance\":\"Cosine\",\"quantization_config\":{\"scalar\":{\"type\":\"int8\","
                                "\"quantile\":0.9}}}},\"hnsw_config\":{\"ef_construct\":80},\"quantization_config\":"
                                "{\"product\":{\"compression\":\"x16\"}},\"optimizers_config\":{\"indexing_threshold\":0},"
                                "\"on_disk_payload\":false,\"payload\":{\"memory\":\"cold\"},\"strict_mode_config\":"
                                "{\"enabled\":true,\"max_query_limit\":5}}",
                                NULL, "true"), 200);
    char body[16384];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"points\":[");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s{\"id\":%d,\"vector\":{\"a\":[%d,1,%d,0.5]}}", i ? "," : "",
                              i + 1, i % 7, i % 5);
    snprintf(body + n, sizeof body - n, "]}");
    assert_int_equal(ts__expect(&e, "PUT", "/collections/q/points", body, NULL, NULL), 200);
    json_t *info = ts__result(&e, "/collections/q");
    assert_int_equal(json_integer_value(json_object_get(info, "indexed_vectors_count")), 0); /* indexing off */
    json_decref(info);
    /* 1 KiB = 64 vectors of dimension 4: the 70 points get a graph */
    assert_int_equal(ts__expect(&e, "PATCH", "/collections/q",
                                "{\"optimizers_config\":{\"indexing_threshold\":1,\"default_segment_number\":3,"
                                "\"deleted_threshold\":0.5}}", NULL, "true"), 200);
    info = ts__result(&e, "/collections/q");
    assert_int_equal(json_integer_value(json_object_get(info, "indexed_vectors_count")), 70);
    ts__check_config(info);
    json_decref(info);
    /* pinned is refused for vector and payload storage, in Qdrant's words */
    assert_int_equal(ts__expect(&e, "PATCH", "/collections/q", "{\"vectors\":{\"a\":{\"memory\":\"pinned\"}}}", NULL,
                                "vectors.a.memory: `pinned` is not supported"), 422);
    assert_int_equal(ts__expect(&e, "PATCH", "/collections/q", "{\"params\":{\"payload\":{\"memory\":\"pinned\"}}}",
                                NULL, "pinned"), 422);
    /* a restart keeps all of it */
    server_ctx_free(e.ctx);
    sc_db_close(e.db);
    sc_db_options o = sc_db_options_default();
    char err[256];
    assert_int_equal(tu_db_open(e.dir, &o, &e.db, err, sizeof err), SC_OK);
    server_config cfg = server_config_default();
    assert_non_null(e.ctx = server_ctx_new(e.db, &cfg));
    info = ts__result(&e, "/collections/q");
    assert_int_equal(json_integer_value(json_object_get(info, "indexed_vectors_count")), 70);
    ts__check_config(info);
    json_decref(info);
    /* a collection made by the library: its engine's parameters are told per
    ** vector, and a PATCH changes only what it names */
    sc_vector_params lib = {.name = "", .dim = 2, .distance = SC_DISTANCE_DOT, .hnsw = {.m = 24, .ef_construct = 60}};
    assert_int_equal(sc_collection_create(e.db, "lib", &lib, 1), SC_OK);
    assert_int_equal(ts__expect(&e, "GET", "/collections/lib", NULL, NULL, "\"hnsw_config\":{\"m\":24,\"ef_construct\":60}"),
                     200);
    assert_int_equal(ts__expect(&e, "PATCH", "/collections/lib", "{\"vectors\":{\"\":{\"hnsw_config\":{\"m\":20}}}}", NULL,
                                "true"), 200);
    sc_collection_info li;
    assert_int_equal(sc_collection_info_get(e.db, "lib", &li), SC_OK);
    assert_int_equal(li.vectors[0].hnsw.m, 20);
    assert_int_equal(li.vectors[0].hnsw.ef_construct, 60);
    assert_int_equal(li.vectors[0].hnsw.full_scan_threshold, 10000); /* untouched: the library's default */
    sc_collection_info_free(&li);
    ts__close(&e);
}

/* Strict mode: off until enabled; then limits, unindexed filters, batch
** sizes, collection size, payload index count and rate limits answer
** Qdrant's errors, and a PATCH merges into the configuration. */
static void test_strict_mode(void **state) {
    (void)state;
    ts_env e;
    ts__open(&e, NULL);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s", "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"},"
                                "\"strict_mode_config\":{\"enabled\":false,\"max_query_limit\":2}}", NULL, "true"), 200);
    const char *pts = "{\"points\":[{\"id\":1,\"vector\":[1,0],\"payload\":{\"city\":\"Rome\",\"n\":1}},"
                      "{\"id\":2,\"vector\":[0,1],\"payload\":{\"city\":\"Oslo\",\"n\":2}},"
                      "{\"id\":3,\"vector\":[1,1],\"payload\":{\"city\":\"Rome\",\"n\":3}}]}";
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s/points", pts, NULL, NULL), 200);
    const char *q3 = "{\"query\":[1,0],\"limit\":3}";
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/query", q3, NULL, NULL), 200); /* not enabled */
    assert_int_equal(ts__expect(&e, "PATCH", "/collections/s", "{\"strict_mode_config\":{\"enabled\":true,"
                                "\"unindexed_filtering_retrieve\":false,\"upsert_max_batchsize\":2,"
                                "\"max_payload_index_count\":1,\"search_allow_exact\":false}}", NULL, "true"), 200);
    assert_int_equal(ts__expect(&e, "GET", "/collections/s", NULL, NULL, "\"max_query_limit\":2"), 200); /* merged */
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/query", q3, NULL,
                                "Bad request: Limit exceeded 3 > 2 for \\\"limit\\\". Help: Reduce the"), 400);
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/query",
                                "{\"query\":[1,0],\"limit\":2,\"params\":{\"exact\":true}}", NULL,
                                "Exact search disabled!"), 400);
    const char *filtered = "{\"query\":[1,0],\"limit\":2,\"filter\":{\"must\":[{\"nested\":{\"key\":\"a\",\"filter\":"
                           "{\"must\":[{\"key\":\"b\",\"match\":{\"value\":\"x\"}}]}}}]}}";
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/query", filtered, NULL,
                                "Index required but not found for \\\"a[].b\\\" of one of the following types: [keyword"), 400);
    const char *by_city = "{\"filter\":{\"must\":[{\"key\":\"city\",\"match\":{\"value\":\"Rome\"}}]},\"limit\":2}";
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/scroll", by_city, NULL, "for \\\"city\\\""), 400);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s/index", "{\"field_name\":\"city\",\"field_schema\":\"keyword\"}",
                                NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/scroll", by_city, NULL, "\"id\":1"), 200);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s/index", "{\"field_name\":\"n\",\"field_schema\":\"integer\"}",
                                NULL, "maximum number of payload indices (1)"), 400);
    assert_int_equal(ts__expect(&e, "PUT", "/collections/s/points", pts, NULL,
                                "Limit exceeded 3 > 2 for \\\"upsert limit\\\""), 400);
    /* a read rate limit of 2 a minute: the third request waits about a minute */
    assert_int_equal(ts__expect(&e, "PATCH", "/collections/s", "{\"strict_mode_config\":{\"read_rate_limit\":2}}", NULL,
                                "true"), 200);
    const char *q1 = "{\"query\":[1,0],\"limit\":1}";
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/query", q1, NULL, NULL), 200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/query", q1, NULL, NULL), 200);
    server_request req = {.method = "POST", .path = "/collections/s/points/query", .body = q1, .body_size = strlen(q1)};
    server_response resp;
    server_handle(e.ctx, &req, &resp);
    assert_int_equal(resp.status, 429);
    assert_non_null(strstr(resp.body.data, "Rate limiting exceeded: Read rate limit exceeded: Operation requires 1 "
                                           "tokens but only 0.0 were available"));
    assert_true(resp.retry_after >= 29 && resp.retry_after <= 30);
    server_response_free(&resp);
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points",
                                "{\"ids\":[1,2,3]}", NULL, "request larger than rate limiter capacity"), 429);
    /* writes have their own limiter; collection management is not limited */
    assert_int_equal(ts__expect(&e, "GET", "/collections/s", NULL, NULL, "\"read_rate_limit\":2"), 200);
    assert_int_equal(ts__expect(&e, "POST", "/collections/s/points/delete", "{\"points\":[3]}", NULL, NULL), 200);
    ts__close(&e);
}

int main(void) {
    /* the server is started without a model: testutil's default must not give it one */
    unsetenv("SEMCODE_MODEL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_and_routes),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_keys_roles_tenants),
        cmocka_unit_test(test_embeddings_and_text_queries),
        cmocka_unit_test(test_embedding_cache_metrics),
        cmocka_unit_test(test_sparse_vectors),
        cmocka_unit_test(test_collection_config),
        cmocka_unit_test(test_strict_mode),
        cmocka_unit_test(test_web_page),
        cmocka_unit_test(test_upsert_fast_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
