/*
** Unit tests of snapshot files (src/store/snapshot.c, snapshot_files.c):
** SHA-256 known answers; a round trip that keeps points, payloads, BM25
** terms and the graph (searches answer the same); restore replacing a
** collection; and a damaged file at every cut and at sampled flipped bytes
** is refused with SC_CORRUPT (or SC_UNSUPPORTED), never crashes, and leaves
** the target collection as it was.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "semcode/snapshot.h"
#include "semcode/store.h"
#include "store_fixture.h"
#include "testutil.h"
#include "util/util.h"

#define TS_DIM 8

/* Collection `name` with n points (ids first..), graph from 50 points on, keyword texts. */
static void ts__fill(sc_db *db, const char *name, uint64_t first, size_t n) {
    sc_vector_params v = {.name = "", .dim = TS_DIM, .distance = SC_DISTANCE_COSINE};
    v.hnsw.index_threshold = 50;
    v.hnsw.full_scan_threshold = 10;
    assert_int_equal(sc_collection_create(db, name, &v, 1), SC_OK);
    static const char *words[] = {"retry backoff", "parse header", "open socket", "hash table"};
    for (size_t i = 0; i < n; i++) {
        float x[TS_DIM];
        for (int k = 0; k < TS_DIM; k++) x[k] = (float)((i * 31 + (size_t)k * 7) % 17) + 0.5f;
        sc_vector_in vi = {.name = "", .data = x, .dim = TS_DIM};
        char payload[64];
        snprintf(payload, sizeof payload, "{\"i\":%zu,\"w\":\"%s\"}", i, words[i % 4]);
        sc_point_in p = {.id = sc_point_id_num(first + i), .vectors = &vi, .n_vectors = 1, .payload_json = payload,
                         .text = words[i % 4]};
        assert_int_equal(sc_points_upsert(db, name, &p, 1), SC_OK);
    }
}

/* The ids of a top-5 dense and a keyword search, as text. */
static void ts__answers(sc_db *db, const char *name, char *out, size_t size) {
    float q[TS_DIM] = {1, 2, 3, 4, 5, 6, 7, 8};
    sc_search_request rq = {.query = q, .dim = TS_DIM, .limit = 5};
    sc_search_request rk = {.text = "parse header", .limit = 5};
    sc_record_list *a = NULL, *b = NULL;
    assert_int_equal(sc_points_search(db, name, &rq, &a), SC_OK);
    assert_int_equal(sc_points_search(db, name, &rk, &b), SC_OK);
    size_t o = 0;
    for (size_t i = 0; i < a->n; i++) o += (size_t)snprintf(out + o, size - o, "%llu ", (unsigned long long)a->items[i].id.num);
    o += (size_t)snprintf(out + o, size - o, "| ");
    for (size_t i = 0; i < b->n; i++) o += (size_t)snprintf(out + o, size - o, "%llu ", (unsigned long long)b->items[i].id.num);
    sc_record_list_free(a);
    sc_record_list_free(b);
}

static void test_sha256_known_answers(void **state) {
    (void)state;
    char hex[65];
    util_sha256 s;
    util_sha256_init(&s);
    util_sha256_hex(&s, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    util_sha256_init(&s);
    util_sha256_update(&s, "abc", 3);
    util_sha256_hex(&s, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 448 bits, split across updates: the padding crosses a block */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    util_sha256_init(&s);
    util_sha256_update(&s, m, 10);
    util_sha256_update(&s, m + 10, strlen(m) - 10);
    util_sha256_hex(&s, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_snapshot_round_trip(void **state) {
    (void)state;
    char *dir = tu_tmpdir("snap");
    char src_dir[600], dst_dir[600], file[600];
    snprintf(src_dir, sizeof src_dir, "%s/src", dir);
    snprintf(dst_dir, sizeof dst_dir, "%s/dst", dir);
    snprintf(file, sizeof file, "%s/c.snapshot", dir);
    sc_db *db = tu_db_open_normal(src_dir);
    ts__fill(db, "c", 1, 200);
    char want[512], got[512];
    ts__answers(db, "c", want, sizeof want);
    const char *names[1] = {"c"};
    sc_snapshot_info info = {0};
    assert_int_equal(sc_snapshot_create(db, names, 1, NULL, file, &info), SC_OK);
    assert_int_equal(info.n_points, 200);
    assert_non_null(strstr(info.manifest, "\"kind\":\"collection\""));
    char sha[65];
    memcpy(sha, info.sha256, sizeof sha);
    sc_snapshot_info_free(&info);
    assert_int_equal(sc_snapshot_verify(file, &info), SC_OK);
    assert_string_equal(info.sha256, sha);
    assert_int_equal(info.n_points, 200);
    sc_snapshot_info_free(&info);
    const char *missing[1] = {"nope"};
    assert_int_equal(sc_snapshot_create(db, missing, 1, NULL, file, NULL), SC_NOTFOUND);
    sc_db_close(db);

    sc_db *dst = tu_db_open_normal(dst_dir);
    ts__fill(dst, "c", 1000, 30); /* replaced by the restore */
    uint64_t n = 0;
    assert_int_equal(sc_snapshot_restore(dst, file, NULL, NULL, &n), SC_OK);
    assert_int_equal(n, 200);
    assert_int_equal(sc_snapshot_restore(dst, file, "c", "copy", NULL), SC_OK);
    assert_int_equal(sc_snapshot_restore(dst, file, "other", "x", NULL), SC_NOTFOUND);
    ts__answers(dst, "c", got, sizeof got);
    assert_string_equal(got, want);
    sc_db_close(dst);
    dst = tu_db_open_normal(dst_dir); /* durable; the restored graph is loaded by the reopen */
    ts__answers(dst, "copy", got, sizeof got);
    assert_string_equal(got, want);
    uint64_t count = 0;
    assert_int_equal(sc_points_count(dst, "c", NULL, &count), SC_OK);
    assert_int_equal(count, 200);
    sc_db_close(dst);
    tu_rmdir(dir);
}

static void test_snapshot_damaged_files(void **state) {
    (void)state;
    char *dir = tu_tmpdir("snapbad");
    char src_dir[600], file[600], bad[600];
    snprintf(src_dir, sizeof src_dir, "%s/src", dir);
    snprintf(file, sizeof file, "%s/c.snapshot", dir);
    snprintf(bad, sizeof bad, "%s/bad.snapshot", dir);
    sc_db *db = tu_db_open_normal(src_dir);
    ts__fill(db, "c", 1, 60);
    const char *names[1] = {"c"};
    assert_int_equal(sc_snapshot_create(db, names, 1, NULL, file, NULL), SC_OK);
    ts__fill(db, "target", 500, 7);
    size_t n_bytes = 0;
    unsigned char *bytes = (unsigned char *)tu_read_file(file, &n_bytes);
    assert_non_null(bytes);
    long size = (long)n_bytes;
    /* every cut (sampled) and flipped bytes: refused, target unchanged */
    for (long cut = 0; cut < size; cut += cut < 64 ? 1 : 97) {
        for (int flip = 0; flip < 2; flip++) {
            FILE *w = fopen(bad, "wb");
            if (flip) {
                bytes[cut] ^= 0x11;
                fwrite(bytes, 1, (size_t)size, w);
                bytes[cut] ^= 0x11;
            } else {
                fwrite(bytes, 1, (size_t)cut, w);
            }
            fclose(w);
            sc_status rc = sc_snapshot_restore(db, bad, NULL, "target", NULL);
            if (rc != SC_CORRUPT && rc != SC_UNSUPPORTED) fail_msg("cut %ld flip %d: status %d (%s)", cut, flip, rc,
                                                                   sc_db_errmsg(db));
            uint64_t count = 0;
            assert_int_equal(sc_points_count(db, "target", NULL, &count), SC_OK);
            assert_int_equal(count, 7);
        }
    }
    free(bytes);
    sc_db_close(db);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_snapshot_damaged_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
