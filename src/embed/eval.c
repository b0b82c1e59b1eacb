/*
** embed/eval.c: retrieval evaluation of BM25, the model and their
** reciprocal-rank fusion: the CodeSearchNet protocol over held-out pairs
** (each doc ranks its code among pool-1 distractors of the same language)
** and CoSQA (each query ranks the whole 6,267-function corpus).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "embed/embed_int.h"
#include "semcode/rank.h"

sc_eval_options sc_eval_options_default(void) {
    return (sc_eval_options){.pool = 1000, .max_queries = 0, .rrf_k = 60.0f, .w_bm25 = 1.0f, .w_model = 1.0f};
}

uint32_t embed_rank_of(const float *scores, uint32_t n, uint32_t gold) {
    uint32_t r = 0;
    float g = scores[gold];
    for (uint32_t i = 0; i < n; i++)
        if (scores[i] > g || (scores[i] == g && i < gold)) r++;
    return r;
}

/* Accumulated metrics of one method. */
typedef struct eval__acc {
    double rr, r1, r10, ndcg; /* sums over queries */
} eval__acc;

static void eval__add(eval__acc *a, uint32_t rank) {
    a->rr += 1.0 / (rank + 1);
    a->r1 += rank < 1;
    a->r10 += rank < 10;
    a->ndcg += rank < 10 ? 1.0 / log2(rank + 2.0) : 0.0;
}

static sc_eval_scores eval__scores(const eval__acc *a, uint32_t n) {
    if (!n) return (sc_eval_scores){0};
    return (sc_eval_scores){a->rr / n, a->r1 / n, a->r10 / n, a->ndcg / n};
}

/* Ranks of every candidate (0 = best) from scores, ties by index. */
static int eval__idx_cmp_data(const void *x, const void *y, void *ctx) {
    const float *s = ctx;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    if (s[a] != s[b]) return s[a] > s[b] ? -1 : 1;
    return (a > b) - (a < b);
}

static void eval__ranks(const float *scores, uint32_t n, uint32_t *order, uint32_t *rank) {
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    qsort_r(order, n, sizeof *order, eval__idx_cmp_data, (void *)scores);
    for (uint32_t i = 0; i < n; i++) rank[order[i]] = i;
}

/* ==== One pool: queries q[0..nq) whose gold codes are codes[gold[i]] ==== */

typedef struct eval__pool_job {
    sc_model *model;           /* NULL = BM25 only */
    const char *const *codes;  /* candidate codes */
    uint32_t n_codes;          /* candidates */
    const char *const *queries;/* queries */
    const uint32_t *gold;      /* gold candidate per query */
    uint32_t n_queries;        /* queries */
    const sc_eval_options *opt;/* fusion settings */
    eval__acc acc[3];          /* out: bm25, model, hybrid */
    sc_status rc;              /* out */
} eval__pool_job;

static void eval__pool_run(eval__pool_job *j, text_tokenizer *tk) {
    uint32_t n = j->n_codes;
    text_tokens *docs = calloc(n, sizeof *docs);
    text_tokens q = {0};
    float *bm = malloc(n * sizeof *bm), *ms = malloc(n * sizeof *ms), *hy = malloc(n * sizeof *hy);
    uint32_t *order = malloc(n * sizeof *order), *rb = malloc(n * sizeof *rb), *rm = malloc(n * sizeof *rm);
    sc_point_id *ids = malloc(2 * (size_t)n * sizeof *ids);
    float *cv = NULL, *qv = NULL;
    uint32_t dim = j->model ? sc_model_dim(j->model) : 0;
    text_bm25 *index = NULL;
    if (!docs || !bm || !ms || !hy || !order || !rb || !rm || !ids) goto nomem;
    for (uint32_t i = 0; i < n; i++)
        if (text_tokenize(tk, j->codes[i], strlen(j->codes[i]), 0, &docs[i])) goto nomem;
    index = text_bm25_build(docs, n, 1.2f, 0.75f, NULL);
    if (!index) goto nomem;
    if (j->model) {
        cv = malloc((size_t)n * dim * sizeof *cv);
        qv = malloc((size_t)dim * sizeof *qv);
        if (!cv || !qv) goto nomem;
        if ((j->rc = sc_model_embed(j->model, SC_EMBED_ROLE_CODE, j->codes, n, cv))) goto out;
    }
    for (uint32_t k = 0; k < j->n_queries; k++) {
        const char *qs = j->queries[k];
        if (text_tokenize(tk, qs, strlen(qs), 0, &q)) goto nomem;
        text_bm25_score(index, &q, bm);
        eval__add(&j->acc[0], embed_rank_of(bm, n, j->gold[k]));
        if (!j->model) continue;
        if ((j->rc = sc_model_embed(j->model, SC_EMBED_ROLE_QUERY, &qs, 1, qv))) goto out;
        for (uint32_t i = 0; i < n; i++) {
            float s = 0.0f;
            const float *c = cv + (size_t)i * dim;
            for (uint32_t d = 0; d < dim; d++) s += qv[d] * c[d];
            ms[i] = s;
        }
        eval__add(&j->acc[1], embed_rank_of(ms, n, j->gold[k]));
        /* hybrid: the store's RRF (sc_fuse) over the two full rankings, ranks from 1 */
        eval__ranks(bm, n, order, rb);
        for (uint32_t i = 0; i < n; i++) ids[i] = (sc_point_id){.kind = SC_ID_KIND_NUM, .num = order[i]};
        eval__ranks(ms, n, order, rm);
        for (uint32_t i = 0; i < n; i++) ids[n + i] = (sc_point_id){.kind = SC_ID_KIND_NUM, .num = order[i]};
        sc_fuse_list lists[2] = {{.ids = ids, .n = n, .weight = (double)j->opt->w_bm25},
                                 {.ids = ids + n, .n = n, .weight = (double)j->opt->w_model}};
        sc_fused *fused = NULL;
        size_t nf = 0;
        if ((j->rc = sc_fuse(SC_FUSION_RRF, lists, 2, (double)j->opt->rrf_k, 1, &fused, &nf)) != SC_OK) goto out;
        for (uint32_t i = 0; i < n; i++) hy[i] = 0;
        for (size_t i = 0; i < nf; i++) hy[fused[i].id.num] = (float)fused[i].score;
        sc_free(fused);
        eval__add(&j->acc[2], embed_rank_of(hy, n, j->gold[k]));
    }
    goto out;
nomem:
    j->rc = SC_NOMEM;
out:
    if (docs)
        for (uint32_t i = 0; i < n; i++) text_tokens_free(&docs[i]);
    free(docs);
    text_tokens_free(&q);
    text_bm25_free(index);
    free(bm);
    free(ms);
    free(hy);
    free(order);
    free(rb);
    free(rm);
    free(ids);
    free(cv);
    free(qv);
}

typedef struct eval__jobs {
    eval__pool_job *jobs;  /* all pools */
    uint32_t n;            /* pools */
} eval__jobs;

static void eval__worker(void *arg, uint32_t ith, uint32_t nth) {
    eval__jobs *js = arg;
    text_tokenizer *tk = text_tokenizer_new(NULL);
    for (uint32_t i = ith; i < js->n; i += nth) {
        if (!tk) js->jobs[i].rc = SC_NOMEM;
        else eval__pool_run(&js->jobs[i], tk);
    }
    text_tokenizer_free(tk);
}

/* ==== CodeSearchNet protocol ==== */

/* Which half of the held-out units a pair's unit falls in: 1 dev, 2 test. */
static uint32_t eval__half(uint64_t unit) { return (util_mix64(unit) >> 17 & 1) ? 1 : 2; }

sc_status sc_eval_pairs(sc_model *model, const char *pairs_path, const sc_eval_options *opt,
                        sc_eval_row *rows, uint32_t max_rows, uint32_t *n_rows, char **errmsg) {
    sc_err e = {0};
    embed_pairs p = {0};
    sc_eval_options dflt = sc_eval_options_default();
    if (!opt) opt = &dflt;
    uint32_t pool = opt->pool < 2 ? 1000 : opt->pool, max_queries = opt->max_queries;
    if (errmsg) *errmsg = NULL;
    if (!model || !pairs_path || !rows || !n_rows || max_rows < 2)
        return util_errmsg_out(errmsg, SC_MISUSE, "sc_eval_pairs: NULL argument or fewer than 2 rows");
    sc_status rc = embed_pairs_read(pairs_path, 0, &p, &e);
    if (rc) goto out;
    uint32_t nl = p.n_langs;
    /* per language: the pair indices in file order */
    uint32_t **by = calloc(nl, sizeof *by), *cnt = calloc(nl, sizeof *cnt);
    eval__pool_job *jobs = NULL;
    const char **qs = NULL, **cs = NULL;
    uint32_t *gold = NULL, *lang_of_job = NULL;
    if (!by || !cnt) goto nomem;
    for (uint32_t l = 0; l < nl; l++)
        if (!(by[l] = malloc(p.n * sizeof **by))) goto nomem;
    for (size_t i = 0; i < p.n; i++) by[p.lang[i]][cnt[p.lang[i]]++] = (uint32_t)i;
    /* pools: consecutive runs of `pool` pairs; the tail shares the last full
    ** window so every query has exactly pool-1 distractors */
    size_t n_jobs = 0, cap_jobs = 0, n_q = 0;
    size_t slots = p.n + (size_t)nl * pool; /* tail windows overlap their predecessor */
    qs = malloc(slots * sizeof *qs);
    cs = malloc(slots * sizeof *cs);
    gold = malloc(slots * sizeof *gold);
    if (!qs || !cs || !gold) goto nomem;
    for (uint32_t l = 0; l < nl; l++) {
        uint32_t n = cnt[l], done = 0;
        if (max_queries && n > max_queries) n = max_queries > pool ? max_queries : n;
        uint32_t ps = n < pool ? n : pool;
        if (ps < 2) continue;
        for (uint32_t s = 0; done < n; s += ps) {
            uint32_t st = s + ps <= n ? s : n - ps;
            if (n_jobs == cap_jobs) {
                cap_jobs = cap_jobs ? cap_jobs * 2 : 64;
                eval__pool_job *nj = realloc(jobs, cap_jobs * sizeof *nj);
                uint32_t *nl2 = realloc(lang_of_job, cap_jobs * sizeof *nl2);
                if (nj) jobs = nj;
                if (nl2) lang_of_job = nl2;
                if (!nj || !nl2) goto nomem;
            }
            size_t q0 = n_q;
            for (uint32_t k = 0; k < ps; k++) cs[q0 + k] = p.code[by[l][st + k]];
            eval__pool_job *j = &jobs[n_jobs];
            memset(j, 0, sizeof *j);
            j->model = model;
            j->opt = opt;
            j->codes = cs + q0;
            j->n_codes = ps;
            j->queries = qs + q0;
            j->gold = gold + q0;
            for (uint32_t k = st < done ? done - st : 0; k < ps; k++) {
                if (opt->half && eval__half(p.unit[by[l][st + k]]) != opt->half) continue;
                qs[q0 + j->n_queries] = p.doc[by[l][st + k]];
                gold[q0 + j->n_queries] = k;
                j->n_queries++;
            }
            n_q += ps;
            lang_of_job[n_jobs++] = l;
            done = st + ps;
        }
    }
    eval__jobs js = {jobs, (uint32_t)n_jobs};
    util_parallel_run(eval__worker, &js, util_n_cores());
    uint32_t r = 0;
    eval__acc tot[3] = {0};
    uint32_t n_lang_rows = 0;
    for (uint32_t l = 0; l < nl && r + 1 < max_rows; l++) {
        eval__acc acc[3] = {0};
        uint32_t nqs = 0, ps = 0;
        for (size_t k = 0; k < n_jobs; k++) {
            if (lang_of_job[k] != l) continue;
            if (jobs[k].rc) {
                rc = sc_err_set(&e, jobs[k].rc, "evaluation failed: %s", sc_status_str(jobs[k].rc));
                goto cleanup;
            }
            for (int m = 0; m < 3; m++) {
                acc[m].rr += jobs[k].acc[m].rr;
                acc[m].r1 += jobs[k].acc[m].r1;
                acc[m].r10 += jobs[k].acc[m].r10;
                acc[m].ndcg += jobs[k].acc[m].ndcg;
            }
            nqs += jobs[k].n_queries;
            ps = jobs[k].n_codes;
        }
        if (!nqs) continue;
        sc_eval_row *row = &rows[r++];
        memset(row, 0, sizeof *row);
        snprintf(row->language, sizeof row->language, "%s", p.langs[l]);
        row->n_queries = nqs;
        row->pool = ps;
        row->bm25 = eval__scores(&acc[0], nqs);
        row->model = eval__scores(&acc[1], nqs);
        row->hybrid = eval__scores(&acc[2], nqs);
        sc_eval_scores *m3[3] = {&row->bm25, &row->model, &row->hybrid};
        for (int m = 0; m < 3; m++) {
            tot[m].rr += m3[m]->mrr;
            tot[m].r1 += m3[m]->r1;
            tot[m].r10 += m3[m]->r10;
            tot[m].ndcg += m3[m]->ndcg10;
        }
        n_lang_rows++;
    }
    {
        sc_eval_row *row = &rows[r++];
        memset(row, 0, sizeof *row);
        snprintf(row->language, sizeof row->language, "mean");
        for (uint32_t k = 0; k + 1 < r; k++) row->n_queries += rows[k].n_queries;
        row->pool = pool;
        row->bm25 = eval__scores(&tot[0], n_lang_rows);
        row->model = eval__scores(&tot[1], n_lang_rows);
        row->hybrid = eval__scores(&tot[2], n_lang_rows);
    }
    *n_rows = r;
    goto cleanup;
nomem:
    rc = sc_err_set(&e, SC_NOMEM, "out of memory evaluating %s", pairs_path);
cleanup:
    if (by)
        for (uint32_t l = 0; l < nl; l++) free(by[l]);
    free(by);
    free(cnt);
    free(jobs);
    free(lang_of_job);
    free(qs);
    free(cs);
    free(gold);
out:
    embed_pairs_free(&p);
    if (rc != SC_OK && errmsg) *errmsg = util_strdup(e.msg);
    return rc;
}

/* ==== CoSQA ==== */

sc_status sc_eval_cosqa(sc_model *model, const char *queries_path, const char *corpus_path,
                        const sc_eval_options *opt, sc_eval_row *row, char **errmsg) {
    sc_err e = {0};
    sc_eval_options dflt = sc_eval_options_default();
    if (!opt) opt = &dflt;
    if (errmsg) *errmsg = NULL;
    if (!model || !queries_path || !corpus_path || !row)
        return util_errmsg_out(errmsg, SC_MISUSE, "sc_eval_cosqa: NULL argument");
    sc_status rc = SC_OK;
    json_error_t je;
    json_t *qj = json_load_file(queries_path, 0, &je), *cj = NULL;
    const char **codes = NULL, **qs = NULL;
    uint32_t *gold = NULL;
    if (!qj || !json_is_array(qj)) {
        rc = sc_err_set(&e, SC_INVALID, "%s: %s", queries_path, qj ? "not a JSON array" : je.text);
        goto out;
    }
    cj = json_load_file(corpus_path, 0, &je);
    if (!cj || !json_is_object(cj)) {
        rc = sc_err_set(&e, SC_INVALID, "%s: %s", corpus_path, cj ? "not a JSON object" : je.text);
        goto out;
    }
    size_t nc = json_object_size(cj), nq = json_array_size(qj);
    codes = calloc(nc + 1, sizeof *codes);
    qs = calloc(nq + 1, sizeof *qs);
    gold = calloc(nq + 1, sizeof *gold);
    if (!codes || !qs || !gold) {
        rc = sc_err_set(&e, SC_NOMEM, "out of memory");
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(cj, key, val) {
        json_int_t idx = json_integer_value(val);
        if (!json_is_integer(val) || idx < 0 || (size_t)idx >= nc || codes[idx]) {
            rc = sc_err_set(&e, SC_INVALID, "%s: bad or duplicate index %lld", corpus_path, (long long)idx);
            goto out;
        }
        codes[idx] = key;
    }
    uint32_t n_ok = 0;
    for (size_t i = 0; i < nq; i++) {
        json_t *o = json_array_get(qj, i);
        const char *d = json_string_value(json_object_get(o, "doc"));
        json_t *ri = json_object_get(o, "retrieval_idx");
        if (!d || !json_is_integer(ri) || json_integer_value(ri) < 0 || (size_t)json_integer_value(ri) >= nc) {
            rc = sc_err_set(&e, SC_INVALID, "%s: entry %zu lacks doc or a valid retrieval_idx", queries_path, i);
            goto out;
        }
        qs[n_ok] = d;
        gold[n_ok++] = (uint32_t)json_integer_value(ri);
    }
    /* split the queries over threads: each job ranks the whole corpus */
    enum { EVAL__JOBS = 8 };
    eval__pool_job jobs[EVAL__JOBS];
    uint32_t nj = 0;
    for (uint32_t k = 0; k < EVAL__JOBS; k++) {
        uint32_t a = n_ok * k / EVAL__JOBS, b = n_ok * (k + 1) / EVAL__JOBS;
        if (a == b) continue;
        jobs[nj++] = (eval__pool_job){.model = model, .opt = opt, .codes = codes, .n_codes = (uint32_t)nc,
                                      .queries = qs + a, .gold = gold + a, .n_queries = b - a};
    }
    eval__jobs js = {jobs, nj};
    util_parallel_run(eval__worker, &js, util_n_cores());
    eval__acc acc[3] = {0};
    for (uint32_t k = 0; k < nj; k++) {
        if (jobs[k].rc) {
            rc = sc_err_set(&e, jobs[k].rc, "CoSQA evaluation failed: %s", sc_status_str(jobs[k].rc));
            goto out;
        }
        for (int m = 0; m < 3; m++) {
            acc[m].rr += jobs[k].acc[m].rr;
            acc[m].r1 += jobs[k].acc[m].r1;
            acc[m].r10 += jobs[k].acc[m].r10;
            acc[m].ndcg += jobs[k].acc[m].ndcg;
        }
    }
    memset(row, 0, sizeof *row);
    snprintf(row->language, sizeof row->language, "cosqa");
    row->n_queries = n_ok;
    row->pool = (uint32_t)nc;
    row->bm25 = eval__scores(&acc[0], n_ok);
    row->model = eval__scores(&acc[1], n_ok);
    row->hybrid = eval__scores(&acc[2], n_ok);
out:
    free(codes);
    free(qs);
    free(gold);
    json_decref(qj);
    json_decref(cj);
    if (rc != SC_OK && errmsg) *errmsg = util_strdup(e.msg);
    return rc;
}
