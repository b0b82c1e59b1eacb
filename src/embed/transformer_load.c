/*
** embed/transformer_load: loading a Hugging Face / sentence-transformers
** model directory into an sc_transformer.
**
** Files read, in order: config.json (architecture and sizes),
** sentence_bert_config.json (max_seq_length), modules.json and the pooling
** module's config.json (pooling mode, Normalize), model.safetensors (the
** weights, converted to f32 into one arena; Q, K and V stacked into one
** [3H, H] matrix per layer so one matrix product computes all three), the
** tokenizer (text/hftok). Tensor names are looked up with and without the
** "bert." / "roberta." prefix that task-specific checkpoints carry. Every
** tensor's shape is checked against config.json before it is copied.
*/
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cblas.h>
#include <jansson.h>

#include "embed/transformer_int.h"

/* ==== config.json and friends ==== */

static sc_status transformer__json_file(const char *dir, const char *name, bool required, json_t **out,
                                        sc_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *out = NULL;
    if (access(path, F_OK) != 0) {
        if (!required) return SC_OK;
        return sc_err_set(err, SC_NOTFOUND, "%s: missing (is %s a Hugging Face model directory?)", path, dir);
    }
    json_error_t jerr;
    *out = json_load_file(path, 0, &jerr);
    if (!*out) return sc_err_set(err, SC_CORRUPT, "%s: %s at line %d", path, jerr.text, jerr.line);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return sc_err_set(err, SC_CORRUPT, "%s: not a JSON object", path);
    }
    return SC_OK;
}

static sc_status transformer__uint(json_t *obj, const char *key, uint32_t def, uint32_t lo, uint32_t hi,
                                   const char *path, uint32_t *out, sc_err *err) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (def == UINT32_MAX) return sc_err_set(err, SC_CORRUPT, "%s: '%s' is missing", path, key);
        *out = def;
        return SC_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return sc_err_set(err, SC_CORRUPT, "%s: '%s' must be an integer in [%u, %u]", path, key, lo, hi);
    *out = (uint32_t)json_integer_value(v);
    return SC_OK;
}

static sc_status transformer__config(const char *dir, transformer_config *c, sc_err *err) {
    json_t *j;
    sc_status rc = transformer__json_file(dir, "config.json", true, &j, err);
    if (rc != SC_OK) return rc;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    const char *mt = json_string_value(json_object_get(j, "model_type"));
    if (!mt) {
        rc = sc_err_set(err, SC_CORRUPT, "%s: no model_type", path);
        goto done;
    }
    if (!strcmp(mt, "bert")) {
        c->arch = TRANSFORMER_ARCH_BERT;
    } else if (!strcmp(mt, "roberta") || !strcmp(mt, "xlm-roberta") || !strcmp(mt, "camembert")) {
        c->arch = TRANSFORMER_ARCH_ROBERTA;
    } else {
        rc = sc_err_set(err, SC_UNSUPPORTED,
                        "%s: model_type '%.40s' is not supported (bert and roberta families: bert, roberta, "
                        "xlm-roberta, camembert)",
                        path, mt);
        goto done;
    }
    const char *pet = json_string_value(json_object_get(j, "position_embedding_type"));
    if (pet && strcmp(pet, "absolute") != 0) {
        rc = sc_err_set(err, SC_UNSUPPORTED, "%s: position_embedding_type '%.40s' is not supported (absolute)", path, pet);
        goto done;
    }
    const char *act = json_string_value(json_object_get(j, "hidden_act"));
    if (!act || !strcmp(act, "gelu"))
        c->act = TRANSFORMER_ACT_GELU;
    else if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_fast"))
        c->act = TRANSFORMER_ACT_GELU_TANH;
    else if (!strcmp(act, "relu"))
        c->act = TRANSFORMER_ACT_RELU;
    else {
        rc = sc_err_set(err, SC_UNSUPPORTED, "%s: hidden_act '%.40s' is not supported (gelu, gelu_new, relu)", path, act);
        goto done;
    }
    if ((rc = transformer__uint(j, "hidden_size", UINT32_MAX, 1, 65536, path, &c->hidden, err)) ||
        (rc = transformer__uint(j, "num_hidden_layers", UINT32_MAX, 1, 1024, path, &c->n_layers, err)) ||
        (rc = transformer__uint(j, "num_attention_heads", UINT32_MAX, 1, 4096, path, &c->n_heads, err)) ||
        (rc = transformer__uint(j, "intermediate_size", UINT32_MAX, 1, 1 << 20, path, &c->intermediate, err)) ||
        (rc = transformer__uint(j, "vocab_size", UINT32_MAX, 1, 1 << 24, path, &c->vocab, err)) ||
        (rc = transformer__uint(j, "max_position_embeddings", 512, 1, 1 << 20, path, &c->max_pos, err)) ||
        (rc = transformer__uint(j, "type_vocab_size", 2, 0, 1 << 16, path, &c->type_vocab, err)) ||
        (rc = transformer__uint(j, "pad_token_id", c->arch == TRANSFORMER_ARCH_ROBERTA ? 1 : 0, 0, 1 << 24, path,
                                &c->pad_id, err)))
        goto done;
    if (c->hidden % c->n_heads) {
        rc = sc_err_set(err, SC_CORRUPT, "%s: hidden_size %u is not a multiple of num_attention_heads %u", path,
                        c->hidden, c->n_heads);
        goto done;
    }
    json_t *eps = json_object_get(j, "layer_norm_eps");
    c->ln_eps = json_is_number(eps) ? (float)json_number_value(eps) : 1e-12f;
    /* Positions a text may use: RoBERTa starts counting at pad_id + 1. */
    uint32_t usable = c->max_pos;
    if (c->arch == TRANSFORMER_ARCH_ROBERTA) usable = c->max_pos > c->pad_id + 1 ? c->max_pos - c->pad_id - 1 : 0;
    if (usable < 2) {
        rc = sc_err_set(err, SC_CORRUPT, "%s: max_position_embeddings %u leaves no room for a sequence", path,
                        c->max_pos);
        goto done;
    }
    c->max_seq = usable;
done:
    json_decref(j);
    return rc;
}

static sc_status transformer__st_config(const char *dir, transformer_config *c, sc_err *err) {
    json_t *j;
    sc_status rc = transformer__json_file(dir, "sentence_bert_config.json", false, &j, err);
    if (rc != SC_OK || !j) return rc;
    char path[4096];
    snprintf(path, sizeof path, "%s/sentence_bert_config.json", dir);
    uint32_t msl;
    rc = transformer__uint(j, "max_seq_length", c->max_seq, 1, 1 << 20, path, &msl, err);
    if (rc == SC_OK && msl < c->max_seq) c->max_seq = msl;
    json_t *lc = json_object_get(j, "do_lower_case");
    if (rc == SC_OK && json_is_true(lc))
        rc = sc_err_set(err, SC_UNSUPPORTED, "%s: do_lower_case true (lower-casing outside the tokenizer)", path);
    json_decref(j);
    return rc;
}

static sc_status transformer__pooling(const char *dir, const char *sub, transformer_config *c, sc_err *err) {
    char name[600];
    snprintf(name, sizeof name, "%s/config.json", sub);
    json_t *j;
    sc_status rc = transformer__json_file(dir, name, true, &j, err);
    if (rc != SC_OK) return rc;
    int n = 0;
    if (json_is_true(json_object_get(j, "pooling_mode_mean_tokens"))) c->pool = TRANSFORMER_POOL_MEAN, n++;
    if (json_is_true(json_object_get(j, "pooling_mode_cls_token"))) c->pool = TRANSFORMER_POOL_CLS, n++;
    if (json_is_true(json_object_get(j, "pooling_mode_lasttoken"))) c->pool = TRANSFORMER_POOL_LAST, n++;
    const char *bad[] = {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens"};
    for (size_t i = 0; i < 3; i++)
        if (json_is_true(json_object_get(j, bad[i]))) n = -100;
    if (n != 1)
        rc = sc_err_set(err, SC_UNSUPPORTED,
                        "%s/%s: pooling must be exactly one of mean, cls, lasttoken (max, mean_sqrt_len and "
                        "weightedmean are not supported)",
                        dir, name);
    json_decref(j);
    return rc;
}

static sc_status transformer__modules(const char *dir, transformer_config *c, sc_err *err) {
    json_t *j = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/modules.json", dir);
    c->pool = TRANSFORMER_POOL_MEAN;
    c->normalize = 0;
    if (access(path, F_OK) != 0) return SC_OK; /* a plain HF model: mean pooling like sentence-transformers */
    json_error_t jerr;
    j = json_load_file(path, 0, &jerr);
    if (!json_is_array(j)) {
        json_decref(j);
        return sc_err_set(err, SC_CORRUPT, "%s: not a JSON array", path);
    }
    sc_status rc = SC_OK;
    size_t i;
    json_t *m;
    json_array_foreach(j, i, m) {
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *sub = json_string_value(json_object_get(m, "path"));
        if (!type) {
            rc = sc_err_set(err, SC_CORRUPT, "%s: module %zu has no type", path, i);
            break;
        }
        const char *dot = strrchr(type, '.');
        const char *cls = dot ? dot + 1 : type;
        if (!strcmp(cls, "Transformer")) continue;
        if (!strcmp(cls, "Pooling")) {
            if (!sub || strstr(sub, "..")) {
                rc = sc_err_set(err, SC_CORRUPT, "%s: module %zu (Pooling) has no usable path", path, i);
                break;
            }
            rc = transformer__pooling(dir, sub, c, err);
            if (rc != SC_OK) break;
        } else if (!strcmp(cls, "Normalize")) {
            c->normalize = 1;
        } else {
            rc = sc_err_set(err, SC_UNSUPPORTED, "%s: module type '%.80s' is not supported (Transformer, Pooling, Normalize)",
                            path, type);
            break;
        }
    }
    json_decref(j);
    return rc;
}

/* ==== Weights ==== */

typedef struct transformer_loader {
    const transformer_st *st; /* parsed safetensors */
    const char *path;         /* its path, for messages */
    const char *prefix;       /* "", "bert." or "roberta." */
    sc_err *err;              /* where failures go */
} transformer_loader;

/* Copy tensor name (rows x cols; cols 0 = a vector of rows) to dst as f32. */
static sc_status transformer__tensor(transformer_loader *ld, const char *name, uint64_t rows, uint64_t cols,
                                     float *dst) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    const transformer_st_tensor *t = transformer_st_find(ld->st, full);
    if (!t) return sc_err_set(ld->err, SC_INVALID, "%s: tensor '%s' is missing", ld->path, full);
    bool ok = cols ? (t->n_dims == 2 && t->shape[0] == rows && t->shape[1] == cols)
                   : (t->n_dims == 1 && t->shape[0] == rows);
    if (!ok) {
        char got[128] = "", want[64];
        size_t o = 0;
        for (uint32_t i = 0; i < t->n_dims && o < sizeof got - 24; i++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%llu", i ? ", " : "", (unsigned long long)t->shape[i]);
        if (cols)
            snprintf(want, sizeof want, "%llu, %llu", (unsigned long long)rows, (unsigned long long)cols);
        else
            snprintf(want, sizeof want, "%llu", (unsigned long long)rows);
        return sc_err_set(ld->err, SC_INVALID, "%s: tensor '%s' has shape [%s], config.json implies [%s]", ld->path,
                          full, got, want);
    }
    return transformer_st_to_f32(ld->st, t, dst, ld->path, ld->err);
}

static sc_status transformer__weights(sc_transformer *m, const transformer_st *st, const char *path, sc_err *err) {
    const transformer_config *c = &m->cfg;
    uint64_t H = c->hidden, F = c->intermediate, V = c->vocab, P = c->max_pos, T = c->type_vocab;
    transformer_loader ld = {st, path, "", err};
    static const char *const prefixes[] = {"", "bert.", "roberta.", "model."};
    bool found = false;
    for (size_t i = 0; i < 4 && !found; i++) {
        char n[64];
        snprintf(n, sizeof n, "%sembeddings.word_embeddings.weight", prefixes[i]);
        if (transformer_st_find(st, n)) ld.prefix = prefixes[i], found = true;
    }
    if (!found)
        return sc_err_set(err, SC_INVALID, "%s: tensor 'embeddings.word_embeddings.weight' is missing (not a %s checkpoint?)",
                          path, c->arch == TRANSFORMER_ARCH_BERT ? "BERT" : "RoBERTa");
    uint64_t per_layer = 3 * H * H + 3 * H + H * H + H + 2 * H + F * H + F + H * F + H + 2 * H;
    uint64_t total = V * H + P * H + T * H + 2 * H + per_layer * c->n_layers;
    if (total > (uint64_t)SIZE_MAX / 4 / 2)
        return sc_err_set(err, SC_NOMEM, "%s: %llu parameters do not fit in memory", path, (unsigned long long)total);
    m->arena = malloc((size_t)total * sizeof(float));
    m->layers = calloc(c->n_layers, sizeof *m->layers);
    if (!m->arena || !m->layers)
        return sc_err_set(err, SC_NOMEM, "%s: out of memory for %llu parameters", path, (unsigned long long)total);
    float *p = m->arena;
#define TAKE(dst, count) (dst = p, p += (count))
    TAKE(m->word_emb, V * H);
    TAKE(m->pos_emb, P * H);
    if (T) TAKE(m->type_emb, T * H);
    TAKE(m->emb_ln_g, H);
    TAKE(m->emb_ln_b, H);
    sc_status rc;
    if ((rc = transformer__tensor(&ld, "embeddings.word_embeddings.weight", V, H, m->word_emb)) ||
        (rc = transformer__tensor(&ld, "embeddings.position_embeddings.weight", P, H, m->pos_emb)) ||
        (T && (rc = transformer__tensor(&ld, "embeddings.token_type_embeddings.weight", T, H, m->type_emb))) ||
        (rc = transformer__tensor(&ld, "embeddings.LayerNorm.weight", H, 0, m->emb_ln_g)) ||
        (rc = transformer__tensor(&ld, "embeddings.LayerNorm.bias", H, 0, m->emb_ln_b)))
        return rc;
    for (uint32_t l = 0; l < c->n_layers; l++) {
        transformer_layer *L = &m->layers[l];
        TAKE(L->w_qkv, 3 * H * H);
        TAKE(L->b_qkv, 3 * H);
        TAKE(L->w_o, H * H);
        TAKE(L->b_o, H);
        TAKE(L->ln1_g, H);
        TAKE(L->ln1_b, H);
        TAKE(L->w_i, F * H);
        TAKE(L->b_i, F);
        TAKE(L->w_out, H * F);
        TAKE(L->b_out, H);
        TAKE(L->ln2_g, H);
        TAKE(L->ln2_b, H);
        static const char *const qkv[3] = {"query", "key", "value"};
        char n[160];
        for (int k = 0; k < 3; k++) {
            snprintf(n, sizeof n, "encoder.layer.%u.attention.self.%s.weight", l, qkv[k]);
            if ((rc = transformer__tensor(&ld, n, H, H, L->w_qkv + (uint64_t)k * H * H))) return rc;
            snprintf(n, sizeof n, "encoder.layer.%u.attention.self.%s.bias", l, qkv[k]);
            if ((rc = transformer__tensor(&ld, n, H, 0, L->b_qkv + (uint64_t)k * H))) return rc;
        }
        static const struct {
            const char *fmt; /* name pattern */
            int rows_i;      /* rows = F instead of H */
            int cols;        /* 0 vector, 1 H columns, 2 F columns */
            size_t field;    /* offset of the destination pointer in transformer_layer */
        } tab[] = {
            {"encoder.layer.%u.attention.output.dense.weight", 0, 1, offsetof(transformer_layer, w_o)},
            {"encoder.layer.%u.attention.output.dense.bias", 0, 0, offsetof(transformer_layer, b_o)},
            {"encoder.layer.%u.attention.output.LayerNorm.weight", 0, 0, offsetof(transformer_layer, ln1_g)},
            {"encoder.layer.%u.attention.output.LayerNorm.bias", 0, 0, offsetof(transformer_layer, ln1_b)},
            {"encoder.layer.%u.intermediate.dense.weight", 1, 1, offsetof(transformer_layer, w_i)},
            {"encoder.layer.%u.intermediate.dense.bias", 1, 0, offsetof(transformer_layer, b_i)},
            {"encoder.layer.%u.output.dense.weight", 0, 2, offsetof(transformer_layer, w_out)},
            {"encoder.layer.%u.output.dense.bias", 0, 0, offsetof(transformer_layer, b_out)},
            {"encoder.layer.%u.output.LayerNorm.weight", 0, 0, offsetof(transformer_layer, ln2_g)},
            {"encoder.layer.%u.output.LayerNorm.bias", 0, 0, offsetof(transformer_layer, ln2_b)},
        };
        for (size_t k = 0; k < sizeof tab / sizeof tab[0]; k++) {
            snprintf(n, sizeof n, tab[k].fmt, l);
            float *dst;
            memcpy(&dst, (char *)L + tab[k].field, sizeof dst);
            uint64_t cols = tab[k].cols == 0 ? 0 : tab[k].cols == 1 ? H : F;
            if ((rc = transformer__tensor(&ld, n, tab[k].rows_i ? F : H, cols, dst))) return rc;
        }
    }
#undef TAKE
    return SC_OK;
}

static sc_status transformer__safetensors(sc_transformer *m, const char *dir, sc_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        char alt[4096];
        snprintf(alt, sizeof alt, "%s/pytorch_model.bin", dir);
        if (errno == ENOENT && access(alt, F_OK) == 0)
            return sc_err_set(err, SC_UNSUPPORTED,
                              "%s: missing; only pytorch_model.bin is there, which semcode does not read (convert it "
                              "to safetensors)",
                              path);
        return sc_err_set(err, errno == ENOENT ? SC_NOTFOUND : SC_IOERR, "%s: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return sc_err_set(err, SC_IOERR, "%s: not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    if (size == 0) {
        close(fd);
        return sc_err_set(err, SC_CORRUPT, "%s: empty file", path);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return sc_err_set(err, SC_IOERR, "%s: mmap: %s", path, strerror(errno));
    m->hash = util_hash64_v1(map, size, m->hash);
    transformer_st st;
    sc_status rc = transformer_st_parse(map, size, path, &st, err);
    if (rc == SC_OK) {
        rc = transformer__weights(m, &st, path, err);
        transformer_st_free(&st);
    }
    munmap(map, size);
    return rc;
}

/* ==== Public entry points ==== */

sc_transformer_options sc_transformer_options_default(void) {
    sc_transformer_options o = {0, 32, 0};
    return o;
}

sc_status sc_transformer_load(const char *dir, const sc_transformer_options *opt, sc_transformer **out,
                              char **errmsg) {
    sc_err err;
    sc_err_clear(&err);
    if (errmsg) *errmsg = NULL;
    if (!dir || !out) return util_errmsg_out(errmsg, SC_MISUSE, "sc_transformer_load: NULL argument");
    sc_transformer *m = calloc(1, sizeof *m);
    if (!m) return util_errmsg_out(errmsg, SC_NOMEM, "out of memory loading a transformer");
    m->opt = opt ? *opt : sc_transformer_options_default();
    if (m->opt.threads == 0) m->opt.threads = util_n_cores();
    if (m->opt.batch_size == 0) m->opt.batch_size = 32;
    char cpath[4096];
    snprintf(cpath, sizeof cpath, "%s/config.json", dir);
    json_t *cj = json_load_file(cpath, 0, NULL);
    char *ctext = cj ? json_dumps(cj, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    m->hash = ctext ? util_hash64_v1(ctext, strlen(ctext), 0x7f4a) : 0x7f4a;
    free(ctext);
    json_decref(cj);
    sc_status rc = transformer__config(dir, &m->cfg, &err);
    if (rc == SC_OK) rc = transformer__st_config(dir, &m->cfg, &err);
    if (rc == SC_OK) rc = transformer__modules(dir, &m->cfg, &err);
    if (rc == SC_OK) rc = transformer__safetensors(m, dir, &err);
    if (rc == SC_OK) rc = text_hftok_load_dir(dir, &m->tok, &err);
    if (rc == SC_OK && text_hftok_vocab_size(m->tok) > m->cfg.vocab)
        rc = sc_err_set(&err, SC_INVALID, "%s: the tokenizer has %u tokens but config.json vocab_size is %u", dir,
                        text_hftok_vocab_size(m->tok), m->cfg.vocab);
    if (rc == SC_OK && m->cfg.arch == TRANSFORMER_ARCH_ROBERTA && m->cfg.pad_id >= m->cfg.max_pos)
        rc = sc_err_set(&err, SC_CORRUPT, "%s/config.json: pad_token_id %u beyond max_position_embeddings", dir,
                        m->cfg.pad_id);
    if (rc != SC_OK) {
        util_errmsg_out(errmsg, err.code, err.msg);
        sc_transformer_free(m);
        return rc;
    }
    if (m->opt.max_seq_length && m->opt.max_seq_length < m->cfg.max_seq) m->cfg.max_seq = m->opt.max_seq_length;
    if (m->cfg.max_seq < 2) m->cfg.max_seq = 2;
    static const char *const pools[] = {"mean", "cls", "last-token"};
    snprintf(m->describe, sizeof m->describe, "%s: %u layers, hidden %u, %u heads, FFN %u, %s tokenizer, %s pooling%s, max %u tokens",
             m->cfg.arch == TRANSFORMER_ARCH_BERT ? "bert" : "roberta", m->cfg.n_layers, m->cfg.hidden,
             m->cfg.n_heads, m->cfg.intermediate, text_hftok_kind(m->tok), pools[m->cfg.pool],
             m->cfg.normalize ? ", normalized" : "", m->cfg.max_seq);
    /* Our own threads split the work; OpenBLAS must not add its own on top. */
    openblas_set_num_threads(1);
    *out = m;
    return SC_OK;
}

void sc_transformer_free(sc_transformer *m) {
    if (!m) return;
    free(m->arena);
    free(m->layers);
    text_hftok_free(m->tok);
    free(m);
}

uint32_t sc_transformer_dim(const sc_transformer *m) { return m ? m->cfg.hidden : 0; }

uint64_t sc_transformer_hash(const sc_transformer *m) { return m ? m->hash : 0; }

uint32_t sc_transformer_max_seq_length(const sc_transformer *m) { return m ? m->cfg.max_seq : 0; }

const char *sc_transformer_describe(const sc_transformer *m) { return m ? m->describe : ""; }

/* The message of the calling thread's last failed transformer call. A
** model is shared by threads (transformer.h), so, as with sc_db_errmsg, the
** message is kept per thread rather than on the handle: one thread's
** failure never overwrites the message another is reading. */
static _Thread_local char transformer__errmsg[512];

sc_status transformer_fail(sc_status rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(transformer__errmsg, sizeof transformer__errmsg, fmt, ap);
    va_end(ap);
    return rc;
}

const char *sc_transformer_errmsg(const sc_transformer *m) {
    (void)m;
    return transformer__errmsg;
}
