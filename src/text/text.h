/*
** text: the code-aware tokenizer shared by queries, code, the built-in
** embedding model and BM25, and a small in-memory BM25 scorer.
**
** Tokenization: the input is split into words (runs of ASCII letters, digits
** and '_', plus any valid multi-byte UTF-8 sequence); invalid UTF-8 bytes and
** everything else are separators. Each word is split into parts at '_',
** lower→upper case changes, the end of an upper-case run followed by a
** lower-case letter ("HTTPServer" → HTTP, Server) and letter/digit changes.
** Parts are lower-cased (ASCII) and alphabetic parts are stemmed with the
** Snowball English stemmer. A word with several parts also yields itself as
** one token (lower-cased, '_' removed, not stemmed), so `getUserName`
** gives `getusername`, `get`, `user`, `name`. Deterministic: the output
** depends only on the bytes.
**
** Thread safety: a text_tokenizer is used by one thread at a time (the
** stemmer and the stem cache are mutable); create one per worker.
*/
#ifndef SC_TEXT_H
#define SC_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* ==== Tokens ==== */

#define TEXT_TOKEN_MAX 48 /* longer words are cut to this many bytes */

typedef enum text_token_kind {
    TEXT_TOKEN_KIND_PART = 0,  /* one part of a word, lower-cased and stemmed */
    TEXT_TOKEN_KIND_WHOLE = 1, /* a whole multi-part identifier, lower-cased, '_' removed */
} text_token_kind;

/* A token stream: token i is the bytes str + off[i] of length len[i] (not
** NUL-terminated). Reused across calls: text_tokenize resets it. */
typedef struct text_tokens {
    char *str;        /* owned byte arena holding all token texts */
    size_t str_len;   /* bytes used in str */
    size_t str_cap;   /* bytes allocated for str */
    uint32_t *off;    /* offset of each token in str */
    uint16_t *len;    /* length in bytes of each token */
    uint8_t *kind;    /* text_token_kind of each token */
    uint32_t n;       /* number of tokens */
    uint32_t cap;     /* tokens allocated */
} text_tokens;

typedef struct text_tokenizer text_tokenizer;

/* Create a tokenizer (Snowball English stemmer + stem cache). NULL with err
** set on allocation failure. Free with text_tokenizer_free. */
text_tokenizer *text_tokenizer_new(sc_err *err);
/* Release a tokenizer; NULL is a no-op. */
void text_tokenizer_free(text_tokenizer *tk);

/* Tokenize n bytes of s (any bytes; invalid UTF-8 is a separator) into out,
** replacing its contents. Stops after max_tokens tokens (0 = no limit).
** SC_NOMEM on allocation failure (out is then empty). */
sc_status text_tokenize(text_tokenizer *tk, const char *s, size_t n, uint32_t max_tokens, text_tokens *out);
/* Tokenize all of s[0..n) into out (no limit; out->n counts every token)
** and set *cut to the length of the longest prefix of s that ends at a word
** boundary and yields at most max_tokens tokens (n when all fit): where a
** text is truncated "on a token boundary". SC_NOMEM as text_tokenize. */
sc_status text_tokenize_cut(text_tokenizer *tk, const char *s, size_t n, uint32_t max_tokens, text_tokens *out,
                            size_t *cut);
/* Release the memory of a token stream (not the struct); safe on zeroed. */
void text_tokens_free(text_tokens *t);

/* ==== String map ==== */

/* An insert-only map from byte strings to dense ids 0..n-1 (open
** addressing). Used for vocabularies (model, BM25). Read-only use
** (text_strmap_find) is thread safe. */
typedef struct text_strmap {
    uint32_t *slots;   /* id + 1 per slot, 0 = empty; cap slots */
    uint64_t *hashes;  /* hash of each id's string */
    char *str;         /* owned arena of all strings */
    size_t str_len;    /* bytes used in str */
    size_t str_cap;    /* bytes allocated in str */
    uint32_t *off;     /* offset of each id's string in str */
    uint16_t *len;     /* length of each id's string */
    uint32_t n;        /* number of ids */
    uint32_t n_cap;    /* ids allocated in off/len/hashes */
    uint32_t cap;      /* slots (power of two, at most half full) */
} text_strmap;

/* Id of string p[0..n) or UINT32_MAX if absent. */
uint32_t text_strmap_find(const text_strmap *m, const char *p, size_t n);
/* Id of p[0..n), inserting it if absent (*added set when inserted, may be
** NULL). UINT32_MAX on allocation failure. */
uint32_t text_strmap_add(text_strmap *m, const char *p, size_t n, int *added);
/* Release the map's memory; safe on a zeroed map. */
void text_strmap_free(text_strmap *m);

/* ==== BM25 ==== */

/* An in-memory BM25 index over a fixed set of documents given as token
** streams (k1, b configurable; defaults 1.2 and 0.75). Built once, then
** scored read-only from any number of threads. */
typedef struct text_bm25 text_bm25;

/* Build from n_docs token streams. NULL with err set on failure. */
text_bm25 *text_bm25_build(const text_tokens *docs, uint32_t n_docs, float k1, float b, sc_err *err);
/* Free; NULL is a no-op. */
void text_bm25_free(text_bm25 *bm);
/* Score every document for a query: scores[n_docs] (caller-owned) is
** overwritten. Query tokens are deduplicated. */
void text_bm25_score(const text_bm25 *bm, const text_tokens *query, float *scores);
/* Number of documents. */
uint32_t text_bm25_n_docs(const text_bm25 *bm);

/* ==== Full-text tokenizer (payload text indexes) ==== */

/* How text is split into words, as Qdrant's text index `tokenizer`. */
typedef enum text_ft_tokenizer {
    TEXT_FT_TOKENIZER_WORD = 0,         /* runs of letters, marks and digits (Unicode) */
    TEXT_FT_TOKENIZER_WHITESPACE = 1,   /* runs of non-white-space characters */
    TEXT_FT_TOKENIZER_PREFIX = 2,       /* words; documents index every prefix, queries keep the word */
    TEXT_FT_TOKENIZER_MULTILINGUAL = 3, /* words, and each CJK ideograph or kana on its own */
    TEXT_FT_TOKENIZER_CODE = 4,         /* words split into identifier parts (snake_case, camelCase, digits) */
} text_ft_tokenizer;

/* Which side of a match a text is tokenized for (only the prefix tokenizer differs). */
typedef enum text_ft_mode {
    TEXT_FT_MODE_DOC = 0,   /* a stored value */
    TEXT_FT_MODE_QUERY = 1, /* match.text / match.text_any */
} text_ft_mode;

/* Options of a full-text tokenizer (Qdrant's TextIndexParams). Borrowed by text_ft_new. */
typedef struct text_ft_params {
    text_ft_tokenizer tokenizer;     /* how words are found */
    bool lowercase;                  /* lower-case tokens (Unicode simple case mapping) */
    bool ascii_folding;              /* strip accents: decompose and drop combining marks */
    uint32_t min_token_len;          /* tokens of fewer characters are dropped (0 = none) */
    uint32_t max_token_len;          /* tokens of more characters are dropped; prefixes stop there (0 = none) */
    const char *stemmer;             /* Snowball language ("english"), NULL = no stemming */
    bool stop_english;               /* drop English stop words */
    const char *const *stopwords;    /* custom stop words (lower-cased when lowercase is set) */
    size_t n_stopwords;              /* entries of stopwords */
} text_ft_params;

/* A configured tokenizer; reference-counted and immutable, so one may be
** shared by any number of threads (stemming is serialised inside). */
typedef struct text_ft text_ft;

/* Called for each token in order: len bytes at tok (valid until the call returns). */
typedef void (*text_ft_token_fn)(const char *tok, size_t len, void *arg);

/* Create a tokenizer with one reference. NULL with err set: SC_INVALID for an
** unknown stemmer language (the message names it), SC_NOMEM. */
text_ft *text_ft_new(const text_ft_params *p, sc_err *err);
/* Take another reference; returns ft. */
text_ft *text_ft_ref(text_ft *ft);
/* Drop a reference (the last frees it); NULL is a no-op. */
void text_ft_free(text_ft *ft);
/* Tokenize s[0..n) (any bytes: invalid UTF-8 separates words) and call fn
** on each token. SC_NOMEM when scratch memory runs out (some tokens may
** have been delivered). */
sc_status text_ft_tokenize(text_ft *ft, const char *s, size_t n, text_ft_mode mode, text_ft_token_fn fn, void *arg);
/* Whether Snowball has a stemmer for language (e.g. "english"). */
bool text_ft_stemmer_known(const char *language);
/* Whether name is a stop-word language this build ships ("english"). */
bool text_ft_stop_language_known(const char *name);

#endif /* SC_TEXT_H */
