/*
** server/jobs_spec.c: checking a POST /jobs body. Every field is checked
** by name and type before anything is queued; a bad one is a 400 (missing,
** wrong type, unknown) or 422 (out of range) whose message names the field
** by its path in the body ("options.batch_size"), and a key that may not do
** what the body asks gets 403. The result is the normalised spec the
** runner reads (defaults filled in), with the job's tenant and priority.
**
** Server-side paths (jsonl "path", git "repo", "from_dir") and reading the
** server's environment for a token ("token_env") need an admin key: they
** reach beyond the store.
*/
#include "server/jobs_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define JOBS_MAX_NAME 400 /* bytes of a repository, JQL, URL or source name */

/* The checking state of one body. */
typedef struct jobs_chk {
    int status;       /* 0, or the HTTP status of the first error */
    char *msg;        /* its message */
    size_t msg_size;
} jobs_chk;

static bool jobs__fail(jobs_chk *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool jobs__fail(jobs_chk *c, int status, const char *fmt, ...) {
    if (c->status) return false;
    c->status = status;
    int n = snprintf(c->msg, c->msg_size, "Validation error in JSON body: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg + n, c->msg_size - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* Refuse keys of o outside `known` (NULL-terminated); where names o. */
static bool jobs__known(jobs_chk *c, const json_t *o, const char *where, const char *const *known) {
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], key)) i++;
        if (!known[i]) {
            util_buf b = {0};
            for (size_t k = 0; known[k]; k++) util_buf_printf(&b, "%s%s", k ? ", " : "", known[k]);
            jobs__fail(c, 400, "unknown field `%s%s%s` (%s takes %s)", where, *where ? "." : "", key,
                       *where ? where : "the body", b.data ? b.data : "nothing");
            util_buf_free(&b);
            return false;
        }
    }
    return true;
}

/* Optional string field; required ones fail when absent. */
static bool jobs__str(jobs_chk *c, const json_t *o, const char *where, const char *key, bool required, const char **out) {
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required) return jobs__fail(c, 400, "`%s.%s` is required", where, key);
        return true;
    }
    if (!json_is_string(v)) return jobs__fail(c, 400, "`%s.%s` must be a string", where, key);
    if (strlen(json_string_value(v)) > JOBS_MAX_NAME && strcmp(key, "data"))
        return jobs__fail(c, 422, "`%s.%s` is longer than %d bytes", where, key, JOBS_MAX_NAME);
    *out = json_string_value(v);
    return true;
}

/* Optional unsigned integer field in [min, max] (default def). */
static bool jobs__uint(jobs_chk *c, const json_t *o, const char *where, const char *key, uint64_t def, uint64_t min,
                       uint64_t max, uint64_t *out) {
    const json_t *v = json_object_get(o, key);
    *out = def;
    if (!v || json_is_null(v)) return true;
    if (!json_is_integer(v)) return jobs__fail(c, 400, "`%s.%s` must be an integer", where, key);
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
        return jobs__fail(c, 422, "`%s.%s` must be from %llu to %llu, got %lld", where, key, (unsigned long long)min,
                          (unsigned long long)max, (long long)x);
    *out = (uint64_t)x;
    return true;
}

static bool jobs__url_ok(const char *u) {
    return !strncmp(u, "http://", 7) || !strncmp(u, "https://", 8);
}

/* A field that needs an admin key: 403 for others. */
static bool jobs__admin_only(jobs_chk *c, bool admin, const json_t *src, const char *key) {
    if (admin || !json_object_get(src, key)) return true;
    c->status = 403;
    snprintf(c->msg, c->msg_size, "Forbidden: `source.%s` needs an admin key (it reaches beyond the store)", key);
    return false;
}

/* Check the source object; *kind gets the kind of records it mostly gives. */
static bool jobs__source(jobs_chk *c, json_t *src, bool admin, sc_rec_kind *kind) {
    static const char *const k_jsonl[] = {"type", "data", "path", "mapping", "kind", "name", "source_name", NULL};
    static const char *const k_github[] = {"type", "repo", "api_url", "token_env", "from_dir", "per_page",
                                           "max_wait_s", "retries", "source_name", "sweep", NULL};
    static const char *const k_jira[] = {"type", "url", "jql", "user", "token_env", "from_dir", "api_version",
                                         "per_page", "max_wait_s", "retries", "source_name", "sweep", NULL};
    static const char *const k_git[] = {"type", "repo", "branches", "max_files", "source_name", NULL};
    if (!json_is_object(src)) return jobs__fail(c, 400, "`source` is required: an object with a `type`");
    const char *type, *s;
    if (!jobs__str(c, src, "source", "type", true, &type)) return false;
    uint64_t x;
    if (!jobs__str(c, src, "source", "source_name", false, &s)) return false;
    if (s && (!*s || strlen(s) > SC_REC_MAX_SOURCE))
        return jobs__fail(c, 422, "`source.source_name` must be 1 to %d bytes", SC_REC_MAX_SOURCE);
    if (!jobs__admin_only(c, admin, src, "from_dir") || !jobs__admin_only(c, admin, src, "token_env")) return false;
    if (!strcmp(type, "jsonl")) {
        if (!jobs__known(c, src, "source", k_jsonl)) return false;
        const char *data, *path, *k;
        if (!jobs__str(c, src, "source", "data", false, &data) || !jobs__str(c, src, "source", "path", false, &path) ||
            !jobs__str(c, src, "source", "kind", false, &k) || !jobs__str(c, src, "source", "name", false, &s))
            return false;
        if (!data == !path)
            return jobs__fail(c, 400, "`source.data` (the JSON Lines text) or `source.path` (a file on the server) is "
                                      "required, not both");
        if (!jobs__admin_only(c, admin, src, "path")) return false;
        *kind = SC_REC_KIND_DOC;
        if (k && sc_rec_kind_parse(k, kind) != SC_OK)
            return jobs__fail(c, 422, "`source.kind` must be issue, pr, comment, review, commit or doc, got `%.40s`", k);
        const json_t *m = json_object_get(src, "mapping");
        if (m && !json_is_null(m)) {
            if (!json_is_object(m)) return jobs__fail(c, 400, "`source.mapping` must be an object of field: path");
            const char *key;
            const json_t *v;
            json_object_foreach((json_t *)m, key, v) if (!json_is_string(v)) return jobs__fail(
                c, 400, "`source.mapping.%s` must be a string (an input path)", key);
        }
        return true;
    }
    if (!strcmp(type, "github") || !strcmp(type, "jira")) {
        bool gh = !strcmp(type, "github");
        if (!jobs__known(c, src, "source", gh ? k_github : k_jira)) return false;
        const char *repo, *url, *jql, *dir, *u;
        if (!jobs__str(c, src, "source", "from_dir", false, &dir) || !jobs__str(c, src, "source", "user", false, &u) ||
            !jobs__str(c, src, "source", "token_env", false, &s))
            return false;
        if (gh) {
            if (!jobs__str(c, src, "source", "repo", true, &repo) || !jobs__str(c, src, "source", "api_url", false, &url))
                return false;
            const char *slash = strchr(repo, '/');
            if (!slash || slash == repo || !slash[1] || strchr(slash + 1, '/'))
                return jobs__fail(c, 422, "`source.repo` must be OWNER/REPO, got `%.80s`", repo);
        } else {
            if (!jobs__str(c, src, "source", "jql", true, &jql) || !jobs__str(c, src, "source", "url", false, &url))
                return false;
            if (!url && !dir) return jobs__fail(c, 400, "`source.url` (the Jira site) or `source.from_dir` is required");
            if (!jobs__uint(c, src, "source", "api_version", 2, 2, 3, &x)) return false;
        }
        if (url && !jobs__url_ok(url))
            return jobs__fail(c, 422, "`source.%s` must start with http:// or https://", gh ? "api_url" : "url");
        if (!jobs__uint(c, src, "source", "per_page", 0, 1, gh ? 100 : 1000, &x) ||
            !jobs__uint(c, src, "source", "max_wait_s", 0, 1, 86400, &x) ||
            !jobs__uint(c, src, "source", "retries", 5, 0, 100, &x))
            return false;
        const json_t *sw = json_object_get(src, "sweep");
        if (sw && !json_is_boolean(sw) && !json_is_null(sw)) return jobs__fail(c, 400, "`source.sweep` must be true or false");
        *kind = SC_REC_KIND_ISSUE;
        return true;
    }
    if (!strcmp(type, "git")) {
        if (!jobs__known(c, src, "source", k_git)) return false;
        if (!jobs__admin_only(c, admin, src, "repo")) return false;
        const char *repo;
        if (!jobs__str(c, src, "source", "repo", true, &repo)) return false;
        const json_t *b = json_object_get(src, "branches");
        if (b && !json_is_null(b)) {
            if (!json_is_array(b) || json_array_size(b) > 64)
                return jobs__fail(c, 400, "`source.branches` must be an array of at most 64 branch names");
            for (size_t i = 0; i < json_array_size(b); i++)
                if (!json_is_string(json_array_get(b, i)) || !*json_string_value(json_array_get(b, i)))
                    return jobs__fail(c, 400, "`source.branches[%zu]` must be a branch name", i);
        }
        if (!jobs__uint(c, src, "source", "max_files", 1000, 1, 1000000, &x)) return false;
        *kind = SC_REC_KIND_COMMIT;
        return true;
    }
    return jobs__fail(c, 422, "`source.type` must be git, github, jira or jsonl, got `%.40s`", type);
}

/* Check and normalise the options object (made when absent). */
static bool jobs__options(jobs_chk *c, const server_jobs *js, json_t *opts, sc_rec_kind kind, int32_t *priority) {
    static const char *const known[] = {"provider", "batch_size", "concurrency", "priority", "full",
                                        "expected_records", "retries", NULL};
    if (!json_is_object(opts)) return jobs__fail(c, 400, "`options` must be an object");
    if (!jobs__known(c, opts, "options", known)) return false;
    const char *p;
    if (!jobs__str(c, opts, "options", "provider", false, &p)) return false;
    if (p && strcmp(p, "fast") && strcmp(p, "balanced") && strcmp(p, "quality"))
        return jobs__fail(c, 422, "`options.provider` must be fast, balanced or quality, got `%.40s`", p);
    json_object_set_new(opts, "provider", json_string(p ? p : "balanced"));
    uint64_t x;
    if (!jobs__uint(c, opts, "options", "batch_size", js->cfg.batch_size, 1, 65536, &x)) return false;
    json_object_set_new(opts, "batch_size", json_integer((json_int_t)x));
    if (!jobs__uint(c, opts, "options", "concurrency", 4, 1, 64, &x)) return false;
    json_object_set_new(opts, "concurrency", json_integer((json_int_t)x));
    if (!jobs__uint(c, opts, "options", "retries", js->cfg.retries, 0, 20, &x)) return false;
    json_object_set_new(opts, "retries", json_integer((json_int_t)x));
    if (!jobs__uint(c, opts, "options", "expected_records", 0, 0, UINT64_C(1) << 40, &x)) return false;
    const json_t *f = json_object_get(opts, "full");
    if (f && !json_is_boolean(f) && !json_is_null(f)) return jobs__fail(c, 400, "`options.full` must be true or false");
    json_object_set_new(opts, "full", json_boolean(json_is_true(f)));
    const json_t *pr = json_object_get(opts, "priority");
    if (pr && !json_is_null(pr)) {
        if (!json_is_integer(pr)) return jobs__fail(c, 400, "`options.priority` must be an integer");
        if (json_integer_value(pr) < -1000 || json_integer_value(pr) > 1000)
            return jobs__fail(c, 422, "`options.priority` must be from -1000 to 1000, got %lld",
                              (long long)json_integer_value(pr));
        *priority = (int32_t)json_integer_value(pr);
    } else {
        *priority = js->cfg.priorities[kind];
        json_object_set_new(opts, "priority", json_integer(*priority));
    }
    return true;
}

json_t *jobs_spec_check(const server_jobs *js, const json_t *body, const char *tenant, bool admin, int32_t *priority,
                        int *status, char *msg, size_t msg_size) {
    static const char *const known[] = {"source", "tenant", "options", NULL};
    jobs_chk c = {0, msg, msg_size};
    if (!body) {
        jobs__fail(&c, 400, "a body {\"source\": {...}, \"options\": {...}} is required");
        *status = c.status;
        return NULL;
    }
    json_t *spec = json_deep_copy(body);
    sc_rec_kind kind = SC_REC_KIND_DOC;
    const char *t = NULL;
    bool ok = spec && jobs__known(&c, spec, "", known) && jobs__source(&c, json_object_get(spec, "source"), admin, &kind);
    if (ok) {
        if (!json_object_get(spec, "options") || json_is_null(json_object_get(spec, "options")))
            json_object_set_new(spec, "options", json_object());
        ok = jobs__options(&c, js, json_object_get(spec, "options"), kind, priority);
    }
    if (ok) ok = jobs__str(&c, spec, "body", "tenant", false, &t);
    if (ok && t) {
        size_t n = strlen(t), bad = 0;
        for (size_t i = 0; i < n; i++) {
            char ch = t[i];
            bad += !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                     ch == '-');
        }
        if (n == 0 || n > 64 || bad) ok = jobs__fail(&c, 422, "`tenant` must be 1 to 64 of A-Z a-z 0-9 _ -, got `%.80s`", t);
    }
    if (ok && tenant && t && strcmp(t, tenant)) {
        c.status = 403;
        snprintf(msg, msg_size, "Forbidden: this API key belongs to tenant `%s` and may not start jobs of tenant `%.80s`",
                 tenant, t);
        ok = false;
    }
    if (ok && tenant) json_object_set_new(spec, "tenant", json_string(tenant));
    if (!spec && !c.status) {
        c.status = 500;
        snprintf(msg, msg_size, "out of memory");
    }
    if (!ok || !spec) {
        json_decref(spec);
        *status = c.status ? c.status : 500;
        return NULL;
    }
    return spec;
}
