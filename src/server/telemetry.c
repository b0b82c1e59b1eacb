/*
** server/telemetry.c: GET /telemetry in Qdrant's TelemetryData shape, from
** what this server knows (its request counters, the store's collections),
** and the /issues endpoints (this server records no issues).
**
** DESIGN
** - details_level 0: id, app, collections (their number), cluster (not
**   enabled), requests (REST responses per "METHOD /path" and status:
**   count, durations, last_responded), quota (none enforced). Level 1 adds
**   memory, hardware, search_pool and per collection its vectors,
**   optimizer status and params; level 2 and above gives per collection its
**   id and config. Level 3 adds its shards: a collection here is one local
**   shard (id 0, Active) with its status, points, vectors per name and
**   sizes; level 4 adds that shard's one segment (the whole collection:
**   its vectors, indexed and deleted counts, payload indexes, and its
**   vector data config). Nothing is transferred or resharded: empty lists.
** - Memory figures are the process's resident set from /proc/self/statm;
**   the allocator's own counters of Qdrant (jemalloc) do not exist here.
*/
#include "server/server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* RFC 3339 UTC text of a wall-clock time in seconds. */
static json_t *server__rfc3339(double t) {
    time_t s = (time_t)t;
    struct tm tm;
    char buf[48];
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%06dZ", (int)((t - (double)s) * 1e6));
    return json_string(buf);
}

/* requests.rest.responses: {"METHOD /path": {"status": statistics}}. */
static json_t *server__responses(server_call *call) {
    size_t n = 0;
    server_metrics_stat *st = server_metrics_snapshot(call->ctx->metrics, call->tenant, call->tenant == NULL, &n);
    json_t *out = json_object();
    for (size_t i = 0; out && i < n; i++) {
        char path[256], code[16];
        if (!server_route_path(st[i].endpoint, path, sizeof path)) continue;
        json_t *by_status = json_object_get(out, path);
        if (!by_status) json_object_set_new(out, path, by_status = json_object());
        snprintf(code, sizeof code, "%d", st[i].status);
        json_t *o = json_pack("{s:I,s:I,s:o,s:o,s:o,s:I,s:o}", "count", (json_int_t)st[i].count, "fail_count",
                              (json_int_t)(st[i].status >= 400 ? st[i].count : 0), "avg_duration_micros",
                              server_json_f32((float)(st[i].count ? st[i].sum / (double)st[i].count * 1e6 : 0.0)),
                              "min_duration_micros", server_json_f32((float)(st[i].min * 1e6)), "max_duration_micros",
                              server_json_f32((float)(st[i].max * 1e6)), "total_duration_micros",
                              (json_int_t)(st[i].sum * 1e6), "last_responded", server__rfc3339(st[i].last));
        json_object_set_new(by_status, code, o);
    }
    free(st);
    return out;
}

/* The resident set of the process in bytes (0 when unknown). */
static json_int_t server__resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (json_int_t)resident * (json_int_t)sysconf(_SC_PAGESIZE);
}

/* Qdrant's OperationDurationStatistics of nothing measured. */
static json_t *server__no_stats(void) {
    return json_pack("{s:i}", "count", 0);
}

/* The uuid of collection `name`'s one segment: stable, from its name. */
static void server__segment_uuid(const char *name, char out[40]) {
    uint64_t h = 1469598103934665603ull;
    for (const char *c = name; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    snprintf(out, 40, "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(h >> 32), (unsigned)(h >> 16) & 0xffffu,
             (unsigned)h & 0xfffu, (unsigned)(h >> 52), (unsigned long long)(h & 0xffffffffffffull));
}

/* The one segment of collection `info` (details level 4 and up). */
static json_t *server__segment(const sc_collection_info *info, const json_t *config) {
    json_t *vdata = json_object(), *vconf = json_object(), *searches = json_array(), *fields = json_array();
    json_t *schema = json_object();
    uint64_t n_indexed = 0, n_deleted = 0, vec_bytes = 0;
    const json_t *hnsw = json_object_get(config, "hnsw_config");
    for (size_t i = 0; i < info->n_vector_params; i++) {
        const sc_vector_params *p = &info->vectors[i];
        const sc_vector_index_info *x = &info->vector_index[i];
        n_indexed += x->n_indexed;
        n_deleted += x->n_deleted;
        vec_bytes += x->n_vectors * p->dim * 4u;
        json_object_set_new(vdata, p->name, json_pack("{s:I,s:I,s:I}", "num_vectors", (json_int_t)x->n_vectors,
                                                      "num_indexed_vectors", (json_int_t)x->n_indexed,
                                                      "num_deleted_vectors", (json_int_t)x->n_deleted));
        json_t *index = x->hnsw_built ? json_pack("{s:s,s:O}", "type", "hnsw", "options", hnsw)
                                      : json_pack("{s:s,s:{}}", "type", "plain", "options");
        json_object_set_new(vconf, p->name, json_pack("{s:I,s:s,s:s,s:o}", "size", (json_int_t)p->dim, "distance",
                                                      sc_distance_name(p->distance), "storage_type", "Memory",
                                                      "index", index));
        json_t *s = json_pack("{s:s}", "index_name", p->name);
        static const char *const kinds[] = {"unfiltered_plain", "unfiltered_hnsw", "unfiltered_sparse",
                                            "filtered_plain", "filtered_small_cardinality",
                                            "filtered_large_cardinality", "filtered_exact", "filtered_sparse",
                                            "unfiltered_exact"};
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) json_object_set_new(s, kinds[k], server__no_stats());
        json_array_append_new(searches, s);
    }
    for (size_t i = 0; i < info->n_sparse; i++) {
        const sc_sparse_index_info *x = &info->sparse_index[i];
        json_object_set_new(vdata, info->sparse[i].name,
                            json_pack("{s:I,s:I,s:i}", "num_vectors", (json_int_t)x->n_vectors, "num_indexed_vectors",
                                      (json_int_t)x->n_indexed, "num_deleted_vectors", 0));
    }
    for (size_t i = 0; i < info->n_field_indexes; i++) {
        const sc_field_index_info *f = &info->field_indexes[i];
        json_array_append_new(fields, json_pack("{s:s,s:s,s:I,s:I}", "field_name", f->key, "index_type",
                                                sc_field_type_name(f->type), "points_count", (json_int_t)f->n_points,
                                                "points_values_count", (json_int_t)f->n_points));
        json_object_set_new(schema, f->key, json_pack("{s:s,s:I}", "data_type", sc_field_type_name(f->type), "points",
                                                      (json_int_t)f->n_points));
    }
    char uuid[40];
    server__segment_uuid(info->name, uuid);
    json_t *seg_info = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:i,s:I,s:I,s:b,s:o,s:o}", "uuid", uuid,
                                 "segment_type", n_indexed ? "indexed" : "plain", "num_vectors",
                                 (json_int_t)info->n_vectors, "num_points", (json_int_t)info->n_points,
                                 "num_indexed_vectors", (json_int_t)n_indexed, "num_deleted_vectors",
                                 (json_int_t)n_deleted, "vectors_size_bytes", (json_int_t)vec_bytes,
                                 "payloads_size_bytes", 0, "ram_usage_bytes", (json_int_t)info->ram_bytes,
                                 "disk_usage_bytes", (json_int_t)info->disk_bytes, "is_appendable", 1, "index_schema",
                                 schema, "vector_data", vdata);
    return json_pack("{s:o,s:{s:o,s:{s:s}},s:o,s:o}", "info", seg_info, "config", "vector_data", vconf,
                     "payload_storage_type", "type", "in_ram_mmap", "vector_index_searches", searches,
                     "payload_field_indices", fields);
}

/* Qdrant's ReplicaSetTelemetry list of a collection: its one local shard
** (details level 3; level 4 adds the segment). */
static json_t *server__shards(server_call *call, const char *name, const json_t *info_json, long level) {
    sc_collection_info info;
    if (sc_collection_info_get(call->ctx->db, name, &info) != SC_OK) return json_array();
    json_t *by_name = json_object();
    uint64_t vec_bytes = 0;
    for (size_t i = 0; i < info.n_vector_params; i++) {
        json_object_set_new(by_name, info.vectors[i].name, json_integer((json_int_t)info.vector_index[i].n_vectors));
        vec_bytes += info.vector_index[i].n_vectors * info.vectors[i].dim * 4u;
    }
    for (size_t i = 0; i < info.n_sparse; i++)
        json_object_set_new(by_name, info.sparse[i].name, json_integer((json_int_t)info.sparse_index[i].n_vectors));
    const char *status = json_string_value(json_object_get(info_json, "status"));
    json_t *local = json_pack("{s:s,s:s,s:i,s:I,s:i,s:I,s:I,s:o,s:{s:O,s:o},s:b,s:{s:i}}", "variant_name",
                              "local_shard", "status", status ? status : "green", "total_optimized_points", 0,
                              "vectors_size_bytes", (json_int_t)vec_bytes, "payloads_size_bytes", 0, "num_points",
                              (json_int_t)info.n_points, "num_vectors", (json_int_t)info.n_vectors,
                              "num_vectors_by_name", by_name, "optimizations", "status",
                              json_object_get(info_json, "optimizer_status"), "optimizations", server__no_stats(),
                              "async_scorer", 0, "update_queue", "length", 0);
    if (local && level >= 4) {
        json_object_set_new(local, "segments",
                            json_pack("[o]", server__segment(&info, json_object_get(info_json, "config"))));
        json_object_set_new(local, "indexed_only_excluded_vectors", json_object());
    }
    sc_collection_info_free(&info);
    return json_pack("[{s:i,s:n,s:o,s:[],s:{s:s},s:n}]", "id", 0, "key", "local", local, "remote",
                     "replicate_states", "0", "Active", "partial_snapshot");
}

/* collections.collections: per collection, by level. */
static json_t *server__collections(server_call *call, char **names, size_t n, long level) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        const char *user = server_coll_user_name(call, names[i]);
        if (!user) continue;
        json_t *info = server_collection_info_json(call, names[i]);
        if (!info) {
            call->status = 0; /* deleted meanwhile: left out */
            continue;
        }
        json_t *config = json_object_get(info, "config"), *o;
        if (level == 1) {
            json_t *params = json_object_get(config, "params");
            o = json_pack("{s:I,s:s,s:O}", "vectors", json_integer_value(json_object_get(info, "points_count")),
                          "optimizers_status", "ok", "params", params);
        } else {
            json_object_del(config, "metadata");
            o = json_pack("{s:s,s:n,s:O}", "id", user, "init_time_ms", "config", config);
            if (o && level >= 3) {
                json_object_set_new(o, "shards", server__shards(call, names[i], info, level));
                json_object_set_new(o, "transfers", json_array());
                json_object_set_new(o, "resharding", json_array());
            }
        }
        json_decref(info);
        if (o) json_array_append_new(arr, o);
    }
    return arr;
}

json_t *server_api_telemetry(server_call *call) {
    const char *lv = server_arg(call, "details_level");
    char *end = NULL;
    long level = lv ? strtol(lv, &end, 10) : 0;
    if (lv && (!*lv || *end || level < 0))
        return server_fail(call, 400, "Query deserialize error: `details_level` must be an unsigned integer");
    char **names = NULL;
    size_t n = 0;
    sc_status rc = sc_collection_list(call->ctx->db, &names, &n);
    if (rc != SC_OK) return server_fail_store(call, rc);
    size_t mine = 0;
    for (size_t i = 0; i < n; i++) mine += server_coll_user_name(call, names[i]) != NULL;
    json_t *colls = json_pack("{s:I}", "number_of_collections", (json_int_t)mine);
    if (level >= 1) {
        json_object_set_new(colls, "collections", server__collections(call, names, n, level));
        json_object_set_new(colls, "snapshots", json_array());
    }
    sc_strv_free(names);
    json_t *out = json_pack("{s:s,s:{s:s,s:s,s:o},s:o,s:{s:b},s:{s:{s:o},s:{s:{}}},s:{s:{s:b},s:{}}}", "id",
                            "semcode", "app", "name", "semcode", "version", SC_VERSION_STRING, "startup",
                            server__rfc3339((double)call->ctx->started), "collections", colls, "cluster", "enabled",
                            0, "requests", "rest", "responses", server__responses(call), "grpc", "responses", "quota",
                            "config", "enabled", 0, "exceeded");
    /* none of Qdrant's build features (its debug and staging operations) exist here */
    json_object_set_new(json_object_get(out, "app"), "features",
                        json_pack("{s:b,s:b,s:b,s:b,s:b,s:b}", "debug", 0, "service_debug_feature", 0, "recovery_mode",
                                  0, "gpu", 0, "rocksdb", 0, "staging", 0));
    if (out && level >= 1) {
        json_int_t rss = server__resident_bytes();
        json_object_set_new(out, "memory", json_pack("{s:I,s:I,s:I,s:I,s:I}", "active_bytes", rss, "allocated_bytes", rss,
                                                      "metadata_bytes", (json_int_t)0, "resident_bytes", rss,
                                                      "retained_bytes", (json_int_t)0));
        json_object_set_new(out, "hardware", json_pack("{s:{}}", "collection_data"));
        unsigned threads = call->ctx->cfg.n_threads ? call->ctx->cfg.n_threads : util_n_cores();
        json_object_set_new(out, "search_pool", json_pack("{s:s,s:i,s:i}", "mode", "high_cpu", "high_cpu_threads",
                                                           (int)threads, "high_io_threads", 0));
    }
    return out ? out : server_fail(call, 500, "out of memory");
}

json_t *server_api_issues_get(server_call *call) {
    (void)call;
    return json_pack("{s:[]}", "issues");
}

json_t *server_api_issues_clear(server_call *call) {
    (void)call;
    return json_true();
}

/* GET /collections/{c}/optimizations: nothing runs in the background here
** (a write indexes before it answers), so `running` and `completed` are
** empty; a graph that the configuration wants and that is not built (a
** failed build, redone by the next write or POST optimize) is the one
** queued optimization of the collection's one segment, else that segment
** is idle. `with` (comma-separated: queued, completed, idle_segments) adds
** those lists. */
json_t *server_api_optimizations(server_call *call) {
    char name[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], name)) return NULL;
    const char *raw = server_arg(call, "with");
    char with[256] = ""; /* percent-decoded, '+' as a space */
    for (size_t i = 0, j = 0; raw && raw[i] && j + 1 < sizeof with; i++, j++) {
        unsigned x;
        if (raw[i] == '%' && sscanf(raw + i + 1, "%2x", &x) == 1 && raw[i + 1] && raw[i + 2]) {
            with[j] = (char)x;
            i += 2;
        } else {
            with[j] = raw[i] == '+' ? ' ' : raw[i];
        }
        with[j + 1] = 0;
    }
    bool want[3] = {false, false, false};
    static const char *const parts[] = {"queued", "completed", "idle_segments"};
    for (const char *p = with; *p;) {
        while (*p == ' ' || *p == ',') p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && p[m - 1] == ' ') m--;
        bool known = false;
        for (int i = 0; i < 3; i++)
            if (m && strlen(parts[i]) == m && !strncmp(p, parts[i], m)) want[i] = known = true;
        if (m && !known)
            return server_fail(call, 400, "Query deserialize error: `with`: unknown value `%.*s`, expected queued, "
                               "completed or idle_segments", (int)(m > 64 ? 64 : m), p);
        p += n;
    }
    sc_collection_info info;
    sc_status rc = sc_collection_info_get(call->ctx->db, name, &info);
    if (rc != SC_OK) return server_fail_store(call, rc);
    bool pending = false;
    for (size_t i = 0; info.vector_index && i < info.n_vector_params; i++) pending |= info.vector_index[i].graph_pending;
    char uuid[40];
    server__segment_uuid(info.name, uuid);
    json_t *seg = json_pack("{s:s,s:I}", "uuid", uuid, "points_count", (json_int_t)info.n_points);
    json_t *out = json_pack("{s:{s:i,s:i,s:I,s:i},s:[]}", "summary", "queued_optimizations", pending ? 1 : 0,
                            "queued_segments", pending ? 1 : 0, "queued_points", (json_int_t)(pending ? info.n_points : 0),
                            "idle_segments", pending ? 0 : 1, "running");
    if (out && want[0])
        json_object_set_new(out, "queued", pending ? json_pack("[{s:s,s:[O]}]", "optimizer", "indexing", "segments", seg)
                                                   : json_array());
    if (out && want[1]) json_object_set_new(out, "completed", json_array());
    if (out && want[2]) json_object_set_new(out, "idle_segments", pending ? json_array() : json_pack("[O]", seg));
    json_decref(seg);
    sc_collection_info_free(&info);
    return out ? out : server_fail(call, 500, "out of memory");
}
