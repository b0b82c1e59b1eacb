/*
** bench/server_inproc.c: semcode IN-PROCESS on the workload of
** bench/server.sh (issue 9), the like-for-like counterpart of the in-process
** peer (bench/peer/lancedb.mjs): the same points, queries and ground truth
** (files of bench/server_data.mjs), through the public store API, no HTTP.
**
**   load   : the points upserted in batches of 1,000 (vector + payload
**            {"group", "name"} as over HTTP), one sc_points_upsert (one
**            durable commit, sync FULL) per batch, default index (HNSW
**            m 16 / ef_construct 100, built while loading); points/s and
**            CPU seconds of the process;
**   recall : recall@10 of the queries through the index and exactly;
**   search : C threads (1, 8, 32) each calling sc_points_search (limit 10,
**            one thread per search as in the server, no payload) in a
**            loop for SECONDS, the queries in rotation; calls/s, p50, p99;
**   memory : VmHWM of the process.
** Prints a table and writes OUT.json in the shape of the peer's.
** Usage: server_inproc DATADIR N DIM SECONDS STOREDIR OUT.json
*/
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "semcode/store.h"
#include "util/util.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static long status_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') kb = strtol(line + n + 1, NULL, 10);
    if (f) fclose(f);
    return kb;
}

/* DIR/NAME read whole (util_read_file): owned, its size in *n; NULL when unreadable. */
static void *read_file(const char *dir, const char *name, size_t *n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *n = 0;
    return util_read_file(path, n);
}

static int dbl_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double p) { /* nearest rank */
    if (!n) return 0;
    size_t r = (size_t)ceil(p / 100.0 * (double)n);
    if (r < 1) r = 1;
    if (r > n) r = n;
    return sorted[r - 1];
}

typedef struct bench {
    sc_db *db;
    const float *queries;
    size_t nq, dim;
    double end;
    atomic_size_t next;
    atomic_int failed;
} bench;

typedef struct worker {
    bench *b;
    double *lat;
    size_t n, cap;
} worker;

static sc_status search_one(sc_db *db, const float *q, size_t dim, bool exact, sc_record_list **out) {
    sc_search_request req;
    memset(&req, 0, sizeof req);
    req.vector_name = "";
    req.query = q;
    req.dim = (uint32_t)dim;
    req.limit = 10;
    req.n_threads = 1;
    req.exact = exact;
    return sc_points_search(db, "bench", &req, out);
}

static bool g_exact;

static void *worker_run(void *arg) {
    worker *w = arg;
    bench *b = w->b;
    for (;;) {
        double t0 = now_s();
        if (t0 >= b->end) break;
        size_t q = atomic_fetch_add(&b->next, 1) % b->nq;
        sc_record_list *res = NULL;
        if (search_one(b->db, b->queries + q * b->dim, b->dim, g_exact, &res) != SC_OK) atomic_fetch_add(&b->failed, 1);
        sc_record_list_free(res);
        if (w->n == w->cap) {
            size_t cap = w->cap ? 2 * w->cap : 4096;
            double *p = realloc(w->lat, cap * sizeof *p);
            if (!p) break;
            w->lat = p;
            w->cap = cap;
        }
        w->lat[w->n++] = (now_s() - t0) * 1e3;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: server_inproc DATADIR N DIM SECONDS STOREDIR OUT.json\n");
        return 2;
    }
    const char *dir = argv[1], *store = argv[5], *out_path = argv[6];
    size_t n = strtoul(argv[2], NULL, 10), dim = strtoul(argv[3], NULL, 10);
    double secs = strtod(argv[4], NULL);
    size_t len_p, len_q, len_t;
    float *points = read_file(dir, "points.f32", &len_p), *queries = read_file(dir, "queries.f32", &len_q);
    uint32_t *truth = read_file(dir, "truth.u32", &len_t);
    if (!points || !queries || !truth || len_p < n * dim * sizeof(float) || !dim) {
        fprintf(stderr, "server_inproc: missing or short data files in %s\n", dir);
        return 1;
    }
    size_t nq = len_q / (dim * sizeof(float));
    if (len_t != nq * 10 * sizeof(uint32_t)) {
        fprintf(stderr, "server_inproc: truth.u32 does not match queries.f32\n");
        return 1;
    }

    /* Every point and payload built before timing. */
    const size_t batch = 1000;
    sc_point_in *pts = calloc(n, sizeof *pts);
    sc_vector_in *vin = calloc(n, sizeof *vin);
    char(*payload)[48] = calloc(n, sizeof *payload);
    if (!pts || !vin || !payload) return 1;
    for (size_t i = 0; i < n; i++) {
        vin[i] = (sc_vector_in){"", points + i * dim, (uint32_t)dim};
        snprintf(payload[i], sizeof payload[i], "{\"group\":%zu,\"name\":\"p%zu\"}", i % 10, i);
        pts[i] = (sc_point_in){.id = sc_point_id_num(i), .vectors = &vin[i], .n_vectors = 1, .payload_json = payload[i]};
    }
    long baseline_kb = status_kb("VmRSS");

    sc_db_options opt = sc_db_options_default();
    sc_db *db = NULL;
    char *err = NULL;
    if (sc_db_open(store, &opt, &db, &err) != SC_OK) {
        fprintf(stderr, "open %s: %s\n", store, err ? err : "out of memory");
        sc_free(err);
        return 1;
    }
    sc_vector_params vp = {.name = "", .dim = (uint32_t)dim, .distance = SC_DISTANCE_COSINE};
    if (sc_collection_create(db, "bench", &vp, 1) != SC_OK) {
        fprintf(stderr, "create: %s\n", sc_db_errmsg(db));
        return 1;
    }

    double c0 = cpu_s(), t0 = now_s();
    for (size_t b0 = 0; b0 < n; b0 += batch)
        if (sc_points_upsert(db, "bench", pts + b0, n - b0 < batch ? n - b0 : batch) != SC_OK) {
            fprintf(stderr, "upsert: %s\n", sc_db_errmsg(db));
            return 1;
        }
    double load_s = now_s() - t0, load_cpu = cpu_s() - c0;
    printf("   upserted %zu points in %.2f s = %.0f points/s (HNSW built while loading; %.1f CPU s)\n", n, load_s,
           (double)n / load_s, load_cpu);

    double rec[2];
    for (int e = 0; e < 2; e++) {
        size_t hit = 0;
        for (size_t q = 0; q < nq; q++) {
            sc_record_list *res = NULL;
            if (search_one(db, queries + q * dim, dim, e == 1, &res) != SC_OK) {
                fprintf(stderr, "search: %s\n", sc_db_errmsg(db));
                return 1;
            }
            for (size_t i = 0; i < res->n; i++)
                for (size_t j = 0; j < 10; j++) hit += res->items[i].id.num == truth[q * 10 + j];
            sc_record_list_free(res);
        }
        rec[e] = (double)hit / (double)(nq * 10);
    }
    printf("   recall@10: HNSW %.4f, exact %.4f\n", rec[0], rec[1]);

    FILE *out = fopen(out_path, "w");
    if (!out) return 1;
    fprintf(out,
            "{\"system\":\"semcode in-process (store API, no HTTP)\",\"index\":\"HNSW m 16, ef_construct 100, ef "
            "64\",\"points\":%zu,\"load_s\":%.6f,\"load_cpu_s\":%.3f,\"index_s\":0,\"index_cpu_s\":0,"
            "\"recall_hnsw\":%.6f,\"recall_exact\":%.6f,\"runs\":[",
            n, load_s, load_cpu, rec[0], rec[1]);
    static const int conc[] = {1, 8, 32};
    bool first = true;
    for (int e = 0; e < 2; e++)
        for (size_t c = 0; c < sizeof conc / sizeof conc[0]; c++) {
            int nt = conc[c];
            bench b = {.db = db, .queries = queries, .nq = nq, .dim = dim};
            atomic_init(&b.next, 0);
            atomic_init(&b.failed, 0);
            worker *w = calloc((size_t)nt, sizeof *w);
            pthread_t *th = calloc((size_t)nt, sizeof *th);
            if (!w || !th) return 1;
            g_exact = e == 1;
            double start = now_s();
            b.end = start + secs;
            for (int i = 0; i < nt; i++) {
                w[i].b = &b;
                pthread_create(&th[i], NULL, worker_run, &w[i]);
            }
            size_t total = 0;
            for (int i = 0; i < nt; i++) {
                pthread_join(th[i], NULL);
                total += w[i].n;
            }
            double el = now_s() - start;
            double *all = malloc((total ? total : 1) * sizeof *all);
            if (!all) return 1;
            size_t k = 0;
            for (int i = 0; i < nt; i++) {
                memcpy(all + k, w[i].lat, w[i].n * sizeof *all);
                k += w[i].n;
                free(w[i].lat);
            }
            qsort(all, total, sizeof *all, dbl_cmp);
            double rps = (double)total / el, p50 = pct(all, total, 50), p99 = pct(all, total, 99);
            printf("%-6s c=%-3d %10.2f calls/s   p50 %.2fms  p99 %.2fms%s\n", e ? "exact" : "hnsw", nt, rps, p50, p99,
                   atomic_load(&b.failed) ? "  (failures)" : "");
            fprintf(out, "%s{\"kind\":\"%s\",\"conns\":%d,\"rps\":%.3f,\"p50_ms\":%.4f,\"p99_ms\":%.4f}",
                    first ? "" : ",", e ? "exact" : "hnsw", nt, rps, p50, p99);
            first = false;
            free(all);
            free(w);
            free(th);
        }
    long hwm = status_kb("VmHWM");
    printf("== semcode in-process peak RSS: %ld kB (before opening the store: %ld kB)\n", hwm, baseline_kb);
    fprintf(out, "],\"vmhwm_kb\":%ld,\"baseline_rss_kb\":%ld}\n", hwm, baseline_kb);
    fclose(out);
    sc_db_close(db);
    free(points);
    free(queries);
    free(truth);
    free(pts);
    free(vin);
    free(payload);
    return 0;
}
