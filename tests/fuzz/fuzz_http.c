/*
** Fuzz target for the server's request-handling path (server_handle:
** routing, authentication, body parsing, every endpoint, the store calls
** behind them), without sockets. Input: a first line
** "METHOD PATH [KEY]" (KEY one of admin, tenant, read, none, bad; default
** admin) and the request body after it. Every response must be a
** well-formed answer: a known status, JSON envelope bodies that parse and
** carry "status" (plain text only for the probes and /metrics); anything
** else traps. The store lives in a temporary directory made at the first
** input and removed at exit. /mcp answers JSON-RPC bodies (an MCP server
** without a repository is attached); the method "MCP" feeds the body to
** the MCP core directly (mcp_server_handle, past the session check that a
** fuzzer cannot pass), for its framing and every tool's argument checks.
**
** FUZZ_SOURCES: @lib
*/
#include <ftw.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/distance_int.h"
#include "mcp/mcp.h"
#include "server/server.h"
#include "fuzz_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Linked with the whole library (FUZZ_SOURCES: @lib), SIMD kernels included. */

static mcp_server *fuzz__mcp; /* the MCP server attached to the context (/mcp, and the method "MCP") */

static void fuzz__mcp_free(void) { mcp_server_free(fuzz__mcp); } /* runs before fuzz_server.h's clean-up */

static void fuzz__init(void) {
    fuzz__open("http");
    mcp_options mo = {.repo = NULL, .repo_mu = &fuzz__ctx->repo_mu, .may_index = false};
    if (!(fuzz__mcp = mcp_server_new(&mo))) __builtin_trap();
    fuzz__ctx->mcp = fuzz__mcp;
    atexit(fuzz__mcp_free);
    const char *k = "fuzz-admin-key-0123";
    fuzz__request("PUT", "/collections/c", "{\"vectors\":{\"size\":4,\"distance\":\"Cosine\"}}", k);
    fuzz__request("PUT", "/collections/n", "{\"vectors\":{\"a\":{\"size\":2,\"distance\":\"Euclid\"},\"b\":{\"size\":3,\"distance\":\"Dot\"}}}", k);
    fuzz__request("PUT", "/collections/c/points",
                  "{\"points\":[{\"id\":1,\"vector\":[1,0,0,0],\"payload\":{\"k\":\"x\",\"n\":1}},"
                  "{\"id\":2,\"vector\":[0,1,0,0],\"payload\":{\"k\":\"y\",\"n\":2,\"t\":[\"a\"]}},"
                  "{\"id\":\"00000000-0000-4000-8000-000000000003\",\"vector\":[0,0,1,0]}]}",
                  k);
    fuzz__request("PUT", "/collections/n/points",
                  "{\"points\":[{\"id\":1,\"vector\":{\"a\":[1,2],\"b\":[1,2,3]},\"payload\":{\"k\":\"x\"}}]}", k);
    fuzz__request("PUT", "/collections/c/index", "{\"field_name\":\"k\",\"field_schema\":\"keyword\"}", k);
    fuzz__request("POST", "/collections/aliases",
                  "{\"actions\":[{\"create_alias\":{\"collection_name\":\"c\",\"alias_name\":\"ca\"}}]}", k);
}

static bool fuzz__status_ok(int s) {
    static const int ok[] = {200, 202, 400, 401, 403, 404, 405, 409, 413, 422, 500, 501, 503};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (s == ok[i]) return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!fuzz__ctx) fuzz__init();
    if (size > 65536) return 0;
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *nl = memchr(buf, '\n', size);
    const char *body = NULL;
    size_t body_size = 0;
    if (nl) {
        *nl = 0;
        body = nl + 1;
        body_size = size - (size_t)(nl + 1 - buf);
    }
    char method[16] = "GET", path[1024] = "/", keyname[16] = "admin";
    int got = sscanf(buf, "%15s %1023s %15s", method, path, keyname);
    (void)got;
    const char *key = "fuzz-admin-key-0123";
    if (!strcmp(keyname, "tenant")) key = "fuzz-tenant-key-0123";
    else if (!strcmp(keyname, "read")) key = "fuzz-read-key-012345";
    else if (!strcmp(keyname, "none")) key = NULL;
    else if (!strcmp(keyname, "bad")) key = "fuzz-admin-key-0124";
    if (!strcmp(method, "MCP")) { /* the MCP core: an answer is a JSON-RPC object with a result or an error */
        json_t *msg = json_loadb(body ? body : "", body_size, 0, NULL);
        mcp_caller who = {.tenant = !strcmp(keyname, "tenant") ? "t" : NULL, .may_write = strcmp(keyname, "read")};
        json_t *answer = msg ? mcp_server_handle(fuzz__mcp, msg, &who) : NULL;
        if (answer && (!json_object_get(answer, "result") == !json_object_get(answer, "error"))) __builtin_trap();
        json_decref(answer);
        json_decref(msg);
        free(buf);
        return 0;
    }
    server_request req = {.method = method, .path = path, .body = body, .body_size = body_size, .api_key = key,
                          .mcp_session = keyname[0] == 's' ? "00000000000000000000000000000000" : NULL};
    server_response resp;
    server_handle(fuzz__ctx, &req, &resp);
    if (!fuzz__status_ok(resp.status)) __builtin_trap();
    if (resp.content_type && !strcmp(resp.content_type, "application/json") && resp.status != 202) {
        json_error_t e;
        json_t *j = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, &e);
        if (!j) __builtin_trap();
        if (!strncmp(resp.endpoint, "mcp", 3)) {
            /* the MCP transport: JSON-RPC 2.0 bodies ({} for a DELETE), or Qdrant's envelope for what the
            ** server refuses before the transport (keys, roles, readiness) */
            if (!json_object_get(j, "jsonrpc") && !json_object_get(j, "status") &&
                !(resp.status == 200 && json_object_size(j) == 0))
                __builtin_trap();
        } else if (!strcmp(resp.endpoint, "embeddings")) {
            /* OpenAI shapes: {"object": "list", …} or {"error": {"message": …}} */
            if (resp.status == 200 ? !json_object_get(j, "object")
                                   : !json_is_string(json_object_get(json_object_get(j, "error"), "message")))
                __builtin_trap();
        } else if (!json_object_get(j, "status") && !json_object_get(j, "title")) { /* title: GET / */
            __builtin_trap();
        } else if (resp.status != 200 && !json_is_string(json_object_get(json_object_get(j, "status"), "error"))) {
            __builtin_trap();
        }
        json_decref(j);
    }
    server_response_free(&resp);
    free(buf);
    return 0;
}
