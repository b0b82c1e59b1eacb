/*
** Unit tests of watch mode and of several repositories: the debouncer on a
** clock of the test's own (coalescing, quiet time, maximum delay, lost
** events, too many paths), the merge of per-repository result lists, a
** workspace file, and a real watcher thread updating a real index while
** the test searches it from another thread under the watcher's lock
** (run under ThreadSanitizer by make check).
*/
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "semcode/semcode.h"
#include "testutil.h"
#include "watch/watch.h"

/* ==== Debouncer ==== */

static void test_debounce_quiet_and_coalesce(void **state) {
    (void)state;
    watch_debounce d;
    assert_int_equal(watch_debounce_init(&d, 200, 1000), SC_OK);
    assert_true(watch_debounce_due(&d, 0.0) < 0); /* nothing pending */
    watch_debounce_add(&d, "src/a.py", 10.0);
    watch_debounce_add(&d, "src/a.py", 10.05); /* an editor's write + close + attrib */
    watch_debounce_add(&d, "src/b.py", 10.1);
    watch_debounce_add(&d, "src/a.py", 10.1);
    assert_true(fabs(watch_debounce_due(&d, 10.1) - 0.2) < 1e-9); /* 200 ms after the last event */
    assert_true(watch_debounce_due(&d, 10.29) > 0);
    assert_true(watch_debounce_due(&d, 10.3) == 0);
    watch_batch b;
    watch_debounce_take(&d, &b);
    assert_int_equal(b.n_paths, 2);
    assert_string_equal(b.paths[0], "src/a.py");
    assert_string_equal(b.paths[1], "src/b.py");
    assert_int_equal(b.events, 4);
    assert_false(b.rescan);
    assert_false(b.overfull);
    assert_true(b.first == 10.0);
    watch_batch_free(&b);
    assert_true(watch_debounce_due(&d, 11.0) < 0); /* empty again */
    watch_debounce_add(&d, "src/a.py", 20.0);       /* the set was emptied too: a.py counts again */
    watch_debounce_take(&d, &b);
    assert_int_equal(b.n_paths, 1);
    watch_batch_free(&b);
    watch_debounce_free(&d);
}

/* Events that never stop (a build writing for minutes) still get updates. */
static void test_debounce_max_delay(void **state) {
    (void)state;
    watch_debounce d;
    assert_int_equal(watch_debounce_init(&d, 200, 1000), SC_OK);
    double t = 5.0;
    for (int i = 0; i < 9; i++, t += 0.1) {
        watch_debounce_add(&d, "gen/out.py", t);
        assert_true(watch_debounce_due(&d, t) > 0);
    }
    watch_debounce_add(&d, "gen/out.py", 6.0);
    assert_true(watch_debounce_due(&d, 6.0) == 0); /* first event at 5.0 + 1 s */
    watch_debounce_free(&d);
    /* max delay below the quiet time: the earlier wins */
    assert_int_equal(watch_debounce_init(&d, 500, 100), SC_OK);
    watch_debounce_add(&d, "x", 1.0);
    assert_true(fabs(watch_debounce_due(&d, 1.0) - 0.1) < 1e-9);
    watch_debounce_free(&d);
}

/* A lost queue and a branch switch's thousands of paths. */
static void test_debounce_rescan_and_overfull(void **state) {
    (void)state;
    watch_debounce d;
    assert_int_equal(watch_debounce_init(&d, 100, 1000), SC_OK);
    watch_debounce_add(&d, "a", 1.0);
    watch_debounce_rescan(&d, 1.05);
    watch_batch b;
    assert_true(watch_debounce_due(&d, 1.2) == 0);
    watch_debounce_take(&d, &b);
    assert_true(b.rescan);
    assert_int_equal(b.events, 2);
    watch_batch_free(&b);
    char path[64];
    for (int i = 0; i < WATCH_MAX_PATHS + 10; i++) {
        snprintf(path, sizeof path, "src/f%05d.py", i);
        watch_debounce_add(&d, path, 2.0 + i * 1e-6);
    }
    watch_debounce_take(&d, &b);
    assert_true(b.overfull);
    assert_false(b.rescan);
    assert_int_equal(b.n_paths, 0);
    assert_int_equal(b.events, WATCH_MAX_PATHS + 10);
    assert_true(b.first == 2.0);
    watch_batch_free(&b);
    watch_debounce_add(&d, NULL, 3.0); /* an event naming no path still makes a batch */
    watch_debounce_take(&d, &b);
    assert_int_equal(b.events, 1);
    assert_int_equal(b.n_paths, 0);
    watch_batch_free(&b);
    watch_debounce_free(&d);
}

/* ==== Merging results of several repositories ==== */

static sc_code_hits *mk_hits(const char *prefix, const float *scores, size_t n) {
    sc_code_hits *h = calloc(1, sizeof *h);
    h->items = calloc(n ? n : 1, sizeof *h->items);
    h->n = n;
    h->confidence = 0.5;
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "%s%zu.py", prefix, i);
        h->items[i].rank = (uint32_t)i + 1;
        h->items[i].score = scores[i];
        h->items[i].path = strdup(p);
    }
    return h;
}

static void test_merge(void **state) {
    (void)state;
    const float sa[] = {0.9f, 0.5f, 0.1f}, sb[] = {0.7f, 0.6f};
    const char *names[] = {"alpha", "beta"};
    for (int by_score = 1; by_score >= 0; by_score--) {
        sc_code_hits *lists[2] = {mk_hits("a", sa, 3), mk_hits("b", sb, 2)};
        lists[1]->confidence = 0.9;
        sc_code_hits *m = NULL;
        assert_int_equal(sc_code_hits_merge(lists, names, 2, by_score, 4, &m), SC_OK);
        assert_int_equal(m->n, 4);
        /* by score: a0 b0 b1 a1; by rank: a0 b0 a1 b1 */
        const char *want_s[] = {"a0.py", "b0.py", "b1.py", "a1.py"}, *want_r[] = {"a0.py", "b0.py", "a1.py", "b1.py"};
        for (size_t i = 0; i < 4; i++) {
            assert_string_equal(m->items[i].path, by_score ? want_s[i] : want_r[i]);
            assert_int_equal(m->items[i].rank, i + 1);
            assert_string_equal(m->items[i].repo, m->items[i].path[0] == 'a' ? "alpha" : "beta");
        }
        assert_true(m->confidence == 0.5); /* the first result's repository */
        sc_code_hits_free(m);
        sc_code_hits_free(lists[0]); /* emptied of what was taken, still owned */
        sc_code_hits_free(lists[1]);
    }
    /* A list missing (NULL) and a default limit. */
    sc_code_hits *lists[2] = {NULL, mk_hits("b", sb, 2)};
    sc_code_hits *m = NULL;
    assert_int_equal(sc_code_hits_merge(lists, names, 2, true, 0, &m), SC_OK);
    assert_int_equal(m->n, 2);
    assert_string_equal(m->items[0].repo, "beta");
    sc_code_hits_free(m);
    sc_code_hits_free(lists[1]);
}

/* ==== Workspace and watcher on real indexes ==== */

/* Write dir/name, making its folders first. */
static void write_file(const char *dir, const char *name, const char *text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    assert_int_equal(tu_write_file(dir, name, text), 0);
}

static void test_workspace_file(void **state) {
    (void)state;
    char *dir = tu_tmpdir("ws");
    char a[512], b[512], file[512];
    snprintf(a, sizeof a, "%s/one", dir);
    snprintf(b, sizeof b, "%s/two", dir);
    write_file(dir, "one/x.py", "def open_socket_connection(host):\n    return host\n");
    write_file(dir, "two/y.py", "def render_html_page(title):\n    return title\n");
    sc_repo_options ro = sc_repo_options_default();
    ro.model_path = "models/builtin.scm";
    for (int i = 0; i < 2; i++) { /* index both */
        sc_repo *r = NULL;
        assert_int_equal(sc_repo_open(i ? b : a, &ro, &r, NULL), SC_OK);
        assert_int_equal(sc_repo_update(r, NULL), SC_OK);
        sc_repo_close(r);
    }
    write_file(dir, "ws.txt", "# two repositories\n\nnet = one\n  two  \n");
    snprintf(file, sizeof file, "%s/ws.txt", dir);
    sc_workspace *ws = NULL;
    char *err = NULL;
    assert_int_equal(sc_workspace_open_file(file, &ro, &ws, &err), SC_OK);
    assert_int_equal(sc_workspace_count(ws), 2);
    assert_string_equal(sc_workspace_name(ws, 0), "net");
    assert_string_equal(sc_workspace_name(ws, 1), "two");
    sc_code_query q = {.text = "render html page", .mode = SC_SEARCH_MODE_KEYWORD, .limit = 5};
    sc_code_hits *h = NULL;
    assert_int_equal(sc_workspace_search(ws, NULL, 0, &q, &h, &err), SC_OK);
    assert_true(h->n >= 1);
    assert_string_equal(h->items[0].repo, "two");
    assert_string_equal(h->items[0].name, "render_html_page");
    sc_code_hits_free(h);
    /* hybrid: the union of both repositories' candidates, ranked by one call of the ranking stage */
    sc_code_query hq = {.text = "render html page", .mode = SC_SEARCH_MODE_HYBRID, .limit = 5, .explain = true};
    assert_int_equal(sc_workspace_search(ws, NULL, 0, &hq, &h, &err), SC_OK);
    assert_true(h->n == 2); /* one entity each */
    assert_string_equal(h->items[0].repo, "two");
    assert_string_equal(h->items[0].name, "render_html_page");
    assert_string_equal(h->items[1].repo, "net");
    assert_true(h->items[0].score > h->items[1].score);
    assert_false(isnan(h->confidence));
    for (size_t i = 0; i < h->n; i++) { /* the score is the features' weighted sum, in the union */
        assert_int_equal(h->items[i].n_features, sc_rank_n_features());
        double c[SC_RANK_MAX_FEATURES], sum = sc_rank_explain(h->items[i].features, c);
        for (uint32_t j = 0; j < h->items[i].n_features; j++) sum += c[j];
        assert_true(fabs(sum - (double)h->items[i].score) < 0.05 * (1 + fabs(sum)));
        assert_int_equal(h->items[i].rank, i + 1);
    }
    /* ranks of the union: one of them is second in the dense leg (alone, each would be first) */
    uint32_t jr = 0;
    while (jr < sc_rank_n_features() && strcmp(sc_rank_feature_name(jr), "dense_rrf")) jr++;
    assert_true(jr < sc_rank_n_features());
    assert_true(h->items[0].features[jr] != h->items[1].features[jr]);
    sc_code_hits_free(h);
    const char *only[] = {"net"};
    assert_int_equal(sc_workspace_search(ws, only, 1, &q, &h, &err), SC_OK);
    for (size_t i = 0; i < h->n; i++) assert_string_equal(h->items[i].repo, "net");
    sc_code_hits_free(h);
    const char *bad[] = {"nope"};
    assert_int_equal(sc_workspace_search(ws, bad, 1, &q, &h, &err), SC_NOTFOUND);
    assert_non_null(strstr(err, "'nope'"));
    assert_non_null(strstr(err, "net, two"));
    sc_free(err);
    sc_workspace_close(ws);
    /* Bad files name the line or the repository. */
    write_file(dir, "dup.txt", "one\none\n");
    snprintf(file, sizeof file, "%s/dup.txt", dir);
    assert_int_equal(sc_workspace_open_file(file, &ro, &ws, &err), SC_INVALID);
    assert_non_null(strstr(err, "two repositories are named 'one'"));
    sc_free(err);
    write_file(dir, "badname.txt", "no spaces = one\n");
    snprintf(file, sizeof file, "%s/badname.txt", dir);
    assert_int_equal(sc_workspace_open_file(file, &ro, &ws, &err), SC_INVALID);
    assert_non_null(strstr(err, "'no spaces'"));
    sc_free(err);
    write_file(dir, "empty.txt", "# nothing\n");
    snprintf(file, sizeof file, "%s/empty.txt", dir);
    assert_int_equal(sc_workspace_open_file(file, &ro, &ws, &err), SC_INVALID);
    assert_non_null(strstr(err, "lists no repository"));
    sc_free(err);
    tu_rmdir(dir);
}

/* What the watcher reported, read by the test thread. */
typedef struct watch_seen {
    pthread_mutex_t mu; /* guards the fields below and the repository */
    int updates;        /* reports received */
    int failures;       /* reports with a failed status */
    int rescans;        /* reports of a rescan */
    uint64_t removed;   /* entities removed over all updates */
} watch_seen;

static void seen_lock(void *arg) { pthread_mutex_lock(&((watch_seen *)arg)->mu); }
static void seen_unlock(void *arg) { pthread_mutex_unlock(&((watch_seen *)arg)->mu); }

static void seen_report(void *arg, const sc_watch_report *r) {
    watch_seen *s = arg;
    pthread_mutex_lock(&s->mu);
    s->updates++;
    if (r->status != SC_OK) s->failures++;
    s->removed += r->summary->entities_removed;
    if (r->rescan) s->rescans++;
    pthread_mutex_unlock(&s->mu);
}

/* Wait (up to 10 s) until a keyword search for query finds an entity named
** name (want) or none (!want); searches under the watcher's lock. */
static bool wait_for(sc_repo *r, watch_seen *s, const char *query, const char *name, bool want) {
    for (int i = 0; i < 200; i++) {
        sc_code_query q = {.text = query, .mode = SC_SEARCH_MODE_KEYWORD, .limit = 10};
        sc_code_hits *h = NULL;
        bool found = false;
        pthread_mutex_lock(&s->mu);
        if (sc_repo_search(r, &q, &h) == SC_OK)
            for (size_t k = 0; k < h->n; k++) found |= !strcmp(h->items[k].name, name);
        pthread_mutex_unlock(&s->mu);
        sc_code_hits_free(h);
        if (found == want) return true;
        usleep(50 * 1000);
    }
    return false;
}

/* Open the repository at dir (built-in model, one thread) and start a
** watcher on it that reports to *s and locks with s->mu (s is initialized
** here), waiting debounce_ms after the last event; fails the test when
** either step fails. Undone by watched_close. */
static sc_watch *watched_open(const char *dir, uint32_t debounce_ms, sc_repo **r, watch_seen *s) {
    sc_repo_options ro = sc_repo_options_default();
    ro.model_path = "models/builtin.scm";
    ro.n_threads = 1;
    *r = NULL;
    assert_int_equal(sc_repo_open(dir, &ro, r, NULL), SC_OK);
    *s = (watch_seen){.updates = 0};
    pthread_mutex_init(&s->mu, NULL);
    sc_watch_options wo = sc_watch_options_default();
    wo.debounce_ms = debounce_ms;
    wo.cpu_percent = 100;
    wo.lock = seen_lock;
    wo.unlock = seen_unlock;
    wo.lock_arg = s;
    wo.report = seen_report;
    wo.report_arg = s;
    sc_watch *w = NULL;
    char *err = NULL;
    sc_status rc = sc_watch_start(*r, &wo, &w, &err);
    if (rc != SC_OK) fail_msg("sc_watch_start: %s (%s)", sc_status_str(rc), err ? err : "no message");
    return w;
}

/* Stop the watcher, close the repository, and remove dir (freed). */
static void watched_close(sc_watch *w, sc_repo *r, watch_seen *s, char *dir) {
    sc_watch_stop(w);
    sc_repo_close(r);
    pthread_mutex_destroy(&s->mu);
    tu_rmdir(dir);
}

static void test_watcher_updates(void **state) {
    (void)state;
    char *dir = tu_tmpdir("watch");
    write_file(dir, ".gitignore", "build/\n");
    write_file(dir, "src/a.py", "def original_function_name():\n    return 1\n");
    sc_repo *r = NULL;
    watch_seen s;
    sc_watch *w = watched_open(dir, 50, &r, &s);
    assert_true(wait_for(r, &s, "original function name", "original_function_name", true)); /* the initial update */
    write_file(dir, "src/a.py", "def renamed_handler_thing():\n    return 2\n"); /* an edit */
    assert_true(wait_for(r, &s, "renamed handler thing", "renamed_handler_thing", true));
    assert_true(wait_for(r, &s, "original function name", "original_function_name", false));
    write_file(dir, "deep/new/dir/b.py", "def fresh_module_helper():\n    pass\n"); /* new directories */
    assert_true(wait_for(r, &s, "fresh module helper", "fresh_module_helper", true));
    char from[600], to[600];
    snprintf(from, sizeof from, "%s/deep", dir);
    snprintf(to, sizeof to, "%s/moved", dir);
    assert_int_equal(rename(from, to), 0); /* a directory moved: rescan */
    write_file(dir, "moved/new/dir/c.py", "def after_move_marker():\n    pass\n"); /* watched under its new path */
    assert_true(wait_for(r, &s, "after move marker", "after_move_marker", true));
    snprintf(from, sizeof from, "%s/src/a.py", dir);
    assert_int_equal(unlink(from), 0); /* a delete */
    assert_true(wait_for(r, &s, "renamed handler thing", "renamed_handler_thing", false));
    /* let the watcher settle: the delete's update may report after its result is searchable,
    ** and a rescan may follow the move; wait until no update is reported for 600 ms */
    int before = -1;
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&s.mu);
        int now = s.updates;
        pthread_mutex_unlock(&s.mu);
        if (now == before) break;
        before = now;
        usleep(600 * 1000);
    }
    write_file(dir, "build/gen.py", "def ignored_output():\n    pass\n"); /* ignored: no update */
    usleep(400 * 1000);
    pthread_mutex_lock(&s.mu);
    assert_int_equal(s.updates, before);
    assert_int_equal(s.failures, 0);
    assert_true(s.removed >= 2);
    pthread_mutex_unlock(&s.mu);
    watched_close(w, r, &s, dir);
}

/* A lost event queue: the test holds the repository's lock so that the
** watcher waits in an update while more events than the kernel queues
** (fs.inotify.max_queued_events, 16,384 by default) arrive; the watcher
** must see IN_Q_OVERFLOW, re-watch and update, and find the file written
** during the flood. */
static void test_watcher_overflow(void **state) {
    (void)state;
    FILE *mq = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
    long max_queued = 0;
    if (!mq || fscanf(mq, "%ld", &max_queued) != 1 || max_queued > 100000) {
        if (mq) fclose(mq);
        skip();
    }
    fclose(mq);
    char *dir = tu_tmpdir("overflow");
    write_file(dir, "a.py", "def first_entity_here():\n    pass\n");
    sc_repo *r = NULL;
    watch_seen s;
    sc_watch *w = watched_open(dir, 20, &r, &s);
    assert_true(wait_for(r, &s, "first entity here", "first_entity_here", true));
    pthread_mutex_lock(&s.mu);
    write_file(dir, "b.py", "def waiting_update():\n    pass\n");
    usleep(300 * 1000); /* the watcher is now waiting for the lock */
    char p[2][600];
    snprintf(p[0], sizeof p[0], "%s/x.txt", dir);
    snprintf(p[1], sizeof p[1], "%s/y.txt", dir);
    for (long i = 0; i < max_queued + 1000; i++) { /* alternate: the kernel merges only identical neighbours */
        FILE *f = fopen(p[i & 1], "a");
        assert_non_null(f);
        fputc('x', f);
        fclose(f);
    }
    write_file(dir, "c.py", "def written_during_flood():\n    pass\n");
    pthread_mutex_unlock(&s.mu);
    assert_true(wait_for(r, &s, "written during flood", "written_during_flood", true));
    bool rescanned = false;
    for (int i = 0; i < 100 && !rescanned; i++) {
        pthread_mutex_lock(&s.mu);
        rescanned = s.rescans > 0;
        pthread_mutex_unlock(&s.mu);
        if (!rescanned) usleep(50 * 1000);
    }
    assert_true(rescanned);
    watched_close(w, r, &s, dir);
}

static void test_watch_bad_options(void **state) {
    (void)state;
    char *dir = tu_tmpdir("watchopt");
    write_file(dir, "a.py", "def f():\n    pass\n");
    sc_repo_options ro = sc_repo_options_default();
    ro.model_path = "models/builtin.scm";
    sc_repo *r = NULL;
    assert_int_equal(sc_repo_open(dir, &ro, &r, NULL), SC_OK);
    sc_watch_options wo = sc_watch_options_default();
    wo.cpu_percent = 0;
    sc_watch *w = NULL;
    char *err = NULL;
    assert_int_equal(sc_watch_start(r, &wo, &w, &err), SC_INVALID);
    assert_non_null(strstr(err, "cpu_percent"));
    sc_free(err);
    assert_null(w);
    sc_watch_stop(NULL);
    sc_repo_close(r);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debounce_quiet_and_coalesce),
        cmocka_unit_test(test_debounce_max_delay),
        cmocka_unit_test(test_debounce_rescan_and_overfull),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_workspace_file),
        cmocka_unit_test(test_watcher_updates),
        cmocka_unit_test(test_watcher_overflow),
        cmocka_unit_test(test_watch_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
