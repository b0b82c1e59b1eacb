/*
** server/jobs_int.h: private structures of the backfill jobs, shared by
** jobs.c (the table, queue and workers), jobs_spec.c (checking a submitted
** job) and jobs_run.c (running one). Only those files include it.
*/
#ifndef SC_SERVER_JOBS_INT_H
#define SC_SERVER_JOBS_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include "server/jobs.h"

#define JOBS_MAX_ERRORS 10 /* last errors kept per job */

typedef enum jobs_state {
    JOBS_STATE_QUEUED = 0,    /* waiting for a worker (also: interrupted by a restart, to resume) */
    JOBS_STATE_RUNNING = 1,   /* a worker runs it */
    JOBS_STATE_DONE = 2,      /* finished (skipped malformed items included) */
    JOBS_STATE_FAILED = 3,    /* stopped on an error (its batch counted failed) */
    JOBS_STATE_CANCELLED = 4, /* cancelled by DELETE /jobs/{id} */
    JOBS_STATE_COUNT
} jobs_state;

/* One job. Fields below `spec` change while it runs: read and written under js->mu. */
typedef struct jobs_job {
    int64_t id;              /* 1, 2, ... (the SQLite row id) */
    char *tenant;            /* owned tenant, NULL = the global namespace */
    json_t *spec;            /* owned normalised request: {"source": {...}, "options": {...}} */
    int32_t priority;        /* higher runs first; ties by id */
    jobs_state state;        /* where it is */
    double created;          /* wall clock, seconds since the epoch */
    double started;          /* first start, 0 = never */
    double finished;         /* end, 0 = not finished */
    double run_started;      /* start of the current attempt */
    uint32_t attempts;       /* runs started (a resume after a restart is one more) */
    uint32_t batch_size;     /* records per batch */
    uint64_t total;          /* records expected (0 = not known yet) */
    uint64_t processed;      /* records handed to the writer in this attempt */
    uint64_t succeeded;      /* records stored (written or already as stored) */
    uint64_t written;        /* of them, new or changed */
    uint64_t unchanged;      /* of them, as stored already (a resumed attempt passes over these fast) */
    uint64_t failed;         /* records not stored: malformed items and batches whose provider failed */
    uint64_t removed;        /* records the source no longer has (full sync) */
    uint64_t batches;        /* batches flushed in this attempt */
    char provider[256];      /* id of the embedding provider in use ("" before the start) */
    char route[200];         /* why that provider */
    json_t *tokens;          /* owned {"provider id": tokens sent} over every attempt */
    json_t *errors;          /* owned array of the last JOBS_MAX_ERRORS messages */
    char *error;             /* owned final error of a failed job, NULL otherwise */
    volatile int cancel;     /* non-zero: the running source stops after its current item or batch */
    bool user_cancel;        /* the cancel came from DELETE (else from the server stopping) */
} jobs_job;

struct server_jobs {
    server_ctx *ctx;               /* borrowed server */
    server_jobs_config cfg;        /* owned copy of the configuration */
    char *dir;                     /* owned folder of jobs.db and the uploaded JSON Lines (dir/jobs/) */
    sqlite3 *db;                   /* the job table */
    pthread_mutex_t mu;            /* guards everything below, and db */
    pthread_cond_t wake;           /* signalled on a new job and on stop */
    jobs_job **jobs;               /* owned jobs, by id */
    size_t n_jobs, cap_jobs;
    int64_t next_id;               /* id of the next job */
    bool stop;                     /* the workers leave */
    pthread_t threads[SERVER_JOBS_MAX_WORKERS]; /* workers */
    uint32_t n_threads;            /* started */
};

/* Wall-clock time in seconds since the epoch (job times are shown as dates). */
static inline double jobs_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Static name of a state ("queued", ...). */
const char *jobs_state_name(jobs_state s);
/* The status JSON of a job (owned); call under js->mu. */
json_t *jobs_job_json(const server_jobs *js, const jobs_job *j);
/* Persist job j (its row); call under js->mu. Failures are logged, not fatal. */
void jobs_save(server_jobs *js, jobs_job *j);
/* Append msg to j's last errors (under js->mu). */
void jobs_add_error(jobs_job *j, const char *msg);

/* jobs_spec.c: check a POST /jobs body into a normalised spec (owned) with
** its priority; NULL with *status and msg naming the field otherwise. */
json_t *jobs_spec_check(const server_jobs *js, const json_t *body, const char *tenant, bool admin, int32_t *priority,
                        int *status, char *msg, size_t msg_size);

/* jobs_run.c: run job j (state running, js->mu not held) to its end,
** updating its counters under js->mu. Returns the final state: done,
** failed (j->error set), cancelled, or queued (interrupted by the server
** stopping: it resumes at the next start). */
jobs_state jobs_run(server_jobs *js, jobs_job *j);

#endif /* SC_SERVER_JOBS_INT_H */
