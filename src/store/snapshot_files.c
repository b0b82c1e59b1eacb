/*
** store/snapshot_files.c: the snapshot folder beside a store (the
** STORE/snapshots/<collection>/ files that `semcode snapshot` and the
** server's /collections/{name}/snapshots endpoints share): naming, taking,
** listing, finding and deleting snapshots. The file format is snapshot.c's.
** Names that come from a request are checked here, so that no name can
** reach outside the collection's folder.
*/
#include "semcode/snapshot.h"
#include "store/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t snapfiles__counter; /* distinguishes snapshots taken in the same second */

char *sc_snapshot_dir(sc_db *db, const char *coll) {
    if (!db) return NULL;
    util_buf b = {0};
    util_buf_printf(&b, "%s/snapshots/", db->path);
    if (!coll) { /* whole-store snapshots: a name no collection maps to */
        util_buf_puts(&b, ".full");
        if (!b.oom) return b.data;
        util_buf_free(&b);
        return NULL;
    }
    bool plain = *coll != '\0';
    for (const char *p = coll; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_'))
            plain = false;
    if (plain) util_buf_puts(&b, coll);
    else {
        util_buf_puts(&b, "x");
        for (const unsigned char *p = (const unsigned char *)coll; *p; p++) util_buf_printf(&b, "%02x", *p);
    }
    if (b.oom) {
        util_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* A valid snapshot file name: [A-Za-z0-9._-], no leading '.', ".snapshot" at the end. */
static bool snapfiles__name_ok(const char *name) {
    size_t n = strlen(name);
    if (n < 10 || n > 200 || name[0] == '.' || strcmp(name + n - 9, ".snapshot")) return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.'))
            return false;
    return true;
}

sc_status sc_snapshot_path(sc_db *db, const char *coll, const char *name, char **out) {
    if (!db || !name || !out) return store_fail(SC_MISUSE, "sc_snapshot_path: NULL argument");
    if (!snapfiles__name_ok(name)) return store_fail(SC_NOTFOUND, "Snapshot %s not found", name);
    char *dir = sc_snapshot_dir(db, coll);
    if (!dir) return store_fail(SC_NOMEM, "out of memory");
    util_buf b = {0};
    util_buf_printf(&b, "%s/%s", dir, name);
    free(dir);
    if (b.oom) {
        util_buf_free(&b);
        return store_fail(SC_NOMEM, "out of memory");
    }
    struct stat st;
    if (stat(b.data, &st) != 0 || !S_ISREG(st.st_mode)) {
        util_buf_free(&b);
        return store_fail(SC_NOTFOUND, "Snapshot %s not found", name);
    }
    *out = b.data;
    return SC_OK;
}

/* mkdir -p of the two levels below the store. */
static sc_status snapfiles__mkdirs(sc_db *db, const char *dir) {
    char top[4200];
    snprintf(top, sizeof top, "%s/snapshots", db->path);
    if ((mkdir(top, 0755) != 0 && errno != EEXIST) || (mkdir(dir, 0755) != 0 && errno != EEXIST))
        return store_fail(SC_IOERR, "cannot create %s: %s", dir, strerror(errno));
    return SC_OK;
}

sc_status sc_snapshot_take(sc_db *db, const char *coll, sc_snapshot_entry *out) {
    if (!db) return store_fail(SC_MISUSE, "sc_snapshot_take: NULL argument");
    if (coll && !sc_collection_exists(db, coll)) return store_fail(SC_NOTFOUND, "Collection `%s` doesn't exist!", coll);
    char *dir = sc_snapshot_dir(db, coll);
    if (!dir) return store_fail(SC_NOMEM, "out of memory");
    sc_status rc = snapfiles__mkdirs(db, dir);
    char name[300], path[4600], sum[4700], when[32];
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%d-%H-%M-%S", gmtime_r(&now, &tmv));
    uint64_t k = __atomic_add_fetch(&snapfiles__counter, 1, __ATOMIC_RELAXED);
    /* the file name keeps only the characters a snapshot name may have */
    char safe[64];
    size_t j = 0;
    for (const char *p = coll ? coll : "full-snapshot"; *p && j < sizeof safe - 1; p++)
        safe[j++] = ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                     *p == '_')
                        ? *p
                        : '_';
    safe[j] = '\0';
    snprintf(name, sizeof name, "%s-%s-%llu-%d.snapshot", *safe ? safe : "c", when, (unsigned long long)k,
             (int)getpid());
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(sum, sizeof sum, "%s.sha256", path);
    free(dir);
    sc_snapshot_info info = {0};
    const char *one[1] = {coll};
    char **all = NULL;
    size_t n_all = 0;
    sc_snapshot_options opt = sc_snapshot_options_default();
    opt.kind = coll ? "collection" : "full";
    if (rc == SC_OK && !coll) rc = sc_collection_list(db, &all, &n_all);
    if (rc == SC_OK)
        rc = sc_snapshot_create(db, coll ? one : (const char *const *)all, coll ? 1 : n_all, &opt, path, &info);
    sc_strv_free(all);
    if (rc == SC_OK) {
        FILE *f = fopen(sum, "w");
        if (!f || fprintf(f, "%s  %s\n", info.sha256, name) < 0 || fclose(f) != 0) {
            if (f) fclose(f);
            unlink(path);
            rc = store_fail(SC_IOERR, "cannot write %s: %s", sum, strerror(errno));
        }
    }
    if (rc == SC_OK && out) {
        *out = (sc_snapshot_entry){.name = util_strdup(name), .size = info.size, .mtime = (int64_t)now};
        memcpy(out->sha256, info.sha256, sizeof out->sha256);
        if (!out->name) rc = store_fail(SC_NOMEM, "out of memory");
    }
    sc_snapshot_info_free(&info);
    return rc;
}

static int snapfiles__cmp(const void *a, const void *b) {
    const sc_snapshot_entry *x = a, *y = b;
    if (x->mtime != y->mtime) return x->mtime < y->mtime ? -1 : 1;
    return strcmp(x->name, y->name);
}

sc_status sc_snapshot_list(sc_db *db, const char *coll, sc_snapshot_entry **out, size_t *n_out) {
    if (!db || !out || !n_out) return store_fail(SC_MISUSE, "sc_snapshot_list: NULL argument");
    *out = NULL;
    *n_out = 0;
    char *dir = sc_snapshot_dir(db, coll);
    if (!dir) return store_fail(SC_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        free(dir);
        return e == ENOENT ? SC_OK
                           : store_fail(SC_IOERR, "cannot list snapshots of `%s`: %s", coll ? coll : "(store)",
                                        strerror(e));
    }
    sc_snapshot_entry *v = NULL;
    size_t n = 0, cap = 0;
    sc_status rc = SC_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!snapfiles__name_ok(de->d_name)) continue;
        char p[4600];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (!util_grow(&v, &cap, n + 1, sizeof *v, 8) || !(v[n].name = util_strdup(de->d_name))) {
            rc = store_fail(SC_NOMEM, "out of memory");
            break;
        }
        v[n].size = (uint64_t)st.st_size;
        v[n].mtime = (int64_t)st.st_mtime;
        v[n].sha256[0] = '\0';
        strncat(p, ".sha256", sizeof p - strlen(p) - 1);
        FILE *f = fopen(p, "r");
        char hex[65] = {0};
        if (f && fscanf(f, "%64[0-9a-f]", hex) == 1 && strlen(hex) == 64) memcpy(v[n].sha256, hex, sizeof hex);
        if (f) fclose(f);
        n++;
    }
    closedir(d);
    free(dir);
    if (rc != SC_OK) {
        sc_snapshot_entries_free(v, n);
        return rc;
    }
    if (n) qsort(v, n, sizeof *v, snapfiles__cmp);
    *out = v;
    *n_out = n;
    return SC_OK;
}

void sc_snapshot_entries_free(sc_snapshot_entry *e, size_t n) {
    for (size_t i = 0; e && i < n; i++) free(e[i].name);
    free(e);
}

sc_status sc_snapshot_remove(sc_db *db, const char *coll, const char *name) {
    char *path = NULL;
    sc_status rc = sc_snapshot_path(db, coll, name, &path);
    if (rc != SC_OK) return rc;
    char sum[4700];
    snprintf(sum, sizeof sum, "%s.sha256", path);
    if (unlink(path) != 0) rc = store_fail(SC_IOERR, "cannot delete %s: %s", path, strerror(errno));
    unlink(sum);
    free(path);
    return rc;
}
