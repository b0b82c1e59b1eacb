/*
** server: private structures shared by the files of the server module:
** the per-request call state handed to every endpoint, and the helpers that
** decode Qdrant's JSON shapes (ids, vectors, selectors) and encode records.
** Only the server module's .c files include this header.
*/
#ifndef SC_SERVER_INT_H
#define SC_SERVER_INT_H

#include <jansson.h>

#include "server/server.h"

#define SERVER_MAX_ARGS 4         /* captured path segments per route */
#define SERVER_NAME_SIZE 512      /* buffer for (namespaced) collection names */
#define SERVER_MAX_JSON_DEPTH 64  /* deeper request bodies are refused (400) */
#define SERVER_MAX_LIMIT 100000u  /* most candidates of one leg of a hybrid text query */
#define SERVER_QDRANT_VERSION "1.19.0" /* the Qdrant REST API version implemented (GET /, app_info) */

typedef struct server_fastvec server_fastvec;

/* State of one request while an endpoint runs. */
typedef struct server_call {
    server_ctx *ctx;                 /* server */
    const server_request *req;       /* the request */
    json_t *body;                    /* parsed body (NULL when empty) */
    server_fastvec *fastvec;         /* dense vectors of a points upsert read past jansson (owned), or NULL */
    bool fastvec_ok;                 /* the route takes the fast path for vectors (PUT .../points) */
    const char *args[SERVER_MAX_ARGS]; /* captured path segments (decoded, owned by argbuf) */
    char argbuf[2048];               /* storage of args */
    const char *tenant;              /* tenant of the key, NULL = global namespace (borrowed from the config) */
    server_role role;                /* role of the key (admin when the server has no keys) */
    int status;                      /* error status once server_fail was called, else 0 */
    unsigned retry_after;            /* with a 429: seconds after which to retry (Retry-After header), else 0 */
    char msg[1024];                  /* error message */
    int ok_status;                   /* success status when not 200: 202 answers {"status":"accepted"} */
    int file_fd;                     /* with has_file: the file to send as the whole answer (owned) */
    uint64_t file_size;              /* its bytes */
    bool has_file;                   /* the endpoint answers with a file, not JSON */
} server_call;

/* An endpoint: returns the owned result JSON, or NULL after server_fail. */
typedef json_t *(*server_endpoint_fn)(server_call *call);

/* ==== Errors (handle.c) ==== */

/* Record an error of the call (first one wins) and return NULL. */
json_t *server_fail(server_call *call, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Record the store's last error for status rc (404/400/409/503/500) and return NULL. */
json_t *server_fail_store(server_call *call, sc_status rc);

/* A query-string argument of the request (NULL when absent). */
const char *server_arg(const server_call *call, const char *name);

/* ==== Collections and tenants (handle.c) ==== */

/* Map a user collection name to the store name in the caller's tenant
** namespace; false (and a 400/404 recorded) when the name is invalid. */
bool server_coll_name(server_call *call, const char *user, char out[SERVER_NAME_SIZE]);
/* Resolve a user name (collection or alias) to an existing store collection;
** false with 404 "Collection `x` doesn't exist!" otherwise. */
bool server_coll_resolve(server_call *call, const char *user, char out[SERVER_NAME_SIZE]);
/* Strip the namespace of tenant (not NULL) from a store name: ".t.docs" ->
** "docs" (borrowed from store_name); NULL if it is not that tenant's. */
const char *server_tenant_strip(const char *tenant, const char *store_name);
/* Strip the caller's namespace from a store name; NULL if it is not the caller's. */
const char *server_coll_user_name(const server_call *call, const char *store_name);

/* ==== Tenant scope (handle.c) ====
** Every endpoint that reads or writes data outside a collection path (code
** and record searches, jobs, metrics) goes through these two, so a key
** scoped to tenant T acts for T only. Collections are namespaced by
** server_coll_name above. */

/* The tenant a request acts for when its body or query names `requested`
** (NULL or "" = none named): a tenant key gets its own tenant, and naming
** another is 403; a global key (no tenant) acts for the global namespace
** (*out NULL), and naming a tenant is 403, unless the server has no API
** keys at all (an open local server: any valid tenant name, 400 for a bad
** one). *out is borrowed (the config's or requested). */
bool server_tenant_resolve(server_call *call, const char *requested, const char **out);
/* true when something owned by tenant `owner` (NULL = the global
** namespace) is the caller's to see: same namespace, or an operator (a
** global admin key, or a server without keys) who sees every tenant. */
bool server_tenant_visible(const server_call *call, const char *owner);
/* true when name is a valid tenant name: 1..64 bytes of [A-Za-z0-9_-] (config.c). */
bool server_tenant_name_ok(const char *name);

/* ==== Snapshots (snapshots.c) ==== */

json_t *server_api_snapshots_list(server_call *call);
json_t *server_api_snapshot_create(server_call *call);
json_t *server_api_snapshot_get(server_call *call);
json_t *server_api_snapshot_delete(server_call *call);
json_t *server_api_snapshot_recover(server_call *call);
json_t *server_api_snapshot_upload(server_call *call);
json_t *server_api_full_snapshots_list(server_call *call);
json_t *server_api_full_snapshot_create(server_call *call);
json_t *server_api_full_snapshot_get(server_call *call);
json_t *server_api_full_snapshot_delete(server_call *call);

/* ==== The fast path for upsert vectors (fastvec.c) ==== */

/* Which arrays of an upsert body a server_fastvec entry stands for. */
typedef enum server_fastvec_form {
    SERVER_FASTVEC_POINTS = 0, /* points[i].vector */
    SERVER_FASTVEC_BATCH = 1   /* batch.vectors[i] */
} server_fastvec_form;

/* Read one JSON number at s[0..n) into *out exactly as jansson plus
** server_json_floats would ((float)strtod, integers through strtoll), its
** length in *used; false when s does not start with a JSON number that path
** accepts (the caller then leaves it to that path). */
bool server_fastvec_number(const char *s, size_t n, float *out, size_t *used);
/* Read the JSON array at s[0..n) of 1..max such numbers into out: the
** count, *end just past its `]`; 0 when it is anything else. */
size_t server_fastvec_array(const char *s, size_t n, float *out, size_t max, size_t *end);
/* Walk an upsert body: the owned copy in which each `points[i].vector` and
** `batch.vectors[i]` array of numbers is read into *out_fv (owned) and
** replaced by `[]`, *out_n its size; NULL when nothing was replaced (or
** memory ran out): parse s itself then. The copy parses iff s does. */
char *server_fastvec_scan(const char *s, size_t n, server_fastvec **out_fv, size_t *out_n);
/* The vector read for entry idx of form (borrowed until server_fastvec_free) and its size; false when none. */
bool server_fastvec_get(const server_fastvec *fv, server_fastvec_form form, size_t idx, const float **data,
                        uint32_t *dim);
/* Free fv (NULL is a no-op). */
void server_fastvec_free(server_fastvec *fv);

/* ==== JSON decoding (json_io.c) ==== */

/* Decode a point id (unsigned integer or UUID string) at field `what`. */
bool server_json_id(server_call *call, const json_t *v, const char *what, sc_point_id *out);
/* Decode an array of ids (owned *out, free()). */
bool server_json_ids(server_call *call, const json_t *v, const char *what, sc_point_id **out, size_t *n);
/* Encode an id (integer or UUID string). */
json_t *server_json_id_encode(const sc_point_id *id);
/* Decode a float array into owned *out. */
bool server_json_floats(server_call *call, const json_t *v, const char *what, float **out, uint32_t *n);

/* true when v has the shape of a multivector (a non-empty list whose first element is a list). */
bool server_json_is_multi(const json_t *v);
/* Decode a multivector (a list of lists of numbers) at `where` into owned
** *out (*rows × *dim floats, row-major): an empty row or rows of different
** lengths are 422 in Qdrant's words, with `qwhere` as Qdrant names the
** field (e.g. "points[0].vector.?"). */
bool server_json_multi(server_call *call, const json_t *v, const char *where, const char *qwhere, float **out,
                       uint32_t *dim, uint32_t *rows);

/* A sparse vector decoded from {"indices": [...], "values": [...]}. */
typedef struct server_sparse {
    uint32_t *indices; /* owned, n entries, as given */
    float *values;     /* owned, n entries */
    uint32_t n;        /* entries */
} server_sparse;

/* true when v has the shape of a sparse vector (an object with indices or values). */
bool server_json_is_sparse(const json_t *v);
/* Decode a sparse vector at `where` (the field's path, named in messages):
** wrong types 400; indices and values of different lengths or an index
** given twice 422 in Qdrant's words, with `qwhere` as Qdrant names the
** field (e.g. "points[0].vector.?") and the precise place after it. */
bool server_json_sparse(server_call *call, const json_t *v, const char *where, const char *qwhere,
                        server_sparse *out);
void server_sparse_free(server_sparse *s);

/* Owned storage behind an sc_with decoded from with_payload / with_vector. */
typedef struct server_with {
    sc_with with;          /* what to pass to the store */
    const char **keys;     /* owned array of borrowed strings (payload include/exclude) */
    const char **names;    /* owned array of borrowed strings (vector names) */
} server_with;

/* Decode with_payload (bool, list, {include}, {exclude}) and with_vector
** (bool, list of names) from obj, with the given defaults. */
bool server_json_with(server_call *call, const json_t *obj, bool payload_default, server_with *out);
void server_with_free(server_with *w);

/* A float32 value as a JSON real holding the double nearest to the
** float's shortest decimal (0.15f -> 0.15, not 0.150000006): printed by
** the response writer as that decimal, which reads back as the same float32. */
json_t *server_json_f32(float f);
/* Encode a record as a Qdrant Record / ScoredPoint (with_score). */
json_t *server_json_record(const sc_record *r, bool with_score);
/* Encode a record list as a JSON array. */
json_t *server_json_records(const sc_record_list *l, bool with_score);

/* Optional unsigned integer field `key` of obj (absent or null = def). 400 on
** a wrong type, 422 outside [min, max]. */
bool server_json_uint(server_call *call, const json_t *obj, const char *key, uint64_t def, uint64_t min,
                      uint64_t max, uint64_t *out);
/* Optional `limit` / `offset` field (absent or null = def): any unsigned
** integer of at least min, as Qdrant (a u64), held as at most UINT32_MAX;
** callers clamp it to the collection's size (server_clamp_to_points). */
bool server_json_limit(server_call *call, const json_t *obj, const char *key, uint32_t def, uint32_t min,
                       uint32_t *out);
/* Clamp a limit and offset to the points of collection coll: no more can
** come back, and the store refuses a limit + offset over 1,000,000. */
void server_clamp_to_points(server_call *call, const char *coll, uint32_t *limit, uint32_t *offset);
/* Optional number field `key` of obj (absent or null = def). 400 on a wrong
** type, 422 outside [min, max]; messages give the path of obj in the body
** as parent (NULL = the body itself), e.g. "query.options". */
bool server_json_number(server_call *call, const json_t *obj, const char *key, const char *parent, double def,
                        double min, double max,
                        double *out);
/* Optional bool field. */
bool server_json_bool(server_call *call, const json_t *obj, const char *key, bool def, bool *out);
/* Optional string field (borrowed; NULL when absent or null). */
bool server_json_str(server_call *call, const json_t *obj, const char *key, const char **out);
/* Optional filter field `key` as owned compact JSON text (NULL when absent or null). */
bool server_json_filter(server_call *call, const json_t *obj, const char *key, char **out);
/* Selector of a payload/delete operation: `points` ids or `filter`. */
bool server_json_selector(server_call *call, const json_t *obj, sc_selector *sel, sc_point_id **ids_owned,
                          char **filter_owned);
/* Compact JSON text of v (owned). */
char *server_json_text(const json_t *v);
/* Build {"operation_id": n, "status": "completed"}. */
json_t *server_json_update_result(void);

/* ==== Endpoints ==== */

/* collections.c */
/* Qdrant's CollectionInfo of store collection `name` (GET /collections/{c}; telemetry). */
json_t *server_collection_info_json(server_call *call, const char *name);
json_t *server_api_collections_list(server_call *call);
json_t *server_api_collection_get(server_call *call);
/* GET /collections/{c}/cluster: Qdrant's CollectionClusterInfo of a node without distributed mode. */
json_t *server_api_collection_cluster(server_call *call);
json_t *server_api_collection_create(server_call *call);
json_t *server_api_collection_update(server_call *call);
json_t *server_api_collection_delete(server_call *call);
json_t *server_api_collection_exists(server_call *call);
json_t *server_api_aliases_update(server_call *call);
json_t *server_api_aliases_list(server_call *call);
json_t *server_api_collection_aliases(server_call *call);
json_t *server_api_index_create(server_call *call);
json_t *server_api_vector_create(server_call *call); /* PUT /collections/{c}/vectors/{name} */
json_t *server_api_vector_delete(server_call *call); /* DELETE /collections/{c}/vectors/{name} */
/* POST /collections/{c}/facet: counts per value of an indexed key (keyword, integer, uuid, bool). */
json_t *server_api_facet(server_call *call);
json_t *server_api_index_delete(server_call *call);

/* qconfig.c: Qdrant's collection configuration as given (the store's
** per-collection settings object) and the engine parameters it implies */
/* Check a memory placement at `where` (cold, cached, pinned; pinned 422
** unless pinned_ok). */
bool server_qconfig_memory(server_call *call, const json_t *v, const char *where, bool pinned_ok);
/* The settings object of a create request body (owned), or NULL after a
** 400/422 on a bad part (the parts the engine reads are validated by the
** caller). */
json_t *server_qconfig_create(server_call *call, const json_t *body);
/* The settings after PATCH body (owned, old unchanged), or NULL after a 400/422. */
json_t *server_qconfig_patch(server_call *call, const json_t *old, const json_t *body);
/* The engine's hnsw and quantization parameters of dense vector `name` of
** dimension dim under settings (any missing layer: Qdrant's defaults). */
void server_qconfig_engine(const json_t *settings, const char *name, uint32_t dim, sc_hnsw_config *h,
                           sc_quant_config *q);
/* The store update of vector v when the settings change from before to
** after: only the engine fields that differ (fields 0 when none). */
sc_vector_update server_qconfig_update(const json_t *before, const json_t *after, const sc_vector_params *v);
/* Add the as-given per-vector parts of vector `name` (hnsw_config,
** quantization_config, on_disk, memory, datatype) to its VectorParams out. */
void server_qconfig_vector_json(const json_t *settings, const char *name, json_t *out);
/* Qdrant's HnswConfig, OptimizersConfig of the collection (owned). */
json_t *server_qconfig_hnsw_json(const json_t *settings);
json_t *server_qconfig_optimizer_json(const json_t *settings);
/* CollectionInfo.warnings (owned array, maybe empty): configuration that
** is recorded but not acted on (product quantization, datatypes). */
json_t *server_qconfig_warnings(const json_t *settings, const sc_collection_info *info);

/* strict.c: Qdrant's strict mode */
/* Merge a strict_mode_config diff (validated; null fields left as they
** are) into settings.strict_mode_config; false after a 400/422. */
bool server_strict_settings(server_call *call, json_t *settings, const json_t *diff);
/* Before the endpoint labelled `label` runs on collection call->args[0]:
** when the collection's strict mode is enabled, check the request against
** it (limits, unindexed filters, batch sizes, collection size, payload
** index count, rate limits); false after Qdrant's 400 (or 429). */
bool server_strict_check(server_call *call, const char *label);
/* Drop the rate limiters of store collection coll (created, deleted or its
** strict mode changed): the next request starts with full ones, as Qdrant
** makes new limiters with a new configuration. */
void server_strict_forget(server_ctx *ctx, const char *coll);

/* points.c */
json_t *server_api_points_upsert(server_call *call);
/* POST /collections/{c}/points/ndjson: one point per line of the spooled body, upserted in batches. */
json_t *server_api_points_ndjson(server_call *call);
json_t *server_api_point_get(server_call *call);
json_t *server_api_points_get(server_call *call);
json_t *server_api_points_delete(server_call *call);
json_t *server_api_payload_set(server_call *call);
json_t *server_api_payload_overwrite(server_call *call);
json_t *server_api_payload_delete(server_call *call);
json_t *server_api_payload_clear(server_call *call);
json_t *server_api_points_scroll(server_call *call);
json_t *server_api_points_count(server_call *call);
json_t *server_api_points_batch(server_call *call);
json_t *server_api_vectors_update(server_call *call);
json_t *server_api_vectors_delete(server_call *call);

/* order_by (a key, or {key, direction "asc"|"desc", start_from}): the
** points of filter_json in the order of their numbers at key, one entry per
** number (a point with several appears for each), ties by id; owned ids
** and values, *n entries. 400 unless key has an integer or float payload
** index, as Qdrant requires a range index. (points.c) */
bool server_order_by(server_call *call, const char *coll, const char *filter_json, const json_t *spec,
                     sc_point_id **ids, double **values, size_t *n);

/* embeddings.c */
json_t *server_api_embeddings(server_call *call); /* full OpenAI-shaped body, not the Qdrant envelope */
/* Whether a Document of model (NULL or "builtin") can be embedded here: 400
** when no model is loaded or the name is unknown. */
bool server_embed_model_ok(server_call *call, const char *model);
/* Embed a text with the built-in model (model NULL or "builtin") for role
** (query side for searches, code side for upserted documents): owned *out
** of *dim floats; 400 when no model is loaded or the name is unknown. */
bool server_embed_text(server_call *call, const char *text, const char *model, sc_embed_role role, float **out,
                       uint32_t *dim);
/* Embed n texts with the server's embedder (cache, metrics): out gets n
** rows of the model's dimension. A text the embedder refuses (blank,
** invalid UTF-8) is a 400 naming whats[i] when whats is given, else
** what[i] (what alone when n is 1). */
bool server_embed_texts(server_call *call, const char *const *texts, size_t n, sc_embed_role role, const char *what,
                        const char *const *whats, float *out);
/* true for the model names of BM25 Documents ("qdrant/bm25", "bm25"). */
bool server_model_is_bm25(const char *model);
/* Decode a Document {"text", "model", "options"?} at `where`: borrowed text
** (non-empty) and model (NULL when absent). */
bool server_json_document(server_call *call, const json_t *doc, const char *where, const char **text,
                          const char **model);

/* The Qdrant-style "METHOD /path/{param}" of the route labelled `label`
** (handle.c): false when there is none or it does not fit. */
bool server_route_path(const char *label, char *out, size_t size);

/* telemetry.c: GET /telemetry, GET / DELETE /issues */
json_t *server_api_telemetry(server_call *call);
json_t *server_api_optimizations(server_call *call); /* GET /collections/{c}/optimizations */
json_t *server_api_issues_get(server_call *call);
json_t *server_api_issues_clear(server_call *call);

/* code.c: code search over the repository given by --repo */
json_t *server_api_code_search(server_call *call);
json_t *server_api_code_similar(server_call *call);
json_t *server_api_code_callers(server_call *call); /* POST /code/callers {target, limit} */
json_t *server_api_code_callees(server_call *call); /* POST /code/callees {target, limit} */
json_t *server_api_code_duplicates(server_call *call);
json_t *server_api_code_stats(server_call *call);   /* GET /code/stats: the web page's index view */
json_t *server_api_code_history(server_call *call); /* POST /code/history: commits and PRs of an entity */

/* ==== The web page (web.c; assets generated into web_assets.c at build time) ==== */

/* One file of the page, built into the binary from web/ and highlight.js. */
typedef struct server_web_asset {
    const char *name;         /* file name under /ui/ ("index.html", "app.js", "hljs-python.js") */
    const char *content_type; /* MIME type with charset */
    const unsigned char *data;/* bytes (static) */
    size_t size;              /* bytes in data */
} server_web_asset;

extern const server_web_asset server_web_assets[]; /* every asset, in web_assets.c */
extern const size_t server_web_n_assets;           /* entries in server_web_assets */

/* true when an Accept header value prefers text/html to JSON: text/html is
** listed with a q above that of application/json, "application/ *" and "* / *"
** (a browser's navigation; curl and Qdrant's clients send * / * or JSON). */
bool server_web_prefers_html(const char *accept);
/* Fill resp with the asset `name` (index.html for NULL or ""), or a 404
** JSON error naming it. */
void server_web_serve(const char *name, server_response *resp);

/* jobs_api.c: backfill jobs */
json_t *server_api_jobs_submit(server_call *call);
json_t *server_api_jobs_list(server_call *call);
json_t *server_api_job_get(server_call *call);
json_t *server_api_job_cancel(server_call *call);

/* query.c */
json_t *server_api_query(server_call *call);
json_t *server_api_query_batch(server_call *call);
json_t *server_api_search(server_call *call);
json_t *server_api_search_batch(server_call *call);
json_t *server_api_recommend(server_call *call);
json_t *server_api_recommend_batch(server_call *call);
/* POST /points/discover and /points/discover/batch (Qdrant's legacy discovery and context search). */
json_t *server_api_discover(server_call *call);
json_t *server_api_discover_batch(server_call *call);
json_t *server_api_matrix_pairs(server_call *call);
json_t *server_api_matrix_offsets(server_call *call);

/* query_groups.c */
json_t *server_api_query_groups(server_call *call);
json_t *server_api_search_groups(server_call *call);
json_t *server_api_recommend_groups(server_call *call);

/* ==== MCP (mcp_http.c) ==== */

/* POST / DELETE /mcp: the Streamable HTTP transport of the MCP server. Fills
** resp (JSON-RPC bodies, not Qdrant's envelope) after authentication. */
void server_mcp_handle(server_call *call, server_response *resp);

#endif /* SC_SERVER_INT_H */
