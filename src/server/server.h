/*
** server: the request-handling core of `semcode serve`, independent of
** sockets. The HTTP front end (http.c, libmicrohttpd) turns each request
** into a server_request, calls server_handle and sends the response; unit
** tests and the fuzz target call server_handle directly.
**
** Thread safety: one server_ctx is shared by all worker threads;
** server_handle may run concurrently (the store serialises writes itself,
** metrics use their own lock).
*/
#ifndef SC_SERVER_H
#define SC_SERVER_H

#include <stdio.h>

#include <pthread.h>

#include "semcode/embed.h"
#include "semcode/provider.h"
#include "semcode/repo.h"
#include "semcode/store.h"
#include "semcode/watch.h"
#include "semcode/workspace.h"
#include "server/jobs.h"
#include "util/util.h"

/* ==== Configuration ==== */

typedef enum server_role {
    SERVER_ROLE_NONE = 0,  /* no key: only when the server has no keys at all */
    SERVER_ROLE_READ = 1,  /* reads: get, scroll, count, search, info, list */
    SERVER_ROLE_WRITE = 2, /* + point and payload writes, payload indexes */
    SERVER_ROLE_ADMIN = 3, /* + collections, aliases, metrics */
} server_role;

typedef struct server_key {
    char *key;        /* owned secret (compared in constant time, never logged) */
    server_role role; /* what it may do */
    char *tenant;     /* owned tenant name, NULL = global namespace */
} server_key;

typedef struct server_config {
    server_key *keys;        /* owned array of API keys */
    size_t n_keys;           /* entries in keys; 0 = no authentication */
    size_t max_body_bytes;   /* request bodies above this get 413 (default 32 MiB) */
    unsigned timeout_s;      /* idle connection timeout in seconds (default 30) */
    unsigned n_threads;      /* worker threads; 0 = number of cores */
    unsigned search_threads; /* threads per search inside the store; 0 = 1 */
    char *model_path;        /* owned path of the built-in model file, NULL = default if present */
    char *repo_path;         /* owned root of the indexed tree for the /code endpoints, NULL = none */
    char *cache_path;        /* owned path of the embedding cache file (`embedding_cache`), NULL = no cache */
    server_jobs_config jobs; /* backfill jobs (`jobs`, server/jobs.h) */
} server_config;

/* Defaults (no keys, 32 MiB, 30 s, cores). */
server_config server_config_default(void);
/* Parse a JSON config file into *out (defaults for absent fields). On error
** returns SC_INVALID / SC_IOERR and names the field in err. Free with
** server_config_free. */
sc_status server_config_load(const char *path, server_config *out, sc_err *err);
/* Parse a config from JSON text (as server_config_load). */
sc_status server_config_parse(const char *text, server_config *out, sc_err *err);
/* Free the keys of a config; NULL is a no-op. */
void server_config_free(server_config *cfg);

/* ==== Context and requests ==== */

typedef struct server_metrics server_metrics;

typedef struct server_limiters server_limiters; /* strict mode's rate limiters (strict.c) */

/* New empty rate limiters (NULL when out of memory); free with server_limiters_free (NULL is a no-op). */
server_limiters *server_limiters_new(void);
void server_limiters_free(server_limiters *l);

typedef struct server_ctx {
    sc_db *db;               /* borrowed open store */
    server_config cfg;       /* owned configuration */
    server_metrics *metrics; /* owned request metrics */
    server_limiters *limiters; /* owned strict-mode rate limiters, per collection */
    FILE *log;               /* access log (borrowed), NULL = none */
    sc_model *model;         /* built-in embedding model (borrowed), NULL = text queries and /v1/embeddings off;
                                set with server_ctx_set_model */
    sc_embedder *embedder;   /* owned embedder over model (with the cache), NULL without a model */
    sc_embed_cache *cache;   /* embedding cache (borrowed), NULL = none */
    pthread_mutex_t embed_mu;/* an embedder is used by one thread at a time: held around every embedding call */
    sc_repo *repo;           /* indexed repository of the /code endpoints (borrowed), NULL = none configured */
    struct mcp_server *mcp;  /* the MCP server of /mcp (borrowed, over repo and repo_mu), NULL = off */
    pthread_mutex_t repo_mu; /* an sc_repo is used by one thread at a time: held around every repo call */
    sc_workspace *ws;        /* every repository of the /code endpoints, repo being its first (borrowed), NULL = none.
                             ** Lock order: repo_mu, then a workspace lock (sc_workspace_lock); repository 0 is only
                             ** used under repo_mu, so sc_workspace_search is called under repo_mu too */
    double started;          /* wall-clock start, seconds since the epoch (telemetry's app.startup) */
    server_jobs *jobs;       /* backfill jobs (borrowed), NULL = off (POST /jobs answers 503) */
    int ready;               /* 0 while starting or stopping: /readyz and data calls answer 503; set and read
                             ** with __atomic_* (workers read it while the main thread flips it) */
} server_ctx;

/* Create a context over an open store; takes ownership of *cfg (zeroed).
** Returns NULL when out of memory. */
server_ctx *server_ctx_new(sc_db *db, server_config *cfg);
/* Free a context (not the store, model or cache); NULL is a no-op. */
void server_ctx_free(server_ctx *ctx);
/* Embed text queries, upserted documents and /v1/embeddings with model
** (borrowed), through an embedder that uses cache (borrowed, NULL = none).
** SC_NOMEM when the embedder cannot be made. */
sc_status server_ctx_set_model(server_ctx *ctx, sc_model *model, sc_embed_cache *cache);

typedef struct server_request {
    const char *method;      /* "GET", "POST", "PUT", "PATCH", "DELETE", … */
    const char *path;        /* URL path as sent (percent-escapes not decoded), without the query string */
    const char *body;        /* request body bytes (not NUL-terminated), may be NULL */
    size_t body_size;        /* bytes in body */
    const char *api_key;     /* `api-key` header, NULL if absent */
    const char *bearer;      /* `Authorization` header value, NULL if absent */
    const char *request_id;  /* id for the access log (NULL: one is made up) */
    const char *accept;      /* `Accept` header, NULL if absent (GET / answers the web page to browsers) */
    /* A query-string argument by name (as sent, not percent-decoded), NULL
    ** when absent; arg may be NULL (no query string). */
    const char *(*arg)(const void *arg_ctx, const char *name);
    const void *arg_ctx;     /* its first argument */
    const char *mcp_session; /* `Mcp-Session-Id` header (/mcp), NULL if absent */
    const char *origin;      /* `Origin` header, NULL if absent */
    const char *upload_path; /* POST .../snapshots/upload: the file the uploaded snapshot was spooled to
                                (the multipart field, or a raw body); POST .../points/ndjson: the body;
                                NULL otherwise; removed after the call */
    struct json_t *body_json;/* the body already parsed (borrowed; the gRPC front end), used instead of body */
    const char *grpc_method; /* the gRPC method (static, "/qdrant.Points/Search") when the gRPC front end
                                runs the request: metrics and the access log count it under that name */
} server_request;

typedef struct server_response {
    int status;               /* HTTP status code */
    const char *content_type; /* static MIME type */
    util_buf body;            /* owned body */
    const char *endpoint;     /* static route label for metrics ("unknown" when no route) */
    unsigned retry_after;     /* seconds for a Retry-After header (a rate limit's 429), 0 = none */
    bool vary_accept;         /* the body depends on the Accept header (GET /): send `Vary: Accept` */
    char mcp_session[33];     /* an Mcp-Session-Id header to send (/mcp initialize), "" = none */
    int file_fd;              /* with has_file: an open file sent as the body (a snapshot download); owned */
    uint64_t file_size;       /* its bytes */
    bool has_file;            /* the body is file_fd, not body */
} server_response;

/* Handle one complete request: authenticate, route, call the store, and
** fill *resp (owned; release with server_response_free). Never fails: every
** error becomes an HTTP error response. Records metrics and the access log. */
void server_handle(server_ctx *ctx, const server_request *req, server_response *resp);
/* sc_logger callback of the server: one JSON line {"level", "message"} on
** the FILE * payload (the server's log), like the access log's lines. */
void server_log_message(void *payload, sc_log_level level, const char *msg);
/* The role the key of req (api-key header or bearer token) has, before
** routing (NONE for a missing or unknown key; ADMIN without keys): the
** HTTP front end spools a snapshot upload to disk only for an admin. */
server_role server_request_role(server_ctx *ctx, const server_request *req);
/* Release the body of a response. */
void server_response_free(server_response *resp);
/* Fill resp with a Qdrant error envelope {"status":{"error":msg},"time":0}. */
void server_response_error(server_response *resp, int status, const char *msg);

/* ==== gRPC (grpc.c) ==== */

typedef struct server_grpc server_grpc; /* Qdrant's gRPC API over ctx */

/* Serve Qdrant's gRPC API on host:port (0 = a free port) with n_threads
** workers, every call run through server_handle on ctx (borrowed; it must
** outlive the server). *bound is the port listened on. Call with
** SIGINT/SIGTERM/SIGPIPE blocked (gRPC's threads inherit the mask).
** SC_IOERR when the address cannot be bound. Stop with server_grpc_stop. */
sc_status server_grpc_start(server_ctx *ctx, const char *host, unsigned port, unsigned n_threads,
                            server_grpc **out, unsigned *bound, sc_err *err);
/* Stop accepting calls, let calls in flight finish, free g; NULL is a no-op. */
void server_grpc_stop(server_grpc *g);
#define SERVER_GRPC_MSG_SIZE 1024 /* buffer of a gRPC call's status message */
/* Run one unary gRPC call of `method` (method_len bytes, e.g.
** "/qdrant.Points/Upsert") on the serialized request in[0..n) with the
** caller's api_key / bearer (NULL = none), as the transport does, without
** sockets (the fuzz target drives it). Returns the gRPC status code; on 0
** (OK) *reply is the serialized reply (owned, free()), else msg says why. */
int server_grpc_call(server_ctx *ctx, const char *method, size_t method_len, const uint8_t *in, size_t n,
                     const char *api_key, const char *bearer, uint8_t **reply, size_t *reply_size,
                     char msg[SERVER_GRPC_MSG_SIZE]);
/* The path of served method i ("/qdrant.Points/Upsert"), NULL past the last. */
const char *server_grpc_method(size_t i);
/* The gRPC status code of an HTTP status of the REST core (400/422 ->
** INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404
** NOT_FOUND, 409 ALREADY_EXISTS, 501 UNIMPLEMENTED, 503 UNAVAILABLE, ...). */
int server_grpc_code(int http_status);

/* ==== Metrics (metrics.c) ==== */

/* New empty metrics; NULL when out of memory. */
server_metrics *server_metrics_new(void);
/* Free metrics; NULL is a no-op. */
void server_metrics_free(server_metrics *m);
/* Count one request of `endpoint` (static string) with its status, the
** tenant of its key (borrowed for the server's lifetime: the config's; NULL
** = the global namespace) and its duration; collection (copied; NULL when
** the request names none) as the caller named it, for the per-collection
** counts (kept per tenant, like the other rows). */
void server_metrics_observe(server_metrics *m, const char *endpoint, int status, const char *tenant,
                            const char *collection, double seconds);
/* The counters of one (endpoint, status) pair. */
typedef struct server_metrics_stat {
    const char *endpoint; /* static route label */
    int status;           /* HTTP status */
    uint64_t count;       /* requests */
    double sum, min, max; /* seconds: total, shortest, longest */
    double last;          /* when the last one answered (wall clock, seconds since the epoch) */
} server_metrics_stat;
/* A copy of the (endpoint, status) rows of tenant (NULL = the global
** namespace), or with all_tenants of every tenant added up (owned, free();
** NULL with *n 0 when none or out of memory). */
server_metrics_stat *server_metrics_snapshot(server_metrics *m, const char *tenant, bool all_tenants, size_t *n);
/* Count n texts embedded by the server's model (cache hits excluded). */
void server_metrics_count_embeddings(server_metrics *m, uint64_t n);
/* Count embedding cache lookups answered (hits) and not (misses), and
** record the number of vectors the cache holds. */
void server_metrics_count_cache(server_metrics *m, uint64_t hits, uint64_t misses, uint64_t entries);
/* Append the Prometheus text exposition of m, plus store gauges of db, to
** out. tenant NULL is the operator's view: every row (a tenant's with a
** tenant="T" label), every collection by store name, the server-wide
** counters. A tenant's view holds its own rows and collections only (by
** the names the tenant uses), nothing server-wide. per_collection: Qdrant's
** request counters per collection (rest_responses_total with a `collection`
** label, the name as the caller gave it) instead of global ones, in the
** same view. */
void server_metrics_render(server_metrics *m, sc_db *db, const char *tenant, bool per_collection, util_buf *out);

#endif /* SC_SERVER_H */
