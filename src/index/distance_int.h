/*
** index: private declarations shared by the distance kernel files
** (distance_scalar.c, distance_avx2.c, distance_avx512.c) and the
** dispatcher distance.c. Only the files of src/index include it.
*/
#ifndef SC_INDEX_DISTANCE_INT_H
#define SC_INDEX_DISTANCE_INT_H

#include "index/index.h"

/* The kernel table of each ISA file. The tables are always linked in; the
** dispatcher only hands out those the CPU can run. */
extern const index_kernels index__kernels_scalar;
extern const index_kernels index__kernels_avx2;
extern const index_kernels index__kernels_avx512;

/* The AVX2 int8 dot (distance_avx2.c), shared by the AVX-512 table. */
int32_t index__avx2_dot_s8(const int8_t *a, const int8_t *b, size_t n);
void index__avx2_hamming_rows(const uint64_t *q, const uint64_t *rows, size_t n, size_t n_words, uint16_t *out);

#endif /* SC_INDEX_DISTANCE_INT_H */
