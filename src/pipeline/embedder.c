/*
** pipeline/embedder.c: which embedding provider an indexed repository uses,
** and what the index records about it.
**
** DESIGN
** - A repository embeds with its local model (the built-in model file) or
**   with a remote OpenAI-compatible endpoint. `index` records the choice in
**   state.db meta: provider = "local" | "openai"; for a local model its
**   path (model_path), for a remote one a JSON object (remote) with the
**   base URL, model name, dimension, whether "dimensions" is sent, family,
**   API-key variable name, batch size, concurrency, timeout and retries.
**   The API key itself is read from its environment variable by the remote
**   client and is never recorded, printed or logged.
** - Later commands (search, a plain re-index) use what was recorded; any
**   remote field given again overrides the recorded one for that run.
** - The identity of an index (meta model_id, the "model" payload of every
**   point) is "openai:<model>/<dim>" for a remote provider: a different
**   remote model or dimension is a different index (search refuses, index
**   switches it to a new generation of vectors: repo/switch.c), while a
**   moved endpoint (another base URL serving the same model) is not.
** - meta_prefix "next_" reads and records the same keys for the target of
**   a model switch (next_provider, next_model_path, next_remote).
** - The remote client is made when first needed (pipeline_embedder_ready), so
**   commands that embed nothing (keyword search, similar, stats) need
**   neither the key nor the endpoint. `index` makes it at open, so a bad
**   option or a missing key fails before anything is touched.
*/
#include "pipeline/pipeline.h"

#include "util/util.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EMB_MAX_MODEL_NAME 200 /* longest remote model name accepted (it is part of the index id) */

/* meta value of key under the embedder's prefix ("next_" for the target of
** a model switch, repo/switch.c), owned or NULL. */
static char *emb__meta_get(pipeline_embedder *r, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "%s%s", r->meta_prefix ? r->meta_prefix : "", key);
    return pipeline_meta_get(r->state, k);
}

/* Set meta key under the embedder's prefix. */
static sc_status emb__meta_set(pipeline_embedder *r, const char *key, const char *value, sc_err *err) {
    char k[64];
    snprintf(k, sizeof k, "%s%s", r->meta_prefix ? r->meta_prefix : "", key);
    return pipeline_meta_set(r->state, k, value, err);
}

/* ==== The local model ==== */

/* Load the local model: given, else the one the index was built with, else the shipped one. */
static sc_status emb__load_model(pipeline_embedder *r, const char *given, sc_err *err) {
    char *recorded = emb__meta_get(r, "model_path");
    bool use_default = !given && !(recorded && access(recorded, R_OK) == 0);
    char *path = given ? util_strdup(given) : !use_default ? util_strdup(recorded) : sc_model_default_path();
    free(recorded);
    if (!path && use_default)
        return sc_err_set(err, SC_NOTFOUND,
                         "no built-in model found (looked for share/semcode/builtin.scm and models/builtin.scm "
                         "next to the semcode executable): set SEMCODE_MODEL or pass --model");
    if (!path) return sc_err_set(err, SC_NOMEM, "out of memory");
    char *merr = NULL;
    sc_status rc = sc_model_load(path, &r->model, &merr);
    if (rc != SC_OK) {
        rc = sc_err_set(err, rc, "cannot load the embedding model %s: %s (set SEMCODE_MODEL or pass --model)", path,
                       merr ? merr : "out of memory");
        sc_free(merr);
        free(path);
        return rc;
    }
    char abs_path[PATH_MAX];
    r->model_path = realpath(path, abs_path) ? util_strdup(abs_path) : path;
    if (r->model_path != path) free(path);
    return r->model_path ? SC_OK : sc_err_set(err, SC_NOMEM, "out of memory");
}

/* ==== The remote endpoint ==== */

/* String field: given, else recorded, else NULL (owned copy in *out). */
static bool emb__pick_str(const char *given, const json_t *rec, const char *key, char **out) {
    const char *v = given && *given ? given : json_string_value(json_object_get(rec, key));
    *out = v ? util_strdup(v) : NULL;
    return !v || *out;
}

static uint32_t emb__pick_u32(uint32_t given, const json_t *rec, const char *key) {
    if (given) return given;
    json_t *v = json_object_get(rec, key);
    json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
    return x > 0 && x <= UINT32_MAX ? (uint32_t)x : 0;
}

/* Retries: given (0 included when retries_given, meaning none), else
** recorded (0 included), else the default. */
static uint32_t emb__pick_retries(const sc_remote_options *given, bool retries_given, const json_t *rec,
                                  uint32_t dflt) {
    if (retries_given || given->max_retries) return given->max_retries;
    json_t *v = json_object_get(rec, "max_retries");
    json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
    return x >= 0 && x <= UINT32_MAX ? (uint32_t)x : dflt;
}

/* Merge the given remote options over the recorded ones into r->remote. */
static sc_status emb__remote_config(pipeline_embedder *r, const sc_remote_options *given, bool retries_given,
                                    bool use_recorded, sc_err *err) {
    sc_remote_options none;
    memset(&none, 0, sizeof none);
    if (!given) given = &none;
    json_t *rec = NULL;
    if (use_recorded) {
        char *txt = emb__meta_get(r, "remote");
        rec = txt ? json_loads(txt, 0, NULL) : NULL;
        free(txt);
    }
    sc_remote_options *o = &r->remote;
    *o = sc_remote_options_default();
    bool ok = emb__pick_str(given->base_url, rec, "base_url", &r->remote_str[0]) &&
              emb__pick_str(given->model, rec, "model", &r->remote_str[1]) &&
              emb__pick_str(given->api_key_env, rec, "api_key_env", &r->remote_str[2]) &&
              emb__pick_str(given->family, rec, "family", &r->remote_str[3]);
    o->base_url = r->remote_str[0];
    o->model = r->remote_str[1];
    o->api_key_env = r->remote_str[2];
    o->family = r->remote_str[3];
    o->dim = emb__pick_u32(given->dim, rec, "dim");
    o->send_dimensions = given->send_dimensions || json_is_true(json_object_get(rec, "send_dimensions"));
    uint32_t v;
    if ((v = emb__pick_u32(given->batch_size, rec, "batch_size"))) o->batch_size = v;
    if ((v = emb__pick_u32(given->concurrency, rec, "concurrency"))) o->concurrency = v;
    if ((v = emb__pick_u32(given->timeout_ms, rec, "timeout_ms"))) o->timeout_ms = v;
    o->max_retries = emb__pick_retries(given, retries_given, rec, o->max_retries);
    if (given->backoff_base_ms) o->backoff_base_ms = given->backoff_base_ms;
    if (given->backoff_max_ms) o->backoff_max_ms = given->backoff_max_ms;
    if (given->max_input_bytes) o->max_input_bytes = given->max_input_bytes;
    o->seed = given->seed;
    json_decref(rec);
    if (!ok) return sc_err_set(err, SC_NOMEM, "out of memory");
    const char *where = use_recorded ? "given, nor recorded for this index" : "given";
    if (!o->base_url)
        return sc_err_set(err, SC_INVALID, "the remote embedding provider needs a base URL (--base-url URL), none was %s",
                         where);
    if (!o->model)
        return sc_err_set(err, SC_INVALID,
                         "the remote embedding provider needs a model name (--remote-model NAME), none was %s", where);
    if (!o->dim)
        return sc_err_set(err, SC_INVALID,
                         "the remote embedding provider needs the vector dimension (--dimensions N), none was %s",
                         where);
    if (o->dim > SC_MAX_DIM)
        return sc_err_set(err, SC_INVALID, "--dimensions %u is out of range, expected 1..%u", o->dim, SC_MAX_DIM);
    if (strncmp(o->base_url, "http://", 7) && strncmp(o->base_url, "https://", 8))
        return sc_err_set(err, SC_INVALID, "the base URL must start with http:// or https://, got '%s'", o->base_url);
    if (strlen(o->model) > EMB_MAX_MODEL_NAME)
        return sc_err_set(err, SC_INVALID, "the remote model name is %zu bytes long, at most %d are accepted",
                         strlen(o->model), EMB_MAX_MODEL_NAME);
    r->dim = o->dim;
    snprintf(r->model_id, sizeof r->model_id, "openai:%s/%u", o->model, o->dim);
    return SC_OK;
}

/* ==== Choosing ==== */

sc_status pipeline_embedder_open(pipeline_embedder *r, const sc_repo_options *opt, sc_err *err) {
    char *prov = emb__meta_get(r, "provider");
    bool recorded_remote = prov && !strcmp(prov, "openai");
    free(prov);
    sc_repo_provider p = opt ? opt->provider : SC_REPO_PROVIDER_AUTO;
    if ((unsigned)p > SC_REPO_PROVIDER_REMOTE) return sc_err_set(err, SC_INVALID, "unknown provider %d", (int)p);
    r->is_remote = p == SC_REPO_PROVIDER_REMOTE || (p == SC_REPO_PROVIDER_AUTO && recorded_remote);
    bool fallback = opt && opt->remote_fallback;
    sc_status rc;
    if (r->is_remote) {
        if ((rc = emb__remote_config(r, opt ? opt->remote : NULL, opt && opt->remote && opt->remote_retries_given,
                                     recorded_remote, err)) != SC_OK) return rc;
        if (fallback && (rc = emb__load_model(r, opt->model_path, err)) != SC_OK) return rc;
        /* index: fail on a bad option or a missing key before anything changes */
        if (r->connect_now) return pipeline_embedder_ready(r, err);
        return SC_OK;
    }
    if (fallback)
        return sc_err_set(err, SC_INVALID, "a fallback takes over from a remote provider; this index uses the local model");
    if ((rc = emb__load_model(r, opt ? opt->model_path : NULL, err)) != SC_OK) return rc;
    r->dim = sc_model_dim(r->model);
    snprintf(r->model_id, sizeof r->model_id, "builtin:%016llx", (unsigned long long)sc_model_hash(r->model));
    return pipeline_embedder_ready(r, err);
}

sc_status pipeline_embedder_ready(pipeline_embedder *r, sc_err *err) {
    if (r->emb) return SC_OK;
    char *msg = NULL;
    sc_embedder *local = NULL;
    sc_status mrc = r->model ? sc_embedder_new_model(r->model, &local, &msg) : SC_OK;
    if (mrc != SC_OK) {
        sc_status rc = sc_err_set(err, mrc, "%s", msg ? msg : "out of memory");
        sc_free(msg);
        return rc;
    }
    if (!r->is_remote) {
        r->emb = local;
    } else {
        sc_status rc = sc_embedder_new_remote(&r->remote, &r->emb, &msg);
        if (rc != SC_OK) {
            rc = sc_err_set(err, rc, "cannot use the remote embedding provider %s at %s: %s", r->model_id,
                           r->remote.base_url, msg ? msg : "out of memory");
            sc_free(msg);
            sc_embedder_free(local);
            return rc;
        }
        if (local) {
            if ((rc = sc_embedder_set_fallback(r->emb, local)) != SC_OK) {
                /* refused: nothing of this attempt is kept (each search tries again) */
                rc = sc_err_set(err, rc, "--fallback: %s (declare the remote family with --remote-family)",
                                sc_embedder_errmsg(r->emb));
                sc_embedder_free(r->emb);
                sc_embedder_free(local);
                r->emb = NULL;
                return rc;
            }
            r->fallback = local;
        }
    }
    if (r->cache) sc_embedder_set_cache(r->emb, r->cache);
    return SC_OK;
}

sc_status pipeline_embedder_record(pipeline_embedder *r, sc_err *err) {
    sc_status rc;
    if (!r->is_remote) {
        if ((rc = emb__meta_set(r, "provider", "local", err)) != SC_OK) return rc;
        return emb__meta_set(r, "model_path", r->model_path, err);
    }
    const sc_remote_options *o = &r->remote;
    json_t *j = json_pack("{s:s, s:s, s:i, s:b, s:i, s:i, s:i, s:i}", "base_url", o->base_url, "model", o->model,
                          "dim", (int)o->dim, "send_dimensions", o->send_dimensions, "batch_size", (int)o->batch_size,
                          "concurrency", (int)o->concurrency, "timeout_ms", (int)o->timeout_ms, "max_retries",
                          (int)o->max_retries);
    if (j && o->api_key_env) json_object_set_new(j, "api_key_env", json_string(o->api_key_env));
    if (j && o->family) json_object_set_new(j, "family", json_string(o->family));
    char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (!txt) return sc_err_set(err, SC_NOMEM, "out of memory");
    rc = emb__meta_set(r, "remote", txt, err);
    free(txt);
    if (rc == SC_OK) rc = emb__meta_set(r, "provider", "openai", err);
    return rc;
}

void pipeline_embedder_close(pipeline_embedder *r) {
    if (!r) return;
    sc_embedder_free(r->emb);
    sc_embedder_free(r->fallback);
    sc_model_free(r->model);
    for (size_t i = 0; i < sizeof r->remote_str / sizeof r->remote_str[0]; i++) free(r->remote_str[i]);
    free(r->model_path);
    r->emb = r->fallback = NULL;
    r->model = NULL;
}
