/*
** server/query_int.h: the pieces of the query API shared by query.c (the
** query levels), query_groups.c (grouped queries), formula.c (formula
** re-scoring) and mmr.c (maximal marginal relevance). Only server .c files
** include it.
*/
#ifndef SC_SERVER_QUERY_INT_H
#define SC_SERVER_QUERY_INT_H

#include "server/server_int.h"

/* A scored id, the unit of prefetch results and fusion. */
typedef struct server_hit {
    sc_point_id id; /* point */
    float score;    /* score */
} server_hit;

typedef struct server_hits {
    server_hit *items; /* owned */
    size_t n;          /* count */
} server_hits;

/* ==== Query levels (query.c) ==== */

/* qsort comparators of server_hit: by id; by score, best first, ties by id. */
int server_hit_by_id(const void *a, const void *b);
int server_hit_by_score(const void *a, const void *b);

/* Run one /points/query request object (query, prefetch, filter, limit,
** offset, score_threshold, ...; its with_payload / with_vector are not
** read) and return its scored ids, best first, into owned *out. */
bool server_query_hits(server_call *call, const char *coll, const json_t *obj, server_hits *out);

/* Put prefix before the field path of a 422 "Validation error in JSON
** body: [path: …]" recorded on call (Qdrant names fields of requests it
** wraps, e.g. "internal.limit"); other errors are left alone. */
void server_validation_prefix(server_call *call, const char *prefix);

/* The records (with `with`) of scored hits, in their order, with their
** scores; points that no longer exist are skipped. Owned *records. */
bool server_query_hits_records(server_call *call, const char *coll, const server_hits *hits, const sc_with *with,
                               sc_record_list **records);

/* ==== Formula re-scoring (formula.c) ==== */

/* A parsed {"formula": expression, "defaults": {...}} query (opaque). */
typedef struct server_formula server_formula;

/* Parse the FormulaQuery object q (Qdrant's Expression grammar: numbers,
** "$score[i]", payload keys, conditions, geo_distance, datetime,
** datetime_key, mult, sum, neg, abs, div, sqrt, pow, exp, log10, ln,
** lin_decay / exp_decay / gauss_decay) into owned *out. 400 / 422 naming
** the field on bad input. */
bool server_formula_parse(server_call *call, const json_t *q, server_formula **out);
void server_formula_free(server_formula *f); /* NULL is a no-op */

/* Number of conditions in f (each is a filter the caller evaluates). */
size_t server_formula_n_conditions(const server_formula *f);
/* Condition i of f as a filter object {"must": [condition]} (borrowed). */
const json_t *server_formula_condition(const server_formula *f, size_t i);

/* What the formula of one point reads. */
typedef struct server_formula_input {
    const float *scores;   /* its score in each prefetch, NAN where it is not among the prefetch's results */
    size_t n_scores;       /* prefetches */
    const json_t *payload; /* its payload (borrowed; NULL = empty) */
    const bool *conds;     /* per condition of the formula: whether it matches */
} server_formula_input;

/* Evaluate f for one point into *out (a finite float). 400 "Wrong input"
** for a missing or mistyped variable without a default, or a non-finite
** intermediate value, as Qdrant words them. */
bool server_formula_eval(server_call *call, const server_formula *f, const server_formula_input *in, float *out);

/* Score the union of the prefetch results src[0..n_src) with f (payloads
** and conditions read from collection coll), best first into owned *out. */
bool server_formula_rescore(server_call *call, const char *coll, const server_formula *f, const server_hits *src,
                            size_t n_src, server_hits *out);

/* ==== Maximal marginal relevance (mmr.c) ==== */

/* Similarity of two vectors of dimension dim under distance d, bigger is
** more similar: the dot product for Cosine (stored vectors are unit) and
** Dot, minus the distance for Euclid and Manhattan. */
float server_mmr_similarity(sc_distance d, const float *a, const float *b, uint32_t dim);

/* Pick up to limit of the n candidates (vectors vecs, n × dim, and their
** similarity to the query rel[i]) by MMR: first the most relevant, then
** each time the one maximising lambda · rel − (1 − lambda) · (its highest
** similarity to those picked). The picks go to order[0..*n_out) in pick
** order. Owned scratch; false when out of memory. */
bool server_mmr_select(sc_distance d, const float *vecs, uint32_t dim, const float *rel, size_t n, float lambda,
                       size_t limit, size_t *order, size_t *n_out);

#endif /* SC_SERVER_QUERY_INT_H */
