/*
** embed: the built-in static embedding model (file format, inference,
** trainer, evaluation). Public entry points are in include/semcode/embed.h;
** this header is the interface between the files of the module.
*/
#ifndef SC_EMBED_H
#define SC_EMBED_H

#include <pthread.h>

#include "semcode/embed.h"
#include "text/text.h"
#include "util/util.h"

/* ==== Configuration shared by trainer and model ==== */

#define EMBED_FORMAT_VERSION 2 /* 2 adds tf_power; 1 is still read (plain counts) */
#define EMBED_HEADER_SIZE 64
#define EMBED_MAX_DIM 4096
#define EMBED_MAX_ROWS (1u << 23)

typedef struct embed_config {
    uint32_t dim;        /* vector dimension */
    uint32_t n_vocab;    /* vocabulary tokens (rows 0..n_vocab-1) */
    uint32_t n_buckets;  /* n-gram buckets (rows n_vocab..n_vocab+n_buckets-1) */
    uint32_t ngram_min;  /* shortest character n-gram of an unknown token */
    uint32_t ngram_max;  /* longest character n-gram */
    uint32_t n_towers;   /* 1 shared, 2 = query tower then code tower */
    uint32_t pooling;    /* sc_pooling the weights came from (informative) */
    uint32_t max_tokens; /* tokens kept per text */
    float tf_power;      /* a row met c > 1 times in a text counts c^tf_power (format 2; 1 = plain counts) */
} embed_config;

/* One weighted row of a text's bag: vector = sum coef * weight[row] * E[row]. */
typedef struct embed_item {
    uint32_t row;  /* row of the token table */
    float coef;    /* 1 per known token occurrence, 1/k per n-gram of an unknown one */
} embed_item;

/* Growable list of items. */
typedef struct embed_items {
    embed_item *v;  /* owned items */
    uint32_t n;     /* used */
    uint32_t cap;   /* allocated */
} embed_items;

/* Map a token stream to rows: known tokens to their vocabulary id, unknown
** ones to their character n-gram buckets ("<tok>", n in [ngram_min,
** ngram_max]). Replaces items' contents. -1 on allocation failure. */
int embed_items_from_tokens(const text_strmap *vocab, const embed_config *cfg, const text_tokens *tok,
                            embed_items *items);
/* Term-frequency saturation: merge equal rows, then a row whose coefficient
** c exceeds 1 (met c times) gets c^p. p = 1 leaves the items untouched. */
void embed_items_saturate(embed_items *items, float p);

/* ==== The model in memory ==== */

#define EMBED_POOL 8 /* tokenizers kept for concurrent sc_model_embed calls */

struct sc_model {
    embed_config cfg;            /* sizes and settings */
    text_strmap vocab;           /* token → row */
    int8_t *q[2];                /* per tower: quantized rows (n_rows * dim) */
    float *scale[2];             /* per tower: dequantization scale per row */
    float *weight[2];            /* pooling weight per row: per tower, or with SC_POOLING_SIDES
                                    (one tower) [0] the query side and [1] the code side */
    char *meta;                  /* NUL-terminated JSON metadata */
    uint64_t hash;               /* file checksum */
    pthread_mutex_t mu;          /* guards pool */
    text_tokenizer *pool[EMBED_POOL]; /* idle tokenizers (NULL = none) */
    struct sc_transformer *tf;   /* a Hugging Face model directory (transformer_model.c); the
                                    static-model fields above are then empty */
};

/* sc_model_load of a directory: wrap a transformer model (see
** include/semcode/transformer.h) in an sc_model. Same errors as
** sc_transformer_load. */
sc_status transformer_model_load(const char *dir, sc_model **out, char **errmsg);

/* Write a model file from float tables (one per tower, rows * dim) and
** weights; quantizes each row to int8 with scale max|x| / 127. */
sc_status embed_model_write(const char *path, const embed_config *cfg, const text_strmap *vocab,
                            float *const *table, float *const *weight, const char *meta_json, sc_err *err);
/* Parse a model image (copied). verify_checksum = 0 lets fuzzers reach the
** structural checks. */
sc_status embed_model_parse(const void *data, size_t size, int verify_checksum, sc_model **out, sc_err *err);
/* out[0..dim) += f * row[0..dim): scalar reference and AVX2 kernel. */
void embed_axpy_i8_scalar(float *out, const int8_t *row, float f, uint32_t dim);
void embed_axpy_i8_avx2(float *out, const int8_t *row, float f, uint32_t dim);
/* Embed one token stream into out[dim] (unit or zero) as a query (side 0)
** or as code (side 1): the side's tower and pooling weights. */
void embed_model_pool(const sc_model *m, uint32_t side, const embed_items *items, float *out);

#endif /* SC_EMBED_H */
