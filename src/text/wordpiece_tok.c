/*
** text/wordpiece_tok: BERT normaliser, BERT pre-tokeniser and the
** WordPiece model (greedy longest match first) of Hugging Face tokenizers.
**
** Normaliser, in the order of the reference implementation: (1) clean:
** drop U+0000, U+FFFD and control characters (categories Cc, Cf, Cn, Co,
** except \t \n \r), turn whitespace into ' '; (2) put spaces around CJK
** ideographs; (3) strip accents: NFD, drop non-spacing marks (Mn);
** (4) lower-case. Pre-tokeniser: split at whitespace; every punctuation
** character (ASCII punctuation or a Unicode P* category) is a word of its
** own. A word longer than max_input_chars_per_word characters, or one that
** cannot be covered by vocabulary pieces, becomes the unknown token.
*/
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "text/hftok_int.h"

/* ==== Character classes ==== */

static bool wordpiece__is_cjk(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static bool wordpiece__is_control(int32_t c) {
    if (c == '\t' || c == '\n' || c == '\r') return false;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CN ||
           k == UTF8PROC_CATEGORY_CO;
}

static bool wordpiece__is_punct(int32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return true;
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

/* ==== Normaliser ==== */

typedef struct wordpiece_cps {
    int32_t *v;   /* code points */
    size_t n;     /* used */
    size_t cap;   /* allocated */
    bool oom;     /* an append failed */
} wordpiece_cps;

static void wordpiece__push(wordpiece_cps *c, int32_t cp) {
    if (!util_grow(&c->v, &c->cap, c->n + 1, sizeof *c->v, 64)) {
        c->oom = true;
        return;
    }
    c->v[c->n++] = cp;
}

static void wordpiece__lower_push(const text_hftok *tok, wordpiece_cps *c, int32_t cp) {
    if (tok->lowercase) {
        if (cp == 0x130) { /* İ lower-cases to i + combining dot above (full mapping) */
            wordpiece__push(c, 'i');
            wordpiece__push(c, 0x307);
            return;
        }
        cp = utf8proc_tolower(cp);
    }
    wordpiece__push(c, cp);
}

static void wordpiece__normalize(const text_hftok *tok, const char *s, size_t len, wordpiece_cps *c) {
    size_t i = 0;
    while (i < len) {
        int32_t cp;
        i += hftok_next_cp(s + i, len - i, &cp);
        if (tok->clean_text) {
            if (cp == 0 || cp == 0xFFFD || wordpiece__is_control(cp)) continue;
            if (hftok_is_space(cp)) cp = ' ';
        }
        bool cjk = tok->chinese && wordpiece__is_cjk(cp);
        if (cjk) wordpiece__push(c, ' ');
        if (tok->strip_accents) {
            int32_t dec[32];
            int opts = 0;
            utf8proc_ssize_t nd = utf8proc_decompose_char(cp, dec, 32, UTF8PROC_DECOMPOSE, &opts);
            if (nd < 0 || nd > 32) {
                dec[0] = cp;
                nd = 1;
            }
            for (utf8proc_ssize_t k = 0; k < nd; k++)
                if (utf8proc_category(dec[k]) != UTF8PROC_CATEGORY_MN) wordpiece__lower_push(tok, c, dec[k]);
        } else {
            wordpiece__lower_push(tok, c, cp);
        }
        if (cjk) wordpiece__push(c, ' ');
    }
}

/* ==== WordPiece model ==== */

/* Encode one word (code points w[n]) greedily, longest piece first. */
static void wordpiece__word(const text_hftok *tok, const int32_t *w, size_t n, hftok_ids *out) {
    if (n == 0) return;
    if (n > tok->wp_max_chars) {
        if (tok->unk_id >= 0) hftok_ids_push(out, tok->unk_id);
        return;
    }
    /* UTF-8 of the word with a byte offset per character boundary. */
    size_t cap = tok->wp_prefix_len + n * 4 + 1;
    char *buf = malloc(cap);
    size_t *bo = malloc((n + 1) * sizeof *bo);
    if (!buf || !bo) {
        free(buf);
        free(bo);
        out->oom = true;
        return;
    }
    char *u = buf + tok->wp_prefix_len;
    size_t ul = 0;
    for (size_t k = 0; k < n; k++) {
        bo[k] = ul;
        ul += (size_t)utf8proc_encode_char(w[k], (utf8proc_uint8_t *)u + ul);
    }
    bo[n] = ul;
    uint32_t first = out->n;
    size_t start = 0;
    bool bad = false;
    while (start < n) {
        size_t end = n;
        int32_t id = -1;
        while (end > start) {
            const char *p = u + bo[start];
            size_t pl = bo[end] - bo[start];
            if (start > 0) {
                /* Prefix the piece with "##" in place (the byte before it is scratch). */
                char save[16];
                memcpy(save, p - tok->wp_prefix_len, tok->wp_prefix_len);
                memcpy((char *)p - tok->wp_prefix_len, tok->wp_prefix, tok->wp_prefix_len);
                id = hftok_lookup(tok, p - tok->wp_prefix_len, pl + tok->wp_prefix_len);
                memcpy((char *)p - tok->wp_prefix_len, save, tok->wp_prefix_len);
            } else {
                id = hftok_lookup(tok, p, pl);
            }
            if (id >= 0) break;
            end--;
        }
        if (id < 0) {
            bad = true;
            break;
        }
        hftok_ids_push(out, id);
        start = end;
    }
    if (bad) {
        out->n = first;
        if (tok->unk_id >= 0) hftok_ids_push(out, tok->unk_id);
    }
    free(buf);
    free(bo);
}

void wordpiece_encode(const text_hftok *tok, const char *s, size_t len, hftok_ids *out) {
    wordpiece_cps c = {0};
    if (tok->norm_bert) {
        wordpiece__normalize(tok, s, len, &c);
    } else {
        for (size_t i = 0; i < len;) {
            int32_t cp;
            i += hftok_next_cp(s + i, len - i, &cp);
            wordpiece__push(&c, cp);
        }
    }
    if (c.oom || c.n == 0) {
        out->oom |= c.oom;
        free(c.v);
        return;
    }
    size_t ws = 0; /* start of the current word */
    for (size_t k = 0; k <= c.n; k++) {
        bool end = k == c.n, sp = !end && hftok_is_space(c.v[k]), pu = !end && tok->pretok_bert && wordpiece__is_punct(c.v[k]);
        if (end || sp || pu) {
            if (out->limit && out->n >= out->limit) break;
            wordpiece__word(tok, c.v + ws, k - ws, out);
            if (pu) wordpiece__word(tok, c.v + k, 1, out);
            ws = k + 1;
        }
    }
    free(c.v);
}
