/*
** Fuzz target for the tokenizer models: the bytes are a text, encoded with
** the WordPiece (tokenizer.json and vocab.txt) and byte-level BPE
** tokenizers of tests/fixtures/transformer/ (run from the repository
** root). Ids must be within the vocabulary, the special tokens in place,
** truncation exact.
**
** FUZZ_SOURCES: src/text/hftok_load.c src/text/hftok_encode.c src/text/hftok_util.c src/text/wordpiece_tok.c src/text/bpe_tok.c src/util/util.c src/util/utf8.c
** FUZZ_LIBS: -lutf8proc
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/hftok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static text_hftok *fuzz__tok[3]; /* loaded once for the process */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const dirs[3] = {"tests/fixtures/transformer/bert", "tests/fixtures/transformer/roberta",
                                        "tests/fixtures/transformer/bert_vocab_bf16"};
    for (int k = 0; k < 3; k++) {
        if (!fuzz__tok[k] && text_hftok_load_dir(dirs[k], &fuzz__tok[k], NULL) != SC_OK) __builtin_trap();
        const text_hftok *tok = fuzz__tok[k];
        int32_t full[600], cut[40];
        uint32_t n = 0, m = 0;
        if (text_hftok_encode(tok, (const char *)data, size, 512, full, 600, &n) != SC_OK) continue;
        if (text_hftok_encode(tok, (const char *)data, size, 32, cut, 40, &m) != SC_OK) continue;
        if (n < 2 || m < 2 || m > 32 || n > 512) __builtin_trap();
        for (uint32_t i = 0; i < n && i < 600; i++)
            if (full[i] < 0 || (uint32_t)full[i] >= text_hftok_vocab_size(tok)) __builtin_trap();
        /* The truncated encoding is the full one cut, with the end token kept. */
        if (full[0] != cut[0] || full[n - 1] != cut[m - 1]) __builtin_trap();
        for (uint32_t i = 1; i + 1 < m; i++)
            if (cut[i] != full[i]) __builtin_trap();
    }
    return 0;
}
