/*
** repo: private structures of an indexed repository (sc_repo). Only the
** files of src/repo/ include this header; the indexing pipeline
** (src/pipeline/) gets what it needs as a pipeline_index.
**
** DESIGN
** - A repository's index lives in its store folder (default ROOT/.semcode):
**     store/     the vector store (collection "code", named vector "code",
**                payload indexes on path, language and kind, BM25 terms)
**     state.db   SQLite: files(path, size, mtime, hash, n_entities) and
**                meta(key, value): model id, provider (local model path or
**                remote endpoint: pipeline/embedder.c), template version,
**                last run
**     cache.db   the embedding cache
** - With `--store qdrant://...` the points of collection "code" live in
**   that Qdrant collection instead (src/backend/); state.db and the cache
**   stay in the folder, and meta store_url records the location so later
**   commands in the tree find it.
** - The store is written first, then state.db, file group by file group:
**   a run that stops between the two leaves files whose state is older
**   than their points, so the next run re-processes them; upserts by
**   stable ids are idempotent, so the index converges.
** - Point id of an entity: 64-bit hash of (path, kind, qualified name,
**   ordinal among equal names in the file), so an edit updates rather than
**   duplicates.
*/
#ifndef SC_REPO_INT_H
#define SC_REPO_INT_H

#include <sqlite3.h>

#include "semcode/semcode.h"
#include "backend/backend.h"
#include "pipeline/pipeline.h"
#include "repo/repo.h"
#include "util/util.h"

struct sc_repo {
    char *root;              /* absolute path of the indexed tree, no trailing '/' */
    char *store_dir;         /* absolute path of the index folder */
    sc_repo_options opt;     /* options (strings not kept) */
    sc_db *db;               /* the embedded store of the folder (records; the code points too unless be is remote) */
    backend *be;             /* where the code points live: the embedded store (over db) or Qdrant */
    const char *coll;        /* collection of the code points in be (borrowed from be, or PIPELINE_COLLECTION) */
    bool remote_store;       /* be is not the embedded store (Qdrant) */
    char *store_query;       /* the "?key=value&..." of a --store URL (owned), NULL = none given */
    bool hybrid_note_done;   /* the note that a backend fuses hybrid itself was logged */
    sqlite3 *state;          /* state.db */
    pipeline_embedder pe;    /* the embedding provider of the current generation, its model and cache (pe.cache
                                owned here): searches embed with it */
    char vector[PIPELINE_VECTOR_MAX]; /* the current generation's named vector (meta vector; "code" when absent) */
    bool model_given;        /* the open was given a model or provider (not only the recorded one) */
    bool switching;          /* a model switch is loaded: pe_next and next_vector are set (switch.c) */
    pipeline_embedder pe_next; /* the target model of a switch (meta keys next_*), zero when none */
    char next_vector[PIPELINE_VECTOR_MAX]; /* its named vector */
    void (*yield_unlock)(void *arg); /* sc_repo_set_yield: the caller's lock, released between backfill */
    void (*yield_lock)(void *arg);   /* groups (NULL = kept) */
    void *yield_arg;         /* their argument */
    bool updating;           /* an sc_repo_update is running (it may be in yield) */
    uint32_t template_variant; /* 0; another prepared-text variant only for measurement (sc_repo_eval) */
    char errmsg[1024];       /* last failure */
};

/* Record a failure on r and return code. */
sc_status repo_fail(sc_repo *r, sc_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Run SQL on state.db / read or write a meta value, recording a failure on r. */
sc_status repo_state_exec(sc_repo *r, const char *sql);
char *repo_meta_get(sc_repo *r, const char *key);
sc_status repo_meta_set(sc_repo *r, const char *key, const char *value);
/* Make the provider's embedder if it is not made yet (pipeline_embedder_ready). */
sc_status repo_embedder_ready(sc_repo *r);
/* Record a pipeline failure (err, whose message may be empty) on r and return rc. */
sc_status repo_fail_err(sc_repo *r, sc_status rc, const sc_err *err);

/* ==== Model switch (switch.c) ==== */

/* Read meta vector into r->vector. */
void repo_vector_load(sc_repo *r);
/* r->pe, the model given to an index run, differs from current_id, the
** index's model: make it the target of a switch (r->pe_next, its vector
** added to the collection, meta next_*) and load the current model into
** r->pe. SC_NOTFOUND when the current model cannot be loaded (nothing
** changed, r->pe is the given model again: the caller starts over). */
sc_status repo_switch_begin(sc_repo *r, const char *current_id);
/* Drop a pending switch (its vectors and meta keys); SC_OK when none. */
sc_status repo_switch_cancel(sc_repo *r);
/* After an update run: resume a pending switch, give every entity a vector
** of the target model, then swap and reclaim. Counts go to sum. */
sc_status repo_switch_run(sc_repo *r, sc_repo_summary *sum);
/* Finish an interrupted reclaim and drop generation vectors meta does not
** name (at open, embedded store). */
sc_status repo_switch_reclaim(sc_repo *r);
/* {from, to, dim_from, dim_to, done, total} of a pending switch, or NULL. */
struct json_t *repo_switch_json(sc_repo *r);

/* JSON filter text for the query's language / kind / path filters (owned),
** or NULL for none; *empty is set when no file can match the path globs. */
char *repo_filter_json(sc_repo *r, const sc_code_query *q, bool *empty);

/* What the call graph says of an entity, for the ranking stage (usage.c). */
typedef struct repo_usage {
    char *callees; /* distinct names its call sites call, space-separated (owned), NULL = none */
    char *callers; /* distinct names of the entities whose call sites name it (owned), NULL = none */
    float fanin;   /* call sites naming it elsewhere / definitions of its name */
} repo_usage;

/* out[i] = the usage of point ids[i] from state.db's graph tables (all
** zero without them). On error out is cleared. SC_IOERR, SC_NOMEM (message
** on r). */
sc_status repo_usage_get(sc_repo *r, const uint64_t *ids, size_t n, repo_usage *out);
/* Free the strings of u[0..n) and zero them. */
void repo_usage_clear(repo_usage *u, size_t n);

/* A candidate of a hybrid search before ranking (workspace.c ranks the
** candidates of several repositories together). */
typedef struct repo_cand {
    uint64_t id;    /* point id */
    char *payload;  /* owned payload JSON */
    double dense;   /* cosine, when dense_rank > 0 */
    double kw;      /* BM25, when kw_rank > 0 */
    int dense_rank; /* 1-based rank in this repository's dense leg, 0 = not there */
    int kw_rank;    /* 1-based rank in its keyword leg, 0 = not there */
    repo_usage usage; /* what the call graph says of it (owned strings) */
} repo_cand;

/* The candidates of q (hybrid or dense/keyword legs as q->mode, filters
** applied) on r, unranked: *out owned (n entries, each payload owned),
** *text the query as searched (owned). Errors as sc_repo_search's. */
sc_status repo_search_candidates(sc_repo *r, const sc_code_query *q, char **text, repo_cand **out, size_t *n);

/* Fill a hit from a stored payload (snippet read from the file). */
sc_status repo_hit_from_payload(sc_repo *r, const char *payload_json, float score, sc_code_hit *hit);

#endif /* SC_REPO_INT_H */
