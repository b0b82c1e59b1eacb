/*
** Payload index types beyond keyword / integer / float / bool, through the
** store's API on a real store: the full-text tokenizer (text_ft) on its
** own, text conditions with and without a text index (tokens vs
** substrings, Qdrant's rules), phrases, prefixes, geo shapes with and
** without a geo index, datetime ranges, uuid matches, facets, schema
** validation and echo, and index definitions surviving a reopen.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "semcode/semcode.h"
#include "text/text.h"
#include "testutil.h"

/* ==== Tokenizer ==== */

/* Tokens joined with '|'. */
typedef struct tp_join {
    char s[512]; /* joined tokens */
    size_t n;    /* bytes used */
} tp_join;

static void tp_join_cb(const char *tok, size_t len, void *arg) {
    tp_join *j = arg;
    if (j->n + len + 2 > sizeof j->s) fail_msg("more tokens than the test expects (%zu bytes)", j->n + len);
    if (j->n) j->s[j->n++] = '|';
    memcpy(j->s + j->n, tok, len);
    j->n += len;
    j->s[j->n] = '\0';
}

/* Tokenize text with p in mode and compare the joined tokens with want. */
static void tp_tokens(const text_ft_params *p, text_ft_mode mode, const char *text, const char *want) {
    sc_err err = {0};
    text_ft *ft = text_ft_new(p, &err);
    assert_non_null(ft);
    tp_join j = {{0}, 0};
    assert_int_equal(text_ft_tokenize(ft, text, strlen(text), mode, tp_join_cb, &j), SC_OK);
    if (strcmp(j.s, want)) fail_msg("tokens of \"%s\": got \"%s\", want \"%s\"", text, j.s, want);
    text_ft_free(ft);
}

static void test_tokenizers(void **state) {
    (void)state;
    text_ft_params p = {.tokenizer = TEXT_FT_TOKENIZER_WORD, .lowercase = true};
    tp_tokens(&p, TEXT_FT_MODE_DOC, "hello, world! Привет, мир!", "hello|world|привет|мир");
    tp_tokens(&p, TEXT_FT_MODE_DOC, "Robot AL-76 Goes Astray", "robot|al|76|goes|astray");
    p.lowercase = false;
    tp_tokens(&p, TEXT_FT_MODE_DOC, "The Up-to-Date", "The|Up|to|Date");
    /* whitespace keeps punctuation */
    p.tokenizer = TEXT_FT_TOKENIZER_WHITESPACE;
    tp_tokens(&p, TEXT_FT_MODE_DOC, " a-b\tc.d\n", "a-b|c.d");
    /* prefix: documents index prefixes, queries keep the word (cut to max) */
    p = (text_ft_params){.tokenizer = TEXT_FT_TOKENIZER_PREFIX, .lowercase = true, .max_token_len = 4};
    tp_tokens(&p, TEXT_FT_MODE_DOC, "hello, мир!", "h|he|hel|hell|м|ми|мир");
    tp_tokens(&p, TEXT_FT_MODE_QUERY, "hello, мир!", "hell|мир");
    p.min_token_len = 2;
    tp_tokens(&p, TEXT_FT_MODE_DOC, "Robot a", "ro|rob|robo");
    tp_tokens(&p, TEXT_FT_MODE_QUERY, "ROBO a", "robo");
    /* without max_token_len, prefixes stop at 64 characters (and queries are cut there) */
    p = (text_ft_params){.tokenizer = TEXT_FT_TOKENIZER_PREFIX, .min_token_len = 64};
    char longw[101];
    memset(longw, 'x', 100);
    longw[100] = '\0';
    tp_tokens(&p, TEXT_FT_MODE_DOC, longw, longw + 36);
    tp_tokens(&p, TEXT_FT_MODE_QUERY, longw, longw + 36);
    /* length limits drop (not cut) words of the other tokenizers */
    p = (text_ft_params){.tokenizer = TEXT_FT_TOKENIZER_WORD, .lowercase = true, .min_token_len = 2, .max_token_len = 5};
    tp_tokens(&p, TEXT_FT_MODE_DOC, "a bb cccccc dd", "bb|dd");
    /* multilingual: CJK characters are tokens of their own */
    p = (text_ft_params){.tokenizer = TEXT_FT_TOKENIZER_MULTILINGUAL, .lowercase = true};
    tp_tokens(&p, TEXT_FT_MODE_DOC, "本日の Date", "本|日|の|date");
    /* code: identifier parts */
    p = (text_ft_params){.tokenizer = TEXT_FT_TOKENIZER_CODE, .lowercase = true};
    tp_tokens(&p, TEXT_FT_MODE_DOC, "getUserName(HTTPServer, user_id2)", "get|user|name|http|server|user|id|2");
    tp_tokens(&p, TEXT_FT_MODE_DOC, "get_user_name", "get|user|name");
    /* invalid UTF-8 separates words */
    p = (text_ft_params){.tokenizer = TEXT_FT_TOKENIZER_WORD, .lowercase = true};
    tp_tokens(&p, TEXT_FT_MODE_DOC, "ab\xff\xfe" "cd", "ab|cd");
}

static void test_token_filters(void **state) {
    (void)state;
    text_ft_params p = {.tokenizer = TEXT_FT_TOKENIZER_WORD, .lowercase = true, .stop_english = true};
    tp_tokens(&p, TEXT_FT_MODE_QUERY, "robot of the star", "robot|star");
    tp_tokens(&p, TEXT_FT_MODE_DOC, "A don't, couldn't; yourselves whom ABOUT y", "");
    /* custom stop words with lowercase off are case-sensitive (Qdrant issue 8724) */
    const char *custom[] = {"the", "The", "LAZY"};
    p = (text_ft_params){.tokenizer = TEXT_FT_TOKENIZER_WORD, .stopwords = custom, .n_stopwords = 3};
    tp_tokens(&p, TEXT_FT_MODE_DOC, "The quick lazy LAZY dog the", "quick|lazy|dog");
    /* with lowercase on they are lower-cased */
    p.lowercase = true;
    tp_tokens(&p, TEXT_FT_MODE_DOC, "The quick lazy LAZY dog", "quick|dog");
    /* Snowball stemming */
    p = (text_ft_params){.tokenizer = TEXT_FT_TOKENIZER_WORD, .lowercase = true, .stemmer = "english"};
    tp_tokens(&p, TEXT_FT_MODE_DOC, "running dogs", "run|dog");
    /* ASCII folding */
    p = (text_ft_params){.tokenizer = TEXT_FT_TOKENIZER_WORD, .lowercase = true, .ascii_folding = true};
    tp_tokens(&p, TEXT_FT_MODE_DOC, "Pâté ação", "pate|acao");
    /* an unknown stemmer language is refused by name */
    p.stemmer = "klingon";
    sc_err err = {0};
    assert_null(text_ft_new(&p, &err));
    assert_int_equal(err.code, SC_INVALID);
    assert_non_null(strstr(err.msg, "klingon"));
}

/* ==== Store fixture ==== */

#define tp_setup tu_store_setup
#define tp_teardown tu_store_teardown

/* A collection "c" of 2-dimensional vectors with the given payloads (ids 1..n). */
static void tp_points(sc_db *db, const char *const *payloads, size_t n) {
    sc_vector_params vp = {.name = "", .dim = 2, .distance = SC_DISTANCE_DOT};
    if (!sc_collection_exists(db, "c")) assert_int_equal(sc_collection_create(db, "c", &vp, 1), SC_OK);
    float v[2] = {1, 0};
    sc_vector_in vin = {"", v, 2};
    for (size_t i = 0; i < n; i++) {
        sc_point_in pt = {.id = sc_point_id_num(i + 1), .vectors = &vin, .n_vectors = 1, .payload_json = payloads[i]};
        assert_int_equal(sc_points_upsert(db, "c", &pt, 1), SC_OK);
    }
}

static uint64_t tp_count(sc_db *db, const char *filter) {
    uint64_t n = 0;
    sc_status rc = sc_points_count(db, "c", filter, &n);
    if (rc != SC_OK) fail_msg("count %s: %s", filter, sc_db_errmsg(db));
    return n;
}

/* Count of {"must": {"key": key, "match": {kind: value}}}. */
static uint64_t tp_match(sc_db *db, const char *key, const char *kind, const char *value) {
    char f[512];
    snprintf(f, sizeof f, "{\"must\":{\"key\":\"%s\",\"match\":{\"%s\":\"%s\"}}}", key, kind, value);
    return tp_count(db, f);
}

static void tp_index(sc_db *db, const char *key, const char *schema) {
    sc_status rc = sc_field_index_create_ex(db, "c", key, schema);
    if (rc != SC_OK) fail_msg("index %s %s: %s", key, schema, sc_db_errmsg(db));
}

static const char *const tp_phrases[] = {
    "{\"t\":\"the quick brown fox jumps over the lazy dog\"}",
    "{\"t\":\"a quick brown cat runs through the garden\"}",
    "{\"t\":\"the brown fox is very quick and agile\"}",
    "{\"t\":[\"writing tests is\", \"very very very important\"]}",
    "{\"t\":\"Quickly\"}",
    "{\"t\":42}",
};

/* Substrings without an index, tokens with one; the filter agrees with the
** index whether or not the plan uses it. */
static void test_text_match(void **state) {
    tu_store *f = *state;
    tp_points(f->db, tp_phrases, 6);
    /* no index: case-sensitive substrings; "" is in every string */
    assert_int_equal(tp_match(f->db, "t", "text", "quick"), 3);
    assert_int_equal(tp_match(f->db, "t", "text", "Quick"), 1);
    assert_int_equal(tp_match(f->db, "t", "text", "own fo"), 2);
    assert_int_equal(tp_match(f->db, "t", "text", ""), 5);
    assert_int_equal(tp_match(f->db, "t", "phrase", "brown fox"), 2);
    /* a word index: all query tokens, lower-cased; unknown token: nothing; no token: nothing */
    tp_index(f->db, "t", "{\"type\":\"text\",\"tokenizer\":\"word\",\"phrase_matching\":true}");
    assert_int_equal(tp_match(f->db, "t", "text", "QUICK"), 3);
    assert_int_equal(tp_match(f->db, "t", "text", "own fo"), 0);
    assert_int_equal(tp_match(f->db, "t", "text", "fox quick"), 2);
    assert_int_equal(tp_match(f->db, "t", "text", "fox bird"), 0);
    assert_int_equal(tp_match(f->db, "t", "text", ""), 0);
    assert_int_equal(tp_match(f->db, "t", "text_any", "fox bird"), 2);
    /* all values of a point count together for text, one value for a phrase */
    assert_int_equal(tp_match(f->db, "t", "text", "writing important"), 1);
    assert_int_equal(tp_match(f->db, "t", "phrase", "is very very"), 0); /* across the two values of 4 */
    assert_int_equal(tp_match(f->db, "t", "phrase", "is very"), 1);                /* 3 */
    assert_int_equal(tp_match(f->db, "t", "phrase", "very very very"), 1);
    assert_int_equal(tp_match(f->db, "t", "phrase", "very very very very"), 0);
    assert_int_equal(tp_match(f->db, "t", "phrase", "quick brown"), 2);
    assert_int_equal(tp_match(f->db, "t", "phrase", "brown quick"), 0);
    assert_int_equal(tp_match(f->db, "t", "phrase", ""), 0);
    /* the same through a plan that cannot use the index (a should with has_id) */
    assert_int_equal(tp_count(f->db, "{\"must\":[{\"key\":\"t\",\"match\":{\"text\":\"QUICK fox\"}},"
                                     "{\"should\":[{\"has_id\":[1,2,3,4,5,6]},{\"is_null\":{\"key\":\"x\"}}]}]}"),
                     2);
    /* a text index without positions answers no phrase */
    tp_index(f->db, "t", "{\"type\":\"text\"}");
    assert_int_equal(tp_match(f->db, "t", "phrase", "quick brown"), 0);
    assert_int_equal(tp_match(f->db, "t", "text", "quick"), 3);
    /* a prefix tokenizer matches word beginnings */
    tp_index(f->db, "t", "{\"type\":\"text\",\"tokenizer\":\"prefix\"}");
    assert_int_equal(tp_match(f->db, "t", "text", "QUI"), 4);
    /* the index follows writes */
    const char *more[] = {"{\"t\":\"quiet\"}"};
    tp_points(f->db, more, 1); /* replaces point 1 */
    assert_int_equal(tp_match(f->db, "t", "text", "qui"), 4);
    assert_int_equal(tp_match(f->db, "t", "text", "fox"), 1);
    /* dropping the index brings substrings back */
    assert_int_equal(sc_field_index_delete(f->db, "c", "t"), SC_OK);
    assert_int_equal(tp_match(f->db, "t", "text", "qui"), 3);
}

/* Inside a nested condition, key "name" under "items" uses the index on "items[].name". */
static void test_nested_text(void **state) {
    tu_store *f = *state;
    const char *const pts[] = {"{\"items\":[{\"name\":\"Quick Fox\"},{\"name\":\"slow dog\"}]}",
                               "{\"items\":[{\"name\":\"quicksand\"}]}"};
    tp_points(f->db, pts, 2);
    const char *nested = "{\"must\":{\"nested\":{\"key\":\"items\",\"filter\":{\"must\":{\"key\":\"name\","
                         "\"match\":{\"text\":\"quick\"}}}}}}";
    const char *nested_all = "{\"must\":{\"nested\":{\"key\":\"items[]\",\"filter\":{\"must\":{\"key\":\"name\","
                             "\"match\":{\"text\":\"quick\"}}}}}}";
    assert_int_equal(tp_count(f->db, nested), 1); /* substring: "quicksand" only */
    tp_index(f->db, "items[].name", "{\"type\":\"text\"}");
    assert_int_equal(tp_count(f->db, nested), 1); /* token: "Quick Fox" only */
    assert_int_equal(tp_count(f->db, nested_all), 1);
    assert_int_equal(tp_match(f->db, "items[].name", "text", "QUICK dog"), 1);
    uint64_t n = 0;
    assert_int_equal(sc_points_count(f->db, "c", "{\"must\":{\"key\":\"items[].name\",\"match\":{\"text\":\"sand\"}}}",
                                     &n), SC_OK);
    assert_int_equal(n, 0);
    /* the same filter shape without the index finds the substring */
    assert_int_equal(sc_field_index_delete(f->db, "c", "items[].name"), SC_OK);
    assert_int_equal(tp_match(f->db, "items[].name", "text", "sand"), 1);
}

static void test_prefix_match(void **state) {
    tu_store *f = *state;
    const char *const urls[] = {"{\"u\":\"https://qdrant.tech\"}", "{\"u\":\"https://qdrant.tech/docs\"}",
                                "{\"u\":[\"http://example.com\",\"https://qdrant.tech/blog\"]}", "{\"u\":7}", "{}"};
    tp_points(f->db, urls, 5);
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(tp_match(f->db, "u", "prefix", "https://qdrant."), 3);
        assert_int_equal(tp_match(f->db, "u", "prefix", "http"), 3);
        assert_int_equal(tp_match(f->db, "u", "prefix", "http:"), 1);
        assert_int_equal(tp_match(f->db, "u", "prefix", ""), 3);
        assert_int_equal(tp_match(f->db, "u", "prefix", "ftp"), 0);
        tp_index(f->db, "u", "{\"type\":\"keyword\",\"prefix\":true}");
    }
}

static void test_geo(void **state) {
    tu_store *f = *state;
    const char *const pts[] = {
        "{\"loc\":{\"lon\":50.52,\"lat\":50.405}}", "{\"loc\":{\"lon\":60.52,\"lat\":60.405}}",
        "{\"loc\":{\"lon\":-60.52,\"lat\":-60.405}}", "{\"loc\":[{\"lon\":13.4,\"lat\":52.52},{\"lon\":80.52,\"lat\":80.405}]}",
        "{\"loc\":\"nowhere\"}",
    };
    tp_points(f->db, pts, 5);
    const char *radius = "{\"must\":{\"key\":\"loc\",\"geo_radius\":{\"center\":{\"lon\":13.41,\"lat\":52.52},"
                         "\"radius\":2000}}}";
    const char *box = "{\"must\":{\"key\":\"loc\",\"geo_bounding_box\":{\"top_left\":{\"lon\":50,\"lat\":70},"
                      "\"bottom_right\":{\"lon\":70,\"lat\":50}}}}";
    const char *box_am = "{\"must\":{\"key\":\"loc\",\"geo_bounding_box\":{\"top_left\":{\"lon\":170,\"lat\":0},"
                         "\"bottom_right\":{\"lon\":-50,\"lat\":-70}}}}";
    const char *poly = "{\"must\":{\"key\":\"loc\",\"geo_polygon\":{\"exterior\":{\"points\":[{\"lon\":-70,\"lat\":-70},"
                       "{\"lon\":60,\"lat\":-70},{\"lon\":60,\"lat\":60},{\"lon\":-70,\"lat\":60},{\"lon\":-70,\"lat\":-70}]},"
                       "\"interiors\":[{\"points\":[{\"lon\":-65,\"lat\":-65},{\"lon\":0,\"lat\":-65},{\"lon\":0,\"lat\":0},"
                       "{\"lon\":-65,\"lat\":0},{\"lon\":-65,\"lat\":-65}]}]}}}";
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(tp_count(f->db, radius), 1);
        assert_int_equal(tp_count(f->db, box), 2);
        assert_int_equal(tp_count(f->db, box_am), 1);
        assert_int_equal(tp_count(f->db, poly), 2); /* 1 and the Berlin value of 4; 3 is in the hole */
        tp_index(f->db, "loc", "\"geo\"");
    }
    sc_collection_info info;
    assert_int_equal(sc_collection_info_get(f->db, "c", &info), SC_OK);
    assert_int_equal(info.n_field_indexes, 1);
    assert_int_equal(info.field_indexes[0].type, SC_FIELD_TYPE_GEO);
    assert_int_equal(info.field_indexes[0].n_points, 4);
    assert_null(info.field_indexes[0].params_json);
    sc_collection_info_free(&info);
}

static void test_datetime_uuid(void **state) {
    tu_store *f = *state;
    const char *const pts[] = {
        "{\"d\":\"2015-01-01T00:00:00Z\",\"u\":\"a64a8051-3ee7-4881-8bc6-691d25c70d54\"}",
        "{\"d\":\"2015-02-01T08:00:00+02:00\",\"u\":\"7cb46fb3-e348-4762-93ad-7fb983d2b85e\"}",
        "{\"d\":\"2015-03-01T12:30\",\"u\":\"A64A8051-3EE7-4881-8BC6-691D25C70D54\"}",
        "{\"d\":\"yesterday\",\"u\":\"not a uuid\"}",
    };
    tp_points(f->db, pts, 4);
    const char *feb = "{\"must\":{\"key\":\"d\",\"range\":{\"gte\":\"2015-02-01T06:00:00\",\"lte\":\"2015-02-01T06:00Z\"}}}";
    const char *after = "{\"must\":{\"key\":\"d\",\"range\":{\"gt\":\"2015-01-01\"}}}";
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(tp_count(f->db, feb), 1);
        assert_int_equal(tp_count(f->db, after), 2);
        assert_int_equal(tp_match(f->db, "u", "value", "a64a8051-3ee7-4881-8bc6-691d25c70d54"), 1);
        tp_index(f->db, "d", "{\"type\":\"datetime\",\"is_principal\":true}");
        tp_index(f->db, "u", "\"uuid\"");
    }
    /* a bound that is no RFC 3339 date-time is refused */
    uint64_t n;
    assert_int_equal(sc_points_count(f->db, "c", "{\"must\":{\"key\":\"d\",\"range\":{\"gte\":\"20150201\"}}}", &n),
                     SC_INVALID);
    /* uuid facets count canonical UUIDs */
    sc_facet_hit *hits = NULL;
    size_t nh = 0;
    assert_int_equal(sc_points_facet(f->db, "c", "u", NULL, 10, &hits, &nh), SC_OK);
    assert_int_equal(nh, 2);
    assert_string_equal(hits[0].value_json, "\"a64a8051-3ee7-4881-8bc6-691d25c70d54\"");
    assert_int_equal(hits[0].count, 2);
    sc_facet_hits_free(hits, nh);
}

static void test_facets(void **state) {
    tu_store *f = *state;
    const char *const pts[] = {
        "{\"city\":\"Berlin\",\"n\":3,\"b\":true}",  "{\"city\":[\"Berlin\",\"London\"],\"n\":3,\"b\":true}",
        "{\"city\":\"Berlin\",\"n\":0,\"b\":false}", "{\"city\":[\"London\",\"Moscow\",\"London\"],\"n\":1}",
        "{\"city\":\"Moscow\",\"n\":0,\"b\":true}",  "{\"n\":2.5}",
    };
    tp_points(f->db, pts, 6);
    sc_facet_hit *h = NULL;
    size_t n = 0;
    /* no index: Qdrant's message */
    assert_int_equal(sc_points_facet(f->db, "c", "city", NULL, 10, &h, &n), SC_INVALID);
    assert_non_null(strstr(sc_db_errmsg(f->db), "No appropriate index for faceting: `city`"));
    tp_index(f->db, "city", "\"keyword\"");
    tp_index(f->db, "n", "{\"type\":\"integer\",\"lookup\":true,\"range\":false}");
    tp_index(f->db, "b", "\"bool\"");
    assert_int_equal(sc_points_facet(f->db, "c", "city", NULL, 10, &h, &n), SC_OK);
    /* by count, then value; a point counts once per value */
    assert_int_equal(n, 3);
    assert_string_equal(h[0].value_json, "\"Berlin\"");
    assert_int_equal(h[0].count, 3);
    assert_string_equal(h[1].value_json, "\"London\"");
    assert_int_equal(h[1].count, 2);
    assert_string_equal(h[2].value_json, "\"Moscow\"");
    sc_facet_hits_free(h, n);
    assert_int_equal(sc_points_facet(f->db, "c", "city", "{\"must\":{\"key\":\"b\",\"match\":{\"value\":true}}}", 1, &h,
                                     &n),
                     SC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].value_json, "\"Berlin\"");
    assert_int_equal(h[0].count, 2);
    sc_facet_hits_free(h, n);
    assert_int_equal(sc_points_facet(f->db, "c", "n", NULL, 10, &h, &n), SC_OK);
    assert_int_equal(n, 3); /* 2.5 is no integer */
    assert_string_equal(h[0].value_json, "0");
    assert_string_equal(h[1].value_json, "3");
    assert_string_equal(h[2].value_json, "1");
    sc_facet_hits_free(h, n);
    assert_int_equal(sc_points_facet(f->db, "c", "b", NULL, 10, &h, &n), SC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(h[0].value_json, "true");
    assert_int_equal(h[0].count, 3);
    sc_facet_hits_free(h, n);
}

static void test_schemas(void **state) {
    tu_store *f = *state;
    tp_points(f->db, tp_phrases, 1);
    static const struct {
        const char *schema; /* field_schema */
        const char *msg;    /* expected part of the message */
    } bad[] = {
        {"{\"type\":\"integer\",\"lookup\":false,\"range\":false}",
         "Validation error: the 'lookup' and 'range' capabilities can't be both disabled"},
        {"\"vector\"", "unknown type `vector`"},
        {"{\"type\":\"text\",\"tokenizer\":\"ngram\"}", "unknown tokenizer ngram"},
        {"{\"type\":\"text\",\"stopwords\":\"klingon\"}", "klingon"},
        {"{\"type\":\"text\",\"stemmer\":{\"type\":\"snowball\",\"language\":\"klingon\"}}", "klingon"},
        {"{\"type\":\"keyword\",\"lookup\":true}", "unknown option `lookup` for a keyword index"},
        {"{\"type\":\"text\",\"min_token_len\":-1}", "field_schema.min_token_len"},
        {"{\"type\":\"bool\",\"on_disk\":1}", "field_schema.on_disk: expected a boolean"},
        {"{\"tokenizer\":\"word\"}", "field_schema"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(sc_field_index_create_ex(f->db, "c", "x", bad[i].schema), SC_INVALID);
        if (!strstr(sc_db_errmsg(f->db), bad[i].msg))
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].schema, sc_db_errmsg(f->db), bad[i].msg);
    }
    tp_index(f->db, "t", "{\"type\":\"text\",\"lowercase\":false,\"stopwords\":{\"custom\":[\"The\"]}}");
    tp_index(f->db, "k", "{\"type\":\"keyword\",\"is_tenant\":true,\"on_disk\":true}");
    tp_index(f->db, "i", "\"integer\"");
    assert_int_equal(tp_match(f->db, "t", "text", "The"), 0);
    assert_int_equal(tp_match(f->db, "t", "text", "the"), 1);
    /* definitions survive a reopen, with their options */
    assert_int_equal(tu_store_reopen(f), SC_OK);
    sc_collection_info info;
    assert_int_equal(sc_collection_info_get(f->db, "c", &info), SC_OK);
    assert_int_equal(info.n_field_indexes, 3);
    for (size_t i = 0; i < info.n_field_indexes; i++) {
        const sc_field_index_info *fi = &info.field_indexes[i];
        if (!strcmp(fi->key, "t")) {
            assert_int_equal(fi->type, SC_FIELD_TYPE_TEXT);
            assert_int_equal(fi->n_points, 1);
            assert_non_null(strstr(fi->params_json, "\"tokenizer\":\"word\"")); /* Qdrant's default, reported */
            assert_non_null(strstr(fi->params_json, "\"custom\":[\"The\"]"));
        } else if (!strcmp(fi->key, "k")) {
            assert_string_equal(fi->params_json, "{\"type\":\"keyword\",\"is_tenant\":true,\"on_disk\":true}");
        } else {
            assert_null(fi->params_json);
        }
    }
    sc_collection_info_free(&info);
    assert_int_equal(tp_match(f->db, "t", "text", "The"), 0);
    assert_int_equal(tp_match(f->db, "t", "text", "the"), 1);
    /* the same schema again is kept, another replaces it */
    tp_index(f->db, "t", "{\"type\":\"text\",\"lowercase\":false,\"stopwords\":{\"custom\":[\"The\"]}}");
    tp_index(f->db, "t", "\"keyword\"");
    assert_int_equal(tp_match(f->db, "t", "text", "the"), 1); /* substring again */
    assert_int_equal(tp_match(f->db, "t", "text", "he qu"), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizers),
        cmocka_unit_test(test_token_filters),
        cmocka_unit_test_setup_teardown(test_text_match, tp_setup, tp_teardown),
        cmocka_unit_test_setup_teardown(test_nested_text, tp_setup, tp_teardown),
        cmocka_unit_test_setup_teardown(test_prefix_match, tp_setup, tp_teardown),
        cmocka_unit_test_setup_teardown(test_geo, tp_setup, tp_teardown),
        cmocka_unit_test_setup_teardown(test_datetime_uuid, tp_setup, tp_teardown),
        cmocka_unit_test_setup_teardown(test_facets, tp_setup, tp_teardown),
        cmocka_unit_test_setup_teardown(test_schemas, tp_setup, tp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
