/*
** parse: private structures shared by the files of src/parse/ only.
**
** DESIGN. Extraction is a single iterative walk of the tree-sitter syntax
** tree per file, driven by per-language tables (lang.c) that give each
** grammar symbol a role: entity (with its kind), decision point (for
** cyclomatic complexity), comment, decorator or name scope. The tables are
** resolved from node-type names to symbol ids once per language per
** parser, so the walk compares small integers, not strings. The few
** per-language shapes a table cannot express (C declarator chains, Go
** receivers, names of functions assigned to variables) are handled by code
** in extract.c keyed on the language. We chose a node-type walk over
** tree-sitter queries because one pass gives entities, nesting, complexity
** and error counts together, and is several times faster than running a
** query per capture kind.
**
** Memory: all strings and arrays of a result live in an arena owned by the
** result, freed in one go by sc_parse_result_free.
*/
#ifndef SC_PARSE_INT_H
#define SC_PARSE_INT_H

#include <tree_sitter/api.h>

#include "parse/parse.h"

/* ==== Arena ==== */

typedef struct parse_block {
    struct parse_block *next; /* older block */
    size_t used;              /* bytes handed out */
    size_t cap;               /* bytes in data */
    max_align_t data[];       /* storage */
} parse_block;

typedef struct parse_arena {
    parse_block *head; /* newest block, NULL when empty */
    bool oom;          /* an allocation failed */
} parse_arena;

/* n bytes aligned for any type, valid until parse_arena_free; NULL (and
** a->oom set) on allocation failure. */
void *parse_arena_alloc(parse_arena *a, size_t n);
/* Copy of s[0, n) plus a NUL in the arena; NULL on allocation failure. */
char *parse_arena_strndup(parse_arena *a, const char *s, size_t n);
/* Release every block; the arena is empty and reusable afterwards. */
void parse_arena_free(parse_arena *a);

/* ==== tree-sitter's memory (tsalloc.c) ==== */

typedef struct parse_tsarena {
    char *base;   /* reserved address space, NULL when the arena is off */
    size_t cap;   /* its size */
    size_t used;  /* bytes handed out in the open window */
    size_t high;  /* highest `used` whose pages are still backed */
    char *last;   /* newest block (grows in place on realloc) */
    bool spilled; /* some block of this window came from libc */
} parse_tsarena;

/* Reserve the arena and install the allocator hooks (once per process).
** False when the arena cannot be used (no address space, ASan build): the
** caller then lets tree-sitter use libc as before. */
bool parse_tsarena_init(parse_tsarena *a);
/* Release the reservation. */
void parse_tsarena_destroy(parse_tsarena *a);
/* From here until parse_tsarena_end, on this thread, tree-sitter's
** allocations come from the arena and its frees of them do nothing. Every
** tree-sitter object made in the window must be dropped in it. */
void parse_tsarena_begin(parse_tsarena *a);
/* Close the window and rewind the arena (its memory is dead). */
void parse_tsarena_end(parse_tsarena *a);

/* ==== Results ==== */

typedef struct parse_result_int {
    sc_parse_result pub; /* what the caller sees; first so the cast works */
    parse_arena arena;   /* strings, params, decorators */
    sc_entity *ents;     /* growable entity array (malloc) */
    uint32_t cap;        /* capacity of ents */
    parse_call *calls;   /* call sites (malloc), calls.c */
    uint32_t n_calls;    /* length of calls */
    parse_import *imports; /* imports (malloc), calls.c */
    uint32_t n_imports;  /* length of imports */
} parse_result_int;

/* Append a zeroed entity; NULL on allocation failure. */
sc_entity *parse_result_push(parse_result_int *r);

/* ==== Language tables ==== */

typedef enum parse_role {
    PARSE_ROLE_NONE = 0,
    PARSE_ROLE_ENTITY,   /* always an entity of the given kind */
    PARSE_ROLE_MAYBE,    /* entity if extract.c's checks pass (body present, value is a function...) */
    PARSE_ROLE_DECISION, /* +1 complexity */
    PARSE_ROLE_LOGICAL,  /* +1 complexity when its operator is && || and or ?? */
    PARSE_ROLE_COMMENT,  /* comment node */
    PARSE_ROLE_DECORATOR,/* decorator, annotation, attribute */
    PARSE_ROLE_SCOPE,    /* qualifies the names inside without being an entity (Rust impl) */
    PARSE_ROLE_FUNCVAL,  /* anonymous function / lambda / class expression value */
    PARSE_ROLE_WRAPPER,  /* wraps a definition: its comments and decorators belong to it */
} parse_role;

typedef struct parse_rule {
    const char *type; /* node type name in the grammar */
    uint8_t role;     /* parse_role */
    uint8_t kind;     /* sc_entity_kind for entity roles */
} parse_rule;

typedef struct parse_lang_spec {
    sc_lang lang;                       /* which language */
    const TSLanguage *(*language)(void); /* grammar entry point, NULL if chunks only */
    const parse_rule *rules;            /* NULL-type-terminated table */
} parse_lang_spec;

/* Spec of a language (never NULL; chunk-only languages have no grammar). */
const parse_lang_spec *parse_lang_spec_get(sc_lang lang);

/* Grammar fields extract.c asks for, resolved to ids per grammar. */
typedef enum parse_field {
    PARSE_F_BODY,
    PARSE_F_DECLARATOR,
    PARSE_F_DEFAULT_VALUE,
    PARSE_F_KEY,
    PARSE_F_LEFT,
    PARSE_F_NAME,
    PARSE_F_PARAMETER,
    PARSE_F_PARAMETERS,
    PARSE_F_PATTERN,
    PARSE_F_PROPERTY,
    PARSE_F_RECEIVER,
    PARSE_F_RESULT,
    PARSE_F_RETURN_TYPE,
    PARSE_F_RETURNS,
    PARSE_F_RIGHT,
    PARSE_F_SUPERCLASS,
    PARSE_F_SUPERCLASSES,
    PARSE_F_TYPE,
    PARSE_F_TYPE_PARAMETERS,
    PARSE_F_VALUE,
    PARSE_F_COUNT
} parse_field;

/* Field names, indexed by parse_field (lang.c). */
extern const char *const parse_field_names[PARSE_F_COUNT];

/* Per-parser resolved table for one grammar: role and kind by symbol. */
typedef struct parse_symtab {
    const TSLanguage *ts;  /* grammar, NULL until resolved */
    uint32_t n_symbols;    /* length of the arrays */
    uint8_t *role;         /* parse_role by symbol */
    uint8_t *kind;         /* sc_entity_kind by symbol */
    TSFieldId fields[PARSE_F_COUNT]; /* field ids, 0 where the grammar lacks the field */
    uint8_t *call_role;    /* calls.c's role by symbol, NULL until the first call walk */
    uint8_t *call_rule;    /* index of the matching rule of calls.c's table, by symbol */
    TSFieldId call_f1[16]; /* field ids of each rule's f1 (calls.c) */
    TSFieldId call_f2[16]; /* and f2 */
} parse_symtab;

/* ==== Tree iteration (iter.c) ==== */

typedef struct parse_iter parse_iter;

/* Iterator over the visible nodes below and including root, in the order
** of a TSTreeCursor walk (pre-order); NULL when out of memory. */
parse_iter *parse_iter_new(TSNode root);
/* Next node and its depth (root 0, visible children of a depth-d node
** d + 1). 1 when a node was produced, 0 at the end, -1 out of memory. */
int parse_iter_next(parse_iter *it, TSNode *node, uint32_t *depth);
void parse_iter_free(parse_iter *it);

/* ==== Extraction ==== */

typedef struct parse_ctx {
    const char *src;            /* file bytes */
    size_t size;                /* bytes */
    sc_lang lang;               /* language */
    const parse_symtab *tab;    /* resolved roles */
    const sc_parse_options *opt; /* options */
    parse_result_int *res;      /* output */
    const uint32_t *line_start; /* byte offset of each line start */
    uint32_t n_lines;           /* lines */
    const char *go_package;     /* Go package name, NULL elsewhere */
} parse_ctx;

/* Walk a tree and append its entities to ctx->res; counts syntax errors.
** Returns SC_NOMEM on allocation failure. */
sc_status parse_extract_tree(parse_ctx *ctx, TSTree *tree);
/* Append the call sites and imports of a tree whose entities ctx->res holds
** already (calls.c); resolves tab's call table on first use. SC_NOMEM. */
sc_status parse_calls_extract(parse_ctx *ctx, parse_symtab *tab, TSTree *tree);
/* Append line-window chunks covering the lines outside top-level entities
** (every line when there are none). SC_NOMEM on allocation failure. */
sc_status parse_chunk_add(parse_ctx *ctx, const char *path);

/* Clean a comment block or docstring into plain text in the arena (markers,
** stars, quotes and common indentation removed). NULL if nothing remains. */
char *parse_doc_clean(parse_arena *a, const char *text, size_t n, bool docstring);

#endif /* SC_PARSE_INT_H */
