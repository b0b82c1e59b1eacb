/*
** tests/unit/ann_testdata: clustered synthetic vectors and exact top-k for
** the ANN tests (test_hnsw, test_quant), and the kernel sets to check
** (test_flat, test_kernels). Data: a gaussian mixture of
** n/50 centroids drawn from N(0, 1) per dimension, each with its own spread
** in [0.1, 0.5]; queries are drawn from the same mixture.
*/
#ifndef SC_TESTS_ANN_TESTDATA_H
#define SC_TESTS_ANN_TESTDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index/index.h"

/* Fill out[n * dim] with mixture points (normalised when normalize); the
** same seed gives the same data. centroids are drawn from seed 1 of the
** sequence so data and queries of one mixture share them. */
void ann_test_mixture(float *out, size_t n, size_t dim, size_t n_centroids, uint64_t seed,
                      uint64_t mix_seed, bool normalize);
/* Exact top-k of q over rows [0, n) with accept (NULL = all) and skip
** (rows for which skip[r] is true are left out; NULL = none). Writes
** best-first rows into out and returns how many. */
uint32_t ann_test_exact(index_metric metric, const float *rows, size_t n, size_t dim,
                        const float *q, uint32_t k, bool (*accept)(void *, uint32_t), void *st,
                        const bool *skip, uint32_t *out);
/* The distance kernels to check: scalar and every SIMD set this CPU has,
** into out; returns how many (1 to 3). */
size_t ann_test_kernels(const index_kernels *out[3]);
/* |a ∩ b| / nb for result lists. */
double ann_test_overlap(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb);

#endif
