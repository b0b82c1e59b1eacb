/*
** index/hnsw: approximate nearest-neighbour search over the store's rows
** with a hierarchical navigable small-world graph (Malkov & Yashunin), and
** optional int8 / binary quantized codes for traversal (see quant.h).
**
** The index does not own f32 vectors: the store keeps them in its slots and
** tells the index where to read them (hnsw_source: a base pointer + stride,
** or a callback). A row number is the store's slot number; rows may be
** sparse. The graph, tombstones and quantized codes are the index's own and
** persist to one file (hnsw_index_save / hnsw_index_load).
**
** Lifecycle: hnsw_index_new -> hnsw_index_add / hnsw_index_add_batch
** (parallel) -> hnsw_index_search ... hnsw_index_delete (tombstone) ->
** hnsw_index_vacuum (repairs neighbour lists and frees deleted rows) ->
** hnsw_index_save -> hnsw_index_free. Update of a row = delete + add of the
** new slot, or hnsw_index_update when the slot is overwritten in place.
**
** Thread safety: any number of threads may call hnsw_index_search at once.
** Every mutating call (add, add_batch, delete, update, vacuum, set_source,
** quantize, load) needs exclusive access: the store holds its write lock.
** hnsw_index_add_batch_shared needs it only inside its hnsw_excl sections,
** so searches can run while a background thread links rows.
** hnsw_index_add_batch uses n_threads threads internally.
**
** Determinism: a node's level is a hash of (seed, row), and add_batch links
** rows in rounds whose length depends only on the graph's size, with a
** result that does not depend on which thread did what (hnsw_batch.c). The
** same rows added in the same order (and calls) with the same seed give a
** bit-identical graph and file, whatever n_threads is.
*/
#ifndef SC_INDEX_HNSW_H
#define SC_INDEX_HNSW_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "index/index.h"
#include "index/quant.h"
#include "util/util.h"

typedef struct hnsw_index hnsw_index; /* opaque graph + tombstones + codes */

/* ==== Parameters ==== */

typedef struct hnsw_params {
    index_metric metric;          /* DOT (higher better), L2, L1 (lower better) */
    uint32_t dim;                 /* vector dimension, 1..65535 */
    uint32_t m;                   /* neighbours per node on levels >= 1 (level 0: 2m), 2..128 */
    uint32_t ef_construct;        /* beam width while linking a new node */
    uint32_t ef;                  /* default search beam width (a query may override) */
    uint64_t seed;                /* decides node levels: same seed + rows = same levels */
    uint32_t n_threads;           /* threads for add_batch: 0 = all cores (result independent of it) */
    const index_kernels *kernels; /* distance kernels; NULL = best this CPU has */
} hnsw_params;

/* m = 16, ef_construct = 200, ef = 64, seed = 42, all cores, metric DOT,
** dim 0 (the caller must set dim). */
hnsw_params hnsw_params_default(void);

/* Where the f32 vector of a row lives. With base != NULL the vector of row r
** is base + r * stride (stride in floats, >= dim); otherwise row(state, r).
** The pointer must stay valid until the next hnsw_source_set or until the
** index is freed; the store calls hnsw_index_set_source after it grows. */
typedef struct hnsw_source {
    const float *base;                              /* contiguous rows, or NULL */
    size_t stride;                                  /* floats between rows */
    const float *(*row)(void *state, uint32_t row); /* used when base is NULL */
    void *state;                                    /* argument of row() */
} hnsw_source;

/* ==== Life cycle ==== */

/* Create an empty index. On SC_OK *out owns it (free with hnsw_index_free).
** SC_INVALID (message names the parameter) for out-of-range parameters. */
sc_status hnsw_index_new(const hnsw_params *p, const hnsw_source *src, hnsw_index **out,
                         sc_err *err);
/* Free the index and everything it owns; NULL is a no-op. */
void hnsw_index_free(hnsw_index *idx);
/* Point the index at a (moved) vector storage. Needs exclusive access. */
void hnsw_index_set_source(hnsw_index *idx, const hnsw_source *src);
/* Parameters in force (ef may be changed with hnsw_index_set_ef). */
const hnsw_params *hnsw_index_params(const hnsw_index *idx);
/* Change the default search beam width. */
void hnsw_index_set_ef(hnsw_index *idx, uint32_t ef);

/* ==== Mutation (exclusive access) ==== */

/* Link row into the graph (its vector is read through the source). SC_EXISTS
** if row is already live or tombstoned (vacuum or update first); SC_NOMEM. */
sc_status hnsw_index_add(hnsw_index *idx, uint32_t row, sc_err *err);
/* Link n rows with p.n_threads threads (deterministic rounds, see
** hnsw_batch.c). Rows already present fail the whole call with SC_EXISTS
** before anything is linked. */
sc_status hnsw_index_add_batch(hnsw_index *idx, const uint32_t *rows, size_t n, sc_err *err);
/* Hooks around the parts of a batch add that need exclusive access, for a
** caller that lets searches run during the rest: begin(state) must wait
** until no search runs and keep new ones out until end(state). */
typedef struct hnsw_excl {
    void (*begin)(void *state); /* e.g. take a write lock that searches take shared */
    void (*end)(void *state);   /* release it */
    void *state;                /* argument of both */
} hnsw_excl;

/* hnsw_index_add_batch that calls only its placement of the rows and, per
** round, the back links and the entry point move inside excl's sections
** (excl NULL: none). Between them, the costly neighbour searches read the
** graph while concurrent hnsw_index_search calls may read it too: the new
** rows stay unreachable until their round's section. No other mutating
** call may run during the whole call. Same result as hnsw_index_add_batch. */
sc_status hnsw_index_add_batch_shared(hnsw_index *idx, const uint32_t *rows, size_t n, const hnsw_excl *excl,
                                      sc_err *err);
/* Tombstone row: never returned again, still used for navigation until
** hnsw_index_vacuum. SC_NOTFOUND if row is not live. */
sc_status hnsw_index_delete(hnsw_index *idx, uint32_t row, sc_err *err);
/* The slot of a live row now holds a new vector: relink the row's own
** neighbour lists by a fresh search (links into it stay and remain valid
** graph edges). SC_NOTFOUND if row is not live. */
sc_status hnsw_index_update(hnsw_index *idx, uint32_t row, sc_err *err);
/* Remove every tombstoned row: neighbour lists that pointed at one are
** repaired from the deleted nodes' neighbours with the selection heuristic,
** a new entry point is chosen if needed, and the rows become free for
** hnsw_index_add. *n_reclaimed (may be NULL) = rows freed. */
sc_status hnsw_index_vacuum(hnsw_index *idx, uint32_t *n_reclaimed, sc_err *err);

/* ==== Search (concurrent) ==== */

/* Per-query options. */
typedef struct hnsw_search_opts {
    uint32_t ef;                      /* 0 = index default; raised to k when smaller */
    const index_scan_filter *filter;  /* accept(row): traversed but only accepted rows returned */
    bool use_codes;                   /* traverse with quantized codes, then rescore */
    float oversample;                 /* codes: rescore k*oversample candidates (>= 1) */
} hnsw_search_opts;

/* Top-k of one query (dim floats). Writes up to k hits best-first (score as
** index.h: dot, or L2/L1 distance) into out_hits and their count into
** *out_n. opts may be NULL. With a filter the walk stops only once ef
** accepted rows are held or the graph is exhausted, so recall holds for
** selective filters at the cost of time. SC_NOMEM; SC_INVALID when
** use_codes is set and no quantizer is attached. */
sc_status hnsw_index_search(const hnsw_index *idx, const float *query, uint32_t k,
                            const hnsw_search_opts *opts, index_hit *out_hits, uint32_t *out_n,
                            sc_err *err);

/* Planner cost model for a filtered query: true when scoring the `admitted`
** rows exactly is expected to cost less than a filtered graph walk over an
** index of n rows. The walk stops once ef accepted rows are held, so it
** expands about ef / selectivity nodes and scores up to 2m neighbours of
** each: ~ ef * 2m * n / admitted distances against `admitted` for the exact
** scan. Exact wins when admitted^2 <= ef * 2m * n. (1M rows, m 16, ef 64:
** up to ~45,000 admitted rows, 4.5 %.) ef is the effective beam (>= k). */
bool hnsw_prefer_exact(uint64_t admitted, uint64_t n, uint32_t ef, uint32_t m);

/* ==== Introspection ==== */

typedef struct hnsw_info {
    uint32_t n_live;         /* rows returned by searches */
    uint32_t n_deleted;      /* tombstoned rows awaiting vacuum */
    uint32_t capacity;       /* rows the arrays are sized for (max row + 1, grown) */
    uint32_t max_level;      /* top level of the graph */
    uint64_t graph_bytes;    /* bytes of neighbour lists and per-row metadata */
    uint64_t code_bytes;     /* bytes of quantized codes (0 without a quantizer) */
    double bytes_per_vector; /* (graph + codes) / n_live, excluding the store's f32 */
} hnsw_info;

/* Counts and memory for the store's `info`. */
hnsw_info hnsw_index_info(const hnsw_index *idx);
/* Is row live (present and not tombstoned)? */
bool hnsw_index_contains(const hnsw_index *idx, uint32_t row);

/* ==== Quantized codes ==== */

/* Train a quantizer on (a sample of) the live rows and encode every live row;
** later adds are encoded as they come. Replaces any previous quantizer.
** SC_INVALID for a metric the mode does not support (see quant.h). */
sc_status hnsw_index_quantize(hnsw_index *idx, const quant_params *qp, sc_err *err);
/* The attached quantizer or NULL (borrowed, valid until the next mutation). */
const quant *hnsw_index_quant(const hnsw_index *idx);

/* ==== Persistence ==== */

/* An opaque 64-bit value saved with the index, for the store to record how
** far its log the saved graph reaches (e.g. the last applied change number):
** after hnsw_index_load it replays changes newer than the tag, so the index
** is caught up before it answers. 0 after hnsw_index_new. */
void hnsw_index_set_user_tag(hnsw_index *idx, uint64_t tag);
uint64_t hnsw_index_user_tag(const hnsw_index *idx);

/* Write the index (params, graph, tombstones, codes) to path atomically
** (path.tmp + fsync + rename). SC_IOERR names the path and errno. */
sc_status hnsw_index_save(const hnsw_index *idx, const char *path, sc_err *err);
/* Read an index written by hnsw_index_save; no rebuild. src as for _new.
** SC_CORRUPT with the byte offset for a truncated, damaged or inconsistent
** file; SC_UNSUPPORTED for an unknown version; SC_IOERR; SC_NOMEM. */
sc_status hnsw_index_load(const char *path, const hnsw_source *src, hnsw_index **out,
                          sc_err *err);

/* ==== Reuse of deleted rows (hnsw_revive.c) ==== */

/* Clear the tombstone of row and relink it with the vector now in its slot.
** SC_NOTFOUND if row is not tombstoned. Exclusive access. */
sc_status hnsw_index_revive(hnsw_index *idx, uint32_t row, sc_err *err);
/* Is row present but tombstoned? */
bool hnsw_index_is_tombstoned(const hnsw_index *idx, uint32_t row);

#endif /* SC_INDEX_HNSW_H */
