/*
** libFuzzer target: the model file parser on arbitrary bytes, with the
** checksum check off so the structural checks are reached. A model that
** parses is used to embed a few texts (the vocabulary and tables it
** claims must be safe to read).
** FUZZ_SOURCES: src/embed/model.c src/embed/pool_avx2.c src/text/tokenize.c src/text/strmap.c src/text/bm25.c src/util/util.c -lstemmer
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sc_model *m = NULL;
    if (embed_model_parse(data, size, 0, &m, NULL) != SC_OK) return 0;
    const char *t[] = {"open the file", "readAllBytes(path)", "zzqx unknown_tok"};
    uint32_t dim = sc_model_dim(m);
    float *out = malloc(3 * (size_t)dim * sizeof *out);
    if (out) {
        for (int role = 0; role < 2; role++)
            if (sc_model_embed(m, (sc_embed_role)role, t, 3, out) != SC_OK) abort();
    }
    free(out);
    sc_model_free(m);
    return 0;
}
