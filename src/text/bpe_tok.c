/*
** text/bpe_tok: byte-level BPE (GPT-2, RoBERTa, CodeBERT) as Hugging Face
** tokenizers runs it.
**
** Pre-tokeniser: the GPT-2 pattern
**   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
** matched by hand (first alternative that matches at each position, as a
** backtracking regex engine would), with \s = Unicode White_Space. Each
** piece's bytes are mapped to the printable characters of the GPT-2 byte
** map, then merged: repeatedly, the adjacent pair with the lowest merge rank
** is merged at every non-overlapping position, left to right, until no pair
** has a rank. Pieces longer than BPE_PIECE_MAX bytes are merged in chunks
** of that size, which bounds the quadratic merge loop on hostile input.
*/
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "text/hftok_int.h"

#define BPE_PIECE_MAX 4096

/* ==== Byte map and merge table ==== */

void bpe_bytes_init(text_hftok *tok) {
    /* Printable bytes keep their code point; the rest get 256, 257, … in byte order. */
    int32_t next = 256;
    for (int b = 0; b < 256; b++) {
        int32_t cp;
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
            cp = b;
        else
            cp = next++;
        utf8proc_uint8_t u[4];
        utf8proc_ssize_t ul = utf8proc_encode_char(cp, u);
        tok->byte_id[b] = hftok_lookup(tok, (const char *)u, (size_t)ul);
    }
}

static uint32_t bpe__slot(uint64_t key, uint32_t mask) { return (uint32_t)(util_mix64(key) & mask); }

sc_status bpe_merges_build(text_hftok *tok, const int32_t *left, const int32_t *right, uint32_t n, sc_err *err) {
    uint32_t cap = 16;
    while (cap < n * 2u + 16u) cap *= 2;
    tok->merge_key = malloc((size_t)cap * sizeof *tok->merge_key);
    tok->merge_rank = malloc((size_t)cap * sizeof *tok->merge_rank);
    tok->merge_out = malloc((size_t)cap * sizeof *tok->merge_out);
    if (!tok->merge_key || !tok->merge_rank || !tok->merge_out)
        return sc_err_set(err, SC_NOMEM, "tokenizer: out of memory for %u merges", n);
    for (uint32_t i = 0; i < cap; i++) tok->merge_rank[i] = UINT32_MAX;
    tok->merge_mask = cap - 1;
    char *buf = NULL;
    size_t buf_cap = 0;
    for (uint32_t r = 0; r < n; r++) {
        const char *a = tok->arena + tok->tok_off[left[r]], *b = tok->arena + tok->tok_off[right[r]];
        size_t al = strlen(a), bl = strlen(b);
        if (al + bl + 1 > buf_cap) {
            buf_cap = (al + bl + 1) * 2;
            char *nb = realloc(buf, buf_cap);
            if (!nb) {
                free(buf);
                return sc_err_set(err, SC_NOMEM, "tokenizer: out of memory");
            }
            buf = nb;
        }
        memcpy(buf, a, al);
        memcpy(buf + al, b, bl);
        int32_t id = hftok_lookup(tok, buf, al + bl);
        if (id < 0) continue;
        uint64_t key = (uint64_t)(uint32_t)left[r] << 32 | (uint32_t)right[r];
        uint32_t s = bpe__slot(key, tok->merge_mask);
        while (tok->merge_rank[s] != UINT32_MAX && tok->merge_key[s] != key) s = (s + 1) & tok->merge_mask;
        if (tok->merge_rank[s] != UINT32_MAX) continue; /* a duplicate merge keeps its first rank */
        tok->merge_key[s] = key;
        tok->merge_rank[s] = r;
        tok->merge_out[s] = id;
    }
    free(buf);
    return SC_OK;
}

static uint32_t bpe__rank(const text_hftok *tok, int32_t a, int32_t b, int32_t *merged) {
    if (!tok->merge_key) return UINT32_MAX;
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint32_t s = bpe__slot(key, tok->merge_mask);
    while (tok->merge_rank[s] != UINT32_MAX) {
        if (tok->merge_key[s] == key) {
            *merged = tok->merge_out[s];
            return tok->merge_rank[s];
        }
        s = (s + 1) & tok->merge_mask;
    }
    return UINT32_MAX;
}

/* ==== Merging ==== */

/* BPE on the bytes p[len] of one piece (len <= BPE_PIECE_MAX); sym is scratch
** of len ids. */
static void bpe__piece(const text_hftok *tok, const unsigned char *p, size_t len, int32_t *sym, hftok_ids *out) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t id = tok->byte_id[p[i]];
        if (id >= 0)
            sym[n++] = id;
        else if (tok->unk_id >= 0)
            sym[n++] = tok->unk_id;
    }
    while (n > 1) {
        uint32_t best = UINT32_MAX;
        int32_t ba = 0, bb = 0, bm = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            int32_t m;
            uint32_t r = bpe__rank(tok, sym[i], sym[i + 1], &m);
            if (r < best) {
                best = r;
                ba = sym[i];
                bb = sym[i + 1];
                bm = m;
            }
        }
        if (best == UINT32_MAX) break;
        size_t w = 0;
        for (size_t i = 0; i < n;) {
            if (i + 1 < n && sym[i] == ba && sym[i + 1] == bb) {
                sym[w++] = bm;
                i += 2;
            } else {
                sym[w++] = sym[i++];
            }
        }
        n = w;
    }
    for (size_t i = 0; i < n; i++) hftok_ids_push(out, sym[i]);
}

/* ==== Pre-tokeniser ==== */

enum { BPE_CL_L = 0, BPE_CL_N = 1, BPE_CL_S = 2, BPE_CL_O = 3 };

static int bpe__class(int32_t cp, bool valid) {
    if (!valid) return BPE_CL_O;
    if (hftok_is_space(cp)) return BPE_CL_S;
    utf8proc_category_t k = utf8proc_category(cp);
    if (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) return BPE_CL_L;
    if (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO) return BPE_CL_N;
    return BPE_CL_O;
}

void bpe_encode(const text_hftok *tok, const char *s, size_t len, hftok_ids *out) {
    char *pre = NULL;
    if (tok->add_prefix_space && len > 0 && s[0] != ' ') {
        pre = malloc(len + 1);
        if (!pre) {
            out->oom = true;
            return;
        }
        pre[0] = ' ';
        memcpy(pre + 1, s, len);
        s = pre;
        len++;
    }
    /* Decode once: code point, class and byte offset per character. */
    int32_t *cps = malloc((len + 1) * sizeof *cps);
    unsigned char *cl = malloc(len + 1);
    size_t *bo = malloc((len + 1) * sizeof *bo);
    int32_t *sym = malloc(BPE_PIECE_MAX * sizeof *sym);
    if (!cps || !cl || !bo || !sym) {
        out->oom = true;
        goto done;
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp = -1; /* an invalid byte stays -1, one symbol of its own */
        size_t r = util_utf8_decode(s + i, len - i, &cp);
        bool valid = r > 0;
        if (!valid) r = 1;
        cps[n] = cp;
        cl[n] = (unsigned char)bpe__class(cp, valid);
        bo[n++] = i;
        i += r;
    }
    bo[n] = len;
    size_t k = 0;
    while (k < n) {
        if (out->limit && out->n >= out->limit) break;
        size_t e = k + 1;
        if (cps[k] == '\'' && k + 1 < n) {
            int32_t a = cps[k + 1], b = k + 2 < n ? cps[k + 2] : 0;
            if (a == 's' || a == 't' || a == 'm' || a == 'd')
                e = k + 2;
            else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
                e = k + 3;
            else
                e = 0;
        } else {
            e = 0;
        }
        if (!e) {
            size_t j = k;
            if (cps[k] == ' ' && k + 1 < n && cl[k + 1] != BPE_CL_S) j = k + 1;
            if (cl[j] != BPE_CL_S) {
                int c = cl[j];
                e = j + 1;
                while (e < n && cl[e] == c) e++;
            } else {
                e = k + 1;
                while (e < n && cl[e] == BPE_CL_S) e++;
                if (e < n && e - k >= 2) e--;
            }
        }
        for (size_t b0 = bo[k]; b0 < bo[e]; b0 += BPE_PIECE_MAX) {
            size_t bl = bo[e] - b0 < BPE_PIECE_MAX ? bo[e] - b0 : BPE_PIECE_MAX;
            bpe__piece(tok, (const unsigned char *)s + b0, bl, sym, out);
        }
        k = e;
    }
done:
    free(pre);
    free(cps);
    free(cl);
    free(bo);
    free(sym);
}
