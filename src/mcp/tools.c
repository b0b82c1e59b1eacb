/*
** mcp/tools.c: the seven tools of the MCP server: their definitions
** (tools/list) and what each call does over the repository's public API
** (sc_repo_search, _similar, _resolve, _duplicates, sc_records_search,
** sc_repo_freshness). Definitions are kept short on purpose: together they
** stay under 1,500 tokens (tests/e2e/mcp.test.mjs counts them).
** Under `semcode serve` with several repositories, search_code searches
** all of them, or those its `repo` names (a name, a list or "all"), through
** sc_workspace_search (one ranking, each hit naming its repository; during
** a run, BM25 over each chosen store merged by score); find_duplicates
** reports the clusters of every repository (or the one named);
** find_similar looks for its target in the named repository, else in each
** in turn; index_status reports every repository and reindex updates all of
** them (or the one named). get_entity and search_history use the named
** repository, the first by default (mcp__repo_pick).
** Repository 0 is used under repo_mu, any other under its workspace lock
** (mcp_repo_lock_at); a search of several under repo_mu, which takes each
** one's workspace lock in turn (the HTTP server's lock order, server/server.h).
*/
#include "mcp/mcp_int.h"

#include "semcode/records.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Definitions ==== */

#define MCP_PAGE_PROPS                                                                                              \
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100},"                                               \
    "\"max_tokens\":{\"type\":\"integer\",\"minimum\":200,\"description\":\"output budget (default 2000)\"},"        \
    "\"cursor\":{\"type\":\"string\",\"description\":\"next_cursor of the previous page\"}"
#define MCP_FILTER_PROPS                                                                                            \
    "\"language\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"                                            \
    "\"kind\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"function, method, class...\"}," \
    "\"path\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"path globs\"},"
#define MCP_TARGET_PROP "\"target\":{\"type\":\"string\",\"description\":\"path:line or qualified name\"}"
#define MCP_REPO_BARE "\"repo\":{\"type\":\"string\"}"
#define MCP_REPO_PROP MCP_REPO_BARE ","

static const char mcp__tools_text[] =
    "["
    "{\"name\":\"search_code\",\"description\":\"Search the repository's code by meaning and words; best first. "
    "partial:true while a first index is built (keyword results so far).\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"query\":{\"type\":\"string\"},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"hybrid\",\"dense\",\"keyword\"]},"
    MCP_FILTER_PROPS
    "\"files\":{\"type\":\"boolean\",\"description\":\"rank files, not entities\"},"
    "\"repo\":{\"type\":[\"string\",\"array\"],\"description\":\"repository name(s) (default: all)\"},"
    MCP_PAGE_PROPS
    "},\"required\":[\"query\"]}},"
    "{\"name\":\"find_similar\",\"description\":\"Code most similar to an entity.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{" MCP_TARGET_PROP "," MCP_FILTER_PROPS MCP_REPO_PROP MCP_PAGE_PROPS
    "},\"required\":[\"target\"]}},"
    "{\"name\":\"find_duplicates\",\"description\":\"Clusters of near-duplicate code.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"threshold\":{\"type\":\"number\",\"description\":\"similarity 0.5-1 (default 0.95)\"},"
    "\"min_lines\":{\"type\":\"integer\",\"minimum\":1}," MCP_REPO_PROP MCP_PAGE_PROPS "}}},"
    "{\"name\":\"get_entity\",\"description\":\"An entity's source with context lines, signature, doc, callers and callees.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{" MCP_TARGET_PROP ","
    "\"context\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":50,\"description\":\"lines around (default 3)\"}," MCP_REPO_PROP
    "\"max_tokens\":{\"type\":\"integer\",\"minimum\":200}},\"required\":[\"target\"]}},"
    "{\"name\":\"search_history\",\"description\":\"Search ingested commits, issues, PRs and docs.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"query\":{\"type\":\"string\"},"
    "\"in\":{\"type\":\"string\",\"enum\":[\"commits\",\"issues\",\"prs\",\"docs\",\"all\"]}," MCP_REPO_PROP MCP_PAGE_PROPS
    "},\"required\":[\"query\"]}},"
    "{\"name\":\"index_status\",\"description\":\"Index state: files indexed and stale, last run, model, errors, "
    "progress.\",\"inputSchema\":{\"type\":\"object\",\"properties\":{" MCP_REPO_BARE "}}},"
    "{\"name\":\"reindex\",\"description\":\"Start an incremental index update in the background; returns at once.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{" MCP_REPO_PROP
    "\"model\":{\"type\":\"string\",\"description\":\"switch to: builtin, configured or a model file\"}}}}"
    "]";

json_t *mcp_tools_json(void) {
    json_error_t e;
    return json_loads(mcp__tools_text, 0, &e);
}

/* ==== Results ==== */

/* A score as printed: 3 decimals. */
static json_t *mcp__score(float s) { return json_real(round((double)s * 1000.0) / 1000.0); }

/* Compact object of a code hit. */
static json_t *mcp__hit(const sc_code_hit *h, bool files) {
    json_t *o = json_pack("{s:s,s:[i,i],s:s,s:s,s:o}", "path", h->path, "lines", (json_int_t)h->start_line,
                          (json_int_t)h->end_line, "kind", h->kind, "name",
                          *h->qualified_name ? h->qualified_name : h->name, "score", mcp__score(h->score));
    if (!o) return NULL;
    if (h->signature && *h->signature) json_object_set_new(o, "signature", json_string(h->signature));
    if (h->snippet && *h->snippet) json_object_set_new(o, "snippet", json_string(h->snippet));
    if (files) json_object_set_new(o, "entities", json_integer(h->n_entities));
    if (h->repo) json_object_set_new(o, "repo", json_string(h->repo));
    return o;
}

/* The hits as an array of compact objects (owned). */
static json_t *mcp__hits(const sc_code_hits *h, bool files) {
    json_t *a = json_array();
    for (size_t i = 0; i < h->n; i++) json_array_append_new(a, mcp__hit(&h->items[i], files));
    return a;
}

/* Name repository i (when a workspace is served) in head (may be NULL) and in each hit object of items. */
static void mcp__name_hits(mcp_server *m, size_t i, json_t *head, json_t *items) {
    const char *name = mcp_repo_name(m, i);
    if (!name) return;
    if (head) json_object_set_new(head, "repo", json_string(name));
    for (size_t k = 0; k < json_array_size(items); k++)
        json_object_set_new(json_array_get(items, k), "repo", json_string(name));
}

/* ==== Shared argument sets ==== */

/* Filters, limit, budget and cursor of search_code and find_similar. */
typedef struct mcp_query_args {
    sc_code_query q;                       /* filled query (limit = offset + limit + 1) */
    const char *langs[MCP_MAX_FILTERS];    /* `language` */
    const char *kinds[MCP_MAX_FILTERS];    /* `kind` */
    const char *paths[MCP_MAX_FILTERS];    /* `path` */
    uint32_t limit;                        /* results per page */
    uint32_t offset;                       /* from `cursor` */
    uint32_t max_tokens;                   /* budget */
} mcp_query_args;

/* limit, max_tokens and cursor. */
static bool mcp__page_args(mcp_call *c, uint32_t def_limit, uint32_t *limit, uint32_t *max_tokens, uint32_t *offset) {
    return mcp_arg_uint(c, "limit", def_limit, 1, 100, limit) &&
           mcp_arg_uint(c, "max_tokens", MCP_DEFAULT_TOKENS, 200, 100000, max_tokens) && mcp_arg_cursor(c, offset);
}

static bool mcp__query_args(mcp_call *c, mcp_query_args *a) {
    memset(a, 0, sizeof *a);
    if (!mcp_arg_list(c, "language", a->langs, MCP_MAX_FILTERS, &a->q.n_langs) ||
        !mcp_arg_list(c, "kind", a->kinds, MCP_MAX_FILTERS, &a->q.n_kinds) ||
        !mcp_arg_list(c, "path", a->paths, MCP_MAX_FILTERS, &a->q.n_paths) ||
        !mcp__page_args(c, 10, &a->limit, &a->max_tokens, &a->offset))
        return false;
    if (a->offset > 1000) return mcp_arg_fail(c, "cursor", "is past the last page (at most 1000 results)");
    a->q.langs = a->langs;
    a->q.kinds = a->kinds;
    a->q.paths = a->paths;
    a->q.limit = a->offset + a->limit + 1; /* one more tells whether a next page exists */
    return true;
}

/* Refuse the repository's code to tenant keys and servers without one;
** NULL when allowed, else the error result. */
static json_t *mcp__code_denied(mcp_call *c) {
    if (!c->m->repo)
        return mcp_result_error("no repository is configured: start `semcode serve --repo PATH` or `semcode mcp "
                                "--repo PATH`");
    if (c->who && c->who->tenant)
        return mcp_result_error("the repository's code is the server's global namespace, which tenant keys may not "
                                "read; search_history searches the tenant's own records");
    return NULL;
}

/* The error result of a failed call of repo (lock held), or a -32602 naming field for a target not found. */
static json_t *mcp__repo_error(mcp_call *c, sc_repo *repo, sc_status rc, const char *field) {
    const char *msg = sc_repo_errmsg(repo);
    if (field && (rc == SC_NOTFOUND || rc == SC_INVALID)) {
        mcp_arg_fail(c, field, "%s", msg);
        return NULL;
    }
    return mcp_result_error("%s: %s", sc_status_str(rc), msg && *msg ? msg : "failed");
}

/* The answer while a background run holds repository i. */
static json_t *mcp__busy(mcp_call *c, const char *tool, size_t i) {
    json_t *p = mcp_progress_json(c->m, i);
    char *ps = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    json_t *r = mcp_result_error("%s needs the index, which a run is updating now (progress %s); search_code answers "
                                 "meanwhile (keyword, partial); index_status tells when the run ends",
                                 tool, ps ? ps : "{}");
    free(ps);
    return r;
}

/* A -32602 on field for the unknown repository `name`, listing the served ones; false. */
static bool mcp__repo_unknown(mcp_call *c, const char *field, const char *name) {
    char names[1024];
    return mcp_arg_fail(c, field, "no repository `%.64s` is served (repo must be one of: %s)", name,
                        c->m->ws ? sc_workspace_names(c->m->ws, names, sizeof names)
                                 : "none: this server has one repository and takes no repo");
}

/* The `repo` argument (one name) as a repository index in *out (0 when
** absent); a -32602 naming `repo` and listing the served names otherwise. */
static bool mcp__repo_pick(mcp_call *c, size_t *out) {
    const char *name;
    int i = 0;
    if (!mcp_arg_str(c, "repo", false, &name)) return false;
    if (name && (!c->m->ws || (i = sc_workspace_find(c->m->ws, name)) < 0)) return mcp__repo_unknown(c, "repo", name);
    *out = (size_t)i;
    return true;
}

/* The `repo` argument of the tools that take several (a name, a list, or
** "all"; absent: all) as chosen[0..n_repos) flags; *named tells whether
** one was given. A -32602 naming the unknown one otherwise. */
static bool mcp__repo_set(mcp_call *c, bool list, bool chosen[SC_WORKSPACE_MAX_REPOS], bool *named) {
    const char *names[MCP_MAX_FILTERS];
    size_t n = 0;
    if (list ? !mcp_arg_list(c, "repo", names, MCP_MAX_FILTERS, &n) : !mcp_arg_str(c, "repo", false, &names[0]))
        return false;
    if (!list) n = names[0] ? 1 : 0;
    bool all = n == 0;
    memset(chosen, 0, SC_WORKSPACE_MAX_REPOS * sizeof *chosen);
    for (size_t k = 0; k < n; k++) {
        int i = -1;
        if (!strcmp(names[k], "all")) all = true;
        else if (!c->m->ws || (i = sc_workspace_find(c->m->ws, names[k])) < 0) {
            char field[32];
            snprintf(field, sizeof field, list && n > 1 ? "repo[%zu]" : "repo", k);
            return mcp__repo_unknown(c, field, names[k]);
        } else chosen[i] = true;
    }
    for (size_t i = 0; all && i < c->m->n_repos; i++) chosen[i] = true;
    *named = !all;
    return true;
}

/* Lock repository i and return it, or NULL (nothing held) while a
** background run holds it (mcp_repo_lock_at). */
static sc_repo *mcp__repo_lock(mcp_call *c, size_t i) {
    return mcp_repo_lock_at(c->m, i) ? mcp_repo_at(c->m, i) : NULL;
}

/* Release what mcp__repo_lock(c, i) took. */
static void mcp__repo_unlock(mcp_call *c, size_t i) { mcp_repo_unlock_at(c->m, i); }

/* Order of hit objects: score, best first. */
static int mcp__score_cmp(const void *a, const void *b) {
    double x = json_number_value(json_object_get(*(json_t *const *)a, "score"));
    double y = json_number_value(json_object_get(*(json_t *const *)b, "score"));
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Sort the objects of array a (changed in place) by cmp and keep at most max. */
static void mcp__sort_array(json_t *a, size_t max, int (*cmp)(const void *, const void *)) {
    size_t n = json_array_size(a);
    json_t **v = n ? malloc(n * sizeof *v) : NULL;
    if (!v) return;
    for (size_t i = 0; i < n; i++) v[i] = json_incref(json_array_get(a, i));
    qsort(v, n, sizeof *v, cmp);
    json_array_clear(a);
    for (size_t i = 0; i < n; i++) {
        if (i < max) json_array_append(a, v[i]);
        json_decref(v[i]);
    }
    free(v);
}

/* search_code while a run holds repo_mu: BM25 over the store of each chosen
** repository, merged by score (partial). NULL with msg set on failure. */
static json_t *mcp__search_partial(mcp_call *c, const bool *chosen, const char *query, const sc_code_query *q,
                                   char *msg, size_t msg_size) {
    json_t *items = json_array();
    for (size_t i = 0; items && i < c->m->n_repos; i++) {
        if (!chosen[i]) continue;
        json_t *one = mcp_partial_search(c->m, i, query, q, q->limit, msg, msg_size);
        if (!one) {
            json_decref(items);
            return NULL;
        }
        json_array_extend(items, one);
        json_decref(one);
    }
    mcp__sort_array(items, q->limit, mcp__score_cmp);
    return items;
}

/* search_code over the chosen repositories (more than one) through
** sc_workspace_search under repo_mu: one ranking, each hit naming its repository. */
static json_t *mcp__search_multi(mcp_call *c, const bool *chosen, const mcp_query_args *a, json_t *head) {
    const char *names[SC_WORKSPACE_MAX_REPOS];
    size_t n = 0;
    bool all = true;
    for (size_t i = 0; i < c->m->n_repos; i++) {
        if (chosen[i]) names[n++] = sc_workspace_name(c->m->ws, i);
        else all = false;
    }
    sc_code_hits *h = NULL;
    char *err = NULL;
    sc_status rc = sc_workspace_search(c->m->ws, names, all ? 0 : n, &a->q, &h, &err);
    mcp_repo_unlock_at(c->m, 0);
    json_t *r = NULL;
    if (rc == SC_NOTFOUND) mcp_arg_fail(c, "repo", "%s", err ? err : "no such repository");
    else if (rc == SC_INVALID) mcp_arg_fail(c, "query", "%s", err ? err : "bad query");
    else if (rc != SC_OK) r = mcp_result_error("%s: %s", sc_status_str(rc), err ? err : "failed");
    else {
        if (h->low_confidence) json_object_set_new(head, "low_confidence", json_true());
        r = mcp_result(mcp_page_fit(json_incref(head), mcp__hits(h, a->q.files), a->offset, a->limit, a->max_tokens,
                                    false),
                       false);
    }
    sc_free(err);
    sc_code_hits_free(h);
    return r;
}

/* ==== Tools ==== */

static json_t *mcp__search_code(mcp_call *c) {
    static const char *const allowed[] = {"query", "mode", "language", "kind", "path", "files", "repo", "limit",
                                          "max_tokens", "cursor", NULL};
    static const char *const modes[] = {"hybrid", "dense", "keyword"};
    mcp_query_args a;
    const char *query;
    bool chosen[SC_WORKSPACE_MAX_REPOS], named;
    int mode;
    if (!mcp_arg_known(c, allowed) || !mcp_arg_str(c, "query", true, &query) ||
        !mcp_arg_enum(c, "mode", modes, 3, 0, &mode) || !mcp__query_args(c, &a) ||
        !mcp_arg_bool(c, "files", false, &a.q.files) || !mcp__repo_set(c, true, chosen, &named))
        return NULL;
    json_t *denied = mcp__code_denied(c);
    if (denied) return denied;
    a.q.text = query;
    a.q.mode = mode == 1 ? SC_SEARCH_MODE_DENSE : mode == 2 ? SC_SEARCH_MODE_KEYWORD : SC_SEARCH_MODE_HYBRID;
    size_t n_chosen = 0, one = 0;
    for (size_t i = 0; i < c->m->n_repos; i++)
        if (chosen[i]) n_chosen++, one = i;
    json_t *head = json_object();
    json_t *items = NULL, *r = NULL;
    /* several: sc_workspace_search under repo_mu, unless the run holds one of them throughout (it takes the
    ** lock of a repository after repo_mu, so one seen idle here stays free for the search) */
    bool whole = n_chosen > 1 && mcp_repo_lock_at(c->m, 0);
    for (size_t i = 1; whole && i < c->m->n_repos; i++)
        if (chosen[i] && mcp_repo_busy(c->m, i) == 2) {
            mcp_repo_unlock_at(c->m, 0);
            whole = false;
        }
    if (whole) {
        json_object_set_new(head, "mode", json_string(modes[mode]));
        json_object_set_new(head, "partial", json_false());
        r = mcp__search_multi(c, chosen, &a, head); /* releases repo_mu */
        json_decref(head);
        return r;
    }
    sc_repo *repo = n_chosen == 1 ? mcp__repo_lock(c, one) : NULL;
    if (repo) {
        sc_code_hits *h = NULL;
        sc_status rc = sc_repo_search(repo, &a.q, &h);
        if (rc != SC_OK) {
            r = mcp__repo_error(c, repo, rc, rc == SC_INVALID ? "query" : NULL);
            mcp__repo_unlock(c, one);
            json_decref(head);
            return r;
        }
        mcp__repo_unlock(c, one);
        json_object_set_new(head, "mode", json_string(modes[mode]));
        json_object_set_new(head, "partial", json_false());
        if (h->low_confidence) json_object_set_new(head, "low_confidence", json_true());
        items = mcp__hits(h, a.q.files);
        sc_code_hits_free(h);
        mcp__name_hits(c->m, one, NULL, items);
    } else {
        char msg[512];
        if (a.q.files) a.q.files = false; /* files ranking needs the repository: entities meanwhile */
        items = mcp__search_partial(c, chosen, query, &a.q, msg, sizeof msg);
        if (!items) {
            json_decref(head);
            return mcp_result_error("search failed during an index run: %s", msg);
        }
        json_object_set_new(head, "mode", json_string("keyword"));
        json_object_set_new(head, "partial", json_true());
        json_object_set_new(head, "progress", mcp_progress_json(c->m, n_chosen == 1 ? one : 0));
    }
    return mcp_result(mcp_page_fit(head, items, a.offset, a.limit, a.max_tokens, false), false);
}

static json_t *mcp__find_similar(mcp_call *c) {
    static const char *const allowed[] = {"target", "language", "kind", "path", "repo", "limit", "max_tokens", "cursor",
                                          NULL};
    mcp_query_args a;
    const char *target;
    bool chosen[SC_WORKSPACE_MAX_REPOS], named;
    if (!mcp_arg_known(c, allowed) || !mcp_arg_str(c, "target", true, &target) || !mcp__query_args(c, &a) ||
        !mcp__repo_set(c, false, chosen, &named))
        return NULL;
    json_t *denied = mcp__code_denied(c);
    if (denied) return denied;
    a.q.mode = SC_SEARCH_MODE_DENSE;
    /* the target lives in one repository: the named one, else the first that has it (its neighbours are searched there) */
    sc_code_hits *h = NULL;
    json_t *err = NULL;
    size_t ri = 0;
    for (size_t i = 0; i < c->m->n_repos && !h && !err && !c->code; i++) {
        if (!chosen[i]) continue;
        sc_repo *repo = mcp__repo_lock(c, i);
        if (!repo) return mcp__busy(c, "find_similar", i);
        sc_status rc = sc_repo_similar(repo, target, &a.q, &h);
        bool last = true;
        for (size_t k = i + 1; k < c->m->n_repos; k++) last = last && !chosen[k];
        if (rc == SC_OK) ri = i;
        else if (rc != SC_NOTFOUND || last) err = mcp__repo_error(c, repo, rc, "target");
        mcp__repo_unlock(c, i);
    }
    if (!h) return err;
    json_t *head = json_pack("{s:s}", "target", target);
    json_t *items = mcp__hits(h, false);
    sc_code_hits_free(h);
    mcp__name_hits(c->m, ri, head, items);
    return mcp_result(mcp_page_fit(head, items, a.offset, a.limit, a.max_tokens, false), false);
}

/* Order of duplicate clusters: size, then similarity, larger first. */
static int mcp__cluster_cmp(const void *a, const void *b) {
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t sx = json_integer_value(json_object_get(x, "size")), sy = json_integer_value(json_object_get(y, "size"));
    if (sx != sy) return sx < sy ? 1 : -1;
    double px = json_number_value(json_object_get(x, "similarity")), py = json_number_value(json_object_get(y, "similarity"));
    return px < py ? 1 : px > py ? -1 : 0;
}

static json_t *mcp__find_duplicates(mcp_call *c) {
    static const char *const allowed[] = {"threshold", "min_lines", "repo", "limit", "max_tokens", "cursor", NULL};
    double threshold;
    uint32_t min_lines, limit, max_tokens, offset;
    bool chosen[SC_WORKSPACE_MAX_REPOS], named;
    if (!mcp_arg_known(c, allowed) ||
        !mcp_arg_num(c, "threshold", (double)SC_DUPLICATES_DEFAULT_THRESHOLD, 0.5, 1.0, &threshold) ||
        !mcp_arg_uint(c, "min_lines", 5, 1, 100000, &min_lines) ||
        !mcp__page_args(c, 10, &limit, &max_tokens, &offset) || !mcp__repo_set(c, false, chosen, &named))
        return NULL;
    json_t *denied = mcp__code_denied(c);
    if (denied) return denied;
    json_t *items = json_array();
    for (size_t ri = 0; ri < c->m->n_repos; ri++) {
        if (!chosen[ri]) continue;
        sc_repo *repo = mcp__repo_lock(c, ri);
        if (!repo) {
            json_decref(items);
            return mcp__busy(c, "find_duplicates", ri);
        }
        sc_dup_clusters *d = NULL;
        sc_status rc = sc_repo_duplicates(repo, (float)threshold, min_lines, &d);
        json_t *err = rc != SC_OK ? mcp__repo_error(c, repo, rc, NULL) : NULL;
        mcp__repo_unlock(c, ri);
        if (rc != SC_OK) {
            json_decref(items);
            return err;
        }
        const char *name = mcp_repo_name(c->m, ri);
        for (size_t i = 0; i < d->n; i++) {
            json_t *members = json_array();
            for (size_t k = 0; k < d->items[i].n; k++) {
                const sc_code_hit *h = &d->items[i].items[k];
                json_array_append_new(members, json_pack("{s:s,s:[i,i],s:s}", "path", h->path, "lines",
                                                         (json_int_t)h->start_line, (json_int_t)h->end_line, "name",
                                                         *h->qualified_name ? h->qualified_name : h->name));
            }
            json_t *cl = json_pack("{s:o,s:i,s:o}", "similarity", mcp__score(d->items[i].similarity), "size",
                                   (json_int_t)d->items[i].n, "members", members);
            if (cl && name) json_object_set_new(cl, "repo", json_string(name));
            json_array_append_new(items, cl);
        }
        sc_dup_clusters_free(d);
    }
    /* several repositories: one list, largest clusters first, then the most similar (as within one) */
    if (c->m->n_repos > 1) mcp__sort_array(items, SIZE_MAX, mcp__cluster_cmp);
    json_t *head = json_pack("{s:o,s:i}", "threshold", mcp__score((float)threshold), "min_lines", (json_int_t)min_lines);
    return mcp_result(mcp_page_fit(head, items, offset, limit, max_tokens, false), false);
}

/* Lines first..last of the file at root/path (1-based, clamped), at most max_bytes. Owned, NULL when unreadable. */
static char *mcp__read_lines(const char *root, const char *path, uint32_t first, uint32_t last, size_t max_bytes,
                             bool *cut) {
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", root, path);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    util_buf b = {0};
    char line[8192];
    uint32_t ln = 0;
    bool mid = false; /* inside a line longer than the buffer */
    *cut = false;
    while (fgets(line, sizeof line, f)) {
        if (!mid) ln++;
        size_t n = strlen(line);
        mid = n && line[n - 1] != '\n';
        if (ln < first) continue;
        if (ln > last) break;
        if (b.len + n > max_bytes) {
            *cut = true;
            break;
        }
        util_buf_append(&b, line, n);
    }
    fclose(f);
    return b.data ? b.data : util_strdup("");
}

/* Call-graph rows listed by get_entity, per direction. */
#define MCP_GRAPH_LIMIT 10

/* Compact call-graph rows: the other end's name and where the call is
** (callers: the calling entity; callees: the called one, or the bare name
** when it is outside the repository). */
static json_t *mcp__edges_json(const sc_call_edges *g, bool callers) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < g->n; i++) {
        const sc_call_edge *x = &g->items[i];
        const sc_call_entity *other = callers ? &x->caller : &x->callee;
        const char *name = other->qualified_name && *other->qualified_name ? other->qualified_name
                           : other->name && *other->name ? other->name
                           : callers ? "(top level)" : x->name;
        json_t *r = json_pack("{s:s,s:s,s:I}", "name", name ? name : "", "path", x->path ? x->path : "", "line",
                              (json_int_t)x->line);
        if (r && !callers && !other->id) json_object_set_new(r, "resolved", json_false());
        if (!r || json_array_append_new(a, r) != 0) break;
    }
    return a;
}

static json_t *mcp__get_entity(mcp_call *c) {
    static const char *const allowed[] = {"target", "context", "repo", "max_tokens", NULL};
    const char *target;
    uint32_t context, max_tokens;
    size_t ri;
    if (!mcp_arg_known(c, allowed) || !mcp_arg_str(c, "target", true, &target) ||
        !mcp_arg_uint(c, "context", 3, 0, 50, &context) ||
        !mcp_arg_uint(c, "max_tokens", MCP_DEFAULT_TOKENS, 200, 100000, &max_tokens) || !mcp__repo_pick(c, &ri))
        return NULL;
    json_t *denied = mcp__code_denied(c);
    if (denied) return denied;
    sc_repo *repo = mcp__repo_lock(c, ri);
    if (!repo) return mcp__busy(c, "get_entity", ri);
    sc_code_hits *h = NULL;
    sc_point_id id;
    sc_status rc = sc_repo_resolve(repo, target, &h, &id);
    json_t *err = rc != SC_OK ? mcp__repo_error(c, repo, rc, "target") : NULL;
    char *doc = NULL;
    if (rc == SC_OK) {
        sc_record_list *l = NULL;
        static const char *const keys[] = {"doc"};
        sc_with with = {.payload = true, .payload_include = keys, .n_payload_include = 1};
        if (sc_points_get(sc_repo_db(repo), "code", &id, 1, &with, &l) == SC_OK && l->n) {
            json_t *p = json_loads(l->items[0].payload_json ? l->items[0].payload_json : "{}", 0, NULL);
            const char *d = json_string_value(json_object_get(p, "doc"));
            if (d) doc = util_strdup(d);
            json_decref(p);
        }
        sc_record_list_free(l);
    }
    /* the call graph (absent in an index that has none yet: then the fields are left out) */
    sc_call_edges *callers = NULL, *callees = NULL;
    if (rc == SC_OK) {
        if (sc_repo_callers(repo, target, MCP_GRAPH_LIMIT, &callers) != SC_OK) callers = NULL;
        if (sc_repo_callees(repo, target, MCP_GRAPH_LIMIT, &callees) != SC_OK) callees = NULL;
    }
    mcp__repo_unlock(c, ri);
    if (rc != SC_OK) return err;
    const sc_code_hit *e = &h->items[0];
    uint32_t first = e->start_line > context ? e->start_line - context : 1;
    json_t *o = json_pack("{s:s,s:[i,i],s:s,s:s,s:s}", "path", e->path, "lines", (json_int_t)e->start_line,
                          (json_int_t)e->end_line, "kind", e->kind, "name",
                          *e->qualified_name ? e->qualified_name : e->name, "language", e->language);
    if (*e->signature) json_object_set_new(o, "signature", json_string(e->signature));
    if (doc && *doc) json_object_set_new(o, "doc", json_string(doc));
    if (callers) json_object_set_new(o, "callers", mcp__edges_json(callers, true));
    if (callees) json_object_set_new(o, "callees", mcp__edges_json(callees, false));
    sc_call_edges_free(callers);
    sc_call_edges_free(callees);
    size_t head_bytes = json_dumpb(o, NULL, 0, MCP_JSON_FLAGS) + 64;
    size_t budget = (size_t)max_tokens * 3;
    bool cut = false;
    /* the source is JSON-escaped: leave a margin of a fifth for escapes */
    char *src = mcp__read_lines(sc_repo_root(repo), e->path, first, e->end_line + context,
                                budget > head_bytes ? (budget - head_bytes) * 4 / 5 : 0, &cut);
    json_object_set_new(o, "source_first_line", json_integer(first));
    json_object_set_new(o, "source", src ? json_string(src) : json_null());
    if (cut) json_object_set_new(o, "budget_cut", json_true());
    free(src);
    free(doc);
    sc_code_hits_free(h);
    return mcp_result(o, false);
}

/* A compact object of a record hit. */
static json_t *mcp__rec_hit(const sc_rec_hit *h) {
    json_t *o = json_pack("{s:s,s:s,s:s,s:o}", "kind", h->kind, "id", h->id, "title", h->title, "score",
                          mcp__score(h->score));
    const char *opt[][2] = {{"number", h->number}, {"author", h->author}, {"date", h->date}, {"state", h->state},
                            {"url", h->url}};
    for (size_t i = 0; o && i < sizeof opt / sizeof *opt; i++)
        if (opt[i][1] && *opt[i][1]) json_object_set_new(o, opt[i][0], json_string(opt[i][1]));
    return o;
}

static json_t *mcp__search_history(mcp_call *c) {
    static const char *const allowed[] = {"query", "in", "repo", "limit", "max_tokens", "cursor", NULL};
    static const char *const ins[] = {"commits", "issues", "prs", "docs", "all"};
    const char *query;
    int in;
    uint32_t limit, max_tokens, offset;
    size_t ri;
    if (!mcp_arg_known(c, allowed) || !mcp_arg_str(c, "query", true, &query) ||
        !mcp_arg_enum(c, "in", ins, 5, 4, &in) || !mcp__page_args(c, 10, &limit, &max_tokens, &offset) ||
        !mcp__repo_pick(c, &ri))
        return NULL;
    if (!c->m->repo) return mcp__code_denied(c);
    /* repository 0's store is read without the lock during its run (keyword, partial); the others need theirs */
    bool locked = mcp_repo_lock_at(c->m, ri);
    if (!locked && ri) return mcp__busy(c, "search_history with repo", ri);
    sc_repo *repo = mcp_repo_at(c->m, ri);
    sc_search_mode mode = SC_SEARCH_MODE_HYBRID;
    sc_embedder *emb = NULL;
    if (!locked || sc_repo_embedder(repo, &emb) != SC_OK) mode = SC_SEARCH_MODE_KEYWORD;
    sc_records_options o = sc_records_options_default();
    o.tenant = c->who ? c->who->tenant : NULL;
    sc_records *rs = NULL;
    char *errmsg = NULL;
    json_t *result = NULL;
    json_t **all = NULL;
    size_t n_all = 0, cap = 0;
    if (sc_repo_records_open(repo, mode == SC_SEARCH_MODE_KEYWORD ? NULL : emb, &o, &rs, &errmsg) != SC_OK) {
        result = mcp_result_error("cannot open the records: %s", errmsg ? errmsg : "failed");
        goto done;
    }
    size_t n_sections;
    const char *const *sections = sc_rec_sections(&n_sections);
    for (size_t k = 0; k < n_sections && !result; k++) {
        if (in != 4 && strcmp(ins[in], sections[k])) continue;
        sc_rec_kind kinds[SC_REC_SECTION_MAX_KINDS];
        sc_rec_query rq = {.text = query, .mode = mode, .limit = offset + limit + 1};
        if (sc_rec_query_set_section(&rq, sections[k], kinds) != SC_OK) continue;
        sc_rec_hits *rh = NULL;
        sc_status rc = sc_records_search(rs, &rq, &rh);
        if (rc != SC_OK) {
            if (rc == SC_INVALID) mcp_arg_fail(c, "query", "%s", sc_records_errmsg(rs));
            else result = mcp_result_error("%s", sc_records_errmsg(rs));
            break;
        }
        for (size_t i = 0; i < rh->n; i++) {
            if (!util_grow(&all, &cap, n_all + 1, sizeof *all, 64)) break;
            all[n_all++] = mcp__rec_hit(&rh->items[i]);
        }
        sc_rec_hits_free(rh);
    }
    if (!result && !c->code) {
        if (n_all) qsort(all, n_all, sizeof *all, mcp__score_cmp);
        json_t *items = json_array();
        for (size_t i = 0; i < n_all; i++) json_array_append(items, all[i]);
        json_t *head = json_pack("{s:s,s:s,s:b}", "in", ins[in], "mode", sc_search_mode_name(mode), "partial", !locked);
        result = mcp_result(mcp_page_fit(head, items, offset, limit, max_tokens, false), false);
    }
done:
    for (size_t i = 0; i < n_all; i++) json_decref(all[i]);
    free(all);
    sc_records_close(rs);
    if (locked) mcp__repo_unlock(c, ri);
    sc_free(errmsg);
    return result;
}

static json_t *mcp__index_status(mcp_call *c) {
    static const char *const allowed[] = {"repo", NULL};
    bool chosen[SC_WORKSPACE_MAX_REPOS], named;
    if (!mcp_arg_known(c, allowed) || !mcp__repo_set(c, false, chosen, &named)) return NULL;
    json_t *denied = mcp__code_denied(c);
    if (denied) return denied;
    if (c->m->n_repos == 1 || named) {
        size_t i = 0;
        while (i < c->m->n_repos - 1 && !chosen[i]) i++;
        return mcp_result(mcp_index_status(c->m, i), false);
    }
    /* several repositories: one object each, and the overall state */
    json_t *repos = json_array();
    bool running = mcp_server_indexing(c->m);
    for (size_t i = 0; i < c->m->n_repos; i++) json_array_append_new(repos, mcp_index_status(c->m, i));
    return mcp_result(json_pack("{s:s,s:o}", "state", running ? "indexing" : "idle", "repos", repos), false);
}

/* The model options of reindex's `model` ("builtin", "configured" or a
** model file) into *o; a -32602 naming `model` otherwise. */
static bool mcp__model_arg(mcp_call *c, const char *model, sc_repo_options *o) {
    *o = sc_repo_options_default();
    if (!strcmp(model, "configured")) {
        if (!c->m->has_switch_to)
            return mcp_arg_fail(c, "model", "this server was started without a model for its repositories (serve "
                                "--repo-model FILE, or --provider openai with its options), so `configured` names "
                                "none; give builtin or a model file");
        *o = c->m->switch_to;
        return true;
    }
    o->provider = SC_REPO_PROVIDER_LOCAL;
    if (strcmp(model, "builtin")) o->model_path = model; /* else the shipped model */
    return true;
}

static json_t *mcp__reindex(mcp_call *c) {
    static const char *const allowed[] = {"repo", "model", NULL};
    bool chosen[SC_WORKSPACE_MAX_REPOS], named;
    const char *model;
    if (!mcp_arg_known(c, allowed) || !mcp__repo_set(c, false, chosen, &named) || !mcp_arg_str(c, "model", false, &model))
        return NULL;
    json_t *denied = mcp__code_denied(c);
    if (denied) return denied;
    if (!c->m->may_index) return mcp_result_error("reindex is turned off on this server");
    if (c->who && !c->who->may_write) return mcp_result_error("this API key may not reindex (it needs the write role)");
    int which = -1;
    for (size_t i = 0; named && i < c->m->n_repos; i++)
        if (chosen[i]) which = (int)i;
    sc_repo_options mo;
    if (model && !mcp__model_arg(c, model, &mo)) return NULL;
    /* a model: each chosen repository gets it as the target of a switch, which the run then does */
    for (size_t i = 0; model && i < c->m->n_repos; i++) {
        if (!chosen[i]) continue;
        sc_repo *repo = mcp__repo_lock(c, i);
        if (!repo)
            return mcp_result(json_pack("{s:b,s:s,s:o}", "started", false, "state", "indexing", "progress",
                                        mcp_progress_json(c->m, i)),
                              false);
        sc_status rc = sc_repo_switch_model(repo, &mo);
        json_t *err = NULL;
        if (rc == SC_INVALID || rc == SC_NOTFOUND || rc == SC_IOERR)
            mcp_arg_fail(c, "model", "%s", sc_repo_errmsg(repo));
        else if (rc != SC_OK)
            err = mcp_result_error("%s: %s", sc_status_str(rc), sc_repo_errmsg(repo));
        mcp__repo_unlock(c, i);
        if (rc != SC_OK) return err;
    }
    sc_status rc = mcp_server_reindex(c->m, which);
    if (rc == SC_BUSY)
        return mcp_result(json_pack("{s:b,s:s,s:o}", "started", false, "state", "indexing", "progress",
                                    mcp_progress_json(c->m, which < 0 ? 0 : (size_t)which)),
                          false);
    if (rc != SC_OK) return mcp_result_error("cannot start a run: %s", sc_status_str(rc));
    json_t *o = json_pack("{s:b,s:s}", "started", true, "state", "indexing");
    if (o && c->m->n_repos > 1) {
        json_t *names = json_array();
        for (size_t i = 0; i < c->m->n_repos; i++)
            if (which < 0 || (size_t)which == i) json_array_append_new(names, json_string(mcp_repo_name(c->m, i)));
        json_object_set_new(o, "repos", names);
    }
    return mcp_result(o, false);
}

/* ==== Dispatch ==== */

typedef struct mcp_tool {
    const char *name;                 /* as in tools/list */
    json_t *(*fn)(mcp_call *c);       /* the call */
} mcp_tool;

static const mcp_tool mcp__tools[] = {
    {"search_code", mcp__search_code},       {"find_similar", mcp__find_similar},
    {"find_duplicates", mcp__find_duplicates}, {"get_entity", mcp__get_entity},
    {"search_history", mcp__search_history}, {"index_status", mcp__index_status},
    {"reindex", mcp__reindex},
};

json_t *mcp_tool_call(mcp_call *call, const char *name) {
    for (size_t i = 0; i < sizeof mcp__tools / sizeof *mcp__tools; i++) {
        if (strcmp(mcp__tools[i].name, name)) continue;
        json_t *r = mcp__tools[i].fn(call);
        if (!r && !call->code) {
            call->code = MCP_ERR_INTERNAL;
            snprintf(call->msg, sizeof call->msg, "%s failed: out of memory", name);
        }
        return r;
    }
    snprintf(call->field, sizeof call->field, "name");
    call->code = MCP_ERR_PARAMS;
    snprintf(call->msg, sizeof call->msg,
             "Unknown tool `%.64s` (`name` must be one of search_code, find_similar, find_duplicates, get_entity, "
             "search_history, index_status, reindex)",
             name);
    return NULL;
}
