/*
** server/handle.c: the request-handling core. Authenticates the key, maps
** the method and path to an endpoint, parses the JSON body (with a depth
** limit and a clear message for integers jansson cannot hold), runs the
** endpoint and wraps its result in Qdrant's envelope
** {"result": …, "status": "ok", "time": seconds} or its error shape
** {"status": {"error": "…"}, "time": …}. Also the tenant namespaces: a
** tenant's collection `c` is the store collection `.<tenant>.c`; the global
** namespace may not use names that start with '.'.
**
** DESIGN
** - Nothing here touches sockets, so unit tests and the fuzz target drive
**   exactly the code the server runs.
** - Every endpoint either returns a result or records one error with
**   server_fail; the first error wins.
** - The access log line and the metrics are written after the response is
**   built; neither ever includes a body, a query string or a key.
*/
#include "server/server_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <time.h>

#ifndef SC_GIT_COMMIT
#define SC_GIT_COMMIT "unknown"
#endif


/* ==== Errors ==== */

json_t *server_fail(server_call *call, int status, const char *fmt, ...) {
    if (call->status) return NULL;
    call->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->msg, sizeof call->msg, fmt, ap);
    va_end(ap);
    return NULL;
}

json_t *server_fail_store(server_call *call, sc_status rc) {
    int status;
    switch (rc) {
    case SC_NOTFOUND: status = 404; break;
    case SC_INVALID: status = 400; break;
    case SC_EXISTS: status = 409; break;
    case SC_BUSY: status = 503; break;
    case SC_UNSUPPORTED: status = 501; break;
    default: status = 500; break;
    }
    const char *m = sc_db_errmsg(call->ctx->db);
    /* the store words a value out of its range (a filter's) as Qdrant's validation error: 422 */
    const char *v = status == 400 ? strstr(m, "Validation error in JSON body: [") : NULL;
    if (v) return server_fail(call, 422, "%s", v);
    if (status == 400) return server_fail(call, status, "Wrong input: %s", m);
    return server_fail(call, status, "%s", m && *m ? m : sc_status_str(rc));
}

void server_response_error(server_response *resp, int status, const char *msg) {
    json_t *o = json_pack("{s:{s:s},s:f}", "status", "error", msg ? msg : "error", "time", 0.0);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    resp->status = status;
    resp->content_type = "application/json";
    util_buf_puts(&resp->body, text ? text : "{\"status\":{\"error\":\"out of memory\"},\"time\":0}");
    free(text);
    json_decref(o);
}

void server_response_free(server_response *resp) {
    if (!resp) return;
    util_buf_free(&resp->body);
    if (resp->has_file) close(resp->file_fd);
    resp->has_file = false;
}

const char *server_arg(const server_call *call, const char *name) {
    return call->req->arg ? call->req->arg(call->req->arg_ctx, name) : NULL;
}

/* The query-string arguments every endpoint takes: `timeout` (seconds,
** at least 1; accepted, a request is not cut short here) and `wait` (true
** or false; every write is durable when it answers). */
static bool server__check_args(server_call *call) {
    const char *t = server_arg(call, "timeout"), *w = server_arg(call, "wait");
    if (t) {
        char *end = NULL;
        unsigned long long v = strtoull(t, &end, 10);
        if (!*t || *end || *t == '-')
            return server_fail(call, 400, "Query deserialize error: `timeout`: invalid digit in `%.32s`", t), false;
        if (v == 0)
            return server_fail(call, 422, "Validation error in query parameters: [timeout: value 0 invalid, must be 1 "
                                          "or larger]"), false;
    }
    if (w && strcmp(w, "true") && strcmp(w, "false"))
        return server_fail(call, 400, "Query deserialize error: `wait` must be true or false, not `%.32s`", w), false;
    return true;
}

/* ==== Tenants and names ==== */

bool server_coll_name(server_call *call, const char *user, char out[SERVER_NAME_SIZE]) {
    if (!user || !*user) {
        server_fail(call, 422, "Validation error in path: collection name is empty");
        return false;
    }
    if (call->tenant) {
        size_t n = (size_t)snprintf(out, SERVER_NAME_SIZE, ".%s.%s", call->tenant, user);
        if (n >= SERVER_NAME_SIZE || n > SC_MAX_NAME_LEN) {
            server_fail(call, 422, "Validation error in path: collection name `%s` is too long", user);
            return false;
        }
        return true;
    }
    if (user[0] == '.') {
        server_fail(call, 422, "Validation error in path: collection name `%s` may not start with '.'", user);
        return false;
    }
    if (strlen(user) >= SERVER_NAME_SIZE) {
        server_fail(call, 422, "Validation error in path: collection name is too long");
        return false;
    }
    strcpy(out, user);
    return true;
}

bool server_coll_resolve(server_call *call, const char *user, char out[SERVER_NAME_SIZE]) {
    if (user && strlen(user) > SC_MAX_NAME_LEN) {
        server_fail(call, 422, "Validation error in path parameters: [collection_name: the name is %zu bytes long, at "
                               "most %u allowed]", strlen(user), SC_MAX_NAME_LEN);
        return false;
    }
    if (!server_coll_name(call, user, out)) {
        /* an invalid name cannot exist: answer as for a missing one */
        call->status = 0;
        server_fail(call, 404, "Collection `%s` doesn't exist!", user ? user : "");
        return false;
    }
    if (sc_collection_exists(call->ctx->db, out)) return true;
    char *target = NULL;
    if (sc_alias_resolve(call->ctx->db, out, &target) == SC_OK && strlen(target) < SERVER_NAME_SIZE) {
        strcpy(out, target);
        sc_free(target);
        return true;
    }
    sc_free(target);
    server_fail(call, 404, "Collection `%s` doesn't exist!", user);
    return false;
}

const char *server_tenant_strip(const char *tenant, const char *store_name) {
    size_t n = strlen(tenant);
    if (store_name[0] != '.' || strncmp(store_name + 1, tenant, n) || store_name[n + 1] != '.') return NULL;
    return store_name + n + 2;
}

const char *server_coll_user_name(const server_call *call, const char *store_name) {
    if (!call->tenant) return store_name[0] == '.' ? NULL : store_name;
    return server_tenant_strip(call->tenant, store_name);
}

/* ==== Tenant scope ==== */

bool server_tenant_resolve(server_call *call, const char *requested, const char **out) {
    if (requested && !*requested) requested = NULL;
    if (call->tenant) {
        if (requested && strcmp(requested, call->tenant)) {
            server_fail(call, 403, "Forbidden: this API key is scoped to its own tenant and may not act for "
                                   "tenant `%.64s`", requested);
            return false;
        }
        *out = call->tenant;
        return true;
    }
    if (requested && call->ctx->cfg.n_keys) {
        server_fail(call, 403, "Forbidden: this API key serves the global namespace; only a key scoped to "
                               "tenant `%.64s` may act for it", requested);
        return false;
    }
    if (requested && !server_tenant_name_ok(requested)) {
        server_fail(call, 400, "Wrong input: tenant `%.64s` must be 1..64 of [A-Za-z0-9_-]", requested);
        return false;
    }
    *out = requested;
    return true;
}

bool server_tenant_visible(const server_call *call, const char *owner) {
    if (!call->tenant) return owner == NULL || call->role == SERVER_ROLE_ADMIN;
    return owner && !strcmp(owner, call->tenant);
}

/* ==== Authentication ==== */

/* Constant-time equality of a secret and a candidate: the time depends only
** on the length of the candidate, never on where they differ. */
static bool server__secret_eq(const char *secret, const char *cand) {
    size_t ns = strlen(secret), nc = strlen(cand);
    unsigned diff = (unsigned)(ns ^ nc);
    for (size_t i = 0; i < nc; i++) diff |= (unsigned char)cand[i] ^ (unsigned char)(ns ? secret[i % ns] : 0);
    return diff == 0;
}

/* The key of a request (api-key header, else a Bearer token), NULL if none. */
static const char *server__request_key(const server_request *req) {
    if (req->api_key && *req->api_key) return req->api_key;
    if (req->bearer && !strncasecmp(req->bearer, "Bearer ", 7)) {
        const char *k = req->bearer + 7;
        while (*k == ' ') k++;
        return *k ? k : NULL;
    }
    return NULL;
}

/* Role and tenant of the caller; 0 with an error status set when refused. */
static server_role server__authenticate(server_call *call) {
    const server_config *cfg = &call->ctx->cfg;
    if (cfg->n_keys == 0) return SERVER_ROLE_ADMIN;
    const char *key = server__request_key(call->req);
    if (!key) {
        server_fail(call, 401, "Must provide an API key or an Authorization bearer token");
        return SERVER_ROLE_NONE;
    }
    const server_key *found = NULL;
    for (size_t i = 0; i < cfg->n_keys; i++) /* no early exit: same work whichever key matches */
        if (server__secret_eq(cfg->keys[i].key, key) && !found) found = &cfg->keys[i];
    if (!found) {
        server_fail(call, 401, "Invalid API key or JWT");
        return SERVER_ROLE_NONE;
    }
    call->tenant = found->tenant;
    return found->role;
}

server_role server_request_role(server_ctx *ctx, const server_request *req) {
    server_call call = {.ctx = ctx, .req = req};
    server_role role = server__authenticate(&call);
    return call.status ? SERVER_ROLE_NONE : role;
}

/* ==== Routes ==== */

typedef enum server_kind {
    SERVER_KIND_JSON = 0, /* endpoint returning a JSON result in the envelope */
    SERVER_KIND_ROOT,     /* GET / */
    SERVER_KIND_HEALTH,   /* plain-text probes */
    SERVER_KIND_READY,    /* /readyz */
    SERVER_KIND_METRICS,  /* Prometheus text */
    SERVER_KIND_OPENAI,   /* OpenAI-compatible endpoint: own body shape, OpenAI error shape */
    SERVER_KIND_EXACT,    /* as JSON, numbers printed with 17 digits: results equal the CLI's --json byte for byte */
    SERVER_KIND_UI,       /* the web page's files (web.c), no key needed */
    SERVER_KIND_MCP,      /* the MCP transport: JSON-RPC bodies and its own statuses (mcp_http.c) */
} server_kind;

typedef struct server_route {
    const char *method;     /* HTTP method */
    const char *pattern;    /* path, '*' segments are captured */
    server_endpoint_fn fn;  /* endpoint (JSON kind) */
    const char *label;      /* endpoint label for metrics and logs */
    server_role role;       /* least role allowed */
    server_kind kind;       /* how the answer is shaped */
} server_route;

#define R SERVER_ROLE_READ
#define W SERVER_ROLE_WRITE
#define A SERVER_ROLE_ADMIN
static const server_route server__routes[] = {
    {"GET", "/", NULL, "root", SERVER_ROLE_NONE, SERVER_KIND_ROOT},
    {"GET", "/healthz", NULL, "healthz", SERVER_ROLE_NONE, SERVER_KIND_HEALTH},
    {"GET", "/livez", NULL, "livez", SERVER_ROLE_NONE, SERVER_KIND_HEALTH},
    {"GET", "/readyz", NULL, "readyz", SERVER_ROLE_NONE, SERVER_KIND_READY},
    {"GET", "/metrics", NULL, "metrics", A, SERVER_KIND_METRICS},
    {"GET", "/ui", NULL, "ui", SERVER_ROLE_NONE, SERVER_KIND_UI},
    {"GET", "/ui/*", NULL, "ui", SERVER_ROLE_NONE, SERVER_KIND_UI},
    {"GET", "/collections", server_api_collections_list, "collections_list", R, 0},
    {"GET", "/aliases", server_api_aliases_list, "aliases_list", R, 0},
    {"POST", "/collections/aliases", server_api_aliases_update, "aliases_update", A, 0},
    {"GET", "/collections/*", server_api_collection_get, "collection_get", R, 0},
    {"PUT", "/collections/*", server_api_collection_create, "collection_create", A, 0},
    {"PATCH", "/collections/*", server_api_collection_update, "collection_update", A, 0},
    {"DELETE", "/collections/*", server_api_collection_delete, "collection_delete", A, 0},
    {"GET", "/collections/*/exists", server_api_collection_exists, "collection_exists", R, 0},
    {"GET", "/collections/*/cluster", server_api_collection_cluster, "collection_cluster", R, 0},
    {"GET", "/collections/*/aliases", server_api_collection_aliases, "collection_aliases", R, 0},
    {"GET", "/collections/*/optimizations", server_api_optimizations, "collection_optimizations", R, 0},
    {"PUT", "/collections/*/vectors/*", server_api_vector_create, "collection_vector_create", A, 0},
    {"DELETE", "/collections/*/vectors/*", server_api_vector_delete, "collection_vector_delete", A, 0},
    {"PUT", "/collections/*/index", server_api_index_create, "index_create", W, 0},
    {"DELETE", "/collections/*/index/*", server_api_index_delete, "index_delete", W, 0},
    {"POST", "/collections/*/facet", server_api_facet, "facet", R, 0},
    {"PUT", "/collections/*/points", server_api_points_upsert, "points_upsert", W, 0},
    {"POST", "/collections/*/points", server_api_points_get, "points_get", R, 0},
    {"GET", "/collections/*/points/*", server_api_point_get, "point_get", R, 0},
    {"POST", "/collections/*/points/delete", server_api_points_delete, "points_delete", W, 0},
    {"POST", "/collections/*/points/payload", server_api_payload_set, "payload_set", W, 0},
    {"PUT", "/collections/*/points/payload", server_api_payload_overwrite, "payload_overwrite", W, 0},
    {"POST", "/collections/*/points/payload/delete", server_api_payload_delete, "payload_delete", W, 0},
    {"POST", "/collections/*/points/payload/clear", server_api_payload_clear, "payload_clear", W, 0},
    {"POST", "/collections/*/points/scroll", server_api_points_scroll, "points_scroll", R, 0},
    {"POST", "/collections/*/points/count", server_api_points_count, "points_count", R, 0},
    {"POST", "/collections/*/points/batch", server_api_points_batch, "points_batch", W, 0},
    {"POST", "/collections/*/points/ndjson", server_api_points_ndjson, "points_ndjson", W, 0},
    {"PUT", "/collections/*/points/vectors", server_api_vectors_update, "vectors_update", W, 0},
    {"POST", "/collections/*/points/vectors/delete", server_api_vectors_delete, "vectors_delete", W, 0},
    {"POST", "/collections/*/points/query", server_api_query, "query", R, 0},
    {"POST", "/collections/*/points/query/batch", server_api_query_batch, "query_batch", R, 0},
    {"POST", "/collections/*/points/search", server_api_search, "search", R, 0},
    {"POST", "/collections/*/points/search/batch", server_api_search_batch, "search_batch", R, 0},
    {"POST", "/collections/*/points/recommend", server_api_recommend, "recommend", R, 0},
    {"POST", "/collections/*/points/recommend/batch", server_api_recommend_batch, "recommend_batch", R, 0},
    {"POST", "/collections/*/points/discover", server_api_discover, "discover", R, 0},
    {"POST", "/collections/*/points/discover/batch", server_api_discover_batch, "discover_batch", R, 0},
    {"POST", "/collections/*/points/query/groups", server_api_query_groups, "query_groups", R, 0},
    {"POST", "/collections/*/points/search/groups", server_api_search_groups, "search_groups", R, 0},
    {"POST", "/collections/*/points/recommend/groups", server_api_recommend_groups, "recommend_groups", R, 0},
    {"POST", "/collections/*/points/search/matrix/pairs", server_api_matrix_pairs, "matrix_pairs", R, 0},
    {"POST", "/collections/*/points/search/matrix/offsets", server_api_matrix_offsets, "matrix_offsets", R, 0},
    {"GET", "/collections/*/snapshots", server_api_snapshots_list, "snapshots_list", R, 0},
    {"POST", "/collections/*/snapshots", server_api_snapshot_create, "snapshot_create", A, 0},
    {"PUT", "/collections/*/snapshots/recover", server_api_snapshot_recover, "snapshot_recover", A, 0},
    {"POST", "/collections/*/snapshots/upload", server_api_snapshot_upload, "snapshot_upload", A, 0},
    {"GET", "/collections/*/snapshots/*", server_api_snapshot_get, "snapshot_get", R, 0},
    {"DELETE", "/collections/*/snapshots/*", server_api_snapshot_delete, "snapshot_delete", A, 0},
    {"GET", "/snapshots", server_api_full_snapshots_list, "full_snapshots_list", A, 0},
    {"POST", "/snapshots", server_api_full_snapshot_create, "full_snapshot_create", A, 0},
    {"GET", "/snapshots/*", server_api_full_snapshot_get, "full_snapshot_get", A, 0},
    {"DELETE", "/snapshots/*", server_api_full_snapshot_delete, "full_snapshot_delete", A, 0},
    {"POST", "/code/search", server_api_code_search, "code_search", R, SERVER_KIND_EXACT},
    {"POST", "/code/similar", server_api_code_similar, "code_similar", R, SERVER_KIND_EXACT},
    {"POST", "/code/duplicates", server_api_code_duplicates, "code_duplicates", R, SERVER_KIND_EXACT},
    {"GET", "/code/stats", server_api_code_stats, "code_stats", R, 0},
    {"POST", "/code/history", server_api_code_history, "code_history", R, SERVER_KIND_EXACT},
    {"POST", "/code/callers", server_api_code_callers, "code_callers", R, SERVER_KIND_EXACT},
    {"POST", "/code/callees", server_api_code_callees, "code_callees", R, SERVER_KIND_EXACT},
    {"POST", "/v1/embeddings", server_api_embeddings, "embeddings", R, SERVER_KIND_OPENAI},
    {"POST", "/mcp", NULL, "mcp", R, SERVER_KIND_MCP},
    {"DELETE", "/mcp", NULL, "mcp_delete", R, SERVER_KIND_MCP},
    {"GET", "/telemetry", server_api_telemetry, "telemetry", A, 0},
    {"GET", "/issues", server_api_issues_get, "issues_get", R, 0},
    {"DELETE", "/issues", server_api_issues_clear, "issues_clear", A, 0},
    {"POST", "/jobs", server_api_jobs_submit, "jobs_submit", W, 0},
    {"GET", "/jobs", server_api_jobs_list, "jobs_list", R, 0},
    {"GET", "/jobs/*", server_api_job_get, "job_get", R, 0},
    {"DELETE", "/jobs/*", server_api_job_cancel, "job_cancel", W, 0},
};
#undef R
#undef W
#undef A
#define SERVER_N_ROUTES (sizeof server__routes / sizeof *server__routes)

bool server_route_path(const char *label, char *out, size_t size) {
    for (size_t i = 0; i < SERVER_N_ROUTES; i++) {
        const server_route *r = &server__routes[i];
        if (strcmp(r->label, label)) continue;
        util_buf b = {0};
        util_buf_printf(&b, "%s ", r->method);
        int star = 0;
        for (const char *p = r->pattern; *p; p++) {
            if (*p != '*') {
                util_buf_append(&b, p, 1);
                continue;
            }
            /* Qdrant's parameter names: the collection, then a point id or a payload field */
            util_buf_puts(&b, star++ == 0                        ? "{collection_name}"
                              : strstr(r->pattern, "/index/")   ? "{field_name}"
                              : strstr(r->pattern, "/vectors/") ? "{vector_name}"
                                                                : "{id}");
        }
        bool ok = !b.oom && b.len < size;
        if (ok) memcpy(out, b.data, b.len + 1);
        util_buf_free(&b);
        return ok;
    }
    return false;
}

/* Decode %XX escapes of one segment into out; false when malformed. */
static bool server__pct_decode(const char *s, size_t n, char *out, size_t out_size) {
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (j + 1 >= out_size) return false;
        char ch = s[i];
        if (ch == '%') {
            if (i + 2 >= n) return false;
            int v = 0;
            for (int k = 1; k <= 2; k++) {
                char h = s[i + (size_t)k];
                v <<= 4;
                if (h >= '0' && h <= '9') v |= h - '0';
                else if (h >= 'a' && h <= 'f') v |= h - 'a' + 10;
                else if (h >= 'A' && h <= 'F') v |= h - 'A' + 10;
                else return false;
            }
            if (v == 0) return false;
            out[j++] = (char)v;
            i += 2;
        } else {
            out[j++] = ch;
        }
    }
    out[j] = 0;
    return true;
}

/* Match path against a pattern, capturing '*' segments into call->args.
** Returns true on a match. */
static bool server__match(server_call *call, const char *pattern, const char *path) {
    size_t n_args = 0, used = 0;
    const char *p = pattern, *s = path;
    if (!strcmp(pattern, "/")) return !strcmp(path, "/");
    while (*p && *s) {
        if (*p != '/' || *s != '/') return false;
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pn = pe ? (size_t)(pe - p) : strlen(p), sn = se ? (size_t)(se - s) : strlen(s);
        if (pn == 1 && *p == '*') {
            if (sn == 0 || n_args >= SERVER_MAX_ARGS) return false;
            char *dst = call->argbuf + used;
            if (!server__pct_decode(s, sn, dst, sizeof call->argbuf - used)) return false;
            call->args[n_args++] = dst;
            used += strlen(dst) + 1;
        } else if (pn != sn || strncmp(p, s, pn)) {
            return false;
        }
        p += pn;
        s += sn;
    }
    return !*p && (!*s || !strcmp(s, "/"));
}

/* ==== Body ==== */

/* Nesting depth of a JSON text, ignoring brackets inside strings. */
static size_t server__json_depth(const char *s, size_t n) {
    size_t depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\') i++;
            else if (ch == '"') in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max) max = depth;
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return max;
}

/* Qdrant takes any u64 `limit` (clients send u64::MAX for "all"), and
** jansson holds integers up to 2^63-1 only. An owned copy of the body in
** which each `"limit": N` with N above 2^63-1 reads 2^63-1 (limits are
** clamped to the collection's size anyway); NULL when there is none. */
static char *server__clamp_big_limits(const char *s, size_t n) {
    static const char big[] = "9223372036854775807";
    util_buf out = {0};
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"') continue;
        size_t start = ++i;
        while (i < n && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
        if (i >= n || i - start != 5 || memcmp(s + start, "limit", 5)) continue;
        size_t j = i + 1;
        while (j < n && strchr(" \t\r\n", s[j])) j++;
        if (j >= n || s[j] != ':') continue;
        for (j++; j < n && strchr(" \t\r\n", s[j]); j++) {
        }
        size_t d = j;
        while (j < n && s[j] >= '0' && s[j] <= '9') j++;
        size_t len = j - d;
        if (len < 19 || (len == 19 && memcmp(s + d, big, 19) <= 0)) continue;
        util_buf_append(&out, s + run, d - run);
        util_buf_puts(&out, big);
        run = j;
        i = j - 1;
    }
    if (!out.len) return NULL;
    util_buf_append(&out, s + run, n - run);
    if (out.oom) {
        util_buf_free(&out);
        return NULL;
    }
    return out.data;
}

static bool server__parse_body(server_call *call) {
    const server_request *req = call->req;
    if (req->body_json) { /* built by the gRPC front end, its depth bounded there */
        call->body = json_incref(req->body_json);
        return true;
    }
    size_t n = req->body_size;
    bool blank = true;
    for (size_t i = 0; i < n && blank; i++)
        if (req->body[i] != ' ' && req->body[i] != '\n' && req->body[i] != '\r' && req->body[i] != '\t') blank = false;
    if (!req->body || blank) return true;
    /* a points upsert: its dense vectors skip jansson (fastvec.c) */
    size_t fast_n = 0;
    char *fast = call->fastvec_ok ? server_fastvec_scan(req->body, n, &call->fastvec, &fast_n) : NULL;
    /* the copy nests exactly as deep as the body (a replaced `[numbers]` is `[]`) and is a fraction of it */
    if (server__json_depth(fast ? fast : req->body, fast ? fast_n : n) > SERVER_MAX_JSON_DEPTH) {
        free(fast);
        server_fail(call, 400, "Json deserialize error: nesting deeper than %d levels", SERVER_MAX_JSON_DEPTH);
        return false;
    }
    json_error_t e;
    if (fast) {
        call->body = json_loadb(fast, fast_n, JSON_REJECT_DUPLICATES, &e);
        free(fast);
        if (!call->body) { /* the original answers with jansson's own message and position */
            server_fastvec_free(call->fastvec);
            call->fastvec = NULL;
        }
    }
    if (!call->body) call->body = json_loadb(req->body, n, JSON_REJECT_DUPLICATES, &e);
    char *clamped = !call->body && strstr(e.text, "too big") ? server__clamp_big_limits(req->body, n) : NULL;
    if (clamped) {
        call->body = json_loads(clamped, JSON_REJECT_DUPLICATES, &e);
        free(clamped);
    }
    if (!call->body) {
        if (strstr(e.text, "too big"))
            server_fail(call, 400,
                        "Json deserialize error: integer out of range at line %d column %d: numbers above "
                        "9223372036854775807 (2^63-1) are not supported, including point ids",
                        e.line, e.column);
        else
            server_fail(call, 400, "Json deserialize error: %s at line %d column %d", e.text, e.line, e.column);
        return false;
    }
    if (!json_is_object(call->body)) {
        server_fail(call, 400, "Json deserialize error: the request body must be a JSON object");
        return false;
    }
    return true;
}

/* ==== Handling ==== */

/* Append the number token s[0..n) to out as the shortest text that reads
** back as the same double (jansson prints 17 digits: 0.15 would come out
** 0.14999999999999999); a number that would look like an integer keeps a
** ".0", as jansson and Qdrant write it. */
static void server__put_real(util_buf *out, const char *s, size_t n) {
    char tok[64], buf[40];
    if (n >= sizeof tok) {
        util_buf_append(out, s, n);
        return;
    }
    memcpy(tok, s, n);
    tok[n] = 0;
    double d = strtod(tok, NULL);
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d) break;
    }
    util_buf_puts(out, buf);
    if (!strpbrk(buf, ".eEin")) util_buf_puts(out, ".0");
}

/* Copy JSON text to out with every non-integer number shortened by
** server__put_real (strings and integers untouched). */
static void server__shorten_reals(const char *text, util_buf *out) {
    const char *p = text, *run = text;
    while (*p) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1]) p++;
            if (*p) p++;
            continue;
        }
        if (*p != '-' && (*p < '0' || *p > '9')) {
            p++;
            continue;
        }
        const char *start = p;
        bool real = false;
        while (*p && strchr("+-0123456789.eE", *p)) real |= *p == '.' || *p == 'e' || *p == 'E', p++;
        if (!real) continue;
        util_buf_append(out, run, (size_t)(start - run));
        server__put_real(out, start, (size_t)(p - start));
        run = p;
    }
    util_buf_append(out, run, (size_t)(p - run));
}

/* Dump o as the body. Reals are written as the shortest text that reads
** back as the same double (float32 values of records were rounded to their
** own shortest decimal first, server_json_f32), unless exact, which keeps
** jansson's 17 digits (what the CLI prints). */
static void server__set_json_prec(server_response *resp, int status, json_t *o, bool exact) {
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    if (!text) {
        server_response_error(resp, 500, "out of memory");
        return;
    }
    resp->status = status;
    resp->content_type = "application/json";
    if (exact) util_buf_puts(&resp->body, text);
    else server__shorten_reals(text, &resp->body);
    free(text);
    if (resp->body.oom) {
        util_buf_free(&resp->body);
        server_response_error(resp, 500, "out of memory");
    }
}

static void server__set_json(server_response *resp, int status, json_t *o) {
    server__set_json_prec(resp, status, o, false);
}

static void server__error(server_response *resp, int status, const char *msg, double t) {
    json_t *o = json_pack("{s:{s:s},s:o}", "status", "error", msg, "time", server_json_f32((float)t));
    server__set_json(resp, status, o);
    resp->status = status;
    json_decref(o);
}

/* OpenAI's error shape {"error": {"message", "type", "param", "code"}}. */
static void server__error_openai(server_response *resp, int status, const char *msg) {
    const char *type = status == 401 ? "authentication_error"
                       : status == 403 ? "permission_error"
                       : status == 404 ? "not_found_error"
                       : status >= 500 ? "server_error"
                                       : "invalid_request_error";
    json_t *o = json_pack("{s:{s:s,s:s,s:n,s:n}}", "error", "message", msg, "type", type, "param", "code");
    server__set_json(resp, status, o);
    resp->status = status;
    json_decref(o);
}

static void server__text(server_response *resp, int status, const char *text) {
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    util_buf_puts(&resp->body, text);
}

void server_log_message(void *payload, sc_log_level level, const char *msg) {
    FILE *log = payload;
    if (!log) return;
    json_t *o = json_pack("{s:s,s:s}", "level", sc_log_level_name(level), "message", msg);
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (line) {
        fprintf(log, "%s\n", line); /* one fprintf: lines never interleave */
        fflush(log);
    }
    free(line);
    json_decref(o);
}

/* Write one access-log line (JSON). Never the body, query or key. */
static void server__log(server_ctx *ctx, const server_request *req, const server_response *resp,
                        const char *tenant, double secs) {
    if (!ctx->log) return;
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:f,s:s}", "request_id", req->request_id ? req->request_id : "-",
                          "method", req->method ? req->method : "", "path", req->path ? req->path : "", "status",
                          resp->status, "duration_ms", secs * 1000.0, "endpoint", resp->endpoint);
    if (!o) return;
    if (tenant) json_object_set_new(o, "tenant", json_string(tenant));
    char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (line) {
        fprintf(ctx->log, "%s\n", line); /* one fprintf: stdio locks the stream, lines never interleave */
        fflush(ctx->log);
    }
    free(line);
    json_decref(o);
}

void server_handle(server_ctx *ctx, const server_request *req, server_response *resp) {
    double t0 = util_now();
    memset(resp, 0, sizeof *resp);
    resp->endpoint = req->grpc_method ? req->grpc_method : "unknown";
    server_call *call = calloc(1, sizeof *call);
    if (!call) {
        server_response_error(resp, 500, "out of memory");
        return;
    }
    call->ctx = ctx;
    call->req = req;
    const char *method = req->method ? req->method : "";
    const char *path = req->path && *req->path ? req->path : "/";

    const server_route *route = NULL;
    bool path_known = false;
    for (size_t i = 0; i < SERVER_N_ROUTES && !route; i++) {
        if (!server__match(call, server__routes[i].pattern, path)) continue;
        path_known = true;
        if (!strcmp(server__routes[i].method, method)) route = &server__routes[i];
    }
    json_t *result = NULL;
    if (!route) {
        if (path_known)
            server_fail(call, 405, "Method %s is not allowed for %s", method, path);
        else
            server_fail(call, 404, "Not found: no endpoint %s %s", method, path);
        goto respond;
    }
    resp->endpoint = req->grpc_method ? req->grpc_method : route->label;
    if (route->kind == SERVER_KIND_UI) {
        server_web_serve(call->args[0], resp);
        goto done;
    }
    if (route->kind == SERVER_KIND_ROOT && server_web_prefers_html(req->accept)) {
        server_web_serve(NULL, resp);
        resp->vary_accept = true;
        goto done;
    }
    if (route->kind == SERVER_KIND_ROOT || route->kind == SERVER_KIND_HEALTH || route->kind == SERVER_KIND_READY) {
        if (route->kind == SERVER_KIND_ROOT) {
            resp->vary_accept = true;
            /* Qdrant's own words: clients and Qdrant's tests check the title;
            ** semcode names itself in the `server` header of every response */
            json_t *o = json_pack("{s:s,s:s,s:s}", "title", "qdrant - vector search engine", "version",
                                  SERVER_QDRANT_VERSION, "commit", SC_GIT_COMMIT);
            server__set_json(resp, 200, o);
            json_decref(o);
        } else if (route->kind == SERVER_KIND_READY && !__atomic_load_n(&ctx->ready, __ATOMIC_ACQUIRE)) {
            server__text(resp, 503, "not ready");
        } else {
            server__text(resp, 200, route->kind == SERVER_KIND_READY ? "all shards are ready"
                                                                      : "healthz check passed");
        }
        goto done;
    }
    server_role role = server__authenticate(call);
    call->role = role;
    if (call->status) goto respond;
    if (role < route->role) {
        server_fail(call, 403, "Forbidden: this API key may not call %s (needs the %s role)", route->label,
                    route->role == SERVER_ROLE_ADMIN ? "admin" : route->role == SERVER_ROLE_WRITE ? "write" : "read");
        goto respond;
    }
    if (!__atomic_load_n(&ctx->ready, __ATOMIC_ACQUIRE)) {
        server_fail(call, 503, "Service unavailable: the server is starting or shutting down");
        goto respond;
    }
    if (route->kind == SERVER_KIND_METRICS) {
        resp->status = 200;
        resp->content_type = "text/plain; version=0.0.4";
        const char *pc = server_arg(call, "per_collection");
        server_metrics_render(ctx->metrics, ctx->db, call->tenant, pc && !strcmp(pc, "true"), &resp->body);
        server_jobs_render_metrics(ctx->jobs, call->tenant, &resp->body);
        goto done;
    }
    if (route->kind == SERVER_KIND_MCP) {
        server_mcp_handle(call, resp);
        goto done;
    }
    call->fastvec_ok = route->fn == server_api_points_upsert;
    if (!server__check_args(call) || !server__parse_body(call)) goto respond;
    if (!strncmp(route->pattern, "/collections/*", 14) && !server_strict_check(call, route->label)) goto respond;
    result = route->fn(call);

respond:
    if (call->status || !result) {
        if (!call->status) server_fail(call, 500, "internal error");
        if (route && route->kind == SERVER_KIND_OPENAI)
            server__error_openai(resp, call->status, call->msg);
        else
            server__error(resp, call->status, call->msg, util_now() - t0);
        resp->retry_after = call->status == 429 ? call->retry_after : 0;
    } else if (route->kind == SERVER_KIND_OPENAI) {
        server__set_json(resp, 200, result);
    } else if (call->has_file) {
        resp->status = 200;
        resp->content_type = "application/octet-stream";
        resp->file_fd = call->file_fd;
        resp->file_size = call->file_size;
        resp->has_file = true;
        call->has_file = false;
    } else if (call->ok_status == 202) {
        json_t *env = json_pack("{s:s,s:o}", "status", "accepted", "time",
                                server_json_f32((float)(util_now() - t0)));
        server__set_json(resp, 202, env);
        json_decref(env);
    } else {
        json_t *env = json_pack("{s:o,s:s,s:o}", "result", result, "status", "ok", "time",
                                server_json_f32((float)(util_now() - t0)));
        result = NULL;
        server__set_json_prec(resp, 200, env, route->kind == SERVER_KIND_EXACT);
        json_decref(env);
    }
done:
    if (call->has_file) close(call->file_fd);
    json_decref(result);
    json_decref(call->body);
    server_fastvec_free(call->fastvec);
    double secs = util_now() - t0;
    /* per-collection counts: routes under /collections/{name} (not the aliases endpoint), under the
    ** name the caller used, in its tenant's rows */
    const char *coll = route && !strncmp(route->pattern, "/collections/*", 14) ? call->args[0] : NULL;
    if (ctx->metrics)
        server_metrics_observe(ctx->metrics, resp->endpoint, resp->status, call->tenant, coll, secs);
    server__log(ctx, req, resp, call->tenant, secs);
    free(call);
}

/* ==== Context ==== */

server_ctx *server_ctx_new(sc_db *db, server_config *cfg) {
    server_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->db = db;
    ctx->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    pthread_mutex_init(&ctx->repo_mu, NULL);
    pthread_mutex_init(&ctx->embed_mu, NULL);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    ctx->started = (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
    ctx->metrics = server_metrics_new();
    ctx->limiters = server_limiters_new();
    if (!ctx->metrics || !ctx->limiters) {
        server_ctx_free(ctx);
        return NULL;
    }
    __atomic_store_n(&ctx->ready, 1, __ATOMIC_RELEASE);
    return ctx;
}

void server_ctx_free(server_ctx *ctx) {
    if (!ctx) return;
    server_config_free(&ctx->cfg);
    server_metrics_free(ctx->metrics);
    server_limiters_free(ctx->limiters);
    pthread_mutex_destroy(&ctx->repo_mu);
    pthread_mutex_destroy(&ctx->embed_mu);
    sc_embedder_free(ctx->embedder);
    free(ctx);
}

sc_status server_ctx_set_model(server_ctx *ctx, sc_model *model, sc_embed_cache *cache) {
    sc_embedder *e = NULL;
    if (model && sc_embedder_new_model(model, &e, NULL) != SC_OK) return SC_NOMEM;
    if (e) sc_embedder_set_cache(e, cache);
    sc_embedder_free(ctx->embedder);
    ctx->embedder = e;
    ctx->model = model;
    ctx->cache = model ? cache : NULL;
    return SC_OK;
}
