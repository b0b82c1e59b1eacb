/*
** repo/switch.c: switching an index to another embedding model (or
** dimension) without a window where searches find nothing or mix models.
**
** DESIGN (docs/ARCHITECTURE.md "Switching models"; meta keys in
** docs/FILE_FORMATS.md)
** - A generation is one named vector of collection "code": the first is
**   "code", a later one "code_<16 hex digits of XXH3-64(model id)>". meta
**   `vector` names the current one (absent: "code"); meta model_id,
**   provider, model_path, remote describe its model. Searches embed the
**   query with that model and score that vector only: a query of model A
**   is never compared with vectors of model B.
** - `index --model B` on an index of model A (embedded store, same text
**   template) does not wipe it: the next generation's vector is added to
**   the collection (no point has it yet) and meta next_model_id,
**   next_vector, next_dim and next_provider / next_model_path /
**   next_remote record the target. The run then brings the index up to
**   date with the tree using model A as always, and backfills: file by
**   file, the points that have vector A but not vector B are re-prepared
**   from their file and embedded with B (sc_points_update_vectors keeps
**   everything else). Progress is the store itself: a point is done when
**   it has vector B, so an interrupted run (Ctrl-C, kill) resumes where it
**   stopped; an upsert of a changed entity drops its vector B and the
**   backfill does it again.
** - When no point is left without vector B (but those model B could not
**   embed at all, which stay keyword-only as in any index), one state.db
**   transaction makes B current (model keys, vector, dim) and records
**   meta reclaim = {vector, model_id} of A. Only then the store drops
**   vector A (every point's blob shrinks, its graph file goes) and the
**   points' "model" payload becomes B; reclaim is removed last. A crash
**   between the two steps is finished by the next open (repo_switch_reclaim),
**   which also drops any generation vector that meta no longer names.
** - A long backfill lets searches in: between groups it calls the caller's
**   unlock and lock (sc_repo_set_yield) with a short pause between, so
**   threads waiting for the handle get it. Nothing of the switch is current
**   until the swap, which runs with the lock held, so a search meanwhile
**   sees the current generation only; an update meanwhile answers SC_BUSY.
** - `index` without --model resumes a pending switch; `index --model A`
**   (the current model) cancels it and drops vector B; `index --model C`
**   replaces it. A search given --model B during the switch is refused
**   with what is going on.
** - The switch needs the current model to stay loadable (its file, or its
**   endpoint and key): when it is not, or the store is a Qdrant cluster,
**   `index` starts the index over as it always did.
*/
#include "repo/repo_int.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SWITCH_GROUP_FILES 32 /* files re-read and embedded per store commit */
#define SWITCH_YIELD_NS 5000000L /* pause between groups with the caller's lock released (5 ms) */

/* ==== Names and counts ==== */

void repo_vector_load(sc_repo *r) {
    char *v = repo_meta_get(r, "vector");
    snprintf(r->vector, sizeof r->vector, "%s", v && *v ? v : PIPELINE_VECTOR);
    free(v);
}

/* The vector name of the generation of a model: "code_" + 16 hex digits. */
static void switch__vector_name(const char *model_id, char out[PIPELINE_VECTOR_MAX]) {
    snprintf(out, PIPELINE_VECTOR_MAX, "%s_%016llx", PIPELINE_VECTOR,
             (unsigned long long)util_hash64(model_id, strlen(model_id), 0));
}

/* Is name a generation vector of the index ("code" or "code_...")? */
static bool switch__is_generation(const char *name) {
    size_t n = strlen(PIPELINE_VECTOR);
    return !strncmp(name, PIPELINE_VECTOR, n) && (name[n] == '\0' || name[n] == '_');
}

/* Filter text (owned) of the points with vector have and without vector
** lack, restricted to the paths of paths[0..n) when n > 0. */
static char *switch__pending_filter(const char *have, const char *lack, const char *const *paths, size_t n) {
    json_t *must = json_array();
    json_array_append_new(must, json_pack("{s:s}", "has_vector", have));
    if (n) {
        json_t *any = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(any, json_string(paths[i]));
        json_array_append_new(must, json_pack("{s:s, s:{s:o}}", "key", "path", "match", "any", any));
    }
    json_t *f = json_pack("{s:o, s:[{s:s}]}", "must", must, "must_not", "has_vector", lack);
    char *s = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    return s;
}

/* Number of points with vector name (0 when it cannot be counted). */
static uint64_t switch__count_with(sc_repo *r, const char *name) {
    json_t *f = json_pack("{s:[{s:s}]}", "must", "has_vector", name);
    char *s = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    uint64_t n = 0;
    if (!s || sc_points_count(r->db, r->coll, s, &n) != SC_OK) n = 0;
    free(s);
    return n;
}

/* Does the collection have a dense vector of that name? */
static bool switch__has_vector(sc_repo *r, const char *name, uint32_t *dim) {
    sc_collection_info ci;
    if (sc_collection_info_get(r->db, r->coll, &ci) != SC_OK) return false;
    bool found = false;
    for (size_t i = 0; i < ci.n_vector_params && !found; i++)
        if (!strcmp(ci.vectors[i].name, name)) {
            found = true;
            if (dim) *dim = ci.vectors[i].dim;
        }
    sc_collection_info_free(&ci);
    return found;
}

/* ==== Meta keys of a pending switch ==== */

static const char *const switch__model_keys[] = {"provider", "model_path", "remote"};
static const char *const switch__next_keys[] = {"next_model_id", "next_vector", "next_dim", "next_provider",
                                                "next_model_path", "next_remote"};

/* Delete meta key (inside or outside a transaction). */
static sc_status switch__meta_del(sc_repo *r, const char *key) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->state, "DELETE FROM meta WHERE key=?1", -1, &st, NULL) != SQLITE_OK)
        return repo_fail(r, SC_IOERR, "state database: %s", sqlite3_errmsg(r->state));
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? SC_OK : repo_fail(r, SC_IOERR, "state database: %s", sqlite3_errmsg(r->state));
}

/* Forget a pending switch: its vector (when the collection has it) and its meta keys. */
static sc_status switch__forget(sc_repo *r) {
    char *nv = repo_meta_get(r, "next_vector");
    sc_status rc = SC_OK;
    if (nv && strcmp(nv, r->vector) && switch__has_vector(r, nv, NULL) &&
        sc_collection_vector_delete(r->db, r->coll, nv) != SC_OK)
        rc = repo_fail(r, SC_IOERR, "dropping the vectors of the abandoned model switch: %s", sc_db_errmsg(r->db));
    free(nv);
    for (size_t i = 0; rc == SC_OK && i < sizeof switch__next_keys / sizeof *switch__next_keys; i++)
        rc = switch__meta_del(r, switch__next_keys[i]);
    return rc;
}

sc_status repo_switch_cancel(sc_repo *r) {
    char *next = repo_meta_get(r, "next_model_id");
    sc_status rc = SC_OK;
    if (next) {
        util_log(&r->opt.logger, SC_LOG_LEVEL_INFO, "index %s: the switch to %s is cancelled, %s stays", r->store_dir,
                 next, r->pe.model_id);
        rc = switch__forget(r);
    }
    free(next);
    pipeline_embedder_close(&r->pe_next);
    memset(&r->pe_next, 0, sizeof r->pe_next);
    r->switching = false;
    return rc;
}

/* ==== Starting and resuming ==== */

/* Zero pe and set what pipeline_embedder_open needs: r's state.db, a remote
** client made at open (a remote model must answer now, not halfway through
** the backfill) and the borrowed embedding cache (NULL for none). */
static void switch__embedder_init(sc_repo *r, pipeline_embedder *pe, sc_embed_cache *cache) {
    memset(pe, 0, sizeof *pe);
    pe->state = r->state;
    pe->connect_now = true;
    pe->cache = cache;
}

/* r's options with no model given, so pipeline_embedder_open loads the model
** its meta records (the current one, or with meta_prefix "next_" the target). */
static sc_repo_options switch__recorded_options(const sc_repo *r) {
    sc_repo_options o = r->opt;
    o.model_path = NULL;
    o.provider = SC_REPO_PROVIDER_AUTO;
    o.remote = NULL;
    o.remote_fallback = false;
    o.remote_retries_given = false;
    return o;
}

/* Make r->pe_next (loaded, r->pe the current model current_id) the target
** of the switch: its vector added to the collection (dropped first when
** left over with another dimension), meta next_* written in one
** transaction. Another target that was pending is forgotten. */
static sc_status switch__target(sc_repo *r, const char *current_id) {
    sc_err err = {0};
    sc_status rc;
    char nv[PIPELINE_VECTOR_MAX];
    switch__vector_name(r->pe_next.model_id, nv);
    char *pending = repo_meta_get(r, "next_model_id");
    bool same_target = pending && !strcmp(pending, r->pe_next.model_id);
    free(pending);
    uint32_t have_dim = 0;
    /* another target was pending, or the vector is left over with another dimension: start clean */
    if (!same_target && (rc = switch__forget(r)) != SC_OK) return rc;
    if (switch__has_vector(r, nv, &have_dim) && have_dim != r->pe_next.dim &&
        sc_collection_vector_delete(r->db, r->coll, nv) != SC_OK)
        return repo_fail(r, SC_IOERR, "%s", sc_db_errmsg(r->db));
    if (!switch__has_vector(r, nv, NULL)) {
        sc_vector_params vp = {.name = nv, .dim = r->pe_next.dim, .distance = SC_DISTANCE_COSINE};
        if (sc_collection_vector_create(r->db, r->coll, &vp) != SC_OK)
            return repo_fail(r, SC_IOERR, "adding the vectors of model %s: %s", r->pe_next.model_id,
                             sc_db_errmsg(r->db));
    }
    char dim[16];
    snprintf(dim, sizeof dim, "%u", r->pe_next.dim);
    r->pe_next.meta_prefix = "next_";
    if ((rc = repo_state_exec(r, "BEGIN IMMEDIATE")) != SC_OK) return rc;
    if ((rc = pipeline_embedder_record(&r->pe_next, &err)) != SC_OK) repo_fail_err(r, rc, &err);
    if (rc == SC_OK) rc = repo_meta_set(r, "next_model_id", r->pe_next.model_id);
    if (rc == SC_OK) rc = repo_meta_set(r, "next_vector", nv);
    if (rc == SC_OK) rc = repo_meta_set(r, "next_dim", dim);
    if (rc == SC_OK) rc = repo_state_exec(r, "COMMIT");
    if (rc != SC_OK) {
        sqlite3_exec(r->state, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    snprintf(r->next_vector, sizeof r->next_vector, "%s", nv);
    r->switching = true;
    if (!same_target)
        util_log(&r->opt.logger, SC_LOG_LEVEL_INFO,
                 "index %s: switching from %s to %s; searches use %s until every entity has a vector of %s",
                 r->store_dir, current_id, r->pe_next.model_id, current_id, r->pe_next.model_id);
    return SC_OK;
}

sc_status repo_switch_begin(sc_repo *r, const char *current_id) {
    /* r->pe is the model given; it becomes the target and the recorded one is loaded as the current */
    r->pe_next = r->pe;
    switch__embedder_init(r, &r->pe, r->pe_next.cache);
    sc_repo_options cur = switch__recorded_options(r);
    sc_err err = {0};
    sc_status rc = pipeline_embedder_open(&r->pe, &cur, &err);
    if (rc != SC_OK || strcmp(r->pe.model_id, current_id)) {
        util_log(&r->opt.logger, SC_LOG_LEVEL_WARN,
                 "index %s: its model %s cannot be loaded (%s), so searches cannot go on with it while %s embeds "
                 "the index: starting the index over with %s",
                 r->store_dir, current_id, rc != SC_OK ? err.msg : r->pe.model_id, r->pe_next.model_id,
                 r->pe_next.model_id);
        pipeline_embedder_close(&r->pe);
        r->pe = r->pe_next;
        memset(&r->pe_next, 0, sizeof r->pe_next);
        return SC_NOTFOUND;
    }
    return switch__target(r, current_id);
}

sc_status sc_repo_switch_model(sc_repo *r, const sc_repo_options *model) {
    if (!r || !model) return SC_MISUSE;
    if (r->updating)
        return repo_fail(r, SC_BUSY, "an update of this index is running; switch its model when it ends");
    if (r->remote_store)
        return repo_fail(r, SC_UNSUPPORTED, "the index is in a Qdrant store, whose model cannot be switched in the "
                         "background; run 'semcode index' with the new model (it indexes again)");
    pipeline_embedder pe;
    switch__embedder_init(r, &pe, r->pe.cache);
    sc_repo_options o = r->opt;
    o.model_path = model->model_path;
    o.provider = model->provider;
    o.remote = model->remote;
    o.remote_fallback = model->remote_fallback;
    o.remote_retries_given = model->remote_retries_given;
    sc_err err = {0};
    sc_status rc = pipeline_embedder_open(&pe, &o, &err);
    if (rc != SC_OK) {
        pipeline_embedder_close(&pe);
        return repo_fail(r, rc, "the model to switch to cannot be loaded: %s", err.msg[0] ? err.msg : sc_status_str(rc));
    }
    if (!strcmp(pe.model_id, r->pe.model_id)) { /* the current model: nothing to switch, a pending switch ends */
        pipeline_embedder_close(&pe);
        return repo_switch_cancel(r);
    }
    pipeline_embedder_close(&r->pe_next); /* a target loaded before (pending) is replaced */
    r->pe_next = pe;
    r->switching = false;
    rc = switch__target(r, r->pe.model_id);
    if (rc != SC_OK) {
        pipeline_embedder_close(&r->pe_next);
        memset(&r->pe_next, 0, sizeof r->pe_next);
        r->switching = false;
    }
    return rc;
}

/* Load the target of a switch recorded in meta (an update run without
** --model resumes it). SC_OK also when none is pending (r->switching false). */
static sc_status switch__resume(sc_repo *r) {
    if (r->switching) return SC_OK;
    char *next = repo_meta_get(r, "next_model_id");
    char *nv = repo_meta_get(r, "next_vector");
    sc_status rc = SC_OK;
    if (!next || !nv || r->remote_store) goto done;
    switch__embedder_init(r, &r->pe_next, r->pe.cache);
    r->pe_next.meta_prefix = "next_";
    sc_repo_options o = switch__recorded_options(r); /* remote_retries_given, cleared too, goes with remote only */
    sc_err err = {0};
    rc = pipeline_embedder_open(&r->pe_next, &o, &err);
    if (rc == SC_OK && strcmp(r->pe_next.model_id, next))
        rc = sc_err_set(&err, SC_NOTFOUND, "its recorded model loads as %s", r->pe_next.model_id);
    if (rc != SC_OK) {
        rc = repo_fail(r, rc,
                       "the switch of this index from %s to %s cannot resume: %s; run 'semcode index' with the "
                       "target model again, or with --model of the current one to cancel the switch",
                       r->pe.model_id, next, err.msg);
        pipeline_embedder_close(&r->pe_next);
        memset(&r->pe_next, 0, sizeof r->pe_next);
        goto done;
    }
    snprintf(r->next_vector, sizeof r->next_vector, "%s", nv);
    r->switching = true;
done:
    free(next);
    free(nv);
    return rc;
}

/* ==== Backfill ==== */

/* A point waiting for its vector of the target model. */
typedef struct switch_pt {
    uint64_t id;     /* point id */
    char *path;      /* its file (owned) */
    char *text_hash; /* hash of the prepared text its current vector embeds (owned) */
} switch_pt;

static int switch__pt_cmp(const void *a, const void *b) {
    const switch_pt *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->id < y->id ? -1 : x->id > y->id);
}

static void switch__pts_free(switch_pt *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(p[i].path);
        free(p[i].text_hash);
    }
    free(p);
}

/* Every pending point (filter ftext), sorted by path then id: *out owned. */
static sc_status switch__pending(sc_repo *r, const char *ftext, switch_pt **out, size_t *n) {
    const char *keys[] = {"path", "text_hash"};
    sc_scroll_request req = {.filter_json = ftext, .limit = 2000};
    req.with.payload = true;
    req.with.payload_include = keys;
    req.with.n_payload_include = 2;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    sc_status rc = SC_OK;
    for (;;) {
        sc_record_list *l = NULL;
        sc_point_id next;
        bool more = false;
        if (sc_points_scroll(r->db, r->coll, &req, &l, &next, &more) != SC_OK) {
            rc = repo_fail(r, SC_IOERR, "%s", sc_db_errmsg(r->db));
            break;
        }
        for (size_t i = 0; rc == SC_OK && i < l->n; i++) {
            if (!util_grow(out, &cap, *n + 1, sizeof **out, 256)) {
                rc = repo_fail(r, SC_NOMEM, "out of memory");
                break;
            }
            json_t *p = json_loads(l->items[i].payload_json ? l->items[i].payload_json : "{}", 0, NULL);
            switch_pt *s = &(*out)[*n];
            s->id = l->items[i].id.num;
            s->path = util_strdup(json_string_value(json_object_get(p, "path")));
            s->text_hash = util_strdup(json_string_value(json_object_get(p, "text_hash")));
            json_decref(p);
            if (!s->path) s->path = util_strdup("");
            (*n)++;
        }
        sc_record_list_free(l);
        if (rc != SC_OK || !more) break;
        req.has_offset = true;
        req.offset = next;
    }
    if (rc != SC_OK) {
        switch__pts_free(*out, *n);
        *out = NULL;
        *n = 0;
        return rc;
    }
    if (*n) qsort(*out, *n, sizeof **out, switch__pt_cmp);
    return SC_OK;
}

/* The texts to embed for one group of points (those of whole files). */
typedef struct switch_batch {
    uint64_t *ids;      /* point ids */
    char **texts;       /* owned prepared texts */
    size_t n;           /* used */
    size_t cap_ids;     /* allocated ids */
    size_t cap_texts;   /* allocated texts */
} switch_batch;

static void switch__batch_clear(switch_batch *b) {
    for (size_t i = 0; i < b->n; i++) free(b->texts[i]);
    b->n = 0;
}

/* Add the prepared texts of the pending points pts[0..n) (all of file
** path) to b: the file is read and parsed again, and an entity is taken
** when its id is pending and its prepared text is still the one the
** current vector embeds (text_hash); a file changed since the update run
** leaves its points for the next run. *n_stale counts those. */
static sc_status switch__collect_file(sc_repo *r, sc_parser *parser, const switch_pt *pts, size_t n,
                                      switch_batch *b, uint64_t *n_stale) {
    char fp[PATH_MAX * 2];
    snprintf(fp, sizeof fp, "%s/%s", r->root, pts[0].path);
    size_t size = 0;
    char *src = util_read_file(fp, &size);
    sc_parse_result *res = NULL;
    sc_parse_options popt = sc_parse_options_default();
    if (r->opt.max_file_size) popt.max_file_size = r->opt.max_file_size;
    size_t taken = 0;
    sc_status rc = SC_OK;
    if (src && sc_parser_parse(parser, pts[0].path, src, size, &popt, &res) == SC_OK) {
        for (uint32_t i = 0; rc == SC_OK && i < res->n_entities; i++) {
            const sc_entity *e = &res->entities[i];
            uint64_t id = pipeline_entity_id(pts[0].path, e, pipeline_entity_ordinal(res, i));
            const switch_pt *pt = NULL;
            for (size_t k = 0; k < n && !pt; k++)
                if (pts[k].id == id) pt = &pts[k];
            if (!pt) continue;
            char *text = pipeline_prepare_text(r->template_variant, e, pts[0].path, src, size);
            char hex[33] = "";
            if (text) util_h128_hex(util_hash128(text, strlen(text), 0), hex);
            if (text && (!pt->text_hash || strcmp(pt->text_hash, hex))) { /* changed since: next run */
                free(text);
                continue;
            }
            if (!text || !util_grow(&b->ids, &b->cap_ids, b->n + 1, sizeof *b->ids, 64) ||
                !util_grow(&b->texts, &b->cap_texts, b->n + 1, sizeof *b->texts, 64)) {
                free(text);
                rc = repo_fail(r, SC_NOMEM, "out of memory preparing %s", pts[0].path);
                break;
            }
            b->ids[b->n] = id;
            b->texts[b->n++] = text;
            taken++;
        }
    }
    if (rc == SC_OK) *n_stale += n - taken;
    sc_parse_result_free(res);
    free(src);
    return rc;
}

/* Embed b with the target model and give its points their new vectors
** (one store commit). Texts the model cannot embed at all count in
** *n_failed and stay without; a provider that does not answer stops the run. */
static sc_status switch__store(sc_repo *r, switch_batch *b, sc_repo_summary *sum, uint64_t *n_failed) {
    if (!b->n) return SC_OK;
    uint32_t dim = r->pe_next.dim;
    float *vecs = malloc(sizeof(float) * dim * b->n);
    sc_embed_item *items = calloc(b->n, sizeof *items);
    sc_point_in *pts = calloc(b->n, sizeof *pts);
    sc_vector_in *vin = calloc(b->n, sizeof *vin);
    sc_status rc = SC_OK;
    if (!vecs || !items || !pts || !vin) rc = repo_fail(r, SC_NOMEM, "out of memory embedding %zu entities", b->n);
    sc_embed_summary es;
    memset(&es, 0, sizeof es);
    if (rc == SC_OK)
        sc_embedder_embed(r->pe_next.emb, SC_EMBED_ROLE_CODE, (const char *const *)b->texts, b->n, vecs, items, &es);
    size_t m = 0;
    for (size_t i = 0; rc == SC_OK && i < b->n; i++) {
        if (items[i].status == SC_IOERR) {
            rc = repo_fail(r, SC_IOERR,
                           "embedding with %s failed: %s; the switch stopped here, run 'semcode index' again to "
                           "resume it (searches keep using %s)",
                           r->pe_next.model_id, items[i].error, r->pe.model_id);
            break;
        }
        if (items[i].status != SC_OK) {
            (*n_failed)++;
            continue;
        }
        vin[m] = (sc_vector_in){r->next_vector, vecs + i * dim, dim};
        pts[m].id = sc_point_id_num(b->ids[i]);
        pts[m].vectors = &vin[m];
        pts[m].n_vectors = 1;
        m++;
    }
    if (rc == SC_OK && m && sc_points_update_vectors(r->db, r->coll, pts, m) != SC_OK)
        rc = repo_fail(r, SC_IOERR, "storing the vectors of %s: %s", r->pe_next.model_id, sc_db_errmsg(r->db));
    if (rc == SC_OK) {
        sum->embeddings_new += es.newly_embedded;
        sum->embeddings_cached += es.cached;
        sum->switch_embedded += m;
    }
    free(vecs);
    free(items);
    free(pts);
    free(vin);
    return rc;
}

/* Report progress of the backfill: files of the pass, entities done of all. */
static void switch__progress(sc_repo *r, uint64_t files_total, uint64_t files_done, uint64_t done, uint64_t total,
                             double t0) {
    if (!r->opt.progress) return;
    sc_repo_progress p = {"switch", files_total, files_done, 0, total, done, 0, util_now() - t0};
    r->opt.progress(r->opt.progress_arg, &p);
}

/* Between two groups: release the caller's lock, give the threads waiting
** for it a moment to take it (a mutex unlocked and locked again at once
** would mostly stay with this thread), and take it again. */
static void switch__yield(sc_repo *r) {
    if (!r->yield_unlock) return;
    r->yield_unlock(r->yield_arg);
    struct timespec pause = {0, SWITCH_YIELD_NS};
    nanosleep(&pause, NULL);
    r->yield_lock(r->yield_arg);
}

/* ==== Swapping and reclaiming ==== */

/* Make the target current in one state.db transaction (meta reclaim names
** the old generation), then swap the embedders in memory. */
static sc_status switch__swap(sc_repo *r) {
    json_t *rec = json_pack("{s:s, s:s}", "vector", r->vector, "model_id", r->pe.model_id);
    char *rtext = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (!rtext) return repo_fail(r, SC_NOMEM, "out of memory");
    char dim[16];
    snprintf(dim, sizeof dim, "%u", r->pe_next.dim);
    sc_status rc = repo_state_exec(r, "BEGIN IMMEDIATE");
    for (size_t i = 0; rc == SC_OK && i < sizeof switch__model_keys / sizeof *switch__model_keys; i++) {
        char nk[32];
        snprintf(nk, sizeof nk, "next_%s", switch__model_keys[i]);
        char *v = repo_meta_get(r, nk);
        rc = v ? repo_meta_set(r, switch__model_keys[i], v) : switch__meta_del(r, switch__model_keys[i]);
        free(v);
    }
    if (rc == SC_OK) rc = repo_meta_set(r, "model_id", r->pe_next.model_id);
    if (rc == SC_OK) rc = repo_meta_set(r, "vector", r->next_vector);
    if (rc == SC_OK) rc = repo_meta_set(r, "dim", dim);
    if (rc == SC_OK) rc = repo_meta_set(r, "reclaim", rtext);
    if (rc == SC_OK) rc = repo_meta_set(r, "index_format", "3"); /* older builds refuse it (pipeline.h) */
    for (size_t i = 0; rc == SC_OK && i < sizeof switch__next_keys / sizeof *switch__next_keys; i++)
        rc = switch__meta_del(r, switch__next_keys[i]);
    if (rc == SC_OK) rc = repo_state_exec(r, "COMMIT");
    free(rtext);
    if (rc != SC_OK) {
        sqlite3_exec(r->state, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    util_log(&r->opt.logger, SC_LOG_LEVEL_INFO, "index %s: switched from %s to %s", r->store_dir, r->pe.model_id,
             r->pe_next.model_id);
    pipeline_embedder_close(&r->pe);
    r->pe = r->pe_next;
    r->pe.meta_prefix = NULL;
    memset(&r->pe_next, 0, sizeof r->pe_next);
    snprintf(r->vector, sizeof r->vector, "%s", r->next_vector);
    r->next_vector[0] = '\0';
    r->switching = false;
    return SC_OK;
}

sc_status repo_switch_reclaim(sc_repo *r) {
    if (r->remote_store || !backend_collection_exists(r->be, r->coll)) return SC_OK;
    char *nv = repo_meta_get(r, "next_vector");
    sc_collection_info ci;
    sc_status rc = SC_OK;
    if (sc_collection_info_get(r->db, r->coll, &ci) == SC_OK) {
        for (size_t i = 0; rc == SC_OK && i < ci.n_vector_params; i++) {
            const char *name = ci.vectors[i].name;
            if (!switch__is_generation(name) || !strcmp(name, r->vector) || (nv && !strcmp(name, nv))) continue;
            util_log(&r->opt.logger, SC_LOG_LEVEL_INFO, "index %s: dropping the vectors of an old model (%s)",
                     r->store_dir, name);
            if (sc_collection_vector_delete(r->db, r->coll, name) != SC_OK)
                rc = repo_fail(r, SC_IOERR, "dropping the vectors of an old model: %s", sc_db_errmsg(r->db));
        }
        sc_collection_info_free(&ci);
    }
    free(nv);
    char *rtext = rc == SC_OK ? repo_meta_get(r, "reclaim") : NULL;
    if (rtext) {
        /* the points' "model" payload names the model of their vector */
        json_t *rec = json_loads(rtext, 0, NULL);
        const char *old = json_string_value(json_object_get(rec, "model_id"));
        json_t *f = old ? json_pack("{s:[{s:s, s:{s:s}}]}", "must", "key", "model", "match", "value", old) : NULL;
        json_t *p = json_pack("{s:s}", "model", r->pe.model_id);
        char *ftext = f ? json_dumps(f, JSON_COMPACT) : NULL;
        char *ptext = p ? json_dumps(p, JSON_COMPACT) : NULL;
        sc_selector sel = {.filter_json = ftext};
        if (ftext && ptext && sc_payload_set(r->db, r->coll, &sel, ptext, NULL) != SC_OK)
            rc = repo_fail(r, SC_IOERR, "%s", sc_db_errmsg(r->db));
        free(ftext);
        free(ptext);
        json_decref(f);
        json_decref(p);
        json_decref(rec);
        if (rc == SC_OK) rc = switch__meta_del(r, "reclaim");
    }
    free(rtext);
    return rc;
}

/* After the old generation is dropped: give its room back to the file
** system (sc_db_compact). The copy runs with the repository's lock let go
** (switch__yield's hooks), so searches and other calls go on; the store
** swaps files under its own lock in milliseconds. A failure is only
** logged: the index is switched and whole, the file stays larger until
** the next switch. */
static void switch__compact(sc_repo *r) {
    sc_db_compact_info ci;
    if (r->yield_unlock) r->yield_unlock(r->yield_arg);
    sc_status rc = sc_db_compact(r->db, &ci);
    if (r->yield_unlock) r->yield_lock(r->yield_arg);
    if (rc != SC_OK) {
        util_log(&r->opt.logger, SC_LOG_LEVEL_WARN, "index %s: giving the old model's space back failed: %s",
                 r->store_dir, sc_db_errmsg(r->db));
        return;
    }
    util_log(&r->opt.logger, SC_LOG_LEVEL_INFO, "index %s: the store went from %.1f to %.1f MiB in %.2f s",
             r->store_dir, (double)ci.bytes_before / 1048576.0, (double)ci.bytes_after / 1048576.0, ci.seconds);
}

sc_status repo_switch_run(sc_repo *r, sc_repo_summary *sum) {
    sc_status rc = switch__resume(r);
    if (rc != SC_OK || !r->switching) return rc;
    double t0 = util_now();
    char *ftext = switch__pending_filter(r->vector, r->next_vector, NULL, 0);
    switch_pt *pts = NULL;
    size_t n_pts = 0;
    if (!ftext) return repo_fail(r, SC_NOMEM, "out of memory");
    rc = switch__pending(r, ftext, &pts, &n_pts);
    sc_parser *parser = NULL;
    char *perr = NULL;
    if (rc == SC_OK && sc_parser_new(&parser, &perr) != SC_OK) rc = repo_fail(r, SC_NOMEM, "%s", perr ? perr : "out of memory");
    sc_free(perr);
    uint64_t total = switch__count_with(r, r->vector), n_failed = 0, n_stale = 0;
    uint64_t done0 = total >= n_pts ? total - n_pts : 0;
    uint64_t n_files = 0, files_done = 0;
    for (size_t i = 0; i < n_pts; i++) n_files += i == 0 || strcmp(pts[i].path, pts[i - 1].path);
    switch_batch b = {0};
    size_t i = 0;
    while (rc == SC_OK && i < n_pts) {
        if (r->opt.cancel && *r->opt.cancel) {
            rc = repo_fail(r, SC_INTERRUPTED, "interrupted while switching from %s to %s; run 'semcode index' "
                           "again to resume the switch (searches keep using %s)",
                           r->pe.model_id, r->pe_next.model_id, r->pe.model_id);
            break;
        }
        for (uint32_t f = 0; rc == SC_OK && f < SWITCH_GROUP_FILES && i < n_pts; f++) {
            size_t j = i;
            while (j < n_pts && !strcmp(pts[j].path, pts[i].path)) j++;
            rc = switch__collect_file(r, parser, pts + i, j - i, &b, &n_stale);
            i = j;
            files_done++;
        }
        if (rc == SC_OK) rc = switch__store(r, &b, sum, &n_failed);
        switch__batch_clear(&b);
        switch__progress(r, n_files, files_done, done0 + sum->switch_embedded, total, t0);
        /* the group is stored and meta still names the current generation: searches may come in */
        if (rc == SC_OK && i < n_pts) switch__yield(r);
    }
    free(b.ids);
    free(b.texts);
    sc_parser_free(parser);
    switch__pts_free(pts, n_pts);
    uint64_t left = 0;
    if (sc_points_count(r->db, r->coll, ftext, &left) != SC_OK && rc == SC_OK)
        rc = repo_fail(r, SC_IOERR, "%s", sc_db_errmsg(r->db));
    free(ftext);
    sum->seconds_embed += util_now() - t0;
    if (rc != SC_OK) {
        sum->switch_pending = left;
        return rc;
    }
    if (left > n_failed) { /* files changed during the run: the next run finishes */
        sum->switch_pending = left;
        util_log(&r->opt.logger, SC_LOG_LEVEL_INFO,
                 "index %s: %llu entities changed while switching to %s; run 'semcode index' again to finish",
                 r->store_dir, (unsigned long long)left, r->pe_next.model_id);
        return SC_OK;
    }
    if ((rc = switch__swap(r)) != SC_OK) return rc;
    sum->switched = true;
    rc = repo_switch_reclaim(r);
    backend_collection_optimize(r->be, r->coll);
    if (rc == SC_OK) switch__compact(r);
    return rc;
}

json_t *repo_switch_json(sc_repo *r) {
    char *next = repo_meta_get(r, "next_model_id");
    char *nv = repo_meta_get(r, "next_vector");
    char *nd = repo_meta_get(r, "next_dim");
    json_t *o = NULL;
    if (next && nv) {
        uint64_t total = switch__count_with(r, r->vector), done = switch__count_with(r, nv);
        o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "from", r->pe.model_id, "to", next, "dim_from",
                      (json_int_t)r->pe.dim, "dim_to", (json_int_t)(nd ? atoi(nd) : 0), "done",
                      (json_int_t)(done < total ? done : total), "total", (json_int_t)total);
    }
    free(next);
    free(nv);
    free(nd);
    return o;
}
