/*
** repo/usage.c: what the call graph says of the candidates of a search,
** for the ranking stage's usage features (issue 19, "usage patterns";
** src/store/rank.c: cov_callees, cov_callers, log_fanin).
**
** DESIGN. Read from state.db's graph tables (src/pipeline/graph.c) by
** name, without the resolution of calls.c: a search ranks up to a few
** hundred candidates and must stay within milliseconds, and the features
** only need the words around an entity and how often its name is called.
**   callees  distinct names the entity's own call sites call (at most
**            48), e.g. "connect send close"
**   callers  distinct names of the entities whose call sites name it
**   fanin    call sites naming it outside itself, divided by the number of
**            definitions sharing its name (a name defined in five classes
**            shares its callers among them)
** An index built before the graph existed has empty tables: every
** candidate then gets no words and fanin 0, as an entity nobody calls;
** so does a state.db without the tables.
**
** Thread safety: uses the repository handle (one thread at a time).
*/
#include "repo/repo_int.h"

#include <stdlib.h>
#include <string.h>

#define USAGE__MAX_BYTES 1024 /* bytes kept per list of names (the queries keep at most 48 names) */

/* Step st (parameter 1 bound to id) and join the first column's distinct
** values with spaces into an owned string (NULL when there are none). */
static sc_status usage__names(sc_repo *r, sqlite3_stmt *st, int64_t id, char **out) {
    *out = NULL;
    char buf[USAGE__MAX_BYTES];
    size_t n = 0;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        size_t len = s ? strlen(s) : 0;
        if (!len) continue;
        if (n + len + 1 >= sizeof buf) break;
        if (n) buf[n++] = ' ';
        memcpy(buf + n, s, len);
        n += len;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return repo_fail(r, SC_IOERR, "state database: %s", sqlite3_errmsg(r->state));
    if (!n) return SC_OK;
    buf[n] = '\0';
    if (!(*out = util_strdup(buf))) return repo_fail(r, SC_NOMEM, "out of memory");
    return SC_OK;
}

sc_status repo_usage_get(sc_repo *r, const uint64_t *ids, size_t n, repo_usage *out) {
    memset(out, 0, sizeof *out * n);
    if (!n) return SC_OK;
    static const char *const sql[3] = {
        "SELECT DISTINCT name FROM graph_calls WHERE caller = ?1 LIMIT 48",
        "SELECT DISTINCT e.name FROM graph_defs d JOIN graph_calls c ON c.name = d.name AND c.caller != d.id"
        " JOIN graph_defs e ON e.id = c.caller WHERE d.id = ?1 LIMIT 48",
        "SELECT (SELECT count(*) FROM graph_calls c WHERE c.name = d.name AND c.caller != d.id),"
        " (SELECT count(*) FROM graph_defs e WHERE e.name = d.name) FROM graph_defs d WHERE d.id = ?1",
    };
    sqlite3_stmt *st[3] = {0};
    sc_status rc = SC_OK;
    for (int k = 0; k < 3; k++)
        if (sqlite3_prepare_v2(r->state, sql[k], -1, &st[k], NULL) != SQLITE_OK) {
            /* no graph tables (a store that never indexed code): nothing is known */
            for (int j = 0; j <= k; j++) sqlite3_finalize(st[j]);
            return SC_OK;
        }
    for (size_t i = 0; rc == SC_OK && i < n; i++) {
        int64_t id = (int64_t)ids[i];
        rc = usage__names(r, st[0], id, &out[i].callees);
        if (rc == SC_OK) rc = usage__names(r, st[1], id, &out[i].callers);
        if (rc != SC_OK) break;
        sqlite3_reset(st[2]);
        sqlite3_bind_int64(st[2], 1, id);
        int step = sqlite3_step(st[2]);
        if (step == SQLITE_ROW) {
            int64_t sites = sqlite3_column_int64(st[2], 0), defs = sqlite3_column_int64(st[2], 1);
            out[i].fanin = defs > 0 ? (float)((double)sites / (double)defs) : 0;
        } else if (step != SQLITE_DONE) {
            rc = repo_fail(r, SC_IOERR, "state database: %s", sqlite3_errmsg(r->state));
        }
    }
    for (int k = 0; k < 3; k++) sqlite3_finalize(st[k]);
    if (rc != SC_OK) repo_usage_clear(out, n);
    return rc;
}

void repo_usage_clear(repo_usage *u, size_t n) {
    for (size_t i = 0; u && i < n; i++) {
        free(u[i].callees);
        free(u[i].callers);
        u[i] = (repo_usage){0};
    }
}
