/*
** mcp/index.c: the repository under the MCP server: its lock, the
** background index run of `reindex` (and of `semcode mcp` at start), the
** truthful index_status, and the partial search that answers while a run
** holds the repository.
**
** DESIGN
** - A run is sc_repo_update of each queued repository in turn on a thread
**   of its own, holding that repository's lock (repo_mu for the first, its
**   workspace lock for the others; an sc_repo is single-threaded) for its
**   update; `current` names it. A reindex meanwhile queues more for the
**   same thread. The pipeline commits the store group by group (128
**   files), so the store already holds the groups done; calls on the
**   repository being updated never wait for its update stages:
**   search_code runs BM25 over the store directly (sc_db reads are
**   concurrent with its writer) and says partial; the tools that need the
**   repository handle itself (similar, entity, duplicates) answer an error
**   that says a run is going and how far it is. Calls on the other
**   repositories go on as usual (mcp_int.h, "A repository's lock").
** - Dense results come back with the first call after the run: no vector
**   search is made over a half-written index.
** - A model switch's backfill releases the repository's lock between its
**   groups (sc_repo_set_yield): calls on it wait for one group (up to
**   MCP_SWITCH_WAIT_S) and answer in full from the current generation, as
**   the HTTP server's code endpoints do.
*/
#include "mcp/mcp_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MCP_COLLECTION "code" /* the repository's collection and vector (pipeline.h) */

/* Wall-clock seconds since the epoch. */
static double mcp__wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Take the lock of repository i (repo_mu for 0, its workspace lock for
** the others) if it comes within ms milliseconds; true when held. */
static bool mcp__lock_wait(mcp_server *m, size_t i, uint32_t ms) {
    if (i) return sc_workspace_lock_wait(m->ws, i, ms);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    while (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_mutex_timedlock(m->repo_mu, &ts) == 0;
}

int mcp_repo_busy(mcp_server *m, size_t i) {
    pthread_mutex_lock(&m->state_mu);
    int busy = m->current != (int)i ? 0 : strcmp(m->runs[i].stage, "switch") ? 2 : 1;
    pthread_mutex_unlock(&m->state_mu);
    return busy;
}

bool mcp_repo_lock_at(mcp_server *m, size_t i) {
    double t0 = util_now();
    for (;;) {
        int busy = mcp_repo_busy(m, i);
        if (busy == 2 || (busy == 1 && util_now() - t0 > MCP_SWITCH_WAIT_S)) return false;
        if (mcp__lock_wait(m, i, 20)) return true;
    }
}

void mcp_repo_unlock_at(mcp_server *m, size_t i) {
    if (i) sc_workspace_unlock(m->ws, i);
    else pthread_mutex_unlock(m->repo_mu);
}

sc_repo *mcp_repo_at(mcp_server *m, size_t i) { return i == 0 ? m->repo : sc_workspace_repo(m->ws, i); }

const char *mcp_repo_name(const mcp_server *m, size_t i) {
    return m->ws && m->n_repos > 1 ? sc_workspace_name(m->ws, i) : NULL; /* one repository: no name to give */
}

/* sc_repo_options.progress of a run: copy the numbers of the repository
** being updated under state_mu. */
static void mcp__progress(void *arg, const sc_repo_progress *p) {
    mcp_server *m = arg;
    pthread_mutex_lock(&m->state_mu);
    if (m->current >= 0) {
        mcp_run *r = &m->runs[m->current];
        r->progress = *p;
        snprintf(r->stage, sizeof r->stage, "%s", p->stage ? p->stage : "");
        r->progress.stage = NULL;
    }
    pthread_mutex_unlock(&m->state_mu);
}

/* Learn the index's model id from its stats (repo_mu held). */
static void mcp__learn_model(mcp_server *m) {
    char *stats = NULL;
    if (sc_repo_stats_json(m->repo, &stats) != SC_OK) return;
    json_t *o = json_loads(stats, 0, NULL);
    sc_free(stats);
    const char *id = json_string_value(json_object_get(json_object_get(o, "model"), "id"));
    pthread_mutex_lock(&m->state_mu);
    if (id) snprintf(m->model_id, sizeof m->model_id, "%s", id);
    pthread_mutex_unlock(&m->state_mu);
    json_decref(o);
}

/* The locks a run holds around repository i, for sc_repo_set_yield. */
typedef struct mcp_held {
    mcp_server *m;
    size_t i;
} mcp_held;

/* Release the run's lock of its repository (a switch's backfill lets searches in). */
static void mcp__held_unlock(void *arg) {
    mcp_held *h = arg;
    mcp_repo_unlock_at(h->m, h->i);
}

/* Take it again. */
static void mcp__held_lock(void *arg) {
    mcp_held *h = arg;
    if (h->i) sc_workspace_lock(h->m->ws, h->i);
    else pthread_mutex_lock(h->m->repo_mu);
}

/* Update repository i (its lock held) and record the run. */
static sc_status mcp__run_one(mcp_server *m, size_t i) {
    sc_repo *repo = mcp_repo_at(m, i);
    pthread_mutex_lock(&m->state_mu);
    mcp_run *r = &m->runs[i];
    memset(&r->progress, 0, sizeof r->progress);
    snprintf(r->stage, sizeof r->stage, "start");
    r->started = mcp__wall();
    r->started_mono = util_now();
    pthread_mutex_unlock(&m->state_mu);
    sc_repo_set_progress(repo, mcp__progress, m);
    mcp_held held = {m, i};
    sc_repo_set_yield(repo, mcp__held_unlock, mcp__held_lock, &held);
    sc_repo_summary sum;
    memset(&sum, 0, sizeof sum);
    sc_status rc = sc_repo_update(repo, &sum);
    sc_repo_set_yield(repo, NULL, NULL, NULL);
    sc_repo_set_progress(repo, NULL, NULL);
    char err[512] = "";
    if (rc != SC_OK) snprintf(err, sizeof err, "%s", sc_repo_errmsg(repo));
    if (rc == SC_OK && i == 0) mcp__learn_model(m);
    pthread_mutex_lock(&m->state_mu);
    r->rc = rc;
    r->summary = sum;
    r->finished = mcp__wall();
    r->runs++;
    snprintf(r->error, sizeof r->error, "%s", err);
    pthread_mutex_unlock(&m->state_mu);
    return rc;
}

/* The background run: sc_repo_update of each queued repository in turn
** under that repository's lock, until none is queued (reindex may queue
** more meanwhile). Before taking the lock of repository i > 0 it passes
** through repo_mu, so that a workspace search that holds repo_mu and saw i
** idle takes i's lock before the run does. */
static void *mcp__run_main(void *arg) {
    mcp_server *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->state_mu);
        size_t i = 0;
        while (i < m->n_repos && !m->queued[i]) i++;
        if (i == m->n_repos) { /* nothing left: the thread ends (reindex starts another) */
            m->current = -1;
            __atomic_store_n(&m->indexing, 0, __ATOMIC_RELEASE);
            pthread_mutex_unlock(&m->state_mu);
            return NULL;
        }
        m->queued[i] = false;
        m->current = (int)i; /* from now on calls on i see it busy before the lock is taken */
        pthread_mutex_unlock(&m->state_mu);
        pthread_mutex_lock(m->repo_mu);
        if (i) {
            sc_workspace_lock(m->ws, i);
            pthread_mutex_unlock(m->repo_mu);
        }
        sc_status rc = mcp__run_one(m, i);
        mcp_repo_unlock_at(m, i);
        pthread_mutex_lock(&m->state_mu);
        m->current = -1;
        if (rc == SC_INTERRUPTED) memset(m->queued, 0, sizeof m->queued); /* stopping: the rest stay as they were */
        pthread_mutex_unlock(&m->state_mu);
    }
}

sc_status mcp_server_reindex(mcp_server *m, int repo) {
    if (!m->repo || repo < -1 || (repo >= 0 && (size_t)repo >= m->n_repos)) return SC_MISUSE;
    pthread_mutex_lock(&m->state_mu);
    size_t n_new = 0;
    for (size_t i = 0; i < m->n_repos; i++) {
        if ((repo >= 0 && (size_t)repo != i) || m->queued[i] || m->current == (int)i) continue;
        m->queued[i] = true;
        n_new++;
        /* a queued repository shows the run from now on (index_status, progress) */
        memset(&m->runs[i].progress, 0, sizeof m->runs[i].progress);
        snprintf(m->runs[i].stage, sizeof m->runs[i].stage, "queued");
        m->runs[i].started = mcp__wall();
        m->runs[i].started_mono = util_now();
    }
    if (!n_new) { /* every one asked for is being updated or queued already */
        pthread_mutex_unlock(&m->state_mu);
        return SC_BUSY;
    }
    if (__atomic_load_n(&m->indexing, __ATOMIC_ACQUIRE)) { /* the running thread takes them in turn */
        pthread_mutex_unlock(&m->state_mu);
        return SC_OK;
    }
    bool join = m->thread_made; /* the last run's thread ended (indexing was clear): reap it */
    m->thread_made = false;
    __atomic_store_n(&m->indexing, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&m->state_mu);
    if (join) pthread_join(m->bg_thread, NULL);
    pthread_mutex_lock(&m->state_mu);
    int rc = pthread_create(&m->bg_thread, NULL, mcp__run_main, m);
    m->thread_made = rc == 0;
    if (rc != 0) {
        memset(m->queued, 0, sizeof m->queued);
        __atomic_store_n(&m->indexing, 0, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&m->state_mu);
    return rc == 0 ? SC_OK : SC_ERROR;
}

bool mcp_server_indexing(mcp_server *m) { return __atomic_load_n(&m->indexing, __ATOMIC_ACQUIRE) != 0; }

/* RFC 3339 UTC of a wall-clock time (seconds since the epoch). */
static json_t *mcp__time(double t) {
    if (t <= 0) return json_null();
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

/* The progress of run r (state_mu held), naming repository i when a workspace is served. */
static json_t *mcp__progress_of(mcp_server *m, size_t i) {
    const mcp_run *r = &m->runs[i];
    const sc_repo_progress *p = &r->progress;
    json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:f}", "stage", r->stage, "files_total", (json_int_t)p->files_total,
                          "files_done", (json_int_t)p->files_done, "entities", (json_int_t)p->entities, "embedded",
                          (json_int_t)p->embedded, "seconds",
                          r->started > 0 ? util_now() - r->started_mono : 0.0);
    if (o && mcp_repo_name(m, i)) json_object_set_new(o, "repo", json_string(mcp_repo_name(m, i)));
    return o;
}

json_t *mcp_progress_json(mcp_server *m, size_t i) {
    pthread_mutex_lock(&m->state_mu);
    json_t *o = mcp__progress_of(m, i);
    pthread_mutex_unlock(&m->state_mu);
    return o;
}

/* files, model, entities and last_index of repository i into o (every lock held). */
static void mcp__status_counts(mcp_server *m, size_t i, json_t *o) {
    sc_repo *repo = mcp_repo_at(m, i);
    sc_repo_fresh f;
    sc_status rc = sc_repo_freshness(repo, &f);
    if (rc == SC_OK)
        json_object_set_new(o, "files",
                            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "indexed", (json_int_t)f.files_indexed, "seen",
                                      (json_int_t)f.files_seen, "stale", (json_int_t)f.files_stale, "new",
                                      (json_int_t)f.files_new, "changed", (json_int_t)f.files_changed, "deleted",
                                      (json_int_t)f.files_deleted));
    else
        json_object_set_new(o, "files_error", json_string(sc_repo_errmsg(repo)));
    char *stats = NULL;
    if (sc_repo_stats_json(repo, &stats) == SC_OK) {
        json_t *s = json_loads(stats, 0, NULL);
        json_t *model = json_object_get(s, "model");
        if (model) json_object_set(o, "model", model);
        json_t *ent = json_object_get(s, "entities");
        if (ent) json_object_set(o, "entities", ent);
        json_t *last = json_object_get(s, "last_index");
        if (last) json_object_set(o, "last_index", last);
        json_t *sw = json_object_get(s, "switch"); /* a model switch under way: from, to, done of total */
        if (sw) {
            json_object_set(o, "switch", sw);
            json_object_set_new(o, "switching",
                                json_sprintf("switching from %s to %s: %lld of %lld entities",
                                             json_string_value(json_object_get(sw, "from")),
                                             json_string_value(json_object_get(sw, "to")),
                                             (long long)json_integer_value(json_object_get(sw, "done")),
                                             (long long)json_integer_value(json_object_get(sw, "total"))));
        }
        const char *id = json_string_value(json_object_get(model, "id"));
        pthread_mutex_lock(&m->state_mu);
        if (id && i == 0) snprintf(m->model_id, sizeof m->model_id, "%s", id);
        pthread_mutex_unlock(&m->state_mu);
        json_decref(s);
    }
    sc_free(stats);
}

json_t *mcp_index_status(mcp_server *m, size_t i) {
    pthread_mutex_lock(&m->state_mu);
    bool mine = m->current == (int)i || m->queued[i]; /* this repository's update is going or to come */
    const char *state = !mine ? "idle" : m->current == (int)i ? "indexing" : "queued";
    pthread_mutex_unlock(&m->state_mu);
    json_t *o = json_pack("{s:s,s:s}", "state", state, "root", sc_repo_root(mcp_repo_at(m, i)));
    if (mcp_repo_name(m, i)) json_object_set_new(o, "repo", json_string(mcp_repo_name(m, i)));
    /* files and entities: with the repository (a model switch's backfill lets this in between groups) */
    bool counted = mcp_repo_lock_at(m, i);
    if (counted) {
        mcp__status_counts(m, i, o);
        mcp_repo_unlock_at(m, i);
    } else {
        json_object_set_new(o, "partial", json_true());
        json_object_set_new(o, "note", json_string("files and entities are counted when the run ends; search_code "
                                                   "answers from what is indexed so far (keyword, partial)"));
    }
    if (mine) json_object_set_new(o, "progress", mcp_progress_json(m, i));
    pthread_mutex_lock(&m->state_mu);
    const mcp_run *r = &m->runs[i];
    if (!counted && i == 0 && *m->model_id) json_object_set_new(o, "model", json_pack("{s:s}", "id", m->model_id));
    if (r->runs) {
        const sc_repo_summary *s = &r->summary;
        json_t *last = json_pack("{s:o,s:o,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "started", mcp__time(r->started),
                                 "finished", mcp__time(r->finished), "status", sc_status_str(r->rc),
                                 "files_seen", (json_int_t)s->files_seen, "files_parsed", (json_int_t)s->files_parsed,
                                 "files_deleted", (json_int_t)s->files_deleted, "files_failed",
                                 (json_int_t)s->files_failed, "entities_added", (json_int_t)s->entities_added,
                                 "entities_removed", (json_int_t)s->entities_removed, "embeddings_failed",
                                 (json_int_t)s->embeddings_failed, "seconds", s->seconds_total);
        if (r->rc != SC_OK) json_object_set_new(last, "error", json_string(r->error));
        json_object_set_new(o, "last_run", last);
        json_t *errors = json_array();
        if (r->rc != SC_OK) json_array_append_new(errors, json_string(r->error));
        if (s->files_failed)
            json_array_append_new(errors, json_sprintf("%llu files could not be read or parsed",
                                                       (unsigned long long)s->files_failed));
        if (s->embeddings_failed)
            json_array_append_new(errors, json_sprintf("%llu texts got no vector", (unsigned long long)s->embeddings_failed));
        json_object_set_new(o, "errors", errors);
    } else {
        json_object_set_new(o, "last_run", json_null());
        json_object_set_new(o, "errors", json_array());
    }
    pthread_mutex_unlock(&m->state_mu);
    return o;
}

/* A store filter {"must": [{key: language, match: {any}}, ...]} (owned text) or NULL for none. */
static char *mcp__filter(const sc_code_query *q) {
    if (!q->n_langs && !q->n_kinds) return NULL;
    json_t *must = json_array();
    const char *keys[2] = {"language", "kind"};
    const char *const *vals[2] = {q->langs, q->kinds};
    size_t ns[2] = {q->n_langs, q->n_kinds};
    for (int k = 0; k < 2; k++) {
        if (!ns[k]) continue;
        json_t *any = json_array();
        for (size_t i = 0; i < ns[k]; i++) json_array_append_new(any, json_string(vals[k][i]));
        json_array_append_new(must, json_pack("{s:s,s:{s:o}}", "key", keys[k], "match", "any", any));
    }
    json_t *f = json_pack("{s:o}", "must", must);
    char *s = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    return s;
}

/* A string field of o, "" when absent. */
static const char *mcp__str(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* true when path matches one of the globs (or there are none); '*' crosses '/'. */
static bool mcp__path_ok(const sc_code_query *q, const char *path) {
    for (size_t i = 0; i < q->n_excludes; i++)
        if (!fnmatch(q->excludes[i], path, 0)) return false;
    if (!q->n_paths) return true;
    for (size_t i = 0; i < q->n_paths; i++)
        if (!fnmatch(q->paths[i], path, 0)) return true;
    return false;
}

json_t *mcp_partial_search(mcp_server *m, size_t i, const char *text, const sc_code_query *q, uint32_t want,
                           char *msg, size_t msg_size) {
    char *filter = mcp__filter(q);
    uint32_t fetch = want * (q->n_paths || q->n_excludes ? 4 : 1);
    sc_search_request req = {.vector_name = MCP_COLLECTION, .text = text, .limit = fetch, .filter_json = filter,
                             .with = {.payload = true}};
    sc_record_list *l = NULL;
    sc_db *db = sc_repo_db(mcp_repo_at(m, i)); /* its store only: no repository call without the locks */
    sc_status rc = sc_points_search(db, MCP_COLLECTION, &req, &l);
    free(filter);
    if (rc != SC_OK) {
        snprintf(msg, msg_size, "%s", sc_db_errmsg(db));
        return NULL;
    }
    json_t *items = json_array();
    for (size_t k = 0; k < l->n && json_array_size(items) < want; k++) {
        json_t *p = json_loads(l->items[k].payload_json ? l->items[k].payload_json : "{}", 0, NULL);
        const char *path = json_string_value(json_object_get(p, "path"));
        if (path && mcp__path_ok(q, path)) {
            json_t *h = json_pack("{s:s,s:[I,I],s:s,s:s,s:f}", "path", path, "lines",
                                  json_integer_value(json_object_get(p, "start_line")),
                                  json_integer_value(json_object_get(p, "end_line")), "kind",
                                  mcp__str(p, "kind"), "name",
                                  mcp__str(p, "qualified_name"), "score",
                                  (double)l->items[k].score);
            const char *sig = json_string_value(json_object_get(p, "signature"));
            if (h && sig && *sig) json_object_set_new(h, "signature", json_string(sig));
            if (h && mcp_repo_name(m, i)) json_object_set_new(h, "repo", json_string(mcp_repo_name(m, i)));
            if (h) json_array_append_new(items, h);
        }
        json_decref(p);
    }
    sc_record_list_free(l);
    return items;
}
