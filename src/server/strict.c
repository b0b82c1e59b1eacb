/*
** server/strict.c: Qdrant's strict mode (`strict_mode_config` of a
** collection): the configuration kept in the collection's settings
** (qconfig.c), and the checks that requests of a collection pass when it is
** enabled, with Qdrant's words in the errors.
*/
#include "server/server_int.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Configuration ==== */

/* The fields of StrictModeConfig with their JSON type. */
typedef enum server_strict_type {
    SERVER_STRICT_BOOL = 0,   /* true / false */
    SERVER_STRICT_UINT = 1,   /* unsigned integer, at least `min` */
    SERVER_STRICT_NUMBER = 2, /* any number */
    SERVER_STRICT_OBJECT = 3, /* {vector name: {field: unsigned}} (multivector_config, sparse_config) */
} server_strict_type;

static const struct {
    const char *key;         /* field */
    server_strict_type type; /* its type */
    json_int_t min;          /* smallest value (SERVER_STRICT_UINT) */
} server__strict_fields[] = {
    {"enabled", SERVER_STRICT_BOOL, 0},
    {"max_query_limit", SERVER_STRICT_UINT, 1},
    {"max_timeout", SERVER_STRICT_UINT, 1},
    {"unindexed_filtering_retrieve", SERVER_STRICT_BOOL, 0},
    {"unindexed_filtering_update", SERVER_STRICT_BOOL, 0},
    {"search_max_hnsw_ef", SERVER_STRICT_UINT, 0},
    {"search_allow_exact", SERVER_STRICT_BOOL, 0},
    {"search_max_oversampling", SERVER_STRICT_NUMBER, 0},
    {"upsert_max_batchsize", SERVER_STRICT_UINT, 0},
    {"search_max_batchsize", SERVER_STRICT_UINT, 0},
    {"max_collection_vector_size_bytes", SERVER_STRICT_UINT, 0},
    {"read_rate_limit", SERVER_STRICT_UINT, 1},
    {"write_rate_limit", SERVER_STRICT_UINT, 1},
    {"max_collection_payload_size_bytes", SERVER_STRICT_UINT, 0},
    {"max_points_count", SERVER_STRICT_UINT, 1},
    {"filter_max_conditions", SERVER_STRICT_UINT, 0},
    {"condition_max_size", SERVER_STRICT_UINT, 0},
    {"multivector_config", SERVER_STRICT_OBJECT, 0},
    {"sparse_config", SERVER_STRICT_OBJECT, 0},
    {"max_payload_index_count", SERVER_STRICT_UINT, 0},
};

/* Check one field `key` = v of a strict_mode_config; false after a 400/422. */
static bool server__strict_check(server_call *call, const char *key, const json_t *v) {
    for (size_t i = 0; i < sizeof server__strict_fields / sizeof *server__strict_fields; i++) {
        if (strcmp(key, server__strict_fields[i].key)) continue;
        switch (server__strict_fields[i].type) {
        case SERVER_STRICT_BOOL:
            if (!json_is_boolean(v))
                return server_fail(call, 400, "Json deserialize error: `strict_mode_config.%s` must be a bool", key),
                       false;
            return true;
        case SERVER_STRICT_NUMBER:
            if (!json_is_number(v))
                return server_fail(call, 400, "Json deserialize error: `strict_mode_config.%s` must be a number", key),
                       false;
            return true;
        case SERVER_STRICT_OBJECT:
            if (!json_is_object(v))
                return server_fail(call, 400, "Json deserialize error: `strict_mode_config.%s` must be an object", key),
                       false;
            return true;
        case SERVER_STRICT_UINT:
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return server_fail(call, 400, "Json deserialize error: `strict_mode_config.%s` must be an unsigned "
                                   "integer", key), false;
            if (json_integer_value(v) < server__strict_fields[i].min)
                return server_fail(call, 422, "Validation error in JSON body: [strict_mode_config.%s: value %lld "
                                   "invalid, must be %lld or larger]", key, (long long)json_integer_value(v),
                                   (long long)server__strict_fields[i].min), false;
            return true;
        }
    }
    return server_fail(call, 400, "Json deserialize error: unknown field `strict_mode_config.%.64s`", key), false;
}

bool server_strict_settings(server_call *call, json_t *settings, const json_t *diff) {
    if (!diff || json_is_null(diff)) return true;
    if (!json_is_object(diff))
        return server_fail(call, 400, "Json deserialize error: `strict_mode_config` must be an object"), false;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)diff, key, v) {
        if (!json_is_null(v) && !server__strict_check(call, key, v)) return false;
    }
    json_t *cur = json_object_get(settings, "strict_mode_config");
    if (!json_is_object(cur)) json_object_set_new(settings, "strict_mode_config", cur = json_object());
    /* a null leaves a field as it is (Qdrant does not unset strict mode fields) */
    json_object_foreach((json_t *)diff, key, v) {
        if (json_is_null(v)) continue;
        json_t *old = json_object_get(cur, key);
        if (json_is_object(v) && json_is_object(old)) { /* per vector name: merged */
            json_t *merged = json_deep_copy(old);
            const char *name;
            json_t *lim;
            json_object_foreach((json_t *)v, name, lim) {
                json_t *o = json_object_get(merged, name);
                if (json_is_object(o) && json_is_object(lim)) json_object_update(o, lim);
                else json_object_set(merged, name, lim);
            }
            json_object_set_new(cur, key, merged);
        } else {
            json_object_set(cur, key, (json_t *)v);
        }
    }
    return true;
}

/* ==== Checks ==== */

/* Qdrant's strict mode error: 400 "Bad request: <what>. Help: <help>". */
static bool server__strict_fail(server_call *call, const char *what, const char *help) {
    server_fail(call, 400, "Bad request: %s. Help: %s", what, help);
    return false;
}

/* check_limit_opt: value over limit (when both are set) is an error. */
static bool server__strict_limit(server_call *call, const json_t *cfg, const char *cfg_key, const json_t *value,
                                 const char *name) {
    const json_t *lim = json_object_get(cfg, cfg_key);
    if (!json_is_number(lim) || !json_is_number(value) || json_number_value(value) <= json_number_value(lim))
        return true;
    char what[256], help[256], v[40], l[40];
    if (json_is_integer(value)) snprintf(v, sizeof v, "%lld", (long long)json_integer_value(value));
    else snprintf(v, sizeof v, "%g", json_number_value(value));
    if (json_is_integer(lim)) snprintf(l, sizeof l, "%lld", (long long)json_integer_value(lim));
    else snprintf(l, sizeof l, "%g", json_number_value(lim));
    snprintf(what, sizeof what, "Limit exceeded %s > %s for \"%s\"", v, l, name);
    snprintf(help, sizeof help, "Reduce the \"%s\" parameter to or below %s.", name, l);
    return server__strict_fail(call, what, help);
}

/* The collection facts some checks need, read once per request. */
typedef struct server_strict_ctx {
    server_call *call;         /* the request */
    const json_t *cfg;         /* its collection's strict_mode_config */
    const char *coll;          /* store name of the collection */
    sc_collection_info info;   /* filled on first use */
    bool have_info;            /* info is filled */
} server_strict_ctx;

/* The collection's info (NULL when it cannot be read: the checks needing it pass). */
static const sc_collection_info *server__strict_info(server_strict_ctx *sc) {
    if (!sc->have_info && sc_collection_info_get(sc->call->ctx->db, sc->coll, &sc->info) == SC_OK) sc->have_info = true;
    return sc->have_info ? &sc->info : NULL;
}

/* Index types that can answer condition c on its key (comma-separated, as
** Qdrant lists them), or NULL when the condition needs no index. */
static const char *server__strict_needs(const json_t *c) {
    const json_t *m = json_object_get(c, "match");
    if (json_is_object(m)) {
        const json_t *v = json_object_get(m, "value");
        const json_t *arr = json_object_get(m, "any");
        if (!arr) arr = json_object_get(m, "except");
        if (json_is_array(arr) && json_array_size(arr)) v = json_array_get(arr, 0);
        else if (json_is_array(arr)) return "*"; /* empty list: any index serves */
        if (json_is_string(v)) return "keyword, uuid";
        if (json_is_integer(v)) return "integer";
        if (json_is_boolean(v)) return "bool";
        if (json_object_get(m, "text") || json_object_get(m, "phrase") || json_object_get(m, "text_any")) return "text";
        return NULL;
    }
    const json_t *r = json_object_get(c, "range");
    if (json_is_object(r)) {
        const char *k;
        const json_t *x;
        json_object_foreach((json_t *)r, k, x) {
            if (json_is_string(x)) return "datetime";
        }
        return "datetime, float, integer";
    }
    if (json_object_get(c, "geo_bounding_box") || json_object_get(c, "geo_radius") || json_object_get(c, "geo_polygon"))
        return "geo";
    if (json_object_get(c, "values_count")) return "*"; /* counted from any index of the key */
    return NULL;
}

/* Does the collection have an index on key of one of the types in `needs`? */
static bool server__strict_indexed(const sc_collection_info *info, const char *key, const char *needs) {
    for (size_t i = 0; i < info->n_field_indexes; i++) {
        if (strcmp(info->field_indexes[i].key, key)) continue;
        if (!strcmp(needs, "*")) return true;
        const char *t = sc_field_type_name(info->field_indexes[i].type);
        size_t n = strlen(t);
        for (const char *p = strstr(needs, t); p; p = strstr(p + 1, t))
            if ((p == needs || p[-1] == ' ') && (p[n] == 0 || p[n] == ',')) return true;
    }
    return false;
}

/* Walk a filter: count leaf conditions into *n_conds, the largest input of
** one (match any / except values, has_id ids) into *max_size, and the first
** key without a usable index (prefix: the nested path above) into the
** owned *unindexed with its types. */
static void server__strict_walk(const json_t *f, const sc_collection_info *info, const char *prefix, size_t *n_conds,
                                size_t *max_size, char **unindexed, const char **types) {
    static const char *const clauses[] = {"must", "should", "must_not"};
    for (int k = 0; k < 4; k++) {
        const json_t *list = k < 3 ? json_object_get(f, clauses[k])
                                   : json_object_get(json_object_get(f, "min_should"), "conditions");
        if (json_is_object(list)) { /* a single condition instead of a list */
            json_t *wrapped = json_pack("{s:[O]}", "must", list);
            server__strict_walk(wrapped, info, prefix, n_conds, max_size, unindexed, types);
            json_decref(wrapped);
            continue;
        }
        size_t i;
        const json_t *c;
        json_array_foreach(list, i, c) {
            const json_t *nested = json_object_get(c, "nested");
            if (json_is_object(nested)) {
                char sub[600];
                snprintf(sub, sizeof sub, "%s%s[].", prefix, json_string_value(json_object_get(nested, "key")));
                server__strict_walk(json_object_get(nested, "filter"), info, sub, n_conds, max_size, unindexed, types);
                continue;
            }
            if (json_object_get(c, "must") || json_object_get(c, "should") || json_object_get(c, "must_not") ||
                json_object_get(c, "min_should")) {
                server__strict_walk(c, info, prefix, n_conds, max_size, unindexed, types);
                continue;
            }
            (*n_conds)++;
            const json_t *m = json_object_get(c, "match");
            const json_t *arr = json_object_get(m, "any");
            if (!arr) arr = json_object_get(m, "except");
            if (!arr) arr = json_object_get(c, "has_id");
            if (json_array_size(arr) > *max_size) *max_size = json_array_size(arr);
            const char *key = json_string_value(json_object_get(c, "key"));
            const char *needs = key ? server__strict_needs(c) : NULL;
            if (!needs || *unindexed || !info) continue;
            char full[600];
            snprintf(full, sizeof full, "%s%s", prefix, key);
            if (!server__strict_indexed(info, full, needs)) {
                *unindexed = strdup(full);
                *types = needs;
            }
        }
    }
}

/* The checks of one filter: unindexed keys (when allow is false), condition count and size. */
static bool server__strict_filter(server_strict_ctx *sc, const json_t *f, const char *allow_key) {
    if (!json_is_object(f)) return true;
    const json_t *allow = json_object_get(sc->cfg, allow_key);
    const sc_collection_info *info = json_is_false(allow) ? server__strict_info(sc) : NULL;
    size_t n = 0, size = 0;
    char *unindexed = NULL;
    const char *types = NULL;
    server__strict_walk(f, info, "", &n, &size, &unindexed, &types);
    char what[800];
    if (unindexed) {
        snprintf(what, sizeof what, "Index required but not found for \"%s\" of one of the following types: [%s]",
                 unindexed, strcmp(types, "*") ? types : "any");
        free(unindexed);
        return server__strict_fail(sc->call, what, "Create an index for this key or use a different filter.");
    }
    const json_t *maxc = json_object_get(sc->cfg, "filter_max_conditions");
    if (json_is_integer(maxc) && (json_int_t)n > json_integer_value(maxc)) {
        snprintf(what, sizeof what, "Filter condition limit reached (%zu > %lld)", n, (long long)json_integer_value(maxc));
        return server__strict_fail(sc->call, what, "Reduce the amount of conditions of your filter.");
    }
    const json_t *maxs = json_object_get(sc->cfg, "condition_max_size");
    if (json_is_integer(maxs) && (json_int_t)size > json_integer_value(maxs)) {
        snprintf(what, sizeof what, "Condition size limit reached (%zu > %lld)", size, (long long)json_integer_value(maxs));
        return server__strict_fail(sc->call, what, "Reduce the size of your condition.");
    }
    return true;
}

/* The checks of one search-like request object r (a query, a search, one
** of a batch, a prefetch): limit, filter, search params; prefetches too. */
static bool server__strict_read_one(server_strict_ctx *sc, const json_t *r, int depth) {
    if (!json_is_object(r) || depth > 8) return true;
    if (!server__strict_limit(sc->call, sc->cfg, "max_query_limit", json_object_get(r, "limit"), "limit")) return false;
    if (!server__strict_filter(sc, json_object_get(r, "filter"), "unindexed_filtering_retrieve")) return false;
    const json_t *p = json_object_get(r, "params");
    if (json_is_true(json_object_get(p, "exact")) && json_is_false(json_object_get(sc->cfg, "search_allow_exact")))
        return server__strict_fail(sc->call, "Exact search disabled!", "Set exact=false.");
    if (!server__strict_limit(sc->call, sc->cfg, "search_max_hnsw_ef", json_object_get(p, "hnsw_ef"), "hnsw_ef") ||
        !server__strict_limit(sc->call, sc->cfg, "search_max_oversampling",
                              json_object_get(json_object_get(p, "quantization"), "oversampling"), "oversampling"))
        return false;
    const json_t *pre = json_object_get(r, "prefetch");
    if (json_is_object(pre)) return server__strict_read_one(sc, pre, depth + 1);
    size_t i;
    const json_t *x;
    json_array_foreach(pre, i, x) {
        if (!server__strict_read_one(sc, x, depth + 1)) return false;
    }
    return true;
}

/* Bytes of vectors the collection stores (float32). */
static uint64_t server__strict_vector_bytes(const sc_collection_info *info) {
    uint64_t b = 0;
    for (size_t i = 0; i < info->n_vector_params; i++) b += info->vector_index[i].n_vectors * info->vectors[i].dim * 4u;
    return b;
}

/* The size limits of an insertion: points, vector and payload storage. */
static bool server__strict_sizes(server_strict_ctx *sc) {
    const json_t *vlim = json_object_get(sc->cfg, "max_collection_vector_size_bytes");
    const json_t *plim = json_object_get(sc->cfg, "max_collection_payload_size_bytes");
    const json_t *nlim = json_object_get(sc->cfg, "max_points_count");
    if (!json_is_integer(vlim) && !json_is_integer(plim) && !json_is_integer(nlim)) return true;
    const sc_collection_info *info = server__strict_info(sc);
    if (!info) return true;
    char what[200];
    if (json_is_integer(nlim) && (json_int_t)info->n_points >= json_integer_value(nlim)) {
        snprintf(what, sizeof what, "Bad request: Max points count limit of %lld reached!",
                 (long long)json_integer_value(nlim));
        return server_fail(sc->call, 400, "%s", what), false;
    }
    if (json_is_integer(vlim) && (json_int_t)server__strict_vector_bytes(info) >= json_integer_value(vlim))
        return server_fail(sc->call, 400, "Bad request: Max vector storage size limit of %gMB reached!",
                           (double)json_integer_value(vlim) / (1024.0 * 1024.0)), false;
    /* payloads live in the store's database: its share of the files */
    if (json_is_integer(plim) && (json_int_t)info->disk_bytes >= json_integer_value(plim))
        return server_fail(sc->call, 400, "Bad request: Max payload storage size limit of %gMB reached!",
                           (double)json_integer_value(plim) / (1024.0 * 1024.0)), false;
    return true;
}

/* Sparse vectors of one point's `vector` object over sparse_config limits. */
static bool server__strict_sparse(server_strict_ctx *sc, const json_t *vec) {
    const json_t *limits = json_object_get(sc->cfg, "sparse_config");
    if (!json_is_object(limits) || !json_is_object(vec)) return true;
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)vec, name, v) {
        const json_t *max = json_object_get(json_object_get(limits, name), "max_length");
        size_t n = json_array_size(json_object_get(v, "indices"));
        if (json_is_integer(max) && (json_int_t)n > json_integer_value(max)) {
            char what[400];
            snprintf(what, sizeof what, "Sparse vector '%.255s' has a limit of %lld indices, but %zu were provided!", name,
                     (long long)json_integer_value(max), n);
            return server_fail(sc->call, 400, "Bad request: %s", what), false;
        }
    }
    return true;
}

/* An upsert body ({points} or {batch}) or an update_vectors body ({points}). */
static bool server__strict_insert(server_strict_ctx *sc, const json_t *b, const char *limit_name) {
    const json_t *pts = json_object_get(b, "points");
    const json_t *batch = json_object_get(b, "batch");
    json_t *n = json_integer((json_int_t)(pts ? json_array_size(pts) : json_array_size(json_object_get(batch, "ids"))));
    bool ok = server__strict_limit(sc->call, sc->cfg, "upsert_max_batchsize", n, limit_name);
    json_decref(n);
    if (!ok || !server__strict_sizes(sc)) return false;
    size_t i;
    const json_t *p;
    json_array_foreach(pts, i, p) {
        if (!server__strict_sparse(sc, json_object_get(p, "vector"))) return false;
    }
    const json_t *vs = json_object_get(batch, "vectors");
    if (json_is_object(vs)) { /* {name: [vector per point]} */
        const char *name;
        const json_t *col;
        json_object_foreach((json_t *)vs, name, col) {
            json_array_foreach(col, i, p) {
                json_t *one = json_pack("{s:O}", name, p);
                ok = server__strict_sparse(sc, one);
                json_decref(one);
                if (!ok) return false;
            }
        }
    }
    return true;
}

/* One write operation body of `kind` (a route label, or a batch operation name). */
static bool server__strict_write(server_strict_ctx *sc, const char *kind, const json_t *b) {
    if (!strcmp(kind, "points_upsert") || !strcmp(kind, "upsert")) return server__strict_insert(sc, b, "upsert limit");
    if (!strcmp(kind, "vectors_update") || !strcmp(kind, "update_vectors"))
        return server__strict_insert(sc, b, "update limit");
    if (!strcmp(kind, "index_create")) {
        const json_t *max = json_object_get(sc->cfg, "max_payload_index_count");
        const sc_collection_info *info = json_is_integer(max) ? server__strict_info(sc) : NULL;
        const char *field = json_string_value(json_object_get(b, "field_name"));
        bool exists = false;
        for (size_t i = 0; info && field && i < info->n_field_indexes; i++)
            exists |= !strcmp(info->field_indexes[i].key, field);
        if (info && !exists && (json_int_t)info->n_field_indexes >= json_integer_value(max)) {
            char what[200];
            snprintf(what, sizeof what, "Collection already has the maximum number of payload indices (%lld)",
                     (long long)json_integer_value(max));
            return server__strict_fail(sc->call, what, "Please delete an existing index before creating a new one.");
        }
        return true;
    }
    return server__strict_filter(sc, json_object_get(b, "filter"), "unindexed_filtering_update");
}

/* A token bucket of one collection and kind (read / write). */
typedef struct server_strict_bucket {
    char coll[SERVER_NAME_SIZE];    /* store name */
    bool write;                     /* write limiter, else read */
    double tokens;                  /* tokens available */
    double last;                    /* when tokens was computed (seconds) */
} server_strict_bucket;

#define SERVER_STRICT_BUCKETS 256

/* The rate limiters of a server (one per collection and kind in use). */
struct server_limiters {
    pthread_mutex_t mu;                              /* guards the rest */
    server_strict_bucket b[SERVER_STRICT_BUCKETS];   /* in first-use order; when full, one is reused */
    size_t n;                                        /* entries of b in use */
};

server_limiters *server_limiters_new(void) {
    server_limiters *l = calloc(1, sizeof *l);
    if (l) pthread_mutex_init(&l->mu, NULL);
    return l;
}

void server_limiters_free(server_limiters *l) {
    if (!l) return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* Take `cost` tokens from the limiter of (coll, write) with `per_minute`
** capacity, refilled continuously; false after Qdrant's 429. */
static bool server__strict_rate(server_call *call, const char *coll, bool write, json_int_t per_minute, double cost) {
    server_limiters *l = call->ctx->limiters;
    if (!l) return true;
    pthread_mutex_lock(&l->mu);
    double now = util_now();
    server_strict_bucket *b = NULL;
    for (size_t i = 0; i < l->n && !b; i++)
        if (l->b[i].write == write && !strcmp(l->b[i].coll, coll)) b = &l->b[i];
    if (!b) {
        b = &l->b[l->n < SERVER_STRICT_BUCKETS ? l->n++ : (size_t)now % SERVER_STRICT_BUCKETS];
        snprintf(b->coll, sizeof b->coll, "%s", coll);
        b->write = write;
        b->tokens = (double)per_minute;
        b->last = now;
    }
    double cap = (double)per_minute;
    b->tokens += (now - b->last) * cap / 60.0;
    if (b->tokens > cap) b->tokens = cap;
    b->last = now;
    const char *kind = write ? "Write" : "Read";
    bool ok = true;
    if (cost > cap) {
        server_fail(call, 429, "Rate limiting exceeded: %s rate limit exceeded, request larger than rate limiter "
                    "capacity, please try to split your request", kind);
        ok = false;
    } else if (b->tokens < cost) {
        double wait = ceil((cost - b->tokens) * 60.0 / cap);
        if (wait < 1.0) wait = 1.0;
        server_fail(call, 429, "Rate limiting exceeded: %s rate limit exceeded: Operation requires %g tokens but only "
                    "%.1f were available. Retry after %.0fs", kind, cost, floor(b->tokens * 10.0) / 10.0, wait);
        call->retry_after = (unsigned)wait;
        ok = false;
    } else {
        b->tokens -= cost;
    }
    pthread_mutex_unlock(&l->mu);
    return ok;
}

/* Leaf conditions of a filter (nested filters' too). */
static size_t server__strict_conditions(const json_t *f) {
    size_t n = 0, size = 0;
    char *unindexed = NULL;
    const char *types = NULL;
    if (json_is_object(f)) server__strict_walk(f, NULL, "", &n, &size, &unindexed, &types);
    return n;
}

/* Points an upsert or update_vectors body carries. */
static size_t server__strict_n_points(const json_t *b) {
    const json_t *pts = json_object_get(b, "points");
    return pts ? json_array_size(pts) : json_array_size(json_object_get(json_object_get(b, "batch"), "ids"));
}

/* Tokens a request takes from its collection's rate limiter: a write, one
** per point it carries (upserts, vector updates, deletes by id; each
** operation of a batch), else 1; a read, one per id it retrieves, else 1
** plus one per filter condition and per example of a recommendation. */
/* Call fn(arg, kind, body) for each operation of a batch update body, in
** order, while it returns true; false when one did. */
static bool server__strict_ops(const json_t *b, bool (*fn)(void *, const char *, const json_t *), void *arg) {
    size_t i;
    const json_t *op;
    json_array_foreach(json_object_get(b, "operations"), i, op) {
        const char *kind;
        const json_t *body;
        json_object_foreach((json_t *)op, kind, body) {
            if (!fn(arg, kind, body)) return false;
        }
    }
    return true;
}

/* server__strict_ops callback: add the cost of one operation to *(double *)arg. */
static bool server__strict_op_cost(void *arg, const char *kind, const json_t *body) {
    (void)kind;
    size_t n = server__strict_n_points(body);
    *(double *)arg += n ? (double)n : 1.0;
    return true;
}

/* server__strict_ops callback: the write checks of one operation. */
static bool server__strict_op_check(void *arg, const char *kind, const json_t *body) {
    return server__strict_write(arg, kind, body);
}

static double server__strict_cost(const char *label, const json_t *b, bool write) {
    if (write && !strcmp(label, "points_batch")) {
        double c = 0;
        server__strict_ops(b, server__strict_op_cost, &c);
        return c > 0 ? c : 1.0;
    }
    if (write) {
        size_t n = server__strict_n_points(b);
        return n ? (double)n : 1.0;
    }
    const json_t *ids = json_object_get(b, "ids");
    if (!strcmp(label, "points_get") && json_array_size(ids)) return (double)json_array_size(ids);
    const json_t *q = json_object_get(b, "query");
    const json_t *rec = json_is_object(q) ? json_object_get(q, "recommend") : b;
    size_t examples = json_array_size(json_object_get(rec, "positive")) + json_array_size(json_object_get(rec, "negative"));
    return 1.0 + (double)server__strict_conditions(json_object_get(b, "filter")) + (double)examples;
}

void server_strict_forget(server_ctx *ctx, const char *coll) {
    server_limiters *l = ctx->limiters;
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->n;) {
        if (strcmp(l->b[i].coll, coll)) {
            i++;
            continue;
        }
        l->b[i] = l->b[--l->n];
    }
    pthread_mutex_unlock(&l->mu);
}

/* Labels of the routes that change a collection's points or indexes. */
static bool server__strict_is_write(const char *label) {
    static const char *const w[] = {"points_upsert", "points_delete", "payload_set", "payload_overwrite",
                                    "payload_delete", "payload_clear", "points_batch", "vectors_update",
                                    "vectors_delete", "index_create", "index_delete"};
    for (size_t i = 0; i < sizeof w / sizeof *w; i++)
        if (!strcmp(label, w[i])) return true;
    return false;
}

/* Labels of the routes that manage a collection rather than use it: no strict mode. */
static bool server__strict_is_admin(const char *label) {
    return !strncmp(label, "collection_", 11) || !strcmp(label, "aliases_update");
}

bool server_strict_check(server_call *call, const char *label) {
    /* points_ndjson: its body is not parsed here; the endpoint checks each batch as points_upsert */
    if (!call->args[0] || server__strict_is_admin(label) || !strcmp(label, "points_ndjson")) return true;
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) { /* the endpoint answers that */
        call->status = 0;
        call->msg[0] = 0;
        return true;
    }
    char *text = NULL;
    if (sc_collection_settings_get(call->ctx->db, coll, &text) != SC_OK) return true;
    json_t *settings = json_loads(text, 0, NULL);
    sc_free(text);
    const json_t *cfg = json_object_get(settings, "strict_mode_config");
    if (!json_is_true(json_object_get(cfg, "enabled"))) {
        json_decref(settings);
        return true;
    }
    server_strict_ctx sc = {.call = call, .cfg = cfg, .coll = coll};
    const json_t *b = call->body;
    bool write = server__strict_is_write(label), ok = true;
    const char *t = server_arg(call, "timeout");
    if (t) {
        json_t *tv = json_integer((json_int_t)strtoll(t, NULL, 10));
        ok = server__strict_limit(call, cfg, "max_timeout", tv, "timeout");
        json_decref(tv);
    }
    const json_t *rl = json_object_get(cfg, write ? "write_rate_limit" : "read_rate_limit");
    if (ok && json_is_integer(rl))
        ok = server__strict_rate(call, coll, write, json_integer_value(rl), server__strict_cost(label, b, write));
    if (ok && write && !strcmp(label, "points_batch")) {
        ok = server__strict_ops(b, server__strict_op_check, &sc);
    } else if (ok && write) {
        ok = server__strict_write(&sc, label, b);
    } else if (ok && !strncmp(label, "matrix_", 7)) { /* the pairs a distance matrix computes: sample x limit */
        json_int_t sample = json_integer_value(json_object_get(b, "sample")), lim = json_integer_value(json_object_get(b, "limit"));
        json_t *pairs = json_integer((sample ? sample : 10) * (lim ? lim : 3));
        ok = server__strict_limit(call, cfg, "max_query_limit", pairs, "limit") &&
             server__strict_filter(&sc, json_object_get(b, "filter"), "unindexed_filtering_retrieve");
        json_decref(pairs);
    } else if (ok) {
        const json_t *batch = json_object_get(b, "searches");
        json_t *n = json_integer((json_int_t)json_array_size(batch));
        if (batch) ok = server__strict_limit(call, cfg, "search_max_batchsize", n, "search batch size");
        json_decref(n);
        size_t i;
        const json_t *one;
        json_array_foreach(batch, i, one) {
            if (ok) ok = server__strict_read_one(&sc, one, 0);
        }
        if (ok) ok = server__strict_read_one(&sc, b, 0);
    }
    if (sc.have_info) sc_collection_info_free(&sc.info);
    json_decref(settings);
    return ok;
}
