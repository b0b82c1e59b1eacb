/*
** index: run-time choice of the distance kernels, and small helpers on
** vectors (normalisation). The choice is made once, on the first call of
** index_kernels_best, from the CPU's features as reported by the compiler
** runtime (__builtin_cpu_supports, which also checks that the OS saves the
** wide registers). SEMCODE_ISA=scalar|avx2|avx512 asks for a lower ISA
** (for tests and benchmarks); asking for more than the CPU has gives the
** best the CPU has.
*/
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "index/distance_int.h"

/* ==== CPU features ==== */

static bool index__cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("popcnt");
}

static bool index__cpu_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           index__cpu_has_avx2();
}

const index_kernels *index_kernels_scalar(void) { return &index__kernels_scalar; }

const index_kernels *index_kernels_avx2(void) {
    return index__cpu_has_avx2() ? &index__kernels_avx2 : NULL;
}

const index_kernels *index_kernels_avx512(void) {
    return index__cpu_has_avx512() ? &index__kernels_avx512 : NULL;
}

/* ==== Dispatch ==== */

static pthread_once_t index__best_once = PTHREAD_ONCE_INIT;
static const index_kernels *index__best; /* set once by index__best_init */

static void index__best_init(void) {
    const char *want = getenv("SEMCODE_ISA");
    int limit = 2; /* 0 scalar, 1 avx2, 2 avx512 */
    if (want != NULL) {
        if (strcmp(want, "scalar") == 0) limit = 0;
        else if (strcmp(want, "avx2") == 0) limit = 1;
    }
    const index_kernels *k = NULL;
    if (limit >= 2) k = index_kernels_avx512();
    if (k == NULL && limit >= 1) k = index_kernels_avx2();
    if (k == NULL) k = index_kernels_scalar();
    index__best = k;
}

const index_kernels *index_kernels_best(void) {
    pthread_once(&index__best_once, index__best_init);
    return index__best;
}

/* ==== Vectors ==== */

float index_normalize(float *v, size_t dim) {
    /* Summed in double: the norm of a 4,096-d vector keeps full float
    ** precision and this is not a hot loop. */
    double s = 0.0;
    for (size_t i = 0; i < dim; i++) s += (double)v[i] * (double)v[i];
    double norm = sqrt(s);
    if (norm > 0.0 && isfinite(norm)) {
        double inv = 1.0 / norm;
        for (size_t i = 0; i < dim; i++) v[i] = (float)((double)v[i] * inv);
    }
    return (float)norm;
}
