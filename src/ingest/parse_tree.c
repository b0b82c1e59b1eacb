/*
** ingest/parse_tree.c: sc_parse_tree, the walker joined to the parser.
**
** DESIGN. The walk lists every file first (cheap, sequential). Then nth
** workers (util_parallel_run; the calling thread is worker 0) take file
** indexes from a shared counter, read and parse the file with their own
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

#include "ingest/ingest.h"
#include "parse/parse.h"

#define INGEST__WINDOW 512 /* results parsed ahead of delivery, at most */

sc_walk_options sc_walk_options_default(void) {
    return (sc_walk_options){.n_threads = 0, .use_gitignore = true, .skip_vendored = true,
                             .only_lang = SC_LANG_UNKNOWN};
}

typedef struct ingest__job {
    const char *root;             /* root as given */
    bool root_is_file;            /* the walk found a single file */
    const ingest_file_list *files;/* what to parse */
    const sc_parse_options *popt; /* parse options */
    const sc_walk_options *wopt;  /* walk options */
    sc_parse_tree_fn fn;          /* consumer */
    void *payload;                /* its state */
    sc_parse_result **slots;      /* result per file index, NULL until parsed */
    bool *filtered;               /* the file was dropped by only_lang: nothing to deliver */
    pthread_mutex_t mu;           /* guards everything below */
    pthread_cond_t cv;            /* signalled on a new result, a delivery or stop */
    size_t next;                  /* next index to take */
    size_t delivered;             /* results handed to fn so far */
    bool stop;                    /* fn asked to stop, or a fatal error */
    sc_status rc;                 /* first failure */
    char errmsg[256];             /* its message */
} ingest__job;

/* Read a whole file (size from the walk; re-checked by the read). */
static sc_status ingest__read(const char *fs, uint64_t max, char **out, size_t *n) {
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

static sc_parse_result *ingest__parse_one(ingest__job *j, sc_parser *p, size_t i, bool *filtered) {
    const ingest_file *f = &j->files->items[i];
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
    sc_status rc = ingest__read(fs, opt.max_file_size, &buf, &n);
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
    rc = sc_parser_parse(p, f->path, buf, n, &opt, &r);
    free(buf);
    if (rc != SC_OK) return NULL;
    return r;
}

/* Deliver every result that is ready, in order. Called with mu held by
** worker 0; releases it around the callback. */
static void ingest__deliver(ingest__job *j) {
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

static void ingest__worker(void *arg, uint32_t ith, uint32_t nth) {
    (void)nth;
    ingest__job *j = arg;
    sc_parser *p = NULL;
    sc_status prc = sc_parser_new(&p);
    pthread_mutex_lock(&j->mu);
    if (prc != SC_OK) {
        if (j->rc == SC_OK) {
            j->rc = prc;
            snprintf(j->errmsg, sizeof j->errmsg, "cannot create a parser: out of memory");
        }
        j->stop = true;
        pthread_cond_broadcast(&j->cv);
    }
    for (;;) {
        if (ith == 0) ingest__deliver(j);
        if (j->stop) break;
        if (j->next < j->files->n && j->next < j->delivered + INGEST__WINDOW) {
            size_t i = j->next++;
            pthread_mutex_unlock(&j->mu);
            bool filtered = false;
            sc_parse_result *r = ingest__parse_one(j, p, i, &filtered);
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
        pthread_cond_wait(&j->cv, &j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    sc_parser_free(p);
}

sc_status sc_parse_tree(const char *root, const sc_parse_options *popt, const sc_walk_options *wopt,
                        sc_parse_tree_fn fn, void *payload, char *err, size_t err_size) {
    if (err && err_size) err[0] = 0;
    if (!root || !fn) {
        if (err && err_size) snprintf(err, err_size, "sc_parse_tree: NULL root or callback");
        return SC_MISUSE;
    }
    sc_parse_options pdef = sc_parse_options_default();
    sc_walk_options wdef = sc_walk_options_default();
    if (!popt) popt = &pdef;
    if (!wopt) wopt = &wdef;
    ingest_file_list files;
    sc_err e = {0};
    sc_status rc = ingest_walk(root, wopt, &files, &e);
    if (rc != SC_OK) {
        if (err && err_size) snprintf(err, err_size, "%s", e.msg);
        return rc;
    }
    struct stat st;
    ingest__job j = {.root = root, .root_is_file = stat(root, &st) == 0 && !S_ISDIR(st.st_mode), .files = &files,
                     .popt = popt, .wopt = wopt, .fn = fn, .payload = payload};
    j.slots = calloc(files.n ? files.n : 1, sizeof *j.slots);
    j.filtered = calloc(files.n ? files.n : 1, sizeof *j.filtered);
    if (!j.slots || !j.filtered) {
        free(j.slots);
        free(j.filtered);
        ingest_file_list_free(&files);
        if (err && err_size) snprintf(err, err_size, "out of memory for %zu files", files.n);
        return SC_NOMEM;
    }
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.cv, NULL);
    uint32_t nth = wopt->n_threads ? wopt->n_threads : util_n_cores();
    if (nth > files.n) nth = files.n ? (uint32_t)files.n : 1;
    util_parallel_run(ingest__worker, &j, nth);
    for (size_t i = 0; i < files.n; i++) sc_parse_result_free(j.slots[i]);
    pthread_cond_destroy(&j.cv);
    pthread_mutex_destroy(&j.mu);
    free(j.slots);
    free(j.filtered);
    ingest_file_list_free(&files);
    if (j.rc != SC_OK && err && err_size) snprintf(err, err_size, "%s", j.errmsg);
    return j.rc;
}
