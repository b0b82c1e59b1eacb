/*
** store/pindex_schema.c: Qdrant's `field_schema` of a payload index, parsed
** and checked: a type name ("keyword", "integer", "float", "bool", "uuid",
** "datetime", "text", "geo") or an object {"type": ..., options}.
**
** Options are those of Qdrant v1.19's PayloadSchemaParams; each is checked
** for its JSON type and kept as given (collection info reports them back as
** `params`, with the text tokenizer's default filled in as Qdrant does).
** Storage and graph options (on_disk, memory, is_tenant, is_principal,
** enable_hnsw) change nothing here: every index is in memory and HNSW
** graphs are not built per payload value. Integer indexes answer both
** lookups and ranges whatever `lookup` / `range` say; turning both off is
** refused as in Qdrant. An unknown option is refused with its name.
*/
#include "store/filter_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

void pindex_schema_clear(pindex_schema *s) {
    if (!s) return;
    json_decref(s->params);
    text_ft_free(s->ft);
    memset(s, 0, sizeof *s);
}

/* Options each type accepts besides `type` ("b" boolean, "u" unsigned
** integer, "s" string, "x" checked by the text parser). */
typedef struct pindex__opt {
    const char *name; /* member name */
    char kind;        /* expected JSON type */
} pindex__opt;

static const pindex__opt pindex__opts_common[] = {{"on_disk", 'b'}, {"memory", 's'}, {"enable_hnsw", 'b'}};
static const pindex__opt pindex__opts_keyword[] = {{"is_tenant", 'b'}, {"prefix", 'b'}};
static const pindex__opt pindex__opts_integer[] = {{"lookup", 'b'}, {"range", 'b'}, {"is_principal", 'b'}};
static const pindex__opt pindex__opts_principal[] = {{"is_principal", 'b'}};
static const pindex__opt pindex__opts_uuid[] = {{"is_tenant", 'b'}};
static const pindex__opt pindex__opts_text[] = {
    {"tokenizer", 'x'}, {"min_token_len", 'u'}, {"max_token_len", 'u'}, {"lowercase", 'b'}, {"ascii_folding", 'b'},
    {"phrase_matching", 'b'}, {"stopwords", 'x'}, {"stemmer", 'x'},
};

#define PINDEX__N(a) (sizeof(a) / sizeof *(a))

/* The option `name` of type t, or NULL. */
static const pindex__opt *pindex__opt_find(sc_field_type t, const char *name) {
    const pindex__opt *lists[2] = {pindex__opts_common, NULL};
    size_t ns[2] = {PINDEX__N(pindex__opts_common), 0};
    switch (t) {
    case SC_FIELD_TYPE_KEYWORD: lists[1] = pindex__opts_keyword, ns[1] = PINDEX__N(pindex__opts_keyword); break;
    case SC_FIELD_TYPE_INTEGER: lists[1] = pindex__opts_integer, ns[1] = PINDEX__N(pindex__opts_integer); break;
    case SC_FIELD_TYPE_FLOAT:
    case SC_FIELD_TYPE_DATETIME: lists[1] = pindex__opts_principal, ns[1] = PINDEX__N(pindex__opts_principal); break;
    case SC_FIELD_TYPE_UUID: lists[1] = pindex__opts_uuid, ns[1] = PINDEX__N(pindex__opts_uuid); break;
    case SC_FIELD_TYPE_TEXT: lists[1] = pindex__opts_text, ns[1] = PINDEX__N(pindex__opts_text); break;
    case SC_FIELD_TYPE_BOOL:
    case SC_FIELD_TYPE_GEO: break;
    }
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < ns[l]; i++)
            if (!strcmp(lists[l][i].name, name)) return &lists[l][i];
    return NULL;
}

/* The text index's tokenizer from the options of o (already type-checked). */
static sc_status pindex__text(const json_t *o, pindex_schema *out, sc_err *err) {
    text_ft_params p = {.tokenizer = TEXT_FT_TOKENIZER_WORD, .lowercase = true};
    const char **custom = NULL; /* borrowed strings of stopwords.custom */
    const json_t *v;
    if ((v = json_object_get(o, "tokenizer"))) {
        static const char *const names[] = {"word", "whitespace", "prefix", "multilingual", "code"};
        size_t i = 0;
        while (i < PINDEX__N(names) && !(json_is_string(v) && !strcmp(json_string_value(v), names[i]))) i++;
        if (i == PINDEX__N(names))
            return sc_err_set(err, SC_INVALID,
                              "field_schema.tokenizer: unknown tokenizer %s (expected word, whitespace, prefix, "
                              "multilingual or code)",
                              json_is_string(v) ? json_string_value(v) : "(not a string)");
        p.tokenizer = (text_ft_tokenizer)i;
    }
    if ((v = json_object_get(o, "lowercase"))) p.lowercase = json_is_true(v);
    if ((v = json_object_get(o, "ascii_folding"))) p.ascii_folding = json_is_true(v);
    if ((v = json_object_get(o, "min_token_len"))) p.min_token_len = (uint32_t)json_integer_value(v);
    if ((v = json_object_get(o, "max_token_len"))) p.max_token_len = (uint32_t)json_integer_value(v);
    if ((v = json_object_get(o, "phrase_matching"))) out->phrase = json_is_true(v);
    if ((v = json_object_get(o, "stemmer")) && !json_is_null(v)) {
        const json_t *t = json_object_get(v, "type"), *lang = json_object_get(v, "language");
        if (!json_is_object(v) || !json_is_string(t) || strcmp(json_string_value(t), "snowball") ||
            !json_is_string(lang))
            return sc_err_set(err, SC_INVALID,
                              "field_schema.stemmer: expected {\"type\": \"snowball\", \"language\": \"english\"}");
        if (!text_ft_stemmer_known(json_string_value(lang)))
            return sc_err_set(err, SC_INVALID, "field_schema.stemmer.language: unknown Snowball language `%.60s`",
                              json_string_value(lang));
        p.stemmer = json_string_value(lang);
    }
    if ((v = json_object_get(o, "stopwords")) && !json_is_null(v)) {
        const json_t *langs = json_is_string(v) ? NULL : json_object_get(v, "languages");
        const json_t *cust = json_is_object(v) ? json_object_get(v, "custom") : NULL;
        if (!json_is_string(v) && !json_is_object(v))
            return sc_err_set(err, SC_INVALID,
                              "field_schema.stopwords: expected a language or {\"languages\": [...], \"custom\": [...]}");
        size_t n_langs = json_is_string(v) ? 1 : json_array_size(langs);
        for (size_t i = 0; i < n_langs; i++) {
            const json_t *l = json_is_string(v) ? v : json_array_get(langs, i);
            if (!json_is_string(l) || !text_ft_stop_language_known(json_string_value(l)))
                return sc_err_set(err, SC_INVALID,
                                  "field_schema.stopwords: language %s has no stop-word list in this build (english "
                                  "has; give other words in custom)",
                                  json_is_string(l) ? json_string_value(l) : "(not a string)");
            p.stop_english = true;
        }
        if ((langs && !json_is_array(langs)) || (cust && !json_is_array(cust)))
            return sc_err_set(err, SC_INVALID, "field_schema.stopwords: languages and custom must be arrays of strings");
        size_t n_cust = json_array_size(cust);
        if (n_cust && !(custom = malloc(n_cust * sizeof *custom)))
            return sc_err_set(err, SC_NOMEM, "out of memory reading field_schema.stopwords");
        for (size_t i = 0; i < n_cust; i++) {
            if (!json_is_string(json_array_get(cust, i))) {
                free(custom);
                return sc_err_set(err, SC_INVALID, "field_schema.stopwords.custom[%zu]: expected a string", i);
            }
            custom[i] = json_string_value(json_array_get(cust, i));
        }
        p.stopwords = custom;
        p.n_stopwords = n_cust;
    }
    out->ft = text_ft_new(&p, err);
    free(custom);
    return out->ft ? SC_OK : (err ? err->code : SC_NOMEM);
}

sc_status pindex_schema_parse(const json_t *schema, pindex_schema *out, sc_err *err) {
    memset(out, 0, sizeof *out);
    const json_t *type = json_is_object(schema) ? json_object_get(schema, "type") : schema;
    if (!json_is_string(type))
        return sc_err_set(err, SC_INVALID, "field_schema: expected a type name or an object with a `type`");
    sc_field_type t;
    if (sc_field_type_parse(json_string_value(type), &t) != SC_OK)
        return sc_err_set(err, SC_INVALID,
                          "field_schema: unknown type `%.60s` (expected keyword, integer, float, bool, uuid, datetime, "
                          "text or geo)",
                          json_string_value(type));
    out->type = t;
    sc_status rc = SC_OK;
    if (json_is_object(schema)) {
        const char *name;
        const json_t *v;
        json_object_foreach((json_t *)schema, name, v) {
            if (!strcmp(name, "type") || json_is_null(v)) continue;
            const pindex__opt *o = pindex__opt_find(t, name);
            if (!o) {
                rc = sc_err_set(err, SC_INVALID, "field_schema: unknown option `%.60s` for a %s index", name,
                                sc_field_type_name(t));
                goto fail;
            }
            bool ok = o->kind == 'b' ? json_is_boolean(v)
                      : o->kind == 'u' ? json_is_integer(v) && json_integer_value(v) >= 0 &&
                                             json_integer_value(v) <= UINT32_MAX
                      : o->kind == 's' ? json_is_string(v) : true;
            if (!ok) {
                rc = sc_err_set(err, SC_INVALID, "field_schema.%s: expected %s", name,
                                o->kind == 'b' ? "a boolean" : o->kind == 'u' ? "a non-negative integer" : "a string");
                goto fail;
            }
        }
        if (t == SC_FIELD_TYPE_INTEGER && json_is_false(json_object_get(schema, "lookup")) &&
            json_is_false(json_object_get(schema, "range"))) {
            rc = sc_err_set(err, SC_INVALID,
                            "Validation error in JSON body: [field_schema: Validation error: the 'lookup' and 'range' "
                            "capabilities can't be both disabled]");
            goto fail;
        }
        if (!(out->params = json_deep_copy(schema))) goto nomem;
        if (t == SC_FIELD_TYPE_TEXT && !json_object_get(out->params, "tokenizer") &&
            json_object_set_new(out->params, "tokenizer", json_string("word")) != 0)
            goto nomem;
    }
    if (t == SC_FIELD_TYPE_TEXT) {
        json_t *none = json_object();
        if (!none) goto nomem;
        rc = pindex__text(out->params ? out->params : none, out, err);
        json_decref(none);
        if (rc != SC_OK) goto fail;
    }
    return SC_OK;
nomem:
    rc = sc_err_set(err, SC_NOMEM, "out of memory reading field_schema");
fail:
    pindex_schema_clear(out);
    return rc;
}
