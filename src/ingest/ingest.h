/*
** ingest: turning a repository into entities. This header is the module's
** interface to the rest of semcode: the walker (which files to look at,
** honouring .gitignore rules) and its ignore-rule matcher. The public entry
** point built on them is sc_parse_tree in include/semcode/parse.h.
**
** Thread safety: a walk and an ingest_ignore are single-thread objects.
*/
#ifndef SC_INGEST_H
#define SC_INGEST_H

#include <jansson.h>

#include "semcode/parse.h"
#include "semcode/repo.h"
#include "util/util.h"

/* ==== Ignore rules (.gitignore syntax) ==== */

typedef struct ingest_ignore ingest_ignore;

/* Empty rule set; NULL on allocation failure. */
ingest_ignore *ingest_ignore_new(void);
/* Free a rule set. NULL is a no-op. */
void ingest_ignore_free(ingest_ignore *ig);
/* Add the rules of one ignore file's text, scoped to directory `base`
** (relative to the walked root, "" for the root; no trailing slash).
** Later rules win over earlier ones. SC_NOMEM on allocation failure. */
sc_status ingest_ignore_add_text(ingest_ignore *ig, const char *base, const char *text, size_t n);
/* Add the rules of the file at fs_path if it exists (a missing file is not
** an error). */
sc_status ingest_ignore_add_file(ingest_ignore *ig, const char *base, const char *fs_path);
/* Number of rules (a mark to truncate back to when leaving a directory). */
size_t ingest_ignore_mark(const ingest_ignore *ig);
/* Drop the rules added after `mark`. */
void ingest_ignore_truncate(ingest_ignore *ig, size_t mark);
/* True if `path` (relative to the root, '/'-separated) is ignored by the
** rules: the last matching rule decides, negation ("!") re-includes. */
bool ingest_ignore_match(const ingest_ignore *ig, const char *path, bool is_dir);

/* Glob match of one path against one pattern with .gitignore semantics:
** '*' and '?' do not cross '/', "**" does, [a-z] classes, '\' escapes. */
bool ingest_glob_match(const char *pattern, const char *path);

/* ==== Walker ==== */

/* One file found by the walk. */
typedef struct ingest_file {
    char *path;    /* relative to the root ('/'-separated); owned by the list */
    uint64_t size; /* bytes, from stat */
} ingest_file;

/* The files of a walk, in deterministic order (directory entries sorted
** by name, depth first). */
typedef struct ingest_file_list {
    ingest_file *items; /* n files */
    size_t n;           /* used */
    size_t cap;         /* allocated */
    uint64_t n_ignored; /* entries dropped by ignore rules or always-skipped names */
    uint64_t n_links_skipped; /* symbolic links (never followed) and second paths to a visited directory */
} ingest_file_list;

/* Walk root (a directory, or a single file which becomes the only entry
** with its path as given). Fills out (caller frees with
** ingest_file_list_free). SC_IOERR if root cannot be read. */
sc_status ingest_walk(const char *root, const sc_walk_options *opt, ingest_file_list *out, sc_err *err);
/* Free the list's contents. */
void ingest_file_list_free(ingest_file_list *l);

/* True for directory names that are always skipped (.git, node_modules)
** and, with skip_vendored, vendored ones (vendor, third_party, ...). */
bool ingest_dir_is_skipped(const char *name, bool skip_vendored);

/* ==== Quality harness (eval.c, sc_repo_eval) ==== */

/* The bytes of a parsed file with every entity's doc comment cut out: a
** comment or docstring alone on its lines loses those lines; a Python
** docstring that was the only statement of its block becomes `pass` so the
** file still parses. Owned (NUL-terminated, length in *out_n); *n_cut
** counts the doc ranges removed. NULL when memory runs out. */
char *ingest_strip_docs(const sc_parse_result *res, const char *src, size_t n, size_t *out_n, uint32_t *n_cut);

/* Query text of a doc comment, as the held-out pairs make it
** (tools/split_pairs.py): its first paragraph (whole: all of it) without
** @tag / :param lines, {@tag x} -> x, HTML tags and a kernel-doc
** "name() - " prefix removed, white space collapsed, at most 600 bytes
** (whole: 2,000). Owned; NULL when nothing is left or on allocation failure. */
char *ingest_doc_query(const char *doc, bool whole);

/* Reciprocal ranks and hits of a set of queries. */
typedef struct ingest_rank_acc {
    double rr;       /* sum of 1/rank */
    uint64_t at1;    /* queries whose target ranked 1 */
    uint64_t at10;   /* queries whose target ranked within 10 */
    uint64_t n;      /* queries */
} ingest_rank_acc;

/* Count one query whose target came at rank (1-based; 0 = not within the results). */
void ingest_rank_add(ingest_rank_acc *a, uint32_t rank);
/* MRR, Recall@1, Recall@10 of the queries counted (zeros for none). */
sc_repo_eval_scores ingest_rank_scores(const ingest_rank_acc *a);

/* ==== Realistic-query harness (eval_queries.c, sc_repo_eval_queries) ==== */

/* Sums of the per-query scores of a set of queries at cut-off 10. */
typedef struct ingest_qscore_acc {
    double hit_1;  /* queries with a target at rank 1 */
    double hit_10; /* queries with a target within 10 */
    double rr;     /* sum of 1/rank of the first target within 10 */
    double ndcg;   /* sum of NDCG@10 */
    uint64_t n;    /* queries */
} ingest_qscore_acc;

/* Count one query with n_targets targets whose ranks are ranks[i] (1-based,
** 0 = not found, each found target at a different rank). Binary gains; the
** ideal DCG puts min(n_targets, 10) relevant items first. */
void ingest_qscore_add(ingest_qscore_acc *a, const uint32_t *ranks, size_t n_targets);
/* Means of the queries counted (zeros for none). */
sc_query_scores ingest_qscore_get(const ingest_qscore_acc *a);
/* Does a result with this name and qualified name answer a target named
** `name`: equal to either, or the qualified name ends in "." "::" or "#"
** followed by name. */
bool ingest_target_name_match(const char *hit_name, const char *hit_qname, const char *name);

/* ==== Result objects (results.c) ==== */

/* The objects sc_code_hits_json / sc_dup_clusters_json print, as JSON values
** (new reference; NULL when out of memory) for callers that put them inside
** a larger document (the server's /code endpoints). */
json_t *ingest_code_hits_obj(const sc_code_hits *h, const char *label, const char *value, sc_search_mode mode);
json_t *ingest_dup_clusters_obj(const sc_dup_clusters *d, float threshold, uint32_t min_lines);

#endif /* SC_INGEST_H */
