/*
** index/quant: compact codes for f32 vectors, used by the HNSW index to
** walk the graph with less memory traffic, followed by rescoring of the best
** candidates with the full-precision vectors.
**
** Modes:
**   INT8   - one byte per dimension: x ~ lo[d] + scale[d] * code[d], where the
**            range [lo, hi] is a quantile range (default central 99.9 %) of the
**            training sample, per dimension or global. Queries are quantized
**            to int8 on the fly, so the inner loop is an u8 x s8 dot product
**            (AVX-512 VNNI vpdpbusd where the CPU has it). Metrics DOT and L2
**            (L2 via |q|^2 - 2 q.x + |x|^2, |x|^2 kept with the code); L1 is
**            scored by dequantizing (scalar, slower).
**   BINARY - one bit per dimension: bit d = x[d] > mean[d] (+ popcount and
**            |x|^2, 8 bytes). Scored asymmetrically: the query keeps 4 bits per
**            dimension as bit planes and the estimate of q.x is a weighted sum
**            of popcount(code & plane) (AVX-512 VPOPCNTDQ where present).
**            DOT and L2; L1 ranks by Hamming. Always rescore.
**
** Thread safety: a trained quant is immutable; every function is pure.
*/
#ifndef SC_INDEX_QUANT_H
#define SC_INDEX_QUANT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "index/index.h"
#include "util/util.h"

typedef struct quant quant; /* trained quantizer (ranges or means) */

typedef enum quant_mode {
    QUANT_MODE_NONE = 0,   /* full precision only */
    QUANT_MODE_INT8 = 1,   /* 1 byte per dimension + 4 bytes */
    QUANT_MODE_BINARY = 2, /* 1 bit per dimension, rounded up to 64 bits, + 8 bytes */
} quant_mode;

typedef enum quant_range {
    QUANT_RANGE_PER_DIM = 0, /* one [lo, hi] per dimension */
    QUANT_RANGE_GLOBAL = 1,  /* one [lo, hi] for all dimensions */
} quant_range;

typedef struct quant_params {
    quant_mode mode;    /* INT8 or BINARY */
    quant_range range;  /* INT8: per-dimension or global clipping range */
    float quantile;     /* INT8: central mass kept in [lo, hi], e.g. 0.999; 1 = min/max */
    uint32_t max_train; /* rows sampled for training (0 = 20,000) */
} quant_params;

/* Defaults for a mode: per-dimension range, quantile 0.999, 20,000 samples.
** (0.99 clipped whole clusters of clustered data: recall@10 0.91 instead of
** 0.995 with 2x oversampling in test_quant.) */
quant_params quant_params_default(quant_mode mode);

/* Train on n vectors (vecs[i] has dim floats; the caller samples). On SC_OK
** *out owns the quantizer (quant_free). SC_INVALID for a bad mode, quantile
** outside (0.5, 1], n = 0 or dim = 0. */
sc_status quant_train(const quant_params *qp, index_metric metric, uint32_t dim,
                      const float *const *vecs, size_t n, quant **out, sc_err *err);
/* Free; NULL is a no-op. */
void quant_free(quant *q);
/* Mode of a trained quantizer. */
quant_mode quant_get_mode(const quant *q);
/* Bytes of one code. */
size_t quant_code_size(const quant *q);
/* Bytes of a prepared query buffer (see quant_query_prepare). */
size_t quant_query_size(const quant *q);
/* Encode one vector into code (quant_code_size bytes). */
void quant_encode(const quant *q, const float *vec, uint8_t *code);
/* Prepare a query for quant_distance into buf (quant_query_size bytes,
** 64-byte aligned for speed but any alignment works). */
void quant_query_prepare(const quant *q, const float *query, void *buf);
/* Estimated distance of a prepared query to a code, lower = closer: -dot for
** DOT, squared L2 for L2, L1 for L1 (INT8) or Hamming (BINARY L1). */
float quant_distance(const quant *q, const void *qbuf, const uint8_t *code);

/* Serialized size of the trained parameters (for the index file). */
size_t quant_serial_size(const quant *q);
/* Write quant_serial_size bytes (magic, version, params, checksum). */
void quant_serialize(const quant *q, uint8_t *buf);
/* Read parameters written by quant_serialize. base_offset is the position of
** buf in its file, for the offset in SC_CORRUPT messages. */
sc_status quant_deserialize(const uint8_t *buf, size_t size, uint64_t base_offset, quant **out,
                            sc_err *err);

/* ==== Kernels ==== */

#define QUANT_QUERY_BITS 4 /* bits per dimension of a BINARY query */

/* Integer kernels of the quantized modes; every SIMD version is tested
** against the scalar one and must agree exactly. */
typedef struct quant_kernels {
    const char *isa; /* "scalar", "avx512" */
    /* sum a[i] * b[i] over n bytes, a unsigned, b signed */
    int32_t (*dot_u8s8)(const uint8_t *a, const int8_t *b, size_t n);
    /* number of differing bits over n_words 64-bit words */
    uint32_t (*hamming)(const uint64_t *a, const uint64_t *b, size_t n_words);
    /* sum over j < QUANT_QUERY_BITS of popcount(code & planes[j]) << j, where
    ** plane j is the n_words words at planes + j * n_words */
    uint32_t (*planes_dot)(const uint64_t *code, const uint64_t *planes, size_t n_words);
} quant_kernels;

/* Portable kernels. */
const quant_kernels *quant_kernels_scalar(void);
/* AVX-512 VNNI + VPOPCNTDQ kernels, or NULL when the CPU lacks them. */
const quant_kernels *quant_kernels_avx512(void);
/* The best available (SEMCODE_ISA=scalar forces the portable ones). */
const quant_kernels *quant_kernels_best(void);

/* Bytes per vector of a mode for dim dimensions, codes only (f32 = 4*dim):
** what the store reports in `info`. */
size_t quant_bytes_per_vector(quant_mode mode, uint32_t dim);

#endif /* SC_INDEX_QUANT_H */
