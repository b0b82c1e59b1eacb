/*
** store/keyword.c: BM25 keyword search over a text given with each point
** (sc_point_in.text), tokenized by the code-aware tokenizer of src/text.
** The text itself is not stored, only its terms.
**
** DESIGN
** - Terms get dense ids in a per-collection dictionary (insert-only). New
**   terms are written to table kwterms(coll, id, term) in the same
**   transaction as the points that introduced them; ids of a rolled-back
**   batch stay in memory unpersisted and are written by the next successful
**   batch (ids >= n_persisted), so memory and disk ids always agree.
** - Each point's terms are stored as a blob in points.kw: varint count,
**   then (term id delta, tf) varint pairs in id order. In memory each slot
**   keeps the decoded pairs and its length in tokens.
** - Postings (term -> slots with tf) are derived: rebuilt from the per-slot
**   pairs on the first keyword query after a write (under a mutex, since
**   queries run under the shared lock). Writes stay cheap; the rebuild is
**   linear in the number of (slot, term) pairs.
** - Scoring is Okapi BM25 (k1 = 1.2, b = 0.75, idf = ln(1 + (N - df + 0.5)
**   / (df + 0.5))), ties by point id.
*/
#include "store/store_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

#define KW_K1 1.2
#define KW_B 0.75
#define KW_MAX_TOKENS 20000 /* tokens of one text that are indexed */

struct store_kw {
    text_strmap terms;          /* term -> id */
    uint32_t n_persisted;       /* ids below this are in table kwterms */
    uint32_t **doc;             /* per slot: [n, id0, tf0, id1, tf1, ...] or NULL */
    uint32_t *doc_len;          /* per slot: tokens in its text */
    uint32_t cap;               /* slots allocated in doc / doc_len */
    uint64_t n_docs;            /* slots with a text */
    uint64_t total_len;         /* sum of doc_len */
    pthread_mutex_t mu;         /* guards the postings rebuild and the query tokenizer */
    bool dirty;                 /* postings are out of date */
    uint32_t *post_off;         /* n_terms + 1 offsets into post_slot / post_tf */
    uint32_t *post_slot;        /* slots of each term's postings */
    uint32_t *post_tf;          /* their term frequencies */
    uint32_t n_post_terms;      /* terms covered by the postings */
    text_tokenizer *tk;         /* tokenizer (writer, or queries under mu) */
    text_tokens toks;           /* scratch token stream */
};

/* ==== Life cycle ==== */

store_kw *store_kw_new(void) {
    store_kw *kw = calloc(1, sizeof *kw);
    if (!kw) return NULL;
    sc_err err = {0};
    if (!(kw->tk = text_tokenizer_new(&err))) {
        free(kw);
        return NULL;
    }
    pthread_mutex_init(&kw->mu, NULL);
    kw->dirty = true;
    return kw;
}

void store_kw_free(store_kw *kw) {
    if (!kw) return;
    for (uint32_t s = 0; s < kw->cap; s++) free(kw->doc[s]);
    free(kw->doc);
    free(kw->doc_len);
    free(kw->post_off);
    free(kw->post_slot);
    free(kw->post_tf);
    text_strmap_free(&kw->terms);
    text_tokens_free(&kw->toks);
    text_tokenizer_free(kw->tk);
    pthread_mutex_destroy(&kw->mu);
    free(kw);
}

sc_status store_kw_reserve(store_kw *kw, uint32_t cap) {
    if (cap <= kw->cap) return SC_OK;
    uint32_t **d = realloc(kw->doc, sizeof *d * cap);
    if (!d) return store_fail(SC_NOMEM, "out of memory growing the keyword index");
    kw->doc = d;
    uint32_t *l = realloc(kw->doc_len, sizeof *l * cap);
    if (!l) return store_fail(SC_NOMEM, "out of memory growing the keyword index");
    kw->doc_len = l;
    memset(kw->doc + kw->cap, 0, sizeof *d * (cap - kw->cap));
    memset(kw->doc_len + kw->cap, 0, sizeof *l * (cap - kw->cap));
    kw->cap = cap;
    return SC_OK;
}

/* ==== Varints ==== */

static void kw__put(util_buf *b, uint32_t v) {
    uint8_t tmp[5];
    int n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    util_buf_append(b, tmp, (size_t)n);
}

static bool kw__get(const uint8_t **p, const uint8_t *end, uint32_t *v) {
    uint32_t x = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        if (*p >= end) return false;
        uint8_t c = *(*p)++;
        x |= (uint32_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* ==== Encoding one text ==== */

static int kw__pair_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

sc_status store_kw_encode(store_kw *kw, const char *text, uint32_t **doc_out, uint32_t *len_out, util_buf *blob) {
    *doc_out = NULL;
    *len_out = 0;
    blob->len = 0;
    if (!text || !*text) return SC_OK;
    if (text_tokenize(kw->tk, text, strlen(text), KW_MAX_TOKENS, &kw->toks) != SC_OK)
        return store_fail(SC_NOMEM, "out of memory tokenizing a text");
    uint32_t n = kw->toks.n;
    uint32_t *pairs = malloc(sizeof *pairs * 2 * (n ? n : 1));
    if (!pairs) return store_fail(SC_NOMEM, "out of memory tokenizing a text");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t id = text_strmap_add(&kw->terms, kw->toks.str + kw->toks.off[i], kw->toks.len[i], NULL);
        if (id == UINT32_MAX) {
            free(pairs);
            return store_fail(SC_NOMEM, "out of memory growing the term dictionary");
        }
        pairs[2 * i] = id;
        pairs[2 * i + 1] = 1;
    }
    qsort(pairs, n, sizeof(uint32_t) * 2, kw__pair_cmp);
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (m && pairs[2 * (m - 1)] == pairs[2 * i]) pairs[2 * (m - 1) + 1]++;
        else {
            pairs[2 * m] = pairs[2 * i];
            pairs[2 * m + 1] = 1;
            m++;
        }
    }
    uint32_t *doc = malloc(sizeof *doc * (1 + 2 * (size_t)m));
    if (!doc) {
        free(pairs);
        return store_fail(SC_NOMEM, "out of memory tokenizing a text");
    }
    doc[0] = m;
    memcpy(doc + 1, pairs, sizeof *doc * 2 * m);
    free(pairs);
    kw__put(blob, m);
    uint32_t prev = 0;
    for (uint32_t i = 0; i < m; i++) {
        kw__put(blob, doc[1 + 2 * i] - prev);
        kw__put(blob, doc[2 + 2 * i]);
        prev = doc[1 + 2 * i];
    }
    kw__put(blob, n); /* length in tokens */
    if (blob->oom) {
        free(doc);
        return store_fail(SC_NOMEM, "out of memory encoding terms");
    }
    *doc_out = doc;
    *len_out = n;
    return SC_OK;
}

sc_status store_kw_decode(store_kw *kw, const void *data, int size, uint32_t **doc_out, uint32_t *len_out) {
    *doc_out = NULL;
    *len_out = 0;
    if (!data || size <= 0) return SC_OK;
    const uint8_t *p = data, *end = p + size;
    uint32_t m, prev = 0, len;
    if (!kw__get(&p, end, &m) || m > (uint32_t)size) return SC_CORRUPT;
    uint32_t *doc = malloc(sizeof *doc * (1 + 2 * (size_t)m));
    if (!doc) return SC_NOMEM;
    doc[0] = m;
    for (uint32_t i = 0; i < m; i++) {
        uint32_t delta, tf;
        if (!kw__get(&p, end, &delta) || !kw__get(&p, end, &tf) || prev + delta >= kw->terms.n || (i && !delta)) {
            free(doc);
            return SC_CORRUPT;
        }
        prev += delta;
        doc[1 + 2 * i] = prev;
        doc[2 + 2 * i] = tf;
    }
    if (!kw__get(&p, end, &len) || p != end) {
        free(doc);
        return SC_CORRUPT;
    }
    *doc_out = doc;
    *len_out = len;
    return SC_OK;
}

void store_kw_set(store_kw *kw, uint32_t slot, uint32_t *doc, uint32_t len) {
    if (kw->doc[slot]) {
        kw->n_docs--;
        kw->total_len -= kw->doc_len[slot];
        free(kw->doc[slot]);
    }
    kw->doc[slot] = doc;
    kw->doc_len[slot] = doc ? len : 0;
    if (doc) {
        kw->n_docs++;
        kw->total_len += len;
    }
    kw->dirty = true;
}

/* ==== Dictionary persistence ==== */

sc_status store_kw_persist_terms(sc_db *db, store_coll *c) {
    store_kw *kw = c->kw;
    if (kw->n_persisted == kw->terms.n) return SC_OK;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, "INSERT OR REPLACE INTO kwterms(coll, id, term) VALUES(?1, ?2, ?3)", -1, &st,
                           NULL) != SQLITE_OK)
        return store_fail_sql(db, "writing terms");
    for (uint32_t id = kw->n_persisted; id < kw->terms.n; id++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, c->db_id);
        sqlite3_bind_int64(st, 2, id);
        sqlite3_bind_text(st, 3, kw->terms.str + kw->terms.off[id], kw->terms.len[id], SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_finalize(st);
            return store_fail_sql(db, "writing terms");
        }
    }
    sqlite3_finalize(st);
    return SC_OK;
}

void store_kw_committed(store_coll *c) { c->kw->n_persisted = c->kw->terms.n; }

sc_status store_kw_load_terms(sc_db *db, store_coll *c) {
    store_kw *kw = c->kw;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, "SELECT id, term FROM kwterms WHERE coll=?1 ORDER BY id", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail_sql(db, "loading terms");
    sqlite3_bind_int64(st, 1, c->db_id);
    sc_status rc = SC_OK;
    int step;
    /* every step and text is checked: a failure must not read as the end of
    ** the dictionary, or new terms would take ids already stored */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t want = (uint32_t)sqlite3_column_int64(st, 0);
        const char *t = (const char *)sqlite3_column_text(st, 1);
        if (!t && sqlite3_errcode(db->sql) == SQLITE_NOMEM) {
            rc = store_fail(SC_NOMEM, "out of memory loading terms");
            break;
        }
        int added = 0;
        uint32_t id = text_strmap_add(&kw->terms, t ? t : "", (size_t)sqlite3_column_bytes(st, 1), &added);
        if (id == UINT32_MAX) {
            rc = store_fail(SC_NOMEM, "out of memory loading terms");
            break;
        }
        if (id != want || !added) {
            rc = store_fail(SC_CORRUPT, "collection `%s`: term dictionary is inconsistent at id %u", c->name, want);
            break;
        }
    }
    if (rc == SC_OK && step != SQLITE_DONE) rc = store_fail_sql(db, "loading terms");
    sqlite3_finalize(st);
    kw->n_persisted = kw->terms.n;
    return rc;
}

/* ==== Postings and search ==== */

/* Rebuild the postings from the per-slot pairs (caller holds kw->mu). */
static bool kw__rebuild(store_kw *kw, uint32_t n_slots) {
    uint32_t nt = kw->terms.n;
    uint32_t *off = calloc((size_t)nt + 1, sizeof *off);
    if (!off) return false;
    uint64_t total = 0;
    for (uint32_t s = 0; s < n_slots && s < kw->cap; s++)
        if (kw->doc[s])
            for (uint32_t i = 0; i < kw->doc[s][0]; i++) {
                off[kw->doc[s][1 + 2 * i] + 1]++;
                total++;
            }
    for (uint32_t t = 0; t < nt; t++) off[t + 1] += off[t];
    uint32_t *slot = malloc(sizeof *slot * (total ? total : 1)), *tf = malloc(sizeof *tf * (total ? total : 1));
    uint32_t *fill = malloc(sizeof *fill * (nt ? nt : 1));
    if (!slot || !tf || !fill) {
        free(off);
        free(slot);
        free(tf);
        free(fill);
        return false;
    }
    memcpy(fill, off, sizeof *fill * nt);
    for (uint32_t s = 0; s < n_slots && s < kw->cap; s++)
        if (kw->doc[s])
            for (uint32_t i = 0; i < kw->doc[s][0]; i++) {
                uint32_t t = kw->doc[s][1 + 2 * i];
                slot[fill[t]] = s;
                tf[fill[t]++] = kw->doc[s][2 + 2 * i];
            }
    free(fill);
    free(kw->post_off);
    free(kw->post_slot);
    free(kw->post_tf);
    kw->post_off = off;
    kw->post_slot = slot;
    kw->post_tf = tf;
    kw->n_post_terms = nt;
    kw->dirty = false;
    return true;
}

sc_status store_kw_search(store_coll *c, const char *query, bool (*accept)(void *, uint32_t), void *state,
                          int (*tie)(void *, uint32_t, uint32_t), uint32_t k, index_hit *out, uint32_t *n_out) {
    store_kw *kw = c->kw;
    *n_out = 0;
    float *score = NULL;
    uint32_t *touched = NULL;
    sc_status rc = SC_OK;
    pthread_mutex_lock(&kw->mu);
    if (kw->dirty && !kw__rebuild(kw, c->n_slots)) {
        rc = store_fail(SC_NOMEM, "out of memory building keyword postings");
        goto done;
    }
    if (text_tokenize(kw->tk, query, strlen(query), 1024, &kw->toks) != SC_OK) {
        rc = store_fail(SC_NOMEM, "out of memory tokenizing the query");
        goto done;
    }
    score = calloc(c->n_slots ? c->n_slots : 1, sizeof *score);
    touched = malloc(sizeof *touched * (c->n_slots ? c->n_slots : 1));
    if (!score || !touched) {
        rc = store_fail(SC_NOMEM, "out of memory for keyword scores");
        goto done;
    }
    uint32_t n_touched = 0;
    double N = (double)kw->n_docs, avgdl = kw->n_docs ? (double)kw->total_len / (double)kw->n_docs : 1.0;
    uint32_t seen_ids[1024];
    uint32_t n_seen = 0;
    for (uint32_t i = 0; i < kw->toks.n; i++) {
        uint32_t t = text_strmap_find(&kw->terms, kw->toks.str + kw->toks.off[i], kw->toks.len[i]);
        if (t == UINT32_MAX || t >= kw->n_post_terms) continue;
        bool dup = false;
        for (uint32_t j = 0; j < n_seen && !dup; j++) dup = seen_ids[j] == t;
        if (dup) continue;
        seen_ids[n_seen++] = t;
        double df = (double)(kw->post_off[t + 1] - kw->post_off[t]);
        double idf = log(1.0 + (N - df + 0.5) / (df + 0.5));
        for (uint32_t p = kw->post_off[t]; p < kw->post_off[t + 1]; p++) {
            uint32_t s = kw->post_slot[p];
            double tf = kw->post_tf[p], dl = kw->doc_len[s];
            double w = idf * tf * (KW_K1 + 1.0) / (tf + KW_K1 * (1.0 - KW_B + KW_B * dl / avgdl));
            if (score[s] == 0.0f) touched[n_touched++] = s;
            score[s] += (float)w;
        }
    }
    /* Top-k of the touched slots that the caller accepts. */
    uint32_t m = 0;
    for (uint32_t i = 0; i < n_touched; i++) {
        uint32_t s = touched[i];
        if (!(score[s] > 0.0f) || !accept(state, s)) continue;
        index_hit h = {score[s], s};
        if (m == k && (h.score < out[m - 1].score || (h.score == out[m - 1].score && tie(state, s, out[m - 1].row) > 0)))
            continue;
        uint32_t j = m < k ? m++ : k - 1;
        while (j > 0 && (h.score > out[j - 1].score || (h.score == out[j - 1].score && tie(state, s, out[j - 1].row) < 0))) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = h;
    }
    *n_out = m;
done:
    pthread_mutex_unlock(&kw->mu);
    free(score);
    free(touched);
    return rc;
}

sc_status store_kw_df(store_coll *c, const char *const *terms, const uint16_t *lens, uint32_t n, uint32_t *df,
                      uint64_t *n_docs) {
    store_kw *kw = c->kw;
    sc_status rc = SC_OK;
    pthread_mutex_lock(&kw->mu);
    if (kw->dirty && !kw__rebuild(kw, c->n_slots)) {
        rc = store_fail(SC_NOMEM, "out of memory building keyword postings");
    } else {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t t = text_strmap_find(&kw->terms, terms[i], lens[i]);
            df[i] = t == UINT32_MAX || t >= kw->n_post_terms ? 0 : kw->post_off[t + 1] - kw->post_off[t];
        }
        *n_docs = kw->n_docs;
    }
    pthread_mutex_unlock(&kw->mu);
    return rc;
}

uint64_t store_kw_n_docs(const store_kw *kw) { return kw ? kw->n_docs : 0; }
uint32_t store_kw_n_terms(const store_kw *kw) { return kw ? kw->terms.n : 0; }
