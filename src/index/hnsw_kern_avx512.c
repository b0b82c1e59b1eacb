/*
** index/hnsw_kern_avx512: AVX-512F float kernels for the HNSW index (see
** hnsw_kern.c); tails handled with masked loads, so any dim works.
*/
#include <immintrin.h>
#include <stddef.h>

float hnsw_kern_dot_avx512(const float *a, const float *b, size_t dim);
float hnsw_kern_l2sq_avx512(const float *a, const float *b, size_t dim);
float hnsw_kern_l1_avx512(const float *a, const float *b, size_t dim);

/* sum a[i]*b[i], two accumulators. */
float hnsw_kern_dot_avx512(const float *a, const float *b, size_t dim) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < dim; i += 16) {
        size_t r = dim - i;
        __mmask16 m = r >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << r) - 1u);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/* sum (a[i]-b[i])^2, two accumulators. */
float hnsw_kern_l2sq_avx512(const float *a, const float *b, size_t dim) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s0 = _mm512_fmadd_ps(d0, d0, s0);
        s1 = _mm512_fmadd_ps(d1, d1, s1);
    }
    for (; i < dim; i += 16) {
        size_t r = dim - i;
        __mmask16 m = r >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << r) - 1u);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s0 = _mm512_fmadd_ps(d, d, s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/* sum |a[i]-b[i]|. */
float hnsw_kern_l1_avx512(const float *a, const float *b, size_t dim) {
    __m512 s0 = _mm512_setzero_ps();
    for (size_t i = 0; i < dim; i += 16) {
        size_t r = dim - i;
        __mmask16 m = r >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << r) - 1u);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s0 = _mm512_add_ps(s0, _mm512_abs_ps(d));
    }
    return _mm512_reduce_add_ps(s0);
}
