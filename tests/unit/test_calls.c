/*
** Tests of the call graph (issue 19): the fixture tree
** tests/fixtures/callgraph (Python, JavaScript, Go, C, Java, Rust) is
** indexed, and the callees and callers of its functions must be the edges
** a reader sees, each resolved by the rule that should resolve it (self,
** class, import, same_file, type, package, include), with library calls
** left unresolved, and the declared or constructed types of locals and
** fields choosing between methods of the same name. Also: call sites and imports as the parser extracts
** them, the ranking stage's usage features (callees, fan-in) on a search,
** an index without graph rows gets them from its next update without
** embedding anything again, and an edit of one file moves its edges.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse/parse.h"
#include "semcode/parse.h"
#include "semcode/rank.h"
#include "semcode/repo.h"
#include "testutil.h"

/* A copy of the fixture tree, indexed; *dir receives the temporary folder. */
static sc_repo *index_fixture(char **dir, char *root, size_t root_size) {
    *dir = tu_tmpdir("calls");
    snprintf(root, root_size, "%s/cg", *dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp -r tests/fixtures/callgraph '%s'", root);
    assert_int_equal(system(cmd), 0);
    sc_repo_options ro = sc_repo_options_default();
    ro.model_path = "models/builtin.scm";
    ro.allow_rebuild = true;
    sc_repo *r = NULL;
    char *msg = NULL;
    if (sc_repo_open(root, &ro, &r, &msg) != SC_OK) fail_msg("sc_repo_open: %s", msg ? msg : "?");
    sc_repo_summary sum;
    if (sc_repo_update(r, &sum) != SC_OK) fail_msg("update: %s", sc_repo_errmsg(r));
    return r;
}

/* The callee edge of target's site `name` at `line`: it must resolve to an
** entity whose qualified name ends with want_qname in want_path, by rule
** want_how; want_qname NULL: it must stay unresolved. */
static void expect_callee(sc_repo *r, const char *target, uint32_t line, const char *name, const char *want_path,
                          const char *want_qname, const char *want_how) {
    sc_call_edges *g = NULL;
    if (sc_repo_callees(r, target, 0, &g) != SC_OK) fail_msg("callees %s: %s", target, sc_repo_errmsg(r));
    bool found = false;
    for (size_t i = 0; i < g->n; i++) {
        const sc_call_edge *e = &g->items[i];
        if (e->line != line || strcmp(e->name, name)) continue;
        found = true;
        if (!want_qname) {
            if (e->callee.id) fail_msg("%s: %s at line %u resolved to %s, expected unresolved", target, name, line,
                                       e->callee.qualified_name);
            continue;
        }
        size_t lq = strlen(e->callee.qualified_name), lw = strlen(want_qname);
        if (!e->callee.id || strcmp(e->callee.path, want_path) || lq < lw ||
            strcmp(e->callee.qualified_name + lq - lw, want_qname) || strcmp(e->how, want_how))
            fail_msg("%s: %s at line %u -> %s %s [%s], expected %s %s [%s]", target, name, line, e->callee.path,
                     e->callee.qualified_name, e->how, want_path, want_qname, want_how);
    }
    if (!found) fail_msg("%s: no call of %s at line %u", target, name, line);
    sc_call_edges_free(g);
}

/* Number of callers of target, and whether one of them is caller_qname. */
static size_t count_callers(sc_repo *r, const char *target, const char *caller_qname, bool *has) {
    sc_call_edges *g = NULL;
    if (sc_repo_callers(r, target, 0, &g) != SC_OK) fail_msg("callers %s: %s", target, sc_repo_errmsg(r));
    *has = false;
    for (size_t i = 0; i < g->n; i++) *has |= !strcmp(g->items[i].caller.qualified_name, caller_qname);
    size_t n = g->n;
    sc_call_edges_free(g);
    return n;
}

/* Call sites and imports as the parser extracts them (Python). */
static void test_parse_sites(void **state) {
    (void)state;
    static const char src[] = "from os.path import join as j\nimport a.b\n\nclass K:\n    def m(self):\n"
                              "        self.n(1)\n        j('x')\n\n    def n(self, x):\n        return a.b.f(x)\n";
    sc_parser *p = NULL;
    assert_int_equal(sc_parser_new(&p, NULL), SC_OK);
    sc_parse_result *res = NULL;
    assert_int_equal(sc_parser_parse(p, "k.py", src, sizeof src - 1, NULL, &res), SC_OK);
    uint32_t n = 0;
    parse_result_calls(res, &n);
    assert_int_equal(n, 0); /* off unless asked for */
    sc_parse_result_free(res);
    parse_parser_set_calls(p, true);
    assert_int_equal(sc_parser_parse(p, "k.py", src, sizeof src - 1, NULL, &res), SC_OK);
    const parse_call *c = parse_result_calls(res, &n);
    assert_int_equal(n, 3);
    assert_string_equal(c[0].name, "n");
    assert_string_equal(c[0].receiver, "self");
    assert_int_equal(c[0].kind, PARSE_CALL_METHOD);
    assert_int_equal(c[0].line, 6);
    assert_string_equal(res->entities[c[0].caller].qualified_name, "K.m");
    assert_string_equal(c[1].name, "j");
    assert_null(c[1].receiver);
    assert_int_equal(c[1].kind, PARSE_CALL_PLAIN);
    assert_string_equal(c[2].name, "f");
    assert_string_equal(c[2].receiver, "a.b");
    assert_string_equal(res->entities[c[2].caller].qualified_name, "K.n");
    const parse_import *im = parse_result_imports(res, &n);
    assert_int_equal(n, 2);
    assert_string_equal(im[0].local, "j");
    assert_string_equal(im[0].module, "os.path");
    assert_string_equal(im[0].symbol, "join");
    assert_string_equal(im[1].local, "a.b");
    assert_string_equal(im[1].module, "a.b");
    assert_null(im[1].symbol);
    sc_parse_result_free(res);
    sc_parser_free(p);
}

static void test_python_edges(void **state) {
    (void)state;
    char *dir, root[1024];
    sc_repo *r = index_fixture(&dir, root, sizeof root);
    expect_callee(r, "run", 11, "Box", "py/pkg/util.py", "Box", "import");
    expect_callee(r, "run", 12, "helper", "py/pkg/util.py", "helper", "import");
    expect_callee(r, "run", 13, "helper", "py/pkg/util.py", "helper", "import");
    expect_callee(r, "run", 14, "local", "py/pkg/main.py", "local", "same_file");
    expect_callee(r, "run", 15, "len", NULL, NULL, NULL);
    expect_callee(r, "run", 16, "join", NULL, NULL, NULL); /* os.path's, not the repository's */
    expect_callee(r, "Box.get", 10, "norm", "py/pkg/util.py", "Box.norm", "self");
    expect_callee(r, "Box.norm", 13, "helper", "py/pkg/util.py", "helper", "same_file");
    /* types of locals and fields decide between Box.get and Bag.get */
    expect_callee(r, "run", 17, "get", "py/pkg/util.py", "Box.get", "local_type");
    expect_callee(r, "Holder.use", 26, "get", "py/pkg/util.py", "Box.get", "local_type");
    bool has;
    assert_int_equal(count_callers(r, "py/pkg/util.py:1", "run", &has), 3);
    assert_true(has);
    sc_repo_close(r);
    tu_rmdir(dir);
}

/* A hybrid search's ranking features carry the call graph: run() calls
** helper and Box, helper() is called from run and Box.norm. */
static void test_usage_features(void **state) {
    (void)state;
    char *dir, root[1024];
    sc_repo *r = index_fixture(&dir, root, sizeof root);
    static const char *const langs[] = {"python"};
    sc_code_query q = {.text = "helper box", .mode = SC_SEARCH_MODE_HYBRID, .limit = 50, .explain = true,
                       .langs = langs, .n_langs = 1};
    sc_code_hits *h = NULL;
    if (sc_repo_search(r, &q, &h) != SC_OK) fail_msg("search: %s", sc_repo_errmsg(r));
    uint32_t ic = UINT32_MAX, ifan = UINT32_MAX;
    for (uint32_t j = 0; j < sc_rank_n_features(); j++) {
        if (!strcmp(sc_rank_feature_name(j), "cov_callees")) ic = j;
        if (!strcmp(sc_rank_feature_name(j), "log_fanin")) ifan = j;
    }
    bool saw_run = false, saw_helper = false;
    for (size_t i = 0; i < h->n; i++) {
        const sc_code_hit *x = &h->items[i];
        assert_int_equal(x->n_features, sc_rank_n_features());
        if (!strcmp(x->qualified_name, "run") && !strcmp(x->path, "py/pkg/main.py")) {
            saw_run = true;
            assert_true(fabsf(x->features[ic] - 1.0f) < 1e-6f); /* it calls helper and Box */
        }
        if (!strcmp(x->qualified_name, "helper") && !strcmp(x->path, "py/pkg/util.py")) {
            saw_helper = true;
            assert_true(x->features[ifan] > 0.0f); /* called from run (twice) and Box.norm */
        }
    }
    assert_true(saw_run && saw_helper);
    sc_code_hits_free(h);
    sc_repo_close(r);
    tu_rmdir(dir);
}

static void test_js_go_c_edges(void **state) {
    (void)state;
    char *dir, root[1024];
    sc_repo *r = index_fixture(&dir, root, sizeof root);
    expect_callee(r, "web/cart.js:13", 14, "Cart", "web/cart.js", "Cart", "same_file");
    expect_callee(r, "web/cart.js:13", 15, "greet", "web/lib.js", "greet", "import");
    expect_callee(r, "web/cart.js:13", 16, "log", NULL, NULL, NULL);
    expect_callee(r, "Cart.total", 6, "sum", "web/cart.js", "Cart.sum", "self");
    expect_callee(r, "Cart.sum", 9, "add", "web/math.js", "add", "import");
    expect_callee(r, "go/a/a.go:7", 8, "step", "go/a/a.go", "step", "self");
    expect_callee(r, "go/a/a.go:7", 9, "helper", "go/a/b.go", "helper", "package");
    expect_callee(r, "go/a/a.go:7", 10, "Println", NULL, NULL, NULL);
    expect_callee(r, "Holder.Done", 21, "Flush", "go/a/b.go", "(*W).Flush", "local_type"); /* struct field *W */
    expect_callee(r, "Holder.Done", 22, "Flush", NULL, NULL, NULL);                       /* *bufio.Writer */
    expect_callee(r, "c/m.c:6", 7, "sq", "c/m.c", "sq", "same_file");
    expect_callee(r, "c/m.c:6", 8, "twice", "c/u.c", "twice", "include"); /* the definition, not u.h's prototype */
    expect_callee(r, "c/m.c:6", 7, "printf", NULL, NULL, NULL);
    bool has;
    assert_int_equal(count_callers(r, "Cart.sum", "Cart.total", &has), 1);
    assert_true(has);
    sc_repo_close(r);
    tu_rmdir(dir);
}

static void test_java_rust_edges(void **state) {
    (void)state;
    char *dir, root[1024];
    sc_repo *r = index_fixture(&dir, root, sizeof root);
    expect_callee(r, "App.run", 7, "helper", "java/com/ex/App.java", "App.helper", "class");
    expect_callee(r, "App.run", 8, "trim", "java/com/ex/util/Strings.java", "Strings.trim", "import");
    expect_callee(r, "App.run", 9, "Box", "java/com/ex/Box.java", "Box", "package");
    expect_callee(r, "App.run", 10, "println", NULL, NULL, NULL);
    expect_callee(r, "Box.open", 7, "open", "java/com/ex/Lid.java", "Lid.open", "local_type"); /* field Lid lid */
    expect_callee(r, "Sq::size", 13, "double", "rs/src/lib.rs", "Sq::double", "self");
    expect_callee(r, "Sq::double", 16, "area", "rs/src/shapes.rs", "area", "import");
    expect_callee(r, "make", 21, "new", "rs/src/lib.rs", "Sq::new", "type");
    sc_call_edges *g = NULL;
    assert_int_equal(sc_repo_callers(r, "no_such_function", 0, &g), SC_NOTFOUND);
    assert_non_null(strstr(sc_repo_errmsg(r), "no_such_function"));
    assert_null(g);
    sc_repo_close(r);
    tu_rmdir(dir);
}

/* An index without graph rows (made before the call graph) gets them from
** its next update, embedding nothing; an edit moves the edges of its file. */
static void test_graph_fill_and_edit(void **state) {
    (void)state;
    char *dir, root[1024];
    sc_repo *r = index_fixture(&dir, root, sizeof root);
    sc_repo_close(r);
    char db[1100];
    snprintf(db, sizeof db, "%s/.semcode/state.db", root);
    assert_int_equal(tu_sql_exec(db, "DELETE FROM graph_defs; DELETE FROM graph_calls; DELETE FROM graph_imports;"
                                     "DELETE FROM meta WHERE key='call_graph'"),
                     0);
    sc_repo_options ro = sc_repo_options_default();
    ro.model_path = "models/builtin.scm";
    char *msg = NULL;
    assert_int_equal(sc_repo_open(root, &ro, &r, &msg), SC_OK);
    sc_call_edges *g = NULL;
    assert_int_equal(sc_repo_callers(r, "helper", 0, &g), SC_NOTFOUND);
    sc_repo_summary sum;
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_int_equal(sum.embeddings_new, 0);
    assert_int_equal(sum.entities_added, 0);
    bool has;
    assert_int_equal(count_callers(r, "py/pkg/util.py:1", "run", &has), 3);
    char *v = tu_sql_text(db, "SELECT value FROM meta WHERE key='call_graph'");
    assert_string_equal(v, "1");
    free(v);
    /* main.py stops calling helper: its two edges go, util.py's stays */
    char path[1100];
    snprintf(path, sizeof path, "%s/py/pkg", root);
    assert_int_equal(tu_write_file(path, "main.py", "def run():\n    return 1\n"), 0);
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_int_equal(count_callers(r, "py/pkg/util.py:1", "Box.norm", &has), 1);
    assert_true(has);
    sc_repo_close(r);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_sites),
        cmocka_unit_test(test_python_edges),
        cmocka_unit_test(test_usage_features),
        cmocka_unit_test(test_js_go_c_edges),
        cmocka_unit_test(test_java_rust_edges),
        cmocka_unit_test(test_graph_fill_and_edit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
