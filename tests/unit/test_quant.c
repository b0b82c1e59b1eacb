/*
** tests/unit/test_quant: int8 and binary quantization. The AVX-512 kernels
** against the scalar ones (exact equality, every length 0..300), encoding
** error of int8 within its step, distance estimates, serialization round
** trip and corruption, and HNSW search over codes with rescoring: recall@10
** against exact search, results after save/load, bytes per vector.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ann_testdata.h"
#include "index/hnsw.h"
#include "index/quant.h"

#define DIM 128
#define N 8000
#define N_Q 100
#define K 10

static uint64_t rng = 12345;
static uint64_t next_u64(void) {
    rng = util_mix64(rng + 1);
    return rng;
}

/* ==== Kernels ==== */

static void test_kernels_agree(void **state) {
    (void)state;
    const quant_kernels *s = quant_kernels_scalar(), *v = quant_kernels_avx512();
    assert_non_null(s);
    assert_non_null(quant_kernels_best());
    if (!v) {
        print_message("no AVX-512 VNNI/VPOPCNTDQ on this CPU: scalar only\n");
        skip();
    }
    uint8_t a[300];
    int8_t b[300];
    uint64_t wa[40], wb[40];
    for (int trial = 0; trial < 20; trial++) {
        for (size_t i = 0; i < sizeof a; i++) {
            a[i] = (uint8_t)next_u64();
            b[i] = (int8_t)next_u64();
        }
        /* Extremes too: 255 * -128 everywhere. */
        if (trial == 0) {
            memset(a, 255, sizeof a);
            memset(b, 0x80, sizeof b);
        }
        for (size_t n = 0; n <= sizeof a; n++)
            assert_int_equal(s->dot_u8s8(a, b, n), v->dot_u8s8(a, b, n));
        for (size_t i = 0; i < 40; i++) {
            wa[i] = next_u64();
            wb[i] = trial == 1 ? ~wa[i] : next_u64();
        }
        for (size_t n = 0; n <= 40; n++) assert_int_equal(s->hamming(wa, wb, n), v->hamming(wa, wb, n));
        /* planes_dot reads QUANT_QUERY_BITS planes of n words from wb. */
        for (size_t n = 0; n <= 40 / QUANT_QUERY_BITS; n++)
            assert_int_equal(s->planes_dot(wa, wb, n), v->planes_dot(wa, wb, n));
    }
}

/* ==== Encoding ==== */

static float *make(size_t n, uint64_t seed, bool norm) {
    float *d = malloc(n * DIM * sizeof *d);
    ann_test_mixture(d, n, DIM, N / 50, seed, 77, norm);
    return d;
}

static void test_int8_encode(void **state) {
    (void)state;
    float *d = make(2000, 1, false);
    const float *vecs[2000];
    for (int i = 0; i < 2000; i++) vecs[i] = d + (size_t)i * DIM;
    quant_range ranges[2] = {QUANT_RANGE_PER_DIM, QUANT_RANGE_GLOBAL};
    for (int ri = 0; ri < 2; ri++) {
        quant_params qp = quant_params_default(QUANT_MODE_INT8);
        qp.range = ranges[ri];
        qp.quantile = 1.0f; /* min/max: no clipping, error <= step/2 */
        quant *q = NULL;
        sc_err err = {0};
        assert_int_equal(quant_train(&qp, INDEX_METRIC_L2, DIM, vecs, 2000, &q, &err), SC_OK);
        assert_int_equal(quant_code_size(q), DIM + 4);
        assert_int_equal(quant_bytes_per_vector(QUANT_MODE_INT8, DIM), DIM + 4);
        uint8_t *code = malloc(quant_code_size(q));
        void *qb = malloc(quant_query_size(q));
        double rel = 0.0;
        for (int i = 0; i < 200; i++) {
            quant_encode(q, vecs[i], code);
            quant_query_prepare(q, vecs[i + 1], qb);
            double exact = 0.0;
            for (int k = 0; k < DIM; k++) {
                double x = vecs[i][k] - vecs[i + 1][k];
                exact += x * x;
            }
            double est = quant_distance(q, qb, code);
            rel += fabs(est - exact) / exact;
        }
        rel /= 200;
        print_message("int8 %s: mean relative error of L2^2 %.4f\n", ri ? "global" : "per-dim", rel);
        assert_true(rel < 0.05);
        free(code);
        free(qb);
        quant_free(q);
    }
    /* Bad parameters. */
    quant_params qp = quant_params_default(QUANT_MODE_INT8);
    quant *q = NULL;
    sc_err err = {0};
    qp.quantile = 0.3f;
    assert_int_equal(quant_train(&qp, INDEX_METRIC_DOT, DIM, vecs, 2000, &q, &err), SC_INVALID);
    qp = quant_params_default(QUANT_MODE_NONE);
    assert_int_equal(quant_train(&qp, INDEX_METRIC_DOT, DIM, vecs, 2000, &q, &err), SC_INVALID);
    qp = quant_params_default(QUANT_MODE_BINARY);
    assert_int_equal(quant_train(&qp, INDEX_METRIC_DOT, DIM, vecs, 0, &q, &err), SC_INVALID);
    assert_int_equal(quant_bytes_per_vector(QUANT_MODE_BINARY, DIM), DIM / 8 + 8);
    assert_int_equal(quant_bytes_per_vector(QUANT_MODE_NONE, DIM), DIM * 4);
    free(d);
}

static void test_serialize(void **state) {
    (void)state;
    float *d = make(500, 2, true);
    const float *vecs[500];
    for (int i = 0; i < 500; i++) vecs[i] = d + (size_t)i * DIM;
    quant_mode modes[2] = {QUANT_MODE_INT8, QUANT_MODE_BINARY};
    for (int mi = 0; mi < 2; mi++) {
        quant_params qp = quant_params_default(modes[mi]);
        quant *q = NULL, *r = NULL;
        sc_err err = {0};
        assert_int_equal(quant_train(&qp, INDEX_METRIC_DOT, DIM, vecs, 500, &q, &err), SC_OK);
        size_t sz = quant_serial_size(q);
        uint8_t *buf = malloc(sz);
        quant_serialize(q, buf);
        assert_int_equal(quant_deserialize(buf, sz, 0, &r, &err), SC_OK);
        uint8_t c1[DIM + 4], c2[DIM + 4];
        quant_encode(q, vecs[3], c1);
        quant_encode(r, vecs[3], c2);
        assert_memory_equal(c1, c2, quant_code_size(q));
        quant_free(r);
        buf[40] ^= 1;
        assert_int_equal(quant_deserialize(buf, sz, 1000, &r, &err), SC_CORRUPT);
        assert_non_null(strstr(err.msg, "offset"));
        buf[40] ^= 1;
        assert_int_equal(quant_deserialize(buf, sz - 1, 1000, &r, &err), SC_CORRUPT);
        free(buf);
        quant_free(q);
    }
    free(d);
}

/* ==== Search over codes ==== */

static double recall_codes(const hnsw_index *idx, const float *d, const float *qs, uint32_t ef,
                           float oversample, bool codes) {
    double sum = 0.0;
    for (int i = 0; i < N_Q; i++) {
        uint32_t truth[K], got[K], nt, ng;
        index_hit h[K];
        nt = ann_test_exact(INDEX_METRIC_DOT, d, N, DIM, qs + (size_t)i * DIM, K, NULL, NULL, NULL, truth);
        hnsw_search_opts o = {.ef = ef, .use_codes = codes, .oversample = oversample};
        assert_int_equal(hnsw_index_search(idx, qs + (size_t)i * DIM, K, &o, h, &ng, NULL), SC_OK);
        for (uint32_t j = 0; j < ng; j++) got[j] = h[j].row;
        sum += ann_test_overlap(got, ng, truth, nt);
    }
    return sum / N_Q;
}

static void test_hnsw_codes(void **state) {
    (void)state;
    float *d = make(N, 3, true), *qs = make(N_Q, 4, true);
    hnsw_params p = hnsw_params_default();
    p.dim = DIM;
    p.ef_construct = 100;
    p.n_threads = 2;
    hnsw_source src = {d, DIM, NULL, NULL};
    hnsw_index *idx = NULL;
    sc_err err = {0};
    assert_int_equal(hnsw_index_new(&p, &src, &idx, &err), SC_OK);
    uint32_t *rows = malloc(N * sizeof *rows);
    for (uint32_t i = 0; i < N; i++) rows[i] = i;
    /* Half before quantizing, half after (encoded as they are added). */
    assert_int_equal(hnsw_index_add_batch(idx, rows, N / 2, &err), SC_OK);
    double rf = recall_codes(idx, d, qs, 64, 1, false);
    hnsw_info i0 = hnsw_index_info(idx);
    assert_int_equal(i0.code_bytes, 0);
    quant_params qp = quant_params_default(QUANT_MODE_INT8);
    assert_int_equal(hnsw_index_quantize(idx, &qp, &err), SC_OK);
    assert_int_equal(hnsw_index_add_batch(idx, rows + N / 2, N - N / 2, &err), SC_OK);
    rf = recall_codes(idx, d, qs, 64, 1, false);
    double r8 = recall_codes(idx, d, qs, 64, 2, true);
    hnsw_info i8 = hnsw_index_info(idx);
    print_message("recall@10 f32 %.4f, int8 x2 rescored %.4f, int8 codes %.0f B/vec\n", rf, r8,
                  (double)i8.code_bytes / i8.capacity);
    assert_true(rf >= 0.95);
    assert_true(r8 >= 0.95);
    assert_int_equal(quant_get_mode(hnsw_index_quant(idx)), QUANT_MODE_INT8);
    /* Save / load keeps codes: same results. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_quant_%d.idx", (int)getpid());
    assert_int_equal(hnsw_index_save(idx, path, &err), SC_OK);
    hnsw_index *back = NULL;
    assert_int_equal(hnsw_index_load(path, &src, &back, &err), SC_OK);
    for (int i = 0; i < 20; i++) {
        index_hit h1[K], h2[K];
        uint32_t n1, n2;
        hnsw_search_opts o = {.use_codes = true, .oversample = 2};
        assert_int_equal(hnsw_index_search(idx, qs + i * DIM, K, &o, h1, &n1, NULL), SC_OK);
        assert_int_equal(hnsw_index_search(back, qs + i * DIM, K, &o, h2, &n2, NULL), SC_OK);
        assert_int_equal(n1, n2);
        assert_memory_equal(h1, h2, n1 * sizeof *h1);
    }
    hnsw_index_free(back);
    unlink(path);
    /* Binary: rank by Hamming, rescore 10x. */
    qp = quant_params_default(QUANT_MODE_BINARY);
    assert_int_equal(hnsw_index_quantize(idx, &qp, &err), SC_OK);
    double rb = recall_codes(idx, d, qs, 128, 10, true);
    hnsw_info ib = hnsw_index_info(idx);
    print_message("binary x10 rescored recall@10 %.4f, %.0f B/vec\n", rb, (double)ib.code_bytes / ib.capacity);
    assert_true(rb >= 0.90);
    assert_true(ib.code_bytes < i8.code_bytes / 5);
    qp.mode = QUANT_MODE_NONE;
    assert_int_equal(hnsw_index_quantize(idx, &qp, &err), SC_OK);
    assert_null(hnsw_index_quant(idx));
    free(rows);
    free(d);
    free(qs);
    hnsw_index_free(idx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_agree),
        cmocka_unit_test(test_int8_encode),
        cmocka_unit_test(test_serialize),
        cmocka_unit_test(test_hnsw_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
