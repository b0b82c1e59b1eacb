/*
** ingest: private structures of an indexed repository (sc_repo). Only the
** files repo.c, update.c, query.c, eval.c and
** eval_queries.c include this header.
**
** DESIGN
** - A repository's index lives in its store folder (default ROOT/.semcode):
**     store/     the vector store (collection "code", named vector "code",
**                payload indexes on path, language and kind, BM25 terms)
**     state.db   SQLite: files(path, size, mtime, hash, n_entities) and
**                meta(key, value): model id, provider (local model path or
**                remote endpoint: ingest/embedder.c), template version,
**                last run
**     cache.db   the embedding cache
** - The store is written first, then state.db, file group by file group:
**   a run that stops between the two leaves files whose state is older
**   than their points, so the next run re-processes them; upserts by
**   stable ids are idempotent, so the index converges.
** - Point id of an entity: 64-bit hash of (path, kind, qualified name,
**   ordinal among equal names in the file), so an edit updates rather than
**   duplicates.
*/
#ifndef SC_INGEST_REPO_INT_H
#define SC_INGEST_REPO_INT_H

#include <sqlite3.h>

#include "semcode/semcode.h"
#include "semcode/embed.h"
#include "semcode/parse.h"
#include "semcode/provider.h"
#include "semcode/repo.h"
#include "util/util.h"

#define REPO_COLLECTION "code"
#define REPO_VECTOR "code"
#define REPO_TEMPLATE_VERSION "3"

struct sc_repo {
    char *root;              /* absolute path of the indexed tree, no trailing '/' */
    char *store_dir;         /* absolute path of the index folder */
    sc_repo_options opt;     /* options (strings not kept) */
    sc_db *db;               /* the vector store */
    sqlite3 *state;          /* state.db */
    sc_model *model;         /* the local model (provider, or fallback of a remote one), or NULL */
    char *model_path;        /* its absolute path */
    bool is_remote;          /* embeds with a remote OpenAI-compatible endpoint */
    sc_remote_options remote; /* that endpoint (strings in remote_str) */
    char *remote_str[4];     /* owned base_url, model, api_key_env, family of remote */
    sc_embedder *emb;        /* the provider (with the cache); made by repo_embedder_ready */
    sc_embedder *fallback;   /* local embedder taking over from a remote one, or NULL */
    sc_embed_cache *cache;   /* embedding cache, NULL with no_cache */
    uint32_t dim;            /* vector dimension */
    char model_id[256];      /* index identity: "builtin:<hash>" or "openai:<model>/<dim>" */
    uint32_t template_variant; /* 0; another prepared-text variant only for measurement (sc_repo_eval) */
    char errmsg[1024];       /* last failure */
};

/* Record a failure on r and return code. */
sc_status repo_fail(sc_repo *r, sc_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Run SQL on state.db; SC_IOERR with the message on failure. */
sc_status repo_state_exec(sc_repo *r, const char *sql);
/* meta value of key (owned) or NULL. */
char *repo_meta_get(sc_repo *r, const char *key);
sc_status repo_meta_set(sc_repo *r, const char *key, const char *value);

/* Choose the provider from the options and what the index recorded; sets
** model_id and dim, loads the local model if one is needed (ingest/embedder.c). */
sc_status repo_embedder_open(sc_repo *r, const sc_repo_options *opt);
/* Make r->emb if it is not made yet (a remote client needs its key now). */
sc_status repo_embedder_ready(sc_repo *r);
/* Record the provider in meta (index runs only: never the API key). */
sc_status repo_embedder_record(sc_repo *r);
/* Free the provider, fallback and model. */
void repo_embedder_close(sc_repo *r);

/* The prepared text embedded for an entity (template in docs/ARCHITECTURE.md)
** and the text indexed for BM25; both owned. src is the file's bytes.
** variant: 0 = the product's template, others only for measurement. */
char *repo_prepare_text(uint32_t variant, const sc_entity *e, const char *path, const char *src, size_t src_size);
char *repo_keyword_text(const sc_entity *e, const char *path, const char *src, size_t src_size);

/* JSON filter text for the query's language / kind / path filters (owned),
** or NULL for none; *empty is set when no file can match the path globs. */
char *repo_filter_json(sc_repo *r, const sc_code_query *q, bool *empty);

/* Fill a hit from a stored payload (snippet read from the file). */
/* Ordinal of entity i of res among earlier entities with the same kind and
** qualified name (update.c; part of a point's stable id). */
uint32_t repo_entity_ordinal(const sc_parse_result *res, uint32_t i);
sc_status repo_hit_from_payload(sc_repo *r, const char *payload_json, float score, sc_code_hit *hit);

#endif /* SC_INGEST_REPO_INT_H */
