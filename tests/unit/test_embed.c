/*
** Unit tests of the built-in model: file round trip (vectors of the loaded
** model match the float tables up to int8 error), unit norm, n-gram buckets
** for unknown tokens, corrupt and truncated files rejected with SC_CORRUPT
** (every truncation length, every flipped header byte), and the trainer:
** deterministic across runs and thread counts, and it learns (MRR on its
** training pairs far above chance).
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "embed/embed.h"
#include "testutil.h"
#include "util/util.h"

static char dir[256];

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static unsigned char *read_all(const char *p, size_t *n) {
    unsigned char *b = (unsigned char *)tu_read_file(p, n);
    assert_non_null(b);
    return b;
}

/* A small model: vocabulary {open, file, socket}, 16 buckets, dim 8. */
static void write_small_tf(const char *p, uint32_t towers, uint32_t pooling, float tf_power) {
    text_strmap v = {0};
    text_strmap_add(&v, "open", 4, NULL);
    text_strmap_add(&v, "file", 4, NULL);
    text_strmap_add(&v, "socket", 6, NULL);
    embed_config c = {.dim = 8, .n_vocab = 3, .n_buckets = 16, .ngram_min = 3, .ngram_max = 5,
                      .n_towers = towers, .pooling = pooling, .max_tokens = 64, .tf_power = tf_power};
    size_t rows = 19;
    float *tab[2], *w[2];
    for (uint32_t t = 0; t < 2; t++) {
        tab[t] = malloc(rows * 8 * sizeof(float));
        w[t] = malloc(rows * sizeof(float));
        for (size_t i = 0; i < rows * 8; i++) tab[t][i] = (float)sin((double)(i * 7 + t * 3 + 1));
        for (size_t r = 0; r < rows; r++) w[t][r] = 1.0f + (float)((r * (t + 1)) % 7) / 10.0f;
    }
    assert_int_equal(embed_model_write(p, &c, &v, tab, w, "{\"test\":true}", NULL), SC_OK);
    for (int t = 0; t < 2; t++) free(tab[t]), free(w[t]);
    text_strmap_free(&v);
}

static void write_small_pooled(const char *p, uint32_t towers, uint32_t pooling) {
    write_small_tf(p, towers, pooling, 1.0f);
}

static void write_small(const char *p, uint32_t towers) { write_small_pooled(p, towers, SC_POOLING_LEARNED); }

static void embed_one(sc_model *m, const char *text, float *out) {
    const char *t[] = {text};
    assert_int_equal(sc_model_embed(m, SC_EMBED_ROLE_CODE, t, 1, out), SC_OK);
}

/* embed_items_saturate merges equal rows (hashed for small bags, sorted
** for large ones) to the same per-row totals as a plain count. */
static void test_saturate_merge(void **state) {
    (void)state;
    uint32_t sizes[] = {2, 100, 1500, 5000};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        uint32_t n = sizes[si], range = n / 3 + 1;
        embed_items it = {0};
        it.v = malloc(n * sizeof *it.v);
        it.cap = it.n = n;
        float *want = calloc(range, sizeof *want);
        uint64_t s = 99 + n;
        for (uint32_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            uint32_t r = (uint32_t)(s >> 33) % range;
            it.v[i] = (embed_item){r * 7919u, 1.0f};
            want[r] += 1.0f;
        }
        embed_items_saturate(&it, 0.5f);
        uint32_t distinct = 0;
        for (uint32_t r = 0; r < range; r++) distinct += want[r] > 0.0f;
        assert_int_equal(it.n, distinct);
        for (uint32_t i = 0; i < it.n; i++) {
            uint32_t r = it.v[i].row / 7919u;
            assert_true(fabsf(it.v[i].coef - powf(want[r], want[r] > 1.0f ? 0.5f : 1.0f)) < 1e-5f);
            want[r] = -1.0f; /* each row once */
        }
        free(it.v);
        free(want);
    }
}

/* Term-frequency saturation (format 2): with power 0 a repeated token
** counts once, with 1 it counts each time, 0.5 lies between; a format-1
** file (no tf field) embeds with plain counts; a power outside 0..1 is
** rejected. */
static void test_tf_power(void **state) {
    (void)state;
    char p0[300], p5[300], p1[300];
    path_in(p0, sizeof p0, "tf0.scm");
    path_in(p5, sizeof p5, "tf05.scm");
    path_in(p1, sizeof p1, "tf1.scm");
    write_small_tf(p0, 1, SC_POOLING_LEARNED, 0.0f);
    write_small_tf(p5, 1, SC_POOLING_LEARNED, 0.5f);
    write_small_tf(p1, 1, SC_POOLING_LEARNED, 1.0f);
    sc_model *m0 = NULL, *m5 = NULL, *m1 = NULL, *v1 = NULL;
    assert_int_equal(sc_model_load(p0, &m0, NULL), SC_OK);
    assert_int_equal(sc_model_load(p5, &m5, NULL), SC_OK);
    assert_int_equal(sc_model_load(p1, &m1, NULL), SC_OK);
    float a[8], b[8], c[8], d[8];
    embed_one(m0, "open open open open file", a);
    embed_one(m0, "file open", b);
    for (int i = 0; i < 8; i++) assert_true(fabsf(a[i] - b[i]) < 1e-6f);
    embed_one(m1, "open open open open file", c);
    embed_one(m1, "file open", d);
    assert_memory_not_equal(c, d, sizeof c);
    embed_one(m5, "open open open open file", a);
    assert_memory_not_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    /* 0.5: "open" x4 counts 2, the same as "open" x2 at power 1 */
    embed_one(m1, "open open file", d);
    for (int i = 0; i < 8; i++) assert_true(fabsf(a[i] - d[i]) < 1e-5f);
    /* the same file as format 1: version 1, tf field 0, new checksum */
    size_t n;
    unsigned char *buf = read_all(p1, &n);
    buf[4] = 1;
    memset(buf + 56, 0, 4);
    uint64_t h = util_hash64_v1(buf, n - 8, 0x5c3eULL);
    for (int i = 0; i < 8; i++) buf[n - 8 + i] = (unsigned char)(h >> (8 * i));
    assert_int_equal(sc_model_load_memory(buf, n, &v1, NULL), SC_OK);
    embed_one(v1, "open open open open file", d);
    assert_memory_equal(c, d, sizeof c);
    /* power 2.0 at offset 56 */
    float two = 2.0f;
    buf[4] = 2;
    memcpy(buf + 56, &two, 4);
    char *msg = NULL;
    sc_model *bad = NULL;
    assert_int_equal(embed_model_parse(buf, n, 0, &bad, NULL), SC_CORRUPT);
    assert_int_equal(sc_model_load_memory(buf, n, &bad, &msg), SC_CORRUPT);
    assert_non_null(strstr(msg, "offset"));
    sc_free(msg);
    assert_null(bad);
    free(buf);
    sc_model_free(m0);
    sc_model_free(m5);
    sc_model_free(m1);
    sc_model_free(v1);
}

/* Per-side pooling (one table, a weight vector per side): query and code
** vectors differ, old-style one-tower files still load, and every
** truncation of the file is rejected. */
static void test_sides(void **state) {
    (void)state;
    char p[300], p1[300];
    path_in(p, sizeof p, "sides.scm");
    path_in(p1, sizeof p1, "shared.scm");
    write_small_pooled(p, 1, SC_POOLING_SIDES);
    write_small_pooled(p1, 1, SC_POOLING_LEARNED);
    sc_model *m = NULL, *s1 = NULL;
    assert_int_equal(sc_model_load(p, &m, NULL), SC_OK);
    assert_int_equal(sc_model_load(p1, &s1, NULL), SC_OK);
    const char *texts[] = {"open file socket"};
    float q[8], c[8], q1[8], c1[8];
    assert_int_equal(sc_model_embed(m, SC_EMBED_ROLE_QUERY, texts, 1, q), SC_OK);
    assert_int_equal(sc_model_embed(m, SC_EMBED_ROLE_CODE, texts, 1, c), SC_OK);
    assert_memory_not_equal(q, c, sizeof q);
    assert_int_equal(sc_model_embed(s1, SC_EMBED_ROLE_QUERY, texts, 1, q1), SC_OK);
    assert_int_equal(sc_model_embed(s1, SC_EMBED_ROLE_CODE, texts, 1, c1), SC_OK);
    assert_memory_equal(q1, c1, sizeof q1);
    /* the code side uses the tower's weights (written from set 1), the
    ** query side the extra section (set 0), which a shared file also has as its weights */
    assert_memory_equal(q, q1, sizeof q);
    sc_model_free(m);
    sc_model_free(s1);
    size_t n;
    unsigned char *b = read_all(p, &n);
    for (size_t k = 0; k < n; k += 3) {
        m = NULL;
        assert_int_equal(sc_model_load_memory(b, k, &m, NULL), SC_CORRUPT);
        assert_null(m);
    }
    b[27] = 3; /* unknown pooling */
    assert_true(sc_model_load_memory(b, n, &m, NULL) != SC_OK);
    free(b);
}

static void test_roundtrip(void **state) {
    (void)state;
    char p[300];
    path_in(p, sizeof p, "small.scm");
    write_small(p, 2);
    sc_model *m = NULL;
    char *msg = (char *)"untouched";
    assert_int_equal(sc_model_load(p, &m, &msg), SC_OK);
    assert_null(msg); /* the out-parameter is cleared on success (common.h) */
    assert_int_equal(sc_model_dim(m), 8u);
    assert_string_equal(sc_model_metadata(m), "{\"test\":true}");
    const char *texts[] = {"openFile", "zzzunknownzzz", "", "socket socket", "openFile"};
    float out[5 * 8];
    assert_int_equal(sc_model_embed(m, SC_EMBED_ROLE_CODE, texts, 5, out), SC_OK);
    for (int i = 0; i < 5; i++) {
        float ss = 0.0f;
        for (int d = 0; d < 8; d++) ss += out[i * 8 + d] * out[i * 8 + d];
        if (i == 2) assert_true(ss == 0.0f);          /* nothing to embed */
        else assert_true(fabsf(ss - 1.0f) < 1e-4f);  /* unknown token: buckets */
    }
    assert_memory_equal(out, out + 4 * 8, 8 * sizeof(float));
    /* query tower differs from code tower */
    float q[8];
    assert_int_equal(sc_model_embed(m, SC_EMBED_ROLE_QUERY, texts, 1, q), SC_OK);
    assert_memory_not_equal(q, out, sizeof q);
    sc_model_free(m);
    sc_model_free(NULL);
}

static void test_corrupt(void **state) {
    (void)state;
    char p[300];
    path_in(p, sizeof p, "small1.scm");
    write_small(p, 1);
    size_t n;
    unsigned char *b = read_all(p, &n);
    sc_model *m = NULL;
    char *msg = NULL;
    assert_int_equal(sc_model_load_memory(b, n, &m, NULL), SC_OK);
    sc_model_free(m);
    for (size_t k = 0; k < n; k++) {
        m = NULL;
        sc_status rc = sc_model_load_memory(b, k, &m, &msg);
        assert_int_equal(rc, SC_CORRUPT);
        assert_null(m);
        assert_non_null(strstr(msg, "offset"));
        sc_free(msg);
        msg = NULL;
    }
    for (size_t k = 0; k < n; k += 7) {
        b[k] ^= 0x5a;
        m = NULL;
        sc_status rc = sc_model_load_memory(b, n, &m, NULL);
        assert_true(rc == SC_CORRUPT || rc == SC_UNSUPPORTED);
        b[k] ^= 0x5a;
    }
    /* structural checks without the checksum never crash either */
    for (size_t k = 0; k < 64; k++) {
        for (int bit = 0; bit < 8; bit++) {
            b[k] ^= (unsigned char)(1 << bit);
            m = NULL;
            if (embed_model_parse(b, n, 0, &m, NULL) == SC_OK) sc_model_free(m);
            b[k] ^= (unsigned char)(1 << bit);
        }
    }
    free(b);
    assert_int_equal(sc_model_load("/nonexistent/model.scm", &m, NULL), SC_IOERR);
    msg = NULL;
    assert_int_equal(sc_model_load(NULL, &m, &msg), SC_MISUSE);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "NULL argument"));
    sc_free(msg);
    sc_train_options o = sc_train_options_default();
    assert_int_equal(sc_model_train(&o, &msg), SC_MISUSE); /* no pairs or output path */
    assert_non_null(strstr(msg, "pairs path"));
    sc_free(msg);
}

/* Synthetic pairs: topic words shared between doc and code names. */
static void write_pairs(const char *p, int n) {
    static const char *w[] = {"socket", "file", "buffer", "string", "parse", "render", "cache", "thread",
                              "matrix", "vector", "queue", "stack", "tree", "graph", "image", "sound",
                              "color", "font", "window", "mouse", "token", "lexer", "number", "date"};
    const int nw = 24;
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    uint64_t s = 7;
    for (int i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int a = (int)((s >> 33) % nw), b = (int)((s >> 45) % nw), c = (int)((s >> 20) % nw);
        fprintf(f,
                "{\"doc\":\"Returns the %s of the %s with %s.\",\"code\":\"def get_%s_%s(x):\\n    return "
                "%s(x)\\n\",\"language\":\"%s\",\"path\":\"d%d/a.py\",\"name\":\"n\"}\n",
                w[a], w[b], w[c], w[a], w[b], w[c], i % 3 ? "python" : "go", i % 7);
    }
    fclose(f);
}

/* hard = 1: language batches of directory chunks, upsampling, dropout;
** 3: the same with model-mined chunks from the second epoch on. */
static void train_once(const char *pairs, const char *out, uint32_t threads, int hard) {
    sc_train_options o = sc_train_options_default();
    if (hard == 2) {
        o.pooling = SC_POOLING_SIDES;
        o.weight_lr = 5.0f;
    }
    if (hard == 1 || hard == 3) {
        o.mine = hard == 3 ? 12 : 0;
        o.batching = 1;
        o.local = 4;
        o.upsample = 500;
        o.dropout = 0.1f;
    }
    o.pairs_path = pairs;
    o.out_path = out;
    o.dim = 32;
    o.epochs = 4;
    o.batch = 32;
    o.lr = 0.01f;
    o.min_count = 1;
    o.n_buckets = 64;
    o.threads = threads;
    char *msg = NULL;
    sc_status rc = sc_model_train(&o, &msg);
    if (rc) fprintf(stderr, "train: %s\n", msg);
    assert_int_equal(rc, SC_OK);
}

static void check_train(int hard) {
    char pairs[300], m1[300], m2[300], m3[300];
    path_in(pairs, sizeof pairs, "pairs.jsonl");
    path_in(m1, sizeof m1, "t1.scm");
    path_in(m2, sizeof m2, "t2.scm");
    path_in(m3, sizeof m3, "t3.scm");
    write_pairs(pairs, 600);
    train_once(pairs, m1, 1, hard);
    train_once(pairs, m2, 1, hard);
    train_once(pairs, m3, 2, hard);
    size_t n1, n2, n3;
    unsigned char *b1 = read_all(m1, &n1), *b2 = read_all(m2, &n2), *b3 = read_all(m3, &n3);
    /* the metadata holds the training time and thread count: compare the
    ** header, vocabulary and tables, which come before it */
    uint32_t msz = (uint32_t)b1[36] | (uint32_t)b1[37] << 8 | (uint32_t)b1[38] << 16 | (uint32_t)b1[39] << 24;
    size_t meta = n1 - 8 - ((msz + 7u) & ~7u);
    assert_true(n2 >= meta && n3 >= meta);
    assert_memory_equal(b1, b2, 36); /* up to meta_size */
    assert_memory_equal(b1, b3, 36);
    assert_memory_equal(b1 + 56, b2 + 56, meta - 56); /* after file_size */
    assert_memory_equal(b1 + 56, b3 + 56, meta - 56);
    sc_model *m = NULL;
    assert_int_equal(sc_model_load(m1, &m, NULL), SC_OK);
    sc_model *k = NULL;
    assert_int_equal(sc_model_load(m3, &k, NULL), SC_OK);
    const char *t[] = {"Returns the socket of the file with cache.", "def get_socket_file(x): return cache(x)"};
    float v1[64], v3[64];
    assert_int_equal(sc_model_embed(m, SC_EMBED_ROLE_QUERY, t, 2, v1), SC_OK);
    assert_int_equal(sc_model_embed(k, SC_EMBED_ROLE_QUERY, t, 2, v3), SC_OK);
    assert_memory_equal(v1, v3, sizeof v1); /* same vectors with 1 and 2 threads */
    sc_eval_row rows[8];
    uint32_t nr = 0;
    sc_eval_options eo = sc_eval_options_default();
    eo.pool = 100;
    assert_int_equal(sc_eval_pairs(m, pairs, &eo, rows, 8, &nr, NULL), SC_OK);
    assert_int_equal(nr, 3u);
    assert_string_equal(rows[2].language, "mean");
    /* chance MRR with 100 candidates is about 0.05 */
    assert_true(rows[2].model.mrr > 0.3);
    assert_true(rows[2].bm25.mrr > 0.1);
    /* the dev and test halves split the queries (by directory), and together are all of them */
    uint32_t all_q[2] = {0, 0}, half_q[2] = {0, 0}; /* python, go */
    for (uint32_t r = 0; r + 1 < nr; r++) all_q[strcmp(rows[r].language, "python") ? 1 : 0] = rows[r].n_queries;
    for (uint32_t h = 1; h <= 2; h++) {
        eo.half = h;
        uint32_t nh = 0;
        assert_int_equal(sc_eval_pairs(m, pairs, &eo, rows, 8, &nh, NULL), SC_OK);
        for (uint32_t r = 0; r + 1 < nh; r++) {
            uint32_t li = strcmp(rows[r].language, "python") ? 1 : 0;
            if (!(rows[r].n_queries > 0 && rows[r].n_queries < all_q[li])) fail_msg("half %u %s: %u of %u", h, rows[r].language, rows[r].n_queries, all_q[li]);
            half_q[li] += rows[r].n_queries;
        }
    }
    assert_int_equal(half_q[0], all_q[0]);
    assert_int_equal(half_q[1], all_q[1]);
    sc_model_free(m);
    sc_model_free(k);
    free(b1);
    free(b2);
    free(b3);
}

static void test_train(void **state) {
    (void)state;
    check_train(0);
}

/* Language batching (directory chunks, upsampling) and token dropout are
** deterministic too, whatever the thread count, and still learn. */
static void test_train_language_batches(void **state) {
    (void)state;
    check_train(1);
}

/* Per-side pooling weights (with a faster weight learning rate) train
** deterministically too, and learn. */
static void test_train_sides(void **state) {
    (void)state;
    check_train(2);
}

/* Model-mined hard-negative chunks (--mine): deterministic whatever the
** thread count, and the model still learns. */
static void test_train_mined(void **state) {
    (void)state;
    check_train(3);
}

static void test_axpy_kernel(void **state) {
    (void)state;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) skip();
    int8_t row[300];
    float a[300], b[300];
    for (uint32_t dim = 1; dim <= 300; dim += 13) {
        for (uint32_t d = 0; d < dim; d++) {
            row[d] = (int8_t)((int)(d * 37 % 255) - 127);
            a[d] = b[d] = (float)d * 0.01f;
        }
        embed_axpy_i8_scalar(a, row, 0.37f, dim);
        embed_axpy_i8_avx2(b, row, 0.37f, dim);
        for (uint32_t d = 0; d < dim; d++) assert_true(fabsf(a[d] - b[d]) <= 1e-5f * (1.0f + fabsf(a[d])));
    }
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/semcode-test-embed-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    const char *names[] = {"small.scm", "small1.scm", "pairs.jsonl", "t1.scm", "t2.scm", "t3.scm"};
    char p[300];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        path_in(p, sizeof p, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_tf_power),
        cmocka_unit_test(test_saturate_merge),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_train),
        cmocka_unit_test(test_train_language_batches),
        cmocka_unit_test(test_train_sides),
        cmocka_unit_test(test_train_mined),
        cmocka_unit_test(test_sides),
        cmocka_unit_test(test_axpy_kernel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
