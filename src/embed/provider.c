/*
** embed/provider.c: the provider interface. One sc_embedder type in front
** of local providers (callback tables: the built-in model, transformer
** models) and remote OpenAI-compatible endpoints, with per-item
** validation, the persistent cache, fallback and batch summaries.
**
** The order of one call: validate every text (bad ones fail as items);
** answer what the cache has; embed the rest with the provider; hand the
** items whose remote requests were exhausted to the fallback, if one is
** compatible; check every vector a provider returned (dimension, finite);
** store the new ones in the cache; count.
*/
#include "embed/provider_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sc_embedder {
    const sc_provider_vtable *vt; /* local provider, or NULL for remote */
    void *state;                  /* its state */
    embed_remote *remote;         /* remote provider, or NULL */
    char *id;                     /* model id (cache key, provenance) */
    char *family;                 /* declared compatibility class */
    uint64_t model_hash;          /* hash of the weights (cache key) */
    uint32_t dim;                 /* vector dimension */
    uint32_t max_input_bytes;     /* texts longer than this fail as items */
    sc_embed_cache *cache;        /* borrowed, may be NULL */
    sc_embedder *fallback;        /* borrowed, may be NULL */
    char errmsg[512];             /* message of the last failed call on it ("" = none) */
};

/* ==== Construction ==== */

/* Record the failure of a call on e and return code. */
static sc_status embed__fail_on(sc_embedder *e, sc_status code, const char *msg) {
    snprintf(e->errmsg, sizeof e->errmsg, "%s", msg);
    return code;
}

static sc_embedder *embed__new(const char *id, const char *family, uint64_t hash, uint32_t dim) {
    sc_embedder *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->id = util_strdup(id);
    e->family = util_strdup(family ? family : id);
    e->model_hash = hash;
    e->dim = dim;
    e->max_input_bytes = 1u << 20;
    if (!e->id || !e->family) {
        sc_embedder_free(e);
        return NULL;
    }
    return e;
}

sc_status sc_embedder_new_custom(const sc_provider_vtable *vt, void *state, const char *id, uint64_t model_hash,
                                 const char *family, uint32_t dim, sc_embedder **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!vt || !vt->embed || !id || !out) return util_errmsg_out(errmsg, SC_MISUSE, "embed callback and id are required");
    if (dim < 1 || dim > SC_MAX_DIM_EMBED) return util_errmsg_out(errmsg, SC_INVALID, "dim is out of range");
    sc_embedder *e = embed__new(id, family, model_hash, dim);
    if (!e) return util_errmsg_out(errmsg, SC_NOMEM, "out of memory");
    e->vt = vt;
    e->state = state;
    *out = e;
    return SC_OK;
}

/* Provider callbacks over a loaded sc_model (built-in or transformer). */
static sc_status embed__model_embed(void *state, sc_embed_role side, const char *const *texts, size_t n, float *out,
                                    sc_embed_item *items) {
    (void)items;
    return sc_model_embed(state, side == SC_EMBED_ROLE_QUERY ? SC_EMBED_ROLE_QUERY : SC_EMBED_ROLE_CODE, texts, n,
                          out);
}

static const sc_provider_vtable embed__model_vt = {embed__model_embed, NULL};

sc_status sc_embedder_new_model(sc_model *model, sc_embedder **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!model || !out) return util_errmsg_out(errmsg, SC_MISUSE, "a model is required");
    char id[64];
    snprintf(id, sizeof id, "builtin:%016llx", (unsigned long long)sc_model_hash(model));
    return sc_embedder_new_custom(&embed__model_vt, model, id, sc_model_hash(model), "semcode-builtin",
                                  sc_model_dim(model), out, errmsg);
}

sc_status sc_embedder_new_remote(const sc_remote_options *opt, sc_embedder **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!opt || !out) return util_errmsg_out(errmsg, SC_MISUSE, "options are required");
    sc_err err = {0};
    embed_remote *r = NULL;
    if (remote_new(opt, &r, &err) != SC_OK) return util_errmsg_out(errmsg, err.code, err.msg);
    util_buf id = {0};
    util_buf_printf(&id, "remote:%s#%s", opt->base_url, opt->model);
    sc_embedder *e = id.oom ? NULL : embed__new(id.data, opt->family ? opt->family : opt->model, 0, opt->dim);
    util_buf_free(&id);
    if (!e) {
        remote_free(r);
        return util_errmsg_out(errmsg, SC_NOMEM, "out of memory");
    }
    e->remote = r;
    e->max_input_bytes = opt->max_input_bytes ? opt->max_input_bytes : sc_remote_options_default().max_input_bytes;
    *out = e;
    return SC_OK;
}

void sc_embedder_free(sc_embedder *e) {
    if (!e) return;
    if (e->vt && e->vt->destroy) e->vt->destroy(e->state);
    remote_free(e->remote);
    free(e->id);
    free(e->family);
    free(e);
}

uint32_t sc_embedder_dim(const sc_embedder *e) { return e ? e->dim : 0; }
const char *sc_embedder_id(const sc_embedder *e) { return e ? e->id : ""; }
void sc_embedder_set_cache(sc_embedder *e, sc_embed_cache *cache) {
    if (e) e->cache = cache;
}

const char *sc_embedder_errmsg(const sc_embedder *e) {
    if (!e) return "no embedder";
    return e->errmsg[0] ? e->errmsg : "not an error";
}

sc_status sc_embedder_set_fallback(sc_embedder *e, sc_embedder *fallback) {
    if (!e) return SC_MISUSE;
    if (!fallback) {
        e->fallback = NULL;
        return SC_OK;
    }
    char msg[512];
    if (fallback == e) return embed__fail_on(e, SC_INVALID, "an embedder cannot be its own fallback");
    if (fallback->dim != e->dim) {
        snprintf(msg, sizeof msg, "fallback %s has dimension %u, %s has %u: vectors would not be comparable",
                 fallback->id, fallback->dim, e->id, e->dim);
        return embed__fail_on(e, SC_INVALID, msg);
    }
    if (strcmp(fallback->family, e->family)) {
        snprintf(msg, sizeof msg,
                 "fallback %s declares model family '%s', %s declares '%s': vectors would not be comparable",
                 fallback->id, fallback->family, e->id, e->family);
        return embed__fail_on(e, SC_INVALID, msg);
    }
    e->fallback = fallback;
    return SC_OK;
}

/* ==== Validation ==== */

static bool embed__check_text(const sc_embedder *e, const char *t, sc_embed_item *it) {
    if (!t || !*t) {
        it->status = SC_INVALID;
        snprintf(it->error, sizeof it->error, "text is empty");
        return false;
    }
    size_t n = strlen(t), bad = 0;
    if (n > e->max_input_bytes) {
        it->status = SC_INVALID;
        snprintf(it->error, sizeof it->error, "text is %zu bytes long, %s accepts at most %u", n, e->id,
                 e->max_input_bytes);
        return false;
    }
    bool blank = true;
    for (size_t i = 0; i < n && blank; i++) blank = t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r';
    if (blank) {
        it->status = SC_INVALID;
        snprintf(it->error, sizeof it->error, "text is only white space");
        return false;
    }
    if (!util_utf8_valid(t, n, &bad)) {
        it->status = SC_INVALID;
        snprintf(it->error, sizeof it->error, "text is not valid UTF-8 (byte %zu)", bad);
        return false;
    }
    return true;
}

/* ==== Embedding ==== */

/* Run the provider of e on texts[idx[0..m)] writing into out rows idx[]. */
static void embed__run(sc_embedder *e, sc_embed_role side, const char *const *texts, const size_t *idx, size_t m,
                       float *out, sc_embed_item *items, sc_embed_summary *sum) {
    const char **sub = malloc(sizeof *sub * m);
    float *vec = calloc((size_t)m * e->dim, sizeof *vec);
    sc_embed_item *sit = calloc(m, sizeof *sit);
    if (!sub || !vec || !sit) {
        for (size_t j = 0; j < m; j++) {
            items[idx[j]].status = SC_NOMEM;
            snprintf(items[idx[j]].error, sizeof items[idx[j]].error, "out of memory");
        }
        goto done;
    }
    for (size_t j = 0; j < m; j++) sub[j] = texts[idx[j]];
    if (e->remote) {
        remote_embed(e->remote, sub, m, vec, sit, sum);
    } else {
        sc_status rc = e->vt->embed(e->state, side, sub, m, vec, sit);
        if (rc != SC_OK)
            for (size_t j = 0; j < m; j++)
                if (sit[j].status == SC_OK) {
                    sit[j].status = rc;
                    snprintf(sit[j].error, sizeof sit[j].error, "%s failed: %s", e->id, sc_status_str(rc));
                }
    }
    for (size_t j = 0; j < m; j++) {
        sc_embed_item *it = &items[idx[j]];
        float *v = vec + j * e->dim;
        if (sit[j].status == SC_OK)
            for (uint32_t d = 0; d < e->dim; d++)
                if (!isfinite(v[d])) {
                    sit[j].status = SC_CORRUPT;
                    snprintf(sit[j].error, sizeof sit[j].error, "%s produced a non-finite component %u", e->id, d);
                    break;
                }
        it->status = sit[j].status;
        memcpy(it->error, sit[j].error, sizeof it->error);
        it->provider = e->id;
        it->cached = false;
        if (it->status == SC_OK) memcpy(out + idx[j] * e->dim, v, sizeof(float) * e->dim);
    }
done:
    free(sub);
    free(vec);
    free(sit);
}

sc_status sc_embedder_embed(sc_embedder *e, sc_embed_role side, const char *const *texts, size_t n, float *out,
                            sc_embed_item *items, sc_embed_summary *summary) {
    sc_embed_summary local_sum;
    sc_embed_summary *sum = summary ? summary : &local_sum;
    memset(sum, 0, sizeof *sum);
    if (!e) return SC_MISUSE;
    if (n && (!texts || !out)) return embed__fail_on(e, SC_MISUSE, "sc_embedder_embed: NULL texts or out");
    sum->total = n;
    if (n == 0) return SC_OK;
    sc_embed_item *it = items ? items : calloc(n, sizeof *it);
    uint8_t (*keys)[EMBED_KEY_SIZE] = malloc(EMBED_KEY_SIZE * n);
    bool *found = calloc(n, sizeof *found), *fresh = calloc(n, sizeof *fresh);
    size_t *todo = malloc(sizeof *todo * n);
    if (!it || !keys || !found || !fresh || !todo) {
        if (!items) free(it);
        free(keys);
        free(found);
        free(fresh);
        free(todo);
        return embed__fail_on(e, SC_NOMEM, "out of memory for a batch of texts");
    }
    memset(out, 0, sizeof(float) * e->dim * n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&it[i], 0, sizeof it[i]);
        it[i].provider = e->id;
        if (!embed__check_text(e, texts[i], &it[i])) continue;
        if (e->cache) cache_key(e->id, e->model_hash, side, texts[i], keys[i]);
        todo[m++] = i;
    }
    /* Cache first (only for the valid texts). */
    if (e->cache && m) {
        uint8_t (*k2)[EMBED_KEY_SIZE] = malloc(EMBED_KEY_SIZE * m);
        float *v2 = malloc(sizeof(float) * e->dim * m);
        bool *f2 = calloc(m, sizeof *f2);
        /* the keys of a cache written before xxHash, while it may hold some (no memory: not looked up) */
        uint8_t (*k1)[EMBED_KEY_SIZE] = cache_has_v1(e->cache) ? malloc(EMBED_KEY_SIZE * m) : NULL;
        if (k2 && v2 && f2) {
            for (size_t j = 0; j < m; j++) {
                memcpy(k2[j], keys[todo[j]], EMBED_KEY_SIZE);
                if (k1) cache_key_v1(e->id, e->model_hash, side, texts[todo[j]], k1[j]);
            }
            cache_get_many(e->cache, (const uint8_t (*)[EMBED_KEY_SIZE])k2, (const uint8_t (*)[EMBED_KEY_SIZE])k1, m,
                           e->dim, v2, f2);
            size_t w = 0;
            for (size_t j = 0; j < m; j++) {
                size_t i = todo[j];
                if (f2[j]) {
                    memcpy(out + i * e->dim, v2 + j * e->dim, sizeof(float) * e->dim);
                    found[i] = it[i].cached = true;
                    sum->cached++;
                } else {
                    todo[w++] = i;
                }
            }
            m = w;
        }
        free(k1);
        free(k2);
        free(v2);
        free(f2);
    }
    /* The provider for the rest, then the fallback for what it could not do. */
    if (m) {
        embed__run(e, side, texts, todo, m, out, it, sum);
        size_t w = 0;
        for (size_t j = 0; j < m; j++) {
            size_t i = todo[j];
            if (it[i].status == SC_OK) {
                fresh[i] = true;
                sum->newly_embedded++;
            } else if (it[i].status == SC_IOERR && e->fallback) {
                todo[w++] = i; /* remote requests exhausted */
            }
        }
        if (w) {
            embed__run(e->fallback, side, texts, todo, w, out, it, sum);
            for (size_t j = 0; j < w; j++)
                if (it[todo[j]].status == SC_OK) {
                    sum->newly_embedded++;
                    sum->fallback++;
                }
        }
    }
    /* Cache what this provider computed (not the fallback's: other model id). */
    if (e->cache) cache_put_many(e->cache, (const uint8_t (*)[EMBED_KEY_SIZE])keys, n, e->dim, out, fresh);
    for (size_t i = 0; i < n; i++) {
        if (it[i].status == SC_OK) sum->success++;
        else sum->failed++;
    }
    if (!items) free(it);
    free(keys);
    free(found);
    free(fresh);
    free(todo);
    return SC_OK;
}
