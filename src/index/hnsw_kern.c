/*
** index/hnsw_kern: the distance kernels the HNSW index uses until the
** shared kernels of index.h (index_kernels_best, branch wip/kernels) are
** merged; then hnsw_kernels_fallback should return index_kernels_best().
** Scalar versions here, AVX-512 ones in hnsw_kern_avx512.c, chosen once at
** run time (SEMCODE_ISA=scalar forces scalar). Only the single-pair kernels
** are provided; the *_rows members are NULL (the index does not use them).
*/
#include "index/hnsw_int.h"

#include <stdlib.h>
#include <string.h>

/* AVX-512 kernels (hnsw_kern_avx512.c). */
float hnsw_kern_dot_avx512(const float *a, const float *b, size_t dim);
float hnsw_kern_l2sq_avx512(const float *a, const float *b, size_t dim);
float hnsw_kern_l1_avx512(const float *a, const float *b, size_t dim);

static float hnsw__dot(const float *a, const float *b, size_t dim) {
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

static float hnsw__l2sq(const float *a, const float *b, size_t dim) {
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
    for (; i < dim; i++) s0 += (a[i] - b[i]) * (a[i] - b[i]);
    return (s0 + s1) + (s2 + s3);
}

static float hnsw__l1(const float *a, const float *b, size_t dim) {
    float s = 0.0f;
    for (size_t i = 0; i < dim; i++) s += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
    return s;
}

static const index_kernels hnsw__scalar = {"scalar", hnsw__dot, hnsw__l2sq, hnsw__l1, NULL, NULL, NULL};
static const index_kernels hnsw__avx512 = {"avx512", hnsw_kern_dot_avx512, hnsw_kern_l2sq_avx512,
                                           hnsw_kern_l1_avx512, NULL, NULL, NULL};

const index_kernels *hnsw_kernels_fallback(void) {
    const char *e = getenv("SEMCODE_ISA");
    if (e && strcmp(e, "scalar") == 0) return &hnsw__scalar;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return &hnsw__avx512;
    return &hnsw__scalar;
}
