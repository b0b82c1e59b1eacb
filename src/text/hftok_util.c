/*
** text/hftok_util: helpers shared by the tokenizer loader (hftok_load.c)
** and the two models (wordpiece_tok.c, bpe_tok.c): growing id lists,
** decoding code points, white space, and the vocabulary hash table.
*/
#include <string.h>

#include "text/hftok_int.h"

/* ==== Small helpers ==== */

void hftok_ids_push(hftok_ids *l, int32_t id) {
    if (!util_grow_u32(&l->v, &l->cap, (size_t)l->n + 1, sizeof *l->v, 64)) {
        l->oom = true;
        return;
    }
    l->v[l->n++] = id;
}

size_t hftok_next_cp(const char *s, size_t len, int32_t *cp) {
    size_t r = util_utf8_decode(s, len, cp);
    if (!r) {
        *cp = 0xFFFD;
        return 1;
    }
    return r;
}

bool hftok_is_space(int32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* ==== Vocabulary table ==== */

uint32_t hftok_hash(const char *s, size_t len) { return (uint32_t)util_hash64(s, len, 0x5eed); }

int32_t hftok_lookup(const text_hftok *tok, const char *s, size_t len) {
    if (!tok->map) return -1;
    uint32_t i = hftok_hash(s, len) & tok->map_mask;
    while (tok->map[i]) {
        uint32_t id = tok->map[i] - 1;
        const char *t = tok->arena + tok->tok_off[id];
        if (strlen(t) == len && !memcmp(t, s, len)) return (int32_t)id;
        i = (i + 1) & tok->map_mask;
    }
    return -1;
}
