/*
** semcode public API: the HTTP server (`semcode serve`).
**
** A Qdrant-compatible REST service over one store directory, and Qdrant's
** gRPC API next to it (grpc_port). The server
** owns the store while it runs (sc_server_run opens and closes it), answers
** on a libmicrohttpd thread pool, and returns when SIGINT or SIGTERM
** arrives, after in-flight requests have finished.
**
** Thread safety: sc_server_run blocks the calling thread and must be called
** at most once at a time per process (it waits for the shutdown signals).
*/
#ifndef SEMCODE_SERVER_H
#define SEMCODE_SERVER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_server_options {
    const char *host;        /* address to bind (default "127.0.0.1") */
    uint16_t port;           /* TCP port (default 6333; 0 = any free port) */
    const char *store_path;  /* store directory (default "semcode-store") */
    const char *config_path; /* JSON config file with keys and limits, NULL = none */
    bool insecure;           /* allow a non-loopback host without API keys */
    const char *port_file;   /* when non-NULL, write the bound port there once listening */
    const char *log_path;    /* access log (JSON lines); NULL = stderr, "-" = stdout */
    const char *model_path;  /* built-in model for text queries and /v1/embeddings; NULL = the config's
                                `model`, else the shipped model (sc_model_default_path) when found, else none */
    const char *repo_path;   /* root of an indexed source tree served by /code/search, /code/similar and
                                /code/duplicates; NULL = the config's `repo`, else none (those answer 404) */
    const char *repo_store;  /* its index folder; NULL = $SEMCODE_STORE, else REPO/.semcode (as the CLI) */
    const char *const *repo_paths; /* several repositories (semcode/workspace.h): "PATH" or "NAME=PATH" each, used
                                instead of repo_path; /code/search searches all or those its `repo` names */
    size_t n_repo_paths;     /* entries of repo_paths */
    const char *workspace_path; /* a workspace file listing the repositories (instead of repo_path / repo_paths) */
    bool watch;              /* keep each repository's index fresh by itself (semcode/watch.h) */
    const struct sc_repo_options *repo_model; /* the repositories' model (its model_path, provider, remote...; borrowed):
                                one recorded with another model is switched to it in the background at start
                                (sc_repo_switch_model, then an update run: searches use the old model until the
                                swap), and MCP reindex's model "configured" names it; NULL = the recorded ones */
    const char *cache_path;  /* embedding cache file for the server's model (hits and misses in /metrics);
                                NULL = the config's `embedding_cache`, else none */
    int32_t grpc_port;       /* Qdrant's gRPC API on host:grpc_port (default 6334; 0 = any free port;
                                -1 = no gRPC), same keys, tenants and store as REST */
    const char *grpc_port_file; /* when non-NULL, write the bound gRPC port there once listening */
} sc_server_options;

/* Defaults as documented on each field. */
SC_API sc_server_options sc_server_options_default(void);

/* Open the store (and the repository, when one is given: the server holds
** its index open, so `semcode index` of that tree waits until the server
** stops), listen, serve until SIGINT/SIGTERM, then shut down gracefully
** and close them. Returns SC_OK after a clean shutdown;
** on a start-up failure (bad config, port taken, store busy) returns the
** error and, when errmsg is not NULL, sets *errmsg to the reason (owned,
** free with sc_free; NULL otherwise). */
SC_API sc_status sc_server_run(const sc_server_options *opt, char **errmsg);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_SERVER_H */
