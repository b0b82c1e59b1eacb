/*
** repo/repo.c: opening and closing an indexed repository, its state
** database, the model and embedding cache it uses, query filters, result building and statistics.
*/
#include "repo/repo_int.h"
#include "records/records.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


/* ==== Errors and state ==== */

sc_status repo_fail(sc_repo *r, sc_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

const char *sc_repo_errmsg(const sc_repo *r) { return r ? r->errmsg : "no repository"; }
const char *sc_repo_root(const sc_repo *r) { return r->root; }
const char *sc_repo_store_dir(const sc_repo *r) { return r->store_dir; }
sc_db *sc_repo_db(sc_repo *r) { return r ? r->db : NULL; }

sc_status sc_repo_records_open(sc_repo *r, sc_embedder *emb, const sc_records_options *opt, sc_records **out,
                               char **errmsg) {
    if (!r || !out) return SC_MISUSE;
    if (!r->remote_store) return sc_records_open(r->db, emb, opt, out, errmsg);
    /* a handle of its own on the Qdrant store: the records' requests and
    ** counters are theirs, and a reader on another thread shares nothing */
    backend *be = NULL;
    sc_err err = {0};
    if (backend_clone(r->be, &be, &err) != SC_OK) return util_errmsg_out(errmsg, err.code, err.msg);
    return records_open_backend(be, emb, opt, out, errmsg);
}

sc_status sc_repo_count_entities(sc_repo *r, uint64_t *out) {
    if (!r || !out) return SC_MISUSE;
    if (!backend_collection_exists(r->be, r->coll)) {
        *out = 0;
        return SC_OK;
    }
    sc_status rc = backend_points_count(r->be, r->coll, NULL, out);
    return rc == SC_OK ? rc : repo_fail(r, rc, "%s", backend_errmsg(r->be));
}

sc_status sc_repo_embedder(sc_repo *r, sc_embedder **out) {
    if (!r || !out) return SC_MISUSE;
    sc_status rc = repo_embedder_ready(r);
    if (rc == SC_OK) *out = r->pe.emb;
    return rc;
}

void sc_repo_set_progress(sc_repo *r, void (*fn)(void *arg, const sc_repo_progress *p), void *arg) {
    r->opt.progress = fn;
    r->opt.progress_arg = arg;
}

void sc_repo_set_yield(sc_repo *r, void (*unlock)(void *arg), void (*lock)(void *arg), void *arg) {
    if (r->updating) return; /* a user let in by a yield: the update keeps its caller's callbacks */
    r->yield_unlock = unlock && lock ? unlock : NULL;
    r->yield_lock = unlock && lock ? lock : NULL;
    r->yield_arg = arg;
}

sc_status repo_fail_err(sc_repo *r, sc_status rc, const sc_err *err) {
    return repo_fail(r, rc, "%s", err->code != SC_OK && err->msg[0] ? err->msg : sc_status_str(rc));
}

sc_status repo_state_exec(sc_repo *r, const char *sql) {
    sc_err err = {0};
    sc_status rc = pipeline_state_exec(r->state, sql, &err);
    return rc == SC_OK ? SC_OK : repo_fail_err(r, rc, &err);
}

sc_status repo_embedder_ready(sc_repo *r) {
    sc_err err = {0};
    sc_status rc = pipeline_embedder_ready(&r->pe, &err);
    return rc == SC_OK ? SC_OK : repo_fail_err(r, rc, &err);
}

sc_status sc_repo_update(sc_repo *r, sc_repo_summary *out) {
    if (!r) return SC_MISUSE;
    if (r->updating) /* another update let this caller in from its yield */
        return repo_fail(r, SC_BUSY, "an update of this index is running (a model switch); try again when it ends");
    sc_err err = {0};
    pipeline_index ix = {.root = r->root, .store_dir = r->store_dir, .opt = r->opt, .be = r->be, .coll = r->coll,
                         .vector = r->vector, .state = r->state,
                         .pe = &r->pe, .template_variant = r->template_variant, .err = &err};
    sc_repo_summary sum;
    memset(&sum, 0, sizeof sum);
    double t0 = util_now();
    r->updating = true;
    sc_status rc = pipeline_update(&ix, &sum);
    if (rc != SC_OK) repo_fail_err(r, rc, &err);
    else if (!r->remote_store) rc = repo_switch_run(r, &sum); /* a model switch, when one is pending */
    r->updating = false;
    sum.seconds_total = util_now() - t0;
    if (out) *out = sum;
    return rc;
}

char *repo_meta_get(sc_repo *r, const char *key) { return pipeline_meta_get(r->state, key); }

sc_status repo_meta_set(sc_repo *r, const char *key, const char *value) {
    sc_err err = {0};
    sc_status rc = pipeline_meta_set(r->state, key, value, &err);
    return rc == SC_OK ? SC_OK : repo_fail_err(r, rc, &err);
}

/* ==== Opening ==== */

sc_repo_options sc_repo_options_default(void) {
    sc_repo_options o;
    memset(&o, 0, sizeof o);
    return o;
}

/* The store folder, with the folders above it (index --store a/b/c). */
static sc_status repo__mkdir(sc_repo *r, const char *p) {
    if (util_mkdir_p(p) != 0)
        return repo_fail(r, SC_IOERR, "cannot create %s: %s", p, strerror(errno));
    return SC_OK;
}

/* The refusal of a search (or any open that may not rebuild) given a model
** other than the index's current one, saying what to do. */
static sc_status repo__mismatch(sc_repo *r, const char *old, const char *tmpl) {
    char *next = repo_meta_get(r, "next_model_id");
    if (next && !strcmp(next, r->pe.model_id)) {
        repo_fail(r, SC_INVALID,
                  "this index is switching from %s to %s and searches use %s until the switch completes; search "
                  "without --model (or the provider options), and run 'semcode index' to finish the switch",
                  old, next, old);
    } else {
        repo_fail(r, SC_INVALID,
                  "this index was built with %s (text template %s), not %s; pass the model or provider it was "
                  "built with (--model, --provider), or run 'semcode index' with the new one to switch the index "
                  "to it (searches keep using the old one until it is done)",
                  old ? old : "an unknown model", tmpl ? tmpl : "?", r->pe.model_id);
    }
    free(next);
    return SC_INVALID;
}

/* Make sure the collection exists and matches the model. Another model
** on the embedded store (same text template) becomes the target of a
** switch (switch.c); otherwise a different model starts the index over
** (its vectors are not comparable). */
static sc_status repo__ensure_collection(sc_repo *r) {
    repo_vector_load(r);
    char *old = repo_meta_get(r, "model_id");
    char *tmpl = repo_meta_get(r, "template_version");
    bool same_tmpl = tmpl && !strcmp(tmpl, PIPELINE_TEMPLATE_VERSION);
    bool same = old && !strcmp(old, r->pe.model_id) && same_tmpl;
    bool exists = backend_collection_exists(r->be, r->coll);
    char tag[400];
    snprintf(tag, sizeof tag, "%s/%s", r->pe.model_id, PIPELINE_TEMPLATE_VERSION);
    if (exists && r->remote_store) {
        /* a shared collection says what made its vectors: the same model is adopted (a second machine, or a
        ** lost state.db, re-sends its points by stable id) rather than wiped */
        backend_collection_info ci;
        if (backend_collection_info_get(r->be, r->coll, &ci) == SC_OK && ci.model_tag[0])
            same = !strcmp(ci.model_tag, tag) && ci.dim == r->pe.dim;
    }
    if (!same && exists && !r->opt.allow_rebuild) {
        sc_status rc = repo__mismatch(r, old, tmpl);
        free(old);
        free(tmpl);
        return rc;
    }
    sc_status rc = SC_OK;
    if (!same && exists && same_tmpl && old && !r->remote_store) {
        rc = repo_switch_begin(r, old);
        if (rc != SC_NOTFOUND) { /* switching (the current generation serves meanwhile), or failed */
            free(old);
            free(tmpl);
            return rc;
        }
    } else if (same && exists && !r->remote_store && r->opt.allow_rebuild && r->model_given) {
        rc = repo_switch_cancel(r); /* the current model given again: no switch */
    }
    free(old);
    free(tmpl);
    if (rc != SC_OK && rc != SC_NOTFOUND) return rc;
    if (!same || !exists) {
        if (exists && backend_collection_delete(r->be, r->coll) != SC_OK)
            return repo_fail(r, SC_IOERR, "%s", backend_errmsg(r->be));
        rc = repo_state_exec(r, "DELETE FROM files;"
                                "DELETE FROM meta WHERE key IN ('vector', 'dim', 'reclaim', 'next_model_id',"
                                " 'next_vector', 'next_dim', 'next_provider', 'next_model_path', 'next_remote')");
        if (rc != SC_OK) return rc;
        snprintf(r->vector, sizeof r->vector, "%s", PIPELINE_VECTOR);
        char fmt[16];
        snprintf(fmt, sizeof fmt, "%d", PIPELINE_INDEX_FORMAT_HASHES); /* the first generation again */
        if ((rc = repo_meta_set(r, "index_format", fmt)) != SC_OK) return rc;
        static const char *const kw_fields[] = {"path", "language", "kind", "text_hash", "qualified_name"};
        static const char *const int_fields[] = {"start_line", "end_line", "lines"};
        backend_collection_params cp = {.vector_name = PIPELINE_VECTOR, .dim = r->pe.dim,
                                        .distance = SC_DISTANCE_COSINE, .keyword = true, .keyword_fields = kw_fields,
                                        .n_keyword_fields = sizeof kw_fields / sizeof *kw_fields,
                                        .integer_fields = int_fields,
                                        .n_integer_fields = sizeof int_fields / sizeof *int_fields,
                                        .model_tag = tag};
        /* the embedded store has indexed the first four from the start (its planner scans the rest); a
        ** Qdrant cluster gets an index for every field a query filters on */
        if (!r->remote_store) {
            cp.n_keyword_fields = 4;
            cp.n_integer_fields = 0;
        }
        if (backend_collection_create(r->be, r->coll, &cp) != SC_OK)
            return repo_fail(r, SC_IOERR, "%s", backend_errmsg(r->be));
        if ((rc = repo_meta_set(r, "model_id", r->pe.model_id)) != SC_OK) return rc;
        if ((rc = repo_meta_set(r, "template_version", PIPELINE_TEMPLATE_VERSION)) != SC_OK) return rc;
    } else if (r->remote_store) {
        rc = repo_meta_set(r, "model_id", r->pe.model_id); /* an adopted collection */
        if (rc == SC_OK) rc = repo_meta_set(r, "template_version", PIPELINE_TEMPLATE_VERSION);
        if (rc != SC_OK) return rc;
    } else if ((rc = repo_switch_reclaim(r)) != SC_OK) {
        return rc; /* finish what a swap left (old vectors, payload model) */
    }
    return SC_OK;
}

/* The store location: *sd a folder, or a qdrant:// URL whose settings go
** to *c (after those of the file $SEMCODE_CONFIG, if set), *sd then NULL so
** the folder is the default ROOT/.semcode. */
static sc_status repo__store_config(sc_repo *r, const char **sd, backend_config *c, bool *url_given) {
    sc_err err = {0};
    const char *file = getenv("SEMCODE_CONFIG");
    if (file && *file && backend_config_load(file, c, &err) != SC_OK) return repo_fail_err(r, SC_INVALID, &err);
    if (c->kind == BACKEND_KIND_QDRANT) *url_given = true; /* the file names the store */
    if (*sd && backend_is_url(*sd)) {
        if (backend_url_parse(*sd, c, &err) != SC_OK) return repo_fail_err(r, SC_INVALID, &err);
        *url_given = true;
        const char *q = strchr(*sd, '?');
        if (q && !(r->store_query = util_strdup(q))) return repo_fail(r, SC_NOMEM, "out of memory");
        *sd = NULL;
    } else if (c->kind == BACKEND_KIND_QDRANT && !*sd) {
        *sd = NULL;
    } else if (!*sd && c->dir) {
        *sd = c->dir;
    }
    return SC_OK;
}

/* The backend of the code points: Qdrant when configured or recorded in
** meta store_url by the run that built the index, else the embedded store. */
static sc_status repo__backend_open(sc_repo *r, backend_config *c, bool url_given) {
    sc_err err = {0};
    /* the location and the settings its URL carried (ca, timeouts, shards, ...) */
    char *rec = url_given ? NULL : repo_meta_get(r, "store_url");
    char *query = rec && *rec ? repo_meta_get(r, "store_url_query") : NULL;
    char *full = NULL;
    if (rec && *rec) {
        size_t n = strlen(rec) + (query ? strlen(query) : 0) + 1;
        if (!(full = malloc(n))) {
            free(rec);
            free(query);
            return repo_fail(r, SC_NOMEM, "out of memory");
        }
        snprintf(full, n, "%s%s", rec, query ? query : "");
    }
    free(rec);
    free(query);
    if (full && backend_url_parse(full, c, &err) != SC_OK) {
        free(full);
        return repo_fail_err(r, SC_INVALID, &err);
    }
    free(full);
    sc_status rc = c->kind == BACKEND_KIND_QDRANT ? backend_qdrant_new(c, &r->be, &err)
                                                  : backend_embedded_new(r->db, &r->be, &err);
    if (rc != SC_OK) return repo_fail_err(r, rc, &err);
    r->remote_store = c->kind == BACKEND_KIND_QDRANT;
    r->coll = backend_collection(r->be, PIPELINE_COLLECTION);
    if (r->remote_store && url_given && r->opt.allow_rebuild) {
        char *prev = repo_meta_get(r, "store_url");
        bool moved = !prev || strcmp(prev, backend_location(r->be));
        free(prev);
        /* a new location starts empty: every file is indexed into it */
        if (moved && ((rc = repo_state_exec(r, "DELETE FROM files")) != SC_OK ||
                      (rc = repo_meta_set(r, "store_url", backend_location(r->be))) != SC_OK))
            return rc;
        if ((rc = repo_meta_set(r, "store_url_query", r->store_query ? r->store_query : "")) != SC_OK) return rc;
    }
    return SC_OK;
}

/* The start-up checks of the configuration (backend_config_check, with a
** reachability probe for a remote store): errors fail the open, warnings
** go to the logger. */
static sc_status repo__backend_check(sc_repo *r, const backend_config *c) {
    backend_check chk;
    backend_config cc = *c;
    if (!r->remote_store) cc.kind = BACKEND_KIND_EMBEDDED;
    backend_config_check(&cc, r->pe.dim, r->remote_store, &chk);
    if (chk.cluster[0]) util_log(&r->opt.logger, SC_LOG_LEVEL_DEBUG, "store %s", chk.cluster);
    for (uint32_t i = 0; i < chk.n; i++) {
        const backend_diag *d = &chk.diags[i];
        if (d->error) return repo_fail(r, SC_INVALID, "store configuration: %s: %s", d->field, d->msg);
        util_log(&r->opt.logger, SC_LOG_LEVEL_WARN, "store configuration: %s: %s", d->field, d->msg);
    }
    return SC_OK;
}

sc_status sc_repo_open(const char *root, const sc_repo_options *opt, sc_repo **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!root || !out) return util_errmsg_out(errmsg, SC_MISUSE, "sc_repo_open: NULL root or out");
    *out = NULL;
    sc_repo *r = calloc(1, sizeof *r);
    if (!r) return util_errmsg_out(errmsg, SC_NOMEM, "out of memory opening the repository");
    r->opt = opt ? *opt : sc_repo_options_default();
    sc_status rc = SC_OK;
    char buf[PATH_MAX];
    struct stat sb;
    if (!realpath(root, buf) || stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        rc = repo_fail(r, SC_NOTFOUND, "%s is not a directory%s%s", root, errno ? ": " : "", errno ? strerror(errno) : "");
        goto fail;
    }
    r->root = util_strdup(buf);
    const char *sd = r->opt.store_dir ? r->opt.store_dir : getenv("SEMCODE_STORE");
    backend_config bcfg = backend_config_default();
    bool url_given = false;
    if ((rc = repo__store_config(r, &sd, &bcfg, &url_given)) != SC_OK) goto fail;
    char sdbuf[PATH_MAX + 16];
    if (!sd || !*sd) {
        snprintf(sdbuf, sizeof sdbuf, "%s/.semcode", r->root);
        sd = sdbuf;
    }
    if ((rc = repo__mkdir(r, sd)) != SC_OK) goto fail;
    if (!realpath(sd, buf)) {
        rc = repo_fail(r, SC_IOERR, "cannot resolve %s: %s", sd, strerror(errno));
        goto fail;
    }
    r->store_dir = util_strdup(buf);
    r->model_given = r->opt.model_path || r->opt.provider != SC_REPO_PROVIDER_AUTO || r->opt.remote;
    r->opt.store_dir = NULL;
    r->opt.model_path = NULL;
    r->opt.remote = NULL;
    char p[PATH_MAX + 32];
    /* state.db */
    snprintf(p, sizeof p, "%s/state.db", r->store_dir);
    if (sqlite3_open(p, &r->state) != SQLITE_OK) {
        rc = repo_fail(r, SC_IOERR, "cannot open %s: %s", p, r->state ? sqlite3_errmsg(r->state) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(r->state, 5000);
    if ((rc = repo_state_exec(r, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")) != SC_OK) goto fail;
    /* the store (it refuses a newer format, upgrades an older one) */
    snprintf(p, sizeof p, "%s/store", r->store_dir);
    char *err = NULL;
    sc_db_options dbo = sc_db_options_default();
    dbo.logger = r->opt.logger;
    sc_status dbrc = sc_db_open(p, &dbo, &r->db, &err);
    if (dbrc != SC_OK) {
        rc = repo_fail(r, dbrc == SC_UNSUPPORTED || dbrc == SC_CORRUPT ? dbrc : SC_IOERR, "%s",
                       err ? err : "out of memory");
        sc_free(err);
        goto fail;
    }
    /* state.db's tables, created or upgraded once the store's lock is held */
    sc_err serr = {0};
    int from = 0;
    if ((rc = pipeline_state_prepare(r->state, r->store_dir, &from, &serr)) != SC_OK) {
        repo_fail_err(r, rc, &serr);
        goto fail;
    }
    if (from == 1)
        util_log(&r->opt.logger, SC_LOG_LEVEL_INFO,
                 "index %s: upgraded from format 1 to %d (xxHash hashes); the next 'semcode index' re-reads every "
                 "file once and reuses the stored vectors",
                 r->store_dir, PIPELINE_INDEX_FORMAT_HASHES);
    if ((rc = repo__backend_open(r, &bcfg, url_given)) != SC_OK) goto fail;
    /* the provider: local model or remote endpoint */
    sc_err perr = {0};
    r->pe.state = r->state;
    r->pe.connect_now = r->opt.allow_rebuild;
    if ((rc = pipeline_embedder_open(&r->pe, opt, &perr)) != SC_OK) {
        repo_fail_err(r, rc, &perr);
        goto fail;
    }
    if (r->opt.use_cache) {
        snprintf(p, sizeof p, "%s/cache.db", r->store_dir);
        if (sc_embed_cache_open(p, 0, &r->pe.cache, NULL) == SC_OK) {
            sc_embed_cache_set_logger(r->pe.cache, &r->opt.logger);
            if (r->pe.emb) sc_embedder_set_cache(r->pe.emb, r->pe.cache);
        }
    }
    if ((rc = repo__backend_check(r, &bcfg)) != SC_OK) goto fail;
    if ((rc = repo__ensure_collection(r)) != SC_OK) goto fail;
    if ((rc = repo_meta_set(r, "root", r->root)) != SC_OK) goto fail;
    if (r->opt.allow_rebuild && (rc = pipeline_embedder_record(&r->pe, &perr)) != SC_OK) {
        repo_fail_err(r, rc, &perr);
        goto fail;
    }
    backend_config_free(&bcfg);
    *out = r;
    return SC_OK;
fail:
    backend_config_free(&bcfg);
    if (errmsg) *errmsg = util_strdup(r->errmsg);
    sc_repo_close(r);
    return rc;
}

void sc_repo_close(sc_repo *r) {
    if (!r) return;
    pipeline_embedder_close(&r->pe);
    pipeline_embedder_close(&r->pe_next);
    sc_embed_cache_close(r->pe.cache);
    if (r->be && r->remote_store) {
        backend_stats bs = backend_get_stats(r->be);
        util_log(&r->opt.logger, SC_LOG_LEVEL_DEBUG,
                 "store %s: %llu requests (%llu retries), %llu bytes sent, %llu received", backend_location(r->be),
                 (unsigned long long)bs.requests, (unsigned long long)bs.retries,
                 (unsigned long long)bs.bytes_sent, (unsigned long long)bs.bytes_received);
    }
    backend_free(r->be);
    sc_db_close(r->db);
    if (r->state) sqlite3_close(r->state);
    free(r->root);
    free(r->store_dir);
    free(r->store_query);
    free(r);
}

char *sc_repo_store_root(const char *store_dir) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/state.db", store_dir);
    sqlite3 *db = NULL;
    char *root = NULL;
    if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='root'", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            root = util_strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return root;
}

char *sc_repo_find_root(const char *path) {
    char buf[PATH_MAX];
    if (!realpath(path ? path : ".", buf)) return NULL;
    for (;;) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/.semcode/state.db", buf);
        struct stat sb;
        if (stat(p, &sb) == 0) return util_strdup(buf);
        char *slash = strrchr(buf, '/');
        if (!slash || slash == buf) break;
        *slash = '\0';
    }
    return NULL;
}

/* ==== Query filters ==== */

static json_t *repo__match_any(const char *key, const char *const *v, size_t n) {
    json_t *any = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(any, json_string(v[i]));
    return json_pack("{s:s, s:{s:o}}", "key", key, "match", "any", any);
}

char *repo_filter_json(sc_repo *r, const sc_code_query *q, bool *empty) {
    *empty = false;
    json_t *must = json_array();
    if (q->n_langs) json_array_append_new(must, repo__match_any("language", q->langs, q->n_langs));
    if (q->n_kinds) json_array_append_new(must, repo__match_any("kind", q->kinds, q->n_kinds));
    if (q->n_paths || q->n_excludes) {
        /* Globs are matched against the indexed files; the filter lists the paths. */
        json_t *any = json_array();
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(r->state, "SELECT path FROM files WHERE n_entities > 0", -1, &st, NULL) == SQLITE_OK) {
            while (sqlite3_step(st) == SQLITE_ROW) {
                const char *p = (const char *)sqlite3_column_text(st, 0);
                bool in = q->n_paths == 0;
                for (size_t i = 0; i < q->n_paths && !in; i++)
                    in = pipeline_glob_match(q->paths[i], p);
                for (size_t i = 0; i < q->n_excludes && in; i++) in = !pipeline_glob_match(q->excludes[i], p);
                if (in) json_array_append_new(any, json_string(p));
            }
        }
        sqlite3_finalize(st);
        if (json_array_size(any) == 0) *empty = true;
        json_array_append_new(must, json_pack("{s:s, s:{s:o}}", "key", "path", "match", "any", any));
    }
    if (json_array_size(must) == 0) {
        json_decref(must);
        return NULL;
    }
    json_t *root = json_pack("{s:o}", "must", must);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

/* ==== Results ==== */

static char *repo__str(json_t *p, const char *key) {
    const char *s = json_string_value(json_object_get(p, key));
    return util_strdup(s ? s : "");
}

/* First lines of the entity from the file (at most 8 lines, 600 bytes). */
static char *repo__snippet(sc_repo *r, const char *path, uint32_t start, uint32_t end) {
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", r->root, path);
    FILE *f = fopen(p, "rb");
    if (!f) return util_strdup("");
    util_buf b = {0};
    char line[4096];
    uint32_t ln = 0, kept = 0;
    uint32_t last = end < start + 7 ? end : start + 7;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        bool whole = n && line[n - 1] == '\n';
        if (whole || feof(f)) ln++;
        if (ln >= start && ln <= last && b.len < 600) {
            util_buf_append(&b, line, n);
            kept++;
        }
        if (ln > last) break;
    }
    fclose(f);
    (void)kept;
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r')) b.data[--b.len] = '\0';
    return b.data ? b.data : util_strdup("");
}

sc_status repo_hit_from_payload(sc_repo *r, const char *payload_json, float score, sc_code_hit *h) {
    json_t *p = json_loads(payload_json ? payload_json : "{}", 0, NULL);
    if (!p) return repo_fail(r, SC_CORRUPT, "a stored payload is not JSON");
    memset(h, 0, sizeof *h);
    h->score = score;
    h->path = repo__str(p, "path");
    h->kind = repo__str(p, "kind");
    h->name = repo__str(p, "name");
    h->qualified_name = repo__str(p, "qualified_name");
    h->language = repo__str(p, "language");
    h->signature = repo__str(p, "signature");
    h->start_line = (uint32_t)json_integer_value(json_object_get(p, "start_line"));
    h->end_line = (uint32_t)json_integer_value(json_object_get(p, "end_line"));
    h->snippet = repo__snippet(r, h->path, h->start_line, h->end_line);
    json_decref(p);
    return SC_OK;
}

static void repo__hit_free(sc_code_hit *h) {
    free(h->path);
    free(h->kind);
    free(h->name);
    free(h->qualified_name);
    free(h->language);
    free(h->signature);
    free(h->snippet);
    free(h->features);
    free(h->repo);
}

void sc_code_hits_free(sc_code_hits *h) {
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) repo__hit_free(&h->items[i]);
    free(h->items);
    free(h);
}

void sc_dup_clusters_free(sc_dup_clusters *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) {
        for (size_t j = 0; j < d->items[i].n; j++) repo__hit_free(&d->items[i].items[j]);
        free(d->items[i].items);
    }
    free(d->items);
    free(d);
}

/* ==== Statistics ==== */

static uint64_t repo__du_total; /* accumulator of repo__du_add (stats run on one thread) */

static int repo__du_add(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)path;
    (void)ftw;
    if (flag == FTW_F) repo__du_total += (uint64_t)sb->st_size;
    return 0;
}

/* Bytes of every file in the store folder. */
static uint64_t repo__du(const char *dir) {
    repo__du_total = 0;
    nftw(dir, repo__du_add, 16, FTW_PHYS);
    return repo__du_total;
}

/* x rounded to the given number of decimals: statistics, not measurements
** to 17 digits (printed with 15 significant digits, 5.833 stays 5.833). */
static double repo__round(double x, int decimals) {
    double k = pow(10.0, decimals);
    return round(x * k) / k;
}

sc_status sc_repo_stats_json(sc_repo *r, char **out) {
    if (!r) return SC_MISUSE;
    if (!out) return repo_fail(r, SC_MISUSE, "sc_repo_stats_json: NULL out");
    json_t *root = json_object(), *by_lang = json_object(), *by_kind = json_object();
    uint64_t n = 0;
    sc_scroll_request req = {.limit = 2000};
    const char *keys[] = {"language", "kind"};
    req.with.payload = true;
    req.with.payload_include = keys;
    req.with.n_payload_include = 2;
    for (;;) {
        sc_record_list *l = NULL;
        sc_point_id next;
        bool more = false;
        if (backend_points_scroll(r->be, r->coll, &req, &l, &next, &more) != SC_OK) {
            json_decref(root);
            json_decref(by_lang);
            json_decref(by_kind);
            return repo_fail(r, SC_IOERR, "%s", backend_errmsg(r->be));
        }
        for (size_t i = 0; i < l->n; i++) {
            json_t *p = json_loads(l->items[i].payload_json, 0, NULL);
            const char *lang = json_string_value(json_object_get(p, "language"));
            const char *kind = json_string_value(json_object_get(p, "kind"));
            if (lang) json_object_set_new(by_lang, lang, json_integer(json_integer_value(json_object_get(by_lang, lang)) + 1));
            if (kind) json_object_set_new(by_kind, kind, json_integer(json_integer_value(json_object_get(by_kind, kind)) + 1));
            json_decref(p);
            n++;
        }
        sc_record_list_free(l);
        if (!more) break;
        req.has_offset = true;
        req.offset = next;
    }
    uint64_t disk = repo__du(r->store_dir);
    sqlite3_stmt *st = NULL;
    uint64_t n_files = 0;
    if (sqlite3_prepare_v2(r->state, "SELECT count(*) FROM files", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n_files = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    char *last = repo_meta_get(r, "last_index");
    char *last_summary = repo_meta_get(r, "last_summary");
    json_object_set_new(root, "root", json_string(r->root));
    json_object_set_new(root, "store", json_string(r->store_dir));
    const backend_caps *caps = backend_get_caps(r->be);
    json_object_set_new(root, "backend",
                        json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:I}", "kind", caps->name, "location",
                                  backend_location(r->be), "filtering", caps->filtering, "hybrid", caps->hybrid,
                                  "server_keyword", caps->server_keyword, "ranking_stage", caps->ranking_stage,
                                  "max_dim", (json_int_t)caps->max_dim));
    char *fmt = repo_meta_get(r, "index_format"); /* open made it the current one */
    json_object_set_new(root, "index_format", json_integer(fmt ? atoi(fmt) : 0));
    free(fmt);
    json_t *model = json_pack("{s:s, s:I, s:s}", "id", r->pe.model_id, "dim", (json_int_t)r->pe.dim, "provider",
                              r->pe.is_remote ? "openai" : "local");
    if (r->pe.is_remote) {
        json_object_set_new(model, "base_url", json_string(r->pe.remote.base_url));
        json_object_set_new(model, "remote_model", json_string(r->pe.remote.model));
        /* the name of the key's variable only, never the key */
        if (r->pe.remote.api_key_env) json_object_set_new(model, "api_key_env", json_string(r->pe.remote.api_key_env));
    }
    json_object_set_new(root, "model", model);
    json_t *sw = r->remote_store ? NULL : repo_switch_json(r);
    if (sw) json_object_set_new(root, "switch", sw);
    json_object_set_new(root, "files", json_integer((json_int_t)n_files));
    json_object_set_new(root, "entities", json_integer((json_int_t)n));
    json_object_set_new(root, "by_language", by_lang);
    json_object_set_new(root, "by_kind", by_kind);
    json_object_set_new(root, "store_bytes", json_integer((json_int_t)disk));
    json_object_set_new(root, "bytes_per_entity", json_real(n ? repo__round((double)disk / (double)n, 1) : 0.0));
    json_object_set_new(root, "last_index", last ? json_string(last) : json_null());
    json_t *ls = last_summary ? json_loads(last_summary, 0, NULL) : NULL;
    json_object_set_new(root, "last_run", ls ? ls : json_null());
    free(last);
    free(last_summary);
    if (r->pe.cache) {
        sc_embed_cache_stats cs = sc_embed_cache_get_stats(r->pe.cache);
        json_object_set_new(root, "cache", json_pack("{s:I}", "entries", (json_int_t)cs.entries));
    }
    /* Embedding checks on a sample: norms, zero vectors, exact duplicates. */
    sc_scroll_request vr = {.limit = 2000};
    const char *vn[] = {r->vector};
    vr.with.vectors = true;
    vr.with.vector_names = vn;
    vr.with.n_vector_names = 1;
    sc_record_list *l = NULL;
    sc_point_id next;
    bool more;
    if (backend_points_scroll(r->be, r->coll, &vr, &l, &next, &more) == SC_OK) {
        size_t zero = 0, bad_dim = 0, dups = 0, m = 0;
        double sum = 0, sum2 = 0;
        uint64_t *hashes = calloc(l->n ? l->n : 1, sizeof *hashes);
        for (size_t i = 0; i < l->n; i++) {
            if (l->items[i].n_vectors != 1 || l->items[i].vector_dims[0] != r->pe.dim) {
                bad_dim++;
                continue;
            }
            const float *v = l->items[i].vectors[0];
            double nn = 0;
            for (uint32_t d = 0; d < r->pe.dim; d++) nn += (double)v[d] * (double)v[d];
            nn = sqrt(nn);
            if (nn == 0) zero++;
            sum += nn;
            sum2 += nn * nn;
            uint64_t h = util_hash64(v, sizeof(float) * r->pe.dim, 0);
            for (size_t j = 0; j < m && hashes; j++)
                if (hashes[j] == h) {
                    dups++;
                    break;
                }
            if (hashes) hashes[m] = h;
            m++;
        }
        free(hashes);
        double mean = m ? sum / (double)m : 0, var = m ? sum2 / (double)m - mean * mean : 0;
        json_object_set_new(root, "embeddings",
                            json_pack("{s:I, s:I, s:I, s:f, s:f, s:f}", "sampled", (json_int_t)m, "wrong_dimension",
                                      (json_int_t)bad_dim, "zero_vectors", (json_int_t)zero, "norm_mean",
                                      repo__round(mean, 6), "norm_std", repo__round(var > 0 ? sqrt(var) : 0.0, 6),
                                      "exact_duplicate_rate", repo__round(m ? (double)dups / (double)m : 0.0, 6)));
        sc_record_list_free(l);
    }
    *out = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    json_decref(root);
    return *out ? SC_OK : SC_NOMEM;
}
