/*
** index/quant_avx512: AVX-512 kernels of the quantized modes: u8 x s8 dot
** products with VNNI (vpdpbusd) and Hamming distance with VPOPCNTDQ. Tails
** use masked loads (AVX-512BW for bytes), so any length works. The binary
** query kernel weights popcounts of code AND query bit planes. Tested
** against the scalar kernels of quant.c, which they must match exactly.
*/
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "index/quant.h"

int32_t quant_kern_dot_u8s8_avx512(const uint8_t *a, const int8_t *b, size_t n);
uint32_t quant_kern_hamming_avx512(const uint64_t *a, const uint64_t *b, size_t n_words);

/* sum a[i]*b[i] (a unsigned, b signed) with vpdpbusd, 64 bytes a step. */
int32_t quant_kern_dot_u8s8_avx512(const uint8_t *a, const int8_t *b, size_t n) {
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
        acc1 = _mm512_dpbusd_epi32(acc1, _mm512_loadu_si512(a + i + 64),
                                   _mm512_loadu_si512(b + i + 64));
    }
    for (; i < n; i += 64) {
        size_t r = n - i;
        __mmask64 m = r >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << r) - 1);
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_maskz_loadu_epi8(m, a + i),
                                   _mm512_maskz_loadu_epi8(m, b + i));
    }
    return _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1));
}

/* popcount(a ^ b) over n_words words with vpopcntq, 8 words a step. */
uint32_t quant_kern_hamming_avx512(const uint64_t *a, const uint64_t *b, size_t n_words) {
    __m512i acc = _mm512_setzero_si512();
    for (size_t i = 0; i < n_words; i += 8) {
        size_t r = n_words - i;
        __mmask8 m = r >= 8 ? (__mmask8)0xff : (__mmask8)((1u << r) - 1u);
        __m512i x = _mm512_xor_si512(_mm512_maskz_loadu_epi64(m, a + i),
                                     _mm512_maskz_loadu_epi64(m, b + i));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
    }
    return (uint32_t)_mm512_reduce_add_epi64(acc);
}

uint32_t quant_kern_planes_dot_avx512(const uint64_t *code, const uint64_t *planes, size_t n_words);

/* sum_j popcount(code & plane_j) << j over QUANT_QUERY_BITS planes. */
uint32_t quant_kern_planes_dot_avx512(const uint64_t *code, const uint64_t *planes, size_t n_words) {
    __m512i acc = _mm512_setzero_si512();
    for (size_t i = 0; i < n_words; i += 8) {
        size_t r = n_words - i;
        __mmask8 m = r >= 8 ? (__mmask8)0xff : (__mmask8)((1u << r) - 1u);
        __m512i c = _mm512_maskz_loadu_epi64(m, code + i);
        for (unsigned j = 0; j < QUANT_QUERY_BITS; j++) {
            __m512i p = _mm512_maskz_loadu_epi64(m, planes + j * n_words + i);
            __m512i pc = _mm512_popcnt_epi64(_mm512_and_si512(c, p));
            acc = _mm512_add_epi64(acc, _mm512_slli_epi64(pc, j));
        }
    }
    return (uint32_t)_mm512_reduce_add_epi64(acc);
}
