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
    /* n_q queries (contiguous, stride dim) against n rows: writes
    ** out[i*n + j] = score(query i, row j). Every score is bit-identical to
    ** what the matching *_rows kernel writes for that pair, so batched and
    ** one-at-a-time searches agree exactly. The hot loop of batched search. */
    void (*dot_block)(const float *qs, size_t n_q, const float *rows, size_t n, size_t dim,
                      float *out);
    void (*l2sq_block)(const float *qs, size_t n_q, const float *rows, size_t n, size_t dim,
                       float *out);
    void (*l1_block)(const float *qs, size_t n_q, const float *rows, size_t n, size_t dim,
                     float *out);
    /* sum a[i]*b[i] over n int8 values in [-127, 127] (-128 is not allowed):
    ** the int8 pass over the flat tail (store/tailq.c). Exact in every ISA. */
    int32_t (*dot_s8)(const int8_t *a, const int8_t *b, size_t n);
    /* out[i] = number of differing bits of q and row i of n consecutive
    ** rows of n_words 64-bit words each (at most 65,535 bits): the sign
    ** pass over the flat tail (store/tailq.c). Exact in every ISA. */
    void (*hamming_rows)(const uint64_t *q, const uint64_t *rows, size_t n, size_t n_words, uint16_t *out);
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


/* ==== Exact (flat) search ==== */

typedef enum index_metric {
    INDEX_METRIC_DOT = 0, /* score = dot product, higher is better (cosine on normalised data) */
    INDEX_METRIC_L2 = 1,  /* score = euclidean distance (sqrt of l2sq), lower is better */
    INDEX_METRIC_L1 = 2,  /* score = manhattan distance, lower is better */
} index_metric;

/* One result: a row of the scanned matrix and its score. */
typedef struct index_hit {
    float score;  /* similarity (DOT) or distance (L2, L1) */
    uint32_t row; /* row number in the matrix */
} index_hit;

/* Which rows a scan may return: rows for which accept(state, row) is true
** (NULL accept = every row). Ties of equal score are ordered by
** tie_cmp(state, row_a, row_b) < 0 first (NULL = by row number). */
typedef struct index_scan_filter {
    bool (*accept)(void *state, uint32_t row);
    int (*tie_cmp)(void *state, uint32_t a, uint32_t b);
    void *state;
} index_scan_filter;

typedef struct index_flat_params {
    index_metric metric;     /* how to score */
    uint32_t k;              /* results wanted per query */
    bool has_threshold;      /* drop results worse than threshold */
    float threshold;         /* lower bound for DOT, upper bound for L2/L1 */
    uint32_t n_threads;      /* 1 = calling thread only; 0 = all cores */
} index_flat_params;

/* Exact top-k of n_queries queries (contiguous, dim each) over rows
** [0, n_rows) of `rows` (row-major, stride dim). For query q, writes up to
** k hits best-first into out_hits[q*k ...] and their count into
** out_n[q]. Several queries are scored in blocks so the matrix is read
** once per block. Returns false only when scratch memory could not be had. */
bool index_flat_search(const index_kernels *kern, const index_flat_params *p, const float *queries,
                       size_t n_queries, const float *rows, size_t n_rows, size_t dim,
                       const index_scan_filter *filter, index_hit *out_hits, uint32_t *out_n);

#endif /* SC_INDEX_H */
