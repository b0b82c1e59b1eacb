/*
** text/bm25.c: Okapi BM25 over token streams, in memory (term → postings of
** (doc, tf)); idf = ln(1 + (N - df + 0.5) / (df + 0.5)). Used by
** `semcode eval` now and meant for the store's sparse index later.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

typedef struct text__posting {
    uint32_t doc; /* document index */
    uint32_t tf;  /* occurrences of the term in it */
} text__posting;

struct text_bm25 {
    text_strmap terms;      /* term → term id */
    uint32_t *post_start;   /* first posting of each term (n_terms + 1 entries) */
    text__posting *post;    /* postings grouped by term, docs ascending */
    float *idf;             /* per term */
    float *norm;            /* per doc: k1 * (1 - b + b * dl / avgdl) */
    uint32_t n_docs;        /* documents */
    float k1;               /* term-frequency saturation */
};

void text_bm25_free(text_bm25 *bm) {
    if (!bm) return;
    text_strmap_free(&bm->terms);
    free(bm->post_start);
    free(bm->post);
    free(bm->idf);
    free(bm->norm);
    free(bm);
}

uint32_t text_bm25_n_docs(const text_bm25 *bm) { return bm->n_docs; }

text_bm25 *text_bm25_build(const text_tokens *docs, uint32_t n_docs, float k1, float b, sc_err *err) {
    text_bm25 *bm = calloc(1, sizeof *bm);
    uint32_t *tid = NULL, *cnt = NULL;
    size_t total = 0;
    for (uint32_t d = 0; d < n_docs; d++) total += docs[d].n;
    if (!bm) goto nomem;
    bm->n_docs = n_docs;
    bm->k1 = k1;
    tid = malloc((total + 1) * sizeof *tid);
    bm->norm = malloc((n_docs + 1) * sizeof *bm->norm);
    if (!tid || !bm->norm) goto nomem;
    /* term ids of every token, in document order */
    size_t k = 0;
    for (uint32_t d = 0; d < n_docs; d++)
        for (uint32_t i = 0; i < docs[d].n; i++) {
            uint32_t t = text_strmap_add(&bm->terms, docs[d].str + docs[d].off[i], docs[d].len[i], NULL);
            if (t == UINT32_MAX) goto nomem;
            tid[k++] = t;
        }
    uint32_t nt = bm->terms.n;
    cnt = calloc(nt + 1, sizeof *cnt);
    uint32_t *last = malloc((nt + 1) * sizeof *last);
    bm->post_start = calloc(nt + 2, sizeof *bm->post_start);
    bm->idf = malloc((nt + 1) * sizeof *bm->idf);
    if (!cnt || !last || !bm->post_start || !bm->idf) {
        free(last);
        goto nomem;
    }
    /* pass 1: document frequency per term */
    for (uint32_t t = 0; t < nt; t++) last[t] = UINT32_MAX;
    k = 0;
    size_t n_post = 0;
    for (uint32_t d = 0; d < n_docs; d++)
        for (uint32_t i = 0; i < docs[d].n; i++, k++)
            if (last[tid[k]] != d) last[tid[k]] = d, cnt[tid[k]]++, n_post++;
    for (uint32_t t = 0; t < nt; t++) bm->post_start[t + 1] = bm->post_start[t] + cnt[t];
    bm->post = malloc((n_post + 1) * sizeof *bm->post);
    if (!bm->post) {
        free(last);
        goto nomem;
    }
    /* pass 2: postings (docs ascending within a term) */
    for (uint32_t t = 0; t < nt; t++) last[t] = UINT32_MAX, cnt[t] = 0;
    k = 0;
    for (uint32_t d = 0; d < n_docs; d++)
        for (uint32_t i = 0; i < docs[d].n; i++, k++) {
            uint32_t t = tid[k];
            if (last[t] != d) {
                last[t] = d;
                bm->post[bm->post_start[t] + cnt[t]++] = (text__posting){d, 1};
            } else {
                bm->post[bm->post_start[t] + cnt[t] - 1].tf++;
            }
        }
    free(last);
    double avgdl = n_docs ? (double)total / n_docs : 1.0;
    if (avgdl <= 0) avgdl = 1.0;
    for (uint32_t d = 0; d < n_docs; d++)
        bm->norm[d] = (float)((double)k1 * (1.0 - (double)b + (double)b * docs[d].n / avgdl));
    for (uint32_t t = 0; t < nt; t++) {
        double df = cnt[t];
        bm->idf[t] = (float)log(1.0 + (n_docs - df + 0.5) / (df + 0.5));
    }
    free(tid);
    free(cnt);
    return bm;
nomem:
    free(tid);
    free(cnt);
    text_bm25_free(bm);
    sc_err_set(err, SC_NOMEM, "out of memory building a BM25 index of %u documents", n_docs);
    return NULL;
}

void text_bm25_score(const text_bm25 *bm, const text_tokens *query, float *scores) {
    memset(scores, 0, bm->n_docs * sizeof *scores);
    for (uint32_t i = 0; i < query->n; i++) {
        const char *p = query->str + query->off[i];
        uint32_t t = text_strmap_find(&bm->terms, p, query->len[i]);
        if (t == UINT32_MAX) continue;
        int dup = 0; /* a repeated query term counts once */
        for (uint32_t j = 0; j < i && !dup; j++)
            dup = query->len[j] == query->len[i] && !memcmp(query->str + query->off[j], p, query->len[i]);
        if (dup) continue;
        float idf = bm->idf[t], k1p = bm->k1 + 1.0f;
        for (uint32_t q = bm->post_start[t]; q < bm->post_start[t + 1]; q++) {
            float tf = (float)bm->post[q].tf;
            scores[bm->post[q].doc] += idf * tf * k1p / (tf + bm->norm[bm->post[q].doc]);
        }
    }
}
