/*
** Unit tests of sparse vectors in the store (issue 17) through the public
** API: searches against an exact brute-force reference (random data with
** common and rare indices, both modifiers, filters through the posting
** lists and through a payload index, offsets, thresholds), the IDF numbers
** against values computed by hand (and Qdrant's corpus example), updates
** and deletes, bad input (rejected whole, nothing changed), records,
** persistence across reopen, the store format and a damaged blob.
*/
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "semcode/semcode.h"
#include "store_fixture.h"
#include "testutil.h"

/* ==== Fixture ==== */

typedef tu_store fx; /* store directory and open store */
#define fx_setup tu_store_setup
#define fx_teardown tu_store_teardown

/* A collection with dense vector "d" (dim 2) and sparse vector "s". */
static void make_mixed(sc_db *db, const char *name, sc_sparse_modifier mod) {
    sc_vector_params vp = {.name = "d", .dim = 2, .distance = SC_DISTANCE_DOT};
    sc_sparse_params sp = {.name = "s", .modifier = mod};
    sc_collection_params cp = {.vectors = &vp, .n_vectors = 1, .sparse = &sp, .n_sparse = 1};
    assert_int_equal(sc_collection_create_ex(db, name, &cp), SC_OK);
}

/* Upsert one point with sparse vector "s" (n entries) and a payload. */
static sc_status put_one(sc_db *db, const char *coll, uint64_t id, const uint32_t *idx, const float *val, uint32_t n,
                         const char *payload) {
    sc_sparse_in si = {"s", idx, val, n};
    sc_point_in p = {.id = sc_point_id_num(id), .payload_json = payload, .sparse = &si, .n_sparse = 1};
    return sc_points_upsert(db, coll, &p, 1);
}

/* Sparse search of "s": owned list. */
static sc_record_list *search(sc_db *db, const char *coll, const uint32_t *idx, const float *val, uint32_t n,
                              uint32_t limit, const char *filter, const char *corpus) {
    sc_sparse_query q = {idx, val, n, corpus};
    sc_search_request req = {.vector_name = "s", .limit = limit, .filter_json = filter, .sparse = &q};
    sc_record_list *l = NULL;
    sc_status rc = sc_points_search(db, coll, &req, &l);
    if (rc != SC_OK) fail_msg("search: %s", sc_db_errmsg(db));
    return l;
}

/* ==== Brute-force reference ==== */

#define BF_N 3000     /* points */
#define BF_DIMS 4000  /* index space: a few common indices, a long tail */
#define BF_GROUPS 10  /* payload groups */

/* A point of the reference: its sorted vector (NULL = none). */
typedef struct bf_point {
    uint32_t n;   /* entries */
    uint32_t *idx;/* ascending */
    float *val;   /* weights */
    bool has;     /* the point has the sparse vector */
    int group;    /* payload "g" */
} bf_point;

/* Index drawn with a skew: a third of the draws from 20 common indices. */
static uint32_t bf_index(tu_rng *r) {
    uint64_t x = tu_next(r);
    if (x % 3 == 0) return (uint32_t)((x >> 8) % 20) * 7919u;
    return (uint32_t)((x >> 8) % BF_DIMS) * 104729u; /* spread over the u32 range */
}

/* A random sparse vector of 0..max entries with unique indices (unsorted). */
static uint32_t bf_vector(tu_rng *r, uint32_t max, uint32_t *idx, float *val, bool positive) {
    uint32_t n = (uint32_t)(tu_next(r) % (max + 1)), m = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t d = bf_index(r);
        bool dup = false;
        for (uint32_t j = 0; j < m && !dup; j++) dup = idx[j] == d;
        if (dup) continue;
        idx[m] = d;
        float v = tu_uniform(r);
        val[m++] = positive ? fabsf(v) : v;
    }
    return m;
}

static int u32_pair_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sort (idx, val) by idx into p. */
static void bf_store(bf_point *p, const uint32_t *idx, const float *val, uint32_t n) {
    uint32_t (*pairs)[2] = malloc(sizeof *pairs * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        pairs[i][0] = idx[i];
        memcpy(&pairs[i][1], &val[i], 4);
    }
    qsort(pairs, n, sizeof *pairs, u32_pair_cmp);
    p->n = n;
    p->idx = malloc(sizeof *p->idx * (n ? n : 1));
    p->val = malloc(sizeof *p->val * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        p->idx[i] = pairs[i][0];
        memcpy(&p->val[i], &pairs[i][1], 4);
    }
    p->has = true;
    free(pairs);
}

/* Qdrant's idf in f32, written out as in its source. */
static float ref_idf(uint64_t n, uint64_t df) {
    float nf = (float)n, d = (float)df;
    return logf((nf - d + 0.5f) / (d + 0.5f) + 1.0f);
}

/* One reference hit. */
typedef struct bf_hit {
    uint64_t id; /* point id */
    float score; /* score */
} bf_hit;

static int bf_hit_cmp(const void *a, const void *b) {
    const bf_hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Brute force: every point scored against the sorted query (weights after
** idf when asked), in ascending index order, kept when it shares an index,
** its sum is not 0, and its group passes (group < 0: all). Returns the
** number of hits, sorted best first. */
static size_t bf_search(const bf_point *pts, size_t n_pts, const uint32_t *qi_in, const float *qv_in, uint32_t qn,
                        bool idf, int group, bf_hit *out) {
    bf_point q = {0};
    bf_store(&q, qi_in, qv_in, qn);
    if (idf) {
        uint64_t n_docs = 0;
        for (size_t i = 0; i < n_pts; i++) n_docs += pts[i].has && pts[i].n;
        for (uint32_t j = 0; j < q.n; j++) {
            uint64_t df = 0;
            for (size_t i = 0; i < n_pts; i++)
                for (uint32_t e = 0; pts[i].has && e < pts[i].n; e++) df += pts[i].idx[e] == q.idx[j];
            q.val[j] *= ref_idf(n_docs, df);
        }
    }
    size_t m = 0;
    for (size_t i = 0; i < n_pts; i++) {
        if (!pts[i].has || (group >= 0 && pts[i].group != group)) continue;
        float sum = 0.0f;
        bool overlap = false;
        for (uint32_t a = 0, b = 0; a < q.n && b < pts[i].n;) {
            if (q.idx[a] < pts[i].idx[b]) a++;
            else if (q.idx[a] > pts[i].idx[b]) b++;
            else {
                float prod = q.val[a] * pts[i].val[b];
                sum += prod;
                overlap = true;
                a++;
                b++;
            }
        }
        if (overlap && sum != 0.0f) out[m++] = (bf_hit){i + 1, sum};
    }
    qsort(out, m, sizeof *out, bf_hit_cmp);
    free(q.idx);
    free(q.val);
    return m;
}

/* The store's hits equal the reference's [offset, offset + limit), bit for bit. */
static void assert_same(const sc_record_list *l, const bf_hit *ref, size_t n_ref, size_t offset, size_t limit,
                        const char *what) {
    size_t want = n_ref > offset ? n_ref - offset : 0;
    if (want > limit) want = limit;
    if (l->n != want) fail_msg("%s: %zu hits, reference %zu", what, l->n, want);
    for (size_t i = 0; i < l->n; i++) {
        const bf_hit *h = &ref[offset + i];
        if (l->items[i].id.num != h->id || memcmp(&l->items[i].score, &h->score, 4))
            fail_msg("%s: hit %zu is id %llu score %.9g, reference id %llu score %.9g", what, i,
                     (unsigned long long)l->items[i].id.num, (double)l->items[i].score, (unsigned long long)h->id,
                     (double)h->score);
    }
}

/* Load BF_N random points into coll (about 5% without the vector, some
** empty) and the reference; weights signed unless positive. */
static bf_point *bf_load(sc_db *db, const char *coll, tu_rng *r, bool positive) {
    bf_point *pts = calloc(BF_N, sizeof *pts);
    for (size_t i = 0; i < BF_N; i += 100) {
        sc_point_in batch[100];
        sc_sparse_in si[100];
        uint32_t bidx[100][64];
        float bval[100][64];
        char pl[100][64];
        for (size_t j = 0; j < 100; j++) {
            size_t k = i + j;
            pts[k].group = (int)(tu_next(r) % BF_GROUPS);
            snprintf(pl[j], sizeof pl[j], "{\"g\": %d}", pts[k].group);
            batch[j] = (sc_point_in){.id = sc_point_id_num(k + 1), .payload_json = pl[j]};
            if (tu_next(r) % 20 == 0) continue; /* no sparse vector */
            uint32_t n = bf_vector(r, 60, bidx[j], bval[j], positive);
            bf_store(&pts[k], bidx[j], bval[j], n);
            si[j] = (sc_sparse_in){"s", bidx[j], bval[j], n};
            batch[j].sparse = &si[j];
            batch[j].n_sparse = 1;
        }
        assert_int_equal(sc_points_upsert(db, coll, batch, 100), SC_OK);
    }
    return pts;
}

/* The point has no vector any more (deleted, or upserted without one). */
static void bf_clear(bf_point *p) {
    free(p->idx);
    free(p->val);
    memset(p, 0, sizeof *p);
}

static void bf_free(bf_point *pts) {
    for (size_t i = 0; i < BF_N; i++) {
        free(pts[i].idx);
        free(pts[i].val);
    }
    free(pts);
}

/* n_queries random unfiltered queries of up to max_n entries against coll
** (modifier idf): the store's top `limit` equals the brute force's. */
static void bf_check_idf(sc_db *db, const char *coll, const bf_point *pts, tu_rng *r, int n_queries, uint32_t max_n,
                         bool positive, uint32_t limit, const char *what) {
    bf_hit *ref = malloc(sizeof *ref * BF_N);
    for (int qn = 0; qn < n_queries; qn++) {
        uint32_t qi[64];
        float qv[64];
        uint32_t n = bf_vector(r, max_n, qi, qv, positive);
        size_t n_ref = bf_search(pts, BF_N, qi, qv, n, true, -1, ref);
        sc_record_list *l = search(db, coll, qi, qv, n, limit, NULL, NULL);
        assert_same(l, ref, n_ref, 0, limit, what);
        sc_record_list_free(l);
    }
    free(ref);
}

/* Random queries of both modifiers, with and without filters (a payload
** index makes the filtered ones score points one by one; without it they
** walk the posting lists), offsets and thresholds: every result equals the
** brute force exactly, in order. */
static void run_brute_force(fx *f, bool positive) {
    for (int mod = 0; mod < 2; mod++) {
        char coll[32];
        snprintf(coll, sizeof coll, "bf%d", mod);
        make_mixed(f->db, coll, mod ? SC_SPARSE_MODIFIER_IDF : SC_SPARSE_MODIFIER_NONE);
        tu_rng r = {0x5eed + (uint64_t)mod + (positive ? 100 : 0)};
        bf_point *pts = bf_load(f->db, coll, &r, positive);
        bf_hit *ref = malloc(sizeof *ref * BF_N);
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) assert_int_equal(sc_field_index_create(f->db, coll, "g", SC_FIELD_TYPE_INTEGER), SC_OK);
            sc_search_plans before = sc_db_search_plans(f->db);
            for (int qn = 0; qn < 40; qn++) {
                uint32_t qi[24];
                float qv[24];
                uint32_t n = bf_vector(&r, 24, qi, qv, positive);
                int group = qn % 2 ? (int)(tu_next(&r) % BF_GROUPS) : -1;
                char filter[96];
                snprintf(filter, sizeof filter, "{\"must\": [{\"key\": \"g\", \"match\": {\"value\": %d}}]}", group);
                size_t n_ref = bf_search(pts, BF_N, qi, qv, n, mod == 1, group, ref);
                uint32_t limits[3] = {1, 10, 200};
                for (int li = 0; li < 3; li++) {
                    char what[96];
                    snprintf(what, sizeof what, "mod %d pass %d query %d limit %u", mod, pass, qn, limits[li]);
                    sc_record_list *l = search(f->db, coll, qi, qv, n, limits[li], group >= 0 ? filter : NULL, NULL);
                    assert_same(l, ref, n_ref, 0, limits[li], what);
                    sc_record_list_free(l);
                }
                /* offset and a threshold between two reference scores */
                sc_sparse_query q = {qi, qv, n, NULL};
                sc_search_request req = {.vector_name = "s", .limit = 5, .offset = 3, .sparse = &q,
                                         .filter_json = group >= 0 ? filter : NULL};
                size_t cut = n_ref > 6 ? 6 : n_ref;
                if (cut) {
                    req.has_threshold = true;
                    req.score_threshold = ref[cut - 1].score;
                }
                while (cut < n_ref && ref[cut].score >= req.score_threshold) cut++;
                sc_record_list *l = NULL;
                assert_int_equal(sc_points_search(f->db, coll, &req, &l), SC_OK);
                assert_same(l, ref, cut, 3, 5, "offset and threshold");
                sc_record_list_free(l);
            }
            sc_search_plans after = sc_db_search_plans(f->db);
            /* unfiltered queries walk the lists; with the index, filtered ones score their few points */
            assert_true(after.sparse_index > before.sparse_index);
            if (pass == 1) assert_true(after.sparse_list > before.sparse_list);
            else assert_int_equal(after.sparse_list, before.sparse_list);
        }
        free(ref);
        bf_free(pts);
    }
}

static void test_brute_force(void **state) { run_brute_force(*state, false); }

static void test_brute_force_positive(void **state) { run_brute_force(*state, true); }

/* Updates, deletes and reopening keep the index exact: the brute force is
** re-run on the reference changed the same way. */
static void test_brute_force_after_changes(void **state) {
    fx *f = *state;
    make_mixed(f->db, "ch", SC_SPARSE_MODIFIER_IDF);
    tu_rng r = {77};
    bf_point *pts = bf_load(f->db, "ch", &r, false);
    /* rewrite a third of the points with new vectors, delete a sixth, drop the vector of some */
    for (size_t k = 0; k < BF_N; k += 3) {
        uint32_t idx[64];
        float val[64];
        uint32_t n = bf_vector(&r, 60, idx, val, false);
        bf_clear(&pts[k]);
        if (k % 9 == 0) { /* upsert without the sparse vector: it is gone */
            sc_point_in p = {.id = sc_point_id_num(k + 1), .payload_json = "{\"g\": 0}"};
            assert_int_equal(sc_points_upsert(f->db, "ch", &p, 1), SC_OK);
        } else {
            bf_store(&pts[k], idx, val, n);
            assert_int_equal(put_one(f->db, "ch", k + 1, idx, val, n, "{\"g\": 0}"), SC_OK);
        }
    }
    sc_point_id del[BF_N / 6 + 1];
    size_t n_del = 0;
    for (size_t k = 1; k < BF_N; k += 6) {
        del[n_del++] = sc_point_id_num(k + 1);
        bf_clear(&pts[k]);
    }
    assert_int_equal(sc_points_delete(f->db, "ch", del, n_del, NULL), SC_OK);
    for (int round = 0; round < 2; round++) {
        if (round == 1) tu_store_reopen_ok(f);
        tu_rng qr = {1234};
        bf_check_idf(f->db, "ch", pts, &qr, 30, 24, false, 50, round ? "after reopen" : "after changes");
    }
    bf_free(pts);
}

/* ==== IDF by hand ==== */

/* Qdrant's corpus example (tests/openapi/test_sparse_idf_corpus.py):
** points 0..3 with indices {0,1}, {0}, {0,1,2}, {1}, all weights 1, tenants
** a, a, b, b; query {0,1,2} all 1. Globally N = 4, df = 3, 3, 1; over
** tenant a N = 2, df = 2, 1, 0; over nothing idf = ln 2 per index. */
static void test_idf_by_hand(void **state) {
    fx *f = *state;
    make_mixed(f->db, "idf", SC_SPARSE_MODIFIER_IDF);
    static const uint32_t dims[4][3] = {{0, 1}, {0}, {0, 1, 2}, {1}};
    static const uint32_t ns[4] = {2, 1, 3, 1};
    static const char *const tenants[4] = {"a", "a", "b", "b"};
    const float ones[3] = {1, 1, 1};
    for (uint64_t i = 0; i < 4; i++) {
        char pl[64];
        snprintf(pl, sizeof pl, "{\"tenant\": \"%s\", \"idx\": %llu}", tenants[i], (unsigned long long)i);
        assert_int_equal(put_one(f->db, "idf", i, dims[i], ones, ns[i], pl), SC_OK);
    }
    const uint32_t q[3] = {0, 1, 2};
    /* hand-computed: ln((4-3+0.5)/(3+0.5)+1) = ln(10/7), ln((4-1+0.5)/1.5+1) = ln(10/3) */
    double i0 = log(10.0 / 7.0), i2 = log(10.0 / 3.0);
    double want_global[4] = {2 * i0, i0, 2 * i0 + i2, i0};
    /* tenant a: ln((2-2+.5)/2.5+1) = ln(1.2), ln((2-1+.5)/1.5+1) = ln 2, ln((2+.5)/.5+1) = ln 6 */
    double a0 = log(1.2), a1 = log(2.0), a2 = log(6.0);
    double want_a[4] = {a0 + a1, a0, a0 + a1 + a2, a1};
    double ln2 = log(2.0);
    double want_none[4] = {2 * ln2, ln2, 3 * ln2, ln2};
    const char *corpus_a = "{\"must\": [{\"key\": \"tenant\", \"match\": {\"value\": \"a\"}}]}";
    const char *corpus_none = "{\"must\": [{\"key\": \"tenant\", \"match\": {\"value\": \"missing\"}}]}";
    const char *corpus_range = "{\"must\": [{\"key\": \"idx\", \"range\": {\"lt\": 2}}]}";
    struct {
        const char *corpus;
        const double *want;
    } cases[] = {{NULL, want_global}, {corpus_a, want_a}, {corpus_none, want_none}, {corpus_range, want_a}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        sc_record_list *l = search(f->db, "idf", q, ones, 3, 10, NULL, cases[c].corpus);
        assert_int_equal(l->n, 4);
        for (size_t i = 0; i < l->n; i++) {
            uint64_t id = l->items[i].id.num;
            if (fabs((double)l->items[i].score - cases[c].want[id]) > 1e-6)
                fail_msg("corpus %zu, point %llu: score %.9g, by hand %.9g", c, (unsigned long long)id,
                         (double)l->items[i].score, cases[c].want[id]);
        }
        sc_record_list_free(l);
    }
    /* a corpus narrows the statistics, not the results; a filter narrows the results, not the statistics */
    sc_record_list *l = search(f->db, "idf", q, ones, 3, 10, "{\"must\": [{\"key\": \"tenant\", \"match\": {\"value\": \"b\"}}]}",
                               corpus_a);
    assert_int_equal(l->n, 2);
    for (size_t i = 0; i < l->n; i++)
        assert_true(fabs((double)l->items[i].score - want_a[l->items[i].id.num]) < 1e-6);
    sc_record_list_free(l);
    /* an empty vector is kept, matches nothing and does not count in N */
    assert_int_equal(put_one(f->db, "idf", 9, NULL, NULL, 0, NULL), SC_OK);
    l = search(f->db, "idf", q, ones, 3, 10, NULL, NULL);
    assert_int_equal(l->n, 4);
    assert_true(fabs((double)l->items[0].score - (2 * i0 + i2)) < 1e-6);
    sc_record_list_free(l);
    /* a fifth point with index 2 changes N and df: ln((5-2+.5)/2.5+1) = ln 2.4 */
    const uint32_t two = 2;
    assert_int_equal(put_one(f->db, "idf", 10, &two, ones, 1, NULL), SC_OK);
    l = search(f->db, "idf", &two, ones, 1, 10, NULL, NULL);
    assert_int_equal(l->n, 2);
    assert_true(fabs((double)l->items[0].score - log(2.4)) < 1e-6);
    sc_record_list_free(l);
    /* without the modifier the scores are the plain dot products; the change is durable */
    sc_sparse_update u = {.name = "s", .fields = SC_SPARSE_UPDATE_MODIFIER, .modifier = SC_SPARSE_MODIFIER_NONE};
    assert_int_equal(sc_collection_update_ex(f->db, "idf", NULL, 0, &u, 1), SC_OK);
    tu_store_reopen_ok(f);
    l = search(f->db, "idf", q, ones, 3, 10, NULL, NULL);
    assert_int_equal(l->n, 5);
    assert_true(l->items[0].score == 3.0f && l->items[0].id.num == 2);
    sc_record_list_free(l);
    /* an IDF corpus on a vector without the modifier is refused, naming idf */
    sc_sparse_query sq = {q, ones, 3, corpus_a};
    sc_search_request req = {.vector_name = "s", .limit = 3, .sparse = &sq};
    assert_int_equal(sc_points_search(f->db, "idf", &req, &l), SC_INVALID);
    tu_assert_msg_has(f->db, "idf");
}

/* ==== Updates and deletes (Qdrant's test_sparse_update, and more) ==== */

static void test_update_and_delete(void **state) {
    fx *f = *state;
    sc_sparse_params sp = {.name = "text"};
    sc_collection_params cp = {.sparse = &sp, .n_sparse = 1}; /* no dense vector at all */
    assert_int_equal(sc_collection_create_ex(f->db, "u", &cp), SC_OK);
    uint32_t a[3] = {100, 500, 10}, b[3] = {600, 700, 10};
    float w[3] = {0.9f, 0.8f, 0.5f};
    sc_sparse_in si = {"text", a, w, 3};
    sc_point_in p = {.id = sc_point_id_num(1), .sparse = &si, .n_sparse = 1};
    assert_int_equal(sc_points_upsert(f->db, "u", &p, 1), SC_OK);
    sc_sparse_query q = {(uint32_t[]){100}, (float[]){0.9f}, 1, NULL};
    sc_search_request req = {.vector_name = "text", .limit = 10, .sparse = &q};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(f->db, "u", &req, &l), SC_OK);
    assert_int_equal(l->n, 1);
    assert_true(l->items[0].score == 0.9f * 0.9f);
    sc_record_list_free(l);
    si.indices = b; /* overwrite with new indices: 100 no longer matches, 700 and 10 do */
    assert_int_equal(sc_points_upsert(f->db, "u", &p, 1), SC_OK);
    assert_int_equal(sc_points_search(f->db, "u", &req, &l), SC_OK);
    assert_int_equal(l->n, 0);
    sc_record_list_free(l);
    q.indices = (uint32_t[]){700};
    assert_int_equal(sc_points_search(f->db, "u", &req, &l), SC_OK);
    assert_int_equal(l->n, 1);
    sc_record_list_free(l);
    /* a weight of 0 alone gives a sum of 0: not a result */
    float zero[1] = {0.0f};
    q.values = zero;
    assert_int_equal(sc_points_search(f->db, "u", &req, &l), SC_OK);
    assert_int_equal(l->n, 0);
    sc_record_list_free(l);
    /* an empty query: nothing */
    q.n = 0;
    assert_int_equal(sc_points_search(f->db, "u", &req, &l), SC_OK);
    assert_int_equal(l->n, 0);
    sc_record_list_free(l);
    /* delete by filter and by id both take the vector out of the index */
    q = (sc_sparse_query){(uint32_t[]){10}, (float[]){1.0f}, 1, NULL};
    si = (sc_sparse_in){"text", a, w, 3};
    p.id = sc_point_id_num(2);
    assert_int_equal(sc_points_upsert(f->db, "u", &p, 1), SC_OK);
    assert_int_equal(sc_points_search(f->db, "u", &req, &l), SC_OK);
    assert_int_equal(l->n, 2);
    sc_record_list_free(l);
    sc_point_id one = sc_point_id_num(1);
    assert_int_equal(sc_points_delete(f->db, "u", &one, 1, NULL), SC_OK);
    assert_int_equal(sc_points_search(f->db, "u", &req, &l), SC_OK);
    assert_int_equal(l->n, 1);
    assert_int_equal(l->items[0].id.num, 2);
    sc_record_list_free(l);
    uint64_t n_del = 0;
    assert_int_equal(sc_points_delete_by_filter(f->db, "u", "{\"must\": [{\"has_id\": [2]}]}", &n_del), SC_OK);
    assert_int_equal(n_del, 1);
    assert_int_equal(sc_points_search(f->db, "u", &req, &l), SC_OK);
    assert_int_equal(l->n, 0);
    sc_record_list_free(l);
    sc_collection_info info;
    assert_int_equal(sc_collection_info_get(f->db, "u", &info), SC_OK);
    assert_int_equal(info.n_vector_params, 0);
    assert_int_equal(info.n_sparse, 1);
    assert_int_equal(info.sparse_index[0].n_vectors, 0);
    assert_int_equal(info.sparse_index[0].n_entries, 0);
    sc_collection_info_free(&info);
}

/* ==== Records ==== */

/* sc_points_update_vectors / sc_points_delete_vectors on sparse vectors:
** a given sparse vector replaces the point's own in the index, an absent
** one is kept (dense too), a deleted one leaves the index; across a reopen. */
static void test_update_delete_vectors(void **state) {
    fx *f = *state;
    make_mixed(f->db, "m", SC_SPARSE_MODIFIER_NONE);
    const uint32_t i1[2] = {1, 2}, i2[1] = {3};
    const float v1[2] = {1, 2}, v2[1] = {4};
    const float dv[2] = {1, 1};
    sc_vector_in d = {"d", dv, 2};
    sc_sparse_in s1 = {"s", i1, v1, 2};
    sc_point_in p = {.id = sc_point_id_num(1), .vectors = &d, .n_vectors = 1, .sparse = &s1, .n_sparse = 1};
    assert_int_equal(sc_points_upsert(f->db, "m", &p, 1), SC_OK);
    assert_int_equal(put_one(f->db, "m", 2, i1, v1, 2, NULL), SC_OK);
    /* point 1: sparse replaced (index 2 gone, 3 in); its dense vector stays */
    sc_sparse_in s2 = {"s", i2, v2, 1};
    sc_point_in u = {.id = sc_point_id_num(1), .sparse = &s2, .n_sparse = 1};
    assert_int_equal(sc_points_update_vectors(f->db, "m", &u, 1), SC_OK);
    /* point 2: only a dense vector given: its sparse one is kept */
    sc_point_in u2 = {.id = sc_point_id_num(2), .vectors = &d, .n_vectors = 1};
    assert_int_equal(sc_points_update_vectors(f->db, "m", &u2, 1), SC_OK);
    for (int round = 0; round < 2; round++) {
        sc_record_list *l = search(f->db, "m", &i1[1], &v1[1], 1, 10, NULL, NULL);
        assert_int_equal(l->n, 1);
        assert_int_equal(l->items[0].id.num, 2);
        sc_record_list_free(l);
        l = search(f->db, "m", i2, v2, 1, 10, NULL, NULL);
        assert_int_equal(l->n, 1);
        assert_int_equal(l->items[0].id.num, 1);
        assert_true(l->items[0].score == 16.0f);
        sc_record_list_free(l);
        sc_point_id ids[2] = {sc_point_id_num(1), sc_point_id_num(2)};
        sc_with all = {.vectors = true};
        assert_int_equal(sc_points_get(f->db, "m", ids, 2, &all, &l), SC_OK);
        assert_int_equal(l->items[0].n_vectors, 1);
        assert_int_equal(l->items[0].n_sparse, 1);
        assert_int_equal(l->items[1].n_vectors, 1);
        assert_int_equal(l->items[1].n_sparse, 1);
        assert_int_equal(l->items[1].sparse[0].n, 2);
        sc_record_list_free(l);
        tu_store_reopen_ok(f);
    }
    /* delete "s" of point 2: out of the index, its dense vector stays */
    sc_point_id two = sc_point_id_num(2);
    sc_selector sel = {.ids = &two, .n_ids = 1};
    const char *names[1] = {"s"};
    uint64_t changed = 0;
    assert_int_equal(sc_points_delete_vectors(f->db, "m", &sel, names, 1, &changed), SC_OK);
    assert_int_equal(changed, 1);
    sc_record_list *l = search(f->db, "m", i1, v1, 2, 10, NULL, NULL);
    assert_int_equal(l->n, 0);
    sc_record_list_free(l);
    tu_store_reopen_ok(f);
    l = search(f->db, "m", i1, v1, 2, 10, NULL, NULL);
    assert_int_equal(l->n, 0);
    sc_record_list_free(l);
    sc_with all = {.vectors = true};
    assert_int_equal(sc_points_get(f->db, "m", &two, 1, &all, &l), SC_OK);
    assert_int_equal(l->items[0].n_vectors, 1);
    assert_int_equal(l->items[0].n_sparse, 0);
    sc_record_list_free(l);
}

static void test_records(void **state) {
    fx *f = *state;
    make_mixed(f->db, "r", SC_SPARSE_MODIFIER_NONE);
    uint32_t idx[3] = {3, 1, 2};
    float val[3] = {0.3f, 0.1f, 0.2f}, d[2] = {1, 2};
    sc_sparse_in si = {"s", idx, val, 3};
    sc_vector_in vi = {"d", d, 2};
    sc_point_in p = {.id = sc_point_id_num(7), .vectors = &vi, .n_vectors = 1, .sparse = &si, .n_sparse = 1};
    assert_int_equal(sc_points_upsert(f->db, "r", &p, 1), SC_OK);
    for (int round = 0; round < 2; round++) {
        if (round) tu_store_reopen_ok(f);
        sc_point_id id = sc_point_id_num(7);
        sc_with with = {.vectors = true};
        sc_record_list *l = NULL;
        assert_int_equal(sc_points_get(f->db, "r", &id, 1, &with, &l), SC_OK);
        assert_int_equal(l->n, 1);
        assert_int_equal(l->items[0].n_vectors, 1);
        assert_int_equal(l->items[0].n_sparse, 1);
        const sc_sparse_vector *sv = &l->items[0].sparse[0];
        assert_string_equal(sv->name, "s");
        assert_int_equal(sv->n, 3);
        const float want[3] = {0.1f, 0.2f, 0.3f};
        for (uint32_t i = 0; i < 3; i++) { /* stored ascending */
            assert_int_equal(sv->indices[i], i + 1);
            assert_true(sv->values[i] == want[i]);
        }
        sc_record_list_free(l);
        /* only the names asked */
        const char *only[1] = {"s"};
        with.vector_names = only;
        with.n_vector_names = 1;
        assert_int_equal(sc_points_get(f->db, "r", &id, 1, &with, &l), SC_OK);
        assert_int_equal(l->items[0].n_vectors, 0);
        assert_int_equal(l->items[0].n_sparse, 1);
        sc_record_list_free(l);
        only[0] = "d";
        assert_int_equal(sc_points_get(f->db, "r", &id, 1, &with, &l), SC_OK);
        assert_int_equal(l->items[0].n_vectors, 1);
        assert_int_equal(l->items[0].n_sparse, 0);
        sc_record_list_free(l);
        /* scroll returns them too */
        sc_scroll_request sr = {.limit = 10, .with = {.vectors = true}};
        bool more = false;
        sc_point_id next;
        assert_int_equal(sc_points_scroll(f->db, "r", &sr, &l, &next, &more), SC_OK);
        assert_int_equal(l->n, 1);
        assert_int_equal(l->items[0].n_sparse, 1);
        sc_record_list_free(l);
    }
}

/* ==== Bad input ==== */

static void test_bad_input(void **state) {
    fx *f = *state;
    make_mixed(f->db, "b", SC_SPARSE_MODIFIER_NONE);
    uint32_t good_i[2] = {1, 2}, dup_i[3] = {5, 9, 5};
    float good_v[2] = {1, 2}, nan_v[2] = {1, NAN}, inf_v[3] = {1, 1, INFINITY}, d[2] = {1, 1}, three_v[3] = {1, 2, 3};
    struct {
        sc_sparse_in si;        /* the second point's sparse vector */
        bool dense_under_sparse;/* give "s" as a dense vector instead */
        sc_status want;         /* status */
        const char *msg;        /* part of the message */
    } cases[] = {
        {{"s", dup_i, inf_v, 3}, false, SC_INVALID, "values[2] (index 5) is infinite"},
        {{"s", dup_i, three_v, 3}, false, SC_INVALID, "index 5 is given twice (indices[0] and indices[2])"},
        {{"s", good_i, nan_v, 2}, false, SC_INVALID, "values[1] (index 2) is NaN"},
        {{"nope", good_i, good_v, 2}, false, SC_NOTFOUND, "sparse vector name `nope` is not configured"},
        {{"d", good_i, good_v, 2}, false, SC_INVALID, "vector `d` is dense in collection `b`"},
        {{"s", good_i, good_v, 2}, true, SC_INVALID, "vector `s` is sparse in collection `b`"},
        {{"s", NULL, NULL, 2}, false, SC_INVALID, "indices or values missing"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        sc_sparse_in ok = {"s", good_i, good_v, 2};
        sc_vector_in dv = {"s", d, 2};
        sc_point_in pts[2] = {{.id = sc_point_id_num(1), .sparse = &ok, .n_sparse = 1},
                              {.id = sc_point_id_num(2), .sparse = &cases[c].si, .n_sparse = 1}};
        if (cases[c].dense_under_sparse) {
            pts[1].n_sparse = 0;
            pts[1].vectors = &dv;
            pts[1].n_vectors = 1;
        }
        assert_int_equal(sc_points_upsert(f->db, "b", pts, 2), cases[c].want);
        tu_assert_msg_has(f->db, cases[c].msg);
        tu_assert_msg_has(f->db, "points[1] (id 2)");
        uint64_t n = 99;
        assert_int_equal(sc_points_count(f->db, "b", NULL, &n), SC_OK);
        assert_int_equal(n, 0); /* the good first point was not stored either */
    }
    /* the same sparse vector twice in one point */
    sc_sparse_in twice[2] = {{"s", good_i, good_v, 2}, {"s", good_i, good_v, 2}};
    sc_point_in p = {.id = sc_point_id_num(3), .sparse = twice, .n_sparse = 2};
    assert_int_equal(sc_points_upsert(f->db, "b", &p, 1), SC_INVALID);
    tu_assert_msg_has(f->db, "sparse vector `s` is given twice");
    /* collections: names */
    sc_vector_params vp = {.name = "x", .dim = 2, .distance = SC_DISTANCE_DOT};
    sc_sparse_params sps[2] = {{.name = "x"}, {.name = "y"}};
    sc_collection_params cp = {.vectors = &vp, .n_vectors = 1, .sparse = sps, .n_sparse = 1};
    assert_int_equal(sc_collection_create_ex(f->db, "c2", &cp), SC_INVALID);
    tu_assert_msg_has(f->db, "Dense and sparse vector names must be unique - duplicate found with 'x'");
    sps[0].name = "y";
    cp.n_sparse = 2;
    assert_int_equal(sc_collection_create_ex(f->db, "c2", &cp), SC_INVALID);
    tu_assert_msg_has(f->db, "name `y` is given twice");
    sps[0].name = "";
    cp.n_sparse = 1;
    assert_int_equal(sc_collection_create_ex(f->db, "c2", &cp), SC_INVALID);
    tu_assert_msg_has(f->db, "Sparse vector name cannot be empty");
    assert_false(sc_collection_exists(f->db, "c2"));
    /* queries */
    sc_sparse_query q = {dup_i, (float[]){1, 1, 1}, 3, NULL};
    sc_search_request req = {.vector_name = "s", .limit = 3, .sparse = &q};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(f->db, "b", &req, &l), SC_INVALID);
    tu_assert_msg_has(f->db, "sparse query: index 5 is given twice");
    q = (sc_sparse_query){good_i, good_v, 2, NULL};
    req.vector_name = "d";
    assert_int_equal(sc_points_search(f->db, "b", &req, &l), SC_INVALID);
    tu_assert_msg_has(f->db, "vector `d` of collection `b` is dense");
    req.vector_name = "zz";
    assert_int_equal(sc_points_search(f->db, "b", &req, &l), SC_NOTFOUND);
    tu_assert_msg_has(f->db, "sparse vector name `zz` is not configured");
    sc_search_request dreq = {.vector_name = "s", .query = d, .dim = 2, .limit = 3};
    assert_int_equal(sc_points_search(f->db, "b", &dreq, &l), SC_INVALID);
    tu_assert_msg_has(f->db, "vector `s` of collection `b` is sparse");
    /* an update naming a missing sparse vector, or one twice, changes nothing */
    sc_sparse_update u[2] = {{.name = "s", .fields = SC_SPARSE_UPDATE_MODIFIER, .modifier = SC_SPARSE_MODIFIER_IDF},
                             {.name = "nope", .fields = SC_SPARSE_UPDATE_ON_DISK, .on_disk = true}};
    assert_int_equal(sc_collection_update_ex(f->db, "b", NULL, 0, u, 2), SC_NOTFOUND);
    u[1].name = "s";
    assert_int_equal(sc_collection_update_ex(f->db, "b", NULL, 0, u, 2), SC_INVALID);
    tu_assert_msg_has(f->db, "updated twice");
    sc_collection_info info;
    assert_int_equal(sc_collection_info_get(f->db, "b", &info), SC_OK);
    assert_int_equal(info.sparse[0].modifier, SC_SPARSE_MODIFIER_NONE);
    sc_collection_info_free(&info);
}

/* ==== Persistence and format ==== */

static void test_persistence_and_format(void **state) {
    fx *f = *state;
    sc_vector_params vp = {.name = "", .dim = 2, .distance = SC_DISTANCE_COSINE};
    assert_int_equal(sc_collection_create(f->db, "dense", &vp, 1), SC_OK);
    tu_store_reopen_ok(f);
    char *v = tu_store_format_ok(f->dir);
    assert_string_equal(v, "2"); /* without sparse vectors the store stays at format 2 */
    free(v);
    sc_sparse_params sp[2] = {{.name = "bm25", .modifier = SC_SPARSE_MODIFIER_IDF, .on_disk = true,
                               .full_scan_threshold = 123},
                              {.name = "splade"}};
    sc_collection_params cp = {.vectors = &vp, .n_vectors = 1, .sparse = sp, .n_sparse = 2};
    assert_int_equal(sc_collection_create_ex(f->db, "mixed", &cp), SC_OK);
    v = tu_store_format_ok(f->dir);
    assert_string_equal(v, "3");
    free(v);
    uint32_t i1[2] = {4, 2};
    float w1[2] = {1.5f, -0.5f}, d[2] = {1, 0};
    sc_sparse_in si[2] = {{"bm25", i1, w1, 2}, {"splade", i1, w1, 1}};
    sc_vector_in dv = {"", d, 2};
    sc_point_in p = {.id = sc_point_id_num(5), .vectors = &dv, .n_vectors = 1, .sparse = si, .n_sparse = 2};
    assert_int_equal(sc_points_upsert(f->db, "mixed", &p, 1), SC_OK);
    tu_store_reopen_ok(f);
    sc_collection_info info;
    assert_int_equal(sc_collection_info_get(f->db, "mixed", &info), SC_OK);
    assert_int_equal(info.n_sparse, 2);
    assert_string_equal(info.sparse[0].name, "bm25");
    assert_int_equal(info.sparse[0].modifier, SC_SPARSE_MODIFIER_IDF);
    assert_true(info.sparse[0].on_disk);
    assert_int_equal(info.sparse[0].full_scan_threshold, 123);
    assert_string_equal(info.sparse[1].name, "splade");
    assert_int_equal(info.sparse_index[0].n_entries, 2);
    assert_int_equal(info.sparse_index[1].n_entries, 1);
    assert_int_equal(info.n_vectors, 3);
    sc_collection_info_free(&info);
    sc_sparse_query q = {(uint32_t[]){4}, (float[]){2.0f}, 1, NULL};
    sc_search_request req = {.vector_name = "splade", .limit = 3, .sparse = &q};
    sc_record_list *l = NULL;
    assert_int_equal(sc_points_search(f->db, "mixed", &req, &l), SC_OK);
    assert_int_equal(l->n, 1); /* splade got only the first entry: (4, 1.5) */
    assert_true(l->items[0].score == 3.0f);
    sc_record_list_free(l);
    /* a newer format is refused */
    sc_db_close(f->db);
    f->db = NULL;
    tu_store_sql_ok(f->dir, "UPDATE meta SET value='5' WHERE key='format_version'");
    char err[512];
    assert_int_equal(tu_db_open(f->dir, NULL, &f->db, err, sizeof err), SC_UNSUPPORTED);
    assert_non_null(strstr(err, "format version 5"));
    tu_store_sql_ok(f->dir, "UPDATE meta SET value='3' WHERE key='format_version'");
    /* a damaged sparse blob is reported with the point */
    tu_store_sql_ok(f->dir, "UPDATE points SET sparse = substr(sparse, 1, 20) || x'ff' || substr(sparse, 22)");
    assert_int_equal(tu_db_open(f->dir, NULL, &f->db, err, sizeof err), SC_CORRUPT);
    assert_non_null(strstr(err, "point 5"));
    assert_non_null(strstr(err, "sparse vector blob"));
    f->db = NULL;
    assert_int_equal(tu_store_fresh(f), SC_OK);
}

/* A store made before the sparse column (its points table without it)
** gets it with its first sparse collection, in the same transaction. */
static void test_old_store_gets_the_column(void **state) {
    fx *f = *state;
    sc_vector_params vp = {.name = "", .dim = 2, .distance = SC_DISTANCE_DOT};
    assert_int_equal(sc_collection_create(f->db, "old", &vp, 1), SC_OK);
    float d[2] = {1, 2};
    sc_vector_in dv = {"", d, 2};
    sc_point_in p = {.id = sc_point_id_num(1), .vectors = &dv, .n_vectors = 1};
    assert_int_equal(sc_points_upsert(f->db, "old", &p, 1), SC_OK);
    sc_db_close(f->db);
    f->db = NULL;
    tu_store_sql_ok(f->dir, "ALTER TABLE points DROP COLUMN sparse");
    tu_store_reopen_ok(f);
    char *v = tu_store_format_ok(f->dir);
    assert_string_equal(v, "2");
    free(v);
    assert_int_equal(sc_points_upsert(f->db, "old", &p, 1), SC_OK); /* dense writes do not need it */
    make_mixed(f->db, "new", SC_SPARSE_MODIFIER_NONE);
    uint32_t i1 = 3;
    float w1 = 2.0f;
    assert_int_equal(put_one(f->db, "new", 1, &i1, &w1, 1, NULL), SC_OK);
    tu_store_reopen_ok(f);
    v = tu_store_format_ok(f->dir);
    assert_string_equal(v, "3");
    free(v);
    sc_record_list *l = search(f->db, "new", &i1, &w1, 1, 5, NULL, NULL);
    assert_int_equal(l->n, 1);
    assert_true(l->items[0].score == 4.0f);
    sc_record_list_free(l);
    uint64_t n = 0;
    assert_int_equal(sc_points_count(f->db, "old", NULL, &n), SC_OK);
    assert_int_equal(n, 1);
}

/* ==== Readers and a writer at once ==== */

/* What a reader thread needs. */
typedef struct race_arg {
    sc_db *db;   /* shared store */
    int stop;    /* set by the writer when done (atomic) */
    long n_ok;   /* searches that succeeded */
    int bad;     /* a search failed or returned a result out of order */
} race_arg;

static void *race_reader(void *p) {
    race_arg *a = p;
    tu_rng r = {(uint64_t)(uintptr_t)p};
    while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
        uint32_t qi[8];
        float qv[8];
        uint32_t n = bf_vector(&r, 8, qi, qv, true);
        sc_sparse_query q = {qi, qv, n, NULL};
        sc_search_request req = {.vector_name = "s", .limit = 20, .sparse = &q, .with = {.vectors = true}};
        sc_record_list *l = NULL;
        if (sc_points_search(a->db, "race", &req, &l) != SC_OK) {
            a->bad = 1;
            break;
        }
        for (size_t i = 1; i < l->n; i++)
            if (l->items[i].score > l->items[i - 1].score) a->bad = 1;
        sc_record_list_free(l);
        a->n_ok++;
        usleep(200); /* glibc's rwlock prefers readers: leave the writer gaps */
    }
    return NULL;
}

/* Two threads search while the calling thread upserts, rewrites and
** deletes (the store's lock orders them; ThreadSanitizer checks the rest
** under make SANITIZE=thread test-concurrent); the end state equals the
** brute force. */
static void test_concurrent_readers(void **state) {
    fx *f = *state;
    make_mixed(f->db, "race", SC_SPARSE_MODIFIER_IDF);
    race_arg args[2] = {{.db = f->db}, {.db = f->db}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, race_reader, &args[i]), 0);
    tu_rng r = {99};
    bf_point *pts = calloc(BF_N, sizeof *pts);
    for (int round = 0; round < 20; round++) {
        for (int j = 0; j < 20; j++) {
            size_t k = tu_next(&r) % 400;
            uint32_t idx[64];
            float val[64];
            uint32_t n = bf_vector(&r, 30, idx, val, true);
            bf_clear(&pts[k]);
            bf_store(&pts[k], idx, val, n);
            assert_int_equal(put_one(f->db, "race", k + 1, idx, val, n, NULL), SC_OK);
        }
        size_t k = tu_next(&r) % 400;
        sc_point_id id = sc_point_id_num(k + 1);
        assert_int_equal(sc_points_delete(f->db, "race", &id, 1, NULL), SC_OK);
        bf_clear(&pts[k]);
    }
    __atomic_store_n(&args[0].stop, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&args[1].stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].bad, 0);
        assert_true(args[i].n_ok > 0);
    }
    bf_check_idf(f->db, "race", pts, &r, 20, 8, true, 20, "after the race");
    bf_free(pts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_brute_force, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_brute_force_positive, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_brute_force_after_changes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_idf_by_hand, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_update_and_delete, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_update_delete_vectors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_records, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_persistence_and_format, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_old_store_gets_the_column, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
