/*
** Unit tests of the code-aware tokenizer (identifier splitting, stemming,
** whole-identifier tokens, UTF-8 safety, determinism, token limit), the
** string map and BM25 (scores checked against the formula by hand).
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text/text.h"

/* Tokens of s joined by spaces, whole-identifier tokens marked with '*'. */
static char *toks(const char *s, size_t n, uint32_t max) {
    text_tokenizer *tk = text_tokenizer_new(NULL);
    assert_non_null(tk);
    text_tokens t = {0};
    assert_int_equal(text_tokenize(tk, s, n, max, &t), SC_OK);
    static char buf[4096];
    size_t o = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < t.n; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s%.*s", i ? " " : "",
                              t.kind[i] == TEXT_TOKEN_KIND_WHOLE ? "*" : "", (int)t.len[i], t.str + t.off[i]);
    text_tokens_free(&t);
    text_tokenizer_free(tk);
    return buf;
}
#define TOKS(s) toks(s, strlen(s), 0)

static void test_split_identifiers(void **state) {
    (void)state;
    assert_string_equal(TOKS("HTTPServer2"), "http server 2 *httpserver2");
    assert_string_equal(TOKS("getUserName"), "get user name *getusername");
    assert_string_equal(TOKS("get_user_names"), "get user name *getusernames");
    assert_string_equal(TOKS("parseJSONString x"), "pars json string *parsejsonstring x");
    assert_string_equal(TOKS("__init__"), "init");
    assert_string_equal(TOKS("sha256sum"), "sha 256 sum *sha256sum");
    assert_string_equal(TOKS("Reads the files."), "read the file");
    assert_string_equal(TOKS("a+b==c"), "a b c");
}

static void test_utf8(void **state) {
    (void)state;
    /* valid multi-byte letters stay inside a word; invalid bytes separate */
    assert_string_equal(TOKS("caf\xc3\xa9 na\xc3\xafve"), "caf\xc3\xa9 na\xc3\xafve");
    assert_string_equal(TOKS("ab\xff" "cd"), "ab cd");
    assert_string_equal(TOKS("x\xc3"), "x");          /* truncated sequence */
    assert_string_equal(TOKS("\xed\xa0\x80q"), "q");  /* surrogate */
    assert_string_equal(TOKS("\xe0\x80\xafq"), "q");  /* overlong */
    assert_string_equal(TOKS("a\xc0\xaf" "b"), "a b");    /* overlong '/' */
    assert_string_equal(TOKS("a\xf4\x90\x80\x80" "b"), "a b"); /* past U+10FFFF */
    assert_string_equal(TOKS("a\x80\xbf" "b"), "a b");    /* stray continuation bytes */
    assert_string_equal(TOKS("ab\xf0\x9f\x98 cd"), "ab cd"); /* truncated 4-byte sequence */
    assert_string_equal(TOKS("x\xf0\x9f\x98\x80y"), "x\xf0\x9f\x98\x80y"); /* U+1F600 stays in the word */
    assert_string_equal(TOKS("\xe6\x97\xa5\xe6\x9c\xac_\xe8\xaa\x9e"), "\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e *\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
    /* a long word of 2-byte letters is cut without splitting a letter */
    char big[200];
    for (int i = 0; i < 99; i++) big[2 * i] = (char)0xc3, big[2 * i + 1] = (char)0xa9;
    big[198] = 0;
    const char *t = TOKS(big);
    assert_true(strlen(t) <= TEXT_TOKEN_MAX && strlen(t) % 2 == 0);
}

static void test_deterministic_and_limit(void **state) {
    (void)state;
    const char *s = "func (s *Server) ListenAndServeTLS(certFile, keyFile string) error { return nil }";
    char first[4096];
    snprintf(first, sizeof first, "%s", TOKS(s));
    for (int i = 0; i < 3; i++) assert_string_equal(TOKS(s), first);
    assert_string_equal(toks(s, strlen(s), 3), "func s server");
    assert_string_equal(toks("", 0, 0), "");
}

/* text_tokenize_cut: the prefix ends after the last whole word that fits. */
static void test_cut(void **state) {
    (void)state;
    text_tokenizer *tk = text_tokenizer_new(NULL);
    text_tokens t = {0};
    size_t cut = 99;
    const char *s = "fix getUserName crash, again";
    /* tokens: fix | get user name *getusername | crash | again = 7 */
    assert_int_equal(text_tokenize_cut(tk, s, strlen(s), 100, &t, &cut), SC_OK);
    assert_int_equal(t.n, 7);
    assert_int_equal(cut, strlen(s));
    assert_int_equal(text_tokenize_cut(tk, s, strlen(s), 5, &t, &cut), SC_OK);
    assert_int_equal(t.n, 7); /* every token is still counted */
    assert_int_equal(cut, strlen("fix getUserName"));
    assert_int_equal(text_tokenize_cut(tk, s, strlen(s), 4, &t, &cut), SC_OK);
    assert_int_equal(cut, strlen("fix")); /* the identifier's 4 tokens do not fit after "fix" */
    assert_int_equal(text_tokenize_cut(tk, s, strlen(s), 0, &t, &cut), SC_OK);
    assert_int_equal(cut, 0);
    assert_int_equal(text_tokenize_cut(tk, "  ,; ", 5, 0, &t, &cut), SC_OK);
    assert_int_equal(cut, 5); /* no token at all: everything fits */
    text_tokens_free(&t);
    text_tokenizer_free(tk);
}

static void test_strmap(void **state) {
    (void)state;
    text_strmap m = {0};
    char key[32];
    for (int i = 0; i < 5000; i++) {
        int added = 0;
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(text_strmap_add(&m, key, strlen(key), &added), (uint32_t)i);
        assert_true(added);
    }
    int added = 1;
    assert_int_equal(text_strmap_add(&m, "k42", 3, &added), 42u);
    assert_false(added);
    assert_int_equal(text_strmap_find(&m, "k4999", 5), 4999u);
    assert_int_equal(text_strmap_find(&m, "nope", 4), UINT32_MAX);
    text_strmap_free(&m);
}

static void test_bm25(void **state) {
    (void)state;
    const char *docs[] = {"open file read", "close file", "socket connect socket", "unrelated words here"};
    text_tokenizer *tk = text_tokenizer_new(NULL);
    text_tokens d[4] = {0}, q = {0};
    for (int i = 0; i < 4; i++) assert_int_equal(text_tokenize(tk, docs[i], strlen(docs[i]), 0, &d[i]), SC_OK);
    text_bm25 *bm = text_bm25_build(d, 4, 1.2f, 0.75f, NULL);
    assert_non_null(bm);
    float s[4];
    assert_int_equal(text_tokenize(tk, "socket socket", 13, 0, &q), SC_OK);
    text_bm25_score(bm, &q, s);
    /* df(socket) = 1, N = 4, tf = 2, dl = 3, avgdl = 11/4 */
    double idf = log(1.0 + (4 - 1 + 0.5) / (1 + 0.5));
    double norm = 1.2 * (1 - 0.75 + 0.75 * 3 / (11.0 / 4));
    double want = idf * 2 * 2.2 / (2 + norm);
    assert_true(fabs((double)s[2] - want) < 1e-4);
    assert_true(s[0] == 0.0f && s[1] == 0.0f && s[3] == 0.0f);
    assert_int_equal(text_tokenize(tk, "read file", 9, 0, &q), SC_OK);
    text_bm25_score(bm, &q, s);
    assert_true(s[0] > s[1] && s[1] > 0.0f && s[2] == 0.0f);
    for (int i = 0; i < 4; i++) text_tokens_free(&d[i]);
    text_tokens_free(&q);
    text_bm25_free(bm);
    text_tokenizer_free(tk);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_identifiers), cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_deterministic_and_limit), cmocka_unit_test(test_cut), cmocka_unit_test(test_strmap), cmocka_unit_test(test_bm25),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
