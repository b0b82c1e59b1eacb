/*
** store/tailq.c: compact copies of the flat tail's rows (issue 18).
**
** With background indexing, rows not linked into the graph yet are scored
** by every search. When that tail is large, a search ranks the coded rows
** in up to three passes, each over fewer rows with more bits:
**   1. signs: one bit per dimension, bit d = x[d] > centre[d], compared
**      with the query's bits by Hamming distance (popcount; 48 bytes a row
**      at 384 d). Only when more than max(STORE_TAILQ_KEEP, 32 m) rows are
**      accepted; that many with the smallest distances go on.
**   2. int8: one byte per dimension, code = round(x / unit) with the row's
**      own unit = max |x[d]| / 127 (no clipping, whatever the magnitudes of
**      later rows); the best m = max(64, 8k) by the estimated score go on.
**   3. exact: search.c scores those m (and the rows without a code) with
**      the floats, so the answer's scores and order are exact.
** The centre is the mean of the vectors coded so far (an update counts
** again): it makes the signs informative when the vectors share a common
** direction (typical of embeddings). It is recomputed, and every coded
** row's bits with it, whenever the count of vectors summed has doubled,
** until STORE_TAILQ_CENTRE_FREEZE; from then on it stays. So every coded
** row and the query use the same centre at all times, and the recoding
** costs O(1) amortised per coded row.
**
** Codes live in chunks of STORE_TAILQ_CHUNK slots; a chunk is freed when
** its last code is dropped (the row was linked, deleted, or the graph was
** dropped). The centre survives store_tailq_free.
**
** Locks: as the `indexed` bitset. Writers code rows (and recentre) with
** db->lock held exclusively; the indexer drops codes with db->ann_lock
** held exclusively; searches read them with both locks shared.
*/
#include "store/store_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STORE_TAILQ_KEEP 4096             /* rows the sign pass keeps at least */
#define STORE_TAILQ_CENTRE_FREEZE 65536u  /* vectors summed after which the centre stays */
#define STORE_TAILQ_AHEAD 4               /* kept rows whose int8 codes are prefetched ahead */

struct store_tailq_chunk {
    uint32_t n;                             /* coded rows in the chunk */
    uint64_t coded[STORE_TAILQ_CHUNK / 64]; /* bitset: row has a code */
    float unit[STORE_TAILQ_CHUNK];          /* value of one int8 step of each row: max |x[d]| / 127 */
    float n2[STORE_TAILQ_CHUNK];            /* |x|^2 of each row (L2) */
    uint64_t bits[];                        /* STORE_TAILQ_CHUNK * words sign words, then
                                               STORE_TAILQ_CHUNK * dim int8 codes */
};

/* Is the metric of sv one the passes rank (DOT, L2)? */
static bool store__tailq_metric_ok(const store_vec *sv) {
    return sv->distance != SC_DISTANCE_MANHATTAN && !sv->multivec && sv->data;
}

/* 64-bit words of one row's sign bits. */
static uint32_t store__tailq_words(const store_vec *sv) { return (sv->dim + 63) / 64; }

/* Sign words of row r of ch. */
static uint64_t *store__tailq_bits(const store_vec *sv, const store_tailq_chunk *ch, uint32_t r) {
    return (uint64_t *)ch->bits + (size_t)r * store__tailq_words(sv);
}

/* int8 codes of row r of ch. */
static int8_t *store__tailq_codes(const store_vec *sv, const store_tailq_chunk *ch, uint32_t r) {
    const uint64_t *end = ch->bits + (size_t)STORE_TAILQ_CHUNK * store__tailq_words(sv);
    return (int8_t *)end + (size_t)r * sv->dim;
}

/* Signs of v against the centre into words (bit d = v[d] > centre[d]). */
static void store__tailq_signs(const store_vec *sv, const float *v, uint64_t *words) {
    const float *c = sv->tailq.centre;
    memset(words, 0, sizeof *words * store__tailq_words(sv));
    for (uint32_t d = 0; d < sv->dim; d++)
        if (v[d] > c[d]) words[d / 64] |= 1ull << (d % 64);
}

/* int8 codes of v with its own unit (max |v[d]| / 127, returned; 0 for a zero vector). */
static float store__tailq_int8(const float *v, uint32_t dim, int8_t *out) {
    float m = 0.0f;
    for (uint32_t d = 0; d < dim; d++) m = fmaxf(m, fabsf(v[d]));
    float s = m > 0.0f ? 127.0f / m : 0.0f;
    for (uint32_t d = 0; d < dim; d++) {
        float x = roundf(v[d] * s);
        out[d] = (int8_t)(x > 127.0f ? 127.0f : x < -127.0f ? -127.0f : x);
    }
    return m / 127.0f;
}

/* Recompute the centre from the sum and the signs of every coded row. */
static void store__tailq_recentre(store_vec *sv) {
    store_tailq *t = &sv->tailq;
    for (uint32_t d = 0; d < sv->dim; d++) t->centre[d] = (float)(t->sum[d] / (double)t->n_sum);
    t->centred_at = t->n_sum;
    for (uint32_t ci = 0; ci < t->n_chunks; ci++) {
        store_tailq_chunk *ch = t->chunk[ci];
        for (uint32_t r = 0; ch && r < STORE_TAILQ_CHUNK; r++)
            if (store_bit_get(ch->coded, r)) {
                const float *v = sv->data + ((size_t)ci * STORE_TAILQ_CHUNK + r) * sv->dim;
                store__tailq_signs(sv, v, store__tailq_bits(sv, ch, r));
            }
    }
}

/* Add the present rows of slots[0..n) to the running sum; recentre when
** the count has doubled (below the freeze). False for memory. */
static bool store__tailq_sum(store_vec *sv, const uint32_t *slots, size_t n) {
    store_tailq *t = &sv->tailq;
    if (!t->centre) {
        t->centre = calloc(sv->dim, sizeof *t->centre);
        t->sum = calloc(sv->dim, sizeof *t->sum);
        if (!t->centre || !t->sum) {
            free(t->centre);
            free(t->sum);
            t->centre = NULL;
            t->sum = NULL;
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!store_bit_get(sv->present, slots[i])) continue;
        const float *v = sv->data + (size_t)slots[i] * sv->dim;
        for (uint32_t d = 0; d < sv->dim; d++) t->sum[d] += (double)v[d];
        t->n_sum++;
    }
    if (t->n_sum && (t->centred_at == 0 || (t->n_sum >= 2 * t->centred_at && t->centred_at < STORE_TAILQ_CENTRE_FREEZE)))
        store__tailq_recentre(sv);
    return true;
}

/* Chunk of slot s, created when missing; NULL for memory. */
static store_tailq_chunk *store__tailq_chunk(store_vec *sv, uint32_t s) {
    store_tailq *t = &sv->tailq;
    uint32_t ci = s / STORE_TAILQ_CHUNK;
    if (ci >= t->n_chunks) {
        uint32_t nc = ci + 1 > t->n_chunks * 2 ? ci + 1 : t->n_chunks * 2;
        store_tailq_chunk **grown = realloc(t->chunk, sizeof *grown * nc);
        if (!grown) return NULL;
        memset(grown + t->n_chunks, 0, sizeof *grown * (nc - t->n_chunks));
        t->chunk = grown;
        t->n_chunks = nc;
    }
    if (!t->chunk[ci]) {
        size_t row = sizeof(uint64_t) * store__tailq_words(sv) + sv->dim;
        t->chunk[ci] = calloc(1, sizeof *t->chunk[ci] + (size_t)STORE_TAILQ_CHUNK * row);
    }
    return t->chunk[ci];
}

/* Code the current vector of present row s; false for memory. */
static bool store__tailq_code(store_vec *sv, uint32_t s) {
    store_tailq *t = &sv->tailq;
    store_tailq_chunk *ch = store__tailq_chunk(sv, s);
    if (!ch) return false;
    uint32_t r = s % STORE_TAILQ_CHUNK;
    const float *v = sv->data + (size_t)s * sv->dim;
    store__tailq_signs(sv, v, store__tailq_bits(sv, ch, r));
    ch->unit[r] = store__tailq_int8(v, sv->dim, store__tailq_codes(sv, ch, r));
    double n2 = 0.0;
    for (uint32_t d = 0; d < sv->dim; d++) n2 += (double)v[d] * (double)v[d];
    ch->n2[r] = (float)n2;
    if (!store_bit_get(ch->coded, r)) {
        store_bit_set(ch->coded, r);
        ch->n++;
        t->n_coded++;
    }
    return true;
}

void store_tailq_put(store_vec *sv, const uint32_t *slots, size_t n) {
    bool ok = store__tailq_metric_ok(sv) && store__tailq_sum(sv, slots, n);
    for (size_t i = 0; i < n; i++)
        if (!ok || !store_bit_get(sv->present, slots[i]) || !store__tailq_code(sv, slots[i]))
            store_tailq_forget(sv, slots[i]);
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
    t->chunk = NULL;
    t->n_chunks = 0;
    t->n_coded = 0; /* the centre and its sum stay: the next tail is drawn from the same data */
}

void store_tailq_release(store_vec *sv) {
    store_tailq_free(sv);
    free(sv->tailq.centre);
    free(sv->tailq.sum);
    sv->tailq = (store_tailq){0};
}

bool store_tailq_has(const store_vec *sv, uint32_t s) {
    const store_tailq *t = &sv->tailq;
    uint32_t ci = s / STORE_TAILQ_CHUNK;
    return ci < t->n_chunks && t->chunk[ci] && store_bit_get(t->chunk[ci]->coded, s % STORE_TAILQ_CHUNK);
}

/* ==== Search ==== */

/* A coded row ranked by the int8 pass: lower badness = closer. */
typedef struct store__tq_cand {
    float bad;
    uint32_t row;
} store__tq_cand;

/* Restore the max-heap order of h[0..n) (worst at the root) below i. */
static void store__tq_down(store__tq_cand *h, uint32_t n, uint32_t i) {
    for (;;) {
        uint32_t w = i, l = 2 * i + 1, r = l + 1;
        if (l < n && h[l].bad > h[w].bad) w = l;
        if (r < n && h[r].bad > h[w].bad) w = r;
        if (w == i) return;
        store__tq_cand x = h[i];
        h[i] = h[w];
        h[w] = x;
        i = w;
    }
}

/* Restore the max-heap order of h after appending at i. */
static void store__tq_up(store__tq_cand *h, uint32_t i) {
    while (i > 0 && h[(i - 1) / 2].bad < h[i].bad) {
        store__tq_cand x = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = x;
        i = (i - 1) / 2;
    }
}

/* Keep the keep rows of cand[0..n) with the smallest dist (ties: the
** first ones) at the front of cand and dist, with hist (dim + 1 counters)
** as scratch; dist values are at most dim and n > keep. Returns the
** largest distance kept. */
static uint32_t store__tq_keep(uint32_t *cand, uint16_t *dist, size_t *n, size_t keep, uint32_t *hist, uint32_t dim) {
    memset(hist, 0, sizeof *hist * ((size_t)dim + 1));
    for (size_t i = 0; i < *n; i++) hist[dist[i]]++;
    uint32_t t = 0;
    size_t below = 0; /* rows with a distance under t */
    while (below + hist[t] < keep) below += hist[t++];
    size_t at = keep - below, m = 0; /* rows at distance t still taken */
    for (size_t i = 0; i < *n; i++) {
        if (dist[i] > t || (dist[i] == t && at == 0)) continue;
        if (dist[i] == t) at--;
        cand[m] = cand[i];
        dist[m++] = dist[i];
    }
    *n = m;
    return t;
}

/* Append row to the growable list *rows (*n used, *cap allocated); false for memory. */
static bool store__tq_push(uint32_t **rows, size_t *n, size_t *cap, uint32_t row) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        uint32_t *grown = realloc(*rows, sizeof *grown * nc);
        if (!grown) return false;
        *rows = grown;
        *cap = nc;
    }
    (*rows)[(*n)++] = row;
    return true;
}

bool store_tailq_select(const store_vec *sv, index_metric metric, const float *q, uint32_t m, const uint32_t *tail,
                        size_t n_tail, const index_scan_filter *accept, uint32_t **rows, size_t *n_rows) {
    const store_tailq *t = &sv->tailq;
    *rows = NULL;
    *n_rows = 0;
    if (t->n_coded < STORE_TAILQ_MIN || (uint64_t)m * 2 >= t->n_coded || !t->centre) return false;
    if (metric != INDEX_METRIC_DOT && metric != INDEX_METRIC_L2) return false;
    if (sv->dim > UINT16_MAX) return false; /* distances are kept in 16 bits */
    uint32_t words = store__tailq_words(sv);
    size_t keep = (size_t)m * 32 > STORE_TAILQ_KEEP ? (size_t)m * 32 : STORE_TAILQ_KEEP;
    size_t cap_c = 4 * keep, nr = 0, cap_r = 0, nc = 0;
    uint64_t *qbits = malloc(sizeof *qbits * words);
    int8_t *qc = malloc(sv->dim);
    uint32_t *cand = malloc(sizeof *cand * cap_c), *hist = malloc(sizeof *hist * ((size_t)sv->dim + 1));
    uint16_t *dist = malloc(sizeof *dist * cap_c), *run = malloc(sizeof *run * STORE_TAILQ_CHUNK);
    store__tq_cand *h = malloc(sizeof *h * m);
    bool ok = qbits && qc && cand && hist && dist && run && h;
    if (ok) {
        const index_kernels *kern = index_kernels_best();
        store__tailq_signs(sv, q, qbits);
        float qunit = store__tailq_int8(q, sv->dim, qc);
        /* 1. signs of every accepted coded row, the best keep in a buffer of
        ** four times that, compacted when full; rows without a code: the exact list */
        uint32_t thr = sv->dim;
        for (size_t i = 0, j; ok && i < n_tail; i = j) {
            uint32_t row = tail[i], ci = row / STORE_TAILQ_CHUNK, r = row % STORE_TAILQ_CHUNK;
            const store_tailq_chunk *ch = ci < t->n_chunks ? t->chunk[ci] : NULL;
            if (!ch) {
                ok = store__tq_push(rows, &nr, &cap_r, row);
                j = i + 1;
                continue;
            }
            /* a run of consecutive slots in one chunk: their sign words are contiguous */
            for (j = i + 1; j < n_tail && tail[j] == row + (j - i) && r + (j - i) < STORE_TAILQ_CHUNK; j++) {}
            kern->hamming_rows(qbits, store__tailq_bits(sv, ch, r), j - i, words, run);
            for (size_t x = 0; ok && x < j - i; x++) {
                if (!store_bit_get(ch->coded, r + (uint32_t)x)) {
                    ok = store__tq_push(rows, &nr, &cap_r, tail[i + x]);
                    continue;
                }
                if (run[x] > thr || (accept && accept->accept && !accept->accept(accept->state, tail[i + x])))
                    continue;
                cand[nc] = tail[i + x];
                dist[nc++] = run[x];
                if (nc == cap_c) thr = store__tq_keep(cand, dist, &nc, keep, hist, sv->dim);
            }
        }
        if (nc > keep) store__tq_keep(cand, dist, &nc, keep, hist, sv->dim);
        /* 2. int8 estimates of the kept rows: the best m */
        uint32_t nh = 0;
        for (size_t i = 0; ok && i < nc; i++) {
            if (i + STORE_TAILQ_AHEAD < nc) { /* the kept rows are scattered: fetch ahead */
                uint32_t p = cand[i + STORE_TAILQ_AHEAD];
                const int8_t *pc = store__tailq_codes(sv, t->chunk[p / STORE_TAILQ_CHUNK], p % STORE_TAILQ_CHUNK);
                for (uint32_t off = 0; off < sv->dim; off += 64) __builtin_prefetch(pc + off);
            }
            const store_tailq_chunk *ch = t->chunk[cand[i] / STORE_TAILQ_CHUNK];
            uint32_t r = cand[i] % STORE_TAILQ_CHUNK;
            float dot = (float)kern->dot_s8(qc, store__tailq_codes(sv, ch, r), sv->dim) * ch->unit[r] * qunit;
            float bad = metric == INDEX_METRIC_DOT ? -dot : ch->n2[r] - 2.0f * dot;
            if (nh < m) {
                h[nh] = (store__tq_cand){bad, cand[i]};
                store__tq_up(h, nh++);
            } else if (bad < h[0].bad) {
                h[0] = (store__tq_cand){bad, cand[i]};
                store__tq_down(h, nh, 0);
            }
        }
        for (uint32_t i = 0; ok && i < nh; i++) ok = store__tq_push(rows, &nr, &cap_r, h[i].row);
        *n_rows = nr;
    }
    if (!ok) {
        free(*rows);
        *rows = NULL;
        *n_rows = 0;
    }
    free(qbits);
    free(qc);
    free(cand);
    free(hist);
    free(dist);
    free(run);
    free(h);
    return ok;
}
