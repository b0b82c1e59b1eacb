/*
** test_walk: the repository walker. Glob and .gitignore semantics on
** their own, then a temporary tree with ignore files at several levels,
** .git/info/exclude, .semcodeignore, always-skipped directories, binary
** and oversized files, a symlink loop and a symlink out of the tree; and
** sc_parse_tree's order, which must not depend on the thread count.
*/
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

#include "pipeline/pipeline.h"

/* ==== Reading a whole file ==== */

/* util_read_file (used by the walker's consumers: eval, tokenizer files)
** returns the bytes of a file and fails on what is not one: a directory
** opens but cannot be read, and must not read as an empty file. */
static void test_read_file(void **state) {
    (void)state;
    char dir[] = "/tmp/semcode-readfile-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/f.txt", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("abc\n", f);
    fclose(f);
    size_t n = 99;
    char *txt = util_read_file(path, &n);
    assert_non_null(txt);
    assert_int_equal(n, 4);
    assert_string_equal(txt, "abc\n");
    free(txt);
    n = 99;
    assert_null(util_read_file(dir, &n));
    assert_int_equal(n, 99); /* untouched on failure */
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_null(util_read_file(path, &n));
    snprintf(path, sizeof path, "%s/f.txt", dir);
    unlink(path);
    rmdir(dir);
}

/* ==== Glob and rules ==== */

static void test_glob(void **state) {
    (void)state;
    assert_true(pipeline_glob_match("*.py", "a.py"));
    assert_false(pipeline_glob_match("*.py", "d/a.py"));
    assert_true(pipeline_glob_match("a?c", "abc"));
    assert_false(pipeline_glob_match("a?c", "a/c"));
    assert_true(pipeline_glob_match("[a-c]x", "bx"));
    assert_false(pipeline_glob_match("[!a-c]x", "bx"));
    assert_true(pipeline_glob_match("**/foo", "foo"));
    assert_true(pipeline_glob_match("**/foo", "a/b/foo"));
    assert_false(pipeline_glob_match("**/foo", "a/xfoo"));
    assert_true(pipeline_glob_match("a/**/b", "a/b"));
    assert_true(pipeline_glob_match("a/**/b", "a/x/y/b"));
    assert_false(pipeline_glob_match("a/**/b", "ab"));
    assert_true(pipeline_glob_match("abc/**", "abc/x/y"));
    assert_false(pipeline_glob_match("abc/**", "abc"));
    assert_true(pipeline_glob_match("\\*lit", "*lit"));
    assert_false(pipeline_glob_match("\\*lit", "xlit"));
    assert_true(pipeline_glob_match("[unclosed", "[unclosed"));
    /* a pattern full of stars stays fast (memoised matcher) */
    assert_false(pipeline_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    assert_false(pipeline_glob_match("**a**a**a**a**a**a**a**a**a**a**b", "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a"));
    assert_true(pipeline_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
}

static void test_ignore_rules(void **state) {
    (void)state;
    pipeline_ignore *ig = pipeline_ignore_new();
    const char *root = "# comment\n*.log\n!keep.log\nbuild/\n/only_root.txt\ndocs/*.tmp\n**/cache/**\n\\#hash\n  \n";
    assert_int_equal(pipeline_ignore_add_text(ig, "", root, strlen(root)), SC_OK);
    assert_true(pipeline_ignore_match(ig, "x.log", false));
    assert_true(pipeline_ignore_match(ig, "a/b/x.log", false));
    assert_false(pipeline_ignore_match(ig, "a/keep.log", false));
    assert_true(pipeline_ignore_match(ig, "build", true));
    assert_true(pipeline_ignore_match(ig, "src/build", true));
    assert_false(pipeline_ignore_match(ig, "build", false)); /* dir rule, file of that name */
    assert_true(pipeline_ignore_match(ig, "only_root.txt", false));
    assert_false(pipeline_ignore_match(ig, "sub/only_root.txt", false));
    assert_true(pipeline_ignore_match(ig, "docs/a.tmp", false));
    assert_false(pipeline_ignore_match(ig, "docs/sub/a.tmp", false));
    assert_true(pipeline_ignore_match(ig, "x/cache/y/z.c", false));
    assert_true(pipeline_ignore_match(ig, "#hash", false));
    assert_false(pipeline_ignore_match(ig, "main.c", false));
    /* a deeper file overrides, and only below its own directory */
    size_t mark = pipeline_ignore_mark(ig);
    const char *sub = "!*.log\nlocal.c\n";
    assert_int_equal(pipeline_ignore_add_text(ig, "sub", sub, strlen(sub)), SC_OK);
    assert_false(pipeline_ignore_match(ig, "sub/x.log", false));
    assert_true(pipeline_ignore_match(ig, "other/x.log", false));
    assert_true(pipeline_ignore_match(ig, "sub/deep/local.c", false));
    assert_false(pipeline_ignore_match(ig, "local.c", false));
    pipeline_ignore_truncate(ig, mark);
    assert_true(pipeline_ignore_match(ig, "sub/x.log", false));
    assert_false(pipeline_ignore_match(ig, "sub/deep/local.c", false));
    pipeline_ignore_free(ig);
    pipeline_ignore_free(NULL);
}

/* ==== A real tree ==== */

static char g_root[256];

static void put(const char *rel, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_root, rel);
    char *slash = strrchr(p, '/');
    for (char *s = strchr(p + strlen(g_root) + 1, '/'); s && s <= slash; s = strchr(s + 1, '/')) {
        *s = 0;
        mkdir(p, 0755);
        *s = '/';
    }
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void put_bytes(const char *rel, const void *data, size_t n) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_root, rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(data, 1, n, f);
    fclose(f);
}

static int setup_tree(void **state) {
    (void)state;
    snprintf(g_root, sizeof g_root, "/tmp/semcode-walk-XXXXXX");
    if (!mkdtemp(g_root)) return -1;
    put("main.py", "def main():\n    return 0\n");
    put(".gitignore", "*.log\nbuild/\n/secret.txt\n!important.log\n");
    put("app.log", "noise\n");
    put("important.log", "kept by negation\n");
    put("secret.txt", "hidden\n");
    put("build/out.py", "def x(): pass\n");
    put("src/lib.go", "package lib\n\nfunc F() {}\n");
    put("src/.gitignore", "gen_*.go\n!gen_keep.go\n");
    put("src/gen_a.go", "package lib\n");
    put("src/gen_keep.go", "package lib\n\nfunc K() {}\n");
    put("src/deep/secret.txt", "not anchored at this level: kept\n");
    put("src/deep/x.log", "ignored by the root rule\n");
    put(".git/HEAD", "ref: refs/heads/main\n");
    put(".git/info/exclude", "excluded_by_git.txt\n");
    put("excluded_by_git.txt", "x\n");
    put(".semcodeignore", "docs/private/\n");
    put("docs/private/a.md", "# private\n");
    put("docs/guide.md", "# Guide\n\nSome words about the project.\n");
    put("node_modules/pkg/index.js", "module.exports = 1;\n");
    put("vendor/lib/x.go", "package x\n");
    put("web/app.min.js", "var a=1;\n");
    const char bin[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    put_bytes("logo.png", bin, sizeof bin - 1);
    char big[5000];
    memset(big, 'x', sizeof big);
    for (size_t i = 79; i < sizeof big; i += 80) big[i] = '\n';
    put_bytes("big.txt", big, sizeof big);
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/src/loop", g_root); /* src/loop -> .. (the root): a loop */
    assert_int_equal(symlink("..", p), 0);
    snprintf(p, sizeof p, "%s/outside", g_root); /* out of the tree */
    assert_int_equal(symlink("/usr/include", p), 0);
    snprintf(p, sizeof p, "%s/alias.py", g_root); /* file link inside the tree */
    assert_int_equal(symlink("main.py", p), 0);
    snprintf(p, sizeof p, "%s/a_link", g_root); /* folder link inside the tree, sorted before its target */
    assert_int_equal(symlink("src/deep", p), 0);
    snprintf(p, sizeof p, "%s/src/zz_ignored_link", g_root); /* a link to an ignored file */
    assert_int_equal(symlink("../app.log", p), 0);
    snprintf(q, sizeof q, "%s/dangling", g_root);
    assert_int_equal(symlink("does/not/exist", q), 0);
    return 0;
}

static int teardown_tree(void **state) {
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *const expected_files[] = {
    ".gitignore", ".semcodeignore", "big.txt", "docs/guide.md", "important.log", "logo.png",
    "main.py", "src/.gitignore", "src/deep/secret.txt", "src/gen_keep.go", "src/lib.go", "web/app.min.js",
};

static void test_walk_tree(void **state) {
    (void)state;
    sc_walk_options opt = sc_walk_options_default();
    pipeline_file_list l;
    sc_err err = {0};
    assert_int_equal(pipeline_walk(g_root, &opt, &l, &err), SC_OK);
    size_t n_exp = sizeof expected_files / sizeof expected_files[0];
    for (size_t i = 0; i < l.n && i < n_exp; i++) {
        if (strcmp(l.items[i].path, expected_files[i]) != 0) {
            print_error("file %zu: want %s, got %s\n", i, expected_files[i], l.items[i].path);
            fail();
        }
    }
    if (l.n != n_exp) {
        for (size_t i = 0; i < l.n; i++) print_error("  got %s\n", l.items[i].path);
        fail_msg("walk found %zu files, want %zu", l.n, n_exp);
    }
    /* links are never followed (as git): their targets inside the tree are listed once, under their real
    ** path (src/deep/secret.txt, main.py), the ignored one not at all; loop, outside, dangling are skipped */
    assert_int_equal(l.n_links_skipped, 6);
    pipeline_file_list_free(&l);

    /* without ignore files: the ignored ones come back, .git/node_modules never */
    opt.use_gitignore = false;
    opt.skip_vendored = false;
    assert_int_equal(pipeline_walk(g_root, &opt, &l, &err), SC_OK);
    bool log = false, vendor = false;
    for (size_t i = 0; i < l.n; i++) {
        assert_null(strstr(l.items[i].path, ".git/"));
        assert_null(strstr(l.items[i].path, "node_modules"));
        if (!strcmp(l.items[i].path, "app.log")) log = true;
        if (!strcmp(l.items[i].path, "vendor/lib/x.go")) vendor = true;
    }
    assert_true(log && vendor);
    pipeline_file_list_free(&l);

    assert_int_equal(pipeline_walk("/nonexistent/semcode", &opt, &l, &err), SC_IOERR);
    assert_non_null(strstr(err.msg, "/nonexistent/semcode"));
}

typedef struct collect {
    char paths[64][128];            /* paths in delivery order */
    sc_skip_reason skipped[64];     /* their skip reasons */
    uint32_t entities[64];          /* their entity counts */
    size_t n;                       /* delivered */
    size_t stop_after;              /* return 1 after this many (0 = never) */
} collect;

static int on_file(void *payload, const sc_parse_result *r) {
    collect *c = payload;
    if (c->n < 64) {
        snprintf(c->paths[c->n], sizeof c->paths[0], "%s", r->path);
        c->skipped[c->n] = r->skipped;
        c->entities[c->n] = r->n_entities;
    }
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static void test_parse_tree_order(void **state) {
    (void)state;
    sc_parse_options popt = sc_parse_options_default();
    popt.max_file_size = 4096; /* big.txt is 5000 bytes */
    static collect one, two;
    memset(&one, 0, sizeof one);
    memset(&two, 0, sizeof two);
    sc_walk_options w1 = sc_walk_options_default();
    w1.n_threads = 1;
    sc_walk_options w2 = w1;
    w2.n_threads = 2;
    assert_int_equal(sc_parse_tree(g_root, &popt, &w1, on_file, &one, NULL), SC_OK);
    assert_int_equal(sc_parse_tree(g_root, &popt, &w2, on_file, &two, NULL), SC_OK);
    size_t n_exp = sizeof expected_files / sizeof expected_files[0];
    assert_int_equal(one.n, n_exp);
    assert_int_equal(two.n, n_exp);
    for (size_t i = 0; i < n_exp; i++) {
        assert_string_equal(one.paths[i], expected_files[i]);
        assert_string_equal(two.paths[i], expected_files[i]);
        assert_int_equal(one.entities[i], two.entities[i]);
        assert_int_equal(one.skipped[i], two.skipped[i]);
        sc_skip_reason want = SC_SKIP_NONE;
        if (!strcmp(expected_files[i], "logo.png")) want = SC_SKIP_BINARY;
        if (!strcmp(expected_files[i], "big.txt")) want = SC_SKIP_TOO_LARGE;
        if (!strcmp(expected_files[i], "web/app.min.js")) want = SC_SKIP_GENERATED;
        assert_int_equal(one.skipped[i], want);
    }

    /* --lang go keeps the Go files only */
    static collect go;
    memset(&go, 0, sizeof go);
    sc_walk_options wg = w2;
    wg.only_lang = SC_LANG_GO;
    assert_int_equal(sc_parse_tree(g_root, &popt, &wg, on_file, &go, NULL), SC_OK);
    assert_int_equal(go.n, 2);
    assert_string_equal(go.paths[0], "src/gen_keep.go");
    assert_string_equal(go.paths[1], "src/lib.go");

    /* the callback can stop the walk */
    static collect stop;
    memset(&stop, 0, sizeof stop);
    stop.stop_after = 3;
    assert_int_equal(sc_parse_tree(g_root, &popt, &w2, on_file, &stop, NULL), SC_INTERRUPTED);
    assert_int_equal(stop.n, 3);

    /* a single file as root */
    static collect single;
    memset(&single, 0, sizeof single);
    char p[512];
    snprintf(p, sizeof p, "%s/main.py", g_root);
    assert_int_equal(sc_parse_tree(p, &popt, &w2, on_file, &single, NULL), SC_OK);
    assert_int_equal(single.n, 1);
    assert_int_equal(single.entities[0], 1);

    /* a missing root: the reason comes back as an owned message */
    char *msg = (char *)"unset";
    snprintf(p, sizeof p, "%s/no-such-dir", g_root);
    assert_int_equal(sc_parse_tree(p, &popt, &w2, on_file, &single, &msg), SC_IOERR);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "no-such-dir"));
    sc_free(msg);
    msg = (char *)"unset";
    assert_int_equal(sc_parse_tree(g_root, &popt, &w2, on_file, &single, &msg), SC_OK);
    assert_null(msg); /* NULL on success */
}

typedef struct qnames {
    char names[16][128]; /* qualified names in order */
    size_t n;            /* used */
} qnames;

static int on_qnames(void *payload, const sc_parse_result *r) {
    qnames *q = payload;
    for (uint32_t i = 0; i < r->n_entities && q->n < 16; i++)
        if (r->entities[i].kind != SC_ENTITY_KIND_CHUNK)
            snprintf(q->names[q->n++], sizeof q->names[0], "%s", r->entities[i].qualified_name);
    return 0;
}

/* Go names carry the import path: from go.mod, else the directory. */
static void test_go_import_paths(void **state) {
    (void)state;
    char saved[256];
    snprintf(saved, sizeof saved, "%s", g_root);
    snprintf(g_root, sizeof g_root, "/tmp/semcode-go-XXXXXX");
    assert_non_null(mkdtemp(g_root));
    put("mod/go.mod", "module example.com/m // comment\n\ngo 1.21\n");
    put("goroot/src/go.mod", "module std\n");
    put("goroot/src/net/url/u.go", "package url\n\nfunc Parse() {}\n");
    put("mod/pkg/util/u.go", "package util\n\nfunc F() {}\n");
    put("mod/cmd/tool/main.go", "package main\n\nfunc main() {}\n");
    put("std/net/http/c.go", "package http\n\ntype Client struct{}\n\nfunc (c *Client) Do() {}\n");
    static qnames q;
    memset(&q, 0, sizeof q);
    assert_int_equal(sc_parse_tree(g_root, NULL, NULL, on_qnames, &q, NULL), SC_OK);
    assert_int_equal(q.n, 5);
    assert_string_equal(q.names[0], "net/url.Parse"); /* GOROOT: module std is no prefix */
    assert_string_equal(q.names[1], "main.main");
    assert_string_equal(q.names[2], "example.com/m/pkg/util.F");
    assert_string_equal(q.names[3], "std/net/http.Client"); /* no go.mod: the directory */
    assert_string_equal(q.names[4], "std/net/http.(*Client).Do");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
    assert_int_equal(system(cmd), 0);
    snprintf(g_root, sizeof g_root, "%s", saved);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_ignore_rules),
        cmocka_unit_test(test_walk_tree),
        cmocka_unit_test(test_parse_tree_order),
        cmocka_unit_test(test_go_import_paths),
    };
    return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
