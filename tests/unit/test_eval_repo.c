/*
** test_eval_repo: the quality harness run through the product path
** (sc_repo_eval). Rank arithmetic on known rankings; query text made from
** doc comments; doc comments cut out of Python, C, Go and Rust sources so
** the files still parse and no doc is left; and a whole run on a small
** tree whose copy (what the index saw) holds none of the doc words, with
** a keyword ranking known in advance. Also the repository's provider set-up
** (pipeline/embedder.c) when a remote provider's fallback is refused.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "repo/repo.h"
#include "semcode/repo.h"
#include "testutil.h"

/* ==== Ranks ==== */

static void test_rank_metrics(void **state) {
    (void)state;
    repo_rank_acc a = {0};
    sc_repo_eval_scores z = repo_rank_scores(&a);
    assert_true(z.mrr == 0 && z.recall_1 == 0 && z.recall_10 == 0);
    const uint32_t ranks[] = {1, 2, 0, 10, 11, 4};
    for (size_t i = 0; i < 6; i++) repo_rank_add(&a, ranks[i]);
    sc_repo_eval_scores s = repo_rank_scores(&a);
    double want = (1.0 + 0.5 + 0.0 + 0.1 + 1.0 / 11 + 0.25) / 6;
    assert_true(s.mrr > want - 1e-12 && s.mrr < want + 1e-12);
    assert_true(s.recall_1 > 1.0 / 6 - 1e-12 && s.recall_1 < 1.0 / 6 + 1e-12);
    assert_true(s.recall_10 > 4.0 / 6 - 1e-12 && s.recall_10 < 4.0 / 6 + 1e-12); /* 1, 2, 10, 4 */
    assert_int_equal(a.n, 6);
}

/* ==== Query text ==== */

static void check_query(const char *doc, bool whole, const char *want) {
    char *q = repo_doc_query(doc, whole);
    if (!want) {
        assert_null(q);
        return;
    }
    assert_non_null(q);
    assert_string_equal(q, want);
    free(q);
}

static void test_doc_query(void **state) {
    (void)state;
    check_query("Return the sum.\n\nMore   detail\nhere.", false, "Return the sum.");
    check_query("Return the sum.\n\nMore   detail\nhere.", true, "Return the sum. More detail here.");
    check_query("  Open a file\n  for reading.\n@param path the path\n@return a handle", false,
                "Open a file for reading.");
    check_query("Uses {@link Foo} and <b>bold</b> &amp; more", false, "Uses Foo and bold & more");
    check_query("kmalloc() - allocate kernel memory", false, "allocate kernel memory");
    check_query("@param x only tags", false, NULL);
    check_query("\n\n", false, NULL);
    /* cut at 600 bytes, not inside a UTF-8 sequence */
    char big[1400];
    size_t k = 0;
    while (k + 2 < sizeof big - 1) {
        big[k++] = '\xc3';
        big[k++] = '\xa9';
    }
    big[k] = '\0';
    char *q = repo_doc_query(big, false);
    assert_non_null(q);
    assert_int_equal(strlen(q), 600);
    free(q);
}

/* ==== Stripping ==== */

/* Strip src until no doc is left; check the copy parses as well as the
** original, keeps `keep`, and holds none of the strings in `gone`. */
static char *strip_all(const char *path, const char *src, const char *const *gone, const char *const *keep) {
    sc_parser *p = NULL;
    assert_int_equal(sc_parser_new(&p, NULL), SC_OK);
    sc_parse_result *r = NULL;
    assert_int_equal(sc_parser_parse(p, path, src, strlen(src), NULL, &r), SC_OK);
    uint32_t errors0 = r->n_errors;
    uint32_t docs0 = 0;
    for (uint32_t i = 0; i < r->n_entities; i++) docs0 += r->entities[i].doc != NULL;
    assert_true(docs0 > 0);
    char *cur = strdup(src);
    size_t n = strlen(src);
    uint32_t total = 0;
    for (int pass = 0; pass < 4; pass++) {
        uint32_t cut = 0;
        size_t nn = 0;
        char *next = repo_strip_docs(r, cur, n, &nn, &cut);
        assert_non_null(next);
        assert_int_equal(strlen(next), nn);
        free(cur);
        cur = next;
        n = nn;
        total += cut;
        sc_parse_result_free(r);
        assert_int_equal(sc_parser_parse(p, path, cur, n, NULL, &r), SC_OK);
        if (!cut) break;
    }
    assert_int_equal(total, docs0);
    assert_true(r->n_errors <= errors0);
    for (uint32_t i = 0; i < r->n_entities; i++) assert_null(r->entities[i].doc);
    for (size_t i = 0; gone[i]; i++)
        if (strstr(cur, gone[i])) fail_msg("'%s' left in:\n%s", gone[i], cur);
    for (size_t i = 0; keep[i]; i++)
        if (!strstr(cur, keep[i])) fail_msg("'%s' lost from:\n%s", keep[i], cur);
    sc_parse_result_free(r);
    sc_parser_free(p);
    return cur;
}

static void test_strip_python(void **state) {
    (void)state;
    const char *src = "import os\n\n\nclass Store:\n    \"\"\"Keeps zebra records.\n\n    Long text.\n    \"\"\"\n\n"
                      "    def get(self, key):\n        \"\"\"Fetch the quokka.\"\"\"\n        return self.d[key]\n\n"
                      "    def abstract(self):\n        '''Only a narwhal docstring.'''\n\n\n"
                      "def one(): \"\"\"Axolotl one-liner.\"\"\"\n\n\n"
                      "# Comment doc about the pangolin.\ndef two(x):\n    y = x + 1\n    return y\n";
    const char *gone[] = {"zebra", "quokka", "narwhal", "Axolotl", "pangolin", NULL};
    const char *keep[] = {"import os", "class Store:", "return self.d[key]", "def abstract(self):", "def one():",
                          "y = x + 1", NULL};
    char *out = strip_all("m.py", src, gone, keep);
    /* blocks left empty got a `pass`; the others did not */
    assert_non_null(strstr(out, "def abstract(self):\n        pass\n"));
    assert_non_null(strstr(out, "def one(): pass"));
    assert_null(strstr(out, "def get(self, key):\n        pass"));
    free(out);
}

static void test_strip_c_go_rust(void **state) {
    (void)state;
    const char *c = "#include <stdio.h>\n\n/**\n * sum_zebra() - add the quokka values\n * @n: count\n */\n"
                    "int sum_zebra(int n) {\n    return n + 1; /* trailing */\n}\n";
    const char *cg[] = {"quokka", "@n: count", NULL};
    const char *ck[] = {"#include <stdio.h>", "int sum_zebra(int n) {", "return n + 1; /* trailing */", NULL};
    free(strip_all("a.c", c, cg, ck));
    const char *go = "package x\n\n// Retry calls narwhal until it works,\n// with backoff.\nfunc Retry(n int) int {\n"
                     "\treturn n\n}\n";
    const char *gg[] = {"narwhal", "backoff", NULL};
    const char *gk[] = {"package x", "func Retry(n int) int {", "\treturn n", NULL};
    free(strip_all("a.go", go, gg, gk));
    const char *rs = "/// Parses the axolotl header.\n#[inline]\npub fn parse(b: &[u8]) -> u8 {\n    b[0]\n}\n";
    const char *rg[] = {"axolotl", NULL};
    const char *rk[] = {"#[inline]", "pub fn parse(b: &[u8]) -> u8 {", NULL};
    free(strip_all("a.rs", rs, rg, rk));
}

/* ==== A whole run ==== */

static void write_file(const char *dir, const char *name, const char *text) {
    assert_int_equal(tu_write_file(dir, name, text), 0);
}

/* Does any file under dir contain s? */
static bool tree_contains(const char *dir, const char *s) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "grep -rqF '%s' '%s'", s, dir);
    return system(cmd) == 0;
}

static void test_eval_tree(void **state) {
    (void)state;
    char *src = tu_tmpdir("evalsrc");
    char *work = tu_tmpdir("evalwork");
    /* Each doc shares its rare words with its own function's name and with
    ** nothing else, so keyword search must rank every target first; each
    ** doc also holds a word found nowhere in code (quokka, ...). */
    write_file(src, "geo.py",
               "def zebra_stripe_count(image):\n    \"\"\"Count the zebra stripe pixels, quokka method.\"\"\"\n"
               "    total = 0\n    for row in image:\n        total += sum(row)\n    return total\n\n\n"
               "def walrus_tusk_length(animal):\n    \"\"\"Measure walrus tusk length in narwhal units.\"\"\"\n"
               "    size = animal.size\n    return size * 2\n\n\n"
               "def helper(x):\n    y = x * 3\n    return y\n");
    write_file(src, "net.go",
               "package net\n\n// FalconDive computes the falcon dive speed, axolotl style.\nfunc FalconDive(h int) int {\n"
               "\tv := h * 9\n\treturn v\n}\n\n// OtterFloat returns the otter float time, pangolin rules.\n"
               "func OtterFloat(t int) int {\n\tw := t + 4\n\treturn w\n}\n");
    write_file(src, "README.md", "# Notes\n\nNothing to see.\n");
    char wdir[4096];
    snprintf(wdir, sizeof wdir, "%s/run", work);
    sc_repo_eval_options o = {.work_dir = wdir, .limit = 100, .n_threads = 1};
    sc_repo_eval_result r;
    char *msg = NULL;
    sc_status rc = sc_repo_eval(src, &o, &r, &msg);
    if (rc != SC_OK) fail_msg("sc_repo_eval: %s", msg ? msg : "?");
    assert_int_equal(r.files, 3);
    assert_int_equal(r.docs_stripped, 4);
    assert_int_equal(r.files_broken, 0);
    assert_int_equal(r.queries_dropped, 0);
    assert_true(r.entities >= 5);
    assert_int_equal(r.n_rows, 3); /* python, go, all */
    const sc_repo_eval_row *all = &r.rows[r.n_rows - 1];
    assert_string_equal(all->language, "all");
    assert_int_equal(all->queries, 4);
    assert_int_equal(all->documented, 4);
    const sc_repo_eval_scores *kw = &all->mode[SC_SEARCH_MODE_KEYWORD];
    assert_true(kw->mrr > 0.999 && kw->recall_1 > 0.999 && kw->recall_10 > 0.999);
    /* Every mode's scores agree with one another: with 4 queries, recall@1
    ** counts whole queries; a first-place hit adds 1 to MRR's sum and any
    ** other hit at most 1/2, so recall@1 <= MRR <= recall@1 + (1 - recall@1) / 2;
    ** and recall@1 <= recall@10. */
    for (int m = 0; m < 3; m++) {
        const sc_repo_eval_scores *sc = &all->mode[m];
        double q1 = sc->recall_1 * 4;
        assert_true(fabs(q1 - round(q1)) < 1e-9);
        assert_true(sc->recall_1 <= sc->mrr + 1e-12);
        assert_true(sc->mrr <= sc->recall_1 + (1 - sc->recall_1) / 2 + 1e-12);
        assert_true(sc->recall_1 <= sc->recall_10 + 1e-12);
    }
    /* the copy the index was built from holds no doc word, and the source tree is untouched */
    char copy[4200];
    snprintf(copy, sizeof copy, "%s/tree", wdir);
    const char *words[] = {"quokka", "narwhal", "axolotl", "pangolin", NULL};
    for (int i = 0; words[i]; i++) {
        assert_false(tree_contains(copy, words[i]));
        assert_true(tree_contains(src, words[i]));
    }
    assert_true(tree_contains(copy, "zebra_stripe_count"));
    /* and the index has no term of them either */
    char store[4200];
    snprintf(store, sizeof store, "%s/store", wdir);
    sc_repo_options ro = sc_repo_options_default();
    ro.store_dir = store;
    sc_repo *repo = NULL;
    assert_int_equal(sc_repo_open(copy, &ro, &repo, NULL), SC_OK);
    for (int i = 0; words[i]; i++) {
        sc_code_query q = {.text = words[i], .mode = SC_SEARCH_MODE_KEYWORD, .limit = 10};
        sc_code_hits *h = NULL;
        assert_int_equal(sc_repo_search(repo, &q, &h), SC_OK);
        assert_int_equal(h->n, 0);
        sc_code_hits_free(h);
    }
    sc_code_query q = {.text = "zebra stripe", .mode = SC_SEARCH_MODE_KEYWORD, .limit = 10};
    sc_code_hits *h = NULL;
    assert_int_equal(sc_repo_search(repo, &q, &h), SC_OK);
    assert_true(h->n >= 1);
    assert_string_equal(h->items[0].name, "zebra_stripe_count");
    sc_code_hits_free(h);
    sc_repo_close(repo);
    /* a folder that already holds a run is refused */
    assert_int_equal(sc_repo_eval(src, &o, &r, &msg), SC_INVALID);
    assert_non_null(msg);
    sc_free(msg);
    tu_rmdir(src);
    tu_rmdir(work);
}

/* A repository on a remote provider whose --fallback is refused (another
** dimension) fails each search that needs it, and keeps nothing of the
** local embedder made for the refused fallback (LeakSanitizer in the
** SANITIZE build checks that a second refusal leaks nothing). */
static void test_refused_fallback_each_search(void **state) {
    (void)state;
    char *src = tu_tmpdir("fbsrc");
    write_file(src, "a.py", "def alpha(x):\n    y = x + 1\n    return y\n");
    sc_remote_options rem = sc_remote_options_default();
    rem.base_url = "http://127.0.0.1:9/v1"; /* never reached: the fallback is refused first */
    rem.model = "m";
    rem.dim = 7;
    sc_repo_options ro = sc_repo_options_default();
    ro.provider = SC_REPO_PROVIDER_REMOTE;
    ro.remote = &rem;
    ro.remote_fallback = true;
    ro.model_path = "models/builtin.scm"; /* tests run from the source tree */
    sc_repo *repo = NULL;
    char *msg = NULL;
    sc_status rc = sc_repo_open(src, &ro, &repo, &msg);
    if (rc != SC_OK) fail_msg("sc_repo_open: %s", msg ? msg : "?");
    for (int i = 0; i < 2; i++) {
        sc_code_query q = {.text = "alpha", .mode = SC_SEARCH_MODE_DENSE, .limit = 5};
        sc_code_hits *h = NULL;
        assert_int_equal(sc_repo_search(repo, &q, &h), SC_INVALID);
        assert_non_null(strstr(sc_repo_errmsg(repo), "--fallback"));
        assert_null(h);
    }
    sc_repo_close(repo);
    tu_rmdir(src);
}

/* A language name as the first or last word of a query (a web-search
** habit: "python read csv rows", "read csv rows in python") is dropped
** before both legs search; one inside the question stays. */
static void test_language_word_dropped(void **state) {
    (void)state;
    char *src = tu_tmpdir("langsrc");
    write_file(src, "rows.py", "def read_csv_rows(path):\n    \"\"\"Read the rows of a csv file.\"\"\"\n    return open(path).read().split()\n");
    write_file(src, "snake.py", "def banner():\n    \"\"\"Print the Python version.\"\"\"\n    print('python')\n");
    write_file(src, "conv.py", "def to_yaml(obj):\n    \"\"\"Convert python objects to yaml text.\"\"\"\n    return str(obj)\n");
    sc_repo_options ro = sc_repo_options_default();
    ro.model_path = "models/builtin.scm";
    sc_repo *repo = NULL;
    char *msg = NULL;
    if (sc_repo_open(src, &ro, &repo, &msg) != SC_OK) fail_msg("sc_repo_open: %s", msg ? msg : "?");
    sc_repo_summary sum;
    if (sc_repo_update(repo, &sum) != SC_OK) fail_msg("sc_repo_update: %s", sc_repo_errmsg(repo));
    const char *same[][2] = {{"python read csv rows", "read csv rows"},
                             {"read csv rows in python", "read csv rows"},
                             {"Python read csv rows using python", "read csv rows"}};
    for (int m = 0; m < 3; m++)
        for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
            sc_code_hits *a = NULL, *b = NULL;
            sc_code_query qa = {.text = same[i][0], .mode = (sc_search_mode)m, .limit = 5};
            sc_code_query qb = {.text = same[i][1], .mode = (sc_search_mode)m, .limit = 5};
            assert_int_equal(sc_repo_search(repo, &qa, &a), SC_OK);
            assert_int_equal(sc_repo_search(repo, &qb, &b), SC_OK);
            assert_int_equal(a->n, b->n);
            for (size_t k = 0; k < a->n; k++) {
                assert_string_equal(a->items[k].name, b->items[k].name);
                assert_true(fabs((double)a->items[k].score - (double)b->items[k].score) < 1e-6);
            }
            assert_string_equal(a->items[0].name, "read_csv_rows");
            sc_code_hits_free(a);
            sc_code_hits_free(b);
        }
    /* inside the question, and in a query of three words or fewer, it stays */
    const char *kept[] = {"convert python objects", "python"};
    for (size_t i = 0; i < 2; i++) {
        sc_code_query q = {.text = kept[i], .mode = SC_SEARCH_MODE_KEYWORD, .limit = 5};
        sc_code_hits *h = NULL;
        assert_int_equal(sc_repo_search(repo, &q, &h), SC_OK);
        assert_true(h->n >= 2); /* "python" matched the two functions that say it */
        sc_code_hits_free(h);
    }
    sc_repo_close(repo);
    tu_rmdir(src);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_metrics),
        cmocka_unit_test(test_doc_query),
        cmocka_unit_test(test_strip_python),
        cmocka_unit_test(test_strip_c_go_rust),
        cmocka_unit_test(test_eval_tree),
        cmocka_unit_test(test_refused_fallback_each_search),
        cmocka_unit_test(test_language_word_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
