/*
** libFuzzer target: the code-aware tokenizer on arbitrary bytes. Checks
** that every token is non-empty, at most TEXT_TOKEN_MAX bytes, inside the
** arena, valid UTF-8 whatever the input, and that a second run gives the
** same stream (determinism, stem cache state does not matter); also feeds
** the tokens to BM25 as a document and a query.
** FUZZ_SOURCES: @lib
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static text_tokenizer *tk;
    if (!tk) tk = text_tokenizer_new(NULL);
    if (!tk) return 0;
    text_tokens a = {0}, b = {0};
    if (text_tokenize(tk, (const char *)data, size, 0, &a) != SC_OK) return 0;
    for (uint32_t i = 0; i < a.n; i++) {
        if (a.len[i] == 0 || a.len[i] > TEXT_TOKEN_MAX || a.off[i] + a.len[i] > a.str_len) abort();
        const unsigned char *t = (const unsigned char *)a.str + a.off[i];
        if (t[0] >= 0x80 && t[0] < 0xC0) abort(); /* never starts inside a sequence */
        if (!util_utf8_valid((const char *)t, a.len[i], NULL)) abort(); /* whatever the input */
    }
    if (text_tokenize(tk, (const char *)data, size, 0, &b) != SC_OK) abort();
    if (a.n != b.n || a.str_len != b.str_len || (a.str_len && memcmp(a.str, b.str, a.str_len))) abort();
    text_bm25 *bm = text_bm25_build(&a, 1, 1.2f, 0.75f, NULL);
    if (bm) {
        float s;
        text_bm25_score(bm, &b, &s);
        text_bm25_free(bm);
    }
    text_tokens_free(&a);
    text_tokens_free(&b);
    return 0;
}
