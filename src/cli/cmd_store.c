/*
** cli/cmd_store.c: `semcode store-demo`, a tour of the embedded vector
** store: creates a collection in a store directory, upserts clustered
** vectors with payloads in batches, builds a payload index, then runs
** exact searches with and without a filter and prints what it did and how
** long it took. A stand-in main job until `semcode index` exists.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static double cli__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t cli__rng(uint64_t *s) {
    uint64_t x = *s += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static float cli__gauss(uint64_t *s) {
    double u = ((double)(cli__rng(s) >> 11) + 1.0) / 9007199254740993.0;
    double v = (double)(cli__rng(s) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static void cli__store_usage(FILE *f) {
    fprintf(f,
            "usage: semcode store-demo [--store DIR] [--points N] [--dim D] [--index auto|flat]\n\n"
            "Creates collection 'demo' in the store at DIR (default ./semcode-demo-store),\n"
            "upserts N clustered vectors (default 100000, dimension D default 384) with\n"
            "payloads {\"cluster\": int, \"lang\": str}, indexes 'lang', and runs exact\n"
            "top-10 searches with and without a filter. An existing 'demo' collection is\n"
            "replaced. --index flat keeps the vectors without an HNSW graph (exact search):\n"
            "a large store quickly, for benchmarks of what does not depend on the graph.\n");
}

int cli_cmd_store_demo(int argc, char **argv) {
    const char *dir = "semcode-demo-store";
    long n = 100000, dim = 384;
    sc_index_kind kind = SC_INDEX_KIND_AUTO;
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'}, {"points", required_argument, NULL, 'n'},
        {"dim", required_argument, NULL, 'd'},   {"index", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_opts p;
    cli_opts_begin(&p, "store-demo", argc, argv, "s:n:d:i:h", opts);
    int ch;
    uint32_t v;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case 's': dir = optarg; break;
        case 'n':
            if (cli_opt_u32("store-demo", "--points", optarg, 1, 10000000, &v)) return 2;
            n = v;
            break;
        case 'd':
            if (cli_opt_u32("store-demo", "--dim", optarg, 1, SC_MAX_DIM, &v)) return 2;
            dim = v;
            break;
        case 'i':
            if (!strcmp(optarg, "flat")) kind = SC_INDEX_KIND_FLAT;
            else if (strcmp(optarg, "auto")) return cli_usage_error("store-demo", "--index '%s' is not auto or flat", optarg);
            break;
        case 'h': cli__store_usage(stdout); return 0;
        default: return 2; /* CLI_OPT_BAD: said why */
        }
    }
    if (optind < argc) return cli_usage_error("store-demo", "unexpected argument '%s'", argv[optind]);
    sc_db *db = NULL;
    char *err = NULL;
    if (sc_db_open(dir, NULL, &db, &err) != SC_OK) {
        fprintf(stderr, "semcode: %s\n", err ? err : "out of memory");
        sc_free(err);
        return 1;
    }
    int rc = 1;
    float *vecs = NULL, *centroids = NULL;
    sc_point_in *pts = NULL;
    sc_vector_in *vin = NULL;
    char (*payload)[64] = NULL;
    if (sc_collection_exists(db, "demo")) sc_collection_delete(db, "demo");
    sc_vector_params vp = {.name = "", .dim = (uint32_t)dim, .distance = SC_DISTANCE_COSINE, .hnsw = {.kind = kind}};
    if (sc_collection_create(db, "demo", &vp, 1) != SC_OK) goto fail;
    const long batch = 1000, n_clusters = 200;
    static const char *langs[] = {"c", "python", "go", "rust", "java"};
    vecs = malloc(sizeof(float) * (size_t)dim * (size_t)batch);
    centroids = malloc(sizeof(float) * (size_t)dim * (size_t)n_clusters);
    pts = calloc((size_t)batch, sizeof *pts);
    vin = calloc((size_t)batch, sizeof *vin);
    payload = calloc((size_t)batch, sizeof *payload);
    if (!vecs || !centroids || !pts || !vin || !payload) {
        fprintf(stderr, "semcode: out of memory\n");
        goto out;
    }
    uint64_t seed = 42;
    for (long i = 0; i < dim * n_clusters; i++) centroids[i] = cli__gauss(&seed);
    printf("store %s: upserting %ld points of dimension %ld in batches of %ld\n", dir, n, dim, batch);
    double t0 = cli__now();
    for (long done = 0; done < n; done += batch) {
        long m = n - done < batch ? n - done : batch;
        for (long i = 0; i < m; i++) {
            long id = done + i, cl = (long)(cli__rng(&seed) % (uint64_t)n_clusters);
            for (long d = 0; d < dim; d++)
                vecs[i * dim + d] = centroids[cl * dim + d] + 0.5f * cli__gauss(&seed);
            snprintf(payload[i], sizeof payload[i], "{\"cluster\": %ld, \"lang\": \"%s\"}", cl, langs[id % 5]);
            vin[i] = (sc_vector_in){"", vecs + i * dim, (uint32_t)dim};
            pts[i] = (sc_point_in){.id = sc_point_id_num((uint64_t)id), .vectors = &vin[i], .n_vectors = 1, .payload_json = payload[i]};
        }
        if (sc_points_upsert(db, "demo", pts, (size_t)m) != SC_OK) goto fail;
    }
    double t1 = cli__now();
    printf("  upserted in %.2f s (%.0f points/s)\n", t1 - t0, (double)n / (t1 - t0));
    if (sc_field_index_create(db, "demo", "lang", SC_FIELD_TYPE_KEYWORD) != SC_OK) goto fail;
    sc_collection_info info;
    if (sc_collection_info_get(db, "demo", &info) != SC_OK) goto fail;
    printf("  collection demo: %llu points, %.1f MB on disk (%.0f bytes/point)\n",
           (unsigned long long)info.n_points, (double)info.disk_bytes / 1e6,
           (double)info.disk_bytes / (double)info.n_points);
    sc_collection_info_free(&info);
    const char *filters[] = {NULL, "{\"must\": [{\"key\": \"lang\", \"match\": {\"value\": \"rust\"}}]}"};
    for (int fi = 0; fi < 2; fi++) {
        sc_search_request req = {.query = vecs, .dim = (uint32_t)dim, .limit = 5, .filter_json = filters[fi],
                                 .with = {.payload = true}};
        sc_record_list *res = NULL;
        double s0 = cli__now();
        if (sc_points_search(db, "demo", &req, &res) != SC_OK) goto fail;
        double s1 = cli__now();
        printf("\nsearch (filter: %s) took %.1f ms:\n", filters[fi] ? filters[fi] : "none", (s1 - s0) * 1e3);
        for (size_t i = 0; i < res->n; i++)
            printf("  id %-8llu score %.4f  %s\n", (unsigned long long)res->items[i].id.num,
                   (double)res->items[i].score, res->items[i].payload_json);
        sc_record_list_free(res);
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "semcode: %s\n", sc_db_errmsg(db));
out:
    free(vecs);
    free(centroids);
    free(pts);
    free(vin);
    free(payload);
    sc_db_close(db);
    return rc;
}
