/*
** bench/store.c: throughput of the embedded store through its public API
** (include/semcode/store.h), on the synthetic data of bench/synth.h.
**   upsert : points/s for batches of 1,000 points (384-d vector + a small
**            payload of 4 keys, ~80 bytes of JSON), each batch one
**            sc_points_upsert call (one durable commit), into a collection
**            with exact search only (no HNSW build in the timing);
**            bytes on disk per point = size of the store directory / points.
**   search : queries/s of sc_points_search (exact, 1 thread, limit 10, no
**            payload returned) one query at a time and of
**            sc_points_search_batch with all queries, next to
**            index_flat_search on the same vectors (the store's overhead),
**            with agreement of the ids with index_flat_search.
** Usage: store [dir] [n_points] [n_queries] [sync: full|normal]
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "semcode/store.h"
#include "index/index.h"
#include "synth.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Total size of the regular files under path. */
static unsigned long long dir_bytes(const char *path) {
    DIR *d = opendir(path);
    if (d == NULL) return 0;
    unsigned long long total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) total += dir_bytes(p);
        else if (S_ISREG(st.st_mode)) total += (unsigned long long)st.st_size;
    }
    closedir(d);
    return total;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        sc_status rc_ = (call);                                                                    \
        if (rc_ != SC_OK) {                                                                        \
            fprintf(stderr, "%s failed: %s: %s\n", #call, sc_status_str(rc_), sc_db_errmsg(db));     \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv) {
    char tmpl[] = "/tmp/semcode-bench-store-XXXXXX";
    const char *dir = argc > 1 && strcmp(argv[1], "-") != 0 ? argv[1] : mkdtemp(tmpl);
    size_t n_pts = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    size_t n_q = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
    bool normal = argc > 4 && strcmp(argv[4], "normal") == 0;
    const size_t dim = 384, batch = 1000, k = 10;
    if (dir == NULL) return 1;

    bench_synth gen;
    float *vecs = malloc(n_pts * dim * sizeof(float)), *qs = malloc(n_q * dim * sizeof(float));
    if (vecs == NULL || qs == NULL || !bench_synth_init(&gen, 2, dim, 1000)) return 1;
    bench_synth_fill(&gen, vecs, n_pts);
    bench_synth_fill(&gen, qs, n_q);
    bench_synth_free(&gen);

    sc_db_options opt = sc_db_options_default();
    opt.sync = normal ? SC_SYNC_MODE_NORMAL : SC_SYNC_MODE_FULL;
    opt.n_threads = 1;
    sc_db *db = NULL;
    char *err = NULL;
    if (sc_db_open(dir, &opt, &db, &err) != SC_OK) {
        fprintf(stderr, "open %s: %s\n", dir, err ? err : "out of memory");
        sc_free(err);
        return 1;
    }
    sc_vector_params vp = {.name = "", .dim = (uint32_t)dim, .distance = SC_DISTANCE_COSINE};
    vp.hnsw.kind = SC_INDEX_KIND_FLAT;
    CHECK(sc_collection_create(db, "bench", &vp, 1));

    /* ==== Upsert ==== */
    sc_point_in *pts = calloc(batch, sizeof *pts);
    sc_vector_in *vin = calloc(batch, sizeof *vin);
    char (*payload)[160] = calloc(batch, sizeof *payload);
    if (pts == NULL || vin == NULL || payload == NULL) return 1;
    size_t payload_bytes = 0;
    double t0 = now_s();
    for (size_t b0 = 0; b0 < n_pts; b0 += batch) {
        size_t nb = n_pts - b0 < batch ? n_pts - b0 : batch;
        for (size_t i = 0; i < nb; i++) {
            size_t id = b0 + i;
            vin[i] = (sc_vector_in){"", vecs + id * dim, (uint32_t)dim};
            int len = snprintf(payload[i], sizeof payload[i],
                               "{\"path\":\"src/mod%zu/file%zu.c\",\"kind\":\"function\",\"name\":\"fn_%zu\",\"start_line\":%zu}",
                               id % 97, id % 1009, id, id % 5000);
            payload_bytes += (size_t)len;
            pts[i] = (sc_point_in){.id = sc_point_id_num(id), .vectors = &vin[i], .n_vectors = 1,
                                   .payload_json = payload[i]};
        }
        CHECK(sc_points_upsert(db, "bench", pts, nb));
    }
    double t_up = now_s() - t0;

    /* ==== Search ==== */
    sc_search_request req;
    memset(&req, 0, sizeof req);
    req.vector_name = "";
    req.dim = (uint32_t)dim;
    req.limit = (uint32_t)k;
    req.n_threads = 1;
    req.exact = true;
    sc_record_list *one = NULL;
    req.query = qs;
    CHECK(sc_points_search(db, "bench", &req, &one)); /* warm-up */
    sc_record_list_free(one);

    size_t n_single = n_q < 200 ? n_q : 200;
    uint64_t *ids1 = calloc(n_q * k, sizeof *ids1), *idsb = calloc(n_q * k, sizeof *idsb);
    if (ids1 == NULL || idsb == NULL) return 1;
    t0 = now_s();
    for (size_t q = 0; q < n_single; q++) {
        req.query = qs + q * dim;
        CHECK(sc_points_search(db, "bench", &req, &one));
        for (size_t i = 0; i < one->n && i < k; i++) ids1[q * k + i] = one->items[i].id.num;
        sc_record_list_free(one);
    }
    double t_s1 = now_s() - t0;

    sc_record_list **lists = calloc(n_q, sizeof *lists); /* one owned list per query */
    if (lists == NULL) return 1;
    req.query = NULL;
    t0 = now_s();
    CHECK(sc_points_search_batch(db, "bench", &req, qs, n_q, lists));
    double t_sb = now_s() - t0;
    for (size_t q = 0; q < n_q; q++) {
        for (size_t i = 0; i < lists[q]->n && i < k; i++) idsb[q * k + i] = lists[q]->items[i].id.num;
        sc_record_list_free(lists[q]);
    }
    free(lists);

    /* The same search straight on the vectors, for the store's overhead. */
    index_flat_params fp = {INDEX_METRIC_DOT, (uint32_t)k, false, 0.0f, 1};
    index_hit *hits = malloc(n_q * k * sizeof *hits);
    uint32_t *nh = malloc(n_q * sizeof *nh);
    if (hits == NULL || nh == NULL) return 1;
    t0 = now_s();
    for (size_t q = 0; q < n_single; q++)
        index_flat_search(NULL, &fp, qs + q * dim, 1, vecs, n_pts, dim, NULL, hits + q * k, nh + q);
    double t_f1 = now_s() - t0;
    t0 = now_s();
    index_flat_search(NULL, &fp, qs, n_q, vecs, n_pts, dim, NULL, hits, nh);
    double t_fb = now_s() - t0;
    double agree1 = 0, agreeb = 0;
    for (size_t q = 0; q < n_q; q++) {
        size_t a1 = 0, ab = 0;
        for (size_t i = 0; i < nh[q]; i++)
            for (size_t j = 0; j < k; j++) {
                a1 += q < n_single && ids1[q * k + j] == hits[q * k + i].row;
                ab += idsb[q * k + j] == hits[q * k + i].row;
            }
        agree1 += (double)a1 / (double)k;
        agreeb += (double)ab / (double)k;
    }

    sc_db_close(db);
    unsigned long long bytes = dir_bytes(dir);

    printf("store: %zu points x %zu-d + payload (avg %.0f B JSON), batches of %zu, sync=%s, dir %s\n", n_pts,
           dim, (double)payload_bytes / (double)n_pts, batch, normal ? "normal" : "full", dir);
    printf("upsert: %.0f points/s (%.2f s), %.1f batches/s\n", (double)n_pts / t_up, t_up,
           (double)n_pts / (double)batch / t_up);
    printf("disk: %llu bytes = %.0f bytes/point (raw f32 vector = %zu B)\n", bytes, (double)bytes / (double)n_pts,
           dim * sizeof(float));
    printf("%-44s %10s\n", "search (exact, 1 thread, limit 10)", "queries/s");
    printf("%-44s %10.1f\n", "sc_points_search, one query per call", (double)n_single / t_s1);
    printf("%-44s %10.1f\n", "sc_points_search_batch, all queries", (double)n_q / t_sb);
    printf("%-44s %10.1f\n", "index_flat_search, one query per call", (double)n_single / t_f1);
    printf("%-44s %10.1f\n", "index_flat_search, batched", (double)n_q / t_fb);
    printf("id agreement with index_flat_search: single %.4f, batched %.4f\n", agree1 / (double)n_single,
           agreeb / (double)n_q);
    free(vecs);
    free(qs);
    free(pts);
    free(vin);
    free(payload);
    free(ids1);
    free(idsb);
    free(hits);
    free(nh);
    return 0;
}
