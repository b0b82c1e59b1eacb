/*
** Unit tests of the backfill jobs of the server (src/server/jobs*.c): the
** "jobs" config and its errors, provider routing, and jobs driven through
** server_handle over a real store and the shipped built-in model: submit,
** progress to done, tenant scoping, bad bodies naming the field, priority
** order with one worker, cancel, the job table surviving a reopen, and a
** job left "running" in jobs.db (a kill -9) resuming to done without
** losing or duplicating records, and a job whose remote provider is down
** skipping its batches and stopping failed after 5 in a row.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/server.h"
#include "testutil.h"

/* ==== Config and routing ==== */

/* Parse `{"jobs": <jobs_json>}` through the server config; the error message or "" on success. */
static const char *tj__cfg(const char *jobs_json, server_config *cfg, sc_err *err) {
    char text[2048];
    snprintf(text, sizeof text, "{\"jobs\": %s}", jobs_json);
    memset(err, 0, sizeof *err);
    return server_config_parse(text, cfg, err) == SC_OK ? "" : err->msg;
}

static void test_config(void **state) {
    (void)state;
    server_config cfg;
    sc_err err;
    assert_string_equal(tj__cfg("{}", &cfg, &err), "");
    assert_int_equal(cfg.jobs.workers, 1);
    assert_int_equal(cfg.jobs.batch_size, 256);
    assert_int_equal(cfg.jobs.priorities[SC_REC_KIND_ISSUE], 30);
    assert_int_equal(cfg.jobs.priorities[SC_REC_KIND_DOC], 10);
    assert_null(cfg.jobs.remote.base_url);
    server_config_free(&cfg);
    assert_string_equal(tj__cfg("{\"workers\": 2, \"priorities\": {\"doc\": 99}, \"price_per_1k_tokens\": {\"remote\": "
                                "0.02}, \"remote\": {\"base_url\": \"http://h/v1\", \"model\": \"m\", \"dim\": 8}}",
                                &cfg, &err),
                        "");
    assert_int_equal(cfg.jobs.workers, 2);
    assert_int_equal(cfg.jobs.priorities[SC_REC_KIND_DOC], 99);
    assert_true(cfg.jobs.price_remote > 0.0199 && cfg.jobs.price_remote < 0.0201);
    assert_string_equal(cfg.jobs.remote.model, "m");
    server_config_free(&cfg);
    static const struct { const char *json, *msg; } bad[] = {
        {"[]", "`jobs` must be an object"},
        {"{\"speed\": 1}", "unknown field `jobs.speed`"},
        {"{\"workers\": 0}", "`jobs.workers` must be an integer from 1 to 8"},
        {"{\"batch_size\": -1}", "`jobs.batch_size` must be an integer from 1 to 65536"},
        {"{\"priorities\": {\"ticket\": 1}}", "`jobs.priorities.ticket`: not a record kind"},
        {"{\"priorities\": {\"issue\": \"high\"}}", "`jobs.priorities.issue` must be an integer"},
        {"{\"price_per_1k_tokens\": {\"remote\": -1}}", "`jobs.price_per_1k_tokens.remote` must be a number"},
        {"{\"price_per_1k_tokens\": {\"gpu\": 1}}", "unknown field `jobs.price_per_1k_tokens.gpu`"},
        {"{\"remote\": {\"base_url\": \"http://h\", \"model\": \"m\"}}", "`jobs.remote` needs base_url, model and dim"},
        {"{\"remote\": {\"base_url\": \"h\", \"model\": \"m\", \"dim\": 3}}", "`jobs.remote.base_url` must start with http"},
        {"{\"remote\": {\"base_url\": \"http://h\", \"model\": 3, \"dim\": 3}}", "`jobs.remote.model` must be a non-empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *m = tj__cfg(bad[i].json, &cfg, &err);
        if (!strstr(m, bad[i].msg)) fprintf(stderr, "%s: got '%s', wanted '%s'\n", bad[i].json, m, bad[i].msg);
        assert_non_null(strstr(m, bad[i].msg));
    }
}

static void test_routing(void **state) {
    (void)state;
    server_jobs_config c = server_jobs_config_default();
    const char *why = NULL;
    c.balanced_threshold = 100;
    /* no remote model: everything is built-in */
    assert_false(server_jobs_route(SERVER_JOBS_PREF_FAST, 10, &c, &why));
    assert_false(server_jobs_route(SERVER_JOBS_PREF_QUALITY, 10, &c, &why));
    assert_non_null(strstr(why, "no remote model is configured"));
    assert_false(server_jobs_route(SERVER_JOBS_PREF_BALANCED, 10, &c, &why));
    /* with one: fast stays built-in, quality goes remote, balanced by size */
    c.remote.base_url = (char *)"http://h/v1";
    assert_false(server_jobs_route(SERVER_JOBS_PREF_FAST, 10, &c, &why));
    assert_true(server_jobs_route(SERVER_JOBS_PREF_QUALITY, 1000000, &c, &why));
    assert_true(server_jobs_route(SERVER_JOBS_PREF_BALANCED, 100, &c, &why));
    assert_non_null(strstr(why, "at most balanced_threshold"));
    assert_false(server_jobs_route(SERVER_JOBS_PREF_BALANCED, 101, &c, &why));
    assert_false(server_jobs_route(SERVER_JOBS_PREF_BALANCED, 0, &c, &why));
    assert_non_null(strstr(why, "not known"));
    assert_string_equal(server_jobs_pref_name(SERVER_JOBS_PREF_BALANCED), "balanced");
}

/* ==== Jobs through server_handle ==== */

typedef struct tj_env {
    char *dir;         /* store folder (jobs.db inside) */
    sc_db *db;         /* the store */
    sc_model *model;   /* the shipped built-in model */
    server_ctx *ctx;   /* the server */
    server_jobs *jobs; /* its jobs */
} tj_env;

static const char tj__keys[] = "\"api_keys\": [{\"key\": \"global-admin-0123456789\", \"role\": \"admin\"},"
                               "{\"key\": \"tenant-a-write-01234567\", \"role\": \"write\", \"tenant\": \"a\"},"
                               "{\"key\": \"tenant-b-write-01234567\", \"role\": \"write\", \"tenant\": \"b\"}]";
#define TJ_ADMIN "global-admin-0123456789"
#define TJ_A "tenant-a-write-01234567"
#define TJ_B "tenant-b-write-01234567"

/* Start the server on e->db with the keys and `extra` config members (", ..."). */
static void tj__start_with(tj_env *e, const char *extra) {
    char text[1024];
    snprintf(text, sizeof text, "{%s%s}", tj__keys, extra);
    server_config cfg = server_config_default();
    sc_err err = {0};
    assert_int_equal(server_config_parse(text, &cfg, &err), SC_OK);
    e->ctx = server_ctx_new(e->db, &cfg);
    assert_non_null(e->ctx);
    assert_int_equal(server_ctx_set_model(e->ctx, e->model, NULL), SC_OK);
    assert_int_equal(server_jobs_open(e->ctx, e->dir, &e->ctx->cfg.jobs, &e->jobs, &err), SC_OK);
    e->ctx->jobs = e->jobs;
}

static void tj__start(tj_env *e) { tj__start_with(e, ""); }

static void tj__stop(tj_env *e) {
    server_jobs_close(e->jobs);
    server_ctx_free(e->ctx);
    e->jobs = NULL;
    e->ctx = NULL;
}

static void tj__open(tj_env *e) {
    memset(e, 0, sizeof *e);
    e->dir = tu_tmpdir("jobs");
    sc_db_options o = sc_db_options_default();
    o.sync = SC_SYNC_MODE_NORMAL;
    char err[256];
    assert_int_equal(tu_db_open(e->dir, &o, &e->db, err, sizeof err), SC_OK);
    assert_int_equal(sc_model_load("models/builtin.scm", &e->model, NULL), SC_OK);
    tj__start(e);
}

static void tj__close(tj_env *e) {
    tj__stop(e);
    sc_model_free(e->model);
    sc_db_close(e->db);
    tu_rmdir(e->dir);
}

/* One request: its status, the parsed body in *out (owned, may be NULL). */
static int tj__call(tj_env *e, const char *method, const char *path, const char *body, const char *key, json_t **out) {
    server_request req = {.method = method, .path = path, .body = body, .body_size = body ? strlen(body) : 0,
                          .api_key = key};
    server_response resp;
    server_handle(e->ctx, &req, &resp);
    int st = resp.status;
    json_t *j = json_loads(resp.body.data ? resp.body.data : "", 0, NULL);
    if (out) *out = j;
    else json_decref(j);
    server_response_free(&resp);
    return st;
}

/* JSON Lines of n issues with ids p-0 ... */
static char *tj__lines(const char *p, int n) {
    size_t cap = (size_t)n * 200 + 1, len = 0;
    char *s = malloc(cap);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len,
                                "{\"id\": \"%s-%d\", \"title\": \"request %d times out in module %d\", \"state\": "
                                "\"open\"}\n",
                                p, i, i, i % 13);
    return s;
}

/* Submit a JSON Lines job with key; returns its id (asserts 200). */
static int64_t tj__submit(tj_env *e, const char *key, const char *name, int n, const char *opts) {
    char *data = tj__lines(name, n);
    json_t *body = json_pack("{s:{s:s, s:s, s:s, s:s}}", "source", "type", "jsonl", "data", data, "kind", "issue",
                             "source_name", name);
    json_object_set_new(body, "options", json_loads(opts ? opts : "{}", 0, NULL));
    char *text = json_dumps(body, JSON_COMPACT);
    json_t *res = NULL;
    int st = tj__call(e, "POST", "/jobs", text, key, &res);
    if (st != 200) fprintf(stderr, "submit: %d %s\n", st, json_dumps(res, 0));
    assert_int_equal(st, 200);
    int64_t id = json_integer_value(json_object_get(json_object_get(res, "result"), "id"));
    json_decref(res);
    json_decref(body);
    free(text);
    free(data);
    return id;
}

/* The status of job id (owned) as key sees it; NULL when 404. */
static json_t *tj__get(tj_env *e, const char *key, int64_t id) {
    char path[64];
    snprintf(path, sizeof path, "/jobs/%lld", (long long)id);
    json_t *res = NULL;
    int st = tj__call(e, "GET", path, NULL, key, &res);
    json_t *r = st == 200 ? json_incref(json_object_get(res, "result")) : NULL;
    json_decref(res);
    return r;
}

static const char *tj__state(const json_t *j) {
    return json_string_value(json_object_get(j, "state"));
}

/* Wait until job id leaves queued/running; its final status (owned). */
static json_t *tj__wait(tj_env *e, int64_t id) {
    for (int i = 0; i < 6000; i++) {
        json_t *j = tj__get(e, TJ_ADMIN, id);
        assert_non_null(j);
        if (strcmp(tj__state(j), "queued") && strcmp(tj__state(j), "running")) return j;
        json_decref(j);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("job %lld did not finish", (long long)id);
    return NULL;
}

static int64_t tj__int(const json_t *j, const char *k) {
    return json_integer_value(json_object_get(j, k));
}

static void test_submit_run_scope(void **state) {
    (void)state;
    tj_env e;
    tj__open(&e);
    int64_t id = tj__submit(&e, TJ_A, "first", 300, "{\"provider\": \"fast\", \"batch_size\": 50}");
    json_t *j = tj__wait(&e, id);
    assert_string_equal(tj__state(j), "done");
    assert_int_equal(tj__int(j, "total"), 300);
    assert_int_equal(tj__int(j, "succeeded"), 300);
    assert_int_equal(tj__int(j, "written"), 300);
    assert_int_equal(tj__int(j, "failed"), 0);
    assert_int_equal(tj__int(j, "batch"), 6);
    assert_int_equal(tj__int(j, "batches"), 6);
    assert_string_equal(json_string_value(json_object_get(j, "tenant")), "a");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "provider"), "in_use")), "builtin:"));
    assert_true(tj__int(json_object_get(j, "tokens"), "total") > 300);
    json_decref(j);
    /* the other tenant sees nothing of it */
    assert_null(tj__get(&e, TJ_B, id));
    json_t *list = NULL;
    assert_int_equal(tj__call(&e, "GET", "/jobs", NULL, TJ_B, &list), 200);
    assert_int_equal(json_array_size(json_object_get(json_object_get(list, "result"), "jobs")), 0);
    json_decref(list);
    assert_int_equal(tj__call(&e, "DELETE", "/jobs/1", NULL, TJ_B, NULL), 404);
    /* the same records again: all unchanged, nothing written twice */
    id = tj__submit(&e, TJ_A, "first", 300, "{\"provider\": \"fast\", \"batch_size\": 50}");
    j = tj__wait(&e, id);
    assert_int_equal(tj__int(j, "unchanged"), 300);
    assert_int_equal(tj__int(j, "written"), 0);
    json_decref(j);
    /* bad bodies: a 4xx naming the field */
    static const struct { const char *body; int status; const char *msg; } bad[] = {
        {"{}", 400, "`source` is required"},
        {"{\"source\": {\"type\": \"cvs\"}}", 422, "`source.type` must be git, github, jira or jsonl"},
        {"{\"source\": {\"type\": \"jsonl\", \"data\": \"\"}, \"options\": {\"provider\": \"x\"}}", 422,
         "`options.provider` must be fast, balanced or quality"},
        {"{\"source\": {\"type\": \"jsonl\", \"data\": \"\"}, \"options\": {\"batch_size\": 0}}", 422,
         "`options.batch_size` must be from 1 to 65536"},
        {"{\"source\": {\"type\": \"jsonl\", \"path\": \"/etc/hosts\"}}", 403, "`source.path` needs an admin key"},
        {"{\"source\": {\"type\": \"jsonl\", \"data\": \"\"}, \"tenant\": \"b\"}", 403, "may not start jobs of tenant `b`"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *res = NULL;
        int st = tj__call(&e, "POST", "/jobs", bad[i].body, TJ_A, &res);
        const char *m = json_string_value(json_object_get(json_object_get(res, "status"), "error"));
        if (st != bad[i].status || !m || !strstr(m, bad[i].msg))
            fprintf(stderr, "%s -> %d %s (wanted %d '%s')\n", bad[i].body, st, m ? m : "", bad[i].status, bad[i].msg);
        assert_int_equal(st, bad[i].status);
        assert_non_null(strstr(m, bad[i].msg));
        json_decref(res);
    }
    /* metrics carry the tokens per provider, tenant and job */
    server_request req = {.method = "GET", .path = "/metrics", .api_key = TJ_ADMIN};
    server_response resp;
    server_handle(e.ctx, &req, &resp);
    assert_int_equal(resp.status, 200);
    assert_non_null(strstr(resp.body.data, "semcode_job_tokens_total{provider=\"builtin:"));
    assert_non_null(strstr(resp.body.data, "tenant=\"a\",job=\"1\"}"));
    assert_non_null(strstr(resp.body.data, "semcode_jobs{state=\"done\"} 2"));
    server_response_free(&resp);
    tj__close(&e);
}

static void test_priority_cancel_persist(void **state) {
    (void)state;
    tj_env e;
    tj__open(&e);
    /* a long job of low priority keeps the one worker busy while the others queue */
    int64_t big = tj__submit(&e, TJ_A, "big", 4000, "{\"provider\": \"fast\", \"batch_size\": 32, \"priority\": -1}");
    for (int i = 0; i < 5000; i++) { /* wait until the worker runs it */
        json_t *j = tj__get(&e, TJ_A, big);
        bool running = !strcmp(tj__state(j), "running");
        json_decref(j);
        if (running) break;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int64_t low = tj__submit(&e, TJ_A, "low", 20, "{\"priority\": 1}");
    int64_t high = tj__submit(&e, TJ_A, "high", 20, "{\"priority\": 9}");
    int64_t mid = tj__submit(&e, TJ_A, "mid", 20, "{\"priority\": 5}");
    int64_t gone = tj__submit(&e, TJ_A, "gone", 20, "{\"priority\": 100}");
    json_t *res = NULL;
    assert_int_equal(tj__call(&e, "DELETE", "/jobs/5", NULL, TJ_A, &res), 200);
    assert_int_equal(gone, 5);
    assert_string_equal(tj__state(json_object_get(res, "result")), "cancelled");
    json_decref(res);
    /* cancel the running job: it stops after its batch */
    char path[64];
    snprintf(path, sizeof path, "/jobs/%lld", (long long)big);
    assert_int_equal(tj__call(&e, "DELETE", path, NULL, TJ_A, NULL), 200);
    json_t *jb = tj__wait(&e, big);
    assert_string_equal(tj__state(jb), "cancelled");
    assert_true(tj__int(jb, "succeeded") < 4000);
    json_decref(jb);
    json_t *jl = tj__wait(&e, low), *jh = tj__wait(&e, high), *jm = tj__wait(&e, mid);
    /* one worker, by priority: high, then mid, then low (start times to the millisecond) */
    assert_string_equal(tj__state(jh), "done");
    assert_true(strcmp(json_string_value(json_object_get(jh, "started")),
                       json_string_value(json_object_get(jm, "started"))) < 0);
    assert_true(strcmp(json_string_value(json_object_get(jm, "started")),
                       json_string_value(json_object_get(jl, "started"))) < 0);
    json_decref(jl);
    json_decref(jh);
    json_decref(jm);
    json_t *jg = tj__get(&e, TJ_A, gone);
    assert_true(json_is_null(json_object_get(jg, "started")));
    json_decref(jg);
    /* the table survives a restart */
    tj__stop(&e);
    tj__start(&e);
    json_t *again = tj__get(&e, TJ_A, high);
    assert_non_null(again);
    assert_string_equal(tj__state(again), "done");
    assert_int_equal(tj__int(again, "succeeded"), 20);
    json_decref(again);
    tj__close(&e);
}

static void test_resume_running(void **state) {
    (void)state;
    tj_env e;
    tj__open(&e);
    int64_t id = tj__submit(&e, TJ_A, "resume", 500, "{\"provider\": \"fast\", \"batch_size\": 50}");
    json_decref(tj__wait(&e, id));
    tj__stop(&e);
    /* as after a kill -9: the row says running (tests/e2e/jobs.test.mjs and bench/job_resume.sh kill mid-run) */
    char db[4200];
    snprintf(db, sizeof db, "%s/jobs.db", e.dir);
    assert_int_equal(tu_sql_exec(db, "UPDATE jobs SET state = 'running' WHERE id = 1"), 0);
    tj__start(&e);
    json_t *j = tj__wait(&e, id);
    assert_string_equal(tj__state(j), "done");
    assert_int_equal(tj__int(j, "attempts"), 2);
    assert_int_equal(tj__int(j, "succeeded"), 500);
    assert_int_equal(tj__int(j, "unchanged"), 500); /* nothing written twice */
    const json_t *errs = json_object_get(j, "last_errors");
    assert_non_null(strstr(json_string_value(json_array_get(errs, json_array_size(errs) - 1)), "resumes"));
    json_decref(j);
    json_t *res = NULL;
    assert_int_equal(tj__call(&e, "POST", "/collections/records/points/count",
                              "{\"exact\": true, \"filter\": {\"must\": [{\"key\": \"kind\", \"match\": {\"value\": "
                              "\"issue\"}}]}}",
                              TJ_A, &res),
                     200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "result"), "count")), 500);
    json_decref(res);
    tj__close(&e);
}

/* A loopback port nobody listens on (bound, read, closed). */
static int tj__dead_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_provider_down(void **state) {
    (void)state;
    tj_env e;
    tj__open(&e);
    tj__stop(&e);
    char extra[300];
    snprintf(extra, sizeof extra,
             ", \"jobs\": {\"retries\": 0, \"remote\": {\"base_url\": \"http://127.0.0.1:%d/v1\", \"model\": \"m\", "
             "\"dim\": 8}}",
             tj__dead_port());
    tj__start_with(&e, extra);
    /* 10 batches: each is skipped, the 5th in a row stops the job */
    int64_t id = tj__submit(&e, TJ_A, "down", 100, "{\"provider\": \"quality\", \"batch_size\": 10}");
    json_t *j = tj__wait(&e, id);
    assert_string_equal(tj__state(j), "failed");
    assert_int_equal(tj__int(j, "succeeded"), 0);
    assert_int_equal(tj__int(j, "failed"), 50);
    const char *err = json_string_value(json_object_get(j, "error"));
    assert_non_null(strstr(err, "5 batches in a row failed, the job stopped"));
    assert_non_null(strstr(err, "records not stored: issue:down-40 issue:down-41"));
    const json_t *errs = json_object_get(j, "last_errors");
    size_t skipped = 0;
    for (size_t i = 0; i < json_array_size(errs); i++)
        skipped += !strncmp(json_string_value(json_array_get(errs, i)), "batch skipped: ", 15);
    assert_true(skipped >= 4); /* with the final error, among the last 10 */
    json_decref(j);
    tj__close(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_submit_run_scope),
        cmocka_unit_test(test_priority_cancel_persist),
        cmocka_unit_test(test_resume_running),
        cmocka_unit_test(test_provider_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
