/*
** test_walk: the repository walker. The glob of search filters on its
** own; a temporary git work tree with ignore files at several levels,
** .git/info/exclude, .semcodeignore, always-skipped directories, binary
** and oversized files, a symlink loop and a symlink out of the tree;
** git's documented edge cases of ignore rules (negation, "**", directory
** rules, escapes, nested files, info/exclude, core.excludesFile) in real
** repositories made by libgit2, each compared with what `git check-ignore`
** answers on the same tree when git is installed; a plain directory, a
** subdirectory of a work tree, a root git ignores, a repository of another
** owner; .semcodeignore on top of git; and sc_parse_tree's order, which
** must not depend on the thread count.
**
** HOME points to an empty temporary directory for the whole run, so that
** neither libgit2 nor git reads the user's global configuration.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <git2.h>

#include "pipeline/pipeline.h"
#include "testutil.h"

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

/* ==== Glob of search filters ==== */

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

/* ==== A real tree ==== */

static char g_root[256];

/* Write text to root/rel, making the folders on the way. */
static void put_in(const char *root, const char *rel, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    char *slash = strrchr(p, '/');
    for (char *s = strchr(p + strlen(root) + 1, '/'); s && s <= slash; s = strchr(s + 1, '/')) {
        *s = 0;
        mkdir(p, 0755);
        *s = '/';
    }
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void put(const char *rel, const char *text) {
    put_in(g_root, rel, text);
}

/* git init (libgit2) of a work tree at dir. */
static void git_init_at(const char *dir) {
    git_repository *repo = NULL;
    if (git_repository_init(&repo, dir, 0) != 0) fail_msg("git init %s: %s", dir, git_error_last()->message);
    git_repository_free(repo);
}

/* A fresh temporary directory (owned, tu_rmdir), a git work tree if git. */
static char *new_tree(const char *tag, bool git) {
    char *root = tu_tmpdir(tag);
    assert_non_null(root);
    if (git) git_init_at(root);
    return root;
}

/* Write a one-line file at each of the n paths under root. */
static void put_files(const char *root, const char *const *paths, size_t n) {
    for (size_t i = 0; i < n; i++) put_in(root, paths[i], "x = 1\n");
}

#define PUT_FILES(root, paths) put_files(root, paths, sizeof paths / sizeof paths[0])

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
    git_init_at(g_root);
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

/* ==== git's ignore rules, compared with git ==== */

/* A sorted list of paths. */
typedef struct names {
    char **v; /* owned paths, sorted by strcmp */
    size_t n; /* used */
} names;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_add(names *l, const char *p) {
    l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    assert_non_null(l->v);
    l->v[l->n] = strdup(p);
    assert_non_null(l->v[l->n]);
    l->n++;
}

static void names_free(names *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static bool names_has(const names *l, const char *p) {
    return bsearch(&p, l->v, l->n, sizeof *l->v, cmp_str) != NULL;
}

/* The files pipeline_walk keeps under root (vendored folders included). */
static names walk_names(const char *root, bool use_ignore) {
    sc_walk_options opt = sc_walk_options_default();
    opt.use_gitignore = use_ignore;
    opt.skip_vendored = false;
    pipeline_file_list l;
    sc_err err = {0};
    if (pipeline_walk(root, &opt, &l, &err) != SC_OK) fail_msg("walk %s: %s", root, err.msg);
    names out = {0};
    for (size_t i = 0; i < l.n; i++) names_add(&out, l.items[i].path);
    pipeline_file_list_free(&l);
    if (out.n) qsort(out.v, out.n, sizeof *out.v, cmp_str);
    return out;
}

/* Fail, listing both sides, unless got holds exactly the paths of want. */
static void assert_names(const names *got, const char *const *want, size_t n_want, const char *what) {
    bool same = got->n == n_want;
    for (size_t i = 0; same && i < n_want; i++) same = !strcmp(got->v[i], want[i]);
    if (same) return;
    for (size_t i = 0; i < n_want; i++) print_error("  want '%s'%s\n", want[i], names_has(got, want[i]) ? "" : "  <- missing");
    for (size_t i = 0; i < got->n; i++) {
        bool wanted = false;
        for (size_t j = 0; j < n_want && !wanted; j++) wanted = !strcmp(got->v[i], want[j]);
        if (!wanted) print_error("  got  '%s'  <- unexpected\n", got->v[i]);
    }
    fail_msg("%s: the walk kept %zu files, want %zu", what, got->n, n_want);
}

#define ASSERT_WALK(root, want, what)                                     \
    do {                                                                  \
        names got_ = walk_names(root, true);                              \
        assert_names(&got_, want, sizeof want / sizeof want[0], what);    \
        names_free(&got_);                                                \
    } while (0)

static names g_found; /* files_under's result (nftw has no payload) */
static size_t g_found_skip; /* length of the root's path and its slash */

static int found_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    const char *base = strrchr(path, '/');
    if (flag == FTW_D && base && !strcmp(base + 1, ".git")) return FTW_SKIP_SUBTREE;
    if (flag == FTW_F) names_add(&g_found, path + g_found_skip);
    return FTW_CONTINUE;
}

/* Every regular file under root but those in .git, relative to root. */
static names files_under(const char *root) {
    memset(&g_found, 0, sizeof g_found);
    g_found_skip = strlen(root) + 1;
    assert_int_equal(nftw(root, found_one, 16, FTW_PHYS | FTW_ACTIONRETVAL), 0);
    names out = g_found;
    if (out.n) qsort(out.v, out.n, sizeof *out.v, cmp_str);
    return out;
}

static bool git_installed(void) {
    return system("git --version >/dev/null 2>&1") == 0;
}

/* Run `git GIT_ARGS check-ignore --no-index` in root on every file under it
** and assert that the walk keeps exactly the files git does not ignore. */
static void assert_same_as_git(const char *root, const char *git_args) {
    if (!git_installed()) {
        print_message("    (git is not installed: no comparison with git check-ignore for %s)\n", root);
        return;
    }
    names all = files_under(root);
    char list[512], answer[512], cmd[2048];
    snprintf(list, sizeof list, "%s.paths", root);
    snprintf(answer, sizeof answer, "%s.ignored", root);
    FILE *f = fopen(list, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < all.n; i++) fwrite(all.v[i], 1, strlen(all.v[i]) + 1, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd '%s' && git %s check-ignore --no-index -z --stdin < '%s' > '%s'", root, git_args,
             list, answer);
    int st = system(cmd);
    if (!WIFEXITED(st) || WEXITSTATUS(st) > 1) fail_msg("git check-ignore failed (%d): %s", st, cmd);
    size_t n = 0;
    char *out = util_read_file(answer, &n);
    assert_non_null(out);
    names ignored = {0};
    for (size_t i = 0; i < n; i += strlen(out + i) + 1) names_add(&ignored, out + i);
    free(out);
    if (ignored.n) qsort(ignored.v, ignored.n, sizeof *ignored.v, cmp_str);
    const char **want = calloc(all.n + 1, sizeof *want);
    assert_non_null(want);
    size_t n_want = 0;
    for (size_t i = 0; i < all.n; i++)
        if (!names_has(&ignored, all.v[i])) want[n_want++] = all.v[i];
    names got = walk_names(root, true);
    assert_names(&got, want, n_want, "compared with git check-ignore");
    names_free(&got);
    free(want);
    names_free(&ignored);
    names_free(&all);
    unlink(list);
    unlink(answer);
}

/* git's documented edge cases (gitignore(5)) in one work tree. */
static void test_git_rules(void **state) {
    (void)state;
    char *root = new_tree("gitrules", true);
    put_in(root, ".gitignore",
           "# a comment\n"
           "*.log\n"
           "!keep.log\n"          /* negation after a wider rule */
           "**/lead_any\n"        /* leading **: at any depth */
           "mid/**/deep.txt\n"    /* middle **: zero or more directories */
           "trailing/**\n"        /* trailing **: everything inside */
           "build/\n"             /* directories only */
           "!build/keep.c\n"      /* no re-including inside an excluded directory */
           "\\#hash\n"            /* escaped '#': a pattern, not a comment */
           "\\!bang\n"            /* escaped '!': a pattern, not a negation */
           "trail\\ \n"           /* escaped trailing space is kept */
           "spaces   \n"          /* unescaped trailing spaces are not */
           "/root_only.txt\n"     /* anchored */
           "[ab].tmp\n"
           "?.one\n");
    static const char *const files[] = {"a.log", "keep.log", "x/keep.log", "x/y.log", "lead_any", "x/y/lead_any/f.c",
                           "mid/deep.txt", "mid/a/b/deep.txt", "other/mid/deep.txt", "mid/deep.txt.bak",
                           "trailing/a.c", "trailing/q/z.c", "trailing_x", "build/out.c", "build/keep.c",
                           "src/build/x.c", "docs/build", "#hash", "!bang", "trail ", "trail", "spaces",
                           "root_only.txt", "sub/root_only.txt", "a.tmp", "c.tmp", "1.one", "12.one",
                           "sub/sub.log", "sub/other.log", "sub/local.c", "local.c", "sub/anch.c",
                           "sub/deep/anch.c", "sub/deep/sub.log", "sub/deep/local.c"};
    PUT_FILES(root, files);
    /* a nested file re-includes with a plain name what its parent ignores
    ** (libgit2 alone misses this: libgit2 issue #7284), ignores only below
    ** itself, and anchors at its own directory; a deeper one overrides it */
    put_in(root, "sub/.gitignore", "!sub.log\nlocal.c\n/anch.c\n");
    put_in(root, "sub/deep/.gitignore", "sub.log\n!local.c\n");
    /* git does not follow a symbolic link to a .gitignore of the work tree,
    ** and a FIFO of that name has no rules (and must not block the walk) */
    char link_path[512], fifo_path[512];
    put_in(root, "linked/a.c", "x\n");
    put_in(root, "fifo/b.c", "x\n");
    put_in(root, "rules_by_link", "*.c\n");
    snprintf(link_path, sizeof link_path, "%s/linked/.gitignore", root);
    assert_int_equal(symlink("../rules_by_link", link_path), 0);
    snprintf(fifo_path, sizeof fifo_path, "%s/fifo/.gitignore", root);
    assert_int_equal(mkfifo(fifo_path, 0644), 0);
    static const char *const want[] = {
        ".gitignore", "12.one", "c.tmp", "docs/build", "fifo/b.c", "keep.log", "linked/a.c", "local.c",
        "mid/deep.txt.bak", "other/mid/deep.txt", "rules_by_link", "sub/.gitignore", "sub/deep/.gitignore", "sub/deep/anch.c", "sub/deep/local.c",
        "sub/root_only.txt", "sub/sub.log", "trail", "trailing_x", "x/keep.log",
    };
    ASSERT_WALK(root, want, "git's edge cases");
    assert_int_equal(unlink(fifo_path), 0); /* git would block on it */
    assert_same_as_git(root, "");

    /* --no-ignore (use_gitignore = false) keeps every file but .git's */
    names all = walk_names(root, false);
    names disk = files_under(root);
    assert_int_equal(all.n, disk.n);
    for (size_t i = 0; i < all.n; i++) assert_string_equal(all.v[i], disk.v[i]);
    names_free(&all);
    names_free(&disk);
    tu_rmdir(root);
}

/* Nested ignore files in folders whose names glob would misread ('[', '*',
** '\\'), or git would ('#', '!', a leading space), and one with CRLF line ends. */
static void test_git_rules_odd_names(void **state) {
    (void)state;
    char *root = new_tree("gitodd", true);
    put_in(root, ".gitignore", "*.log\n");
    static const char *const dirs[] = {"we[ir]d*dir", "#hash_dir", "!bang_dir", " lead", "back\\slash"};
    char p[256];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(p, sizeof p, "%s/.gitignore", dirs[i]);
        put_in(root, p, "x.c\n/y.c\n!z.log\n");
    }
    static const char *const all_dirs[] = {"we[ir]d*dir", "werdXYdir", "#hash_dir", "!bang_dir", " lead", "back\\slash"};
    for (size_t i = 0; i < sizeof all_dirs / sizeof all_dirs[0]; i++) {
        static const char *const files[] = {"x.c", "y.c", "z.log", "k.c"};
        for (size_t j = 0; j < 4; j++) {
            snprintf(p, sizeof p, "%s/%s", all_dirs[i], files[j]);
            put_in(root, p, "x\n");
        }
    }
    put_in(root, "crlf/.gitignore", "a.c\r\n/b.c\r\nc dir/\r\n");
    put_in(root, "crlf/a.c", "x\n");
    put_in(root, "crlf/b.c", "x\n");
    put_in(root, "crlf/c dir/f", "x\n");
    static const char *const want[] = {
        " lead/.gitignore", " lead/k.c", " lead/z.log", "!bang_dir/.gitignore", "!bang_dir/k.c", "!bang_dir/z.log",
        "#hash_dir/.gitignore", "#hash_dir/k.c", "#hash_dir/z.log", ".gitignore", "back\\slash/.gitignore",
        "back\\slash/k.c", "back\\slash/z.log", "crlf/.gitignore", "we[ir]d*dir/.gitignore", "we[ir]d*dir/k.c",
        "we[ir]d*dir/z.log", "werdXYdir/k.c", "werdXYdir/x.c", "werdXYdir/y.c",
    };
    ASSERT_WALK(root, want, "odd folder names");
    assert_same_as_git(root, "");
    tu_rmdir(root);
}

/* .git/info/exclude and core.excludesFile, under .gitignore: a .gitignore
** negation re-includes what they ignore. */
static void test_git_excludes(void **state) {
    (void)state;
    char *root = new_tree("gitexcl", true);
    char *elsewhere = new_tree("gitexcl-global", false);
    put_in(root, ".git/info/exclude", "info_only.txt\n*.bak\n");
    put_in(elsewhere, "ignore", "*.swp\nglobal.txt\n");
    char cfg[512], line[600];
    snprintf(cfg, sizeof cfg, "%s/.git/config", root);
    FILE *f = fopen(cfg, "a");
    assert_non_null(f);
    snprintf(line, sizeof line, "[core]\n\texcludesFile = %s/ignore\n", elsewhere);
    fputs(line, f);
    fclose(f);
    put_in(root, ".gitignore", "!keep.swp\n!keep.bak\n");
    static const char *const files[] = {"info_only.txt", "sub/info_only.txt", "a.bak", "keep.bak", "x.swp",
                           "keep.swp", "global.txt", "sub/global.txt", "plain.c"};
    PUT_FILES(root, files);
    static const char *const want[] = {".gitignore", "keep.bak", "keep.swp", "plain.c"};
    ASSERT_WALK(root, want, "info/exclude and core.excludesFile");
    assert_same_as_git(root, "");
    tu_rmdir(elsewhere);
    tu_rmdir(root);
}

/* A root below the top of a work tree: the ignore files above it and
** info/exclude count, paths stay relative to the root. A root git ignores
** (a build folder) is walked on its own, with its own ignore files. */
static void test_git_subdir_root(void **state) {
    (void)state;
    char *top = new_tree("gitsub", true);
    put_in(top, ".gitignore", "*.log\nbuild/\n");
    put_in(top, ".git/info/exclude", "/sub/only_here.txt\n");
    put_in(top, "sub/.gitignore", "!keep.log\n");
    static const char *const files[] = {"sub/a.c", "sub/a.log", "sub/keep.log", "sub/only_here.txt", "sub/x.tmp",
                           "only_here.txt", "build/x.c", "build/y.o", "build/z.log"};
    PUT_FILES(top, files);
    char sub[512], build[512];
    snprintf(sub, sizeof sub, "%s/sub", top);
    snprintf(build, sizeof build, "%s/build", top);
    static const char *const want_sub[] = {".gitignore", "a.c", "keep.log", "x.tmp"};
    ASSERT_WALK(sub, want_sub, "a subdirectory of the work tree");
    assert_same_as_git(sub, "");
    /* .semcodeignore above the root counts too */
    put_in(top, ".semcodeignore", "*.tmp\n");
    static const char *const want_sub2[] = {".gitignore", "a.c", "keep.log"};
    ASSERT_WALK(sub, want_sub2, "a subdirectory, .semcodeignore above it");
    put_in(top, "build/.gitignore", "*.o\n");
    static const char *const want_build[] = {".gitignore", "x.c", "z.log"};
    ASSERT_WALK(build, want_build, "a root that git ignores");
    tu_rmdir(top);
}

/* A directory outside git (an unpacked tarball) still has its .gitignore
** files honoured, by the same rules (git with a throwaway git directory
** and the tree as work tree answers the same). */
static void test_plain_directory(void **state) {
    (void)state;
    char *root = new_tree("plain", false);
    char *gitdir = new_tree("plain-gitdir", false);
    put_in(root, ".gitignore", "*.log\n!keep.log\nout/\n");
    put_in(root, "sub/.gitignore", "!sub.log\n");
    static const char *const files[] = {"a.log", "keep.log", "out/x.c", "sub/sub.log", "sub/b.log", "main.c"};
    PUT_FILES(root, files);
    static const char *const want[] = {".gitignore", "keep.log", "main.c", "sub/.gitignore", "sub/sub.log"};
    ASSERT_WALK(root, want, "a plain directory");
    if (git_installed()) {
        char args[1200], cmd[1300];
        snprintf(cmd, sizeof cmd, "git init -q --bare '%s/g.git'", gitdir);
        assert_int_equal(system(cmd), 0);
        snprintf(args, sizeof args, "--git-dir='%s/g.git' --work-tree=.", gitdir);
        assert_same_as_git(root, args);
    }
    tu_rmdir(gitdir);
    tu_rmdir(root);
}

/* A repository libgit2 refuses to open (another owner, as git's "dubious
** ownership"): walked as a plain directory, its .gitignore still honoured. */
static void test_other_owner(void **state) {
    (void)state;
    if (geteuid() != 0) {
        print_message("    (not root: cannot give a repository to another owner)\n");
        skip();
    }
    char *root = new_tree("owner", true);
    put_in(root, ".gitignore", "*.log\n");
    put_in(root, ".git/info/exclude", "info.txt\n");
    static const char *const files[] = {"a.log", "info.txt", "main.c"};
    PUT_FILES(root, files);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "chown -R 65534:65534 '%s'", root);
    assert_int_equal(system(cmd), 0);
    static const char *const want[] = {".gitignore", "info.txt", "main.c"};
    ASSERT_WALK(root, want, "a repository of another owner");
    tu_rmdir(root);
}

/* A repository git refuses to work in (a bad .git/config) is an error that
** names the file, as in git, not a silent walk without its rules. */
static void test_bad_git_config(void **state) {
    (void)state;
    char *root = new_tree("badcfg", true);
    put_in(root, ".gitignore", "*.log\n");
    put_in(root, "a.log", "x\n");
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s/.git/config", root);
    FILE *f = fopen(cfg, "a");
    assert_non_null(f);
    fputs("[core\nbroken\n", f);
    fclose(f);
    sc_walk_options opt = sc_walk_options_default();
    pipeline_file_list l;
    sc_err err = {0};
    assert_int_equal(pipeline_walk(root, &opt, &l, &err), SC_ERROR);
    assert_non_null(strstr(err.msg, ".git/config"));
    opt.use_gitignore = false; /* --no-ignore does not read it */
    assert_int_equal(pipeline_walk(root, &opt, &l, &err), SC_OK);
    assert_int_equal(l.n, 2);
    pipeline_file_list_free(&l);
    tu_rmdir(root);
}

/* .semcodeignore is applied on top of git's rules: where one of its rules
** matches it decides (it re-includes with '!' what git ignores, and a
** deeper .gitignore does not undo it); a deeper .semcodeignore overrides
** a shallower one. */
static void test_semcodeignore_on_top(void **state) {
    (void)state;
    char *root = new_tree("scignore", true);
    put_in(root, ".gitignore", "*.log\n");
    put_in(root, ".semcodeignore", "!keep_me.log\ndocs/\n*.md\n");
    put_in(root, "sub/.gitignore", "!README.md\n");
    put_in(root, "sub/.semcodeignore", "!notes.md\n");
    static const char *const files[] = {"keep_me.log", "other.log", "docs/a.py", "README.md", "sub/README.md",
                           "sub/notes.md", "main.py"};
    PUT_FILES(root, files);
    static const char *const want[] = {".gitignore", ".semcodeignore", "keep_me.log", "main.py",
                                       "sub/.gitignore", "sub/.semcodeignore", "sub/notes.md"};
    ASSERT_WALK(root, want, ".semcodeignore on top");
    tu_rmdir(root);
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
    /* no global git configuration of the user's (HOME is read when libgit2 starts) */
    char *home = tu_tmpdir("walk-home");
    if (!home || setenv("HOME", home, 1) != 0) return 1;
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("GIT_CEILING_DIRECTORIES");
    git_libgit2_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_walk_tree),
        cmocka_unit_test(test_git_rules),
        cmocka_unit_test(test_git_rules_odd_names),
        cmocka_unit_test(test_git_excludes),
        cmocka_unit_test(test_git_subdir_root),
        cmocka_unit_test(test_plain_directory),
        cmocka_unit_test(test_other_owner),
        cmocka_unit_test(test_bad_git_config),
        cmocka_unit_test(test_semcodeignore_on_top),
        cmocka_unit_test(test_parse_tree_order),
        cmocka_unit_test(test_go_import_paths),
    };
    int failed = cmocka_run_group_tests(tests, setup_tree, teardown_tree);
    git_libgit2_shutdown();
    tu_rmdir(home);
    return failed;
}
