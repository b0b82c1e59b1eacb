/*
** mcp: private structures of the MCP server. Only the files of src/mcp/ include this.
**
** DESIGN
** - Lock order: repo_mu before state_mu; state_mu is never held across a
**   repository or store call, so index_status answers at once during a run.
** - A repository's lock is repo_mu for repository 0 and its workspace lock
**   for the others (mcp_repo_lock_at). The background run updates one
**   repository at a time under that repository's lock only, and `current`
**   names it (set before the lock is taken, cleared after it is released):
**   calls on the other repositories go on as usual. A call on the one being
**   updated answers from the store without the lock (search_code, partial)
**   or says busy, at once, while the run holds the lock throughout (the
**   update stages); while it is in a model switch's backfill, which lets
**   others in between groups, the call waits for the lock up to
**   MCP_SWITCH_WAIT_S (one group) and answers in full.
*/
#ifndef SC_MCP_INT_H
#define SC_MCP_INT_H

#include "mcp/mcp.h"

#include "semcode/semcode.h"
#include "util/util.h"

#define MCP_MAX_SESSIONS 256   /* live HTTP sessions kept; the oldest goes first */
#define MCP_MAX_FILTERS 16     /* values per filter argument */
#define MCP_SWITCH_WAIT_S 5.0  /* longest wait for a repository in a model switch's backfill (one group) */
#define MCP_DEFAULT_TOKENS 2000u /* max_tokens when not given */
#define MCP_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(4)) /* how outputs are printed (and measured) */

/* One session of the HTTP transport. */
typedef struct mcp_session {
    char id[MCP_SESSION_ID_SIZE]; /* hex id, "" = free slot */
    char *tenant;                 /* owned tenant that opened it, NULL = global */
    uint64_t serial;              /* opening order, to drop the oldest */
} mcp_session;

/* What the last (or current) background run of one repository did, under state_mu. */
typedef struct mcp_run {
    uint64_t runs;                /* runs finished since start */
    double started;               /* wall clock of the current or last start (0 = never) */
    double started_mono;          /* util_now() at that start, for durations */
    double finished;              /* wall clock of the last end (0 = none yet) */
    sc_status rc;                 /* result of the last run */
    char error[512];              /* its message when rc != SC_OK */
    sc_repo_summary summary;      /* counts of the last run */
    sc_repo_progress progress;    /* progress of the current run (stage borrowed from a static string) */
    char stage[16];               /* copy of progress.stage */
} mcp_run;

struct mcp_server {
    sc_repo *repo;                /* borrowed repository, NULL = none */
    sc_workspace *ws;             /* borrowed repositories, repo first; NULL = repo only */
    pthread_mutex_t *repo_mu;     /* lock of repo (own_mu or the caller's) */
    pthread_mutex_t own_mu;       /* used when the caller gave none */
    bool may_index;               /* reindex allowed */
    volatile int *cancel;         /* the repository's cancel flag, NULL = none */
    int indexing;                 /* the background thread is going (__atomic_*; changed under state_mu) */
    bool thread_made;             /* bg_thread must be joined */
    pthread_t bg_thread;          /* the background run */
    pthread_mutex_t state_mu;     /* guards runs, queued, current, sessions, model_id */
    size_t n_repos;               /* repositories served: the workspace's, else 1 (repo) or 0 */
    mcp_run runs[SC_WORKSPACE_MAX_REPOS]; /* background run record of each repository */
    bool queued[SC_WORKSPACE_MAX_REPOS]; /* repositories the background thread still has to update */
    int current;                  /* repository the run updates now (busy), -1 = none */
    sc_repo_options switch_to;    /* the model `reindex` switches to for model "configured" (strings borrowed) */
    bool has_switch_to;           /* switch_to was given */
    char model_id[128];           /* the index's model, learnt from stats ("" until known) */
    mcp_session sessions[MCP_MAX_SESSIONS]; /* HTTP sessions */
    uint64_t session_serial;      /* next session serial */
};

/* ==== Tool calls (tools.c) ==== */

/* One tools/call in flight. */
typedef struct mcp_call {
    mcp_server *m;                /* server */
    const mcp_caller *who;        /* caller */
    const json_t *args;           /* arguments object (borrowed; an empty one when absent) */
    int code;                     /* JSON-RPC error code once failed, 0 while fine */
    char field[64];               /* the argument at fault */
    char msg[640];                /* error message */
} mcp_call;

/* Run the tool `name` with call->args: the result object ({content,
** isError}) owned, or NULL with call->code and call->msg set. */
json_t *mcp_tool_call(mcp_call *call, const char *name);

/* ==== Arguments (args.c) ==== */

/* Record a bad argument (code MCP_ERR_PARAMS naming field) and return false. */
bool mcp_arg_fail(mcp_call *c, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Refuse argument names not in allowed (NULL-terminated). */
bool mcp_arg_known(mcp_call *c, const char *const *allowed);
/* A string argument (NULL when absent); required: absent or empty is an error. */
bool mcp_arg_str(mcp_call *c, const char *key, bool required, const char **out);
/* An integer argument within [lo, hi] (def when absent). */
bool mcp_arg_uint(mcp_call *c, const char *key, uint32_t def, uint32_t lo, uint32_t hi, uint32_t *out);
/* A number argument within [lo, hi] (def when absent). */
bool mcp_arg_num(mcp_call *c, const char *key, double def, double lo, double hi, double *out);
/* A boolean argument (def when absent). */
bool mcp_arg_bool(mcp_call *c, const char *key, bool def, bool *out);
/* One of names[0..n) (index in *out; def when absent). */
bool mcp_arg_enum(mcp_call *c, const char *key, const char *const *names, int n, int def, int *out);
/* A string or an array of strings (borrowed from the arguments), at most max. */
bool mcp_arg_list(mcp_call *c, const char *key, const char **dst, size_t max, size_t *n);
/* `cursor`: a position returned as next_cursor (0 when absent). */
bool mcp_arg_cursor(mcp_call *c, uint32_t *offset);

/* ==== Token budget (args.c) ==== */

/* Tokens counted for n bytes of JSON output: ceil(n / 3), an upper bound
** for code and JSON under common BPE vocabularies (about 3.5-4 bytes a token). */
size_t mcp_tokens(size_t n_bytes);
/* Put items[offset..] (an array, consumed) into head["results"] while
** head's compact JSON stays within max_tokens (at least one item, shrunk
** by dropping its snippet/source/doc when alone it is too large). When
** items remain, or more is true, head["next_cursor"] names the next offset.
** Returns head. */
json_t *mcp_page_fit(json_t *head, json_t *items, uint32_t offset, uint32_t limit, uint32_t max_tokens, bool more);
/* The text content result {content: [{type: text, text: compact JSON of o}], isError} (o consumed). */
json_t *mcp_result(json_t *o, bool is_error);
/* A tool error result with a message (isError true). */
json_t *mcp_result_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ==== Repository access and the background run (index.c) ==== */

/* How the background run holds repository i: 0 not at all, 1 in a model
** switch's backfill (it lets others in between groups), 2 throughout. */
int mcp_repo_busy(mcp_server *m, size_t i);
/* Take the lock of repository i (repo_mu for 0, its workspace lock for the
** others): true with it held; false (nothing held) at once while the run
** holds it throughout, or after MCP_SWITCH_WAIT_S in a switch's backfill. */
bool mcp_repo_lock_at(mcp_server *m, size_t i);
void mcp_repo_unlock_at(mcp_server *m, size_t i);
/* Repository i (0 = m->repo; borrowed, use it under mcp__repo_lock's locks). */
sc_repo *mcp_repo_at(mcp_server *m, size_t i);
/* Name of repository i in results: its workspace name, NULL when one repository is served (outputs stay as before). */
const char *mcp_repo_name(const mcp_server *m, size_t i);
/* index_status's object of repository i (owned). */
json_t *mcp_index_status(mcp_server *m, size_t i);
/* search_code during a run: BM25 over what the store of repository i
** holds now (no lock), filtered by language/kind (store filter) and path
** globs; at most want hits, each naming the repository when a workspace is
** served. Owned array of hit objects, NULL on failure (msg set). */
json_t *mcp_partial_search(mcp_server *m, size_t i, const char *text, const sc_code_query *q, uint32_t want,
                           char *msg, size_t msg_size);
/* The progress of the run of repository i as an object (owned). */
json_t *mcp_progress_json(mcp_server *m, size_t i);

#endif /* SC_MCP_INT_H */
