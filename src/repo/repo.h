/*
** repo: the indexed-repository handle (include/semcode/repo.h: open, update,
** search, similar, duplicates, stats, eval) and its queries. This header is
** the module's interface to the rest of semcode beyond the public API: the
** scoring helpers of the two quality harnesses, which the unit tests check
** directly. repo_int.h holds the handle's private structure.
**
** Thread safety: everything here is pure or works on caller-owned values.
*/
#ifndef SC_REPO_H
#define SC_REPO_H

#include "semcode/parse.h"
#include "semcode/repo.h"

/* ==== Quality harness (eval.c, sc_repo_eval) ==== */

/* The bytes of a parsed file with every entity's doc comment cut out: a
** comment or docstring alone on its lines loses those lines; a Python
** docstring that was the only statement of its block becomes `pass` so the
** file still parses. Owned (NUL-terminated, length in *out_n); *n_cut
** counts the doc ranges removed. NULL when memory runs out. */
char *repo_strip_docs(const sc_parse_result *res, const char *src, size_t n, size_t *out_n, uint32_t *n_cut);

/* Query text of a doc comment, as the held-out pairs make it
** (tools/split_pairs.py): its first paragraph (whole: all of it) without
** @tag / :param lines, {@tag x} -> x, HTML tags and a kernel-doc
** "name() - " prefix removed, white space collapsed, at most 600 bytes
** (whole: 2,000). Owned; NULL when nothing is left or on allocation failure. */
char *repo_doc_query(const char *doc, bool whole);

/* Reciprocal ranks and hits of a set of queries. */
typedef struct repo_rank_acc {
    double rr;       /* sum of 1/rank */
    uint64_t at1;    /* queries whose target ranked 1 */
    uint64_t at10;   /* queries whose target ranked within 10 */
    uint64_t n;      /* queries */
} repo_rank_acc;

/* Count one query whose target came at rank (1-based; 0 = not within the results). */
void repo_rank_add(repo_rank_acc *a, uint32_t rank);
/* MRR, Recall@1, Recall@10 of the queries counted (zeros for none). */
sc_repo_eval_scores repo_rank_scores(const repo_rank_acc *a);

/* ==== Realistic-query harness (eval_queries.c, sc_repo_eval_queries) ==== */

/* Sums of the per-query scores of a set of queries at cut-off 10. */
typedef struct repo_qscore_acc {
    double hit_1;  /* queries with a target at rank 1 */
    double hit_10; /* queries with a target within 10 */
    double rr;     /* sum of 1/rank of the first target within 10 */
    double ndcg;   /* sum of NDCG@10 */
    uint64_t n;    /* queries */
} repo_qscore_acc;

/* Count one query with n_targets targets whose ranks are ranks[i] (1-based,
** 0 = not found, each found target at a different rank). Binary gains; the
** ideal DCG puts min(n_targets, 10) relevant items first. */
void repo_qscore_add(repo_qscore_acc *a, const uint32_t *ranks, size_t n_targets);
/* Means of the queries counted (zeros for none). */
sc_query_scores repo_qscore_get(const repo_qscore_acc *a);
/* Does a result with this name and qualified name answer a target named
** `name`: equal to either, or the qualified name ends in "." "::" or "#"
** followed by name. */
bool repo_target_name_match(const char *hit_name, const char *hit_qname, const char *name);

#endif /* SC_REPO_H */
