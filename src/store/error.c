/*
** store/error.c: the store's error messages. Every store file records a
** failure through store_fail / store_fail_err / store_fail_sql; sc_db_errmsg
** reads it back.
*/
#include "store/store_int.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char store__errmsg[768] = "not an error";

sc_status store_fail(sc_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(store__errmsg, sizeof store__errmsg, fmt, ap);
    va_end(ap);
    return code;
}

sc_status store_fail_err(const sc_err *err) {
    snprintf(store__errmsg, sizeof store__errmsg, "%s", err->msg);
    return err->code;
}

sc_status store_fail_sql(sc_db *db, const char *what) {
    int rc = sqlite3_extended_errcode(db->sql);
    sc_status code = SC_IOERR;
    switch (rc & 0xff) {
    case SQLITE_NOMEM: code = SC_NOMEM; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = SC_CORRUPT; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = SC_BUSY; break;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN: code = SC_IOERR; break;
    default: code = SC_ERROR; break;
    }
    return store_fail(code, "%s: %s (sqlite %d)", what, sqlite3_errmsg(db->sql), rc);
}

const char *sc_db_errmsg(const sc_db *db) {
    (void)db;
    return store__errmsg;
}
