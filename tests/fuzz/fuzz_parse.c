/*
** fuzz_parse: libFuzzer target for the extractor. The first byte picks the
** language (every grammar, plus the chunk-only path) and a few option
** bits; the rest is the file. The parse must never crash, leak or read out
** of bounds, whatever the bytes; every entity must lie inside the input,
** and the doc/code split must return a string no longer than the body.
**
** Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
**   -Isrc tests/fuzz/fuzz_parse.c build-san/libsemcode.a -ljansson ... -lm
** Corpus: tests/fuzz/corpus/parse/ (small files of each language).
** FUZZ_SOURCES: @lib
*/
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "semcode/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sc_parser *fuzz__parser;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (!fuzz__parser && sc_parser_new(&fuzz__parser, NULL) != SC_OK) return 0;
    uint8_t sel = data[0];
    sc_parse_options opt = sc_parse_options_default();
    opt.lang = (sc_lang)(1 + sel % (SC_LANG_COUNT - 1));
    opt.with_body = (sel & 0x80) != 0;
    opt.chunk_lines = 1 + (sel >> 4) % 8;
    opt.chunk_overlap = (sel >> 2) % 4;
    opt.chunk_max_bytes = 64 + (sel % 7) * 13;
    opt.minified_line_length = 0; /* let long lines through to the grammars */
    opt.skip_generated = false;
    sc_parse_result *r = NULL;
    if (sc_parser_parse(fuzz__parser, "fuzz.input", data + 1, size - 1, &opt, &r) != SC_OK) return 0;
    for (uint32_t i = 0; i < r->n_entities; i++) {
        const sc_entity *e = &r->entities[i];
        if (e->start_byte > e->end_byte || e->end_byte > size - 1) abort();
        if (e->start_line < 1 || e->end_line < e->start_line || e->end_line > r->n_lines) abort();
        if (e->parent >= (int32_t)i) abort(); /* parents come first */
        if (!e->name || !e->qualified_name) abort();
        for (uint32_t k = 0; k < e->n_params; k++)
            if (!e->params[k].name && !e->params[k].type) abort();
        if (e->body) {
            if (strlen(e->body) > e->end_byte - e->start_byte) abort();
            char *code = sc_entity_code_without_doc(e);
            if (code && strlen(code) > strlen(e->body)) abort();
            sc_free(code);
        }
    }
    sc_parse_result_free(r);
    return 0;
}
