/*
** store/filter_text.c: text conditions (match text / text_any / phrase) on
** keys that have a full-text index.
**
** Without an index Qdrant compares substrings; with one it compares the
** index's tokens, and so does semcode: filter_bind, run under the store's
** lock once a filter is compiled, gives each such condition a reference to
** the index's tokenizer and the query's tokens, and filter_text_eval then
** tokenizes the point's values the same way. Qdrant's rules (its full-text
** index, v1.19):
** - text: every query token (tokenized as a query) is among the tokens of
**   the point's values (all values together); no query token: no match;
** - text_any: one query token is;
** - phrase: the phrase, tokenized as a document, appears as consecutive
**   tokens of one value; only when the index keeps positions
**   (phrase_matching), otherwise nothing matches; an empty phrase matches
**   nothing.
** Inside a nested condition keys are relative to the array's objects: the
** index on "a[].b" serves key "b" under nested key "a" (or "a[]"). The
** payload index answers text / text_any exactly from its posting
** bitmaps and narrows phrases to the points holding every token
** (pindex.c); this file is the check both paths agree with.
*/
#include "store/filter_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

/* ==== Binding ==== */

void filter_text_unbind(filter_cond *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_qtok; i++) free(c->qtok[i].s);
    free(c->qtok);
    c->qtok = NULL;
    c->n_qtok = 0;
    text_ft_free(c->ft);
    c->ft = NULL;
}

/* Collects query tokens into a condition. */
typedef struct filter_text__collect {
    filter_cond *c;  /* condition receiving tokens */
    size_t cap;      /* entries allocated in c->qtok */
    bool unique;     /* skip tokens already present */
    bool oom;        /* an allocation failed */
} filter_text__collect;

static void filter_text__collect_cb(const char *tok, size_t len, void *arg) {
    filter_text__collect *k = arg;
    filter_cond *c = k->c;
    if (k->oom) return;
    if (k->unique)
        for (size_t i = 0; i < c->n_qtok; i++)
            if (c->qtok[i].len == len && !memcmp(c->qtok[i].s, tok, len)) return;
    char *s = malloc(len + 1);
    if (!s || !util_grow(&c->qtok, &k->cap, c->n_qtok + 1, sizeof *c->qtok, 4)) {
        free(s);
        k->oom = true;
        return;
    }
    memcpy(s, tok, len);
    s[len] = '\0';
    c->qtok[c->n_qtok++] = (filter_str){s, len};
}

/* The text index on prefix + p (prefix: the path of the enclosing nested
** conditions, "" at the top), or NULL. */
static const store_pindex *filter_text__index(store_pindex *const *ixs, size_t n, const char *prefix,
                                              const filter_path *p) {
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < n; i++) {
        const char *key = ixs[i] && pindex_type(ixs[i]) == SC_FIELD_TYPE_TEXT ? pindex_key(ixs[i]) : NULL;
        if (key && !strncmp(key, prefix, pl) && !strcmp(key + pl, p->text)) return ixs[i];
    }
    return NULL;
}

static sc_status filter_text__bind_filter(store_filter *f, store_pindex *const *ixs, size_t n_ixs, const char *prefix);

static sc_status filter_text__bind_cond(filter_cond *c, store_pindex *const *ixs, size_t n_ixs, const char *prefix) {
    if (c->kind == FILTER_COND_KIND_FILTER) return filter_text__bind_filter(c->sub, ixs, n_ixs, prefix);
    if (c->kind == FILTER_COND_KIND_NESTED) {
        /* Inside, keys are relative to the array's objects: "a" + "b" is "a[].b", as Qdrant names them. */
        const char *k = c->path.text;
        size_t kl = strlen(k), pl = strlen(prefix);
        bool has_all = kl >= 2 && !strcmp(k + kl - 2, "[]");
        char *inner = malloc(pl + kl + 4);
        if (!inner) return SC_NOMEM;
        snprintf(inner, pl + kl + 4, "%s%s%s.", prefix, k, has_all ? "" : "[]");
        sc_status rc = filter_text__bind_filter(c->sub, ixs, n_ixs, inner);
        free(inner);
        return rc;
    }
    if (c->kind != FILTER_COND_KIND_MATCH || c->ft) return SC_OK;
    if (c->match != FILTER_MATCH_KIND_TEXT && c->match != FILTER_MATCH_KIND_TEXT_ANY &&
        c->match != FILTER_MATCH_KIND_PHRASE)
        return SC_OK;
    const store_pindex *ix = filter_text__index(ixs, n_ixs, prefix, &c->path);
    bool phrase = false;
    text_ft *ft = ix ? pindex_text_ft(ix, &phrase) : NULL;
    if (!ft) return SC_OK;
    c->ft = text_ft_ref(ft);
    c->ft_phrase = phrase;
    bool is_phrase = c->match == FILTER_MATCH_KIND_PHRASE;
    filter_text__collect k = {c, 0, !is_phrase, false};
    for (size_t i = 0; i < c->n_strs && !k.oom; i++)
        if (text_ft_tokenize(ft, c->strs[i].s, c->strs[i].len, is_phrase ? TEXT_FT_MODE_DOC : TEXT_FT_MODE_QUERY,
                             filter_text__collect_cb, &k) != SC_OK)
            k.oom = true;
    return k.oom ? SC_NOMEM : SC_OK;
}

static sc_status filter_text__bind_conds(filter_cond *cs, size_t n, store_pindex *const *ixs, size_t n_ixs,
                                         const char *prefix) {
    for (size_t i = 0; i < n; i++) {
        sc_status rc = filter_text__bind_cond(&cs[i], ixs, n_ixs, prefix);
        if (rc != SC_OK) return rc;
    }
    return SC_OK;
}

static sc_status filter_text__bind_filter(store_filter *f, store_pindex *const *ixs, size_t n_ixs, const char *prefix) {
    if (!f) return SC_OK;
    sc_status rc = filter_text__bind_conds(f->must, f->n_must, ixs, n_ixs, prefix);
    if (rc == SC_OK) rc = filter_text__bind_conds(f->should, f->n_should, ixs, n_ixs, prefix);
    if (rc == SC_OK) rc = filter_text__bind_conds(f->must_not, f->n_must_not, ixs, n_ixs, prefix);
    if (rc == SC_OK) rc = filter_text__bind_conds(f->min_should, f->n_min_should, ixs, n_ixs, prefix);
    return rc;
}

sc_status filter_bind(store_filter *f, store_pindex *const *ixs, size_t n_ixs) {
    return n_ixs ? filter_text__bind_filter(f, ixs, n_ixs, "") : SC_OK;
}

/* ==== Evaluation ==== */

/* State of the check of one point. */
typedef struct filter_text__eval {
    const filter_cond *c; /* bound condition */
    bool *found;          /* text / text_any: query token i seen */
    int32_t *seq;         /* phrase: the value's tokens as query positions (-1: not in the phrase) */
    size_t n_seq;         /* used in seq */
    size_t cap_seq;       /* allocated in seq */
    bool hit;             /* phrase: some value holds it */
    bool oom;             /* an allocation failed (the point does not match) */
} filter_text__eval;

/* Position of the first query token equal to tok, or -1. */
static int32_t filter_text__find(const filter_cond *c, const char *tok, size_t len) {
    for (size_t i = 0; i < c->n_qtok; i++)
        if (c->qtok[i].len == len && !memcmp(c->qtok[i].s, tok, len)) return (int32_t)i;
    return -1;
}

static void filter_text__token_cb(const char *tok, size_t len, void *arg) {
    filter_text__eval *e = arg;
    int32_t at = filter_text__find(e->c, tok, len);
    if (e->c->match != FILTER_MATCH_KIND_PHRASE) {
        if (at >= 0) e->found[at] = true;
        return;
    }
    if (!util_grow(&e->seq, &e->cap_seq, e->n_seq + 1, sizeof *e->seq, 16)) {
        e->oom = true;
        return;
    }
    e->seq[e->n_seq++] = at;
}

/* Does seq hold the phrase (each token as its first position in qtok) consecutively? */
static bool filter_text__has_phrase(const filter_text__eval *e) {
    const filter_cond *c = e->c;
    size_t m = c->n_qtok;
    for (size_t s = 0; s + m <= e->n_seq; s++) {
        size_t j = 0;
        while (j < m && e->seq[s + j] == filter_text__find(c, c->qtok[j].s, c->qtok[j].len)) j++;
        if (j == m) return true;
    }
    return false;
}

static void filter_text__value_cb(const json_t *v, void *arg) {
    filter_text__eval *e = arg;
    if (!json_is_string(v) || e->oom || e->hit) return;
    e->n_seq = 0;
    if (text_ft_tokenize(e->c->ft, json_string_value(v), json_string_length(v), TEXT_FT_MODE_DOC,
                         filter_text__token_cb, e) != SC_OK)
        e->oom = true;
    if (e->c->match == FILTER_MATCH_KIND_PHRASE && !e->oom && filter_text__has_phrase(e)) e->hit = true;
}

bool filter_text_eval(const filter_cond *c, const json_t *payload) {
    if (!c->ft || c->n_qtok == 0 || !payload) return false;
    if (c->match == FILTER_MATCH_KIND_PHRASE && !c->ft_phrase) return false;
    bool found_small[32];
    filter_text__eval e = {.c = c};
    if (c->match != FILTER_MATCH_KIND_PHRASE) {
        e.found = c->n_qtok <= 32 ? found_small : calloc(c->n_qtok, sizeof *e.found);
        if (!e.found) return false;
        memset(e.found, 0, c->n_qtok * sizeof *e.found);
    }
    filter_path_visit(&c->path, payload, true, filter_text__value_cb, &e);
    bool ok = false;
    if (!e.oom) {
        if (c->match == FILTER_MATCH_KIND_PHRASE) {
            ok = e.hit;
        } else {
            bool all = true, any = false;
            for (size_t i = 0; i < c->n_qtok; i++) {
                all = all && e.found[i];
                any = any || e.found[i];
            }
            ok = c->match == FILTER_MATCH_KIND_TEXT ? all : any;
        }
    }
    if (e.found != found_small) free(e.found);
    free(e.seq);
    return ok;
}
