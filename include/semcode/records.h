/*
** semcode public API: development records (commits, issues, pull requests,
** comments) per tenant, and the git source.
**
** A record (sc_rec) is one item of a project's history or tracker,
** identified by (tenant, source, kind, id), with typed fields: strings,
** dates, integers, numbers, booleans, keyword arrays, JSON values and links
** to other records or to code entities. Connectors (the git source, GitHub,
** Jira and JSON Lines below) only produce records and hand them to
** an sc_records, the records of one tenant in a store, which renders the
** texts, embeds them in batches and upserts them:
**   - collection "records" (the global namespace) or ".<tenant>.records"
**     (tenant T), the server's tenant naming, so a tenant's API key reads
**     exactly its own records; on a repository whose store is Qdrant
**     (sc_repo_records_open) one collection "<collection>_records" holds
**     every tenant, each handle reading only its tenant's records;
**   - three named vectors per record, "content" (all its text), "summary"
**     (title or subject) and "metadata" (kind, state, author, labels), from
**     text templates per kind (sc_records_options.templates_json), plus
**     BM25 terms of the content;
**   - a payload with every field, typed for filters: dates as RFC 3339 UTC
**     strings ("2024-05-01T12:00:00Z", usable in Qdrant `range` filters),
**     keyword arrays as arrays, numbers as numbers, links under
**     "links": {"<rel>": [targets]}, plus tenant, source, kind, id and the
**     truncation of long texts ("truncated").
** Writes are idempotent by (tenant, source, kind, id): the point id is a
** hash of the four, so re-ingesting updates in place; a record whose
** payload and texts did not change is not written again, and one whose
** texts did not change keeps its vectors.
**
** Text templates: one per kind and vector, lines of literal text and
** {field} placeholders: {f} a field's value (arrays joined by ", ", numbers
** as written, a true boolean as its name, a false one as nothing), {f|N} the
** first N items of an array one per line, {f|-N} the last N; {id}, {kind},
** {source} are the record's own; "{{" and "}}" are literal braces. A line whose
** placeholders are all empty is dropped. The defaults are in
** docs/ARCHITECTURE.md ("Development records"); templates_json overrides
** any of them: {"commit": {"content": "...", "summary": "...", "metadata":
** "..."}, "issue": {...}}.
**
** Errors follow common.h: a call on an sc_rec or an sc_records keeps its
** message on that handle (sc_rec_errmsg, sc_records_errmsg).
** Thread safety: an sc_rec and an sc_records are used by one thread at a
** time; the store and embedder an sc_records borrows follow their own rules.
*/
#ifndef SEMCODE_RECORDS_H
#define SEMCODE_RECORDS_H

#include <stdio.h>

#include "common.h"
#include "provider.h"
#include "rank.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Records ==== */

typedef enum sc_rec_kind {
    SC_REC_KIND_COMMIT = 0,  /* a git commit (id: its full sha) */
    SC_REC_KIND_ISSUE = 1,   /* a tracker issue */
    SC_REC_KIND_PR = 2,      /* a pull (merge) request */
    SC_REC_KIND_COMMENT = 3, /* a comment on an issue or pull request */
    SC_REC_KIND_REVIEW = 4,  /* a pull-request review or review comment */
    SC_REC_KIND_DOC = 5,     /* any other record */
    SC_REC_KIND_COUNT        /* number of kinds, not a kind */
} sc_rec_kind;

/* Static name of a kind ("commit", "issue", "pr", "comment", "review",
** "doc"); "unknown" out of range. */
SC_API const char *sc_rec_kind_name(sc_rec_kind kind);
/* Kind from its name; SC_INVALID for any other string. */
SC_API sc_status sc_rec_kind_parse(const char *name, sc_rec_kind *out);

typedef struct sc_rec sc_rec; /* a record being built */

#define SC_REC_MAX_SOURCE 200      /* bytes of a source name */
#define SC_REC_MAX_ID 400          /* bytes of a record id */
#define SC_REC_MAX_FIELD 64        /* bytes of a field or link-relation name: [a-z0-9_] */
#define SC_REC_MAX_STRING 65536    /* a longer string field is cut (UTF-8 boundary), named in "truncated" */
#define SC_REC_MAX_ARRAY 10000     /* items of one keyword array or link relation */

/* A new empty record of kind, source and id (both 1..SC_REC_MAX_* bytes
** without control characters). SC_INVALID with *errmsg naming the bad
** argument; free the record with sc_rec_free. */
SC_API sc_status sc_rec_new(sc_rec_kind kind, const char *source, const char *id, sc_rec **out, char **errmsg);
/* Free a record; NULL is a no-op. */
SC_API void sc_rec_free(sc_rec *rec);
/* Message of the last failed call on rec (borrowed, never NULL). */
SC_API const char *sc_rec_errmsg(const sc_rec *rec);

/* Typed fields. A field name is 1..SC_REC_MAX_FIELD bytes of [a-z0-9_] and
** not one of the payload's own keys (tenant, source, kind, id, links,
** truncated, text_hash, record_hash, model); setting a field again replaces
** it. Strings: invalid UTF-8 bytes become U+FFFD; NULL removes the field.
** Errors: SC_INVALID naming the field and value, SC_NOMEM. */
SC_API sc_status sc_rec_set_str(sc_rec *rec, const char *field, const char *value);
/* A date, seconds since the epoch, stored as RFC 3339 UTC ("...Z"). */
SC_API sc_status sc_rec_set_date(sc_rec *rec, const char *field, int64_t unix_seconds);
/* A date given as text: YYYY-MM-DD, optionally followed by T or a space,
** HH:MM[:SS[.frac]] and a zone (Z, +HH:MM, +HHMM, +HH; none = UTC);
** normalised to RFC 3339 UTC. */
SC_API sc_status sc_rec_set_date_str(sc_rec *rec, const char *field, const char *value);
/* An integer (a count, a number of a tracker). */
SC_API sc_status sc_rec_set_int(sc_rec *rec, const char *field, int64_t value);
/* A number; SC_INVALID when not finite. */
SC_API sc_status sc_rec_set_num(sc_rec *rec, const char *field, double value);
/* A boolean (merge, draft); templates render true as the field's name. */
SC_API sc_status sc_rec_set_bool(sc_rec *rec, const char *field, bool value);
/* Append value to the keyword array `field` (made on first use; at most
** SC_REC_MAX_ARRAY items). Labels, components, changed paths. */
SC_API sc_status sc_rec_add_keyword(sc_rec *rec, const char *field, const char *value);
/* Any JSON value (an object, an array of objects: a commit's files);
** stored as it is, rendered as nothing by templates. SC_INVALID when
** json_text is not JSON. */
SC_API sc_status sc_rec_set_json(sc_rec *rec, const char *field, const char *json_text);
/* Link the record to target under relation rel (payload links.<rel>, a
** keyword array; rel named like a field): "parent" (a parent commit),
** "entity" (a code entity's point id, decimal), "commit" (a PR's commits). */
SC_API sc_status sc_rec_add_link(sc_rec *rec, const char *rel, const char *target);

/* ==== The records of a tenant in a store ==== */

typedef struct sc_records sc_records;

typedef struct sc_records_options {
    const char *tenant;         /* NULL or "" = the global namespace; else 1..64 bytes of [A-Za-z0-9_-] */
    uint32_t batch_size;        /* records per atomic upsert (default 256, at most 65536) */
    uint32_t max_tokens;        /* the content text embedded is cut after this many tokens of the code-aware
                                   tokenizer, on a word boundary (default 512); summary and metadata after 64 */
    const char *templates_json; /* text templates overriding the defaults (header comment); NULL = defaults */
    /* NULL: a batch whose embedding provider cannot answer fails its flush (SC_IOERR). Set: that batch's
       records are counted failed and not stored, on_failed(on_failed_arg, message) is told (the message
       names the provider's error and the records' kind:id), the flush goes on (deletions, and the cursors
       queued so far are dropped, see sc_records_flush) and returns SC_OK: a long run keeps going. */
    void (*on_failed)(void *arg, const char *message);
    void *on_failed_arg; /* passed to on_failed */
} sc_records_options;

/* Defaults: global namespace, batches of 256, content cut after 512 tokens, default templates. */
SC_API sc_records_options sc_records_options_default(void);

/* The records of opt->tenant in db, embedded with emb (both borrowed; they
** must outlive the handle). A missing collection reads as empty and is
** created by the first write (three named vectors of emb's dimension,
** cosine; payload indexes on kind, source, id, author, paths, labels, state,
** links.entity, links.commit and on; a writable handle adds the indexes an
** older collection lacks). emb may be NULL for reading only (linked queries,
** keyword search). Errors: SC_INVALID (tenant, batch size,
** templates: the message names the kind, vector and byte; a collection whose
** records were embedded by another model or with another dimension),
** SC_IOERR / SC_NOMEM from the store. *errmsg as in common.h. */
SC_API sc_status sc_records_open(sc_db *db, sc_embedder *emb, const sc_records_options *opt, sc_records **out,
                                 char **errmsg);
/* Close; records put since the last flush are dropped (flush first). NULL
** is a no-op. */
SC_API void sc_records_close(sc_records *rs);
/* Message of the last failed call on rs (borrowed, never NULL). */
SC_API const char *sc_records_errmsg(const sc_records *rs);
/* Name of the store collection (borrowed). */
SC_API const char *sc_records_collection(const sc_records *rs);

/* Queue rec for writing (its contents are copied: rec may be freed or
** reused at once). The texts are rendered and cut now; when batch_size
** records are queued they are flushed. Errors: SC_MISUSE (read-only
** handle), SC_INVALID (a record with no text at all), a flush's errors. */
SC_API sc_status sc_records_put(sc_records *rs, const sc_rec *rec);
/* Queue the removal of record (kind, source, id); missing ones are ignored. */
SC_API sc_status sc_records_delete(sc_records *rs, sc_rec_kind kind, const char *source, const char *id);
/* Set the connector state of source (a JSON object: what was ingested up
** to where), written by the next flush in the same atomic upsert as the
** records queued before it, so it never runs ahead of them. */
SC_API sc_status sc_records_set_cursor(sc_records *rs, const char *source, const char *cursor_json);
/* The stored connector state of source: owned JSON text in *out (sc_free),
** or NULL when none was written. */
SC_API sc_status sc_records_get_cursor(sc_records *rs, const char *source, char **out);
/* Write what is queued: the deletions in one atomic call, then the records
** and cursor in one atomic upsert (records that did not change are skipped;
** those whose texts did not change keep their vectors, the others are
** embedded). A failure leaves that call's changes out of the store and drops
** the queue; the cursor did not advance, so a connector's next run redoes
** the work. An embedding provider that cannot answer fails the batch
** (SC_IOERR), or with opt->on_failed set skips it: its records are counted
** failed, nothing of them is stored, and from then on no cursor is written
** by this handle (a connector's next run starts before them and retries
** them; the records stored meanwhile are passed over unchanged). A text the
** provider refuses leaves its record without that vector. */
SC_API sc_status sc_records_flush(sc_records *rs);
/* The number of stored points of rs's tenant passing filter_json (a Qdrant
** filter on the payload; NULL = all, the meta and cursor points included):
** 0 when the collection does not exist yet. Errors: SC_INVALID (a filter
** that is not JSON), SC_IOERR from the store. */
SC_API sc_status sc_records_count(sc_records *rs, const char *filter_json, uint64_t *out);
/* Call fn(arg, id) for every stored record of kind and source, in point-id
** order (how a connector finds the records that vanished from its source).
** fn returns false to stop. */
SC_API sc_status sc_records_each_id(sc_records *rs, sc_rec_kind kind, const char *source,
                                    bool (*fn)(void *arg, const char *id), void *arg);
/* The texts rec would get (owned strings, sc_free; after templates and
** cutting): what is embedded as content, summary and metadata. */
SC_API sc_status sc_records_texts(sc_records *rs, const sc_rec *rec, char **content, char **summary, char **metadata);

/* Counters since sc_records_open. */
typedef struct sc_records_stats {
    uint64_t put;            /* records queued */
    uint64_t written;        /* records upserted (new or changed) */
    uint64_t unchanged;      /* records skipped: same payload and texts as stored */
    uint64_t vectors_reused; /* records written with their stored vectors (texts unchanged) */
    uint64_t embedded;       /* texts embedded */
    uint64_t embed_failed;   /* texts the provider refused (their record lacks that vector) */
    uint64_t deleted;        /* records removed */
    uint64_t batches;        /* flushes that wrote something */
    uint64_t failed;         /* records not stored: their batch's provider failed (opt->on_failed set) */
    double seconds_embed;    /* time in the embedding provider */
    double seconds_store;    /* time in store reads and writes */
    uint64_t store_requests;       /* requests to a remote store (Qdrant: sc_repo_records_open); 0 = embedded */
    uint64_t store_bytes_sent;     /* their bodies */
    uint64_t store_bytes_received; /* the answers' bodies */
} sc_records_stats;

/* The counters of rs (by value). */
SC_API sc_records_stats sc_records_get_stats(const sc_records *rs);

/* ==== Searching records ==== */

typedef struct sc_rec_query {
    const char *text;            /* the query (sc_records_search; ignored by sc_records_linked) */
    sc_search_mode mode;         /* hybrid (default: dense on "content" + BM25, reciprocal-rank fusion with
                                    SC_HYBRID_RRF_K and SC_HYBRID_KEYWORD_WEIGHT), dense or keyword */
    uint32_t limit;              /* results (search: default 10; linked: 0 = all) */
    const sc_rec_kind *kinds;    /* only these kinds (NULL = every kind) */
    size_t n_kinds;
    const char *source;          /* only this source (NULL = all) */
    const char *author;          /* author or author_email contains this (case-sensitive, as git log --author) */
    const char *since;           /* date on or after (a date as sc_rec_set_date_str takes) */
    const char *until;           /* date on or before */
    const char *filter_json;     /* a further Qdrant filter on the payload, ANDed (NULL = none) */
    const char *state;           /* only records in this state (open, closed, merged, a Jira status in lower
                                    case); records without a state (comments) never match */
    const char *label;           /* only records with this label */
} sc_rec_query;

/* The sections of `search --in` and of /code/search's "in": "commits"
** (commits), "issues" (issues and the comments on issues), "prs" (pull
** requests, their reviews and the comments on them) or "docs" (other
** records). Sets q's kinds (to storage of kinds, which must hold
** SC_REC_SECTION_MAX_KINDS and outlive q) and filter_json (a static string).
** SC_INVALID for any other name (q untouched). */
#define SC_REC_SECTION_MAX_KINDS 3
SC_API sc_status sc_rec_query_set_section(sc_rec_query *q, const char *section, sc_rec_kind *kinds);
/* The record sections in the order `search --in all` gives them; *n gets
** their number. The array is static. */
SC_API const char *const *sc_rec_sections(size_t *n);

/* One result; strings owned by the list ("" when the record lacks the field). */
typedef struct sc_rec_hit {
    uint32_t rank;      /* 1-based */
    float score;        /* fused (hybrid), cosine (dense), BM25 (keyword); 0 for linked records */
    char *kind;         /* kind name */
    char *source;       /* source */
    char *id;           /* id (a commit's sha) */
    char *title;        /* title, else subject */
    char *author;       /* author name */
    char *date;         /* the record's date, RFC 3339 UTC */
    char *state;        /* state (open, closed, merged) */
    char *url;          /* url */
    char *number;       /* an issue's or PR's reference as trackers write it ("#123", "PROJ-12"); for a
                           comment or review, its parent's; "" for others */
    char *payload_json; /* the whole payload */
} sc_rec_hit;

typedef struct sc_rec_hits {
    size_t n;           /* results */
    sc_rec_hit *items;  /* best (search) or newest (linked) first */
    double took_ms;     /* time of the call */
} sc_rec_hits;

/* Free a result list; NULL is a no-op. */
SC_API void sc_rec_hits_free(sc_rec_hits *h);

/* Search the records by meaning and words. Errors: SC_INVALID (empty query,
** bad mode, a date that does not parse: the message names it), SC_MISUSE
** (dense or hybrid on a read-only handle). */
SC_API sc_status sc_records_search(sc_records *rs, const sc_rec_query *q, sc_rec_hits **out);
/* The records linked to any of targets under relation rel (links.<rel>),
** passing q's kinds, source, author and date filters (q may be NULL), newest
** first by date, at most q->limit (0 = all). */
SC_API sc_status sc_records_linked(sc_records *rs, const char *rel, const char *const *targets, size_t n_targets,
                                   const sc_rec_query *q, sc_rec_hits **out);
/* The history of code entities: the commits linked to any of entity_ids
** (links.entity) and the pull requests linked to those commits
** (links.commit, whichever was ingested first), newest first by date, at
** most q->limit (0 = all). q's source, author and date filters choose the
** commits (q may be NULL; its kinds are ignored); every PR of a chosen
** commit follows. */
SC_API sc_status sc_records_history(sc_records *rs, const char *const *entity_ids, size_t n_ids, const sc_rec_query *q,
                                    sc_rec_hits **out);
/* {<label>: value, ["mode": mode,] "took_ms", "results": [{rank, score,
** kind, source, id, title, author, date, [state], [url], [number], [key],
** record: payload}]}; commits add "sha" and "subject"; issues, PRs and their
** comments and reviews add their tracker's "number" (GitHub) or "key"
** (Jira). Compact JSON, owned (sc_free); NULL when
** out of memory. mode NULL leaves "mode" out. */
SC_API char *sc_rec_hits_json(const sc_rec_hits *h, const char *label, const char *value, const char *mode);

/* The JSON of a search over every section (`search --in all`):
** {"query", ["code": code_json,] "commits": {...}, "issues": {...}, "prs":
** {...}, "docs": {...}}, each record section as sc_rec_hits_json gives it.
** hits holds one list per section of sc_rec_sections, in that order (none
** NULL); code_json is the code section's JSON text (sc_code_hits_json),
** NULL to leave "code" out. Compact JSON, owned (sc_free); NULL when out of
** memory or code_json is not JSON. */
SC_API char *sc_rec_search_all_json(const char *query, const char *code_json, sc_rec_hits *const *hits,
                                    const char *mode);

/* ==== The git source ==== */

/* Progress of a git ingestion, reported to sc_git_options.progress. */
typedef struct sc_git_progress {
    const char *stage;     /* "remove" (rewritten history), "commits" (per branch), "done" */
    const char *branch;    /* branch being ingested (NULL outside "commits") */
    uint64_t done;         /* commits of this stage done */
    uint64_t total;        /* commits of this stage in all */
    double seconds;        /* since the run started */
} sc_git_progress;

typedef struct sc_git_options {
    const char *const *branches; /* branch names, local or remote-tracking ("origin/main"); NULL = HEAD's */
    size_t n_branches;
    const char *source;          /* record source (NULL = "git:" + the name of the work tree's folder) */
    const char *code_root;       /* the indexed root of the code in the same store, when its collection "code"
                                    has entities: commits are linked to the entities their diffs touched
                                    (links.entity). NULL = no links */
    bool full;                   /* walk every commit again (unchanged records are not rewritten) and remove
                                    the stored commits no branch reaches */
    uint32_t max_files;          /* changed files kept per commit (default 1000; the counts cover all) */
    void (*progress)(void *arg, const sc_git_progress *p); /* called now and then; may be NULL */
    void *progress_arg;          /* its argument */
    volatile int *cancel;        /* non-zero: stop after the current batch (SC_INTERRUPTED) */
} sc_git_options;

/* Defaults: HEAD's branch, source from the work tree's name, no links, incremental, 1,000 files per commit. */
SC_API sc_git_options sc_git_options_default(void);

typedef struct sc_git_summary {
    uint64_t branches;        /* branches ingested */
    uint64_t commits_walked;  /* commits read from the repository */
    uint64_t commits_written; /* commit records new or changed */
    uint64_t commits_removed; /* commit records of history no ingested branch reaches any more */
    uint64_t rewrites;        /* branches whose last ingested commit is no longer their ancestor (force-push) */
    uint64_t links;           /* commit -> entity links made */
    bool linked;              /* commits were linked to code entities */
    double seconds;           /* whole run */
    char source[SC_REC_MAX_SOURCE + 1]; /* the record source used */
} sc_git_summary;

/* Ingest the commits of the git repository containing repo_path into rs:
** every commit of the chosen branches, oldest first, incrementally from the
** commit last ingested per branch (the cursor of the source). A branch whose
** last ingested commit is no longer its ancestor (rewritten history) has its
** unreachable commits removed and the new ones added. Memory stays bounded:
** the walk streams, records are flushed every batch_size commits with the
** cursor, so an interrupted run resumes where it stopped. Errors (message
** on rs): SC_NOTFOUND (not a git repository; an unknown branch, naming the
** branches there are), SC_INVALID (HEAD detached with no branch given, an
** empty repository, a source whose stored commits are another
** repository's), SC_INTERRUPTED, a flush's errors. */
SC_API sc_status sc_git_ingest(sc_records *rs, const char *repo_path, const sc_git_options *opt, sc_git_summary *out);

/* ==== Tracker and file sources: GitHub, Jira, JSON Lines ====
**
** Each reads items from its source and hands records to the writer. Items
** that do not have the documented shape are reported (opt->report, with
** their position: "URL item 3", "FILE item 3" or "FILE:12") and skipped;
** the run goes on and its summary counts them. A full sync (opt->full, the
** first run, or after an interrupted full sync) lists everything and then
** removes the stored records of the source it did not see (deleted or
** transferred items), unless something was skipped as malformed; other runs
** read what changed since the cursor. Records: docs/ARCHITECTURE.md
** ("Tracker sources") lists the fields of each kind.
*/

/* Progress of a source, reported to sc_source_options.progress. */
typedef struct sc_source_progress {
    const char *stage;   /* "issues", "search", "lines", "wait" (rate limit or backoff), "remove", "done" */
    uint64_t items;      /* items read so far */
    uint64_t total;      /* items the source announced (0 = not known) */
    double seconds;      /* since the run started */
    const char *note;    /* "wait": why; else NULL */
    double wait_seconds; /* "wait": how long */
} sc_source_progress;

typedef struct sc_source_options {
    const char *source;     /* record source (NULL = "github:OWNER/REPO", "jira:HOST", "jsonl:NAME") */
    bool full;              /* list everything and remove the records the source no longer has */
    bool no_sweep;          /* GitHub, Jira: after an incremental run, do not list the ids of every item to
                               remove the stored ones that are gone (deleted, transferred, out of the JQL);
                               the sweep costs one request per 100 items */
    const char *from_dir;   /* GitHub, Jira: read saved API answers of the same shapes from this folder
                               (docs/ARCHITECTURE.md names the files) instead of the API */
    const char *api_url;    /* GitHub: API root (default https://api.github.com); Jira: the site URL */
    const char *token_env;  /* environment variable holding the token (read once; never stored, logged or
                               put in a message); NULL = anonymous */
    const char *user;       /* Jira: user of basic authentication (with the token); NULL = bearer token */
    uint32_t api_version;   /* Jira REST API: 2 (default) or 3 (descriptions and comments in ADF) */
    uint32_t per_page;      /* items per page (default: GitHub 100, Jira 50) */
    uint32_t timeout_ms;    /* per request (default 30000) */
    uint32_t max_retries;   /* retries of a network error, 5xx or cut answer (default 5) */
    bool retries_set;       /* max_retries was given (0 = no retries) */
    uint32_t max_wait_s;    /* longest rate-limit wait accepted (default 900); a longer one stops the run */
    void (*progress)(void *arg, const sc_source_progress *p); /* called now and then; may be NULL */
    void *progress_arg;     /* its argument */
    void (*report)(void *arg, const char *where, const char *message); /* a malformed item skipped; may be NULL */
    void *report_arg;       /* its argument */
    volatile int *cancel;   /* non-zero: stop (SC_INTERRUPTED; what was read is kept) */
} sc_source_options;

/* Defaults: incremental, from the API, no token, the defaults above. */
SC_API sc_source_options sc_source_options_default(void);

typedef struct sc_source_summary {
    char source[SC_REC_MAX_SOURCE + 1]; /* the record source used */
    bool full;              /* the run was a full sync */
    uint64_t items;         /* items read (issues, PRs, comments, reviews, lines) */
    uint64_t written;       /* records new or changed */
    uint64_t unchanged;     /* records as stored already */
    uint64_t removed;       /* records the source no longer has (full sync or sweep) */
    uint64_t swept;         /* of them, removed by the id sweep of an incremental run */
    bool swept_run;         /* an id sweep ran (incremental, no --no-sweep, no skipped page) */
    uint64_t malformed;     /* items reported and skipped */
    bool removal_skipped;   /* a full sync or sweep that removed nothing because items were skipped */
    uint64_t pages;         /* pages (answers or files) read */
    uint64_t requests;      /* HTTP requests */
    uint64_t retries;       /* of them, retries */
    uint64_t rate_waits;    /* rate-limit waits */
    double seconds_waited;  /* in waits and backoffs */
    double seconds;         /* whole run */
    char since[40];         /* where the next run starts (RFC 3339), "" when it has no cursor */
} sc_source_summary;

/* Ingest the issues and pull requests of GitHub repository owner_repo
** ("OWNER/REPO") over its REST API (or opt->from_dir): issues with their
** comments, pull requests with their reviews, review comments, commits
** (links.commit: their shas, so `history` finds a PR through the commits of
** the git source) and conversation comments. Incremental by `since` (the
** cursor), asking with the last listing's ETag when its URL is the same (a
** 304 reads nothing). Errors (message on rs): SC_INVALID (a bad name, an unset token
** variable), SC_NOTFOUND (no such repository or saved answers),
** SC_BUSY (rate limited longer than max_wait_s: run again later),
** SC_IOERR (the API kept failing), SC_INTERRUPTED, a flush's errors. */
SC_API sc_status sc_github_ingest(sc_records *rs, const char *owner_repo, const sc_source_options *opt,
                                  sc_source_summary *out);
/* Ingest the Jira issues that jql matches (its ORDER BY is replaced by
** created order), over the REST search of opt->api_url (API 3: the
** enhanced /search/jql paged by nextPageToken, or /search by startAt /
** maxResults when the site answers it 404 or 410; API 2: /search by
** startAt) or opt->from_dir: summary, description (plain text or
** Atlassian Document Format made text), comments, labels, components,
** status, priority, type, people, dates and custom text fields. A source
** holds the result of one JQL: another JQL makes a full sync. Errors as
** sc_github_ingest. */
SC_API sc_status sc_jira_ingest(sc_records *rs, const char *jql, const sc_source_options *opt, sc_source_summary *out);
/* Ingest JSON Lines from in (one object per line, read in bounded memory:
** a line longer than 16 MiB is skipped), name naming it in positions
** ("-" = standard input). mapping_json maps record fields to input paths:
** {"id": "key", "title": "fields.summary", "comments": "comments[].body",
** "links.commit": "shas"}; NULL maps every top-level key to itself. "id" is
** required, "kind" optional (else kind). Values keep their JSON types
** (arrays of scalars become keyword arrays); fields named date, created,
** updated, closed or ending in _at / _date are dates. Errors: SC_INVALID
** (the mapping: naming the entry), SC_IOERR (reading in), a flush's. */
SC_API sc_status sc_jsonl_ingest(sc_records *rs, FILE *in, const char *name, const char *mapping_json, sc_rec_kind kind,
                                 const sc_source_options *opt, sc_source_summary *out);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_RECORDS_H */
