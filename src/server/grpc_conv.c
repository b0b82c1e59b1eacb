/*
** server/grpc_conv.c: the gRPC front end's translation between Qdrant's
** protobuf messages and the JSON of its REST API, so that a gRPC call runs
** through exactly the REST endpoint code (validation, tenants, error
** messages) of handle.c.
**
** DESIGN
** - Both directions walk protobuf-c's descriptors (reflection), matching
**   field names, which Qdrant's .proto files mostly share with REST. The
**   shapes that differ are rewritten by per-message hooks, named below by
**   full message name: ids, payload values, vectors, selectors, filter
**   conditions, matches, and a few renamed fields of replies.
** - Proto3 scalars without presence are emitted only when not zero/empty
**   (absent and default are the same on the wire); members of a oneof and
**   `optional` fields (one-member oneofs here, tools/grpc_descriptors.mjs)
**   are emitted when set.
** - Replies are built in a per-call arena (grpc_arena), freed at once.
*/
#include "server/grpc_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

/* Older clients still send vectors in the deprecated layout (Vector.data
** with indices or vectors_count): it is read, so its fields are used. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* ==== Arena ==== */

struct grpc_arena_block {
    struct grpc_arena_block *next; /* older block */
    size_t used, cap;              /* bytes handed out / available after the header */
    _Alignas(16) unsigned char data[]; /* the memory */
};

void *grpc_arena_alloc(grpc_arena *a, size_t size) {
    size = (size + 15) & ~(size_t)15;
    struct grpc_arena_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        b = malloc(sizeof *b + cap);
        if (!b) {
            a->oom = true;
            return NULL;
        }
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *grpc_arena_strdup(grpc_arena *a, const char *s) {
    size_t n = strlen(s) + 1;
    char *p = grpc_arena_alloc(a, n);
    if (p) memcpy(p, s, n);
    return p;
}

void *grpc_arena_msg(grpc_arena *a, const ProtobufCMessageDescriptor *desc) {
    void *m = grpc_arena_alloc(a, desc->sizeof_message);
    if (m) protobuf_c_message_init(desc, m);
    return m;
}

void grpc_arena_free(grpc_arena *a) {
    while (a->head) {
        struct grpc_arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    a->oom = false;
}

/* ==== Reflection helpers ==== */

/* Address of a field's member in message m. */
#define GRPC_MEMBER(m, f) ((void *)((char *)(m) + (f)->offset))

/* true when the field is present in m (repeated: at least one element). */
static bool grpc_conv__present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
    const char *base = (const char *)m;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) return *(const size_t *)(base + f->quantifier_offset) > 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
        f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
    const void *p = base + f->offset;
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE: return *(void *const *)p != NULL;
    case PROTOBUF_C_TYPE_STRING: return *(char *const *)p && **(char *const *)p;
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len > 0;
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)p;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p != 0.0f;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p != 0.0;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: return *(const uint64_t *)p != 0;
    default: return *(const uint32_t *)p != 0;
    }
}

/* Size in memory of one element of a field of type t. */
static size_t grpc_conv__elem_size(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE: return 8;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    default: return 4;
    }
}

/* true for a map field's entry type (protoc's `XxxEntry` with key and value). */
static bool grpc_conv__is_map_entry(const ProtobufCMessageDescriptor *d) {
    size_t n = strlen(d->short_name);
    return d->n_fields == 2 && n > 5 && !strcmp(d->short_name + n - 5, "Entry") && !strcmp(d->fields[0].name, "key") &&
           !strcmp(d->fields[1].name, "value");
}

/* ==== Requests: protobuf -> JSON ==== */

void grpc_conv_rename(json_t *o, const char *from, const char *to) {
    json_t *v = json_object_get(o, from);
    if (!v) return;
    json_object_set(o, to, v);
    json_object_del(o, from);
}

static json_t *grpc_conv__msg(const ProtobufCMessage *m);

/* REST's name of an enum value: Distance keeps Qdrant's capitals ("Cosine");
** the others are snake case ("AverageVector" -> "average_vector", "RRF" ->
** "rrf"), FieldType without its prefix ("keyword"). */
static json_t *grpc_conv__enum(const ProtobufCEnumDescriptor *d, int v) {
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    if (!ev) return json_integer(v);
    if (!strcmp(d->name, "qdrant.Distance")) return json_string(ev->name);
    const char *s = ev->name;
    if (!strncmp(s, "FieldType", 9) && s[9]) s += 9;
    char buf[64];
    size_t k = 0;
    for (size_t i = 0; s[i] && k + 2 < sizeof buf; i++) {
        bool word = i > 0 && isupper((unsigned char)s[i]) && islower((unsigned char)s[i - 1]);
        if (word) buf[k++] = '_';
        buf[k++] = (char)tolower((unsigned char)s[i]);
    }
    buf[k] = 0;
    return json_string(buf);
}

/* The JSON of one (non-repeated) value of field f at p. */
static json_t *grpc_conv__scalar(const ProtobufCFieldDescriptor *f, const void *p) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        return json_integer((json_int_t)*(const uint64_t *)p); /* ids and counts above 2^63 are out of REST's range too */
    case PROTOBUF_C_TYPE_FLOAT: return json_real((double)*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE: return json_real(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: return grpc_conv__enum(f->descriptor, *(const int *)p);
    case PROTOBUF_C_TYPE_STRING: return json_string(*(char *const *)p ? *(char *const *)p : "");
    case PROTOBUF_C_TYPE_BYTES: return json_null(); /* no Qdrant field REST shares is bytes */
    case PROTOBUF_C_TYPE_MESSAGE: return grpc_conv__msg(*(const ProtobufCMessage *const *)p);
    }
    return json_null();
}

/* The JSON of field f of m (present): arrays for repeated fields, objects for maps. */
static json_t *grpc_conv__field_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
    const char *base = (const char *)m;
    if (f->label != PROTOBUF_C_LABEL_REPEATED) return grpc_conv__scalar(f, base + f->offset);
    size_t n = *(const size_t *)(base + f->quantifier_offset);
    const char *arr = *(const char *const *)(base + f->offset);
    size_t es = grpc_conv__elem_size(f->type);
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && grpc_conv__is_map_entry(f->descriptor)) {
        json_t *o = json_object();
        const ProtobufCMessageDescriptor *ed = f->descriptor;
        for (size_t i = 0; i < n; i++) {
            const ProtobufCMessage *e = ((const ProtobufCMessage *const *)arr)[i];
            const char *key = *(char *const *)((const char *)e + ed->fields[0].offset);
            json_object_set_new(o, key ? key : "", grpc_conv__scalar(&ed->fields[1], (const char *)e + ed->fields[1].offset));
        }
        return o;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, grpc_conv__scalar(f, arr + i * es));
    return a;
}

/* The generic JSON object of m: every present field by its .proto name. */
static json_t *grpc_conv__object(const ProtobufCMessage *m) {
    json_t *o = json_object();
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (grpc_conv__present(m, f)) json_object_set_new(o, f->name, grpc_conv__field_json(m, f));
    }
    return o;
}

/* The JSON of the set member of m's only oneof (or of its first present field). */
static json_t *grpc_conv__unwrap(const ProtobufCMessage *m) {
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (grpc_conv__present(m, &d->fields[i])) return grpc_conv__field_json(m, &d->fields[i]);
    return json_null();
}

/* A floats array from n floats. */
static json_t *grpc_conv__floats(const float *v, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_real((double)v[i]));
    return a;
}

/* A flat array cut into rows of n/rows floats (a multivector). */
static json_t *grpc_conv__rows(const float *v, size_t n, size_t rows) {
    json_t *a = json_array();
    size_t dim = rows ? n / rows : 0;
    for (size_t r = 0; r < rows; r++) json_array_append_new(a, grpc_conv__floats(v + r * dim, dim));
    return a;
}

/* qdrant.Vector and qdrant.VectorInput: REST's dense array, sparse object or
** multivector; a document (or a point id of VectorInput) as generic JSON. */
static json_t *grpc_conv__vector(const ProtobufCMessage *m) {
    if (m->descriptor == &qdrant__vector__descriptor) {
        const Qdrant__Vector *v = (const Qdrant__Vector *)m;
        switch (v->vector_case) {
        case QDRANT__VECTOR__VECTOR_DENSE: return grpc_conv__floats(v->dense->data, v->dense->n_data);
        case QDRANT__VECTOR__VECTOR_SPARSE: return grpc_conv__object(&v->sparse->base);
        case QDRANT__VECTOR__VECTOR_MULTI_DENSE: return grpc_conv__field_json(&v->multi_dense->base,
                                                                              &qdrant__multi_dense_vector__descriptor.fields[0]);
        case QDRANT__VECTOR__VECTOR__NOT_SET: break;
        default: return grpc_conv__unwrap(m);
        }
        if (v->_indices_case == QDRANT__VECTOR___INDICES_INDICES) { /* the deprecated sparse layout */
            json_t *o = json_object();
            json_object_set_new(o, "indices", grpc_conv__field_json(&v->indices->base,
                                                                    &qdrant__sparse_indices__descriptor.fields[0]));
            json_object_set_new(o, "values", grpc_conv__floats(v->data, v->n_data));
            return o;
        }
        if (v->_vectors_count_case == QDRANT__VECTOR___VECTORS_COUNT_VECTORS_COUNT && v->vectors_count > 1)
            return grpc_conv__rows(v->data, v->n_data, v->vectors_count);
        return grpc_conv__floats(v->data, v->n_data);
    }
    const Qdrant__VectorInput *v = (const Qdrant__VectorInput *)m;
    switch (v->variant_case) {
    case QDRANT__VECTOR_INPUT__VARIANT_DENSE: return grpc_conv__floats(v->dense->data, v->dense->n_data);
    case QDRANT__VECTOR_INPUT__VARIANT_SPARSE: return grpc_conv__object(&v->sparse->base);
    case QDRANT__VECTOR_INPUT__VARIANT_MULTI_DENSE:
        return grpc_conv__field_json(&v->multi_dense->base, &qdrant__multi_dense_vector__descriptor.fields[0]);
    default: return grpc_conv__unwrap(m);
    }
}

/* qdrant.Match: REST's {"value"}, {"text"}, {"any"}, {"except"}, ... */
static json_t *grpc_conv__match(const Qdrant__Match *m) {
    json_t *o = json_object();
    json_t *v = grpc_conv__unwrap(&m->base);
    const char *key = "value";
    switch (m->match_value_case) {
    case QDRANT__MATCH__MATCH_VALUE_KEYWORD: case QDRANT__MATCH__MATCH_VALUE_INTEGER:
    case QDRANT__MATCH__MATCH_VALUE_BOOLEAN: key = "value"; break;
    case QDRANT__MATCH__MATCH_VALUE_TEXT: key = "text"; break;
    case QDRANT__MATCH__MATCH_VALUE_KEYWORDS: case QDRANT__MATCH__MATCH_VALUE_INTEGERS: key = "any"; break;
    case QDRANT__MATCH__MATCH_VALUE_EXCEPT_INTEGERS: case QDRANT__MATCH__MATCH_VALUE_EXCEPT_KEYWORDS: key = "except"; break;
    case QDRANT__MATCH__MATCH_VALUE_PHRASE: key = "phrase"; break;
    case QDRANT__MATCH__MATCH_VALUE_TEXT_ANY: key = "text_any"; break;
    default: break;
    }
    json_object_set_new(o, key, v);
    return o;
}

/* qdrant.Condition: a field condition inline, a nested filter as itself,
** has_id / has_vector with their list or name, the others by name. */
static json_t *grpc_conv__condition(const Qdrant__Condition *c) {
    switch (c->condition_one_of_case) {
    case QDRANT__CONDITION__CONDITION_ONE_OF_FIELD: return grpc_conv__msg(&c->field->base);
    case QDRANT__CONDITION__CONDITION_ONE_OF_FILTER: return grpc_conv__msg(&c->filter->base);
    case QDRANT__CONDITION__CONDITION_ONE_OF_HAS_ID: {
        json_t *o = json_object();
        json_object_set_new(o, "has_id", grpc_conv__unwrap(&c->has_id->base));
        if (!json_object_get(o, "has_id") || json_is_null(json_object_get(o, "has_id")))
            json_object_set_new(o, "has_id", json_array());
        return o;
    }
    case QDRANT__CONDITION__CONDITION_ONE_OF_HAS_VECTOR: {
        json_t *o = json_object();
        json_object_set_new(o, "has_vector", json_string(c->has_vector->has_vector ? c->has_vector->has_vector : ""));
        return o;
    }
    default: return grpc_conv__object(&c->base);
    }
}

/* qdrant.WithPayloadSelector: true/false, a list of keys, or {"exclude": [...]}. */
static json_t *grpc_conv__with_payload(const Qdrant__WithPayloadSelector *w) {
    switch (w->selector_options_case) {
    case QDRANT__WITH_PAYLOAD_SELECTOR__SELECTOR_OPTIONS_ENABLE: return json_boolean(w->enable);
    case QDRANT__WITH_PAYLOAD_SELECTOR__SELECTOR_OPTIONS_INCLUDE: return grpc_conv__unwrap(&w->include->base);
    case QDRANT__WITH_PAYLOAD_SELECTOR__SELECTOR_OPTIONS_EXCLUDE: {
        json_t *o = json_object();
        json_object_set_new(o, "exclude", grpc_conv__unwrap(&w->exclude->base));
        return o;
    }
    default: return json_false();
    }
}

/* qdrant.Value -> any JSON value. */
static json_t *grpc_conv__value(const Qdrant__Value *v) {
    switch (v->kind_case) {
    case QDRANT__VALUE__KIND_DOUBLE_VALUE: return json_real(v->double_value);
    case QDRANT__VALUE__KIND_INTEGER_VALUE: return json_integer(v->integer_value);
    case QDRANT__VALUE__KIND_STRING_VALUE: return json_string(v->string_value ? v->string_value : "");
    case QDRANT__VALUE__KIND_BOOL_VALUE: return json_boolean(v->bool_value);
    case QDRANT__VALUE__KIND_STRUCT_VALUE: return grpc_conv__unwrap(&v->struct_value->base);
    case QDRANT__VALUE__KIND_LIST_VALUE: {
        json_t *a = json_array();
        for (size_t i = 0; i < v->list_value->n_values; i++)
            json_array_append_new(a, grpc_conv__value(v->list_value->values[i]));
        return a;
    }
    default: return json_null();
    }
}

/* qdrant.PointsUpdateOperation: one operation of REST's /points/batch,
** {"upsert": {...}}, {"delete": {points|filter}}, ... with the points
** selectors flattened into the operation and `vectors` (names) as `vector`. */
static json_t *grpc_conv__update_op(const ProtobufCMessage *m) {
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!grpc_conv__present(m, f)) continue;
        json_t *op = grpc_conv__field_json(m, f);
        const char *name = f->name;
        if (!strcmp(name, "delete_points") || !strcmp(name, "delete_deprecated")) name = "delete";
        if (!strcmp(name, "clear_payload_deprecated")) name = "clear_payload";
        /* the deprecated variants are a bare PointsSelector; the others hold it as a field */
        json_t *sel = json_object_get(op, "points_selector");
        if (!sel && json_is_object(json_object_get(op, "points")) &&
            (!strcmp(f->name, "delete_points") || !strcmp(f->name, "clear_payload")))
            sel = json_object_get(op, "points");
        if (sel) {
            json_incref(sel);
            json_object_del(op, "points_selector");
            if (sel == json_object_get(op, "points")) json_object_del(op, "points");
            json_object_update(op, sel);
            json_decref(sel);
        }
        json_object_del(op, "shard_key_selector");
        if (!strcmp(name, "delete_vectors")) grpc_conv_rename(op, "vectors", "vector");
        return json_pack("{s:o}", name, op);
    }
    return json_object();
}

static json_t *grpc_conv__msg(const ProtobufCMessage *m) {
    if (!m) return json_null();
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d == &qdrant__point_id__descriptor) {
        const Qdrant__PointId *id = (const Qdrant__PointId *)m;
        if (id->point_id_options_case == QDRANT__POINT_ID__POINT_ID_OPTIONS_UUID) return json_string(id->uuid);
        return json_integer((json_int_t)id->num);
    }
    if (d == &qdrant__value__descriptor) return grpc_conv__value((const Qdrant__Value *)m);
    if (d == &google__protobuf__timestamp__descriptor) { /* RFC 3339, as REST's datetime_range takes it */
        const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *)m;
        time_t t = (time_t)ts->seconds;
        struct tm tm;
        char buf[64];
        if (!gmtime_r(&t, &tm)) return json_null();
        size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, sizeof buf - n, ".%09dZ", ts->nanos > 0 && ts->nanos < 1000000000 ? (int)ts->nanos : 0);
        return json_string(buf);
    }
    if (d == &qdrant__struct__descriptor) {
        json_t *o = grpc_conv__unwrap(m);
        return json_is_object(o) ? o : (json_decref(o), json_object());
    }
    if (d == &qdrant__vector__descriptor || d == &qdrant__vector_input__descriptor) return grpc_conv__vector(m);
    if (d == &qdrant__target_vector__descriptor || d == &qdrant__vector_example__descriptor)
        return grpc_conv__unwrap(m); /* a discover target or context example: REST's id or vector */
    if (d == &qdrant__named_vectors__descriptor) { /* {vectors: {name: v}} -> {name: v} */
        json_t *o = grpc_conv__unwrap(m);
        return json_is_object(o) ? o : (json_decref(o), json_object());
    }
    if (d == &qdrant__vectors__descriptor || d == &qdrant__vectors_config__descriptor ||
        d == &qdrant__points_ids_list__descriptor || d == &qdrant__repeated_strings__descriptor ||
        d == &qdrant__repeated_integers__descriptor || d == &qdrant__vectors_selector__descriptor ||
        d == &qdrant__vector_params_map__descriptor || d == &qdrant__dense_vector__descriptor ||
        d == &qdrant__payload_include_selector__descriptor || d == &qdrant__with_vectors_selector__descriptor) {
        json_t *v = grpc_conv__unwrap(m);
        /* an empty list is all-default on the wire */
        if (json_is_null(v) && d != &qdrant__vectors__descriptor && d != &qdrant__with_vectors_selector__descriptor &&
            d != &qdrant__vectors_config__descriptor) {
            json_decref(v);
            v = json_array();
        }
        return v;
    }
    if (d == &qdrant__condition__descriptor) return grpc_conv__condition((const Qdrant__Condition *)m);
    if (d == &qdrant__match__descriptor) return grpc_conv__match((const Qdrant__Match *)m);
    if (d == &qdrant__with_payload_selector__descriptor)
        return grpc_conv__with_payload((const Qdrant__WithPayloadSelector *)m);
    if (d == &qdrant__points_selector__descriptor) {
        const Qdrant__PointsSelector *s = (const Qdrant__PointsSelector *)m;
        json_t *o = json_object();
        if (s->points_selector_one_of_case == QDRANT__POINTS_SELECTOR__POINTS_SELECTOR_ONE_OF_FILTER)
            json_object_set_new(o, "filter", grpc_conv__msg(&s->filter->base));
        else
            json_object_set_new(o, "points", s->points ? grpc_conv__msg(&s->points->base) : json_array());
        return o;
    }
    if (d == &qdrant__field_condition__descriptor) { /* REST spells a datetime range as a `range` of strings */
        json_t *o = grpc_conv__object(m);
        grpc_conv_rename(o, "datetime_range", "range");
        return o;
    }
    if (d == &qdrant__point_struct__descriptor || d == &qdrant__point_vectors__descriptor) {
        json_t *o = grpc_conv__object(m);
        grpc_conv_rename(o, "vectors", "vector");
        return o;
    }
    if (d == &qdrant__vectors_config_diff__descriptor) { /* REST: {name: diff}, "" for the unnamed vector */
        const Qdrant__VectorsConfigDiff *v = (const Qdrant__VectorsConfigDiff *)m;
        if (v->config_case == QDRANT__VECTORS_CONFIG_DIFF__CONFIG_PARAMS)
            return json_pack("{s:o}", "", grpc_conv__msg(&v->params->base));
        if (v->config_case == QDRANT__VECTORS_CONFIG_DIFF__CONFIG_PARAMS_MAP)
            return grpc_conv__unwrap(&v->params_map->base);
        return json_object();
    }
    if (d == &qdrant__points_update_operation__descriptor) return grpc_conv__update_op(m);
    return grpc_conv__object(m);
}

json_t *grpc_conv_to_json(const ProtobufCMessage *m) {
    return grpc_conv__msg(m);
}

/* ==== Replies: JSON -> protobuf ==== */

Qdrant__PointId *grpc_conv_id(grpc_arena *a, const json_t *v) {
    Qdrant__PointId *id = grpc_arena_msg(a, &qdrant__point_id__descriptor);
    if (!id) return NULL;
    if (json_is_integer(v)) {
        id->point_id_options_case = QDRANT__POINT_ID__POINT_ID_OPTIONS_NUM;
        id->num = (uint64_t)json_integer_value(v);
    } else if (json_is_string(v)) {
        id->point_id_options_case = QDRANT__POINT_ID__POINT_ID_OPTIONS_UUID;
        id->uuid = grpc_arena_strdup(a, json_string_value(v));
    } else {
        return NULL;
    }
    return id;
}

Qdrant__Value *grpc_conv_value(grpc_arena *a, const json_t *v) {
    Qdrant__Value *out = grpc_arena_msg(a, &qdrant__value__descriptor);
    if (!out) return NULL;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        Qdrant__Struct *s = grpc_arena_msg(a, &qdrant__struct__descriptor);
        if (!s) return NULL;
        grpc_conv_payload(a, &qdrant__struct__fields_entry__descriptor, v, (void ***)&s->fields, &s->n_fields);
        out->kind_case = QDRANT__VALUE__KIND_STRUCT_VALUE;
        out->struct_value = s;
        break;
    }
    case JSON_ARRAY: {
        Qdrant__ListValue *l = grpc_arena_msg(a, &qdrant__list_value__descriptor);
        size_t n = json_array_size(v);
        if (!l || !(l->values = grpc_arena_alloc(a, (n ? n : 1) * sizeof *l->values))) return NULL;
        for (size_t i = 0; i < n; i++)
            if ((l->values[i] = grpc_conv_value(a, json_array_get(v, i)))) l->n_values++;
        out->kind_case = QDRANT__VALUE__KIND_LIST_VALUE;
        out->list_value = l;
        break;
    }
    case JSON_STRING:
        out->kind_case = QDRANT__VALUE__KIND_STRING_VALUE;
        out->string_value = grpc_arena_strdup(a, json_string_value(v));
        break;
    case JSON_INTEGER:
        out->kind_case = QDRANT__VALUE__KIND_INTEGER_VALUE;
        out->integer_value = json_integer_value(v);
        break;
    case JSON_REAL:
        out->kind_case = QDRANT__VALUE__KIND_DOUBLE_VALUE;
        out->double_value = json_real_value(v);
        break;
    case JSON_TRUE: case JSON_FALSE:
        out->kind_case = QDRANT__VALUE__KIND_BOOL_VALUE;
        out->bool_value = json_is_true(v);
        break;
    default:
        out->kind_case = QDRANT__VALUE__KIND_NULL_VALUE;
        out->null_value = QDRANT__NULL_VALUE__NULL_VALUE;
        break;
    }
    return out;
}

void grpc_conv_payload(grpc_arena *a, const ProtobufCMessageDescriptor *entry_desc, const json_t *obj,
                       void ***entries, size_t *n) {
    *n = 0;
    *entries = NULL;
    if (!json_is_object(obj) || !json_object_size(obj)) return;
    void **arr = grpc_arena_alloc(a, json_object_size(obj) * sizeof *arr);
    if (!arr) return;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        void *e = grpc_arena_msg(a, entry_desc);
        Qdrant__Value *val = grpc_conv_value(a, v);
        char *k = grpc_arena_strdup(a, key);
        if (!e || !val || !k) return;
        *(char **)((char *)e + entry_desc->fields[0].offset) = k;
        *(Qdrant__Value **)((char *)e + entry_desc->fields[1].offset) = val;
        arr[(*n)++] = e;
    }
    *entries = arr;
}

/* A float array of a (n floats) from a JSON array of numbers. */
static float *grpc_conv__float_array(grpc_arena *a, const json_t *v, size_t *n) {
    *n = json_array_size(v);
    float *f = grpc_arena_alloc(a, (*n ? *n : 1) * sizeof *f);
    if (!f) return NULL;
    for (size_t i = 0; i < *n; i++) f[i] = (float)json_number_value(json_array_get(v, i));
    return f;
}

/* One VectorOutput from a REST vector: dense array, sparse object or multivector. */
static Qdrant__VectorOutput *grpc_conv__vector_out(grpc_arena *a, const json_t *v) {
    Qdrant__VectorOutput *o = grpc_arena_msg(a, &qdrant__vector_output__descriptor);
    if (!o) return NULL;
    if (json_is_object(v)) {
        Qdrant__SparseVector *s = grpc_arena_msg(a, &qdrant__sparse_vector__descriptor);
        if (!s) return NULL;
        s->values = grpc_conv__float_array(a, json_object_get(v, "values"), &s->n_values);
        const json_t *ix = json_object_get(v, "indices");
        s->n_indices = json_array_size(ix);
        s->indices = grpc_arena_alloc(a, (s->n_indices ? s->n_indices : 1) * sizeof *s->indices);
        for (size_t i = 0; s->indices && i < s->n_indices; i++)
            s->indices[i] = (uint32_t)json_integer_value(json_array_get(ix, i));
        o->vector_case = QDRANT__VECTOR_OUTPUT__VECTOR_SPARSE;
        o->sparse = s;
    } else if (json_is_array(json_array_get(v, 0))) {
        Qdrant__MultiDenseVector *mv = grpc_arena_msg(a, &qdrant__multi_dense_vector__descriptor);
        size_t rows = json_array_size(v);
        if (!mv || !(mv->vectors = grpc_arena_alloc(a, rows * sizeof *mv->vectors))) return NULL;
        for (size_t r = 0; r < rows; r++) {
            Qdrant__DenseVector *dv = grpc_arena_msg(a, &qdrant__dense_vector__descriptor);
            if (!dv) return NULL;
            dv->data = grpc_conv__float_array(a, json_array_get(v, r), &dv->n_data);
            mv->vectors[mv->n_vectors++] = dv;
        }
        o->vector_case = QDRANT__VECTOR_OUTPUT__VECTOR_MULTI_DENSE;
        o->multi_dense = mv;
    } else {
        Qdrant__DenseVector *dv = grpc_arena_msg(a, &qdrant__dense_vector__descriptor);
        if (!dv) return NULL;
        dv->data = grpc_conv__float_array(a, v, &dv->n_data);
        o->vector_case = QDRANT__VECTOR_OUTPUT__VECTOR_DENSE;
        o->dense = dv;
    }
    return o;
}

Qdrant__VectorsOutput *grpc_conv_vectors(grpc_arena *a, const json_t *v) {
    if (!v || json_is_null(v)) return NULL;
    Qdrant__VectorsOutput *o = grpc_arena_msg(a, &qdrant__vectors_output__descriptor);
    if (!o) return NULL;
    if (json_is_array(v)) {
        o->vectors_options_case = QDRANT__VECTORS_OUTPUT__VECTORS_OPTIONS_VECTOR;
        o->vector = grpc_conv__vector_out(a, v);
        return o->vector ? o : NULL;
    }
    Qdrant__NamedVectorsOutput *nv = grpc_arena_msg(a, &qdrant__named_vectors_output__descriptor);
    size_t n = json_object_size(v);
    if (!nv || !(nv->vectors = grpc_arena_alloc(a, (n ? n : 1) * sizeof *nv->vectors))) return NULL;
    const char *name;
    json_t *x;
    json_object_foreach((json_t *)v, name, x) {
        Qdrant__NamedVectorsOutput__VectorsEntry *e =
            grpc_arena_msg(a, &qdrant__named_vectors_output__vectors_entry__descriptor);
        if (!e || !(e->key = grpc_arena_strdup(a, name)) || !(e->value = grpc_conv__vector_out(a, x))) return NULL;
        nv->vectors[nv->n_vectors++] = e;
    }
    o->vectors_options_case = QDRANT__VECTORS_OUTPUT__VECTORS_OPTIONS_VECTORS;
    o->vectors = nv;
    return o;
}

Qdrant__RetrievedPoint *grpc_conv_retrieved(grpc_arena *a, const json_t *rec) {
    Qdrant__RetrievedPoint *p = grpc_arena_msg(a, &qdrant__retrieved_point__descriptor);
    if (!p) return NULL;
    p->id = grpc_conv_id(a, json_object_get(rec, "id"));
    grpc_conv_payload(a, &qdrant__retrieved_point__payload_entry__descriptor, json_object_get(rec, "payload"),
                      (void ***)&p->payload, &p->n_payload);
    if ((p->vectors = grpc_conv_vectors(a, json_object_get(rec, "vector"))))
        p->_vectors_case = QDRANT__RETRIEVED_POINT___VECTORS_VECTORS;
    return p;
}

Qdrant__ScoredPoint *grpc_conv_scored(grpc_arena *a, const json_t *rec) {
    Qdrant__ScoredPoint *p = grpc_arena_msg(a, &qdrant__scored_point__descriptor);
    if (!p) return NULL;
    p->id = grpc_conv_id(a, json_object_get(rec, "id"));
    p->score = (float)json_number_value(json_object_get(rec, "score"));
    p->version = (uint64_t)json_integer_value(json_object_get(rec, "version"));
    grpc_conv_payload(a, &qdrant__scored_point__payload_entry__descriptor, json_object_get(rec, "payload"),
                      (void ***)&p->payload, &p->n_payload);
    if ((p->vectors = grpc_conv_vectors(a, json_object_get(rec, "vector"))))
        p->_vectors_case = QDRANT__SCORED_POINT___VECTORS_VECTORS;
    return p;
}

/* ==== Generic JSON -> protobuf (collection info) ==== */

static void *grpc_conv__from_json(grpc_arena *a, const ProtobufCMessageDescriptor *d, const json_t *o);

/* Set one value of field f at p from JSON v; false when v has another shape. */
static bool grpc_conv__set(grpc_arena *a, const ProtobufCFieldDescriptor *f, void *p, const json_t *v) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        if (!json_is_integer(v)) return false;
        *(int32_t *)p = (int32_t)json_integer_value(v);
        return true;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        if (!json_is_integer(v)) return false;
        *(int64_t *)p = json_integer_value(v);
        return true;
    case PROTOBUF_C_TYPE_FLOAT:
        if (!json_is_number(v)) return false;
        *(float *)p = (float)json_number_value(v);
        return true;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_is_number(v)) return false;
        *(double *)p = json_number_value(v);
        return true;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v)) return false;
        *(protobuf_c_boolean *)p = json_is_true(v);
        return true;
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v)) return false;
        return (*(char **)p = grpc_arena_strdup(a, json_string_value(v))) != NULL;
    case PROTOBUF_C_TYPE_ENUM: {
        if (!json_is_string(v)) return false;
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        const char *s = json_string_value(v);
        for (unsigned i = 0; i < ed->n_values; i++) {
            const char *name = ed->values[i].name;
            if (!strncmp(name, "FieldType", 9) && name[9]) name += 9;
            if (!strcasecmp(name, s)) {
                *(int *)p = ed->values[i].value;
                return true;
            }
        }
        return false;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        void *m = grpc_conv_from_json(a, f->descriptor, v);
        *(void **)p = m;
        return m != NULL;
    }
    default: return false;
    }
}

/* A message of type d from the REST object o, matching field names; fields
** whose JSON has another shape are left out. REST's renamed fields: the
** collection's `vectors` is `vectors_config`, an optimizer status string is
** {ok, error}. NULL when o is not an object. */
static void *grpc_conv__from_json(grpc_arena *a, const ProtobufCMessageDescriptor *d, const json_t *o) {
    if (d == &qdrant__optimizer_status__descriptor) {
        Qdrant__OptimizerStatus *s = grpc_arena_msg(a, d);
        if (!s) return NULL;
        s->ok = json_is_string(o) && !strcmp(json_string_value(o), "ok");
        const json_t *err = json_object_get(o, "error");
        s->error = grpc_arena_strdup(a, json_is_string(err) ? json_string_value(err) : "");
        return s;
    }
    if (d == &qdrant__vectors_config__descriptor) {
        Qdrant__VectorsConfig *vc = grpc_arena_msg(a, d);
        if (!vc || !json_is_object(o)) return NULL;
        if (json_object_get(o, "size")) {
            vc->config_case = QDRANT__VECTORS_CONFIG__CONFIG_PARAMS;
            vc->params = grpc_conv__from_json(a, &qdrant__vector_params__descriptor, o);
            return vc->params ? vc : NULL;
        }
        json_t *wrap = json_pack("{s:O}", "map", o);
        vc->config_case = QDRANT__VECTORS_CONFIG__CONFIG_PARAMS_MAP;
        vc->params_map = grpc_conv__from_json(a, &qdrant__vector_params_map__descriptor, wrap);
        json_decref(wrap);
        return vc->params_map ? vc : NULL;
    }
    if (!json_is_object(o)) return NULL;
    void *m = grpc_arena_msg(a, d);
    if (!m) return NULL;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *key = f->name;
        if (d == &qdrant__collection_params__descriptor && !strcmp(key, "vectors_config")) key = "vectors";
        if (d == &qdrant__collection_params__descriptor && !strcmp(key, "sparse_vectors_config"))
            key = "sparse_vectors";
        const json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v)) continue;
        char *base = m;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            bool map = f->type == PROTOBUF_C_TYPE_MESSAGE && grpc_conv__is_map_entry(f->descriptor);
            size_t n = map ? json_object_size(v) : json_array_size(v);
            size_t es = grpc_conv__elem_size(f->type);
            char *arr = n ? grpc_arena_alloc(a, n * es) : NULL;
            if (n && !arr) return NULL;
            size_t k = 0;
            if (map) {
                const ProtobufCMessageDescriptor *ed = f->descriptor;
                const char *name;
                json_t *x;
                json_object_foreach((json_t *)v, name, x) {
                    void *e = grpc_arena_msg(a, ed);
                    if (!e) return NULL;
                    *(char **)((char *)e + ed->fields[0].offset) = grpc_arena_strdup(a, name);
                    if (grpc_conv__set(a, &ed->fields[1], (char *)e + ed->fields[1].offset, x))
                        ((void **)arr)[k++] = e;
                }
            } else {
                for (size_t j = 0; j < n; j++)
                    if (grpc_conv__set(a, f, arr + k * es, json_array_get(v, j))) k++;
            }
            *(size_t *)(base + f->quantifier_offset) = k;
            *(void **)(base + f->offset) = arr;
            continue;
        }
        if (grpc_conv__set(a, f, base + f->offset, v) && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            *(uint32_t *)(base + f->quantifier_offset) = f->id;
    }
    return m;
}

Qdrant__CollectionInfo *grpc_conv_collection_info(grpc_arena *a, const json_t *info) {
    return grpc_conv__from_json(a, &qdrant__collection_info__descriptor, info);
}

/* A Timestamp from REST's "YYYY-MM-DDTHH:MM:SS[.fraction][Z]" (UTC); NULL on another shape. */
static Google__Protobuf__Timestamp *grpc_conv__timestamp(grpc_arena *a, const json_t *v) {
    struct tm tm = {0};
    int used = 0;
    if (!json_is_string(v) || sscanf(json_string_value(v), "%d-%d-%dT%d:%d:%d%n", &tm.tm_year, &tm.tm_mon,
                                     &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
        return NULL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    Google__Protobuf__Timestamp *ts = grpc_arena_msg(a, &google__protobuf__timestamp__descriptor);
    if (!ts) return NULL;
    ts->seconds = (int64_t)timegm(&tm);
    const char *frac = json_string_value(v) + used;
    if (*frac == '.') {
        int32_t scale = 100000000;
        for (frac++; isdigit((unsigned char)*frac) && scale; frac++, scale /= 10) ts->nanos += (*frac - '0') * scale;
    }
    return ts;
}

/* A message with one oneof of scalars (GroupId, FacetValue) from a JSON
** string, boolean or integer: the member of that type (a non-negative
** integer in `unsigned_value` when there is one); NULL on another shape. */
static void *grpc_conv__variant(grpc_arena *a, const ProtobufCMessageDescriptor *d, const json_t *v) {
    const char *name = json_is_string(v) ? "string_value" : json_is_boolean(v) ? "bool_value"
                       : !json_is_integer(v) ? NULL
                       : json_integer_value(v) >= 0 && protobuf_c_message_descriptor_get_field_by_name(d, "unsigned_value")
                           ? "unsigned_value" : "integer_value";
    const ProtobufCFieldDescriptor *f = name ? protobuf_c_message_descriptor_get_field_by_name(d, name) : NULL;
    void *m = f ? grpc_arena_msg(a, d) : NULL;
    if (!m || !grpc_conv__set(a, f, (char *)m + f->offset, v)) return NULL;
    *(uint32_t *)((char *)m + f->quantifier_offset) = f->id;
    return m;
}

void *grpc_conv_from_json(grpc_arena *a, const ProtobufCMessageDescriptor *d, const json_t *v) {
    if (d == &qdrant__value__descriptor) return grpc_conv_value(a, v);
    if (d == &qdrant__point_id__descriptor) return grpc_conv_id(a, v);
    if (d == &qdrant__scored_point__descriptor) return json_is_object(v) ? grpc_conv_scored(a, v) : NULL;
    if (d == &qdrant__retrieved_point__descriptor) return json_is_object(v) ? grpc_conv_retrieved(a, v) : NULL;
    if (d == &google__protobuf__timestamp__descriptor) return grpc_conv__timestamp(a, v);
    if (d == &qdrant__group_id__descriptor || d == &qdrant__facet_value__descriptor) return grpc_conv__variant(a, d, v);
    return grpc_conv__from_json(a, d, v);
}
