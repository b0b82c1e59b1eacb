/*
** embed/remote.c: client of OpenAI-compatible embedding endpoints
** (POST {base_url}/embeddings) on libcurl's multi interface.
**
** DESIGN
** - A call is cut into requests of batch_size texts. At most concurrency
**   requests are in flight; the others wait in a queue ordered by the time
**   they may (re)start.
** - A request that fails with a network error, a timeout, HTTP 408, 409,
**   429 or 5xx, or whose answer does not validate (malformed JSON, wrong
**   number of vectors, wrong dimension, non-finite numbers), is retried up
**   to max_retries times. The wait before retry r (1, 2, ...) is uniform in
**   [0, min(backoff_max, backoff_base * 2^(r-1))] ("full jitter"); a 429 or 503
**   with Retry-After waits what the server asked, capped by backoff_max.
**   Other 4xx answers fail at once (retrying cannot help).
** - Nothing of a request's answer is copied out until the whole answer has
**   validated, so no vector of a bad response is ever returned.
** - The API key is read from the named environment variable when the
**   client is made, sent only in the Authorization header, and appears in
**   no message (masked even where a server echoes it in an error body).
** - Vectors are asked for as base64 float32 (what OpenAI's own clients do):
**   printing and parsing 17-digit decimals cost more than the embedding
**   itself on a local server (docs/BENCHMARKS.md, embedding pipeline). A
**   400/422 answer that names encoding_format or base64 switches the client
**   to JSON numbers for good and retries at once; an embedding given as
**   numbers is accepted whichever form was asked for.
** - The multi handle lives as long as the client, so its connection cache
**   keeps connections open from one call to the next (index batches).
*/
#include "embed/provider_int.h"
#include "net/net.h"

#include <curl/curl.h>
#include <endian.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct embed_remote {
    sc_remote_options opt;     /* options, strings owned below */
    char *url;                 /* base_url + "/embeddings" */
    char *model;               /* model name */
    char *auth;                /* "Authorization: Bearer ..." or NULL */
    uint64_t rng;              /* jitter state */
    bool base64;               /* ask for base64 vectors (until a server refuses) */
    CURLM *multi;              /* transfers and the connection cache, kept across calls */
};

/* One request: a slice of the call's texts. */
typedef struct remote__req {
    size_t first, count;       /* slice of the texts */
    uint32_t attempt;          /* tries so far */
    double start_at;           /* monotonic time it may start */
    CURL *easy;                /* handle while in flight */
    struct curl_slist *headers;/* request headers */
    char *body;                /* request JSON */
    util_buf resp;             /* response body */
    long retry_after_ms;       /* from a Retry-After header, -1 = none */
    char error[160];           /* last failure */
    bool done;                 /* finished (success or final failure) */
    bool ok;                   /* finished with validated vectors */
} remote__req;

sc_remote_options sc_remote_options_default(void) {
    sc_remote_options o;
    memset(&o, 0, sizeof o);
    o.batch_size = 64;
    o.concurrency = 4;
    o.timeout_ms = 30000;
    o.max_retries = 5;
    o.backoff_base_ms = 250;
    o.backoff_max_ms = 20000;
    o.max_input_bytes = 32768;
    return o;
}

sc_status remote_new(const sc_remote_options *opt, embed_remote **out, sc_err *err) {
    net_global_init();
    if (!opt->base_url || strncmp(opt->base_url, "http", 4) != 0)
        return sc_err_set(err, SC_INVALID, "remote.base_url: expected an http:// or https:// URL, got %s",
                          opt->base_url ? opt->base_url : "nothing");
    if (!opt->model || !*opt->model) return sc_err_set(err, SC_INVALID, "remote.model: a model name is required");
    if (opt->dim < 1 || opt->dim > SC_MAX_DIM_EMBED)
        return sc_err_set(err, SC_INVALID, "remote.dim: %u is out of range, expected 1..%u", opt->dim, SC_MAX_DIM_EMBED);
    embed_remote *r = calloc(1, sizeof *r);
    if (!r) return sc_err_set(err, SC_NOMEM, "out of memory");
    r->opt = *opt;
    sc_remote_options d = sc_remote_options_default();
    if (!r->opt.batch_size) r->opt.batch_size = d.batch_size;
    if (!r->opt.concurrency) r->opt.concurrency = d.concurrency;
    if (!r->opt.timeout_ms) r->opt.timeout_ms = d.timeout_ms;
    if (!r->opt.backoff_base_ms) r->opt.backoff_base_ms = d.backoff_base_ms;
    if (!r->opt.backoff_max_ms) r->opt.backoff_max_ms = d.backoff_max_ms;
    if (!r->opt.max_input_bytes) r->opt.max_input_bytes = d.max_input_bytes;
    if (r->opt.concurrency > 64) r->opt.concurrency = 64;
    r->rng = opt->seed ? opt->seed : (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)r;
    r->base64 = !opt->float_encoding;
    r->multi = curl_multi_init();
    size_t n = strlen(opt->base_url);
    while (n && opt->base_url[n - 1] == '/') n--;
    r->url = malloc(n + sizeof "/embeddings");
    r->model = util_strdup(opt->model);
    if (r->url) {
        memcpy(r->url, opt->base_url, n);
        memcpy(r->url + n, "/embeddings", sizeof "/embeddings");
    }
    const char *key = opt->api_key_env ? getenv(opt->api_key_env) : NULL;
    if (opt->api_key_env && (!key || !*key)) {
        remote_free(r);
        return sc_err_set(err, SC_INVALID, "remote.api_key_env: environment variable %s is not set", opt->api_key_env);
    }
    if (key) {
        size_t kl = strlen(key);
        r->auth = malloc(kl + sizeof "Authorization: Bearer ");
        if (r->auth) snprintf(r->auth, kl + sizeof "Authorization: Bearer ", "Authorization: Bearer %s", key);
    }
    if (!r->url || !r->model || (key && !r->auth) || !r->multi) {
        remote_free(r);
        return sc_err_set(err, SC_NOMEM, "out of memory");
    }
    r->opt.base_url = NULL; /* not kept: r->url has it */
    r->opt.model = NULL;
    r->opt.api_key_env = NULL;
    r->opt.family = NULL;
    *out = r;
    return SC_OK;
}

void remote_free(embed_remote *r) {
    if (!r) return;
    if (r->auth) memset(r->auth, 0, strlen(r->auth)); /* do not leave the key in freed memory */
    free(r->auth);
    if (r->multi) curl_multi_cleanup(r->multi);
    free(r->url);
    free(r->model);
    free(r);
}

/* ==== One request ==== */

static size_t remote__on_body(char *p, size_t size, size_t nmemb, void *arg) {
    remote__req *q = arg;
    size_t n = size * nmemb;
    if (q->resp.len + n > (size_t)256 << 20) return 0; /* refuse absurd answers */
    util_buf_append(&q->resp, p, n);
    return q->resp.oom ? 0 : n;
}

static size_t remote__on_header(char *p, size_t size, size_t nmemb, void *arg) {
    remote__req *q = arg;
    size_t n = size * nmemb;
    if (n > 12 && !strncasecmp(p, "retry-after:", 12)) q->retry_after_ms = net_retry_after_ms(p + 12, n - 12, time(NULL));
    return n;
}

static char *remote__body(const embed_remote *r, const char *const *texts, size_t first, size_t count) {
    json_t *in = json_array();
    for (size_t i = 0; i < count; i++) json_array_append_new(in, json_string(texts[first + i]));
    json_t *root = json_pack("{s:s, s:o, s:s}", "model", r->model, "input", in, "encoding_format",
                             r->base64 ? "base64" : "float");
    if (root && r->opt.send_dimensions) json_object_set_new(root, "dimensions", json_integer(r->opt.dim));
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return s;
}

static bool remote__start(embed_remote *r, CURLM *multi, remote__req *q, const char *const *texts) {
    free(q->body);
    q->body = remote__body(r, texts, q->first, q->count);
    q->easy = curl_easy_init();
    if (!q->body || !q->easy) return false;
    q->resp.len = 0;
    q->resp.oom = false;
    q->retry_after_ms = -1;
    if (!q->headers) {
        q->headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (r->auth) q->headers = curl_slist_append(q->headers, r->auth);
        q->headers = curl_slist_append(q->headers, "Expect:");
    }
    curl_easy_setopt(q->easy, CURLOPT_URL, r->url);
    curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->headers);
    curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, q->body);
    curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS, (long)r->opt.timeout_ms);
    curl_easy_setopt(q->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(r->opt.timeout_ms < 10000 ? r->opt.timeout_ms : 10000));
    curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION, remote__on_body);
    curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(q->easy, CURLOPT_HEADERFUNCTION, remote__on_header);
    curl_easy_setopt(q->easy, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(q->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(q->easy, CURLOPT_PRIVATE, q);
    curl_easy_setopt(q->easy, CURLOPT_ACCEPT_ENCODING, "");
    q->attempt++;
    return curl_multi_add_handle(multi, q->easy) == CURLM_OK;
}

/* Decode standard base64 (padding optional) into out[cap]; bytes written,
** or (size_t)-1 when s is not base64 or does not fit. */
static size_t remote__unbase64(const char *s, size_t n, unsigned char *out, size_t cap) {
    size_t w = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
              : c == '+' ? 62 : c == '/' ? 63 : -1;
        if (v < 0) {
            if (c != '=') return (size_t)-1;
            while (i < n && s[i] == '=') i++;
            if (i != n) return (size_t)-1;
            break;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (w == cap) return (size_t)-1;
            out[w++] = (unsigned char)(acc >> bits);
        }
    }
    return w;
}

/* One embedding (JSON numbers or base64 float32) into v[dim]; false with q->error set. */
static bool remote__vector(const embed_remote *r, remote__req *q, const json_t *emb, size_t at, float *v) {
    uint32_t dim = r->opt.dim;
    if (json_is_string(emb)) {
        size_t got = remote__unbase64(json_string_value(emb), json_string_length(emb), (unsigned char *)v,
                                      sizeof(float) * dim);
        if (got != sizeof(float) * dim) {
            if (got == (size_t)-1 && json_string_length(emb) <= (sizeof(float) * dim + 2) / 3 * 4)
                snprintf(q->error, sizeof q->error, "response embedding %zu is a string but not base64", at);
            else
                snprintf(q->error, sizeof q->error, "response embedding %zu has dimension %zu, expected %u", at,
                         got == (size_t)-1 ? json_string_length(emb) * 3 / 4 / sizeof(float) : got / sizeof(float), dim);
            return false;
        }
        for (uint32_t d = 0; d < dim; d++) {
            uint32_t bitsv;
            memcpy(&bitsv, &v[d], sizeof bitsv);
            bitsv = le32toh(bitsv); /* the wire format is little-endian */
            memcpy(&v[d], &bitsv, sizeof bitsv);
            if (!isfinite(v[d])) {
                snprintf(q->error, sizeof q->error, "response embedding %zu component %u is not a finite number", at, d);
                return false;
            }
        }
        return true;
    }
    if (!json_is_array(emb) || json_array_size(emb) != dim) {
        snprintf(q->error, sizeof q->error, "response embedding %zu has dimension %zu, expected %u", at,
                 json_is_array(emb) ? json_array_size(emb) : 0, dim);
        return false;
    }
    for (size_t d = 0; d < dim; d++) {
        json_t *x = json_array_get(emb, d);
        double x_v = json_number_value(x);
        if (!json_is_number(x) || !isfinite(x_v) || fabs(x_v) > 3.0e38) {
            snprintf(q->error, sizeof q->error, "response embedding %zu component %zu is not a finite number", at, d);
            return false;
        }
        v[d] = (float)x_v;
    }
    return true;
}

/* Validate a 200 answer and copy its vectors out; false with q->error set. */
static bool remote__accept(embed_remote *r, remote__req *q, float *out) {
    json_error_t jerr;
    json_t *root = json_loadb(q->resp.data ? q->resp.data : "", q->resp.len, 0, &jerr);
    bool ok = false;
    if (!root) {
        snprintf(q->error, sizeof q->error, "malformed JSON in the response: %.100s", jerr.text);
        return false;
    }
    json_t *data = json_object_get(root, "data");
    if (!json_is_array(data) || json_array_size(data) != q->count) {
        snprintf(q->error, sizeof q->error, "response has %zu embeddings for %zu inputs",
                 json_is_array(data) ? json_array_size(data) : 0, q->count);
        goto done;
    }
    float *tmp = malloc(sizeof(float) * r->opt.dim * q->count);
    bool *seen = calloc(q->count, 1);
    if (!tmp || !seen) {
        free(tmp);
        free(seen);
        snprintf(q->error, sizeof q->error, "out of memory");
        goto done;
    }
    size_t i;
    json_t *item;
    ok = true;
    json_array_foreach(data, i, item) {
        json_t *idx = json_object_get(item, "index"), *emb = json_object_get(item, "embedding");
        size_t at = json_is_integer(idx) ? (size_t)json_integer_value(idx) : i;
        if (at >= q->count || seen[at]) {
            snprintf(q->error, sizeof q->error, "response item %zu has index %zu, out of range or repeated", i, at);
            ok = false;
            break;
        }
        seen[at] = true;
        if (!(ok = remote__vector(r, q, emb, at, tmp + at * r->opt.dim))) break;
    }
    if (ok) memcpy(out + q->first * r->opt.dim, tmp, sizeof(float) * r->opt.dim * q->count);
    free(tmp);
    free(seen);
done:
    json_decref(root);
    return ok;
}

/* Backoff before the next try of q, in seconds. */
static double remote__backoff(embed_remote *r, const remote__req *q) {
    return (double)net_backoff_ms(r->opt.backoff_base_ms, r->opt.backoff_max_ms, q->attempt, q->retry_after_ms,
                                     &r->rng) /
           1000.0;
}

/* Mask the API key in s (a server may echo it in an error body). */
static void remote__redact(const embed_remote *r, char *s) {
    static const char bearer[] = "Authorization: Bearer ";
    if (r->auth) net_redact(r->auth + sizeof bearer - 1, s);
}

/* ==== A whole call ==== */

void remote_embed(embed_remote *r, const char *const *texts, size_t n, float *out, sc_embed_item *items,
                  sc_embed_summary *sum) {
    size_t n_req = (n + r->opt.batch_size - 1) / r->opt.batch_size;
    remote__req *reqs = calloc(n_req ? n_req : 1, sizeof *reqs);
    CURLM *multi = r->multi;
    if (!reqs) {
        for (size_t i = 0; i < n; i++) {
            items[i].status = SC_NOMEM;
            snprintf(items[i].error, sizeof items[i].error, "out of memory for remote requests");
        }
        free(reqs);
        return;
    }
    double now = util_now();
    for (size_t k = 0; k < n_req; k++) {
        reqs[k].first = k * r->opt.batch_size;
        reqs[k].count = n - reqs[k].first < r->opt.batch_size ? n - reqs[k].first : r->opt.batch_size;
        reqs[k].start_at = now;
    }
    size_t remaining = n_req, in_flight = 0;
    while (remaining > 0) {
        /* Start what may start. */
        now = util_now();
        for (size_t k = 0; k < n_req && in_flight < r->opt.concurrency; k++) {
            remote__req *q = &reqs[k];
            if (q->done || q->easy || q->start_at > now) continue;
            if (q->attempt) sum->retries++;
            sum->requests++;
            if (!remote__start(r, multi, q, texts)) {
                snprintf(q->error, sizeof q->error, "cannot start a request (out of memory)");
                if (q->easy) curl_easy_cleanup(q->easy);
                q->easy = NULL;
                q->done = true;
                remaining--;
                continue;
            }
            in_flight++;
        }
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            remote__req *q = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&q);
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            CURLcode cres = msg->data.result;
            curl_multi_remove_handle(multi, q->easy);
            curl_easy_cleanup(q->easy);
            q->easy = NULL;
            in_flight--;
            bool retry = true;
            if (cres != CURLE_OK) {
                snprintf(q->error, sizeof q->error, "request to %s failed: %s", r->url, curl_easy_strerror(cres));
            } else if (code == 200) {
                if (remote__accept(r, q, out)) {
                    q->done = q->ok = true;
                    remaining--;
                    continue;
                }
            } else {
                char snippet[64] = "";
                if (q->resp.data) snprintf(snippet, sizeof snippet, ": %.48s", q->resp.data);
                remote__redact(r, snippet);
                snprintf(q->error, sizeof q->error, "%s answered HTTP %ld%s", r->url, code, snippet);
                retry = code == 408 || code == 409 || code == 429 || code >= 500;
                if ((code == 400 || code == 422) && r->base64 && q->resp.data &&
                    (strstr(q->resp.data, "encoding_format") || strstr(q->resp.data, "base64"))) {
                    /* This server wants numbers: ask for them from now on, and
                    ** retry at once without spending a retry. */
                    r->base64 = false;
                    q->attempt--;
                    q->start_at = util_now();
                    continue;
                }
            }
            if (!retry || q->attempt > r->opt.max_retries) {
                q->done = true;
                remaining--;
            } else {
                q->start_at = util_now() + remote__backoff(r, q);
            }
        }
        if (remaining == 0) break;
        /* Sleep until a socket is ready or the next waiting request is due;
        ** not at all when one may start now (a request just finished and
        ** freed its slot: with no transfer left, nothing would wake us). */
        now = util_now();
        double next_due = now + 0.2;
        for (size_t k = 0; k < n_req; k++) {
            const remote__req *q = &reqs[k];
            if (!q->done && !q->easy && q->start_at < next_due) next_due = q->start_at;
        }
        if (next_due <= now && in_flight < r->opt.concurrency) continue;
        int wait_ms = (int)((next_due - now) * 1000.0);
        if (wait_ms < 1) wait_ms = 1;
        curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
    }
    for (size_t k = 0; k < n_req; k++) {
        remote__req *q = &reqs[k];
        bool ok = q->ok;
        remote__redact(r, q->error); /* e.g. a JSON parser's "near '...'" quoting the body */
        for (size_t i = q->first; i < q->first + q->count; i++) {
            items[i].status = ok ? SC_OK : SC_IOERR;
            if (!ok) {
                snprintf(items[i].error, sizeof items[i].error, "%s (after %u %s)", q->error, q->attempt,
                         q->attempt == 1 ? "try" : "tries");
                memset(out + i * r->opt.dim, 0, sizeof(float) * r->opt.dim);
            }
        }
        if (q->easy) {
            curl_multi_remove_handle(multi, q->easy);
            curl_easy_cleanup(q->easy);
        }
        curl_slist_free_all(q->headers);
        free(q->body);
        util_buf_free(&q->resp);
    }
    free(reqs);
}
