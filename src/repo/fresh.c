/*
** repo/fresh.c: how fresh an index is (sc_repo_freshness): the files the
** index records against the files of the tree now, compared the way an
** update's first two steps compare them (size and modification time), so
** "stale" counts exactly the files the next sc_repo_update would look at
** again. Nothing is read, parsed or written: a walk and a stat per file.
*/
#include "repo/repo_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A state row: path, size and mtime as state.db recorded them. */
typedef struct fresh_row {
    char *path;    /* relative path (owned) */
    uint64_t size; /* bytes */
    int64_t mtime; /* modification time (ns) */
    bool seen;     /* the walk found it */
} fresh_row;

static int fresh__cmp(const void *a, const void *b) {
    return strcmp(((const fresh_row *)a)->path, ((const fresh_row *)b)->path);
}

/* Read every row of state.db's files table into *rows (sorted by path). */
static sc_status fresh__rows(sc_repo *r, fresh_row **rows, size_t *n) {
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(r->state, "SELECT path, size, mtime FROM files", -1, &st, NULL) != SQLITE_OK)
        return repo_fail(r, SC_IOERR, "cannot read state.db: %s", sqlite3_errmsg(r->state));
    sc_status rc = SC_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!util_grow(rows, &cap, *n + 1, sizeof **rows, 1024)) {
            rc = repo_fail(r, SC_NOMEM, "out of memory");
            break;
        }
        fresh_row *w = &(*rows)[*n];
        w->path = util_strdup((const char *)sqlite3_column_text(st, 0));
        if (!w->path) {
            rc = repo_fail(r, SC_NOMEM, "out of memory");
            break;
        }
        (*n)++;
        w->size = (uint64_t)sqlite3_column_int64(st, 1);
        w->mtime = sqlite3_column_int64(st, 2);
        w->seen = false;
    }
    sqlite3_finalize(st);
    if (*n) qsort(*rows, *n, sizeof **rows, fresh__cmp);
    return rc;
}

sc_status sc_repo_freshness(sc_repo *r, sc_repo_fresh *out) {
    if (!r || !out) return SC_MISUSE;
    memset(out, 0, sizeof *out);
    fresh_row *rows = NULL;
    size_t n_rows = 0;
    sc_status rc = fresh__rows(r, &rows, &n_rows);
    pipeline_file_list list = {0};
    sc_err err = {0};
    sc_walk_options wopt = sc_walk_options_default();
    if (rc == SC_OK && (rc = pipeline_walk(r->root, &wopt, &list, &err)) != SC_OK) repo_fail_err(r, rc, &err);
    size_t rl = strlen(r->root);
    const char *own = !strncmp(r->store_dir, r->root, rl) && r->store_dir[rl] == '/' ? r->store_dir + rl + 1 : NULL;
    size_t own_n = own ? strlen(own) : 0;
    for (size_t i = 0; rc == SC_OK && i < list.n; i++) {
        const char *p = list.items[i].path;
        if (own && !strncmp(p, own, own_n) && p[own_n] == '/') continue; /* the index's own folder */
        out->files_seen++;
        fresh_row key = {.path = (char *)p};
        fresh_row *w = n_rows ? bsearch(&key, rows, n_rows, sizeof *rows, fresh__cmp) : NULL;
        if (!w) {
            out->files_new++;
            continue;
        }
        w->seen = true;
        char fp[PATH_MAX * 2];
        snprintf(fp, sizeof fp, "%s/%s", r->root, p);
        struct stat sb;
        int64_t mtime = 0;
        uint64_t size = list.items[i].size;
        if (stat(fp, &sb) == 0) {
            size = (uint64_t)sb.st_size;
            mtime = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        }
        if (size != w->size || mtime != w->mtime) out->files_changed++;
    }
    out->files_indexed = n_rows;
    for (size_t i = 0; i < n_rows; i++) {
        if (rc == SC_OK && !rows[i].seen) out->files_deleted++;
        free(rows[i].path);
    }
    free(rows);
    pipeline_file_list_free(&list);
    out->files_stale = out->files_new + out->files_changed + out->files_deleted;
    return rc;
}
