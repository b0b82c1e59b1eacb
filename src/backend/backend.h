/*
** backend: the store backend interface (issue 20). An indexed repository
** (src/repo/, src/pipeline/) keeps its points through a backend: the
** embedded store of this program (embedded.c, a thin layer over sc_db) or
** a Qdrant server or cluster over its REST API (qdrant.c, qdrant_http.c).
** Requests and results are the embedded store's own types
** (include/semcode/store.h: sc_point_in, sc_search_request,
** sc_scroll_request, sc_record_list), so a caller moves from one backend to
** the other without translating anything; each backend translates what it
** must (the Qdrant backend turns a point's keyword text into a BM25 sparse
** vector, a keyword query into a sparse query).
**
** Each backend reports its capabilities (backend_caps); callers adapt and
** say so: a backend without the code-aware ranking stage answers hybrid
** queries by its own fusion (Qdrant: prefetch + RRF on the server), one
** without server-side hybrid would be fused on the client.
**
** Also here: the store location (`--store DIR` or
** `qdrant://host:port/collection?...`, backend_url_parse) and the
** configuration of a backend with its checks (config.c: `semcode config
** check` and the start-up of index, search and serve).
**
** Thread safety: a backend handle is used by one thread at a time (the
** embedded one inherits sc_db's rules; the Qdrant one owns one libcurl
** handle). The parse and check functions are pure but for the reachability
** check, which makes one request.
*/
#ifndef SC_BACKEND_H
#define SC_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "semcode/store.h"
#include "util/util.h"

/* ==== Configuration ==== */

typedef enum backend_kind {
    BACKEND_KIND_EMBEDDED = 0, /* the embedded store in a directory */
    BACKEND_KIND_QDRANT = 1,   /* a Qdrant server or cluster over REST */
} backend_kind;

#define BACKEND_QDRANT_MAX_DIM 65536u          /* Qdrant's largest dense vector */
#define BACKEND_DEFAULT_TIMEOUT_MS 30000u      /* per request */
#define BACKEND_MIN_SAFE_TIMEOUT_MS 5000u      /* below: a warning (an index batch can take longer) */
#define BACKEND_DEFAULT_BATCH 256u             /* points per upsert request */
#define BACKEND_MAX_BATCH 10000u               /* larger batches are refused */
#define BACKEND_DEFAULT_CONNECTIONS 4u         /* connections kept for reuse */
#define BACKEND_WARN_CONNECTIONS 32u           /* above: a warning */
#define BACKEND_MAX_CONNECTIONS 256u           /* above: an error */
#define BACKEND_DEFAULT_API_KEY_ENV "QDRANT_API_KEY"
#define BACKEND_SPARSE_NAME "bm25"             /* the sparse vector holding BM25 term weights */

/* Where and how to keep points. Strings are owned (backend_config_free). */
typedef struct backend_config {
    backend_kind kind;          /* which backend */
    char *dir;                  /* embedded: the index folder (NULL = the default ROOT/.semcode) */
    char *host;                 /* qdrant: host name or address */
    uint32_t port;              /* qdrant: port (default 6333) */
    char *collection;           /* qdrant: collection name (default "code") */
    bool tls;                   /* qdrant: https (qdrants:// or ?tls=true) */
    char *ca_file;              /* qdrant: CA bundle to verify the server with (NULL = the system's) */
    char *api_key_env;          /* qdrant: variable holding the API key (default QDRANT_API_KEY) */
    uint32_t timeout_ms;        /* per request (default 30000) */
    uint32_t max_retries;       /* retries of a transient failure (default 3) */
    uint32_t max_connections;   /* connections kept for reuse (default 4) */
    uint32_t batch_size;        /* points per upsert request (default 256) */
    uint32_t shard_number;      /* qdrant collection: shards (0 = the server's default) */
    uint32_t replication_factor;/* qdrant collection: copies of each shard (0 = the server's default) */
    uint32_t write_consistency_factor; /* qdrant collection: replicas that must acknowledge a write (0 = default) */
} backend_config;

/* Defaults: embedded, no folder. */
backend_config backend_config_default(void);
/* Free the strings of c (not c itself); NULL is a no-op. */
void backend_config_free(backend_config *c);
/* True when s names a Qdrant store ("qdrant://" or "qdrants://"). */
bool backend_is_url(const char *s);

/* Parse a store location into c (which holds defaults or a configuration
** file's values; the URL's wins): a directory, or
** qdrant[s]://host[:port]/collection[?key=value&...] with keys tls, ca,
** api_key_env, timeout_ms, retries, connections, batch, shards, replicas,
** write_consistency. SC_INVALID with err naming the part that is wrong. */
sc_status backend_url_parse(const char *s, backend_config *c, sc_err *err);

/* Read a configuration file (JSON: {"store": {"url": ..., "timeout_ms":
** ..., ...}}, docs/ARCHITECTURE.md "Store configuration") into c. Unknown
** keys and values of the wrong type are errors naming the key and line. */
sc_status backend_config_load(const char *path, backend_config *c, sc_err *err);

/* One finding of backend_config_check. */
typedef struct backend_diag {
    bool error;        /* true: the configuration cannot be used; false: a warning */
    char field[32];    /* the setting concerned ("timeout_ms", "ca", "host", ...) */
    char msg[512];     /* what is wrong and what to do */
} backend_diag;

#define BACKEND_MAX_DIAGS 16

/* The checks made before a configuration is used. */
typedef struct backend_check {
    backend_diag diags[BACKEND_MAX_DIAGS]; /* findings, errors and warnings in the order found */
    uint32_t n;                            /* entries of diags */
    uint32_t n_errors;                     /* of them, errors */
    char cluster[256];                     /* what the probe learnt of a Qdrant cluster ("" = nothing) */
} backend_check;

/* Add a finding to out (dropped past BACKEND_MAX_DIAGS). */
void backend_check_add(backend_check *out, bool error, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Check c: values in range (timeout under 5 s is a warning, 0 an error;
** too many connections; batch size; write_consistency_factor above
** replication_factor), TLS (a CA file that cannot be read is an error, TLS
** without a CA file a warning, an API key over plain http to another host
** a warning), the API key variable, the dimension dim (0 = not known yet)
** against the backend's largest, and with probe the host's reachability
** (one GET of /healthz within min(timeout, 5 s); a TLS failure names the
** CA it was verified against), then backend_qdrant_cluster_check. Fills
** out; never fails. */
void backend_config_check(const backend_config *c, uint32_t dim, bool probe, backend_check *out);

/* The cluster side of a reachable Qdrant (qdrant_cluster.c): GET /cluster
** (peers, Raft leader, consensus) against shard_number, replication_factor
** and write_consistency_factor, and GET /collections/{c}/cluster when the
** collection exists (shards, replicas and their states, transfers). Adds
** errors (more write acknowledgements than peers; a shard without an active
** replica) and warnings to out, and a summary to out->cluster. A server
** without the cluster API (404: `semcode serve`) is a single node. */
void backend_qdrant_cluster_check(const backend_config *c, backend_check *out);

/* Why a request failed, from libcurl's code and error buffer: TLS
** verification failures name the CA the server was checked against (c's
** ca_file or the system's) and what to do. Written to out. */
void backend_curl_reason(int curl_code, const char *detail, const backend_config *c, char *out, size_t size);

/* ==== Capabilities ==== */

/* Distances a backend offers, as bits (1u << sc_distance). */
#define BACKEND_DISTANCES_ALL 0xfu

typedef struct backend_caps {
    const char *name;        /* "embedded" or "qdrant" */
    bool filtering;          /* Qdrant filters on payload */
    bool hybrid;             /* dense + keyword fused by the backend in one request */
    bool server_keyword;     /* keyword (BM25) scoring by the backend */
    bool ranking_stage;      /* the code-aware ranking stage (sc_rank_code) runs on its points */
    bool streaming;          /* results streamed as they come (neither backend yet) */
    bool transactions;       /* a batch is all or nothing */
    bool snapshots;          /* collection snapshots */
    uint32_t max_dim;        /* largest dense dimension */
    uint32_t distances;      /* bits of sc_distance */
} backend_caps;

/* ==== The handle ==== */

typedef struct backend backend;

/* The embedded backend over db (borrowed: the caller closes it after
** backend_free). SC_NOMEM with err set. */
sc_status backend_embedded_new(sc_db *db, backend **out, sc_err *err);
/* The Qdrant backend of c (copied; kind QDRANT). Makes no request yet.
** SC_INVALID (configuration), SC_NOMEM, with err set. */
sc_status backend_qdrant_new(const backend_config *c, backend **out, sc_err *err);
/* A new handle on b's store (qdrant: the same configuration, a connection
** of its own; embedded: the same db, still the caller's): for another user
** of the store with its own errors and counters, or another thread (one
** thread per handle). SC_NOMEM with err set. */
sc_status backend_clone(const backend *b, backend **out, sc_err *err);
/* Free; NULL is a no-op. */
void backend_free(backend *b);

/* What b can do (static for its kind). */
const backend_caps *backend_get_caps(const backend *b);
/* Message of the last failure on b (borrowed, until the next call). */
const char *backend_errmsg(const backend *b);
/* Where b keeps its points: a folder or "qdrant://host:port/collection" (borrowed). */
const char *backend_location(const backend *b);
/* The collection the location names (qdrant: the URL's, default "code"),
** or dflt when the location names none (embedded). Borrowed. */
const char *backend_collection(const backend *b, const char *dflt);
/* Requests made, retried and bytes sent/received since backend_*_new (0 for embedded). */
typedef struct backend_stats {
    uint64_t requests;       /* HTTP requests */
    uint64_t retries;        /* of them, retries */
    uint64_t bytes_sent;     /* request bodies */
    uint64_t bytes_received; /* response bodies */
} backend_stats;
backend_stats backend_get_stats(const backend *b);

/* Is the backend answering: SC_OK, or SC_IOERR with the reason. *info
** (may be NULL) gets an owned one-line description (version, title). */
sc_status backend_health(backend *b, char **info);

/* ==== Collections ==== */

/* The parameters of a collection the repository creates. */
typedef struct backend_collection_params {
    const char *vector_name;           /* the dense vector's name */
    uint32_t dim;                      /* its dimension */
    sc_distance distance;              /* its distance */
    bool keyword;                      /* keep BM25 terms (embedded: of sc_point_in.text; qdrant: a sparse vector
                                          BACKEND_SPARSE_NAME with the IDF modifier) */
    const char *const *keyword_fields; /* payload fields filtered on: a keyword index each */
    size_t n_keyword_fields;
    const char *const *integer_fields; /* payload fields filtered by range: an integer index each */
    size_t n_integer_fields;
    const char *model_tag;             /* what made the vectors (model id / text template), kept with the
                                          collection where the backend can (qdrant: metadata.semcode_model);
                                          NULL = none */
    const char *const *more_vectors;   /* further named dense vectors of the same dimension and distance
                                          (development records: summary, metadata); NULL = none */
    size_t n_more_vectors;
    bool more_vectors_flat;            /* those are scanned exactly, without a graph (embedded: FLAT; qdrant:
                                          hnsw_config m 0): searched rarely, and a graph each costs every write */
    const char *const *datetime_fields;/* payload fields filtered by RFC 3339 date range: a datetime index each */
    size_t n_datetime_fields;
    const char *tenant_field;          /* the payload field that partitions the points by tenant: a keyword index
                                          (qdrant: marked is_tenant, so each tenant's points are stored together);
                                          NULL = none */
} backend_collection_params;

/* Create collection name; SC_EXISTS when it exists (its parameters are not compared). */
sc_status backend_collection_create(backend *b, const char *name, const backend_collection_params *p);
/* Does it exist (false on any failure). */
bool backend_collection_exists(backend *b, const char *name);
/* Delete; SC_NOTFOUND when missing. */
sc_status backend_collection_delete(backend *b, const char *name);
/* Names of all collections (owned NULL-terminated array, sc_strv_free). */
sc_status backend_collection_list(backend *b, char ***out, size_t *n_out);

#define BACKEND_INFO_VECTORS 8 /* named dense vectors backend_collection_info lists */

/* What backend_collection_info reports. */
typedef struct backend_collection_info {
    uint64_t n_points;   /* points */
    uint32_t dim;        /* dimension of the first dense vector (0 = none) */
    uint32_t n_vectors;  /* entries of vectors (the first BACKEND_INFO_VECTORS dense vectors) */
    struct {
        char name[64];   /* its name ("" = the unnamed vector) */
        uint32_t dim;    /* its dimension */
    } vectors[BACKEND_INFO_VECTORS];
    sc_distance distance;/* its distance */
    bool keyword;        /* BM25 terms kept */
    char status[16];     /* "green", "yellow", ... (embedded: "green") */
    char model_tag[400]; /* backend_collection_params.model_tag it was created with ("" = none or not kept) */
} backend_collection_info;
sc_status backend_collection_info_get(backend *b, const char *name, backend_collection_info *out);
/* Repair the collection's indexes after deletes (embedded); a no-op where the server does it. */
sc_status backend_collection_optimize(backend *b, const char *name);

/* ==== Points ==== */

/* Upsert n points, sent in batches of the configured size (qdrant, each
** with wait=true: acknowledged when durable). Ids are stable, so a re-run
** replaces rather than duplicates. Embedded: one transaction. */
sc_status backend_points_upsert(backend *b, const char *coll, const sc_point_in *pts, size_t n);
/* Delete by id (missing ids ignored) / by filter. */
sc_status backend_points_delete(backend *b, const char *coll, const sc_point_id *ids, size_t n);
sc_status backend_points_delete_by_filter(backend *b, const char *coll, const char *filter_json);
/* Fetch by id, in order, missing skipped (*out owned, sc_record_list_free). */
sc_status backend_points_get(backend *b, const char *coll, const sc_point_id *ids, size_t n, const sc_with *with,
                             sc_record_list **out);
/* One page in id order, as sc_points_scroll. */
sc_status backend_points_scroll(backend *b, const char *coll, const sc_scroll_request *req, sc_record_list **out,
                                sc_point_id *next, bool *has_next);
/* Points matching filter_json (NULL = all). */
sc_status backend_points_count(backend *b, const char *coll, const char *filter_json, uint64_t *out);

/* ==== Search ==== */

/* A dense (req->query) or keyword (req->text) search, with filter, limit
** and score threshold, as sc_points_search. */
sc_status backend_search(backend *b, const char *coll, const sc_search_request *req, sc_record_list **out);
/* Hybrid: the dense leg (dense->query) and the keyword leg (text) each
** fetch `prefetch` candidates under filter_json, fused by reciprocal rank
** (k = 60) into `limit` results. On a backend with caps.hybrid one request
** (Qdrant: prefetch + fusion "rrf"); else both legs fused here. */
sc_status backend_search_hybrid(backend *b, const char *coll, const sc_search_request *dense, const char *text,
                                uint32_t prefetch, sc_record_list **out);

/* ==== BM25 terms as a sparse vector (bm25.c) ==== */

/* The sparse vector of a text for the keyword leg: per distinct token of
** the code-aware tokenizer (src/text) index = 32-bit hash of the token;
** document side (query false) weight = tf (k1 + 1) / (tf + k1 (1 - b + b
** len / BACKEND_BM25_AVGDL)) with k1 1.2, b 0.75; query side weight 1.
** With the collection's IDF modifier the server's dot product is then Okapi
** BM25 with a fixed average length. Arrays owned (free both), *n entries,
** indices ascending. tk: a tokenizer to use (NULL = one made for this
** call). SC_NOMEM. */
#define BACKEND_BM25_AVGDL 64.0
struct text_tokenizer;
sc_status backend_bm25_sparse(struct text_tokenizer *tk, const char *text, bool query, uint32_t **indices,
                              float **values, uint32_t *n);

#endif /* SC_BACKEND_H */
