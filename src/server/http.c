/*
** server/http.c: the HTTP front end of `semcode serve` on libmicrohttpd,
** and sc_server_run (include/semcode/server.h): open the store, listen,
** serve until SIGINT/SIGTERM, shut down.
**
** DESIGN
** - libmicrohttpd runs a pool of n worker threads (default: cores), each
**   with its own epoll loop; a request is handled to completion on the
**   thread that read it (handlers are CPU-bound store calls, so more
**   threads than cores would only add contention). Keep-alive is the
**   libmicrohttpd default for HTTP/1.1.
** - Bodies are accumulated per connection up to max_body_bytes: a
**   Content-Length above it is refused with 413 before the body is read;
**   a chunked body that grows past it is drained and answered 413.
** - Idle connections (including clients that stall mid-request) are closed
**   after timeout_s by libmicrohttpd.
** - Shutdown: SIGINT/SIGTERM are blocked in every thread and taken by
**   sigwait in the calling thread. Readiness drops first, then
**   MHD_stop_daemon joins the workers, so requests in flight finish (their
**   store writes are durable when they answer) before the store closes.
*/
#include "semcode/server.h"
#include "server/server.h"
#include "mcp/mcp.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Per-request state kept by libmicrohttpd between callbacks. */
typedef struct server_conn {
    util_buf body;   /* body received so far */
    bool too_large;  /* the body passed max_body_bytes: drain it, answer 413 */
    char id[40];     /* request id (also sent back as x-request-id) */
    FILE *upload;    /* POST .../snapshots/upload or .../points/ndjson: the spool file of the body, else NULL */
    char upload_path[4200];            /* its path (removed when the request ends) */
    struct MHD_PostProcessor *pp;      /* multipart decoder of that body (NULL: the raw body is the file) */
    bool upload_failed;                /* writing the spool failed (disk full): answered 500 */
} server_conn;

static uint64_t server__req_counter; /* request ids: process start time + counter */
static uint64_t server__req_epoch;

/* Send resp on conn, with the request id header. */
static enum MHD_Result server__send(struct MHD_Connection *conn, server_response *resp, const char *id) {
    size_t len = resp->body.len;
    char *data = resp->body.data;
    resp->body.data = NULL;
    resp->body.len = resp->body.cap = 0;
    struct MHD_Response *r = NULL;
    if (resp->has_file) { /* a snapshot download: libmicrohttpd reads the file and closes it */
        r = MHD_create_response_from_fd64(resp->file_size, resp->file_fd);
        if (r) resp->has_file = false;
    } else {
        r = data ? MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE)
                 : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", resp->content_type ? resp->content_type : "application/json");
    if (id) MHD_add_response_header(r, "x-request-id", id);
    MHD_add_response_header(r, "server", "semcode/" SC_VERSION_STRING); /* what answers behind Qdrant's API */
    if (resp->mcp_session[0]) MHD_add_response_header(r, "Mcp-Session-Id", resp->mcp_session);
    if (resp->retry_after) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", resp->retry_after);
        MHD_add_response_header(r, "retry-after", ra);
    }
    if (resp->vary_accept) MHD_add_response_header(r, "Vary", "Accept");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* The multipart decoder's callback: the bytes of field "snapshot" go to the spool file. */
static enum MHD_Result server__upload_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                           const char *content_type, const char *transfer_encoding, const char *data,
                                           uint64_t off, size_t size) {
    (void)kind, (void)filename, (void)content_type, (void)transfer_encoding, (void)off;
    server_conn *st = cls;
    if (!key || strcmp(key, "snapshot") || !size) return MHD_YES;
    if (fwrite(data, 1, size, st->upload) != size) st->upload_failed = true;
    return MHD_YES;
}

/* Which spooled upload is this request: 1 a snapshot (POST
** /collections/NAME/snapshots/upload), 2 an NDJSON upsert (POST
** /collections/NAME/points/ndjson), 0 neither. */
static int server__upload_kind(const char *method, const char *url) {
    static const char *const tails[] = {"/snapshots/upload", "/points/ndjson"};
    size_t n = strlen(url);
    if (strcmp(method, "POST") || strncmp(url, "/collections/", 13)) return 0;
    for (int k = 0; k < 2; k++) {
        size_t t = strlen(tails[k]);
        if (n > 13 + t && !strcmp(url + n - t, tails[k]) && !memchr(url + 13, '/', n - 13 - t)) return k + 1;
    }
    return 0;
}

/* Open the spool file of an upload in STORE/snapshots/ (created when missing);
** multipart: the body is a form whose field "snapshot" is the file. */
static bool server__upload_open(server_ctx *ctx, server_conn *st, struct MHD_Connection *conn, bool multipart) {
    snprintf(st->upload_path, sizeof st->upload_path, "%s/snapshots", sc_db_path(ctx->db));
    mkdir(st->upload_path, 0755);
    snprintf(st->upload_path, sizeof st->upload_path, "%s/snapshots/.upload-XXXXXX", sc_db_path(ctx->db));
    int fd = mkstemp(st->upload_path);
    if (fd < 0 || !(st->upload = fdopen(fd, "wb"))) {
        if (fd >= 0) close(fd);
        st->upload_path[0] = '\0';
        return false;
    }
    if (multipart) st->pp = MHD_create_post_processor(conn, 1 << 16, server__upload_part, st);
    return true;
}

/* server_request.arg over libmicrohttpd's parsed query string. */
static const char *server__query_arg(const void *conn, const char *name) {
    return MHD_lookup_connection_value((struct MHD_Connection *)conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result server__on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                          const char *version, const char *upload_data, size_t *upload_data_size,
                                          void **con_cls) {
    (void)version;
    server_ctx *ctx = cls;
    server_conn *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) return MHD_NO;
        uint64_t n = __atomic_add_fetch(&server__req_counter, 1, __ATOMIC_RELAXED);
        snprintf(st->id, sizeof st->id, "%08llx-%llu", (unsigned long long)(server__req_epoch & 0xffffffffu),
                 (unsigned long long)n);
        *con_cls = st;
        /* a snapshot upload or an NDJSON upsert is spooled to a file, not held
        ** in memory, and has no body limit but the disk */
        int kind = server__upload_kind(method, url);
        if (kind) {
            /* only spooled for a key that may call the route (admin for snapshots,
            ** write for points); others take the plain path (body limit, then 401/403) */
            server_request who = {.api_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "api-key"),
                                  .bearer = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                                        MHD_HTTP_HEADER_AUTHORIZATION)};
            server_role need = kind == 1 ? SERVER_ROLE_ADMIN : SERVER_ROLE_WRITE;
            if (server_request_role(ctx, &who) >= need && !server__upload_open(ctx, st, conn, kind == 1))
                st->upload_failed = true;
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (!st->upload && !st->upload_failed && cl && strtoull(cl, NULL, 10) > ctx->cfg.max_body_bytes) {
            server_response resp = {0};
            char msg[128];
            snprintf(msg, sizeof msg, "Payload too large: the request body is over the limit of %zu bytes",
                     ctx->cfg.max_body_bytes);
            server_response_error(&resp, 413, msg);
            server_metrics_observe(ctx->metrics, "unknown", 413, NULL, NULL, 0.0);
            return server__send(conn, &resp, st->id);
        }
        return MHD_YES;
    }
    if (*upload_data_size && st->upload) {
        if (st->pp ? MHD_post_process(st->pp, upload_data, *upload_data_size) != MHD_YES
                   : fwrite(upload_data, 1, *upload_data_size, st->upload) != *upload_data_size)
            st->upload_failed = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!st->too_large && st->body.len + *upload_data_size > ctx->cfg.max_body_bytes) {
            st->too_large = true;
            util_buf_free(&st->body);
        }
        if (!st->too_large) util_buf_append(&st->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    server_response resp = {0};
    if (st->upload && fclose(st->upload) != 0) st->upload_failed = true;
    st->upload = NULL;
    if (st->upload_failed) {
        server_response_error(&resp, 500, "Service internal error: cannot spool the request body to a file");
        server_metrics_observe(ctx->metrics, "unknown", 500, NULL, NULL, 0.0);
    } else if (st->too_large || st->body.oom) {
        server_response_error(&resp, 413, "Payload too large: the request body is over the limit");
        server_metrics_observe(ctx->metrics, "unknown", 413, NULL, NULL, 0.0);
    } else {
        server_request req = {0};
        req.method = method;
        req.path = url;
        req.body = st->body.data;
        req.body_size = st->body.len;
        req.api_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "api-key");
        req.bearer = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        req.request_id = st->id;
        req.accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
        req.arg = server__query_arg;
        req.arg_ctx = conn;
        req.mcp_session = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Mcp-Session-Id");
        req.origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
        req.upload_path = st->upload_path[0] ? st->upload_path : NULL;
        server_handle(ctx, &req, &resp);
    }
    enum MHD_Result ok = server__send(conn, &resp, st->id);
    server_response_free(&resp);
    return ok;
}

static void server__on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                                 enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    server_conn *st = *con_cls;
    if (!st) return;
    if (st->pp) MHD_destroy_post_processor(st->pp);
    if (st->upload) fclose(st->upload);
    if (st->upload_path[0]) unlink(st->upload_path);
    util_buf_free(&st->body);
    free(st);
    *con_cls = NULL;
}

/* libmicrohttpd's unescape hook, as the identity: it would percent-decode the
** path before routing, and handle.c decodes each path segment once more, so
** PUT /collections/a%2541 would name `aA`. Left raw, the path is decoded
** exactly once, per segment (an escaped '/' stays inside its segment). The
** query string, decoded by the same hook, is not read by any endpoint. */
static size_t server__keep_escaped(void *cls, struct MHD_Connection *conn, char *s) {
    (void)cls;
    (void)conn;
    return strlen(s);
}

static void server__mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    (void)fmt;
    (void)ap; /* libmicrohttpd's own messages may quote request data: dropped */
}

/* ==== Public entry ==== */

sc_server_options sc_server_options_default(void) {
    sc_server_options o = {0};
    o.host = "127.0.0.1";
    o.port = 6333;
    o.grpc_port = 6334;
    o.store_path = "semcode-store";
    return o;
}

static bool server__is_loopback(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* What sc_server_run opens, released in reverse order by server__release. */
typedef struct server_res {
    server_config cfg;      /* configuration (moved into ctx once it exists) */
    struct addrinfo *ai;    /* listening address */
    sc_db *db;              /* the store */
    FILE *log;              /* access log */
    sc_logger logger;       /* the library's messages, into log (server_log_message) */
    bool own_log;           /* log was opened here */
    sc_model *model;        /* embedding model, may be NULL */
    const char *model_path; /* where it was loaded from (borrowed from the options, cfg or default_model) */
    char *default_model;    /* owned path of the shipped model when neither options nor cfg name one */
    sc_repo *repo;          /* repository of /code (the workspace's first), may be NULL */
    sc_workspace *ws;       /* every repository of /code, may be NULL */
    sc_watch *watch[SC_WORKSPACE_MAX_REPOS]; /* --watch: one watcher per repository */
    struct server__watch_lock {
        server_ctx *ctx;    /* whose locks */
        size_t i;           /* which repository */
        const sc_logger *logger; /* where its reports go: the server's log */
    } watch_lock[SC_WORKSPACE_MAX_REPOS]; /* the lock callbacks' arguments */
    volatile int repo_cancel; /* the repository's cancel flag: set at shutdown to stop an MCP reindex run */
    mcp_server *mcp;        /* the MCP server of /mcp */
    sc_embed_cache *cache;  /* embedding cache, may be NULL */
    server_ctx *ctx;        /* request context */
    server_jobs *jobs;      /* backfill jobs and their worker threads */
} server_res;

static void server__stop_watch(server_res *r);

static void server__release(server_res *r) {
    server__stop_watch(r); /* first: the watchers use the repositories and the context's locks */
    server_jobs_close(r->jobs); /* first: its workers use the store, model and context */
    mcp_server_free(r->mcp);    /* stops and joins a reindex run before the repository closes */
    server_ctx_free(r->ctx);
    sc_embed_cache_close(r->cache);
    sc_workspace_close(r->ws); /* closes r->repo, its first repository */
    sc_model_free(r->model);
    free(r->default_model);
    sc_db_close(r->db); /* before the log: closing may report a failed save to it */
    if (r->own_log) fclose(r->log);
    if (r->ai) freeaddrinfo(r->ai);
    server_config_free(&r->cfg);
}

/* Open the repositories of o (repo_path or the config's repo, repo_paths,
** or workspace_path) as a workspace into r->ws, r->repo its first; none
** given is no workspace. */
static sc_status server__open_repos(const sc_server_options *o, server_res *r, char *errbuf, size_t errbuf_size) {
    sc_repo_options ro = sc_repo_options_default();
    ro.logger = r->logger;
    ro.cancel = &r->repo_cancel; /* set at shutdown: stops an MCP reindex run */
    if (o->watch) ro.n_threads = 1; /* re-indexing stays in the background */
    char *msg = NULL;
    sc_status rc = SC_OK;
    if (o->workspace_path) {
        if (o->repo_path || o->n_repo_paths) {
            snprintf(errbuf, errbuf_size, "give the repositories with --repo or in a workspace file, not both");
            return SC_INVALID;
        }
        rc = sc_workspace_open_file(o->workspace_path, &ro, &r->ws, &msg);
    } else if (o->n_repo_paths) {
        if (o->n_repo_paths > SC_WORKSPACE_MAX_REPOS) {
            snprintf(errbuf, errbuf_size, "at most %d repositories, got %zu", SC_WORKSPACE_MAX_REPOS, o->n_repo_paths);
            return SC_INVALID;
        }
        sc_workspace_entry e[SC_WORKSPACE_MAX_REPOS];
        char *names[SC_WORKSPACE_MAX_REPOS] = {NULL};
        for (size_t i = 0; i < o->n_repo_paths; i++) {
            const char *v = o->repo_paths[i], *eq = strchr(v, '=');
            e[i] = (sc_workspace_entry){.path = eq ? eq + 1 : v, .store_dir = o->n_repo_paths == 1 ? o->repo_store : NULL};
            if (eq) e[i].name = names[i] = strndup(v, (size_t)(eq - v));
        }
        rc = sc_workspace_open(e, o->n_repo_paths, &ro, &r->ws, &msg);
        for (size_t i = 0; i < o->n_repo_paths; i++) free(names[i]);
    } else {
        const char *repo_path = o->repo_path ? o->repo_path : r->cfg.repo_path;
        if (!repo_path) return SC_OK;
        sc_workspace_entry e = {.path = repo_path, .store_dir = o->repo_store};
        rc = sc_workspace_open(&e, 1, &ro, &r->ws, &msg);
    }
    if (rc != SC_OK) {
        snprintf(errbuf, errbuf_size, "%s", msg ? msg : sc_status_str(rc));
        sc_free(msg);
        return rc;
    }
    r->repo = sc_workspace_repo(r->ws, 0);
    return SC_OK;
}

/* Lock callbacks of a watcher (server.h's lock order: repo_mu for repository 0). */
static void server__watch_lock(void *arg) {
    struct server__watch_lock *l = arg;
    if (l->i == 0) pthread_mutex_lock(&l->ctx->repo_mu);
    sc_workspace_lock(l->ctx->ws, l->i);
}

static void server__watch_unlock(void *arg) {
    struct server__watch_lock *l = arg;
    sc_workspace_unlock(l->ctx->ws, l->i);
    if (l->i == 0) pthread_mutex_unlock(&l->ctx->repo_mu);
}

/* A watcher's update, into the server's log as a JSON line. */
static void server__watch_report(void *arg, const sc_watch_report *rep) {
    struct server__watch_lock *l = arg;
    const sc_repo_summary *s = rep->summary;
    util_log(l->logger, rep->status == SC_OK ? SC_LOG_LEVEL_INFO : SC_LOG_LEVEL_ERROR,
             "watch %s: %s in %.3fs: %llu parsed, %llu deleted, entities +%llu ~%llu -%llu (%llu events%s)%s%s",
             sc_workspace_name(l->ctx->ws, l->i), rep->initial ? "indexed" : "updated", s->seconds_total,
             (unsigned long long)s->files_parsed, (unsigned long long)s->files_deleted,
             (unsigned long long)s->entities_added, (unsigned long long)s->entities_updated,
             (unsigned long long)s->entities_removed, (unsigned long long)rep->events, rep->rescan ? ", rescan" : "",
             rep->errmsg ? ": " : "", rep->errmsg ? rep->errmsg : "");
}

/* --watch: a watcher per repository (each repository's first update runs on its watcher thread). */
static sc_status server__start_watch(server_res *r, char *errbuf, size_t errbuf_size) {
    if (!r->ws) {
        snprintf(errbuf, errbuf_size, "--watch needs a repository to watch (--repo PATH or --workspace FILE)");
        return SC_INVALID;
    }
    for (size_t i = 0; i < sc_workspace_count(r->ws); i++) {
        r->watch_lock[i] = (struct server__watch_lock){.ctx = r->ctx, .i = i, .logger = &r->logger};
        sc_watch_options wo = sc_watch_options_default();
        wo.lock = server__watch_lock;
        wo.unlock = server__watch_unlock;
        wo.lock_arg = &r->watch_lock[i];
        wo.report = server__watch_report;
        wo.report_arg = &r->watch_lock[i];
        char *msg = NULL;
        sc_status rc = sc_watch_start(sc_workspace_repo(r->ws, i), &wo, &r->watch[i], &msg);
        if (rc != SC_OK) {
            snprintf(errbuf, errbuf_size, "cannot watch the repository %s: %s", sc_workspace_name(r->ws, i),
                     msg ? msg : sc_status_str(rc));
            sc_free(msg);
            return rc;
        }
    }
    return SC_OK;
}

static void server__stop_watch(server_res *r) {
    for (size_t i = 0; i < SC_WORKSPACE_MAX_REPOS; i++) {
        sc_watch_stop(r->watch[i]);
        r->watch[i] = NULL;
    }
}

/* Open the store, log, model, repository and cache of o into r; on failure
** the reason is in errbuf and the caller releases r. */
static sc_status server__acquire(const sc_server_options *o, server_res *r, char *errbuf, size_t errbuf_size) {
    sc_err err = {0};
    if (o->config_path && server_config_load(o->config_path, &r->cfg, &err) != SC_OK) {
        snprintf(errbuf, errbuf_size, "%s", err.msg);
        return err.code;
    }
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)o->port);
    int gai = getaddrinfo(o->host ? o->host : "127.0.0.1", port, &hints, &r->ai);
    if (gai != 0 || !r->ai) {
        snprintf(errbuf, errbuf_size, "cannot resolve host %s: %s", o->host, gai_strerror(gai));
        return SC_INVALID;
    }
    if (r->cfg.n_keys == 0 && !o->insecure && !server__is_loopback(r->ai->ai_addr)) {
        snprintf(errbuf, errbuf_size,
                 "refusing to listen on %s without API keys: configure api_keys in --config or pass --insecure",
                 o->host);
        return SC_INVALID;
    }
    r->log = stderr;
    if (o->log_path && !strcmp(o->log_path, "-")) r->log = stdout;
    else if (o->log_path) {
        r->log = fopen(o->log_path, "a");
        r->own_log = r->log != NULL;
        if (!r->log) {
            snprintf(errbuf, errbuf_size, "cannot open log file %s", o->log_path);
            return SC_IOERR;
        }
    }
    /* The library's messages about the server's store, repository and cache
    ** go to the server's log, as JSON lines like the access log. */
    r->logger = (sc_logger){.payload = r->log, .log = server_log_message};
    sc_db_options dbo = sc_db_options_default();
    dbo.logger = r->logger;
    /* As Qdrant: a write is acknowledged once durable and searchable (the
    ** flat tail); the graph catches up in the background (status yellow). */
    dbo.background_index = true;
    char *msg = NULL;
    sc_status rc = sc_db_open(o->store_path, &dbo, &r->db, &msg);
    if (rc != SC_OK) {
        snprintf(errbuf, errbuf_size, "%s", msg ? msg : sc_status_str(rc));
        sc_free(msg);
        return rc;
    }
    /* The built-in model: an explicit path (option, config, $SEMCODE_MODEL) must load; the shipped
    ** one, found as the CLI finds it (sc_model_default_path), is loaded when present. */
    const char *model_path = o->model_path ? o->model_path : r->cfg.model_path;
    const char *env_model = getenv("SEMCODE_MODEL");
    bool model_required = model_path != NULL || (env_model && *env_model);
    if (!model_path) model_path = r->default_model = sc_model_default_path();
    msg = NULL;
    r->model_path = model_path;
    if (model_path && (rc = sc_model_load(model_path, &r->model, &msg)) != SC_OK && model_required) {
        snprintf(errbuf, errbuf_size, "cannot load model %s: %s", model_path, msg ? msg : sc_status_str(rc));
        sc_free(msg);
        return rc;
    }
    sc_free(msg);
    msg = NULL;
    /* The repositories of the /code endpoints: explicit ones must open (never rebuilt here). */
    if ((rc = server__open_repos(o, r, errbuf, errbuf_size)) != SC_OK) return rc;
    /* Their model: a repository recorded with another one gets it as the target of a switch (run below). */
    for (size_t i = 0; o->repo_model && r->ws && i < sc_workspace_count(r->ws); i++) {
        sc_repo *repo = sc_workspace_repo(r->ws, i);
        if ((rc = sc_repo_switch_model(repo, o->repo_model)) != SC_OK) {
            snprintf(errbuf, errbuf_size, "repository %s: %s", sc_workspace_name(r->ws, i), sc_repo_errmsg(repo));
            return rc;
        }
    }
    /* The embedding cache of the model: an explicit one must open. */
    const char *cache_path = o->cache_path ? o->cache_path : r->cfg.cache_path;
    if (cache_path && r->model && (rc = sc_embed_cache_open(cache_path, 0, &r->cache, &msg)) != SC_OK) {
        snprintf(errbuf, errbuf_size, "cannot open the embedding cache %s: %s", cache_path,
                 msg ? msg : sc_status_str(rc));
        sc_free(msg);
        return rc;
    }
    sc_embed_cache_set_logger(r->cache, &r->logger);
    r->ctx = server_ctx_new(r->db, &r->cfg);
    if (!r->ctx || server_ctx_set_model(r->ctx, r->model, r->cache) != SC_OK) {
        snprintf(errbuf, errbuf_size, "out of memory");
        return SC_NOMEM;
    }
    r->ctx->log = r->log;
    r->ctx->repo = r->repo;
    r->ctx->ws = r->ws;
    mcp_options mo = {.repo = r->repo, .ws = r->ws, .repo_mu = &r->ctx->repo_mu, .may_index = true,
                      .switch_to = o->repo_model};
    if (!(r->mcp = mcp_server_new(&mo))) {
        snprintf(errbuf, errbuf_size, "out of memory");
        return SC_NOMEM;
    }
    mcp_server_set_cancel(r->mcp, &r->repo_cancel);
    r->ctx->mcp = r->mcp;
    /* Backfill jobs: their table next to the store's files; jobs that were running resume. */
    if ((rc = server_jobs_open(r->ctx, o->store_path, &r->ctx->cfg.jobs, &r->jobs, &err)) != SC_OK) {
        snprintf(errbuf, errbuf_size, "%s", err.msg);
        return rc;
    }
    r->ctx->jobs = r->jobs;
    __atomic_store_n(&r->ctx->ready, 0, __ATOMIC_RELEASE);
    return SC_OK;
}

/* Write port to path (NULL = nowhere) as one line. */
static void server__write_port(const char *path, unsigned port) {
    FILE *pf = path ? fopen(path, "w") : NULL;
    if (pf) {
        fprintf(pf, "%u\n", port);
        fclose(pf);
    }
}

sc_status sc_server_run(const sc_server_options *opt, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    sc_server_options o = opt ? *opt : sc_server_options_default();
    char errbuf[1024] = "";
    size_t errbuf_size = sizeof errbuf;
    server_res res = {.cfg = server_config_default()};
    sc_status rc = server__acquire(&o, &res, errbuf, errbuf_size);
    if (rc != SC_OK) {
        server__release(&res);
        if (errmsg) *errmsg = util_strdup(errbuf[0] ? errbuf : sc_status_str(rc));
        return rc;
    }
    server_ctx *ctx = res.ctx;
    unsigned n_threads = ctx->cfg.n_threads ? ctx->cfg.n_threads : util_n_cores();
    server__req_epoch = (uint64_t)(util_now() * 1000.0) ^ (uint64_t)getpid();

    /* Signals go to sigwait below, never to a worker. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (res.ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, o.port, NULL, NULL, server__on_request, ctx, MHD_OPTION_SOCK_ADDR, res.ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, n_threads, MHD_OPTION_CONNECTION_TIMEOUT, ctx->cfg.timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024, MHD_OPTION_NOTIFY_COMPLETED, server__on_completed, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, server__mhd_log, NULL, MHD_OPTION_UNESCAPE_CALLBACK, server__keep_escaped, NULL,
        MHD_OPTION_END);
    if (!d) {
        snprintf(errbuf, errbuf_size, "cannot listen on %s:%u (address in use or not available)", o.host,
                 (unsigned)o.port);
        if (errmsg) *errmsg = util_strdup(errbuf);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        server__release(&res);
        return SC_IOERR;
    }
    if (o.watch && (rc = server__start_watch(&res, errbuf, errbuf_size)) != SC_OK) {
        if (errmsg) *errmsg = util_strdup(errbuf);
        MHD_stop_daemon(d);
        server__release(&res);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return rc;
    }
    /* a model given for the repositories: the switch runs in the background (a watcher's first update does it) */
    if (o.repo_model && !o.watch && mcp_server_reindex(res.mcp, -1) != SC_OK)
        util_log(&res.logger, SC_LOG_LEVEL_ERROR, "cannot start the update run that switches the repositories' model");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned bound = info ? info->port : o.port;
    /* Qdrant's gRPC API on the same context: same keys, tenants, store */
    server_grpc *grpc = NULL;
    unsigned grpc_bound = 0;
    if (o.grpc_port >= 0) {
        sc_err gerr = {0};
        rc = o.grpc_port > 65535 ? sc_err_set(&gerr, SC_INVALID, "gRPC port %d is out of range", (int)o.grpc_port)
                                 : server_grpc_start(ctx, o.host ? o.host : "127.0.0.1", (unsigned)o.grpc_port,
                                                     n_threads, &grpc, &grpc_bound, &gerr);
        if (rc != SC_OK) {
            if (errmsg) *errmsg = util_strdup(gerr.msg);
            MHD_stop_daemon(d);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            server__release(&res);
            return rc;
        }
    }
    server__write_port(o.port_file, bound);
    if (grpc) server__write_port(o.grpc_port_file, grpc_bound);
    char grpc_where[64] = "gRPC off";
    if (grpc) snprintf(grpc_where, sizeof grpc_where, "gRPC on port %u", grpc_bound);
    fprintf(stderr,
            "semcode serve: listening on http://%s:%u, %s (%u threads, store %s, %zu API keys, model %s, cache %s, "
            "repository %s%s%s)\n",
            o.host, bound, grpc_where, n_threads, o.store_path, ctx->cfg.n_keys, res.model ? res.model_path : "none",
            res.cache ? "on" : "off", res.repo ? sc_repo_root(res.repo) : "none",
            sc_workspace_count(res.ws) > 1 ? " and more" : "", o.watch && res.ws ? ", watched" : "");
    __atomic_store_n(&ctx->ready, 1, __ATOMIC_RELEASE);

    int sig = 0;
    sigset_t wait_set;
    sigemptyset(&wait_set);
    sigaddset(&wait_set, SIGINT);
    sigaddset(&wait_set, SIGTERM);
    while (sigwait(&wait_set, &sig) != 0) {
    }
    fprintf(stderr, "semcode serve: %s, finishing requests in flight\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    __atomic_store_n(&ctx->ready, 0, __ATOMIC_RELEASE);
    server_grpc_stop(grpc); /* gRPC calls in flight complete first */
    MHD_stop_daemon(d); /* joins the workers: requests in flight complete first */
    server__release(&res);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    fprintf(stderr, "semcode serve: stopped\n");
    return SC_OK;
}
