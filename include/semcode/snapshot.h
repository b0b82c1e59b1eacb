/*
** semcode public API: snapshots of collections. A snapshot file holds one
** or more collections of a store (config, points with vectors, payloads,
** keyword terms and sparse vectors, and the HNSW graphs), a JSON manifest
** and optionally named files attached as they are (an exported index adds
** its state.db). Every record is checksummed; the layout is in
** docs/FILE_FORMATS.md ("Snapshot files").
**
** Consistency: a snapshot holds every write acknowledged before
** sc_snapshot_create was called and no part of a batch acknowledged later:
** the points are read in one SQLite read transaction begun (with the
** graphs saved) under the store's read lock, so writers wait only while the
** graphs are written out, not while the points are copied.
**
** Untrusted input: sc_snapshot_verify, sc_snapshot_restore and
** sc_snapshot_blob_extract check magic, lengths and checksums of every
** record and return SC_CORRUPT (with the byte offset) for a damaged or
** truncated file; a failed restore leaves the store as it was.
**
** Thread safety: as the store (sc_db); a restore takes the store's write
** lock for its whole duration.
*/
#ifndef SEMCODE_SNAPSHOT_H
#define SEMCODE_SNAPSHOT_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SC_SNAPSHOT_FORMAT_VERSION 1 /* version in the header of files this build writes */

/* What sc_snapshot_create writes besides the collections. */
typedef struct sc_snapshot_options {
    const char *kind;                 /* manifest "kind": "collection" (default), "export", … */
    const char *extra_json;           /* JSON object stored as the manifest's "extra" (NULL = none) */
    const char *const *blob_names;    /* names of attached files (each 1..255 bytes) */
    const char *const *blob_paths;    /* their paths, read as they are */
    size_t n_blobs;                   /* entries in blob_names / blob_paths */
} sc_snapshot_options;

/* What a snapshot file holds (sc_snapshot_create, sc_snapshot_verify). */
typedef struct sc_snapshot_info {
    uint64_t size;       /* bytes of the file */
    uint64_t n_points;   /* points over all its collections */
    uint64_t seq;        /* store write sequence number the snapshot reflects */
    char sha256[65];     /* SHA-256 of the file, hex (Qdrant's snapshot checksum) */
    char *manifest;      /* owned manifest JSON text (sc_free) */
} sc_snapshot_info;

SC_API sc_snapshot_options sc_snapshot_options_default(void);

/* Write a snapshot of collections colls[0..n) (names; n may be 0) of db to
** path (written as path.tmp, fsynced, renamed; an existing file is
** replaced). info (may be NULL) is filled on SC_OK: free with
** sc_snapshot_info_free. Errors: SC_NOTFOUND (collection), SC_IOERR,
** SC_NOMEM; the message (sc_db_errmsg) names the file or collection. */
SC_API sc_status sc_snapshot_create(sc_db *db, const char *const *colls, size_t n, const sc_snapshot_options *opt,
                                    const char *path, sc_snapshot_info *info);
/* Read and check the whole file at path: header, every record's length and
** checksum, the manifest, the end record. SC_CORRUPT with the offset,
** SC_UNSUPPORTED for a newer format, SC_IOERR. info as above. */
SC_API sc_status sc_snapshot_verify(const char *path, sc_snapshot_info *info);
/* Restore collection `from` of the snapshot at path (NULL: its only, or
** first, collection) into db as collection `as` (NULL: the name it had),
** replacing a collection of that name. All or nothing: the file is verified
** first and the rows are written and loaded in one transaction; any
** failure leaves the store as it was. *n_points (may be NULL) receives the
** points restored. Errors: SC_NOTFOUND (`from` not in the file), SC_EXISTS
** (`as` is an alias), SC_CORRUPT, SC_UNSUPPORTED, SC_IOERR, SC_NOMEM. */
SC_API sc_status sc_snapshot_restore(sc_db *db, const char *path, const char *from, const char *as,
                                     uint64_t *n_points);
/* Copy the attached file `name` of the snapshot at path to dest (written as
** dest.tmp then renamed), checking its checksum. SC_NOTFOUND, SC_CORRUPT,
** SC_IOERR. *errmsg (may be NULL) receives an owned message on failure. */
SC_API sc_status sc_snapshot_blob_extract(const char *path, const char *name, const char *dest, char **errmsg);
/* Free what an info owns; NULL is a no-op. */
SC_API void sc_snapshot_info_free(sc_snapshot_info *info);

/* ==== Snapshots kept beside a store (snapshot_files.c) ====
** The snapshots of collection C live in STORE/snapshots/<C>/ (C as it is
** when made of letters, digits, '-' and '_', else "x" + its bytes in hex),
** each NAME.snapshot with NAME.snapshot.sha256 beside it. Names are
** C-<UTC date and time>-<counter>.snapshot; a name given by a caller must
** be a plain file name ending in ".snapshot" (no '/', no leading '.'),
** anything else is SC_NOTFOUND. */

/* One snapshot file of a collection. */
typedef struct sc_snapshot_entry {
    char *name;          /* file name (owned) */
    uint64_t size;       /* bytes */
    int64_t mtime;       /* creation time, seconds since the epoch */
    char sha256[65];     /* SHA-256 hex (from the .sha256 file; "" when missing) */
} sc_snapshot_entry;

/* Snapshot collection coll (NULL: every collection, a whole-store snapshot
** kept in STORE/snapshots/.full/) into its snapshot folder; *out (may be NULL)
** describes the file (free with sc_snapshot_entries_free(out, 1) semantics:
** sc_free(out->name)). Errors as sc_snapshot_create. */
SC_API sc_status sc_snapshot_take(sc_db *db, const char *coll, sc_snapshot_entry *out);
/* The snapshots of coll, newest last (owned array; sc_snapshot_entries_free).
** A collection without a folder has none (SC_OK, n 0). */
SC_API sc_status sc_snapshot_list(sc_db *db, const char *coll, sc_snapshot_entry **out, size_t *n_out);
SC_API void sc_snapshot_entries_free(sc_snapshot_entry *e, size_t n);
/* Path of snapshot `name` of coll (owned, sc_free); SC_NOTFOUND when name
** is not a valid snapshot name or no such file exists. */
SC_API sc_status sc_snapshot_path(sc_db *db, const char *coll, const char *name, char **out);
/* The folder the snapshots of coll (NULL: whole-store ones) are kept in (owned, sc_free; may not exist yet).
** list, path and remove take coll NULL for whole-store snapshots too. */
SC_API char *sc_snapshot_dir(sc_db *db, const char *coll);
/* Delete snapshot `name` of coll and its .sha256. SC_NOTFOUND, SC_IOERR. */
SC_API sc_status sc_snapshot_remove(sc_db *db, const char *coll, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_SNAPSHOT_H */
