/*
** bench/synth.h: the synthetic clustered data set shared by the benchmarks
** (C and C++). Deterministic: splitmix64 + Box-Muller.
**   n_cent centroids c ~ N(0, I_dim), each normalised; a vector picks a
**   centroid uniformly, adds noise N(0, (0.6^2/dim) I) (noise norm about
**   0.6: cosine to its centroid about 0.85) and is normalised.
** bench_synth_make(seed) draws the centroids and then, in order, vectors;
** the same seed gives the same database and queries in every benchmark.
*/
#ifndef SEMCODE_BENCH_SYNTH_H
#define SEMCODE_BENCH_SYNTH_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Generator state: RNG and centroids. */
typedef struct bench_synth {
    uint64_t s;      /* splitmix64 state */
    size_t dim;      /* floats per vector */
    size_t n_cent;   /* number of centroids */
    float *cent;     /* n_cent x dim, owned */
} bench_synth;

static inline uint64_t bench_synth_next(bench_synth *g) {
    uint64_t z = (g->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline double bench_synth_gauss(bench_synth *g) {
    double u1 = (double)((bench_synth_next(g) >> 11) + 1) / 9007199254740993.0; /* (0, 1] */
    double u2 = (double)((bench_synth_next(g) >> 11) + 1) / 9007199254740993.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static inline void bench_synth_normalise(float *v, size_t dim) {
    double s = 0.0;
    for (size_t i = 0; i < dim; i++) s += (double)v[i] * (double)v[i];
    double inv = s > 0.0 ? 1.0 / sqrt(s) : 0.0;
    for (size_t i = 0; i < dim; i++) v[i] = (float)((double)v[i] * inv);
}

/* Draw the centroids; false when out of memory. */
static inline int bench_synth_init(bench_synth *g, uint64_t seed, size_t dim, size_t n_cent) {
    g->s = seed;
    g->dim = dim;
    g->n_cent = n_cent;
    g->cent = (float *)malloc(n_cent * dim * sizeof(float));
    if (g->cent == NULL) return 0;
    for (size_t i = 0; i < n_cent * dim; i++) g->cent[i] = (float)bench_synth_gauss(g);
    for (size_t c = 0; c < n_cent; c++) bench_synth_normalise(g->cent + c * g->dim, dim);
    return 1;
}

/* Write n vectors into out (n x dim). */
static inline void bench_synth_fill(bench_synth *g, float *out, size_t n) {
    double sigma = 0.6 / sqrt((double)g->dim);
    for (size_t i = 0; i < n; i++) {
        const float *c = g->cent + (bench_synth_next(g) % g->n_cent) * g->dim;
        float *v = out + i * g->dim;
        for (size_t j = 0; j < g->dim; j++) v[j] = (float)(c[j] + sigma * bench_synth_gauss(g));
        bench_synth_normalise(v, g->dim);
    }
}

static inline void bench_synth_free(bench_synth *g) {
    free(g->cent);
    g->cent = NULL;
}

#endif /* SEMCODE_BENCH_SYNTH_H */
