/*
** semcode public API: an indexed repository. The product end to end:
** walk a source tree, parse it into entities, embed them (cached,
** batched), keep them in a store with BM25 terms and payloads, and answer
** searches by meaning (dense), by words (BM25) or both (fused).
**
** Indexing is incremental: files are tracked by size, modification time
** and content hash, so unchanged files are skipped without being read or
** parsed, changed files are re-extracted (their unchanged entities hit the
** embedding cache) and deleted files and entities are removed. An
** interrupted run leaves a consistent index, and the next run finishes.
**
** Thread safety: an sc_repo is used by one thread at a time.
*/
#ifndef SEMCODE_REPO_H
#define SEMCODE_REPO_H

#include "common.h"
#include "provider.h"
#include "rank.h"
#include "records.h"
#include "snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_repo sc_repo;

#define SC_REPO_EVAL_MAX_ROWS 20 /* languages with grammars + the total */

/* ==== Opening ==== */

/* Progress of an index run, reported to sc_repo_options.progress. */
typedef struct sc_repo_progress {
    const char *stage;        /* "walk", "parse", "embed", "store", "done" */
    uint64_t files_total;     /* files found by the walk */
    uint64_t files_done;      /* files looked at so far */
    uint64_t files_changed;   /* files that had to be parsed */
    uint64_t entities;        /* entities extracted so far */
    uint64_t embedded;        /* vectors computed so far */
    uint64_t cache_hits;      /* vectors answered by the cache so far */
    double seconds;           /* since the run started */
} sc_repo_progress;

/* Which embedding provider a repository uses. */
typedef enum sc_repo_provider {
    SC_REPO_PROVIDER_AUTO = 0,   /* the one the index was built with; a new index: the local model */
    SC_REPO_PROVIDER_LOCAL = 1,  /* the local model (model_path, else the shipped built-in model) */
    SC_REPO_PROVIDER_REMOTE = 2, /* the OpenAI-compatible endpoint described by remote */
} sc_repo_provider;

typedef struct sc_repo_options {
    const char *store_dir;    /* where the index lives; NULL = $SEMCODE_STORE, else ROOT/.semcode */
    const char *model_path;   /* model file; NULL = $SEMCODE_MODEL, else the shipped built-in model */
    uint32_t n_threads;       /* parse threads; 0 = all cores */
    bool use_cache;           /* also keep vectors in the embedding cache (cache.db). Off by default: vectors
                                 of unchanged prepared texts are reused from the store itself */
    uint64_t max_file_size;   /* larger files are skipped (0 = 2 MiB) */
    void (*progress)(void *arg, const sc_repo_progress *p); /* called now and then; may be NULL */
    void *progress_arg;       /* its argument */
    volatile int *cancel;     /* when *cancel becomes non-zero the run stops at the next batch (SC_INTERRUPTED) */
    bool allow_rebuild;       /* a different model than the index was built with switches it (the next
                                 sc_repo_update embeds a new generation while the old one serves; a Qdrant
                                 store, another text template or an old model that no longer loads start it
                                 over); without this flag that is an error (searches never change an index) */
    sc_repo_provider provider; /* local model or remote endpoint (default AUTO) */
    const sc_remote_options *remote; /* remote endpoint (borrowed during sc_repo_open; NULL = none given). Fields
                                 left empty (NULL / 0) take the values recorded by the run that built the index;
                                 with AUTO they apply only to an index built with a remote provider. The index
                                 records the endpoint and the name of the API-key variable, never the key */
    bool remote_fallback;     /* with a remote provider: the local model takes over batches whose remote
                                 requests are exhausted (both must declare the same dimension and family) */
    bool remote_retries_given; /* remote->max_retries was given even when 0 (0 = no retries, one try per
                                 request); without it a 0 there takes the recorded value (default 5) */
    sc_logger logger;         /* where the messages of the repository's store and cache go; zero = the global logger */
} sc_repo_options;

SC_API sc_repo_options sc_repo_options_default(void);

/* Open the index of the source tree at root (created when missing).
** errmsg (may be NULL) receives an owned message on failure (sc_free). */
SC_API sc_status sc_repo_open(const char *root, const sc_repo_options *opt, sc_repo **out, char **errmsg);
/* Find the indexed root that contains path (path itself or a parent with a
** .semcode folder, like git). Owned string, or NULL. */
SC_API char *sc_repo_find_root(const char *path);
/* The root recorded in an index folder (owned string), or NULL. */
SC_API char *sc_repo_store_root(const char *store_dir);
SC_API void sc_repo_close(sc_repo *r);
/* Message of the last failure (borrowed, valid until the next call). */
SC_API const char *sc_repo_errmsg(const sc_repo *r);
/* Absolute path of the indexed root / of the store (borrowed). */
SC_API const char *sc_repo_root(const sc_repo *r);
SC_API const char *sc_repo_store_dir(const sc_repo *r);
/* The repository's vector store (borrowed, lives until sc_repo_close): its
** collection "code" holds the entities; development records
** (include/semcode/records.h) of the same repository go beside it. Use it
** from the thread that uses r. With a Qdrant store (--store qdrant://...)
** the entities and the records are in Qdrant (count the entities with
** sc_repo_count_entities, open the records with sc_repo_records_open). */
SC_API sc_db *sc_repo_db(sc_repo *r);
/* The development records of r's store (include/semcode/records.h):
** sc_records_open on the folder's embedded store, or with a Qdrant store
** the companion collection "<collection>_records" in Qdrant (every tenant
** in it, each read filtered by tenant), so another machine reading the
** same Qdrant collection sees the history too. The handle has its own
** connection: use it from one thread, close it before r. Errors as
** sc_records_open's; with a Qdrant store also SC_IOERR when it cannot be
** reached. */
SC_API sc_status sc_repo_records_open(sc_repo *r, sc_embedder *emb, const sc_records_options *opt, sc_records **out,
                                      char **errmsg);
/* The number of code entities of r's index, wherever its store is (one
** exact count on a Qdrant store). Errors from the store, message on r. */
SC_API sc_status sc_repo_count_entities(sc_repo *r, uint64_t *out);
/* The repository's embedding provider (the one its index was built with,
** made now if needed: a remote one needs its key), borrowed in *out until
** sc_repo_close. Errors as sc_repo_search's when the provider cannot be made. */
SC_API sc_status sc_repo_embedder(sc_repo *r, sc_embedder **out);

/* ==== Indexing ==== */

typedef struct sc_repo_summary {
    uint64_t files_seen;       /* files the walk found */
    uint64_t files_parsed;     /* files that were (re)parsed */
    uint64_t files_unchanged;  /* skipped: same size, time or content */
    uint64_t files_deleted;    /* gone since the last run */
    uint64_t files_failed;     /* could not be read or parsed (reported, skipped) */
    uint64_t skipped_by_reason[16]; /* sc_skip_reason counts of files skipped by the parser */
    uint64_t entities_added;   /* new entities */
    uint64_t entities_updated; /* entities whose content changed */
    uint64_t entities_unchanged; /* entities of changed files that did not change */
    uint64_t entities_removed; /* entities that disappeared */
    uint64_t embeddings_cached; /* vectors from the cache */
    uint64_t embeddings_new;   /* vectors computed */
    uint64_t embeddings_failed;/* texts that got no vector */
    double seconds_walk;       /* time per stage */
    double seconds_parse;
    double seconds_embed;
    double seconds_store;
    double seconds_total;
    uint64_t switch_embedded;  /* model switch: entities given a vector of the new model by this run */
    uint64_t switch_pending;   /* model switch: entities still without one after this run (0: none pending) */
    bool switched;             /* this run completed a model switch: searches now use the new model */
} sc_repo_summary;

/* Change the progress callback (NULL = none). */
SC_API void sc_repo_set_progress(sc_repo *r, void (*fn)(void *arg, const sc_repo_progress *p), void *arg);

/* Let the other users of r in during a long update: between the groups of
** a model switch's backfill, where r is consistent and searches use the
** current generation, sc_repo_update calls unlock(arg), pauses a few
** milliseconds so that threads waiting for the caller's lock take it, and
** calls lock(arg) again (NULL = never; the lock must be held around the
** update). An sc_repo_update meanwhile answers SC_BUSY, and this call does
** nothing (the running update keeps its caller's callbacks).
** docs/ARCHITECTURE.md "Switching models". */
SC_API void sc_repo_set_yield(sc_repo *r, void (*unlock)(void *arg), void (*lock)(void *arg), void *arg);

/* Make the model of `model` (its model_path, provider, remote,
** remote_fallback and remote_retries_given; the rest is ignored) the
** target of a model switch of the open index r, as an open with
** allow_rebuild and that model does: its vectors are added beside the
** current ones, and the next sc_repo_update embeds them and swaps (searches
** use the current model until then). The current model cancels a pending
** switch; another target replaces it. Errors: SC_BUSY during an update,
** SC_UNSUPPORTED for a Qdrant store, the provider's error when the model
** cannot be loaded (a remote one is asked now). docs/ARCHITECTURE.md
** "Switching models". */
SC_API sc_status sc_repo_switch_model(sc_repo *r, const sc_repo_options *model);

/* Bring the index up to date with the tree. With a model switch pending
** (started by an open with allow_rebuild and another model, or left by an
** interrupted run), then give every entity a vector of the new model and
** swap to it when all have one (summary->switched); searches with r use the
** old model until then. SC_INTERRUPTED (cancel) leaves a consistent index
** that the next run completes. docs/ARCHITECTURE.md "Switching models". */
SC_API sc_status sc_repo_update(sc_repo *r, sc_repo_summary *summary);

/* ==== Searching ==== */

/* Search modes (sc_search_mode) and the hybrid fusion constants are in
** rank.h, shared with the records of include/semcode/records.h. */

typedef struct sc_code_query {
    const char *text;            /* the query */
    sc_search_mode mode;         /* default hybrid */
    float alpha;                 /* > 0: weighted fusion alpha*dense + (1-alpha)*keyword of min-max normalised scores, instead of RRF */
    uint32_t limit;              /* results (default 10) */
    float min_score;             /* drop results below (0 = keep all) */
    const char *const *langs;    /* only these languages (NULL = all) */
    size_t n_langs;
    const char *const *kinds;    /* only these kinds */
    size_t n_kinds;
    const char *const *paths;    /* only paths matching one of these globs */
    size_t n_paths;
    const char *const *excludes; /* not paths matching one of these globs */
    size_t n_excludes;
    bool explain;                /* hybrid: keep each result's ranking features (sc_code_hit.features) */
    bool files;                  /* rank files instead of entities: each file scores as its best entity plus
                                    a share of its next ones; the hit is the file's best entity, kind "file" */
} sc_code_query;

/* One result, all strings owned by the result list. */
typedef struct sc_code_hit {
    uint32_t rank;          /* 1-based */
    float score;            /* fused (hybrid), cosine (dense) or BM25 (keyword) */
    char *path;             /* relative to the indexed root */
    uint32_t start_line;    /* first line */
    uint32_t end_line;      /* last line */
    char *kind;             /* function, method, class, ... */
    char *name;             /* simple name */
    char *qualified_name;   /* with enclosing names */
    char *language;         /* language name */
    char *signature;        /* declaration line(s) */
    char *snippet;          /* the first lines of the entity, read from the file */
    float *features;        /* with sc_code_query.explain in hybrid mode: sc_rank_n_features() values
                               (contribution of feature j = sc_rank_weight(j) * features[j]); else NULL */
    uint32_t n_features;    /* entries of features */
    uint32_t n_entities;    /* files mode: matching entities of this file among the candidates; else 1 */
    char *repo;             /* searches of several repositories (workspace.h): the repository's name; else NULL */
} sc_code_hit;

typedef struct sc_code_hits {
    size_t n;            /* results */
    sc_code_hit *items;  /* results, best first */
    double took_ms;      /* time of the search */
    double confidence;   /* hybrid: calibrated probability that the first result answers the query
                            (sc_rank_confidence); NAN in the other modes */
    bool low_confidence; /* hybrid: confidence under sc_rank_confidence_threshold(): nothing matched well,
                            the results are the closest entities, not answers */
} sc_code_hits;

SC_API void sc_code_hits_free(sc_code_hits *h);

/* Search the index. */
SC_API sc_status sc_repo_search(sc_repo *r, const sc_code_query *q, sc_code_hits **out);
/* Entities most similar to the one at target ("path:line" or a qualified
** name), itself excluded; q gives limit and filters (q->text is ignored). */
SC_API sc_status sc_repo_similar(sc_repo *r, const char *target, const sc_code_query *q, sc_code_hits **out);
/* The entity at target ("path:line": the innermost entity covering that
** line, chunks last; or a qualified name) as a list of one hit (score 0),
** and its point id in *id (may be NULL). SC_NOTFOUND names the target. */
SC_API sc_status sc_repo_resolve(sc_repo *r, const char *target, sc_code_hits **out, sc_point_id *id);

/* ==== Call graph ==== */

/* An entity of the call graph. Strings owned by the edge list. */
typedef struct sc_call_entity {
    uint64_t id;            /* point id (0 for the top level of a file, and for an unresolved callee) */
    char *path;             /* file, relative to the indexed root */
    char *language;         /* language name ("" when unknown) */
    char *kind;             /* function, method, class, ...; "file" for top-level code */
    char *name;             /* simple name (the called name when unresolved) */
    char *qualified_name;   /* with enclosing names */
    uint32_t start_line;    /* first line (0 when unknown) */
    uint32_t end_line;      /* last line */
} sc_call_entity;

/* One call site and the entities at both ends. */
typedef struct sc_call_edge {
    sc_call_entity caller;  /* the entity whose code makes the call */
    sc_call_entity callee;  /* the entity called (id 0: not resolved in the repository) */
    char *path;             /* file of the call site */
    uint32_t line;          /* its line */
    char *name;             /* the name called, as written */
    char *receiver;         /* receiver or qualifier as written ("self", "os.path"), NULL for a plain call */
    const char *how;        /* static: the rule that resolved it (self, class, import, same_file, type,
                               package, include, global, inherited, name) or "unresolved" */
} sc_call_edge;

typedef struct sc_call_edges {
    sc_call_entity *targets; /* the entities the target stood for */
    size_t n_targets;        /* their number */
    sc_call_edge *items;     /* edges, by file and line */
    size_t n;                /* edges */
    size_t n_unresolved;     /* callees: call sites resolved to nothing in the repository (included in items) */
    double took_ms;          /* time */
} sc_call_edges;

/* Callers of target (a simple name, a qualified name or "path:line"; a name
** may stand for several entities): every call site of the index resolved to
** one of them, at most limit (0 = all). *out owned (sc_call_edges_free).
** SC_NOTFOUND names the target; SC_IOERR on state.db failures. Resolution
** rules: docs/ARCHITECTURE.md ("Call graph"). */
SC_API sc_status sc_repo_callers(sc_repo *r, const char *target, uint32_t limit, sc_call_edges **out);
/* Callees of target: the call sites inside it, resolved (callee id 0 when
** the callee is outside the repository or ambiguous). As sc_repo_callers. */
SC_API sc_status sc_repo_callees(sc_repo *r, const char *target, uint32_t limit, sc_call_edges **out);
/* Free an edge list. NULL is a no-op. */
SC_API void sc_call_edges_free(sc_call_edges *g);
/* {"direction", "targets": [entity], DIRECTION: [{path, line, name, [receiver], how,
** caller|callee: entity|null}], "unresolved", "took_ms"}, direction "callers" or
** "callees"; entity = {path, kind, name, qualified_name, start_line, end_line, [id],
** [language]}. Owned string (sc_free) or NULL. */
SC_API char *sc_call_edges_json(const sc_call_edges *g, const char *direction);

/* ==== Duplicates ==== */

typedef struct sc_dup_cluster {
    size_t n;            /* members */
    sc_code_hit *items;  /* members (score = mean similarity to the others in the cluster) */
    float similarity;    /* mean pairwise similarity along the linking edges */
} sc_dup_cluster;

typedef struct sc_dup_clusters {
    size_t n;                 /* clusters, largest and most similar first */
    sc_dup_cluster *items;    /* clusters */
    double took_ms;           /* time */
} sc_dup_clusters;

SC_API void sc_dup_clusters_free(sc_dup_clusters *d);
/* Clusters of near-duplicate entities (similarity >= threshold, default
** 0.95 when 0; entities of at least min_lines lines), from each entity's
** nearest neighbours in the index. */
SC_API sc_status sc_repo_duplicates(sc_repo *r, float threshold, uint32_t min_lines, sc_dup_clusters **out);

/* ==== JSON results (the stable schema of --json and of the server's /code endpoints) ==== */

#define SC_DUPLICATES_DEFAULT_THRESHOLD 0.95f /* threshold used when 0 is given */

/* {<label>: value, "mode", "took_ms", "results": [{rank, score, path,
** start_line, end_line, kind, name, qualified_name, language, signature,
** snippet}]} as compact JSON: owned string (sc_free), NULL when out of
** memory. label is "query" for a search, "target" for similar. */
SC_API char *sc_code_hits_json(const sc_code_hits *h, const char *label, const char *value, sc_search_mode mode);
/* {"threshold", "min_lines", "took_ms", "clusters": [{size, similarity,
** members: [hit as above]}]} for the arguments duplicates ran with
** (threshold 0 prints the default). Owned string (sc_free) or NULL. */
SC_API char *sc_dup_clusters_json(const sc_dup_clusters *d, float threshold, uint32_t min_lines);

/* ==== Store configuration (issue 20; src/backend/config.c) ==== */

/* Check a store configuration before use, as index, search and serve do at
** start-up: the file config_file (JSON {"store": {...}}, NULL = none), then
** the location store (a folder or qdrant[s]://host:port/collection?..., NULL
** = the file's or the embedded default), against an embedding dimension dim
** (0 = not checked); with probe the Qdrant host is asked for /healthz.
** *report_json (owned, sc_free) is {"store", "kind", "ok", "errors",
** "warnings", "diagnostics": [{"level": "error"|"warning", "field",
** "message"}]}; SC_OK even when the report has errors. SC_INVALID with
** *errmsg when the file or the location cannot be parsed. */
SC_API sc_status sc_store_config_check(const char *config_file, const char *store, uint32_t dim, bool probe,
                                       char **report_json, char **errmsg);

/* ==== Statistics ==== */

/* Statistics as a JSON object (owned string, sc_free): entities by
** language and kind, model and dimension, store size and bytes per entity,
** cache, embedding checks, last index time. */
SC_API sc_status sc_repo_stats_json(sc_repo *r, char **out);

/* How fresh the index is against the tree now (issue 19's index_status). */
typedef struct sc_repo_fresh {
    uint64_t files_indexed; /* files the index records (state.db) */
    uint64_t files_seen;    /* files the walk finds in the tree now */
    uint64_t files_new;     /* in the tree, not in the index */
    uint64_t files_changed; /* in both, size or modification time differ */
    uint64_t files_deleted; /* in the index, gone from the tree */
    uint64_t files_stale;   /* new + changed + deleted: what the next sc_repo_update looks at again */
} sc_repo_fresh;

/* Compare the index with the tree as an update's first steps do (a walk with
** the same ignore rules and a stat per file; nothing read or written) into
** *out. Errors (SC_IOERR: the root or state.db cannot be read) are on r. */
SC_API sc_status sc_repo_freshness(sc_repo *r, sc_repo_fresh *out);

/* ==== Retrieval quality of a tree (issue 8's quality harness) ==== */

/* Scores of one search mode over a set of queries. */
typedef struct sc_repo_eval_scores {
    double mrr;        /* mean of 1/rank, 0 for a target beyond the result limit */
    double recall_1;   /* share of queries whose target is the first result */
    double recall_10;  /* share of queries whose target is in the first 10 */
} sc_repo_eval_scores;

/* One language's row (or the total). */
typedef struct sc_repo_eval_row {
    char language[16];             /* sc_lang_name, or "all" */
    uint64_t files;                /* files of this language in the tree */
    uint64_t documented;           /* entities with a doc comment */
    uint64_t queries;              /* queries asked (documented entities that qualified) */
    sc_repo_eval_scores mode[3];   /* indexed by sc_search_mode: hybrid, dense, keyword */
} sc_repo_eval_row;

typedef struct sc_repo_eval_options {
    const char *model_path;   /* NULL = the shipped built-in model */
    const char *work_dir;     /* where the stripped copy (WORK/tree) and its index (WORK/store) go, kept;
                                 NULL = a temporary folder, removed at the end */
    uint32_t limit;           /* results per search (0 = 100); a target ranked beyond scores 0 */
    uint32_t n_threads;       /* parse threads (0 = all cores) */
    uint32_t max_queries;     /* at most this many queries (0 = all), taken in file order */
    bool whole_doc;           /* query with the whole doc comment instead of its first paragraph */
    uint32_t template_variant;/* prepared-text variant (0 = the product's; others for measurement, docs/QUALITY.md) */
} sc_repo_eval_options;

typedef struct sc_repo_eval_result {
    sc_repo_eval_row rows[SC_REPO_EVAL_MAX_ROWS]; /* one per language with queries, then "all" last */
    uint32_t n_rows;          /* rows used */
    uint64_t files;           /* files in the copied tree */
    uint64_t entities;        /* points in the index (entities and chunks) */
    uint64_t docs_stripped;   /* doc comments cut out of the copy */
    uint64_t files_broken;    /* files with more parse errors after stripping than before (kept stripped) */
    uint64_t queries_dropped; /* documented entities not asked: short docs or code, tests, ambiguous docs */
    double seconds_index;     /* sc_repo_update of the copy */
    double seconds_search;    /* all searches */
} sc_repo_eval_result;

/* Measure retrieval on the tree at root without changing it: copy it with
** every doc comment cut out (so the index never sees them), index the copy
** through sc_repo_update, then search each documented entity's doc comment
** in hybrid, dense and keyword mode and score the rank of the entity's own
** path and line. errmsg as in sc_repo_open. */
SC_API sc_status sc_repo_eval(const char *root, const sc_repo_eval_options *opt, sc_repo_eval_result *out,
                              char **errmsg);

/* ==== Retrieval quality on written queries (issue 14, `semcode eval --queries`) ==== */

/* Query files are JSON Lines, one query a line (bench/queries/README.md):
**   {"query": "...", "repo": "<name>", "category": "behaviour"|"concept"|"symbol",
**    "targets": [{"path": "rel/path", "name": "Qualified.name"} or {"path": ..., "line": N}, ...],
**    "language": "python" (optional; else the repos tsv's, else the first target's file's)}
** A target {path, name} is a result with that path whose name or qualified
** name is `name`, or whose qualified name ends in "." "::" or "#" + name;
** {path, line} is the innermost entity (not a chunk) of the index covering
** that line. Each result answers at most one target, each target counts once. */

#define SC_QUERY_EVAL_ENTITY_LIMIT 10 /* results of an entity-level search */
#define SC_QUERY_EVAL_FILE_LIMIT 10   /* files of the file-level search (sc_code_query.files) */
#define SC_QUERY_EVAL_CAND_LIMIT 100  /* entity results --per-query reports as candidates */

/* Scores of one mode at one level over a group of queries (all at cut-off 10). */
typedef struct sc_query_scores {
    double hit_1;   /* share of queries with a target first */
    double hit_10;  /* share of queries with a target in the first 10 */
    double mrr_10;  /* mean of 1/rank of the first target found within 10 (0 beyond) */
    double ndcg_10; /* mean NDCG@10: binary gains, ideal DCG over min(targets, 10) relevant items */
} sc_query_scores;

typedef enum sc_query_group_kind {
    SC_QUERY_GROUP_ALL = 0,      /* every query */
    SC_QUERY_GROUP_CATEGORY = 1, /* queries of one category */
    SC_QUERY_GROUP_LANGUAGE = 2, /* queries of one language */
    SC_QUERY_GROUP_REPO = 3,     /* queries of one repository */
} sc_query_group_kind;

/* One row of the report. */
typedef struct sc_query_group {
    sc_query_group_kind kind;  /* what the queries share */
    char name[64];             /* "all", the category, the language or the repository */
    uint64_t queries;          /* queries in the group */
    uint64_t files;            /* repository rows: files the walk found (0 in other rows) */
    uint64_t points;           /* repository rows: points in its index, entities and chunks (0 in other rows) */
    sc_query_scores entity[3]; /* entity level, indexed by sc_search_mode (modes not run stay 0) */
    sc_query_scores file[3];   /* file level: files ranked by the first appearance of their entities */
} sc_query_group;

typedef struct sc_query_eval_options {
    const char *const *query_files; /* JSON Lines query files (at least one) */
    size_t n_query_files;
    const char *repos_dir;          /* the tree of repository R is repos_dir/R (never written to) */
    const char *const *tsv_files;   /* repos tsv files (header, then repo, split, language[, source, subdir]) */
    size_t n_tsv_files;             /* 0 = none: only with split NULL or "all" */
    const char *split;              /* "dev" or "test": only the queries of repositories of that split
                                       (others are skipped); NULL or "all": every query */
    const char *work_dir;           /* repository R is indexed into work_dir/R/store, kept, and brought up to date
                                       incrementally by the next run; NULL = a temporary folder, removed */
    const char *model_path;         /* NULL = the shipped built-in model */
    uint32_t n_threads;             /* parse threads (0 = all cores) */
    uint32_t modes;                 /* bit (1 << sc_search_mode) per mode to run; 0 = all three */
    const char *per_query_path;     /* one JSON line per (query, mode) with the ranks found; NULL = none */
    const char *features_path;      /* one JSON line per query with the ranking features and labels of every
                                       hybrid candidate (tools/train_ranker.py's input); NULL = none */
    bool check_only;                /* index and check every target, search nothing (no scores, modes 0) */
    void (*log)(void *arg, const char *line); /* a line per repository indexed (may be NULL) */
    void *log_arg;                  /* its argument */
} sc_query_eval_options;

typedef struct sc_query_eval_result {
    sc_query_group *groups;   /* "all", then categories, languages and repositories, each by name */
    size_t n_groups;          /* rows */
    uint32_t modes;           /* the modes run (bits as in the options; 0 with check_only) */
    uint64_t queries;         /* queries asked */
    uint64_t queries_skipped; /* queries of repositories outside the split */
    uint64_t targets;         /* targets of the queries asked */
    uint64_t repos;           /* repositories indexed */
    uint64_t entities;        /* points in their indexes (entities and chunks) */
    double seconds_index;     /* sc_repo_update of every repository */
    double seconds_search;    /* all searches */
} sc_query_eval_result;

/* Index each repository the queries name as `semcode index` does (doc
** comments kept, default options) and search every query through
** sc_repo_search in each mode: entity level from a search of limit
** SC_QUERY_EVAL_ENTITY_LIMIT, file level from the file search (files mode) of
** limit SC_QUERY_EVAL_FILE_LIMIT.
** *out is owned (sc_query_eval_result_free). Errors (SC_INVALID, SC_NOTFOUND,
** SC_IOERR ...) come with an owned message in *errmsg naming the file, line
** and field of a bad query, or the repository or target that is missing. */
SC_API sc_status sc_repo_eval_queries(const sc_query_eval_options *opt, sc_query_eval_result **out, char **errmsg);
SC_API void sc_query_eval_result_free(sc_query_eval_result *r); /* NULL is a no-op */
/* The result as one JSON object {queries, queries_skipped, targets, repos,
** entities, seconds_index, seconds_search, modes: [...], groups: [{kind, name,
** queries, (repositories: files, points,) <mode>: {entity: {hit_1, hit_10,
** mrr_10, ndcg_10}, file: {...}}}]}:
** owned string (sc_free), NULL when out of memory. */
SC_API char *sc_query_eval_json(const sc_query_eval_result *r);

/* ==== Portable index files (export.c) ==== */

/* Write the index of r to path as one portable, checksummed file (a
** snapshot file of kind "export", docs/FILE_FORMATS.md): every collection
** of its store (vectors, payloads, BM25 terms, graphs), its state.db, and
** a manifest naming the model id, provider, source commit (git HEAD of the
** root, null outside git) and root. info (may be NULL) as
** sc_snapshot_create's. *errmsg (may be NULL): owned message on failure. */
SC_API sc_status sc_repo_export(sc_repo *r, const char *path, sc_snapshot_info *info, char **errmsg);
/* Make the index folder store_dir (absent or empty) from an exported file,
** searchable without the source tree: its recorded root becomes root (NULL:
** store_dir itself; searches then have no snippets). All or nothing: built
** beside store_dir and renamed into place; on failure store_dir is as it
** was. SC_CORRUPT / SC_UNSUPPORTED for a damaged or newer file (the message
** has the byte offset), SC_INVALID for a snapshot that is not an export,
** SC_EXISTS for a non-empty store_dir, SC_IOERR. */
SC_API sc_status sc_repo_import(const char *path, const char *store_dir, const char *root, uint64_t *n_points,
                                char **errmsg);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_REPO_H */
