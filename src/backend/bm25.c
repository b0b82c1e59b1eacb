/*
** backend/bm25.c: BM25 terms as a sparse vector, for backends that keep
** keyword terms as sparse vectors (Qdrant). The tokens are those the
** embedded store indexes (the code-aware tokenizer of src/text), so a
** keyword query finds the same words on either backend; the server's IDF
** modifier supplies the idf factor.
*/
#include "backend/backend.h"

#include <stdlib.h>
#include <string.h>

#include "text/text.h"

#define BM25_K1 1.2
#define BM25_B 0.75
#define BM25_MAX_TOKENS 20000u /* as the embedded store's keyword index */

/* One (index, count) pair while counting. */
typedef struct bm25_term {
    uint32_t index; /* 32-bit hash of the token */
    uint32_t tf;    /* occurrences */
} bm25_term;

static int bm25__cmp(const void *x, const void *y) {
    const bm25_term *a = x, *b = y;
    return a->index < b->index ? -1 : a->index > b->index;
}

sc_status backend_bm25_sparse(text_tokenizer *tk_in, const char *text, bool query, uint32_t **indices, float **values,
                              uint32_t *n) {
    *indices = NULL;
    *values = NULL;
    *n = 0;
    sc_err err = {0};
    text_tokenizer *tk = tk_in ? tk_in : text_tokenizer_new(&err);
    if (!tk) return SC_NOMEM;
    text_tokens toks = {0};
    sc_status rc = text_tokenize(tk, text ? text : "", text ? strlen(text) : 0, BM25_MAX_TOKENS, &toks);
    bm25_term *t = rc == SC_OK ? malloc(sizeof *t * (toks.n ? toks.n : 1)) : NULL;
    if (rc == SC_OK && !t) rc = SC_NOMEM;
    uint32_t m = 0;
    if (rc == SC_OK) {
        for (uint32_t i = 0; i < toks.n; i++)
            t[i] = (bm25_term){(uint32_t)util_hash64(toks.str + toks.off[i], toks.len[i], 0x626d3235), 1};
        if (toks.n) qsort(t, toks.n, sizeof *t, bm25__cmp);
        for (uint32_t i = 0; i < toks.n; i++) {
            if (m && t[m - 1].index == t[i].index) t[m - 1].tf++;
            else t[m++] = t[i];
        }
        *indices = malloc(sizeof **indices * (m ? m : 1));
        *values = malloc(sizeof **values * (m ? m : 1));
        if (!*indices || !*values) {
            free(*indices);
            free(*values);
            *indices = NULL;
            *values = NULL;
            rc = SC_NOMEM;
        }
    }
    if (rc == SC_OK) {
        double norm = BM25_K1 * (1.0 - BM25_B + BM25_B * (double)toks.n / BACKEND_BM25_AVGDL);
        for (uint32_t i = 0; i < m; i++) {
            double tf = (double)t[i].tf;
            (*indices)[i] = t[i].index;
            (*values)[i] = query ? 1.0f : (float)(tf * (BM25_K1 + 1.0) / (tf + norm));
        }
        *n = m;
    }
    free(t);
    text_tokens_free(&toks);
    if (!tk_in) text_tokenizer_free(tk);
    return rc;
}
