/*
** semcode public API: keeping an index fresh by itself (`semcode watch`,
** `semcode serve --repo PATH --watch`). A watcher thread follows the tree
** of a repository with inotify and, once the changes settle, runs the
** same incremental update as `semcode index` (sc_repo_update): edits,
** new files, renames, deletes and branch switches all end in one update
** that compares the tree with the index.
**
** - Debounced: an update starts when no event came for debounce_ms, or
**   max_delay_ms after the first pending event, whichever is first.
** - Ignored paths (.gitignore, .semcodeignore, .git, node_modules, the
**   index folder, vendored folders) are not watched, and a batch of events
**   on ignored files only starts no update.
** - New directories are watched as they appear; a lost event queue
**   (IN_Q_OVERFLOW) or a directory moved inside the tree re-watches the
**   whole tree and updates.
** - Low priority: the watcher thread (and the parser threads it starts)
**   run at the given niceness; after an update of t seconds the watcher
**   rests t * (100 / cpu_percent - 1) seconds before the next one.
**
** Linux only (inotify); elsewhere sc_watch_start is SC_UNSUPPORTED.
** Thread safety: the repository is used by the watcher thread between
** lock and unlock (give them when other threads use it too); the report
** callback runs on the watcher thread.
*/
#ifndef SEMCODE_WATCH_H
#define SEMCODE_WATCH_H

#include "common.h"
#include "repo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_watch sc_watch;

/* What one update of the watcher did, passed to sc_watch_options.report. */
typedef struct sc_watch_report {
    sc_status status;                /* the update's status */
    const char *errmsg;              /* its message when status != SC_OK (borrowed for the call) */
    const sc_repo_summary *summary;  /* what the update changed (borrowed for the call) */
    uint64_t events;                 /* inotify events since the previous update */
    uint64_t paths;                  /* distinct paths they named (0 when over the coalescing limit) */
    bool initial;                    /* the update at start, before any event */
    bool rescan;                     /* the events were lost (queue overflow) or a directory moved: re-watched */
    uint32_t dirs_watched;           /* directories watched after this update */
    double waited;                   /* seconds from the first pending event to the start of the update */
} sc_watch_report;

typedef struct sc_watch_options {
    uint32_t debounce_ms;     /* quiet time after the last event before an update (default 250) */
    uint32_t max_delay_ms;    /* at most this long after the first pending event (default 2000) */
    uint32_t cpu_percent;     /* share of one core the updates may take over time, 1..100 (default 50) */
    int nice;                 /* niceness of the watcher thread, 0..19 (default 10; 0 = unchanged) */
    bool initial_update;      /* update once at start (default true): catches changes made while not watched */
    void (*lock)(void *arg);  /* taken around every use of the repository (may be NULL) */
    void (*unlock)(void *arg);/* released after it */
    void *lock_arg;           /* their argument */
    void (*report)(void *arg, const sc_watch_report *r); /* after each update (may be NULL) */
    void *report_arg;         /* its argument */
} sc_watch_options;

SC_API sc_watch_options sc_watch_options_default(void);

/* Watch the tree of r (borrowed: it must outlive the watcher) on a new
** thread. Fails with SC_IOERR when inotify cannot start (the message names
** the limit, e.g. fs.inotify.max_user_instances), SC_INVALID for bad
** options (named). errmsg as sc_repo_open's. */
SC_API sc_status sc_watch_start(sc_repo *r, const sc_watch_options *opt, sc_watch **out, char **errmsg);
/* Stop watching: waits for an update in progress, then joins the thread.
** NULL is a no-op. */
SC_API void sc_watch_stop(sc_watch *w);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_WATCH_H */
