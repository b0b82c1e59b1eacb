/*
** store: private structures of the embedded vector store. Only the files
** of src/store include this header.
**
** DESIGN
** - Durable state lives in SQLite (store.db, WAL mode): tables meta,
**   collections (name + JSON config) and points (collection, 17-byte id key,
**   payload JSON text, vector blob). Every write call is one transaction:
**   validated completely first, then written, then applied to memory.
** - On open every collection is loaded into memory: points get dense 32-bit
**   "slots"; vectors of one name sit in one contiguous slot-indexed array so
**   exact search is a straight scan; payloads loaded from disk are kept as
**   their JSON text and parsed (jansson) on first use by a filter or a
**   payload selection (only the members that payload indexes cover are
**   parsed at open); an open-addressing table maps ids to slots; payload
**   indexes map values to roaring bitmaps of slots.
** - Memory is only changed after the SQLite commit succeeded, and the
**   capacity it needs is reserved before the commit, so an acknowledged
**   write is always visible and a failed one never is.
** - One process per store (flock on LOCK); inside it, a rwlock: many
**   readers or one writer.
*/
#ifndef SC_STORE_INT_H
#define SC_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <jansson.h>
#include <roaring/roaring.h>

#include "semcode/store.h"
#include "util/util.h"
#include "store/filter.h"
#include "index/hnsw.h"
#include "index/index.h"

/* Store format (meta.format_version): 2 writes vector blobs "SCV2" (XXH3-64
** checksum); 1 wrote "SCV1" (util_hash64_v1). Opening a format 1 store marks
** it 2 (its SCV1 blobs stay readable); 3 is a format 2 store that has had a
** collection with sparse vectors (config member "sparse", column
** points.sparse): the first such collection marks it 3, so that builds
** which cannot see sparse vectors refuse it. 4 is a format 3 store that has
** had a collection with a multivector (config member "multivec", blobs
** "SCM1" with row counts): marked by the first such collection. A larger
** version is refused. */
#define STORE_FORMAT_VERSION 4
#define STORE_FORMAT_SPARSE 3     /* what the first sparse collection marks a store */
#define STORE_FORMAT_DENSE 2      /* what a store without sparse vectors is marked */
#define STORE_ID_KEY_SIZE 17      /* 1 kind byte + 16 bytes, memcmp order == id order */
#define STORE_VEC_BLOB_MAGIC 0x53435632u    /* "SCV2": vector blob header (XXH3-64 checksum) */
#define STORE_VEC_BLOB_MAGIC_V1 0x53435631u /* "SCV1": store format 1's blobs (util_hash64_v1 checksum) */
#define STORE_VEC_BLOB_SEED 0x5343          /* seed of a blob's checksum */
#define STORE_MVEC_BLOB_MAGIC 0x53434d31u   /* "SCM1": vector blob of a collection with a multivector (row counts) */
#define STORE_SPARSE_BLOB_MAGIC 0x53435331u /* "SCS1": sparse vector blob header (points.sparse) */
#define STORE_SPARSE_BLOB_SEED 0x5353       /* seed of its XXH3-64 checksum */
#define STORE_NO_SLOT UINT32_MAX

/* The rows of one point's multivector, in one allocation. */
typedef struct store_mvec {
    uint32_t n;      /* rows, 1..SC_MAX_MULTIVEC_ROWS */
    float data[];    /* n × dim floats (normalised rows for Cosine, converted to the datatype) */
} store_mvec;

/* One named vector of a collection: its parameters and the slot-indexed data. */
/* Compact copies of flat-tail rows (tailq.c): sign bits and int8 codes,
** STORE_TAILQ_CHUNK slots per chunk. */
#define STORE_TAILQ_CHUNK 4096
typedef struct store_tailq_chunk store_tailq_chunk;
typedef struct store_tailq {
    uint32_t n_chunks;         /* entries of chunk */
    store_tailq_chunk **chunk; /* chunk i covers slots [i * STORE_TAILQ_CHUNK, ...); NULL = no coded row */
    uint64_t n_coded;          /* rows with a code (all of them are tail rows) */
    float *centre;             /* dim floats: sign bit d of a row is x[d] > centre[d]; NULL before the first code */
    double *sum;               /* dim: sum of the vectors coded so far (an update counts again) */
    uint64_t n_sum;            /* vectors in sum */
    uint64_t centred_at;       /* n_sum when centre was last computed (every code uses the current one) */
} store_tailq;

typedef struct store_vec {
    char *name;           /* vector name ("" = default) */
    uint32_t dim;         /* dimension */
    sc_distance distance; /* metric */
    sc_multivec_comparator multivec; /* MAX_SIM: a multivector (mv holds the rows, data stays NULL, no graph) */
    sc_vector_datatype datatype;     /* what values are converted to on upsert */
    store_mvec **mv;      /* multivector: cap entries, the rows of each slot (NULL = absent) */
    float *data;          /* cap * dim floats, row = slot (single vectors only) */
    uint64_t *present;    /* bitset over slots: live point has this vector */
    uint64_t n_present;   /* number of bits set */
    sc_hnsw_config hnsw;  /* ANN parameters, defaults filled in */
    sc_quant_config quant;/* quantization, defaults filled in */
    hnsw_index *ann;      /* the graph, NULL while searches are exact */
    bool ann_dirty;       /* changed since last saved to disk */
    uint64_t *indexed;    /* bitset over slots: the slot's current vector is linked in ann and reachable;
                             present slots without it form the flat tail that searches score exactly.
                             Written by writers (db->lock held exclusively) and by the background
                             indexer (db->lock shared + db->ann_lock exclusively) */
    uint64_t n_indexed;   /* bits set in indexed (all of them are present) */
    store_tailq tailq;    /* sign and int8 codes of tail rows (background indexing), same locks as indexed */
} store_vec;

typedef struct store_kw store_kw; /* keyword (BM25) index, keyword.c */

/* One sparse vector of a point in memory, in one allocation: n entries,
** indices strictly ascending, each with its weight and its position in the
** posting list of its index (a removal then costs O(log n) per entry). */
typedef struct store_svec {
    uint32_t n;    /* entries (0: an empty vector, kept but never a result) */
    uint32_t *idx; /* n indices, ascending */
    float *val;    /* n weights */
    uint32_t *pos; /* n positions: entry i sits at lists[list of idx[i]].slot[pos[i]] */
} store_svec;

/* The posting list of one index: the slots whose vector has it, unordered. */
typedef struct store_posting {
    uint32_t dim;   /* the index */
    uint32_t n;     /* entries */
    uint32_t cap;   /* room in slot / val */
    uint32_t extra; /* scratch of store_sparse_reserve: entries a batch will add */
    uint32_t *slot; /* n slots */
    float *val;     /* their weights */
} store_posting;

/* A sparse named vector of a collection: the vectors per slot and their
** inverted index, kept up to date by every write (sparse.c). */
typedef struct store_sparse {
    char *name;                   /* vector name */
    sc_sparse_modifier modifier;  /* query weighting */
    bool on_disk;                 /* as configured (reported only) */
    uint32_t full_scan_threshold; /* as configured (0 = default) */
    store_svec **vecs;            /* per slot: the vector, NULL = absent */
    uint32_t vecs_cap;            /* entries in vecs (the collection's cap) */
    uint64_t n_present;           /* slots with a vector */
    uint64_t n_nonempty;          /* of them, with at least one entry (N of the idf formula) */
    uint64_t n_entries;           /* entries over all vectors */
    store_posting *lists;         /* posting lists, one per distinct index seen */
    uint32_t n_lists;             /* entries in lists */
    uint32_t lists_cap;           /* room in lists */
    uint32_t *map;                /* open addressing index -> list number (UINT32_MAX = empty), keys in lists[].dim */
    uint32_t map_cap;             /* power of two (0 before the first list) */
} store_sparse;

/* A collection held in memory. */
typedef struct store_coll {
    char *name;                /* collection name */
    int64_t db_id;             /* collections.id in SQLite */
    size_t n_vecs;             /* named vectors */
    store_vec *vecs;           /* their columns, in config order */
    uint32_t n_slots;          /* high-water mark of slots in use */
    uint32_t cap;              /* slots allocated in every per-slot array */
    sc_point_id *ids;          /* id of each slot */
    json_t **payloads;         /* parsed payload per slot (NULL = {}, free, or not parsed yet); read through
                                  store_slot_payload, which parses payload_raw on first use */
    char **payload_raw;        /* payload JSON text as loaded, per slot (NULL = none); dropped when the
                                  payload is written */
    uint64_t *live;            /* bitset: slot holds a point */
    uint64_t n_live;           /* number of live points */
    uint64_t *vers;            /* per slot: store sequence number of the write that set its vectors */
    uint32_t *free_slots;      /* stack of reusable slots */
    uint32_t n_free;           /* entries in free_slots */
    uint32_t *map;             /* open-addressing id -> slot table (STORE_NO_SLOT = empty) */
    uint32_t map_cap;          /* power of two */
    size_t n_sparse;           /* sparse named vectors */
    store_sparse *sparse;      /* them, in config order */
    store_kw *kw;              /* keyword index over the points' texts */
    json_t *metadata;          /* the collection's metadata object (sc_collection_metadata_update), NULL = {} */
    json_t *settings;          /* the API layer's settings object (sc_collection_reconfigure), NULL = {} */
    store_pindex **indexes;    /* payload indexes */
    size_t n_indexes;          /* entries in indexes */
    bool indexes_stale;        /* an index update ran out of memory after a commit: the indexes may miss
                                  points, so filters scan (store_coll_plan_indexes) until the next open */
} store_coll;

/* filter_bind of f (NULL: nothing) to c's text indexes, under the store's
** lock; SC_NOMEM with the message set. (Binding uses every index, stale or
** not: which conditions compare tokens must not depend on index state.) */
sc_status store_filter_bind(const store_coll *c, store_filter *f);

/* Number of payload indexes a filter planner may use: 0 when they are stale. */
static inline size_t store_coll_plan_indexes(const store_coll *c) { return c->indexes_stale ? 0 : c->n_indexes; }

/* An open store. */
struct sc_db {
    char *path;                /* directory */
    sc_db_options opt;         /* options it was opened with */
    int lock_fd;               /* fd holding the flock on LOCK */
    sqlite3 *sql;              /* connection to store.db */
    pthread_rwlock_t lock;     /* readers share, writers exclude */
    pthread_mutex_t sql_mu;    /* serialises use of the SQLite connection */
    uint64_t seq;              /* last write sequence number (meta 'seq'); stamps points.ver */
    int format;                /* meta.format_version: 2, or 3 once a collection had sparse vectors */
    store_coll **colls;        /* open collections */
    size_t n_colls;            /* entries in colls */
    uint64_t plans[6];         /* sc_search_plans counters, in field order (atomic adds) */
    /* Background indexing (ann_bg.c; only with opt.background_index). */
    pthread_rwlock_t ann_lock; /* searches hold it shared while they read a graph or an indexed bitset;
                                  the indexer holds it exclusively to publish rows (writer-preferring) */
    int writers_waiting;       /* writers waiting for db->lock (atomic): the indexer lets them go first */
    pthread_mutex_t bg_mu;     /* guards the fields below */
    pthread_cond_t bg_cv;      /* signalled by store_ann_bg_kick and at close */
    uint64_t bg_gen;           /* bumped by every kick: there may be a tail to link */
    uint64_t bg_last_write_ms; /* monotonic ms of the last kick (atomic): the indexer waits while writes flow */
    bool bg_stop;              /* set at close: the thread ends after its current chunk */
    bool bg_started;           /* bg_thread runs */
    pthread_t bg_thread;       /* the indexer */
    /* Group sync of upserts (points.c; only with SC_SYNC_MODE_FULL): their
    ** commits skip SQLite's own fsync; one fsync of the WAL, outside the
    ** writer lock, makes every commit made before it durable. */
    pthread_mutex_t sync_mu;   /* guards the fields below but n_commits */
    pthread_cond_t sync_cv;    /* broadcast when a WAL fsync ends */
    uint64_t n_commits;        /* upsert commits so far (atomic; bumped under db->lock after each COMMIT) */
    uint64_t n_synced;         /* commits 1..n_synced are durable */
    uint64_t n_sync_failed;    /* commits n_synced+1..n_sync_failed were in a failed fsync: never acknowledged */
    bool syncing;              /* a thread is in fsync: the others wait for it */
    int wal_fd;                /* store.db-wal, opened for fsync at the first need; -1 before */
    /* Compaction (db.c): one at a time; its last copy holds writers back at this gate. */
    pthread_mutex_t compact_mu; /* held for a whole sc_db_compact */
    pthread_mutex_t gate_mu;   /* guards gate_closed's changes and waits */
    pthread_cond_t gate_cv;    /* broadcast when the gate opens */
    int gate_closed;           /* 1 while a compaction's last copy runs (atomic reads) */
};

/* Wait until upsert commit number ticket (from db->n_commits) is durable:
** the first waiter fsyncs the WAL for every commit made before it starts,
** the others wait for that fsync or the next. SC_IOERR with the message set
** when the fsync covering ticket failed. Called without db->lock. */
sc_status store_sync_wait(sc_db *db, uint64_t ticket);

/* Take db->lock for writing, counted in writers_waiting so that the
** background indexer yields between its chunks; while a compaction's gate
** is closed, wait for it to open first. */
void store_lock_write(sc_db *db);

/* ==== Error reporting (error.c) ==== */

/* Record a failure as the thread's last message and return code. */
sc_status store_fail(sc_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copy an sc_err into the thread's last message and return its code. */
sc_status store_fail_err(const sc_err *err);
/* Map the last SQLite error of db to a status with a message naming `what`. */
sc_status store_fail_sql(sc_db *db, const char *what);

/* ==== Helpers shared by the store files ==== */

/* Check a collection or alias name (`what` names it in the message): 1..255
** bytes, no control character and none of < > : " / \\ | ? * (Qdrant's
** rule; names never become file names). SC_INVALID with the reason. */
sc_status store_check_name(const char *what, const char *name);

/* true when `name` is an alias of an existing collection (alias.c; a lock held). */
bool store_alias_taken(sc_db *db, const char *name);
/* Find a collection by name (NULL if missing) / with an error set. */
store_coll *store_coll_find(sc_db *db, const char *name);
sc_status store_coll_get(sc_db *db, const char *name, store_coll **out);
/* Load collection db_id (its name and config text as stored) from SQLite
** into memory, with its keyword terms, points and graphs, into *out (owned,
** store_coll_free). Reads through db->sql, so inside an open transaction it
** sees that transaction's rows. SC_CORRUPT names the collection and point,
** SC_NOMEM; nothing is left allocated on failure. */
sc_status store_coll_load(sc_db *db, int64_t db_id, const char *name, const char *config, store_coll **out);
/* Free everything of a collection held in memory. */
void store_coll_free(store_coll *c);
/* Index of the vector named `name` (NULL/"" = the only or the default one), or -1. */
int store_coll_vec_index(const store_coll *c, const char *name);

/* Id key for SQLite (17 bytes, order-preserving). */
void store_id_key(const sc_point_id *id, uint8_t key[STORE_ID_KEY_SIZE]);
sc_status store_id_from_key(const void *key, int n, sc_point_id *out);

/* Slot of id, or STORE_NO_SLOT. */
uint32_t store_map_find(const store_coll *c, const sc_point_id *id);
/* Make room for `extra` more slots in every per-slot array and the map, so
** that applying a committed write cannot fail for memory. */
sc_status store_coll_reserve(store_coll *c, uint32_t extra);
/* Reserve a slot for a new id: taken from the free list or the end, entered
** in the id table, not yet live. Undo with store_slot_unclaim (in reverse
** order of claims) or make live with store_slot_activate. */
uint32_t store_slot_claim(store_coll *c, const sc_point_id *id);
void store_slot_unclaim(store_coll *c, uint32_t slot);
void store_slot_activate(store_coll *c, uint32_t slot);
/* Put a loaded point at its durable slot (capacity reserved). SC_CORRUPT if
** the slot is taken. */
sc_status store_slot_place(store_coll *c, uint32_t slot, const sc_point_id *id);
/* After loading: every unused slot below n_slots goes on the free list. */
void store_coll_rebuild_free(store_coll *c);
/* Remove a live point from memory (indexes, map, bitsets). */
void store_slot_release(store_coll *c, uint32_t slot);
/* Replace the payload of a live slot (takes ownership of p), updating indexes. */
void store_slot_set_payload(store_coll *c, uint32_t slot, json_t *p);
/* Give a loaded slot its payload as compact JSON object text (takes
** ownership of text): the members payload indexes cover are parsed and
** indexed now, the rest on first use. SC_CORRUPT when text is not a JSON
** object, SC_NOMEM. */
sc_status store_slot_set_payload_text(store_coll *c, uint32_t slot, char *text);
/* The payload of a slot, parsed on first use (safe under the read lock:
** the parse is published with a compare-and-swap); NULL = {}. */
const json_t *store_slot_payload(const store_coll *c, uint32_t slot);
/* json_dumps that returns NULL, never a damaged text, when memory runs out:
** jansson 2.14 ignores a failed append of an object key while dumping and
** goes on, so json_dumps can return JSON with a key missing (found by
** tests/unit/test_faults.c; the store would persist it and read it back as
** corrupt). Owned; free(). */
char *store_json_dumps(const json_t *j, size_t flags);
/* The same, telling a payload that could not be parsed (memory ran out:
** SC_NOMEM, *out NULL) from an empty one (SC_OK, *out NULL). Writes and
** selections use it, so that a failed parse never reads as "no payload". */
sc_status store_slot_payload_get(const store_coll *c, uint32_t slot, const json_t **out);

/* Encode / decode the vector blob of one point. vecs[i] NULL = absent;
** rows[i] is the row count of multivector i (rows NULL when c has none).
** The blob has a header (magic, mask of present names) and a checksum.
** Decoding: SC_CORRUPT, or SC_NOMEM for a multivector's rows, with the
** reason in errbuf. */
sc_status store_vec_blob_encode(const store_coll *c, const float *const *vecs, const uint32_t *rows, util_buf *out);
sc_status store_vec_blob_decode(const store_coll *c, const void *blob, int n, uint32_t slot,
                                char *errbuf, size_t errbuf_size);

/* Bitset helpers. */
static inline bool store_bit_get(const uint64_t *b, uint32_t i) { return (b[i >> 6] >> (i & 63)) & 1u; }
static inline void store_bit_set(uint64_t *b, uint32_t i) { b[i >> 6] |= 1ull << (i & 63); }
static inline void store_bit_clear(uint64_t *b, uint32_t i) { b[i >> 6] &= ~(1ull << (i & 63)); }

/* Live slots as a roaring bitmap (owned), for the filter planner. */
roaring_bitmap_t *store_coll_live_bitmap(const store_coll *c);

/* Slots selected by a filter (owned array, ascending), with the read lock held. */
sc_status store_select_filter(store_coll *c, const store_filter *f, uint32_t **slots, size_t *n);

/* Serialise collection config (vectors + payload index definitions) to JSON text (owned). */
char *store_coll_config_json(const store_coll *c);

/* ==== ANN indexes (ann.c) ==== */

/* Fill zero fields of a vector's hnsw / quant config with defaults and
** check ranges; SC_INVALID names the field. */
sc_status store_ann_config_check(sc_vector_params *vp, size_t i);
/* Whether the configuration of sv wants a graph now (kind, vectors present
** against the indexing threshold). */
bool store_ann_wanted(const store_vec *sv);
/* After loading a collection: load each persisted graph and catch it up
** with the writes made since it was saved, or build it. Never fails for a
** bad index file: the graph is rebuilt instead (reported on stderr once). */
void store_ann_open(sc_db *db, store_coll *c);
/* Bring every graph of c in line with the vectors of the given slots
** (after an upsert or delete was applied). Failures drop the graph: search
** falls back to exact and the graph is rebuilt at the next write. */
void store_ann_sync(sc_db *db, store_coll *c, const uint32_t *slots, size_t n);
/* Point the graphs at the vector columns after they moved (growth). */
void store_ann_rebind(store_coll *c);
/* Save changed graphs of c and record their watermark. */
sc_status store_ann_save(sc_db *db, store_coll *c);
/* Remove the graph file of position v of c (its watermark is forgotten by the caller). */
void store_ann_unlink(sc_db *db, store_coll *c, size_t v);
/* Background indexing (ann_bg.c). Start the indexer of db (after open);
** SC_NOMEM / SC_ERROR when the thread cannot start. */
sc_status store_ann_bg_start(sc_db *db);
/* Stop it and wait for its current chunk (close); no-op when not started. */
void store_ann_bg_stop(sc_db *db);
/* Tell the indexer there may be rows to link (after a write). */
void store_ann_bg_kick(sc_db *db);
/* Link one chunk of the tail of one vector of db with searches running
** (db->lock held shared by the caller), adding the rows linked to
** *n_linked; false when no vector has a tail (graphs with many tombstones
** are vacuumed then). */
bool store_ann_bg_step(sc_db *db, uint32_t *n_linked);
/* The tail of sv: present slots not indexed, ascending, at most max into
** out; returns the count. Needs db->lock, and db->ann_lock shared when the
** indexer may run. */
size_t store_ann_tail(const store_coll *c, const store_vec *sv, uint32_t *out, size_t max);

/* ==== Compact copies of the flat tail (tailq.c) ==== */

/* Tail sizes from which a search ranks coded tail rows before scoring exactly. */
#define STORE_TAILQ_MIN 4096
/* Code the current vectors of the written rows slots[0..n) (a writer,
** db->lock exclusive); rows not present, or left without memory, lose
** their code and are scored exactly. */
void store_tailq_put(store_vec *sv, const uint32_t *slots, size_t n);
/* Drop the code of row s (linked or deleted); frees its chunk when empty. */
void store_tailq_forget(store_vec *sv, uint32_t s);
/* Free every code (the centre stays for the next tail). */
void store_tailq_free(store_vec *sv);
/* Free every code and the centre (the vector goes). */
void store_tailq_release(store_vec *sv);
/* Does row s have a code? */
bool store_tailq_has(const store_vec *sv, uint32_t s);
/* Candidates for the exact top-k of a large tail: *rows (allocated, the
** caller frees it) gets the rows of tail[0..n_tail) without a code,
** unfiltered, and the m accepted coded rows that the sign pass (when many
** are accepted) and the int8 pass rank best; *n_rows their count. False
** when the passes do not apply (small tail, m too large, metric not DOT or
** L2, no memory): the caller scores the whole tail exactly. */
bool store_tailq_select(const store_vec *sv, index_metric metric, const float *q, uint32_t m, const uint32_t *tail,
                        size_t n_tail, const index_scan_filter *accept, uint32_t **rows, size_t *n_rows);
/* Train and attach sv's quantizer when configured (exclusive graph access). */
sc_status store_ann_quantize(store_vec *sv, sc_err *err);
/* Empty graph for sv (background mode: every present row is tail). */
sc_status store_ann_new_graph(sc_db *db, store_vec *sv, sc_err *err);
/* Set / clear the indexed bit of slot s of sv, keeping n_indexed. */
void store_ann_mark(store_vec *sv, uint32_t s, bool on);
/* Forget sv's graph and its indexed bits (cap = slots of the bitset). */
void store_ann_drop(store_vec *sv, uint32_t cap);
/* Remove the graph files of c (collection deleted). */
void store_ann_drop_files(sc_db *db, store_coll *c);
/* Forget the saved graph of vector v: delete its watermark (inside the
** caller's transaction, so a reopen rebuilds rather than loads it). */
sc_status store_ann_forget(sc_db *db, store_coll *c, size_t v);
/* After vector v's configuration changed (committed): apply ef, and when
** rebuild is set drop the graph and its file, build a new one if the vector
** wants one, and save it. A build failure leaves exact search (reported on
** stderr); a save failure is returned (the graph stays in memory, and the
** next open rebuilds it since its watermark is gone). */
sc_status store_ann_reconfigure(sc_db *db, store_coll *c, size_t v, bool rebuild);

/* ==== Sparse vectors (sparse.c, sparse_search.c) ==== */

/* Index of the sparse vector named `name` in c, or -1. */
int store_coll_sparse_index(const store_coll *c, const char *name);
/* Check a sparse vector's parameters (i = its position, for messages). */
sc_status store_sparse_params_check(const sc_sparse_params *p, size_t i);
/* Free what a sparse vector holds (not s itself). */
void store_sparse_free(store_sparse *s);
/* Room for cap slots in s->vecs (new entries NULL). */
sc_status store_sparse_reserve_slots(store_sparse *s, uint32_t cap);
/* Build an owned vector from caller input: sorted by index; SC_INVALID
** (message prefixed by `what`) for an index given twice or a weight that is
** not finite, SC_NOMEM. */
sc_status store_svec_from_input(const sc_sparse_in *in, const char *what, store_svec **out);
/* Make sure that setting the n vectors vs (NULL entries skipped) cannot
** fail for memory: posting lists for their indices exist and have room for
** them all. Lists made here stay, empty, if the write is abandoned. */
sc_status store_sparse_reserve(store_sparse *s, store_svec *const *vs, size_t n);
/* Give slot the vector v (owned; NULL removes), after store_sparse_reserve
** for v: the old vector leaves the posting lists, v enters them. Cannot fail. */
void store_sparse_set(store_sparse *s, uint32_t slot, store_svec *v);
/* Posting list of index dim, or NULL. */
const store_posting *store_sparse_list(const store_sparse *s, uint32_t dim);
/* Memory held by s (vectors and posting lists), in bytes. */
uint64_t store_sparse_bytes(const store_sparse *s);
/* Encode the sparse vectors of one point (vs[k] NULL = absent) as a
** points.sparse blob; out->len stays 0 when none is present. */
sc_status store_sparse_blob_encode(const store_coll *c, store_svec *const *vs, util_buf *out);
/* Decode a points.sparse blob into owned vectors vs[0..c->n_sparse)
** (NULL = absent); SC_CORRUPT with the reason and offset in errbuf. */
sc_status store_sparse_blob_decode(const store_coll *c, const void *blob, int n, store_svec **vs, char *errbuf,
                                   size_t errbuf_size);
/* Copy the vector of slot into an owned sc_sparse_vector named name. */
sc_status store_sparse_record(const store_sparse *s, uint32_t slot, sc_sparse_vector *out);
/* A sparse query ready to score: entries ascending by index, weights after the modifier. */
typedef struct store_sparse_query {
    uint32_t n;          /* entries */
    const uint32_t *idx; /* indices, ascending (in own) */
    float *w;            /* weights to multiply the points' weights by (in own) */
    store_svec *own;     /* the allocation holding them */
} store_sparse_query;

/* Check, sort and weight query q for sparse vector s of c (the read lock
** held): SC_INVALID for an index given twice, a weight that is not finite,
** or an IDF corpus on a vector without the IDF modifier; the corpus filter
** is compiled and selected here. Free with store_sparse_query_free. */
sc_status store_sparse_query_prepare(store_coll *c, const store_sparse *s, const sc_sparse_query *q,
                                     store_sparse_query *out);
void store_sparse_query_free(store_sparse_query *q);
/* Exact top-k of q over s: hits best-first (ties by filter->tie_cmp) among
** the slots filter->accept admits, with threshold as a lower bound. With
** cand, only those slots are scored, one by one (a selective filter);
** otherwise the posting lists of q's indices are walked. Both give the same
** hits. false when scratch memory could not be had. */
bool store_sparse_topk(const store_coll *c, const store_sparse *s, const store_sparse_query *q,
                       const index_scan_filter *filter, const roaring_bitmap_t *cand, uint32_t k, bool has_threshold,
                       float threshold, index_hit *out, uint32_t *n_out);

/* ==== Multivectors (multivec.c) ==== */

/* true when c has a multivector. */
bool store_coll_has_multivec(const store_coll *c);
/* Check and copy caller input for multivector sv into an owned store_mvec:
** n_rows rows of dim (== sv->dim) finite floats, converted to the
** datatype, normalised for Cosine. SC_INVALID prefixed by `what`, SC_NOMEM. */
sc_status store_mvec_from_input(const store_vec *sv, const float *data, uint32_t dim, uint32_t n_rows,
                                const char *what, store_mvec **out);
/* Give slot of multivector sv the rows m (owned; NULL removes; the old rows are freed). Cannot fail. */
void store_mvec_set(store_vec *sv, uint32_t slot, store_mvec *m);
/* Convert n values in place to datatype t (uint8: truncate and saturate; float16: round). */
void store_vec_convert(sc_vector_datatype t, float *v, size_t n);
/* Exact MAX_SIM top-k of the query rows q (n_q × sv->dim, prepared like
** stored rows) over the slots filter->accept admits: hits best first (ties
** by filter->tie_cmp), scores as reported (store.h), threshold applied.
** false when scratch memory could not be had. */
bool store_mvec_topk(const store_coll *c, const store_vec *sv, const float *q, uint32_t n_q,
                     const index_scan_filter *filter, const roaring_bitmap_t *cand, uint32_t k, bool has_threshold,
                     float threshold, index_hit *out, uint32_t *n_out);
/* Memory held by the rows of sv, in bytes. */
uint64_t store_mvec_bytes(const store_vec *sv, uint32_t n_slots);

/* ==== Keyword index (keyword.c) ==== */

store_kw *store_kw_new(void);
void store_kw_free(store_kw *kw);
/* Room for cap slots. */
sc_status store_kw_reserve(store_kw *kw, uint32_t cap);
/* Tokenize text into an owned term list (*doc, NULL for no text), its token
** count and the blob stored in points.kw. New terms enter the dictionary. */
sc_status store_kw_encode(store_kw *kw, const char *text, uint32_t **doc, uint32_t *len, util_buf *blob);
/* Decode a points.kw blob (SC_CORRUPT when malformed). */
sc_status store_kw_decode(store_kw *kw, const void *data, int size, uint32_t **doc, uint32_t *len);
/* Give slot its term list (owned; NULL removes). */
void store_kw_set(store_kw *kw, uint32_t slot, uint32_t *doc, uint32_t len);
/* Write dictionary terms not yet on disk (inside the caller's transaction). */
sc_status store_kw_persist_terms(sc_db *db, store_coll *c);
/* The transaction that persisted the terms committed. */
void store_kw_committed(store_coll *c);
/* Load the dictionary of c. */
sc_status store_kw_load_terms(sc_db *db, store_coll *c);
/* BM25 top-k of query among slots accept() admits, ties by tie(). */
sc_status store_kw_search(store_coll *c, const char *query, bool (*accept)(void *, uint32_t), void *state,
                          int (*tie)(void *, uint32_t, uint32_t), uint32_t k, index_hit *out, uint32_t *n_out);
uint64_t store_kw_n_docs(const store_kw *kw);
/* Document frequency of each of n terms (bytes terms[i], lens[i]; already
** tokenized) in c's keyword index into df[i], and the number of documents
** with a text into *n_docs. Caller holds db->lock (shared is enough).
** SC_NOMEM when the postings cannot be rebuilt. */
sc_status store_kw_df(store_coll *c, const char *const *terms, const uint16_t *lens, uint32_t n, uint32_t *df,
                      uint64_t *n_docs);
uint32_t store_kw_n_terms(const store_kw *kw);

/* The payload as with_payload's include or exclude paths select it
** (payload_select.c): owned, NULL when memory runs out. */
json_t *store_payload_select(const json_t *payload, const sc_with *with);
/* Merge patch into payload at the key path `key` (payload_select.c). */
sc_status store_payload_set_at(json_t *payload, const char *key, const json_t *patch);

/* A filter_point for slot of c: its id, and its dense and sparse vectors
** for has_vector (slots.c). The caller provides the storage of at. */
typedef struct store_slot_ref {
    const store_coll *c; /* collection */
    uint32_t slot;       /* slot */
} store_slot_ref;
filter_point store_slot_point(const store_coll *c, uint32_t slot, store_slot_ref *at);
/* Inside the caller's transaction, make the store ready for a collection
** that needs format `format` (STORE_FORMAT_SPARSE for sparse vectors,
** STORE_FORMAT_VERSION for a multivector): add column points.sparse when
** missing and mark the store with that format unless it already has it or
** a later one. */
sc_status store_format_mark(sc_db *db, int format);

/* Run `sql` (no results) on the connection; sets the error on failure. */
sc_status store_exec(sc_db *db, const char *sql);

/* Build an owned record list for the given slots (scores may be NULL). */
sc_status store_records_build(const store_coll *c, const uint32_t *slots, const float *scores, size_t n,
                              const sc_with *with, sc_record_list **out);

#endif /* SC_STORE_INT_H */
