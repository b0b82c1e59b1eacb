/*
** net/http.c: HTTP client pieces shared by the embedding provider and the
** records connectors (net.h): backoff, Retry-After, rate-limit decisions,
** Link pagination, masking secrets, and net_client, a synchronous GET of
** JSON on libcurl's easy interface.
**
** DESIGN
** - One easy handle per client, reused: its connection cache keeps the
**   connection to an API open from one page to the next.
** - Transient failures (no answer, 408, 5xx, a 2xx whose body is not JSON,
**   i.e. a cut transfer) are retried up to max_retries times with full
**   jitter backoff; a Retry-After on them is honoured (capped by
**   backoff_max_ms).
** - Rate limits (429, or 403 with Retry-After, X-RateLimit-Remaining 0 or a
**   body that says so: GitHub's primary and secondary limits) are waited out
**   as the server asks (net_classify), each wait at most max_wait_s: a
**   longer one fails the call with SC_BUSY naming when to come back, so a
**   run never hangs for an hour unasked. After a 2xx that leaves
**   X-RateLimit-Remaining at 0, the next request first waits for the reset
**   instead of spending a request on a refusal.
** - The secret (token) lives only in the Authorization header; every
**   message that quotes a URL or a body is masked (net_redact).
** - Waits sleep in 50 ms slices and watch the cancel flag; the transfer
**   itself is aborted by a progress callback when the flag is set.
*/
#include "net/net.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NET_MAX_BODY ((size_t)256 << 20) /* larger answers are refused */

/* ==== Pieces ==== */

uint64_t net_backoff_ms(uint32_t base_ms, uint32_t max_ms, uint32_t attempt, long retry_after_ms, uint64_t *rng) {
    if (retry_after_ms >= 0) return retry_after_ms < (long)max_ms ? (uint64_t)retry_after_ms : max_ms;
    uint64_t cap = base_ms;
    for (uint32_t i = 1; i < attempt && cap < max_ms; i++) cap *= 2;
    if (cap > max_ms) cap = max_ms;
    *rng = util_mix64(*rng + 0x9e3779b97f4a7c15ULL);
    return *rng % (cap + 1);
}

long net_retry_after_ms(const char *v, size_t n, time_t now) {
    char buf[80];
    while (n && (*v == ' ' || *v == '\t')) v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) n--;
    if (!n || n >= sizeof buf) return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    char *end = NULL;
    double secs = strtod(buf, &end);
    if (end != buf && *end == '\0') return secs >= 0 && secs < 1e9 ? (long)(secs * 1000.0) : -1;
    time_t when = curl_getdate(buf, NULL);
    if (when <= 0) return -1;
    double d = difftime(when, now);
    return d > 0 ? (long)(d * 1000.0) : 0;
}

bool net_link_next(const char *v, size_t n, char *out, size_t size) {
    size_t i = 0;
    while (i < n) {
        while (i < n && v[i] != '<') i++;
        if (i == n) return false;
        size_t a = ++i;
        while (i < n && v[i] != '>') i++;
        if (i == n) return false;
        size_t z = i++;
        /* parameters up to the next ',' that is not inside quotes */
        size_t p = i;
        bool quoted = false;
        while (i < n && (quoted || v[i] != ',')) {
            if (v[i] == '"') quoted = !quoted;
            i++;
        }
        for (size_t k = p; k + 3 <= i; k++) {
            if (strncasecmp(v + k, "rel", 3)) continue;
            size_t m = k + 3;
            while (m < i && v[m] == ' ') m++;
            if (m >= i || v[m] != '=') continue;
            m++;
            while (m < i && v[m] == ' ') m++;
            bool q = m < i && v[m] == '"';
            if (q) m++;
            /* rel may list several relation types: rel="next last" */
            while (m < i && v[m] != '"' && v[m] != ';') {
                size_t t = m;
                while (m < i && v[m] != ' ' && v[m] != '"' && v[m] != ';') m++;
                if (m - t == 4 && !strncasecmp(v + t, "next", 4)) {
                    if (z - a + 1 > size) return false;
                    memcpy(out, v + a, z - a);
                    out[z - a] = '\0';
                    return true;
                }
                if (!q) break;
                while (m < i && v[m] == ' ') m++;
            }
        }
        if (i < n) i++; /* past the ',' */
    }
    return false;
}

void net_redact(const char *secret, char *s) {
    if (!secret || !*secret || !s) return;
    size_t kl = strlen(secret), n = strlen(s), min = kl < 8 ? kl : 8;
    for (size_t i = 0; i < n; i++) {
        size_t m = 0;
        while (i + m < n && m < kl && s[i + m] == secret[m]) m++;
        if (m == kl || (m >= min && i + m == n)) {
            memset(s + i, '*', m);
            i += m - 1;
        }
    }
}

char *net_basic_auth(const char *user, const char *secret) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char head[] = "Authorization: Basic ";
    size_t ul = strlen(user), sl = strlen(secret), n = ul + 1 + sl;
    unsigned char *raw = malloc(n);
    char *out = malloc(sizeof head + (n + 2) / 3 * 4);
    if (!raw || !out) {
        free(raw);
        free(out);
        return NULL;
    }
    memcpy(raw, user, ul);
    raw[ul] = ':';
    memcpy(raw + ul + 1, secret, sl);
    char *w = out + sizeof head - 1;
    memcpy(out, head, sizeof head - 1);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t x = (uint32_t)raw[i] << 16 | (i + 1 < n ? (uint32_t)raw[i + 1] << 8 : 0) | (i + 2 < n ? raw[i + 2] : 0);
        *w++ = tbl[x >> 18 & 63];
        *w++ = tbl[x >> 12 & 63];
        *w++ = i + 1 < n ? tbl[x >> 6 & 63] : '=';
        *w++ = i + 2 < n ? tbl[x & 63] : '=';
    }
    *w = '\0';
    memset(raw, 0, n); /* the secret does not stay in freed memory */
    free(raw);
    return out;
}

char *net_escape(const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *w = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            *w++ = (char)c;
        } else {
            *w++ = '%';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        }
    }
    *w = '\0';
    return out;
}

net_action net_classify(const net_answer *a, int64_t now, uint32_t n_waits, uint64_t *wait_ms) {
    if (a->status >= 200 && a->status < 300) return NET_ACTION_OK;
    bool limited = a->status == 429 ||
                   (a->status == 403 && (a->retry_after_ms >= 0 || a->rl_remaining == 0 || a->body_rate_limited));
    if (limited) {
        if (a->retry_after_ms >= 0) {
            *wait_ms = (uint64_t)a->retry_after_ms;
        } else if (a->rl_remaining == 0 && a->rl_reset >= 0) {
            *wait_ms = a->rl_reset + 1 > now ? (uint64_t)(a->rl_reset + 1 - now) * 1000 : 1000;
        } else {
            /* no word on when: at least a minute, longer each time (GitHub's advice for secondary limits) */
            *wait_ms = (uint64_t)60000 << (n_waits < 4 ? n_waits : 4);
        }
        return NET_ACTION_WAIT;
    }
    if (a->status == 0 || a->status == 408 || a->status >= 500) return NET_ACTION_RETRY;
    return NET_ACTION_FAIL;
}

/* ==== The client ==== */

struct net_client {
    net_options opt;            /* options; the strings below are the owned copies */
    CURL *easy;                 /* reused handle (connection cache) */
    struct curl_slist *headers; /* request headers, the Authorization one included */
    char *secret;               /* owned copy, wiped on free */
    int64_t blocked_until;      /* unix seconds: the rate limit is spent until then (0 = not) */
    uint64_t rng;               /* jitter state */
    net_stats stats;            /* counters */
};

/* What the header and body callbacks collect for one request. */
typedef struct net__xfer {
    util_buf body;            /* the body */
    net_answer ans;           /* status and rate-limit headers */
    char next[4096];          /* Link rel="next" ("" = none) */
    char etag[512];           /* ETag header ("" = none or too long to keep) */
    int64_t date;             /* Date header, 0 = none */
    volatile int *cancel;     /* abort the transfer when set */
} net__xfer;

static void net__global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void net_global_init(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, net__global_init);
}

net_options net_options_default(void) {
    net_options o;
    memset(&o, 0, sizeof o);
    o.timeout_ms = 30000;
    o.max_retries = 5;
    o.backoff_base_ms = 500;
    o.backoff_max_ms = 30000;
    o.max_wait_s = 900;
    o.max_rate_waits = 20;
    return o;
}

sc_status net_client_new(const net_options *opt, net_client **out, sc_err *err) {
    net_global_init();
    net_client *c = calloc(1, sizeof *c);
    if (!c) return sc_err_set(err, SC_NOMEM, "out of memory");
    c->opt = *opt;
    net_options d = net_options_default();
    if (!c->opt.timeout_ms) c->opt.timeout_ms = d.timeout_ms;
    if (!c->opt.backoff_base_ms) c->opt.backoff_base_ms = d.backoff_base_ms;
    if (!c->opt.backoff_max_ms) c->opt.backoff_max_ms = d.backoff_max_ms;
    if (!c->opt.max_rate_waits) c->opt.max_rate_waits = d.max_rate_waits;
    c->opt.headers = NULL;
    c->opt.auth_header = NULL;
    c->opt.secret = NULL;
    c->rng = opt->seed ? opt->seed : (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c;
    c->easy = curl_easy_init();
    bool ok = c->easy != NULL;
    for (size_t i = 0; ok && i < opt->n_headers; i++) {
        struct curl_slist *h = curl_slist_append(c->headers, opt->headers[i]);
        if (h) c->headers = h;
        ok = h != NULL;
    }
    if (ok && opt->auth_header) {
        struct curl_slist *h = curl_slist_append(c->headers, opt->auth_header);
        if (h) c->headers = h;
        ok = h != NULL;
    }
    if (ok && opt->secret && !(c->secret = util_strdup(opt->secret))) ok = false;
    if (!ok) {
        net_client_free(c);
        return sc_err_set(err, SC_NOMEM, "out of memory");
    }
    *out = c;
    return SC_OK;
}

void net_client_free(net_client *c) {
    if (!c) return;
    /* the Authorization header holds the secret too: wipe it before freeing */
    for (struct curl_slist *h = c->headers; h; h = h->next)
        if (h->data && !strncasecmp(h->data, "authorization:", 14)) memset(h->data, 0, strlen(h->data));
    curl_slist_free_all(c->headers);
    if (c->easy) curl_easy_cleanup(c->easy);
    if (c->secret) memset(c->secret, 0, strlen(c->secret));
    free(c->secret);
    free(c);
}

net_stats net_client_stats(const net_client *c) { return c->stats; }

void net_response_free(net_response *r) {
    if (!r) return;
    json_decref(r->json);
    free(r->next_url);
    free(r->etag);
    memset(r, 0, sizeof *r);
}

static size_t net__on_body(char *p, size_t size, size_t nmemb, void *arg) {
    net__xfer *x = arg;
    size_t n = size * nmemb;
    if (x->body.len + n > NET_MAX_BODY) return 0;
    util_buf_append(&x->body, p, n);
    return x->body.oom ? 0 : n;
}

/* Does header line p[0..n) have name `name` (with ':')? Then *v, *vn its value. */
static bool net__header(const char *p, size_t n, const char *name, const char **v, size_t *vn) {
    size_t k = strlen(name);
    if (n <= k || strncasecmp(p, name, k)) return false;
    *v = p + k;
    *vn = n - k;
    while (*vn && (**v == ' ' || **v == '\t')) (*v)++, (*vn)--;
    while (*vn && ((*v)[*vn - 1] == '\r' || (*v)[*vn - 1] == '\n' || (*v)[*vn - 1] == ' ')) (*vn)--;
    return true;
}

static int64_t net__int(const char *v, size_t n) {
    char buf[32];
    if (!n || n >= sizeof buf) return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    char *end = NULL;
    long long x = strtoll(buf, &end, 10);
    return end != buf && *end == '\0' && x >= 0 ? (int64_t)x : -1;
}

static size_t net__on_header(char *p, size_t size, size_t nmemb, void *arg) {
    net__xfer *x = arg;
    size_t n = size * nmemb;
    const char *v;
    size_t vn;
    if (n > 5 && !strncmp(p, "HTTP/", 5)) { /* a new response (after a redirect): forget the last one's headers */
        x->ans.retry_after_ms = -1;
        x->ans.rl_remaining = x->ans.rl_reset = -1;
        x->next[0] = '\0';
        x->etag[0] = '\0';
    } else if (net__header(p, n, "etag:", &v, &vn)) {
        if (vn < sizeof x->etag) memcpy(x->etag, v, vn), x->etag[vn] = '\0';
        else x->etag[0] = '\0';
    } else if (net__header(p, n, "retry-after:", &v, &vn)) {
        x->ans.retry_after_ms = net_retry_after_ms(v, vn, time(NULL));
    } else if (net__header(p, n, "x-ratelimit-remaining:", &v, &vn)) {
        x->ans.rl_remaining = net__int(v, vn);
    } else if (net__header(p, n, "x-ratelimit-reset:", &v, &vn)) {
        x->ans.rl_reset = net__int(v, vn);
    } else if (net__header(p, n, "link:", &v, &vn)) {
        if (!net_link_next(v, vn, x->next, sizeof x->next)) x->next[0] = '\0';
    } else if (net__header(p, n, "date:", &v, &vn) && vn < 64) {
        char d[64];
        memcpy(d, v, vn);
        d[vn] = '\0';
        time_t t = curl_getdate(d, NULL);
        x->date = t > 0 ? (int64_t)t : 0;
    }
    return n;
}

static int net__on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
    (void)dt, (void)dn, (void)ut, (void)un;
    const net__xfer *x = arg;
    return x->cancel && __atomic_load_n(x->cancel, __ATOMIC_RELAXED) ? 1 : 0;
}

/* Sleep ms, in slices, unless cancelled: false when cancelled. */
static bool net__sleep(net_client *c, uint64_t ms) {
    double until = util_now() + (double)ms / 1000.0, t0 = util_now();
    for (;;) {
        if (c->opt.cancel && __atomic_load_n(c->opt.cancel, __ATOMIC_RELAXED)) break;
        double left = until - util_now();
        if (left <= 0) break;
        double step = left < 0.05 ? left : 0.05;
        struct timespec ts = {(time_t)step, (long)((step - (double)(time_t)step) * 1e9)};
        nanosleep(&ts, NULL);
    }
    c->stats.seconds_waited += util_now() - t0;
    return !(c->opt.cancel && __atomic_load_n(c->opt.cancel, __ATOMIC_RELAXED));
}

/* Perform one GET of url into x (with If-None-Match: etag when etag is not
** NULL); the curl result. */
static CURLcode net__perform(net_client *c, const char *url, const char *etag, net__xfer *x) {
    CURL *e = c->easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    /* the conditional header goes in front of the client's list, on the stack: nothing to free */
    char inm_text[600];
    struct curl_slist inm = {inm_text, c->headers};
    if (etag) snprintf(inm_text, sizeof inm_text, "If-None-Match: %.560s", etag);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, etag ? &inm : c->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->opt.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->opt.timeout_ms < 10000 ? c->opt.timeout_ms : 10000));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, net__on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, net__on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, net__on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "semcode");
    /* redirects (a renamed repository answers 301) are followed, but the
    ** Authorization header goes only to the host first asked */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    return curl_easy_perform(e);
}

/* Wait ms for a rate limit, after checking the bounds; SC_OK or the failure. */
static sc_status net__rate_wait(net_client *c, const char *url, uint64_t ms, uint32_t n_waits, sc_err *err) {
    if (n_waits >= c->opt.max_rate_waits)
        return sc_err_set(err, SC_BUSY, "%s: still rate limited after %u waits; try again later", url, n_waits);
    if (ms > (uint64_t)c->opt.max_wait_s * 1000) {
        char when[40];
        time_t t = time(NULL) + (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return sc_err_set(err, SC_BUSY,
                          "%s: rate limited for %.0f s, longer than the %u s this run may wait (--max-wait); try again "
                          "after %s",
                          url, (double)ms / 1000.0, c->opt.max_wait_s, when);
    }
    if (c->opt.on_wait) c->opt.on_wait(c->opt.wait_arg, "rate limited", (double)ms / 1000.0);
    c->stats.rate_waits++;
    if (!net__sleep(c, ms)) return sc_err_set(err, SC_INTERRUPTED, "interrupted while waiting for a rate limit");
    return SC_OK;
}

sc_status net_get_json(net_client *c, const char *url, net_response *out, sc_err *err) {
    return net_get_json_if(c, url, NULL, out, err);
}

sc_status net_get_json_if(net_client *c, const char *url, const char *etag, net_response *out, sc_err *err) {
    memset(out, 0, sizeof *out);
    if (etag && !*etag) etag = NULL;
    int64_t now = (int64_t)time(NULL);
    if (c->blocked_until > now) {
        sc_status rc = net__rate_wait(c, url, (uint64_t)(c->blocked_until - now) * 1000, 0, err);
        if (rc != SC_OK) return rc;
        c->blocked_until = 0;
    }
    uint32_t tries = 0, n_waits = 0;
    char why[320] = "";
    bool cut = false;          /* the last failure was a 2xx whose body is not JSON */
    char cut_next[4096] = ""; /* and its Link rel="next" */
    for (;;) {
        if (c->opt.cancel && __atomic_load_n(c->opt.cancel, __ATOMIC_RELAXED)) return sc_err_set(err, SC_INTERRUPTED, "interrupted");
        net__xfer x;
        memset(&x, 0, sizeof x);
        x.ans.retry_after_ms = -1;
        x.ans.rl_remaining = x.ans.rl_reset = -1;
        x.cancel = c->opt.cancel;
        c->stats.requests++;
        tries++;
        CURLcode cr = net__perform(c, url, etag, &x);
        long status = 0;
        if (cr == CURLE_OK) curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
        x.ans.status = status;
        if (cr == CURLE_OK && status == 304 && etag) { /* not modified: nothing to read */
            util_buf_free(&x.body);
            out->status = 304;
            out->date = x.date;
            if (x.etag[0] && !(out->etag = util_strdup(x.etag))) return sc_err_set(err, SC_NOMEM, "out of memory");
            return SC_OK;
        }
        if (x.body.data && (status == 403 || status == 429))
            x.ans.body_rate_limited = strcasestr(x.body.data, "rate limit") != NULL;
        uint64_t wait = 0;
        net_action act = net_classify(&x.ans, (int64_t)time(NULL), n_waits, &wait);
        if (cr == CURLE_ABORTED_BY_CALLBACK || (c->opt.cancel && __atomic_load_n(c->opt.cancel, __ATOMIC_RELAXED))) {
            util_buf_free(&x.body);
            return sc_err_set(err, SC_INTERRUPTED, "interrupted");
        }
        if (cr != CURLE_OK) {
            snprintf(why, sizeof why, "%s", curl_easy_strerror(cr));
            cut = false;
        }
        if (act == NET_ACTION_OK) {
            json_error_t je;
            json_t *j = json_loadb(x.body.data ? x.body.data : "", x.body.len, JSON_REJECT_DUPLICATES, &je);
            if (j) {
                out->status = status;
                out->json = j;
                out->date = x.date;
                if ((x.next[0] && !(out->next_url = util_strdup(x.next))) ||
                    (x.etag[0] && !(out->etag = util_strdup(x.etag)))) {
                    util_buf_free(&x.body);
                    net_response_free(out);
                    return sc_err_set(err, SC_NOMEM, "out of memory");
                }
                if (x.ans.rl_remaining == 0 && x.ans.rl_reset > 0) c->blocked_until = x.ans.rl_reset + 1;
                util_buf_free(&x.body);
                return SC_OK;
            }
            snprintf(why, sizeof why, "HTTP %ld with a body that is not JSON (%s at byte %d)", status, je.text,
                     je.position);
            act = NET_ACTION_RETRY;
            cut = true;
            snprintf(cut_next, sizeof cut_next, "%s", x.next);
        } else if (status) {
            cut = false;
            char snippet[160] = "";
            if (x.body.data) snprintf(snippet, sizeof snippet, ": %.120s", x.body.data);
            for (char *s = snippet; *s; s++)
                if (*s == '\n' || *s == '\r') *s = ' ';
            snprintf(why, sizeof why, "HTTP %ld%s", status, snippet);
        }
        long retry_after = x.ans.retry_after_ms;
        util_buf_free(&x.body);
        net_redact(c->secret, why);
        sc_status rc = SC_OK;
        if (act == NET_ACTION_WAIT) {
            rc = net__rate_wait(c, url, wait, n_waits, err);
            n_waits++;
            if (rc != SC_OK) return rc;
            continue;
        }
        if (act == NET_ACTION_FAIL)
            return sc_err_set(err, status == 404 || status == 410 ? SC_NOTFOUND : SC_INVALID, "GET %s answered %s", url,
                              why);
        if (tries > c->opt.max_retries && cut) { /* answered, but never in JSON: the caller may pass over it */
            if (*cut_next && !(out->next_url = util_strdup(cut_next))) return sc_err_set(err, SC_NOMEM, "out of memory");
            return sc_err_set(err, SC_CORRUPT, "GET %s answered %s, %u times", url, why, tries);
        }
        if (tries > c->opt.max_retries)
            return sc_err_set(err, SC_IOERR, "GET %s failed after %u tries: %s", url, tries, why);
        uint64_t ms = net_backoff_ms(c->opt.backoff_base_ms, c->opt.backoff_max_ms, tries, retry_after, &c->rng);
        if (c->opt.on_wait) c->opt.on_wait(c->opt.wait_arg, why, (double)ms / 1000.0);
        c->stats.retries++;
        if (!net__sleep(c, ms)) return sc_err_set(err, SC_INTERRUPTED, "interrupted");
    }
}
