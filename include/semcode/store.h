/*
** semcode public API: the embedded vector store.
**
** A store is a directory holding durable collections of points. A point has
** an id (sc_point_id), one vector per named vector of its collection (some
** may be absent) and a payload (a JSON object). Filters use Qdrant's JSON
** filter language and are passed as JSON text.
**
** Thread safety: an sc_db handle may be shared by threads. Reads (get,
** scroll, count, search, info, list) run concurrently; writes are serialised
** and exclude reads while they apply. The message of a failed call is the
** calling thread's (sc_db_errmsg). Only one process may open a store at a
** time: a second sc_db_open of the same directory fails with SC_BUSY.
**
** Durability: a write call that returned SC_OK is on disk (SQLite in WAL
** mode, synchronous=FULL by default) and survives a crash of the process.
** A write call that failed changed nothing, with one exception that SQLite
** shares: when only the final sync of the commit failed (SQLITE_IOERR_FSYNC,
** "disk I/O error"; for an upsert SC_IOERR "fsync of DIR/store.db-wal
** failed"), the log may already hold the whole transaction, and a
** later open may find it applied; whole, never in part. Concurrent upserts
** share that sync (group sync, store/points.c): each commits, then waits
** outside the writer lock for one fsync of the log that covers it, so a
** concurrent reader may see a batch a moment before its call returns (a
** crash of the process still loses nothing; an OS crash or power cut in
** that moment may lose that batch, whose call had not yet returned).
*/
#ifndef SEMCODE_STORE_H
#define SEMCODE_STORE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_db sc_db; /* an open store */

/* ==== Opening ==== */

typedef enum sc_sync_mode {
    SC_SYNC_MODE_FULL = 0,   /* fsync the log at every commit: survives power loss */
    SC_SYNC_MODE_NORMAL = 1, /* survives a process crash, may lose the last commits on power loss */
} sc_sync_mode;

typedef struct sc_db_options {
    bool create;          /* create the directory and store if missing (default true) */
    bool read_only;       /* reserved: open without writing (default false) */
    sc_sync_mode sync;    /* durability of commits (default SC_SYNC_MODE_FULL) */
    uint32_t n_threads;   /* threads for large scans; 0 = number of cores */
    sc_logger logger;     /* where the store's messages go (graph rebuilds, failed saves); zero = the global logger */
    bool background_index;/* writes do not wait for the HNSW graph (default false): a committed write is searchable
                             at once, its rows scored exactly (the flat tail) until a background thread has linked
                             them; open resumes the linking instead of doing it before returning */
} sc_db_options;

SC_API sc_db_options sc_db_options_default(void);

/* Open (or create) the store in directory `path`. On SC_OK *out owns the
** handle; close it with sc_db_close. On failure *out is NULL and, when
** errmsg is not NULL, *errmsg is the reason (owned, free with sc_free; NULL
** on success). Errors: SC_BUSY (another process has it open), SC_IOERR,
** SC_CORRUPT, SC_NOMEM, SC_NOTFOUND (missing and !create), SC_INVALID. */
SC_API sc_status sc_db_open(const char *path, const sc_db_options *opt, sc_db **out, char **errmsg);
/* Close the store; NULL is a no-op. */
SC_API void sc_db_close(sc_db *db);
/* Send the store's messages to logger from now on (NULL: the global
** logger). Call it while no other thread uses db. Messages of the open
** itself go to sc_db_options.logger. */
SC_API void sc_db_set_logger(sc_db *db, const sc_logger *logger);
/* Message of the calling thread's last failed store call, on any store:
** db is not consulted and may be NULL. Borrowed, valid until that thread's
** next store call; never NULL ("not an error" before any failure). Kept
** per thread rather than on the handle because reader threads share db: a
** buffer on the handle would be overwritten by one thread's failure while
** another reads it (common.h, "Errors"). */
SC_API const char *sc_db_errmsg(const sc_db *db);
/* What sc_db_compact did. */
typedef struct sc_db_compact_info {
    uint64_t bytes_before; /* store.db and its WAL before */
    uint64_t bytes_after;  /* the same after (bytes_before when nothing was swapped) */
    double seconds;        /* wall time of the whole call */
    unsigned copies;       /* copies made: more than 1 when writes came in during a copy */
} sc_db_compact_info;
/* Give the store's unused space back to the file system. A dropped vector
** (a model switch, sc_collection_vector_delete) leaves most of its room
** inside pages whose rows shrank, which no incremental vacuum returns: the
** store is copied without it (SQLite's VACUUM INTO, on a second read-only
** connection, so searches and writes go on during the copy), then, under
** the writer lock for only a close, a rename and an open, the copy
** replaces store.db when nothing was written meanwhile. When writes came
** in, the copy is made again; the third copy holds writers back while it
** runs (searches still go on), so it is not overtaken. A crash at any
** point leaves either the old or the new file whole (a left-over copy is
** deleted at the next open). One compaction runs at a time. info may be
** NULL. Errors: SC_IOERR (the copy needs as much free disk as the live
** data), SC_BUSY (the third copy was overtaken too, by a graph save of the
** background indexer or a snapshot restore: the store is unchanged),
** SC_MISUSE. */
SC_API sc_status sc_db_compact(sc_db *db, sc_db_compact_info *info);
/* Directory of the store; borrowed, valid until sc_db_close. */
SC_API const char *sc_db_path(const sc_db *db);

/* How the vector searches since sc_db_open were answered (one count per
** query vector): the planner's choices, for users asking why a query was
** slow and for tests. */
typedef struct sc_search_plans {
    uint64_t graph;        /* HNSW walk, no filter */
    uint64_t graph_filter; /* HNSW walk with the filter applied during traversal */
    uint64_t exact_list;   /* exact scoring of the rows a payload index admits */
    uint64_t exact_scan;   /* exact scan of every row (small collection, exact=true, no graph) */
    uint64_t sparse_index; /* sparse query: the posting lists of its indices walked */
    uint64_t sparse_list;  /* sparse query: the few points a payload index admits scored one by one */
} sc_search_plans;
SC_API sc_search_plans sc_db_search_plans(const sc_db *db);

/* ==== Collections ==== */

typedef enum sc_distance {
    SC_DISTANCE_COSINE = 0,    /* score = cosine similarity (vectors normalised on upsert), higher is closer */
    SC_DISTANCE_DOT = 1,       /* score = dot product, higher is closer */
    SC_DISTANCE_EUCLID = 2,    /* score = euclidean distance, lower is closer */
    SC_DISTANCE_MANHATTAN = 3, /* score = L1 distance, lower is closer */
} sc_distance;

/* Name of a distance as Qdrant spells it ("Cosine", "Dot", "Euclid", "Manhattan"). */
SC_API const char *sc_distance_name(sc_distance d);
/* Parse a distance name (case-insensitive; also "euclidean", "l2", "l1"). */
SC_API sc_status sc_distance_parse(const char *s, sc_distance *out);

#define SC_MAX_DIM 65536u
#define SC_MAX_VECTOR_NAMES 64u
#define SC_MAX_NAME_LEN 255u

/* Which index answers searches on a named vector. */
typedef enum sc_index_kind {
    SC_INDEX_KIND_AUTO = 0, /* exact below full_scan_threshold vectors, HNSW from there on (default) */
    SC_INDEX_KIND_FLAT = 1, /* always exact search, no graph */
    SC_INDEX_KIND_HNSW = 2, /* build the HNSW graph from the first vector */
} sc_index_kind;

/* HNSW parameters of a named vector; 0 in any field means its default. */
typedef struct sc_hnsw_config {
    sc_index_kind kind;           /* see above */
    uint32_t m;                   /* links per node (level 0 has 2m); default 16, range 2..128 */
    uint32_t ef_construct;        /* beam width while building; default 100 */
    uint32_t ef;                  /* default search beam width; default 64 (a query may override) */
    uint32_t full_scan_threshold; /* below this many vectors (or admitted by a filter), search exactly; default 10000 */
    uint64_t seed;                /* decides node levels; default 42 */
    uint32_t index_threshold;     /* AUTO: build the graph once this many vectors are present (Qdrant's
                                     indexing_threshold); 0 = full_scan_threshold */
} sc_hnsw_config;

/* Vector quantization for the HNSW traversal; full-precision vectors are
** kept and used to rescore. */
typedef enum sc_quant_kind {
    SC_QUANT_KIND_NONE = 0,   /* f32 only (default) */
    SC_QUANT_KIND_INT8 = 1,   /* scalar int8 per dimension with quantile clipping */
    SC_QUANT_KIND_BINARY = 2, /* 1 bit per dimension (sign) */
} sc_quant_kind;

typedef struct sc_quant_config {
    sc_quant_kind kind; /* see above */
    float quantile;     /* int8: central mass kept when clipping, (0.5, 1]; 0 = 0.999 */
    float oversampling; /* candidates rescored = limit x this; 0 = 2 (int8) or 4 (binary) */
} sc_quant_config;

/* Multivectors (issue 17; src/store/multivec.c): a named vector whose
** points each hold a list of 1..SC_MAX_MULTIVEC_ROWS rows of its
** dimension (late interaction, ColBERT-style token vectors). A query is
** a list of rows too (one row is a list of one); the score of a point is
** MAX_SIM: the sum over the query's rows of the best similarity to any of
** the point's rows, under the vector's distance (Qdrant's max_sim). For
** Cosine and Dot that is a sum of dot products (rows are normalised on
** upsert for Cosine); for Euclid the similarities are minus the squared
** distances and the score is sqrt(|sum|), for Manhattan |sum| of minus the
** L1 distances: lower is closer for both, as for single vectors (Qdrant
** reports the same numbers). Searches over multivectors are always exact
** (no HNSW graph; hnsw and quantization settings are kept, not used). */
typedef enum sc_multivec_comparator {
    SC_MULTIVEC_COMPARATOR_NONE = 0,    /* a single vector per point (default) */
    SC_MULTIVEC_COMPARATOR_MAX_SIM = 1, /* a multivector scored by MAX_SIM */
} sc_multivec_comparator;

#define SC_MAX_MULTIVEC_ROWS 65536u /* rows of one multivector */

/* Element type a vector's values are stored with (Qdrant's `datatype`).
** Values are converted on upsert: uint8 truncates towards zero and
** saturates at 0 and 255 (Rust's `as u8`), float16 rounds to the nearest
** binary16 value; they are kept and computed in f32 after that. */
typedef enum sc_vector_datatype {
    SC_VECTOR_DATATYPE_FLOAT32 = 0, /* as given (default) */
    SC_VECTOR_DATATYPE_FLOAT16 = 1, /* rounded to binary16 */
    SC_VECTOR_DATATYPE_UINT8 = 2,   /* integers 0..255 */
} sc_vector_datatype;

/* Name as Qdrant spells it ("float32", "float16", "uint8"). */
SC_API const char *sc_vector_datatype_name(sc_vector_datatype t);

typedef struct sc_vector_params {
    const char *name;     /* vector name; "" is the unnamed default vector */
    uint32_t dim;         /* dimension, 1..SC_MAX_DIM */
    sc_distance distance; /* metric */
    sc_hnsw_config hnsw;  /* ANN index (zero = defaults) */
    sc_quant_config quant;/* quantization (zero = none) */
    sc_multivec_comparator multivec; /* NONE: one vector per point; MAX_SIM: a multivector */
    sc_vector_datatype datatype;     /* element type values are converted to on upsert */
} sc_vector_params;

/* Create collection `name` with n_vectors named vectors. Names of
** collections: 1..255 bytes, no control character and none of
** < > : " / \ | ? * (Qdrant's rule). Errors: SC_EXISTS (a collection,
** or an alias of an existing collection, has the name),
** SC_INVALID (message names the bad field). */
SC_API sc_status sc_collection_create(sc_db *db, const char *name, const sc_vector_params *vectors,
                                      size_t n_vectors);

/* ---- Sparse vectors (issue 17; src/store/sparse.c, sparse_search.c) ----
** A sparse vector is a set of (index, weight) pairs: u32 indices (unique,
** any u32, given in any order) with finite f32 weights, e.g. a BM25 or
** SPLADE term vector. A collection may name up to SC_MAX_VECTOR_NAMES of
** them beside its dense vectors (names unique across both kinds). The score
** of a point for a sparse query is the dot product over the indices both
** share, summed in ascending index order in f32; a point sharing no index
** with the query, or whose sum is exactly 0, is not a result (Qdrant's
** inverted-index search). With the IDF modifier each query weight is first
** multiplied by idf(i) = ln((N - df(i) + 0.5) / (df(i) + 0.5) + 1), in f32,
** where N counts the points whose vector has at least one entry and df(i)
** those of them that have index i (Qdrant's `idf` modifier, same formula). */

#define SC_MAX_SPARSE_NNZ (1u << 24) /* entries of one sparse vector */
#define SC_SPARSE_FULL_SCAN_THRESHOLD 5000u /* default: filters admitting fewer points score them one by one */

/* How query weights are adjusted before the dot product. */
typedef enum sc_sparse_modifier {
    SC_SPARSE_MODIFIER_NONE = 0, /* weights as given */
    SC_SPARSE_MODIFIER_IDF = 1,  /* each weight times idf(index) over the collection (or an IDF corpus) */
} sc_sparse_modifier;

/* Name of a modifier as Qdrant spells it ("none", "idf"). */
SC_API const char *sc_sparse_modifier_name(sc_sparse_modifier m);

/* One sparse vector of a collection. */
typedef struct sc_sparse_params {
    const char *name;             /* 1..255 bytes, no control characters */
    sc_sparse_modifier modifier;  /* query weighting (default NONE) */
    bool on_disk;                 /* Qdrant's index.on_disk: kept and reported; the index is held in memory either way */
    uint32_t full_scan_threshold; /* filtered searches admitting fewer points than this score them one by one
                                     instead of walking posting lists (0 = SC_SPARSE_FULL_SCAN_THRESHOLD); results
                                     are the same either way */
} sc_sparse_params;

/* Everything a collection is made of. */
typedef struct sc_collection_params {
    const sc_vector_params *vectors; /* dense vectors (may be NULL when n_vectors is 0) */
    size_t n_vectors;                /* 0..SC_MAX_VECTOR_NAMES */
    const sc_sparse_params *sparse;  /* sparse vectors */
    size_t n_sparse;                 /* 0..SC_MAX_VECTOR_NAMES; n_vectors + n_sparse >= 1 */
    const char *settings_json;       /* NULL or a JSON object kept with the configuration for the layer above
                                        (the server keeps Qdrant's configuration as given there); not
                                        interpreted by the store */
} sc_collection_params;

/* sc_collection_create with sparse vectors too. The first collection with a
** sparse vector marks the store format 3 (docs/FILE_FORMATS.md) in the same
** transaction; older builds then refuse the store rather than drop sparse
** vectors they cannot see. Errors as sc_collection_create. */
SC_API sc_status sc_collection_create_ex(sc_db *db, const char *name, const sc_collection_params *params);
/* Delete a collection and all its points. SC_NOTFOUND if missing. */
SC_API sc_status sc_collection_delete(sc_db *db, const char *name);
/* true when the collection exists. */
SC_API bool sc_collection_exists(sc_db *db, const char *name);
/* Names of all collections, sorted. *out is an owned NULL-terminated array;
** free with sc_strv_free. */
SC_API sc_status sc_collection_list(sc_db *db, char ***out, size_t *n_out);
SC_API void sc_strv_free(char **v);

typedef enum sc_field_type {
    SC_FIELD_TYPE_KEYWORD = 0, /* exact string match */
    SC_FIELD_TYPE_INTEGER = 1, /* integer match and range */
    SC_FIELD_TYPE_FLOAT = 2,   /* numeric range */
    SC_FIELD_TYPE_BOOL = 3,    /* true / false */
    SC_FIELD_TYPE_UUID = 4,    /* UUID strings (any accepted spelling), match */
    SC_FIELD_TYPE_DATETIME = 5,/* RFC 3339 date-time strings, range */
    SC_FIELD_TYPE_TEXT = 6,    /* full text: tokens of strings (options in the schema) */
    SC_FIELD_TYPE_GEO = 7,     /* {lon, lat} points: geo_radius / geo_bounding_box / geo_polygon */
} sc_field_type;

SC_API const char *sc_field_type_name(sc_field_type t);
SC_API sc_status sc_field_type_parse(const char *s, sc_field_type *out);

typedef struct sc_field_index_info {
    char *key;          /* owned: payload key path */
    sc_field_type type; /* index type */
    uint64_t n_points;  /* points with at least one indexed value */
    char *params_json;  /* owned compact JSON of the schema object it was created with (Qdrant's payload_schema
                           params, the text tokenizer's default filled in); NULL when created from a type name */
} sc_field_index_info;

/* State of the index of one named vector. */
typedef struct sc_vector_index_info {
    bool hnsw_built;          /* an HNSW graph answers searches */
    uint64_t n_indexed;       /* vectors linked in the graph */
    uint64_t n_deleted;       /* tombstones awaiting sc_collection_optimize */
    uint64_t index_bytes;     /* memory of graph and codes */
    double bytes_per_vector;  /* memory per vector: f32 data + graph + quantized codes */
    double code_bytes_per_vector; /* quantized code alone (0 without quantization) */
    uint64_t n_vectors;       /* points that have this vector */
    uint64_t n_pending;       /* vectors not linked yet (background indexing): searched exactly meanwhile */
    bool graph_pending;       /* the configuration wants a graph and none is built (a failed build: searches are
                                 exact until the next write or sc_collection_optimize builds it) */
} sc_vector_index_info;

/* State of one sparse vector's inverted index. */
typedef struct sc_sparse_index_info {
    uint64_t n_vectors;   /* points that have the vector (empty ones included) */
    uint64_t n_indexed;   /* of them, those with at least one entry: N of the idf formula */
    uint64_t n_entries;   /* (index, weight) entries over all points */
    uint64_t n_dims;      /* posting lists: distinct indices seen */
    uint64_t index_bytes; /* memory of the vectors and their posting lists */
} sc_sparse_index_info;

typedef struct sc_collection_info {
    char *name;                        /* owned */
    uint64_t n_points;                 /* live points */
    uint64_t n_vectors;                /* vectors stored, summed over names (dense and sparse) */
    size_t n_vector_params;            /* entries of vectors */
    sc_vector_params *vectors;         /* owned array; names owned too */
    sc_vector_index_info *vector_index;/* owned array, n_vector_params entries */
    size_t n_sparse;                   /* entries of sparse and sparse_index */
    sc_sparse_params *sparse;          /* owned array; names owned too */
    sc_sparse_index_info *sparse_index;/* owned array */
    size_t n_field_indexes;            /* entries of field_indexes */
    sc_field_index_info *field_indexes;/* owned */
    uint64_t disk_bytes;               /* bytes of the store files attributable to it (estimate: share of the database) */
    uint64_t ram_bytes;                /* bytes of vectors and ids held in memory */
    char *metadata_json;               /* owned compact JSON object: the collection's metadata ("{}" when none) */
    char *settings_json;               /* owned compact JSON object: sc_collection_params.settings_json as last set
                                          ("{}" when none) */
} sc_collection_info;

/* Fill *out with owned data; free with sc_collection_info_free. */
SC_API sc_status sc_collection_info_get(sc_db *db, const char *name, sc_collection_info *out);
SC_API void sc_collection_info_free(sc_collection_info *info);

/* The collection's settings object (sc_collection_params.settings_json as
** last set; "{}" when none) as owned compact JSON text in *out (free with
** sc_free). Cheaper than sc_collection_info_get. Errors: SC_NOTFOUND. */
SC_API sc_status sc_collection_settings_get(sc_db *db, const char *name, char **out);

/* Merge patch_json (a JSON object) into the collection's metadata, a free
** JSON object kept with its configuration (Qdrant's collection
** `metadata`): each key is set to its value, a null value removes the key.
** Durable on SC_OK. Errors: SC_NOTFOUND, SC_INVALID (not a JSON object). */
SC_API sc_status sc_collection_metadata_update(sc_db *db, const char *name, const char *patch_json);

/* Repair the ANN indexes of a collection after deletes (reclaims
** tombstones) and persist them, so the next open needs no catch-up. */
SC_API sc_status sc_collection_optimize(sc_db *db, const char *name);

/* Fields of a vector's index configuration that sc_collection_update may change. */
typedef enum sc_vector_update_field {
    SC_VECTOR_UPDATE_KIND = 1u << 0,                /* hnsw.kind (FLAT drops the graph) */
    SC_VECTOR_UPDATE_M = 1u << 1,                   /* hnsw.m: the graph is rebuilt */
    SC_VECTOR_UPDATE_EF_CONSTRUCT = 1u << 2,        /* hnsw.ef_construct: the graph is rebuilt */
    SC_VECTOR_UPDATE_EF = 1u << 3,                  /* hnsw.ef: default beam width of searches, no rebuild */
    SC_VECTOR_UPDATE_FULL_SCAN_THRESHOLD = 1u << 4, /* hnsw.full_scan_threshold (vectors) */
    SC_VECTOR_UPDATE_QUANT = 1u << 5,               /* quant (kind NONE removes it): the graph is rebuilt */
    SC_VECTOR_UPDATE_INDEX_THRESHOLD = 1u << 6,     /* hnsw.index_threshold: a graph is built if now wanted */
} sc_vector_update_field;

/* A change of one named vector's index configuration. */
typedef struct sc_vector_update {
    const char *name;      /* vector name ("" or NULL = the default / only vector) */
    uint32_t fields;       /* sc_vector_update_field bits: which values below apply */
    sc_hnsw_config hnsw;   /* new values of the hnsw fields named in `fields` (0 = the default) */
    sc_quant_config quant; /* new quantization when SC_VECTOR_UPDATE_QUANT is set */
} sc_vector_update;

/* Change the index configuration of n named vectors of a collection, all or
** none: the whole request is validated, the new configuration committed in
** one transaction (durable on SC_OK; a failure changes nothing), then the
** graphs follow it: a change of m, ef_construct, quantization or kind
** rebuilds (or drops) the graph and saves it; ef applies at once. A rebuild
** that runs out of memory leaves exact search until the next write rebuilds
** it. Errors: SC_NOTFOUND (collection, vector name), SC_INVALID (a value out
** of range or a vector named twice; the message names the field). */
SC_API sc_status sc_collection_update(sc_db *db, const char *name, const sc_vector_update *updates, size_t n);

/* Fields of a sparse vector's configuration that sc_collection_update_ex may change. */
typedef enum sc_sparse_update_field {
    SC_SPARSE_UPDATE_MODIFIER = 1u << 0,            /* modifier: applies to the next query, nothing is rebuilt */
    SC_SPARSE_UPDATE_ON_DISK = 1u << 1,             /* on_disk (reported only) */
    SC_SPARSE_UPDATE_FULL_SCAN_THRESHOLD = 1u << 2, /* full_scan_threshold (0 = the default) */
} sc_sparse_update_field;

/* A change of one sparse vector's configuration. */
typedef struct sc_sparse_update {
    const char *name;             /* sparse vector name */
    uint32_t fields;              /* sc_sparse_update_field bits: which values below apply */
    sc_sparse_modifier modifier;  /* new modifier */
    bool on_disk;                 /* new on_disk */
    uint32_t full_scan_threshold; /* new threshold */
} sc_sparse_update;

/* sc_collection_update with changes of sparse vectors too, all in one
** transaction: any bad part (an unknown name, a name given twice) changes
** nothing. Errors as sc_collection_update. */
SC_API sc_status sc_collection_update_ex(sc_db *db, const char *name, const sc_vector_update *updates, size_t n,
                                         const sc_sparse_update *sparse, size_t n_sparse);

/* Everything sc_collection_reconfigure changes (all borrowed). */
typedef struct sc_collection_change {
    const sc_vector_update *updates; /* dense vector changes (as sc_collection_update) */
    size_t n_updates;                /* entries of updates */
    const sc_sparse_update *sparse;  /* sparse vector changes (as sc_collection_update_ex) */
    size_t n_sparse;                 /* entries of sparse */
    const char *settings_json;       /* NULL: unchanged; else a JSON object replacing the settings */
} sc_collection_change;

/* sc_collection_update_ex and a new settings object in the same
** transaction: all of it or nothing. Errors as sc_collection_update, and
** SC_INVALID when settings_json is not a JSON object. */
SC_API sc_status sc_collection_reconfigure(sc_db *db, const char *name, const sc_collection_change *change);

/* Add dense vector params->name (a new name, 1..255 bytes) to collection
** coll: existing points do not have it until they are given one. Every
** point's stored vectors are rewritten in the same transaction (cost: one
** row write per point). Errors: SC_NOTFOUND (collection), SC_EXISTS (a
** dense or sparse vector has the name), SC_INVALID (size, distance, index
** parameters, or SC_MAX_VECTOR_NAMES reached). (src/store/vector_names.c) */
SC_API sc_status sc_collection_vector_create(sc_db *db, const char *coll, const sc_vector_params *params);
/* Delete dense vector `name` from collection coll with every point's value
** of it and its graph, in one transaction as above. Errors: SC_NOTFOUND
** (collection or vector), SC_INVALID (the collection's only vector). */
SC_API sc_status sc_collection_vector_delete(sc_db *db, const char *coll, const char *name);

/* Create a payload index on `key` (path syntax as in filters). Idempotent
** when the same type exists; SC_INVALID if another type indexes the key. */
SC_API sc_status sc_field_index_create(sc_db *db, const char *coll, const char *key, sc_field_type type);
/* Create a payload index from Qdrant's field_schema JSON: a type name
** ("\"text\"") or an object ({"type": "text", "tokenizer": "prefix", ...};
** options of Qdrant v1.19, docs/API.md "Payload indexes"). An index on the
** key with the same schema is kept; one with another schema is replaced
** (and rebuilt), as in Qdrant. Durable on SC_OK (the schema is kept in the
** collection's configuration). Errors: SC_NOTFOUND (collection),
** SC_INVALID (key path, type or an option; the message names it), SC_NOMEM. */
SC_API sc_status sc_field_index_create_ex(sc_db *db, const char *coll, const char *key, const char *schema_json);
/* Drop a payload index; SC_NOTFOUND if none. */
SC_API sc_status sc_field_index_delete(sc_db *db, const char *coll, const char *key);

/* ==== Points ==== */

/* One named vector of a point, as the caller passes it (borrowed). */
typedef struct sc_vector_in {
    const char *name;  /* vector name ("" for the default) */
    const float *data; /* dim floats */
    uint32_t dim;      /* must equal the collection's dimension for name (a single vector given for a
                          multivector is stored as a multivector of one row) */
} sc_vector_in;

/* One multivector of a point, as the caller passes it (borrowed). */
typedef struct sc_multivec_in {
    const char *name;  /* multivector name ("" for the default) */
    const float *data; /* n_rows × dim floats, row-major */
    uint32_t dim;      /* dimension of each row: the collection's for name */
    uint32_t n_rows;   /* 1..SC_MAX_MULTIVEC_ROWS */
} sc_multivec_in;

/* One sparse vector of a point, as the caller passes it (borrowed). */
typedef struct sc_sparse_in {
    const char *name;        /* sparse vector name */
    const uint32_t *indices; /* n indices, unique, any order (stored ascending) */
    const float *values;     /* n finite weights, values[i] belongs to indices[i] */
    uint32_t n;              /* 0..SC_MAX_SPARSE_NNZ; 0 stores an empty vector (never a search result) */
} sc_sparse_in;

/* A point to upsert (all borrowed). */
typedef struct sc_point_in {
    sc_point_id id;              /* id */
    const sc_vector_in *vectors; /* n_vectors named vectors; names unique */
    size_t n_vectors;            /* may be 0 (a point with payload only) */
    const char *payload_json;    /* a JSON object or NULL for {} */
    const char *text;            /* text for keyword (BM25) search, tokenized code-aware; not stored; NULL = none */
    const sc_sparse_in *sparse;  /* n_sparse sparse vectors; names unique */
    size_t n_sparse;             /* may be 0 */
    const sc_multivec_in *multivecs; /* n_multivecs multivectors; names unique among them and vectors */
    size_t n_multivecs;          /* may be 0 */
    const void *payload_parsed;  /* or the payload already parsed: a jansson json_t (borrowed; the store takes a
                                    reference, so the caller must not change it afterwards) standing for
                                    payload_json, whose text is then not read; NULL = payload_json */
} sc_point_in;

/* Insert or replace n points atomically: either all are stored or, on any
** error, none and the store is unchanged. A point replaces the whole point
** of its id: vectors (dense and sparse) it does not give are gone. Cosine
** vectors are normalised. Errors: SC_NOTFOUND (collection, vector name),
** SC_INVALID (dimension, NaN/Inf component or weight, a sparse index given
** twice, a dense vector given as sparse or the other way round, payload not
** an object, duplicate vector name). */
SC_API sc_status sc_points_upsert(sc_db *db, const char *coll, const sc_point_in *points, size_t n);

/* Replace the vectors (dense and sparse) given in each point, keeping the
** point's other vectors, its payload and its keyword text (Qdrant's
** update_vectors): n points atomically; payload_json and text must be
** NULL. Errors: SC_NOTFOUND (collection, vector name, or a point that does
** not exist: "No point with id N found"), SC_INVALID as sc_points_upsert. */
SC_API sc_status sc_points_update_vectors(sc_db *db, const char *coll, const sc_point_in *points, size_t n);

/* What an upsert does with ids that exist and ids that do not (Qdrant's
** update_mode). */
typedef enum sc_upsert_mode {
    SC_UPSERT_MODE_UPSERT = 0,  /* insert new points, replace existing ones */
    SC_UPSERT_MODE_INSERT_ONLY, /* insert new points, leave existing ones as they are */
    SC_UPSERT_MODE_UPDATE_ONLY  /* replace existing points, insert nothing */
} sc_upsert_mode;

/* Conditions of a write (Qdrant's update_mode and update_filter). */
typedef struct sc_upsert_options {
    sc_upsert_mode mode;            /* see sc_upsert_mode */
    const char *update_filter_json; /* a Qdrant filter: an existing point is replaced only when it matches;
                                       new points are not checked; NULL = no condition */
} sc_upsert_options;

/* sc_points_upsert with conditions (opt NULL = plain upsert): the points
** that pass opt (checked and written under one writer lock, so no other
** write comes in between) are written atomically; the others are left as
** they are. *n_written (may be NULL) gets how many were written. Errors as
** sc_points_upsert, and SC_INVALID for a malformed update filter. */
SC_API sc_status sc_points_upsert_ex(sc_db *db, const char *coll, const sc_point_in *points, size_t n,
                                     const sc_upsert_options *opt, uint64_t *n_written);

/* sc_points_update_vectors of the points that match update_filter_json
** (NULL = all; checked under the writer lock); the others keep their
** vectors. A missing point is still SC_NOTFOUND. *n_written may be NULL. */
SC_API sc_status sc_points_update_vectors_ex(sc_db *db, const char *coll, const sc_point_in *points, size_t n,
                                             const char *update_filter_json, uint64_t *n_written);

/* A sparse vector as the store returns it (owned by the enclosing list). */
typedef struct sc_sparse_vector {
    char *name;        /* sparse vector name */
    uint32_t n;        /* entries */
    uint32_t *indices; /* n indices, ascending */
    float *values;     /* their weights */
} sc_sparse_vector;

/* A point as the store returns it (all owned by the enclosing list). */
typedef struct sc_record {
    sc_point_id id;        /* id */
    float score;           /* search score (0 for get / scroll) */
    char *payload_json;    /* payload JSON (selected keys), NULL unless asked */
    size_t n_vectors;      /* number of entries below (0 unless asked) */
    char **vector_names;   /* names of the vectors returned; non-NULL whenever vectors were asked, even if none */
    float **vectors;       /* vectors, each of its collection dimension */
    uint32_t *vector_dims; /* dimension of each vector */
    uint32_t *vector_rows; /* per vector: 0 = a single vector of vector_dims floats; n >= 1 = a multivector of
                              n rows, vectors[k] holding n × vector_dims[k] floats */
    size_t n_sparse;       /* sparse vectors returned (0 unless vectors were asked) */
    sc_sparse_vector *sparse; /* them, in config order */
} sc_record;

typedef struct sc_record_list {
    size_t n;          /* number of records */
    sc_record *items;  /* records */
} sc_record_list;

SC_API void sc_record_list_free(sc_record_list *list);

/* What to return with each record. */
typedef struct sc_with {
    bool payload;                   /* include the payload */
    const char *const *payload_include; /* when non-NULL: only the values at these key paths ("a", "a.b", "a[].b") */
    size_t n_payload_include;
    const char *const *payload_exclude; /* when non-NULL: all but the values at these key paths */
    size_t n_payload_exclude;
    bool vectors;                   /* include vectors (dense and sparse) */
    const char *const *vector_names;/* when non-NULL: only these names (dense or sparse) */
    size_t n_vector_names;
} sc_with;

/* Fetch points by id, in the order given; missing ids are skipped.
** *out is owned; free with sc_record_list_free. */
SC_API sc_status sc_points_get(sc_db *db, const char *coll, const sc_point_id *ids, size_t n,
                               const sc_with *with, sc_record_list **out);

/* Delete points by id (missing ids are ignored). *n_deleted may be NULL. */
SC_API sc_status sc_points_delete(sc_db *db, const char *coll, const sc_point_id *ids, size_t n,
                                  uint64_t *n_deleted);
/* Delete every point matching filter_json (a Qdrant filter). */
SC_API sc_status sc_points_delete_by_filter(sc_db *db, const char *coll, const char *filter_json,
                                            uint64_t *n_deleted);

/* Which points a payload operation applies to: ids when n_ids > 0, else the
** points matching filter_json (NULL = none selected -> SC_INVALID). */
typedef struct sc_selector {
    const sc_point_id *ids; /* explicit ids */
    size_t n_ids;           /* number of ids */
    const char *filter_json;/* or a filter */
} sc_selector;

/* Remove the named vectors (dense or sparse) from the selected points,
** keeping their other vectors and payload (Qdrant's delete_vectors); one
** transaction. Errors: SC_NOTFOUND (collection, a name not configured). */
SC_API sc_status sc_points_delete_vectors(sc_db *db, const char *coll, const sc_selector *sel,
                                          const char *const *names, size_t n_names, uint64_t *n_changed);

/* Merge the keys of payload_json into the payload of the selected points. */
SC_API sc_status sc_payload_set(sc_db *db, const char *coll, const sc_selector *sel, const char *payload_json,
                                uint64_t *n_changed);
/* Merge the keys of payload_json into the object at the key path `key`
** (filter key syntax: "a.b", "a[].b", "a[0]") of each selected point's
** payload, creating missing objects on the way; a value there that is not
** an object is replaced (Qdrant's set_payload with `key`). key NULL or ""
** is sc_payload_set. */
SC_API sc_status sc_payload_set_at(sc_db *db, const char *coll, const sc_selector *sel, const char *key,
                                   const char *payload_json, uint64_t *n_changed);
/* Replace the whole payload of the selected points. */
SC_API sc_status sc_payload_overwrite(sc_db *db, const char *coll, const sc_selector *sel,
                                      const char *payload_json, uint64_t *n_changed);
/* Remove keys (paths as in filters, top-level or nested "a.b") from the selected points. */
SC_API sc_status sc_payload_delete_keys(sc_db *db, const char *coll, const sc_selector *sel,
                                        const char *const *keys, size_t n_keys, uint64_t *n_changed);
/* Remove all payload of the selected points. */
SC_API sc_status sc_payload_clear(sc_db *db, const char *coll, const sc_selector *sel, uint64_t *n_changed);

/* Scroll request: points in id order starting at offset (inclusive). */
typedef struct sc_scroll_request {
    const char *filter_json; /* NULL = all points */
    bool has_offset;         /* start at offset rather than the first id */
    sc_point_id offset;      /* first id to return */
    uint32_t limit;          /* page size (default 10 when 0) */
    sc_with with;            /* what to return */
} sc_scroll_request;

/* One page; *next_out is the id to pass as offset for the next page, and
** *has_next tells whether there is one. */
SC_API sc_status sc_points_scroll(sc_db *db, const char *coll, const sc_scroll_request *req,
                                  sc_record_list **out, sc_point_id *next_out, bool *has_next);

/* Number of points matching filter_json (NULL = all). */
SC_API sc_status sc_points_count(sc_db *db, const char *coll, const char *filter_json, uint64_t *out);

/* One value of a facet and how many points hold it. */
typedef struct sc_facet_hit {
    char *value_json; /* owned JSON scalar: a string, an integer or a boolean */
    uint64_t count;   /* points of the selection holding the value (once per point) */
} sc_facet_hit;

/* Qdrant's facet: per value of the payload index on key (keyword, integer,
** uuid or bool), the number of points matching filter_json (NULL = all)
** that hold it; the `limit` largest counts, ties by value ascending. Counts
** are exact. *out is owned: sc_facet_hits_free. Errors: SC_NOTFOUND (the
** collection), SC_INVALID (no such index, or one without values to count:
** Qdrant's message; a bad filter), SC_NOMEM. */
SC_API sc_status sc_points_facet(sc_db *db, const char *coll, const char *key, const char *filter_json,
                                 uint64_t limit, sc_facet_hit **out, size_t *n_out);
/* Free what sc_points_facet returned; NULL is a no-op. */
SC_API void sc_facet_hits_free(sc_facet_hit *hits, size_t n);

/* ==== Search ==== */

/* A sparse query (borrowed). */
typedef struct sc_sparse_query {
    const uint32_t *indices;     /* n indices, unique, any order */
    const float *values;         /* n finite weights */
    uint32_t n;                  /* 0 returns no results */
    const char *idf_corpus_json; /* IDF modifier only: N and df counted over the points matching this filter
                                    (Qdrant 1.19's params.idf.corpus) instead of the whole collection; NULL =
                                    the whole collection; SC_INVALID on a vector without the IDF modifier */
} sc_sparse_query;

typedef struct sc_search_request {
    const char *vector_name;  /* which named vector ("" or NULL for the default/only one; a sparse query names its sparse vector) */
    const float *query;       /* query vector; NULL for a keyword search with `text` */
    const char *text;         /* keyword query (BM25 over the points' texts), used when query is NULL */
    uint32_t dim;             /* its dimension */
    uint32_t n_rows;          /* 0: query is one vector; n >= 1: a multivector query of n rows of dim floats, for a
                                 multivector (scored by MAX_SIM); a single vector queries a multivector as one row */
    uint32_t limit;           /* results wanted (default 10 when 0) */
    uint32_t offset;          /* results to skip first */
    bool has_threshold;       /* apply score_threshold */
    float score_threshold;    /* lower bound of similarity, upper bound of distances */
    const char *filter_json;  /* NULL = no filter */
    sc_with with;             /* what to return */
    uint32_t n_threads;       /* 0 = store default, 1 = single thread */
    bool exact;               /* bypass the ANN index: exact search */
    uint32_t hnsw_ef;         /* beam width for this query (0 = the vector's default) */
    bool quant_ignore;        /* do not use quantized codes for this query */
    float oversampling;       /* override the quantization oversampling (0 = configured) */
    const sc_sparse_query *sparse; /* non-NULL: a sparse search of the sparse vector vector_name (query, text,
                                      dim, exact and the HNSW fields are not used); always exact */
} sc_search_request;

/* Top-k search: exact, or through the HNSW index when the vector has one
** and the filter admits at least full_scan_threshold points (a planner
** decides from the payload indexes). A sparse search (req->sparse) scores
** by the inverted index, exactly (see "Sparse vectors" above); its
** score_threshold is a lower bound. Results are ordered by score (best
** first), ties by id.
** *out is owned; free with sc_record_list_free. */
SC_API sc_status sc_points_search(sc_db *db, const char *coll, const sc_search_request *req,
                                  sc_record_list **out);

/* Search n_queries at once (queries laid out contiguously, dim each). The
** same parameters apply to all; out receives n_queries lists. Faster than
** repeated single searches because the data is read once per block. */
SC_API sc_status sc_points_search_batch(sc_db *db, const char *coll, const sc_search_request *req,
                                        const float *queries, size_t n_queries, sc_record_list **out);

/* ==================================================================== */
/* ==== Aliases (issue 9, server; src/store/alias.c) ==================== */
/* ==================================================================== */

/* An alias is a second name of a collection, stored durably in the store.
** Alias names follow the rules of collection names and may not equal a
** collection name. Deleting a collection leaves its aliases: call
** sc_alias_delete_for_collection next (resolve ignores dangling aliases). */

typedef struct sc_alias {
    char *alias;      /* owned alias name */
    char *collection; /* owned name of the collection it points to */
} sc_alias;

/* Create alias -> collection. Errors: SC_NOTFOUND (collection), SC_EXISTS
** (the alias or a collection of that name exists), SC_INVALID (name). */
SC_API sc_status sc_alias_create(sc_db *db, const char *alias, const char *collection);
/* Delete an alias. SC_NOTFOUND if missing. */
SC_API sc_status sc_alias_delete(sc_db *db, const char *alias);
/* Rename an alias atomically. SC_NOTFOUND (old), SC_EXISTS (new taken). */
SC_API sc_status sc_alias_rename(sc_db *db, const char *old_alias, const char *new_alias);
/* One alias action of a batch. */
typedef enum sc_alias_op {
    SC_ALIAS_OP_CREATE = 0, /* alias -> collection */
    SC_ALIAS_OP_DELETE = 1, /* remove alias */
    SC_ALIAS_OP_RENAME = 2, /* alias becomes new_alias */
} sc_alias_op;

typedef struct sc_alias_action {
    sc_alias_op op;         /* what to do */
    const char *alias;      /* the alias (rename: its current name) */
    const char *collection; /* create: the collection it names */
    const char *new_alias;  /* rename: the new name */
} sc_alias_action;

/* Apply n actions in order, all or none: one transaction in which each
** action sees the effects of those before it; the first failure rolls all
** of them back, returns that action's error (as the single calls above)
** and, when failed is non-NULL, its index in *failed (n when the
** transaction itself failed: begin, commit). */
SC_API sc_status sc_alias_apply(sc_db *db, const sc_alias_action *actions, size_t n, size_t *failed);
/* Collection an alias points to: owned *out (free with sc_free).
** SC_NOTFOUND when no such alias. */
SC_API sc_status sc_alias_resolve(sc_db *db, const char *alias, char **out);
/* All aliases sorted by name; owned array, free with sc_alias_list_free. */
SC_API sc_status sc_alias_list(sc_db *db, sc_alias **out, size_t *n_out);
SC_API void sc_alias_list_free(sc_alias *list, size_t n);
/* Delete every alias of `collection`; *n_deleted may be NULL. */
SC_API sc_status sc_alias_delete_for_collection(sc_db *db, const char *collection, uint64_t *n_deleted);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_STORE_H */
