/*
** test_records: development records (include/semcode/records.h) on a real
** store with the built-in model. The record value and its checks; text
** templates (defaults, line dropping, slices, overrides, errors); the
** writer: idempotent upserts, unchanged records skipped, vectors reused when
** only the payload changed, texts cut on token boundaries and the cut
** stated in the payload, a batch whose embedding fails leaves the store and
** the cursor as they were (or, with on_failed, is skipped: counted,
** named, cursors held, later batches stored, a re-run retries it), deletions, tenants kept apart, a collection of
** another model refused; searches with filters and linked records newest
** first; the records of a store backend (records/store.c: every tenant in
** one collection, reads scoped by tenant), here over the embedded backend
** (the Qdrant one: tests/e2e/records_backend.test.mjs).
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
#include <jansson.h>

#include "backend/backend.h"
#include "records/records.h"
#include "semcode/records.h"
#include "semcode/semcode.h"
#include "testutil.h"

/* ==== Fixture: a store and an embedder over the built-in model, failing on command ==== */

typedef struct fx {
    char *dir;          /* temporary folder */
    sc_db *db;          /* store in dir/store */
    sc_model *model;    /* built-in model */
    sc_embedder *emb;   /* custom embedder over the model */
    int fail;           /* non-zero: embedding fails with SC_IOERR */
    size_t calls;       /* texts embedded */
} fx;

static sc_status fx__embed(void *state, sc_embed_role side, const char *const *texts, size_t n, float *out,
                           sc_embed_item *items) {
    (void)items;
    fx *f = state;
    if (f->fail) return SC_IOERR;
    f->calls += n;
    return sc_model_embed(f->model, side, texts, n, out);
}

static const sc_provider_vtable fx__vt = {fx__embed, NULL};

static fx *fx_new(const char *emb_id) {
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir("records");
    char p[512];
    snprintf(p, sizeof p, "%s/store", f->dir);
    assert_int_equal(sc_db_open(p, NULL, &f->db, NULL), SC_OK);
    assert_int_equal(sc_model_load("models/builtin.scm", &f->model, NULL), SC_OK);
    assert_int_equal(sc_embedder_new_custom(&fx__vt, f, emb_id, sc_model_hash(f->model), "semcode-builtin",
                                            sc_model_dim(f->model), &f->emb, NULL),
                     SC_OK);
    return f;
}

static void fx_free(fx *f) {
    sc_embedder_free(f->emb);
    sc_model_free(f->model);
    sc_db_close(f->db);
    tu_rmdir(f->dir);
    free(f);
}

static sc_records *open_rs(fx *f, const char *tenant, uint32_t batch) {
    sc_records_options o = sc_records_options_default();
    o.tenant = tenant;
    if (batch) o.batch_size = batch;
    sc_records *rs = NULL;
    char *err = NULL;
    sc_status rc = sc_records_open(f->db, f->emb, &o, &rs, &err);
    if (rc != SC_OK) fprintf(stderr, "open: %s\n", err);
    assert_int_equal(rc, SC_OK);
    assert_null(err);
    return rs;
}

/* A commit record as the git source makes one. */
static sc_rec *commit(const char *sha, const char *subject, const char *author, int64_t date) {
    sc_rec *r = NULL;
    assert_int_equal(sc_rec_new(SC_REC_KIND_COMMIT, "git:demo", sha, &r, NULL), SC_OK);
    assert_int_equal(sc_rec_set_str(r, "subject", subject), SC_OK);
    assert_int_equal(sc_rec_set_str(r, "author", author), SC_OK);
    char email[128];
    snprintf(email, sizeof email, "%s@example.org", author);
    assert_int_equal(sc_rec_set_str(r, "author_email", email), SC_OK);
    assert_int_equal(sc_rec_set_date(r, "date", date), SC_OK);
    assert_int_equal(sc_rec_add_keyword(r, "paths", "src/parser.c"), SC_OK);
    return r;
}

static uint64_t count(fx *f, const char *coll, const char *filter) {
    uint64_t n = 0;
    assert_int_equal(sc_points_count(f->db, coll, filter, &n), SC_OK);
    return n;
}

/* Payload of record id in rs's collection (owned JSON); fails the test when missing. */
static json_t *payload_of(fx *f, sc_records *rs, const char *id) {
    char *text = tu_payload_by_id(f->db, sc_records_collection(rs), id);
    assert_non_null(text);
    json_t *p = json_loads(text, 0, NULL);
    free(text);
    return p;
}

/* ==== The record value ==== */

static void test_record_checks(void **state) {
    (void)state;
    sc_rec *r = NULL;
    char *err = NULL;
    assert_int_equal(sc_rec_new(SC_REC_KIND_ISSUE, "", "1", &r, &err), SC_INVALID);
    assert_non_null(strstr(err, "source"));
    sc_free(err);
    assert_int_equal(sc_rec_new(SC_REC_KIND_ISSUE, "jira", "a\nb", &r, &err), SC_INVALID);
    assert_non_null(strstr(err, "control character"));
    sc_free(err);
    assert_int_equal(sc_rec_new((sc_rec_kind)42, "jira", "1", &r, &err), SC_INVALID);
    sc_free(err);
    assert_int_equal(sc_rec_new(SC_REC_KIND_ISSUE, "jira", "PROJ-1", &r, &err), SC_OK);
    assert_null(err);
    assert_int_equal(sc_rec_set_str(r, "kind", "x"), SC_INVALID);
    assert_non_null(strstr(sc_rec_errmsg(r), "reserved"));
    assert_int_equal(sc_rec_set_str(r, "Title", "x"), SC_INVALID);
    assert_non_null(strstr(sc_rec_errmsg(r), "'Title'"));
    assert_int_equal(sc_rec_set_num(r, "points", NAN), SC_INVALID);
    assert_int_equal(sc_rec_set_date_str(r, "created", "yesterday"), SC_INVALID);
    assert_non_null(strstr(sc_rec_errmsg(r), "'yesterday'"));
    assert_int_equal(sc_rec_set_date_str(r, "created", "2024-02-29T23:30:00+02:00"), SC_OK);
    assert_int_equal(sc_rec_set_json(r, "raw", "{\"a\": [1,"), SC_INVALID);
    assert_int_equal(sc_rec_add_link(r, "Parent", "x"), SC_INVALID);
    assert_int_equal(sc_rec_set_str(r, "title", "caf\xe9 cr\xe8me"), SC_OK); /* Latin-1: cleaned, not refused */
    assert_int_equal(sc_rec_kind_parse("pr", &(sc_rec_kind){0}), SC_OK);
    assert_int_equal(sc_rec_kind_parse("bug", &(sc_rec_kind){0}), SC_INVALID);
    sc_rec_free(r);
    sc_rec_free(NULL);
}

/* ==== Templates ==== */

static void test_templates(void **state) {
    (void)state;
    fx *f = fx_new("builtin-test");
    sc_records *rs = open_rs(f, NULL, 0);
    sc_rec *r = commit("abc123", "Fix the parser crash", "alice", 1700000000);
    assert_int_equal(sc_rec_set_str(r, "body", "The lexer read past the end.\n\nCloses #12."), SC_OK);
    assert_int_equal(sc_rec_add_keyword(r, "paths", "src/lexer.c"), SC_OK);
    assert_int_equal(sc_rec_set_bool(r, "merge", false), SC_OK);
    assert_int_equal(sc_rec_add_keyword(r, "dirs", "src"), SC_OK);
    char *c, *s, *m;
    assert_int_equal(sc_records_texts(rs, r, &c, &s, &m), SC_OK);
    assert_string_equal(c, "Fix the parser crash\nThe lexer read past the end.\n\nCloses #12.\nsrc/parser.c\nsrc/lexer.c");
    assert_string_equal(s, "Fix the parser crash");
    assert_string_equal(m, "commit\nauthor alice\nsrc"); /* false boolean: nothing */
    sc_free(c);
    sc_free(s);
    sc_free(m);
    sc_records_close(rs);

    /* overrides, slices, braces, lines of empty placeholders dropped */
    sc_records_options o = sc_records_options_default();
    o.templates_json = "{\"commit\": {\"content\": \"{{literal}} {subject}\\nlast: {paths|-1}\\nnone: {nothing}\\n"
                       "first: {paths|1}\", \"metadata\": \"by {author} ({merge})\"}}";
    char *err = NULL;
    assert_int_equal(sc_records_open(f->db, f->emb, &o, &rs, &err), SC_OK);
    assert_int_equal(sc_rec_set_bool(r, "merge", true), SC_OK);
    assert_int_equal(sc_records_texts(rs, r, &c, &s, &m), SC_OK);
    assert_string_equal(c, "{literal} Fix the parser crash\nlast: src/lexer.c\nfirst: src/parser.c");
    assert_string_equal(s, "Fix the parser crash"); /* not overridden: the default */
    assert_string_equal(m, "by alice (merge)");
    sc_free(c);
    sc_free(s);
    sc_free(m);
    sc_records_close(rs);

    const char *bad[][2] = {
        {"{\"commit\": {\"content\": \"x {subject\"}}", "templates.commit.content"},
        {"{\"commit\": {\"content\": \"{paths|0}\"}}", "count of items"},
        {"{\"commit\": {\"content\": \"{Subject}\"}}", "field name"},
        {"{\"bug\": {\"content\": \"x\"}}", "unknown record kind 'bug'"},
        {"{\"issue\": {\"body\": \"x\"}}", "unknown vector 'body'"},
        {"{\"issue\": {\"content\": 3}}", "templates.issue.content: expected a string"},
        {"[1]", "templates: expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        o.templates_json = bad[i][0];
        rs = NULL;
        assert_int_equal(sc_records_open(f->db, f->emb, &o, &rs, &err), SC_INVALID);
        assert_null(rs);
        if (!strstr(err, bad[i][1])) fail_msg("%s: got '%s'", bad[i][0], err);
        sc_free(err);
    }
    sc_rec_free(r);
    fx_free(f);
}

/* ==== Writing ==== */

static void test_idempotent_writes(void **state) {
    (void)state;
    fx *f = fx_new("builtin-test");
    sc_records *rs = open_rs(f, NULL, 2); /* batches of two: put() flushes on its own */
    const char *coll = sc_records_collection(rs);
    assert_string_equal(coll, "records");
    sc_rec *r[3] = {commit("c1", "Add a retry loop to the HTTP client", "alice", 1600000000),
                    commit("c2", "Fix the parser crash on empty input", "bob", 1650000000),
                    commit("c3", "Document the configuration file", "alice", 1700000000)};
    for (int i = 0; i < 3; i++) assert_int_equal(sc_records_put(rs, r[i]), SC_OK);
    assert_int_equal(count(f, coll, NULL), 3); /* two records + meta, the third is queued */
    assert_int_equal(sc_records_flush(rs), SC_OK);
    assert_int_equal(count(f, coll, "{\"must\":[{\"key\":\"kind\",\"match\":{\"value\":\"commit\"}}]}"), 3);
    sc_records_stats st = sc_records_get_stats(rs);
    assert_int_equal(st.written, 3);
    assert_int_equal(st.embedded, 9); /* three vectors each */
    size_t calls = f->calls;

    /* the same records again: nothing written, nothing embedded */
    for (int i = 0; i < 3; i++) assert_int_equal(sc_records_put(rs, r[i]), SC_OK);
    assert_int_equal(sc_records_flush(rs), SC_OK);
    st = sc_records_get_stats(rs);
    assert_int_equal(st.written, 3);
    assert_int_equal(st.unchanged, 3);
    assert_int_equal(f->calls, calls);

    /* a payload-only change (a link) keeps the vectors; a new subject is embedded again */
    assert_int_equal(sc_rec_add_link(r[0], "entity", "12345"), SC_OK);
    assert_int_equal(sc_rec_set_str(r[1], "subject", "Fix the lexer crash on empty input"), SC_OK);
    assert_int_equal(sc_records_put(rs, r[0]), SC_OK);
    assert_int_equal(sc_records_put(rs, r[1]), SC_OK);
    assert_int_equal(sc_records_flush(rs), SC_OK);
    st = sc_records_get_stats(rs);
    assert_int_equal(st.vectors_reused, 1);
    assert_int_equal(f->calls, calls + 3);
    assert_int_equal(count(f, coll, NULL), 4);
    json_t *p = payload_of(f, rs, "c1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(p, "links"), "entity"), 0)),
                        "12345");
    assert_string_equal(json_string_value(json_object_get(p, "date")), "2020-09-13T12:26:40Z");
    assert_string_equal(json_string_value(json_object_get(p, "source")), "git:demo");
    assert_string_equal(json_string_value(json_object_get(p, "tenant")), "");
    assert_true(json_is_array(json_object_get(p, "paths")));
    json_decref(p);

    /* the same id twice in one batch: the later one wins */
    sc_rec_set_str(r[2], "subject", "first");
    sc_records_put(rs, r[2]);
    sc_rec_set_str(r[2], "subject", "Document the configuration file format");
    sc_records_put(rs, r[2]);
    assert_int_equal(sc_records_flush(rs), SC_OK);
    p = payload_of(f, rs, "c3");
    assert_string_equal(json_string_value(json_object_get(p, "subject")), "Document the configuration file format");
    json_decref(p);

    /* deletions */
    assert_int_equal(sc_records_delete(rs, SC_REC_KIND_COMMIT, "git:demo", "c2"), SC_OK);
    assert_int_equal(sc_records_delete(rs, SC_REC_KIND_COMMIT, "git:demo", "missing"), SC_OK);
    assert_int_equal(sc_records_flush(rs), SC_OK);
    assert_int_equal(count(f, coll, NULL), 3);
    assert_int_equal(sc_records_get_stats(rs).deleted, 1);
    for (int i = 0; i < 3; i++) sc_rec_free(r[i]);
    sc_records_close(rs);
    fx_free(f);
}

/* on_failed: keep the last message. */
static void tr__on_failed(void *arg, const char *message) { snprintf(arg, 1024, "%s", message); }

static void test_failed_batch_skipped(void **state) {
    (void)state;
    fx *f = fx_new("builtin-test");
    char told[1024] = "";
    sc_records_options o = sc_records_options_default();
    o.batch_size = 2;
    o.on_failed = tr__on_failed;
    o.on_failed_arg = told;
    sc_records *rs = NULL;
    assert_int_equal(sc_records_open(f->db, f->emb, &o, &rs, NULL), SC_OK);
    static const char *const shas[6] = {"c1", "c2", "c3", "c4", "c5", "c6"};
    for (int i = 0; i < 6; i++) { /* batches {c1,c2} {c3,c4} {c5,c6}; the second one's provider fails */
        sc_rec *c = commit(shas[i], "A commit", "carol", 1600000000 + i);
        f->fail = i == 3;
        char cur[64];
        snprintf(cur, sizeof cur, "{\"branches\":{\"main\":\"%s\"}}", shas[i]);
        assert_int_equal(sc_records_set_cursor(rs, "git:demo", cur), SC_OK);
        assert_int_equal(sc_records_put(rs, c), SC_OK); /* the flush of a full batch goes on */
        sc_rec_free(c);
    }
    f->fail = 0;
    assert_int_equal(sc_records_flush(rs), SC_OK);
    sc_records_stats st = sc_records_get_stats(rs);
    assert_int_equal(st.failed, 2);
    assert_int_equal(st.written, 4);
    assert_non_null(strstr(told, "records not stored: commit:c3 commit:c4"));
    assert_int_equal(count(f, "records", "{\"must\":[{\"key\":\"kind\",\"match\":{\"value\":\"commit\"}}]}"), 4);
    /* the cursor stays at the last batch before the failure: a re-run starts there */
    char *cur = NULL;
    assert_int_equal(sc_records_get_cursor(rs, "git:demo", &cur), SC_OK);
    assert_string_equal(cur, "{\"branches\":{\"main\":\"c2\"}}");
    sc_free(cur);
    sc_records_close(rs);
    /* the re-run: the skipped records are embedded, the others read as unchanged */
    *told = '\0';
    assert_int_equal(sc_records_open(f->db, f->emb, &o, &rs, NULL), SC_OK);
    for (int i = 2; i < 6; i++) {
        sc_rec *c = commit(shas[i], "A commit", "carol", 1600000000 + i);
        assert_int_equal(sc_records_put(rs, c), SC_OK);
        sc_rec_free(c);
    }
    assert_int_equal(sc_records_set_cursor(rs, "git:demo", "{\"branches\":{\"main\":\"c6\"}}"), SC_OK);
    assert_int_equal(sc_records_flush(rs), SC_OK);
    st = sc_records_get_stats(rs);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.written, 2);
    assert_int_equal(st.unchanged, 2);
    assert_string_equal(told, "");
    assert_int_equal(count(f, "records", "{\"must\":[{\"key\":\"kind\",\"match\":{\"value\":\"commit\"}}]}"), 6);
    assert_int_equal(sc_records_get_cursor(rs, "git:demo", &cur), SC_OK);
    assert_string_equal(cur, "{\"branches\":{\"main\":\"c6\"}}");
    sc_free(cur);
    sc_records_close(rs);
    fx_free(f);
}

static void test_failed_batch_changes_nothing(void **state) {
    (void)state;
    fx *f = fx_new("builtin-test");
    sc_records *rs = open_rs(f, NULL, 0);
    sc_rec *a = commit("a1", "First commit", "alice", 1600000000);
    assert_int_equal(sc_records_put(rs, a), SC_OK);
    assert_int_equal(sc_records_set_cursor(rs, "git:demo", "{\"branches\":{\"main\":\"a1\"}}"), SC_OK);
    assert_int_equal(sc_records_flush(rs), SC_OK);
    uint64_t before = count(f, "records", NULL);

    sc_rec *b = commit("b2", "Second commit", "bob", 1600000100);
    assert_int_equal(sc_records_put(rs, b), SC_OK);
    assert_int_equal(sc_records_delete(rs, SC_REC_KIND_COMMIT, "git:demo", "zz"), SC_OK);
    assert_int_equal(sc_records_set_cursor(rs, "git:demo", "{\"branches\":{\"main\":\"b2\"}}"), SC_OK);
    f->fail = 1;
    assert_int_equal(sc_records_flush(rs), SC_IOERR);
    assert_non_null(strstr(sc_records_errmsg(rs), "was not stored"));
    f->fail = 0;
    assert_int_equal(count(f, "records", NULL), before);
    char *cur = NULL;
    assert_int_equal(sc_records_get_cursor(rs, "git:demo", &cur), SC_OK);
    assert_string_equal(cur, "{\"branches\":{\"main\":\"a1\"}}"); /* the cursor did not run ahead */
    sc_free(cur);
    /* the queue was dropped: a flush now writes nothing */
    assert_int_equal(sc_records_flush(rs), SC_OK);
    assert_int_equal(count(f, "records", NULL), before);
    assert_int_equal(sc_records_get_cursor(rs, "other", &cur), SC_OK);
    assert_null(cur);
    assert_int_equal(sc_records_set_cursor(rs, "git:demo", "[1]"), SC_INVALID);
    sc_rec_free(a);
    sc_rec_free(b);
    sc_records_close(rs);
    fx_free(f);
}

static void test_truncation(void **state) {
    (void)state;
    fx *f = fx_new("builtin-test");
    sc_records_options o = sc_records_options_default();
    o.max_tokens = 20;
    sc_records *rs = NULL;
    assert_int_equal(sc_records_open(f->db, f->emb, &o, &rs, NULL), SC_OK);
    sc_rec *r = commit("t1", "Rewrite the scheduler", "carol", 1600000000);
    char body[8192] = "";
    for (int i = 0; i < 200; i++) strcat(body, "word ");
    assert_int_equal(sc_rec_set_str(r, "body", body), SC_OK);
    char *huge = malloc(SC_REC_MAX_STRING + 100);
    memset(huge, 'x', SC_REC_MAX_STRING + 99);
    huge[SC_REC_MAX_STRING + 99] = '\0';
    assert_int_equal(sc_rec_set_str(r, "notes", huge), SC_OK);
    free(huge);
    char *c, *s, *m;
    assert_int_equal(sc_records_texts(rs, r, &c, &s, &m), SC_OK);
    assert_string_equal(c, "Rewrite the scheduler\nword word word word word word word word word word word word word "
                           "word word word word");
    sc_free(c);
    sc_free(s);
    sc_free(m);
    assert_int_equal(sc_records_put(rs, r), SC_OK);
    assert_int_equal(sc_records_flush(rs), SC_OK);
    json_t *p = payload_of(f, rs, "t1");
    json_t *t = json_object_get(p, "truncated");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(t, "content"), "tokens")), 206); /* subject 3, body 200, path 3 */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(t, "content"), "kept")), 20);
    assert_null(json_object_get(t, "summary"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "fields"), 0)), "notes");
    assert_int_equal(json_string_length(json_object_get(p, "notes")), SC_REC_MAX_STRING);
    json_decref(p);
    sc_rec_free(r);
    sc_records_close(rs);
    fx_free(f);
}

/* ==== Tenants and models ==== */

static void test_tenants_and_models(void **state) {
    (void)state;
    fx *f = fx_new("builtin-test");
    sc_records *a = open_rs(f, "acme", 0), *b = open_rs(f, "globex", 0);
    assert_string_equal(sc_records_collection(a), ".acme.records");
    sc_rec *r = commit("same-sha", "Shared history", "alice", 1600000000);
    assert_int_equal(sc_records_put(a, r), SC_OK);
    assert_int_equal(sc_records_flush(a), SC_OK);
    sc_rec_query q = {.text = "shared history", .mode = SC_SEARCH_MODE_KEYWORD};
    sc_rec_hits *h = NULL;
    assert_int_equal(sc_records_search(b, &q, &h), SC_OK);
    assert_int_equal(h->n, 0); /* globex sees nothing of acme */
    sc_rec_hits_free(h);
    assert_int_equal(sc_records_search(a, &q, &h), SC_OK);
    assert_int_equal(h->n, 1);
    sc_rec_hits_free(h);
    sc_records_close(a);
    sc_records_close(b);

    sc_records_options o = sc_records_options_default();
    char *err = NULL;
    o.tenant = "bad tenant";
    assert_int_equal(sc_records_open(f->db, f->emb, &o, &a, &err), SC_INVALID);
    assert_non_null(strstr(err, "'bad tenant'"));
    sc_free(err);

    /* another model (same dimension) on acme's records: refused, naming both */
    sc_embedder *other = NULL;
    assert_int_equal(sc_embedder_new_custom(&fx__vt, f, "other-model", 7, "x", sc_model_dim(f->model), &other, NULL),
                     SC_OK);
    o.tenant = "acme";
    assert_int_equal(sc_records_open(f->db, other, &o, &a, &err), SC_INVALID);
    assert_non_null(strstr(err, "builtin-test"));
    assert_non_null(strstr(err, "other-model"));
    sc_free(err);
    /* read-only handles need no embedder */
    assert_int_equal(sc_records_open(f->db, NULL, &o, &a, NULL), SC_OK);
    assert_int_equal(sc_records_put(a, r), SC_MISUSE);
    sc_records_close(a);
    sc_embedder_free(other);
    sc_rec_free(r);
    fx_free(f);
}

/* ==== Reading ==== */

static bool each_count(void *arg, const char *id) {
    (void)id;
    (*(size_t *)arg)++;
    return true;
}

static void test_search_and_linked(void **state) {
    (void)state;
    fx *f = fx_new("builtin-test");
    sc_records *rs = open_rs(f, NULL, 0);
    sc_rec *r[4] = {commit("s1", "Add exponential backoff to the HTTP retry loop", "alice", 1600000000),
                    commit("s2", "Fix crash in the JSON parser on empty arrays", "bob", 1650000000),
                    commit("s3", "Retry failed uploads with backoff", "alice", 1700000000),
                    commit("s4", "Update the README", "dave", 1710000000)};
    sc_rec_add_link(r[0], "entity", "111");
    sc_rec_add_link(r[2], "entity", "111");
    sc_rec_add_link(r[2], "entity", "222");
    sc_rec_add_link(r[1], "entity", "222");
    for (int i = 0; i < 4; i++) assert_int_equal(sc_records_put(rs, r[i]), SC_OK);
    assert_int_equal(sc_records_flush(rs), SC_OK);

    for (int mode = 0; mode < 3; mode++) {
        sc_rec_query q = {.text = "retry with backoff", .mode = (sc_search_mode)mode, .limit = 2};
        sc_rec_hits *h = NULL;
        assert_int_equal(sc_records_search(rs, &q, &h), SC_OK);
        assert_int_equal(h->n, 2);
        for (size_t i = 0; i < h->n; i++)
            assert_true(!strcmp(h->items[i].id, "s1") || !strcmp(h->items[i].id, "s3"));
        assert_int_equal(h->items[0].rank, 1);
        sc_rec_hits_free(h);
    }
    /* filters: author, since, until */
    sc_rec_query q = {.text = "retry backoff", .mode = SC_SEARCH_MODE_HYBRID, .author = "alice",
                      .since = "2021-01-01"};
    sc_rec_hits *h = NULL;
    assert_int_equal(sc_records_search(rs, &q, &h), SC_OK);
    assert_int_equal(h->n, 1);
    assert_string_equal(h->items[0].id, "s3");
    assert_string_equal(h->items[0].title, "Retry failed uploads with backoff");
    assert_string_equal(h->items[0].author, "alice");
    assert_string_equal(h->items[0].date, "2023-11-14T22:13:20Z");
    char *js = sc_rec_hits_json(h, "query", "retry backoff", "hybrid");
    json_t *o = json_loads(js, 0, NULL);
    json_t *x = json_array_get(json_object_get(o, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(x, "sha")), "s3");
    assert_string_equal(json_string_value(json_object_get(x, "subject")), "Retry failed uploads with backoff");
    assert_string_equal(json_string_value(json_object_get(o, "mode")), "hybrid");
    json_decref(o);
    sc_free(js);
    sc_rec_hits_free(h);
    q = (sc_rec_query){.text = "retry", .mode = SC_SEARCH_MODE_KEYWORD, .author = "@example.org", .until = "2020-09-13"};
    assert_int_equal(sc_records_search(rs, &q, &h), SC_OK);
    assert_int_equal(h->n, 1); /* an email matches too; until takes the whole day */
    assert_string_equal(h->items[0].id, "s1");
    sc_rec_hits_free(h);
    q.since = "last tuesday";
    assert_int_equal(sc_records_search(rs, &q, &h), SC_INVALID);
    assert_non_null(strstr(sc_records_errmsg(rs), "since: 'last tuesday'"));
    q = (sc_rec_query){.text = "", .mode = SC_SEARCH_MODE_KEYWORD};
    assert_int_equal(sc_records_search(rs, &q, &h), SC_INVALID);

    /* linked records, newest first */
    const char *t111[] = {"111"}, *tboth[] = {"111", "222"};
    assert_int_equal(sc_records_linked(rs, "entity", t111, 1, NULL, &h), SC_OK);
    assert_int_equal(h->n, 2);
    assert_string_equal(h->items[0].id, "s3");
    assert_string_equal(h->items[1].id, "s1");
    sc_rec_hits_free(h);
    sc_rec_query lq = {.limit = 2};
    assert_int_equal(sc_records_linked(rs, "entity", tboth, 2, &lq, &h), SC_OK);
    assert_int_equal(h->n, 2);
    assert_string_equal(h->items[0].id, "s3");
    assert_string_equal(h->items[1].id, "s2");
    sc_rec_hits_free(h);
    lq = (sc_rec_query){.author = "bob"};
    assert_int_equal(sc_records_linked(rs, "entity", tboth, 2, &lq, &h), SC_OK);
    assert_int_equal(h->n, 1);
    sc_rec_hits_free(h);

    /* every stored id of a source */
    size_t n_ids = 0;
    assert_int_equal(sc_records_each_id(rs, SC_REC_KIND_COMMIT, "git:demo", each_count, &n_ids), SC_OK);
    assert_int_equal(n_ids, 4);
    for (int i = 0; i < 4; i++) sc_rec_free(r[i]);
    sc_records_close(rs);
    fx_free(f);
}

/* The sections of search --in (CLI and /code/search share them) and the JSON of --in all. */
/* ==== Through a store backend ==== */


/* The records of tenant in f's store through an embedded backend of their own. */
static sc_records *open_be(fx *f, const char *tenant, sc_embedder *emb) {
    backend *be = NULL;
    assert_int_equal(backend_embedded_new(f->db, &be, NULL), SC_OK);
    sc_records_options o = sc_records_options_default();
    o.tenant = tenant;
    o.batch_size = 2;
    sc_records *rs = NULL;
    char *err = NULL;
    sc_status rc = records_open_backend(be, emb, &o, &rs, &err);
    if (rc != SC_OK) fprintf(stderr, "open: %s\n", err);
    assert_int_equal(rc, SC_OK);
    return rs;
}

static size_t n_hits(sc_records *rs, const char *text, sc_search_mode mode) {
    sc_rec_query q = {.text = text, .mode = mode};
    sc_rec_hits *h = NULL;
    assert_int_equal(sc_records_search(rs, &q, &h), SC_OK);
    size_t n = h->n;
    sc_rec_hits_free(h);
    return n;
}

static void test_backend_tenants_share_a_collection(void **state) {
    (void)state;
    fx *f = fx_new("builtin-test");
    sc_records *a = open_be(f, "acme", f->emb), *b = open_be(f, NULL, f->emb);
    assert_string_equal(sc_records_collection(a), "code_records");
    assert_string_equal(sc_records_collection(b), "code_records");
    sc_rec *r[3] = {commit("c1", "Add a retry loop to the HTTP client", "alice", 1600000000),
                    commit("c2", "Fix the parser crash on empty input", "bob", 1650000000),
                    commit("c3", "Document the configuration file", "alice", 1700000000)};
    assert_int_equal(sc_rec_add_link(r[1], "entity", "777"), SC_OK);
    for (int i = 0; i < 3; i++) assert_int_equal(sc_records_put(a, r[i]), SC_OK);
    assert_int_equal(sc_records_flush(a), SC_OK);
    assert_int_equal(sc_records_put(b, r[0]), SC_OK); /* the same commit, another tenant: another point */
    assert_int_equal(sc_records_set_cursor(b, "git:demo", "{\"tip\": \"c1\"}"), SC_OK);
    assert_int_equal(sc_records_flush(b), SC_OK);
    /* one collection, its payload indexes (tenant, dates) */
    assert_int_equal(count(f, "code_records", NULL), 3 + 1 + 1 + 2); /* acme: 3 + meta; global: 1 + meta + cursor */
    sc_collection_info ci;
    assert_int_equal(sc_collection_info_get(f->db, "code_records", &ci), SC_OK);
    int seen = 0;
    for (size_t i = 0; i < ci.n_field_indexes; i++) {
        if (!strcmp(ci.field_indexes[i].key, "tenant")) seen |= 1;
        if (!strcmp(ci.field_indexes[i].key, "date") && ci.field_indexes[i].type == SC_FIELD_TYPE_DATETIME) seen |= 2;
    }
    assert_int_equal(seen, 3);
    assert_int_equal(ci.n_vector_params, 3);
    sc_collection_info_free(&ci);
    /* every read sees its own tenant only */
    uint64_t n = 0;
    assert_int_equal(sc_records_count(a, NULL, &n), SC_OK);
    assert_int_equal(n, 4);
    assert_int_equal(sc_records_count(b, "{\"must\":[{\"key\":\"kind\",\"match\":{\"value\":\"commit\"}}]}", &n), SC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sc_records_count(b, "{not json", &n), SC_INVALID);
    assert_non_null(strstr(sc_records_errmsg(b), "not JSON"));
    assert_int_equal(n_hits(a, "crash", SC_SEARCH_MODE_KEYWORD), 1);
    assert_int_equal(n_hits(b, "crash", SC_SEARCH_MODE_KEYWORD), 0);
    assert_int_equal(n_hits(b, "retry loop", SC_SEARCH_MODE_HYBRID), 1);
    assert_int_equal(n_hits(a, "retry loop", SC_SEARCH_MODE_DENSE), 3);
    const char *targets[] = {"777"};
    sc_rec_hits *h = NULL;
    assert_int_equal(sc_records_history(a, targets, 1, NULL, &h), SC_OK);
    assert_int_equal(h->n, 1);
    assert_string_equal(h->items[0].id, "c2");
    sc_rec_hits_free(h);
    assert_int_equal(sc_records_history(b, targets, 1, NULL, &h), SC_OK);
    assert_int_equal(h->n, 0);
    sc_rec_hits_free(h);
    char *cur = NULL;
    assert_int_equal(sc_records_get_cursor(b, "git:demo", &cur), SC_OK);
    assert_string_equal(cur, "{\"tip\":\"c1\"}"); /* kept compact */
    sc_free(cur);
    assert_int_equal(sc_records_get_cursor(a, "git:demo", &cur), SC_OK);
    assert_null(cur);
    size_t ids = 0;
    assert_int_equal(sc_records_each_id(a, SC_REC_KIND_COMMIT, "git:demo", each_count, &ids), SC_OK);
    assert_int_equal(ids, 3);
    /* re-runs: unchanged skipped; a payload-only change keeps the stored vectors */
    size_t calls = f->calls;
    for (int i = 0; i < 3; i++) assert_int_equal(sc_records_put(a, r[i]), SC_OK);
    assert_int_equal(sc_records_flush(a), SC_OK);
    assert_int_equal(sc_records_get_stats(a).unchanged, 3);
    assert_int_equal(sc_rec_add_link(r[0], "entity", "888"), SC_OK);
    assert_int_equal(sc_records_put(a, r[0]), SC_OK);
    assert_int_equal(sc_records_flush(a), SC_OK);
    assert_int_equal(sc_records_get_stats(a).vectors_reused, 1);
    assert_int_equal(f->calls, calls);
    assert_int_equal(n_hits(a, "retry loop", SC_SEARCH_MODE_DENSE), 3); /* its vectors came along */
    /* deletions count what existed; the other tenant's copy stays */
    assert_int_equal(sc_records_delete(a, SC_REC_KIND_COMMIT, "git:demo", "c1"), SC_OK);
    assert_int_equal(sc_records_delete(a, SC_REC_KIND_COMMIT, "git:demo", "missing"), SC_OK);
    assert_int_equal(sc_records_flush(a), SC_OK);
    assert_int_equal(sc_records_get_stats(a).deleted, 1);
    assert_int_equal(n_hits(b, "retry", SC_SEARCH_MODE_KEYWORD), 1);
    sc_records_close(a);
    sc_records_close(b);
    /* reopened read only: the dimension from the collection */
    a = open_be(f, "acme", NULL);
    assert_int_equal(n_hits(a, "configuration", SC_SEARCH_MODE_KEYWORD), 1);
    sc_records_close(a);
    for (int i = 0; i < 3; i++) sc_rec_free(r[i]);
    fx_free(f);
}

static void test_sections(void **state) {
    (void)state;
    size_t n = 0;
    const char *const *names = sc_rec_sections(&n);
    assert_int_equal(n, 4);
    assert_string_equal(names[0], "commits");
    assert_string_equal(names[3], "docs");
    sc_rec_kind kinds[SC_REC_SECTION_MAX_KINDS];
    sc_rec_query q;
    memset(&q, 0, sizeof q);
    assert_int_equal(sc_rec_query_set_section(&q, "commits", kinds), SC_OK);
    assert_int_equal(q.n_kinds, 1);
    assert_int_equal(q.kinds[0], SC_REC_KIND_COMMIT);
    assert_null(q.filter_json);
    assert_int_equal(sc_rec_query_set_section(&q, "prs", kinds), SC_OK);
    assert_int_equal(q.n_kinds, 3);
    assert_non_null(strstr(q.filter_json, "\"on\""));
    assert_int_equal(sc_rec_query_set_section(&q, "issues", kinds), SC_OK);
    assert_int_equal(q.n_kinds, 2);
    assert_int_equal(q.kinds[1], SC_REC_KIND_COMMENT);
    /* an unknown name leaves q as it was */
    assert_int_equal(sc_rec_query_set_section(&q, "tickets", kinds), SC_INVALID);
    assert_int_equal(sc_rec_query_set_section(&q, NULL, kinds), SC_INVALID);
    assert_int_equal(q.n_kinds, 2);
    /* --in all: every section in order, code only when given */
    sc_rec_hits empty = {0};
    sc_rec_hits *hits[4] = {&empty, &empty, &empty, &empty};
    char *j = sc_rec_search_all_json("q", NULL, hits, "hybrid");
    assert_non_null(j);
    assert_null(strstr(j, "\"code\""));
    assert_non_null(strstr(j, "\"commits\":{\"query\":\"q\""));
    assert_true(strstr(j, "\"issues\"") < strstr(j, "\"prs\"") && strstr(j, "\"prs\"") < strstr(j, "\"docs\""));
    sc_free(j);
    j = sc_rec_search_all_json("q", "{\"query\":\"q\",\"results\":[]}", hits, "hybrid");
    assert_non_null(strstr(j, "\"code\":{\"query\":\"q\",\"results\":[]}"));
    sc_free(j);
    assert_null(sc_rec_search_all_json("q", "not json", hits, "hybrid"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_checks),        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_idempotent_writes),    cmocka_unit_test(test_failed_batch_changes_nothing),
        cmocka_unit_test(test_failed_batch_skipped),
        cmocka_unit_test(test_truncation),           cmocka_unit_test(test_tenants_and_models),
        cmocka_unit_test(test_search_and_linked),    cmocka_unit_test(test_sections),
        cmocka_unit_test(test_backend_tenants_share_a_collection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
