/*
** backend/config.c: where the points live and how to reach them. The store
** location (`--store`: a folder or qdrant[s]://host:port/collection?...),
** the configuration file (JSON, read with jansson: docs/ARCHITECTURE.md says
** why not TOML), and the checks made before a configuration is used
** (`semcode config check`, and at the start of index, search and serve).
*/
#include "backend/backend.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "net/net.h"
#include "semcode/repo.h"

backend_config backend_config_default(void) {
    backend_config c;
    memset(&c, 0, sizeof c);
    c.kind = BACKEND_KIND_EMBEDDED;
    c.port = 6333;
    c.timeout_ms = BACKEND_DEFAULT_TIMEOUT_MS;
    c.max_retries = 3;
    c.max_connections = BACKEND_DEFAULT_CONNECTIONS;
    c.batch_size = BACKEND_DEFAULT_BATCH;
    return c;
}

void backend_config_free(backend_config *c) {
    if (!c) return;
    free(c->dir);
    free(c->host);
    free(c->collection);
    free(c->ca_file);
    free(c->api_key_env);
    c->dir = c->host = c->collection = c->ca_file = c->api_key_env = NULL;
}

bool backend_is_url(const char *s) { return s && (!strncmp(s, "qdrant://", 9) || !strncmp(s, "qdrants://", 10)); }

/* Replace the owned string *dst by a copy of src[0..n). */
static bool cfg__set(char **dst, const char *src, size_t n) {
    char *v = malloc(n + 1);
    if (!v) return false;
    memcpy(v, src, n);
    v[n] = '\0';
    free(*dst);
    *dst = v;
    return true;
}

/* A decimal number within [lo, hi] from the whole of s; false otherwise. */
static bool cfg__num(const char *s, uint64_t lo, uint64_t hi, uint32_t *out) {
    if (!*s || *s == '-' || *s == '+') return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = (uint32_t)v;
    return true;
}

/* A boolean word. */
static bool cfg__bool(const char *s, bool *out) {
    if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes")) *out = true;
    else if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no")) *out = false;
    else return false;
    return true;
}

/* The numeric settings by name: where each goes and its range. */
typedef struct cfg_num_field {
    const char *url_key;  /* key in the URL's query */
    const char *json_key; /* key in the configuration file */
    size_t offset;        /* of the uint32_t in backend_config */
    uint32_t lo, hi;      /* accepted range (the checks judge the values within it) */
} cfg_num_field;

static const cfg_num_field cfg__nums[] = {
    {"timeout_ms", "timeout_ms", offsetof(backend_config, timeout_ms), 0, 3600000},
    {"retries", "max_retries", offsetof(backend_config, max_retries), 0, 100},
    {"connections", "max_connections", offsetof(backend_config, max_connections), 0, 1000000},
    {"batch", "batch_size", offsetof(backend_config, batch_size), 0, 1000000},
    {"shards", "shard_number", offsetof(backend_config, shard_number), 0, 100000},
    {"replicas", "replication_factor", offsetof(backend_config, replication_factor), 0, 100000},
    {"write_consistency", "write_consistency_factor", offsetof(backend_config, write_consistency_factor), 0, 100000},
    {"port", "port", offsetof(backend_config, port), 1, 65535},
};

/* Set one named setting from its text value (URL query or file). */
static sc_status cfg__apply(backend_config *c, const char *key, const char *val, bool url, sc_err *err) {
    for (size_t i = 0; i < sizeof cfg__nums / sizeof *cfg__nums; i++) {
        const cfg_num_field *f = &cfg__nums[i];
        if (strcmp(key, url ? f->url_key : f->json_key) && strcmp(key, f->json_key)) continue;
        if (!cfg__num(val, f->lo, f->hi, (uint32_t *)((char *)c + f->offset)))
            return sc_err_set(err, SC_INVALID, "store setting %s: '%s' is not a whole number within %u..%u", key, val,
                              f->lo, f->hi);
        return SC_OK;
    }
    if (!strcmp(key, "tls")) {
        if (!cfg__bool(val, &c->tls)) return sc_err_set(err, SC_INVALID, "store setting tls: '%s' is not true or false", val);
        return SC_OK;
    }
    char **dst = !strcmp(key, "ca") || !strcmp(key, "ca_file") ? &c->ca_file
                 : !strcmp(key, "api_key_env")                  ? &c->api_key_env
                 : !strcmp(key, "collection")                   ? &c->collection
                 : !strcmp(key, "host")                         ? &c->host
                                                                : NULL;
    if (!dst) return sc_err_set(err, SC_INVALID, "unknown store setting '%s'", key);
    if (!*val) return sc_err_set(err, SC_INVALID, "store setting %s is empty", key);
    return cfg__set(dst, val, strlen(val)) ? SC_OK : sc_err_set(err, SC_NOMEM, "out of memory");
}

sc_status backend_url_parse(const char *s, backend_config *c, sc_err *err) {
    if (!s || !*s) return sc_err_set(err, SC_INVALID, "the store location is empty");
    if (!backend_is_url(s)) {
        if (strstr(s, "://"))
            return sc_err_set(err, SC_INVALID,
                              "store '%s': unknown scheme (a folder, or qdrant://host:port/collection, qdrants:// for TLS)", s);
        c->kind = BACKEND_KIND_EMBEDDED;
        return cfg__set(&c->dir, s, strlen(s)) ? SC_OK : sc_err_set(err, SC_NOMEM, "out of memory");
    }
    c->kind = BACKEND_KIND_QDRANT;
    const char *p = strstr(s, "://") + 3;
    if (s[6] == 's') c->tls = true;
    /* host: a name, an IPv4 address or [IPv6] */
    const char *h = p, *he;
    if (*p == '[') {
        he = strchr(p, ']');
        if (!he) return sc_err_set(err, SC_INVALID, "store '%s': '[' of an IPv6 address without ']'", s);
        h = p + 1;
        p = he + 1;
    } else {
        he = p + strcspn(p, ":/?");
        p = he;
    }
    if (he == h) return sc_err_set(err, SC_INVALID, "store '%s': no host (qdrant://host:port/collection)", s);
    for (const char *q = h; q < he; q++)
        if ((unsigned char)*q <= ' ' || *q == '@')
            return sc_err_set(err, SC_INVALID, "store '%s': bad character in the host", s);
    if (!cfg__set(&c->host, h, (size_t)(he - h))) return sc_err_set(err, SC_NOMEM, "out of memory");
    if (*p == ':') {
        p++;
        size_t n = strcspn(p, "/?");
        char port[16];
        if (n == 0 || n >= sizeof port) return sc_err_set(err, SC_INVALID, "store '%s': bad port", s);
        memcpy(port, p, n);
        port[n] = '\0';
        if (!cfg__num(port, 1, 65535, &c->port))
            return sc_err_set(err, SC_INVALID, "store '%s': port '%s' is not a number within 1..65535", s, port);
        p += n;
    }
    if (*p == '/') {
        p++;
        size_t n = strcspn(p, "?");
        if (n) {
            for (size_t i = 0; i < n; i++)
                if (strchr("<>:\"/\\|*", p[i]) || (unsigned char)p[i] < ' ')
                    return sc_err_set(err, SC_INVALID, "store '%s': collection name '%.*s' has a character Qdrant refuses",
                                      s, (int)n, p);
            if (!cfg__set(&c->collection, p, n)) return sc_err_set(err, SC_NOMEM, "out of memory");
        }
        p += n;
    }
    if (*p == '?') {
        p++;
        while (*p) {
            size_t n = strcspn(p, "&");
            char kv[512];
            if (n >= sizeof kv) return sc_err_set(err, SC_INVALID, "store '%s': a query parameter is too long", s);
            memcpy(kv, p, n);
            kv[n] = '\0';
            char *eq = strchr(kv, '=');
            if (!eq) return sc_err_set(err, SC_INVALID, "store '%s': parameter '%s' has no value (key=value)", s, kv);
            *eq = '\0';
            sc_status rc = cfg__apply(c, kv, eq + 1, true, err);
            if (rc != SC_OK) return rc;
            p += n;
            if (*p == '&') p++;
        }
    } else if (*p) {
        return sc_err_set(err, SC_INVALID, "store '%s': unexpected '%s' after the host", s, p);
    }
    if (!c->collection && !cfg__set(&c->collection, "code", 4)) return sc_err_set(err, SC_NOMEM, "out of memory");
    return SC_OK;
}

sc_status backend_config_load(const char *path, backend_config *c, sc_err *err) {
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) return sc_err_set(err, SC_INVALID, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    sc_status rc = SC_OK;
    json_t *store = json_object_get(root, "store");
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (strcmp(k, "store")) {
            rc = sc_err_set(err, SC_INVALID, "%s: unknown section '%s' (expected \"store\")", path, k);
            goto done;
        }
    }
    if (!json_is_object(store)) {
        rc = sc_err_set(err, SC_INVALID, "%s: \"store\" must be an object", path);
        goto done;
    }
    /* the URL first: the other keys refine it */
    json_t *url = json_object_get(store, "url");
    if (url) {
        if (!json_is_string(url)) {
            rc = sc_err_set(err, SC_INVALID, "%s: store.url must be a string", path);
            goto done;
        }
        if ((rc = backend_url_parse(json_string_value(url), c, err)) != SC_OK) goto done;
    }
    json_object_foreach(store, k, v) {
        if (!strcmp(k, "url")) continue;
        char buf[64];
        const char *val = NULL;
        if (json_is_string(v)) val = json_string_value(v);
        else if (json_is_integer(v) && json_integer_value(v) >= 0) {
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
            val = buf;
        } else if (json_is_boolean(v)) val = json_is_true(v) ? "true" : "false";
        if (!val) {
            rc = sc_err_set(err, SC_INVALID, "%s: store.%s must be a string, a number >= 0 or a boolean", path, k);
            goto done;
        }
        bool known_num = false;
        for (size_t i = 0; i < sizeof cfg__nums / sizeof *cfg__nums; i++)
            if (!strcmp(k, cfg__nums[i].json_key)) known_num = true;
        if (known_num && !json_is_integer(v)) {
            rc = sc_err_set(err, SC_INVALID, "%s: store.%s must be a number", path, k);
            goto done;
        }
        if ((rc = cfg__apply(c, k, val, false, err)) != SC_OK) {
            char m[sizeof err->msg];
            snprintf(m, sizeof m, "%s", err ? err->msg : "");
            sc_err_set(err, rc, "%s: %s", path, m);
            goto done;
        }
    }
done:
    json_decref(root);
    return rc;
}

/* ==== Checks ==== */

void backend_check_add(backend_check *out, bool error, const char *field, const char *fmt, ...) {
    if (out->n == BACKEND_MAX_DIAGS) return;
    backend_diag *d = &out->diags[out->n++];
    d->error = error;
    snprintf(d->field, sizeof d->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    if (error) out->n_errors++;
}

/* Is host the local machine (an API key over plain http stays on it). */
static bool cfg__loopback(const char *host) {
    return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
}

void backend_curl_reason(int curl_code, const char *detail, const backend_config *c, char *out, size_t size) {
    CURLcode cc = (CURLcode)curl_code;
    const char *d = detail && *detail ? detail : curl_easy_strerror(cc);
    const char *ca = c->ca_file ? c->ca_file : "the system's CAs";
    if (cc == CURLE_PEER_FAILED_VERIFICATION)
        snprintf(out, size, "TLS: the server's certificate is not trusted by %.300s (%.200s): %s", ca, d,
                 c->ca_file ? "is it the CA that signed the server's certificate?"
                            : "give the CA that signed it with ca=/path/to/ca.pem (or \"ca_file\" in the configuration)");
    else if (cc == CURLE_SSL_CACERT_BADFILE)
        snprintf(out, size, "TLS: the CA file %.300s cannot be used (%.200s): is it a PEM certificate?", ca, d);
    else if (cc == CURLE_SSL_CONNECT_ERROR)
        snprintf(out, size, "TLS handshake failed (%.200s): is the server speaking TLS on that port (qdrants:// needs "
                            "an https server)?", d);
    else snprintf(out, size, "%.300s", d);
}

/* One GET of /healthz: NULL when it answered 2xx, else the reason (written to why). */
static const char *cfg__probe(const backend_config *c, char *why, size_t size) {
    net_global_init();
    CURL *e = curl_easy_init();
    if (!e) return "cannot make an HTTP handle";
    char url[600], cerr[CURL_ERROR_SIZE] = "";
    bool v6 = strchr(c->host, ':') != NULL;
    snprintf(url, sizeof url, "%s://%s%s%s:%u/healthz", c->tls ? "https" : "http", v6 ? "[" : "", c->host,
             v6 ? "]" : "", c->port);
    long ms = c->timeout_ms && c->timeout_ms < 5000 ? (long)c->timeout_ms : 5000;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, NULL);
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull) curl_easy_setopt(e, CURLOPT_WRITEDATA, devnull);
    if (c->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    CURLcode cc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    if (devnull) fclose(devnull);
    if (cc != CURLE_OK) {
        char r[700];
        backend_curl_reason((int)cc, cerr, c, r, sizeof r);
        snprintf(why, size, "%.300s: %s", url, r);
    } else if (status < 200 || status > 299) snprintf(why, size, "%.600s answered HTTP %ld", url, status);
    else return NULL;
    return why;
}

void backend_config_check(const backend_config *c, uint32_t dim, bool probe, backend_check *out) {
    memset(out, 0, sizeof *out);
    bool q = c->kind == BACKEND_KIND_QDRANT;
    uint32_t max_dim = q ? BACKEND_QDRANT_MAX_DIM : SC_MAX_DIM;
    if (dim > max_dim)
        backend_check_add(out, true, "dim", "the model's dimension %u is over the %s backend's largest (%u)", dim,
                  q ? "qdrant" : "embedded", max_dim);
    if (!q) {
        if (c->dir && access(c->dir, F_OK) == 0 && access(c->dir, W_OK) != 0)
            backend_check_add(out, true, "dir", "the store folder %s is not writable", c->dir);
        return;
    }
    if (!c->host || !*c->host) backend_check_add(out, true, "host", "no host: give qdrant://host:port/collection");
    if (c->timeout_ms == 0) backend_check_add(out, true, "timeout_ms", "timeout_ms is 0: every request would fail");
    else if (c->timeout_ms < BACKEND_MIN_SAFE_TIMEOUT_MS)
        backend_check_add(out, false, "timeout_ms",
                  "timeout_ms %u is under 5 s: an upsert batch or a cluster under load can take longer, and a "
                  "timed-out write is retried", c->timeout_ms);
    if (c->max_connections == 0) backend_check_add(out, true, "max_connections", "max_connections is 0");
    else if (c->max_connections > BACKEND_MAX_CONNECTIONS)
        backend_check_add(out, true, "max_connections", "max_connections %u is over %u: too many for one client",
                  c->max_connections, BACKEND_MAX_CONNECTIONS);
    else if (c->max_connections > BACKEND_WARN_CONNECTIONS)
        backend_check_add(out, false, "max_connections",
                  "max_connections %u is over %u: one index run uses one connection at a time, the rest stay idle "
                  "on the server", c->max_connections, BACKEND_WARN_CONNECTIONS);
    if (c->batch_size == 0 || c->batch_size > BACKEND_MAX_BATCH)
        backend_check_add(out, true, "batch_size", "batch_size %u is not within 1..%u", c->batch_size, BACKEND_MAX_BATCH);
    if (c->max_retries > 10)
        backend_check_add(out, false, "max_retries", "max_retries %u: with backoff a failing server holds a run for minutes",
                  c->max_retries);
    if (c->write_consistency_factor && c->replication_factor &&
        c->write_consistency_factor > c->replication_factor)
        backend_check_add(out, true, "write_consistency_factor",
                  "write_consistency_factor %u is over replication_factor %u: no write could be acknowledged",
                  c->write_consistency_factor, c->replication_factor);
    if (c->replication_factor == 1 && c->shard_number > 1)
        backend_check_add(out, false, "replication_factor",
                  "replication_factor 1 with %u shards: losing one node loses part of the index", c->shard_number);
    const char *kenv = c->api_key_env ? c->api_key_env : BACKEND_DEFAULT_API_KEY_ENV;
    const char *key = getenv(kenv);
    if (c->api_key_env && (!key || !*key))
        backend_check_add(out, true, "api_key_env", "the variable %s named for the API key is not set", kenv);
    if (c->tls) {
        if (!c->ca_file)
            backend_check_add(out, false, "ca", "TLS without a CA file: the server is verified against the system's CAs only "
                                        "(give ca=/path/to/ca.pem for a private CA)");
        else if (access(c->ca_file, R_OK) != 0)
            backend_check_add(out, true, "ca", "the CA file %s cannot be read: %s", c->ca_file, strerror(errno));
    } else {
        if (c->ca_file) backend_check_add(out, false, "ca", "a CA file is given but TLS is off (use qdrants:// or tls=true)");
        if (key && *key && c->host && !cfg__loopback(c->host))
            backend_check_add(out, false, "tls", "the API key in %s would go to %s over plain http: use qdrants://", kenv, c->host);
    }
    if (probe && c->host && *c->host && out->n_errors == 0) {
        char why[1024];
        const char *bad = cfg__probe(c, why, sizeof why);
        if (bad) backend_check_add(out, true, strstr(bad, "TLS") ? "ca" : "host", "unreachable: %s", bad);
        else backend_qdrant_cluster_check(c, out);
    }
}

/* ==== Public entry (include/semcode/repo.h) ==== */

sc_status sc_store_config_check(const char *config_file, const char *store, uint32_t dim, bool probe,
                                char **report_json, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!report_json) return util_errmsg_out(errmsg, SC_MISUSE, "sc_store_config_check: NULL report_json");
    backend_config c = backend_config_default();
    sc_err err = {0};
    sc_status rc = SC_OK;
    if (config_file) rc = backend_config_load(config_file, &c, &err);
    if (rc == SC_OK && store) rc = backend_url_parse(store, &c, &err);
    if (rc != SC_OK) {
        backend_config_free(&c);
        return util_errmsg_out(errmsg, rc, err.msg);
    }
    backend_check chk;
    backend_config_check(&c, dim, probe, &chk);
    char loc[700];
    if (c.kind == BACKEND_KIND_QDRANT)
        snprintf(loc, sizeof loc, "qdrant%s://%.300s:%u/%.300s", c.tls ? "s" : "", c.host ? c.host : "", c.port,
                 c.collection ? c.collection : "code");
    else snprintf(loc, sizeof loc, "%.600s", c.dir ? c.dir : "(the default folder ROOT/.semcode)");
    json_t *diags = json_array();
    for (uint32_t i = 0; i < chk.n; i++)
        json_array_append_new(diags, json_pack("{s:s, s:s, s:s}", "level", chk.diags[i].error ? "error" : "warning",
                                               "field", chk.diags[i].field, "message", chk.diags[i].msg));
    json_t *root = json_pack("{s:s, s:s, s:b, s:i, s:i, s:o}", "store", loc, "kind",
                             c.kind == BACKEND_KIND_QDRANT ? "qdrant" : "embedded", "ok", chk.n_errors == 0, "errors",
                             (json_int_t)chk.n_errors, "warnings", (json_int_t)(chk.n - chk.n_errors), "diagnostics",
                             diags);
    if (root && chk.cluster[0]) json_object_set_new(root, "cluster", json_string(chk.cluster));
    *report_json = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    backend_config_free(&c);
    return *report_json ? SC_OK : util_errmsg_out(errmsg, SC_NOMEM, "out of memory");
}
