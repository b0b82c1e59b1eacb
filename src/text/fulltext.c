/*
** text/fulltext.c: the tokenizer of payload full-text indexes, with the
** options of Qdrant's text index (tokenizer word / whitespace / prefix /
** multilingual / code, lowercase, ascii_folding, min / max token length,
** stop words, Snowball stemming).
**
** Each word found by the tokenizer goes through the same steps, in Qdrant's
** order: ASCII folding, lower-casing, the stop-word test, stemming, then the
** length limits (counted in characters). The prefix tokenizer indexes every
** prefix of a document word from min_token_len characters up to
** max_token_len; its queries keep the whole word (cut to max_token_len) and
** skip the stop-word test, so a partly typed word still matches. Without
** max_token_len prefixes stop at TEXT_FT__PREFIX_CAP characters.
**
** Differences from Qdrant, on purpose or for lack of a dictionary: the
** multilingual tokenizer makes each CJK ideograph and kana a token of its
** own (Qdrant segments them with dictionaries), Thai and other scripts
** without spaces stay one word; the code tokenizer (Qdrant 1.20) yields the
** parts of an identifier only: `getUserName` and `get_user_name` both give
** get, user, name. Stop words: English (the list below) and custom lists.
**
** Thread safety: a text_ft is immutable after text_ft_new except for the
** Snowball stemmer, which is not reentrant: stemming takes ft->lock.
*/
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>
#include <utf8proc.h>

#include "text/text.h"

/* English stop words: function words (articles, pronouns, auxiliaries,
** conjunctions, prepositions) that carry no topic, and the pieces the word
** tokenizer makes of contractions ("don't" -> don, t). Sorted (strcmp) for
** bsearch. */
static const char *const text_ft__english[] = {
    "a", "about", "above", "after", "again", "against", "ain", "all", "am", "an", "and", "any", "are", "aren",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can",
    "could", "couldn", "d", "did", "didn", "do", "does", "doesn", "doing", "don", "down", "during", "each",
    "few", "for", "from", "further", "had", "hadn", "has", "hasn", "have", "haven", "having", "he", "her",
    "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "isn", "it",
    "its", "itself", "just", "ll", "m", "ma", "me", "mightn", "more", "most", "mustn", "my", "myself", "needn",
    "no", "nor", "not", "now", "o", "of", "off", "on", "once", "only", "or", "other", "our", "ours",
    "ourselves", "out", "over", "own", "re", "s", "same", "shan", "she", "should", "shouldn", "so", "some",
    "such", "t", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these",
    "they", "this", "those", "through", "to", "too", "under", "until", "up", "ve", "very", "was", "wasn", "we",
    "were", "weren", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "won",
    "would", "wouldn", "y", "you", "your", "yours", "yourself", "yourselves",
};

/* Longest prefix the prefix tokenizer indexes when max_token_len is not
** set: all prefixes of a word of n characters take O(n^2) bytes, so one
** long word could exhaust memory. Queries are cut to the same length, so
** only words sharing their first 64 characters become indistinguishable. */
#define TEXT_FT__PREFIX_CAP 64

struct text_ft {
    text_ft_params p;               /* options (pointers below replace the caller's) */
    char **stop;                    /* owned custom stop words, sorted (lower-cased if p.lowercase) */
    size_t n_stop;                  /* entries of stop */
    struct sb_stemmer *stemmer;     /* NULL = no stemming */
    pthread_mutex_t lock;           /* serialises stemmer */
    int refs;                       /* references (atomic) */
};

static int text_ft__strcmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool text_ft_stemmer_known(const char *language) {
    if (!language) return false;
    for (const char **l = sb_stemmer_list(); *l; l++)
        if (!strcmp(*l, language)) return true;
    return false;
}

bool text_ft_stop_language_known(const char *name) {
    return name && !strcmp(name, "english");
}

/* ==== Scratch text ==== */

/* A growable byte buffer. */
typedef struct text_ft__buf {
    char *s;    /* bytes (NUL-terminated when used as a word) */
    size_t n;   /* used */
    size_t cap; /* allocated */
} text_ft__buf;

static bool text_ft__put(text_ft__buf *b, const void *p, size_t n) {
    if (!util_grow(&b->s, &b->cap, b->n + n + 1, 1, 64)) return false;
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = '\0';
    return true;
}

static bool text_ft__put_cp(text_ft__buf *b, int32_t cp) {
    utf8proc_uint8_t u[4];
    utf8proc_ssize_t k = utf8proc_encode_char(cp, u);
    return k > 0 && text_ft__put(b, u, (size_t)k);
}

/* Characters in s[0..n) (valid UTF-8). */
static size_t text_ft__chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Byte length of the first k characters of s[0..n). */
static size_t text_ft__char_prefix(const char *s, size_t n, size_t k) {
    size_t i = 0;
    while (i < n && k) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
        k--;
    }
    return i;
}

/* ==== Life cycle ==== */

text_ft *text_ft_new(const text_ft_params *p, sc_err *err) {
    if (!p) {
        sc_err_set(err, SC_MISUSE, "text_ft_new: NULL params");
        return NULL;
    }
    if (p->stemmer && !text_ft_stemmer_known(p->stemmer)) {
        sc_err_set(err, SC_INVALID, "stemmer language `%.60s` is not known to Snowball", p->stemmer);
        return NULL;
    }
    text_ft *ft = calloc(1, sizeof *ft);
    if (!ft) goto nomem;
    ft->p = *p;
    ft->p.stemmer = NULL;
    ft->p.stopwords = NULL;
    ft->p.n_stopwords = 0;
    ft->refs = 1;
    if (pthread_mutex_init(&ft->lock, NULL) != 0) {
        free(ft);
        goto nomem;
    }
    if (p->stemmer && !(ft->stemmer = sb_stemmer_new(p->stemmer, "UTF_8"))) goto fail;
    if (p->n_stopwords && !(ft->stop = calloc(p->n_stopwords, sizeof *ft->stop))) goto fail;
    for (size_t i = 0; i < p->n_stopwords; i++) {
        const char *w = p->stopwords[i] ? p->stopwords[i] : "";
        text_ft__buf b = {0};
        size_t n = strlen(w);
        for (size_t k = 0; k < n;) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)w + k, (utf8proc_ssize_t)(n - k), &cp);
            if (l <= 0) {
                l = 1;
                cp = 0xFFFD;
            }
            if (!text_ft__put_cp(&b, p->lowercase ? utf8proc_tolower(cp) : cp)) {
                free(b.s);
                goto fail;
            }
            k += (size_t)l;
        }
        if (!b.s && !text_ft__put(&b, "", 0)) goto fail;
        ft->stop[ft->n_stop++] = b.s;
    }
    if (ft->n_stop > 1) qsort(ft->stop, ft->n_stop, sizeof *ft->stop, text_ft__strcmp);
    return ft;
fail:
    text_ft_free(ft);
nomem:
    sc_err_set(err, SC_NOMEM, "out of memory creating a text tokenizer");
    return NULL;
}

text_ft *text_ft_ref(text_ft *ft) {
    if (ft) __atomic_add_fetch(&ft->refs, 1, __ATOMIC_RELAXED);
    return ft;
}

void text_ft_free(text_ft *ft) {
    if (!ft || __atomic_sub_fetch(&ft->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    for (size_t i = 0; i < ft->n_stop; i++) free(ft->stop[i]);
    free(ft->stop);
    if (ft->stemmer) sb_stemmer_delete(ft->stemmer);
    pthread_mutex_destroy(&ft->lock);
    free(ft);
}

/* ==== Token processing ==== */

/* State of one tokenize call. */
typedef struct text_ft__run {
    text_ft *ft;           /* tokenizer */
    text_ft_mode mode;     /* document or query */
    text_ft_token_fn fn;   /* receiver */
    void *arg;             /* its argument */
    text_ft__buf word;     /* the word being processed */
    text_ft__buf tmp;      /* second buffer */
    bool oom;              /* an allocation failed */
} text_ft__run;

static bool text_ft__is_stop(const text_ft *ft, const char *w) {
    if (ft->p.stop_english &&
        bsearch(&w, text_ft__english, sizeof text_ft__english / sizeof *text_ft__english, sizeof *text_ft__english,
                text_ft__strcmp))
        return true;
    return ft->n_stop && bsearch(&w, ft->stop, ft->n_stop, sizeof *ft->stop, text_ft__strcmp);
}

/* Fold and lower-case w[0..n) into r->word. */
static bool text_ft__normalise(text_ft__run *r, const char *w, size_t n) {
    const text_ft *ft = r->ft;
    r->word.n = 0;
    const utf8proc_uint8_t *src = (const utf8proc_uint8_t *)w;
    utf8proc_uint8_t *folded = NULL;
    utf8proc_ssize_t len = (utf8proc_ssize_t)n;
    if (ft->p.ascii_folding) {
        utf8proc_ssize_t k = utf8proc_map(src, len, &folded, UTF8PROC_COMPOSE | UTF8PROC_STRIPMARK);
        if (k >= 0) {
            src = folded;
            len = k;
        }
    }
    bool ok = true;
    for (utf8proc_ssize_t i = 0; i < len && ok;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate(src + i, len - i, &cp);
        if (l <= 0) break; /* the splitter only passes valid UTF-8 */
        ok = text_ft__put_cp(&r->word, ft->p.lowercase ? utf8proc_tolower(cp) : cp);
        i += l;
    }
    free(folded);
    if (ok && !r->word.s) ok = text_ft__put(&r->word, "", 0);
    if (!ok) r->oom = true;
    return ok;
}

/* Stem r->word in place. */
static void text_ft__stem(text_ft__run *r) {
    text_ft *ft = r->ft;
    if (!ft->stemmer || !r->word.n) return;
    pthread_mutex_lock(&ft->lock);
    const sb_symbol *st = sb_stemmer_stem(ft->stemmer, (const sb_symbol *)r->word.s, (int)r->word.n);
    int sn = st ? sb_stemmer_length(ft->stemmer) : -1;
    if (st && sn >= 0) {
        r->tmp.n = 0;
        if (!text_ft__put(&r->tmp, st, (size_t)sn)) r->oom = true;
    }
    pthread_mutex_unlock(&ft->lock);
    if (st && sn >= 0 && !r->oom) {
        text_ft__buf t = r->word;
        r->word = r->tmp;
        r->tmp = t;
    }
}

/* Qdrant's process_token: fold, lower-case, stop words, stem, length. */
static void text_ft__emit(text_ft__run *r, const char *w, size_t n) {
    const text_ft *ft = r->ft;
    if (n == 0 || r->oom) return;
    if (!text_ft__normalise(r, w, n) || r->word.n == 0) return; /* folding may leave nothing (a lone mark) */
    bool prefix = ft->p.tokenizer == TEXT_FT_TOKENIZER_PREFIX;
    if (prefix && r->mode == TEXT_FT_MODE_QUERY) {
        /* Whole word cut to max_token_len; no stop words (a prefix may be one). */
        text_ft__stem(r);
        size_t chars = text_ft__chars(r->word.s, r->word.n);
        if (r->oom || !chars || (ft->p.min_token_len && chars < ft->p.min_token_len)) return;
        size_t len = r->word.n, max = ft->p.max_token_len ? ft->p.max_token_len : TEXT_FT__PREFIX_CAP;
        if (chars > max) len = text_ft__char_prefix(r->word.s, r->word.n, max);
        r->fn(r->word.s, len, r->arg);
        return;
    }
    if (text_ft__is_stop(ft, r->word.s)) return;
    text_ft__stem(r);
    if (r->oom) return;
    size_t chars = text_ft__chars(r->word.s, r->word.n);
    if (!chars || (ft->p.min_token_len && chars < ft->p.min_token_len)) return;
    if (!prefix) {
        if (ft->p.max_token_len && chars > ft->p.max_token_len) return;
        r->fn(r->word.s, r->word.n, r->arg);
        return;
    }
    /* Document side of the prefix tokenizer: prefixes of min..max characters. */
    size_t lo = ft->p.min_token_len ? ft->p.min_token_len : 1;
    size_t hi = ft->p.max_token_len ? ft->p.max_token_len : TEXT_FT__PREFIX_CAP;
    for (size_t k = lo; k <= hi; k++) {
        if (k >= chars) {
            r->fn(r->word.s, r->word.n, r->arg);
            break;
        }
        r->fn(r->word.s, text_ft__char_prefix(r->word.s, r->word.n, k), r->arg);
    }
}

/* ==== Splitting ==== */

/* Character classes of the splitters. */
enum {
    TEXT_FT__SEP = 0,   /* separates words */
    TEXT_FT__LOWER = 1, /* letter without upper case (lower, title, other letters, marks) */
    TEXT_FT__UPPER = 2, /* upper-case letter */
    TEXT_FT__DIGIT = 3, /* number */
    TEXT_FT__CJK = 4,   /* ideograph or kana: a word of its own (multilingual) */
};

static bool text_ft__is_cjk(int32_t c) {
    return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FA1F);
}

static int text_ft__class(const text_ft *ft, int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    if (ft->p.tokenizer == TEXT_FT_TOKENIZER_WHITESPACE) {
        bool space = (c >= 9 && c <= 13) || c == ' ' || c == 0x85 || c == 0xA0 || c == 0x1680 ||
                     (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
                     c == 0x3000;
        return space ? TEXT_FT__SEP : TEXT_FT__LOWER;
    }
    if (ft->p.tokenizer == TEXT_FT_TOKENIZER_MULTILINGUAL && text_ft__is_cjk(c)) return TEXT_FT__CJK;
    switch (k) {
    case UTF8PROC_CATEGORY_LU: return TEXT_FT__UPPER;
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: return TEXT_FT__LOWER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return TEXT_FT__DIGIT;
    default: return TEXT_FT__SEP;
    }
}

/* One word of the code tokenizer, w[0..n), with the class of each
** character in cls: split at lower->upper, at the last upper of an upper
** run followed by a lower ("HTTPServer" -> HTTP, Server) and at letter /
** digit changes. */
static void text_ft__code_word(text_ft__run *r, const char *w, size_t n, const unsigned char *cls,
                               const size_t *at, size_t n_chars) {
    size_t start = 0; /* character index where the current part begins */
    for (size_t i = 1; i <= n_chars; i++) {
        bool brk = i == n_chars;
        if (!brk) {
            int a = cls[i - 1], b = cls[i];
            bool digit_a = a == TEXT_FT__DIGIT, digit_b = b == TEXT_FT__DIGIT;
            if (digit_a != digit_b) brk = true;
            else if (a == TEXT_FT__LOWER && b == TEXT_FT__UPPER) brk = true;
            else if (a == TEXT_FT__UPPER && b == TEXT_FT__UPPER && i + 1 < n_chars && cls[i + 1] == TEXT_FT__LOWER)
                brk = true;
        }
        if (brk) {
            size_t from = at[start], to = i == n_chars ? n : at[i];
            text_ft__emit(r, w + from, to - from);
            start = i;
        }
    }
}

sc_status text_ft_tokenize(text_ft *ft, const char *s, size_t n, text_ft_mode mode, text_ft_token_fn fn, void *arg) {
    if (!ft || !fn || (n && !s)) return SC_MISUSE;
    text_ft__run r = {.ft = ft, .mode = mode, .fn = fn, .arg = arg};
    bool code = ft->p.tokenizer == TEXT_FT_TOKENIZER_CODE;
    unsigned char *cls = NULL; /* code tokenizer: class of each character of the word */
    size_t *at = NULL;         /* and its byte offset */
    size_t cap = 0;
    size_t i = 0, word = 0, n_chars = 0;
    bool in_word = false;
    while (i <= n && !r.oom) {
        utf8proc_int32_t cp = -1;
        utf8proc_ssize_t l = 1;
        int c = TEXT_FT__SEP;
        if (i < n) {
            l = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
            if (l <= 0) l = 1; /* an invalid byte separates words */
            else c = text_ft__class(ft, cp);
        }
        if (c == TEXT_FT__SEP || c == TEXT_FT__CJK) {
            if (in_word) {
                if (code) text_ft__code_word(&r, s + word, i - word, cls, at, n_chars);
                else text_ft__emit(&r, s + word, i - word);
            }
            in_word = false;
            if (c == TEXT_FT__CJK) text_ft__emit(&r, s + i, (size_t)l);
        } else {
            if (!in_word) {
                in_word = true;
                word = i;
                n_chars = 0;
            }
            if (code) {
                size_t need = n_chars + 1;
                if (need > cap) {
                    size_t ncap = cap ? cap * 2 : 64;
                    unsigned char *nc = realloc(cls, ncap);
                    if (nc) cls = nc;
                    size_t *na = nc ? realloc(at, ncap * sizeof *na) : NULL;
                    if (!na) {
                        r.oom = true;
                        break;
                    }
                    at = na;
                    cap = ncap;
                }
                cls[n_chars] = (unsigned char)c;
                at[n_chars] = i - word;
            }
            n_chars++;
        }
        if (i == n) break;
        i += (size_t)l;
    }
    free(cls);
    free(at);
    free(r.word.s);
    free(r.tmp.s);
    return r.oom ? SC_NOMEM : SC_OK;
}
