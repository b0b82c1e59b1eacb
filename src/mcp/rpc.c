/*
** mcp/rpc.c: JSON-RPC 2.0 of the MCP server: one message in, one answer
** out (initialize, ping, tools/list, tools/call; notifications and client
** responses get none), the server's life cycle and the sessions of the
** Streamable HTTP transport. Batches (JSON arrays) are refused: the
** protocol dropped them in revision 2025-06-18.
*/
#include "mcp/mcp_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Protocol revisions answered as asked; any other gets the latest. */
static const char *const mcp__versions[] = {MCP_PROTOCOL_LATEST, "2025-06-18", "2025-03-26", "2024-11-05"};

mcp_server *mcp_server_new(const mcp_options *o) {
    mcp_server *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->repo = o->repo;
    m->ws = o->ws;
    m->may_index = o->may_index;
    if (o->switch_to) {
        m->switch_to = *o->switch_to;
        m->has_switch_to = true;
    }
    m->n_repos = o->ws ? sc_workspace_count(o->ws) : o->repo ? 1 : 0;
    m->current = -1;
    pthread_mutex_init(&m->own_mu, NULL);
    pthread_mutex_init(&m->state_mu, NULL);
    m->repo_mu = o->repo_mu ? o->repo_mu : &m->own_mu;
    return m;
}

void mcp_server_set_cancel(mcp_server *m, volatile int *cancel) { m->cancel = cancel; }

void mcp_server_free(mcp_server *m) {
    if (!m) return;
    if (mcp_server_indexing(m) && m->cancel) __atomic_store_n(m->cancel, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&m->state_mu);
    bool join = m->thread_made;
    m->thread_made = false;
    pthread_mutex_unlock(&m->state_mu);
    if (join) pthread_join(m->bg_thread, NULL);
    for (size_t i = 0; i < MCP_MAX_SESSIONS; i++) free(m->sessions[i].tenant);
    pthread_mutex_destroy(&m->own_mu);
    pthread_mutex_destroy(&m->state_mu);
    free(m);
}

json_t *mcp_error_response(const json_t *id, int code, const char *msg) {
    return json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", "code", code,
                     "message", msg);
}

/* A JSON-RPC error naming the argument at fault in data.field. */
static json_t *mcp__error_field(const json_t *id, int code, const char *msg, const char *field) {
    json_t *r = mcp_error_response(id, code, msg);
    if (r && field && *field) json_object_set_new(json_object_get(r, "error"), "data", json_pack("{s:s}", "field", field));
    return r;
}

static json_t *mcp__ok(const json_t *id, json_t *result) {
    return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id, "result", result ? result : json_object());
}

static json_t *mcp__initialize(const json_t *params) {
    const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
    const char *version = MCP_PROTOCOL_LATEST;
    for (size_t i = 0; asked && i < sizeof mcp__versions / sizeof *mcp__versions; i++)
        if (!strcmp(asked, mcp__versions[i])) version = mcp__versions[i];
    return json_pack("{s:s,s:{s:{s:b}},s:{s:s,s:s},s:s}", "protocolVersion", version, "capabilities", "tools",
                     "listChanged", false, "serverInfo", "name", "semcode", "version", SC_VERSION_STRING,
                     "instructions",
                     "semcode searches the indexed repository: search_code first, then get_entity for the source. "
                     "Outputs fit max_tokens; pass next_cursor as cursor for more.");
}

/* tools/call: {name, arguments}. */
static json_t *mcp__tools_call(mcp_server *m, const json_t *id, const json_t *params, const mcp_caller *who) {
    const json_t *name = json_object_get(params, "name");
    if (!json_is_string(name))
        return mcp__error_field(id, MCP_ERR_PARAMS, "Invalid params: `name` (the tool) must be a string", "name");
    const json_t *args = json_object_get(params, "arguments");
    json_t *empty = NULL;
    if (!args || json_is_null(args)) args = empty = json_object();
    if (!json_is_object(args)) {
        json_decref(empty);
        return mcp__error_field(id, MCP_ERR_PARAMS, "Invalid params: `arguments` must be an object", "arguments");
    }
    mcp_call call = {.m = m, .who = who, .args = args};
    json_t *result = mcp_tool_call(&call, json_string_value(name));
    json_decref(empty);
    if (!result) return mcp__error_field(id, call.code ? call.code : MCP_ERR_INTERNAL, call.msg, call.field);
    return mcp__ok(id, result);
}

json_t *mcp_server_handle(mcp_server *m, const json_t *msg, const mcp_caller *who) {
    if (!json_is_object(msg))
        return mcp_error_response(NULL, MCP_ERR_INVALID_REQUEST,
                                  json_is_array(msg) ? "Invalid Request: batches are not supported (MCP 2025-06-18)"
                                                     : "Invalid Request: a message is a JSON object");
    const json_t *id = json_object_get(msg, "id");
    const json_t *method = json_object_get(msg, "method");
    const char *jv = json_string_value(json_object_get(msg, "jsonrpc"));
    if (!method && (json_object_get(msg, "result") || json_object_get(msg, "error"))) return NULL; /* a response */
    if (id && !json_is_string(id) && !json_is_integer(id))
        return mcp_error_response(NULL, MCP_ERR_INVALID_REQUEST, "Invalid Request: `id` must be a string or an integer");
    if (!jv || strcmp(jv, "2.0"))
        return mcp_error_response(id, MCP_ERR_INVALID_REQUEST, "Invalid Request: `jsonrpc` must be \"2.0\"");
    if (!json_is_string(method))
        return mcp_error_response(id, MCP_ERR_INVALID_REQUEST, "Invalid Request: `method` must be a string");
    const char *name = json_string_value(method);
    if (!id) return NULL; /* notifications: initialized, cancelled (calls answer fast), others ignored */
    const json_t *params = json_object_get(msg, "params");
    if (params && !json_is_object(params))
        return mcp__error_field(id, MCP_ERR_PARAMS, "Invalid params: `params` must be an object", "params");
    if (!strcmp(name, "initialize")) return mcp__ok(id, mcp__initialize(params));
    if (!strcmp(name, "ping")) return mcp__ok(id, json_object());
    if (!strcmp(name, "tools/list")) return mcp__ok(id, json_pack("{s:o}", "tools", mcp_tools_json()));
    if (!strcmp(name, "tools/call")) return mcp__tools_call(m, id, params, who);
    char buf[160];
    snprintf(buf, sizeof buf, "Method not found: %.100s", name);
    return mcp_error_response(id, MCP_ERR_METHOD, buf);
}

/* ==== Sessions ==== */

bool mcp_session_open(mcp_server *m, const char *tenant, char id[MCP_SESSION_ID_SIZE]) {
    unsigned char raw[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && read(fd, raw, sizeof raw) == (ssize_t)sizeof raw;
    if (fd >= 0) close(fd);
    if (!ok) return false;
    for (size_t i = 0; i < sizeof raw; i++) snprintf(id + 2 * i, 3, "%02x", raw[i]);
    pthread_mutex_lock(&m->state_mu);
    size_t slot = 0;
    for (size_t i = 0; i < MCP_MAX_SESSIONS; i++) {
        if (!m->sessions[i].id[0]) {
            slot = i;
            break;
        }
        if (m->sessions[i].serial < m->sessions[slot].serial) slot = i;
    }
    mcp_session *s = &m->sessions[slot];
    free(s->tenant);
    s->tenant = tenant ? util_strdup(tenant) : NULL;
    memcpy(s->id, id, MCP_SESSION_ID_SIZE);
    s->serial = ++m->session_serial;
    pthread_mutex_unlock(&m->state_mu);
    return true;
}

/* The slot of session id of tenant (state_mu held), or NULL. */
static mcp_session *mcp__session_find(mcp_server *m, const char *id, const char *tenant) {
    if (!id || strlen(id) != MCP_SESSION_ID_SIZE - 1) return NULL;
    for (size_t i = 0; i < MCP_MAX_SESSIONS; i++) {
        mcp_session *s = &m->sessions[i];
        if (!strcmp(s->id, id) && ((!s->tenant && !tenant) || (s->tenant && tenant && !strcmp(s->tenant, tenant))))
            return s;
    }
    return NULL;
}

bool mcp_session_valid(mcp_server *m, const char *id, const char *tenant) {
    pthread_mutex_lock(&m->state_mu);
    bool ok = mcp__session_find(m, id, tenant) != NULL;
    pthread_mutex_unlock(&m->state_mu);
    return ok;
}

bool mcp_session_close(mcp_server *m, const char *id, const char *tenant) {
    pthread_mutex_lock(&m->state_mu);
    mcp_session *s = mcp__session_find(m, id, tenant);
    if (s) {
        free(s->tenant);
        memset(s, 0, sizeof *s);
    }
    pthread_mutex_unlock(&m->state_mu);
    return s != NULL;
}
