/*
** tests/unit/test_hnsw: the HNSW index against exact search on clustered
** synthetic data (ann_testdata.c): recall@10, filtered recall with a 1 %
** filter, delete / update / vacuum, save / load round trip, detection of
** truncated and damaged files, determinism of builds (1 and 2 threads), and
** parameter checks.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ann_testdata.h"
#include "index/hnsw.h"
#include "testutil.h"

#define DIM 32
#define N_BIG 20000
#define N_Q 100
#define K 10

/* Shared index of N_BIG normalised points (built once by the group setup). */
typedef struct fixture {
    float *data;      /* N_BIG * DIM */
    float *queries;   /* N_Q * DIM */
    hnsw_index *idx;  /* built with 2 threads */
    char path[64];    /* scratch file */
} fixture;

static fixture fx;

static hnsw_source src_of(const float *data) {
    hnsw_source s = {data, DIM, NULL, NULL};
    return s;
}

static hnsw_index *build(const float *data, uint32_t n, index_metric metric, uint32_t n_threads,
                         uint64_t seed) {
    hnsw_params p = hnsw_params_default();
    p.dim = DIM;
    p.metric = metric;
    p.m = 16;
    p.ef_construct = 100;
    p.n_threads = n_threads;
    p.seed = seed;
    hnsw_source s = src_of(data);
    hnsw_index *idx = NULL;
    sc_err err = {0};
    assert_int_equal(hnsw_index_new(&p, &s, &idx, &err), SC_OK);
    uint32_t *rows = malloc(n * sizeof *rows);
    for (uint32_t i = 0; i < n; i++) rows[i] = i;
    assert_int_equal(hnsw_index_add_batch(idx, rows, n, &err), SC_OK);
    free(rows);
    return idx;
}

/* Mean recall@K of the index over the queries, with optional filter and
** rows to skip in the exact answer (deleted). */
static double recall(const hnsw_index *idx, const float *data, uint32_t n, const float *queries,
                     uint32_t nq, uint32_t ef, const index_scan_filter *f, const bool *skip,
                     index_metric metric) {
    double sum = 0.0;
    for (uint32_t q = 0; q < nq; q++) {
        uint32_t truth[K], got[K], nt, ng;
        index_hit hits[K];
        nt = ann_test_exact(metric, data, n, DIM, queries + (size_t)q * DIM, K, f ? f->accept : NULL,
                            f ? f->state : NULL, skip, truth);
        hnsw_search_opts o = {.ef = ef, .filter = f};
        assert_int_equal(hnsw_index_search(idx, queries + (size_t)q * DIM, K, &o, hits, &ng, NULL), SC_OK);
        for (uint32_t i = 0; i < ng; i++) {
            got[i] = hits[i].row;
            if (skip) assert_false(skip[hits[i].row]);
            if (f) assert_true(f->accept(f->state, hits[i].row));
            if (i) {
                if (metric == INDEX_METRIC_DOT) assert_true(hits[i - 1].score >= hits[i].score);
                else assert_true(hits[i - 1].score <= hits[i].score);
            }
        }
        sum += ann_test_overlap(got, ng, truth, nt);
    }
    return sum / nq;
}

static int setup(void **state) {
    (void)state;
    fx.data = malloc((size_t)N_BIG * DIM * sizeof(float));
    fx.queries = malloc((size_t)N_Q * DIM * sizeof(float));
    ann_test_mixture(fx.data, N_BIG, DIM, N_BIG / 50, 7, 99, true);
    ann_test_mixture(fx.queries, N_Q, DIM, N_BIG / 50, 8, 99, true);
    fx.idx = build(fx.data, N_BIG, INDEX_METRIC_DOT, 2, 42);
    snprintf(fx.path, sizeof fx.path, "/tmp/test_hnsw_%d.idx", (int)getpid());
    return 0;
}

static int teardown(void **state) {
    (void)state;
    hnsw_index_free(fx.idx);
    free(fx.data);
    free(fx.queries);
    unlink(fx.path);
    return 0;
}

/* ==== Recall ==== */

static void test_recall_dot(void **state) {
    (void)state;
    double r = recall(fx.idx, fx.data, N_BIG, fx.queries, N_Q, 64, NULL, NULL, INDEX_METRIC_DOT);
    print_message("recall@10 dot ef=64 n=%d: %.4f\n", N_BIG, r);
    assert_true(r >= 0.95);
    hnsw_info in = hnsw_index_info(fx.idx);
    assert_int_equal(in.n_live, N_BIG);
    assert_int_equal(in.n_deleted, 0);
    assert_true(in.bytes_per_vector > 100.0 && in.bytes_per_vector < 400.0);
    /* A tiny ef must still return k results. */
    index_hit hits[K];
    uint32_t n;
    hnsw_search_opts o = {.ef = 1};
    assert_int_equal(hnsw_index_search(fx.idx, fx.queries, K, &o, hits, &n, NULL), SC_OK);
    assert_int_equal(n, K);
}

static void test_recall_l2_l1(void **state) {
    (void)state;
    uint32_t n = 4000;
    float *d = malloc((size_t)n * DIM * sizeof(float));
    float *q = malloc((size_t)N_Q * DIM * sizeof(float));
    ann_test_mixture(d, n, DIM, n / 50, 11, 5, false);
    ann_test_mixture(q, N_Q, DIM, n / 50, 12, 5, false);
    index_metric ms[2] = {INDEX_METRIC_L2, INDEX_METRIC_L1};
    for (int i = 0; i < 2; i++) {
        hnsw_index *idx = build(d, n, ms[i], 1, 3);
        double r = recall(idx, d, n, q, N_Q, 64, NULL, NULL, ms[i]);
        print_message("recall@10 %s ef=64 n=%u: %.4f\n", i ? "l1" : "l2", n, r);
        assert_true(r >= 0.95);
        index_hit h[1];
        uint32_t nh;
        /* The distance of a stored point to itself is 0. */
        assert_int_equal(hnsw_index_search(idx, d + 17 * DIM, 1, NULL, h, &nh, NULL), SC_OK);
        assert_int_equal(h[0].row, 17);
        assert_true(h[0].score < 1e-3f);
        hnsw_index_free(idx);
    }
    free(d);
    free(q);
}

/* ==== Filtered search ==== */

static bool accept_1pct(void *st, uint32_t row) {
    (void)st;
    return util_mix64(row) % 100 == 0;
}

static void test_filter_1pct(void **state) {
    (void)state;
    uint32_t admitted = 0;
    for (uint32_t r = 0; r < N_BIG; r++) admitted += accept_1pct(NULL, r);
    assert_true(admitted > 150 && admitted < 250);
    index_scan_filter f = {accept_1pct, NULL, NULL};
    double r = recall(fx.idx, fx.data, N_BIG, fx.queries, N_Q, 64, &f, NULL, INDEX_METRIC_DOT);
    print_message("filtered (1%%, %u rows) recall@10 ef=64: %.4f\n", admitted, r);
    assert_true(r >= 0.95);
}

/* ==== Delete, update, vacuum ==== */

static void test_delete_update_vacuum(void **state) {
    (void)state;
    uint32_t n = 5000;
    float *d = malloc((size_t)n * DIM * sizeof(float));
    memcpy(d, fx.data, (size_t)n * DIM * sizeof(float));
    hnsw_index *idx = build(d, n, INDEX_METRIC_DOT, 2, 9);
    bool *dead = calloc(n, sizeof *dead);
    sc_err err = {0};
    /* Delete every 4th row, and the entry point's cluster neighbours too. */
    uint32_t n_del = 0;
    for (uint32_t r = 0; r < n; r += 4) {
        assert_int_equal(hnsw_index_delete(idx, r, &err), SC_OK);
        dead[r] = true;
        n_del++;
    }
    assert_int_equal(hnsw_index_delete(idx, 0, &err), SC_NOTFOUND);
    assert_int_equal(hnsw_index_add(idx, 4, &err), SC_EXISTS);
    assert_false(hnsw_index_contains(idx, 8));
    double r1 = recall(idx, d, n, fx.queries, N_Q, 64, NULL, dead, INDEX_METRIC_DOT);
    print_message("after deleting %u: recall %.4f\n", n_del, r1);
    assert_true(r1 >= 0.95);
    /* Update in place: rows 1, 5, 9, ... get new vectors. */
    for (uint32_t r = 1; r < n; r += 40) {
        memcpy(d + (size_t)r * DIM, fx.data + (size_t)(n + r) * DIM, DIM * sizeof(float));
        assert_int_equal(hnsw_index_update(idx, r, &err), SC_OK);
    }
    assert_int_equal(hnsw_index_update(idx, 0, &err), SC_NOTFOUND);
    double r2 = recall(idx, d, n, fx.queries, N_Q, 64, NULL, dead, INDEX_METRIC_DOT);
    print_message("after updates: recall %.4f\n", r2);
    assert_true(r2 >= 0.95);
    /* Each updated row is found by its own new vector. */
    for (uint32_t r = 1; r < n; r += 400) {
        index_hit h[1];
        uint32_t nh;
        assert_int_equal(hnsw_index_search(idx, d + (size_t)r * DIM, 1, NULL, h, &nh, NULL), SC_OK);
        assert_int_equal(h[0].row, r);
    }
    uint32_t freed = 0;
    assert_int_equal(hnsw_index_vacuum(idx, &freed, &err), SC_OK);
    assert_int_equal(freed, n_del);
    hnsw_info in = hnsw_index_info(idx);
    assert_int_equal(in.n_deleted, 0);
    assert_int_equal(in.n_live, n - n_del);
    double r3 = recall(idx, d, n, fx.queries, N_Q, 64, NULL, dead, INDEX_METRIC_DOT);
    print_message("after vacuum: recall %.4f\n", r3);
    assert_true(r3 >= 0.95);
    /* Save/load checks the vacuumed graph's consistency. */
    assert_int_equal(hnsw_index_save(idx, fx.path, &err), SC_OK);
    hnsw_source s = src_of(d);
    hnsw_index *back = NULL;
    assert_int_equal(hnsw_index_load(fx.path, &s, &back, &err), SC_OK);
    hnsw_index_free(back);
    /* Freed rows can be added again (with new vectors). */
    uint32_t *re = malloc(n_del * sizeof *re);
    uint32_t nre = 0;
    for (uint32_t r = 0; r < n; r += 4) {
        memcpy(d + (size_t)r * DIM, fx.data + (size_t)(2 * n + r) * DIM, DIM * sizeof(float));
        re[nre++] = r;
        dead[r] = false;
    }
    assert_int_equal(hnsw_index_add_batch(idx, re, nre, &err), SC_OK);
    double r4 = recall(idx, d, n, fx.queries, N_Q, 64, NULL, NULL, INDEX_METRIC_DOT);
    print_message("after re-adding: recall %.4f\n", r4);
    assert_true(r4 >= 0.95);
    /* Delete everything, vacuum: empty index answers nothing. */
    for (uint32_t r = 0; r < n; r++) assert_int_equal(hnsw_index_delete(idx, r, &err), SC_OK);
    index_hit h[K];
    uint32_t nh = 99;
    assert_int_equal(hnsw_index_search(idx, fx.queries, K, NULL, h, &nh, NULL), SC_OK);
    assert_int_equal(nh, 0);
    assert_int_equal(hnsw_index_vacuum(idx, &freed, &err), SC_OK);
    assert_int_equal(freed, n);
    assert_int_equal(hnsw_index_add(idx, 3, &err), SC_OK);
    assert_int_equal(hnsw_index_search(idx, fx.queries, K, NULL, h, &nh, NULL), SC_OK);
    assert_int_equal(nh, 1);
    assert_int_equal(h[0].row, 3);
    free(re);
    free(dead);
    free(d);
    hnsw_index_free(idx);
}

/* ==== Persistence ==== */

static void test_save_load(void **state) {
    (void)state;
    sc_err err = {0};
    assert_int_equal(hnsw_index_user_tag(fx.idx), 0);
    hnsw_index_set_user_tag(fx.idx, 0x1234567890abcdefull);
    assert_int_equal(hnsw_index_save(fx.idx, fx.path, &err), SC_OK);
    hnsw_source s = src_of(fx.data);
    hnsw_index *back = NULL;
    assert_int_equal(hnsw_index_load(fx.path, &s, &back, &err), SC_OK);
    assert_true(hnsw_index_user_tag(back) == 0x1234567890abcdefull);
    hnsw_info a = hnsw_index_info(fx.idx), b = hnsw_index_info(back);
    assert_int_equal(a.n_live, b.n_live);
    assert_int_equal(a.max_level, b.max_level);
    assert_int_equal(hnsw_index_params(back)->m, 16);
    for (uint32_t q = 0; q < N_Q; q++) {
        index_hit h1[K], h2[K];
        uint32_t n1, n2;
        assert_int_equal(hnsw_index_search(fx.idx, fx.queries + q * DIM, K, NULL, h1, &n1, NULL), SC_OK);
        assert_int_equal(hnsw_index_search(back, fx.queries + q * DIM, K, NULL, h2, &n2, NULL), SC_OK);
        assert_int_equal(n1, n2);
        assert_memory_equal(h1, h2, n1 * sizeof *h1);
    }
    hnsw_index_free(back);
}

static sc_status load_status(const char *path, char *msg, size_t msg_size) {
    hnsw_source s = src_of(fx.data);
    hnsw_index *back = NULL;
    sc_err err = {0};
    sc_status rc = hnsw_index_load(path, &s, &back, &err);
    hnsw_index_free(back);
    snprintf(msg, msg_size, "%s", err.msg);
    return rc;
}

static void test_corrupt(void **state) {
    (void)state;
    sc_err err = {0};
    assert_int_equal(hnsw_index_save(fx.idx, fx.path, &err), SC_OK);
    size_t n_bytes = 0;
    unsigned char *buf = (unsigned char *)tu_read_file(fx.path, &n_bytes);
    assert_non_null(buf);
    long size = (long)n_bytes;
    FILE *f;
    char bad[80], msg[600];
    snprintf(bad, sizeof bad, "%s.bad", fx.path);
    /* Truncations at several points, including inside the header. */
    long cuts[] = {0, 7, 100, 128, 200, size / 2, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        f = fopen(bad, "wb");
        fwrite(buf, 1, (size_t)cuts[i], f);
        fclose(f);
        assert_int_equal(load_status(bad, msg, sizeof msg), SC_CORRUPT);
        assert_non_null(strstr(msg, "offset"));
    }
    /* Single flipped bytes: header, each section. */
    long flips[] = {3, 20, 60, 130, N_BIG + 140, 2 * N_BIG + 200, size / 2, size - 3};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        buf[flips[i]] ^= 0x5a;
        f = fopen(bad, "wb");
        fwrite(buf, 1, (size_t)size, f);
        fclose(f);
        buf[flips[i]] ^= 0x5a;
        assert_int_equal(load_status(bad, msg, sizeof msg), SC_CORRUPT);
        assert_non_null(strstr(msg, "offset"));
    }
    unlink(bad);
    assert_int_equal(load_status("/nonexistent/dir/x.idx", msg, sizeof msg), SC_IOERR);
    /* Saving into a missing directory is an I/O error, not a crash. */
    assert_int_equal(hnsw_index_save(fx.idx, "/nonexistent/dir/x.idx", &err), SC_IOERR);
    free(buf);
}

/* ==== Determinism ==== */

static void test_determinism(void **state) {
    (void)state;
    /* 8,000 rows: rounds grow to their longest (512) and run on 2 threads.
    ** Same seed: byte-identical files with 2 threads twice and with 1
    ** thread; another seed: a different graph. */
    uint32_t n = 8000;
    sc_err err = {0};
    char *img[4];
    size_t sz[4];
    uint64_t seeds[4] = {5, 5, 5, 6};
    uint32_t threads[4] = {2, 2, 1, 2};
    for (int i = 0; i < 4; i++) {
        hnsw_index *idx = build(fx.data, n, INDEX_METRIC_DOT, threads[i], seeds[i]);
        assert_int_equal(hnsw_index_save(idx, fx.path, &err), SC_OK);
        assert_non_null(img[i] = tu_read_file(fx.path, &sz[i]));
        hnsw_index_free(idx);
    }
    for (int i = 1; i < 3; i++) {
        assert_int_equal(sz[0], sz[i]);
        assert_memory_equal(img[0], img[i], (size_t)sz[0]);
    }
    assert_true(sz[0] != sz[3] || memcmp(img[0], img[3], (size_t)sz[0]) != 0);
    for (int i = 0; i < 4; i++) free(img[i]);
}

/* ==== Parameters ==== */

/* The filtered-search cost model: exact for restrictive filters on large
** indexes, the graph walk for broad ones, never exact for "everything". */
static void test_prefer_exact(void **state) {
    (void)state;
    assert_true(hnsw_prefer_exact(10000, 1000000, 64, 16));    /* 1 % of 1M */
    assert_true(hnsw_prefer_exact(45000, 1000000, 64, 16));    /* ~ the break-even */
    assert_false(hnsw_prefer_exact(46000, 1000000, 64, 16));
    assert_false(hnsw_prefer_exact(100000, 1000000, 64, 16));  /* 10 %: walk */
    assert_true(hnsw_prefer_exact(100000, 1000000, 512, 16));  /* a wide beam costs more */
    assert_true(hnsw_prefer_exact(1000, 100000, 64, 16));      /* 1 % of 100k */
    assert_false(hnsw_prefer_exact(1000000, 1000000, 64, 16)); /* everything admitted */
    assert_false(hnsw_prefer_exact(2000000, 1000000, 64, 16));
    assert_true(hnsw_prefer_exact(0, 1000000, 64, 16));
}

static void test_params(void **state) {
    (void)state;
    hnsw_params p = hnsw_params_default();
    hnsw_source s = src_of(fx.data);
    hnsw_index *idx = NULL;
    sc_err err = {0};
    assert_int_equal(hnsw_index_new(&p, &s, &idx, &err), SC_INVALID); /* dim 0 */
    assert_non_null(strstr(err.msg, "dim"));
    p.dim = DIM;
    p.m = 1;
    assert_int_equal(hnsw_index_new(&p, &s, &idx, &err), SC_INVALID);
    assert_non_null(strstr(err.msg, "m 1"));
    p.m = 16;
    hnsw_source none = {0};
    assert_int_equal(hnsw_index_new(&p, &none, &idx, &err), SC_INVALID);
    assert_int_equal(hnsw_index_new(&p, &s, &idx, &err), SC_OK);
    index_hit h[K];
    uint32_t nh = 7;
    assert_int_equal(hnsw_index_search(idx, fx.queries, K, NULL, h, &nh, NULL), SC_OK);
    assert_int_equal(nh, 0);
    hnsw_search_opts o = {.use_codes = true};
    assert_int_equal(hnsw_index_search(idx, fx.queries, K, &o, h, &nh, &err), SC_INVALID);
    uint32_t rows[2] = {5, 5};
    assert_int_equal(hnsw_index_add_batch(idx, rows, 2, &err), SC_INVALID);
    assert_false(hnsw_index_contains(idx, 5));
    hnsw_index_free(idx);
    hnsw_index_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefer_exact),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_recall_dot),
        cmocka_unit_test(test_recall_l2_l1),
        cmocka_unit_test(test_filter_1pct),
        cmocka_unit_test(test_delete_update_vacuum),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_determinism),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
