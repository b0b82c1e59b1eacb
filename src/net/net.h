/*
** net: the HTTP client pieces shared by the embedding provider
** (embed/remote.c) and the records connectors (records/github.c,
** records/jira.c): backoff with full jitter, Retry-After and rate-limit
** headers, masking a secret in messages, Link pagination, and a synchronous
** GET of JSON with retries and bounded rate-limit waits (net_client).
** Knows util/ and libcurl, nothing of the other modules.
**
** Thread safety: a net_client is used by one thread at a time; the free
** functions are pure.
*/
#ifndef SC_NET_H
#define SC_NET_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "util/util.h"

/* ==== Pieces ==== */

/* Wait before retry number `attempt` (1 for the first), in ms: the server's
** retry_after_ms (when >= 0) capped by max_ms, else uniform in
** [0, min(max_ms, base_ms * 2^(attempt-1))] ("full jitter") drawn from
** *rng (advanced). */
uint64_t net_backoff_ms(uint32_t base_ms, uint32_t max_ms, uint32_t attempt, long retry_after_ms, uint64_t *rng);
/* The value of a Retry-After header (v[0..n), delay-seconds or an HTTP
** date, leading blanks and a trailing CR LF allowed) in ms from now; -1 when
** it is neither. A date in the past is 0. */
long net_retry_after_ms(const char *v, size_t n, time_t now);
/* The target of rel="next" in a Link header value (RFC 8288: `<url>;
** rel="next", <url>; rel="last"`) into out[size]; false when there is none
** or it does not fit. */
bool net_link_next(const char *v, size_t n, char *out, size_t size);
/* Mask every occurrence of secret in s with '*', and a prefix of it (8
** bytes or more, or the whole secret when shorter) that a cut at the end of
** s left. secret NULL or "" does nothing. */
void net_redact(const char *secret, char *s);
/* "Authorization: Basic base64(user:secret)" (owned), NULL when out of memory. */
char *net_basic_auth(const char *user, const char *secret);
/* s percent-encoded for a URL query (RFC 3986 unreserved kept), owned; NULL when out of memory. */
char *net_escape(const char *s);

/* What a client does with an answer (net_classify). */
typedef enum net_action {
    NET_ACTION_OK = 0,    /* a 2xx answer: use it */
    NET_ACTION_RETRY = 1, /* a transient failure (network, 408, 5xx): back off and retry */
    NET_ACTION_WAIT = 2,  /* rate limited: wait *wait_ms, then ask again */
    NET_ACTION_FAIL = 3   /* fails for good (other 4xx) */
} net_action;

/* The facts of one answer that decide what comes next. */
typedef struct net_answer {
    long status;            /* HTTP status; 0 = no answer (network error, timeout) */
    long retry_after_ms;    /* Retry-After in ms, -1 = none */
    int64_t rl_remaining;   /* X-RateLimit-Remaining, -1 = none */
    int64_t rl_reset;       /* X-RateLimit-Reset (unix seconds), -1 = none */
    bool body_rate_limited; /* the body says "rate limit" (GitHub's secondary limits may come without headers) */
} net_answer;

/* Classify answer a at time now (unix seconds). Rate limits (429, or 403
** with a rate-limit sign): Retry-After is waited as asked; with
** X-RateLimit-Remaining 0, until X-RateLimit-Reset (plus one second);
** otherwise (a secondary limit without headers) at least 60 s, doubling
** with each wait of the same request (n_waits before this one). *wait_ms is
** set for NET_ACTION_WAIT. */
net_action net_classify(const net_answer *a, int64_t now, uint32_t n_waits, uint64_t *wait_ms);

/* ==== A client ==== */

typedef struct net_client net_client;

typedef struct net_options {
    uint32_t timeout_ms;        /* per request (default 30000) */
    uint32_t max_retries;       /* retries of a network error, 408, 5xx or malformed JSON (default 5) */
    uint32_t backoff_base_ms;   /* first backoff cap (default 500) */
    uint32_t backoff_max_ms;    /* largest backoff (default 30000) */
    uint32_t max_wait_s;        /* longest rate-limit wait accepted (default 900): a longer one fails the call */
    uint32_t max_rate_waits;    /* rate-limit waits of one request at most (default 20) */
    const char *const *headers; /* extra request headers ("Accept: ...") */
    size_t n_headers;
    const char *auth_header;    /* "Authorization: ..." (copied, never in a message) or NULL */
    const char *secret;         /* the secret inside auth_header, masked in every message (copied) */
    volatile int *cancel;       /* non-zero: stop waiting and fail with SC_INTERRUPTED */
    void (*on_wait)(void *arg, const char *why, double seconds); /* told before each wait (may be NULL) */
    void *wait_arg;             /* its argument */
    uint64_t seed;              /* jitter seed (0 = from the clock) */
} net_options;

/* Initialise libcurl once per process (thread safe); every curl user of the
** library (net clients, the remote embedding provider) calls it first. */
void net_global_init(void);

/* Defaults of the fields above (no headers, no auth). */
net_options net_options_default(void);

typedef struct net_stats {
    uint64_t requests;      /* HTTP requests made */
    uint64_t retries;       /* of them, retries after a transient failure */
    uint64_t rate_waits;    /* rate-limit waits */
    double seconds_waited;  /* in backoffs and rate-limit waits */
} net_stats;

/* One answer (owned by the caller: net_response_free). */
typedef struct net_response {
    long status;      /* HTTP status (2xx, or 304 for a conditional GET whose entity did not change) */
    json_t *json;     /* the body parsed (NULL for a 304) */
    char *next_url;   /* rel="next" of the Link header, or NULL */
    int64_t date;     /* the server's Date header (unix seconds), 0 when none */
    char *etag;       /* the ETag header as sent (owned), NULL when none */
} net_response;

/* A client with opt (copied). SC_NOMEM / SC_INVALID with err set. */
sc_status net_client_new(const net_options *opt, net_client **out, sc_err *err);
/* Free; NULL is a no-op. The secret is wiped from memory. */
void net_client_free(net_client *c);
/* GET url and parse its JSON body into *out. Transient failures (network,
** 408, 5xx, a 2xx whose body is not JSON: a cut transfer) are retried with
** backoff; rate limits are waited out (net_classify) within max_wait_s;
** after a 2xx with X-RateLimit-Remaining 0 the next request first waits
** for the reset. Errors, with err naming the URL and status (the secret
** masked): SC_NOTFOUND (404, 410), SC_INVALID (another 4xx), SC_BUSY (a
** rate-limit wait longer than max_wait_s, or too many), SC_CORRUPT (every
** try answered 2xx with a body that is not JSON: out->next_url still holds
** the Link header's next page, so a listing can pass over this one),
** SC_IOERR (retries exhausted), SC_INTERRUPTED, SC_NOMEM. */
sc_status net_get_json(net_client *c, const char *url, net_response *out, sc_err *err);
/* net_get_json as a conditional request (RFC 9110): with etag (an ETag an
** earlier answer of url gave, NULL = unconditional) the request carries
** If-None-Match: etag, and a 304 answer is SC_OK with out->status 304 and
** no JSON (GitHub does not count it against the rate limit). */
sc_status net_get_json_if(net_client *c, const char *url, const char *etag, net_response *out, sc_err *err);
/* Free what a response holds; NULL is a no-op. */
void net_response_free(net_response *r);
/* Counters since net_client_new. */
net_stats net_client_stats(const net_client *c);

#endif /* SC_NET_H */
