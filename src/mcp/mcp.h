/*
** mcp: semcode's Model Context Protocol server (issue 19). One transport-
** free core, JSON-RPC 2.0 message in, message out, shared by `semcode mcp`
** (stdio, cli/cmd_mcp.c) and the Streamable HTTP transport of `semcode
** serve` at /mcp (server/mcp_http.c). It answers initialize, ping,
** tools/list and tools/call over an indexed repository (sc_repo), keeps the
** sessions of the HTTP transport and runs index updates in the background.
** The protocol, the tools and their outputs are described in docs/MCP.md.
**
** Thread safety: an mcp_server may be called from several threads at once
** (the HTTP server's workers): every repository call holds that
** repository's lock (repo_mu for the first, its workspace lock for the
** others), the background index run holds the lock of the repository it
** updates, and calls on that repository during the run answer from the
** store directly (sc_db reads are concurrent with its writer), marked
** partial, or busy, instead of waiting (but for one group of a model
** switch's backfill); the other repositories answer as usual.
*/
#ifndef SC_MCP_H
#define SC_MCP_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "semcode/repo.h"
#include "semcode/workspace.h"

#define MCP_PROTOCOL_LATEST "2025-11-25" /* the newest revision the pinned SDK (1.32.2) speaks */
#define MCP_SESSION_ID_SIZE 33           /* 32 hex digits + NUL */

/* JSON-RPC error codes used. */
#define MCP_ERR_PARSE (-32700)          /* not JSON */
#define MCP_ERR_INVALID_REQUEST (-32600)/* not a JSON-RPC 2.0 request */
#define MCP_ERR_METHOD (-32601)         /* unknown method */
#define MCP_ERR_PARAMS (-32602)         /* bad params or tool arguments (data.field names the one) */
#define MCP_ERR_INTERNAL (-32603)       /* out of memory and the like */

typedef struct mcp_server mcp_server;

typedef struct mcp_options {
    sc_repo *repo;            /* borrowed repository; NULL = none (code tools answer an error) */
    sc_workspace *ws;         /* borrowed repositories of `semcode serve`, repo being its first (a `repo` argument
                                 names one; others are used under repo_mu, then sc_workspace_lock); NULL = repo only */
    pthread_mutex_t *repo_mu; /* borrowed lock held around every call on repo (the HTTP server's, shared with
                                 /code); NULL = the MCP server's own */
    bool may_index;           /* reindex is allowed at all (false: the tool answers an error) */
    const sc_repo_options *switch_to; /* the model reindex's `model: "configured"` switches to (its model_path,
                                 provider, remote...; borrowed for the server's life), NULL = none */
} mcp_options;

/* Who sends a message (the HTTP transport's API key; stdio: the defaults). */
typedef struct mcp_caller {
    const char *tenant;       /* tenant of the key, NULL = the global namespace */
    bool may_write;           /* the key may start a reindex (write role or no keys) */
} mcp_caller;

/* A new server over o (copied); NULL when out of memory. */
mcp_server *mcp_server_new(const mcp_options *o);
/* Stop a running index run (its sc_repo's cancel flag, if the caller gave one
** with mcp_server_set_cancel, else wait for it), join it and free m. NULL is a no-op. */
void mcp_server_free(mcp_server *m);
/* The repository's cancel flag (sc_repo_options.cancel, borrowed): mcp_server_free sets it. */
void mcp_server_set_cancel(mcp_server *m, volatile int *cancel);

/* Answer one JSON-RPC message (borrowed): the response object (owned), or
** NULL for a notification or a response, which get no answer. Never fails:
** errors become JSON-RPC error responses. */
json_t *mcp_server_handle(mcp_server *m, const json_t *msg, const mcp_caller *who);
/* A JSON-RPC error response {jsonrpc, id (null when id is NULL), error: {code, message}} (owned). */
json_t *mcp_error_response(const json_t *id, int code, const char *msg);

/* Start an incremental index update of repository `repo` (its workspace
** index; -1 = every served repository, one after the other) in the
** background and return at once: SC_OK when started or queued behind the
** running one, SC_BUSY when each one asked for is being updated or queued
** already, SC_MISUSE without a repository or past the last one,
** SC_NOMEM/SC_ERROR when no thread could be made. */
sc_status mcp_server_reindex(mcp_server *m, int repo);
/* true while a background run is going. */
bool mcp_server_indexing(mcp_server *m);

/* The tool definitions of tools/list as a JSON array (owned). */
json_t *mcp_tools_json(void);

/* ==== Sessions of the Streamable HTTP transport ==== */

/* A new session for tenant (NULL = global namespace), its id in id (32 hex
** digits from /dev/urandom). false when the random source fails. The oldest
** session is dropped past a fixed number of them. */
bool mcp_session_open(mcp_server *m, const char *tenant, char id[MCP_SESSION_ID_SIZE]);
/* true when id is a live session opened for tenant. */
bool mcp_session_valid(mcp_server *m, const char *id, const char *tenant);
/* End the session id of tenant; false when there is none. */
bool mcp_session_close(mcp_server *m, const char *id, const char *tenant);

#endif /* SC_MCP_H */
