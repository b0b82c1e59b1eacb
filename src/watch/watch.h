/*
** watch: the watcher of include/semcode/watch.h. This header is the
** module's interface to the rest of semcode: the debouncer (debounce.c),
** pure logic that the unit tests drive with their own clock, and the
** path filter the watcher applies to a batch of events.
**
** Thread safety: a watch_debounce is a single-thread object (the watcher
** thread's).
*/
#ifndef SC_WATCH_H
#define SC_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "semcode/common.h"

#define WATCH_MAX_PATHS 4096 /* distinct pending paths kept; past this a batch is a full update anyway */

/* Events waiting for their update: when they came and which paths. */
typedef struct watch_debounce {
    double quiet;      /* seconds without events before a batch is due */
    double max_delay;  /* seconds after the first pending event when it is due regardless */
    double first;      /* time of the first pending event; < 0 = nothing pending */
    double last;       /* time of the last event */
    uint64_t events;   /* events since the last batch was taken */
    bool rescan;       /* events were lost or a directory moved: re-watch the tree, update regardless */
    bool overfull;     /* more than WATCH_MAX_PATHS distinct paths: paths dropped, update regardless */
    char **paths;      /* distinct pending paths (owned), in the order first seen */
    size_t n_paths;    /* used entries of paths */
    uint64_t *hashes;  /* open-addressing set of path hashes (0 = empty slot), 2 * WATCH_MAX_PATHS slots */
} watch_debounce;

/* A batch taken from the debouncer (watch_debounce_take). */
typedef struct watch_batch {
    char **paths;     /* distinct paths (owned; NULL when overfull) */
    size_t n_paths;   /* entries */
    uint64_t events;  /* events coalesced into it */
    bool rescan;      /* re-watch the tree and update */
    bool overfull;    /* paths dropped: update regardless */
    double first;     /* time of its first event */
} watch_batch;

/* Start an empty debouncer (quiet_ms, max_delay_ms as sc_watch_options).
** SC_NOMEM when its set cannot be allocated. */
sc_status watch_debounce_init(watch_debounce *d, uint32_t quiet_ms, uint32_t max_delay_ms);
/* Free the pending paths and the set. */
void watch_debounce_free(watch_debounce *d);
/* An event on path (relative to the root; NULL: an event that names no
** path) at time now (seconds, any monotonic clock). The same path twice is
** kept once. Out of memory counts as overfull (an update happens anyway). */
void watch_debounce_add(watch_debounce *d, const char *path, double now);
/* Events were lost (queue overflow) or a directory moved: the next batch rescans. */
void watch_debounce_rescan(watch_debounce *d, double now);
/* Seconds until the pending batch is due: 0 = due now, < 0 = nothing pending. */
double watch_debounce_due(const watch_debounce *d, double now);
/* Move the pending batch into *b (caller frees it with watch_batch_free) and start empty. */
void watch_debounce_take(watch_debounce *d, watch_batch *b);
void watch_batch_free(watch_batch *b);

#endif /* SC_WATCH_H */
