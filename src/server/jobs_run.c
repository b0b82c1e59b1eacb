/*
** server/jobs_run.c: running one backfill job: choose its embedding
** provider (fast | balanced | quality, server_jobs_route), wrap it in a
** counting provider (tokens per provider; a batch whose provider fails is
** retried with backoff, then handed to the fallback only when the fallback
** serves the same model: the remote embedder's own rule of equal dimension
** and family), open the tenant's records and run the source with progress
** and cancellation, keeping the job's counters current. A batch that still
** fails is skipped by the writer (sc_records_options.on_failed): its
** records count as failed, named in the job's last errors, and the job goes
** on; it ends `done` with `failed` > 0. Those records are not stored and
** the source's cursor stays before them, so a re-run retries them. A job
** none of whose records could be stored, or with JOBS_MAX_FAILED_RUN
** batches failed in a row (the provider is down: going on would only burn
** retries), ends `failed`.
**
** DESIGN
** - One collection's vectors come from one model: the records writer
**   refuses a provider whose model id differs from the one the collection
**   was filled with. A `balanced` job then takes the other provider when
**   that one matches; `fast` and `quality` fail with the writer's reason.
** - Tokens are estimated as the UTF-8 bytes of each text a provider
**   embedded over 4, rounded up (the usual rule for the BPE tokenizers of
**   remote embedding APIs on English text and code; cache hits are not
**   sent): an estimate, as the status says, since the server cannot see
**   the remote model's own count, and one that needs no tokenizer here.
*/
#include "server/jobs_int.h"
#include "server/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOBS_SAVE_EVERY_S 0.5 /* a running job's row is written at most this often */
#define JOBS_MAX_PROVIDERS 4  /* providers one embedding call may have used (primary, fallback) */
#define JOBS_BYTES_PER_TOKEN 4 /* the token estimate: UTF-8 bytes per token */
#define JOBS_MAX_FAILED_RUN 5  /* batches failed in a row that stop a job */

/* The state of one run. */
typedef struct jr_run {
    server_jobs *js;          /* the table */
    jobs_job *j;              /* the job */
    sc_records *rs;           /* its records (counters polled for progress) */
    sc_embedder *inner;       /* the provider chosen */
    sc_embedder *fallback;    /* a second endpoint of the same remote model, or NULL */
    uint32_t retries;         /* of a failed batch */
    double last_save;         /* when the row was last written */
    uint64_t malformed;       /* items the source reported and skipped */
    uint64_t skipped;         /* records of batches the writer skipped (their provider failed) */
    uint32_t failed_run;      /* batches failed in a row */
    uint64_t stored_at_fail;  /* records stored when the last batch failed */
    bool give_up;             /* JOBS_MAX_FAILED_RUN reached: the job stops, failed */
    char last_failure[1400];  /* the last skipped batch's message */
} jr_run;

/* ==== Progress ==== */

/* Copy the writer's counters into the job and write its row now and then. */
static void jr__update(jr_run *r, uint64_t total_hint, bool force) {
    sc_records_stats st = sc_records_get_stats(r->rs);
    server_jobs *js = r->js;
    jobs_job *j = r->j;
    pthread_mutex_lock(&js->mu);
    j->processed = st.put;
    j->written = st.written;
    j->unchanged = st.unchanged;
    j->succeeded = st.written + st.unchanged;
    j->removed = st.deleted;
    j->failed = r->malformed + st.failed;
    r->skipped = st.failed;
    j->batches = (j->succeeded + j->batch_size - 1) / j->batch_size;
    if (total_hint > j->total) j->total = total_hint;
    if (j->total && j->processed > j->total) j->total = j->processed;
    double now = jobs_now();
    if (force || now - r->last_save >= JOBS_SAVE_EVERY_S) {
        r->last_save = now;
        jobs_save(js, j);
    }
    pthread_mutex_unlock(&js->mu);
}

static void jr__source_progress(void *arg, const sc_source_progress *p) {
    jr_run *r = arg;
    jr__update(r, p->total, false);
}

static void jr__git_progress(void *arg, const sc_git_progress *p) {
    jr_run *r = arg;
    jr__update(r, !strcmp(p->stage, "commits") ? p->total : 0, false);
}

static void jr__report(void *arg, const char *where, const char *message) {
    jr_run *r = arg;
    char msg[1024];
    snprintf(msg, sizeof msg, "skipped %s: %s", where, message);
    pthread_mutex_lock(&r->js->mu);
    r->malformed++;
    jobs_add_error(r->j, msg);
    pthread_mutex_unlock(&r->js->mu);
}

/* The writer skipped a batch whose provider failed (message names its records). */
static void jr__batch_failed(void *arg, const char *message) {
    jr_run *r = arg;
    sc_records_stats st = sc_records_get_stats(r->rs);
    uint64_t stored = st.written + st.unchanged;
    r->failed_run = stored == r->stored_at_fail && r->failed_run ? r->failed_run + 1 : 1;
    r->stored_at_fail = stored;
    snprintf(r->last_failure, sizeof r->last_failure, "%s", message);
    char msg[1500];
    snprintf(msg, sizeof msg, "batch skipped: %s", message);
    pthread_mutex_lock(&r->js->mu);
    jobs_add_error(r->j, msg);
    if (r->failed_run >= JOBS_MAX_FAILED_RUN) { /* the source stops at its next item, as on a cancel */
        r->give_up = true;
        __atomic_store_n(&r->j->cancel, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&r->js->mu);
}

static void jr__error(jr_run *r, const char *msg) {
    pthread_mutex_lock(&r->js->mu);
    jobs_add_error(r->j, msg);
    pthread_mutex_unlock(&r->js->mu);
}

/* ==== The counting provider ==== */

/* Sleep ms, in steps, returning early when the job is cancelled. */
static void jr__sleep(jr_run *r, uint32_t ms) {
    for (uint32_t t = 0; t < ms && !__atomic_load_n(&r->j->cancel, __ATOMIC_RELAXED); t += 50) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static sc_status jr__embed(void *state, sc_embed_role side, const char *const *texts, size_t n, float *out,
                           sc_embed_item *items) {
    jr_run *r = state;
    for (uint32_t attempt = 0;; attempt++) {
        sc_status rc = sc_embedder_embed(r->inner, side, texts, n, out, items, NULL);
        size_t bad = n;
        for (size_t i = 0; i < n && bad == n; i++) {
            if (rc != SC_OK) {
                items[i].status = SC_IOERR;
                snprintf(items[i].error, sizeof items[i].error, "%s", sc_embedder_errmsg(r->inner));
            }
            if (items[i].status == SC_IOERR) bad = i;
        }
        if (bad == n) break;
        char msg[512];
        if (attempt >= r->retries || __atomic_load_n(&r->j->cancel, __ATOMIC_RELAXED)) {
            snprintf(msg, sizeof msg, "a batch of %zu texts failed with %s after %u retries: %s%s", n,
                     sc_embedder_id(r->inner), attempt, items[bad].error,
                     r->fallback ? " (the fallback endpoint failed too)"
                                 : "; no compatible fallback (another model would mix two models in one collection)");
            jr__error(r, msg);
            break;
        }
        snprintf(msg, sizeof msg, "a batch of %zu texts failed with %s: %s; retry %u of %u", n,
                 sc_embedder_id(r->inner), items[bad].error, attempt + 1, r->retries);
        jr__error(r, msg);
        jr__sleep(r, 500u << (attempt < 5 ? attempt : 5));
    }
    /* tokens sent, by the provider that embedded each text */
    const char *ids[JOBS_MAX_PROVIDERS];
    uint64_t counts[JOBS_MAX_PROVIDERS];
    size_t n_ids = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].status != SC_OK || items[i].cached) continue;
        const char *pid = items[i].provider ? items[i].provider : sc_embedder_id(r->inner);
        size_t k = 0;
        while (k < n_ids && strcmp(ids[k], pid)) k++;
        if (k == n_ids) {
            if (n_ids == JOBS_MAX_PROVIDERS) continue;
            ids[n_ids] = pid;
            counts[n_ids++] = 0;
        }
        counts[k] += (strlen(texts[i]) + JOBS_BYTES_PER_TOKEN - 1) / JOBS_BYTES_PER_TOKEN;
    }
    pthread_mutex_lock(&r->js->mu);
    for (size_t k = 0; k < n_ids; k++) {
        json_int_t had = json_integer_value(json_object_get(r->j->tokens, ids[k]));
        json_object_set_new(r->j->tokens, ids[k], json_integer(had + (json_int_t)counts[k]));
    }
    pthread_mutex_unlock(&r->js->mu);
    return SC_OK;
}

static const sc_provider_vtable jr__vtable = {jr__embed, NULL};

/* ==== Opening ==== */

/* Make the provider: the built-in model, or the remote one (with its
** fallback endpoint when configured). false with msg on failure. */
static bool jr__provider(jr_run *r, bool remote, char *msg, size_t msg_size) {
    server_jobs *js = r->js;
    char *err = NULL;
    sc_status rc;
    if (!remote) {
        if (!js->ctx->model) {
            snprintf(msg, msg_size, "no built-in model is loaded (start semcode serve with --model FILE)");
            return false;
        }
        rc = sc_embedder_new_model(js->ctx->model, &r->inner, &err);
    } else {
        const server_jobs_remote *c = &js->cfg.remote;
        sc_remote_options o = sc_remote_options_default();
        o.base_url = c->base_url;
        o.model = c->model;
        o.api_key_env = c->api_key_env;
        o.dim = c->dim;
        o.family = c->family;
        o.concurrency =
            (uint32_t)json_integer_value(json_object_get(json_object_get(r->j->spec, "options"), "concurrency"));
        if (!o.concurrency) o.concurrency = 4;
        o.max_retries = 2;
        rc = sc_embedder_new_remote(&o, &r->inner, &err);
        if (rc == SC_OK && c->fallback_base_url) {
            o.base_url = c->fallback_base_url;
            sc_free(err);
            err = NULL;
            rc = sc_embedder_new_remote(&o, &r->fallback, &err);
            if (rc == SC_OK && sc_embedder_set_fallback(r->inner, r->fallback) != SC_OK) {
                snprintf(msg, msg_size, "the fallback endpoint: %s", sc_embedder_errmsg(r->inner));
                return false;
            }
        }
    }
    if (rc != SC_OK) snprintf(msg, msg_size, "the embedding provider: %s", err ? err : sc_status_str(rc));
    sc_free(err);
    return rc == SC_OK;
}

/* Free what jr__provider made (after a failure, or to try another provider). */
static void jr__provider_free(jr_run *r) {
    sc_embedder_free(r->inner);
    sc_embedder_free(r->fallback);
    r->inner = r->fallback = NULL;
}

/* Open the job's records with provider `remote`; the writer's message in msg on failure. */
static sc_status jr__open(jr_run *r, bool remote, sc_embedder **wrap, char *msg, size_t msg_size) {
    if (!jr__provider(r, remote, msg, msg_size)) {
        jr__provider_free(r);
        return SC_INVALID;
    }
    char *err = NULL;
    sc_status rc = sc_embedder_new_custom(&jr__vtable, r, sc_embedder_id(r->inner), 0, NULL,
                                          sc_embedder_dim(r->inner), wrap, &err);
    if (rc == SC_OK) {
        sc_records_options o = sc_records_options_default();
        o.tenant = r->j->tenant;
        o.batch_size = r->j->batch_size;
        o.on_failed = jr__batch_failed;
        o.on_failed_arg = r;
        rc = sc_records_open(r->js->ctx->db, *wrap, &o, &r->rs, &err);
    }
    if (rc != SC_OK) {
        snprintf(msg, msg_size, "%s", err ? err : sc_status_str(rc));
        sc_embedder_free(*wrap);
        *wrap = NULL;
        jr__provider_free(r);
    }
    sc_free(err);
    return rc;
}

/* ==== Running ==== */

/* Non-blank lines of a file (the records a JSON Lines job expects); 0 when unreadable. */
static uint64_t jr__count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    uint64_t n = 0;
    bool blank = true;
    int ch;
    while ((ch = getc(f)) != EOF) {
        if (ch == '\n') {
            n += !blank;
            blank = true;
        } else if (ch != ' ' && ch != '\t' && ch != '\r') {
            blank = false;
        }
    }
    n += !blank;
    fclose(f);
    return n;
}

/* Source options common to the tracker sources from the spec's source object. */
static sc_source_options jr__source_options(jr_run *r, const json_t *src) {
    sc_source_options o = sc_source_options_default();
    o.source = json_string_value(json_object_get(src, "source_name"));
    o.full = json_is_true(json_object_get(json_object_get(r->j->spec, "options"), "full"));
    o.from_dir = json_string_value(json_object_get(src, "from_dir"));
    o.token_env = json_string_value(json_object_get(src, "token_env"));
    o.user = json_string_value(json_object_get(src, "user"));
    if (json_object_get(src, "per_page")) o.per_page = (uint32_t)json_integer_value(json_object_get(src, "per_page"));
    if (json_object_get(src, "max_wait_s"))
        o.max_wait_s = (uint32_t)json_integer_value(json_object_get(src, "max_wait_s"));
    if (json_object_get(src, "retries")) {
        o.max_retries = (uint32_t)json_integer_value(json_object_get(src, "retries"));
        o.retries_set = true;
    }
    o.no_sweep = json_is_false(json_object_get(src, "sweep"));
    if (json_object_get(src, "api_version"))
        o.api_version = (uint32_t)json_integer_value(json_object_get(src, "api_version"));
    o.progress = jr__source_progress;
    o.progress_arg = r;
    o.report = jr__report;
    o.report_arg = r;
    o.cancel = &r->j->cancel;
    return o;
}

/* Run the source of the spec into r->rs. */
static sc_status jr__source(jr_run *r, const json_t *src, const char *type, const char *upload) {
    sc_source_summary sum;
    memset(&sum, 0, sizeof sum);
    sc_status rc;
    if (!strcmp(type, "git")) {
        sc_git_options g = sc_git_options_default();
        const json_t *b = json_object_get(src, "branches");
        const char *names[64];
        size_t n = 0;
        for (; n < json_array_size(b) && n < 64; n++) names[n] = json_string_value(json_array_get(b, n));
        g.branches = n ? names : NULL;
        g.n_branches = n;
        g.source = json_string_value(json_object_get(src, "source_name"));
        g.full = json_is_true(json_object_get(json_object_get(r->j->spec, "options"), "full"));
        if (json_object_get(src, "max_files")) g.max_files = (uint32_t)json_integer_value(json_object_get(src, "max_files"));
        g.progress = jr__git_progress;
        g.progress_arg = r;
        g.cancel = &r->j->cancel;
        sc_git_summary gs;
        return sc_git_ingest(r->rs, json_string_value(json_object_get(src, "repo")), &g, &gs);
    }
    sc_source_options o = jr__source_options(r, src);
    if (!strcmp(type, "github")) {
        o.api_url = json_string_value(json_object_get(src, "api_url"));
        rc = sc_github_ingest(r->rs, json_string_value(json_object_get(src, "repo")), &o, &sum);
    } else if (!strcmp(type, "jira")) {
        o.api_url = json_string_value(json_object_get(src, "url"));
        rc = sc_jira_ingest(r->rs, json_string_value(json_object_get(src, "jql")), &o, &sum);
    } else {
        const char *path = upload ? upload : json_string_value(json_object_get(src, "path"));
        const char *name = json_string_value(json_object_get(src, "name"));
        FILE *in = fopen(path, "r");
        if (!in) {
            char msg[600];
            snprintf(msg, sizeof msg, "cannot read %s: %s", upload ? "the uploaded data" : path, strerror(errno));
            jr__error(r, msg);
            return SC_IOERR;
        }
        sc_rec_kind kind = SC_REC_KIND_DOC;
        sc_rec_kind_parse(json_string_value(json_object_get(src, "kind")), &kind);
        char *mapping = json_object_get(src, "mapping") ? json_dumps(json_object_get(src, "mapping"), JSON_COMPACT) : NULL;
        rc = sc_jsonl_ingest(r->rs, in, name ? name : upload ? "upload" : path, mapping, kind, &o, &sum);
        free(mapping);
        fclose(in);
    }
    pthread_mutex_lock(&r->js->mu);
    r->malformed = sum.malformed;
    pthread_mutex_unlock(&r->js->mu);
    return rc;
}

jobs_state jobs_run(server_jobs *js, jobs_job *j) {
    jr_run r;
    memset(&r, 0, sizeof r);
    r.js = js;
    r.j = j;
    const json_t *src = json_object_get(j->spec, "source");
    const json_t *opts = json_object_get(j->spec, "options");
    const char *type = json_string_value(json_object_get(src, "type"));
    r.retries = (uint32_t)json_integer_value(json_object_get(opts, "retries"));
    char upload[4200], msg[1024] = "";
    bool uploaded = json_is_true(json_object_get(src, "uploaded"));
    snprintf(upload, sizeof upload, "%s/jobs/%lld.jsonl", js->dir, (long long)j->id);

    /* the size: known for JSON Lines, else what the client expects (or not known) */
    uint64_t total = 0;
    if (!strcmp(type ? type : "", "jsonl"))
        total = jr__count_lines(uploaded ? upload : json_string_value(json_object_get(src, "path")));
    if (!total) total = (uint64_t)json_integer_value(json_object_get(opts, "expected_records"));
    const char *pref_s = json_string_value(json_object_get(opts, "provider"));
    server_jobs_pref pref = !strcmp(pref_s ? pref_s : "", "fast")      ? SERVER_JOBS_PREF_FAST
                            : !strcmp(pref_s ? pref_s : "", "quality") ? SERVER_JOBS_PREF_QUALITY
                                                                        : SERVER_JOBS_PREF_BALANCED;
    const char *why = "";
    bool remote = server_jobs_route(pref, total, &js->cfg, &why);
    pthread_mutex_lock(&js->mu);
    j->total = total;
    j->processed = j->succeeded = j->written = j->unchanged = j->failed = j->removed = j->batches = 0;
    snprintf(j->route, sizeof j->route, "%s", why);
    pthread_mutex_unlock(&js->mu);

    sc_embedder *wrap = NULL;
    sc_status rc = jr__open(&r, remote, &wrap, msg, sizeof msg);
    if (rc == SC_INVALID && pref == SERVER_JOBS_PREF_BALANCED && js->cfg.remote.base_url && strstr(msg, "embedded with")) {
        /* balanced: keep the collection on the model it was filled with */
        char msg2[1024];
        if (jr__open(&r, !remote, &wrap, msg2, sizeof msg2) == SC_OK) {
            rc = SC_OK;
            why = "balanced: the collection's records come from this model (one collection, one model)";
            pthread_mutex_lock(&js->mu);
            snprintf(j->route, sizeof j->route, "%s", why);
            pthread_mutex_unlock(&js->mu);
        }
    } else if (rc == SC_INVALID && strstr(msg, "embedded with")) {
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, " (provider preference `%s` chose %s)", server_jobs_pref_name(pref),
                 remote ? "the remote model" : "the built-in model");
    }
    if (rc == SC_OK) {
        pthread_mutex_lock(&js->mu);
        snprintf(j->provider, sizeof j->provider, "%s", sc_embedder_id(r.inner));
        jobs_save(js, j);
        pthread_mutex_unlock(&js->mu);
        rc = jr__source(&r, src, type, uploaded ? upload : NULL);
        if (rc != SC_OK && rc != SC_INTERRUPTED) snprintf(msg, sizeof msg, "%s", sc_records_errmsg(r.rs));
        jr__update(&r, 0, true);
    } else if (!*msg) {
        snprintf(msg, sizeof msg, "%s", sc_status_str(rc));
    }
    if (rc == SC_OK && r.skipped && !j->succeeded) { /* nothing stored: the job did not do its work */
        rc = SC_IOERR;
        snprintf(msg, sizeof msg, "every batch failed; the last: %.900s", r.last_failure);
    } else if (r.give_up) {
        rc = SC_IOERR;
        snprintf(msg, sizeof msg, "%d batches in a row failed, the job stopped (run it again when the provider "
                 "answers: what was stored is passed over); the last: %.800s", JOBS_MAX_FAILED_RUN, r.last_failure);
    }
    jobs_state end;
    pthread_mutex_lock(&js->mu);
    if (rc == SC_OK) {
        end = JOBS_STATE_DONE;
        if (j->total < j->processed || !j->total) j->total = j->processed;
    } else if (!r.give_up && (rc == SC_INTERRUPTED || __atomic_load_n(&j->cancel, __ATOMIC_RELAXED))) {
        /* a cancel (or the server stopping) also cuts a provider retry short: that batch fails as interrupted */
        end = j->user_cancel ? JOBS_STATE_CANCELLED : JOBS_STATE_QUEUED;
        if (end == JOBS_STATE_QUEUED)
            jobs_add_error(j, "the server stopped during the job: it goes on from its last stored batch at the next start");
    } else {
        end = JOBS_STATE_FAILED;
        /* the records queued but not stored and not counted yet: the batch that failed */
        if (j->processed > j->succeeded + r.skipped) j->failed += j->processed - j->succeeded - r.skipped;
        free(j->error);
        j->error = strdup(msg);
        jobs_add_error(j, msg);
    }
    pthread_mutex_unlock(&js->mu);
    sc_records_close(r.rs);
    sc_embedder_free(wrap);
    jr__provider_free(&r);
    return end;
}
