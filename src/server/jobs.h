/*
** server/jobs.h: backfill jobs of `semcode serve`: ingestion runs (git,
** GitHub, Jira, JSON Lines) submitted over HTTP (POST /jobs), queued by
** priority, run by background worker threads, persisted in SQLite
** (<store>/jobs.db) and resumed after a restart or kill -9; the embedding
** provider chosen per job (fast | balanced | quality) and the tokens each
** provider was sent, with an estimated cost.
**
** Thread safety: one server_jobs is shared by the HTTP workers and its own
** job threads; every function here may be called from any thread (one
** mutex guards the table; SQLite writes go through it too).
*/
#ifndef SC_SERVER_JOBS_H
#define SC_SERVER_JOBS_H

#include <jansson.h>

#include "semcode/provider.h"
#include "semcode/records.h"
#include "util/util.h"

typedef struct server_ctx server_ctx;
typedef struct server_jobs server_jobs;

/* ==== Configuration (the config file's "jobs" object) ==== */

#define SERVER_JOBS_MAX_WORKERS 8

/* The remote OpenAI-compatible model of `quality` jobs. */
typedef struct server_jobs_remote {
    char *base_url;          /* owned endpoint root ("http://host/v1"), NULL = no remote model */
    char *model;             /* owned model name */
    char *api_key_env;       /* owned name of the environment variable of its key, NULL = none */
    char *family;            /* owned model family (NULL = the model name) */
    char *fallback_base_url; /* owned second endpoint serving the same model, NULL = none */
    uint32_t dim;            /* its dimension */
} server_jobs_remote;

typedef struct server_jobs_config {
    uint32_t workers;             /* job threads (default 1) */
    uint32_t batch_size;          /* default records per batch (256) */
    uint64_t balanced_threshold;  /* `balanced`: jobs of at most this many records use the quality provider,
                                     larger (or unknown) ones the fast one (default 2000) */
    uint32_t retries;             /* retries of a batch whose provider failed (default 2) */
    int32_t priorities[SC_REC_KIND_COUNT]; /* default priority by the kind of records a source gives
                                              (issue 30, pr 30, commit 20, comment 20, review 20, doc 10) */
    double price_builtin;         /* estimated price per 1,000 tokens of the built-in model (default 0) */
    double price_remote;          /* of the remote model (default 0) */
    uint32_t keep_finished;       /* finished jobs kept in the table (default 1000) */
    server_jobs_remote remote;    /* the remote model, if any */
} server_jobs_config;

/* Defaults as documented on each field. */
server_jobs_config server_jobs_config_default(void);
/* Parse the "jobs" object (JSON value v, may be NULL) into *out (defaults
** for absent fields). SC_INVALID naming the field ("config: `jobs.remote.dim`
** ...") in err; free with server_jobs_config_free. */
sc_status server_jobs_config_parse(const json_t *v, server_jobs_config *out, sc_err *err);
/* Free the strings of a config; NULL is a no-op. */
void server_jobs_config_free(server_jobs_config *c);

/* ==== Provider routing ==== */

typedef enum server_jobs_pref {
    SERVER_JOBS_PREF_FAST = 0,     /* the built-in model */
    SERVER_JOBS_PREF_BALANCED = 1, /* by job size: quality up to balanced_threshold records, else fast */
    SERVER_JOBS_PREF_QUALITY = 2,  /* the remote model if configured, else the built-in one */
} server_jobs_pref;

/* Static name of a preference ("fast", "balanced", "quality"). */
const char *server_jobs_pref_name(server_jobs_pref p);
/* Which provider a job uses: true = the remote model, false = the built-in
** one. n_records 0 = not known. *why gets a static sentence saying why. */
bool server_jobs_route(server_jobs_pref p, uint64_t n_records, const server_jobs_config *c, const char **why);

/* ==== The job table ==== */

/* Open (or create) the job table in dir/jobs.db, mark jobs that were
** running as queued again (they resume), and start the worker threads that
** run them against ctx (borrowed; its store, model and config must outlive
** the table). SC_IOERR / SC_INVALID with the reason in err. */
sc_status server_jobs_open(server_ctx *ctx, const char *dir, const server_jobs_config *cfg, server_jobs **out,
                           sc_err *err);
/* Stop the workers (a running job is interrupted after its current batch
** and stays queued, to resume at the next start) and close; NULL is a no-op. */
void server_jobs_close(server_jobs *js);

/* Validate a POST /jobs body and queue the job. tenant: the key's tenant
** (NULL = global key, which may name any tenant in the body); admin: the key
** may name server-side paths (jsonl "path", git "repo", "from_dir").
** Returns the job's status (owned) or NULL with *status (400, 403, 422,
** 500) and msg (naming the field) set. */
json_t *server_jobs_submit(server_jobs *js, const json_t *body, const char *tenant, bool admin, int *status,
                           char *msg, size_t msg_size);
/* The jobs the tenant sees (NULL = all), newest first, optionally only
** those in state (NULL = all): an owned JSON array. */
json_t *server_jobs_list(server_jobs *js, const char *tenant, const char *state);
/* One job's status (owned), NULL when it does not exist or belongs to
** another tenant (the caller answers 404 either way: nothing leaks). */
json_t *server_jobs_get(server_jobs *js, int64_t id, const char *tenant);
/* Cancel a job: a queued one at once, a running one after its current
** batch. Its status (owned), or NULL as server_jobs_get. */
json_t *server_jobs_cancel(server_jobs *js, int64_t id, const char *tenant);
/* Append the jobs' Prometheus metrics (jobs by state; tokens, estimated
** cost and records per provider, tenant and job) to out; tenant NULL = all. */
void server_jobs_render_metrics(server_jobs *js, const char *tenant, util_buf *out);

#endif /* SC_SERVER_JOBS_H */
