/*
** store/tailq.c: int8 copies of the flat tail's rows (issue 18).
**
** With background indexing, rows not linked into the graph yet are scored
** by every search. When that tail is large, search.c scores the rows coded
** here first (one byte per dimension, a quarter of the memory traffic),
** keeps the best max(64, 8k) and rescores those exactly with the floats.
**
** A code is round(x * scale) clipped to [-127, 127], one symmetric scale
** per named vector, chosen from the rows of the first coded write (127 over
** their largest absolute component). Codes live in chunks of
** STORE_TAILQ_CHUNK slots; a chunk is freed when its last code is dropped
** (the row was linked, deleted, or the graph was dropped).
**
** Locks: as the `indexed` bitset. Writers code rows with db->lock held
** exclusively; the indexer drops codes with db->ann_lock held exclusively;
** searches read them with both locks shared.
*/
#include "store/store_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct store_tailq_chunk {
    uint32_t n;                                  /* coded rows in the chunk */
    uint64_t coded[STORE_TAILQ_CHUNK / 64];      /* bitset: row has a code */
    int32_t sq[STORE_TAILQ_CHUNK];               /* sum of code^2 of each row (L2) */
    int8_t code[];                               /* STORE_TAILQ_CHUNK * dim */
};

/* Is the metric of sv one the int8 pass ranks (DOT, L2)? */
static bool store__tailq_metric_ok(const store_vec *sv) {
    return sv->distance != SC_DISTANCE_MANHATTAN && !sv->multivec && sv->data;
}

/* Code of x with scale s. */
static int8_t store__tailq_code(float x, float s) {
    float v = roundf(x * s);
    if (v > 127.0f) v = 127.0f;
    if (v < -127.0f) v = -127.0f;
    return (int8_t)v;
}

/* Scale from the present rows of slots[0..n) (0 when all are zero). */
static float store__tailq_scale(const store_vec *sv, const uint32_t *slots, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        if (!store_bit_get(sv->present, slots[i])) continue;
        const float *v = sv->data + (size_t)slots[i] * sv->dim;
        for (uint32_t d = 0; d < sv->dim; d++) m = fmaxf(m, fabsf(v[d]));
    }
    return m > 0.0f ? 127.0f / m : 0.0f;
}

bool store_tailq_put(store_vec *sv, uint32_t s, const uint32_t *slots, size_t n) {
    store_tailq *t = &sv->tailq;
    if (!store__tailq_metric_ok(sv)) return true;
    if (t->scale == 0.0f && (t->scale = store__tailq_scale(sv, slots, n)) == 0.0f) return true;
    uint32_t ci = s / STORE_TAILQ_CHUNK, r = s % STORE_TAILQ_CHUNK;
    if (ci >= t->n_chunks) {
        uint32_t nc = ci + 1 > t->n_chunks * 2 ? ci + 1 : t->n_chunks * 2;
        store_tailq_chunk **grown = realloc(t->chunk, sizeof *grown * nc);
        if (!grown) return false;
        memset(grown + t->n_chunks, 0, sizeof *grown * (nc - t->n_chunks));
        t->chunk = grown;
        t->n_chunks = nc;
    }
    store_tailq_chunk *ch = t->chunk[ci];
    if (!ch) {
        if (!(ch = calloc(1, sizeof *ch + (size_t)STORE_TAILQ_CHUNK * sv->dim))) return false;
        t->chunk[ci] = ch;
    }
    const float *v = sv->data + (size_t)s * sv->dim;
    int8_t *c = ch->code + (size_t)r * sv->dim;
    int32_t sq = 0;
    for (uint32_t d = 0; d < sv->dim; d++) {
        c[d] = store__tailq_code(v[d], t->scale);
        sq += (int32_t)c[d] * c[d];
    }
    ch->sq[r] = sq;
    if (!store_bit_get(ch->coded, r)) {
        store_bit_set(ch->coded, r);
        ch->n++;
        t->n_coded++;
    }
    return true;
}

void store_tailq_forget(store_vec *sv, uint32_t s) {
    store_tailq *t = &sv->tailq;
    uint32_t ci = s / STORE_TAILQ_CHUNK, r = s % STORE_TAILQ_CHUNK;
    if (ci >= t->n_chunks || !t->chunk[ci] || !store_bit_get(t->chunk[ci]->coded, r)) return;
    store_bit_clear(t->chunk[ci]->coded, r);
    t->n_coded--;
    if (--t->chunk[ci]->n == 0) {
        free(t->chunk[ci]);
        t->chunk[ci] = NULL;
    }
}

void store_tailq_free(store_vec *sv) {
    store_tailq *t = &sv->tailq;
    for (uint32_t i = 0; i < t->n_chunks; i++) free(t->chunk[i]);
    free(t->chunk);
    float scale = t->scale; /* kept: later codes stay comparable with the same queries */
    *t = (store_tailq){.scale = scale};
}

bool store_tailq_has(const store_vec *sv, uint32_t s) {
    const store_tailq *t = &sv->tailq;
    uint32_t ci = s / STORE_TAILQ_CHUNK;
    return ci < t->n_chunks && t->chunk[ci] && store_bit_get(t->chunk[ci]->coded, s % STORE_TAILQ_CHUNK);
}

bool store_tailq_query(const store_vec *sv, index_metric metric, const float *q, int8_t *qc) {
    float s = sv->tailq.scale;
    if (s == 0.0f || (metric != INDEX_METRIC_DOT && metric != INDEX_METRIC_L2)) return false;
    if (metric == INDEX_METRIC_DOT) { /* any positive scale ranks alike: use the query's full range */
        float m = 0.0f;
        for (uint32_t d = 0; d < sv->dim; d++) m = fmaxf(m, fabsf(q[d]));
        s = m > 0.0f ? 127.0f / m : 1.0f;
    }
    for (uint32_t d = 0; d < sv->dim; d++) qc[d] = store__tailq_code(q[d], s);
    return true;
}

int64_t store_tailq_badness(const store_vec *sv, const index_kernels *kern, index_metric metric, const int8_t *qc,
                            uint32_t s) {
    const store_tailq_chunk *ch = sv->tailq.chunk[s / STORE_TAILQ_CHUNK];
    uint32_t r = s % STORE_TAILQ_CHUNK;
    int64_t dot = kern->dot_s8(qc, ch->code + (size_t)r * sv->dim, sv->dim);
    return metric == INDEX_METRIC_DOT ? -dot : (int64_t)ch->sq[r] - 2 * dot;
}
