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
**   id and config. Shard and segment internals (Qdrant's level 3 and 4)
**   have no counterpart here and are not reported.
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
