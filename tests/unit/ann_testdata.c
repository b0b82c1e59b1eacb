/*
** tests/unit/ann_testdata: data generation and exact search for the ANN
** unit tests (see ann_testdata.h).
*/
#include "ann_testdata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t ann__next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double ann__unif(uint64_t *s) {
    return ((double)(ann__next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static float ann__gauss(uint64_t *s) {
    double u = ann__unif(s), v = ann__unif(s);
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

void ann_test_mixture(float *out, size_t n, size_t dim, size_t n_centroids, uint64_t seed,
                      uint64_t mix_seed, bool normalize) {
    uint64_t ms = mix_seed;
    float *cent = malloc(n_centroids * dim * sizeof *cent);
    float *spread = malloc(n_centroids * sizeof *spread);
    for (size_t c = 0; c < n_centroids; c++) {
        for (size_t d = 0; d < dim; d++) cent[c * dim + d] = ann__gauss(&ms);
        spread[c] = (float)(0.1 + 0.4 * ann__unif(&ms));
    }
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        size_t c = ann__next(&s) % n_centroids;
        float *v = out + i * dim;
        float nn = 0.0f;
        for (size_t d = 0; d < dim; d++) {
            v[d] = cent[c * dim + d] + spread[c] * ann__gauss(&s);
            nn += v[d] * v[d];
        }
        if (normalize && nn > 0.0f) {
            float inv = 1.0f / sqrtf(nn);
            for (size_t d = 0; d < dim; d++) v[d] *= inv;
        }
    }
    free(cent);
    free(spread);
}

static float ann__dist(index_metric m, const float *a, const float *b, size_t dim) {
    double s = 0.0;
    for (size_t i = 0; i < dim; i++) {
        double x = a[i], y = b[i];
        if (m == INDEX_METRIC_DOT) s -= x * y;
        else if (m == INDEX_METRIC_L2) s += (x - y) * (x - y);
        else s += fabs(x - y);
    }
    return (float)s;
}

uint32_t ann_test_exact(index_metric metric, const float *rows, size_t n, size_t dim,
                        const float *q, uint32_t k, bool (*accept)(void *, uint32_t), void *st,
                        const bool *skip, uint32_t *out) {
    float *bd = malloc(k * sizeof *bd);
    uint32_t nb = 0;
    for (size_t r = 0; r < n; r++) {
        if (skip && skip[r]) continue;
        if (accept && !accept(st, (uint32_t)r)) continue;
        float d = ann__dist(metric, q, rows + r * dim, dim);
        if (nb == k && d >= bd[k - 1]) continue;
        uint32_t i = nb < k ? nb++ : k - 1;
        while (i > 0 && bd[i - 1] > d) {
            bd[i] = bd[i - 1];
            out[i] = out[i - 1];
            i--;
        }
        bd[i] = d;
        out[i] = (uint32_t)r;
    }
    free(bd);
    return nb;
}

double ann_test_overlap(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb) {
    if (nb == 0) return na == 0 ? 1.0 : 0.0;
    uint32_t hit = 0;
    for (uint32_t i = 0; i < nb; i++)
        for (uint32_t j = 0; j < na; j++)
            if (a[j] == b[i]) {
                hit++;
                break;
            }
    return (double)hit / (double)nb;
}

size_t ann_test_kernels(const index_kernels *out[3]) {
    size_t n = 0;
    out[n++] = index_kernels_scalar();
    if (index_kernels_avx2() != NULL) out[n++] = index_kernels_avx2();
    if (index_kernels_avx512() != NULL) out[n++] = index_kernels_avx512();
    return n;
}
