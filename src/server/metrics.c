/*
** server/metrics.c: request counters and latency histograms per endpoint
** and status, rendered in the Prometheus text format with store gauges
** (collections, points per collection).
**
** DESIGN
** - One mutex guards the table; an observation is a short critical section
**   (find the row, bump a counter and a bucket), so contention stays far
**   below the cost of a request.
** - Rows are keyed by (endpoint label, status). Labels are static strings
**   from the route table, so the number of rows is bounded by routes ×
**   statuses actually seen; past SERVER_METRICS_ROWS rows, new pairs are
**   counted under endpoint "other".
** - Rows are also keyed by the tenant of the key (a pointer into the
**   config, alive as long as the server). A tenant's /metrics shows its own
**   rows only; the operator's (a global key) shows all, labelled tenant="T".
** - Requests on a collection are also counted per (endpoint, status,
**   tenant, collection) in a second table of SERVER_METRICS_COLL_ROWS rows
**   (names copied, as collections come and go, and kept as the caller named
**   them, i.e. inside its tenant's namespace); when it is full, new rows are
**   not counted there (the global rows still count them). They are shown
**   only with /metrics?per_collection=true, as Qdrant does, and filtered by
**   tenant like the other rows; a tenant's view further keeps only the
**   names that are its collections or aliases when it asks, so a name it
**   tried and got a 404 for (perhaps another tenant's) is not echoed as if
**   it were a collection of its own.
*/
#include "server/server_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERVER_METRICS_ROWS 1024
#define SERVER_METRICS_BUCKETS 14
#define SERVER_METRICS_COLL_ROWS 1024

static const double server__bounds[SERVER_METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                              0.025,  0.05,    0.1,    0.25,  0.5,    1.0,  2.5};

typedef struct server_metrics_row {
    const char *endpoint;                    /* static label */
    int status;                              /* HTTP status */
    const char *tenant;                      /* tenant of the key (borrowed from the config), NULL = global */
    uint64_t count;                          /* requests */
    double sum;                              /* seconds, summed */
    double min, max;                         /* shortest and longest, seconds */
    double last;                             /* when the last one answered (wall clock, seconds since the epoch) */
    uint64_t buckets[SERVER_METRICS_BUCKETS]; /* requests at or below each bound (non-cumulative here) */
} server_metrics_row;

/* Requests of one (endpoint, status, tenant, collection). */
typedef struct server_metrics_coll_row {
    const char *endpoint;               /* static label */
    int status;                         /* HTTP status */
    const char *tenant;                 /* tenant of the key (borrowed from the config), NULL = global */
    uint64_t count;                     /* requests */
    char collection[SC_MAX_NAME_LEN + 1]; /* the collection as the caller named it */
} server_metrics_coll_row;

struct server_metrics {
    pthread_mutex_t mu;                          /* guards everything below */
    server_metrics_row rows[SERVER_METRICS_ROWS]; /* rows in first-seen order */
    size_t n_rows;                               /* rows used */
    server_metrics_coll_row *coll_rows;          /* SERVER_METRICS_COLL_ROWS rows, first-seen order */
    size_t n_coll_rows;                          /* of them used */
    uint64_t n_embedded;                         /* texts embedded (atomic, outside the mutex) */
    uint64_t cache_hits;                         /* embedding cache lookups answered (atomic) */
    uint64_t cache_misses;                       /* embedding cache lookups not answered (atomic) */
    uint64_t cache_entries;                      /* vectors in the cache at the last lookup (atomic) */
};

server_metrics *server_metrics_new(void) {
    server_metrics *m = calloc(1, sizeof *m);
    if (m && !(m->coll_rows = calloc(SERVER_METRICS_COLL_ROWS, sizeof *m->coll_rows))) {
        free(m);
        return NULL;
    }
    if (m) pthread_mutex_init(&m->mu, NULL);
    return m;
}

void server_metrics_free(server_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m->coll_rows);
    free(m);
}

/* Same tenant (NULL = the global namespace)? */
static bool server__same_tenant(const char *a, const char *b) {
    return a == b || (a && b && !strcmp(a, b));
}

/* Count one request of tenant's collection coll in the per-collection table (mu held). */
static void server__metrics_coll(server_metrics *m, const char *endpoint, int status, const char *tenant,
                                 const char *coll) {
    server_metrics_coll_row *row = NULL;
    for (size_t i = 0; i < m->n_coll_rows && !row; i++)
        if (m->coll_rows[i].status == status && !strcmp(m->coll_rows[i].endpoint, endpoint) &&
            server__same_tenant(m->coll_rows[i].tenant, tenant) && !strcmp(m->coll_rows[i].collection, coll))
            row = &m->coll_rows[i];
    if (!row && m->n_coll_rows < SERVER_METRICS_COLL_ROWS && strlen(coll) <= SC_MAX_NAME_LEN) {
        row = &m->coll_rows[m->n_coll_rows++];
        row->endpoint = endpoint;
        row->status = status;
        row->tenant = tenant;
        strcpy(row->collection, coll);
    }
    if (row) row->count++;
}

void server_metrics_observe(server_metrics *m, const char *endpoint, int status, const char *tenant,
                            const char *collection, double seconds) {
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    if (collection && *collection) server__metrics_coll(m, endpoint, status, tenant, collection);
    server_metrics_row *row = NULL;
    for (size_t i = 0; i < m->n_rows && !row; i++)
        if (m->rows[i].status == status && !strcmp(m->rows[i].endpoint, endpoint) &&
            server__same_tenant(m->rows[i].tenant, tenant))
            row = &m->rows[i];
    if (!row && m->n_rows < SERVER_METRICS_ROWS) {
        row = &m->rows[m->n_rows++];
        row->endpoint = endpoint;
        row->status = status;
        row->tenant = tenant;
    }
    if (!row) row = &m->rows[SERVER_METRICS_ROWS - 1], row->endpoint = "other", row->tenant = NULL;
    if (!row->count || seconds < row->min) row->min = seconds;
    if (seconds > row->max) row->max = seconds;
    row->count++;
    row->sum += seconds;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    row->last = (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
    for (int b = 0; b < SERVER_METRICS_BUCKETS; b++)
        if (seconds <= server__bounds[b]) {
            row->buckets[b]++;
            break;
        }
    pthread_mutex_unlock(&m->mu);
}

server_metrics_stat *server_metrics_snapshot(server_metrics *m, const char *tenant, bool all_tenants, size_t *n) {
    *n = 0;
    if (!m) return NULL;
    pthread_mutex_lock(&m->mu);
    server_metrics_stat *out = malloc((m->n_rows ? m->n_rows : 1) * sizeof *out);
    size_t k = 0;
    for (size_t i = 0; out && i < m->n_rows; i++) {
        const server_metrics_row *r = &m->rows[i];
        if (!all_tenants && !server__same_tenant(r->tenant, tenant)) continue;
        server_metrics_stat *o = NULL;
        for (size_t j = 0; j < k && !o; j++) /* all tenants: one row per (endpoint, status) */
            if (out[j].status == r->status && !strcmp(out[j].endpoint, r->endpoint)) o = &out[j];
        if (!o) {
            out[k++] = (server_metrics_stat){r->endpoint, r->status, r->count, r->sum, r->min, r->max, r->last};
            continue;
        }
        if (r->min < o->min) o->min = r->min;
        if (r->max > o->max) o->max = r->max;
        if (r->last > o->last) o->last = r->last;
        o->count += r->count;
        o->sum += r->sum;
    }
    if (out) *n = k;
    pthread_mutex_unlock(&m->mu);
    return out;
}

void server_metrics_count_embeddings(server_metrics *m, uint64_t n) {
    if (m) __atomic_add_fetch(&m->n_embedded, n, __ATOMIC_RELAXED);
}

void server_metrics_count_cache(server_metrics *m, uint64_t hits, uint64_t misses, uint64_t entries) {
    if (!m) return;
    __atomic_add_fetch(&m->cache_hits, hits, __ATOMIC_RELAXED);
    __atomic_add_fetch(&m->cache_misses, misses, __ATOMIC_RELAXED);
    __atomic_store_n(&m->cache_entries, entries, __ATOMIC_RELAXED);
}

/* gRPC status names by code (grpc/status.h), as Prometheus labels. */
static const char *const server__grpc_codes[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};

/* The label set {endpoint, status[, tenant]} of a row, without braces; a
** gRPC row's {protocol, method, code, status[, tenant]}. */
static void server__row_labels(const server_metrics_row *r, char *buf, size_t size) {
    int code = r->endpoint[0] == '/' ? server_grpc_code(r->status) : -1; /* a gRPC row: its method path */
    int n = code >= 0 ? snprintf(buf, size, "protocol=\"grpc\",method=\"%s\",code=\"%s\",status=\"%d\"", r->endpoint,
                                 code < 17 ? server__grpc_codes[code] : "UNKNOWN", r->status)
                      : snprintf(buf, size, "endpoint=\"%s\",status=\"%d\"", r->endpoint, r->status);
    if (r->tenant && n > 0 && (size_t)n < size) snprintf(buf + n, size - (size_t)n, ",tenant=\"%s\"", r->tenant);
}

/* The counter lines and latency histogram of the REST rows (grpc false:
** semcode_http_requests_total, semcode_http_request_duration_seconds) or
** of the gRPC rows, whose endpoint is a method path "/qdrant.X/Y" (grpc
** true: semcode_grpc_requests_total, semcode_grpc_request_duration_seconds,
** labelled protocol, method, code and status), from rows[0..n) (mu not held;
** the counter's HELP/TYPE header is the caller's). */
static void server__render_requests(const server_metrics_row *rows, size_t n, bool grpc, util_buf *out) {
    const char *fam = grpc ? "semcode_grpc_request" : "semcode_http_request";
    char lb[512];
    for (size_t i = 0; i < n; i++) {
        if ((rows[i].endpoint[0] == '/') != grpc) continue;
        server__row_labels(&rows[i], lb, sizeof lb);
        util_buf_printf(out, "%ss_total{%s} %llu\n", fam, lb, (unsigned long long)rows[i].count);
    }
    util_buf_printf(out, "# HELP %s_duration_seconds Time to handle a %s.\n# TYPE %s_duration_seconds histogram\n",
                    fam, grpc ? "gRPC call" : "request", fam);
    for (size_t i = 0; i < n; i++) {
        if ((rows[i].endpoint[0] == '/') != grpc) continue;
        uint64_t cum = 0;
        server__row_labels(&rows[i], lb, sizeof lb);
        for (int b = 0; b < SERVER_METRICS_BUCKETS; b++) {
            cum += rows[i].buckets[b];
            util_buf_printf(out, "%s_duration_seconds_bucket{%s,le=\"%g\"} %llu\n", fam, lb, server__bounds[b],
                            (unsigned long long)cum);
        }
        util_buf_printf(out, "%s_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n", fam, lb,
                        (unsigned long long)rows[i].count);
        util_buf_printf(out, "%s_duration_seconds_sum{%s} %.6f\n", fam, lb, rows[i].sum);
        util_buf_printf(out, "%s_duration_seconds_count{%s} %llu\n", fam, lb, (unsigned long long)rows[i].count);
    }
}

/* The store gauges of the collections in the view of tenant (NULL = all,
** by store name): their number, points, index state. */
static void server__render_collections(sc_db *db, const char *tenant, util_buf *out) {
    if (!db) return;
    char **names = NULL;
    size_t n_names = 0;
    if (sc_collection_list(db, &names, &n_names) != SC_OK) return;
    size_t mine = 0;
    for (size_t i = 0; i < n_names; i++) mine += (tenant ? server_tenant_strip(tenant, names[i]) : names[i]) != NULL;
    util_buf_printf(out, "# HELP semcode_collections Collections in the store.\n# TYPE semcode_collections gauge\n"
                         "semcode_collections %zu\n# HELP collections_total number of collections\n"
                         "# TYPE collections_total gauge\ncollections_total %zu\n",
                    mine, mine);
    util_buf cp = {0}; /* Qdrant's name: collection_points{id} */
    util_buf_puts(&cp, "# HELP collection_points approximate amount of points per collection\n"
                       "# TYPE collection_points gauge\n");
    util_buf_puts(out, "# HELP semcode_points Live points per collection.\n# TYPE semcode_points gauge\n");
    uint64_t total = 0;
    util_buf idx = {0}; /* index state lines, printed after the points */
    util_buf_puts(&idx, "# HELP semcode_index_hnsw_built 1 when an HNSW graph answers searches of the vector.\n"
                        "# TYPE semcode_index_hnsw_built gauge\n");
    util_buf ind = {0};
    util_buf_puts(&ind, "# HELP semcode_index_vectors Vectors linked in the HNSW graph of the vector.\n"
                        "# TYPE semcode_index_vectors gauge\n");
    for (size_t i = 0; i < n_names; i++) {
        const char *shown = (tenant ? server_tenant_strip(tenant, names[i]) : names[i]);
        sc_collection_info info;
        if (!shown || sc_collection_info_get(db, names[i], &info) != SC_OK) continue;
        util_buf_printf(out, "semcode_points{collection=\"%s\"} %llu\n", shown, (unsigned long long)info.n_points);
        util_buf_printf(&cp, "collection_points{id=\"%s\"} %llu\n", shown, (unsigned long long)info.n_points);
        total += info.n_points;
        for (size_t v = 0; info.vector_index && v < info.n_vector_params; v++) {
            util_buf_printf(&idx, "semcode_index_hnsw_built{collection=\"%s\",vector=\"%s\"} %d\n", shown,
                            info.vectors[v].name, info.vector_index[v].hnsw_built ? 1 : 0);
            util_buf_printf(&ind, "semcode_index_vectors{collection=\"%s\",vector=\"%s\"} %llu\n", shown,
                            info.vectors[v].name, (unsigned long long)info.vector_index[v].n_indexed);
        }
        sc_collection_info_free(&info);
    }
    if (idx.data) util_buf_append(out, idx.data, idx.len);
    if (ind.data) util_buf_append(out, ind.data, ind.len);
    if (cp.data) util_buf_append(out, cp.data, cp.len);
    util_buf_free(&idx);
    util_buf_free(&ind);
    util_buf_free(&cp);
    util_buf_printf(out, "# HELP semcode_points_total Live points in all collections.\n# TYPE semcode_points_total gauge\n"
                         "semcode_points_total %llu\n",
                    (unsigned long long)total);
    sc_strv_free(names);
}

/* The optional tenant="T" label of a row of tenant (NULL: none), with its leading comma. */
static void server__tenant_label(const char *tenant, util_buf *out) {
    if (tenant) util_buf_printf(out, ",tenant=\"%s\"", tenant);
}

/* true when name is, now, a collection or an alias in tenant's namespace
** (the store name ".tenant.name"). */
static bool server__tenant_has(sc_db *db, const char *tenant, const char *name) {
    char store[SC_MAX_NAME_LEN + 1];
    int n = snprintf(store, sizeof store, ".%s.%s", tenant, name);
    if (!db || n < 0 || (size_t)n >= sizeof store) return false;
    if (sc_collection_exists(db, store)) return true;
    char *target = NULL;
    bool ok = sc_alias_resolve(db, store, &target) == SC_OK;
    sc_free(target);
    return ok;
}

/* Qdrant's rest_responses_total lines: per (method, endpoint, status) from
** rows (already in the view of tenant), or with per_collection per
** collection. tenant NULL (the operator) sees every per-collection row;
** a tenant the rows of its own requests on names that are its collections
** or aliases now: a name it tried that is not its own (a 404, maybe
** another tenant's) is left out (mu not held). */
static void server__metrics_rest(server_metrics *m, sc_db *db, const server_metrics_row *rows, size_t n,
                                 const char *tenant, bool per_collection, util_buf *out) {
    util_buf_puts(out, "# HELP rest_responses_total total number of responses\n# TYPE rest_responses_total counter\n");
    char path[256];
    for (size_t i = 0; !per_collection && i < n; i++) {
        if (!server_route_path(rows[i].endpoint, path, sizeof path)) continue;
        char *sp = strchr(path, ' ');
        *sp = 0;
        util_buf_printf(out, "rest_responses_total{method=\"%s\",endpoint=\"%s\",status=\"%d\"", path, sp + 1,
                        rows[i].status);
        server__tenant_label(rows[i].tenant, out);
        util_buf_printf(out, "} %llu\n", (unsigned long long)rows[i].count);
    }
    if (!per_collection) return;
    /* copy the rows of the view under mu, ask the store outside it */
    pthread_mutex_lock(&m->mu);
    server_metrics_coll_row *copy = malloc((m->n_coll_rows ? m->n_coll_rows : 1) * sizeof *copy);
    size_t n_copy = 0;
    for (size_t i = 0; copy && i < m->n_coll_rows; i++)
        if (!tenant || server__same_tenant(m->coll_rows[i].tenant, tenant)) copy[n_copy++] = m->coll_rows[i];
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; i < n_copy; i++) {
        const server_metrics_coll_row *r = &copy[i];
        if (tenant && !server__tenant_has(db, tenant, r->collection)) continue;
        if (!server_route_path(r->endpoint, path, sizeof path)) continue;
        char *sp = strchr(path, ' ');
        *sp = 0;
        util_buf_puts(out, "rest_responses_total{method=\"");
        util_buf_puts(out, path);
        util_buf_printf(out, "\",endpoint=\"%s\",status=\"%d\",collection=\"", sp + 1, r->status);
        for (const char *c = r->collection; *c; c++) { /* Prometheus label escapes */
            if (*c == '"' || *c == '\\') util_buf_append(out, "\\", 1);
            if (*c == '\n') util_buf_puts(out, "\\n");
            else util_buf_append(out, c, 1);
        }
        util_buf_puts(out, "\"");
        server__tenant_label(r->tenant, out);
        util_buf_printf(out, "} %llu\n", (unsigned long long)r->count);
    }
    free(copy);
}

void server_metrics_render(server_metrics *m, sc_db *db, const char *tenant, bool per_collection, util_buf *out) {
    util_buf_puts(out, "# HELP semcode_http_requests_total HTTP requests by endpoint and status (and the tenant of "
                       "the key).\n# TYPE semcode_http_requests_total counter\n");
    pthread_mutex_lock(&m->mu);
    size_t n = 0;
    server_metrics_row *copy = malloc((m->n_rows ? m->n_rows : 1) * sizeof *copy);
    for (size_t i = 0; copy && i < m->n_rows; i++) /* a tenant's view: its own rows only */
        if (!tenant || server__same_tenant(m->rows[i].tenant, tenant)) copy[n++] = m->rows[i];
    pthread_mutex_unlock(&m->mu);
    if (!copy) return;
    server__render_requests(copy, n, false, out);
    util_buf_puts(out, "# HELP semcode_grpc_requests_total gRPC calls by method, status code (and the REST core's "
                       "HTTP status) and the tenant of the key.\n# TYPE semcode_grpc_requests_total counter\n");
    server__render_requests(copy, n, true, out);
    /* the same under Qdrant's names, so its dashboards and clients find them:
    ** app_info names the API (Qdrant's, version SERVER_QDRANT_VERSION),
    ** semcode_build_info the program that answers */
    util_buf_printf(out, "# HELP app_info information about qdrant server\n# TYPE app_info gauge\n"
                         "app_info{name=\"qdrant\",version=\"%s\"} 1\n"
                         "# HELP semcode_build_info the semcode build answering Qdrant's API\n"
                         "# TYPE semcode_build_info gauge\nsemcode_build_info{version=\"%s\"} 1\n",
                    SERVER_QDRANT_VERSION, SC_VERSION_STRING);
    server__metrics_rest(m, db, copy, n, tenant, per_collection, out);
    free(copy);
    if (tenant) { /* server-wide counters are the operator's */
        server__render_collections(db, tenant, out);
        return;
    }
    util_buf_printf(out, "# HELP semcode_embeddings_total Texts embedded by the server's model (embeddings API, text "
                         "queries, upserted documents; cache hits excluded).\n"
                         "# TYPE semcode_embeddings_total counter\nsemcode_embeddings_total %llu\n",
                    (unsigned long long)__atomic_load_n(&m->n_embedded, __ATOMIC_RELAXED));
    uint64_t hits = __atomic_load_n(&m->cache_hits, __ATOMIC_RELAXED);
    uint64_t misses = __atomic_load_n(&m->cache_misses, __ATOMIC_RELAXED);
    util_buf_printf(out,
                    "# HELP semcode_embedding_cache_hits_total Embedding cache lookups answered from the cache.\n"
                    "# TYPE semcode_embedding_cache_hits_total counter\nsemcode_embedding_cache_hits_total %llu\n"
                    "# HELP semcode_embedding_cache_misses_total Embedding cache lookups that had to embed.\n"
                    "# TYPE semcode_embedding_cache_misses_total counter\nsemcode_embedding_cache_misses_total %llu\n"
                    "# HELP semcode_embedding_cache_hit_ratio hits / (hits + misses) since start (0 before any lookup).\n"
                    "# TYPE semcode_embedding_cache_hit_ratio gauge\nsemcode_embedding_cache_hit_ratio %.6f\n"
                    "# HELP semcode_embedding_cache_entries Vectors held by the embedding cache.\n"
                    "# TYPE semcode_embedding_cache_entries gauge\nsemcode_embedding_cache_entries %llu\n",
                    (unsigned long long)hits, (unsigned long long)misses,
                    hits + misses ? (double)hits / (double)(hits + misses) : 0.0,
                    (unsigned long long)__atomic_load_n(&m->cache_entries, __ATOMIC_RELAXED));
    if (!db) return;
    server__render_collections(db, NULL, out);
    sc_search_plans sp = sc_db_search_plans(db);
    util_buf_printf(out,
                    "# HELP semcode_search_plans_total Query vectors searched, by the planner's choice.\n"
                    "# TYPE semcode_search_plans_total counter\n"
                    "semcode_search_plans_total{plan=\"graph\"} %llu\n"
                    "semcode_search_plans_total{plan=\"graph_filter\"} %llu\n"
                    "semcode_search_plans_total{plan=\"exact_list\"} %llu\n"
                    "semcode_search_plans_total{plan=\"exact_scan\"} %llu\n"
                    "semcode_search_plans_total{plan=\"sparse_index\"} %llu\n"
                    "semcode_search_plans_total{plan=\"sparse_list\"} %llu\n",
                    (unsigned long long)sp.graph, (unsigned long long)sp.graph_filter,
                    (unsigned long long)sp.exact_list, (unsigned long long)sp.exact_scan,
                    (unsigned long long)sp.sparse_index, (unsigned long long)sp.sparse_list);
}
