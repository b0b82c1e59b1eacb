/*
** Unit tests of the distance kernels: every ISA this CPU runs is checked
** against a double-precision reference on awkward dimensions and
** unaligned pointers, the block kernels against the rows kernels (bit for
** bit), the dispatcher's SEMCODE_ISA override, and index_normalize.
**
** Error measure: |got - ref| <= 1e-5 * scale, where scale is the sum of
** the absolute terms (for l2sq and l1 that is |ref| itself, so a plain
** relative error; for dot on mixed-sign data it bounds the cancellation
** that no float summation can avoid). All-positive data makes the dot test
** a plain relative one as well.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ann_testdata.h"
#include "index/index.h"
#include "testutil.h"

/* ==== Helpers ==== */

static tu_rng rng_state;

static float rnd_unit(void) { return tu_unit(&rng_state); }

static void fill(float *v, size_t n, bool positive) {
    for (size_t i = 0; i < n; i++) v[i] = positive ? rnd_unit() : 2.0f * rnd_unit() - 1.0f;
}

enum { M_DOT, M_L2, M_L1 };

/* Reference value and its scale (sum of absolute terms), in double. */
static double ref_pair(int m, const float *a, const float *b, size_t dim, double *scale) {
    double s = 0.0, abs_sum = 0.0;
    for (size_t i = 0; i < dim; i++) {
        double x = a[i], y = b[i], t;
        if (m == M_DOT) t = x * y;
        else if (m == M_L2) t = (x - y) * (x - y);
        else t = fabs(x - y);
        s += t;
        abs_sum += fabs(t);
    }
    *scale = abs_sum;
    return s;
}

static void check_close(const char *what, const char *isa, size_t dim, double got, double ref,
                        double scale) {
    double err = fabs(got - ref);
    double tol = 1e-5 * (scale > 1e-30 ? scale : 1e-30);
    if (!(err <= tol)) {
        print_error("%s/%s dim=%zu: got %.9g want %.9g (err %.3g > tol %.3g)\n", isa, what, dim,
                    got, ref, err, tol);
        fail();
    }
}

static const size_t dims[] = {1, 3, 17, 384, 1536, 4099};
#define N_DIMS (sizeof dims / sizeof dims[0])

static index_kernel_fn pair_fn(const index_kernels *k, int m) {
    return m == M_DOT ? k->dot : m == M_L2 ? k->l2sq : k->l1;
}

typedef void (*rows_fn_t)(const float *, const float *, size_t, size_t, float *);
typedef void (*block_fn_t)(const float *, size_t, const float *, size_t, size_t, float *);

static rows_fn_t rows_fn(const index_kernels *k, int m) {
    return m == M_DOT ? k->dot_rows : m == M_L2 ? k->l2sq_rows : k->l1_rows;
}

static block_fn_t block_fn(const index_kernels *k, int m) {
    return m == M_DOT ? k->dot_block : m == M_L2 ? k->l2sq_block : k->l1_block;
}

static const char *metric_name(int m) { return m == M_DOT ? "dot" : m == M_L2 ? "l2sq" : "l1"; }

/* ==== Tests ==== */

/* SEMCODE_ISA picks a lower ISA; checked in child processes because the
** choice is made once per process. Runs first, before anything in this
** process calls index_kernels_best. */
static void test_dispatch_env(void **st) {
    (void)st;
    const char *names[] = {"scalar", "avx2", "avx512", "bogus"};
    const index_kernels *expect[4];
    expect[0] = index_kernels_scalar();
    expect[2] = index_kernels_avx512();
    expect[1] = index_kernels_avx2() != NULL ? index_kernels_avx2() : expect[0];
    if (expect[2] == NULL) expect[2] = expect[1];
    expect[3] = expect[2];
    for (int i = 0; i < 4; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            setenv("SEMCODE_ISA", names[i], 1);
            _exit(index_kernels_best() == expect[i] ? 0 : 1);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    const index_kernels *best = index_kernels_best();
    assert_non_null(best);
    assert_non_null(best->dot_block);
}

static void test_pairs(void **st) {
    (void)st;
    const index_kernels *ks[3];
    size_t nk = ann_test_kernels(ks);
    rng_state.s = 42;
    for (size_t d = 0; d < N_DIMS; d++) {
        size_t dim = dims[d];
        for (int positive = 0; positive < 2; positive++) {
            for (size_t off = 0; off < 2; off++) {
                /* Exact-size blocks (plus the offset) so that the sanitizer
                ** catches any read past the end of a vector. */
                float *abuf = malloc((dim + off) * sizeof(float));
                float *bbuf = malloc((dim + off) * sizeof(float));
                assert_non_null(abuf);
                assert_non_null(bbuf);
                float *a = abuf + off, *b = bbuf + off;
                fill(a, dim, positive);
                fill(b, dim, positive);
                for (int m = 0; m < 3; m++) {
                    double scale, ref = ref_pair(m, a, b, dim, &scale);
                    for (size_t ki = 0; ki < nk; ki++)
                        check_close(metric_name(m), ks[ki]->isa, dim, pair_fn(ks[ki], m)(a, b, dim), ref,
                                    scale);
                }
                free(abuf);
                free(bbuf);
            }
        }
    }
}

/* Rows and block kernels against the reference, and block == rows exactly. */
static void test_rows_and_blocks(void **st) {
    (void)st;
    const index_kernels *ks[3];
    size_t nk = ann_test_kernels(ks);
    rng_state.s = 7;
    const size_t n_rows = 13, n_q = 7; /* not multiples of 4: exercises edges */
    for (size_t d = 0; d < N_DIMS; d++) {
        size_t dim = dims[d];
        for (size_t off = 0; off < 2; off++) {
            float *qbuf = malloc((n_q * dim + off) * sizeof(float));
            float *rbuf = malloc((n_rows * dim + off) * sizeof(float));
            float *out = malloc(n_rows * sizeof(float));
            float *bout = malloc(n_q * n_rows * sizeof(float));
            assert_non_null(qbuf);
            assert_non_null(rbuf);
            assert_non_null(out);
            assert_non_null(bout);
            float *qs = qbuf + off, *rows = rbuf + off;
            fill(qs, n_q * dim, false);
            fill(rows, n_rows * dim, false);
            for (int m = 0; m < 3; m++) {
                for (size_t ki = 0; ki < nk; ki++) {
                    const index_kernels *k = ks[ki];
                    block_fn(k, m)(qs, n_q, rows, n_rows, dim, bout);
                    for (size_t qi = 0; qi < n_q; qi++) {
                        const float *q = qs + qi * dim;
                        rows_fn(k, m)(q, rows, n_rows, dim, out);
                        for (size_t j = 0; j < n_rows; j++) {
                            double scale, ref = ref_pair(m, q, rows + j * dim, dim, &scale);
                            check_close(metric_name(m), k->isa, dim, out[j], ref, scale);
                            if (memcmp(&out[j], &bout[qi * n_rows + j], sizeof(float)) != 0) {
                                print_error("%s/%s_block dim=%zu q=%zu row=%zu: %.9g != rows %.9g\n",
                                            k->isa, metric_name(m), dim, qi, j,
                                            (double)bout[qi * n_rows + j], (double)out[j]);
                                fail();
                            }
                        }
                        /* A sub-range of rows scores the same (grouping
                        ** must not matter). */
                        rows_fn(k, m)(q, rows + 3 * dim, n_rows - 3, dim, out);
                        for (size_t j = 3; j < n_rows; j++)
                            assert_memory_equal(&out[j - 3], &bout[qi * n_rows + j], sizeof(float));
                    }
                }
            }
            free(qbuf);
            free(rbuf);
            free(out);
            free(bout);
        }
    }
}

/* A kernel that reads a wrong lane or row would fail on a one-hot input. */
static void test_one_hot(void **st) {
    (void)st;
    const index_kernels *ks[3];
    size_t nk = ann_test_kernels(ks);
    const size_t dim = 37;
    float q[37], rows[5 * 37], out[5];
    for (size_t i = 0; i < dim; i++) {
        memset(q, 0, sizeof q);
        memset(rows, 0, sizeof rows);
        q[i] = 1.0f;
        rows[2 * dim + i] = 3.0f;
        for (size_t ki = 0; ki < nk; ki++) {
            ks[ki]->dot_rows(q, rows, 5, dim, out);
            for (size_t j = 0; j < 5; j++) assert_true(out[j] == (j == 2 ? 3.0f : 0.0f));
            ks[ki]->l1_rows(q, rows, 5, dim, out);
            for (size_t j = 0; j < 5; j++) assert_true(out[j] == (j == 2 ? 2.0f : 1.0f));
            assert_true(ks[ki]->l2sq(q, rows + 2 * dim, dim) == 4.0f);
        }
    }
}

/* The int8 dot of every ISA equals the scalar one (and a plain sum) for
** lengths around the 32-byte step, extremes included (127 * 127 pairs). */
static void test_dot_s8(void **st) {
    (void)st;
    const index_kernels *ks[3];
    size_t nk = ann_test_kernels(ks);
    rng_state.s = 11;
    size_t lens[] = {0, 1, 31, 32, 33, 64, 100, 384, 1000};
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        size_t n = lens[li];
        int8_t *a = malloc(n + 1), *b = malloc(n + 1); /* exact sizes: the sanitizer sees overreads */
        for (int extreme = 0; extreme < 2; extreme++) {
            int32_t want = 0;
            for (size_t i = 0; i < n; i++) {
                a[i] = extreme ? (int8_t)(i % 3 ? 127 : -127) : (int8_t)(tu_next(&rng_state) % 255 - 127);
                b[i] = extreme ? (int8_t)(i % 5 ? 127 : -127) : (int8_t)(tu_next(&rng_state) % 255 - 127);
                want += (int32_t)a[i] * b[i];
            }
            for (size_t k = 0; k < nk; k++) assert_int_equal(ks[k]->dot_s8(a, b, n), want);
        }
        free(a);
        free(b);
    }
}

/* The Hamming distances of every ISA equal a bit-by-bit count, for rows
** of 0 to 9 words, 0 to 3 rows, all-ones against zero and random words. */
static void test_hamming(void **st) {
    (void)st;
    const index_kernels *ks[3];
    size_t nk = ann_test_kernels(ks);
    rng_state.s = 13;
    for (size_t w = 0; w <= 9; w++)
        for (size_t n = 0; n <= 3; n++) {
            uint64_t *q = malloc(sizeof *q * (w + 1)), *rows = malloc(sizeof *rows * (n * w + 1));
            uint16_t want[3] = {0}, got[4];
            for (int extreme = 0; extreme < 2; extreme++) {
                for (size_t i = 0; i < w; i++) q[i] = extreme ? ~0ull : tu_next(&rng_state);
                for (size_t r = 0; r < n; r++) {
                    want[r] = 0;
                    for (size_t i = 0; i < w; i++) {
                        uint64_t x = rows[r * w + i] = extreme ? 0 : tu_next(&rng_state);
                        for (int bit = 0; bit < 64; bit++) want[r] += (uint16_t)(((q[i] ^ x) >> bit) & 1);
                    }
                }
                for (size_t k = 0; k < nk; k++) {
                    got[n] = 0xbeef; /* the row after the last is not written */
                    ks[k]->hamming_rows(q, rows, n, w, got);
                    for (size_t r = 0; r < n; r++) assert_int_equal(got[r], want[r]);
                    assert_int_equal(got[n], 0xbeef);
                }
            }
            free(q);
            free(rows);
        }
}

static void test_normalize(void **st) {
    (void)st;
    float v[5] = {3.0f, 0.0f, 4.0f, 0.0f, 0.0f};
    assert_float_equal(index_normalize(v, 5), 5.0f, 1e-6f);
    assert_float_equal(v[0], 0.6f, 1e-7f);
    assert_float_equal(v[2], 0.8f, 1e-7f);
    float z[3] = {0.0f, 0.0f, 0.0f};
    assert_true(index_normalize(z, 3) == 0.0f);
    assert_true(z[0] == 0.0f && z[1] == 0.0f && z[2] == 0.0f);
    float big[1536];
    rng_state.s = 3;
    fill(big, 1536, false);
    index_normalize(big, 1536);
    double s = 0.0;
    for (size_t i = 0; i < 1536; i++) s += (double)big[i] * (double)big[i];
    assert_true(fabs(s - 1.0) < 1e-5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_env),
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_rows_and_blocks),
        cmocka_unit_test(test_one_hot),
        cmocka_unit_test(test_dot_s8),
        cmocka_unit_test(test_hamming),
        cmocka_unit_test(test_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
