/*
** text/hftok: private structure shared by hftok_load.c (files, added
** tokens, post-processing), hftok_encode.c, hftok_util.c (helpers),
** wordpiece_tok.c and bpe_tok.c.
*/
#ifndef SC_TEXT_HFTOK_INT_H
#define SC_TEXT_HFTOK_INT_H

#include <stdbool.h>

#include "text/hftok.h"

typedef enum hftok_kind {
    HFTOK_KIND_WORDPIECE = 0, /* BERT WordPiece */
    HFTOK_KIND_BPE = 1,       /* byte-level BPE (GPT-2, RoBERTa) */
} hftok_kind;

/* Growable id list used while encoding. */
typedef struct hftok_ids {
    int32_t *v;   /* owned ids */
    uint32_t n;   /* ids used */
    uint32_t cap; /* ids allocated */
    bool oom;     /* an append failed */
    uint32_t limit; /* encoders may stop once n reaches this (0 = no limit) */
} hftok_ids;

struct text_hftok {
    hftok_kind kind;          /* model type */
    char *arena;              /* token strings, NUL-separated */
    size_t arena_len;         /* bytes used in arena */
    size_t arena_cap;         /* bytes allocated */
    uint32_t *tok_off;        /* per id: offset of its string in arena (UINT32_MAX = none) */
    uint32_t n_ids;           /* largest id + 1 */
    uint32_t *map;            /* open-addressing string -> id table: id + 1, 0 = empty */
    uint32_t map_mask;        /* slots - 1 (power of two) */
    /* BERT normaliser */
    bool norm_bert;           /* a BertNormalizer is configured */
    bool clean_text;          /* drop controls, map whitespace to ' ' */
    bool chinese;             /* surround CJK ideographs with spaces */
    bool strip_accents;       /* NFD, then drop non-spacing marks */
    bool lowercase;           /* lower-case */
    bool pretok_bert;         /* BertPreTokenizer (else whitespace only) */
    /* WordPiece */
    char wp_prefix[16];       /* continuing_subword_prefix ("##") */
    size_t wp_prefix_len;     /* strlen(wp_prefix) */
    uint32_t wp_max_chars;    /* max_input_chars_per_word: longer words are unk */
    int32_t unk_id;           /* id of unk_token, -1 when none */
    /* BPE */
    uint64_t *merge_key;      /* open-addressing table of pair (left id << 32 | right id) */
    uint32_t *merge_rank;     /* rank of the merge in each slot (UINT32_MAX = empty) */
    int32_t *merge_out;       /* id of the merged token in each slot */
    uint32_t merge_mask;      /* slots - 1 */
    int32_t byte_id[256];     /* id of each byte's mapped character, -1 if absent */
    bool add_prefix_space;    /* ByteLevel add_prefix_space */
    /* added tokens (matched in the raw text before normalisation) */
    int32_t *added;           /* ids of the added tokens */
    uint32_t n_added;         /* entries in added */
    /* post-processor */
    int32_t pre[4];           /* ids placed before the sequence ([CLS], <s>) */
    uint32_t n_pre;           /* entries in pre */
    int32_t post[4];          /* ids placed after it ([SEP], </s>) */
    uint32_t n_post;          /* entries in post */
};

/* Append id to l (sets l->oom on failure). */
void hftok_ids_push(hftok_ids *l, int32_t id);
/* Id of the token bytes s[len], or -1. */
int32_t hftok_lookup(const text_hftok *tok, const char *s, size_t len);
/* Hash of a token string in the vocabulary table (hftok_util.c). */
uint32_t hftok_hash(const char *s, size_t len);
/* Decode one code point of s[len] (len >= 1) into *cp; returns the bytes
** used (an invalid byte gives U+FFFD and 1). */
size_t hftok_next_cp(const char *s, size_t len, int32_t *cp);
/* Unicode White_Space. */
bool hftok_is_space(int32_t cp);

/* Encode a segment free of added tokens with the WordPiece model,
** appending to out. */
void wordpiece_encode(const text_hftok *tok, const char *s, size_t len, hftok_ids *out);
/* Encode a segment free of added tokens with the byte-level BPE model. */
void bpe_encode(const text_hftok *tok, const char *s, size_t len, hftok_ids *out);
/* Build the merge table from n pairs (left[i], right[i]) of ids in rank
** order; pairs whose merged string is not in the vocabulary are skipped.
** SC_NOMEM. */
sc_status bpe_merges_build(text_hftok *tok, const int32_t *left, const int32_t *right, uint32_t n, sc_err *err);
/* Fill tok->byte_id from the vocabulary (GPT-2 byte-to-character map). */
void bpe_bytes_init(text_hftok *tok);

#endif /* SC_TEXT_HFTOK_INT_H */
