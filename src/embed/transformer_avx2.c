/*
** embed/transformer_avx2: AVX2 + FMA versions of the element-wise passes of
** the encoder that call transcendental functions: GELU (erf) and the
** attention softmax (exp). Built with -mavx2 -mfma (this file only) and
** chosen at run time by transformer_forward.c when the CPU has both; the
** scalar versions there are the reference the unit test compares with.
**
** exp: 2^n * p(r) with n = round(x log2 e), r = x - n ln 2 (ln 2 split in
** two for accuracy) and a degree-6 polynomial; relative error ~2e-7 on
** [-87, 88]. erf: Abramowitz & Stegun 7.1.26, absolute error <= 1.5e-7.
*/
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "embed/transformer_int.h"

static __m256 transformer__exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* 0.5 x (1 + erf(x / sqrt 2)) on 8 lanes. */
static __m256 transformer__gelu8(__m256 x) {
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f));
    __m256 sign = _mm256_and_ps(z, sign_mask);
    __m256 a = _mm256_andnot_ps(sign_mask, z);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(a, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    p = _mm256_mul_ps(p, t);
    __m256 e = transformer__exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a)));
    __m256 erf = _mm256_fnmadd_ps(p, e, _mm256_set1_ps(1.0f));
    erf = _mm256_or_ps(erf, sign);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
}

void transformer_gelu_avx2(float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, transformer__gelu8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float tail[8] = {0};
        for (size_t k = 0; k < n - i; k++) tail[k] = x[i + k];
        _mm256_storeu_ps(tail, transformer__gelu8(_mm256_loadu_ps(tail)));
        for (size_t k = 0; k < n - i; k++) x[i + k] = tail[k];
    }
}

void transformer_softmax_avx2(float *row, uint32_t n) {
    float mx = row[0];
    for (uint32_t i = 1; i < n; i++) mx = row[i] > mx ? row[i] : mx;
    const __m256 vmx = _mm256_set1_ps(mx);
    __m256 acc = _mm256_setzero_ps();
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = transformer__exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), vmx));
        _mm256_storeu_ps(row + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    float sum = lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
    if (i < n) {
        float tail[8];
        for (uint32_t k = 0; k < 8; k++) tail[k] = i + k < n ? row[i + k] - mx : -100.0f;
        _mm256_storeu_ps(tail, transformer__exp8(_mm256_loadu_ps(tail)));
        for (uint32_t k = 0; k < n - i; k++) {
            row[i + k] = tail[k];
            sum += tail[k];
        }
    }
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), inv));
    for (; i < n; i++) row[i] *= 1.0f / sum;
}
