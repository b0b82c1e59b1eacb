/*
** pipeline: the indexing pipeline, walk -> parse -> prepare -> embed ->
** upsert. This header is the module's interface to the rest of semcode:
** the walker and its ignore rules (walk.c, ignore.c; the public face is
** include/semcode/walk.h, parse_tree.c), the globs of search filters
** (glob.c), the texts of an entity
** (prepare.c), the state database helpers (state.c), the embedding provider
** of an index (embedder.c) and the update run (update.c). It knows nothing
** of sc_repo: the repository handle (src/repo/) owns the resources and
** hands them to the pipeline.
**
** Errors: functions here take a caller-owned sc_err (NULL to ignore).
** Thread safety: a walk, an ignore rule set, a pipeline_embedder and a
** pipeline_index are single-thread objects.
*/
#ifndef SC_PIPELINE_H
#define SC_PIPELINE_H

#include <sqlite3.h>

#include "semcode/embed.h"
#include "semcode/parse.h"
#include "semcode/provider.h"
#include "semcode/repo.h"
#include "semcode/store.h"
#include "semcode/walk.h"
#include "util/util.h"

/* ==== Ignore rules (git's, asked of libgit2; .semcodeignore on top) ==== */

typedef struct pipeline_ignore pipeline_ignore;

/* The ignore rules of a walk of directory root: git's (.gitignore files,
** .git/info/exclude, core.excludesFile; in a work tree found from root,
** which may be a subdirectory of it, or in the root alone) and the
** .semcodeignore files on top. *out is owned (pipeline_ignore_close).
** SC_IOERR if root cannot be resolved, SC_NOMEM, SC_ERROR from libgit2. */
sc_status pipeline_ignore_open(const char *root, pipeline_ignore **out, sc_err *err);
/* Free a rule set. NULL is a no-op. */
void pipeline_ignore_close(pipeline_ignore *ig);
/* Read the ignore files of directory rel (relative to the root, "" for the
** root itself; fs_dir is its path on disk) before checking its entries.
** *mark is for pipeline_ignore_leave. SC_NOMEM, SC_ERROR from libgit2. */
sc_status pipeline_ignore_enter(pipeline_ignore *ig, const char *rel, const char *fs_dir, size_t *mark, sc_err *err);
/* Drop the rules of the directories entered after mark. */
void pipeline_ignore_leave(pipeline_ignore *ig, size_t mark);
/* *ignored = whether path rel (relative to the root, '/'-separated, in the
** directory entered last) is ignored. SC_NOMEM only. */
sc_status pipeline_ignore_check(pipeline_ignore *ig, const char *rel, bool is_dir, bool *ignored, sc_err *err);

/* Glob match of one path against one pattern with .gitignore's wildcards
** (glob.c; the --path / --exclude filters of a search):
** '*' and '?' do not cross '/', "**" does, [a-z] classes, '\' escapes. */
bool pipeline_glob_match(const char *pattern, const char *path);

/* ==== Walker ==== */

/* One file found by the walk. */
typedef struct pipeline_file {
    char *path;    /* relative to the root ('/'-separated); owned by the list */
    uint64_t size; /* bytes, from stat */
} pipeline_file;

/* The files of a walk, in deterministic order (directory entries sorted
** by name, depth first). */
typedef struct pipeline_file_list {
    pipeline_file *items; /* n files */
    size_t n;           /* used */
    size_t cap;         /* allocated */
    uint64_t n_ignored; /* entries dropped by ignore rules or always-skipped names */
    uint64_t n_links_skipped; /* symbolic links (never followed) and second paths to a visited directory */
} pipeline_file_list;

/* Walk root (a directory, or a single file which becomes the only entry
** with its path as given). Fills out (caller frees with
** pipeline_file_list_free). SC_IOERR if root cannot be read. */
sc_status pipeline_walk(const char *root, const sc_walk_options *opt, pipeline_file_list *out, sc_err *err);
/* Free the list's contents. */
void pipeline_file_list_free(pipeline_file_list *l);

/* True for directory names that are always skipped (.git, node_modules)
** and, with skip_vendored, vendored ones (vendor, third_party, ...). */
bool pipeline_dir_is_skipped(const char *name, bool skip_vendored);

/* ==== What an index stores ==== */

#define PIPELINE_COLLECTION "code"     /* the store collection of a repository */
#define PIPELINE_VECTOR "code"         /* its named vector (first generation; meta vector names a later one) */
#define PIPELINE_VECTOR_MAX 64         /* bytes of a generation's vector name, NUL included */
#define PIPELINE_TEMPLATE_VERSION "3"  /* version of pipeline_prepare_text's template */

/* ==== Prepare (prepare.c) ==== */

/* The prepared text embedded for an entity (template in docs/ARCHITECTURE.md)
** and the text indexed for BM25; both owned, NULL when memory runs out. src
** is the file's bytes. variant: 0 = the product's template, others only for
** measurement (sc_repo_eval). */
char *pipeline_prepare_text(uint32_t variant, const sc_entity *e, const char *path, const char *src, size_t src_size);
char *pipeline_keyword_text(const sc_entity *e, const char *path, const char *src, size_t src_size);

/* Ordinal of entity i of res among earlier entities with the same kind and
** qualified name (update.c; with the path, kind and name it makes a point's
** stable id). */
uint32_t pipeline_entity_ordinal(const sc_parse_result *res, uint32_t i);
/* Stable point id of an entity of the file at path (relative to the indexed
** root): a 63-bit hash of (path, kind, qualified name, ordinal), so a
** re-index updates rather than duplicates. The git source (src/records/)
** computes the same ids for the entities a commit touched. */
uint64_t pipeline_entity_id(const char *path, const sc_entity *e, uint32_t ordinal);

/* ==== State database (state.c) ==== */

/* Format of an index folder (state.db meta index_format; docs/FILE_FORMATS.md):
** 2 = XXH3-128 content and text hashes; 1 (util_hash64_v1) is upgraded on open;
** 3 = format 2 whose current vectors are a later generation (meta vector,
** after a model switch: repo/switch.c), so that an older semcode refuses it
** rather than search a vector that is gone. New indexes are written at 2.
** PIPELINE_INDEX_FORMAT is the newest this build reads. */
#define PIPELINE_INDEX_FORMAT 3
#define PIPELINE_INDEX_FORMAT_HASHES 2 /* written by a new index, an upgrade from 1, a rebuild */

/* Create the tables of a new state database, or upgrade an index of an
** older format in one transaction (on failure the database is unchanged).
** A newer format is SC_UNSUPPORTED, a malformed one SC_CORRUPT; where names
** the index in messages. *from (may be NULL) receives the format found: 0
** for a new database, 1 when upgraded, 2 or 3 otherwise (left as they are). */
sc_status pipeline_state_prepare(sqlite3 *state, const char *where, int *from, sc_err *err);

/* Run SQL on the state database; SC_IOERR with SQLite's message on failure. */
sc_status pipeline_state_exec(sqlite3 *state, const char *sql, sc_err *err);
/* meta value of key (owned, free) or NULL when absent or unreadable. */
char *pipeline_meta_get(sqlite3 *state, const char *key);
/* Set meta key to value; SC_IOERR on failure. */
sc_status pipeline_meta_set(sqlite3 *state, const char *key, const char *value, sc_err *err);

/* ==== Call graph tables of state.db (graph.c) ==== */

/* Create the graph_defs, graph_calls and graph_imports tables if missing. SC_IOERR. */
sc_status pipeline_graph_schema(sqlite3 *state, sc_err *err);
/* Replace the rows of the file at path by those of res (its entities, call
** sites and imports; res NULL or skipped: only remove them). Runs inside the
** caller's transaction. SC_IOERR, SC_NOMEM. */
sc_status pipeline_graph_write(sqlite3 *state, const char *path, const sc_parse_result *res, sc_err *err);
/* Remove the rows of the file at path. SC_IOERR. */
sc_status pipeline_graph_forget(sqlite3 *state, const char *path, sc_err *err);

/* ==== Embedding provider of an index (embedder.c) ==== */

/* Which provider an index embeds with, and the objects that do it. */
typedef struct pipeline_embedder {
    sqlite3 *state;          /* borrowed: state.db, where the choice is recorded */
    const char *meta_prefix; /* prefix of its meta keys: NULL for the index's model, "next_" for the
                                target of a model switch (repo/switch.c); static string */
    bool connect_now;        /* make a remote client at open (index runs: fail before anything changes) */
    sc_model *model;         /* the local model (provider, or fallback of a remote one), or NULL */
    char *model_path;        /* its absolute path */
    bool is_remote;          /* embeds with a remote OpenAI-compatible endpoint */
    sc_remote_options remote; /* that endpoint (strings in remote_str) */
    char *remote_str[4];     /* owned base_url, model, api_key_env, family of remote */
    sc_embedder *emb;        /* the provider (with the cache); made by pipeline_embedder_ready */
    sc_embedder *fallback;   /* local embedder taking over from a remote one, or NULL */
    sc_embed_cache *cache;   /* borrowed embedding cache, NULL for none */
    uint32_t dim;            /* vector dimension */
    char model_id[256];      /* index identity: "builtin:<hash>" or "openai:<model>/<dim>" */
} pipeline_embedder;

/* Choose the provider from the options and what the index recorded in
** state (meta); sets model_id and dim, loads the local model if one is
** needed. The caller zeroes pe and sets state, connect_now and cache. */
sc_status pipeline_embedder_open(pipeline_embedder *pe, const sc_repo_options *opt, sc_err *err);
/* Make pe->emb if it is not made yet (a remote client needs its key now). */
sc_status pipeline_embedder_ready(pipeline_embedder *pe, sc_err *err);
/* Record the provider in meta (index runs only: never the API key). */
sc_status pipeline_embedder_record(pipeline_embedder *pe, sc_err *err);
/* Free the provider, fallback and model. NULL is a no-op. */
void pipeline_embedder_close(pipeline_embedder *pe);

/* ==== The update run (update.c) ==== */

/* What an update run works on; everything borrowed from the caller. */
typedef struct pipeline_index {
    const char *root;          /* absolute path of the indexed tree, no trailing '/' */
    const char *store_dir;     /* absolute path of the index folder (never indexed) */
    sc_repo_options opt;       /* options: threads, size limit, progress, cancel */
    struct backend *be;        /* the store backend (collection coll exists) */
    const char *coll;          /* the collection of the code points (PIPELINE_COLLECTION, or the one a Qdrant URL names) */
    const char *vector;        /* the named vector of the index's current model (PIPELINE_VECTOR, or that of a
                                  later generation: repo/switch.c) */
    sqlite3 *state;            /* state.db */
    pipeline_embedder *pe;     /* the provider */
    uint32_t template_variant; /* prepared-text variant (0 but for measurement) */
    sc_err *err;               /* where a failure is described */
} pipeline_index;

/* Bring the index up to date with its tree: walk, compare with state.db,
** parse, prepare, embed, upsert, delete vanished entities, record the
** files. An interrupted run leaves an index the next run completes. The
** summary goes to out (may be NULL) even on failure. */
sc_status pipeline_update(pipeline_index *ix, sc_repo_summary *out);

#endif /* SC_PIPELINE_H */
