/*
** index: AVX-512F distance kernels (16 floats per register). Compiled with
** the AVX-512 flags; only called after the dispatcher checked the CPU.
**
** Pair kernels keep four accumulators (64 floats per step). The rows and
** block kernels share one scheme so that batched and one-at-a-time search
** agree bit for bit: every (query, row) pair has one accumulator that
** walks the dimensions in steps of 16 (the tail through a masked load that
** never touches memory past the row), and four accumulators are folded
** into four sums by the same shuffle tree (index__avx512_reduce4).
**   rows kernel : 1 query  x 4 rows per pass, query loaded once per pass
**   block kernel: INDEX__QT (6) queries x 4 rows per pass (24 accumulators,
**                 10 loads for 24 FMAs; 4x4 and 5x4 measured 3-6% slower),
**                 queries of a tile stay in L1, rows come from L2
** Missing rows at the edges are padded with pointers to a real one and
** their results dropped, so edge pairs take the same path too; the last
** queries of a block (fewer than INDEX__QT) go through the rows kernel.
*/
#include <immintrin.h>
#include <stdint.h>

#include "index/distance_int.h"

/* ==== Helpers ==== */

enum { INDEX__M_DOT, INDEX__M_L2, INDEX__M_L1 };

/* Queries per block-kernel tile (with 4 rows: 24 of the 32 registers). */
#ifndef INDEX__QT
#define INDEX__QT 6
#endif

#define INDEX__INLINE static inline __attribute__((always_inline))

/* acc += f(q, r) lane by lane, for the metric m (a constant after inlining). */
INDEX__INLINE __m512 index__avx512_step(int m, __m512 acc, __m512 q, __m512 r) {
    if (m == INDEX__M_DOT) return _mm512_fmadd_ps(q, r, acc);
    __m512 d = _mm512_sub_ps(q, r);
    if (m == INDEX__M_L2) return _mm512_fmadd_ps(d, d, acc);
    return _mm512_add_ps(acc, _mm512_abs_ps(d));
}

/* Sums of the 16 lanes of a, b, c and d, in that order. */
INDEX__INLINE __m128 index__avx512_reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xEE));
    __m512 s = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xDD));
    s = _mm512_add_ps(s, _mm512_permute_ps(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm512_add_ps(s, _mm512_permute_ps(s, _MM_SHUFFLE(2, 3, 0, 1)));
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(idx, s));
}

static inline __mmask16 index__avx512_tail_mask(size_t rem) {
    return (__mmask16)((1u << rem) - 1u);
}

/* Store the first n (1..4) lanes of v at out. */
INDEX__INLINE void index__avx512_store_n(float *out, __m128 v, size_t n) {
    if (n == 4) {
        _mm_storeu_ps(out, v);
    } else {
        _mm_mask_storeu_ps(out, (__mmask8)((1u << n) - 1u), v);
    }
}

/* ==== Pair kernels ==== */

INDEX__INLINE float index__avx512_pair(int m, const float *a, const float *b, size_t dim) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= dim; i += 64) {
        s0 = index__avx512_step(m, s0, _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s1 = index__avx512_step(m, s1, _mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s2 = index__avx512_step(m, s2, _mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
        s3 = index__avx512_step(m, s3, _mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
    }
    for (; i + 16 <= dim; i += 16)
        s0 = index__avx512_step(m, s0, _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    if (i < dim) {
        __mmask16 k = index__avx512_tail_mask(dim - i);
        s1 = index__avx512_step(m, s1, _mm512_maskz_loadu_ps(k, a + i), _mm512_maskz_loadu_ps(k, b + i));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static float index__avx512_dot(const float *a, const float *b, size_t dim) {
    return index__avx512_pair(INDEX__M_DOT, a, b, dim);
}
static float index__avx512_l2sq(const float *a, const float *b, size_t dim) {
    return index__avx512_pair(INDEX__M_L2, a, b, dim);
}
static float index__avx512_l1(const float *a, const float *b, size_t dim) {
    return index__avx512_pair(INDEX__M_L1, a, b, dim);
}

/* ==== Rows kernels ==== */

/* Scores of q against r[0..3]; the pass shared by the rows kernels. */
INDEX__INLINE __m128 index__avx512_pass_1x4(int m, const float *q, const float *const r[4],
                                            size_t dim) {
    size_t full = dim & ~(size_t)15;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (size_t i = 0; i < full; i += 16) {
        __m512 qv = _mm512_loadu_ps(q + i);
        a0 = index__avx512_step(m, a0, qv, _mm512_loadu_ps(r[0] + i));
        a1 = index__avx512_step(m, a1, qv, _mm512_loadu_ps(r[1] + i));
        a2 = index__avx512_step(m, a2, qv, _mm512_loadu_ps(r[2] + i));
        a3 = index__avx512_step(m, a3, qv, _mm512_loadu_ps(r[3] + i));
    }
    if (full < dim) {
        __mmask16 k = index__avx512_tail_mask(dim - full);
        __m512 qv = _mm512_maskz_loadu_ps(k, q + full);
        a0 = index__avx512_step(m, a0, qv, _mm512_maskz_loadu_ps(k, r[0] + full));
        a1 = index__avx512_step(m, a1, qv, _mm512_maskz_loadu_ps(k, r[1] + full));
        a2 = index__avx512_step(m, a2, qv, _mm512_maskz_loadu_ps(k, r[2] + full));
        a3 = index__avx512_step(m, a3, qv, _mm512_maskz_loadu_ps(k, r[3] + full));
    }
    return index__avx512_reduce4(a0, a1, a2, a3);
}

INDEX__INLINE void index__avx512_rows(int m, const float *q, const float *rows, size_t n,
                                      size_t dim, float *out) {
    for (size_t j = 0; j < n; j += 4) {
        size_t nr = n - j < 4 ? n - j : 4;
        const float *r[4];
        for (size_t t = 0; t < 4; t++) r[t] = rows + (j + (t < nr ? t : 0)) * dim;
        index__avx512_store_n(out + j, index__avx512_pass_1x4(m, q, r, dim), nr);
    }
}

static void index__avx512_dot_rows(const float *q, const float *rows, size_t n, size_t dim,
                                   float *out) {
    index__avx512_rows(INDEX__M_DOT, q, rows, n, dim, out);
}
static void index__avx512_l2sq_rows(const float *q, const float *rows, size_t n, size_t dim,
                                    float *out) {
    index__avx512_rows(INDEX__M_L2, q, rows, n, dim, out);
}
static void index__avx512_l1_rows(const float *q, const float *rows, size_t n, size_t dim,
                                  float *out) {
    index__avx512_rows(INDEX__M_L1, q, rows, n, dim, out);
}

/* ==== Block kernels ==== */

/* Scores of q[0..QT-1] against r[0..3]: for each query its results for the
** four rows, one __m128 per query. */
INDEX__INLINE void index__avx512_pass_tile(int m, const float *const q[INDEX__QT], const float *const r[4],
                                          size_t dim, __m128 res[INDEX__QT]) {
    size_t full = dim & ~(size_t)15;
    __m512 acc[INDEX__QT][4];
#pragma GCC unroll 8
    for (int a = 0; a < INDEX__QT; a++)
#pragma GCC unroll 4
        for (int b = 0; b < 4; b++) acc[a][b] = _mm512_setzero_ps();
    for (size_t i = 0; i < full; i += 16) {
        __m512 rv[4];
#pragma GCC unroll 4
        for (int b = 0; b < 4; b++) rv[b] = _mm512_loadu_ps(r[b] + i);
#pragma GCC unroll 8
        for (int a = 0; a < INDEX__QT; a++) {
            __m512 qv = _mm512_loadu_ps(q[a] + i);
#pragma GCC unroll 4
            for (int b = 0; b < 4; b++) acc[a][b] = index__avx512_step(m, acc[a][b], qv, rv[b]);
        }
    }
    if (full < dim) {
        __mmask16 k = index__avx512_tail_mask(dim - full);
        __m512 rv[4];
#pragma GCC unroll 4
        for (int b = 0; b < 4; b++) rv[b] = _mm512_maskz_loadu_ps(k, r[b] + full);
#pragma GCC unroll 8
        for (int a = 0; a < INDEX__QT; a++) {
            __m512 qv = _mm512_maskz_loadu_ps(k, q[a] + full);
#pragma GCC unroll 4
            for (int b = 0; b < 4; b++) acc[a][b] = index__avx512_step(m, acc[a][b], qv, rv[b]);
        }
    }
#pragma GCC unroll 8
    for (int a = 0; a < INDEX__QT; a++) res[a] = index__avx512_reduce4(acc[a][0], acc[a][1], acc[a][2], acc[a][3]);
}

INDEX__INLINE void index__avx512_block(int m, const float *qs, size_t n_q, const float *rows,
                                       size_t n, size_t dim, float *out) {
    size_t i = 0;
    for (; i + INDEX__QT <= n_q; i += INDEX__QT) {
        const float *q[INDEX__QT];
        for (size_t t = 0; t < INDEX__QT; t++) q[t] = qs + (i + t) * dim;
        for (size_t j = 0; j < n; j += 4) {
            size_t nr = n - j < 4 ? n - j : 4;
            const float *r[4];
            for (size_t t = 0; t < 4; t++) r[t] = rows + (j + (t < nr ? t : 0)) * dim;
            __m128 res[INDEX__QT];
            index__avx512_pass_tile(m, q, r, dim, res);
            for (size_t t = 0; t < INDEX__QT; t++) index__avx512_store_n(out + (i + t) * n + j, res[t], nr);
        }
    }
    /* Fewer than INDEX__QT queries left: one at a time rather than padded. */
    for (; i < n_q; i++) index__avx512_rows(m, qs + i * dim, rows, n, dim, out + i * n);
}

static void index__avx512_dot_block(const float *qs, size_t n_q, const float *rows, size_t n,
                                    size_t dim, float *out) {
    index__avx512_block(INDEX__M_DOT, qs, n_q, rows, n, dim, out);
}
static void index__avx512_l2sq_block(const float *qs, size_t n_q, const float *rows, size_t n,
                                     size_t dim, float *out) {
    index__avx512_block(INDEX__M_L2, qs, n_q, rows, n, dim, out);
}
static void index__avx512_l1_block(const float *qs, size_t n_q, const float *rows, size_t n,
                                   size_t dim, float *out) {
    index__avx512_block(INDEX__M_L1, qs, n_q, rows, n, dim, out);
}

const index_kernels index__kernels_avx512 = {
    .isa = "avx512",
    .dot_s8 = index__avx2_dot_s8, /* memory-bound in its one use; AVX-512 CPUs have AVX2 */
    .hamming_rows = index__avx2_hamming_rows,
    .dot = index__avx512_dot,
    .l2sq = index__avx512_l2sq,
    .l1 = index__avx512_l1,
    .dot_rows = index__avx512_dot_rows,
    .l2sq_rows = index__avx512_l2sq_rows,
    .l1_rows = index__avx512_l1_rows,
    .dot_block = index__avx512_dot_block,
    .l2sq_block = index__avx512_l2sq_block,
    .l1_block = index__avx512_l1_block,
};
