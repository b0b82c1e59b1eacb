/*
** records: private structures of development records (include/semcode/
** records.h). Only the files of src/records/ include this header.
**
** Files: rec.c (the record value, field checks, dates), template.c (text
** templates: parse, defaults, render, cut on token boundaries), writer.c
** (sc_records: collection, batches, embedding, atomic upserts, cursors),
** query.c (search, linked records, history, hits, JSON), git.c (the git
** source: branches, cursor, rewrites, the walk), git_commit.c (one commit
** -> one record: diff, stats, links to code entities), and the tracker and
** file sources of source_int.h: source.c (what they share), github.c,
** jira.c with adf.c (Atlassian Document Format to text), jsonl.c.
**
** DESIGN
** - A record's point id is a UUID made of two 64-bit hashes of (tenant,
**   source, kind, id), so re-ingesting updates in place and two tenants
**   never share a point even in one collection.
** - Besides records, a collection holds points of kind "state" without
**   vectors or text (searches never return them): "meta" (the embedding
**   model and dimension of the collection's vectors) and one "cursor" per
**   source (the connector's state). They are written in the same atomic
**   upsert as the records they follow.
** - A flush deletes first, then upserts records + state in one call: a
**   connector's cursor advances only with the records it covers, and a
**   deletion that ran before a failed upsert is redone (or found done) by
**   the next run.
** - Where the points are (store.c): the embedded store (sc_db, a
**   collection per tenant) or a store backend (Qdrant: one collection
**   "<code collection>_records" for every tenant, its tenant field indexed
**   as Qdrant's tenant partition, every read filtered by tenant). Point ids
**   hash the tenant in, so reads and deletes by id stay within a tenant
**   either way. On Qdrant an upsert of more points than the backend's batch
**   size is several requests, each durable (wait=true) but not atomic
**   together: records precede their cursor in the batch, so a failure
**   leaves the cursor behind the records written and the next run redoes
**   (or skips as unchanged) what follows it.
*/
#ifndef SC_RECORDS_INT_H
#define SC_RECORDS_INT_H

#include <jansson.h>

#include "backend/backend.h"
#include "semcode/records.h"
#include "text/text.h"
#include "util/util.h"

#define RECORDS_COLLECTION "records"   /* collection of the global namespace; a tenant's: .<tenant>.records */
#define RECORDS_STATE_KIND "state"     /* kind of the meta and cursor points */
#define RECORDS_TEMPLATE_VERSION 1     /* bumped when the template language or defaults change */
#define RECORDS_SMALL_TOKENS 64        /* summary and metadata texts are cut after this many tokens */
#define RECORDS_KEYWORD_BYTES 16384    /* bytes of the content indexed for BM25 */

/* The three named vectors, in this order everywhere. */
typedef enum records_vec {
    RECORDS_VEC_CONTENT = 0,
    RECORDS_VEC_SUMMARY = 1,
    RECORDS_VEC_METADATA = 2,
    RECORDS_VEC_COUNT = 3
} records_vec;

extern const char *const records_vec_names[RECORDS_VEC_COUNT]; /* "content", "summary", "metadata" */

/* ==== Records (rec.c) ==== */

struct sc_rec {
    sc_rec_kind kind;   /* what it is */
    char *source;       /* owned source name */
    char *id;           /* owned id */
    json_t *fields;     /* object: field name -> typed value */
    json_t *links;      /* object: relation -> array of targets */
    json_t *cut;        /* object: names of string fields cut to SC_REC_MAX_STRING -> true */
    char errmsg[256];   /* last failure */
};

/* Set field of rec to the JSON value v (stolen; checked like
** sc_rec_set_json's field): what sc_rec_set_json does without the text. */
sc_status records_rec_set_value(sc_rec *rec, const char *field, json_t *v);
/* Is name a field name a record takes ([a-z0-9_], 1..SC_REC_MAX_FIELD
** bytes, not one of the payload's own keys)? */
bool records_field_name_ok(const char *name);
/* Point id of record (tenant, source, kind, id); tenant "" = global. */
sc_point_id records_point_id(const char *tenant, const char *source, const char *kind, const char *id);
/* Parse a date as sc_rec_set_date_str takes it into seconds since the
** epoch; false when it is not one. */
bool records_parse_date(const char *s, int64_t *out);
/* RFC 3339 UTC text of t ("2024-05-01T12:00:00Z") into buf (>= 32 bytes). */
void records_format_date(int64_t t, char *buf, size_t size);
/* A copy of s[0..n) with invalid UTF-8 bytes replaced by U+FFFD and cut
** to at most max bytes on a character boundary (*cut set when it was);
** NULL when memory runs out. */
char *records_clean_utf8(const char *s, size_t n, size_t max, bool *cut);

/* A set of 64-bit keys (the first 8 bytes of a commit id, a hash of an id):
** add, then sort once, then look up. 8 bytes a key. */
typedef struct records_keyset {
    uint64_t *k;    /* keys, sorted by records_keyset_sort */
    size_t n, cap;  /* used, allocated */
} records_keyset;

/* Add k (unsorted until records_keyset_sort); false when out of memory. */
bool records_keyset_add(records_keyset *s, uint64_t k);
void records_keyset_sort(records_keyset *s);
/* Is k in the sorted set? */
bool records_keyset_has(const records_keyset *s, uint64_t k);
void records_keyset_free(records_keyset *s);

/* ==== Templates (template.c) ==== */

typedef struct records_templates records_templates;

/* The default templates overridden by templates_json (NULL = none). NULL
** with err set (SC_INVALID naming kind, vector and byte; SC_NOMEM). */
records_templates *records_templates_new(const char *templates_json, sc_err *err);
void records_templates_free(records_templates *t);
/* 64-bit fingerprint of the effective templates (part of a record's hash). */
uint64_t records_templates_hash(const records_templates *t);
/* Render template `vec` of rec's kind: owned text, NULL when memory runs out. */
char *records_render(const records_templates *t, const sc_rec *rec, records_vec vec);

/* ==== Queries (query.c) ==== */

/* Fill a hit from a stored payload (rank, score set by the caller). */
sc_status records_hit_from_payload(const char *payload_json, sc_rec_hit *hit);
/* The JSON filter of q's kinds, source, author and dates, plus `extra` (a
** condition object, may be NULL; stolen): owned text, or NULL with err set. */
char *records_query_filter(const sc_rec_query *q, json_t *extra, sc_err *err);

/* ==== The handle (writer.c) ==== */

/* A record waiting in the batch. */
typedef struct records_pending {
    sc_point_id pid;                   /* its point */
    char *payload;                     /* owned payload JSON (without record_hash / text_hash yet in hash input) */
    char *text[RECORDS_VEC_COUNT];     /* owned texts to embed ("" = no vector) */
    char *kwtext;                      /* owned BM25 text */
    uint64_t text_hash;                /* hash of the texts and model: vector reuse key */
    uint64_t record_hash;              /* hash of payload and texts: skip key */
} records_pending;

/* A cursor waiting for the next flush. */
typedef struct records_cursor {
    char *source;  /* owned source name */
    char *json;    /* owned cursor JSON */
} records_cursor;

struct sc_records {
    sc_db *db;                       /* borrowed embedded store, NULL when be holds the records */
    backend *be;                     /* owned store backend (Qdrant) holding the records, NULL = db */
    sc_embedder *emb;                /* borrowed provider; NULL = read only */
    char tenant[72];                 /* tenant name, "" = global namespace */
    char coll[300];                  /* store collection */
    bool exists;                     /* the collection exists */
    bool meta_written;               /* the meta point holds this embedder's model */
    uint32_t dim;                    /* vector dimension */
    uint32_t batch_size;             /* records per flush */
    uint32_t max_tokens;             /* content cut */
    records_templates *tpl;          /* text templates */
    text_tokenizer *tk;              /* for cutting texts */
    text_tokens toks;                /* scratch of tk */
    records_pending *pend;           /* queued records */
    size_t n_pend, cap_pend;         /* used, allocated */
    sc_point_id *del;                /* queued deletions */
    size_t n_del, cap_del;           /* used, allocated */
    records_cursor *cur;             /* queued cursors */
    size_t n_cur, cap_cur;           /* used, allocated */
    sc_records_stats stats;          /* counters */
    void (*on_failed)(void *arg, const char *message); /* NULL: a failed provider fails the flush; else told */
    void *on_failed_arg;             /* its argument */
    bool cursors_held;               /* a batch was skipped: no cursor is written any more (it would pass it) */
    char errmsg[1024];               /* last failure */
};

/* Call fn(arg, id, value) for every stored record of kind and source with
** the JSON value of its payload field (NULL when it has none; borrowed for
** the call), in point-id order. fn returns false to stop. */
sc_status records_each_field(sc_records *rs, sc_rec_kind kind, const char *source, const char *field,
                             bool (*fn)(void *arg, const char *id, const json_t *value), void *arg);

/* ==== Where the points are (store.c) ==== */

/* Does the collection exist (false on any failure). */
bool records_store_exists(sc_records *rs);
/* Create the collection: three named vectors of rs->dim (content with a
** graph, summary and metadata scanned exactly) and BM25 terms, payload
** indexes on the filtered fields. Failure recorded on rs. */
sc_status records_store_create(sc_records *rs);
/* Check an existing collection: the three vectors, of rs->dim when it is
** set (else rs->dim is taken from it); with index_missing, create the
** payload indexes an older embedded collection lacks. */
sc_status records_store_check(sc_records *rs, bool index_missing);
/* As sc_points_get / _upsert / _search / _scroll / _count on the records'
** collection; reads (search, scroll, count) on a backend only see rs's
** tenant. Failures recorded on rs ("<what> <coll>: <reason>"), SC_IOERR
** unless said. */
sc_status records_store_get(sc_records *rs, const sc_point_id *ids, size_t n, const sc_with *with, sc_record_list **out);
sc_status records_store_upsert(sc_records *rs, const sc_point_in *pts, size_t n);
/* Delete ids; *n_deleted gets how many existed. */
sc_status records_store_delete(sc_records *rs, const sc_point_id *ids, size_t n, uint64_t *n_deleted);
/* A search failing on its request (a bad filter) is SC_INVALID. */
sc_status records_store_search(sc_records *rs, const sc_search_request *req, sc_record_list **out);
sc_status records_store_scroll(sc_records *rs, const sc_scroll_request *req, sc_record_list **out, sc_point_id *next,
                               bool *has_next);
sc_status records_store_count(sc_records *rs, const char *filter_json, uint64_t *out);

/* Record a failure on rs and return code. */
sc_status records_fail(sc_records *rs, sc_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* SC_RECORDS_INT_H */
