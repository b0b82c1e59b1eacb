/*
** text/tokenize.c: the code-aware tokenizer (identifier splitting,
** lower-casing, Snowball English stemming with a per-tokenizer cache).
**
** The stem cache is a fixed-size direct-mapped table keyed by the part's
** hash: stemming dominates tokenization time otherwise, and code repeats the
** same few thousand words. A cache miss simply overwrites the slot, so the
** output never depends on the cache state.
*/
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>

#include "text/text.h"

/* ==== Tokenizer ==== */

#define TEXT__CACHE_SLOTS 8192 /* stem cache entries (power of two) */

typedef struct text__cache_slot {
    uint64_t hash;                 /* hash of the unstemmed part (0 = empty) */
    uint8_t in_len;                /* length of the unstemmed part */
    uint8_t out_len;               /* length of its stem */
    char in[TEXT_TOKEN_MAX];       /* the unstemmed part */
    char out[TEXT_TOKEN_MAX];      /* its stem */
} text__cache_slot;

struct text_tokenizer {
    struct sb_stemmer *stemmer;    /* Snowball English, UTF-8 */
    text__cache_slot *cache;       /* TEXT__CACHE_SLOTS slots */
};

text_tokenizer *text_tokenizer_new(sc_err *err) {
    text_tokenizer *tk = calloc(1, sizeof *tk);
    if (!tk) goto nomem;
    tk->stemmer = sb_stemmer_new("english", "UTF_8");
    tk->cache = calloc(TEXT__CACHE_SLOTS, sizeof *tk->cache);
    if (!tk->stemmer || !tk->cache) goto nomem;
    return tk;
nomem:
    text_tokenizer_free(tk);
    sc_err_set(err, SC_NOMEM, "out of memory creating a tokenizer");
    return NULL;
}

void text_tokenizer_free(text_tokenizer *tk) {
    if (!tk) return;
    if (tk->stemmer) sb_stemmer_delete(tk->stemmer);
    free(tk->cache);
    free(tk);
}

void text_tokens_free(text_tokens *t) {
    if (!t) return;
    free(t->str);
    free(t->off);
    free(t->len);
    free(t->kind);
    memset(t, 0, sizeof *t);
}

/* ==== Output ==== */

/* Length of p[0..n) without a trailing incomplete UTF-8 sequence (left
** by cutting a long word), so every token is valid UTF-8. */
static size_t text__trim_utf8(const char *p, size_t n) {
    size_t i = n, k = 0;
    while (i > 0 && k < 4 && ((unsigned char)p[i - 1] & 0xC0) == 0x80) i--, k++;
    if (i == 0) return n - k; /* only continuation bytes: cannot happen from words */
    unsigned char lead = (unsigned char)p[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (need == 1) return n;
    return (k + 1 == need) ? n : i - 1;
}

static int text__push(text_tokens *t, const char *p, size_t n, text_token_kind kind) {
    if (n > TEXT_TOKEN_MAX) n = TEXT_TOKEN_MAX;
    n = text__trim_utf8(p, n);
    if (n == 0) return 0;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        uint32_t *off = realloc(t->off, cap * sizeof *off);
        if (off) t->off = off;
        uint16_t *len = realloc(t->len, cap * sizeof *len);
        if (len) t->len = len;
        uint8_t *kd = realloc(t->kind, cap * sizeof *kd);
        if (kd) t->kind = kd;
        if (!off || !len || !kd) return -1;
        t->cap = cap;
    }
    if (!util_grow(&t->str, &t->str_cap, t->str_len + n, 1, 512)) return -1;
    memcpy(t->str + t->str_len, p, n);
    t->off[t->n] = (uint32_t)t->str_len;
    t->len[t->n] = (uint16_t)n;
    t->kind[t->n] = (uint8_t)kind;
    t->str_len += n;
    t->n++;
    return 0;
}

/* ==== Splitting ==== */

static int text__is_ascii_word(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Character class inside a word: 1 lower (and every byte of a multi-byte
** letter, which has no case here), 2 upper, 3 digit, 4 underscore. */
static int text__cls(unsigned char c) {
    if (c >= 'a' && c <= 'z') return 1;
    if (c >= 'A' && c <= 'Z') return 2;
    if (c >= '0' && c <= '9') return 3;
    if (c == '_') return 4;
    return 1;
}

/* Stem one lower-cased part (through the cache) and push it. */
static int text__emit_part(text_tokenizer *tk, text_tokens *out, const char *p, size_t n) {
    if (n > TEXT_TOKEN_MAX) n = TEXT_TOKEN_MAX;
    int alpha = n >= 3;
    for (size_t i = 0; i < n && alpha; i++) alpha = p[i] >= 'a' && p[i] <= 'z';
    if (!alpha) return text__push(out, p, n, TEXT_TOKEN_KIND_PART);
    uint64_t h = util_hash64(p, n, 0x5eed) | 1;
    text__cache_slot *sl = &tk->cache[h & (TEXT__CACHE_SLOTS - 1)];
    if (sl->hash != h || sl->in_len != n || memcmp(sl->in, p, n)) {
        const sb_symbol *st = sb_stemmer_stem(tk->stemmer, (const sb_symbol *)p, (int)n);
        int sn = st ? sb_stemmer_length(tk->stemmer) : -1;
        if (!st || sn <= 0 || sn > TEXT_TOKEN_MAX) return text__push(out, p, n, TEXT_TOKEN_KIND_PART);
        sl->hash = h;
        sl->in_len = (uint8_t)n;
        memcpy(sl->in, p, n);
        sl->out_len = (uint8_t)sn;
        memcpy(sl->out, st, (size_t)sn);
    }
    return text__push(out, sl->out, sl->out_len, TEXT_TOKEN_KIND_PART);
}

/* Split one word w[0..n) (ASCII word bytes and valid UTF-8 sequences) into
** parts and emit them, plus the whole word when it has several parts. */
static int text__emit_word(text_tokenizer *tk, text_tokens *out, const unsigned char *w, size_t n) {
    char low[TEXT_TOKEN_MAX];
    char whole[TEXT_TOKEN_MAX];
    size_t whole_len = 0, n_parts = 0, plen = 0;
    int prev = -1;
    for (size_t i = 0; i < n; i++) {
        int c = text__cls(w[i]);
        int brk = 0;
        if (c == 4) brk = 1;
        else if (prev >= 0 && prev != 4) {
            if (c == 2 && prev == 1) brk = 1;                                /* fooBar */
            else if (c == 1 && prev == 2 && plen > 1) { /* HTTPServer: the last capital starts "Server" */
                if (text__emit_part(tk, out, low, plen - 1)) return -1;
                n_parts++;
                low[0] = low[plen - 1];
                plen = 1;
            } else if ((c == 3) != (prev == 3)) brk = 1; /* abc123 */
        }
        if (brk && plen) {
            if (text__emit_part(tk, out, low, plen)) return -1;
            n_parts++;
            plen = 0;
        }
        prev = c;
        if (c == 4) continue;
        char lc = (c == 2) ? (char)(w[i] - 'A' + 'a') : (char)w[i];
        if (plen < TEXT_TOKEN_MAX) low[plen++] = lc;
        if (whole_len < TEXT_TOKEN_MAX) whole[whole_len++] = lc;
    }
    if (plen) {
        if (text__emit_part(tk, out, low, plen)) return -1;
        n_parts++;
    }
    if (n_parts > 1 && text__push(out, whole, whole_len, TEXT_TOKEN_KIND_WHOLE)) return -1;
    return 0;
}

/* Tokenize s[0..n) into out, stopping after max_tokens tokens (0 = no
** limit). When cut is non-NULL, *cut is the end of the last word whose
** tokens all fit within cut_tokens (n when every token fits). */
static sc_status text__run(text_tokenizer *tk, const char *s, size_t n, uint32_t max_tokens, uint32_t cut_tokens,
                           text_tokens *out, size_t *cut) {
    out->n = 0;
    out->str_len = 0;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    if (cut) *cut = 0;
    bool fits = true;
    while (i < n) {
        if (max_tokens && out->n >= max_tokens) break;
        size_t start = i;
        while (i < n) {
            if (text__is_ascii_word(u[i])) i++;
            else if (u[i] >= 0x80) { /* only non-ASCII runs are decoded */
                size_t l = util_utf8_span(s + i, n - i);
                if (!l) break;
                i += l;
            } else break;
        }
        if (i > start) {
            if (text__emit_word(tk, out, u + start, i - start)) {
                out->n = 0;
                out->str_len = 0;
                return SC_NOMEM;
            }
            if (cut && fits && out->n <= cut_tokens) *cut = i;
            else fits = false;
        } else {
            i++; /* separator or invalid byte */
        }
    }
    if (cut && fits) *cut = n;
    if (max_tokens && out->n > max_tokens) out->n = max_tokens;
    return SC_OK;
}

sc_status text_tokenize(text_tokenizer *tk, const char *s, size_t n, uint32_t max_tokens, text_tokens *out) {
    return text__run(tk, s, n, max_tokens, 0, out, NULL);
}

sc_status text_tokenize_cut(text_tokenizer *tk, const char *s, size_t n, uint32_t max_tokens, text_tokens *out,
                            size_t *cut) {
    return text__run(tk, s, n, 0, max_tokens, out, cut);
}
