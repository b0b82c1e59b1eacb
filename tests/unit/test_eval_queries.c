/*
** test_eval_queries: the realistic-query harness (sc_repo_eval_queries,
** `semcode eval --queries`). Metric arithmetic on hand-computed rankings
** (several targets, none found, rank 10 against 11); target names matched
** by qualified-name suffix; a whole run over a small generated repository
** whose keyword ranks follow from the words each entity holds, with a line
** target resolved to the innermost entity, a repository of another split
** skipped, and the index kept outside the tree; and bad query files whose
** errors name the line and the field.
*/
#include <dirent.h>
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

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

/* ==== Metrics ==== */

static sc_query_scores one(const uint32_t *ranks, size_t n) {
    repo_qscore_acc a = {0};
    repo_qscore_add(&a, ranks, n);
    assert_int_equal(a.n, 1);
    return repo_qscore_get(&a);
}

static void test_metrics(void **state) {
    (void)state;
    repo_qscore_acc z = {0};
    sc_query_scores s = repo_qscore_get(&z);
    assert_true(s.hit_1 == 0 && s.hit_10 == 0 && s.mrr_10 == 0 && s.ndcg_10 == 0);
    /* one target at 3: DCG 1/log2(4) = 0.5, ideal 1 */
    s = one((const uint32_t[]){3}, 1);
    assert_true(s.hit_1 == 0 && s.hit_10 == 1 && NEAR(s.mrr_10, 1.0 / 3) && NEAR(s.ndcg_10, 0.5));
    /* two targets at 4 and 1: DCG 1 + 1/log2(5), ideal 1 + 1/log2(3) */
    s = one((const uint32_t[]){4, 1}, 2);
    assert_true(s.hit_1 == 1 && s.hit_10 == 1 && NEAR(s.mrr_10, 1.0));
    assert_true(NEAR(s.ndcg_10, (1 + 1 / log2(5.0)) / (1 + 1 / log2(3.0))));
    /* three targets, one found at 2: DCG 1/log2(3), ideal 1 + 1/log2(3) + 1/2 */
    s = one((const uint32_t[]){0, 2, 0}, 3);
    assert_true(s.hit_1 == 0 && s.hit_10 == 1 && NEAR(s.mrr_10, 0.5));
    assert_true(NEAR(s.ndcg_10, (1 / log2(3.0)) / (1 + 1 / log2(3.0) + 0.5)));
    /* none found */
    s = one((const uint32_t[]){0, 0}, 2);
    assert_true(s.hit_1 == 0 && s.hit_10 == 0 && s.mrr_10 == 0 && s.ndcg_10 == 0);
    /* rank 10 counts, 11 does not */
    s = one((const uint32_t[]){10}, 1);
    assert_true(s.hit_10 == 1 && NEAR(s.mrr_10, 0.1) && NEAR(s.ndcg_10, 1 / log2(11.0)));
    s = one((const uint32_t[]){11}, 1);
    assert_true(s.hit_1 == 0 && s.hit_10 == 0 && s.mrr_10 == 0 && s.ndcg_10 == 0);
    /* twelve targets at 1..12: the ideal DCG stops at 10 items, so NDCG 1 */
    uint32_t twelve[12];
    for (uint32_t i = 0; i < 12; i++) twelve[i] = 12 - i;
    s = one(twelve, 12);
    assert_true(s.hit_1 == 1 && NEAR(s.ndcg_10, 1.0));
    /* means over queries */
    repo_qscore_acc a = {0};
    repo_qscore_add(&a, (const uint32_t[]){1}, 1);
    repo_qscore_add(&a, (const uint32_t[]){5}, 1);
    repo_qscore_add(&a, (const uint32_t[]){0}, 1);
    repo_qscore_add(&a, (const uint32_t[]){11}, 1);
    s = repo_qscore_get(&a);
    assert_true(NEAR(s.hit_1, 0.25) && NEAR(s.hit_10, 0.5) && NEAR(s.mrr_10, (1 + 0.2) / 4));
    assert_true(NEAR(s.ndcg_10, (1 + 1 / log2(6.0)) / 4));
}

static void test_name_match(void **state) {
    (void)state;
    assert_true(repo_target_name_match("construct_mapping", "Loader.construct_mapping", "construct_mapping"));
    assert_true(repo_target_name_match("construct_mapping", "Loader.construct_mapping", "Loader.construct_mapping"));
    assert_true(repo_target_name_match("construct_mapping", "yaml.Loader.construct_mapping", "Loader.construct_mapping"));
    assert_true(repo_target_name_match("push", "Vec::push", "push"));
    assert_true(repo_target_name_match("x", "ns::Vec::push", "Vec::push"));
    assert_true(repo_target_name_match("x", "Array#each", "each"));
    assert_true(repo_target_name_match("x", "Array#each", "Array#each"));
    assert_false(repo_target_name_match("x", "Vec:push", "push"));       /* one colon is no separator */
    assert_false(repo_target_name_match("x", "Loader.xconstruct", "construct")); /* not a whole name */
    assert_false(repo_target_name_match("foobar", "foobar", "bar"));
    assert_false(repo_target_name_match("bar", "Foo.bar", "Foo"));       /* a prefix is not the entity */
    assert_false(repo_target_name_match("bar", "bar", ""));
    assert_false(repo_target_name_match(NULL, NULL, "bar"));
    assert_true(repo_target_name_match(NULL, "Foo.bar", "bar"));
}

/* ==== A whole run ==== */

static void write_file(const char *dir, const char *name, const char *text) {
    assert_int_equal(tu_write_file(dir, name, text), 0);
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static const sc_query_group *group(const sc_query_eval_result *r, sc_query_group_kind kind, const char *name) {
    for (size_t i = 0; i < r->n_groups; i++)
        if (r->groups[i].kind == kind && !strcmp(r->groups[i].name, name)) return &r->groups[i];
    fail_msg("no group %s", name);
    return NULL;
}

/* The tree: every query's words are held by the entities named below and
** by nothing else, so keyword search ranks them first (two entities of one
** query take ranks 1 and 2 in some order). */
static void make_tree(const char *repos) {
    char zoo[4200];
    snprintf(zoo, sizeof zoo, "%s/zoo", repos);
    assert_int_equal(mkdir(zoo, 0755), 0);
    write_file(zoo, "animals.py",
               "def zebra_stripe_count(image):\n"            /* 1 */
               "    total = 0\n"                               /* 2 */
               "    for row in image:\n"                       /* 3 */
               "        total += sum(row)\n"                   /* 4 */
               "    return total\n\n\n"                        /* 5-7 */
               "class Pangolin:\n"                             /* 8 */
               "    def armadillo_plates(self, n):\n"          /* 9 */
               "        k = n * 2\n"                           /* 10 */
               "        return k\n\n\n"                        /* 11-13 */
               "class Walrus:\n"                               /* 14 */
               "    def tusk_length(self, animal):\n"          /* 15 */
               "        size = animal.size\n"                  /* 16 */
               "        return size * 2\n");                   /* 17 */
    write_file(zoo, "util.py",
               "def narwhal_horn_polish(horn):\n    shine = horn + 1\n    return shine\n");
    write_file(zoo, "burrow.py",
               "def quokka_burrow_depth(soil):\n    depth = soil - 3\n    return depth\n");
}

static void test_run(void **state) {
    (void)state;
    char *dir = tu_tmpdir("evalq");
    char repos[4200], work[4200], qf[4200], tsv[4200], perq[4200];
    snprintf(repos, sizeof repos, "%s/repos", dir);
    snprintf(work, sizeof work, "%s/work", dir);
    snprintf(qf, sizeof qf, "%s/q.jsonl", dir);
    snprintf(tsv, sizeof tsv, "%s/repos.tsv", dir);
    snprintf(perq, sizeof perq, "%s/perq.jsonl", dir);
    assert_int_equal(mkdir(repos, 0755), 0);
    make_tree(repos);
    write_file(dir, "repos.tsv", "repo\tsplit\tlanguage\tsource\tsubdir\nzoo\tdev\tpython\tdeb:x\t/x\n"
                                 "elsewhere\ttest\tgo\tdeb:y\t/y\n");
    write_file(dir, "repos-a.tsv", "repo\tsplit\tlanguage\tsource\tsubdir\nzoo\tdev\tpython\tdeb:x\t/x\n");
    /* a line target inside a top-level function (found first); two targets found at 1 and 2; one of two
    ** targets found first; a line target inside a method, whose words are elsewhere; another split */
    write_file(dir, "q.jsonl",
               "{\"query\": \"zebra stripe count\", \"repo\": \"zoo\", \"category\": \"behaviour\", "
               "\"targets\": [{\"path\": \"animals.py\", \"line\": 3}]}\n"
               "\n"
               "{\"query\": \"armadillo plates\", \"repo\": \"zoo\", \"category\": \"symbol\", "
               "\"targets\": [{\"path\": \"animals.py\", \"name\": \"armadillo_plates\"}, "
               "{\"path\": \"animals.py\", \"name\": \"Pangolin\"}]}\n"
               "{\"query\": \"narwhal horn polish\", \"repo\": \"zoo\", \"category\": \"concept\", "
               "\"targets\": [{\"path\": \"util.py\", \"name\": \"narwhal_horn_polish\"}, "
               "{\"path\": \"burrow.py\", \"name\": \"quokka_burrow_depth\"}]}\n"
               "{\"query\": \"quokka burrow depth\", \"repo\": \"zoo\", \"category\": \"behaviour\", "
               "\"targets\": [{\"path\": \"animals.py\", \"line\": 16}]}\n"
               "{\"query\": \"never asked\", \"repo\": \"elsewhere\", \"category\": \"symbol\", "
               "\"targets\": [{\"path\": \"x.go\", \"name\": \"X\"}]}\n");
    const char *files[] = {qf};
    char tsv_a[4200];
    snprintf(tsv_a, sizeof tsv_a, "%s/repos-a.tsv", dir);
    const char *tsvs[] = {tsv, tsv_a}; /* the same line twice is one repository */
    sc_query_eval_options o = {.query_files = files, .n_query_files = 1, .repos_dir = repos, .tsv_files = tsvs,
                               .n_tsv_files = 2, .split = "dev", .work_dir = work, .n_threads = 1,
                               .per_query_path = perq};
    for (int run = 0; run < 2; run++) { /* the second run updates the kept index */
        sc_query_eval_result *r = NULL;
        char *msg = NULL;
        sc_status rc = sc_repo_eval_queries(&o, &r, &msg);
        if (rc != SC_OK) fail_msg("sc_repo_eval_queries: %s", msg ? msg : "?");
        assert_int_equal(r->queries, 4);
        assert_int_equal(r->queries_skipped, 1);
        assert_int_equal(r->targets, 6);
        assert_int_equal(r->repos, 1);
        assert_int_equal(r->entities, 7); /* 3 functions, 2 classes, 2 methods */
        assert_int_equal(r->modes, 7);
        /* all, 2 categories + concept, python, zoo */
        assert_int_equal(r->n_groups, 6);
        assert_int_equal(r->groups[0].kind, SC_QUERY_GROUP_ALL);
        const sc_query_group *all = &r->groups[0];
        assert_int_equal(all->queries, 4);
        double third = 1 / (1 + 1 / log2(3.0)); /* one of two targets found first */
        for (int lvl = 0; lvl < 2; lvl++) {
            const sc_query_scores *k = lvl ? &all->file[SC_SEARCH_MODE_KEYWORD] : &all->entity[SC_SEARCH_MODE_KEYWORD];
            assert_true(NEAR(k->hit_1, 0.75) && NEAR(k->hit_10, 0.75) && NEAR(k->mrr_10, 0.75));
            assert_true(NEAR(k->ndcg_10, (1 + 1 + third + 0) / 4));
        }
        for (int m = 0; m < 3; m++)
            assert_true(all->entity[m].mrr_10 >= 0 && all->entity[m].mrr_10 <= 1 && all->file[m].ndcg_10 <= 1);
        const sc_query_group *beh = group(r, SC_QUERY_GROUP_CATEGORY, "behaviour");
        assert_int_equal(beh->queries, 2);
        assert_true(NEAR(beh->entity[SC_SEARCH_MODE_KEYWORD].hit_1, 0.5));
        const sc_query_group *sym = group(r, SC_QUERY_GROUP_CATEGORY, "symbol");
        assert_true(NEAR(sym->entity[SC_SEARCH_MODE_KEYWORD].ndcg_10, 1.0));
        const sc_query_group *con = group(r, SC_QUERY_GROUP_CATEGORY, "concept");
        assert_true(NEAR(con->entity[SC_SEARCH_MODE_KEYWORD].ndcg_10, third));
        assert_true(NEAR(con->file[SC_SEARCH_MODE_KEYWORD].ndcg_10, third));
        assert_int_equal(group(r, SC_QUERY_GROUP_LANGUAGE, "python")->queries, 4); /* from the tsv */
        const sc_query_group *zoo = group(r, SC_QUERY_GROUP_REPO, "zoo");
        assert_true(zoo->queries == 4 && zoo->files == 3 && zoo->points == 7);
        assert_true(all->files == 0 && all->points == 0);
        char *json = sc_query_eval_json(r);
        assert_non_null(json);
        assert_non_null(strstr(json, "\"queries\":4"));
        assert_non_null(strstr(json, "\"kind\":\"category\",\"name\":\"concept\""));
        sc_free(json);
        sc_query_eval_result_free(r);
    }
    /* per query and mode: the line target inside a method is the method, not its class */
    const char *pq = read_all(perq);
    size_t lines = 0;
    for (const char *p = pq; (p = strchr(p, '\n')); p++) lines++;
    assert_int_equal(lines, 12);
    assert_non_null(strstr(pq, "\"resolved\":\"Walrus.tusk_length\",\"start_line\":15,\"end_line\":17"));
    assert_non_null(strstr(pq, "\"resolved\":\"zebra_stripe_count\",\"start_line\":1,\"end_line\":5"));
    /* the keyword ranks of the concept query: one target first, the other nowhere (also in the top 100) */
    assert_non_null(strstr(pq, "\"mode\":\"keyword\",\"targets\":[{\"path\":\"util.py\",\"name\":\"narwhal_horn_polish\"},"
                               "{\"path\":\"burrow.py\",\"name\":\"quokka_burrow_depth\"}],\"entity\":{\"hit_1\":1.0,"
                               "\"hit_10\":1.0,\"mrr_10\":1.0,\"ndcg_10\":0.613147,\"ranks\":[1,0],\"ranks_100\":[1,0]},"
                               "\"file\":{\"hit_1\":1.0,\"hit_10\":1.0,\"mrr_10\":1.0,\"ndcg_10\":0.613147,\"ranks\":[1,0]}"));
    /* the index lives in the work folder; the tree holds only its sources */
    char p[4400];
    snprintf(p, sizeof p, "%s/zoo/store/state.db", work);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    snprintf(p, sizeof p, "%s/zoo", repos);
    assert_int_equal(count_entries(p), 3);
    /* check only: every target found, nothing searched */
    o.check_only = true;
    o.per_query_path = NULL;
    sc_query_eval_result *chk = NULL;
    assert_int_equal(sc_repo_eval_queries(&o, &chk, NULL), SC_OK);
    assert_true(chk->queries == 4 && chk->targets == 6 && chk->modes == 0);
    assert_true(chk->groups[0].kind == SC_QUERY_GROUP_REPO && chk->groups[0].queries == 0 && chk->groups[0].files == 3);
    sc_query_eval_result_free(chk);
    o.check_only = false;
    /* a query of a repository the tsv does not list */
    o.split = NULL;
    o.per_query_path = NULL;
    write_file(dir, "q.jsonl", "{\"query\": \"x\", \"repo\": \"zoo\", \"category\": \"symbol\", \"targets\": "
                               "[{\"path\": \"util.py\", \"name\": \"narwhal_horn_polish\"}]}\n"
                               "{\"query\": \"x\", \"repo\": \"zooo\", \"category\": \"symbol\", \"targets\": "
                               "[{\"path\": \"util.py\", \"name\": \"narwhal_horn_polish\"}]}\n");
    sc_query_eval_result *r = NULL;
    char *msg = NULL;
    assert_int_equal(sc_repo_eval_queries(&o, &r, &msg), SC_NOTFOUND);
    assert_null(r);
    assert_non_null(strstr(msg, "q.jsonl:2: repository 'zooo' is not in the repos tsv"));
    sc_free(msg);
    /* a repository listed twice with different splits */
    write_file(dir, "repos-a.tsv", "repo\tsplit\tlanguage\nzoo\ttest\tpython\n");
    assert_int_equal(sc_repo_eval_queries(&o, &r, &msg), SC_INVALID);
    assert_non_null(strstr(msg, "repos-a.tsv:2: repository 'zoo' is listed again with another split or language"));
    sc_free(msg);
    /* without a tsv, every repository with a tree is asked (--split all) */
    o.n_tsv_files = 0;
    o.modes = 1u << SC_SEARCH_MODE_KEYWORD;
    assert_int_equal(sc_repo_eval_queries(&o, &r, &msg), SC_NOTFOUND);
    assert_non_null(strstr(msg, "q.jsonl:2: repository 'zooo' has no tree at"));
    sc_free(msg);
    tu_rmdir(dir);
}

/* ==== Bad query files ==== */

/* Run with a query file holding `line` as its 2nd line; the error must
** name the file's line 2 and hold `want`. */
static void expect_bad(const char *dir, const char *line, sc_status code, const char *want) {
    char qf[4200], repos[4200], text[2048];
    snprintf(qf, sizeof qf, "%s/bad.jsonl", dir);
    snprintf(repos, sizeof repos, "%s/repos", dir);
    snprintf(text, sizeof text,
             "{\"query\": \"zebra\", \"repo\": \"zoo\", \"category\": \"symbol\", \"targets\": "
             "[{\"path\": \"animals.py\", \"name\": \"zebra_stripe_count\"}]}\n%s\n",
             line);
    write_file(dir, "bad.jsonl", text);
    const char *files[] = {qf};
    sc_query_eval_options o = {.query_files = files, .n_query_files = 1, .repos_dir = repos, .n_threads = 1,
                               .modes = 1u << SC_SEARCH_MODE_KEYWORD};
    sc_query_eval_result *r = NULL;
    char *msg = NULL;
    sc_status rc = sc_repo_eval_queries(&o, &r, &msg);
    if (rc != code || !msg || !strstr(msg, "bad.jsonl:2: ") || !strstr(msg, want))
        fail_msg("%s\n  -> %s (%s), wanted '%s'", line, msg ? msg : "(no message)", sc_status_str(rc), want);
    assert_null(r);
    sc_free(msg);
}

static void test_bad_queries(void **state) {
    (void)state;
    char *dir = tu_tmpdir("evalqbad");
    char repos[4200];
    snprintf(repos, sizeof repos, "%s/repos", dir);
    assert_int_equal(mkdir(repos, 0755), 0);
    make_tree(repos);
    const char *T = "\"targets\": [{\"path\": \"animals.py\", \"name\": \"zebra_stripe_count\"}]";
    char l[1024];
    expect_bad(dir, "{\"query\": \"x\", \"repo\": \"zoo\"", SC_INVALID, "not JSON");
    expect_bad(dir, "[1, 2]", SC_INVALID, "must be a JSON object");
    snprintf(l, sizeof l, "{\"repo\": \"zoo\", \"category\": \"symbol\", %s}", T);
    expect_bad(dir, l, SC_INVALID, "field 'query' is missing");
    snprintf(l, sizeof l, "{\"query\": 3, \"repo\": \"zoo\", \"category\": \"symbol\", %s}", T);
    expect_bad(dir, l, SC_INVALID, "field 'query' must be a non-empty string");
    snprintf(l, sizeof l, "{\"query\": \"x\", \"repo\": \"../zoo\", \"category\": \"symbol\", %s}", T);
    expect_bad(dir, l, SC_INVALID, "field 'repo'");
    snprintf(l, sizeof l, "{\"query\": \"x\", \"repo\": \"zoo\", \"category\": \"feature\", %s}", T);
    expect_bad(dir, l, SC_INVALID, "field 'category' must be behaviour, concept or symbol");
    expect_bad(dir, "{\"query\": \"x\", \"repo\": \"zoo\", \"category\": \"symbol\"}", SC_INVALID,
               "field 'targets' is missing");
    expect_bad(dir, "{\"query\": \"x\", \"repo\": \"zoo\", \"category\": \"symbol\", \"targets\": []}", SC_INVALID,
               "field 'targets' must be a non-empty array");
    expect_bad(dir, "{\"query\": \"x\", \"repo\": \"zoo\", \"category\": \"symbol\", \"targets\": [{\"name\": \"f\"}]}",
               SC_INVALID, "field 'targets[0].path' is missing");
    expect_bad(dir,
               "{\"query\": \"x\", \"repo\": \"zoo\", \"category\": \"symbol\", \"targets\": "
               "[{\"path\": \"util.py\", \"name\": \"narwhal_horn_polish\"}, {\"path\": \"util.py\"}]}",
               SC_INVALID, "field 'targets[1]': give either 'name' or 'line'");
    expect_bad(dir,
               "{\"query\": \"x\", \"repo\": \"zoo\", \"category\": \"symbol\", \"targets\": "
               "[{\"path\": \"util.py\", \"line\": 0}]}",
               SC_INVALID, "field 'targets[0].line' must be a line number");
    expect_bad(dir,
               "{\"query\": \"x\", \"repo\": \"zoo\", \"category\": \"symbol\", \"targets\": "
               "[{\"path\": \"/etc/passwd\", \"name\": \"x\"}]}",
               SC_INVALID, "field 'targets[0].path'");
    /* well-formed, but the target is not in the index */
    expect_bad(dir,
               "{\"query\": \"x\", \"repo\": \"zoo\", \"category\": \"symbol\", \"targets\": "
               "[{\"path\": \"util.py\", \"name\": \"narwhal_horn_polisher\"}]}",
               SC_NOTFOUND, "field 'targets[0].name': no entity named 'narwhal_horn_polisher' in util.py");
    expect_bad(dir,
               "{\"query\": \"x\", \"repo\": \"zoo\", \"category\": \"symbol\", \"targets\": "
               "[{\"path\": \"animals.py\", \"line\": 7}]}",
               SC_NOTFOUND, "field 'targets[0].line': no entity of animals.py covers line 7");
    expect_bad(dir,
               "{\"query\": \"x\", \"repo\": \"zoo\", \"category\": \"symbol\", \"targets\": "
               "[{\"path\": \"nothere.py\", \"name\": \"x\"}]}",
               SC_NOTFOUND, "field 'targets[0].path': nothere.py is not indexed");
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_name_match),
        cmocka_unit_test(test_run),
        cmocka_unit_test(test_bad_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
