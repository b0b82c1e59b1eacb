/*
** Fuzz target for text/hftok: the bytes are a tokenizer.json. When it
** loads, a few fixed strings and the input itself are encoded with and
** without truncation; every id must be below the vocabulary size and the
** truncated count must respect the limit.
**
** FUZZ_SOURCES: src/text/hftok_load.c src/text/hftok_encode.c src/text/hftok_util.c src/text/wordpiece_tok.c src/text/bpe_tok.c src/util/util.c src/util/utf8.c
** FUZZ_LIBS: -lutf8proc
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/hftok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz__encode(const text_hftok *tok, const char *s, size_t len) {
    int32_t ids[64];
    uint32_t n = 0;
    for (uint32_t max_len = 0; max_len <= 16; max_len += 8) {
        if (text_hftok_encode(tok, s, len, max_len, ids, 64, &n) != SC_OK) continue;
        if (max_len && n > max_len && n > 8) __builtin_trap(); /* specials alone may exceed a tiny limit */
        for (uint32_t i = 0; i < n && i < 64; i++)
            if (ids[i] < 0 || (uint32_t)ids[i] >= text_hftok_vocab_size(tok)) __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    text_hftok *tok = NULL;
    sc_err err;
    sc_err_clear(&err);
    if (text_hftok_load_json((const char *)data, size, "fuzz/tokenizer.json", &tok, &err) != SC_OK) {
        if (err.msg[0] == '\0') __builtin_trap();
        return 0;
    }
    static const char *const texts[] = {"Hello, World!", "Café 中文 😀 it's", "  \t\n", "", "\xff\xfe\x80 abc",
                                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) fuzz__encode(tok, texts[i], strlen(texts[i]));
    fuzz__encode(tok, (const char *)data, size < 2048 ? size : 2048);
    text_hftok_free(tok);
    return 0;
}
