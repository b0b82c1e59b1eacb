/*
** records: private interface of the tracker and file sources, shared by
** source.c (the run: options, the HTTP client or the saved-answers folder,
** pages, malformed items, the ids seen for a full sync's removals) and the
** connectors github.c, jira.c (with adf.c) and jsonl.c.
*/
#ifndef SC_RECORDS_SOURCE_INT_H
#define SC_RECORDS_SOURCE_INT_H

#include "net/net.h"
#include "records/records_int.h"

#define SRC_KEEP_TEXTS 10          /* comments / review texts kept in the parent record (templates use 5 / 3) */
#define SRC_TEXT_BYTES 4096        /* each of those cut to this many bytes */
#define SRC_MAX_LINE ((size_t)16 << 20) /* a longer JSON line is skipped */

/* One run of a source. */
typedef struct src_run {
    sc_records *rs;                     /* where the records go (errors too) */
    sc_source_options opt;              /* options with the defaults filled in */
    sc_source_summary *sum;             /* counters */
    net_client *net;                    /* the API client; NULL when reading opt.from_dir */
    char api[2048];                     /* API root without a trailing '/' ("" when reading a folder) */
    char source[SC_REC_MAX_SOURCE + 1]; /* record source */
    int64_t server_start;               /* the Date of the run's first answer (unix seconds), 0 = none */
    records_keyset seen[SC_REC_KIND_COUNT]; /* a full sync: hashes of the ids seen, per kind */
    bool track;                         /* fill seen (full sync) */
    uint64_t n_unseen_removed;          /* records src_remove_unseen deleted */
    uint64_t pages_skipped;             /* pages that were not JSON (reported): the run saw less than all */
    double t0;                          /* start */
    double last_progress;               /* time of the last progress call */
    uint64_t written0, unchanged0, deleted0; /* writer counters at the start */
} src_run;

/* Start a run: defaults and, for a remote source (headers not NULL), the
** folder of saved answers (opt->from_dir) or the HTTP client with headers
** and the token (SC_INVALID naming the variable when it is unset): with
** opt->user as basic authentication, else as a bearer token. Errors on rs. */
sc_status src_begin(src_run *r, sc_records *rs, const sc_source_options *opt, sc_source_summary *sum,
                    const char *const *headers, size_t n_headers);
/* Finish: counters into the summary, the client freed (also after errors). */
void src_end(src_run *r);
/* Stop requested? Then SC_INTERRUPTED with a message on rs. */
sc_status src_cancelled(src_run *r);
/* Report a malformed item at `where` (and index `item` >= 0) and count it. */
void src_malformed(src_run *r, const char *where, long item, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Progress of stage (rate limited to a few calls a second unless force). */
void src_progress(src_run *r, const char *stage, uint64_t items, uint64_t total, bool force);
/* Queue rec (sc_records_put) and note its id as seen. */
sc_status src_put(src_run *r, const sc_rec *rec);
/* Note id of kind as seen without a record (an incremental run's id sweep). */
sc_status src_seen(src_run *r, sc_rec_kind kind, const char *id);
/* Remove the stored records of kinds[0..n) of the source that the run did
** not see (a full sync, or the id sweep after an incremental one), flushing
** as it goes; adds their number to r->n_unseen_removed. */
sc_status src_remove_unseen(src_run *r, const sc_rec_kind *kinds, size_t n);
/* Remove the stored records of kind of the source whose parent, named by
** their payload field (a number or a string), is in none of the seen sets
** of parents[0..n_parents) (the comments of a swept item); adds their number
** to r->n_unseen_removed. */
sc_status src_remove_orphans(src_run *r, sc_rec_kind kind, const char *field, const sc_rec_kind *parents,
                             size_t n_parents);
/* Whether the run's removals may go ahead: nothing was malformed or
** skipped (else removal_skipped is set in the summary). */
bool src_may_remove(src_run *r);

/* A paged listing: from the API (URLs, the next one from the Link header
** unless the connector sets it) or from the folder (rel.json, else
** rel.1.json, rel.2.json, ... while they exist). */
typedef struct src_list {
    src_run *r;          /* the run */
    char *rel;           /* owned: path under the API root / the folder ("issues", "pulls/12/reviews") */
    char *next;          /* owned: the next URL (API) or NULL at the end */
    unsigned page;       /* pages read */
    bool single;         /* folder: rel.json was found (one page) */
    bool done;           /* no more pages */
    char where[2200];    /* the page just read: its URL or file */
    const char *if_none_match; /* API: the ETag a previous run got for the first page (borrowed, NULL = none):
                                  the first request is conditional */
    bool not_modified;   /* the first page answered 304 Not Modified: the listing is empty */
    char *first_etag;    /* owned: the ETag of the first page (NULL = none, or not modified) */
} src_list;

/* Open a listing of rel; query ("a=1&b=2", may be NULL) for the API's first URL. */
sc_status src_list_open(src_list *l, src_run *r, const char *rel, const char *query);
/* The next page (owned JSON) in *page, NULL after the last (and at once
** when the first page was conditional and answered 304: not_modified). A page that is
** not JSON (a file, or an answer that stayed so after the retries) is
** reported as malformed and given as JSON null: the caller goes on with the
** next (the API's Link header says which; Jira's startAt moves by the page
** size). required: a folder without any file for rel is SC_NOTFOUND (else
** it is an empty listing). HTTP failures as net_get_json. Errors on rs. */
sc_status src_list_next(src_list *l, json_t **page, bool required);
/* API: the URL of the next page instead of the Link header's (NULL = no
** more); reading a folder, pages go on while files exist. */
sc_status src_list_set_next(src_list *l, const char *url);
void src_list_close(src_list *l);

/* Call fn for each item of every page of listing rel (query as for
** src_list_open): pages must be JSON arrays of `what` (a page that is not
** is reported and passed over); fn gets the item, the page's position and
** the item's index, and returns SC_OK to go on. */
typedef sc_status (*src_item_fn)(void *arg, const json_t *item, const char *where, long idx);
sc_status src_each(src_run *r, const char *rel, const char *query, const char *what, src_item_fn fn, void *arg);

/* The cursor of a finished run: c (stolen) plus "since" = min(the latest
** updated of an item read, the server's Date at the start) when items were
** read, else the old since (or the start of a full sync); the summary's
** since too. After a skipped page, since stays the old one and "synced"
** becomes false (the next run is full). Queued for the next flush. */
sc_status src_write_cursor(src_run *r, json_t *c, int64_t max_updated, int64_t old_since);

/* ==== Small helpers for the connectors ==== */

/* s[key] as a string (NULL when absent or not one). */
const char *src_str(const json_t *o, const char *key);
/* o[a][b] as a string (NULL when absent): user.login, status.name. */
const char *src_str2(const json_t *o, const char *a, const char *b);
/* Set field to the string (skipped when NULL or ""). */
sc_status src_set_str(sc_rec *rec, const char *field, const char *v);
/* Set date field from text (skipped when NULL): false with *why when it is not a date. */
bool src_set_date(sc_rec *rec, const char *field, const char *v, const char **why);
/* Keyword array field from arr's strings, or from key `name_key` of its objects. */
sc_status src_add_names(sc_rec *rec, const char *field, const json_t *arr, const char *name_key);
/* A bounded list of the last SRC_KEEP_TEXTS texts ("who: text"), each cut to SRC_TEXT_BYTES. */
typedef struct src_texts {
    char *t[SRC_KEEP_TEXTS]; /* owned, oldest first from `first` (a ring) */
    size_t n, first;         /* kept, index of the oldest */
    uint64_t total;          /* texts added */
} src_texts;
void src_texts_add(src_texts *x, const char *who, const char *text);
/* Add the kept texts to rec's keyword array field, oldest first; frees them. */
sc_status src_texts_put(src_texts *x, sc_rec *rec, const char *field);
void src_texts_free(src_texts *x);

/* ==== Atlassian Document Format (adf.c) ==== */

/* Append the text of ADF node (a document or any node) to out: paragraphs
** and headings as lines, list items with "- " / "1. ", table cells joined
** by " | ", mentions, emoji, status and dates by their text, links by their
** URL; unknown nodes by their children. A string node is appended as it is. */
void records_adf_text(const json_t *node, util_buf *out);

#endif /* SC_RECORDS_SOURCE_INT_H */
