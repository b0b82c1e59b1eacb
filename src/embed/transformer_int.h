/*
** embed/transformer: private structures of the transformer engine.
**
** Files: transformer_safetensors.c (safetensors parser, dtype conversion),
** transformer_load.c (model directory: config, pooling, weights),
** transformer_forward.c (encoder forward pass, batching, pooling, public
** embed calls). Only src/embed/transformer_*.c and tests include this.
*/
#ifndef SC_TRANSFORMER_INT_H
#define SC_TRANSFORMER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "semcode/transformer.h"
#include "text/hftok.h"
#include "util/util.h"

/* ==== safetensors ==== */

#define TRANSFORMER_ST_MAX_DIMS 8

typedef enum transformer_dtype {
    TRANSFORMER_DTYPE_F32 = 0,  /* IEEE binary32 */
    TRANSFORMER_DTYPE_F16 = 1,  /* IEEE binary16 */
    TRANSFORMER_DTYPE_BF16 = 2, /* bfloat16 (top half of binary32) */
    TRANSFORMER_DTYPE_OTHER = 3 /* anything else (I64, F64, BOOL…): listed, not readable */
} transformer_dtype;

/* One tensor of a safetensors file, located inside its data section. */
typedef struct transformer_st_tensor {
    char *name;                              /* owned tensor name */
    char dtype_name[16];                     /* dtype as written ("F32") */
    transformer_dtype dtype;                 /* decoded dtype */
    uint32_t n_dims;                         /* rank */
    uint64_t shape[TRANSFORMER_ST_MAX_DIMS]; /* dims */
    uint64_t n_elems;                        /* product of dims */
    uint64_t begin;                          /* first byte in the data section */
    uint64_t end;                            /* one past the last byte */
} transformer_st_tensor;

/* A parsed safetensors file; data points into the caller's buffer. */
typedef struct transformer_st {
    transformer_st_tensor *tensors; /* owned array, in header order */
    size_t n_tensors;               /* entries in tensors */
    const uint8_t *data;            /* start of the data section (borrowed) */
    uint64_t data_size;             /* bytes in the data section */
} transformer_st;

/* Parse the safetensors bytes buf[size] (path only names the file in
** messages). Every offset and shape is checked against size. SC_CORRUPT on
** any inconsistency, SC_NOMEM. out->data borrows buf. */
sc_status transformer_st_parse(const uint8_t *buf, size_t size, const char *path, transformer_st *out,
                               sc_err *err);
/* Release what transformer_st_parse allocated; NULL-safe, idempotent. */
void transformer_st_free(transformer_st *st);
/* The tensor called name, or NULL. */
const transformer_st_tensor *transformer_st_find(const transformer_st *st, const char *name);
/* Convert tensor t to f32 into dst[t->n_elems]. SC_INVALID if its dtype
** is not F32, F16 or BF16. */
sc_status transformer_st_to_f32(const transformer_st *st, const transformer_st_tensor *t, float *dst,
                                const char *path, sc_err *err);

/* ==== Model ==== */

typedef enum transformer_arch {
    TRANSFORMER_ARCH_BERT = 0,    /* BERT, MiniLM, BGE, E5, GTE */
    TRANSFORMER_ARCH_ROBERTA = 1, /* RoBERTa, CodeBERT, UniXcoder: positions offset by padding_idx + 1 */
} transformer_arch;

typedef enum transformer_pool {
    TRANSFORMER_POOL_MEAN = 0, /* mean of the token states */
    TRANSFORMER_POOL_CLS = 1,  /* first token's state */
    TRANSFORMER_POOL_LAST = 2, /* last token's state */
} transformer_pool;

typedef enum transformer_act {
    TRANSFORMER_ACT_GELU = 0,      /* 0.5 x (1 + erf(x / sqrt 2)) */
    TRANSFORMER_ACT_GELU_TANH = 1, /* tanh approximation (gelu_new, gelu_pytorch_tanh) */
    TRANSFORMER_ACT_RELU = 2,      /* max(0, x) */
} transformer_act;

/* Weights of one encoder layer (all f32, Linear weights [out, in]). */
typedef struct transformer_layer {
    float *w_qkv;  /* [3H, H]: query, key, value weights stacked */
    float *b_qkv;  /* [3H] */
    float *w_o;    /* [H, H] attention output */
    float *b_o;    /* [H] */
    float *ln1_g;  /* [H] attention layer norm gain */
    float *ln1_b;  /* [H] attention layer norm bias */
    float *w_i;    /* [I, H] intermediate */
    float *b_i;    /* [I] */
    float *w_out;  /* [H, I] output */
    float *b_out;  /* [H] */
    float *ln2_g;  /* [H] output layer norm gain */
    float *ln2_b;  /* [H] output layer norm bias */
} transformer_layer;

/* Hyper-parameters from config.json and the sentence-transformers files. */
typedef struct transformer_config {
    transformer_arch arch;   /* encoder family */
    transformer_act act;     /* hidden_act */
    transformer_pool pool;   /* pooling mode */
    int normalize;           /* L2-normalise the pooled vector */
    uint32_t hidden;         /* hidden_size H */
    uint32_t n_layers;       /* num_hidden_layers */
    uint32_t n_heads;        /* num_attention_heads */
    uint32_t intermediate;   /* intermediate_size I */
    uint32_t vocab;          /* vocab_size */
    uint32_t max_pos;        /* max_position_embeddings */
    uint32_t type_vocab;     /* type_vocab_size (0 = no token-type table) */
    uint32_t pad_id;         /* pad_token_id (RoBERTa's padding_idx) */
    uint32_t max_seq;        /* tokens per text, special tokens included */
    float ln_eps;            /* layer_norm_eps */
} transformer_config;

struct sc_transformer {
    transformer_config cfg;     /* hyper-parameters */
    transformer_layer *layers;  /* cfg.n_layers layers */
    float *word_emb;            /* [vocab, H] */
    float *pos_emb;             /* [max_pos, H] */
    float *type_emb;            /* [type_vocab, H] (row 0 used) or NULL */
    float *emb_ln_g;            /* [H] embedding layer norm gain */
    float *emb_ln_b;            /* [H] embedding layer norm bias */
    float *arena;               /* one allocation holding every tensor above */
    text_hftok *tok;            /* tokenizer */
    sc_transformer_options opt; /* options given at load (resolved) */
    char describe[160];         /* sc_transformer_describe text */
    uint64_t hash;              /* hash of model.safetensors and config.json bytes */
};

/* ==== Element-wise kernels (scalar reference and AVX2 + FMA) ==== */

/* x[i] = 0.5 x (1 + erf(x / sqrt 2)), in place. */
void transformer_gelu_scalar(float *x, size_t n);
void transformer_gelu_avx2(float *x, size_t n);
/* Softmax of row[n] in place (n >= 1). */
void transformer_softmax_scalar(float *row, uint32_t n);
void transformer_softmax_avx2(float *row, uint32_t n);
/* True when the AVX2 kernels are used: the CPU has AVX2 and FMA and
** SEMCODE_ISA is not "scalar". Decided once per process. */
int transformer_use_avx2(void);

/* Run the encoder on n_seq packed sequences: ids holds the tokens of
** sequence s at ids[off[s] .. off[s] + len[s]); the pooled (and, if the
** model says so, normalised) vectors go to out[n_seq * H]. Uses nth
** threads. SC_NOMEM on allocation failure. */
sc_status transformer_forward(const sc_transformer *m, const int32_t *ids, const uint32_t *off,
                              const uint32_t *len, uint32_t n_seq, float *out, uint32_t nth,
                              sc_err *err);

/* Record the calling thread's transformer failure message (printf format),
** what sc_transformer_errmsg returns on this thread from now on. Returns rc. */
sc_status transformer_fail(sc_status rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* SC_TRANSFORMER_INT_H */
