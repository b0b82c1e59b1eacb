/*
** libFuzzer target: the full-text tokenizer of payload text indexes
** (text_ft) on arbitrary bytes. The first byte picks the tokenizer and the
** options (lowercase, ascii_folding, stop words, stemming, length limits),
** the rest is the text, tokenized as a document and as a query. Checks that
** every token is non-empty valid UTF-8 within the length limits and that a
** second run gives the same tokens.
** FUZZ_SOURCES: src/text/fulltext.c src/util/util.c src/util/utf8.c
** FUZZ_LIBS: -lutf8proc -lstemmer
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Running hash and count of a token stream, checking each token. */
typedef struct fuzz__acc {
    const text_ft_params *p; /* options in force */
    text_ft_mode mode;       /* document or query */
    uint64_t hash;           /* hash of all tokens */
    size_t n;                /* tokens */
} fuzz__acc;

static void fuzz__token(const char *tok, size_t len, void *arg) {
    fuzz__acc *a = arg;
    if (len == 0 || !util_utf8_valid(tok, len, NULL)) abort();
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) chars += ((unsigned char)tok[i] & 0xC0) != 0x80;
    if (a->p->max_token_len && chars > a->p->max_token_len) abort();
    bool prefix_query = a->p->tokenizer == TEXT_FT_TOKENIZER_PREFIX && a->mode == TEXT_FT_MODE_QUERY;
    if (!prefix_query && a->p->min_token_len && chars < a->p->min_token_len) abort();
    a->hash = util_hash64(tok, len, a->hash) ^ (a->hash << 1);
    a->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const custom[] = {"the", "The", "и"};
    uint8_t o = data[0];
    text_ft_params p = {
        .tokenizer = (text_ft_tokenizer)(o % 5),
        .lowercase = o & 0x08,
        .ascii_folding = o & 0x10,
        .stop_english = o & 0x20,
        .stopwords = (o & 0x40) ? custom : NULL,
        .n_stopwords = (o & 0x40) ? 3 : 0,
        .stemmer = (o & 0x80) ? "english" : NULL,
        .min_token_len = (o >> 5) & 1 ? 2 : 0,
        .max_token_len = (o >> 6) & 1 ? 5 : 0,
    };
    text_ft *ft = text_ft_new(&p, NULL);
    if (!ft) return 0;
    for (int mode = 0; mode < 2; mode++) {
        fuzz__acc a = {&p, (text_ft_mode)mode, 0, 0}, b = a;
        if (text_ft_tokenize(ft, (const char *)data + 1, size - 1, a.mode, fuzz__token, &a) != SC_OK) continue;
        if (text_ft_tokenize(ft, (const char *)data + 1, size - 1, b.mode, fuzz__token, &b) != SC_OK) abort();
        if (a.n != b.n || a.hash != b.hash) abort();
    }
    text_ft_free(ft);
    return 0;
}
