/*
** Tests of sc_db_compact: store.db gives back the room a dropped vector
** left in its pages; searches and writes from other threads go on during a
** compaction and no committed write is lost (the copy is made again, or
** the store left as it was, when writes came in); what a compaction cut
** short leaves is cleared at the next open. Run under ThreadSanitizer by
** make check (test-concurrent).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "semcode/semcode.h"
#include "store_fixture.h"
#include "testutil.h"

enum { CP_DIM = 256, CP_SMALL = 8 };

/* Bytes of dir/name (0 when absent). */
static long long cp_bytes(const char *dir, const char *name) {
    char p[1024];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* Bytes of store.db and its WAL. */
static long long cp_store_bytes(const char *dir) { return cp_bytes(dir, "store.db") + cp_bytes(dir, "store.db-wal"); }

/* Collection "c" with a big vector "a" and a small one "b". */
static void cp_create(sc_db *db) {
    sc_vector_params vp[2] = {{.name = "a", .dim = CP_DIM, .distance = SC_DISTANCE_COSINE},
                              {.name = "b", .dim = CP_SMALL, .distance = SC_DISTANCE_COSINE}};
    assert_int_equal(sc_collection_create(db, "c", vp, 2), SC_OK);
}

/* Upsert points first..first+n-1 with both vectors (or only "b" when
** !with_a) and a payload naming the id, one point per commit. */
static void cp_put(sc_db *db, uint64_t first, uint64_t n, bool with_a) {
    tu_rng rng = {first * 7919u + 1u};
    float va[CP_DIM], vb[CP_SMALL];
    for (uint64_t i = first; i < first + n; i++) {
        tu_fill(&rng, va, CP_DIM);
        tu_fill(&rng, vb, CP_SMALL);
        char payload[64];
        snprintf(payload, sizeof payload, "{\"n\":%llu}", (unsigned long long)i);
        sc_vector_in vin[2] = {{.name = "b", .data = vb, .dim = CP_SMALL}, {.name = "a", .data = va, .dim = CP_DIM}};
        sc_point_in pt = {.id = sc_point_id_num(i), .vectors = vin, .n_vectors = with_a ? 2 : 1, .payload_json = payload};
        assert_int_equal(sc_points_upsert(db, "c", &pt, 1), SC_OK);
    }
}

/* Points of "c" (fails the test on an error). */
static uint64_t cp_count(sc_db *db) {
    uint64_t n = 0;
    assert_int_equal(sc_points_count(db, "c", NULL, &n), SC_OK);
    return n;
}

/* Point id has its payload {"n": id}. */
static void cp_check_point(sc_db *db, uint64_t id) {
    sc_point_id pid = sc_point_id_num(id);
    sc_with with = {.payload = true};
    sc_record_list *out = NULL;
    assert_int_equal(sc_points_get(db, "c", &pid, 1, &with, &out), SC_OK);
    if (out->n != 1) fail_msg("point %llu: %zu records", (unsigned long long)id, out->n);
    char want[64];
    snprintf(want, sizeof want, "{\"n\":%llu}", (unsigned long long)id);
    assert_non_null(out->items[0].payload_json);
    if (strcmp(out->items[0].payload_json, want)) fail_msg("point %llu: payload %s", (unsigned long long)id, out->items[0].payload_json);
    sc_record_list_free(out);
}

/* A dropped vector leaves its room in the store's pages; sc_db_compact
** gives it back: the files shrink to a third, the points keep their other
** vector and payload, before and after a reopen, and a second compaction
** has nothing more to give. */
static void test_compact_gives_space_back(void **state) {
    (void)state;
    char *dir = tu_tmpdir("compact");
    sc_db *db = tu_db_open_normal(dir);
    cp_create(db);
    enum { N = 1500 };
    cp_put(db, 1, N, true);
    long long full = cp_store_bytes(dir);
    assert_int_equal(sc_collection_vector_delete(db, "c", "a"), SC_OK);
    long long dropped = cp_store_bytes(dir);
    assert_true(dropped >= full / 2); /* SQLite keeps the room */
    sc_db_compact_info ci;
    assert_int_equal(sc_db_compact(db, &ci), SC_OK);
    long long after = cp_store_bytes(dir);
    if (after * 3 > full) fail_msg("store.db: %lld bytes, %lld after the drop, %lld after compaction", full, dropped, after);
    assert_int_equal(ci.copies, 1);
    assert_true(ci.bytes_after == (uint64_t)after && ci.bytes_before >= ci.bytes_after);
    assert_int_equal(cp_bytes(dir, "store.db.compact") + cp_bytes(dir, "store.db.old"), 0);
    /* the connection is the new file's: reads and writes go on */
    cp_check_point(db, 1);
    cp_check_point(db, N);
    cp_put(db, N + 1, 10, false);
    assert_int_equal(sc_db_compact(db, &ci), SC_OK);
    assert_true(ci.bytes_after <= (uint64_t)after + 64 * 1024);
    uint64_t n = 0;
    assert_int_equal(sc_points_count(db, "c", "{\"must\":[{\"has_vector\":\"b\"}]}", &n), SC_OK);
    assert_int_equal(n, N + 10);
    float q[CP_SMALL] = {1, 0, 0, 0, 0, 0, 0, 0};
    sc_search_request req = {.vector_name = "b", .query = q, .dim = CP_SMALL, .limit = 5, .with = {.payload = true}};
    sc_record_list *res = NULL;
    assert_int_equal(sc_points_search(db, "c", &req, &res), SC_OK);
    assert_int_equal(res->n, 5);
    assert_non_null(res->items[0].payload_json);
    sc_record_list_free(res);
    sc_db_close(db);
    db = tu_db_open_normal(dir);
    assert_int_equal(cp_count(db), N + 10);
    cp_check_point(db, N + 10);
    sc_db_close(db);
    tu_rmdir(dir);
}

typedef struct cp_shared {
    sc_db *db;
    int stop;          /* atomic */
    uint64_t written;  /* points the writer committed (atomic) */
    uint64_t searches; /* searches the reader made (atomic) */
    int failures;      /* failed reads (atomic) */
} cp_shared;

enum { CP_BASE = 400 };

/* Search and read points until told to stop; counts failures. */
static void *cp_reader(void *arg) {
    cp_shared *s = arg;
    tu_rng rng = {99};
    float q[CP_SMALL];
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        tu_fill(&rng, q, CP_SMALL);
        sc_search_request req = {.vector_name = "b", .query = q, .dim = CP_SMALL, .limit = 10, .with = {.payload = true}};
        sc_record_list *res = NULL;
        if (sc_points_search(s->db, "c", &req, &res) != SC_OK || res->n != 10 || !res->items[0].payload_json)
            __atomic_fetch_add(&s->failures, 1, __ATOMIC_RELAXED);
        sc_record_list_free(res);
        sc_point_id pid = sc_point_id_num(1 + tu_next(&rng) % CP_BASE);
        sc_with with = {.payload = true};
        if (sc_points_get(s->db, "c", &pid, 1, &with, &res) != SC_OK || res->n != 1)
            __atomic_fetch_add(&s->failures, 1, __ATOMIC_RELAXED);
        sc_record_list_free(res);
        __atomic_fetch_add(&s->searches, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* Upsert new points one commit at a time until told to stop. */
static void *cp_writer(void *arg) {
    cp_shared *s = arg;
    tu_rng rng = {7};
    float vb[CP_SMALL];
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        uint64_t id = CP_BASE + 1 + __atomic_load_n(&s->written, __ATOMIC_RELAXED);
        tu_fill(&rng, vb, CP_SMALL);
        char payload[64];
        snprintf(payload, sizeof payload, "{\"n\":%llu}", (unsigned long long)id);
        sc_vector_in vin = {.name = "b", .data = vb, .dim = CP_SMALL};
        sc_point_in pt = {.id = sc_point_id_num(id), .vectors = &vin, .n_vectors = 1, .payload_json = payload};
        if (sc_points_upsert(s->db, "c", &pt, 1) != SC_OK) {
            __atomic_fetch_add(&s->failures, 1, __ATOMIC_RELAXED);
            break;
        }
        __atomic_fetch_add(&s->written, 1, __ATOMIC_RELEASE);
        struct timespec pause = {0, 2000000}; /* 2 ms */
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* Compactions while one thread searches and another writes (full sync: the
** group fsync of the WAL runs too): each swaps, after at most 3 copies (the
** third holds the writer back); the writer goes on afterwards, no read
** fails, and every acknowledged write is there, before and after a reopen.
** With the writer stopped, a compaction under reads swaps at once. */
static void test_compact_during_reads_and_writes(void **state) {
    (void)state;
    char *dir = tu_tmpdir("compact_rw");
    sc_db *db = tu_db_open_ok(dir, NULL);
    cp_create(db);
    cp_put(db, 1, CP_BASE, true);
    assert_int_equal(sc_collection_vector_delete(db, "c", "a"), SC_OK);
    cp_shared s = {.db = db};
    pthread_t rt, wt;
    assert_int_equal(pthread_create(&rt, NULL, cp_reader, &s), 0);
    assert_int_equal(pthread_create(&wt, NULL, cp_writer, &s), 0);
    unsigned copies = 0;
    for (int i = 0; i < 4; i++) {
        sc_db_compact_info ci;
        /* overtaken copies are made again; the third holds the writer back: every compaction swaps */
        if (sc_db_compact(db, &ci) != SC_OK) fail_msg("compaction %d: %s", i, sc_db_errmsg(db));
        assert_true(ci.copies >= 1 && ci.copies <= 3);
        copies += ci.copies;
    }
    /* the writer goes on after the gate opened */
    uint64_t at_end = __atomic_load_n(&s.written, __ATOMIC_ACQUIRE);
    while (__atomic_load_n(&s.written, __ATOMIC_ACQUIRE) < at_end + 3 && !__atomic_load_n(&s.failures, __ATOMIC_RELAXED)) {
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    pthread_join(wt, NULL);
    uint64_t written = __atomic_load_n(&s.written, __ATOMIC_ACQUIRE);
    /* the writer has stopped: this one swaps while reads go on */
    __atomic_store_n(&s.stop, 0, __ATOMIC_RELEASE);
    sc_db_compact_info last;
    assert_int_equal(sc_db_compact(db, &last), SC_OK);
    assert_int_equal(last.copies, 1);
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    pthread_join(rt, NULL);
    print_message("4 compactions under writes: %u copies; %llu points written, %llu reads\n", copies,
                  (unsigned long long)written, (unsigned long long)s.searches);
    assert_int_equal(s.failures, 0);
    assert_true(written > 0 && s.searches > 0);
    assert_int_equal(cp_count(db), CP_BASE + written);
    cp_check_point(db, CP_BASE + written);
    sc_db_close(db);
    db = tu_db_open_ok(dir, NULL);
    assert_int_equal(cp_count(db), CP_BASE + written);
    for (uint64_t id = 1; id <= CP_BASE + written; id += 37) cp_check_point(db, id);
    cp_check_point(db, CP_BASE + written);
    sc_db_close(db);
    tu_rmdir(dir);
}

/* What a compaction cut short leaves (its copy; the old file's link) is
** deleted at the next open, and store.db is the one that counts. */
static void test_compact_leftovers_cleared(void **state) {
    (void)state;
    char *dir = tu_tmpdir("compact_left");
    sc_db *db = tu_db_open_normal(dir);
    cp_create(db);
    cp_put(db, 1, 20, false);
    sc_db_close(db);
    static const char *const names[] = {"store.db.compact", "store.db.old"};
    for (size_t i = 0; i < 2; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs("half a copy", f);
        fclose(f);
    }
    db = tu_db_open_normal(dir);
    assert_int_equal(cp_bytes(dir, "store.db.compact") + cp_bytes(dir, "store.db.old"), 0);
    assert_int_equal(cp_count(db), 20);
    assert_int_equal(sc_db_compact(NULL, NULL), SC_MISUSE);
    sc_db_close(db);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_gives_space_back),
        cmocka_unit_test(test_compact_during_reads_and_writes),
        cmocka_unit_test(test_compact_leftovers_cleared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
