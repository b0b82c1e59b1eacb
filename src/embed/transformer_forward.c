/*
** embed/transformer_forward: the encoder forward pass (BERT / RoBERTa,
** post-layer-norm), pooling, and the public tokenize / embed calls.
**
** DESIGN
** Batching. sc_transformer_embed tokenizes up to TRANSFORMER_CHUNK texts at
** a time, sorts them by token count and cuts the sorted list into batches
** of at most batch_size sequences and TRANSFORMER_BATCH_TOKENS tokens.
** Inside a batch the sequences are packed, not padded: the token rows of
** all sequences are concatenated into one [T, H] matrix, so the linear
** layers (one cblas_sgemm each, Q/K/V fused into one) run on T rows with no
** padding at all, and attention is computed per sequence and head on its
** own length, so no mask is needed and no work is spent on pad positions.
** The result equals a padded, masked batch.
** Threads. A batch is split into nth contiguous groups of sequences with
** about equal token counts; util_parallel_run gives each group to one
** thread, which runs the whole network on it with its own scratch memory.
** There is no synchronisation inside the forward pass. OpenBLAS is set to
** one thread at load so that it does not start threads of its own on top.
** Memory. Scratch per thread is ~T x (6H + F) floats plus L x L for
** attention scores; T is bounded by TRANSFORMER_BATCH_TOKENS and L by
** max_seq_length, so memory does not grow with the input's length.
** Fused passes. Biases are written into the output before each sgemm,
** which then accumulates (beta = 1); the residual is added the same way;
** GELU and layer norm are one pass over the rows each.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "embed/transformer_int.h"

#define TRANSFORMER_CHUNK 2048          /* texts tokenized per round */
#define TRANSFORMER_BATCH_TOKENS 8192u  /* tokens per forward batch */
#define TRANSFORMER_MAX_THREADS 64

/* ==== Row kernels ==== */

static void transformer__layernorm(float *x, uint32_t n, const float *g, const float *b, float eps) {
    float mean = 0.0f;
    for (uint32_t i = 0; i < n; i++) mean += x[i];
    mean /= (float)n;
    float var = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        float d = x[i] - mean;
        var += d * d;
    }
    var /= (float)n;
    float inv = 1.0f / sqrtf(var + eps);
    for (uint32_t i = 0; i < n; i++) x[i] = (x[i] - mean) * inv * g[i] + b[i];
}

void transformer_gelu_scalar(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

int transformer_use_avx2(void) {
    static int cached = -1; /* benign race: every thread computes the same value */
    if (cached < 0) {
        const char *isa = getenv("SEMCODE_ISA");
        __builtin_cpu_init();
        cached = (!isa || strcmp(isa, "scalar") != 0) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}

static void transformer__act(float *x, size_t n, transformer_act act) {
    switch (act) {
    case TRANSFORMER_ACT_GELU:
        if (transformer_use_avx2())
            transformer_gelu_avx2(x, n);
        else
            transformer_gelu_scalar(x, n);
        break;
    case TRANSFORMER_ACT_GELU_TANH:
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        }
        break;
    case TRANSFORMER_ACT_RELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    }
}

void transformer_softmax_scalar(float *row, uint32_t n) {
    float mx = row[0];
    for (uint32_t i = 1; i < n; i++) mx = row[i] > mx ? row[i] : mx;
    float sum = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        row[i] = expf(row[i] - mx);
        sum += row[i];
    }
    float inv = 1.0f / sum;
    for (uint32_t i = 0; i < n; i++) row[i] *= inv;
}

/* Set each of the rows of y[rows, n] to bias[n]. */
static void transformer__fill_bias(float *y, size_t rows, uint32_t n, const float *bias) {
    for (size_t r = 0; r < rows; r++) memcpy(y + r * n, bias, n * sizeof(float));
}

/* y[rows, n] += bias[n]. */
static void transformer__add_bias(float *y, size_t rows, uint32_t n, const float *bias) {
    for (size_t r = 0; r < rows; r++)
        for (uint32_t i = 0; i < n; i++) y[r * n + i] += bias[i];
}

/* ==== One group of sequences on one thread ==== */

typedef struct transformer_scratch {
    float *buf;   /* owned scratch */
    size_t size;  /* floats allocated */
} transformer_scratch;

typedef struct transformer_job {
    const sc_transformer *m;                        /* the model */
    const int32_t *ids;                             /* packed token ids */
    const uint32_t *off;                            /* first token of each sequence in ids */
    const uint32_t *len;                            /* tokens of each sequence */
    float *out;                                     /* pooled output, n_seq x H */
    uint32_t lo[TRANSFORMER_MAX_THREADS + 1];       /* group t = sequences lo[t] .. lo[t+1]-1 */
    transformer_scratch *scratch;                   /* per thread index */
    sc_status rc[TRANSFORMER_MAX_THREADS];          /* per thread result */
} transformer_job;

static sc_status transformer__group(const sc_transformer *m, const int32_t *ids, const uint32_t *off,
                                    const uint32_t *len, uint32_t n_seq, float *out, transformer_scratch *sc) {
    const transformer_config *c = &m->cfg;
    const uint32_t H = c->hidden, F = c->intermediate, NH = c->n_heads, D = H / NH;
    size_t T = 0;
    uint32_t Lmax = 0;
    for (uint32_t s = 0; s < n_seq; s++) {
        T += len[s];
        if (len[s] > Lmax) Lmax = len[s];
    }
    if (T == 0) return SC_OK;
    size_t need = T * H + T * 3 * H + T * H + T * (size_t)F + (size_t)Lmax * Lmax;
    if (need > sc->size) {
        free(sc->buf);
        sc->buf = malloc(need * sizeof(float));
        sc->size = sc->buf ? need : 0;
        if (!sc->buf) return SC_NOMEM;
    }
    float *x = sc->buf, *qkv = x + T * H, *ctx = qkv + T * 3 * H, *ffn = ctx + T * H, *sco = ffn + T * F;

    /* Embeddings: word + position + token type 0, then layer norm. */
    const uint32_t pos0 = c->arch == TRANSFORMER_ARCH_ROBERTA ? c->pad_id + 1 : 0;
    size_t t = 0;
    for (uint32_t s = 0; s < n_seq; s++)
        for (uint32_t p = 0; p < len[s]; p++, t++) {
            float *row = x + t * H;
            const float *w = m->word_emb + (size_t)ids[off[s] + p] * H, *pe = m->pos_emb + (size_t)(pos0 + p) * H;
            if (m->type_emb)
                for (uint32_t i = 0; i < H; i++) row[i] = w[i] + pe[i] + m->type_emb[i];
            else
                for (uint32_t i = 0; i < H; i++) row[i] = w[i] + pe[i];
            transformer__layernorm(row, H, m->emb_ln_g, m->emb_ln_b, c->ln_eps);
        }

    const float scale = 1.0f / sqrtf((float)D);
    const int avx2 = transformer_use_avx2();
    const int iT = (int)T, iH = (int)H, iF = (int)F, iD = (int)D, i3H = (int)(3 * H);
    for (uint32_t l = 0; l < c->n_layers; l++) {
        const transformer_layer *L = &m->layers[l];
        /* Q, K, V in one product: qkv[T, 3H] = x W_qkv^T + b. */
        transformer__fill_bias(qkv, T, 3 * H, L->b_qkv);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, iT, i3H, iH, 1.0f, x, iH, L->w_qkv, iH, 1.0f, qkv, i3H);
        /* Attention per sequence and head, on the sequence's own length. */
        size_t base = 0;
        for (uint32_t s = 0; s < n_seq; s++) {
            const int n = (int)len[s];
            for (uint32_t h = 0; h < NH; h++) {
                const float *q = qkv + base * 3 * H + h * D, *k = q + H, *v = q + 2 * H;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, iD, scale, q, i3H, k, i3H, 0.0f, sco, n);
                for (int r = 0; r < n; r++) {
                    if (avx2)
                        transformer_softmax_avx2(sco + (size_t)r * (size_t)n, (uint32_t)n);
                    else
                        transformer_softmax_scalar(sco + (size_t)r * (size_t)n, (uint32_t)n);
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, iD, n, 1.0f, sco, n, v, i3H, 0.0f,
                            ctx + base * H + h * D, iH);
            }
            base += len[s];
        }
        /* Attention output: x = LN(x + ctx W_o^T + b_o). */
        transformer__add_bias(x, T, H, L->b_o);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, iT, iH, iH, 1.0f, ctx, iH, L->w_o, iH, 1.0f, x, iH);
        for (size_t r = 0; r < T; r++) transformer__layernorm(x + r * H, H, L->ln1_g, L->ln1_b, c->ln_eps);
        /* Feed-forward: x = LN(x + act(x W_i^T + b_i) W_out^T + b_out). */
        transformer__fill_bias(ffn, T, F, L->b_i);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, iT, iF, iH, 1.0f, x, iH, L->w_i, iH, 1.0f, ffn, iF);
        transformer__act(ffn, T * F, c->act);
        transformer__add_bias(x, T, H, L->b_out);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, iT, iH, iF, 1.0f, ffn, iF, L->w_out, iF, 1.0f, x, iH);
        for (size_t r = 0; r < T; r++) transformer__layernorm(x + r * H, H, L->ln2_g, L->ln2_b, c->ln_eps);
    }

    /* Pooling (and normalisation) per sequence. */
    size_t base = 0;
    for (uint32_t s = 0; s < n_seq; s++) {
        float *o = out + (size_t)s * H;
        const float *rows = x + base * H;
        if (c->pool == TRANSFORMER_POOL_CLS) {
            memcpy(o, rows, H * sizeof(float));
        } else if (c->pool == TRANSFORMER_POOL_LAST) {
            memcpy(o, rows + (size_t)(len[s] - 1) * H, H * sizeof(float));
        } else {
            memset(o, 0, H * sizeof(float));
            for (uint32_t p = 0; p < len[s]; p++)
                for (uint32_t i = 0; i < H; i++) o[i] += rows[(size_t)p * H + i];
            float inv = 1.0f / (float)len[s];
            for (uint32_t i = 0; i < H; i++) o[i] *= inv;
        }
        if (c->normalize) {
            float ss = 0.0f;
            for (uint32_t i = 0; i < H; i++) ss += o[i] * o[i];
            float inv = ss > 0.0f ? 1.0f / sqrtf(ss) : 0.0f;
            for (uint32_t i = 0; i < H; i++) o[i] *= inv;
        }
        base += len[s];
    }
    return SC_OK;
}

static void transformer__job_run(void *arg, uint32_t ith, uint32_t nth) {
    (void)nth;
    transformer_job *j = arg;
    uint32_t a = j->lo[ith], b = j->lo[ith + 1];
    j->rc[ith] = b > a ? transformer__group(j->m, j->ids, j->off + a, j->len + a, b - a,
                                            j->out + (size_t)a * j->m->cfg.hidden, &j->scratch[ith])
                       : SC_OK;
}

/* Forward with caller-provided per-thread scratch (nth entries). */
static sc_status transformer__forward(const sc_transformer *m, const int32_t *ids, const uint32_t *off,
                                      const uint32_t *len, uint32_t n_seq, float *out, uint32_t nth,
                                      transformer_scratch *scratch) {
    if (nth > n_seq) nth = n_seq;
    if (nth > TRANSFORMER_MAX_THREADS) nth = TRANSFORMER_MAX_THREADS;
    if (nth == 0) return SC_OK;
    transformer_job j;
    memset(&j, 0, sizeof j);
    j.m = m;
    j.ids = ids;
    j.off = off;
    j.len = len;
    j.out = out;
    j.scratch = scratch;
    /* Contiguous groups of about equal cost (tokens, plus the quadratic attention term). */
    double total = 0.0, *cost = malloc(n_seq * sizeof *cost);
    if (!cost) return SC_NOMEM;
    for (uint32_t s = 0; s < n_seq; s++) {
        cost[s] = (double)len[s] * (1.0 + (double)len[s] / (double)(4 * m->cfg.hidden));
        total += cost[s];
    }
    double acc = 0.0;
    uint32_t g = 1;
    j.lo[0] = 0;
    for (uint32_t s = 0; s < n_seq && g < nth; s++) {
        acc += cost[s];
        if (acc >= total * (double)g / (double)nth) j.lo[g++] = s + 1;
    }
    while (g <= nth) j.lo[g++] = n_seq;
    free(cost);
    util_parallel_run(transformer__job_run, &j, nth);
    for (uint32_t t = 0; t < nth; t++)
        if (j.rc[t] != SC_OK) return j.rc[t];
    return SC_OK;
}

sc_status transformer_forward(const sc_transformer *m, const int32_t *ids, const uint32_t *off,
                              const uint32_t *len, uint32_t n_seq, float *out, uint32_t nth, sc_err *err) {
    if (nth == 0) nth = 1;
    if (nth > TRANSFORMER_MAX_THREADS) nth = TRANSFORMER_MAX_THREADS;
    transformer_scratch sc[TRANSFORMER_MAX_THREADS];
    memset(sc, 0, sizeof sc);
    sc_status rc = transformer__forward(m, ids, off, len, n_seq, out, nth, sc);
    for (uint32_t t = 0; t < nth; t++) free(sc[t].buf);
    if (rc != SC_OK) return sc_err_set(err, rc, "transformer: out of memory for a batch of %u sequences", n_seq);
    return SC_OK;
}

/* ==== Public calls ==== */

sc_status sc_transformer_tokenize(sc_transformer *m, const char *text, int32_t *ids, uint32_t cap, uint32_t *n) {
    if (!m || !text || !n || (!ids && cap)) return transformer_fail(SC_MISUSE, "tokenize: NULL argument");
    sc_status rc = text_hftok_encode(m->tok, text, strlen(text), m->cfg.max_seq, ids, cap, n);
    if (rc != SC_OK) transformer_fail(rc, "tokenize: out of memory");
    return rc;
}

typedef struct transformer_tokjob {
    const sc_transformer *m;   /* model */
    const char *const *texts;  /* texts of this chunk */
    uint32_t n;                /* texts */
    int32_t *ids;              /* n x max_seq ids */
    uint32_t *len;             /* token count per text */
    sc_status rc[TRANSFORMER_MAX_THREADS]; /* per thread */
} transformer_tokjob;

static void transformer__tok_run(void *arg, uint32_t ith, uint32_t nth) {
    transformer_tokjob *j = arg;
    const uint32_t ms = j->m->cfg.max_seq;
    j->rc[ith] = SC_OK;
    for (uint32_t i = ith; i < j->n; i += nth) {
        sc_status rc = text_hftok_encode(j->m->tok, j->texts[i], strlen(j->texts[i]), ms, j->ids + (size_t)i * ms, ms,
                                         &j->len[i]);
        if (rc != SC_OK) j->rc[ith] = rc;
        if (j->len[i] > ms) j->len[i] = ms;
    }
}

/* Order idx[n] by decreasing len, ties by index (a stable counting sort:
** lengths are bounded by max_seq). SC_NOMEM. */
static sc_status transformer__order(const uint32_t *len, uint32_t n, uint32_t *idx) {
    for (uint32_t i = 0; i < n; i++) idx[i] = i;
    uint32_t mx = 0;
    for (uint32_t i = 0; i < n; i++) mx = len[i] > mx ? len[i] : mx;
    uint32_t *cnt = calloc((size_t)mx + 2, sizeof *cnt);
    if (!cnt) return SC_NOMEM;
    for (uint32_t i = 0; i < n; i++) cnt[mx - len[i] + 1]++;
    for (uint32_t v = 1; v <= mx + 1; v++) cnt[v] += cnt[v - 1];
    for (uint32_t i = 0; i < n; i++) idx[cnt[mx - len[i]]++] = i;
    free(cnt);
    return SC_OK;
}

sc_status sc_transformer_embed(sc_transformer *m, const char *const *texts, size_t n, float *out) {
    if (!m || (!texts && n) || (!out && n)) return transformer_fail(SC_MISUSE, "embed: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (!texts[i]) return transformer_fail(SC_MISUSE, "embed: texts[%zu] is NULL", i);
    const uint32_t H = m->cfg.hidden, ms = m->cfg.max_seq;
    uint32_t nth = m->opt.threads ? m->opt.threads : 1;
    if (nth > TRANSFORMER_MAX_THREADS) nth = TRANSFORMER_MAX_THREADS;
    const uint32_t bs = m->opt.batch_size;
    size_t chunk = n < TRANSFORMER_CHUNK ? n : TRANSFORMER_CHUNK;
    int32_t *ids = malloc(chunk * ms * sizeof *ids), *packed = malloc((size_t)(ms > TRANSFORMER_BATCH_TOKENS ? ms : TRANSFORMER_BATCH_TOKENS) * sizeof *packed);
    uint32_t *len = malloc(chunk * sizeof *len), *idx = malloc(chunk * sizeof *idx);
    uint32_t *boff = malloc((size_t)bs * sizeof *boff), *blen = malloc((size_t)bs * sizeof *blen);
    float *bout = malloc((size_t)bs * H * sizeof *bout);
    transformer_scratch sc[TRANSFORMER_MAX_THREADS];
    memset(sc, 0, sizeof sc);
    sc_status rc = SC_OK;
    if (n && (!ids || !packed || !len || !idx || !boff || !blen || !bout)) rc = SC_NOMEM;
    for (size_t c0 = 0; rc == SC_OK && c0 < n; c0 += chunk) {
        uint32_t cn = (uint32_t)(n - c0 < chunk ? n - c0 : chunk);
        transformer_tokjob tj;
        memset(&tj, 0, sizeof tj);
        tj.m = m;
        tj.texts = texts + c0;
        tj.n = cn;
        tj.ids = ids;
        tj.len = len;
        uint32_t tth = nth < cn ? nth : cn;
        util_parallel_run(transformer__tok_run, &tj, tth);
        for (uint32_t t = 0; t < tth; t++)
            if (tj.rc[t] != SC_OK) rc = tj.rc[t];
        if (rc == SC_OK) rc = transformer__order(len, cn, idx);
        /* Batches of similar lengths, bounded in sequences and tokens. */
        for (uint32_t b0 = 0; rc == SC_OK && b0 < cn;) {
            uint32_t nb = 0, tokens = 0;
            while (b0 + nb < cn && nb < bs && (nb == 0 || tokens + len[idx[b0 + nb]] <= TRANSFORMER_BATCH_TOKENS)) {
                uint32_t i = idx[b0 + nb];
                boff[nb] = tokens;
                blen[nb] = len[i];
                memcpy(packed + tokens, ids + (size_t)i * ms, len[i] * sizeof *packed);
                tokens += len[i];
                nb++;
            }
            rc = transformer__forward(m, packed, boff, blen, nb, bout, nth, sc);
            for (uint32_t k = 0; rc == SC_OK && k < nb; k++)
                memcpy(out + (c0 + idx[b0 + k]) * H, bout + (size_t)k * H, H * sizeof(float));
            b0 += nb;
        }
    }
    for (uint32_t t = 0; t < TRANSFORMER_MAX_THREADS; t++) free(sc[t].buf);
    free(ids);
    free(packed);
    free(len);
    free(idx);
    free(boff);
    free(blen);
    free(bout);
    if (rc != SC_OK) transformer_fail(rc, "embed: %s while embedding %zu texts", sc_status_str(rc), n);
    return rc;
}
