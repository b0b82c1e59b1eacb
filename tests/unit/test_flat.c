/*
** Unit tests of exact search (index_flat_search) against a naive reference
** that scores every row with the same kernel, sorts all of them by (score,
** tie rule, row) and keeps the first k. Covers the three metrics, ties
** ordered by tie_cmp, thresholds, the accept filter, k larger than the
** matrix, multi-thread == single-thread and batch == one query at a time.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ann_testdata.h"
#include "index/index.h"
#include "testutil.h"

/* ==== Helpers ==== */

static tu_rng rng_state;

static float rnd_unit(void) { return tu_unit(&rng_state); }

/* A data set with many exact duplicates: row r copies row r % n_distinct,
** so scores tie exactly and the tie rule decides the order. */
typedef struct dataset {
    float *rows;     /* n_rows x dim */
    float *queries;  /* n_q x dim */
    size_t n_rows;   /* rows */
    size_t n_q;      /* queries */
    size_t dim;      /* floats per vector */
} dataset;

static dataset make_dataset(size_t n_rows, size_t n_distinct, size_t n_q, size_t dim, uint64_t seed) {
    dataset d = {malloc(n_rows * dim * sizeof(float)), malloc(n_q * dim * sizeof(float)), n_rows, n_q,
                 dim};
    assert_non_null(d.rows);
    assert_non_null(d.queries);
    rng_state.s = seed;
    for (size_t r = 0; r < n_rows; r++) {
        if (r < n_distinct) {
            for (size_t i = 0; i < dim; i++) d.rows[r * dim + i] = 2.0f * rnd_unit() - 1.0f;
        } else {
            memcpy(d.rows + r * dim, d.rows + (r % n_distinct) * dim, dim * sizeof(float));
        }
    }
    for (size_t i = 0; i < n_q * dim; i++) d.queries[i] = 2.0f * rnd_unit() - 1.0f;
    /* Query 0 equals row 5: distance 0 for its duplicates. */
    if (n_q > 0 && n_rows > 5) memcpy(d.queries, d.rows + 5 * dim, dim * sizeof(float));
    return d;
}

static void free_dataset(dataset *d) {
    free(d->rows);
    free(d->queries);
}

/* Filter state: reject rows divisible by reject_mod (0 = none); ties by a
** scrambled row order so that "by row number" would be wrong. */
typedef struct filt_state {
    uint32_t reject_mod; /* reject rows r with r % reject_mod == 0 */
    bool scramble;       /* tie_cmp by hash of the row rather than row */
} filt_state;

static uint32_t scramble(uint32_t r) { return (r * 2654435761u) ^ (r >> 7); }

static bool filt_accept(void *state, uint32_t row) {
    filt_state *f = state;
    return f->reject_mod == 0 || row % f->reject_mod != 0;
}

static int filt_tie(void *state, uint32_t a, uint32_t b) {
    filt_state *f = state;
    uint32_t x = f->scramble ? scramble(a) : a, y = f->scramble ? scramble(b) : b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* For the reference sort. */
static index_metric sort_metric;
static filt_state *sort_filt;

static int cmp_ref(const void *pa, const void *pb) {
    const index_hit *a = pa, *b = pb;
    if (a->score != b->score) {
        bool a_first = sort_metric == INDEX_METRIC_DOT ? a->score > b->score : a->score < b->score;
        return a_first ? -1 : 1;
    }
    if (sort_filt != NULL) {
        int c = filt_tie(sort_filt, a->row, b->row);
        if (c != 0) return c;
    }
    return a->row < b->row ? -1 : a->row > b->row ? 1 : 0;
}

/* Naive top-k of one query: score all, filter, sort all, cut. */
static uint32_t naive_search(const index_kernels *kern, const index_flat_params *p, const float *q,
                             const dataset *d, filt_state *f, index_hit *out) {
    float *s = malloc(d->n_rows * sizeof(float));
    index_hit *all = malloc(d->n_rows * sizeof(index_hit));
    assert_non_null(s);
    assert_non_null(all);
    if (p->metric == INDEX_METRIC_DOT) kern->dot_rows(q, d->rows, d->n_rows, d->dim, s);
    else if (p->metric == INDEX_METRIC_L2) kern->l2sq_rows(q, d->rows, d->n_rows, d->dim, s);
    else kern->l1_rows(q, d->rows, d->n_rows, d->dim, s);
    size_t n = 0;
    for (size_t r = 0; r < d->n_rows; r++) {
        float v = p->metric == INDEX_METRIC_L2 ? sqrtf(s[r]) : s[r];
        if (f != NULL && !filt_accept(f, (uint32_t)r)) continue;
        if (p->has_threshold && (p->metric == INDEX_METRIC_DOT ? v < p->threshold : v > p->threshold))
            continue;
        all[n++] = (index_hit){v, (uint32_t)r};
    }
    sort_metric = p->metric;
    sort_filt = f != NULL && f->scramble ? f : NULL;
    qsort(all, n, sizeof *all, cmp_ref);
    uint32_t k = n < p->k ? (uint32_t)n : p->k;
    memcpy(out, all, k * sizeof *out);
    free(s);
    free(all);
    return k;
}

static void assert_hits_equal(const index_hit *a, uint32_t na, const index_hit *b, uint32_t nb,
                              const char *what) {
    if (na != nb) {
        print_error("%s: %u hits, want %u\n", what, na, nb);
        fail();
    }
    for (uint32_t i = 0; i < na; i++) {
        if (a[i].row != b[i].row || memcmp(&a[i].score, &b[i].score, sizeof(float)) != 0) {
            print_error("%s: hit %u is (row %u, %.9g), want (row %u, %.9g)\n", what, i, a[i].row,
                        (double)a[i].score, b[i].row, (double)b[i].score);
            fail();
        }
    }
}

/* Run one configuration over all queries of d: batched, against the naive
** reference per query. */
static void check_config(const index_kernels *kern, const index_flat_params *p, const dataset *d,
                         filt_state *f, const char *what) {
    index_hit *hits = malloc(d->n_q * (p->k + 1) * sizeof(index_hit));
    uint32_t *n = malloc(d->n_q * sizeof(uint32_t));
    index_hit *want = malloc((p->k + 1) * sizeof(index_hit));
    assert_non_null(hits);
    assert_non_null(n);
    assert_non_null(want);
    index_scan_filter filter = {filt_accept, filt_tie, f};
    if (f != NULL && !f->scramble) filter.tie_cmp = NULL;
    assert_true(index_flat_search(kern, p, d->queries, d->n_q, d->rows, d->n_rows, d->dim,
                                  f != NULL ? &filter : NULL, hits, n));
    for (size_t q = 0; q < d->n_q; q++) {
        uint32_t nw = naive_search(kern, p, d->queries + q * d->dim, d, f, want);
        char buf[160];
        snprintf(buf, sizeof buf, "%s [%s metric=%d k=%u q=%zu]", what, kern->isa, (int)p->metric,
                 p->k, q);
        assert_hits_equal(hits + q * p->k, n[q], want, nw, buf);
    }
    free(hits);
    free(n);
    free(want);
}

/* ==== Tests ==== */

static void test_vs_naive(void **st) {
    (void)st;
    dataset d = make_dataset(3000, 700, 9, 19, 1);
    const index_kernels *ks[3];
    size_t nk = ann_test_kernels(ks);
    for (size_t ki = 0; ki < nk; ki++) {
        for (int m = 0; m < 3; m++) {
            const uint32_t kvals[] = {1, 10, 64};
            for (size_t kv = 0; kv < 3; kv++) {
                index_flat_params p = {(index_metric)m, kvals[kv], false, 0.0f, 1};
                check_config(ks[ki], &p, &d, NULL, "plain");
            }
        }
    }
    free_dataset(&d);
}

static void test_ties(void **st) {
    (void)st;
    /* 40 distinct rows repeated: every query has many exactly equal scores. */
    dataset d = make_dataset(2000, 40, 5, 33, 2);
    filt_state f = {0, true};
    for (int m = 0; m < 3; m++) {
        index_flat_params p = {(index_metric)m, 100, false, 0.0f, 1};
        check_config(index_kernels_best(), &p, &d, &f, "ties by tie_cmp");
        check_config(index_kernels_best(), &p, &d, NULL, "ties by row");
    }
    /* The tie rule is really applied: query 0 equals row 5, whose copies
    ** all have distance 0; with tie_cmp they come in scrambled order. */
    index_flat_params p = {INDEX_METRIC_L2, 3, false, 0.0f, 1};
    index_hit hits[3];
    uint32_t n = 0;
    index_scan_filter filter = {NULL, filt_tie, &f};
    assert_true(index_flat_search(NULL, &p, d.queries, 1, d.rows, d.n_rows, d.dim, &filter, hits, &n));
    assert_int_equal(n, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_true(hits[i].score == 0.0f);
        assert_int_equal(hits[i].row % 40, 5);
    }
    assert_true(scramble(hits[0].row) < scramble(hits[1].row));
    assert_true(scramble(hits[1].row) < scramble(hits[2].row));
    free_dataset(&d);
}

static void test_threshold_and_filter(void **st) {
    (void)st;
    dataset d = make_dataset(2500, 2500, 6, 24, 3);
    filt_state f3 = {3, false}, f3s = {3, true};
    index_flat_params p = {INDEX_METRIC_DOT, 1000, true, 1.0f, 1};
    check_config(index_kernels_best(), &p, &d, NULL, "dot threshold");
    check_config(index_kernels_best(), &p, &d, &f3s, "dot threshold + filter");
    p = (index_flat_params){INDEX_METRIC_L2, 1000, true, 2.6f, 1};
    check_config(index_kernels_best(), &p, &d, &f3, "l2 threshold + filter");
    p = (index_flat_params){INDEX_METRIC_L1, 1000, true, 9.0f, 1};
    check_config(index_kernels_best(), &p, &d, NULL, "l1 threshold");
    /* A threshold nothing passes. */
    p = (index_flat_params){INDEX_METRIC_L2, 5, true, -1.0f, 1};
    index_hit hits[5];
    uint32_t n = 99;
    assert_true(index_flat_search(NULL, &p, d.queries, 1, d.rows, d.n_rows, d.dim, NULL, hits, &n));
    assert_int_equal(n, 0);
    /* Filter sees only accepted rows. */
    p = (index_flat_params){INDEX_METRIC_DOT, 50, false, 0.0f, 1};
    index_hit many[50];
    index_scan_filter filter = {filt_accept, NULL, &f3};
    assert_true(index_flat_search(NULL, &p, d.queries, 1, d.rows, d.n_rows, d.dim, &filter, many, &n));
    assert_int_equal(n, 50);
    for (uint32_t i = 0; i < n; i++) assert_int_not_equal(many[i].row % 3, 0);
    free_dataset(&d);
}

static void test_edges(void **st) {
    (void)st;
    dataset d = make_dataset(7, 7, 3, 5, 4);
    /* k larger than the matrix: every row, sorted. */
    index_flat_params p = {INDEX_METRIC_L1, 20, false, 0.0f, 0};
    check_config(index_kernels_best(), &p, &d, NULL, "k > n_rows");
    index_hit hits[3 * 20];
    uint32_t n[3] = {9, 9, 9};
    /* k = 0 and no rows: zero hits, still a success. */
    p.k = 0;
    assert_true(index_flat_search(NULL, &p, d.queries, 3, d.rows, d.n_rows, d.dim, NULL, hits, n));
    assert_true(n[0] == 0 && n[1] == 0 && n[2] == 0);
    p.k = 4;
    n[0] = n[1] = n[2] = 9;
    assert_true(index_flat_search(NULL, &p, d.queries, 3, d.rows, 0, d.dim, NULL, hits, n));
    assert_true(n[0] == 0 && n[1] == 0 && n[2] == 0);
    /* Results are checked against the double-precision truth too. */
    p = (index_flat_params){INDEX_METRIC_L2, 7, false, 0.0f, 1};
    assert_true(index_flat_search(NULL, &p, d.queries, 1, d.rows, d.n_rows, d.dim, NULL, hits, n));
    assert_int_equal(n[0], 7);
    for (uint32_t i = 0; i < 7; i++) {
        double s = 0.0;
        for (size_t j = 0; j < d.dim; j++) {
            double x = (double)d.queries[j] - (double)d.rows[hits[i].row * d.dim + j];
            s += x * x;
        }
        assert_true(fabs(sqrt(s) - (double)hits[i].score) < 1e-5);
        if (i > 0) assert_true(hits[i - 1].score <= hits[i].score);
    }
    free_dataset(&d);
}

/* Threads and batching change nothing: compare raw outputs. */
static void test_threads_and_batch(void **st) {
    (void)st;
    dataset d = make_dataset(20000, 5000, 37, 40, 5);
    filt_state f = {7, true};
    index_scan_filter filter = {filt_accept, filt_tie, &f};
    const uint32_t k = 15;
    size_t sz = d.n_q * k;
    index_hit *base = malloc(sz * sizeof *base), *other = malloc(sz * sizeof *other);
    uint32_t *nb = malloc(d.n_q * sizeof *nb), *no = malloc(d.n_q * sizeof *no);
    assert_non_null(base);
    assert_non_null(other);
    assert_non_null(nb);
    assert_non_null(no);
    const index_kernels *ks[3];
    size_t nk = ann_test_kernels(ks);
    for (size_t ki = 0; ki < nk; ki++) {
        for (int m = 0; m < 3; m++) {
            index_flat_params p = {(index_metric)m, k, false, 0.0f, 1};
            assert_true(index_flat_search(ks[ki], &p, d.queries, d.n_q, d.rows, d.n_rows, d.dim, &filter,
                                          base, nb));
            const uint32_t threads[] = {2, 3, 0};
            for (size_t t = 0; t < 3; t++) {
                p.n_threads = threads[t];
                assert_true(index_flat_search(ks[ki], &p, d.queries, d.n_q, d.rows, d.n_rows, d.dim,
                                              &filter, other, no));
                for (size_t q = 0; q < d.n_q; q++)
                    assert_hits_equal(other + q * k, no[q], base + q * k, nb[q], "threads");
            }
            p.n_threads = 1;
            for (size_t q = 0; q < d.n_q; q++) {
                uint32_t n1 = 0;
                assert_true(index_flat_search(ks[ki], &p, d.queries + q * d.dim, 1, d.rows, d.n_rows,
                                              d.dim, &filter, other, &n1));
                assert_hits_equal(other, n1, base + q * k, nb[q], "one query vs batch");
            }
        }
    }
    free(base);
    free(other);
    free(nb);
    free(no);
    free_dataset(&d);
}

/* A row with a NaN score is never returned, whatever the metric. */
static void test_nan_rows(void **st) {
    (void)st;
    dataset d = make_dataset(50, 50, 1, 8, 6);
    d.rows[7 * d.dim + 3] = NAN;
    d.rows[20 * d.dim] = NAN;
    for (int m = 0; m < 3; m++) {
        index_flat_params p = {(index_metric)m, 50, false, 0.0f, 1};
        index_hit hits[50];
        uint32_t n = 0;
        assert_true(index_flat_search(NULL, &p, d.queries, 1, d.rows, d.n_rows, d.dim, NULL, hits, &n));
        assert_int_equal(n, 48);
        for (uint32_t i = 0; i < n; i++) {
            assert_true(hits[i].row != 7 && hits[i].row != 20);
            assert_false(isnan(hits[i].score));
        }
    }
    free_dataset(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vs_naive),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_threshold_and_filter),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_threads_and_batch),
        cmocka_unit_test(test_nan_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
