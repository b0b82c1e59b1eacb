/*
** server/mmr.c: maximal marginal relevance, the re-ranking of a nearest
** query with {"mmr": {"diversity", "candidates_limit"}} (Qdrant 1.15+).
** The query's nearest candidates (candidates_limit of them, by default the
** request's limit) are picked one at a time: first the most similar to
** the query, then the candidate with the best
**   lambda · sim(query, c) − (1 − lambda) · max over picked p of sim(c, p)
** with lambda = 1 − diversity (diversity 0.5 by default). The points keep
** their query scores (as Qdrant returns them); only the order and the
** selection change.
**
** Similarities are computed here in float over the stored vectors, as the
** search does: Cosine vectors are stored unit length, so Cosine and Dot
** are dot products; Euclid and Manhattan are minus their distances, so
** that bigger is always more similar.
*/
#include "server/query_int.h"

#include <math.h>
#include <stdlib.h>

float server_mmr_similarity(sc_distance d, const float *a, const float *b, uint32_t dim) {
    float s = 0.0f;
    switch (d) {
    case SC_DISTANCE_EUCLID:
        for (uint32_t i = 0; i < dim; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
        return -sqrtf(s);
    case SC_DISTANCE_MANHATTAN:
        for (uint32_t i = 0; i < dim; i++) s += fabsf(a[i] - b[i]);
        return -s;
    default:
        for (uint32_t i = 0; i < dim; i++) s += a[i] * b[i];
        return s;
    }
}

bool server_mmr_select(sc_distance d, const float *vecs, uint32_t dim, const float *rel, size_t n, float lambda,
                       size_t limit, size_t *order, size_t *n_out) {
    *n_out = 0;
    if (n == 0 || limit == 0) return true;
    bool *taken = calloc(n, sizeof *taken);
    float *closest = malloc(n * sizeof *closest); /* each candidate's highest similarity to the picks */
    if (!taken || !closest) {
        free(taken);
        free(closest);
        return false;
    }
    for (size_t i = 0; i < n; i++) closest[i] = -INFINITY;
    size_t first = 0;
    for (size_t i = 1; i < n; i++)
        if (rel[i] > rel[first]) first = i;
    size_t picked = first, k = 0;
    for (;;) {
        taken[picked] = true;
        order[k++] = picked;
        if (k == limit || k == n) break;
        size_t best = n;
        float best_score = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            if (taken[i]) continue;
            float sim = server_mmr_similarity(d, vecs + i * dim, vecs + picked * dim, dim);
            if (sim > closest[i]) closest[i] = sim;
            float score = lambda * rel[i] - (1.0f - lambda) * closest[i];
            if (best == n || score > best_score) {
                best = i;
                best_score = score;
            }
        }
        picked = best;
    }
    *n_out = k;
    free(taken);
    free(closest);
    return true;
}
