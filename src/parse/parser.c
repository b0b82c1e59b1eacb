/*
** parse/parser.c: the sc_parser object and one file's journey through it:
** classify the bytes (empty, binary, too large, minified, generated),
** detect the language, run tree-sitter with its error recovery, extract
** entities (extract.c), add chunks (chunk.c). Also the result arena.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse_int.h"

/* ==== Arena ==== */

void *parse_arena_alloc(parse_arena *a, size_t n) {
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        parse_block *b = malloc(sizeof *b + cap);
        if (!b) { a->oom = true; return NULL; }
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

char *parse_arena_strndup(parse_arena *a, const char *s, size_t n) {
    char *d = parse_arena_alloc(a, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

void parse_arena_free(parse_arena *a) {
    parse_block *b = a->head;
    while (b) {
        parse_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

/* ==== Results ==== */

sc_entity *parse_result_push(parse_result_int *r) {
    if (!util_grow_u32(&r->ents, &r->cap, (size_t)r->pub.n_entities + 1, sizeof *r->ents, 16)) return NULL;
    r->pub.entities = r->ents;
    sc_entity *e = &r->ents[r->pub.n_entities++];
    memset(e, 0, sizeof *e);
    return e;
}

static parse_result_int *parse__result_new(const char *path, sc_lang lang, uint64_t size) {
    parse_result_int *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->pub.path = parse_arena_strndup(&r->arena, path ? path : "", path ? strlen(path) : 0);
    r->pub.lang = lang;
    r->pub.size = size;
    if (r->arena.oom) {
        parse_arena_free(&r->arena);
        free(r);
        return NULL;
    }
    return r;
}

sc_parse_result *parse_result_new_skipped(const char *path, sc_lang lang, uint64_t size, sc_skip_reason why) {
    parse_result_int *r = parse__result_new(path, lang, size);
    if (!r) return NULL;
    r->pub.skipped = why;
    return &r->pub;
}

void sc_parse_result_free(sc_parse_result *r) {
    if (!r) return;
    parse_result_int *ri = (parse_result_int *)r;
    parse_arena_free(&ri->arena);
    free(ri->ents);
    free(ri->calls);
    free(ri->imports);
    free(ri);
}

/* ==== Options and classification ==== */

sc_parse_options sc_parse_options_default(void) {
    return (sc_parse_options){
        .lang = SC_LANG_UNKNOWN,
        .with_body = false,
        .with_chunks = true,
        .chunk_lines = 40,
        .chunk_overlap = 8,
        .chunk_max_bytes = 8192,
        .min_chunk_chars = 8,
        .max_file_size = 2u << 20,
        .minified_line_length = 1000,
        .skip_generated = true,
        .go_import_path = NULL,
    };
}

static bool parse__ends_with(const char *s, size_t n, const char *suffix) {
    size_t k = strlen(suffix);
    return n >= k && !memcmp(s + n - k, suffix, k);
}

bool parse_path_is_generated(const char *path) {
    if (!path) return false;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    static const char *const suffixes[] = {
        ".min.js", ".min.css", ".min.mjs", ".bundle.js", ".pb.go", "_pb2.py", "_pb2_grpc.py",
        ".pb.cc", ".pb.h", ".generated.cs", ".g.cs", ".designer.cs", ".js.map", NULL,
    };
    for (int i = 0; suffixes[i]; i++)
        if (parse__ends_with(base, n, suffixes[i])) return true;
    static const char *const names[] = {
        "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "Cargo.lock", "go.sum",
        "composer.lock", "Gemfile.lock", "poetry.lock", NULL,
    };
    for (int i = 0; names[i]; i++)
        if (!strcmp(base, names[i])) return true;
    return false;
}

/* Number of '\n' in s[0, n). */
static size_t parse__count_lines(const char *s, size_t n) {
    size_t k = 0;
    for (const char *p = s, *end = s + n; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) k++;
    return k;
}

sc_skip_reason parse_file_classify(const char *path, const char *head, size_t head_size, uint64_t size,
                                   const sc_parse_options *opt) {
    if (size == 0) return SC_SKIP_EMPTY;
    if (size > opt->max_file_size) return SC_SKIP_TOO_LARGE;
    size_t probe = head_size < 8000 ? head_size : 8000;
    if (head && memchr(head, 0, probe)) return SC_SKIP_BINARY;
    if (opt->skip_generated) {
        if (parse_path_is_generated(path)) return SC_SKIP_GENERATED;
        /* markers in the first lines: "Code generated ... DO NOT EDIT.", "@generated" */
        size_t top = head_size < 1024 ? head_size : 1024;
        for (size_t i = 0; head && i + 9 <= top; i++) {
            if ((head[i] == 'D' && i + 11 <= top && !memcmp(head + i, "DO NOT EDIT", 11)) ||
                (head[i] == '@' && i + 10 <= top && !memcmp(head + i, "@generated", 10)))
                return SC_SKIP_GENERATED;
        }
    }
    if (head && head_size == size) {
        size_t i = 0;
        while (i < head_size && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')) i++;
        if (i == head_size) return SC_SKIP_EMPTY; /* only white space */
        if (opt->minified_line_length && size / (1 + parse__count_lines(head, head_size)) > opt->minified_line_length)
            return SC_SKIP_MINIFIED;
    }
    return SC_SKIP_NONE;
}

/* ==== Parser ==== */

struct sc_parser {
    TSParser *ts;                   /* without the arena: tree-sitter parser, language switched per file */
    parse_tsarena arena;            /* tree-sitter's memory per file (tsalloc.c), unless base is NULL */
    parse_symtab tabs[SC_LANG_COUNT]; /* resolved tables, filled on first use */
    bool with_calls;                /* also extract call sites and imports (parse_parser_set_calls) */
    char errmsg[256];               /* last failure */
};

sc_status sc_parser_new(sc_parser **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!out) return util_errmsg_out(errmsg, SC_MISUSE, "sc_parser_new: NULL out");
    sc_parser *p = calloc(1, sizeof *p);
    /* with the arena, each file gets a fresh TSParser inside its window */
    if (p && !parse_tsarena_init(&p->arena) && !(p->ts = ts_parser_new())) {
        free(p);
        p = NULL;
    }
    if (!p) return util_errmsg_out(errmsg, SC_NOMEM, "out of memory creating a parser");
    *out = p;
    return SC_OK;
}

void sc_parser_free(sc_parser *p) {
    if (!p) return;
    for (int i = 0; i < SC_LANG_COUNT; i++) {
        free(p->tabs[i].role);
        free(p->tabs[i].kind);
        free(p->tabs[i].call_role);
        free(p->tabs[i].call_rule);
    }
    ts_parser_delete(p->ts);
    parse_tsarena_destroy(&p->arena);
    free(p);
}

void parse_parser_set_calls(sc_parser *p, bool on) {
    if (p) p->with_calls = on;
}

const char *sc_parser_errmsg(const sc_parser *p) {
    return p ? p->errmsg : "no parser";
}

/* Resolve node-type names of a language's table into symbol ids. */
static const parse_symtab *parse__symtab(sc_parser *p, const parse_lang_spec *spec) {
    parse_symtab *t = &p->tabs[spec->lang];
    if (t->ts) return t;
    const TSLanguage *lang = spec->language();
    uint32_t n = ts_language_symbol_count(lang);
    uint8_t *role = calloc(n ? n : 1, 1), *kind = calloc(n ? n : 1, 1);
    if (!role || !kind) {
        free(role);
        free(kind);
        return NULL;
    }
    for (uint32_t s = 0; s < n; s++) {
        if (ts_language_symbol_type(lang, (TSSymbol)s) == TSSymbolTypeAuxiliary) continue;
        const char *name = ts_language_symbol_name(lang, (TSSymbol)s);
        bool named = ts_language_symbol_type(lang, (TSSymbol)s) == TSSymbolTypeRegular;
        if (!name || !named) continue;
        for (const parse_rule *r = spec->rules; r->type; r++)
            if (!strcmp(r->type, name)) {
                role[s] = r->role;
                kind[s] = r->kind;
                break;
            }
    }
    for (int f = 0; f < PARSE_F_COUNT; f++)
        t->fields[f] = ts_language_field_id_for_name(lang, parse_field_names[f], (uint32_t)strlen(parse_field_names[f]));
    t->role = role;
    t->kind = kind;
    t->n_symbols = n;
    t->ts = lang;
    return t;
}

static sc_status parse__fail(sc_parser *p, sc_status rc, const char *what, const char *path) {
    snprintf(p->errmsg, sizeof p->errmsg, "%s while parsing '%s'", what, path ? path : "");
    return rc;
}

sc_status sc_parser_parse(sc_parser *p, const char *path, const void *src_v, size_t size,
                          const sc_parse_options *opt_in, sc_parse_result **out) {
    if (!p) return SC_MISUSE;
    if (!out || (!src_v && size)) return parse__fail(p, SC_MISUSE, "NULL output or source", path);
    const char *src = src_v ? src_v : "";
    sc_parse_options opt = opt_in ? *opt_in : sc_parse_options_default();
    double t0 = util_now();
    sc_lang lang = opt.lang != SC_LANG_UNKNOWN ? opt.lang : sc_lang_detect(path, src, size < 256 ? size : 256);
    if (lang == SC_LANG_UNKNOWN) lang = SC_LANG_TEXT;
    if (size > UINT32_MAX) size = UINT32_MAX; /* tree-sitter offsets are 32-bit; classify rejects it anyway */
    parse_result_int *r = parse__result_new(path, lang, size);
    if (!r) return parse__fail(p, SC_NOMEM, "out of memory", path);
    r->pub.skipped = parse_file_classify(path, src, size, size, &opt);
    /* line index (also counts lines of skipped files when cheap) */
    uint32_t *ls = NULL;
    uint32_t n_lines = 0;
    if (r->pub.skipped == SC_SKIP_NONE) {
        size_t cap = 1 + parse__count_lines(src, size);
        ls = malloc(cap * sizeof *ls);
        if (!ls) {
            sc_parse_result_free(&r->pub);
            return parse__fail(p, SC_NOMEM, "out of memory", path);
        }
        ls[n_lines++] = 0;
        /* a line starts after each '\n' but the one ending the file */
        for (const char *q = src, *end = src + size; (q = memchr(q, '\n', (size_t)(end - q))) != NULL && q + 1 < end;)
            ls[n_lines++] = (uint32_t)(++q - src);
        r->pub.n_lines = n_lines;
    }
    if (r->pub.skipped != SC_SKIP_NONE) {
        free(ls);
        r->pub.parse_seconds = util_now() - t0;
        *out = &r->pub;
        return SC_OK;
    }
    parse_ctx ctx = {.src = src, .size = size, .lang = lang, .opt = &opt, .res = r, .line_start = ls,
                     .n_lines = n_lines};
    sc_status rc = SC_OK;
    const parse_lang_spec *spec = parse_lang_spec_get(lang);
    if (spec->language) {
        ctx.tab = parse__symtab(p, spec);
        if (!ctx.tab) rc = SC_NOMEM;
        /* arena window: parser, tree and cursors of this file are dropped
        ** with it, without freeing them block by block (tsalloc.c) */
        bool arena = p->arena.base != NULL;
        TSParser *ts = p->ts;
        if (arena) {
            parse_tsarena_begin(&p->arena);
            ts = ts_parser_new();
        }
        if (rc == SC_OK && !ts_parser_set_language(ts, ctx.tab->ts))
            rc = parse__fail(p, SC_ERROR, "grammar ABI version not supported by the runtime", path);
        TSTree *tree = NULL;
        if (rc == SC_OK) {
            tree = ts_parser_parse_string(ts, NULL, src, (uint32_t)size);
            if (!tree) rc = parse__fail(p, SC_ERROR, "tree-sitter gave no tree", path);
        }
        if (tree) {
            rc = parse_extract_tree(&ctx, tree);
            if (rc == SC_OK && p->with_calls) rc = parse_calls_extract(&ctx, &p->tabs[lang], tree);
            if (!arena || p->arena.spilled) ts_tree_delete(tree);
        }
        if (arena) {
            ts_parser_delete(ts);
            parse_tsarena_end(&p->arena);
        } else {
            ts_parser_reset(ts);
        }
    }
    if (rc == SC_OK) rc = parse_chunk_add(&ctx, path);
    if (rc == SC_OK && r->arena.oom) rc = SC_NOMEM;
    free(ls);
    if (rc != SC_OK) {
        sc_parse_result_free(&r->pub);
        if (rc == SC_NOMEM) return parse__fail(p, rc, "out of memory", path);
        return rc;
    }
    r->pub.parse_seconds = util_now() - t0;
    *out = &r->pub;
    return SC_OK;
}

/* ==== Training pairs ==== */

char *sc_entity_code_without_doc(const sc_entity *e) {
    if (!e || !e->body) return NULL;
    size_t n = (size_t)(e->end_byte - e->start_byte);
    const char *b = e->body;
    if (e->doc_end_byte <= e->doc_start_byte || e->doc_start_byte < e->start_byte || e->doc_end_byte > e->end_byte)
        return util_strdup(b); /* doc outside the body (comment above) or none */
    size_t a = (size_t)(e->doc_start_byte - e->start_byte), z = (size_t)(e->doc_end_byte - e->start_byte);
    /* widen to the whole line when the doc is alone on it */
    size_t la = a;
    while (la > 0 && (b[la - 1] == ' ' || b[la - 1] == '\t')) la--;
    size_t lz = z;
    while (lz < n && (b[lz] == ' ' || b[lz] == '\t' || b[lz] == '\r')) lz++;
    if ((la == 0 || b[la - 1] == '\n') && (lz == n || b[lz] == '\n')) {
        a = la;
        z = lz < n ? lz + 1 : lz;
    }
    char *out = malloc(n - (z - a) + 1);
    if (!out) return NULL;
    memcpy(out, b, a);
    memcpy(out + a, b + z, n - z);
    out[n - (z - a)] = 0;
    return out;
}
