/*
** text/hftok_load: reading a Hugging Face tokenizer (tokenizer.json, or
** vocab.txt / vocab.json + merges.txt), the vocabulary table, added tokens
** and post-processing. Encoding is in hftok_encode.c, the helpers the
** loader shares with the two models in hftok_util.c.
**
** tokenizer.json fields read: model.type (WordPiece | BPE), model.vocab,
** model.unk_token, model.continuing_subword_prefix,
** model.max_input_chars_per_word, model.merges ("a b" strings or [a, b]
** pairs), normalizer (BertNormalizer, Lowercase, or a Sequence of them;
** null), pre_tokenizer (BertPreTokenizer, Whitespace, ByteLevel, or a
** Sequence), added_tokens, post_processor (TemplateProcessing,
** BertProcessing, RobertaProcessing, a Sequence holding one, or null).
** Anything else is reported as unsupported with the field named.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <utf8proc.h>

#include "text/hftok_int.h"

/* ==== Vocabulary ==== */

/* Record token string s as id (ids may arrive in any order; a second string
** for the same id is an error, a second id for the same string is kept
** unreachable like the reference does with duplicates). */
static sc_status hftok__add(text_hftok *tok, const char *s, uint32_t id, const char *path, sc_err *err) {
    if (id >= tok->n_ids || tok->tok_off[id] != UINT32_MAX)
        return sc_err_set(err, SC_CORRUPT, "%s: vocabulary id %u of token '%.40s' is duplicated or out of range",
                          path, id, s);
    size_t len = strlen(s);
    if (tok->arena_len + len + 1 > tok->arena_cap) {
        size_t nc = (tok->arena_len + len + 1) * 2;
        char *na = realloc(tok->arena, nc);
        if (!na) return sc_err_set(err, SC_NOMEM, "%s: out of memory for the vocabulary", path);
        tok->arena = na;
        tok->arena_cap = nc;
    }
    if (tok->arena_len > UINT32_MAX - len - 1) return sc_err_set(err, SC_CORRUPT, "%s: vocabulary too large", path);
    memcpy(tok->arena + tok->arena_len, s, len + 1);
    tok->tok_off[id] = (uint32_t)tok->arena_len;
    tok->arena_len += len + 1;
    if (hftok_lookup(tok, s, len) >= 0) return SC_OK;
    uint32_t i = hftok_hash(s, len) & tok->map_mask;
    while (tok->map[i]) i = (i + 1) & tok->map_mask;
    tok->map[i] = id + 1;
    return SC_OK;
}

/* Size tables for ids 0..n_ids-1. */
static sc_status hftok__alloc(text_hftok *tok, uint32_t n_ids, const char *path, sc_err *err) {
    if (n_ids == 0 || n_ids > (1u << 24))
        return sc_err_set(err, SC_CORRUPT, "%s: vocabulary of %u tokens", path, n_ids);
    tok->n_ids = n_ids;
    tok->tok_off = malloc((size_t)n_ids * sizeof *tok->tok_off);
    uint32_t cap = 16;
    while (cap < n_ids * 2u) cap *= 2;
    tok->map = calloc(cap, sizeof *tok->map);
    if (!tok->tok_off || !tok->map) return sc_err_set(err, SC_NOMEM, "%s: out of memory", path);
    tok->map_mask = cap - 1;
    for (uint32_t i = 0; i < n_ids; i++) tok->tok_off[i] = UINT32_MAX;
    return SC_OK;
}

/* Give ids that have no string an empty string, so tok_off is always valid. */
static sc_status hftok__fill_gaps(text_hftok *tok, const char *path, sc_err *err) {
    for (uint32_t i = 0; i < tok->n_ids; i++) {
        if (tok->tok_off[i] != UINT32_MAX) continue;
        if (tok->arena_len + 1 > tok->arena_cap) {
            size_t nc = tok->arena_cap * 2 + 16;
            char *na = realloc(tok->arena, nc);
            if (!na) return sc_err_set(err, SC_NOMEM, "%s: out of memory", path);
            tok->arena = na;
            tok->arena_cap = nc;
        }
        tok->arena[tok->arena_len] = '\0';
        tok->tok_off[i] = (uint32_t)tok->arena_len++;
    }
    return SC_OK;
}

static text_hftok *hftok__new(void) {
    text_hftok *tok = calloc(1, sizeof *tok);
    if (!tok) return NULL;
    tok->unk_id = -1;
    memcpy(tok->wp_prefix, "##", 3);
    tok->wp_prefix_len = 2;
    tok->wp_max_chars = 100;
    for (int b = 0; b < 256; b++) tok->byte_id[b] = -1;
    return tok;
}

void text_hftok_free(text_hftok *tok) {
    if (!tok) return;
    free(tok->arena);
    free(tok->tok_off);
    free(tok->map);
    free(tok->merge_key);
    free(tok->merge_rank);
    free(tok->merge_out);
    free(tok->added);
    free(tok);
}

uint32_t text_hftok_vocab_size(const text_hftok *tok) { return tok->n_ids; }

int32_t text_hftok_token_id(const text_hftok *tok, const char *s) { return hftok_lookup(tok, s, strlen(s)); }

const char *text_hftok_kind(const text_hftok *tok) { return tok->kind == HFTOK_KIND_BPE ? "bpe" : "wordpiece"; }

/* ==== tokenizer.json ==== */

static sc_status hftok__normalizer(text_hftok *tok, json_t *n, const char *path, sc_err *err) {
    if (!n || json_is_null(n)) return SC_OK;
    const char *type = json_string_value(json_object_get(n, "type"));
    if (!type) return sc_err_set(err, SC_CORRUPT, "%s: normalizer has no type", path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(n, "normalizers");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) {
            sc_status rc = hftok__normalizer(tok, v, path, err);
            if (rc != SC_OK) return rc;
        }
        return SC_OK;
    }
    if (!strcmp(type, "BertNormalizer")) {
        tok->norm_bert = true;
        json_t *ct = json_object_get(n, "clean_text"), *cc = json_object_get(n, "handle_chinese_chars"),
               *sa = json_object_get(n, "strip_accents"), *lc = json_object_get(n, "lowercase");
        tok->clean_text = ct ? json_is_true(ct) : true;
        tok->chinese = cc ? json_is_true(cc) : true;
        tok->lowercase = lc ? json_is_true(lc) : true;
        tok->strip_accents = (sa && !json_is_null(sa)) ? json_is_true(sa) : tok->lowercase;
        return SC_OK;
    }
    if (!strcmp(type, "Lowercase")) {
        tok->norm_bert = true;
        tok->lowercase = true;
        return SC_OK;
    }
    if (!strcmp(type, "StripAccents") || !strcmp(type, "NFD")) {
        tok->norm_bert = true;
        tok->strip_accents = true;
        return SC_OK;
    }
    return sc_err_set(err, SC_UNSUPPORTED, "%s: normalizer type '%.40s' is not supported", path, type);
}

static sc_status hftok__pretok(text_hftok *tok, json_t *p, const char *path, sc_err *err) {
    if (!p || json_is_null(p)) return SC_OK;
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!type) return sc_err_set(err, SC_CORRUPT, "%s: pre_tokenizer has no type", path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(p, "pretokenizers");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) {
            sc_status rc = hftok__pretok(tok, v, path, err);
            if (rc != SC_OK) return rc;
        }
        return SC_OK;
    }
    if (!strcmp(type, "BertPreTokenizer") || !strcmp(type, "Whitespace")) {
        if (tok->kind != HFTOK_KIND_WORDPIECE) goto unsupported;
        tok->pretok_bert = true;
        return SC_OK;
    }
    if (!strcmp(type, "WhitespaceSplit")) {
        if (tok->kind != HFTOK_KIND_WORDPIECE) goto unsupported;
        return SC_OK;
    }
    if (!strcmp(type, "ByteLevel")) {
        if (tok->kind != HFTOK_KIND_BPE) goto unsupported;
        tok->add_prefix_space = json_is_true(json_object_get(p, "add_prefix_space"));
        json_t *ur = json_object_get(p, "use_regex");
        if (ur && !json_is_true(ur))
            return sc_err_set(err, SC_UNSUPPORTED, "%s: ByteLevel pre_tokenizer without use_regex", path);
        return SC_OK;
    }
unsupported:
    return sc_err_set(err, SC_UNSUPPORTED, "%s: pre_tokenizer type '%.40s' is not supported with a %s model", path,
                      type, text_hftok_kind(tok));
}

/* Id of special token named by s (string) in the vocabulary or added tokens. */
static int32_t hftok__special(const text_hftok *tok, json_t *s) {
    if (json_is_array(s) && json_array_size(s) == 2 && json_is_integer(json_array_get(s, 1))) {
        json_int_t id = json_integer_value(json_array_get(s, 1));
        return id >= 0 && (uint64_t)id < tok->n_ids ? (int32_t)id : -1;
    }
    return -1;
}

static sc_status hftok__post(text_hftok *tok, json_t *p, const char *path, sc_err *err) {
    if (!p || json_is_null(p)) return SC_OK;
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!type) return sc_err_set(err, SC_CORRUPT, "%s: post_processor has no type", path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(p, "processors");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) {
            sc_status rc = hftok__post(tok, v, path, err);
            if (rc != SC_OK) return rc;
        }
        return SC_OK;
    }
    if (!strcmp(type, "ByteLevel")) return SC_OK; /* offsets only */
    if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
        int32_t cls = hftok__special(tok, json_object_get(p, "cls")), sep = hftok__special(tok, json_object_get(p, "sep"));
        if (cls < 0 || sep < 0)
            return sc_err_set(err, SC_CORRUPT, "%s: post_processor %s needs cls and sep as [token, id]", path, type);
        tok->pre[0] = cls;
        tok->n_pre = 1;
        tok->post[0] = sep;
        tok->n_post = 1;
        return SC_OK;
    }
    if (!strcmp(type, "TemplateProcessing")) {
        json_t *single = json_object_get(p, "single"), *specials = json_object_get(p, "special_tokens");
        if (!json_is_array(single))
            return sc_err_set(err, SC_CORRUPT, "%s: post_processor.single is not an array", path);
        bool seen_seq = false;
        tok->n_pre = tok->n_post = 0;
        size_t i;
        json_t *v;
        json_array_foreach(single, i, v) {
            if (json_object_get(v, "Sequence")) {
                seen_seq = true;
                continue;
            }
            json_t *st = json_object_get(v, "SpecialToken");
            const char *name = json_string_value(json_object_get(st, "id"));
            json_t *ids = json_object_get(json_object_get(specials, name ? name : ""), "ids");
            if (!name || !json_is_array(ids))
                return sc_err_set(err, SC_CORRUPT, "%s: post_processor.single[%zu] names no known special token",
                                  path, i);
            size_t k;
            json_t *idv;
            json_array_foreach(ids, k, idv) {
                json_int_t id = json_integer_value(idv);
                if (!json_is_integer(idv) || id < 0 || (uint64_t)id >= tok->n_ids)
                    return sc_err_set(err, SC_CORRUPT, "%s: special token '%.40s' has a bad id", path, name);
                if (!seen_seq && tok->n_pre < 4)
                    tok->pre[tok->n_pre++] = (int32_t)id;
                else if (seen_seq && tok->n_post < 4)
                    tok->post[tok->n_post++] = (int32_t)id;
                else
                    return sc_err_set(err, SC_UNSUPPORTED, "%s: more than 4 special tokens on one side", path);
            }
        }
        return SC_OK;
    }
    return sc_err_set(err, SC_UNSUPPORTED, "%s: post_processor type '%.40s' is not supported", path, type);
}

static sc_status hftok__model(text_hftok *tok, json_t *model, const char *path, sc_err *err) {
    const char *type = json_string_value(json_object_get(model, "type"));
    json_t *vocab = json_object_get(model, "vocab");
    if (!type) {
        /* Older files omit model.type: BPE when merges are present. */
        type = json_object_get(model, "merges") ? "BPE" : "WordPiece";
    }
    if (!strcmp(type, "WordPiece"))
        tok->kind = HFTOK_KIND_WORDPIECE;
    else if (!strcmp(type, "BPE"))
        tok->kind = HFTOK_KIND_BPE;
    else
        return sc_err_set(err, SC_UNSUPPORTED, "%s: model.type '%.40s' is not supported (WordPiece, BPE)", path, type);
    if (!json_is_object(vocab)) return sc_err_set(err, SC_CORRUPT, "%s: model.vocab is not an object", path);
    uint32_t n_ids = 0;
    const char *key;
    json_t *v;
    json_object_foreach(vocab, key, v) {
        json_int_t id = json_integer_value(v);
        if (!json_is_integer(v) || id < 0 || id >= (1 << 24))
            return sc_err_set(err, SC_CORRUPT, "%s: model.vocab['%.40s'] is not an id", path, key);
        if ((uint32_t)id + 1 > n_ids) n_ids = (uint32_t)id + 1;
    }
    sc_status rc = hftok__alloc(tok, n_ids ? n_ids : 1, path, err);
    if (rc != SC_OK) return rc;
    json_object_foreach(vocab, key, v) {
        rc = hftok__add(tok, key, (uint32_t)json_integer_value(v), path, err);
        if (rc != SC_OK) return rc;
    }
    rc = hftok__fill_gaps(tok, path, err);
    if (rc != SC_OK) return rc;
    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    if (unk) tok->unk_id = hftok_lookup(tok, unk, strlen(unk));
    if (tok->kind == HFTOK_KIND_WORDPIECE) {
        const char *pfx = json_string_value(json_object_get(model, "continuing_subword_prefix"));
        if (pfx) {
            if (strlen(pfx) >= sizeof tok->wp_prefix)
                return sc_err_set(err, SC_UNSUPPORTED, "%s: continuing_subword_prefix too long", path);
            strcpy(tok->wp_prefix, pfx);
            tok->wp_prefix_len = strlen(pfx);
        }
        json_t *mc = json_object_get(model, "max_input_chars_per_word");
        if (json_is_integer(mc) && json_integer_value(mc) > 0) tok->wp_max_chars = (uint32_t)json_integer_value(mc);
        return SC_OK;
    }
    const char *cs = json_string_value(json_object_get(model, "continuing_subword_prefix")),
               *ew = json_string_value(json_object_get(model, "end_of_word_suffix"));
    if ((cs && *cs) || (ew && *ew))
        return sc_err_set(err, SC_UNSUPPORTED, "%s: BPE with a subword prefix or end-of-word suffix", path);
    json_t *merges = json_object_get(model, "merges");
    if (!json_is_array(merges)) return sc_err_set(err, SC_CORRUPT, "%s: model.merges is not an array", path);
    size_t nm = json_array_size(merges);
    int32_t *l = malloc((nm + 1) * sizeof *l), *r = malloc((nm + 1) * sizeof *r);
    if (!l || !r) {
        free(l);
        free(r);
        return sc_err_set(err, SC_NOMEM, "%s: out of memory for merges", path);
    }
    uint32_t n = 0;
    size_t i;
    json_array_foreach(merges, i, v) {
        const char *a = NULL, *b = NULL;
        size_t al = 0;
        if (json_is_string(v)) {
            a = json_string_value(v);
            const char *sp = strchr(a, ' ');
            if (!sp) {
                rc = sc_err_set(err, SC_CORRUPT, "%s: model.merges[%zu] is not 'a b'", path, i);
                break;
            }
            al = (size_t)(sp - a);
            b = sp + 1;
        } else if (json_is_array(v) && json_array_size(v) == 2) {
            a = json_string_value(json_array_get(v, 0));
            b = json_string_value(json_array_get(v, 1));
            al = a ? strlen(a) : 0;
        }
        if (!a || !b) {
            rc = sc_err_set(err, SC_CORRUPT, "%s: model.merges[%zu] is not a pair", path, i);
            break;
        }
        int32_t ia = hftok_lookup(tok, a, al), ib = hftok_lookup(tok, b, strlen(b));
        if (ia < 0 || ib < 0) continue; /* cannot apply: its parts never appear */
        l[n] = ia;
        r[n++] = ib;
    }
    if (rc == SC_OK) rc = bpe_merges_build(tok, l, r, n, err);
    free(l);
    free(r);
    if (rc == SC_OK) bpe_bytes_init(tok);
    return rc;
}

static sc_status hftok__added(text_hftok *tok, json_t *list, const char *path, sc_err *err) {
    if (!list || json_is_null(list)) return SC_OK;
    if (!json_is_array(list)) return sc_err_set(err, SC_CORRUPT, "%s: added_tokens is not an array", path);
    tok->added = malloc((json_array_size(list) + 1) * sizeof *tok->added);
    if (!tok->added) return sc_err_set(err, SC_NOMEM, "%s: out of memory", path);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        json_t *idv = json_object_get(v, "id");
        const char *content = json_string_value(json_object_get(v, "content"));
        json_int_t id = json_integer_value(idv);
        if (!json_is_integer(idv) || !content || id < 0 || (uint64_t)id >= tok->n_ids)
            return sc_err_set(err, SC_CORRUPT, "%s: added_tokens[%zu] needs an id within the vocabulary and a content",
                              path, i);
        const char *have = tok->arena + tok->tok_off[id];
        if (strcmp(have, content) != 0)
            return sc_err_set(err, SC_CORRUPT, "%s: added_tokens[%zu] '%.40s' has id %lld, which the vocabulary gives to '%.40s'",
                              path, i, content, (long long)id, have);
        if (!*content) continue;
        tok->added[tok->n_added++] = (int32_t)id;
    }
    return SC_OK;
}

sc_status text_hftok_load_json(const char *json, size_t len, const char *path, text_hftok **out, sc_err *err) {
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) return sc_err_set(err, SC_CORRUPT, "%s: JSON: %s at line %d", path, jerr.text, jerr.line);
    sc_status rc;
    text_hftok *tok = hftok__new();
    if (!tok) {
        rc = sc_err_set(err, SC_NOMEM, "%s: out of memory", path);
        goto done;
    }
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(model)) {
        rc = sc_err_set(err, SC_CORRUPT, "%s: no model object", path);
        goto done;
    }
    rc = hftok__model(tok, model, path, err);
    if (rc == SC_OK) rc = hftok__normalizer(tok, json_object_get(root, "normalizer"), path, err);
    if (rc == SC_OK) rc = hftok__pretok(tok, json_object_get(root, "pre_tokenizer"), path, err);
    if (rc == SC_OK) rc = hftok__added(tok, json_object_get(root, "added_tokens"), path, err);
    if (rc == SC_OK) rc = hftok__post(tok, json_object_get(root, "post_processor"), path, err);
done:
    json_decref(root);
    if (rc != SC_OK) {
        text_hftok_free(tok);
        return rc;
    }
    *out = tok;
    return SC_OK;
}

/* ==== Older files ==== */

static sc_status hftok__load_vocab_txt(const char *dir, const char *path, text_hftok **out, sc_err *err) {
    size_t len = 0;
    char *txt = util_read_file(path, &len);
    if (!txt) return sc_err_set(err, SC_IOERR, "%s: cannot read", path);
    uint32_t n = 0;
    for (size_t i = 0; i < len; i++) n += txt[i] == '\n';
    if (len && txt[len - 1] != '\n') n++;
    sc_status rc;
    text_hftok *tok = hftok__new();
    if (!tok) {
        free(txt);
        return sc_err_set(err, SC_NOMEM, "%s: out of memory", path);
    }
    tok->kind = HFTOK_KIND_WORDPIECE;
    rc = hftok__alloc(tok, n ? n : 1, path, err);
    uint32_t id = 0;
    for (char *p = txt; rc == SC_OK && p < txt + len; id++) {
        char *nl = memchr(p, '\n', (size_t)(txt + len - p));
        char *e = nl ? nl : txt + len;
        if (e > p && e[-1] == '\r') e[-1] = '\0';
        *e = '\0';
        if (tok->tok_off[id] == UINT32_MAX && hftok_lookup(tok, p, strlen(p)) < 0)
            rc = hftok__add(tok, p, id, path, err);
        p = e + 1;
    }
    if (rc == SC_OK) rc = hftok__fill_gaps(tok, path, err);
    free(txt);
    if (rc != SC_OK) {
        text_hftok_free(tok);
        return rc;
    }
    /* BERT defaults; tokenizer_config.json may turn lower-casing off. */
    tok->norm_bert = tok->clean_text = tok->chinese = tok->lowercase = true;
    tok->pretok_bert = true;
    char cfg[4096];
    snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", dir);
    json_t *c = json_load_file(cfg, 0, NULL);
    json_t *dl = json_object_get(c, "do_lower_case");
    if (dl && json_is_false(dl)) tok->lowercase = false;
    json_t *sa = json_object_get(c, "strip_accents");
    tok->strip_accents = (sa && !json_is_null(sa)) ? json_is_true(sa) : tok->lowercase;
    json_decref(c);
    tok->unk_id = text_hftok_token_id(tok, "[UNK]");
    /* The special tokens are never split, as the reference's never_split list. */
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    tok->added = malloc(5 * sizeof *tok->added);
    if (!tok->added) {
        text_hftok_free(tok);
        return sc_err_set(err, SC_NOMEM, "%s: out of memory", path);
    }
    for (int i = 0; i < 5; i++) {
        int32_t sid = text_hftok_token_id(tok, specials[i]);
        if (sid >= 0) tok->added[tok->n_added++] = sid;
    }
    int32_t cls = text_hftok_token_id(tok, "[CLS]"), sep = text_hftok_token_id(tok, "[SEP]");
    if (cls >= 0 && sep >= 0) {
        tok->pre[tok->n_pre++] = cls;
        tok->post[tok->n_post++] = sep;
    }
    *out = tok;
    return SC_OK;
}

/* vocab.json + merges.txt: rebuild a tokenizer.json text and load that. */
static sc_status hftok__load_bpe_files(const char *vpath, const char *mpath, text_hftok **out, sc_err *err) {
    json_t *vocab = json_load_file(vpath, 0, NULL);
    if (!json_is_object(vocab)) {
        json_decref(vocab);
        return sc_err_set(err, SC_CORRUPT, "%s: not a JSON object", vpath);
    }
    size_t len = 0;
    char *txt = util_read_file(mpath, &len);
    if (!txt) {
        json_decref(vocab);
        return sc_err_set(err, SC_IOERR, "%s: cannot read", mpath);
    }
    json_t *merges = json_array();
    for (char *p = txt; p < txt + len;) {
        char *nl = memchr(p, '\n', (size_t)(txt + len - p));
        char *e = nl ? nl : txt + len;
        if (e > p && e[-1] == '\r') e--;
        if (e > p && !(p[0] == '#' && p == txt)) json_array_append_new(merges, json_stringn(p, (size_t)(e - p)));
        p = (nl ? nl : txt + len) + 1;
    }
    free(txt);
    json_t *cls = json_object_get(vocab, "<s>"), *sep = json_object_get(vocab, "</s>");
    json_t *root = json_pack("{s:{s:s,s:O,s:o},s:{s:s,s:b},s:n}", "model", "type", "BPE", "vocab", vocab, "merges",
                             merges, "pre_tokenizer", "type", "ByteLevel", "add_prefix_space", 0, "normalizer");
    if (root && cls && sep)
        json_object_set_new(root, "post_processor",
                            json_pack("{s:s,s:[s,O],s:[s,O]}", "type", "RobertaProcessing", "cls", "<s>", cls, "sep",
                                      "</s>", sep));
    /* The RoBERTa special tokens are never split. */
    static const char *const specials[] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>"};
    json_t *added = json_array();
    for (int i = 0; i < 5; i++) {
        json_t *id = json_object_get(vocab, specials[i]);
        if (json_is_integer(id))
            json_array_append_new(added, json_pack("{s:O,s:s}", "id", id, "content", specials[i]));
    }
    if (root) json_object_set(root, "added_tokens", added);
    json_decref(added);
    json_decref(vocab);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text) return sc_err_set(err, SC_NOMEM, "%s: out of memory", mpath);
    sc_status rc = text_hftok_load_json(text, strlen(text), mpath, out, err);
    free(text);
    if (rc == SC_OK && text_hftok_token_id(*out, "<unk>") >= 0) (*out)->unk_id = text_hftok_token_id(*out, "<unk>");
    return rc;
}

sc_status text_hftok_load_dir(const char *dir, text_hftok **out, sc_err *err) {
    char path[4096], path2[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    size_t len = 0;
    char *txt = util_read_file(path, &len);
    if (txt) {
        sc_status rc = text_hftok_load_json(txt, len, path, out, err);
        free(txt);
        return rc;
    }
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        return hftok__load_vocab_txt(dir, path, out, err);
    }
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    snprintf(path2, sizeof path2, "%s/merges.txt", dir);
    f = fopen(path, "rb");
    if (f) {
        fclose(f);
        return hftok__load_bpe_files(path, path2, out, err);
    }
    return sc_err_set(err, SC_NOTFOUND, "%s: no tokenizer.json, vocab.txt or vocab.json + merges.txt", dir);
}
