/*
** Tests of the remote embedding provider against a real HTTP server in
** this process (libmicrohttpd on 127.0.0.1, a free port) that can be told
** to answer normally, slowly, with 429 + Retry-After, 5xx, 4xx, malformed
** JSON, the wrong number of vectors, the wrong dimension or non-finite
** numbers. Checks retries, the backoff's growth and jitter, fallback,
** per-item errors, messages, and that no vector of a bad response reaches
** the caller or the cache.
*/
#include <math.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "semcode/provider.h"
#include "semcode/repo.h"
#include "embed/provider_int.h"
#include "net/net.h"
#include "testutil.h"

#define TS_DIM 8

/* ==== The test server ==== */

typedef enum ts_mode {
    TS_NORMAL,      /* answer every input */
    TS_FAIL,        /* the first fail_first requests get fail_code, then normal */
    TS_MALFORMED,   /* invalid JSON */
    TS_WRONG_COUNT, /* one vector too few */
    TS_WRONG_DIM,   /* vectors of TS_DIM - 1 */
    TS_HUGE,        /* a component of 1e39: valid JSON, a finite double, no float holds it */
    TS_B64_NONFINITE,/* base64 float32 with a NaN and an infinity */
    TS_SLOW,        /* sleep slow_ms first */
    TS_BASE64,      /* answer base64 float32 when asked (as OpenAI does), numbers otherwise */
    TS_NO_BASE64,   /* refuse encoding_format "base64" with 400 (as some servers do), numbers otherwise */
    TS_BAD_BASE64,  /* answer a base64 string one float short */
    TS_ECHO_KEY,    /* 401 whose body echoes the Authorization header (as careless servers do) */
} ts_mode;

typedef struct ts_server {
    struct MHD_Daemon *d;   /* the daemon */
    uint16_t port;          /* its port */
    ts_mode mode;           /* behaviour */
    int fail_first;         /* TS_FAIL: how many requests fail */
    int fail_code;          /* TS_FAIL: status to answer */
    const char *retry_after;/* TS_FAIL: Retry-After header or NULL */
    int slow_ms;            /* TS_SLOW: delay */
    atomic_int n_requests;  /* requests seen */
    atomic_int n_inputs;    /* inputs seen */
    atomic_int in_flight;   /* requests being answered now */
    atomic_int max_in_flight;/* most at once */
    atomic_int n_base64;    /* requests that asked for base64 */
    char auth[128];         /* last Authorization header */
    const char *echo_prefix;/* TS_ECHO_KEY: text before the echoed key */
} ts_server;

static ts_server ts;

/* Vector a text should get: a function of its bytes. */
static void ts_vector(const char *t, float *v) {
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = t; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (int d = 0; d < TS_DIM; d++) {
        h = h * 6364136223846793005ULL + 1442695040888963407ULL;
        v[d] = (float)((h >> 40) % 2000) / 1000.0f - 1.0f;
    }
}

/* Room for the base64 of one vector and its NUL. */
#define TS_B64_CAP (4 * (TS_DIM * 4 + 2) / 3 + 8)

/* Standard base64 of n bytes (at most TS_DIM floats) into out (TS_B64_CAP
** bytes; the caller's, since requests are answered on several threads at
** once); returns out. */
static const char *ts_base64(const unsigned char *p, size_t n, char *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t x = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0u) | (i + 2 < n ? p[i + 2] : 0u);
        *o++ = tab[x >> 18 & 63];
        *o++ = tab[x >> 12 & 63];
        *o++ = i + 1 < n ? tab[x >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[x & 63] : '=';
    }
    *o = '\0';
    return out;
}

typedef struct ts_upload {
    char *data; /* body so far */
    size_t len; /* bytes */
} ts_upload;

static enum MHD_Result ts_reply(struct MHD_Connection *c, int code, const char *body, const char *retry_after) {
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (retry_after) MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result ts_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)cls;
    (void)version;
    ts_upload *u = *con_cls;
    if (!u) {
        *con_cls = calloc(1, sizeof(ts_upload));
        return MHD_YES;
    }
    if (*upload_size) {
        u->data = realloc(u->data, u->len + *upload_size + 1);
        memcpy(u->data + u->len, upload, *upload_size);
        u->len += *upload_size;
        u->data[u->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    int now = atomic_fetch_add(&ts.in_flight, 1) + 1;
    int prev = atomic_load(&ts.max_in_flight);
    while (now > prev && !atomic_compare_exchange_weak(&ts.max_in_flight, &prev, now)) {
    }
    int nreq = atomic_fetch_add(&ts.n_requests, 1);
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(ts.auth, sizeof ts.auth, "%s", auth ? auth : "");
    usleep(3000); /* long enough for concurrent requests to overlap */
    enum MHD_Result ret;
    if (strcmp(method, "POST") || strcmp(url, "/v1/embeddings")) {
        ret = ts_reply(c, 404, "{\"error\": \"not found\"}", NULL);
        goto out;
    }
    if (ts.mode == TS_ECHO_KEY) {
        char body[256];
        snprintf(body, sizeof body, "%s%s", ts.echo_prefix, auth ? auth + strlen("Bearer ") : "");
        ret = ts_reply(c, 401, body, NULL);
        goto out;
    }
    if (ts.mode == TS_FAIL && nreq < ts.fail_first) {
        ret = ts_reply(c, ts.fail_code, "{\"error\": {\"message\": \"try later\"}}", ts.retry_after);
        goto out;
    }
    if (ts.mode == TS_SLOW) usleep((useconds_t)ts.slow_ms * 1000);
    if (ts.mode == TS_MALFORMED) {
        ret = ts_reply(c, 200, "{\"data\": [", NULL);
        goto out;
    }
    json_t *req = json_loadb(u->data ? u->data : "", u->len, 0, NULL);
    json_t *in = json_object_get(req, "input");
    const char *enc = json_string_value(json_object_get(req, "encoding_format"));
    bool want_b64 = enc && !strcmp(enc, "base64");
    if (want_b64) atomic_fetch_add(&ts.n_base64, 1);
    if (want_b64 && ts.mode == TS_NO_BASE64) {
        json_decref(req);
        ret = ts_reply(c, 400, "{\"error\": {\"message\": \"encoding_format: only 'float' is supported\"}}", NULL);
        goto out;
    }
    size_t n = json_array_size(in);
    atomic_fetch_add(&ts.n_inputs, (int)n);
    json_t *data = json_array();
    size_t emit = ts.mode == TS_WRONG_COUNT && n ? n - 1 : n;
    for (size_t i = 0; i < emit; i++) {
        float v[TS_DIM];
        ts_vector(json_string_value(json_array_get(in, i)), v);
        json_t *e;
        int dim = ts.mode == TS_WRONG_DIM ? TS_DIM - 1 : TS_DIM;
        if (want_b64 && (ts.mode == TS_BASE64 || ts.mode == TS_BAD_BASE64 || ts.mode == TS_B64_NONFINITE)) {
            /* little-endian float32, standard base64 (this test runs on little-endian hosts) */
            if (ts.mode == TS_BAD_BASE64) dim = TS_DIM - 1;
            if (ts.mode == TS_B64_NONFINITE) {
                v[1] = NAN;
                v[TS_DIM - 1] = INFINITY;
            }
            char b64[TS_B64_CAP];
            e = json_string(ts_base64((const unsigned char *)v, sizeof(float) * (size_t)dim, b64));
        } else {
            e = json_array();
            for (int d = 0; d < dim; d++) json_array_append_new(e, json_real(v[d]));
        }
        json_array_append_new(data, json_pack("{s:s, s:I, s:o}", "object", "embedding", "index", (json_int_t)i,
                                              "embedding", e));
    }
    json_t *root = json_pack("{s:s, s:o, s:s}", "object", "list", "data", data, "model",
                             json_string_value(json_object_get(req, "model")));
    char *body = json_dumps(root, JSON_COMPACT);
    if (ts.mode == TS_HUGE) {
        /* Replace the first number by 1e39: JSON parses it (a literal NaN or
        ** 1e999 would not get past the parser), and only the client's
        ** finite-number check can refuse it. */
        char *p = strstr(body, "\"embedding\":[");
        if (p) {
            p += strlen("\"embedding\":[");
            char *end = p;
            while (*end && *end != ',' && *end != ']') end++;
            memmove(p + 4, end, strlen(end) + 1);
            memcpy(p, "1e39", 4);
        }
    }
    ret = ts_reply(c, 200, body, NULL);
    free(body);
    json_decref(root);
    json_decref(req);
out:
    atomic_fetch_sub(&ts.in_flight, 1);
    return ret;
}

static void ts_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t) {
    (void)cls;
    (void)c;
    (void)t;
    ts_upload *u = *con_cls;
    if (u) free(u->data);
    free(u);
    *con_cls = NULL;
}

static int ts_start(void **state) {
    (void)state;
    memset(&ts, 0, sizeof ts);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    ts.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                            ts_handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_NOTIFY_COMPLETED, ts_completed, NULL, MHD_OPTION_END);
    if (!ts.d) return -1;
    ts.port = MHD_get_daemon_info(ts.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static int ts_stop(void **state) {
    (void)state;
    MHD_stop_daemon(ts.d);
    return 0;
}

/* Set the server up for a test, once the requests of the test before have
** all been answered: test_remote_timeout's client gives up on requests the
** server still sleeps on, and such a request, finishing during the next
** test, would add its inputs to that test's counters (under load this made
** test_bad_items_do_not_fail_the_batch and test_bad_utf8_items see one
** input too many). */
static void ts_reset(ts_mode mode) {
    for (int waited_ms = 0; atomic_load(&ts.in_flight) > 0; waited_ms += 5) {
        if (waited_ms >= 10000) fail_msg("the test server still answers %d request(s) of the test before after 10 s",
                                          atomic_load(&ts.in_flight));
        usleep(5000);
    }
    ts.mode = mode;
    ts.fail_first = 0;
    ts.fail_code = 500;
    ts.retry_after = NULL;
    ts.slow_ms = 0;
    atomic_store(&ts.n_requests, 0);
    atomic_store(&ts.n_inputs, 0);
    atomic_store(&ts.max_in_flight, 0);
    atomic_store(&ts.n_base64, 0);
    ts.auth[0] = '\0';
}

/* ts_reset(TS_FAIL): the next `first` requests are answered with HTTP status code. */
static void ts_failing(int first, int code) {
    ts_reset(TS_FAIL);
    ts.fail_first = first;
    ts.fail_code = code;
}

/* ==== Helpers ==== */

/* Options for the test server: its URL (static buffer), model, dimension. */
static sc_remote_options remote_opts(void) {
    static char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", ts.port);
    sc_remote_options o = sc_remote_options_default();
    o.base_url = url;
    o.model = "test-embed";
    o.dim = TS_DIM;
    return o;
}

static sc_embedder *remote_new_test(uint32_t batch, uint32_t concurrency, uint32_t retries) {
    sc_remote_options o = remote_opts();
    o.batch_size = batch;
    o.concurrency = concurrency;
    o.max_retries = retries;
    o.backoff_base_ms = 10;
    o.backoff_max_ms = 40;
    o.timeout_ms = 2000;
    o.seed = 7;
    o.family = "test-family";
    sc_embedder *e = NULL;
    char *msg = NULL;
    if (sc_embedder_new_remote(&o, &e, &msg) != SC_OK) fail_msg("new_remote: %s", msg);
    return e;
}

static char **make_texts(size_t n) {
    char **t = calloc(n, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        t[i] = malloc(48);
        snprintf(t[i], 48, "def function_%zu(x): pass", i);
    }
    return t;
}

static void free_texts(char **t, size_t n) {
    for (size_t i = 0; i < n; i++) free(t[i]);
    free(t);
}

/* Each row of out is the server's vector of its text, to within tol. */
static void check_vectors(char **t, const float *out, int n, float tol) {
    float want[TS_DIM];
    for (int i = 0; i < n; i++) {
        ts_vector(t[i], want);
        for (int d = 0; d < TS_DIM; d++)
            if (!(fabsf(out[i * TS_DIM + d] - want[d]) <= tol)) fail_msg("text %d component %d: %g, want %g", i, d, (double)out[i * TS_DIM + d], (double)want[d]);
    }
}

static bool all_zero(const float *v) {
    for (int d = 0; d < TS_DIM; d++)
        if (v[d] != 0.0f) return false;
    return true;
}

/* ==== Tests ==== */

static void test_remote_normal(void **state) {
    (void)state;
    ts_reset(TS_NORMAL);
    setenv("SC_TEST_KEY", "sk-secret-123", 1);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/", ts.port);
    sc_remote_options o = sc_remote_options_default();
    o.base_url = url;
    o.model = "m";
    o.dim = TS_DIM;
    o.batch_size = 16;
    o.concurrency = 3;
    o.api_key_env = "SC_TEST_KEY";
    sc_embedder *e = NULL;
    assert_int_equal(sc_embedder_new_remote(&o, &e, NULL), SC_OK);
    size_t n = 150;
    char **t = make_texts(n);
    float *out = malloc(sizeof(float) * TS_DIM * n);
    sc_embed_item *items = calloc(n, sizeof *items);
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, n, out, items, &s), SC_OK);
    assert_int_equal(s.total, n);
    assert_int_equal(s.success, n);
    assert_int_equal(s.failed, 0);
    assert_int_equal(s.newly_embedded, n);
    assert_int_equal(s.requests, 10); /* 150 / 16, rounded up */
    assert_int_equal(atomic_load(&ts.n_inputs), (int)n);
    for (size_t i = 0; i < n; i++) {
        float want[TS_DIM];
        ts_vector(t[i], want);
        for (int d = 0; d < TS_DIM; d++) assert_float_equal(out[i * TS_DIM + d], want[d], 1e-6);
        assert_int_equal(items[i].status, SC_OK);
        assert_non_null(strstr(items[i].provider, "remote:"));
    }
    assert_string_equal(ts.auth, "Bearer sk-secret-123");
    int peak = atomic_load(&ts.max_in_flight);
    assert_true(peak >= 2 && peak <= 3);
    sc_embedder_free(e);
    /* A missing key variable is a clear error. */
    o.api_key_env = "SC_TEST_KEY_UNSET";
    char *msg = NULL;
    assert_int_equal(sc_embedder_new_remote(&o, &e, &msg), SC_INVALID);
    assert_non_null(strstr(msg, "SC_TEST_KEY_UNSET is not set"));
    sc_free(msg);
    free_texts(t, n);
    free(out);
    free(items);
}

static void test_remote_retries_5xx_then_succeeds(void **state) {
    (void)state;
    ts_failing(3, 503);
    sc_embedder *e = remote_new_test(64, 1, 5);
    char **t = make_texts(10);
    float out[10 * TS_DIM];
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_QUERY, (const char *const *)t, 10, out, NULL, &s), SC_OK);
    assert_int_equal(s.success, 10);
    assert_int_equal(s.requests, 4);
    assert_int_equal(s.retries, 3);
    sc_embedder_free(e);
    free_texts(t, 10);
}

static void test_remote_exhausted_fails_items_with_bounded_backoff(void **state) {
    (void)state;
    ts_failing(1000, 500);
    sc_embedder *e = remote_new_test(4, 2, 3);
    char **t = make_texts(8);
    float out[8 * TS_DIM];
    sc_embed_item items[8];
    sc_embed_summary s;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, 8, out, items, &s), SC_OK);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
    assert_int_equal(s.failed, 8);
    assert_int_equal(s.success, 0);
    assert_int_equal(atomic_load(&ts.n_requests), 2 * 4); /* 2 requests x (1 + 3 retries) */
    /* Backoff is bounded by backoff_max (40 ms) per wait: 3 waits per request. */
    assert_true(secs < 3 * 0.040 + 1.0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(items[i].status, SC_IOERR);
        assert_non_null(strstr(items[i].error, "HTTP 500"));
        assert_non_null(strstr(items[i].error, "after 4 tries"));
        assert_true(all_zero(out + i * TS_DIM));
    }
    sc_embedder_free(e);
    free_texts(t, 8);
}

/* The backoff from both sides: retry r waits within [0, min(max, base * 2^(r-1))]
** (never more), and its draws cover that whole range (full jitter: some near
** 0, some near the cap, mean near half of it), so the cap doubles from one
** retry to the next until max. Retry-After is waited exactly, capped by max. */
static void test_remote_backoff_growth_and_jitter(void **state) {
    (void)state;
    const uint32_t base = 10, max = 1000;
    const uint64_t caps[] = {10, 20, 40, 80, 160, 320, 640, 1000, 1000};
    uint64_t rng = 7;
    enum { DRAWS = 4000 };
    for (uint32_t r = 1; r <= sizeof caps / sizeof caps[0]; r++) {
        uint64_t cap = caps[r - 1], lo = UINT64_MAX, hi = 0;
        double sum = 0;
        for (int k = 0; k < DRAWS; k++) {
            uint64_t w = net_backoff_ms(base, max, r, -1, &rng);
            if (w > cap) fail_msg("retry %u waited %llu ms, above its cap %llu", r, (unsigned long long)w, (unsigned long long)cap);
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
            sum += (double)w;
        }
        double mean = sum / DRAWS;
        if (lo > cap / 20 || hi < cap - cap / 20)
            fail_msg("retry %u: draws span [%llu, %llu], not the whole [0, %llu]", r, (unsigned long long)lo,
                     (unsigned long long)hi, (unsigned long long)cap);
        if (fabs(mean - (double)cap / 2) > 0.05 * (double)cap)
            fail_msg("retry %u: mean wait %.1f ms, expected about %.1f", r, mean, (double)cap / 2);
    }
    assert_int_equal(net_backoff_ms(base, max, 3, 300, &rng), 300);
    assert_int_equal(net_backoff_ms(base, max, 1, 0, &rng), 0);
    assert_int_equal(net_backoff_ms(base, max, 1, 5000, &rng), 1000);
    /* a huge retry count neither overflows nor passes max */
    assert_true(net_backoff_ms(base, max, 4000000000u, -1, &rng) <= max);
}

/* max_retries 0: one try per request, then the items fail. */
static void test_remote_zero_retries_tries_once(void **state) {
    (void)state;
    ts_failing(1000, 503);
    sc_embedder *e = remote_new_test(4, 2, 0);
    char **t = make_texts(8);
    float out[8 * TS_DIM];
    sc_embed_item items[8];
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_QUERY, (const char *const *)t, 8, out, items, &s), SC_OK);
    assert_int_equal(s.failed, 8);
    assert_int_equal(s.requests, 2);
    assert_int_equal(s.retries, 0);
    assert_int_equal(atomic_load(&ts.n_requests), 2);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(items[i].status, SC_IOERR);
        assert_non_null(strstr(items[i].error, "HTTP 503"));
        assert_non_null(strstr(items[i].error, "(after 1 try)"));
    }
    sc_embedder_free(e);
    free_texts(t, 8);
}

/* Open the repository at root on the test server: allow_rebuild for an
** index run; retries < 0 = --retries not given, else given. */
static sc_repo *repo_on_ts(const char *root, bool index, int retries, bool given_flag) {
    sc_remote_options rem = remote_opts();
    rem.max_retries = retries < 0 ? 0 : (uint32_t)retries;
    rem.backoff_base_ms = 10;
    rem.backoff_max_ms = 40;
    sc_repo_options ro = sc_repo_options_default();
    ro.provider = SC_REPO_PROVIDER_REMOTE;
    ro.remote = &rem;
    ro.remote_retries_given = given_flag;
    ro.allow_rebuild = index;
    sc_repo *r = NULL;
    char *msg = NULL;
    if (sc_repo_open(root, &ro, &r, &msg) != SC_OK) fail_msg("sc_repo_open: %s", msg ? msg : "?");
    return r;
}

/* A dense search on a failing endpoint: how many requests it sent. */
static int failing_search_requests(sc_repo *r, const char *want) {
    ts_failing(1000, 503);
    sc_code_query q = {.text = "add one", .mode = SC_SEARCH_MODE_DENSE, .limit = 5};
    sc_code_hits *h = NULL;
    assert_int_not_equal(sc_repo_search(r, &q, &h), SC_OK);
    assert_null(h);
    if (!strstr(sc_repo_errmsg(r), want)) fail_msg("search error '%s' lacks '%s'", sc_repo_errmsg(r), want);
    return atomic_load(&ts.n_requests);
}

/* sc_repo_open: a given max_retries of 0 (remote_retries_given) means no
** retries and is recorded; a later run that gives none uses the recorded
** 0; a given value overrides it; a 0 without the flag is "not given". */
static void test_repo_zero_retries_given_and_recorded(void **state) {
    (void)state;
    char *src = tu_tmpdir("retries");
    char p[4096];
    snprintf(p, sizeof p, "%s/a.py", src);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("def add_one(x):\n    y = x + 1\n    return y\n", f);
    fclose(f);
    ts_reset(TS_NORMAL);
    sc_repo *r = repo_on_ts(src, true, 0, true);
    sc_repo_summary sum;
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_true(sum.entities_added >= 1);
    assert_int_equal(failing_search_requests(r, "(after 1 try)"), 1);
    sc_repo_close(r);
    /* a search that gives no retries uses the recorded 0 */
    sc_repo_options ro = sc_repo_options_default();
    r = NULL;
    assert_int_equal(sc_repo_open(src, &ro, &r, NULL), SC_OK);
    assert_int_equal(failing_search_requests(r, "(after 1 try)"), 1);
    sc_repo_close(r);
    /* a 0 without the flag (a caller that sets no retries) is not a value: still the recorded 0 */
    r = repo_on_ts(src, false, -1, false);
    assert_int_equal(failing_search_requests(r, "(after 1 try)"), 1);
    sc_repo_close(r);
    /* a given value wins over the recorded one */
    r = repo_on_ts(src, false, 2, true);
    assert_int_equal(failing_search_requests(r, "(after 3 tries)"), 3);
    sc_repo_close(r);
    tu_rmdir(src);
}

static void test_remote_429_retry_after_honoured(void **state) {
    (void)state;
    ts_failing(1, 429);
    ts.retry_after = "1";
    sc_embedder *e = remote_new_test(64, 1, 2);
    char **t = make_texts(3);
    float out[3 * TS_DIM];
    sc_embed_summary s;
    struct timespec a, b;
    /* backoff_max is 40 ms, so Retry-After: 1 is capped to 40 ms here... */
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, 3, out, NULL, &s), SC_OK);
    assert_int_equal(s.success, 3);
    assert_int_equal(s.retries, 1);
    sc_embedder_free(e);
    /* ...and with a larger cap the client waits what the server asked. */
    ts_failing(1, 429);
    ts.retry_after = "1";
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", ts.port);
    sc_remote_options o = sc_remote_options_default();
    o.base_url = url;
    o.model = "m";
    o.dim = TS_DIM;
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 5000;
    assert_int_equal(sc_embedder_new_remote(&o, &e, NULL), SC_OK);
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, 3, out, NULL, &s), SC_OK);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
    assert_int_equal(s.success, 3);
    assert_true(secs >= 0.95);
    sc_embedder_free(e);
    free_texts(t, 3);
}

static void test_remote_4xx_is_not_retried(void **state) {
    (void)state;
    ts_failing(1000, 400);
    sc_embedder *e = remote_new_test(64, 1, 5);
    char **t = make_texts(2);
    float out[2 * TS_DIM];
    sc_embed_item items[2];
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, 2, out, items, &s), SC_OK);
    assert_int_equal(s.failed, 2);
    assert_int_equal(atomic_load(&ts.n_requests), 1);
    assert_non_null(strstr(items[0].error, "HTTP 400"));
    assert_non_null(strstr(items[0].error, "try later"));
    sc_embedder_free(e);
    free_texts(t, 2);
}

static void test_remote_bad_responses_store_nothing(void **state) {
    (void)state;
    struct {
        ts_mode mode;
        const char *msg;
    } cases[] = {
        {TS_MALFORMED, "malformed JSON"},
        {TS_WRONG_COUNT, "3 embeddings for 4 inputs"},
        {TS_WRONG_DIM, "dimension 7, expected 8"},
        {TS_HUGE, "component 0 is not a finite number"},
        {TS_B64_NONFINITE, "component 1 is not a finite number"},
    };
    char *dir = tu_tmpdir("prov");
    char path[256];
    snprintf(path, sizeof path, "%s/cache.db", dir);
    sc_embed_cache *cache = NULL;
    assert_int_equal(sc_embed_cache_open(path, 0, &cache, NULL), SC_OK);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ts_reset(cases[k].mode);
        sc_embedder *e = remote_new_test(64, 1, 1);
        sc_embedder_set_cache(e, cache);
        char **t = make_texts(4);
        float out[4 * TS_DIM];
        sc_embed_item items[4];
        sc_embed_summary s;
        assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, 4, out, items, &s), SC_OK);
        assert_int_equal(s.failed, 4);
        assert_int_equal(atomic_load(&ts.n_requests), 2); /* bad answers are retried like 5xx */
        for (int i = 0; i < 4; i++) {
            if (!strstr(items[i].error, cases[k].msg)) fail_msg("case %zu: '%s' lacks '%s'", k, items[i].error, cases[k].msg);
            assert_true(all_zero(out + i * TS_DIM));
        }
        assert_int_equal(sc_embed_cache_get_stats(cache).entries, 0);
        sc_embedder_free(e);
        free_texts(t, 4);
    }
    sc_embed_cache_close(cache);
    tu_rmdir(dir);
}

static void test_remote_timeout(void **state) {
    (void)state;
    ts_reset(TS_SLOW);
    ts.slow_ms = 600;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", ts.port);
    sc_remote_options o = sc_remote_options_default();
    o.base_url = url;
    o.model = "m";
    o.dim = TS_DIM;
    o.timeout_ms = 150;
    o.max_retries = 1;
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 2;
    sc_embedder *e = NULL;
    assert_int_equal(sc_embedder_new_remote(&o, &e, NULL), SC_OK);
    char **t = make_texts(1);
    float out[TS_DIM];
    sc_embed_item it;
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, 1, out, &it, &s), SC_OK);
    assert_int_equal(s.failed, 1);
    assert_int_equal(s.requests, 2);
    assert_non_null(strstr(it.error, "imeout"));
    sc_embedder_free(e);
    free_texts(t, 1);
}

/* A local provider for the fallback: deterministic vectors from the text. */
static sc_status local_embed(void *st, sc_embed_role side, const char *const *texts, size_t n, float *out,
                             sc_embed_item *items) {
    (void)side;
    (void)items;
    (*(int *)st)++;
    for (size_t i = 0; i < n; i++) ts_vector(texts[i], out + i * TS_DIM);
    return SC_OK;
}

static const sc_provider_vtable local_vt = {local_embed, NULL};

static void test_fallback_takes_exhausted_batches(void **state) {
    (void)state;
    ts_failing(1000, 500);
    sc_embedder *e = remote_new_test(2, 1, 1);
    int calls = 0;
    sc_embedder *fb = NULL, *bad = NULL;
    assert_int_equal(sc_embedder_new_custom(&local_vt, &calls, "local-test", 1, "test-family", TS_DIM, &fb, NULL),
                     SC_OK);
    assert_int_equal(sc_embedder_new_custom(&local_vt, &calls, "other", 1, "other-family", TS_DIM, &bad, NULL), SC_OK);
    assert_string_equal(sc_embedder_errmsg(e), "not an error");
    assert_int_equal(sc_embedder_set_fallback(e, bad), SC_INVALID);
    assert_non_null(strstr(sc_embedder_errmsg(e), "family 'other-family'"));
    sc_embedder_free(bad);
    assert_int_equal(sc_embedder_new_custom(&local_vt, &calls, "other", 1, "test-family", TS_DIM + 1, &bad, NULL),
                     SC_OK);
    assert_int_equal(sc_embedder_set_fallback(e, bad), SC_INVALID);
    assert_non_null(strstr(sc_embedder_errmsg(e), "dimension 9"));
    sc_embedder_free(bad);
    assert_int_equal(sc_embedder_set_fallback(e, fb), SC_OK);
    char **t = make_texts(5);
    float out[5 * TS_DIM];
    sc_embed_item items[5];
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, 5, out, items, &s), SC_OK);
    assert_int_equal(s.success, 5);
    assert_int_equal(s.fallback, 5);
    assert_int_equal(calls, 1);
    for (int i = 0; i < 5; i++) {
        assert_string_equal(items[i].provider, "local-test");
        float want[TS_DIM];
        ts_vector(t[i], want);
        assert_memory_equal(out + i * TS_DIM, want, sizeof want);
    }
    sc_embedder_free(e);
    sc_embedder_free(fb);
    free_texts(t, 5);
}

static void test_bad_items_do_not_fail_the_batch(void **state) {
    (void)state;
    ts_reset(TS_NORMAL);
    sc_embedder *e = remote_new_test(64, 1, 1);
    char *long_text = malloc(40000);
    memset(long_text, 'a', 39999);
    long_text[39999] = '\0';
    const char *t[6] = {"fine one", "", "bad \xff\xfe utf8", long_text, "   \n", "fine two"};
    float out[6 * TS_DIM];
    sc_embed_item items[6];
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, t, 6, out, items, &s), SC_OK);
    assert_int_equal(s.success, 2);
    assert_int_equal(s.failed, 4);
    assert_int_equal(atomic_load(&ts.n_inputs), 2); /* only the good ones were sent */
    assert_int_equal(items[0].status, SC_OK);
    assert_int_equal(items[5].status, SC_OK);
    assert_non_null(strstr(items[1].error, "empty"));
    assert_non_null(strstr(items[2].error, "not valid UTF-8 (byte 4)"));
    assert_non_null(strstr(items[3].error, "40000") ? items[3].error : strstr(items[3].error, "39999"));
    assert_non_null(strstr(items[4].error, "white space"));
    for (int i = 1; i < 5; i++) assert_true(all_zero(out + i * TS_DIM));
    free(long_text);
    sc_embedder_free(e);
}

/* Ill-formed UTF-8 of every kind fails its text alone, naming the first bad
** byte; well-formed text of any plane (a noncharacter included) is sent. */
static void test_bad_utf8_items(void **state) {
    (void)state;
    ts_reset(TS_NORMAL);
    sc_embedder *e = remote_new_test(64, 1, 1);
    static const struct {
        const char *text; /* the input */
        long bad;         /* offset of the first bad byte, -1 = well-formed */
    } c[] = {
        {"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \xef\xbf\xbe \xf4\x8f\xbf\xbf", -1},
        {"x\xc0\xaf", 1},               /* overlong '/' */
        {"ab\xe0\x80\xaf", 2},         /* overlong, 3 bytes */
        {"ab\xed\xa0\x80", 2},         /* surrogate U+D800 */
        {"abc\xe2\x82", 3},             /* truncated at the end */
        {"abc\xe2\x82 d", 3},           /* truncated by a space */
        {"\xf4\x90\x80\x80 x", 0},     /* U+110000 */
        {"a\x80", 1},                    /* stray continuation */
        {"\xc3\xa9\xf5\x80\x80\x80", 2}, /* F5 lead */
    };
    enum { N = sizeof c / sizeof c[0] };
    const char *t[N];
    for (int i = 0; i < N; i++) t[i] = c[i].text;
    float out[N * TS_DIM];
    sc_embed_item items[N];
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, t, N, out, items, &s), SC_OK);
    assert_int_equal(s.success, 1);
    assert_int_equal(s.failed, N - 1);
    assert_int_equal(atomic_load(&ts.n_inputs), 1);
    for (int i = 0; i < N; i++) {
        if (c[i].bad < 0) {
            assert_int_equal(items[i].status, SC_OK);
            continue;
        }
        char want[64];
        snprintf(want, sizeof want, "not valid UTF-8 (byte %ld)", c[i].bad);
        assert_int_equal(items[i].status, SC_INVALID);
        if (!strstr(items[i].error, want)) fail_msg("text %d: '%s', expected '%s'", i, items[i].error, want);
        assert_true(all_zero(out + i * TS_DIM));
    }
    sc_embedder_free(e);
}

/* Vectors come as base64 float32 when the server can, bit-exact. */
static void test_remote_base64_vectors(void **state) {
    (void)state;
    ts_reset(TS_BASE64);
    sc_embedder *e = remote_new_test(3, 2, 1);
    char **t = make_texts(7);
    float out[7 * TS_DIM];
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, 7, out, NULL, &s), SC_OK);
    assert_int_equal(s.success, 7);
    assert_int_equal(s.requests, 3);
    assert_int_equal(atomic_load(&ts.n_base64), 3);
    check_vectors(t, out, 7, 0.0f); /* bit-exact */
    sc_embedder_free(e);
    free_texts(t, 7);
}

/* A server that refuses base64 gets numbers from then on, and no retry is spent on it. */
static void test_remote_base64_refused_falls_back_to_numbers(void **state) {
    (void)state;
    ts_reset(TS_NO_BASE64);
    sc_embedder *e = remote_new_test(4, 1, 0); /* no retries: the switch must not need one */
    char **t = make_texts(8);
    float out[8 * TS_DIM];
    sc_embed_item items[8];
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, 8, out, items, &s), SC_OK);
    assert_int_equal(s.success, 8);
    assert_int_equal(s.retries, 0);
    assert_int_equal(atomic_load(&ts.n_base64), 1);   /* asked once ... */
    assert_int_equal(atomic_load(&ts.n_requests), 3); /* ... then two requests with numbers */
    check_vectors(t, out, 8, 1e-6f);
    /* the next call asks for numbers straight away */
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, 4, out, items, &s), SC_OK);
    assert_int_equal(s.success, 4);
    assert_int_equal(atomic_load(&ts.n_base64), 1);
    sc_embedder_free(e);
    free_texts(t, 8);
}

/* A base64 vector of the wrong length is a bad answer: retried, then failed, nothing returned. */
static void test_remote_bad_base64_is_rejected(void **state) {
    (void)state;
    ts_reset(TS_BAD_BASE64);
    sc_embedder *e = remote_new_test(64, 1, 1);
    char **t = make_texts(2);
    float out[2 * TS_DIM];
    sc_embed_item items[2];
    sc_embed_summary s;
    assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, (const char *const *)t, 2, out, items, &s), SC_OK);
    assert_int_equal(s.failed, 2);
    assert_int_equal(atomic_load(&ts.n_requests), 2);
    if (!strstr(items[0].error, "dimension 7, expected 8")) fail_msg("unexpected error: %s", items[0].error);
    assert_true(all_zero(out) && all_zero(out + TS_DIM));
    sc_embedder_free(e);
    free_texts(t, 2);
}

/* The key never reaches an error message, even when the server echoes it,
** whole or cut by the message's length limit. */
static void test_remote_key_echoed_by_server_is_masked(void **state) {
    (void)state;
    static const char key[] = "sk-echo-secret-0123456789abcdef";
    setenv("SC_TEST_ECHO_KEY", key, 1);
    const char *prefixes[] = {"bad key ", "{\"error\": \"Incorrect API key provided: "};
    for (size_t k = 0; k < 2; k++) {
        ts_reset(TS_ECHO_KEY);
        ts.echo_prefix = prefixes[k]; /* the second one leaves only a cut prefix of the key in the snippet */
        sc_remote_options o = remote_opts();
        o.api_key_env = "SC_TEST_ECHO_KEY";
        sc_embedder *e = NULL;
        assert_int_equal(sc_embedder_new_remote(&o, &e, NULL), SC_OK);
        const char *t[1] = {"some code"};
        float out[TS_DIM];
        sc_embed_item it;
        assert_int_equal(sc_embedder_embed(e, SC_EMBED_ROLE_CODE, t, 1, out, &it, NULL), SC_OK);
        assert_int_equal(it.status, SC_IOERR);
        if (!strstr(it.error, "HTTP 401") || !strstr(it.error, "****") || strstr(it.error, "sk-echo"))
            fail_msg("case %zu: %s", k, it.error);
        sc_embedder_free(e);
    }
    unsetenv("SC_TEST_ECHO_KEY");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_normal),
        cmocka_unit_test(test_remote_retries_5xx_then_succeeds),
        cmocka_unit_test(test_remote_exhausted_fails_items_with_bounded_backoff),
        cmocka_unit_test(test_remote_backoff_growth_and_jitter),
        cmocka_unit_test(test_remote_zero_retries_tries_once),
        cmocka_unit_test(test_repo_zero_retries_given_and_recorded),
        cmocka_unit_test(test_remote_429_retry_after_honoured),
        cmocka_unit_test(test_remote_4xx_is_not_retried),
        cmocka_unit_test(test_remote_bad_responses_store_nothing),
        cmocka_unit_test(test_remote_timeout),
        cmocka_unit_test(test_fallback_takes_exhausted_batches),
        cmocka_unit_test(test_bad_items_do_not_fail_the_batch),
        cmocka_unit_test(test_bad_utf8_items),
        cmocka_unit_test(test_remote_base64_vectors),
        cmocka_unit_test(test_remote_base64_refused_falls_back_to_numbers),
        cmocka_unit_test(test_remote_bad_base64_is_rejected),
        cmocka_unit_test(test_remote_key_echoed_by_server_is_masked),
    };
    return cmocka_run_group_tests_name("provider", tests, ts_start, ts_stop);
}
