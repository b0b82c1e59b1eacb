/*
** Fuzz target for embed/transformer_safetensors: the bytes are a
** safetensors file. A file that parses must describe only tensors inside
** its data section (checked again here) and every F32 / F16 / BF16 tensor
** must convert to f32 without reading outside the buffer (ASan watches).
**
** FUZZ_SOURCES: src/embed/transformer_safetensors.c src/util/util.c
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embed/transformer_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A private copy, so reads past the end are caught at the exact size. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    transformer_st st;
    sc_err err;
    sc_err_clear(&err);
    if (transformer_st_parse(buf, size, "fuzz.safetensors", &st, &err) == SC_OK) {
        for (size_t i = 0; i < st.n_tensors; i++) {
            const transformer_st_tensor *t = &st.tensors[i];
            if (t->begin > t->end || t->end > st.data_size || st.data + st.data_size != buf + size) __builtin_trap();
            if (transformer_st_find(&st, t->name) == NULL) __builtin_trap();
            if (t->dtype == TRANSFORMER_DTYPE_OTHER || t->n_elems > (1u << 20)) continue;
            float *out = malloc((size_t)t->n_elems * sizeof *out + 1);
            if (out) {
                if (transformer_st_to_f32(&st, t, out, "fuzz", &err) != SC_OK) __builtin_trap();
                free(out);
            }
        }
        transformer_st_free(&st);
    } else if (err.code == SC_OK || err.msg[0] == '\0') {
        __builtin_trap(); /* a failure must say why */
    }
    free(buf);
    return 0;
}
