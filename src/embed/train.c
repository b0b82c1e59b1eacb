/*
** embed/train.c: the contrastive trainer of the built-in model.
**
** DESIGN
**   Data: pairs → tokens (src/text) → vocabulary (top vocab_max tokens with
**   count ≥ min_count, ordered by count then bytes) → per text a merged bag
**   of (row, coef); unknown tokens become their character n-gram buckets.
**   Model: vector(text) = normalize(Σ coef · w[row] · E[row]) per tower.
**   Loss: symmetric InfoNCE over a batch of B pairs with in-batch negatives,
**   logits = cos / temperature, mean of the doc→code and code→doc
**   cross-entropies. Optimizer: lazy (sparse) Adam on the rows a batch
**   touches, learning rate decayed linearly to 0.
**   Threads: one util_parallel_run region for the whole training; phases
**   separated by a barrier. Every sum is owned by one thread and visited in
**   a fixed order (texts by index; token-table gradients split by dimension,
**   each thread walking all texts in order), so the result depends only on
**   the seed and the data — not even on the thread count.
*/
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "embed/embed_int.h"

/* ==== Options ==== */

sc_train_options sc_train_options_default(void) {
    return (sc_train_options){.dim = 256, .epochs = 5, .batch = 512, .lr = 0.005f, .temperature = 0.05f,
                              .seed = 42, .threads = 0, .vocab_max = 60000, .min_count = 3,
                              .n_buckets = 20000, .max_tokens = 256, .pooling = SC_POOLING_LEARNED,
                              .towers = 1, .tf_power = 0.3f};
}

/* ==== Bags ==== */

/* Texts as bags of rows in CSR form. */
typedef struct train__bags {
    size_t *start;      /* n + 1 offsets into items */
    embed_item *items;  /* all bags */
    size_t n_items;     /* used */
    size_t cap;         /* allocated */
} train__bags;

static int train__bags_push(train__bags *b, const embed_items *it) {
    if (!util_grow(&b->items, &b->cap, b->n_items + it->n, sizeof *b->items, 1 << 20)) return -1;
    memcpy(b->items + b->n_items, it->v, it->n * sizeof *it->v);
    b->n_items += it->n;
    return 0;
}

/* ==== Random numbers (deterministic) ==== */

static uint64_t train__next(uint64_t *s) {
    *s += 0x9e3779b97f4a7c15ULL;
    return util_mix64(*s);
}
static float train__uniform(uint64_t *s) { return (float)(train__next(s) >> 40) / (float)(1 << 24); }

/* ==== Trainer state ==== */

typedef struct train__state {
    const sc_train_options *opt;   /* settings */
    embed_config cfg;              /* model shape */
    size_t rows;                   /* rows per tower */
    train__bags bag[2];            /* bags of docs (0) and codes (1) */
    size_t n_pairs;                /* pairs */
    float *E[2], *mE[2], *vE[2], *gE[2];  /* per tower: table, Adam moments, gradient */
    float *w[2], *mw[2], *vw[2], *gw[2];  /* per weight set: pooling weights, moments, gradient */
    uint32_t n_wsets;              /* weight sets: 1, or 2 (two towers, or per-side pooling) */
    uint8_t *mark[2];              /* per tower: row touched in this batch */
    uint32_t *touched[2];          /* per tower: touched rows list */
    uint32_t n_touched[2];         /* per tower: its length */
    uint32_t *order;               /* shuffled pair order of the current epoch */
    uint32_t *perm;                /* pairs in training order (= order, or arranged by language) */
    const uint16_t *lang;          /* language per pair */
    uint32_t n_langs;              /* languages */
    uint32_t *scratch;             /* n_pairs: staging for language batching */
    uint32_t *border;              /* batch (or chunk) order for language batching */
    size_t lstart[EMBED_MAX_LANGS]; /* language batching: start of each language in scratch */
    const uint64_t *unit;          /* locality key per pair: directory hash, or mined signature */
    uint64_t *mkey;                /* --mine: signature per pair under the current model */
    float *R;                      /* --mine: H × dim random hyperplanes */
    float *proj;                   /* --mine: rows × H projections of the code side's weighted rows */
    bool mined;                    /* unit points to mkey (raw signatures: sort them unmixed) */
    size_t batches;                /* batches per epoch */
    uint32_t B;                    /* batch size */
    float *U;                      /* 2B × dim unit vectors (docs then codes) */
    float *DS;                     /* 2B × dim gradients w.r.t. the unnormalized sums */
    float *norm;                   /* 2B norms */
    float *P;                      /* B × B logits then row softmax */
    float *G;                      /* B × B gradient of the loss w.r.t. the cosines */
    float *gdot;                   /* per batch item: E[row] · ds (learned pooling) */
    float *keep;                   /* per batch item: 1, or 0 when dropped (token dropout) */
    uint32_t drop_cut;             /* dropout probability × 2^32 */
    size_t *item_base;             /* 2B + 1 offsets into gdot */
    double loss[64];               /* per thread loss of the batch */
    pthread_barrier_t bar;         /* phase barrier */
    uint64_t step, total_steps;    /* Adam step and schedule */
    double last_loss;              /* smoothed loss for logging */
    double t0;                     /* start time */
} train__state;

/* Text t of the batch (0..B-1 docs, B..2B-1 codes) → its bag and tower. */
static const embed_item *train__text(const train__state *st, uint64_t step_base, uint32_t t, size_t *n,
                                     uint32_t *tower) {
    uint32_t side = t >= st->B;
    uint32_t pair = st->perm[(step_base + (t % st->B))];
    const train__bags *b = &st->bag[side];
    *n = b->start[pair + 1] - b->start[pair];
    *tower = side ? st->cfg.n_towers - 1 : 0;
    return b->items + b->start[pair];
}

/* Weight set of text t of the batch (query side 0, code side the last set). */
static uint32_t train__wset(const train__state *st, uint32_t t) { return t >= st->B ? st->n_wsets - 1 : 0; }

/* Dot product with 8 independent partial sums (a fixed order, so still
** deterministic; lets the compiler vectorise the reduction). */
static inline float train__dot(const float *a, const float *b, uint32_t n) {
    float acc[8] = {0};
    uint32_t d = 0;
    for (; d + 8 <= n; d += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[d + k] * b[d + k];
    for (; d < n; d++) acc[d & 7] += a[d] * b[d];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static void train__slice(size_t n, uint32_t ith, uint32_t nth, size_t *a, size_t *b) {
    *a = n * ith / nth;
    *b = n * (ith + 1) / nth;
}

/* Language batching: arrange the epoch so that every batch holds pairs of
** one language (the evaluation ranks a code among distractors of its own
** language, so these are the negatives that matter). With --local K, each
** language's pairs are sorted by directory (in an order that changes every
** epoch), cut into chunks of K and the chunks shuffled: a batch then holds
** B/K directories, whose functions share names and vocabulary (cheap hard
** negatives). With --upsample U, a language with fewer than U pairs is
** visited floor(U / n) times per epoch (at most 4), each visit in a fresh
** order. The remainders of every language fill mixed batches; the batch
** order is shuffled. */
static uint32_t train__copies(const sc_train_options *opt, size_t n_l) {
    if (!opt->upsample || !n_l || n_l >= opt->upsample) return 1;
    size_t c = opt->upsample / n_l;
    return c > 4 ? 4 : c < 1 ? 1 : (uint32_t)c;
}

static size_t train__lang_batches(const train__state *st, const size_t *counts, size_t *total) {
    size_t full = 0, rest = 0;
    *total = 0;
    for (uint32_t l = 0; l < st->n_langs; l++) {
        size_t n = counts[l] * train__copies(st->opt, counts[l]);
        *total += n;
        full += n / st->B;
        rest += n % st->B;
    }
    return full + rest / st->B;
}

/* Sort key of a pair for locality batching. */
typedef struct train__key {
    uint64_t key;   /* hash of (directory, epoch, visit) */
    uint32_t pos;   /* position in the shuffled order (keeps it within a directory) */
    uint32_t pair;  /* pair index */
} train__key;

static int train__key_cmp(const void *x, const void *y) {
    const train__key *a = x, *b = y;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static void train__shuffle(uint32_t *v, size_t n, uint64_t *s) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(train__next(s) % i);
        uint32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* Arrange one visit of a language's pairs v[0..n) (already shuffled) in
** chunks of K pairs of one directory, chunk order shuffled. */
static int train__localise(const train__state *st, uint32_t *v, size_t n, uint64_t salt, uint64_t *s) {
    const uint32_t K = st->opt->local;
    if (K <= 1 || n < 2) return 0;
    train__key *keys = malloc(n * sizeof *keys);
    uint32_t *chunk = malloc((n / K + 1) * sizeof *chunk);
    if (!keys || !chunk) {
        free(keys);
        free(chunk);
        return -1;
    }
    /* directories: hashed with the salt (a new directory order every epoch);
    ** mined signatures: raw, so that neighbouring keys share their leading
    ** hyperplane signs and a chunk holds one neighbourhood */
    for (size_t i = 0; i < n; i++)
        keys[i] = (train__key){st->mined ? st->unit[v[i]] : util_mix64(st->unit[v[i]] ^ salt * 0x9e3779b97f4a7c15ULL),
                               (uint32_t)i, v[i]};
    qsort(keys, n, sizeof *keys, train__key_cmp);
    size_t nc = (n + K - 1) / K;
    for (size_t c = 0; c < nc; c++) chunk[c] = (uint32_t)c;
    train__shuffle(chunk, nc, s);
    size_t o = 0;
    for (size_t c = 0; c < nc; c++) {
        size_t a = (size_t)chunk[c] * K, b = a + K < n ? a + K : n;
        for (size_t i = a; i < b; i++) v[o++] = keys[i].pair;
    }
    free(keys);
    free(chunk);
    return 0;
}

static void train__group_by_language(train__state *st, uint64_t *s, uint32_t epoch) {
    const uint32_t B = st->B;
    size_t w = 0, n_l[EMBED_MAX_LANGS] = {0}, span[EMBED_MAX_LANGS] = {0};
    uint32_t *sc = st->scratch;
    for (uint32_t l = 0; l < st->n_langs; l++) {
        st->lstart[l] = w;
        size_t first = w;
        for (size_t i = 0; i < st->n_pairs; i++)
            if (st->lang[st->order[i]] == l) sc[w++] = st->order[i];
        n_l[l] = w - first;
        uint32_t copies = train__copies(st->opt, n_l[l]);
        for (uint32_t k = 1; k < copies; k++) {
            memcpy(sc + w, sc + first, n_l[l] * sizeof *sc);
            train__shuffle(sc + w, n_l[l], s);
            w += n_l[l];
        }
        for (uint32_t k = 0; k < copies; k++)
            (void)train__localise(st, sc + first + k * n_l[l], n_l[l],
                                  (st->opt->seed + epoch) * 8 + k, s); /* on failure: random order */
        span[l] = w - first;
    }
    /* perm ← full batches of every language, then the remainders */
    size_t o = 0;
    for (uint32_t l = 0; l < st->n_langs; l++) {
        size_t keep = span[l] / B * B;
        memcpy(st->perm + o, sc + st->lstart[l], keep * sizeof *st->perm);
        o += keep;
    }
    size_t full = o / B;
    for (uint32_t l = 0; l < st->n_langs; l++) {
        size_t keep = span[l] / B * B;
        memcpy(st->perm + o, sc + st->lstart[l] + keep, (span[l] - keep) * sizeof *st->perm);
        o += span[l] - keep;
    }
    /* shuffle the order of the batches */
    size_t nb = full + (o - full * B) / B;
    for (size_t b = 0; b < nb; b++) st->border[b] = (uint32_t)b;
    train__shuffle(st->border, nb, s);
    memcpy(sc, st->perm, o * sizeof *st->perm);
    for (size_t b = 0; b < nb; b++)
        memcpy(st->perm + b * B, sc + (size_t)st->border[b] * B, B * sizeof *st->perm);
}

/* Model-mined hard negatives (--mine H): the signature of a pair is the
** signs of its code vector (current table and pooling weights, no norm
** needed for a sign) on H random hyperplanes, drawn anew every epoch.
** Sorted by signature, pairs whose codes the model finds alike sit next
** to each other, so a chunk of K holds the pairs the model confuses most.
** All threads: hyperplanes (thread 0), then rows sliced (projections of
** w·E), then pairs sliced (signatures). */
static void train__mine(train__state *st, uint32_t ith, uint32_t nth, uint32_t epoch) {
    const uint32_t H = st->opt->mine > 32 ? 32 : st->opt->mine, dim = st->cfg.dim;
    const uint32_t tw = st->cfg.n_towers - 1, ws = st->n_wsets - 1;
    if (ith == 0) {
        uint64_t s = st->opt->seed * 7919ULL + epoch;
        for (size_t i = 0; i < (size_t)H * dim; i++) st->R[i] = 2.0f * train__uniform(&s) - 1.0f;
    }
    pthread_barrier_wait(&st->bar);
    size_t a, b;
    train__slice(st->rows, ith, nth, &a, &b);
    for (size_t r = a; r < b; r++) {
        const float *e = st->E[tw] + r * dim;
        for (uint32_t h = 0; h < H; h++) st->proj[r * H + h] = st->w[ws][r] * train__dot(e, st->R + (size_t)h * dim, dim);
    }
    pthread_barrier_wait(&st->bar);
    train__slice(st->n_pairs, ith, nth, &a, &b);
    const train__bags *bg = &st->bag[1];
    for (size_t p = a; p < b; p++) {
        float acc[32] = {0};
        for (size_t k = bg->start[p]; k < bg->start[p + 1]; k++) {
            const float *pr = st->proj + (size_t)bg->items[k].row * H;
            for (uint32_t h = 0; h < H; h++) acc[h] += bg->items[k].coef * pr[h];
        }
        uint64_t sig = 0;
        for (uint32_t h = 0; h < H; h++) sig = sig << 1 | (acc[h] > 0.0f);
        st->mkey[p] = sig;
    }
    pthread_barrier_wait(&st->bar);
}

/* ==== Training steps (one batch = the phases below, barriers between) ==== */

typedef struct train__run {
    train__state *st;   /* shared state */
    int learned;        /* learn the pooling weights */
} train__run;

/* Start of an epoch, all threads: from epoch 2 with --mine, the mined
** signatures become the locality keys; then thread 0 shuffles the pair
** order (seeded per epoch) and, with language batching, arranges it. */
static void train__epoch_order(train__state *st, uint32_t ith, uint32_t nth, uint32_t epoch) {
    const sc_train_options *opt = st->opt;
    if (st->mkey && epoch > 0) {
        train__mine(st, ith, nth, epoch);
        if (ith == 0) {
            st->unit = st->mkey;
            st->mined = true;
        }
    }
    if (ith == 0) {
        uint64_t s = opt->seed * 1000003ULL + epoch;
        train__shuffle(st->order, st->n_pairs, &s);
        if (opt->batching == 1) train__group_by_language(st, &s, epoch);
    }
}

/* Thread 0, before a batch: item offsets of its texts, the dropout mask
** (keep) and the list of table rows the kept items touch. */
static void train__batch_setup(train__state *st, uint64_t base) {
    const uint32_t T = 2 * st->B;
    uint64_t drop_key = util_mix64(st->opt->seed * 0x9e3779b97f4a7c15ULL + st->step + 1);
    st->item_base[0] = 0;
    for (uint32_t t = 0; t < T; t++) {
        size_t n;
        uint32_t tw;
        const embed_item *it = train__text(st, base, t, &n, &tw);
        st->item_base[t + 1] = st->item_base[t] + n;
        float *keep = st->keep + st->item_base[t];
        for (size_t k = 0; k < n; k++) {
            keep[k] = 1.0f;
            if (st->drop_cut && (uint32_t)(util_mix64(drop_key ^ (t * 0x100000001b3ULL + k)) >> 32) < st->drop_cut)
                keep[k] = 0.0f;
        }
        for (size_t k = 0; k < n; k++)
            if (keep[k] != 0.0f && !st->mark[tw][it[k].row]) {
                st->mark[tw][it[k].row] = 1;
                st->touched[tw][st->n_touched[tw]++] = it[k].row;
            }
    }
}

/* Phase 1, texts sliced: U[t] = the unit vector of text t, norm[t] its
** length before normalising. */
static void train__forward(train__state *st, uint64_t base, uint32_t ith, uint32_t nth) {
    const uint32_t dim = st->cfg.dim;
    size_t a, b;
    train__slice(2 * (size_t)st->B, ith, nth, &a, &b);
    for (size_t t = a; t < b; t++) {
        size_t n;
        uint32_t tw;
        const embed_item *it = train__text(st, base, (uint32_t)t, &n, &tw);
        float *u = st->U + t * dim;
        memset(u, 0, dim * sizeof *u);
        for (size_t k = 0; k < n; k++) {
            float f = it[k].coef * st->w[train__wset(st, (uint32_t)t)][it[k].row] * st->keep[st->item_base[t] + k];
            const float *e = st->E[tw] + (size_t)it[k].row * dim;
            for (uint32_t d = 0; d < dim; d++) u[d] += f * e[d];
        }
        float ss = 0.0f;
        for (uint32_t d = 0; d < dim; d++) ss += u[d] * u[d];
        float nr = sqrtf(ss) + 1e-6f;
        st->norm[t] = nr;
        for (uint32_t d = 0; d < dim; d++) u[d] /= nr;
    }
}

/* Phase 2, rows [a, b) of the batch: P = logits (cos / tau) of doc i
** against every code. Returns the doc→code cross-entropy of these rows. */
static double train__row_logits(train__state *st, size_t a, size_t b) {
    const uint32_t B = st->B, dim = st->cfg.dim;
    const float inv_tau = 1.0f / st->opt->temperature;
    double loss = 0.0;
    for (size_t i = a; i < b; i++) {
        const float *q = st->U + i * dim;
        float *p = st->P + i * B, mx = -1e30f;
        for (uint32_t j = 0; j < B; j++) {
            const float *c = st->U + (B + j) * dim;
            p[j] = train__dot(q, c, dim) * inv_tau;
            if (p[j] > mx) mx = p[j];
        }
        double z = 0.0;
        for (uint32_t j = 0; j < B; j++) z += exp((double)(p[j] - mx));
        loss += log(z) + (double)mx - (double)p[i];
    }
    return loss;
}

/* Phase 3, columns [a, b) (nothing with the one-way loss): G = the column
** softmax of P. Returns loss plus the code→doc cross-entropy of these
** columns (added in this order, for the same sum). */
static double train__col_softmax(train__state *st, size_t a, size_t b, double loss) {
    const uint32_t B = st->B;
    for (size_t j = a; j < b && !st->opt->one_way; j++) {
        float mx = -1e30f;
        for (uint32_t i = 0; i < B; i++) mx = fmaxf(mx, st->P[i * B + j]);
        double z = 0.0;
        for (uint32_t i = 0; i < B; i++) z += exp((double)(st->P[i * B + j] - mx));
        loss += log(z) + (double)mx - (double)st->P[j * B + j];
        for (uint32_t i = 0; i < B; i++) st->G[i * B + j] = (float)(exp((double)(st->P[i * B + j] - mx)) / z);
    }
    return loss;
}

/* Phase 3b, rows [a, b): G ← the gradient of the loss w.r.t. the cosines,
** (Pr + Pc - 2I) / (2B) / tau with Pr the row softmax (one way: (Pr - I) / B / tau). */
static void train__row_gradient(train__state *st, size_t a, size_t b) {
    const sc_train_options *opt = st->opt;
    const uint32_t B = st->B;
    const float inv_tau = 1.0f / opt->temperature;
    for (size_t i = a; i < b; i++) {
        float *p = st->P + i * B, mx = -1e30f;
        for (uint32_t j = 0; j < B; j++) mx = fmaxf(mx, p[j]);
        double z = 0.0;
        for (uint32_t j = 0; j < B; j++) z += exp((double)(p[j] - mx));
        for (uint32_t j = 0; j < B; j++) {
            float pr = (float)(exp((double)(p[j] - mx)) / z);
            float g = opt->one_way ? pr - (i == j ? 1.0f : 0.0f) : pr + st->G[i * B + j] - (i == j ? 2.0f : 0.0f);
            st->G[i * B + j] = g * inv_tau / (float)(opt->one_way ? B : 2 * B);
        }
    }
}

/* Phase 4, texts sliced: DS[t] = the gradient w.r.t. text t's unnormalised
** sum; with learned pooling also gdot = each item's E[row] · DS[t]. */
static void train__backward(const train__run *run, uint64_t base, uint32_t ith, uint32_t nth) {
    train__state *st = run->st;
    const uint32_t B = st->B, dim = st->cfg.dim;
    size_t a, b;
    train__slice(2 * (size_t)B, ith, nth, &a, &b);
    for (size_t t = a; t < b; t++) {
        float *ds = st->DS + t * dim;
        memset(ds, 0, dim * sizeof *ds);
        if (t < B) {
            for (uint32_t j = 0; j < B; j++) {
                float g = st->G[t * B + j];
                const float *c = st->U + (B + j) * dim;
                for (uint32_t d = 0; d < dim; d++) ds[d] += g * c[d];
            }
        } else {
            size_t j = t - B;
            for (uint32_t i = 0; i < B; i++) {
                float g = st->G[i * B + j];
                const float *q = st->U + i * dim;
                for (uint32_t d = 0; d < dim; d++) ds[d] += g * q[d];
            }
        }
        const float *u = st->U + t * dim;
        float dot = 0.0f;
        for (uint32_t d = 0; d < dim; d++) dot += u[d] * ds[d];
        float inv = 1.0f / st->norm[t];
        for (uint32_t d = 0; d < dim; d++) ds[d] = (ds[d] - u[d] * dot) * inv;
        if (run->learned) {
            size_t n;
            uint32_t tw;
            const embed_item *it = train__text(st, base, (uint32_t)t, &n, &tw);
            for (size_t k = 0; k < n; k++) {
                const float *e = st->E[tw] + (size_t)it[k].row * dim;
                st->gdot[st->item_base[t] + k] = train__dot(e, ds, dim) * it[k].coef * st->keep[st->item_base[t] + k];
            }
        }
    }
}

/* Phase 5: gE += the table gradients, dimensions sliced (each thread walks
** every text in order); thread 0 also sums gdot into the pooling weights'
** gradients gw. */
static void train__table_gradients(const train__run *run, uint64_t base, uint32_t ith, uint32_t nth) {
    train__state *st = run->st;
    const uint32_t dim = st->cfg.dim, T = 2 * st->B;
    size_t a, b;
    train__slice(dim, ith, nth, &a, &b);
    for (uint32_t t = 0; t < T; t++) {
        size_t n;
        uint32_t tw;
        const embed_item *it = train__text(st, base, t, &n, &tw);
        const float *ds = st->DS + (size_t)t * dim;
        for (size_t k = 0; k < n; k++) {
            float f = it[k].coef * st->w[train__wset(st, t)][it[k].row] * st->keep[st->item_base[t] + k];
            float *g = st->gE[tw] + (size_t)it[k].row * dim;
            for (size_t d = a; d < b; d++) g[d] += f * ds[d];
        }
    }
    if (ith == 0 && run->learned)
        for (uint32_t t = 0; t < T; t++) {
            size_t n;
            uint32_t tw;
            const embed_item *it = train__text(st, base, t, &n, &tw);
            float *gw = st->gw[train__wset(st, t)];
            (void)tw;
            for (size_t k = 0; k < n; k++) gw[it[k].row] += st->gdot[st->item_base[t] + k];
        }
}

/* Phase 6, touched rows sliced: lazy Adam step st->step + 1 (learning rate
** decayed linearly) on the rows and their pooling weights; clears their
** gradients and marks. */
static void train__adam(const train__run *run, uint32_t ith, uint32_t nth) {
    train__state *st = run->st;
    const sc_train_options *opt = st->opt;
    const uint32_t dim = st->cfg.dim;
    uint64_t step = st->step + 1;
    float frac = 1.0f - (float)(step - 1) / (float)st->total_steps;
    float lr = opt->lr * frac;
    float wlr = lr * (opt->weight_lr > 0.0f ? opt->weight_lr : 1.0f);
    float b1 = 0.9f, b2 = 0.999f;
    float c1 = 1.0f - powf(b1, (float)step), c2 = 1.0f - powf(b2, (float)step);
    size_t a, b;
    for (uint32_t tw = 0; tw < st->cfg.n_towers; tw++) {
        train__slice(st->n_touched[tw], ith, nth, &a, &b);
        for (size_t k = a; k < b; k++) {
            uint32_t r = st->touched[tw][k];
            float *e = st->E[tw] + (size_t)r * dim, *g = st->gE[tw] + (size_t)r * dim;
            float *m = st->mE[tw] + (size_t)r * dim, *v = st->vE[tw] + (size_t)r * dim;
            for (uint32_t d = 0; d < dim; d++) {
                m[d] = b1 * m[d] + (1 - b1) * g[d];
                v[d] = b2 * v[d] + (1 - b2) * g[d] * g[d];
                e[d] -= lr * (m[d] / c1) / (sqrtf(v[d] / c2) + 1e-8f);
                g[d] = 0.0f;
            }
            /* weight sets of this tower's rows: its own, or both sides' with
            ** per-side pooling (a row touched by one side only gets a zero
            ** gradient on the other, which still moves by its moments) */
            uint32_t s0 = st->n_wsets > st->cfg.n_towers ? 0 : tw;
            uint32_t s1 = st->n_wsets > st->cfg.n_towers ? st->n_wsets - 1 : tw;
            for (uint32_t ws = s0; run->learned && ws <= s1; ws++) {
                float gw = st->gw[ws][r];
                st->mw[ws][r] = b1 * st->mw[ws][r] + (1 - b1) * gw;
                st->vw[ws][r] = b2 * st->vw[ws][r] + (1 - b2) * gw * gw;
                st->w[ws][r] -= wlr * (st->mw[ws][r] / c1) / (sqrtf(st->vw[ws][r] / c2) + 1e-8f);
                if (st->w[ws][r] < 0.01f) st->w[ws][r] = 0.01f;
                st->gw[ws][r] = 0.0f;
            }
            st->mark[tw][r] = 0;
        }
    }
}

/* Thread 0, after a batch: the smoothed loss from the threads' shares,
** the step count, an empty touched list, and the progress line. */
static void train__batch_end(train__state *st, uint32_t nth, uint32_t epoch) {
    const sc_train_options *opt = st->opt;
    uint64_t step = st->step + 1;
    double l = 0.0;
    for (uint32_t i = 0; i < nth; i++) l += st->loss[i];
    l /= (opt->one_way ? 1.0 : 2.0) * st->B;
    st->last_loss = st->step ? 0.98 * st->last_loss + 0.02 * l : l;
    st->step = step;
    st->n_touched[0] = st->n_touched[1] = 0;
    if (opt->verbose && (step % 100 == 0 || step == st->total_steps))
        fprintf(stderr, "train: epoch %u step %llu/%llu loss %.4f (%.0f s)\n", epoch + 1, (unsigned long long)step,
                (unsigned long long)st->total_steps, st->last_loss, util_now() - st->t0);
}

/* The training, run by every thread (util_parallel_run): per epoch the
** pair order, then per batch the phases above, each ended by a barrier. */
static void train__worker(void *arg, uint32_t ith, uint32_t nth) {
    train__run *run = arg;
    train__state *st = run->st;
    for (uint32_t epoch = 0; epoch < st->opt->epochs; epoch++) {
        train__epoch_order(st, ith, nth, epoch);
        pthread_barrier_wait(&st->bar);
        for (size_t bi = 0; bi < st->batches; bi++) {
            uint64_t base = bi * st->B;
            if (ith == 0) train__batch_setup(st, base);
            pthread_barrier_wait(&st->bar);
            train__forward(st, base, ith, nth);
            pthread_barrier_wait(&st->bar);
            size_t a, b; /* phases 2 and 3: rows, then columns, of the B × B logits */
            train__slice(st->B, ith, nth, &a, &b);
            double loss = train__row_logits(st, a, b);
            pthread_barrier_wait(&st->bar);
            st->loss[ith] = train__col_softmax(st, a, b, loss);
            pthread_barrier_wait(&st->bar);
            train__row_gradient(st, a, b);
            pthread_barrier_wait(&st->bar);
            train__backward(run, base, ith, nth);
            pthread_barrier_wait(&st->bar);
            train__table_gradients(run, base, ith, nth);
            pthread_barrier_wait(&st->bar);
            train__adam(run, ith, nth);
            pthread_barrier_wait(&st->bar);
            if (ith == 0) train__batch_end(st, nth, epoch);
            pthread_barrier_wait(&st->bar);
        }
    }
}

/* ==== Data preparation ==== */

typedef struct train__count {
    uint32_t id;      /* token id in the all-token map */
    uint64_t count;   /* occurrences */
} train__count;

static const text_strmap *train__sort_map; /* for the comparator (serial use only) */

static int train__count_cmp(const void *x, const void *y) {
    const train__count *a = x, *b = y;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    const text_strmap *m = train__sort_map;
    size_t la = m->len[a->id], lb = m->len[b->id];
    int c = memcmp(m->str + m->off[a->id], m->str + m->off[b->id], la < lb ? la : lb);
    if (c) return c;
    return (la > lb) - (la < lb);
}

/* Build vocabulary and bags from the pairs. */
static sc_status train__prepare(train__state *st, const embed_pairs *pairs, text_strmap *vocab, sc_err *err) {
    const sc_train_options *opt = st->opt;
    sc_status rc = SC_OK;
    text_tokenizer *tk = text_tokenizer_new(err);
    if (!tk) return SC_NOMEM;
    text_strmap all = {0};
    uint32_t *ids = NULL;              /* token ids of every text, texts back to back */
    size_t n_ids = 0, cap_ids = 0;
    size_t *tstart = calloc(2 * pairs->n + 1, sizeof *tstart);
    uint64_t *cnt = NULL;
    size_t cnt_cap = 0;
    text_tokens tok = {0};
    embed_items items = {0};
    train__count *order = NULL;
    uint32_t *row_of = NULL;
    if (!tstart) goto nomem;
    for (size_t t = 0; t < 2 * pairs->n; t++) {
        const char *s = (t & 1) ? pairs->code[t / 2] : pairs->doc[t / 2];
        if (text_tokenize(tk, s, strlen(s), opt->max_tokens, &tok)) goto nomem;
        if (!util_grow(&ids, &cap_ids, n_ids + tok.n, sizeof *ids, 1 << 22)) goto nomem;
        for (uint32_t i = 0; i < tok.n; i++) {
            uint32_t id = text_strmap_add(&all, tok.str + tok.off[i], tok.len[i], NULL);
            if (id == UINT32_MAX) goto nomem;
            if (id >= cnt_cap) {
                size_t c = cnt_cap ? cnt_cap * 2 : 1 << 16;
                uint64_t *v = realloc(cnt, c * sizeof *v);
                if (!v) goto nomem;
                memset(v + cnt_cap, 0, (c - cnt_cap) * sizeof *v);
                cnt = v;
                cnt_cap = c;
            }
            cnt[id]++;
            ids[n_ids++] = id;
        }
        tstart[t + 1] = n_ids;
    }
    /* vocabulary: most frequent first, ties by bytes */
    order = malloc((all.n + 1) * sizeof *order);
    row_of = malloc((all.n + 1) * sizeof *row_of);
    if (!order || !row_of) goto nomem;
    for (uint32_t i = 0; i < all.n; i++) order[i] = (train__count){i, cnt[i]};
    train__sort_map = &all;
    qsort(order, all.n, sizeof *order, train__count_cmp);
    for (uint32_t i = 0; i < all.n; i++) row_of[i] = UINT32_MAX;
    for (uint32_t i = 0; i < all.n && vocab->n < opt->vocab_max; i++) {
        if (order[i].count < opt->min_count) break;
        uint32_t id = order[i].id;
        row_of[id] = text_strmap_add(vocab, all.str + all.off[id], all.len[id], NULL);
        if (row_of[id] == UINT32_MAX) goto nomem;
    }
    st->cfg.n_vocab = vocab->n;
    /* bags: rebuild each text's token stream view from ids */
    for (int side = 0; side < 2; side++) {
        st->bag[side].start = calloc(pairs->n + 1, sizeof(size_t));
        if (!st->bag[side].start) goto nomem;
    }
    for (size_t t = 0; t < 2 * pairs->n; t++) {
        tok.n = 0;
        tok.str_len = 0;
        /* reuse tok as a container: point tokens at the all-map arena */
        uint32_t nt = (uint32_t)(tstart[t + 1] - tstart[t]);
        if (nt > tok.cap) {
            uint32_t *o = realloc(tok.off, nt * sizeof *o);
            if (o) tok.off = o;
            uint16_t *l = realloc(tok.len, nt * sizeof *l);
            if (l) tok.len = l;
            if (!o || !l) goto nomem;
            tok.cap = nt;
        }
        char *saved = tok.str;
        tok.str = all.str;
        for (uint32_t i = 0; i < nt; i++) {
            uint32_t id = ids[tstart[t] + i];
            tok.off[i] = all.off[id];
            tok.len[i] = all.len[id];
        }
        tok.n = nt;
        int bad = embed_items_from_tokens(vocab, &st->cfg, &tok, &items);
        tok.str = saved;
        if (bad) goto nomem;
        embed_items_merge(&items);
        embed_items_saturate(&items, st->cfg.tf_power);
        int side = (int)(t & 1);
        if (train__bags_push(&st->bag[side], &items)) goto nomem;
        st->bag[side].start[t / 2 + 1] = st->bag[side].n_items;
    }
    goto done;
nomem:
    rc = sc_err_set(err, SC_NOMEM, "out of memory preparing training data");
done:
    text_tokenizer_free(tk);
    text_strmap_free(&all);
    text_tokens_free(&tok);
    free(items.v);
    free(ids);
    free(tstart);
    free(cnt);
    free(order);
    free(row_of);
    return rc;
}

/* ==== Entry point ==== */

static char *train__meta(const sc_train_options *opt, const train__state *st, const embed_pairs *pairs, double secs,
                         const sc_eval_row *rows, uint32_t n_rows) {
    json_t *o = json_object();
    json_object_set_new(o, "format", json_string("semcode-static-embedding"));
    json_object_set_new(o, "dim", json_integer(opt->dim));
    json_object_set_new(o, "epochs", json_integer(opt->epochs));
    json_object_set_new(o, "batch", json_integer(opt->batch));
    json_object_set_new(o, "lr", json_real((double)opt->lr));
    json_object_set_new(o, "temperature", json_real((double)opt->temperature));
    json_object_set_new(o, "seed", json_integer((json_int_t)opt->seed));
    json_object_set_new(o, "threads", json_integer(opt->threads));
    json_object_set_new(o, "vocab", json_integer(st->cfg.n_vocab));
    json_object_set_new(o, "min_count", json_integer(opt->min_count));
    json_object_set_new(o, "buckets", json_integer(opt->n_buckets));
    json_object_set_new(o, "max_tokens", json_integer(opt->max_tokens));
    json_object_set_new(o, "pooling", json_string(opt->pooling == SC_POOLING_IDF       ? "idf"
                                                  : opt->pooling == SC_POOLING_SIDES ? "sides"
                                                                                     : "learned"));
    json_object_set_new(o, "towers", json_integer(opt->towers));
    json_object_set_new(o, "tf_power", json_real((double)opt->tf_power));
    json_object_set_new(o, "dropout", json_real((double)opt->dropout));
    if (opt->weight_lr > 0.0f && opt->weight_lr != 1.0f)
        json_object_set_new(o, "weight_lr", json_real((double)opt->weight_lr));
    json_object_set_new(o, "batching", json_string(opt->batching == 1 ? "language" : "mixed"));
    json_object_set_new(o, "local", json_integer(opt->local));
    json_object_set_new(o, "upsample", json_integer(opt->upsample));
    json_object_set_new(o, "mine", json_integer(opt->mine));
    json_object_set_new(o, "loss", json_string(opt->one_way ? "doc-to-code" : "symmetric"));
    json_object_set_new(o, "pairs", json_integer((json_int_t)pairs->n));
    json_object_set_new(o, "final_loss", json_real(st->last_loss));
    json_object_set_new(o, "train_seconds", json_real(secs));
    if (opt->meta_json) {
        json_t *x = json_loads(opt->meta_json, 0, NULL);
        if (x) json_object_set_new(o, "extra", x);
    }
    if (n_rows) {
        json_t *ev = json_object();
        for (uint32_t i = 0; i < n_rows; i++) {
            json_t *r = json_object();
            json_object_set_new(r, "queries", json_integer(rows[i].n_queries));
            json_object_set_new(r, "bm25_mrr", json_real(rows[i].bm25.mrr));
            json_object_set_new(r, "model_mrr", json_real(rows[i].model.mrr));
            json_object_set_new(r, "hybrid_mrr", json_real(rows[i].hybrid.mrr));
            json_object_set_new(r, "model_r1", json_real(rows[i].model.r1));
            json_object_set_new(r, "model_r10", json_real(rows[i].model.r10));
            json_object_set_new(ev, rows[i].language, r);
        }
        json_object_set_new(o, "eval_heldout", ev);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

/* SC_OK when the options are in range, else SC_INVALID naming them. */
static sc_status train__check_options(const sc_train_options *opt, sc_err *e) {
    if (opt->dim == 0 || opt->dim > EMBED_MAX_DIM || opt->batch < 2 || opt->epochs == 0 ||
        !(opt->temperature > 0.0f) || !(opt->lr > 0.0f) || !(opt->dropout >= 0.0f && opt->dropout < 1.0f) ||
        !(opt->weight_lr >= 0.0f && opt->weight_lr <= 1000.0f) || !(opt->tf_power >= 0.0f && opt->tf_power <= 1.0f) ||
        opt->towers < 1 || opt->towers > 2 ||
        opt->pooling > SC_POOLING_SIDES || (opt->pooling == SC_POOLING_SIDES && opt->towers != 1) ||
        opt->n_buckets > EMBED_MAX_ROWS || opt->vocab_max > EMBED_MAX_ROWS)
        return sc_err_set(e, SC_INVALID, "bad training options (dim %u, batch %u, epochs %u, towers %u, tf power %g)",
                          opt->dim, opt->batch, opt->epochs, opt->towers, (double)opt->tf_power);
    return SC_OK;
}

/* The parameters and their Adam state: weight sets (filled by
** train__init_weights) and per tower a table drawn uniformly in ±0.1 from
** the seed, the touched-row marks and list. SC_NOMEM. */
static sc_status train__alloc_params(train__state *st, sc_err *e) {
    const sc_train_options *opt = st->opt;
    size_t rd = st->rows * opt->dim;
    uint64_t rng = opt->seed;
    st->n_wsets = opt->pooling == SC_POOLING_SIDES ? 2 : st->cfg.n_towers;
    for (uint32_t t = 0; t < st->n_wsets; t++) {
        st->w[t] = malloc(st->rows * sizeof(float));
        st->mw[t] = calloc(st->rows, sizeof(float));
        st->vw[t] = calloc(st->rows, sizeof(float));
        st->gw[t] = calloc(st->rows, sizeof(float));
        if (!st->w[t] || !st->mw[t] || !st->vw[t] || !st->gw[t])
            return sc_err_set(e, SC_NOMEM, "out of memory for the pooling weights");
    }
    for (uint32_t t = 0; t < st->cfg.n_towers; t++) {
        st->E[t] = malloc(rd * sizeof(float));
        st->mE[t] = calloc(rd, sizeof(float));
        st->vE[t] = calloc(rd, sizeof(float));
        st->gE[t] = calloc(rd, sizeof(float));
        st->mark[t] = calloc(st->rows, 1);
        st->touched[t] = malloc(st->rows * sizeof(uint32_t));
        if (!st->E[t] || !st->mE[t] || !st->vE[t] || !st->gE[t] || !st->mark[t] || !st->touched[t])
            return sc_err_set(e, SC_NOMEM, "out of memory for the token tables");
        for (size_t i = 0; i < rd; i++) st->E[t][i] = (train__uniform(&rng) * 2.0f - 1.0f) * 0.1f;
    }
    return SC_OK;
}

/* Every weight set starts at each row's idf over all texts (docs and
** codes). SC_NOMEM. */
static sc_status train__init_weights(train__state *st, sc_err *e) {
    uint32_t *df = calloc(st->rows, sizeof *df);
    if (!df) return sc_err_set(e, SC_NOMEM, "out of memory");
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < st->bag[side].n_items; i++) df[st->bag[side].items[i].row]++;
    double N = 2.0 * (double)st->n_pairs;
    for (uint32_t t = 0; t < st->n_wsets; t++)
        for (size_t r = 0; r < st->rows; r++) st->w[t][r] = (float)log(1.0 + (N - df[r] + 0.5) / (df[r] + 0.5));
    free(df);
    return SC_OK;
}

/* The per-batch buffers (sized by the batch and the longest bag), the
** dropout threshold and the identity pair order. SC_NOMEM. */
static sc_status train__alloc_batch(train__state *st, sc_err *e) {
    const sc_train_options *opt = st->opt;
    const uint32_t B = st->B, T = 2 * B;
    st->order = malloc(st->n_pairs * sizeof *st->order);
    st->U = malloc((size_t)T * opt->dim * sizeof(float));
    st->DS = malloc((size_t)T * opt->dim * sizeof(float));
    st->norm = malloc(T * sizeof(float));
    st->P = malloc((size_t)B * B * sizeof(float));
    st->G = malloc((size_t)B * B * sizeof(float));
    st->item_base = malloc((T + 1) * sizeof(size_t));
    size_t max_bag = 0;
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < st->n_pairs; i++) {
            size_t n = st->bag[side].start[i + 1] - st->bag[side].start[i];
            if (n > max_bag) max_bag = n;
        }
    st->gdot = malloc(((size_t)T * max_bag + 1) * sizeof(float));
    st->keep = malloc(((size_t)T * max_bag + 1) * sizeof(float));
    st->drop_cut = (uint32_t)fmin(4294967295.0, (double)opt->dropout * 4294967296.0);
    if (!st->keep || !st->order || !st->U || !st->DS || !st->norm || !st->P || !st->G || !st->item_base || !st->gdot)
        return sc_err_set(e, SC_NOMEM, "out of memory for batch buffers");
    for (size_t i = 0; i < st->n_pairs; i++) st->order[i] = (uint32_t)i;
    st->perm = st->order;
    return SC_OK;
}

/* Batches per epoch; with language batching also its buffers and the
** locality keys (directories), and with --mine the mining buffers. SC_NOMEM. */
static sc_status train__setup_batching(train__state *st, const embed_pairs *pairs, sc_err *e) {
    const sc_train_options *opt = st->opt;
    st->lang = pairs->lang;
    st->n_langs = pairs->n_langs;
    st->batches = pairs->n / st->B;
    if (opt->batching != 1) return SC_OK;
    size_t counts[EMBED_MAX_LANGS] = {0}, total;
    for (size_t i = 0; i < pairs->n; i++) counts[pairs->lang[i]]++;
    st->batches = train__lang_batches(st, counts, &total);
    st->scratch = malloc(total * sizeof *st->scratch);
    st->perm = malloc(total * sizeof *st->perm);
    st->border = malloc((total / st->B + 1) * sizeof *st->border);
    st->unit = pairs->unit;
    if (opt->mine && opt->local > 1) {
        uint32_t H = opt->mine > 32 ? 32 : opt->mine;
        st->mkey = malloc(pairs->n * sizeof *st->mkey);
        st->R = malloc((size_t)H * st->cfg.dim * sizeof *st->R);
        st->proj = malloc(st->rows * H * sizeof *st->proj);
        if (!st->mkey || !st->R || !st->proj)
            return sc_err_set(e, SC_NOMEM, "out of memory for hard-negative mining");
    }
    if (!st->scratch || !st->perm || !st->border) return sc_err_set(e, SC_NOMEM, "out of memory for batch buffers");
    return SC_OK;
}

/* Runs train__worker on opt->threads threads (0 = every core, at most 64). */
static void train__run_threads(train__state *st) {
    const sc_train_options *opt = st->opt;
    uint32_t nth = opt->threads ? opt->threads : util_n_cores();
    if (nth > 64) nth = 64;
    st->total_steps = (uint64_t)opt->epochs * st->batches;
    st->t0 = util_now();
    pthread_barrier_init(&st->bar, NULL, nth);
    train__run run = {st, opt->pooling != SC_POOLING_IDF};
    util_parallel_run(train__worker, &run, nth);
    pthread_barrier_destroy(&st->bar);
}

/* Writes the model to opt->out_path; with opt->eval_path, evaluates the
** written model on it and writes it again with the scores in the metadata. */
static sc_status train__write(const train__state *st, const embed_pairs *pairs, const text_strmap *vocab, double secs,
                              sc_err *e) {
    const sc_train_options *opt = st->opt;
    char *meta = train__meta(opt, st, pairs, secs, NULL, 0);
    sc_status rc = embed_model_write(opt->out_path, &st->cfg, vocab, st->E, st->w, meta, e);
    if (rc == SC_OK && opt->eval_path) {
        sc_model *m = NULL;
        char *msg = NULL;
        sc_eval_row rows[EMBED_MAX_LANGS + 1];
        uint32_t n_rows = 0;
        rc = sc_model_load(opt->out_path, &m, &msg);
        if (rc == SC_OK) rc = sc_eval_pairs(m, opt->eval_path, NULL, rows, EMBED_MAX_LANGS + 1, &n_rows, &msg);
        sc_model_free(m);
        if (rc == SC_OK) {
            free(meta);
            meta = train__meta(opt, st, pairs, secs, rows, n_rows);
            rc = embed_model_write(opt->out_path, &st->cfg, vocab, st->E, st->w, meta, e);
        } else {
            sc_err_set(e, rc, "evaluation after training: %s", msg ? msg : "failed");
        }
        sc_free(msg);
    }
    free(meta);
    return rc;
}

/* Frees every buffer of the state (any of them may be NULL). */
static void train__state_free(train__state *st) {
    for (int t = 0; t < 2; t++) {
        free(st->E[t]);
        free(st->mE[t]);
        free(st->vE[t]);
        free(st->gE[t]);
        free(st->w[t]);
        free(st->mw[t]);
        free(st->vw[t]);
        free(st->gw[t]);
        free(st->mark[t]);
        free(st->touched[t]);
        free(st->bag[t].start);
        free(st->bag[t].items);
    }
    if (st->perm != st->order) free(st->perm);
    free(st->order);
    free(st->scratch);
    free(st->border);
    free(st->mkey);
    free(st->R);
    free(st->proj);
    free(st->U);
    free(st->DS);
    free(st->norm);
    free(st->P);
    free(st->G);
    free(st->item_base);
    free(st->gdot);
    free(st->keep);
}

sc_status sc_model_train(const sc_train_options *opt, char **errmsg) {
    sc_err e = {0};
    sc_status rc = SC_OK;
    embed_pairs pairs = {0};
    text_strmap vocab = {0};
    train__state st = {0};
    if (errmsg) *errmsg = NULL;
    if (!opt || !opt->pairs_path || !opt->out_path)
        return util_errmsg_out(errmsg, SC_MISUSE, "sc_model_train: NULL options, pairs path or output path");
    rc = train__check_options(opt, &e);
    if (rc) goto out;
    double t0 = util_now();
    rc = embed_pairs_read(opt->pairs_path, opt->max_pairs, &pairs, &e);
    if (rc) goto out;
    if (pairs.n < opt->batch) {
        rc = sc_err_set(&e, SC_INVALID, "%s has %zu pairs, fewer than one batch (%u)", opt->pairs_path, pairs.n,
                        opt->batch);
        goto out;
    }
    st.opt = opt;
    st.cfg = (embed_config){.dim = opt->dim, .n_buckets = opt->n_buckets, .ngram_min = 3, .ngram_max = 5,
                            .n_towers = opt->towers, .pooling = opt->pooling, .max_tokens = opt->max_tokens,
                            .tf_power = opt->tf_power};
    rc = train__prepare(&st, &pairs, &vocab, &e);
    if (rc) goto out;
    st.n_pairs = pairs.n;
    st.rows = (size_t)st.cfg.n_vocab + st.cfg.n_buckets;
    st.B = opt->batch;
    if (opt->verbose)
        fprintf(stderr, "train: %zu pairs, vocabulary %u + %u buckets, %zu doc items, %zu code items (%.1f s)\n",
                pairs.n, st.cfg.n_vocab, st.cfg.n_buckets, st.bag[0].n_items, st.bag[1].n_items, util_now() - t0);
    if ((rc = train__alloc_params(&st, &e)) || (rc = train__init_weights(&st, &e)) ||
        (rc = train__alloc_batch(&st, &e)) || (rc = train__setup_batching(&st, &pairs, &e)))
        goto out;
    train__run_threads(&st);
    rc = train__write(&st, &pairs, &vocab, util_now() - t0, &e);
out:
    train__state_free(&st);
    text_strmap_free(&vocab);
    embed_pairs_free(&pairs);
    if (rc != SC_OK && errmsg) *errmsg = util_strdup(e.msg);
    return rc;
}
