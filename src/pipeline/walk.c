/*
** pipeline/walk.c: the repository walker. Lists the files under a root in a
** deterministic order (entries sorted by name, depth first), leaving out
** what git ignores and what .semcodeignore files add (ignore.c, libgit2),
** and always skipping .git and node_modules (and, on request, vendored
** directories). An ignored directory is not entered. Symbolic links are never followed, as git does not follow
** them: a file or folder a link points to inside the tree is listed once,
** under its own (real) path, and one outside the tree is not listed at
** all. A set of visited directories (device, inode) still ends any loop a
** bind mount could make.
*/
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline/pipeline.h"

#define PIPELINE__MAX_DEPTH 128

sc_walk_options sc_walk_options_default(void) {
    return (sc_walk_options){.n_threads = 0, .use_gitignore = true, .skip_vendored = true,
                             .only_lang = SC_LANG_UNKNOWN};
}

bool pipeline_dir_is_skipped(const char *name, bool skip_vendored) {
    static const char *const always[] = {".git", ".hg", ".svn", "node_modules", NULL};
    static const char *const vendored[] = {"vendor", "third_party", "third-party", "__pycache__",
                                           ".venv", "venv", ".tox", "bower_components", ".mypy_cache",
                                           ".pytest_cache", NULL};
    for (int i = 0; always[i]; i++)
        if (!strcmp(name, always[i])) return true;
    if (skip_vendored)
        for (int i = 0; vendored[i]; i++)
            if (!strcmp(name, vendored[i])) return true;
    return false;
}

/* ==== Visited directories ==== */

typedef struct pipeline__dirset {
    uint64_t *keys; /* hash of (dev, ino), 0 = empty slot */
    size_t cap;     /* power of two */
    size_t n;       /* used */
} pipeline__dirset;

/* Insert; false if already present (or out of memory, which also stops the descent). */
static bool pipeline__dirset_add(pipeline__dirset *s, dev_t dev, ino_t ino) {
    if (s->n * 2 >= s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        uint64_t *nk = calloc(nc, sizeof *nk);
        if (!nk) return false;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->keys[i]) continue;
            size_t j = s->keys[i] & (nc - 1);
            while (nk[j]) j = (j + 1) & (nc - 1);
            nk[j] = s->keys[i];
        }
        free(s->keys);
        s->keys = nk;
        s->cap = nc;
    }
    uint64_t k = util_mix64(((uint64_t)dev * 0x9E3779B97F4A7C15ull) ^ (uint64_t)ino) | 1;
    size_t j = k & (s->cap - 1);
    while (s->keys[j]) {
        if (s->keys[j] == k) return false;
        j = (j + 1) & (s->cap - 1);
    }
    s->keys[j] = k;
    s->n++;
    return true;
}

/* ==== Walk ==== */

typedef struct pipeline__walk {
    const sc_walk_options *opt; /* options */
    const char *root;           /* root as given */
    pipeline_ignore *ig;          /* ignore rules, NULL without use_gitignore */
    pipeline__dirset seen;        /* directories visited */
    pipeline_file_list *out;      /* result */
    sc_err *err;                /* error sink */
} pipeline__walk;

static int pipeline__cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static sc_status pipeline__add_file(pipeline__walk *w, const char *rel, uint64_t size) {
    pipeline_file_list *l = w->out;
    if (!util_grow(&l->items, &l->cap, l->n + 1, sizeof *l->items, 256))
        return sc_err_set(w->err, SC_NOMEM, "out of memory listing files");
    char *p = util_strdup(rel);
    if (!p) return sc_err_set(w->err, SC_NOMEM, "out of memory listing files");
    l->items[l->n++] = (pipeline_file){p, size};
    return SC_OK;
}

static sc_status pipeline__dir(pipeline__walk *w, const char *rel, int depth) {
    if (depth > PIPELINE__MAX_DEPTH) return SC_OK;
    char fs[PATH_MAX];
    if ((size_t)snprintf(fs, sizeof fs, "%s%s%s", w->root, *rel ? "/" : "", rel) >= sizeof fs) return SC_OK;
    DIR *d = opendir(fs);
    if (!d) {
        if (depth == 0) return sc_err_set(w->err, SC_IOERR, "cannot open directory '%s': %s", fs, strerror(errno));
        return SC_OK; /* unreadable subdirectory: skip it */
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    sc_status rc = SC_OK;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (!util_grow(&names, &cap, n + 1, sizeof *names, 64)) { rc = SC_NOMEM; break; }
        if (!(names[n] = util_strdup(de->d_name))) { rc = SC_NOMEM; break; }
        n++;
    }
    closedir(d);
    if (rc == SC_OK && n) qsort(names, n, sizeof *names, pipeline__cmp);

    size_t mark = 0;
    if (rc == SC_OK && w->ig) rc = pipeline_ignore_enter(w->ig, rel, fs, &mark, w->err);
    for (size_t i = 0; i < n && rc == SC_OK; i++) {
        const char *name = names[i];
        char child_rel[PATH_MAX], child_fs[PATH_MAX];
        if ((size_t)snprintf(child_rel, sizeof child_rel, "%s%s%s", rel, *rel ? "/" : "", name) >= sizeof child_rel ||
            (size_t)snprintf(child_fs, sizeof child_fs, "%s/%s", fs, name) >= sizeof child_fs)
            continue;
        struct stat st;
        if (lstat(child_fs, &st) != 0) continue;
        if (S_ISLNK(st.st_mode)) {
            w->out->n_links_skipped++; /* its target, when inside the tree, is walked under its real path */
            continue;
        }
        bool ignored = false;
        if (S_ISDIR(st.st_mode)) {
            bool skipped = pipeline_dir_is_skipped(name, w->opt->skip_vendored);
            if (!skipped && w->ig && (rc = pipeline_ignore_check(w->ig, child_rel, true, &ignored, w->err)) != SC_OK)
                break;
            if (skipped || ignored) {
                w->out->n_ignored++;
                continue;
            }
            if (!pipeline__dirset_add(&w->seen, st.st_dev, st.st_ino)) {
                w->out->n_links_skipped++; /* a second path to a visited directory (bind mount) */
                continue;
            }
            rc = pipeline__dir(w, child_rel, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            if (w->ig && (rc = pipeline_ignore_check(w->ig, child_rel, false, &ignored, w->err)) != SC_OK) break;
            if (ignored) {
                w->out->n_ignored++;
                continue;
            }
            rc = pipeline__add_file(w, child_rel, (uint64_t)st.st_size);
        }
        /* sockets, fifos, devices: never read */
    }
    pipeline_ignore_leave(w->ig, mark);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc == SC_NOMEM) return sc_err_set(w->err, SC_NOMEM, "out of memory walking '%s'", fs);
    return rc;
}

sc_status pipeline_walk(const char *root, const sc_walk_options *opt, pipeline_file_list *out, sc_err *err) {
    if (!root || !out) return sc_err_set(err, SC_MISUSE, "pipeline_walk: NULL root or output");
    sc_walk_options defaults = sc_walk_options_default();
    if (!opt) opt = &defaults;
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(root, &st) != 0) return sc_err_set(err, SC_IOERR, "cannot read '%s': %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        pipeline__walk w = {.opt = opt, .out = out, .err = err};
        return pipeline__add_file(&w, root, (uint64_t)st.st_size);
    }
    pipeline__walk w = {.opt = opt, .root = root, .out = out, .err = err};
    if (!pipeline__dirset_add(&w.seen, st.st_dev, st.st_ino)) return sc_err_set(err, SC_NOMEM, "out of memory walking '%s'", root);
    sc_status rc = opt->use_gitignore ? pipeline_ignore_open(root, &w.ig, err) : SC_OK;
    if (rc == SC_OK) rc = pipeline__dir(&w, "", 0);
    pipeline_ignore_close(w.ig);
    free(w.seen.keys);
    if (rc != SC_OK) pipeline_file_list_free(out);
    return rc;
}

void pipeline_file_list_free(pipeline_file_list *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->items[i].path);
    free(l->items);
    memset(l, 0, sizeof *l);
}
