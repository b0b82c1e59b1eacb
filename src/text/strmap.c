/*
** text/strmap.c: insert-only string → dense id map with open addressing
** and linear probing; the table doubles when half full.
*/
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

#define TEXT__MAP_SEED 0x7e57a11ULL

uint32_t text_strmap_find(const text_strmap *m, const char *p, size_t n) {
    if (!m->cap) return UINT32_MAX;
    uint64_t h = util_hash64(p, n, TEXT__MAP_SEED);
    for (uint32_t i = (uint32_t)h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        uint32_t s = m->slots[i];
        if (!s) return UINT32_MAX;
        uint32_t id = s - 1;
        if (m->hashes[id] == h && m->len[id] == n && !memcmp(m->str + m->off[id], p, n)) return id;
    }
}

static int text__strmap_grow(text_strmap *m) {
    uint32_t cap = m->cap ? m->cap * 2 : 1024;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (uint32_t id = 0; id < m->n; id++) {
        uint32_t i = (uint32_t)m->hashes[id] & (cap - 1);
        while (slots[i]) i = (i + 1) & (cap - 1);
        slots[i] = id + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

uint32_t text_strmap_add(text_strmap *m, const char *p, size_t n, int *added) {
    if (added) *added = 0;
    if (n > UINT16_MAX) n = UINT16_MAX;
    uint32_t id = text_strmap_find(m, p, n);
    if (id != UINT32_MAX) return id;
    if ((m->n + 1) * 2 > m->cap && text__strmap_grow(m)) return UINT32_MAX;
    if (m->n == m->n_cap) {
        uint32_t nc = m->n_cap ? m->n_cap * 2 : 1024;
        uint32_t *off = realloc(m->off, nc * sizeof *off);
        if (off) m->off = off;
        uint16_t *len = realloc(m->len, nc * sizeof *len);
        if (len) m->len = len;
        uint64_t *hs = realloc(m->hashes, nc * sizeof *hs);
        if (hs) m->hashes = hs;
        if (!off || !len || !hs) return UINT32_MAX;
        m->n_cap = nc;
    }
    if (!util_grow(&m->str, &m->str_cap, m->str_len + n + 1, 1, 16384)) return UINT32_MAX;
    id = m->n++;
    memcpy(m->str + m->str_len, p, n);
    m->str[m->str_len + n] = 0;
    m->off[id] = (uint32_t)m->str_len;
    m->len[id] = (uint16_t)n;
    m->hashes[id] = util_hash64(p, n, TEXT__MAP_SEED);
    m->str_len += n + 1;
    uint32_t i = (uint32_t)m->hashes[id] & (m->cap - 1);
    while (m->slots[i]) i = (i + 1) & (m->cap - 1);
    m->slots[i] = id + 1;
    if (added) *added = 1;
    return id;
}

void text_strmap_free(text_strmap *m) {
    if (!m) return;
    free(m->slots);
    free(m->hashes);
    free(m->str);
    free(m->off);
    free(m->len);
    memset(m, 0, sizeof *m);
}
