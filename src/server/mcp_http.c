/*
** server/mcp_http.c: the Streamable HTTP transport of the MCP server at
** /mcp (MCP 2025-06-18 and later, "Streamable HTTP"): POST one JSON-RPC
** message, get its answer as application/json (202 and no body for a
** notification or a response). No server-to-client stream is offered, so
** GET /mcp answers 405 as the specification allows. DELETE /mcp ends a
** session.
**
** DESIGN
** - API keys apply as on every data route (read role to call; reindex
**   needs the write role) and the key's tenant goes with each message, so
**   code tools refuse tenant keys as /code does, and search_history reads
**   the tenant's own records.
** - initialize opens a session (Mcp-Session-Id, 128 random bits) bound to
**   the tenant of the key that opened it; later messages must carry it
**   (400 without, 404 for an unknown or ended one, as the specification
**   says: the client then starts a new session).
** - An Origin header naming another host than the loopback is refused
**   (403): the specification's guard against DNS rebinding.
** - The MCP core (src/mcp/) shares the server's repository lock with the
**   /code endpoints.
*/
#include "server/server_int.h"

#include "mcp/mcp.h"

#include <stdlib.h>
#include <string.h>

/* true when an Origin header is absent or names the loopback. */
static bool server__mcp_origin_ok(const char *origin) {
    if (!origin || !*origin || !strcmp(origin, "null")) return true;
    const char *h = strstr(origin, "://");
    h = h ? h + 3 : origin;
    static const char *const ok[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        size_t n = strlen(ok[i]);
        if (!strncmp(h, ok[i], n) && (h[n] == '\0' || h[n] == ':' || h[n] == '/')) return true;
    }
    return false;
}

/* Put a JSON-RPC object (consumed) into resp with status. */
static void server__mcp_json(server_response *resp, int status, json_t *o) {
    resp->status = status;
    resp->content_type = "application/json";
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text) util_buf_puts(&resp->body, text);
    free(text);
}

void server_mcp_handle(server_call *call, server_response *resp) {
    server_ctx *ctx = call->ctx;
    const server_request *req = call->req;
    if (!ctx->mcp) {
        server__mcp_json(resp, 503, mcp_error_response(NULL, MCP_ERR_INTERNAL, "MCP is not available on this server"));
        return;
    }
    if (!server__mcp_origin_ok(req->origin)) {
        server__mcp_json(resp, 403, mcp_error_response(NULL, MCP_ERR_INVALID_REQUEST,
                                                       "Forbidden: the Origin header names another host"));
        return;
    }
    if (!strcmp(req->method, "DELETE")) {
        bool ok = req->mcp_session && mcp_session_close(ctx->mcp, req->mcp_session, call->tenant);
        server__mcp_json(resp, ok ? 200 : 404,
                         ok ? json_object()
                            : mcp_error_response(NULL, MCP_ERR_INVALID_REQUEST, "Session not found (Mcp-Session-Id)"));
        return;
    }
    json_error_t e;
    json_t *msg = req->body_size ? json_loadb(req->body, req->body_size, JSON_REJECT_DUPLICATES, &e) : NULL;
    if (!msg) {
        char buf[300];
        snprintf(buf, sizeof buf, "Parse error: %s", req->body_size ? e.text : "the body is empty");
        server__mcp_json(resp, 400, mcp_error_response(NULL, MCP_ERR_PARSE, buf));
        return;
    }
    const char *method = json_string_value(json_object_get(msg, "method"));
    bool init = method && !strcmp(method, "initialize") && json_object_get(msg, "id");
    if (!init) {
        if (!req->mcp_session) {
            server__mcp_json(resp, 400, mcp_error_response(json_object_get(msg, "id"), MCP_ERR_INVALID_REQUEST,
                                                           "Bad Request: the Mcp-Session-Id header is required "
                                                           "(send initialize first)"));
            json_decref(msg);
            return;
        }
        if (!mcp_session_valid(ctx->mcp, req->mcp_session, call->tenant)) {
            server__mcp_json(resp, 404, mcp_error_response(json_object_get(msg, "id"), MCP_ERR_INVALID_REQUEST,
                                                           "Session not found: initialize a new one"));
            json_decref(msg);
            return;
        }
    }
    mcp_caller who = {.tenant = call->tenant, .may_write = call->role >= SERVER_ROLE_WRITE};
    json_t *answer = mcp_server_handle(ctx->mcp, msg, &who);
    json_decref(msg);
    if (init && answer && json_object_get(answer, "result") &&
        !mcp_session_open(ctx->mcp, call->tenant, resp->mcp_session)) {
        json_decref(answer);
        server__mcp_json(resp, 500, mcp_error_response(NULL, MCP_ERR_INTERNAL, "cannot make a session id"));
        return;
    }
    if (!answer) {
        resp->status = 202;
        resp->content_type = "application/json";
        return;
    }
    server__mcp_json(resp, 200, answer);
}
