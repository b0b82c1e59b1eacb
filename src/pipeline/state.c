/*
** pipeline/state.c: the state database of an index (state.db): running
** statements and reading / writing its meta table. The tables themselves
** are created by the repository handle (repo/repo.c); see repo_int.h.
*/
#include "pipeline/pipeline.h"

#include "util/util.h"

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
