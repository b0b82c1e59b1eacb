/*
** embed/pool_avx2.c: AVX2 + FMA kernel of the pooling sum
** out += f × int8 row, used by embed_model_pool when the CPU has AVX2
** (checked at run time). Tested against the scalar loop in test_embed.c.
*/
#include <immintrin.h>

#include "embed/embed.h"

/* The target attribute lets this file build without -mavx2 too (fuzz and
** replay builds compile every source with the same flags). */
__attribute__((target("avx2,fma"))) void embed_axpy_i8_avx2(float *out, const int8_t *row, float f, uint32_t dim) {
    __m256 vf = _mm256_set1_ps(f);
    uint32_t d = 0;
    for (; d + 16 <= dim; d += 16) {
        __m128i q = _mm_loadu_si128((const __m128i *)(row + d));
        __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
        __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q, 8)));
        _mm256_storeu_ps(out + d, _mm256_fmadd_ps(vf, lo, _mm256_loadu_ps(out + d)));
        _mm256_storeu_ps(out + d + 8, _mm256_fmadd_ps(vf, hi, _mm256_loadu_ps(out + d + 8)));
    }
    for (; d < dim; d++) out[d] += f * (float)row[d];
}
