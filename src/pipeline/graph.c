/*
** pipeline/graph.c: the call-graph tables of state.db (issue 19), written
** with each file's state row in the same transaction.
**
** DESIGN (docs/FILE_FORMATS.md, "Call graph")
** - graph_defs: one row per entity but chunks (id = the point id), so the
**   resolver (src/repo/calls.c) finds candidates by name without reading
**   the store; graph_calls: the file's call sites with the point id of the
**   innermost entity around them (0 at top level); graph_imports: what the
**   file imports. Rows of a file are replaced whenever its state row is.
** - Edges are not stored: they are resolved when read, against the defs of
**   the whole index as it is then, so a change in one file never leaves a
**   stale edge in another.
** - The tables are created on open (IF NOT EXISTS): older builds ignore
**   them, and an index made before them has meta `call_graph` unset, which
**   makes the next update run parse every file once to fill them.
*/
#include "pipeline/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse.h"

sc_status pipeline_graph_schema(sqlite3 *state, sc_err *err) {
    return pipeline_state_exec(
        state,
        "CREATE TABLE IF NOT EXISTS graph_defs(id INTEGER PRIMARY KEY, path TEXT NOT NULL, lang TEXT NOT NULL,"
        " kind TEXT NOT NULL, name TEXT NOT NULL, qname TEXT NOT NULL, parent TEXT, start_line INTEGER NOT NULL,"
        " end_line INTEGER NOT NULL);"
        "CREATE INDEX IF NOT EXISTS graph_defs_name ON graph_defs(name);"
        "CREATE INDEX IF NOT EXISTS graph_defs_path ON graph_defs(path);"
        "CREATE TABLE IF NOT EXISTS graph_calls(path TEXT NOT NULL, caller INTEGER NOT NULL, name TEXT NOT NULL,"
        " receiver TEXT, kind INTEGER NOT NULL, line INTEGER NOT NULL, recv_type TEXT);"
        "CREATE INDEX IF NOT EXISTS graph_calls_name ON graph_calls(name);"
        "CREATE INDEX IF NOT EXISTS graph_calls_caller ON graph_calls(caller);"
        "CREATE INDEX IF NOT EXISTS graph_calls_path ON graph_calls(path);"
        "CREATE TABLE IF NOT EXISTS graph_imports(path TEXT NOT NULL, local TEXT NOT NULL, module TEXT NOT NULL,"
        " symbol TEXT, line INTEGER NOT NULL);"
        "CREATE INDEX IF NOT EXISTS graph_imports_path ON graph_imports(path);",
        err);
}

/* Run one statement with a path bound as ?1. */
static sc_status graph__by_path(sqlite3 *state, const char *sql, const char *path, sc_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(state, sql, -1, &st, NULL) != SQLITE_OK)
        return sc_err_set(err, SC_IOERR, "state database: %s", sqlite3_errmsg(state));
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? SC_OK : sc_err_set(err, SC_IOERR, "state database: %s", sqlite3_errmsg(state));
}

sc_status pipeline_graph_forget(sqlite3 *state, const char *path, sc_err *err) {
    sc_status rc = graph__by_path(state, "DELETE FROM graph_defs WHERE path=?1", path, err);
    if (rc == SC_OK) rc = graph__by_path(state, "DELETE FROM graph_calls WHERE path=?1", path, err);
    if (rc == SC_OK) rc = graph__by_path(state, "DELETE FROM graph_imports WHERE path=?1", path, err);
    return rc;
}

static sc_status graph__step(sqlite3 *state, sqlite3_stmt *st, sc_err *err) {
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    return step == SQLITE_DONE ? SC_OK : sc_err_set(err, SC_IOERR, "state database: %s", sqlite3_errmsg(state));
}

sc_status pipeline_graph_write(sqlite3 *state, const char *path, const sc_parse_result *res, sc_err *err) {
    sc_status rc = pipeline_graph_forget(state, path, err);
    if (rc != SC_OK || !res || res->skipped != SC_SKIP_NONE) return rc;
    uint32_t n_calls = 0, n_imps = 0;
    const parse_call *calls = parse_result_calls(res, &n_calls);
    const parse_import *imps = parse_result_imports(res, &n_imps);
    uint64_t *ids = calloc(res->n_entities ? res->n_entities : 1, sizeof *ids);
    if (!ids) return sc_err_set(err, SC_NOMEM, "out of memory writing the call graph of %s", path);
    sqlite3_stmt *d = NULL, *c = NULL, *im = NULL;
    if (sqlite3_prepare_v2(state,
                           "INSERT OR REPLACE INTO graph_defs(id, path, lang, kind, name, qname, parent, start_line,"
                           " end_line) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                           -1, &d, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(state,
                           "INSERT INTO graph_calls(path, caller, name, receiver, kind, line, recv_type)"
                           " VALUES(?1,?2,?3,?4,?5,?6,?7)",
                           -1, &c, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(state,
                           "INSERT INTO graph_imports(path, local, module, symbol, line) VALUES(?1,?2,?3,?4,?5)", -1,
                           &im, NULL) != SQLITE_OK)
        rc = sc_err_set(err, SC_IOERR, "state database: %s", sqlite3_errmsg(state));
    const char *lang = sc_lang_name(res->lang);
    for (uint32_t i = 0; rc == SC_OK && i < res->n_entities; i++) {
        const sc_entity *e = &res->entities[i];
        if (e->kind == SC_ENTITY_KIND_CHUNK) continue;
        ids[i] = pipeline_entity_id(path, e, pipeline_entity_ordinal(res, i));
        const sc_entity *pe = e->parent >= 0 ? &res->entities[e->parent] : NULL;
        sqlite3_bind_int64(d, 1, (sqlite3_int64)ids[i]);
        sqlite3_bind_text(d, 2, path, -1, SQLITE_STATIC);
        sqlite3_bind_text(d, 3, lang, -1, SQLITE_STATIC);
        sqlite3_bind_text(d, 4, sc_entity_kind_name(e->kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(d, 5, e->name ? e->name : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(d, 6, e->qualified_name ? e->qualified_name : "", -1, SQLITE_STATIC);
        if (pe && pe->qualified_name) sqlite3_bind_text(d, 7, pe->qualified_name, -1, SQLITE_STATIC);
        else sqlite3_bind_null(d, 7);
        sqlite3_bind_int64(d, 8, e->start_line);
        sqlite3_bind_int64(d, 9, e->end_line);
        rc = graph__step(state, d, err);
    }
    for (uint32_t i = 0; rc == SC_OK && i < n_calls; i++) {
        const parse_call *k = &calls[i];
        sqlite3_bind_text(c, 1, path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(c, 2, k->caller >= 0 && (uint32_t)k->caller < res->n_entities ? (sqlite3_int64)ids[k->caller] : 0);
        sqlite3_bind_text(c, 3, k->name, -1, SQLITE_STATIC);
        if (k->receiver) sqlite3_bind_text(c, 4, k->receiver, -1, SQLITE_STATIC);
        else sqlite3_bind_null(c, 4);
        sqlite3_bind_int(c, 5, k->kind);
        sqlite3_bind_int64(c, 6, k->line);
        if (k->recv_type) sqlite3_bind_text(c, 7, k->recv_type, -1, SQLITE_STATIC);
        else sqlite3_bind_null(c, 7);
        rc = graph__step(state, c, err);
    }
    for (uint32_t i = 0; rc == SC_OK && i < n_imps; i++) {
        const parse_import *k = &imps[i];
        sqlite3_bind_text(im, 1, path, -1, SQLITE_STATIC);
        sqlite3_bind_text(im, 2, k->local, -1, SQLITE_STATIC);
        sqlite3_bind_text(im, 3, k->module, -1, SQLITE_STATIC);
        if (k->symbol) sqlite3_bind_text(im, 4, k->symbol, -1, SQLITE_STATIC);
        else sqlite3_bind_null(im, 4);
        sqlite3_bind_int64(im, 5, k->line);
        rc = graph__step(state, im, err);
    }
    sqlite3_finalize(d);
    sqlite3_finalize(c);
    sqlite3_finalize(im);
    free(ids);
    return rc;
}
