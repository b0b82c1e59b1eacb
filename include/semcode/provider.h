/*
** semcode public API: embedding providers, the embedding cache and batch
** results.
**
** An sc_embedder turns texts into vectors. It is one of:
**   - a local model (the built-in static model, a transformer model, or any
**     provider given as a callback table: sc_embedder_new_custom);
**   - a remote OpenAI-compatible endpoint (OpenAI, Azure OpenAI, Ollama,
**     vLLM, text-embeddings-inference, llama.cpp server, semcode serve):
**     batched, a bounded number of requests in flight, timeouts, retries
**     with exponential backoff and jitter on network errors, 5xx and 429
**     (Retry-After honoured), and validation of every response (count,
**     dimension, finite numbers).
** An embedder may have a persistent cache (SQLite, keyed by model id +
** model hash + role + text hash, LRU-bounded) and a fallback embedder that
** takes over a batch whose remote calls are exhausted, allowed only when
** both declare the same dimension and model family.
**
** Every call returns a batch summary and per-item results; one bad item
** (empty text, invalid UTF-8, over-long input) never fails its batch.
**
** Thread safety: an embedder is used by one thread at a time (it drives its
** own concurrent requests inside a call). A cache may be shared by
** embedders used from one thread at a time.
*/
#ifndef SEMCODE_PROVIDER_H
#define SEMCODE_PROVIDER_H

#include "common.h"
#include "embed.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_embedder sc_embedder;       /* a provider */
typedef struct sc_embed_cache sc_embed_cache; /* persistent cache */

/* ==== Batch results ==== */

typedef struct sc_embed_item {
    sc_status status;     /* SC_OK, or why this text got no vector */
    char error[160];      /* message when status != SC_OK */
    bool cached;          /* the vector came from the cache */
    const char *provider; /* id of the embedder that produced it (borrowed, lives with the embedder) */
} sc_embed_item;

typedef struct sc_embed_summary {
    size_t total;          /* texts given */
    size_t success;        /* texts with a vector */
    size_t failed;         /* texts without one */
    size_t cached;         /* vectors from the cache */
    size_t newly_embedded; /* vectors computed by a provider in this call */
    size_t requests;       /* remote requests sent (retries included) */
    size_t retries;        /* of which retries */
    size_t fallback;       /* vectors computed by the fallback embedder */
} sc_embed_summary;

/* ==== Custom (local) providers ==== */

/* A local provider as a callback table. embed() fills out[n * dim] and may
** mark single items failed (status + message) without failing the call; a
** non-OK return fails every item of the call. */
typedef struct sc_provider_vtable {
    sc_status (*embed)(void *state, sc_embed_role side, const char *const *texts, size_t n, float *out,
                       sc_embed_item *items);
    void (*destroy)(void *state); /* may be NULL */
} sc_provider_vtable;

/* Make an embedder from callbacks. id names the model ("builtin",
** "transformer:all-MiniLM-L6-v2"); model_hash identifies its weights (for
** the cache); family is the declared compatibility class for fallback.
** The embedder owns state (destroy is called by sc_embedder_free). */
SC_API sc_status sc_embedder_new_custom(const sc_provider_vtable *vt, void *state, const char *id,
                                        uint64_t model_hash, const char *family, uint32_t dim,
                                        sc_embedder **out, char **errmsg);

/* An embedder over a loaded model (borrowed: it must outlive the embedder,
** which never frees it): the query side for SC_EMBED_ROLE_QUERY, the code
** side otherwise; id "builtin:<16 hex digits of sc_model_hash>", family
** "semcode-builtin". */
SC_API sc_status sc_embedder_new_model(sc_model *model, sc_embedder **out, char **errmsg);

/* ==== Remote providers ==== */

typedef struct sc_remote_options {
    const char *base_url;     /* endpoint root, e.g. "http://127.0.0.1:8000/v1" (POST base_url + "/embeddings") */
    const char *model;        /* model name sent in each request */
    const char *api_key_env;  /* name of the environment variable holding the API key (NULL = none); the key is never logged or stored */
    uint32_t dim;             /* dimension every vector must have (required) */
    bool send_dimensions;     /* send "dimensions": dim in requests (OpenAI text-embedding-3) */
    const char *family;       /* declared model family, for fallback compatibility (NULL = model name) */
    uint32_t batch_size;      /* texts per request (default 64) */
    uint32_t concurrency;     /* requests in flight (default 4) */
    uint32_t timeout_ms;      /* per request (default 30000) */
    uint32_t max_retries;     /* retries per request after the first try (default 5) */
    uint32_t backoff_base_ms; /* first backoff (default 250); doubles per retry, full jitter */
    uint32_t backoff_max_ms;  /* cap of one backoff and of Retry-After (default 20000) */
    uint32_t max_input_bytes; /* longer texts fail as items (default 32768) */
    uint64_t seed;            /* jitter seed (0 = from the clock) */
    bool float_encoding;      /* ask for JSON numbers ("encoding_format": "float"). Default false: ask for
                                 base64 (little-endian float32: no decimal printing and parsing on either side),
                                 falling back to numbers for good when a server refuses it; answers in
                                 either form are accepted */
} sc_remote_options;

SC_API sc_remote_options sc_remote_options_default(void);
/* Make a remote embedder. SC_INVALID names a bad option. */
SC_API sc_status sc_embedder_new_remote(const sc_remote_options *opt, sc_embedder **out, char **errmsg);

/* ==== Using an embedder ==== */

/* Free an embedder (not its cache or fallback); NULL is a no-op. */
SC_API void sc_embedder_free(sc_embedder *e);
SC_API uint32_t sc_embedder_dim(const sc_embedder *e);
/* Model id, e.g. "remote:http://host/v1#text-embedding-3-small" (borrowed). */
SC_API const char *sc_embedder_id(const sc_embedder *e);
/* Use cache (borrowed; NULL = none). */
SC_API void sc_embedder_set_cache(sc_embedder *e, sc_embed_cache *cache);
/* Let fallback (borrowed) take over batches whose remote calls are
** exhausted. SC_INVALID unless both have the same dimension and family
** (sc_embedder_errmsg says why). */
SC_API sc_status sc_embedder_set_fallback(sc_embedder *e, sc_embedder *fallback);
/* Message of the last failed call on e (set_fallback, or an embed call
** that could not run at all: per-text failures are in sc_embed_item);
** borrowed, valid until the next call on e. Never NULL. An embedder is
** used by one thread at a time. */
SC_API const char *sc_embedder_errmsg(const sc_embedder *e);

/* Embed n texts into out[n * dim] (caller-owned; rows of failed items are
** zero). items (n entries, may be NULL) and summary (may be NULL) receive
** the per-item results and counts. Returns SC_OK when the call ran, even if
** items failed; an error only for misuse or when nothing could run. */
SC_API sc_status sc_embedder_embed(sc_embedder *e, sc_embed_role side, const char *const *texts, size_t n,
                                   float *out, sc_embed_item *items, sc_embed_summary *summary);

/* ==== Cache ==== */

/* Counters since the cache was opened (entries: stored in the file). */
typedef struct sc_embed_cache_stats {
    uint64_t hits;       /* lookups answered */
    uint64_t misses;     /* lookups not answered */
    uint64_t entries;    /* vectors stored */
    uint64_t evictions;  /* vectors dropped by the LRU bound */
    uint64_t recoveries; /* times a damaged cache file was set aside and rebuilt */
} sc_embed_cache_stats;

/* Open (or create) the cache file at path, keeping at most max_entries
** vectors (0 = 1,000,000). A damaged or unreadable file is renamed to
** path.corrupt-<time>, a new one is created, and the event is reported once
** on stderr and in the stats: the cache never fails the caller for that. */
SC_API sc_status sc_embed_cache_open(const char *path, uint64_t max_entries, sc_embed_cache **out, char **errmsg);
SC_API void sc_embed_cache_close(sc_embed_cache *c);
/* Send the cache's messages (a damaged file moved aside, a cache left out)
** to logger instead of the global one (NULL: back to the global one). A
** problem found while opening goes to the global logger. */
SC_API void sc_embed_cache_set_logger(sc_embed_cache *c, const sc_logger *logger);
SC_API sc_embed_cache_stats sc_embed_cache_get_stats(const sc_embed_cache *c);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_PROVIDER_H */
