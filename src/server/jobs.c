/*
** server/jobs.c: the backfill job table of `semcode serve`: configuration,
** provider routing, persistence in SQLite, the priority queue, the worker
** threads, status JSON, cancellation and the jobs' Prometheus metrics.
** Running one job is jobs_run.c; checking a submitted one, jobs_spec.c.
**
** DESIGN
** - The table lives in <store>/jobs.db: one row per job (id, tenant,
**   priority, state, created, spec, status), written on every state change
**   and at most twice a second while a job runs. The row is only
**   a report: what makes a resume lose and duplicate nothing is the
**   records writer, which upserts each batch atomically with the source's
**   cursor, by point ids that hash (tenant, source, kind, id). A job found
**   running at start (kill -9, a crash) is queued again and its source run
**   once more: records already stored read as unchanged and are not
**   embedded again, the cursor skips what a source can skip.
** - The workers take the queued job of highest priority, ties by id (the
**   oldest first). One mutex guards the table, the counters of every job
**   and the SQLite handle; no store or embedding call runs under it.
** - Stopping: running jobs get their cancel flag (not a user cancel), their
**   source stops after the current batch and they stay queued.
*/
#include "server/jobs_int.h"
#include "server/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


/* ==== Configuration ==== */

server_jobs_config server_jobs_config_default(void) {
    server_jobs_config c;
    memset(&c, 0, sizeof c);
    c.workers = 1;
    c.batch_size = 256;
    c.balanced_threshold = 2000;
    c.retries = 2;
    c.priorities[SC_REC_KIND_ISSUE] = 30;
    c.priorities[SC_REC_KIND_PR] = 30;
    c.priorities[SC_REC_KIND_COMMIT] = 20;
    c.priorities[SC_REC_KIND_COMMENT] = 20;
    c.priorities[SC_REC_KIND_REVIEW] = 20;
    c.priorities[SC_REC_KIND_DOC] = 10;
    c.keep_finished = 1000;
    return c;
}

void server_jobs_config_free(server_jobs_config *c) {
    if (!c) return;
    free(c->remote.base_url);
    free(c->remote.model);
    free(c->remote.api_key_env);
    free(c->remote.family);
    free(c->remote.fallback_base_url);
    memset(&c->remote, 0, sizeof c->remote);
}

/* Optional unsigned integer `key` of o in [min, max]. */
static sc_status jobs__cfg_uint(const json_t *o, const char *where, const char *key, uint64_t min, uint64_t max,
                                uint64_t *out, sc_err *err) {
    const json_t *v = json_object_get(o, key);
    if (!v) return SC_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min ||
        (uint64_t)json_integer_value(v) > max)
        return sc_err_set(err, SC_INVALID, "config: `%s.%s` must be an integer from %llu to %llu", where, key,
                          (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return SC_OK;
}

/* Optional string `key` of o (non-empty) into *out (owned). */
static sc_status jobs__cfg_str(const json_t *o, const char *key, char **out, sc_err *err) {
    const json_t *v = json_object_get(o, key);
    if (!v) return SC_OK;
    if (!json_is_string(v) || !*json_string_value(v))
        return sc_err_set(err, SC_INVALID, "config: `jobs.remote.%s` must be a non-empty string", key);
    if (!(*out = strdup(json_string_value(v)))) return sc_err_set(err, SC_NOMEM, "out of memory");
    return SC_OK;
}

/* Reject the keys of o that are not in the NULL-terminated list `known`. */
static sc_status jobs__cfg_known(const json_t *o, const char *where, const char *const *known, sc_err *err) {
    if (!json_is_object(o)) return sc_err_set(err, SC_INVALID, "config: `%s` must be an object", where);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], key)) i++;
        if (!known[i]) return sc_err_set(err, SC_INVALID, "config: unknown field `%s.%s`", where, key);
    }
    return SC_OK;
}

/* The "remote" object of the jobs configuration. */
static sc_status jobs__cfg_remote(const json_t *r, server_jobs_remote *out, sc_err *err) {
    static const char *const known[] = {"base_url", "model", "dim", "api_key_env", "family", "fallback_base_url", NULL};
    sc_status rc = jobs__cfg_known(r, "jobs.remote", known, err);
    if (rc != SC_OK) return rc;
    if ((rc = jobs__cfg_str(r, "base_url", &out->base_url, err)) != SC_OK ||
        (rc = jobs__cfg_str(r, "model", &out->model, err)) != SC_OK ||
        (rc = jobs__cfg_str(r, "api_key_env", &out->api_key_env, err)) != SC_OK ||
        (rc = jobs__cfg_str(r, "family", &out->family, err)) != SC_OK ||
        (rc = jobs__cfg_str(r, "fallback_base_url", &out->fallback_base_url, err)) != SC_OK)
        return rc;
    uint64_t dim = 0;
    if ((rc = jobs__cfg_uint(r, "jobs.remote", "dim", 1, 65536, &dim, err)) != SC_OK) return rc;
    out->dim = (uint32_t)dim;
    if (!out->base_url || !out->model || !out->dim)
        return sc_err_set(err, SC_INVALID, "config: `jobs.remote` needs base_url, model and dim");
    const char *urls[2] = {out->base_url, out->fallback_base_url};
    for (int i = 0; i < 2; i++)
        if (urls[i] && strncmp(urls[i], "http://", 7) && strncmp(urls[i], "https://", 8))
            return sc_err_set(err, SC_INVALID, "config: `jobs.remote.%s` must start with http:// or https://",
                              i ? "fallback_base_url" : "base_url");
    return SC_OK;
}

/* A price per 1,000 tokens: a number of at least 0. */
static sc_status jobs__cfg_price(const json_t *p, const char *key, double *out, sc_err *err) {
    const json_t *v = json_object_get(p, key);
    if (!v) return SC_OK;
    if (!json_is_number(v) || json_number_value(v) < 0)
        return sc_err_set(err, SC_INVALID, "config: `jobs.price_per_1k_tokens.%s` must be a number of at least 0", key);
    *out = json_number_value(v);
    return SC_OK;
}

sc_status server_jobs_config_parse(const json_t *v, server_jobs_config *out, sc_err *err) {
    static const char *const known[] = {"workers", "batch_size", "balanced_threshold", "retries", "priorities",
                                        "price_per_1k_tokens", "keep_finished", "remote", NULL};
    *out = server_jobs_config_default();
    if (!v || json_is_null(v)) return SC_OK;
    sc_status rc = jobs__cfg_known(v, "jobs", known, err);
    uint64_t x;
#define JOBS_UINT(key, field, min, max)                                                                            \
    if (rc == SC_OK) {                                                                                             \
        x = out->field;                                                                                            \
        rc = jobs__cfg_uint(v, "jobs", key, min, max, &x, err);                                                    \
        out->field = (__typeof__(out->field))x;                                                                    \
    }
    JOBS_UINT("workers", workers, 1, SERVER_JOBS_MAX_WORKERS)
    JOBS_UINT("batch_size", batch_size, 1, 65536)
    JOBS_UINT("balanced_threshold", balanced_threshold, 0, UINT64_C(1) << 40)
    JOBS_UINT("retries", retries, 0, 20)
    JOBS_UINT("keep_finished", keep_finished, 1, 1000000)
#undef JOBS_UINT
    const json_t *pr = json_object_get(v, "priorities");
    if (rc == SC_OK && pr) {
        if (!json_is_object(pr)) rc = sc_err_set(err, SC_INVALID, "config: `jobs.priorities` must be an object");
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)pr, key, val) {
            if (rc != SC_OK) break;
            sc_rec_kind k;
            if (sc_rec_kind_parse(key, &k) != SC_OK)
                rc = sc_err_set(err, SC_INVALID,
                                "config: `jobs.priorities.%s`: not a record kind (issue, pr, commit, comment, review, doc)",
                                key);
            else if (!json_is_integer(val) || json_integer_value(val) < -1000 || json_integer_value(val) > 1000)
                rc = sc_err_set(err, SC_INVALID, "config: `jobs.priorities.%s` must be an integer from -1000 to 1000", key);
            else out->priorities[k] = (int32_t)json_integer_value(val);
        }
    }
    const json_t *price = json_object_get(v, "price_per_1k_tokens");
    if (rc == SC_OK && price) {
        static const char *const pk[] = {"builtin", "remote", NULL};
        rc = jobs__cfg_known(price, "jobs.price_per_1k_tokens", pk, err);
        if (rc == SC_OK) rc = jobs__cfg_price(price, "builtin", &out->price_builtin, err);
        if (rc == SC_OK) rc = jobs__cfg_price(price, "remote", &out->price_remote, err);
    }
    const json_t *remote = json_object_get(v, "remote");
    if (rc == SC_OK && remote && !json_is_null(remote)) rc = jobs__cfg_remote(remote, &out->remote, err);
    if (rc != SC_OK) server_jobs_config_free(out);
    return rc;
}

/* ==== Routing ==== */

const char *server_jobs_pref_name(server_jobs_pref p) {
    return p == SERVER_JOBS_PREF_FAST ? "fast" : p == SERVER_JOBS_PREF_QUALITY ? "quality" : "balanced";
}

bool server_jobs_route(server_jobs_pref p, uint64_t n_records, const server_jobs_config *c, const char **why) {
    bool remote = c->remote.base_url != NULL;
    if (p == SERVER_JOBS_PREF_FAST) {
        *why = "fast: the built-in model";
        return false;
    }
    if (p == SERVER_JOBS_PREF_QUALITY) {
        *why = remote ? "quality: the configured remote model" : "quality: no remote model is configured, the built-in one";
        return remote;
    }
    if (!remote) {
        *why = "balanced: no remote model is configured, the built-in one";
        return false;
    }
    if (n_records == 0) {
        *why = "balanced: the job's size is not known, the built-in model";
        return false;
    }
    if (n_records > c->balanced_threshold) {
        *why = "balanced: more records than balanced_threshold, the built-in model";
        return false;
    }
    *why = "balanced: at most balanced_threshold records, the remote model";
    return true;
}

/* ==== Status ==== */

static const char *const jobs__state_names[JOBS_STATE_COUNT] = {"queued", "running", "done", "failed", "cancelled"};

const char *jobs_state_name(jobs_state s) {
    return (unsigned)s < JOBS_STATE_COUNT ? jobs__state_names[s] : "unknown";
}

static bool jobs__state_parse(const char *s, jobs_state *out) {
    for (int i = 0; i < JOBS_STATE_COUNT; i++)
        if (s && !strcmp(s, jobs__state_names[i])) {
            *out = (jobs_state)i;
            return true;
        }
    return false;
}

/* An RFC 3339 UTC time of t (seconds since the epoch) to the millisecond, or null when 0. */
static json_t *jobs__time(double t) {
    if (t <= 0) return json_null();
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[40], out[48];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    int ms = (int)((t - (double)s) * 1000.0);
    snprintf(out, sizeof out, "%s.%03dZ", buf, ms < 0 ? 0 : ms > 999 ? 999 : ms);
    return json_string(out);
}

/* The price class of a provider id: remote ids start with "remote:". */
static double jobs__price(const server_jobs *js, const char *provider) {
    return !strncmp(provider, "remote:", 7) ? js->cfg.price_remote : js->cfg.price_builtin;
}

json_t *jobs_job_json(const server_jobs *js, const jobs_job *j) {
    json_t *o = json_object();
    if (!o) return NULL;
    double now = jobs_now();
    bool running = j->state == JOBS_STATE_RUNNING;
    double secs = j->run_started > 0 ? (running ? now : j->finished > 0 ? j->finished : now) - j->run_started : 0;
    double rate = secs > 0 ? (double)j->processed / secs : 0;
    uint64_t n_batches = j->total ? (j->total + j->batch_size - 1) / j->batch_size : 0;
    json_object_set_new(o, "id", json_integer(j->id));
    json_object_set_new(o, "tenant", j->tenant ? json_string(j->tenant) : json_null());
    json_object_set_new(o, "state", json_string(jobs_state_name(j->state)));
    json_object_set_new(o, "priority", json_integer(j->priority));
    json_object_set(o, "source", json_object_get(j->spec, "source"));
    json_object_set(o, "options", json_object_get(j->spec, "options"));
    json_object_set_new(o, "created", jobs__time(j->created));
    json_object_set_new(o, "started", jobs__time(j->started));
    json_object_set_new(o, "finished", jobs__time(j->finished));
    json_object_set_new(o, "attempts", json_integer(j->attempts));
    json_object_set_new(o, "total", j->total ? json_integer((json_int_t)j->total) : json_null());
    json_object_set_new(o, "processed", json_integer((json_int_t)j->processed));
    json_object_set_new(o, "succeeded", json_integer((json_int_t)j->succeeded));
    json_object_set_new(o, "written", json_integer((json_int_t)j->written));
    json_object_set_new(o, "unchanged", json_integer((json_int_t)j->unchanged));
    json_object_set_new(o, "failed", json_integer((json_int_t)j->failed));
    json_object_set_new(o, "removed", json_integer((json_int_t)j->removed));
    json_object_set_new(o, "batch", json_integer((json_int_t)j->batches));
    json_object_set_new(o, "batches", n_batches ? json_integer((json_int_t)n_batches) : json_null());
    json_object_set_new(o, "batch_size", json_integer(j->batch_size));
    json_object_set_new(o, "records_per_second", json_real(rate));
    json_object_set_new(o, "eta_seconds", running && rate > 0 && j->total >= j->processed
                                              ? json_real((double)(j->total - j->processed) / rate)
                                              : json_null());
    json_t *opts = json_object_get(j->spec, "options");
    json_object_set_new(o, "provider", json_pack("{s:s, s:s?, s:s?}", "preference",
                                                 json_string_value(json_object_get(opts, "provider")), "in_use",
                                                 *j->provider ? j->provider : NULL, "why", *j->route ? j->route : NULL));
    json_t *cost = json_object();
    double sum = 0;
    uint64_t tok = 0;
    const char *pid;
    json_t *n;
    json_object_foreach(j->tokens, pid, n) {
        double c = (double)json_integer_value(n) / 1000.0 * jobs__price(js, pid);
        json_object_set_new(cost, pid, json_real(c));
        sum += c;
        tok += (uint64_t)json_integer_value(n);
    }
    json_object_set_new(o, "tokens", json_pack("{s:I, s:O}", "total", (json_int_t)tok, "by_provider", j->tokens));
    json_object_set_new(o, "estimated_cost", json_pack("{s:f, s:o}", "total", sum, "by_provider", cost));
    json_object_set(o, "last_errors", j->errors);
    json_object_set_new(o, "error", j->error ? json_string(j->error) : json_null());
    return o;
}

void jobs_add_error(jobs_job *j, const char *msg) {
    if (json_array_size(j->errors) >= JOBS_MAX_ERRORS) json_array_remove(j->errors, 0);
    json_array_append_new(j->errors, json_string(msg));
}

/* ==== Persistence ==== */

/* The counters of j that survive a restart, as compact JSON (owned). */
static char *jobs__status_text(const jobs_job *j) {
    json_t *o = json_pack("{s:f, s:f, s:f, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:O, s:O, s:s?}",
                          "started", j->started, "finished", j->finished, "run_started", j->run_started, "attempts",
                          (int)j->attempts, "batch_size", (int)j->batch_size, "total", (json_int_t)j->total,
                          "processed", (json_int_t)j->processed, "succeeded", (json_int_t)j->succeeded, "written",
                          (json_int_t)j->written, "unchanged", (json_int_t)j->unchanged, "failed",
                          (json_int_t)j->failed, "removed", (json_int_t)j->removed, "batches",
                          (json_int_t)j->batches, "provider", j->provider, "route", j->route, "tokens", j->tokens,
                          "errors", j->errors, "error", j->error);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* The string value of v, "" when it is not a string. */
static const char *jobs__str_or(const json_t *v) {
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Restore the counters of j from its status text. */
static void jobs__status_load(jobs_job *j, const char *text) {
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    if (!o) return;
    j->started = json_number_value(json_object_get(o, "started"));
    j->finished = json_number_value(json_object_get(o, "finished"));
    j->run_started = json_number_value(json_object_get(o, "run_started"));
    j->attempts = (uint32_t)json_integer_value(json_object_get(o, "attempts"));
    uint32_t bs = (uint32_t)json_integer_value(json_object_get(o, "batch_size"));
    if (bs) j->batch_size = bs;
#define JOBS_U64(f) j->f = (uint64_t)json_integer_value(json_object_get(o, #f))
    JOBS_U64(total);
    JOBS_U64(processed);
    JOBS_U64(succeeded);
    JOBS_U64(written);
    JOBS_U64(unchanged);
    JOBS_U64(failed);
    JOBS_U64(removed);
    JOBS_U64(batches);
#undef JOBS_U64
    snprintf(j->provider, sizeof j->provider, "%s", jobs__str_or(json_object_get(o, "provider")));
    snprintf(j->route, sizeof j->route, "%s", jobs__str_or(json_object_get(o, "route")));
    if (json_is_object(json_object_get(o, "tokens"))) {
        json_decref(j->tokens);
        j->tokens = json_incref(json_object_get(o, "tokens"));
    }
    if (json_is_array(json_object_get(o, "errors"))) {
        json_decref(j->errors);
        j->errors = json_incref(json_object_get(o, "errors"));
    }
    const char *e = json_string_value(json_object_get(o, "error"));
    if (e) j->error = strdup(e);
    json_decref(o);
}

void jobs_save(server_jobs *js, jobs_job *j) {
    char *status = jobs__status_text(j);
    char *spec = json_dumps(j->spec, JSON_COMPACT);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(js->db,
                                "INSERT OR REPLACE INTO jobs(id, tenant, priority, state, created, spec, status) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, j->id);
        if (j->tenant) sqlite3_bind_text(st, 2, j->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, j->priority);
        sqlite3_bind_text(st, 4, jobs_state_name(j->state), -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 5, j->created);
        sqlite3_bind_text(st, 6, spec ? spec : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, status ? status : "{}", -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE && js->ctx && js->ctx->log)
        server_log_message(js->ctx->log, SC_LOG_LEVEL_WARN, "jobs: cannot save a job's row in jobs.db");
    sqlite3_finalize(st);
    free(status);
    free(spec);
}

static void jobs__job_free(jobs_job *j) {
    if (!j) return;
    free(j->tenant);
    json_decref(j->spec);
    json_decref(j->tokens);
    json_decref(j->errors);
    free(j->error);
    free(j);
}

static jobs_job *jobs__job_new(void) {
    jobs_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->tokens = json_object();
    j->errors = json_array();
    j->batch_size = 256;
    if (!j->tokens || !j->errors) {
        jobs__job_free(j);
        return NULL;
    }
    return j;
}

static bool jobs__append(server_jobs *js, jobs_job *j) {
    if (!util_grow(&js->jobs, &js->cap_jobs, js->n_jobs + 1, sizeof *js->jobs, 16)) return false;
    js->jobs[js->n_jobs++] = j;
    if (j->id >= js->next_id) js->next_id = j->id + 1;
    return true;
}

/* Load every row; jobs that were running are queued again. */
static sc_status jobs__load(server_jobs *js, sc_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(js->db, "SELECT id, tenant, priority, state, created, spec, status FROM jobs ORDER BY id", -1,
                           &st, NULL) != SQLITE_OK)
        return sc_err_set(err, SC_IOERR, "jobs.db: %s", sqlite3_errmsg(js->db));
    sc_status rc = SC_OK;
    int s;
    while (rc == SC_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
        jobs_job *j = jobs__job_new();
        if (!j) {
            rc = sc_err_set(err, SC_NOMEM, "out of memory");
            break;
        }
        j->id = sqlite3_column_int64(st, 0);
        const char *t = (const char *)sqlite3_column_text(st, 1);
        j->tenant = t ? strdup(t) : NULL;
        j->priority = sqlite3_column_int(st, 2);
        if (!jobs__state_parse((const char *)sqlite3_column_text(st, 3), &j->state)) j->state = JOBS_STATE_FAILED;
        j->created = sqlite3_column_double(st, 4);
        j->spec = json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
        jobs__status_load(j, (const char *)sqlite3_column_text(st, 6));
        if (!j->spec) {
            j->spec = json_object();
            j->state = JOBS_STATE_FAILED;
        }
        if (j->state == JOBS_STATE_RUNNING) {
            j->state = JOBS_STATE_QUEUED;
            jobs_add_error(j, "the server stopped while the job ran: it resumes from its last stored batch");
            jobs_save(js, j);
        }
        if (!jobs__append(js, j)) {
            jobs__job_free(j);
            rc = sc_err_set(err, SC_NOMEM, "out of memory");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* ==== Queue and workers ==== */

/* The queued job to run next: highest priority, then lowest id. */
static jobs_job *jobs__pick(server_jobs *js) {
    jobs_job *best = NULL;
    for (size_t i = 0; i < js->n_jobs; i++) {
        jobs_job *j = js->jobs[i];
        if (j->state != JOBS_STATE_QUEUED) continue;
        if (!best || j->priority > best->priority) best = j;
    }
    return best;
}

/* Drop the oldest finished jobs past keep_finished (their rows and uploads). */
static void jobs__trim(server_jobs *js) {
    size_t n_finished = 0;
    for (size_t i = 0; i < js->n_jobs; i++) n_finished += js->jobs[i]->state >= JOBS_STATE_DONE;
    size_t w = 0;
    for (size_t i = 0; i < js->n_jobs; i++) {
        jobs_job *j = js->jobs[i];
        if (n_finished > js->cfg.keep_finished && j->state >= JOBS_STATE_DONE) {
            char sql[96], path[4200];
            snprintf(sql, sizeof sql, "DELETE FROM jobs WHERE id = %lld", (long long)j->id);
            sqlite3_exec(js->db, sql, NULL, NULL, NULL);
            snprintf(path, sizeof path, "%s/jobs/%lld.jsonl", js->dir, (long long)j->id);
            remove(path);
            jobs__job_free(j);
            n_finished--;
            continue;
        }
        js->jobs[w++] = j;
    }
    js->n_jobs = w;
}

static void *jobs__worker(void *arg) {
    server_jobs *js = arg;
    pthread_mutex_lock(&js->mu);
    while (!js->stop) {
        jobs_job *j = jobs__pick(js);
        if (!j) {
            pthread_cond_wait(&js->wake, &js->mu);
            continue;
        }
        j->state = JOBS_STATE_RUNNING;
        j->attempts++;
        __atomic_store_n(&j->cancel, 0, __ATOMIC_RELAXED);
        j->run_started = jobs_now();
        if (j->started <= 0) j->started = j->run_started;
        jobs_save(js, j);
        pthread_mutex_unlock(&js->mu);
        jobs_state end = jobs_run(js, j);
        pthread_mutex_lock(&js->mu);
        j->state = end;
        if (end >= JOBS_STATE_DONE) j->finished = jobs_now();
        jobs_save(js, j);
        if (end >= JOBS_STATE_DONE) jobs__trim(js);
    }
    pthread_mutex_unlock(&js->mu);
    return NULL;
}

sc_status server_jobs_open(server_ctx *ctx, const char *dir, const server_jobs_config *cfg, server_jobs **out,
                           sc_err *err) {
    *out = NULL;
    server_jobs *js = calloc(1, sizeof *js);
    if (!js) return sc_err_set(err, SC_NOMEM, "out of memory");
    js->ctx = ctx;
    js->next_id = 1;
    pthread_mutex_init(&js->mu, NULL);
    pthread_cond_init(&js->wake, NULL);
    /* a deep copy of the remote model's strings */
    js->cfg = *cfg;
    memset(&js->cfg.remote, 0, sizeof js->cfg.remote);
    js->cfg.remote.dim = cfg->remote.dim;
    const char *const src[5] = {cfg->remote.base_url, cfg->remote.model, cfg->remote.api_key_env, cfg->remote.family,
                                cfg->remote.fallback_base_url};
    char **dst[5] = {&js->cfg.remote.base_url, &js->cfg.remote.model, &js->cfg.remote.api_key_env,
                     &js->cfg.remote.family, &js->cfg.remote.fallback_base_url};
    for (int i = 0; i < 5; i++) *dst[i] = src[i] ? strdup(src[i]) : NULL;
    js->dir = strdup(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/jobs", dir);
    sc_status rc = SC_OK;
    if (!js->dir) rc = sc_err_set(err, SC_NOMEM, "out of memory");
    else if (util_mkdir_p(path) != 0) rc = sc_err_set(err, SC_IOERR, "jobs: cannot make %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/jobs.db", dir);
    if (rc == SC_OK && sqlite3_open(path, &js->db) != SQLITE_OK)
        rc = sc_err_set(err, SC_IOERR, "jobs: cannot open %s: %s", path, js->db ? sqlite3_errmsg(js->db) : "no memory");
    if (rc == SC_OK) {
        sqlite3_busy_timeout(js->db, 5000);
        /* WAL + synchronous=NORMAL: a kill -9 loses no committed row (only a power loss may lose the last) */
        char *msg = NULL;
        if (sqlite3_exec(js->db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                         "CREATE TABLE IF NOT EXISTS jobs(id INTEGER PRIMARY KEY, tenant TEXT, priority INTEGER NOT NULL,"
                         " state TEXT NOT NULL, created REAL NOT NULL, spec TEXT NOT NULL, status TEXT NOT NULL)",
                         NULL, NULL, &msg) != SQLITE_OK)
            rc = sc_err_set(err, SC_IOERR, "jobs: %s: %s", path, msg ? msg : "cannot create the table");
        sqlite3_free(msg);
    }
    if (rc == SC_OK) rc = jobs__load(js, err);
    for (uint32_t i = 0; rc == SC_OK && i < js->cfg.workers; i++) {
        if (pthread_create(&js->threads[i], NULL, jobs__worker, js) != 0) {
            rc = sc_err_set(err, SC_ERROR, "jobs: cannot start a worker thread");
            break;
        }
        js->n_threads++;
    }
    if (rc != SC_OK) {
        server_jobs_close(js);
        return rc;
    }
    *out = js;
    return SC_OK;
}

void server_jobs_close(server_jobs *js) {
    if (!js) return;
    pthread_mutex_lock(&js->mu);
    js->stop = true;
    for (size_t i = 0; i < js->n_jobs; i++)
        if (js->jobs[i]->state == JOBS_STATE_RUNNING) __atomic_store_n(&js->jobs[i]->cancel, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&js->wake);
    pthread_mutex_unlock(&js->mu);
    for (uint32_t i = 0; i < js->n_threads; i++) pthread_join(js->threads[i], NULL);
    for (size_t i = 0; i < js->n_jobs; i++) jobs__job_free(js->jobs[i]);
    free(js->jobs);
    if (js->db) sqlite3_close(js->db);
    server_jobs_config_free(&js->cfg);
    free(js->dir);
    pthread_cond_destroy(&js->wake);
    pthread_mutex_destroy(&js->mu);
    free(js);
}

/* ==== Requests ==== */

/* Write the uploaded JSON Lines of job id to dir/jobs/<id>.jsonl. */
static bool jobs__save_upload(server_jobs *js, int64_t id, const char *data, char *msg, size_t msg_size) {
    char path[4200], tmp[4210];
    snprintf(path, sizeof path, "%s/jobs/%lld.jsonl", js->dir, (long long)id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    bool ok = f && fwrite(data, 1, strlen(data), f) == strlen(data);
    ok = f && fflush(f) == 0 && ok && fsync(fileno(f)) == 0;
    if (f) fclose(f);
    ok = ok && rename(tmp, path) == 0;
    if (!ok) snprintf(msg, msg_size, "cannot store the uploaded data of the job: %s", strerror(errno));
    return ok;
}

json_t *server_jobs_submit(server_jobs *js, const json_t *body, const char *tenant, bool admin, int *status,
                           char *msg, size_t msg_size) {
    int32_t priority = 0;
    json_t *spec = jobs_spec_check(js, body, tenant, admin, &priority, status, msg, msg_size);
    if (!spec) return NULL;
    jobs_job *j = jobs__job_new();
    if (!j) {
        json_decref(spec);
        *status = 500;
        snprintf(msg, msg_size, "out of memory");
        return NULL;
    }
    const char *t = json_string_value(json_object_get(spec, "tenant"));
    j->tenant = t ? strdup(t) : NULL;
    json_object_del(spec, "tenant");
    json_t *data = json_incref(json_object_get(json_object_get(spec, "source"), "data"));
    json_object_del(json_object_get(spec, "source"), "data"); /* kept in a file, not in every status */
    j->spec = spec;
    j->priority = priority;
    j->created = jobs_now();
    j->batch_size = (uint32_t)json_integer_value(json_object_get(json_object_get(spec, "options"), "batch_size"));
    j->state = JOBS_STATE_QUEUED;
    pthread_mutex_lock(&js->mu);
    j->id = js->next_id;
    bool ok = !data || jobs__save_upload(js, j->id, json_string_value(data), msg, msg_size);
    if (ok && data) json_object_set_new(json_object_get(spec, "source"), "uploaded", json_true());
    if (ok && !jobs__append(js, j)) {
        snprintf(msg, msg_size, "out of memory");
        ok = false;
    }
    json_t *res = NULL;
    if (ok) {
        jobs_save(js, j);
        res = jobs_job_json(js, j);
        pthread_cond_signal(&js->wake);
    }
    pthread_mutex_unlock(&js->mu);
    json_decref(data);
    if (!ok) {
        jobs__job_free(j);
        *status = 500;
    }
    return res;
}

/* Whether a key of tenant (NULL = global) may see job j. */
static bool jobs__visible(const jobs_job *j, const char *tenant) {
    return !tenant || (j->tenant && !strcmp(j->tenant, tenant));
}

json_t *server_jobs_list(server_jobs *js, const char *tenant, const char *state) {
    json_t *a = json_array();
    pthread_mutex_lock(&js->mu);
    for (size_t i = js->n_jobs; i-- > 0 && a;) {
        const jobs_job *j = js->jobs[i];
        if (!jobs__visible(j, tenant) || (state && strcmp(state, jobs_state_name(j->state)))) continue;
        json_array_append_new(a, jobs_job_json(js, j));
    }
    pthread_mutex_unlock(&js->mu);
    return a;
}

/* The job of id the tenant sees; call under js->mu. */
static jobs_job *jobs__find(server_jobs *js, int64_t id, const char *tenant) {
    for (size_t i = 0; i < js->n_jobs; i++)
        if (js->jobs[i]->id == id) return jobs__visible(js->jobs[i], tenant) ? js->jobs[i] : NULL;
    return NULL;
}

json_t *server_jobs_get(server_jobs *js, int64_t id, const char *tenant) {
    pthread_mutex_lock(&js->mu);
    jobs_job *j = jobs__find(js, id, tenant);
    json_t *o = j ? jobs_job_json(js, j) : NULL;
    pthread_mutex_unlock(&js->mu);
    return o;
}

json_t *server_jobs_cancel(server_jobs *js, int64_t id, const char *tenant) {
    pthread_mutex_lock(&js->mu);
    jobs_job *j = jobs__find(js, id, tenant);
    if (j && j->state == JOBS_STATE_QUEUED) {
        j->state = JOBS_STATE_CANCELLED;
        j->finished = jobs_now();
        jobs_save(js, j);
    } else if (j && j->state == JOBS_STATE_RUNNING) {
        j->user_cancel = true;
        __atomic_store_n(&j->cancel, 1, __ATOMIC_RELAXED);
    }
    json_t *o = j ? jobs_job_json(js, j) : NULL;
    pthread_mutex_unlock(&js->mu);
    return o;
}

/* ==== Metrics ==== */

/* Append a Prometheus label value (backslash, quote and newline escaped). */
static void jobs__label(util_buf *out, const char *s) {
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') util_buf_printf(out, "\\%c", *s);
        else if (*s == '\n') util_buf_puts(out, "\\n");
        else util_buf_append(out, s, 1);
    }
}

void server_jobs_render_metrics(server_jobs *js, const char *tenant, util_buf *out) {
    if (!js) return;
    uint64_t by_state[JOBS_STATE_COUNT] = {0};
    util_buf tok = {0}, cost = {0}, recs = {0};
    pthread_mutex_lock(&js->mu);
    for (size_t i = 0; i < js->n_jobs; i++) {
        const jobs_job *j = js->jobs[i];
        if (!jobs__visible(j, tenant)) continue;
        by_state[j->state]++;
        const char *pid;
        json_t *n;
        json_object_foreach(j->tokens, pid, n) {
            util_buf *bufs[2] = {&tok, &cost};
            for (int b = 0; b < 2; b++) {
                util_buf_puts(bufs[b], b ? "semcode_job_estimated_cost_total{provider=\"" : "semcode_job_tokens_total{provider=\"");
                jobs__label(bufs[b], pid);
                util_buf_puts(bufs[b], "\",tenant=\"");
                jobs__label(bufs[b], j->tenant ? j->tenant : "");
                util_buf_printf(bufs[b], "\",job=\"%lld\"} ", (long long)j->id);
            }
            util_buf_printf(&tok, "%lld\n", (long long)json_integer_value(n));
            util_buf_printf(&cost, "%.6f\n", (double)json_integer_value(n) / 1000.0 * jobs__price(js, pid));
        }
        static const char *const outcomes[3] = {"written", "unchanged", "failed"};
        const uint64_t vals[3] = {j->written, j->unchanged, j->failed};
        for (int k = 0; k < 3; k++) {
            util_buf_puts(&recs, "semcode_job_records_total{tenant=\"");
            jobs__label(&recs, j->tenant ? j->tenant : "");
            util_buf_printf(&recs, "\",job=\"%lld\",outcome=\"%s\"} %llu\n", (long long)j->id, outcomes[k],
                            (unsigned long long)vals[k]);
        }
    }
    pthread_mutex_unlock(&js->mu);
    util_buf_puts(out, "# HELP semcode_jobs Backfill jobs by state.\n# TYPE semcode_jobs gauge\n");
    for (int s = 0; s < JOBS_STATE_COUNT; s++)
        util_buf_printf(out, "semcode_jobs{state=\"%s\"} %llu\n", jobs__state_names[s], (unsigned long long)by_state[s]);
    util_buf_puts(out, "# HELP semcode_job_tokens_total Tokens sent to an embedding provider, by provider, tenant and "
                       "job (estimated: UTF-8 bytes / 4).\n# TYPE semcode_job_tokens_total counter\n");
    if (tok.len) util_buf_append(out, tok.data, tok.len);
    util_buf_puts(out, "# HELP semcode_job_estimated_cost_total Estimated cost of those tokens (price_per_1k_tokens).\n"
                       "# TYPE semcode_job_estimated_cost_total counter\n");
    if (cost.len) util_buf_append(out, cost.data, cost.len);
    util_buf_puts(out, "# HELP semcode_job_records_total Records of a job's current attempt by outcome.\n"
                       "# TYPE semcode_job_records_total gauge\n");
    if (recs.len) util_buf_append(out, recs.data, recs.len);
    util_buf_free(&tok);
    util_buf_free(&cost);
    util_buf_free(&recs);
}
