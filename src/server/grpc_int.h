/*
** server/grpc_int.h: private interface between the files of the gRPC front
** end: grpc.c (transport, method table) and grpc_conv.c (protobuf <-> JSON).
** Only src/server/grpc*.c include it; it needs the protobuf-c code generated
** into $(BUILD)/gen/qdrant/ (src/server/module.mk).
*/
#ifndef SC_SERVER_GRPC_INT_H
#define SC_SERVER_GRPC_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "qdrant.pb-c.h"

/* ==== Arena (reply messages) ==== */

/* Memory of one reply: every message and string of it is allocated here and
** released at once when the call ends (protobuf-c messages built by hand
** have no destructor of their own). */
typedef struct grpc_arena {
    struct grpc_arena_block *head; /* newest block first */
    bool oom;                      /* an allocation failed: the reply is INTERNAL */
} grpc_arena;

/* size zeroed bytes (16-aligned) from a; NULL (and a->oom) when out of memory. */
void *grpc_arena_alloc(grpc_arena *a, size_t size);
/* A copy of s in a (NULL when out of memory). */
char *grpc_arena_strdup(grpc_arena *a, const char *s);
/* A new message of type desc in a, initialised to its defaults. */
void *grpc_arena_msg(grpc_arena *a, const ProtobufCMessageDescriptor *desc);
/* Release every block; the arena may be reused. */
void grpc_arena_free(grpc_arena *a);

/* ==== Requests: protobuf -> Qdrant REST JSON ==== */

/* The JSON that Qdrant's REST API takes for the same data as message m
** (owned; NULL when out of memory): field names as in the .proto (which are
** REST's), oneofs flattened to their set member, maps as objects, and the
** shapes that differ (ids, payload values, vectors, selectors, conditions,
** matches) rewritten as REST spells them. */
json_t *grpc_conv_to_json(const ProtobufCMessage *m);
/* Move member `from` of object o to `to` (nothing when absent). */
void grpc_conv_rename(json_t *o, const char *from, const char *to);

/* ==== Replies: REST JSON -> protobuf ==== */

/* A PointId from a REST id (integer or UUID string); NULL on another shape. */
Qdrant__PointId *grpc_conv_id(grpc_arena *a, const json_t *v);
/* A Value from any JSON value. */
Qdrant__Value *grpc_conv_value(grpc_arena *a, const json_t *v);
/* Fill a map<string, Value> field (entry type entry_desc) from a JSON
** object: *entries and *n as protobuf-c lays them out. */
void grpc_conv_payload(grpc_arena *a, const ProtobufCMessageDescriptor *entry_desc, const json_t *obj,
                       void ***entries, size_t *n);
/* VectorsOutput of a REST record's `vector` (array, or object of named
** vectors); NULL when v is absent or null. */
Qdrant__VectorsOutput *grpc_conv_vectors(grpc_arena *a, const json_t *v);
/* RetrievedPoint / ScoredPoint from a REST record. */
Qdrant__RetrievedPoint *grpc_conv_retrieved(grpc_arena *a, const json_t *rec);
Qdrant__ScoredPoint *grpc_conv_scored(grpc_arena *a, const json_t *rec);
/* CollectionInfo from REST's GET /collections/{c} result. */
Qdrant__CollectionInfo *grpc_conv_collection_info(grpc_arena *a, const json_t *info);
/* A message of type d (in a) from REST JSON v by field names: ids, points,
** payload values, timestamps (RFC 3339 strings) and one-of-scalar messages
** (GroupId, FacetValue) as REST writes them; members of another shape are
** left out. NULL when v does not fit d at all or out of memory. */
void *grpc_conv_from_json(grpc_arena *a, const ProtobufCMessageDescriptor *d, const json_t *v);

#endif /* SC_SERVER_GRPC_INT_H */
