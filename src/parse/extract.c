/*
** parse/extract.c: one iterative walk over a tree-sitter syntax tree that
** turns definitions into sc_entity records (names, signature, parameters,
** return type, doc comment, decorators, nesting) and counts cyclomatic
** complexity and syntax errors on the way. Roles of node types come from
** the tables in lang.c; the shapes that differ between grammars are the
** small per-language branches below.
*/
#include <stdlib.h>
#include <string.h>

#include "parse/parse_int.h"

#define PARSE__MAX_SIGNATURE 1024 /* bytes of signature kept */
#define PARSE__MAX_DECORATOR 256  /* bytes of one decorator kept */
#define PARSE__MAX_NAME 512       /* bytes of one name kept */

/* ==== Small helpers ==== */

static uint8_t parse__role(const parse_ctx *ctx, TSNode n) {
    TSSymbol s = ts_node_symbol(n);
    return s < ctx->tab->n_symbols ? ctx->tab->role[s] : PARSE_ROLE_NONE;
}

static bool parse__is(TSNode n, const char *type) {
    return !ts_node_is_null(n) && !strcmp(ts_node_type(n), type);
}

/* Child by field, with field ids resolved once per grammar (parse_symtab). */
static TSNode parse__field(const parse_ctx *ctx, TSNode n, parse_field f) {
    TSFieldId id = ctx->tab->fields[f];
    if (!id || ts_node_is_null(n)) return (TSNode){0};
    return ts_node_child_by_field_id(n, id);
}

static bool parse__space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Copy src[a, b) trimmed of surrounding white space, capped at max bytes. */
static char *parse__slice(parse_ctx *ctx, uint32_t a, uint32_t b, size_t max) {
    if (b > ctx->size) b = (uint32_t)ctx->size;
    if (a > b) a = b;
    while (a < b && parse__space(ctx->src[a])) a++;
    while (b > a && parse__space(ctx->src[b - 1])) b--;
    size_t n = b - a;
    if (n > max) n = max;
    return parse_arena_strndup(&ctx->res->arena, ctx->src + a, n);
}

static char *parse__text(parse_ctx *ctx, TSNode n, size_t max) {
    if (ts_node_is_null(n)) return NULL;
    return parse__slice(ctx, ts_node_start_byte(n), ts_node_end_byte(n), max);
}

/* Type text without the annotation punctuation of TS (": T") and Rust/Python ("-> T"). */
static char *parse__type_text(parse_ctx *ctx, TSNode n) {
    if (ts_node_is_null(n)) return NULL;
    uint32_t a = ts_node_start_byte(n), b = ts_node_end_byte(n);
    while (a < b && (parse__space(ctx->src[a]) || ctx->src[a] == ':')) a++;
    if (a + 1 < b && ctx->src[a] == '-' && ctx->src[a + 1] == '>') a += 2;
    char *t = parse__slice(ctx, a, b, PARSE__MAX_NAME);
    return t && *t ? t : NULL;
}

static char *parse__concat(parse_ctx *ctx, const char *a, const char *sep, const char *b) {
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *s = parse_arena_alloc(&ctx->res->arena, la + ls + lb + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, sep, ls);
    memcpy(s + la + ls, b, lb + 1);
    return s;
}

static uint32_t parse__line_of(const parse_ctx *ctx, uint32_t byte) {
    uint32_t lo = 0, hi = ctx->n_lines;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ctx->line_start[mid] <= byte) lo = mid; else hi = mid;
    }
    return lo + 1;
}

/* Innermost identifier of a C/C++ declarator chain (pointer, array,
** function, parenthesized declarators), or the node itself. */
static TSNode parse__declarator_core(const parse_ctx *ctx, TSNode d, TSNode *fdecl, bool *pointer) {
    for (int guard = 0; guard < 64 && !ts_node_is_null(d); guard++) {
        const char *t = ts_node_type(d);
        if (!strcmp(t, "function_declarator")) { if (fdecl && ts_node_is_null(*fdecl)) *fdecl = d; }
        else if (!strcmp(t, "pointer_declarator") || !strcmp(t, "reference_declarator")) { if (pointer && (!fdecl || ts_node_is_null(*fdecl))) *pointer = true; }
        TSNode next = parse__field(ctx, d, PARSE_F_DECLARATOR);
        if (ts_node_is_null(next)) {
            /* reference_declarator and parenthesized_declarator hold it unnamed */
            if (!strcmp(t, "reference_declarator") || !strcmp(t, "parenthesized_declarator") ||
                !strcmp(t, "abstract_reference_declarator")) {
                uint32_t nc = ts_node_named_child_count(d);
                if (nc == 0) return d;
                next = ts_node_named_child(d, nc - 1);
            } else {
                return d;
            }
        }
        d = next;
    }
    return d;
}

/* ==== Entities ==== */

typedef struct parse__frame {
    uint32_t depth;      /* depth of the node that opened the frame */
    int32_t ent;         /* entity index, or the enclosing one for scopes */
    const char *qual;    /* qualified name to prefix children with */
    bool scope;          /* an impl-like scope: functions inside are methods */
} parse__frame;

static const char *parse__sep(sc_lang lang) {
    return (lang == SC_LANG_CPP || lang == SC_LANG_RUST) ? "::" : ".";
}

static bool parse__is_type_kind(sc_entity_kind k) {
    return k == SC_ENTITY_KIND_CLASS || k == SC_ENTITY_KIND_STRUCT || k == SC_ENTITY_KIND_INTERFACE ||
           k == SC_ENTITY_KIND_TRAIT || k == SC_ENTITY_KIND_ENUM;
}

static bool parse__push_str(parse_ctx *ctx, const char ***arr, uint32_t *n, uint32_t *cap, const char *s) {
    if (!s) return false;
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 4;
        const char **na = parse_arena_alloc(&ctx->res->arena, nc * sizeof *na);
        if (!na) return false;
        if (*n) memcpy(na, *arr, *n * sizeof *na);
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = s;
    return true;
}

typedef struct parse__params {
    sc_param *items; /* arena array */
    uint32_t n;      /* used */
    uint32_t cap;    /* allocated */
} parse__params;

/* Add one parameter. Empty strings count as absent, and a parameter with
** neither name nor type (error recovery in broken code, e.g. C++
** `~Shape(=  9default;`) is dropped: every sc_param has one or the other. */
static void parse__param_add(parse_ctx *ctx, parse__params *ps, char *name, char *type) {
    if (name && !*name) name = NULL;
    if (type && !*type) type = NULL;
    if (!name && !type) return;
    if (ps->n == ps->cap) {
        uint32_t nc = ps->cap ? ps->cap * 2 : 4;
        sc_param *na = parse_arena_alloc(&ctx->res->arena, nc * sizeof *na);
        if (!na) return;
        if (ps->n) memcpy(na, ps->items, ps->n * sizeof *na);
        ps->items = na;
        ps->cap = nc;
    }
    ps->items[ps->n++] = (sc_param){name, type};
}

/* C/C++ parameter type: the parameter's text with its name cut out. */
static char *parse__c_param_type(parse_ctx *ctx, TSNode p, TSNode name) {
    uint32_t a = ts_node_start_byte(p), b = ts_node_end_byte(p);
    TSNode dflt = parse__field(ctx, p, PARSE_F_DEFAULT_VALUE);
    if (!ts_node_is_null(dflt)) { /* cut "= value" */
        b = ts_node_start_byte(dflt);
        while (b > a && (parse__space(ctx->src[b - 1]) || ctx->src[b - 1] == '=')) b--;
    }
    if (ts_node_is_null(name)) return parse__slice(ctx, a, b, PARSE__MAX_NAME);
    uint32_t na = ts_node_start_byte(name), nb = ts_node_end_byte(name);
    if (na < a || nb > b) return parse__slice(ctx, a, b, PARSE__MAX_NAME);
    char *left = parse__slice(ctx, a, na, PARSE__MAX_NAME);
    char *right = parse__slice(ctx, nb, b, PARSE__MAX_NAME);
    if (!left || !right) return left;
    if (!*right) return left;
    return parse__concat(ctx, left, " ", right);
}

static void parse__one_param(parse_ctx *ctx, parse__params *ps, TSNode c) {
    uint8_t role = parse__role(ctx, c);
    if (role == PARSE_ROLE_COMMENT || role == PARSE_ROLE_DECORATOR) return;
    TSNode type = parse__field(ctx, c, PARSE_F_TYPE);
    if (ctx->lang == SC_LANG_C || ctx->lang == SC_LANG_CPP) {
        TSNode decl = parse__field(ctx, c, PARSE_F_DECLARATOR);
        TSNode name = ts_node_is_null(decl) ? decl : parse__declarator_core(ctx, decl, NULL, NULL);
        char *nm = ts_node_is_null(name) ? NULL : parse__text(ctx, name, PARSE__MAX_NAME);
        char *ty = ts_node_is_null(type) ? NULL : parse__c_param_type(ctx, c, name);
        if (!nm && ty && !strcmp(ty, "void")) return; /* f(void) */
        if (!nm && !ty) nm = parse__text(ctx, c, PARSE__MAX_NAME); /* "..." */
        parse__param_add(ctx, ps, nm, ty);
        return;
    }
    char *ty = parse__type_text(ctx, type);
    if (ctx->lang == SC_LANG_GO) { /* a, b int: one parameter per name */
        TSTreeCursor cur = ts_tree_cursor_new(c);
        bool any = false;
        if (ts_tree_cursor_goto_first_child(&cur)) {
            do {
                const char *f = ts_tree_cursor_current_field_name(&cur);
                if (f && !strcmp(f, "name")) {
                    parse__param_add(ctx, ps, parse__text(ctx, ts_tree_cursor_current_node(&cur), PARSE__MAX_NAME), ty);
                    any = true;
                }
            } while (ts_tree_cursor_goto_next_sibling(&cur));
        }
        ts_tree_cursor_delete(&cur);
        if (!any) parse__param_add(ctx, ps, NULL, ty ? ty : parse__text(ctx, c, PARSE__MAX_NAME));
        return;
    }
    TSNode name = parse__field(ctx, c, PARSE_F_NAME);
    if (ts_node_is_null(name)) name = parse__field(ctx, c, PARSE_F_PATTERN);
    if (ts_node_is_null(name)) name = parse__field(ctx, c, PARSE_F_LEFT);
    if (ts_node_is_null(name) && !ts_node_is_null(type)) {
        for (uint32_t i = 0; i < ts_node_named_child_count(c); i++) {
            TSNode k = ts_node_named_child(c, i);
            if (!ts_node_eq(k, type)) { name = k; break; }
        }
    }
    char *nm = ts_node_is_null(name) ? parse__text(ctx, c, PARSE__MAX_NAME) : parse__text(ctx, name, PARSE__MAX_NAME);
    parse__param_add(ctx, ps, nm, ty);
}

static void parse__params_of(parse_ctx *ctx, TSNode list, TSNode single, sc_entity *e) {
    parse__params ps = {0};
    if (!ts_node_is_null(single)) {
        parse__param_add(ctx, &ps, parse__text(ctx, single, PARSE__MAX_NAME), NULL);
    } else if (!ts_node_is_null(list)) {
        uint32_t n = ts_node_named_child_count(list);
        for (uint32_t i = 0; i < n; i++) parse__one_param(ctx, &ps, ts_node_named_child(list, i));
    }
    e->params = ps.items;
    e->n_params = ps.n;
}

/* Python docstring: the first statement of the body, when a lone string. */
static bool parse__docstring(parse_ctx *ctx, TSNode fn, sc_entity *e) {
    TSNode body = parse__field(ctx, fn, PARSE_F_BODY);
    if (ts_node_is_null(body)) return false;
    for (uint32_t i = 0; i < ts_node_named_child_count(body); i++) {
        TSNode st = ts_node_named_child(body, i);
        if (parse__role(ctx, st) == PARSE_ROLE_COMMENT) continue;
        if (!parse__is(st, "expression_statement") || ts_node_named_child_count(st) != 1) return false;
        TSNode s = ts_node_named_child(st, 0);
        if (!parse__is(s, "string") && !parse__is(s, "concatenated_string")) return false;
        uint32_t a = ts_node_start_byte(st), b = ts_node_end_byte(st);
        e->doc = parse_doc_clean(&ctx->res->arena, ctx->src + a, b - a, true);
        e->doc_start_byte = a;
        e->doc_end_byte = b;
        return e->doc != NULL;
    }
    return false;
}

/* Last row a node really covers (a comment that swallowed its newline
** ends at column 0 of the next row). */
static uint32_t parse__end_row(TSNode n) {
    TSPoint s = ts_node_start_point(n), p = ts_node_end_point(n);
    return (p.column == 0 && p.row > s.row) ? p.row - 1 : p.row;
}

/* Comments (and attribute/decorator siblings) right above `anchor`: the
** comments become the doc, the attributes are added to decorators. */
static void parse__leading(parse_ctx *ctx, TSNode anchor, sc_entity *e, const char ***decs,
                           uint32_t *nd, uint32_t *capd, uint32_t *first_byte) {
    TSNode p = ts_node_prev_named_sibling(anchor);
    /* first in a body that starts with it (Ruby): the comment is the body's sibling */
    for (int up = 0; up < 2 && ts_node_is_null(p); up++) {
        TSNode par = ts_node_parent(anchor);
        if (ts_node_is_null(par) || ts_node_start_byte(par) != ts_node_start_byte(anchor)) break;
        anchor = par;
        p = ts_node_prev_named_sibling(anchor);
    }
    uint32_t expect = ts_node_start_point(anchor).row;
    uint32_t doc_a = 0, doc_b = 0;
    bool have = false;
    const char *pending[16];
    uint32_t n_pending = 0;
    while (!ts_node_is_null(p)) {
        uint8_t role = parse__role(ctx, p);
        if (role != PARSE_ROLE_COMMENT && role != PARSE_ROLE_DECORATOR) break;
        if (parse__end_row(p) + 1 < expect) break; /* blank line between */
        if (role == PARSE_ROLE_COMMENT) {
            TSNode before = ts_node_prev_named_sibling(p);
            if (!ts_node_is_null(before) && parse__role(ctx, before) != PARSE_ROLE_COMMENT &&
                parse__end_row(before) == ts_node_start_point(p).row)
                break; /* a trailing comment of the line above */
            if (!have) doc_b = ts_node_end_byte(p);
            doc_a = ts_node_start_byte(p);
            have = true;
        } else {
            if (have) break; /* attributes above the doc belong elsewhere */
            if (n_pending < 16) pending[n_pending++] = parse__text(ctx, p, PARSE__MAX_DECORATOR);
            *first_byte = ts_node_start_byte(p);
        }
        expect = ts_node_start_point(p).row;
        p = ts_node_prev_named_sibling(p);
    }
    while (n_pending > 0) parse__push_str(ctx, decs, nd, capd, pending[--n_pending]);
    if (have && !e->doc) {
        e->doc = parse_doc_clean(&ctx->res->arena, ctx->src + doc_a, doc_b - doc_a, false);
        if (e->doc) {
            e->doc_start_byte = doc_a;
            e->doc_end_byte = doc_b;
        }
    }
}

static void parse__decorators_in(parse_ctx *ctx, TSNode n, const char ***decs, uint32_t *nd, uint32_t *capd, int level) {
    uint32_t cnt = ts_node_named_child_count(n);
    for (uint32_t i = 0; i < cnt; i++) {
        TSNode c = ts_node_named_child(n, i);
        uint8_t role = parse__role(ctx, c);
        if (role == PARSE_ROLE_DECORATOR) parse__push_str(ctx, decs, nd, capd, parse__text(ctx, c, PARSE__MAX_DECORATOR));
        else if (level == 0 && parse__is(c, "modifiers")) parse__decorators_in(ctx, c, decs, nd, capd, 1);
    }
}

/* Climb wrappers (decorated_definition, export_statement, a declaration
** that holds only this definition) so that ranges, comments and
** decorators are taken from the outermost one. */
static TSNode parse__anchor(parse_ctx *ctx, TSNode n) {
    for (int guard = 0; guard < 4; guard++) {
        TSNode p = ts_node_parent(n);
        if (ts_node_is_null(p)) break;
        const char *t = ts_node_type(p);
        uint8_t prole = parse__role(ctx, p);
        if (prole != PARSE_ROLE_WRAPPER && !(prole == PARSE_ROLE_MAYBE && !strcmp(t, "declaration"))) break;
        bool always = !strcmp(t, "decorated_definition") || !strcmp(t, "export_statement") ||
                      !strcmp(t, "template_declaration") || !strcmp(t, "ambient_declaration");
        if (!always && ts_node_named_child_count(p) > 2) break;
        n = p;
    }
    return n;
}

static bool parse__is_funcval(parse_ctx *ctx, TSNode v) {
    return !ts_node_is_null(v) && parse__role(ctx, v) == PARSE_ROLE_FUNCVAL;
}

/* Decide whether `node` (role MAYBE) is an entity; fill fn, name and kind. */
static bool parse__maybe(parse_ctx *ctx, TSNode node, TSNode *fn, TSNode *name, sc_entity_kind *kind) {
    const char *t = ts_node_type(node);
    TSNode v;
    if (!strcmp(t, "assignment") || !strcmp(t, "assignment_expression")) {
        v = parse__field(ctx, node, PARSE_F_RIGHT);
        if (!parse__is_funcval(ctx, v)) return false;
        *name = parse__field(ctx, node, PARSE_F_LEFT);
    } else if (!strcmp(t, "variable_declarator")) {
        v = parse__field(ctx, node, PARSE_F_VALUE);
        if (!parse__is_funcval(ctx, v)) return false;
        *name = parse__field(ctx, node, PARSE_F_NAME);
    } else if (!strcmp(t, "pair")) {
        v = parse__field(ctx, node, PARSE_F_VALUE);
        if (!parse__is_funcval(ctx, v)) return false;
        *name = parse__field(ctx, node, PARSE_F_KEY);
    } else if (!strcmp(t, "field_definition") || !strcmp(t, "public_field_definition")) {
        v = parse__field(ctx, node, PARSE_F_VALUE);
        if (!parse__is_funcval(ctx, v)) return false;
        *name = parse__field(ctx, node, PARSE_F_NAME);
        if (ts_node_is_null(*name)) *name = parse__field(ctx, node, PARSE_F_PROPERTY);
    } else if (!strcmp(t, "type_spec")) { /* Go */
        TSNode ty = parse__field(ctx, node, PARSE_F_TYPE);
        if (parse__is(ty, "struct_type")) *kind = SC_ENTITY_KIND_STRUCT;
        else if (parse__is(ty, "interface_type")) *kind = SC_ENTITY_KIND_INTERFACE;
        else return false;
        *name = parse__field(ctx, node, PARSE_F_NAME);
        return true;
    } else if (!strcmp(t, "declaration") || !strcmp(t, "field_declaration")) { /* C/C++ prototypes */
        TSNode fdecl = {0};
        TSNode core = parse__declarator_core(ctx, parse__field(ctx, node, PARSE_F_DECLARATOR), &fdecl, NULL);
        if (ts_node_is_null(fdecl)) return false;
        /* int (*fp)(int): a pointer to a function is a variable */
        if (parse__is(parse__field(ctx, fdecl, PARSE_F_DECLARATOR), "parenthesized_declarator")) return false;
        *name = core;
        return true;
    } else { /* C/C++ struct, union, enum, class: definitions only */
        if (ts_node_is_null(parse__field(ctx, node, PARSE_F_BODY))) return false;
        *name = parse__field(ctx, node, PARSE_F_NAME);
        if (ts_node_is_null(*name)) { /* typedef struct { ... } Name; */
            TSNode p = ts_node_parent(node);
            if (!parse__is(p, "type_definition")) return false;
            *name = parse__declarator_core(ctx, parse__field(ctx, p, PARSE_F_DECLARATOR), NULL, NULL);
            if (ts_node_is_null(*name)) return false;
        }
        return true;
    }
    const char *vt = ts_node_type(v);
    if (!strcmp(vt, "class")) *kind = SC_ENTITY_KIND_CLASS;
    *fn = v;
    return true;
}

/* Go receiver type as written in a qualified name: "(*Client)" or "Client". */
static char *parse__go_receiver(parse_ctx *ctx, TSNode method) {
    TSNode recv = parse__field(ctx, method, PARSE_F_RECEIVER);
    if (ts_node_is_null(recv)) return NULL;
    for (uint32_t i = 0; i < ts_node_named_child_count(recv); i++) {
        TSNode p = ts_node_named_child(recv, i);
        TSNode ty = parse__field(ctx, p, PARSE_F_TYPE);
        if (ts_node_is_null(ty)) continue;
        char *s = parse__text(ctx, ty, PARSE__MAX_NAME);
        if (s && s[0] == '*') return parse__concat(ctx, "(", s, ")");
        return s;
    }
    return NULL;
}

/* Create the entity for `node`. Returns its index, -1 if it is not one,
** -2 on allocation failure. */
static int32_t parse__entity(parse_ctx *ctx, TSNode node, uint8_t role, sc_entity_kind kind,
                             const parse__frame *outer) {
    TSNode fn = node, name = {0}, fdecl = {0};
    bool pointer_ret = false;
    if (role == PARSE_ROLE_MAYBE) {
        if (!parse__maybe(ctx, node, &fn, &name, &kind)) return -1;
    } else {
        name = parse__field(ctx, node, PARSE_F_NAME);
        if (ts_node_is_null(name)) {
            TSNode d = parse__field(ctx, node, PARSE_F_DECLARATOR);
            if (!ts_node_is_null(d)) name = parse__declarator_core(ctx, d, &fdecl, &pointer_ret);
        }
    }
    if (ctx->lang == SC_LANG_C || ctx->lang == SC_LANG_CPP) {
        if (ts_node_is_null(fdecl) && !ts_node_is_null(parse__field(ctx, node, PARSE_F_DECLARATOR)))
            parse__declarator_core(ctx, parse__field(ctx, node, PARSE_F_DECLARATOR), &fdecl, &pointer_ret);
    }
    int32_t parent = outer ? outer->ent : -1;
    const sc_entity *pe = parent >= 0 ? &ctx->res->ents[parent] : NULL;
    if (role == PARSE_ROLE_MAYBE && pe && (pe->kind == SC_ENTITY_KIND_FUNCTION || pe->kind == SC_ENTITY_KIND_METHOD) &&
        (parse__is(node, "declaration") || parse__is(node, "field_declaration")))
        return -1; /* a prototype inside a function body */
    bool in_type = (pe && parse__is_type_kind(pe->kind)) || (outer && outer->scope);
    if (kind == SC_ENTITY_KIND_FUNCTION && in_type) kind = SC_ENTITY_KIND_METHOD;
    if (kind == SC_ENTITY_KIND_METHOD && !in_type && ctx->lang != SC_LANG_GO && ctx->lang != SC_LANG_JAVA &&
        ctx->lang != SC_LANG_CSHARP)
        kind = SC_ENTITY_KIND_FUNCTION;

    sc_entity *e = parse_result_push(ctx->res);
    if (!e) return -2;
    int32_t idx = (int32_t)(ctx->res->pub.n_entities - 1);
    e->kind = kind;
    e->parent = parent;
    e->complexity = 1;

    char *nm = ts_node_is_null(name) ? NULL : parse__text(ctx, name, PARSE__MAX_NAME);
    if (!nm || !*nm) nm = parse_arena_strndup(&ctx->res->arena, "<anonymous>", 11);
    const char *qual_prefix = outer ? outer->qual : NULL;
    /* a.b.c = function(){} and Foo.prototype.bar = ...: simple name is the last part */
    if (role == PARSE_ROLE_MAYBE && nm && (parse__is(node, "assignment") || parse__is(node, "assignment_expression"))) {
        const char *dot = strrchr(nm, '.');
        e->qualified_name = qual_prefix ? parse__concat(ctx, qual_prefix, ".", nm) : nm;
        if (dot) nm = (char *)dot + 1;
    } else if (ctx->lang == SC_LANG_GO) {
        char *recv = parse__is(node, "method_declaration") ? parse__go_receiver(ctx, node) : NULL;
        const char *q = nm;
        if (recv) q = parse__concat(ctx, recv, ".", nm);
        else if (qual_prefix && q) q = parse__concat(ctx, qual_prefix, ".", q);
        if (ctx->go_package && q && !qual_prefix) q = parse__concat(ctx, ctx->go_package, ".", q);
        e->qualified_name = q;
    } else {
        e->qualified_name = (qual_prefix && nm) ? parse__concat(ctx, qual_prefix, parse__sep(ctx->lang), nm) : nm;
    }
    e->name = nm;

    TSNode anchor = parse__anchor(ctx, node);
    uint32_t start = ts_node_start_byte(anchor), end = ts_node_end_byte(anchor);
    if (end < ts_node_end_byte(node)) end = ts_node_end_byte(node);

    /* signature: from the definition (not its decorators) to the body */
    TSNode body = parse__field(ctx, fn, PARSE_F_BODY);
    uint32_t sig_a = ts_node_start_byte(node);
    if (role == PARSE_ROLE_MAYBE && !ts_node_eq(anchor, node)) sig_a = ts_node_start_byte(anchor);
    if (parse__is(ts_node_parent(node), "decorated_definition")) sig_a = ts_node_start_byte(node);
    uint32_t sig_b = ts_node_is_null(body) ? ts_node_end_byte(fn) : ts_node_start_byte(body);
    if (ts_node_is_null(body)) { /* stop at the first '{' (Go type specs, declarations) */
        for (uint32_t i = sig_a; i < sig_b; i++)
            if (ctx->src[i] == '{') { sig_b = i; break; }
    }
    if (ctx->lang == SC_LANG_PYTHON || ctx->lang == SC_LANG_RUBY) {
        /* comments may sit between the header and the block (Python after ':', Ruby on the next lines) */
        static const parse_field parts[] = {PARSE_F_NAME, PARSE_F_PARAMETERS, PARSE_F_RETURN_TYPE,
                                            PARSE_F_SUPERCLASS, PARSE_F_SUPERCLASSES, PARSE_F_TYPE_PARAMETERS};
        uint32_t hi = 0;
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            TSNode c = parse__field(ctx, fn, parts[i]);
            if (!ts_node_is_null(c) && ts_node_end_byte(c) > hi) hi = ts_node_end_byte(c);
        }
        if (hi > sig_a && hi < sig_b) sig_b = hi;
    }
    while (sig_b > sig_a && (parse__space(ctx->src[sig_b - 1]) || ctx->src[sig_b - 1] == '{' ||
                             (ctx->lang == SC_LANG_PYTHON && ctx->src[sig_b - 1] == ':')))
        sig_b--;
    e->signature = parse__slice(ctx, sig_a, sig_b, PARSE__MAX_SIGNATURE);

    /* parameters and return type */
    TSNode plist = ts_node_is_null(fdecl) ? parse__field(ctx, fn, PARSE_F_PARAMETERS) : parse__field(ctx, fdecl, PARSE_F_PARAMETERS);
    TSNode single = ts_node_is_null(plist) ? parse__field(ctx, fn, PARSE_F_PARAMETER) : (TSNode){0};
    if (!ts_node_is_null(plist) || !ts_node_is_null(single)) parse__params_of(ctx, plist, single, e);
    TSNode rt = parse__field(ctx, fn, PARSE_F_RETURN_TYPE);
    if (ts_node_is_null(rt)) rt = parse__field(ctx, fn, PARSE_F_RESULT);
    if (ts_node_is_null(rt)) rt = parse__field(ctx, fn, PARSE_F_RETURNS);
    if (ts_node_is_null(rt) && (ctx->lang == SC_LANG_JAVA || ctx->lang == SC_LANG_C || ctx->lang == SC_LANG_CPP ||
                                ctx->lang == SC_LANG_CSHARP) &&
        (kind == SC_ENTITY_KIND_FUNCTION || kind == SC_ENTITY_KIND_METHOD))
        rt = parse__field(ctx, fn, PARSE_F_TYPE);
    e->return_type = parse__type_text(ctx, rt);
    if (e->return_type && pointer_ret) e->return_type = parse__concat(ctx, e->return_type, " ", "*");

    /* doc and decorators */
    const char **decs = NULL;
    uint32_t nd = 0, capd = 0;
    if (!ts_node_eq(anchor, node)) parse__decorators_in(ctx, anchor, &decs, &nd, &capd, 0);
    parse__decorators_in(ctx, node, &decs, &nd, &capd, 0);
    if (ctx->lang == SC_LANG_PYTHON && (kind == SC_ENTITY_KIND_FUNCTION || kind == SC_ENTITY_KIND_METHOD ||
                                        kind == SC_ENTITY_KIND_CLASS))
        parse__docstring(ctx, fn, e);
    uint32_t first = start;
    parse__leading(ctx, anchor, e, &decs, &nd, &capd, &first);
    if (first < start) start = first;
    if (!e->doc) e->doc_start_byte = e->doc_end_byte = start;
    e->decorators = decs;
    e->n_decorators = nd;

    e->start_byte = start;
    e->end_byte = end;
    e->start_line = parse__line_of(ctx, start);
    e->end_line = parse__line_of(ctx, end > start ? end - 1 : start);
    if (ctx->opt->with_body) e->body = parse_arena_strndup(&ctx->res->arena, ctx->src + start, end - start);
    return idx;
}

/* ==== Walk ==== */

static bool parse__logical(TSNode n) {
    uint32_t cnt = ts_node_child_count(n);
    for (uint32_t i = 0; i < cnt; i++) {
        TSNode c = ts_node_child(n, i);
        if (ts_node_is_named(c)) continue;
        const char *t = ts_node_type(c);
        if (!strcmp(t, "&&") || !strcmp(t, "||") || !strcmp(t, "and") || !strcmp(t, "or") || !strcmp(t, "??"))
            return true;
    }
    return false;
}

static const char *parse__go_package(parse_ctx *ctx, TSNode root) {
    for (uint32_t i = 0; i < ts_node_named_child_count(root); i++) {
        TSNode c = ts_node_named_child(root, i);
        if (parse__is(c, "package_clause") && ts_node_named_child_count(c) > 0)
            return parse__text(ctx, ts_node_named_child(c, 0), PARSE__MAX_NAME);
    }
    return NULL;
}

sc_status parse_extract_tree(parse_ctx *ctx, TSTree *tree) {
    TSNode root = ts_tree_root_node(tree);
    if (ctx->lang == SC_LANG_GO) {
        ctx->go_package = parse__go_package(ctx, root);
        /* package main keeps its name, as Go's own tools print it */
        if (ctx->opt->go_import_path && *ctx->opt->go_import_path &&
            !(ctx->go_package && !strcmp(ctx->go_package, "main")))
            ctx->go_package = ctx->opt->go_import_path;
    }
    parse_iter *it = parse_iter_new(root);
    if (!it) return SC_NOMEM;
    bool check_errors = ts_node_has_error(root);
    parse__frame *frames = NULL;
    uint32_t n_frames = 0, cap_frames = 0, depth = 0;
    sc_status rc = SC_OK;
    TSNode n;
    int got;
    while ((got = parse_iter_next(it, &n, &depth)) > 0) {
        /* frames of the nodes whose subtrees the walk has left */
        while (n_frames && frames[n_frames - 1].depth >= depth) n_frames--;
        if (check_errors && (ts_node_is_error(n) || ts_node_is_missing(n))) ctx->res->pub.n_errors++;
        uint8_t role = parse__role(ctx, n);
        const parse__frame *top = n_frames ? &frames[n_frames - 1] : NULL;
        if ((role == PARSE_ROLE_DECISION || (role == PARSE_ROLE_LOGICAL && parse__logical(n))) && top && top->ent >= 0)
            ctx->res->ents[top->ent].complexity++;
        parse__frame fr = {0};
        bool push = false;
        if (role == PARSE_ROLE_ENTITY || role == PARSE_ROLE_MAYBE) {
            TSSymbol s = ts_node_symbol(n);
            int32_t idx = parse__entity(ctx, n, role, (sc_entity_kind)ctx->tab->kind[s], top);
            if (idx == -2) { rc = SC_NOMEM; break; }
            if (idx >= 0) {
                fr = (parse__frame){depth, idx, ctx->res->ents[idx].qualified_name, false};
                push = true;
            }
        } else if (role == PARSE_ROLE_SCOPE) {
            char *ty = parse__text(ctx, parse__field(ctx, n, PARSE_F_TYPE), PARSE__MAX_NAME);
            const char *q = ty;
            if (ty && top && top->qual) q = parse__concat(ctx, top->qual, parse__sep(ctx->lang), ty);
            fr = (parse__frame){depth, top ? top->ent : -1, q, true};
            push = true;
        }
        if (push) {
            if (!util_grow_u32(&frames, &cap_frames, (size_t)n_frames + 1, sizeof *frames, 16)) {
                rc = SC_NOMEM;
                break;
            }
            frames[n_frames++] = fr;
        }
    }
    if (got < 0) rc = SC_NOMEM;
    free(frames);
    parse_iter_free(it);
    if (ctx->res->arena.oom) rc = SC_NOMEM;
    return rc;
}

/* ==== Doc comments ==== */

char *parse_doc_clean(parse_arena *a, const char *text, size_t n, bool docstring) {
    util_buf out = {0};
    size_t i = 0;
    if (docstring) { /* strip string prefix and quotes */
        while (i < n && strchr("rRuUbBfF", text[i]) && text[i]) i++;
        size_t q = 0;
        if (i + 3 <= n && (!memcmp(text + i, "\"\"\"", 3) || !memcmp(text + i, "'''", 3))) q = 3;
        else if (i < n && (text[i] == '"' || text[i] == '\'')) q = 1;
        i += q;
        if (n >= i + q) n -= q;
    }
    /* per line: drop indentation and comment markers */
    size_t min_indent = (size_t)-1;
    size_t line_no = 0;
    util_buf lines = {0}; /* cleaned lines, '\n'-separated, before dedent */
    while (i < n) {
        size_t e = i;
        while (e < n && text[e] != '\n') e++;
        size_t a0 = i, b0 = e;
        if (b0 > a0 && text[b0 - 1] == '\r') b0--;
        if (!docstring) {
            while (a0 < b0 && (text[a0] == ' ' || text[a0] == '\t')) a0++;
            while (b0 > a0 && (text[b0 - 1] == ' ' || text[b0 - 1] == '\t')) b0--;
            if (b0 - a0 >= 2 && !memcmp(text + b0 - 2, "*/", 2)) b0 -= 2;
            static const char *const markers[] = {"/**", "/*!", "/*", "///", "//!", "//", "#", "--", "*", NULL};
            for (int m = 0; markers[m]; m++) {
                size_t ml = strlen(markers[m]);
                if (b0 - a0 >= ml && !memcmp(text + a0, markers[m], ml)) {
                    a0 += ml;
                    if (m == 6) while (a0 < b0 && text[a0] == '#') a0++; /* ## */
                    break;
                }
            }
            while (b0 > a0 && (text[b0 - 1] == '*' && b0 - a0 >= 1 && (b0 - a0 == 1 || text[b0 - 2] == '*'))) b0--;
            if (a0 < b0 && text[a0] == ' ') a0++;
        } else if (line_no > 0) {
            size_t ind = 0;
            while (a0 + ind < b0 && (text[a0 + ind] == ' ' || text[a0 + ind] == '\t')) ind++;
            if (a0 + ind < b0 && ind < min_indent) min_indent = ind;
        }
        while (b0 > a0 && (text[b0 - 1] == ' ' || text[b0 - 1] == '\t')) b0--;
        if (line_no) util_buf_append(&lines, "\n", 1);
        util_buf_append(&lines, text + a0, b0 - a0);
        line_no++;
        i = e + 1;
    }
    /* dedent docstring continuation lines, trim blank lines at both ends */
    const char *s = lines.data ? lines.data : "";
    size_t sl = lines.len;
    if (docstring && min_indent != (size_t)-1 && min_indent > 0) {
        size_t p = 0, ln = 0;
        while (p <= sl) {
            size_t e = p;
            while (e < sl && s[e] != '\n') e++;
            size_t skip = 0;
            if (ln > 0) while (skip < min_indent && p + skip < e && (s[p + skip] == ' ' || s[p + skip] == '\t')) skip++;
            if (ln) util_buf_append(&out, "\n", 1);
            util_buf_append(&out, s + p + skip, e - p - skip);
            ln++;
            p = e + 1;
        }
        s = out.data ? out.data : "";
        sl = out.len;
    }
    size_t a1 = 0, b1 = sl;
    while (a1 < b1 && parse__space(s[a1])) a1++;
    while (b1 > a1 && parse__space(s[b1 - 1])) b1--;
    char *res = b1 > a1 ? parse_arena_strndup(a, s + a1, b1 - a1) : NULL;
    util_buf_free(&lines);
    util_buf_free(&out);
    return res;
}
