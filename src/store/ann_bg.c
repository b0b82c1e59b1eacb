/*
** store/ann_bg.c: the background indexer. With
** sc_db_options.background_index, writes only take their rows out of the
** graphs (ann.c); this thread links them back with the parallel batch
** build while searches and, between its chunks, writes go on.
**
** DESIGN
** - One thread per store, started by sc_db_open, stopped by sc_db_close.
**   It sleeps on bg_cv until a write (or the open) kicks it, then links
**   chunks of STORE_BG_CHUNK tail rows (present, not indexed) until no
**   vector has a tail.
** - Locks, always in this order: db->lock, then db->ann_lock.
**   * A chunk runs with db->lock held shared: writers are out, so vector
**     columns, presence bits and slots stay put, while searches run.
**   * The costly neighbour searches of hnsw_index_add_batch_shared read
**     the graph while searches read it too; its exclusive sections (placing
**     the rows, back links and entry point per round) and the publication
**     of the rows in the `indexed` bitset take db->ann_lock exclusively.
**     Searches hold ann_lock shared while they read a graph and the
**     bitset, so a search sees each row either in the graph and indexed or
**     in the flat tail, never neither nor both. ann_lock prefers writers,
**     so a steady stream of searches cannot starve the indexer.
**   * Writers hold db->lock exclusively and so exclude the indexer and
**     searches alike; they need no ann_lock. Between chunks the indexer
**     lets writers go first, for at most STORE_BG_YIELD_MS: while one waits
**     (writers_waiting) or one wrote in the last STORE_BG_QUIET_MS (a bulk
**     load: its requests need the cores to be parsed). A write waits at
**     most for one chunk, and a sustained load still lets the tail shrink
**     by a chunk a second.
** - Durability does not depend on this thread: every acknowledged write is
**   in SQLite before it is acknowledged. After catching up (and every
**   STORE_BG_SAVE_EVERY rows) it saves the changed graphs with the store's
**   sequence number as their watermark, so a restart after kill -9 loads a
**   recent graph and only the rows written since become tail again.
*/
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STORE_BG_CHUNK 256          /* tail rows linked per chunk (one chunk = writers wait at most this) */
#define STORE_BG_MAX_REVIVE 32      /* updated rows re-linked per chunk (each is a search under the exclusive lock) */
#define STORE_BG_SAVE_EVERY 50000u  /* rows linked between two saves during a long catch-up */
#define STORE_BG_YIELD_MS 1000      /* longest wait for writers between two chunks */
#define STORE_BG_QUIET_MS 50        /* writes this recent mean a load is running: wait */
#define STORE_BG_NICE 5             /* the indexer's nice value (its build threads inherit it) */

/* ==== Locks ==== */

void store_lock_write(sc_db *db) {
    __atomic_fetch_add(&db->writers_waiting, 1, __ATOMIC_RELAXED);
    for (;;) {
        if (__atomic_load_n(&db->gate_closed, __ATOMIC_ACQUIRE)) {
            pthread_mutex_lock(&db->gate_mu);
            while (db->gate_closed) pthread_cond_wait(&db->gate_cv, &db->gate_mu);
            pthread_mutex_unlock(&db->gate_mu);
        }
        pthread_rwlock_wrlock(&db->lock);
        /* the gate may have closed while this thread queued for the lock: the compaction goes first */
        if (!__atomic_load_n(&db->gate_closed, __ATOMIC_ACQUIRE)) break;
        pthread_rwlock_unlock(&db->lock);
    }
    __atomic_fetch_sub(&db->writers_waiting, 1, __ATOMIC_RELAXED);
}

static void store__bg_excl_begin(void *state) { pthread_rwlock_wrlock(&((sc_db *)state)->ann_lock); }
static void store__bg_excl_end(void *state) { pthread_rwlock_unlock(&((sc_db *)state)->ann_lock); }

/* ==== The tail ==== */

size_t store_ann_tail(const store_coll *c, const store_vec *sv, uint32_t *out, size_t max) {
    size_t n = 0;
    uint32_t words = (c->n_slots + 63) / 64;
    for (uint32_t w = 0; w < words && n < max; w++) {
        uint64_t bits = sv->present[w] & ~sv->indexed[w];
        while (bits && n < max) {
            out[n++] = w * 64 + (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
        }
    }
    return n;
}

/* ==== One chunk ==== */

/* Link up to STORE_BG_CHUNK tail rows of sv (db->lock shared). */
static void store__bg_chunk(sc_db *db, store_coll *c, store_vec *sv) {
    uint32_t rows[STORE_BG_CHUNK], fresh[STORE_BG_CHUNK] = {0}, again[STORE_BG_MAX_REVIVE];
    size_t n = store_ann_tail(c, sv, rows, STORE_BG_CHUNK), n_fresh = 0, n_again = 0;
    if (n == 0) { /* impossible: the counts say there is a tail; recount rather than spin */
        sc_assert(!"indexed count out of step");
        pthread_rwlock_wrlock(&db->ann_lock);
        sv->n_indexed = 0;
        for (uint32_t s = 0; s < c->n_slots; s++) sv->n_indexed += store_bit_get(sv->indexed, s);
        pthread_rwlock_unlock(&db->ann_lock);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!hnsw_index_contains(sv->ann, rows[i]) && !hnsw_index_is_tombstoned(sv->ann, rows[i]))
            fresh[n_fresh++] = rows[i];
        else if (n_again < STORE_BG_MAX_REVIVE)
            again[n_again++] = rows[i];
    }
    sc_err err = {0};
    hnsw_excl x = {store__bg_excl_begin, store__bg_excl_end, db};
    sc_status rc = hnsw_index_add_batch_shared(sv->ann, fresh, n_fresh, &x, &err);
    pthread_rwlock_wrlock(&db->ann_lock);
    for (size_t i = 0; rc == SC_OK && i < n_again; i++) /* written since linked: relink with the new vector */
        rc = hnsw_index_contains(sv->ann, again[i]) ? hnsw_index_update(sv->ann, again[i], &err)
                                                     : hnsw_index_revive(sv->ann, again[i], &err);
    if (rc == SC_OK) {
        for (size_t i = 0; i < n_fresh; i++) store_ann_mark(sv, fresh[i], true);
        for (size_t i = 0; i < n_again; i++) store_ann_mark(sv, again[i], true);
        sv->ann_dirty = true;
        hnsw_info hi = hnsw_index_info(sv->ann);
        uint64_t first = sv->n_present < 20000 ? sv->n_present : 20000; /* as store__ann_build trains */
        if (sv->quant.kind != SC_QUANT_KIND_NONE && !hnsw_index_quant(sv->ann) && hi.n_live >= first)
            rc = store_ann_quantize(sv, &err);
    }
    if (rc != SC_OK) {
        util_log(&db->opt.logger, SC_LOG_LEVEL_WARN, "linking the graph of `%s`.`%s` failed (%s); searching exactly",
                 c->name, sv->name, err.msg);
        store_ann_drop(sv, c->cap);
    }
    pthread_rwlock_unlock(&db->ann_lock);
}

/* Too many tombstones slow every search: repair the graph (caught up only). */
static void store__bg_vacuum(sc_db *db, store_coll *c, store_vec *sv) {
    hnsw_info hi = hnsw_index_info(sv->ann);
    if (!(hi.n_deleted > 1000 && hi.n_deleted > hi.n_live / 4)) return;
    sc_err err = {0};
    pthread_rwlock_wrlock(&db->ann_lock);
    if (hnsw_index_vacuum(sv->ann, NULL, &err) != SC_OK) {
        util_log(&db->opt.logger, SC_LOG_LEVEL_WARN, "repairing the graph of `%s`.`%s` failed (%s); searching exactly",
                 c->name, sv->name, err.msg);
        store_ann_drop(sv, c->cap);
    } else {
        sv->ann_dirty = true;
    }
    pthread_rwlock_unlock(&db->ann_lock);
}

bool store_ann_bg_step(sc_db *db, uint32_t *n_linked) {
    for (size_t i = 0; i < db->n_colls; i++) {
        store_coll *c = db->colls[i];
        for (size_t v = 0; v < c->n_vecs; v++) {
            store_vec *sv = &c->vecs[v];
            if (!sv->ann) continue;
            if (sv->n_indexed < sv->n_present) {
                uint64_t before = sv->n_indexed;
                store__bg_chunk(db, c, sv);
                *n_linked += (uint32_t)(sv->n_indexed > before ? sv->n_indexed - before : 0);
                return true;
            }
            store__bg_vacuum(db, c, sv);
        }
    }
    return false;
}

/* Save the changed graphs of every collection (db->lock shared: no writer
** runs; the SQLite connection is shared with readers, hence sql_mu). */
static void store__bg_save(sc_db *db) {
    pthread_mutex_lock(&db->sql_mu);
    for (size_t i = 0; i < db->n_colls; i++)
        if (store_ann_save(db, db->colls[i]) != SC_OK)
            util_log(&db->opt.logger, SC_LOG_LEVEL_WARN, "saving graphs of `%s` failed: %s", db->colls[i]->name,
                     sc_db_errmsg(db));
    pthread_mutex_unlock(&db->sql_mu);
}

/* ==== The thread ==== */

static uint64_t store__bg_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Let writers go first: wait while one waits for db->lock or one wrote in
** the last STORE_BG_QUIET_MS (a load in progress: its requests are parsed
** on the same cores), for at most STORE_BG_YIELD_MS. */
static void store__bg_yield(sc_db *db) {
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < STORE_BG_YIELD_MS; i++) {
        uint64_t last = __atomic_load_n(&db->bg_last_write_ms, __ATOMIC_RELAXED);
        if (__atomic_load_n(&db->writers_waiting, __ATOMIC_RELAXED) == 0 &&
            store__bg_now_ms() >= last + STORE_BG_QUIET_MS)
            return;
        nanosleep(&ms, NULL);
    }
}

static bool store__bg_stopping(sc_db *db) {
    pthread_mutex_lock(&db->bg_mu);
    bool stop = db->bg_stop;
    pthread_mutex_unlock(&db->bg_mu);
    return stop;
}

static void *store__bg_main(void *arg) {
    sc_db *db = arg;
    uint64_t seen = 0;
    /* Searches and requests first: on Linux the nice value is per thread,
    ** and the threads of the parallel build, started from here, inherit it.
    ** Only lowers the priority, so it needs no privilege; failure is harmless. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), STORE_BG_NICE);
    pthread_mutex_lock(&db->bg_mu);
    for (;;) {
        while (!db->bg_stop && db->bg_gen == seen) pthread_cond_wait(&db->bg_cv, &db->bg_mu);
        if (db->bg_stop) break;
        seen = db->bg_gen;
        pthread_mutex_unlock(&db->bg_mu);
        uint32_t since_save = 0;
        bool more = true;
        while (more && !store__bg_stopping(db)) {
            store__bg_yield(db);
            uint32_t n = 0;
            pthread_rwlock_rdlock(&db->lock);
            more = store_ann_bg_step(db, &n);
            since_save += n;
            if (!more || since_save >= STORE_BG_SAVE_EVERY) {
                store__bg_save(db);
                since_save = 0;
            }
            pthread_rwlock_unlock(&db->lock);
        }
        pthread_mutex_lock(&db->bg_mu);
    }
    pthread_mutex_unlock(&db->bg_mu);
    return NULL;
}

sc_status store_ann_bg_start(sc_db *db) {
    pthread_mutex_lock(&db->bg_mu);
    db->bg_gen++; /* the open may have left tails (resume) */
    const char *hold = getenv("SEMCODE_BG_HOLD"); /* tests of a large tail: no indexer, the tail stays */
    if (hold && strcmp(hold, "1") == 0) {
        pthread_mutex_unlock(&db->bg_mu);
        return SC_OK;
    }
    int e = pthread_create(&db->bg_thread, NULL, store__bg_main, db);
    db->bg_started = e == 0;
    pthread_mutex_unlock(&db->bg_mu);
    return e == 0 ? SC_OK : store_fail(SC_ERROR, "cannot start the background indexer: %s", strerror(e));
}

void store_ann_bg_stop(sc_db *db) {
    pthread_mutex_lock(&db->bg_mu);
    bool started = db->bg_started;
    db->bg_stop = true;
    pthread_cond_signal(&db->bg_cv);
    pthread_mutex_unlock(&db->bg_mu);
    if (started) pthread_join(db->bg_thread, NULL);
    db->bg_started = false;
}

void store_ann_bg_kick(sc_db *db) {
    __atomic_store_n(&db->bg_last_write_ms, store__bg_now_ms(), __ATOMIC_RELAXED);
    pthread_mutex_lock(&db->bg_mu);
    db->bg_gen++;
    pthread_cond_signal(&db->bg_cv);
    pthread_mutex_unlock(&db->bg_mu);
}
