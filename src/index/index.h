/*
** index: vector distance kernels, top-k selection and (later) ANN indexes.
** Knows nothing of payloads, JSON or files other than its own.
**
** Kernels come in a portable scalar version and SIMD versions (AVX2+FMA,
** AVX-512) chosen once at run time from the CPU's features. Every SIMD
** kernel agrees with the scalar one within 1e-5 relative error.
**
** Thread safety: all functions are pure except index_kernels_init, which is
** idempotent and thread safe.
*/
#ifndef SC_INDEX_H
#define SC_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* ==== Distance kernels ==== */

typedef float (*index_kernel_fn)(const float *a, const float *b, size_t dim);

/* One implementation of every kernel. */
typedef struct index_kernels {
    const char *isa;        /* "scalar", "avx2", "avx512" */
    index_kernel_fn dot;    /* sum a[i]*b[i] */
    index_kernel_fn l2sq;   /* sum (a[i]-b[i])^2 */
    index_kernel_fn l1;     /* sum |a[i]-b[i]| */
    /* dot of one query against n rows of a row-major matrix (stride dim);
    ** writes n scores. The hot loop of exact search. */
    void (*dot_rows)(const float *q, const float *rows, size_t n, size_t dim, float *out);
    void (*l2sq_rows)(const float *q, const float *rows, size_t n, size_t dim, float *out);
    void (*l1_rows)(const float *q, const float *rows, size_t n, size_t dim, float *out);
} index_kernels;

/* The best kernels this CPU supports (selected on first call; honours the
** environment variable SEMCODE_ISA=scalar|avx2|avx512 to force a lower one). */
const index_kernels *index_kernels_best(void);
/* A specific implementation, or NULL when the CPU (or build) lacks it. */
const index_kernels *index_kernels_scalar(void);
const index_kernels *index_kernels_avx2(void);
const index_kernels *index_kernels_avx512(void);

/* L2-normalise v in place; returns the original norm (0 leaves v as is). */
float index_normalize(float *v, size_t dim);

#endif /* SC_INDEX_H */
