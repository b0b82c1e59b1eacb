/*
** backend: private state of the Qdrant backend (qdrant.c, qdrant_http.c).
*/
#ifndef SC_BACKEND_QDRANT_INT_H
#define SC_BACKEND_QDRANT_INT_H

#include <curl/curl.h>
#include <jansson.h>

#include "backend/backend_int.h"
#include "text/text.h"

typedef struct qdrant_state {
    backend_config cfg;          /* copied configuration (strings owned) */
    char base[600];              /* http[s]://host:port */
    CURL *curl;                  /* one handle for every request: connections are reused */
    struct curl_slist *headers;  /* Content-Type and api-key */
    char *api_key;               /* the key (masked in messages; wiped on free), NULL = none */
    uint64_t rng;                /* backoff jitter state */
    text_tokenizer *tk;          /* BM25 terms of texts and queries */
} qdrant_state;

/* Set up the HTTP side of q (base URL, headers, handle). */
sc_status qdrant_http_init(backend *b, qdrant_state *q);
/* Release it. */
void qdrant_http_free(qdrant_state *q);
/* One request: method on path (from "/"), body (borrowed, NULL = none);
** *out the whole answer parsed (owned) on SC_OK. Transient failures are
** retried; errors recorded on b: SC_NOTFOUND (404), SC_EXISTS (409),
** SC_INVALID (other 4xx), SC_IOERR (no answer, 5xx after the retries). */
sc_status qdrant_call(backend *b, const char *method, const char *path, json_t *body, json_t **out);
/* qdrant_call with jansson decoding flags for the answer (JSON_DECODE_INT_AS_REAL for
** the cluster endpoints, whose peer ids are unsigned 64-bit numbers past json_int_t). */
sc_status qdrant_call_flags(backend *b, const char *method, const char *path, json_t *body, size_t decode_flags,
                            json_t **out);

#endif /* SC_BACKEND_QDRANT_INT_H */
