/*
** server/query.c: search endpoints. The universal /points/query (nearest
** by vector or point id, recommend, prefetch with RRF / DBSF fusion or
** re-scoring), its batch form, and the legacy /points/search,
** /points/search/batch, /points/recommend, /points/recommend/batch,
** /points/discover and /points/discover/batch.
**
** DESIGN
** - A query vector is dense, or sparse ({indices, values}, or a point's
**   sparse vector by id) for a sparse `using`: the store tells them apart
**   and answers a sparse one through its inverted index (params.idf.corpus
**   rides along); fusion and re-scoring treat both kinds alike.
** - Every search is one exact sc_points_search; Qdrant semantics are built
**   from filters: ids used in the query are excluded with must_not has_id,
**   and a query over prefetch results re-scores only those candidates with
**   must has_id. The caller's filter rides along as a nested filter.
** - Prefetches run without payloads; the final list fetches payloads and
**   vectors once, for the points it returns.
** - Fusion follows Qdrant's definitions (lib/segment/src/common): RRF
**   scores 1 / ((rank + 1) / weight + k - 1) (rank from 0, k = 2 by default,
**   weight 1 unless `rrf.weights` gives one per prefetch); DBSF maps each
**   source's scores through mean ± 3 sample standard deviations (not
**   clipped; one point: 0.5) and sums them. A hybrid text query fuses as
**   the CLI does instead (weight / (k + rank)).
*/
#include "server/query_int.h"
#include "semcode/rank.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SERVER_MAX_PREFETCH 16    /* prefetches per level */
#define SERVER_MAX_PREFETCH_DEPTH 4

/* A context pair of a relevance_feedback query: two examples whose
** feedback scores differ, and its weight c · (score difference)^b. */
typedef struct server_fb_pair {
    size_t pos, neg; /* indices into the examples: the better and the worse scored one */
    float weight;    /* c · confidence^b */
} server_fb_pair;

/* Parameters common to one search level. */
typedef struct server_level {
    const char *using;       /* vector name (NULL = default) */
    float *vec;              /* owned query vector, NULL when none */
    uint32_t dim;            /* its dimension (of each row for a multivector) */
    uint32_t rows;           /* 0: vec is one vector; n >= 1: a multivector query of n rows */
    const char *text;        /* BM25 query text (borrowed from the body), NULL when none */
    bool hybrid;             /* a Document with options.mode "hybrid": vec and text fused as the CLI does */
    float alpha;             /* options.alpha of a hybrid query: weighted fusion instead of RRF (0 = RRF) */
    sc_point_id *exclude;    /* owned ids to exclude (used in the query) */
    size_t n_exclude;        /* entries */
    int fusion;              /* 0 none, 1 rrf, 2 dbsf, 3 alpha (weighted min-max, hybrid text queries) */
    uint32_t rrf_k;          /* RRF constant */
    const json_t *weights;   /* RRF weights (borrowed) or NULL */
    char *filter;            /* owned compact filter text of the caller, NULL = none */
    uint32_t limit;          /* results wanted */
    uint32_t offset;         /* results skipped */
    bool has_threshold;      /* score_threshold given */
    float threshold;         /* its value */
    uint32_t hnsw_ef;        /* params.hnsw_ef (0 = default) */
    bool exact;              /* params.exact */
    bool quant_ignore;       /* params.quantization.ignore */
    float oversampling;      /* params.quantization.oversampling (0 = configured) */
    int reco;                /* scored per example: 0 no, 1 recommend best_score, 2 sum_scores, 3 discover, 4 context */
    float *examples;         /* owned example vectors (dim each, rows × dim for a multivector; see ex_off):
                                recommend: n_pos positives then n_neg negatives;
                                discover: the target then (positive, negative) per pair; context: the pairs */
    size_t n_examples;       /* vectors in examples */
    size_t *ex_off;          /* owned: where each example starts in examples (floats) */
    uint32_t *ex_rows;       /* owned: rows of each example (0: a single vector) */
    size_t n_pos, n_neg;     /* recommend: counts of examples */
    size_t n_pairs;          /* discover, context: context pairs */
    bool sample;             /* {"sample": "random"}: the candidates in random order */
    const json_t *order;     /* {"order_by": …}: the candidates in the order of a payload number (borrowed) */
    bool has_lookup;         /* lookup_from: point ids of the query name points of another collection */
    char lookup[SERVER_NAME_SIZE]; /* its store name */
    const char *lookup_vector;     /* its vector name (borrowed; NULL = `using`) */
    bool sparse;             /* the query is the sparse vector sp (of the sparse vector `using`) */
    server_sparse sp;        /* owned sparse query */
    char *idf_corpus;        /* owned params.idf.corpus filter text, NULL = the whole collection */
    bool has_idf;            /* params.idf was given */
    server_formula *formula; /* owned {"formula": …} re-scoring of the prefetch results, NULL = none */
    bool mmr;                /* {"nearest": …, "mmr": {…}}: the nearest candidates re-ranked by MMR */
    float mmr_lambda;        /* 1 − diversity */
    uint32_t mmr_candidates; /* candidates_limit (0 = limit + offset) */
    float fb_a;              /* relevance_feedback: weight of the target's similarity (reco 5) */
    server_fb_pair *fb_pairs;/* owned context pairs of the feedback */
    size_t n_fb_pairs;       /* entries */
} server_level;

static void server__level_free(server_level *l) {
    free(l->vec);
    free(l->examples);
    free(l->ex_off);
    free(l->ex_rows);
    free(l->exclude);
    free(l->filter);
    free(l->idf_corpus);
    free(l->fb_pairs);
    server_formula_free(l->formula);
    server_sparse_free(&l->sp);
    memset(l, 0, sizeof *l);
}

/* ==== Vectors of points ==== */

/* Append id to the exclusion list of l. */
static bool server__exclude(server_call *call, server_level *l, const sc_point_id *id) {
    sc_point_id *grown = realloc(l->exclude, (l->n_exclude + 1) * sizeof *grown);
    if (!grown) return server_fail(call, 500, "out of memory"), false;
    l->exclude = grown;
    l->exclude[l->n_exclude++] = *id;
    return true;
}

/* The vector `using` of point id: dense into owned *out (*dim floats, or
** *rows rows of them for a multivector; *rows 0 otherwise) or, when it is a
** sparse vector and sp is given, into *sp; 404 when the point or its vector
** is missing. */
static bool server__point_vector(server_call *call, const char *coll, const char *using, const sc_point_id *id,
                                 float **out, uint32_t *dim, uint32_t *rows, server_sparse *sp) {
    const char *names[1] = {using ? using : ""};
    sc_with with = {.vectors = true, .vector_names = names, .n_vector_names = 1};
    sc_record_list *rl = NULL;
    sc_status rc = sc_points_get(call->ctx->db, coll, id, 1, &with, &rl);
    if (rc == SC_INVALID) { /* a vector name the collection lacks: a missing point is still a 404 first */
        sc_with bare = {0};
        if (sc_points_get(call->ctx->db, coll, id, 1, &bare, &rl) == SC_OK && rl->n == 0) rc = SC_OK; /* below */
        else {
            sc_record_list_free(rl);
            return server_fail(call, 400, "Wrong input: Not existing vector name error: %s",
                               *names[0] ? names[0] : "(default)"), false;
        }
    }
    if (rc != SC_OK) return server_fail_store(call, rc), false;
    bool ok = false;
    const sc_record *r = rl->n ? &rl->items[0] : NULL;
    char buf[48];
    if (!r || (r->n_vectors == 0 && r->n_sparse == 0)) {
        sc_collection_info info;
        bool named = !r; /* a missing point is a 404 whatever the name */
        if (!named && sc_collection_info_get(call->ctx->db, coll, &info) == SC_OK) {
            for (size_t i = 0; i < info.n_vector_params; i++)
                named |= !strcmp(info.vectors[i].name, names[0]) || (!*names[0] && info.n_vector_params == 1);
            for (size_t i = 0; i < info.n_sparse; i++) named |= !strcmp(info.sparse[i].name, names[0]);
            sc_collection_info_free(&info);
        }
        if (!named)
            server_fail(call, 400, "Wrong input: Not existing vector name error: %s", *names[0] ? names[0] : "(default)");
        else
            server_fail(call, 404, "Not found: No point with id %s found%s", sc_point_id_format(id, buf, sizeof buf),
                        r ? " with that vector" : "");
    } else if (r->n_sparse && !sp) {
        server_fail(call, 400, "Wrong input: vector `%s` of point %s is sparse; only a query by vector or point id "
                    "takes a sparse vector", names[0], sc_point_id_format(id, buf, sizeof buf));
    } else if (r->n_sparse) {
        const sc_sparse_vector *v = &r->sparse[0];
        sp->indices = malloc(sizeof *sp->indices * (v->n ? v->n : 1));
        sp->values = malloc(sizeof *sp->values * (v->n ? v->n : 1));
        if (sp->indices && sp->values) {
            memcpy(sp->indices, v->indices, sizeof *sp->indices * v->n);
            memcpy(sp->values, v->values, sizeof *sp->values * v->n);
            sp->n = v->n;
            ok = true;
        } else {
            server_sparse_free(sp);
            server_fail(call, 500, "out of memory");
        }
    } else {
        *dim = r->vector_dims[0];
        *rows = r->vector_rows ? r->vector_rows[0] : 0;
        size_t n = (size_t)*dim * (*rows ? *rows : 1);
        *out = malloc(n * sizeof **out);
        if (*out) {
            memcpy(*out, r->vectors[0], n * sizeof **out);
            ok = true;
        } else {
            server_fail(call, 500, "out of memory");
        }
    }
    sc_record_list_free(rl);
    return ok;
}

/* A dense vector given as numbers (a multivector as a list of lists: *rows
** set, else 0) or as a point id (then excluded from results). With sp
** non-NULL, a sparse vector is accepted too (given, or the point's): then
** l->sparse is set and *sp filled instead of *out. */
static bool server__vector_or_id(server_call *call, const char *coll, server_level *l, const json_t *v,
                                 const char *where, float **out, uint32_t *dim, uint32_t *rows, server_sparse *sp) {
    *rows = 0;
    if (json_is_array(v)) {
        if (json_array_size(v) == 0) /* a malformed example: rejected when the query runs, as Qdrant (400) */
            return server_fail(call, 400, "Wrong input: %s: dense vector must not be empty", where), false;
        if (server_json_is_multi(v)) return server_json_multi(call, v, where, where, out, dim, rows);
        return server_json_floats(call, v, where, out, dim);
    }
    if (server_json_is_sparse(v)) {
        if (!sp)
            return server_fail(call, 400, "Wrong input: %s: sparse vectors are supported in nearest queries only "
                               "(query, prefetch, search), not here", where), false;
        if (!server_json_sparse(call, v, where, where, sp)) return false;
        l->sparse = true;
        return true;
    }
    sc_point_id id;
    if (!server_json_id(call, v, where, &id)) return false;
    if (l->has_lookup) /* a point of another collection: nothing to exclude here */
        return server__point_vector(call, l->lookup, l->lookup_vector ? l->lookup_vector : l->using, &id, out, dim,
                                    rows, NULL);
    if (!server__exclude(call, l, &id)) return false;
    if (!server__point_vector(call, coll, l->using, &id, out, dim, rows, sp)) return false;
    if (sp && !*out) l->sparse = true;
    return true;
}

/* Append one example (a vector or a point id, excluded from the results)
** to l->examples; every example has the dimension of the first (a
** multivector example may have any number of rows of it). */
static bool server__add_example(server_call *call, const char *coll, server_level *l, const json_t *v,
                                const char *where) {
    float *vec = NULL;
    uint32_t d = 0, rows = 0;
    if (!server__vector_or_id(call, coll, l, v, where, &vec, &d, &rows, NULL)) return false;
    if (l->n_examples == 0) l->dim = d;
    if (d != l->dim) {
        free(vec);
        return server_fail(call, 400, "Wrong input: %s has dimension %u, expected %u", where, d, l->dim), false;
    }
    size_t used = 0; /* floats taken by the examples so far */
    if (l->n_examples) {
        uint32_t last = l->ex_rows[l->n_examples - 1];
        used = l->ex_off[l->n_examples - 1] + (size_t)l->dim * (last ? last : 1);
    }
    size_t n = (size_t)d * (rows ? rows : 1);
    float *grown = realloc(l->examples, sizeof(float) * (used + n));
    if (grown) l->examples = grown;
    size_t *off = grown ? realloc(l->ex_off, sizeof *off * (l->n_examples + 1)) : NULL;
    if (off) l->ex_off = off;
    uint32_t *er = off ? realloc(l->ex_rows, sizeof *er * (l->n_examples + 1)) : NULL;
    if (er) l->ex_rows = er;
    if (!er) {
        free(vec);
        return server_fail(call, 500, "out of memory"), false;
    }
    memcpy(l->examples + used, vec, sizeof(float) * n);
    l->ex_off[l->n_examples] = used;
    l->ex_rows[l->n_examples++] = rows;
    free(vec);
    return true;
}

/* The examples of a best_score / sum_scores recommendation: positives first. */
static bool server__reco_examples(server_call *call, const char *coll, server_level *l, const json_t *pos,
                                  const json_t *neg) {
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < json_array_size(side ? neg : pos); i++) {
            char where[64];
            snprintf(where, sizeof where, "%s[%zu]", side ? "negative" : "positive", i);
            if (!server__add_example(call, coll, l, json_array_get(side ? neg : pos, i), where)) return false;
        }
    l->n_pos = json_array_size(pos);
    l->n_neg = json_array_size(neg);
    return true;
}

/* Context pairs {positive, negative} (one object or a list; null or [] =
** none) appended to l->examples, at `where`. */
static bool server__context_pairs(server_call *call, const char *coll, server_level *l, const json_t *ctx,
                                  const char *where) {
    if (!ctx || json_is_null(ctx)) return true;
    size_t n = json_is_array(ctx) ? json_array_size(ctx) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *pair = json_is_array(ctx) ? json_array_get(ctx, i) : ctx;
        const json_t *p = json_object_get(pair, "positive"), *q = json_object_get(pair, "negative");
        if (!json_is_object(pair) || !p || !q)
            return server_fail(call, 400, "Json deserialize error: %s[%zu] must be {\"positive\": …, \"negative\": …}",
                               where, i), false;
        char w[96];
        snprintf(w, sizeof w, "%s[%zu].positive", where, i);
        if (!server__add_example(call, coll, l, p, w)) return false;
        snprintf(w, sizeof w, "%s[%zu].negative", where, i);
        if (!server__add_example(call, coll, l, q, w)) return false;
        l->n_pairs++;
    }
    return true;
}

/* Recommendation (Qdrant's strategies): average_vector searches with
** avg(positive) + (avg(positive) − avg(negative)); best_score and
** sum_scores score every candidate against each example (server__reco_score). */
static bool server__recommend_vector(server_call *call, const char *coll, server_level *l, const json_t *obj) {
    const json_t *pos = json_object_get(obj, "positive"), *neg = json_object_get(obj, "negative");
    const char *strategy = NULL;
    if (!server_json_str(call, obj, "strategy", &strategy)) return false;
    int reco = !strategy || !strcmp(strategy, "average_vector") ? 0
               : !strcmp(strategy, "best_score")                 ? 1
               : !strcmp(strategy, "sum_scores")                 ? 2
                                                                 : -1;
    if (reco < 0)
        return server_fail(call, 400, "Json deserialize error: `strategy`: unknown variant `%.64s`, expected one of "
                                      "`average_vector`, `best_score`, `sum_scores`", strategy), false;
    if (pos && !json_is_null(pos) && !json_is_array(pos))
        return server_fail(call, 400, "Json deserialize error: `positive` must be an array"), false;
    if (neg && !json_is_null(neg) && !json_is_array(neg))
        return server_fail(call, 400, "Json deserialize error: `negative` must be an array"), false;
    if (json_array_size(pos) + json_array_size(neg) == 0)
        return server_fail(call, 422, "Validation error in JSON body: [recommend: At least one positive or negative "
                                      "example is required]"), false;
    if (reco) {
        l->reco = reco;
        return server__reco_examples(call, coll, l, pos, neg);
    }
    if (json_array_size(pos) == 0)
        return server_fail(call, 400, "Bad request: Positive vectors should not be empty with `average_vector` "
                                      "strategy"), false;
    /* the examples, positives first, then one query vector from them */
    if (!server__reco_examples(call, coll, l, pos, neg)) return false;
    size_t n_pos = l->n_pos, n_ex = l->n_examples;
    bool multi = false;
    for (size_t e = 0; e < n_ex; e++) multi |= l->ex_rows[e] > 0;
    uint32_t dim = l->dim;
    bool ok = true;
    if (multi) {
        /* Qdrant (recommendations.rs): the positives' rows, then the negatives' rows negated */
        size_t total = 0;
        for (size_t e = 0; e < n_ex; e++) total += l->ex_rows[e] ? l->ex_rows[e] : 1;
        l->vec = malloc(sizeof *l->vec * dim * total);
        if (!l->vec) ok = !!server_fail(call, 500, "out of memory");
        for (size_t e = 0, at = 0; ok && e < n_ex; e++) {
            size_t n = (size_t)dim * (l->ex_rows[e] ? l->ex_rows[e] : 1);
            const float *x = l->examples + l->ex_off[e];
            for (size_t j = 0; j < n; j++) l->vec[at + j] = e < n_pos ? x[j] : -x[j];
            at += n;
        }
        l->rows = (uint32_t)total;
    } else {
        double *sum = calloc(2 * (size_t)dim, sizeof *sum);
        l->vec = malloc(sizeof *l->vec * dim);
        if (!sum || !l->vec) ok = !!server_fail(call, 500, "out of memory");
        for (size_t e = 0; ok && e < n_ex; e++)
            for (uint32_t j = 0; j < dim; j++) sum[(e < n_pos ? 0 : dim) + j] += (double)l->examples[l->ex_off[e] + j];
        for (uint32_t j = 0; ok && j < dim; j++) {
            double p = sum[j] / (double)n_pos;
            double v = n_ex > n_pos ? 2.0 * p - sum[dim + j] / (double)(n_ex - n_pos) : p;
            l->vec[j] = (float)v;
        }
        free(sum);
    }
    free(l->examples);
    free(l->ex_off);
    free(l->ex_rows);
    l->examples = NULL;
    l->ex_off = NULL;
    l->ex_rows = NULL;
    l->n_examples = l->n_pos = l->n_neg = 0;
    return ok;
}

/* ==== Decoding ==== */

/* Fields common to query levels and legacy searches: filter, limit, offset, threshold, using. */
static bool server__level_common(server_call *call, const json_t *obj, server_level *l, bool limit_required) {
    if (limit_required && (!json_object_get(obj, "limit") || json_is_null(json_object_get(obj, "limit"))))
        return server_fail(call, 400, "Json deserialize error: missing field `limit`"), false;
    if (!server_json_limit(call, obj, "limit", 10, 1, &l->limit)) return false;
    if (!server_json_limit(call, obj, "offset", 0, 0, &l->offset)) return false;
    const json_t *th = json_object_get(obj, "score_threshold");
    if (th && !json_is_null(th)) {
        if (!json_is_number(th)) return server_fail(call, 400, "Json deserialize error: `score_threshold` must be a number"), false;
        l->has_threshold = true;
        l->threshold = (float)json_number_value(th);
    }
    if (!server_json_str(call, obj, "using", &l->using)) return false;
    if (!server_json_filter(call, obj, "filter", &l->filter)) return false;
    const json_t *params = json_object_get(obj, "params");
    if (params && !json_is_null(params)) {
        if (!json_is_object(params)) return server_fail(call, 400, "Json deserialize error: `params` must be an object"), false;
        uint64_t ef;
        if (!server_json_uint(call, params, "hnsw_ef", 0, 1, 100000, &ef)) return false;
        l->hnsw_ef = (uint32_t)ef;
        if (!server_json_bool(call, params, "exact", false, &l->exact)) return false;
        const json_t *q = json_object_get(params, "quantization");
        if (q && !json_is_null(q)) {
            if (!json_is_object(q)) return server_fail(call, 400, "Json deserialize error: `params.quantization` must be an object"), false;
            if (!server_json_bool(call, q, "ignore", false, &l->quant_ignore)) return false;
            const json_t *os = json_object_get(q, "oversampling");
            if (os && !json_is_null(os)) {
                if (!json_is_number(os)) return server_fail(call, 400, "Json deserialize error: `params.quantization.oversampling` must be a number"), false;
                if (json_number_value(os) < 1.0 || json_number_value(os) > 1000.0)
                    return server_fail(call, 422, "Validation error in JSON body: [params.quantization.oversampling: must be from 1 to 1000]"), false;
                l->oversampling = (float)json_number_value(os);
            }
        }
    }
    const json_t *idf = params && json_is_object(params) ? json_object_get(params, "idf") : NULL;
    if (idf && !json_is_null(idf)) {
        /* Qdrant 1.19: "global" (the default) or {"corpus": filter} (N and df over the points it matches) */
        l->has_idf = true;
        const json_t *corpus = json_is_object(idf) ? json_object_get(idf, "corpus") : NULL;
        if (json_is_object(idf) && (json_object_size(idf) != 1 || !json_is_object(corpus)))
            return server_fail(call, 400, "Json deserialize error: `params.idf` must be \"global\" or {\"corpus\": "
                               "a filter}"), false;
        if (!json_is_object(idf) && !(json_is_string(idf) && !strcmp(json_string_value(idf), "global")))
            return server_fail(call, 400, "Json deserialize error: `params.idf` must be \"global\" or {\"corpus\": "
                               "a filter}"), false;
        if (corpus && !server_json_filter(call, idf, "corpus", &l->idf_corpus)) return false;
    }
    const json_t *lookup = json_object_get(obj, "lookup_from");
    if (lookup && !json_is_null(lookup)) {
        const char *lc = NULL;
        if (!json_is_object(lookup) || !server_json_str(call, lookup, "collection", &lc) || !lc)
            return server_fail(call, 400, "Json deserialize error: `lookup_from` must be {\"collection\": name, "
                                          "\"vector\"?: name}"), false;
        if (!server_json_str(call, lookup, "vector", &l->lookup_vector)) return false;
        if (!server_coll_resolve(call, lc, l->lookup)) {
            call->status = 0; /* Qdrant's words for a lookup collection */
            return server_fail(call, 404, "Not found: Collection %s not found", lc), false;
        }
        l->has_lookup = true;
    }
    return true;
}

/* A Document query {"text", "model", "options"?} (Qdrant's inference
** object). model "qdrant/bm25": BM25 over the points' texts. model
** "builtin" (or none): embedded; options.mode "hybrid" also runs BM25 and
** fuses both as `semcode search` does (weighted RRF, repo.h's SC_HYBRID_*,
** or options.alpha: alpha·dense + (1−alpha)·bm25 of min-max normalised
** scores); options.mode "keyword" is BM25 alone, "dense" (default) the
** vector alone. */
static bool server__level_document(server_call *call, const json_t *doc, server_level *l) {
    const char *text, *model;
    if (!server_json_document(call, doc, "query", &text, &model)) return false;
    const json_t *opt = json_object_get(doc, "options");
    const char *mode = NULL;
    double alpha = 0.0;
    if (opt && !json_is_null(opt)) {
        if (!json_is_object(opt)) return server_fail(call, 400, "Json deserialize error: `query.options` must be an object"), false;
        if (server_model_is_bm25(model))
            return server_fail(call, 400, "Wrong input: `query.options` are not supported with model `%s`", model), false;
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)opt, key, v) {
            if (strcmp(key, "mode") && strcmp(key, "alpha"))
                return server_fail(call, 400, "Json deserialize error: unknown field `query.options.%.64s` (mode, alpha)", key), false;
        }
        if (!server_json_str(call, opt, "mode", &mode) || !server_json_number(call, opt, "alpha", "query.options", 0.0, 0.0, 1.0, &alpha))
            return false;
        if (mode && strcmp(mode, "dense") && strcmp(mode, "keyword") && strcmp(mode, "hybrid"))
            return server_fail(call, 400, "Json deserialize error: `query.options.mode`: unknown variant `%.64s`, expected one "
                                          "of `dense`, `keyword`, `hybrid`", mode), false;
        if (json_object_get(opt, "alpha") && !json_is_null(json_object_get(opt, "alpha")) && (!mode || strcmp(mode, "hybrid")))
            return server_fail(call, 400, "Wrong input: `query.options.alpha` needs `query.options.mode` \"hybrid\""), false;
    }
    if (server_model_is_bm25(model) || (mode && !strcmp(mode, "keyword"))) {
        if (!server_model_is_bm25(model) && !server_embed_model_ok(call, model)) return false; /* nothing to embed */
        l->text = text;
        return true;
    }
    if (!server_embed_text(call, text, model, SC_EMBED_ROLE_QUERY, &l->vec, &l->dim)) return false;
    if (mode && !strcmp(mode, "hybrid")) {
        l->text = text;
        l->hybrid = true;
        l->alpha = (float)alpha;
    }
    return true;
}

/* A number as Rust prints a float in Qdrant's messages ("-1.0", "0.5"). */
static void server__rust_float(double v, char *buf, size_t size) {
    snprintf(buf, size, "%g", v);
    if (!strpbrk(buf, ".eEn")) strncat(buf, ".0", size - strlen(buf) - 1);
}

/* {"mmr": {"diversity"?, "candidates_limit"?}} of a nearest query. */
static bool server__level_mmr(server_call *call, const json_t *mmr, server_level *l) {
    if (!json_is_object(mmr)) return server_fail(call, 400, "Json deserialize error: `query.mmr` must be an object"), false;
    double diversity;
    uint64_t cand;
    /* Qdrant's messages for its ranges: [0.0, 1.0] and at most 16384 */
    if (!server_json_number(call, mmr, "diversity", "query.mmr", 0.5, -HUGE_VAL, HUGE_VAL, &diversity) ||
        !server_json_uint(call, mmr, "candidates_limit", 0, 0, (uint64_t)INT64_MAX, &cand))
        return false;
    if (!(diversity >= 0.0 && diversity <= 1.0)) {
        char v[32];
        server__rust_float(diversity, v, sizeof v);
        return server_fail(call, 422, "Validation error in JSON body: [query.mmr.diversity: value %s invalid, must be "
                                      "from 0.0 to 1.0]", v), false;
    }
    if (cand > 16384)
        return server_fail(call, 422, "Validation error in JSON body: [query.mmr.candidates_limit: value %llu invalid, "
                                      "must be 16384 or smaller]", (unsigned long long)cand), false;
    if (l->sparse) return server_fail(call, 400, "Wrong input: `query.mmr` applies to dense vectors here"), false;
    if (l->rows) return server_fail(call, 400, "Wrong input: `query.mmr` with a multivector query is not supported"), false;
    l->mmr = true;
    l->mmr_lambda = (float)(1.0 - diversity);
    l->mmr_candidates = (uint32_t)cand;
    return true;
}

/* {"relevance_feedback": {"target", "feedback": [{"example", "score"}],
** "strategy": {"naive": {"a", "b", "c"}}}}: examples[0] is the target,
** then the feedback examples; the context pairs are every ordered pair
** whose feedback scores differ (better first), weighted c · Δscore^b. */
static bool server__level_feedback(server_call *call, const char *coll, const json_t *fb, server_level *l) {
    const json_t *target = json_object_get(fb, "target"), *items = json_object_get(fb, "feedback");
    const json_t *naive = json_object_get(json_object_get(fb, "strategy"), "naive");
    if (!json_is_object(fb) || !target || !json_is_array(items) || !json_is_object(naive))
        return server_fail(call, 400, "Json deserialize error: `query.relevance_feedback` needs `target`, `feedback` "
                                      "(a list) and `strategy` {\"naive\": {a, b, c}}"), false;
    double coef[3];
    static const char *const names[3] = {"a", "b", "c"};
    for (int k = 0; k < 3; k++) {
        const json_t *v = json_object_get(naive, names[k]);
        if (!json_is_number(v))
            return server_fail(call, 400, "Json deserialize error: `query.relevance_feedback.strategy.naive.%s` must be "
                                          "a number", names[k]), false;
        coef[k] = json_number_value(v);
    }
    if (coef[1] < 0.0) {
        char b[32];
        server__rust_float(coef[1], b, sizeof b);
        return server_fail(call, 422, "Validation error in JSON body: [query.relevance_feedback.strategy.naive.b: value "
                                      "%s invalid, must be 0.0 or larger]", b), false;
    }
    if (json_array_size(items) == 0)
        return server_fail(call, 422, "Validation error in JSON body: [query.relevance_feedback: feedback elements must "
                                      "be non-empty]"), false;
    size_t n = json_array_size(items);
    float *scores = malloc(n * sizeof *scores);
    if (!scores) return server_fail(call, 500, "out of memory"), false;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        const json_t *s = json_object_get(json_array_get(items, i), "score");
        if (!json_is_number(s) || !json_object_get(json_array_get(items, i), "example"))
            ok = !!server_fail(call, 400, "Json deserialize error: query.relevance_feedback.feedback[%zu] must be "
                                          "{\"example\": …, \"score\": number}", i);
        else scores[i] = (float)json_number_value(s);
    }
    l->reco = 5;
    l->fb_a = (float)coef[0];
    if (ok) ok = server__add_example(call, coll, l, target, "query.relevance_feedback.target");
    for (size_t i = 0; ok && i < n; i++) {
        char where[80];
        snprintf(where, sizeof where, "query.relevance_feedback.feedback[%zu].example", i);
        ok = server__add_example(call, coll, l, json_object_get(json_array_get(items, i), "example"), where);
    }
    if (ok && !(l->fb_pairs = malloc((n * n > 0 ? n * n : 1) * sizeof *l->fb_pairs))) ok = !!server_fail(call, 500, "out of memory");
    for (size_t i = 0; ok && i < n; i++)
        for (size_t j = 0; j < n; j++) {
            float conf = scores[i] - scores[j];
            if (i == j || !(conf > 0.0f)) continue;
            l->fb_pairs[l->n_fb_pairs++] = (server_fb_pair){1 + i, 1 + j, powf(conf, (float)coef[1]) * (float)coef[2]};
        }
    free(scores);
    return ok;
}

/* Decode the `query` of a query level. */
static bool server__level_query(server_call *call, const char *coll, const json_t *q, server_level *l) {
    if (!q || json_is_null(q)) return true;
    if (json_is_array(q) || json_is_integer(q) || json_is_string(q) || server_json_is_sparse(q))
        return server__vector_or_id(call, coll, l, q, "query", &l->vec, &l->dim, &l->rows, &l->sp);
    if (!json_is_object(q)) return server_fail(call, 400, "Json deserialize error: `query` has an unsupported type"), false;
    const json_t *v;
    const json_t *doc = json_object_get(q, "text") ? q : NULL;
    if (!doc && json_is_object(v = json_object_get(q, "nearest")) && json_object_get(v, "text")) doc = v;
    if (doc) {
        const json_t *mmr = doc == q ? NULL : json_object_get(q, "mmr");
        if (!server__level_document(call, doc, l)) return false;
        if (mmr && !json_is_null(mmr) && (!l->vec || l->hybrid))
            return server_fail(call, 400, "Wrong input: `query.mmr` needs a dense query vector"), false;
        return !mmr || json_is_null(mmr) || server__level_mmr(call, mmr, l);
    }
    if ((v = json_object_get(q, "nearest"))) {
        const json_t *mmr = json_object_get(q, "mmr");
        return server__vector_or_id(call, coll, l, v, "query.nearest", &l->vec, &l->dim, &l->rows, &l->sp) &&
               (!mmr || json_is_null(mmr) || server__level_mmr(call, mmr, l));
    }
    if ((v = json_object_get(q, "formula")))
        return server_formula_parse(call, q, &l->formula);
    if ((v = json_object_get(q, "relevance_feedback"))) return server__level_feedback(call, coll, v, l);
    if ((v = json_object_get(q, "recommend"))) {
        if (!json_is_object(v)) return server_fail(call, 400, "Json deserialize error: `query.recommend` must be an object"), false;
        return server__recommend_vector(call, coll, l, v);
    }
    if ((v = json_object_get(q, "order_by"))) {
        l->order = v;
        return true;
    }
    if ((v = json_object_get(q, "sample"))) {
        if (!json_is_string(v) || strcmp(json_string_value(v), "random"))
            return server_fail(call, 400, "Json deserialize error: `query.sample`: unknown variant, expected `random`"), false;
        l->sample = true;
        return true;
    }
    if ((v = json_object_get(q, "discover"))) {
        if (!json_is_object(v) || !json_object_get(v, "target"))
            return server_fail(call, 400, "Json deserialize error: `query.discover` needs a `target`"), false;
        l->reco = 3;
        return server__add_example(call, coll, l, json_object_get(v, "target"), "query.discover.target") &&
               server__context_pairs(call, coll, l, json_object_get(v, "context"), "query.discover.context");
    }
    if ((v = json_object_get(q, "context"))) {
        l->reco = 4;
        if (!server__context_pairs(call, coll, l, v, "query.context")) return false;
        if (!l->n_pairs)
            return server_fail(call, 422, "Validation error in JSON body: [query.context: at least one pair is required]"), false;
        return true;
    }
    if ((v = json_object_get(q, "fusion"))) {
        const char *f = json_string_value(v);
        if (f && !strcmp(f, "rrf")) l->fusion = 1;
        else if (f && !strcmp(f, "dbsf")) l->fusion = 2;
        else return server_fail(call, 400, "Json deserialize error: `query.fusion` must be \"rrf\" or \"dbsf\""), false;
        l->rrf_k = 2;
        return true;
    }
    if ((v = json_object_get(q, "rrf"))) {
        if (!json_is_object(v)) return server_fail(call, 400, "Json deserialize error: `query.rrf` must be an object"), false;
        uint64_t k;
        if (!server_json_uint(call, v, "k", 2, 1, 1000000, &k)) return false;
        const json_t *w = json_object_get(v, "weights");
        if (w && !json_is_null(w)) {
            if (!json_is_array(w)) return server_fail(call, 400, "Json deserialize error: `query.rrf.weights` must be an array of numbers"), false;
            for (size_t i = 0; i < json_array_size(w); i++)
                if (!json_is_number(json_array_get(w, i)))
                    return server_fail(call, 400, "Json deserialize error: query.rrf.weights[%zu] must be a number", i), false;
            l->weights = w;
        }
        l->fusion = 1;
        l->rrf_k = (uint32_t)k;
        return true;
    }

    const char *key = json_object_iter_key(json_object_iter((json_t *)q));
    return server_fail(call, 400, "Wrong input: query `%s` is not supported (nearest, recommend, discover, context, "
                                  "order_by, sample, fusion, rrf, formula, relevance_feedback are)",
                       key ? key : "{}"), false;
}

/* ==== Running ==== */

/* Build the filter text for a search: caller's filter, candidate ids, exclusions. */
static char *server__filter_text(const server_level *l, const server_hits *cands) {
    if (!l->filter && !cands && l->n_exclude == 0) return NULL;
    json_t *f = json_object(), *must = json_array();
    if (l->filter) json_array_append_new(must, json_loads(l->filter, 0, NULL));
    if (cands) {
        json_t *ids = json_array();
        for (size_t i = 0; i < cands->n; i++) json_array_append_new(ids, server_json_id_encode(&cands->items[i].id));
        json_array_append_new(must, json_pack("{s:o}", "has_id", ids));
    }
    json_object_set_new(f, "must", must);
    if (l->n_exclude) {
        json_t *ids = json_array();
        for (size_t i = 0; i < l->n_exclude; i++) json_array_append_new(ids, server_json_id_encode(&l->exclude[i]));
        json_object_set_new(f, "must_not", json_pack("[{s:o}]", "has_id", ids));
    }
    char *text = server_json_text(f);
    json_decref(f);
    return text;
}

/* Run the vector search of a level; records owned by *out. */
static bool server__search(server_call *call, const char *coll, const server_level *l, const server_hits *cands,
                           const sc_with *with, sc_record_list **out) {
    sc_search_request req = {0};
    req.vector_name = l->using;
    req.query = l->vec;
    req.text = l->vec ? NULL : l->text;
    req.dim = l->dim;
    req.n_rows = l->rows;
    req.limit = l->limit;
    req.offset = l->offset;
    server_clamp_to_points(call, coll, &req.limit, &req.offset);
    req.has_threshold = l->has_threshold;
    req.score_threshold = l->threshold;
    req.n_threads = call->ctx->cfg.search_threads ? call->ctx->cfg.search_threads : 1;
    req.exact = l->exact;
    req.hnsw_ef = l->hnsw_ef;
    req.quant_ignore = l->quant_ignore;
    req.oversampling = l->oversampling;
    sc_sparse_query sq = {l->sp.indices, l->sp.values, l->sp.n, l->idf_corpus};
    if (l->sparse) req.sparse = &sq;
    if (with) req.with = *with;
    char *filter = server__filter_text(l, cands);
    req.filter_json = filter;
    sc_status rc = sc_points_search(call->ctx->db, coll, &req, out);
    free(filter);
    if (rc == SC_NOTFOUND && sc_collection_exists(call->ctx->db, coll))
        return server_fail(call, 400, "Wrong input: %s", sc_db_errmsg(call->ctx->db)), false;
    if (rc != SC_OK) return server_fail_store(call, rc), false;
    return true;
}

/* Fuse the source lists into *out (best first) with the store's sc_fuse:
** RRF (ranks from 0, per-source weights; a hybrid text query weights its
** keyword leg SC_HYBRID_KEYWORD_WEIGHT), DBSF, or alpha (min-max). */
static bool server__fuse(server_call *call, const server_level *l, server_hits *src, size_t n_src, server_hits *out) {
    sc_fuse_list lists[SERVER_MAX_PREFETCH > 2 ? SERVER_MAX_PREFETCH : 2];
    if (l->weights && json_array_size(l->weights) != n_src)
        return server_fail(call, 422, "Validation error: Number of weights in RRF should match number of pre-fetches: "
                                      "got %zu, expected %zu", json_array_size(l->weights), n_src), false;
    size_t total = 0;
    for (size_t s = 0; s < n_src; s++) total += src[s].n;
    sc_point_id *ids = malloc((total ? total : 1) * sizeof *ids);
    float *scores = malloc((total ? total : 1) * sizeof *scores);
    bool ok = ids && scores;
    size_t k = 0;
    for (size_t s = 0; ok && s < n_src; s++) {
        double w = 1.0;
        if (l->weights) w = json_number_value(json_array_get(l->weights, s));
        if (l->hybrid && l->fusion == 1 && s == 1) w = SC_HYBRID_KEYWORD_WEIGHT;
        if (l->fusion == 3) w = s == 0 ? (double)l->alpha : 1.0 - (double)l->alpha;
        lists[s] = (sc_fuse_list){.ids = ids + k, .scores = scores + k, .n = src[s].n, .weight = w};
        for (size_t i = 0; i < src[s].n; i++, k++) {
            ids[k] = src[s].items[i].id;
            scores[k] = src[s].items[i].score;
        }
    }
    /* Qdrant's rrf: its weights divide the position; a hybrid text query fuses as the CLI does */
    sc_fusion f = l->fusion == 1 ? (l->hybrid ? SC_FUSION_RRF : SC_FUSION_RRF_POSITION)
                  : l->fusion == 2 ? SC_FUSION_DBSF
                                   : SC_FUSION_MINMAX;
    sc_fused *fused = NULL;
    size_t m = 0;
    ok = ok && sc_fuse(f, lists, n_src, (double)l->rrf_k, 0, &fused, &m) == SC_OK;
    server_hit *all = ok ? malloc((m ? m : 1) * sizeof *all) : NULL;
    for (size_t i = 0; all && i < m; i++) all[i] = (server_hit){fused[i].id, (float)fused[i].score};
    free(ids);
    free(scores);
    sc_free(fused);
    if (!all) return server_fail(call, 500, "out of memory"), false;
    out->items = all;
    out->n = m;
    return true;
}

static bool server__run_level(server_call *call, const char *coll, const json_t *obj, int depth, const char *outer,
                              const sc_with *with, sc_record_list **records, server_hits *hits);

#define SERVER_MAX_RECO_POINTS 100000u /* candidates a best_score / sum_scores recommendation scores exactly */

int server_hit_by_id(const void *a, const void *b) {
    return sc_point_id_cmp(&((const server_hit *)a)->id, &((const server_hit *)b)->id);
}

int server_hit_by_score(const void *a, const void *b) {
    const server_hit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return sc_point_id_cmp(&x->id, &y->id);
}

/* 0.5 (x / (1 + |x|) + 1): Qdrant's scaled_fast_sigmoid. */
static float server__sigmoid(float x) { return 0.5f * (x / (1.0f + fabsf(x)) + 1.0f); }

/* x / (1 + |x|): Qdrant's fast_sigmoid. */
static float server__fast_sigmoid(float x) { return x / (1.0f + fabsf(x)); }

/* The score of one candidate from its similarities to the examples of l,
** as Qdrant defines the example-scored queries (lib/segment/src/
** vector_storage/query/): best_score, sum_scores (reco_query.rs), discover
** (discover_query.rs: the number of pairs whose positive is closer minus
** those whose negative is, plus scaled_sigmoid(target)), context
** (context_query.rs: sum over pairs of fast_sigmoid(min(pos - neg - eps, 0))). */
static float server__example_score(const server_level *l, const float *sim) {
    if (l->reco == 5) { /* relevance_feedback (feedback_query.rs): a · sim(target) + Σ weight · (sim(pos) − sim(neg)) */
        float score = l->fb_a * sim[0];
        for (size_t p = 0; p < l->n_fb_pairs; p++)
            score += l->fb_pairs[p].weight * (sim[l->fb_pairs[p].pos] - sim[l->fb_pairs[p].neg]);
        return score;
    }
    if (l->reco == 3 || l->reco == 4) {
        size_t first = l->reco == 3 ? 1 : 0; /* discover: the target comes first */
        float score = 0;
        for (size_t p = 0; p < l->n_pairs; p++) {
            float pos = sim[first + 2 * p], neg = sim[first + 2 * p + 1];
            if (l->reco == 3) score += (float)((pos > neg) - (pos < neg));
            else score += server__fast_sigmoid(fminf(pos - neg - FLT_EPSILON, 0.0f));
        }
        return l->reco == 3 ? score + server__sigmoid(sim[0]) : score;
    }
    float p = l->reco == 1 ? -INFINITY : 0.0f, q = l->reco == 1 ? -INFINITY : 0.0f;
    for (size_t e = 0; e < l->n_pos + l->n_neg; e++) {
        float *side = e < l->n_pos ? &p : &q;
        if (l->reco == 1) *side = sim[e] > *side ? sim[e] : *side;
        else *side += sim[e];
    }
    return l->reco == 2 ? p - q : p > q ? server__sigmoid(p) : -server__sigmoid(q);
}

/* The example-scored queries (recommend best_score / sum_scores, discover,
** context): each candidate's similarity to every example, from one exact
** search per example over the candidates (the points of the filter, or the
** prefetch results); similarity is the score for Cosine and Dot and minus
** the distance for Euclid and Manhattan; then server__example_score. Best
** first into *out. */
static bool server__reco_score(server_call *call, const char *coll, const server_level *l, const server_hits *src,
                               size_t n_src, server_hits *out) {
    sc_collection_info info;
    sc_status rc = sc_collection_info_get(call->ctx->db, coll, &info);
    if (rc != SC_OK) return server_fail_store(call, rc), false;
    float sign = 1.0f;
    for (size_t i = 0; i < info.n_vector_params; i++)
        if (!strcmp(info.vectors[i].name, l->using ? l->using : "") || info.n_vector_params == 1)
            sign = info.vectors[i].distance == SC_DISTANCE_EUCLID || info.vectors[i].distance == SC_DISTANCE_MANHATTAN
                       ? -1.0f
                       : 1.0f;
    uint64_t n_points = info.n_points;
    sc_collection_info_free(&info);
    server_hits cands = {0};
    for (size_t i = 0; i < n_src; i++) cands.n += src[i].n;
    if (n_src && !(cands.items = malloc((cands.n ? cands.n : 1) * sizeof *cands.items)))
        return server_fail(call, 500, "out of memory"), false;
    for (size_t i = 0, k = 0; i < n_src; k += src[i].n, i++) memcpy(cands.items + k, src[i].items, src[i].n * sizeof *cands.items);
    uint64_t want = n_src ? cands.n : n_points;
    if (want > SERVER_MAX_RECO_POINTS) {
        free(cands.items);
        return server_fail(call, 400, "Bad request: recommend best_score / sum_scores, discover and context queries score "
                                      "every candidate exactly here: at most %u candidates (use a filter or a prefetch)",
                           SERVER_MAX_RECO_POINTS), false;
    }
    server_level leg = *l;
    leg.limit = (uint32_t)(want ? want : 1);
    leg.offset = 0;
    leg.has_threshold = false;
    leg.exact = true;
    size_t n_ex = l->n_examples, n = 0;
    server_hit *acc = NULL; /* the candidates by id */
    float *sims = NULL;     /* n_ex similarities per candidate, in acc's order */
    bool ok = true;
    for (size_t e = 0; ok && e < n_ex; e++) {
        leg.vec = l->examples + l->ex_off[e];
        leg.rows = l->ex_rows[e];
        sc_record_list *rl = NULL;
        if (!(ok = server__search(call, coll, &leg, n_src ? &cands : NULL, NULL, &rl))) break;
        if (e == 0) { /* the candidates: every search returns the same set */
            n = rl->n;
            acc = malloc((n ? n : 1) * sizeof *acc);
            sims = calloc((n ? n : 1) * n_ex, sizeof *sims);
            if (!acc || !sims) ok = !!server_fail(call, 500, "out of memory");
            for (size_t i = 0; ok && i < n; i++) acc[i] = (server_hit){rl->items[i].id, 0.0f};
            if (ok) qsort(acc, n, sizeof *acc, server_hit_by_id);
        }
        for (size_t i = 0; ok && i < rl->n; i++) {
            server_hit key = {.id = rl->items[i].id};
            server_hit *h = bsearch(&key, acc, n, sizeof *acc, server_hit_by_id);
            if (h) sims[(size_t)(h - acc) * n_ex + e] = sign * rl->items[i].score;
        }
        sc_record_list_free(rl);
    }
    for (size_t i = 0; ok && i < n; i++) acc[i].score = server__example_score(l, sims + i * n_ex);
    if (ok) qsort(acc, n, sizeof *acc, server_hit_by_score);
    free(sims);
    free(cands.items);
    if (!ok) {
        free(acc);
        return false;
    }
    out->items = acc;
    out->n = n;
    return true;
}

/* Hits of a record list (owned copy). */
static bool server__hits_of(server_call *call, const sc_record_list *rl, server_hits *out) {
    out->n = rl->n;
    out->items = malloc((rl->n ? rl->n : 1) * sizeof *out->items);
    if (!out->items) return server_fail(call, 500, "out of memory"), false;
    for (size_t i = 0; i < rl->n; i++) {
        out->items[i].id = rl->items[i].id;
        out->items[i].score = rl->items[i].score;
    }
    return true;
}

/* The records (with `with`) of scored hits, in their order, with their scores. */
static bool server__hits_records(server_call *call, const char *coll, const server_hits *hits, const sc_with *with,
                                 sc_record_list **records) {
    sc_point_id *ids = malloc((hits->n ? hits->n : 1) * sizeof *ids);
    if (!ids) return server_fail(call, 500, "out of memory"), false;
    for (size_t i = 0; i < hits->n; i++) ids[i] = hits->items[i].id;
    sc_status rc = sc_points_get(call->ctx->db, coll, ids, hits->n, with, records);
    free(ids);
    if (rc != SC_OK) return server_fail_store(call, rc), false;
    /* records come in the order asked, missing ones skipped: copy scores across */
    for (size_t i = 0, j = 0; i < (*records)->n; i++) {
        while (j < hits->n && sc_point_id_cmp(&hits->items[j].id, &(*records)->items[i].id)) j++;
        if (j < hits->n) (*records)->items[i].score = hits->items[j].score;
    }
    return true;
}

/* A level without a query and without prefetches is a scroll, as in
** Qdrant: the points of the filter in id order, offset then limit, score 0.
** Records (with `with`) or bare hits. */
static bool server__scroll_level(server_call *call, const char *coll, const server_level *l, const sc_with *with,
                                 sc_record_list **records, server_hits *hits) {
    sc_scroll_request req = {0};
    uint32_t limit = l->limit, offset = l->offset;
    server_clamp_to_points(call, coll, &limit, &offset);
    req.limit = limit + offset;
    req.filter_json = l->filter;
    if (with) req.with = *with;
    sc_record_list *rl = NULL;
    sc_status rc = sc_points_scroll(call->ctx->db, coll, &req, &rl, NULL, NULL);
    if (rc != SC_OK) return server_fail_store(call, rc), false;
    size_t skip = offset < rl->n ? offset : rl->n;
    if (skip) { /* free the skipped records' contents, move the rest to the front */
        sc_record_list *dead = malloc(sizeof *dead);
        sc_record *head = malloc(skip * sizeof *head);
        if (!dead || !head) {
            free(dead);
            free(head);
            sc_record_list_free(rl);
            return server_fail(call, 500, "out of memory"), false;
        }
        memcpy(head, rl->items, skip * sizeof *head);
        *dead = (sc_record_list){.n = skip, .items = head};
        sc_record_list_free(dead);
        memmove(rl->items, rl->items + skip, (rl->n - skip) * sizeof *rl->items);
        rl->n -= skip;
    }
    if (with) {
        *records = rl;
        return true;
    }
    bool ok = server__hits_of(call, rl, hits);
    sc_record_list_free(rl);
    return ok;
}

/* {"order_by": …}: the candidates (the prefetch results, else the points
** of the filter) in the order of their numbers at the key (server_order_by),
** score 0. */
static bool server__ordered(server_call *call, const char *coll, const server_level *l, const server_hits *src,
                            size_t n_src, server_hits *out) {
    server_hits cands = {0};
    for (size_t i = 0; i < n_src; i++) cands.n += src[i].n;
    if (n_src && !(cands.items = malloc((cands.n ? cands.n : 1) * sizeof *cands.items)))
        return server_fail(call, 500, "out of memory"), false;
    for (size_t i = 0, k = 0; i < n_src; k += src[i].n, i++) memcpy(cands.items + k, src[i].items, src[i].n * sizeof *cands.items);
    char *filter = server__filter_text(l, n_src ? &cands : NULL);
    free(cands.items);
    sc_point_id *ids = NULL;
    double *values = NULL;
    size_t n = 0;
    bool ok = server_order_by(call, coll, filter, l->order, &ids, &values, &n);
    free(filter);
    free(values);
    if (!ok) return false;
    out->items = malloc((n ? n : 1) * sizeof *out->items);
    if (!out->items) {
        free(ids);
        return server_fail(call, 500, "out of memory"), false;
    }
    for (size_t i = 0; i < n; i++) out->items[i] = (server_hit){ids[i], 0.0f};
    out->n = n;
    free(ids);
    return true;
}

/* {"sample": "random"}: the candidates (the prefetch results, else the
** points of the filter) in random order, score 0, into *out. */
static bool server__sample(server_call *call, const char *coll, const server_level *l, const server_hits *src,
                           size_t n_src, server_hits *out) {
    server_hits all = {0};
    if (n_src) {
        for (size_t i = 0; i < n_src; i++) all.n += src[i].n;
        if (!(all.items = malloc((all.n ? all.n : 1) * sizeof *all.items))) return server_fail(call, 500, "out of memory"), false;
        for (size_t i = 0, k = 0; i < n_src; k += src[i].n, i++) memcpy(all.items + k, src[i].items, src[i].n * sizeof *all.items);
        qsort(all.items, all.n, sizeof *all.items, server_hit_by_id);
        size_t m = 0; /* a point found by several prefetches once */
        for (size_t i = 0; i < all.n; i++)
            if (!m || sc_point_id_cmp(&all.items[m - 1].id, &all.items[i].id)) all.items[m++] = all.items[i];
        all.n = m;
    } else {
        server_level every = *l;
        every.limit = UINT32_MAX;
        every.offset = 0;
        if (!server__scroll_level(call, coll, &every, NULL, NULL, &all)) return false;
    }
    static uint64_t calls;
    uint64_t x = (uint64_t)(util_now() * 1e9) ^ (__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED) * 0x9e3779b97f4a7c15ull);
    for (size_t i = all.n; i > 1; i--) { /* Fisher-Yates with xorshift64 */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t j = (size_t)(x % i);
        server_hit t = all.items[i - 1];
        all.items[i - 1] = all.items[j];
        all.items[j] = t;
    }
    for (size_t i = 0; i < all.n; i++) all.items[i].score = 0.0f;
    *out = all;
    return true;
}

/* The two legs of a hybrid text query, as `semcode search` runs them: the
** dense and the BM25 search of the same filter, max(3 × (limit + offset),
** 50) candidates each, into src[0] and src[1]; then l fuses them (RRF with
** SC_HYBRID_RRF_K over ranks from 1, i.e. one more over ranks from 0, the
** keyword leg weighted SC_HYBRID_KEYWORD_WEIGHT; or alpha). */
static bool server__hybrid_legs(server_call *call, const char *coll, server_level *l, server_hits *src, size_t *n_src) {
    server_level leg = *l;
    uint64_t want = 3ull * (l->limit + l->offset);
    if (want < 50) want = 50;
    leg.limit = (uint32_t)(want < SERVER_MAX_LIMIT ? want : SERVER_MAX_LIMIT);
    leg.offset = 0;
    leg.has_threshold = false;
    for (int k = 0; k < 2; k++) {
        leg.vec = k == 0 ? l->vec : NULL;
        leg.text = k == 0 ? NULL : l->text;
        sc_record_list *rl = NULL;
        if (!server__search(call, coll, &leg, NULL, NULL, &rl)) return false;
        memset(&src[k], 0, sizeof src[k]);
        bool ok = server__hits_of(call, rl, &src[k]);
        sc_record_list_free(rl);
        if (!ok) return false;
        (*n_src)++;
    }
    l->fusion = l->alpha > 0 ? 3 : 1;
    l->rrf_k = SC_HYBRID_RRF_K + 1; /* ranks from 0 here */
    l->weights = NULL;
    return true;
}

/* l's filter and the filter of the levels above (outer, compact text;
** NULL = none) both apply: l->filter becomes {"must": [outer, own]}. */
static bool server__filter_and(server_call *call, server_level *l, const char *outer) {
    if (!outer) return true;
    if (!l->filter) {
        l->filter = util_strdup(outer);
        return l->filter ? true : (server_fail(call, 500, "out of memory"), false);
    }
    size_t n = strlen(outer) + strlen(l->filter) + 16;
    char *both = malloc(n);
    if (!both) return server_fail(call, 500, "out of memory"), false;
    snprintf(both, n, "{\"must\":[%s,%s]}", outer, l->filter);
    free(l->filter);
    l->filter = both;
    return true;
}

/* The distance of vector `using` (NULL = the default) of coll into *out. */
static bool server__distance_of(server_call *call, const char *coll, const char *using, sc_distance *out) {
    sc_collection_info info;
    sc_status rc = sc_collection_info_get(call->ctx->db, coll, &info);
    if (rc != SC_OK) return server_fail_store(call, rc), false;
    bool found = false;
    for (size_t i = 0; i < info.n_vector_params && !found; i++)
        if (!strcmp(info.vectors[i].name, using ? using : "") || (!using && info.n_vector_params == 1)) {
            *out = info.vectors[i].distance;
            found = true;
        }
    sc_collection_info_free(&info);
    if (!found) server_fail(call, 400, "Wrong input: Not existing vector name error: %s", using ? using : "(default)");
    return found;
}

/* {"nearest": v, "mmr": {…}} (mmr.c): the candidates_limit nearest of the
** candidates (the prefetch results, else the filter's points), re-ranked
** by maximal marginal relevance; they keep their query scores. */
static bool server__mmr(server_call *call, const char *coll, const server_level *l, const server_hits *src,
                        size_t n_src, server_hits *out) {
    sc_distance dist;
    if (!server__distance_of(call, coll, l->using, &dist)) return false;
    server_hits all = {0};
    for (size_t i = 0; i < n_src; i++) all.n += src[i].n;
    if (n_src && !(all.items = malloc((all.n ? all.n : 1) * sizeof *all.items))) return server_fail(call, 500, "out of memory"), false;
    for (size_t i = 0, k = 0; i < n_src; k += src[i].n, i++) memcpy(all.items + k, src[i].items, src[i].n * sizeof *all.items);
    server_level leg = *l;
    uint64_t want = (uint64_t)l->limit + l->offset;
    leg.limit = l->mmr_candidates ? l->mmr_candidates : (uint32_t)(want < UINT32_MAX ? want : UINT32_MAX);
    leg.offset = 0;
    const char *names[1] = {l->using ? l->using : ""};
    sc_with with = {.vectors = true, .vector_names = names, .n_vector_names = 1};
    sc_record_list *rl = NULL;
    bool ok = server__search(call, coll, &leg, n_src ? &all : NULL, &with, &rl);
    free(all.items);
    if (!ok) return false;
    size_t n = rl->n, m = 0, picked = 0;
    uint32_t dim = l->dim;
    float *vecs = malloc(sizeof(float) * dim * (n ? n : 1)), *rel = malloc(sizeof(float) * (n ? n : 1));
    size_t *order = malloc(sizeof(size_t) * (n ? n : 1)), *row = malloc(sizeof(size_t) * (n ? n : 1));
    out->items = malloc(sizeof *out->items * (n ? n : 1));
    ok = vecs && rel && order && row && out->items;
    bool multi = false;
    for (size_t i = 0; ok && !multi && i < n; i++) { /* points without the vector are left out, as Qdrant does */
        const sc_record *r = &rl->items[i];
        if (r->n_vectors == 0 || r->vector_dims[0] != dim) continue;
        if (r->vector_rows && r->vector_rows[0]) { /* MMR's diversity is between single vectors */
            multi = true;
            break;
        }
        memcpy(vecs + m * dim, r->vectors[0], sizeof(float) * dim);
        /* the search's score is the similarity for Cosine and Dot, the distance otherwise */
        rel[m] = dist == SC_DISTANCE_EUCLID || dist == SC_DISTANCE_MANHATTAN ? -r->score : r->score;
        row[m++] = i;
    }
    if (multi) ok = !!server_fail(call, 400, "Wrong input: `query.mmr` on multivector `%s` is not supported",
                                   *names[0] ? names[0] : "(default)");
    else if (ok) ok = server_mmr_select(dist, vecs, dim, rel, m, l->mmr_lambda, (size_t)(want < m ? want : m), order, &picked);
    for (size_t k = 0; ok && k < picked; k++)
        out->items[k] = (server_hit){rl->items[row[order[k]]].id, rl->items[row[order[k]]].score};
    out->n = ok ? picked : 0;
    if (!ok) {
        free(out->items);
        out->items = NULL;
        if (!multi) server_fail(call, 500, "out of memory");
    }
    free(vecs);
    free(rel);
    free(order);
    free(row);
    sc_record_list_free(rl);
    return ok;
}

/* Run one query level (with its prefetches); outer is the filter of the
** levels above (compact text, NULL = none), which applies here too, as in
** Qdrant a filter holds for every prefetch below it. When `with` is
** non-NULL the result is a record list with payloads; otherwise bare hits. */
static bool server__run_level(server_call *call, const char *coll, const json_t *obj, int depth, const char *outer,
                              const sc_with *with, sc_record_list **records, server_hits *hits) {
    if (!json_is_object(obj)) return server_fail(call, 400, "Json deserialize error: a query must be an object"), false;
    if (depth > SERVER_MAX_PREFETCH_DEPTH)
        return server_fail(call, 400, "Wrong input: prefetch nested deeper than %d levels", SERVER_MAX_PREFETCH_DEPTH), false;
    server_level l = {0};
    server_hits src[SERVER_MAX_PREFETCH];
    size_t n_src = 0;
    bool ok = server__level_common(call, obj, &l, false) && server__filter_and(call, &l, outer) &&
              server__level_query(call, coll, json_object_get(obj, "query"), &l);
    const json_t *pf = ok ? json_object_get(obj, "prefetch") : NULL;
    if (pf && !json_is_null(pf) && l.hybrid) ok = !!server_fail(call, 400, "Wrong input: a hybrid text query cannot have `prefetch`");
    if (ok && pf && !json_is_null(pf)) {
        size_t n_pf = json_is_array(pf) ? json_array_size(pf) : 1;
        if (n_pf > SERVER_MAX_PREFETCH) ok = !!server_fail(call, 400, "Wrong input: at most %d prefetches", SERVER_MAX_PREFETCH);
        for (size_t i = 0; ok && i < n_pf; i++) {
            const json_t *sub = json_is_array(pf) ? json_array_get(pf, i) : pf;
            memset(&src[n_src], 0, sizeof src[n_src]);
            /* a level's filter holds for every prefetch below it (Qdrant), fusion or not */
            ok = server__run_level(call, coll, sub, depth + 1, l.filter, NULL, NULL, &src[n_src]);
            if (ok) n_src++;
        }
    }
    /* after the prefetches, as Qdrant: their point ids are looked up first */
    if (ok && l.fusion && l.using)
        ok = !!server_fail(call, 400, "Bad request: Fusion queries cannot be combined with the 'using' field.");
    if (ok && l.hybrid) ok = server__hybrid_legs(call, coll, &l, src, &n_src);
    if (ok && l.order && l.has_threshold)
        ok = !!server_fail(call, 400, "Bad request: Can't use score_threshold with an order_by query.");
    bool no_query = !l.fusion && !l.reco && !l.sample && !l.order && !l.vec && !l.text && !l.sparse && !l.formula;
    if (ok && no_query && pf && !json_is_null(pf))
        ok = !!server_fail(call, 400, "Bad request: A query is needed to merge the prefetches. Can't have prefetches "
                                      "without defining a query.");
    if (ok && no_query && l.has_threshold)
        ok = !!server_fail(call, 400, "Bad request: A query is needed to use the score_threshold. Can't have "
                                      "score_threshold without defining a query.");
    if (ok && no_query) {
        ok = server__scroll_level(call, coll, &l, with, records, hits);
        goto done;
    }
    if (ok && l.fusion && n_src == 0) ok = !!server_fail(call, 400, "Wrong input: fusion queries need `prefetch`");
    if (ok && l.idf_corpus && !l.sparse)
        ok = !!server_fail(call, 400, "Wrong input: `params.idf`: an IDF corpus applies to a sparse query of a sparse "
                                      "vector with the `idf` modifier; this query is not sparse");
    if (ok && l.formula && n_src == 0)
        ok = !!server_fail(call, 400, "Wrong input: Validation failed: cannot apply Formula without prefetches");
    if (!ok) goto done;

    server_hits fused = {0};
    bool have_fused = false;
    if (l.fusion || l.reco || l.sample || l.order || l.formula || l.mmr) {
        ok = l.fusion    ? server__fuse(call, &l, src, n_src, &fused)
             : l.reco    ? server__reco_score(call, coll, &l, src, n_src, &fused)
             : l.sample  ? server__sample(call, coll, &l, src, n_src, &fused)
             : l.formula ? server_formula_rescore(call, coll, l.formula, src, n_src, &fused)
             : l.mmr     ? server__mmr(call, coll, &l, src, n_src, &fused)
                         : server__ordered(call, coll, &l, src, n_src, &fused);
        have_fused = ok;
        if (ok) {
            size_t m = 0;
            for (size_t i = 0; i < fused.n; i++) {
                /* (an MMR level's search applied the threshold, as a distance for Euclid and Manhattan) */
                if (l.has_threshold && !l.mmr && fused.items[i].score < l.threshold) continue;
                fused.items[m++] = fused.items[i];
            }
            size_t start = l.offset < m ? l.offset : m, end = start + l.limit < m ? start + l.limit : m;
            memmove(fused.items, fused.items + start, (end - start) * sizeof *fused.items);
            fused.n = end - start;
        }
        if (ok && with) {
            ok = server__hits_records(call, coll, &fused, with, records);
        } else if (ok) {
            *hits = fused;
            have_fused = false;
        }
    } else {
        /* a vector query, over all points or over the union of prefetch candidates */
        server_hits all = {0};
        if (n_src > 0) {
            size_t total = 0;
            for (size_t i = 0; i < n_src; i++) total += src[i].n;
            all.items = malloc((total ? total : 1) * sizeof *all.items);
            if (!all.items) ok = !!server_fail(call, 500, "out of memory");
            for (size_t i = 0; ok && i < n_src; i++) {
                memcpy(all.items + all.n, src[i].items, src[i].n * sizeof *all.items);
                all.n += src[i].n;
            }
        }
        sc_record_list *rl = NULL;
        if (ok) ok = server__search(call, coll, &l, n_src ? &all : NULL, with, &rl);
        free(all.items);
        if (ok && with) *records = rl;
        else if (ok) {
            ok = server__hits_of(call, rl, hits);
            sc_record_list_free(rl);
        }
    }
    if (have_fused) free(fused.items);
done:
    for (size_t i = 0; i < n_src; i++) free(src[i].items);
    server__level_free(&l);
    return ok;
}

/* ==== Endpoints ==== */

/* One /points/query request object → {"points": [...]}. */
static json_t *server__query_one(server_call *call, const char *coll, const json_t *obj) {
    server_with w;
    if (!json_is_object(obj)) return server_fail(call, 400, "Json deserialize error: a query request must be an object");
    if (!server_json_with(call, obj, false, &w)) return NULL;
    sc_record_list *rl = NULL;
    server_hits none = {0};
    json_t *out = NULL;
    if (server__run_level(call, coll, obj, 0, NULL, &w.with, &rl, &none))
        out = json_pack("{s:o}", "points", server_json_records(rl, true));
    sc_record_list_free(rl);
    server_with_free(&w);
    return out;
}

/* One request of the shape {...} in collection args[0], answered by fn. */
typedef json_t *(*server__one_fn)(server_call *call, const char *coll, const json_t *obj);

static json_t *server__single(server_call *call, server__one_fn fn) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    if (!call->body) return server_fail(call, 400, "Json deserialize error: a request body is required");
    return fn(call, coll, call->body);
}

/* {"searches": [...]} answered one by one by fn; the first failure fails
** all (its index in *failed when failed is non-NULL). */
static json_t *server__batch(server_call *call, server__one_fn fn, size_t *failed) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    const json_t *s = call->body ? json_object_get(call->body, "searches") : NULL;
    if (!json_is_array(s)) return server_fail(call, 400, "Json deserialize error: `searches` must be an array");
    json_t *out = json_array();
    size_t i;
    const json_t *q;
    json_array_foreach(s, i, q) {
        json_t *r = fn(call, coll, q);
        if (!r) {
            json_decref(out);
            if (failed) *failed = i;
            return NULL;
        }
        json_array_append_new(out, r);
    }
    return out;
}

bool server_query_hits(server_call *call, const char *coll, const json_t *obj, server_hits *out) {
    memset(out, 0, sizeof *out);
    return server__run_level(call, coll, obj, 0, NULL, NULL, NULL, out);
}

bool server_query_hits_records(server_call *call, const char *coll, const server_hits *hits, const sc_with *with,
                               sc_record_list **records) {
    return server__hits_records(call, coll, hits, with, records);
}

void server_validation_prefix(server_call *call, const char *prefix) {
    static const char head[] = "Validation error in JSON body: [";
    if (call->status != 422 || strncmp(call->msg, head, sizeof head - 1)) return;
    char rest[sizeof call->msg];
    snprintf(rest, sizeof rest, "%s", call->msg + sizeof head - 1);
    snprintf(call->msg, sizeof call->msg, "%s%.64s%.900s", head, prefix, rest);
}

/* Qdrant validates a /points/query body as its internal request, so its
** validation messages name fields "internal.<path>": the same here. */
json_t *server_api_query(server_call *call) {
    json_t *out = server__single(call, server__query_one);
    server_validation_prefix(call, "internal.");
    return out;
}

/* {"searches": [...]} answered by fn; as Qdrant, a validation message
** names the failed entry: "searches[i].<inner><path>". */
static json_t *server__batch_named(server_call *call, server__one_fn fn, const char *inner) {
    size_t failed = 0;
    json_t *out = server__batch(call, fn, &failed);
    char prefix[48];
    snprintf(prefix, sizeof prefix, "searches[%zu].%s", failed, inner);
    if (!out) server_validation_prefix(call, prefix);
    return out;
}

/* Query batch messages name "searches[i].internal.<path>" (see server_api_query). */
json_t *server_api_query_batch(server_call *call) { return server__batch_named(call, server__query_one, "internal."); }

/* Legacy search object → list of scored points. */
static json_t *server__search_one(server_call *call, const char *coll, const json_t *obj) {
    if (!json_is_object(obj)) return server_fail(call, 400, "Json deserialize error: a search request must be an object");
    server_level l = {0};
    server_with w = {0};
    json_t *out = NULL;
    sc_record_list *rl = NULL;
    if (!server__level_common(call, obj, &l, true)) goto done;
    const json_t *v = json_object_get(obj, "vector");
    if (!v) {
        server_fail(call, 400, "Json deserialize error: missing field `vector`");
        goto done;
    }
    if (json_is_object(v) && json_object_get(v, "vector")) {
        /* NamedVector {"name": …, "vector": […]} */
        l.using = json_string_value(json_object_get(v, "name"));
        if (!l.using) {
            server_fail(call, 400, "Json deserialize error: `vector.name` must be a string");
            goto done;
        }
        v = json_object_get(v, "vector");
    }
    if (server_json_is_sparse(v)) { /* NamedSparseVector {"name", "vector": {"indices", "values"}} */
        if (!l.using) {
            server_fail(call, 400, "Wrong input: a sparse search vector goes under its name: {\"vector\": {\"name\": "
                                   "NAME, \"vector\": {\"indices\": [...], \"values\": [...]}}}");
            goto done;
        }
        if (!server_json_sparse(call, v, "vector.vector", "vector.vector", &l.sp)) goto done;
        l.sparse = true;
    } else if (!server_json_floats(call, v, "vector", &l.vec, &l.dim)) {
        goto done;
    }
    if (l.idf_corpus && !l.sparse) {
        server_fail(call, 400, "Wrong input: `params.idf`: an IDF corpus applies to a sparse query of a sparse vector "
                               "with the `idf` modifier; this search is not sparse");
        goto done;
    }
    if (!server_json_with(call, obj, false, &w)) goto done;
    if (server__search(call, coll, &l, NULL, &w.with, &rl)) out = server_json_records(rl, true);
done:
    sc_record_list_free(rl);
    server_with_free(&w);
    server__level_free(&l);
    return out;
}

json_t *server_api_search(server_call *call) { return server__single(call, server__search_one); }

json_t *server_api_search_batch(server_call *call) { return server__batch(call, server__search_one, NULL); }

/* ==== Distance matrix ==== */

/* POST /points/search/matrix/{pairs,offsets}: `sample` points (default 10)
** that have the vector `using` and match `filter`, drawn at random when
** more match, in id order; for each, its `limit` (default 3) nearest other
** sampled points by one exact search. Pairs: {a, b, score} row by row;
** offsets: the same as row and column indices into `ids`. */
static json_t *server__matrix(server_call *call, bool offsets) {
    char coll[SERVER_NAME_SIZE];
    if (!server_coll_resolve(call, call->args[0], coll)) return NULL;
    const json_t *b = call->body;
    server_level l = {0};
    uint64_t sample, limit;
    json_t *out = NULL;
    server_hits ids = {0};
    if (!server_json_uint(call, b, "sample", 10, 2, SERVER_MAX_RECO_POINTS, &sample) ||
        !server_json_uint(call, b, "limit", 3, 1, SERVER_MAX_RECO_POINTS, &limit) ||
        !server_json_str(call, b, "using", &l.using) || !server_json_filter(call, b, "filter", &l.filter))
        goto done;
    /* the candidates: the filter's points that have the vector */
    json_t *f = json_pack("{s:[{s:s}]}", "must", "has_vector", l.using ? l.using : "");
    if (f && l.filter) json_array_append_new(json_object_get(f, "must"), json_loads(l.filter, 0, NULL));
    free(l.filter);
    l.filter = f ? server_json_text(f) : NULL;
    json_decref(f);
    sc_collection_info info;
    if (sc_collection_info_get(call->ctx->db, coll, &info) != SC_OK) {
        server_fail_store(call, SC_NOTFOUND);
        goto done;
    }
    bool named = false;
    for (size_t i = 0; i < info.n_vector_params; i++)
        named |= !strcmp(info.vectors[i].name, l.using ? l.using : "") || (!l.using && info.n_vector_params == 1);
    sc_collection_info_free(&info);
    if (!named) {
        server_fail(call, 400, "Wrong input: Not existing vector name error: %s", l.using ? l.using : "(default)");
        goto done;
    }
    if (!l.filter || !server__sample(call, coll, &l, NULL, 0, &ids)) goto done;
    if (ids.n > sample) ids.n = (size_t)sample;
    qsort(ids.items, ids.n, sizeof *ids.items, server_hit_by_id);
    server_level row = {.using = l.using, .limit = (uint32_t)limit, .exact = true};
    json_t *pairs = json_array(), *rows = json_array(), *cols = json_array(), *scores = json_array(), *idl = json_array();
    bool ok = pairs && rows && cols && scores && idl;
    for (size_t i = 0; ok && i < ids.n; i++) {
        json_array_append_new(idl, server_json_id_encode(&ids.items[i].id));
        uint32_t dim = 0, n_rows = 0;
        ok = server__point_vector(call, coll, l.using, &ids.items[i].id, &row.vec, &dim, &n_rows, NULL);
        row.dim = dim;
        row.rows = n_rows;
        row.n_exclude = 1;
        row.exclude = &ids.items[i].id;
        sc_record_list *rl = NULL;
        if (ok) ok = server__search(call, coll, &row, &ids, NULL, &rl);
        for (size_t k = 0; ok && k < rl->n; k++) {
            server_hit key = {.id = rl->items[k].id};
            const server_hit *at = bsearch(&key, ids.items, ids.n, sizeof *ids.items, server_hit_by_id);
            json_array_append_new(pairs, json_pack("{s:o,s:o,s:o}", "a", server_json_id_encode(&ids.items[i].id), "b",
                                                   server_json_id_encode(&rl->items[k].id), "score",
                                                   server_json_f32(rl->items[k].score)));
            json_array_append_new(rows, json_integer((json_int_t)i));
            json_array_append_new(cols, json_integer((json_int_t)(at ? at - ids.items : 0)));
            json_array_append_new(scores, server_json_f32(rl->items[k].score));
        }
        sc_record_list_free(rl);
        free(row.vec);
        row.vec = NULL;
    }
    if (ok && offsets) out = json_pack("{s:O,s:O,s:O,s:O}", "offsets_row", rows, "offsets_col", cols, "scores", scores, "ids", idl);
    else if (ok) out = json_pack("{s:O}", "pairs", pairs);
    if (ok && !out) server_fail(call, 500, "out of memory");
    json_decref(pairs);
    json_decref(rows);
    json_decref(cols);
    json_decref(scores);
    json_decref(idl);
done:
    free(ids.items);
    free(l.filter);
    return out;
}

json_t *server_api_matrix_pairs(server_call *call) { return server__matrix(call, false); }

json_t *server_api_matrix_offsets(server_call *call) { return server__matrix(call, true); }

/* The example-scored candidates of l (recommend best_score / sum_scores,
** discover, context) over the points of its filter: those at or above its
** threshold, then offset and limit, as records with `with` into *rl. */
static bool server__example_page(server_call *call, const char *coll, const server_level *l, const sc_with *with,
                                 sc_record_list **rl) {
    server_hits h = {0};
    if (!server__reco_score(call, coll, l, NULL, 0, &h)) return false;
    size_t m = 0;
    for (size_t i = 0; i < h.n; i++)
        if (!l->has_threshold || h.items[i].score >= l->threshold) h.items[m++] = h.items[i];
    size_t start = l->offset < m ? l->offset : m, end = m - start > l->limit ? start + l->limit : m;
    server_hits page = {.items = h.items + start, .n = end - start};
    bool ok = server__hits_records(call, coll, &page, with, rl);
    free(h.items);
    return ok;
}

/* One legacy recommend request object -> list of scored points. */
static json_t *server__recommend_one(server_call *call, const char *coll, const json_t *b) {
    if (!json_is_object(b)) return server_fail(call, 400, "Json deserialize error: a recommend request must be an object");
    server_level l = {0};
    server_with w = {0};
    sc_record_list *rl = NULL;
    json_t *out = NULL;
    bool ok = server__level_common(call, b, &l, true) && server__recommend_vector(call, coll, &l, b) &&
              server_json_with(call, b, false, &w);
    if (ok && l.reco) ok = server__example_page(call, coll, &l, &w.with, &rl); /* best_score / sum_scores */
    else if (ok) ok = server__search(call, coll, &l, NULL, &w.with, &rl);
    if (ok) out = server_json_records(rl, true);
    sc_record_list_free(rl);
    server_with_free(&w);
    server__level_free(&l);
    return out;
}

/* One legacy discover request object {target?, context?, filter, limit, …}
** -> list of scored points. With a target it is a discovery search (score:
** +1 / -1 per context pair whose positive / negative is closer, plus the
** target's scaled similarity), without one a context search (the pairs'
** loss, at most 0), as Qdrant's discovery.rs; the same scoring as the
** `discover` and `context` queries of /points/query. */
static json_t *server__discover_one(server_call *call, const char *coll, const json_t *b) {
    if (!json_is_object(b)) return server_fail(call, 400, "Json deserialize error: a discover request must be an object");
    const json_t *target = json_object_get(b, "target"), *ctx = json_object_get(b, "context");
    bool has_target = target && !json_is_null(target);
    server_level l = {0};
    server_with w = {0};
    sc_record_list *rl = NULL;
    json_t *out = NULL;
    bool ok = server__level_common(call, b, &l, true);
    if (ok && ctx && !json_is_null(ctx) && !json_is_array(ctx))
        ok = !!server_fail(call, 400, "Json deserialize error: `context` must be a list of {\"positive\": …, "
                                      "\"negative\": …} pairs");
    if (ok && !has_target && json_array_size(ctx) == 0)
        ok = !!server_fail(call, 400, "Bad request: discover needs a `target` or at least one `context` pair");
    l.reco = has_target ? 3 : 4;
    if (ok && has_target) ok = server__add_example(call, coll, &l, target, "target");
    if (ok) ok = server__context_pairs(call, coll, &l, ctx, "context") && server_json_with(call, b, false, &w);
    if (ok) ok = server__example_page(call, coll, &l, &w.with, &rl);
    if (ok) out = server_json_records(rl, true);
    sc_record_list_free(rl);
    server_with_free(&w);
    server__level_free(&l);
    return out;
}

json_t *server_api_recommend(server_call *call) { return server__single(call, server__recommend_one); }

json_t *server_api_recommend_batch(server_call *call) { return server__batch_named(call, server__recommend_one, ""); }

json_t *server_api_discover(server_call *call) { return server__single(call, server__discover_one); }

json_t *server_api_discover_batch(server_call *call) { return server__batch_named(call, server__discover_one, ""); }
