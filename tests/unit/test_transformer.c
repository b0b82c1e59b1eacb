/*
** Unit tests of the transformer engine (embed/transformer_*, text/hftok):
** token ids and embeddings against the fixtures of
** tools/gen_transformer_fixtures.py (a tokenizer and an encoder written
** independently in Python / PyTorch): ids must match exactly, embeddings
** with cosine >= 0.9999. Covers BERT (f32, tokenizer.json, mean +
** Normalize), RoBERTa (f16, byte-level BPE, CLS pooling, "roberta."
** prefix), BERT from vocab.txt (bf16, last-token pooling),
** vocab.json + merges.txt, batching and thread counts, the MiniLM-L6 shape
** when the test set-up generated it, and the error paths: truncated or
** malformed safetensors, wrong dtype or shape, missing files, unsupported
** architecture.
*/
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "embed/transformer_int.h"
#include "semcode/embed.h"
#include "semcode/transformer.h"
#include "text/hftok.h"

#define FIX "tests/fixtures/transformer"

/* ==== Helpers ==== */

static double cosine(const float *a, const double *b, uint32_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (uint32_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * (double)a[i];
        bb += b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

static json_t *load_expected(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/expected.json", dir);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j) fail_msg("%s: %s", path, e.text);
    return j;
}

/* Tokens and embeddings of every text of dir/expected.json. */
static void check_model_dir(const char *dir, uint32_t threads, uint32_t batch) {
    json_t *exp = load_expected(dir);
    json_t *texts = json_object_get(exp, "texts"), *ids = json_object_get(exp, "ids"),
           *embs = json_object_get(exp, "embeddings");
    size_t n = json_array_size(texts);
    assert_true(n > 0);
    sc_transformer_options opt = sc_transformer_options_default();
    opt.threads = threads;
    opt.batch_size = batch;
    sc_transformer *m = NULL;
    char *msg = NULL;
    sc_status rc = sc_transformer_load(dir, &opt, &m, &msg);
    if (rc != SC_OK) fail_msg("load %s: %s", dir, msg ? msg : "?");
    uint32_t dim = sc_transformer_dim(m);
    const char **tv = calloc(n, sizeof *tv);
    float *out = calloc(n * dim, sizeof *out);
    assert_non_null(tv);
    assert_non_null(out);
    int32_t buf[1024];
    size_t bad_tokens = 0;
    for (size_t i = 0; i < n; i++) {
        tv[i] = json_string_value(json_array_get(texts, i));
        uint32_t k = 0;
        assert_int_equal(sc_transformer_tokenize(m, tv[i], buf, 1024, &k), SC_OK);
        json_t *want = json_array_get(ids, i);
        bool same = k == json_array_size(want);
        for (uint32_t j = 0; same && j < k; j++) same = buf[j] == json_integer_value(json_array_get(want, j));
        if (!same) {
            bad_tokens++;
            print_message("%s: text %zu: token ids differ (%u vs %zu tokens)\n", dir, i, k, json_array_size(want));
        }
    }
    assert_int_equal(bad_tokens, 0);
    assert_int_equal(sc_transformer_embed(m, tv, n, out), SC_OK);
    double *ref = calloc(dim, sizeof *ref);
    double worst = 1.0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(embs, i);
        assert_int_equal(json_array_size(e), dim);
        for (uint32_t j = 0; j < dim; j++) ref[j] = json_number_value(json_array_get(e, j));
        double c = cosine(out + i * dim, ref, dim);
        if (c < worst) worst = c;
    }
    if (worst < 0.9999) fail_msg("%s: worst cosine %.6f < 0.9999", dir, worst);
    free(ref);
    free(tv);
    free(out);
    sc_transformer_free(m);
    json_decref(exp);
}

static int copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) {
        if (a) fclose(a);
        if (b) fclose(b);
        return -1;
    }
    char buf[65536];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, r, b);
    fclose(a);
    return fclose(b);
}

/* A scratch copy of the bert fixture in a fresh temporary directory. */
static void copy_bert(char *dir, size_t size) {
    snprintf(dir, size, "/tmp/semcode-tt-XXXXXX");
    assert_non_null(mkdtemp(dir));
    static const char *const files[] = {"config.json", "model.safetensors", "tokenizer.json", "modules.json",
                                        "sentence_bert_config.json", "1_Pooling/config.json"};
    char p[600], q[600];
    snprintf(q, sizeof q, "%s/1_Pooling", dir);
    assert_int_equal(mkdir(q, 0755), 0);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, FIX "/bert/%s", files[i]);
        snprintf(q, sizeof q, "%s/%s", dir, files[i]);
        assert_int_equal(copy_file(p, q), 0);
    }
}

static void remove_dir(const char *dir) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static sc_status try_load(const char *dir, char *msg, size_t size) {
    sc_transformer *m = NULL;
    char *e = NULL;
    sc_status rc = sc_transformer_load(dir, NULL, &m, &e);
    snprintf(msg, size, "%s", e ? e : "");
    sc_free(e);
    sc_transformer_free(m);
    return rc;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* ==== Fixtures ==== */

static void test_bert(void **state) {
    (void)state;
    check_model_dir(FIX "/bert", 2, 32);
}

static void test_roberta(void **state) {
    (void)state;
    check_model_dir(FIX "/roberta", 2, 32);
}

static void test_bert_vocab_bf16(void **state) {
    (void)state;
    check_model_dir(FIX "/bert_vocab_bf16", 2, 32);
}

static void test_batching_and_threads(void **state) {
    (void)state;
    /* Small batches, one thread, many threads: all must give the reference. */
    check_model_dir(FIX "/bert", 1, 1);
    check_model_dir(FIX "/roberta", 3, 5);
    check_model_dir(FIX "/bert", 4, 7);
}

static void test_bpe_files(void **state) {
    (void)state;
    text_hftok *tok = NULL;
    sc_err err;
    sc_err_clear(&err);
    assert_int_equal(text_hftok_load_dir(FIX "/bpe_files", &tok, &err), SC_OK);
    assert_string_equal(text_hftok_kind(tok), "bpe");
    json_t *exp = load_expected(FIX "/roberta");
    json_t *texts = json_object_get(exp, "texts"), *ids = json_object_get(exp, "ids");
    int32_t buf[1024];
    for (size_t i = 0; i < json_array_size(texts); i++) {
        const char *t = json_string_value(json_array_get(texts, i));
        uint32_t k = 0;
        assert_int_equal(text_hftok_encode(tok, t, strlen(t), 48, buf, 1024, &k), SC_OK);
        json_t *want = json_array_get(ids, i);
        assert_int_equal(k, json_array_size(want));
        for (uint32_t j = 0; j < k; j++) assert_int_equal(buf[j], json_integer_value(json_array_get(want, j)));
    }
    json_decref(exp);
    text_hftok_free(tok);
}

static void test_minilm(void **state) {
    (void)state;
    const char *dir = getenv("SEMCODE_MINILM_DIR");
    char path[600];
    if (!dir) dir = "build/fixtures/minilm";
    snprintf(path, sizeof path, "%s/expected.json", dir);
    if (access(path, R_OK) != 0) {
        print_message("minilm fixture not generated (%s); skipped\n", path);
        skip();
    }
    check_model_dir(dir, 2, 32);
}

/* ==== Through the common model handle ==== */

static void test_sc_model(void **state) {
    (void)state;
    sc_model *m = NULL;
    char *msg = NULL;
    if (sc_model_load(FIX "/roberta", &m, &msg) != SC_OK) fail_msg("sc_model_load: %s", msg ? msg : "?");
    sc_transformer *t = NULL;
    assert_int_equal(sc_transformer_load(FIX "/roberta", NULL, &t, NULL), SC_OK);
    assert_int_equal(sc_model_dim(m), sc_transformer_dim(t));
    assert_true(sc_model_hash(m) == sc_transformer_hash(t) && sc_model_hash(m) != 0);
    assert_non_null(strstr(sc_model_metadata(m), "transformer"));
    const char *texts[3] = {"def f(x): return x", "Café 中文", "x"};
    float a[3 * 32], b[3 * 32];
    assert_int_equal(sc_model_embed(m, SC_EMBED_ROLE_CODE, texts, 3, a), SC_OK);
    assert_int_equal(sc_transformer_embed(t, texts, 3, b), SC_OK);
    for (int i = 0; i < 3 * 32; i++) assert_true(a[i] == b[i]);
    sc_model_free(m);
    sc_transformer_free(t);
    /* Errors of a directory come from the transformer loader. */
    assert_int_equal(sc_model_load("tests/fixtures/transformer", &m, &msg), SC_NOTFOUND);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "config.json"));
    sc_free(msg);
}

/* ==== Limits ==== */

static void test_long_input(void **state) {
    (void)state;
    sc_transformer *m = NULL;
    assert_int_equal(sc_transformer_load(FIX "/bert", NULL, &m, NULL), SC_OK);
    size_t n = 4u << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++) big[i] = (i % 7 == 6) ? ' ' : (char)('a' + i % 5);
    big[n] = '\0';
    uint32_t k = 0;
    int32_t ids[64];
    assert_int_equal(sc_transformer_tokenize(m, big, ids, 64, &k), SC_OK);
    assert_int_equal(k, sc_transformer_max_seq_length(m));
    float out[2 * 32];
    const char *tv[2] = {big, ""};
    assert_int_equal(sc_transformer_embed(m, tv, 2, out), SC_OK);
    for (int i = 0; i < 64; i++) assert_true(isfinite(out[i]));
    free(big);
    /* Invalid UTF-8 and a lone continuation byte are tolerated. */
    assert_int_equal(sc_transformer_tokenize(m, "\xff\xfe abc \x80", ids, 64, &k), SC_OK);
    assert_int_equal(sc_transformer_embed(m, NULL, 1, out), SC_MISUSE);
    sc_transformer_free(m);
}

/* A model is shared by threads, so its error message is the calling
** thread's (transformer.h): a failure on another thread leaves this
** thread's message as it was. */
static void *errmsg_other_thread(void *arg) {
    sc_transformer *m = arg;
    float out[32];
    const char *tv[1] = {NULL};
    if (sc_transformer_embed(m, tv, 1, out) != SC_MISUSE) return (void *)"no failure";
    return strstr(sc_transformer_errmsg(m), "texts[0] is NULL") ? NULL : (void *)"wrong message";
}

static void test_errmsg_per_thread(void **state) {
    (void)state;
    sc_transformer *m = NULL;
    assert_int_equal(sc_transformer_load(FIX "/bert", NULL, &m, NULL), SC_OK);
    float out[2 * 32];
    const char *tv[2] = {"fine", NULL};
    assert_int_equal(sc_transformer_embed(m, tv, 2, out), SC_MISUSE);
    assert_non_null(strstr(sc_transformer_errmsg(m), "texts[1] is NULL"));
    pthread_t th;
    void *res = (void *)"not run";
    assert_int_equal(pthread_create(&th, NULL, errmsg_other_thread, m), 0);
    assert_int_equal(pthread_join(th, &res), 0);
    assert_null(res);
    assert_non_null(strstr(sc_transformer_errmsg(m), "texts[1] is NULL"));
    sc_transformer_free(m);
}

/* ==== safetensors ==== */

/* Build "u64 N | header | data" in buf; returns the total size. */
static size_t make_st(uint8_t *buf, const char *header, const void *data, size_t data_size) {
    uint64_t n = strlen(header);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(n >> (8 * i));
    memcpy(buf + 8, header, n);
    if (data_size) memcpy(buf + 8 + n, data, data_size);
    return 8 + n + data_size;
}

static void test_safetensors_parse(void **state) {
    (void)state;
    uint8_t buf[1024];
    uint16_t f16[4] = {0x3C00, 0xC000, 0x0001, 0x7C00}; /* 1, -2, 2^-24, inf */
    size_t n = make_st(buf,
                       "{\"__metadata__\":{\"format\":\"pt\"},\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],"
                       "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                       "\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                       f16, sizeof f16);
    transformer_st st;
    sc_err err;
    sc_err_clear(&err);
    assert_int_equal(transformer_st_parse(buf, n, "t.safetensors", &st, &err), SC_OK);
    assert_int_equal(st.n_tensors, 3);
    const transformer_st_tensor *h = transformer_st_find(&st, "h");
    assert_non_null(h);
    float out[4];
    assert_int_equal(transformer_st_to_f32(&st, h, out, "t", &err), SC_OK);
    assert_true(out[0] == 1.0f && out[1] == -2.0f && out[2] == ldexpf(1.0f, -24) && isinf(out[3]));
    const transformer_st_tensor *b = transformer_st_find(&st, "b");
    assert_int_equal(transformer_st_to_f32(&st, b, out, "t", &err), SC_OK);
    assert_true(out[0] == 0.0078125f); /* bf16 0x3C00 = 2^-7 */
    assert_true(out[1] == -2.0f);      /* bf16 0xC000 */
    sc_err_clear(&err);
    const transformer_st_tensor *i = transformer_st_find(&st, "i");
    assert_int_equal(transformer_st_to_f32(&st, i, out, "t", &err), SC_INVALID);
    assert_non_null(strstr(err.msg, "I32"));
    transformer_st_free(&st);

    /* Malformed files: each must be SC_CORRUPT, never a crash. */
    static const char *const bad[] = {
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",       /* past the data */
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",        /* size mismatch */
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}",       /* negative dim */
        "{\"x\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}",         /* unknown dtype */
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",        /* reversed */
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}", /* overflow */
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"x\":{}}", /* duplicate key */
        "[1,2]", "{\"x\":", "{\"x\":5}",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        n = make_st(buf, bad[k], f16, sizeof f16);
        sc_err_clear(&err);
        assert_int_equal(transformer_st_parse(buf, n, "bad.safetensors", &st, &err), SC_CORRUPT);
        assert_non_null(strstr(err.msg, "bad.safetensors"));
    }
    /* Header length beyond the file. */
    n = make_st(buf, "{}", NULL, 0);
    buf[0] = 200;
    assert_int_equal(transformer_st_parse(buf, n, "short", &st, &err), SC_CORRUPT);
    assert_int_equal(transformer_st_parse(buf, 5, "short", &st, &err), SC_CORRUPT);
}

/* ==== Kernels ==== */

static void test_kernels(void **state) {
    (void)state;
    if (!transformer_use_avx2()) {
        print_message("no AVX2 + FMA: only the scalar kernels run\n");
        skip();
    }
    enum { N = 4099 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    for (int i = 0; i < N; i++) a[i] = b[i] = -12.0f + 24.0f * (float)i / (float)(N - 1);
    a[0] = b[0] = -100.0f;
    a[1] = b[1] = 100.0f;
    transformer_gelu_scalar(a, N);
    transformer_gelu_avx2(b, N);
    for (int i = 0; i < N; i++) assert_true(fabsf(a[i] - b[i]) <= 1e-6f * (1.0f + fabsf(a[i])));
    for (uint32_t n = 1; n <= 300; n += 7) {
        for (uint32_t i = 0; i < n; i++) a[i] = b[i] = 8.0f * sinf((float)(i * 7 + n));
        transformer_softmax_scalar(a, n);
        transformer_softmax_avx2(b, n);
        for (uint32_t i = 0; i < n; i++) assert_true(fabsf(a[i] - b[i]) <= 2e-6f * (a[i] + 1e-3f));
    }
    free(a);
    free(b);
}

/* ==== Error paths on a model directory ==== */

static void test_errors(void **state) {
    (void)state;
    char dir[64], msg[600], path[600];
    copy_bert(dir, sizeof dir);
    assert_int_equal(try_load(dir, msg, sizeof msg), SC_OK);

    /* Truncated weights. */
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(truncate(path, 60000), 0);
    assert_int_equal(try_load(dir, msg, sizeof msg), SC_CORRUPT);
    assert_non_null(strstr(msg, "model.safetensors"));
    assert_non_null(strstr(msg, "truncated"));
    assert_int_equal(truncate(path, 4), 0);
    assert_int_equal(try_load(dir, msg, sizeof msg), SC_CORRUPT);
    remove_dir(dir);

    /* Missing weights, missing config. */
    copy_bert(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(try_load(dir, msg, sizeof msg), SC_NOTFOUND);
    assert_non_null(strstr(msg, "model.safetensors"));
    snprintf(path, sizeof path, "%s/config.json", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(try_load(dir, msg, sizeof msg), SC_NOTFOUND);
    assert_non_null(strstr(msg, "config.json"));
    remove_dir(dir);

    /* Unsupported architecture; wrong shape (hidden size disagrees). */
    copy_bert(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *cfg = json_load_file(FIX "/bert/config.json", 0, NULL);
    assert_non_null(cfg);
    json_object_set_new(cfg, "model_type", json_string("gpt2"));
    assert_int_equal(json_dump_file(cfg, path, 0), 0);
    assert_int_equal(try_load(dir, msg, sizeof msg), SC_UNSUPPORTED);
    assert_non_null(strstr(msg, "gpt2"));
    json_object_set_new(cfg, "model_type", json_string("bert"));
    json_object_set_new(cfg, "intermediate_size", json_integer(65));
    assert_int_equal(json_dump_file(cfg, path, 0), 0);
    assert_int_equal(try_load(dir, msg, sizeof msg), SC_INVALID);
    assert_non_null(strstr(msg, "intermediate.dense.weight"));
    assert_non_null(strstr(msg, "[64, 32]"));
    json_decref(cfg);
    remove_dir(dir);

    /* Wrong dtype: rewrite one tensor's dtype as I32 (same byte size as F32). */
    copy_bert(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    uint8_t hdr[8];
    assert_int_equal(fread(hdr, 1, 8, f), 8);
    uint64_t hn = 0;
    for (int i = 7; i >= 0; i--) hn = (hn << 8) | hdr[i];
    char *h = calloc(hn + 1, 1);
    assert_int_equal(fread(h, 1, hn, f), hn);
    char *p = strstr(h, "\"embeddings.LayerNorm.bias\":{\"dtype\":\"F32\"");
    assert_non_null(p);
    memcpy(strstr(p, "F32"), "I32", 3);
    fseek(f, 8, SEEK_SET);
    fwrite(h, 1, hn, f);
    fclose(f);
    free(h);
    assert_int_equal(try_load(dir, msg, sizeof msg), SC_INVALID);
    assert_non_null(strstr(msg, "embeddings.LayerNorm.bias"));
    assert_non_null(strstr(msg, "I32"));
    remove_dir(dir);

    /* Unsupported pooling; broken tokenizer. */
    copy_bert(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/1_Pooling/config.json", dir);
    write_text(path, "{\"pooling_mode_max_tokens\": true}");
    assert_int_equal(try_load(dir, msg, sizeof msg), SC_UNSUPPORTED);
    assert_non_null(strstr(msg, "pooling"));
    snprintf(path, sizeof path, "%s/1_Pooling/config.json", dir);
    write_text(path, "{\"pooling_mode_cls_token\": true}");
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    write_text(path, "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
    assert_int_equal(try_load(dir, msg, sizeof msg), SC_UNSUPPORTED);
    assert_non_null(strstr(msg, "Unigram"));
    write_text(path, "{\"model\": ");
    assert_int_equal(try_load(dir, msg, sizeof msg), SC_CORRUPT);
    assert_non_null(strstr(msg, "tokenizer.json"));
    remove_dir(dir);

    assert_int_equal(try_load("/nonexistent/model", msg, sizeof msg), SC_NOTFOUND);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bert),
        cmocka_unit_test(test_roberta),
        cmocka_unit_test(test_bert_vocab_bf16),
        cmocka_unit_test(test_batching_and_threads),
        cmocka_unit_test(test_bpe_files),
        cmocka_unit_test(test_minilm),
        cmocka_unit_test(test_sc_model),
        cmocka_unit_test(test_long_input),
        cmocka_unit_test(test_errmsg_per_thread),
        cmocka_unit_test(test_safetensors_parse),
        cmocka_unit_test(test_kernels),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
