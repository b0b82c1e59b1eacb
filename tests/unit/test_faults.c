/*
** Fault injection for the store: a workload (create a collection, upsert
** batches, payload operations, deletes, searches, optimize, reopen; then
** the same for sparse vectors and for multivectors) is run
** again and again, each time failing the Nth allocation, or the Nth write or
** sync, until a run completes untouched; as SQLite's own test suite does.
** Each run must end in a clear error (a status that is not SC_OK and a
** message), never a crash or (under ASan) a leak, and the store, reopened
** without faults, must hold every acknowledged write and nothing
** half-applied: its contents equal the state after the last acknowledged
** step, or after the failed step (an error reported after SQLite made the
** commit durable, e.g. a failed sync of the log), never anything between.
**
** The hooks (see docs/ARCHITECTURE.md, "Fault injection"):
** - allocations of libsemcode itself: this binary is linked with
**   -Wl,--wrap=malloc (calloc, realloc, aligned_alloc, strdup), so every
**   call from the library's objects goes through __wrap_malloc below, which
**   fails on command and otherwise calls the real one (ASan's, under ASan);
** - allocations of SQLite: sqlite3_config(SQLITE_CONFIG_MALLOC) with a
**   failing wrapper of its default allocator; of jansson (payloads):
**   json_set_alloc_funcs;
** - writes of SQLite: a VFS that wraps the default one (registered as the
**   default) and fails xWrite with SQLITE_FULL (ENOSPC) or SQLITE_IOERR_WRITE
**   (EIO), and xSync / xTruncate with SQLITE_IOERR_FSYNC / _TRUNCATE;
** - writes of the graph files (DIR/hnsw/c<coll>-v<i>.hnsw): --wrap=fwrite, fflush, fsync.
**
** A second, small sweep fails each allocation of a walk of a git work tree
** with nested ignore files (the walker and its libgit2 rule set): each run
** ends in SC_NOMEM with a message, or lists exactly the files of a run
** without faults.
**
** SC_FAULT_STEP=k tries every kth N (default: about 150 runs per sweep, a few
** seconds); SC_FAULT_STEP=1 tries them all (the long run, make faults-long:
** about 7,500 runs for allocations). SC_FAULT_ONLY=allocation|ENOSPC|EIO|walk runs one sweep,
** SC_FAULT_FIRST=N starts it at N, SC_FAULT_VERBOSE=1 prints each run's
** error and SC_FAULT_TRACE=1 the stack of each injected fault.
*/
#include <errno.h>
#include <execinfo.h>
#include <jansson.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <git2.h>

#include "pipeline/pipeline.h"
#include "semcode/semcode.h"
#include "testutil.h"

/* ==== The fault controller ==== */

typedef enum fault_kind {
    FAULT_NONE = 0, /* count only */
    FAULT_ALLOC,    /* the Nth allocation returns NULL (once) */
    FAULT_ENOSPC,   /* the Nth write or sync fails with ENOSPC, and every one after it (disk full) */
    FAULT_EIO,      /* the Nth write or sync fails with EIO (once) */
} fault_kind;

static struct {
    int armed;          /* count (and fail) only while set */
    fault_kind kind;    /* what to fail */
    long target;        /* fail the target-th counted call (1-based); 0 = never */
    long n_alloc;       /* allocations counted while armed */
    long n_write;       /* writes and syncs counted while armed */
    int hit;            /* a fault was injected */
    int hit_json;       /* ... into one of jansson's allocations */
} fc;

static void fault_arm(fault_kind kind, long target) {
    __atomic_store_n(&fc.n_alloc, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&fc.n_write, 0, __ATOMIC_SEQ_CST);
    fc.kind = kind;
    fc.target = target;
    fc.hit = 0;
    fc.hit_json = 0;
    __atomic_store_n(&fc.armed, 1, __ATOMIC_SEQ_CST);
}

static void fault_disarm(void) { __atomic_store_n(&fc.armed, 0, __ATOMIC_SEQ_CST); }
/* Stop and resume counting without resetting the counts (the reference run's snapshots). */
static void fault_resume(void) { __atomic_store_n(&fc.armed, 1, __ATOMIC_SEQ_CST); }

/* With SC_FAULT_TRACE set, where each fault is injected (for debugging). */
static void fault_trace(void) {
    if (!getenv("SC_FAULT_TRACE")) return;
    void *frames[32];
    int n = backtrace(frames, 32);
    fprintf(stderr, "-- fault injected at:\n");
    backtrace_symbols_fd(frames, n, 2);
}

/* Whether this allocation must fail. */
static int fault_alloc(void) {
    if (!__atomic_load_n(&fc.armed, __ATOMIC_SEQ_CST)) return 0;
    long n = __atomic_add_fetch(&fc.n_alloc, 1, __ATOMIC_SEQ_CST);
    if (fc.kind == FAULT_ALLOC && n == fc.target) {
        __atomic_store_n(&fc.hit, 1, __ATOMIC_SEQ_CST);
        fault_trace();
        return 1;
    }
    return 0;
}

/* 0 when this write/sync may proceed, else the errno it fails with. */
static int fault_write(void) {
    if (!__atomic_load_n(&fc.armed, __ATOMIC_SEQ_CST)) return 0;
    long n = __atomic_add_fetch(&fc.n_write, 1, __ATOMIC_SEQ_CST);
    if (fc.kind == FAULT_ENOSPC && fc.target && n >= fc.target) {
        __atomic_store_n(&fc.hit, 1, __ATOMIC_SEQ_CST);
        return ENOSPC;
    }
    if (fc.kind == FAULT_EIO && n == fc.target) {
        __atomic_store_n(&fc.hit, 1, __ATOMIC_SEQ_CST);
        fault_trace();
        return EIO;
    }
    return 0;
}

/* ==== Hooks: the library's allocations and graph-file writes (--wrap) ==== */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
char *__real_strdup(const char *s);
size_t __real_fwrite(const void *p, size_t size, size_t n, FILE *f);
int __real_fflush(FILE *f);
int __real_fsync(int fd);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
char *__wrap_strdup(const char *s);
size_t __wrap_fwrite(const void *p, size_t size, size_t n, FILE *f);
int __wrap_fflush(FILE *f);
int __wrap_fsync(int fd);

void *__wrap_malloc(size_t n) { return fault_alloc() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t k, size_t n) { return fault_alloc() ? NULL : __real_calloc(k, n); }
void *__wrap_realloc(void *p, size_t n) { return fault_alloc() ? NULL : __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { return fault_alloc() ? NULL : __real_aligned_alloc(a, n); }
char *__wrap_strdup(const char *s) { return fault_alloc() ? NULL : __real_strdup(s); }

size_t __wrap_fwrite(const void *p, size_t size, size_t n, FILE *f) {
    int e = fault_write();
    if (e) {
        errno = e;
        return 0;
    }
    return __real_fwrite(p, size, n, f);
}

int __wrap_fflush(FILE *f) {
    int e = f ? fault_write() : 0;
    if (e) {
        errno = e;
        return EOF;
    }
    return __real_fflush(f);
}

int __wrap_fsync(int fd) {
    int e = fault_write();
    if (e) {
        errno = e;
        return -1;
    }
    return __real_fsync(fd);
}

/* ==== Hooks: SQLite's and jansson's allocators ==== */

static sqlite3_mem_methods sql_mem_real;

static void *sql_malloc(int n) { return fault_alloc() ? NULL : sql_mem_real.xMalloc(n); }
static void *sql_realloc(void *p, int n) { return fault_alloc() ? NULL : sql_mem_real.xRealloc(p, n); }

static void *json_malloc(size_t n) {
    if (!fault_alloc()) return __real_malloc(n);
    fc.hit_json = 1;
    return NULL;
}
static void json_free(void *p) { free(p); }

/* ==== Hooks: a VFS over SQLite's default one ==== */

typedef struct ff_file {
    sqlite3_file base;  /* pMethods = ff_io */
    sqlite3_file *real; /* the wrapped file, allocated right after this struct */
} ff_file;

static sqlite3_vfs *vfs_real;

static int ff_sql_error(int e, int io_code) { return e == ENOSPC ? SQLITE_FULL : io_code; }

#define REAL(f) (((ff_file *)(f))->real)
static int ff_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int ff_read(sqlite3_file *f, void *p, int n, sqlite3_int64 o) {
    return REAL(f)->pMethods->xRead(REAL(f), p, n, o);
}
static int ff_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 o) {
    int e = fault_write();
    return e ? ff_sql_error(e, SQLITE_IOERR_WRITE) : REAL(f)->pMethods->xWrite(REAL(f), p, n, o);
}
static int ff_truncate(sqlite3_file *f, sqlite3_int64 size) {
    int e = fault_write();
    return e ? ff_sql_error(e, SQLITE_IOERR_TRUNCATE) : REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int ff_sync(sqlite3_file *f, int flags) {
    int e = fault_write();
    return e ? SQLITE_IOERR_FSYNC : REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int ff_size(sqlite3_file *f, sqlite3_int64 *out) { return REAL(f)->pMethods->xFileSize(REAL(f), out); }
static int ff_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int ff_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int ff_check(sqlite3_file *f, int *out) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out); }
static int ff_fcntl(sqlite3_file *f, int op, void *arg) { return REAL(f)->pMethods->xFileControl(REAL(f), op, arg); }
static int ff_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int ff_devchar(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int ff_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp) {
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, pp);
}
static int ff_shm_lock(sqlite3_file *f, int off, int n, int flags) {
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void ff_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int ff_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int ff_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp) {
    return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp);
}
static int ff_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) {
    return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods ff_io = {
    3,         ff_close,  ff_read,      ff_write,       ff_truncate,  ff_sync,  ff_size,    ff_lock, ff_unlock,
    ff_check,  ff_fcntl,  ff_sector,    ff_devchar,     ff_shm_map,   ff_shm_lock, ff_shm_barrier, ff_shm_unmap,
    ff_fetch,  ff_unfetch,
};

static int ff_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags) {
    (void)vfs;
    ff_file *ff = (ff_file *)f;
    ff->real = (sqlite3_file *)(ff + 1);
    int rc = vfs_real->xOpen(vfs_real, name, ff->real, flags, out_flags);
    /* SQLite calls xClose only when pMethods is set, as the real VFS left it. */
    ff->base.pMethods = ff->real->pMethods ? &ff_io : NULL;
    return rc;
}

static int ff_delete(sqlite3_vfs *v, const char *name, int sync) {
    (void)v;
    return vfs_real->xDelete(vfs_real, name, sync);
}
static int ff_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
    (void)v;
    return vfs_real->xAccess(vfs_real, name, flags, out);
}
static int ff_fullpath(sqlite3_vfs *v, const char *name, int n, char *out) {
    (void)v;
    return vfs_real->xFullPathname(vfs_real, name, n, out);
}
static void *ff_dlopen(sqlite3_vfs *v, const char *name) {
    (void)v;
    return vfs_real->xDlOpen(vfs_real, name);
}
static void ff_dlerror(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    vfs_real->xDlError(vfs_real, n, out);
}
static void (*ff_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void) {
    (void)v;
    return vfs_real->xDlSym(vfs_real, h, sym);
}
static void ff_dlclose(sqlite3_vfs *v, void *h) {
    (void)v;
    vfs_real->xDlClose(vfs_real, h);
}
static int ff_random(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    return vfs_real->xRandomness(vfs_real, n, out);
}
static int ff_sleep(sqlite3_vfs *v, int us) {
    (void)v;
    return vfs_real->xSleep(vfs_real, us);
}
static int ff_time(sqlite3_vfs *v, double *out) {
    (void)v;
    return vfs_real->xCurrentTime(vfs_real, out);
}
static int ff_lasterr(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    return vfs_real->xGetLastError ? vfs_real->xGetLastError(vfs_real, n, out) : 0;
}
static int ff_time64(sqlite3_vfs *v, sqlite3_int64 *out) {
    (void)v;
    return vfs_real->xCurrentTimeInt64(vfs_real, out);
}

static sqlite3_vfs ff_vfs;

/* Install every hook; called once, before SQLite initialises. */
static void hooks_install(void) {
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sql_mem_real) != SQLITE_OK) abort();
    sqlite3_mem_methods m = sql_mem_real;
    m.xMalloc = sql_malloc;
    m.xRealloc = sql_realloc;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK) abort();
    json_set_alloc_funcs(json_malloc, json_free);
    vfs_real = sqlite3_vfs_find(NULL);
    if (!vfs_real) abort();
    ff_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(ff_file) + vfs_real->szOsFile,
        .mxPathname = vfs_real->mxPathname,
        .zName = "faultfs",
        .xOpen = ff_open,
        .xDelete = ff_delete,
        .xAccess = ff_access,
        .xFullPathname = ff_fullpath,
        .xDlOpen = ff_dlopen,
        .xDlError = ff_dlerror,
        .xDlSym = ff_dlsym,
        .xDlClose = ff_dlclose,
        .xRandomness = ff_random,
        .xSleep = ff_sleep,
        .xCurrentTime = ff_time,
        .xGetLastError = ff_lasterr,
        .xCurrentTimeInt64 = ff_time64,
    };
    if (sqlite3_vfs_register(&ff_vfs, 1) != SQLITE_OK) abort();
}

/* ==== The workload ==== */

#define DIM 8
#define N_POINTS 70
#define MAX_STEPS 34

typedef struct wl {
    char *dir;                         /* store directory */
    sc_db *db;                         /* open store, or NULL */
    float vecs[N_POINTS + 1][DIM];     /* vector of id i (the same in every run) */
    char payloads[N_POINTS + 1][96];   /* payload of id i */
    char texts[N_POINTS + 1][48];      /* keyword text of id i */
    char state[MAX_STEPS + 1][1 << 15];/* reference run: contents after step i (state[0]: empty store) */
    char open_err[512];                /* message of the last failed open */
    int n_steps;                       /* steps of a complete run */
} wl;

/* Contents of the store as canonical text: collections, points (id, payload
** with sorted keys, vector), and that a graph search finds the exact top 5. */
static void store_snapshot(sc_db *db, char *out, size_t cap) {
    size_t len = 0;
    out[0] = 0;
#define PUT(...) (len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, __VA_ARGS__))
    char **names = NULL;
    size_t n_names = 0;
    assert_int_equal(sc_collection_list(db, &names, &n_names), SC_OK);
    for (size_t i = 0; i < n_names; i++) PUT("collection %s\n", names[i]);
    sc_strv_free(names);
    if (!sc_collection_exists(db, "c")) return;
    sc_scroll_request rq = {.limit = 1000, .with = {.payload = true, .vectors = true}};
    sc_record_list *list = NULL;
    bool more = false;
    sc_point_id next;
    assert_int_equal(sc_points_scroll(db, "c", &rq, &list, &next, &more), SC_OK);
    assert_false(more);
    for (size_t i = 0; i < list->n; i++) {
        const sc_record *r = &list->items[i];
        json_t *p = json_loads(r->payload_json ? r->payload_json : "{}", 0, NULL);
        assert_non_null(p);
        char *canon = json_dumps(p, JSON_SORT_KEYS | JSON_COMPACT);
        json_decref(p);
        PUT("%llu %s", (unsigned long long)r->id.num, canon);
        free(canon);
        for (size_t k = 0; k < r->n_vectors; k++)
            for (uint32_t d = 0; d < r->vector_dims[k]; d++) PUT(" %.5f", (double)r->vectors[k][d]);
        PUT("\n");
    }
    sc_record_list_free(list);
    /* the graph agrees with the points: no deleted id, none missing */
    float q[DIM] = {0.5f, -0.25f, 0.125f, 1, -1, 0.75f, 0.3f, -0.6f};
    sc_search_request sr = {.query = q, .dim = DIM, .limit = 5, .hnsw_ef = 200};
    sc_record_list *ann = NULL, *ex = NULL;
    assert_int_equal(sc_points_search(db, "c", &sr, &ann), SC_OK);
    sr.exact = true;
    assert_int_equal(sc_points_search(db, "c", &sr, &ex), SC_OK);
    assert_int_equal(ann->n, ex->n);
    for (size_t i = 0; i < ann->n; i++) assert_int_equal(ann->items[i].id.num, ex->items[i].id.num);
    PUT("top");
    for (size_t i = 0; i < ex->n; i++) PUT(" %llu", (unsigned long long)ex->items[i].id.num);
    PUT("\n");
    sc_record_list_free(ann);
    sc_record_list_free(ex);
    /* the collection of sparse vectors: each point's vector, and an idf search */
    if (sc_collection_exists(db, "s")) {
        assert_int_equal(sc_points_scroll(db, "s", &rq, &list, &next, &more), SC_OK);
        for (size_t i = 0; i < list->n; i++) {
            const sc_record *r = &list->items[i];
            PUT("s %llu %s", (unsigned long long)r->id.num, r->payload_json ? r->payload_json : "{}");
            for (size_t k = 0; k < r->n_sparse; k++)
                for (uint32_t j = 0; j < r->sparse[k].n; j++)
                    PUT(" %u:%.5f", r->sparse[k].indices[j], (double)r->sparse[k].values[j]);
            PUT("\n");
        }
        sc_record_list_free(list);
        uint32_t qi[3] = {1, 4, 9};
        float qv[3] = {1, 0.5f, 2};
        sc_sparse_query sq = {qi, qv, 3, NULL};
        sc_search_request ss = {.vector_name = "w", .limit = 8, .sparse = &sq};
        assert_int_equal(sc_points_search(db, "s", &ss, &list), SC_OK);
        PUT("sparse top");
        for (size_t i = 0; i < list->n; i++)
            PUT(" %llu:%.5f", (unsigned long long)list->items[i].id.num, (double)list->items[i].score);
        PUT("\n");
        sc_record_list_free(list);
    }
    /* the collection of multivectors: each point's rows, and a MAX_SIM search */
    if (sc_collection_exists(db, "m")) {
        assert_int_equal(sc_points_scroll(db, "m", &rq, &list, &next, &more), SC_OK);
        for (size_t i = 0; i < list->n; i++) {
            const sc_record *r = &list->items[i];
            PUT("m %llu", (unsigned long long)r->id.num);
            for (size_t k = 0; k < r->n_vectors; k++)
                for (uint32_t j = 0; j < r->vector_rows[k] * r->vector_dims[k]; j++)
                    PUT(" %.3f", (double)r->vectors[k][j]);
            PUT("\n");
        }
        sc_record_list_free(list);
        sc_search_request ms = {.query = q, .dim = DIM, .limit = 5};
        assert_int_equal(sc_points_search(db, "m", &ms, &list), SC_OK);
        PUT("multi top");
        for (size_t i = 0; i < list->n; i++)
            PUT(" %llu:%.5f", (unsigned long long)list->items[i].id.num, (double)list->items[i].score);
        PUT("\n");
        sc_record_list_free(list);
    }
    assert_true(len < cap);
#undef PUT
}

/* Upsert (or, with update, update the vectors of) ids first..last of the
** multivector collection "m": id i has 1 + (i + salt) % 3 rows, the
** vectors of ids i, i + 7, i + 14. */
static sc_status wl_upsert_multi(wl *w, uint64_t first, uint64_t last, uint32_t salt, bool update) {
    sc_point_in pts[N_POINTS];
    sc_multivec_in min[N_POINTS];
    float rows[N_POINTS][3 * DIM];
    size_t n = 0;
    for (uint64_t id = first; id <= last; id++, n++) {
        uint32_t m = 1 + (uint32_t)((id + salt) % 3);
        for (uint32_t r = 0; r < m; r++) memcpy(rows[n] + r * DIM, w->vecs[(id + 7 * r) % N_POINTS + 1], sizeof(float) * DIM);
        min[n] = (sc_multivec_in){.name = "", .data = rows[n], .dim = DIM, .n_rows = m};
        pts[n] = (sc_point_in){.id = sc_point_id_num(id), .multivecs = &min[n], .n_multivecs = 1};
    }
    return update ? sc_points_update_vectors(w->db, "m", pts, n) : sc_points_upsert(w->db, "m", pts, n);
}

/* Upsert ids first..last into the sparse collection "s": vector "w" of id
** i has 1 + i % 5 indices (i * 3 + 5 k) % 13 with weights i / 10 + k,
** shifted by `salt` on a rewrite; every seventh point has none. */
static sc_status wl_upsert_sparse(wl *w, uint64_t first, uint64_t last, uint32_t salt) {
    sc_point_in pts[N_POINTS];
    sc_sparse_in sin[N_POINTS];
    uint32_t idx[N_POINTS][5];
    float val[N_POINTS][5];
    size_t n = 0;
    for (uint64_t id = first; id <= last; id++, n++) {
        uint32_t m = 1 + (uint32_t)(id % 5);
        for (uint32_t k = 0; k < m; k++) {
            idx[n][k] = (uint32_t)((id * 3 + 5 * k + salt) % 13);
            val[n][k] = (float)id / 10.0f + (float)k;
        }
        sin[n] = (sc_sparse_in){.name = "w", .indices = idx[n], .values = val[n], .n = m};
        pts[n] = (sc_point_in){.id = sc_point_id_num(id), .payload_json = w->payloads[id],
                               .sparse = &sin[n], .n_sparse = id % 7 ? 1 : 0};
    }
    return sc_points_upsert(w->db, "s", pts, n);
}

static sc_status wl_upsert(wl *w, uint64_t first, uint64_t last) {
    sc_point_in pts[N_POINTS];
    sc_vector_in vin[N_POINTS];
    size_t n = 0;
    for (uint64_t id = first; id <= last; id++, n++) {
        vin[n] = (sc_vector_in){.name = "", .data = w->vecs[id], .dim = DIM};
        pts[n] = (sc_point_in){.id = sc_point_id_num(id), .vectors = &vin[n], .n_vectors = 1,
                               .payload_json = w->payloads[id], .text = w->texts[id]};
    }
    return sc_points_upsert(w->db, "c", pts, n);
}

static sc_status wl_open(wl *w) {
    sc_db_options o = sc_db_options_default();
    o.n_threads = 1;
    char *msg = NULL;
    w->open_err[0] = 0;
    sc_status rc = sc_db_open(w->dir, &o, &w->db, &msg);
    if (rc != SC_OK) {
        assert_null(w->db);
        /* the message is an allocation too: only running out of memory may leave none */
        if (msg) snprintf(w->open_err, sizeof w->open_err, "%s", msg);
        else if (rc != SC_NOMEM) fail_msg("sc_db_open failed (%s) without a message", sc_status_str(rc));
    }
    sc_free(msg);
    return rc;
}

/* Step i of the workload (1-based) on the open store; 0 = no such step. */
static sc_status wl_step(wl *w, int i, int *exists) {
    *exists = 1;
    sc_point_id ids[16];
    switch (i) {
    case 1: {
        sc_vector_params vp = {.name = "", .dim = DIM, .distance = SC_DISTANCE_COSINE,
                               .hnsw = {.kind = SC_INDEX_KIND_HNSW, .m = 8, .ef_construct = 32}};
        return sc_collection_create(w->db, "c", &vp, 1);
    }
    case 2: return sc_field_index_create(w->db, "c", "tag", SC_FIELD_TYPE_KEYWORD);
    case 3: return wl_upsert(w, 1, 40);
    case 4: return wl_upsert(w, 30, 60);
    case 5: {
        sc_selector sel = {.filter_json = "{\"must\":[{\"key\":\"tag\",\"match\":{\"value\":\"a\"}}]}"};
        return sc_payload_set(w->db, "c", &sel, "{\"color\":\"red\",\"size\":3}", NULL);
    }
    case 6: {
        for (int k = 0; k < 3; k++) ids[k] = sc_point_id_num((uint64_t)k + 1);
        const char *keys[] = {"n"};
        sc_selector sel = {.ids = ids, .n_ids = 3};
        return sc_payload_delete_keys(w->db, "c", &sel, keys, 1, NULL);
    }
    case 7: {
        for (int k = 0; k < 11; k++) ids[k] = sc_point_id_num((uint64_t)k + 5);
        return sc_points_delete(w->db, "c", ids, 11, NULL);
    }
    case 8: {
        sc_search_request sr = {.query = w->vecs[20], .dim = DIM, .limit = 5, .with = {.payload = true}};
        sc_record_list *out = NULL;
        sc_status rc = sc_points_search(w->db, "c", &sr, &out);
        if (rc == SC_OK) {
            sc_record_list_free(out);
            sc_search_request kw = {.text = "parse config", .limit = 5};
            rc = sc_points_search(w->db, "c", &kw, &out);
        }
        if (rc == SC_OK) sc_record_list_free(out);
        return rc;
    }
    case 9: return sc_collection_optimize(w->db, "c");
    case 10:
        sc_db_close(w->db);
        w->db = NULL;
        return wl_open(w);
    case 11: { /* right after the reopen: the payloads are still text, parsed by the filter */
        sc_search_request sr = {.query = w->vecs[21], .dim = DIM, .limit = 5,
                                .filter_json = "{\"must\":[{\"key\":\"path\",\"match\":{\"value\":\"src/f21.c\"}}]}"};
        sc_record_list *out = NULL;
        sc_status rc = sc_points_search(w->db, "c", &sr, &out);
        if (rc == SC_OK && (out->n != 1 || out->items[0].id.num != 21)) fail_msg("the filtered search missed id 21");
        if (rc == SC_OK) sc_record_list_free(out);
        return rc;
    }
    case 12: return wl_upsert(w, 61, 70);
    case 13: {
        ids[0] = sc_point_id_num(61);
        sc_selector sel = {.ids = ids, .n_ids = 1};
        return sc_payload_overwrite(w->db, "c", &sel, "{\"tag\":\"b\",\"rewritten\":true}", NULL);
    }
    case 14: {
        uint64_t n = 0;
        return sc_points_delete_by_filter(w->db, "c", "{\"must\":[{\"key\":\"color\",\"match\":{\"value\":\"red\"}}]}",
                                          &n);
    }
    case 15: {
        sc_vector_update up = {.name = "", .fields = SC_VECTOR_UPDATE_M, .hnsw = {.m = 6}};
        return sc_collection_update(w->db, "c", &up, 1);
    }
    case 16: {
        ids[0] = sc_point_id_num(62);
        sc_selector sel = {.ids = ids, .n_ids = 1};
        return sc_payload_clear(w->db, "c", &sel, NULL);
    }
    case 17: { /* sparse vectors: the store becomes format 3 */
        sc_sparse_params sp = {.name = "w", .modifier = SC_SPARSE_MODIFIER_IDF};
        sc_collection_params cp = {.sparse = &sp, .n_sparse = 1};
        return sc_collection_create_ex(w->db, "s", &cp);
    }
    case 18: return sc_field_index_create(w->db, "s", "tag", SC_FIELD_TYPE_KEYWORD);
    case 19: return wl_upsert_sparse(w, 1, 30, 0);
    case 20: return wl_upsert_sparse(w, 20, 45, 7); /* rewrites move entries between posting lists */
    case 21: {
        for (int k = 0; k < 6; k++) ids[k] = sc_point_id_num((uint64_t)k * 4 + 2);
        return sc_points_delete(w->db, "s", ids, 6, NULL);
    }
    case 22: { /* filtered (one by one, through the payload index) and with an IDF corpus */
        uint32_t qi[2] = {3, 8};
        float qv[2] = {1, 1};
        sc_sparse_query sq = {qi, qv, 2, "{\"must\":[{\"key\":\"tag\",\"match\":{\"value\":\"a\"}}]}"};
        sc_search_request sr = {.vector_name = "w", .limit = 5, .sparse = &sq,
                                .filter_json = "{\"must\":[{\"key\":\"tag\",\"match\":{\"value\":\"b\"}}]}"};
        sc_record_list *out = NULL;
        sc_status rc = sc_points_search(w->db, "s", &sr, &out);
        if (rc == SC_OK) sc_record_list_free(out);
        return rc;
    }
    case 23:
        sc_db_close(w->db);
        w->db = NULL;
        return wl_open(w);
    case 24: return wl_upsert_sparse(w, 40, 50, 3);
    case 25: {
        sc_sparse_update u = {.name = "w", .fields = SC_SPARSE_UPDATE_MODIFIER, .modifier = SC_SPARSE_MODIFIER_NONE};
        return sc_collection_update_ex(w->db, "s", NULL, 0, &u, 1);
    }
    case 26: {
        uint64_t n = 0;
        return sc_points_delete_by_filter(w->db, "s", "{\"must\":[{\"key\":\"tag\",\"match\":{\"value\":\"a\"}}]}", &n);
    }
    case 27: { /* multivectors: the store becomes format 4 */
        sc_vector_params vp = {.name = "", .dim = DIM, .distance = SC_DISTANCE_COSINE,
                               .multivec = SC_MULTIVEC_COMPARATOR_MAX_SIM};
        return sc_collection_create(w->db, "m", &vp, 1);
    }
    case 28: return wl_upsert_multi(w, 1, 20, 0, false);
    case 29: return wl_upsert_multi(w, 3, 8, 1, true); /* new rows replace the old ones */
    case 30: {
        for (int k = 0; k < 3; k++) ids[k] = sc_point_id_num((uint64_t)k * 5 + 2);
        sc_selector sel = {.ids = ids, .n_ids = 3};
        const char *names[] = {""};
        return sc_points_delete_vectors(w->db, "m", &sel, names, 1, NULL);
    }
    case 31: {
        for (int k = 0; k < 2; k++) ids[k] = sc_point_id_num((uint64_t)k + 10);
        return sc_points_delete(w->db, "m", ids, 2, NULL);
    }
    case 32:
        sc_db_close(w->db);
        w->db = NULL;
        return wl_open(w);
    case 33: return wl_upsert_multi(w, 15, 25, 2, false);
    default: *exists = 0; return SC_OK;
    }
}

static wl *wl_new(void) {
    wl *w = calloc(1, sizeof *w);
    assert_non_null(w);
    tu_rng rng = {.s = 1234};
    static const char *words[] = {"parse config", "open file", "retry request", "hash map", "sort list"};
    for (int i = 1; i <= N_POINTS; i++) {
        tu_fill(&rng, w->vecs[i], DIM);
        snprintf(w->payloads[i], sizeof w->payloads[i], "{\"n\":%d,\"tag\":\"%s\",\"path\":\"src/f%d.c\"}", i,
                 i % 3 == 0 ? "a" : "b", i);
        snprintf(w->texts[i], sizeof w->texts[i], "%s item%d", words[i % 5], i);
    }
    return w;
}

/* Run the workload on a fresh store. In the reference run (ref), record the
** contents after every step; otherwise return the index of the step that
** failed (0: the open), or -1 when every step succeeded. */
static int wl_run(wl *w, int ref, sc_status *rc_out, char *msg, size_t msg_cap) {
    assert_non_null(w->dir);
    if (ref) {
        fault_disarm();
        assert_int_equal(wl_open(w), SC_OK);
        store_snapshot(w->db, w->state[0], sizeof w->state[0]);
        sc_db_close(w->db);
        w->db = NULL;
        fault_resume();
    }
    int failed = -1;
    sc_status rc = wl_open(w);
    if (rc != SC_OK) {
        failed = 0;
        snprintf(msg, msg_cap, "%s", w->open_err);
    }
    for (int i = 1; failed < 0; i++) {
        int exists = 0;
        rc = wl_step(w, i, &exists);
        if (!exists) {
            if (ref) w->n_steps = i - 1;
            break;
        }
        if (rc != SC_OK) {
            failed = i;
            /* the open of step 10 reports through its message (checked in wl_open) */
            const char *m = w->db ? sc_db_errmsg(w->db) : w->open_err;
            snprintf(msg, msg_cap, "%s", m);
            if (!m[0]) fail_msg("step %d failed (%s) with an empty message", i, sc_status_str(rc));
            break;
        }
        if (ref) {
            assert_true(i <= MAX_STEPS);
            fault_disarm(); /* the snapshots are not part of the counted run */
            store_snapshot(w->db, w->state[i], sizeof w->state[i]);
            fault_resume();
        }
    }
    sc_db_close(w->db); /* under the faults still: closing must cope */
    w->db = NULL;
    *rc_out = rc;
    return failed;
}

/* After a run: reopen without faults and compare with the reference; 1 when
** the failed step turned out applied (its error came after the commit). */
static int wl_verify(wl *w, int failed, const char *what, long n) {
    static char now[1 << 15];
    assert_int_equal(wl_open(w), SC_OK);
    store_snapshot(w->db, now, sizeof now);
    sc_db_close(w->db);
    w->db = NULL;
    int last_ok = failed < 0 ? w->n_steps : failed - 1;
    if (last_ok < 0) last_ok = 0;
    bool same = strcmp(now, w->state[last_ok]) == 0, applied = false;
    if (!same && failed > 0) same = applied = strcmp(now, w->state[failed]) == 0;
    if (!same) {
        fprintf(stderr, "%s at %ld: step %d failed; store after reopen:\n%s\nexpected (after step %d):\n%s\n", what,
                n, failed, now, last_ok, w->state[last_ok]);
        fail_msg("%s at %ld: the store holds neither the acknowledged state nor the failed step applied", what, n);
    }
    tu_rmdir(w->dir);
    w->dir = NULL;
    return applied;
}

/* A fresh store directory, in memory when /dev/shm exists: the runs are
** many and each commit syncs. Made before the faults are armed. */
static char *fault_tmpdir(void) {
    char tmpl[64];
    snprintf(tmpl, sizeof tmpl, "%s/semcode-faults-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static long env_step(long total) {
    const char *s = getenv("SC_FAULT_STEP");
    long step = s ? atol(s) : 0;
    if (step <= 0) step = total / 150 + 1;
    return step;
}

/* Sweep N over one kind of fault until a run completes untouched. */
static void sweep(fault_kind kind, const char *what) {
    /* SC_FAULT_ONLY=allocation|ENOSPC|EIO runs one sweep (for long runs) */
    const char *only = getenv("SC_FAULT_ONLY");
    if (only && strcasecmp(only, what) != 0) skip();
    wl *w = wl_new();
    sc_status rc;
    char msg[600];
    /* reference run, counting the calls the faults can hit */
    w->dir = fault_tmpdir();
    fault_arm(FAULT_NONE, 0);
    assert_int_equal(wl_run(w, 1, &rc, msg, sizeof msg), -1);
    fault_disarm();
    tu_rmdir(w->dir);
    w->dir = NULL;
    long total = kind == FAULT_ALLOC ? fc.n_alloc : fc.n_write;
    assert_true(total > 0);
    long step = env_step(total);
    int runs = 0, n_json_invalid = 0, n_failed = 0, n_applied = 0, hist[SC_EXISTS + 1] = {0};
    /* SC_FAULT_FIRST=N starts the sweep at N (to replay one failure) */
    long first = getenv("SC_FAULT_FIRST") ? atol(getenv("SC_FAULT_FIRST")) : 1;
    for (long n = first > 0 ? first : 1;; n += step) {
        w->dir = fault_tmpdir();
        fault_arm(kind, n);
        int failed = wl_run(w, 0, &rc, msg, sizeof msg);
        fault_disarm();
        int hit = fc.hit;
        runs++;
        if (failed >= 0) {
            n_failed++;
            hist[rc]++;
            assert_int_not_equal(rc, SC_OK);
            /* A fault must read as one: never as bad input or a missing
            ** collection. Except that jansson 2.14's lexer reports a failed
            ** allocation of its string buffer as a syntax error, so the
            ** store cannot tell it from bad JSON (bad input, or a corrupt
            ** config when the store reads its own). */
            bool json_oom = (rc == SC_INVALID || rc == SC_CORRUPT) && fc.hit_json && strstr(msg, "JSON");
            if (json_oom) n_json_invalid++;
            else if (rc != SC_NOMEM && rc != SC_IOERR && rc != SC_ERROR)
                fail_msg("%s at %ld: step %d failed as %s (%s)", what, n, failed, sc_status_str(rc), msg);
            if (getenv("SC_FAULT_VERBOSE")) fprintf(stderr, "%s at %ld: step %d: %s\n", what, n, failed, msg);
        }
        int applied = wl_verify(w, failed, what, n);
        n_applied += applied;
        /* only a failed final sync of a commit may leave it applied (store.h):
        ** SQLITE_IOERR_FSYNC, or the WAL fsync of an upsert's group sync
        ** (store/points.c), never an allocation or a write that failed */
        if (applied && (kind == FAULT_ALLOC || (!strstr(msg, "(sqlite 1034)") && !strstr(msg, "store.db-wal failed"))))
            fail_msg("%s at %ld: step %d failed (%s) but was applied", what, n, failed, msg);
        if (applied && getenv("SC_FAULT_VERBOSE")) fprintf(stderr, "  (step %d was applied)\n", failed);
        if (!hit) break; /* past the last counted call: the run completed untouched */
        if (n > total * 4 + 100) fail_msg("%s: no end in sight at %ld", what, n);
    }
    fprintf(stderr, "faults %s: %ld calls per run, N stepping by %ld: %d runs, %d ended in an error (nomem %d, ioerr %d, error %d; jansson's "
            "invalid JSON %d), %d applied before their error (a failed sync of the commit)\n",
            what, total, step, runs, n_failed, hist[SC_NOMEM], hist[SC_IOERR], hist[SC_ERROR], n_json_invalid,
            n_applied);
    free(w);
}

static void test_alloc_faults(void **state) {
    (void)state;
    sweep(FAULT_ALLOC, "allocation");
}

static void test_enospc_faults(void **state) {
    (void)state;
    sweep(FAULT_ENOSPC, "ENOSPC");
}

static void test_eio_faults(void **state) {
    (void)state;
    sweep(FAULT_EIO, "EIO");
}

/* ==== A walk with ignore rules ==== */

/* Every allocation of a walk of a git work tree with .gitignore files at
** two levels, .git/info/exclude and .semcodeignore, failed in turn. */
static void test_walk_alloc_faults(void **state) {
    (void)state;
    const char *only = getenv("SC_FAULT_ONLY");
    if (only && strcasecmp(only, "walk") != 0) skip();
    char *root = tu_tmpdir("faults-walk");
    assert_non_null(root);
    git_libgit2_init();
    git_repository *repo = NULL;
    assert_int_equal(git_repository_init(&repo, root, 0), 0);
    git_repository_free(repo);
    static const char *const files[][2] = {
        {".gitignore", "*.log\n!keep.log\nbuild/\n"}, {".git/info/exclude", "secret.txt\n"},
        {".semcodeignore", "*.md\n"}, {"a.c", "x"}, {"a.log", "x"}, {"keep.log", "x"}, {"secret.txt", "x"},
        {"notes.md", "x"}, {"build/x.c", "x"}, {"sub/.gitignore", "!b.log\n/local.c\n"}, {"sub/b.log", "x"},
        {"sub/local.c", "x"}, {"sub/deep/local.c", "x"},
    };
    char dir[512];
    static const char *const dirs[] = {"build", "sub", "sub/deep"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/%s", root, dirs[i]);
        assert_int_equal(mkdir(dir, 0755), 0);
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        assert_int_equal(tu_write_file(root, files[i][0], files[i][1]), 0);
    sc_walk_options opt = sc_walk_options_default();
    pipeline_file_list ref, l;
    sc_err err = {0};
    fault_arm(FAULT_ALLOC, 0); /* counts only */
    assert_int_equal(pipeline_walk(root, &opt, &ref, &err), SC_OK);
    fault_disarm();
    long total = fc.n_alloc;
    assert_int_equal(ref.n, 7); /* .gitignore .semcodeignore a.c keep.log sub/.gitignore sub/b.log sub/deep/local.c */
    int n_failed = 0;
    for (long n = 1; n <= total; n++) {
        memset(&err, 0, sizeof err);
        fault_arm(FAULT_ALLOC, n);
        sc_status rc = pipeline_walk(root, &opt, &l, &err);
        fault_disarm();
        if (rc == SC_OK) {
            assert_int_equal(l.n, ref.n);
            for (size_t i = 0; i < l.n; i++) assert_string_equal(l.items[i].path, ref.items[i].path);
            pipeline_file_list_free(&l);
        } else {
            if (rc != SC_NOMEM || !err.msg[0]) fail_msg("allocation %ld: status %d, message '%s'", n, rc, err.msg);
            n_failed++;
        }
    }
    fprintf(stderr, "faults walk: %ld allocations per run, %d runs ended in SC_NOMEM\n", total, n_failed);
    assert_true(n_failed > 0);
    pipeline_file_list_free(&ref);
    git_libgit2_shutdown();
    tu_rmdir(root);
}

int main(void) {
    hooks_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_faults),
        cmocka_unit_test(test_enospc_faults),
        cmocka_unit_test(test_eio_faults),
        cmocka_unit_test(test_walk_alloc_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
