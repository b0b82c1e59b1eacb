/*
** semcode public API: the built-in static code-embedding model.
**
** A model file (models/builtin.scm, format in docs/FILE_FORMATS.md) holds a
** vocabulary of code-aware tokens, hashed character n-gram buckets for
** unknown tokens, one or two towers of int8 token vectors with per-token
** pooling weights, and its training metadata. sc_model_embed tokenizes each
** text (src/text), pools the token vectors by weight and L2-normalises, so
** cosine similarity is a dot product of the outputs.
**
** Also here: the trainer (`semcode train`) and the CodeSearchNet-style
** evaluation (`semcode eval`), which the CLI calls.
**
** Thread safety: a loaded sc_model is immutable; sc_model_embed may be
** called from any number of threads at once (each call borrows one of the
** model's tokenizers under a mutex). sc_model_train, sc_eval_pairs and
** sc_eval_cosqa are ordinary blocking calls that use their own threads.
*/
#ifndef SEMCODE_EMBED_H
#define SEMCODE_EMBED_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Model ==== */

typedef struct sc_model sc_model;

/* Which side of the search a text is on: models with two towers embed the
** sides differently, a one-tower model ignores it. Used by sc_model_embed
** and by every embedder (provider.h). */
typedef enum sc_embed_role {
    SC_EMBED_ROLE_QUERY = 0, /* natural-language query or doc comment */
    SC_EMBED_ROLE_CODE = 1,  /* prepared code text (name, signature, body head) */
} sc_embed_role;

/* Load a model file. On failure returns SC_IOERR / SC_CORRUPT (message names
** the byte offset) / SC_NOMEM / SC_UNSUPPORTED (newer format version) and,
** when errmsg is not NULL, stores a message freed with sc_free. */
SC_API sc_status sc_model_load(const char *path, sc_model **out, char **errmsg);
/* Where the shipped built-in model is: $SEMCODE_MODEL when set (as given,
** even if missing, so the error names it), else the first existing of
** DIR/../share/semcode/builtin.scm (an installed semcode: `make install`)
** and DIR/../models/builtin.scm (a build tree: build/semcode), where DIR is
** the folder of the running executable, then that of libsemcode.so for a
** program linked with it (PREFIX/lib). No path of the build is compiled in.
** Owned string (sc_free); NULL when none is found. */
SC_API char *sc_model_default_path(void);
/* Same from bytes in memory (copied; data may be freed after the call). */
SC_API sc_status sc_model_load_memory(const void *data, size_t size, sc_model **out, char **errmsg);
/* Free a model; NULL is a no-op. */
SC_API void sc_model_free(sc_model *model);
/* Output dimension. */
SC_API uint32_t sc_model_dim(const sc_model *model);
/* Training metadata and evaluation scores as JSON (borrowed, lives as long as
** the model). */
SC_API const char *sc_model_metadata(const sc_model *model);
/* 64-bit checksum of the model file (for embedding-cache keys). */
SC_API uint64_t sc_model_hash(const sc_model *model);
/* Embed n NUL-terminated texts into out[n * dim] (caller-owned): unit
** vectors, or all zeros for a text without any known token. SC_NOMEM on
** allocation failure, SC_MISUSE on NULL arguments. */
SC_API sc_status sc_model_embed(sc_model *model, sc_embed_role role, const char *const *texts, size_t n,
                                float *out);

/* ==== Training ==== */

typedef enum sc_pooling {
    SC_POOLING_IDF = 0,     /* weight of a token = its inverse document frequency (fixed) */
    SC_POOLING_LEARNED = 1, /* weight of a token learned with the vectors (initialised to idf) */
    SC_POOLING_SIDES = 2,   /* learned, one weight vector for queries and one for code over the
                               shared token table (one tower only; files older readers reject) */
} sc_pooling;

/* Trainer settings; start from sc_train_options_default(). */
typedef struct sc_train_options {
    const char *pairs_path;  /* JSON Lines {doc, code, language, ...} training pairs */
    const char *out_path;    /* model file to write */
    uint32_t dim;            /* vector dimension */
    uint32_t epochs;         /* passes over the pairs */
    uint32_t batch;          /* pairs per batch (in-batch negatives = batch - 1) */
    float lr;                /* Adam learning rate */
    float temperature;       /* InfoNCE temperature */
    uint64_t seed;           /* initialisation and shuffling */
    uint32_t threads;        /* worker threads (0 = all cores) */
    uint32_t vocab_max;      /* vocabulary size cap */
    uint32_t min_count;      /* minimum token frequency for the vocabulary */
    uint32_t n_buckets;      /* hashed character n-gram buckets for unknown tokens */
    uint32_t max_tokens;     /* tokens kept per text */
    sc_pooling pooling;      /* pooling weights */
    uint32_t towers;         /* 1 = shared query/code tower, 2 = separate */
    uint64_t max_pairs;      /* use at most this many pairs (0 = all) */
    const char *meta_json;   /* extra JSON object stored as metadata "extra" (NULL = none) */
    const char *eval_path;   /* held-out pairs: evaluated after training, scores stored in the metadata (NULL = none) */
    int verbose;             /* progress lines on stderr */
    uint32_t batching;       /* 0 = batches of random pairs, 1 = each batch from one language */
    uint32_t local;          /* language batching: chunks of this many pairs of one directory (0/1 = random) */
    uint32_t upsample;       /* language batching: languages with fewer pairs are visited floor(upsample/n) (≤ 4) times per epoch */
    uint32_t mine;           /* language batching with local > 1: from the second epoch, chunks hold pairs whose code
                                vectors under the current model share the signs on `mine` (≤ 32) random hyperplanes
                                (model-mined hard negatives) instead of one directory (0 = by directory) */
    uint32_t one_way;        /* 1 = doc→code cross-entropy only, 0 = symmetric */
    float dropout;           /* probability of dropping each token occurrence while training (0 = none) */
    float weight_lr;         /* learning-rate multiplier of the pooling weights (0 = 1) */
    float tf_power;          /* a row met c > 1 times in one text counts c^tf_power (1 = c, 0 = once); 0..1 */
} sc_train_options;

/* Defaults: dim 256, 5 epochs, batch 512, lr 0.003, temperature 0.05, ... */
SC_API sc_train_options sc_train_options_default(void);
/* Train a model from opt->pairs_path and write opt->out_path. Deterministic
** for a given seed and thread count. Errors as sc_model_load. */
SC_API sc_status sc_model_train(const sc_train_options *opt, char **errmsg);

/* ==== Evaluation ==== */

/* Scores of one method on one language. */
typedef struct sc_eval_scores {
    double mrr;      /* mean reciprocal rank */
    double r1;       /* recall at 1 */
    double r10;      /* recall at 10 */
    double ndcg10;   /* NDCG at 10 (one relevant item) */
} sc_eval_scores;

/* Result for one language (or "all" as the last row). */
typedef struct sc_eval_row {
    char language[24];     /* language name */
    uint32_t n_queries;    /* queries evaluated */
    uint32_t pool;         /* candidates per query (1 + distractors) */
    sc_eval_scores bm25;   /* BM25 on code tokens (k1 1.2, b 0.75) */
    sc_eval_scores model;  /* the model alone */
    sc_eval_scores hybrid; /* reciprocal-rank fusion of both */
} sc_eval_row;

/* Evaluation settings; start from sc_eval_options_default(). */
typedef struct sc_eval_options {
    uint32_t pool;         /* candidates per query in the CodeSearchNet protocol (1000) */
    uint32_t max_queries;  /* per language, 0 = all */
    float rrf_k;           /* reciprocal-rank fusion constant (60) */
    float w_bm25;          /* weight of the BM25 ranking in the fusion (1) */
    float w_model;         /* weight of the model ranking in the fusion (1) */
    uint32_t half;         /* queries asked: 0 all, 1 the dev half, 2 the test half of the held-out
                           ** units (split by a hash of each pair's directory; distractors unchanged) */
} sc_eval_options;

/* Defaults: pool 1000, all queries, RRF k 60, weights 1 and 1. */
SC_API sc_eval_options sc_eval_options_default(void);

/* CodeSearchNet protocol over a JSON Lines pairs file: per language, pairs
** in file order are cut into pools of opt->pool; each doc ranks the codes
** of its pool (a language with fewer pairs uses them all). Writes up to
** max_rows rows (the last one "mean" = average over languages) and their
** count to *n_rows. model may be NULL (BM25 only); opt NULL = defaults. */
SC_API sc_status sc_eval_pairs(sc_model *model, const char *pairs_path, const sc_eval_options *opt,
                               sc_eval_row *rows, uint32_t max_rows, uint32_t *n_rows, char **errmsg);
/* CoSQA protocol: queries file (JSON list of {doc, retrieval_idx}) ranked
** against the corpus map (JSON object code → index). One row "cosqa". */
SC_API sc_status sc_eval_cosqa(sc_model *model, const char *queries_path, const char *corpus_path,
                               const sc_eval_options *opt, sc_eval_row *row, char **errmsg);

#ifdef __cplusplus
}
#endif

#endif /* SEMCODE_EMBED_H */
