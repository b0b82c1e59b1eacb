/*
** repo/calls.c: the call graph of an indexed repository (issue 19):
** callers and callees of an entity, resolved from the call sites, entities
** and imports the index run stored in state.db (src/pipeline/graph.c).
**
** DESIGN. A call site names its callee by a simple name and a receiver
** text; it is resolved when read, against the entities of the whole index
** as it is then. Candidates are the entities of that name in the same
** language family (JS/TS, C/C++); each gets a score from what the site's
** scope says about it, and the best score wins:
**   self      receiver self/this/Self (Go: the method's receiver) and the
**             candidate is a method of the caller's class             100
**   class     plain call of a method of the caller's class (Java, C#,
**             C++, Ruby, PHP: implicit this)                          100
**   import    the name (or the receiver) is imported from the module
**             that defines the candidate                               95
**   same_file the candidate is defined in the calling file              90
**   local_type the receiver is a local variable the caller assigned a
**             construction of the candidate's class (x = new T())      85
**   type      receiver names the candidate's class (Foo.bar, Foo::new)  80
**   package   same directory (Go, Java, C# packages; Rust modules)     80
**   include   C/C++: defined in a file the caller includes, by stem   70
**   global    C/C++ functions elsewhere                                40
**   inherited receiver self but the method is in another class       30
**   name      a method of that name, receiver of unknown type         10
** A local variable of known type, or a capitalized receiver (a type)
** that is not the candidate's class, rules the candidate out.
** A name imported from a module that does not define the candidate rules
** it out (it is the library's), and so do Python and JS names neither
** defined in the file nor imported (builtins, globals). Several candidates
** at the best score: below 80 the one sharing the longest directory prefix
** with the caller wins, and a tie there leaves the site unresolved
** (ambiguous); from 80 up all are kept (overloads, conditional defs).
**
** Thread safety: uses the repository handle (one thread at a time).
*/
#include "repo/repo_int.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALLS__MAX_TARGETS 32 /* entities a target name may stand for */
#define CALLS__MAX_CANDS 512  /* entities of one name considered per site */

/* An entity as graph_defs holds it. */
typedef struct calls__def {
    sc_call_entity e;   /* public view (owned strings) */
    char *parent;       /* qualified name of the enclosing entity, or NULL */
} calls__def;

/* One call site as graph_calls holds it. */
typedef struct calls__site {
    char *path;        /* file */
    int64_t caller;    /* point id of the entity around it, 0 at top level */
    char *name;        /* callee name */
    char *receiver;    /* receiver text or NULL */
    char *recv_type;   /* the receiver's type when the caller constructed it, or NULL */
    int kind;          /* parse_call_kind */
    uint32_t line;     /* line */
} calls__site;

/* Imports of one file (the last one asked for is cached). */
typedef struct calls__imports {
    char *path;        /* file, NULL when none loaded */
    char **local;      /* bound names */
    char **module;     /* modules */
    char **symbol;     /* symbols (NULL entries allowed) */
    size_t n, cap;     /* used, allocated */
} calls__imports;

/* ==== Strings and paths ==== */

static char *calls__dup(const unsigned char *s) { return s ? util_strdup((const char *)s) : NULL; }

static int calls__family(const char *lang) {
    if (!strcmp(lang, "javascript") || !strcmp(lang, "typescript") || !strcmp(lang, "tsx")) return 1;
    if (!strcmp(lang, "c") || !strcmp(lang, "cpp")) return 2;
    return 0;
}

static bool calls__same_family(const char *a, const char *b) {
    int fa = calls__family(a), fb = calls__family(b);
    return fa || fb ? fa == fb : !strcmp(a, b);
}

static bool calls__ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !memcmp(s + n - m, suffix, m);
}

/* Length of the directory part of path ("a/b/c.py" -> 3). */
static size_t calls__dirlen(const char *path) {
    const char *sl = strrchr(path, '/');
    return sl ? (size_t)(sl - path) : 0;
}

static bool calls__same_dir(const char *a, const char *b) {
    size_t la = calls__dirlen(a), lb = calls__dirlen(b);
    return la == lb && !strncmp(a, b, la);
}

/* Characters of the directory prefix two paths share. */
static size_t calls__common_dir(const char *a, const char *b) {
    size_t i = 0, last = 0;
    while (a[i] && a[i] == b[i]) {
        if (a[i] == '/') last = i + 1;
        i++;
    }
    return last;
}

/* The class part of a method's qualified name, normalized: "pkg.(*T).M" ->
** "pkg.T", "A.B.m" -> "A.B", "T::m" -> "T". Written to buf; "" when none. */
static const char *calls__class_key(const char *qname, char *buf, size_t cap) {
    size_t n = 0;
    for (const char *p = qname; *p && n + 1 < cap; p++)
        if (*p != '(' && *p != ')' && *p != '*') buf[n++] = *p;
    buf[n] = 0;
    /* cut the last segment */
    char *cut = NULL;
    for (char *p = buf; *p; p++) {
        if (*p == '.') cut = p;
        else if (*p == ':' && p[1] == ':') cut = p++;
    }
    if (cut) *cut = 0;
    else buf[0] = 0;
    return buf;
}

/* Last segment of a dotted or ::-separated name. */
static const char *calls__last_seg(const char *s) {
    const char *r = s;
    for (const char *p = s; *p; p++)
        if (*p == '.' || *p == ':' || *p == '/' || *p == '\\') r = p + 1;
    return r;
}

/* Does the file `path` (without extension) end with the segments of module
** written with sep between them ("a.b" with '.' -> ".../a/b")? Also true for
** a package's __init__.py / mod.rs / index.js. */
static bool calls__path_is_module(const char *path, const char *mod, char sep) {
    char want[PATH_MAX];
    size_t n = 0;
    for (const char *p = mod; *p && n + 1 < sizeof want; p++) {
        if (*p == sep) {
            if (sep == ':' && p[1] == ':') p++;
            want[n++] = '/';
        } else {
            want[n++] = *p;
        }
    }
    want[n] = 0;
    if (!n) return false;
    char stem[PATH_MAX];
    snprintf(stem, sizeof stem, "%s", path);
    char *dot = strrchr(stem, '.');
    if (dot && dot > stem + calls__dirlen(stem)) *dot = 0;
    const char *pkg_files[] = {"/__init__", "/mod", "/index", "/lib"};
    for (int pass = 0; pass < 5; pass++) {
        char cand[PATH_MAX];
        if (pass == 0) snprintf(cand, sizeof cand, "%s", stem);
        else {
            if (!calls__ends_with(stem, pkg_files[pass - 1])) continue;
            snprintf(cand, sizeof cand, "%.*s", (int)(strlen(stem) - strlen(pkg_files[pass - 1])), stem);
        }
        size_t cl = strlen(cand);
        if (cl >= n && !strcmp(cand + cl - n, want) && (cl == n || cand[cl - n - 1] == '/')) return true;
    }
    return false;
}

/* Resolve a relative JS/Python module against the importer's directory into
** a '/'-separated path without extension (buf); false when not relative. */
static bool calls__relative(const char *importer, const char *mod, bool python, char *buf, size_t cap) {
    size_t dl = calls__dirlen(importer);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", (int)dl, importer);
    if (python) {
        if (mod[0] != '.') return false;
        const char *p = mod + 1;
        while (*p == '.') { /* each further dot: one level up */
            char *sl = strrchr(dir, '/');
            if (sl) *sl = 0;
            else dir[0] = 0;
            p++;
        }
        size_t n = (size_t)snprintf(buf, cap, "%s%s", dir, *dir && *p ? "/" : "");
        for (; *p && n + 1 < cap; p++) buf[n++] = *p == '.' ? '/' : *p;
        buf[n] = 0;
        return true;
    }
    if (strncmp(mod, "./", 2) && strncmp(mod, "../", 3)) return false;
    const char *p = mod;
    for (;;) {
        if (!strncmp(p, "./", 2)) p += 2;
        else if (!strncmp(p, "../", 3)) {
            char *sl = strrchr(dir, '/');
            if (sl) *sl = 0;
            else dir[0] = 0;
            p += 3;
        } else break;
    }
    if (snprintf(buf, cap, "%s%s%s", dir, *dir ? "/" : "", p) >= (int)cap) return false;
    char *dot = strrchr(buf, '.');
    if (dot && dot > buf + calls__dirlen(buf) && (!strcmp(dot, ".js") || !strcmp(dot, ".ts") || !strcmp(dot, ".mjs") ||
                                                 !strcmp(dot, ".cjs") || !strcmp(dot, ".jsx") || !strcmp(dot, ".tsx")))
        *dot = 0;
    return true;
}

/* Is the candidate defined by module mod (imported into importer)? */
static bool calls__module_defines(const char *lang, const char *importer, const char *mod, const calls__def *d) {
    const char *path = d->e.path;
    char rel[PATH_MAX];
    if (!strcmp(lang, "python")) {
        if (calls__relative(importer, mod, true, rel, sizeof rel)) return calls__path_is_module(path, rel, '/') ||
                                                                          (!*rel && !strcmp(path, importer));
        return calls__path_is_module(path, mod, '.');
    }
    if (calls__family(lang) == 1) {
        if (!calls__relative(importer, mod, false, rel, sizeof rel)) return false; /* a package: not ours */
        char stem[PATH_MAX];
        snprintf(stem, sizeof stem, "%s", path);
        char *dot = strrchr(stem, '.');
        if (dot && dot > stem + calls__dirlen(stem)) *dot = 0;
        if (!strcmp(stem, rel)) return true;
        size_t rl = strlen(rel);
        return !strncmp(stem, rel, rl) && !strcmp(stem + rl, "/index");
    }
    if (!strcmp(lang, "go")) {
        size_t ml = strlen(mod);
        if (!strncmp(d->e.qualified_name, mod, ml) && d->e.qualified_name[ml] == '.') return true;
        size_t dl = calls__dirlen(path);
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)dl, path);
        return dl && (calls__ends_with(mod, dir) && (ml == dl || mod[ml - dl - 1] == '/'));
    }
    if (!strcmp(lang, "java") || !strcmp(lang, "csharp")) return calls__path_is_module(path, mod, '.');
    if (!strcmp(lang, "rust")) {
        const char *m = mod;
        for (;;) {
            if (!strncmp(m, "crate::", 7)) m += 7;
            else if (!strncmp(m, "self::", 6)) m += 6;
            else if (!strncmp(m, "super::", 7)) m += 7;
            else break;
        }
        if (!strcmp(m, "crate") || !strcmp(m, "self") || !strcmp(m, "super") || !*m) return true;
        return calls__path_is_module(path, m, ':');
    }
    if (calls__family(lang) == 2) { /* an include "x.h" covers x.c, x.cpp, x.h */
        const char *a = strrchr(mod, '/') ? strrchr(mod, '/') + 1 : mod;
        const char *b = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        const char *da = strrchr(a, '.'), *db = strrchr(b, '.');
        size_t la = da ? (size_t)(da - a) : strlen(a), lb = db ? (size_t)(db - b) : strlen(b);
        return la == lb && !strncmp(a, b, la);
    }
    return false;
}

/* ==== Reading state.db ==== */

static void calls__def_clear(calls__def *d) {
    free(d->e.path);
    free(d->e.language);
    free(d->e.kind);
    free(d->e.name);
    free(d->e.qualified_name);
    free(d->parent);
    memset(d, 0, sizeof *d);
}

#define CALLS__DEF_COLS "id, path, lang, kind, name, qname, parent, start_line, end_line"

static void calls__def_read(sqlite3_stmt *st, calls__def *d) {
    memset(d, 0, sizeof *d);
    d->e.id = (uint64_t)sqlite3_column_int64(st, 0);
    d->e.path = calls__dup(sqlite3_column_text(st, 1));
    d->e.language = calls__dup(sqlite3_column_text(st, 2));
    d->e.kind = calls__dup(sqlite3_column_text(st, 3));
    d->e.name = calls__dup(sqlite3_column_text(st, 4));
    d->e.qualified_name = calls__dup(sqlite3_column_text(st, 5));
    d->parent = calls__dup(sqlite3_column_text(st, 6));
    d->e.start_line = (uint32_t)sqlite3_column_int64(st, 7);
    d->e.end_line = (uint32_t)sqlite3_column_int64(st, 8);
}

/* calls__rows reader of a definition row (CALLS__DEF_COLS): false, with
** nothing kept, when a column it needs is missing or a copy failed. */
static bool calls__def_row(sqlite3_stmt *st, void *item) {
    calls__def *d = item;
    calls__def_read(st, d);
    if (d->e.path && d->e.language && d->e.kind && d->e.name && d->e.qualified_name) return true;
    calls__def_clear(d);
    return false;
}

/* Prepare sql on the state database with parameter 1 bound to arg (text,
** borrowed until *st is finalized) or, when arg is NULL, to iarg.
** SC_IOERR (message on r) when sql cannot be prepared. */
static sc_status calls__prepare(sc_repo *r, const char *sql, const char *arg, int64_t iarg, sqlite3_stmt **st) {
    *st = NULL;
    if (sqlite3_prepare_v2(r->state, sql, -1, st, NULL) != SQLITE_OK)
        return repo_fail(r, SC_IOERR, "state database: %s", sqlite3_errmsg(r->state));
    if (arg) sqlite3_bind_text(*st, 1, arg, -1, SQLITE_STATIC);
    else sqlite3_bind_int64(*st, 1, iarg);
    return SC_OK;
}

/* Step st and append its rows to the array *items (elements of elem bytes,
** *n in use, grown from min_cap) until *n reaches max or the rows end;
** read_row fills one element and returns false to skip its row. Finalizes
** st. SC_NOMEM (message on r). */
static sc_status calls__rows(sc_repo *r, sqlite3_stmt *st, void *items, size_t elem, size_t min_cap, size_t *n,
                             size_t max, bool (*read_row)(sqlite3_stmt *st, void *item)) {
    size_t cap = *n;
    sc_status rc = SC_OK;
    while (*n < max && sqlite3_step(st) == SQLITE_ROW) {
        if (!util_grow(items, &cap, *n + 1, elem, min_cap)) {
            rc = repo_fail(r, SC_NOMEM, "out of memory");
            break;
        }
        char *base; /* *items, read as the bytes of a pointer (items points to a T *, not a char *) */
        memcpy(&base, items, sizeof base);
        if (read_row(st, base + *n * elem)) (*n)++;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Definitions selected by sql with one parameter (text arg, else iarg),
** at most max in all; appended to *defs. SC_NOMEM, SC_IOERR. */
static sc_status calls__defs_query(sc_repo *r, const char *sql, const char *arg, int64_t iarg, calls__def **defs,
                                   size_t *n, size_t max) {
    sqlite3_stmt *st;
    sc_status rc = calls__prepare(r, sql, arg, iarg, &st);
    return rc == SC_OK ? calls__rows(r, st, defs, sizeof **defs, 8, n, max, calls__def_row) : rc;
}

static void calls__defs_free(calls__def *defs, size_t n) {
    for (size_t i = 0; i < n; i++) calls__def_clear(&defs[i]);
    free(defs);
}

static void calls__imports_clear(calls__imports *im) {
    for (size_t i = 0; i < im->n; i++) {
        free(im->local[i]);
        free(im->module[i]);
        free(im->symbol[i]);
    }
    free(im->local);
    free(im->module);
    free(im->symbol);
    free(im->path);
    memset(im, 0, sizeof *im);
}

/* Load the imports of path into im (cached: nothing to do when loaded). */
static sc_status calls__imports_load(sc_repo *r, calls__imports *im, const char *path) {
    if (im->path && !strcmp(im->path, path)) return SC_OK;
    calls__imports_clear(im);
    im->path = util_strdup(path);
    sqlite3_stmt *st;
    sc_status rc = calls__prepare(r, "SELECT local, module, symbol FROM graph_imports WHERE path=?1", path, 0, &st);
    if (rc != SC_OK) return rc;
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t c1 = im->cap, c2 = im->cap;
        if (!util_grow(&im->local, &im->cap, im->n + 1, sizeof *im->local, 8) ||
            !util_grow(&im->module, &c1, im->n + 1, sizeof *im->module, 8) ||
            !util_grow(&im->symbol, &c2, im->n + 1, sizeof *im->symbol, 8)) {
            rc = repo_fail(r, SC_NOMEM, "out of memory");
            break;
        }
        im->local[im->n] = calls__dup(sqlite3_column_text(st, 0));
        im->module[im->n] = calls__dup(sqlite3_column_text(st, 1));
        im->symbol[im->n] = calls__dup(sqlite3_column_text(st, 2));
        if (im->local[im->n] && im->module[im->n]) im->n++;
    }
    sqlite3_finalize(st);
    return rc;
}

/* ==== Resolution ==== */

/* What a scoring pass knows about one site. */
typedef struct calls__scope {
    const calls__site *s;       /* the site */
    const calls__def *caller;   /* the entity around it, NULL at top level */
    const char *lang;           /* its language */
    const calls__imports *im;   /* its file's imports */
    char caller_class[512];     /* class key of the caller when a method ("" otherwise) */
} calls__scope;

static bool calls__is_type(const char *kind) {
    return !strcmp(kind, "class") || !strcmp(kind, "struct") || !strcmp(kind, "interface") ||
           !strcmp(kind, "trait") || !strcmp(kind, "enum");
}

static bool calls__selfish(const char *recv) {
    return !strcmp(recv, "self") || !strcmp(recv, "this") || !strcmp(recv, "cls") || !strcmp(recv, "Self") ||
           !strcmp(recv, "super") || !strcmp(recv, "super()") || !strcmp(recv, "$this") || !strcmp(recv, "static") ||
           !strcmp(recv, "base");
}

/* Score of candidate d for the site (0 = ruled out) and how it was chosen. */
static int calls__score(const calls__scope *sc, const calls__def *d, const char **how) {
    const calls__site *s = sc->s;
    if (!calls__same_family(sc->lang, d->e.language)) return 0;
    if (sc->caller && sc->caller->e.id == d->e.id && s->kind != 0 && s->receiver && !calls__selfish(s->receiver))
        return 0; /* obj.f() inside f is rarely recursion */
    bool method = !strcmp(d->e.kind, "method");
    bool type = calls__is_type(d->e.kind);
    char ck[512];
    calls__class_key(d->e.qualified_name, ck, sizeof ck);
    const char *recv = s->receiver;
    bool is_new = s->kind == 2;
    if (is_new && !type && method) return 0;
    if (!recv) {
        /* plain name: an import binding it decides */
        for (size_t i = 0; i < sc->im->n; i++) {
            if (strcmp(sc->im->local[i], s->name)) continue;
            if (calls__module_defines(sc->lang, s->path, sc->im->module[i], d) && !method) {
                *how = "import";
                return 95;
            }
            return 0; /* that name is the module's, and the module is not this file */
        }
        if (method) {
            bool implicit_this = !strcmp(sc->lang, "java") || !strcmp(sc->lang, "csharp") ||
                                 !strcmp(sc->lang, "cpp") || !strcmp(sc->lang, "ruby");
            if (implicit_this && sc->caller_class[0] && !strcmp(ck, sc->caller_class)) {
                *how = "class";
                return 100;
            }
            return 0;
        }
        if (!strcmp(d->e.path, s->path)) {
            *how = "same_file";
            return 90;
        }
        if (!strcmp(sc->lang, "python") || calls__family(sc->lang) == 1) {
            for (size_t i = 0; i < sc->im->n; i++) /* star imports */
                if (!strcmp(sc->im->local[i], "*") && calls__module_defines(sc->lang, s->path, sc->im->module[i], d)) {
                    *how = "import";
                    return 60;
                }
            return 0; /* a builtin or global, not this entity */
        }
        if (calls__same_dir(d->e.path, s->path) &&
            (!strcmp(sc->lang, "go") || !strcmp(sc->lang, "java") || !strcmp(sc->lang, "csharp") ||
             !strcmp(sc->lang, "rust"))) {
            *how = "package";
            return 80;
        }
        if (calls__family(sc->lang) == 2) {
            /* a prototype in a header loses to the definition */
            int header = calls__ends_with(d->e.path, ".h") || calls__ends_with(d->e.path, ".hpp");
            for (size_t i = 0; i < sc->im->n; i++)
                if (!*sc->im->local[i] && calls__module_defines(sc->lang, s->path, sc->im->module[i], d)) {
                    *how = "include";
                    return 70 - header;
                }
            *how = "global";
            return 40 - header;
        }
        if (!strcmp(sc->lang, "rust") || !strcmp(sc->lang, "php")) {
            *how = "name";
            return 20;
        }
        return 0;
    }
    /* receiver present */
    if (calls__selfish(recv)) {
        if (!method && !(sc->caller_class[0] && !strcmp(sc->lang, "rust"))) return 0;
        if (sc->caller_class[0] && !strcmp(ck, sc->caller_class)) {
            *how = "self";
            return 100;
        }
        if (!method) return 0;
        *how = "inherited";
        return 30;
    }
    /* a local variable the caller constructed: its class decides */
    if (s->recv_type) {
        if (!method || strcmp(calls__last_seg(ck), s->recv_type)) return 0;
        *how = "local_type";
        return 85;
    }
    /* the receiver, or its first segment, is an import */
    size_t rl = strlen(recv);
    for (size_t i = 0; i < sc->im->n; i++) {
        const char *loc = sc->im->local[i];
        size_t ll = strlen(loc);
        if (!ll || strncmp(recv, loc, ll) || (recv[ll] && recv[ll] != '.')) continue;
        char mod[PATH_MAX];
        const char *sym = sc->im->symbol[i];
        bool is_py = !strcmp(sc->lang, "python");
        /* from pkg import mod; mod.f()  /  import a.b; a.b.f() */
        if (is_py && sym) snprintf(mod, sizeof mod, "%s%s%s%s", sc->im->module[i],
                                   sc->im->module[i][strlen(sc->im->module[i]) - 1] == '.' ? "" : ".", sym, recv + ll);
        else if (is_py) snprintf(mod, sizeof mod, "%s%s", sc->im->module[i], recv + ll);
        else if (sym && (!strcmp(sc->lang, "java") || !strcmp(sc->lang, "csharp"))) /* a class: its own file */
            snprintf(mod, sizeof mod, "%s.%s", sc->im->module[i], sym);
        else snprintf(mod, sizeof mod, "%s", sc->im->module[i]);
        bool defines = calls__module_defines(sc->lang, s->path, mod, d);
        if (defines && (!method || !sym || is_py || !strcmp(calls__last_seg(ck), sym) ||
                        !strcmp(calls__last_seg(ck), loc) || rl > ll)) {
            *how = "import";
            return 95;
        }
        /* an imported class: Foo.bar() with Foo from the module defining the method's class */
        if (method && sym && !strcmp(calls__last_seg(ck), sym) && calls__module_defines(sc->lang, s->path, mod, d)) {
            *how = "import";
            return 95;
        }
        if (!is_py || !sym || rl == ll) return 0; /* the receiver is the module's object */
    }
    if ((method || type) && ck[0] && !strcmp(calls__last_seg(ck), calls__last_seg(recv)) &&
        strcmp(calls__last_seg(recv), "")) {
        *how = "type";
        return 80;
    }
    if (type && is_new && !strcmp(d->e.name, s->name)) { /* new ns.Foo() */
        *how = "type";
        return 60;
    }
    /* Capitalized receiver: a type (or a constant) that defines none of the candidates */
    const char *rs = calls__last_seg(recv);
    if (rs[0] >= 'A' && rs[0] <= 'Z' && strcmp(sc->lang, "go") && !strchr(recv, '(') && !strchr(recv, '['))
        return 0;
    if (method) {
        *how = "name";
        return !strcmp(d->e.path, s->path) ? 15 : 10;
    }
    return 0;
}

/* Resolve a site into out (ids of the chosen candidates, at most cap) and
** their count; *how gets the rule that chose them. cands are the entities
** named like the callee. */
static size_t calls__pick(const calls__scope *sc, const calls__def *cands, size_t n_cands, size_t *out, size_t cap,
                          const char **how) {
    int best = 0;
    size_t n = 0, best_dir = 0;
    for (size_t i = 0; i < n_cands; i++) {
        const char *h = NULL;
        int v = calls__score(sc, &cands[i], &h);
        if (v <= 0) continue;
        size_t dir = calls__common_dir(cands[i].e.path, sc->s->path);
        if (v > best || (v == best && v < 80 && dir > best_dir)) {
            best = v;
            best_dir = dir;
            n = 0;
            *how = h;
        } else if (v < best || (v < 80 && dir < best_dir)) {
            continue;
        }
        if (n < cap) out[n++] = i;
    }
    if (best < 80 && n > 1) return 0; /* ambiguous */
    /* a C prototype and its definition share a qualified name: keep the longer one */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const calls__def *d = &cands[out[i]];
        bool shadowed = false;
        for (size_t j = 0; j < n && !shadowed; j++) {
            const calls__def *o = &cands[out[j]];
            uint32_t sd = d->e.end_line - d->e.start_line, so = o->e.end_line - o->e.start_line;
            shadowed = j != i && !strcmp(o->e.qualified_name, d->e.qualified_name) && (so > sd || (so == sd && j < i));
        }
        if (!shadowed) out[k++] = out[i];
    }
    return k;
}

/* ==== Public API ==== */

static void calls__entity_free(sc_call_entity *e) {
    free(e->path);
    free(e->language);
    free(e->kind);
    free(e->name);
    free(e->qualified_name);
}

void sc_call_edges_free(sc_call_edges *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_targets; i++) calls__entity_free(&g->targets[i]);
    for (size_t i = 0; i < g->n; i++) {
        calls__entity_free(&g->items[i].caller);
        calls__entity_free(&g->items[i].callee);
        free(g->items[i].path);
        free(g->items[i].receiver);
        free(g->items[i].name);
    }
    free(g->targets);
    free(g->items);
    free(g);
}

static bool calls__entity_copy(sc_call_entity *dst, const sc_call_entity *src) {
    *dst = *src;
    dst->path = util_strdup(src->path ? src->path : "");
    dst->language = util_strdup(src->language ? src->language : "");
    dst->kind = util_strdup(src->kind ? src->kind : "");
    dst->name = util_strdup(src->name ? src->name : "");
    dst->qualified_name = util_strdup(src->qualified_name ? src->qualified_name : "");
    return dst->path && dst->language && dst->kind && dst->name && dst->qualified_name;
}

/* Entities target stands for: "path:line" (the innermost one covering the
** line), a qualified name, or a simple name (every entity of that name). */
static sc_status calls__targets(sc_repo *r, const char *target, calls__def **defs, size_t *n) {
    *defs = NULL;
    *n = 0;
    const char *colon = strrchr(target, ':');
    char *end = NULL;
    long line = colon && colon > target && colon[-1] != ':' ? strtol(colon + 1, &end, 10) : 0;
    sc_status rc = SC_OK;
    if (colon && end && !*end && line > 0) {
        char path[PATH_MAX], abs[PATH_MAX];
        snprintf(path, sizeof path, "%.*s", (int)(colon - target), target);
        const char *rel = path;
        size_t rl = strlen(r->root);
        if (realpath(path, abs) && !strncmp(abs, r->root, rl) && abs[rl] == '/') rel = abs + rl + 1;
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT " CALLS__DEF_COLS " FROM graph_defs WHERE path=?1 AND start_line<=%ld AND end_line>=%ld"
                 " ORDER BY end_line-start_line LIMIT 1",
                 line, line);
        rc = calls__defs_query(r, sql, rel, 0, defs, n, 1);
    } else {
        rc = calls__defs_query(r, "SELECT " CALLS__DEF_COLS " FROM graph_defs WHERE qname=?1 ORDER BY path, start_line",
                               target, 0, defs, n, CALLS__MAX_TARGETS);
        if (rc == SC_OK && !*n)
            rc = calls__defs_query(r, "SELECT " CALLS__DEF_COLS " FROM graph_defs WHERE name=?1 ORDER BY path, start_line",
                                   target, 0, defs, n, CALLS__MAX_TARGETS);
        if (rc == SC_OK && !*n) {
            /* "Class.method" against "pkg.(*Class).method" or "mod::Class::method" */
            char like[600];
            snprintf(like, sizeof like, "%%%s", calls__last_seg(target));
            calls__def *all = NULL;
            size_t na = 0;
            rc = calls__defs_query(r, "SELECT " CALLS__DEF_COLS " FROM graph_defs WHERE name=?1", calls__last_seg(target),
                                   0, &all, &na, 4096);
            for (size_t i = 0; rc == SC_OK && i < na; i++) {
                char ck[512];
                calls__class_key(all[i].e.qualified_name, ck, sizeof ck);
                char want[512];
                snprintf(want, sizeof want, "%.*s", (int)(calls__last_seg(target) - target), target);
                size_t wl = strlen(want);
                while (wl && (want[wl - 1] == '.' || want[wl - 1] == ':')) want[--wl] = 0;
                if (wl && calls__ends_with(ck, want) && *n < CALLS__MAX_TARGETS) {
                    size_t cap = *n;
                    if (!util_grow(defs, &cap, *n + 1, sizeof **defs, 4)) {
                        rc = repo_fail(r, SC_NOMEM, "out of memory");
                        break;
                    }
                    (*defs)[(*n)++] = all[i];
                    memset(&all[i], 0, sizeof all[i]);
                }
            }
            calls__defs_free(all, na);
        }
    }
    if (rc == SC_OK && !*n)
        rc = repo_fail(r, SC_NOTFOUND,
                       "no indexed entity at %s (give a name, a qualified name or path:line; an index made before the "
                       "call graph needs one `semcode index` run)",
                       target);
    if (rc != SC_OK) {
        calls__defs_free(*defs, *n);
        *defs = NULL;
        *n = 0;
    }
    return rc;
}

/* calls__rows reader of a call-site row (path, caller, name, receiver,
** kind, line, recv_type): false, with nothing kept, without a path or name. */
static bool calls__site_row(sqlite3_stmt *st, void *item) {
    calls__site *s = item;
    s->path = calls__dup(sqlite3_column_text(st, 0));
    s->caller = sqlite3_column_int64(st, 1);
    s->name = calls__dup(sqlite3_column_text(st, 2));
    s->receiver = calls__dup(sqlite3_column_text(st, 3));
    s->kind = sqlite3_column_int(st, 4);
    s->line = (uint32_t)sqlite3_column_int64(st, 5);
    s->recv_type = calls__dup(sqlite3_column_text(st, 6));
    if (s->path && s->name) return true;
    free(s->path);
    free(s->name);
    free(s->receiver);
    free(s->recv_type);
    return false;
}

/* Sites selected by sql with one parameter (text arg, else iarg); appended
** to *sites. SC_NOMEM, SC_IOERR. */
static sc_status calls__sites_query(sc_repo *r, const char *sql, const char *arg, int64_t iarg, calls__site **sites,
                                    size_t *n) {
    sqlite3_stmt *st;
    sc_status rc = calls__prepare(r, sql, arg, iarg, &st);
    return rc == SC_OK ? calls__rows(r, st, sites, sizeof **sites, 16, n, SIZE_MAX, calls__site_row) : rc;
}

static void calls__sites_free(calls__site *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(s[i].path);
        free(s[i].name);
        free(s[i].receiver);
        free(s[i].recv_type);
    }
    free(s);
}

/* Append an edge (copies everything). */
static bool calls__edge_add(sc_call_edges *g, size_t *cap, const calls__site *s, const calls__def *caller,
                            const calls__def *callee, const char *how) {
    if (!util_grow(&g->items, cap, g->n + 1, sizeof *g->items, 16)) return false;
    sc_call_edge *e = &g->items[g->n];
    memset(e, 0, sizeof *e);
    sc_call_entity top = {0};
    top.path = s->path;
    top.kind = "file";
    top.name = s->path;
    top.qualified_name = s->path;
    top.language = "";
    sc_call_entity none = {0};
    none.name = s->name;
    none.qualified_name = s->name;
    bool ok = calls__entity_copy(&e->caller, caller ? &caller->e : &top) &&
              calls__entity_copy(&e->callee, callee ? &callee->e : &none);
    e->path = util_strdup(s->path);
    e->name = util_strdup(s->name);
    e->receiver = s->receiver ? util_strdup(s->receiver) : NULL;
    e->line = s->line;
    e->how = how;
    g->n++;
    return ok && e->path && e->name && (!s->receiver || e->receiver);
}

/* The shared walk of callers and callees: for each site, load its caller
** and candidates, resolve, and keep the edges `want` accepts. */
static sc_status calls__run(sc_repo *r, const char *target, bool callers, uint32_t limit, sc_call_edges **out) {
    if (!r) return SC_MISUSE;
    if (!target || !*target || !out) return repo_fail(r, SC_MISUSE, "callers/callees: empty target or NULL out");
    double t0 = util_now();
    calls__def *targets = NULL;
    size_t n_targets = 0;
    sc_status rc = calls__targets(r, target, &targets, &n_targets);
    if (rc != SC_OK) return rc;
    sc_call_edges *g = calloc(1, sizeof *g);
    if (!g) {
        calls__defs_free(targets, n_targets);
        return repo_fail(r, SC_NOMEM, "out of memory");
    }
    g->targets = calloc(n_targets, sizeof *g->targets);
    for (size_t i = 0; g->targets && i < n_targets; i++)
        if (!calls__entity_copy(&g->targets[g->n_targets++], &targets[i].e)) rc = repo_fail(r, SC_NOMEM, "out of memory");
    if (!g->targets) rc = repo_fail(r, SC_NOMEM, "out of memory");
    calls__site *sites = NULL;
    size_t n_sites = 0;
    for (size_t t = 0; rc == SC_OK && t < n_targets; t++) {
        bool seen = false; /* targets sharing a name share their sites */
        for (size_t u = 0; callers && u < t; u++) seen |= !strcmp(targets[u].e.name, targets[t].e.name);
        if (seen) continue;
        if (callers) {
            /* a class is called by its name (Foo(), new Foo()) */
            rc = calls__sites_query(r, "SELECT path, caller, name, receiver, kind, line, recv_type FROM graph_calls WHERE name=?1"
                                       " ORDER BY path, line",
                                    targets[t].e.name, 0, &sites, &n_sites);
            if (rc == SC_OK && !strcmp(targets[t].e.kind, "method") && !strcmp(targets[t].e.name, "__init__")) {
                char ck[512];
                calls__class_key(targets[t].e.qualified_name, ck, sizeof ck);
                rc = calls__sites_query(r, "SELECT path, caller, name, receiver, kind, line, recv_type FROM graph_calls WHERE name=?1",
                                        calls__last_seg(ck), 0, &sites, &n_sites);
            }
        } else {
            rc = calls__sites_query(r, "SELECT path, caller, name, receiver, kind, line, recv_type FROM graph_calls WHERE caller=?1"
                                       " ORDER BY line",
                                    NULL, (int64_t)targets[t].e.id, &sites, &n_sites);
        }
    }
    size_t cap = 0;
    calls__imports im = {0};
    calls__def *caller = NULL, *cands = NULL;
    size_t n_caller = 0, n_cands = 0;
    char last_name[256] = "";
    for (size_t i = 0; rc == SC_OK && i < n_sites && (!limit || g->n < limit); i++) {
        const calls__site *s = &sites[i];
        if (callers && i > 0 && !strcmp(s->path, sites[i - 1].path) && s->line == sites[i - 1].line &&
            !strcmp(s->name, sites[i - 1].name) && s->caller == sites[i - 1].caller)
            continue;
        rc = calls__imports_load(r, &im, s->path);
        if (rc != SC_OK) break;
        if (!n_caller || (int64_t)caller[0].e.id != s->caller) {
            calls__defs_free(caller, n_caller);
            caller = NULL;
            n_caller = 0;
            if (s->caller)
                rc = calls__defs_query(r, "SELECT " CALLS__DEF_COLS " FROM graph_defs WHERE id=?1", NULL, s->caller,
                                       &caller, &n_caller, 1);
        }
        if (rc == SC_OK && strcmp(last_name, s->name)) {
            calls__defs_free(cands, n_cands);
            cands = NULL;
            n_cands = 0;
            snprintf(last_name, sizeof last_name, "%s", s->name);
            rc = calls__defs_query(r, "SELECT " CALLS__DEF_COLS " FROM graph_defs WHERE name=?1", s->name, 0, &cands,
                                   &n_cands, CALLS__MAX_CANDS);
            /* Python: Foo() constructs a class, whose __init__ counts as called */
        }
        if (rc != SC_OK) break;
        calls__scope sc = {.s = s, .caller = n_caller ? &caller[0] : NULL, .im = &im};
        sc.lang = n_caller ? caller[0].e.language : NULL;
        if (!sc.lang) {
            /* top-level site: the language of any entity of the file */
            calls__def *any = NULL;
            size_t na = 0;
            rc = calls__defs_query(r, "SELECT " CALLS__DEF_COLS " FROM graph_defs WHERE path=?1 LIMIT 1", s->path, 0, &any,
                                   &na, 1);
            static const char *langs[] = {"python", "javascript", "typescript", "tsx", "go", "java", "c", "cpp",
                                          "rust", "ruby", "php", "csharp"};
            sc.lang = "";
            for (size_t k = 0; na && k < sizeof langs / sizeof *langs; k++)
                if (!strcmp(any[0].e.language, langs[k])) sc.lang = langs[k];
            calls__defs_free(any, na);
            if (rc != SC_OK) break;
        }
        if (sc.caller && !strcmp(sc.caller->e.kind, "method"))
            calls__class_key(sc.caller->e.qualified_name, sc.caller_class, sizeof sc.caller_class);
        size_t picked[16];
        const char *how = NULL;
        size_t np = calls__pick(&sc, cands, n_cands, picked, 16, &how);
        bool any = false;
        for (size_t k = 0; k < np; k++) {
            const calls__def *d = &cands[picked[k]];
            bool keep = !callers;
            for (size_t t = 0; callers && t < n_targets; t++) keep |= d->e.id == targets[t].e.id;
            if (!keep) continue;
            any = true;
            if (!calls__edge_add(g, &cap, s, sc.caller, d, how)) rc = repo_fail(r, SC_NOMEM, "out of memory");
        }
        if (!callers && !any) {
            g->n_unresolved++;
            if (!calls__edge_add(g, &cap, s, sc.caller, NULL, "unresolved")) rc = repo_fail(r, SC_NOMEM, "out of memory");
        }
    }
    calls__imports_clear(&im);
    calls__defs_free(caller, n_caller);
    calls__defs_free(cands, n_cands);
    calls__sites_free(sites, n_sites);
    calls__defs_free(targets, n_targets);
    g->took_ms = (util_now() - t0) * 1000.0;
    if (rc != SC_OK) {
        sc_call_edges_free(g);
        return rc;
    }
    *out = g;
    return SC_OK;
}

sc_status sc_repo_callers(sc_repo *r, const char *target, uint32_t limit, sc_call_edges **out) {
    return calls__run(r, target, true, limit, out);
}

sc_status sc_repo_callees(sc_repo *r, const char *target, uint32_t limit, sc_call_edges **out) {
    return calls__run(r, target, false, limit, out);
}

/* ==== JSON ==== */

static json_t *calls__entity_json(const sc_call_entity *e) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "path", e->path, "kind", e->kind, "name", e->name,
                          "qualified_name", e->qualified_name, "start_line", (json_int_t)e->start_line, "end_line",
                          (json_int_t)e->end_line);
    if (o && e->id) json_object_set_new(o, "id", json_integer((json_int_t)e->id));
    if (o && e->language && *e->language) json_object_set_new(o, "language", json_string(e->language));
    return o;
}

char *sc_call_edges_json(const sc_call_edges *g, const char *direction) {
    if (!g || !direction) return NULL;
    bool callers = !strcmp(direction, "callers");
    json_t *root = json_object(), *tg = json_array(), *items = json_array();
    for (size_t i = 0; i < g->n_targets; i++) json_array_append_new(tg, calls__entity_json(&g->targets[i]));
    for (size_t i = 0; i < g->n; i++) {
        const sc_call_edge *e = &g->items[i];
        json_t *o = json_pack("{s:s, s:I, s:s, s:s}", "path", e->path, "line", (json_int_t)e->line, "name", e->name,
                              "how", e->how ? e->how : "");
        if (e->receiver) json_object_set_new(o, "receiver", json_string(e->receiver));
        json_object_set_new(o, callers ? "caller" : "callee",
                            callers || e->callee.id ? calls__entity_json(callers ? &e->caller : &e->callee) : json_null());
        json_array_append_new(items, o);
    }
    json_object_set_new(root, "direction", json_string(direction));
    json_object_set_new(root, "targets", tg);
    json_object_set_new(root, direction, items);
    json_object_set_new(root, "unresolved", json_integer((json_int_t)g->n_unresolved));
    json_object_set_new(root, "took_ms", json_real(g->took_ms));
    char *s = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(root);
    return s;
}
