/*
** backend/qdrant_http.c: the HTTP side of the Qdrant backend. One libcurl
** easy handle per backend, kept for its life, so requests reuse the
** connection (keep-alive; max_connections bounds curl's connection
** cache). JSON bodies both ways; the API key (from the variable the
** configuration names) goes in the `api-key` header and is masked in every
** message; TLS verified against the system's CAs or the given CA file;
** transient failures (no answer, 408, 429, 5xx) are retried with
** full-jitter backoff (net_backoff_ms), honouring Retry-After. Every write
** the backend makes is idempotent (upserts by stable id, deletes), so a
** retry after a lost answer cannot duplicate anything.
*/
#include "backend/qdrant_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"

/* The body of an answer as it arrives. */
typedef struct qh_body {
    util_buf buf;       /* bytes */
    long retry_after;   /* Retry-After in ms, -1 = none */
} qh_body;

static size_t qh__on_body(char *p, size_t size, size_t nmemb, void *arg) {
    qh_body *b = arg;
    util_buf_append(&b->buf, p, size * nmemb);
    return size * nmemb;
}

static size_t qh__on_header(char *p, size_t size, size_t nmemb, void *arg) {
    qh_body *b = arg;
    size_t n = size * nmemb;
    if (n > 12 && !strncasecmp(p, "Retry-After:", 12)) b->retry_after = net_retry_after_ms(p + 12, n - 12, time(NULL));
    return n;
}

sc_status qdrant_http_init(backend *b, qdrant_state *q) {
    net_global_init();
    q->curl = curl_easy_init();
    if (!q->curl) return backend_fail(b, SC_NOMEM, "cannot make an HTTP handle");
    bool v6 = strchr(q->cfg.host, ':') != NULL;
    snprintf(q->base, sizeof q->base, "%s://%s%s%s:%u", q->cfg.tls ? "https" : "http", v6 ? "[" : "", q->cfg.host,
             v6 ? "]" : "", q->cfg.port);
    q->headers = curl_slist_append(NULL, "Content-Type: application/json");
    const char *kenv = q->cfg.api_key_env ? q->cfg.api_key_env : BACKEND_DEFAULT_API_KEY_ENV;
    const char *key = getenv(kenv);
    if (key && *key) {
        q->api_key = util_strdup(key);
        char h[1100];
        snprintf(h, sizeof h, "api-key: %s", key);
        q->headers = curl_slist_append(q->headers, h);
        memset(h, 0, sizeof h);
    }
    if (!q->headers) return backend_fail(b, SC_NOMEM, "out of memory");
    q->rng = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    return SC_OK;
}

void qdrant_http_free(qdrant_state *q) {
    if (q->curl) curl_easy_cleanup(q->curl);
    curl_slist_free_all(q->headers);
    if (q->api_key) {
        memset(q->api_key, 0, strlen(q->api_key));
        free(q->api_key);
    }
}

/* Qdrant's error text from a body ({"status": {"error": "..."}}), or the body's start. */
static void qh__error_text(const char *body, char *out, size_t size) {
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(json_object_get(j, "status"), "error"));
    snprintf(out, size, "%.300s", e ? e : body && *body ? body : "(no body)");
    json_decref(j);
}

sc_status qdrant_call_flags(backend *b, const char *method, const char *path, json_t *body, size_t decode_flags,
                            json_t **out) {
    qdrant_state *q = b->impl;
    *out = NULL;
    char url[1536];
    snprintf(url, sizeof url, "%s%s", q->base, path);
    /* 9 significant digits: every float32 survives the round trip, in half the bytes of 17 */
    char *req = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    if (body && !req) return backend_fail(b, SC_NOMEM, "out of memory writing a request");
    CURL *e = q->curl;
    sc_status rc = SC_IOERR;
    char why[1024] = "", cerr[CURL_ERROR_SIZE];
    for (uint32_t attempt = 0;; attempt++) {
        qh_body rb = {.retry_after = -1};
        curl_easy_reset(e);
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers);
        if (req) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, req);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(req));
        }
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)q->cfg.timeout_ms);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(q->cfg.timeout_ms < 10000 ? q->cfg.timeout_ms : 10000));
        curl_easy_setopt(e, CURLOPT_MAXCONNECTS, (long)(q->cfg.max_connections ? q->cfg.max_connections : 1));
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(e, CURLOPT_USERAGENT, "semcode");
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        if (q->cfg.ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, q->cfg.ca_file);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, qh__on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &rb);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, qh__on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, &rb);
        cerr[0] = '\0';
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
        b->stats.requests++;
        if (attempt) b->stats.retries++;
        b->stats.bytes_sent += req ? strlen(req) : 0;
        CURLcode cc = curl_easy_perform(e);
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        util_buf_append(&rb.buf, "", 1); /* NUL-terminate */
        b->stats.bytes_received += rb.buf.len - 1;
        bool transient = cc != CURLE_OK || status == 408 || status == 429 || status >= 500;
        if (cc == CURLE_OK && status >= 200 && status < 300) {
            json_error_t je;
            *out = json_loads(rb.buf.data, decode_flags, &je);
            if (*out) rc = SC_OK;
            else {
                snprintf(why, sizeof why, "%s %.300s: the answer is not JSON: %s", method, path, je.text);
                transient = true;
            }
        } else if (cc != CURLE_OK) {
            char r[700];
            backend_curl_reason((int)cc, cerr, &q->cfg, r, sizeof r);
            snprintf(why, sizeof why, "%.10s %.200s%.200s: %.590s", method, q->base, path, r);
            /* a certificate the CA does not vouch for will not change on a retry */
            if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE) transient = false;
        } else {
            char et[400];
            qh__error_text(rb.buf.data, et, sizeof et);
            snprintf(why, sizeof why, "%s %.300s: HTTP %ld: %s", method, path, status, et);
            rc = status == 404 ? SC_NOTFOUND : status == 409 ? SC_EXISTS : status == 401 || status == 403 ? SC_INVALID
                 : transient ? SC_IOERR : SC_INVALID;
        }
        long ra = rb.retry_after;
        util_buf_free(&rb.buf);
        if (rc == SC_OK || !transient || attempt >= q->cfg.max_retries) break;
        uint64_t ms = net_backoff_ms(200, 10000, attempt + 1, ra, &q->rng);
        struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        rc = SC_IOERR;
    }
    free(req);
    if (rc != SC_OK) {
        net_redact(q->api_key, why);
        return backend_fail(b, rc, "qdrant: %s", why);
    }
    return SC_OK;
}

sc_status qdrant_call(backend *b, const char *method, const char *path, json_t *body, json_t **out) {
    return qdrant_call_flags(b, method, path, body, 0, out);
}
