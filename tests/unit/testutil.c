/*
** Helpers shared by the unit tests (see testutil.h).
*/
#include "testutil.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The unit tests run from the source tree (make test does), and their
** binaries live in build/tests/, where sc_model_default_path finds nothing:
** point every test at the shipped model unless the caller chose one. A test
** that needs no model at all unsets the variable itself. */
__attribute__((constructor)) static void tu__default_model(void) {
    setenv("SEMCODE_MODEL", "models/builtin.scm", 0);
}

char *tu_tmpdir(const char *tag) {
    char tmpl[256];
    snprintf(tmpl, sizeof tmpl, "/tmp/semcode-%s-XXXXXX", tag);
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static int tu__rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmdir(char *dir) {
    if (!dir) return;
    nftw(dir, tu__rm, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* A connection to the SQLite file at path (NULL, message on stderr, when it cannot be opened). */
static sqlite3 *tu__sql_open(const char *path) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

int tu_sql_exec(const char *path, const char *sql) {
    sqlite3 *db = tu__sql_open(path);
    if (!db) return -1;
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) fprintf(stderr, "%s: %s: %s\n", path, sql, sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

char *tu_sql_text(const char *path, const char *sql) {
    sqlite3 *db = tu__sql_open(path);
    if (!db) return NULL;
    sqlite3_stmt *st = NULL;
    char *v = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        int step = sqlite3_step(st);
        const char *t = step == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (step == SQLITE_ROW || step == SQLITE_DONE) v = strdup(t ? t : "");
    }
    if (!v) fprintf(stderr, "%s: %s: %s\n", path, sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

int tu_write_file(const char *dir, const char *name, const char *text) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    int w = fputs(text, f);
    return fclose(f) == 0 && w >= 0 ? 0 : -1;
}

sc_status tu_train_tiny_model(const char *dir, const char *out_path, char **msg) {
    static const char *w[] = {"socket", "file", "buffer", "string", "parse", "render", "cache", "thread"};
    char pairs[4096];
    snprintf(pairs, sizeof pairs, "%s/pairs.jsonl", dir);
    *msg = NULL;
    FILE *f = fopen(pairs, "w");
    if (!f) return SC_IOERR;
    uint64_t s = 7;
    for (int i = 0; i < 300; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int a = (int)((s >> 33) % 8), b = (int)((s >> 45) % 8);
        fprintf(f, "{\"doc\":\"Returns the %s of the %s.\",\"code\":\"def get_%s_%s(x):\\n    return x\\n\","
                   "\"language\":\"python\",\"path\":\"a.py\",\"name\":\"n\"}\n",
                w[a], w[b], w[a], w[b]);
    }
    if (fclose(f) != 0) return SC_IOERR;
    sc_train_options o = sc_train_options_default();
    o.pairs_path = pairs;
    o.out_path = out_path;
    o.dim = 32;
    o.epochs = 2;
    o.batch = 32;
    o.min_count = 1;
    o.n_buckets = 64;
    o.threads = 1;
    return sc_model_train(&o, msg);
}

char *tu_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    long sz = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    char *buf = sz >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)sz + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf) return NULL;
    buf[sz] = '\0';
    *size = (size_t)sz;
    return buf;
}

char *tu_payload_by_id(sc_db *db, const char *coll, const char *id) {
    char f[1024];
    snprintf(f, sizeof f, "{\"must\":[{\"key\":\"id\",\"match\":{\"value\":\"%s\"}}]}", id);
    sc_scroll_request req = {.filter_json = f, .limit = 2, .with = {.payload = true}};
    sc_record_list *l = NULL;
    sc_point_id next;
    bool more;
    if (sc_points_scroll(db, coll, &req, &l, &next, &more) != SC_OK) return NULL;
    char *p = l->n == 1 && l->items[0].payload_json ? strdup(l->items[0].payload_json) : NULL;
    sc_record_list_free(l);
    return p;
}

uint64_t tu_next(tu_rng *r) {
    uint64_t x = r->s += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

float tu_uniform(tu_rng *r) { return (float)((double)(tu_next(r) >> 11) / 9007199254740992.0 * 2.0 - 1.0); }

float tu_unit(tu_rng *r) { return (float)((double)(tu_next(r) >> 40) / (double)(1ull << 24)); }

void tu_fill(tu_rng *r, float *v, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = tu_uniform(r);
}

sc_status tu_db_open(const char *path, const sc_db_options *opt, sc_db **out, char *err, size_t err_size) {
    char *msg = NULL;
    sc_status rc = sc_db_open(path, opt, out, &msg);
    if (err && err_size) snprintf(err, err_size, "%s", msg ? msg : "");
    sc_free(msg);
    return rc;
}

/* ==== Store fixture ==== */

int tu_store_setup(void **state) {
    tu_store *f = calloc(1, sizeof *f);
    if (!f || !(f->dir = tu_tmpdir("store"))) {
        free(f);
        return -1;
    }
    char err[512];
    if (tu_db_open(f->dir, NULL, &f->db, err, sizeof err) != SC_OK) {
        fprintf(stderr, "open: %s\n", err);
        tu_rmdir(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int tu_store_teardown(void **state) {
    tu_store *f = *state;
    sc_db_close(f->db);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

sc_status tu_store_reopen(tu_store *f) {
    sc_db_close(f->db);
    f->db = NULL;
    char err[512];
    sc_status rc = tu_db_open(f->dir, NULL, &f->db, err, sizeof err);
    if (rc != SC_OK) fprintf(stderr, "reopen: %s\n", err);
    return rc;
}

sc_status tu_store_fresh(tu_store *f) {
    sc_db_close(f->db);
    f->db = NULL;
    tu_rmdir(f->dir);
    if (!(f->dir = tu_tmpdir("store"))) return SC_IOERR;
    return tu_db_open(f->dir, NULL, &f->db, NULL, 0);
}

int tu_store_sql(const char *dir, const char *sql) {
    char p[4096];
    snprintf(p, sizeof p, "%s/store.db", dir);
    return tu_sql_exec(p, sql);
}

char *tu_store_format(const char *dir) {
    char p[4096];
    snprintf(p, sizeof p, "%s/store.db", dir);
    return tu_sql_text(p, "SELECT value FROM meta WHERE key='format_version'");
}
