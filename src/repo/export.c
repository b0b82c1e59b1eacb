/*
** repo/export.c: portable index files (`semcode export` / `semcode import`).
** An exported index is a snapshot file (store/snapshot.c, kind "export")
** holding every collection of the repository's store (vectors, payloads,
** BM25 terms, graphs), its state.db attached as a file (model id, provider,
** template version, tracked files), and in the manifest's "extra" the model
** id, provider, source commit (git HEAD of the indexed tree, when it is a
** git work tree) and the root it was built from. Another machine imports
** it into a fresh index folder and searches it without the source tree
** (results then come without snippets).
**
** Import is all or nothing: the file is verified first, the index is built
** in DIR.import-<pid> and renamed to DIR only when complete; a failure
** removes that folder, so DIR is as it was (absent or empty).
*/
#include "repo/repo_int.h"
#include "semcode/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <git2.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPO_EXPORT_STATE_BLOB "state.db"

/* The hex id of HEAD of the git work tree containing root, or "" (into out). */
static void repo__head_commit(const char *root, char out[64]) {
    out[0] = '\0';
    git_libgit2_init();
    git_repository *g = NULL;
    git_oid oid;
    if (git_repository_open_ext(&g, root, 0, NULL) == 0 && git_reference_name_to_id(&oid, g, "HEAD") == 0)
        git_oid_tostr(out, 64, &oid);
    git_repository_free(g);
    git_libgit2_shutdown();
}

sc_status sc_repo_export(sc_repo *r, const char *path, sc_snapshot_info *info, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!r || !path) return util_errmsg_out(errmsg, SC_MISUSE, "sc_repo_export: NULL argument");
    char state[PATH_MAX + 32], commit[64];
    snprintf(state, sizeof state, "%s.state.tmp", path);
    unlink(state);
    /* a consistent copy of state.db: VACUUM INTO writes a new database from one read transaction */
    sqlite3_stmt *st = NULL;
    sc_status rc = SC_OK;
    if (sqlite3_prepare_v2(r->state, "VACUUM INTO ?1", -1, &st, NULL) != SQLITE_OK ||
        (sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE)
        rc = repo_fail(r, SC_IOERR, "copying state.db to %s: %s", state, sqlite3_errmsg(r->state));
    sqlite3_finalize(st);
    json_t *extra = json_object();
    static const char *const keys[] = {"model_id", "provider", "template_version", "index_format", "last_index"};
    for (size_t i = 0; rc == SC_OK && i < sizeof keys / sizeof *keys; i++) {
        char *v = repo_meta_get(r, keys[i]);
        if (v) json_object_set_new(extra, keys[i], json_string(v));
        free(v);
    }
    repo__head_commit(r->root, commit);
    json_object_set_new(extra, "source_commit", commit[0] ? json_string(commit) : json_null());
    json_object_set_new(extra, "root", json_string(r->root));
    char *extra_text = json_dumps(extra, JSON_COMPACT);
    json_decref(extra);
    char **colls = NULL;
    size_t n = 0;
    if (rc == SC_OK && !extra_text) rc = repo_fail(r, SC_NOMEM, "out of memory");
    if (rc == SC_OK && sc_collection_list(r->db, &colls, &n) != SC_OK)
        rc = repo_fail(r, SC_IOERR, "%s", sc_db_errmsg(r->db));
    if (rc == SC_OK) {
        sc_snapshot_options opt = sc_snapshot_options_default();
        const char *bn[1] = {REPO_EXPORT_STATE_BLOB}, *bp[1] = {state};
        opt.kind = "export";
        opt.extra_json = extra_text;
        opt.blob_names = bn;
        opt.blob_paths = bp;
        opt.n_blobs = 1;
        sc_status src = sc_snapshot_create(r->db, (const char *const *)colls, n, &opt, path, info);
        if (src != SC_OK) rc = repo_fail(r, src, "%s", sc_db_errmsg(r->db));
    }
    sc_strv_free(colls);
    free(extra_text);
    unlink(state);
    if (rc != SC_OK && errmsg) *errmsg = util_strdup(r->errmsg);
    return rc;
}

/* rm -r of a folder this file made (files and folders only, no links followed). */
static void repo__rmtree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[PATH_MAX + 300];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) repo__rmtree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* true when dir does not exist or is an empty folder. */
static bool repo__dir_free(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT;
    struct dirent *de;
    bool empty = true;
    while (empty && (de = readdir(d))) empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
    closedir(d);
    return empty;
}

/* Point the imported state.db at root (the tree searches read snippets from). */
static sc_status repo__set_root(const char *state, const char *root, char *msg, size_t msg_size) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    sc_status rc = SC_OK;
    if (sqlite3_open_v2(state, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE meta SET value=?1 WHERE key='root'", -1, &st, NULL) != SQLITE_OK ||
        (sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE) {
        snprintf(msg, msg_size, "the exported state.db is not usable: %s", db ? sqlite3_errmsg(db) : "out of memory");
        rc = SC_CORRUPT;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

sc_status sc_repo_import(const char *path, const char *store_dir, const char *root, uint64_t *n_points,
                         char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!path || !store_dir) return util_errmsg_out(errmsg, SC_MISUSE, "sc_repo_import: NULL argument");
    char msg[2 * PATH_MAX + 256] = "", tmp[PATH_MAX], p[PATH_MAX + 32], abs_root[PATH_MAX];
    sc_snapshot_info info = {0};
    sc_status rc = sc_snapshot_verify(path, &info);
    if (rc != SC_OK) return util_errmsg_out(errmsg, rc, sc_db_errmsg(NULL));
    json_t *m = json_loads(info.manifest, 0, NULL);
    sc_snapshot_info_free(&info);
    const char *kind = json_string_value(json_object_get(m, "kind"));
    json_t *colls = json_object_get(m, "collections");
    if (!kind || strcmp(kind, "export")) {
        snprintf(msg, sizeof msg, "%s is a snapshot of kind '%s', not an exported index (restore it with 'semcode "
                 "snapshot restore')", path, kind ? kind : "?");
        json_decref(m);
        return util_errmsg_out(errmsg, SC_INVALID, msg);
    }
    if (!repo__dir_free(store_dir)) {
        snprintf(msg, sizeof msg, "%s exists and is not empty: import into a new folder", store_dir);
        json_decref(m);
        return util_errmsg_out(errmsg, SC_EXISTS, msg);
    }
    snprintf(tmp, sizeof tmp, "%s.import-%d", store_dir, (int)getpid());
    repo__rmtree(tmp);
    if (mkdir(tmp, 0755) != 0) {
        snprintf(msg, sizeof msg, "cannot create %s: %s", tmp, strerror(errno));
        json_decref(m);
        return util_errmsg_out(errmsg, SC_IOERR, msg);
    }
    char *err = NULL;
    snprintf(p, sizeof p, "%s/state.db", tmp);
    if ((rc = sc_snapshot_blob_extract(path, REPO_EXPORT_STATE_BLOB, p, &err)) != SC_OK)
        snprintf(msg, sizeof msg, "%s", err ? err : "out of memory");
    sc_free(err);
    err = NULL;
    /* the folder's final name is the default root: searches work there, without snippets */
    bool created = false;
    if (rc == SC_OK) {
        created = mkdir(store_dir, 0755) == 0;
        const char *want = root ? root : store_dir;
        if (!realpath(want, abs_root)) {
            snprintf(msg, sizeof msg, "--root %s: %s", want, strerror(errno));
            rc = SC_NOTFOUND;
        }
    }
    if (rc == SC_OK) rc = repo__set_root(p, abs_root, msg, sizeof msg);
    sc_db *db = NULL;
    snprintf(p, sizeof p, "%s/store", tmp);
    if (rc == SC_OK && (rc = sc_db_open(p, NULL, &db, &err)) != SC_OK) snprintf(msg, sizeof msg, "%s", err ? err : "");
    sc_free(err);
    uint64_t total = 0;
    for (size_t i = 0; rc == SC_OK && i < json_array_size(colls); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(colls, i), "name"));
        uint64_t k = 0;
        if ((rc = sc_snapshot_restore(db, path, name, name, &k)) != SC_OK)
            snprintf(msg, sizeof msg, "%s", sc_db_errmsg(db));
        total += k;
    }
    sc_db_close(db);
    json_decref(m);
    if (rc == SC_OK) {
        rmdir(store_dir); /* empty (checked above): the complete index takes its place */
        if (rename(tmp, store_dir) != 0) {
            snprintf(msg, sizeof msg, "cannot rename %s to %s: %s", tmp, store_dir, strerror(errno));
            rc = SC_IOERR;
        }
    }
    if (rc != SC_OK) {
        repo__rmtree(tmp);
        if (created) rmdir(store_dir);
        return util_errmsg_out(errmsg, rc, msg);
    }
    if (n_points) *n_points = total;
    return SC_OK;
}
