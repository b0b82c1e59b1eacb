/*
** test_sources: the pieces of the tracker and file sources that can be
** checked without a server. The HTTP pieces of net/ (Link headers,
** Retry-After, what to do with an answer, basic authentication, escaping,
** masking a secret); Atlassian Document Format to text; JSON Lines into a
** real store with the built-in model (mappings, typed fields, positions of
** malformed lines, a line too long, idempotent re-runs, --full); the GitHub
** and Jira connectors on folders of saved answers (the fields of each kind,
** links, comments beyond the search, full-sync removal). The connectors
** against a live HTTP server (paging, rate limits, retries) are tested end
** to end in tests/e2e/trackers.test.mjs.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "net/net.h"
#include "records/source_int.h"
#include "semcode/records.h"
#include "semcode/semcode.h"
#include "testutil.h"

/* ==== net/ pieces ==== */

static void test_link_header(void **state) {
    (void)state;
    /* header value -> the next URL, or NULL when there is none */
    static const struct { const char *header, *next; } cases[] = {
        {"<https://api.github.com/repositories/1/issues?page=2>; rel=\"next\", "
         "<https://api.github.com/repositories/1/issues?page=5>; rel=\"last\"",
         "https://api.github.com/repositories/1/issues?page=2"},
        {"<http://x/a?page=1>; rel=\"prev\", <http://x/a?page=3>; rel=\"next\"", "http://x/a?page=3"},
        {"<http://x/b>; title=\"a, b; c\"; rel=\"last next\"", "http://x/b"}, /* quoted separators, two relations */
        {"<http://x/c>;rel=next", "http://x/c"},                                 /* unquoted */
        {"<http://x/a?page=1>; rel=\"prev\", <http://x/a?page=1>; rel=\"first\"", NULL},
        {"<http://x/d>; rel=\"nextpage\"", NULL},
        {"<http://x/unclosed; rel=\"next\"", NULL},
    };
    char out[256];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bool found = net_link_next(cases[i].header, strlen(cases[i].header), out, sizeof out);
        if (found != (cases[i].next != NULL) || (found && strcmp(out, cases[i].next)))
            fail_msg("Link: %s -> %s, expected %s", cases[i].header, found ? out : "none",
                     cases[i].next ? cases[i].next : "none");
    }
    char tiny[8];
    assert_false(net_link_next(cases[0].header, strlen(cases[0].header), tiny, sizeof tiny)); /* does not fit */
}

static void test_retry_after(void **state) {
    (void)state;
    time_t now = 1700000000;
    assert_int_equal(net_retry_after_ms(" 30\r\n", 5, now), 30000);
    assert_int_equal(net_retry_after_ms("1.5", 3, now), 1500);
    assert_int_equal(net_retry_after_ms("0", 1, now), 0);
    /* Tue, 14 Nov 2023 22:13:40 GMT is now + 20 s */
    const char *date = "Tue, 14 Nov 2023 22:13:40 GMT";
    assert_int_equal(net_retry_after_ms(date, strlen(date), now), 20000);
    const char *past = "Tue, 14 Nov 2023 22:00:00 GMT";
    assert_int_equal(net_retry_after_ms(past, strlen(past), now), 0);
    assert_int_equal(net_retry_after_ms("soon", 4, now), -1);
    assert_int_equal(net_retry_after_ms("-5", 2, now), -1);
    assert_int_equal(net_retry_after_ms("", 0, now), -1);
}

static void test_classify(void **state) {
    (void)state;
    uint64_t w = 0;
    int64_t now = 1000;
    net_answer ok = {200, -1, -1, -1, false};
    assert_int_equal(net_classify(&ok, now, 0, &w), NET_ACTION_OK);
    /* 429 with Retry-After: waited as asked */
    net_answer a429 = {429, 2000, -1, -1, false};
    assert_int_equal(net_classify(&a429, now, 0, &w), NET_ACTION_WAIT);
    assert_int_equal(w, 2000);
    /* primary limit: 403 with X-RateLimit-Remaining 0, until the reset and one second */
    net_answer prim = {403, -1, 0, now + 5, false};
    assert_int_equal(net_classify(&prim, now, 0, &w), NET_ACTION_WAIT);
    assert_int_equal(w, 6000);
    net_answer prim_past = {403, -1, 0, now - 5, false};
    assert_int_equal(net_classify(&prim_past, now, 0, &w), NET_ACTION_WAIT);
    assert_int_equal(w, 1000);
    /* Retry-After wins over the reset (GitHub's order) */
    net_answer both = {403, 3000, 0, now + 100, false};
    assert_int_equal(net_classify(&both, now, 0, &w), NET_ACTION_WAIT);
    assert_int_equal(w, 3000);
    /* a secondary limit said only in the body: a minute, doubling */
    net_answer sec = {403, -1, 12, -1, true};
    assert_int_equal(net_classify(&sec, now, 0, &w), NET_ACTION_WAIT);
    assert_int_equal(w, 60000);
    assert_int_equal(net_classify(&sec, now, 2, &w), NET_ACTION_WAIT);
    assert_int_equal(w, 240000);
    assert_int_equal(net_classify(&sec, now, 30, &w), NET_ACTION_WAIT);
    assert_int_equal(w, 960000);
    /* a plain 403 (no permission), 401, 404: fail */
    net_answer forbidden = {403, -1, 4000, now + 100, false};
    assert_int_equal(net_classify(&forbidden, now, 0, &w), NET_ACTION_FAIL);
    net_answer a401 = {401, -1, -1, -1, false}, a404 = {404, -1, -1, -1, false};
    assert_int_equal(net_classify(&a401, now, 0, &w), NET_ACTION_FAIL);
    assert_int_equal(net_classify(&a404, now, 0, &w), NET_ACTION_FAIL);
    /* transient: no answer, 408, 5xx */
    long transient[] = {0, 408, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof transient / sizeof *transient; i++) {
        net_answer t = {transient[i], -1, -1, -1, false};
        assert_int_equal(net_classify(&t, now, 0, &w), NET_ACTION_RETRY);
    }
}

static void test_auth_escape_redact(void **state) {
    (void)state;
    char *h = net_basic_auth("Aladdin", "open sesame"); /* RFC 7617's example */
    assert_string_equal(h, "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    free(h);
    h = net_basic_auth("a", "bc");
    assert_string_equal(h, "Authorization: Basic YTpiYw==");
    free(h);
    char *e = net_escape("project = \"A B\" AND updated >= '2024/01/02 10:00' ORDER BY key~");
    assert_string_equal(e, "project%20%3D%20%22A%20B%22%20AND%20updated%20%3E%3D%20%272024%2F01%2F02%2010%3A00%27%20ORDER%20"
                           "BY%20key~");
    free(e);
    char s[] = "bad token ghp_abcdefghij12345 seen; again ghp_abcdefghij12345 and a cut ghp_abcdefgh";
    net_redact("ghp_abcdefghij12345", s);
    assert_null(strstr(s, "ghp_"));
    assert_non_null(strstr(s, "bad token ******************* seen"));
    char short_key[] = "key xy here";
    net_redact("xy", short_key);
    assert_string_equal(short_key, "key ** here");
    char untouched[] = "nothing to hide";
    net_redact(NULL, untouched);
    net_redact("", untouched);
    assert_string_equal(untouched, "nothing to hide");
}

/* ==== Atlassian Document Format ==== */

static char *adf(const char *doc_json) {
    json_error_t je;
    json_t *d = json_loads(doc_json, JSON_DECODE_ANY, &je);
    if (!d) fail_msg("test ADF is not JSON: %s", je.text);
    util_buf b = {0};
    records_adf_text(d, &b);
    json_decref(d);
    return b.data ? b.data : strdup("");
}

static void test_adf_text(void **state) {
    (void)state;
    char *t = adf("{\"type\":\"doc\",\"version\":1,\"content\":["
                  "{\"type\":\"heading\",\"attrs\":{\"level\":2},\"content\":[{\"type\":\"text\",\"text\":\"Steps\"}]},"
                  "{\"type\":\"paragraph\",\"content\":[{\"type\":\"text\",\"text\":\"Open the \"},"
                  "{\"type\":\"text\",\"text\":\"login\",\"marks\":[{\"type\":\"strong\"}]},{\"type\":\"hardBreak\"},"
                  "{\"type\":\"text\",\"text\":\"then wait\"}]},"
                  "{\"type\":\"orderedList\",\"attrs\":{\"order\":3},\"content\":["
                  "{\"type\":\"listItem\",\"content\":[{\"type\":\"paragraph\",\"content\":[{\"type\":\"text\",\"text\":\"one\"}]},"
                  "{\"type\":\"bulletList\",\"content\":[{\"type\":\"listItem\",\"content\":[{\"type\":\"paragraph\","
                  "\"content\":[{\"type\":\"text\",\"text\":\"nested\"}]}]}]}]},"
                  "{\"type\":\"listItem\",\"content\":[{\"type\":\"paragraph\",\"content\":[{\"type\":\"text\",\"text\":\"two\"}]}]}]},"
                  "{\"type\":\"codeBlock\",\"attrs\":{\"language\":\"c\"},\"content\":[{\"type\":\"text\",\"text\":\"retry(3);\"}]},"
                  "{\"type\":\"paragraph\",\"content\":[{\"type\":\"mention\",\"attrs\":{\"id\":\"1\",\"text\":\"@Eve\"}},"
                  "{\"type\":\"text\",\"text\":\" see \"},{\"type\":\"inlineCard\",\"attrs\":{\"url\":\"https://x.org/1\"}},"
                  "{\"type\":\"text\",\"text\":\" \"},{\"type\":\"emoji\",\"attrs\":{\"shortName\":\":smile:\",\"text\":\"😄\"}},"
                  "{\"type\":\"text\",\"text\":\" \"},{\"type\":\"status\",\"attrs\":{\"text\":\"BLOCKED\"}},"
                  "{\"type\":\"text\",\"text\":\" \"},{\"type\":\"date\",\"attrs\":{\"timestamp\":\"1714521600000\"}}]},"
                  "{\"type\":\"table\",\"content\":[{\"type\":\"tableRow\",\"content\":["
                  "{\"type\":\"tableHeader\",\"content\":[{\"type\":\"paragraph\",\"content\":[{\"type\":\"text\",\"text\":\"a\"}]}]},"
                  "{\"type\":\"tableCell\",\"content\":[{\"type\":\"paragraph\",\"content\":[{\"type\":\"text\",\"text\":\"b\"}]},"
                  "{\"type\":\"paragraph\",\"content\":[{\"type\":\"text\",\"text\":\"c\"}]}]}]}]},"
                  "{\"type\":\"taskList\",\"content\":[{\"type\":\"taskItem\",\"attrs\":{\"state\":\"DONE\"},\"content\":["
                  "{\"type\":\"text\",\"text\":\"fixed\"}]},{\"type\":\"taskItem\",\"attrs\":{\"state\":\"TODO\"},\"content\":["
                  "{\"type\":\"text\",\"text\":\"test\"}]}]},"
                  "{\"type\":\"expand\",\"attrs\":{\"title\":\"Logs\"},\"content\":[{\"type\":\"paragraph\",\"content\":["
                  "{\"type\":\"text\",\"text\":\"trace\"}]}]},"
                  "{\"type\":\"rule\"},"
                  "{\"type\":\"someFutureNode\",\"content\":[{\"type\":\"text\",\"text\":\"kept\"}]}]}");
    assert_string_equal(t, "Steps\nOpen the login\nthen wait\n3. one\n  - nested\n4. two\nretry(3);\n"
                           "@Eve see https://x.org/1 😄 BLOCKED 2024-05-01\na | b c\n[x] fixed\n[ ] test\nLogs\ntrace\nkept");
    free(t);
    /* plain text where ADF was expected, and nothing at all */
    t = adf("\"just text\"");
    assert_string_equal(t, "just text");
    free(t);
    t = adf("{\"type\":\"doc\",\"version\":1,\"content\":[]}");
    assert_string_equal(t, "");
    free(t);
    /* a document nested far deeper than any real one: cut, not a crash */
    util_buf deep = {0};
    for (int i = 0; i < 3000; i++) util_buf_puts(&deep, "{\"type\":\"blockquote\",\"content\":[");
    util_buf_puts(&deep, "{\"type\":\"text\",\"text\":\"bottom\"}");
    for (int i = 0; i < 3000; i++) util_buf_puts(&deep, "]}");
    json_t *d = json_loads(deep.data, 0, NULL); /* jansson refuses past its own depth limit */
    util_buf b = {0};
    if (d) records_adf_text(d, &b);
    assert_true(!b.data || !strstr(b.data, "bottom"));
    json_decref(d);
    util_buf_free(&b);
    util_buf_free(&deep);
}

/* ==== A store for the connectors ==== */

typedef struct fx {
    char *dir;           /* temporary folder */
    sc_db *db;           /* store */
    sc_model *model;     /* built-in model */
    sc_embedder *emb;    /* over the model */
    sc_records *rs;      /* the records of the global namespace */
    char reports[8192];  /* malformed items reported ("where: message\n" each) */
    int n_reports;       /* how many */
} fx;

static void fx__report(void *arg, const char *where, const char *message) {
    fx *f = arg;
    size_t n = strlen(f->reports);
    snprintf(f->reports + n, sizeof f->reports - n, "%s: %s\n", where, message);
    f->n_reports++;
}

static fx *fx_new(void) {
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir("sources");
    char p[512];
    snprintf(p, sizeof p, "%s/store", f->dir);
    assert_int_equal(sc_db_open(p, NULL, &f->db, NULL), SC_OK);
    assert_int_equal(sc_model_load("models/builtin.scm", &f->model, NULL), SC_OK);
    assert_int_equal(sc_embedder_new_model(f->model, &f->emb, NULL), SC_OK);
    assert_int_equal(sc_records_open(f->db, f->emb, NULL, &f->rs, NULL), SC_OK);
    return f;
}

static void fx_free(fx *f) {
    sc_records_close(f->rs);
    sc_embedder_free(f->emb);
    sc_model_free(f->model);
    sc_db_close(f->db);
    tu_rmdir(f->dir);
    free(f);
}

static sc_source_options fx_opts(fx *f) {
    sc_source_options o = sc_source_options_default();
    o.report = fx__report;
    o.report_arg = f;
    return o;
}

/* Payload of record id (owned JSON); fails the test when missing. */
static json_t *payload(fx *f, const char *id) {
    char *text = tu_payload_by_id(f->db, sc_records_collection(f->rs), id);
    if (!text) fail_msg("no record with id '%s'", id);
    json_t *p = json_loads(text, 0, NULL);
    free(text);
    return p;
}

static bool has(fx *f, const char *id) {
    char *text = tu_payload_by_id(f->db, sc_records_collection(f->rs), id);
    free(text);
    return text != NULL;
}

/* Write text to dir/rel, making its folders. */
static void put_file(const char *dir, const char *rel, const char *text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *s = path + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(path, 0755);
            *s = '/';
        }
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* ==== JSON Lines ==== */

static sc_status jsonl(fx *f, const char *text, const char *mapping, bool full, sc_source_summary *s) {
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(in);
    sc_source_options o = fx_opts(f);
    o.full = full;
    o.source = "t";
    sc_status rc = sc_jsonl_ingest(f->rs, in, "t.jsonl", mapping, SC_REC_KIND_ISSUE, &o, s);
    fclose(in);
    return rc;
}

static void test_jsonl(void **state) {
    (void)state;
    fx *f = fx_new();
    const char *map = "{\"id\": \"key\", \"title\": \"f.summary\", \"body\": \"f.text\", \"date\": \"created\", "
                      "\"labels\": \"f.tags\", \"comments\": \"notes[].body\", \"votes\": \"n\", \"score\": \"x\", "
                      "\"open\": \"o\", \"meta\": \"m\", \"links.commit\": \"shas\", \"kind\": \"type\"}";
    const char *lines =
        "{\"key\": \"K-1\", \"f\": {\"summary\": \"Crash on start\", \"text\": \"Null config\", \"tags\": [\"bug\", 7, null]},"
        " \"created\": \"2024-05-01T10:00:00+02:00\", \"notes\": [{\"body\": \"same here\"}, {\"body\": \"fixed\"}, {}],"
        " \"n\": 3, \"x\": 0.5, \"o\": true, \"m\": {\"a\": [1]}, \"shas\": [\"abc1234\"]}\n"
        "\n"
        "{\"key\": 12, \"type\": \"pr\", \"f\": {\"summary\": \"A PR by number\"}, \"created\": 1714557600000}\n"
        "[1, 2]\n"
        "{\"key\": \"K-3\", \"type\": \"epic\", \"f\": {\"summary\": \"bad kind\"}}\n"
        "{\"key\": \"\", \"f\": {\"summary\": \"empty id\"}}\n"
        "{\"key\": \"K-4\", \"f\": {\"summary\": \"bad date\"}, \"created\": true}\n"
        "{\"key\": \"K-5\", \"f\": {\"summary\": \"dup\"}, \"f\": {}}\n"
        "{\"key\": \"K-6\", \"f\": {\"summary\": \"no newline at the end\"}}";
    sc_source_summary s;
    assert_int_equal(jsonl(f, lines, map, false, &s), SC_OK);
    assert_int_equal(s.items, 3);
    assert_int_equal(s.malformed, 5);
    assert_string_equal(f->reports, "t.jsonl:4: expected a JSON object\n"
                                    "t.jsonl:5: kind must be one of commit, issue, pr, comment, review, doc\n"
                                    "t.jsonl:6: the id is not a non-empty string or an integer\n"
                                    "t.jsonl:7: expected a date (text or seconds since the epoch)\n"
                                    "t.jsonl:8: not JSON: duplicate object key near '\"f\"' (column 43)\n");
    json_t *p = payload(f, "K-1");
    assert_string_equal(json_string_value(json_object_get(p, "kind")), "issue");
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Crash on start");
    assert_string_equal(json_string_value(json_object_get(p, "date")), "2024-05-01T08:00:00Z");
    assert_int_equal(json_array_size(json_object_get(p, "labels")), 2); /* "bug", "7"; null left out */
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "labels"), 1)), "7");
    assert_int_equal(json_array_size(json_object_get(p, "comments")), 2);
    assert_int_equal(json_integer_value(json_object_get(p, "votes")), 3);
    assert_true(json_is_real(json_object_get(p, "score")));
    assert_true(json_is_true(json_object_get(p, "open")));
    assert_true(json_is_object(json_object_get(p, "meta")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(p, "links"), "commit"), 0)), "abc1234");
    json_decref(p);
    p = payload(f, "12");
    assert_string_equal(json_string_value(json_object_get(p, "kind")), "pr");
    assert_string_equal(json_string_value(json_object_get(p, "date")), "2024-05-01T10:00:00Z"); /* milliseconds */
    json_decref(p);
    assert_true(has(f, "K-6"));
    /* again: nothing written */
    f->reports[0] = '\0';
    uint64_t written = sc_records_get_stats(f->rs).written;
    assert_int_equal(jsonl(f, lines, map, false, &s), SC_OK);
    assert_int_equal(sc_records_get_stats(f->rs).written, written);
    assert_int_equal(s.unchanged, 3);
    /* --full with malformed lines removes nothing; without them, what is gone */
    assert_int_equal(jsonl(f, "{\"key\": \"K-1\"}\nnope\n", map, true, &s), SC_OK);
    assert_true(s.removal_skipped);
    assert_int_equal(s.removed, 0);
    assert_int_equal(jsonl(f, "{\"key\": \"K-1\", \"f\": {\"summary\": \"Crash on start\"}}\n", map, true, &s), SC_OK);
    assert_false(s.removal_skipped);
    assert_int_equal(s.removed, 2);
    assert_false(has(f, "12"));
    assert_false(has(f, "K-6"));
    assert_true(has(f, "K-1"));
    /* a line past the limit is read through, reported, and the next one read */
    size_t big = SRC_MAX_LINE + 100;
    char *huge = malloc(big + 64);
    memcpy(huge, "{\"key\": \"BIG\", \"f\": {\"text\": \"", 30);
    memset(huge + 30, 'x', big - 30);
    strcpy(huge + big, "\"}}\n{\"key\": \"K-7\"}\n");
    f->reports[0] = '\0';
    assert_int_equal(jsonl(f, huge, map, false, &s), SC_OK);
    free(huge);
    assert_int_equal(s.items, 1);
    assert_string_equal(f->reports, "t.jsonl:1: the line is longer than 16777216 bytes\n");
    assert_true(has(f, "K-7"));
    /* mappings refused with the entry named */
    FILE *in = fmemopen((void *)"{}", 2, "r");
    sc_source_options o = fx_opts(f);
    assert_int_equal(sc_jsonl_ingest(f->rs, in, "x", "{\"id\": \"a\", \"title\": \"b[]c\"}", SC_REC_KIND_DOC, &o, &s),
                     SC_INVALID);
    assert_string_equal(sc_records_errmsg(f->rs), "mapping title=b[]c: '[]' may only end a key");
    rewind(in);
    assert_int_equal(sc_jsonl_ingest(f->rs, in, "x", "{\"id\": \"a\", \"links.Bad\": \"b\"}", SC_REC_KIND_DOC, &o, &s),
                     SC_INVALID);
    assert_non_null(strstr(sc_records_errmsg(f->rs), "mapping links.Bad=b: link relation name 'Bad'"));
    rewind(in);
    assert_int_equal(sc_jsonl_ingest(f->rs, in, "x", "[\"id\"]", SC_REC_KIND_DOC, &o, &s), SC_INVALID);
    fclose(in);
    fx_free(f);
}

/* ==== GitHub from a folder ==== */

static const char gh_issues[] =
    "[{\"number\": 1, \"title\": \"Crash on empty config\", \"body\": \"Segfault\", \"state\": \"open\","
    " \"user\": {\"login\": \"alice\"}, \"labels\": [{\"name\": \"bug\"}, {\"name\": \"p1\"}], \"assignees\": [{\"login\": \"bob\"}],"
    " \"milestone\": {\"title\": \"v2\"}, \"locked\": false, \"comments\": 2, \"html_url\": \"https://github.com/o/r/issues/1\","
    " \"created_at\": \"2024-01-01T00:00:00Z\", \"updated_at\": \"2024-01-03T00:00:00Z\", \"closed_at\": null},"
    " {\"number\": 2, \"title\": \"Fix the crash\", \"body\": \"Closes #1\", \"state\": \"closed\", \"user\": {\"login\": \"bob\"},"
    " \"labels\": [], \"comments\": 0, \"html_url\": \"https://github.com/o/r/pull/2\", \"created_at\": \"2024-01-02T00:00:00Z\","
    " \"updated_at\": \"2024-01-04T00:00:00Z\", \"closed_at\": \"2024-01-04T00:00:00Z\","
    " \"pull_request\": {\"url\": \"x\", \"merged_at\": \"2024-01-04T00:00:00Z\"}},"
    " {\"number\": 3, \"title\": \"bad date\", \"created_at\": \"2024-01-02\", \"updated_at\": \"someday\"}]";

static void write_github(const char *dir) {
    put_file(dir, "issues.json", gh_issues);
    put_file(dir, "issues/1/comments.json",
             "[{\"id\": 11, \"body\": \"me too\", \"user\": {\"login\": \"carol\"}, \"created_at\": \"2024-01-02T00:00:00Z\","
             " \"html_url\": \"https://github.com/o/r/issues/1#issuecomment-11\"},"
             " {\"id\": 12, \"body\": \"on it\", \"user\": {\"login\": \"bob\"}, \"created_at\": \"2024-01-03T00:00:00Z\"},"
             " {\"body\": \"no id\"}]");
    put_file(dir, "pulls/2.json", "{\"number\": 2, \"merged_at\": \"2024-01-04T00:00:00Z\", \"draft\": false,"
                                  " \"head\": {\"ref\": \"fix\"}, \"base\": {\"ref\": \"main\"}, \"additions\": 5}");
    put_file(dir, "pulls/2/reviews.json",
             "[{\"id\": 21, \"user\": {\"login\": \"carol\"}, \"state\": \"APPROVED\", \"body\": \"ship it\","
             " \"submitted_at\": \"2024-01-03T12:00:00Z\"}, {\"id\": 22, \"user\": {\"login\": \"dan\"}, \"state\": \"COMMENTED\","
             " \"body\": \"\", \"submitted_at\": \"2024-01-03T13:00:00Z\"}]");
    put_file(dir, "pulls/2/comments.json",
             "[{\"id\": 31, \"user\": {\"login\": \"carol\"}, \"path\": \"src/config.c\", \"line\": 10, \"body\": \"check NULL\","
             " \"created_at\": \"2024-01-03T11:00:00Z\", \"pull_request_review_id\": 21}]");
    put_file(dir, "pulls/2/commits.json", "[{\"sha\": \"0123456789abcdef0123456789abcdef01234567\"}, {\"sha\": \"xyz\"}]");
}

static void test_github_from_dir(void **state) {
    (void)state;
    fx *f = fx_new();
    char dir[600];
    snprintf(dir, sizeof dir, "%s/gh", f->dir);
    write_github(dir);
    sc_source_options o = fx_opts(f);
    o.from_dir = dir;
    sc_source_summary s;
    assert_int_equal(sc_github_ingest(f->rs, "o/r", &o, &s), SC_OK);
    assert_string_equal(s.source, "github:o/r");
    assert_true(s.full);
    assert_int_equal(s.items, 2 + 2 + 2 + 1); /* issue, PR, 2 comments, 2 reviews, 1 review comment */
    assert_int_equal(s.malformed, 3);
    assert_true(s.removal_skipped);
    assert_non_null(strstr(f->reports, "/gh/issues.json item 2: issue #3: 'updated_at' is not a date\n"));
    assert_non_null(strstr(f->reports, "/gh/issues/1/comments.json item 2: a comment needs a positive integer 'id'\n"));
    assert_non_null(strstr(f->reports, "/gh/pulls/2/commits.json item 1: a commit needs a hexadecimal 'sha'\n"));
    json_t *p = payload(f, "1");
    assert_int_equal(json_integer_value(json_object_get(p, "number")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "labels"), 1)), "p1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "assignees"), 0)), "bob");
    assert_string_equal(json_string_value(json_object_get(p, "milestone")), "v2");
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "comments"), 1)), "bob: on it");
    assert_null(json_object_get(p, "closed"));
    json_decref(p);
    p = payload(f, "2");
    assert_string_equal(json_string_value(json_object_get(p, "kind")), "pr");
    assert_string_equal(json_string_value(json_object_get(p, "state")), "merged");
    assert_true(json_is_true(json_object_get(p, "merged")));
    assert_string_equal(json_string_value(json_object_get(p, "head")), "fix");
    assert_int_equal(json_integer_value(json_object_get(p, "n_commits")), 1);
    assert_int_equal(json_array_size(json_object_get(json_object_get(p, "links"), "commit")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "approved_by"), 0)), "carol");
    assert_int_equal(json_array_size(json_object_get(p, "reviewers")), 2);
    /* review texts in time order: the review comment (11:00) before the review (12:00) */
    json_t *rc = json_object_get(p, "review_comments");
    assert_string_equal(json_string_value(json_array_get(rc, 0)), "carol: src/config.c: check NULL");
    assert_string_equal(json_string_value(json_array_get(rc, 1)), "carol: ship it");
    json_decref(p);
    p = payload(f, "discussion_r31");
    assert_string_equal(json_string_value(json_object_get(p, "kind")), "review");
    assert_string_equal(json_string_value(json_object_get(p, "on")), "pr");
    assert_int_equal(json_integer_value(json_object_get(p, "line")), 10);
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Fix the crash");
    json_decref(p);
    p = payload(f, "issuecomment-11");
    assert_string_equal(json_string_value(json_object_get(p, "on")), "issue");
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(p, "links"), "issue"), 0)), "1");
    json_decref(p);
    assert_true(has(f, "pullrequestreview-21"));
    assert_false(has(f, "pullrequestreview-22")); /* no words: only a state on the PR */
    /* the PR shows in the history of the commit it links */
    const char *ent[1] = {"42"};
    sc_rec_hits *h = NULL;
    assert_int_equal(sc_records_history(f->rs, ent, 1, NULL, &h), SC_OK);
    assert_int_equal(h->n, 0);
    sc_rec_hits_free(h);

    /* fixed, and comment 12 deleted: a full sync removes it */
    put_file(dir, "issues.json", "[]");
    put_file(dir, "issues.1.json", "x"); /* ignored: issues.json is the one page */
    char *one = strdup(gh_issues);
    char *cut = strstr(one, ", {\"number\": 3");
    cut[0] = ']';
    cut[1] = '\0';
    put_file(dir, "issues.json", one);
    free(one);
    put_file(dir, "issues/1/comments.json",
             "[{\"id\": 11, \"body\": \"me too\", \"user\": {\"login\": \"carol\"}, \"created_at\": \"2024-01-02T00:00:00Z\"}]");
    put_file(dir, "pulls/2/commits.json", "[{\"sha\": \"0123456789abcdef0123456789abcdef01234567\"}]");
    o.full = true;
    f->reports[0] = '\0';
    assert_int_equal(sc_github_ingest(f->rs, "o/r", &o, &s), SC_OK);
    assert_string_equal(f->reports, "");
    assert_false(s.removal_skipped);
    assert_int_equal(s.removed, 1);
    assert_false(has(f, "issuecomment-12"));
    assert_true(has(f, "issuecomment-11"));
    /* another repository under the same source is refused */
    o.source = "github:o/r";
    assert_int_equal(sc_github_ingest(f->rs, "o/other", &o, &s), SC_INVALID);
    assert_non_null(strstr(sc_records_errmsg(f->rs), "holds the records of o/r, not o/other"));
    fx_free(f);
}

/* ==== Jira from a folder ==== */

static void test_jira_from_dir(void **state) {
    (void)state;
    fx *f = fx_new();
    char dir[600];
    snprintf(dir, sizeof dir, "%s/jira", f->dir);
    put_file(dir, "search.json",
             "{\"startAt\": 0, \"maxResults\": 50, \"total\": 2, \"names\": {\"customfield_1\": \"Root cause\"},"
             " \"issues\": [{\"id\": \"1\", \"key\": \"OPS-7\", \"fields\": {\"summary\": \"Disk full on db1\","
             " \"description\": \"Logs were never rotated\", \"status\": {\"name\": \"In Review\", \"statusCategory\": {\"key\": \"indeterminate\"}},"
             " \"priority\": {\"name\": \"P1\"}, \"issuetype\": {\"name\": \"Incident\"}, \"labels\": [\"db\"],"
             " \"components\": [{\"name\": \"storage\"}], \"reporter\": {\"displayName\": \"Ann\", \"emailAddress\": \"ann@x.org\"},"
             " \"created\": \"2024-02-01T09:30:00.000+0100\", \"updated\": \"2024-02-02T09:30:00.000+0100\","
             " \"customfield_1\": \"logrotate was disabled\", \"customfield_2\": 5, \"customfield_3\": null,"
             " \"comment\": {\"total\": 3, \"comments\": [{\"id\": \"100\", \"author\": {\"displayName\": \"Bo\"},"
             " \"body\": \"freed 20 GB\", \"created\": \"2024-02-01T10:00:00.000+0100\"}]}}},"
             " {\"id\": \"2\", \"fields\": {\"summary\": \"no key\"}}]}");
    put_file(dir, "issue/OPS-7/comment.json",
             "{\"startAt\": 1, \"total\": 3, \"comments\": [{\"id\": \"101\", \"author\": {\"displayName\": \"Ann\"},"
             " \"body\": {\"type\": \"doc\", \"version\": 1, \"content\": [{\"type\": \"paragraph\", \"content\":"
             " [{\"type\": \"text\", \"text\": \"rotation back on\"}]}]}, \"created\": \"2024-02-02T09:00:00.000+0100\"},"
             " {\"id\": \"102\", \"body\": \"no date\"}]}");
    sc_source_options o = fx_opts(f);
    o.from_dir = dir;
    o.api_url = "https://ops.example.org/";
    sc_source_summary s;
    assert_int_equal(sc_jira_ingest(f->rs, "project = OPS order by rank", &o, &s), SC_OK);
    assert_string_equal(s.source, "jira:ops.example.org");
    assert_int_equal(s.items, 3);
    assert_int_equal(s.malformed, 2);
    assert_non_null(strstr(f->reports, "search.json item 1: an issue needs a string 'key'"));
    assert_non_null(strstr(f->reports, "issue/OPS-7/comment.json item 1: comment 102 of OPS-7: no 'created' date"));
    json_t *p = payload(f, "OPS-7");
    assert_string_equal(json_string_value(json_object_get(p, "state")), "in review");
    assert_string_equal(json_string_value(json_object_get(p, "status")), "In Review");
    assert_string_equal(json_string_value(json_object_get(p, "date")), "2024-02-01T08:30:00Z");
    assert_string_equal(json_string_value(json_object_get(p, "url")), "https://ops.example.org/browse/OPS-7");
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "custom"), 0)), "Root cause: logrotate was disabled");
    assert_int_equal(json_array_size(json_object_get(p, "custom")), 1); /* numbers and nulls are not text */
    assert_int_equal(json_integer_value(json_object_get(p, "n_comments")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "comments"), 1)), "Ann: rotation back on");
    json_decref(p);
    p = payload(f, "101");
    assert_string_equal(json_string_value(json_object_get(p, "body")), "rotation back on");
    assert_string_equal(json_string_value(json_object_get(p, "key")), "OPS-7");
    json_decref(p);
    /* the summary of the run has its cursor; API version is checked */
    assert_string_equal(s.since, "2024-02-02T08:30:00Z");
    o.api_version = 4;
    assert_int_equal(sc_jira_ingest(f->rs, "", &o, &s), SC_INVALID);
    fx_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_header),     cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_classify),        cmocka_unit_test(test_auth_escape_redact),
        cmocka_unit_test(test_adf_text),        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_github_from_dir), cmocka_unit_test(test_jira_from_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
