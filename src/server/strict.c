/*
** server/strict.c: Qdrant's strict mode (`strict_mode_config` of a
** collection): the configuration kept in the collection's settings
** (qconfig.c), and the checks that requests of a collection pass when it is
** enabled, with Qdrant's words in the errors.
*/
#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>

/* ==== Configuration ==== */

/* The fields of StrictModeConfig with their JSON type. */
typedef enum server_strict_type {
    SERVER_STRICT_BOOL = 0,   /* true / false */
    SERVER_STRICT_UINT = 1,   /* unsigned integer, at least `min` */
    SERVER_STRICT_NUMBER = 2, /* any number */
    SERVER_STRICT_OBJECT = 3, /* {vector name: {field: unsigned}} (multivector_config, sparse_config) */
} server_strict_type;

static const struct {
    const char *key;         /* field */
    server_strict_type type; /* its type */
    json_int_t min;          /* smallest value (SERVER_STRICT_UINT) */
} server__strict_fields[] = {
    {"enabled", SERVER_STRICT_BOOL, 0},
    {"max_query_limit", SERVER_STRICT_UINT, 1},
    {"max_timeout", SERVER_STRICT_UINT, 1},
    {"unindexed_filtering_retrieve", SERVER_STRICT_BOOL, 0},
    {"unindexed_filtering_update", SERVER_STRICT_BOOL, 0},
    {"search_max_hnsw_ef", SERVER_STRICT_UINT, 0},
    {"search_allow_exact", SERVER_STRICT_BOOL, 0},
    {"search_max_oversampling", SERVER_STRICT_NUMBER, 0},
    {"upsert_max_batchsize", SERVER_STRICT_UINT, 0},
    {"search_max_batchsize", SERVER_STRICT_UINT, 0},
    {"max_collection_vector_size_bytes", SERVER_STRICT_UINT, 0},
    {"read_rate_limit", SERVER_STRICT_UINT, 1},
    {"write_rate_limit", SERVER_STRICT_UINT, 1},
    {"max_collection_payload_size_bytes", SERVER_STRICT_UINT, 0},
    {"max_points_count", SERVER_STRICT_UINT, 1},
    {"filter_max_conditions", SERVER_STRICT_UINT, 0},
    {"condition_max_size", SERVER_STRICT_UINT, 0},
    {"multivector_config", SERVER_STRICT_OBJECT, 0},
    {"sparse_config", SERVER_STRICT_OBJECT, 0},
    {"max_payload_index_count", SERVER_STRICT_UINT, 0},
};

/* Check one field `key` = v of a strict_mode_config; false after a 400/422. */
static bool server__strict_check(server_call *call, const char *key, const json_t *v) {
    for (size_t i = 0; i < sizeof server__strict_fields / sizeof *server__strict_fields; i++) {
        if (strcmp(key, server__strict_fields[i].key)) continue;
        switch (server__strict_fields[i].type) {
        case SERVER_STRICT_BOOL:
            if (!json_is_boolean(v))
                return server_fail(call, 400, "Json deserialize error: `strict_mode_config.%s` must be a bool", key),
                       false;
            return true;
        case SERVER_STRICT_NUMBER:
            if (!json_is_number(v))
                return server_fail(call, 400, "Json deserialize error: `strict_mode_config.%s` must be a number", key),
                       false;
            return true;
        case SERVER_STRICT_OBJECT:
            if (!json_is_object(v))
                return server_fail(call, 400, "Json deserialize error: `strict_mode_config.%s` must be an object", key),
                       false;
            return true;
        case SERVER_STRICT_UINT:
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return server_fail(call, 400, "Json deserialize error: `strict_mode_config.%s` must be an unsigned "
                                   "integer", key), false;
            if (json_integer_value(v) < server__strict_fields[i].min)
                return server_fail(call, 422, "Validation error in JSON body: [strict_mode_config.%s: value %lld "
                                   "invalid, must be %lld or larger]", key, (long long)json_integer_value(v),
                                   (long long)server__strict_fields[i].min), false;
            return true;
        }
    }
    return server_fail(call, 400, "Json deserialize error: unknown field `strict_mode_config.%.64s`", key), false;
}

bool server_strict_settings(server_call *call, json_t *settings, const json_t *diff) {
    if (!diff || json_is_null(diff)) return true;
    if (!json_is_object(diff))
        return server_fail(call, 400, "Json deserialize error: `strict_mode_config` must be an object"), false;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)diff, key, v) {
        if (!json_is_null(v) && !server__strict_check(call, key, v)) return false;
    }
    json_t *cur = json_object_get(settings, "strict_mode_config");
    if (!json_is_object(cur)) json_object_set_new(settings, "strict_mode_config", cur = json_object());
    /* a null leaves a field as it is (Qdrant does not unset strict mode fields) */
    json_object_foreach((json_t *)diff, key, v) {
        if (json_is_null(v)) continue;
        json_t *old = json_object_get(cur, key);
        if (json_is_object(v) && json_is_object(old)) { /* per vector name: merged */
            json_t *merged = json_deep_copy(old);
            const char *name;
            json_t *lim;
            json_object_foreach((json_t *)v, name, lim) {
                json_t *o = json_object_get(merged, name);
                if (json_is_object(o) && json_is_object(lim)) json_object_update(o, lim);
                else json_object_set(merged, name, lim);
            }
            json_object_set_new(cur, key, merged);
        } else {
            json_object_set(cur, key, (json_t *)v);
        }
    }
    return true;
}
