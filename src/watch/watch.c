/*
** watch/watch.c: the watcher thread of include/semcode/watch.h. It follows
** a repository's tree with inotify, coalesces the events (debounce.c) and
** runs the incremental update (sc_repo_update) when they settle.
**
** DESIGN
** - One thread per watcher does everything: reads events, keeps the watch
**   descriptors, decides when a batch is due, runs the update. Nothing of
**   the watcher is shared with other threads but the stop request (an
**   eventfd and an atomic flag) and the repository, used only between the
**   caller's lock and unlock.
** - The update itself compares the whole tree with the index (size and
**   mtime first, so unchanged files cost a stat), which is what makes
**   renames, deletes and branch switches need no bookkeeping here: events
**   only say *when* to update. The paths they name decide *whether*: a
**   batch whose every path is ignored (build output, .git) starts nothing.
** - Watches: every directory the walk of an update would enter (the same
**   ignore rules: .gitignore and .semcodeignore through pipeline_ignore,
**   always-skipped and vendored names), never the index folder, so the
**   update's own writes make no events. A new directory is watched when its
**   creation is read; files written into it before that are still found,
**   since the update that its creation starts walks it.
** - A lost queue (IN_Q_OVERFLOW) or a directory moved inside the tree (its
**   descriptors would keep their old paths) re-watches everything from a
**   fresh inotify instance, then updates.
** - CPU cap: after an update of t seconds the thread rests
**   t * (100 / cpu_percent - 1) seconds, events queueing meanwhile (a
**   queue that overflows during the rest is a rescan, as above).
*/
#include "watch/watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/pipeline.h"
#include "semcode/watch.h"
#include "util/util.h"

#define WATCH__MASK                                                                                                  \
    (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | \
     IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

struct sc_watch {
    sc_repo *repo;           /* borrowed repository */
    sc_watch_options opt;    /* options */
    char *root;              /* owned absolute root of the tree */
    char *store_rel;         /* owned path of the index folder relative to root, NULL when outside the tree */
    int ifd;                 /* inotify instance (watcher thread; replaced on a rescan) */
    int stop_fd;             /* eventfd written by sc_watch_stop */
    int stopping;            /* set by sc_watch_stop (__atomic) */
    pthread_t thread;        /* the watcher thread */
    char **wd_path;          /* watcher thread: relative directory of each watch descriptor, NULL = none */
    size_t wd_cap;           /* entries of wd_path */
    uint32_t n_watched;      /* directories watched */
    bool warned_limit;       /* the max_user_watches warning was logged */
    watch_debounce deb;      /* pending events */
};

sc_watch_options sc_watch_options_default(void) {
    sc_watch_options o;
    memset(&o, 0, sizeof o);
    o.debounce_ms = 250;
    o.max_delay_ms = 2000;
    o.cpu_percent = 50;
    o.nice = 10;
    o.initial_update = true;
    return o;
}

/* ==== Which paths count ==== */

/* Is rel the index folder or inside it? */
static bool watch__in_store(const sc_watch *w, const char *rel) {
    if (!w->store_rel) return false;
    size_t n = strlen(w->store_rel);
    return !strncmp(rel, w->store_rel, n) && (rel[n] == '\0' || rel[n] == '/');
}

/* *ignored = whether the walk of an update leaves rel (a file, or a
** directory when is_dir) out: a skipped or ignored directory on its way, or
** the path itself ignored. ig is a fresh rule set of the root. */
static sc_status watch__ignored(sc_watch *w, pipeline_ignore *ig, const char *rel, bool is_dir, bool *ignored) {
    *ignored = true;
    if (watch__in_store(w, rel)) return SC_OK;
    char buf[PATH_MAX], fs[PATH_MAX];
    size_t n = strlen(rel);
    if (n >= sizeof buf) return SC_OK;
    memcpy(buf, rel, n + 1);
    size_t mark = 0;
    sc_status rc = pipeline_ignore_enter(ig, "", w->root, &mark, NULL);
    bool out = false;
    for (size_t i = 0; rc == SC_OK && !out && i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        bool last = buf[i] == '\0', dir = !last || is_dir;
        char saved = buf[i];
        buf[i] = '\0';
        const char *name = strrchr(buf, '/');
        name = name ? name + 1 : buf;
        if (dir && pipeline_dir_is_skipped(name, true)) out = true;
        else rc = pipeline_ignore_check(ig, buf, dir, &out, NULL);
        if (rc == SC_OK && !out && !last) {
            size_t dummy;
            if ((size_t)snprintf(fs, sizeof fs, "%s/%s", w->root, buf) < sizeof fs)
                rc = pipeline_ignore_enter(ig, buf, fs, &dummy, NULL);
        }
        buf[i] = saved;
    }
    pipeline_ignore_leave(ig, mark);
    *ignored = out;
    return rc;
}

/* ==== Watch descriptors ==== */

/* Remember that wd watches directory rel. */
static void watch__wd_set(sc_watch *w, int wd, const char *rel) {
    if ((size_t)wd >= w->wd_cap) {
        size_t cap = w->wd_cap ? w->wd_cap : 256;
        while (cap <= (size_t)wd) cap *= 2;
        char **p = realloc(w->wd_path, cap * sizeof *p);
        if (!p) return; /* events of this directory will name no path: the next batch still updates */
        memset(p + w->wd_cap, 0, (cap - w->wd_cap) * sizeof *p);
        w->wd_path = p;
        w->wd_cap = cap;
    }
    if (!w->wd_path[wd]) w->n_watched++;
    free(w->wd_path[wd]);
    w->wd_path[wd] = util_strdup(rel);
}

static void watch__wd_clear(sc_watch *w) {
    for (size_t i = 0; i < w->wd_cap; i++) free(w->wd_path[i]);
    free(w->wd_path);
    w->wd_path = NULL;
    w->wd_cap = 0;
    w->n_watched = 0;
}

/* Watch directory rel and every directory below it that the walk enters
** (rel's own ignore rules and its parents' are entered by the caller). */
static void watch__add_tree(sc_watch *w, pipeline_ignore *ig, const char *rel, int depth) {
    char fs[PATH_MAX];
    if (depth > 64 || (size_t)snprintf(fs, sizeof fs, "%s%s%s", w->root, *rel ? "/" : "", rel) >= sizeof fs) return;
    int wd = inotify_add_watch(w->ifd, fs, WATCH__MASK);
    if (wd < 0) {
        if (errno == ENOSPC && !w->warned_limit) {
            w->warned_limit = true;
            util_log(NULL, SC_LOG_LEVEL_WARN, "watch: inotify watch limit reached at %s: raise fs.inotify.max_user_watches", fs);
        }
        return;
    }
    watch__wd_set(w, wd, rel);
    DIR *d = opendir(fs);
    if (!d) return;
    size_t mark = 0;
    if (pipeline_ignore_enter(ig, rel, fs, &mark, NULL) != SC_OK) {
        closedir(d);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char child[PATH_MAX], child_fs[PATH_MAX];
        if ((size_t)snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >= sizeof child ||
            (size_t)snprintf(child_fs, sizeof child_fs, "%s/%s", fs, de->d_name) >= sizeof child_fs)
            continue;
        struct stat st;
        if (lstat(child_fs, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        bool ignored = pipeline_dir_is_skipped(de->d_name, true) || watch__in_store(w, child);
        if (!ignored && pipeline_ignore_check(ig, child, true, &ignored, NULL) != SC_OK) ignored = true;
        if (!ignored) watch__add_tree(w, ig, child, depth + 1);
    }
    closedir(d);
    pipeline_ignore_leave(ig, mark);
}

/* Watch a directory that appeared at rel (nothing when the walk would skip it). */
static void watch__add_new_dir(sc_watch *w, const char *rel) {
    pipeline_ignore *ig = NULL;
    if (pipeline_ignore_open(w->root, &ig, NULL) != SC_OK) return;
    bool ignored = true;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", rel);
    char *slash = strrchr(parent, '/');
    if (slash) *slash = '\0';
    else parent[0] = '\0';
    if (watch__ignored(w, ig, rel, true, &ignored) == SC_OK && !ignored) {
        /* Enter the rules of the root and of each parent, as the walk would have. */
        size_t mark = 0, dummy;
        char fs[PATH_MAX];
        pipeline_ignore_enter(ig, "", w->root, &mark, NULL);
        for (char *p = parent; *parent && p;) {
            char *next = strchr(p, '/');
            if (next) *next = '\0';
            if ((size_t)snprintf(fs, sizeof fs, "%s/%s", w->root, parent) < sizeof fs)
                pipeline_ignore_enter(ig, parent, fs, &dummy, NULL);
            if (next) *next = '/';
            p = next ? next + 1 : NULL;
        }
        watch__add_tree(w, ig, rel, 1);
        pipeline_ignore_leave(ig, mark);
    }
    pipeline_ignore_close(ig);
}

/* Watch the whole tree from a fresh inotify instance. SC_IOERR naming the
** limit when no instance can be made. */
static sc_status watch__watch_all(sc_watch *w, char *msg, size_t msg_size) {
    if (w->ifd >= 0) close(w->ifd);
    watch__wd_clear(w);
    w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->ifd < 0) {
        snprintf(msg, msg_size, "cannot start inotify: %s%s", strerror(errno),
                 errno == EMFILE ? " (raise fs.inotify.max_user_instances)" : "");
        return SC_IOERR;
    }
    pipeline_ignore *ig = NULL;
    sc_err err = {0};
    if (pipeline_ignore_open(w->root, &ig, &err) != SC_OK) {
        snprintf(msg, msg_size, "cannot read the ignore rules of %s: %s", w->root, err.msg);
        return err.code ? err.code : SC_ERROR;
    }
    watch__add_tree(w, ig, "", 0);
    pipeline_ignore_close(ig);
    return SC_OK;
}

/* ==== Events ==== */

/* Read every queued event into the debouncer. */
static void watch__read_events(sc_watch *w) {
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t len = read(w->ifd, buf, sizeof buf);
        if (len <= 0) return; /* EAGAIN: drained */
        double now = util_now();
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                watch_debounce_rescan(&w->deb, now);
                continue;
            }
            const char *dir = ev->wd >= 0 && (size_t)ev->wd < w->wd_cap ? w->wd_path[ev->wd] : NULL;
            if (ev->mask & IN_IGNORED) { /* the watch is gone (its directory deleted or moved away) */
                if (dir) {
                    free(w->wd_path[ev->wd]);
                    w->wd_path[ev->wd] = NULL;
                    w->n_watched--;
                }
                continue;
            }
            if (!dir) {
                watch_debounce_add(&w->deb, NULL, now);
                continue;
            }
            if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
                if (!*dir) watch_debounce_rescan(&w->deb, now); /* the root itself */
                continue;  /* otherwise its parent reports it */
            }
            char rel[PATH_MAX];
            const char *name = ev->len ? ev->name : "";
            if ((size_t)snprintf(rel, sizeof rel, "%s%s%s", dir, *dir && *name ? "/" : "", name) >= sizeof rel) continue;
            if (watch__in_store(w, rel)) continue;
            bool is_dir = (ev->mask & IN_ISDIR) != 0;
            if (is_dir && (ev->mask & (IN_MOVED_FROM | IN_MOVED_TO))) watch_debounce_rescan(&w->deb, now);
            else if (is_dir && (ev->mask & IN_CREATE)) watch__add_new_dir(w, rel);
            if (is_dir) {
                size_t n = strlen(rel);
                if (n + 1 < sizeof rel) {
                    rel[n] = '/';
                    rel[n + 1] = '\0';
                }
            }
            watch_debounce_add(&w->deb, rel, now);
        }
    }
}

/* Does the batch name a path the index cares about? */
static bool watch__batch_counts(sc_watch *w, const watch_batch *b) {
    if (b->rescan || b->overfull || b->n_paths == 0) return true;
    pipeline_ignore *ig = NULL;
    if (pipeline_ignore_open(w->root, &ig, NULL) != SC_OK) return true;
    bool counts = false;
    for (size_t i = 0; i < b->n_paths && !counts; i++) {
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s", b->paths[i]);
        size_t n = strlen(rel);
        bool is_dir = n && rel[n - 1] == '/', ignored = false;
        if (is_dir) rel[n - 1] = '\0';
        if (watch__ignored(w, ig, rel, is_dir, &ignored) != SC_OK || !ignored) counts = true;
    }
    pipeline_ignore_close(ig);
    return counts;
}

/* Sleep up to seconds, or until a stop request; true when stopping. */
static bool watch__rest(sc_watch *w, double seconds) {
    if (__atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE)) return true;
    if (seconds <= 0) return false;
    struct pollfd pf = {.fd = w->stop_fd, .events = POLLIN};
    poll(&pf, 1, (int)(seconds * 1000 + 0.5));
    return __atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE) != 0;
}

/* Run an update for batch b (initial: the one at start) and report it. */
static void watch__update(sc_watch *w, watch_batch *b, bool initial) {
    char msg[1024] = "";
    if (b->rescan) {
        sc_status rc = watch__watch_all(w, msg, sizeof msg);
        if (rc != SC_OK) util_log(NULL, SC_LOG_LEVEL_WARN, "watch: %s", msg);
    }
    if (!initial && !watch__batch_counts(w, b)) return;
    double start = util_now();
    sc_repo_summary sum;
    memset(&sum, 0, sizeof sum);
    if (w->opt.lock) w->opt.lock(w->opt.lock_arg);
    /* Lock intent: the repository is single-threaded; the caller's other users wait for this update, but
    ** for the groups of a model switch's backfill, between which it lets them in (sc_repo_set_yield). */
    sc_repo_set_yield(w->repo, w->opt.unlock, w->opt.lock, w->opt.lock_arg);
    sc_status rc = sc_repo_update(w->repo, &sum);
    sc_repo_set_yield(w->repo, NULL, NULL, NULL);
    if (rc != SC_OK) snprintf(msg, sizeof msg, "%s", sc_repo_errmsg(w->repo));
    if (w->opt.unlock) w->opt.unlock(w->opt.lock_arg);
    if (rc == SC_BUSY) { /* another user's update (a switch) let this one in: try again later */
        watch_debounce_add(&w->deb, NULL, util_now());
        watch__rest(w, 1.0);
        return;
    }
    double took = util_now() - start;
    if (w->opt.report) {
        sc_watch_report r = {.status = rc, .errmsg = rc == SC_OK ? NULL : msg, .summary = &sum, .events = b->events,
                             .paths = b->overfull ? 0 : b->n_paths, .initial = initial, .rescan = b->rescan,
                             .dirs_watched = w->n_watched, .waited = b->first >= 0 ? start - b->first : 0};
        w->opt.report(w->opt.report_arg, &r);
    }
    watch__rest(w, took * (100.0 / w->opt.cpu_percent - 1.0));
}

static void *watch__thread(void *arg) {
    sc_watch *w = arg;
    if (w->opt.nice > 0) setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), w->opt.nice);
    if (w->opt.initial_update) {
        watch_batch b = {.first = -1};
        watch__update(w, &b, true);
    }
    while (!__atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE)) {
        double due = watch_debounce_due(&w->deb, util_now());
        if (due == 0) {
            watch_batch b;
            watch_debounce_take(&w->deb, &b);
            watch__update(w, &b, false);
            watch_batch_free(&b);
            continue;
        }
        struct pollfd pf[2] = {{.fd = w->ifd, .events = POLLIN}, {.fd = w->stop_fd, .events = POLLIN}};
        int timeout = due < 0 ? -1 : (int)(due * 1000) + 1;
        if (poll(pf, 2, timeout) > 0 && (pf[0].revents & POLLIN)) watch__read_events(w);
    }
    return NULL;
}

/* ==== Start and stop ==== */

static void watch__free(sc_watch *w) {
    if (!w) return;
    if (w->ifd >= 0) close(w->ifd);
    if (w->stop_fd >= 0) close(w->stop_fd);
    watch__wd_clear(w);
    watch_debounce_free(&w->deb);
    free(w->root);
    free(w->store_rel);
    free(w);
}

sc_status sc_watch_start(sc_repo *r, const sc_watch_options *opt, sc_watch **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    sc_watch_options o = opt ? *opt : sc_watch_options_default();
    char msg[1024] = "";
    sc_status rc = SC_OK;
    if (!r || !out) {
        snprintf(msg, sizeof msg, "sc_watch_start: no repository or output");
        rc = SC_MISUSE;
    } else if (o.cpu_percent < 1 || o.cpu_percent > 100) {
        snprintf(msg, sizeof msg, "cpu_percent must be from 1 to 100, got %u", o.cpu_percent);
        rc = SC_INVALID;
    } else if (o.nice < 0 || o.nice > 19) {
        snprintf(msg, sizeof msg, "nice must be from 0 to 19, got %d", o.nice);
        rc = SC_INVALID;
    } else if (o.debounce_ms > 600000 || o.max_delay_ms > 3600000) {
        snprintf(msg, sizeof msg, "debounce_ms (%u) is at most 600000 and max_delay_ms (%u) at most 3600000",
                 o.debounce_ms, o.max_delay_ms);
        rc = SC_INVALID;
    }
    sc_watch *w = rc == SC_OK ? calloc(1, sizeof *w) : NULL;
    if (rc == SC_OK && !w) rc = SC_NOMEM;
    if (w) {
        w->repo = r;
        w->opt = o;
        w->ifd = w->stop_fd = -1;
        if (o.max_delay_ms < o.debounce_ms) w->opt.max_delay_ms = o.debounce_ms;
        w->root = util_strdup(sc_repo_root(r));
        const char *store = sc_repo_store_dir(r);
        size_t n = w->root ? strlen(w->root) : 0;
        if (w->root && !strncmp(store, w->root, n) && store[n] == '/') w->store_rel = util_strdup(store + n + 1);
        if (!w->root || watch_debounce_init(&w->deb, o.debounce_ms, w->opt.max_delay_ms) != SC_OK)
            rc = SC_NOMEM;
        else if ((w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
            snprintf(msg, sizeof msg, "cannot make an eventfd: %s", strerror(errno));
            rc = SC_IOERR;
        } else {
            rc = watch__watch_all(w, msg, sizeof msg);
        }
    }
    if (rc == SC_OK) {
        /* The thread starts with every signal blocked: they belong to the caller's threads. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int e = pthread_create(&w->thread, NULL, watch__thread, w);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e) {
            snprintf(msg, sizeof msg, "cannot start the watcher thread: %s", strerror(e));
            rc = SC_ERROR;
        }
    }
    if (rc != SC_OK) {
        watch__free(w);
        if (errmsg) *errmsg = util_strdup(msg[0] ? msg : sc_status_str(rc));
        return rc;
    }
    *out = w;
    return SC_OK;
}

void sc_watch_stop(sc_watch *w) {
    if (!w) return;
    __atomic_store_n(&w->stopping, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    if (write(w->stop_fd, &one, sizeof one) < 0) { /* a full counter wakes the thread as well */
    }
    pthread_join(w->thread, NULL);
    watch__free(w);
}
