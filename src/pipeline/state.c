/*
** pipeline/state.c: the state database of an index (state.db): its tables,
** their upgrade from older index formats, running statements and reading /
** writing its meta table.
**
** DESIGN (index format, meta index_format; docs/FILE_FORMATS.md)
** - 2: files.hash is the XXH3-128 of the file's bytes (16-byte BLOB); the
**   points' content_hash and text_hash payloads are 32 hex digits.
** - 1 (no index_format): files.hash was util_hash64_v1 (INTEGER), the
**   payload hashes 16 hex digits. Opening converts the table in one
**   transaction (the old hashes stay as INTEGER values, marking their rows);
**   the next update run re-reads those files and rewrites their points,
**   taking the stored vectors over by the old text hashes (nothing is
**   embedded again). On any failure the transaction rolls back: the
**   database is as it was.
** - 3: format 2 after a model switch: meta vector names the current
**   generation's vector ("code_<hex>", repo/switch.c); nothing else differs,
**   and a rebuild writes 2 again. An older semcode refuses it instead of
**   searching the vector "code" that the switch dropped.
** - A larger index_format was written by a newer semcode: refused.
*/
#include "pipeline/pipeline.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/util.h"

#define STATE__FILES_TABLE(name)                                                                              \
    "CREATE TABLE " name "(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime INTEGER NOT NULL,"            \
    " hash BLOB NOT NULL, n_entities INTEGER NOT NULL);"

/* Does state have a table of that name? (-1 when the query fails) */
static int state__has_table(sqlite3 *state, const char *name) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(state, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", -1, &st, NULL) !=
        SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    return step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
}

/* The index format recorded in meta (1 when there is no meta or no
** index_format); SC_UNSUPPORTED when newer than this build, SC_CORRUPT when
** not a number. where names the index in messages. */
static sc_status state__format(sqlite3 *state, const char *where, int *format, sc_err *err) {
    *format = 1;
    int has_meta = state__has_table(state, "meta");
    if (has_meta < 0) return sc_err_set(err, SC_IOERR, "state database: %s", sqlite3_errmsg(state));
    if (!has_meta) return SC_OK;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(state, "SELECT value FROM meta WHERE key='index_format'", -1, &st, NULL) != SQLITE_OK)
        return sc_err_set(err, SC_IOERR, "state database: %s", sqlite3_errmsg(state));
    sc_status rc = SC_OK;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const char *vt = (const char *)sqlite3_column_text(st, 0);
        char *end = NULL;
        long v = vt ? strtol(vt, &end, 10) : 0;
        if (!vt || end == vt || *end || v < 1)
            rc = sc_err_set(err, SC_CORRUPT, "index %s: index_format '%.40s' in state.db meta is not a format number",
                            where, vt ? vt : "");
        else if (v > PIPELINE_INDEX_FORMAT)
            rc = sc_err_set(err, SC_UNSUPPORTED,
                            "index %s has format %ld, written by a newer semcode; this build reads formats 1 to %d "
                            "(use the newer semcode, or index into a new --store)",
                            where, v, PIPELINE_INDEX_FORMAT);
        else *format = (int)v;
    } else if (step != SQLITE_DONE) {
        rc = sc_err_set(err, SC_IOERR, "state database: %s", sqlite3_errmsg(state));
    }
    sqlite3_finalize(st);
    return rc;
}

/* Inside the transaction: create or upgrade the tables; *from = the format found (0: new). */
static sc_status state__schema(sqlite3 *state, const char *where, int *from, sc_err *err) {
    *from = 0;
    int has_files = state__has_table(state, "files");
    if (has_files < 0) return sc_err_set(err, SC_IOERR, "state database: %s", sqlite3_errmsg(state));
    int format = 0;
    sc_status rc = state__format(state, where, &format, err);
    if (rc != SC_OK) return rc;
    if (has_files) *from = format;
    /* the call graph's tables join any format without changing it (graph.c) */
    rc = pipeline_graph_schema(state, err);
    if (rc != SC_OK) return rc;
    if (*from >= PIPELINE_INDEX_FORMAT_HASHES) return SC_OK; /* 2, or 3 (a switched model: same tables) */
    if (!has_files) {
        rc = pipeline_state_exec(state, STATE__FILES_TABLE("files"), err);
    } else {
        /* Format 1: the same columns with hash declared BLOB; the INTEGER
        ** values are copied as they are and mark the rows to re-hash. */
        rc = pipeline_state_exec(state,
                                 STATE__FILES_TABLE("files_v2")
                                 "INSERT INTO files_v2(path, size, mtime, hash, n_entities)"
                                 " SELECT path, size, mtime, hash, n_entities FROM files;"
                                 "DROP TABLE files;"
                                 "ALTER TABLE files_v2 RENAME TO files;",
                                 err);
    }
    if (rc == SC_OK)
        rc = pipeline_state_exec(state, "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
                                 err);
    char v[16];
    snprintf(v, sizeof v, "%d", PIPELINE_INDEX_FORMAT_HASHES);
    if (rc == SC_OK) rc = pipeline_meta_set(state, "index_format", v, err);
    return rc;
}

sc_status pipeline_state_prepare(sqlite3 *state, const char *where, int *from, sc_err *err) {
    int f = 0;
    sc_status rc = pipeline_state_exec(state, "BEGIN IMMEDIATE", err);
    if (rc != SC_OK) return rc;
    rc = state__schema(state, where, &f, err);
    if (rc == SC_OK) rc = pipeline_state_exec(state, "COMMIT", err);
    if (rc != SC_OK) {
        sc_err ignore = {0};
        pipeline_state_exec(state, "ROLLBACK", &ignore);
        if (f == 1 && err) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            sc_err_set(err, rc, "index %s: upgrading it from format 1 to %d failed, it is left as it was: %s", where,
                       PIPELINE_INDEX_FORMAT_HASHES, why);
        }
        return rc;
    }
    if (from) *from = f;
    return SC_OK;
}

sc_status pipeline_state_exec(sqlite3 *state, const char *sql, sc_err *err) {
    char *msg = NULL;
    if (sqlite3_exec(state, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sc_status rc = sc_err_set(err, SC_IOERR, "state database: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return rc;
    }
    return SC_OK;
}

char *pipeline_meta_get(sqlite3 *state, const char *key) {
    sqlite3_stmt *st = NULL;
    char *v = NULL;
    if (sqlite3_prepare_v2(state, "SELECT value FROM meta WHERE key=?1", -1, &st, NULL) != SQLITE_OK) return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) v = util_strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

sc_status pipeline_meta_set(sqlite3 *state, const char *key, const char *value, sc_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(state, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", -1, &st, NULL) !=
        SQLITE_OK)
        return sc_err_set(err, SC_IOERR, "state database: %s", sqlite3_errmsg(state));
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SC_OK : sc_err_set(err, SC_IOERR, "state database: %s", sqlite3_errmsg(state));
}
