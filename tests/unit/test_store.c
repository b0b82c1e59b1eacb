/*
** Unit tests of the embedded store through the public API: collections,
** points, payload operations, scroll, count, exact search against a naive
** reference, bad input (each rejected with a message and nothing changed),
** persistence across reopen, corruption detection, the process lock, and
** the store formats (format 1 upgraded on open, a newer one refused).
*/
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "semcode/semcode.h"
#include "store_fixture.h"
#include "testutil.h"
#include "util/util.h"

/* ==== Fixture ==== */

typedef tu_store fx; /* store directory and open store */
#define fx_setup tu_store_setup
#define fx_teardown tu_store_teardown

/* The store's message is the calling thread's (store.h, common.h): a
** failure on another thread sharing db leaves it alone, and a call with a
** NULL argument says so, even without a handle. */
static void *errmsg_other_thread(void *arg) {
    sc_db *db = arg;
    if (sc_collection_delete(db, "missing_in_thread") != SC_NOTFOUND) return (void *)"no failure";
    return strstr(sc_db_errmsg(db), "missing_in_thread") ? NULL : (void *)"wrong message";
}

static void test_errmsg_per_thread(void **state) {
    fx *f = *state;
    assert_int_equal(sc_collection_delete(f->db, "missing_here"), SC_NOTFOUND);
    tu_assert_msg_has(f->db, "missing_here");
    pthread_t th;
    void *res = (void *)"not run";
    assert_int_equal(pthread_create(&th, NULL, errmsg_other_thread, f->db), 0);
    assert_int_equal(pthread_join(th, &res), 0);
    assert_null(res);
    tu_assert_msg_has(f->db, "missing_here");
    tu_assert_msg_has(NULL, "missing_here"); /* the handle is not consulted */
    uint64_t n = 0;
    assert_int_equal(sc_points_count(NULL, "c", NULL, &n), SC_MISUSE);
    tu_assert_msg_has(f->db, "sc_points_count: NULL argument");
    assert_int_equal(sc_points_search(f->db, "c", NULL, NULL), SC_MISUSE);
    tu_assert_msg_has(f->db, "sc_points_search: NULL argument");
}

static void make_coll(sc_db *db, const char *name, uint32_t dim, sc_distance d) {
    sc_vector_params vp = {.name = "", .dim = dim, .distance = d};
    assert_int_equal(sc_collection_create(db, name, &vp, 1), SC_OK);
}

/* Upsert n points with ids first..first+n-1, vectors from rng, payload from fmt(i). */
static void put_points(sc_db *db, const char *coll, uint64_t first, size_t n, uint32_t dim, tu_rng *rng,
                       float *keep) {
    float *v = malloc(sizeof(float) * dim * n);
    sc_point_in *pts = calloc(n, sizeof *pts);
    sc_vector_in *vin = calloc(n, sizeof *vin);
    char **payloads = calloc(n, sizeof *payloads);
    tu_fill(rng, v, (size_t)dim * n);
    for (size_t i = 0; i < n; i++) {
        uint64_t id = first + i;
        payloads[i] = malloc(128);
        snprintf(payloads[i], 128, "{\"n\": %llu, \"parity\": \"%s\", \"tags\": [\"t%llu\"]}",
                 (unsigned long long)id, id % 2 ? "odd" : "even", (unsigned long long)(id % 3));
        vin[i] = (sc_vector_in){"", v + i * dim, dim};
        pts[i] = (sc_point_in){.id = sc_point_id_num(id), .vectors = &vin[i], .n_vectors = 1, .payload_json = payloads[i]};
    }
    assert_int_equal(sc_points_upsert(db, coll, pts, n), SC_OK);
    if (keep) memcpy(keep, v, sizeof(float) * dim * n);
    for (size_t i = 0; i < n; i++) free(payloads[i]);
    free(payloads);
    free(vin);
    free(pts);
    free(v);
}

/* Collection "c" (dimension 4, dot product) of f's store with points
** first..first+n-1, their vectors from a generator of seed. */
static void fx_points(fx *f, uint64_t first, size_t n, uint64_t seed) {
    make_coll(f->db, "c", 4, SC_DISTANCE_DOT);
    tu_rng rng = {seed};
    put_points(f->db, "c", first, n, 4, &rng, NULL);
}

/* A second connection to dir/store.db (the store may be open); close it. */
static sqlite3 *store_sqlite(const char *dir) {
    char p[512];
    snprintf(p, sizeof p, "%s/store.db", dir);
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open(p, &s), SQLITE_OK);
    sqlite3_busy_timeout(s, 5000);
    return s;
}

static uint64_t count(sc_db *db, const char *coll, const char *filter) {
    uint64_t n = 0;
    assert_int_equal(sc_points_count(db, coll, filter, &n), SC_OK);
    return n;
}

/* ==== Collections ==== */

static void test_collections(void **state) {
    fx *f = *state;
    sc_vector_params vp[2] = {{.name = "code", .dim = 8, .distance = SC_DISTANCE_COSINE}, {.name = "doc", .dim = 4, .distance = SC_DISTANCE_DOT}};
    assert_int_equal(sc_collection_create(f->db, "b_coll", vp, 2), SC_OK);
    make_coll(f->db, "a_coll", 3, SC_DISTANCE_EUCLID);
    assert_int_equal(sc_collection_create(f->db, "a_coll", vp, 1), SC_EXISTS);
    tu_assert_msg_has(f->db, "already exists");
    assert_true(sc_collection_exists(f->db, "a_coll"));
    assert_false(sc_collection_exists(f->db, "nope"));
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(sc_collection_list(f->db, &names, &n), SC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "a_coll");
    assert_string_equal(names[1], "b_coll");
    assert_null(names[2]);
    sc_strv_free(names);
    sc_collection_info info;
    assert_int_equal(sc_collection_info_get(f->db, "b_coll", &info), SC_OK);
    assert_int_equal(info.n_vector_params, 2);
    assert_string_equal(info.vectors[0].name, "code");
    assert_int_equal(info.vectors[1].dim, 4);
    assert_int_equal(info.vectors[1].distance, SC_DISTANCE_DOT);
    assert_int_equal(info.n_points, 0);
    sc_collection_info_free(&info);
    tu_store_reopen_ok(f);
    assert_true(sc_collection_exists(f->db, "b_coll"));
    assert_int_equal(sc_collection_delete(f->db, "b_coll"), SC_OK);
    assert_int_equal(sc_collection_delete(f->db, "b_coll"), SC_NOTFOUND);
    tu_assert_msg_has(f->db, "b_coll");
    tu_store_reopen_ok(f);
    assert_false(sc_collection_exists(f->db, "b_coll"));
    assert_true(sc_collection_exists(f->db, "a_coll"));
}

static void test_collection_bad_input(void **state) {
    fx *f = *state;
    sc_vector_params vp = {.name = "", .dim = 0, .distance = SC_DISTANCE_COSINE};
    assert_int_equal(sc_collection_create(f->db, "c", &vp, 1), SC_INVALID);
    tu_assert_msg_has(f->db, "size: 0");
    vp.dim = SC_MAX_DIM + 1;
    assert_int_equal(sc_collection_create(f->db, "c", &vp, 1), SC_INVALID);
    tu_assert_msg_has(f->db, "65537");
    vp.dim = SC_MAX_DIM;
    assert_int_equal(sc_collection_create(f->db, "big", &vp, 1), SC_OK);
    vp.dim = 4;
    assert_int_equal(sc_collection_create(f->db, "bad/name", &vp, 1), SC_INVALID);
    tu_assert_msg_has(f->db, "\"/\"");
    assert_int_equal(sc_collection_create(f->db, "tab\tname", &vp, 1), SC_INVALID);
    tu_assert_msg_has(f->db, "control character");
    /* Qdrant's rule: anything but control characters and < > : " / \\ | ? * */
    assert_int_equal(sc_collection_create(f->db, "a%41 b+é", &vp, 1), SC_OK);
    assert_true(sc_collection_exists(f->db, "a%41 b+é"));
    assert_int_equal(sc_collection_create(f->db, "", &vp, 1), SC_INVALID);
    assert_int_equal(sc_collection_create(f->db, "c", &vp, 0), SC_INVALID);
    sc_vector_params two[2] = {{.name = "x", .dim = 4, .distance = SC_DISTANCE_DOT}, {.name = "x", .dim = 4, .distance = SC_DISTANCE_DOT}};
    assert_int_equal(sc_collection_create(f->db, "c", two, 2), SC_INVALID);
    tu_assert_msg_has(f->db, "twice");
    vp.distance = (sc_distance)9;
    assert_int_equal(sc_collection_create(f->db, "c", &vp, 1), SC_INVALID);
    assert_false(sc_collection_exists(f->db, "c"));
    sc_distance d;
    assert_int_equal(sc_distance_parse("Euclid", &d), SC_OK);
    assert_int_equal(d, SC_DISTANCE_EUCLID);
    assert_int_equal(sc_distance_parse("bogus", &d), SC_INVALID);
}

/* ==== Points ==== */

static void test_upsert_get_roundtrip(void **state) {
    fx *f = *state;
    sc_vector_params vp[2] = {{.name = "code", .dim = 4, .distance = SC_DISTANCE_COSINE}, {.name = "doc", .dim = 3, .distance = SC_DISTANCE_EUCLID}};
    assert_int_equal(sc_collection_create(f->db, "c", vp, 2), SC_OK);
    float a[4] = {3, 0, 4, 0}, b[3] = {1, 2, 3};
    sc_vector_in v1[2] = {{"code", a, 4}, {"doc", b, 3}};
    sc_point_id uid;
    assert_int_equal(sc_point_id_parse_uuid("550e8400-e29b-41d4-a716-446655440000", &uid), SC_OK);
    sc_point_in pts[2] = {
        {.id = sc_point_id_num(7), .vectors = v1, .n_vectors = 2, .payload_json = "{\"lang\": \"c\", \"n\": 1}"},
        {.id = uid, .vectors = &v1[1], .n_vectors = 1, .payload_json = NULL},
    };
    assert_int_equal(sc_points_upsert(f->db, "c", pts, 2), SC_OK);
    for (int round = 0; round < 2; round++) {
        sc_point_id ids[3] = {uid, sc_point_id_num(99), sc_point_id_num(7)};
        sc_with w = {.payload = true, .vectors = true};
        sc_record_list *l = NULL;
        assert_int_equal(sc_points_get(f->db, "c", ids, 3, &w, &l), SC_OK);
        assert_int_equal(l->n, 2);
        assert_int_equal(sc_point_id_cmp(&l->items[0].id, &uid), 0);
        assert_int_equal(l->items[0].n_vectors, 1);
        assert_string_equal(l->items[0].vector_names[0], "doc");
        assert_string_equal(l->items[0].payload_json, "{}");
        assert_int_equal(l->items[1].id.num, 7);
        assert_int_equal(l->items[1].n_vectors, 2);
        /* cosine vectors are normalised on upsert */
        assert_float_equal(l->items[1].vectors[0][0], 0.6, 1e-6);
        assert_float_equal(l->items[1].vectors[0][2], 0.8, 1e-6);
        assert_float_equal(l->items[1].vectors[1][2], 3.0, 0);
        assert_non_null(strstr(l->items[1].payload_json, "\"lang\":\"c\""));
        sc_record_list_free(l);
        char buf[40];
        assert_string_equal(sc_point_id_format(&uid, buf, sizeof buf), "550e8400-e29b-41d4-a716-446655440000");
        tu_store_reopen_ok(f);
    }
    /* replace: the new point has only the doc vector */
    sc_point_in rep = {.id = sc_point_id_num(7), .vectors = &v1[1], .n_vectors = 1, .payload_json = "{\"lang\": \"go\"}"};
    assert_int_equal(sc_points_upsert(f->db, "c", &rep, 1), SC_OK);
    sc_point_id id7 = sc_point_id_num(7);
    sc_with w = {.payload = true, .vectors = true};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_get(f->db, "c", &id7, 1, &w, &l), SC_OK);
    assert_int_equal(l->items[0].n_vectors, 1);
    assert_string_equal(l->items[0].payload_json, "{\"lang\":\"go\"}");
    sc_record_list_free(l);
    assert_int_equal(count(f->db, "c", NULL), 2);
}

static void test_bad_points_change_nothing(void **state) {
    fx *f = *state;
    fx_points(f, 1, 5, 1);
    float good[4] = {1, 2, 3, 4}, nan_v[4] = {1, NAN, 3, 4}, inf_v[4] = {1, 2, INFINITY, 4}, short_v[3] = {1, 2, 3};
    sc_vector_in vg = {"", good, 4};
    struct {
        sc_vector_in vin;
        const char *payload;
        sc_status want;
        const char *msg;
    } cases[] = {
        {{"", short_v, 3}, NULL, SC_INVALID, "dimension 3, collection `c` expects 4"},
        {{"", nan_v, 4}, NULL, SC_INVALID, "component 1 is NaN"},
        {{"", inf_v, 4}, NULL, SC_INVALID, "component 2 is infinite"},
        {{"nope", good, 4}, NULL, SC_NOTFOUND, "vector name `nope`"},
        {{"", good, 4}, "[1,2]", SC_INVALID, "payload must be a JSON object"},
        {{"", good, 4}, "{\"a\": ", SC_INVALID, "payload is not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sc_point_in pts[2] = {{.id = sc_point_id_num(100), .vectors = &vg, .n_vectors = 1, .payload_json = "{\"new\": true}"},
                              {.id = sc_point_id_num(101), .vectors = &cases[i].vin, .n_vectors = 1, .payload_json = cases[i].payload}};
        assert_int_equal(sc_points_upsert(f->db, "c", pts, 2), cases[i].want);
        tu_assert_msg_has(f->db, cases[i].msg);
        tu_assert_msg_has(f->db, "points[1] (id 101)");
        assert_int_equal(count(f->db, "c", NULL), 5);
        sc_point_id id = sc_point_id_num(100);
        sc_record_list *l = NULL;
        assert_int_equal(sc_points_get(f->db, "c", &id, 1, NULL, &l), SC_OK);
        assert_int_equal(l->n, 0);
        sc_record_list_free(l);
    }
    sc_point_in p = {.id = sc_point_id_num(1), .vectors = &vg, .n_vectors = 1, .payload_json = NULL};
    assert_int_equal(sc_points_upsert(f->db, "missing", &p, 1), SC_NOTFOUND);
    tu_assert_msg_has(f->db, "Collection `missing` doesn't exist!");
    sc_point_id bad;
    assert_int_equal(sc_point_id_parse_uuid("not-a-uuid", &bad), SC_INVALID);
    assert_int_equal(sc_point_id_parse_uuid("550e8400-e29b-41d4-a716-44665544000g", &bad), SC_INVALID);
    /* after reopen nothing of the failed batches is there either */
    tu_store_reopen_ok(f);
    assert_int_equal(count(f->db, "c", NULL), 5);
}

static void test_delete_and_payload_ops(void **state) {
    fx *f = *state;
    fx_points(f, 0, 30, 2);
    uint64_t nd = 0;
    sc_point_id ids[3] = {sc_point_id_num(0), sc_point_id_num(1), sc_point_id_num(999)};
    assert_int_equal(sc_points_delete(f->db, "c", ids, 3, &nd), SC_OK);
    assert_int_equal(nd, 2);
    assert_int_equal(count(f->db, "c", NULL), 28);
    assert_int_equal(sc_points_delete_by_filter(f->db, "c", "{\"must\": [{\"key\": \"parity\", \"match\": {\"value\": \"odd\"}}]}", &nd), SC_OK);
    assert_int_equal(nd, 14);
    assert_int_equal(count(f->db, "c", NULL), 14);
    assert_int_equal(sc_points_delete_by_filter(f->db, "c", "{\"must\": [{\"key\": 5}]}", &nd), SC_INVALID);
    assert_int_equal(count(f->db, "c", NULL), 14);

    /* set merges, overwrite replaces, delete removes keys, clear empties */
    sc_point_id id2 = sc_point_id_num(2);
    sc_selector sel = {&id2, 1, NULL};
    uint64_t nc = 0;
    assert_int_equal(sc_payload_set(f->db, "c", &sel, "{\"extra\": {\"deep\": 1, \"keep\": 2}}", &nc), SC_OK);
    assert_int_equal(nc, 1);
    sc_with w = {.payload = true};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_get(f->db, "c", &id2, 1, &w, &l), SC_OK);
    assert_non_null(strstr(l->items[0].payload_json, "\"parity\":\"even\""));
    assert_non_null(strstr(l->items[0].payload_json, "\"deep\":1"));
    sc_record_list_free(l);
    const char *keys[] = {"extra.deep", "parity"};
    assert_int_equal(sc_payload_delete_keys(f->db, "c", &sel, keys, 2, &nc), SC_OK);
    assert_int_equal(sc_points_get(f->db, "c", &id2, 1, &w, &l), SC_OK);
    assert_null(strstr(l->items[0].payload_json, "deep"));
    assert_null(strstr(l->items[0].payload_json, "parity"));
    assert_non_null(strstr(l->items[0].payload_json, "\"keep\":2"));
    sc_record_list_free(l);
    sc_selector by_filter = {NULL, 0, "{\"must\": {\"key\": \"parity\", \"match\": {\"value\": \"even\"}}}"};
    assert_int_equal(sc_payload_overwrite(f->db, "c", &by_filter, "{\"only\": 1}", &nc), SC_OK);
    assert_int_equal(nc, 13); /* id 2 lost its parity above */
    assert_int_equal(count(f->db, "c", "{\"must\": {\"key\": \"only\", \"match\": {\"value\": 1}}}"), 13);
    assert_int_equal(sc_payload_set(f->db, "c", &sel, "[1]", &nc), SC_INVALID);
    sc_selector none = {NULL, 0, NULL};
    assert_int_equal(sc_payload_clear(f->db, "c", &none, &nc), SC_INVALID);
    assert_int_equal(sc_payload_clear(f->db, "c", &sel, &nc), SC_OK);
    tu_store_reopen_ok(f);
    assert_int_equal(sc_points_get(f->db, "c", &id2, 1, &w, &l), SC_OK);
    assert_string_equal(l->items[0].payload_json, "{}");
    sc_record_list_free(l);
    assert_int_equal(count(f->db, "c", "{\"must\": {\"key\": \"only\", \"match\": {\"value\": 1}}}"), 13);
}

static void test_scroll_and_count(void **state) {
    fx *f = *state;
    make_coll(f->db, "c", 2, SC_DISTANCE_DOT);
    tu_rng rng = {3};
    put_points(f->db, "c", 0, 25, 2, &rng, NULL);
    /* UUID ids sort after numbers */
    float v[2] = {1, 1};
    sc_vector_in vin = {"", v, 2};
    sc_point_in pu = {0};
    assert_int_equal(sc_point_id_parse_uuid("00000000-0000-0000-0000-000000000001", &pu.id), SC_OK);
    pu.vectors = &vin;
    pu.n_vectors = 1;
    assert_int_equal(sc_points_upsert(f->db, "c", &pu, 1), SC_OK);
    sc_scroll_request req = {.limit = 10};
    sc_point_id next;
    bool more = false;
    uint64_t seen = 0, expect = 0;
    int pages = 0;
    for (;;) {
        sc_record_list *l = NULL;
        assert_int_equal(sc_points_scroll(f->db, "c", &req, &l, &next, &more), SC_OK);
        for (size_t i = 0; i < l->n; i++, seen++) {
            if (seen < 25) {
                assert_int_equal(l->items[i].id.kind, SC_ID_KIND_NUM);
                assert_int_equal(l->items[i].id.num, expect++);
            } else {
                assert_int_equal(l->items[i].id.kind, SC_ID_KIND_UUID);
            }
        }
        sc_record_list_free(l);
        pages++;
        if (!more) break;
        req.has_offset = true;
        req.offset = next;
    }
    assert_int_equal(seen, 26);
    assert_int_equal(pages, 3);
    /* filtered scroll */
    sc_scroll_request fr = {.limit = 100, .filter_json = "{\"must\": {\"key\": \"parity\", \"match\": {\"value\": \"odd\"}}}"};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_scroll(f->db, "c", &fr, &l, &next, &more), SC_OK);
    assert_int_equal(l->n, 12);
    assert_false(more);
    for (size_t i = 0; i < l->n; i++) assert_int_equal(l->items[i].id.num % 2, 1);
    sc_record_list_free(l);
    assert_int_equal(count(f->db, "c", NULL), 26);
    assert_int_equal(count(f->db, "c", "{\"must\": {\"key\": \"n\", \"range\": {\"gte\": 10, \"lt\": 20}}}"), 10);
    /* the same counts with a payload index */
    assert_int_equal(sc_field_index_create(f->db, "c", "n", SC_FIELD_TYPE_INTEGER), SC_OK);
    assert_int_equal(sc_field_index_create(f->db, "c", "parity", SC_FIELD_TYPE_KEYWORD), SC_OK);
    assert_int_equal(sc_field_index_create(f->db, "c", "parity", SC_FIELD_TYPE_INTEGER), SC_INVALID);
    assert_int_equal(count(f->db, "c", "{\"must\": {\"key\": \"n\", \"range\": {\"gte\": 10, \"lt\": 20}}}"), 10);
    assert_int_equal(count(f->db, "c", "{\"must\": {\"key\": \"parity\", \"match\": {\"value\": \"odd\"}}}"), 12);
    tu_store_reopen_ok(f);
    sc_collection_info info;
    assert_int_equal(sc_collection_info_get(f->db, "c", &info), SC_OK);
    assert_int_equal(info.n_field_indexes, 2);
    assert_int_equal(info.n_points, 26);
    assert_true(info.disk_bytes > 0);
    sc_collection_info_free(&info);
    assert_int_equal(count(f->db, "c", "{\"must\": {\"key\": \"parity\", \"match\": {\"value\": \"even\"}}}"), 13);
    assert_int_equal(sc_field_index_delete(f->db, "c", "parity"), SC_OK);
    assert_int_equal(sc_field_index_delete(f->db, "c", "parity"), SC_NOTFOUND);
    assert_int_equal(count(f->db, "c", "{\"must\": {\"key\": \"parity\", \"match\": {\"value\": \"even\"}}}"), 13);
    assert_int_equal(sc_points_count(f->db, "c", "{\"must\": [{\"range\": {}}]}", &seen), SC_INVALID);
}

/* ==== Search ==== */

typedef struct ref_hit {
    float score;
    uint64_t id;
} ref_hit;

static int ref_cmp_desc(const void *a, const void *b) {
    const ref_hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int ref_cmp_asc(const void *a, const void *b) {
    const ref_hit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static float ref_score(sc_distance d, const float *a, const float *b, uint32_t dim) {
    double s = 0, na = 0, nb = 0;
    for (uint32_t i = 0; i < dim; i++) {
        double x = a[i], y = b[i];
        switch (d) {
        case SC_DISTANCE_COSINE:
            s += x * y;
            na += x * x;
            nb += y * y;
            break;
        case SC_DISTANCE_DOT: s += x * y; break;
        case SC_DISTANCE_EUCLID: s += (x - y) * (x - y); break;
        case SC_DISTANCE_MANHATTAN: s += fabs(x - y); break;
        }
    }
    if (d == SC_DISTANCE_COSINE) return (float)(s / sqrt(na * nb));
    if (d == SC_DISTANCE_EUCLID) return (float)sqrt(s);
    return (float)s;
}

static void test_search_matches_reference(void **state) {
    fx *f = *state;
    const uint32_t dim = 17, n = 3000;
    sc_distance dists[] = {SC_DISTANCE_COSINE, SC_DISTANCE_DOT, SC_DISTANCE_EUCLID, SC_DISTANCE_MANHATTAN};
    for (size_t di = 0; di < 4; di++) {
        char name[16];
        snprintf(name, sizeof name, "c%zu", di);
        make_coll(f->db, name, dim, dists[di]);
        tu_rng rng = {10 + di};
        float *data = malloc(sizeof(float) * dim * n);
        put_points(f->db, name, 0, n, dim, &rng, data);
        bool higher = dists[di] <= SC_DISTANCE_DOT;
        for (int qi = 0; qi < 5; qi++) {
            float q[17];
            tu_fill(&rng, q, dim);
            ref_hit *ref = malloc(sizeof *ref * n);
            size_t m = 0;
            for (uint32_t i = 0; i < n; i++)
                if (qi < 3 || i % 2 == 1) ref[m++] = (ref_hit){ref_score(dists[di], q, data + i * dim, dim), i};
            qsort(ref, m, sizeof *ref, higher ? ref_cmp_desc : ref_cmp_asc);
            sc_search_request req = {.query = q, .dim = dim, .limit = 10, .offset = qi == 1 ? 5 : 0,
                                     .with = {.payload = true}};
            if (qi >= 3) req.filter_json = "{\"must\": {\"key\": \"parity\", \"match\": {\"value\": \"odd\"}}}";
            if (qi == 4) req.n_threads = 2;
            sc_record_list *l = NULL;
            assert_int_equal(sc_points_search(f->db, name, &req, &l), SC_OK);
            assert_int_equal(l->n, 10);
            for (size_t i = 0; i < l->n; i++) {
                const ref_hit *r = &ref[i + req.offset];
                assert_true(fabsf(l->items[i].score - r->score) <= 1e-4f * (1 + fabsf(r->score)));
                /* ids may differ only where the reference scores tie within rounding */
                if (l->items[i].id.num != r->id)
                    assert_true(fabsf(ref[i + req.offset + 1].score - r->score) < 1e-4f ||
                                fabsf(ref[i + req.offset - 1].score - r->score) < 1e-4f);
                assert_non_null(l->items[i].payload_json);
            }
            /* threshold: everything returned is within it */
            float thr = ref[4].score;
            sc_search_request treq = req;
            treq.offset = 0;
            treq.has_threshold = true;
            treq.score_threshold = thr;
            sc_record_list *t = NULL;
            assert_int_equal(sc_points_search(f->db, name, &treq, &t), SC_OK);
            assert_true(t->n >= 4 && t->n <= 6);
            for (size_t i = 0; i < t->n; i++)
                assert_true(higher ? t->items[i].score >= thr - 1e-6f : t->items[i].score <= thr + 1e-6f);
            sc_record_list_free(t);
            sc_record_list_free(l);
            free(ref);
        }
        free(data);
    }
}

static void test_search_ties_and_options(void **state) {
    fx *f = *state;
    make_coll(f->db, "c", 3, SC_DISTANCE_DOT);
    float v[3] = {1, 0, 0};
    sc_vector_in vin = {"", v, 3};
    sc_point_in pts[6];
    uint64_t ids[6] = {50, 3, 40, 1, 20, 7};
    for (int i = 0; i < 6; i++) pts[i] = (sc_point_in){.id = sc_point_id_num(ids[i]), .vectors = &vin, .n_vectors = 1, .payload_json = NULL};
    assert_int_equal(sc_points_upsert(f->db, "c", pts, 6), SC_OK);
    float q[3] = {1, 0, 0};
    sc_search_request req = {.query = q, .dim = 3, .limit = 4, .with = {.vectors = true}};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(f->db, "c", &req, &l), SC_OK);
    uint64_t want[4] = {1, 3, 7, 20};
    assert_int_equal(l->n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(l->items[i].id.num, want[i]);
        assert_int_equal(l->items[i].n_vectors, 1);
        assert_null(l->items[i].payload_json);
    }
    sc_record_list_free(l);
    /* batch search returns one list per query */
    float qs[6] = {1, 0, 0, 0, 1, 0};
    sc_record_list *out[2] = {0};
    req.limit = 2;
    assert_int_equal(sc_points_search_batch(f->db, "c", &req, qs, 2, out), SC_OK);
    assert_int_equal(out[0]->n, 2);
    assert_float_equal(out[0]->items[0].score, 1.0, 1e-6);
    assert_float_equal(out[1]->items[0].score, 0.0, 1e-6);
    sc_record_list_free(out[0]);
    sc_record_list_free(out[1]);
    /* bad queries */
    req.dim = 2;
    assert_int_equal(sc_points_search(f->db, "c", &req, &l), SC_INVALID);
    tu_assert_msg_has(f->db, "Vector dimension error: expected dim: 3, got 2");
    req.dim = 3;
    q[1] = NAN;
    assert_int_equal(sc_points_search(f->db, "c", &req, &l), SC_INVALID);
    tu_assert_msg_has(f->db, "NaN");
    q[1] = 0;
    req.vector_name = "nope";
    assert_int_equal(sc_points_search(f->db, "c", &req, &l), SC_NOTFOUND);
    tu_assert_msg_has(f->db, "`nope`");
    req.vector_name = NULL;
    req.filter_json = "{\"must\": [{\"key\": \"a\", \"match\": {\"value\": []}}]}";
    assert_int_equal(sc_points_search(f->db, "c", &req, &l), SC_INVALID);
    req.filter_json = "{not json";
    assert_int_equal(sc_points_search(f->db, "c", &req, &l), SC_INVALID);
}

/* ==== Durability details ==== */

static void test_second_process_is_refused(void **state) {
    fx *f = *state;
    sc_db *other = NULL;
    char err[512];
    assert_int_equal(tu_db_open(f->dir, NULL, &other, err, sizeof err), SC_BUSY);
    assert_null(other);
    assert_non_null(strstr(err, "open in another process"));
    pid_t pid = fork();
    if (pid == 0) {
        sc_db *db = NULL;
        _exit(sc_db_open(f->dir, NULL, &db, NULL) == SC_BUSY ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A collection "c" of n points (4-d, seed), the store closed, then one SQL
** statement run on its file directly: it must change `changes` rows. */
static void fx_points_then_sql(fx *f, uint64_t n, uint64_t seed, const char *sql, int changes) {
    fx_points(f, 0, n, seed);
    sc_db_close(f->db);
    f->db = NULL;
    sqlite3 *s = store_sqlite(f->dir);
    assert_int_equal(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_changes(s), changes);
    sqlite3_close(s);
}

static void test_corrupt_vector_blob_is_reported(void **state) {
    fx *f = *state;
    fx_points_then_sql(f, 3, 4, "UPDATE points SET vectors = zeroblob(40) WHERE pid = (SELECT min(pid) FROM points)", 1);
    char err[512];
    assert_int_equal(tu_db_open(f->dir, NULL, &f->db, err, sizeof err), SC_CORRUPT);
    assert_non_null(strstr(err, "point 0"));
    assert_non_null(strstr(err, "offset"));
    f->db = NULL;
    assert_int_equal(tu_store_fresh(f), SC_OK); /* a clean store for the fixture's teardown */
}

/* ==== Store format 1 (before xxHash) ==== */

/* Magic of each point's vector blob, by id order: 1 for "SCV1", 2 for "SCV2", 0 otherwise. */
static void blob_magics(const char *dir, int *out, size_t n) {
    sqlite3 *s = store_sqlite(dir);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(s, "SELECT vectors FROM points ORDER BY pid", -1, &st, NULL), SQLITE_OK);
    size_t i = 0;
    for (; sqlite3_step(st) == SQLITE_ROW; i++) {
        assert_true(i < n);
        uint32_t m = 0;
        memcpy(&m, sqlite3_column_blob(st, 0), 4);
        out[i] = m == 0x53435631u ? 1 : m == 0x53435632u ? 2 : 0;
    }
    assert_int_equal(i, n);
    sqlite3_finalize(st);
    sqlite3_close(s);
}

/* Turn the closed store at dir into one of format 1, as a build before
** xxHash wrote it: meta format_version 1, every vector blob "SCV1" with the
** util_hash64_v1 checksum. */
static void make_format1(const char *dir) {
    sqlite3 *s = store_sqlite(dir);
    sqlite3_stmt *rd = NULL, *wr = NULL;
    assert_int_equal(sqlite3_prepare_v2(s, "SELECT rid, vectors FROM points", -1, &rd, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(s, "UPDATE points SET vectors=?2 WHERE rid=?1", -1, &wr, NULL), SQLITE_OK);
    while (sqlite3_step(rd) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(rd, 1);
        uint8_t *b = malloc((size_t)n);
        memcpy(b, sqlite3_column_blob(rd, 1), (size_t)n);
        uint32_t magic = 0x53435631u;
        memcpy(b, &magic, 4);
        uint64_t sum = util_hash64_v1(b, (size_t)n - 8, 0x5343);
        memcpy(b + n - 8, &sum, 8);
        sqlite3_reset(wr);
        sqlite3_bind_int64(wr, 1, sqlite3_column_int64(rd, 0));
        sqlite3_bind_blob(wr, 2, b, n, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(wr), SQLITE_DONE);
        free(b);
    }
    sqlite3_finalize(rd);
    sqlite3_finalize(wr);
    assert_int_equal(sqlite3_exec(s, "UPDATE meta SET value='1' WHERE key='format_version'", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(s);
}

/* A store of format 1 opens with its vectors intact and is marked format 2;
** its SCV1 blobs stay readable next to the SCV2 blobs of points written
** since, and a damaged SCV1 blob is still caught by its old checksum. */
static void test_format1_store_is_upgraded(void **state) {
    fx *f = *state;
    make_coll(f->db, "c", 4, SC_DISTANCE_DOT);
    tu_rng rng = {11};
    float keep[3 * 4];
    put_points(f->db, "c", 0, 3, 4, &rng, keep);
    sc_db_close(f->db);
    f->db = NULL;
    make_format1(f->dir);
    int magic[3];
    blob_magics(f->dir, magic, 3);
    assert_true(magic[0] == 1 && magic[1] == 1 && magic[2] == 1);
    char err[512];
    assert_int_equal(tu_db_open(f->dir, NULL, &f->db, err, sizeof err), SC_OK);
    char *v = tu_store_format_ok(f->dir);
    assert_string_equal(v, "2");
    free(v);
    sc_point_id ids[3] = {sc_point_id_num(0), sc_point_id_num(1), sc_point_id_num(2)};
    sc_with with = {.vectors = true};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_get(f->db, "c", ids, 3, &with, &l), SC_OK);
    assert_int_equal(l->n, 3);
    for (size_t i = 0; i < 3; i++) assert_memory_equal(l->items[i].vectors[0], keep + i * 4, sizeof(float) * 4);
    sc_record_list_free(l);
    /* a point written now gets an SCV2 blob; the others keep theirs and still load */
    tu_rng again = {11};
    put_points(f->db, "c", 0, 1, 4, &again, NULL);
    tu_store_reopen_ok(f);
    blob_magics(f->dir, magic, 3);
    assert_true(magic[0] == 2 && magic[1] == 1 && magic[2] == 1);
    assert_int_equal(count(f->db, "c", NULL), 3);
    /* one changed float in an SCV1 blob fails its (format 1) checksum */
    sc_db_close(f->db);
    f->db = NULL;
    tu_store_sql_ok(f->dir, "UPDATE points SET vectors = substr(vectors, 1, 16) || x'0000807f' || substr(vectors, 21)"
                      " WHERE pid = (SELECT max(pid) FROM points)");
    assert_int_equal(tu_db_open(f->dir, NULL, &f->db, err, sizeof err), SC_CORRUPT);
    assert_non_null(strstr(err, "checksum"));
    f->db = NULL;
    assert_int_equal(tu_store_fresh(f), SC_OK);
}

/* A store of a newer format is refused with a message saying so, and left
** as it was; a format_version that is not a number is corruption. */
static void test_newer_store_format_is_refused(void **state) {
    fx *f = *state;
    make_coll(f->db, "c", 4, SC_DISTANCE_DOT);
    sc_db_close(f->db);
    f->db = NULL;
    char *v = tu_store_format_ok(f->dir);
    assert_string_equal(v, "2"); /* a new store without sparse vectors is written at format 2 (3 comes with them) */
    free(v);
    tu_store_sql_ok(f->dir, "UPDATE meta SET value='5' WHERE key='format_version'");
    char err[512];
    assert_int_equal(tu_db_open(f->dir, NULL, &f->db, err, sizeof err), SC_UNSUPPORTED);
    assert_null(f->db);
    assert_non_null(strstr(err, "format version 5"));
    assert_non_null(strstr(err, "newer semcode"));
    v = tu_store_format_ok(f->dir);
    assert_string_equal(v, "5");
    free(v);
    tu_store_sql_ok(f->dir, "UPDATE meta SET value='two' WHERE key='format_version'");
    assert_int_equal(tu_db_open(f->dir, NULL, &f->db, err, sizeof err), SC_CORRUPT);
    assert_non_null(strstr(err, "'two'"));
    tu_store_sql_ok(f->dir, "UPDATE meta SET value='2' WHERE key='format_version'");
    assert_int_equal(tu_db_open(f->dir, NULL, &f->db, err, sizeof err), SC_OK);
}

/* Payloads loaded from disk stay text until used: after reopening, records
** carry the same text, filters on indexed and other keys, selections, a
** new index and payload writes (which must unindex the old values) all
** see the payload; keys with escapes and nested values load too; text
** that is not an object is reported at open. */
static void test_payloads_after_reopen(void **state) {
    fx *f = *state;
    make_coll(f->db, "c", 4, SC_DISTANCE_DOT);
    assert_int_equal(sc_field_index_create(f->db, "c", "parity", SC_FIELD_TYPE_KEYWORD), SC_OK);
    assert_int_equal(sc_field_index_create(f->db, "c", "n", SC_FIELD_TYPE_INTEGER), SC_OK);
    assert_int_equal(sc_field_index_create(f->db, "c", "meta.color", SC_FIELD_TYPE_KEYWORD), SC_OK);
    tu_rng rng = {11};
    put_points(f->db, "c", 0, 40, 4, &rng, NULL);
    const float v[4] = {1, 0, 0, 0};
    sc_vector_in vin = {"", v, 4};
    const char *odd[] = {"{\"a\\u0062\": \"esc\", \"parity\": \"odd\", \"n\": 100}",
                         "{\"meta\": {\"color\": \"red\", \"x\": [1, {\"y\": \"}]\"}]}, \"parity\": \"weird \\\" q\", \"n\": 101}"};
    for (int i = 0; i < 2; i++) {
        sc_point_in p = {.id = sc_point_id_num(100 + (uint64_t)i), .vectors = &vin, .n_vectors = 1, .payload_json = odd[i]};
        assert_int_equal(sc_points_upsert(f->db, "c", &p, 1), SC_OK);
    }
    sc_point_id ids[3] = {sc_point_id_num(7), sc_point_id_num(100), sc_point_id_num(101)};
    sc_with with = {.payload = true};
    sc_record_list *before = NULL, *after = NULL;
    assert_int_equal(sc_points_get(f->db, "c", ids, 3, &with, &before), SC_OK);
    tu_store_reopen_ok(f);
    assert_int_equal(sc_points_get(f->db, "c", ids, 3, &with, &after), SC_OK);
    assert_int_equal(after->n, 3);
    for (size_t i = 0; i < 3; i++) assert_string_equal(after->items[i].payload_json, before->items[i].payload_json);
    sc_record_list_free(before);
    sc_record_list_free(after);
    /* indexed keys, other keys, nested and escaped keys */
    assert_int_equal(count(f->db, "c", "{\"must\": [{\"key\": \"parity\", \"match\": {\"value\": \"odd\"}}]}"), 21);
    assert_int_equal(count(f->db, "c", "{\"must\": [{\"key\": \"n\", \"range\": {\"gte\": 30}}]}"), 12);
    assert_int_equal(count(f->db, "c", "{\"must\": [{\"key\": \"tags\", \"match\": {\"value\": \"t1\"}}]}"), 13);
    assert_int_equal(count(f->db, "c", "{\"must\": [{\"key\": \"ab\", \"match\": {\"value\": \"esc\"}}]}"), 1);
    assert_int_equal(count(f->db, "c", "{\"must\": [{\"key\": \"meta.color\", \"match\": {\"value\": \"red\"}}]}"), 1);
    assert_int_equal(count(f->db, "c", "{\"must\": [{\"key\": \"parity\", \"match\": {\"value\": \"weird \\\" q\"}}]}"), 1);
    /* a selection parses the text */
    const char *inc[] = {"parity"};
    sc_with sel = {.payload = true, .payload_include = inc, .n_payload_include = 1};
    assert_int_equal(sc_points_get(f->db, "c", ids, 1, &sel, &after), SC_OK);
    assert_string_equal(after->items[0].payload_json, "{\"parity\":\"odd\"}");
    sc_record_list_free(after);
    /* an index made after the reopen reads the text */
    assert_int_equal(sc_field_index_create(f->db, "c", "tags", SC_FIELD_TYPE_KEYWORD), SC_OK);
    assert_int_equal(count(f->db, "c", "{\"must\": [{\"key\": \"tags\", \"match\": {\"value\": \"t2\"}}]}"), 13);
    /* overwriting a never-parsed payload removes its old indexed values */
    sc_selector s7 = {.ids = ids, .n_ids = 1};
    assert_int_equal(sc_payload_overwrite(f->db, "c", &s7, "{\"parity\": \"none\"}", NULL), SC_OK);
    assert_int_equal(count(f->db, "c", "{\"must\": [{\"key\": \"parity\", \"match\": {\"value\": \"odd\"}}]}"), 20);
    assert_int_equal(count(f->db, "c", "{\"must\": [{\"key\": \"parity\", \"match\": {\"value\": \"none\"}}]}"), 1);
    assert_int_equal(count(f->db, "c", "{\"must\": [{\"key\": \"n\", \"match\": {\"value\": 7}}]}"), 0);
    /* a payload that is not an object is reported when the store opens */
    sc_db_close(f->db);
    f->db = NULL;
    char p[512];
    snprintf(p, sizeof p, "%s/store.db", f->dir);
    const char *bad[] = {"{\"parity\": \"odd\"", "[1, 2]", "{\"n\": tru}", "{\"parity\": \"odd\"} x", "{\"zz\": 01}",
                         "{\"zz\": [1, 2}"};
    for (int i = 0; i < 6; i++) {
        sqlite3 *q = NULL;
        assert_int_equal(sqlite3_open(p, &q), SQLITE_OK);
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(q, "UPDATE points SET payload = ?1 WHERE pid = (SELECT min(pid) FROM points)", -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_text(st, 1, bad[i], -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        sqlite3_close(q);
        char err[512];
        assert_int_equal(tu_db_open(f->dir, NULL, &f->db, err, sizeof err), SC_CORRUPT);
        assert_non_null(strstr(err, "payload is not a JSON object"));
        f->db = NULL;
    }
    assert_int_equal(tu_store_fresh(f), SC_OK);
}

/* Readers racing to parse the same never-parsed payloads (shared lock):
** every one sees them, none leaks or frees twice (run under ASan too). */
typedef struct race_arg {
    sc_db *db;      /* store */
    uint64_t seen;  /* points matched */
} race_arg;

static void *race_reader(void *p) {
    race_arg *a = p;
    for (int r = 0; r < 3; r++) {
        uint64_t n = 0;
        if (sc_points_count(a->db, "c", "{\"must\": [{\"key\": \"tags\", \"match\": {\"value\": \"t0\"}}]}", &n) == SC_OK)
            a->seen += n;
    }
    return NULL;
}

static void test_payload_parse_race(void **state) {
    fx *f = *state;
    fx_points(f, 0, 3000, 12);
    tu_store_reopen_ok(f);
    pthread_t th[4];
    race_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (race_arg){.db = f->db, .seen = 0};
        assert_int_equal(pthread_create(&th[i], NULL, race_reader, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].seen, 3 * 1000); /* ids divisible by 3 */
    }
}

/* SQLite fails mid-batch (a trigger injects the error): memory and disk
** must stay exactly as they were, and the store must keep working. */
static void test_failed_write_leaves_store_unchanged(void **state) {
    fx *f = *state;
    fx_points(f, 0, 10, 5);
    sc_db_close(f->db);
    f->db = NULL;
    tu_store_sql_ok(f->dir, "CREATE TRIGGER poison BEFORE INSERT ON points WHEN NEW.payload LIKE '%poison%' "
                            "BEGIN SELECT RAISE(ABORT, 'injected insert failure'); END;"
                            "CREATE TRIGGER guard BEFORE DELETE ON points WHEN OLD.payload LIKE '%\"n\":2,%' "
                            "BEGIN SELECT RAISE(ABORT, 'injected delete failure'); END;");
    tu_store_reopen_ok(f);
    float v[6][4] = {{1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 3}, {4, 4, 4, 4}, {5, 5, 5, 5}, {6, 6, 6, 6}};
    sc_vector_in vin[6];
    sc_point_in pts[6];
    for (int i = 0; i < 6; i++) {
        vin[i] = (sc_vector_in){"", v[i], 4};
        pts[i] = (sc_point_in){.id = sc_point_id_num(100 + (uint64_t)i), .vectors = &vin[i], .n_vectors = 1, .payload_json = "{\"fresh\": true}"};
    }
    pts[4].id = sc_point_id_num(3); /* an update of an existing point */
    pts[5].payload_json = "{\"poison\": 1}";
    for (int attempt = 0; attempt < 2; attempt++) {
        assert_int_not_equal(sc_points_upsert(f->db, "c", pts, 6), SC_OK);
        tu_assert_msg_has(f->db, "injected insert failure");
        assert_int_equal(count(f->db, "c", NULL), 10);
        assert_int_equal(count(f->db, "c", "{\"must\": {\"key\": \"fresh\", \"match\": {\"value\": true}}}"), 0);
        sc_point_id id3 = sc_point_id_num(3), id100 = sc_point_id_num(100);
        sc_with w = {.payload = true};
        sc_record_list *l = NULL;
        assert_int_equal(sc_points_get(f->db, "c", &id100, 1, &w, &l), SC_OK);
        assert_int_equal(l->n, 0);
        sc_record_list_free(l);
        assert_int_equal(sc_points_get(f->db, "c", &id3, 1, &w, &l), SC_OK);
        assert_non_null(strstr(l->items[0].payload_json, "\"n\":3"));
        sc_record_list_free(l);
    }
    /* deletes: a failure on the second id keeps the first */
    sc_point_id del[2] = {sc_point_id_num(1), sc_point_id_num(2)};
    uint64_t nd = 99;
    assert_int_not_equal(sc_points_delete(f->db, "c", del, 2, &nd), SC_OK);
    tu_assert_msg_has(f->db, "injected delete failure");
    assert_int_equal(nd, 0);
    assert_int_equal(count(f->db, "c", NULL), 10);
    /* the same batch without the poisoned point goes through */
    assert_int_equal(sc_points_upsert(f->db, "c", pts, 5), SC_OK);
    assert_int_equal(count(f->db, "c", NULL), 14);
    assert_int_equal(sc_points_delete(f->db, "c", del, 1, &nd), SC_OK);
    tu_store_reopen_ok(f);
    assert_int_equal(count(f->db, "c", NULL), 13);
    assert_int_equal(count(f->db, "c", "{\"must\": {\"key\": \"fresh\", \"match\": {\"value\": true}}}"), 5);
    float q[4] = {6, 6, 6, 6};
    sc_search_request req = {.query = q, .dim = 4, .limit = 1};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(f->db, "c", &req, &l), SC_OK);
    assert_int_equal(l->n, 1);
    sc_record_list_free(l);
}

/* ==== Group sync of concurrent upserts ==== */

/* One writer thread of test_group_sync: batches of 8 points with ids
** base + 8 * b + k; batch 3 of each writer carries a poisoned payload. */
typedef struct gs_arg {
    sc_db *db;        /* store */
    uint64_t base;    /* first id */
    int n_ok;         /* batches acknowledged */
    int n_failed;     /* batches refused */
    int n_missing;    /* acknowledged points a get right after did not find */
} gs_arg;

static void *gs_writer(void *p) {
    gs_arg *a = p;
    float v[8][4];
    sc_vector_in vin[8];
    sc_point_in pts[8];
    for (int b = 0; b < 12; b++) {
        for (int k = 0; k < 8; k++) {
            for (int d = 0; d < 4; d++) v[k][d] = (float)(b + k + d + 1);
            vin[k] = (sc_vector_in){"", v[k], 4};
            pts[k] = (sc_point_in){.id = sc_point_id_num(a->base + 8 * (uint64_t)b + (uint64_t)k), .vectors = &vin[k],
                                   .n_vectors = 1, .payload_json = b == 3 && k == 5 ? "{\"poison\": 1}" : "{\"ok\": 1}"};
        }
        if (sc_points_upsert(a->db, "c", pts, 8) != SC_OK) {
            a->n_failed++;
            continue;
        }
        a->n_ok++;
        sc_record_list *l = NULL;
        sc_point_id ids[8];
        for (int k = 0; k < 8; k++) ids[k] = pts[k].id;
        if (sc_points_get(a->db, "c", ids, 8, NULL, &l) != SC_OK) return (void *)"get failed";
        a->n_missing += 8 - (int)l->n;
        sc_record_list_free(l);
    }
    return NULL;
}

/* Upserts from four threads share fsyncs (points.c, "Group sync"): every
** acknowledged batch is there at once and after reopening, a failing batch
** (an injected SQLite error) takes none of the others with it and leaves
** none of its own points, and the store keeps working. Runs under TSan
** (make SANITIZE=thread test-concurrent). */
static void test_group_sync(void **state) {
    fx *f = *state;
    make_coll(f->db, "c", 4, SC_DISTANCE_DOT);
    sc_db_close(f->db);
    f->db = NULL;
    tu_store_sql_ok(f->dir, "CREATE TRIGGER poison BEFORE INSERT ON points WHEN NEW.payload LIKE '%poison%' "
                            "BEGIN SELECT RAISE(ABORT, 'injected insert failure'); END;");
    tu_store_reopen_ok(f);
    pthread_t th[4];
    gs_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (gs_arg){.db = f->db, .base = 1000 * (uint64_t)(i + 1)};
        assert_int_equal(pthread_create(&th[i], NULL, gs_writer, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ret = NULL;
        pthread_join(th[i], &ret);
        assert_null(ret);
        assert_int_equal(args[i].n_ok, 11);
        assert_int_equal(args[i].n_failed, 1);
        assert_int_equal(args[i].n_missing, 0);
    }
    assert_int_equal(count(f->db, "c", NULL), 4 * 11 * 8);
    tu_store_reopen_ok(f);
    assert_int_equal(count(f->db, "c", NULL), 4 * 11 * 8);
    for (int i = 0; i < 4; i++) { /* the failed batch 3 of each writer left nothing */
        sc_point_id ids[8];
        for (int k = 0; k < 8; k++) ids[k] = sc_point_id_num(1000 * (uint64_t)(i + 1) + 24 + (uint64_t)k);
        sc_record_list *l = NULL;
        assert_int_equal(sc_points_get(f->db, "c", ids, 8, NULL, &l), SC_OK);
        assert_int_equal(l->n, 0);
        sc_record_list_free(l);
    }
    /* a write after the concurrent ones: still durable across a reopen */
    tu_rng rng = {9};
    put_points(f->db, "c", 0, 10, 4, &rng, NULL);
    tu_store_reopen_ok(f);
    assert_int_equal(count(f->db, "c", NULL), 4 * 11 * 8 + 10);
}

/* ==== Keyword (BM25) search ==== */

static sc_record_list *kw_search(sc_db *db, const char *q, const char *filter) {
    sc_search_request req = {.text = q, .limit = 10, .filter_json = filter, .with = {.payload = true}};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(db, "c", &req, &l), SC_OK);
    return l;
}

/* A collection cannot take the name of an alias of an existing collection. */
static void test_collection_name_of_alias(void **state) {
    fx *f = *state;
    make_coll(f->db, "c", 4, SC_DISTANCE_DOT);
    assert_int_equal(sc_alias_create(f->db, "al", "c"), SC_OK);
    sc_vector_params vp = {.name = "", .dim = 4, .distance = SC_DISTANCE_DOT};
    assert_int_equal(sc_collection_create(f->db, "al", &vp, 1), SC_EXISTS);
    tu_assert_msg_has(f->db, "alias");
    assert_false(sc_collection_exists(f->db, "al"));
}

static void test_keyword_search(void **state) {
    fx *f = *state;
    make_coll(f->db, "c", 2, SC_DISTANCE_DOT);
    float v[2] = {1, 0};
    sc_vector_in vin = {"", v, 2};
    const char *texts[] = {
        "def parse_http_request(headers): read the request line and the headers",
        "class HTTPServer: serve forever on a socket",
        "int compute_checksum(const uint8_t *buffer, size_t n)",
        "func ParseConfig(path string) (*Config, error) // parse a config file",
    };
    sc_point_in pts[4];
    char payload[4][32];
    for (int i = 0; i < 4; i++) {
        snprintf(payload[i], sizeof payload[i], "{\"lang\": \"%s\"}", i == 3 ? "go" : i == 2 ? "c" : "python");
        pts[i] = (sc_point_in){.id = sc_point_id_num((uint64_t)i + 1), .vectors = &vin, .n_vectors = 1,
                               .payload_json = payload[i], .text = texts[i]};
    }
    assert_int_equal(sc_points_upsert(f->db, "c", pts, 4), SC_OK);
    for (int round = 0; round < 2; round++) {
        sc_record_list *l = kw_search(f->db, "http request parser", NULL);
        assert_true(l->n >= 2);
        assert_int_equal(l->items[0].id.num, 1); /* http + request + parse (stemmed) */
        assert_int_equal(l->items[1].id.num, 2); /* HTTPServer splits into http server */
        assert_true(l->items[0].score > l->items[1].score && l->items[1].score > 0);
        sc_record_list_free(l);
        /* identifiers match whole and in parts; filters apply */
        l = kw_search(f->db, "checksum", NULL);
        assert_int_equal(l->n, 1);
        assert_int_equal(l->items[0].id.num, 3);
        sc_record_list_free(l);
        l = kw_search(f->db, "parse", "{\"must\": {\"key\": \"lang\", \"match\": {\"value\": \"go\"}}}");
        assert_int_equal(l->n, 1);
        assert_int_equal(l->items[0].id.num, 4);
        sc_record_list_free(l);
        l = kw_search(f->db, "nothing matches zzzq", NULL);
        assert_int_equal(l->n, 0);
        sc_record_list_free(l);
        tu_store_reopen_ok(f); /* terms persist */
    }
    /* A replaced text loses its old terms; a deleted point disappears. */
    sc_point_in rep = {.id = sc_point_id_num(3), .vectors = &vin, .n_vectors = 1, .text = "fn render_html_page()"};
    assert_int_equal(sc_points_upsert(f->db, "c", &rep, 1), SC_OK);
    sc_point_id one = sc_point_id_num(1);
    assert_int_equal(sc_points_delete(f->db, "c", &one, 1, NULL), SC_OK);
    sc_record_list *l = kw_search(f->db, "checksum", NULL);
    assert_int_equal(l->n, 0);
    sc_record_list_free(l);
    l = kw_search(f->db, "html request", NULL);
    assert_int_equal(l->n, 1);
    assert_int_equal(l->items[0].id.num, 3);
    sc_record_list_free(l);
    tu_store_reopen_ok(f);
    l = kw_search(f->db, "html http", NULL);
    assert_int_equal(l->n, 2);
    sc_record_list_free(l);
}

/* BM25 values: two one-word documents, k1 = 1.2, b = 0.75. */
static void test_keyword_bm25_values(void **state) {
    fx *f = *state;
    make_coll(f->db, "c", 1, SC_DISTANCE_DOT);
    float v[1] = {1};
    sc_vector_in vin = {"", v, 1};
    sc_point_in pts[3] = {
        {.id = sc_point_id_num(1), .vectors = &vin, .n_vectors = 1, .text = "apple apple"},
        {.id = sc_point_id_num(2), .vectors = &vin, .n_vectors = 1, .text = "pear"},
        {.id = sc_point_id_num(3), .vectors = &vin, .n_vectors = 1, .text = "plum"},
    };
    assert_int_equal(sc_points_upsert(f->db, "c", pts, 3), SC_OK);
    sc_record_list *l = kw_search(f->db, "apple", NULL);
    assert_int_equal(l->n, 1);
    /* N = 3, df = 1, tf = 2, dl = 2, avgdl = 4/3 */
    double idf = log(1.0 + (3 - 1 + 0.5) / (1 + 0.5));
    double want = idf * 2 * 2.2 / (2 + 1.2 * (1 - 0.75 + 0.75 * 2 / (4.0 / 3)));
    assert_float_equal(l->items[0].score, want, 1e-5);
    sc_record_list_free(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_collections, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_errmsg_per_thread, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_collection_bad_input, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_upsert_get_roundtrip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_points_change_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_payload_ops, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_scroll_and_count, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_search_matches_reference, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_search_ties_and_options, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_leaves_store_unchanged, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_keyword_search, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_collection_name_of_alias, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_keyword_bm25_values, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_second_process_is_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_vector_blob_is_reported, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_format1_store_is_upgraded, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_newer_store_format_is_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_payloads_after_reopen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_payload_parse_race, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_sync, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
