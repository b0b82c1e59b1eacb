/*
** parse/calls.c: the call sites and imports of one file, taken from the
** syntax tree that extraction already walked (issue 19's call graph).
**
** DESIGN. A second pre-order walk of the same tree (parse_iter) looks only
** at call nodes and import nodes, picked by symbol id through a per-grammar
** table resolved once per parser (like lang.c's roles). A call site keeps
** the callee's simple name, the text of its receiver or qualifier ("self",
** "os.path", "http", "Foo::") and the innermost entity around it; nothing
** is resolved here: the resolution needs every file of the repository and
** happens when the graph is read (src/repo/calls.c), so an edit of one file
** never leaves stale edges in the others. Callee expressions of all
** grammars are cut the same way: the last named child is the name, the text
** before it (separators trimmed) the receiver; generic wrappers
** (`f<T>`, `Vec::<u8>`) are looked through.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse_int.h"

#define PARSE__MAX_RECEIVER 160 /* bytes of receiver text kept */
#define PARSE__MAX_CALLNAME 128 /* longer names are not identifiers worth keeping */

/* What a node is to the call walk. */
typedef enum parse__crole {
    PARSE__C_NONE = 0,
    PARSE__C_CALL,   /* callee expression in field f1 */
    PARSE__C_SPLIT,  /* name in field f1, receiver in field f2 (Java, PHP, Ruby) */
    PARSE__C_NEW,    /* constructed type in field f1 (first named child when f1 is NULL) */
    PARSE__C_IMPORT, /* an import of the language (per-language code below) */
    PARSE__C_BIND,   /* x = new T(...) / x = T(...) / T x = ...: x has type T in this entity */
    PARSE__C_FIELD,  /* a field declared with a type: T x; (Java), x *T (Go struct), x: T (TS) */
} parse__crole;

typedef struct parse__crule {
    const char *type; /* node type */
    uint8_t role;     /* parse__crole */
    const char *f1;   /* first field (see the roles) */
    const char *f2;   /* second field or NULL */
} parse__crule;

/* Call and import nodes by language (NULL type ends a table). */
static const parse__crule parse__c_python[] = {
    {"call", PARSE__C_CALL, "function", NULL},
    {"import_statement", PARSE__C_IMPORT, NULL, NULL},
    {"import_from_statement", PARSE__C_IMPORT, NULL, NULL},
    {"assignment", PARSE__C_BIND, "left", "right"},
    {NULL, 0, NULL, NULL}};
static const parse__crule parse__c_js[] = {
    {"call_expression", PARSE__C_CALL, "function", NULL},
    {"new_expression", PARSE__C_NEW, "constructor", NULL},
    {"import_statement", PARSE__C_IMPORT, NULL, NULL},
    {"variable_declarator", PARSE__C_BIND, "name", "value"},
    {"assignment_expression", PARSE__C_BIND, "left", "right"},
    {"public_field_definition", PARSE__C_FIELD, "name", "type"},
    {NULL, 0, NULL, NULL}};
static const parse__crule parse__c_go[] = {
    {"call_expression", PARSE__C_CALL, "function", NULL},
    {"import_spec", PARSE__C_IMPORT, NULL, NULL},
    {"field_declaration", PARSE__C_FIELD, "name", "type"},
    {NULL, 0, NULL, NULL}};
static const parse__crule parse__c_c[] = {
    {"call_expression", PARSE__C_CALL, "function", NULL},
    {"new_expression", PARSE__C_NEW, "type", NULL},
    {"preproc_include", PARSE__C_IMPORT, NULL, NULL},
    {NULL, 0, NULL, NULL}};
static const parse__crule parse__c_java[] = {
    {"method_invocation", PARSE__C_SPLIT, "name", "object"},
    {"object_creation_expression", PARSE__C_NEW, "type", NULL},
    {"import_declaration", PARSE__C_IMPORT, NULL, NULL},
    {"local_variable_declaration", PARSE__C_BIND, "declarator", "type"},
    {"field_declaration", PARSE__C_FIELD, "declarator", "type"},
    {NULL, 0, NULL, NULL}};
static const parse__crule parse__c_rust[] = {
    {"call_expression", PARSE__C_CALL, "function", NULL},
    {"use_declaration", PARSE__C_IMPORT, NULL, NULL},
    {NULL, 0, NULL, NULL}};
static const parse__crule parse__c_csharp[] = {
    {"invocation_expression", PARSE__C_CALL, "function", NULL},
    {"object_creation_expression", PARSE__C_NEW, "type", NULL},
    {NULL, 0, NULL, NULL}};
static const parse__crule parse__c_php[] = {
    {"function_call_expression", PARSE__C_CALL, "function", NULL},
    {"member_call_expression", PARSE__C_SPLIT, "name", "object"},
    {"scoped_call_expression", PARSE__C_SPLIT, "name", "scope"},
    {"object_creation_expression", PARSE__C_NEW, NULL, NULL},
    {NULL, 0, NULL, NULL}};
static const parse__crule parse__c_ruby[] = {
    {"call", PARSE__C_SPLIT, "method", "receiver"},
    {NULL, 0, NULL, NULL}};

static const parse__crule *parse__crules(sc_lang lang) {
    switch (lang) {
    case SC_LANG_PYTHON: return parse__c_python;
    case SC_LANG_JAVASCRIPT:
    case SC_LANG_TYPESCRIPT:
    case SC_LANG_TSX: return parse__c_js;
    case SC_LANG_GO: return parse__c_go;
    case SC_LANG_C:
    case SC_LANG_CPP: return parse__c_c;
    case SC_LANG_JAVA: return parse__c_java;
    case SC_LANG_RUST: return parse__c_rust;
    case SC_LANG_CSHARP: return parse__c_csharp;
    case SC_LANG_PHP: return parse__c_php;
    case SC_LANG_RUBY: return parse__c_ruby;
    default: return NULL;
    }
}

/* ==== Per-grammar table ==== */

/* Resolve the call table of t's grammar (once); false when out of memory. */
static bool parse__ctab(parse_symtab *t, sc_lang lang) {
    if (t->call_role) return true;
    const parse__crule *rules = parse__crules(lang);
    uint32_t n = t->n_symbols ? t->n_symbols : 1;
    uint8_t *role = calloc(n, 1);
    uint8_t *rule = calloc(n, 1);
    if (!role || !rule) {
        free(role);
        free(rule);
        return false;
    }
    for (uint32_t s = 0; rules && s < t->n_symbols; s++) {
        if (ts_language_symbol_type(t->ts, (TSSymbol)s) != TSSymbolTypeRegular) continue;
        const char *name = ts_language_symbol_name(t->ts, (TSSymbol)s);
        for (uint32_t i = 0; name && rules[i].type; i++)
            if (!strcmp(rules[i].type, name)) {
                role[s] = rules[i].role;
                rule[s] = (uint8_t)i;
                break;
            }
    }
    for (uint32_t i = 0; rules && rules[i].type && i < 16; i++) {
        t->call_f1[i] = rules[i].f1 ? ts_language_field_id_for_name(t->ts, rules[i].f1, (uint32_t)strlen(rules[i].f1)) : 0;
        t->call_f2[i] = rules[i].f2 ? ts_language_field_id_for_name(t->ts, rules[i].f2, (uint32_t)strlen(rules[i].f2)) : 0;
    }
    t->call_role = role;
    t->call_rule = rule;
    return true;
}

/* ==== Helpers ==== */

typedef struct parse__cwalk {
    parse_ctx *ctx;             /* file */
    const parse__crule *rules;  /* its language's table */
    parse_call *calls;          /* growable (malloc), moved to the result */
    uint32_t n_calls, cap_calls;
    parse_import *imps;         /* growable (malloc), moved to the result */
    uint32_t n_imps, cap_imps;
    bool oom;                   /* an allocation failed */
    struct {
        const char *var;        /* variable name (arena) */
        const char *type;       /* its type's simple name (arena) */
    } binds[32];                /* local variables of known type in bind_owner */
    uint32_t n_binds;           /* used */
    int32_t bind_owner;         /* entity the bindings belong to */
    struct parse__field {
        const char *cls;        /* simple name of the class declaring it (arena) */
        const char *name;       /* field name (arena) */
        const char *type;       /* its type's simple name (arena) */
    } *fields;                  /* typed fields of the file's classes (malloc) */
    uint32_t n_fields, cap_fields;
} parse__cwalk;

static bool parse__cspace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static TSNode parse__cfield(TSNode n, const char *f) {
    if (!f || ts_node_is_null(n)) return (TSNode){0};
    return ts_node_child_by_field_name(n, f, (uint32_t)strlen(f));
}

/* Copy src[a, b) trimmed of white space (and of `trim` characters at the
** end), at most max bytes; NULL when empty. */
static const char *parse__ctext(parse__cwalk *w, uint32_t a, uint32_t b, const char *trim, size_t max) {
    const char *s = w->ctx->src;
    if (b > w->ctx->size) b = (uint32_t)w->ctx->size;
    while (a < b && parse__cspace(s[a])) a++;
    while (b > a && (parse__cspace(s[b - 1]) || (trim && strchr(trim, s[b - 1])))) b--;
    if (a >= b) return NULL;
    size_t n = b - a;
    if (n > max) n = max;
    char *r = parse_arena_strndup(&w->ctx->res->arena, s + a, n);
    if (!r) w->oom = true;
    return r;
}

static const char *parse__cnode(parse__cwalk *w, TSNode n, const char *trim) {
    if (ts_node_is_null(n)) return NULL;
    return parse__ctext(w, ts_node_start_byte(n), ts_node_end_byte(n), trim, PARSE__MAX_RECEIVER);
}

/* An identifier as the languages write them ($ for JS and PHP variables). */
static bool parse__ident(const char *s, uint32_t a, uint32_t b) {
    if (a >= b || b - a > PARSE__MAX_CALLNAME || (s[a] >= '0' && s[a] <= '9')) return false;
    for (uint32_t i = a; i < b; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
              (unsigned char)c >= 0x80))
            return false;
    }
    return true;
}

static bool parse__ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !memcmp(s + n - m, suffix, m);
}

/* ==== Call sites ==== */

static void parse__call_add(parse__cwalk *w, TSNode name, TSNode whole, uint32_t recv_a, uint32_t recv_b,
                            parse_call_kind kind, int32_t caller) {
    const char *s = w->ctx->src;
    uint32_t a = ts_node_start_byte(name), b = ts_node_end_byte(name);
    if (!parse__ident(s, a, b)) return;
    if (!util_grow_u32(&w->calls, &w->cap_calls, (size_t)w->n_calls + 1, sizeof *w->calls, 32)) {
        w->oom = true;
        return;
    }
    parse_call *c = &w->calls[w->n_calls];
    memset(c, 0, sizeof *c);
    c->name = parse_arena_strndup(&w->ctx->res->arena, s + a, b - a);
    c->receiver = recv_b > recv_a ? parse__ctext(w, recv_a, recv_b, ".:->?!&", PARSE__MAX_RECEIVER) : NULL;
    if (!c->name) {
        w->oom = true;
        return;
    }
    if (kind == PARSE_CALL_PLAIN && c->receiver) kind = PARSE_CALL_METHOD;
    if (c->receiver && caller == w->bind_owner)
        for (uint32_t i = w->n_binds; i-- > 0;)
            if (!strcmp(w->binds[i].var, c->receiver)) {
                c->recv_type = w->binds[i].type;
                break;
            }
    /* Go: a call on the method's own receiver variable is a call on self */
    if (c->receiver && w->ctx->lang == SC_LANG_GO && caller >= 0) {
        const char *sig = w->ctx->res->ents[caller].signature;
        size_t rl = strcspn(c->receiver, ".");
        if (sig && !strncmp(sig, "func (", 6) && !strncmp(sig + 6, c->receiver, rl) && sig[6 + rl] == ' ') {
            if (!c->receiver[rl]) c->receiver = "self";
            else { /* r.field -> self.field */
                char *nr = parse_arena_alloc(&w->ctx->res->arena, strlen(c->receiver + rl) + 5);
                if (nr) {
                    memcpy(nr, "self", 4);
                    strcpy(nr + 4, c->receiver + rl);
                    c->receiver = nr;
                }
            }
        }
    }
    c->kind = (uint8_t)kind;
    (void)whole;
    c->line = ts_node_start_point(name).row + 1; /* the name's line: a chained call starts lines earlier */
    c->caller = caller;
    w->n_calls++;
}

static bool parse__generic(const char *t) {
    return !strcmp(t, "generic_function") || !strcmp(t, "generic_type") || !strcmp(t, "template_function") ||
           !strcmp(t, "template_type") || !strcmp(t, "generic_name") || !strcmp(t, "parenthesized_expression");
}

/* Cut a callee (or constructed type) expression into name and receiver. */
static void parse__callee(parse__cwalk *w, TSNode x, TSNode whole, parse_call_kind kind, int32_t caller) {
    uint32_t start = ts_node_is_null(x) ? 0 : ts_node_start_byte(x);
    for (int guard = 0; guard < 8 && !ts_node_is_null(x); guard++) {
        uint32_t nc = ts_node_named_child_count(x);
        if (nc == 0) {
            parse__call_add(w, x, whole, start, ts_node_start_byte(x), kind, caller);
            return;
        }
        const char *t = ts_node_type(x);
        if (parse__generic(t)) {
            x = ts_node_named_child(x, 0);
            continue;
        }
        TSNode last = ts_node_named_child(x, nc - 1);
        while (nc > 1 && (parse__ends_with(ts_node_type(last), "arguments") ||
                          !strcmp(ts_node_type(last), "comment"))) {
            nc--;
            last = ts_node_named_child(x, nc - 1);
        }
        if (ts_node_named_child_count(last) == 0) {
            parse__call_add(w, last, whole, start, ts_node_start_byte(last), kind, caller);
            return;
        }
        /* a name with structure of its own (generic, nested scope): descend,
        ** keeping everything before it as receiver */
        x = last;
    }
}

/* ==== Local variables of known type ==== */

/* Simple name of the type a value constructs (new T(), T(), new a.T<X>()),
** NULL when it is not a construction. Python: a call of a capitalized name. */
static const char *parse__ctor_type(parse__cwalk *w, TSNode v) {
    if (ts_node_is_null(v)) return NULL;
    const char *t = ts_node_type(v);
    TSNode x;
    if (!strcmp(t, "new_expression")) x = parse__cfield(v, "constructor");
    else if (!strcmp(t, "call") && w->ctx->lang == SC_LANG_PYTHON) x = parse__cfield(v, "function");
    else return NULL;
    for (int guard = 0; guard < 6 && !ts_node_is_null(x) && ts_node_named_child_count(x) > 0; guard++)
        x = ts_node_named_child(x, parse__generic(ts_node_type(x)) ? 0 : ts_node_named_child_count(x) - 1);
    if (ts_node_is_null(x)) return NULL;
    uint32_t a = ts_node_start_byte(x), b = ts_node_end_byte(x);
    const char *s = w->ctx->src;
    if (!parse__ident(s, a, b) || !(s[a] >= 'A' && s[a] <= 'Z')) return NULL;
    return parse__ctext(w, a, b, NULL, PARSE__MAX_CALLNAME);
}

static void parse__bind_add(parse__cwalk *w, TSNode var, const char *type) {
    if (!type || ts_node_is_null(var) || ts_node_named_child_count(var) > 0) return;
    const char *v = parse__cnode(w, var, NULL);
    if (!v) return;
    if (w->n_binds == sizeof w->binds / sizeof *w->binds) w->n_binds = 0; /* rare: start over */
    w->binds[w->n_binds].var = v;
    w->binds[w->n_binds++].type = type;
}

/* Simple name of a declared type: `*pkg.T` -> T, `List<T>` -> List, `: T` -> T. */
static const char *parse__type_name(parse__cwalk *w, TSNode ty) {
    if (ts_node_is_null(ty)) return NULL;
    const char *s = w->ctx->src;
    uint32_t a = ts_node_start_byte(ty), b = ts_node_end_byte(ty);
    while (a < b && (s[a] == ':' || s[a] == '*' || s[a] == '&' || parse__cspace(s[a]))) a++;
    uint32_t e = a;
    while (e < b && s[e] != '<' && s[e] != '[' && !parse__cspace(s[e])) e++;
    uint32_t st = a;
    for (uint32_t i = a; i < e; i++)
        if (s[i] == '.') st = i + 1;
    if (!parse__ident(s, st, e)) return NULL;
    if (w->ctx->lang == SC_LANG_GO && st > a) st = a; /* bufio.Writer: another package's, never this one's Writer */
    return parse__ctext(w, st, e, NULL, PARSE__MAX_CALLNAME);
}

/* Simple name of the class around entity i (itself when a type), NULL for none. */
static const char *parse__class_of(const parse__cwalk *w, int32_t i) {
    const sc_entity *ents = w->ctx->res->ents;
    for (int guard = 0; i >= 0 && guard < 64; guard++, i = ents[i].parent) {
        sc_entity_kind k = ents[i].kind;
        if (k == SC_ENTITY_KIND_CLASS || k == SC_ENTITY_KIND_STRUCT || k == SC_ENTITY_KIND_INTERFACE ||
            k == SC_ENTITY_KIND_TRAIT || k == SC_ENTITY_KIND_ENUM)
            return ents[i].name;
    }
    return NULL;
}

static void parse__field_add(parse__cwalk *w, const char *cls, TSNode name, const char *type) {
    if (!cls || !type || ts_node_is_null(name)) return;
    const char *nm = parse__cnode(w, name, NULL);
    if (!nm || !util_grow_u32(&w->fields, &w->cap_fields, (size_t)w->n_fields + 1, sizeof *w->fields, 8)) return;
    w->fields[w->n_fields++] = (struct parse__field){cls, nm, type};
}

/* A typed field declaration (PARSE__C_FIELD) inside the class entity cls_ent. */
static void parse__field_decl(parse__cwalk *w, const parse__crule *r, TSNode n, int32_t cls_ent) {
    const char *cls = parse__class_of(w, cls_ent);
    const char *type = parse__type_name(w, parse__cfield(n, r->f2));
    if (w->ctx->lang == SC_LANG_JAVA) { /* T a, b; */
        uint32_t nc = ts_node_named_child_count(n);
        for (uint32_t i = 0; i < nc; i++) {
            TSNode d = ts_node_named_child(n, i);
            if (!strcmp(ts_node_type(d), "variable_declarator")) parse__field_add(w, cls, parse__cfield(d, "name"), type);
        }
        return;
    }
    if (w->ctx->lang == SC_LANG_GO) { /* a, b *T */
        uint32_t nc = ts_node_named_child_count(n);
        for (uint32_t i = 0; i < nc; i++) {
            TSNode d = ts_node_named_child(n, i);
            if (!strcmp(ts_node_type(d), "field_identifier")) parse__field_add(w, cls, d, type);
        }
        return;
    }
    parse__field_add(w, cls, parse__cfield(n, r->f1), type);
}

/* After the walk: a call on self.x / this.x (Java: a bare field x) whose
** class declared x with a type gets that type, unless a local binding gave
** it one already. */
static void parse__fields_apply(parse__cwalk *w) {
    const sc_entity *ents = w->ctx->res->ents;
    for (uint32_t i = 0; w->n_fields && i < w->n_calls; i++) {
        parse_call *c = &w->calls[i];
        if (c->recv_type || !c->receiver || c->caller < 0) continue;
        const char *f = NULL;
        if (!strncmp(c->receiver, "self.", 5)) f = c->receiver + 5;
        else if (!strncmp(c->receiver, "this.", 5)) f = c->receiver + 5;
        else if (w->ctx->lang == SC_LANG_JAVA) f = c->receiver;
        if (!f || !parse__ident(f, 0, (uint32_t)strlen(f))) continue;
        const char *cls = parse__class_of(w, c->caller);
        char buf[256];
        if (w->ctx->lang == SC_LANG_GO) { /* pkg.(*T).M -> T */
            const char *q = ents[c->caller].qualified_name, *o = q ? strchr(q, '(') : NULL, *e = o ? strchr(o, ')') : NULL;
            if (!o || !e) continue;
            o += o[1] == '*' ? 2 : 1;
            snprintf(buf, sizeof buf, "%.*s", (int)(e - o), o);
            cls = buf;
        }
        for (uint32_t k = 0; cls && k < w->n_fields; k++)
            if (!strcmp(w->fields[k].cls, cls) && !strcmp(w->fields[k].name, f)) {
                c->recv_type = w->fields[k].type;
                break;
            }
    }
}

/* Record what an assignment or declaration tells about a variable's type. */
static void parse__bind(parse__cwalk *w, const parse__crule *r, TSNode n, int32_t caller) {
    if (caller != w->bind_owner) {
        w->n_binds = 0;
        w->bind_owner = caller;
    }
    if (w->ctx->lang == SC_LANG_JAVA) { /* Foo x = ..., y = ...; */
        TSNode ty = parse__cfield(n, r->f2);
        for (int guard = 0; guard < 4 && !ts_node_is_null(ty) && ts_node_named_child_count(ty) > 0; guard++)
            ty = ts_node_named_child(ty, strcmp(ts_node_type(ty), "generic_type") ? ts_node_named_child_count(ty) - 1 : 0);
        if (ts_node_is_null(ty)) return;
        const char *type = parse__cnode(w, ty, NULL);
        uint32_t nc = ts_node_named_child_count(n);
        for (uint32_t i = 0; type && i < nc; i++) {
            TSNode d = ts_node_named_child(n, i);
            if (!strcmp(ts_node_type(d), "variable_declarator")) parse__bind_add(w, parse__cfield(d, "name"), type);
        }
        return;
    }
    TSNode left = parse__cfield(n, r->f1);
    const char *type = parse__ctor_type(w, parse__cfield(n, r->f2));
    const char *lt = ts_node_is_null(left) ? "" : ts_node_type(left);
    if (type && (!strcmp(lt, "attribute") || !strcmp(lt, "member_expression"))) { /* self.x = T() */
        const char *obj = parse__cnode(w, ts_node_named_child(left, 0), NULL);
        if (obj && (!strcmp(obj, "self") || !strcmp(obj, "this")))
            parse__field_add(w, parse__class_of(w, caller), ts_node_named_child(left, ts_node_named_child_count(left) - 1),
                             type);
        return;
    }
    parse__bind_add(w, left, type);
}

/* ==== Imports ==== */

static void parse__imp_add(parse__cwalk *w, const char *local, const char *module, const char *symbol, TSNode at) {
    if (!module || !*module) return;
    if (!util_grow_u32(&w->imps, &w->cap_imps, (size_t)w->n_imps + 1, sizeof *w->imps, 8)) {
        w->oom = true;
        return;
    }
    w->imps[w->n_imps++] = (parse_import){local ? local : "", module, symbol, ts_node_start_point(at).row + 1};
}

/* Text after the last occurrence of sep in s (s itself when none). */
static const char *parse__last_seg(const char *s, const char *sep) {
    const char *r = s;
    size_t m = strlen(sep);
    for (const char *p = s; (p = strstr(p, sep)) != NULL; p += m) r = p + m;
    return r;
}

/* Copy of s without its last sep-separated segment ("" when it has one segment). */
static const char *parse__head_seg(parse__cwalk *w, const char *s, const char *sep) {
    const char *last = parse__last_seg(s, sep);
    size_t n = last > s ? (size_t)(last - s) - strlen(sep) : 0;
    char *r = parse_arena_strndup(&w->ctx->res->arena, s, n);
    if (!r) w->oom = true;
    return r;
}

static void parse__imp_python(parse__cwalk *w, TSNode n) {
    TSNode mod = parse__cfield(n, "module_name");
    const char *module = ts_node_is_null(mod) ? NULL : parse__cnode(w, mod, NULL);
    uint32_t nc = ts_node_named_child_count(n);
    for (uint32_t i = 0; i < nc; i++) {
        TSNode c = ts_node_named_child(n, i);
        if (!ts_node_is_null(mod) && ts_node_start_byte(c) == ts_node_start_byte(mod)) continue;
        const char *t = ts_node_type(c);
        const char *name = NULL, *alias = NULL;
        if (!strcmp(t, "aliased_import")) {
            name = parse__cnode(w, parse__cfield(c, "name"), NULL);
            alias = parse__cnode(w, parse__cfield(c, "alias"), NULL);
        } else if (!strcmp(t, "dotted_name")) {
            name = parse__cnode(w, c, NULL);
        } else if (!strcmp(t, "wildcard_import")) {
            name = "*";
        }
        if (!name) continue;
        if (module) parse__imp_add(w, alias ? alias : name, module, name, c);
        else parse__imp_add(w, alias ? alias : name, name, NULL, c);
    }
}

static void parse__imp_js(parse__cwalk *w, TSNode n) {
    const char *src = parse__cnode(w, parse__cfield(n, "source"), NULL);
    if (!src) return;
    size_t l = strlen(src);
    if (l >= 2 && (src[0] == '"' || src[0] == '\'' || src[0] == '`')) {
        char *s = parse_arena_strndup(&w->ctx->res->arena, src + 1, l - 2);
        if (!s) { w->oom = true; return; }
        src = s;
    }
    uint32_t nc = ts_node_named_child_count(n);
    for (uint32_t i = 0; i < nc; i++) {
        TSNode cl = ts_node_named_child(n, i);
        if (strcmp(ts_node_type(cl), "import_clause")) continue;
        uint32_t nk = ts_node_named_child_count(cl);
        for (uint32_t k = 0; k < nk; k++) {
            TSNode c = ts_node_named_child(cl, k);
            const char *t = ts_node_type(c);
            if (!strcmp(t, "identifier")) {
                parse__imp_add(w, parse__cnode(w, c, NULL), src, "default", c);
            } else if (!strcmp(t, "namespace_import")) {
                TSNode id = ts_node_named_child(c, 0);
                if (!ts_node_is_null(id)) parse__imp_add(w, parse__cnode(w, id, NULL), src, NULL, c);
            } else if (!strcmp(t, "named_imports")) {
                uint32_t ns = ts_node_named_child_count(c);
                for (uint32_t j = 0; j < ns; j++) {
                    TSNode sp = ts_node_named_child(c, j);
                    if (strcmp(ts_node_type(sp), "import_specifier")) continue;
                    const char *name = parse__cnode(w, parse__cfield(sp, "name"), NULL);
                    const char *alias = parse__cnode(w, parse__cfield(sp, "alias"), NULL);
                    if (name) parse__imp_add(w, alias ? alias : name, src, name, sp);
                }
            }
        }
    }
}

static void parse__imp_go(parse__cwalk *w, TSNode n) {
    const char *path = parse__cnode(w, parse__cfield(n, "path"), NULL);
    if (!path) return;
    size_t l = strlen(path);
    if (l >= 2) {
        char *s = parse_arena_strndup(&w->ctx->res->arena, path + 1, l - 2);
        if (!s) { w->oom = true; return; }
        path = s;
    }
    const char *name = parse__cnode(w, parse__cfield(n, "name"), NULL);
    parse__imp_add(w, name ? name : parse__last_seg(path, "/"), path, NULL, n);
}

static void parse__imp_java(parse__cwalk *w, TSNode n) {
    uint32_t nc = ts_node_named_child_count(n);
    const char *full = NULL;
    bool star = false;
    for (uint32_t i = 0; i < nc; i++) {
        TSNode c = ts_node_named_child(n, i);
        const char *t = ts_node_type(c);
        if (!strcmp(t, "scoped_identifier") || !strcmp(t, "identifier")) full = parse__cnode(w, c, NULL);
        else if (!strcmp(t, "asterisk")) star = true;
    }
    if (!full) return;
    if (star) parse__imp_add(w, "*", full, NULL, n);
    else parse__imp_add(w, parse__last_seg(full, "."), parse__head_seg(w, full, "."), parse__last_seg(full, "."), n);
}

/* One use tree of Rust under prefix (a "::" path, may be empty). */
static void parse__imp_rust_tree(parse__cwalk *w, TSNode n, const char *prefix, int depth) {
    if (ts_node_is_null(n) || depth > 6) return;
    const char *t = ts_node_type(n);
    const char *join = prefix && *prefix ? "::" : "";
    char buf[512];
    if (!strcmp(t, "scoped_use_list")) {
        const char *p = parse__cnode(w, parse__cfield(n, "path"), NULL);
        snprintf(buf, sizeof buf, "%s%s%s", prefix ? prefix : "", p ? join : "", p ? p : "");
        char *np = parse_arena_strndup(&w->ctx->res->arena, buf, strlen(buf));
        if (!np) { w->oom = true; return; }
        parse__imp_rust_tree(w, parse__cfield(n, "list"), np, depth + 1);
    } else if (!strcmp(t, "use_list")) {
        uint32_t nc = ts_node_named_child_count(n);
        for (uint32_t i = 0; i < nc; i++) parse__imp_rust_tree(w, ts_node_named_child(n, i), prefix, depth + 1);
    } else if (!strcmp(t, "use_as_clause")) {
        const char *p = parse__cnode(w, parse__cfield(n, "path"), NULL);
        const char *alias = parse__cnode(w, parse__cfield(n, "alias"), NULL);
        if (!p) return;
        snprintf(buf, sizeof buf, "%s%s%s", prefix ? prefix : "", join, p);
        char *full = parse_arena_strndup(&w->ctx->res->arena, buf, strlen(buf));
        if (!full) { w->oom = true; return; }
        parse__imp_add(w, alias ? alias : parse__last_seg(full, "::"), parse__head_seg(w, full, "::"),
                       parse__last_seg(full, "::"), n);
    } else if (!strcmp(t, "scoped_identifier") || !strcmp(t, "identifier") || !strcmp(t, "self") ||
               !strcmp(t, "crate") || !strcmp(t, "super")) {
        const char *p = parse__cnode(w, n, NULL);
        if (!p) return;
        snprintf(buf, sizeof buf, "%s%s%s", prefix ? prefix : "", join, p);
        char *full = parse_arena_strndup(&w->ctx->res->arena, buf, strlen(buf));
        if (!full) { w->oom = true; return; }
        const char *last = parse__last_seg(full, "::");
        if (!strcmp(last, "self")) { /* use a::b::{self} binds b */
            full = (char *)parse__head_seg(w, full, "::");
            if (!full) return;
            last = parse__last_seg(full, "::");
        }
        parse__imp_add(w, last, parse__head_seg(w, full, "::"), last, n);
    } else if (!strcmp(t, "use_wildcard")) {
        const char *p = parse__cnode(w, n, "*:");
        snprintf(buf, sizeof buf, "%s%s%s", prefix ? prefix : "", p ? join : "", p ? p : "");
        char *full = parse_arena_strndup(&w->ctx->res->arena, buf, strlen(buf));
        if (!full) { w->oom = true; return; }
        parse__imp_add(w, "*", full, NULL, n);
    }
}

static void parse__imp_c(parse__cwalk *w, TSNode n) {
    const char *p = parse__cnode(w, parse__cfield(n, "path"), NULL);
    if (!p) return;
    size_t l = strlen(p);
    if (l >= 2 && p[0] == '"') { /* only project headers: <...> are the system's */
        char *s = parse_arena_strndup(&w->ctx->res->arena, p + 1, l - 2);
        if (!s) { w->oom = true; return; }
        parse__imp_add(w, "", s, NULL, n);
    }
}

static void parse__import(parse__cwalk *w, TSNode n) {
    switch (w->ctx->lang) {
    case SC_LANG_PYTHON: parse__imp_python(w, n); break;
    case SC_LANG_JAVASCRIPT:
    case SC_LANG_TYPESCRIPT:
    case SC_LANG_TSX: parse__imp_js(w, n); break;
    case SC_LANG_GO: parse__imp_go(w, n); break;
    case SC_LANG_JAVA: parse__imp_java(w, n); break;
    case SC_LANG_RUST: parse__imp_rust_tree(w, parse__cfield(n, "argument"), "", 0); break;
    case SC_LANG_C:
    case SC_LANG_CPP: parse__imp_c(w, n); break;
    default: break;
    }
}

/* JS: `const x = require('m')` and `const {a, b: c} = require('m')` bind
** names like imports do. */
static void parse__imp_require(parse__cwalk *w, TSNode call) {
    TSNode args = parse__cfield(call, "arguments");
    TSNode str = ts_node_is_null(args) ? args : ts_node_named_child(args, 0);
    if (ts_node_is_null(str) || strcmp(ts_node_type(str), "string")) return;
    const char *m = parse__cnode(w, str, NULL);
    size_t l = m ? strlen(m) : 0;
    if (l < 2) return;
    char *mod = parse_arena_strndup(&w->ctx->res->arena, m + 1, l - 2);
    if (!mod) { w->oom = true; return; }
    TSNode decl = ts_node_parent(call);
    if (ts_node_is_null(decl) || strcmp(ts_node_type(decl), "variable_declarator")) return;
    TSNode name = parse__cfield(decl, "name");
    if (ts_node_is_null(name)) return;
    if (!strcmp(ts_node_type(name), "identifier")) {
        parse__imp_add(w, parse__cnode(w, name, NULL), mod, NULL, call);
        return;
    }
    if (strcmp(ts_node_type(name), "object_pattern")) return;
    uint32_t nc = ts_node_named_child_count(name);
    for (uint32_t i = 0; i < nc; i++) {
        TSNode c = ts_node_named_child(name, i);
        const char *t = ts_node_type(c);
        if (!strcmp(t, "shorthand_property_identifier_pattern")) {
            const char *id = parse__cnode(w, c, NULL);
            parse__imp_add(w, id, mod, id, c);
        } else if (!strcmp(t, "pair_pattern")) {
            const char *k = parse__cnode(w, parse__cfield(c, "key"), NULL);
            const char *v = parse__cnode(w, parse__cfield(c, "value"), NULL);
            if (k && v) parse__imp_add(w, v, mod, k, c);
        }
    }
}

/* ==== The walk ==== */

sc_status parse_calls_extract(parse_ctx *ctx, parse_symtab *tab, TSTree *tree) {
    if (!parse__crules(ctx->lang)) return SC_OK;
    if (!parse__ctab(tab, ctx->lang)) return SC_NOMEM;
    parse__cwalk w = {.ctx = ctx, .rules = parse__crules(ctx->lang), .bind_owner = -2};
    parse_iter *it = parse_iter_new(ts_tree_root_node(tree));
    if (!it) return SC_NOMEM;
    /* entities enclosing the current node: they come in source order, a
    ** parent before its children (chunks are added after this walk) */
    const sc_entity *ents = ctx->res->ents;
    uint32_t n_ents = ctx->res->pub.n_entities, next = 0;
    int32_t *stack = malloc(sizeof *stack * (n_ents ? n_ents : 1));
    uint32_t n_stack = 0;
    TSNode n;
    uint32_t depth;
    int got = 0;
    while (stack && !w.oom && (got = parse_iter_next(it, &n, &depth)) > 0) {
        TSSymbol s = ts_node_symbol(n);
        uint8_t role = s < tab->n_symbols ? tab->call_role[s] : PARSE__C_NONE;
        if (role == PARSE__C_NONE) continue;
        uint32_t b = ts_node_start_byte(n);
        while (next < n_ents && ents[next].start_byte <= b) {
            while (n_stack && ents[stack[n_stack - 1]].end_byte <= ents[next].start_byte) n_stack--;
            stack[n_stack++] = (int32_t)next++;
        }
        while (n_stack && ents[stack[n_stack - 1]].end_byte <= b) n_stack--;
        int32_t caller = n_stack ? stack[n_stack - 1] : -1;
        uint8_t ri = tab->call_rule[s];
        const parse__crule *r = &w.rules[ri];
        TSNode f1 = tab->call_f1[ri] ? ts_node_child_by_field_id(n, tab->call_f1[ri]) : (TSNode){0};
        if (role == PARSE__C_CALL) {
            uint32_t before = w.n_calls;
            parse__callee(&w, f1, n, PARSE_CALL_PLAIN, caller);
            if (w.n_calls > before && w.rules == parse__c_js && !w.calls[before].receiver &&
                !strcmp(w.calls[before].name, "require"))
                parse__imp_require(&w, n);
        } else if (role == PARSE__C_SPLIT) {
            TSNode name = f1, recv = tab->call_f2[ri] ? ts_node_child_by_field_id(n, tab->call_f2[ri]) : (TSNode){0};
            if (ts_node_is_null(name)) continue;
            uint32_t ra = ts_node_is_null(recv) ? 0 : ts_node_start_byte(recv);
            uint32_t rb = ts_node_is_null(recv) ? 0 : ts_node_end_byte(recv);
            parse__call_add(&w, name, n, ra, rb, PARSE_CALL_PLAIN, caller);
        } else if (role == PARSE__C_NEW) {
            TSNode ty = r->f1 ? f1 : ts_node_named_child(n, 0);
            parse__callee(&w, ty, n, PARSE_CALL_NEW, caller);
        } else if (role == PARSE__C_IMPORT) {
            parse__import(&w, n);
        } else if (role == PARSE__C_BIND) {
            parse__bind(&w, r, n, caller);
        } else if (role == PARSE__C_FIELD) {
            parse__field_decl(&w, r, n, caller);
        }
    }
    parse_iter_free(it);
    parse__fields_apply(&w);
    free(w.fields);
    if (!stack || got < 0 || w.oom || ctx->res->arena.oom) {
        free(stack);
        free(w.calls);
        free(w.imps);
        return SC_NOMEM;
    }
    free(stack);
    ctx->res->calls = w.calls;
    ctx->res->n_calls = w.n_calls;
    ctx->res->imports = w.imps;
    ctx->res->n_imports = w.n_imps;
    return SC_OK;
}

const parse_call *parse_result_calls(const sc_parse_result *r, uint32_t *n) {
    const parse_result_int *ri = (const parse_result_int *)r;
    *n = r ? ri->n_calls : 0;
    return r ? ri->calls : NULL;
}

const parse_import *parse_result_imports(const sc_parse_result *r, uint32_t *n) {
    const parse_result_int *ri = (const parse_result_int *)r;
    *n = r ? ri->n_imports : 0;
    return r ? ri->imports : NULL;
}
