/*
** index: portable scalar distance kernels. They run everywhere, are the
** fallback when the CPU has no AVX2, and are the implementation the SIMD
** kernels are tested against. Four partial sums break the dependency chain
** so the compiler can keep several additions in flight; no fast-math, so
** the results are the same with every compiler that honours IEEE-754.
*/
#include <math.h>

#include "index/distance_int.h"

/* ==== One pair ==== */

static float index__scalar_dot(const float *a, const float *b, size_t dim) {
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    size_t i = 0;
    for (; i + 4 <= dim; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < dim; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static float index__scalar_l2sq(const float *a, const float *b, size_t dim) {
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    size_t i = 0;
    for (; i + 4 <= dim; i += 4) {
        float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1];
        float d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; i < dim; i++) {
        float d = a[i] - b[i];
        s0 += d * d;
    }
    return (s0 + s1) + (s2 + s3);
}

static float index__scalar_l1(const float *a, const float *b, size_t dim) {
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    size_t i = 0;
    for (; i + 4 <= dim; i += 4) {
        s0 += fabsf(a[i] - b[i]);
        s1 += fabsf(a[i + 1] - b[i + 1]);
        s2 += fabsf(a[i + 2] - b[i + 2]);
        s3 += fabsf(a[i + 3] - b[i + 3]);
    }
    for (; i < dim; i++) s0 += fabsf(a[i] - b[i]);
    return (s0 + s1) + (s2 + s3);
}

/* ==== One query against many rows ==== */

/* The rows and block kernels call the pair kernel for every pair, so a
** pair's score does not depend on how rows or queries are grouped. */

static void index__scalar_dot_rows(const float *q, const float *rows, size_t n, size_t dim,
                                   float *out) {
    for (size_t j = 0; j < n; j++) out[j] = index__scalar_dot(q, rows + j * dim, dim);
}

static void index__scalar_l2sq_rows(const float *q, const float *rows, size_t n, size_t dim,
                                    float *out) {
    for (size_t j = 0; j < n; j++) out[j] = index__scalar_l2sq(q, rows + j * dim, dim);
}

static void index__scalar_l1_rows(const float *q, const float *rows, size_t n, size_t dim,
                                  float *out) {
    for (size_t j = 0; j < n; j++) out[j] = index__scalar_l1(q, rows + j * dim, dim);
}

/* ==== Many queries against many rows ==== */

static void index__scalar_dot_block(const float *qs, size_t n_q, const float *rows, size_t n,
                                    size_t dim, float *out) {
    for (size_t i = 0; i < n_q; i++) index__scalar_dot_rows(qs + i * dim, rows, n, dim, out + i * n);
}

static void index__scalar_l2sq_block(const float *qs, size_t n_q, const float *rows, size_t n,
                                     size_t dim, float *out) {
    for (size_t i = 0; i < n_q; i++)
        index__scalar_l2sq_rows(qs + i * dim, rows, n, dim, out + i * n);
}

static void index__scalar_l1_block(const float *qs, size_t n_q, const float *rows, size_t n,
                                   size_t dim, float *out) {
    for (size_t i = 0; i < n_q; i++) index__scalar_l1_rows(qs + i * dim, rows, n, dim, out + i * n);
}

/* ==== int8 ==== */

static int32_t index__scalar_dot_s8(const int8_t *a, const int8_t *b, size_t n) {
    int32_t s = 0;
    for (size_t i = 0; i < n; i++) s += (int32_t)a[i] * b[i];
    return s;
}

/* Bits set in x, without the popcnt instruction (SWAR). */
static uint32_t index__scalar_popcount(uint64_t x) {
    x -= (x >> 1) & 0x5555555555555555ull;
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (uint32_t)((x * 0x0101010101010101ull) >> 56);
}

static void index__scalar_hamming_rows(const uint64_t *q, const uint64_t *rows, size_t n, size_t n_words,
                                       uint16_t *out) {
    for (size_t r = 0; r < n; r++, rows += n_words) {
        uint32_t s = 0;
        for (size_t i = 0; i < n_words; i++) s += index__scalar_popcount(q[i] ^ rows[i]);
        out[r] = (uint16_t)s;
    }
}

const index_kernels index__kernels_scalar = {
    .isa = "scalar",
    .dot_s8 = index__scalar_dot_s8,
    .hamming_rows = index__scalar_hamming_rows,
    .dot = index__scalar_dot,
    .l2sq = index__scalar_l2sq,
    .l1 = index__scalar_l1,
    .dot_rows = index__scalar_dot_rows,
    .l2sq_rows = index__scalar_l2sq_rows,
    .l1_rows = index__scalar_l1_rows,
    .dot_block = index__scalar_dot_block,
    .l2sq_block = index__scalar_l2sq_block,
    .l1_block = index__scalar_l1_block,
};
