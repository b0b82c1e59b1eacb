/*
** semcode public API: transformer embedding models brought by the user.
**
** A model is a directory as Hugging Face / sentence-transformers publish
** it (config.json, model.safetensors, tokenizer.json or vocab.txt /
** vocab.json + merges.txt, optionally modules.json, 1_Pooling/config.json,
** sentence_bert_config.json). BERT-family (all-MiniLM, BGE, E5, GTE) and
** RoBERTa-family (CodeBERT, UniXcoder) encoders run on the CPU in semcode
** itself: f32 inference with matrix products in OpenBLAS.
**
** sc_transformer_embed tokenizes each text, truncates it to the model's
** max_seq_length, runs the encoder on batches of similar lengths, pools
** (mean, CLS or last token, as 1_Pooling/config.json says) and
** L2-normalises when modules.json has a Normalize module.
**
** Thread safety: a loaded sc_transformer is immutable; sc_transformer_embed
** may be called from several threads at once (each call uses its own
** scratch memory and its own worker threads). Since threads share a model,
** sc_transformer_errmsg returns the calling thread's message, like
** sc_db_errmsg (common.h, "Errors").
*/
#ifndef SEMCODE_TRANSFORMER_H
#define SEMCODE_TRANSFORMER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_transformer sc_transformer;

/* Settings of a loaded model; start from sc_transformer_options_default(). */
typedef struct sc_transformer_options {
    uint32_t threads;        /* worker threads per embed call (0 = all cores) */
    uint32_t batch_size;     /* sequences per forward batch (default 32) */
    uint32_t max_seq_length; /* tokens per text incl. special tokens (0 = the model's) */
} sc_transformer_options;

/* Default options: all cores, batch 32, the model's own max_seq_length. */
SC_API sc_transformer_options sc_transformer_options_default(void);

/* Load the model in directory dir (opt NULL = defaults). On failure returns
** SC_NOTFOUND (missing file) / SC_IOERR / SC_CORRUPT (truncated or malformed
** file) / SC_INVALID (wrong tensor shape or dtype) / SC_UNSUPPORTED
** (architecture, tokenizer or pooling not implemented) / SC_NOMEM and, when
** errmsg is not NULL, stores a message naming the file and tensor (free it
** with sc_free). */
SC_API sc_status sc_transformer_load(const char *dir, const sc_transformer_options *opt,
                                     sc_transformer **out, char **errmsg);
/* Free a model; NULL is a no-op. */
SC_API void sc_transformer_free(sc_transformer *model);
/* Output dimension (the encoder's hidden size). */
SC_API uint32_t sc_transformer_dim(const sc_transformer *model);
/* 64-bit hash of config.json and model.safetensors (for embedding-cache keys). */
SC_API uint64_t sc_transformer_hash(const sc_transformer *model);
/* Tokens per text after truncation, special tokens included. */
SC_API uint32_t sc_transformer_max_seq_length(const sc_transformer *model);
/* Short description, e.g. "bert: 6 layers, hidden 384, 12 heads, mean
** pooling, normalized" (borrowed, lives as long as the model). */
SC_API const char *sc_transformer_describe(const sc_transformer *model);
/* Token ids of one text as the model sees it (special tokens added,
** truncated): writes min(n, cap) ids to ids and the full count to *n.
** SC_MISUSE on NULL arguments. */
SC_API sc_status sc_transformer_tokenize(sc_transformer *model, const char *text, int32_t *ids,
                                         uint32_t cap, uint32_t *n);
/* Embed n NUL-terminated texts into out[n * dim] (caller-owned). SC_NOMEM
** on allocation failure, SC_MISUSE on NULL arguments; message in
** sc_transformer_errmsg. */
SC_API sc_status sc_transformer_embed(sc_transformer *model, const char *const *texts, size_t n,
                                      float *out);
/* Message of the calling thread's last failed transformer call (on any
** model: model is not consulted and may be NULL); borrowed, valid until
** that thread's next transformer call. "" when none. */
SC_API const char *sc_transformer_errmsg(const sc_transformer *model);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_TRANSFORMER_H */
