/*
** embed/model.c: the model file (write, parse, load) and inference
** (tokens → rows → weighted pooling → L2 norm).
**
** DESIGN (format 1, little-endian; full description in docs/FILE_FORMATS.md)
**   header, 64 bytes:
**     0 "SCEM" | 4 u32 version | 8 u32 header_size (64) | 12 u32 dim
**     16 u32 n_vocab | 20 u32 n_buckets | 24 u8 ngram_min | 25 u8 ngram_max
**     26 u8 n_towers | 27 u8 pooling | 28 u32 max_tokens | 32 u32 weight_type (1 = int8)
**     36 u32 meta_size | 40 u64 vocab_size | 48 u64 file_size | 56 u64 reserved (0)
**   vocabulary: n_vocab × (u8 len ≥ 1, len bytes), zero-padded to a multiple of 8
**   per tower (rows = n_vocab + n_buckets):
**     f32 scale[rows] | f32 weight[rows] | i8 q[rows × dim], zero-padded to 8
**   pooling 2 (SC_POOLING_SIDES, n_towers 1): the tower's weights are the
**     code side's, then f32 query_weight[rows], zero-padded to 8
**   metadata: meta_size bytes of JSON, zero-padded to 8
**   checksum: u64 util_hash64_v1(all bytes before it, seed 0x5c3e)
** Invariants checked at load: sizes add up to file_size, which equals the
** byte count; checksum; no empty or duplicate token; finite scales/weights.
** Every failure is SC_CORRUPT naming the byte offset.
*/
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "embed/embed.h"
#include "semcode/transformer.h"

#define EMBED__MAGIC "SCEM"
#define EMBED__SEED 0x5c3eULL

static size_t embed__pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* ==== Rows of a text ==== */

int embed_items_from_tokens(const text_strmap *vocab, const embed_config *cfg, const text_tokens *tok,
                            embed_items *items) {
    items->n = 0;
    for (uint32_t i = 0; i < tok->n; i++) {
        const char *p = tok->str + tok->off[i];
        size_t n = tok->len[i];
        uint32_t id = text_strmap_find(vocab, p, n);
        uint32_t need = 1;
        char buf[TEXT_TOKEN_MAX + 2];
        size_t bl = 0;
        if (id == UINT32_MAX) {
            if (!cfg->n_buckets) continue;
            buf[0] = '<';
            memcpy(buf + 1, p, n);
            buf[n + 1] = '>';
            bl = n + 2;
            need = 0;
            for (uint32_t g = cfg->ngram_min; g <= cfg->ngram_max; g++)
                if (bl >= g) need += (uint32_t)(bl - g + 1);
            if (!need) continue;
        }
        if (!util_grow_u32(&items->v, &items->cap, items->n + need, sizeof *items->v, 256)) return -1;
        if (id != UINT32_MAX) {
            items->v[items->n++] = (embed_item){id, 1.0f};
            continue;
        }
        float c = 1.0f / (float)need;
        for (uint32_t g = cfg->ngram_min; g <= cfg->ngram_max; g++)
            for (size_t s = 0; s + g <= bl; s++) {
                uint64_t h = util_hash64_v1(buf + s, g, 0x9e3779b9ULL);
                items->v[items->n++] = (embed_item){cfg->n_vocab + (uint32_t)(h % cfg->n_buckets), c};
            }
    }
    return 0;
}

/* ==== Inference ==== */

void embed_axpy_i8_scalar(float *out, const int8_t *row, float f, uint32_t dim) {
    for (uint32_t d = 0; d < dim; d++) out[d] += f * (float)row[d];
}

typedef void (*embed__axpy_fn)(float *, const int8_t *, float, uint32_t);

/* The best axpy kernel for this CPU (SEMCODE_ISA=scalar forces the
** reference), chosen once for the process. */
static embed__axpy_fn embed__axpy_best;
static pthread_once_t embed__axpy_once = PTHREAD_ONCE_INIT;

static void embed__axpy_choose(void) {
    const char *isa = getenv("SEMCODE_ISA");
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    embed__axpy_best = (avx2 && !(isa && !strcmp(isa, "scalar"))) ? embed_axpy_i8_avx2 : embed_axpy_i8_scalar;
}

static embed__axpy_fn embed__axpy(void) {
    pthread_once(&embed__axpy_once, embed__axpy_choose);
    return embed__axpy_best;
}

void embed_model_pool(const sc_model *m, uint32_t side, const embed_items *items, float *out) {
    uint32_t dim = m->cfg.dim;
    memset(out, 0, dim * sizeof *out);
    uint32_t tower = side ? m->cfg.n_towers - 1 : 0;
    uint32_t wi = side ? (m->cfg.pooling == SC_POOLING_SIDES ? 1 : tower) : 0;
    const int8_t *q = m->q[tower];
    const float *sc = m->scale[tower], *w = m->weight[wi];
    embed__axpy_fn axpy = embed__axpy();
    for (uint32_t i = 0; i < items->n; i++) {
        uint32_t r = items->v[i].row;
        axpy(out, q + (size_t)r * dim, items->v[i].coef * w[r] * sc[r], dim);
    }
    float ss = 0.0f;
    for (uint32_t d = 0; d < dim; d++) ss += out[d] * out[d];
    if (!(ss > 0.0f) || !isfinite(ss)) {
        memset(out, 0, dim * sizeof *out);
        return;
    }
    float inv = 1.0f / sqrtf(ss);
    for (uint32_t d = 0; d < dim; d++) out[d] *= inv;
}

static text_tokenizer *embed__borrow(sc_model *m) {
    text_tokenizer *tk = NULL;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < EMBED_POOL && !tk; i++)
        if (m->pool[i]) tk = m->pool[i], m->pool[i] = NULL;
    pthread_mutex_unlock(&m->mu);
    return tk ? tk : text_tokenizer_new(NULL);
}

static void embed__give_back(sc_model *m, text_tokenizer *tk) {
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < EMBED_POOL && tk; i++)
        if (!m->pool[i]) m->pool[i] = tk, tk = NULL;
    pthread_mutex_unlock(&m->mu);
    text_tokenizer_free(tk);
}

sc_status sc_model_embed(sc_model *model, sc_embed_role role, const char *const *texts, size_t n, float *out) {
    if (!model || (!texts && n) || (!out && n)) return SC_MISUSE;
    if (model->tf) return sc_transformer_embed(model->tf, texts, n, out); /* one tower: role unused */
    text_tokenizer *tk = embed__borrow(model);
    if (!tk) return SC_NOMEM;
    text_tokens tok = {0};
    embed_items items = {0};
    sc_status rc = SC_OK;
    uint32_t side = role == SC_EMBED_ROLE_CODE;
    for (size_t i = 0; i < n && rc == SC_OK; i++) {
        const char *t = texts[i] ? texts[i] : "";
        rc = text_tokenize(tk, t, strlen(t), model->cfg.max_tokens, &tok);
        if (rc == SC_OK && embed_items_from_tokens(&model->vocab, &model->cfg, &tok, &items)) rc = SC_NOMEM;
        if (rc == SC_OK) embed_items_saturate(&items, model->cfg.tf_power);
        if (rc == SC_OK) embed_model_pool(model, side, &items, out + i * model->cfg.dim);
    }
    text_tokens_free(&tok);
    free(items.v);
    embed__give_back(model, tk);
    return rc;
}

uint32_t sc_model_dim(const sc_model *model) { return model ? model->cfg.dim : 0; }
const char *sc_model_metadata(const sc_model *model) { return model && model->meta ? model->meta : "{}"; }
uint64_t sc_model_hash(const sc_model *model) { return model ? model->hash : 0; }

void sc_model_free(sc_model *model) {
    if (!model) return;
    sc_transformer_free(model->tf);
    for (int i = 0; i < EMBED_POOL; i++) text_tokenizer_free(model->pool[i]);
    for (int t = 0; t < 2; t++) {
        free(model->q[t]);
        free(model->scale[t]);
        free(model->weight[t]);
    }
    text_strmap_free(&model->vocab);
    free(model->meta);
    pthread_mutex_destroy(&model->mu);
    free(model);
}

/* ==== Writing ==== */

static void embed__put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void embed__put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t embed__get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t embed__get64(const unsigned char *p) {
    return (uint64_t)embed__get32(p) | (uint64_t)embed__get32(p + 4) << 32;
}
static float embed__getf(const unsigned char *p) {
    uint32_t u = embed__get32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static void embed__putf(unsigned char *p, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    embed__put32(p, u);
}

/* Byte sizes of the sections for cfg. */
static size_t embed__tower_size(const embed_config *c) {
    size_t rows = (size_t)c->n_vocab + c->n_buckets;
    return embed__pad8(rows * 8 + rows * c->dim);
}

/* Byte size of the query-side weights (SC_POOLING_SIDES only). */
static size_t embed__sides_size(const embed_config *c) {
    return c->pooling == SC_POOLING_SIDES ? embed__pad8(((size_t)c->n_vocab + c->n_buckets) * 4) : 0;
}

sc_status embed_model_write(const char *path, const embed_config *cfg, const text_strmap *vocab,
                            float *const *table, float *const *weight, const char *meta_json, sc_err *err) {
    size_t vocab_size = 0;
    for (uint32_t i = 0; i < cfg->n_vocab; i++) vocab_size += 1 + vocab->len[i];
    vocab_size = embed__pad8(vocab_size);
    size_t meta_size = meta_json ? strlen(meta_json) : 0;
    size_t rows = (size_t)cfg->n_vocab + cfg->n_buckets;
    size_t total = EMBED_HEADER_SIZE + vocab_size + cfg->n_towers * embed__tower_size(cfg) + embed__sides_size(cfg) +
                   embed__pad8(meta_size) + 8;
    int sides = cfg->pooling == SC_POOLING_SIDES;
    unsigned char *buf = calloc(1, total);
    if (!buf) return sc_err_set(err, SC_NOMEM, "out of memory writing model (%zu bytes)", total);
    memcpy(buf, EMBED__MAGIC, 4);
    embed__put32(buf + 4, EMBED_FORMAT_VERSION);
    embed__put32(buf + 8, EMBED_HEADER_SIZE);
    embed__put32(buf + 12, cfg->dim);
    embed__put32(buf + 16, cfg->n_vocab);
    embed__put32(buf + 20, cfg->n_buckets);
    buf[24] = (unsigned char)cfg->ngram_min;
    buf[25] = (unsigned char)cfg->ngram_max;
    buf[26] = (unsigned char)cfg->n_towers;
    buf[27] = (unsigned char)cfg->pooling;
    embed__put32(buf + 28, cfg->max_tokens);
    embed__put32(buf + 32, 1);
    embed__put32(buf + 36, (uint32_t)meta_size);
    embed__put64(buf + 40, vocab_size);
    embed__put64(buf + 48, total);
    embed__putf(buf + 56, cfg->tf_power);
    size_t o = EMBED_HEADER_SIZE;
    for (uint32_t i = 0; i < cfg->n_vocab; i++) {
        size_t l = vocab->len[i] > 255 ? 255 : vocab->len[i];
        buf[o++] = (unsigned char)l;
        memcpy(buf + o, vocab->str + vocab->off[i], l);
        o += l;
    }
    o = EMBED_HEADER_SIZE + vocab_size;
    for (uint32_t t = 0; t < cfg->n_towers; t++) {
        size_t o_scale = o, o_w = o + rows * 4, o_q = o + rows * 8;
        for (size_t r = 0; r < rows; r++) {
            const float *x = table[t] + r * cfg->dim;
            float mx = 0.0f;
            for (uint32_t d = 0; d < cfg->dim; d++) mx = fmaxf(mx, fabsf(x[d]));
            float s = mx > 0.0f ? mx / 127.0f : 1.0f;
            embed__putf(buf + o_scale + r * 4, s);
            embed__putf(buf + o_w + r * 4, weight[sides ? 1 : t][r]);
            for (uint32_t d = 0; d < cfg->dim; d++) {
                long v = lrintf(x[d] / s);
                if (v > 127) v = 127;
                if (v < -127) v = -127;
                buf[o_q + r * cfg->dim + d] = (unsigned char)(int8_t)v;
            }
        }
        o += embed__tower_size(cfg);
    }
    if (sides) {
        for (size_t r = 0; r < rows; r++) embed__putf(buf + o + r * 4, weight[0][r]);
        o += embed__sides_size(cfg);
    }
    if (meta_size) memcpy(buf + o, meta_json, meta_size);
    o += embed__pad8(meta_size);
    embed__put64(buf + o, util_hash64_v1(buf, o, EMBED__SEED));
    sc_status rc = SC_OK;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(buf, 1, total, f) != total || fclose(f) != 0) {
        rc = sc_err_set(err, SC_IOERR, "cannot write model %s: %s", tmp, strerror(errno));
    } else if (rename(tmp, path) != 0) {
        rc = sc_err_set(err, SC_IOERR, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    }
    free(buf);
    return rc;
}

/* ==== Loading ==== */

sc_status embed_model_parse(const void *data, size_t size, int verify_checksum, sc_model **out, sc_err *err) {
    const unsigned char *b = data;
    if (size < EMBED_HEADER_SIZE + 8)
        return sc_err_set(err, SC_CORRUPT, "model truncated at offset %zu: header needs %d bytes", size,
                          EMBED_HEADER_SIZE + 8);
    if (memcmp(b, EMBED__MAGIC, 4)) return sc_err_set(err, SC_CORRUPT, "not a semcode model: bad magic at offset 0");
    uint32_t version = embed__get32(b + 4);
    if (version != EMBED_FORMAT_VERSION && version != 1)
        return sc_err_set(err, version > EMBED_FORMAT_VERSION ? SC_UNSUPPORTED : SC_CORRUPT,
                          "model format version %u at offset 4 (this build reads %d)", version, EMBED_FORMAT_VERSION);
    embed_config c = {.dim = embed__get32(b + 12), .n_vocab = embed__get32(b + 16), .n_buckets = embed__get32(b + 20),
                      .ngram_min = b[24], .ngram_max = b[25], .n_towers = b[26], .pooling = b[27],
                      .max_tokens = embed__get32(b + 28), .tf_power = version >= 2 ? embed__getf(b + 56) : 1.0f};
    uint32_t meta_size = embed__get32(b + 36);
    uint64_t vocab_size = embed__get64(b + 40), file_size = embed__get64(b + 48);
    if (embed__get32(b + 8) != EMBED_HEADER_SIZE)
        return sc_err_set(err, SC_CORRUPT, "bad header size at offset 8");
    if (c.dim == 0 || c.dim > EMBED_MAX_DIM) return sc_err_set(err, SC_CORRUPT, "bad dimension %u at offset 12", c.dim);
    if (c.n_vocab > EMBED_MAX_ROWS || c.n_buckets > EMBED_MAX_ROWS || c.n_vocab + c.n_buckets == 0)
        return sc_err_set(err, SC_CORRUPT, "bad table size (%u tokens, %u buckets) at offset 16", c.n_vocab,
                          c.n_buckets);
    if (c.ngram_min < 1 || c.ngram_max < c.ngram_min || c.ngram_max > 8)
        return sc_err_set(err, SC_CORRUPT, "bad n-gram range %u..%u at offset 24", c.ngram_min, c.ngram_max);
    if (c.n_towers < 1 || c.n_towers > 2) return sc_err_set(err, SC_CORRUPT, "bad tower count %u at offset 26", c.n_towers);
    if (c.pooling > 2 || (c.pooling == SC_POOLING_SIDES && c.n_towers != 1))
        return sc_err_set(err, SC_CORRUPT, "bad pooling %u at offset 27", c.pooling);
    if (!(c.tf_power >= 0.0f && c.tf_power <= 1.0f))
        return sc_err_set(err, SC_CORRUPT, "bad tf power %g at offset 56 (0..1)", (double)c.tf_power);
    if (embed__get32(b + 60) != 0) return sc_err_set(err, SC_CORRUPT, "reserved bytes at offset 60 are not 0");
    if (embed__get32(b + 32) != 1) return sc_err_set(err, SC_UNSUPPORTED, "weight type %u at offset 32 (int8 = 1 only)",
                                                     embed__get32(b + 32));
    if (vocab_size > size || vocab_size % 8 || vocab_size < c.n_vocab * 2ull)
        return sc_err_set(err, SC_CORRUPT, "bad vocabulary size %llu at offset 40", (unsigned long long)vocab_size);
    uint64_t expect = EMBED_HEADER_SIZE + vocab_size + (uint64_t)c.n_towers * embed__tower_size(&c) +
                      embed__sides_size(&c) + embed__pad8(meta_size) + 8;
    if (file_size != expect)
        return sc_err_set(err, SC_CORRUPT, "file size field %llu at offset 48 disagrees with the sections (%llu)",
                          (unsigned long long)file_size, (unsigned long long)expect);
    if (size != file_size)
        return sc_err_set(err, SC_CORRUPT, "model truncated or padded: %zu bytes, header says %llu (offset %zu)", size,
                          (unsigned long long)file_size, size < file_size ? size : (size_t)file_size);
    size_t ck_off = size - 8;
    if (verify_checksum && util_hash64_v1(b, ck_off, EMBED__SEED) != embed__get64(b + ck_off))
        return sc_err_set(err, SC_CORRUPT, "model checksum mismatch at offset %zu", ck_off);

    sc_model *m = calloc(1, sizeof *m);
    if (!m) return sc_err_set(err, SC_NOMEM, "out of memory loading model");
    pthread_mutex_init(&m->mu, NULL);
    m->cfg = c;
    m->hash = embed__get64(b + ck_off);
    sc_status rc = SC_OK;
    size_t o = EMBED_HEADER_SIZE, vend = EMBED_HEADER_SIZE + vocab_size;
    for (uint32_t i = 0; i < c.n_vocab; i++) {
        if (o >= vend || b[o] == 0 || o + 1 + b[o] > vend) {
            rc = sc_err_set(err, SC_CORRUPT, "bad vocabulary entry %u at offset %zu", i, o);
            goto fail;
        }
        int added;
        if (text_strmap_add(&m->vocab, (const char *)b + o + 1, b[o], &added) == UINT32_MAX) {
            rc = sc_err_set(err, SC_NOMEM, "out of memory loading the vocabulary");
            goto fail;
        }
        if (!added) {
            rc = sc_err_set(err, SC_CORRUPT, "duplicate vocabulary token %u at offset %zu", i, o);
            goto fail;
        }
        o += 1 + b[o];
    }
    size_t rows = (size_t)c.n_vocab + c.n_buckets;
    o = vend;
    for (uint32_t t = 0; t < c.n_towers; t++) {
        m->scale[t] = malloc(rows * sizeof(float));
        m->weight[t] = malloc(rows * sizeof(float));
        m->q[t] = malloc(rows * c.dim);
        if (!m->scale[t] || !m->weight[t] || !m->q[t]) {
            rc = sc_err_set(err, SC_NOMEM, "out of memory loading the token table");
            goto fail;
        }
        for (size_t r = 0; r < rows; r++) {
            float s = embed__getf(b + o + r * 4), w = embed__getf(b + o + rows * 4 + r * 4);
            if (!isfinite(s) || !isfinite(w) || s < 0.0f || fabsf(w) > 1e6f) {
                rc = sc_err_set(err, SC_CORRUPT, "bad scale or weight of row %zu at offset %zu", r, o + r * 4);
                goto fail;
            }
            m->scale[t][r] = s;
            m->weight[t][r] = w;
        }
        memcpy(m->q[t], b + o + rows * 8, rows * c.dim);
        o += embed__tower_size(&c);
    }
    if (c.pooling == SC_POOLING_SIDES) { /* weight[1] = code side (the tower's), weight[0] = query side */
        m->weight[1] = m->weight[0];
        if (!(m->weight[0] = malloc(rows * sizeof(float)))) {
            rc = sc_err_set(err, SC_NOMEM, "out of memory loading the query weights");
            goto fail;
        }
        for (size_t r = 0; r < rows; r++) {
            float w = embed__getf(b + o + r * 4);
            if (!isfinite(w) || fabsf(w) > 1e6f) {
                rc = sc_err_set(err, SC_CORRUPT, "bad query weight of row %zu at offset %zu", r, o + r * 4);
                goto fail;
            }
            m->weight[0][r] = w;
        }
        o += embed__sides_size(&c);
    }
    m->meta = malloc((size_t)meta_size + 1);
    if (!m->meta) {
        rc = sc_err_set(err, SC_NOMEM, "out of memory loading metadata");
        goto fail;
    }
    memcpy(m->meta, b + o, meta_size);
    m->meta[meta_size] = 0;
    if (memchr(m->meta, 0, meta_size)) {
        rc = sc_err_set(err, SC_CORRUPT, "NUL byte in metadata at offset %zu", o);
        goto fail;
    }
    *out = m;
    return SC_OK;
fail:
    sc_model_free(m);
    return rc;
}

static void embed__errmsg(char **errmsg, const sc_err *e) {
    if (errmsg) *errmsg = util_strdup(e->msg);
}

sc_status sc_model_load_memory(const void *data, size_t size, sc_model **out, char **errmsg) {
    sc_err e = {0};
    if (errmsg) *errmsg = NULL;
    if (!out || (!data && size)) return util_errmsg_out(errmsg, SC_MISUSE, "sc_model_load_memory: NULL argument");
    sc_status rc = embed_model_parse(data, size, 1, out, &e);
    if (rc != SC_OK) embed__errmsg(errmsg, &e);
    return rc;
}

/* The shipped model relative to the folder of a file (the executable, or
** the shared library holding this code): owned path or NULL. */
static char *model__beside(const char *file) {
    char dir[PATH_MAX];
    if (!file || snprintf(dir, sizeof dir, "%s", file) >= (int)sizeof dir) return NULL;
    char *slash = strrchr(dir, '/');
    if (!slash) return NULL;
    *slash = '\0';
    static const char *const rel[] = {"/../share/semcode/builtin.scm", "/../models/builtin.scm"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char p[PATH_MAX + 64], real[PATH_MAX];
        struct stat sb;
        snprintf(p, sizeof p, "%s%s", dir, rel[i]);
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) return util_strdup(realpath(p, real) ? real : p);
    }
    return NULL;
}

char *sc_model_default_path(void) {
    const char *env = getenv("SEMCODE_MODEL");
    if (env && *env) return util_strdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *found = NULL;
    if (n > 0) {
        exe[n] = '\0';
        found = model__beside(exe);
    }
    /* a program linked with libsemcode.so: the model installed beside the library */
    Dl_info info;
    static const char anchor = 0; /* any object of this library: dladdr names the file holding it */
    if (!found && dladdr(&anchor, &info) && info.dli_fname && strchr(info.dli_fname, '/'))
        found = model__beside(info.dli_fname);
    return found;
}

sc_status sc_model_load(const char *path, sc_model **out, char **errmsg) {
    sc_err e = {0};
    if (errmsg) *errmsg = NULL;
    if (!path || !out) return util_errmsg_out(errmsg, SC_MISUSE, "sc_model_load: NULL argument");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return transformer_model_load(path, out, errmsg);
    FILE *f = fopen(path, "rb");
    if (!f) {
        sc_err_set(&e, SC_IOERR, "cannot open model %s: %s", path, strerror(errno));
        embed__errmsg(errmsg, &e);
        return SC_IOERR;
    }
    sc_status rc = SC_OK;
    unsigned char *buf = NULL;
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0) sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = sc_err_set(&e, SC_IOERR, "cannot size model %s", path);
    } else if (!(buf = malloc((size_t)sz + 1))) {
        rc = sc_err_set(&e, SC_NOMEM, "out of memory reading model %s (%ld bytes)", path, sz);
    } else if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        rc = sc_err_set(&e, SC_IOERR, "cannot read model %s", path);
    } else {
        rc = embed_model_parse(buf, (size_t)sz, 1, out, &e);
        if (rc != SC_OK) {
            char msg[sizeof e.msg];
            snprintf(msg, sizeof msg, "%s", e.msg);
            sc_err_set(&e, rc, "%s: %s", path, msg);
        }
    }
    fclose(f);
    free(buf);
    if (rc != SC_OK) embed__errmsg(errmsg, &e);
    return rc;
}
