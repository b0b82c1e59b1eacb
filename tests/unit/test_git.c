/*
** test_git: the git source (sc_git_ingest) on real repositories made in a
** temporary folder with the git command-line tool, through the product
** path: an index folder opened with sc_repo_open, its store and embedder
** (the built-in model). Ingest with the fields of every kind of change,
** incremental runs (only new commits read), an idempotent re-run, history
** rewritten by amend + reset (and garbage-collected), a vanished branch,
** merge commits and several branches, links from commits to the indexed
** entities their hunks touched (history, newest first), an interrupted run
** resumed, and bad input: not a repository, an unknown branch, a detached
** HEAD, an empty repository.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "semcode/semcode.h"
#include "testutil.h"

/* ==== Repositories ==== */

static int g_clock = 1700000000; /* commit dates, one minute apart */

/* Run a shell command in dir (fails the test when it fails). */
static void sh(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sh(const char *dir, const char *fmt, ...) {
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "cd '%s' && ", dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) fail_msg("command failed: %s", cmd);
}

/* A commit of everything in dir, by author, at the next minute. */
static void commit(const char *dir, const char *author, const char *msg) {
    g_clock += 60;
    sh(dir,
       "git add -A && GIT_AUTHOR_NAME='%s' GIT_AUTHOR_EMAIL='%s@example.org' GIT_AUTHOR_DATE='%d +0000' "
       "GIT_COMMITTER_DATE='%d +0000' git commit -q --allow-empty -m '%s'",
       author, author, g_clock, g_clock, msg);
}

static char *new_repo(void) {
    char *dir = tu_tmpdir("git");
    sh(dir, "git init -q -b main && git config user.name Tester && git config user.email t@example.org && "
            "git config gc.auto 0");
    return dir;
}

static char *head_sha(const char *dir, const char *rev) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && git rev-parse %s", dir, rev);
    FILE *p = popen(cmd, "r");
    char buf[64] = "";
    if (!p || !fgets(buf, sizeof buf, p)) fail_msg("rev-parse %s failed", rev);
    pclose(p);
    buf[strcspn(buf, "\n")] = '\0';
    return strdup(buf);
}

/* The calculator of the history tests: add at lines 1-2, sub at 5-6, mul (when with_mul) at 9-10. */
static void write_calc(const char *dir, const char *sub_body, bool with_mul) {
    char text[1024];
    snprintf(text, sizeof text, "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    %s\n%s", sub_body,
             with_mul ? "\n\ndef mul(a, b):\n    return a * b\n" : "");
    assert_int_equal(tu_write_file(dir, "calc.py", text), 0);
}

/* ==== The index and its records ==== */

typedef struct env {
    char *repo;        /* the repository (work tree) */
    char *store;       /* its index folder (outside the tree) */
    sc_repo *r;        /* the index */
    sc_records *rs;    /* its records */
} env;

static void env_open(env *e) {
    sc_repo_options o = sc_repo_options_default();
    o.store_dir = e->store;
    o.allow_rebuild = true;
    char *err = NULL;
    sc_status rc = sc_repo_open(e->repo, &o, &e->r, &err);
    if (rc != SC_OK) fail_msg("sc_repo_open: %s", err);
    sc_embedder *emb = NULL;
    assert_int_equal(sc_repo_embedder(e->r, &emb), SC_OK);
    sc_records_options ro = sc_records_options_default();
    ro.batch_size = 50;
    assert_int_equal(sc_records_open(sc_repo_db(e->r), emb, &ro, &e->rs, &err), SC_OK);
}

static void env_close(env *e) {
    sc_records_close(e->rs);
    sc_repo_close(e->r);
    e->rs = NULL;
    e->r = NULL;
}

static env *env_new(void) {
    env *e = calloc(1, sizeof *e);
    e->repo = new_repo();
    e->store = tu_tmpdir("gitstore");
    env_open(e);
    return e;
}

static void env_free(env *e) {
    env_close(e);
    tu_rmdir(e->repo);
    tu_rmdir(e->store);
    free(e);
}

/* Ingest with opt (NULL = defaults), expecting rc; the summary. */
static sc_git_summary ingest_rc(env *e, const sc_git_options *opt, sc_status want) {
    sc_git_summary s;
    sc_status rc = sc_git_ingest(e->rs, e->repo, opt, &s);
    if (rc != want) fail_msg("sc_git_ingest: %s (%s)", sc_status_str(rc), sc_records_errmsg(e->rs));
    return s;
}

static sc_git_summary ingest(env *e) { return ingest_rc(e, NULL, SC_OK); }

static uint64_t n_commits(env *e) {
    uint64_t n = 0;
    if (sc_points_count(sc_repo_db(e->r), sc_records_collection(e->rs),
                        "{\"must\":[{\"key\":\"kind\",\"match\":{\"value\":\"commit\"}}]}", &n) != SC_OK)
        return 0;
    return n;
}

/* The stored payload of commit sha (owned), or NULL. */
static json_t *stored(env *e, const char *sha) {
    char *text = tu_payload_by_id(sc_repo_db(e->r), sc_records_collection(e->rs), sha);
    json_t *p = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return p;
}

/* The file entry of path in a commit's payload. */
static json_t *file_of(json_t *p, const char *path) {
    json_t *files = json_object_get(p, "files");
    for (size_t i = 0; i < json_array_size(files); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(files, i), "path")), path))
            return json_array_get(files, i);
    return NULL;
}

/* ==== Tests ==== */

static void test_fields_incremental_idempotent(void **state) {
    (void)state;
    env *e = env_new();
    assert_int_equal(tu_write_file(e->repo, "a.txt", "one\ntwo\nthree\n"), 0);
    assert_int_equal(tu_write_file(e->repo, "old_name.txt", "stays the same\nacross the rename\nof this file\n"), 0);
    commit(e->repo, "alice", "Initial import");
    assert_int_equal(tu_write_file(e->repo, "a.txt", "one\n2\nthree\nfour\n"), 0);
    sh(e->repo, "git mv old_name.txt new_name.txt && printf '\\000\\001\\002' > blob.bin");
    commit(e->repo, "bob", "Rename, edit and add a binary\n\nThe body explains why.\nOn two lines.");
    sc_git_summary s = ingest(e);
    assert_int_equal(s.commits_walked, 2);
    assert_int_equal(s.commits_written, 2);
    assert_int_equal(s.branches, 1);
    assert_false(s.linked); /* nothing indexed: no links */
    assert_int_equal(strncmp(s.source, "git:semcode-git-", 16), 0); /* git: + the work tree's folder */
    assert_int_equal(n_commits(e), 2);

    char *sha = head_sha(e->repo, "HEAD"), *parent = head_sha(e->repo, "HEAD~1");
    json_t *p = stored(e, sha);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "subject")), "Rename, edit and add a binary");
    assert_string_equal(json_string_value(json_object_get(p, "body")), "The body explains why.\nOn two lines.");
    assert_string_equal(json_string_value(json_object_get(p, "author")), "bob");
    assert_string_equal(json_string_value(json_object_get(p, "author_email")), "bob@example.org");
    assert_string_equal(json_string_value(json_object_get(p, "committer")), "Tester");
    assert_string_equal(json_string_value(json_object_get(p, "date")), "2023-11-14T22:15:20Z");
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(p, "links"), "parent"), 0)),
                        parent);
    assert_false(json_is_true(json_object_get(p, "merge")));
    assert_int_equal(json_integer_value(json_object_get(p, "files_changed")), 3);
    json_t *fa = file_of(p, "a.txt"), *fr = file_of(p, "new_name.txt"), *fb = file_of(p, "blob.bin");
    assert_string_equal(json_string_value(json_object_get(fa, "status")), "M");
    assert_int_equal(json_integer_value(json_object_get(fa, "added")), 2);
    assert_int_equal(json_integer_value(json_object_get(fa, "removed")), 1);
    assert_string_equal(json_string_value(json_object_get(fr, "status")), "R");
    assert_string_equal(json_string_value(json_object_get(fr, "old_path")), "old_name.txt");
    assert_string_equal(json_string_value(json_object_get(fb, "status")), "A");
    assert_true(json_is_true(json_object_get(fb, "binary")));
    assert_int_equal(json_integer_value(json_object_get(p, "insertions")), 2);
    assert_int_equal(json_integer_value(json_object_get(p, "deletions")), 1);
    json_decref(p);
    free(sha);
    free(parent);

    /* two more commits: only they are read */
    assert_int_equal(tu_write_file(e->repo, "a.txt", "one\n2\nthree\nfour\nfive\n"), 0);
    commit(e->repo, "alice", "Add five");
    commit(e->repo, "carol", "An empty commit");
    s = ingest(e);
    assert_int_equal(s.commits_walked, 2);
    assert_int_equal(s.commits_written, 2);
    assert_int_equal(n_commits(e), 4);
    /* nothing new: nothing read, nothing written (the cursor neither) */
    uint64_t batches = sc_records_get_stats(e->rs).batches;
    s = ingest(e);
    assert_int_equal(s.commits_walked, 0);
    assert_int_equal(s.commits_written, 0);
    assert_int_equal(sc_records_get_stats(e->rs).batches, batches);
    /* --full reads everything again and rewrites nothing */
    sc_git_options o = sc_git_options_default();
    o.full = true;
    s = ingest_rc(e, &o, SC_OK);
    assert_int_equal(s.commits_walked, 4);
    assert_int_equal(s.commits_written, 0);
    assert_int_equal(n_commits(e), 4);
    /* a reopened store knows where it was */
    env_close(e);
    env_open(e);
    s = ingest(e);
    assert_int_equal(s.commits_walked, 0);
    /* the search finds the commits */
    sc_rec_query q = {.text = "rename binary", .mode = SC_SEARCH_MODE_HYBRID, .limit = 1};
    sc_rec_hits *h = NULL;
    assert_int_equal(sc_records_search(e->rs, &q, &h), SC_OK);
    assert_int_equal(h->n, 1);
    assert_string_equal(h->items[0].title, "Rename, edit and add a binary");
    sc_rec_hits_free(h);
    env_free(e);
}

static void test_rewritten_history(void **state) {
    (void)state;
    env *e = env_new();
    for (int i = 0; i < 4; i++) {
        char name[32], msg[64];
        snprintf(name, sizeof name, "f%d.txt", i);
        snprintf(msg, sizeof msg, "Commit number %d", i);
        assert_int_equal(tu_write_file(e->repo, name, msg), 0);
        commit(e->repo, "alice", msg);
    }
    ingest(e);
    assert_int_equal(n_commits(e), 4);
    /* amend the last commit: a force-push of one rewritten commit */
    char *old = head_sha(e->repo, "HEAD");
    g_clock += 60;
    sh(e->repo, "GIT_COMMITTER_DATE='%d +0000' git commit -q --amend -m 'Commit number 3, reworded'", g_clock);
    sc_git_summary s = ingest(e);
    assert_int_equal(s.rewrites, 1);
    assert_int_equal(s.commits_removed, 1);
    assert_int_equal(s.commits_walked, 1);
    assert_int_equal(n_commits(e), 4);
    json_t *p = stored(e, old);
    assert_null(p);
    free(old);
    /* reset two commits away: they go, nothing is added */
    sh(e->repo, "git reset -q --hard HEAD~2");
    s = ingest(e);
    assert_int_equal(s.rewrites, 1);
    assert_int_equal(s.commits_removed, 2);
    assert_int_equal(s.commits_walked, 0);
    assert_int_equal(n_commits(e), 2);
    /* a new commit on the rewound branch, then the old tip garbage-collected before the next rewrite:
    ** the run reconciles by ids */
    commit(e->repo, "bob", "New work after the reset");
    ingest(e);
    assert_int_equal(n_commits(e), 3);
    sh(e->repo, "git reset -q --hard HEAD~1 && git reflog expire --expire=now --all && git gc -q --prune=now");
    commit(e->repo, "bob", "Other work instead");
    s = ingest(e);
    assert_int_equal(s.rewrites, 1);
    assert_int_equal(s.commits_removed, 1);
    assert_int_equal(s.commits_walked, 1); /* the two stored, still reachable commits are not read again */
    assert_int_equal(n_commits(e), 3);
    char *head = head_sha(e->repo, "HEAD");
    p = stored(e, head);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "subject")), "Other work instead");
    json_decref(p);
    free(head);
    env_free(e);
}

static void test_merges_and_branches(void **state) {
    (void)state;
    env *e = env_new();
    assert_int_equal(tu_write_file(e->repo, "base.txt", "base\n"), 0);
    commit(e->repo, "alice", "Base");
    sh(e->repo, "git checkout -q -b feature");
    assert_int_equal(tu_write_file(e->repo, "feature.txt", "f1\n"), 0);
    commit(e->repo, "bob", "Feature step one");
    assert_int_equal(tu_write_file(e->repo, "feature.txt", "f1\nf2\n"), 0);
    commit(e->repo, "bob", "Feature step two");
    sh(e->repo, "git checkout -q main");
    assert_int_equal(tu_write_file(e->repo, "main.txt", "m\n"), 0);
    commit(e->repo, "alice", "Main moves on");
    /* the feature branch alone first */
    const char *feature[] = {"feature"};
    sc_git_options o = sc_git_options_default();
    o.branches = feature;
    o.n_branches = 1;
    sc_git_summary s = ingest_rc(e, &o, SC_OK);
    assert_int_equal(s.commits_walked, 3);
    /* main (HEAD's branch): only its own commit is new */
    s = ingest(e);
    assert_int_equal(s.commits_walked, 1);
    g_clock += 60;
    sh(e->repo, "GIT_AUTHOR_DATE='%d +0000' GIT_COMMITTER_DATE='%d +0000' git merge -q --no-ff feature -m 'Merge feature'",
       g_clock, g_clock);
    s = ingest(e);
    assert_int_equal(s.commits_walked, 1);
    assert_int_equal(n_commits(e), 5);
    char *m = head_sha(e->repo, "HEAD");
    json_t *p = stored(e, m);
    assert_true(json_is_true(json_object_get(p, "merge")));
    assert_int_equal(json_integer_value(json_object_get(p, "n_parents")), 2);
    assert_int_equal(json_array_size(json_object_get(json_object_get(p, "links"), "parent")), 2);
    /* the diff is against the first parent: the feature's file */
    assert_non_null(file_of(p, "feature.txt"));
    assert_null(file_of(p, "main.txt"));
    json_decref(p);
    free(m);
    /* two branches at once; a branch deleted unmerged loses its own commits */
    sh(e->repo, "git checkout -q -b side && echo s > side.txt && git add side.txt && "
                "git -c user.name=dave commit -q -m 'Side work' && git checkout -q main");
    const char *both[] = {"main", "side"};
    o.branches = both;
    o.n_branches = 2;
    s = ingest_rc(e, &o, SC_OK);
    assert_int_equal(s.branches, 2);
    assert_int_equal(s.commits_walked, 1);
    assert_int_equal(n_commits(e), 6);
    sh(e->repo, "git branch -q -D side");
    s = ingest(e);
    assert_int_equal(s.commits_removed, 1);
    assert_int_equal(n_commits(e), 5);
    env_free(e);
}

static void test_links_and_history(void **state) {
    (void)state;
    env *e = env_new();
    write_calc(e->repo, "return a - b", false);
    commit(e->repo, "alice", "Add add and sub");
    write_calc(e->repo, "return a - b  # subtract", false);
    commit(e->repo, "bob", "Comment sub");
    write_calc(e->repo, "return a - b  # subtract", true);
    commit(e->repo, "carol", "Add mul");
    /* commits first, the index after: the next run links them all */
    sc_git_summary s = ingest(e);
    assert_false(s.linked);
    sc_repo_summary rsum;
    assert_int_equal(sc_repo_update(e->r, &rsum), SC_OK);
    sc_git_options o = sc_git_options_default();
    o.code_root = sc_repo_root(e->r);
    s = ingest_rc(e, &o, SC_OK);
    assert_true(s.linked);
    assert_int_equal(s.commits_walked, 3);
    assert_int_equal(s.links, 4); /* add+sub, sub, mul */

    const char *targets[][2] = {{"calc.py:6", "Comment sub|Add add and sub"}, {"mul", "Add mul"}, {"add", "Add add and sub"}};
    for (size_t t = 0; t < 3; t++) {
        sc_code_hits *eh = NULL;
        sc_point_id id;
        assert_int_equal(sc_repo_resolve(e->r, targets[t][0], &eh, &id), SC_OK);
        char idtext[32];
        snprintf(idtext, sizeof idtext, "%llu", (unsigned long long)id.num);
        const char *ids[1] = {idtext};
        sc_rec_hits *h = NULL;
        assert_int_equal(sc_records_linked(e->rs, "entity", ids, 1, NULL, &h), SC_OK);
        char got[256] = "";
        for (size_t i = 0; i < h->n; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "|" : "", h->items[i].title);
        if (strcmp(got, targets[t][1])) fail_msg("history of %s: '%s', expected '%s'", targets[t][0], got, targets[t][1]);
        sc_rec_hits_free(h);
        sc_code_hits_free(eh);
    }
    /* lines moved by a later commit: the old commits still belong to the same entity */
    assert_int_equal(tu_write_file(e->repo, "calc.py",
                                   "import os\n\n\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n"
                                   "    return a - b  # subtract\n\n\ndef mul(a, b):\n    return a * b\n"),
                     0);
    commit(e->repo, "dave", "Import os");
    assert_int_equal(sc_repo_update(e->r, &rsum), SC_OK);
    s = ingest_rc(e, &o, SC_OK);
    assert_int_equal(s.commits_walked, 1);
    sc_code_hits *eh = NULL;
    sc_point_id id;
    assert_int_equal(sc_repo_resolve(e->r, "calc.py:9", &eh, &id), SC_OK);
    assert_string_equal(eh->items[0].qualified_name, "sub");
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%llu", (unsigned long long)id.num);
    const char *ids[1] = {idtext};
    sc_rec_hits *h = NULL;
    assert_int_equal(sc_records_linked(e->rs, "entity", ids, 1, NULL, &h), SC_OK);
    assert_int_equal(h->n, 2); /* "Import os" added a line above sub, it did not touch it */
    sc_rec_hits_free(h);
    sc_code_hits_free(eh);
    env_free(e);
}

/* Stop the run from its progress callback once 256 commits are done. */
static volatile int g_cancel;
static void stop_at_256(void *arg, const sc_git_progress *p) {
    (void)arg;
    if (!strcmp(p->stage, "commits") && p->done >= 256) g_cancel = 1;
}

static void test_interrupted_run_resumes(void **state) {
    (void)state;
    env *e = env_new();
    /* 400 commits through fast-import, each adding one line */
    char path[512];
    snprintf(path, sizeof path, "%s/../stream-%d.fi", e->store, (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 400; i++) {
        char msg[64], data[64];
        int ml = snprintf(msg, sizeof msg, "Step %d of the long history", i);
        int dl = snprintf(data, sizeof data, "line %d\n", i);
        fprintf(f, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.org> %d +0000\ndata %d\n%s\n", i + 1,
                1600000000 + i, ml, msg);
        if (i) fprintf(f, "from :%d\n", i);
        fprintf(f, "M 100644 inline log%d.txt\ndata %d\n%s\n", i % 7, dl, data);
    }
    fclose(f);
    sh(e->repo, "git fast-import --quiet < '%s' && git reset -q --hard main", path);
    remove(path);
    sc_git_options o = sc_git_options_default();
    o.progress = stop_at_256;
    o.cancel = &g_cancel;
    sc_git_summary s = ingest_rc(e, &o, SC_INTERRUPTED);
    assert_true(s.commits_walked >= 256 && s.commits_walked < 400);
    uint64_t kept = n_commits(e);
    assert_int_equal(kept, s.commits_walked); /* what was read is stored, cursor with it */
    g_cancel = 0;
    s = ingest(e);
    assert_int_equal(s.commits_walked, 400 - kept);
    assert_int_equal(n_commits(e), 400);
    env_free(e);
}

static void test_bad_input(void **state) {
    (void)state;
    env *e = env_new();
    char *plain = tu_tmpdir("notgit");
    sc_git_summary s;
    assert_int_equal(sc_git_ingest(e->rs, plain, NULL, &s), SC_NOTFOUND);
    assert_non_null(strstr(sc_records_errmsg(e->rs), "is not in a git repository"));
    /* empty repository */
    assert_int_equal(sc_git_ingest(e->rs, e->repo, NULL, &s), SC_INVALID);
    assert_non_null(strstr(sc_records_errmsg(e->rs), "has no commits yet"));
    commit(e->repo, "alice", "First");
    sh(e->repo, "git branch -q dev");
    const char *bad[] = {"nope"};
    sc_git_options o = sc_git_options_default();
    o.branches = bad;
    o.n_branches = 1;
    assert_int_equal(sc_git_ingest(e->rs, e->repo, &o, &s), SC_NOTFOUND);
    assert_non_null(strstr(sc_records_errmsg(e->rs), "no branch 'nope'"));
    assert_non_null(strstr(sc_records_errmsg(e->rs), "dev"));
    assert_non_null(strstr(sc_records_errmsg(e->rs), "main"));
    commit(e->repo, "alice", "Second");
    sh(e->repo, "git checkout -q --detach HEAD~1");
    assert_int_equal(sc_git_ingest(e->rs, e->repo, NULL, &s), SC_INVALID);
    assert_non_null(strstr(sc_records_errmsg(e->rs), "detached"));
    assert_int_equal(n_commits(e), 0);
    /* one source name for two unrelated repositories in one store: refused, nothing lost */
    sh(e->repo, "git checkout -q main");
    o = sc_git_options_default();
    o.source = "git:shop";
    ingest_rc(e, &o, SC_OK);
    assert_int_equal(n_commits(e), 2);
    char *other = new_repo();
    commit(other, "zoe", "Unrelated project");
    sc_git_summary s2;
    assert_int_equal(sc_git_ingest(e->rs, other, &o, &s2), SC_INVALID);
    assert_non_null(strstr(sc_records_errmsg(e->rs), "from another repository"));
    assert_non_null(strstr(sc_records_errmsg(e->rs), "--source"));
    assert_int_equal(n_commits(e), 2);
    /* a moved (here: cloned) repository keeps its commits and goes on */
    char *clone = tu_tmpdir("gitclone");
    sh(clone, "git clone -q '%s' repo", e->repo);
    char clone_repo[600];
    snprintf(clone_repo, sizeof clone_repo, "%s/repo", clone);
    assert_int_equal(sc_git_ingest(e->rs, clone_repo, &o, &s2), SC_OK);
    assert_int_equal(s2.commits_walked, 0);
    tu_rmdir(clone);
    tu_rmdir(other);
    tu_rmdir(plain);
    env_free(e);
}

int main(void) {
    if (system("git --version > /dev/null 2>&1") != 0) {
        fprintf(stderr, "test_git: the git command is needed to make the test repositories\n");
        return 1;
    }
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_incremental_idempotent), cmocka_unit_test(test_rewritten_history),
        cmocka_unit_test(test_merges_and_branches),           cmocka_unit_test(test_links_and_history),
        cmocka_unit_test(test_interrupted_run_resumes),       cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
