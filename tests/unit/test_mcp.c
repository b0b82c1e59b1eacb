/*
** Unit tests of the MCP core (src/mcp/): JSON-RPC framing and errors,
** protocol negotiation, argument errors naming the field, the token budget
** and cursors, HTTP sessions, and over a real repository the background
** run, index_status's freshness counts and search_code. The SDK client
** tests of both transports are in tests/e2e/mcp.test.mjs.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mcp/mcp_int.h"
#include "testutil.h"

/* Handle the JSON text msg; the answer (owned, NULL for none). */
static json_t *rpc(mcp_server *m, const char *msg) {
    json_t *in = json_loads(msg, 0, NULL);
    assert_non_null(in);
    mcp_caller who = {.tenant = NULL, .may_write = true};
    json_t *out = mcp_server_handle(m, in, &who);
    json_decref(in);
    return out;
}

/* The error code of an answer (0 when it is a result). */
static int err_code(const json_t *a) { return (int)json_integer_value(json_object_get(json_object_get(a, "error"), "code")); }

/* The error's data.field ("" when none). */
static const char *err_field(const json_t *a) {
    const char *f = json_string_value(json_object_get(json_object_get(json_object_get(a, "error"), "data"), "field"));
    return f ? f : "";
}

static void test_rpc_framing(void **state) {
    (void)state;
    mcp_options o = {0};
    mcp_server *m = mcp_server_new(&o);
    json_t *a = rpc(m, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]");
    assert_int_equal(err_code(a), MCP_ERR_INVALID_REQUEST);
    json_decref(a);
    a = rpc(m, "{\"id\":1,\"method\":\"ping\"}");
    assert_int_equal(err_code(a), MCP_ERR_INVALID_REQUEST);
    json_decref(a);
    a = rpc(m, "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}");
    assert_int_equal(err_code(a), MCP_ERR_INVALID_REQUEST);
    json_decref(a);
    a = rpc(m, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"resources/list\"}");
    assert_int_equal(err_code(a), MCP_ERR_METHOD);
    assert_string_equal(json_string_value(json_object_get(a, "id")), "x");
    json_decref(a);
    assert_null(rpc(m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
    assert_null(rpc(m, "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}")); /* a response from the client */
    a = rpc(m, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
    assert_true(json_is_object(json_object_get(a, "result")));
    json_decref(a);
    a = rpc(m, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":[1]}");
    assert_int_equal(err_code(a), MCP_ERR_PARAMS);
    assert_string_equal(err_field(a), "params");
    json_decref(a);
    mcp_server_free(m);
}

static void test_initialize_versions(void **state) {
    (void)state;
    mcp_options o = {0};
    mcp_server *m = mcp_server_new(&o);
    const char *cases[][2] = {{"2025-06-18", "2025-06-18"}, {"2024-11-05", "2024-11-05"},
                              {"1999-01-01", MCP_PROTOCOL_LATEST}, {MCP_PROTOCOL_LATEST, MCP_PROTOCOL_LATEST}};
    for (size_t i = 0; i < 4; i++) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"%s\"}}",
                 cases[i][0]);
        json_t *a = rpc(m, msg);
        json_t *r = json_object_get(a, "result");
        assert_string_equal(json_string_value(json_object_get(r, "protocolVersion")), cases[i][1]);
        assert_non_null(json_object_get(json_object_get(r, "capabilities"), "tools"));
        json_decref(a);
    }
    mcp_server_free(m);
}

static void test_tools_list_and_arguments(void **state) {
    (void)state;
    mcp_options o = {0};
    mcp_server *m = mcp_server_new(&o);
    json_t *a = rpc(m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    json_t *tools = json_object_get(json_object_get(a, "result"), "tools");
    assert_int_equal(json_array_size(tools), 7);
    char *text = json_dumps(tools, JSON_COMPACT);
    assert_true(mcp_tokens(strlen(text)) < 1500); /* the SDK test also counts them more strictly */
    free(text);
    json_decref(a);
    /* arguments are checked before the repository is needed: errors name the field */
    const char *bad[][2] = {
        {"{\"name\":\"search_code\",\"arguments\":{}}", "query"},
        {"{\"name\":\"search_code\",\"arguments\":{\"query\":\"x\",\"limit\":101}}", "limit"},
        {"{\"name\":\"search_code\",\"arguments\":{\"query\":\"x\",\"limit\":2.5}}", "limit"},
        {"{\"name\":\"search_code\",\"arguments\":{\"query\":\"x\",\"mode\":\"exact\"}}", "mode"},
        {"{\"name\":\"search_code\",\"arguments\":{\"query\":\"x\",\"kind\":[\"a\",\"\"]}}", "kind[1]"},
        {"{\"name\":\"search_code\",\"arguments\":{\"query\":\"x\",\"files\":\"yes\"}}", "files"},
        {"{\"name\":\"search_code\",\"arguments\":{\"query\":\"x\",\"cursor\":\"-1\"}}", "cursor"},
        {"{\"name\":\"search_code\",\"arguments\":{\"query\":\"x\",\"qurey\":\"y\"}}", "qurey"},
        {"{\"name\":\"get_entity\",\"arguments\":{\"target\":\"a\",\"context\":51}}", "context"},
        {"{\"name\":\"find_duplicates\",\"arguments\":{\"threshold\":\"high\"}}", "threshold"},
        {"{\"name\":\"search_history\",\"arguments\":{\"query\":\"x\",\"in\":\"code\"}}", "in"},
        {"{\"name\":\"reindex\",\"arguments\":{\"force\":true}}", "force"},
        {"{\"name\":\"nope\"}", "name"},
        {"{\"arguments\":{}}", "name"},
        {"{\"name\":\"ping\",\"arguments\":[]}", "arguments"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char msg[512];
        snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tools/call\",\"params\":%s}", i, bad[i][0]);
        a = rpc(m, msg);
        if (err_code(a) != MCP_ERR_PARAMS || strcmp(err_field(a), bad[i][1]))
            fail_msg("case %zu: %s", i, json_dumps(a, JSON_COMPACT));
        const char *text_msg = json_string_value(json_object_get(json_object_get(a, "error"), "message"));
        if (strcmp(bad[i][1], "name") && strcmp(bad[i][1], "arguments")) {
            char quoted[80];
            snprintf(quoted, sizeof quoted, "`%s`", bad[i][1]);
            assert_non_null(strstr(text_msg, quoted));
        }
        json_decref(a);
    }
    /* good arguments without a repository: a tool error, not a protocol one */
    a = rpc(m, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"search_code\","
               "\"arguments\":{\"query\":\"x\"}}}");
    assert_true(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
    json_decref(a);
    mcp_server_free(m);
}

static void test_page_fit(void **state) {
    (void)state;
    char snippet[301];
    memset(snippet, 'x', 300);
    snippet[300] = '\0';
    json_t *items = json_array();
    for (int i = 0; i < 50; i++) json_array_append_new(items, json_pack("{s:i,s:s}", "n", i, "snippet", snippet));
    json_t *items2 = json_deep_copy(items);
    /* 400 tokens = 1,200 bytes: three items of ~320 bytes fit */
    json_t *page = mcp_page_fit(json_object(), items, 0, 10, 400, false);
    char *text = json_dumps(page, MCP_JSON_FLAGS);
    assert_true(strlen(text) <= 1200);
    json_t *res = json_object_get(page, "results");
    assert_int_equal(json_array_size(res), 3);
    assert_string_equal(json_string_value(json_object_get(page, "next_cursor")), "3");
    assert_true(json_is_true(json_object_get(page, "budget_cut")));
    free(text);
    json_decref(page);
    /* from a cursor, limited by limit: the last page has no cursor */
    page = mcp_page_fit(json_object(), items2, 48, 10, 100000, false);
    assert_int_equal(json_array_size(json_object_get(page, "results")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(page, "results"), 0), "n")), 48);
    assert_null(json_object_get(page, "next_cursor"));
    json_decref(page);
    /* one item larger than the budget loses its bulky fields */
    char *big = malloc(5001);
    memset(big, 'y', 5000);
    big[5000] = '\0';
    json_t *one = json_pack("[{s:s,s:s}]", "path", "a.c", "source", big);
    page = mcp_page_fit(json_object(), one, 0, 10, 200, false);
    json_t *it = json_array_get(json_object_get(page, "results"), 0);
    assert_null(json_object_get(it, "source"));
    assert_true(json_is_true(json_object_get(it, "cut")));
    assert_string_equal(json_string_value(json_object_get(it, "path")), "a.c");
    json_decref(page);
    free(big);
}

static void test_sessions(void **state) {
    (void)state;
    mcp_options o = {0};
    mcp_server *m = mcp_server_new(&o);
    char a[MCP_SESSION_ID_SIZE], b[MCP_SESSION_ID_SIZE], first[MCP_SESSION_ID_SIZE];
    assert_true(mcp_session_open(m, NULL, a));
    assert_true(mcp_session_open(m, "t1", b));
    assert_int_equal(strlen(a), 32);
    assert_string_not_equal(a, b);
    assert_true(mcp_session_valid(m, a, NULL));
    assert_false(mcp_session_valid(m, a, "t1")); /* another tenant's key */
    assert_true(mcp_session_valid(m, b, "t1"));
    assert_false(mcp_session_valid(m, "0123", NULL));
    assert_false(mcp_session_valid(m, NULL, NULL));
    assert_true(mcp_session_close(m, a, NULL));
    assert_false(mcp_session_valid(m, a, NULL));
    assert_false(mcp_session_close(m, a, NULL));
    /* past the table's size the oldest goes */
    memcpy(first, b, sizeof first);
    for (int i = 0; i < MCP_MAX_SESSIONS; i++) assert_true(mcp_session_open(m, NULL, a));
    assert_false(mcp_session_valid(m, first, "t1"));
    assert_true(mcp_session_valid(m, a, NULL));
    mcp_server_free(m);
}

/* The tool result's JSON object (owned) of a tools/call. */
static json_t *tool(mcp_server *m, const char *name, const char *args) {
    char msg[1024];
    snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
                              "\"arguments\":%s}}", name, args);
    json_t *a = rpc(m, msg);
    json_t *r = json_object_get(a, "result");
    if (!r || json_is_true(json_object_get(r, "isError"))) fail_msg("%s: %s", name, json_dumps(a, JSON_COMPACT));
    json_t *o = json_loads(json_string_value(json_object_get(json_array_get(json_object_get(r, "content"), 0), "text")),
                           0, NULL);
    json_decref(a);
    assert_non_null(o);
    return o;
}

static void test_repo_run_and_status(void **state) {
    (void)state;
    char *dir = tu_tmpdir("mcp");
    assert_int_equal(tu_write_file(dir, "a.py", "def add_numbers(x, y):\n    \"\"\"Add two numbers.\"\"\"\n    return x + y\n"), 0);
    assert_int_equal(tu_write_file(dir, "b.py", "def read_config(path):\n    return open(path).read()\n"), 0);
    sc_repo_options ro = sc_repo_options_default();
    ro.model_path = "models/builtin.scm"; /* tests run from the source tree */
    sc_repo *r = NULL;
    char *msg = NULL;
    if (sc_repo_open(dir, &ro, &r, &msg) != SC_OK) fail_msg("sc_repo_open: %s", msg ? msg : "?");
    mcp_options o = {.repo = r, .may_index = true};
    mcp_server *m = mcp_server_new(&o);
    json_t *st = tool(m, "index_status", "{}");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "files"), "stale")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "files"), "indexed")), 0);
    assert_true(json_is_null(json_object_get(st, "last_run")));
    json_decref(st);
    assert_int_equal(mcp_server_reindex(m, -1), SC_OK);
    for (int i = 0; i < 600 && mcp_server_indexing(m); i++) usleep(50000);
    assert_false(mcp_server_indexing(m));
    st = tool(m, "index_status", "{}");
    json_t *files = json_object_get(st, "files");
    assert_int_equal(json_integer_value(json_object_get(files, "indexed")), 2);
    assert_int_equal(json_integer_value(json_object_get(files, "stale")), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "last_run"), "status")), "ok");
    json_decref(st);
    /* a new file and a deleted one are stale until the next run */
    assert_int_equal(tu_write_file(dir, "c.py", "def c():\n    pass\n"), 0);
    char p[1024];
    snprintf(p, sizeof p, "%s/b.py", dir);
    assert_int_equal(unlink(p), 0);
    st = tool(m, "index_status", "{}");
    files = json_object_get(st, "files");
    assert_int_equal(json_integer_value(json_object_get(files, "new")), 1);
    assert_int_equal(json_integer_value(json_object_get(files, "deleted")), 1);
    assert_int_equal(json_integer_value(json_object_get(files, "stale")), 2);
    json_decref(st);
    json_t *s = tool(m, "search_code", "{\"query\":\"add two numbers\",\"limit\":1}");
    assert_false(json_is_true(json_object_get(s, "partial")));
    json_t *hit = json_array_get(json_object_get(s, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(hit, "name")), "add_numbers");
    json_decref(s);
    json_t *e = tool(m, "get_entity", "{\"target\":\"add_numbers\",\"context\":0}");
    assert_string_equal(json_string_value(json_object_get(e, "doc")), "Add two numbers.");
    assert_non_null(strstr(json_string_value(json_object_get(e, "source")), "return x + y"));
    json_decref(e);
    mcp_server_free(m);
    sc_repo_close(r);
    sc_free(msg);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rpc_framing),       cmocka_unit_test(test_initialize_versions),
        cmocka_unit_test(test_tools_list_and_arguments), cmocka_unit_test(test_page_fit),
        cmocka_unit_test(test_sessions),          cmocka_unit_test(test_repo_run_and_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
