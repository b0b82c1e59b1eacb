/*
** text/hftok: the tokenizers of Hugging Face models, read from
** tokenizer.json (or the older vocab.txt / vocab.json + merges.txt files).
**
** Two models: WordPiece with the BERT normaliser (control-character
** cleanup, Chinese-character splitting, accent stripping, lower-casing;
** utf8proc) and the BERT pre-tokeniser (whitespace and punctuation), in
** wordpiece_tok.c; byte-level BPE with the GPT-2 / RoBERTa pre-tokeniser, in
** bpe_tok.c. hftok_load.c reads the files, the added (special) tokens that
** are matched in the raw text, and the post-processor that wraps a sequence
** in its special tokens ([CLS] … [SEP], <s> … </s>).
**
** Thread safety: a loaded text_hftok is immutable; text_hftok_encode may
** run on many threads at once.
*/
#ifndef SC_TEXT_HFTOK_H
#define SC_TEXT_HFTOK_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef struct text_hftok text_hftok;

/* Load the tokenizer of the model directory dir: tokenizer.json if
** present, else vocab.txt (WordPiece, lower-casing unless
** tokenizer_config.json says do_lower_case false), else vocab.json +
** merges.txt (byte-level BPE, RoBERTa specials). SC_NOTFOUND when none
** exists, SC_CORRUPT / SC_UNSUPPORTED with the file and field named. */
sc_status text_hftok_load_dir(const char *dir, text_hftok **out, sc_err *err);
/* Load from the text of a tokenizer.json (path only names it in messages). */
sc_status text_hftok_load_json(const char *json, size_t len, const char *path, text_hftok **out, sc_err *err);
/* Free; NULL is a no-op. */
void text_hftok_free(text_hftok *tok);
/* Token ids of text[len] with the special tokens of the post-processor,
** truncated so that the total is at most max_len (0 = no limit); the
** special tokens are always kept. Writes min(count, cap) ids and sets *n
** to the count. SC_NOMEM only. */
sc_status text_hftok_encode(const text_hftok *tok, const char *text, size_t len, uint32_t max_len,
                            int32_t *ids, uint32_t cap, uint32_t *n);
/* Vocabulary size (largest id + 1). */
uint32_t text_hftok_vocab_size(const text_hftok *tok);
/* Id of token string s, or -1. */
int32_t text_hftok_token_id(const text_hftok *tok, const char *s);
/* "wordpiece" or "bpe". */
const char *text_hftok_kind(const text_hftok *tok);

#endif /* SC_TEXT_HFTOK_H */
