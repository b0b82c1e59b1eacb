/*
** Tests of switching an index to another embedding model (issue 19,
** src/repo/switch.c): real store files, the shipped built-in model (A) and
** a tiny model of another dimension trained here (B). A switch keeps the
** current generation serving (searches during it answer exactly as
** before, with model A), completes and swaps in one step, drops the old
** vectors (the stored vector bytes shrink), resumes after an interruption
** at the batch it reached, and can be cancelled; a search given the target
** model mid-switch is refused with what is going on. Between the groups of
** its backfill it lets the caller's other users in (sc_repo_set_yield).
*/
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "semcode/repo.h"
#include "semcode/store.h"
#include "testutil.h"
#include "util/util.h"

#define SW_FILES 80      /* files of the generated tree: three batches of the backfill */
#define SW_MODEL_A "models/builtin.scm"

/* A tree of SW_FILES Python files with two documented functions each, in
** dir/tree, and a tiny model of dimension 32 in dir/b.scm; paths in root
** and model_b. */
static void sw_setup(const char *dir, char *root, size_t root_size, char *model_b, size_t mb_size) {
    static const char *w[] = {"socket", "file", "buffer", "string", "parse", "render", "cache", "thread"};
    snprintf(root, root_size, "%s/tree", dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", root);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < SW_FILES; i++) {
        char name[64], text[1024];
        snprintf(name, sizeof name, "m%03d.py", i);
        snprintf(text, sizeof text,
                 "def open_%s_%d(path):\n    \"\"\"Open the %s named by path.\"\"\"\n    return path + %d\n\n\n"
                 "def close_%s_%d(handle):\n    \"\"\"Close a %s handle.\"\"\"\n    return handle - %d\n",
                 w[i % 8], i, w[i % 8], i, w[(i + 3) % 8], i, w[(i + 3) % 8], i);
        assert_int_equal(tu_write_file(root, name, text), 0);
    }
    snprintf(model_b, mb_size, "%s/b.scm", dir);
    char *msg = NULL;
    if (tu_train_tiny_model(dir, model_b, &msg) != SC_OK) fail_msg("training model B: %s", msg ? msg : "?");
}

/* Progress callback of a run that stops after `stop_after` batches of the switch. */
typedef struct sw_stop {
    volatile int cancel; /* the run's cancel flag */
    int batches;         /* "switch" reports seen */
    int stop_after;      /* 0 = never stop */
} sw_stop;

static void sw_progress(void *arg, const sc_repo_progress *p) {
    sw_stop *s = arg;
    if (strcmp(p->stage, "switch")) return;
    s->batches++;
    if (s->stop_after && s->batches >= s->stop_after) s->cancel = 1;
}

/* Open root: model NULL = the recorded one; for_index as `semcode index`. */
static sc_status sw_open(const char *root, const char *model, bool for_index, sw_stop *stop, sc_repo **out,
                         char *msg, size_t msg_size) {
    sc_repo_options ro = sc_repo_options_default();
    ro.model_path = model;
    ro.allow_rebuild = for_index;
    if (stop) {
        ro.cancel = &stop->cancel;
        ro.progress = sw_progress;
        ro.progress_arg = stop;
    }
    char *m = NULL;
    *out = NULL;
    sc_status rc = sc_repo_open(root, &ro, out, &m);
    if (msg) snprintf(msg, msg_size, "%s", m ? m : "");
    sc_free(m);
    return rc;
}

static sc_repo *sw_open_ok(const char *root, const char *model, bool for_index, sw_stop *stop) {
    sc_repo *r = NULL;
    char msg[1024];
    if (sw_open(root, model, for_index, stop, &r, msg, sizeof msg) != SC_OK) fail_msg("sc_repo_open: %s", msg);
    return r;
}

/* Dense results of a query as "name:score" lines (owned). */
static char *sw_dense(sc_repo *r, const char *text) {
    sc_code_query q = {.text = text, .mode = SC_SEARCH_MODE_DENSE, .limit = 8};
    sc_code_hits *h = NULL;
    if (sc_repo_search(r, &q, &h) != SC_OK) fail_msg("search: %s", sc_repo_errmsg(r));
    util_buf b = {0};
    for (size_t i = 0; i < h->n; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s:%.6f\n", h->items[i].name, (double)h->items[i].score);
        util_buf_append(&b, line, strlen(line));
    }
    sc_code_hits_free(h);
    return b.data ? b.data : strdup("");
}

/* stats JSON of r (owned json_t). */
static json_t *sw_stats(sc_repo *r) {
    char *s = NULL;
    assert_int_equal(sc_repo_stats_json(r, &s), SC_OK);
    json_t *o = json_loads(s, 0, NULL);
    sc_free(s);
    assert_non_null(o);
    return o;
}

/* Dense vector names of the collection "code" (comma-separated into out). */
static size_t sw_vectors(sc_repo *r, char *out, size_t out_size) {
    sc_collection_info ci;
    assert_int_equal(sc_collection_info_get(sc_repo_db(r), "code", &ci), SC_OK);
    out[0] = '\0';
    for (size_t i = 0; i < ci.n_vector_params; i++)
        snprintf(out + strlen(out), out_size - strlen(out), "%s%s/%u", i ? "," : "", ci.vectors[i].name,
                 ci.vectors[i].dim);
    size_t n = ci.n_vector_params;
    sc_collection_info_free(&ci);
    return n;
}

/* Bytes of stored vectors in the index's store database. */
static long long sw_vector_bytes(const char *root) {
    char p[1024];
    snprintf(p, sizeof p, "%s/.semcode/store/store.db", root);
    char *v = tu_sql_text(p, "SELECT sum(length(vectors)) FROM points");
    if (!v) fail_msg("cannot read %s", p);
    long long n = atoll(v);
    free(v);
    return n;
}

/* Bytes of the index's store database file (0 when absent); taken with
** the store closed, so its WAL is in it. */
static long long sw_file_bytes(const char *root) {
    char p[1024];
    struct stat sb;
    snprintf(p, sizeof p, "%s/.semcode/store/store.db", root);
    return stat(p, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* Index root with model A; *before receives a dense search's results (owned). */
static void sw_index_a(const char *root, char **before) {
    sc_repo *r = sw_open_ok(root, SW_MODEL_A, true, NULL);
    sc_repo_summary sum;
    if (sc_repo_update(r, &sum) != SC_OK) fail_msg("index: %s", sc_repo_errmsg(r));
    assert_int_equal(sum.entities_added, 2 * SW_FILES);
    assert_int_equal(sum.switch_pending, 0);
    *before = sw_dense(r, "open the socket named by a path");
    sc_repo_close(r);
}

/* The fixture of every test: a folder with the tree and model B, the tree
** indexed with model A, and a dense search's results then. */
typedef struct sw_fix {
    char *dir;      /* temporary folder (owned) */
    char root[512]; /* the tree */
    char mb[512];   /* model B */
    char *before;   /* results with model A (owned) */
} sw_fix;

static void sw_start(sw_fix *f) {
    f->dir = tu_tmpdir("switch");
    sw_setup(f->dir, f->root, sizeof f->root, f->mb, sizeof f->mb);
    sw_index_a(f->root, &f->before);
}

static void sw_end(sw_fix *f) {
    free(f->before);
    tu_rmdir(f->dir);
}

static void test_switch_completes_and_swaps(void **state) {
    (void)state;
    sw_fix f;
    sw_start(&f);
    const char *root = f.root, *mb = f.mb, *before = f.before;
    long long bytes_a = sw_vector_bytes(root), file_a = sw_file_bytes(root);

    sc_repo *r = sw_open_ok(root, mb, true, NULL);
    /* opened for the switch: A still serves, the target is recorded */
    json_t *st = sw_stats(r);
    json_t *sw = json_object_get(st, "switch");
    assert_non_null(sw);
    char id_a[300];
    snprintf(id_a, sizeof id_a, "%s", json_string_value(json_object_get(json_object_get(st, "model"), "id")));
    assert_string_equal(json_string_value(json_object_get(sw, "from")), id_a);
    assert_int_equal(json_integer_value(json_object_get(sw, "dim_to")), 32);
    assert_int_equal(json_integer_value(json_object_get(sw, "done")), 0);
    assert_int_equal(json_integer_value(json_object_get(sw, "total")), 2 * SW_FILES);
    char *during = sw_dense(r, "open the socket named by a path");
    assert_string_equal(during, before);
    free(during);
    json_decref(st);

    sc_repo_summary sum;
    if (sc_repo_update(r, &sum) != SC_OK) fail_msg("switch: %s", sc_repo_errmsg(r));
    assert_true(sum.switched);
    assert_int_equal(sum.switch_embedded, 2 * SW_FILES);
    assert_int_equal(sum.switch_pending, 0);
    assert_int_equal(sum.entities_added + sum.entities_updated + sum.entities_removed, 0);
    st = sw_stats(r);
    assert_null(json_object_get(st, "switch"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "model"), "dim")), 32);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "embeddings"), "wrong_dimension")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "embeddings"), "sampled")), 2 * SW_FILES);
    char id_b[300];
    snprintf(id_b, sizeof id_b, "%s", json_string_value(json_object_get(json_object_get(st, "model"), "id")));
    assert_string_not_equal(id_b, id_a);
    json_decref(st);
    /* one generation left, of dimension 32; every payload names model B */
    char names[512];
    assert_int_equal(sw_vectors(r, names, sizeof names), 1);
    assert_non_null(strstr(names, "/32"));
    char filter[512];
    snprintf(filter, sizeof filter, "{\"must\":[{\"key\":\"model\",\"match\":{\"value\":\"%s\"}}]}", id_b);
    uint64_t n_b = 0;
    assert_int_equal(sc_points_count(sc_repo_db(r), "code", filter, &n_b), SC_OK);
    assert_int_equal(n_b, 2 * SW_FILES);
    char *after = sw_dense(r, "open the socket named by a path");
    assert_true(strlen(after) > 0);
    free(after);
    /* a run after the switch finds nothing to do and embeds nothing */
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_false(sum.switched);
    assert_int_equal(sum.embeddings_new, 0);
    sc_repo_close(r);
    /* the old vectors are gone: 256 floats a point became 32, and the file gave their pages back (it held
    ** both generations during the switch) */
    long long bytes_b = sw_vector_bytes(root);
    assert_true(bytes_b * 4 < bytes_a);
    long long file_b = sw_file_bytes(root);
    if (file_b + (bytes_a - bytes_b) / 2 > file_a) fail_msg("store.db: %lld bytes with A, %lld with B", file_a, file_b);
    /* format 3 marks the later generation (an older semcode refuses it) */
    char p[1024];
    snprintf(p, sizeof p, "%s/.semcode/state.db", root);
    char *fmt = tu_sql_text(p, "SELECT value FROM meta WHERE key='index_format'");
    assert_string_equal(fmt, "3");
    free(fmt);

    /* a search open takes the recorded model B; model A is now refused */
    r = sw_open_ok(root, NULL, false, NULL);
    after = sw_dense(r, "close a buffer handle");
    assert_true(strlen(after) > 0);
    free(after);
    sc_repo_close(r);
    char msg[1024];
    assert_int_equal(sw_open(root, SW_MODEL_A, false, NULL, &r, msg, sizeof msg), SC_INVALID);
    assert_non_null(strstr(msg, "to switch the index"));
    /* switching back builds generation A again under its own name; format stays 3 */
    r = sw_open_ok(root, SW_MODEL_A, true, NULL);
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_true(sum.switched);
    assert_int_equal(sw_vectors(r, names, sizeof names), 1);
    assert_non_null(strstr(names, "code_"));
    assert_non_null(strstr(names, "/256"));
    char *back = sw_dense(r, "open the socket named by a path");
    assert_string_equal(back, before);
    free(back);
    sc_repo_close(r);
    sw_end(&f);
}

static void test_switch_interrupted_resumes(void **state) {
    (void)state;
    sw_fix f;
    sw_start(&f);
    const char *root = f.root, *mb = f.mb, *before = f.before;

    /* stop after the first batch (32 files of 80), as Ctrl-C or a kill would */
    sw_stop stop = {.stop_after = 1};
    sc_repo *r = sw_open_ok(root, mb, true, &stop);
    sc_repo_summary sum;
    assert_int_equal(sc_repo_update(r, &sum), SC_INTERRUPTED);
    assert_non_null(strstr(sc_repo_errmsg(r), "resume the switch"));
    assert_false(sum.switched);
    assert_int_equal(sum.switch_embedded, 2 * 32);
    assert_int_equal(sum.switch_pending, 2 * (SW_FILES - 32));
    /* mid-switch, searches answer from generation A only, as before */
    for (int i = 0; i < 3; i++) {
        char *during = sw_dense(r, "open the socket named by a path");
        assert_string_equal(during, before);
        free(during);
    }
    json_t *st = sw_stats(r);
    json_t *sw = json_object_get(st, "switch");
    assert_int_equal(json_integer_value(json_object_get(sw, "done")), 2 * 32);
    assert_int_equal(json_integer_value(json_object_get(sw, "total")), 2 * SW_FILES);
    json_decref(st);
    sc_repo_close(r);

    /* a search open mid-switch uses A; given model B it is refused with the reason */
    r = sw_open_ok(root, NULL, false, NULL);
    char *during = sw_dense(r, "open the socket named by a path");
    assert_string_equal(during, before);
    free(during);
    sc_repo_close(r);
    char msg[1024];
    assert_int_equal(sw_open(root, mb, false, NULL, &r, msg, sizeof msg), SC_INVALID);
    assert_non_null(strstr(msg, "is switching from"));

    /* a plain index run resumes: only the rest is embedded, then the swap */
    sw_stop count = {0};
    r = sw_open_ok(root, NULL, true, &count);
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_true(sum.switched);
    assert_int_equal(sum.switch_embedded, 2 * (SW_FILES - 32));
    assert_int_equal(count.batches, 2);
    char names[512];
    assert_int_equal(sw_vectors(r, names, sizeof names), 1);
    assert_non_null(strstr(names, "/32"));
    sc_repo_close(r);
    sw_end(&f);
}

static void test_switch_cancelled_and_edits(void **state) {
    (void)state;
    sw_fix f;
    sw_start(&f);
    const char *root = f.root, *mb = f.mb, *before = f.before;
    long long bytes_a = sw_vector_bytes(root);
    sw_stop stop = {.stop_after = 1};
    sc_repo *r = sw_open_ok(root, mb, true, &stop);
    sc_repo_summary sum;
    assert_int_equal(sc_repo_update(r, &sum), SC_INTERRUPTED);
    sc_repo_close(r);
    assert_true(sw_vector_bytes(root) > bytes_a);

    /* the current model given again cancels the switch and drops its vectors */
    r = sw_open_ok(root, SW_MODEL_A, true, NULL);
    char names[512];
    assert_int_equal(sw_vectors(r, names, sizeof names), 1);
    assert_string_equal(names, "code/256");
    json_t *st = sw_stats(r);
    assert_null(json_object_get(st, "switch"));
    json_decref(st);
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_int_equal(sum.embeddings_new, 0);
    char *now = sw_dense(r, "open the socket named by a path");
    assert_string_equal(now, before);
    free(now);
    sc_repo_close(r);
    assert_int_equal(sw_vector_bytes(root), bytes_a);

    /* a switch with an edit in between: the edited file gets both models' vectors */
    stop = (sw_stop){.stop_after = 1};
    r = sw_open_ok(root, mb, true, &stop);
    assert_int_equal(sc_repo_update(r, &sum), SC_INTERRUPTED);
    sc_repo_close(r);
    assert_int_equal(tu_write_file(root, "m000.py", "def renamed_socket_opener(path):\n    return path\n"), 0);
    assert_int_equal(tu_write_file(root, "m079.py", "def renamed_cache_closer(h):\n    return h\n"), 0);
    /* same entities, new bodies: the upsert drops the vectors of model B they had */
    assert_int_equal(tu_write_file(root, "m001.py",
                                   "def open_file_1(path):\n    \"\"\"Open it.\"\"\"\n    return [path]\n\n\n"
                                   "def close_parse_1(handle):\n    \"\"\"Close it.\"\"\"\n    return [handle]\n"),
                     0);
    r = sw_open_ok(root, NULL, true, NULL);
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_true(sum.switched);
    assert_int_equal(sum.entities_removed, 4);
    assert_int_equal(sum.entities_added, 2);
    assert_int_equal(sum.entities_updated, 2);
    /* m000 and m079 (one new entity each), m001 (two rewritten), m032..m078 */
    assert_int_equal(sum.switch_embedded, 1 + 2 + 2 * 47 + 1);
    st = sw_stats(r);
    assert_int_equal(json_integer_value(json_object_get(st, "entities")), 2 * SW_FILES - 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "embeddings"), "sampled")),
                     2 * SW_FILES - 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "model"), "dim")), 32);
    json_decref(st);
    sc_code_query q = {.text = "renamed socket opener", .mode = SC_SEARCH_MODE_DENSE, .limit = 3};
    sc_code_hits *h = NULL;
    assert_int_equal(sc_repo_search(r, &q, &h), SC_OK);
    assert_true(h->n > 0);
    sc_code_hits_free(h);
    sc_repo_close(r);
    sw_end(&f);
}

/* A crash after the swap's commit and before the old vectors were dropped:
** the next open (a search's too) finishes the reclaim. */
static void test_switch_reclaim_after_crash(void **state) {
    (void)state;
    sw_fix f;
    sw_start(&f);
    const char *root = f.root, *mb = f.mb;
    sc_repo *r = sw_open_ok(root, SW_MODEL_A, false, NULL);
    json_t *st = sw_stats(r);
    char id_a[300], id_b[300];
    snprintf(id_a, sizeof id_a, "%s", json_string_value(json_object_get(json_object_get(st, "model"), "id")));
    json_decref(st);
    sc_repo_close(r);
    r = sw_open_ok(root, mb, true, NULL);
    sc_repo_summary sum;
    assert_int_equal(sc_repo_update(r, &sum), SC_OK);
    assert_true(sum.switched);
    st = sw_stats(r);
    snprintf(id_b, sizeof id_b, "%s", json_string_value(json_object_get(json_object_get(st, "model"), "id")));
    json_decref(st);
    /* put back what the reclaim had not done yet: generation A's vector and the payloads' model A */
    sc_vector_params vp = {.name = "code", .dim = 256, .distance = SC_DISTANCE_COSINE};
    assert_int_equal(sc_collection_vector_create(sc_repo_db(r), "code", &vp), SC_OK);
    char filter[512], payload[400];
    snprintf(filter, sizeof filter, "{\"must\":[{\"key\":\"model\",\"match\":{\"value\":\"%s\"}}]}", id_b);
    snprintf(payload, sizeof payload, "{\"model\":\"%s\"}", id_a);
    sc_selector sel = {.filter_json = filter};
    assert_int_equal(sc_payload_set(sc_repo_db(r), "code", &sel, payload, NULL), SC_OK);
    sc_repo_close(r);
    char p[1024], sql[1024];
    snprintf(p, sizeof p, "%s/.semcode/state.db", root);
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO meta(key, value) VALUES('reclaim', '{\"vector\":\"code\",\"model_id\":\"%s\"}')",
             id_a);
    assert_int_equal(tu_sql_exec(p, sql), 0);

    r = sw_open_ok(root, NULL, false, NULL);
    char names[512];
    assert_int_equal(sw_vectors(r, names, sizeof names), 1);
    assert_non_null(strstr(names, "code_"));
    uint64_t n_b = 0;
    assert_int_equal(sc_points_count(sc_repo_db(r), "code", filter, &n_b), SC_OK);
    assert_int_equal(n_b, 2 * SW_FILES);
    char *after = sw_dense(r, "close a buffer handle");
    assert_true(strlen(after) > 0);
    free(after);
    sc_repo_close(r);
    char *left = tu_sql_text(p, "SELECT count(*) FROM meta WHERE key='reclaim'");
    assert_string_equal(left, "0");
    free(left);
    sw_end(&f);
}

/* The caller of an update with sc_repo_set_yield: its lock, and what a
** user that takes the lock while the switch yields finds. */
typedef struct sw_user {
    pthread_mutex_t mu; /* the caller's lock around the repository */
    sc_repo *r;         /* the repository */
    const char *before; /* dense results with model A */
    int yields;         /* times the lock was released */
    int locks;          /* times it was taken again */
    int busy;           /* updates meanwhile that answered SC_BUSY */
    int same;           /* searches meanwhile that answered as before the switch */
    int switching;      /* stats meanwhile that showed the switch going, model A current */
} sw_user;

/* Release the lock, and be another user of the repository while it is free
** (the test has one thread: what a waiting thread would do, done here). */
static void sw_user_unlock(void *arg) {
    sw_user *u = arg;
    u->yields++;
    assert_int_equal(pthread_mutex_unlock(&u->mu), 0);
    assert_int_equal(pthread_mutex_lock(&u->mu), 0); /* the lock is free: another user takes it */
    sc_repo_summary sum;
    sc_repo_set_yield(u->r, NULL, NULL, NULL); /* another caller's: ignored while the update runs */
    if (sc_repo_update(u->r, &sum) == SC_BUSY && strstr(sc_repo_errmsg(u->r), "an update of this index is running"))
        u->busy++;
    char *now = sw_dense(u->r, "open the socket named by a path");
    u->same += !strcmp(now, u->before);
    free(now);
    json_t *st = sw_stats(u->r);
    json_t *sw = json_object_get(st, "switch");
    u->switching += sw && json_integer_value(json_object_get(json_object_get(st, "model"), "dim")) != 32 &&
                    json_integer_value(json_object_get(sw, "done")) > 0;
    json_decref(st);
    assert_int_equal(pthread_mutex_unlock(&u->mu), 0);
}

static void sw_user_lock(void *arg) {
    sw_user *u = arg;
    u->locks++;
    assert_int_equal(pthread_mutex_lock(&u->mu), 0);
}

static void test_switch_yields_between_groups(void **state) {
    (void)state;
    sw_fix f;
    sw_start(&f);
    sw_user u = {.mu = PTHREAD_MUTEX_INITIALIZER, .before = f.before};
    u.r = sw_open_ok(f.root, f.mb, true, NULL);
    sc_repo_set_yield(u.r, sw_user_unlock, sw_user_lock, &u);
    assert_int_equal(pthread_mutex_lock(&u.mu), 0);
    sc_repo_summary sum;
    if (sc_repo_update(u.r, &sum) != SC_OK) fail_msg("switch: %s", sc_repo_errmsg(u.r));
    assert_int_equal(pthread_mutex_unlock(&u.mu), 0);
    assert_true(sum.switched);
    /* three groups: the lock was free twice (never after the last group, so the swap is under it), then
    ** once more while the store was compacted, after the swap: there the search used model B */
    assert_int_equal(u.yields, 3);
    assert_int_equal(u.locks, 3);
    assert_int_equal(u.busy, 3);
    assert_int_equal(u.same, 2);
    assert_int_equal(u.switching, 2);
    char *after = sw_dense(u.r, "open the socket named by a path");
    assert_string_not_equal(after, f.before);
    free(after);
    /* an update without a switch does not yield; no yield callback: none either */
    sc_repo_set_yield(u.r, NULL, NULL, NULL);
    if (sc_repo_update(u.r, &sum) != SC_OK) fail_msg("update: %s", sc_repo_errmsg(u.r));
    assert_int_equal(u.yields, 3);
    sc_repo_close(u.r);
    pthread_mutex_destroy(&u.mu);
    sw_end(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_switch_completes_and_swaps),
        cmocka_unit_test(test_switch_interrupted_resumes),
        cmocka_unit_test(test_switch_cancelled_and_edits),
        cmocka_unit_test(test_switch_reclaim_after_crash),
        cmocka_unit_test(test_switch_yields_between_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
