/*
** server/code.c: code search over the indexed repository the server was
** started with (`semcode serve --repo PATH`): POST /code/search,
** /code/similar and /code/duplicates. Request bodies mirror the CLI's
** options; the result inside Qdrant's envelope is exactly the object that
** `semcode search|similar|duplicates --json` prints (both come from the
** public sc_code_hits_json / sc_dup_clusters_json). GET /code/stats (what
** `semcode stats --json` prints) and POST /code/history (`semcode history
** --json`) serve the web page (web.c). Like every server file,
** this one uses the public API only.
**
** DESIGN
** - The repository is opened once by sc_server_run and held for the
**   server's lifetime, so its store is locked like any open store: a
**   `semcode index` of the same tree fails with "open in another process"
**   until the server stops.
** - An sc_repo is single-threaded (its embedder and state database), so
**   every call holds ctx->repo_mu; searches over one repository are
**   serialised, the rest of the server is not.
** - The code index is the global namespace: tenant keys are refused (403)
**   on code, since a tenant must never read data outside its own. The
**   development records of the repository's store (`semcode ingest`) are
**   per tenant: /code/search with "in" (commits, issues, prs, docs, all)
**   searches the records of the key's tenant (server_tenant_resolve), the
**   same sc_records_search and sections (sc_rec_query_set_section) as
**   `semcode search --in`, and answers the CLI's --json object. A tenant's
**   "in": "all" leaves the code section out.
** - Several repositories (`serve --repo A --repo B`, a workspace file):
**   /code/search searches all of them, or those its `repo` field names
**   (a string or an array; "all"), through sc_workspace_search, and each
**   result names its repository. /code/similar, /code/duplicates,
**   /code/history, /code/callers, /code/callees and the records of "in"
**   use the repository their `repo` field names (one name), the first by
**   default; an unknown name is a 404 listing the served ones. Repository
**   0 is used under repo_mu alone, any other under repo_mu and then its
**   workspace lock (server__code_lock, server.h's lock order).
** - Unknown fields are refused (400 naming the field): a typo such as
**   `limt` must not silently return the default.
*/
#include "server/server_int.h"

#include "semcode/records.h"

#include <stdlib.h>
#include <string.h>

#define SERVER_CODE_MAX_FILTERS 32     /* values per filter field, as the CLI */
#define SERVER_CODE_MAX_LIMIT 10000u   /* largest `limit`, as the CLI's --limit */

/* Decoded filters and options of a code request. */
typedef struct server_code_args {
    sc_code_query q;                              /* what goes to sc_repo_search / sc_repo_similar */
    const char *langs[SERVER_CODE_MAX_FILTERS];   /* `lang` values (owned by strs) */
    const char *kinds[SERVER_CODE_MAX_FILTERS];   /* `kind` values */
    const char *paths[SERVER_CODE_MAX_FILTERS];   /* `path` globs */
    const char *excludes[SERVER_CODE_MAX_FILTERS];/* `exclude` globs */
    const char *repos[SERVER_CODE_MAX_FILTERS];   /* `repo` names (search only; "all" = every repository) */
    size_t n_repos;                               /* entries of repos */
    char *strs[5 * SERVER_CODE_MAX_FILTERS];      /* owned copies of all of them */
    size_t n_strs;                                /* used entries of strs */
} server_code_args;

static void server__code_args_free(server_code_args *a) {
    for (size_t i = 0; i < a->n_strs; i++) free(a->strs[i]);
    a->n_strs = 0;
}

/* Refuse fields of the body that are not in allowed (NULL-terminated). */
static bool server__code_fields(server_call *call, const char *const *allowed, const char *endpoint) {
    const char *key;
    const json_t *v;
    json_object_foreach(call->body, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++) ok = !strcmp(allowed[i], key);
        if (!ok) {
            server_fail(call, 400, "Json deserialize error: unknown field `%.64s` for %s", key, endpoint);
            return false;
        }
    }
    return true;
}

/* A filter field: a string or an array of strings, each possibly a
** comma-separated list (as the CLI's --lang go,rust). */
static bool server__code_list(server_call *call, server_code_args *a, const char *key, const char **dst, size_t *n) {
    const json_t *v = json_object_get(call->body, key);
    *n = 0;
    if (!v || json_is_null(v)) return true;
    if (!json_is_string(v) && !json_is_array(v)) {
        server_fail(call, 400, "Json deserialize error: `%s` must be a string or an array of strings", key);
        return false;
    }
    size_t count = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < count; i++) {
        const json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_string(item)) {
            server_fail(call, 400, "Json deserialize error: `%s[%zu]` must be a string", key, i);
            return false;
        }
        const char *s = json_string_value(item);
        while (*s) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            if (len) {
                if (*n == SERVER_CODE_MAX_FILTERS) {
                    server_fail(call, 422, "Validation error in JSON body: [%s: at most %d values]", key,
                                SERVER_CODE_MAX_FILTERS);
                    return false;
                }
                char *copy = strndup(s, len);
                if (!copy) {
                    server_fail(call, 500, "out of memory");
                    return false;
                }
                a->strs[a->n_strs++] = copy;
                dst[(*n)++] = copy;
            }
            s += len + (comma ? 1 : 0);
        }
    }
    return true;
}

/* limit, min_score and the four filters, shared by search and similar. */
static bool server__code_query(server_call *call, server_code_args *a) {
    uint64_t limit;
    double min_score;
    if (!server_json_uint(call, call->body, "limit", 10, 1, SERVER_CODE_MAX_LIMIT, &limit) ||
        !server_json_number(call, call->body, "min_score", NULL, 0.0, -1000.0, 1000.0, &min_score) ||
        !server__code_list(call, a, "lang", a->langs, &a->q.n_langs) ||
        !server__code_list(call, a, "kind", a->kinds, &a->q.n_kinds) ||
        !server__code_list(call, a, "path", a->paths, &a->q.n_paths) ||
        !server__code_list(call, a, "exclude", a->excludes, &a->q.n_excludes))
        return false;
    a->q.limit = (uint32_t)limit;
    a->q.min_score = (float)min_score;
    a->q.langs = a->langs;
    a->q.kinds = a->kinds;
    a->q.paths = a->paths;
    a->q.excludes = a->excludes;
    return true;
}

/* A repository to search; 404 otherwise. */
static bool server__code_repo(server_call *call) {
    if (!call->ctx->repo)
        return server_fail(call, 404,
                           "Not found: no repository is configured on this server (start it with --repo PATH)"),
               false;
    return true;
}

/* Checks common to the three endpoints: a repository and no tenant. */
static bool server__code_access(server_call *call, const char *endpoint) {
    if (call->tenant)
        return server_fail(call, 403, "Forbidden: %s searches the server's repository, which tenant keys may not read",
                           endpoint),
               false;
    return server__code_repo(call);
}

/* server__code_access, and a body (search, similar). */
static bool server__code_ready(server_call *call, const char *endpoint) {
    if (!server__code_access(call, endpoint)) return false;
    if (!call->body) return server_fail(call, 400, "Json deserialize error: %s needs a JSON object body", endpoint), false;
    return true;
}

/* A required non-empty string field. */
static bool server__code_required(server_call *call, const char *key, const char **out) {
    if (!server_json_str(call, call->body, key, out)) return false;
    if (!*out) return server_fail(call, 400, "Json deserialize error: missing field `%s`", key), false;
    if (!**out) return server_fail(call, 422, "Validation error in JSON body: [%s: must not be empty]", key), false;
    return true;
}

/* Turn a failure of repo into an HTTP error (the repo's lock is held). */
static json_t *server__code_fail(server_call *call, sc_repo *repo, sc_status rc) {
    const char *m = sc_repo_errmsg(repo);
    if (rc == SC_NOTFOUND) return server_fail(call, 404, "Not found: %s", m);
    if (rc == SC_INVALID) return server_fail(call, 400, "Wrong input: %s", m);
    return server_fail(call, 500, "%s", m && *m ? m : sc_status_str(rc));
}

/* The index of the repository called name (NULL = the first, 0) in *out;
** a 404 listing the served names when no repository has that name. */
static bool server__code_find(server_call *call, const char *name, size_t *out) {
    sc_workspace *ws = call->ctx->ws;
    int i = 0;
    if (name && (!ws || (i = sc_workspace_find(ws, name)) < 0)) {
        char names[1024];
        sc_workspace_names(ws, names, sizeof names);
        server_fail(call, 404, "Not found: no repository `%s` is served (repo must be one of: %s)", name, names);
        return false;
    }
    *out = (size_t)i;
    return true;
}

/* The body's optional `repo` (one name) as a repository index, as server__code_find. */
static bool server__code_pick(server_call *call, size_t *out) {
    const char *name = NULL;
    return server_json_str(call, call->body, "repo", &name) && server__code_find(call, name, out);
}

/* Lock repository i for this thread and return it: repo_mu, then the
** workspace lock of any repository but 0 (server.h's lock order). */
static sc_repo *server__code_lock(server_call *call, size_t i) {
    pthread_mutex_lock(&call->ctx->repo_mu);
    if (i == 0) return call->ctx->repo;
    sc_workspace_lock(call->ctx->ws, i);
    return sc_workspace_repo(call->ctx->ws, i);
}

/* Release what server__code_lock(call, i) took, in reverse order. */
static void server__code_unlock(server_call *call, size_t i) {
    if (i > 0) sc_workspace_unlock(call->ctx->ws, i);
    pthread_mutex_unlock(&call->ctx->repo_mu);
}

/* A result object, or a 500 when building it ran out of memory. */
/* The result object from the JSON text the library made (owned, consumed). */
static json_t *server__code_result(server_call *call, char *text) {
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    sc_free(text);
    return o ? o : server_fail(call, 500, "out of memory");
}

/* Run a search (target NULL) or a similar (target given) in repository ri
** under its lock and return the CLI's result object. */
static json_t *server__code_hits(server_call *call, size_t ri, const sc_code_query *q, const char *target) {
    sc_repo *repo = server__code_lock(call, ri);
    sc_code_hits *h = NULL;
    sc_status rc = target ? sc_repo_similar(repo, target, q, &h) : sc_repo_search(repo, q, &h);
    if (rc != SC_OK) server__code_fail(call, repo, rc);
    server__code_unlock(call, ri);
    json_t *out = NULL;
    if (rc == SC_OK)
        out = server__code_result(call, sc_code_hits_json(h, target ? "target" : "query", target ? target : q->text,
                                                            q->mode));
    sc_code_hits_free(h);
    return out;
}

/* A code search of several repositories (the `repo` field, or a server
** with more than one): sc_workspace_search under repo_mu (server.h's lock
** order), each result naming its repository. */
static json_t *server__code_hits_multi(server_call *call, const server_code_args *a) {
    size_t n = a->n_repos;
    for (size_t i = 0; i < a->n_repos; i++)
        if (!strcmp(a->repos[i], "all")) n = 0;
    sc_code_hits *h = NULL;
    char *err = NULL;
    pthread_mutex_lock(&call->ctx->repo_mu);
    sc_status rc = sc_workspace_search(call->ctx->ws, a->repos, n, &a->q, &h, &err);
    pthread_mutex_unlock(&call->ctx->repo_mu);
    json_t *out = NULL;
    if (rc == SC_NOTFOUND) server_fail(call, 404, "Not found: %s", err ? err : "no such repository");
    else if (rc == SC_INVALID) server_fail(call, 400, "Wrong input: %s", err ? err : "bad query");
    else if (rc != SC_OK) server_fail(call, 500, "%s", err ? err : sc_status_str(rc));
    else out = server__code_result(call, sc_code_hits_json(h, "query", a->q.text, a->q.mode));
    sc_free(err);
    sc_code_hits_free(h);
    return out;
}

/* Record filters and the tenant of a /code/search with "in". */
typedef struct server_rec_args {
    const char *author, *since, *until, *state, *label; /* filters (borrowed from the body), NULL = none */
    const char *tenant;                                 /* the records' tenant, NULL = the global namespace */
} server_rec_args;

/* Search the records of one section (or every section, sections NULL) of
** the store of repository ri for tenant a->tenant, under its lock; the
** hits of each searched section go to rh[k] (k as in sc_rec_sections). */
static bool server__rec_search(server_call *call, size_t ri, const sc_code_query *q, const server_rec_args *a,
                               const char *in, sc_rec_hits **rh) {
    size_t n_sections;
    const char *const *sections = sc_rec_sections(&n_sections);
    sc_embedder *emb = NULL;
    sc_records *rs = NULL;
    char *err = NULL;
    bool ok = true;
    sc_repo *repo = server__code_lock(call, ri);
    sc_records_options o = sc_records_options_default();
    o.tenant = a->tenant;
    if (q->mode != SC_SEARCH_MODE_KEYWORD && sc_repo_embedder(repo, &emb) != SC_OK) {
        server__code_fail(call, repo, SC_ERROR);
        ok = false;
    } else if (sc_repo_records_open(repo, emb, &o, &rs, &err) != SC_OK) {
        server_fail(call, 500, "%s", err ? err : "cannot open the records");
        ok = false;
    }
    for (size_t k = 0; ok && k < n_sections; k++) {
        if (strcmp(in, "all") && strcmp(in, sections[k])) continue;
        sc_rec_kind kinds[SC_REC_SECTION_MAX_KINDS];
        sc_rec_query rq = {.text = q->text, .mode = q->mode, .limit = q->limit, .author = a->author, .since = a->since,
                           .until = a->until, .state = a->state, .label = a->label};
        sc_rec_query_set_section(&rq, sections[k], kinds);
        sc_status rc = sc_records_search(rs, &rq, &rh[k]);
        if (rc != SC_OK) {
            server_fail(call, rc == SC_INVALID ? 400 : 500, "%s%s", rc == SC_INVALID ? "Wrong input: " : "",
                        sc_records_errmsg(rs));
            ok = false;
        }
    }
    sc_records_close(rs);
    server__code_unlock(call, ri);
    sc_free(err);
    return ok;
}

/* The code search of repository ri for a /code/search: the CLI's JSON text (owned), NULL after an error. */
static char *server__code_search_text(server_call *call, size_t ri, const sc_code_query *q) {
    sc_repo *repo = server__code_lock(call, ri);
    sc_code_hits *h = NULL;
    sc_status rc = sc_repo_search(repo, q, &h);
    if (rc != SC_OK) server__code_fail(call, repo, rc);
    server__code_unlock(call, ri);
    char *text = rc == SC_OK ? sc_code_hits_json(h, "query", q->text, q->mode) : NULL;
    if (rc == SC_OK && !text) server_fail(call, 500, "out of memory");
    sc_code_hits_free(h);
    return text;
}

/* /code/search with "in" other than "code": records (and code for a
** global key's "all") of repository ri, answered as `semcode search --in IN --json`. */
static json_t *server__code_search_records(server_call *call, size_t ri, const sc_code_query *q, const char *in,
                                           const server_rec_args *ra) {
    size_t n_sections;
    sc_rec_sections(&n_sections);
    sc_rec_hits *rh[8] = {NULL};
    char *code = NULL, *text = NULL;
    bool all = !strcmp(in, "all");
    if (n_sections > 8) return server_fail(call, 500, "internal error: %zu record sections", n_sections);
    if (all && !ra->tenant && !(code = server__code_search_text(call, ri, q))) return NULL;
    if (server__rec_search(call, ri, q, ra, in, rh)) {
        if (all) {
            text = sc_rec_search_all_json(q->text, code, rh, sc_search_mode_name(q->mode));
        } else {
            for (size_t k = 0; k < n_sections && !text; k++)
                if (rh[k]) text = sc_rec_hits_json(rh[k], "query", q->text, sc_search_mode_name(q->mode));
        }
    }
    for (size_t k = 0; k < n_sections; k++) sc_rec_hits_free(rh[k]);
    sc_free(code);
    return call->status ? (sc_free(text), NULL) : server__code_result(call, text);
}

json_t *server_api_code_search(server_call *call) {
    static const char *const fields[] = {"query", "mode", "alpha", "limit", "min_score", "lang", "kind", "path",
                                         "exclude", "files", "explain", "in", "author", "since", "until", "state",
                                         "label", "tenant", "repo", NULL};
    if (!server__code_repo(call)) return NULL;
    if (!call->body) return server_fail(call, 400, "Json deserialize error: /code/search needs a JSON object body");
    if (!server__code_fields(call, fields, "/code/search")) return NULL;
    server_code_args a;
    memset(&a, 0, sizeof a);
    server_rec_args ra;
    memset(&ra, 0, sizeof ra);
    const char *query = NULL, *mode = NULL, *in = NULL, *tenant = NULL;
    double alpha;
    json_t *out = NULL;
    if (!server__code_required(call, "query", &query) || !server_json_str(call, call->body, "mode", &mode) ||
        !server_json_number(call, call->body, "alpha", NULL, 0.0, 0.0, 1.0, &alpha) || !server__code_query(call, &a) ||
        !server_json_bool(call, call->body, "files", false, &a.q.files) ||
        !server_json_bool(call, call->body, "explain", false, &a.q.explain) ||
        !server_json_str(call, call->body, "in", &in) || !server_json_str(call, call->body, "author", &ra.author) ||
        !server_json_str(call, call->body, "since", &ra.since) || !server_json_str(call, call->body, "until", &ra.until) ||
        !server_json_str(call, call->body, "state", &ra.state) || !server_json_str(call, call->body, "label", &ra.label) ||
        !server_json_str(call, call->body, "tenant", &tenant) ||
        !server__code_list(call, &a, "repo", a.repos, &a.n_repos))
        goto done;
    a.q.mode = SC_SEARCH_MODE_HYBRID;
    if (mode && !strcmp(mode, "dense")) a.q.mode = SC_SEARCH_MODE_DENSE;
    else if (mode && !strcmp(mode, "keyword")) a.q.mode = SC_SEARCH_MODE_KEYWORD;
    else if (mode && strcmp(mode, "hybrid")) {
        server_fail(call, 400, "Json deserialize error: `mode`: unknown variant `%.64s`, expected one of `dense`, "
                               "`keyword`, `hybrid`", mode);
        goto done;
    }
    sc_rec_query probe = {0};
    sc_rec_kind probe_kinds[SC_REC_SECTION_MAX_KINDS];
    if (in && strcmp(in, "code") && strcmp(in, "all") && sc_rec_query_set_section(&probe, in, probe_kinds) != SC_OK) {
        server_fail(call, 400, "Json deserialize error: `in`: unknown variant `%.64s`, expected one of `code`, "
                               "`commits`, `issues`, `prs`, `docs`, `all`", in);
        goto done;
    }
    bool records = in && strcmp(in, "code"), code = !in || !strcmp(in, "code") || !strcmp(in, "all");
    if (!records && (ra.author || ra.since || ra.until || ra.state || ra.label || tenant)) {
        server_fail(call, 400, "Wrong input: author, since, until, state, label and tenant apply to records: add "
                               "\"in\": commits, issues, prs, docs or all");
        goto done;
    }
    if (!code && (a.q.n_langs || a.q.n_kinds || a.q.n_paths || a.q.n_excludes || a.q.files || a.q.explain || alpha > 0)) {
        server_fail(call, 400, "Wrong input: lang, kind, path, exclude, files, explain and alpha apply to code: use "
                               "\"in\": code or all");
        goto done;
    }
    a.q.text = query;
    a.q.alpha = (float)alpha;
    if (!records) {
        if (call->tenant) {
            server_fail(call, 403, "Forbidden: the code of /code/search is the server's repository, which tenant "
                                   "keys may not read; search their records with \"in\"");
            goto done;
        }
        out = a.n_repos || sc_workspace_count(call->ctx->ws) > 1 ? server__code_hits_multi(call, &a)
                                                                  : server__code_hits(call, 0, &a.q, NULL);
        goto done;
    }
    if (a.n_repos > 1 || (a.n_repos == 1 && !strcmp(a.repos[0], "all"))) {
        server_fail(call, 400, "Wrong input: with \"in\", repo names one repository (the one whose records are "
                               "searched), not several or all");
        goto done;
    }
    size_t ri;
    if (!server__code_find(call, a.n_repos ? a.repos[0] : NULL, &ri)) goto done;
    if (!server_tenant_resolve(call, tenant, &ra.tenant)) goto done;
    out = server__code_search_records(call, ri, &a.q, in, &ra);
done:
    server__code_args_free(&a);
    return out;
}

json_t *server_api_code_similar(server_call *call) {
    static const char *const fields[] = {"target", "limit", "min_score", "lang", "kind", "path", "exclude", "repo",
                                         NULL};
    if (!server__code_ready(call, "/code/similar") || !server__code_fields(call, fields, "/code/similar")) return NULL;
    server_code_args a;
    memset(&a, 0, sizeof a);
    const char *target = NULL;
    json_t *out = NULL;
    size_t ri;
    if (!server__code_required(call, "target", &target) || !server__code_query(call, &a) || !server__code_pick(call, &ri))
        goto done;
    a.q.mode = SC_SEARCH_MODE_DENSE;
    out = server__code_hits(call, ri, &a.q, target);
done:
    server__code_args_free(&a);
    return out;
}

json_t *server_api_code_duplicates(server_call *call) {
    static const char *const fields[] = {"threshold", "min_lines", "repo", NULL};
    if (!server__code_access(call, "/code/duplicates")) return NULL;
    if (call->body && !server__code_fields(call, fields, "/code/duplicates")) return NULL;
    double threshold;
    uint64_t min_lines;
    if (!server_json_number(call, call->body, "threshold", NULL, (double)SC_DUPLICATES_DEFAULT_THRESHOLD, 0.01, 1.0,
                            &threshold) ||
        !server_json_uint(call, call->body, "min_lines", 5, 1, 100000, &min_lines))
        return NULL;
    size_t ri = 0;
    if (call->body && !server__code_pick(call, &ri)) return NULL;
    sc_repo *repo = server__code_lock(call, ri);
    sc_dup_clusters *d = NULL;
    sc_status rc = sc_repo_duplicates(repo, (float)threshold, (uint32_t)min_lines, &d);
    if (rc != SC_OK) server__code_fail(call, repo, rc);
    server__code_unlock(call, ri);
    json_t *out = NULL;
    if (rc == SC_OK) out = server__code_result(call, sc_dup_clusters_json(d, (float)threshold, (uint32_t)min_lines));
    sc_dup_clusters_free(d);
    return out;
}

json_t *server_api_code_stats(server_call *call) {
    if (!server__code_access(call, "/code/stats")) return NULL;
    sc_workspace *ws = call->ctx->ws;
    size_t i;
    if (!server__code_find(call, server_arg(call, "repo"), &i)) return NULL;
    sc_repo *repo = server__code_lock(call, i);
    char *text = NULL;
    sc_status rc = sc_repo_stats_json(repo, &text);
    if (rc != SC_OK) server__code_fail(call, repo, rc);
    server__code_unlock(call, i);
    if (rc != SC_OK) return NULL;
    /* which repository this is, and every one served (the web page's index view lists them) */
    json_t *o = server__code_result(call, text);
    if (o && ws) {
        json_t *all = json_array();
        for (size_t k = 0; all && k < sc_workspace_count(ws); k++)
            json_array_append_new(all, json_string(sc_workspace_name(ws, k)));
        json_object_set_new(o, "repo", json_string(sc_workspace_name(ws, i)));
        json_object_set_new(o, "repositories", all ? all : json_array());
    }
    return o;
}

/* The entity e as `semcode history --json` names it. */
static json_t *server__code_entity_json(const sc_code_hit *e) {
    return json_pack("{s:s,s:i,s:i,s:s,s:s}", "path", e->path, "start_line", (int)e->start_line, "end_line",
                     (int)e->end_line, "kind", e->kind, "qualified_name", e->qualified_name);
}

/* The arguments of a {target, limit, repo} request on endpoint: target
** (required; borrowed from the body), limit (default dflt, from min to
** 1,000,000) and the index of the repository; false when the call has
** failed (not ready, an unknown field, a bad value, an unknown repo). */
static bool server__code_target_args(server_call *call, const char *endpoint, uint64_t dflt, uint64_t min,
                                     const char **target, uint64_t *limit, size_t *ri) {
    static const char *const fields[] = {"target", "limit", "repo", NULL};
    return server__code_ready(call, endpoint) && server__code_fields(call, fields, endpoint) &&
           server__code_required(call, "target", target) &&
           server_json_uint(call, call->body, "limit", dflt, min, 1000000, limit) && server__code_pick(call, ri);
}

json_t *server_api_code_history(server_call *call) {
    const char *target = NULL;
    uint64_t limit;
    size_t ri;
    if (!server__code_target_args(call, "/code/history", 100, 1, &target, &limit, &ri)) return NULL;
    sc_code_hits *e = NULL;
    sc_point_id id;
    sc_records *rs = NULL;
    sc_rec_hits *h = NULL;
    char *err = NULL, *text = NULL;
    sc_repo *repo = server__code_lock(call, ri);
    sc_status rc = sc_repo_resolve(repo, target, &e, &id);
    if (rc != SC_OK) {
        server__code_fail(call, repo, rc);
    } else {
        sc_records_options o = sc_records_options_default();
        if (sc_repo_records_open(repo, NULL, &o, &rs, &err) != SC_OK) {
            server_fail(call, 500, "%s", err ? err : "cannot open the records");
        } else {
            char idtext[24];
            snprintf(idtext, sizeof idtext, "%llu", (unsigned long long)id.num);
            const char *targets[1] = {idtext};
            sc_rec_query q = {.limit = (uint32_t)limit};
            if (sc_records_history(rs, targets, 1, &q, &h) != SC_OK) server_fail(call, 500, "%s", sc_records_errmsg(rs));
            else if (!(text = sc_rec_hits_json(h, "target", target, NULL))) server_fail(call, 500, "out of memory");
        }
    }
    sc_records_close(rs);
    server__code_unlock(call, ri);
    json_t *out = text ? server__code_result(call, text) : NULL;
    if (out) json_object_set_new(out, "entity", server__code_entity_json(&e->items[0]));
    sc_rec_hits_free(h);
    sc_code_hits_free(e);
    sc_free(err);
    return out;
}

/* POST /code/callers and /code/callees {target, limit, repo}: the call graph
** of a repository (sc_repo_callers / sc_repo_callees), as the CLI's --json. */
static json_t *server__code_calls(server_call *call, bool callers) {
    const char *target = NULL;
    uint64_t limit;
    size_t ri;
    if (!server__code_target_args(call, callers ? "/code/callers" : "/code/callees", 0, 0, &target, &limit, &ri))
        return NULL;
    sc_repo *repo = server__code_lock(call, ri);
    sc_call_edges *g = NULL;
    sc_status rc = callers ? sc_repo_callers(repo, target, (uint32_t)limit, &g)
                           : sc_repo_callees(repo, target, (uint32_t)limit, &g);
    if (rc != SC_OK) server__code_fail(call, repo, rc);
    server__code_unlock(call, ri);
    json_t *out = rc == SC_OK ? server__code_result(call, sc_call_edges_json(g, callers ? "callers" : "callees")) : NULL;
    sc_call_edges_free(g);
    return out;
}

json_t *server_api_code_callers(server_call *call) { return server__code_calls(call, true); }

json_t *server_api_code_callees(server_call *call) { return server__code_calls(call, false); }
