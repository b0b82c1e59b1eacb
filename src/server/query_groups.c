/*
** server/query_groups.c: grouped search, POST /points/query/groups (and
** the legacy /points/search/groups and /points/recommend/groups, which
** are translated to the query form): the best hits of a query gathered
** into at most `limit` groups of at most `group_size` hits by the values
** of the payload key `group_by`, each group optionally joined with the
** point of another collection whose id is the group's value (`with_lookup`).
**
** DESIGN
** - A group's id is a string or integer value at group_by; an array gives
**   one group per distinct element (a point can be in several groups),
**   "key[]" and nested paths read as in filters; other values (floats,
**   booleans, objects, nested arrays, null) form no group.
** - The query runs as a /points/query with the same fields, restricted to
**   points where group_by is not empty, for group_size · limit candidates
**   first; while groups are missing or not full and more candidates exist,
**   it runs again for four times as many (up to SERVER_MAX_LIMIT). Hits
**   fill groups in score order: a new value opens a group while fewer than
**   limit exist, so groups come ordered by their best hit, as in Qdrant.
*/
#include "server/query_int.h"
#include "store/filter.h" /* filter_path_values: group_by read as filters read keys */

#include <stdlib.h>
#include <string.h>

/* One group being filled. */
typedef struct groups_group {
    json_t *id;     /* owned group value (string or integer) */
    size_t *hits;   /* owned indices into the candidate hits */
    size_t n_hits;  /* entries (at most group_size) */
} groups_group;

/* A grouped search in progress. */
typedef struct groups_state {
    groups_group *groups; /* owned, n_groups entries, capacity limit */
    size_t n_groups;      /* groups opened */
    size_t limit;         /* most groups */
    size_t group_size;    /* most hits per group */
    size_t n_full;        /* groups with group_size hits */
    size_t hit;           /* the hit being grouped (index into the candidates) */
    bool oom;             /* an allocation failed */
} groups_state;

static void groups__clear(groups_state *g) {
    for (size_t i = 0; i < g->n_groups; i++) {
        json_decref(g->groups[i].id);
        free(g->groups[i].hits);
    }
    g->n_groups = g->n_full = 0;
}

/* Add the current hit to the group of value v (filter_path_values callback). */
static void groups__value_cb(const json_t *v, void *arg) {
    groups_state *g = arg;
    if (!json_is_string(v) && !json_is_integer(v)) return;
    size_t k = 0;
    while (k < g->n_groups && !json_equal(g->groups[k].id, (json_t *)v)) k++;
    if (k == g->n_groups) {
        if (g->n_groups == g->limit) return;
        groups_group *ng = &g->groups[g->n_groups];
        ng->id = json_deep_copy(v);
        ng->hits = malloc(g->group_size * sizeof *ng->hits);
        ng->n_hits = 0;
        if (!ng->id || !ng->hits) {
            json_decref(ng->id);
            free(ng->hits);
            g->oom = true;
            return;
        }
        g->n_groups++;
    }
    groups_group *gr = &g->groups[k];
    if (gr->n_hits == g->group_size || (gr->n_hits && gr->hits[gr->n_hits - 1] == g->hit)) return; /* full, or a repeated value */
    gr->hits[gr->n_hits++] = g->hit;
    if (gr->n_hits == g->group_size) g->n_full++;
}

/* Group the candidate hits (their payloads read from coll) into g. */
static bool groups__fill(server_call *call, const char *coll, const char *key, const server_hits *hits,
                         groups_state *g) {
    groups__clear(g);
    sc_point_id *ids = malloc((hits->n ? hits->n : 1) * sizeof *ids);
    if (!ids) return server_fail(call, 500, "out of memory"), false;
    for (size_t i = 0; i < hits->n; i++) ids[i] = hits->items[i].id;
    sc_with with = {.payload = true};
    sc_record_list *rl = NULL;
    sc_status rc = sc_points_get(call->ctx->db, coll, ids, hits->n, &with, &rl);
    free(ids);
    if (rc != SC_OK) return server_fail_store(call, rc), false;
    for (size_t i = 0, j = 0; i < rl->n && !g->oom && g->n_full < g->limit; i++) {
        while (j < hits->n && sc_point_id_cmp(&hits->items[j].id, &rl->items[i].id)) j++;
        if (j == hits->n) break;
        json_t *payload = rl->items[i].payload_json ? json_loads(rl->items[i].payload_json, 0, NULL) : NULL;
        g->hit = j;
        if (payload) filter_path_values(payload, key, groups__value_cb, g);
        json_decref(payload);
    }
    sc_record_list_free(rl);
    if (g->oom) return server_fail(call, 500, "out of memory"), false;
    return true;
}

/* with_lookup: a collection name, or {collection, with_payload (default
** true), with_vectors / with_vector (default false)}. */
typedef struct groups_lookup {
    bool on;                       /* with_lookup given */
    char coll[SERVER_NAME_SIZE];   /* its store collection */
    server_with with;              /* what its records carry */
} groups_lookup;

/* Decode with_lookup wl (absent or null: off) into *lk; 404 "Collection x
** not found" as Qdrant words it when the collection does not exist. */
static bool groups__lookup(server_call *call, const json_t *wl, groups_lookup *lk) {
    memset(lk, 0, sizeof *lk);
    if (!wl || json_is_null(wl)) return true;
    const char *name = json_is_string(wl) ? json_string_value(wl) : json_string_value(json_object_get(wl, "collection"));
    if (!name)
        return server_fail(call, 400, "Json deserialize error: `with_lookup` must be a collection name or "
                                      "{\"collection\": name, \"with_payload\"?, \"with_vectors\"?}"), false;
    char store[SERVER_NAME_SIZE];
    if (!server_coll_name(call, name, store) || !sc_collection_exists(call->ctx->db, store)) {
        call->status = 0;
        return server_fail(call, 404, "Not found: Collection %s not found", name), false;
    }
    snprintf(lk->coll, sizeof lk->coll, "%s", store);
    /* with_payload defaults to true here; with_vectors is also spelt with_vector */
    json_t *sel = json_is_object(wl) ? json_deep_copy(wl) : json_object();
    if (!sel) return server_fail(call, 500, "out of memory"), false;
    const json_t *wv = json_object_get(sel, "with_vectors");
    if (wv) json_object_set(sel, "with_vector", (json_t *)wv);
    bool ok = server_json_with(call, sel, true, &lk->with);
    json_decref(sel);
    lk->on = ok;
    return ok;
}

/* The lookup record of group id gid (NULL when gid names no point there). */
static json_t *groups__lookup_record(server_call *call, const groups_lookup *lk, const json_t *gid) {
    sc_point_id id;
    if (json_is_integer(gid) && json_integer_value(gid) >= 0) id = sc_point_id_num((uint64_t)json_integer_value(gid));
    else if (!json_is_string(gid) || sc_point_id_parse_uuid(json_string_value(gid), &id) != SC_OK) return NULL;
    sc_record_list *rl = NULL;
    if (sc_points_get(call->ctx->db, lk->coll, &id, 1, &lk->with.with, &rl) != SC_OK) return NULL;
    json_t *r = rl->n ? server_json_record(&rl->items[0], false) : NULL;
    sc_record_list_free(rl);
    return r;
}

/* {"groups": [...]} of a QueryGroupsRequest body q in coll. */
static json_t *groups__run(server_call *call, const char *coll, const json_t *q) {
    const char *key = NULL;
    uint64_t limit, group_size;
    if (!json_is_object(q)) return server_fail(call, 400, "Json deserialize error: the request body must be an object");
    if (!server_json_str(call, q, "group_by", &key)) return NULL;
    if (!key) return server_fail(call, 400, "Json deserialize error: missing field `group_by`");
    if (!*key)
        return server_fail(call, 422, "Validation error in JSON body: [group_by: must be at least 1 characters]");
    /* any u64 of at least 1, as Qdrant; no more than SERVER_MAX_LIMIT candidates are read anyway */
    if (!server_json_uint(call, q, "limit", 10, 1, (uint64_t)INT64_MAX, &limit) ||
        !server_json_uint(call, q, "group_size", 3, 1, (uint64_t)INT64_MAX, &group_size))
        return NULL;
    if (limit > SERVER_MAX_LIMIT) limit = SERVER_MAX_LIMIT;
    if (group_size > SERVER_MAX_LIMIT) group_size = SERVER_MAX_LIMIT;
    groups_lookup lk;
    if (!groups__lookup(call, json_object_get(q, "with_lookup"), &lk)) return NULL;
    server_with w = {0};
    json_t *req = json_deep_copy(q), *out = NULL;
    groups_state g = {.limit = (size_t)limit, .group_size = (size_t)group_size};
    server_hits hits = {0};
    sc_record_list *rl = NULL;
    bool ok = req && (g.groups = calloc(g.limit, sizeof *g.groups)) != NULL;
    if (!ok) server_fail(call, 500, "out of memory");
    if (ok) ok = server_json_with(call, q, false, &w);
    if (ok) { /* only points with a value at group_by can form a group */
        static const char *const drop[] = {"group_by", "group_size", "with_lookup", "offset", "limit"};
        for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) json_object_del(req, drop[i]);
        json_t *has = json_pack("{s:[{s:{s:s}}]}", "must_not", "is_empty", "key", key);
        const json_t *f = json_object_get(q, "filter");
        if (has && f && !json_is_null(f)) json_object_set_new(has, "must", json_pack("[O]", f));
        if (!has) ok = !!server_fail(call, 500, "out of memory");
        else json_object_set_new(req, "filter", has);
    }
    uint64_t want = limit * group_size;
    while (ok) {
        uint64_t n = want < SERVER_MAX_LIMIT ? want : SERVER_MAX_LIMIT;
        json_object_set_new(req, "limit", json_integer((json_int_t)n));
        free(hits.items);
        ok = server_query_hits(call, coll, req, &hits) && groups__fill(call, coll, key, &hits, &g);
        if (!ok || g.n_full == g.limit || hits.n < n || n == SERVER_MAX_LIMIT) break;
        want *= 4;
    }
    /* the hits that made it into a group, once each, with payloads and vectors as asked */
    server_hits used = {0};
    size_t *slot = ok ? malloc((hits.n ? hits.n : 1) * sizeof *slot) : NULL;
    if (ok && (!slot || !(used.items = malloc((hits.n ? hits.n : 1) * sizeof *used.items))))
        ok = !!server_fail(call, 500, "out of memory");
    for (size_t i = 0; ok && i < hits.n; i++) slot[i] = SIZE_MAX;
    for (size_t k = 0; ok && k < g.n_groups; k++)
        for (size_t h = 0; h < g.groups[k].n_hits; h++) {
            size_t at = g.groups[k].hits[h];
            if (slot[at] == SIZE_MAX) slot[at] = 0; /* marked; numbered in hit order below */
        }
    for (size_t i = 0; ok && i < hits.n; i++)
        if (slot[i] != SIZE_MAX) used.items[used.n++] = hits.items[i];
    if (ok) ok = server_query_hits_records(call, coll, &used, &w.with, &rl);
    json_t **recs = ok ? calloc(used.n ? used.n : 1, sizeof *recs) : NULL;
    if (ok && !recs) ok = !!server_fail(call, 500, "out of memory");
    for (size_t i = 0, j = 0; ok && i < rl->n; i++) { /* records of used, in order; deleted ones skipped */
        while (j < used.n && sc_point_id_cmp(&used.items[j].id, &rl->items[i].id)) j++;
        if (j < used.n) recs[j] = server_json_record(&rl->items[i], true);
    }
    for (size_t i = 0, j = 0; ok && i < hits.n; i++)
        if (slot[i] != SIZE_MAX) slot[i] = j++;
    json_t *arr = ok ? json_array() : NULL;
    for (size_t k = 0; arr && k < g.n_groups; k++) {
        json_t *gh = json_array();
        for (size_t h = 0; h < g.groups[k].n_hits; h++) {
            json_t *r = recs[slot[g.groups[k].hits[h]]];
            if (r) json_array_append(gh, r);
        }
        json_t *grp = json_pack("{s:o,s:O}", "hits", gh, "id", g.groups[k].id);
        if (grp && lk.on) {
            json_t *lr = groups__lookup_record(call, &lk, g.groups[k].id);
            if (lr) json_object_set_new(grp, "lookup", lr);
        }
        json_array_append_new(arr, grp);
    }
    if (arr) out = json_pack("{s:o}", "groups", arr);
    if (ok && !out) server_fail(call, 500, "out of memory");
    for (size_t i = 0; recs && i < used.n; i++) json_decref(recs[i]);
    free(recs);
    free(slot);
    free(used.items);
    sc_record_list_free(rl);
    free(hits.items);
    groups__clear(&g);
    free(g.groups);
    json_decref(req);
    server_with_free(&w);
    server_with_free(&lk.with);
    return out;
}

/* groups__run, with validation messages naming fields as Qdrant does
** ("search_group_request.<path>": its grouped requests wrap the query). */
static json_t *groups__answer(server_call *call, const char *coll, const json_t *q) {
    json_t *out = groups__run(call, coll, q);
    server_validation_prefix(call, "search_group_request.");
    return out;
}

/* POST /collections/{c}/points/query/groups */
json_t *server_api_query_groups(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    if (!call->body) return server_fail(call, 400, "Json deserialize error: a request body is required");
    return groups__answer(call, coll, call->body);
}

/* The legacy body b as a query request: b's fields but those in `moved`,
** with `query` set to q (owned). */
static json_t *groups__as_query(const json_t *b, const char *const *moved, size_t n_moved, json_t *q) {
    json_t *req = json_deep_copy(b);
    if (!req || !q) {
        json_decref(req);
        json_decref(q);
        return NULL;
    }
    for (size_t i = 0; i < n_moved; i++) json_object_del(req, moved[i]);
    json_object_set_new(req, "query", q);
    return req;
}

/* POST /collections/{c}/points/search/groups: {vector (plain or {name,
** vector}), filter, params, score_threshold, with_*, group_by, group_size,
** limit, with_lookup}. */
json_t *server_api_search_groups(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    const json_t *b = call->body, *v = b ? json_object_get(b, "vector") : NULL;
    if (!v) return server_fail(call, 400, "Json deserialize error: missing field `vector`");
    static const char *const moved[] = {"vector"};
    const json_t *named = json_is_object(v) && json_object_get(v, "vector") ? v : NULL;
    json_t *req = groups__as_query(b, moved, 1, json_deep_copy(named ? json_object_get(named, "vector") : v));
    if (!req) return server_fail(call, 500, "out of memory");
    if (named) json_object_set(req, "using", json_object_get(named, "name"));
    json_t *out = groups__answer(call, coll, req);
    json_decref(req);
    return out;
}

/* POST /collections/{c}/points/recommend/groups: {positive, negative,
** strategy, using, lookup_from, filter, ..., group_by, group_size, limit,
** with_lookup}. */
json_t *server_api_recommend_groups(server_call *call) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    const json_t *b = call->body;
    if (!json_is_object(b)) return server_fail(call, 400, "Json deserialize error: a request body is required");
    static const char *const moved[] = {"positive", "negative", "strategy"};
    json_t *reco = json_object();
    for (size_t i = 0; reco && i < 3; i++) {
        const json_t *v = json_object_get(b, moved[i]);
        if (v && !json_is_null(v)) json_object_set(reco, moved[i], (json_t *)v);
    }
    json_t *req = groups__as_query(b, moved, 3, reco ? json_pack("{s:o}", "recommend", reco) : NULL);
    if (!req) return server_fail(call, 500, "out of memory");
    json_t *out = groups__answer(call, coll, req);
    json_decref(req);
    return out;
}
