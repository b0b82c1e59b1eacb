/*
** server/config.c: the JSON configuration file of `semcode serve`:
**
**   {"api_keys": [{"key": "…", "role": "read|write|admin", "tenant": "acme"}],
**    "max_body_bytes": 33554432, "timeout_s": 30, "threads": 0, "search_threads": 1,
**    "model": "models/builtin.scm", "repo": "/src/project", "embedding_cache": "cache.db",
**    "jobs": {...}}   (backfill jobs: server/jobs.h, docs/API.md)
**
** Unknown fields are errors (a typo must not silently disable a limit).
** Keys must be at least 16 bytes; tenant names are [A-Za-z0-9_-]{1,64}.
*/
#include "server/server_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

server_config server_config_default(void) {
    server_config c = {0};
    c.max_body_bytes = 32u << 20;
    c.timeout_s = 30;
    c.n_threads = 0;
    c.search_threads = 1;
    c.jobs = server_jobs_config_default();
    return c;
}

void server_config_free(server_config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < cfg->n_keys; i++) {
        if (cfg->keys[i].key) memset(cfg->keys[i].key, 0, strlen(cfg->keys[i].key));
        free(cfg->keys[i].key);
        free(cfg->keys[i].tenant);
    }
    free(cfg->keys);
    cfg->keys = NULL;
    free(cfg->model_path);
    cfg->model_path = NULL;
    free(cfg->repo_path);
    cfg->repo_path = NULL;
    free(cfg->cache_path);
    cfg->cache_path = NULL;
    server_jobs_config_free(&cfg->jobs);
    cfg->n_keys = 0;
}

/* Optional unsigned field into *out within [min, max]. */
static sc_status server__cfg_uint(const json_t *o, const char *key, uint64_t min, uint64_t max, uint64_t *out,
                                  sc_err *err) {
    const json_t *v = json_object_get(o, key);
    if (!v) return SC_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min ||
        (uint64_t)json_integer_value(v) > max)
        return sc_err_set(err, SC_INVALID, "config: `%s` must be an integer from %llu to %llu", key,
                          (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return SC_OK;
}

/* Optional path field into *out (owned). */
static sc_status server__cfg_path(const json_t *o, const char *key, const char *what, char **out, sc_err *err) {
    const json_t *v = json_object_get(o, key);
    if (!v) return SC_OK;
    if (!json_is_string(v) || !*json_string_value(v))
        return sc_err_set(err, SC_INVALID, "config: `%s` must be %s", key, what);
    if (!(*out = strdup(json_string_value(v)))) return sc_err_set(err, SC_NOMEM, "out of memory");
    return SC_OK;
}

bool server_tenant_name_ok(const char *t) {
    size_t n = strlen(t);
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = t[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

sc_status server_config_parse(const char *text, server_config *out, sc_err *err) {
    *out = server_config_default();
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root) return sc_err_set(err, SC_INVALID, "config: %s at line %d column %d", je.text, je.line, je.column);
    sc_status rc = SC_OK;
    if (!json_is_object(root)) {
        rc = sc_err_set(err, SC_INVALID, "config: the top level must be an object");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "api_keys") && strcmp(key, "max_body_bytes") && strcmp(key, "timeout_s") &&
            strcmp(key, "threads") && strcmp(key, "search_threads") && strcmp(key, "model") && strcmp(key, "repo") &&
            strcmp(key, "embedding_cache") && strcmp(key, "jobs")) {
            rc = sc_err_set(err, SC_INVALID, "config: unknown field `%s`", key);
            goto done;
        }
    }
    uint64_t x = out->max_body_bytes;
    if ((rc = server__cfg_uint(root, "max_body_bytes", 1024, 1ull << 32, &x, err)) != SC_OK) goto done;
    out->max_body_bytes = (size_t)x;
    x = out->timeout_s;
    if ((rc = server__cfg_uint(root, "timeout_s", 1, 3600, &x, err)) != SC_OK) goto done;
    out->timeout_s = (unsigned)x;
    x = out->n_threads;
    if ((rc = server__cfg_uint(root, "threads", 0, 1024, &x, err)) != SC_OK) goto done;
    out->n_threads = (unsigned)x;
    x = out->search_threads;
    if ((rc = server__cfg_uint(root, "search_threads", 0, 1024, &x, err)) != SC_OK) goto done;
    out->search_threads = (unsigned)x;
    if ((rc = server__cfg_path(root, "model", "the path of a model file", &out->model_path, err)) != SC_OK ||
        (rc = server__cfg_path(root, "repo", "the root of an indexed source tree", &out->repo_path, err)) != SC_OK ||
        (rc = server__cfg_path(root, "embedding_cache", "the path of an embedding cache file", &out->cache_path,
                               err)) != SC_OK)
        goto done;
    if ((rc = server_jobs_config_parse(json_object_get(root, "jobs"), &out->jobs, err)) != SC_OK) goto done;
    const json_t *keys = json_object_get(root, "api_keys");
    if (keys) {
        if (!json_is_array(keys)) {
            rc = sc_err_set(err, SC_INVALID, "config: `api_keys` must be an array");
            goto done;
        }
        size_t n = json_array_size(keys);
        out->keys = calloc(n ? n : 1, sizeof *out->keys);
        if (!out->keys) {
            rc = sc_err_set(err, SC_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            const json_t *k = json_array_get(keys, i);
            const char *secret = json_string_value(json_object_get(k, "key"));
            const char *role = json_string_value(json_object_get(k, "role"));
            const json_t *tj = json_object_get(k, "tenant");
            if (!secret || strlen(secret) < 16) {
                rc = sc_err_set(err, SC_INVALID, "config: api_keys[%zu].key must be a string of at least 16 bytes", i);
                goto done;
            }
            server_role r;
            if (role && !strcmp(role, "read")) r = SERVER_ROLE_READ;
            else if (role && !strcmp(role, "write")) r = SERVER_ROLE_WRITE;
            else if (role && !strcmp(role, "admin")) r = SERVER_ROLE_ADMIN;
            else {
                rc = sc_err_set(err, SC_INVALID, "config: api_keys[%zu].role must be read, write or admin", i);
                goto done;
            }
            if (tj && !json_is_null(tj) && (!json_is_string(tj) || !server_tenant_name_ok(json_string_value(tj)))) {
                rc = sc_err_set(err, SC_INVALID, "config: api_keys[%zu].tenant must be 1..64 of [A-Za-z0-9_-]", i);
                goto done;
            }
            for (size_t j = 0; j < i; j++)
                if (!strcmp(out->keys[j].key, secret)) {
                    rc = sc_err_set(err, SC_INVALID, "config: api_keys[%zu] repeats the key of api_keys[%zu]", i, j);
                    goto done;
                }
            out->keys[i].key = strdup(secret);
            out->keys[i].role = r;
            out->keys[i].tenant = json_is_string(tj) ? strdup(json_string_value(tj)) : NULL;
            out->n_keys = i + 1;
            if (!out->keys[i].key || (json_is_string(tj) && !out->keys[i].tenant)) {
                rc = sc_err_set(err, SC_NOMEM, "out of memory");
                goto done;
            }
        }
    }
done:
    json_decref(root);
    if (rc != SC_OK) server_config_free(out);
    return rc;
}

sc_status server_config_load(const char *path, server_config *out, sc_err *err) {
    *out = server_config_default();
    size_t len = 0;
    char *txt = util_read_file(path, &len);
    if (!txt) return sc_err_set(err, SC_IOERR, "config: cannot read %s: %s", path, strerror(errno));
    sc_status rc = server_config_parse(txt, out, err);
    free(txt);
    return rc;
}
