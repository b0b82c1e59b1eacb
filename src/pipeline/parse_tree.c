/*
** pipeline/parse_tree.c: sc_parse_tree, the walker joined to the parser.
**
** DESIGN. The walk lists every file first (cheap, sequential). Then nth
** workers (util_parallel_run; the calling thread is worker 0) take file
** indexes in walk order (the last window largest first, pipeline__take),
** read and parse the file with their own
** sc_parser, and store the result in its slot. Worker 0 also delivers the
** results to the callback strictly in index order, so output is
** deterministic whatever the scheduling. A worker does not take index i
** until i < delivered + window, which bounds the results held in memory.
** All shared state is under one mutex; the callback runs without it.
*/
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/pipeline.h"
#include "parse/parse.h"

#define PIPELINE__WINDOW 512 /* results parsed ahead of delivery, at most */

typedef struct pipeline__job {
    const char *root;             /* root as given */
    bool root_is_file;            /* the walk found a single file */
    const pipeline_file_list *files;/* what to parse */
    const sc_parse_options *popt; /* parse options */
    const sc_walk_options *wopt;  /* walk options */
    sc_parse_tree_fn fn;          /* consumer */
    void *payload;                /* its state */
    sc_parse_result **slots;      /* result per file index, NULL until parsed */
    bool *filtered;               /* the file was dropped by only_lang: nothing to deliver */
    pthread_mutex_t mu;           /* guards everything below */
    pthread_cond_t cv;            /* signalled on a new result, a delivery or stop */
    bool *taken;                  /* file i was taken by a worker */
    size_t next;                  /* every index below is taken */
    size_t delivered;             /* results handed to fn so far */
    bool stop;                    /* fn asked to stop, or a fatal error */
    bool w0_started;              /* worker 0 (the deliverer) is running */
    sc_status rc;                 /* first failure */
    char errmsg[256];             /* its message */
} pipeline__job;

/* Read a whole file (size from the walk; re-checked by the read). */
static sc_status pipeline__read(const char *fs, uint64_t max, char **out, size_t *n) {
    int fd = open(fs, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return SC_IOERR;
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return SC_IOERR; }
    size_t want = (size_t)st.st_size;
    if ((uint64_t)want > max) want = (size_t)max + 1; /* enough to know it is too large */
    char *buf = malloc(want + 1);
    if (!buf) { close(fd); return SC_NOMEM; }
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    *out = buf;
    *n = got;
    return SC_OK;
}

/* Go import path of the package in directory `dir` (relative to the root,
** "" for the root): the module path of the nearest go.mod above it plus the
** rest of the directory, or without go.mod the directory itself (GOROOT/src
** style: net/http). Writes "" when neither applies. */
static void pipeline__go_import_path(const char *root, const char *dir, char *out, size_t out_size) {
    out[0] = 0;
    char d[4096];
    snprintf(d, sizeof d, "%s", dir);
    for (;;) {
        char p[8192];
        snprintf(p, sizeof p, "%s%s%s/go.mod", root, *d ? "/" : "", d);
        FILE *f = fopen(p, "r");
        if (f) {
            char line[1024];
            while (fgets(line, sizeof line, f)) {
                if (strncmp(line, "module", 6) != 0 || (line[6] != ' ' && line[6] != '\t')) continue;
                char *m = line + 7;
                while (*m == ' ' || *m == '\t' || *m == '"') m++;
                size_t n = strcspn(m, " \t\r\n\"/");
                while (m[n] == '/' && m[n + 1] && !strchr(" \t\r\n\"", m[n + 1])) n += 1 + strcspn(m + n + 1, " \t\r\n\"/");
                m[n] = 0;
                size_t dl = strlen(d);
                const char *rest = dir + dl;
                while (*rest == '/') rest++;
                /* the standard library's modules ("std", "cmd") are not import path prefixes */
                if (!strcmp(m, "std") || (!strcmp(m, "cmd") && !*rest)) snprintf(out, out_size, "%s", rest);
                else if (!strcmp(m, "cmd")) snprintf(out, out_size, "cmd/%s", rest);
                else snprintf(out, out_size, "%s%s%s", m, *rest ? "/" : "", rest);
                break;
            }
            fclose(f);
            return;
        }
        if (!*d) break;
        char *slash = strrchr(d, '/');
        if (slash) *slash = 0;
        else d[0] = 0;
    }
    snprintf(out, out_size, "%s", dir);
}

/* A worker's last Go directory and its import path: files come in walk
** order, so a directory's files mostly go to the same worker in a row and
** the go.mod lookups (a failed open per level) run once per directory. */
typedef struct pipeline__gocache {
    char dir[4096];  /* directory relative to the root */
    char path[4096]; /* its import path ("" if none) */
    bool valid;      /* dir and path are filled */
} pipeline__gocache;

static sc_parse_result *pipeline__parse_one(pipeline__job *j, sc_parser *p, pipeline__gocache *gc, size_t i,
                                          bool *filtered) {
    const pipeline_file *f = &j->files->items[i];
    char fs[8192];
    if (j->root_is_file) snprintf(fs, sizeof fs, "%s", f->path);
    else snprintf(fs, sizeof fs, "%s/%s", j->root, f->path);
    sc_parse_options opt = *j->popt;
    sc_lang lang = opt.lang != SC_LANG_UNKNOWN ? opt.lang : sc_lang_detect(f->path, NULL, 0);
    if (f->size > opt.max_file_size || (opt.skip_generated && parse_path_is_generated(f->path))) {
        if (j->wopt->only_lang != SC_LANG_UNKNOWN && lang != j->wopt->only_lang) { *filtered = true; return NULL; }
        return parse_result_new_skipped(f->path, lang == SC_LANG_UNKNOWN ? SC_LANG_TEXT : lang, f->size,
                                        f->size > opt.max_file_size ? SC_SKIP_TOO_LARGE : SC_SKIP_GENERATED);
    }
    char *buf = NULL;
    size_t n = 0;
    sc_status rc = pipeline__read(fs, opt.max_file_size, &buf, &n);
    if (rc != SC_OK) {
        if (j->wopt->only_lang != SC_LANG_UNKNOWN && lang != j->wopt->only_lang) { *filtered = true; return NULL; }
        return parse_result_new_skipped(f->path, lang == SC_LANG_UNKNOWN ? SC_LANG_TEXT : lang, f->size,
                                        SC_SKIP_UNREADABLE);
    }
    if (lang == SC_LANG_UNKNOWN) lang = sc_lang_detect(f->path, buf, n < 256 ? n : 256);
    if (j->wopt->only_lang != SC_LANG_UNKNOWN && lang != j->wopt->only_lang) {
        free(buf);
        *filtered = true;
        return NULL;
    }
    sc_parse_result *r = NULL;
    opt.lang = lang;
    if (lang == SC_LANG_GO && !j->root_is_file && !opt.go_import_path) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", f->path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        else dir[0] = 0;
        if (!gc->valid || strcmp(gc->dir, dir) != 0) {
            pipeline__go_import_path(j->root, dir, gc->path, sizeof gc->path);
            memcpy(gc->dir, dir, sizeof gc->dir);
            gc->valid = true;
        }
        if (gc->path[0]) opt.go_import_path = gc->path;
    }
    rc = sc_parser_parse(p, f->path, buf, n, &opt, &r);
    free(buf);
    if (rc != SC_OK) return NULL;
    return r;
}

/* Index of the file to parse next, or false if none may be taken now
** (all taken, or the window ahead of delivery is full). In walk order,
** except for the last window of the list: there the largest file left goes
** first, so that no big file starts last and leaves the other cores idle
** at the end. Called with mu held. */
static bool pipeline__take(pipeline__job *j, size_t *out) {
    size_t n = j->files->n;
    while (j->next < n && j->taken[j->next]) j->next++;
    size_t end = j->delivered + PIPELINE__WINDOW < n ? j->delivered + PIPELINE__WINDOW : n;
    if (j->next >= end) return false;
    size_t best = j->next;
    if (end == n)
        for (size_t i = j->next + 1; i < n; i++)
            if (!j->taken[i] && j->files->items[i].size > j->files->items[best].size) best = i;
    j->taken[best] = true;
    *out = best;
    return true;
}

/* Deliver every result that is ready, in order. Called with mu held by
** worker 0; releases it around the callback. */
static void pipeline__deliver(pipeline__job *j) {
    while (!j->stop && j->delivered < j->files->n) {
        size_t i = j->delivered;
        if (!j->slots[i] && !j->filtered[i]) return;
        sc_parse_result *r = j->slots[i];
        j->slots[i] = NULL;
        pthread_mutex_unlock(&j->mu);
        int stop = r ? j->fn(j->payload, r) : 0;
        sc_parse_result_free(r);
        pthread_mutex_lock(&j->mu);
        j->delivered++;
        if (stop) {
            j->stop = true;
            if (j->rc == SC_OK) {
                j->rc = SC_INTERRUPTED;
                snprintf(j->errmsg, sizeof j->errmsg, "stopped by the callback");
            }
        }
        pthread_cond_broadcast(&j->cv);
    }
}

static void pipeline__worker(void *arg, uint32_t ith, uint32_t nth) {
    (void)nth;
    pipeline__job *j = arg;
    sc_parser *p = NULL;
    sc_status prc = sc_parser_new(&p, NULL);
    pipeline__gocache *gc = calloc(1, sizeof *gc);
    if (!gc && prc == SC_OK) {
        sc_parser_free(p);
        p = NULL;
        prc = SC_NOMEM;
    }
    pthread_mutex_lock(&j->mu);
    if (ith == 0) j->w0_started = true;
    if (prc != SC_OK) {
        if (j->rc == SC_OK) {
            j->rc = prc;
            snprintf(j->errmsg, sizeof j->errmsg, "cannot create a parser: out of memory");
        }
        j->stop = true;
        pthread_cond_broadcast(&j->cv);
    }
    for (;;) {
        if (ith == 0) pipeline__deliver(j);
        if (j->stop) break;
        size_t i;
        if (pipeline__take(j, &i)) {
            pthread_mutex_unlock(&j->mu);
            bool filtered = false;
            sc_parse_result *r = pipeline__parse_one(j, p, gc, i, &filtered);
            pthread_mutex_lock(&j->mu);
            if (!r && !filtered) {
                if (j->rc == SC_OK) {
                    j->rc = SC_NOMEM;
                    snprintf(j->errmsg, sizeof j->errmsg, "out of memory parsing '%s'", j->files->items[i].path);
                }
                j->stop = true;
            }
            j->slots[i] = r;
            j->filtered[i] = filtered;
            pthread_cond_broadcast(&j->cv);
            continue;
        }
        if (j->delivered >= j->files->n) break;
        if (ith != 0 && j->next >= j->files->n) break; /* nothing left to take */
        /* Window full and nobody delivering: util_parallel_run ran this slice
        ** before worker 0 (it could not start a thread). Leave the rest to it. */
        if (ith != 0 && !j->w0_started) break;
        pthread_cond_wait(&j->cv, &j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    sc_parser_free(p);
    free(gc);
}

/* sc_parse_tree with its message in err. */
static sc_status pipeline__parse_tree(const char *root, const sc_parse_options *popt, const sc_walk_options *wopt,
                                     sc_parse_tree_fn fn, void *payload, sc_err *err) {
    if (!root || !fn) return sc_err_set(err, SC_MISUSE, "sc_parse_tree: NULL root or callback");
    sc_parse_options pdef = sc_parse_options_default();
    sc_walk_options wdef = sc_walk_options_default();
    if (!popt) popt = &pdef;
    if (!wopt) wopt = &wdef;
    pipeline_file_list files;
    sc_status rc = pipeline_walk(root, wopt, &files, err);
    if (rc != SC_OK) return rc;
    struct stat st;
    pipeline__job j = {.root = root, .root_is_file = stat(root, &st) == 0 && !S_ISDIR(st.st_mode), .files = &files,
                     .popt = popt, .wopt = wopt, .fn = fn, .payload = payload};
    j.slots = calloc(files.n ? files.n : 1, sizeof *j.slots);
    j.filtered = calloc(files.n ? files.n : 1, sizeof *j.filtered);
    j.taken = calloc(files.n ? files.n : 1, sizeof *j.taken);
    if (!j.slots || !j.filtered || !j.taken) {
        free(j.slots);
        free(j.filtered);
        free(j.taken);
        pipeline_file_list_free(&files);
        return sc_err_set(err, SC_NOMEM, "out of memory for %zu files", files.n);
    }
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.cv, NULL);
    uint32_t nth = wopt->n_threads ? wopt->n_threads : util_n_cores();
    if (nth > files.n) nth = files.n ? (uint32_t)files.n : 1;
    util_parallel_run(pipeline__worker, &j, nth);
    for (size_t i = 0; i < files.n; i++) sc_parse_result_free(j.slots[i]);
    pthread_cond_destroy(&j.cv);
    pthread_mutex_destroy(&j.mu);
    free(j.slots);
    free(j.filtered);
    free(j.taken);
    pipeline_file_list_free(&files);
    if (j.rc != SC_OK) sc_err_set(err, j.rc, "%s", j.errmsg);
    return j.rc;
}

sc_status sc_parse_tree(const char *root, const sc_parse_options *popt, const sc_walk_options *wopt,
                        sc_parse_tree_fn fn, void *payload, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    sc_err err = {0};
    sc_status rc = pipeline__parse_tree(root, popt, wopt, fn, payload, &err);
    if (rc != SC_OK) util_errmsg_out(errmsg, rc, err.msg[0] ? err.msg : sc_status_str(rc));
    return rc;
}
