/*
** index: AVX2 + FMA distance kernels (8 floats per register). Compiled with
** -mavx2 -mfma; only called after the dispatcher checked the CPU.
**
** Pair kernels keep four accumulators (32 floats per step) to hide the FMA
** latency. The rows kernels score four rows per pass with one accumulator
** per row, so the query is loaded once per four rows; a row's score is the
** same whichever group it falls in, which lets the block kernels (and so
** batched search) reuse them and agree bit for bit. Tails shorter than a
** register are read with masked loads, never past the end of a row.
*/
#include <immintrin.h>
#include <stdint.h>

#include "index/distance_int.h"

/* ==== Helpers ==== */

/* Eight -1 then eight 0: a load at offset 8 - r gives a mask of r lanes. */
static const int32_t index__avx2_mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                  0,  0,  0,  0,  0,  0,  0,  0};

static inline __m256i index__avx2_tail_mask(size_t rem) {
    return _mm256_loadu_si256((const __m256i *)(index__avx2_mask_src + 8 - rem));
}

static inline float index__avx2_hsum(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

static inline __m256 index__avx2_abs(__m256 v) {
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

/* One accumulation step of each metric: acc += f(q, r) lane by lane. */
#define INDEX__STEP_DOT(acc, q, r) ((acc) = _mm256_fmadd_ps((q), (r), (acc)))
#define INDEX__STEP_L2(acc, q, r)                                                                  \
    do {                                                                                           \
        __m256 d_ = _mm256_sub_ps((q), (r));                                                       \
        (acc) = _mm256_fmadd_ps(d_, d_, (acc));                                                    \
    } while (0)
#define INDEX__STEP_L1(acc, q, r) ((acc) = _mm256_add_ps((acc), index__avx2_abs(_mm256_sub_ps((q), (r)))))

/* ==== Pair kernels ==== */

#define INDEX__DEF_PAIR(name, STEP)                                                                \
    static float name(const float *a, const float *b, size_t dim) {                                \
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();                                 \
        __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();                                 \
        size_t i = 0;                                                                              \
        for (; i + 32 <= dim; i += 32) {                                                           \
            STEP(s0, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));                              \
            STEP(s1, _mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));                      \
            STEP(s2, _mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));                    \
            STEP(s3, _mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));                    \
        }                                                                                          \
        for (; i + 8 <= dim; i += 8) STEP(s0, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));     \
        if (i < dim) {                                                                             \
            __m256i m = index__avx2_tail_mask(dim - i);                                            \
            STEP(s1, _mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));                  \
        }                                                                                          \
        return index__avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));      \
    }

INDEX__DEF_PAIR(index__avx2_dot, INDEX__STEP_DOT)
INDEX__DEF_PAIR(index__avx2_l2sq, INDEX__STEP_L2)
INDEX__DEF_PAIR(index__avx2_l1, INDEX__STEP_L1)

/* ==== Rows kernels ==== */

#define INDEX__DEF_ROWS(name, STEP)                                                                \
    static void name(const float *q, const float *rows, size_t n, size_t dim, float *out) {        \
        size_t full = dim & ~(size_t)7;                                                            \
        __m256i m = index__avx2_tail_mask(dim - full);                                             \
        size_t j = 0;                                                                              \
        for (; j + 4 <= n; j += 4) {                                                               \
            const float *r0 = rows + j * dim, *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;      \
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();                             \
            __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();                             \
            for (size_t i = 0; i < full; i += 8) {                                                 \
                __m256 qv = _mm256_loadu_ps(q + i);                                                \
                STEP(a0, qv, _mm256_loadu_ps(r0 + i));                                             \
                STEP(a1, qv, _mm256_loadu_ps(r1 + i));                                             \
                STEP(a2, qv, _mm256_loadu_ps(r2 + i));                                             \
                STEP(a3, qv, _mm256_loadu_ps(r3 + i));                                             \
            }                                                                                      \
            if (full < dim) {                                                                      \
                __m256 qv = _mm256_maskload_ps(q + full, m);                                       \
                STEP(a0, qv, _mm256_maskload_ps(r0 + full, m));                                    \
                STEP(a1, qv, _mm256_maskload_ps(r1 + full, m));                                    \
                STEP(a2, qv, _mm256_maskload_ps(r2 + full, m));                                    \
                STEP(a3, qv, _mm256_maskload_ps(r3 + full, m));                                    \
            }                                                                                      \
            out[j] = index__avx2_hsum(a0);                                                         \
            out[j + 1] = index__avx2_hsum(a1);                                                     \
            out[j + 2] = index__avx2_hsum(a2);                                                     \
            out[j + 3] = index__avx2_hsum(a3);                                                     \
        }                                                                                          \
        for (; j < n; j++) {                                                                       \
            const float *r0 = rows + j * dim;                                                      \
            __m256 a0 = _mm256_setzero_ps();                                                       \
            for (size_t i = 0; i < full; i += 8)                                                   \
                STEP(a0, _mm256_loadu_ps(q + i), _mm256_loadu_ps(r0 + i));                         \
            if (full < dim)                                                                        \
                STEP(a0, _mm256_maskload_ps(q + full, m), _mm256_maskload_ps(r0 + full, m));       \
            out[j] = index__avx2_hsum(a0);                                                         \
        }                                                                                          \
    }

INDEX__DEF_ROWS(index__avx2_dot_rows, INDEX__STEP_DOT)
INDEX__DEF_ROWS(index__avx2_l2sq_rows, INDEX__STEP_L2)
INDEX__DEF_ROWS(index__avx2_l1_rows, INDEX__STEP_L1)

/* ==== Block kernels ==== */

/* The rows block is meant to sit in L2 while every query passes over it. */
#define INDEX__DEF_BLOCK(name, rows_fn)                                                            \
    static void name(const float *qs, size_t n_q, const float *rows, size_t n, size_t dim,         \
                     float *out) {                                                                 \
        for (size_t i = 0; i < n_q; i++) rows_fn(qs + i * dim, rows, n, dim, out + i * n);         \
    }

INDEX__DEF_BLOCK(index__avx2_dot_block, index__avx2_dot_rows)
INDEX__DEF_BLOCK(index__avx2_l2sq_block, index__avx2_l2sq_rows)
INDEX__DEF_BLOCK(index__avx2_l1_block, index__avx2_l1_rows)

/* ==== int8 ==== */

/* 32 bytes per step: |a| (unsigned) times b with a's sign, pairs summed to
** 16 bits (at most 2 * 127 * 127, no saturation), then to 32 bits. */
int32_t index__avx2_dot_s8(const int8_t *a, const int8_t *b, size_t n) {
    __m256i acc = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(va, va), _mm256_sign_epi8(vb, va));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p16, ones));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    int32_t sum = _mm_cvtsi128_si32(s);
    for (; i < n; i++) sum += (int32_t)a[i] * b[i];
    return sum;
}

/* ==== bits ==== */

/* popcnt per word (every AVX2 CPU has it; the dispatch checks). */
void index__avx2_hamming_rows(const uint64_t *q, const uint64_t *rows, size_t n, size_t n_words, uint16_t *out) {
    for (size_t r = 0; r < n; r++, rows += n_words) {
        uint64_t s = 0;
        for (size_t i = 0; i < n_words; i++) s += (uint64_t)_mm_popcnt_u64(q[i] ^ rows[i]);
        out[r] = (uint16_t)s;
    }
}

const index_kernels index__kernels_avx2 = {
    .isa = "avx2",
    .dot_s8 = index__avx2_dot_s8,
    .hamming_rows = index__avx2_hamming_rows,
    .dot = index__avx2_dot,
    .l2sq = index__avx2_l2sq,
    .l1 = index__avx2_l1,
    .dot_rows = index__avx2_dot_rows,
    .l2sq_rows = index__avx2_l2sq_rows,
    .l1_rows = index__avx2_l1_rows,
    .dot_block = index__avx2_dot_block,
    .l2sq_block = index__avx2_l2sq_block,
    .l1_block = index__avx2_l1_block,
};
