/*
** watch/debounce.c: coalescing file-system events into batches. An editor's
** save is several events (create a temporary, write, rename over), a
** branch switch thousands: each becomes one batch that is due once events
** stop for `quiet` seconds, or `max_delay` after its first event so that
** a tree that never stops changing still gets updates. Pure logic: the
** caller passes the time, so the unit tests run it on their own clock.
*/
#include "watch/watch.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define WATCH__SLOTS (2 * WATCH_MAX_PATHS) /* hash set slots: at most half full */

sc_status watch_debounce_init(watch_debounce *d, uint32_t quiet_ms, uint32_t max_delay_ms) {
    memset(d, 0, sizeof *d);
    d->quiet = quiet_ms / 1000.0;
    d->max_delay = max_delay_ms / 1000.0;
    d->first = -1;
    d->paths = calloc(WATCH_MAX_PATHS, sizeof *d->paths);
    d->hashes = calloc(WATCH__SLOTS, sizeof *d->hashes);
    if (!d->paths || !d->hashes) {
        watch_debounce_free(d);
        return SC_NOMEM;
    }
    return SC_OK;
}

/* Forget the pending paths (the set emptied, the strings freed or moved). */
static void watch__clear(watch_debounce *d, bool free_paths) {
    for (size_t i = 0; free_paths && i < d->n_paths; i++) free(d->paths[i]);
    d->n_paths = 0;
    if (d->hashes) memset(d->hashes, 0, WATCH__SLOTS * sizeof *d->hashes);
    d->first = -1;
    d->events = 0;
    d->rescan = d->overfull = false;
}

void watch_debounce_free(watch_debounce *d) {
    if (!d) return;
    watch__clear(d, true);
    free(d->paths);
    free(d->hashes);
    d->paths = NULL;
    d->hashes = NULL;
}

/* Note an event at now (the timing part of every event). */
static void watch__touch(watch_debounce *d, double now) {
    if (d->first < 0) d->first = now;
    d->last = now;
    d->events++;
}

void watch_debounce_add(watch_debounce *d, const char *path, double now) {
    watch__touch(d, now);
    if (!path || d->overfull) return;
    uint64_t h = util_hash64(path, strlen(path), 0x77617463ull) | 1; /* never 0, the empty slot */
    size_t slot = (size_t)(h % WATCH__SLOTS);
    while (d->hashes[slot]) {
        /* Equal hashes are taken for equal paths after a string check. */
        if (d->hashes[slot] == h) {
            for (size_t i = 0; i < d->n_paths; i++)
                if (!strcmp(d->paths[i], path)) return;
        }
        slot = (slot + 1) % WATCH__SLOTS;
    }
    char *copy = d->n_paths < WATCH_MAX_PATHS ? util_strdup(path) : NULL;
    if (!copy) { /* too many paths (or no memory): the batch is a full update */
        double first = d->first;
        uint64_t events = d->events;
        bool rescan = d->rescan;
        watch__clear(d, true);
        d->first = first;
        d->events = events;
        d->rescan = rescan;
        d->overfull = true;
        return;
    }
    d->hashes[slot] = h;
    d->paths[d->n_paths++] = copy;
}

void watch_debounce_rescan(watch_debounce *d, double now) {
    watch__touch(d, now);
    d->rescan = true;
}

double watch_debounce_due(const watch_debounce *d, double now) {
    if (d->first < 0) return -1;
    double quiet_at = d->last + d->quiet, max_at = d->first + d->max_delay;
    double at = quiet_at < max_at ? quiet_at : max_at;
    return at <= now ? 0 : at - now;
}

void watch_debounce_take(watch_debounce *d, watch_batch *b) {
    memset(b, 0, sizeof *b);
    b->events = d->events;
    b->rescan = d->rescan;
    b->overfull = d->overfull;
    b->first = d->first;
    if (d->n_paths) {
        b->paths = malloc(d->n_paths * sizeof *b->paths);
        if (b->paths) {
            memcpy(b->paths, d->paths, d->n_paths * sizeof *b->paths);
            b->n_paths = d->n_paths;
        } else {
            b->overfull = true;
        }
    }
    watch__clear(d, b->paths == NULL);
}

void watch_batch_free(watch_batch *b) {
    for (size_t i = 0; b && i < b->n_paths; i++) free(b->paths[i]);
    if (b) free(b->paths);
}
