/*
** server/grpc.c: Qdrant's gRPC API (services qdrant.Qdrant, Collections,
** Points, Snapshots) next to the REST server, on gRPC's C core
** (grpc/grpc.h) and the protobuf-c code generated from Qdrant's .proto
** descriptors. Methods REST has no endpoint for answer UNIMPLEMENTED with
** the reason (grpc__unserved).
**
** Every served method is translated to the REST request that does the same
** (method, path, query arguments `wait` and `timeout`, JSON body: see
** grpc_conv.c) and run by server_handle, so gRPC and REST share the engine
** calls, the validation and its messages, the API keys (`api-key` or
** `authorization: Bearer` metadata), tenants, metrics and the access log.
** The REST answer is turned back into the gRPC reply; an error's HTTP status
** becomes a gRPC status code (server_grpc_code) with REST's message.
**
** DESIGN
** - n worker threads, each with its own completion queue registered with
**   the server: a worker asks for one call, handles it to completion with
**   blocking batches on its queue (read the request; send metadata, reply
**   and status), then asks for the next. So at most n calls run at once,
**   as with the HTTP pool, and a queue never holds two operations.
** - Shutdown: server_grpc_stop calls grpc_server_shutdown_and_notify, which
**   fails the workers' pending requests (they exit) and lets calls in
**   flight finish; then the queues are drained and destroyed. The caller
**   has already blocked SIGINT/SIGTERM/SIGPIPE, so gRPC's own threads,
**   created by grpc_init in that thread, never take them.
*/
#include "server/grpc_int.h"
#include "server/server.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== ThreadSanitizer ==== */

#if defined(__SANITIZE_THREAD__)
/* Debian's gRPC and Abseil are not built with ThreadSanitizer: their own
** synchronisation (atomics inside the libraries) is invisible to it, so it
** reports races between gRPC's internal threads that are not ours. Reports
** with a frame in those libraries are suppressed; a race in semcode's code
** between its own threads still has no such frame. Read by the TSan runtime
** at start-up (hence exported from the executable). */
__attribute__((visibility("default"))) const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void) {
    return "race:libgrpc.so\nrace:libgpr.so\nrace:libabsl_\nrace:libupb.so\n"
           "deadlock:libgrpc.so\ndeadlock:libabsl_\n";
}
#endif

/* ==== Status codes ==== */

int server_grpc_code(int http_status) {
    switch (http_status) {
    case 200: return GRPC_STATUS_OK;
    case 400: case 413: case 422: return GRPC_STATUS_INVALID_ARGUMENT;
    case 401: return GRPC_STATUS_UNAUTHENTICATED;
    case 403: return GRPC_STATUS_PERMISSION_DENIED;
    case 404: return GRPC_STATUS_NOT_FOUND;
    case 409: return GRPC_STATUS_ALREADY_EXISTS;
    case 429: return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case 501: return GRPC_STATUS_UNIMPLEMENTED;
    case 503: return GRPC_STATUS_UNAVAILABLE;
    default: return GRPC_STATUS_INTERNAL;
    }
}

/* ==== One call ==== */

/* State of one gRPC call while its method runs. */
typedef struct grpc_req {
    server_ctx *ctx;          /* server */
    const char *api_key;      /* `api-key` metadata (owned copy), NULL if absent */
    const char *bearer;       /* `authorization` metadata (owned copy), NULL if absent */
    char wait[8];             /* query argument `wait` of the REST request ("" = absent) */
    char timeout[24];         /* query argument `timeout` ("" = absent) */
    double started;           /* when the call was read (the replies' `time`) */
    grpc_arena arena;         /* the reply's memory */
    ProtobufCMessage *reply;  /* the reply (in arena), NULL after an error */
    grpc_status_code code;    /* status of the call */
    char msg[1024];           /* its message when not OK */
} grpc_req;

/* Record an error status (the first wins) and return NULL. */
static void *grpc__fail(grpc_req *r, grpc_status_code code, const char *msg) {
    if (r->code == GRPC_STATUS_OK) {
        r->code = code;
        snprintf(r->msg, sizeof r->msg, "%s", msg);
    }
    return NULL;
}

/* server_request.arg over the call's `wait` and `timeout`. */
static const char *grpc__arg(const void *arg_ctx, const char *name) {
    const grpc_req *r = arg_ctx;
    if (!strcmp(name, "wait")) return r->wait[0] ? r->wait : NULL;
    if (!strcmp(name, "timeout")) return r->timeout[0] ? r->timeout : NULL;
    return NULL;
}

/* Append name to the path in buf percent-encoded (as one path segment). */
static void grpc__path_segment(util_buf *buf, const char *name) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            util_buf_append(buf, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            util_buf_append(buf, e, 3);
        }
    }
}

/* ==== Methods ==== */

/* What a method's reply is made of (the REST result's shape). */
typedef enum grpc_reply {
    GRPC_REPLY_HEALTH,      /* HealthCheckReply from GET / */
    GRPC_REPLY_LIST,        /* ListCollectionsResponse */
    GRPC_REPLY_INFO,        /* GetCollectionInfoResponse */
    GRPC_REPLY_COLL_OP,     /* CollectionOperationResponse {result: bool} */
    GRPC_REPLY_EXISTS,      /* CollectionExistsResponse */
    GRPC_REPLY_POINTS_OP,   /* PointsOperationResponse {result: UpdateResult} */
    GRPC_REPLY_GET,         /* GetResponse */
    GRPC_REPLY_SCROLL,      /* ScrollResponse */
    GRPC_REPLY_COUNT,       /* CountResponse */
    GRPC_REPLY_SEARCH,      /* SearchResponse */
    GRPC_REPLY_QUERY,       /* QueryResponse */
    GRPC_REPLY_GENERIC,     /* grpc_method.resp built from the REST result by field names (grpc_conv_from_json) */
} grpc_reply;

/* How a request's JSON becomes the REST body. */
enum {
    GRPC_BODY_NONE = 1,      /* no body (GET, DELETE) */
    GRPC_BODY_SELECTOR = 2,  /* the body is the `points` selector field */
    GRPC_BODY_FLATTEN = 4,   /* merge the `points_selector` field into the body */
    GRPC_BODY_SEARCH = 8,    /* SearchPoints: vector + vector_name (+ sparse indices) -> REST `vector` */
    GRPC_BODY_INDEX = 16,    /* CreateFieldIndex: field_type -> field_schema */
    GRPC_BODY_BATCH = 32,    /* the request's repeated requests (search_, query_, recommend_, discover_points) -> REST `searches` */
    GRPC_BODY_RECOMMEND = 64,/* positive/negative_vectors join positive/negative; lookup_from as REST names it
                                (recommend and discover requests) */
    GRPC_BODY_VECTORS = 128, /* DeletePointVectors: `vectors` (the names) -> REST `vector` */
    GRPC_REPLY_BATCHES = 256,/* GENERIC reply: each element of the REST array becomes a BatchResult */
    GRPC_BODY_VECTOR_NAME = 512, /* CreateVectorName: {dense|sparse}_config -> REST {dense|sparse} (name in the path) */
};

/* One served method: the gRPC path, its request type, the REST call that does it. */
typedef struct grpc_method {
    const char *path;                         /* "/qdrant.Points/Upsert" */
    const ProtobufCMessageDescriptor *req;    /* request message type */
    const char *http;                         /* REST method */
    const char *rest;                         /* REST path; a {field} segment is that request field, percent-encoded */
    grpc_reply reply;                         /* reply type */
    unsigned flags;                           /* GRPC_BODY_*, GRPC_REPLY_BATCHES */
    const ProtobufCMessageDescriptor *resp;   /* GRPC_REPLY_GENERIC: the reply message type */
    const char *wrap;                         /* GRPC_REPLY_GENERIC: the reply field that holds the REST result
                                                 (NULL: the result's members are the reply's fields) */
} grpc_method;

#define GRPC_C "/collections/{collection_name}"
static const grpc_method grpc__methods[] = {
    {"/qdrant.Qdrant/HealthCheck", &qdrant__health_check_request__descriptor, "GET", "/", GRPC_REPLY_HEALTH,
     GRPC_BODY_NONE, NULL, NULL},
    {"/qdrant.Collections/List", &qdrant__list_collections_request__descriptor, "GET", "/collections",
     GRPC_REPLY_LIST, GRPC_BODY_NONE, NULL, NULL},
    {"/qdrant.Collections/Get", &qdrant__get_collection_info_request__descriptor, "GET", GRPC_C, GRPC_REPLY_INFO,
     GRPC_BODY_NONE, NULL, NULL},
    {"/qdrant.Collections/Create", &qdrant__create_collection__descriptor, "PUT", GRPC_C, GRPC_REPLY_COLL_OP, 0,
     NULL, NULL},
    {"/qdrant.Collections/Delete", &qdrant__delete_collection__descriptor, "DELETE", GRPC_C, GRPC_REPLY_COLL_OP,
     GRPC_BODY_NONE, NULL, NULL},
    {"/qdrant.Collections/CollectionExists", &qdrant__collection_exists_request__descriptor, "GET",
     GRPC_C "/exists", GRPC_REPLY_EXISTS, GRPC_BODY_NONE, NULL, NULL},
    {"/qdrant.Points/Upsert", &qdrant__upsert_points__descriptor, "PUT", GRPC_C "/points", GRPC_REPLY_POINTS_OP, 0,
     NULL, NULL},
    {"/qdrant.Points/Delete", &qdrant__delete_points__descriptor, "POST", GRPC_C "/points/delete",
     GRPC_REPLY_POINTS_OP, GRPC_BODY_SELECTOR, NULL, NULL},
    {"/qdrant.Points/Get", &qdrant__get_points__descriptor, "POST", GRPC_C "/points", GRPC_REPLY_GET, 0, NULL, NULL},
    {"/qdrant.Points/SetPayload", &qdrant__set_payload_points__descriptor, "POST", GRPC_C "/points/payload",
     GRPC_REPLY_POINTS_OP, GRPC_BODY_FLATTEN, NULL, NULL},
    {"/qdrant.Points/OverwritePayload", &qdrant__set_payload_points__descriptor, "PUT", GRPC_C "/points/payload",
     GRPC_REPLY_POINTS_OP, GRPC_BODY_FLATTEN, NULL, NULL},
    {"/qdrant.Points/DeletePayload", &qdrant__delete_payload_points__descriptor, "POST",
     GRPC_C "/points/payload/delete", GRPC_REPLY_POINTS_OP, GRPC_BODY_FLATTEN, NULL, NULL},
    {"/qdrant.Points/ClearPayload", &qdrant__clear_payload_points__descriptor, "POST", GRPC_C "/points/payload/clear",
     GRPC_REPLY_POINTS_OP, GRPC_BODY_SELECTOR, NULL, NULL},
    {"/qdrant.Points/CreateFieldIndex", &qdrant__create_field_index_collection__descriptor, "PUT", GRPC_C "/index",
     GRPC_REPLY_POINTS_OP, GRPC_BODY_INDEX, NULL, NULL},
    {"/qdrant.Points/DeleteFieldIndex", &qdrant__delete_field_index_collection__descriptor, "DELETE",
     GRPC_C "/index/{field_name}", GRPC_REPLY_POINTS_OP, GRPC_BODY_NONE, NULL, NULL},
    {"/qdrant.Points/Search", &qdrant__search_points__descriptor, "POST", GRPC_C "/points/search", GRPC_REPLY_SEARCH,
     GRPC_BODY_SEARCH, NULL, NULL},
    {"/qdrant.Points/Query", &qdrant__query_points__descriptor, "POST", GRPC_C "/points/query", GRPC_REPLY_QUERY, 0,
     NULL, NULL},
    {"/qdrant.Points/Scroll", &qdrant__scroll_points__descriptor, "POST", GRPC_C "/points/scroll", GRPC_REPLY_SCROLL,
     0, NULL, NULL},
    {"/qdrant.Points/Count", &qdrant__count_points__descriptor, "POST", GRPC_C "/points/count", GRPC_REPLY_COUNT, 0,
     NULL, NULL},
    /* the order above is the fuzz corpus's method byte (tests/fuzz/fuzz_grpc.c): add new methods below */
    {"/qdrant.Snapshots/Create", &qdrant__create_snapshot_request__descriptor, "POST", GRPC_C "/snapshots",
     GRPC_REPLY_GENERIC, GRPC_BODY_NONE, &qdrant__create_snapshot_response__descriptor, "snapshot_description"},
    {"/qdrant.Snapshots/List", &qdrant__list_snapshots_request__descriptor, "GET", GRPC_C "/snapshots",
     GRPC_REPLY_GENERIC, GRPC_BODY_NONE, &qdrant__list_snapshots_response__descriptor, "snapshot_descriptions"},
    {"/qdrant.Snapshots/Delete", &qdrant__delete_snapshot_request__descriptor, "DELETE",
     GRPC_C "/snapshots/{snapshot_name}", GRPC_REPLY_GENERIC, GRPC_BODY_NONE,
     &qdrant__delete_snapshot_response__descriptor, NULL},
    {"/qdrant.Snapshots/CreateFull", &qdrant__create_full_snapshot_request__descriptor, "POST", "/snapshots",
     GRPC_REPLY_GENERIC, GRPC_BODY_NONE, &qdrant__create_snapshot_response__descriptor, "snapshot_description"},
    {"/qdrant.Snapshots/ListFull", &qdrant__list_full_snapshots_request__descriptor, "GET", "/snapshots",
     GRPC_REPLY_GENERIC, GRPC_BODY_NONE, &qdrant__list_snapshots_response__descriptor, "snapshot_descriptions"},
    {"/qdrant.Snapshots/DeleteFull", &qdrant__delete_full_snapshot_request__descriptor, "DELETE",
     "/snapshots/{snapshot_name}", GRPC_REPLY_GENERIC, GRPC_BODY_NONE, &qdrant__delete_snapshot_response__descriptor,
     NULL},
    {"/qdrant.Points/SearchBatch", &qdrant__search_batch_points__descriptor, "POST", GRPC_C "/points/search/batch",
     GRPC_REPLY_GENERIC, GRPC_BODY_BATCH | GRPC_BODY_SEARCH | GRPC_REPLY_BATCHES,
     &qdrant__search_batch_response__descriptor, "result"},
    {"/qdrant.Points/QueryBatch", &qdrant__query_batch_points__descriptor, "POST", GRPC_C "/points/query/batch",
     GRPC_REPLY_GENERIC, GRPC_BODY_BATCH | GRPC_REPLY_BATCHES, &qdrant__query_batch_response__descriptor, "result"},
    {"/qdrant.Points/SearchGroups", &qdrant__search_point_groups__descriptor, "POST", GRPC_C "/points/search/groups",
     GRPC_REPLY_GENERIC, GRPC_BODY_SEARCH, &qdrant__search_groups_response__descriptor, "result"},
    {"/qdrant.Points/QueryGroups", &qdrant__query_point_groups__descriptor, "POST", GRPC_C "/points/query/groups",
     GRPC_REPLY_GENERIC, 0, &qdrant__query_groups_response__descriptor, "result"},
    {"/qdrant.Points/Recommend", &qdrant__recommend_points__descriptor, "POST", GRPC_C "/points/recommend",
     GRPC_REPLY_GENERIC, GRPC_BODY_RECOMMEND, &qdrant__recommend_response__descriptor, "result"},
    {"/qdrant.Points/RecommendGroups", &qdrant__recommend_point_groups__descriptor, "POST",
     GRPC_C "/points/recommend/groups", GRPC_REPLY_GENERIC, GRPC_BODY_RECOMMEND,
     &qdrant__recommend_groups_response__descriptor, "result"},
    {"/qdrant.Points/Facet", &qdrant__facet_counts__descriptor, "POST", GRPC_C "/facet", GRPC_REPLY_GENERIC, 0,
     &qdrant__facet_response__descriptor, NULL},
    {"/qdrant.Points/UpdateVectors", &qdrant__update_point_vectors__descriptor, "PUT", GRPC_C "/points/vectors",
     GRPC_REPLY_POINTS_OP, 0, NULL, NULL},
    {"/qdrant.Points/DeleteVectors", &qdrant__delete_point_vectors__descriptor, "POST",
     GRPC_C "/points/vectors/delete", GRPC_REPLY_POINTS_OP, GRPC_BODY_FLATTEN | GRPC_BODY_VECTORS, NULL, NULL},
    {"/qdrant.Points/UpdateBatch", &qdrant__update_batch_points__descriptor, "POST", GRPC_C "/points/batch",
     GRPC_REPLY_GENERIC, 0, &qdrant__update_batch_response__descriptor, "result"},
    {"/qdrant.Points/SearchMatrixPairs", &qdrant__search_matrix_points__descriptor, "POST",
     GRPC_C "/points/search/matrix/pairs", GRPC_REPLY_GENERIC, 0, &qdrant__search_matrix_pairs_response__descriptor,
     "result"},
    {"/qdrant.Points/SearchMatrixOffsets", &qdrant__search_matrix_points__descriptor, "POST",
     GRPC_C "/points/search/matrix/offsets", GRPC_REPLY_GENERIC, 0,
     &qdrant__search_matrix_offsets_response__descriptor, "result"},
    {"/qdrant.Collections/Update", &qdrant__update_collection__descriptor, "PATCH", GRPC_C, GRPC_REPLY_COLL_OP, 0,
     NULL, NULL},
    {"/qdrant.Collections/UpdateAliases", &qdrant__change_aliases__descriptor, "POST", "/collections/aliases",
     GRPC_REPLY_COLL_OP, 0, NULL, NULL},
    {"/qdrant.Collections/ListCollectionAliases", &qdrant__list_collection_aliases_request__descriptor, "GET",
     GRPC_C "/aliases", GRPC_REPLY_GENERIC, GRPC_BODY_NONE, &qdrant__list_aliases_response__descriptor, NULL},
    {"/qdrant.Collections/ListAliases", &qdrant__list_aliases_request__descriptor, "GET", "/aliases",
     GRPC_REPLY_GENERIC, GRPC_BODY_NONE, &qdrant__list_aliases_response__descriptor, NULL},
    {"/qdrant.Points/CreateVectorName", &qdrant__create_vector_name_request__descriptor, "PUT",
     GRPC_C "/vectors/{vector_name}", GRPC_REPLY_POINTS_OP, GRPC_BODY_VECTOR_NAME, NULL, NULL},
    {"/qdrant.Points/DeleteVectorName", &qdrant__delete_vector_name_request__descriptor, "DELETE",
     GRPC_C "/vectors/{vector_name}", GRPC_REPLY_POINTS_OP, GRPC_BODY_NONE, NULL, NULL},
    {"/qdrant.Points/RecommendBatch", &qdrant__recommend_batch_points__descriptor, "POST",
     GRPC_C "/points/recommend/batch", GRPC_REPLY_GENERIC, GRPC_BODY_BATCH | GRPC_BODY_RECOMMEND | GRPC_REPLY_BATCHES,
     &qdrant__recommend_batch_response__descriptor, "result"},
    {"/qdrant.Points/Discover", &qdrant__discover_points__descriptor, "POST", GRPC_C "/points/discover",
     GRPC_REPLY_GENERIC, GRPC_BODY_RECOMMEND, &qdrant__discover_response__descriptor, "result"},
    {"/qdrant.Points/DiscoverBatch", &qdrant__discover_batch_points__descriptor, "POST",
     GRPC_C "/points/discover/batch", GRPC_REPLY_GENERIC, GRPC_BODY_BATCH | GRPC_BODY_RECOMMEND | GRPC_REPLY_BATCHES,
     &qdrant__discover_batch_response__descriptor, "result"},
    {"/qdrant.Collections/CollectionClusterInfo", &qdrant__collection_cluster_info_request__descriptor, "GET",
     GRPC_C "/cluster", GRPC_REPLY_GENERIC, GRPC_BODY_NONE, &qdrant__collection_cluster_info_response__descriptor,
     NULL},
};
#undef GRPC_C

/* Methods of Qdrant's services that semcode does not serve, and why (the
** UNIMPLEMENTED message); any other unknown method gets a generic one. */
static const struct {
    const char *path; /* gRPC method */
    const char *why;  /* the reason, for the caller */
} grpc__unserved[] = {
    {"/qdrant.Collections/UpdateCollectionClusterSetup", "it is a single node without shards or a cluster API"},
    {"/qdrant.Collections/CreateShardKey", "it is a single node without shard keys"},
    {"/qdrant.Collections/DeleteShardKey", "it is a single node without shard keys"},
    {"/qdrant.Collections/ListShardKeys", "it is a single node without shard keys"},
};

/* Request fields that are not part of REST's body: the path, query
** arguments, and cluster options a single-node store has no use for. */
static const char *const grpc__meta_fields[] = {"collection_name", "wait",  "timeout",   "ordering",
                                                "read_consistency", "shard_key_selector", "field_name",
                                                "snapshot_name"};

/* Run the REST request of method mt (path, body: owned, may be NULL) through
** server_handle. Returns the owned `result` of the answer, or NULL after
** recording its error as the call's status. */
static json_t *grpc__rest(grpc_req *r, const grpc_method *mt, const char *path, json_t *body) {
    server_request req = {0};
    req.method = mt->http;
    req.grpc_method = mt->path; /* metrics and the access log count the call under its gRPC name */
    req.path = path;
    req.body_json = body; /* handed over parsed: no JSON text in between */
    req.api_key = r->api_key;
    req.bearer = r->bearer;
    req.arg = grpc__arg;
    req.arg_ctx = r;
    server_response resp = {0};
    server_handle(r->ctx, &req, &resp);
    json_decref(body);
    json_t *root = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
    json_t *result = NULL;
    if (resp.status == 200) {
        /* Qdrant's envelope {"result": ...}; GET / answers without one */
        result = json_incref(json_object_get(root, "result"));
        if (!result) result = json_incref(root);
        if (!result) grpc__fail(r, GRPC_STATUS_INTERNAL, "the server's answer is not JSON");
    } else {
        const json_t *err = json_object_get(json_object_get(root, "status"), "error");
        grpc__fail(r, (grpc_status_code)server_grpc_code(resp.status),
                   json_is_string(err) ? json_string_value(err) : "request failed");
    }
    json_decref(root);
    server_response_free(&resp);
    return result;
}

/* Append the vectors of j's array `from` (a recommend request's
** positive_vectors / negative_vectors) to its array `to`, as REST mixes ids
** and vectors in one list. */
static void grpc__join_examples(json_t *j, const char *from, const char *to) {
    json_t *v = json_object_get(j, from);
    if (!json_is_array(v)) return;
    json_t *list = json_object_get(j, to);
    if (!json_is_array(list)) json_object_set_new(j, to, list = json_array());
    json_array_extend(list, v);
    json_object_del(j, from);
}

/* The REST body of request JSON j (owned, consumed) with the GRPC_BODY_*
** flags (owned; NULL for none). */
static json_t *grpc__body(unsigned flags, json_t *j) {
    if (flags & GRPC_BODY_BATCH) { /* {search|query|recommend|discover_points: [...]} -> {searches: [...]} */
        static const char *const lists[] = {"search_points", "query_points", "recommend_points", "discover_points"};
        json_t *list = NULL;
        for (size_t i = 0; !list && i < sizeof lists / sizeof *lists; i++) list = json_object_get(j, lists[i]);
        json_t *searches = json_array();
        for (size_t i = 0; i < json_array_size(list); i++)
            json_array_append_new(searches, grpc__body(flags & ~(unsigned)GRPC_BODY_BATCH,
                                                       json_incref(json_array_get(list, i))));
        json_decref(j);
        return json_pack("{s:o}", "searches", searches);
    }
    for (size_t i = 0; i < sizeof grpc__meta_fields / sizeof *grpc__meta_fields; i++) {
        if (!strcmp(grpc__meta_fields[i], "field_name") && (flags & GRPC_BODY_INDEX)) continue;
        json_object_del(j, grpc__meta_fields[i]);
    }
    grpc_conv_rename(j, "with_vectors", "with_vector");
    grpc_conv_rename(j, "vectors_config", "vectors"); /* CreateCollection, UpdateCollection */
    if (json_object_get(j, "sparse_vectors_config")) {
        json_t *s = json_object_get(json_object_get(j, "sparse_vectors_config"), "map");
        if (s) json_object_set(j, "sparse_vectors", s);
        json_object_del(j, "sparse_vectors_config");
    }
    if (flags & GRPC_BODY_SELECTOR) {
        json_t *sel = json_incref(json_object_get(j, "points"));
        json_decref(j);
        return sel ? sel : json_object();
    }
    if (flags & GRPC_BODY_FLATTEN) {
        json_t *sel = json_object_get(j, "points_selector");
        if (sel) json_object_update(j, sel);
        json_object_del(j, "points_selector");
    }
    if (flags & GRPC_BODY_VECTORS) grpc_conv_rename(j, "vectors", "vector");
    if (flags & GRPC_BODY_VECTOR_NAME) {
        json_object_del(j, "vector_name");
        grpc_conv_rename(j, "dense_config", "dense");
        grpc_conv_rename(j, "sparse_config", "sparse");
    }
    if (flags & GRPC_BODY_INDEX) {
        json_t *t = json_object_get(j, "field_type");
        json_object_set_new(j, "field_schema", t ? json_incref(t) : json_string("keyword")); /* no leak of the default */
        json_object_del(j, "field_type");
        json_object_del(j, "field_index_params");
    }
    if (flags & GRPC_BODY_SEARCH) {
        json_t *v = json_incref(json_object_get(j, "vector"));
        if (!v) v = json_array();
        json_t *ix = json_object_get(j, "sparse_indices");
        if (ix) {
            json_t *sp = json_pack("{s:O,s:o}", "indices", json_object_get(ix, "data"), "values", v);
            v = sp;
        }
        json_t *name = json_object_get(j, "vector_name");
        if (name) v = json_pack("{s:O,s:o}", "name", name, "vector", v);
        json_object_set_new(j, "vector", v);
        json_object_del(j, "vector_name");
        json_object_del(j, "sparse_indices");
    }
    if (flags & GRPC_BODY_RECOMMEND) {
        grpc__join_examples(j, "positive_vectors", "positive");
        grpc__join_examples(j, "negative_vectors", "negative");
        json_t *from = json_object_get(j, "lookup_from"); /* LookupLocation: REST's {collection, vector} */
        grpc_conv_rename(from, "collection_name", "collection");
        grpc_conv_rename(from, "vector_name", "vector");
        if (from) json_object_del(from, "shard_key_selector");
    }
    return j;
}

/* The reply of method mt from the REST result (borrowed). */
static ProtobufCMessage *grpc__reply(grpc_req *r, const grpc_method *mt, const json_t *res) {
    grpc_arena *a = &r->arena;
    double took = util_now() - r->started;
    switch (mt->reply) {
    case GRPC_REPLY_HEALTH: {
        Qdrant__HealthCheckReply *h = grpc_arena_msg(a, &qdrant__health_check_reply__descriptor);
        if (!h) return NULL;
        const json_t *t = json_object_get(res, "title"), *v = json_object_get(res, "version"),
                     *c = json_object_get(res, "commit");
        h->title = grpc_arena_strdup(a, json_is_string(t) ? json_string_value(t) : "semcode");
        h->version = grpc_arena_strdup(a, json_is_string(v) ? json_string_value(v) : "");
        if (json_is_string(c)) {
            h->_commit_case = QDRANT__HEALTH_CHECK_REPLY___COMMIT_COMMIT;
            h->commit = grpc_arena_strdup(a, json_string_value(c));
        }
        return &h->base;
    }
    case GRPC_REPLY_LIST: {
        Qdrant__ListCollectionsResponse *l = grpc_arena_msg(a, &qdrant__list_collections_response__descriptor);
        const json_t *cs = json_object_get(res, "collections");
        size_t n = json_array_size(cs);
        if (!l || !(l->collections = grpc_arena_alloc(a, (n ? n : 1) * sizeof *l->collections))) return NULL;
        for (size_t i = 0; i < n; i++) {
            Qdrant__CollectionDescription *d = grpc_arena_msg(a, &qdrant__collection_description__descriptor);
            const json_t *name = json_object_get(json_array_get(cs, i), "name");
            if (!d || !(d->name = grpc_arena_strdup(a, json_is_string(name) ? json_string_value(name) : ""))) return NULL;
            l->collections[l->n_collections++] = d;
        }
        l->time = took;
        return &l->base;
    }
    case GRPC_REPLY_INFO: {
        Qdrant__GetCollectionInfoResponse *g = grpc_arena_msg(a, &qdrant__get_collection_info_response__descriptor);
        if (!g || !(g->result = grpc_conv_collection_info(a, res))) return NULL;
        g->time = took;
        return &g->base;
    }
    case GRPC_REPLY_COLL_OP: {
        Qdrant__CollectionOperationResponse *c = grpc_arena_msg(a, &qdrant__collection_operation_response__descriptor);
        if (!c) return NULL;
        c->result = json_is_true(res);
        c->time = took;
        return &c->base;
    }
    case GRPC_REPLY_EXISTS: {
        Qdrant__CollectionExistsResponse *e = grpc_arena_msg(a, &qdrant__collection_exists_response__descriptor);
        if (!e || !(e->result = grpc_arena_msg(a, &qdrant__collection_exists__descriptor))) return NULL;
        e->result->exists = json_is_true(json_object_get(res, "exists"));
        e->time = took;
        return &e->base;
    }
    case GRPC_REPLY_POINTS_OP: {
        Qdrant__PointsOperationResponse *p = grpc_arena_msg(a, &qdrant__points_operation_response__descriptor);
        if (!p || !(p->result = grpc_arena_msg(a, &qdrant__update_result__descriptor))) return NULL;
        const json_t *op = json_object_get(res, "operation_id");
        if (json_is_integer(op)) {
            p->result->_operation_id_case = QDRANT__UPDATE_RESULT___OPERATION_ID_OPERATION_ID;
            p->result->operation_id = (uint64_t)json_integer_value(op);
        }
        const json_t *st = json_object_get(res, "status");
        p->result->status = json_is_string(st) && !strcmp(json_string_value(st), "acknowledged")
                                ? QDRANT__UPDATE_STATUS__Acknowledged
                                : QDRANT__UPDATE_STATUS__Completed;
        p->time = took;
        return &p->base;
    }
    case GRPC_REPLY_GET: case GRPC_REPLY_SCROLL: {
        const json_t *pts = mt->reply == GRPC_REPLY_GET ? res : json_object_get(res, "points");
        size_t n = json_array_size(pts);
        Qdrant__RetrievedPoint **arr = grpc_arena_alloc(a, (n ? n : 1) * sizeof *arr);
        if (!arr) return NULL;
        for (size_t i = 0; i < n; i++)
            if (!(arr[i] = grpc_conv_retrieved(a, json_array_get(pts, i)))) return NULL;
        if (mt->reply == GRPC_REPLY_GET) {
            Qdrant__GetResponse *g = grpc_arena_msg(a, &qdrant__get_response__descriptor);
            if (!g) return NULL;
            g->result = arr;
            g->n_result = n;
            g->time = took;
            return &g->base;
        }
        Qdrant__ScrollResponse *s = grpc_arena_msg(a, &qdrant__scroll_response__descriptor);
        if (!s) return NULL;
        s->result = arr;
        s->n_result = n;
        if ((s->next_page_offset = grpc_conv_id(a, json_object_get(res, "next_page_offset"))))
            s->_next_page_offset_case = QDRANT__SCROLL_RESPONSE___NEXT_PAGE_OFFSET_NEXT_PAGE_OFFSET;
        s->time = took;
        return &s->base;
    }
    case GRPC_REPLY_COUNT: {
        Qdrant__CountResponse *c = grpc_arena_msg(a, &qdrant__count_response__descriptor);
        if (!c || !(c->result = grpc_arena_msg(a, &qdrant__count_result__descriptor))) return NULL;
        c->result->count = (uint64_t)json_integer_value(json_object_get(res, "count"));
        c->time = took;
        return &c->base;
    }
    case GRPC_REPLY_SEARCH: case GRPC_REPLY_QUERY: {
        const json_t *pts = mt->reply == GRPC_REPLY_SEARCH ? res : json_object_get(res, "points");
        size_t n = json_array_size(pts);
        Qdrant__ScoredPoint **arr = grpc_arena_alloc(a, (n ? n : 1) * sizeof *arr);
        if (!arr) return NULL;
        for (size_t i = 0; i < n; i++)
            if (!(arr[i] = grpc_conv_scored(a, json_array_get(pts, i)))) return NULL;
        if (mt->reply == GRPC_REPLY_SEARCH) {
            Qdrant__SearchResponse *s = grpc_arena_msg(a, &qdrant__search_response__descriptor);
            if (!s) return NULL;
            s->result = arr;
            s->n_result = n;
            s->time = took;
            return &s->base;
        }
        Qdrant__QueryResponse *q = grpc_arena_msg(a, &qdrant__query_response__descriptor);
        if (!q) return NULL;
        q->result = arr;
        q->n_result = n;
        q->time = took;
        return &q->base;
    }
    case GRPC_REPLY_GENERIC: {
        json_t *val = json_incref((json_t *)res);
        if (mt->flags & GRPC_REPLY_BATCHES) { /* [[hits] or {points}] -> [BatchResult {result}] */
            json_decref(val);
            val = json_array();
            for (size_t i = 0; i < json_array_size(res); i++) {
                const json_t *e = json_array_get(res, i);
                json_array_append_new(val, json_pack("{s:O}", "result", json_is_array(e) ? e : json_object_get(e, "points")));
            }
        }
        json_t *o = mt->wrap ? json_pack("{s:O}", mt->wrap, val) : json_is_object(val) ? json_copy(val) : json_object();
        json_decref(val);
        if (!o) return NULL;
        json_object_set_new(o, "time", json_real(took));
        ProtobufCMessage *m = grpc_conv_from_json(a, mt->resp, o);
        json_decref(o);
        return m;
    }
    }
    return NULL;
}

#define GRPC_MAX_DEPTH 64 /* deeper requests are refused before protobuf-c (which recurses) sees them */

/* Read a varint at *p (< end); false when truncated. */
static bool grpc__varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    *v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

/* true when the message of type d in [p, end) nests no deeper than
** GRPC_MAX_DEPTH (depth = its own level); malformed bytes pass (protobuf-c
** refuses them). The recursion stops at the limit, so the stack is bounded. */
static bool grpc__depth_ok(const uint8_t *p, const uint8_t *end, const ProtobufCMessageDescriptor *d, unsigned depth) {
    if (depth > GRPC_MAX_DEPTH) return false;
    while (p < end) {
        uint64_t key, v;
        if (!grpc__varint(&p, end, &key)) return true;
        switch (key & 7) {
        case 0: if (!grpc__varint(&p, end, &v)) return true; break;
        case 1: p += 8; break;
        case 5: p += 4; break;
        case 2: {
            if (!grpc__varint(&p, end, &v) || v > (uint64_t)(end - p)) return true;
            const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && !grpc__depth_ok(p, p + v, f->descriptor, depth + 1))
                return false;
            p += v;
            break;
        }
        default: return true;
        }
    }
    return true;
}

/* Run method mt on the serialized request in (n bytes): r->reply or r->code. */
static void grpc__run(grpc_req *r, const grpc_method *mt, const uint8_t *in, size_t n) {
    if (!grpc__depth_ok(in, in + n, mt->req, 1)) {
        grpc__fail(r, GRPC_STATUS_INVALID_ARGUMENT, "the request nests messages deeper than 64 levels");
        return;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(mt->req, NULL, n, in);
    if (!m) {
        grpc__fail(r, GRPC_STATUS_INVALID_ARGUMENT, "the request is not a valid protobuf message of its type");
        return;
    }
    json_t *j = grpc_conv_to_json(m);
    /* the REST path: the template's {field} segments are the request's fields */
    util_buf path = {0};
    for (const char *t = mt->rest; *t;) {
        const char *open = strchr(t, '{'), *close = open ? strchr(open, '}') : NULL;
        if (!close) {
            util_buf_puts(&path, t);
            break;
        }
        util_buf_append(&path, t, (size_t)(open - t));
        char field[64];
        snprintf(field, sizeof field, "%.*s", (int)(close - open - 1), open + 1);
        const json_t *v = json_object_get(j, field);
        if (!json_is_string(v) || !*json_string_value(v)) { /* proto3: an unset string is "" */
            char msg[128];
            snprintf(msg, sizeof msg, "the request's `%s` is empty: it must name one", field);
            grpc__fail(r, GRPC_STATUS_INVALID_ARGUMENT, msg);
            break;
        }
        grpc__path_segment(&path, json_string_value(v));
        t = close + 1;
    }
    /* wait and timeout are query arguments of the REST request */
    const ProtobufCFieldDescriptor *fw = protobuf_c_message_descriptor_get_field_by_name(mt->req, "wait");
    if (fw && (fw->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)((const char *)m + fw->quantifier_offset) == fw->id)
        snprintf(r->wait, sizeof r->wait, "%s", *(const protobuf_c_boolean *)((const char *)m + fw->offset) ? "true" : "false");
    const json_t *t = json_object_get(j, "timeout");
    if (json_is_integer(t)) snprintf(r->timeout, sizeof r->timeout, "%lld", (long long)json_integer_value(t));
    protobuf_c_message_free_unpacked(m, NULL);
    json_t *body = NULL;
    if ((mt->flags & GRPC_BODY_NONE) || r->code != GRPC_STATUS_OK) json_decref(j);
    else body = grpc__body(mt->flags, j);
    json_t *res = r->code != GRPC_STATUS_OK ? (json_decref(body), NULL)
                  : path.oom              ? grpc__fail(r, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory")
                                          : grpc__rest(r, mt, path.data, body);
    util_buf_free(&path);
    if (res) {
        r->reply = grpc__reply(r, mt, res);
        if (!r->reply || r->arena.oom) grpc__fail(r, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory building the reply");
        json_decref(res);
    }
}

/* ==== Transport ==== */

struct server_grpc {
    grpc_server *server;               /* the gRPC server */
    grpc_completion_queue *shutdown_cq;/* receives the shutdown notification */
    unsigned n_workers;                /* worker threads */
    struct grpc_worker *workers;       /* n_workers of them */
    server_ctx *ctx;                   /* borrowed request context */
};

/* One worker thread and its completion queue. */
typedef struct grpc_worker {
    server_grpc *g;             /* server */
    grpc_completion_queue *cq;  /* its queue (registered with the server) */
    pthread_t thread;           /* the thread */
    bool started;               /* thread was created */
} grpc_worker;

/* Copy a metadata value (owned, NUL-terminated). */
static char *grpc__slice_str(grpc_slice s) {
    size_t n = GRPC_SLICE_LENGTH(s);
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, GRPC_SLICE_START_PTR(s), n);
    p[n] = 0;
    return p;
}

static bool grpc__slice_eq(grpc_slice s, const char *lit) {
    size_t n = strlen(lit);
    return GRPC_SLICE_LENGTH(s) == n && !memcmp(GRPC_SLICE_START_PTR(s), lit, n);
}

/* Start a batch of ops on call and wait for it on cq; false when it failed. */
static bool grpc__batch(grpc_completion_queue *cq, grpc_call *call, const grpc_op *ops, size_t n) {
    static int tag;
    if (grpc_call_start_batch(call, ops, n, &tag, NULL) != GRPC_CALL_OK) return false;
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

const char *server_grpc_method(size_t i) {
    return i < sizeof grpc__methods / sizeof *grpc__methods ? grpc__methods[i].path : NULL;
}

int server_grpc_call(server_ctx *ctx, const char *method, size_t method_len, const uint8_t *in, size_t n,
                     const char *api_key, const char *bearer, uint8_t **reply, size_t *reply_size,
                     char msg[SERVER_GRPC_MSG_SIZE]) {
    grpc_req r = {.ctx = ctx, .api_key = api_key, .bearer = bearer, .code = GRPC_STATUS_OK, .started = util_now()};
    *reply = NULL;
    *reply_size = 0;
    msg[0] = 0;
    const grpc_method *mt = NULL;
    for (size_t i = 0; !mt && i < sizeof grpc__methods / sizeof *grpc__methods; i++)
        if (strlen(grpc__methods[i].path) == method_len && !memcmp(grpc__methods[i].path, method, method_len))
            mt = &grpc__methods[i];
    const char *why = "docs/API.md lists the methods it serves";
    for (size_t i = 0; !mt && i < sizeof grpc__unserved / sizeof *grpc__unserved; i++)
        if (strlen(grpc__unserved[i].path) == method_len && !memcmp(grpc__unserved[i].path, method, method_len))
            why = grpc__unserved[i].why;
    if (!mt) {
        snprintf(r.msg, sizeof r.msg, "semcode does not serve %.*s over gRPC: %s",
                 (int)(method_len > 200 ? 200 : method_len), method, why);
        r.code = GRPC_STATUS_UNIMPLEMENTED;
    } else {
        grpc__run(&r, mt, in, n);
    }
    if (r.code == GRPC_STATUS_OK && r.reply) {
        *reply_size = protobuf_c_message_get_packed_size(r.reply);
        *reply = malloc(*reply_size ? *reply_size : 1);
        if (*reply) protobuf_c_message_pack(r.reply, *reply);
        else grpc__fail(&r, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    }
    snprintf(msg, SERVER_GRPC_MSG_SIZE, "%s", r.code == GRPC_STATUS_OK ? "" : r.msg);
    grpc_arena_free(&r.arena);
    return (int)r.code;
}

/* Answer one call: read its request, run the method, send reply and status. */
static void grpc__serve_call(grpc_worker *w, grpc_call *call, const grpc_call_details *details,
                             const grpc_metadata_array *md) {
    char *api_key = NULL, *bearer = NULL;
    for (size_t i = 0; i < md->count; i++) {
        if (!api_key && grpc__slice_eq(md->metadata[i].key, "api-key")) api_key = grpc__slice_str(md->metadata[i].value);
        else if (!bearer && grpc__slice_eq(md->metadata[i].key, "authorization"))
            bearer = grpc__slice_str(md->metadata[i].value);
    }
    grpc_byte_buffer *in = NULL;
    grpc_op recv = {0};
    recv.op = GRPC_OP_RECV_MESSAGE;
    recv.data.recv_message.recv_message = &in;
    bool ok = grpc__batch(w->cq, call, &recv, 1);

    int code = GRPC_STATUS_INVALID_ARGUMENT;
    char msg[SERVER_GRPC_MSG_SIZE] = "no request message";
    uint8_t *reply = NULL;
    size_t reply_size = 0;
    grpc_byte_buffer_reader rd;
    if (!ok || !in) {
        /* code and msg as set */
    } else if (!grpc_byte_buffer_reader_init(&rd, in)) {
        snprintf(msg, sizeof msg, "cannot decompress the request");
    } else {
        grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
        grpc_byte_buffer_reader_destroy(&rd);
        code = server_grpc_call(w->g->ctx, (const char *)GRPC_SLICE_START_PTR(details->method),
                                GRPC_SLICE_LENGTH(details->method), GRPC_SLICE_START_PTR(all),
                                GRPC_SLICE_LENGTH(all), api_key, bearer, &reply, &reply_size, msg);
        grpc_slice_unref(all);
    }
    if (in) grpc_byte_buffer_destroy(in);

    grpc_byte_buffer *out = NULL;
    if (code == GRPC_STATUS_OK && reply) {
        grpc_slice s = grpc_slice_from_copied_buffer((const char *)reply, reply_size);
        out = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
    }
    free(reply);
    grpc_slice details_slice = grpc_slice_from_copied_string(msg);
    int cancelled = 0;
    grpc_op ops[4] = {0};
    size_t n_ops = 0;
    ops[n_ops++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (out) {
        ops[n_ops].op = GRPC_OP_SEND_MESSAGE;
        ops[n_ops++].data.send_message.send_message = out;
    }
    ops[n_ops].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n_ops].data.send_status_from_server.status = (grpc_status_code)code;
    ops[n_ops++].data.send_status_from_server.status_details = &details_slice;
    ops[n_ops].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n_ops++].data.recv_close_on_server.cancelled = &cancelled;
    grpc__batch(w->cq, call, ops, n_ops);
    grpc_slice_unref(details_slice);
    if (out) grpc_byte_buffer_destroy(out);
    free(api_key);
    free(bearer);
}

static void *grpc__worker_main(void *arg) {
    grpc_worker *w = arg;
    for (;;) {
        grpc_call *call = NULL;
        grpc_call_details details;
        grpc_metadata_array md;
        grpc_call_details_init(&details);
        grpc_metadata_array_init(&md);
        static int tag;
        bool got = false;
        if (grpc_server_request_call(w->g->server, &call, &details, &md, w->cq, w->cq, &tag) == GRPC_CALL_OK) {
            grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
            got = ev.type == GRPC_OP_COMPLETE && ev.success;
        }
        if (got) grpc__serve_call(w, call, &details, &md);
        if (call) grpc_call_unref(call);
        grpc_call_details_destroy(&details);
        grpc_metadata_array_destroy(&md);
        if (!got) break; /* the server is shutting down */
    }
    return NULL;
}

sc_status server_grpc_start(server_ctx *ctx, const char *host, unsigned port, unsigned n_threads,
                            server_grpc **out, unsigned *bound, sc_err *err) {
    *out = NULL;
    server_grpc *g = calloc(1, sizeof *g);
    if (!g) return sc_err_set(err, SC_NOMEM, "out of memory");
    grpc_init();
    g->ctx = ctx;
    g->n_workers = n_threads ? n_threads : 1;
    g->workers = calloc(g->n_workers, sizeof *g->workers);
    /* messages as large as the REST body limit; no SO_REUSEPORT (gRPC's default), so a port
    ** another server holds is an error instead of two servers sharing it */
    grpc_arg args[3] = {{.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH},
                        {.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH},
                        {.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_ALLOW_REUSEPORT}};
    args[0].value.integer = ctx->cfg.max_body_bytes > INT32_MAX ? INT32_MAX : (int)ctx->cfg.max_body_bytes;
    args[1].value.integer = -1;
    args[2].value.integer = 0;
    grpc_channel_args chargs = {.num_args = 3, .args = args};
    g->server = grpc_server_create(&chargs, NULL);
    g->shutdown_cq = grpc_completion_queue_create_for_next(NULL);
    if (!g->workers || !g->server || !g->shutdown_cq) {
        server_grpc_stop(g);
        return sc_err_set(err, SC_NOMEM, "out of memory");
    }
    grpc_server_register_completion_queue(g->server, g->shutdown_cq, NULL);
    for (unsigned i = 0; i < g->n_workers; i++) {
        g->workers[i].g = g;
        g->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(g->server, g->workers[i].cq, NULL);
    }
    char addr[300];
    snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    int p = grpc_server_add_http2_port(g->server, addr, creds);
    grpc_server_credentials_release(creds);
    if (p <= 0) {
        server_grpc_stop(g);
        return sc_err_set(err, SC_IOERR, "cannot listen for gRPC on %s (address in use or not available)", addr);
    }
    grpc_server_start(g->server);
    for (unsigned i = 0; i < g->n_workers; i++)
        g->workers[i].started = pthread_create(&g->workers[i].thread, NULL, grpc__worker_main, &g->workers[i]) == 0;
    *bound = (unsigned)p;
    *out = g;
    return SC_OK;
}

void server_grpc_stop(server_grpc *g) {
    if (!g) return;
    if (g->server && g->shutdown_cq) {
        static int tag;
        grpc_server_shutdown_and_notify(g->server, g->shutdown_cq, &tag);
        grpc_completion_queue_next(g->shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    for (unsigned i = 0; g->workers && i < g->n_workers; i++)
        if (g->workers[i].started) pthread_join(g->workers[i].thread, NULL);
    if (g->server) grpc_server_destroy(g->server);
    for (unsigned i = 0; g->workers && i < g->n_workers; i++) {
        grpc_completion_queue *cq = g->workers[i].cq;
        if (!cq) continue;
        grpc_completion_queue_shutdown(cq);
        while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN) {
        }
        grpc_completion_queue_destroy(cq);
    }
    if (g->shutdown_cq) {
        grpc_completion_queue_shutdown(g->shutdown_cq);
        while (grpc_completion_queue_next(g->shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
               GRPC_QUEUE_SHUTDOWN) {
        }
        grpc_completion_queue_destroy(g->shutdown_cq);
    }
    free(g->workers);
    free(g);
    grpc_shutdown();
}
